//! The editable form of a match rule, and how it follows a change of field or operator.

use serde_json::Value;

use super::model::{MatchClause, MatchRule, Operator, RuleInput};
use crate::listing_schema::{FieldType, ListingField, find_field};
use crate::value_text::{editable_text, string_list};

/// The kind of operand a clause compares the listing value with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperandKind {
    /// Each member's value of a profile field.
    Profile,
    /// One value, the same for every member.
    Constant,
}

/// A clause being edited. The profile field, text and chosen options are all kept while the
/// operand kind changes, so switching back restores them; [`ClauseDraft::to_clause`] sends
/// only the one that applies.
#[derive(Clone, Debug, PartialEq)]
pub struct ClauseDraft {
    pub key: u64,
    pub listing_field: String,
    pub operator: Operator,
    pub operand: OperandKind,
    pub profile_field: String,
    /// A constant typed as text, in the forms the server reads (`10万`, `8万～10万`).
    pub value_text: String,
    /// The options of an `ENUM` listing field chosen as a constant set.
    pub choices: Vec<String>,
}

/// A rule being edited; `id` is `None` until it is created.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleDraft {
    pub id: Option<String>,
    pub name: String,
    pub enabled: bool,
    pub clauses: Vec<ClauseDraft>,
}

/// Returns the operators offered for the listing field `name`, or none for an unknown field.
pub fn operators_for(listing_fields: &[ListingField], name: &str) -> &'static [Operator] {
    find_field(listing_fields, name).map_or(&[], |field| Operator::for_field_type(field.field_type))
}

/// Returns the profile fields that can give the operand of `operator`.
pub fn profile_fields_for(
    profile_fields: &[ListingField],
    operator: Operator,
) -> Vec<ListingField> {
    profile_fields
        .iter()
        .filter(|field| operator.operand_types().contains(&field.field_type))
        .cloned()
        .collect()
}

impl ClauseDraft {
    /// Creates a clause on the first listing field, with its first operator, compared with the
    /// first profile field that fits or, when none fits, with a constant.
    pub fn new(key: u64, listing_fields: &[ListingField], profile_fields: &[ListingField]) -> Self {
        let mut clause = Self {
            key,
            listing_field: String::new(),
            operator: Operator::InSet,
            operand: OperandKind::Profile,
            profile_field: String::new(),
            value_text: String::new(),
            choices: Vec::new(),
        };
        if let Some(first) = listing_fields.first() {
            clause.set_listing_field(&first.name, listing_fields, profile_fields);
        }
        clause
    }

    /// Creates a draft of a stored clause.
    pub fn from_clause(key: u64, clause: &MatchClause, listing_fields: &[ListingField]) -> Self {
        let is_enum = find_field(listing_fields, &clause.listing_field)
            .is_some_and(|field| field.field_type == FieldType::Enum);
        let value = clause.value.as_ref().unwrap_or(&Value::Null);
        let (value_text, choices) = if is_enum && clause.operator.takes_set() {
            (String::new(), string_list(value))
        } else {
            (editable_text(value), Vec::new())
        };
        Self {
            key,
            listing_field: clause.listing_field.clone(),
            operator: clause.operator,
            operand: if clause.profile_field.is_some() {
                OperandKind::Profile
            } else {
                OperandKind::Constant
            },
            profile_field: clause.profile_field.clone().unwrap_or_default(),
            value_text,
            choices,
        }
    }

    /// Switches to the listing field `name`, keeping the operator when the field's type allows
    /// it and taking the first allowed one otherwise.
    pub fn set_listing_field(
        &mut self,
        name: &str,
        listing_fields: &[ListingField],
        profile_fields: &[ListingField],
    ) {
        let was_enum = self.is_enum_choice(listing_fields);
        self.listing_field = name.to_owned();
        let allowed = operators_for(listing_fields, name);
        if !allowed.contains(&self.operator)
            && let Some(first) = allowed.first()
        {
            self.operator = *first;
        }
        if was_enum || self.is_enum_choice(listing_fields) {
            self.choices.clear();
        }
        self.fit_operand(profile_fields);
    }

