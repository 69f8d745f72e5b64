//! Runs a CSV import of listings that the API stored and queued, then queues matching for the
//! listings it stored.

use domain::{ListingImportId, TenantId, listings::imports};

use super::{JobKind, Outcome};
use crate::{Job, JobContext};

pub async fn run(
    context: &JobContext,
    tenant_id: TenantId,
    import_id: ListingImportId,
    last_attempt: bool,
) -> Outcome {
    let db = &context.db;
    match imports::run(db, tenant_id, import_id).await {
        Ok(Some(import)) => {
            tracing::info!(import.id = %import_id, rows = import.processed_rows, "import job finished");
            if let Err(error) = context
                .queue
                .push(Job::new(tenant_id, JobKind::MatchListings))
                .await
            {
                // The reconciler finds listings waiting for matching without a job.
                tracing::warn!(error = ?error, "could not queue matching after the import");
            }
            Outcome::Done
        }
        Ok(None) => {
            tracing::info!(import.id = %import_id, "import is finished or held by another worker; job dropped");
            Outcome::Done
        }
        Err(domain::Error::NotFound(_)) => {
            tracing::warn!(import.id = %import_id, "import no longer exists; job dropped");
            Outcome::Done
        }
        Err(error) if last_attempt => {
            tracing::error!(import.id = %import_id, error = ?error, "import failed on its last attempt");
            if let Err(mark_error) = imports::mark_failed(db, tenant_id, import_id).await {
                tracing::error!(import.id = %import_id, error = ?mark_error, "could not mark import failed");
            }
            Outcome::Done
        }
        Err(error) => {
            if let Err(release_error) = imports::release(db, tenant_id, import_id).await {
                tracing::error!(import.id = %import_id, error = ?release_error, "could not release import for retry");
            }
            Outcome::Retry(error.into())
        }
    }
}
