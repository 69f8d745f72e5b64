#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on broken set-up"
)]

//! DKIM signing and verification of messages built by `mail::compose`.

use chrono::DateTime;
use mail::{
    Envelope, Rendered, compose,
    dkim::{
        DkimError, GeneratedKey, KeyAlgorithm, Signer, check_domain, check_selector, dns_record,
        generate, verify_with_key,
    },
};
use mail_auth::common::{parse::TxtRecordParser, verify::DomainKey};
use rustls::pki_types::{PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer, pem::PemObject};

const DOMAIN: &str = "example.jp";
const SELECTOR: &str = "tayori2026";

/// A fixed 2048-bit RSA key for these tests only, made with
/// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`.
const RSA_TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCwUm9ICgmWWWSb
Wq/vwntMGZqde1DKZvQzKtdlGha3lOc9DQO+TgYsTAX0ZMVIchts9Prh5a4+h2PK
PAUCoQXHZfrAl4QVIY88q3KlYQ9nJbtKxOelcp5Src8vElLho9o2Nntjcvy6yVnn
Q4b916F2+m6af3OSU91q579SdAWifgcy+vFgPtrVUZRsyBQyXETl3uwkE6epgQnF
+/1JVI9SaSek29ienI5Z4hnxitckz0mr4b19IiMSkiOmHDh7uBZVY5kmusiN48Er
rRwWAsihLbHys9S+IwOumBjP2Y7rSPp6BkpC1QbhKKbzvYXgiYa+5F974hJR7gH/
eWtyFvIZAgMBAAECggEAElrOe0cSNuzA2JxA5tpNt/8NVZn178/2WVI7IGruFPfC
95vAeUHJijhywT1xPQil2rqI2FWuxRMWfAGx+tNU1OxEhWJwbTu0W7o0QcuADTqE
C/VB8PrkyNIPmISVjKggKdcTkqdwcChQO88PgSK+i/Jna51bZE7nJH8R700lHgRI
nb6KGBPtPBpXc92jFOocwgL2YVfbPHOE1MAfVHsYk5J19s8OaN3ZJ3YZjgeLjQ59
qIlfb7/xMoqBSXcXvx3STddIY8mzyJCX5vVM0pcMkBpBEx/ubHyvW8P+gt36FEE1
0viVRS4weF1CP3qmuVOIPuAtBghKVqdKL3hhLCJ9JQKBgQDqJqeVGgxw1F7lXAq9
cim1zsO0PK0JO2Xv+IdBstdTuUar8t2m16LooCgQDvka9YeOUIT23wxRb8qavC7N
Rxc+Ak78TeT4nKvh0rezZaCpBOYWAOFZS4B7fODspgaaDrWphBym9icR/4NacPWb
xl5YBSdCZhOAppMunkxdCSVoNQKBgQDAxl/hf+/HKn5uenOWPWsJMIodtbqFKisA
IDev55AryObWRM5QjM/wN+R/KY1VFTo3Dfx2H5OhYVkne60c7A3FhzU2bmTmJ+7q
x/UNIkY366aCwtA9Aq1YRKbsajKIaGOx6qF11Df+TEpdLA6EpZSdGOc6oLNcAJrp
8NEFzC4G1QKBgEPyl6ry9i0/05HnVc6H9Iany67f9K67J+etTULJbScEmveG8L9b
0BCFeVq/nZYvLfkkcJFbRK3VLQweE87KFHqQHO+mgw2KGW7cwSY0FZ02qLY15y8M
c+ph4LuLqlrGbf0VM2NYBxp39Vwnb36W4AXW6P+hs4Mf05IxqaNN5icJAoGAAQkP
usZVI1y3ESDXPhdWW9ZG56HyPoTbdkS2B9vWimWp17zG3ufitgeW0pgGik5y4ZjR
olDJGjTLpcqkQ2OBL25qesBdCl9siRZJ2qg0eFhrrIgfVjSNecvkmaB4ZQMqheoc
s+VP563BOH7kFRJOmgloNIhobjYSnu8MMFvIY4ECgYAFPDfL3I8PE8WFrRr+MlNA
dwtZiTWEvn/Bauj2VUXln6kGJxdr4VCto0FSLNyoB9sQJWJk7fSxMmoxqa/qTw15
L201NvM79vZCvf/KthsB5ePJW/MlVS/GnUiqu/qtb6qGwBbex7jOV3+QontHqDAG
jxvtoHd2o1SCBgSDloIZCg==
-----END PRIVATE KEY-----
";

