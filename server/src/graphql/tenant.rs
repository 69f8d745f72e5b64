//! The caller's tenant and its operators.

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject,
};
use chrono::{DateTime, Utc};
use domain::{Permission, Principal, branding, entities, operators, tenants};
use secrecy::SecretString;

use super::{
    api_keys::ApiScope,
    context::ContextExt,
    error::{ApiResult, ResultExt},
};

/// A language of the product.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum Locale {
    /// Japanese (the default).
    #[default]
    Ja,
    /// English.
    En,
}

impl From<Locale> for domain::Locale {
    fn from(locale: Locale) -> Self {
        match locale {
            Locale::Ja => domain::Locale::Ja,
            Locale::En => domain::Locale::En,
        }
    }
}

impl From<domain::Locale> for Locale {
    fn from(locale: domain::Locale) -> Self {
        match locale {
            domain::Locale::Ja => Locale::Ja,
            domain::Locale::En => Locale::En,
        }
    }
}

/// An operator's role.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OperatorRole {
    /// Everything, including granting the owner role.
    Owner,
    /// Everything except granting the owner role.
    Admin,
    /// Reads everything, changes nothing.
    Viewer,
}

impl From<domain::Role> for OperatorRole {
    fn from(role: domain::Role) -> Self {
        match role {
            domain::Role::Owner => OperatorRole::Owner,
            domain::Role::Admin => OperatorRole::Admin,
            domain::Role::Viewer => OperatorRole::Viewer,
        }
    }
}

impl From<OperatorRole> for domain::Role {
    fn from(role: OperatorRole) -> Self {
        match role {
            OperatorRole::Owner => domain::Role::Owner,
            OperatorRole::Admin => domain::Role::Admin,
            OperatorRole::Viewer => domain::Role::Viewer,
        }
    }
}

/// A person who administers a tenant.
#[derive(SimpleObject)]
pub struct Operator {
    /// Tayori's id of the operator.
    pub id: ID,
    /// The login name.
    pub email: String,
    /// The operator's permissions.
    pub role: OperatorRole,
    /// The operator's preferred language.
    pub locale: Locale,
    /// When the operator was added.
    pub created_at: DateTime<Utc>,
}

impl From<entities::operator::Model> for Operator {
    fn from(row: entities::operator::Model) -> Self {
        Self {
            id: ID(row.id.to_string()),
            email: row.email,
            role: domain::Role::parse(&row.role)
                .unwrap_or(domain::Role::Viewer)
                .into(),
            locale: domain::Locale::from_tag(&row.locale).into(),
            created_at: row.created_at,
        }
    }
}

/// A business using Tayori.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Tenant {
    /// Tayori's id of the tenant.
    pub id: ID,
    /// The business ID used in URLs and on the login form.
    pub slug: String,
    /// The business name.
    pub name: String,
    /// The language of member pages and mails unless a member chose another.
    pub default_locale: Locale,
    /// IANA time zone for schedules, such as `Asia/Tokyo`.
    pub time_zone: String,
    /// When the tenant signed up.
    pub created_at: DateTime<Utc>,
    /// The number of listings the tenant has stored.
    pub listing_count: u64,
    /// Whether members hear again, once per version, about a listing that changed after it
    /// was mailed to them. Off by default: updates mail nothing.
    pub notify_on_change: bool,
    /// Whether member addresses such as `taro..hanako@docomo.ne.jp` (consecutive dots, or a dot
    /// at either end of the part before the @) are accepted and mailed with that part quoted.
    /// Off by default: they are rejected with an explanation.
    pub accepts_nonstandard_addresses: bool,
    /// The member pages' button and link colour as `#rrggbb`; null for Tayori's blue.
    pub brand_color: Option<String>,
    /// The member pages' header background as `#rrggbb`; null for white.
    pub header_color: Option<String>,
    #[graphql(skip)]
    pub logo_updated_at: Option<DateTime<Utc>>,
}

#[ComplexObject]
impl Tenant {
    /// The address of the logo shown on the member pages; null without a logo. It changes
    /// whenever the logo does, so it can be cached.
    async fn logo_url(&self, ctx: &Context<'_>) -> Option<String> {
        self.logo_updated_at.map(|updated| {
            format!(
                "{}/m/{}/logo?v={}",
                public_url(ctx),
                self.slug,
                updated.timestamp_millis()
            )
        })
    }

    /// The member sign-up page to link from the tenant's own site.
    async fn signup_url(&self, ctx: &Context<'_>) -> String {
        format!("{}/m/{}/signup", public_url(ctx), self.slug)
    }
}

fn public_url<'a>(ctx: &'a Context<'_>) -> &'a str {
    ctx.state().sending.public_url.trim_end_matches('/')
}

impl From<entities::tenant::Model> for Tenant {
    fn from(row: entities::tenant::Model) -> Self {
        Self {
            id: ID(row.id.to_string()),
            listing_count: u64::try_from(row.listing_count).unwrap_or(0),
            slug: row.slug,
            name: row.name,
            default_locale: domain::Locale::from_tag(&row.default_locale).into(),
            time_zone: row.time_zone,
            created_at: row.created_at,
            notify_on_change: row.notify_on_change,
            accepts_nonstandard_addresses: row.accept_nonstandard_addresses,
            brand_color: row.brand_color,
            header_color: row.header_color,
            logo_updated_at: row.logo_updated_at,
        }
    }
}

