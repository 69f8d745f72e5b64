//! Deliveries (the outbox) and why each was sent, and the requests that read them.

use serde::Deserialize;
use serde_json::json;

use crate::api::{Api, ApiError, null_as_default, optional_string_literal, string_literal};
use crate::i18n::Catalogue;

/// Deliveries shown per page of the list.
pub const PAGE_SIZE: usize = 50;

const SUMMARY_SELECTION: &str = "id memberId kind state toAddress subject createdAt";

/// The GraphQL enum `DeliveryState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryState {
    Collecting,
    Queued,
    Captured,
    Failed,
    Ready,
    Sending,
    Sent,
    Bounced,
    Suppressed,
    /// A state this build of the dashboard does not know.
    #[serde(other)]
    Unknown,
}

impl DeliveryState {
    /// The states the list can be filtered by, in the order a mail passes through them.
    pub const FILTERS: [DeliveryState; 9] = [
        DeliveryState::Collecting,
        DeliveryState::Queued,
        DeliveryState::Captured,
        DeliveryState::Ready,
        DeliveryState::Sending,
        DeliveryState::Sent,
        DeliveryState::Bounced,
        DeliveryState::Suppressed,
        DeliveryState::Failed,
    ];

    /// Returns the GraphQL enum value, also used as the `<option>` value and `data-state`.
    pub fn graphql_name(self) -> &'static str {
        match self {
            DeliveryState::Collecting => "COLLECTING",
            DeliveryState::Queued => "QUEUED",
            DeliveryState::Captured => "CAPTURED",
            DeliveryState::Failed => "FAILED",
            DeliveryState::Ready => "READY",
            DeliveryState::Sending => "SENDING",
            DeliveryState::Sent => "SENT",
            DeliveryState::Bounced => "BOUNCED",
            DeliveryState::Suppressed => "SUPPRESSED",
            DeliveryState::Unknown => "UNKNOWN",
        }
    }

    /// Parses a filter value.
    pub fn from_graphql_name(name: &str) -> Option<Self> {
        DeliveryState::FILTERS
            .into_iter()
            .find(|state| state.graphql_name() == name)
    }

    /// Returns the state in the UI language.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            DeliveryState::Collecting => t.delivery_state_collecting,
            DeliveryState::Queued => t.delivery_state_queued,
            DeliveryState::Captured => t.delivery_state_captured,
            DeliveryState::Failed => t.delivery_state_failed,
            DeliveryState::Ready => t.delivery_state_ready,
            DeliveryState::Sending => t.delivery_state_sending,
            DeliveryState::Sent => t.delivery_state_sent,
            DeliveryState::Bounced => t.delivery_state_bounced,
            DeliveryState::Suppressed => t.delivery_state_suppressed,
            DeliveryState::Unknown => t.import_status_unknown,
        }
    }

    /// Returns the CSS classes of the state badge.
    pub fn badge_class(self) -> &'static str {
        match self {
            DeliveryState::Collecting | DeliveryState::Unknown => "badge",
            DeliveryState::Queued | DeliveryState::Ready | DeliveryState::Sending => {
                "badge badge-active"
            }
            DeliveryState::Captured | DeliveryState::Sent => "badge badge-success",
            DeliveryState::Suppressed => "badge badge-warning",
            DeliveryState::Failed | DeliveryState::Bounced => "badge badge-danger",
        }
    }

    /// Returns how long a page showing a delivery in this state waits before fetching it
    /// again, or `None` for states that do not change by themselves soon. A ready delivery
    /// can wait for a rate limit or a retry, so it is fetched less often.
    pub fn poll_interval_ms(self) -> Option<u32> {
        match self {
            DeliveryState::Queued | DeliveryState::Sending => Some(2_000),
            DeliveryState::Ready => Some(10_000),
            _ => None,
        }
    }
}

/// The `outcome` of a delivery attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Sent,
    Deferred,
    Bounced,
    Failed,
    Paused,
    /// An outcome this build of the dashboard does not know.
    #[serde(other)]
    Unknown,
}

