//! Turning the values a tenant sends (JSON from the API, strings from CSV) into typed, normalised
//! values that match the schema.
//!
//! Policy: an empty string or `null` is a missing value. A missing value is not stored, is an
//! error only for required fields, and (for matching) never satisfies a condition on that field.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{
    numbers::{Amount, parse_amount, parse_number},
    schema::{FieldType, ListingField, fold},
};
use crate::{Problem, ValidationError};

/// The maximum number of characters in a text value.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// The maximum number of tags in one value.
pub const MAX_TAGS: usize = 100;

/// Normalised values keyed by field name. A `BTreeMap`, so serialisation order is stable and
/// equal values hash equally.
pub type Values = BTreeMap<String, Value>;

/// Validates every given value against the schema and collects all problems of the record.
pub fn normalize(
    schema: &[ListingField],
    given: &serde_json::Map<String, Value>,
) -> Result<Values, Vec<ValidationError>> {
    normalize_with(
        schema,
        given,
        Problem::UnknownField,
        is_missing,
        normalize_value,
    )
}

/// Validates each given value with `normalize_value`, reporting keys outside `fields` with
/// `unknown` and values that `missing` rejects as absent. Shared by listings and member profiles.
pub(crate) fn normalize_with(
    fields: &[ListingField],
    given: &serde_json::Map<String, Value>,
    unknown: Problem,
    missing: fn(&Value) -> bool,
    normalize_value: fn(&ListingField, &Value) -> Result<Value, Problem>,
) -> Result<Values, Vec<ValidationError>> {
    let mut values = Values::new();
    let mut errors = Vec::new();

    for name in given.keys() {
        if !fields.iter().any(|field| &field.name == name) {
            errors.push(ValidationError::new(name.clone(), None, unknown.clone()));
        }
    }
    for field in fields {
        let raw = given.get(&field.name).filter(|value| !missing(value));
        match raw {
            None if field.required => errors.push(ValidationError::new(
                field.name.clone(),
                None,
                Problem::Required,
            )),
            None => {}
            Some(raw) => match normalize_value(field, raw) {
                Ok(value) => {
                    values.insert(field.name.clone(), value);
                }
                Err(problem) => errors.push(ValidationError::new(
                    field.name.clone(),
                    Some(&display(raw)),
                    problem,
                )),
            },
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// The text that search matches: every value, folded, one per line. Numbers appear in their
/// plain form (`4208`) and ranges as both ends; coordinates are left out.
pub fn search_text(values: &Values) -> String {
    fn collect(value: &Value, lines: &mut Vec<String>) {
        match value {
            Value::String(text) => lines.push(fold(text)),
            Value::Number(number) => lines.push(number.to_string()),
            Value::Array(items) => items.iter().for_each(|item| collect(item, lines)),
            Value::Object(object) if object.contains_key("lat") => {}
            Value::Object(object) => object.values().for_each(|item| collect(item, lines)),
            Value::Bool(_) | Value::Null => {}
        }
    }
    let mut lines = Vec::new();
    values.values().for_each(|value| collect(value, &mut lines));
    lines.join("\n")
}

pub(crate) fn is_missing(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

/// The value as the user wrote it, for error messages.
pub(crate) fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn normalize_value(field: &ListingField, raw: &Value) -> Result<Value, Problem> {
    match field.field_type {
        FieldType::Text => normalize_text(raw),
        FieldType::Number => normalize_number(raw),
        FieldType::Enum => normalize_enum(field, raw),
        FieldType::Tags => normalize_tags(raw),
        FieldType::Date => normalize_date(raw),
        FieldType::GeoPoint => normalize_geo_point(raw),
    }
}

pub(crate) fn normalize_text(raw: &Value) -> Result<Value, Problem> {
    let text = match raw {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        _ => return Err(Problem::NotText),
    };
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Problem::TooLong {
            max: MAX_TEXT_CHARS,
        });
    }
    Ok(Value::String(text))
}

/// Reads a number, or a range given as text (`5.5万円～6.75万円`) or as `{"min": .., "max": ..}`.
/// A range is stored as `{"min": .., "max": ..}` with a missing side left out.
pub(crate) fn normalize_number(raw: &Value) -> Result<Value, Problem> {
    let amount = match raw {
        Value::Number(number) => number.as_f64().map(Amount::Exact),
        Value::String(text) => parse_amount(text),
        Value::Object(object) => range_from_object(object),
        _ => None,
    };
    match amount.ok_or(Problem::NotANumber)? {
        Amount::Exact(value) => Ok(number_value(value)),
        Amount::Range { min, max } => {
            let mut range = serde_json::Map::new();
            if let Some(min) = min {
                range.insert("min".to_owned(), number_value(min));
            }
            if let Some(max) = max {
                range.insert("max".to_owned(), number_value(max));
            }
            Ok(Value::Object(range))
        }
    }
}

fn range_from_object(object: &serde_json::Map<String, Value>) -> Option<Amount> {
    let side = |key: &str| -> Result<Option<f64>, ()> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => number.as_f64().map(Some).ok_or(()),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => parse_number(text).map(Some).ok_or(()),
            Some(_) => Err(()),
        }
    };
    let (min, max) = (side("min").ok()?, side("max").ok()?);
    let unknown_keys = object.keys().any(|key| key != "min" && key != "max");
    match (min, max) {
        _ if unknown_keys => None,
        (None, None) => None,
        (Some(min), Some(max)) if min > max => None,
        (min, max) => Some(Amount::Range { min, max }),
    }
}

