//! Senders, rate limit presets and DKIM keys, and the requests that manage them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{Api, ApiError, string_literal};
use crate::i18n::Catalogue;

const SENDER_SELECTION: &str = "id name kind fromAddress fromName \
     smtp { host port tls username } \
     mailgun { domain region hasWebhookKey webhookUrl } \
     limits { perMinute perHour perDay } \
     paused { code message at } active createdAt";

const DKIM_SELECTION: &str = "domain selector algorithm dnsName dnsValue zoneLine createdAt";

/// The `extensions.reason` of a save that failed because the server could not connect, log
/// in or send with the settings.
pub const SENDER_CHECK_FAILED: &str = "SENDER_CHECK_FAILED";

/// The GraphQL enum `SenderKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SenderKind {
    Smtp,
    Mailgun,
    /// A kind this build of the dashboard does not know.
    #[serde(other)]
    Unknown,
}

impl SenderKind {
    /// Returns the kind's name, which is the same in both languages.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            SenderKind::Smtp => "SMTP",
            SenderKind::Mailgun => "Mailgun",
            SenderKind::Unknown => t.import_status_unknown,
        }
    }
}

/// The GraphQL enum `SmtpTls`. `Auto` exists only in input, because the server stores the
/// mode it detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SmtpTls {
    Auto,
    Starttls,
    Implicit,
    /// A mode this build of the dashboard does not know.
    #[serde(other, skip_serializing)]
    Unknown,
}

impl SmtpTls {
    /// The choices of the encryption select, in the order shown.
    pub const CHOICES: [SmtpTls; 3] = [SmtpTls::Auto, SmtpTls::Starttls, SmtpTls::Implicit];

    /// Returns the GraphQL enum value, also used as the `<option>` value.
    pub fn graphql_name(self) -> &'static str {
        match self {
            SmtpTls::Auto => "AUTO",
            SmtpTls::Starttls => "STARTTLS",
            SmtpTls::Implicit => "IMPLICIT",
            SmtpTls::Unknown => "UNKNOWN",
        }
    }

    /// Parses an `<option>` value.
    pub fn from_graphql_name(name: &str) -> Option<Self> {
        SmtpTls::CHOICES
            .into_iter()
            .find(|mode| mode.graphql_name() == name)
    }

    /// Returns the mode as the select and the sender list show it.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            SmtpTls::Auto => t.sender_tls_auto,
            SmtpTls::Starttls => "STARTTLS",
            SmtpTls::Implicit => "SSL/TLS",
            SmtpTls::Unknown => t.import_status_unknown,
        }
    }
}

/// The GraphQL enum `MailgunRegion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MailgunRegion {
    Us,
    Eu,
    /// A region this build of the dashboard does not know.
    #[serde(other, skip_serializing)]
    Unknown,
}

impl MailgunRegion {
    /// The choices of the region select, in the order shown.
    pub const CHOICES: [MailgunRegion; 2] = [MailgunRegion::Us, MailgunRegion::Eu];

    /// Returns the GraphQL enum value, also used as the `<option>` value.
    pub fn graphql_name(self) -> &'static str {
        match self {
            MailgunRegion::Us => "US",
            MailgunRegion::Eu => "EU",
            MailgunRegion::Unknown => "UNKNOWN",
        }
    }

    /// Parses an `<option>` value.
    pub fn from_graphql_name(name: &str) -> Option<Self> {
        MailgunRegion::CHOICES
            .into_iter()
            .find(|region| region.graphql_name() == name)
    }

    /// Returns the region in the UI language.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            MailgunRegion::Us => t.mailgun_region_us,
            MailgunRegion::Eu => t.mailgun_region_eu,
            MailgunRegion::Unknown => t.import_status_unknown,
        }
    }
}

/// The GraphQL enum `DkimAlgorithm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum DkimAlgorithm {
    #[serde(rename = "RSA2048")]
    Rsa2048,
    #[serde(rename = "ED25519")]
    Ed25519,
    /// An algorithm this build of the dashboard does not know.
    #[serde(other)]
    Unknown,
}

impl DkimAlgorithm {
    /// The choices of the algorithm select; the first is the default.
    pub const CHOICES: [DkimAlgorithm; 2] = [DkimAlgorithm::Rsa2048, DkimAlgorithm::Ed25519];

