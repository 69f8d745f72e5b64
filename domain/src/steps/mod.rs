//! Step mail: sequences of mails that a member event starts ("3 days after signup at 10:00"),
//! each member's enrollment in them, and the scheduler that turns due steps into deliveries.
//!
//! Reading order: [`timing`] for when a step is due, this module for sequences and steps,
//! [`enrollments`] for events, goals and edits of live sequences, [`run`] for the scheduler.
//!
//! A step's position is a sparse sort key that never changes, and an enrollment remembers the
//! position of the last step it handled. So a step inserted before that position is never sent
//! to the enrollment unless the operator asks for a backfill, and a unique index allows one
//! delivery per enrollment and step.

pub mod enrollments;
pub mod run;
pub mod timing;

use chrono::{NaiveTime, Timelike, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::{
    TenantId,
    entities::{sequence, sequence_step},
    error::{Error, Problem, Resource, Result, ValidationError},
};
pub use timing::{ALL_WEEKDAYS, SendWindow, Timing};

/// The trigger of a confirmed signup.
pub const SIGNUP_EVENT: &str = "signup";
/// Gap between the positions of appended steps. Inserting between two steps takes the middle,
/// so about 40 steps fit between two neighbours before an insert there is rejected.
const POSITION_GAP: i64 = 1 << 40;
const MAX_NAME: usize = 100;
const MAX_EVENT: usize = 64;
/// The largest day offset of a step: ten years.
pub const MAX_DAYS: u32 = 3_650;
/// The largest delay after the previous step: a year.
pub const MAX_DELAY_MINUTES: u32 = 365 * 24 * 60;

/// The effect of a new trigger on a member's ended or finished enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retrigger {
    /// Continue after the last step the member got.
    Resume,
    /// Start again from the first step, timed from the new trigger.
    Restart,
}

impl Retrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Retrigger::Resume => "resume",
            Retrigger::Restart => "restart",
        }
    }

    pub fn parse(value: &str) -> Self {
        if value == "restart" {
            Retrigger::Restart
        } else {
            Retrigger::Resume
        }
    }
}

/// A sequence as the operator sets it.
#[derive(Debug, Clone)]
pub struct SequenceInput {
    pub name: String,
    pub trigger_event: String,
    pub goal_event: Option<String>,
    pub window: SendWindow,
    pub on_retrigger: Retrigger,
    pub active: bool,
}

/// A step as the operator sets it. The bodies are MiniJinja templates like the tenant's mail
/// templates.
#[derive(Debug, Clone)]
pub struct StepInput {
    pub timing: Timing,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A sequence with its steps in order.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub row: sequence::Model,
    pub steps: Vec<sequence_step::Model>,
}

impl Sequence {
    pub fn window(&self) -> SendWindow {
        window_of(&self.row)
    }
}

/// Reads the send window stored on a sequence row.
pub fn window_of(row: &sequence::Model) -> SendWindow {
    let minute = |value: Option<i32>| {
        value.and_then(|m| {
            NaiveTime::from_num_seconds_from_midnight_opt(u32::try_from(m).ok()? * 60, 0)
        })
    };
    SendWindow {
        quiet_hours: minute(row.quiet_start).zip(minute(row.quiet_end)),
        weekdays: u8::try_from(row.weekdays & i32::from(ALL_WEEKDAYS)).unwrap_or(ALL_WEEKDAYS),
    }
}

/// Reads the timing stored on a step row.
pub fn timing_of(step: &sequence_step::Model) -> Timing {
    let non_negative = |value: Option<i32>| u32::try_from(value.unwrap_or(0)).unwrap_or(0);
    if step.timing == "after_previous" {
        Timing::AfterPrevious {
            minutes: non_negative(step.delay_minutes),
        }
    } else {
        let at =
            NaiveTime::from_num_seconds_from_midnight_opt(non_negative(step.at_minute) * 60, 0)
                .unwrap_or(NaiveTime::MIN);
        Timing::DaysAfterTrigger {
            days: non_negative(step.days),
            at,
        }
    }
}

fn minutes_of(time: NaiveTime) -> i32 {
    i32::try_from(time.num_seconds_from_midnight() / 60).unwrap_or(0)
}

