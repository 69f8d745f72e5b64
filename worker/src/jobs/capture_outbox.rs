//! Renders a tenant's queued deliveries and keeps them in the outbox (captured mode).

use domain::{TenantId, outbox::capture};

use super::Outcome;
use crate::JobContext;

pub async fn run(context: &JobContext, tenant_id: TenantId) -> Outcome {
    match capture::capture_queued(&context.db, tenant_id).await {
        Ok(captured) => {
            tracing::info!(captured, "outbox job finished");
            Outcome::Done
        }
        Err(error) => Outcome::Retry(error.into()),
    }
}
