//! The jobs, one module each, and the envelope that carries them on the queue.

pub mod capture_outbox;
pub mod import_listings;
pub mod match_listings;
pub mod run_steps;
pub mod send_outbox;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use domain::{ListingImportId, TenantId};

/// A job on the queue. Every job carries its tenant, so logs and fairness can use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Identifies this job in logs across retries; set when enqueued.
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub kind: JobKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobKind {
    /// Runs a stored CSV import of listings.
    ImportListings { import_id: ListingImportId },
    /// Matches the tenant's new and changed listings against its members.
    MatchListings,
    /// Renders the tenant's queued deliveries into the outbox.
    CaptureOutbox,
    /// Sends a batch of the tenant's ready deliveries through its active sender.
    SendOutbox,
    /// Queues the deliveries of a batch of the tenant's due step mails.
    RunSteps,
}

/// What a handler decided: finished (successfully or for good), or worth another attempt.
#[derive(Debug)]
pub enum Outcome {
    Done,
    Retry(anyhow::Error),
}

impl Job {
    pub fn new(tenant_id: TenantId, kind: JobKind) -> Self {
        Self {
            id: Uuid::now_v7(),
            tenant_id,
            kind,
        }
    }

    /// A short name for logs.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            JobKind::ImportListings { .. } => "import_listings",
            JobKind::MatchListings => "match_listings",
            JobKind::CaptureOutbox => "capture_outbox",
            JobKind::SendOutbox => "send_outbox",
            JobKind::RunSteps => "run_steps",
        }
    }
}
