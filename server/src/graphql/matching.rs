//! Profile fields, match rules and the "notify on change" setting.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use domain::{
    MatchRuleId, Permission,
    matching::rules::{self, ClauseSpec, MatchRuleInput as DomainRuleInput, OperatorName},
    members::profile_fields,
    tenants,
};
use serde_json::Value;

use super::{
    context::ContextExt,
    error::{ApiResult, ResultExt},
    listings::ListingField,
    members::parse_id,
    tenant::Tenant,
};

/// The comparison of a clause. Bounds are inclusive, and a listing without a value for the
/// field never satisfies the clause.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum MatchOperator {
    /// The listing's value (or one of its tags) is one of the operand's values. With one value
    /// this is "equals".
    InSet,
    /// The listing has a value and none of its values is in the operand.
    NotInSet,
    /// Some unit of the listing is at most the operand: a range compares its lower side.
    AtMost,
    /// Some unit of the listing is at least the operand: a range compares its upper side.
    AtLeast,
    /// The listing's number or range overlaps the operand's range.
    Overlaps,
    /// The listing's text or tags contain one of the operand's keywords, ignoring case and
    /// full-/half-width differences.
    ContainsKeyword,
    /// The listing's point lies within the operand's radius (km) of its centre.
    WithinDistance,
    /// The listing's date is the operand's date or later.
    OnOrAfter,
    /// The listing's date is the operand's date or earlier.
    OnOrBefore,
}

impl From<OperatorName> for MatchOperator {
    fn from(value: OperatorName) -> Self {
        match value {
            OperatorName::InSet => MatchOperator::InSet,
            OperatorName::NotInSet => MatchOperator::NotInSet,
            OperatorName::AtMost => MatchOperator::AtMost,
            OperatorName::AtLeast => MatchOperator::AtLeast,
            OperatorName::Overlaps => MatchOperator::Overlaps,
            OperatorName::ContainsKeyword => MatchOperator::ContainsKeyword,
            OperatorName::WithinDistance => MatchOperator::WithinDistance,
            OperatorName::OnOrAfter => MatchOperator::OnOrAfter,
            OperatorName::OnOrBefore => MatchOperator::OnOrBefore,
        }
    }
}

impl From<MatchOperator> for OperatorName {
    fn from(value: MatchOperator) -> Self {
        match value {
            MatchOperator::InSet => OperatorName::InSet,
            MatchOperator::NotInSet => OperatorName::NotInSet,
            MatchOperator::AtMost => OperatorName::AtMost,
            MatchOperator::AtLeast => OperatorName::AtLeast,
            MatchOperator::Overlaps => OperatorName::Overlaps,
            MatchOperator::ContainsKeyword => OperatorName::ContainsKeyword,
            MatchOperator::WithinDistance => OperatorName::WithinDistance,
            MatchOperator::OnOrAfter => OperatorName::OnOrAfter,
            MatchOperator::OnOrBefore => OperatorName::OnOrBefore,
        }
    }
}

/// One comparison of a match rule: a listing field against a member's profile field or a
/// constant (exactly one of the two).
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "MatchClauseInput")]
pub struct MatchClause {
    /// The listing field compared.
    pub listing_field: String,
    /// The comparison.
    pub operator: MatchOperator,
    /// Compare with each member's value of this profile field. A member who left it empty is
    /// not matched by the rule.
    pub profile_field: Option<String>,
    /// Or compare with this constant: a list of values for set and keyword operators, a
    /// number for `AT_MOST`/`AT_LEAST`, a range for `OVERLAPS`, `{"lat", "lon", "radiusKm"}`
    /// for `WITHIN_DISTANCE`, a date for date operators.
    pub value: Option<Json<Value>>,
}

impl From<ClauseSpec> for MatchClause {
    fn from(clause: ClauseSpec) -> Self {
        Self {
            listing_field: clause.listing_field,
            operator: clause.operator.into(),
            profile_field: clause.profile_field,
            value: clause.value.map(Json),
        }
    }
}

impl From<MatchClause> for ClauseSpec {
    fn from(clause: MatchClause) -> Self {
        Self {
            listing_field: clause.listing_field,
            operator: clause.operator.into(),
            profile_field: clause.profile_field,
            value: clause.value.map(|json| json.0),
        }
    }
}

/// A match rule: a listing is mailed to a member when every clause holds. A listing that
/// satisfies several rules is still mailed once.
#[derive(SimpleObject)]
pub struct MatchRule {
    /// Tayori's id.
    pub id: ID,
    /// The name shown to operators.
    pub name: String,
    /// Disabled rules match nothing.
    pub enabled: bool,
    /// The comparisons, all of which must hold.
    pub clauses: Vec<MatchClause>,
}

