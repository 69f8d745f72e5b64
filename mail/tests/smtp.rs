//! The SMTP transport and the TLS-mode probe against the real test SMTP server (aiosmtpd,
//! `e2e/smtp/server.py`), which listens on 127.0.0.1 with STARTTLS, implicit-TLS and plain
//! listeners and scripts its replies by the recipient's local part.

use std::time::{Duration, Instant};

use e2e::smtp::{ServerCertificate, SmtpOptions, TestSmtp};
use mail::{
    TemplateLocale,
    transport::{
        FaultCause, FaultKind, FaultTarget, Outgoing, SendFault,
        smtp::{SmtpConfig, SmtpTransport, TlsMode, detect_tls_mode},
    },
};

const SENDER: &str = "bounces@tenant.example.jp";

/// A message with CRLF line ends, a line that starts with a dot (SMTP dot-stuffing) and 8-bit
/// UTF-8 text.
const MESSAGE: &[u8] = "From: =?UTF-8?B?44Gf44KI44KK?= <news@tenant.example.jp>\r\n\
To: taro@example.jp\r\n\
Subject: test\r\n\
Message-ID: <0192-test@tenant.example.jp>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
新着物件のお知らせです。\r\n\
.a line that starts with a dot\r\n\
..and one with two\r\n"
    .as_bytes();

fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

async fn start_server(options: SmtpOptions) -> TestSmtp {
    install_crypto_provider();
    match TestSmtp::start_with(options).await {
        Ok(server) => server,
        Err(error) => panic!("failed to start the test SMTP server: {error:#}"),
    }
}

fn config(server: &TestSmtp, port: u16, tls: TlsMode) -> SmtpConfig {
    SmtpConfig {
        host: "localhost".to_owned(),
        port,
        tls,
        username: server.user().to_owned(),
        password: server.password().to_owned().into(),
        timeout: Duration::from_secs(5),
        extra_root_pem: Some(server.ca_pem()),
        hello_name: Some("tayori.test".to_owned()),
    }
}

fn outgoing(to: &str) -> Outgoing<'_> {
    Outgoing {
        envelope_from: SENDER,
        to,
        raw: MESSAGE,
    }
}

async fn send_to(transport: &SmtpTransport, to: &str) -> Result<String, SendFault> {
    transport
        .send(outgoing(to))
        .await
        .map(|accepted| accepted.response)
}

#[tokio::test]
async fn starttls_sender_delivers_the_exact_bytes() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.starttls_port(), TlsMode::StartTls)).unwrap();

    let response = send_to(&transport, "taro@example.jp").await.unwrap();

    assert_eq!(response, "250 2.0.0 OK queued as 000001");
    let received = server
        .wait_for_messages(1, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.raw, MESSAGE);
    assert_eq!(message.mail_from, SENDER);
    assert_eq!(message.rcpt_tos, vec!["taro@example.jp".to_owned()]);
    assert_eq!(message.auth_user.as_deref(), Some(server.user()));
    assert_eq!(message.listener, "starttls");
    assert!(message.tls);
}

#[tokio::test]
async fn implicit_tls_sender_delivers_the_exact_bytes() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.tls_port(), TlsMode::Implicit)).unwrap();

    send_to(&transport, "hanako@example.jp").await.unwrap();
    send_to(&transport, "jiro@example.jp").await.unwrap();

    let received = server
        .wait_for_messages(2, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].raw, MESSAGE);
    assert_eq!(received[0].rcpt_tos, vec!["hanako@example.jp".to_owned()]);
    assert_eq!(received[1].rcpt_tos, vec!["jiro@example.jp".to_owned()]);
    assert_eq!(received[1].listener, "tls");
    assert!(received[1].tls);
    assert_eq!(received[1].auth_user.as_deref(), Some(server.user()));
}

#[tokio::test]
async fn null_reverse_path_is_sent_as_empty() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.tls_port(), TlsMode::Implicit)).unwrap();

    transport
        .send(Outgoing {
            envelope_from: "",
            to: "taro@example.jp",
            raw: MESSAGE,
        })
        .await
        .unwrap();

    let received = server
        .wait_for_messages(1, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(received[0].mail_from, "");
}

