//! The dashboard in a real browser: sign up, log out, log in, switch language.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on broken set-up"
)]

use std::time::Duration;

use e2e::{Browser, ServerProcess};
use fantoccini::{Client, Locator};

const WAIT: Duration = Duration::from_secs(20);

async fn fill(client: &Client, id: &str, text: &str) {
    let field = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id} missing: {e}"));
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(client: &Client, id: &str) {
    let button = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id} missing: {e}"));
    button.click().await.unwrap();
}

async fn text_of(client: &Client, id: &str) -> String {
    let element = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id} missing: {e}"));
    element.text().await.unwrap()
}

/// Waits until the element's text satisfies `condition`, and returns it.
async fn wait_for_text(client: &Client, id: &str, condition: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Ok(element) = client.find(Locator::Id(id)).await
            && let Ok(text) = element.text().await
            && condition(&text)
        {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "#{id} never showed the expected text"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_signs_up_logs_out_and_logs_in_again() {
    let server = ServerProcess::start().await.expect("server");
    let browser = Browser::start().await.expect("browser");
    let client = &browser.client;

    client
        .goto(&format!("{}/signup", server.url))
        .await
        .unwrap();
    fill(client, "signup-name", "さくら不動産").await;
    fill(client, "signup-slug", "sakura-e2e").await;
    fill(client, "signup-email", "owner@sakura.example.jp").await;
    fill(client, "signup-password", "correct horse battery staple").await;
    click(client, "signup-submit").await;
    assert_eq!(
        wait_for_text(client, "tenant-name", |t| !t.is_empty()).await,
        "さくら不動産"
    );

    // The session survives a reload through the refresh cookie.
    client.refresh().await.unwrap();
    assert_eq!(
        wait_for_text(client, "tenant-name", |t| !t.is_empty()).await,
        "さくら不動産"
    );

    click(client, "logout").await;
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id("login-submit"))
        .await
        .expect("login page after logout");
    client
        .goto(&format!("{}/dashboard", server.url))
        .await
        .unwrap();
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id("login-submit"))
        .await
        .expect("dashboard needs a session");

    fill(client, "login-slug", "sakura-e2e").await;
    fill(client, "login-email", "owner@sakura.example.jp").await;
    fill(client, "login-password", "wrong password!").await;
    click(client, "login-submit").await;
    let error = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(".error"))
        .await
        .expect("error banner");
    assert!(error.text().await.unwrap().contains("パスワード"));

    fill(client, "login-password", "correct horse battery staple").await;
    click(client, "login-submit").await;
    assert_eq!(
        wait_for_text(client, "tenant-name", |t| !t.is_empty()).await,
        "さくら不動産"
    );

    // Japanese is the default; the toggle switches to English and the choice is remembered.
    let japanese = text_of(client, "locale-toggle").await;
    click(client, "locale-toggle").await;
    let english = wait_for_text(client, "locale-toggle", |t| t != japanese).await;
    client.refresh().await.unwrap();
    assert_eq!(
        wait_for_text(client, "locale-toggle", |t| !t.is_empty()).await,
        english
    );

    browser.client.close().await.unwrap();
}
