//! Renders a tenant's queued deliveries: kept in the outbox (captured mode), or made ready for
//! the tenant's sender, in which case the send job is queued.

use domain::{TenantId, outbox::capture, sending::senders};

use super::{JobKind, Outcome};
use crate::{Job, JobContext};

pub async fn run(context: &JobContext, tenant_id: TenantId) -> Outcome {
    let rendered = match capture::capture_queued(&context.db, &context.sending, tenant_id).await {
        Ok(rendered) => rendered,
        Err(error) => return Outcome::Retry(error.into()),
    };
    tracing::info!(rendered, "outbox job finished");
    let has_sender = match senders::active_id(&context.db, tenant_id).await {
        Ok(active) => active.is_some(),
        Err(error) => return Outcome::Retry(error.into()),
    };
    if rendered > 0 && has_sender {
        // The reconciler would find the ready mail too; queuing now saves up to its interval.
        if let Err(error) = context
            .queue
            .push(Job::new(tenant_id, JobKind::SendOutbox))
            .await
        {
            tracing::warn!(error = ?error, "queuing the send job failed; the reconciler will");
        }
    }
    Outcome::Done
}
