//! The outbox: deliveries (one mail to one recipient) from the moment matching decides a mail
//! must go out, through rendering with the tenant's template, to their final state.
//!
//! Real senders do not exist yet, so every mail is captured: rendered and stored for the
//! dashboard instead of sent (テストモード).

pub mod capture;
pub mod context;
pub mod digests;
pub mod templates;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    DeliveryId, Error, MemberId, TenantId,
    entities::{delivery, listing, listing_match, match_update},
    error::{Resource, Result},
};

/// The domain of the Message-IDs of captured mail.
// NOTE: real sending must use the tenant's own domain here.
pub const CAPTURED_MAIL_DOMAIN: &str = "captured.tayori.invalid";

/// Builds the Message-ID (without angle brackets) of a delivery.
pub fn new_message_id(delivery_id: Uuid) -> String {
    format!("{}@{CAPTURED_MAIL_DOMAIN}", delivery_id.simple())
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
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Listing => "listing",
            DeliveryKind::ListingUpdate => "listing_update",
            DeliveryKind::Digest => "digest",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Listing, Self::ListingUpdate, Self::Digest]
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

/// The processing state of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Decided, waiting to be rendered and sent.
    Queued,
    /// Rendered and kept in the outbox instead of being sent.
    Captured,
    /// Could not be rendered (a template error); `error` contains the reason.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Captured => "captured",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Queued, Self::Captured, Self::Failed]
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

/// Lists the tenant's deliveries, newest first, optionally of one member or in one state.
pub async fn list(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    first: u64,
    after: Option<DeliveryId>,
    member_id: Option<MemberId>,
    state: Option<DeliveryState>,
) -> Result<DeliveryPage> {
    let first = first.clamp(1, MAX_PAGE_SIZE);
    let mut query = delivery::Entity::find().filter(delivery::Column::TenantId.eq(tenant_id.0));
    if let Some(member_id) = member_id {
        query = query.filter(delivery::Column::MemberId.eq(member_id.0));
    }
    if let Some(state) = state {
        query = query.filter(delivery::Column::State.eq(state.as_str()));
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
    let external_ids: std::collections::HashMap<Uuid, String> = listing::Entity::find()
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
pub(crate) async fn items_of(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
    delivery_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<DeliveryItem>>> {
    let item = |m: &listing_match::Model, update: bool| DeliveryItem {
        listing_id: m.listing_id,
        external_id: String::new(),
        update,
        rule_name: m.rule_name.clone(),
        explanation: serde_json::from_str(&m.explanation).unwrap_or(Value::Null),
    };
    let mut entries: std::collections::HashMap<Uuid, Vec<DeliveryItem>> =
        std::collections::HashMap::new();
    let matches = listing_match::Entity::find()
        .filter(listing_match::Column::TenantId.eq(tenant_id.0))
        .filter(listing_match::Column::DeliveryId.is_in(delivery_ids.iter().copied()))
        .order_by_asc(listing_match::Column::Id)
        .all(db)
        .await?;
    for m in &matches {
        if let Some(delivery_id) = m.delivery_id {
            entries.entry(delivery_id).or_default().push(item(m, false));
        }
    }

    let updates = match_update::Entity::find()
        .filter(match_update::Column::TenantId.eq(tenant_id.0))
        .filter(match_update::Column::DeliveryId.is_in(delivery_ids.iter().copied()))
        .order_by_asc(match_update::Column::Id)
        .all(db)
        .await?;
    for update in updates {
        if let Some(delivery_id) = update.delivery_id {
            entries.entry(delivery_id).or_default().push(DeliveryItem {
                listing_id: update.listing_id,
                external_id: String::new(),
                update: true,
                rule_name: update.rule_name,
                explanation: serde_json::from_str(&update.explanation).unwrap_or(Value::Null),
            });
        }
    }
    Ok(entries)
}

/// Loads the headline of each listing (its first text value, else its external id), to name
/// the listings of a delivery.
pub async fn headlines(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
    listing_ids: Vec<Uuid>,
) -> Result<std::collections::HashMap<Uuid, String>> {
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
