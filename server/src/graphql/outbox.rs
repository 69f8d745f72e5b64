//! The outbox (deliveries and why they were sent) and the mail templates.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::{
    DeliveryId, MemberId, Permission,
    listings::schema,
    outbox::{self, DeliveryKind, DeliveryState, capture, context, templates},
};
use mail::{TemplateKind, TemplateSource};

use super::{
    context::ContextExt,
    error::{ApiResult, ResultExt},
    members::parse_id,
    tenant::Locale,
};

/// The purpose of a delivery.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "DeliveryKind")]
pub enum DeliveryKindValue {
    /// A listing that matched the member's conditions.
    Listing,
    /// A change to a listing mailed before ("notify on change").
    ListingUpdate,
    /// A daily or weekly digest of matches.
    Digest,
    /// A step of a step-mail sequence.
    Step,
    /// A message about the member's account: confirm the address, reset the password.
    Account,
    /// A copy of a broadcast to every subscribed member.
    Broadcast,
}

impl From<DeliveryKindValue> for DeliveryKind {
    fn from(value: DeliveryKindValue) -> Self {
        match value {
            DeliveryKindValue::Listing => DeliveryKind::Listing,
            DeliveryKindValue::ListingUpdate => DeliveryKind::ListingUpdate,
            DeliveryKindValue::Digest => DeliveryKind::Digest,
            DeliveryKindValue::Step => DeliveryKind::Step,
            DeliveryKindValue::Account => DeliveryKind::Account,
            DeliveryKindValue::Broadcast => DeliveryKind::Broadcast,
        }
    }
}

impl From<DeliveryKind> for DeliveryKindValue {
    fn from(value: DeliveryKind) -> Self {
        match value {
            DeliveryKind::Listing => DeliveryKindValue::Listing,
            DeliveryKind::ListingUpdate => DeliveryKindValue::ListingUpdate,
            DeliveryKind::Digest => DeliveryKindValue::Digest,
            DeliveryKind::Step => DeliveryKindValue::Step,
            DeliveryKind::Account => DeliveryKindValue::Account,
            DeliveryKind::Broadcast => DeliveryKindValue::Broadcast,
        }
    }
}

/// The processing state of a delivery.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "DeliveryState")]
pub enum DeliveryStateValue {
    /// A digest gathering the member's matches until the member's digest time.
    Collecting,
    /// Decided; waiting to be rendered.
    Queued,
    /// Rendered and kept in the outbox (test mode: nothing is sent).
    Captured,
    /// Could not be rendered, or sending failed for good; see `error` and `attempts`.
    Failed,
    /// Rendered; waiting for the tenant's sender (also between attempts).
    Ready,
    /// Being sent by a worker.
    Sending,
    /// Accepted by the sender's server or API.
    Sent,
    /// Rejected for good by the recipient's server; the address is now suppressed.
    Bounced,
    /// Not sent: the address is on the suppression list.
    Suppressed,
}

impl From<DeliveryState> for DeliveryStateValue {
    fn from(value: DeliveryState) -> Self {
        match value {
            DeliveryState::Collecting => DeliveryStateValue::Collecting,
            DeliveryState::Queued => DeliveryStateValue::Queued,
            DeliveryState::Captured => DeliveryStateValue::Captured,
            DeliveryState::Failed => DeliveryStateValue::Failed,
            DeliveryState::Ready => DeliveryStateValue::Ready,
            DeliveryState::Sending => DeliveryStateValue::Sending,
            DeliveryState::Sent => DeliveryStateValue::Sent,
            DeliveryState::Bounced => DeliveryStateValue::Bounced,
            DeliveryState::Suppressed => DeliveryStateValue::Suppressed,
        }
    }
}

impl From<DeliveryStateValue> for DeliveryState {
    fn from(value: DeliveryStateValue) -> Self {
        match value {
            DeliveryStateValue::Collecting => DeliveryState::Collecting,
            DeliveryStateValue::Queued => DeliveryState::Queued,
            DeliveryStateValue::Captured => DeliveryState::Captured,
            DeliveryStateValue::Failed => DeliveryState::Failed,
            DeliveryStateValue::Ready => DeliveryState::Ready,
            DeliveryStateValue::Sending => DeliveryState::Sending,
            DeliveryStateValue::Sent => DeliveryState::Sent,
            DeliveryStateValue::Bounced => DeliveryState::Bounced,
            DeliveryStateValue::Suppressed => DeliveryState::Suppressed,
        }
    }
}

