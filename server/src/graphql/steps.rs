//! Step mail: sequences and their steps, member events that start sequences and reach their
//! goals, enrollments, and backfills of inserted steps. Times of day are "HH:MM" in the
//! tenant's time zone; instants are RFC 3339 with an offset.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveTime, Timelike, Utc};
use domain::{
    MemberId, Permission, TenantId, ValidationError,
    entities::{enrollment, sequence_step},
    error::Problem,
    steps::{
        self, ALL_WEEKDAYS, Retrigger, SendWindow, Timing,
        enrollments::{self, EnrollmentState},
    },
    tenants,
};
use worker::jobs::JobKind;

use super::{
    context::ContextExt,
    error::{ApiResult, ResultExt},
    members::parse_id,
    tenant::Tenant,
};

/// The rule that sets a step's time.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum StepTiming {
    /// `days` days after the trigger's date, at `at` local time (day 0 is the trigger's day).
    DaysAfterTrigger,
    /// `delayMinutes` after the previous step (or the trigger, for a first step).
    AfterPrevious,
}

/// A day of the week.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The effect of a new trigger on a member whose enrollment ended or finished.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OnRetrigger {
    /// Continue after the last step the member got.
    Resume,
    /// Start again from the first step, timed from the new trigger.
    Restart,
}

/// Local times without sending, such as 21:00 to 08:00.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "QuietHoursInput")]
pub struct QuietHours {
    /// "HH:MM", inclusive.
    pub start: String,
    /// "HH:MM", exclusive. Before `start`, the quiet hours span midnight.
    pub end: String,
}

/// A sequence's settings.
#[derive(InputObject)]
pub struct SequenceInput {
    /// A name for the dashboard, such as 「資料請求後フォロー」.
    pub name: String,
    /// The member event that enrolls: `signup`, or a name sent with `recordMemberEvent`.
    #[graphql(default_with = "steps::SIGNUP_EVENT.to_owned()")]
    pub trigger_event: String,
    /// An event that ends an enrollment early, such as `inquiry_sent`.
    pub goal_event: Option<String>,
    /// Local times without sending; a step due then waits for the end.
    pub quiet_hours: Option<QuietHours>,
    /// Days that may send; a step due on another day waits. Empty is not allowed.
    #[graphql(default_with = "WEEKDAYS.to_vec()")]
    pub weekdays: Vec<Weekday>,
    /// The effect of a new trigger on an ended or finished enrollment.
    #[graphql(default_with = "OnRetrigger::Resume")]
    pub on_retrigger: OnRetrigger,
    /// A paused sequence enrolls no member and sends nothing.
    #[graphql(default = true)]
    pub active: bool,
}

/// A step's timing and mail. The texts are templates like the tenant's mail templates, with
/// `member`, `tenant` and `unsubscribe_url`.
#[derive(InputObject)]
pub struct StepInput {
    /// The rule that sets the step's time.
    pub timing: StepTiming,
    /// For `DAYS_AFTER_TRIGGER`: days after the trigger's date, 0 to 3650.
    pub days: Option<i32>,
    /// For `DAYS_AFTER_TRIGGER`: the local time, "HH:MM".
    pub at: Option<String>,
    /// For `AFTER_PREVIOUS`: minutes after the previous step, up to a year.
    pub delay_minutes: Option<i32>,
    /// The subject template.
    pub subject: String,
    /// The plain-text body template.
    pub text: String,
    /// The HTML body template; empty sends text only.
    #[graphql(default)]
    pub html: String,
}

/// One mail of a sequence.
#[derive(SimpleObject)]
pub struct Step {
    /// Tayori's id.
    pub id: ID,
    /// The rule that sets the step's time.
    pub timing: StepTiming,
    /// Days after the trigger's date, for `DAYS_AFTER_TRIGGER`.
    pub days: Option<i32>,
    /// "HH:MM" local time, for `DAYS_AFTER_TRIGGER`.
    pub at: Option<String>,
    /// Minutes after the previous step, for `AFTER_PREVIOUS`.
    pub delay_minutes: Option<i32>,
    /// The subject template.
    pub subject: String,
    /// The plain-text body template.
    pub text: String,
    /// The HTML body template.
    pub html: String,
}

