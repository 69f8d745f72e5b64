//! CSV imports of listings. Creating an import validates the header and the column mapping at
//! once and stores the file; the worker then runs it in chunks and records progress, so the
//! dashboard can show how far it got and which rows were rejected.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    schema::{self, FieldType, ListingField},
    upsert::{self, ListingRecord, RecordError, UpsertReport},
};
use crate::{
    Error, ListingImportId, Locale, OperatorId, Problem, TenantId, ValidationError,
    entities::listing_import,
    error::{Resource, Result},
};

/// The largest CSV file accepted, in bytes.
pub const MAX_CSV_BYTES: usize = 64 * 1024 * 1024;
/// Rows handed to one upsert; progress is saved after each.
const ROWS_PER_CHUNK: usize = 500;
/// Row errors kept per import; the counts still cover every row.
const MAX_STORED_ERRORS: usize = 1_000;
/// A running import whose heartbeat is older than this is taken to have lost its worker. Chunks
/// of 500 rows take well under a second, so a live worker beats far more often.
pub const STALE_HEARTBEAT: chrono::Duration = chrono::Duration::minutes(2);
/// A queued import older than this is taken to have lost its job (a Redis restart, a crash
/// between storing the import and enqueueing it).
pub const STALE_QUEUED: chrono::Duration = chrono::Duration::minutes(5);

/// Which CSV column goes to which listing field. For a geo point field, map the latitude column
/// to `field.lat` and the longitude column to `field.lon`, or one `lat,lon` column to `field`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnMapping {
    pub column: String,
    pub field: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportMapping {
    pub external_id_column: String,
    pub columns: Vec<ColumnMapping>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Queued => "queued",
            ImportStatus::Running => "running",
            ImportStatus::Succeeded => "succeeded",
            ImportStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "running" => ImportStatus::Running,
            "succeeded" => ImportStatus::Succeeded,
            "failed" => ImportStatus::Failed,
            _ => ImportStatus::Queued,
        }
    }
}

/// A rejected CSV row as stored: messages in both languages, since the reader's language is not
/// known when the worker writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRowError {
    /// The row number as a spreadsheet shows it: the header is row 1, the first listing row 2.
    pub row: usize,
    pub external_id: Option<String>,
    pub field: String,
    pub value: Option<String>,
    pub code: String,
    pub message_ja: String,
    pub message_en: String,
}

impl ImportRowError {
    pub fn message(&self, locale: Locale) -> &str {
        locale.pick(&self.message_ja, &self.message_en)
    }
}

/// An import as the dashboard shows it.
#[derive(Debug, Clone)]
pub struct ListingImport {
    pub id: ListingImportId,
    pub status: ImportStatus,
    pub total_rows: usize,
    pub processed_rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub errors: Vec<ImportRowError>,
    pub created_at: chrono::DateTime<Utc>,
    pub finished_at: Option<chrono::DateTime<Utc>>,
}

impl TryFrom<listing_import::Model> for ListingImport {
    type Error = Error;

    fn try_from(row: listing_import::Model) -> Result<Self> {
        let errors = serde_json::from_str(&row.errors).map_err(|error| {
            anyhow::anyhow!("stored errors of import {} are malformed: {error}", row.id)
        })?;
        let count = |value: i32| usize::try_from(value).unwrap_or(0);
        Ok(ListingImport {
            id: ListingImportId(row.id),
            status: ImportStatus::parse(&row.status),
            total_rows: count(row.total_rows),
            processed_rows: count(row.processed_rows),
            created: count(row.created),
            updated: count(row.updated),
            unchanged: count(row.unchanged),
            rejected: count(row.rejected),
            errors,
            created_at: row.created_at,
            finished_at: row.finished_at,
        })
    }
}

