//! The outbox: deliveries (one mail to one recipient) from the moment matching decides a mail
//! must go out, through rendering with the tenant's template, to their final state.
//!
//! Real senders do not exist yet, so every mail is captured: rendered and stored for the
//! dashboard instead of sent (テストモード).

pub mod capture;
pub mod context;
pub mod digests;
pub mod send;
pub mod templates;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use serde_json::Value;
use uuid::Uuid;

use std::collections::{HashMap, HashSet};

use crate::{
    DeliveryId, Error, MemberId, TenantId,
    entities::{delivery, enrollment, listing, listing_match_set, match_update, member},
    error::{Resource, Result},
    matching::{MemberProfile, Rule, explanation, rules, store},
    members::{profile, profile_fields},
};

/// An item found for a delivery: (delivery, listing, member, rule, rule name if recorded,
/// update).
type FoundItem = (Uuid, Uuid, Uuid, Uuid, Option<String>, bool);

/// Ids per `IN (...)` list, which keeps bind parameters under SQLite's and PostgreSQL's limits.
const IN_LIST_CHUNK: usize = 1_000;

/// The domain of the Message-IDs of captured mail.
// NOTE: real sending must use the tenant's own domain here.
pub const CAPTURED_MAIL_DOMAIN: &str = "captured.tayori.invalid";

/// Builds the Message-ID (without angle brackets) of a delivery.
pub fn new_message_id(delivery_id: Uuid) -> String {
    format!("{}@{CAPTURED_MAIL_DOMAIN}", delivery_id.simple())
}

/// Builds a queued delivery of `kind` to `member`, empty until the outbox renders it. The
/// caller sets what the mail is about (its step, broadcast or written content).
pub fn queued_delivery(
    member: &member::Model,
    kind: DeliveryKind,
    locale: &str,
    now: DateTime<Utc>,
) -> delivery::ActiveModel {
    let id = Uuid::now_v7();
    delivery::ActiveModel {
        id: sea_orm::Set(id),
        tenant_id: sea_orm::Set(member.tenant_id),
        member_id: sea_orm::Set(Some(member.id)),
        listing_id: sea_orm::Set(None),
        kind: sea_orm::Set(kind.as_str().to_owned()),
        state: sea_orm::Set(DeliveryState::Queued.as_str().to_owned()),
        to_address: sea_orm::Set(member.email.clone()),
        locale: sea_orm::Set(locale.to_owned()),
        message_id: sea_orm::Set(new_message_id(id)),
        subject: sea_orm::Set(String::new()),
        text_body: sea_orm::Set(String::new()),
        html_body: sea_orm::Set(String::new()),
        headers: sea_orm::Set(String::new()),
        error: sea_orm::Set(None),
        created_at: sea_orm::Set(now),
        updated_at: sea_orm::Set(now),
        attempts: sea_orm::Set(0),
        next_attempt_at: sea_orm::Set(None),
        sent_at: sea_orm::Set(None),
        sender_id: sea_orm::Set(None),
        enrollment_id: sea_orm::Set(None),
        step_id: sea_orm::Set(None),
        broadcast_id: sea_orm::Set(None),
    }
}

/// The purpose of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    /// A listing matched for the first time.
    Listing,
    /// A change to a listing mailed to the member before ("notify on change").
    ListingUpdate,
    /// Several matches bundled for a daily or weekly digest.
    Digest,
    /// A step of a step-mail sequence.
    Step,
    /// A message about the member's account (confirm the address, reset the password), stored
    /// already written when it is queued.
    Account,
    /// A copy of a broadcast, the mail to every subscribed member at a set time.
    Broadcast,
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Listing => "listing",
            DeliveryKind::ListingUpdate => "listing_update",
            DeliveryKind::Digest => "digest",
            DeliveryKind::Step => "step",
            DeliveryKind::Account => "account",
            DeliveryKind::Broadcast => "broadcast",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Listing,
            Self::ListingUpdate,
            Self::Digest,
            Self::Step,
            Self::Account,
            Self::Broadcast,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == value)
    }
}

