//! The listing schema and the listings themselves.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::{
    ListingId, Permission, Problem, ValidationError,
    listings::{self, ListingRecord, query, schema, upsert},
};
use serde_json::Value;

use super::{
    context::ContextExt,
    error::{ApiResult, ResultExt},
};

/// The type of a listing field, which decides how values are read and compared.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum FieldType {
    /// Free text.
    Text,
    /// A number, or a range stored as `{"min": .., "max": ..}`. Japanese forms such as `10万円`
    /// and `5.5万円～6.75万円` are read on input.
    Number,
    /// One of the field's options.
    Enum,
    /// Several words.
    Tags,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// Latitude and longitude, `{"lat": 35.68, "lon": 139.76}`.
    GeoPoint,
}

impl From<schema::FieldType> for FieldType {
    fn from(value: schema::FieldType) -> Self {
        match value {
            schema::FieldType::Text => FieldType::Text,
            schema::FieldType::Number => FieldType::Number,
            schema::FieldType::Enum => FieldType::Enum,
            schema::FieldType::Tags => FieldType::Tags,
            schema::FieldType::Date => FieldType::Date,
            schema::FieldType::GeoPoint => FieldType::GeoPoint,
        }
    }
}

impl From<FieldType> for schema::FieldType {
    fn from(value: FieldType) -> Self {
        match value {
            FieldType::Text => schema::FieldType::Text,
            FieldType::Number => schema::FieldType::Number,
            FieldType::Enum => schema::FieldType::Enum,
            FieldType::Tags => schema::FieldType::Tags,
            FieldType::Date => schema::FieldType::Date,
            FieldType::GeoPoint => schema::FieldType::GeoPoint,
        }
    }
}

/// One choice of an enum field.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "EnumOptionInput")]
pub struct EnumOption {
    /// The value stored in listings and sent by integrators, such as `Shinjuku Ku`.
    pub value: String,
    /// The Japanese label, such as `新宿区`.
    pub label_ja: String,
    /// The English label, such as `Shinjuku`.
    pub label_en: String,
}

/// A declared listing field.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "ListingFieldInput")]
pub struct ListingField {
    /// The key in listing values: a lowercase letter, then lowercase letters, digits or `_`.
    pub name: String,
    /// The type, which decides how values are read and compared.
    pub field_type: FieldType,
    /// The Japanese label shown to operators and members.
    pub label_ja: String,
    /// The English label; copied from the Japanese one when empty.
    pub label_en: String,
    /// Whether a listing without this value is rejected.
    #[graphql(default)]
    pub required: bool,
    /// The options of an `ENUM` field; ignored for other types.
    #[graphql(default)]
    pub options: Vec<EnumOption>,
}

impl From<schema::ListingField> for ListingField {
    fn from(field: schema::ListingField) -> Self {
        Self {
            name: field.name,
            field_type: field.field_type.into(),
            label_ja: field.label_ja,
            label_en: field.label_en,
            required: field.required,
            options: field
                .options
                .into_iter()
                .map(|o| EnumOption {
                    value: o.value,
                    label_ja: o.label_ja,
                    label_en: o.label_en,
                })
                .collect(),
        }
    }
}

impl From<ListingField> for schema::ListingField {
    fn from(field: ListingField) -> Self {
        Self {
            name: field.name,
            field_type: field.field_type.into(),
            label_ja: field.label_ja,
            label_en: field.label_en,
            required: field.required,
            options: field
                .options
                .into_iter()
                .map(|o| schema::EnumOption {
                    value: o.value,
                    label_ja: o.label_ja,
                    label_en: o.label_en,
                })
                .collect(),
        }
    }
}

/// A stored listing.
#[derive(SimpleObject)]
pub struct Listing {
    /// Tayori's id of the listing.
    pub id: ID,
    /// The id in the tenant's own system; upserts are keyed by it.
    pub external_id: String,
    /// The values, keyed by listing field name, as normalised when stored.
    pub fields: Json<Value>,
    /// When the listing was first stored.
    pub created_at: DateTime<Utc>,
    /// When its values last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<query::Listing> for Listing {
    fn from(listing: query::Listing) -> Self {
        Self {
            id: ID(listing.id.to_string()),
            external_id: listing.external_id,
            fields: Json(listing.fields),
            created_at: listing.created_at,
            updated_at: listing.updated_at,
        }
    }
}

