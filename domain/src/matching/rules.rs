//! Stored match rules: a name, an on/off switch and clauses that compare a listing field with a
//! member's profile field or with a constant. Clauses are validated against the listing schema
//! and the profile fields when saved, and again when the matcher is built (fields may have been
//! removed since; a rule with such a clause is skipped and logged).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{Clause, Operand, Operator, ProfileValue, Rule, RuleId};
use crate::{
    Error, MatchRuleId, Problem, TenantId, ValidationError,
    entities::match_rule,
    error::{Resource, Result},
    listings::{
        numbers::parse_number,
        schema::{self, FieldType, ListingField},
        values,
    },
    members::{profile_fields, profile_fields::ProfileField},
    tenants,
};

/// The maximum number of rules of a tenant, and of clauses in one rule.
pub const MAX_RULES: usize = 100;
pub const MAX_CLAUSES: usize = 20;

/// One clause as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClauseSpec {
    pub listing_field: String,
    pub operator: OperatorName,
    /// Compare with the member's value of this profile field...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_field: Option<String>,
    /// ...or with this constant, normalised for the listing field's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// The operators by their stored names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorName {
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

impl OperatorName {
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorName::InSet => "in_set",
            OperatorName::NotInSet => "not_in_set",
            OperatorName::AtMost => "at_most",
            OperatorName::AtLeast => "at_least",
            OperatorName::Overlaps => "overlaps",
            OperatorName::ContainsKeyword => "contains_keyword",
            OperatorName::WithinDistance => "within_distance",
            OperatorName::OnOrAfter => "on_or_after",
            OperatorName::OnOrBefore => "on_or_before",
        }
    }

    pub fn operator(self) -> Operator {
        match self {
            OperatorName::InSet => Operator::InSet,
            OperatorName::NotInSet => Operator::NotInSet,
            OperatorName::AtMost => Operator::AtMost,
            OperatorName::AtLeast => Operator::AtLeast,
            OperatorName::Overlaps => Operator::Overlaps,
            OperatorName::ContainsKeyword => Operator::ContainsKeyword,
            OperatorName::WithinDistance => Operator::WithinDistance,
            OperatorName::OnOrAfter => Operator::OnOrAfter,
            OperatorName::OnOrBefore => Operator::OnOrBefore,
        }
    }

    /// Returns the operators that can compare a listing field of this type.
    pub fn allowed_for(field_type: FieldType) -> &'static [OperatorName] {
        use OperatorName::*;
        match field_type {
            FieldType::Text => &[InSet, NotInSet, ContainsKeyword],
            FieldType::Enum => &[InSet, NotInSet],
            FieldType::Tags => &[InSet, NotInSet, ContainsKeyword],
            FieldType::Number => &[AtMost, AtLeast, Overlaps],
            FieldType::Date => &[OnOrAfter, OnOrBefore],
            FieldType::GeoPoint => &[WithinDistance],
        }
    }

    /// Returns the profile field types that can give this operator's operand.
    fn operand_types(self) -> &'static [FieldType] {
        match self {
            OperatorName::InSet | OperatorName::NotInSet => {
                &[FieldType::Enum, FieldType::Tags, FieldType::Text]
            }
            OperatorName::ContainsKeyword => &[FieldType::Tags, FieldType::Text],
            OperatorName::AtMost | OperatorName::AtLeast | OperatorName::Overlaps => {
                &[FieldType::Number]
            }
            OperatorName::WithinDistance => &[FieldType::GeoPoint],
            OperatorName::OnOrAfter | OperatorName::OnOrBefore => &[FieldType::Date],
        }
    }
}

/// A stored rule.
#[derive(Debug, Clone)]
pub struct MatchRule {
    pub id: MatchRuleId,
    pub name: String,
    pub enabled: bool,
    pub clauses: Vec<ClauseSpec>,
}

/// The input for creating or replacing a rule.
#[derive(Debug, Clone)]
pub struct MatchRuleInput {
    pub name: String,
    pub enabled: bool,
    pub clauses: Vec<ClauseSpec>,
}

fn from_row(row: match_rule::Model) -> Result<MatchRule> {
    let clauses = serde_json::from_str(&row.clauses).map_err(|error| {
        anyhow::anyhow!("stored clauses of rule {} are malformed: {error}", row.id)
    })?;
    Ok(MatchRule {
        id: MatchRuleId(row.id),
        name: row.name,
        enabled: row.enabled,
        clauses,
    })
}

