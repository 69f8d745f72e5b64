//! Background jobs: the queue they travel on (apalis on Redis, or on an SQLite file when no Redis
//! is configured) and the handlers that run them.
//!
//! A job is only a trigger: it names a row in the database, and the handler reads the row. So a
//! lost or repeated job can be recovered or ignored, never half-applied.

pub mod jobs;
pub mod pool;
pub mod queue;
pub mod reconcile;
mod signal;

pub use jobs::Job;
pub use pool::{JobContext, run_pool};
pub use queue::JobQueue;
pub use signal::shutdown_signal;

/// Installs the process-wide rustls crypto provider. Two providers are compiled in (ring through
/// sqlx, aws-lc-rs through reqwest and jsonwebtoken), and rustls then refuses to pick one itself.
pub fn install_crypto_provider() {
    // An error only means that a provider is already installed, which is what we want.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
