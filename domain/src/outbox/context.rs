//! The values a template can use (`tenant`, `member`, `listing`, `listings`, `why`...) and the
//! readable form of a match explanation.

use serde_json::{Value, json};

use crate::{
    Locale,
    entities::tenant,
    listings::{
        display::{format_amount, format_value, headline},
        schema::{FieldType, ListingField},
    },
};

/// Returns the word for a listing in mails.
pub fn listing_word(locale: Locale) -> &'static str {
    locale.pick("掲載情報", "listing")
}

/// Builds the common part of every template's context.
pub fn base(tenant: &tenant::Model, email: &str, locale: Locale) -> Value {
    json!({
        "tenant": {"name": tenant.name, "slug": tenant.slug},
        "member": {"email": email},
        "listing_word": listing_word(locale),
        "locale": locale.as_str(),
    })
}

/// Builds one listing as templates use it: `headline`, `external_id`, `url` (a field named `url`),
/// `fields` (label and formatted value of each field with a value, in schema order) and
/// `values` (formatted values by field name).
pub fn listing(
    schema: &[ListingField],
    values: &Value,
    external_id: &str,
    locale: Locale,
    update: bool,
) -> Value {
    let mut fields = Vec::new();
    let mut by_name = serde_json::Map::new();
    for field in schema {
        let Some(value) = values.get(&field.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let text = format_value(field, value, locale);
        if field.field_type != FieldType::GeoPoint {
            fields.push(json!({
                "name": field.name,
                "label": locale.pick(&field.label_ja, &field.label_en),
                "value": text,
            }));
        }
        by_name.insert(field.name.clone(), Value::String(text));
    }
    let url = values
        .get("url")
        .and_then(Value::as_str)
        .filter(|url| url.starts_with("https://") || url.starts_with("http://"));
    json!({
        "external_id": external_id,
        "headline": headline(schema, values, external_id),
        "url": url,
        "fields": fields,
        "values": by_name,
        "update": update,
    })
}

/// Turns a stored explanation into lines a member can read: the field's label, the listing's value and
/// the condition it met.
pub fn why(schema: &[ListingField], rule_name: &str, explanation: &Value, locale: Locale) -> Value {
    let clauses: Vec<Value> = explanation
        .as_array()
        .into_iter()
        .flatten()
        .map(|clause| {
            let name = clause["listingField"].as_str().unwrap_or_default();
            let field = schema.iter().find(|f| f.name == name);
            let label = field.map_or(name, |f| locale.pick(&f.label_ja, &f.label_en));
            let listing_value = match field {
                Some(field) => format_value(field, &clause["listingValue"], locale),
                None => clause["listingValue"].to_string(),
            };
            json!({
                "field": label,
                "listing_value": listing_value,
                "condition": condition(field, clause["operator"].as_str().unwrap_or_default(), &clause["operand"], locale),
                "held": clause["held"].as_bool().unwrap_or(false),
            })
        })
        .collect();
    json!({"rule": rule_name, "clauses": clauses})
}

/// Describes the condition a clause tested, in words: `100,000以下`, `at most 100,000`.
pub fn condition(
    field: Option<&ListingField>,
    operator: &str,
    operand: &Value,
    locale: Locale,
) -> String {
    let set = || -> String {
        let items: Vec<String> = operand
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|item| {
                field
                    .and_then(|f| {
                        f.options
                            .iter()
                            .find(|o| crate::listings::schema::fold(&o.value) == item)
                    })
                    .map_or_else(
                        || item.to_owned(),
                        |o| locale.pick(&o.label_ja, &o.label_en).to_owned(),
                    )
            })
            .collect();
        items.join(locale.pick("、", ", "))
    };
    let amount = || format_amount(operand);
    let text = |key: &str| operand.as_str().unwrap_or(key).to_owned();
    match (operator, locale) {
        ("in_set", Locale::Ja) => format!("{}のいずれか", set()),
        ("in_set", Locale::En) => format!("one of {}", set()),
        ("not_in_set", Locale::Ja) => format!("{}以外", set()),
        ("not_in_set", Locale::En) => format!("none of {}", set()),
        ("contains_keyword", Locale::Ja) => format!("「{}」を含む", set()),
        ("contains_keyword", Locale::En) => format!("contains \"{}\"", set()),
        ("at_most", Locale::Ja) => format!("{}以下", amount()),
        ("at_most", Locale::En) => format!("at most {}", amount()),
        ("at_least", Locale::Ja) => format!("{}以上", amount()),
        ("at_least", Locale::En) => format!("at least {}", amount()),
        ("overlaps", Locale::Ja) => format!("{}の範囲", amount()),
        ("overlaps", Locale::En) => format!("within {}", amount()),
        ("within_distance", _) => {
            field.map_or_else(|| operand.to_string(), |f| format_value(f, operand, locale))
        }
        ("on_or_after", Locale::Ja) => format!("{}以降", text("")),
        ("on_or_after", Locale::En) => format!("on or after {}", text("")),
        ("on_or_before", Locale::Ja) => format!("{}以前", text("")),
        ("on_or_before", Locale::En) => format!("on or before {}", text("")),
        _ => operand.to_string(),
    }
}
