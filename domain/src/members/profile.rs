//! A member's profile: the values they give for the tenant's profile fields, normalised and
//! stored as JSON, and read back as the [`MemberProfile`] that matching compares.
//!
//! A choice field takes several options (the wards a member would live in); a tags field takes
//! keywords; a number field takes one number or a range (`8万～10万`); a geo point takes a
//! centre and a radius in kilometres. A field left empty is not stored, and rules that use it do
//! not apply to the member.

use serde_json::{Map, Value, json};

use super::profile_fields::ProfileField;
use crate::{
    Problem, ValidationError,
    listings::{
        numbers::parse_number,
        schema::FieldType,
        values::{
            self, is_missing, normalize_date, normalize_number, normalize_tags, normalize_text,
        },
    },
    matching::{ListingAmount, MemberProfile, ProfileValue},
};

/// Validates every given value and collects all problems. An empty list is a missing value.
pub fn normalize(
    fields: &[ProfileField],
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<ValidationError>> {
    let missing = |value: &Value| is_missing(value) || value.as_array().is_some_and(Vec::is_empty);
    values::normalize_with(
        fields,
        given,
        Problem::UnknownProfileField,
        missing,
        normalize_value,
    )
    .map(|values| values.into_iter().collect())
}

fn normalize_value(field: &ProfileField, raw: &Value) -> Result<Value, Problem> {
    match field.field_type {
        FieldType::Text => normalize_text(raw),
        FieldType::Number => normalize_number(raw),
        FieldType::Enum => normalize_choices(field, raw),
        FieldType::Tags => normalize_tags(raw),
        FieldType::Date => normalize_date(raw),
        FieldType::GeoPoint => normalize_circle(raw),
    }
}

/// Several options, given as an array or as text separated like tags (`新宿区|渋谷区`).
fn normalize_choices(field: &ProfileField, raw: &Value) -> Result<Value, Problem> {
    let items = normalize_tags(raw).map_err(|_| Problem::NotTags)?;
    let mut chosen: Vec<Value> = Vec::new();
    for item in items.as_array().into_iter().flatten() {
        let option = values::normalize_enum(field, item)?;
        if !chosen.contains(&option) {
            chosen.push(option);
        }
    }
    Ok(Value::Array(chosen))
}

/// A centre and a radius: `{"lat": .., "lon": .., "radiusKm": ..}` or `35.68,139.76,2`.
pub(crate) fn normalize_circle(raw: &Value) -> Result<Value, Problem> {
    let (centre, radius) = match raw {
        Value::Object(object) => {
            let radius = object
                .get("radiusKm")
                .or_else(|| object.get("radius_km"))
                .and_then(|value| match value {
                    Value::Number(number) => number.as_f64(),
                    Value::String(text) => parse_number(text),
                    _ => None,
                });
            (Value::Object(object.clone()), radius)
        }
        Value::String(text) => {
            let parts: Vec<&str> = text.split(',').map(str::trim).collect();
            if parts.len() != 3 {
                return Err(Problem::NotAGeoPoint);
            }
            (
                json!(format!("{},{}", parts[0], parts[1])),
                parse_number(parts[2]),
            )
        }
        _ => return Err(Problem::NotAGeoPoint),
    };
    let mut centre = match centre {
        Value::Object(mut object) => {
            object.remove("radiusKm");
            object.remove("radius_km");
            Value::Object(object)
        }
        other => other,
    };
    centre = values::normalize_geo_point(&centre)?;
    let radius = radius
        .filter(|r| *r > 0.0 && *r <= 1_000.0)
        .ok_or(Problem::NotAGeoPoint)?;
    centre["radiusKm"] = json!(radius);
    Ok(centre)
}

/// Reads stored values as matching compares them. Values of fields no longer declared, or that
/// no longer fit the field's type, are left out.
pub fn to_matching(fields: &[ProfileField], stored: &Map<String, Value>) -> MemberProfile {
    let mut profile = MemberProfile::with_capacity(stored.len());
    for field in fields {
        let Some(value) = stored.get(&field.name) else {
            continue;
        };
        let converted = match field.field_type {
            FieldType::Enum | FieldType::Tags => value
                .as_array()
                .map(|items| ProfileValue::set(items.iter().filter_map(Value::as_str))),
            FieldType::Text => value.as_str().map(|text| ProfileValue::set([text])),
            FieldType::Number => {
                ListingAmount::from_value(value).map(|amount| match (amount.min, amount.max) {
                    (Some(min), Some(max)) if value.is_number() || min == max => {
                        ProfileValue::Number(min)
                    }
                    (min, max) => ProfileValue::Range { min, max },
                })
            }
            FieldType::Date => crate::matching::listing_date(value).map(ProfileValue::Date),
            FieldType::GeoPoint => {
                let point = crate::matching::listing_point(value);
                let radius = value.get("radiusKm").and_then(Value::as_f64);
                point
                    .zip(radius)
                    .map(|((lat, lon), radius_km)| ProfileValue::Circle {
                        lat,
                        lon,
                        radius_km,
                    })
            }
        };
        if let Some(converted) = converted {
            profile.insert(field.name.clone(), converted);
        }
    }
    profile
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listings::EnumOption;

    fn field(name: &str, field_type: FieldType) -> ProfileField {
        ProfileField {
            name: name.to_owned(),
            field_type,
            label_ja: name.to_owned(),
            label_en: name.to_owned(),
            required: false,
            options: Vec::new(),
        }
    }

    fn fields() -> Vec<ProfileField> {
        let mut wards = field("wards", FieldType::Enum);
        wards.options = ["Shinjuku Ku", "Shibuya Ku"]
            .iter()
            .zip(["新宿区", "渋谷区"])
            .map(|(value, label)| EnumOption {
                value: (*value).to_owned(),
                label_ja: label.to_owned(),
                label_en: (*value).to_owned(),
            })
            .collect();
        vec![
            wards,
            field("max_rent", FieldType::Number),
            field("budget", FieldType::Number),
            field("keywords", FieldType::Tags),
            field("near", FieldType::GeoPoint),
        ]
    }

    #[test]
    fn choices_accept_labels_and_separated_text() {
        let given = json!({"wards": "新宿区|shibuya ku"});
        let stored = normalize(&fields(), given.as_object().unwrap()).unwrap();
        assert_eq!(stored["wards"], json!(["Shinjuku Ku", "Shibuya Ku"]));
    }

    #[test]
    fn profile_values_convert_for_matching() {
        let given = json!({
            "wards": ["新宿区"],
            "max_rent": "10万円",
            "budget": "8万～10万",
            "keywords": "ペット可、駅近",
            "near": "35.68,139.76,2",
        });
        let stored = normalize(&fields(), given.as_object().unwrap()).unwrap();
        let profile = to_matching(&fields(), &stored);
        assert_eq!(profile["wards"], ProfileValue::set(["Shinjuku Ku"]));
        assert_eq!(profile["max_rent"], ProfileValue::Number(100_000.0));
        assert_eq!(
            profile["budget"],
            ProfileValue::Range {
                min: Some(80_000.0),
                max: Some(100_000.0)
            }
        );
        assert_eq!(profile["keywords"], ProfileValue::set(["ペット可", "駅近"]));
        assert!(
            matches!(profile["near"], ProfileValue::Circle { radius_km, .. } if radius_km == 2.0)
        );
    }

    #[test]
    fn unknown_field_and_bad_option_are_reported() {
        let given = json!({"colour": "red", "wards": "大阪市"});
        let errors = normalize(&fields(), given.as_object().unwrap()).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.problem == Problem::UnknownProfileField)
        );
        assert!(
            errors
                .iter()
                .any(|e| matches!(e.problem, Problem::UnknownOption { .. })
                    && e.value.as_deref() == Some("大阪市"))
        );
    }
}
