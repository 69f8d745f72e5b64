//! Sequences, their steps and enrollments, and the requests that change them.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, ApiError};
use crate::i18n::Catalogue;

/// The GraphQL enum values of `Weekday`, Monday first.
pub const WEEKDAYS: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

/// The enrollments each sequence card lists, due soonest first.
pub const UPCOMING_LIMIT: usize = 10;

const SEQUENCE_FIELDS: &str = "id name triggerEvent goalEvent quietHours { start end } weekdays \
    onRetrigger active steps { id timing days at delayMinutes subject text html } \
    enrollmentCounts { waiting finished ended byStep { stepId waiting } } \
    enrollments(first: 10) { memberId state endedReason nextDueAt }";

/// Local times without sending.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

/// One mail of a sequence.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub id: String,
    /// `DAYS_AFTER_TRIGGER` or `AFTER_PREVIOUS`.
    pub timing: String,
    pub days: Option<i32>,
    pub at: Option<String>,
    pub delay_minutes: Option<i32>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Step {
    /// Returns when the step goes out, such as 「登録から3日後 09:00」.
    pub fn timing_label(&self, t: &Catalogue) -> String {
        if self.timing == "AFTER_PREVIOUS" {
            (t.step_after_previous)(self.delay_minutes.unwrap_or(0))
        } else {
            (t.step_days_after)(
                self.days.unwrap_or(0),
                self.at.as_deref().unwrap_or("00:00"),
            )
        }
    }
}

/// The enrollments whose next step is `step_id`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepCount {
    pub step_id: String,
    pub waiting: u64,
}

/// The counts of a sequence's enrollments by state and by step.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentCounts {
    pub waiting: u64,
    pub finished: u64,
    pub ended: u64,
    pub by_step: Vec<StepCount>,
}

/// A member's place in a sequence.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    pub member_id: String,
    /// `ACTIVE` or `ENDED`.
    pub state: String,
    pub ended_reason: Option<String>,
    pub next_due_at: Option<String>,
}

/// A step-mail sequence as the page shows it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sequence {
    pub id: String,
    pub name: String,
    pub trigger_event: String,
    pub goal_event: Option<String>,
    pub quiet_hours: Option<QuietHours>,
    pub weekdays: Vec<String>,
    /// `RESUME` or `RESTART`.
    pub on_retrigger: String,
    pub active: bool,
    pub steps: Vec<Step>,
    pub enrollment_counts: EnrollmentCounts,
    pub enrollments: Vec<Enrollment>,
}

impl Sequence {
    /// Returns how many enrollments wait for `step_id`.
    pub fn waiting_for(&self, step_id: &str) -> u64 {
        self.enrollment_counts
            .by_step
            .iter()
            .find(|count| count.step_id == step_id)
            .map_or(0, |count| count.waiting)
    }

    /// Returns the settings as a `SequenceInput`, with `active` replaced.
    pub fn input_with_active(&self, active: bool) -> Value {
        json!({
            "name": self.name,
            "triggerEvent": self.trigger_event,
            "goalEvent": self.goal_event,
            "quietHours": self.quiet_hours.as_ref().map(|q| json!({ "start": q.start, "end": q.end })),
            "weekdays": self.weekdays,
            "onRetrigger": self.on_retrigger,
            "active": active,
        })
    }
}

/// The page's data: the tenant's time zone and its sequences.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequences {
    pub time_zone: String,
    pub sequences: Vec<Sequence>,
}

/// Fetches the time zone and every sequence with its steps and counts.
pub async fn fetch_sequences(api: Api) -> Result<Sequences, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Tenant {
        time_zone: String,
    }
    #[derive(Deserialize)]
    struct Data {
        tenant: Tenant,
        sequences: Vec<Sequence>,
    }
    let query =
        format!("query Sequences {{ tenant {{ timeZone }} sequences {{ {SEQUENCE_FIELDS} }} }}");
    let data: Data = api.request(&query, json!({})).await?;
    Ok(Sequences {
        time_zone: data.tenant.time_zone,
        sequences: data.sequences,
    })
}

/// Builds a `SequenceInput` from the new-sequence form's values.
pub fn sequence_input(
    name: &str,
    trigger_event: &str,
    goal_event: &str,
    quiet: Option<(&str, &str)>,
    weekdays: &[&str],
    restart: bool,
) -> Value {
    json!({
        "name": name,
        "triggerEvent": trigger_event,
        "goalEvent": (!goal_event.is_empty()).then_some(goal_event),
        "quietHours": quiet.map(|(start, end)| json!({ "start": start, "end": end })),
        "weekdays": weekdays,
        "onRetrigger": if restart { "RESTART" } else { "RESUME" },
        "active": true,
    })
}

/// Creates a sequence from a `SequenceInput`.
pub async fn create_sequence(api: Api, input: Value) -> Result<(), ApiError> {
    api.request::<Value>(
        "mutation CreateSequence($input: SequenceInput!) { createSequence(input: $input) { id } }",
        json!({ "input": input }),
    )
    .await?;
    Ok(())
}