/// A step-mail sequence.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Sequence {
    /// Tayori's id.
    pub id: ID,
    /// The name on the dashboard.
    pub name: String,
    /// The member event that enrolls.
    pub trigger_event: String,
    /// The event that ends an enrollment early.
    pub goal_event: Option<String>,
    /// Local times without sending.
    pub quiet_hours: Option<QuietHours>,
    /// Days that may send.
    pub weekdays: Vec<Weekday>,
    /// The effect of a new trigger on an ended or finished enrollment.
    pub on_retrigger: OnRetrigger,
    /// Whether the sequence enrolls and sends.
    pub active: bool,
    /// The steps in sending order.
    pub steps: Vec<Step>,
}

/// How many enrollments are where.
#[derive(SimpleObject)]
pub struct EnrollmentCounts {
    /// Waiting for a step.
    pub waiting: u64,
    /// Past the last step.
    pub finished: u64,
    /// Stopped by the goal or an unsubscribe.
    pub ended: u64,
    /// Waiting enrollments per step, in step order.
    pub by_step: Vec<StepCount>,
}

/// The enrollments whose next step is `stepId`.
#[derive(SimpleObject)]
pub struct StepCount {
    /// The step.
    pub step_id: ID,
    /// Enrollments waiting for it.
    pub waiting: u64,
}

/// The state of an enrollment.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "EnrollmentState")]
pub enum EnrollmentStateValue {
    /// Waiting for a step, or past the last one.
    Active,
    /// Stopped by the goal or an unsubscribe.
    Ended,
}

/// A member's place in a sequence.
#[derive(SimpleObject)]
pub struct Enrollment {
    /// Tayori's id; a restart gives the enrollment a new one.
    pub id: ID,
    /// The member.
    pub member_id: ID,
    /// Active or ended.
    pub state: EnrollmentStateValue,
    /// `goal` or `unsubscribed` for an ended enrollment.
    pub ended_reason: Option<String>,
    /// When the event that started it happened.
    pub triggered_at: DateTime<Utc>,
    /// When the next step is due; null at the end or after it ended.
    pub next_due_at: Option<DateTime<Utc>>,
}

/// The effect of a recorded event.
#[derive(SimpleObject)]
pub struct MemberEventResult {
    /// Sequences the member was enrolled in (or re-enrolled in).
    pub enrolled: u64,
    /// Enrollments that ended because the event is their goal.
    pub reached_goal: u64,
}

#[ComplexObject]
impl Sequence {
    /// Where the sequence's enrollments are.
    async fn enrollment_counts(&self, ctx: &Context<'_>) -> ApiResult<EnrollmentCounts> {
        let tenant_id = ctx.authorize(Permission::ReadMembers)?;
        let id = parse_id("id", &self.id).api(ctx)?;
        let summary = enrollments::summary(&ctx.state().db, tenant_id, id)
            .await
            .api(ctx)?;
        let waiting = summary.active - summary.finished;
        Ok(EnrollmentCounts {
            waiting,
            finished: summary.finished,
            ended: summary.ended,
            by_step: summary
                .waiting
                .into_iter()
                .map(|(step_id, waiting)| StepCount {
                    step_id: ID(step_id.to_string()),
                    waiting,
                })
                .collect(),
        })
    }

    /// The enrollments due soonest first.
    async fn enrollments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, desc = "Page size, 1 to 200.")] first: u64,
    ) -> ApiResult<Vec<Enrollment>> {
        let tenant_id = ctx.authorize(Permission::ReadMembers)?;
        let id = parse_id("id", &self.id).api(ctx)?;
        let rows = enrollments::list(&ctx.state().db, tenant_id, id, first)
            .await
            .api(ctx)?;
        Ok(rows.into_iter().map(enrollment_value).collect())
    }
}

fn enrollment_value(row: enrollment::Model) -> Enrollment {
    Enrollment {
        id: ID(row.id.to_string()),
        member_id: ID(row.member_id.to_string()),
        state: if row.state == EnrollmentState::Ended.as_str() {
            EnrollmentStateValue::Ended
        } else {
            EnrollmentStateValue::Active
        },
        ended_reason: row.ended_reason,
        triggered_at: row.triggered_at,
        next_due_at: row.next_due_at,
    }
}