/// Whole numbers are stored as integers so that `100000` does not come back as `100000.0`.
fn number_value(number: f64) -> Value {
    const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0; // 2^53
    if number.fract() == 0.0 && number.abs() < MAX_EXACT_INTEGER {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "checked to be a whole number below 2^53"
        )]
        let integer = number as i64;
        json!(integer)
    } else {
        json!(number)
    }
}

pub(crate) fn normalize_enum(field: &ListingField, raw: &Value) -> Result<Value, Problem> {
    let text = match raw {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => String::new(),
    };
    field
        .find_option(&text)
        .map(|option| Value::String(option.value.clone()))
        .ok_or_else(|| Problem::UnknownOption {
            allowed: field
                .options
                .iter()
                .map(|o| (o.value.clone(), o.label_ja.clone(), o.label_en.clone()))
                .collect(),
        })
}

pub(crate) fn normalize_tags(raw: &Value) -> Result<Value, Problem> {
    let items: Vec<String> = match raw {
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                Value::Number(number) => Ok(number.to_string()),
                _ => Err(Problem::NotTags),
            })
            .collect::<Result<_, _>>()?,
        // Feeds separate tags with ASCII or Japanese commas, or vertical bars.
        Value::String(text) => text
            .split([',', '、', '，', '|'])
            .map(str::to_owned)
            .collect(),
        _ => return Err(Problem::NotTags),
    };
    let mut tags: Vec<String> = Vec::new();
    for tag in items.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if !tags.iter().any(|existing| existing == tag) {
            tags.push(tag.to_owned());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(Problem::TooManyRecords { max: MAX_TAGS });
    }
    Ok(json!(tags))
}

pub(crate) fn normalize_date(raw: &Value) -> Result<Value, Problem> {
    let Value::String(text) = raw else {
        return Err(Problem::NotADate);
    };
    parse_date(text)
        .map(|date| Value::String(date.format("%Y-%m-%d").to_string()))
        .ok_or(Problem::NotADate)
}

/// Reads `2024-04-01`, `2024/4/1`, `2024年4月1日`, an RFC 3339 timestamp (its date part) and the
/// day-first `01/04/2024` that exports from European tools use. Month-first dates are not read.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Ok(timestamp) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(timestamp.date_naive());
    }
    let formats = [
        "%Y-%m-%d",
        "%Y/%m/%d",
        "%Y年%m月%d日",
        "%d/%m/%Y",
        "%Y.%m.%d",
    ];
    formats
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
}

