//! CSV imports of listings: started here, run by the worker, watched by polling `listingImport`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::{
    ListingImportId, Permission,
    listings::imports::{self, ColumnMapping, ImportMapping, ImportStatus as DomainStatus},
};
use worker::{Job, jobs::JobKind};

use super::{
    context::ContextExt,
    error::{ApiResult, ResultExt},
    listings::ListingError,
};

/// The stage an import has reached.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ImportStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is storing the rows.
    Running,
    /// Every row was stored or rejected.
    Succeeded,
    /// The import stopped; rows stored before that stay stored.
    Failed,
}

impl From<DomainStatus> for ImportStatus {
    fn from(status: DomainStatus) -> Self {
        match status {
            DomainStatus::Queued => ImportStatus::Queued,
            DomainStatus::Running => ImportStatus::Running,
            DomainStatus::Succeeded => ImportStatus::Succeeded,
            DomainStatus::Failed => ImportStatus::Failed,
        }
    }
}

/// A CSV column and the listing field it fills.
#[derive(InputObject)]
pub struct CsvColumnMappingInput {
    /// The column name in the CSV header.
    pub column: String,
    /// The listing field name. For a geo point, map latitude and longitude columns to
    /// `field.lat` and `field.lon`, or a `lat,lon` column to `field`.
    pub field: String,
}

/// A CSV file of listings and how to read it.
#[derive(InputObject)]
pub struct ListingCsvImportInput {
    /// The whole file, UTF-8, RFC 4180 quoting, a header row first. At most 64 MiB.
    pub csv: String,
    /// The column holding each listing's external id.
    pub external_id_column: String,
    /// Columns to import; other columns are ignored. Each row replaces all stored values of its
    /// listing, so listing fields without a column are cleared.
    pub columns: Vec<CsvColumnMappingInput>,
}

/// A CSV import and its progress.
#[derive(SimpleObject)]
pub struct ListingImport {
    /// Pass to `listingImport` to follow progress.
    pub id: ID,
    /// The stage the import has reached.
    pub status: ImportStatus,
    /// Data rows in the file (the header not counted).
    pub total_rows: u64,
    /// Rows stored or rejected so far.
    pub processed_rows: u64,
    /// Listings stored for the first time.
    pub created: u64,
    /// Stored listings whose values changed.
    pub updated: u64,
    /// Rows whose values were already stored.
    pub unchanged: u64,
    /// Rows rejected; see `errors`.
    pub rejected: u64,
    /// The first 1,000 row errors; `index` is the row number (the header is row 1).
    pub errors: Vec<ListingError>,
    /// When the file was uploaded.
    pub created_at: DateTime<Utc>,
    /// When the import succeeded or failed.
    pub finished_at: Option<DateTime<Utc>>,
}

impl ListingImport {
    fn new(import: imports::ListingImport, locale: domain::Locale) -> Self {
        Self {
            id: ID(import.id.to_string()),
            status: import.status.into(),
            total_rows: import.total_rows as u64,
            processed_rows: import.processed_rows as u64,
            created: import.created as u64,
            updated: import.updated as u64,
            unchanged: import.unchanged as u64,
            rejected: import.rejected as u64,
            errors: import
                .errors
                .iter()
                .map(|e| ListingError {
                    index: e.row as u64,
                    external_id: e.external_id.clone(),
                    field: e.field.clone(),
                    value: e.value.clone(),
                    code: e.code.clone(),
                    message: e.message(locale).to_owned(),
                })
                .collect(),
            created_at: import.created_at,
            finished_at: import.finished_at,
        }
    }
}

#[derive(Default)]
pub struct ImportQuery;

#[Object]
impl ImportQuery {
    /// Recent CSV imports, newest first.
    async fn listing_imports(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many, 1 to 100.")] first: u64,
    ) -> ApiResult<Vec<ListingImport>> {
        let tenant_id = ctx.authorize(Permission::ReadListings)?;
        let locale = ctx.request().locale;
        let rows = imports::list(&ctx.state().db, tenant_id, first)
            .await
            .api(ctx)?;
        Ok(rows
            .into_iter()
            .map(|import| ListingImport::new(import, locale))
            .collect())
    }

    /// One CSV import; poll it to follow progress.
    async fn listing_import(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ListingImport> {
        let tenant_id = ctx.authorize(Permission::ReadListings)?;
        let Some(import_id) = uuid::Uuid::parse_str(&id).ok().map(ListingImportId) else {
            return Err(domain::Error::NotFound(
                domain::error::Resource::ListingImport,
            ))
            .api(ctx);
        };
        let import = imports::get(&ctx.state().db, tenant_id, import_id)
            .await
            .api(ctx)?;
        Ok(ListingImport::new(import, ctx.request().locale))
    }
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Checks the CSV header and mapping, stores the file and queues the import.
    async fn import_listings_csv(
        &self,
        ctx: &Context<'_>,
        input: ListingCsvImportInput,
    ) -> ApiResult<ListingImport> {
        let tenant_id = ctx.authorize(Permission::WriteListings)?;
        let created_by = ctx.principal()?.operator_id();
        let state = ctx.state();
        let mapping = ImportMapping {
            external_id_column: input.external_id_column,
            columns: input
                .columns
                .into_iter()
                .map(|c| ColumnMapping {
                    column: c.column,
                    field: c.field,
                })
                .collect(),
        };
        let import = imports::create(&state.db, tenant_id, created_by, input.csv, mapping)
            .await
            .api(ctx)?;

        let job = Job::new(
            tenant_id,
            JobKind::ImportListings {
                import_id: import.id,
            },
        );
        if let Err(error) = state.queue.push(job).await {
            tracing::error!(tenant.id = %tenant_id, import.id = %import.id, error = ?error, "could not queue import");
            imports::mark_failed(&state.db, tenant_id, import.id)
                .await
                .api(ctx)?;
            return Err(domain::Error::Internal(error)).api(ctx);
        }
        Ok(ListingImport::new(import, ctx.request().locale))
    }
}
