//! Operator sign-up, login, session refresh and logout.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use axum::http::header::SET_COOKIE;
use chrono::{DateTime, Utc};
use domain::{
    auth::{sessions, tokens::REFRESH_TOKEN_TTL},
    operators, tenants,
};
use secrecy::SecretString;

use super::{
    context::{ContextExt, REFRESH_COOKIE},
    error::{ApiResult, ResultExt},
    tenant::{Locale, Operator, Tenant},
};

/// A new business and its first operator, who becomes the owner.
#[derive(InputObject)]
pub struct SignUpInput {
    /// The business name shown to members and in mails.
    pub tenant_name: String,
    /// The business ID used in URLs and on the login form: 3 to 40 of `a-z 0-9 -`.
    pub tenant_slug: String,
    /// The owner's email address; it is the login name.
    pub email: String,
    /// At least 10 characters.
    #[graphql(secret)]
    pub password: String,
    /// The default language for the business and the owner.
    #[graphql(default)]
    pub locale: Locale,
}

/// An operator's credentials.
#[derive(InputObject)]
pub struct LogInInput {
    /// The business ID chosen at sign-up.
    pub tenant_slug: String,
    /// The operator's email address.
    pub email: String,
    /// The operator's password.
    #[graphql(secret)]
    pub password: String,
}

/// A logged-in operator. The refresh token travels only in the HttpOnly `tayori_refresh` cookie.
#[derive(SimpleObject)]
pub struct Session {
    /// Send as `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    /// When the access token stops working; call `refreshSession` before then.
    pub expires_at: DateTime<Utc>,
    /// The operator who logged in.
    pub operator: Operator,
    /// The operator's tenant.
    pub tenant: Tenant,
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Creates a business and its owner, and logs the owner in.
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> ApiResult<Session> {
        let state = ctx.state();
        let client = ctx.request().client_ip.to_string();
        let now = Utc::now();
        let limiter = &state.signup_limiter;
        if let Some(retry_after_secs) = limiter.check(&state.db, &client, now).await.api(ctx)? {
            return Err(domain::Error::RateLimited { retry_after_secs }).api(ctx);
        }
        limiter.record(&state.db, &client, now).await.api(ctx)?;

        let sign_up = tenants::SignUp {
            tenant_name: input.tenant_name,
            tenant_slug: input.tenant_slug,
            email: input.email,
            password: SecretString::from(input.password),
            locale: input.locale.into(),
        };
        let session = tenants::sign_up(&state.db, &state.token_keys, sign_up)
            .await
            .api(ctx)?;
        Ok(respond_with_session(ctx, session))
    }

    /// Logs an operator in. Too many failures for one account or client answer `RATE_LIMITED`.
    async fn log_in(&self, ctx: &Context<'_>, input: LogInInput) -> ApiResult<Session> {
        let state = ctx.state();
        let log_in = operators::LogIn {
            tenant_slug: input.tenant_slug,
            email: input.email,
            password: SecretString::from(input.password),
        };
        let client = ctx.request().client_ip.to_string();
        let session = operators::log_in(
            &state.db,
            &state.token_keys,
            &state.login_limiter,
            log_in,
            &client,
        )
        .await
        .api(ctx)?;
        Ok(respond_with_session(ctx, session))
    }

    /// Exchanges the refresh cookie for a new access token (and a new cookie).
    async fn refresh_session(&self, ctx: &Context<'_>) -> ApiResult<Session> {
        let state = ctx.state();
        let Some(presented) = ctx.request().refresh_token.clone() else {
            return Err(domain::Error::Unauthenticated).api(ctx);
        };
        let session = sessions::refresh(&state.db, &state.token_keys, &presented)
            .await
            .api(ctx)?;
        Ok(respond_with_session(ctx, session))
    }

    /// Ends the session of the refresh cookie. Always succeeds.
    async fn log_out(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        if let Some(presented) = ctx.request().refresh_token.clone() {
            sessions::end(&ctx.state().db, &presented).await.api(ctx)?;
        }
        ctx.append_http_header(SET_COOKIE, refresh_cookie(ctx, "", 0));
        Ok(true)
    }
}

fn respond_with_session(ctx: &Context<'_>, session: sessions::Session) -> Session {
    let max_age = REFRESH_TOKEN_TTL.num_seconds();
    ctx.append_http_header(
        SET_COOKIE,
        refresh_cookie(ctx, &session.refresh_token, max_age),
    );
    Session {
        access_token: session.access_token,
        expires_at: session.access_expires_at,
        operator: session.operator.into(),
        tenant: session.tenant.into(),
    }
}

fn refresh_cookie(ctx: &Context<'_>, value: &str, max_age_secs: i64) -> String {
    let secure = if ctx.state().secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{REFRESH_COOKIE}={value}; Path=/graphql; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    )
}