    /// Switches to `operator`, then keeps the profile field when it still fits.
    pub fn set_operator(&mut self, operator: Operator, profile_fields: &[ListingField]) {
        self.operator = operator;
        self.fit_operand(profile_fields);
    }

    /// Picks the first fitting profile field when the current one does not fit the operator,
    /// and a constant when no profile field fits.
    fn fit_operand(&mut self, profile_fields: &[ListingField]) {
        let fitting = profile_fields_for(profile_fields, self.operator);
        if fitting.iter().any(|field| field.name == self.profile_field) {
            return;
        }
        match fitting.first() {
            Some(first) => self.profile_field = first.name.clone(),
            None => {
                self.profile_field.clear();
                self.operand = OperandKind::Constant;
            }
        }
    }

    /// Returns whether the constant is picked from the options of an `ENUM` listing field.
    pub fn is_enum_choice(&self, listing_fields: &[ListingField]) -> bool {
        self.operator.takes_set()
            && find_field(listing_fields, &self.listing_field)
                .is_some_and(|field| field.field_type == FieldType::Enum)
    }

    /// Converts the draft to a `MatchClauseInput`. A constant goes as the typed text, trimmed,
    /// for the server to read, or as the list of chosen options.
    pub fn to_clause(&self, listing_fields: &[ListingField]) -> MatchClause {
        let (profile_field, value) = match self.operand {
            OperandKind::Profile => (Some(self.profile_field.clone()), None),
            OperandKind::Constant if self.is_enum_choice(listing_fields) => (
                None,
                Some(Value::Array(
                    self.choices.iter().cloned().map(Value::String).collect(),
                )),
            ),
            OperandKind::Constant => (None, Some(Value::String(self.value_text.trim().to_owned()))),
        };
        MatchClause {
            listing_field: self.listing_field.clone(),
            operator: self.operator,
            profile_field,
            value,
        }
    }
}

impl RuleDraft {
    /// Creates an enabled rule with one clause.
    pub fn new(key: u64, listing_fields: &[ListingField], profile_fields: &[ListingField]) -> Self {
        Self {
            id: None,
            name: String::new(),
            enabled: true,
            clauses: vec![ClauseDraft::new(key, listing_fields, profile_fields)],
        }
    }

    /// Creates a draft of a stored rule, taking a key for each clause from `new_key`.
    pub fn from_rule(
        rule: &MatchRule,
        listing_fields: &[ListingField],
        new_key: &mut impl FnMut() -> u64,
    ) -> Self {
        Self {
            id: Some(rule.id.clone()),
            name: rule.name.clone(),
            enabled: rule.enabled,
            clauses: rule
                .clauses
                .iter()
                .map(|clause| ClauseDraft::from_clause(new_key(), clause, listing_fields))
                .collect(),
        }
    }

