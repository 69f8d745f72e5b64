//! The GraphQL client: every request the dashboard makes goes through [`Api`].
//!
//! Requests are `POST /graphql` with a JSON body, the operator's access token as a bearer
//! token, `Accept-Language` set to the UI locale, and `credentials: include` so the browser sends
//! the HttpOnly refresh cookie. When an authenticated request fails with `UNAUTHENTICATED` (the
//! 15-minute access token expired), the client calls `refreshSession` once and retries.
//!
//! Most operations declare only `String` variables and write enum values (from fixed Rust
//! enums), ids and short strings into the query text with [`string_literal`]. That keeps them
//! independent of the server's input type names. The exception is `setListingSchema`, whose
//! `[ListingFieldInput!]!` variable is documented in `server/schema.graphql`.

use std::cell::RefCell;

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use gloo_net::http::Request;
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use web_sys::RequestCredentials;

use crate::i18n::{Catalogue, I18n};
use crate::session::{SESSION_FIELDS, Session, SessionStore};

const GRAPHQL_ENDPOINT: &str = "/graphql";

/// The `extensions.code` of a GraphQL error, as listed in `docs/API.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    Validation,
    Conflict,
    RateLimited,
    Internal,
    /// A code this build of the dashboard does not know.
    #[serde(other)]
    Unknown,
}

/// One entry of a GraphQL response's `errors` array.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct GraphqlError {
    /// Localized by the server according to `Accept-Language`.
    pub message: String,
    #[serde(default)]
    pub extensions: Option<ErrorExtensions>,
}

/// The `extensions` object of a GraphQL error.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorExtensions {
    pub code: Option<ErrorCode>,
    /// The rejected input field, on `VALIDATION` errors.
    #[serde(default)]
    pub field: Option<String>,
    /// The rejected value, on `VALIDATION` errors.
    #[serde(default)]
    pub value: Option<Value>,
    /// The id to quote to support, on `INTERNAL` errors.
    #[serde(default)]
    pub request_id: Option<String>,
}

impl GraphqlError {
    /// Returns the error's `extensions.code`, if the server sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        self.extensions
            .as_ref()
            .and_then(|extensions| extensions.code)
    }

    /// Returns the input field named in `extensions.field`, if any.
    pub fn field(&self) -> Option<&str> {
        self.extensions
            .as_ref()
            .and_then(|extensions| extensions.field.as_deref())
    }
}

/// The reason a request failed.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// The request did not reach the server, or the response body could not be read.
    Network(String),
    /// The server returned an HTTP error status without a GraphQL response body.
    Status(u16),
    /// The response was not the JSON shape this build of the dashboard expects.
    Decode(String),
    /// The server returned one or more GraphQL errors.
    Graphql(Vec<GraphqlError>),
}

impl ApiError {
    /// Returns whether any GraphQL error carries `code`.
    pub fn has_code(&self, code: ErrorCode) -> bool {
        match self {
            ApiError::Graphql(errors) => errors.iter().any(|error| error.code() == Some(code)),
            _ => false,
        }
    }

    /// Returns the GraphQL errors that name an input field, as `(field, message)` pairs.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        match self {
            ApiError::Graphql(errors) => errors
                .iter()
                .filter_map(|error| Some((error.field()?.to_owned(), error.message.clone())))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Returns the message of the first GraphQL error that names one of `names`.
    pub fn message_for_field(&self, names: &[&str]) -> Option<String> {
        self.field_errors()
            .into_iter()
            .find(|(field, _)| names.contains(&field.as_str()))
            .map(|(_, message)| message)
    }

    /// Sentences for the operator, one per error. Server messages are already in the UI
    /// language; the others come from `t`.
    pub fn messages(&self, t: &Catalogue) -> Vec<String> {
        match self {
            ApiError::Network(_) => vec![t.error_network.to_owned()],
            ApiError::Status(status) => vec![(t.error_http_status)(*status)],
            ApiError::Decode(_) => vec![t.error_unexpected_response.to_owned()],
            ApiError::Graphql(errors) => errors
                .iter()
                .map(|error| {
                    let request_id = error
                        .extensions
                        .as_ref()
                        .and_then(|extensions| extensions.request_id.as_deref());
                    match request_id {
                        Some(id) => format!("{} {}", error.message, (t.error_request_id)(id)),
                        None => error.message.clone(),
                    }
                })
                .collect(),
        }
    }
}