/// Queues a job now. A failure is logged and left to the reconciler, which finds the same work
/// in the database within its interval.
async fn queue_job(ctx: &Context<'_>, tenant_id: TenantId, kind: JobKind) {
    let job = worker::Job::new(tenant_id, kind);
    let name = job.kind_name();
    if let Err(error) = ctx.state().queue.push(job).await {
        tracing::warn!(error = ?error, job.kind = name, "queuing a job failed; the reconciler will");
    }
}

fn clock_text(time: NaiveTime) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

/// Reads "HH:MM" (or "H:MM"), naming the field and value when it is not a time of day.
fn parse_clock(field: &str, text: &str) -> Result<NaiveTime, domain::Error> {
    let invalid = || ValidationError::new(field, Some(text), Problem::NotATime).into();
    let (hours, minutes) = text.trim().split_once(':').ok_or_else(invalid)?;
    let valid_digits = |part: &str, max_len: usize| {
        !part.is_empty() && part.len() <= max_len && part.bytes().all(|b| b.is_ascii_digit())
    };
    if !valid_digits(hours, 2) || minutes.len() != 2 || !valid_digits(minutes, 2) {
        return Err(invalid());
    }
    let hours: u32 = hours.parse().map_err(|_| invalid())?;
    let minutes: u32 = minutes.parse().map_err(|_| invalid())?;
    NaiveTime::from_hms_opt(hours, minutes, 0).ok_or_else(invalid)
}

fn sequence_input(input: SequenceInput) -> Result<steps::SequenceInput, domain::Error> {
    let quiet_hours = match &input.quiet_hours {
        None => None,
        Some(quiet) => Some((
            parse_clock("quietHours.start", &quiet.start)?,
            parse_clock("quietHours.end", &quiet.end)?,
        )),
    };
    let weekdays = input.weekdays.iter().fold(0u8, |bits, day| {
        let index = WEEKDAYS.iter().position(|d| d == day).unwrap_or(0);
        bits | (1 << index)
    });
    Ok(steps::SequenceInput {
        name: input.name,
        trigger_event: input.trigger_event,
        goal_event: input.goal_event.filter(|goal| !goal.trim().is_empty()),
        window: SendWindow {
            quiet_hours,
            weekdays,
        },
        on_retrigger: match input.on_retrigger {
            OnRetrigger::Resume => Retrigger::Resume,
            OnRetrigger::Restart => Retrigger::Restart,
        },
        active: input.active,
    })
}

/// Reads a count that must lie between 0 and `max`; the domain checks the upper bound too.
fn non_negative(field: &str, value: Option<i32>, max: i64) -> Result<u32, domain::Error> {
    let value = value.ok_or_else(|| ValidationError::new(field, None, Problem::Required))?;
    u32::try_from(value).map_err(|_| {
        ValidationError::new(
            field,
            Some(&value.to_string()),
            Problem::OutOfRange { min: 0, max },
        )
        .into()
    })
}

fn step_input(input: StepInput) -> Result<steps::StepInput, domain::Error> {
    // A value for the other timing would be dropped without a word, so it is an error.
    let stray = match input.timing {
        StepTiming::DaysAfterTrigger => input
            .delay_minutes
            .map(|_| ("delayMinutes", "DAYS_AFTER_TRIGGER")),
        StepTiming::AfterPrevious => input
            .at
            .as_ref()
            .map(|_| ("at", "AFTER_PREVIOUS"))
            .or(input.days.map(|_| ("days", "AFTER_PREVIOUS"))),
    };
    if let Some((field, timing)) = stray {
        return Err(
            ValidationError::new(field, None, Problem::NotUsedWith { other: timing }).into(),
        );
    }
    let timing = match input.timing {
        StepTiming::DaysAfterTrigger => {
            let at = input
                .at
                .as_deref()
                .ok_or_else(|| ValidationError::new("at", None, Problem::Required))?;
            Timing::DaysAfterTrigger {
                days: non_negative("days", input.days, i64::from(steps::MAX_DAYS))?,
                at: parse_clock("at", at)?,
            }
        }
        StepTiming::AfterPrevious => Timing::AfterPrevious {
            minutes: non_negative(
                "delayMinutes",
                input.delay_minutes,
                i64::from(steps::MAX_DELAY_MINUTES),
            )?,
        },
    };
    Ok(steps::StepInput {
        timing,
        subject: input.subject,
        text: input.text,
        html: input.html,
    })
}