/// One clause of the rule that matched, with the values compared.
#[derive(SimpleObject)]
pub struct MatchReason {
    /// The listing field's label in the caller's language.
    pub field: String,
    /// The listing's value as the mail shows it, such as `55,000～67,500`.
    pub listing_value: String,
    /// The condition it was compared with, such as `100,000以下`.
    pub condition: String,
    /// Whether this clause held (all clauses of a matching rule do).
    pub held: bool,
}

/// A listing in a delivery, with the reasons it matched.
#[derive(SimpleObject)]
pub struct DeliveryItem {
    /// Tayori's id of the listing.
    pub listing_id: ID,
    /// The listing's id in the tenant's own system.
    pub external_id: String,
    /// The listing's first text value (its name or title), else its external id.
    pub headline: String,
    /// Whether this was an update of a listing mailed before.
    pub update: bool,
    /// The name of the rule that matched.
    pub rule_name: String,
    /// The rule's clauses with the values compared.
    pub reasons: Vec<MatchReason>,
}

/// One mail to one recipient.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Delivery {
    /// Tayori's id.
    pub id: ID,
    /// The member the mail went to; null after the member was deleted.
    pub member_id: Option<ID>,
    /// The purpose of the mail or template.
    pub kind: DeliveryKindValue,
    /// The processing state.
    pub state: DeliveryStateValue,
    /// The recipient's address.
    pub to_address: String,
    /// The Message-ID header, without angle brackets.
    pub message_id: String,
    /// Empty until rendered.
    pub subject: String,
    /// The plain-text part; empty until rendered.
    pub text_body: String,
    /// The HTML part; empty until rendered.
    pub html_body: String,
    /// The header block as it would be sent.
    pub headers: String,
    /// The reason the delivery failed.
    pub error: Option<String>,
    /// The step-mail step it was sent for, kept after the step is removed; null for other kinds.
    pub step_id: Option<ID>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One hand-over of a delivery to a sender, with the reply.
#[derive(SimpleObject)]
pub struct DeliveryAttempt {
    /// When the attempt started.
    pub started_at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: i32,
    /// `sent`, `deferred` (retried later), `bounced`, `failed` or `paused` (the sender's
    /// settings are wrong).
    pub outcome: String,
    /// The fault's stable code, such as `authentication_failed`.
    pub fault_code: Option<String>,
    /// The server's or API's reply.
    pub response: String,
}

#[async_graphql::ComplexObject]
impl Delivery {
    /// Each attempt to send the mail, oldest first.
    async fn attempts(&self, ctx: &Context<'_>) -> ApiResult<Vec<DeliveryAttempt>> {
        let tenant_id = ctx.authorize(Permission::ReadDeliveries)?;
        let delivery_id = parse_id("id", &self.id).api(ctx)?;
        let rows = outbox::send::attempts(&ctx.state().db, tenant_id, delivery_id)
            .await
            .api(ctx)?;
        Ok(rows
            .into_iter()
            .map(|row| DeliveryAttempt {
                started_at: row.started_at,
                duration_ms: row.duration_ms,
                outcome: row.outcome,
                fault_code: row.fault_code,
                response: row.response,
            })
            .collect())
    }

    /// The listings in this mail, with the rule and values that matched each ("why did this
    /// member get this?").
    async fn items(&self, ctx: &Context<'_>) -> ApiResult<Vec<DeliveryItem>> {
        let tenant_id = ctx.authorize(Permission::ReadDeliveries)?;
        let locale = ctx.request().locale;
        let delivery_id = parse_id("id", &self.id).map(DeliveryId).api(ctx)?;
        let db = &ctx.state().db;
        let listing_schema = schema::get(db, tenant_id).await.api(ctx)?;
        let items = outbox::items(db, tenant_id, delivery_id).await.api(ctx)?;
        let listing_ids = items.iter().map(|item| item.listing_id).collect();
        let headlines = outbox::headlines(db, tenant_id, listing_ids)
            .await
            .api(ctx)?;
        Ok(items
            .into_iter()
            .map(|item| {
                let why = context::why(&listing_schema, &item.rule_name, &item.explanation, locale);
                let reasons = why["clauses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|clause| MatchReason {
                        field: clause["field"].as_str().unwrap_or_default().to_owned(),
                        listing_value: clause["listing_value"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        condition: clause["condition"].as_str().unwrap_or_default().to_owned(),
                        held: clause["held"].as_bool().unwrap_or(false),
                    })
                    .collect();
                DeliveryItem {
                    listing_id: ID(item.listing_id.to_string()),
                    headline: headlines
                        .get(&item.listing_id)
                        .cloned()
                        .unwrap_or_else(|| item.external_id.clone()),
                    external_id: item.external_id,
                    update: item.update,
                    rule_name: item.rule_name,
                    reasons,
                }
            })
            .collect())
    }
}

