//! CSV imports of listings.

mod csv_header;
mod mapping;
mod model;
mod page;

pub use page::ImportsPage;
