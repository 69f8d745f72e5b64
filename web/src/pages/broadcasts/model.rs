//! Broadcasts and the requests that list, schedule and cancel them.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, ApiError};
use crate::i18n::Catalogue;

/// The GraphQL enum `BroadcastStateValue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BroadcastState {
    Scheduled,
    Queuing,
    Queued,
    Cancelled,
    /// A state this build of the dashboard does not know.
    #[serde(other)]
    Unknown,
}

impl BroadcastState {
    /// Returns the state in the UI language.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            BroadcastState::Scheduled => t.broadcast_state_scheduled,
            BroadcastState::Queuing | BroadcastState::Queued => t.broadcast_state_queued,
            BroadcastState::Cancelled => t.broadcast_state_cancelled,
            BroadcastState::Unknown => t.import_status_unknown,
        }
    }

    /// Returns the CSS classes of the state badge.
    pub fn badge_class(self) -> &'static str {
        match self {
            BroadcastState::Scheduled => "badge badge-warning",
            BroadcastState::Queuing | BroadcastState::Queued => "badge badge-success",
            BroadcastState::Cancelled | BroadcastState::Unknown => "badge",
        }
    }
}

/// A broadcast as the list shows it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Broadcast {
    pub id: String,
    pub subject: String,
    /// The send time in the tenant's zone with its offset: `2030-03-20T09:00:00+09:00`.
    pub local_send_at: String,
    pub state: BroadcastState,
    pub recipient_count: Option<i32>,
}

impl Broadcast {
    /// Writes the local send time as `2030-03-20 09:00`, the zone being shown beside the list.
    pub fn local_time_text(&self) -> String {
        let text = self.local_send_at.replacen('T', " ", 1);
        text.get(..16).map_or(text.clone(), str::to_owned)
    }
}

/// The page's data: the broadcasts and the tenant's time zone that their times are in.
#[derive(Clone, Debug, PartialEq)]
pub struct Broadcasts {
    pub broadcasts: Vec<Broadcast>,
    pub time_zone: String,
}

/// Fetches the broadcasts, latest send time first, with the tenant's time zone.
pub async fn fetch_broadcasts(api: Api) -> Result<Broadcasts, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Tenant {
        time_zone: String,
    }
    #[derive(Deserialize)]
    struct Data {
        broadcasts: Vec<Broadcast>,
        tenant: Tenant,
    }
    let data: Data = api
        .request(
            "query Broadcasts { broadcasts { id subject localSendAt state recipientCount } \
             tenant { timeZone } }",
            json!({}),
        )
        .await?;
    Ok(Broadcasts {
        broadcasts: data.broadcasts,
        time_zone: data.tenant.time_zone,
    })
}

/// Schedules a broadcast at `local_send_at` (`YYYY-MM-DDTHH:MM` in the tenant's zone).
pub async fn schedule_broadcast(
    api: Api,
    subject: &str,
    text: &str,
    local_send_at: &str,
) -> Result<(), ApiError> {
    api.request::<Value>(
        "mutation ScheduleBroadcast($input: BroadcastInput!) { scheduleBroadcast(input: $input) { id } }",
        json!({ "input": { "subject": subject, "text": text, "localSendAt": local_send_at } }),
    )
    .await?;
    Ok(())
}

/// Cancels a scheduled broadcast.
pub async fn cancel_broadcast(api: Api, id: &str) -> Result<(), ApiError> {
    api.request::<Value>(
        "mutation CancelBroadcast($id: ID!) { cancelBroadcast(id: $id) { state } }",
        json!({ "id": id }),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_text_drops_seconds_and_offset() {
        let broadcast = Broadcast {
            id: "b".to_owned(),
            subject: "s".to_owned(),
            local_send_at: "2030-03-20T09:00:00+09:00".to_owned(),
            state: BroadcastState::Scheduled,
            recipient_count: None,
        };
        assert_eq!(broadcast.local_time_text(), "2030-03-20 09:00");
    }

    #[test]
    fn unknown_states_decode() {
        let state: BroadcastState = serde_json::from_value(json!("PAUSED"))
            .unwrap_or_else(|error| panic!("state failed to decode: {error}"));
        assert_eq!(state, BroadcastState::Unknown);
    }
}