/// Replaces a sequence's settings with a `SequenceInput`.
pub async fn update_sequence(api: Api, id: &str, input: Value) -> Result<(), ApiError> {
    api.request::<Value>(
        "mutation UpdateSequence($id: ID!, $input: SequenceInput!) { updateSequence(id: $id, input: $input) { id } }",
        json!({ "id": id, "input": input }),
    )
    .await?;
    Ok(())
}

/// Deletes a sequence with its steps and enrollments.
pub async fn delete_sequence(api: Api, id: &str) -> Result<(), ApiError> {
    api.request::<Value>(
        "mutation DeleteSequence($id: ID!) { deleteSequence(id: $id) }",
        json!({ "id": id }),
    )
    .await?;
    Ok(())
}

/// Builds a `StepInput` from the add-step form's values. `days`, `at` and `delay` are sent as typed;
/// the server names what is wrong with them.
pub fn step_input(
    after_previous: bool,
    days: &str,
    at: &str,
    delay: &str,
    subject: &str,
    text: &str,
) -> Value {
    let number = |text: &str| text.trim().parse::<i64>().ok();
    if after_previous {
        json!({ "timing": "AFTER_PREVIOUS", "delayMinutes": number(delay), "subject": subject, "text": text })
    } else {
        json!({ "timing": "DAYS_AFTER_TRIGGER", "days": number(days), "at": at.trim(), "subject": subject, "text": text })
    }
}

/// Adds a step at the end of a sequence, or before the step `before`.
pub async fn add_step(
    api: Api,
    sequence_id: &str,
    input: Value,
    before: Option<String>,
) -> Result<(), ApiError> {
    api.request::<Value>(
        "mutation AddStep($sequence: ID!, $input: StepInput!, $before: ID) { addStep(sequenceId: $sequence, input: $input, before: $before) { id } }",
        json!({ "sequence": sequence_id, "input": input, "before": before }),
    )
    .await?;
    Ok(())
}

/// Removes a step.
pub async fn remove_step(api: Api, id: &str) -> Result<(), ApiError> {
    api.request::<Value>(
        "mutation RemoveStep($id: ID!) { removeStep(id: $id) }",
        json!({ "id": id }),
    )
    .await?;
    Ok(())
}

/// Moves a step before the step `before`, or to the end.
pub async fn move_step(api: Api, id: &str, before: Option<&str>) -> Result<(), ApiError> {
    api.request::<Value>(
        "mutation MoveStep($id: ID!, $before: ID) { moveStep(id: $id, before: $before) { id } }",
        json!({ "id": id, "before": before }),
    )
    .await?;
    Ok(())
}

/// Counts, or with `apply` queues, the mails of a step for members who passed it.
pub async fn backfill_step(api: Api, id: &str, apply: bool) -> Result<u64, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        backfill_step: u64,
    }
    let data: Data = api
        .request(
            "mutation BackfillStep($id: ID!, $apply: Boolean!) { backfillStep(id: $id, apply: $apply) }",
            json!({ "id": id, "apply": apply }),
        )
        .await?;
    Ok(data.backfill_step)
}

/// Sets the tenant's time zone by its IANA name.
pub async fn set_time_zone(api: Api, name: &str) -> Result<(), ApiError> {
    api.request::<Value>(
        "mutation SetTimeZone($name: String!) { setTimeZone(name: $name) { timeZone } }",
        json!({ "name": name }),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    fn step(timing: &str) -> Step {
        Step {
            id: "s".to_owned(),
            timing: timing.to_owned(),
            days: Some(3),
            at: Some("09:00".to_owned()),
            delay_minutes: Some(90),
            subject: String::new(),
            text: String::new(),
            html: String::new(),
        }
    }

    #[test]
    fn timing_labels_name_days_time_and_delay() {
        let ja = Locale::Ja.catalogue();
        let en = Locale::En.catalogue();
        assert!(
            step("DAYS_AFTER_TRIGGER")
                .timing_label(ja)
                .contains("3日後")
        );
        assert!(
            step("DAYS_AFTER_TRIGGER")
                .timing_label(en)
                .contains("09:00")
        );
        assert!(step("AFTER_PREVIOUS").timing_label(ja).contains("90分"));
        assert!(
            step("AFTER_PREVIOUS")
                .timing_label(en)
                .contains("1 h 30 min")
        );
    }

    #[test]
    fn step_input_sends_numbers_or_null() {
        let input = step_input(false, " 3 ", "09:00", "", "s", "t");
        assert_eq!(input["days"], 3);
        assert_eq!(input["timing"], "DAYS_AFTER_TRIGGER");
        let input = step_input(true, "", "", "abc", "s", "t");
        assert!(input["delayMinutes"].is_null());
    }
}
