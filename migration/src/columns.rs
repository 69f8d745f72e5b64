//! Column and key definitions for migrations written from here on.
//!
//! A migration's meaning must never change once it has run somewhere, so these definitions are
//! never edited: a different column shape gets a new function. Earlier migrations keep their
//! own copies.

use sea_orm_migration::prelude::*;

pub fn uuid(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).uuid().not_null().to_owned()
}

pub fn string(column: impl IntoIden, length: u32) -> ColumnDef {
    ColumnDef::new(column)
        .string_len(length)
        .not_null()
        .to_owned()
}

pub fn optional_string(column: impl IntoIden, length: u32) -> ColumnDef {
    ColumnDef::new(column).string_len(length).null().to_owned()
}

pub fn optional_integer(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).integer().null().to_owned()
}

pub fn timestamp(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

pub fn optional_timestamp(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

/// A `tenant_id` column of `table` that references the tenants table and is deleted with it.
pub fn tenant_key(
    table: impl IntoIden,
    tenants: impl IntoIden,
    tenant_id: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, Alias::new("tenant_id"))
        .to(tenants, tenant_id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}
