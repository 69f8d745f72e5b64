//! Member accounts: a password, the time and terms of the member's consent to mail (本登録), and
//! the one-time and session tokens of the member pages. Tokens are stored as SHA-256 hashes, so
//! reading the table is not enough to log in or confirm an address.

use sea_orm_migration::prelude::*;

use crate::columns::{string, tenant_key, timestamp, uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new(Members::PasswordHash)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(Members::ConfirmedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            // JSON: when, from which page and with which wording the member agreed to mail.
            ColumnDef::new(Members::Consent).text().null().to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Members::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(MemberTokens::Table)
                    .col(uuid(MemberTokens::Id).primary_key())
                    .col(uuid(MemberTokens::TenantId))
                    .col(uuid(MemberTokens::MemberId))
                    // `confirm`, `reset` or `session`.
                    .col(string(MemberTokens::Purpose, 16))
                    .col(string(MemberTokens::TokenHash, 64))
                    .col(timestamp(MemberTokens::ExpiresAt))
                    .col(timestamp(MemberTokens::CreatedAt))
                    .foreign_key(&mut tenant_key(
                        MemberTokens::Table,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(MemberTokens::Table, MemberTokens::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(
                        Index::create()
                            .name("member_tokens_token_hash_key")
                            .unique()
                            .col(MemberTokens::TokenHash),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("member_tokens_tenant_id_member_id_idx")
                    .table(MemberTokens::Table)
                    .col(MemberTokens::TenantId)
                    .col(MemberTokens::MemberId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MemberTokens::Table).to_owned())
            .await?;
        for column in [
            Members::PasswordHash,
            Members::ConfirmedAt,
            Members::Consent,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Members::Table)
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
}

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
    PasswordHash,
    ConfirmedAt,
    Consent,
}

#[derive(DeriveIden)]
enum MemberTokens {
    Table,
    Id,
    TenantId,
    MemberId,
    Purpose,
    TokenHash,
    ExpiresAt,
    CreatedAt,
}
