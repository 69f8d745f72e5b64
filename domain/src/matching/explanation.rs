//! "Why did this member get this?": a rule's clauses with the values they compared, as JSON for
//! the outbox. It is evaluated when a mail is rendered or shown, from the rule, the member's
//! profile and the listing as they are then, so matching stores no explanation.

use serde_json::{Value, json};

use super::{ClauseOutcome, MemberProfile, Operand, Operator, ProfileValue, Rule, explain};

/// Serialises the rule's clauses with the values compared, for "why did I get this?".
pub fn to_json(rule: &Rule, profile: &MemberProfile, listing: &Value) -> Value {
    let clauses: Vec<Value> = explain(rule, profile, listing)
        .into_iter()
        .map(|(clause, outcome)| {
            let (listing_value, operand, held) = match outcome {
                ClauseOutcome::Satisfied {
                    listing_value,
                    operand,
                } => (listing_value, operand, true),
                ClauseOutcome::NotSatisfied {
                    listing_value,
                    operand,
                } => (listing_value, operand, false),
                ClauseOutcome::ListingValueMissing | ClauseOutcome::ProfileValueMissing => {
                    (Value::Null, ProfileValue::Set(Vec::new()), false)
                }
            };
            json!({
                "listingField": clause.listing_field,
                "operator": operator_name(clause.operator),
                "profileField": match &clause.operand {
                    Operand::Profile(name) => Value::String(name.clone()),
                    Operand::Constant(_) => Value::Null,
                },
                "listingValue": listing_value,
                "operand": operand_json(&operand),
                "held": held,
            })
        })
        .collect();
    Value::Array(clauses)
}

fn operator_name(operator: Operator) -> &'static str {
    use Operator::*;
    match operator {
        InSet => "in_set",
        NotInSet => "not_in_set",
        AtMost => "at_most",
        AtLeast => "at_least",
        Overlaps => "overlaps",
        ContainsKeyword => "contains_keyword",
        WithinDistance => "within_distance",
        OnOrAfter => "on_or_after",
        OnOrBefore => "on_or_before",
    }
}

fn operand_json(operand: &ProfileValue) -> Value {
    match operand {
        ProfileValue::Set(items) => json!(items),
        ProfileValue::Number(number) => json!(number),
        ProfileValue::Range { min, max } => json!({"min": min, "max": max}),
        ProfileValue::Circle {
            lat,
            lon,
            radius_km,
        } => {
            json!({"lat": lat, "lon": lon, "radiusKm": radius_km})
        }
        ProfileValue::Date(date) => json!(date.format("%Y-%m-%d").to_string()),
    }
}
