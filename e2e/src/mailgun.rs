//! A fake of Mailgun's sending API for tests: one HTTP listener on 127.0.0.1 for the US host
//! and one for the EU host, with the endpoints Tayori uses and the error responses it must handle.
//!
//! Endpoints, all with HTTP Basic auth `api:KEY`:
//! - `POST /v3/{domain}/messages.mime`: multipart `to` (repeatable, or comma-separated) and a
//!   `message` file part with the MIME message.
//! - `POST /v3/{domain}/messages`: multipart `from`, `to`, `subject`, `text`, `html`, `h:*`,
//!   `v:*`, `o:*`; every field is stored.
//! - `GET /v3/domains/{domain}`: the domain, if it exists in this host's region.
//!
//! A wrong key gets 401 `Forbidden`. A domain that is unknown, or known only in the other region,
//! gets 404 `{"message":"Domain not found: …"}`. A recipient whose local part starts with one of
//! these prefixes selects a scripted response. When several recipients do, the first row that
//! matches wins:
//!
//! | prefix | response |
//! |---|---|
//! | `stall-` | none until the fake is dropped |
//! | `ratelimit-` | 429 |
//! | `error-` | 500 |
//! | `invalid-` | 400 `'to' parameter is not a valid address. please check documentation` |

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use tokio::{sync::watch, task::JoinHandle};

/// Largest request body the fake reads.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The Mailgun region a domain lives in, and the host that stands for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    Us,
    Eu,
}

/// A Mailgun sending domain configured in the fake.
#[derive(Debug, Clone)]
pub struct FakeDomain {
    pub name: String,
    pub api_key: String,
    pub region: Region,
}

/// A request that the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailgunMessage {
    pub domain: String,
    /// The host that received the request.
    pub region: Region,
    pub to: Vec<String>,
    /// The `message` file part of a `messages.mime` request, byte for byte.
    pub mime: Option<Vec<u8>>,
    /// Every text field in order, `to` included; for `messages.mime` without the file part.
    pub fields: Vec<(String, String)>,
}

struct Shared {
    domains: Vec<FakeDomain>,
    messages: Mutex<Vec<MailgunMessage>>,
    next_id: AtomicU64,
    /// Becomes true when the fake is dropped; stalled requests wait for it.
    stopping: watch::Receiver<bool>,
}

#[derive(Clone)]
struct Host {
    shared: Arc<Shared>,
    region: Region,
}

/// A running fake. Dropping it releases stalled requests and stops both listeners.
pub struct FakeMailgun {
    us_url: String,
    eu_url: String,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
}

impl FakeMailgun {
    /// Starts the fake with `domains` as `(domain, api_key, region)`.
    pub async fn start(domains: &[(&str, &str, Region)]) -> anyhow::Result<Self> {
        let (stop, stopping) = watch::channel(false);
        let shared = Arc::new(Shared {
            domains: domains
                .iter()
                .map(|(name, api_key, region)| FakeDomain {
                    name: (*name).to_owned(),
                    api_key: (*api_key).to_owned(),
                    region: *region,
                })
                .collect(),
            messages: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            stopping,
        });

        let mut servers = Vec::new();
        let mut urls = Vec::new();
        for region in [Region::Us, Region::Eu] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let address: SocketAddr = listener.local_addr()?;
            urls.push(format!("http://{address}"));
            let app = router(Host {
                shared: Arc::clone(&shared),
                region,
            });
            servers.push(tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, app).await {
                    eprintln!("fake Mailgun on {address} stopped: {error}");
                }
            }));
        }
        let [us_url, eu_url] = <[String; 2]>::try_from(urls)
            .map_err(|_| anyhow::anyhow!("expected one listener per region"))?;

        Ok(Self {
            us_url,
            eu_url,
            shared,
            stop,
            servers,
        })
    }

    /// Base URL of the host that stands for `https://api.mailgun.net`.
    pub fn us_url(&self) -> &str {
        &self.us_url
    }

    /// Base URL of the host that stands for `https://api.eu.mailgun.net`.
    pub fn eu_url(&self) -> &str {
        &self.eu_url
    }

    /// Returns the requests accepted so far, oldest first.
    pub fn messages(&self) -> Vec<MailgunMessage> {
        self.shared
            .messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for FakeMailgun {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for server in &self.servers {
            server.abort();
        }
    }
}

