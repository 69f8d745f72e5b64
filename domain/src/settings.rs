//! Typed settings from defaults and environment variables, validated at start-up.
//!
//! Every variable is documented in the README. A bad value stops the process with a message that
//! names the variable and states what it expects; nothing is read from the environment later.

use std::{net::SocketAddr, path::PathBuf};

use secrecy::SecretString;

/// Where the relational data lives.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` or `postgres://...`.
    pub url: String,
}

/// Which job queue to use, and the name of the queue in it.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub backend: QueueBackend,
    /// Separates deployments (or test runs) that share one Redis.
    pub name: String,
}

#[derive(Debug, Clone)]
pub enum QueueBackend {
    /// apalis on Redis, for several worker processes.
    Redis { url: String },
    /// apalis on an SQLite file, for one process.
    Embedded { path: PathBuf },
}

/// Settings of the `server` binary.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// The URL people use to reach the server; cookies are marked Secure when it is https.
    pub public_url: String,
    pub database: DatabaseSettings,
    pub queue: QueueSettings,
    /// Signs operator access tokens. `None` means a random key per process start.
    pub jwt_secret: Option<SecretString>,
    /// The built dashboard (index.html and pkg/).
    pub web_dir: PathBuf,
    /// Job handlers run inside the server process; 0 leaves all jobs to `worker` processes.
    pub in_process_workers: usize,
    pub log_format: LogFormat,
}

/// Settings of the `worker` binary.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub database: DatabaseSettings,
    pub queue: QueueSettings,
    pub concurrency: usize,
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A setting that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {variable}={value:?}: {expected}")]
pub struct SettingsError {
    pub variable: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// Reads settings from a lookup function, so tests need not touch the process environment.
pub trait Source {
    fn get(&self, variable: &str) -> Option<String>;
}

/// The process environment. Empty values count as unset.
pub struct Environment;

impl Source for Environment {
    fn get(&self, variable: &str) -> Option<String> {
        std::env::var(variable)
            .ok()
            .filter(|v| !v.trim().is_empty())
    }
}

impl<F: Fn(&str) -> Option<String>> Source for F {
    fn get(&self, variable: &str) -> Option<String> {
        self(variable)
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://tayori.sqlite?mode=rwc";
pub const DEFAULT_QUEUE_PATH: &str = "tayori-queue.sqlite";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// HS256 keys shorter than this are rejected.
const MIN_JWT_SECRET_BYTES: usize = 32;

impl ServerSettings {
    pub fn load(source: &impl Source) -> Result<Self, SettingsError> {
        let listen_text = source
            .get("TAYORI_LISTEN")
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_text.parse().map_err(|_| SettingsError {
            variable: "TAYORI_LISTEN",
            value: listen_text.clone(),
            expected: "an address and port such as 127.0.0.1:8080",
        })?;
        let public_url = match source.get("TAYORI_PUBLIC_URL") {
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(SettingsError {
                        variable: "TAYORI_PUBLIC_URL",
                        value: url,
                        expected: "an http:// or https:// URL such as https://mail.example.jp",
                    });
                }
                url.trim_end_matches('/').to_owned()
            }
            None => format!("http://{listen}"),
        };
        let jwt_secret = match source.get("TAYORI_JWT_SECRET") {
            Some(secret) if secret.len() < MIN_JWT_SECRET_BYTES => {
                return Err(SettingsError {
                    variable: "TAYORI_JWT_SECRET",
                    value: "(hidden)".to_owned(),
                    expected: "at least 32 characters, for example the output of `openssl rand -hex 32`",
                });
            }
            Some(secret) => Some(SecretString::from(secret)),
            None => None,
        };
        Ok(Self {
            listen,
            public_url,
            database: DatabaseSettings::load(source)?,
            queue: QueueSettings::load(source)?,
            jwt_secret,
            web_dir: source
                .get("TAYORI_WEB_DIR")
                .unwrap_or_else(|| "web/dist".to_owned())
                .into(),
            in_process_workers: parse_count(source, "TAYORI_IN_PROCESS_WORKERS", 2)?,
            log_format: LogFormat::load(source)?,
        })
    }
}

impl WorkerSettings {
    pub fn load(source: &impl Source) -> Result<Self, SettingsError> {
        Ok(Self {
            database: DatabaseSettings::load(source)?,
            queue: QueueSettings::load(source)?,
            concurrency: parse_count(source, "TAYORI_WORKER_CONCURRENCY", 4)?,
            log_format: LogFormat::load(source)?,
        })
    }
}

impl DatabaseSettings {
    pub fn load(source: &impl Source) -> Result<Self, SettingsError> {
        let url = source
            .get("DATABASE_URL")
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if !known.iter().any(|scheme| url.starts_with(scheme)) {
            return Err(SettingsError {
                variable: "DATABASE_URL",
                value: url,
                expected: "sqlite://FILE?mode=rwc or postgres://USER@HOST/DATABASE",
            });
        }
        Ok(Self { url })
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }
}

impl QueueSettings {
    pub fn load(source: &impl Source) -> Result<Self, SettingsError> {
        let name = source
            .get("TAYORI_QUEUE_NAME")
            .unwrap_or_else(|| "tayori".to_owned());
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SettingsError {
                variable: "TAYORI_QUEUE_NAME",
                value: name,
                expected: "letters, digits, hyphens and underscores",
            });
        }
        if let Some(url) = source.get("REDIS_URL") {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(SettingsError {
                    variable: "REDIS_URL",
                    value: url,
                    expected: "redis://HOST:PORT/DB or rediss://HOST:PORT/DB",
                });
            }
            return Ok(QueueSettings {
                backend: QueueBackend::Redis { url },
                name,
            });
        }
        let path = source
            .get("TAYORI_QUEUE_PATH")
            .unwrap_or_else(|| DEFAULT_QUEUE_PATH.to_owned());
        Ok(QueueSettings {
            backend: QueueBackend::Embedded { path: path.into() },
            name,
        })
    }
}