impl From<outbox::Delivery> for Delivery {
    fn from(delivery: outbox::Delivery) -> Self {
        Self {
            id: ID(delivery.id.to_string()),
            member_id: delivery.member_id.map(|id| ID(id.to_string())),
            kind: delivery.kind.into(),
            state: delivery.state.into(),
            to_address: delivery.to_address,
            message_id: delivery.message_id,
            subject: delivery.subject,
            text_body: delivery.text_body,
            html_body: delivery.html_body,
            headers: delivery.headers,
            error: delivery.error,
            step_id: delivery.step_id.map(|id| ID(id.to_string())),
            created_at: delivery.created_at,
            updated_at: delivery.updated_at,
        }
    }
}

/// One page of deliveries, newest first.
#[derive(SimpleObject)]
pub struct DeliveryConnection {
    /// The items of this page.
    pub nodes: Vec<Delivery>,
    /// Items across all pages.
    pub total_count: u64,
    /// Pass as `after` to get the next page.
    pub end_cursor: Option<String>,
    /// Whether another page follows.
    pub has_next_page: bool,
}

/// The purpose of a template.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum MailTemplateKind {
    /// One listing for one member, new or updated (see the `update` variable).
    Listing,
    /// A daily or weekly digest (`listings`, `count`).
    Digest,
}

impl From<MailTemplateKind> for TemplateKind {
    fn from(value: MailTemplateKind) -> Self {
        match value {
            MailTemplateKind::Listing => TemplateKind::Listing,
            MailTemplateKind::Digest => TemplateKind::Digest,
        }
    }
}

impl From<TemplateKind> for MailTemplateKind {
    fn from(value: TemplateKind) -> Self {
        match value {
            TemplateKind::Listing => MailTemplateKind::Listing,
            TemplateKind::Digest => MailTemplateKind::Digest,
        }
    }
}

/// A mail template in MiniJinja syntax. Values are HTML-escaped in `html` and inserted as they
/// are in `subject` and `text`; the subject is made one line of at most 200 characters.
/// Variables: `tenant.name`, `member.email`, `listing_word`, `update`, `listing.headline`,
/// `listing.external_id`, `listing.url`, `listing.fields` (each with `label` and `value`),
/// `listing.values.<field>`, `why` (each with `rule` and `clauses`); digests have `listings`
/// and `count` instead of `listing`.
#[derive(SimpleObject)]
pub struct MailTemplate {
    /// The purpose of the mail or template.
    pub kind: MailTemplateKind,
    /// The language.
    pub locale: Locale,
    /// The subject line.
    pub subject: String,
    /// The HTML body.
    pub html: String,
    /// The plain-text body.
    pub text: String,
    /// `false` while the built-in default is used.
    pub customized: bool,
}

impl From<templates::StoredTemplate> for MailTemplate {
    fn from(stored: templates::StoredTemplate) -> Self {
        Self {
            kind: stored.kind.into(),
            locale: stored.locale.into(),
            subject: stored.source.subject,
            html: stored.source.html,
            text: stored.source.text,
            customized: stored.customized,
        }
    }
}

/// A template rendered for a preview.
#[derive(SimpleObject)]
pub struct RenderedMail {
    /// The subject line.
    pub subject: String,
    /// The HTML body.
    pub html: String,
    /// The plain-text body.
    pub text: String,
}

#[derive(Default)]
pub struct OutboxQuery;