#[tokio::test]
async fn message_without_final_line_break_gets_one() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.tls_port(), TlsMode::Implicit)).unwrap();
    let unterminated = MESSAGE.strip_suffix(b"\r\n").unwrap();

    transport
        .send(Outgoing {
            envelope_from: SENDER,
            to: "taro@example.jp",
            raw: unterminated,
        })
        .await
        .unwrap();

    let received = server
        .wait_for_messages(1, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(received[0].raw, MESSAGE);
}

#[tokio::test]
async fn check_passes_with_good_credentials() {
    let server = start_server(SmtpOptions::default()).await;

    for (port, tls) in [
        (server.starttls_port(), TlsMode::StartTls),
        (server.tls_port(), TlsMode::Implicit),
    ] {
        let transport = SmtpTransport::new(config(&server, port, tls)).unwrap();
        transport.check().await.unwrap();
    }
    assert!(server.messages().unwrap().is_empty());
}

#[tokio::test]
async fn wrong_password_fails_authentication() {
    let server = start_server(SmtpOptions::default()).await;
    let mut settings = config(&server, server.starttls_port(), TlsMode::StartTls);
    settings.password = "not-the-password".to_owned().into();
    let transport = SmtpTransport::new(settings).unwrap();

    let sent = send_to(&transport, "taro@example.jp").await.unwrap_err();
    let checked = transport.check().await.unwrap_err();

    for fault in [&sent, &checked] {
        assert_eq!(fault.kind, FaultKind::Configuration);
        assert_eq!(fault.cause, FaultCause::AuthenticationFailed);
        assert_eq!(
            fault.response.as_deref(),
            Some("535 5.7.8 Authentication credentials invalid")
        );
    }
    assert!(
        sent.message(TemplateLocale::Ja)
            .contains("ユーザー名またはパスワードが正しくありません")
    );
    assert!(server.messages().unwrap().is_empty());
}

#[tokio::test]
async fn probe_detects_each_tls_mode() {
    let server = start_server(SmtpOptions::default()).await;
    let ca = server.ca_pem();
    let timeout = Duration::from_secs(1);

    let starttls = detect_tls_mode("localhost", server.starttls_port(), timeout, Some(&ca)).await;
    let implicit = detect_tls_mode("localhost", server.tls_port(), timeout, Some(&ca)).await;
    let plain = detect_tls_mode("localhost", server.plain_port(), timeout, Some(&ca)).await;

    assert_eq!(starttls, Ok(TlsMode::StartTls));
    assert_eq!(implicit, Ok(TlsMode::Implicit));
    let fault = plain.unwrap_err();
    assert_eq!(fault.kind, FaultKind::Configuration);
    assert_eq!(fault.cause, FaultCause::NoStartTls);
}

#[tokio::test]
async fn probe_waits_for_a_slow_greeting() {
    let server = start_server(SmtpOptions {
        greeting_delay: Some(Duration::from_millis(1500)),
        ..SmtpOptions::default()
    })
    .await;
    let ca = server.ca_pem();

    let patient = detect_tls_mode(
        "localhost",
        server.starttls_port(),
        Duration::from_secs(4),
        Some(&ca),
    )
    .await;
    let impatient = detect_tls_mode(
        "localhost",
        server.starttls_port(),
        Duration::from_millis(500),
        Some(&ca),
    )
    .await;

    assert_eq!(patient, Ok(TlsMode::StartTls));
    // The late plain-text greeting replies to the TLS attempt: a timeout, not a wrong TLS mode.
    let fault = impatient.unwrap_err();
    assert_eq!(fault.kind, FaultKind::Transient);
    assert_eq!(fault.cause, FaultCause::Timeout);
}

#[tokio::test]
async fn plain_port_refuses_to_log_in_without_starttls() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.plain_port(), TlsMode::StartTls)).unwrap();

    let fault = send_to(&transport, "taro@example.jp").await.unwrap_err();

    assert_eq!(fault.kind, FaultKind::Configuration);
    assert_eq!(fault.cause, FaultCause::NoStartTls);
    assert!(!server.log().contains("AUTH"), "{}", server.log());
}

