//! Reading listings: one page at a time, newest first, with an optional text search.

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr},
};
use serde_json::Value;

use super::{
    numbers::parse_number,
    schema::{self, FieldType, ListingField, fold},
};
use crate::{
    Error, ListingId, TenantId,
    entities::{listing, tenant},
    error::{Resource, Result},
};

/// The largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u64 = 200;

/// A stored listing with its values parsed.
#[derive(Debug, Clone)]
pub struct Listing {
    pub id: ListingId,
    pub external_id: String,
    pub fields: Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl TryFrom<listing::Model> for Listing {
    type Error = Error;

    fn try_from(row: listing::Model) -> Result<Self> {
        let fields = serde_json::from_str(&row.fields).map_err(|error| {
            anyhow::anyhow!("stored fields of listing {} are malformed: {error}", row.id)
        })?;
        Ok(Listing {
            id: ListingId(row.id),
            external_id: row.external_id,
            fields,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// One page of listings.
pub struct ListingPage {
    pub nodes: Vec<Listing>,
    pub total_count: u64,
    pub has_next_page: bool,
}

/// Lists the tenant's listings, newest first. `after` is the id of the last listing of the
/// previous page; `search` matches the external id or any value, case-insensitively, and also
/// what the dashboard shows for a value: an option's label (新宿区 finds `Shinjuku Ku`) and a
/// number written with separators or units (`4,208`, `10万`).
pub async fn list(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    first: u64,
    after: Option<ListingId>,
    search: Option<&str>,
) -> Result<ListingPage> {
    let first = first.clamp(1, MAX_PAGE_SIZE);
    let mut query = listing::Entity::find().filter(listing::Column::TenantId.eq(tenant_id.0));
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let like = |column: listing::Column, text: &str| {
            let pattern = format!("%{}%", escape_like(&fold(text)));
            Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\'))
        };
        // `search_text` contains the folded values without the JSON keys.
        let mut condition = Condition::any().add(like(listing::Column::ExternalId, search));
        for text in search_terms(&schema::get(db, tenant_id).await?, search) {
            condition = condition.add(like(listing::Column::SearchText, &text));
        }
        query = query.filter(condition);
    }
    let total_count = if search.is_some_and(|s| !s.trim().is_empty()) {
        query.clone().count(db).await?
    } else {
        count(db, tenant_id).await?
    };

    if let Some(after) = after {
        query = query.filter(listing::Column::Id.lt(after.0));
    }
    // UUID v7 ids sort by creation time, so the id doubles as a stable cursor.
    let mut rows = query
        .order_by_desc(listing::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
    let nodes = rows
        .into_iter()
        .map(Listing::try_from)
        .collect::<Result<_>>()?;
    Ok(ListingPage {
        nodes,
        total_count,
        has_next_page,
    })
}

/// Finds one listing of the tenant by the tenant's external id.
pub async fn get_by_external_id(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    external_id: &str,
) -> Result<Listing> {
    listing::Entity::find()
        .filter(listing::Column::TenantId.eq(tenant_id.0))
        .filter(listing::Column::ExternalId.eq(external_id.trim()))
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::Listing))?
        .try_into()
}

/// Counts the tenant's listings.
/// Counts the tenant's listings, from the counter that upserts keep on the tenant.
pub async fn count(db: &DatabaseConnection, tenant_id: TenantId) -> Result<u64> {
    let tenant = tenant::Entity::find_by_id(tenant_id.0)
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::Tenant))?;
    Ok(u64::try_from(tenant.listing_count).unwrap_or(0))
}

/// The texts to look for in stored values: the search itself, the stored value of every option
/// whose label or value contains it, and the plain form of a number.
fn search_terms(schema: &[ListingField], search: &str) -> Vec<String> {
    const MAX_TERMS: usize = 50;
    let folded = fold(search);
    let mut terms = vec![search.to_owned()];
    for field in schema.iter().filter(|f| f.field_type == FieldType::Enum) {
        for option in &field.options {
            let labels = [&option.value, &option.label_ja, &option.label_en];
            if labels.iter().any(|label| fold(label).contains(&folded))
                && !terms.contains(&option.value)
            {
                terms.push(option.value.clone());
            }
        }
    }
    if let Some(number) = parse_number(search).filter(|n| n.fract() == 0.0 && n.abs() < 1e15) {
        terms.push(format!("{number:.0}"));
    }
    terms.truncate(MAX_TERMS);
    terms
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
