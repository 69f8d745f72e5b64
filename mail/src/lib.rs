//! Composing Tayori's mail: tenant-editable templates with Japanese and English defaults, their
//! rendering with HTML escaping, and RFC 5322 messages whose headers no template value can break.
//!
//! This crate knows nothing about the database; callers pass the values a template may use as
//! JSON. Sending over SMTP or the Mailgun API is in `transport`; DKIM signing is in `dkim`.

pub mod address;
pub mod dkim;
mod message;
mod template;
pub mod transport;

pub use message::{Composed, Envelope, compose, header_text};
pub use template::{
    MAX_TEMPLATE_BYTES, Part, Rendered, Template, TemplateError, TemplateKind, TemplateLocale,
    TemplateSource, check, default_template, render,
};
