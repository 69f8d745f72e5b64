//! The tenant's listing schema (the fields every listing has) and profile fields (the
//! conditions members give), and the requests that read and replace them. Used by the schema
//! editor, the listings table, the CSV import mapping, the API key example, match rules and
//! the member form.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{Api, ApiError, null_as_default};
use crate::format;
use crate::i18n::{Catalogue, Locale};

/// The selection set of a `ListingField`.
pub const LISTING_FIELD_SELECTION: &str =
    "name labelJa labelEn fieldType required options { value labelJa labelEn }";

/// The GraphQL enum `ListingFieldType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldType {
    #[default]
    Text,
    Number,
    Enum,
    Tags,
    Date,
    GeoPoint,
}

impl FieldType {
    /// Every type, in the order the editor offers them.
    pub const ALL: [FieldType; 6] = [
        FieldType::Text,
        FieldType::Number,
        FieldType::Enum,
        FieldType::Tags,
        FieldType::Date,
        FieldType::GeoPoint,
    ];

    /// Returns the GraphQL enum value, also used as the `<option>` value in the editor.
    pub fn graphql_name(self) -> &'static str {
        match self {
            FieldType::Text => "TEXT",
            FieldType::Number => "NUMBER",
            FieldType::Enum => "ENUM",
            FieldType::Tags => "TAGS",
            FieldType::Date => "DATE",
            FieldType::GeoPoint => "GEO_POINT",
        }
    }

    /// Parses a GraphQL enum value.
    pub fn from_graphql_name(name: &str) -> Option<Self> {
        FieldType::ALL
            .into_iter()
            .find(|field_type| field_type.graphql_name() == name)
    }

    /// Returns the type's name in the UI.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            FieldType::Text => t.field_type_text,
            FieldType::Number => t.field_type_number,
            FieldType::Enum => t.field_type_enum,
            FieldType::Tags => t.field_type_tags,
            FieldType::Date => t.field_type_date,
            FieldType::GeoPoint => t.field_type_geo_point,
        }
    }
}

/// One choice of an `ENUM` field.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldOption {
    /// The value stored in listings.
    pub value: String,
    pub label_ja: String,
    pub label_en: String,
}

/// One field of the listing schema; also the shape of `ListingFieldInput`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingField {
    /// The key in each listing's `fields` object.
    pub name: String,
    pub label_ja: String,
    pub label_en: String,
    pub field_type: FieldType,
    pub required: bool,
    /// Choices; only `ENUM` fields have any.
    #[serde(default, deserialize_with = "null_as_default")]
    pub options: Vec<FieldOption>,
}

/// Picks the label for `locale`, falling back to the other language and then to `fallback`.
fn pick_label<'a>(ja: &'a str, en: &'a str, fallback: &'a str, locale: Locale) -> &'a str {
    let (first, second) = match locale {
        Locale::Ja => (ja, en),
        Locale::En => (en, ja),
    };
    [first, second]
        .into_iter()
        .find(|label| !label.trim().is_empty())
        .unwrap_or(fallback)
}

impl FieldOption {
    /// Returns the option's label in `locale`.
    pub fn label(&self, locale: Locale) -> &str {
        pick_label(&self.label_ja, &self.label_en, &self.value, locale)
    }
}

impl ListingField {
    /// Returns the field's label in `locale`.
    pub fn label(&self, locale: Locale) -> &str {
        pick_label(&self.label_ja, &self.label_en, &self.name, locale)
    }

    /// Formats a value of this field for a table cell. `ENUM` values show their option's label,
    /// numbers use the locale's digit grouping, and lists are joined with commas.
    pub fn display_value(&self, value: &Value, locale: Locale) -> String {
        match value {
            Value::Null => String::new(),
            Value::String(text) if self.field_type == FieldType::Enum => self
                .options
                .iter()
                .find(|option| option.value == *text)
                .map_or_else(|| text.clone(), |option| option.label(locale).to_owned()),
            Value::String(text) => text.clone(),
            Value::Number(number) => match number.as_f64() {
                Some(number) if self.field_type == FieldType::Number => {
                    format::number(number, locale)
                }
                _ => number.to_string(),
            },
            Value::Bool(flag) => flag.to_string(),
            Value::Array(items) => items
                .iter()
                .map(|item| self.display_value(item, locale))
                .collect::<Vec<_>>()
                .join(", "),
            // The server stores a `NUMBER` range as `{"min": .., "max": ..}`, either side optional.
            Value::Object(range) if self.field_type == FieldType::Number => {
                let side = |key: &str| {
                    range
                        .get(key)
                        .and_then(Value::as_f64)
                        .map(|number| format::number(number, locale))
                        .unwrap_or_default()
                };
                format!("{}～{}", side("min"), side("max"))
            }
            // The server stores a `GEO_POINT` as `{"lat": 35.68, "lon": 139.76}`.
            Value::Object(object) => {
                let coordinate = |keys: &[&str]| keys.iter().find_map(|key| object.get(*key));
                match (
                    coordinate(&["lat", "latitude"]),
                    coordinate(&["lon", "lng", "longitude"]),
                ) {
                    (Some(latitude), Some(longitude)) => format!("{latitude}, {longitude}"),
                    _ => value.to_string(),
                }
            }
        }
    }
}

