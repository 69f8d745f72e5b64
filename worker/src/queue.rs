//! The job queue: apalis on Redis when `REDIS_URL` is set, otherwise apalis on an SQLite file.

use anyhow::Context;
use apalis::prelude::TaskSink;
use apalis_redis::RedisStorage;
use apalis_sqlite::{SqliteConnectOptions, SqlitePool, SqliteStorage};
use domain::settings::{QueueBackend, QueueSettings};

use crate::Job;

/// How often workers report to the queue (apalis's default is 30 s).
///
/// NOTE: with apalis 1.0 an idle worker now and then fetched a new job only at its next
/// heartbeat (seen once with the embedded queue: an import waited 30 s), although it polls every
/// 200 ms. A short heartbeat bounds that wait; the cause inside apalis is not known yet.
const HEARTBEAT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// A handle for enqueueing jobs; cheap to clone.
#[derive(Clone)]
pub enum JobQueue {
    Redis(RedisStorage<Job>),
    Embedded(SqliteStorage<Job>),
}

impl JobQueue {
    pub async fn connect(settings: &QueueSettings) -> anyhow::Result<Self> {
        match &settings.backend {
            QueueBackend::Redis { url } => {
                let connection = apalis_redis::connect(url.as_str())
                    .await
                    .context("failed to connect to Redis (REDIS_URL)")?;
                let config = apalis_redis::Config::default()
                    .queue(&settings.name)
                    .heartbeat_interval(HEARTBEAT_INTERVAL);
                Ok(JobQueue::Redis(
                    RedisStorage::new(connection).with_config(config),
                ))
            }
            QueueBackend::Embedded { path } => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true);
                let pool = SqlitePool::connect_with(options).await.with_context(|| {
                    format!("failed to open the embedded queue at {}", path.display())
                })?;
                SqliteStorage::setup(&pool)
                    .await
                    .context("failed to set up the embedded queue")?;
                let config = apalis_sqlite::Config::default()
                    .queue(&settings.name)
                    .heartbeat_interval(HEARTBEAT_INTERVAL);
                Ok(JobQueue::Embedded(
                    SqliteStorage::new(&pool).with_config(config),
                ))
            }
        }
    }

    /// Adds a job to the queue.
    pub async fn push(&self, job: Job) -> anyhow::Result<()> {
        let (job_id, kind) = (job.id, job.kind_name());
        match self.clone() {
            JobQueue::Redis(mut storage) => storage
                .push(job)
                .await
                .context("failed to push job to Redis")?,
            JobQueue::Embedded(mut storage) => storage
                .push(job)
                .await
                .context("failed to push job to the embedded queue")?,
        }
        tracing::debug!(job.id = %job_id, job.kind = kind, "job enqueued");
        Ok(())
    }
}
