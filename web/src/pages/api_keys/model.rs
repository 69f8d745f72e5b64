//! API keys, their scopes, the requests that manage them, and the example request shown with a
//! new key.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, ApiError, string_literal};
use crate::i18n::Catalogue;
use crate::listing_schema::{FieldType, ListingField};

const API_KEY_FIELDS: &str = "id name prefix scopes createdAt lastUsedAt revokedAt";

/// The fields of the example upsert: every required field, then others up to this count.
const EXAMPLE_MAX_FIELDS: usize = 6;

/// The GraphQL enum of API key scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    ListingsRead,
    ListingsWrite,
    SchemaRead,
    SchemaWrite,
    MembersRead,
    MembersWrite,
    DeliveriesRead,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::ListingsRead,
        Scope::ListingsWrite,
        Scope::SchemaRead,
        Scope::SchemaWrite,
        Scope::MembersRead,
        Scope::MembersWrite,
        Scope::DeliveriesRead,
    ];

    /// Returns the GraphQL enum value.
    pub fn graphql_name(self) -> &'static str {
        match self {
            Scope::ListingsRead => "LISTINGS_READ",
            Scope::ListingsWrite => "LISTINGS_WRITE",
            Scope::SchemaRead => "SCHEMA_READ",
            Scope::SchemaWrite => "SCHEMA_WRITE",
            Scope::MembersRead => "MEMBERS_READ",
            Scope::MembersWrite => "MEMBERS_WRITE",
            Scope::DeliveriesRead => "DELIVERIES_READ",
        }
    }

    /// Returns the scope's name in the UI.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            Scope::ListingsRead => t.scope_listings_read,
            Scope::ListingsWrite => t.scope_listings_write,
            Scope::SchemaRead => t.scope_schema_read,
            Scope::SchemaWrite => t.scope_schema_write,
            Scope::MembersRead => t.scope_members_read,
            Scope::MembersWrite => t.scope_members_write,
            Scope::DeliveriesRead => t.scope_deliveries_read,
        }
    }

    /// Returns the UI name of a scope sent by the server, or the raw value for a scope this
    /// build does not know.
    pub fn label_of(graphql_name: &str, t: &Catalogue) -> String {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.graphql_name() == graphql_name)
            .map_or_else(
                || graphql_name.to_owned(),
                |scope| scope.label(t).to_owned(),
            )
    }
}

/// An API key as listed; the secret is never returned after creation.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    /// GraphQL enum values such as `LISTINGS_READ`.
    pub scopes: Vec<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// The result of `createApiKey`: the key and the only copy of its secret.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    pub api_key: ApiKey,
    pub secret: String,
}

/// Fetches the tenant's API keys, revoked ones included.
pub async fn fetch_api_keys(api: Api) -> Result<Vec<ApiKey>, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        api_keys: Vec<ApiKey>,
    }
    let query = format!("query ApiKeys {{ apiKeys {{ {API_KEY_FIELDS} }} }}");
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.api_keys)
}

/// Creates a key with `createApiKey`.
pub async fn create_api_key(
    api: Api,
    name: String,
    scopes: Vec<Scope>,
) -> Result<CreatedApiKey, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        create_api_key: CreatedApiKey,
    }
    let scopes = scopes
        .iter()
        .map(|scope| scope.graphql_name())
        .collect::<Vec<_>>()
        .join(", ");
    let query = format!(
        "mutation CreateApiKey($name: String!) {{ createApiKey(input: {{name: $name, \
         scopes: [{scopes}]}}) {{ apiKey {{ {API_KEY_FIELDS} }} secret }} }}"
    );
    let data: Data = api.request(&query, json!({ "name": name })).await?;
    Ok(data.create_api_key)
}

/// Revokes a key with `revokeApiKey`.
pub async fn revoke_api_key(api: Api, id: &str) -> Result<(), ApiError> {
    let query = format!(
        "mutation RevokeApiKey {{ revokeApiKey(id: {id}) {{ id revokedAt }} }}",
        id = string_literal(id)
    );
    api.request::<Value>(&query, json!({})).await?;
    Ok(())
}

