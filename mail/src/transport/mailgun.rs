//! Sending through Mailgun's HTTP API. Messages go to `POST /v3/{domain}/messages.mime` as
//! finished MIME, so Mailgun relays Tayori's signed bytes instead of building a message itself.

use std::{error::Error as StdError, io, time::Duration};

use reqwest::{
    StatusCode, Url,
    header::{CONTENT_TYPE, HeaderMap, HeaderValue},
    multipart::{Form, Part},
};
use secrecy::{ExposeSecret, SecretString};

use super::{Accepted, FaultCause, FaultKind, FaultTarget, Outgoing, SendFault};

/// The Mailgun region where the domain was created. Each region has its own API host, and a domain
/// is known only on its own region's host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    Us,
    Eu,
}

/// API base URLs per region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailgunHosts {
    pub us: String,
    pub eu: String,
}

impl Default for MailgunHosts {
    fn default() -> Self {
        Self {
            us: "https://api.mailgun.net".to_owned(),
            eu: "https://api.eu.mailgun.net".to_owned(),
        }
    }
}

/// A tenant's Mailgun sending domain and private API key.
#[derive(Debug, Clone)]
pub struct MailgunConfig {
    pub domain: String,
    pub api_key: SecretString,
    pub region: Region,
    pub hosts: MailgunHosts,
    /// Limit of each request, from connect to the end of the response body.
    pub timeout: Duration,
}

/// Sends through one Mailgun domain. Clones share one HTTP client and its connections.
#[derive(Clone)]
pub struct MailgunTransport {
    client: reqwest::Client,
    base: Url,
    domain: String,
    api_key: SecretString,
    region: Region,
    timeout: Duration,
}

impl MailgunTransport {
    /// Prepares the HTTP client; sends no request. Fails with [`FaultCause::InvalidSettings`]
    /// when the region's base URL is not an http or https URL.
    pub fn new(config: MailgunConfig) -> Result<Self, SendFault> {
        let target = FaultTarget::Mailgun {
            domain: config.domain.clone(),
            region: config.region,
        };
        let invalid = |detail: String| {
            SendFault::new(FaultKind::Configuration, FaultCause::InvalidSettings)
                .with_target(target.clone())
                .with_detail(detail)
        };

        let base_text = match config.region {
            Region::Us => &config.hosts.us,
            Region::Eu => &config.hosts.eu,
        };
        let base = Url::parse(base_text)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(|| invalid(format!("invalid Mailgun base URL {base_text:?}")))?;
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            // The API does not redirect; following one would resend the key elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| invalid(format!("failed to build the HTTP client: {error}")))?;

        Ok(Self {
            client,
            base,
            domain: config.domain,
            api_key: config.api_key,
            region: config.region,
            timeout: config.timeout,
        })
    }

    /// Posts `message.raw` unchanged to `messages.mime` for `message.to`.
    pub async fn send(&self, message: Outgoing<'_>) -> Result<Accepted, SendFault> {
        tracing::debug!(domain = %self.domain, region = ?self.region, "sending a message through Mailgun");
        let mut file_headers = HeaderMap::new();
        file_headers.insert(CONTENT_TYPE, HeaderValue::from_static("message/rfc822"));
        let file = Part::bytes(message.raw.to_vec())
            .file_name("message.eml")
            .headers(file_headers);
        let form = Form::new()
            .text("to", crate::address::for_transport(message.to).into_owned())
            .part("message", file);
        let request = self
            .client
            .post(self.url(&[&self.domain, "messages.mime"]))
            .multipart(form);

        let (status, body) = self.execute(request).await?;
        tracing::debug!(domain = %self.domain, %status, "Mailgun accepted a message");
        Ok(Accepted {
            response: accepted_text(&body),
        })
    }

    /// Checks the API key and that the domain exists in the configured region, with
    /// `GET /v3/domains/{domain}`. Sends no mail.
    pub async fn check(&self) -> Result<(), SendFault> {
        tracing::debug!(domain = %self.domain, region = ?self.region, "checking a Mailgun domain");
        let request = self.client.get(self.url(&["domains", &self.domain]));
        self.execute(request).await.map(|_| ())
    }

