//! A heartbeat on listing imports, so that an import whose worker died can be found and resumed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ListingImports::Table)
                    // Set when a worker claims the import and after each chunk of rows.
                    .add_column(
                        ColumnDef::new(ListingImports::HeartbeatAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ListingImports::Table)
                    .drop_column(ListingImports::HeartbeatAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ListingImports {
    Table,
    HeartbeatAt,
}