/// Returns the test RSA key in the form that `generate` returns.
fn rsa_key() -> GeneratedKey {
    let der = PrivatePkcs8KeyDer::from_pem_slice(RSA_TEST_KEY.as_bytes())
        .unwrap()
        .secret_pkcs8_der()
        .to_vec();
    let signer = Signer::new(DOMAIN, SELECTOR, KeyAlgorithm::Rsa2048, &der).unwrap();
    GeneratedKey {
        algorithm: KeyAlgorithm::Rsa2048,
        public_key_base64: signer.public_key_base64().to_owned(),
        private_pkcs8_der: der,
    }
}

fn ed25519_key() -> GeneratedKey {
    generate(KeyAlgorithm::Ed25519).unwrap()
}

fn signer(key: &GeneratedKey) -> Signer {
    Signer::new(DOMAIN, SELECTOR, key.algorithm, &key.private_pkcs8_der).unwrap()
}

/// Builds a listing notice as Tayori sends it: Japanese subject and body, one-click unsubscribe headers
/// and a Feedback-ID.
fn composed_message() -> Vec<u8> {
    let envelope = Envelope {
        from_name: "東京不動産",
        from_address: "no-reply@example.jp",
        to_address: "taro@example.net",
        message_id: "0192f0c4-7d1e-7000-8000-000000000001@example.jp",
        date: DateTime::from_timestamp(1_764_900_000, 0).unwrap(),
        extra_headers: vec![
            (
                "List-Unsubscribe",
                "<https://tayori.example/u/Zm9vYmFyYmF6>".to_owned(),
            ),
            (
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".to_owned(),
            ),
            ("Feedback-ID", "listing:tenant42:tayori:TAYORI01".to_owned()),
        ],
    };
    let rendered = Rendered {
        subject: "【新着物件】渋谷区の2LDK、駅から徒歩5分の物件が見つかりました".to_owned(),
        html: "<p>条件に合う物件が見つかりました。</p>".to_owned(),
        text: "条件に合う物件が見つかりました。\n配信停止: https://tayori.example/u/Zm9vYmFyYmF6"
            .to_owned(),
    };
    let raw = compose(&envelope, &rendered).unwrap().raw;
    let headers = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(headers.contains("subject: =?utf-8?b?"), "{headers}");
    raw
}

/// Returns the length of a header value up to and including the CRLF that ends its last line.
fn folded_value_length(value: &str) -> usize {
    let mut end = 0;
    while let Some(offset) = value[end..].find("\r\n") {
        end += offset + 2;
        if !value[end..].starts_with([' ', '\t']) {
            break;
        }
    }
    end
}

/// Returns the value of the DKIM-Signature header that starts the message, without whitespace.
fn signature_header(signed: &[u8]) -> String {
    let text = String::from_utf8_lossy(signed);
    let value = text
        .strip_prefix("DKIM-Signature:")
        .expect("the signed message starts with DKIM-Signature");
    value[..folded_value_length(value)]
        .split_whitespace()
        .collect()
}

/// Returns the value of one tag of the first DKIM-Signature header.
fn signature_tag(signed: &[u8], name: &str) -> String {
    signature_header(signed)
        .split(';')
        .filter_map(|tag| tag.split_once('='))
        .find(|(tag_name, _)| *tag_name == name)
        .map(|(_, value)| value.to_owned())
        .unwrap_or_else(|| panic!("no {name}= tag in {}", signature_header(signed)))
}