fn validate_sequence(input: &SequenceInput) -> Result<()> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(ValidationError::new("name", Some(&input.name), Problem::Required).into());
    }
    if name.chars().count() > MAX_NAME {
        return Err(
            ValidationError::new("name", Some(name), Problem::TooLong { max: MAX_NAME }).into(),
        );
    }
    validate_event("triggerEvent", &input.trigger_event)?;
    if let Some(goal) = &input.goal_event {
        validate_event("goalEvent", goal)?;
    }
    if input.window.weekdays & ALL_WEEKDAYS == 0 {
        return Err(ValidationError::new("weekdays", None, Problem::Required).into());
    }
    Ok(())
}

/// Checks an event name: lowercase ASCII letters, digits and `_`, starting with a letter, such
/// as `inquiry_sent`.
pub fn validate_event(field: &str, value: &str) -> Result<()> {
    let valid = value.len() <= MAX_EVENT
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
    if valid {
        Ok(())
    } else {
        Err(ValidationError::new(field, Some(value), Problem::InvalidEventName).into())
    }
}

fn validate_step(input: &StepInput) -> Result<()> {
    match input.timing {
        Timing::DaysAfterTrigger { days, .. } if days > MAX_DAYS => {
            return Err(ValidationError::new(
                "days",
                Some(&days.to_string()),
                Problem::OutOfRange {
                    min: 0,
                    max: i64::from(MAX_DAYS),
                },
            )
            .into());
        }
        Timing::AfterPrevious { minutes } if minutes > MAX_DELAY_MINUTES => {
            return Err(ValidationError::new(
                "delayMinutes",
                Some(&minutes.to_string()),
                Problem::OutOfRange {
                    min: 0,
                    max: i64::from(MAX_DELAY_MINUTES),
                },
            )
            .into());
        }
        _ => {}
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
    crate::outbox::templates::validate(&source)?;
    Ok(())
}

/// Checks a step's mail for the tenant: the unsubscribe link is there and it renders.
async fn check_mail(db: &DatabaseConnection, tenant_id: TenantId, input: &StepInput) -> Result<()> {
    let tenant = crate::tenants::get(db, tenant_id).await?;
    let source = mail::TemplateSource {
        subject: input.subject.clone(),
        html: input.html.clone(),
        text: input.text.clone(),
    };
    crate::outbox::templates::check_written(&source, &tenant)?;
    Ok(())
}

fn sequence_columns(active: &mut sequence::ActiveModel, input: &SequenceInput) {
    let (quiet_start, quiet_end) = input
        .window
        .quiet_hours
        .map_or((None, None), |(start, end)| {
            (Some(minutes_of(start)), Some(minutes_of(end)))
        });
    active.name = Set(input.name.trim().to_owned());
    active.trigger_event = Set(input.trigger_event.clone());
    active.goal_event = Set(input.goal_event.clone());
    active.quiet_start = Set(quiet_start);
    active.quiet_end = Set(quiet_end);
    active.weekdays = Set(i32::from(input.window.weekdays & ALL_WEEKDAYS));
    active.on_retrigger = Set(input.on_retrigger.as_str().to_owned());
    active.active = Set(input.active);
}

fn step_columns(active: &mut sequence_step::ActiveModel, input: &StepInput) {
    let (timing, days, at_minute, delay) = match input.timing {
        Timing::DaysAfterTrigger { days, at } => (
            "days",
            Some(i32::try_from(days).unwrap_or(i32::MAX)),
            Some(minutes_of(at)),
            None,
        ),
        Timing::AfterPrevious { minutes } => (
            "after_previous",
            None,
            None,
            Some(i32::try_from(minutes).unwrap_or(i32::MAX)),
        ),
    };
    active.timing = Set(timing.to_owned());
    active.days = Set(days);
    active.at_minute = Set(at_minute);
    active.delay_minutes = Set(delay);
    active.subject = Set(input.subject.clone());
    active.text_body = Set(input.text.clone());
    active.html_body = Set(input.html.clone());
}

/// Creates a sequence without steps.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    input: SequenceInput,
) -> Result<Sequence> {
    validate_sequence(&input)?;
    let now = Utc::now();
    let mut active = sequence::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id.0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    sequence_columns(&mut active, &input);
    let row = active.insert(db).await?;
    tracing::info!(tenant.id = %tenant_id, sequence.id = %row.id, "sequence created");
    Ok(Sequence {
        row,
        steps: Vec::new(),
    })
}

