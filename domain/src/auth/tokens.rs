//! Operator access tokens (short-lived JWTs) and opaque refresh tokens.

use anyhow::Context;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Role;
use crate::{OperatorId, TenantId};

/// How long an access token is accepted. Short, because it cannot be revoked.
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
/// How long a refresh token is accepted if it is not used or revoked first.
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);

/// The claims inside an operator access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The operator id.
    pub sub: Uuid,
    /// The tenant id; the only source of the tenant for operator requests.
    pub tid: Uuid,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and checks access tokens with one HS256 key.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    pub fn from_secret(secret: &SecretString) -> anyhow::Result<Self> {
        let bytes = secret.expose_secret().as_bytes();
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes).context("invalid JWT signing key")?,
            decoding: DecodingKey::from_secret(bytes).context("invalid JWT signing key")?,
        })
    }

    /// A key that lives as long as this process: tokens die with a restart, sessions do not,
    /// because the dashboard gets a new access token with its refresh token.
    pub fn random() -> anyhow::Result<Self> {
        Self::from_secret(&SecretString::from(random_token()))
    }

    pub fn issue(
        &self,
        tenant_id: TenantId,
        operator_id: OperatorId,
        role: Role,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(String, DateTime<Utc>)> {
        let expires_at = now + ACCESS_TOKEN_TTL;
        let claims = AccessClaims {
            sub: operator_id.0,
            tid: tenant_id.0,
            role,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("failed to sign access token")?;
        Ok((token, expires_at))
    }

    /// Returns the claims of a valid, unexpired token, or `None`.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// 256 random bits, URL-safe base64 without padding.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 in hex: how refresh tokens and API keys are stored.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_verifies_with_same_key_only() {
        let keys = TokenKeys::random().unwrap();
        let (token, _) = keys
            .issue(TenantId::new(), OperatorId::new(), Role::Admin, Utc::now())
            .unwrap();
        assert_eq!(keys.verify(&token).unwrap().role, Role::Admin);
        assert!(TokenKeys::random().unwrap().verify(&token).is_none());
    }

    #[test]
    fn expired_token_is_rejected() {
        let keys = TokenKeys::random().unwrap();
        let long_ago = Utc::now() - Duration::hours(1);
        let (token, _) = keys
            .issue(TenantId::new(), OperatorId::new(), Role::Owner, long_ago)
            .unwrap();
        assert!(keys.verify(&token).is_none());
    }
}
