//! Senders: how a tenant's mail leaves (an SMTP account or a Mailgun domain), with the From
//! address, rate limits and whether a configuration fault paused it.
//!
//! Saving a sender checks it first: connect, TLS and login, without sending mail. Settings that
//! cannot work are rejected with the reason, instead of failing hours later. "Auto" TLS is resolved by a
//! probe and stored as the mode found. Credentials are stored encrypted and never returned.

use chrono::{DateTime, Utc};
use mail::{
    TemplateLocale,
    transport::{
        Accepted, Outgoing, SendFault,
        mailgun::{MailgunConfig, MailgunTransport, Region},
        smtp::{SmtpConfig, SmtpTransport, TlsMode, detect_tls_mode},
    },
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::SendingConfig;
use crate::{
    Locale, TenantId,
    entities::{sender, tenant},
    error::{Error, Problem, Resource, Result, ValidationError},
    operators::validate_email,
};

/// Largest rate limit accepted, per window.
const MAX_LIMIT: i64 = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsChoice {
    Implicit,
    StartTls,
    /// Probe the port and store the mode found.
    Auto,
}

/// Messages per sliding window; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    pub per_minute: Option<i64>,
    pub per_hour: Option<i64>,
    pub per_day: Option<i64>,
}

/// A starting point for rate limits, named after a hosting plan.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub id: &'static str,
    pub ja: &'static str,
    pub en: &'static str,
    pub limits: RateLimits,
}

const fn limits(
    per_minute: Option<i64>,
    per_hour: Option<i64>,
    per_day: Option<i64>,
) -> RateLimits {
    RateLimits {
        per_minute,
        per_hour,
        per_day,
    }
}

/// Limits of common Japanese shared hosting plans and of Mailgun, counted per contract. They
/// are starting points: providers change them, and the tenant can edit every value.
pub const PRESETS: &[Preset] = &[
    Preset {
        id: "lolipop_light",
        ja: "ロリポップ！（ライト等・毎時100通）",
        en: "Lolipop (Light and similar, 100 an hour)",
        limits: limits(None, Some(100), Some(1_000)),
    },
    Preset {
        id: "lolipop_high",
        ja: "ロリポップ！（上位プラン・毎時1,000通）",
        en: "Lolipop (higher plans, 1,000 an hour)",
        limits: limits(None, Some(1_000), Some(10_000)),
    },
    Preset {
        id: "xserver",
        ja: "エックスサーバー（毎時約1,500通・1日15,000通）",
        en: "Xserver (about 1,500 an hour, 15,000 a day)",
        limits: limits(None, Some(1_500), Some(15_000)),
    },
    Preset {
        id: "ntt_biz_economy",
        ja: "NTTビズリンク ビジネスホスティング エコノミー（毎分12通）",
        en: "NTT Biz Hosting Economy (12 a minute)",
        limits: limits(Some(12), None, None),
    },
    Preset {
        id: "mailgun_free",
        ja: "Mailgun 無料プラン（1日100通）",
        en: "Mailgun free plan (100 a day)",
        limits: limits(None, None, Some(100)),
    },
    Preset {
        id: "mailgun_paid",
        ja: "Mailgun 有料プラン（上限なし・契約に従う）",
        en: "Mailgun paid plan (no limit here; your contract applies)",
        limits: limits(None, None, None),
    },
];

/// The connection settings as entered. A secret left `None` on update keeps the stored one.
#[derive(Debug, Clone)]
pub enum TransportInput {
    Smtp {
        host: String,
        port: i64,
        tls: TlsChoice,
        username: String,
        password: Option<SecretString>,
    },
    Mailgun {
        domain: String,
        region: Region,
        api_key: Option<SecretString>,
        webhook_signing_key: Option<SecretString>,
    },
}

#[derive(Debug, Clone)]
pub struct SenderInput {
    pub name: String,
    pub from_address: String,
    pub from_name: String,
    pub transport: TransportInput,
    pub limits: RateLimits,
}