fn step_value(step: &sequence_step::Model) -> Step {
    let (timing, days, at, delay_minutes) = match steps::timing_of(step) {
        Timing::DaysAfterTrigger { days, at } => (
            StepTiming::DaysAfterTrigger,
            i32::try_from(days).ok(),
            Some(clock_text(at)),
            None,
        ),
        Timing::AfterPrevious { minutes } => (
            StepTiming::AfterPrevious,
            None,
            None,
            i32::try_from(minutes).ok(),
        ),
    };
    Step {
        id: ID(step.id.to_string()),
        timing,
        days,
        at,
        delay_minutes,
        subject: step.subject.clone(),
        text: step.text_body.clone(),
        html: step.html_body.clone(),
    }
}

fn sequence_value(sequence: steps::Sequence) -> Sequence {
    let window = sequence.window();
    let row = sequence.row;
    Sequence {
        id: ID(row.id.to_string()),
        name: row.name,
        trigger_event: row.trigger_event,
        goal_event: row.goal_event,
        quiet_hours: window.quiet_hours.map(|(start, end)| QuietHours {
            start: clock_text(start),
            end: clock_text(end),
        }),
        weekdays: WEEKDAYS
            .iter()
            .enumerate()
            .filter(|(index, _)| window.weekdays & ALL_WEEKDAYS & (1 << index) != 0)
            .map(|(_, day)| *day)
            .collect(),
        on_retrigger: match Retrigger::parse(&row.on_retrigger) {
            Retrigger::Resume => OnRetrigger::Resume,
            Retrigger::Restart => OnRetrigger::Restart,
        },
        active: row.active,
        steps: sequence.steps.iter().map(step_value).collect(),
    }
}

#[derive(Default)]
pub struct StepQuery;

#[Object]
impl StepQuery {
    /// The tenant's step-mail sequences, oldest first.
    async fn sequences(&self, ctx: &Context<'_>) -> ApiResult<Vec<Sequence>> {
        let tenant_id = ctx.authorize(Permission::ReadSchema)?;
        let list = steps::list(&ctx.state().db, tenant_id).await.api(ctx)?;
        Ok(list.into_iter().map(sequence_value).collect())
    }

    /// One sequence.
    async fn sequence(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Sequence> {
        let tenant_id = ctx.authorize(Permission::ReadSchema)?;
        let id = parse_id("id", &id).api(ctx)?;
        let sequence = steps::get(&ctx.state().db, tenant_id, id).await.api(ctx)?;
        Ok(sequence_value(sequence))
    }
}

#[derive(Default)]
pub struct StepMutation;

#[Object]
impl StepMutation {
    /// Sets the business's time zone (an IANA name such as `Asia/Tokyo`, the default). Step
    /// times, quiet hours and digest hours are local to it; waiting step mail is rescheduled.
    async fn set_time_zone(&self, ctx: &Context<'_>, name: String) -> ApiResult<Tenant> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        Ok(tenants::set_time_zone(&ctx.state().db, tenant_id, &name)
            .await
            .api(ctx)?
            .into())
    }

