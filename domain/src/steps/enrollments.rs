//! Enrollments: a member event starts sequences and reaches their goals, unsubscribing ends
//! them, and edits of a live sequence reschedule them without surprise mail.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use super::{Retrigger, SendWindow, steps_of, timing, timing_of, window_of};
use crate::{
    MemberId, TenantId,
    entities::{enrollment, member, sequence, sequence_step},
    error::{Error, Resource, Result},
    members::MemberStatus,
    schedule, tenants,
};

/// Enrollments loaded per query when a whole sequence is rescheduled.
const PAGE: u64 = 1_000;

/// The state of an enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentState {
    /// Waiting for its next step, or at the end of the steps there are so far.
    Active,
    /// Stopped by its goal, an unsubscribe or the operator.
    Ended,
}

impl EnrollmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            EnrollmentState::Active => "active",
            EnrollmentState::Ended => "ended",
        }
    }
}

/// Reasons an enrollment ended.
pub mod ended {
    pub const GOAL: &str = "goal";
    pub const UNSUBSCRIBED: &str = "unsubscribed";
}

/// The effect of a recorded event.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EventOutcome {
    /// Enrollments started, restarted or resumed.
    pub enrolled: usize,
    /// Enrollments ended because the event is their sequence's goal.
    pub reached_goal: usize,
}

/// Returns the first step after `handled_position`, or the first step when none was handled.
pub fn next_step(
    steps: &[sequence_step::Model],
    handled_position: Option<i64>,
) -> Option<&sequence_step::Model> {
    steps
        .iter()
        .find(|step| handled_position.is_none_or(|handled| step.position > handled))
}

/// Returns when `step` is due for an enrollment that was triggered at `triggered_at` and handled
/// its previous step at `handled_at`.
pub fn due_for(
    step: &sequence_step::Model,
    triggered_at: DateTime<Utc>,
    handled_at: Option<DateTime<Utc>>,
    zone: Tz,
    window: &SendWindow,
) -> DateTime<Utc> {
    timing::due_at(
        timing_of(step),
        triggered_at,
        handled_at.unwrap_or(triggered_at),
        zone,
        window,
    )
}

/// Records `event` for a member at `at`: enrolls the member in the active sequences it
/// triggers, and ends the member's enrollments whose goal it is. A member who unsubscribed is
/// not enrolled.
///
/// The statements do not share a transaction. Each one is idempotent, so an event recorded again
/// after a failure completes what is missing. On SQLite a transaction that reads first and then
/// writes fails at once when the worker has written in between, instead of waiting for it.
pub async fn record_event(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    member_id: MemberId,
    event: &str,
    at: DateTime<Utc>,
) -> Result<EventOutcome> {
    let tenant = tenants::get(db, tenant_id).await?;
    let zone = schedule::time_zone(&tenant.time_zone);
    let member = member::Entity::find()
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .filter(member::Column::Id.eq(member_id.0))
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::Member))?;
    let mut outcome = EventOutcome::default();

    let goals = sequence::Entity::find()
        .filter(sequence::Column::TenantId.eq(tenant_id.0))
        .filter(sequence::Column::GoalEvent.eq(event))
        .all(db)
        .await?;
    for goal in &goals {
        let result = enrollment::Entity::update_many()
            .col_expr(
                enrollment::Column::State,
                Expr::value(EnrollmentState::Ended.as_str()),
            )
            .col_expr(
                enrollment::Column::EndedReason,
                Expr::value(Some(ended::GOAL)),
            )
            .col_expr(
                enrollment::Column::NextDueAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(enrollment::Column::UpdatedAt, Expr::value(at))
            .filter(enrollment::Column::TenantId.eq(tenant_id.0))
            .filter(enrollment::Column::SequenceId.eq(goal.id))
            .filter(enrollment::Column::MemberId.eq(member_id.0))
            .filter(enrollment::Column::State.eq(EnrollmentState::Active.as_str()))
            .exec(db)
            .await?;
        outcome.reached_goal += usize::try_from(result.rows_affected).unwrap_or(0);
    }

    if member.status == MemberStatus::Active.as_str() {
        let triggered = sequence::Entity::find()
            .filter(sequence::Column::TenantId.eq(tenant_id.0))
            .filter(sequence::Column::TriggerEvent.eq(event))
            .filter(sequence::Column::Active.eq(true))
            .all(db)
            .await?;
        for sequence in &triggered {
            if enroll(db, tenant_id, sequence, member_id, at, zone).await? {
                outcome.enrolled += 1;
            }
        }
    }
    tracing::info!(
        tenant.id = %tenant_id,
        member.id = %member_id,
        event,
        enrolled = outcome.enrolled,
        reached_goal = outcome.reached_goal,
        "member event recorded"
    );
    Ok(outcome)
}

