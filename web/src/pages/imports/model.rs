//! The `ListingImport` type and the requests that read and start imports.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, ApiError, null_as_default, string_literal};
use crate::i18n::Catalogue;

/// The selection set of a `ListingImport` without its row errors, for the list.
const IMPORT_SUMMARY_FIELDS: &str =
    "id status totalRows processedRows created updated unchanged rejected createdAt finishedAt";

/// The GraphQL enum `ListingImportStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ImportStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    /// A status this build of the dashboard does not know; treated as finished.
    #[serde(other)]
    Unknown,
}

impl ImportStatus {
    /// Returns whether the worker still has to process the import.
    pub fn is_active(self) -> bool {
        matches!(self, ImportStatus::Queued | ImportStatus::Running)
    }

    /// Returns the status in the UI language.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            ImportStatus::Queued => t.import_status_queued,
            ImportStatus::Running => t.import_status_running,
            ImportStatus::Succeeded => t.import_status_succeeded,
            ImportStatus::Failed => t.import_status_failed,
            ImportStatus::Unknown => t.import_status_unknown,
        }
    }

    /// Returns the CSS classes of the status badge.
    pub fn badge_class(self) -> &'static str {
        match self {
            ImportStatus::Queued | ImportStatus::Running => "badge badge-active",
            ImportStatus::Succeeded => "badge badge-success",
            ImportStatus::Failed => "badge badge-danger",
            ImportStatus::Unknown => "badge",
        }
    }
}

/// One rejected CSV row.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    /// 1-based CSV row number.
    pub index: u64,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub code: Option<String>,
    pub message: String,
}

impl RowError {
    /// Returns the rejected value as text: a string as it is, anything else as JSON.
    pub fn value_text(&self) -> String {
        match &self.value {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        }
    }
}

/// A CSV import job and its progress.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingImport {
    pub id: String,
    pub status: ImportStatus,
    pub total_rows: u64,
    pub processed_rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Empty in the list, which does not ask for row errors.
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<RowError>,
    pub created_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
}

impl ListingImport {
    /// Returns the status in the UI language; a finished import with rejected rows says so.
    pub fn status_label(&self, t: &Catalogue) -> &'static str {
        if self.has_rejected_rows() {
            t.import_status_succeeded_with_errors
        } else {
            self.status.label(t)
        }
    }

    /// Returns the CSS classes of the status badge.
    pub fn badge_class(&self) -> &'static str {
        if self.has_rejected_rows() {
            "badge badge-warning"
        } else {
            self.status.badge_class()
        }
    }

    fn has_rejected_rows(&self) -> bool {
        self.status == ImportStatus::Succeeded && self.rejected > 0
    }
}

impl ListingImport {
    /// Progress in percent, or `None` while the row count is not known yet.
    pub fn percent(&self) -> Option<u64> {
        (self.total_rows > 0)
            .then(|| (self.processed_rows.min(self.total_rows) * 100) / self.total_rows)
    }
}

/// Returns the selection set of a `ListingImport` with its row errors.
fn import_detail_fields() -> String {
    format!("{IMPORT_SUMMARY_FIELDS} errors {{ index externalId field value code message }}")
}

/// A mapping of one CSV column to one schema field.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnMapping {
    pub column: String,
    pub field: String,
}

/// Starts an import with `importListingsCsv`.
pub async fn start_import(
    api: Api,
    csv: String,
    external_id_column: String,
    columns: &[ColumnMapping],
) -> Result<ListingImport, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        import_listings_csv: ListingImport,
    }
    let columns = columns
        .iter()
        .map(|mapping| {
            format!(
                "{{column: {}, field: {}}}",
                string_literal(&mapping.column),
                string_literal(&mapping.field)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let query = format!(
        "mutation ImportListingsCsv($csv: String!, $externalIdColumn: String!) \
         {{ importListingsCsv(input: {{csv: $csv, externalIdColumn: $externalIdColumn, \
         columns: [{columns}]}}) {{ {fields} }} }}",
        fields = import_detail_fields(),
    );
    let variables = json!({ "csv": csv, "externalIdColumn": external_id_column });
    let data: Data = api.request(&query, variables).await?;
    Ok(data.import_listings_csv)
}

/// Fetches one import with its row errors.
pub async fn fetch_import(api: Api, id: &str) -> Result<ListingImport, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        listing_import: Option<ListingImport>,
    }
    let query = format!(
        "query ListingImport {{ listingImport(id: {id}) {{ {fields} }} }}",
        id = string_literal(id),
        fields = import_detail_fields(),
    );
    let data: Data = api.request(&query, json!({})).await?;
    data.listing_import
        .ok_or_else(|| ApiError::Decode(format!("listingImport({id}) returned null")))
}

/// Fetches the 20 most recent imports, without row errors.
pub async fn fetch_recent_imports(api: Api) -> Result<Vec<ListingImport>, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        listing_imports: Vec<ListingImport>,
    }
    let query = format!(
        "query ListingImports {{ listingImports(first: 20) {{ {IMPORT_SUMMARY_FIELDS} }} }}"
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.listing_imports)
}
