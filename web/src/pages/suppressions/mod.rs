//! The suppression list: addresses the tenant never mails.

mod model;
mod page;

pub use page::SuppressionsPage;