impl From<rules::MatchRule> for MatchRule {
    fn from(rule: rules::MatchRule) -> Self {
        Self {
            id: ID(rule.id.to_string()),
            name: rule.name,
            enabled: rule.enabled,
            clauses: rule.clauses.into_iter().map(MatchClause::from).collect(),
        }
    }
}

/// A match rule to create, or the new state of one.
#[derive(InputObject)]
pub struct MatchRuleInput {
    /// Shown to operators and, in "why did I get this?", to members.
    pub name: String,
    /// Disabled rules match nothing.
    #[graphql(default = true)]
    pub enabled: bool,
    /// 1 to 20 clauses.
    pub clauses: Vec<MatchClause>,
}

impl From<MatchRuleInput> for DomainRuleInput {
    fn from(input: MatchRuleInput) -> Self {
        Self {
            name: input.name,
            enabled: input.enabled,
            clauses: input.clauses.into_iter().map(ClauseSpec::from).collect(),
        }
    }
}

#[derive(Default)]
pub struct MatchingQuery;

#[Object]
impl MatchingQuery {
    /// Lists the profile fields (the conditions members give) in display order. They have the same
    /// shape as listing fields; a choice (`ENUM`) profile field takes several options.
    async fn profile_fields(&self, ctx: &Context<'_>) -> ApiResult<Vec<ListingField>> {
        let tenant_id = ctx.authorize(Permission::ReadSchema)?;
        let fields = profile_fields::get(&ctx.state().db, tenant_id)
            .await
            .api(ctx)?;
        Ok(fields.into_iter().map(ListingField::from).collect())
    }

    /// Lists the match rules in the order they were created.
    async fn match_rules(&self, ctx: &Context<'_>) -> ApiResult<Vec<MatchRule>> {
        let tenant_id = ctx.authorize(Permission::ReadSchema)?;
        let rules = rules::list(&ctx.state().db, tenant_id).await.api(ctx)?;
        Ok(rules.into_iter().map(MatchRule::from).collect())
    }
}

#[derive(Default)]
pub struct MatchingMutation;

#[Object]
impl MatchingMutation {
    /// Replaces the profile fields. Members keep their stored values.
    async fn set_profile_fields(
        &self,
        ctx: &Context<'_>,
        fields: Vec<ListingField>,
    ) -> ApiResult<Vec<ListingField>> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let fields = fields.into_iter().map(Into::into).collect();
        let stored = profile_fields::replace(&ctx.state().db, tenant_id, fields)
            .await
            .api(ctx)?;
        Ok(stored.into_iter().map(ListingField::from).collect())
    }

    /// Adds a match rule. It applies to listings stored from now on.
    async fn create_match_rule(
        &self,
        ctx: &Context<'_>,
        rule: MatchRuleInput,
    ) -> ApiResult<MatchRule> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        Ok(rules::create(&ctx.state().db, tenant_id, rule.into())
            .await
            .api(ctx)?
            .into())
    }

    /// Replaces a match rule. Listings already mailed are never mailed again because of it.
    async fn update_match_rule(
        &self,
        ctx: &Context<'_>,
        id: ID,
        rule: MatchRuleInput,
    ) -> ApiResult<MatchRule> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let rule_id = parse_id("id", &id).map(MatchRuleId).api(ctx)?;
        Ok(
            rules::update(&ctx.state().db, tenant_id, rule_id, rule.into())
                .await
                .api(ctx)?
                .into(),
        )
    }

    /// Deletes a match rule. Returns the id.
    async fn delete_match_rule(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let rule_id = parse_id("id", &id).map(MatchRuleId).api(ctx)?;
        rules::delete(&ctx.state().db, tenant_id, rule_id)
            .await
            .api(ctx)?;
        Ok(id)
    }

    /// Accepts or rejects member addresses with a non-standard part before the @
    /// (`taro..hanako@docomo.ne.jp`). Members already stored keep their addresses.
    async fn set_nonstandard_addresses(
        &self,
        ctx: &Context<'_>,
        accept: bool,
    ) -> ApiResult<Tenant> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        Ok(
            tenants::set_nonstandard_addresses(&ctx.state().db, tenant_id, accept)
                .await
                .api(ctx)?
                .into(),
        )
    }

    /// Turns "notify on change" on or off.
    async fn set_notify_on_change(&self, ctx: &Context<'_>, enabled: bool) -> ApiResult<Tenant> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        Ok(
            tenants::set_notify_on_change(&ctx.state().db, tenant_id, enabled)
                .await
                .api(ctx)?
                .into(),
        )
    }
}
