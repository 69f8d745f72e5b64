//! Real sending: the tenant's senders (SMTP or Mailgun), their credentials at rest, rate limits,
//! the suppression list, DKIM keys and one-click unsubscribe. The send loop itself is in
//! [`crate::outbox::send`].

pub mod dkim;
pub mod secrets;
pub mod senders;
pub mod suppressions;
pub mod unsubscribe;
pub mod webhooks;

use std::time::Duration;

use mail::transport::mailgun::MailgunHosts;

use crate::settings::{SettingsError, Source};
pub use secrets::SecretBox;

/// Outer limit of each connect, check and send.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// Limit of a connection test or TLS probe started from the dashboard.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(8);

/// The deployment's sending configuration, shared by the server and the workers.
#[derive(Debug, Clone)]
pub struct SendingConfig {
    pub secrets: SecretBox,
    /// The base URL of unsubscribe links, without a trailing slash.
    pub public_url: String,
    /// PEM roots trusted for SMTP besides the public ones (`TAYORI_SMTP_EXTRA_CA`, a file).
    pub smtp_extra_ca: Option<Vec<u8>>,
    /// Mailgun API hosts (`TAYORI_MAILGUN_US_URL`, `TAYORI_MAILGUN_EU_URL`), for a proxy or a
    /// test double.
    pub mailgun_hosts: MailgunHosts,
    pub send_timeout: Duration,
    pub check_timeout: Duration,
}

impl SendingConfig {
    pub fn load(source: &impl Source, public_url: &str) -> Result<Self, SettingsError> {
        let smtp_extra_ca = match source.get("TAYORI_SMTP_EXTRA_CA") {
            Some(path) => Some(std::fs::read(&path).map_err(|_| SettingsError {
                variable: "TAYORI_SMTP_EXTRA_CA",
                value: path,
                expected: "the path of a readable PEM file with CA certificates",
            })?),
            None => None,
        };
        let mut mailgun_hosts = MailgunHosts::default();
        for (variable, host) in [
            ("TAYORI_MAILGUN_US_URL", &mut mailgun_hosts.us),
            ("TAYORI_MAILGUN_EU_URL", &mut mailgun_hosts.eu),
        ] {
            if let Some(url) = source.get(variable) {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(SettingsError {
                        variable,
                        value: url,
                        expected: "an http:// or https:// URL",
                    });
                }
                *host = url.trim_end_matches('/').to_owned();
            }
        }
        Ok(Self {
            secrets: SecretBox::load(source)?,
            public_url: public_url.trim_end_matches('/').to_owned(),
            smtp_extra_ca,
            mailgun_hosts,
            send_timeout: SEND_TIMEOUT,
            check_timeout: CHECK_TIMEOUT,
        })
    }

    /// Builds a configuration for tests: a random key and the default hosts.
    pub fn for_tests(public_url: &str) -> Self {
        Self {
            secrets: SecretBox::random(),
            public_url: public_url.to_owned(),
            smtp_extra_ca: None,
            mailgun_hosts: MailgunHosts::default(),
            send_timeout: SEND_TIMEOUT,
            check_timeout: CHECK_TIMEOUT,
        }
    }
}