pub(crate) fn normalize_geo_point(raw: &Value) -> Result<Value, Problem> {
    let pair = match raw {
        Value::Object(object) => {
            let pick = |keys: [&str; 2]| {
                keys.iter()
                    .find_map(|k| object.get(*k))
                    .and_then(coordinate)
            };
            pick(["lat", "latitude"]).zip(pick(["lon", "longitude"]))
        }
        Value::Array(items) if items.len() == 2 => coordinate(&items[0]).zip(coordinate(&items[1])),
        Value::String(text) => {
            let mut parts = text.split([',', ' ']).filter(|p| !p.is_empty());
            let pair = (
                parts.next().and_then(parse_number),
                parts.next().and_then(parse_number),
            );
            if parts.next().is_some() {
                None
            } else {
                pair.0.zip(pair.1)
            }
        }
        _ => None,
    };
    match pair {
        Some((lat, lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => {
            Ok(json!({ "lat": lat, "lon": lon }))
        }
        _ => Err(Problem::NotAGeoPoint),
    }
}

fn coordinate(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => parse_number(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listings::schema::EnumOption;

    fn field(name: &str, field_type: FieldType, required: bool) -> ListingField {
        ListingField {
            name: name.to_owned(),
            field_type,
            label_ja: name.to_owned(),
            label_en: name.to_owned(),
            required,
            options: if field_type == FieldType::Enum {
                vec![EnumOption {
                    value: "Shinjuku Ku".into(),
                    label_ja: "新宿区".into(),
                    label_en: "Shinjuku".into(),
                }]
            } else {
                vec![]
            },
        }
    }

    fn schema() -> Vec<ListingField> {
        vec![
            field("name", FieldType::Text, true),
            field("price", FieldType::Number, false),
            field("ward", FieldType::Enum, false),
            field("tags", FieldType::Tags, false),
            field("last_review", FieldType::Date, false),
            field("location", FieldType::GeoPoint, false),
        ]
    }

    fn given(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn values_of_every_type_are_normalised() {
        let values = normalize(
            &schema(),
            &given(json!({
                "name": "  Oshiage Holiday Apartment ",
                "price": "10万円",
                "ward": "新宿区",
                "tags": "駅近、ペット可, 駅近",
                "last_review": "28/07/2018",
                "location": "35.67152,139.71203",
            })),
        )
        .unwrap();
        assert_eq!(values["name"], json!("Oshiage Holiday Apartment"));
        assert_eq!(values["price"], json!(100000));
        assert_eq!(values["ward"], json!("Shinjuku Ku"));
        assert_eq!(values["tags"], json!(["駅近", "ペット可"]));
        assert_eq!(values["last_review"], json!("2018-07-28"));
        assert_eq!(
            values["location"],
            json!({"lat": 35.67152, "lon": 139.71203})
        );
    }

    #[test]
    fn number_ranges_are_stored_with_known_sides_only() {
        let values =
            normalize(&schema(), &given(json!({"name": "x", "price": "12万円～"}))).unwrap();
        assert_eq!(values["price"], json!({"min": 120000}));
        let values = normalize(
            &schema(),
            &given(json!({"name": "x", "price": {"min": "5.5万", "max": 67500}})),
        )
        .unwrap();
        assert_eq!(values["price"], json!({"min": 55000, "max": 67500}));
        let errors = normalize(
            &schema(),
            &given(json!({"name": "x", "price": {"min": 9, "max": 1}})),
        )
        .unwrap_err();
        assert_eq!(errors[0].problem, Problem::NotANumber);
    }

    #[test]
    fn missing_optional_values_are_left_out() {
        let values = normalize(
            &schema(),
            &given(json!({"name": "x", "price": "", "ward": null})),
        )
        .unwrap();
        assert!(!values.contains_key("price"));
        assert!(!values.contains_key("ward"));
    }

    #[test]
    fn every_problem_of_a_record_is_reported_with_field_and_value() {
        let errors = normalize(
            &schema(),
            &given(
                json!({"price": "高い", "ward": "渋谷区", "colour": "red", "location": "north"}),
            ),
        )
        .unwrap_err();
        let by_field = |name: &str| {
            errors
                .iter()
                .find(|e| e.field == name)
                .map(|e| (e.value.clone(), e.problem.clone()))
        };
        assert_eq!(by_field("name"), Some((None, Problem::Required)));
        assert_eq!(
            by_field("price"),
            Some((Some("高い".into()), Problem::NotANumber))
        );
        assert!(matches!(
            by_field("ward"),
            Some((Some(_), Problem::UnknownOption { .. }))
        ));
        let ward_error = errors.iter().find(|e| e.field == "ward").unwrap();
        let message = ward_error.message(crate::Locale::Ja);
        assert!(message.contains("Shinjuku Ku (新宿区)"), "{message}");
        assert_eq!(by_field("colour"), Some((None, Problem::UnknownField)));
        assert_eq!(
            by_field("location"),
            Some((Some("north".into()), Problem::NotAGeoPoint))
        );
    }

    #[test]
    fn out_of_range_coordinates_are_rejected() {
        let errors = normalize(
            &schema(),
            &given(json!({"name": "x", "location": {"lat": 95, "lon": 0}})),
        )
        .unwrap_err();
        assert_eq!(errors[0].problem, Problem::NotAGeoPoint);
    }

    #[test]
    fn dates_in_japanese_and_iso_forms_parse() {
        for text in [
            "2024-04-01",
            "2024/4/1",
            "2024年4月1日",
            "01/04/2024",
            "2024-04-01T09:00:00+09:00",
        ] {
            assert_eq!(
                parse_date(text),
                NaiveDate::from_ymd_opt(2024, 4, 1),
                "{text}"
            );
        }
        assert_eq!(parse_date("April 1"), None);
    }
}