/// Lists the tenant's rules in the order they were created.
pub async fn list(db: &impl ConnectionTrait, tenant_id: TenantId) -> Result<Vec<MatchRule>> {
    match_rule::Entity::find()
        .filter(match_rule::Column::TenantId.eq(tenant_id.0))
        .order_by_asc(match_rule::Column::Position)
        .order_by_asc(match_rule::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}

/// Validates and stores a new rule.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    input: MatchRuleInput,
) -> Result<MatchRule> {
    let (name, clauses) = validate_input(db, tenant_id, input.name, input.clauses).await?;
    let tx = crate::db::begin_write(db).await?;
    let existing = list(&tx, tenant_id).await?;
    if existing.len() >= MAX_RULES {
        return Err(ValidationError::new(
            "rules",
            None,
            Problem::TooManyRecords { max: MAX_RULES },
        )
        .into());
    }
    let now = Utc::now();
    let row = match_rule::ActiveModel {
        id: Set(MatchRuleId::new().0),
        tenant_id: Set(tenant_id.0),
        name: Set(name),
        clauses: Set(serde_json::to_string(&clauses).map_err(anyhow::Error::new)?),
        enabled: Set(input.enabled),
        position: Set(i32::try_from(existing.len()).unwrap_or(i32::MAX)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&tx)
    .await?;
    tenants::bump_matching_revision(&tx, tenant_id).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, rule.id = %row.id, "match rule created");
    from_row(row)
}

/// Replaces a rule's name, switch and clauses. Listings already matched are not matched again.
pub async fn update(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    rule_id: MatchRuleId,
    input: MatchRuleInput,
) -> Result<MatchRule> {
    let (name, clauses) = validate_input(db, tenant_id, input.name, input.clauses).await?;
    let tx = crate::db::begin_write(db).await?;
    let row = match_rule::Entity::find()
        .filter(match_rule::Column::TenantId.eq(tenant_id.0))
        .filter(match_rule::Column::Id.eq(rule_id.0))
        .one(&tx)
        .await?
        .ok_or(Error::NotFound(Resource::MatchRule))?;
    let mut active: match_rule::ActiveModel = row.into();
    active.name = Set(name);
    active.enabled = Set(input.enabled);
    active.clauses = Set(serde_json::to_string(&clauses).map_err(anyhow::Error::new)?);
    active.updated_at = Set(Utc::now());
    let row = active.update(&tx).await?;
    tenants::bump_matching_revision(&tx, tenant_id).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, rule.id = %rule_id, "match rule updated");
    from_row(row)
}

/// Deletes a rule. Matches it made stay, with the rule's name.
pub async fn delete(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    rule_id: MatchRuleId,
) -> Result<()> {
    let tx = crate::db::begin_write(db).await?;
    let deleted = match_rule::Entity::delete_many()
        .filter(match_rule::Column::TenantId.eq(tenant_id.0))
        .filter(match_rule::Column::Id.eq(rule_id.0))
        .exec(&tx)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(Error::NotFound(Resource::MatchRule));
    }
    tenants::bump_matching_revision(&tx, tenant_id).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, rule.id = %rule_id, "match rule deleted");
    Ok(())
}

async fn validate_input(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    name: String,
    clauses: Vec<ClauseSpec>,
) -> Result<(String, Vec<ClauseSpec>)> {
    let name = name.trim().to_owned();
    if name.is_empty() {
        return Err(ValidationError::new("name", None, Problem::Required).into());
    }
    if name.chars().count() > 200 {
        return Err(
            ValidationError::new("name", Some(&name), Problem::TooLong { max: 200 }).into(),
        );
    }
    if clauses.is_empty() {
        return Err(ValidationError::new("clauses", None, Problem::Required).into());
    }
    if clauses.len() > MAX_CLAUSES {
        return Err(ValidationError::new(
            "clauses",
            None,
            Problem::TooManyRecords { max: MAX_CLAUSES },
        )
        .into());
    }
    let listing_fields = schema::get(db, tenant_id).await?;
    let profile_fields = profile_fields::get(db, tenant_id).await?;
    let clauses = clauses
        .into_iter()
        .map(|clause| validate_clause(&listing_fields, &profile_fields, clause))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name, clauses))
}

/// Checks one clause and normalises its constant.
pub fn validate_clause(
    listing_fields: &[ListingField],
    profile_fields: &[ProfileField],
    mut clause: ClauseSpec,
) -> Result<ClauseSpec, ValidationError> {
    let listing_field = listing_fields
        .iter()
        .find(|f| f.name == clause.listing_field)
        .ok_or_else(|| {
            ValidationError::new(clause.listing_field.clone(), None, Problem::UnknownField)
        })?;
    let allowed = OperatorName::allowed_for(listing_field.field_type);
    if !allowed.contains(&clause.operator) {
        return Err(ValidationError::new(
            listing_field.name.clone(),
            Some(clause.operator.as_str()),
            Problem::OperatorNotAllowed {
                allowed: allowed.iter().map(|o| o.as_str()).collect(),
            },
        ));
    }
    match (&clause.profile_field, &clause.value) {
        (Some(profile_name), None) => {
            let profile_field = profile_fields
                .iter()
                .find(|f| &f.name == profile_name)
                .ok_or_else(|| {
                    ValidationError::new(profile_name.clone(), None, Problem::UnknownProfileField)
                })?;
            if !clause
                .operator
                .operand_types()
                .contains(&profile_field.field_type)
            {
                return Err(ValidationError::new(
                    profile_name.clone(),
                    Some(clause.operator.as_str()),
                    Problem::OperatorNotAllowed {
                        allowed: OperatorName::allowed_for(profile_field.field_type)
                            .iter()
                            .map(|o| o.as_str())
                            .collect(),
                    },
                ));
            }
        }
        (None, Some(value)) => {
            let normalized =
                normalize_constant(listing_field, clause.operator, value).map_err(|problem| {
                    ValidationError::new(
                        listing_field.name.clone(),
                        Some(&values::display(value)),
                        problem,
                    )
                })?;
            clause.value = Some(normalized);
        }
        _ => {
            return Err(ValidationError::new(
                listing_field.name.clone(),
                None,
                Problem::OperandRequired,
            ));
        }
    }
    Ok(clause)
}

