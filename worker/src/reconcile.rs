//! The reconciler: the database is the source of truth and a queued job only a trigger, so
//! work whose job was lost (a Redis restart, a killed worker) is found in the database and
//! queued again. A duplicate job is harmless because handlers claim their row or their
//! tenant's lease atomically.
//!
//! It also creates the digests that are due and queues the step mails that are due, so
//! scheduling needs no host crontab.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::{broadcasts, listings::imports, matching::run, outbox, steps};
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

/// Queues matching for tenants with listings waiting for it, the step scheduler for tenants
/// with due steps, and the outbox for tenants with queued deliveries (digests and broadcast
/// copies that are due are created first). Returns how many jobs it queued.
pub async fn requeue_mail_work(
    db: &DatabaseConnection,
    queue: &JobQueue,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut queued = 0;
    for tenant_id in run::tenants_with_pending(db).await? {
        queue
            .push(Job::new(tenant_id, JobKind::MatchListings))
            .await?;
        queued += 1;
    }
    for tenant_id in outbox::digests::tenants_with_due(db, now).await? {
        outbox::digests::create_due(db, tenant_id, now).await?;
    }
    for tenant_id in broadcasts::tenants_with_due(db, now).await? {
        broadcasts::queue_due(db, tenant_id, now).await?;
    }
    for tenant_id in outbox::tenants_with_queued(db).await? {
        queue
            .push(Job::new(tenant_id, JobKind::CaptureOutbox))
            .await?;
        queued += 1;
    }
    for tenant_id in steps::run::tenants_with_due(db, now).await? {
        queue.push(Job::new(tenant_id, JobKind::RunSteps)).await?;
        queued += 1;
    }
    domain::auth::rate_limit::purge(db, now).await?;
    outbox::send::settle_interrupted(db, now).await?;
    for tenant_id in outbox::send::tenants_with_due(db, now).await? {
        queue.push(Job::new(tenant_id, JobKind::SendOutbox)).await?;
        queued += 1;
    }
    Ok(queued)
}

/// Runs [`requeue_stranded`] and [`requeue_mail_work`] every [`RECONCILE_INTERVAL`] until `stop` is cancelled.
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
        if let Err(error) = requeue_mail_work(&db, &queue, Utc::now()).await {
            tracing::error!(error = ?error, "reconciler failed on mail work; it will try again");
        }
    }
}