/// The caller: an operator, or an API key with scopes.
#[derive(SimpleObject)]
pub struct Viewer {
    /// The caller's tenant.
    pub tenant: Tenant,
    /// The operator, when the caller logged in as one.
    pub operator: Option<Operator>,
    /// The scopes, when the caller is an API key.
    pub scopes: Option<Vec<ApiScope>>,
}

/// A colleague to add to the tenant.
#[derive(InputObject)]
pub struct AddOperatorInput {
    /// The new operator's login name.
    pub email: String,
    /// At least 10 characters; the new operator should change it after the first login.
    #[graphql(secret)]
    pub password: String,
    /// The new operator's permissions.
    pub role: OperatorRole,
    /// The new operator's language.
    #[graphql(default)]
    pub locale: Locale,
}

#[derive(Default)]
pub struct TenantQuery;

#[Object]
impl TenantQuery {
    /// The caller: their tenant and, for operators, themselves.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Viewer> {
        let principal = ctx.principal()?.clone();
        let db = &ctx.state().db;
        let tenant = tenants::get(db, principal.tenant_id()).await.api(ctx)?;
        let (operator, scopes) = match &principal {
            Principal::Operator {
                tenant_id,
                operator_id,
                ..
            } => (
                Some(
                    operators::get(db, *tenant_id, *operator_id)
                        .await
                        .api(ctx)?
                        .into(),
                ),
                None,
            ),
            Principal::ApiKey { scopes, .. } => (
                None,
                Some(scopes.iter().copied().map(ApiScope::from).collect()),
            ),
        };
        Ok(Viewer {
            tenant: tenant.into(),
            operator,
            scopes,
        })
    }

    /// The caller's tenant.
    async fn tenant(&self, ctx: &Context<'_>) -> ApiResult<Tenant> {
        let tenant_id = ctx.authorize(Permission::ReadTenant)?;
        Ok(tenants::get(&ctx.state().db, tenant_id)
            .await
            .api(ctx)?
            .into())
    }

    /// The tenant's operators, oldest first. Operators only.
    async fn operators(&self, ctx: &Context<'_>) -> ApiResult<Vec<Operator>> {
        let principal = ctx.principal()?;
        if principal.operator_id().is_none() {
            return Err(domain::Error::Forbidden).api(ctx);
        }
        let rows = operators::list(&ctx.state().db, principal.tenant_id())
            .await
            .api(ctx)?;
        Ok(rows.into_iter().map(Operator::from).collect())
    }
}

#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Adds an operator. Owners and admins only; only an owner may add an owner.
    async fn add_operator(
        &self,
        ctx: &Context<'_>,
        input: AddOperatorInput,
    ) -> ApiResult<Operator> {
        let tenant_id = ctx.authorize(Permission::ManageOperators)?;
        let Principal::Operator { role, .. } = ctx.principal()? else {
            return Err(domain::Error::Forbidden).api(ctx);
        };
        let add = operators::AddOperator {
            email: input.email,
            password: SecretString::from(input.password),
            role: input.role.into(),
            locale: input.locale.into(),
        };
        Ok(operators::add(&ctx.state().db, tenant_id, *role, add)
            .await
            .api(ctx)?
            .into())
    }

    /// Sets the colours of the member pages as `#rrggbb` (or `#rgb`). A colour left out stays
    /// as it is; null or an empty string returns it to Tayori's. Text on each colour is chosen
    /// for contrast, and links are darkened where the colour is too light to read on white.
    async fn set_brand_colors(
        &self,
        ctx: &Context<'_>,
        brand_color: MaybeUndefined<String>,
        header_color: MaybeUndefined<String>,
    ) -> ApiResult<Tenant> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        // Left out: keep; null: reset (as an empty text); a value: set.
        let change = |value: &MaybeUndefined<String>| match value {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(String::new()),
            MaybeUndefined::Value(text) => Some(text.clone()),
        };
        let (brand, header) = (change(&brand_color), change(&header_color));
        Ok(branding::set_colors(
            &ctx.state().db,
            tenant_id,
            brand.as_deref(),
            header.as_deref(),
        )
        .await
        .api(ctx)?
        .into())
    }

    /// Sets the logo of the member pages: a PNG, JPEG, GIF or WebP file of at most 256 KB,
    /// as standard base64 (a `data:image/...;base64,` prefix is accepted). SVG is refused.
    async fn set_logo(&self, ctx: &Context<'_>, image: String) -> ApiResult<Tenant> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        Ok(
            branding::set_logo(&ctx.state().db, tenant_id, &image, Utc::now())
                .await
                .api(ctx)?
                .into(),
        )
    }

    /// Removes the logo; the member pages show the tenant's name alone.
    async fn remove_logo(&self, ctx: &Context<'_>) -> ApiResult<Tenant> {
        let tenant_id = ctx.authorize(Permission::WriteSchema)?;
        Ok(branding::remove_logo(&ctx.state().db, tenant_id)
            .await
            .api(ctx)?
            .into())
    }
}