/// The envelope of every GraphQL response.
#[derive(Deserialize)]
struct GraphqlResponse {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Vec<GraphqlError>>,
}

/// Writes `value` as a GraphQL string literal. JSON string escapes are a subset of GraphQL's,
/// so the JSON encoding is a valid literal that cannot end the string early.
pub fn string_literal(value: &str) -> String {
    Value::String(value.to_owned()).to_string()
}

/// Writes `value` as a GraphQL string literal, or `null`.
pub fn optional_string_literal(value: Option<&str>) -> String {
    value.map_or_else(|| "null".to_owned(), string_literal)
}

/// Deserializes `null` as the type's default, for list fields the server may send as `null`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

type RefreshFuture = Shared<LocalBoxFuture<'static, Result<Session, ApiError>>>;

thread_local! {
    /// The `refreshSession` call in flight, shared by every request that needs it. The server
    /// rotates the refresh cookie on each call, so two concurrent calls would race and the
    /// second would present a cookie that is already spent.
    static REFRESH_IN_FLIGHT: RefCell<Option<RefreshFuture>> = const { RefCell::new(None) };
}

/// The GraphQL client handle, provided as context by the app root.
#[derive(Clone, Copy, Debug)]
pub struct Api {
    session: SessionStore,
    i18n: I18n,
}

/// Returns the [`Api`] context that the app root provides.
pub fn use_api() -> Api {
    expect_context::<Api>()
}

impl Api {
    pub fn new(session: SessionStore, i18n: I18n) -> Self {
        Self { session, i18n }
    }

    /// Sends an operation with the operator's access token and decodes `data` into `T`.
    ///
    /// On `UNAUTHENTICATED` it refreshes the session once and retries. When the refresh is
    /// rejected too, the session is cleared, which sends the operator to the login page.
    pub async fn request<T: DeserializeOwned>(
        self,
        query: &str,
        variables: Value,
    ) -> Result<T, ApiError> {
        let Some(token) = self.session.access_token() else {
            return self.send_decoded(query, &variables, None).await;
        };
        match self.send_decoded(query, &variables, Some(&token)).await {
            Err(error) if error.has_code(ErrorCode::Unauthenticated) => {
                match self.refresh_session().await {
                    Ok(session) => {
                        self.session.sign_in(&session);
                        self.send_decoded(query, &variables, Some(&session.access_token))
                            .await
                    }
                    Err(refresh_error) => {
                        if refresh_error.has_code(ErrorCode::Unauthenticated) {
                            self.session.sign_out();
                        }
                        Err(refresh_error)
                    }
                }
            }
            result => result,
        }
    }

    /// Sends an operation without an access token and without the refresh-and-retry step, for
    /// `signUp` and `logIn`, whose `UNAUTHENTICATED` means wrong credentials.
    pub async fn request_anonymous<T: DeserializeOwned>(
        self,
        query: &str,
        variables: Value,
    ) -> Result<T, ApiError> {
        self.send_decoded(query, &variables, None).await
    }

