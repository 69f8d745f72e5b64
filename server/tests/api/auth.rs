//! Sign-up, login, sessions and roles.

use serde_json::json;

use crate::{
    helpers::{Database, OWNER_PASSWORD, Queue, error_code, spawn_app},
    on_both_databases,
};

const LOG_IN: &str = "mutation($input: LogInInput!) { logIn(input: $input) { accessToken operator { email role } tenant { slug } } }";

async fn sign_up_starts_session_for_owner(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;

    let body = app
        .graphql(
            Some(&token),
            "{ viewer { tenant { slug name listingCount } operator { email role locale } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["viewer"]["tenant"]["slug"], "sakura");
    assert_eq!(body["data"]["viewer"]["tenant"]["name"], "sakura 不動産");
    assert_eq!(body["data"]["viewer"]["tenant"]["listingCount"], 0);
    assert_eq!(
        body["data"]["viewer"]["operator"]["email"],
        "owner@sakura.example.jp"
    );
    assert_eq!(body["data"]["viewer"]["operator"]["role"], "OWNER");
    assert_eq!(body["data"]["viewer"]["operator"]["locale"], "JA");
    app.stop().await;
}
on_both_databases!(sign_up_starts_session_for_owner);

async fn duplicate_slug_is_rejected_with_field_and_value(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    app.sign_up("sakura").await;

    let body = app
        .graphql_in(
            None,
            "en",
            "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
            json!({ "input": { "tenantName": "Other", "tenantSlug": "Sakura", "email": "x@example.jp", "password": OWNER_PASSWORD } }),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    let extensions = &body["errors"][0]["extensions"];
    assert_eq!(extensions["field"], "tenantSlug");
    assert_eq!(extensions["reason"], "SLUG_TAKEN");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already taken"),
        "{body}"
    );
    app.stop().await;
}
on_both_databases!(duplicate_slug_is_rejected_with_field_and_value);

async fn log_in_checks_tenant_email_and_password(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    app.sign_up("sakura").await;
    app.sign_up("momiji").await;

    let ok = app
        .graphql(None, LOG_IN, json!({ "input": { "tenantSlug": "sakura", "email": "OWNER@sakura.example.jp", "password": OWNER_PASSWORD } }))
        .await;
    assert!(ok["errors"].is_null(), "{ok}");
    assert_eq!(ok["data"]["logIn"]["tenant"]["slug"], "sakura");

    let wrong_password = app
        .graphql(None, LOG_IN, json!({ "input": { "tenantSlug": "sakura", "email": "owner@sakura.example.jp", "password": "wrong password!" } }))
        .await;
    assert_eq!(error_code(&wrong_password), "UNAUTHENTICATED");
    assert!(
        wrong_password["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("パスワード"),
        "{wrong_password}"
    );

    let other_tenant = app
        .graphql(None, LOG_IN, json!({ "input": { "tenantSlug": "momiji", "email": "owner@sakura.example.jp", "password": OWNER_PASSWORD } }))
        .await;
    assert_eq!(error_code(&other_tenant), "UNAUTHENTICATED");
    app.stop().await;
}
on_both_databases!(log_in_checks_tenant_email_and_password);

#[tokio::test]
async fn log_in_is_rate_limited_after_ten_failures() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    app.sign_up("sakura").await;
    let attempt = |password: &'static str| {
        app.graphql(None, LOG_IN, json!({ "input": { "tenantSlug": "sakura", "email": "owner@sakura.example.jp", "password": password } }))
    };
    for _ in 0..10 {
        assert_eq!(
            error_code(&attempt("wrong password!").await),
            "UNAUTHENTICATED"
        );
    }
    let limited = attempt(OWNER_PASSWORD).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED");
    assert!(
        limited["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            > 0
    );
    app.stop().await;
}

/// Two server processes, each with its own limiter, draw on one budget of failed logins:
/// five failures through each leave the account locked for both.
async fn login_budget_is_shared_by_processes(database: Database) {
    use domain::operators::{LogIn, LoginLimiter, log_in};

    let app = spawn_app(database, Queue::Embedded).await;
    app.sign_up("sakura").await;
    let processes = [LoginLimiter::default(), LoginLimiter::default()];
    let attempt = |password: &str| LogIn {
        tenant_slug: "sakura".to_owned(),
        email: "owner@sakura.example.jp".to_owned(),
        password: secrecy::SecretString::from(password.to_owned()),
    };
    for round in 0..10 {
        let limiter = &processes[round % 2];
        let result = log_in(
            &app.state.db,
            &app.state.token_keys,
            limiter,
            attempt("wrong password!"),
            "198.51.100.7",
        )
        .await;
        assert!(
            matches!(result, Err(domain::Error::InvalidCredentials)),
            "attempt {round}: {:?}",
            result.err()
        );
    }
    for limiter in &processes {
        let result = log_in(
            &app.state.db,
            &app.state.token_keys,
            limiter,
            attempt(OWNER_PASSWORD),
            "198.51.100.7",
        )
        .await;
        assert!(
            matches!(result, Err(domain::Error::RateLimited { .. })),
            "{:?}",
            result.err()
        );
    }
    app.stop().await;
}
on_both_databases!(login_budget_is_shared_by_processes);

#[tokio::test]
async fn refresh_rotates_cookie_and_log_out_ends_session() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    app.sign_up("sakura").await;

    // The client's cookie store holds the refresh cookie set by signUp.
    let refreshed = app
        .graphql(
            None,
            "mutation { refreshSession { accessToken tenant { slug } } }",
            json!({}),
        )
        .await;
    assert!(refreshed["errors"].is_null(), "{refreshed}");
    let token = refreshed["data"]["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let viewer = app
        .graphql(Some(&token), "{ viewer { tenant { slug } } }", json!({}))
        .await;
    assert_eq!(viewer["data"]["viewer"]["tenant"]["slug"], "sakura");

    let logged_out = app.graphql(None, "mutation { logOut }", json!({})).await;
    assert_eq!(logged_out["data"]["logOut"], true);
    let after_logout = app
        .graphql(
            None,
            "mutation { refreshSession { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&after_logout), "UNAUTHENTICATED");
    app.stop().await;
}

#[tokio::test]
async fn reused_refresh_token_ends_all_sessions() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
            "variables": { "input": { "tenantName": "Sakura", "tenantSlug": "sakura", "email": "owner@sakura.example.jp", "password": OWNER_PASSWORD } } }))
        .send()
        .await
        .unwrap();
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let stolen = set_cookie.split(';').next().unwrap().to_owned();

    let refresh_with = |cookie: String| {
        let client = reqwest::Client::new();
        let url = format!("{}/graphql", app.address);
        async move {
            let response = client
                .post(url)
                .header("cookie", cookie)
                .json(&json!({ "query": "mutation { refreshSession { accessToken } }" }))
                .send()
                .await
                .unwrap();
            let rotated = response
                .headers()
                .get("set-cookie")
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
            (response.json::<serde_json::Value>().await.unwrap(), rotated)
        }
    };
    let (first, rotated) = refresh_with(stolen.clone()).await;
    assert!(first["errors"].is_null(), "{first}");
    let rotated = rotated.expect("refresh sets a new cookie");
    assert_ne!(rotated, stolen);

    let (replay, _) = refresh_with(stolen).await;
    assert_eq!(error_code(&replay), "UNAUTHENTICATED");
    // The replay of a used token revoked the token issued by the first refresh as well.
    let (after_replay, _) = refresh_with(rotated).await;
    assert_eq!(error_code(&after_replay), "UNAUTHENTICATED");
    app.stop().await;
}

