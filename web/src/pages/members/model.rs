//! Members, their mail settings and profiles, and the requests that read and change them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{Api, ApiError, null_as_default, optional_string_literal, string_literal};
use crate::i18n::Catalogue;

/// Members shown per page of the list.
pub const PAGE_SIZE: usize = 50;

const MEMBER_SELECTION: &str = "id email locale frequency digestHour digestWeekday subscribed pendingConfirmation \
     profile nextDigestAt createdAt updatedAt";

/// The GraphQL enum `MailFrequency`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Frequency {
    #[default]
    Instant,
    Daily,
    Weekly,
}

impl Frequency {
    pub const ALL: [Frequency; 3] = [Frequency::Instant, Frequency::Daily, Frequency::Weekly];

    /// Returns the GraphQL enum value, also used as the `<option>` value.
    pub fn graphql_name(self) -> &'static str {
        match self {
            Frequency::Instant => "INSTANT",
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
        }
    }

    /// Parses a GraphQL enum value.
    pub fn from_graphql_name(name: &str) -> Option<Self> {
        Frequency::ALL
            .into_iter()
            .find(|frequency| frequency.graphql_name() == name)
    }

    /// Returns the frequency's name in the UI: 即時, 毎日まとめ or 毎週まとめ.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            Frequency::Instant => t.frequency_instant,
            Frequency::Daily => t.frequency_daily,
            Frequency::Weekly => t.frequency_weekly,
        }
    }
}

/// A stored member.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub id: String,
    pub email: String,
    /// GraphQL enum `Locale`: `JA` or `EN`.
    pub locale: String,
    pub frequency: Frequency,
    /// Local hour, 0 to 23.
    pub digest_hour: u8,
    /// 0 is Monday, 6 is Sunday.
    pub digest_weekday: u8,
    pub subscribed: bool,
    /// Signed up on the member pages without confirming yet; older servers do not send it.
    #[serde(default)]
    pub pending_confirmation: bool,
    /// Values keyed by profile field name, as normalised by the server.
    pub profile: Value,
    pub next_digest_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// One page of the `members` connection.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberPage {
    pub total_count: u64,
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
    pub nodes: Vec<Member>,
    /// The position of this page, counted from 0. The page sets it after the request, and
    /// the server does not send it.
    #[serde(skip)]
    pub page_index: usize,
}

/// The `MemberInput` of `createMember` and `updateMember`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberInput {
    pub email: String,
    /// GraphQL enum `Locale`: `JA` or `EN`; `None` takes the tenant's language.
    pub locale: Option<String>,
    pub frequency: Frequency,
    pub digest_hour: u8,
    pub digest_weekday: u8,
    /// A JSON object keyed by profile field name.
    pub profile: Value,
}

/// One rejected row of a member import.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRowError {
    /// The 1-based data row: 1 is the row after the header.
    pub index: u64,
    /// The row's address, when it had one.
    #[serde(default)]
    pub external_id: Option<String>,
    pub field: String,
    #[serde(default)]
    pub value: Option<String>,
    pub message: String,
}

/// The result of `importMembers`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ImportResult {
    pub created: u64,
    pub updated: u64,
    pub rejected: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<ImportRowError>,
}

/// Fetches a page of members, newest first, whose address contains `search`.
pub async fn fetch_members(
    api: Api,
    after: Option<String>,
    search: String,
) -> Result<MemberPage, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        members: MemberPage,
    }
    let search = search.trim();
    let search = (!search.is_empty()).then_some(search);
    let query = format!(
        "query Members {{ members(first: {PAGE_SIZE}, after: {after}, search: {search}) \
         {{ totalCount endCursor hasNextPage nodes {{ {MEMBER_SELECTION} }} }} }}",
        after = optional_string_literal(after.as_deref()),
        search = optional_string_literal(search),
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.members)
}

/// Fetches member `id`.
pub async fn fetch_member(api: Api, id: &str) -> Result<Member, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        member: Member,
    }
    let query = format!(
        "query Member {{ member(id: {id}) {{ {MEMBER_SELECTION} }} }}",
        id = string_literal(id)
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.member)
}

