//! Broadcasts (お知らせ配信): one mail, written once, sent to every subscribed member at a set
//! time. The time is an instant with an offset or a local date and time in the tenant's time
//! zone. A time that is neither is never guessed.
//!
//! When a broadcast falls due, the reconciler calls [`queue_due`], which claims it (`queuing`),
//! inserts one queued delivery per subscribed member and marks it `queued`. A unique index on
//! (broadcast, member) lets a crashed or concurrent run start again without sending anyone a
//! second copy. The outbox renders and sends the copies like any other mail.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use uuid::Uuid;

use crate::{
    Error, Problem, TenantId, ValidationError,
    entities::{broadcast, delivery, member},
    error::{Resource, Result},
    members::MemberStatus,
    outbox::{DeliveryKind, queued_delivery},
    schedule, tenants,
};

/// How far in the past a send time may be, so that "now" typed into a form still counts.
const GRACE: Duration = Duration::minutes(5);
/// The maximum number of broadcasts [`list`] returns.
pub const LIST_LIMIT: u64 = 100;
/// Members read, and copies inserted, per statement.
const CHUNK: u64 = 500;

/// The stage of a broadcast's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastState {
    /// Waiting for its send time; can still be cancelled.
    Scheduled,
    /// Its copies are being queued.
    Queuing,
    /// Every subscribed member's copy is a delivery.
    Queued,
    Cancelled,
}

impl BroadcastState {
    pub fn as_str(self) -> &'static str {
        match self {
            BroadcastState::Scheduled => "scheduled",
            BroadcastState::Queuing => "queuing",
            BroadcastState::Queued => "queued",
            BroadcastState::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "queuing" => BroadcastState::Queuing,
            "queued" => BroadcastState::Queued,
            "cancelled" => BroadcastState::Cancelled,
            _ => BroadcastState::Scheduled,
        }
    }
}

/// A broadcast as an operator writes it. Exactly one of `send_at` and `local_send_at` is set.
pub struct BroadcastInput {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub send_at: Option<DateTime<Utc>>,
    /// `YYYY-MM-DDTHH:MM` (seconds allowed) in the tenant's time zone.
    pub local_send_at: Option<String>,
}

/// Works out the instant of a send time given as an instant or as a local time in `zone`.
pub fn resolve_send_at(
    send_at: Option<DateTime<Utc>>,
    local_send_at: Option<&str>,
    zone: Tz,
) -> Result<DateTime<Utc>> {
    match (send_at, local_send_at.map(str::trim)) {
        (Some(_), Some(local)) => Err(ValidationError::new(
            "localSendAt",
            Some(local),
            Problem::NotUsedWith { other: "sendAt" },
        )
        .into()),
        (Some(instant), None) => Ok(instant),
        (None, None) | (None, Some("")) => {
            let problem = Problem::OneOfRequired {
                other: "localSendAt",
            };
            Err(ValidationError::new("sendAt", None, problem).into())
        }
        (None, Some(local)) => {
            let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S"))
                .map_err(|_| {
                    ValidationError::new("localSendAt", Some(local), Problem::NotALocalDateTime)
                })?;
            // A time that occurs twice when the clocks go back is taken the first time.
            zone.from_local_datetime(&naive)
                .earliest()
                .map(|instant| instant.with_timezone(&Utc))
                .ok_or_else(|| {
                    let problem = Problem::SkippedLocalTime {
                        time_zone: zone.name().to_owned(),
                    };
                    ValidationError::new("localSendAt", Some(local), problem).into()
                })
        }
    }
}

/// Checks the broadcast and stores it as scheduled.
pub async fn schedule(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    input: BroadcastInput,
    now: DateTime<Utc>,
) -> Result<broadcast::Model> {
    let tenant = tenants::get(db, tenant_id).await?;
    let zone = schedule::time_zone(&tenant.time_zone);
    let send_at = resolve_send_at(input.send_at, input.local_send_at.as_deref(), zone)?;
    if send_at + GRACE < now {
        // Named as the caller gave it.
        let (field, value) = match input.local_send_at.as_deref() {
            Some(local) => ("localSendAt", local.trim().to_owned()),
            None => ("sendAt", send_at.with_timezone(&zone).to_rfc3339()),
        };
        return Err(ValidationError::new(field, Some(&value), Problem::InThePast).into());
    }
    if input.subject.trim().is_empty() {
        return Err(ValidationError::new("subject", None, Problem::Required).into());
    }
    if input.text.trim().is_empty() {
        return Err(ValidationError::new("text", None, Problem::Required).into());
    }
    let source = mail::TemplateSource {
        subject: input.subject.clone(),
        html: input.html.clone(),
        text: input.text.clone(),
    };
    crate::outbox::templates::check_written(&source, &tenant)?;

    let row = broadcast::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id.0),
        subject: Set(input.subject),
        text_body: Set(input.text),
        html_body: Set(input.html),
        send_at: Set(send_at),
        state: Set(BroadcastState::Scheduled.as_str().to_owned()),
        recipient_count: Set(None),
        queued_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    tracing::info!(tenant.id = %tenant_id, broadcast.id = %row.id, send_at = %send_at, "broadcast scheduled");
    Ok(row)
}