fn router(host: Host) -> Router {
    Router::new()
        .route("/v3/domains/{domain}", get(get_domain))
        .route("/v3/{domain}/messages.mime", post(post_mime))
        .route("/v3/{domain}/messages", post(post_messages))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(host)
}

async fn get_domain(
    State(host): State<Host>,
    Path(domain): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(rejection) = host.reject_unauthorized(&headers, &domain) {
        return rejection;
    }
    Json(serde_json::json!({ "domain": { "name": domain, "state": "active" } })).into_response()
}

async fn post_mime(
    State(host): State<Host>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(rejection) = host.reject_unauthorized(&headers, &domain) {
        return rejection;
    }
    let parts = match parse_multipart(&headers, &body) {
        Ok(parts) => parts,
        Err(message) => return api_error(StatusCode::BAD_REQUEST, &message),
    };
    let mime = parts
        .iter()
        .find(|part| part.name == "message")
        .map(|part| part.value.clone());
    let fields = text_fields(parts.iter().filter(|part| part.name != "message"));
    let to = recipients(&fields);
    if to.is_empty() {
        return api_error(StatusCode::BAD_REQUEST, "'to' parameter is missing");
    }
    let Some(mime) = mime else {
        return api_error(StatusCode::BAD_REQUEST, "'message' parameter is missing");
    };
    host.accept(domain, to, Some(mime), fields).await
}

async fn post_messages(
    State(host): State<Host>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(rejection) = host.reject_unauthorized(&headers, &domain) {
        return rejection;
    }
    let parts = match parse_multipart(&headers, &body) {
        Ok(parts) => parts,
        Err(message) => return api_error(StatusCode::BAD_REQUEST, &message),
    };
    let fields = text_fields(parts.iter());
    let has = |name: &str| fields.iter().any(|(field, _)| field == name);
    let to = recipients(&fields);
    if !has("from") {
        return api_error(StatusCode::BAD_REQUEST, "'from' parameter is missing");
    }
    if to.is_empty() {
        return api_error(StatusCode::BAD_REQUEST, "'to' parameter is missing");
    }
    if !has("text") && !has("html") {
        return api_error(
            StatusCode::BAD_REQUEST,
            "Need at least one of 'text' or 'html' parameters specified",
        );
    }
    host.accept(domain, to, None, fields).await
}

impl Host {
    /// Returns the error response for a request whose key or domain is wrong. The key is checked
    /// first (any configured key is a valid account key), then that the domain exists in this
    /// host's region, then that the key belongs to it.
    fn reject_unauthorized(&self, headers: &HeaderMap, domain: &str) -> Option<Response> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        let matches =
            |api_key: &str| authorization == Some(basic_authorization("api", api_key).as_str());
        let forbidden = || (StatusCode::UNAUTHORIZED, "Forbidden").into_response();

        let domains = &self.shared.domains;
        if !domains.iter().any(|known| matches(&known.api_key)) {
            return Some(forbidden());
        }
        let Some(known) = domains
            .iter()
            .find(|known| known.name == domain && known.region == self.region)
        else {
            return Some(api_error(
                StatusCode::NOT_FOUND,
                &format!("Domain not found: {domain}"),
            ));
        };
        if !matches(&known.api_key) {
            return Some(forbidden());
        }
        None
    }

    /// Returns the response scripted by the recipients, or stores the message and returns 200.
    async fn accept(
        &self,
        domain: String,
        to: Vec<String>,
        mime: Option<Vec<u8>>,
        fields: Vec<(String, String)>,
    ) -> Response {
        let local_parts: Vec<String> = to
            .iter()
            .map(|address| {
                address
                    .rsplit_once('@')
                    .map_or(address.as_str(), |(local, _)| local)
                    .trim_start_matches('<')
                    .to_ascii_lowercase()
            })
            .collect();
        let scripted = |prefix: &str| local_parts.iter().any(|local| local.starts_with(prefix));

        if scripted("stall-") {
            let mut stopping = self.shared.stopping.clone();
            let _ = stopping.wait_for(|stopping| *stopping).await;
            return api_error(StatusCode::SERVICE_UNAVAILABLE, "fake Mailgun stopped");
        }
        if scripted("ratelimit-") {
            return api_error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        }
        if scripted("error-") {
            return api_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
        if scripted("invalid-") {
            return api_error(
                StatusCode::BAD_REQUEST,
                "'to' parameter is not a valid address. please check documentation",
            );
        }

        let number = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("<{}.{number:06}@{domain}>", utc_timestamp());
        self.shared
            .messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(MailgunMessage {
                domain,
                region: self.region,
                to,
                mime,
                fields,
            });
        Json(serde_json::json!({ "id": id, "message": "Queued. Thank you." })).into_response()
    }
}

