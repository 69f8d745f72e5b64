//! The editor of the listing schema, also used for the profile fields.

mod draft;
mod editor;
mod field_row;
mod options_editor;
mod row_actions;

pub use editor::{ProfileFieldsPage, SchemaPage, take_key};
