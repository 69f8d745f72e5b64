//! The text that listing search matches: the values of a listing, folded (NFKC, lower case),
//! without the JSON keys, so that searching for "name" or "lat" does not match every listing.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Listings::Table)
                    .add_column(
                        ColumnDef::new(Listings::SearchText)
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await?;
        // Listings stored before this migration search their lower-cased JSON, keys included,
        // until their values next change; the server computes the text on every write.
        manager
            .get_connection()
            .execute_unprepared("UPDATE listings SET search_text = LOWER(fields)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Listings::Table)
                    .drop_column(Listings::SearchText)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Listings {
    Table,
    SearchText,
}
