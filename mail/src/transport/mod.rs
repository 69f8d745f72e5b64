//! Sending finished messages: over the tenant's SMTP server ([`smtp`]) or through Mailgun's
//! HTTP API ([`mailgun`]). Both take the raw bytes as they are, already signed, and report
//! failures as a [`SendFault`], whose kind tells the caller to retry, suppress the recipient,
//! fail the mail or pause the sender.

mod fault;
pub mod mailgun;
pub mod smtp;

pub use fault::{FaultCause, FaultKind, FaultTarget, SendFault};

/// One message to send to one recipient.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The SMTP reverse-path (bounces go here). An empty string is the null reverse-path `<>`
    /// over SMTP. The Mailgun transport does not use it.
    pub envelope_from: &'a str,
    pub to: &'a str,
    /// The complete RFC 5322 message, already DKIM-signed. Transports never change it.
    pub raw: &'a [u8],
}

/// A message that the server or API took over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The SMTP server's final reply (`250 2.0.0 Ok: queued as 4C1F…`) or Mailgun's `id` and
    /// `message`.
    pub response: String,
}
