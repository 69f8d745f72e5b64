//! API keys for integrators: created once, shown once, stored as a hash, limited by scopes.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};
use serde::{Deserialize, Serialize};

use super::{Principal, tokens};
use crate::{
    ApiKeyId, Error, OperatorId, Problem, TenantId, ValidationError,
    entities::api_key,
    error::{Resource, Result},
};

/// Every key starts with this, so that secret scanners and people can recognise it.
pub const KEY_PREFIX: &str = "tyk_";
/// How many leading characters of a key are stored in clear to tell keys apart.
const SHOWN_PREFIX_CHARS: usize = 12;

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiScope {
    ListingsRead,
    ListingsWrite,
    SchemaRead,
    SchemaWrite,
    MembersRead,
    MembersWrite,
    DeliveriesRead,
}

impl ApiScope {
    pub const ALL: [ApiScope; 7] = [
        ApiScope::ListingsRead,
        ApiScope::ListingsWrite,
        ApiScope::SchemaRead,
        ApiScope::SchemaWrite,
        ApiScope::MembersRead,
        ApiScope::MembersWrite,
        ApiScope::DeliveriesRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::ListingsRead => "listings:read",
            ApiScope::ListingsWrite => "listings:write",
            ApiScope::SchemaRead => "schema:read",
            ApiScope::SchemaWrite => "schema:write",
            ApiScope::MembersRead => "members:read",
            ApiScope::MembersWrite => "members:write",
            ApiScope::DeliveriesRead => "deliveries:read",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        ApiScope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == value)
    }
}

/// Stored scopes are a comma-separated list; unknown names are skipped.
pub fn parse_scopes(stored: &str) -> Vec<ApiScope> {
    stored
        .split(',')
        .filter_map(|s| ApiScope::parse(s.trim()))
        .collect()
}

/// A new key and the only copy of its secret.
pub struct CreatedApiKey {
    pub api_key: api_key::Model,
    pub secret: String,
}

/// Creates a key for the tenant. The caller must hold `ManageApiKeys`.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    created_by: Option<OperatorId>,
    name: &str,
    scopes: &[ApiScope],
) -> Result<CreatedApiKey> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ValidationError::new("name", Some(name), Problem::Required).into());
    }
    if name.chars().count() > 100 {
        return Err(ValidationError::new("name", Some(name), Problem::TooLong { max: 100 }).into());
    }
    if scopes.is_empty() {
        return Err(ValidationError::new("scopes", None, Problem::NoScopes).into());
    }

    let secret = format!("{KEY_PREFIX}{}", tokens::random_token());
    let mut unique_scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    unique_scopes.sort_unstable();
    unique_scopes.dedup();
    let model = api_key::ActiveModel {
        id: Set(ApiKeyId::new().0),
        tenant_id: Set(tenant_id.0),
        name: Set(name.to_owned()),
        prefix: Set(secret.chars().take(SHOWN_PREFIX_CHARS).collect()),
        key_hash: Set(tokens::sha256_hex(&secret)),
        scopes: Set(unique_scopes.join(",")),
        created_by: Set(created_by.map(|id| id.0)),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(CreatedApiKey {
        api_key: model,
        secret,
    })
}

/// Lists the tenant's keys, newest first, revoked ones included.
pub async fn list(db: &DatabaseConnection, tenant_id: TenantId) -> Result<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::TenantId.eq(tenant_id.0))
        .order_by_desc(api_key::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Revokes a key of the tenant; another tenant's key id answers `NotFound`.
pub async fn revoke(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    id: ApiKeyId,
) -> Result<api_key::Model> {
    let key = api_key::Entity::find_by_id(id.0)
        .filter(api_key::Column::TenantId.eq(tenant_id.0))
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::ApiKey))?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let mut active: api_key::ActiveModel = key.into();
    active.revoked_at = Set(Some(Utc::now()));
    Ok(active.update(db).await?)
}

/// Finds the principal of a presented key, or `None` for unknown and revoked keys.
pub async fn authenticate(db: &DatabaseConnection, presented: &str) -> Result<Option<Principal>> {
    if !presented.starts_with(KEY_PREFIX) {
        return Ok(None);
    }
    let Some(key) = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(tokens::sha256_hex(presented)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };

    // Recording the last use at minute granularity keeps busy keys from writing on every call.
    let now = Utc::now();
    if key
        .last_used_at
        .is_none_or(|at| now - at > chrono::Duration::minutes(1))
    {
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(key.id))
            .filter(api_key::Column::TenantId.eq(key.tenant_id))
            .exec(db)
            .await?;
    }
    Ok(Some(Principal::ApiKey {
        tenant_id: TenantId(key.tenant_id),
        api_key_id: ApiKeyId(key.id),
        scopes: parse_scopes(&key.scopes),
    }))
}