/// Checks the file and mapping and stores a queued import. The caller enqueues the job.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    created_by: Option<OperatorId>,
    csv: String,
    mapping: ImportMapping,
) -> Result<ListingImport> {
    if csv.len() > MAX_CSV_BYTES {
        let problem = Problem::MalformedCsv {
            reason: format!("larger than {} MiB", MAX_CSV_BYTES / 1024 / 1024),
        };
        return Err(ValidationError::new("csv", None, problem).into());
    }
    let schema = schema::get(db, tenant_id).await?;
    let headers = read_headers(&csv)?;
    validate_mapping(&schema, &headers, &mapping)?;
    let total_rows = count_rows(&csv);

    let row = listing_import::ActiveModel {
        id: Set(ListingImportId::new().0),
        tenant_id: Set(tenant_id.0),
        status: Set(ImportStatus::Queued.as_str().to_owned()),
        csv: Set(csv),
        mapping: Set(serde_json::to_string(&mapping).map_err(anyhow::Error::new)?),
        total_rows: Set(to_i32(total_rows)),
        processed_rows: Set(0),
        created: Set(0),
        updated: Set(0),
        unchanged: Set(0),
        rejected: Set(0),
        errors: Set("[]".to_owned()),
        created_by: Set(created_by.map(|id| id.0)),
        created_at: Set(Utc::now()),
        finished_at: Set(None),
        heartbeat_at: Set(None),
    }
    .insert(db)
    .await?;
    tracing::info!(tenant.id = %tenant_id, import.id = %row.id, rows = total_rows, "listing import queued");
    row.try_into()
}

/// Marks an import failed, for example when its job could not be enqueued.
pub async fn mark_failed(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    id: ListingImportId,
) -> Result<()> {
    listing_import::Entity::update_many()
        .col_expr(
            listing_import::Column::Status,
            ImportStatus::Failed.as_str().into(),
        )
        .col_expr(listing_import::Column::FinishedAt, Utc::now().into())
        .filter(listing_import::Column::Id.eq(id.0))
        .filter(listing_import::Column::TenantId.eq(tenant_id.0))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn get(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    id: ListingImportId,
) -> Result<ListingImport> {
    listing_import::Entity::find_by_id(id.0)
        .filter(listing_import::Column::TenantId.eq(tenant_id.0))
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::ListingImport))?
        .try_into()
}

/// Lists recent imports, newest first.
pub async fn list(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    first: u64,
) -> Result<Vec<ListingImport>> {
    listing_import::Entity::find()
        .filter(listing_import::Column::TenantId.eq(tenant_id.0))
        .order_by_desc(listing_import::Column::CreatedAt)
        .limit(first.clamp(1, 100))
        .all(db)
        .await?
        .into_iter()
        .map(ListingImport::try_from)
        .collect()
}

