//! Listings: the tenant's declared schema, validation of incoming values, upserts keyed by the
//! tenant's external id, queries, and CSV imports.

pub mod display;
pub mod imports;
pub mod numbers;
pub mod query;
pub mod schema;
pub mod upsert;
pub mod values;

pub use schema::{EnumOption, FieldType, ListingField};
pub use upsert::{ListingRecord, RecordError, UpsertReport};
