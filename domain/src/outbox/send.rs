//! Sending rendered deliveries through the tenant's active sender.
//!
//! The database decides what is sent, never the queue. A delivery is claimed by moving it from
//! `ready` to `sending` in one conditional update, so two workers can never both send it. A
//! retried job then finds nothing left to claim. The outcome is written with the attempt, and a
//! claim whose outcome was never written (a worker died mid-send) is settled as failed, not
//! sent again: it is unknown whether that mail arrived.
//!
//! Per batch, the tenant's sending lease keeps one worker per tenant, rate limits leave room in
//! every window (counted from the sender's attempts), and the suppression list is checked.
//! A batch is small, so one tenant's large send takes turns with other tenants' jobs.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use mail::{
    Envelope, Rendered, TemplateLocale,
    dkim::Signer,
    transport::{FaultKind, Outgoing, SendFault},
};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Condition, Expr, ExprTrait},
};
use uuid::Uuid;

use super::DeliveryState;
use crate::{
    TenantId,
    entities::{delivery, delivery_attempt, sender, tenant},
    error::Result,
    leases,
    sending::{
        SendingConfig, dkim,
        senders::{self, Transport, domain_of},
        suppressions::{self, Reason},
        unsubscribe,
    },
    tenants,
};

pub const LEASE: &str = "sending";
const LEASE_TTL: Duration = Duration::seconds(120);
/// Deliveries per batch; the job queues itself again while more are ready.
const BATCH: u64 = 50;
/// Attempts before a delivery that keeps getting temporary failures fails for good.
pub const MAX_ATTEMPTS: i32 = 8;
/// Waits before the second, third, ... attempt. Each gets up to 20 % of random jitter.
const BACKOFF_SECONDS: [i64; 7] = [60, 300, 900, 3_600, 3 * 3_600, 6 * 3_600, 12 * 3_600];
/// A claim older than this without an outcome belongs to a worker that died mid-send.
const INTERRUPTED_AFTER: Duration = Duration::minutes(10);
/// Writes of a send's outcome are retried this often before the claim is left for settling.
const OUTCOME_WRITES: u32 = 3;

/// The counts of one run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub deferred: usize,
    pub bounced: usize,
    pub failed: usize,
    pub suppressed: usize,
    /// A configuration fault paused the sender during this run, or it was paused already.
    pub paused: bool,
    /// A rate limit left no room in this run.
    pub rate_limited: bool,
    /// More deliveries are ready now: run again.
    pub more: bool,
}

/// Sends one batch of the tenant's ready deliveries that are due at `now`. Returns at once when
/// another worker holds the tenant's sending lease, the tenant has no active sender, or the
/// sender is paused.
pub async fn send_ready(
    db: &DatabaseConnection,
    config: &SendingConfig,
    tenant_id: TenantId,
    now: DateTime<Utc>,
) -> Result<SendReport> {
    let holder = Uuid::now_v7();
    if !leases::acquire(db, tenant_id, LEASE, holder, LEASE_TTL, now).await? {
        return Ok(SendReport::default());
    }
    let outcome = send_batch(db, config, tenant_id, holder, now).await;
    leases::release(db, tenant_id, LEASE, holder).await?;
    outcome
}

