//! The member-page settings and broadcasts in a real browser: an operator gives the member
//! pages a logo and colours, finds both on the public sign-up page, then schedules a broadcast
//! in the tenant's local time and cancels it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on broken set-up"
)]

use e2e::{
    Browser, ServerProcess,
    page::{WAIT, click, element, fill, wait_for_text},
};
use fantoccini::Locator;
use serde_json::json;

const SLUG: &str = "hanabi-fudosan";

/// A one-pixel PNG.
const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xfc, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x05, 0x02, 0x00, 0x5f, 0xc8, 0xf1, 0xd2, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_brands_member_pages_and_schedules_a_broadcast() {
    let server = ServerProcess::start().await.expect("server");
    let browser = Browser::start().await.expect("browser");
    let client = &browser.client;
    let files = tempfile::tempdir().unwrap();
    let logo = files.path().join("logo.png");
    std::fs::write(&logo, PIXEL_PNG).unwrap();

    client
        .goto(&format!("{}/signup", server.url))
        .await
        .unwrap();
    fill(client, "signup-name", "花火不動産").await;
    fill(client, "signup-slug", SLUG).await;
    fill(client, "signup-email", "owner@hanabi.example.jp").await;
    fill(client, "signup-password", "correct horse battery staple").await;
    click(client, "signup-submit").await;
    wait_for_text(client, Locator::Css("#tenant-name"), WAIT, |text| {
        text == "花火不動産"
    })
    .await;

    client
        .goto(&format!("{}/dashboard/member-pages", server.url))
        .await
        .unwrap();
    let address = wait_for_text(client, Locator::Id("member-signup-url"), WAIT, |text| {
        !text.is_empty()
    })
    .await;
    assert!(address.ends_with(&format!("/m/{SLUG}/signup")), "{address}");

    fill(client, "brand-color", "red").await;
    click(client, "brand-save").await;
    wait_for_text(client, Locator::Css("#brand-form"), WAIT, |text| {
        text.contains("「red」は色として読めません")
    })
    .await;
    fill(client, "brand-color", "#ffd400").await;
    fill(client, "header-color", "#1a3a5c").await;
    click(client, "brand-save").await;
    element(client, Locator::Id("brand-saved")).await;

    element(client, Locator::Id("brand-logo"))
        .await
        .send_keys(logo.to_str().unwrap())
        .await
        .unwrap();
    element(client, Locator::Id("brand-logo-remove")).await;

    client
        .goto(&format!("{}/m/{SLUG}/signup", server.url))
        .await
        .unwrap();
    element(client, Locator::Id("tenant-logo")).await;
    let style = element(client, Locator::Css("body"))
        .await
        .attr("style")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(style.contains("--accent:#ffd400;"), "{style}");
    assert!(style.contains("--header-bg:#1a3a5c;"), "{style}");

    client
        .goto(&format!("{}/dashboard/broadcasts", server.url))
        .await
        .unwrap();
    fill(client, "broadcast-subject", "春のキャンペーン").await;
    // Typing into a datetime-local input depends on the browser's locale; set it directly.
    client
        .execute(
            "const input = document.getElementById('broadcast-send-at');
             input.value = arguments[0];
             input.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![json!("2030-03-20T09:00")],
        )
        .await
        .unwrap();
    click(client, "broadcast-submit").await;
    let row = wait_for_text(client, Locator::Css(".broadcast-row"), WAIT, |text| {
        text.contains("春のキャンペーン")
    })
    .await;
    assert!(
        row.contains("2030-03-20 09:00") && row.contains("予約中"),
        "{row}"
    );

    element(client, Locator::Css(".broadcast-cancel"))
        .await
        .click()
        .await
        .unwrap();
    client.accept_alert().await.unwrap();
    wait_for_text(client, Locator::Css(".broadcast-row"), WAIT, |text| {
        text.contains("取り消し")
    })
    .await;
}
