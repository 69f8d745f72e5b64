//! The matching job: listings that are new (or changed, with "notify on change") are matched
//! against the tenant's members, and each match is recorded once with the mail about it.
//!
//! Idempotence comes from the database, not from the queue. A listing's matches are written as
//! one set per run, unique per (tenant, listing, seq). A later run of a changed listing leaves
//! out the members its earlier sets contain. An update notice is unique per (tenant, listing,
//! member, content hash). A delivery row is written only for a set or notice that this
//! transaction inserted. A lease keeps one worker per tenant, and its renewal at the start of
//! each batch's transaction makes batches of two workers wait for each other, so concurrent jobs
//! do not repeat the work. A listing is marked matched only if its content did not change
//! meanwhile.
//!
//! An instant member's match gets a new queued delivery. A digest member's match goes into the
//! member's collecting digest (one delivery row, opened by the first waiting match), which
//! [`crate::outbox::digests`] turns into a queued mail when it falls due. Match sets are written
//! once and never updated.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

use chrono::{Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::OnConflict,
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    Matcher, MatcherBuilder, Rule,
    rules::{self, MatchRule},
    store::{self, NewDelivery, NewMatchSet},
};
use crate::{
    TenantId,
    entities::{delivery, listing, listing_match_set, match_update, member},
    error::Result,
    leases,
    listings::{
        schema,
        upsert::{MATCH_PENDING_CHANGED, MATCH_PENDING_NONE},
    },
    members::{Frequency, MemberStatus, profile, profile_fields},
    outbox::{DeliveryKind, DeliveryState},
    tenants,
};

/// Listings matched per transaction.
const BATCH_LISTINGS: u64 = 1_000;
/// Update notices per insert statement, which keeps bind parameters under SQLite's and
/// PostgreSQL's limits.
const UPDATE_CHUNK_ROWS: usize = 400;
/// Ids per `IN (...)` list.
const IN_LIST_CHUNK: usize = 1_000;
const LEASE: &str = leases::MATCHING;
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
        let Some(batch_report) = match_batch(
            db,
            &index,
            tenant_id,
            holder,
            tenant.notify_on_change,
            &batch,
        )
        .await?
        else {
            tracing::warn!(tenant.id = %tenant_id, "matching lease lost; stopping this run");
            return Ok(());
        };
        report.listings += batch_report.listings;
        report.matches += batch_report.matches;
        report.updates += batch_report.updates;
        report.deliveries += batch_report.deliveries;
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
        rules,
    })
}

/// The mail a match or notice goes into, chosen before the rows are written.
struct Planned {
    delivery_id: Uuid,
    /// Written with the batch if a row that uses it is inserted.
    delivery: Option<NewDelivery>,
}

