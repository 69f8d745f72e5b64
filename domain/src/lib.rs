//! Tayori's domain: what tenants, operators, API keys and listings are, the rules they follow and
//! how they are stored. Transport code (GraphQL, HTTP, job handlers) calls into this crate and
//! stays thin.
//!
//! Reading order: [`ids`] and [`error`] for the shared vocabulary, [`auth`] for who may do what,
//! then [`tenants`], [`operators`] and [`listings`] for the operations themselves.

pub mod auth;
pub mod branding;
pub mod broadcasts;
pub mod db;
pub mod entities;
pub mod error;
pub mod ids;
pub mod leases;
pub mod listings;
pub mod locale;
pub mod matching;
pub mod members;
pub mod operators;
pub mod outbox;
pub mod schedule;
pub mod sending;
pub mod settings;
pub mod steps;
pub mod telemetry;
pub mod tenants;

pub use auth::{Permission, Principal, Role};
pub use error::{Error, Problem, ValidationError};
pub use ids::{
    ApiKeyId, DeliveryId, ListingId, ListingImportId, MatchRuleId, MemberId, OperatorId, TenantId,
};
pub use locale::Locale;
