//! Broadcasts through the API: send times with and without an offset, local times in the
//! tenant's zone, cancelling, and queuing each subscribed member's copy once. Queuing runs with
//! a given `now`; the dates are in 2030, so the in-process workers (on the real clock) find
//! nothing due.

use chrono::{DateTime, Utc};
use domain::{TenantId, broadcasts, outbox::capture};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    helpers::{Database, Queue, TestApp, error_code, spawn_app},
    matching::{create_member, deliveries, settle},
    on_both_databases,
};

const SCHEDULE: &str = "mutation($input: BroadcastInput!) { scheduleBroadcast(input: $input) { id sendAt localSendAt state } }";
const LIST: &str = "{ broadcasts { id state recipientCount localSendAt } }";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn input(send: (&str, &str)) -> Value {
    let (key, value) = send;
    json!({
        "subject": "{{ tenant.name }}からのお知らせ",
        "text": "{{ member.email }} 様\n春のキャンペーンのお知らせです。\n{{ unsubscribe_url }}",
        key: value,
    })
}

async fn schedule(app: &TestApp, token: &str, send: (&str, &str)) -> Value {
    app.graphql(Some(token), SCHEDULE, json!({ "input": input(send) }))
        .await
}

async fn queue_at(app: &TestApp, tenant_id: TenantId, now: &str) -> usize {
    broadcasts::queue_due(&app.state.db, tenant_id, at(now))
        .await
        .unwrap()
}

