//! Matching mail in a real browser: an operator sets up fields, a match rule and a member in
//! the dashboard, a listing arrives over GraphQL, and the captured mail shows in the outbox
//! with the rule that matched.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on broken set-up"
)]

use std::time::{Duration, Instant};

use e2e::{
    Browser, ServerProcess, graphql, log_in,
    page::{WAIT, click, element, fill, select, wait_for_text},
};
use fantoccini::{Client, Locator};
use serde_json::json;

/// Matching and rendering run as jobs, so the mail can take a few seconds to appear.
const MAIL_WAIT: Duration = Duration::from_secs(60);

const SLUG: &str = "sakura-match";
const OWNER_EMAIL: &str = "owner@sakura.example.jp";
const PASSWORD: &str = "correct horse battery staple";
const LISTING_NAME: &str = "押上ホリデーアパート";
const RULE_NAME: &str = "予算内の物件";
const MEMBER_EMAIL: &str = "hanako@example.jp";

/// Adds a field with the schema editor's `add_button` and fills in row `row_id`.
async fn add_field(
    client: &Client,
    add_button: &str,
    row_id: &str,
    name: &str,
    label: &str,
    field_type: &str,
) {
    click(client, add_button).await;
    fill(client, &format!("{row_id}-name"), name).await;
    fill(client, &format!("{row_id}-label-ja"), label).await;
    select(client, &format!("{row_id}-type"), field_type).await;
}