/// One page of listings, newest first.
#[derive(SimpleObject)]
pub struct ListingConnection {
    /// The listings of this page.
    pub nodes: Vec<Listing>,
    /// Listings matching the search, across all pages.
    pub total_count: u64,
    /// Pass as `after` to get the next page.
    pub end_cursor: Option<String>,
    /// Whether another page follows.
    pub has_next_page: bool,
}

/// A listing to create or update.
#[derive(InputObject)]
pub struct ListingInput {
    /// The id in the tenant's own system, at most 200 characters.
    pub external_id: String,
    /// A JSON object of values keyed by listing field name. It replaces all stored values of
    /// the listing, so fields left out are cleared. Empty strings and null are missing values.
    pub fields: Json<Value>,
}

/// The problem of one rejected record. A record with several bad values has several entries.
#[derive(SimpleObject)]
pub struct ListingError {
    /// The record's position in the request (0-based), or, for CSV imports, the row number as a
    /// spreadsheet shows it (the header is row 1).
    pub index: u64,
    /// The record's external id, when it had one.
    pub external_id: Option<String>,
    /// The listing field (or `externalId`, `csv`) that was rejected.
    pub field: String,
    /// The value as given, cut to 200 characters.
    pub value: Option<String>,
    /// A stable code such as `NOT_A_NUMBER` or `UNKNOWN_OPTION`.
    pub code: String,
    /// An explanation of the problem and the fix, in the caller's language.
    pub message: String,
}

/// The outcome of a batch of listings.
#[derive(SimpleObject)]
pub struct UpsertListingsResult {
    /// Listings stored for the first time.
    pub created: u64,
    /// Stored listings whose values changed.
    pub updated: u64,
    /// Records whose values were already stored; nothing was written for them.
    pub unchanged: u64,
    /// Records rejected; see `errors`.
    pub rejected: u64,
    /// The problems of rejected records, ordered by index.
    pub errors: Vec<ListingError>,
}

#[derive(Default)]
pub struct ListingQuery;

#[Object]
impl ListingQuery {
    /// The listing fields, in display order.
    async fn listing_schema(&self, ctx: &Context<'_>) -> ApiResult<Vec<ListingField>> {
        let tenant_id = ctx.authorize(Permission::ReadSchema)?;
        let fields = schema::get(&ctx.state().db, tenant_id).await.api(ctx)?;
        Ok(fields.into_iter().map(ListingField::from).collect())
    }

    /// Listings, newest first. `search` matches the external id or any value.
    #[graphql(complexity = "first.clamp(1, 200) as usize * child_complexity")]
    async fn listings(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, desc = "Page size, 1 to 200.")] first: u64,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
        search: Option<String>,
    ) -> ApiResult<ListingConnection> {
        let tenant_id = ctx.authorize(Permission::ReadListings)?;
        let after = match after {
            Some(cursor) => Some(
                parse_listing_id(&cursor)
                    .ok_or_else(|| invalid_cursor(&cursor))
                    .api(ctx)?,
            ),
            None => None,
        };
        let page = query::list(&ctx.state().db, tenant_id, first, after, search.as_deref())
            .await
            .api(ctx)?;
        let end_cursor = page.nodes.last().map(|listing| listing.id.to_string());
        Ok(ListingConnection {
            nodes: page.nodes.into_iter().map(Listing::from).collect(),
            total_count: page.total_count,
            end_cursor,
            has_next_page: page.has_next_page,
        })
    }

    /// One listing by the tenant's external id.
    async fn listing(&self, ctx: &Context<'_>, external_id: String) -> ApiResult<Listing> {
        let tenant_id = ctx.authorize(Permission::ReadListings)?;
        Ok(
            query::get_by_external_id(&ctx.state().db, tenant_id, &external_id)
                .await
                .api(ctx)?
                .into(),
        )
    }
}

