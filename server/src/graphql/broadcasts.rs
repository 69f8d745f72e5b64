//! Broadcasts (お知らせ配信): one mail to every subscribed member at a set time. The time is an
//! RFC 3339 instant with an offset (`sendAt`) or a local date and time in the tenant's time
//! zone (`localSendAt`). A time that is neither is rejected and never read in the server's zone.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::{
    Permission,
    broadcasts::{self, BroadcastInput as DomainInput, BroadcastState},
    entities::broadcast,
    schedule, tenants,
};

use super::{
    context::ContextExt,
    error::{ApiResult, ResultExt},
    members::parse_id,
};

/// The stage of a broadcast's life.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum BroadcastStateValue {
    /// Waiting for its send time; can be cancelled.
    Scheduled,
    /// Its copies are being queued.
    Queuing,
    /// Every subscribed member's copy is in the outbox (see `deliveries`).
    Queued,
    /// Cancelled before its send time.
    Cancelled,
}

impl From<BroadcastState> for BroadcastStateValue {
    fn from(state: BroadcastState) -> Self {
        match state {
            BroadcastState::Scheduled => BroadcastStateValue::Scheduled,
            BroadcastState::Queuing => BroadcastStateValue::Queuing,
            BroadcastState::Queued => BroadcastStateValue::Queued,
            BroadcastState::Cancelled => BroadcastStateValue::Cancelled,
        }
    }
}

/// A mail to every subscribed member at a set time.
#[derive(SimpleObject)]
pub struct Broadcast {
    /// Tayori's id.
    pub id: ID,
    /// The subject template (MiniJinja, with `member`, `tenant` and `unsubscribe_url`).
    pub subject: String,
    /// The plain-text body template.
    pub text: String,
    /// The HTML body template; empty for text only.
    pub html: String,
    /// When it goes out, in UTC.
    pub send_at: DateTime<Utc>,
    /// The same instant in the tenant's time zone, with its offset, such as
    /// `2025-03-20T09:00:00+09:00`.
    pub local_send_at: String,
    /// The stage of its life.
    pub state: BroadcastStateValue,
    /// How many members it was queued for; null until then.
    pub recipient_count: Option<i32>,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
}

impl Broadcast {
    fn new(row: broadcast::Model, zone: chrono_tz::Tz) -> Self {
        Self {
            id: ID(row.id.to_string()),
            local_send_at: row.send_at.with_timezone(&zone).to_rfc3339(),
            subject: row.subject,
            text: row.text_body,
            html: row.html_body,
            send_at: row.send_at,
            state: BroadcastState::parse(&row.state).into(),
            recipient_count: row.recipient_count,
            created_at: row.created_at,
        }
    }
}

/// A broadcast to schedule. Give exactly one of `sendAt` and `localSendAt`.
#[derive(InputObject)]
pub struct BroadcastInput {
    /// The subject template.
    pub subject: String,
    /// The plain-text body template; it should contain `{{ unsubscribe_url }}`.
    pub text: String,
    /// The HTML body template; empty or left out for text only.
    #[graphql(default)]
    pub html: String,
    /// The instant to send, RFC 3339 with an offset: `2025-03-20T09:00:00+09:00`. A time
    /// without an offset is rejected.
    pub send_at: Option<DateTime<Utc>>,
    /// The local date and time to send in the tenant's time zone: `2025-03-20T09:00`. A time
    /// that daylight saving time skips is rejected; one that occurs twice means the first.
    pub local_send_at: Option<String>,
}

async fn zone_of(ctx: &Context<'_>, tenant_id: domain::TenantId) -> ApiResult<chrono_tz::Tz> {
    let tenant = tenants::get(&ctx.state().db, tenant_id).await.api(ctx)?;
    Ok(schedule::time_zone(&tenant.time_zone))
}

#[derive(Default)]
pub struct BroadcastQuery;

#[Object]
impl BroadcastQuery {
    /// Lists the tenant's broadcasts, latest send time first, at most 100.
    async fn broadcasts(&self, ctx: &Context<'_>) -> ApiResult<Vec<Broadcast>> {
        let tenant_id = ctx.authorize(Permission::ReadSchema)?;
        let zone = zone_of(ctx, tenant_id).await?;
        let rows = broadcasts::list(&ctx.state().db, tenant_id)
            .await
            .api(ctx)?;
        Ok(rows
            .into_iter()
            .map(|row| Broadcast::new(row, zone))
            .collect())
    }
}

#[derive(Default)]
pub struct BroadcastMutation;

#[Object]
impl BroadcastMutation {
    /// Schedules a mail to every subscribed member. The worker queues the copies within 30
    /// seconds of the send time; members who subscribe before then get it too.
    async fn schedule_broadcast(
        &self,
        ctx: &Context<'_>,
        input: BroadcastInput,
    ) -> ApiResult<Broadcast> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let zone = zone_of(ctx, tenant_id).await?;
        let input = DomainInput {
            subject: input.subject,
            text: input.text,
            html: input.html,
            send_at: input.send_at,
            local_send_at: input.local_send_at,
        };
        let row = broadcasts::schedule(&ctx.state().db, tenant_id, input, Utc::now())
            .await
            .api(ctx)?;
        Ok(Broadcast::new(row, zone))
    }

    /// Cancels a broadcast whose send time has not come.
    async fn cancel_broadcast(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Broadcast> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let broadcast_id = parse_id("id", &id).api(ctx)?;
        let zone = zone_of(ctx, tenant_id).await?;
        let row = broadcasts::cancel(&ctx.state().db, tenant_id, broadcast_id)
            .await
            .api(ctx)?;
        Ok(Broadcast::new(row, zone))
    }
}
