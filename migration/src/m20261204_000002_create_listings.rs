//! The listing schema, listings and CSV imports of listings.

use sea_orm_migration::prelude::*;

use crate::m20261204_000001_create_tenants_and_operators::Tenants;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ListingFields::Table)
                    .col(
                        ColumnDef::new(ListingFields::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ListingFields::TenantId).uuid().not_null())
                    .col(
                        ColumnDef::new(ListingFields::Name)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ListingFields::FieldType)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ListingFields::LabelJa)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ListingFields::LabelEn)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ListingFields::Required).boolean().not_null())
                    // JSON array of enum options `{value, labelJa, labelEn}`; empty for other types.
                    .col(ColumnDef::new(ListingFields::Options).text().not_null())
                    .col(ColumnDef::new(ListingFields::Position).integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(ListingFields::Table, ListingFields::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("listing_fields_tenant_id_name_key")
                    .table(ListingFields::Table)
                    .col(ListingFields::TenantId)
                    .col(ListingFields::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Listings::Table)
                    .col(ColumnDef::new(Listings::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Listings::TenantId).uuid().not_null())
                    // The id the tenant's own system gives the listing; upserts are keyed by it.
                    .col(
                        ColumnDef::new(Listings::ExternalId)
                            .string_len(200)
                            .not_null(),
                    )
                    // JSON object of validated, typed values keyed by listing field name.
                    .col(ColumnDef::new(Listings::Fields).text().not_null())
                    // SHA-256 of `fields`, so that re-importing an unchanged listing writes nothing.
                    .col(
                        ColumnDef::new(Listings::ContentHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Listings::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Listings::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Listings::Table, Listings::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("listings_tenant_id_external_id_key")
                    .table(Listings::Table)
                    .col(Listings::TenantId)
                    .col(Listings::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("listings_tenant_id_updated_at_idx")
                    .table(Listings::Table)
                    .col(Listings::TenantId)
                    .col(Listings::UpdatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ListingImports::Table)
                    .col(
                        ColumnDef::new(ListingImports::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ListingImports::TenantId).uuid().not_null())
                    .col(
                        ColumnDef::new(ListingImports::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    // The uploaded CSV, kept until the import finishes so that a restarted worker
                    // can run the import again from the database.
                    .col(ColumnDef::new(ListingImports::Csv).text().not_null())
                    // JSON: the external-id column and the column-to-field mapping.
                    .col(ColumnDef::new(ListingImports::Mapping).text().not_null())
                    .col(
                        ColumnDef::new(ListingImports::TotalRows)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ListingImports::ProcessedRows)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ListingImports::Created).integer().not_null())
                    .col(ColumnDef::new(ListingImports::Updated).integer().not_null())
                    .col(
                        ColumnDef::new(ListingImports::Unchanged)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ListingImports::Rejected)
                            .integer()
                            .not_null(),
                    )
                    // JSON array of the first per-row errors.
                    .col(ColumnDef::new(ListingImports::Errors).text().not_null())
                    .col(ColumnDef::new(ListingImports::CreatedBy).uuid().null())
                    .col(
                        ColumnDef::new(ListingImports::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ListingImports::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ListingImports::Table, ListingImports::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("listing_imports_tenant_id_created_at_idx")
                    .table(ListingImports::Table)
                    .col(ListingImports::TenantId)
                    .col(ListingImports::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ListingImports::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Listings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ListingFields::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ListingFields {
    Table,
    Id,
    TenantId,
    Name,
    FieldType,
    LabelJa,
    LabelEn,
    Required,
    Options,
    Position,
}

#[derive(DeriveIden)]
enum Listings {
    Table,
    Id,
    TenantId,
    ExternalId,
    Fields,
    ContentHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ListingImports {
    Table,
    Id,
    TenantId,
    Status,
    Csv,
    Mapping,
    TotalRows,
    ProcessedRows,
    Created,
    Updated,
    Unchanged,
    Rejected,
    Errors,
    CreatedBy,
    CreatedAt,
    FinishedAt,
}
