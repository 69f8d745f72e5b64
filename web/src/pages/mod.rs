//! One module per feature, one file per page.

pub mod api_keys;
pub mod auth;
pub mod broadcasts;
pub mod dashboard;
pub mod deliveries;
pub mod imports;
pub mod listings;
pub mod match_rules;
pub mod member_pages;
pub mod members;
pub mod not_found;
pub mod schema;
pub mod senders;
pub mod sequences;
pub mod suppressions;
pub mod templates;