async fn send_batch(
    db: &DatabaseConnection,
    config: &SendingConfig,
    tenant_id: TenantId,
    holder: Uuid,
    now: DateTime<Utc>,
) -> Result<SendReport> {
    let mut report = SendReport::default();
    let owner = tenants::get(db, tenant_id).await?;
    let Some(sender_id) = owner.sender_id else {
        return Ok(report);
    };
    let sender = senders::row(db, tenant_id, sender_id).await?;
    if sender.paused_code.is_some() {
        report.paused = true;
        return Ok(report);
    }
    let room = rate_room(db, &sender, now).await?;
    if room == 0 {
        report.rate_limited = true;
        return Ok(report);
    }
    let limit = Ord::min(room, BATCH);
    let batch = due(db, tenant_id, now, limit).await?;
    if batch.is_empty() {
        return Ok(report);
    }
    let transport = senders::transport(config, &sender, config.send_timeout)?;
    let signer = dkim::signer_for(db, config, tenant_id, &sender.from_address).await?;
    let addresses: Vec<String> = batch.iter().map(|row| row.to_address.clone()).collect();
    let suppressed = suppressions::suppressed_among(db, tenant_id, &addresses).await?;
    let context = SendContext {
        config,
        owner: &owner,
        sender: &sender,
        transport: &transport,
        signer: signer.as_ref(),
    };

    for row in &batch {
        if !leases::renew(db, tenant_id, LEASE, holder, LEASE_TTL, now).await? {
            tracing::warn!(tenant.id = %tenant_id, "sending lease lost; stopping this run");
            return Ok(report);
        }
        if suppressed.contains(&row.to_address.to_lowercase()) {
            finish_without_sending(db, tenant_id, row.id, DeliveryState::Suppressed, now).await?;
            report.suppressed += 1;
            continue;
        }
        let Some(message_id) = claim(db, tenant_id, row.id, &sender, now).await? else {
            continue;
        };
        match send_one(db, &context, row, &message_id, now).await? {
            Sent::Accepted => report.sent += 1,
            Sent::Deferred => report.deferred += 1,
            Sent::Bounced => report.bounced += 1,
            Sent::Failed => report.failed += 1,
            Sent::Paused => {
                report.paused = true;
                return Ok(report);
            }
        }
    }
    report.more = batch.len() as u64 == limit && room > limit;
    Ok(report)
}

/// The values a batch shares: the tenant, its sender and its transport.
struct SendContext<'a> {
    config: &'a SendingConfig,
    owner: &'a tenant::Model,
    sender: &'a sender::Model,
    transport: &'a Transport,
    signer: Option<&'a Signer>,
}

enum Sent {
    Accepted,
    Deferred,
    Bounced,
    Failed,
    Paused,
}