/// Enrolls a member, or applies the sequence's retrigger setting to an enrollment that ended
/// or finished. An active enrollment with a step still to come is left alone. Returns whether
/// anything changed.
async fn enroll(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    sequence: &sequence::Model,
    member_id: MemberId,
    at: DateTime<Utc>,
    zone: Tz,
) -> Result<bool> {
    let steps = steps_of(db, tenant_id, sequence.id).await?;
    let window = window_of(sequence);
    let existing = enrollment::Entity::find()
        .filter(enrollment::Column::TenantId.eq(tenant_id.0))
        .filter(enrollment::Column::SequenceId.eq(sequence.id))
        .filter(enrollment::Column::MemberId.eq(member_id.0))
        .one(db)
        .await?;
    let Some(existing) = existing else {
        let first_due = next_step(&steps, None).map(|step| due_for(step, at, None, zone, &window));
        let row = enrollment::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id.0),
            sequence_id: Set(sequence.id),
            member_id: Set(member_id.0),
            state: Set(EnrollmentState::Active.as_str().to_owned()),
            ended_reason: Set(None),
            triggered_at: Set(at),
            handled_position: Set(None),
            handled_at: Set(None),
            next_due_at: Set(first_due),
            created_at: Set(at),
            updated_at: Set(at),
        };
        // A concurrent event for the same member may have enrolled it first; that is fine.
        let inserted = enrollment::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([enrollment::Column::SequenceId, enrollment::Column::MemberId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        return Ok(inserted > 0);
    };

    let waiting = existing.state == EnrollmentState::Active.as_str()
        && next_step(&steps, existing.handled_position).is_some();
    if waiting {
        return Ok(false);
    }
    let mut active: enrollment::ActiveModel = existing.clone().into();
    active.state = Set(EnrollmentState::Active.as_str().to_owned());
    active.ended_reason = Set(None);
    active.updated_at = Set(at);
    match Retrigger::parse(&sequence.on_retrigger) {
        Retrigger::Restart => {
            // A new id keeps the one-delivery-per-enrollment-and-step rule for the new round,
            // while the deliveries of the earlier round keep pointing at the old id.
            active.id = Set(Uuid::now_v7());
            active.triggered_at = Set(at);
            active.handled_position = Set(None);
            active.handled_at = Set(None);
            active.next_due_at =
                Set(next_step(&steps, None).map(|step| due_for(step, at, None, zone, &window)));
        }
        Retrigger::Resume => {
            let next = next_step(&steps, existing.handled_position);
            active.next_due_at = Set(next.map(|step| {
                due_for(
                    step,
                    existing.triggered_at,
                    existing.handled_at,
                    zone,
                    &window,
                )
                .max(at)
            }));
        }
    }
    active.update(db).await?;
    Ok(true)
}