    /// Returns the GraphQL enum value, also used as the `<option>` value.
    pub fn graphql_name(self) -> &'static str {
        match self {
            DkimAlgorithm::Rsa2048 => "RSA2048",
            DkimAlgorithm::Ed25519 => "ED25519",
            DkimAlgorithm::Unknown => "UNKNOWN",
        }
    }

    /// Parses an `<option>` value.
    pub fn from_graphql_name(name: &str) -> Option<Self> {
        DkimAlgorithm::CHOICES
            .into_iter()
            .find(|algorithm| algorithm.graphql_name() == name)
    }

    /// Returns the algorithm's name, with a note on when to pick it.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            DkimAlgorithm::Rsa2048 => t.dkim_algorithm_rsa,
            DkimAlgorithm::Ed25519 => t.dkim_algorithm_ed25519,
            DkimAlgorithm::Unknown => t.import_status_unknown,
        }
    }

    /// Returns the algorithm's short name, the same in both languages.
    pub fn short_name(self) -> &'static str {
        match self {
            DkimAlgorithm::Rsa2048 => "RSA-2048",
            DkimAlgorithm::Ed25519 => "Ed25519",
            DkimAlgorithm::Unknown => "?",
        }
    }
}

/// Messages per sliding window; `None` is unlimited. Used for both `RateLimits` and
/// `RateLimitsInput`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimits {
    pub per_minute: Option<i64>,
    pub per_hour: Option<i64>,
    pub per_day: Option<i64>,
}

/// A sender's SMTP server and account.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// The mode in use; a sender saved with `AUTO` has the mode the server detected.
    pub tls: SmtpTls,
    pub username: String,
}

/// A sender's Mailgun domain.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailgunSettings {
    pub domain: String,
    pub region: MailgunRegion,
    pub has_webhook_key: bool,
    /// The URL to enter in Mailgun's webhook settings.
    pub webhook_url: String,
}

/// The reason that sending through a sender stopped.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SenderPause {
    /// The fault's stable code, such as `authentication_failed`.
    pub code: String,
    /// The problem and the fix, in the request's language.
    pub message: String,
    pub at: String,
}

/// A sender as the server returns it. Passwords and API keys are never returned.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sender {
    pub id: String,
    pub name: String,
    pub kind: SenderKind,
    pub from_address: String,
    /// Empty uses the business name.
    pub from_name: String,
    pub smtp: Option<SmtpSettings>,
    pub mailgun: Option<MailgunSettings>,
    pub limits: RateLimits,
    pub paused: Option<SenderPause>,
    pub active: bool,
    pub created_at: String,
}

/// The result of `checkSender` or `sendTestMail`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SenderCheck {
    pub ok: bool,
    /// The fault's stable code when it failed.
    pub code: Option<String>,
    /// The outcome, and the fix when it failed, in the request's language.
    pub message: String,
}

/// Rate limits of a hosting plan, offered as a starting point.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RateLimitPreset {
    pub id: String,
    /// The plan's name in the request's language.
    pub label: String,
    pub limits: RateLimits,
}

/// A DKIM key and the DNS TXT record that publishes it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DkimKey {
    pub domain: String,
    pub selector: String,
    pub algorithm: DkimAlgorithm,
    pub dns_name: String,
    pub dns_value: String,
    /// The record as a zone file line.
    pub zone_line: String,
    pub created_at: String,
}

/// The GraphQL input `SmtpInput`. A password of `None` keeps the stored one on update.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SmtpInput {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: String,
    pub password: Option<String>,
}

/// The GraphQL input `MailgunInput`. Secrets of `None` keep the stored ones on update.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MailgunInput {
    pub domain: String,
    pub region: MailgunRegion,
    pub api_key: Option<String>,
    pub webhook_signing_key: Option<String>,
}

/// The GraphQL input `SenderInput`: exactly one of `smtp` and `mailgun` is set.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SenderInput {
    pub name: String,
    pub from_address: String,
    pub from_name: String,
    pub smtp: Option<SmtpInput>,
    pub mailgun: Option<MailgunInput>,
    pub limits: RateLimits,
}

/// Fetches the tenant's senders, oldest first.
pub async fn fetch_senders(api: Api) -> Result<Vec<Sender>, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        senders: Vec<Sender>,
    }
    let query = format!("query Senders {{ senders {{ {SENDER_SELECTION} }} }}");
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.senders)
}

