//! Rendering queued deliveries with the tenant's templates. Without an active sender the mail
//! is kept in the outbox (captured mode) instead of being sent; with one it becomes ready for
//! [`super::send`].

use std::collections::HashMap;

use chrono::{Duration, Utc};
use mail::{Envelope, Template, TemplateKind};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use serde_json::Value;
use uuid::Uuid;

use super::{DeliveryItem, DeliveryKind, DeliveryState, context, items_of, templates};
use crate::{
    Locale, TenantId,
    entities::{broadcast, delivery, listing, sequence_step},
    error::Result,
    leases,
    listings::schema,
    sending::{SendingConfig, unsubscribe},
    tenants,
};

const LEASE: &str = "outbox";
const LEASE_TTL: Duration = Duration::seconds(120);
const BATCH: u64 = 200;
/// Ids per `IN (...)` list; keeps bind parameters under SQLite's and PostgreSQL's limits.
const IN_LIST_CHUNK: usize = 1_000;

/// Renders every queued delivery of the tenant; returns how many it rendered. Returns 0 at
/// once when another worker holds the tenant's outbox lease. `sending` gives each mail its
/// unsubscribe link.
pub async fn capture_queued(
    db: &DatabaseConnection,
    sending: &SendingConfig,
    tenant_id: TenantId,
) -> Result<usize> {
    let holder = Uuid::now_v7();
    let mut captured = 0;
    loop {
        if !leases::acquire(db, tenant_id, LEASE, holder, LEASE_TTL, Utc::now()).await? {
            return Ok(captured);
        }
        let outcome = capture_batches(db, sending, tenant_id, holder, &mut captured).await;
        leases::release(db, tenant_id, LEASE, holder).await?;
        outcome?;
        if next_queued(db, tenant_id, 1).await?.is_empty() {
            return Ok(captured);
        }
    }
}

