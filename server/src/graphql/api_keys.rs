//! API keys for integrators. Operators (owners and admins) manage them; a key cannot.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::{ApiKeyId, Permission, auth::api_keys, entities};

use super::{
    context::ContextExt,
    error::{ApiResult, ResultExt},
};

/// A permission of an API key.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ApiScope {
    /// Read listings and imports.
    ListingsRead,
    /// Create and update listings, one by one, in bulk or by CSV.
    ListingsWrite,
    /// Read the listing schema, profile fields, match rules and templates.
    SchemaRead,
    /// Change the listing schema, profile fields, match rules, templates and mail settings.
    SchemaWrite,
    /// Read members.
    MembersRead,
    /// Create, update, import and delete members.
    MembersWrite,
    /// Read deliveries, their content and why they were sent.
    DeliveriesRead,
}

impl From<api_keys::ApiScope> for ApiScope {
    fn from(scope: api_keys::ApiScope) -> Self {
        match scope {
            api_keys::ApiScope::ListingsRead => ApiScope::ListingsRead,
            api_keys::ApiScope::ListingsWrite => ApiScope::ListingsWrite,
            api_keys::ApiScope::SchemaRead => ApiScope::SchemaRead,
            api_keys::ApiScope::SchemaWrite => ApiScope::SchemaWrite,
            api_keys::ApiScope::MembersRead => ApiScope::MembersRead,
            api_keys::ApiScope::MembersWrite => ApiScope::MembersWrite,
            api_keys::ApiScope::DeliveriesRead => ApiScope::DeliveriesRead,
        }
    }
}

impl From<ApiScope> for api_keys::ApiScope {
    fn from(scope: ApiScope) -> Self {
        match scope {
            ApiScope::ListingsRead => api_keys::ApiScope::ListingsRead,
            ApiScope::ListingsWrite => api_keys::ApiScope::ListingsWrite,
            ApiScope::SchemaRead => api_keys::ApiScope::SchemaRead,
            ApiScope::SchemaWrite => api_keys::ApiScope::SchemaWrite,
            ApiScope::MembersRead => api_keys::ApiScope::MembersRead,
            ApiScope::MembersWrite => api_keys::ApiScope::MembersWrite,
            ApiScope::DeliveriesRead => api_keys::ApiScope::DeliveriesRead,
        }
    }
}

/// An API key, without its secret.
#[derive(SimpleObject)]
pub struct ApiKey {
    /// Pass to `revokeApiKey`.
    pub id: ID,
    /// A name to recognise the key by, such as the integrating system.
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    /// The key's permissions.
    pub scopes: Vec<ApiScope>,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Set once the key is revoked; a revoked key is rejected.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<entities::api_key::Model> for ApiKey {
    fn from(row: entities::api_key::Model) -> Self {
        Self {
            id: ID(row.id.to_string()),
            name: row.name,
            prefix: row.prefix,
            scopes: api_keys::parse_scopes(&row.scopes)
                .into_iter()
                .map(ApiScope::from)
                .collect(),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// A new key and its secret, which is shown only this once.
#[derive(SimpleObject)]
pub struct CreatedApiKey {
    /// The stored key.
    pub api_key: ApiKey,
    /// Send as `Authorization: Bearer <secret>`. Store it now: it cannot be shown again.
    pub secret: String,
}

/// A new API key.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// A name to recognise the key by, at most 100 characters.
    pub name: String,
    /// At least one scope.
    pub scopes: Vec<ApiScope>,
}

#[derive(Default)]
pub struct ApiKeyQuery;

#[Object]
impl ApiKeyQuery {
    /// The tenant's API keys, newest first, revoked ones included. Owners and admins only.
    async fn api_keys(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiKey>> {
        let tenant_id = ctx.authorize(Permission::ManageApiKeys)?;
        let rows = api_keys::list(&ctx.state().db, tenant_id).await.api(ctx)?;
        Ok(rows.into_iter().map(ApiKey::from).collect())
    }
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates an API key. Owners and admins only.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> ApiResult<CreatedApiKey> {
        let tenant_id = ctx.authorize(Permission::ManageApiKeys)?;
        let created_by = ctx.principal()?.operator_id();
        let scopes: Vec<api_keys::ApiScope> = input.scopes.into_iter().map(Into::into).collect();
        let created =
            api_keys::create(&ctx.state().db, tenant_id, created_by, &input.name, &scopes)
                .await
                .api(ctx)?;
        tracing::info!(tenant.id = %tenant_id, api_key.id = %created.api_key.id, "API key created");
        Ok(CreatedApiKey {
            api_key: created.api_key.into(),
            secret: created.secret,
        })
    }

    /// Revokes an API key at once. Owners and admins only.
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ApiKey> {
        let tenant_id = ctx.authorize(Permission::ManageApiKeys)?;
        let Some(key_id) = uuid::Uuid::parse_str(&id).ok().map(ApiKeyId) else {
            return Err(domain::Error::NotFound(domain::error::Resource::ApiKey)).api(ctx);
        };
        let revoked = api_keys::revoke(&ctx.state().db, tenant_id, key_id)
            .await
            .api(ctx)?;
        tracing::info!(tenant.id = %tenant_id, api_key.id = %revoked.id, "API key revoked");
        Ok(revoked.into())
    }
}