impl AttemptOutcome {
    /// Returns the value as the server sends it, also used as `data-outcome`.
    pub fn name(self) -> &'static str {
        match self {
            AttemptOutcome::Sent => "sent",
            AttemptOutcome::Deferred => "deferred",
            AttemptOutcome::Bounced => "bounced",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Paused => "paused",
            AttemptOutcome::Unknown => "unknown",
        }
    }

    /// Returns the outcome in the UI language.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            AttemptOutcome::Sent => t.attempt_outcome_sent,
            AttemptOutcome::Deferred => t.attempt_outcome_deferred,
            AttemptOutcome::Bounced => t.attempt_outcome_bounced,
            AttemptOutcome::Failed => t.attempt_outcome_failed,
            AttemptOutcome::Paused => t.attempt_outcome_paused,
            AttemptOutcome::Unknown => t.import_status_unknown,
        }
    }

    /// Returns the CSS classes of the outcome badge.
    pub fn badge_class(self) -> &'static str {
        match self {
            AttemptOutcome::Sent => "badge badge-success",
            AttemptOutcome::Deferred | AttemptOutcome::Paused => "badge badge-warning",
            AttemptOutcome::Bounced | AttemptOutcome::Failed => "badge badge-danger",
            AttemptOutcome::Unknown => "badge",
        }
    }
}

/// One hand-over of a delivery to the tenant's sender, with the reply.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    pub started_at: String,
    pub duration_ms: u64,
    pub outcome: AttemptOutcome,
    /// The fault's stable code, such as `authentication_failed`.
    pub fault_code: Option<String>,
    /// The server's or API's reply.
    pub response: String,
}

/// The GraphQL enum `DeliveryKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryKind {
    Listing,
    ListingUpdate,
    Digest,
    Step,
    Account,
    Broadcast,
    /// A kind this build of the dashboard does not know.
    #[serde(other)]
    Unknown,
}

impl DeliveryKind {
    /// Returns the kind in the UI language.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            DeliveryKind::Listing => t.delivery_kind_listing,
            DeliveryKind::ListingUpdate => t.delivery_kind_listing_update,
            DeliveryKind::Digest => t.delivery_kind_digest,
            DeliveryKind::Step => t.delivery_kind_step,
            DeliveryKind::Account => t.delivery_kind_account,
            DeliveryKind::Broadcast => t.delivery_kind_broadcast,
            DeliveryKind::Unknown => t.import_status_unknown,
        }
    }
}

/// A delivery as the list shows it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverySummary {
    pub id: String,
    pub member_id: Option<String>,
    pub kind: DeliveryKind,
    pub state: DeliveryState,
    pub to_address: String,
    /// Empty until rendered.
    pub subject: String,
    pub created_at: String,
}

/// One page of the `deliveries` connection.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryPage {
    pub total_count: u64,
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
    pub nodes: Vec<DeliverySummary>,
    /// The position of this page, counted from 0. The page sets it after the request, and
    /// the server does not send it.
    #[serde(skip)]
    pub page_index: usize,
}

/// One clause of the rule that matched, with the values compared.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchReason {
    /// The listing field's label in the request's language.
    pub field: String,
    pub listing_value: String,
    pub condition: String,
    pub held: bool,
}

/// A listing that a delivery announced, and the rule that matched it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryItem {
    pub listing_id: String,
    pub external_id: String,
    /// The listing's name or title; older servers do not send it.
    #[serde(default)]
    pub headline: String,
    pub update: bool,
    pub rule_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub reasons: Vec<MatchReason>,
}

/// A delivery with its content and items.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub member_id: Option<String>,
    pub kind: DeliveryKind,
    pub state: DeliveryState,
    pub to_address: String,
    pub message_id: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub headers: String,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Oldest first; empty for mail captured in test mode.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attempts: Vec<DeliveryAttempt>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub items: Vec<DeliveryItem>,
}

/// The list's filters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeliveryFilter {
    pub member_id: Option<String>,
    pub state: Option<DeliveryState>,
    /// Only the step mail of this sequence.
    pub sequence_id: Option<String>,
    /// Only the copies of this broadcast.
    pub broadcast_id: Option<String>,
}

/// Fetches a page of deliveries, newest first.
pub async fn fetch_deliveries(
    api: Api,
    after: Option<String>,
    filter: DeliveryFilter,
) -> Result<DeliveryPage, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        deliveries: DeliveryPage,
    }
    let query = format!(
        "query Deliveries {{ deliveries(first: {PAGE_SIZE}, after: {after}, memberId: {member}, \
         state: {state}, sequenceId: {sequence}, broadcastId: {broadcast}) \
         {{ totalCount endCursor hasNextPage nodes {{ {SUMMARY_SELECTION} }} }} }}",
        after = optional_string_literal(after.as_deref()),
        member = optional_string_literal(filter.member_id.as_deref()),
        sequence = optional_string_literal(filter.sequence_id.as_deref()),
        broadcast = optional_string_literal(filter.broadcast_id.as_deref()),
        state = filter.state.map_or("null", DeliveryState::graphql_name),
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.deliveries)
}

