//! Provider webhooks. `POST /webhooks/mailgun/{sender_id}` takes Mailgun's events for one
//! sender; the path names the sender whose webhook signing key checks the signature.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use chrono::Utc;
use domain::sending::webhooks::{WebhookOutcome, handle_mailgun};
use uuid::Uuid;

use crate::AppState;

pub async fn mailgun(
    State(state): State<AppState>,
    Path(sender_id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let Ok(sender_id) = Uuid::parse_str(&sender_id) else {
        return StatusCode::NOT_FOUND;
    };
    match handle_mailgun(&state.db, &state.sending, sender_id, &body, Utc::now()).await {
        Ok(WebhookOutcome::Processed | WebhookOutcome::Duplicate) => StatusCode::OK,
        Ok(WebhookOutcome::UnknownSender) => StatusCode::NOT_FOUND,
        // With 406, Mailgun stops retrying a request that can never be accepted.
        Ok(WebhookOutcome::Rejected) => StatusCode::NOT_ACCEPTABLE,
        Ok(WebhookOutcome::Malformed) => StatusCode::BAD_REQUEST,
        Err(error) => {
            tracing::error!(sender.id = %sender_id, error = ?error, "Mailgun webhook failed");
            // Mailgun retries other statuses for hours, which suits a passing failure.
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
