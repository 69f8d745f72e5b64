//! The scale-out worker: runs jobs from Redis against PostgreSQL, beside any number of servers.

use anyhow::Context;
use domain::{
    sending::SendingConfig,
    settings::{DEFAULT_LISTEN, Environment, Source, WorkerSettings},
};
use worker::{JobContext, JobQueue, run_pool, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    worker::install_crypto_provider();
    let settings = WorkerSettings::load(&Environment).context("invalid configuration")?;
    domain::telemetry::init(settings.log_format);

    let public_url = Environment
        .get("TAYORI_PUBLIC_URL")
        .unwrap_or_else(|| format!("http://{DEFAULT_LISTEN}"));
    let sending =
        SendingConfig::load(&Environment, &public_url).context("invalid sending configuration")?;

    let db = domain::db::connect_and_migrate(&settings.database).await?;
    let queue = JobQueue::connect(&settings.queue).await?;
    run_pool(
        queue.clone(),
        JobContext::new(db, queue, sending),
        settings.concurrency,
        shutdown_signal(),
    )
    .await
}
