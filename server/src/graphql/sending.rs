//! Senders (SMTP and Mailgun), their checks and test mail, rate limit presets, DKIM keys and
//! the suppression list. Credentials can be set but are never returned.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::{
    Permission, ValidationError,
    error::Problem,
    sending::{
        dkim,
        senders::{
            self, PRESETS, RateLimits, SenderInput as DomainSenderInput, TlsChoice, TransportInput,
            TransportView,
        },
        suppressions::{self, Reason},
    },
};
use mail::{
    dkim::KeyAlgorithm,
    transport::{mailgun::Region, smtp::TlsMode},
};
use secrecy::SecretString;

use super::{
    context::ContextExt,
    error::{ApiResult, ResultExt},
    members::parse_id,
};

/// The kind of a sender.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SenderKind {
    /// The tenant's own SMTP server or hosting account.
    Smtp,
    /// Mailgun's HTTP API.
    Mailgun,
}

/// The encryption of the SMTP connection.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SmtpTls {
    /// TLS from the first byte ("SSL/TLS", usually port 465).
    Implicit,
    /// Plain text, then STARTTLS before login (usually port 587).
    Starttls,
    /// Probe the port and keep the mode found (input only).
    Auto,
}

/// The Mailgun region of the domain. Each region has its own API host.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum MailgunRegion {
    /// api.mailgun.net
    Us,
    /// api.eu.mailgun.net
    Eu,
}

/// Messages per sliding window; null is unlimited.
#[derive(SimpleObject, InputObject, Clone, Copy, Default)]
#[graphql(name = "RateLimits", input_name = "RateLimitsInput")]
pub struct RateLimitsValue {
    /// Mails in any 60 seconds.
    pub per_minute: Option<i64>,
    /// Mails in any 60 minutes.
    pub per_hour: Option<i64>,
    /// Mails in any 24 hours.
    pub per_day: Option<i64>,
}

impl From<RateLimits> for RateLimitsValue {
    fn from(limits: RateLimits) -> Self {
        Self {
            per_minute: limits.per_minute,
            per_hour: limits.per_hour,
            per_day: limits.per_day,
        }
    }
}

/// A sender's SMTP server and account.
#[derive(SimpleObject)]
pub struct SmtpSettings {
    /// The server's host name.
    pub host: String,
    /// The server's port, such as 587 or 465.
    pub port: i32,
    /// `IMPLICIT` or `STARTTLS`; "auto" is stored as the mode it found.
    pub tls: SmtpTls,
    /// The login name.
    pub username: String,
}

/// A sender's Mailgun domain.
#[derive(SimpleObject)]
pub struct MailgunSettings {
    /// The sending domain, such as `mg.example.jp`.
    pub domain: String,
    /// The region of the domain.
    pub region: MailgunRegion,
    /// Whether a webhook signing key is stored.
    pub has_webhook_key: bool,
    /// The URL to enter in Mailgun's webhook settings for this sender.
    pub webhook_url: String,
}

/// The reason sending through a sender stopped.
#[derive(SimpleObject)]
pub struct SenderPause {
    /// The fault's stable code, such as `authentication_failed`.
    pub code: String,
    /// The problem and the change that fixes it, in the caller's language.
    pub message: String,
    /// When sending stopped.
    pub at: DateTime<Utc>,
}

