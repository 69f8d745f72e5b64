//! Compact match rows, written in the order matching produces them.
//!
//! `listing_matches` replaces `matches`: its key is (tenant, listing, member), so the rows of a
//! matching run are appended instead of being spread over an index in member order. It keeps
//! no explanation (the "why" is evaluated when the mail is rendered or shown), no rule name (the
//! rule's id names it), no time (its delivery's has it) and no id of its own.
//! Every match now names its mail at once: an instant member's delivery, or the member's digest
//! that is still collecting (`deliveries.state = 'collecting'`, at most one per member). A digest
//! falls due by changing that one row's state instead of updating each waiting match.
//! `listing_match_updates` replaces `match_updates` the same way.
//!
//! `listing_matches` has no foreign keys: on PostgreSQL their checks took more than half of the
//! time of writing a matching run's rows. Listings are never deleted, and deleting a member deletes
//! their matches in code, and a tenant's rows are deleted by tenant.
//!
//! Rows of the old tables are carried over, and matches that waited for a digest get a collecting
//! digest of their member.

use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::prelude::*;
use uuid::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn uuid(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).uuid().not_null().to_owned()
}

fn timestamp(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn cascade(
    table: impl IntoIden,
    column: impl IntoIden,
    to: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(to, Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ListingMatches::Table)
                    .col(uuid(ListingMatches::TenantId))
                    .col(uuid(ListingMatches::ListingId))
                    .col(uuid(ListingMatches::MemberId))
                    // The rule that matched first, as a plain id because rules can be deleted.
                    .col(uuid(ListingMatches::RuleId))
                    // The instant mail, or the member's digest (collecting until it is due).
                    .col(uuid(ListingMatches::DeliveryId))
                    // One match per member and listing, whatever re-imports or concurrent
                    // workers do.
                    .primary_key(
                        Index::create()
                            .col(ListingMatches::TenantId)
                            .col(ListingMatches::ListingId)
                            .col(ListingMatches::MemberId),
                    )
                    .to_owned(),
            )
            .await?;
        // The listings each digest carries, one row per digest and matching batch. Finding a
        // digest's matches through an index on `listing_matches.delivery_id` would scatter
        // most of a run's index writes over every member's part of that index.
        manager
            .create_table(
                Table::create()
                    .table(DigestItems::Table)
                    .col(uuid(DigestItems::TenantId))
                    .col(uuid(DigestItems::DeliveryId))
                    // The listing ids, 16 bytes each.
                    .col(ColumnDef::new(DigestItems::ListingIds).binary().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("digest_items_tenant_id_delivery_id_idx")
                    .table(DigestItems::Table)
                    .col(DigestItems::TenantId)
                    .col(DigestItems::DeliveryId)
                    .to_owned(),
            )
            .await?;
        // The listing of an instant mail.
        manager
            .alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .add_column(ColumnDef::new(Deliveries::ListingId).uuid().null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ListingMatchUpdates::Table)
                    .col(
                        ColumnDef::new(ListingMatchUpdates::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(uuid(ListingMatchUpdates::TenantId))
                    .col(uuid(ListingMatchUpdates::ListingId))
                    .col(uuid(ListingMatchUpdates::MemberId))
                    // The listing's content hash that this notice is about.
                    .col(
                        ColumnDef::new(ListingMatchUpdates::ListingHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(uuid(ListingMatchUpdates::RuleId))
                    .col(
                        ColumnDef::new(ListingMatchUpdates::RuleName)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(uuid(ListingMatchUpdates::DeliveryId))
                    .col(timestamp(ListingMatchUpdates::CreatedAt))
                    .foreign_key(&mut cascade(
                        ListingMatchUpdates::Table,
                        ListingMatchUpdates::TenantId,
                        Tenants::Table,
                    ))
                    .foreign_key(&mut cascade(
                        ListingMatchUpdates::Table,
                        ListingMatchUpdates::ListingId,
                        Listings::Table,
                    ))
                    .foreign_key(&mut cascade(
                        ListingMatchUpdates::Table,
                        ListingMatchUpdates::MemberId,
                        Members::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        // With "notify on change", a member gets at most one notice per version of a listing.
        manager
            .create_index(
                Index::create()
                    .name("listing_match_updates_tenant_listing_member_hash_key")
                    .table(ListingMatchUpdates::Table)
                    .col(ListingMatchUpdates::TenantId)
                    .col(ListingMatchUpdates::ListingId)
                    .col(ListingMatchUpdates::MemberId)
                    .col(ListingMatchUpdates::ListingHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("listing_match_updates_tenant_id_delivery_id_idx")
                    .table(ListingMatchUpdates::Table)
                    .col(ListingMatchUpdates::TenantId)
                    .col(ListingMatchUpdates::DeliveryId)
                    .to_owned(),
            )
            .await?;

        // At most one collecting digest per member. sea-query builds no partial index, and this
        // statement reads the same on SQLite and PostgreSQL.
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE UNIQUE INDEX deliveries_collecting_member_key \
             ON deliveries (tenant_id, member_id) WHERE state = 'collecting'",
        )
        .await?;

        // On PostgreSQL the checks of these foreign keys took a sixth of a matching run's time.
        // Deleting a member clears `member_id` in code, and tenants are deleted table by table.
        // SQLite cannot drop a constraint without rebuilding the table, and there the checks cost
        // little.
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            db.execute_unprepared(
                "ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_member_id_fkey, \
                 DROP CONSTRAINT IF EXISTS deliveries_tenant_id_fkey",
            )
            .await?;
        }

        carry_over(manager).await?;
        for table in [MatchUpdates::Table.into_iden(), Matches::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "compact matches cannot be undone: the old tables kept explanations that are gone"
                .to_owned(),
        ))
    }
}

/// Copies the old rows. A member with matches or notices waiting for a digest gets one
/// collecting digest, and those rows point to it.
async fn carry_over(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let waiting = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT m.tenant_id, m.id, m.email, m.locale FROM members m \
             WHERE EXISTS (SELECT 1 FROM matches w WHERE w.tenant_id = m.tenant_id \
               AND w.member_id = m.id AND w.delivery_id IS NULL) \
             OR EXISTS (SELECT 1 FROM match_updates w WHERE w.tenant_id = m.tenant_id \
               AND w.member_id = m.id AND w.delivery_id IS NULL)",
        ))
        .await?;

    for row in waiting {
        let tenant_id: Uuid = row.try_get("", "tenant_id")?;
        let member_id: Uuid = row.try_get("", "id")?;
        let email: String = row.try_get("", "email")?;
        let locale: String = row.try_get("", "locale")?;
        let id = Uuid::now_v7();
        let now = chrono::Utc::now();
        let insert = Query::insert()
            .into_table(Deliveries::Table)
            .columns([
                Deliveries::Id,
                Deliveries::TenantId,
                Deliveries::MemberId,
                Deliveries::Kind,
                Deliveries::State,
                Deliveries::ToAddress,
                Deliveries::Locale,
                Deliveries::MessageId,
                Deliveries::Subject,
                Deliveries::TextBody,
                Deliveries::HtmlBody,
                Deliveries::Headers,
                Deliveries::CreatedAt,
                Deliveries::UpdatedAt,
            ])
            .values([
                id.into(),
                tenant_id.into(),
                member_id.into(),
                "digest".into(),
                "collecting".into(),
                email.into(),
                locale.into(),
                format!("{}@captured.tayori.invalid", id.simple()).into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                now.into(),
                now.into(),
            ])
            .map_err(|error| DbErr::Migration(error.to_string()))?
            .to_owned();
        manager.exec_stmt(insert).await?;
    }

    for table in ["matches", "match_updates"] {
        db.execute_unprepared(&format!(
            "UPDATE {table} SET delivery_id = (SELECT d.id FROM deliveries d \
               WHERE d.tenant_id = {table}.tenant_id AND d.member_id = {table}.member_id \
               AND d.state = 'collecting') \
             WHERE delivery_id IS NULL"
        ))
        .await?;
    }
    db.execute_unprepared(
        "INSERT INTO listing_matches \
           (tenant_id, listing_id, member_id, rule_id, delivery_id) \
         SELECT tenant_id, listing_id, member_id, rule_id, delivery_id \
         FROM matches WHERE delivery_id IS NOT NULL",
    )
    .await?;

    // Instant mails name their listing, and each digest lists its listings in one row.
    db.execute_unprepared(
        "UPDATE deliveries SET listing_id = \
           (SELECT m.listing_id FROM matches m WHERE m.delivery_id = deliveries.id) \
         WHERE kind = 'listing'",
    )
    .await?;
    let digest_rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT m.tenant_id, m.delivery_id, m.listing_id FROM matches m \
             JOIN deliveries d ON d.id = m.delivery_id WHERE d.kind = 'digest' \
             ORDER BY m.delivery_id, m.listing_id",
        ))
        .await?;
    let mut digests: Vec<(Uuid, Uuid, Vec<u8>)> = Vec::new();
    for row in digest_rows {
        let tenant_id: Uuid = row.try_get("", "tenant_id")?;
        let delivery_id: Uuid = row.try_get("", "delivery_id")?;
        let listing_id: Uuid = row.try_get("", "listing_id")?;
        match digests.last_mut() {
            Some((_, last, ids)) if *last == delivery_id => ids.extend(listing_id.as_bytes()),
            _ => digests.push((tenant_id, delivery_id, listing_id.as_bytes().to_vec())),
        }
    }
    for (tenant_id, delivery_id, listing_ids) in digests {
        let insert = Query::insert()
            .into_table(DigestItems::Table)
            .columns([
                DigestItems::TenantId,
                DigestItems::DeliveryId,
                DigestItems::ListingIds,
            ])
            .values([tenant_id.into(), delivery_id.into(), listing_ids.into()])
            .map_err(|error| DbErr::Migration(error.to_string()))?
            .to_owned();
        manager.exec_stmt(insert).await?;
    }

    db.execute_unprepared(
        "INSERT INTO listing_match_updates \
           (id, tenant_id, listing_id, member_id, listing_hash, rule_id, rule_name, \
            delivery_id, created_at) \
         SELECT u.id, u.tenant_id, u.listing_id, u.member_id, u.listing_hash, m.rule_id, \
           u.rule_name, u.delivery_id, u.created_at \
         FROM match_updates u JOIN matches m ON m.id = u.match_id \
         WHERE u.delivery_id IS NOT NULL",
    )
    .await?;
    Ok(())
}

#[derive(DeriveIden)]
enum ListingMatches {
    Table,
    TenantId,
    ListingId,
    MemberId,
    RuleId,
    DeliveryId,
}

#[derive(DeriveIden)]
enum DigestItems {
    Table,
    TenantId,
    DeliveryId,
    ListingIds,
}

#[derive(DeriveIden)]
enum ListingMatchUpdates {
    Table,
    Id,
    TenantId,
    ListingId,
    MemberId,
    ListingHash,
    RuleId,
    RuleName,
    DeliveryId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Matches {
    Table,
}

#[derive(DeriveIden)]
enum MatchUpdates {
    Table,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    ListingId,
    TenantId,
    MemberId,
    Kind,
    State,
    ToAddress,
    Locale,
    MessageId,
    Subject,
    TextBody,
    HtmlBody,
    Headers,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
}

#[derive(DeriveIden)]
enum Listings {
    Table,
}

#[derive(DeriveIden)]
enum Members {
    Table,
}
