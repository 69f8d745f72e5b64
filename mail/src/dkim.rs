//! DKIM (RFC 6376) for Tayori's outgoing mail: key generation, the DNS TXT record a tenant
//! publishes, signing, and verification against a key given directly instead of one looked up in
//! DNS.
//!
//! Signatures use relaxed/relaxed canonicalisation with rsa-sha256 or ed25519-sha256 (RFC 8463),
//! computed by the `mail-auth` crate. Private keys are PKCS#8 DER, which is what Tayori stores.

use std::{borrow::Borrow, fmt, hash::Hash, time::Instant};

use aws_lc_rs::{
    encoding::{AsDer, Pkcs8V1Der},
    error::Unspecified,
    rsa::{KeyPair as RsaKeyPair, KeySize},
};
use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt,
    common::{
        crypto::{Algorithm, DkimKey, Ed25519Key, RsaKey, Sha256, SigningKey},
        headers::{HeaderWriter, Writable},
        parse::TxtRecordParser,
        verify::DomainKey,
    },
    dkim::{Canonicalization, DkimSigner, Done},
    hickory_resolver::config::{ResolverConfig, ResolverOpts},
};
use mail_builder::encoders::base64::base64_encode;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// Headers that a signature covers when the message carries them. RFC 8058 requires
/// List-Unsubscribe and List-Unsubscribe-Post to be signed for one-click unsubscribe, and Gmail's
/// Feedback Loop help page requires the Feedback-ID header to be signed. Reply-To and Cc are
/// signed as RFC 6376 section 5.4.1 recommends.
pub const SIGNED_HEADERS: [&str; 12] = [
    "From",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Feedback-ID",
];

/// Maximum length of one character-string in a DNS TXT record (RFC 1035 section 3.3.14).
const MAX_TXT_STRING: usize = 255;

/// The key types Tayori offers for DKIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// RSA, signing with rsa-sha256. New keys have a 2048-bit modulus.
    Rsa2048,
    /// Ed25519, signing with ed25519-sha256 (RFC 8463). Verifiers that predate RFC 8463 cannot
    /// check such a signature.
    Ed25519,
}

impl KeyAlgorithm {
    /// Returns the `k=` tag value of the DNS record.
    pub fn key_type(self) -> &'static str {
        match self {
            Self::Rsa2048 => "rsa",
            Self::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Rsa2048 => "RSA-2048",
            Self::Ed25519 => "Ed25519",
        })
    }
}

/// A new key pair: the private key for storage and the public key for the DNS record.
#[derive(Clone)]
pub struct GeneratedKey {
    pub algorithm: KeyAlgorithm,
    /// Unencrypted PKCS#8 DER. Tayori stores it encrypted at rest.
    pub private_pkcs8_der: Vec<u8>,
    /// The `p=` tag value: base64 of a SubjectPublicKeyInfo for RSA, of the 32 raw key bytes for
    /// Ed25519.
    pub public_key_base64: String,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("GeneratedKey")
            .field("algorithm", &self.algorithm)
            .field("private_pkcs8_der", &"[redacted]")
            .field("public_key_base64", &self.public_key_base64)
            .finish()
    }
}

/// The DNS TXT record that publishes a DKIM public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// Owner name without the trailing dot: `{selector}._domainkey.{domain}`.
    pub name: String,
    /// The whole record value, as most DNS control panels take it.
    pub value: String,
    /// The value cut into character-strings of at most 255 characters, for panels and APIs that
    /// take the strings one by one.
    pub strings: Vec<String>,
    /// A zone file line: `{name}. IN TXT "…" "…"`.
    pub zone_line: String,
}

/// Errors of key generation, signing and verification. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    #[error("generating a {algorithm} key failed: {reason}")]
    KeyGeneration {
        algorithm: KeyAlgorithm,
        reason: String,
    },
    #[error(
        "the private key is not a valid PKCS#8 {algorithm} key ({reason}); generate a new key or \
         upload a PKCS#8 key of that type"
    )]
    InvalidPrivateKey {
        algorithm: KeyAlgorithm,
        reason: String,
    },
    #[error(
        "invalid DKIM domain {0:?}: expected an ASCII domain name such as example.jp (convert \
         internationalised names to xn-- form first)"
    )]
    InvalidDomain(String),
    #[error(
        "invalid DKIM selector {0:?}: use letters, digits and hyphens, with dots between labels"
    )]
    InvalidSelector(String),
    #[error("the message has no From header, which every DKIM signature must cover")]
    MissingFrom,
    #[error(
        "the message contains a line feed without a carriage return; build it with CRLF line \
         endings before signing"
    )]
    BareLineFeed,
    #[error("signing the message failed: {0}")]
    Signing(String),
    #[error("invalid DKIM DNS record: {0}")]
    InvalidRecord(String),
    #[error("the message could not be parsed: no header section found")]
    UnparsableMessage,
    #[error("setting up the DKIM verifier failed: {0}")]
    Verifier(String),
    #[error("the message has no DKIM signature with d={domain} and s={selector}")]
    NoSignature { domain: String, selector: String },
    #[error("the DKIM signature of {domain} did not verify: {reason}")]
    VerificationFailed { domain: String, reason: String },
}