#[tokio::test]
async fn implicit_tls_on_starttls_port_fails_fast() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.starttls_port(), TlsMode::Implicit)).unwrap();

    let started = Instant::now();
    let sent = send_to(&transport, "taro@example.jp").await.unwrap_err();
    let checked = transport.check().await.unwrap_err();

    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    for fault in [&sent, &checked] {
        assert_eq!(fault.kind, FaultKind::Configuration);
        assert_eq!(fault.cause, FaultCause::ImplicitTlsOnStartTlsPort);
    }
    let port = server.starttls_port().to_string();
    assert!(sent.message(TemplateLocale::Ja).contains(&port));
    assert!(sent.message(TemplateLocale::En).contains(&port));
}

#[tokio::test]
async fn starttls_on_implicit_tls_port_is_named() {
    let server = start_server(SmtpOptions::default()).await;
    let mut settings = config(&server, server.tls_port(), TlsMode::StartTls);
    settings.timeout = Duration::from_secs(3);
    let transport = SmtpTransport::new(settings).unwrap();

    let started = Instant::now();
    let fault = send_to(&transport, "taro@example.jp").await.unwrap_err();
    let elapsed = started.elapsed();

    // The timeout, plus a TLS handshake on loopback to tell the cause.
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert_eq!(fault.kind, FaultKind::Configuration);
    assert_eq!(fault.cause, FaultCause::StartTlsOnImplicitTlsPort);
    let ja = fault.message(TemplateLocale::Ja);
    assert!(ja.contains(&format!("ポート{}", server.tls_port())), "{ja}");
    assert!(ja.contains("SSL/TLS"), "{ja}");

    let checked = transport.check().await.unwrap_err();
    assert_eq!(checked.cause, FaultCause::StartTlsOnImplicitTlsPort);
}

#[tokio::test]
async fn expired_certificate_is_reported() {
    let server = start_server(SmtpOptions {
        certificate: ServerCertificate::Expired,
        ..SmtpOptions::default()
    })
    .await;
    let transport =
        SmtpTransport::new(config(&server, server.tls_port(), TlsMode::Implicit)).unwrap();
    let ca = server.ca_pem();

    let sent = send_to(&transport, "taro@example.jp").await.unwrap_err();
    let probed = detect_tls_mode(
        "localhost",
        server.starttls_port(),
        Duration::from_secs(2),
        Some(&ca),
    )
    .await
    .unwrap_err();

    for fault in [&sent, &probed] {
        assert_eq!(fault.kind, FaultKind::Configuration);
        assert_eq!(fault.cause, FaultCause::CertificateExpired);
    }
    assert!(sent.message(TemplateLocale::Ja).contains("有効期限"));
    assert!(sent.message(TemplateLocale::En).contains("expired"));
}

#[tokio::test]
async fn certificate_for_another_host_is_reported() {
    let server = start_server(SmtpOptions {
        certificate: ServerCertificate::WrongHost,
        ..SmtpOptions::default()
    })
    .await;
    let transport =
        SmtpTransport::new(config(&server, server.starttls_port(), TlsMode::StartTls)).unwrap();

    let fault = send_to(&transport, "taro@example.jp").await.unwrap_err();

    assert_eq!(fault.kind, FaultKind::Configuration);
    assert_eq!(fault.cause, FaultCause::CertificateWrongHost);
    assert!(fault.message(TemplateLocale::Ja).contains("localhost"));
    assert!(fault.message(TemplateLocale::En).contains("localhost"));
}

#[tokio::test]
async fn untrusted_issuer_is_reported() {
    let server = start_server(SmtpOptions::default()).await;
    let mut settings = config(&server, server.tls_port(), TlsMode::Implicit);
    settings.extra_root_pem = None;
    let transport = SmtpTransport::new(settings).unwrap();

    let fault = transport.check().await.unwrap_err();

    assert_eq!(fault.kind, FaultKind::Configuration);
    assert_eq!(fault.cause, FaultCause::CertificateUnknownIssuer);
}

#[tokio::test]
async fn rejected_recipient_is_a_hard_bounce() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.starttls_port(), TlsMode::StartTls)).unwrap();

    let fault = send_to(&transport, "reject-taro@example.jp")
        .await
        .unwrap_err();

    assert_eq!(fault.kind, FaultKind::Rejected);
    assert_eq!(fault.cause, FaultCause::Reply { code: 550 });
    assert_eq!(
        fault.response.as_deref(),
        Some("550 5.1.1 mailbox unavailable")
    );
    assert!(server.messages().unwrap().is_empty());
}

