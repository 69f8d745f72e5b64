//! Mailgun webhooks: events about mail already handed over. The signature is an HMAC-SHA256
//! over timestamp and token, keyed with the sender's webhook signing key, and is checked in
//! constant time. Stale timestamps and reused tokens are rejected, and each event id is
//! processed once.
//! Permanent failures and complaints put the address on the suppression list.

use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, Set};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    SendingConfig, senders,
    suppressions::{self, Reason},
};
use crate::{
    TenantId,
    entities::{sender, webhook_event},
    error::Result,
};

/// Events older or newer than this are rejected as replays.
const MAX_AGE_SECONDS: i64 = 15 * 60;

/// The result of a webhook call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Processed now.
    Processed,
    /// Already processed earlier (Mailgun retried it).
    Duplicate,
    /// No such sender, or it has no webhook signing key.
    UnknownSender,
    /// The signature is wrong, the timestamp stale or the token used before.
    Rejected,
    /// The body is not a Mailgun event.
    Malformed,
}

#[derive(Deserialize)]
struct Payload {
    signature: Signature,
    #[serde(rename = "event-data")]
    event: Event,
}

#[derive(Deserialize)]
struct Signature {
    timestamp: String,
    token: String,
    signature: String,
}

#[derive(Deserialize)]
struct Event {
    id: String,
    event: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    recipient: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// Verifies and processes one webhook call for the sender `sender_id`.
pub async fn handle_mailgun(
    db: &DatabaseConnection,
    config: &SendingConfig,
    sender_id: Uuid,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<WebhookOutcome> {
    let Some(stored) = sender::Entity::find_by_id(sender_id).one(db).await? else {
        return Ok(WebhookOutcome::UnknownSender);
    };
    let Some(key) = senders::webhook_key(config, &stored)? else {
        return Ok(WebhookOutcome::UnknownSender);
    };
    let tenant_id = TenantId(stored.tenant_id);
    let Ok(payload) = serde_json::from_slice::<Payload>(body) else {
        tracing::warn!(tenant.id = %tenant_id, sender.id = %sender_id, "malformed Mailgun webhook");
        return Ok(WebhookOutcome::Malformed);
    };
    if !signature_valid(&key, &payload.signature, now) {
        tracing::warn!(tenant.id = %tenant_id, sender.id = %sender_id, "Mailgun webhook rejected: bad or stale signature");
        return Ok(WebhookOutcome::Rejected);
    }

    let tx = crate::db::begin_write(db).await?;
    let seen = webhook_event::Entity::find_by_id((tenant_id.0, payload.event.id.clone()))
        .one(&tx)
        .await?;
    if seen.is_some() {
        return Ok(WebhookOutcome::Duplicate);
    }
    let inserted = webhook_event::Entity::insert(webhook_event::ActiveModel {
        tenant_id: Set(tenant_id.0),
        event_id: Set(payload.event.id.chars().take(200).collect()),
        token: Set(payload.signature.token.chars().take(200).collect()),
        received_at: Set(now),
    })
    .exec(&tx)
    .await;
    if let Err(error) = inserted {
        // The event id was checked above, so a conflict here is a reused token.
        if matches!(
            error.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ) {
            tracing::warn!(tenant.id = %tenant_id, sender.id = %sender_id, "Mailgun webhook rejected: token reused");
            return Ok(WebhookOutcome::Rejected);
        }
        return Err(error.into());
    }
    let event = &payload.event;
    let reason = match (event.event.as_str(), event.severity.as_deref()) {
        ("failed", Some("permanent")) => Some(Reason::HardBounce),
        ("complained", _) => Some(Reason::Complaint),
        ("unsubscribed", _) => Some(Reason::Unsubscribed),
        _ => None,
    };
    if let (Some(reason), Some(recipient)) = (reason, &event.recipient) {
        let detail = format!(
            "Mailgun {} {}",
            event.event,
            event.reason.as_deref().unwrap_or_default()
        );
        suppressions::add(&tx, tenant_id, recipient, reason, detail.trim()).await?;
    }
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, sender.id = %sender_id, event = %event.event, "Mailgun webhook processed");
    Ok(WebhookOutcome::Processed)
}

fn signature_valid(key: &[u8], signature: &Signature, now: DateTime<Utc>) -> bool {
    let Ok(timestamp) = signature.timestamp.parse::<i64>() else {
        return false;
    };
    if (now.timestamp() - timestamp).abs() > MAX_AGE_SECONDS {
        return false;
    }
    let Ok(given) = hex::decode(&signature.signature) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let message = format!("{}{}", signature.timestamp, signature.token);
    hmac::verify(&key, message.as_bytes(), &given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(key: &[u8], timestamp: i64, token: &str) -> Signature {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, key),
            format!("{timestamp}{token}").as_bytes(),
        );
        Signature {
            timestamp: timestamp.to_string(),
            token: token.to_owned(),
            signature: hex::encode(tag.as_ref()),
        }
    }

    #[test]
    fn signature_checks_key_and_age() {
        let now = Utc::now();
        let fresh = signed(b"key", now.timestamp(), "token-1");
        assert!(signature_valid(b"key", &fresh, now));
        assert!(!signature_valid(b"other", &fresh, now));
        let stale = signed(b"key", now.timestamp() - MAX_AGE_SECONDS - 1, "token-2");
        assert!(!signature_valid(b"key", &stale, now));
    }
}