/// Checks that a broadcast at 09:00 Tokyo time reaches each subscribed member once at that
/// instant, given with an offset or as a local time. A time without either is rejected, and a
/// cancelled broadcast sends nothing.
async fn broadcast_goes_out_once_at_its_time(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = app.sign_up("broadcasts").await;
    let tenant_id = app.tenant_id(&token).await;
    create_member(&app, &token, "a@example.com", json!({})).await;
    create_member(&app, &token, "b@example.com", json!({})).await;
    let leaver = create_member(&app, &token, "c@example.com", json!({})).await;
    app.graphql(
        Some(&token),
        "mutation($id: ID!) { setMemberSubscribed(id: $id, subscribed: false) { id } }",
        json!({ "id": leaver }),
    )
    .await;

    let no_offset = schedule(&app, &token, ("sendAt", "2030-03-20T09:00:00")).await;
    assert!(no_offset["data"].is_null(), "{no_offset}");
    assert_eq!(error_code(&no_offset), "VALIDATION", "{no_offset}");
    let message = no_offset["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("時差") && message.contains("localSendAt"),
        "{message}"
    );

    let with_offset = schedule(&app, &token, ("sendAt", "2030-03-20T09:00:00+09:00")).await;
    let first = &with_offset["data"]["scheduleBroadcast"];
    assert_eq!(
        at(first["sendAt"].as_str().unwrap()),
        at("2030-03-20T00:00:00Z")
    );
    assert_eq!(first["localSendAt"], "2030-03-20T09:00:00+09:00");
    assert_eq!(first["state"], "SCHEDULED");

    let local = schedule(&app, &token, ("localSendAt", "2030-03-20T09:00")).await;
    let second = &local["data"]["scheduleBroadcast"];
    assert_eq!(second["sendAt"], first["sendAt"], "{local}");
    let cancel = "mutation($id: ID!) { cancelBroadcast(id: $id) { state } }";
    let cancelled = app
        .graphql(Some(&token), cancel, json!({ "id": second["id"] }))
        .await;
    assert_eq!(cancelled["data"]["cancelBroadcast"]["state"], "CANCELLED");
    let again = app
        .graphql(Some(&token), cancel, json!({ "id": second["id"] }))
        .await;
    assert_eq!(
        again["errors"][0]["extensions"]["reason"], "BROADCAST_NOT_SCHEDULED",
        "{again}"
    );

    let past = schedule(&app, &token, ("localSendAt", "2020-01-01T09:00")).await;
    assert_eq!(
        past["errors"][0]["extensions"]["reason"], "IN_THE_PAST",
        "{past}"
    );
    assert_eq!(
        past["errors"][0]["extensions"]["field"], "localSendAt",
        "named as given: {past}"
    );
    let garbled = schedule(&app, &token, ("localSendAt", "3月20日9時")).await;
    assert_eq!(garbled["errors"][0]["extensions"]["field"], "localSendAt");

    // Mistakes in the mail are refused now, not found for every recipient at send time.
    let mut no_link = input(("localSendAt", "2030-03-21T09:00"));
    no_link["text"] = json!("本文だけ {{ member.email }}");
    let refused = app
        .graphql(Some(&token), SCHEDULE, json!({ "input": no_link }))
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["reason"], "UNSUBSCRIBE_LINK_MISSING",
        "{refused}"
    );
    let mut unknown = input(("localSendAt", "2030-03-21T09:00"));
    unknown["subject"] = json!("お知らせ {{ member.nope.deep }}");
    let refused = app
        .graphql(Some(&token), SCHEDULE, json!({ "input": unknown }))
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["field"], "subject",
        "{refused}"
    );

    assert_eq!(queue_at(&app, tenant_id, "2030-03-19T23:59:59Z").await, 0);
    assert_eq!(queue_at(&app, tenant_id, "2030-03-20T00:00:00Z").await, 2);
    assert_eq!(queue_at(&app, tenant_id, "2030-03-20T00:00:30Z").await, 0);

    // A run that stopped half-way starts again without a second copy for anyone.
    app.state
        .db
        .execute_unprepared("UPDATE broadcasts SET state = 'queuing' WHERE state = 'queued'")
        .await
        .unwrap();
    assert_eq!(queue_at(&app, tenant_id, "2030-03-20T00:01:00Z").await, 0);

    let list = app.graphql(Some(&token), LIST, json!({})).await;
    let rows = list["data"]["broadcasts"].as_array().unwrap();
    let sent = rows.iter().find(|row| row["id"] == first["id"]).unwrap();
    assert_eq!(sent["state"], "QUEUED", "{list}");
    assert_eq!(sent["recipientCount"], 2, "{list}");
    let dropped = rows.iter().find(|row| row["id"] == second["id"]).unwrap();
    assert_eq!(dropped["state"], "CANCELLED", "{list}");

    capture::capture_queued(&app.state.db, &app.state.sending, tenant_id)
        .await
        .unwrap();
    // An in-process worker may hold the outbox lease and render the rest itself.
    settle(&app).await;
    let copies = app
        .graphql(
            Some(&token),
            "query($id: ID!) { deliveries(broadcastId: $id, kind: BROADCAST) { totalCount } }",
            json!({ "id": first["id"] }),
        )
        .await;
    assert_eq!(copies["data"]["deliveries"]["totalCount"], 2, "{copies}");
    let other_kind = app
        .graphql(
            Some(&token),
            "query($id: ID!) { deliveries(broadcastId: $id, kind: STEP) { totalCount } }",
            json!({ "id": first["id"] }),
        )
        .await;
    assert_eq!(
        other_kind["data"]["deliveries"]["totalCount"], 0,
        "{other_kind}"
    );
    let mut mails = deliveries(&app, &token, None).await;
    mails.retain(|mail| mail["kind"] == "BROADCAST");
    let mut addresses: Vec<&str> = mails
        .iter()
        .map(|mail| mail["toAddress"].as_str().unwrap())
        .collect();
    addresses.sort_unstable();
    assert_eq!(addresses, ["a@example.com", "b@example.com"]);
    assert!(
        mails
            .iter()
            .all(|mail| mail["subject"] == "broadcasts 不動産からのお知らせ"),
        "{mails:?}"
    );
    app.stop().await;
}
on_both_databases!(broadcast_goes_out_once_at_its_time);

/// Another tenant can neither list nor cancel a tenant's broadcast.
async fn broadcasts_stay_with_their_tenant(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let owner = app.sign_up("broadcast-owner").await;
    let stranger = app.sign_up("broadcast-stranger").await;
    let body = schedule(&app, &owner, ("localSendAt", "2030-05-01T10:00")).await;
    let id = body["data"]["scheduleBroadcast"]["id"].clone();

    let theirs = app.graphql(Some(&stranger), LIST, json!({})).await;
    assert_eq!(theirs["data"]["broadcasts"], json!([]), "{theirs}");
    let cancel = app
        .graphql(
            Some(&stranger),
            "mutation($id: ID!) { cancelBroadcast(id: $id) { state } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&cancel), "NOT_FOUND", "{cancel}");
    let mine = app.graphql(Some(&owner), LIST, json!({})).await;
    assert_eq!(
        mine["data"]["broadcasts"][0]["state"], "SCHEDULED",
        "{mine}"
    );
    app.stop().await;
}
on_both_databases!(broadcasts_stay_with_their_tenant);