async fn next_queued(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    limit: u64,
) -> Result<Vec<delivery::Model>> {
    Ok(delivery::Entity::find()
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::State.eq(DeliveryState::Queued.as_str()))
        .order_by_asc(delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

async fn capture_batches(
    db: &DatabaseConnection,
    sending: &SendingConfig,
    tenant_id: TenantId,
    holder: Uuid,
    captured: &mut usize,
) -> Result<()> {
    let tenant = tenants::get(db, tenant_id).await?;
    // With an active sender, rendered mail waits for it; without one, it is captured.
    let rendered_state = if tenant.sender_id.is_some() {
        DeliveryState::Ready
    } else {
        DeliveryState::Captured
    };
    let listing_schema = schema::get(db, tenant_id).await?;
    let mut compiled: HashMap<(TemplateKind, Locale), Result<Template, mail::TemplateError>> =
        HashMap::new();
    let mut written: HashMap<Uuid, Option<Result<Template, mail::TemplateError>>> = HashMap::new();
    loop {
        let batch = next_queued(db, tenant_id, BATCH).await?;
        if batch.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = batch.iter().map(|row| row.id).collect();
        let mut entries = items_of(db, tenant_id, &ids).await?;
        let listing_ids: Vec<Uuid> = entries
            .values()
            .flatten()
            .map(|item| item.listing_id)
            .collect();
        let listings = load_listings(db, tenant_id, &listing_ids).await?;
        // One transaction per batch, so SQLite syncs its log once per batch, not once per mail.
        let tx = crate::db::begin_write(db).await?;
        for row in batch {
            let locale = Locale::from_tag(&row.locale);
            let kind = DeliveryKind::parse(&row.kind).unwrap_or(DeliveryKind::Listing);
            let unsubscribe = unsubscribe::url(&sending.secrets, &sending.public_url, row.id);
            let outcome = if kind == DeliveryKind::Account {
                let written = mail::Rendered {
                    subject: row.subject.clone(),
                    html: row.html_body.clone(),
                    text: row.text_body.clone(),
                };
                compose(&tenant, &row, written)
            } else if matches!(kind, DeliveryKind::Step | DeliveryKind::Broadcast) {
                let template = written_template(db, tenant_id, &row, &mut written).await?;
                let mut context = context::base(&tenant, &row.to_address, locale);
                context["unsubscribe_url"] = Value::from(unsubscribe);
                render(template, Some(context), &tenant, &row)
            } else {
                let template_kind = match kind {
                    DeliveryKind::Digest => TemplateKind::Digest,
                    _ => TemplateKind::Listing,
                };
                if let std::collections::hash_map::Entry::Vacant(entry) =
                    compiled.entry((template_kind, locale))
                {
                    let stored = templates::get(db, tenant_id, template_kind, locale).await?;
                    entry.insert(Template::compile(&stored.source));
                }
                let template = compiled[&(template_kind, locale)].as_ref();
                let items = entries.remove(&row.id).unwrap_or_default();
                let mut context = render_context(
                    &tenant,
                    &listing_schema,
                    &listings,
                    &items,
                    &row,
                    kind,
                    locale,
                );
                if let Some(context) = &mut context {
                    context["unsubscribe_url"] = Value::from(unsubscribe);
                }
                render(Some(template), context, &tenant, &row)
            };
            store(&tx, tenant_id, row.id, rendered_state, outcome).await?;
            *captured += 1;
        }
        tx.commit().await?;
        if !leases::acquire(db, tenant_id, LEASE, holder, LEASE_TTL, Utc::now()).await? {
            tracing::warn!(tenant.id = %tenant_id, "outbox lease lost; stopping this run");
            return Ok(());
        }
    }
}

/// Renders a delivery, or returns the reason it cannot be rendered. `context` is `None` when
/// the mail's listings no longer exist; `template` is `None` when its step or broadcast was
/// removed.
fn render(
    template: Option<Result<&Template, &mail::TemplateError>>,
    context: Option<Value>,
    tenant: &crate::entities::tenant::Model,
    row: &delivery::Model,
) -> Result<Stored, String> {
    match (template, context) {
        (Some(Ok(template)), Some(context)) => template
            .render(&context)
            .map_err(|error| template_failure(&error))
            .and_then(|rendered| compose(tenant, row, rendered)),
        (Some(Err(error)), _) => Err(template_failure(error)),
        (None, _) => Err(
            "このメールのステップまたはお知らせは削除されています。 / The step or broadcast of this mail no longer exists."
                .to_owned(),
        ),
        (_, None) => Err(
            "この配信の掲載情報は削除されています。 / The listings of this mail no longer exist."
                .to_owned(),
        ),
    }
}

/// Compiles the template written for a step mail's step or for a broadcast, once per batch;
/// `None` when the step or broadcast is gone.
async fn written_template<'a>(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    row: &delivery::Model,
    cache: &'a mut HashMap<Uuid, Option<Result<Template, mail::TemplateError>>>,
) -> Result<Option<Result<&'a Template, &'a mail::TemplateError>>> {
    let Some(source_id) = row.step_id.or(row.broadcast_id) else {
        return Ok(None);
    };
    if let std::collections::hash_map::Entry::Vacant(entry) = cache.entry(source_id) {
        let source = if row.step_id.is_some() {
            sequence_step::Entity::find()
                .filter(sequence_step::Column::TenantId.eq(tenant_id.0))
                .filter(sequence_step::Column::Id.eq(source_id))
                .one(db)
                .await?
                .map(|step| mail::TemplateSource {
                    subject: step.subject,
                    html: step.html_body,
                    text: step.text_body,
                })
        } else {
            broadcast::Entity::find()
                .filter(broadcast::Column::TenantId.eq(tenant_id.0))
                .filter(broadcast::Column::Id.eq(source_id))
                .one(db)
                .await?
                .map(|broadcast| mail::TemplateSource {
                    subject: broadcast.subject,
                    html: broadcast.html_body,
                    text: broadcast.text_body,
                })
        };
        entry.insert(source.map(|source| Template::compile(&source)));
    }
    Ok(cache[&source_id].as_ref().map(Result::as_ref))
}

/// The stored reason of a template failure, in both languages because the dashboard shows it
/// to operators of either. MiniJinja's own detail stays in English.
fn template_failure(error: &mail::TemplateError) -> String {
    format!("テンプレートの誤り / Template error: {error}")
}

struct Stored {
    subject: String,
    text: String,
    html: String,
    headers: String,
}

fn compose(
    tenant: &crate::entities::tenant::Model,
    row: &delivery::Model,
    rendered: mail::Rendered,
) -> Result<Stored, String> {
    let from_address = format!("no-reply@{}", super::CAPTURED_MAIL_DOMAIN);
    let envelope = Envelope {
        from_name: &tenant.name,
        from_address: &from_address,
        to_address: &row.to_address,
        message_id: &row.message_id,
        date: Utc::now(),
        extra_headers: vec![("X-Tayori-Delivery", row.id.to_string())],
    };
    let composed = mail::compose(&envelope, &rendered).map_err(|error| error.to_string())?;
    Ok(Stored {
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        headers: composed.headers,
    })
}

async fn store(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    delivery_id: Uuid,
    rendered_state: DeliveryState,
    outcome: Result<Stored, String>,
) -> Result<()> {
    let now = Utc::now();
    let update = delivery::Entity::update_many()
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::Id.eq(delivery_id))
        .filter(delivery::Column::State.eq(DeliveryState::Queued.as_str()))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now));
    match outcome {
        Ok(stored) => {
            update
                .col_expr(
                    delivery::Column::State,
                    Expr::value(rendered_state.as_str()),
                )
                .col_expr(delivery::Column::Subject, Expr::value(stored.subject))
                .col_expr(delivery::Column::TextBody, Expr::value(stored.text))
                .col_expr(delivery::Column::HtmlBody, Expr::value(stored.html))
                .col_expr(delivery::Column::Headers, Expr::value(stored.headers))
                .exec(db)
                .await?;
        }
        Err(error) => {
            tracing::warn!(tenant.id = %tenant_id, delivery.id = %delivery_id, error = %error, "delivery could not be rendered");
            update
                .col_expr(
                    delivery::Column::State,
                    Expr::value(DeliveryState::Failed.as_str()),
                )
                .col_expr(delivery::Column::Error, Expr::value(Some(error)))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

/// Loads the tenant's listings with these ids, keyed by id.
async fn load_listings(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, listing::Model>> {
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let mut listings = HashMap::with_capacity(unique.len());
    for chunk in unique.chunks(IN_LIST_CHUNK) {
        let rows = listing::Entity::find()
            .filter(listing::Column::TenantId.eq(tenant_id.0))
            .filter(listing::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        listings.extend(rows.into_iter().map(|l| (l.id, l)));
    }
    Ok(listings)
}

/// Builds the template context of a delivery, or `None` when none of its listings exist any more.
fn render_context(
    tenant: &crate::entities::tenant::Model,
    listing_schema: &[crate::listings::ListingField],
    listings: &HashMap<Uuid, listing::Model>,
    entries: &[DeliveryItem],
    row: &delivery::Model,
    kind: DeliveryKind,
    locale: Locale,
) -> Option<Value> {
    let mut shown = Vec::new();
    let mut reasons = Vec::new();
    for item in entries {
        let Some(stored) = listings.get(&item.listing_id) else {
            continue;
        };
        let values: Value = serde_json::from_str(&stored.fields).unwrap_or(Value::Null);
        let mut entry = context::listing(
            listing_schema,
            &values,
            &stored.external_id,
            locale,
            item.update,
        );
        let why = context::why(listing_schema, &item.rule_name, &item.explanation, locale);
        entry["why"] = Value::Array(vec![why.clone()]);
        shown.push(entry);
        reasons.push(why);
    }
    if shown.is_empty() {
        return None;
    }
    let mut context = context::base(tenant, &row.to_address, locale);
    match kind {
        DeliveryKind::Digest => {
            context["count"] = Value::from(shown.len());
            context["listings"] = Value::Array(shown);
        }
        DeliveryKind::Listing
        | DeliveryKind::ListingUpdate
        | DeliveryKind::Step
        | DeliveryKind::Account
        | DeliveryKind::Broadcast => {
            context["update"] = Value::Bool(kind == DeliveryKind::ListingUpdate);
            context["listing"] = shown.swap_remove(0);
            context["why"] = Value::Array(reasons.into_iter().take(1).collect());
        }
    }
    Some(context)
}

/// Builds the context a template preview uses: a real listing of the tenant, shown to a sample
/// member, with the first rule as the reason.
pub async fn preview_context(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    kind: TemplateKind,
    locale: Locale,
    listing_id: Option<Uuid>,
) -> Result<Value> {
    let tenant = tenants::get(db, tenant_id).await?;
    let listing_schema = schema::get(db, tenant_id).await?;
    let mut query = listing::Entity::find().filter(listing::Column::TenantId.eq(tenant_id.0));
    if let Some(listing_id) = listing_id {
        query = query.filter(listing::Column::Id.eq(listing_id));
    }
    let stored = query.order_by_desc(listing::Column::Id).one(db).await?;
    let (values, external_id) = match &stored {
        Some(stored) => (
            serde_json::from_str(&stored.fields).unwrap_or(Value::Null),
            stored.external_id.clone(),
        ),
        None if listing_id.is_some() => {
            return Err(crate::Error::NotFound(crate::error::Resource::Listing));
        }
        None => (Value::Null, "SAMPLE-1".to_owned()),
    };
    let entry = context::listing(&listing_schema, &values, &external_id, locale, false);
    let mut context = context::base(&tenant, "member@example.jp", locale);
    let why =
        serde_json::json!({"rule": locale.pick("（プレビュー）", "(preview)"), "clauses": []});
    match kind {
        TemplateKind::Digest => {
            context["count"] = Value::from(1);
            context["listings"] = Value::Array(vec![entry]);
        }
        TemplateKind::Listing => {
            context["update"] = Value::Bool(false);
            context["listing"] = entry;
            context["why"] = Value::Array(vec![why]);
        }
    }
    Ok(context)
}
