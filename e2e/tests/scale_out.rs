//! The scale-out deployment: a server that runs no jobs itself, and a separate `worker` process,
//! both on PostgreSQL and Redis. A CSV import started through the API is run by the worker,
//! which then matches the new listings and renders the mails into the outbox.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on broken set-up"
)]

use std::time::{Duration, Instant};

use e2e::{Deployment, ServerProcess, WorkerProcess};
use serde_json::{Value, json};

async fn graphql(url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_worker_process_runs_imports_from_redis() {
    let deployment = Deployment::postgres_and_redis().await.expect("deployment");
    let server = ServerProcess::start_with(&deployment, 0)
        .await
        .expect("server");
    let _worker = WorkerProcess::start(&deployment).expect("worker");

    let signed_up = graphql(
        &server.url,
        None,
        "mutation { signUp(input: {tenantName: \"Scale\", tenantSlug: \"scale-out\", email: \"owner@scale.example.jp\", password: \"correct horse battery\"}) { accessToken } }",
        json!({}),
    )
    .await;
    let token = signed_up["data"]["signUp"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{signed_up}"))
        .to_owned();
    graphql(&server.url, Some(&token), "mutation { setListingSchema(fields: [{name: \"name\", fieldType: TEXT, labelJa: \"名称\", labelEn: \"Name\"}]) { name } }", json!({})).await;
    graphql(&server.url, Some(&token), "mutation { setProfileFields(fields: [{name: \"keywords\", fieldType: TAGS, labelJa: \"キーワード\", labelEn: \"Keywords\"}]) { name } }", json!({})).await;
    let rule = graphql(&server.url, Some(&token), "mutation { createMatchRule(rule: {name: \"キーワード\", clauses: [{listingField: \"name\", operator: CONTAINS_KEYWORD, profileField: \"keywords\"}]}) { id } }", json!({})).await;
    assert!(rule["errors"].is_null(), "{rule}");
    // "物件 11" is in the names of listings 11, 110-119 and 1100-1199: 111 listings.
    let member = graphql(&server.url, Some(&token), "mutation { createMember(member: {email: \"m@example.jp\", profile: {keywords: [\"物件 11\"]}}) { id } }", json!({})).await;
    assert!(member["errors"].is_null(), "{member}");

    let csv: String = std::iter::once("id,name\n".to_owned())
        .chain((0..1_200).map(|i| format!("{i},物件 {i}\n")))
        .collect();
    let started = graphql(
        &server.url,
        Some(&token),
        "mutation($csv: String!) { importListingsCsv(input: {csv: $csv, externalIdColumn: \"id\", columns: [{column: \"name\", field: \"name\"}]}) { id } }",
        json!({ "csv": csv }),
    )
    .await;
    let id = started["data"]["importListingsCsv"]["id"].clone();
    assert!(!id.is_null(), "{started}");

    let deadline = Instant::now() + Duration::from_secs(60);
    let import = loop {
        let body = graphql(
            &server.url,
            Some(&token),
            "query($id: ID!) { listingImport(id: $id) { status created } }",
            json!({ "id": id }),
        )
        .await;
        let import = body["data"]["listingImport"].clone();
        if import["status"] == "SUCCEEDED" || import["status"] == "FAILED" {
            break import;
        }
        assert!(
            Instant::now() < deadline,
            "the worker did not finish the import: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(import["status"], "SUCCEEDED");
    assert_eq!(import["created"], 1_200);

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = graphql(
            &server.url,
            Some(&token),
            "{ deliveries(state: CAPTURED) { totalCount } queued: deliveries(state: QUEUED) { totalCount } }",
            json!({}),
        )
        .await;
        let captured = body["data"]["deliveries"]["totalCount"]
            .as_u64()
            .unwrap_or(0);
        if captured >= 111 {
            assert_eq!(captured, 111, "{body}");
            assert_eq!(body["data"]["queued"]["totalCount"], 0, "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker did not match and render the mails: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
