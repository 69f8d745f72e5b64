//! Mail templates: one per kind and language, edited, previewed and reset here.

mod model;
mod page;

pub use page::TemplatesPage;
