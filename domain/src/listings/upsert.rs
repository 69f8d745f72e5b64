//! Storing listings keyed by the tenant's external id, one by one or thousands at a time.
//!
//! Invalid records are rejected one by one with the reason; the valid records of the same batch
//! are stored in one transaction. A record whose normalised values did not change writes nothing.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    sea_query::{Alias, Expr, ExprTrait, OnConflict},
};
use serde_json::Value;

use super::{schema, values};
use crate::{
    ListingId, Problem, TenantId, ValidationError,
    auth::tokens::sha256_hex,
    entities::{listing, tenant},
    error::Result,
};

/// The maximum number of records one call accepts.
pub const MAX_RECORDS_PER_CALL: usize = 10_000;
/// The maximum length of an external id, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 200;
/// `listings.match_pending` of a listing that was never matched.
pub const MATCH_PENDING_NEW: i16 = 1;
/// `listings.match_pending` of a listing that changed after it was matched.
pub const MATCH_PENDING_CHANGED: i16 = 2;
/// `listings.match_pending` of a listing whose current content was matched.
pub const MATCH_PENDING_NONE: i16 = 0;
/// Rows per SQL statement; keeps bind parameters well under SQLite's and PostgreSQL's limits.
const CHUNK_ROWS: usize = 500;

/// One listing as the tenant sends it.
#[derive(Debug, Clone)]
pub struct ListingRecord {
    pub external_id: String,
    pub fields: serde_json::Map<String, Value>,
}

/// The problem of one rejected record of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    /// The record's position in the batch (0-based).
    pub index: usize,
    pub external_id: Option<String>,
    pub error: ValidationError,
}

/// The outcome of a batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsertReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Records rejected; `errors` may hold several entries for one record.
    pub rejected: usize,
    pub errors: Vec<RecordError>,
}

impl UpsertReport {
    pub fn absorb(&mut self, other: UpsertReport, index_offset: usize) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.rejected += other.rejected;
        self.errors.extend(other.errors.into_iter().map(|mut e| {
            e.index += index_offset;
            e
        }));
    }
}

/// A validated record ready to be written.
struct Accepted {
    external_id: String,
    fields_json: String,
    content_hash: String,
    search_text: String,
}

/// Validates and stores a batch of listings for the tenant.
pub async fn upsert(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    records: Vec<ListingRecord>,
) -> Result<UpsertReport> {
    if records.len() > MAX_RECORDS_PER_CALL {
        return Err(ValidationError::new(
            "listings",
            None,
            Problem::TooManyRecords {
                max: MAX_RECORDS_PER_CALL,
            },
        )
        .into());
    }
    let schema = schema::get(db, tenant_id).await?;
    let (accepted, mut report) = validate_batch(&schema, records);

    let tx = crate::db::begin_write(db).await?;
    for chunk in accepted.chunks(CHUNK_ROWS) {
        write_chunk(&tx, tenant_id, chunk, &mut report).await?;
    }
    if report.created > 0 {
        let created = i64::try_from(report.created).map_err(anyhow::Error::new)?;
        tenant::Entity::update_many()
            .col_expr(
                tenant::Column::ListingCount,
                Expr::col(tenant::Column::ListingCount).add(created),
            )
            .filter(tenant::Column::Id.eq(tenant_id.0))
            .exec(&tx)
            .await?;
    }
    tx.commit().await?;

    tracing::info!(
        tenant.id = %tenant_id,
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        rejected = report.rejected,
        "listings upserted"
    );
    Ok(report)
}

