//! Matching mail: profile fields, members, match rules, matches and their updates, deliveries,
//! templates, and the per-tenant leases that keep one worker at a time on a tenant's matching or
//! outbox.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn id(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

fn uuid(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).uuid().not_null().to_owned()
}

fn text(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).text().not_null().to_owned()
}

fn string(column: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(column).string_len(len).not_null().to_owned()
}

fn timestamp(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn tenant_key(table: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, Alias::new("tenant_id"))
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, columns: &[&'static str]) -> IndexCreateStatement {
    let mut statement = Index::create().name(name).table(table).to_owned();
    for column in columns {
        statement.col(Alias::new(*column));
    }
    statement
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // "Notify on change": whether an updated listing is mailed again to members it matched.
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(
                        ColumnDef::new(Tenants::NotifyOnChange)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        // Bumped on every change of members, profile fields or rules, so that a worker can
        // tell when its cached member index is stale.
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(
                        ColumnDef::new(Tenants::MatchingRevision)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        // 0: matched (or stored before matching existed), 1: new and not yet matched,
        // 2: changed since it was last matched.
        manager
            .alter_table(
                Table::alter()
                    .table(Listings::Table)
                    .add_column(
                        ColumnDef::new(Listings::MatchPending)
                            .small_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "listings_tenant_id_match_pending_idx",
                Listings::Table,
                &["tenant_id", "match_pending"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProfileFields::Table)
                    .col(id(ProfileFields::Id))
                    .col(uuid(ProfileFields::TenantId))
                    .col(string(ProfileFields::Name, 64))
                    .col(string(ProfileFields::FieldType, 16))
                    .col(string(ProfileFields::LabelJa, 200))
                    .col(string(ProfileFields::LabelEn, 200))
                    .col(ColumnDef::new(ProfileFields::Required).boolean().not_null())
                    .col(text(ProfileFields::Options))
                    .col(ColumnDef::new(ProfileFields::Position).integer().not_null())
                    .foreign_key(&mut tenant_key(ProfileFields::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "profile_fields_tenant_id_name_key",
                    ProfileFields::Table,
                    &["tenant_id", "name"],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Members::Table)
                    .col(id(Members::Id))
                    .col(uuid(Members::TenantId))
                    // Stored as given, compared in lower case through `email_key`.
                    .col(string(Members::Email, 320))
                    .col(string(Members::EmailKey, 320))
                    .col(string(Members::Locale, 8))
                    // instant, daily or weekly.
                    .col(string(Members::Frequency, 16))
                    // Local hour (0-23) of a digest, and weekday (0 = Monday) of a weekly one.
                    .col(
                        ColumnDef::new(Members::DigestHour)
                            .small_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Members::DigestWeekday)
                            .small_integer()
                            .not_null(),
                    )
                    // active or unsubscribed.
                    .col(string(Members::Status, 16))
                    // JSON object of normalised profile values keyed by profile field name.
                    .col(text(Members::Profile))
                    .col(
                        ColumnDef::new(Members::NextDigestAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(timestamp(Members::CreatedAt))
                    .col(timestamp(Members::UpdatedAt))
                    .foreign_key(&mut tenant_key(Members::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "members_tenant_id_email_key_key",
                    Members::Table,
                    &["tenant_id", "email_key"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "members_tenant_id_next_digest_at_idx",
                Members::Table,
                &["tenant_id", "next_digest_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MatchRules::Table)
                    .col(id(MatchRules::Id))
                    .col(uuid(MatchRules::TenantId))
                    .col(string(MatchRules::Name, 200))
                    // JSON array of clauses `{listingField, operator, profileField | value}`.
                    .col(text(MatchRules::Clauses))
                    .col(ColumnDef::new(MatchRules::Enabled).boolean().not_null())
                    .col(ColumnDef::new(MatchRules::Position).integer().not_null())
                    .col(timestamp(MatchRules::CreatedAt))
                    .col(timestamp(MatchRules::UpdatedAt))
                    .foreign_key(&mut tenant_key(MatchRules::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "match_rules_tenant_id_position_idx",
                MatchRules::Table,
                &["tenant_id", "position"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .col(id(Deliveries::Id))
                    .col(uuid(Deliveries::TenantId))
                    .col(ColumnDef::new(Deliveries::MemberId).uuid().null())
                    // listing, listing_update or digest.
                    .col(string(Deliveries::Kind, 32))
                    // queued, captured or failed.
                    .col(string(Deliveries::State, 16))
                    .col(string(Deliveries::ToAddress, 320))
                    .col(string(Deliveries::Locale, 8))
                    .col(string(Deliveries::MessageId, 320))
                    .col(text(Deliveries::Subject))
                    .col(text(Deliveries::TextBody))
                    .col(text(Deliveries::HtmlBody))
                    .col(text(Deliveries::Headers))
                    .col(ColumnDef::new(Deliveries::Error).text().null())
                    .col(timestamp(Deliveries::CreatedAt))
                    .col(timestamp(Deliveries::UpdatedAt))
                    .foreign_key(&mut tenant_key(Deliveries::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Deliveries::Table, Deliveries::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "deliveries_tenant_id_state_idx",
                Deliveries::Table,
                &["tenant_id", "state"],
            ))
            .await?;
        manager
            .create_index(index(
                "deliveries_tenant_id_member_id_idx",
                Deliveries::Table,
                &["tenant_id", "member_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Matches::Table)
                    .col(id(Matches::Id))
                    .col(uuid(Matches::TenantId))
                    .col(uuid(Matches::MemberId))
                    .col(uuid(Matches::ListingId))
                    // The rule that matched first; kept as a plain id because rules can be deleted.
                    .col(uuid(Matches::RuleId))
                    .col(string(Matches::RuleName, 200))
                    // JSON array of the clauses compared, for "why did I get this?".
                    .col(text(Matches::Explanation))
                    // The listing's content hash when it matched.
                    .col(string(Matches::ListingHash, 64))
                    // The mail about this match; null while it waits for the member's digest.
                    // No foreign key: the id is chosen before the delivery row is written in
                    // the same transaction, and deliveries are only deleted with their tenant.
                    .col(ColumnDef::new(Matches::DeliveryId).uuid().null())
                    .col(timestamp(Matches::CreatedAt))
                    .foreign_key(&mut tenant_key(Matches::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Matches::Table, Matches::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Matches::Table, Matches::ListingId)
                            .to(Listings::Table, Listings::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One match per member and listing, whatever re-imports or concurrent workers do.
        manager
            .create_index(
                index(
                    "matches_tenant_id_member_id_listing_id_key",
                    Matches::Table,
                    &["tenant_id", "member_id", "listing_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "matches_tenant_id_listing_id_idx",
                Matches::Table,
                &["tenant_id", "listing_id"],
            ))
            .await?;
        // Serves both the lookup of a delivery's matches and the digest's search for a member's
        // waiting matches (`delivery_id IS NULL`), which without `member_id` here made SQLite
        // visit every waiting match of the tenant for each member.
        manager
            .create_index(index(
                "matches_tenant_id_delivery_id_member_id_idx",
                Matches::Table,
                &["tenant_id", "delivery_id", "member_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MatchUpdates::Table)
                    .col(id(MatchUpdates::Id))
                    .col(uuid(MatchUpdates::TenantId))
                    .col(uuid(MatchUpdates::MatchId))
                    .col(uuid(MatchUpdates::MemberId))
                    .col(uuid(MatchUpdates::ListingId))
                    // The listing's content hash that this notice is about.
                    .col(string(MatchUpdates::ListingHash, 64))
                    // The rule that matched this version, and the clauses it compared.
                    .col(string(MatchUpdates::RuleName, 200))
                    .col(text(MatchUpdates::Explanation))
                    // The mail that carries it; null while it waits for the member's digest.
                    .col(ColumnDef::new(MatchUpdates::DeliveryId).uuid().null())
                    .col(timestamp(MatchUpdates::CreatedAt))
                    .foreign_key(&mut tenant_key(MatchUpdates::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(MatchUpdates::Table, MatchUpdates::MatchId)
                            .to(Matches::Table, Matches::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // With "notify on change", a member gets at most one notice per version of a listing.
        manager
            .create_index(
                index(
                    "match_updates_tenant_id_member_id_listing_id_listing_hash_key",
                    MatchUpdates::Table,
                    &["tenant_id", "member_id", "listing_id", "listing_hash"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "match_updates_tenant_id_delivery_id_member_id_idx",
                MatchUpdates::Table,
                &["tenant_id", "delivery_id", "member_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Templates::Table)
                    .col(id(Templates::Id))
                    .col(uuid(Templates::TenantId))
                    .col(string(Templates::Kind, 32))
                    .col(string(Templates::Locale, 8))
                    .col(text(Templates::Subject))
                    .col(text(Templates::HtmlBody))
                    .col(text(Templates::TextBody))
                    .col(timestamp(Templates::UpdatedAt))
                    .foreign_key(&mut tenant_key(Templates::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "templates_tenant_id_kind_locale_key",
                    Templates::Table,
                    &["tenant_id", "kind", "locale"],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TenantLeases::Table)
                    .col(uuid(TenantLeases::TenantId))
                    .col(string(TenantLeases::Name, 32))
                    .col(uuid(TenantLeases::Holder))
                    .col(timestamp(TenantLeases::ExpiresAt))
                    .primary_key(
                        Index::create()
                            .col(TenantLeases::TenantId)
                            .col(TenantLeases::Name),
                    )
                    .foreign_key(&mut tenant_key(TenantLeases::Table))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            TenantLeases::Table.into_iden(),
            Templates::Table.into_iden(),
            MatchUpdates::Table.into_iden(),
            Matches::Table.into_iden(),
            Deliveries::Table.into_iden(),
            MatchRules::Table.into_iden(),
            Members::Table.into_iden(),
            ProfileFields::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("listings_tenant_id_match_pending_idx")
                    .table(Listings::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Listings::Table)
                    .drop_column(Listings::MatchPending)
                    .to_owned(),
            )
            .await?;
        for column in [Tenants::MatchingRevision, Tenants::NotifyOnChange] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
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
    NotifyOnChange,
    MatchingRevision,
}

#[derive(DeriveIden)]
enum Listings {
    Table,
    Id,
    MatchPending,
}

#[derive(DeriveIden)]
enum ProfileFields {
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
enum Members {
    Table,
    Id,
    TenantId,
    Email,
    EmailKey,
    Locale,
    Frequency,
    DigestHour,
    DigestWeekday,
    Status,
    Profile,
    NextDigestAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MatchRules {
    Table,
    Id,
    TenantId,
    Name,
    Clauses,
    Enabled,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Matches {
    Table,
    Id,
    TenantId,
    MemberId,
    ListingId,
    RuleId,
    RuleName,
    Explanation,
    ListingHash,
    DeliveryId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MatchUpdates {
    Table,
    Id,
    TenantId,
    MatchId,
    MemberId,
    ListingId,
    ListingHash,
    RuleName,
    Explanation,
    DeliveryId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
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
    Error,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Templates {
    Table,
    Id,
    TenantId,
    Kind,
    Locale,
    Subject,
    HtmlBody,
    TextBody,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TenantLeases {
    Table,
    TenantId,
    Name,
    Holder,
    ExpiresAt,
}
