//! Members: the list, the CSV import, and the page of one member.

mod detail;
mod draft;
mod form;
mod import;
mod list;
mod model;

pub use detail::{MemberDetailPage, NewMemberPage};
pub use list::MembersPage;
