//! Tracing set-up and helpers that keep personal data out of logs.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::settings::LogFormat;

/// Installs the global subscriber. `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,apalis=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    // `try_init` fails only when a subscriber is already installed, as in tests that start
    // several apps in one process; the first one stays.
    let _ = match format {
        LogFormat::Pretty => registry.with(fmt::layer().with_target(false)).try_init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
    };
}

/// Masks an email address for logs: `taro@example.jp` becomes `t***@e***.jp`.
pub fn mask_email(address: &str) -> String {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return "***".to_owned();
    };
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    format!("{}***@{}***.{}", first(local), first(host), tld)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_email_keeps_only_first_letters_and_tld() {
        assert_eq!(mask_email("taro@example.jp"), "t***@e***.jp");
        assert_eq!(mask_email("not-an-address"), "***");
    }
}