/// A way out for a tenant's mail. Passwords and API keys are never returned.
#[derive(SimpleObject)]
pub struct Sender {
    /// Tayori's id.
    pub id: ID,
    /// A name for the dashboard, such as 「本店のメールサーバー」.
    pub name: String,
    /// SMTP or Mailgun.
    pub kind: SenderKind,
    /// The From address of every mail sent through it.
    pub from_address: String,
    /// The display name; empty uses the business name.
    pub from_name: String,
    /// The SMTP settings of an SMTP sender.
    pub smtp: Option<SmtpSettings>,
    /// The Mailgun settings of a Mailgun sender.
    pub mailgun: Option<MailgunSettings>,
    /// The maximum it may send per minute, hour and day.
    pub limits: RateLimitsValue,
    /// Set while a configuration fault stops sending; fix the settings or run `checkSender`.
    pub paused: Option<SenderPause>,
    /// Whether the tenant's mail goes through this sender.
    pub active: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// SMTP settings as entered.
#[derive(InputObject)]
pub struct SmtpInput {
    /// The server's host name, such as `smtp.example.jp`.
    pub host: String,
    /// The port: 587 (STARTTLS) or 465 (SSL/TLS) at most providers.
    pub port: i64,
    /// The encryption; `AUTO` probes the port.
    pub tls: SmtpTls,
    /// The login name.
    pub username: String,
    /// Leave out on update to keep the stored password.
    pub password: Option<String>,
}

/// Mailgun settings as entered.
#[derive(InputObject)]
pub struct MailgunInput {
    /// The sending domain, such as `mg.example.jp`.
    pub domain: String,
    /// The region of the domain.
    pub region: MailgunRegion,
    /// Leave out on update to keep the stored key.
    pub api_key: Option<String>,
    /// For verifying webhooks; leave out to keep the stored one.
    pub webhook_signing_key: Option<String>,
}

/// A sender's settings: exactly one of `smtp` and `mailgun`.
#[derive(InputObject)]
pub struct SenderInput {
    /// A name for the dashboard.
    pub name: String,
    /// The From address of every mail sent through it.
    pub from_address: String,
    /// The display name; empty uses the business name.
    #[graphql(default)]
    pub from_name: String,
    /// SMTP settings, for an SMTP sender.
    pub smtp: Option<SmtpInput>,
    /// Mailgun settings, for a Mailgun sender.
    pub mailgun: Option<MailgunInput>,
    /// The maximum it may send per minute, hour and day; unset is unlimited.
    #[graphql(default)]
    pub limits: RateLimitsValue,
}

/// The result of a connection check or test mail.
#[derive(SimpleObject)]
pub struct SenderCheck {
    /// Whether it worked.
    pub ok: bool,
    /// The fault's stable code when it failed.
    pub code: Option<String>,
    /// The result, and the change that fixes a failure, in the caller's language.
    pub message: String,
}

/// Rate limits of a hosting plan, as a starting point.
#[derive(SimpleObject)]
pub struct RateLimitPreset {
    /// A stable id, such as `xserver`.
    pub id: String,
    /// The plan's name in the caller's language.
    pub label: String,
    /// The plan's limits.
    pub limits: RateLimitsValue,
}

/// The reason an address is suppressed.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SuppressionReason {
    /// The member used the unsubscribe link.
    Unsubscribed,
    /// The recipient's server rejected the address for good.
    HardBounce,
    /// The recipient marked a mail as spam.
    Complaint,
    /// An operator added it.
    Manual,
}

/// An address the tenant never mails.
#[derive(SimpleObject)]
pub struct Suppression {
    /// The address, lower-cased.
    pub address: String,
    /// Why it is suppressed.
    pub reason: SuppressionReason,
    /// The server's reply, the provider's event or the operator's note.
    pub detail: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// The key type of a DKIM key.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DkimAlgorithm {
    /// RSA with a 2048-bit key: verified everywhere.
    #[graphql(name = "RSA2048")]
    Rsa2048,
    /// Ed25519: short keys, but some verifiers cannot check it yet.
    #[graphql(name = "ED25519")]
    Ed25519,
}

/// A DKIM key and the DNS TXT record that publishes it.
#[derive(SimpleObject)]
pub struct DkimKey {
    /// The From domain it signs for.
    pub domain: String,
    /// The selector (`s=`), part of the record's name.
    pub selector: String,
    /// The key type.
    pub algorithm: DkimAlgorithm,
    /// The TXT record's name, such as `tayori202612051030._domainkey.example.jp`.
    pub dns_name: String,
    /// The TXT record's value.
    pub dns_value: String,
    /// The value cut into strings of at most 255 characters, for DNS panels that need them.
    pub dns_strings: Vec<String>,
    /// The record as a zone file line.
    pub zone_line: String,
    /// When it was generated.
    pub created_at: DateTime<Utc>,
}

