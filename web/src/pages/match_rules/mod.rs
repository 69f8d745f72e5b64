//! Match rules: which listings are mailed to which members, and the "notify on change" setting.

mod draft;
mod editor;
mod model;
mod page;

pub use page::MatchRulesPage;