    /// `{base}/v3/{segments…}`, with each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `new` accepted only http and https URLs, which always have path segments.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v3").extend(segments);
        }
        url
    }

    /// Sends an authenticated request and returns the status and body of a 2xx response.
    async fn execute(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, String), SendFault> {
        let request = request.basic_auth("api", Some(self.api_key.expose_secret()));
        let exchange = async {
            let response = request.send().await?;
            let status = response.status();
            let body = response.text().await?;
            Ok::<_, reqwest::Error>((status, body))
        };
        let result = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok((status, body))) if status.is_success() => Ok((status, body)),
            Ok(Ok((status, body))) => Err(self.status_fault(status, &body)),
            Ok(Err(error)) => Err(self.request_fault(&error)),
            Err(_elapsed) => Err(self.timeout_fault()),
        };
        if let Err(fault) = &result {
            tracing::debug!(domain = %self.domain, cause = fault.cause.code(), "Mailgun request failed");
        }
        result
    }

    fn fault(&self, kind: FaultKind, cause: FaultCause) -> SendFault {
        SendFault::new(kind, cause).with_target(FaultTarget::Mailgun {
            domain: self.domain.clone(),
            region: self.region,
        })
    }

    fn timeout_fault(&self) -> SendFault {
        self.fault(FaultKind::Transient, FaultCause::Timeout)
            .with_timeout(self.timeout)
    }

    /// Maps an error response: 401/403 key, 404 domain, 429 rate limit, 5xx server, other 4xx
    /// the message itself.
    fn status_fault(&self, status: StatusCode, body: &str) -> SendFault {
        let (kind, cause) = match status.as_u16() {
            401 | 403 => (FaultKind::Configuration, FaultCause::MailgunUnauthorized),
            404 => (FaultKind::Configuration, FaultCause::MailgunDomainNotFound),
            429 => (FaultKind::Transient, FaultCause::MailgunRateLimited),
            500..=599 => (FaultKind::Transient, FaultCause::MailgunServerError),
            400..=499 => (FaultKind::Permanent, FaultCause::MailgunRejected),
            _ => (FaultKind::Permanent, FaultCause::MailgunServerError),
        };
        let reply = format!("{} {}", status.as_u16(), api_message(body));
        self.fault(kind, cause)
            .with_response(&reply)
            .redacted(self.api_key.expose_secret())
    }

    fn request_fault(&self, error: &reqwest::Error) -> SendFault {
        let refused = error_chain(error).any(|source| {
            source
                .downcast_ref::<io::Error>()
                .is_some_and(|io_error| io_error.kind() == io::ErrorKind::ConnectionRefused)
        });
        let cause = if error.is_timeout() {
            FaultCause::Timeout
        } else if refused {
            FaultCause::ConnectionRefused
        } else {
            FaultCause::Network
        };
        self.fault(FaultKind::Transient, cause)
            .with_timeout_of(self.timeout)
            .with_detail(error.to_string())
            .redacted(self.api_key.expose_secret())
    }
}

impl std::fmt::Debug for MailgunTransport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("MailgunTransport")
            .field("base", &self.base.as_str())
            .field("domain", &self.domain)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// The `message` of a JSON error body, or the body itself (Mailgun returns 401 with the plain
/// text `Forbidden`).
fn api_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| body.trim().to_owned())
}

/// "<id> Queued. Thank you." from a success body, or the body itself if it is not that JSON.
fn accepted_text(body: &str) -> String {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.trim().to_owned();
    };
    let field = |name: &str| json.get(name).and_then(|value| value.as_str());
    match (field("id"), field("message")) {
        (Some(id), Some(message)) => format!("{id} {message}"),
        (Some(id), None) => id.to_owned(),
        _ => body.trim().to_owned(),
    }
}

fn error_chain<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |current| (*current).source())
}