/// The connection settings of a stored sender, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportView {
    Smtp {
        host: String,
        port: u16,
        tls: TlsMode,
        username: String,
    },
    Mailgun {
        domain: String,
        region: Region,
        has_webhook_key: bool,
    },
}

/// The reason sending stopped until the operator fixes the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paused {
    pub code: String,
    /// The explanation in both languages, as stored (`ja\nen`).
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// A sender as the dashboard and the API show it.
#[derive(Debug, Clone)]
pub struct Sender {
    pub id: Uuid,
    pub name: String,
    pub from_address: String,
    pub from_name: String,
    pub transport: TransportView,
    pub limits: RateLimits,
    pub paused: Option<Paused>,
    /// Whether the tenant's mail goes through this sender.
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl Paused {
    /// Returns the explanation in one language.
    pub fn message(&self, locale: Locale) -> &str {
        let (ja, en) = self
            .detail
            .split_once('\n')
            .unwrap_or((&self.detail, &self.detail));
        locale.pick(ja, en)
    }
}

/// A ready transport of either kind.
#[derive(Clone)]
pub enum Transport {
    Smtp(SmtpTransport),
    Mailgun(MailgunTransport),
}

impl Transport {
    pub async fn send(&self, message: Outgoing<'_>) -> std::result::Result<Accepted, SendFault> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await,
            Transport::Mailgun(mailgun) => mailgun.send(message).await,
        }
    }

    pub async fn check(&self) -> std::result::Result<(), SendFault> {
        match self {
            Transport::Smtp(smtp) => smtp.check().await,
            Transport::Mailgun(mailgun) => mailgun.check().await,
        }
    }
}

/// The result of "test connection" or "send test mail".
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub ok: bool,
    pub code: Option<&'static str>,
    pub message_ja: String,
    pub message_en: String,
}

impl CheckOutcome {
    fn passed(ja: &str, en: &str) -> Self {
        Self {
            ok: true,
            code: None,
            message_ja: ja.to_owned(),
            message_en: en.to_owned(),
        }
    }

    fn failed(fault: &SendFault) -> Self {
        Self {
            ok: false,
            code: Some(fault.cause.code()),
            message_ja: fault.message(TemplateLocale::Ja),
            message_en: fault.message(TemplateLocale::En),
        }
    }

    pub fn message(&self, locale: Locale) -> &str {
        locale.pick(&self.message_ja, &self.message_en)
    }
}

pub async fn list(db: &impl ConnectionTrait, tenant_id: TenantId) -> Result<Vec<Sender>> {
    let active = active_id(db, tenant_id).await?;
    let rows = sender::Entity::find()
        .filter(sender::Column::TenantId.eq(tenant_id.0))
        .order_by_asc(sender::Column::Id)
        .all(db)
        .await?;
    Ok(rows.iter().map(|row| view(row, active)).collect())
}

pub async fn get(db: &impl ConnectionTrait, tenant_id: TenantId, id: Uuid) -> Result<Sender> {
    let active = active_id(db, tenant_id).await?;
    Ok(view(&row(db, tenant_id, id).await?, active))
}

/// Loads the stored row, for the send loop.
pub async fn row(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    id: Uuid,
) -> Result<sender::Model> {
    sender::Entity::find()
        .filter(sender::Column::TenantId.eq(tenant_id.0))
        .filter(sender::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::Sender))
}

/// Returns the id of the sender the tenant's mail goes through, if any.
pub async fn active_id(db: &impl ConnectionTrait, tenant_id: TenantId) -> Result<Option<Uuid>> {
    Ok(tenant::Entity::find_by_id(tenant_id.0)
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::Tenant))?
        .sender_id)
}

