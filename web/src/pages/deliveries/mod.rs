//! Deliveries: the outbox of captured and sent mail, why each mail was sent, and each attempt
//! to send it.

mod detail;
mod list;
mod model;

pub use detail::DeliveryPage;
pub use list::DeliveriesPage;
