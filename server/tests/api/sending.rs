//! Sending for real through a real SMTP server (STARTTLS, implicit TLS, AUTH, scripted 4xx and
//! 5xx replies) and a Mailgun double. Covered: set-up checks that name the problem, DKIM and
//! one-click unsubscribe headers, retries with backoff, bounces and suppression, pausing on
//! configuration faults, rate limits and webhooks. Time moves by passing `now`, not by sleeping.

use std::time::Duration;

use chrono::Utc;
use domain::outbox::send;
use e2e::{
    mailgun::{FakeMailgun, Region},
    smtp::TestSmtp,
};
use serde_json::{Value, json};

use crate::{
    helpers::{Database, Queue, TestApp, spawn_app_with},
    matching::{create_member, deliveries, l1, rental_tenant, settle, three_rules, upsert},
    on_both_databases,
};

const CREATE_SENDER: &str = "mutation($input: SenderInput!, $verify: Boolean! = true) { createSender(input: $input, verify: $verify) { id kind smtp { tls port } mailgun { webhookUrl } paused { code message } } }";
const ACTIVATE: &str = "mutation($id: ID) { activateSender(id: $id) { id active } }";
const SENDERS: &str = "{ senders { id active paused { code message } } }";
const MAIL: &str = "query($member: ID) { deliveries(first: 50, memberId: $member) { nodes { id state toAddress subject messageId error attempts { outcome faultCode response } } } }";

async fn app_with_smtp(database: Database, smtp: &TestSmtp) -> TestApp {
    let ca = smtp.ca_pem();
    spawn_app_with(database, Queue::Embedded, move |config| {
        config.smtp_extra_ca = Some(ca);
        config.check_timeout = Duration::from_secs(3);
        config.send_timeout = Duration::from_secs(5);
    })
    .await
}

fn smtp_input(smtp: &TestSmtp, port: u16, tls: &str, password: &str) -> Value {
    json!({
        "name": "本店サーバー",
        "fromAddress": "info@example.jp",
        "fromName": "サンプル不動産 渋谷店（担当：山田）",
        "smtp": { "host": "127.0.0.1", "port": port, "tls": tls, "username": smtp.user(), "password": password },
    })
}

async fn create_sender(app: &TestApp, token: &str, input: Value, verify: bool) -> Value {
    app.graphql(
        Some(token),
        CREATE_SENDER,
        json!({ "input": input, "verify": verify }),
    )
    .await
}

async fn activate(app: &TestApp, token: &str, id: &str) {
    let body = app
        .graphql(Some(token), ACTIVATE, json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["activateSender"]["active"], true, "{body}");
}

/// Creates a tenant with the three rules, sending through a verified STARTTLS sender.
async fn sending_tenant(app: &TestApp, smtp: &TestSmtp, slug: &str) -> (String, String) {
    let token = rental_tenant(app, slug).await;
    three_rules(app, &token).await;
    let body = create_sender(
        app,
        &token,
        smtp_input(smtp, smtp.starttls_port(), "STARTTLS", smtp.password()),
        true,
    )
    .await;
    let id = body["data"]["createSender"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("sender rejected: {body}"))
        .to_owned();
    activate(app, &token, &id).await;
    (token, id)
}

async fn subscribed(app: &TestApp, token: &str, member: &str) -> Value {
    let body = app
        .graphql(
            Some(token),
            "query($id: ID!) { member(id: $id) { subscribed } }",
            json!({ "id": member }),
        )
        .await;
    body["data"]["member"]["subscribed"].clone()
}

fn shibuya_member() -> Value {
    json!({ "areas": ["渋谷区"], "max_rent": 100000 })
}