fn api_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "message": message }))).into_response()
}

/// Collects every `to` field, split at commas as the API allows.
fn recipients(fields: &[(String, String)]) -> Vec<String> {
    fields
        .iter()
        .filter(|(name, _)| name == "to")
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|address| !address.is_empty())
        .map(str::to_owned)
        .collect()
}

fn text_fields<'a>(parts: impl Iterator<Item = &'a FormPart>) -> Vec<(String, String)> {
    parts
        .map(|part| {
            (
                part.name.clone(),
                String::from_utf8_lossy(&part.value).into_owned(),
            )
        })
        .collect()
}

/// One part of a multipart/form-data body.
struct FormPart {
    name: String,
    value: Vec<u8>,
}

/// Splits a multipart/form-data body (RFC 7578) into its named parts.
fn parse_multipart(headers: &HeaderMap, body: &[u8]) -> Result<Vec<FormPart>, String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(format!(
            "expected multipart/form-data, got {content_type:?}"
        ));
    }
    let boundary = parameter(content_type, "boundary")
        .ok_or_else(|| "the multipart Content-Type has no boundary".to_owned())?;
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();

    let mut position = find(body, &delimiter, 0)
        .ok_or_else(|| "the multipart body has no boundary line".to_owned())?
        + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = &body[position..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        if !rest.starts_with(b"\r\n") {
            return Err("a multipart boundary line is not followed by CRLF".to_owned());
        }
        let headers_start = position + 2;
        let headers_end = find(body, b"\r\n\r\n", headers_start)
            .ok_or_else(|| "a multipart part has no end of headers".to_owned())?;
        let content_start = headers_end + 4;
        let content_end = find(body, &next_delimiter, content_start)
            .ok_or_else(|| "the multipart body has no closing boundary".to_owned())?;

        let part_headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
        let name = part_headers
            .split("\r\n")
            .find(|line| {
                line.to_ascii_lowercase()
                    .starts_with("content-disposition:")
            })
            .and_then(|line| parameter(line, "name"))
            .ok_or_else(|| "a multipart part has no name".to_owned())?;
        parts.push(FormPart {
            name,
            value: body[content_start..content_end].to_vec(),
        });
        position = content_end + next_delimiter.len();
    }
}

/// Returns the value of `name=value` or `name="value"` among the `;`-separated parameters of a header.
fn parameter(header_value: &str, name: &str) -> Option<String> {
    header_value.split(';').skip(1).find_map(|item| {
        let (key, value) = item.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|offset| from + offset)
}

/// The `Authorization` header value of HTTP Basic auth (RFC 7617).
fn basic_authorization(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// Standard base64 with padding (RFC 4648, section 4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk.iter().enumerate().fold(0u32, |group, (index, byte)| {
            group | (u32::from(*byte) << (16 - 8 * index))
        });
        for index in 0..4 {
            if index <= chunk.len() {
                let sextet = (group >> (18 - 6 * index)) & 0x3f;
                encoded.push(char::from(ALPHABET[sextet as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

/// The current UTC time as `YYYYMMDDhhmmss`, the form that starts Mailgun's message ids.
fn utc_timestamp() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let days = (seconds / 86_400) as i64;
    let time_of_day = seconds % 86_400;
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        time_of_day / 3600,
        time_of_day / 60 % 60,
        time_of_day % 60
    )
}

/// The proleptic Gregorian date of `days` after 1970-01-01, counted in 400-year eras of
/// 146,097 days whose years start on 1 March, so that the leap day falls at the end of a year.
fn civil_date(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_short_groups() {
        assert_eq!(base64(b"api:key-1"), "YXBpOmtleS0x");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn civil_date_handles_leap_days() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_792), (2026, 12, 5));
    }

    #[test]
    fn multipart_parts_keep_their_bytes() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=XyZ".parse().unwrap(),
        );
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\na@example.jp\r\n--XyZ\r\nContent-Disposition: form-data; name=\"message\"; filename=\"m.eml\"\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\nbody\r\n\r\n--XyZ--\r\n";
        let parts = parse_multipart(&headers, body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "to");
        assert_eq!(parts[0].value, b"a@example.jp");
        assert_eq!(parts[1].name, "message");
        assert_eq!(parts[1].value, b"Subject: x\r\n\r\nbody\r\n");
    }
}
