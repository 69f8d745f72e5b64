//! Step mail through the API: sequences and steps, member events, goals, unsubscribes, steps
//! inserted into a live sequence, backfills, and due times in the tenant's time zone. The
//! scheduler runs with a given `now` instead of the clock, and the dates are in 2030, so the
//! in-process workers' own runs (on the real clock) find nothing due.

use chrono::{DateTime, Utc};
use domain::{TenantId, outbox::capture, steps::run};
use serde_json::{Value, json};

use crate::{
    helpers::{Database, Queue, TestApp, postgres_in_zone, spawn_app},
    matching::{create_member, deliveries, settle},
    on_both_databases,
};

const CREATE_SEQUENCE: &str = "mutation($input: SequenceInput!) { createSequence(input: $input) { id weekdays quietHours { start end } } }";
const ADD_STEP: &str = "mutation($sequence: ID!, $input: StepInput!, $before: ID) { addStep(sequenceId: $sequence, input: $input, before: $before) { id at days } }";
const RECORD: &str = "mutation($member: ID!, $event: String!, $at: DateTime) { recordMemberEvent(memberId: $member, event: $event, occurredAt: $at) { enrolled reachedGoal } }";
const SEQUENCE: &str = "query($id: ID!) { sequence(id: $id) { steps { id subject } enrollmentCounts { waiting finished ended byStep { stepId waiting } } enrollments { memberId state endedReason nextDueAt } } }";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn create_sequence(app: &TestApp, token: &str, input: Value) -> String {
    let body = app
        .graphql(Some(token), CREATE_SEQUENCE, json!({ "input": input }))
        .await;
    body["data"]["createSequence"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("sequence rejected: {body}"))
        .to_owned()
}

fn days_step(days: u32, clock: &str, subject: &str) -> Value {
    json!({
        "timing": "DAYS_AFTER_TRIGGER", "days": days, "at": clock,
        "subject": subject, "text": "{{ member.email }} 様\n{{ unsubscribe_url }}",
    })
}

async fn add_step(
    app: &TestApp,
    token: &str,
    sequence: &str,
    input: Value,
    before: Option<&str>,
) -> String {
    let body = app
        .graphql(
            Some(token),
            ADD_STEP,
            json!({ "sequence": sequence, "input": input, "before": before }),
        )
        .await;
    body["data"]["addStep"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("step rejected: {body}"))
        .to_owned()
}

