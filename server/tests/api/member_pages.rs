//! The member pages over HTTP with a cookie-keeping client: sign-up with double opt-in, the
//! confirmation and reset mails in the outbox, login, editing conditions, password change and
//! reset, CSRF rejection, unsubscribe from everything and account deletion.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{Database, Queue, TestApp, spawn_app},
    matching::rental_tenant,
    on_both_databases,
};

const SLUG: &str = "members-site";
const PASSWORD: &str = "members-password-1";

fn page_url(app: &TestApp, rest: &str) -> String {
    format!("{}/m/{SLUG}/{rest}", app.address)
}

/// Returns the CSRF token of the first form in `html`.
fn csrf_of(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

async fn get(app: &TestApp, rest: &str) -> (StatusCode, String) {
    let response = app.client.get(page_url(app, rest)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn post(app: &TestApp, rest: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = app
        .client
        .post(page_url(app, rest))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Renders queued mail and returns the path (after the host) of the newest account mail's
/// link that contains `marker`.
async fn link_in_mail(app: &TestApp, token: &str, marker: &str) -> String {
    let tenant_id = app.tenant_id(token).await;
    domain::outbox::capture::capture_queued(&app.state.db, &app.state.sending, tenant_id)
        .await
        .unwrap();
    let body = app
        .graphql(
            Some(token),
            "{ deliveries(first: 20) { nodes { kind textBody } } }",
            json!({}),
        )
        .await;
    let nodes = body["data"]["deliveries"]["nodes"].as_array().unwrap();
    let text = nodes
        .iter()
        .filter(|mail| mail["kind"] == "ACCOUNT")
        .filter_map(|mail| mail["textBody"].as_str())
        .find(|text| text.contains(marker))
        .unwrap_or_else(|| panic!("no account mail with {marker}: {body}"));
    let start = text.find(marker).unwrap();
    let end = text[start..]
        .find(char::is_whitespace)
        .map_or(text.len(), |end| start + end);
    let path = &text[start..end];
    path.trim_start_matches(&format!("/m/{SLUG}/")).to_owned()
}

async fn member_of(app: &TestApp, token: &str) -> Option<Value> {
    let body = app
        .graphql(
            Some(token),
            "{ members(first: 10) { nodes { id email subscribed pendingConfirmation frequency profile } } }",
            json!({}),
        )
        .await;
    body["data"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .first()
        .cloned()
}

/// A visitor signs up, confirms from the mail (which starts the signup sequence), logs in,
/// changes conditions and password, resets the password from a mail, and finally unsubscribes
/// and deletes the account. Forms without the CSRF token are rejected.
async fn member_signs_up_manages_and_leaves(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, SLUG).await;
    let sequence = app
        .graphql(
            Some(&token),
            "mutation { createSequence(input: { name: \"ようこそ\" }) { id } }",
            json!({}),
        )
        .await;
    let sequence_id = sequence["data"]["createSequence"]["id"].clone();

    let (status, html) = get(&app, "signup").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("渋谷区") && html.contains("仮登録する"),
        "{html}"
    );
    let csrf = csrf_of(&html);
    let signup = [
        ("csrf", csrf.as_str()),
        ("email", "Hanako@Example.jp"),
        ("password", PASSWORD),
        ("p.areas", "shibuya"),
        ("p.max_rent", "10万円"),
        ("frequency", "instant"),
    ];
    let (status, html) = post(&app, "signup", &signup).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "consent is required: {html}"
    );
    assert!(html.contains("にチェックを入れてください"), "{html}");
    assert!(
        html.contains("value=\"shibuya\" checked"),
        "entries are kept: {html}"
    );
    let (status, html) = post(
        &app,
        "signup",
        &[
            ("csrf", csrf.as_str()),
            ("email", "taro@@example"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for part in ["メール受信への同意", "taro@@example", "パスワード"] {
        assert!(
            html.contains(part),
            "every problem is listed at once, {part}: {html}"
        );
    }
    let mut bad_rent = signup.to_vec();
    bad_rent.retain(|(name, _)| *name != "p.max_rent");
    bad_rent.extend([("consent", "yes"), ("p.max_rent", "安い")]);
    let (status, html) = post(&app, "signup", &bad_rent).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("「賃料の上限」の値「安い」"),
        "the field's label, not its name: {html}"
    );
    let mut bad_frequency = signup.to_vec();
    bad_frequency.retain(|(name, _)| *name != "frequency");
    bad_frequency.extend([("consent", "yes"), ("frequency", "monthly")]);
    let (status, html) = post(&app, "signup", &bad_frequency).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown frequency is rejected: {html}"
    );
    let mut with_consent = signup.to_vec();
    with_consent.push(("consent", "yes"));
    let (status, html) = post(&app, "signup", &with_consent).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("確認のメールを送信しました"), "{html}");
    let pending = member_of(&app, &token).await.unwrap();
    assert_eq!(
        pending["subscribed"], false,
        "pending until confirmed: {pending}"
    );
    assert_eq!(pending["pendingConfirmation"], true, "{pending}");
    let forced = app
        .graphql(
            Some(&token),
            "mutation($id: ID!) { setMemberSubscribed(id: $id, subscribed: true) { id } }",
            json!({ "id": pending["id"] }),
        )
        .await;
    assert_eq!(
        forced["errors"][0]["extensions"]["reason"], "NOT_CONFIRMED",
        "an operator cannot skip the double opt-in: {forced}"
    );

    let (status, html) = post(
        &app,
        "login",
        &[
            ("csrf", &csrf),
            ("email", "hanako@example.jp"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no login before confirming: {html}"
    );

    let confirm = link_in_mail(&app, &token, &format!("/m/{SLUG}/confirm/")).await;
    let (status, html) = get(&app, &confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("本登録する"), "GET only asks: {html}");
    assert_eq!(member_of(&app, &token).await.unwrap()["subscribed"], false);
    let (status, html) = post(&app, &confirm, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("本登録が完了しました"), "{html}");
    let (status, _) = post(&app, &confirm, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a link works once");
    let member = member_of(&app, &token).await.unwrap();
    assert_eq!(member["subscribed"], true);
    assert_eq!(member["email"], "hanako@example.jp");
    let enrolled = app
        .graphql(
            Some(&token),
            "query($id: ID!) { sequence(id: $id) { enrollmentCounts { finished waiting } } }",
            json!({ "id": sequence_id }),
        )
        .await;
    assert_eq!(
        enrolled["data"]["sequence"]["enrollmentCounts"]["finished"], 1,
        "confirming starts the signup sequence: {enrolled}"
    );

    // Signing up again with the same address gets the same response and a notice mail.
    let (status, html) = post(&app, "signup", &with_consent).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("確認のメールを送信しました"), "{html}");
    link_in_mail(&app, &token, &format!("/m/{SLUG}/login")).await;

    let (status, _) = post(
        &app,
        "login",
        &[
            ("csrf", &csrf),
            ("email", "hanako@example.jp"),
            ("password", "wrong-password-0"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, html) = post(
        &app,
        "login",
        &[
            ("csrf", &csrf),
            ("email", "hanako@example.jp"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("hanako@example.jp") && html.contains("value=\"shibuya\" checked"),
        "{html}"
    );

    let (status, _) = post(
        &app,
        "account",
        &[("csrf", "forged"), ("p.areas", "shinjuku")],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a form without the cookie's token is rejected"
    );
    let cookieless = reqwest::Client::new()
        .post(page_url(&app, "login"))
        .form(&[("csrf", csrf.as_str()), ("email", "a@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(cookieless.status(), StatusCode::FORBIDDEN);
    let html = cookieless.text().await.unwrap();
    assert!(html.contains("クッキーを許可"), "{html}");
    let (status, html) = post(
        &app,
        "account",
        &[
            ("csrf", &csrf),
            ("p.areas", "shinjuku"),
            ("frequency", "daily"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("保存しました"), "{html}");
    let member = member_of(&app, &token).await.unwrap();
    assert_eq!(member["profile"]["areas"], json!(["shinjuku"]));
    assert_eq!(member["frequency"], "DAILY");
    let (status, html) = post(&app, "account", &[("csrf", &csrf), ("p.areas", "atlantis")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("渋谷区") && !html.contains("shibuya ("),
        "options are listed by their labels: {html}"
    );

    let new_password = "changed-password-2";
    let (status, html) = post(
        &app,
        "password",
        &[
            ("csrf", &csrf),
            ("current_password", "not-my-password"),
            ("new_password", new_password),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let (status, _) = post(
        &app,
        "password",
        &[
            ("csrf", &csrf),
            ("current_password", PASSWORD),
            ("new_password", new_password),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, html) = get(&app, "account").await;
    assert!(html.contains("login-form"), "the change ended the session");

    let (status, _) = post(
        &app,
        "reset",
        &[("csrf", &csrf), ("email", "unknown@example.jp")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "unknown addresses answer alike");
    let (status, _) = post(
        &app,
        "reset",
        &[("csrf", &csrf), ("email", "hanako@example.jp")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let reset = link_in_mail(&app, &token, &format!("/m/{SLUG}/reset/")).await;
    let (status, _) = get(&app, &reset).await;
    assert_eq!(status, StatusCode::OK);
    let (status, html) = post(&app, &reset, &[("csrf", &csrf), ("new_password", "short")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let reset_password = "reset-password-3";
    let (status, _) = post(
        &app,
        &reset,
        &[("csrf", &csrf), ("new_password", reset_password)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post(
        &app,
        "login",
        &[
            ("csrf", &csrf),
            ("email", "hanako@example.jp"),
            ("password", reset_password),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A second browser logs in; logging out everywhere from the first ends its session too.
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login_page = other.get(page_url(&app, "login")).send().await.unwrap();
    let other_csrf = csrf_of(&login_page.text().await.unwrap());
    let login = [
        ("csrf", other_csrf.as_str()),
        ("email", "hanako@example.jp"),
        ("password", reset_password),
    ];
    let response = other
        .post(page_url(&app, "login"))
        .form(&login)
        .send()
        .await
        .unwrap();
    assert!(response.text().await.unwrap().contains("account-form"));
    let response = app
        .client
        .post(page_url(&app, "logout"))
        .form(&[("csrf", csrf.as_str()), ("everywhere", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.starts_with("tayori_member_") && value.contains("Max-Age=0"));
    assert!(cleared, "logging out drops the session cookie");
    let response = other.get(page_url(&app, "account")).send().await.unwrap();
    assert!(
        response.text().await.unwrap().contains("login-form"),
        "the other session ended"
    );
    let (status, _) = post(
        &app,
        "login",
        &[
            ("csrf", &csrf),
            ("email", "hanako@example.jp"),
            ("password", reset_password),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = post(&app, "unsubscribe", &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(member_of(&app, &token).await.unwrap()["subscribed"], false);
    let suppressed = app
        .graphql(
            Some(&token),
            "{ suppressions { address reason } }",
            json!({}),
        )
        .await;
    assert_eq!(
        suppressed["data"]["suppressions"],
        json!([{ "address": "hanako@example.jp", "reason": "UNSUBSCRIBED" }])
    );

    let (status, _) = post(&app, "delete", &[("csrf", &csrf)]).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "deleting needs the confirmation box"
    );
    let (status, html) = post(&app, "delete", &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        member_of(&app, &token).await.is_none(),
        "the member is gone"
    );
    app.stop().await;
}
on_both_databases!(member_signs_up_manages_and_leaves);

/// Pages of an unknown tenant are not found, and English is one parameter away.
async fn member_pages_know_their_tenant_and_language(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, SLUG).await;
    let (status, _) = app
        .client
        .get(format!("{}/m/no-such-tenant/signup", app.address))
        .send()
        .await
        .map(|response| (response.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, html) = get(&app, "signup?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("lang=\"en\"") && html.contains("Shibuya"),
        "{html}"
    );
    assert!(!token.is_empty());
    app.stop().await;
}
on_both_databases!(member_pages_know_their_tenant_and_language);

/// A one-pixel PNG, as `base64 -w0` prints it.
const PIXEL_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

/// Checks that the member pages show the colours and logo an operator sets, and that the logo
/// is served as the image it is. Invalid colours and SVG files are rejected by field.
async fn member_pages_wear_the_tenants_logo_and_colours(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, SLUG).await;

    let bad = app
        .graphql(
            Some(&token),
            "mutation { setBrandColors(brandColor: \"blue\") { brandColor } }",
            json!({}),
        )
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["field"], "brandColor",
        "{bad}"
    );
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("blue"),
        "{bad}"
    );
    let svg = "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=";
    let refused = app
        .graphql(
            Some(&token),
            "mutation($image: String!) { setLogo(image: $image) { logoUrl } }",
            json!({ "image": svg }),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["reason"], "UNSUPPORTED_IMAGE",
        "{refused}"
    );

    let set = app
        .graphql(
            Some(&token),
            "mutation($image: String!) {
               setBrandColors(brandColor: \"#FFD400\", headerColor: \"#123\") { brandColor headerColor }
               setLogo(image: $image) { logoUrl }
             }",
            json!({ "image": format!("data:image/png;base64,{PIXEL_PNG}") }),
        )
        .await;
    assert_eq!(
        set["data"]["setBrandColors"]["brandColor"], "#ffd400",
        "{set}"
    );
    assert_eq!(
        set["data"]["setBrandColors"]["headerColor"], "#112233",
        "{set}"
    );
    let logo_url = set["data"]["setLogo"]["logoUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = app
        .graphql(
            Some(&token),
            "mutation { setBrandColors(headerColor: \"#123\") { brandColor headerColor } }",
            json!({}),
        )
        .await;
    assert_eq!(
        one["data"]["setBrandColors"]["brandColor"], "#ffd400",
        "a colour left out stays: {one}"
    );
    assert!(
        logo_url.contains(&format!("/m/{SLUG}/logo?v=")),
        "{logo_url}"
    );

    let (_, html) = get(&app, "signup").await;
    // Yellow is too light for white text or for links on white: both are adjusted.
    assert!(html.contains("--accent:#ffd400;"), "{html}");
    assert!(html.contains("--on-accent:#25282d;"), "{html}");
    assert!(
        html.contains("--header-bg:#112233;--header-ink:#ffffff;"),
        "{html}"
    );
    assert!(html.contains("id=\"tenant-logo\""), "{html}");
    assert!(!html.contains("--link:#ffd400"), "{html}");

    let logo = app.client.get(&logo_url).send().await.unwrap();
    assert_eq!(logo.status(), StatusCode::OK);
    assert_eq!(logo.headers()["content-type"], "image/png");
    let bytes = logo.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "{} bytes", bytes.len());

    let removed = app
        .graphql(
            Some(&token),
            "mutation { removeLogo { logoUrl } setBrandColors(brandColor: null, headerColor: \"\") { brandColor } }",
            json!({}),
        )
        .await;
    assert_eq!(
        removed["data"]["removeLogo"]["logoUrl"],
        Value::Null,
        "{removed}"
    );
    let (_, html) = get(&app, "signup").await;
    assert!(
        html.contains("id=\"tenant-name\"") && !html.contains("--accent"),
        "{html}"
    );
    let gone = app.client.get(&logo_url).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
on_both_databases!(member_pages_wear_the_tenants_logo_and_colours);
