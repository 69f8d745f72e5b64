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
    /// A state this build of the dashboard does not know.
    #[serde(other)]
    Unknown,
}

impl DeliveryState {
    /// The states the list can be filtered by.
    pub const FILTERS: [DeliveryState; 4] = [
        DeliveryState::Collecting,
        DeliveryState::Queued,
        DeliveryState::Captured,
        DeliveryState::Failed,
    ];

    /// Returns the GraphQL enum value, also used as the `<option>` value and `data-state`.
    pub fn graphql_name(self) -> &'static str {
        match self {
            DeliveryState::Collecting => "COLLECTING",
            DeliveryState::Queued => "QUEUED",
            DeliveryState::Captured => "CAPTURED",
            DeliveryState::Failed => "FAILED",
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
            DeliveryState::Unknown => t.import_status_unknown,
        }
    }

    /// Returns the CSS classes of the state badge.
    pub fn badge_class(self) -> &'static str {
        match self {
            DeliveryState::Collecting => "badge",
            DeliveryState::Queued => "badge badge-active",
            DeliveryState::Captured => "badge badge-success",
            DeliveryState::Failed => "badge badge-danger",
            DeliveryState::Unknown => "badge",
        }
    }
}

/// The GraphQL enum `DeliveryKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryKind {
    Listing,
    ListingUpdate,
    Digest,
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
    #[serde(default, deserialize_with = "null_as_default")]
    pub items: Vec<DeliveryItem>,
}

/// The list's filters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeliveryFilter {
    pub member_id: Option<String>,
    pub state: Option<DeliveryState>,
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
         state: {state}) {{ totalCount endCursor hasNextPage nodes {{ {SUMMARY_SELECTION} }} }} }}",
        after = optional_string_literal(after.as_deref()),
        member = optional_string_literal(filter.member_id.as_deref()),
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
            "id": "5", "memberId": null, "kind": "LISTING", "state": "BOUNCED",
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