/// Checks and stores a new sender. With `verify`, the settings must pass a connection check.
pub async fn create(
    db: &DatabaseConnection,
    config: &SendingConfig,
    tenant_id: TenantId,
    input: SenderInput,
    verify: bool,
) -> Result<Sender> {
    let id = Uuid::now_v7();
    let prepared = prepare(config, tenant_id, id, input, None).await?;
    if verify {
        check_prepared(config, &prepared).await?;
    }
    let now = Utc::now();
    let mut model = prepared.model;
    model.created_at = Set(now);
    model.updated_at = Set(now);
    let stored = model.insert(db).await?;
    tracing::info!(tenant.id = %tenant_id, sender.id = %id, kind = %stored.kind, "sender created");
    Ok(view(&stored, active_id(db, tenant_id).await?))
}

/// Replaces a sender's settings. Secrets left empty keep their stored values. A sender that
/// passes the check is no longer paused.
pub async fn update(
    db: &DatabaseConnection,
    config: &SendingConfig,
    tenant_id: TenantId,
    id: Uuid,
    input: SenderInput,
    verify: bool,
) -> Result<Sender> {
    let existing = row(db, tenant_id, id).await?;
    let prepared = prepare(config, tenant_id, id, input, Some(&existing)).await?;
    if verify {
        check_prepared(config, &prepared).await?;
    }
    let mut model = prepared.model;
    model.created_at = Set(existing.created_at);
    model.updated_at = Set(Utc::now());
    if verify {
        model.paused_code = Set(None);
        model.paused_detail = Set(None);
        model.paused_at = Set(None);
    } else {
        model.paused_code = Set(existing.paused_code.clone());
        model.paused_detail = Set(existing.paused_detail.clone());
        model.paused_at = Set(existing.paused_at);
    }
    let stored = model.update(db).await?;
    tracing::info!(tenant.id = %tenant_id, sender.id = %id, "sender updated");
    Ok(view(&stored, active_id(db, tenant_id).await?))
}

/// Deletes a sender. If it was the active one, the tenant's mail is captured again.
pub async fn delete(db: &DatabaseConnection, tenant_id: TenantId, id: Uuid) -> Result<()> {
    tenant::Entity::update_many()
        .col_expr(tenant::Column::SenderId, Expr::value(Option::<Uuid>::None))
        .filter(tenant::Column::Id.eq(tenant_id.0))
        .filter(tenant::Column::SenderId.eq(id))
        .exec(db)
        .await?;
    let deleted = sender::Entity::delete_many()
        .filter(sender::Column::TenantId.eq(tenant_id.0))
        .filter(sender::Column::Id.eq(id))
        .exec(db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(Error::NotFound(Resource::Sender));
    }
    tracing::info!(tenant.id = %tenant_id, sender.id = %id, "sender deleted");
    Ok(())
}

/// Sends the tenant's mail through `id`, or captures it again with `None`.
pub async fn activate(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    id: Option<Uuid>,
) -> Result<Option<Sender>> {
    let chosen = match id {
        Some(id) => Some(row(db, tenant_id, id).await?),
        None => None,
    };
    tenant::Entity::update_many()
        .col_expr(tenant::Column::SenderId, Expr::value(id))
        .filter(tenant::Column::Id.eq(tenant_id.0))
        .exec(db)
        .await?;
    tracing::info!(tenant.id = %tenant_id, sender.id = ?id, "active sender changed");
    Ok(chosen.map(|row| view(&row, id)))
}

/// Connects and logs in with the stored settings, sending nothing. Success lifts a pause.
pub async fn check(
    db: &DatabaseConnection,
    config: &SendingConfig,
    tenant_id: TenantId,
    id: Uuid,
) -> Result<CheckOutcome> {
    let stored = row(db, tenant_id, id).await?;
    let transport = transport(config, &stored, config.check_timeout)?;
    let outcome = match transport.check().await {
        Ok(()) => {
            resume(db, tenant_id, id).await?;
            CheckOutcome::passed(
                "接続とログインに成功しました。",
                "Connected and logged in successfully.",
            )
        }
        Err(fault) => CheckOutcome::failed(&fault),
    };
    tracing::info!(tenant.id = %tenant_id, sender.id = %id, ok = outcome.ok, code = ?outcome.code, "sender checked");
    Ok(outcome)
}