#[Object]
impl OutboxQuery {
    /// Deliveries, newest first, optionally of one member, in one state, of one kind, of one
    /// step-mail sequence or of one broadcast.
    #[graphql(complexity = "first.clamp(1, 200) as usize * child_complexity")]
    #[expect(
        clippy::too_many_arguments,
        reason = "each argument is a filter of the GraphQL field"
    )]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, desc = "Page size, 1 to 200.")] first: u64,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only the mail to this member.")] member_id: Option<ID>,
        #[graphql(desc = "Only deliveries in this state.")] state: Option<DeliveryStateValue>,
        #[graphql(desc = "Only the step mail of this sequence, removed steps included.")]
        sequence_id: Option<ID>,
        #[graphql(desc = "Only the copies of this broadcast.")] broadcast_id: Option<ID>,
        #[graphql(desc = "Only mail of this kind, such as ACCOUNT.")] kind: Option<
            DeliveryKindValue,
        >,
    ) -> ApiResult<DeliveryConnection> {
        let tenant_id = ctx.authorize(Permission::ReadDeliveries)?;
        let after = after
            .map(|cursor| parse_id("after", &cursor).map(DeliveryId))
            .transpose()
            .api(ctx)?;
        let member_id = member_id
            .map(|id| parse_id("memberId", &id).map(MemberId))
            .transpose()
            .api(ctx)?;
        let sequence_id = sequence_id
            .map(|id| parse_id("sequenceId", &id))
            .transpose()
            .api(ctx)?;
        let broadcast_id = broadcast_id
            .map(|id| parse_id("broadcastId", &id))
            .transpose()
            .api(ctx)?;
        let filter = outbox::DeliveryFilter {
            member_id,
            state: state.map(Into::into),
            sequence_id,
            broadcast_id,
            kind: kind.map(Into::into),
        };
        let page = outbox::list(&ctx.state().db, tenant_id, first, after, filter)
            .await
            .api(ctx)?;
        let end_cursor = page.nodes.last().map(|d| d.id.to_string());
        Ok(DeliveryConnection {
            nodes: page.nodes.into_iter().map(Delivery::from).collect(),
            total_count: page.total_count,
            end_cursor,
            has_next_page: page.has_next_page,
        })
    }

    /// Loads one delivery by id.
    async fn delivery(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Delivery> {
        let tenant_id = ctx.authorize(Permission::ReadDeliveries)?;
        let delivery_id = parse_id("id", &id).map(DeliveryId).api(ctx)?;
        Ok(outbox::get(&ctx.state().db, tenant_id, delivery_id)
            .await
            .api(ctx)?
            .into())
    }

    /// Every template kind in both languages: the tenant's version or the default.
    async fn mail_templates(&self, ctx: &Context<'_>) -> ApiResult<Vec<MailTemplate>> {
        let tenant_id = ctx.authorize(Permission::ReadSchema)?;
        let mut all = Vec::new();
        for kind in TemplateKind::ALL {
            for locale in [domain::Locale::Ja, domain::Locale::En] {
                let stored = templates::get(&ctx.state().db, tenant_id, kind, locale)
                    .await
                    .api(ctx)?;
                all.push(stored.into());
            }
        }
        Ok(all)
    }

    /// Renders a template (saved or not) with a real listing: the given one, or the newest.
    #[allow(clippy::too_many_arguments)]
    async fn preview_mail_template(
        &self,
        ctx: &Context<'_>,
        kind: MailTemplateKind,
        locale: Locale,
        subject: String,
        html: String,
        text: String,
        listing_id: Option<ID>,
    ) -> ApiResult<RenderedMail> {
        let tenant_id = ctx.authorize(Permission::ReadSchema)?;
        let listing_id = listing_id
            .map(|id| parse_id("listingId", &id))
            .transpose()
            .api(ctx)?;
        let source = TemplateSource {
            subject,
            html,
            text,
        };
        templates::validate(&source)
            .map_err(domain::Error::from)
            .api(ctx)?;
        let context = capture::preview_context(
            &ctx.state().db,
            tenant_id,
            kind.into(),
            locale.into(),
            listing_id,
        )
        .await
        .api(ctx)?;
        let rendered = mail::render(&source, &context)
            .map_err(|error| domain::Error::from(templates::template_error(error)))
            .api(ctx)?;
        Ok(RenderedMail {
            subject: rendered.subject,
            html: rendered.html,
            text: rendered.text,
        })
    }
}

#[derive(Default)]
pub struct OutboxMutation;

#[Object]
impl OutboxMutation {
    /// Saves the tenant's version of a template after checking that it compiles.
    async fn save_mail_template(
        &self,
        ctx: &Context<'_>,
        kind: MailTemplateKind,
        locale: Locale,
        subject: String,
        html: String,
        text: String,
    ) -> ApiResult<MailTemplate> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let source = TemplateSource {
            subject,
            html,
            text,
        };
        Ok(templates::save(
            &ctx.state().db,
            tenant_id,
            kind.into(),
            locale.into(),
            source,
        )
        .await
        .api(ctx)?
        .into())
    }

    /// Goes back to the built-in template.
    async fn reset_mail_template(
        &self,
        ctx: &Context<'_>,
        kind: MailTemplateKind,
        locale: Locale,
    ) -> ApiResult<MailTemplate> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        Ok(
            templates::reset(&ctx.state().db, tenant_id, kind.into(), locale.into())
                .await
                .api(ctx)?
                .into(),
        )
    }
}