/// Generates a new key pair.
pub fn generate(algorithm: KeyAlgorithm) -> Result<GeneratedKey, DkimError> {
    let private_pkcs8_der = match algorithm {
        // mail-auth 0.13.3 generates only Ed25519 keys, and ring cannot generate RSA keys.
        KeyAlgorithm::Rsa2048 => {
            let generation_failed = |error: Unspecified| DkimError::KeyGeneration {
                algorithm,
                reason: error.to_string(),
            };
            let key_pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(generation_failed)?;
            let der: Pkcs8V1Der<'_> = key_pair.as_der().map_err(generation_failed)?;
            der.as_ref().to_vec()
        }
        KeyAlgorithm::Ed25519 => {
            Ed25519Key::generate_pkcs8().map_err(|error| DkimError::KeyGeneration {
                algorithm,
                reason: error.to_string(),
            })?
        }
    };
    let (_, public_key_base64) = load_key(algorithm, &private_pkcs8_der)?;
    Ok(GeneratedKey {
        algorithm,
        private_pkcs8_der,
        public_key_base64,
    })
}

/// Builds the TXT record that publishes `key` for `selector` at `domain`. The names are used as
/// given, so check them first with [`check_domain`] and [`check_selector`].
pub fn dns_record(domain: &str, selector: &str, key: &GeneratedKey) -> DnsRecord {
    dns_record_for(domain, selector, key.algorithm, &key.public_key_base64)
}

/// Builds the TXT record for a public key given as the `p=` tag value.
pub fn dns_record_for(
    domain: &str,
    selector: &str,
    algorithm: KeyAlgorithm,
    public_key_base64: &str,
) -> DnsRecord {
    let name = format!("{selector}._domainkey.{domain}");
    let value = format!("v=DKIM1; k={}; p={public_key_base64}", algorithm.key_type());
    let strings = split_txt_value(&value);
    let quoted: Vec<String> = strings.iter().map(|part| format!("\"{part}\"")).collect();
    let zone_line = format!("{name}. IN TXT {}", quoted.join(" "));
    DnsRecord {
        name,
        value,
        strings,
        zone_line,
    }
}

/// Cuts a record value into character-strings of at most 255 bytes, never inside a character.
fn split_txt_value(value: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut current = String::new();
    for character in value.chars() {
        if current.len() + character.len_utf8() > MAX_TXT_STRING {
            strings.push(std::mem::take(&mut current));
        }
        current.push(character);
    }
    if !current.is_empty() || strings.is_empty() {
        strings.push(current);
    }
    strings
}

/// Checks that `domain` can be the `d=` tag: ASCII labels of letters, digits and hyphens.
pub fn check_domain(domain: &str) -> Result<(), DkimError> {
    if domain.len() <= 253 && domain.contains('.') && is_dns_name(domain) {
        Ok(())
    } else {
        Err(DkimError::InvalidDomain(domain.to_owned()))
    }
}

/// Checks that `selector` can be the `s=` tag (RFC 6376 section 3.1).
pub fn check_selector(selector: &str) -> Result<(), DkimError> {
    if selector.len() <= 63 && is_dns_name(selector) {
        Ok(())
    } else {
        Err(DkimError::InvalidSelector(selector.to_owned()))
    }
}

/// Returns true when `name` is dot-separated labels of 1 to 63 letters, digits and inner hyphens.
fn is_dns_name(name: &str) -> bool {
    name.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    })
}

/// Parses a stored private key and returns it with its `p=` tag value.
fn load_key(algorithm: KeyAlgorithm, pkcs8_der: &[u8]) -> Result<(DkimKey, String), DkimError> {
    let invalid = |error: mail_auth::Error| DkimError::InvalidPrivateKey {
        algorithm,
        reason: error.to_string(),
    };
    let (key, public_key) = match algorithm {
        KeyAlgorithm::Rsa2048 => {
            let key = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(
                PrivatePkcs8KeyDer::from(pkcs8_der),
            ))
            .map_err(invalid)?;
            // mail-auth returns the PKCS#1 RSAPublicKey. The record carries it wrapped in a
            // SubjectPublicKeyInfo, the form that opendkim-genkey publishes and that dkimpy
            // requires.
            let public_key = rsa_subject_public_key_info(&key.public_key());
            (DkimKey::Rsa(key), public_key)
        }
        KeyAlgorithm::Ed25519 => {
            let key = Ed25519Key::from_pkcs8_der(pkcs8_der).map_err(invalid)?;
            let public_key = key.public_key();
            (DkimKey::Ed25519(key), public_key)
        }
    };
    let encoded = base64_encode(&public_key).map_err(|error| DkimError::InvalidPrivateKey {
        algorithm,
        reason: error.to_string(),
    })?;
    Ok((key, String::from_utf8_lossy(&encoded).into_owned()))
}