/// The processing state of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// A digest that gathers a member's matches until the member's digest time.
    Collecting,
    /// Decided, waiting to be rendered and sent.
    Queued,
    /// Rendered and kept in the outbox instead of being sent.
    Captured,
    /// Could not be rendered (a template error), or sending failed for good; `error`
    /// contains the reason.
    Failed,
    /// Rendered, waiting for the tenant's sender (also between attempts).
    Ready,
    /// Claimed by a worker that is sending it.
    Sending,
    /// Accepted by the sender's server or API.
    Sent,
    /// Rejected for good by the recipient's server (a hard bounce).
    Bounced,
    /// Not sent, because the address is on the tenant's suppression list.
    Suppressed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Collecting => "collecting",
            DeliveryState::Queued => "queued",
            DeliveryState::Captured => "captured",
            DeliveryState::Failed => "failed",
            DeliveryState::Ready => "ready",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Bounced => "bounced",
            DeliveryState::Suppressed => "suppressed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Collecting,
            Self::Queued,
            Self::Captured,
            Self::Failed,
            Self::Ready,
            Self::Sending,
            Self::Sent,
            Self::Bounced,
            Self::Suppressed,
        ]
        .into_iter()
        .find(|state| state.as_str() == value)
    }
}

/// A delivery as the dashboard and the API show it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: DeliveryId,
    pub member_id: Option<MemberId>,
    pub kind: DeliveryKind,
    pub state: DeliveryState,
    pub to_address: String,
    pub locale: String,
    pub message_id: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub headers: String,
    pub error: Option<String>,
    /// The step-mail step, for deliveries of kind `Step`.
    pub step_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<delivery::Model> for Delivery {
    fn from(row: delivery::Model) -> Self {
        Delivery {
            id: DeliveryId(row.id),
            member_id: row.member_id.map(MemberId),
            kind: DeliveryKind::parse(&row.kind).unwrap_or(DeliveryKind::Listing),
            state: DeliveryState::parse(&row.state).unwrap_or(DeliveryState::Failed),
            to_address: row.to_address,
            locale: row.locale,
            message_id: row.message_id,
            subject: row.subject,
            text_body: row.text_body,
            html_body: row.html_body,
            headers: row.headers,
            error: row.error,
            step_id: row.step_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u64 = 200;

/// One page of deliveries, newest first.
pub struct DeliveryPage {
    pub nodes: Vec<Delivery>,
    pub total_count: u64,
    pub has_next_page: bool,
}

/// The conditions of a deliveries listing; every part left `None` lets all through.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliveryFilter {
    pub member_id: Option<MemberId>,
    pub state: Option<DeliveryState>,
    /// The step mail of one sequence, including steps removed since.
    pub sequence_id: Option<Uuid>,
    /// The copies of one broadcast.
    pub broadcast_id: Option<Uuid>,
    pub kind: Option<DeliveryKind>,
}

/// Lists the tenant's deliveries that pass `filter`, newest first.
pub async fn list(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    first: u64,
    after: Option<DeliveryId>,
    filter: DeliveryFilter,
) -> Result<DeliveryPage> {
    let first = first.clamp(1, MAX_PAGE_SIZE);
    let mut query = delivery::Entity::find().filter(delivery::Column::TenantId.eq(tenant_id.0));
    if let Some(member_id) = filter.member_id {
        query = query.filter(delivery::Column::MemberId.eq(member_id.0));
    }
    if let Some(state) = filter.state {
        query = query.filter(delivery::Column::State.eq(state.as_str()));
    }
    if let Some(sequence_id) = filter.sequence_id {
        // Through the enrollments, which outlive the steps an operator removes.
        let enrollments = Query::select()
            .column(enrollment::Column::Id)
            .from(enrollment::Entity)
            .and_where(enrollment::Column::TenantId.eq(tenant_id.0))
            .and_where(enrollment::Column::SequenceId.eq(sequence_id))
            .to_owned();
        query = query.filter(delivery::Column::EnrollmentId.in_subquery(enrollments));
    }
    if let Some(broadcast_id) = filter.broadcast_id {
        query = query.filter(delivery::Column::BroadcastId.eq(broadcast_id));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(delivery::Column::Kind.eq(kind.as_str()));
    }
    let total_count = query.clone().count(db).await?;
    if let Some(after) = after {
        query = query.filter(delivery::Column::Id.lt(after.0));
    }
    let mut rows = query
        .order_by_desc(delivery::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
    Ok(DeliveryPage {
        nodes: rows.into_iter().map(Delivery::from).collect(),
        total_count,
        has_next_page,
    })
}

/// Loads one delivery of the tenant.
pub async fn get(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    delivery_id: DeliveryId,
) -> Result<Delivery> {
    delivery::Entity::find()
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::Id.eq(delivery_id.0))
        .one(db)
        .await?
        .map(Delivery::from)
        .ok_or(Error::NotFound(Resource::Delivery))
}

/// A listing in a delivery, with the reason it matched.
#[derive(Debug, Clone)]
pub struct DeliveryItem {
    pub listing_id: Uuid,
    pub external_id: String,
    pub update: bool,
    pub rule_name: String,
    /// The stored explanation: the rule's clauses with the values compared.
    pub explanation: Value,
}

/// Loads the listings a delivery carries, with the rule and values that matched each.
pub async fn items(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
    delivery_id: DeliveryId,
) -> Result<Vec<DeliveryItem>> {
    let mut entries = items_of(db, tenant_id, &[delivery_id.0])
        .await?
        .remove(&delivery_id.0)
        .unwrap_or_default();
    let listing_ids: Vec<Uuid> = entries.iter().map(|item| item.listing_id).collect();
    let external_ids: HashMap<Uuid, String> = listing::Entity::find()
        .select_only()
        .columns([listing::Column::Id, listing::Column::ExternalId])
        .filter(listing::Column::TenantId.eq(tenant_id.0))
        .filter(listing::Column::Id.is_in(listing_ids))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    for item in &mut entries {
        item.external_id = external_ids
            .get(&item.listing_id)
            .cloned()
            .unwrap_or_default();
    }
    Ok(entries)
}

/// Loads the items of each of these deliveries, keyed by delivery: new matches first, then
/// update notices, each in the order they were recorded. `external_id` is left empty.
///
/// Each item's explanation is evaluated now, from the rule, the member's profile and the
/// listing as they are, so it is the one a mail rendered now carries.
pub(crate) async fn items_of(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
    delivery_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<DeliveryItem>>> {
    let mut found: Vec<FoundItem> = Vec::new();
    // The listings each delivery carries: an instant mail names its listing, a digest's are
    // in `digest_items`.
    let mut carried: Vec<(Uuid, Uuid, Uuid)> = Vec::new();
    for chunk in delivery_ids.chunks(IN_LIST_CHUNK) {
        let rows: Vec<(Uuid, Option<Uuid>, Option<Uuid>, String)> = delivery::Entity::find()
            .select_only()
            .columns([
                delivery::Column::Id,
                delivery::Column::MemberId,
                delivery::Column::ListingId,
                delivery::Column::Kind,
            ])
            .filter(delivery::Column::TenantId.eq(tenant_id.0))
            .filter(delivery::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        let members: HashMap<Uuid, Uuid> = rows
            .iter()
            .filter_map(|(id, member, _, _)| Some((*id, (*member)?)))
            .collect();
        // An instant update notice names its listing too, but its item comes from the notice below.
        carried.extend(rows.iter().filter_map(|(id, member, listing, kind)| {
            (kind != DeliveryKind::ListingUpdate.as_str()).then_some((*id, (*listing)?, (*member)?))
        }));
        let digest_rows = db
            .query_all(
                &Query::select()
                    .columns([Alias::new("delivery_id"), Alias::new("listing_ids")])
                    .from(Alias::new("digest_items"))
                    .and_where(Expr::col(Alias::new("tenant_id")).eq(tenant_id.0))
                    .and_where(Expr::col(Alias::new("delivery_id")).is_in(chunk.iter().copied()))
                    .to_owned(),
            )
            .await?;
        for row in digest_rows {
            let delivery_id: Uuid = row.try_get("", "delivery_id")?;
            let listing_ids: Vec<u8> = row.try_get("", "listing_ids")?;
            if let Some(member_id) = members.get(&delivery_id) {
                carried.extend(
                    store::listing_ids(&listing_ids)
                        .map(|listing_id| (delivery_id, listing_id, *member_id)),
                );
            }
        }
    }
    // The rule of each carried (listing, member), from the listings' match sets.
    let needed: HashSet<(Uuid, Uuid)> = carried
        .iter()
        .map(|(_, listing_id, member_id)| (*listing_id, *member_id))
        .collect();
    let mut listing_ids: Vec<Uuid> = needed.iter().map(|(listing_id, _)| *listing_id).collect();
    listing_ids.sort();
    listing_ids.dedup();
    let mut rule_of: HashMap<(Uuid, Uuid), Uuid> = HashMap::with_capacity(needed.len());
    for chunk in listing_ids.chunks(IN_LIST_CHUNK) {
        let sets = listing_match_set::Entity::find()
            .filter(listing_match_set::Column::TenantId.eq(tenant_id.0))
            .filter(listing_match_set::Column::ListingId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for set in &sets {
            for (member_id, rule_id) in set.matches() {
                let key = (set.listing_id, member_id);
                if needed.contains(&key) {
                    rule_of.insert(key, rule_id);
                }
            }
        }
    }
    carried.sort();
    found.extend(
        carried
            .into_iter()
            .filter_map(|(delivery_id, listing_id, member_id)| {
                let rule_id = rule_of.get(&(listing_id, member_id))?;
                Some((delivery_id, listing_id, member_id, *rule_id, None, false))
            }),
    );
    for chunk in delivery_ids.chunks(IN_LIST_CHUNK) {
        let updates = match_update::Entity::find()
            .filter(match_update::Column::TenantId.eq(tenant_id.0))
            .filter(match_update::Column::DeliveryId.is_in(chunk.iter().copied()))
            .order_by_asc(match_update::Column::Id)
            .all(db)
            .await?;
        found.extend(updates.into_iter().map(|u| {
            (
                u.delivery_id,
                u.listing_id,
                u.member_id,
                u.rule_id,
                Some(u.rule_name),
                true,
            )
        }));
    }
    if found.is_empty() {
        return Ok(HashMap::new());
    }

    // NOTE: capture loads the same listings again for rendering; sharing them would save one
    // query and one JSON parse per listing and batch.
    let explainer = Explainer::load(db, tenant_id, &found).await?;
    let mut entries: HashMap<Uuid, Vec<DeliveryItem>> = HashMap::new();
    for (delivery_id, listing_id, member_id, rule_id, rule_name, update) in found {
        let explanation = explainer.explain(listing_id, member_id, rule_id);
        let rule_name = rule_name
            .or_else(|| explainer.rule_names.get(&rule_id).cloned())
            .unwrap_or_default();
        entries.entry(delivery_id).or_default().push(DeliveryItem {
            listing_id,
            external_id: String::new(),
            update,
            rule_name,
            explanation,
        });
    }
    Ok(entries)
}

/// The data that the items' explanations are evaluated on: the tenant's rules, and the profiles
/// and listing values involved.
struct Explainer {
    rules: HashMap<Uuid, Rule>,
    rule_names: HashMap<Uuid, String>,
    profiles: HashMap<Uuid, MemberProfile>,
    listings: HashMap<Uuid, Value>,
}

impl Explainer {
    async fn load(
        db: &impl sea_orm::ConnectionTrait,
        tenant_id: TenantId,
        items: &[FoundItem],
    ) -> Result<Self> {
        let listing_fields = crate::listings::schema::get(db, tenant_id).await?;
        let profile_fields = profile_fields::get(db, tenant_id).await?;
        let stored_rules = rules::list(db, tenant_id).await?;
        let rule_names = stored_rules
            .iter()
            .map(|rule| (rule.id.0, rule.name.clone()))
            .collect();
        let rules = rules::to_model(tenant_id, &stored_rules, &listing_fields, &profile_fields)
            .into_iter()
            .map(|(rule, stored)| (stored.id.0, rule))
            .collect();

        let member_ids: HashSet<Uuid> = items.iter().map(|item| item.2).collect();
        let listing_ids: HashSet<Uuid> = items.iter().map(|item| item.1).collect();
        let mut profiles = HashMap::new();
        for chunk in member_ids
            .into_iter()
            .collect::<Vec<_>>()
            .chunks(IN_LIST_CHUNK)
        {
            let rows: Vec<(Uuid, String)> = member::Entity::find()
                .select_only()
                .columns([member::Column::Id, member::Column::Profile])
                .filter(member::Column::TenantId.eq(tenant_id.0))
                .filter(member::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(db)
                .await?;
            for (id, stored) in rows {
                let stored: serde_json::Map<String, Value> =
                    serde_json::from_str(&stored).unwrap_or_default();
                profiles.insert(id, profile::to_matching(&profile_fields, &stored));
            }
        }
        let mut listings = HashMap::new();
        for chunk in listing_ids
            .into_iter()
            .collect::<Vec<_>>()
            .chunks(IN_LIST_CHUNK)
        {
            let rows: Vec<(Uuid, String)> = listing::Entity::find()
                .select_only()
                .columns([listing::Column::Id, listing::Column::Fields])
                .filter(listing::Column::TenantId.eq(tenant_id.0))
                .filter(listing::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(db)
                .await?;
            listings
                .extend(rows.into_iter().map(|(id, fields)| {
                    (id, serde_json::from_str(&fields).unwrap_or(Value::Null))
                }));
        }
        Ok(Explainer {
            rules,
            rule_names,
            profiles,
            listings,
        })
    }

    /// Evaluates the clauses of one item, or returns `null` when the rule, the member or the listing
    /// is gone.
    fn explain(&self, listing_id: Uuid, member_id: Uuid, rule_id: Uuid) -> Value {
        match (
            self.rules.get(&rule_id),
            self.profiles.get(&member_id),
            self.listings.get(&listing_id),
        ) {
            (Some(rule), Some(profile), Some(listing)) => {
                explanation::to_json(rule, profile, listing)
            }
            _ => Value::Null,
        }
    }
}

/// Loads the headline of each listing (its first text value, else its external id), to name
/// the listings of a delivery.
pub async fn headlines(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
    listing_ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, String>> {
    let listing_schema = crate::listings::schema::get(db, tenant_id).await?;
    let rows: Vec<(Uuid, String, String)> = listing::Entity::find()
        .select_only()
        .columns([
            listing::Column::Id,
            listing::Column::ExternalId,
            listing::Column::Fields,
        ])
        .filter(listing::Column::TenantId.eq(tenant_id.0))
        .filter(listing::Column::Id.is_in(listing_ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, external_id, fields)| {
            let values: Value = serde_json::from_str(&fields).unwrap_or(Value::Null);
            let headline =
                crate::listings::display::headline(&listing_schema, &values, &external_id);
            (id, headline)
        })
        .collect())
}

/// Lists the tenants that have queued deliveries, for the reconciler.
pub async fn tenants_with_queued(db: &DatabaseConnection) -> Result<Vec<TenantId>> {
    let mut queued = Vec::new();
    for tenant_id in crate::tenants::ids(db).await? {
        let any = delivery::Entity::find()
            .select_only()
            .column(delivery::Column::Id)
            .filter(delivery::Column::TenantId.eq(tenant_id.0))
            .filter(delivery::Column::State.eq(DeliveryState::Queued.as_str()))
            .limit(1)
            .into_tuple::<Uuid>()
            .one(db)
            .await?;
        if any.is_some() {
            queued.push(tenant_id);
        }
    }
    Ok(queued)
}
