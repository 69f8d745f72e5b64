//! Per-tenant leases: a row that says which worker holds a tenant's matching or outbox until
//! when. A worker that dies loses its lease when it expires.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Alias, Expr, ExprTrait, OnConflict},
};
use uuid::Uuid;

use crate::{TenantId, entities::tenant_lease, error::Result};

/// Takes or renews the lease `name` of the tenant for `holder` until `now + ttl`. Returns false
/// when another holder has an unexpired lease.
pub async fn acquire(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    name: &str,
    holder: Uuid,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<bool> {
    let row = tenant_lease::ActiveModel {
        tenant_id: Set(tenant_id.0),
        name: Set(name.to_owned()),
        holder: Set(holder),
        expires_at: Set(now + ttl),
    };
    let free = Expr::col((tenant_lease::Entity, tenant_lease::Column::ExpiresAt))
        .lt(now)
        .or(
            Expr::col((tenant_lease::Entity, tenant_lease::Column::Holder)).eq(Expr::col((
                Alias::new("excluded"),
                tenant_lease::Column::Holder,
            ))),
        );
    let on_conflict =
        OnConflict::columns([tenant_lease::Column::TenantId, tenant_lease::Column::Name])
            .update_columns([
                tenant_lease::Column::Holder,
                tenant_lease::Column::ExpiresAt,
            ])
            .action_and_where(free)
            .to_owned();
    match tenant_lease::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await
    {
        Ok(rows) => Ok(rows == 1),
        Err(sea_orm::DbErr::RecordNotInserted) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The lease of a tenant's matching and digests: both write the members' collecting digests.
pub const MATCHING: &str = "matching";

/// Renews the lease `name` of the tenant until `now + ttl` if `holder` still has it, and returns
/// whether it does. Called first in a transaction, it also keeps any new holder waiting until
/// that transaction ends, so work done under a lost lease is rolled back instead of committed.
pub async fn renew(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    name: &str,
    holder: Uuid,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<bool> {
    let renewed = tenant_lease::Entity::update_many()
        .col_expr(tenant_lease::Column::ExpiresAt, Expr::value(now + ttl))
        .filter(tenant_lease::Column::TenantId.eq(tenant_id.0))
        .filter(tenant_lease::Column::Name.eq(name))
        .filter(tenant_lease::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(renewed.rows_affected == 1)
}

/// Gives the lease up, if `holder` still has it.
pub async fn release(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    name: &str,
    holder: Uuid,
) -> Result<()> {
    tenant_lease::Entity::delete_many()
        .filter(tenant_lease::Column::TenantId.eq(tenant_id.0))
        .filter(tenant_lease::Column::Name.eq(name))
        .filter(tenant_lease::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}