/// Waits until matching, rendering and every due send have finished.
async fn settle_sending(app: &TestApp) {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    for _ in 0..300 {
        settle(app).await;
        let due = send::tenants_with_due(&app.state.db, Utc::now())
            .await
            .unwrap();
        let in_flight = domain::entities::delivery::Entity::find()
            .filter(domain::entities::delivery::Column::State.eq("sending"))
            .count(&app.state.db)
            .await
            .unwrap();
        if due.is_empty() && in_flight == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sending did not settle within 30 s");
}

async fn mail_of(app: &TestApp, token: &str, member: &str) -> Vec<Value> {
    let body = app
        .graphql(Some(token), MAIL, json!({ "member": member }))
        .await;
    body["data"]["deliveries"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

/// Returns the unfolded value of the first header called `name`.
fn header(raw: &str, name: &str) -> Option<String> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    let block = raw.split("\r\n\r\n").next()?;
    let unfolded = block.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .split("\r\n")
        .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
        .map(|line| line[prefix.len()..].trim().to_owned())
}

/// "Auto" finds STARTTLS on the STARTTLS port and SSL/TLS on the implicit port; a forced wrong
/// mode and a wrong password are rejected with what to change, and nothing is stored.
async fn sender_setup_names_the_problem(database: Database) {
    let smtp = TestSmtp::start().await.unwrap();
    let app = app_with_smtp(database, &smtp).await;
    let token = app.sign_up("setup-check").await;

    for (port, expected) in [
        (smtp.starttls_port(), "STARTTLS"),
        (smtp.tls_port(), "IMPLICIT"),
    ] {
        let body = create_sender(
            &app,
            &token,
            smtp_input(&smtp, port, "AUTO", smtp.password()),
            true,
        )
        .await;
        assert_eq!(
            body["data"]["createSender"]["smtp"]["tls"], expected,
            "{body}"
        );
    }

    let cases = [
        (
            smtp.starttls_port(),
            "IMPLICIT",
            smtp.password(),
            "implicit_tls_on_starttls_port",
        ),
        (
            smtp.tls_port(),
            "STARTTLS",
            smtp.password(),
            "starttls_on_implicit_tls_port",
        ),
        (
            smtp.starttls_port(),
            "STARTTLS",
            "wrong-password",
            "authentication_failed",
        ),
    ];
    for (port, tls, password, code) in cases {
        let body = create_sender(&app, &token, smtp_input(&smtp, port, tls, password), true).await;
        let error = &body["errors"][0];
        assert_eq!(
            error["extensions"]["reason"], "SENDER_CHECK_FAILED",
            "{body}"
        );
        assert_eq!(error["extensions"]["faultCode"], code, "{body}");
        let message = error["message"].as_str().unwrap();
        assert!(!message.is_empty(), "{body}");
        assert!(
            message
                .chars()
                .any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)),
            "the default message is Japanese: {message} ({code})"
        );
    }
    let body = app.graphql(Some(&token), SENDERS, json!({})).await;
    assert_eq!(
        body["data"]["senders"].as_array().unwrap().len(),
        2,
        "only the two working senders are stored: {body}"
    );
    app.stop().await;
}
on_both_databases!(sender_setup_names_the_problem);

