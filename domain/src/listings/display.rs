//! Listing values as people read them in mails and explanations: `98,000`, `55,000～67,500`,
//! option labels in the reader's language, tags joined.

use serde_json::Value;

use super::schema::{FieldType, ListingField};
use crate::{Locale, matching::ListingAmount};

/// Formats a number with thousands separators, dropping a zero fraction.
pub fn format_number(value: f64) -> String {
    let negative = value < 0.0;
    let magnitude = value.abs();
    let whole = magnitude.trunc();
    let fraction = magnitude - whole;
    let digits = format!("{whole:.0}");
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if fraction > 1e-9 {
        let decimals = format!("{fraction:.2}");
        grouped.push_str(decimals.trim_start_matches('0').trim_end_matches('0'));
    }
    if negative {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// Formats a stored number or range: `98,000`, `55,000～67,500`, `120,000～`, `～90,000`.
pub fn format_amount(value: &Value) -> String {
    match ListingAmount::from_value(value) {
        Some(ListingAmount {
            min: Some(min),
            max: Some(max),
        }) if min == max => format_number(min),
        Some(amount) => format!(
            "{}～{}",
            amount.min.map(format_number).unwrap_or_default(),
            amount.max.map(format_number).unwrap_or_default()
        ),
        None => String::new(),
    }
}

/// A stored value of `field` as text in `locale`.
pub fn format_value(field: &ListingField, value: &Value, locale: Locale) -> String {
    match field.field_type {
        FieldType::Number => format_amount(value),
        FieldType::Enum => {
            let label = |stored: &str| {
                field
                    .options
                    .iter()
                    .find(|o| o.value == stored)
                    .map_or_else(
                        || stored.to_owned(),
                        |o| locale.pick(&o.label_ja, &o.label_en).to_owned(),
                    )
            };
            match value {
                Value::String(stored) => label(stored),
                Value::Array(items) => {
                    join(items.iter().filter_map(Value::as_str).map(label), locale)
                }
                _ => String::new(),
            }
        }
        FieldType::Tags => match value {
            Value::Array(items) => join(
                items.iter().filter_map(Value::as_str).map(str::to_owned),
                locale,
            ),
            Value::String(text) => text.clone(),
            _ => String::new(),
        },
        FieldType::GeoPoint => {
            let lat = value.get("lat").and_then(Value::as_f64);
            let lon = value.get("lon").and_then(Value::as_f64);
            let radius = value.get("radiusKm").and_then(Value::as_f64);
            match (lat, lon, radius) {
                (Some(lat), Some(lon), Some(radius)) => match locale {
                    Locale::Ja => {
                        format!("{lat:.5}, {lon:.5} から {}km 以内", format_number(radius))
                    }
                    Locale::En => {
                        format!("within {} km of {lat:.5}, {lon:.5}", format_number(radius))
                    }
                },
                (Some(lat), Some(lon), None) => format!("{lat:.5}, {lon:.5}"),
                _ => String::new(),
            }
        }
        FieldType::Text | FieldType::Date => match value {
            Value::String(text) => text.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        },
    }
}

fn join(items: impl Iterator<Item = String>, locale: Locale) -> String {
    items.collect::<Vec<_>>().join(locale.pick("、", ", "))
}

/// The line that names a listing in a subject: the first text field with a value, else the
/// external id.
pub fn headline(schema: &[ListingField], values: &Value, external_id: &str) -> String {
    schema
        .iter()
        .filter(|field| field.field_type == FieldType::Text)
        .find_map(|field| values.get(&field.name).and_then(Value::as_str))
        .filter(|text| !text.trim().is_empty())
        .unwrap_or(external_id)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_and_ranges_read_as_written_in_listings() {
        assert_eq!(format_number(98_000.0), "98,000");
        assert_eq!(format_number(1_234_567.5), "1,234,567.5");
        assert_eq!(
            format_amount(&json!({"min": 55_000, "max": 67_500})),
            "55,000～67,500"
        );
        assert_eq!(format_amount(&json!({"min": 120_000})), "120,000～");
        assert_eq!(format_amount(&json!({"max": 90_000})), "～90,000");
    }
}
