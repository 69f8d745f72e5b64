//! Step mail in a real browser: an operator creates a sequence, builds its timeline (adding
//! steps at the end and inserting one before another), finds a member waiting at the first step
//! after an event sent through the API, gets an unknown time zone rejected by name, and moves a
//! step down.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on broken set-up"
)]

use e2e::{
    Browser, ServerProcess, graphql, log_in,
    page::{WAIT, click, element, fill, wait_for_text},
};
use fantoccini::{Client, Locator};
use serde_json::json;

const SLUG: &str = "sakura-steps";
const EMAIL: &str = "owner@sakura.example.jp";
const PASSWORD: &str = "correct horse battery staple";

/// Fills the add-step form of the card whose form id is `form` and submits it.
async fn add_step(client: &Client, form: &str, days: &str, subject: &str) {
    fill(client, &format!("{form}-days"), days).await;
    fill(client, &format!("{form}-at"), "09:00").await;
    fill(client, &format!("{form}-subject"), subject).await;
    fill(
        client,
        &format!("{form}-text"),
        "本文です {{ unsubscribe_url }}",
    )
    .await;
    element(client, Locator::Css(&format!("#{form} .step-add")))
        .await
        .click()
        .await
        .unwrap();
}

/// Returns the subjects of the timeline, in order, once there are `count` of them.
async fn timeline(client: &Client, count: usize) -> Vec<String> {
    wait_for_text(client, Locator::Css("ol.timeline"), WAIT, |text| {
        text.lines().filter(|line| line.contains("日目")).count() >= count
    })
    .await;
    let mut subjects = Vec::new();
    for row in client
        .find_all(Locator::Css(".step-row .step-subject"))
        .await
        .unwrap()
    {
        subjects.push(row.text().await.unwrap());
    }
    subjects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_builds_a_sequence_timeline() {
    let server = ServerProcess::start().await.expect("server");
    let browser = Browser::start().await.expect("browser");
    let client = &browser.client;

    client
        .goto(&format!("{}/signup", server.url))
        .await
        .unwrap();
    fill(client, "signup-name", "さくら不動産").await;
    fill(client, "signup-slug", SLUG).await;
    fill(client, "signup-email", EMAIL).await;
    fill(client, "signup-password", PASSWORD).await;
    click(client, "signup-submit").await;
    wait_for_text(client, Locator::Css("#tenant-name"), WAIT, |text| {
        text == "さくら不動産"
    })
    .await;

    client
        .goto(&format!("{}/dashboard/sequences", server.url))
        .await
        .unwrap();
    fill(client, "sequence-name", "入会フォロー").await;
    fill(client, "sequence-goal", "inquiry_sent").await;
    click(client, "sequence-create").await;
    let card = element(client, Locator::Css(".sequence-card")).await;
    let sequence_id = card.attr("data-id").await.unwrap().expect("data-id");
    let form = format!("step-form-{sequence_id}");

    add_step(client, &form, "3", "3日目").await;
    assert_eq!(timeline(client, 1).await, ["3日目"]);
    add_step(client, &form, "7", "7日目").await;
    assert_eq!(timeline(client, 2).await, ["3日目", "7日目"]);

    // Insert before the second step.
    let rows = client
        .find_all(Locator::Css(".step-row .step-insert-before"))
        .await
        .unwrap();
    rows[1].click().await.unwrap();
    wait_for_text(client, Locator::Css(&format!("#{form} h3")), WAIT, |text| {
        text.contains("7日目")
    })
    .await;
    add_step(client, &form, "5", "5日目").await;
    assert_eq!(timeline(client, 3).await, ["3日目", "5日目", "7日目"]);

    // A member signs up through the API and waits at the first step.
    let token = log_in(&server.url, SLUG, EMAIL, PASSWORD).await.unwrap();
    let member = graphql(
        &server.url,
        Some(&token),
        "mutation { createMember(member: { email: \"taro@example.jp\" }) { id } }",
        json!({}),
    )
    .await
    .unwrap();
    let member_id = member["createMember"]["id"].as_str().unwrap().to_owned();
    let event = graphql(
        &server.url,
        Some(&token),
        "mutation($id: ID!) { recordMemberEvent(memberId: $id, event: \"signup\") { enrolled } }",
        json!({ "id": member_id }),
    )
    .await
    .unwrap();
    assert_eq!(event["recordMemberEvent"]["enrolled"], 1);
    client.refresh().await.unwrap();
    wait_for_text(client, Locator::Css(".sequence-counts"), WAIT, |text| {
        text.contains("待機中 1人")
    })
    .await;
    let first_row = wait_for_text(client, Locator::Css(".step-row"), WAIT, |text| {
        text.contains("3日目")
    })
    .await;
    assert!(first_row.contains("待機中 1人"), "{first_row}");
    element(client, Locator::Css(".upcoming-row")).await;

    // The sequence's past deliveries open as a filtered deliveries page.
    let history = element(client, Locator::Css(".sequence-history")).await;
    let href = history.attr("href").await.unwrap().unwrap_or_default();
    assert!(
        href.ends_with(&format!("?sequence={sequence_id}")),
        "{href}"
    );
    client.goto(&format!("{}{href}", server.url)).await.unwrap();
    element(client, Locator::Id("deliveries-sequence-filter")).await;
    client
        .goto(&format!("{}/dashboard/sequences", server.url))
        .await
        .unwrap();

    fill(client, "time-zone", "Asia/Tokio").await;
    click(client, "time-zone-save").await;
    wait_for_text(client, Locator::Css("#time-zone-form"), WAIT, |text| {
        text.contains("Asia/Tokio") && text.contains("見つかりません")
    })
    .await;

    // Moving the first step down puts it after the second.
    element(client, Locator::Css(".step-row .step-move-down"))
        .await
        .click()
        .await
        .unwrap();
    wait_for_text(
        client,
        Locator::Css(".step-row .step-subject"),
        WAIT,
        |text| text == "5日目",
    )
    .await;
    assert_eq!(timeline(client, 3).await, ["5日目", "3日目", "7日目"]);
}
