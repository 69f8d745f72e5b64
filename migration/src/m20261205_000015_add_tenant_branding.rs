//! Tenant branding for the member pages: two colours on the tenant row, and the logo image in a
//! table of its own so that loading a tenant never reads the image. `logo_updated_at` on the
//! tenant row is set only when there is a logo, and it versions the logo's URL for caches.

use sea_orm_migration::prelude::*;

use crate::columns::{optional_string, optional_timestamp, string, tenant_key, timestamp, uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        for column in [
            // `#rrggbb`, or none for Tayori's colours.
            optional_string(Tenants::BrandColor, 7),
            optional_string(Tenants::HeaderColor, 7),
            optional_timestamp(Tenants::LogoUpdatedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(TenantLogos::Table)
                    .col(uuid(TenantLogos::TenantId).primary_key())
                    .col(string(TenantLogos::ContentType, 32))
                    .col(ColumnDef::new(TenantLogos::Image).binary().not_null())
                    .col(timestamp(TenantLogos::UpdatedAt))
                    .foreign_key(&mut tenant_key(
                        TenantLogos::Table,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TenantLogos::Table).to_owned())
            .await?;
        for column in [
            Tenants::BrandColor,
            Tenants::HeaderColor,
            Tenants::LogoUpdatedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    BrandColor,
    HeaderColor,
    LogoUpdatedAt,
}

#[derive(DeriveIden)]
enum TenantLogos {
    Table,
    TenantId,
    ContentType,
    Image,
    UpdatedAt,
}
