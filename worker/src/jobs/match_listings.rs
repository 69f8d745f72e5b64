//! Matches a tenant's new and changed listings against its members, then queues the outbox.

use domain::{TenantId, matching::run};

use super::{JobKind, Outcome};
use crate::{Job, JobContext};

pub async fn run(context: &JobContext, tenant_id: TenantId) -> Outcome {
    match run::match_pending(&context.db, &context.index_cache, tenant_id).await {
        Ok(report) => {
            tracing::info!(
                listings = report.listings,
                matches = report.matches,
                updates = report.updates,
                deliveries = report.deliveries,
                "matching job finished"
            );
            if report.deliveries > 0 {
                let job = Job::new(tenant_id, JobKind::CaptureOutbox);
                if let Err(error) = context.queue.push(job).await {
                    // The reconciler finds queued deliveries without a job.
                    tracing::warn!(error = ?error, "could not queue the outbox job");
                }
            }
            Outcome::Done
        }
        Err(error) => Outcome::Retry(error.into()),
    }
}