/// Matches one batch of listings in one transaction. Returns `None`, with nothing written,
/// when `holder` lost the tenant's matching lease.
async fn match_batch(
    db: &DatabaseConnection,
    index: &TenantIndex,
    tenant_id: TenantId,
    holder: Uuid,
    notify_on_change: bool,
    batch: &[listing::Model],
) -> Result<Option<MatchReport>> {
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
    let tx = crate::db::begin_write(db).await?;
    // Digests are queued under the same lease, so the collecting digests read below stay
    // collecting until this transaction commits.
    if !leases::renew(&tx, tenant_id, LEASE, holder, LEASE_TTL, now).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    let earlier = existing_matches(&tx, tenant_id, &changed_ids).await?;
    let mut collecting = collecting_digests(&tx, tenant_id).await?;

    let mut sets = Vec::new();
    // The mail of each new match, by (listing, member).
    let mut delivery_of: HashMap<(Uuid, Uuid), Uuid> = HashMap::new();
    let mut updates = Vec::new();
    let mut planned: HashMap<Uuid, NewDelivery> = HashMap::new();
    for row in batch {
        if row.match_pending == MATCH_PENDING_CHANGED && !notify_on_change {
            continue;
        }
        let values: Value = serde_json::from_str(&row.fields).unwrap_or(Value::Null);
        let mut set = NewMatchSet {
            listing_id: row.id,
            seq: earlier.next_seq.get(&row.id).copied().unwrap_or(0),
            matches: Vec::new(),
        };
        let mut seen = HashSet::new();
        for (position, rule_id) in index.matcher.matches(&values).iter() {
            if !seen.insert(position) {
                continue;
            }
            let Some(member) = index.members.get(position as usize) else {
                continue;
            };
            let Some((_, stored_rule)) = index.rules.get(rule_id as usize) else {
                continue;
            };
            let update = earlier.pairs.contains(&(row.id, member.id));
            let kind = if update {
                DeliveryKind::ListingUpdate
            } else {
                DeliveryKind::Listing
            };
            let target = plan_delivery(&mut collecting, member, row.id, kind);
            if let Some(delivery) = target.delivery {
                planned.insert(target.delivery_id, delivery);
            }
            if update {
                updates.push(match_update::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id.0),
                    listing_id: Set(row.id),
                    member_id: Set(member.id),
                    listing_hash: Set(row.content_hash.clone()),
                    rule_id: Set(stored_rule.id.0),
                    rule_name: Set(stored_rule.name.clone()),
                    delivery_id: Set(target.delivery_id),
                    created_at: Set(now),
                });
            } else {
                set.matches.push((member.id, stored_rule.id.0));
                delivery_of.insert((row.id, member.id), target.delivery_id);
            }
        }
        if !set.matches.is_empty() {
            sets.push(set);
        }
    }

    // Only sets this transaction inserted need their mail, because a conflict means another
    // run recorded this listing's matches (or this version's) first.
    let inserted = store::insert_match_sets(&tx, tenant_id, &sets).await?;
    let mut used: HashSet<Uuid> = HashSet::new();
    let digest_ids: HashSet<Uuid> = collecting.values().copied().collect();
    let mut digest_items: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for set in sets.iter().filter(|set| inserted.contains(&set.listing_id)) {
        report.matches += set.matches.len();
        for (member_id, _) in &set.matches {
            let Some(delivery_id) = delivery_of.get(&(set.listing_id, *member_id)) else {
                continue;
            };
            used.insert(*delivery_id);
            if digest_ids.contains(delivery_id) {
                digest_items
                    .entry(*delivery_id)
                    .or_default()
                    .push(set.listing_id);
            }
        }
    }
    store::insert_digest_items(&tx, tenant_id, &digest_items).await?;
    for chunk in updates.chunks(UPDATE_CHUNK_ROWS) {
        let inserted = match match_update::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    match_update::Column::TenantId,
                    match_update::Column::ListingId,
                    match_update::Column::MemberId,
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
        used.extend(inserted.into_iter().map(|row| row.delivery_id));
    }

    let mut rows: Vec<NewDelivery> = used.iter().filter_map(|id| planned.remove(id)).collect();
    rows.sort_by_key(|row| row.id);
    report.deliveries = rows
        .iter()
        .filter(|row| row.state != DeliveryState::Collecting)
        .count();
    store::insert_deliveries(&tx, tenant_id, now, &rows).await?;

    let matched: Vec<(Uuid, &str)> = batch
        .iter()
        .map(|row| (row.id, row.content_hash.as_str()))
        .collect();
    store::mark_matched(&tx, tenant_id, &matched).await?;
    tx.commit().await?;
    Ok(Some(report))
}

/// Chooses the mail of one match: a new delivery for an instant member, else the member's
/// collecting digest, opened on the member's first waiting match.
fn plan_delivery(
    collecting: &mut HashMap<Uuid, Uuid>,
    member: &IndexedMember,
    listing_id: Uuid,
    kind: DeliveryKind,
) -> Planned {
    let (kind, state, listing_id) = if member.frequency == Frequency::Instant {
        (kind, DeliveryState::Queued, Some(listing_id))
    } else if let Some(id) = collecting.get(&member.id) {
        return Planned {
            delivery_id: *id,
            delivery: None,
        };
    } else {
        (DeliveryKind::Digest, DeliveryState::Collecting, None)
    };
    let id = Uuid::now_v7();
    if state == DeliveryState::Collecting {
        collecting.insert(member.id, id);
    }
    Planned {
        delivery_id: id,
        delivery: Some(NewDelivery {
            id,
            member_id: member.id,
            listing_id,
            kind,
            state,
            to_address: member.email.clone(),
            locale: member.locale.clone(),
        }),
    }
}

/// The matches recorded for listings before this run.
#[derive(Default)]
struct Earlier {
    /// (listing, member) pairs.
    pairs: HashSet<(Uuid, Uuid)>,
    /// The `seq` of each listing's next set.
    next_seq: HashMap<Uuid, i32>,
}

/// Loads the match sets recorded for these listings.
async fn existing_matches(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    listing_ids: &[Uuid],
) -> Result<Earlier> {
    let mut earlier = Earlier::default();
    for chunk in listing_ids.chunks(IN_LIST_CHUNK) {
        let sets = listing_match_set::Entity::find()
            .filter(listing_match_set::Column::TenantId.eq(tenant_id.0))
            .filter(listing_match_set::Column::ListingId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for set in sets {
            let next = earlier.next_seq.entry(set.listing_id).or_default();
            *next = (*next).max(set.seq + 1);
            earlier.pairs.extend(
                set.matches()
                    .map(|(member_id, _)| (set.listing_id, member_id)),
            );
        }
    }
    Ok(earlier)
}

/// Loads the tenant's collecting digests, by member.
async fn collecting_digests(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
) -> Result<HashMap<Uuid, Uuid>> {
    let rows: Vec<(Option<Uuid>, Uuid)> = delivery::Entity::find()
        .select_only()
        .columns([delivery::Column::MemberId, delivery::Column::Id])
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::State.eq(DeliveryState::Collecting.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(member, id)| Some((member?, id)))
        .collect())
}
