//! Send failures: what the caller should do next ([`FaultKind`]), what went wrong
//! ([`FaultCause`]) and an explanation for the tenant's operators in Japanese or English.

use std::{fmt, time::Duration};

use super::mailgun::Region;
use crate::TemplateLocale;

/// Maximum length of a server or API reply kept in a [`SendFault`], in characters.
const MAX_RESPONSE_CHARS: usize = 500;

/// The caller's next step after a failed send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// Retry later with backoff: 4xx replies, timeouts, network errors, Mailgun 429 and 5xx.
    Transient,
    /// Permanent for this recipient (a hard bounce): suppress the address, do not retry.
    Rejected,
    /// Permanent for this mail: fail it and do not retry.
    Permanent,
    /// The sender's set-up is wrong (credentials, TLS mode, certificate, Mailgun key or
    /// domain): pause the sender and tell the tenant.
    Configuration,
}

/// The reason for a fault. [`FaultCause::code`] gives a stable name for storage and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultCause {
    /// No reply within the configured timeout. A message that timed out after its data was
    /// sent may still have been delivered.
    Timeout,
    ConnectionRefused,
    HostNotFound,
    /// The connection failed or was closed during the session.
    Network,
    /// The client started TLS at once, but the port expects plain text and STARTTLS.
    ImplicitTlsOnStartTlsPort,
    /// The client waited for a plain-text greeting, but the port expects TLS from the start.
    StartTlsOnImplicitTlsPort,
    /// The server offers no STARTTLS, so credentials would travel in plain text.
    NoStartTls,
    CertificateExpired,
    /// The certificate is valid, but not for the host name in the settings.
    CertificateWrongHost,
    /// The certificate chain does not lead to a trusted root (self-signed, private CA).
    CertificateUnknownIssuer,
    /// Any other TLS failure.
    TlsHandshake,
    /// 535 or 534: wrong user name or password, or the provider wants another kind of
    /// password.
    AuthenticationFailed,
    /// 530 or 538: the server wants AUTH (over TLS) before it takes mail.
    AuthenticationRequired,
    /// The server offers neither AUTH PLAIN nor AUTH LOGIN, the mechanisms Tayori uses.
    AuthenticationUnavailable,
    /// Any other SMTP reply that ended the attempt.
    Reply {
        code: u16,
    },
    /// The envelope sender is not a valid address.
    InvalidSender,
    /// The recipient is not a valid address.
    InvalidRecipient,
    /// A setting cannot be used at all, for example a CA certificate that does not parse.
    InvalidSettings,
    /// The server's replies are not valid SMTP: the port may belong to another service.
    Protocol,
    /// The message needs an SMTP extension that the server lacks: 8BITMIME for 8-bit content or
    /// SMTPUTF8 for a non-ASCII address.
    UnsupportedByServer,
    MailgunUnauthorized,
    MailgunDomainNotFound,
    MailgunRateLimited,
    /// Mailgun returned 400 (or another 4xx) with a reason in `message`.
    MailgunRejected,
    /// Mailgun returned 5xx or an unexpected status.
    MailgunServerError,
}

impl FaultCause {
    /// Stable snake_case name, for example `implicit_tls_on_starttls_port`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::ConnectionRefused => "connection_refused",
            Self::HostNotFound => "host_not_found",
            Self::Network => "network",
            Self::ImplicitTlsOnStartTlsPort => "implicit_tls_on_starttls_port",
            Self::StartTlsOnImplicitTlsPort => "starttls_on_implicit_tls_port",
            Self::NoStartTls => "no_starttls",
            Self::CertificateExpired => "certificate_expired",
            Self::CertificateWrongHost => "certificate_wrong_host",
            Self::CertificateUnknownIssuer => "certificate_unknown_issuer",
            Self::TlsHandshake => "tls_handshake",
            Self::AuthenticationFailed => "authentication_failed",
            Self::AuthenticationRequired => "authentication_required",
            Self::AuthenticationUnavailable => "authentication_unavailable",
            Self::Reply { .. } => "smtp_reply",
            Self::InvalidSender => "invalid_sender",
            Self::InvalidRecipient => "invalid_recipient",
            Self::InvalidSettings => "invalid_settings",
            Self::Protocol => "protocol",
            Self::UnsupportedByServer => "unsupported_by_server",
            Self::MailgunUnauthorized => "mailgun_unauthorized",
            Self::MailgunDomainNotFound => "mailgun_domain_not_found",
            Self::MailgunRateLimited => "mailgun_rate_limited",
            Self::MailgunRejected => "mailgun_rejected",
            Self::MailgunServerError => "mailgun_server_error",
        }
    }
}