/// Sends a short test mail to `to` through the sender, in `locale`.
pub async fn send_test_mail(
    db: &DatabaseConnection,
    config: &SendingConfig,
    tenant_id: TenantId,
    id: Uuid,
    to: &str,
    locale: Locale,
) -> Result<CheckOutcome> {
    let to = validate_email("to", to)?;
    let stored = row(db, tenant_id, id).await?;
    let transport = transport(config, &stored, config.check_timeout)?;
    let message_id = format!(
        "{}@{}",
        Uuid::now_v7().simple(),
        domain_of(&stored.from_address)
    );
    let rendered = mail::Rendered {
        subject: locale
            .pick("【Tayori】テストメール", "[Tayori] Test mail")
            .to_owned(),
        text: locale
            .pick(
                "このメールは送信元設定のテストです。届いていれば設定は正しく動いています。",
                "This mail tests your sender settings. If it arrived, they work.",
            )
            .to_owned(),
        html: locale
            .pick(
                "<p>このメールは送信元設定のテストです。届いていれば設定は正しく動いています。</p>",
                "<p>This mail tests your sender settings. If it arrived, they work.</p>",
            )
            .to_owned(),
    };
    let envelope = mail::Envelope {
        from_name: &stored.from_name,
        from_address: &stored.from_address,
        to_address: &to,
        message_id: &message_id,
        date: Utc::now(),
        extra_headers: Vec::new(),
    };
    let composed = mail::compose(&envelope, &rendered)
        .map_err(|error| Error::Internal(anyhow::anyhow!("composing a test mail: {error}")))?;
    let raw = super::dkim::sign(db, config, tenant_id, &stored.from_address, composed.raw).await?;
    let outcome = match transport
        .send(Outgoing {
            envelope_from: &stored.from_address,
            to: &to,
            raw: &raw,
        })
        .await
    {
        Ok(accepted) => CheckOutcome::passed(
            &format!(
                "テストメールを送信しました（サーバーの応答: {}）。",
                accepted.response
            ),
            &format!(
                "The test mail was sent (server reply: {}).",
                accepted.response
            ),
        ),
        Err(fault) => CheckOutcome::failed(&fault),
    };
    tracing::info!(tenant.id = %tenant_id, sender.id = %id, ok = outcome.ok, code = ?outcome.code, "test mail sent");
    Ok(outcome)
}

/// Stops sending through the sender until it is fixed, with the fault's explanation.
pub async fn pause(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    id: Uuid,
    fault: &SendFault,
) -> Result<()> {
    let detail = format!(
        "{}\n{}",
        fault.message(TemplateLocale::Ja),
        fault.message(TemplateLocale::En)
    );
    sender::Entity::update_many()
        .col_expr(sender::Column::PausedCode, Expr::value(fault.cause.code()))
        .col_expr(sender::Column::PausedDetail, Expr::value(detail))
        .col_expr(sender::Column::PausedAt, Expr::value(Utc::now()))
        .filter(sender::Column::TenantId.eq(tenant_id.0))
        .filter(sender::Column::Id.eq(id))
        .exec(db)
        .await?;
    tracing::warn!(tenant.id = %tenant_id, sender.id = %id, code = fault.cause.code(), "sender paused after a configuration fault");
    Ok(())
}

