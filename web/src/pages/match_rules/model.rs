//! Match rules, their operators, the "notify on change" setting and the requests that read and
//! change them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{Api, ApiError, null_as_default, string_literal};
use crate::i18n::Catalogue;
use crate::listing_schema::FieldType;

const RULE_SELECTION: &str = "id name enabled clauses { listingField operator profileField value }";

/// The GraphQL enum `MatchOperator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    InSet,
    NotInSet,
    AtMost,
    AtLeast,
    Overlaps,
    ContainsKeyword,
    WithinDistance,
    OnOrAfter,
    OnOrBefore,
}

impl Operator {
    pub const ALL: [Operator; 9] = [
        Operator::InSet,
        Operator::NotInSet,
        Operator::AtMost,
        Operator::AtLeast,
        Operator::Overlaps,
        Operator::ContainsKeyword,
        Operator::WithinDistance,
        Operator::OnOrAfter,
        Operator::OnOrBefore,
    ];

    /// Returns the operators that can compare a listing field of `field_type`. The server
    /// rejects the others (`OPERATOR_NOT_ALLOWED`).
    pub fn for_field_type(field_type: FieldType) -> &'static [Operator] {
        use Operator::*;
        match field_type {
            FieldType::Text | FieldType::Tags => &[InSet, NotInSet, ContainsKeyword],
            FieldType::Enum => &[InSet, NotInSet],
            FieldType::Number => &[AtMost, AtLeast, Overlaps],
            FieldType::Date => &[OnOrAfter, OnOrBefore],
            FieldType::GeoPoint => &[WithinDistance],
        }
    }

    /// Returns the profile field types that can give this operator's operand.
    pub fn operand_types(self) -> &'static [FieldType] {
        match self {
            Operator::InSet | Operator::NotInSet => {
                &[FieldType::Enum, FieldType::Tags, FieldType::Text]
            }
            Operator::ContainsKeyword => &[FieldType::Tags, FieldType::Text],
            Operator::AtMost | Operator::AtLeast | Operator::Overlaps => &[FieldType::Number],
            Operator::WithinDistance => &[FieldType::GeoPoint],
            Operator::OnOrAfter | Operator::OnOrBefore => &[FieldType::Date],
        }
    }

    /// Returns whether the operand is a set of values, which an `ENUM` field picks from its
    /// options.
    pub fn takes_set(self) -> bool {
        matches!(
            self,
            Operator::InSet | Operator::NotInSet | Operator::ContainsKeyword
        )
    }

    /// Returns the GraphQL enum value, also used as the `<option>` value.
    pub fn graphql_name(self) -> &'static str {
        match self {
            Operator::InSet => "IN_SET",
            Operator::NotInSet => "NOT_IN_SET",
            Operator::AtMost => "AT_MOST",
            Operator::AtLeast => "AT_LEAST",
            Operator::Overlaps => "OVERLAPS",
            Operator::ContainsKeyword => "CONTAINS_KEYWORD",
            Operator::WithinDistance => "WITHIN_DISTANCE",
            Operator::OnOrAfter => "ON_OR_AFTER",
            Operator::OnOrBefore => "ON_OR_BEFORE",
        }
    }

    /// Parses a GraphQL enum value.
    pub fn from_graphql_name(name: &str) -> Option<Self> {
        Operator::ALL
            .into_iter()
            .find(|operator| operator.graphql_name() == name)
    }

    /// Returns the operator's name in the UI, such as 以下 or "at most".
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            Operator::InSet => t.operator_in_set,
            Operator::NotInSet => t.operator_not_in_set,
            Operator::AtMost => t.operator_at_most,
            Operator::AtLeast => t.operator_at_least,
            Operator::Overlaps => t.operator_overlaps,
            Operator::ContainsKeyword => t.operator_contains_keyword,
            Operator::WithinDistance => t.operator_within_distance,
            Operator::OnOrAfter => t.operator_on_or_after,
            Operator::OnOrBefore => t.operator_on_or_before,
        }
    }

    /// Returns the placeholder of a constant operand, which shows the forms the server reads.
    pub fn value_placeholder(self, t: &Catalogue) -> &'static str {
        match self {
            Operator::InSet | Operator::NotInSet | Operator::ContainsKeyword => {
                t.rule_value_placeholder_set
            }
            Operator::AtMost | Operator::AtLeast => t.rule_value_placeholder_number,
            Operator::Overlaps => t.rule_value_placeholder_range,
            Operator::WithinDistance => t.rule_value_placeholder_circle,
            Operator::OnOrAfter | Operator::OnOrBefore => t.rule_value_placeholder_date,
        }
    }
}

/// One clause of a rule: `MatchClause` as read, `MatchClauseInput` as sent. Exactly one of
/// `profile_field` and `value` is set.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchClause {
    pub listing_field: String,
    pub operator: Operator,
    #[serde(default)]
    pub profile_field: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
}

/// A stored rule.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchRule {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub clauses: Vec<MatchClause>,
}