fn validate_batch(
    schema: &[schema::ListingField],
    records: Vec<ListingRecord>,
) -> (Vec<Accepted>, UpsertReport) {
    let mut report = UpsertReport::default();
    let mut accepted = Vec::with_capacity(records.len());
    let mut first_seen: HashMap<String, usize> = HashMap::new();

    for (index, record) in records.into_iter().enumerate() {
        let external_id = record.external_id.trim().to_owned();
        let mut reject = |errors: Vec<ValidationError>| {
            report.rejected += 1;
            report
                .errors
                .extend(errors.into_iter().map(|error| RecordError {
                    index,
                    external_id: Some(external_id.clone()).filter(|id| !id.is_empty()),
                    error,
                }));
        };
        if let Err(error) = validate_external_id(&external_id) {
            reject(vec![error]);
            continue;
        }
        if let Some(first_index) = first_seen.get(&external_id) {
            let problem = Problem::DuplicateExternalId {
                first_index: first_index + 1,
            };
            reject(vec![ValidationError::new(
                "externalId",
                Some(&external_id),
                problem,
            )]);
            continue;
        }
        first_seen.insert(external_id.clone(), index);

        match values::normalize(schema, &record.fields) {
            Ok(values) => {
                let fields_json = serde_json::to_string(&values).unwrap_or_default();
                let content_hash = sha256_hex(&fields_json);
                let search_text = values::search_text(&values);
                accepted.push(Accepted {
                    external_id,
                    fields_json,
                    content_hash,
                    search_text,
                });
            }
            Err(errors) => reject(errors),
        }
    }
    (accepted, report)
}

fn validate_external_id(external_id: &str) -> Result<(), ValidationError> {
    if external_id.is_empty() {
        return Err(ValidationError::new("externalId", None, Problem::Required));
    }
    if external_id.chars().count() > MAX_EXTERNAL_ID_CHARS {
        return Err(ValidationError::new(
            "externalId",
            Some(external_id),
            Problem::TooLong {
                max: MAX_EXTERNAL_ID_CHARS,
            },
        ));
    }
    Ok(())
}

/// Writes one chunk with a single statement: new listings are inserted, and a listing that
/// exists is updated only when its content hash differs. Returned rows tell created (the id
/// generated here came back) from updated (the stored id came back); rows not returned were
/// unchanged. No read before the write, so the cost does not grow with the tenant's listings.
async fn write_chunk(
    tx: &impl ConnectionTrait,
    tenant_id: TenantId,
    chunk: &[Accepted],
    report: &mut UpsertReport,
) -> Result<()> {
    let now = Utc::now();
    let mut new_ids = HashSet::with_capacity(chunk.len());
    let rows: Vec<listing::ActiveModel> = chunk
        .iter()
        .map(|record| {
            let id = ListingId::new().0;
            new_ids.insert(id);
            listing::ActiveModel {
                id: Set(id),
                tenant_id: Set(tenant_id.0),
                external_id: Set(record.external_id.clone()),
                fields: Set(record.fields_json.clone()),
                content_hash: Set(record.content_hash.clone()),
                search_text: Set(record.search_text.clone()),
                created_at: Set(now),
                updated_at: Set(now),
                match_pending: Set(MATCH_PENDING_NEW),
            }
        })
        .collect();

    let hash_changed = Expr::col((listing::Entity, listing::Column::ContentHash)).ne(Expr::col((
        Alias::new("excluded"),
        listing::Column::ContentHash,
    )));
    let on_conflict = OnConflict::columns([listing::Column::TenantId, listing::Column::ExternalId])
        .update_columns([
            listing::Column::Fields,
            listing::Column::ContentHash,
            listing::Column::SearchText,
            listing::Column::UpdatedAt,
        ])
        // A listing never matched stays new; one matched before is now changed.
        .value(
            listing::Column::MatchPending,
            Expr::case(
                Expr::col((listing::Entity, listing::Column::MatchPending)).eq(MATCH_PENDING_NEW),
                MATCH_PENDING_NEW,
            )
            .finally(MATCH_PENDING_CHANGED),
        )
        .action_and_where(hash_changed)
        .to_owned();
    let written = match listing::Entity::insert_many(rows)
        .on_conflict(on_conflict)
        .exec_with_returning(tx)
        .await
    {
        Ok(written) => written,
        // Every row was an unchanged listing, so the statement returned nothing.
        Err(sea_orm::DbErr::RecordNotInserted) => Vec::new(),
        Err(error) => return Err(error.into()),
    };

    let created = written
        .iter()
        .filter(|row| new_ids.contains(&row.id))
        .count();
    report.created += created;
    report.updated += written.len() - created;
    report.unchanged += chunk.len() - written.len();
    Ok(())
}
