//! Request limits and error hygiene.

use serde_json::json;

use crate::helpers::{Database, Queue, spawn_app};

#[tokio::test]
async fn costly_query_is_rejected_before_execution() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;
    let aliases: String = (0..60)
        .map(|i| format!("a{i}: listings(first: 200) {{ nodes {{ id externalId }} }} "))
        .collect();
    let body = app
        .graphql(Some(&token), &format!("{{ {aliases} }}"), json!({}))
        .await;
    let message = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("complex"), "{body}");
    assert!(body["data"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn errors_carry_code_and_never_sql() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;
    let body = app
        .graphql(
            Some(&token),
            "{ listingImport(id: \"not-a-uuid\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let text = body.to_string().to_lowercase();
    for leak in ["select", "sqlite", "sqlx", "database"] {
        assert!(!text.contains(leak), "{leak} leaked: {body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn health_reports_database_status() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    let response = app
        .client
        .get(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    app.stop().await;
}