/// Ends every active enrollment of a member, for example after an unsubscribe.
pub async fn end_for_member(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    member_id: MemberId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    let result = enrollment::Entity::update_many()
        .col_expr(
            enrollment::Column::State,
            Expr::value(EnrollmentState::Ended.as_str()),
        )
        .col_expr(
            enrollment::Column::EndedReason,
            Expr::value(Some(reason.to_owned())),
        )
        .col_expr(
            enrollment::Column::NextDueAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(enrollment::Column::UpdatedAt, Expr::value(now))
        .filter(enrollment::Column::TenantId.eq(tenant_id.0))
        .filter(enrollment::Column::MemberId.eq(member_id.0))
        .filter(enrollment::Column::State.eq(EnrollmentState::Active.as_str()))
        .exec(db)
        .await?;
    if result.rows_affected > 0 {
        tracing::info!(tenant.id = %tenant_id, member.id = %member_id, reason, ended = result.rows_affected, "enrollments ended");
    }
    Ok(result.rows_affected)
}

/// Recomputes the next due time of every active enrollment of a sequence after an edit. A
/// paused sequence clears them, so the scheduler skips its enrollments until it is active again.
pub async fn reschedule_sequence(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    sequence_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    let tenant = tenants::get(db, tenant_id).await?;
    let zone = schedule::time_zone(&tenant.time_zone);
    let sequence = super::sequence_row(db, tenant_id, sequence_id).await?;
    let steps = steps_of(db, tenant_id, sequence_id).await?;
    let window = window_of(&sequence);
    let mut after = Uuid::nil();
    loop {
        let page = active_page(db, tenant_id, sequence_id, after).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.id;
        for row in page {
            let due = if sequence.active {
                next_step(&steps, row.handled_position)
                    .map(|step| due_for(step, row.triggered_at, row.handled_at, zone, &window))
            } else {
                None
            };
            if due != row.next_due_at {
                set_next_due(db, &row, row.handled_position, due, now).await?;
            }
        }
    }
}

/// Schedules a new step for the active enrollments whose next step it became. Where its time
/// has already passed, it is skipped: sending it at once would be a surprise.
pub(super) async fn after_step_added(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    step: &sequence_step::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    let tenant = tenants::get(db, tenant_id).await?;
    let zone = schedule::time_zone(&tenant.time_zone);
    let sequence = super::sequence_row(db, tenant_id, step.sequence_id).await?;
    let steps = steps_of(db, tenant_id, step.sequence_id).await?;
    let window = window_of(&sequence);
    let mut after = Uuid::nil();
    loop {
        let page = active_page(db, tenant_id, step.sequence_id, after).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.id;
        for row in page {
            if next_step(&steps, row.handled_position).map(|next| next.id) != Some(step.id) {
                continue;
            }
            let due = due_for(step, row.triggered_at, row.handled_at, zone, &window);
            let (handled, due) = if due < now {
                let later = next_step(&steps, Some(step.position))
                    .map(|next| due_for(next, row.triggered_at, row.handled_at, zone, &window));
                (Some(step.position), later)
            } else {
                (row.handled_position, Some(due))
            };
            if !sequence.active {
                set_next_due(db, &row, handled, None, now).await?;
            } else {
                set_next_due(db, &row, handled, due, now).await?;
            }
        }
    }
}

async fn active_page(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    sequence_id: Uuid,
    after: Uuid,
) -> Result<Vec<enrollment::Model>> {
    Ok(enrollment::Entity::find()
        .filter(enrollment::Column::TenantId.eq(tenant_id.0))
        .filter(enrollment::Column::SequenceId.eq(sequence_id))
        .filter(enrollment::Column::State.eq(EnrollmentState::Active.as_str()))
        .filter(enrollment::Column::Id.gt(after))
        .order_by_asc(enrollment::Column::Id)
        .limit(PAGE)
        .all(db)
        .await?)
}

async fn set_next_due(
    db: &impl ConnectionTrait,
    row: &enrollment::Model,
    handled_position: Option<i64>,
    next_due_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    enrollment::Entity::update_many()
        .col_expr(
            enrollment::Column::HandledPosition,
            Expr::value(handled_position),
        )
        .col_expr(enrollment::Column::NextDueAt, Expr::value(next_due_at))
        .col_expr(enrollment::Column::UpdatedAt, Expr::value(now))
        .filter(enrollment::Column::TenantId.eq(row.tenant_id))
        .filter(enrollment::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Counts, or with `apply` creates, the deliveries of `step` for the enrollments that passed
/// its place without getting it (it was inserted before their position). Members who
/// unsubscribed are left out.
pub async fn backfill(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    step_id: Uuid,
    apply: bool,
    now: DateTime<Utc>,
) -> Result<usize> {
    let step = super::step_row(db, tenant_id, step_id).await?;
    let mut after = Uuid::nil();
    let mut count = 0;
    loop {
        let page = enrollment::Entity::find()
            .filter(enrollment::Column::TenantId.eq(tenant_id.0))
            .filter(enrollment::Column::SequenceId.eq(step.sequence_id))
            .filter(enrollment::Column::HandledPosition.gt(step.position))
            .filter(enrollment::Column::Id.gt(after))
            .order_by_asc(enrollment::Column::Id)
            .limit(PAGE)
            .all(db)
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id;
        let candidates = super::run::without_delivery(db, tenant_id, &page, step.id).await?;
        let members = super::run::active_members(db, tenant_id, &candidates).await?;
        let eligible: Vec<_> = candidates
            .into_iter()
            .filter(|row| members.contains_key(&row.member_id))
            .collect();
        if apply {
            let tx = crate::db::begin_write(db).await?;
            for row in &eligible {
                if super::run::insert_delivery(&tx, row, &step, &members[&row.member_id], now)
                    .await?
                {
                    count += 1;
                }
            }
            tx.commit().await?;
        } else {
            count += eligible.len();
        }
    }
    if apply {
        tracing::info!(tenant.id = %tenant_id, step.id = %step_id, deliveries = count, "step backfilled");
    }
    Ok(count)
}

/// The enrollments of a sequence by state, and those waiting for each step.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub active: u64,
    pub finished: u64,
    pub ended: u64,
    /// (step id, enrollments whose next step it is).
    pub waiting: Vec<(Uuid, u64)>,
}

/// Counts a sequence's enrollments for the dashboard.
pub async fn summary(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    sequence_id: Uuid,
) -> Result<Summary> {
    let steps = steps_of(db, tenant_id, sequence_id).await?;
    let scoped = || {
        enrollment::Entity::find()
            .filter(enrollment::Column::TenantId.eq(tenant_id.0))
            .filter(enrollment::Column::SequenceId.eq(sequence_id))
    };
    let active = || scoped().filter(enrollment::Column::State.eq(EnrollmentState::Active.as_str()));
    let mut summary = Summary {
        active: active().count(db).await?,
        finished: 0,
        ended: scoped()
            .filter(enrollment::Column::State.eq(EnrollmentState::Ended.as_str()))
            .count(db)
            .await?,
        waiting: Vec::with_capacity(steps.len()),
    };
    let mut previous: Option<i64> = None;
    let mut waiting_total = 0;
    for step in &steps {
        let mut query = active();
        query = match previous {
            None => query.filter(enrollment::Column::HandledPosition.is_null()),
            Some(position) => query
                .filter(enrollment::Column::HandledPosition.gte(position))
                .filter(enrollment::Column::HandledPosition.lt(step.position)),
        };
        let waiting = query.count(db).await?;
        waiting_total += waiting;
        summary.waiting.push((step.id, waiting));
        previous = Some(step.position);
    }
    summary.finished = summary.active - waiting_total.min(summary.active);
    Ok(summary)
}

/// Lists a sequence's enrollments, those due soonest first, then the others.
pub async fn list(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    sequence_id: Uuid,
    first: u64,
) -> Result<Vec<enrollment::Model>> {
    Ok(enrollment::Entity::find()
        .filter(enrollment::Column::TenantId.eq(tenant_id.0))
        .filter(enrollment::Column::SequenceId.eq(sequence_id))
        .order_by_asc(enrollment::Column::NextDueAt)
        .order_by_asc(enrollment::Column::Id)
        .limit(first.clamp(1, 200))
        .all(db)
        .await?)
}