    /// Creates a sequence without steps.
    async fn create_sequence(
        &self,
        ctx: &Context<'_>,
        input: SequenceInput,
    ) -> ApiResult<Sequence> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let input = sequence_input(input).api(ctx)?;
        let sequence = steps::create(&ctx.state().db, tenant_id, input)
            .await
            .api(ctx)?;
        Ok(sequence_value(sequence))
    }

    /// Changes a sequence's settings; waiting enrollments are rescheduled.
    async fn update_sequence(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: SequenceInput,
    ) -> ApiResult<Sequence> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let id = parse_id("id", &id).api(ctx)?;
        let input = sequence_input(input).api(ctx)?;
        let sequence = steps::update(&ctx.state().db, tenant_id, id, input)
            .await
            .api(ctx)?;
        Ok(sequence_value(sequence))
    }

    /// Deletes a sequence, its steps and enrollments. Mail already sent stays in the outbox.
    async fn delete_sequence(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let id = parse_id("id", &id).api(ctx)?;
        steps::delete(&ctx.state().db, tenant_id, id)
            .await
            .api(ctx)?;
        Ok(true)
    }

    /// Adds a step at the end, or before the step `before`. Members already past that place
    /// do not get it unless `backfillStep` is run. Where its time has already passed for a
    /// member, it is skipped for that member instead of being sent at once.
    async fn add_step(
        &self,
        ctx: &Context<'_>,
        sequence_id: ID,
        input: StepInput,
        before: Option<ID>,
    ) -> ApiResult<Step> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let sequence_id = parse_id("sequenceId", &sequence_id).api(ctx)?;
        let before = before
            .map(|id| parse_id("before", &id))
            .transpose()
            .api(ctx)?;
        let input = step_input(input).api(ctx)?;
        let step = steps::add_step(&ctx.state().db, tenant_id, sequence_id, input, before)
            .await
            .api(ctx)?;
        Ok(step_value(&step))
    }

    /// Changes a step's timing or mail; waiting enrollments are rescheduled.
    async fn update_step(&self, ctx: &Context<'_>, id: ID, input: StepInput) -> ApiResult<Step> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let id = parse_id("id", &id).api(ctx)?;
        let input = step_input(input).api(ctx)?;
        let step = steps::update_step(&ctx.state().db, tenant_id, id, input)
            .await
            .api(ctx)?;
        Ok(step_value(&step))
    }

    /// Moves a step before the step `before`, or to the end without it. Members it now lies
    /// behind do not get it (see `backfillStep`), and no member gets a step twice.
    async fn move_step(&self, ctx: &Context<'_>, id: ID, before: Option<ID>) -> ApiResult<Step> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let id = parse_id("id", &id).api(ctx)?;
        let before = before
            .map(|before| parse_id("before", &before))
            .transpose()
            .api(ctx)?;
        let step = steps::move_step(&ctx.state().db, tenant_id, id, before)
            .await
            .api(ctx)?;
        Ok(step_value(&step))
    }

    /// Removes a step; members waiting for it move on to the next one.
    async fn remove_step(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let id = parse_id("id", &id).api(ctx)?;
        steps::remove_step(&ctx.state().db, tenant_id, id)
            .await
            .api(ctx)?;
        Ok(true)
    }

    /// Counts the members who passed an inserted step without getting it, and with
    /// `apply: true` queues the step for them. Run it without `apply` first to preview.
    async fn backfill_step(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = false)] apply: bool,
    ) -> ApiResult<u64> {
        let permission = if apply {
            Permission::WriteSchema
        } else {
            Permission::ReadSchema
        };
        let tenant_id = ctx.authorize(permission)?;
        let id = parse_id("id", &id).api(ctx)?;
        let count = enrollments::backfill(&ctx.state().db, tenant_id, id, apply, Utc::now())
            .await
            .api(ctx)?;
        if apply && count > 0 {
            queue_job(ctx, tenant_id, JobKind::CaptureOutbox).await;
        }
        Ok(count as u64)
    }

    /// Records an event of a member, such as `signup` or `inquiry_sent`: enrolls the member in
    /// the sequences it triggers and ends those whose goal it is. `occurredAt` (RFC 3339 with
    /// an offset) defaults to now; it times the steps.
    async fn record_member_event(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        event: String,
        occurred_at: Option<DateTime<Utc>>,
    ) -> ApiResult<MemberEventResult> {
        let tenant_id = ctx.authorize(Permission::WriteMembers)?;
        let member_id = MemberId(parse_id("memberId", &member_id).api(ctx)?);
        steps::validate_event("event", &event).api(ctx)?;
        let at = occurred_at.unwrap_or_else(Utc::now);
        let outcome = enrollments::record_event(&ctx.state().db, tenant_id, member_id, &event, at)
            .await
            .api(ctx)?;
        if outcome.enrolled > 0 {
            // A first step due at once goes out without waiting for the reconciler.
            queue_job(ctx, tenant_id, JobKind::RunSteps).await;
        }
        Ok(MemberEventResult {
            enrolled: outcome.enrolled as u64,
            reached_goal: outcome.reached_goal as u64,
        })
    }
}
