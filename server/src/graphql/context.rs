//! Per-request facts taken from the HTTP request: who is calling, in which language, from where.

use std::net::IpAddr;

use async_graphql::Context;
use axum::http::{HeaderMap, header};
use domain::{Locale, Permission, Principal, TenantId, auth::api_keys};

use super::error::{ApiResult, ResultExt};
use crate::{AppState, http::REQUEST_ID_HEADER};

/// The refresh token cookie. Scoped to `/graphql`, HttpOnly and SameSite=Strict, so page scripts
/// cannot read it and other sites cannot make the browser send it.
pub const REFRESH_COOKIE: &str = "tayori_refresh";

pub struct RequestContext {
    pub principal: Option<Principal>,
    pub locale: Locale,
    pub request_id: String,
    pub client_ip: IpAddr,
    pub refresh_token: Option<String>,
}

impl RequestContext {
    pub async fn from_headers(state: &AppState, headers: &HeaderMap, client_ip: IpAddr) -> Self {
        let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let locale = header_text(header::ACCEPT_LANGUAGE.as_str())
            .map(Locale::from_accept_language)
            .unwrap_or_default();
        let request_id = header_text(REQUEST_ID_HEADER).unwrap_or("").to_owned();
        let refresh_token = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == REFRESH_COOKIE)
            .map(|c| c.value().to_owned());

        let bearer = header_text(header::AUTHORIZATION.as_str())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let principal = match bearer {
            Some(token) if token.starts_with(api_keys::KEY_PREFIX) => {
                match api_keys::authenticate(&state.db, token).await {
                    Ok(principal) => principal,
                    Err(error) => {
                        tracing::error!(request.id = %request_id, error = ?error, "API key lookup failed");
                        None
                    }
                }
            }
            Some(token) => state
                .token_keys
                .verify(token)
                .map(|claims| Principal::Operator {
                    tenant_id: TenantId(claims.tid),
                    operator_id: domain::OperatorId(claims.sub),
                    role: claims.role,
                }),
            None => None,
        };
        Self {
            principal,
            locale,
            request_id,
            client_ip,
            refresh_token,
        }
    }
}

/// Shorthands for resolvers.
pub trait ContextExt {
    fn request(&self) -> &RequestContext;
    fn state(&self) -> &AppState;
    /// The caller, or `UNAUTHENTICATED`.
    fn principal(&self) -> ApiResult<&Principal>;
    /// The caller's tenant when the caller holds `permission`; `UNAUTHENTICATED` or `FORBIDDEN`
    /// otherwise.
    fn authorize(&self, permission: Permission) -> ApiResult<TenantId>;
}

impl ContextExt for Context<'_> {
    fn request(&self) -> &RequestContext {
        self.data_unchecked::<RequestContext>()
    }

    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn principal(&self) -> ApiResult<&Principal> {
        self.request()
            .principal
            .as_ref()
            .ok_or(domain::Error::Unauthenticated)
            .api(self)
    }

    fn authorize(&self, permission: Permission) -> ApiResult<TenantId> {
        self.principal()?.require(permission).api(self)
    }
}