fn sender_value(sender: senders::Sender, public_url: &str) -> Sender {
    let (kind, smtp, mailgun) = match sender.transport {
        TransportView::Smtp {
            host,
            port,
            tls,
            username,
        } => (
            SenderKind::Smtp,
            Some(SmtpSettings {
                host,
                port: i32::from(port),
                tls: match tls {
                    TlsMode::Implicit => SmtpTls::Implicit,
                    TlsMode::StartTls => SmtpTls::Starttls,
                },
                username,
            }),
            None,
        ),
        TransportView::Mailgun {
            domain,
            region,
            has_webhook_key,
        } => (
            SenderKind::Mailgun,
            None,
            Some(MailgunSettings {
                domain,
                region: match region {
                    Region::Us => MailgunRegion::Us,
                    Region::Eu => MailgunRegion::Eu,
                },
                has_webhook_key,
                webhook_url: format!("{public_url}/webhooks/mailgun/{}", sender.id),
            }),
        ),
    };
    Sender {
        id: ID(sender.id.to_string()),
        name: sender.name,
        kind,
        from_address: sender.from_address,
        from_name: sender.from_name,
        smtp,
        mailgun,
        limits: sender.limits.into(),
        paused: None,
        active: sender.active,
        created_at: sender.created_at,
    }
}

fn with_pause(
    mut value: Sender,
    paused: Option<senders::Paused>,
    locale: domain::Locale,
) -> Sender {
    value.paused = paused.map(|paused| SenderPause {
        code: paused.code.clone(),
        message: paused.message(locale).to_owned(),
        at: paused.at,
    });
    value
}

fn to_view(ctx: &Context<'_>, sender: senders::Sender) -> Sender {
    let paused = sender.paused.clone();
    let value = sender_value(sender, &ctx.state().sending.public_url);
    with_pause(value, paused, ctx.request().locale)
}

fn domain_input(input: SenderInput) -> Result<DomainSenderInput, domain::Error> {
    let transport = match (input.smtp, input.mailgun) {
        (Some(smtp), None) => TransportInput::Smtp {
            host: smtp.host,
            port: smtp.port,
            tls: match smtp.tls {
                SmtpTls::Implicit => TlsChoice::Implicit,
                SmtpTls::Starttls => TlsChoice::StartTls,
                SmtpTls::Auto => TlsChoice::Auto,
            },
            username: smtp.username,
            password: smtp.password.map(SecretString::from),
        },
        (None, Some(mailgun)) => TransportInput::Mailgun {
            domain: mailgun.domain,
            region: match mailgun.region {
                MailgunRegion::Us => Region::Us,
                MailgunRegion::Eu => Region::Eu,
            },
            api_key: mailgun.api_key.map(SecretString::from),
            webhook_signing_key: mailgun.webhook_signing_key.map(SecretString::from),
        },
        _ => {
            return Err(ValidationError::new(
                "smtp",
                None,
                Problem::UnknownOption {
                    allowed: vec![
                        ("smtp".to_owned(), "SMTP".to_owned(), "SMTP".to_owned()),
                        (
                            "mailgun".to_owned(),
                            "Mailgun".to_owned(),
                            "Mailgun".to_owned(),
                        ),
                    ],
                },
            )
            .into());
        }
    };
    Ok(DomainSenderInput {
        name: input.name,
        from_address: input.from_address,
        from_name: input.from_name,
        transport,
        limits: RateLimits {
            per_minute: input.limits.per_minute,
            per_hour: input.limits.per_hour,
            per_day: input.limits.per_day,
        },
    })
}

fn check_value(ctx: &Context<'_>, outcome: &senders::CheckOutcome) -> SenderCheck {
    SenderCheck {
        ok: outcome.ok,
        code: outcome.code.map(str::to_owned),
        message: outcome.message(ctx.request().locale).to_owned(),
    }
}

fn reason_value(reason: Reason) -> SuppressionReason {
    match reason {
        Reason::Unsubscribed => SuppressionReason::Unsubscribed,
        Reason::HardBounce => SuppressionReason::HardBounce,
        Reason::Complaint => SuppressionReason::Complaint,
        Reason::Manual => SuppressionReason::Manual,
    }
}