/// The `MatchRuleInput` of `createMatchRule` and `updateMatchRule`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInput {
    pub name: String,
    pub enabled: bool,
    pub clauses: Vec<MatchClause>,
}

/// Fetches the rules in the order they were created.
pub async fn fetch_match_rules(api: Api) -> Result<Vec<MatchRule>, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        match_rules: Vec<MatchRule>,
    }
    let query = format!("query MatchRules {{ matchRules {{ {RULE_SELECTION} }} }}");
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.match_rules)
}

/// Creates a rule, or replaces rule `id` when it is given, and returns it as stored.
pub async fn save_match_rule(
    api: Api,
    id: Option<String>,
    rule: RuleInput,
) -> Result<MatchRule, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        rule: MatchRule,
    }
    let query = match id {
        Some(id) => format!(
            "mutation UpdateMatchRule($rule: MatchRuleInput!) \
             {{ rule: updateMatchRule(id: {id}, rule: $rule) {{ {RULE_SELECTION} }} }}",
            id = string_literal(&id)
        ),
        None => format!(
            "mutation CreateMatchRule($rule: MatchRuleInput!) \
             {{ rule: createMatchRule(rule: $rule) {{ {RULE_SELECTION} }} }}"
        ),
    };
    let data: Data = api.request(&query, json!({ "rule": rule })).await?;
    Ok(data.rule)
}

/// Deletes rule `id`.
pub async fn delete_match_rule(api: Api, id: &str) -> Result<(), ApiError> {
    let query = format!(
        "mutation DeleteMatchRule {{ deleteMatchRule(id: {id}) }}",
        id = string_literal(id)
    );
    api.request::<Value>(&query, json!({})).await?;
    Ok(())
}

/// The `notifyOnChange` field of `Tenant`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotifySetting {
    notify_on_change: bool,
}

/// Fetches the tenant's "notify on change" setting.
pub async fn fetch_notify_on_change(api: Api) -> Result<bool, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        tenant: NotifySetting,
    }
    let data: Data = api
        .request(
            "query NotifyOnChange { tenant { notifyOnChange } }",
            json!({}),
        )
        .await?;
    Ok(data.tenant.notify_on_change)
}

/// Turns "notify on change" on or off and returns the stored setting.
pub async fn set_notify_on_change(api: Api, enabled: bool) -> Result<bool, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        set_notify_on_change: NotifySetting,
    }
    let query = format!(
        "mutation SetNotifyOnChange {{ setNotifyOnChange(enabled: {enabled}) {{ notifyOnChange }} }}"
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.set_notify_on_change.notify_on_change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    #[test]
    fn operators_per_field_type() {
        use Operator::*;
        let cases = [
            (FieldType::Text, vec![InSet, NotInSet, ContainsKeyword]),
            (FieldType::Enum, vec![InSet, NotInSet]),
            (FieldType::Tags, vec![InSet, NotInSet, ContainsKeyword]),
            (FieldType::Number, vec![AtMost, AtLeast, Overlaps]),
            (FieldType::Date, vec![OnOrAfter, OnOrBefore]),
            (FieldType::GeoPoint, vec![WithinDistance]),
        ];
        for (field_type, expected) in cases {
            assert_eq!(
                Operator::for_field_type(field_type),
                expected.as_slice(),
                "{field_type:?}"
            );
        }
    }

    #[test]
    fn every_operator_fits_some_field_type() {
        for operator in Operator::ALL {
            assert!(
                FieldType::ALL
                    .into_iter()
                    .any(|field_type| Operator::for_field_type(field_type).contains(&operator)),
                "{operator:?}"
            );
        }
    }

    #[test]
    fn operator_names_round_trip() {
        for operator in Operator::ALL {
            assert_eq!(
                Operator::from_graphql_name(operator.graphql_name()),
                Some(operator)
            );
            let json = serde_json::to_value(operator)
                .unwrap_or_else(|error| panic!("{operator:?} failed to encode: {error}"));
            assert_eq!(json, json!(operator.graphql_name()));
        }
    }

    #[test]
    fn operator_labels_read_plainly() {
        assert_eq!(Operator::AtMost.label(Locale::Ja.catalogue()), "以下");
        assert_eq!(Operator::AtMost.label(Locale::En.catalogue()), "at most");
    }

    #[test]
    fn rule_decodes_null_clause_parts() {
        let rule: MatchRule = serde_json::from_value(json!({
            "id": "7", "name": "予算", "enabled": true,
            "clauses": [{"listingField": "rent", "operator": "AT_MOST",
                         "profileField": "budget", "value": null}]
        }))
        .unwrap_or_else(|error| panic!("rule failed to decode: {error}"));
        assert_eq!(rule.clauses[0].operator, Operator::AtMost);
        assert_eq!(rule.clauses[0].profile_field.as_deref(), Some("budget"));
        assert_eq!(rule.clauses[0].value, None);
    }
}