/// DER of the AlgorithmIdentifier for rsaEncryption (OID 1.2.840.113549.1.1.1, NULL parameters).
const RSA_ALGORITHM_IDENTIFIER: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// Wraps a DER RSAPublicKey (RFC 8017) in a SubjectPublicKeyInfo (RFC 5280).
fn rsa_subject_public_key_info(rsa_public_key: &[u8]) -> Vec<u8> {
    // The BIT STRING content starts with the count of unused bits, which is zero.
    let mut bit_string = vec![0x03];
    bit_string.extend(der_length(rsa_public_key.len() + 1));
    bit_string.push(0x00);
    bit_string.extend_from_slice(rsa_public_key);

    let mut info = vec![0x30];
    info.extend(der_length(
        RSA_ALGORITHM_IDENTIFIER.len() + bit_string.len(),
    ));
    info.extend_from_slice(&RSA_ALGORITHM_IDENTIFIER);
    info.extend(bit_string);
    info
}

/// Encodes a DER length: one byte below 128, else a byte count followed by big-endian bytes.
fn der_length(length: usize) -> Vec<u8> {
    if length < 0x80 {
        return vec![length as u8];
    }
    let bytes: Vec<u8> = length
        .to_be_bytes()
        .into_iter()
        .skip_while(|byte| *byte == 0)
        .collect();
    let mut encoded = vec![0x80 | bytes.len() as u8];
    encoded.extend(bytes);
    encoded
}

/// Signs messages for one domain and selector with one private key.
pub struct Signer {
    domain: String,
    selector: String,
    algorithm: KeyAlgorithm,
    public_key_base64: String,
    key: DkimKey,
}

impl fmt::Debug for Signer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Signer")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Loads a PKCS#8 private key for signing as `domain` with `selector`. Domain and selector
    /// are lowercased. RSA keys load with a modulus of 2048 to 8192 bits, the range that
    /// aws-lc-rs 1.19 accepts, so an imported 1024-bit key is rejected.
    pub fn new(
        domain: &str,
        selector: &str,
        algorithm: KeyAlgorithm,
        private_pkcs8_der: &[u8],
    ) -> Result<Self, DkimError> {
        check_domain(domain)?;
        check_selector(selector)?;
        let (key, public_key_base64) = load_key(algorithm, private_pkcs8_der)?;
        Ok(Self {
            domain: domain.to_ascii_lowercase(),
            selector: selector.to_ascii_lowercase(),
            algorithm,
            public_key_base64,
            key,
        })
    }

    /// Returns the `p=` tag value of the key's DNS record.
    pub fn public_key_base64(&self) -> &str {
        &self.public_key_base64
    }

    /// Builds the TXT record that must be published for this signer's signatures to verify.
    pub fn dns_record(&self) -> DnsRecord {
        dns_record_for(
            &self.domain,
            &self.selector,
            self.algorithm,
            &self.public_key_base64,
        )
    }

    /// Returns the message with a DKIM-Signature header prepended. `raw` must be an RFC 5322
    /// message with CRLF line endings, as [`crate::compose`] builds it.
    ///
    /// The signature covers each header of [`SIGNED_HEADERS`] that the message carries, and
    /// names each of them once more than it occurs. RFC 6376 section 5.4 signs the extra name as
    /// a header that does not exist, so a second From or List-Unsubscribe added after signing
    /// breaks the signature (the attack of section 8.15). Headers that the message lacks are left
    /// out of `h=`, so a relay may still add them.
    pub fn sign(&self, raw: &[u8]) -> Result<Vec<u8>, DkimError> {
        if has_bare_line_feed(raw) {
            return Err(DkimError::BareLineFeed);
        }
        let headers = headers_to_sign(raw);
        if !headers.contains(&"From") {
            return Err(DkimError::MissingFrom);
        }

        let signature = self
            .signer(headers)
            .sign(raw)
            .map_err(|error| DkimError::Signing(error.to_string()))?;
        let header = signature.to_header();

        let mut signed = Vec::with_capacity(header.len() + raw.len());
        signed.extend_from_slice(header.as_bytes());
        signed.extend_from_slice(raw);
        Ok(signed)
    }

    fn signer(&self, headers: Vec<&'static str>) -> DkimSigner<BorrowedKey<'_>, Done> {
        DkimSigner::from_key(BorrowedKey(&self.key))
            .domain(self.domain.as_str())
            .selector(self.selector.as_str())
            .headers(headers)
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed)
    }
}