fn dkim_value(key: dkim::DkimKey) -> DkimKey {
    DkimKey {
        domain: key.domain,
        selector: key.selector,
        algorithm: match key.algorithm {
            KeyAlgorithm::Rsa2048 => DkimAlgorithm::Rsa2048,
            KeyAlgorithm::Ed25519 => DkimAlgorithm::Ed25519,
        },
        dns_name: key.record.name,
        dns_value: key.record.value,
        dns_strings: key.record.strings,
        zone_line: key.record.zone_line,
        created_at: key.created_at,
    }
}

#[derive(Default)]
pub struct SendingQuery;

#[Object]
impl SendingQuery {
    /// The tenant's senders, oldest first.
    async fn senders(&self, ctx: &Context<'_>) -> ApiResult<Vec<Sender>> {
        let tenant_id = ctx.authorize(Permission::ReadTenant)?;
        let list = senders::list(&ctx.state().db, tenant_id).await.api(ctx)?;
        Ok(list.into_iter().map(|s| to_view(ctx, s)).collect())
    }

    /// Rate limits of common hosting plans and of Mailgun, as starting points.
    async fn rate_limit_presets(&self, ctx: &Context<'_>) -> ApiResult<Vec<RateLimitPreset>> {
        ctx.authorize(Permission::ReadTenant)?;
        let locale = ctx.request().locale;
        Ok(PRESETS
            .iter()
            .map(|preset| RateLimitPreset {
                id: preset.id.to_owned(),
                label: locale.pick(preset.ja, preset.en).to_owned(),
                limits: preset.limits.into(),
            })
            .collect())
    }

    /// Addresses the tenant never mails, newest first. `search` matches part of the address.
    async fn suppressions(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        #[graphql(default = 100, desc = "Page size, 1 to 200.")] first: u64,
    ) -> ApiResult<Vec<Suppression>> {
        let tenant_id = ctx.authorize(Permission::ReadDeliveries)?;
        let rows = suppressions::list(&ctx.state().db, tenant_id, search.as_deref(), first)
            .await
            .api(ctx)?;
        Ok(rows
            .into_iter()
            .map(|row| Suppression {
                address: row.address,
                reason: reason_value(row.reason),
                detail: row.detail,
                created_at: row.created_at,
            })
            .collect())
    }

    /// The tenant's DKIM keys with the DNS records to publish.
    async fn dkim_keys(&self, ctx: &Context<'_>) -> ApiResult<Vec<DkimKey>> {
        let tenant_id = ctx.authorize(Permission::ReadTenant)?;
        let keys = dkim::list(&ctx.state().db, tenant_id).await.api(ctx)?;
        Ok(keys.into_iter().map(dkim_value).collect())
    }
}

#[derive(Default)]
pub struct SendingMutation;

#[Object]
impl SendingMutation {
    /// Adds a sender. With `verify` (the default) it must connect and log in first; the error
    /// says what to change. It does not become active until `activateSender`.
    async fn create_sender(
        &self,
        ctx: &Context<'_>,
        input: SenderInput,
        #[graphql(default = true)] verify: bool,
    ) -> ApiResult<Sender> {
        let tenant_id = ctx.authorize(Permission::ManageSending)?;
        let input = domain_input(input).api(ctx)?;
        let state = ctx.state();
        let sender = senders::create(&state.db, &state.sending, tenant_id, input, verify)
            .await
            .api(ctx)?;
        Ok(to_view(ctx, sender))
    }

    /// Replaces a sender's settings; secrets left out keep their stored values. A sender that
    /// passes the check is no longer paused.
    async fn update_sender(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: SenderInput,
        #[graphql(default = true)] verify: bool,
    ) -> ApiResult<Sender> {
        let tenant_id = ctx.authorize(Permission::ManageSending)?;
        let id = parse_id("id", &id).api(ctx)?;
        let input = domain_input(input).api(ctx)?;
        let state = ctx.state();
        let sender = senders::update(&state.db, &state.sending, tenant_id, id, input, verify)
            .await
            .api(ctx)?;
        Ok(to_view(ctx, sender))
    }