impl LogFormat {
    fn load(source: &impl Source) -> Result<Self, SettingsError> {
        match source.get("TAYORI_LOG_FORMAT").as_deref() {
            None | Some("pretty") => Ok(LogFormat::Pretty),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(SettingsError {
                variable: "TAYORI_LOG_FORMAT",
                value: other.to_owned(),
                expected: "pretty or json",
            }),
        }
    }
}

fn parse_count(
    source: &impl Source,
    variable: &'static str,
    default: usize,
) -> Result<usize, SettingsError> {
    match source.get(variable) {
        None => Ok(default),
        Some(text) => text.trim().parse().map_err(|_| SettingsError {
            variable,
            value: text,
            expected: "a whole number such as 4",
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn source(pairs: &[(&str, &str)]) -> impl Source {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key: &str| map.get(key).cloned()
    }

    #[test]
    fn defaults_run_embedded_without_configuration() {
        let settings = ServerSettings::load(&source(&[])).unwrap();
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);
        assert!(settings.database.is_sqlite());
        assert!(matches!(
            settings.queue.backend,
            QueueBackend::Embedded { .. }
        ));
        assert_eq!(settings.public_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn bad_database_url_names_the_variable() {
        let error = ServerSettings::load(&source(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
        assert_eq!(error.variable, "DATABASE_URL");
        assert!(error.to_string().contains("postgres://"));
    }

    #[test]
    fn short_jwt_secret_is_rejected_without_echoing_it() {
        let error = ServerSettings::load(&source(&[("TAYORI_JWT_SECRET", "short")])).unwrap_err();
        assert_eq!(error.variable, "TAYORI_JWT_SECRET");
        assert!(!error.to_string().contains("short\""));
    }

    #[test]
    fn redis_url_selects_redis_queue() {
        let settings =
            WorkerSettings::load(&source(&[("REDIS_URL", "redis://127.0.0.1:6379/3")])).unwrap();
        assert!(matches!(settings.queue.backend, QueueBackend::Redis { .. }));
    }

    #[test]
    fn non_numeric_worker_count_is_rejected() {
        let error =
            ServerSettings::load(&source(&[("TAYORI_IN_PROCESS_WORKERS", "many")])).unwrap_err();
        assert_eq!(error.variable, "TAYORI_IN_PROCESS_WORKERS");
    }
}
