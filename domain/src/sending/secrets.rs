//! The deployment's secret key: it encrypts stored credentials (AES-256-GCM) and derives the
//! keys that sign unsubscribe links (HMAC-SHA256).
//!
//! The key comes from `TAYORI_SECRET_KEY` (64 hex digits). Without it, a key file is used
//! (`TAYORI_SECRET_KEY_FILE`, default `tayori-secret.key` in the working directory) and created
//! on first start, which suits a single embedded deployment. Losing the key makes stored
//! credentials unreadable: operators then enter them again.

use std::{fmt, io::Write, path::Path, sync::Arc};

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    hmac,
    rand::{SecureRandom, SystemRandom},
};

use crate::settings::{SettingsError, Source};

const KEY_BYTES: usize = 32;
pub const DEFAULT_KEY_FILE: &str = "tayori-secret.key";

/// The secret key, shared by reference.
#[derive(Clone)]
pub struct SecretBox {
    key: Arc<[u8; KEY_BYTES]>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

/// A stored secret could not be decrypted: another key, or a damaged value.
#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be decrypted with this deployment's secret key")]
pub struct DecryptError;

impl SecretBox {
    pub fn from_bytes(key: [u8; KEY_BYTES]) -> Self {
        Self { key: Arc::new(key) }
    }

    /// Generates a random key, for tests.
    pub fn random() -> Self {
        let mut key = [0u8; KEY_BYTES];
        // The system random source does not fail on supported platforms.
        let _ = SystemRandom::new().fill(&mut key);
        Self::from_bytes(key)
    }

    /// Reads the key from the environment, or from the key file, creating the file if needed.
    pub fn load(source: &impl Source) -> Result<Self, SettingsError> {
        if let Some(text) = source.get("TAYORI_SECRET_KEY") {
            return parse_key(&text).map(Self::from_bytes).ok_or(SettingsError {
                variable: "TAYORI_SECRET_KEY",
                value: "(hidden)".to_owned(),
                expected: "64 hexadecimal digits, for example the output of `openssl rand -hex 32`",
            });
        }
        let path = source
            .get("TAYORI_SECRET_KEY_FILE")
            .unwrap_or_else(|| DEFAULT_KEY_FILE.to_owned());
        read_or_create(Path::new(&path)).ok_or(SettingsError {
            variable: "TAYORI_SECRET_KEY_FILE",
            value: path,
            expected: "a readable file holding 64 hexadecimal digits, or a writable path where one is created",
        })
    }

    /// Encrypts `plain`, bound to `context` (for example the tenant and the purpose), so that
    /// a value copied to another row does not decrypt there.
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        let _ = SystemRandom::new().fill(&mut nonce);
        let mut sealed = plain.to_vec();
        // aws-lc-rs rejects only inputs longer than AES-GCM's limit (about 64 GiB).
        let _ = self.aead().seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context),
            &mut sealed,
        );
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        stored
    }

    /// Decrypts a value made by [`seal`](Self::seal) with the same `context`.
    pub fn open(&self, context: &[u8], stored: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if stored.len() < NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| DecryptError)?;
        let mut buffer = sealed.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(context), &mut buffer)
            .map_err(|_| DecryptError)?;
        Ok(plain.to_vec())
    }

    /// Derives an HMAC-SHA256 key for one purpose, such as `"unsubscribe"`.
    pub fn hmac_key(&self, purpose: &str) -> hmac::Key {
        let root = hmac::Key::new(hmac::HMAC_SHA256, self.key.as_slice());
        let derived = hmac::sign(&root, purpose.as_bytes());
        hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
    }

    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is always valid for AES-256-GCM.
        let unbound = UnboundKey::new(&AES_256_GCM, self.key.as_slice())
            .unwrap_or_else(|_| unreachable!("AES-256-GCM takes 32-byte keys"));
        LessSafeKey::new(unbound)
    }
}

fn parse_key(text: &str) -> Option<[u8; KEY_BYTES]> {
    let bytes = hex::decode(text.trim()).ok()?;
    bytes.try_into().ok()
}

fn read_or_create(path: &Path) -> Option<SecretBox> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return parse_key(&text).map(SecretBox::from_bytes);
    }
    let mut key = [0u8; KEY_BYTES];
    SystemRandom::new().fill(&mut key).ok()?;
    // The key is written to a file of this process, then linked into place, so that a server
    // and a worker starting together never read a half-written key.
    let staging = path.with_extension(format!("{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&staging).ok()?;
    file.write_all(hex::encode(key).as_bytes()).ok()?;
    file.sync_all().ok()?;
    let linked = std::fs::hard_link(&staging, path);
    let _ = std::fs::remove_file(&staging);
    match linked {
        Ok(()) => {
            tracing::warn!(
                path = %path.display(),
                "TAYORI_SECRET_KEY is not set; created a secret key file. Keep it with the database, or stored credentials become unreadable"
            );
            Some(SecretBox::from_bytes(key))
        }
        // Another process linked its key first.
        Err(_) => parse_key(&std::fs::read_to_string(path).ok()?).map(SecretBox::from_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_in_its_context() {
        let secrets = SecretBox::random();
        let stored = secrets.seal(b"tenant-a/smtp", b"p@ss");
        assert_eq!(secrets.open(b"tenant-a/smtp", &stored).unwrap(), b"p@ss");
        assert!(secrets.open(b"tenant-b/smtp", &stored).is_err());
        assert!(SecretBox::random().open(b"tenant-a/smtp", &stored).is_err());
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let first = read_or_create(&path).unwrap();
        let second = read_or_create(&path).unwrap();
        let stored = first.seal(b"x", b"secret");
        assert_eq!(second.open(b"x", &stored).unwrap(), b"secret");
    }
}