async fn send_one(
    db: &DatabaseConnection,
    context: &SendContext<'_>,
    row: &delivery::Model,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<Sent> {
    let tenant_id = TenantId(row.tenant_id);
    let built = build(context, row, message_id, now);
    let (raw, headers) = match built {
        Ok(built) => built,
        Err(reason) => {
            let outcome = Outcome::failed(reason);
            record(db, tenant_id, row, context.sender.id, now, 0, &outcome).await?;
            return Ok(Sent::Failed);
        }
    };
    let started = Instant::now();
    let result = context
        .transport
        .send(Outgoing {
            envelope_from: &context.sender.from_address,
            to: &row.to_address,
            raw: &raw,
        })
        .await;
    let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let (outcome, sent) = match result {
        Ok(accepted) => (
            Outcome {
                state: DeliveryState::Sent,
                attempt: "sent",
                fault_code: None,
                response: accepted.response,
                error: None,
                headers: Some(headers),
                next_attempt_at: None,
                counts: true,
                fault: None,
            },
            Sent::Accepted,
        ),
        Err(fault) => classify(&fault, row.attempts, now),
    };
    tracing::info!(
        tenant.id = %tenant_id,
        delivery.id = %row.id,
        sender.id = %context.sender.id,
        outcome = outcome.attempt,
        fault = ?outcome.fault_code,
        duration_ms,
        "delivery attempt finished"
    );
    if let Sent::Bounced = sent {
        suppressions::add(
            db,
            tenant_id,
            &row.to_address,
            Reason::HardBounce,
            &outcome.response,
        )
        .await?;
    }
    record(
        db,
        tenant_id,
        row,
        context.sender.id,
        now,
        duration_ms,
        &outcome,
    )
    .await?;
    if let (Sent::Paused, Some(fault)) = (&sent, &outcome.fault) {
        senders::pause(db, tenant_id, context.sender.id, fault).await?;
    }
    Ok(sent)
}

/// The result of one attempt, as it is stored.
struct Outcome {
    state: DeliveryState,
    /// `sent`, `deferred`, `bounced`, `failed` or `paused`.
    attempt: &'static str,
    fault_code: Option<&'static str>,
    response: String,
    /// The explanation kept on the delivery, in both languages.
    error: Option<String>,
    /// The header block as sent, for the outbox's raw view.
    headers: Option<String>,
    next_attempt_at: Option<DateTime<Utc>>,
    /// Whether the attempt counts towards `deliveries.attempts`.
    counts: bool,
    /// The fault that pauses the sender.
    fault: Option<SendFault>,
}

impl Outcome {
    fn failed(reason: String) -> Self {
        Self {
            state: DeliveryState::Failed,
            attempt: "failed",
            fault_code: None,
            response: String::new(),
            error: Some(reason),
            headers: None,
            next_attempt_at: None,
            counts: true,
            fault: None,
        }
    }
}

fn both_languages(fault: &SendFault) -> String {
    format!(
        "{} / {}",
        fault.message(TemplateLocale::Ja),
        fault.message(TemplateLocale::En)
    )
}

/// Decides what a failed attempt means for the delivery.
fn classify(fault: &SendFault, attempts_before: i32, now: DateTime<Utc>) -> (Outcome, Sent) {
    let response = fault.response.clone().unwrap_or_default();
    let base = Outcome {
        state: DeliveryState::Failed,
        attempt: "failed",
        fault_code: Some(fault.cause.code()),
        response,
        error: Some(both_languages(fault)),
        headers: None,
        next_attempt_at: None,
        counts: true,
        fault: None,
    };
    match fault.kind {
        FaultKind::Transient if attempts_before + 1 < MAX_ATTEMPTS => (
            Outcome {
                state: DeliveryState::Ready,
                attempt: "deferred",
                next_attempt_at: Some(now + backoff(attempts_before + 1)),
                ..base
            },
            Sent::Deferred,
        ),
        FaultKind::Transient | FaultKind::Permanent => (base, Sent::Failed),
        FaultKind::Rejected => (
            Outcome {
                state: DeliveryState::Bounced,
                attempt: "bounced",
                ..base
            },
            Sent::Bounced,
        ),
        // The delivery did nothing wrong: it waits, unclaimed, until the sender is fixed.
        FaultKind::Configuration => (
            Outcome {
                state: DeliveryState::Ready,
                attempt: "paused",
                error: None,
                counts: false,
                fault: Some(fault.clone()),
                ..base
            },
            Sent::Paused,
        ),
    }
}

/// Returns the wait before attempt `attempt + 1`, with jitter.
fn backoff(attempt: i32) -> Duration {
    let index = usize::try_from(attempt - 1)
        .unwrap_or(0)
        .min(BACKOFF_SECONDS.len() - 1);
    let base = BACKOFF_SECONDS[index];
    let jitter = rand::rng().random_range(0..=base / 5);
    Duration::seconds(base + jitter)
}

/// Builds the signed message and its header block.
fn build(
    context: &SendContext<'_>,
    row: &delivery::Model,
    message_id: &str,
    now: DateTime<Utc>,
) -> std::result::Result<(Vec<u8>, String), String> {
    let unsubscribe = unsubscribe::url(&context.config.secrets, &context.config.public_url, row.id);
    let from_name = if context.sender.from_name.is_empty() {
        &context.owner.name
    } else {
        &context.sender.from_name
    };
    let envelope = Envelope {
        from_name,
        from_address: &context.sender.from_address,
        to_address: &row.to_address,
        message_id,
        date: now,
        extra_headers: vec![
            ("List-Unsubscribe", format!("<{unsubscribe}>")),
            (
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".to_owned(),
            ),
            (
                "Feedback-ID",
                format!("{}:{}:tayori", row.kind, context.owner.slug),
            ),
        ],
    };
    let rendered = Rendered {
        subject: row.subject.clone(),
        text: row.text_body.clone(),
        html: row.html_body.clone(),
    };
    let composed = mail::compose(&envelope, &rendered).map_err(|error| {
        format!("メールを組み立てられませんでした / The message could not be built: {error}")
    })?;
    let raw = match context.signer {
        Some(signer) => signer
            .sign(&composed.raw)
            .map_err(|error| format!("DKIM署名に失敗しました / DKIM signing failed: {error}"))?,
        None => composed.raw,
    };
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(raw.len(), |position| position + 2);
    let headers = String::from_utf8_lossy(&raw[..end]).into_owned();
    Ok((raw, headers))
}

/// Claims a ready delivery for sending and gives it its Message-ID on the sender's domain.
/// Returns `None` when another worker claimed it first.
async fn claim(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    delivery_id: Uuid,
    sender: &sender::Model,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let message_id = format!(
        "{}@{}",
        delivery_id.simple(),
        domain_of(&sender.from_address)
    );
    let claimed = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::State,
            Expr::value(DeliveryState::Sending.as_str()),
        )
        .col_expr(delivery::Column::SenderId, Expr::value(Some(sender.id)))
        .col_expr(delivery::Column::MessageId, Expr::value(message_id.clone()))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::Id.eq(delivery_id))
        .filter(delivery::Column::State.eq(DeliveryState::Ready.as_str()))
        .exec(db)
        .await?;
    Ok((claimed.rows_affected == 1).then_some(message_id))
}