/// Lets a [`DkimSigner`], which owns its key, sign with the key that a [`Signer`] keeps.
struct BorrowedKey<'a>(&'a DkimKey);

impl SigningKey for BorrowedKey<'_> {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        self.0.sign(input)
    }

    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
}

/// Returns the names of [`SIGNED_HEADERS`] that the header section contains, each one twice.
///
/// mail-auth 0.13.3 puts every occurrence of a requested header into `h=` and then adds each
/// requested name that matched nothing. A name requested twice matches only at its first place,
/// so its second place adds the one extra name that signs the absence of a further instance.
fn headers_to_sign(raw: &[u8]) -> Vec<&'static str> {
    let present = header_names(raw);
    SIGNED_HEADERS
        .iter()
        .filter(|wanted| {
            present
                .iter()
                .any(|name| name.eq_ignore_ascii_case(wanted.as_bytes()))
        })
        .flat_map(|wanted| [*wanted, *wanted])
        .collect()
}

/// Collects the field names of the header section as mail-auth compares them: the bytes before
/// the colon, untrimmed.
fn header_names(raw: &[u8]) -> Vec<&[u8]> {
    let mut names = Vec::new();
    for line in raw.split(|byte| *byte == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            continue;
        }
        if let Some(colon) = line.iter().position(|byte| *byte == b':') {
            names.push(&line[..colon]);
        }
    }
    names
}

fn has_bare_line_feed(raw: &[u8]) -> bool {
    raw.first() == Some(&b'\n')
        || raw
            .windows(2)
            .any(|pair| pair[1] == b'\n' && pair[0] != b'\r')
}

/// Verifies the DKIM signature of `domain` and `selector` in a raw message against the public key
/// in `dns_txt_value` (the TXT record value, `v=DKIM1; k=…; p=…`), without DNS. Meant for tests
/// and for checking a tenant's key from the dashboard.
///
/// Returns `Ok(())` when such a signature verifies. The check runs mail-auth's own verifier with
/// a TXT cache that contains only this record and a resolver without name servers, so no query
/// leaves the machine.
pub async fn verify_with_key(
    raw: &[u8],
    domain: &str,
    selector: &str,
    dns_txt_value: &str,
) -> Result<(), DkimError> {
    let record = DomainKey::parse(dns_txt_value.as_bytes())
        .map_err(|error| DkimError::InvalidRecord(error.to_string()))?;
    let cache = SingleRecord {
        name: format!(
            "{}._domainkey.{}.",
            selector.to_ascii_lowercase(),
            domain.to_ascii_lowercase()
        )
        .into_boxed_str(),
        record: Txt::from(record),
    };
    let message = AuthenticatedMessage::parse(raw).ok_or(DkimError::UnparsableMessage)?;
    let authenticator = MessageAuthenticator::new(
        ResolverConfig::from_parts(None, Vec::new(), Vec::new()),
        ResolverOpts::default(),
    )
    .map_err(|error| DkimError::Verifier(error.to_string()))?;

    let outputs = authenticator
        .verify_dkim(Parameters::new(&message).with_txt_cache(&cache))
        .await;

    let mut failure = None;
    for output in &outputs {
        let Some(signature) = output.signature() else {
            continue;
        };
        if !signature.d.eq_ignore_ascii_case(domain) || !signature.s.eq_ignore_ascii_case(selector)
        {
            continue;
        }
        match output.result() {
            DkimResult::Pass => return Ok(()),
            result => failure = Some(result.to_string()),
        }
    }
    match failure {
        Some(reason) => Err(DkimError::VerificationFailed {
            domain: domain.to_owned(),
            reason,
        }),
        None => Err(DkimError::NoSignature {
            domain: domain.to_owned(),
            selector: selector.to_owned(),
        }),
    }
}

/// A resolver cache that contains one TXT record and ignores what the verifier stores.
struct SingleRecord {
    /// Fully qualified, lowercase, with the trailing dot, as mail-auth looks it up.
    name: Box<str>,
    record: Txt,
}

impl ResolverCache<Box<str>, Txt> for SingleRecord {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        (<Box<str> as Borrow<Q>>::borrow(&self.name) == name).then(|| self.record.clone())
    }

    fn remove<Q>(&self, _name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _key: Box<str>, _value: Txt, _valid_until: Instant) {}
}
