//! Runs a CSV import of listings that the API stored and queued.

use domain::{ListingImportId, TenantId, listings::imports};
use sea_orm::DatabaseConnection;

use super::Outcome;

pub async fn run(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    import_id: ListingImportId,
    last_attempt: bool,
) -> Outcome {
    match imports::run(db, tenant_id, import_id).await {
        Ok(Some(import)) => {
            tracing::info!(import.id = %import_id, rows = import.processed_rows, "import job finished");
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