/// Writes the attempt and the delivery's new state together. The write is retried, because
/// after a successful send a lost outcome would leave the claim to be settled as unknown.
async fn record(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    row: &delivery::Model,
    sender_id: Uuid,
    started_at: DateTime<Utc>,
    duration_ms: i32,
    outcome: &Outcome,
) -> Result<()> {
    let mut tries = 0;
    loop {
        tries += 1;
        match write_outcome(
            db,
            tenant_id,
            row,
            sender_id,
            started_at,
            duration_ms,
            outcome,
        )
        .await
        {
            Ok(()) => return Ok(()),
            Err(error) if tries < OUTCOME_WRITES => {
                tracing::warn!(tenant.id = %tenant_id, delivery.id = %row.id, error = ?error, "writing a send outcome failed; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(tries))).await;
            }
            Err(error) => return Err(error),
        }
    }
}

async fn write_outcome(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    row: &delivery::Model,
    sender_id: Uuid,
    started_at: DateTime<Utc>,
    duration_ms: i32,
    outcome: &Outcome,
) -> Result<()> {
    let tx = crate::db::begin_write(db).await?;
    delivery_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id.0),
        delivery_id: Set(row.id),
        sender_id: Set(sender_id),
        started_at: Set(started_at),
        duration_ms: Set(duration_ms),
        outcome: Set(outcome.attempt.to_owned()),
        fault_code: Set(outcome.fault_code.map(str::to_owned)),
        response: Set(outcome.response.clone()),
    }
    .insert(&tx)
    .await?;
    let mut update = delivery::Entity::update_many()
        .col_expr(delivery::Column::State, Expr::value(outcome.state.as_str()))
        .col_expr(
            delivery::Column::NextAttemptAt,
            Expr::value(outcome.next_attempt_at),
        )
        .col_expr(delivery::Column::Error, Expr::value(outcome.error.clone()))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::Id.eq(row.id))
        .filter(delivery::Column::State.eq(DeliveryState::Sending.as_str()));
    if outcome.counts {
        update = update.col_expr(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).add(1),
        );
    }
    if let Some(headers) = &outcome.headers {
        update = update
            .col_expr(delivery::Column::Headers, Expr::value(headers.clone()))
            .col_expr(delivery::Column::SentAt, Expr::value(Some(started_at)));
    }
    update.exec(&tx).await?;
    tx.commit().await?;
    Ok(())
}

