//! The suppression list: addresses a tenant never mails (unsubscribed, hard bounce, complaint,
//! or added by an operator). Checked before every send.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::OnConflict,
};

use crate::{
    TenantId,
    entities::suppression,
    error::{Error, Problem, Result, ValidationError},
    operators::validate_email,
};

/// Addresses per `IN (...)` list.
const IN_LIST_CHUNK: usize = 500;
const MAX_PAGE: u64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Unsubscribed,
    HardBounce,
    Complaint,
    Manual,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unsubscribed => "unsubscribed",
            Reason::HardBounce => "hard_bounce",
            Reason::Complaint => "complaint",
            Reason::Manual => "manual",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Unsubscribed,
            Self::HardBounce,
            Self::Complaint,
            Self::Manual,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == value)
    }
}

#[derive(Debug, Clone)]
pub struct Suppression {
    pub address: String,
    pub reason: Reason,
    pub detail: String,
    pub created_at: DateTime<Utc>,
}

/// Adds an address; an address already on the list keeps its first reason.
pub async fn add(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    address: &str,
    reason: Reason,
    detail: &str,
) -> Result<()> {
    let address = address.trim().to_lowercase();
    if address.is_empty() {
        return Err(ValidationError::new("address", Some(&address), Problem::Required).into());
    }
    let row = suppression::ActiveModel {
        tenant_id: sea_orm::Set(tenant_id.0),
        address: sea_orm::Set(address),
        reason: sea_orm::Set(reason.as_str().to_owned()),
        detail: sea_orm::Set(detail.chars().take(1_000).collect()),
        created_at: sea_orm::Set(Utc::now()),
    };
    match suppression::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([suppression::Column::TenantId, suppression::Column::Address])
                .do_nothing()
                .to_owned(),
        )
        .exec(db)
        .await
    {
        Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => {}
        Err(error) => return Err(error.into()),
    }
    tracing::info!(tenant.id = %tenant_id, reason = reason.as_str(), "address suppressed");
    Ok(())
}

/// Adds an address an operator typed, checking its form first.
pub async fn add_manual(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    address: &str,
    note: &str,
) -> Result<()> {
    let address = validate_email("address", address)?;
    add(db, tenant_id, &address, Reason::Manual, note).await
}

/// Removes an address. Returns whether it was on the list.
pub async fn remove(db: &impl ConnectionTrait, tenant_id: TenantId, address: &str) -> Result<bool> {
    let deleted = suppression::Entity::delete_many()
        .filter(suppression::Column::TenantId.eq(tenant_id.0))
        .filter(suppression::Column::Address.eq(address.trim().to_lowercase()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// Lists the tenant's suppressions, newest first, optionally those containing `search`.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    search: Option<&str>,
    first: u64,
) -> Result<Vec<Suppression>> {
    let mut query = suppression::Entity::find()
        .filter(suppression::Column::TenantId.eq(tenant_id.0))
        .order_by_desc(suppression::Column::CreatedAt)
        .order_by_asc(suppression::Column::Address)
        .limit(first.clamp(1, MAX_PAGE));
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        query = query.filter(suppression::Column::Address.contains(search.to_lowercase()));
    }
    let rows = query.all(db).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Suppression {
                reason: Reason::parse(&row.reason).ok_or_else(|| {
                    Error::Internal(anyhow::anyhow!("unknown suppression reason {}", row.reason))
                })?,
                address: row.address,
                detail: row.detail,
                created_at: row.created_at,
            })
        })
        .collect()
}

/// Returns which of `addresses` (lower-cased) are suppressed.
pub async fn suppressed_among(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    addresses: &[String],
) -> Result<HashSet<String>> {
    let mut found = HashSet::new();
    let lowered: Vec<String> = addresses.iter().map(|a| a.to_lowercase()).collect();
    for chunk in lowered.chunks(IN_LIST_CHUNK) {
        let rows: Vec<String> = suppression::Entity::find()
            .select_only()
            .column(suppression::Column::Address)
            .filter(suppression::Column::TenantId.eq(tenant_id.0))
            .filter(suppression::Column::Address.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}