async fn resume(db: &impl ConnectionTrait, tenant_id: TenantId, id: Uuid) -> Result<()> {
    sender::Entity::update_many()
        .col_expr(
            sender::Column::PausedCode,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            sender::Column::PausedDetail,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            sender::Column::PausedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(sender::Column::TenantId.eq(tenant_id.0))
        .filter(sender::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Builds the transport of a stored sender, decrypting its secret.
pub fn transport(
    config: &SendingConfig,
    stored: &sender::Model,
    timeout: std::time::Duration,
) -> Result<Transport> {
    let tenant_id = TenantId(stored.tenant_id);
    let secret = config
        .secrets
        .open(
            &secret_context(tenant_id, stored.id, "secret"),
            &stored.secret,
        )
        .map_err(|error| Error::Internal(error.into()))?;
    let secret = SecretString::from(String::from_utf8_lossy(&secret).into_owned());
    let built = match stored.kind.as_str() {
        "mailgun" => MailgunTransport::new(MailgunConfig {
            domain: stored.mailgun_domain.clone().unwrap_or_default(),
            api_key: secret,
            region: parse_region(stored.mailgun_region.as_deref()),
            hosts: config.mailgun_hosts.clone(),
            timeout,
        })
        .map(Transport::Mailgun),
        _ => SmtpTransport::new(SmtpConfig {
            host: stored.smtp_host.clone().unwrap_or_default(),
            port: u16::try_from(stored.smtp_port.unwrap_or(587)).unwrap_or(587),
            tls: parse_tls(stored.smtp_tls.as_deref()),
            username: stored.smtp_username.clone().unwrap_or_default(),
            password: secret,
            timeout,
            extra_root_pem: config.smtp_extra_ca.clone(),
            hello_name: None,
        })
        .map(Transport::Smtp),
    };
    built.map_err(|fault| {
        Error::Validation(ValidationError::new("sender", None, fault_problem(&fault)))
    })
}

/// Decrypts the Mailgun webhook signing key of a sender, if it has one.
pub fn webhook_key(config: &SendingConfig, stored: &sender::Model) -> Result<Option<Vec<u8>>> {
    let Some(sealed) = &stored.webhook_key else {
        return Ok(None);
    };
    let tenant_id = TenantId(stored.tenant_id);
    config
        .secrets
        .open(&secret_context(tenant_id, stored.id, "webhook"), sealed)
        .map(Some)
        .map_err(|error| Error::Internal(error.into()))
}

/// Returns the domain part of an address, lower-cased.
pub fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_ascii_lowercase())
        .unwrap_or_default()
}

fn secret_context(tenant_id: TenantId, sender_id: Uuid, purpose: &str) -> Vec<u8> {
    format!("sender/{tenant_id}/{sender_id}/{purpose}").into_bytes()
}

fn fault_problem(fault: &SendFault) -> Problem {
    Problem::SenderCheckFailed {
        code: fault.cause.code(),
        ja: fault.message(TemplateLocale::Ja),
        en: fault.message(TemplateLocale::En),
    }
}

/// A validated row ready to store, and what checking it needs.
struct Prepared {
    model: sender::ActiveModel,
    stored: sender::Model,
}

async fn check_prepared(config: &SendingConfig, prepared: &Prepared) -> Result<()> {
    let transport = transport(config, &prepared.stored, config.check_timeout)?;
    transport.check().await.map_err(|fault| {
        Error::Validation(ValidationError::new("sender", None, fault_problem(&fault)))
    })
}

/// Validates the input, resolves "auto" TLS and seals the secrets.
async fn prepare(
    config: &SendingConfig,
    tenant_id: TenantId,
    id: Uuid,
    input: SenderInput,
    existing: Option<&sender::Model>,
) -> Result<Prepared> {
    let name = required("name", &input.name, 100)?;
    let from_address = validate_email("fromAddress", &input.from_address)?;
    let from_name = input.from_name.trim().to_owned();
    if from_name.chars().count() > 100 {
        return Err(ValidationError::new(
            "fromName",
            Some(&from_name),
            Problem::TooLong { max: 100 },
        )
        .into());
    }
    let per_minute = limit("perMinute", input.limits.per_minute)?;
    let per_hour = limit("perHour", input.limits.per_hour)?;
    let per_day = limit("perDay", input.limits.per_day)?;
    let seal = |purpose: &str, secret: &SecretString| {
        config.secrets.seal(
            &secret_context(tenant_id, id, purpose),
            secret.expose_secret().as_bytes(),
        )
    };
    let stored_or_new = |field: &str, secret: Option<SecretString>| -> Result<Option<Vec<u8>>> {
        match secret {
            Some(secret) if !secret.expose_secret().is_empty() => Ok(Some(seal("secret", &secret))),
            _ => match existing {
                Some(existing) if existing_kind_matches(existing, field) => {
                    Ok(Some(existing.secret.clone()))
                }
                _ => Err(ValidationError::new(field, None, Problem::Required).into()),
            },
        }
    };

    let mut stored = sender::Model {
        id,
        tenant_id: tenant_id.0,
        name,
        kind: String::new(),
        from_address,
        from_name,
        smtp_host: None,
        smtp_port: None,
        smtp_tls: None,
        smtp_username: None,
        mailgun_domain: None,
        mailgun_region: None,
        secret: Vec::new(),
        webhook_key: None,
        per_minute,
        per_hour,
        per_day,
        paused_code: None,
        paused_detail: None,
        paused_at: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    };
    match input.transport {
        TransportInput::Smtp {
            host,
            port,
            tls,
            username,
            password,
        } => {
            let host = host_name("smtpHost", &host)?;
            let port = u16::try_from(port)
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| {
                    ValidationError::new(
                        "smtpPort",
                        Some(&port.to_string()),
                        Problem::OutOfRange {
                            min: 1,
                            max: 65_535,
                        },
                    )
                })?;
            let username = required("smtpUsername", &username, 254)?;
            let secret = stored_or_new("smtpPassword", password)?.unwrap_or_default();
            let mode = match tls {
                TlsChoice::Implicit => TlsMode::Implicit,
                TlsChoice::StartTls => TlsMode::StartTls,
                TlsChoice::Auto => detect_tls_mode(
                    &host,
                    port,
                    config.check_timeout,
                    config.smtp_extra_ca.as_deref(),
                )
                .await
                .map_err(|fault| ValidationError::new("smtpTls", None, fault_problem(&fault)))?,
            };
            stored.kind = "smtp".to_owned();
            stored.smtp_host = Some(host);
            stored.smtp_port = Some(i32::from(port));
            stored.smtp_tls = Some(tls_name(mode).to_owned());
            stored.smtp_username = Some(username);
            stored.secret = secret;
        }
        TransportInput::Mailgun {
            domain,
            region,
            api_key,
            webhook_signing_key,
        } => {
            let domain = host_name("mailgunDomain", &domain)?;
            stored.kind = "mailgun".to_owned();
            stored.secret = stored_or_new("mailgunApiKey", api_key)?.unwrap_or_default();
            stored.webhook_key = match webhook_signing_key {
                Some(key) if !key.expose_secret().is_empty() => Some(seal("webhook", &key)),
                _ => existing.and_then(|existing| existing.webhook_key.clone()),
            };
            stored.mailgun_domain = Some(domain);
            stored.mailgun_region = Some(region_name(region).to_owned());
        }
    }
    let model = sender::ActiveModel {
        id: Set(stored.id),
        tenant_id: Set(stored.tenant_id),
        name: Set(stored.name.clone()),
        kind: Set(stored.kind.clone()),
        from_address: Set(stored.from_address.clone()),
        from_name: Set(stored.from_name.clone()),
        smtp_host: Set(stored.smtp_host.clone()),
        smtp_port: Set(stored.smtp_port),
        smtp_tls: Set(stored.smtp_tls.clone()),
        smtp_username: Set(stored.smtp_username.clone()),
        mailgun_domain: Set(stored.mailgun_domain.clone()),
        mailgun_region: Set(stored.mailgun_region.clone()),
        secret: Set(stored.secret.clone()),
        webhook_key: Set(stored.webhook_key.clone()),
        per_minute: Set(stored.per_minute),
        per_hour: Set(stored.per_hour),
        per_day: Set(stored.per_day),
        paused_code: Set(None),
        paused_detail: Set(None),
        paused_at: Set(None),
        created_at: Set(stored.created_at),
        updated_at: Set(stored.updated_at),
    };
    Ok(Prepared { model, stored })
}