/// Fetches the rate limits of common hosting plans, labelled in the UI language.
pub async fn fetch_rate_limit_presets(api: Api) -> Result<Vec<RateLimitPreset>, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        rate_limit_presets: Vec<RateLimitPreset>,
    }
    let query = "query RateLimitPresets { rateLimitPresets { id label \
                 limits { perMinute perHour perDay } } }";
    let data: Data = api.request(query, json!({})).await?;
    Ok(data.rate_limit_presets)
}

/// Creates a sender, or replaces sender `id` when it is given. The server connects and logs
/// in first (`verify: true`) and saves nothing when that fails.
pub async fn save_sender(
    api: Api,
    id: Option<String>,
    input: SenderInput,
) -> Result<Sender, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        sender: Sender,
    }
    let query = match id {
        Some(id) => format!(
            "mutation UpdateSender($input: SenderInput!) \
             {{ sender: updateSender(id: {id}, input: $input, verify: true) {{ {SENDER_SELECTION} }} }}",
            id = string_literal(&id)
        ),
        None => format!(
            "mutation CreateSender($input: SenderInput!) \
             {{ sender: createSender(input: $input, verify: true) {{ {SENDER_SELECTION} }} }}"
        ),
    };
    let data: Data = api.request(&query, json!({ "input": input })).await?;
    Ok(data.sender)
}

/// Deletes sender `id`. When it was active, mail is captured in the outbox again.
pub async fn delete_sender(api: Api, id: &str) -> Result<(), ApiError> {
    let query = format!(
        "mutation DeleteSender {{ deleteSender(id: {id}) }}",
        id = string_literal(id)
    );
    api.request::<Value>(&query, json!({})).await?;
    Ok(())
}

/// Sends the tenant's mail through sender `id` from now on, or captures it in the outbox
/// again (test mode) with `None`.
pub async fn activate_sender(api: Api, id: Option<&str>) -> Result<(), ApiError> {
    let id = id.map_or_else(|| "null".to_owned(), string_literal);
    let query = format!("mutation ActivateSender {{ activateSender(id: {id}) {{ id active }} }}");
    api.request::<Value>(&query, json!({})).await?;
    Ok(())
}

/// Connects and logs in with sender `id`'s stored settings, sending nothing.
pub async fn check_sender(api: Api, id: &str) -> Result<SenderCheck, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        check_sender: SenderCheck,
    }
    let query = format!(
        "mutation CheckSender {{ checkSender(id: {id}) {{ ok code message }} }}",
        id = string_literal(id)
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.check_sender)
}

/// Sends a short test mail to `to` through sender `id`.
pub async fn send_test_mail(api: Api, id: &str, to: &str) -> Result<SenderCheck, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        send_test_mail: SenderCheck,
    }
    let query = format!(
        "mutation SendTestMail {{ sendTestMail(id: {id}, to: {to}) {{ ok code message }} }}",
        id = string_literal(id),
        to = string_literal(to)
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.send_test_mail)
}

/// Fetches the tenant's DKIM keys with the DNS records to publish.
pub async fn fetch_dkim_keys(api: Api) -> Result<Vec<DkimKey>, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        dkim_keys: Vec<DkimKey>,
    }
    let query = format!("query DkimKeys {{ dkimKeys {{ {DKIM_SELECTION} }} }}");
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.dkim_keys)
}

/// Generates a DKIM key for `domain`, replacing the tenant's earlier key for it.
pub async fn generate_dkim_key(
    api: Api,
    domain: &str,
    algorithm: DkimAlgorithm,
) -> Result<DkimKey, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        generate_dkim_key: DkimKey,
    }
    let query = format!(
        "mutation GenerateDkimKey {{ generateDkimKey(domain: {domain}, algorithm: {algorithm}) \
         {{ {DKIM_SELECTION} }} }}",
        domain = string_literal(domain),
        algorithm = algorithm.graphql_name()
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.generate_dkim_key)
}