/// Writes a sample value of `field` as a GraphQL input literal.
fn example_value(field: &ListingField, t: &Catalogue) -> String {
    match field.field_type {
        FieldType::Text => string_literal(t.example_text),
        FieldType::Number => "120000".to_owned(),
        FieldType::Enum => field.options.first().map_or_else(
            || string_literal(""),
            |option| string_literal(&option.value),
        ),
        FieldType::Tags => format!(
            "[{}, {}]",
            string_literal(t.example_tag_first),
            string_literal(t.example_tag_second)
        ),
        FieldType::Date => string_literal("2025-04-01"),
        FieldType::GeoPoint => "{lat: 35.6812, lon: 139.7671}".to_owned(),
    }
}

/// Quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Builds a `curl` command that upserts one listing with the new key, with sample values for
/// the tenant's schema.
pub fn example_curl(origin: &str, secret: &str, fields: &[ListingField], t: &Catalogue) -> String {
    let required_count = fields.iter().filter(|field| field.required).count();
    let mut optional_left = EXAMPLE_MAX_FIELDS.saturating_sub(required_count);
    let values = fields
        .iter()
        .filter(|field| {
            if field.required {
                return true;
            }
            let keep = optional_left > 0;
            optional_left = optional_left.saturating_sub(1);
            keep
        })
        .map(|field| format!("{}: {}", field.name, example_value(field, t)))
        .collect::<Vec<_>>()
        .join(", ");
    let query = format!(
        "mutation {{ upsertListings(listings: [{{externalId: \"room-101\", fields: {{{values}}}}}]) \
         {{ created updated unchanged rejected errors {{ index field value message }} }} }}"
    );
    let body = json!({ "query": query }).to_string();
    format!(
        "curl -sS -X POST {url} \\\n  -H {authorization} \\\n  -H 'Content-Type: application/json' \\\n  -d {body}",
        url = shell_quote(&format!("{origin}/graphql")),
        authorization = shell_quote(&format!("Authorization: Bearer {secret}")),
        body = shell_quote(&body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    fn text_field(name: &str, required: bool) -> ListingField {
        ListingField {
            name: name.to_owned(),
            label_ja: name.to_owned(),
            label_en: name.to_owned(),
            field_type: FieldType::Text,
            required,
            options: Vec::new(),
        }
    }

    #[test]
    fn shell_quote_escapes_single_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn example_keeps_required_fields_past_limit() {
        let mut fields: Vec<ListingField> = (0..8)
            .map(|index| text_field(&format!("optional{index}"), false))
            .collect();
        fields.push(text_field("must", true));
        let command = example_curl(
            "https://x.example",
            "tyk_1",
            &fields,
            Locale::En.catalogue(),
        );
        assert!(command.contains("must: "));
        assert!(command.contains("optional4: "));
        assert!(!command.contains("optional5: "));
    }

    #[test]
    fn example_body_is_valid_json() {
        let fields = [text_field("title", true)];
        let command = example_curl(
            "https://x.example",
            "tyk_1",
            &fields,
            Locale::Ja.catalogue(),
        );
        let quoted_body = command
            .split("-d ")
            .nth(1)
            .unwrap_or_else(|| panic!("no -d argument in {command}"));
        let body = quoted_body.trim_matches('\'');
        let parsed: Value = serde_json::from_str(body)
            .unwrap_or_else(|error| panic!("body {body} is not JSON: {error}"));
        let query = parsed["query"].as_str().unwrap_or_default();
        assert!(
            query.starts_with("mutation { upsertListings(listings: [{externalId: \"room-101\"")
        );
        assert!(query.contains("title: \"サンプル\""));
    }

    #[test]
    fn scope_names_are_distinct_graphql_values() {
        let t = Locale::Ja.catalogue();
        for scope in Scope::ALL {
            assert_eq!(Scope::label_of(scope.graphql_name(), t), scope.label(t));
        }
        assert_eq!(
            Scope::label_of("DELIVERIES_READ", t),
            t.scope_deliveries_read
        );
    }

    #[test]
    fn unknown_scope_shows_raw_value() {
        let t = Locale::En.catalogue();
        assert_eq!(Scope::label_of("LISTINGS_READ", t), t.scope_listings_read);
        assert_eq!(Scope::label_of("BILLING", t), "BILLING");
    }
}