/// Changes a sequence's settings. Active enrollments are rescheduled in the new window; a
/// paused sequence keeps its enrollments where they are.
pub async fn update(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    sequence_id: Uuid,
    input: SequenceInput,
) -> Result<Sequence> {
    validate_sequence(&input)?;
    let tx = crate::db::begin_write(db).await?;
    let row = sequence_row(&tx, tenant_id, sequence_id).await?;
    let mut active: sequence::ActiveModel = row.into();
    sequence_columns(&mut active, &input);
    active.updated_at = Set(Utc::now());
    active.update(&tx).await?;
    enrollments::reschedule_sequence(&tx, tenant_id, sequence_id, Utc::now()).await?;
    tx.commit().await?;
    get(db, tenant_id, sequence_id).await
}

/// Deletes a sequence with its steps and enrollments. Deliveries already made stay.
pub async fn delete(db: &DatabaseConnection, tenant_id: TenantId, sequence_id: Uuid) -> Result<()> {
    sequence_row(db, tenant_id, sequence_id).await?;
    sequence::Entity::delete_many()
        .filter(sequence::Column::TenantId.eq(tenant_id.0))
        .filter(sequence::Column::Id.eq(sequence_id))
        .exec(db)
        .await?;
    tracing::info!(tenant.id = %tenant_id, sequence.id = %sequence_id, "sequence deleted");
    Ok(())
}

/// Lists the tenant's sequences with their steps, oldest first.
pub async fn list(db: &impl ConnectionTrait, tenant_id: TenantId) -> Result<Vec<Sequence>> {
    let rows = sequence::Entity::find()
        .filter(sequence::Column::TenantId.eq(tenant_id.0))
        .order_by_asc(sequence::Column::Id)
        .all(db)
        .await?;
    let mut steps = sequence_step::Entity::find()
        .filter(sequence_step::Column::TenantId.eq(tenant_id.0))
        .order_by_asc(sequence_step::Column::Position)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (own, rest): (Vec<_>, Vec<_>) =
                steps.drain(..).partition(|step| step.sequence_id == row.id);
            steps = rest;
            Sequence { row, steps: own }
        })
        .collect())
}

/// Loads one sequence with its steps.
pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    sequence_id: Uuid,
) -> Result<Sequence> {
    let row = sequence_row(db, tenant_id, sequence_id).await?;
    let steps = steps_of(db, tenant_id, sequence_id).await?;
    Ok(Sequence { row, steps })
}

async fn sequence_row(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    sequence_id: Uuid,
) -> Result<sequence::Model> {
    sequence::Entity::find()
        .filter(sequence::Column::TenantId.eq(tenant_id.0))
        .filter(sequence::Column::Id.eq(sequence_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::Sequence))
}

/// Loads the steps of a sequence in order.
pub async fn steps_of(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    sequence_id: Uuid,
) -> Result<Vec<sequence_step::Model>> {
    Ok(sequence_step::Entity::find()
        .filter(sequence_step::Column::TenantId.eq(tenant_id.0))
        .filter(sequence_step::Column::SequenceId.eq(sequence_id))
        .order_by_asc(sequence_step::Column::Position)
        .all(db)
        .await?)
}

async fn step_row(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    step_id: Uuid,
) -> Result<sequence_step::Model> {
    sequence_step::Entity::find()
        .filter(sequence_step::Column::TenantId.eq(tenant_id.0))
        .filter(sequence_step::Column::Id.eq(step_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::Step))
}

/// Adds a step at the end, or before `before`. Enrollments that have passed that place do not
/// get the new step (see [`enrollments::backfill`]). For the others it is due at its time, but
/// where that time has already passed, it is skipped rather than sent at once.
pub async fn add_step(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    sequence_id: Uuid,
    input: StepInput,
    before: Option<Uuid>,
) -> Result<sequence_step::Model> {
    validate_step(&input)?;
    check_mail(db, tenant_id, &input).await?;
    let tx = crate::db::begin_write(db).await?;
    sequence_row(&tx, tenant_id, sequence_id).await?;
    let steps = steps_of(&tx, tenant_id, sequence_id).await?;

    let position = position_before(&steps, before)?;

    let now = Utc::now();
    let mut active = sequence_step::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id.0),
        sequence_id: Set(sequence_id),
        position: Set(position),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    step_columns(&mut active, &input);
    let step = active.insert(&tx).await?;
    enrollments::after_step_added(&tx, tenant_id, &step, now).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, sequence.id = %sequence_id, step.id = %step.id, "step added");
    Ok(step)
}