/// Checks whether a stored secret belongs to the same kind of sender as the input's field.
fn existing_kind_matches(existing: &sender::Model, field: &str) -> bool {
    matches!(
        (existing.kind.as_str(), field),
        ("smtp", "smtpPassword") | ("mailgun", "mailgunApiKey")
    )
}

fn required(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ValidationError::new(field, Some(value), Problem::Required).into());
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(field, Some(value), Problem::TooLong { max }).into());
    }
    Ok(value.to_owned())
}

fn host_name(field: &str, value: &str) -> Result<String> {
    let host = required(field, value, 253)?.to_ascii_lowercase();
    let valid = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        && !host.starts_with('.')
        && !host.ends_with('.');
    if !valid {
        return Err(ValidationError::new(
            field,
            Some(value),
            Problem::UnknownOption {
                allowed: vec![(
                    "smtp.example.jp".to_owned(),
                    "ホスト名（例: smtp.example.jp）".to_owned(),
                    "a host name such as smtp.example.jp".to_owned(),
                )],
            },
        )
        .into());
    }
    Ok(host)
}

fn limit(field: &str, value: Option<i64>) -> Result<Option<i32>> {
    match value {
        None => Ok(None),
        Some(value) if (1..=MAX_LIMIT).contains(&value) => Ok(i32::try_from(value).ok()),
        Some(value) => Err(ValidationError::new(
            field,
            Some(&value.to_string()),
            Problem::OutOfRange {
                min: 1,
                max: MAX_LIMIT,
            },
        )
        .into()),
    }
}

