//! The matching job: listings that are new (or changed, with "notify on change") are matched
//! against the tenant's members, and each match is recorded once with the mail about it.
//!
//! Idempotence comes from the database, not from the queue: a match is unique per (tenant,
//! member, listing) and an update notice per (tenant, member, listing, content hash); a
//! delivery row is written only for a match or notice that this transaction inserted. A lease
//! keeps one worker per tenant, so concurrent jobs do not repeat the work, and a listing is
//! marked matched only if its content did not change meanwhile.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait, sea_query::OnConflict,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    ClauseOutcome, Matcher, MatcherBuilder, MemberProfile, ProfileValue, Rule, explain,
    rules::{self, MatchRule},
};
use crate::{
    TenantId,
    entities::{delivery, listing, listing_match, match_update, member},
    error::Result,
    leases,
    listings::{
        schema,
        upsert::{MATCH_PENDING_CHANGED, MATCH_PENDING_NONE},
    },
    members::{Frequency, MemberStatus, profile, profile_fields},
    outbox::{DeliveryKind, DeliveryState, new_message_id},
    tenants,
};

/// Listings matched per transaction.
const BATCH_LISTINGS: u64 = 250;
/// Rows per insert statement; keeps bind parameters under SQLite's and PostgreSQL's limits.
const CHUNK_ROWS: usize = 400;
const LEASE: &str = "matching";
const LEASE_TTL: Duration = Duration::seconds(120);

/// A member as the index needs them: who to mail, and how often.
#[derive(Debug, Clone)]
struct IndexedMember {
    id: Uuid,
    email: String,
    locale: String,
    frequency: Frequency,
}

/// The tenant's members and rules, indexed, as of one matching revision.
pub struct TenantIndex {
    revision: i64,
    matcher: Matcher,
    members: Vec<IndexedMember>,
    profiles: Vec<MemberProfile>,
    rules: Vec<(Rule, MatchRule)>,
}

/// Member indexes kept between jobs, rebuilt when the tenant's matching revision moves.
#[derive(Default, Clone)]
pub struct IndexCache {
    indexes: Arc<Mutex<HashMap<TenantId, Arc<TenantIndex>>>>,
}

impl IndexCache {
    fn get(&self, tenant_id: TenantId, revision: i64) -> Option<Arc<TenantIndex>> {
        let indexes = self.indexes.lock().ok()?;
        indexes
            .get(&tenant_id)
            .filter(|index| index.revision == revision)
            .cloned()
    }

    fn put(&self, tenant_id: TenantId, index: Arc<TenantIndex>) {
        if let Ok(mut indexes) = self.indexes.lock() {
            indexes.insert(tenant_id, index);
        }
    }
}

/// The counts of one matching run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MatchReport {
    pub listings: usize,
    pub matches: usize,
    pub updates: usize,
    pub deliveries: usize,
}

/// Matches every pending listing of the tenant. Returns at once (with an empty report) when
/// another worker holds the tenant's matching lease; that worker looks for pending listings
/// again after it lets the lease go.
pub async fn match_pending(
    db: &DatabaseConnection,
    cache: &IndexCache,
    tenant_id: TenantId,
) -> Result<MatchReport> {
    let holder = Uuid::now_v7();
    let mut report = MatchReport::default();
    loop {
        if !leases::acquire(db, tenant_id, LEASE, holder, LEASE_TTL, Utc::now()).await? {
            return Ok(report);
        }
        let outcome = match_batches(db, cache, tenant_id, holder, &mut report).await;
        leases::release(db, tenant_id, LEASE, holder).await?;
        outcome?;
        // A listing stored while the lease was held may have had its job dropped.
        if !has_pending(db, tenant_id).await? {
            return Ok(report);
        }
    }
}

async fn has_pending(db: &impl ConnectionTrait, tenant_id: TenantId) -> Result<bool> {
    Ok(listing::Entity::find()
        .select_only()
        .column(listing::Column::Id)
        .filter(listing::Column::TenantId.eq(tenant_id.0))
        .filter(listing::Column::MatchPending.ne(MATCH_PENDING_NONE))
        .limit(1)
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .is_some())
}

/// Lists the tenants that have listings waiting for matching, for the reconciler.
pub async fn tenants_with_pending(db: &DatabaseConnection) -> Result<Vec<TenantId>> {
    let mut pending = Vec::new();
    for tenant_id in tenants::ids(db).await? {
        if has_pending(db, tenant_id).await? {
            pending.push(tenant_id);
        }
    }
    Ok(pending)
}