/// Returns a sort key for a step placed before `before`, or after the last of `steps`.
fn position_before(steps: &[sequence_step::Model], before: Option<Uuid>) -> Result<i64> {
    let Some(before) = before else {
        return Ok(steps
            .last()
            .map_or(0, |last| last.position.saturating_add(POSITION_GAP)));
    };
    let index = steps
        .iter()
        .position(|step| step.id == before)
        .ok_or(Error::NotFound(Resource::Step))?;
    let next = steps[index].position;
    let previous = index
        .checked_sub(1)
        .map_or(next.saturating_sub(POSITION_GAP), |i| steps[i].position);
    if next - previous < 2 {
        return Err(ValidationError::new(
            "before",
            Some(&before.to_string()),
            Problem::NoRoomForStep,
        )
        .into());
    }
    Ok(previous + (next - previous) / 2)
}

/// Moves a step before `before`, or to the end. It keeps its id, so a member who got it never
/// gets it again. Members it now lies behind do not get it unless it is backfilled. Members it
/// now lies ahead of get it at its time in the new order, or skip it where that time has
/// passed, like a newly added step.
///
/// NOTE: a "day N" step moved after a step of a later day is due at once after that step,
/// because its own time has passed by then. This follows from the scheduler and is untested.
pub async fn move_step(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    step_id: Uuid,
    before: Option<Uuid>,
) -> Result<sequence_step::Model> {
    let tx = crate::db::begin_write(db).await?;
    let row = step_row(&tx, tenant_id, step_id).await?;
    if before == Some(step_id) {
        tx.commit().await?;
        return Ok(row);
    }
    let others: Vec<sequence_step::Model> = steps_of(&tx, tenant_id, row.sequence_id)
        .await?
        .into_iter()
        .filter(|step| step.id != step_id)
        .collect();
    let position = position_before(&others, before)?;
    let sequence_id = row.sequence_id;
    let now = Utc::now();
    let mut active: sequence_step::ActiveModel = row.into();
    active.position = Set(position);
    active.updated_at = Set(now);
    let step = active.update(&tx).await?;
    enrollments::reschedule_sequence(&tx, tenant_id, sequence_id, now).await?;
    enrollments::after_step_added(&tx, tenant_id, &step, now).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, step.id = %step_id, "step moved");
    Ok(step)
}

/// Changes a step's timing and content. Enrollments waiting for it are rescheduled.
pub async fn update_step(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    step_id: Uuid,
    input: StepInput,
) -> Result<sequence_step::Model> {
    validate_step(&input)?;
    check_mail(db, tenant_id, &input).await?;
    let tx = crate::db::begin_write(db).await?;
    let row = step_row(&tx, tenant_id, step_id).await?;
    let sequence_id = row.sequence_id;
    let mut active: sequence_step::ActiveModel = row.into();
    step_columns(&mut active, &input);
    active.updated_at = Set(Utc::now());
    let step = active.update(&tx).await?;
    enrollments::reschedule_sequence(&tx, tenant_id, sequence_id, Utc::now()).await?;
    tx.commit().await?;
    Ok(step)
}

/// Removes a step. Enrollments waiting for it move on to the step after it.
pub async fn remove_step(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    step_id: Uuid,
) -> Result<()> {
    let tx = crate::db::begin_write(db).await?;
    let row = step_row(&tx, tenant_id, step_id).await?;
    sequence_step::Entity::delete_many()
        .filter(sequence_step::Column::TenantId.eq(tenant_id.0))
        .filter(sequence_step::Column::Id.eq(step_id))
        .exec(&tx)
        .await?;
    enrollments::reschedule_sequence(&tx, tenant_id, row.sequence_id, Utc::now()).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, step.id = %step_id, "step removed");
    Ok(())
}