async fn finish_without_sending(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    delivery_id: Uuid,
    state: DeliveryState,
    now: DateTime<Utc>,
) -> Result<()> {
    delivery::Entity::update_many()
        .col_expr(delivery::Column::State, Expr::value(state.as_str()))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::Id.eq(delivery_id))
        .filter(delivery::Column::State.eq(DeliveryState::Ready.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

fn due_condition(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(delivery::Column::NextAttemptAt.is_null())
        .add(delivery::Column::NextAttemptAt.lte(now))
}

async fn due(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<delivery::Model>> {
    Ok(delivery::Entity::find()
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::State.eq(DeliveryState::Ready.as_str()))
        .filter(due_condition(now))
        .order_by_asc(delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Counts how many more mails the sender may send now without passing any of its limits.
async fn rate_room(
    db: &impl ConnectionTrait,
    sender: &sender::Model,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut room = u64::MAX;
    for (limit, window) in [
        (sender.per_minute, Duration::minutes(1)),
        (sender.per_hour, Duration::hours(1)),
        (sender.per_day, Duration::days(1)),
    ] {
        let Some(limit) = limit else { continue };
        let used = delivery_attempt::Entity::find()
            .filter(delivery_attempt::Column::TenantId.eq(sender.tenant_id))
            .filter(delivery_attempt::Column::SenderId.eq(sender.id))
            .filter(delivery_attempt::Column::StartedAt.gt(now - window))
            .filter(delivery_attempt::Column::Outcome.ne("paused"))
            .count(db)
            .await?;
        let left = u64::try_from(limit).unwrap_or(0).saturating_sub(used);
        room = Ord::min(room, left);
    }
    Ok(room)
}

/// Lists tenants with an active sender and ready deliveries due at `now`, for the reconciler.
pub async fn tenants_with_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Vec<TenantId>> {
    let tenant_ids: Vec<uuid::Uuid> = tenant::Entity::find()
        .select_only()
        .column(tenant::Column::Id)
        .filter(tenant::Column::SenderId.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    let mut due_tenants = Vec::new();
    for tenant_id in tenant_ids {
        let any = delivery::Entity::find()
            .select_only()
            .column(delivery::Column::Id)
            .filter(delivery::Column::TenantId.eq(tenant_id))
            .filter(delivery::Column::State.eq(DeliveryState::Ready.as_str()))
            .filter(due_condition(now))
            .limit(1)
            .into_tuple::<Uuid>()
            .one(db)
            .await?;
        if any.is_some() {
            due_tenants.push(TenantId(tenant_id));
        }
    }
    Ok(due_tenants)
}

/// Fails claims whose outcome was never written (the worker died while sending). They are
/// not sent again, because the mail may have arrived. Returns how many were settled.
pub async fn settle_interrupted(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64> {
    let settled = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::State,
            Expr::value(DeliveryState::Failed.as_str()),
        )
        .col_expr(
            delivery::Column::Error,
            Expr::value(Some(
                "送信中に処理が中断されました。届いたかどうか分からないため、再送していません。 / \
                 Sending was interrupted. Whether the mail arrived is unknown, so it was not sent again."
                    .to_owned(),
            )),
        )
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::State.eq(DeliveryState::Sending.as_str()))
        .filter(delivery::Column::UpdatedAt.lt(now - INTERRUPTED_AFTER))
        .exec(db)
        .await?;
    if settled.rows_affected > 0 {
        tracing::warn!(
            deliveries = settled.rows_affected,
            "interrupted sends settled as failed"
        );
    }
    Ok(settled.rows_affected)
}

/// Loads the attempts of a delivery, oldest first.
pub async fn attempts(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    delivery_id: Uuid,
) -> Result<Vec<delivery_attempt::Model>> {
    Ok(delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::TenantId.eq(tenant_id.0))
        .filter(delivery_attempt::Column::DeliveryId.eq(delivery_id))
        .order_by_asc(delivery_attempt::Column::Id)
        .all(db)
        .await?)
}
