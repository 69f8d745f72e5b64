//! Sends one batch of a tenant's ready deliveries, then queues itself again while more are
//! ready, so that tenants with large sends take turns with the others on the queue.

use chrono::Utc;
use domain::{TenantId, outbox::send};

use super::{JobKind, Outcome};
use crate::{Job, JobContext};

pub async fn run(context: &JobContext, tenant_id: TenantId) -> Outcome {
    let report = match send::send_ready(&context.db, &context.sending, tenant_id, Utc::now()).await
    {
        Ok(report) => report,
        Err(error) => return Outcome::Retry(error.into()),
    };
    tracing::info!(
        sent = report.sent,
        deferred = report.deferred,
        bounced = report.bounced,
        failed = report.failed,
        suppressed = report.suppressed,
        paused = report.paused,
        rate_limited = report.rate_limited,
        "send job finished"
    );
    if report.more
        && let Err(error) = context
            .queue
            .push(Job::new(tenant_id, JobKind::SendOutbox))
            .await
    {
        tracing::warn!(error = ?error, "queuing the next send batch failed; the reconciler will");
    }
    Outcome::Done
}
