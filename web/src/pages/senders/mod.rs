//! Sending: the senders (SMTP or Mailgun) that mail leaves through, their checks, and DKIM
//! keys.

mod dkim;
mod draft;
mod form;
mod mode_notice;
mod model;
mod page;
mod sender_card;

pub use mode_notice::SendingModeNotice;
pub use page::SendersPage;