/// Runs a queued import to the end. Safe to run again after a crash: upserts are idempotent and
/// the counters start over. Returns `None` when another worker has claimed the import or it has finished.
pub async fn run(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    id: ListingImportId,
) -> Result<Option<ListingImport>> {
    let Some(row) = claim(db, tenant_id, id, Utc::now()).await? else {
        return Ok(None);
    };
    let mapping: ImportMapping = serde_json::from_str(&row.mapping).map_err(|error| {
        anyhow::anyhow!("stored mapping of import {} is malformed: {error}", row.id)
    })?;
    let csv = row.csv.clone();
    let mut progress = row;
    let schema = schema::get(db, tenant_id).await?;

    let mut report = UpsertReport::default();
    let mut processed = 0;
    let mut stored_errors: Vec<ImportRowError> = Vec::new();
    let mut reader = csv_reader(&csv);
    let headers = reader.headers().map_err(|e| malformed(&e))?.clone();
    let mut records = reader.records().enumerate().peekable();

    while records.peek().is_some() {
        let chunk: Vec<_> = records.by_ref().take(ROWS_PER_CHUNK).collect();
        let mut listing_records = Vec::with_capacity(chunk.len());
        let mut row_numbers = Vec::with_capacity(chunk.len());
        let mut chunk_report = UpsertReport::default();
        for (data_index, record) in chunk {
            let row_number = data_index + 2;
            match record
                .map_err(|e| malformed(&e))
                .and_then(|r| to_listing_record(&headers, &r, &mapping))
            {
                Ok(listing) => {
                    listing_records.push(listing);
                    row_numbers.push(row_number);
                }
                Err(error) => {
                    chunk_report.rejected += 1;
                    push_error(&mut stored_errors, &schema, row_number, None, &error);
                }
            }
        }
        let upserted = upsert::upsert(db, tenant_id, listing_records).await?;
        for RecordError {
            index,
            external_id,
            error,
        } in &upserted.errors
        {
            let row_number = row_numbers.get(*index).copied().unwrap_or(0);
            push_error(
                &mut stored_errors,
                &schema,
                row_number,
                external_id.clone(),
                error,
            );
        }
        chunk_report.absorb(
            UpsertReport {
                errors: vec![],
                ..upserted
            },
            0,
        );
        report.absorb(chunk_report, 0);
        processed = report.created + report.updated + report.unchanged + report.rejected;

        let mut update: listing_import::ActiveModel = progress.into();
        update.processed_rows = Set(to_i32(processed));
        update.created = Set(to_i32(report.created));
        update.updated = Set(to_i32(report.updated));
        update.unchanged = Set(to_i32(report.unchanged));
        update.rejected = Set(to_i32(report.rejected));
        update.errors = Set(serde_json::to_string(&stored_errors).map_err(anyhow::Error::new)?);
        update.heartbeat_at = Set(Some(Utc::now()));
        progress = update.update(db).await?;
    }

    let mut done: listing_import::ActiveModel = progress.into();
    done.status = Set(ImportStatus::Succeeded.as_str().to_owned());
    done.total_rows = Set(to_i32(processed));
    done.finished_at = Set(Some(Utc::now()));
    // The file is no longer needed once every row is stored.
    done.csv = Set(String::new());
    let done = done.update(db).await?;
    tracing::info!(
        tenant.id = %tenant_id,
        import.id = %id,
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        rejected = report.rejected,
        "listing import finished"
    );
    Ok(Some(done.try_into()?))
}

/// Marks the import running for this worker, if it is queued or its worker stopped beating.
/// The conditional update lets only one of several racing workers win.
pub async fn claim(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    id: ListingImportId,
    now: chrono::DateTime<Utc>,
) -> Result<Option<listing_import::Model>> {
    use sea_orm::sea_query::Condition;

    let claimable = Condition::any()
        .add(listing_import::Column::Status.eq(ImportStatus::Queued.as_str()))
        .add(
            Condition::all()
                .add(listing_import::Column::Status.eq(ImportStatus::Running.as_str()))
                .add(listing_import::Column::HeartbeatAt.lt(now - STALE_HEARTBEAT)),
        );
    let claimed = listing_import::Entity::update_many()
        .col_expr(
            listing_import::Column::Status,
            ImportStatus::Running.as_str().into(),
        )
        .col_expr(listing_import::Column::HeartbeatAt, now.into())
        .col_expr(listing_import::Column::ProcessedRows, 0.into())
        .filter(listing_import::Column::Id.eq(id.0))
        .filter(listing_import::Column::TenantId.eq(tenant_id.0))
        .filter(claimable)
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(None);
    }
    Ok(listing_import::Entity::find_by_id(id.0)
        .filter(listing_import::Column::TenantId.eq(tenant_id.0))
        .one(db)
        .await?)
}