/// Deletes the DKIM key of `domain`; its mail is then sent unsigned.
pub async fn delete_dkim_key(api: Api, domain: &str) -> Result<(), ApiError> {
    let query = format!(
        "mutation DeleteDkimKey {{ deleteDkimKey(domain: {domain}) }}",
        domain = string_literal(domain)
    );
    api.request::<Value>(&query, json!({})).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_sender_decodes() {
        let sender: Sender = serde_json::from_value(json!({
            "id": "7", "name": "本店", "kind": "SMTP", "fromAddress": "info@example.jp",
            "fromName": "", "smtp": {"host": "smtp.example.jp", "port": 587, "tls": "STARTTLS",
            "username": "info"}, "mailgun": null,
            "limits": {"perMinute": null, "perHour": 100, "perDay": 1000},
            "paused": {"code": "authentication_failed", "message": "ログインできません", "at": "2026-01-01T00:00:00Z"},
            "active": true, "createdAt": "2026-01-01T00:00:00Z"
        }))
        .unwrap_or_else(|error| panic!("sender failed to decode: {error}"));
        assert_eq!(sender.kind, SenderKind::Smtp);
        assert_eq!(sender.smtp.map(|smtp| smtp.tls), Some(SmtpTls::Starttls));
        assert_eq!(sender.limits.per_hour, Some(100));
        assert_eq!(sender.limits.per_minute, None);
        assert_eq!(
            sender.paused.map(|paused| paused.code).as_deref(),
            Some("authentication_failed")
        );
    }

    #[test]
    fn mailgun_sender_decodes_unknown_region() {
        let sender: Sender = serde_json::from_value(json!({
            "id": "8", "name": "Mailgun", "kind": "MAILGUN", "fromAddress": "info@mg.example.jp",
            "fromName": "さくら不動産", "smtp": null,
            "mailgun": {"domain": "mg.example.jp", "region": "AP", "hasWebhookKey": false,
                        "webhookUrl": "https://tayori.example/webhooks/mailgun/8"},
            "limits": {"perMinute": null, "perHour": null, "perDay": null},
            "paused": null, "active": false, "createdAt": "2026-01-01T00:00:00Z"
        }))
        .unwrap_or_else(|error| panic!("sender failed to decode: {error}"));
        let mailgun = sender
            .mailgun
            .unwrap_or_else(|| panic!("no mailgun settings"));
        assert_eq!(mailgun.region, MailgunRegion::Unknown);
        assert!(mailgun.webhook_url.ends_with("/mailgun/8"));
    }

    #[test]
    fn smtp_input_encodes_graphql_names() {
        let input = SenderInput {
            name: "本店".to_owned(),
            from_address: "info@example.jp".to_owned(),
            from_name: String::new(),
            smtp: Some(SmtpInput {
                host: "127.0.0.1".to_owned(),
                port: 587,
                tls: SmtpTls::Auto,
                username: "info".to_owned(),
                password: None,
            }),
            mailgun: None,
            limits: RateLimits {
                per_minute: None,
                per_hour: Some(100),
                per_day: None,
            },
        };
        assert_eq!(
            serde_json::to_value(&input).unwrap_or_default(),
            json!({
                "name": "本店", "fromAddress": "info@example.jp", "fromName": "",
                "smtp": {"host": "127.0.0.1", "port": 587, "tls": "AUTO", "username": "info",
                         "password": null},
                "mailgun": null,
                "limits": {"perMinute": null, "perHour": 100, "perDay": null}
            })
        );
    }

    #[test]
    fn mailgun_input_encodes_camel_case() {
        let input = MailgunInput {
            domain: "mg.example.jp".to_owned(),
            region: MailgunRegion::Eu,
            api_key: Some("key-1".to_owned()),
            webhook_signing_key: None,
        };
        assert_eq!(
            serde_json::to_value(&input).unwrap_or_default(),
            json!({"domain": "mg.example.jp", "region": "EU", "apiKey": "key-1",
                   "webhookSigningKey": null})
        );
    }

    #[test]
    fn dkim_algorithm_names_round_trip() {
        for algorithm in DkimAlgorithm::CHOICES {
            let decoded: DkimAlgorithm = serde_json::from_value(json!(algorithm.graphql_name()))
                .unwrap_or(DkimAlgorithm::Unknown);
            assert_eq!(decoded, algorithm);
            assert_eq!(
                DkimAlgorithm::from_graphql_name(algorithm.graphql_name()),
                Some(algorithm)
            );
        }
    }

    #[test]
    fn tls_choices_round_trip() {
        for mode in SmtpTls::CHOICES {
            assert_eq!(SmtpTls::from_graphql_name(mode.graphql_name()), Some(mode));
        }
        assert_eq!(SmtpTls::from_graphql_name("UNKNOWN"), None);
    }
}
