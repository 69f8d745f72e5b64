//! The scale-out worker: runs jobs from Redis against PostgreSQL, beside any number of servers.

use anyhow::Context;
use domain::settings::{Environment, WorkerSettings};
use worker::{JobContext, JobQueue, run_pool};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    worker::install_crypto_provider();
    let settings = WorkerSettings::load(&Environment).context("invalid configuration")?;
    domain::telemetry::init(settings.log_format);

    let db = domain::db::connect_and_migrate(&settings.database).await?;
    let queue = JobQueue::connect(&settings.queue).await?;
    run_pool(queue, JobContext { db }, settings.concurrency, shutdown_signal()).await
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "failed to listen for Ctrl-C");
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => tracing::error!(error = %error, "failed to listen for SIGTERM"),
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
}
