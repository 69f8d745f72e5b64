//! The pool of workers that take jobs from the queue and run their handlers.

use std::{future::Future, time::Duration};

use apalis::prelude::*;
use domain::{matching::run::IndexCache, sending::SendingConfig};
use sea_orm::DatabaseConnection;
use tracing::Instrument;

use crate::{
    Job, JobQueue,
    jobs::{
        JobKind, Outcome, capture_outbox, import_listings, match_listings, run_steps, send_outbox,
    },
    reconcile,
};

/// Attempts per job before it is given up (the first run included).
pub const MAX_ATTEMPTS: usize = 5;

/// The interval at which an idle worker polls the queue for jobs. Both backends otherwise wait for their
/// 30-second heartbeat before fetching again.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Shared resources that every handler gets besides its job.
#[derive(Clone)]
pub struct JobContext {
    pub db: DatabaseConnection,
    /// For handlers that queue follow-up jobs.
    pub queue: JobQueue,
    /// Member indexes kept between matching jobs of this process.
    pub index_cache: IndexCache,
    pub sending: SendingConfig,
}

impl JobContext {
    pub fn new(db: DatabaseConnection, queue: JobQueue, sending: SendingConfig) -> Self {
        Self {
            db,
            queue,
            index_cache: IndexCache::default(),
            sending,
        }
    }
}

/// Runs `concurrency` jobs at a time, and the reconciler, until `shutdown` completes; then lets
/// running jobs finish.
pub async fn run_pool(
    queue: JobQueue,
    context: JobContext,
    concurrency: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let concurrency = concurrency.max(1);
    let stop = tokio_util::sync::CancellationToken::new();
    let reconciler = tokio::spawn(reconcile::run(
        context.db.clone(),
        queue.clone(),
        stop.clone(),
    ));
    let retry = RetryPolicy::retries(MAX_ATTEMPTS - 1);
    let monitor = match queue {
        JobQueue::Redis(storage) => Monitor::new().register(move |index| {
            WorkerBuilder::new(format!("tayori-redis-{index}"))
                .backend(storage.clone().poll_with_interval(POLL_INTERVAL))
                .concurrency(concurrency)
                .retry(retry.clone())
                .data(context.clone())
                .build(handle)
        }),
        JobQueue::Embedded(storage) => Monitor::new().register(move |index| {
            WorkerBuilder::new(format!("tayori-embedded-{index}"))
                .backend(storage.clone().poll_with_interval(POLL_INTERVAL))
                .concurrency(concurrency)
                .retry(retry.clone())
                .data(context.clone())
                .build(handle)
        }),
    };
    tracing::info!(concurrency, "worker pool started");
    monitor
        .shutdown_timeout(Duration::from_secs(30))
        .run_with_signal(async move {
            shutdown.await;
            stop.cancel();
            Ok(())
        })
        .await?;
    let _ = reconciler.await;
    tracing::info!("worker pool stopped");
    Ok(())
}

/// Runs one job. An `Err` makes apalis retry it.
async fn handle(job: Job, context: Data<JobContext>, attempt: Attempt) -> Result<(), BoxDynError> {
    let span = tracing::info_span!(
        "job",
        job.id = %job.id,
        job.kind = job.kind_name(),
        tenant.id = %job.tenant_id,
        attempt = attempt.current(),
    );
    let last_attempt = attempt.current() + 1 >= MAX_ATTEMPTS;
    let outcome = async {
        match job.kind {
            JobKind::ImportListings { import_id } => {
                import_listings::run(&context, job.tenant_id, import_id, last_attempt).await
            }
            JobKind::MatchListings => match_listings::run(&context, job.tenant_id).await,
            JobKind::CaptureOutbox => capture_outbox::run(&context, job.tenant_id).await,
            JobKind::SendOutbox => send_outbox::run(&context, job.tenant_id).await,
            JobKind::RunSteps => run_steps::run(&context, job.tenant_id).await,
        }
    }
    .instrument(span.clone())
    .await;

    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Retry(error) => {
            span.in_scope(|| tracing::warn!(error = ?error, "job failed; it will be retried"));
            Err(error.into())
        }
    }
}
