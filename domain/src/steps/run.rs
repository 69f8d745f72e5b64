//! The step scheduler: turns due steps into queued deliveries and moves each enrollment on to
//! its next step, in one transaction per batch. The outbox renders and sends the deliveries.
//!
//! Nothing here keeps time itself: callers pass `now`, so tests move the clock instead of
//! sleeping. A unique index on `(enrollment_id, step_id)` and a conditional update of the
//! enrollment keep a retried or concurrent run from creating a second delivery.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use super::{
    enrollments::{EnrollmentState, due_for, ended, next_step},
    steps_of, window_of,
};
use crate::{
    TenantId,
    entities::{delivery, enrollment, member, sequence, sequence_step},
    error::Result,
    leases,
    members::MemberStatus,
    outbox::{DeliveryKind, queued_delivery},
    schedule, tenants,
};

const LEASE: &str = "steps";
const LEASE_TTL: Duration = Duration::seconds(120);
/// Due enrollments handled per transaction.
const BATCH: u64 = 500;
/// Ids per `IN (...)` list.
const IN_LIST_CHUNK: usize = 500;

/// The counts of one run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    /// Deliveries queued for due steps.
    pub queued: usize,
    /// Enrollments ended because their member unsubscribed or was deleted.
    pub ended: usize,
    /// More enrollments are due: run again.
    pub more: bool,
}

/// Returns the tenants with an enrollment due at `now`.
pub async fn tenants_with_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Vec<TenantId>> {
    let ids: Vec<Uuid> = enrollment::Entity::find()
        .select_only()
        .column(enrollment::Column::TenantId)
        .filter(enrollment::Column::NextDueAt.lte(now))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(TenantId).collect())
}

/// Queues the deliveries of one batch of the tenant's due steps. Returns at once when another
/// worker holds the tenant's scheduler lease.
pub async fn run_due(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    now: DateTime<Utc>,
) -> Result<RunReport> {
    let holder = Uuid::now_v7();
    if !leases::acquire(db, tenant_id, LEASE, holder, LEASE_TTL, now).await? {
        return Ok(RunReport::default());
    }
    let outcome = run_batch(db, tenant_id, now).await;
    leases::release(db, tenant_id, LEASE, holder).await?;
    outcome
}

async fn run_batch(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    now: DateTime<Utc>,
) -> Result<RunReport> {
    let mut report = RunReport::default();
    let due = enrollment::Entity::find()
        .filter(enrollment::Column::TenantId.eq(tenant_id.0))
        .filter(enrollment::Column::NextDueAt.lte(now))
        .filter(enrollment::Column::State.eq(EnrollmentState::Active.as_str()))
        .order_by_asc(enrollment::Column::NextDueAt)
        .limit(BATCH)
        .all(db)
        .await?;
    if due.is_empty() {
        return Ok(report);
    }
    report.more = due.len() as u64 == BATCH;

    let tenant = tenants::get(db, tenant_id).await?;
    let zone = schedule::time_zone(&tenant.time_zone);
    let mut sequences: HashMap<Uuid, (sequence::Model, Vec<sequence_step::Model>)> = HashMap::new();
    for sequence_id in due
        .iter()
        .map(|row| row.sequence_id)
        .collect::<HashSet<_>>()
    {
        let row = super::sequence_row(db, tenant_id, sequence_id).await?;
        let steps = steps_of(db, tenant_id, sequence_id).await?;
        sequences.insert(sequence_id, (row, steps));
    }
    let members = active_members(db, tenant_id, &due).await?;

    // The deliveries of the whole batch go in with one statement per chunk; each enrollment is
    // then moved on with its own conditional update.
    let mut deliveries = Vec::with_capacity(due.len());
    let mut moves = Vec::with_capacity(due.len());
    let mut missing_members = Vec::new();
    for row in &due {
        let (sequence, steps) = &sequences[&row.sequence_id];
        let Some(member) = members.get(&row.member_id) else {
            missing_members.push(row.member_id);
            continue;
        };
        let Some(step) = next_step(steps, row.handled_position) else {
            moves.push((row, row.handled_position, None));
            continue;
        };
        deliveries.push(delivery_model(row, step, member, now));
        let window = window_of(sequence);
        let following = next_step(steps, Some(step.position))
            .map(|next| due_for(next, row.triggered_at, Some(now), zone, &window));
        moves.push((row, Some(step.position), following));
    }

    let tx = crate::db::begin_write(db).await?;
    for member_id in missing_members {
        report.ended += usize::try_from(
            super::enrollments::end_for_member(
                &tx,
                tenant_id,
                crate::MemberId(member_id),
                ended::UNSUBSCRIBED,
                now,
            )
            .await?,
        )
        .unwrap_or(0);
    }
    report.queued = insert_deliveries(&tx, deliveries).await?;
    for (row, handled_position, next_due_at) in moves {
        advance(&tx, row, handled_position, next_due_at, now).await?;
    }
    tx.commit().await?;
    if report.queued > 0 {
        tracing::info!(tenant.id = %tenant_id, queued = report.queued, ended = report.ended, "due steps queued");
    }
    Ok(report)
}

