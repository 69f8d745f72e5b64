//! What every request handler shares.

use std::{sync::Arc, time::Duration};

use domain::{
    auth::{rate_limit::AttemptLimiter, tokens::TokenKeys},
    operators::LoginLimiter,
    sending::SendingConfig,
    settings::ServerSettings,
};
use sea_orm::DatabaseConnection;
use worker::JobQueue;

/// Sign-ups allowed per client address per hour.
const MAX_SIGNUPS_PER_HOUR: usize = 10;

/// Attempt budgets of the member pages, per tenant and client address or account.
pub struct MemberLimits {
    /// Sign-ups per client address and hour.
    pub signups: AttemptLimiter,
    /// Failed logins per account in 15 minutes.
    pub logins: AttemptLimiter,
    /// Failed logins per client address in 15 minutes; an office may share one address.
    pub logins_per_client: AttemptLimiter,
    /// Password reset requests per client address and hour.
    pub resets: AttemptLimiter,
}

impl Default for MemberLimits {
    fn default() -> Self {
        let hour = Duration::from_secs(3600);
        let quarter = Duration::from_secs(15 * 60);
        Self {
            signups: AttemptLimiter::new("member_signup", 20, hour),
            logins: AttemptLimiter::new("member_login", 10, quarter),
            logins_per_client: AttemptLimiter::new("member_login_client", 50, quarter),
            resets: AttemptLimiter::new("member_reset", 10, hour),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub queue: JobQueue,
    pub token_keys: TokenKeys,
    pub login_limiter: Arc<LoginLimiter>,
    pub signup_limiter: Arc<AttemptLimiter>,
    /// Budgets of the member pages' sign-ups, logins and reset requests.
    pub member_limits: Arc<MemberLimits>,
    /// Marks the refresh cookie `Secure` when the public URL is https.
    pub secure_cookies: bool,
    pub sending: SendingConfig,
}

impl AppState {
    pub fn new(
        db: DatabaseConnection,
        queue: JobQueue,
        settings: &ServerSettings,
        sending: SendingConfig,
    ) -> anyhow::Result<Self> {
        let token_keys = match &settings.jwt_secret {
            Some(secret) => TokenKeys::from_secret(secret)?,
            None => {
                tracing::warn!(
                    "TAYORI_JWT_SECRET is not set; using a random key. Set it when running more than one server process."
                );
                TokenKeys::random()?
            }
        };
        Ok(Self {
            db,
            queue,
            token_keys,
            login_limiter: Arc::new(LoginLimiter::default()),
            signup_limiter: Arc::new(AttemptLimiter::new(
                "tenant_signup",
                MAX_SIGNUPS_PER_HOUR,
                Duration::from_secs(3600),
            )),
            member_limits: Arc::new(MemberLimits::default()),
            secure_cookies: settings.public_url.starts_with("https://"),
            sending,
        })
    }
}
