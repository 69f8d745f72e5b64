//! Matching listings against member conditions.
//!
//! A tenant's [`Rule`] is a conjunction of [`Clause`]s, each comparing a listing field with a
//! member's profile field or a constant. A rule applies to a member only when the member filled
//! in every profile field the rule uses; a member who left a condition empty is not matched by
//! rules that need it. On the listing side, a missing value never satisfies a clause.
//!
//! [`Matcher`] indexes the members of one tenant so that a new listing is compared with the few
//! members it can match, never with every member; [`evaluate`] is the plain definition that the
//! index must agree with, and also explains a match.
//!
//! [`rules`] stores the tenant's rules; [`run`] is the matching job, which indexes the members,
//! matches pending listings and records each match once with its delivery.

mod evaluate;
pub mod explanation;
mod index;
mod model;
pub mod rules;
pub mod run;
pub(crate) mod store;

pub use evaluate::{ClauseOutcome, evaluate, explain};
pub use index::{Matcher, MatcherBuilder, Matches};
pub use model::{
    Clause, ListingAmount, MemberProfile, Operand, Operator, ProfileValue, Rule, RuleId,
    listing_date, listing_point,
};