pub fn tls_name(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::Implicit => "implicit",
        TlsMode::StartTls => "starttls",
    }
}

fn parse_tls(value: Option<&str>) -> TlsMode {
    match value {
        Some("implicit") => TlsMode::Implicit,
        _ => TlsMode::StartTls,
    }
}

pub fn region_name(region: Region) -> &'static str {
    match region {
        Region::Us => "us",
        Region::Eu => "eu",
    }
}

fn parse_region(value: Option<&str>) -> Region {
    match value {
        Some("eu") => Region::Eu,
        _ => Region::Us,
    }
}

fn view(row: &sender::Model, active: Option<Uuid>) -> Sender {
    let transport = match row.kind.as_str() {
        "mailgun" => TransportView::Mailgun {
            domain: row.mailgun_domain.clone().unwrap_or_default(),
            region: parse_region(row.mailgun_region.as_deref()),
            has_webhook_key: row.webhook_key.is_some(),
        },
        _ => TransportView::Smtp {
            host: row.smtp_host.clone().unwrap_or_default(),
            port: u16::try_from(row.smtp_port.unwrap_or(0)).unwrap_or(0),
            tls: parse_tls(row.smtp_tls.as_deref()),
            username: row.smtp_username.clone().unwrap_or_default(),
        },
    };
    let paused = match (&row.paused_code, &row.paused_detail, row.paused_at) {
        (Some(code), Some(detail), Some(at)) => Some(Paused {
            code: code.clone(),
            detail: detail.clone(),
            at,
        }),
        _ => None,
    };
    Sender {
        id: row.id,
        name: row.name.clone(),
        from_address: row.from_address.clone(),
        from_name: row.from_name.clone(),
        transport,
        limits: RateLimits {
            per_minute: row.per_minute.map(i64::from),
            per_hour: row.per_hour.map(i64::from),
            per_day: row.per_day.map(i64::from),
        },
        paused,
        active: active == Some(row.id),
        created_at: row.created_at,
    }
}