#[derive(Default)]
pub struct ListingMutation;

#[Object]
impl ListingMutation {
    /// Replaces the listing schema. Stored listings keep their values.
    async fn set_listing_schema(
        &self,
        ctx: &Context<'_>,
        fields: Vec<ListingField>,
    ) -> ApiResult<Vec<ListingField>> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        let fields = fields.into_iter().map(schema::ListingField::from).collect();
        let stored = schema::replace(&ctx.state().db, tenant_id, fields)
            .await
            .api(ctx)?;
        Ok(stored.into_iter().map(ListingField::from).collect())
    }

    /// Creates or updates one listing by its external id.
    async fn upsert_listing(
        &self,
        ctx: &Context<'_>,
        listing: ListingInput,
    ) -> ApiResult<UpsertListingsResult> {
        upsert_batch(ctx, vec![listing]).await
    }

    /// Creates or updates up to 10,000 listings. Invalid records are rejected one by one; the
    /// valid records of the same request are stored.
    async fn upsert_listings(
        &self,
        ctx: &Context<'_>,
        listings: Vec<ListingInput>,
    ) -> ApiResult<UpsertListingsResult> {
        upsert_batch(ctx, listings).await
    }
}

async fn upsert_batch(
    ctx: &Context<'_>,
    inputs: Vec<ListingInput>,
) -> ApiResult<UpsertListingsResult> {
    let tenant_id = ctx.authorize(Permission::WriteListings)?;
    let locale = ctx.request().locale;

    // Records whose `fields` is not an object are rejected here and never reach the domain.
    // `positions` maps each forwarded record back to its index in the request.
    let mut shape_errors = Vec::new();
    let mut positions = Vec::with_capacity(inputs.len());
    let mut records = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.into_iter().enumerate() {
        match input.fields.0 {
            Value::Object(fields) => {
                positions.push(index);
                records.push(ListingRecord {
                    external_id: input.external_id,
                    fields,
                });
            }
            other => {
                let error =
                    ValidationError::new("fields", Some(&other.to_string()), Problem::NotAnObject);
                shape_errors.push(listings::RecordError {
                    index,
                    external_id: Some(input.external_id),
                    error,
                });
            }
        }
    }
    let mut report = upsert::upsert(&ctx.state().db, tenant_id, records)
        .await
        .api(ctx)?;
    if report.created + report.updated > 0 {
        queue_matching(ctx, tenant_id).await;
    }
    for error in &mut report.errors {
        error.index = positions.get(error.index).copied().unwrap_or(error.index);
    }
    report.rejected += shape_errors.len();
    report.errors.extend(shape_errors);
    report.errors.sort_by_key(|e| e.index);
    Ok(to_result(report, locale))
}

/// Queues matching for the tenant's new and changed listings. A failure is logged and left to
/// the reconciler, which finds listings waiting for matching without a job.
pub(super) async fn queue_matching(ctx: &Context<'_>, tenant_id: domain::TenantId) {
    let job = worker::Job::new(tenant_id, worker::jobs::JobKind::MatchListings);
    if let Err(error) = ctx.state().queue.push(job).await {
        tracing::warn!(error = ?error, "could not queue matching; the reconciler will");
    }
}

fn to_result(report: listings::UpsertReport, locale: domain::Locale) -> UpsertListingsResult {
    let errors = report
        .errors
        .iter()
        .map(|e| ListingError {
            index: e.index as u64,
            external_id: e.external_id.clone(),
            field: e.error.field.clone(),
            value: e.error.value.clone(),
            code: e.error.problem_code().to_owned(),
            message: e.error.message(locale),
        })
        .collect();
    UpsertListingsResult {
        created: report.created as u64,
        updated: report.updated as u64,
        unchanged: report.unchanged as u64,
        rejected: report.rejected as u64,
        errors,
    }
}

fn parse_listing_id(text: &str) -> Option<ListingId> {
    uuid::Uuid::parse_str(text).ok().map(ListingId)
}

fn invalid_cursor(cursor: &str) -> domain::Error {
    ValidationError::new("after", Some(cursor), Problem::InvalidCursor).into()
}
