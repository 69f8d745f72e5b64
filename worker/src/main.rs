//! The scale-out worker: runs jobs from Redis against PostgreSQL, beside any number of servers.

use anyhow::Context;
use domain::settings::{Environment, WorkerSettings};
use worker::{JobContext, JobQueue, run_pool, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    worker::install_crypto_provider();
    let settings = WorkerSettings::load(&Environment).context("invalid configuration")?;
    domain::telemetry::init(settings.log_format);

    let db = domain::db::connect_and_migrate(&settings.database).await?;
    let queue = JobQueue::connect(&settings.queue).await?;
    run_pool(
        queue.clone(),
        JobContext::new(db, queue),
        settings.concurrency,
        shutdown_signal(),
    )
    .await
}