async fn record(app: &TestApp, token: &str, member: &str, event: &str, when: &str) -> Value {
    let body = app
        .graphql(
            Some(token),
            RECORD,
            json!({ "member": member, "event": event, "at": when }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["recordMemberEvent"].clone()
}

async fn sequence(app: &TestApp, token: &str, id: &str) -> Value {
    let body = app
        .graphql(Some(token), SEQUENCE, json!({ "id": id }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["sequence"].clone()
}

/// Runs the scheduler at `now` and returns how many deliveries it queued.
async fn run_at(app: &TestApp, tenant_id: TenantId, now: &str) -> usize {
    run::run_due(&app.state.db, tenant_id, at(now))
        .await
        .unwrap()
        .queued
}

/// Subjects of the member's step mails, oldest first, after rendering.
async fn step_subjects(
    app: &TestApp,
    token: &str,
    tenant_id: TenantId,
    member: &str,
) -> Vec<String> {
    capture::capture_queued(&app.state.db, &app.state.sending, tenant_id)
        .await
        .unwrap();
    // An in-process worker may hold the outbox lease and render the rest itself.
    settle(app).await;
    let mut mails = deliveries(app, token, Some(member)).await;
    mails.retain(|mail| mail["kind"] == "STEP");
    mails.reverse();
    mails
        .iter()
        .map(|mail| mail["subject"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// "Day 3 at 09:00" goes out at 09:00 Tokyo time on the third day, once however often the
/// scheduler runs; the next step, 12 hours later, waits for the end of the quiet hours. The
/// goal event ends a member's enrollment before anything is sent.
async fn steps_go_out_on_time_once_until_the_goal(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = app.sign_up("steps").await;
    let tenant_id = app.tenant_id(&token).await;
    let sequence_id = create_sequence(
        &app,
        &token,
        json!({ "name": "資料請求フォロー", "goalEvent": "inquiry_sent",
                "quietHours": { "start": "21:00", "end": "08:00" } }),
    )
    .await;
    add_step(
        &app,
        &token,
        &sequence_id,
        days_step(3, "09:00", "3日目のご案内"),
        None,
    )
    .await;
    let second = json!({ "timing": "AFTER_PREVIOUS", "delayMinutes": 720,
                         "subject": "続報", "text": "続報です {{ unsubscribe_url }}" });
    add_step(&app, &token, &sequence_id, second, None).await;
    let member_a = create_member(&app, &token, "a@example.com", json!({})).await;
    let member_b = create_member(&app, &token, "b@example.com", json!({})).await;

    // 08:30 in Tokyo on 11 March is still 10 March in UTC.
    let signup = "2030-03-11T08:30:00+09:00";
    assert_eq!(
        record(&app, &token, &member_a, "signup", signup).await["enrolled"],
        1
    );
    assert_eq!(
        record(&app, &token, &member_b, "signup", signup).await["enrolled"],
        1
    );
    let goal = record(
        &app,
        &token,
        &member_b,
        "inquiry_sent",
        "2030-03-12T10:00:00+09:00",
    )
    .await;
    assert_eq!(goal["reachedGoal"], 1);
    let signup_again = record(&app, &token, &member_a, "signup", signup).await;
    assert_eq!(
        signup_again["enrolled"], 0,
        "an active enrollment stays as it is"
    );

    assert_eq!(run_at(&app, tenant_id, "2030-03-13T23:59:00Z").await, 0);
    assert_eq!(run_at(&app, tenant_id, "2030-03-14T00:00:00Z").await, 1);
    assert_eq!(run_at(&app, tenant_id, "2030-03-14T00:00:00Z").await, 0);
    // 12 hours after 09:00 is 21:00, in the quiet hours: it waits until 08:00.
    assert_eq!(run_at(&app, tenant_id, "2030-03-14T22:59:00Z").await, 0);
    assert_eq!(run_at(&app, tenant_id, "2030-03-14T23:00:00Z").await, 1);
    assert_eq!(run_at(&app, tenant_id, "2030-04-30T00:00:00Z").await, 0);

    assert_eq!(
        step_subjects(&app, &token, tenant_id, &member_a).await,
        ["3日目のご案内", "続報"]
    );
    assert!(
        step_subjects(&app, &token, tenant_id, &member_b)
            .await
            .is_empty()
    );
    let state = sequence(&app, &token, &sequence_id).await;
    assert_eq!(state["enrollmentCounts"]["finished"], 1, "{state}");
    assert_eq!(state["enrollmentCounts"]["ended"], 1, "{state}");
    assert_eq!(state["enrollmentCounts"]["waiting"], 0, "{state}");
    let ended = state["enrollments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["memberId"] == member_b.as_str())
        .unwrap();
    assert_eq!(ended["endedReason"], "goal");

    // The sequence's history lists its two mails, each with its step; another lists none.
    let other_id = create_sequence(&app, &token, json!({ "name": "別の流れ" })).await;
    let history =
        "query($id: ID!) { deliveries(sequenceId: $id) { totalCount nodes { kind stepId } } }";
    let mine = app
        .graphql(Some(&token), history, json!({ "id": sequence_id }))
        .await;
    assert_eq!(mine["data"]["deliveries"]["totalCount"], 2, "{mine}");
    let nodes = mine["data"]["deliveries"]["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .all(|mail| mail["kind"] == "STEP" && mail["stepId"].is_string()),
        "{mine}"
    );
    let other = app
        .graphql(Some(&token), history, json!({ "id": other_id }))
        .await;
    assert_eq!(other["data"]["deliveries"]["totalCount"], 0, "{other}");
    let stranger = app.sign_up("steps-stranger").await;
    let theirs = app
        .graphql(Some(&stranger), history, json!({ "id": sequence_id }))
        .await;
    assert_eq!(theirs["data"]["deliveries"]["totalCount"], 0, "{theirs}");
    app.stop().await;
}
on_both_databases!(steps_go_out_on_time_once_until_the_goal);

/// A step inserted before a member's place is not sent to that member; one inserted ahead of
/// it is. A backfill previews and then queues the missed step once. Unsubscribing ends the
/// enrollment.
async fn inserted_steps_send_no_surprise_mail(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = app.sign_up("steps-edit").await;
    let tenant_id = app.tenant_id(&token).await;
    let sequence_id = create_sequence(&app, &token, json!({ "name": "入会後" })).await;
    let first = add_step(
        &app,
        &token,
        &sequence_id,
        days_step(1, "09:00", "1日目"),
        None,
    )
    .await;
    let last = add_step(
        &app,
        &token,
        &sequence_id,
        days_step(5, "09:00", "5日目"),
        None,
    )
    .await;
    let member = create_member(&app, &token, "a@example.com", json!({})).await;
    let leaver = create_member(&app, &token, "leaver@example.com", json!({})).await;
    record(&app, &token, &member, "signup", "2030-03-11T08:30:00+09:00").await;
    record(&app, &token, &leaver, "signup", "2030-03-11T08:30:00+09:00").await;
    assert_eq!(run_at(&app, tenant_id, "2030-03-12T00:00:00Z").await, 2);

    let body = app
        .graphql(
            Some(&token),
            "mutation($id: ID!) { setMemberSubscribed(id: $id, subscribed: false) { id } }",
            json!({ "id": leaver }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let skipped = add_step(
        &app,
        &token,
        &sequence_id,
        days_step(0, "10:00", "当日"),
        Some(&first),
    )
    .await;
    add_step(
        &app,
        &token,
        &sequence_id,
        days_step(2, "09:00", "2日目"),
        Some(&last),
    )
    .await;
    let state = sequence(&app, &token, &sequence_id).await;
    let subjects: Vec<&str> = state["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["当日", "1日目", "2日目", "5日目"]);

    assert_eq!(run_at(&app, tenant_id, "2030-03-13T00:00:00Z").await, 1);
    assert_eq!(run_at(&app, tenant_id, "2030-03-16T00:00:00Z").await, 1);
    assert_eq!(run_at(&app, tenant_id, "2030-06-01T00:00:00Z").await, 0);
    assert_eq!(
        step_subjects(&app, &token, tenant_id, &member).await,
        ["1日目", "2日目", "5日目"]
    );
    assert_eq!(
        step_subjects(&app, &token, tenant_id, &leaver).await,
        ["1日目"]
    );

    let backfill = "mutation($id: ID!, $apply: Boolean!) { backfillStep(id: $id, apply: $apply) }";
    for (apply, expected) in [(false, 1), (true, 1), (true, 0)] {
        let body = app
            .graphql(
                Some(&token),
                backfill,
                json!({ "id": skipped, "apply": apply }),
            )
            .await;
        assert_eq!(
            body["data"]["backfillStep"], expected,
            "apply {apply}: {body}"
        );
    }
    assert_eq!(
        step_subjects(&app, &token, tenant_id, &member).await,
        ["1日目", "2日目", "5日目", "当日"]
    );
    let state = sequence(&app, &token, &sequence_id).await;
    let left = state["enrollments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["memberId"] == leaver.as_str())
        .unwrap();
    assert_eq!(left["state"], "ENDED");
    assert_eq!(left["endedReason"], "unsubscribed");
    app.stop().await;
}
on_both_databases!(inserted_steps_send_no_surprise_mail);

/// Checks that a step moved behind a member's place is not sent to that member unless
/// backfilled, and that a step the member got is not sent again when moved ahead.
async fn moved_steps_send_no_surprise_mail(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = app.sign_up("steps-move").await;
    let tenant_id = app.tenant_id(&token).await;
    let sequence_id = create_sequence(&app, &token, json!({ "name": "並べ替え" })).await;
    let first = add_step(
        &app,
        &token,
        &sequence_id,
        days_step(1, "09:00", "1日目"),
        None,
    )
    .await;
    let third = add_step(
        &app,
        &token,
        &sequence_id,
        days_step(3, "09:00", "3日目"),
        None,
    )
    .await;
    add_step(
        &app,
        &token,
        &sequence_id,
        days_step(5, "09:00", "5日目"),
        None,
    )
    .await;
    let member = create_member(&app, &token, "a@example.com", json!({})).await;
    record(&app, &token, &member, "signup", "2030-03-01T08:00:00+09:00").await;
    assert_eq!(run_at(&app, tenant_id, "2030-03-02T00:00:00Z").await, 1);

    let moving = "mutation($id: ID!, $before: ID) { moveStep(id: $id, before: $before) { id } }";
    let moved = app
        .graphql(
            Some(&token),
            moving,
            json!({ "id": third, "before": first }),
        )
        .await;
    assert_eq!(moved["data"]["moveStep"]["id"], third.as_str(), "{moved}");
    let order = sequence(&app, &token, &sequence_id).await;
    let subjects: Vec<&str> = order["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["3日目", "1日目", "5日目"]);

    assert_eq!(run_at(&app, tenant_id, "2030-03-04T00:00:00Z").await, 0);
    assert_eq!(run_at(&app, tenant_id, "2030-03-06T00:00:00Z").await, 1);
    let backfill = app
        .graphql(
            Some(&token),
            "mutation($id: ID!) { backfillStep(id: $id) }",
            json!({ "id": third }),
        )
        .await;
    assert_eq!(backfill["data"]["backfillStep"], 1, "{backfill}");

    // Day 1, which the member got, moves to the end: the member reaches it again and gets
    // nothing.
    let moved = app
        .graphql(Some(&token), moving, json!({ "id": first }))
        .await;
    assert!(moved["errors"].is_null(), "{moved}");
    assert_eq!(run_at(&app, tenant_id, "2030-04-01T00:00:00Z").await, 0);
    assert_eq!(
        step_subjects(&app, &token, tenant_id, &member).await,
        ["1日目", "5日目"]
    );
    app.stop().await;
}
on_both_databases!(moved_steps_send_no_surprise_mail);

/// "Day 3 at 09:00" counts dates in the tenant's time zone: in Tokyo from a signup that is
/// still the previous day in UTC, in Los Angeles across the start of daylight saving time.
/// Times without an offset are rejected, and so is an unknown time zone.
async fn day_three_follows_local_dates_across_dst(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    assert_day_three_dates(&app, &app.state.db).await;

    let token = app.sign_up("bad-input").await;
    let sequence_id = create_sequence(&app, &token, json!({ "name": "入力の誤り" })).await;
    let mixed = json!({ "timing": "AFTER_PREVIOUS", "delayMinutes": 5, "at": "09:00",
                        "subject": "s", "text": "t" });
    let body = app
        .graphql(
            Some(&token),
            ADD_STEP,
            json!({ "sequence": sequence_id, "input": mixed }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "at", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "NOT_USED_WITH");
    let member = create_member(&app, &token, "a@example.com", json!({})).await;
    let body = app
        .graphql(
            Some(&token),
            RECORD,
            json!({ "member": member, "event": "signup", "at": "2030-03-20T09:00:00" }),
        )
        .await;
    assert!(
        !body["errors"].is_null(),
        "a time without an offset is rejected: {body}"
    );
    let body = app
        .graphql(
            Some(&token),
            "mutation { setTimeZone(name: \"Asia/Tokio\") { timeZone } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["value"], "Asia/Tokio");
    app.stop().await;
}
on_both_databases!(day_three_follows_local_dates_across_dst);

/// The scheduler finds the same steps due through database sessions in another time zone
/// (UTC-4 here), so no due time depends on the session's zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn day_three_ignores_session_time_zone() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app(Database::Postgres, Queue::Embedded).await;
    let zoned = postgres_in_zone(&app, "Etc/GMT+4").await;
    let zone = zoned
        .query_one_raw(sea_orm::Statement::from_string(
            zoned.get_database_backend(),
            "SHOW TimeZone",
        ))
        .await
        .unwrap()
        .unwrap();
    let zone: String = zone.try_get("", "TimeZone").unwrap();
    assert_eq!(
        zone, "Etc/GMT+4",
        "the scheduler's session runs in the other zone"
    );
    assert_day_three_dates(&app, &zoned).await;
    app.stop().await;
}

/// Signs up a tenant in Tokyo and one in Los Angeles, each with a "day 3 at 09:00" step, and
/// checks when a member's step falls due and when the scheduler, using `scheduler_db`, queues
/// it.
async fn assert_day_three_dates(app: &TestApp, scheduler_db: &sea_orm::DatabaseConnection) {
    let cases = [
        (
            "tokyo",
            None,
            "2030-03-11T08:30:00+09:00",
            "2030-03-14T00:00:00Z",
        ),
        // Daylight saving time starts on Sunday 10 March 2030 in Los Angeles.
        (
            "los-angeles",
            Some("America/Los_Angeles"),
            "2030-03-08T10:00:00-08:00",
            "2030-03-11T16:00:00Z",
        ),
    ];
    for (slug, zone, signup, expected) in cases {
        let token = app.sign_up(slug).await;
        if let Some(zone) = zone {
            let body = app
                .graphql(
                    Some(&token),
                    "mutation($name: String!) { setTimeZone(name: $name) { timeZone } }",
                    json!({ "name": zone }),
                )
                .await;
            assert_eq!(body["data"]["setTimeZone"]["timeZone"], zone, "{body}");
        }
        let sequence_id = create_sequence(app, &token, json!({ "name": "3日目" })).await;
        add_step(
            app,
            &token,
            &sequence_id,
            days_step(3, "09:00", "3日目"),
            None,
        )
        .await;
        let member = create_member(app, &token, "a@example.com", json!({})).await;
        record(app, &token, &member, "signup", signup).await;

        let state = sequence(app, &token, &sequence_id).await;
        let due = state["enrollments"][0]["nextDueAt"].as_str().unwrap();
        assert_eq!(at(due), at(expected), "{slug}");

        let tenant_id = app.tenant_id(&token).await;
        let minute_before = (at(expected) - chrono::Duration::minutes(1)).to_rfc3339();
        let queued = |now: DateTime<Utc>| run::run_due(scheduler_db, tenant_id, now);
        assert_eq!(
            queued(at(&minute_before)).await.unwrap().queued,
            0,
            "{slug}"
        );
        assert_eq!(queued(at(expected)).await.unwrap().queued, 1, "{slug}");
    }
}

/// A first step due at once goes from the event through the worker's scheduler and outbox
/// jobs into the outbox, rendered.
async fn immediate_step_reaches_the_outbox_through_the_worker(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = app.sign_up("steps-now").await;
    let sequence_id = create_sequence(&app, &token, json!({ "name": "お礼" })).await;
    let thanks = json!({ "timing": "AFTER_PREVIOUS", "delayMinutes": 0,
                         "subject": "ご登録ありがとうございます",
                         "text": "{{ tenant.name }} より\n{{ unsubscribe_url }}" });
    add_step(&app, &token, &sequence_id, thanks, None).await;
    let member = create_member(&app, &token, "a@example.com", json!({})).await;
    let body = app
        .graphql(
            Some(&token),
            "mutation($member: ID!) { recordMemberEvent(memberId: $member, event: \"signup\") { enrolled } }",
            json!({ "member": member }),
        )
        .await;
    assert_eq!(body["data"]["recordMemberEvent"]["enrolled"], 1, "{body}");

    for _ in 0..300 {
        let mails = deliveries(&app, &token, Some(&member)).await;
        if let Some(mail) = mails.iter().find(|mail| mail["state"] == "CAPTURED") {
            assert_eq!(mail["kind"], "STEP");
            assert_eq!(mail["subject"], "ご登録ありがとうございます");
            assert!(mail["textBody"].as_str().unwrap().contains("/u/"), "{mail}");
            app.stop().await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the step mail did not reach the outbox within 30 s");
}
on_both_databases!(immediate_step_reaches_the_outbox_through_the_worker);