    /// Converts the draft to a `MatchRuleInput`, with the name trimmed.
    pub fn to_input(&self, listing_fields: &[ListingField]) -> RuleInput {
        RuleInput {
            name: self.name.trim().to_owned(),
            enabled: self.enabled,
            clauses: self
                .clauses
                .iter()
                .map(|clause| clause.to_clause(listing_fields))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::listing_schema::FieldOption;

    fn field(name: &str, field_type: FieldType) -> ListingField {
        ListingField {
            name: name.to_owned(),
            label_ja: name.to_owned(),
            label_en: name.to_owned(),
            field_type,
            required: false,
            options: if field_type == FieldType::Enum {
                vec![FieldOption {
                    value: "shinjuku".to_owned(),
                    label_ja: "新宿区".to_owned(),
                    label_en: "Shinjuku".to_owned(),
                }]
            } else {
                Vec::new()
            },
        }
    }

    fn listing_fields() -> Vec<ListingField> {
        vec![
            field("rent", FieldType::Number),
            field("ward", FieldType::Enum),
            field("title", FieldType::Text),
        ]
    }

    #[test]
    fn new_clause_uses_fitting_profile_field() {
        let profile = [
            field("wards", FieldType::Enum),
            field("budget", FieldType::Number),
        ];
        let clause = ClauseDraft::new(1, &listing_fields(), &profile);
        assert_eq!(clause.listing_field, "rent");
        assert_eq!(clause.operator, Operator::AtMost);
        assert_eq!(clause.operand, OperandKind::Profile);
        assert_eq!(clause.profile_field, "budget");
    }

    #[test]
    fn new_clause_without_fitting_profile_field_uses_constant() {
        let clause = ClauseDraft::new(1, &listing_fields(), &[field("wards", FieldType::Enum)]);
        assert_eq!(clause.operand, OperandKind::Constant);
        assert_eq!(clause.profile_field, "");
    }

    #[test]
    fn changing_field_replaces_operator_it_does_not_allow() {
        let fields = listing_fields();
        let mut clause = ClauseDraft::new(1, &fields, &[]);
        clause.set_listing_field("ward", &fields, &[]);
        assert_eq!(clause.operator, Operator::InSet);
        clause.set_operator(Operator::NotInSet, &[]);
        clause.set_listing_field("title", &fields, &[]);
        assert_eq!(clause.operator, Operator::NotInSet);
    }

    #[test]
    fn constant_text_is_sent_trimmed() {
        let fields = listing_fields();
        let mut clause = ClauseDraft::new(1, &fields, &[]);
        clause.value_text = " 10万 ".to_owned();
        let sent = clause.to_clause(&fields);
        assert_eq!(sent.profile_field, None);
        assert_eq!(sent.value, Some(json!("10万")));
    }

    #[test]
    fn enum_constant_is_sent_as_chosen_options() {
        let fields = listing_fields();
        let mut clause = ClauseDraft::new(1, &fields, &[]);
        clause.set_listing_field("ward", &fields, &[]);
        clause.choices = vec!["shinjuku".to_owned()];
        assert_eq!(clause.to_clause(&fields).value, Some(json!(["shinjuku"])));
    }

    #[test]
    fn profile_operand_sends_no_value() {
        let fields = listing_fields();
        let profile = [field("budget", FieldType::Number)];
        let mut clause = ClauseDraft::new(1, &fields, &profile);
        clause.value_text = "ignored".to_owned();
        let sent = clause.to_clause(&fields);
        assert_eq!(sent.profile_field.as_deref(), Some("budget"));
        assert_eq!(sent.value, None);
    }

    #[test]
    fn stored_rule_round_trips_through_draft() {
        let fields = listing_fields();
        let rule = MatchRule {
            id: "3".to_owned(),
            name: "都心".to_owned(),
            enabled: false,
            clauses: vec![
                MatchClause {
                    listing_field: "ward".to_owned(),
                    operator: Operator::InSet,
                    profile_field: None,
                    value: Some(json!(["shinjuku"])),
                },
                MatchClause {
                    listing_field: "rent".to_owned(),
                    operator: Operator::Overlaps,
                    profile_field: None,
                    value: Some(json!({"min": 80000, "max": 100000})),
                },
            ],
        };
        let mut next = 0;
        let draft = RuleDraft::from_rule(&rule, &fields, &mut || {
            next += 1;
            next
        });
        assert_eq!(draft.clauses[0].choices, ["shinjuku"]);
        assert_eq!(draft.clauses[1].value_text, "80000～100000");
        let input = draft.to_input(&fields);
        assert!(!input.enabled);
        assert_eq!(input.clauses[0], rule.clauses[0]);
        assert_eq!(input.clauses[1].value, Some(json!("80000～100000")));
    }
}