/// Returns the names of the `h=` tag in lowercase.
fn signed_header_names(signed: &[u8]) -> Vec<String> {
    signature_tag(signed, "h")
        .split(':')
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Inserts a header line right after the DKIM-Signature header.
fn insert_after_signature(signed: &[u8], line: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(signed);
    let name_length = "DKIM-Signature:".len();
    let header_length = name_length + folded_value_length(&text[name_length..]);
    let mut changed = signed[..header_length].to_vec();
    changed.extend_from_slice(line.as_bytes());
    changed.extend_from_slice(&signed[header_length..]);
    changed
}

fn body_offset(message: &[u8]) -> usize {
    message
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap()
        + 4
}

/// Decodes a `p=` value by reading it as the body of a PEM block.
fn decode_public_key(public_key_base64: &str) -> Vec<u8> {
    let pem =
        format!("-----BEGIN PUBLIC KEY-----\n{public_key_base64}\n-----END PUBLIC KEY-----\n");
    SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

fn assert_verification_failed(result: Result<(), DkimError>) {
    match result {
        Err(DkimError::VerificationFailed { domain, reason }) => {
            assert_eq!(domain, DOMAIN);
            assert!(!reason.is_empty());
        }
        other => panic!("expected a failed verification, got {other:?}"),
    }
}

#[tokio::test]
async fn rsa_signed_message_verifies_with_record() {
    let key = rsa_key();
    let before = chrono::Utc::now().timestamp();
    let signed = signer(&key).sign(&composed_message()).unwrap();
    let record = dns_record(DOMAIN, SELECTOR, &key);

    verify_with_key(&signed, DOMAIN, SELECTOR, &record.value)
        .await
        .unwrap();
    assert_eq!(signature_tag(&signed, "a"), "rsa-sha256");
    assert_eq!(signature_tag(&signed, "c"), "relaxed/relaxed");
    assert_eq!(signature_tag(&signed, "d"), DOMAIN);
    assert_eq!(signature_tag(&signed, "s"), SELECTOR);
    let signed_at: i64 = signature_tag(&signed, "t").parse().unwrap();
    assert!(signed_at >= before, "t={signed_at} is before {before}");
    assert!(signed_at <= chrono::Utc::now().timestamp());
}

#[tokio::test]
async fn ed25519_signed_message_verifies_with_record() {
    let key = ed25519_key();
    let signed = signer(&key).sign(&composed_message()).unwrap();
    let record = dns_record(DOMAIN, SELECTOR, &key);

    verify_with_key(&signed, DOMAIN, SELECTOR, &record.value)
        .await
        .unwrap();
    assert_eq!(signature_tag(&signed, "a"), "ed25519-sha256");
    assert_eq!(signature_tag(&signed, "c"), "relaxed/relaxed");
}

#[test]
fn signature_covers_unsubscribe_headers() {
    let signed = signer(&rsa_key()).sign(&composed_message()).unwrap();
    let names = signed_header_names(&signed);

    for expected in [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "feedback-id",
    ] {
        assert!(
            names.contains(&expected.to_owned()),
            "{expected} in {names:?}"
        );
    }
}

#[test]
fn present_headers_are_named_once_more() {
    let signed = signer(&rsa_key()).sign(&composed_message()).unwrap();
    let names = signed_header_names(&signed);

    for name in [
        "from",
        "subject",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ] {
        let count = names.iter().filter(|signed| *signed == name).count();
        assert_eq!(count, 2, "{name} in {names:?}");
    }
}

#[test]
fn absent_headers_are_left_out() {
    let signed = signer(&rsa_key()).sign(&composed_message()).unwrap();
    let names = signed_header_names(&signed);

    assert!(!names.contains(&"reply-to".to_owned()), "{names:?}");
    assert!(!names.contains(&"cc".to_owned()), "{names:?}");
}

#[tokio::test]
async fn changed_body_byte_fails_verification() {
    let key = rsa_key();
    let signed = signer(&key).sign(&composed_message()).unwrap();
    let record = dns_record(DOMAIN, SELECTOR, &key);
    let mut changed = signed.clone();
    let body = body_offset(&changed);
    let position = body
        + changed[body..]
            .iter()
            .position(u8::is_ascii_alphanumeric)
            .unwrap();
    changed[position] = if changed[position] == b'A' {
        b'B'
    } else {
        b'A'
    };

    assert_verification_failed(verify_with_key(&changed, DOMAIN, SELECTOR, &record.value).await);
}

#[tokio::test]
async fn changed_subject_fails_verification() {
    for key in [rsa_key(), ed25519_key()] {
        let signed = signer(&key).sign(&composed_message()).unwrap();
        let record = dns_record(DOMAIN, SELECTOR, &key);
        let prefix = "subject: =?utf-8?b?";
        let position = String::from_utf8_lossy(&signed)
            .to_ascii_lowercase()
            .find(prefix)
            .unwrap()
            + prefix.len();
        let mut changed = signed.clone();
        changed[position] = if changed[position] == b'4' {
            b'5'
        } else {
            b'4'
        };

        assert_verification_failed(
            verify_with_key(&changed, DOMAIN, SELECTOR, &record.value).await,
        );
    }
}

#[tokio::test]
async fn added_second_header_fails_verification() {
    let key = rsa_key();
    let signed = signer(&key).sign(&composed_message()).unwrap();
    let record = dns_record(DOMAIN, SELECTOR, &key);

    for line in [
        "From: support@example.jp\r\n",
        "List-Unsubscribe: <https://attacker.example/u>\r\n",
    ] {
        let changed = insert_after_signature(&signed, line);
        assert_verification_failed(
            verify_with_key(&changed, DOMAIN, SELECTOR, &record.value).await,
        );
    }
}

#[tokio::test]
async fn record_of_other_key_fails_verification() {
    let signed = signer(&ed25519_key()).sign(&composed_message()).unwrap();
    let other = dns_record(DOMAIN, SELECTOR, &ed25519_key());

    assert_verification_failed(verify_with_key(&signed, DOMAIN, SELECTOR, &other.value).await);
}

#[tokio::test]
async fn other_domain_has_no_signature() {
    let key = rsa_key();
    let signed = signer(&key).sign(&composed_message()).unwrap();
    let record = dns_record("example.com", SELECTOR, &key);

    let result = verify_with_key(&signed, "example.com", SELECTOR, &record.value).await;

    assert!(
        matches!(result, Err(DkimError::NoSignature { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn other_selector_has_no_signature() {
    let key = rsa_key();
    let signed = signer(&key).sign(&composed_message()).unwrap();
    let record = dns_record(DOMAIN, "other", &key);

    // The verifier still looks up the record of the signature's own selector. That lookup finds
    // no name server, so it must fail at once instead of waiting for a network timeout.
    let result = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        verify_with_key(&signed, DOMAIN, "other", &record.value),
    )
    .await
    .expect("verification finished within 5 s");

    assert!(
        matches!(result, Err(DkimError::NoSignature { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn invalid_record_is_rejected() {
    let signed = signer(&rsa_key()).sign(&composed_message()).unwrap();

    let result = verify_with_key(&signed, DOMAIN, SELECTOR, "v=DKIM1; k=rsa; p=!!!").await;

    assert!(
        matches!(result, Err(DkimError::InvalidRecord(_))),
        "{result:?}"
    );
}

#[test]
fn rsa_record_publishes_2048_bit_key() {
    let record = dns_record(DOMAIN, SELECTOR, &rsa_key());

    assert_eq!(record.name, "tayori2026._domainkey.example.jp");
    assert!(
        record.value.starts_with("v=DKIM1; k=rsa; p="),
        "{}",
        record.value
    );
    let public_key = record.value.split_once("p=").unwrap().1;
    let der = decode_public_key(public_key);
    // A 2048-bit key's SubjectPublicKeyInfo: 24 bytes of framing with the rsaEncryption OID,
    // then the RSAPublicKey with a 257-byte modulus INTEGER (a zero byte, then 256 bytes).
    assert_eq!(der.len(), 294);
    assert_eq!(
        der[..17],
        [
            0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
            0x01, 0x01, 0x01
        ]
    );
    assert_eq!(
        der[24..33],
        [0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00]
    );
    assert!(der[33] >= 0x80, "the modulus has its top bit set");
    let parsed = DomainKey::parse(record.value.as_bytes()).unwrap();
    assert_eq!(parsed.p.public_key_bits(), 2048);
}

#[test]
fn rsa_record_splits_into_txt_strings() {
    let record = dns_record(DOMAIN, SELECTOR, &rsa_key());

    assert_eq!(record.strings.len(), 2, "{:?}", record.strings);
    for string in &record.strings {
        assert!(string.len() <= 255, "{} characters", string.len());
    }
    assert_eq!(record.strings.concat(), record.value);
    assert_eq!(
        record.zone_line,
        format!(
            "tayori2026._domainkey.example.jp. IN TXT \"{}\" \"{}\"",
            record.strings[0], record.strings[1]
        )
    );
}

#[test]
fn ed25519_record_publishes_raw_key() {
    let key = ed25519_key();
    let record = dns_record(DOMAIN, SELECTOR, &key);

    assert!(
        record.value.starts_with("v=DKIM1; k=ed25519; p="),
        "{}",
        record.value
    );
    let public_key = record.value.split_once("p=").unwrap().1;
    assert_eq!(decode_public_key(public_key).len(), 32);
    assert_eq!(record.strings, vec![record.value.clone()]);
    assert_eq!(
        record.zone_line,
        format!(
            "tayori2026._domainkey.example.jp. IN TXT \"{}\"",
            record.value
        )
    );
}

/// Builds a message by hand with folded headers, a 990-octet body line, trailing whitespace and
/// trailing empty lines.
fn folded_message() -> Vec<u8> {
    let long_line = "x".repeat(990);
    format!(
        "From: =?utf-8?b?5p2x5Lqs5LiN5YuV55Sj?=\r\n <no-reply@example.jp>\r\n\
         To: taro@example.net,\r\n\thanako@example.net\r\n\
         Subject: =?utf-8?b?44CQ5paw552A54mp5Lu244CR?=\r\n\t=?utf-8?b?5riL6LC35Yy644GuMkxESw==?=\r\n\
         Date: Fri, 05 Dec 2025 10:00:00 +0900\r\n\
         Message-ID: <folded-1@example.jp>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain;\r\n  charset=utf-8\r\n\
         List-Unsubscribe: <https://tayori.example/u/abc>,\r\n <mailto:u-abc@tayori.example>\r\n\
         List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\
         \r\n\
         {long_line}\r\n\
         trailing spaces   \r\n\
         \r\n\
         \r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn folded_headers_and_long_lines_verify() {
    for key in [rsa_key(), ed25519_key()] {
        let signed = signer(&key).sign(&folded_message()).unwrap();
        let record = dns_record(DOMAIN, SELECTOR, &key);

        verify_with_key(&signed, DOMAIN, SELECTOR, &record.value)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn refolded_whitespace_still_verifies() {
    let key = rsa_key();
    let signed = signer(&key).sign(&folded_message()).unwrap();
    let record = dns_record(DOMAIN, SELECTOR, &key);
    // Relaxed canonicalisation (RFC 6376 sections 3.4.2 and 3.4.4) ignores other folding
    // whitespace, header name case, whitespace at line ends and the length of whitespace runs.
    let changed = String::from_utf8(signed)
        .unwrap()
        .replace("\r\n\t=?utf-8?b?5riL", "\r\n    =?utf-8?b?5riL")
        .replace(
            "\r\nList-Unsubscribe-Post: List",
            "\r\nlist-unsubscribe-post: List",
        )
        .replace("trailing spaces   \r\n", "trailing   spaces\r\n")
        .into_bytes();

    verify_with_key(&changed, DOMAIN, SELECTOR, &record.value)
        .await
        .unwrap();
}

#[test]
fn message_without_from_is_rejected() {
    let raw = b"To: taro@example.net\r\nSubject: test\r\n\r\nbody\r\n";

    let result = signer(&rsa_key()).sign(raw);

    assert!(matches!(result, Err(DkimError::MissingFrom)), "{result:?}");
}

#[test]
fn bare_line_feed_is_rejected() {
    let raw = b"From: a@example.jp\nSubject: test\n\nbody\n";

    let result = signer(&rsa_key()).sign(raw);

    assert!(matches!(result, Err(DkimError::BareLineFeed)), "{result:?}");
}

#[test]
fn invalid_names_are_rejected() {
    let key = ed25519_key();
    for selector in [
        "",
        "a;b",
        "tayori\r\nBcc: x@example.com",
        "-x",
        "a..b",
        "セレクタ",
    ] {
        let result = Signer::new(DOMAIN, selector, key.algorithm, &key.private_pkcs8_der);
        assert!(
            matches!(result, Err(DkimError::InvalidSelector(_))),
            "{selector:?}: {result:?}"
        );
    }
    for domain in [
        "",
        "localhost",
        "exa mple.jp",
        "例え.jp",
        "example.jp.",
        "a_b.example.jp",
    ] {
        let result = Signer::new(domain, SELECTOR, key.algorithm, &key.private_pkcs8_der);
        assert!(
            matches!(result, Err(DkimError::InvalidDomain(_))),
            "{domain:?}: {result:?}"
        );
    }
    check_selector("tayori-2026.mail").unwrap();
    check_domain("xn--eckwd4c7c.co.jp").unwrap();
}

#[test]
fn key_of_other_type_is_rejected() {
    let ed25519 = ed25519_key();
    let rsa = rsa_key();
    let cases = [
        (KeyAlgorithm::Rsa2048, ed25519.private_pkcs8_der.as_slice()),
        (KeyAlgorithm::Ed25519, rsa.private_pkcs8_der.as_slice()),
        (KeyAlgorithm::Rsa2048, b"not a key".as_slice()),
    ];
    for (algorithm, der) in cases {
        let result = Signer::new(DOMAIN, SELECTOR, algorithm, der);
        let Err(error) = result else {
            panic!("{algorithm} accepted a wrong key");
        };
        assert!(
            matches!(error, DkimError::InvalidPrivateKey { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("PKCS#8"), "{error}");
    }
}

#[test]
fn rsa_key_below_2048_bits_is_rejected() {
    // Made with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024`.
    let pem = "-----BEGIN PRIVATE KEY-----
MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAPoDt2dMYILQEKCJ
wM4RTi1kb+i+CcON+WoKPRexR3LcOce8DVwRROPQ20ax0H1wDG3ILtw1S86qRdVI
4AfXg/9ausmhIztrDxaO76dkdVlQKg+RGonol3mAS+q7tNSkdjj6iFs6EhGANEYz
zO8BnapHV8lOcYEzaEc7GeQcZC2PAgMBAAECgYAxx7Wn2rxIr5bv8B20qhtvzFS/
+b7F8incJEe/xOueAh17GIVsdH/MAJT4gYUqxLmkzjwOWopKjvqymf0Jcq70L2Rl
pQW7MHbrqmi3k3j9EA1BapXJHS4IgFKZLw2/zjFC2DVfF7yksedh1pGV9Fz9DlP0
Pa0aMxuiEhMpbFGOAQJBAP17ru8YEbHCsaujP7eadNtaC1zwdKlYsOxnLO1lHTvF
jNRwyeNohi08y9g5TbIJd8dNOfrCeblwfQ1SXYSZSQECQQD8fzdjkBK/M44AYo3t
Y2z6zLsg5StqnlnOMoSvHphGl5Rwy2dBSI/sdZH6rFvN0vzHZJ3aCwqwkbE64UFZ
rmaPAkBupVF73lbC8Ehbsnu6qjo+EXUKUY+q6CL6XiMXUN7M23OYu870bAi9sF8O
eBz5DPby0TvwwHkfwAFmEkDuA3cBAkEAzUYfobHfi9I9/9If0H6kesE24OdvBJ74
I8quVDBrW/iflZPHvitf1r0+kKzPdeWx2+jQ7BNN/X50t4mpt18xwQJBAODLhspA
N3jaJUQe6EoaKgYKELQR2tAktC8BTWLcr73BLD7xfHOJ8G0zFYs0PXbFnFxHP5je
7+qCGi9WyD8j0LU=
-----END PRIVATE KEY-----
";
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();

    let result = Signer::new(
        DOMAIN,
        SELECTOR,
        KeyAlgorithm::Rsa2048,
        der.secret_pkcs8_der(),
    );

    assert!(
        matches!(result, Err(DkimError::InvalidPrivateKey { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn generated_rsa_key_signs_and_verifies() {
    let key = generate(KeyAlgorithm::Rsa2048).unwrap();
    let record = dns_record(DOMAIN, SELECTOR, &key);
    let signed = signer(&key).sign(&composed_message()).unwrap();

    verify_with_key(&signed, DOMAIN, SELECTOR, &record.value)
        .await
        .unwrap();
    let parsed = DomainKey::parse(record.value.as_bytes()).unwrap();
    assert_eq!(parsed.p.public_key_bits(), 2048);
}

#[test]
fn generated_ed25519_keys_differ() {
    let first = ed25519_key();
    let second = ed25519_key();

    assert_ne!(first.private_pkcs8_der, second.private_pkcs8_der);
    assert_ne!(first.public_key_base64, second.public_key_base64);
    assert_eq!(signer(&first).public_key_base64(), first.public_key_base64);
}

#[test]
fn debug_output_hides_private_key() {
    let key = ed25519_key();

    let text = format!("{key:?} {:?}", signer(&key));

    assert!(text.contains("[redacted]"), "{text}");
    assert!(
        !text.contains(&format!("{:?}", key.private_pkcs8_der)),
        "{text}"
    );
}

#[test]
fn signer_is_shareable_across_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Signer>();
}