/// Normalises a constant for the operator: a set of values, a number, a range, a circle or a
/// date. Choices of an enum field are resolved to their stored values.
fn normalize_constant(
    field: &ListingField,
    operator: OperatorName,
    value: &Value,
) -> Result<Value, Problem> {
    match operator {
        OperatorName::InSet | OperatorName::NotInSet | OperatorName::ContainsKeyword => {
            let items = values::normalize_tags(value)?;
            if field.field_type != FieldType::Enum {
                return Ok(items);
            }
            items
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| values::normalize_enum(field, item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        OperatorName::AtMost | OperatorName::AtLeast => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::String(text) => parse_number(text)
                .map(|n| serde_json::json!(n))
                .ok_or(Problem::NotANumber),
            _ => Err(Problem::NotANumber),
        },
        OperatorName::Overlaps => values::normalize_number(value),
        OperatorName::WithinDistance => crate::members::profile::normalize_circle(value),
        OperatorName::OnOrAfter | OperatorName::OnOrBefore => values::normalize_date(value),
    }
}

/// Turns a stored, normalised constant into the operand matching compares.
fn constant_operand(operator: OperatorName, value: &Value) -> Option<ProfileValue> {
    match operator {
        OperatorName::InSet | OperatorName::NotInSet | OperatorName::ContainsKeyword => Some(
            ProfileValue::set(value.as_array()?.iter().filter_map(Value::as_str)),
        ),
        OperatorName::AtMost | OperatorName::AtLeast => value.as_f64().map(ProfileValue::Number),
        OperatorName::Overlaps => match value {
            Value::Number(number) => number.as_f64().map(ProfileValue::Number),
            Value::Object(range) => Some(ProfileValue::Range {
                min: range.get("min").and_then(Value::as_f64),
                max: range.get("max").and_then(Value::as_f64),
            }),
            _ => None,
        },
        OperatorName::WithinDistance => {
            let (lat, lon) = super::model::listing_point(value)?;
            let radius_km = value.get("radiusKm")?.as_f64()?;
            Some(ProfileValue::Circle {
                lat,
                lon,
                radius_km,
            })
        }
        OperatorName::OnOrAfter | OperatorName::OnOrBefore => {
            super::model::listing_date(value).map(ProfileValue::Date)
        }
    }
}

/// Converts the enabled rules into the matcher's form, with each matcher rule id mapped back to the
/// stored rule. Rules whose clauses no longer fit the schema are skipped and logged.
pub fn to_model(
    tenant_id: TenantId,
    rules: &[MatchRule],
    listing_fields: &[ListingField],
    profile_fields: &[ProfileField],
) -> Vec<(Rule, MatchRule)> {
    let mut models = Vec::new();
    for rule in rules.iter().filter(|rule| rule.enabled) {
        let mut clauses = Vec::with_capacity(rule.clauses.len());
        for clause in &rule.clauses {
            let revalidated = validate_clause(listing_fields, profile_fields, clause.clone());
            let operand = match (revalidated, &clause.profile_field, &clause.value) {
                (Ok(_), Some(profile_field), _) => Some(Operand::Profile(profile_field.clone())),
                (Ok(_), None, Some(value)) => {
                    constant_operand(clause.operator, value).map(Operand::Constant)
                }
                _ => None,
            };
            match operand {
                Some(operand) => clauses.push(Clause {
                    listing_field: clause.listing_field.clone(),
                    operator: clause.operator.operator(),
                    operand,
                }),
                None => {
                    tracing::warn!(tenant.id = %tenant_id, rule.id = %rule.id, "match rule no longer fits the schema; skipped");
                    clauses.clear();
                    break;
                }
            }
        }
        if !clauses.is_empty() {
            let id = RuleId::try_from(models.len()).unwrap_or(RuleId::MAX);
            models.push((Rule { id, clauses }, rule.clone()));
        }
    }
    models
}
