//! Queues the deliveries of a tenant's due steps, batch by batch, then the outbox job that
//! renders them.

use chrono::Utc;
use domain::{TenantId, steps::run};

use super::{JobKind, Outcome};
use crate::{Job, JobContext};

pub async fn run(context: &JobContext, tenant_id: TenantId) -> Outcome {
    let report = match run::run_due(&context.db, tenant_id, Utc::now()).await {
        Ok(report) => report,
        Err(error) => return Outcome::Retry(error.into()),
    };
    tracing::info!(
        queued = report.queued,
        ended = report.ended,
        more = report.more,
        "step job finished"
    );
    let mut next = Vec::new();
    if report.queued > 0 {
        next.push(JobKind::CaptureOutbox);
    }
    if report.more {
        next.push(JobKind::RunSteps);
    }
    for kind in next {
        if let Err(error) = context.queue.push(Job::new(tenant_id, kind)).await {
            tracing::warn!(error = ?error, "queuing the follow-up job failed; the reconciler will");
        }
    }
    Outcome::Done
}
