//! CSV imports of listings.

mod csv_header;
mod current;
mod mapping;
mod mapping_step;
mod model;
mod page;
mod progress;
mod recent;
mod upload;

pub use page::ImportsPage;
