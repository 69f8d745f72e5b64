//! The listing schema editor.

mod draft;
mod editor;

pub use editor::SchemaPage;