async fn match_batches(
    db: &DatabaseConnection,
    cache: &IndexCache,
    tenant_id: TenantId,
    holder: Uuid,
    report: &mut MatchReport,
) -> Result<()> {
    loop {
        let tenant = tenants::get(db, tenant_id).await?;
        let index = match cache.get(tenant_id, tenant.matching_revision) {
            Some(index) => index,
            None => {
                let index = Arc::new(build_index(db, tenant_id, tenant.matching_revision).await?);
                cache.put(tenant_id, index.clone());
                index
            }
        };
        let batch = listing::Entity::find()
            .filter(listing::Column::TenantId.eq(tenant_id.0))
            .filter(listing::Column::MatchPending.ne(MATCH_PENDING_NONE))
            .order_by_asc(listing::Column::Id)
            .limit(BATCH_LISTINGS)
            .all(db)
            .await?;
        if batch.is_empty() {
            return Ok(());
        }
        let batch_report =
            match_batch(db, &index, tenant_id, tenant.notify_on_change, &batch).await?;
        report.listings += batch_report.listings;
        report.matches += batch_report.matches;
        report.updates += batch_report.updates;
        report.deliveries += batch_report.deliveries;
        if !leases::acquire(db, tenant_id, LEASE, holder, LEASE_TTL, Utc::now()).await? {
            tracing::warn!(tenant.id = %tenant_id, "matching lease lost; stopping this run");
            return Ok(());
        }
    }
}

/// Loads active members, profile fields, listing schema and rules, and indexes the members.
pub async fn build_index(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    revision: i64,
) -> Result<TenantIndex> {
    let started = std::time::Instant::now();
    let listing_fields = schema::get(db, tenant_id).await?;
    let profile_fields = profile_fields::get(db, tenant_id).await?;
    let stored_rules = rules::list(db, tenant_id).await?;
    let rules = rules::to_model(tenant_id, &stored_rules, &listing_fields, &profile_fields);
    let model_rules: Vec<Rule> = rules.iter().map(|(rule, _)| rule.clone()).collect();

    let mut builder = MatcherBuilder::new(&model_rules);
    let mut members = Vec::new();
    let mut profiles = Vec::new();
    let mut after: Option<Uuid> = None;
    loop {
        let mut query = member::Entity::find()
            .select_only()
            .columns([
                member::Column::Id,
                member::Column::Email,
                member::Column::Locale,
                member::Column::Frequency,
                member::Column::Profile,
            ])
            .filter(member::Column::TenantId.eq(tenant_id.0))
            .filter(member::Column::Status.eq(MemberStatus::Active.as_str()))
            .order_by_asc(member::Column::Id)
            .limit(5_000);
        if let Some(after) = after {
            query = query.filter(member::Column::Id.gt(after));
        }
        let page: Vec<(Uuid, String, String, String, String)> = query.into_tuple().all(db).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.0);
        for (id, email, locale, frequency, stored) in page {
            let stored: serde_json::Map<String, Value> =
                serde_json::from_str(&stored).unwrap_or_default();
            let member_profile = profile::to_matching(&profile_fields, &stored);
            builder.add(&member_profile);
            profiles.push(member_profile);
            members.push(IndexedMember {
                id,
                email,
                locale,
                frequency: Frequency::parse(&frequency).unwrap_or(Frequency::Instant),
            });
        }
    }
    let matcher = builder.finish();
    tracing::info!(
        tenant.id = %tenant_id,
        members = members.len(),
        rules = rules.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "member index built"
    );
    Ok(TenantIndex {
        revision,
        matcher,
        members,
        profiles,
        rules,
    })
}