/// A matching mail goes out once over STARTTLS, signed with the tenant's DKIM key, with
/// one-click unsubscribe headers covered by the signature; GET on the link changes nothing, POST
/// unsubscribes (twice is fine) and the next listing is not mailed to that member.
async fn sent_mail_is_signed_and_unsubscribes_in_one_click(database: Database) {
    let smtp = TestSmtp::start().await.unwrap();
    let app = app_with_smtp(database, &smtp).await;
    let (token, _) = sending_tenant(&app, &smtp, "signed").await;
    let body = app
        .graphql(
            Some(&token),
            "mutation { generateDkimKey(domain: \"example.jp\") { selector dnsName dnsValue } }",
            json!({}),
        )
        .await;
    let key = body["data"]["generateDkimKey"].clone();
    assert!(
        key["dnsValue"]
            .as_str()
            .unwrap()
            .starts_with("v=DKIM1; k=rsa; p="),
        "{body}"
    );
    let member = create_member(&app, &token, "member1@example.com", shibuya_member()).await;

    upsert(&app, &token, l1(98_000)).await;
    settle_sending(&app).await;

    let received = smtp
        .wait_for_messages(1, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_tos, ["member1@example.com"]);
    assert!(received[0].tls);
    let raw = String::from_utf8(received[0].raw.clone()).unwrap();
    let unsubscribe = header(&raw, "List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with(&format!("<{}/u/", app.address)),
        "{unsubscribe}"
    );
    assert!(
        !unsubscribe.contains("member1"),
        "the link holds no address"
    );
    assert_eq!(
        header(&raw, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click".to_owned())
    );
    assert!(
        header(&raw, "Message-ID")
            .unwrap()
            .ends_with("@example.jp>")
    );
    let signature = header(&raw, "DKIM-Signature").unwrap().to_ascii_lowercase();
    let signed: String = signature
        .split(';')
        .find_map(|tag| tag.trim().strip_prefix("h="))
        .unwrap()
        .split_whitespace()
        .collect();
    let signed: Vec<&str> = signed.split(':').collect();
    assert!(signed.contains(&"list-unsubscribe"), "{signature}");
    assert!(signed.contains(&"list-unsubscribe-post"), "{signature}");
    mail::dkim::verify_with_key(
        &received[0].raw,
        "example.jp",
        key["selector"].as_str().unwrap(),
        key["dnsValue"].as_str().unwrap(),
    )
    .await
    .expect("the DKIM signature verifies against the published record");

    let mail = mail_of(&app, &token, &member).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["state"], "SENT", "{mail:?}");
    assert_eq!(mail[0]["attempts"][0]["outcome"], "sent");

    let link = unsubscribe
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(
        html.contains("id=\"tenant-name\"") && html.contains("noindex"),
        "the page carries the tenant's masthead: {html}"
    );
    assert_eq!(subscribed(&app, &token, &member).await, true);
    for _ in 0..2 {
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(subscribed(&app, &token, &member).await, false);
    let body = app
        .graphql(
            Some(&token),
            "{ suppressions { address reason } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["suppressions"],
        json!([{ "address": "member1@example.com", "reason": "UNSUBSCRIBED" }])
    );

    upsert(
        &app,
        &token,
        json!([{ "externalId": "TK-000124", "fields": {
            "title": "渋谷 1K", "area": "渋谷区", "rent": 70000, "rooms": "1K", "walk": 3,
        }}]),
    )
    .await;
    settle_sending(&app).await;
    assert_eq!(
        smtp.messages().unwrap().len(),
        1,
        "no mail after unsubscribing"
    );
    let forged = app
        .client
        .post(format!(
            "{}/u/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            app.address
        ))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    app.stop().await;
}
on_both_databases!(sent_mail_is_signed_and_unsubscribes_in_one_click);

/// 451 twice, then accepted: the retries wait for the backoff, and one message arrives.
/// A 550 at RCPT bounces the mail and suppresses the address, so the next mail to it is not
/// attempted.
async fn deferred_mail_retries_and_bounces_suppress(database: Database) {
    let smtp = TestSmtp::start().await.unwrap();
    let app = app_with_smtp(database, &smtp).await;
    let (token, _) = sending_tenant(&app, &smtp, "retries").await;
    let flaky = create_member(&app, &token, "flaky-2-a@example.com", shibuya_member()).await;
    let rejected = create_member(&app, &token, "reject-b@example.com", shibuya_member()).await;
    let tenant_id = app.tenant_id(&token).await;

    upsert(&app, &token, l1(98_000)).await;
    settle_sending(&app).await;
    let first = mail_of(&app, &token, &flaky).await;
    assert_eq!(first[0]["state"], "READY", "{first:?}");
    assert_eq!(first[0]["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(first[0]["attempts"][0]["outcome"], "deferred");

    // Not due yet: nothing is attempted.
    let early = send::send_ready(&app.state.db, &app.state.sending, tenant_id, Utc::now())
        .await
        .unwrap();
    assert_eq!(early.sent + early.deferred, 0);
    // Each backoff is at most 1.2 times its base (60 s, then 300 s).
    let later = Utc::now() + chrono::Duration::seconds(73);
    let second = send::send_ready(&app.state.db, &app.state.sending, tenant_id, later)
        .await
        .unwrap();
    assert_eq!(second.deferred, 1, "{second:?}");
    let last = send::send_ready(
        &app.state.db,
        &app.state.sending,
        tenant_id,
        later + chrono::Duration::seconds(361),
    )
    .await
    .unwrap();
    assert_eq!(last.sent, 1, "{last:?}");
    let done = mail_of(&app, &token, &flaky).await;
    assert_eq!(done[0]["state"], "SENT");
    let outcomes: Vec<&str> = done[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["deferred", "deferred", "sent"]);
    let delivered: Vec<_> = smtp
        .messages()
        .unwrap()
        .into_iter()
        .filter(|m| m.rcpt_tos == ["flaky-2-a@example.com"])
        .collect();
    assert_eq!(delivered.len(), 1);

    let bounced = mail_of(&app, &token, &rejected).await;
    assert_eq!(bounced[0]["state"], "BOUNCED", "{bounced:?}");
    assert!(
        bounced[0]["attempts"][0]["response"]
            .as_str()
            .unwrap()
            .starts_with("550")
    );
    upsert(
        &app,
        &token,
        json!([{ "externalId": "TK-000124", "fields": {
            "title": "渋谷 1K", "area": "渋谷区", "rent": 70000, "rooms": "1K", "walk": 3,
        }}]),
    )
    .await;
    settle_sending(&app).await;
    let after = mail_of(&app, &token, &rejected).await;
    let newest = after.iter().find(|m| m["state"] != "BOUNCED").unwrap();
    assert_eq!(newest["state"], "SUPPRESSED");
    assert_eq!(newest["attempts"].as_array().unwrap().len(), 0);
    app.stop().await;
}
on_both_databases!(deferred_mail_retries_and_bounces_suppress);

/// A sender whose password became wrong pauses with the reason instead of retrying; the mail
/// waits, and fixing the password sends it.
async fn auth_failure_pauses_the_sender(database: Database) {
    let smtp = TestSmtp::start().await.unwrap();
    let app = app_with_smtp(database, &smtp).await;
    let token = rental_tenant(&app, "paused").await;
    three_rules(&app, &token).await;
    let body = create_sender(
        &app,
        &token,
        smtp_input(&smtp, smtp.starttls_port(), "STARTTLS", "old-password"),
        false,
    )
    .await;
    let id = body["data"]["createSender"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    activate(&app, &token, &id).await;
    let member = create_member(&app, &token, "member1@example.com", shibuya_member()).await;
    upsert(&app, &token, l1(98_000)).await;
    settle(&app).await;

    let mut paused = Value::Null;
    for _ in 0..100 {
        let body = app.graphql(Some(&token), SENDERS, json!({})).await;
        paused = body["data"]["senders"][0]["paused"].clone();
        if !paused.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(paused["code"], "authentication_failed", "{paused}");
    let waiting = mail_of(&app, &token, &member).await;
    assert_eq!(waiting[0]["state"], "READY");
    assert_eq!(waiting[0]["attempts"][0]["outcome"], "paused");
    assert!(smtp.messages().unwrap().is_empty());

    let body = app
        .graphql(
            Some(&token),
            "mutation($id: ID!, $input: SenderInput!) { updateSender(id: $id, input: $input) { paused { code } } }",
            json!({ "id": id, "input": smtp_input(&smtp, smtp.starttls_port(), "STARTTLS", smtp.password()) }),
        )
        .await;
    assert!(body["data"]["updateSender"]["paused"].is_null(), "{body}");
    settle_sending(&app).await;
    let sent = smtp
        .wait_for_messages(1, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    app.stop().await;
}
on_both_databases!(auth_failure_pauses_the_sender);

/// Old carrier addresses with consecutive dots or a dot at either end of the local part are
/// rejected with an explanation by default. A tenant that accepts them gets each one mail with
/// the local part quoted in RCPT TO and `To`, and the standard addresses are not affected.
async fn nonstandard_addresses_follow_the_tenant_policy(database: Database) {
    let smtp = TestSmtp::start().await.unwrap();
    let app = app_with_smtp(database, &smtp).await;
    let (token, _) = sending_tenant(&app, &smtp, "carrier").await;
    let create = "mutation($email: String!, $profile: JSON) { createMember(member: { email: $email, profile: $profile }) { id } }";
    let body = app
        .graphql(
            Some(&token),
            create,
            json!({ "email": "taro..hanako@docomo.ne.jp", "profile": shibuya_member() }),
        )
        .await;
    let error = &body["errors"][0]["extensions"];
    assert_eq!(error["reason"], "NON_STANDARD_ADDRESS", "{body}");
    assert_eq!(error["value"], "taro..hanako@docomo.ne.jp");

    let body = app
        .graphql(
            Some(&token),
            "mutation { setNonstandardAddresses(accept: true) { acceptsNonstandardAddresses } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["setNonstandardAddresses"]["acceptsNonstandardAddresses"], true,
        "{body}"
    );
    let addresses = [
        "yamada.taro@example.com",
        "taro..hanako@docomo.ne.jp",
        "hanako.@ezweb.ne.jp",
        ".sato@example.jp",
        "suzuki@example.com",
    ];
    for address in addresses {
        create_member(&app, &token, address, shibuya_member()).await;
    }
    upsert(&app, &token, l1(98_000)).await;
    settle_sending(&app).await;

    let received = smtp
        .wait_for_messages(addresses.len(), Duration::from_secs(20))
        .await
        .unwrap();
    let mut recipients: Vec<String> = received.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    recipients.sort();
    // lettre refuses these addresses unquoted; aiosmtpd reports the mailbox without quotes.
    let mut expected: Vec<String> = addresses.iter().map(|a| (*a).to_owned()).collect();
    expected.sort();
    assert_eq!(recipients, expected);
    let quoted = received
        .iter()
        .find(|m| m.rcpt_tos == ["taro..hanako@docomo.ne.jp"])
        .unwrap();
    let raw = String::from_utf8_lossy(&quoted.raw).into_owned();
    assert!(
        header(&raw, "To")
            .unwrap()
            .contains("\"taro..hanako\"@docomo.ne.jp"),
        "{raw}"
    );
    app.stop().await;
}
on_both_databases!(nonstandard_addresses_follow_the_tenant_policy);

/// Makes every write of the `sent` state fail, as a database outage right after the send would,
/// or lifts that again.
async fn fail_writes_of_sent(db: &sea_orm::DatabaseConnection, fail: bool) {
    use sea_orm::{ConnectionTrait, DbBackend};
    let statements: &[&str] = match (db.get_database_backend(), fail) {
        (DbBackend::Sqlite, true) => &[
            "CREATE TRIGGER fail_sent BEFORE UPDATE OF state ON deliveries \
             WHEN NEW.state = 'sent' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        ],
        (DbBackend::Sqlite, false) => &["DROP TRIGGER fail_sent"],
        (_, true) => &[
            "CREATE FUNCTION fail_sent() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
            "CREATE TRIGGER fail_sent BEFORE UPDATE OF state ON deliveries \
             FOR EACH ROW WHEN (NEW.state = 'sent') EXECUTE FUNCTION fail_sent()",
        ],
        (_, false) => &["DROP TRIGGER fail_sent ON deliveries"],
    };
    for statement in statements {
        db.execute_unprepared(statement).await.unwrap();
    }
}

/// The server took the mail, but recording it as sent failed, so the job failed and was
/// retried. The claim stays, so no retry sends it again, and the reconciler later marks
/// it as not known to have arrived.
async fn failed_bookkeeping_after_a_send_never_sends_twice(database: Database) {
    let smtp = TestSmtp::start().await.unwrap();
    let app = app_with_smtp(database, &smtp).await;
    let (token, _) = sending_tenant(&app, &smtp, "bookkeeping").await;
    let member = create_member(&app, &token, "member1@example.com", shibuya_member()).await;
    let tenant_id = app.tenant_id(&token).await;
    let db = &app.state.db;
    fail_writes_of_sent(db, true).await;

    upsert(&app, &token, l1(98_000)).await;
    settle(&app).await;
    smtp.wait_for_messages(1, Duration::from_secs(20))
        .await
        .unwrap();
    // Retries, by the worker's job or by hand, find nothing left to claim.
    for _ in 0..3 {
        if let Ok(report) = send::send_ready(db, &app.state.sending, tenant_id, Utc::now()).await {
            assert_eq!(report.sent, 0, "{report:?}");
        }
    }
    let claimed = mail_of(&app, &token, &member).await;
    assert_eq!(claimed[0]["state"], "SENDING", "{claimed:?}");

    fail_writes_of_sent(db, false).await;
    let later = Utc::now() + chrono::Duration::minutes(11);
    assert_eq!(send::settle_interrupted(db, later).await.unwrap(), 1);
    let settled = mail_of(&app, &token, &member).await;
    assert_eq!(settled[0]["state"], "FAILED");
    assert!(
        settled[0]["error"]
            .as_str()
            .unwrap()
            .contains("not sent again"),
        "{settled:?}"
    );
    let report = send::send_ready(db, &app.state.sending, tenant_id, later)
        .await
        .unwrap();
    assert_eq!(report.sent, 0);
    assert_eq!(smtp.messages().unwrap().len(), 1, "the mail arrived once");
    app.stop().await;
}
on_both_databases!(failed_bookkeeping_after_a_send_never_sends_twice);

/// Two workers sending for the same tenant at once send each mail once, and a limit of two a
/// minute keeps the rest until the window moves.
async fn concurrent_runs_send_once_within_the_limit(database: Database) {
    let smtp = TestSmtp::start().await.unwrap();
    let app = app_with_smtp(database, &smtp).await;
    let token = rental_tenant(&app, "limited").await;
    three_rules(&app, &token).await;
    let mut input = smtp_input(&smtp, smtp.starttls_port(), "STARTTLS", smtp.password());
    input["limits"] = json!({ "perMinute": 2 });
    let body = create_sender(&app, &token, input, true).await;
    let id = body["data"]["createSender"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    activate(&app, &token, &id).await;
    for n in 0..5 {
        create_member(
            &app,
            &token,
            &format!("member{n}@example.com"),
            shibuya_member(),
        )
        .await;
    }
    let tenant_id = app.tenant_id(&token).await;
    upsert(&app, &token, l1(98_000)).await;
    settle(&app).await;

    // The in-process workers' send job races with these two runs.
    let now = Utc::now();
    let db = &app.state.db;
    let config = &app.state.sending;
    let (a, b) = tokio::join!(
        send::send_ready(db, config, tenant_id, now),
        send::send_ready(db, config, tenant_id, now)
    );
    assert!(a.unwrap().sent + b.unwrap().sent <= 2);
    smtp.wait_for_messages(2, Duration::from_secs(10))
        .await
        .unwrap();
    // The rest stay ready until the window moves, whichever run gets the lease next.
    send::send_ready(db, config, tenant_id, now).await.unwrap();
    assert_eq!(smtp.messages().unwrap().len(), 2, "two in the first minute");

    let mut moment = now;
    for _ in 0..3 {
        moment += chrono::Duration::seconds(61);
        send::send_ready(db, config, tenant_id, moment)
            .await
            .unwrap();
    }
    let all = smtp.messages().unwrap();
    let mut recipients: Vec<String> = all.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    recipients.sort();
    let expected: Vec<String> = (0..5).map(|n| format!("member{n}@example.com")).collect();
    assert_eq!(recipients, expected, "each member once");
    let _ = deliveries(&app, &token, None).await;
    app.stop().await;
}
on_both_databases!(concurrent_runs_send_once_within_the_limit);

/// Large sends go out in batches that take turns with other tenants' jobs. Two tenants with
/// large sends keep both in-process workers busy, yet a third tenant's single mail does not
/// wait until they have finished.
async fn large_sends_share_the_queue(database: Database) {
    const BULK: usize = 400;
    let smtp = TestSmtp::start().await.unwrap();
    let app = app_with_smtp(database, &smtp).await;
    let mut bulk_tokens = Vec::new();
    for slug in ["bulk-a", "bulk-b"] {
        let (token, _) = sending_tenant(&app, &smtp, slug).await;
        let mut csv = String::from("email,希望エリア,max_rent\n");
        for n in 0..BULK {
            csv.push_str(&format!("{slug}-{n}@example.com,渋谷区,100000\n"));
        }
        let body = app
            .graphql(
                Some(&token),
                "mutation($csv: String!) { importMembers(csv: $csv) { created } }",
                json!({ "csv": csv }),
            )
            .await;
        assert_eq!(body["data"]["importMembers"]["created"], BULK, "{body}");
        bulk_tokens.push(token);
    }
    let (small_token, _) = sending_tenant(&app, &smtp, "small").await;
    create_member(&app, &small_token, "small@example.com", shibuya_member()).await;

    for token in &bulk_tokens {
        upsert(&app, token, l1(98_000)).await;
    }
    smtp.wait_for_messages(1, Duration::from_secs(30))
        .await
        .unwrap();
    upsert(&app, &small_token, l1(98_000)).await;
    let total = 2 * BULK + 1;
    let received = smtp
        .wait_for_messages(total, Duration::from_secs(180))
        .await
        .unwrap();

    let position = received
        .iter()
        .position(|m| m.rcpt_tos == ["small@example.com"])
        .expect("the small tenant's mail arrived");
    assert!(
        position < total * 3 / 4,
        "the small tenant's mail arrived as number {} of {total}",
        position + 1,
    );
    app.stop().await;
}

/// SQLite only: the fairness comes from the queue and the batches, not from the database.
mod large_sends_share_the_queue {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_sqlite() {
        super::large_sends_share_the_queue(crate::helpers::Database::Sqlite).await;
    }
}

/// A Mailgun sender in the EU region sends through the EU host; a signed webhook about a
/// permanent failure suppresses the address once, and forged, stale or replayed calls are
/// rejected.
async fn mailgun_sends_in_its_region_and_webhooks_suppress(database: Database) {
    let fake = FakeMailgun::start(&[("mg.example.jp", "key-test", Region::Eu)])
        .await
        .unwrap();
    let (us, eu) = (fake.us_url().to_owned(), fake.eu_url().to_owned());
    let app = spawn_app_with(database, Queue::Embedded, move |config| {
        config.mailgun_hosts.us = us;
        config.mailgun_hosts.eu = eu;
    })
    .await;
    let token = rental_tenant(&app, "mailgun").await;
    three_rules(&app, &token).await;
    let mailgun = |region: &str| {
        json!({
            "name": "Mailgun", "fromAddress": "info@mg.example.jp",
            "mailgun": { "domain": "mg.example.jp", "region": region, "apiKey": "key-test", "webhookSigningKey": "whsec-test" },
        })
    };
    let wrong = create_sender(&app, &token, mailgun("US"), true).await;
    assert_eq!(
        wrong["errors"][0]["extensions"]["reason"], "SENDER_CHECK_FAILED",
        "{wrong}"
    );
    let body = create_sender(&app, &token, mailgun("EU"), true).await;
    let id = body["data"]["createSender"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let webhook = body["data"]["createSender"]["mailgun"]["webhookUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    activate(&app, &token, &id).await;
    create_member(&app, &token, "member1@example.com", shibuya_member()).await;
    upsert(&app, &token, l1(98_000)).await;
    settle_sending(&app).await;
    let sent = fake.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].region, Region::Eu);
    let mime = String::from_utf8(sent[0].mime.clone().unwrap()).unwrap();
    assert!(header(&mime, "List-Unsubscribe").is_some());

    let event = |event_id: &str, token: &str, timestamp: i64, key: &[u8]| {
        let signature = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key),
            format!("{timestamp}{token}").as_bytes(),
        );
        json!({
            "signature": { "timestamp": timestamp.to_string(), "token": token, "signature": hex::encode(signature.as_ref()) },
            "event-data": { "id": event_id, "event": "failed", "severity": "permanent", "recipient": "member1@example.com", "reason": "bounce" },
        })
    };
    let now = Utc::now().timestamp();
    let post = |body: Value| {
        let client = app.client.clone();
        let url = webhook.clone();
        async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post(event("ev-1", "tok-1", now, b"whsec-test")).await, 200);
    assert_eq!(
        post(event("ev-1", "tok-1", now, b"whsec-test")).await,
        200,
        "a retry is accepted once more"
    );
    assert_eq!(
        post(event("ev-2", "tok-1", now, b"whsec-test")).await,
        406,
        "a reused token"
    );
    assert_eq!(
        post(event("ev-3", "tok-3", now, b"forged")).await,
        406,
        "a wrong key"
    );
    assert_eq!(
        post(event("ev-4", "tok-4", now - 3_600, b"whsec-test")).await,
        406,
        "a stale timestamp"
    );
    let body = app
        .graphql(
            Some(&token),
            "{ suppressions { address reason } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["suppressions"],
        json!([{ "address": "member1@example.com", "reason": "HARD_BOUNCE" }])
    );
    app.stop().await;
}
on_both_databases!(mailgun_sends_in_its_region_and_webhooks_suppress);

/// Decodes an unfolded header of RFC 2047 B-encoded UTF-8 words, checking that each word is at
/// most 75 characters and decodes to whole characters on its own.
fn decode_words(value: &str) -> String {
    use base64::Engine;
    let mut decoded = String::new();
    for word in value.split_whitespace() {
        assert!(
            word.len() <= 75,
            "encoded word over 75 characters: {word} in {value}"
        );
        let lower = word.to_ascii_lowercase();
        let payload = lower
            .strip_prefix("=?utf-8?b?")
            .and_then(|_| word.get(10..word.len() - 2))
            .unwrap_or_else(|| panic!("not a B-encoded UTF-8 word: {word}"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap();
        decoded.push_str(&String::from_utf8(bytes).expect("a word splits a character"));
    }
    decoded
}

/// A long Japanese subject and a one-line HTML body of 3,000 characters arrive intact within
/// the line limits.
async fn long_text_is_encoded_within_line_limits(database: Database) {
    let smtp = TestSmtp::start().await.unwrap();
    let app = app_with_smtp(database, &smtp).await;
    let (token, _) = sending_tenant(&app, &smtp, "encodings").await;
    let subject = "【新着】渋谷区 2LDK 賃料9.8万円 駅徒歩5分 ペット可 南向き角部屋のご案内";
    let html = format!(
        "<p>{}<a href=\"https://bukken.example.jp/detail?id=TK-000123&utm_source=mail&utm_campaign=shinchaku\">詳細を見る</a>{}</p>",
        "物件のご案内です。".repeat(110),
        "お問い合わせください。".repeat(150),
    );
    let body = app
        .graphql(
            Some(&token),
            "mutation($subject: String!, $html: String!, $text: String!) { saveMailTemplate(kind: LISTING, locale: JA, subject: $subject, html: $html, text: $text) { customized } }",
            json!({ "subject": subject.repeat(12), "html": html, "text": "長い本文です。".repeat(170) }),
        )
        .await;
    assert_eq!(
        body["data"]["saveMailTemplate"]["customized"], true,
        "{body}"
    );
    let addresses = ["yamada.taro@example.com", "suzuki@example.com"];
    let mut members = Vec::new();
    for address in addresses {
        members.push(create_member(&app, &token, address, shibuya_member()).await);
    }
    upsert(&app, &token, l1(98_000)).await;
    settle_sending(&app).await;

    let received = smtp.messages().unwrap();
    let mut recipients: Vec<String> = received.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        ["suzuki@example.com", "yamada.taro@example.com"]
    );
    // The renderer cuts long subjects; the header carries the stored subject exactly.
    let stored = mail_of(&app, &token, &members[0]).await[0]["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(stored.starts_with(&subject.repeat(3)), "{stored}");
    for message in &received {
        let raw = String::from_utf8(message.raw.clone()).unwrap();
        let longest = raw.split("\r\n").map(str::len).max().unwrap();
        assert!(longest <= 998, "a line of {longest} octets");
        assert_eq!(decode_words(&header(&raw, "Subject").unwrap()), stored);
        let from = header(&raw, "From").unwrap();
        assert!(from.ends_with("<info@example.jp>"), "{from}");
        assert!(from.starts_with("=?utf-8?"), "{from}");
    }
    app.stop().await;
}
on_both_databases!(long_text_is_encoded_within_line_limits);
