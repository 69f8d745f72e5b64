//! Suppressed addresses and the requests that list, add and remove them.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, ApiError, optional_string_literal, string_literal};
use crate::i18n::Catalogue;

/// The number of addresses fetched at once: the maximum that `suppressions(first:)` accepts.
pub const FETCH_LIMIT: usize = 200;

/// The GraphQL enum `SuppressionReason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SuppressionReason {
    Unsubscribed,
    HardBounce,
    Complaint,
    Manual,
    /// A reason this build of the dashboard does not know.
    #[serde(other)]
    Unknown,
}

impl SuppressionReason {
    /// Returns the reason in the UI language.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            SuppressionReason::Unsubscribed => t.suppression_reason_unsubscribed,
            SuppressionReason::HardBounce => t.suppression_reason_hard_bounce,
            SuppressionReason::Complaint => t.suppression_reason_complaint,
            SuppressionReason::Manual => t.suppression_reason_manual,
            SuppressionReason::Unknown => t.import_status_unknown,
        }
    }

    /// Returns the CSS classes of the reason badge.
    pub fn badge_class(self) -> &'static str {
        match self {
            SuppressionReason::HardBounce | SuppressionReason::Complaint => "badge badge-danger",
            SuppressionReason::Unsubscribed => "badge badge-warning",
            SuppressionReason::Manual | SuppressionReason::Unknown => "badge",
        }
    }

    /// Returns the GraphQL enum value, for `data-reason`.
    pub fn graphql_name(self) -> &'static str {
        match self {
            SuppressionReason::Unsubscribed => "UNSUBSCRIBED",
            SuppressionReason::HardBounce => "HARD_BOUNCE",
            SuppressionReason::Complaint => "COMPLAINT",
            SuppressionReason::Manual => "MANUAL",
            SuppressionReason::Unknown => "UNKNOWN",
        }
    }
}

/// An address the tenant never mails.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    /// Lower-cased by the server.
    pub address: String,
    pub reason: SuppressionReason,
    /// The recipient server's reply, the provider's event or the operator's note.
    pub detail: String,
    pub created_at: String,
}

/// Fetches up to [`FETCH_LIMIT`] suppressed addresses, newest first, whose address contains
/// `search` when it is not empty.
pub async fn fetch_suppressions(api: Api, search: String) -> Result<Vec<Suppression>, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        suppressions: Vec<Suppression>,
    }
    let search = (!search.is_empty()).then_some(search);
    let query = format!(
        "query Suppressions {{ suppressions(search: {search}, first: {FETCH_LIMIT}) \
         {{ address reason detail createdAt }} }}",
        search = optional_string_literal(search.as_deref())
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.suppressions)
}

/// Puts `address` on the list with the operator's `note`.
pub async fn add_suppression(api: Api, address: &str, note: &str) -> Result<(), ApiError> {
    let query = format!(
        "mutation AddSuppression {{ addSuppression(address: {address}, note: {note}) }}",
        address = string_literal(address),
        note = string_literal(note)
    );
    api.request::<Value>(&query, json!({})).await?;
    Ok(())
}

/// Takes `address` off the list.
pub async fn remove_suppression(api: Api, address: &str) -> Result<(), ApiError> {
    let query = format!(
        "mutation RemoveSuppression {{ removeSuppression(address: {address}) }}",
        address = string_literal(address)
    );
    api.request::<Value>(&query, json!({})).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    #[test]
    fn suppressions_decode_with_unknown_reason() {
        let rows: Vec<Suppression> = serde_json::from_value(json!([
            {"address": "a@example.jp", "reason": "HARD_BOUNCE", "detail": "550 5.1.1 no such user",
             "createdAt": "2026-01-01T00:00:00Z"},
            {"address": "b@example.jp", "reason": "TOO_MANY_OPENS", "detail": "",
             "createdAt": "2026-01-01T00:00:00Z"}
        ]))
        .unwrap_or_else(|error| panic!("suppressions failed to decode: {error}"));
        assert_eq!(rows[0].reason, SuppressionReason::HardBounce);
        assert_eq!(rows[1].reason, SuppressionReason::Unknown);
    }

    #[test]
    fn reason_labels_are_distinct() {
        let reasons = [
            SuppressionReason::Unsubscribed,
            SuppressionReason::HardBounce,
            SuppressionReason::Complaint,
            SuppressionReason::Manual,
        ];
        for locale in [Locale::Ja, Locale::En] {
            let t = locale.catalogue();
            let mut labels: Vec<&str> = reasons.iter().map(|reason| reason.label(t)).collect();
            labels.sort_unstable();
            labels.dedup();
            assert_eq!(labels.len(), reasons.len());
        }
    }
}