async fn match_batch(
    db: &DatabaseConnection,
    index: &TenantIndex,
    tenant_id: TenantId,
    notify_on_change: bool,
    batch: &[listing::Model],
) -> Result<MatchReport> {
    let now = Utc::now();
    let mut report = MatchReport {
        listings: batch.len(),
        ..MatchReport::default()
    };
    let changed_ids: Vec<Uuid> = batch
        .iter()
        .filter(|l| l.match_pending == MATCH_PENDING_CHANGED)
        .map(|l| l.id)
        .collect();
    let tx = db.begin().await?;
    let earlier = existing_matches(&tx, tenant_id, &changed_ids).await?;

    let mut new_matches = Vec::new();
    // The delivery of each new match, by match id, so that the insert returns only ids.
    let mut match_deliveries: HashMap<Uuid, Uuid> = HashMap::new();
    let mut updates = Vec::new();
    let mut deliveries: HashMap<Uuid, delivery::ActiveModel> = HashMap::new();
    for row in batch {
        if row.match_pending == MATCH_PENDING_CHANGED && !notify_on_change {
            continue;
        }
        let values: Value = serde_json::from_str(&row.fields).unwrap_or(Value::Null);
        let mut seen = HashSet::new();
        for (position, rule_id) in index.matcher.matches(&values).iter() {
            if !seen.insert(position) {
                continue;
            }
            let Some(member) = index.members.get(position as usize) else {
                continue;
            };
            let Some((rule, stored_rule)) = index.rules.get(rule_id as usize) else {
                continue;
            };
            let delivery_id = (member.frequency == Frequency::Instant).then(Uuid::now_v7);
            let explanation = explanation_json(rule, &index.profiles[position as usize], &values);
            if let Some(match_id) = earlier.get(&(member.id, row.id)) {
                updates.push(match_update::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id.0),
                    match_id: Set(*match_id),
                    member_id: Set(member.id),
                    listing_id: Set(row.id),
                    listing_hash: Set(row.content_hash.clone()),
                    rule_name: Set(stored_rule.name.clone()),
                    explanation: Set(explanation),
                    delivery_id: Set(delivery_id),
                    created_at: Set(now),
                });
                if let Some(id) = delivery_id {
                    deliveries.insert(
                        id,
                        new_delivery(id, tenant_id, member, DeliveryKind::ListingUpdate, now),
                    );
                }
                continue;
            }
            let match_id = Uuid::now_v7();
            if let Some(id) = delivery_id {
                match_deliveries.insert(match_id, id);
            }
            new_matches.push(listing_match::ActiveModel {
                id: Set(match_id),
                tenant_id: Set(tenant_id.0),
                member_id: Set(member.id),
                listing_id: Set(row.id),
                rule_id: Set(stored_rule.id.0),
                rule_name: Set(stored_rule.name.clone()),
                explanation: Set(explanation),
                listing_hash: Set(row.content_hash.clone()),
                delivery_id: Set(delivery_id),
                created_at: Set(now),
            });
            if let Some(id) = delivery_id {
                deliveries.insert(
                    id,
                    new_delivery(id, tenant_id, member, DeliveryKind::Listing, now),
                );
            }
        }
    }

    // Only rows this transaction inserted get a delivery, because a conflict means the member
    // already had a mail about the listing.
    let mut to_deliver = Vec::new();
    for chunk in new_matches.chunks(CHUNK_ROWS) {
        let inserted = insert_ignoring_conflicts(
            &tx,
            listing_match::Entity::insert_many(chunk.to_vec()).on_conflict(
                OnConflict::columns([
                    listing_match::Column::TenantId,
                    listing_match::Column::MemberId,
                    listing_match::Column::ListingId,
                ])
                .do_nothing()
                .to_owned(),
            ),
        )
        .await?;
        report.matches += inserted.len();
        to_deliver.extend(
            inserted
                .iter()
                .filter_map(|id| match_deliveries.get(id).copied()),
        );
    }
    for chunk in updates.chunks(CHUNK_ROWS) {
        let inserted = match match_update::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    match_update::Column::TenantId,
                    match_update::Column::MemberId,
                    match_update::Column::ListingId,
                    match_update::Column::ListingHash,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_with_returning(&tx)
            .await
        {
            Ok(rows) => rows,
            Err(sea_orm::DbErr::RecordNotInserted) => Vec::new(),
            Err(error) => return Err(error.into()),
        };
        report.updates += inserted.len();
        to_deliver.extend(inserted.into_iter().filter_map(|row| row.delivery_id));
    }
    let rows: Vec<delivery::ActiveModel> = to_deliver
        .iter()
        .filter_map(|id| deliveries.remove(id))
        .collect();
    report.deliveries = rows.len();
    for chunk in rows.chunks(CHUNK_ROWS) {
        delivery::Entity::insert_many(chunk.to_vec())
            .exec(&tx)
            .await?;
    }

    for row in batch {
        listing::Entity::update_many()
            .col_expr(listing::Column::MatchPending, MATCH_PENDING_NONE.into())
            .filter(listing::Column::TenantId.eq(tenant_id.0))
            .filter(listing::Column::Id.eq(row.id))
            .filter(listing::Column::ContentHash.eq(row.content_hash.clone()))
            .exec(&tx)
            .await?;
    }
    tx.commit().await?;
    Ok(report)
}

