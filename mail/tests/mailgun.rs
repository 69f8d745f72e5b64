//! The Mailgun transport against the fake Mailgun API of the e2e crate, which serves a US and
//! an EU host on 127.0.0.1 and scripts failures by the recipient's local part.

use std::time::{Duration, Instant};

use e2e::mailgun::{FakeMailgun, Region as FakeRegion};
use mail::{
    TemplateLocale,
    transport::{
        FaultCause, FaultKind, Outgoing, SendFault,
        mailgun::{MailgunConfig, MailgunHosts, MailgunTransport, Region},
    },
};

const US_DOMAIN: &str = "mg.tenant.example.jp";
const US_KEY: &str = "key-us-0123456789abcdef";
const EU_DOMAIN: &str = "mg.tenant.example.eu";
const EU_KEY: &str = "key-eu-fedcba9876543210";

const MESSAGE: &[u8] = "From: news@mg.tenant.example.jp\r\n\
To: taro@example.jp\r\n\
Subject: test\r\n\
Message-ID: <0192-test@mg.tenant.example.jp>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
新着物件のお知らせです。\r\n\
--not-a-boundary\r\n"
    .as_bytes();

async fn start_fake() -> FakeMailgun {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let domains = [
        (US_DOMAIN, US_KEY, FakeRegion::Us),
        (EU_DOMAIN, EU_KEY, FakeRegion::Eu),
    ];
    match FakeMailgun::start(&domains).await {
        Ok(fake) => fake,
        Err(error) => panic!("failed to start the fake Mailgun API: {error:#}"),
    }
}

fn config(fake: &FakeMailgun, domain: &str, key: &str, region: Region) -> MailgunConfig {
    MailgunConfig {
        domain: domain.to_owned(),
        api_key: key.to_owned().into(),
        region,
        hosts: MailgunHosts {
            us: fake.us_url().to_owned(),
            eu: fake.eu_url().to_owned(),
        },
        timeout: Duration::from_secs(5),
    }
}

async fn send_to(transport: &MailgunTransport, to: &str) -> Result<String, SendFault> {
    transport
        .send(Outgoing {
            envelope_from: "bounces@mg.tenant.example.jp",
            to,
            raw: MESSAGE,
        })
        .await
        .map(|accepted| accepted.response)
}

#[tokio::test]
async fn mime_send_stores_the_exact_bytes() {
    let fake = start_fake().await;
    let transport = MailgunTransport::new(config(&fake, US_DOMAIN, US_KEY, Region::Us)).unwrap();

    let response = send_to(&transport, "taro@example.jp").await.unwrap();

    assert!(response.starts_with("<20"), "{response}");
    assert!(
        response.ends_with(&format!("@{US_DOMAIN}> Queued. Thank you.")),
        "{response}"
    );
    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].domain, US_DOMAIN);
    assert_eq!(messages[0].region, FakeRegion::Us);
    assert_eq!(messages[0].to, vec!["taro@example.jp".to_owned()]);
    assert_eq!(messages[0].mime.as_deref(), Some(MESSAGE));
}

#[tokio::test]
async fn eu_domain_works_through_the_eu_host() {
    let fake = start_fake().await;
    let transport = MailgunTransport::new(config(&fake, EU_DOMAIN, EU_KEY, Region::Eu)).unwrap();

    send_to(&transport, "hanako@example.jp").await.unwrap();
    transport.check().await.unwrap();

    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].region, FakeRegion::Eu);
    assert_eq!(messages[0].domain, EU_DOMAIN);
}