#[tokio::test]
async fn requests_without_credentials_are_unauthenticated() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    for query in [
        "{ viewer { tenant { slug } } }",
        "{ listings { totalCount } }",
        "{ apiKeys { id } }",
        "{ listingSchema { name } }",
    ] {
        let body = app.graphql(None, query, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{query}: {body}");
    }
    let forged = app
        .graphql(
            Some("eyJhbGciOiJIUzI1NiJ9.e30.invalid"),
            "{ viewer { tenant { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&forged), "UNAUTHENTICATED");
    app.stop().await;
}

async fn viewer_role_reads_but_cannot_change_anything(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let owner = app.sign_up("sakura").await;
    let added = app
        .graphql(
            Some(&owner),
            "mutation($input: AddOperatorInput!) { addOperator(input: $input) { role } }",
            json!({ "input": { "email": "viewer@sakura.example.jp", "password": "viewer password 1", "role": "VIEWER" } }),
        )
        .await;
    assert_eq!(added["data"]["addOperator"]["role"], "VIEWER", "{added}");
    let viewer = app
        .graphql(None, LOG_IN, json!({ "input": { "tenantSlug": "sakura", "email": "viewer@sakura.example.jp", "password": "viewer password 1" } }))
        .await;
    let token = viewer["data"]["logIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let read = app
        .graphql(
            Some(&token),
            "{ listingSchema { name } listings { totalCount } }",
            json!({}),
        )
        .await;
    assert!(read["errors"].is_null(), "{read}");
    let write = app
        .graphql(
            Some(&token),
            "mutation { setListingSchema(fields: []) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&write), "FORBIDDEN");
    let keys = app
        .graphql(Some(&token), "{ apiKeys { id } }", json!({}))
        .await;
    assert_eq!(error_code(&keys), "FORBIDDEN");
    app.stop().await;
}
on_both_databases!(viewer_role_reads_but_cannot_change_anything);

#[tokio::test]
async fn admin_cannot_grant_owner_role() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    let owner = app.sign_up("sakura").await;
    let add = "mutation($input: AddOperatorInput!) { addOperator(input: $input) { role } }";
    app.graphql(Some(&owner), add, json!({ "input": { "email": "admin@sakura.example.jp", "password": "admin password 1", "role": "ADMIN" } }))
        .await;
    let admin = app
        .graphql(None, LOG_IN, json!({ "input": { "tenantSlug": "sakura", "email": "admin@sakura.example.jp", "password": "admin password 1" } }))
        .await;
    let admin_token = admin["data"]["logIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = app
        .graphql(Some(&admin_token), add, json!({ "input": { "email": "x@sakura.example.jp", "password": "another password", "role": "OWNER" } }))
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    assert_eq!(
        body["errors"][0]["extensions"]["reason"],
        "CANNOT_GRANT_OWNER"
    );
    app.stop().await;
}
