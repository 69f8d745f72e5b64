//! Matches packed per listing.
//!
//! `listing_match_sets` replaces `listing_matches`: one row per listing and matching run contains
//! every member the run matched, with the rule, instead of one row per member. A matching run
//! of 12,832 listings against 10,000 members wrote 1.8 million rows, and writing them took half
//! of the run; the packed rows are about 13,000.
//!
//! The row's key is (tenant, listing, seq). `seq` is 0 for a listing's first run; a later run of
//! a changed listing (with "notify on change") that matches further members adds a row with the
//! next number. Runs of one tenant are serialised by its matching lease, and two runs that race
//! for the same listing collide on the key, so a member still gets at most one mail per
//! listing.
//!
//! `entries` holds 32 bytes per match: the member's id, then the id of the rule that matched
//! (both as 16 raw bytes). Like `listing_matches`, the table has no foreign keys: listings are
//! never deleted, and a tenant's rows are deleted by tenant. A deleted member's id stays in the
//! sets of the listings they matched; it no longer names anyone.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ListingMatchSets::Table)
                    .col(ColumnDef::new(ListingMatchSets::TenantId).uuid().not_null())
                    .col(
                        ColumnDef::new(ListingMatchSets::ListingId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ListingMatchSets::Seq).integer().not_null())
                    .col(
                        ColumnDef::new(ListingMatchSets::Entries)
                            .binary()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ListingMatchSets::TenantId)
                            .col(ListingMatchSets::ListingId)
                            .col(ListingMatchSets::Seq),
                    )
                    .to_owned(),
            )
            .await?;

        // Each listing's matches become its first set, in member order.
        let db = manager.get_connection();
        let copy = match manager.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO listing_match_sets (tenant_id, listing_id, seq, entries) \
                 SELECT tenant_id, listing_id, 0, \
                   string_agg(uuid_send(member_id) || uuid_send(rule_id), ''::bytea \
                     ORDER BY member_id) \
                 FROM listing_matches GROUP BY tenant_id, listing_id"
            }
            _ => {
                "INSERT INTO listing_match_sets (tenant_id, listing_id, seq, entries) \
                 SELECT tenant_id, listing_id, 0, \
                   unhex(group_concat(hex(member_id) || hex(rule_id), '' ORDER BY member_id)) \
                 FROM listing_matches GROUP BY tenant_id, listing_id"
            }
        };
        db.execute_unprepared(copy).await?;
        manager
            .drop_table(Table::drop().table(ListingMatches::Table).to_owned())
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "packed matches cannot be undone: the sets do not say which mail carried each match"
                .to_owned(),
        ))
    }
}

#[derive(DeriveIden)]
enum ListingMatchSets {
    Table,
    TenantId,
    ListingId,
    Seq,
    Entries,
}

#[derive(DeriveIden)]
enum ListingMatches {
    Table,
}