/// Creates a member, or replaces member `id` when it is given, and returns it as stored.
pub async fn save_member(
    api: Api,
    id: Option<String>,
    member: MemberInput,
) -> Result<Member, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        member: Member,
    }
    let query = match id {
        Some(id) => format!(
            "mutation UpdateMember($member: MemberInput!) \
             {{ member: updateMember(id: {id}, member: $member) {{ {MEMBER_SELECTION} }} }}",
            id = string_literal(&id)
        ),
        None => format!(
            "mutation CreateMember($member: MemberInput!) \
             {{ member: createMember(member: $member) {{ {MEMBER_SELECTION} }} }}"
        ),
    };
    let data: Data = api.request(&query, json!({ "member": member })).await?;
    Ok(data.member)
}

/// Stops or resumes all mail to member `id`.
pub async fn set_member_subscribed(
    api: Api,
    id: &str,
    subscribed: bool,
) -> Result<Member, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        set_member_subscribed: Member,
    }
    let query = format!(
        "mutation SetMemberSubscribed {{ setMemberSubscribed(id: {id}, subscribed: {subscribed}) \
         {{ {MEMBER_SELECTION} }} }}",
        id = string_literal(id)
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.set_member_subscribed)
}

/// Deletes member `id`.
pub async fn delete_member(api: Api, id: &str) -> Result<(), ApiError> {
    let query = format!(
        "mutation DeleteMember {{ deleteMember(id: {id}) }}",
        id = string_literal(id)
    );
    api.request::<Value>(&query, json!({})).await?;
    Ok(())
}

/// Fetches every member as CSV, in the format the import reads.
pub async fn export_members(api: Api) -> Result<String, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        export_members: String,
    }
    let data: Data = api
        .request("query ExportMembers { exportMembers }", json!({}))
        .await?;
    Ok(data.export_members)
}

/// Offers `csv` to the browser as a download named `file_name`. A byte order mark comes first,
/// so that spreadsheet programs read the Japanese text as UTF-8.
pub fn download_csv(file_name: &str, csv: &str) {
    let encoded = js_sys::encode_uri_component(&format!("\u{feff}{csv}"));
    let href = format!("data:text/csv;charset=utf-8,{encoded}");
    let document = leptos::prelude::document();
    let Ok(link) = document.create_element("a") else {
        return;
    };
    let _ = link.set_attribute("href", &href);
    let _ = link.set_attribute("download", file_name);
    if let Some(body) = document.body() {
        let _ = body.append_child(&link);
        if let Some(link) = wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlElement>(&link) {
            link.click();
        }
        let _ = body.remove_child(&link);
    }
}

/// Creates and updates members from CSV text.
pub async fn import_members(api: Api, csv: String) -> Result<ImportResult, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        import_members: ImportResult,
    }
    let query = "mutation ImportMembers($csv: String!) { importMembers(csv: $csv) \
                 { created updated rejected errors { index externalId field value message } } }";
    let data: Data = api.request(query, json!({ "csv": csv })).await?;
    Ok(data.import_members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_decodes() {
        let member: Member = serde_json::from_value(json!({
            "id": "12", "email": "a@example.jp", "locale": "JA", "frequency": "WEEKLY",
            "digestHour": 9, "digestWeekday": 4, "subscribed": true,
            "profile": {"budget": 100000}, "nextDigestAt": null,
            "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z"
        }))
        .unwrap_or_else(|error| panic!("member failed to decode: {error}"));
        assert_eq!(member.frequency, Frequency::Weekly);
        assert_eq!(member.digest_weekday, 4);
    }

    #[test]
    fn input_encodes_camel_case() {
        let input = MemberInput {
            email: "a@example.jp".to_owned(),
            locale: Some("EN".to_owned()),
            frequency: Frequency::Daily,
            digest_hour: 18,
            digest_weekday: 0,
            profile: json!({}),
        };
        let encoded = serde_json::to_value(&input)
            .unwrap_or_else(|error| panic!("input failed to encode: {error}"));
        assert_eq!(encoded["frequency"], json!("DAILY"));
        assert_eq!(encoded["digestHour"], json!(18));
    }

    #[test]
    fn frequency_names_round_trip() {
        for frequency in Frequency::ALL {
            assert_eq!(
                Frequency::from_graphql_name(frequency.graphql_name()),
                Some(frequency)
            );
        }
    }
}