    /// Exchanges the refresh cookie for a new session. Concurrent callers share one request.
    /// The caller decides whether to store the result, because a restore on start-up must not
    /// overwrite a login that finished first.
    pub async fn refresh_session(self) -> Result<Session, ApiError> {
        let future = REFRESH_IN_FLIGHT.with(|slot| {
            let mut slot = slot.borrow_mut();
            if let Some(in_flight) = slot.as_ref() {
                return in_flight.clone();
            }
            let future = self.send_refresh().boxed_local().shared();
            *slot = Some(future.clone());
            future
        });
        let result = future.clone().await;
        REFRESH_IN_FLIGHT.with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot
                .as_ref()
                .is_some_and(|in_flight| in_flight.ptr_eq(&future))
            {
                *slot = None;
            }
        });
        result
    }

    async fn send_refresh(self) -> Result<Session, ApiError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            refresh_session: Session,
        }
        let query = format!("mutation RefreshSession {{ refreshSession {{ {SESSION_FIELDS} }} }}");
        let data: Data = self.send_decoded(&query, &json!({}), None).await?;
        Ok(data.refresh_session)
    }

    async fn send_decoded<T: DeserializeOwned>(
        self,
        query: &str,
        variables: &Value,
        token: Option<&str>,
    ) -> Result<T, ApiError> {
        let data = self.send(query, variables, token).await?;
        serde_json::from_value(data).map_err(|error| ApiError::Decode(error.to_string()))
    }

    async fn send(
        self,
        query: &str,
        variables: &Value,
        token: Option<&str>,
    ) -> Result<Value, ApiError> {
        let locale = self.i18n.locale_untracked();
        let mut builder = Request::post(GRAPHQL_ENDPOINT)
            .credentials(RequestCredentials::Include)
            .header("Accept", "application/json")
            .header("Accept-Language", locale.tag());
        if let Some(token) = token {
            builder = builder.header("Authorization", &format!("Bearer {token}"));
        }
        let body = json!({ "query": query, "variables": variables });
        let request = builder
            .json(&body)
            .map_err(|error| ApiError::Network(error.to_string()))?;
        let response = request
            .send()
            .await
            .map_err(|error| ApiError::Network(error.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|error| ApiError::Network(error.to_string()))?;

        // A proxy or the server's body limit can respond with a non-JSON error page, so the
        // status only matters when the body is not a GraphQL response.
        let is_success = (200..300).contains(&status);
        let envelope: GraphqlResponse = match serde_json::from_str(&text) {
            Ok(envelope) => envelope,
            Err(_) if !is_success => return Err(ApiError::Status(status)),
            Err(error) => return Err(ApiError::Decode(error.to_string())),
        };
        if let Some(errors) = envelope.errors.filter(|errors| !errors.is_empty()) {
            return Err(ApiError::Graphql(errors));
        }
        match envelope.data {
            Some(data) if !data.is_null() => Ok(data),
            _ if !is_success => Err(ApiError::Status(status)),
            _ => Err(ApiError::Decode(
                "response has neither data nor errors".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    #[test]
    fn string_literal_escapes_quotes_and_breaks() {
        assert_eq!(string_literal("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(string_literal("物件"), "\"物件\"");
    }

    #[test]
    fn optional_string_literal_writes_null() {
        assert_eq!(optional_string_literal(None), "null");
        assert_eq!(optional_string_literal(Some("x")), "\"x\"");
    }

    #[test]
    fn errors_decode_with_extensions() {
        let body = r#"{"data": null, "errors": [{"message": "m", "extensions":
            {"code": "VALIDATION", "field": "tenantSlug", "value": "taken", "reason": "SLUG_TAKEN"}}]}"#;
        let envelope: GraphqlResponse = serde_json::from_str(body).unwrap_or_else(|error| {
            panic!("response failed to decode: {error}");
        });
        let error = ApiError::Graphql(envelope.errors.unwrap_or_default());
        assert!(error.has_code(ErrorCode::Validation));
        assert_eq!(
            error.message_for_field(&["tenantSlug"]).as_deref(),
            Some("m")
        );
        assert_eq!(error.message_for_field(&["email"]), None);
    }

    #[test]
    fn unknown_error_code_decodes() {
        let error: GraphqlError =
            serde_json::from_str(r#"{"message": "m", "extensions": {"code": "TEAPOT"}}"#)
                .unwrap_or_else(|error| panic!("error failed to decode: {error}"));
        assert_eq!(error.code(), Some(ErrorCode::Unknown));
    }

    #[test]
    fn internal_error_message_quotes_request_id() {
        let error: GraphqlError = serde_json::from_str(
            r#"{"message": "failed", "extensions": {"code": "INTERNAL", "requestId": "r-1"}}"#,
        )
        .unwrap_or_else(|error| panic!("error failed to decode: {error}"));
        let messages = ApiError::Graphql(vec![error]).messages(Locale::En.catalogue());
        assert_eq!(messages, ["failed (Request ID: r-1)"]);
    }

    #[test]
    fn network_error_message_is_localized() {
        let error = ApiError::Network("TypeError".to_owned());
        assert_eq!(
            error.messages(Locale::Ja.catalogue()),
            [Locale::Ja.catalogue().error_network]
        );
    }
}