/// Lists the tenant's broadcasts, latest send time first, at most [`LIST_LIMIT`].
pub async fn list(db: &DatabaseConnection, tenant_id: TenantId) -> Result<Vec<broadcast::Model>> {
    Ok(broadcast::Entity::find()
        .filter(broadcast::Column::TenantId.eq(tenant_id.0))
        .order_by_desc(broadcast::Column::SendAt)
        .limit(LIST_LIMIT)
        .all(db)
        .await?)
}

/// Cancels a broadcast that has not started going out.
pub async fn cancel(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    broadcast_id: Uuid,
) -> Result<broadcast::Model> {
    let row = broadcast::Entity::find()
        .filter(broadcast::Column::TenantId.eq(tenant_id.0))
        .filter(broadcast::Column::Id.eq(broadcast_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::Broadcast))?;
    // Conditional, so that a broadcast the reconciler claimed meanwhile is not cancelled.
    let changed = broadcast::Entity::update_many()
        .col_expr(
            broadcast::Column::State,
            BroadcastState::Cancelled.as_str().into(),
        )
        .filter(broadcast::Column::TenantId.eq(tenant_id.0))
        .filter(broadcast::Column::Id.eq(broadcast_id))
        .filter(broadcast::Column::State.eq(BroadcastState::Scheduled.as_str()))
        .exec(db)
        .await?
        .rows_affected;
    if changed == 0 {
        let id = broadcast_id.to_string();
        return Err(ValidationError::new("id", Some(&id), Problem::BroadcastNotScheduled).into());
    }
    tracing::info!(tenant.id = %tenant_id, broadcast.id = %broadcast_id, "broadcast cancelled");
    Ok(broadcast::Model {
        state: BroadcastState::Cancelled.as_str().to_owned(),
        ..row
    })
}

fn due(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(broadcast::Column::SendAt.lte(now))
        .add(broadcast::Column::State.is_in([
            BroadcastState::Scheduled.as_str(),
            BroadcastState::Queuing.as_str(),
        ]))
}

/// Lists the tenants with a broadcast due by `now`, for the reconciler.
pub async fn tenants_with_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Vec<TenantId>> {
    let ids: Vec<Uuid> = broadcast::Entity::find()
        .select_only()
        .column(broadcast::Column::TenantId)
        .filter(due(now))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(TenantId).collect())
}

/// Queues a copy of each of the tenant's due broadcasts for every subscribed member. Returns
/// how many copies it queued.
pub async fn queue_due(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    now: DateTime<Utc>,
) -> Result<usize> {
    let due_rows = broadcast::Entity::find()
        .filter(broadcast::Column::TenantId.eq(tenant_id.0))
        .filter(due(now))
        .order_by_asc(broadcast::Column::SendAt)
        .all(db)
        .await?;
    let mut queued = 0;
    for row in due_rows {
        // Claiming first stops a cancel from racing the copies being queued. A broadcast left
        // `queuing` by an interrupted run is claimed already and is finished here.
        let claimed = broadcast::Entity::update_many()
            .col_expr(
                broadcast::Column::State,
                BroadcastState::Queuing.as_str().into(),
            )
            .filter(broadcast::Column::TenantId.eq(tenant_id.0))
            .filter(broadcast::Column::Id.eq(row.id))
            .filter(broadcast::Column::State.eq(BroadcastState::Scheduled.as_str()))
            .exec(db)
            .await?
            .rows_affected
            == 1;
        if !claimed && BroadcastState::parse(&row.state) != BroadcastState::Queuing {
            continue;
        }
        queued += queue_copies(db, tenant_id, &row, now).await?;
        let recipients = delivery::Entity::find()
            .filter(delivery::Column::TenantId.eq(tenant_id.0))
            .filter(delivery::Column::BroadcastId.eq(row.id))
            .count(db)
            .await?;
        broadcast::Entity::update_many()
            .col_expr(
                broadcast::Column::State,
                BroadcastState::Queued.as_str().into(),
            )
            .col_expr(
                broadcast::Column::RecipientCount,
                i32::try_from(recipients).unwrap_or(i32::MAX).into(),
            )
            .col_expr(broadcast::Column::QueuedAt, now.into())
            .filter(broadcast::Column::TenantId.eq(tenant_id.0))
            .filter(broadcast::Column::Id.eq(row.id))
            .exec(db)
            .await?;
        tracing::info!(tenant.id = %tenant_id, broadcast.id = %row.id, recipients, "broadcast queued");
    }
    Ok(queued)
}

