//! sea-orm entities, one per table. These are storage shapes; the API has its own types.

pub mod api_key;
pub mod listing;
pub mod listing_field;
pub mod listing_import;
pub mod operator;
pub mod refresh_token;
pub mod tenant;
