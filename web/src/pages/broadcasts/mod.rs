//! `/dashboard/broadcasts`: mail to every subscribed member at a chosen time (お知らせ配信).

mod model;
mod page;

pub use page::BroadcastsPage;
