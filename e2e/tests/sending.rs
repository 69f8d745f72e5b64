//! Real sending in a real browser: an operator adds an SMTP sender on the sending page, gets a
//! wrong encryption rejected with an explanation, lets Tayori detect STARTTLS, and sends a test
//! mail that the test SMTP server receives.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on broken set-up"
)]

use std::{io::Write, time::Duration};

use e2e::{
    Browser, ServerProcess,
    page::{WAIT, click, element, fill, select, wait_for_text},
    smtp::TestSmtp,
};
use fantoccini::Locator;

/// A save or a check waits for the server's connection test, which gives up after 8 seconds.
const CHECK_WAIT: Duration = Duration::from_secs(40);

const RECIPIENT: &str = "member1@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_adds_smtp_sender_and_sends_test_mail() {
    let smtp = TestSmtp::start().await.expect("test SMTP server");
    let mut ca_file = tempfile::NamedTempFile::new().unwrap();
    ca_file.write_all(&smtp.ca_pem()).unwrap();
    let ca_path = ca_file.path().display().to_string();
    let server = ServerProcess::start_with_env(&[("TAYORI_SMTP_EXTRA_CA", ca_path.as_str())])
        .await
        .expect("server");
    let browser = Browser::start().await.expect("browser");
    let client = &browser.client;

    client
        .goto(&format!("{}/signup", server.url))
        .await
        .unwrap();
    fill(client, "signup-name", "さくら不動産").await;
    fill(client, "signup-slug", "sakura-sending").await;
    fill(client, "signup-email", "owner@sakura.example.jp").await;
    fill(client, "signup-password", "correct horse battery staple").await;
    click(client, "signup-submit").await;
    wait_for_text(client, Locator::Css("#tenant-name"), WAIT, |text| {
        text == "さくら不動産"
    })
    .await;

    // Without a sender, mail is captured, and the banner states it.
    client
        .goto(&format!("{}/dashboard/senders", server.url))
        .await
        .unwrap();
    let banner = wait_for_text(
        client,
        Locator::Css("#sending-mode[data-mode='test']"),
        WAIT,
        |text| !text.is_empty(),
    )
    .await;
    assert!(banner.contains("テストモード"), "banner: {banner}");

    click(client, "sender-new").await;
    fill(client, "sender-name", "本店のメールサーバー").await;
    fill(client, "sender-from-address", "info@sakura.example.jp").await;
    fill(client, "sender-smtp-host", "127.0.0.1").await;
    fill(
        client,
        "sender-smtp-port",
        &smtp.starttls_port().to_string(),
    )
    .await;
    fill(client, "sender-smtp-username", smtp.user()).await;
    fill(client, "sender-smtp-password", smtp.password()).await;

    // SSL/TLS on the STARTTLS port fails the check, and the message names the mode to use.
    select(client, "sender-smtp-tls", "IMPLICIT").await;
    click(client, "sender-save").await;
    let failure = wait_for_text(
        client,
        Locator::Css("#sender-check-error"),
        CHECK_WAIT,
        |text| !text.is_empty(),
    )
    .await;
    assert!(
        failure.contains("465") || failure.contains("STARTTLS"),
        "check failure does not name the mode problem: {failure}"
    );
    assert!(
        client.find(Locator::Id("sender-0")).await.is_err(),
        "a sender that failed its check was saved"
    );
    assert!(smtp.messages().unwrap().is_empty());

    // Detecting the mode finds STARTTLS and saves the sender.
    select(client, "sender-smtp-tls", "AUTO").await;
    click(client, "sender-save").await;
    let saved = wait_for_text(client, Locator::Css("#sender-saved"), CHECK_WAIT, |text| {
        !text.is_empty()
    })
    .await;
    assert!(saved.contains("STARTTLS"), "saved notice: {saved}");
    let server_line = wait_for_text(
        client,
        Locator::Css("#sender-0 .sender-server"),
        WAIT,
        |text| !text.is_empty(),
    )
    .await;
    assert!(
        server_line.contains(&format!("127.0.0.1:{}", smtp.starttls_port())),
        "server line: {server_line}"
    );
    assert!(
        server_line.contains("STARTTLS"),
        "server line: {server_line}"
    );

    fill(client, "sender-test-to-0", RECIPIENT).await;
    click(client, "sender-test-send-0").await;
    let result = wait_for_text(
        client,
        Locator::Css("#sender-result-0[data-ok='true']"),
        CHECK_WAIT,
        |text| !text.is_empty(),
    )
    .await;
    assert!(
        result.contains("テストメールを送信しました"),
        "test mail result: {result}"
    );

    let messages = smtp
        .wait_for_messages(1, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(messages.len(), 1, "server log: {}", smtp.log());
    let message = &messages[0];
    assert_eq!(message.rcpt_tos, [RECIPIENT]);
    assert_eq!(message.listener, "starttls");
    assert!(message.tls);
    assert_eq!(message.auth_user.as_deref(), Some(smtp.user()));

    // Activating the sender turns test mode off; going back turns it on again.
    click(client, "sender-activate-0").await;
    let live = wait_for_text(
        client,
        Locator::Css("#sending-mode[data-mode='live']"),
        WAIT,
        |text| !text.is_empty(),
    )
    .await;
    assert!(live.contains("本店のメールサーバー"), "banner: {live}");
    click(client, "sender-deactivate").await;
    element(client, Locator::Css("#sending-mode[data-mode='test']")).await;

    browser.client.close().await.unwrap();
}