#[tokio::test]
async fn deferred_recipient_is_transient() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.starttls_port(), TlsMode::StartTls)).unwrap();

    let fault = send_to(&transport, "defer-taro@example.jp")
        .await
        .unwrap_err();

    assert_eq!(fault.kind, FaultKind::Transient);
    assert_eq!(fault.cause, FaultCause::Reply { code: 451 });
    assert_eq!(fault.response.as_deref(), Some("451 4.7.1 try again later"));
}

#[tokio::test]
async fn flaky_recipient_succeeds_on_retry() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.tls_port(), TlsMode::Implicit)).unwrap();

    let first = send_to(&transport, "flaky-2-taro@example.jp").await;
    let second = send_to(&transport, "flaky-2-taro@example.jp").await;
    let third = send_to(&transport, "flaky-2-taro@example.jp").await;

    assert_eq!(first.unwrap_err().kind, FaultKind::Transient);
    assert_eq!(second.unwrap_err().cause, FaultCause::Reply { code: 451 });
    assert!(third.unwrap().starts_with("250 "));
}

#[tokio::test]
async fn closed_connection_is_transient_and_the_pool_recovers() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.starttls_port(), TlsMode::StartTls)).unwrap();
    send_to(&transport, "before@example.jp").await.unwrap();

    let fault = send_to(&transport, "close-taro@example.jp")
        .await
        .unwrap_err();
    let after = send_to(&transport, "after@example.jp").await;

    assert_eq!(fault.kind, FaultKind::Transient);
    assert_eq!(fault.cause, FaultCause::Reply { code: 421 });
    assert!(after.unwrap().starts_with("250 "));
    let received = server
        .wait_for_messages(2, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(received[1].rcpt_tos, vec!["after@example.jp".to_owned()]);
}

#[tokio::test]
async fn messages_in_a_row_share_a_connection() {
    let server = start_server(SmtpOptions::default()).await;
    for (port, tls) in [
        (server.starttls_port(), TlsMode::StartTls),
        (server.tls_port(), TlsMode::Implicit),
    ] {
        let transport = SmtpTransport::new(config(&server, port, tls)).unwrap();
        for n in 0..3 {
            send_to(&transport, &format!("row{n}@example.jp"))
                .await
                .unwrap();
        }
    }

    server
        .wait_for_messages(6, Duration::from_secs(5))
        .await
        .unwrap();
    let logins = server.log().matches("succeeded for user").count();
    assert_eq!(logins, 2, "one login per transport:\n{}", server.log());
}

/// The server accepts the message and then drops the connection before the client's next
/// command. The message arrives once, and the next one goes over a new connection.
#[tokio::test]
async fn connection_dropped_after_accepted_data_sends_nothing_twice() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.starttls_port(), TlsMode::StartTls)).unwrap();

    let dropped = send_to(&transport, "drop-hanako@example.jp").await;
    let after = send_to(&transport, "after@example.jp").await;

    assert!(dropped.unwrap().starts_with("250 "));
    assert!(after.unwrap().starts_with("250 "));
    let received = server
        .wait_for_messages(2, Duration::from_secs(5))
        .await
        .unwrap();
    let recipients: Vec<_> = received.iter().map(|m| m.rcpt_tos.clone()).collect();
    assert_eq!(
        recipients,
        [["drop-hanako@example.jp"], ["after@example.jp"]]
    );
}

#[tokio::test]
async fn stalled_data_times_out_and_the_pool_recovers() {
    let server = start_server(SmtpOptions::default()).await;
    let mut settings = config(&server, server.starttls_port(), TlsMode::StartTls);
    settings.timeout = Duration::from_secs(2);
    let transport = SmtpTransport::new(settings).unwrap();
    send_to(&transport, "before@example.jp").await.unwrap();

    let started = Instant::now();
    let fault = send_to(&transport, "stall-taro@example.jp")
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    let after = send_to(&transport, "after@example.jp").await;

    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(fault.kind, FaultKind::Transient);
    assert_eq!(fault.cause, FaultCause::Timeout);
    assert_eq!(fault.timeout, Some(Duration::from_secs(2)));
    assert!(fault.message(TemplateLocale::Ja).contains("2秒"));
    assert!(fault.message(TemplateLocale::En).contains("2 seconds"));
    assert!(after.unwrap().starts_with("250 "));
}

