//! The reconciler: the database is the source of truth and a queued job only a trigger, so
//! work whose job was lost (a Redis restart, a killed worker) is found in the database and
//! queued again. A duplicate job is harmless because handlers claim their row atomically.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::listings::imports;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::{Job, JobQueue, jobs::JobKind};

/// How often each worker pool looks for stranded work.
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(30);

/// Queues a job for every stranded import and returns how many were queued.
pub async fn requeue_stranded(
    db: &DatabaseConnection,
    queue: &JobQueue,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let stranded = imports::find_stranded(db, now).await?;
    for (tenant_id, import_id) in &stranded {
        queue
            .push(Job::new(
                *tenant_id,
                JobKind::ImportListings {
                    import_id: *import_id,
                },
            ))
            .await?;
        tracing::warn!(tenant.id = %tenant_id, import.id = %import_id, "stranded import queued again");
    }
    Ok(stranded.len())
}

/// Runs [`requeue_stranded`] every [`RECONCILE_INTERVAL`] until `stop` is cancelled.
pub async fn run(db: DatabaseConnection, queue: JobQueue, stop: CancellationToken) {
    let mut interval = tokio::time::interval(RECONCILE_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = interval.tick() => {}
        }
        if let Err(error) = requeue_stranded(&db, &queue, Utc::now()).await {
            tracing::error!(error = ?error, "reconciler failed; it will try again");
        }
    }
}