/// Moves an enrollment past `handled_position`, unless another run moved it first.
async fn advance(
    db: &impl ConnectionTrait,
    row: &enrollment::Model,
    handled_position: Option<i64>,
    next_due_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut update = enrollment::Entity::update_many()
        .col_expr(
            enrollment::Column::HandledPosition,
            Expr::value(handled_position),
        )
        .col_expr(enrollment::Column::HandledAt, Expr::value(Some(now)))
        .col_expr(enrollment::Column::NextDueAt, Expr::value(next_due_at))
        .col_expr(enrollment::Column::UpdatedAt, Expr::value(now))
        .filter(enrollment::Column::TenantId.eq(row.tenant_id))
        .filter(enrollment::Column::Id.eq(row.id));
    update = match row.handled_position {
        Some(position) => update.filter(enrollment::Column::HandledPosition.eq(position)),
        None => update.filter(enrollment::Column::HandledPosition.is_null()),
    };
    update.exec(db).await?;
    Ok(())
}

/// Queues the delivery of `step` for an enrollment. Returns false when it exists already.
pub(super) async fn insert_delivery(
    db: &impl ConnectionTrait,
    row: &enrollment::Model,
    step: &sequence_step::Model,
    member: &member::Model,
    now: DateTime<Utc>,
) -> Result<bool> {
    let inserted = insert_deliveries(db, vec![delivery_model(row, step, member, now)]).await?;
    Ok(inserted > 0)
}

/// Rows per `INSERT`: 22 columns each stay under SQLite's limit of 32,766 bound values.
const INSERT_CHUNK: usize = 500;

/// Inserts step deliveries, skipping any whose (enrollment, step) exists already, and returns
/// how many were inserted.
async fn insert_deliveries(
    db: &impl ConnectionTrait,
    mut models: Vec<delivery::ActiveModel>,
) -> Result<usize> {
    let mut inserted = 0;
    while !models.is_empty() {
        let rest = models.split_off(models.len().min(INSERT_CHUNK));
        let count = delivery::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([delivery::Column::EnrollmentId, delivery::Column::StepId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        inserted += usize::try_from(count).unwrap_or(0);
        models = rest;
    }
    Ok(inserted)
}

/// Builds the queued delivery of `step` for an enrollment.
fn delivery_model(
    row: &enrollment::Model,
    step: &sequence_step::Model,
    member: &member::Model,
    now: DateTime<Utc>,
) -> delivery::ActiveModel {
    let mut delivery = queued_delivery(member, DeliveryKind::Step, &member.locale, now);
    delivery.enrollment_id = Set(Some(row.id));
    delivery.step_id = Set(Some(step.id));
    delivery
}

/// Returns the subscribed members among the enrollments' members, by id.
pub(super) async fn active_members(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    rows: &[enrollment::Model],
) -> Result<HashMap<Uuid, member::Model>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.member_id).collect();
    let mut members = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IN_LIST_CHUNK) {
        let found = member::Entity::find()
            .filter(member::Column::TenantId.eq(tenant_id.0))
            .filter(member::Column::Id.is_in(chunk.iter().copied()))
            .filter(member::Column::Status.eq(MemberStatus::Active.as_str()))
            .all(db)
            .await?;
        members.extend(found.into_iter().map(|member| (member.id, member)));
    }
    Ok(members)
}

/// Returns the enrollments among `rows` that have no delivery of `step_id` yet.
pub(super) async fn without_delivery(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    rows: &[enrollment::Model],
    step_id: Uuid,
) -> Result<Vec<enrollment::Model>> {
    let mut sent = HashSet::new();
    for chunk in rows.chunks(IN_LIST_CHUNK) {
        let found: Vec<Option<Uuid>> = delivery::Entity::find()
            .select_only()
            .column(delivery::Column::EnrollmentId)
            .filter(delivery::Column::TenantId.eq(tenant_id.0))
            .filter(delivery::Column::StepId.eq(step_id))
            .filter(delivery::Column::EnrollmentId.is_in(chunk.iter().map(|row| row.id)))
            .into_tuple()
            .all(db)
            .await?;
        sent.extend(found.into_iter().flatten());
    }
    Ok(rows
        .iter()
        .filter(|row| !sent.contains(&row.id))
        .cloned()
        .collect())
}