/// The server a fault concerns, as the tenant entered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultTarget {
    Smtp { host: String, port: u16 },
    Mailgun { domain: String, region: Region },
}

/// A failed send, check or probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFault {
    pub kind: FaultKind,
    pub cause: FaultCause,
    /// The server's or API's reply, trimmed, for example `550 5.1.1 mailbox unavailable`.
    /// The configured password or API key is replaced with `[redacted]` (unless it is shorter
    /// than 4 characters).
    pub response: Option<String>,
    pub target: Option<FaultTarget>,
    /// The limit that ran out, for [`FaultCause::Timeout`].
    pub timeout: Option<Duration>,
    /// The local error behind the fault (TLS or network), in English, for logs.
    pub detail: Option<String>,
}

impl SendFault {
    pub(crate) fn new(kind: FaultKind, cause: FaultCause) -> Self {
        Self {
            kind,
            cause,
            response: None,
            target: None,
            timeout: None,
            detail: None,
        }
    }

    pub(crate) fn with_target(mut self, target: FaultTarget) -> Self {
        self.target = Some(target);
        self
    }

    pub(crate) fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Records `timeout` if this is a [`FaultCause::Timeout`].
    pub(crate) fn with_timeout_of(self, timeout: Duration) -> Self {
        if self.cause == FaultCause::Timeout {
            self.with_timeout(timeout)
        } else {
            self
        }
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Stores `response` trimmed, and shortened to [`MAX_RESPONSE_CHARS`].
    pub(crate) fn with_response(mut self, response: &str) -> Self {
        let mut text = response.trim().to_owned();
        if text.chars().count() > MAX_RESPONSE_CHARS {
            text = text.chars().take(MAX_RESPONSE_CHARS).collect::<String>() + "…";
        }
        if !text.is_empty() {
            self.response = Some(text);
        }
        self
    }

    /// Replaces `secret` (a password or API key) with `[redacted]` in the response and detail,
    /// in case a server echoes what it was sent. Secrets shorter than 4 characters are left
    /// alone, because replacing them would garble ordinary words.
    pub(crate) fn redacted(mut self, secret: &str) -> Self {
        if secret.chars().count() >= 4 {
            for text in [&mut self.response, &mut self.detail].into_iter().flatten() {
                if text.contains(secret) {
                    *text = text.replace(secret, "[redacted]");
                }
            }
        }
        self
    }

    /// Explains the fault to an operator: what is wrong, what to change, and the server's
    /// reply where there is one.
    pub fn message(&self, locale: TemplateLocale) -> String {
        let text = match locale {
            TemplateLocale::Ja => self.message_ja(),
            TemplateLocale::En => self.message_en(),
        };
        match (&self.response, locale) {
            (Some(response), TemplateLocale::Ja) if self.is_mailgun() => {
                format!("{text}（Mailgunの応答: {response}）")
            }
            (Some(response), TemplateLocale::Ja) => format!("{text}（サーバーの応答: {response}）"),
            (Some(response), TemplateLocale::En) if self.is_mailgun() => {
                format!("{text} (Mailgun's reply: {response})")
            }
            (Some(response), TemplateLocale::En) => format!("{text} (server reply: {response})"),
            (None, _) => text,
        }
    }

    fn is_mailgun(&self) -> bool {
        matches!(self.target, Some(FaultTarget::Mailgun { .. }))
    }

    fn host(&self) -> Option<&str> {
        match &self.target {
            Some(FaultTarget::Smtp { host, .. }) => Some(host),
            _ => None,
        }
    }

    fn port(&self) -> Option<u16> {
        match &self.target {
            Some(FaultTarget::Smtp { port, .. }) => Some(*port),
            _ => None,
        }
    }

    /// "smtp.example.jp:587", or a general name when the target is unknown.
    fn server(&self, locale: TemplateLocale) -> String {
        match (&self.target, locale) {
            (Some(FaultTarget::Smtp { host, port }), _) => format!("{host}:{port}"),
            (Some(FaultTarget::Mailgun { .. }), _) => "Mailgun".to_owned(),
            (None, TemplateLocale::Ja) => "SMTPサーバー".to_owned(),
            (None, TemplateLocale::En) => "the SMTP server".to_owned(),
        }
    }

    fn seconds(&self) -> u64 {
        self.timeout
            .map_or(0, |timeout| timeout.as_secs_f64().round() as u64)
    }

    fn message_ja(&self) -> String {
        if self.is_mailgun() {
            match self.cause {
                FaultCause::Timeout => {
                    return format!(
                        "Mailgunから{}秒以内に応答がありませんでした。時間をおいて再送できます。",
                        self.seconds()
                    );
                }
                FaultCause::ConnectionRefused | FaultCause::HostNotFound | FaultCause::Network => {
                    return "MailgunのAPIに接続できませんでした。時間をおいて再送できます。"
                        .to_owned();
                }
                _ => {}
            }
        }
        let server = self.server(TemplateLocale::Ja);
        let host = self.host().unwrap_or("SMTPサーバー");
        let port = self
            .port()
            .map_or_else(|| "このポート".to_owned(), |port| format!("ポート{port}"));
        match self.cause {
            FaultCause::Timeout => format!(
                "{server} から{}秒以内に応答がありませんでした。ホスト名とポート番号が正しいか、ファイアウォールで通信が止められていないかを確認してください。",
                self.seconds()
            ),
            FaultCause::ConnectionRefused => format!(
                "{host} の{port}に接続できませんでした（接続を拒否されました）。ホスト名とポート番号を確認してください。多くのプロバイダーはポート25を塞いでいるため、587（STARTTLS）か465（SSL/TLS）を使ってください。"
            ),
            FaultCause::HostNotFound => format!(
                "ホスト名「{host}」が見つかりません。SMTPサーバーのホスト名に誤りがないか確認してください。"
            ),
            FaultCause::Network => format!(
                "{server} との通信が途中で切れました。時間をおいてもう一度お試しください。"
            ),
            FaultCause::ImplicitTlsOnStartTlsPort => format!(
                "{port}はSTARTTLS方式です（暗号化せずに接続してから暗号化に切り替えます）。暗号化方式を「STARTTLS」にするか、ポートを465にして「SSL/TLS」を選んでください。"
            ),
            FaultCause::StartTlsOnImplicitTlsPort => format!(
                "{port}はSSL/TLS（暗号化接続）専用です。暗号化方式を「SSL/TLS」にするか、ポートを587にしてください。"
            ),
            FaultCause::NoStartTls => format!(
                "{server} は暗号化（STARTTLS）に対応していないため、パスワードを暗号化せずに送ることになります。そのため接続を中止しました。SSL/TLSのポート（通常は465）かSTARTTLSのポート（通常は587）を指定してください。"
            ),
            FaultCause::CertificateExpired => format!(
                "{host} のサーバー証明書は有効期限が切れています。メールサーバーの管理者（ホスティング会社）に証明書の更新を依頼してください。"
            ),
            FaultCause::CertificateWrongHost => format!(
                "{host} が提示したサーバー証明書は、別のホスト名のものです。ホスティング会社が案内しているSMTPサーバー名（証明書に記載された名前）を入力してください。"
            ),
            FaultCause::CertificateUnknownIssuer => format!(
                "{host} のサーバー証明書は、信頼できる認証局が発行したものではありません（自己署名の証明書など）。ホスティング会社が案内しているSMTPサーバー名を使うか、正式な証明書の導入を管理者に依頼してください。"
            ),
            FaultCause::TlsHandshake => format!(
                "{server} と暗号化（TLS）の接続を確立できませんでした。暗号化方式とポート番号の組み合わせを確認してください。"
            ),
            FaultCause::AuthenticationFailed => "ユーザー名またはパスワードが正しくありません。メールアカウントのユーザー名（多くはメールアドレス全体）とパスワードを確認してください。Gmailなどでは、通常のパスワードではなくアプリ パスワードが必要な場合があります。".to_owned(),
            FaultCause::AuthenticationRequired => format!(
                "{host} はメールを送る前にログイン（SMTP認証）を求めています。ユーザー名とパスワードを設定し、暗号化方式を「SSL/TLS」か「STARTTLS」にしてください。"
            ),
            FaultCause::AuthenticationUnavailable => format!(
                "{host} は、Tayoriが使えるログイン方式（PLAIN、LOGIN）に対応していません。ホスティング会社が案内しているポートと暗号化方式を確認してください。"
            ),
            FaultCause::Reply { code } => match self.kind {
                FaultKind::Transient => format!(
                    "{server} が一時的なエラー（{code}）を返しました。時間をおいて再送できます。"
                ),
                FaultKind::Rejected => format!(
                    "{server} がこの宛先への配信を拒否しました（{code}）。宛先のメールアドレスが存在しないか、受け取れない状態です。"
                ),
                FaultKind::Permanent | FaultKind::Configuration => format!(
                    "{server} がこのメールを受け付けませんでした（{code}）。"
                ),
            },
            FaultCause::InvalidSender => "送信元（エンベロープ送信者）のメールアドレスが正しい形式ではありません。送信者設定のメールアドレスを確認してください。".to_owned(),
            FaultCause::InvalidRecipient => "宛先のメールアドレスが正しい形式ではありません。".to_owned(),
            FaultCause::InvalidSettings => "送信設定に使えない値があります。".to_owned(),
            FaultCause::Protocol => format!(
                "{server} の応答をSMTPとして解釈できませんでした。SMTPサーバーのホスト名とポート番号（POPやIMAPのポートになっていないか）を確認してください。"
            ),
            FaultCause::UnsupportedByServer => format!(
                "{server} は、このメールの送信に必要な機能（8BITMIMEまたはSMTPUTF8）に対応していません。"
            ),
            FaultCause::MailgunUnauthorized => "MailgunのAPIキーが正しくありません。Mailgunの管理画面（API Security）でプライベートAPIキーを確認し、入力し直してください。".to_owned(),
            FaultCause::MailgunDomainNotFound => self.mailgun_domain_not_found_ja(),
            FaultCause::MailgunRateLimited => "Mailgunの送信数の上限に達しました。しばらく待ってから送信してください。上限はMailgunのプランで決まります。".to_owned(),
            FaultCause::MailgunRejected => "Mailgunがこのメールを受け付けませんでした。".to_owned(),
            FaultCause::MailgunServerError if self.kind == FaultKind::Transient => "Mailgun側でエラーが起きました。時間をおいて再送できます。".to_owned(),
            FaultCause::MailgunServerError => "Mailgunから想定外の応答がありました。".to_owned(),
        }
    }

    fn message_en(&self) -> String {
        if self.is_mailgun() {
            match self.cause {
                FaultCause::Timeout => {
                    return format!(
                        "Mailgun did not answer within {} seconds. The message can be sent again later.",
                        self.seconds()
                    );
                }
                FaultCause::ConnectionRefused | FaultCause::HostNotFound | FaultCause::Network => {
                    return "Tayori could not connect to the Mailgun API. The message can be sent again later."
                        .to_owned();
                }
                _ => {}
            }
        }
        let server = self.server(TemplateLocale::En);
        let host = self.host().unwrap_or("the SMTP server");
        let port = self
            .port()
            .map_or_else(|| "This port".to_owned(), |port| format!("Port {port}"));
        match self.cause {
            FaultCause::Timeout => format!(
                "{server} did not answer within {} seconds. Check the host name and port, and whether a firewall blocks the connection.",
                self.seconds()
            ),
            FaultCause::ConnectionRefused => format!(
                "{host} refused the connection on {}. Check the host name and port. Many providers block port 25; use port 587 with STARTTLS or port 465 with SSL/TLS.",
                port.to_lowercase()
            ),
            FaultCause::HostNotFound => format!(
                "The host name {host} was not found. Check the SMTP server's host name for typos."
            ),
            FaultCause::Network => format!(
                "The connection to {server} failed or was cut off. Try again later."
            ),
            FaultCause::ImplicitTlsOnStartTlsPort => format!(
                "{port} expects STARTTLS (a plain connection that is then encrypted). Choose STARTTLS as the encryption, or use port 465 with SSL/TLS."
            ),
            FaultCause::StartTlsOnImplicitTlsPort => format!(
                "{port} expects SSL/TLS from the start. Choose SSL/TLS as the encryption, or use port 587 with STARTTLS."
            ),
            FaultCause::NoStartTls => format!(
                "{server} does not offer STARTTLS, so the password would be sent unencrypted. Tayori stopped before logging in. Use an SSL/TLS port (usually 465) or a STARTTLS port (usually 587)."
            ),
            FaultCause::CertificateExpired => format!(
                "The TLS certificate of {host} has expired. Ask the mail server's administrator or hosting provider to renew it."
            ),
            FaultCause::CertificateWrongHost => format!(
                "The TLS certificate that {host} presented is for a different host name. Enter the SMTP host name your provider gives, which is the name on its certificate."
            ),
            FaultCause::CertificateUnknownIssuer => format!(
                "The TLS certificate of {host} was not issued by a trusted certificate authority (it may be self-signed). Use the SMTP host name your provider gives, or ask the administrator to install a certificate from a trusted authority."
            ),
            FaultCause::TlsHandshake => format!(
                "The TLS handshake with {server} failed. Check that the encryption setting matches the port."
            ),
            FaultCause::AuthenticationFailed => "The user name or password is wrong. Check the mail account's user name (often the full email address) and password. Some providers, Gmail among them, need an app password instead of the account password.".to_owned(),
            FaultCause::AuthenticationRequired => format!(
                "{host} requires logging in (SMTP authentication) before it accepts mail. Enter the user name and password, and choose SSL/TLS or STARTTLS as the encryption."
            ),
            FaultCause::AuthenticationUnavailable => format!(
                "{host} offers no login method that Tayori supports (PLAIN or LOGIN). Check the port and encryption your provider gives."
            ),
            FaultCause::Reply { code } => match self.kind {
                FaultKind::Transient => format!(
                    "{server} returned a temporary error ({code}). The message can be sent again later."
                ),
                FaultKind::Rejected => format!(
                    "{server} refused delivery to this recipient ({code}). The address does not exist or cannot receive mail."
                ),
                FaultKind::Permanent | FaultKind::Configuration => format!(
                    "{server} did not accept this message ({code})."
                ),
            },
            FaultCause::InvalidSender => "The envelope sender is not a valid email address. Check the sender's address in the settings.".to_owned(),
            FaultCause::InvalidRecipient => "The recipient is not a valid email address.".to_owned(),
            FaultCause::InvalidSettings => "A sending setting has a value that cannot be used.".to_owned(),
            FaultCause::Protocol => format!(
                "{server} did not answer in SMTP. Check the host name and port; it may be a POP or IMAP port."
            ),
            FaultCause::UnsupportedByServer => format!(
                "{server} lacks an SMTP extension this message needs (8BITMIME or SMTPUTF8)."
            ),
            FaultCause::MailgunUnauthorized => "Mailgun rejected the API key. Copy the private API key from the Mailgun dashboard (API Security) and enter it again.".to_owned(),
            FaultCause::MailgunDomainNotFound => self.mailgun_domain_not_found_en(),
            FaultCause::MailgunRateLimited => "Mailgun's sending limit was reached. Wait before sending more; the limit depends on the Mailgun plan.".to_owned(),
            FaultCause::MailgunRejected => "Mailgun did not accept this message.".to_owned(),
            FaultCause::MailgunServerError if self.kind == FaultKind::Transient => "Mailgun had an internal error. The message can be sent again later.".to_owned(),
            FaultCause::MailgunServerError => "Mailgun sent an unexpected reply.".to_owned(),
        }
    }

    fn mailgun_domain_not_found_ja(&self) -> String {
        match &self.target {
            Some(FaultTarget::Mailgun { domain, region }) => {
                let (this, other) = match region {
                    Region::Us => ("US", "EU"),
                    Region::Eu => ("EU", "US"),
                };
                format!(
                    "Mailgunの{this}リージョンにドメイン「{domain}」が見つかりません。ドメイン名を確認してください。{other}リージョンで作成したドメインは、リージョンを「{other}」にする必要があります。"
                )
            }
            _ => "Mailgunにこのドメインが見つかりません。ドメイン名とリージョン（US/EU）を確認してください。EUリージョンのドメインはリージョンを「EU」にする必要があります。".to_owned(),
        }
    }

    fn mailgun_domain_not_found_en(&self) -> String {
        match &self.target {
            Some(FaultTarget::Mailgun { domain, region }) => {
                let (this, other) = match region {
                    Region::Us => ("US", "EU"),
                    Region::Eu => ("EU", "US"),
                };
                format!(
                    "Mailgun has no domain {domain} in the {this} region. Check the domain name. A domain created in the {other} region needs the {other} region setting."
                )
            }
            _ => "Mailgun does not know this domain. Check the domain name and the region (US or EU); EU domains need the EU region setting.".to_owned(),
        }
    }
}

impl fmt::Display for SendFault {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}: {}",
            self.cause.code(),
            self.message(TemplateLocale::En)
        )?;
        if let Some(detail) = &self.detail {
            write!(formatter, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SendFault {}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault_with(response: &str, detail: &str) -> SendFault {
        SendFault::new(FaultKind::Permanent, FaultCause::Protocol)
            .with_response(response)
            .with_detail(detail)
    }

    #[test]
    fn redacted_removes_the_secret() {
        let fault =
            fault_with("500 unknown command AUTH hunter22", "sent hunter22").redacted("hunter22");

        assert_eq!(
            fault.response.as_deref(),
            Some("500 unknown command AUTH [redacted]")
        );
        assert_eq!(fault.detail.as_deref(), Some("sent [redacted]"));
    }

    #[test]
    fn redacted_keeps_text_for_short_secrets() {
        let fault = fault_with("550 5.1.1 mailbox unavailable", "ok").redacted("a");

        assert_eq!(
            fault.response.as_deref(),
            Some("550 5.1.1 mailbox unavailable")
        );
    }

    #[test]
    fn long_responses_are_shortened() {
        let fault = fault_with(&"x".repeat(2000), "");

        assert_eq!(
            fault.response.map(|response| response.chars().count()),
            Some(MAX_RESPONSE_CHARS + 1)
        );
    }
}
