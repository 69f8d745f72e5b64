//! Tenants, their operators, operator refresh tokens and API keys.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(ColumnDef::new(Tenants::Id).uuid().not_null().primary_key())
                    // The slug appears in URLs (`/t/{slug}`) and on the login form.
                    .col(
                        ColumnDef::new(Tenants::Slug)
                            .string_len(40)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Tenants::Name).string_len(200).not_null())
                    .col(
                        ColumnDef::new(Tenants::DefaultLocale)
                            .string_len(8)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Tenants::TimeZone).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Tenants::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Operators::Table)
                    .col(
                        ColumnDef::new(Operators::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Operators::TenantId).uuid().not_null())
                    // Stored lower-cased, so the unique index is case-insensitive.
                    .col(ColumnDef::new(Operators::Email).string_len(320).not_null())
                    // An argon2id PHC string.
                    .col(
                        ColumnDef::new(Operators::PasswordHash)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Operators::Role).string_len(16).not_null())
                    .col(ColumnDef::new(Operators::Locale).string_len(8).not_null())
                    .col(
                        ColumnDef::new(Operators::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Operators::Table, Operators::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("operators_tenant_id_email_key")
                    .table(Operators::Table)
                    .col(Operators::TenantId)
                    .col(Operators::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(
                        ColumnDef::new(RefreshTokens::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RefreshTokens::TenantId).uuid().not_null())
                    .col(ColumnDef::new(RefreshTokens::OperatorId).uuid().not_null())
                    // SHA-256 of the token; the token itself is only ever in the operator's cookie.
                    .col(
                        ColumnDef::new(RefreshTokens::TokenHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(RefreshTokens::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RefreshTokens::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RefreshTokens::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshTokens::Table, RefreshTokens::OperatorId)
                            .to(Operators::Table, Operators::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("refresh_tokens_tenant_id_operator_id_idx")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::TenantId)
                    .col(RefreshTokens::OperatorId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(ColumnDef::new(ApiKeys::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ApiKeys::TenantId).uuid().not_null())
                    .col(ColumnDef::new(ApiKeys::Name).string_len(100).not_null())
                    // The first characters of the key, shown in the dashboard to tell keys apart.
                    .col(ColumnDef::new(ApiKeys::Prefix).string_len(16).not_null())
                    // SHA-256 of the whole key. Keys carry 256 random bits, so a fast hash is enough.
                    .col(
                        ColumnDef::new(ApiKeys::KeyHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    // Comma-separated scope names.
                    .col(ColumnDef::new(ApiKeys::Scopes).string_len(200).not_null())
                    .col(ColumnDef::new(ApiKeys::CreatedBy).uuid().null())
                    .col(
                        ColumnDef::new(ApiKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ApiKeys::LastUsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ApiKeys::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("api_keys_tenant_id_created_at_idx")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::TenantId)
                    .col(ApiKeys::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RefreshTokens::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Operators::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Tenants::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Tenants {
    Table,
    Id,
    Slug,
    Name,
    DefaultLocale,
    TimeZone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Operators {
    Table,
    Id,
    TenantId,
    Email,
    PasswordHash,
    Role,
    Locale,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    TenantId,
    OperatorId,
    TokenHash,
    ExpiresAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    TenantId,
    Name,
    Prefix,
    KeyHash,
    Scopes,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}