/// Inserts the copies of one broadcast, a page of members at a time, skipping members who have
/// one already.
async fn queue_copies(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    row: &broadcast::Model,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut inserted = 0;
    let mut after: Option<Uuid> = None;
    loop {
        let mut query = member::Entity::find()
            .filter(member::Column::TenantId.eq(tenant_id.0))
            .filter(member::Column::Status.eq(MemberStatus::Active.as_str()))
            .order_by_asc(member::Column::Id)
            .limit(CHUNK);
        if let Some(after) = after {
            query = query.filter(member::Column::Id.gt(after));
        }
        let members = query.all(db).await?;
        let Some(last) = members.last() else {
            return Ok(inserted);
        };
        after = Some(last.id);
        let copies: Vec<delivery::ActiveModel> = members
            .iter()
            .map(|member| copy_of(row, member, now))
            .collect();
        let count = delivery::Entity::insert_many(copies)
            .on_conflict(
                OnConflict::columns([delivery::Column::BroadcastId, delivery::Column::MemberId])
                    // The predicate of the partial unique index, which the target must name.
                    .target_and_where(Expr::col(delivery::Column::BroadcastId).is_not_null())
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        inserted += usize::try_from(count).unwrap_or(0);
    }
}

/// Builds the queued copy of a broadcast for one member.
fn copy_of(
    row: &broadcast::Model,
    member: &member::Model,
    now: DateTime<Utc>,
) -> delivery::ActiveModel {
    let mut copy = queued_delivery(member, DeliveryKind::Broadcast, &member.locale, now);
    copy.broadcast_id = Set(Some(row.id));
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|error| panic!("{text}: {error}"))
            .with_timezone(&Utc)
    }

    #[test]
    fn local_send_time_uses_tenant_zone() {
        let tokyo: Tz = chrono_tz::Asia::Tokyo;
        let resolved = resolve_send_at(None, Some("2025-03-20T09:00"), tokyo);
        assert_eq!(resolved.ok(), Some(utc("2025-03-20T00:00:00Z")));
        let with_seconds = resolve_send_at(None, Some("2025-03-20T09:00:00"), tokyo);
        assert_eq!(with_seconds.ok(), Some(utc("2025-03-20T00:00:00Z")));
    }

    #[test]
    fn skipped_local_time_is_rejected() {
        let los_angeles: Tz = chrono_tz::America::Los_Angeles;
        let error = resolve_send_at(None, Some("2025-03-09T02:30"), los_angeles);
        assert!(
            matches!(&error, Err(Error::Validation(v)) if matches!(v.problem, Problem::SkippedLocalTime { .. })),
            "{error:?}"
        );
    }

    #[test]
    fn repeated_local_time_takes_the_first() {
        let los_angeles: Tz = chrono_tz::America::Los_Angeles;
        let resolved = resolve_send_at(None, Some("2025-11-02T01:30"), los_angeles);
        assert_eq!(resolved.ok(), Some(utc("2025-11-02T08:30:00Z")));
    }

    #[test]
    fn send_time_needs_exactly_one_form() {
        let tokyo: Tz = chrono_tz::Asia::Tokyo;
        let both = resolve_send_at(Some(Utc::now()), Some("2025-03-20T09:00"), tokyo);
        assert!(
            matches!(&both, Err(Error::Validation(v)) if v.field == "localSendAt"),
            "{both:?}"
        );
        let neither = resolve_send_at(None, None, tokyo);
        assert!(
            matches!(&neither, Err(Error::Validation(v)) if matches!(v.problem, Problem::OneOfRequired { .. })),
            "{neither:?}"
        );
        let garbled = resolve_send_at(None, Some("3月20日 9時"), tokyo);
        assert!(
            matches!(&garbled, Err(Error::Validation(v)) if v.problem == Problem::NotALocalDateTime),
            "{garbled:?}"
        );
    }
}