#[tokio::test]
async fn eu_domain_on_the_us_host_is_not_found() {
    let fake = start_fake().await;
    let transport = MailgunTransport::new(config(&fake, EU_DOMAIN, EU_KEY, Region::Us)).unwrap();

    let sent = send_to(&transport, "taro@example.jp").await.unwrap_err();
    let checked = transport.check().await.unwrap_err();

    for fault in [&sent, &checked] {
        assert_eq!(fault.kind, FaultKind::Configuration);
        assert_eq!(fault.cause, FaultCause::MailgunDomainNotFound);
        assert_eq!(
            fault.response.as_deref(),
            Some(format!("404 Domain not found: {EU_DOMAIN}").as_str())
        );
    }
    let ja = sent.message(TemplateLocale::Ja);
    let en = sent.message(TemplateLocale::En);
    assert!(ja.contains(EU_DOMAIN), "{ja}");
    assert!(ja.contains("リージョンを「EU」"), "{ja}");
    assert!(en.contains("EU region"), "{en}");
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn wrong_api_key_is_unauthorized() {
    let fake = start_fake().await;
    let wrong_key = "key-wrong-000000";
    let transport = MailgunTransport::new(config(&fake, US_DOMAIN, wrong_key, Region::Us)).unwrap();

    let sent = send_to(&transport, "taro@example.jp").await.unwrap_err();
    let checked = transport.check().await.unwrap_err();

    for fault in [&sent, &checked] {
        assert_eq!(fault.kind, FaultKind::Configuration);
        assert_eq!(fault.cause, FaultCause::MailgunUnauthorized);
        assert_eq!(fault.response.as_deref(), Some("401 Forbidden"));
        assert!(!format!("{fault} {fault:?}").contains(wrong_key));
    }
    assert!(sent.message(TemplateLocale::Ja).contains("APIキー"));
}

#[tokio::test]
async fn another_domains_key_is_unauthorized() {
    let fake = start_fake().await;
    let transport = MailgunTransport::new(config(&fake, US_DOMAIN, EU_KEY, Region::Us)).unwrap();

    let fault = send_to(&transport, "taro@example.jp").await.unwrap_err();

    assert_eq!(fault.cause, FaultCause::MailgunUnauthorized);
}

#[tokio::test]
async fn scripted_failures_map_to_kinds() {
    let fake = start_fake().await;
    let transport = MailgunTransport::new(config(&fake, US_DOMAIN, US_KEY, Region::Us)).unwrap();
    let cases = [
        (
            "ratelimit-taro@example.jp",
            FaultKind::Transient,
            FaultCause::MailgunRateLimited,
            "429 Too many requests",
        ),
        (
            "error-taro@example.jp",
            FaultKind::Transient,
            FaultCause::MailgunServerError,
            "500 Internal Server Error",
        ),
        (
            "invalid-taro@example.jp",
            FaultKind::Permanent,
            FaultCause::MailgunRejected,
            "400 'to' parameter is not a valid address. please check documentation",
        ),
    ];

    for (to, kind, cause, response) in cases {
        let fault = send_to(&transport, to).await.unwrap_err();
        assert_eq!(fault.kind, kind, "{to}");
        assert_eq!(fault.cause, cause, "{to}");
        assert_eq!(fault.response.as_deref(), Some(response), "{to}");
        assert!(fault.message(TemplateLocale::En).contains(response), "{to}");
    }
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn stalled_request_times_out() {
    let fake = start_fake().await;
    let mut settings = config(&fake, US_DOMAIN, US_KEY, Region::Us);
    settings.timeout = Duration::from_secs(1);
    let transport = MailgunTransport::new(settings).unwrap();

    let started = Instant::now();
    let fault = send_to(&transport, "stall-taro@example.jp")
        .await
        .unwrap_err();
    let elapsed = started.elapsed();

    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(fault.kind, FaultKind::Transient);
    assert_eq!(fault.cause, FaultCause::Timeout);
    assert_eq!(fault.timeout, Some(Duration::from_secs(1)));
    assert!(fault.message(TemplateLocale::Ja).contains("1秒"));
}

#[tokio::test]
async fn check_confirms_key_and_domain() {
    let fake = start_fake().await;

    let known = MailgunTransport::new(config(&fake, US_DOMAIN, US_KEY, Region::Us)).unwrap();
    let unknown =
        MailgunTransport::new(config(&fake, "unknown.example.jp", US_KEY, Region::Us)).unwrap();

    known.check().await.unwrap();
    let fault = unknown.check().await.unwrap_err();

    assert_eq!(fault.cause, FaultCause::MailgunDomainNotFound);
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn closed_port_is_connection_refused() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let transport = MailgunTransport::new(MailgunConfig {
        domain: US_DOMAIN.to_owned(),
        api_key: US_KEY.to_owned().into(),
        region: Region::Us,
        hosts: MailgunHosts {
            us: format!("http://127.0.0.1:{port}"),
            eu: format!("http://127.0.0.1:{port}"),
        },
        timeout: Duration::from_secs(5),
    })
    .unwrap();

    let fault = send_to(&transport, "taro@example.jp").await.unwrap_err();

    assert_eq!(fault.kind, FaultKind::Transient);
    assert_eq!(fault.cause, FaultCause::ConnectionRefused);
}

#[test]
fn invalid_base_url_is_an_invalid_setting() {
    let fault = MailgunTransport::new(MailgunConfig {
        domain: US_DOMAIN.to_owned(),
        api_key: US_KEY.to_owned().into(),
        region: Region::Eu,
        hosts: MailgunHosts {
            us: MailgunHosts::default().us,
            eu: "api.eu.mailgun.net".to_owned(),
        },
        timeout: Duration::from_secs(5),
    })
    .unwrap_err();

    assert_eq!(fault.kind, FaultKind::Configuration);
    assert_eq!(fault.cause, FaultCause::InvalidSettings);
}

#[tokio::test]
async fn fake_messages_endpoint_stores_form_fields() {
    let fake = start_fake().await;
    let form = reqwest::multipart::Form::new()
        .text("from", "news@mg.tenant.example.jp")
        .text("to", "taro@example.jp")
        .text("to", "hanako@example.jp")
        .text("subject", "新着物件")
        .text("text", "本文")
        .text("h:Reply-To", "office@tenant.example.jp")
        .text("o:tag", "digest");

    let response = reqwest::Client::new()
        .post(format!("{}/v3/{US_DOMAIN}/messages", fake.us_url()))
        .basic_auth("api", Some(US_KEY))
        .multipart(form)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].to,
        vec!["taro@example.jp".to_owned(), "hanako@example.jp".to_owned()]
    );
    assert_eq!(messages[0].mime, None);
    assert!(
        messages[0]
            .fields
            .contains(&("subject".to_owned(), "新着物件".to_owned()))
    );
    assert!(messages[0].fields.contains(&(
        "h:Reply-To".to_owned(),
        "office@tenant.example.jp".to_owned()
    )));
}
