//! sea-orm entities, one per table. These are storage shapes; the API has its own types.

pub mod api_key;
pub mod broadcast;
pub mod delivery;
pub mod delivery_attempt;
pub mod dkim_key;
pub mod enrollment;
pub mod listing;
pub mod listing_field;
pub mod listing_import;
pub mod listing_match_set;
pub mod match_rule;
pub mod match_update;
pub mod member;
pub mod member_token;
pub mod operator;
pub mod profile_field;
pub mod refresh_token;
pub mod sender;
pub mod sequence;
pub mod sequence_step;
pub mod suppression;
pub mod template;
pub mod tenant;
pub mod tenant_lease;
pub mod tenant_logo;
pub mod webhook_event;