/// Inserts matches and returns the ids of the rows inserted, leaving out conflicts.
async fn insert_ignoring_conflicts(
    db: &impl ConnectionTrait,
    insert: sea_orm::InsertMany<listing_match::ActiveModel>,
) -> Result<Vec<Uuid>> {
    match insert.exec_with_returning_keys(db).await {
        Ok(rows) => Ok(rows),
        Err(sea_orm::DbErr::RecordNotInserted) => Ok(Vec::new()),
        Err(error) => Err(error.into()),
    }
}

/// Loads the matches already recorded for these listings, keyed by (member, listing).
async fn existing_matches(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    listing_ids: &[Uuid],
) -> Result<HashMap<(Uuid, Uuid), Uuid>> {
    let mut existing = HashMap::new();
    for chunk in listing_ids.chunks(CHUNK_ROWS) {
        let rows: Vec<(Uuid, Uuid, Uuid)> = listing_match::Entity::find()
            .select_only()
            .columns([
                listing_match::Column::Id,
                listing_match::Column::MemberId,
                listing_match::Column::ListingId,
            ])
            .filter(listing_match::Column::TenantId.eq(tenant_id.0))
            .filter(listing_match::Column::ListingId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        existing.extend(
            rows.into_iter()
                .map(|(id, member, listing)| ((member, listing), id)),
        );
    }
    Ok(existing)
}

fn new_delivery(
    id: Uuid,
    tenant_id: TenantId,
    member: &IndexedMember,
    kind: DeliveryKind,
    now: DateTime<Utc>,
) -> delivery::ActiveModel {
    delivery::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id.0),
        member_id: Set(Some(member.id)),
        kind: Set(kind.as_str().to_owned()),
        state: Set(DeliveryState::Queued.as_str().to_owned()),
        to_address: Set(member.email.clone()),
        locale: Set(member.locale.clone()),
        message_id: Set(new_message_id(id)),
        subject: Set(String::new()),
        text_body: Set(String::new()),
        html_body: Set(String::new()),
        headers: Set(String::new()),
        error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Serialises the rule's clauses with the values compared, as stored for "why did I get this?".
fn explanation_json(rule: &Rule, profile: &MemberProfile, listing: &Value) -> String {
    let clauses: Vec<Value> = explain(rule, profile, listing)
        .into_iter()
        .map(|(clause, outcome)| {
            let (listing_value, operand, held) = match outcome {
                ClauseOutcome::Satisfied {
                    listing_value,
                    operand,
                } => (listing_value, operand, true),
                ClauseOutcome::NotSatisfied {
                    listing_value,
                    operand,
                } => (listing_value, operand, false),
                ClauseOutcome::ListingValueMissing | ClauseOutcome::ProfileValueMissing => {
                    (Value::Null, ProfileValue::Set(Vec::new()), false)
                }
            };
            json!({
                "listingField": clause.listing_field,
                "operator": operator_name(clause.operator),
                "profileField": match &clause.operand {
                    super::Operand::Profile(name) => Value::String(name.clone()),
                    super::Operand::Constant(_) => Value::Null,
                },
                "listingValue": listing_value,
                "operand": operand_json(&operand),
                "held": held,
            })
        })
        .collect();
    Value::Array(clauses).to_string()
}

fn operator_name(operator: super::Operator) -> &'static str {
    use super::Operator::*;
    match operator {
        InSet => "in_set",
        NotInSet => "not_in_set",
        AtMost => "at_most",
        AtLeast => "at_least",
        Overlaps => "overlaps",
        ContainsKeyword => "contains_keyword",
        WithinDistance => "within_distance",
        OnOrAfter => "on_or_after",
        OnOrBefore => "on_or_before",
    }
}

fn operand_json(operand: &ProfileValue) -> Value {
    match operand {
        ProfileValue::Set(items) => json!(items),
        ProfileValue::Number(number) => json!(number),
        ProfileValue::Range { min, max } => json!({"min": min, "max": max}),
        ProfileValue::Circle {
            lat,
            lon,
            radius_km,
        } => {
            json!({"lat": lat, "lon": lon, "radiusKm": radius_km})
        }
        ProfileValue::Date(date) => json!(date.format("%Y-%m-%d").to_string()),
    }
}