async fn save_fields(client: &Client, save_button: &str) {
    click(client, save_button).await;
    element(client, Locator::Css(".notice.success")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_mail_shows_listing_and_rule() {
    let server = ServerProcess::start().await.expect("server");
    let browser = Browser::start().await.expect("browser");
    let client = &browser.client;
    let url = &server.url;

    client.goto(&format!("{url}/signup")).await.unwrap();
    fill(client, "signup-name", "さくら不動産").await;
    fill(client, "signup-slug", SLUG).await;
    fill(client, "signup-email", OWNER_EMAIL).await;
    fill(client, "signup-password", PASSWORD).await;
    click(client, "signup-submit").await;
    wait_for_text(client, Locator::Id("tenant-name"), WAIT, |t| !t.is_empty()).await;

    // The first row added to an empty editor has key 0.
    client
        .goto(&format!("{url}/dashboard/schema"))
        .await
        .unwrap();
    add_field(
        client,
        "schema-add-field",
        "field-0",
        "name",
        "物件名",
        "TEXT",
    )
    .await;
    add_field(
        client,
        "schema-add-field",
        "field-1",
        "rent",
        "賃料",
        "NUMBER",
    )
    .await;
    save_fields(client, "schema-save").await;

    client
        .goto(&format!("{url}/dashboard/profile-fields"))
        .await
        .unwrap();
    add_field(
        client,
        "profile-fields-add-field",
        "profile-field-0",
        "budget",
        "予算",
        "NUMBER",
    )
    .await;
    save_fields(client, "profile-fields-save").await;

    // Rent at most the member's budget. Only the number operators are offered for rent.
    client
        .goto(&format!("{url}/dashboard/match-rules"))
        .await
        .unwrap();
    click(client, "rule-new").await;
    fill(client, "rule-name", RULE_NAME).await;
    select(client, "clause-0-listing-field", "rent").await;
    let operators = element(client, Locator::Id("clause-0-operator"))
        .await
        .find_all(Locator::Css("option"))
        .await
        .unwrap();
    let mut operator_values = Vec::new();
    for option in operators {
        operator_values.push(option.attr("value").await.unwrap().unwrap_or_default());
    }
    assert_eq!(operator_values, ["AT_MOST", "AT_LEAST", "OVERLAPS"]);
    select(client, "clause-0-operator", "AT_MOST").await;
    select(client, "clause-0-operand-kind", "profile").await;
    select(client, "clause-0-profile-field", "budget").await;
    click(client, "rule-save").await;
    let rule_card = wait_for_text(client, Locator::Id("rule-0"), WAIT, |t| {
        t.contains(RULE_NAME)
    })
    .await;
    assert!(rule_card.contains("以下"), "rule card: {rule_card}");

    client
        .goto(&format!("{url}/dashboard/members/new"))
        .await
        .unwrap();
    fill(client, "member-email", MEMBER_EMAIL).await;
    fill(client, "member-profile-budget", "10万").await;
    click(client, "member-save").await;
    wait_for_text(client, Locator::Id("member-title"), WAIT, |t| {
        t == MEMBER_EMAIL
    })
    .await;

    // Listings come from the tenant's own system, over GraphQL.
    let token = log_in(url, SLUG, OWNER_EMAIL, PASSWORD)
        .await
        .expect("log in over GraphQL");
    let upserted = graphql(
        url,
        Some(&token),
        "mutation($l: ListingInput!) { upsertListing(listing: $l) { created rejected } }",
        json!({ "l": { "externalId": "room-101", "fields": { "name": LISTING_NAME, "rent": "8万円" } } }),
    )
    .await
    .expect("upsertListing");
    assert_eq!(upserted["upsertListing"]["created"], 1);

    // The member page links to the member's deliveries; refresh until the mail is captured.
    click(client, "member-deliveries").await;
    element(client, Locator::Id("deliveries-member-filter")).await;
    let notice = element(client, Locator::Id("test-mode-notice")).await;
    assert!(
        notice
            .text()
            .await
            .unwrap()
            .contains("テストモード（実際には送信しません）")
    );
    let captured = Locator::Css("tr.delivery-row[data-state='CAPTURED'] a.delivery-link");
    let deadline = Instant::now() + MAIL_WAIT;
    let link = loop {
        if let Ok(link) = client.find(captured).await {
            break link;
        }
        assert!(
            Instant::now() < deadline,
            "no captured mail within {MAIL_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Ok(refresh) = client.find(Locator::Id("deliveries-refresh")).await {
            let _ = refresh.click().await;
        }
    };
    assert!(link.text().await.unwrap().contains(LISTING_NAME));
    link.click().await.unwrap();

    let subject = wait_for_text(client, Locator::Id("delivery-subject"), WAIT, |t| {
        !t.is_empty()
    })
    .await;
    assert!(subject.contains(LISTING_NAME), "subject: {subject}");
    let rule = wait_for_text(client, Locator::Css("#delivery-why .why-rule"), WAIT, |t| {
        !t.is_empty()
    })
    .await;
    assert_eq!(rule, RULE_NAME);
    let reasons = element(client, Locator::Css("#delivery-why .why-reason"))
        .await
        .text()
        .await
        .unwrap();
    assert!(reasons.contains("賃料"), "reasons: {reasons}");
    assert!(reasons.contains("以下"), "reasons: {reasons}");
    let text_part = element(client, Locator::Id("delivery-text"))
        .await
        .text()
        .await
        .unwrap();
    assert!(text_part.contains(LISTING_NAME), "text part: {text_part}");
    let headers = element(client, Locator::Id("delivery-headers"))
        .await
        .text()
        .await
        .unwrap();
    assert!(headers.contains(MEMBER_EMAIL), "headers: {headers}");

    // The HTML part renders in its sandboxed frame under the server's CSP.
    let frame = element(client, Locator::Id("delivery-html")).await;
    assert_eq!(frame.attr("sandbox").await.unwrap().as_deref(), Some(""));
    frame.enter_frame().await.unwrap();
    let html_text = wait_for_text(client, Locator::Css("body"), WAIT, |t| {
        t.contains(LISTING_NAME)
    })
    .await;
    assert!(html_text.contains(RULE_NAME), "HTML part: {html_text}");
    // The built-in template styles its body inline; the policy must let that through.
    let font = element(client, Locator::Css("body"))
        .await
        .css_value("font-family")
        .await
        .unwrap();
    assert_eq!(font, "sans-serif");
    client.enter_parent_frame().await.unwrap();

    // The template preview renders on the same listing.
    client
        .goto(&format!("{url}/dashboard/templates"))
        .await
        .unwrap();
    click(client, "template-preview").await;
    let preview = wait_for_text(client, Locator::Id("template-preview-subject"), WAIT, |t| {
        !t.is_empty()
    })
    .await;
    assert!(preview.contains(LISTING_NAME), "preview subject: {preview}");

    browser.client.close().await.unwrap();
}