#[tokio::test]
async fn cancelled_send_does_not_poison_the_pool() {
    let server = start_server(SmtpOptions::default()).await;
    let transport =
        SmtpTransport::new(config(&server, server.starttls_port(), TlsMode::StartTls)).unwrap();
    send_to(&transport, "before@example.jp").await.unwrap();

    // The caller gives up before the transport's own timeout of 5 s.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(500),
        send_to(&transport, "stall-taro@example.jp"),
    )
    .await;
    // lettre hands the interrupted connection back to its pool in a task of its own.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let after = send_to(&transport, "after@example.jp").await;

    assert!(cancelled.is_err());
    assert!(after.unwrap().starts_with("250 "));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn closed_port_is_connection_refused() {
    install_crypto_provider();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let transport = SmtpTransport::new(SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port,
        tls: TlsMode::StartTls,
        username: "user".to_owned(),
        password: "password".to_owned().into(),
        timeout: Duration::from_secs(5),
        extra_root_pem: None,
        hello_name: None,
    })
    .unwrap();

    let fault = send_to(&transport, "taro@example.jp").await.unwrap_err();

    assert_eq!(fault.kind, FaultKind::Transient);
    assert_eq!(fault.cause, FaultCause::ConnectionRefused);
    let ja = fault.message(TemplateLocale::Ja);
    let en = fault.message(TemplateLocale::En);
    assert!(ja.contains(&format!("ポート{port}")), "{ja}");
    assert!(en.contains(&format!("port {port}")), "{en}");
    assert!(ja.contains("ポート25"), "{ja}");
}

#[tokio::test]
async fn invalid_recipient_is_rejected_before_connecting() {
    install_crypto_provider();
    let transport = SmtpTransport::new(SmtpConfig {
        host: "localhost".to_owned(),
        port: 9,
        tls: TlsMode::Implicit,
        username: "user".to_owned(),
        password: "password".to_owned().into(),
        timeout: Duration::from_secs(5),
        extra_root_pem: None,
        hello_name: None,
    })
    .unwrap();

    let fault = send_to(&transport, "not an address").await.unwrap_err();

    assert_eq!(fault.kind, FaultKind::Rejected);
    assert_eq!(fault.cause, FaultCause::InvalidRecipient);
}

#[test]
fn messages_differ_by_locale_and_name_the_server() {
    let smtp = |cause: FaultCause, kind: FaultKind| SendFault {
        kind,
        cause,
        response: None,
        target: Some(FaultTarget::Smtp {
            host: "smtp.example.jp".to_owned(),
            port: 465,
        }),
        timeout: Some(Duration::from_secs(30)),
        detail: None,
    };
    let cases = [
        (
            smtp(
                FaultCause::StartTlsOnImplicitTlsPort,
                FaultKind::Configuration,
            ),
            "ポート465",
            "Port 465",
        ),
        (
            smtp(FaultCause::CertificateWrongHost, FaultKind::Configuration),
            "smtp.example.jp",
            "smtp.example.jp",
        ),
        (
            smtp(FaultCause::Timeout, FaultKind::Transient),
            "30秒",
            "30 seconds",
        ),
        (
            smtp(FaultCause::NoStartTls, FaultKind::Configuration),
            "STARTTLS",
            "STARTTLS",
        ),
    ];

    for (fault, in_ja, in_en) in cases {
        let ja = fault.message(TemplateLocale::Ja);
        let en = fault.message(TemplateLocale::En);
        assert_ne!(ja, en);
        assert!(ja.contains(in_ja), "{ja}");
        assert!(en.contains(in_en), "{en}");
        assert!(!fault.to_string().is_empty());
    }

    let mut rejected = smtp(FaultCause::Reply { code: 550 }, FaultKind::Rejected);
    rejected.response = Some("550 5.1.1 mailbox unavailable".to_owned());
    assert!(
        rejected
            .message(TemplateLocale::Ja)
            .ends_with("（サーバーの応答: 550 5.1.1 mailbox unavailable）")
    );
    assert!(
        rejected
            .message(TemplateLocale::En)
            .ends_with("(server reply: 550 5.1.1 mailbox unavailable)")
    );
    assert_eq!(
        FaultCause::ImplicitTlsOnStartTlsPort.code(),
        "implicit_tls_on_starttls_port"
    );
}