    /// Deletes a sender. If it was active, mail is captured in the outbox again.
    async fn delete_sender(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let tenant_id = ctx.authorize(Permission::ManageSending)?;
        let id = parse_id("id", &id).api(ctx)?;
        senders::delete(&ctx.state().db, tenant_id, id)
            .await
            .api(ctx)?;
        Ok(true)
    }

    /// Sends the tenant's mail through this sender from now on; `null` captures it in the
    /// outbox again (test mode).
    async fn activate_sender(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> ApiResult<Option<Sender>> {
        let tenant_id = ctx.authorize(Permission::ManageSending)?;
        let id = id.map(|id| parse_id("id", &id)).transpose().api(ctx)?;
        let sender = senders::activate(&ctx.state().db, tenant_id, id)
            .await
            .api(ctx)?;
        Ok(sender.map(|s| to_view(ctx, s)))
    }

    /// Connects and logs in with the stored settings, sending nothing. Success lifts a pause.
    async fn check_sender(&self, ctx: &Context<'_>, id: ID) -> ApiResult<SenderCheck> {
        let tenant_id = ctx.authorize(Permission::ManageSending)?;
        let id = parse_id("id", &id).api(ctx)?;
        let state = ctx.state();
        let outcome = senders::check(&state.db, &state.sending, tenant_id, id)
            .await
            .api(ctx)?;
        Ok(check_value(ctx, &outcome))
    }

    /// Sends a short test mail through the sender, in the caller's language.
    async fn send_test_mail(
        &self,
        ctx: &Context<'_>,
        id: ID,
        to: String,
    ) -> ApiResult<SenderCheck> {
        let tenant_id = ctx.authorize(Permission::ManageSending)?;
        let id = parse_id("id", &id).api(ctx)?;
        let state = ctx.state();
        let outcome = senders::send_test_mail(
            &state.db,
            &state.sending,
            tenant_id,
            id,
            &to,
            ctx.request().locale,
        )
        .await
        .api(ctx)?;
        Ok(check_value(ctx, &outcome))
    }

    /// Puts an address on the suppression list.
    async fn add_suppression(
        &self,
        ctx: &Context<'_>,
        address: String,
        #[graphql(default)] note: String,
    ) -> ApiResult<bool> {
        let tenant_id = ctx.authorize(Permission::ManageSending)?;
        suppressions::add_manual(&ctx.state().db, tenant_id, &address, &note)
            .await
            .api(ctx)?;
        Ok(true)
    }

    /// Takes an address off the suppression list. Returns whether it was on it.
    async fn remove_suppression(&self, ctx: &Context<'_>, address: String) -> ApiResult<bool> {
        let tenant_id = ctx.authorize(Permission::ManageSending)?;
        suppressions::remove(&ctx.state().db, tenant_id, &address)
            .await
            .api(ctx)
    }

    /// Generates a DKIM key for a From domain, replacing the tenant's earlier key for it.
    /// Publish the returned TXT record before sending with it.
    async fn generate_dkim_key(
        &self,
        ctx: &Context<'_>,
        domain: String,
        #[graphql(default_with = "DkimAlgorithm::Rsa2048")] algorithm: DkimAlgorithm,
    ) -> ApiResult<DkimKey> {
        let tenant_id = ctx.authorize(Permission::ManageSending)?;
        let algorithm = match algorithm {
            DkimAlgorithm::Rsa2048 => KeyAlgorithm::Rsa2048,
            DkimAlgorithm::Ed25519 => KeyAlgorithm::Ed25519,
        };
        let state = ctx.state();
        let key = dkim::generate(&state.db, &state.sending, tenant_id, &domain, algorithm)
            .await
            .api(ctx)?;
        Ok(dkim_value(key))
    }

    /// Deletes the DKIM key of a domain; its mail is then sent unsigned.
    async fn delete_dkim_key(&self, ctx: &Context<'_>, domain: String) -> ApiResult<bool> {
        let tenant_id = ctx.authorize(Permission::ManageSending)?;
        dkim::delete(&ctx.state().db, tenant_id, &domain)
            .await
            .api(ctx)
    }
}