/// Hands a running import back to the queue after a failed attempt, so that the retry can
/// claim it at once instead of waiting for the heartbeat to go stale.
pub async fn release(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    id: ListingImportId,
) -> Result<()> {
    listing_import::Entity::update_many()
        .col_expr(
            listing_import::Column::Status,
            ImportStatus::Queued.as_str().into(),
        )
        .filter(listing_import::Column::Id.eq(id.0))
        .filter(listing_import::Column::TenantId.eq(tenant_id.0))
        .filter(listing_import::Column::Status.eq(ImportStatus::Running.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Finds imports of every tenant that lost their job or their worker, for the reconciler.
/// This is the one cross-tenant query on imports: it returns ids only, and each id is then
/// handled with its own tenant.
pub async fn find_stranded(
    db: &DatabaseConnection,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<(TenantId, ListingImportId)>> {
    use sea_orm::sea_query::Condition;

    let stranded = Condition::any()
        .add(
            Condition::all()
                .add(listing_import::Column::Status.eq(ImportStatus::Queued.as_str()))
                .add(listing_import::Column::CreatedAt.lt(now - STALE_QUEUED)),
        )
        .add(
            Condition::all()
                .add(listing_import::Column::Status.eq(ImportStatus::Running.as_str()))
                .add(listing_import::Column::HeartbeatAt.lt(now - STALE_HEARTBEAT)),
        );
    let rows: Vec<(uuid::Uuid, uuid::Uuid)> = listing_import::Entity::find()
        .select_only()
        .column(listing_import::Column::TenantId)
        .column(listing_import::Column::Id)
        .filter(stranded)
        .limit(100)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(tenant, id)| (TenantId(tenant), ListingImportId(id)))
        .collect())
}

/// Stores a row error. Its messages name the field by its label in each language, as the
/// operator sees it on the dashboard; `field` keeps the field name.
fn push_error(
    stored: &mut Vec<ImportRowError>,
    schema: &[ListingField],
    row: usize,
    external_id: Option<String>,
    error: &ValidationError,
) {
    if stored.len() >= MAX_STORED_ERRORS {
        return;
    }
    let message = |locale: Locale| {
        let label = schema
            .iter()
            .find(|f| f.name == error.field)
            .map(|f| locale.pick(&f.label_ja, &f.label_en));
        match label {
            Some(label) => ValidationError {
                field: label.to_owned(),
                ..error.clone()
            }
            .message(locale),
            None => error.message(locale),
        }
    };
    stored.push(ImportRowError {
        row,
        external_id,
        field: error.field.clone(),
        value: error.value.clone(),
        code: error.problem_code().to_owned(),
        message_ja: message(Locale::Ja),
        message_en: message(Locale::En),
    });
}

pub(crate) fn csv_reader(csv: &str) -> csv::Reader<&[u8]> {
    // A byte-order mark, as Excel writes, would otherwise become part of the first column name.
    let text = csv.strip_prefix('\u{feff}').unwrap_or(csv);
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes())
}

pub(crate) fn malformed(error: &csv::Error) -> ValidationError {
    ValidationError::new(
        "csv",
        None,
        Problem::MalformedCsv {
            reason: error.to_string(),
        },
    )
}

fn read_headers(csv: &str) -> Result<Vec<String>, ValidationError> {
    let mut reader = csv_reader(csv);
    let headers = reader.headers().map_err(|e| malformed(&e))?;
    let headers: Vec<String> = headers.iter().map(|h| h.trim().to_owned()).collect();
    if headers.iter().all(String::is_empty) {
        return Err(ValidationError::new(
            "csv",
            None,
            Problem::MalformedCsv {
                reason: "no header row".to_owned(),
            },
        ));
    }
    Ok(headers)
}

fn count_rows(csv: &str) -> usize {
    csv_reader(csv).records().count()
}

fn validate_mapping(
    schema: &[ListingField],
    headers: &[String],
    mapping: &ImportMapping,
) -> Result<(), ValidationError> {
    let has_column = |name: &str| headers.iter().any(|h| h == name.trim());
    if !has_column(&mapping.external_id_column) {
        return Err(ValidationError::new(
            "externalIdColumn",
            Some(&mapping.external_id_column),
            Problem::UnknownColumn,
        ));
    }
    for entry in &mapping.columns {
        if !has_column(&entry.column) {
            return Err(ValidationError::new(
                "columns",
                Some(&entry.column),
                Problem::UnknownColumn,
            ));
        }
        let (field_name, part) = split_geo_part(&entry.field);
        let known = schema.iter().any(|f| {
            f.name == field_name && (part.is_none() || f.field_type == FieldType::GeoPoint)
        });
        if !known {
            return Err(ValidationError::new(
                entry.field.clone(),
                None,
                Problem::UnknownField,
            ));
        }
    }
    Ok(())
}

/// `location.lat` is the latitude part of the field `location`.
fn split_geo_part(field: &str) -> (&str, Option<&str>) {
    match field.trim().rsplit_once('.') {
        Some((name, part @ ("lat" | "lon"))) => (name, Some(part)),
        _ => (field.trim(), None),
    }
}

fn to_listing_record(
    headers: &csv::StringRecord,
    record: &csv::StringRecord,
    mapping: &ImportMapping,
) -> Result<ListingRecord, ValidationError> {
    if record.len() != headers.len() {
        let reason = format!(
            "{} columns where the header has {}",
            record.len(),
            headers.len()
        );
        return Err(ValidationError::new(
            "csv",
            None,
            Problem::MalformedCsv { reason },
        ));
    }
    let cell = |column: &str| {
        headers
            .iter()
            .position(|h| h.trim() == column.trim())
            .and_then(|i| record.get(i))
            .unwrap_or("")
    };
    let mut fields = serde_json::Map::new();
    for entry in &mapping.columns {
        let value = cell(&entry.column).to_owned();
        match split_geo_part(&entry.field) {
            (name, Some(part)) => {
                let point = fields
                    .entry(name.to_owned())
                    .or_insert_with(|| Value::Object(Default::default()));
                if let Value::Object(point) = point {
                    point.insert(part.to_owned(), Value::String(value));
                }
            }
            (name, None) => {
                fields.insert(name.to_owned(), Value::String(value));
            }
        }
    }
    // A geo point whose parts are both empty is a missing value, not a malformed one.
    fields.retain(|_, value| match value {
        Value::Object(point) => point
            .values()
            .any(|v| v.as_str().is_some_and(|s| !s.trim().is_empty())),
        _ => true,
    });
    Ok(ListingRecord {
        external_id: cell(&mapping.external_id_column).to_owned(),
        fields,
    })
}

fn to_i32(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> ImportMapping {
        ImportMapping {
            external_id_column: "id".into(),
            columns: vec![
                ColumnMapping {
                    column: "name".into(),
                    field: "name".into(),
                },
                ColumnMapping {
                    column: "latitude".into(),
                    field: "location.lat".into(),
                },
                ColumnMapping {
                    column: "longitude".into(),
                    field: "location.lon".into(),
                },
            ],
        }
    }

    #[test]
    fn geo_columns_combine_into_one_point() {
        let headers = csv::StringRecord::from(vec!["id", "name", "latitude", "longitude"]);
        let row = csv::StringRecord::from(vec!["35303", "La Casa", "35.67152", "139.71203"]);
        let record = to_listing_record(&headers, &row, &mapping()).unwrap();
        assert_eq!(record.external_id, "35303");
        assert_eq!(record.fields["location"]["lat"], "35.67152");
        assert_eq!(record.fields["location"]["lon"], "139.71203");
    }

    #[test]
    fn empty_geo_columns_make_a_missing_value() {
        let headers = csv::StringRecord::from(vec!["id", "name", "latitude", "longitude"]);
        let row = csv::StringRecord::from(vec!["1", "x", "", ""]);
        let record = to_listing_record(&headers, &row, &mapping()).unwrap();
        assert!(!record.fields.contains_key("location"));
    }

    #[test]
    fn row_with_wrong_column_count_is_rejected() {
        let headers = csv::StringRecord::from(vec!["id", "name", "latitude", "longitude"]);
        let row = csv::StringRecord::from(vec!["1", "x"]);
        let error = to_listing_record(&headers, &row, &mapping()).unwrap_err();
        assert!(matches!(error.problem, Problem::MalformedCsv { .. }));
    }

    #[test]
    fn headers_skip_byte_order_mark() {
        assert_eq!(
            read_headers("\u{feff}id,name\n1,x\n").unwrap(),
            vec!["id", "name"]
        );
    }
}
