//! The listing schema editor.

mod draft;
mod editor;
mod field_row;
mod options_editor;
mod row_actions;

pub use editor::SchemaPage;
