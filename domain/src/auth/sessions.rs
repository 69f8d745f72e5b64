//! Operator sessions: an access token plus a revocable, rotating refresh token.
//!
//! A refresh token is used once: each refresh revokes it and issues a new one. Presenting a
//! revoked token again means it was copied, so all of that operator's sessions are ended.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};

use super::{Role, tokens};
use crate::{
    Error, OperatorId, TenantId,
    entities::{operator, refresh_token, tenant},
    error::Result,
};

/// What a successful sign-up, login or refresh hands to the client.
pub struct Session {
    pub access_token: String,
    pub access_expires_at: chrono::DateTime<Utc>,
    /// Goes into an HttpOnly cookie; never into a response body or a log.
    pub refresh_token: String,
    pub operator: operator::Model,
    pub tenant: tenant::Model,
}

/// Issues an access token and a new refresh token for the operator.
pub async fn start(
    db: &impl sea_orm::ConnectionTrait,
    keys: &tokens::TokenKeys,
    tenant: tenant::Model,
    operator: operator::Model,
) -> Result<Session> {
    let now = Utc::now();
    let role =
        Role::parse(&operator.role).ok_or_else(|| anyhow::anyhow!("stored role is unknown"))?;
    let (access_token, access_expires_at) =
        keys.issue(TenantId(tenant.id), OperatorId(operator.id), role, now)?;
    let refresh_token = tokens::random_token();
    refresh_token::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        tenant_id: Set(tenant.id),
        operator_id: Set(operator.id),
        token_hash: Set(tokens::sha256_hex(&refresh_token)),
        expires_at: Set(now + tokens::REFRESH_TOKEN_TTL),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(Session {
        access_token,
        access_expires_at,
        refresh_token,
        operator,
        tenant,
    })
}

/// Exchanges a refresh token for a new session, revoking the old token.
pub async fn refresh(
    db: &DatabaseConnection,
    keys: &tokens::TokenKeys,
    presented: &str,
) -> Result<Session> {
    let now = Utc::now();
    let tx = crate::db::begin_write(db).await?;
    let stored = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(tokens::sha256_hex(presented)))
        .one(&tx)
        .await?
        .ok_or(Error::Unauthenticated)?;

    if stored.revoked_at.is_some() {
        revoke_all_for_operator(
            &tx,
            TenantId(stored.tenant_id),
            OperatorId(stored.operator_id),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(
            tenant.id = %stored.tenant_id,
            operator.id = %stored.operator_id,
            "revoked refresh token presented again; ended all sessions of the operator"
        );
        return Err(Error::Unauthenticated);
    }
    if stored.expires_at <= now {
        return Err(Error::Unauthenticated);
    }

    // Revoke only if still unrevoked, so that two concurrent refreshes cannot both succeed.
    let revoked = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(stored.id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&tx)
        .await?;
    if revoked.rows_affected != 1 {
        return Err(Error::Unauthenticated);
    }
    let operator = operator::Entity::find_by_id(stored.operator_id)
        .filter(operator::Column::TenantId.eq(stored.tenant_id))
        .one(&tx)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let tenant = tenant::Entity::find_by_id(stored.tenant_id)
        .one(&tx)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let session = start(&tx, keys, tenant, operator).await?;
    tx.commit().await?;
    Ok(session)
}

/// Revokes one refresh token (logging out). Unknown tokens are ignored.
pub async fn end(db: &DatabaseConnection, presented: &str) -> Result<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::TokenHash.eq(tokens::sha256_hex(presented)))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

async fn revoke_all_for_operator(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
    operator_id: OperatorId,
) -> Result<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::TenantId.eq(tenant_id.0))
        .filter(refresh_token::Column::OperatorId.eq(operator_id.0))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
