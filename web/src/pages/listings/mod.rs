//! The listings table.

mod table;

pub use table::ListingsPage;
