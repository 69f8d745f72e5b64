//! An index on `enrollments (tenant_id, next_due_at)` for the step scheduler's batch query. With
//! several tenants, PostgreSQL otherwise combined the `next_due_at` index with the
//! `(tenant_id, member_id)` one and read every index entry of the tenant on each run.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("enrollments_tenant_id_next_due_at_idx")
                    .table(Enrollments::Table)
                    .col(Enrollments::TenantId)
                    .col(Enrollments::NextDueAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("enrollments_tenant_id_next_due_at_idx")
                    .table(Enrollments::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    TenantId,
    NextDueAt,
}