/// Fetches delivery `id` with its content and items.
pub async fn fetch_delivery(api: Api, id: &str) -> Result<Delivery, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        delivery: Delivery,
    }
    let query = format!(
        "query Delivery {{ delivery(id: {id}) {{ id memberId kind state toAddress messageId \
         subject textBody htmlBody headers error createdAt updatedAt \
         attempts {{ startedAt durationMs outcome faultCode response }} \
         items {{ listingId externalId headline update ruleName \
         reasons {{ field listingValue condition held }} }} }} }}",
        id = string_literal(id)
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.delivery)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_decodes_items_and_unknown_values() {
        let delivery: Delivery = serde_json::from_value(json!({
            "id": "5", "memberId": null, "kind": "LISTING", "state": "RETURNED",
            "toAddress": "a@example.jp", "messageId": "m@x", "subject": "s",
            "textBody": "t", "htmlBody": "<p>h</p>", "headers": "To: a@example.jp",
            "error": null, "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z",
            "items": [{"listingId": "9", "externalId": "r-1", "update": false, "ruleName": "予算",
                       "reasons": [{"field": "賃料", "listingValue": "80,000",
                                    "condition": "100,000以下", "held": true}]}]
        }))
        .unwrap_or_else(|error| panic!("delivery failed to decode: {error}"));
        assert_eq!(delivery.state, DeliveryState::Unknown);
        assert_eq!(delivery.items[0].reasons[0].condition, "100,000以下");
        assert!(delivery.attempts.is_empty());
    }

    #[test]
    fn sending_states_and_attempts_decode() {
        let delivery: Delivery = serde_json::from_value(json!({
            "id": "6", "memberId": "3", "kind": "DIGEST", "state": "BOUNCED",
            "toAddress": "a@example.jp", "messageId": "m@x", "subject": "s",
            "textBody": "t", "htmlBody": "<p>h</p>", "headers": "",
            "error": "550 5.1.1 user unknown", "createdAt": "2025-01-01T00:00:00Z",
            "updatedAt": "2025-01-01T00:00:00Z", "items": [],
            "attempts": [
                {"startedAt": "2025-01-01T00:00:00Z", "durationMs": 812, "outcome": "deferred",
                 "faultCode": "temporary_failure", "response": "451 4.7.1 try later"},
                {"startedAt": "2025-01-01T00:05:00Z", "durationMs": 95, "outcome": "bounced",
                 "faultCode": null, "response": "550 5.1.1 user unknown"},
                {"startedAt": "2025-01-01T00:06:00Z", "durationMs": 1, "outcome": "exploded",
                 "faultCode": null, "response": ""}
            ]
        }))
        .unwrap_or_else(|error| panic!("delivery failed to decode: {error}"));
        assert_eq!(delivery.state, DeliveryState::Bounced);
        let outcomes: Vec<AttemptOutcome> = delivery
            .attempts
            .iter()
            .map(|attempt| attempt.outcome)
            .collect();
        assert_eq!(
            outcomes,
            [
                AttemptOutcome::Deferred,
                AttemptOutcome::Bounced,
                AttemptOutcome::Unknown
            ]
        );
        assert_eq!(
            delivery.attempts[0].fault_code.as_deref(),
            Some("temporary_failure")
        );
    }

    #[test]
    fn only_moving_states_are_polled() {
        assert_eq!(DeliveryState::Queued.poll_interval_ms(), Some(2_000));
        assert_eq!(DeliveryState::Sending.poll_interval_ms(), Some(2_000));
        assert!(DeliveryState::Ready.poll_interval_ms().is_some());
        for state in [
            DeliveryState::Collecting,
            DeliveryState::Captured,
            DeliveryState::Sent,
            DeliveryState::Bounced,
            DeliveryState::Suppressed,
            DeliveryState::Failed,
        ] {
            assert_eq!(state.poll_interval_ms(), None, "{state:?}");
        }
    }

    #[test]
    fn filter_names_round_trip() {
        for state in DeliveryState::FILTERS {
            assert_eq!(
                DeliveryState::from_graphql_name(state.graphql_name()),
                Some(state)
            );
        }
        assert_eq!(DeliveryState::from_graphql_name("UNKNOWN"), None);
    }
}
