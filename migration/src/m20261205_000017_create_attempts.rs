//! Attempt counters of the rate limits (logins, sign-ups, password resets), in the database so
//! that every server process counts against one budget. Keys are stored as SHA-256 hashes, so
//! no address is stored in the clear. Counts are kept per time bucket; old buckets are deleted.

use sea_orm_migration::prelude::*;

use crate::columns::{string, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Attempts::Table)
                    .col(string(Attempts::Scope, 32))
                    .col(string(Attempts::KeyHash, 64))
                    .col(timestamp(Attempts::BucketStart))
                    .col(ColumnDef::new(Attempts::Count).integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(Attempts::Scope)
                            .col(Attempts::KeyHash)
                            .col(Attempts::BucketStart),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("attempts_bucket_start_idx")
                    .table(Attempts::Table)
                    .col(Attempts::BucketStart)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Attempts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Attempts {
    Table,
    Scope,
    KeyHash,
    BucketStart,
    Count,
}
