//! An index for the listings page: a tenant's listings newest first, paged by id.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("listings_tenant_id_id_idx")
                    .table(Listings::Table)
                    .col(Listings::TenantId)
                    .col(Listings::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("listings_tenant_id_id_idx")
                    .table(Listings::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Listings {
    Table,
    TenantId,
    Id,
}
