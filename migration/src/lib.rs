//! Database migrations for SQLite and PostgreSQL.
//!
//! Every tenant-owned table has a `tenant_id NOT NULL` column and its indexes start with it, so
//! that each tenant-scoped query can use an index. Applied migrations are never edited; a change
//! gets a new file.

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261204_000001_create_tenants_and_operators;
mod m20261204_000002_create_listings;
mod m20261204_000003_add_import_heartbeat;
mod m20261204_000004_index_listings_by_id;
mod m20261204_000005_add_tenant_listing_count;
mod m20261204_000006_add_listing_search_text;
mod m20261204_000007_create_matching;
mod m20261205_000008_compact_matches;
mod m20261205_000009_pack_matches;
mod m20261205_000010_create_sending;
mod m20261205_000011_create_step_mail;
mod m20261205_000012_create_member_accounts;
mod m20261205_000013_add_nonstandard_address_policy;
mod m20261205_000014_index_due_enrollments;
mod m20261205_000015_add_tenant_branding;
mod m20261205_000016_create_broadcasts;
mod m20261205_000017_create_attempts;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261204_000001_create_tenants_and_operators::Migration),
            Box::new(m20261204_000002_create_listings::Migration),
            Box::new(m20261204_000003_add_import_heartbeat::Migration),
            Box::new(m20261204_000004_index_listings_by_id::Migration),
            Box::new(m20261204_000005_add_tenant_listing_count::Migration),
            Box::new(m20261204_000006_add_listing_search_text::Migration),
            Box::new(m20261204_000007_create_matching::Migration),
            Box::new(m20261205_000008_compact_matches::Migration),
            Box::new(m20261205_000009_pack_matches::Migration),
            Box::new(m20261205_000010_create_sending::Migration),
            Box::new(m20261205_000011_create_step_mail::Migration),
            Box::new(m20261205_000012_create_member_accounts::Migration),
            Box::new(m20261205_000013_add_nonstandard_address_policy::Migration),
            Box::new(m20261205_000014_index_due_enrollments::Migration),
            Box::new(m20261205_000015_add_tenant_branding::Migration),
            Box::new(m20261205_000016_create_broadcasts::Migration),
            Box::new(m20261205_000017_create_attempts::Migration),
        ]
    }
}
