//! argon2id password hashes, computed off the async runtime.

use anyhow::Context;
use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use secrecy::{ExposeSecret, SecretString};

/// The minimum password length, as recommended by NIST SP 800-63B for user-chosen passwords.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longer inputs are rejected before hashing, so that a huge body cannot tie up a core.
pub const MAX_PASSWORD_CHARS: usize = 200;

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) of a well-formed but unknown password.
/// Verifying against it when the account does not exist keeps login timing uniform.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$7ZrDgRhQSmC9l9B2OnoSRQaWOC6zpz0I9p9y7OmEaiM";

/// Hashes a password with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane).
pub async fn hash(password: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("argon2 hashing failed: {error}"))
    })
    .await
    .context("password hashing task failed")?
}

/// Checks a password against a stored hash; with `None` it spends the same time and fails.
pub async fn verify(password: SecretString, stored_hash: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let exists = stored_hash.is_some();
        let stored = stored_hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored)
            .map_err(|error| anyhow::anyhow!("stored password hash is malformed: {error}"))?;
        let matches = Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(exists && matches)
    })
    .await
    .context("password verification task failed")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_only_the_same_password() {
        let stored = hash(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify(
                SecretString::from("correct horse battery"),
                Some(stored.clone())
            )
            .await
            .unwrap()
        );
        assert!(
            !verify(SecretString::from("wrong password!"), Some(stored))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn verify_without_account_fails() {
        assert!(
            !verify(SecretString::from("anything at all"), None)
                .await
                .unwrap()
        );
    }
}