/// A list of fields that the schema editor edits: the listing schema, or the profile fields
/// (the conditions members give), which have the same shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldSet {
    Listing,
    Profile,
}

impl FieldSet {
    /// Returns the query field that reads the list.
    fn query_field(self) -> &'static str {
        match self {
            FieldSet::Listing => "listingSchema",
            FieldSet::Profile => "profileFields",
        }
    }

    /// Returns the mutation field that replaces the list.
    fn mutation_field(self) -> &'static str {
        match self {
            FieldSet::Listing => "setListingSchema",
            FieldSet::Profile => "setProfileFields",
        }
    }
}

/// The response of [`fetch_fields`] and [`save_fields`], whose field is aliased to `fields`.
#[derive(Deserialize)]
struct FieldsData {
    fields: Vec<ListingField>,
}

/// Fetches the fields of `set`, in display order.
pub async fn fetch_fields(api: Api, set: FieldSet) -> Result<Vec<ListingField>, ApiError> {
    let query = format!(
        "query Fields {{ fields: {field} {{ {LISTING_FIELD_SELECTION} }} }}",
        field = set.query_field()
    );
    let data: FieldsData = api.request(&query, json!({})).await?;
    Ok(data.fields)
}

/// Replaces the fields of `set` with `fields` and returns them as saved.
pub async fn save_fields(
    api: Api,
    set: FieldSet,
    fields: Vec<ListingField>,
) -> Result<Vec<ListingField>, ApiError> {
    let query = format!(
        "mutation SetFields($fields: [ListingFieldInput!]!) \
         {{ fields: {mutation}(fields: $fields) {{ {LISTING_FIELD_SELECTION} }} }}",
        mutation = set.mutation_field()
    );
    let data: FieldsData = api.request(&query, json!({ "fields": fields })).await?;
    Ok(data.fields)
}

/// Fetches the tenant's listing schema.
pub async fn fetch_listing_schema(api: Api) -> Result<Vec<ListingField>, ApiError> {
    fetch_fields(api, FieldSet::Listing).await
}

/// Fetches the tenant's profile fields.
pub async fn fetch_profile_fields(api: Api) -> Result<Vec<ListingField>, ApiError> {
    fetch_fields(api, FieldSet::Profile).await
}

/// Returns the field named `name`.
pub fn find_field<'a>(fields: &'a [ListingField], name: &str) -> Option<&'a ListingField> {
    fields.iter().find(|field| field.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ward() -> ListingField {
        ListingField {
            name: "ward".to_owned(),
            label_ja: "区".to_owned(),
            label_en: String::new(),
            field_type: FieldType::Enum,
            required: false,
            options: vec![FieldOption {
                value: "shinjuku".to_owned(),
                label_ja: "新宿区".to_owned(),
                label_en: "Shinjuku".to_owned(),
            }],
        }
    }

    #[test]
    fn label_falls_back_to_other_language() {
        assert_eq!(ward().label(Locale::Ja), "区");
        assert_eq!(ward().label(Locale::En), "区");
    }

    #[test]
    fn enum_value_shows_option_label() {
        let field = ward();
        assert_eq!(
            field.display_value(&json!("shinjuku"), Locale::En),
            "Shinjuku"
        );
        assert_eq!(
            field.display_value(&json!("shinjuku"), Locale::Ja),
            "新宿区"
        );
        assert_eq!(field.display_value(&json!("chuo"), Locale::Ja), "chuo");
    }

    #[test]
    fn lists_and_points_are_joined() {
        let mut field = ward();
        field.field_type = FieldType::Tags;
        assert_eq!(field.display_value(&json!(["a", "b"]), Locale::Ja), "a, b");
        field.field_type = FieldType::GeoPoint;
        let point = json!({"lat": 35.68, "lon": 139.76});
        assert_eq!(field.display_value(&point, Locale::Ja), "35.68, 139.76");
        assert_eq!(field.display_value(&Value::Null, Locale::Ja), "");
    }

    #[test]
    fn schema_decodes_null_options() {
        let field: ListingField = serde_json::from_value(json!({
            "name": "title", "labelJa": "物件名", "labelEn": "Title",
            "fieldType": "GEO_POINT", "required": true, "options": null
        }))
        .unwrap_or_else(|error| panic!("field failed to decode: {error}"));
        assert_eq!(field.field_type, FieldType::GeoPoint);
        assert!(field.options.is_empty());
    }

    #[test]
    fn field_type_names_round_trip() {
        for field_type in FieldType::ALL {
            assert_eq!(
                FieldType::from_graphql_name(field_type.graphql_name()),
                Some(field_type)
            );
        }
    }
}
