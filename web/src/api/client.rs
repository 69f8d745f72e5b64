//! [`Api`], the handle every page sends its requests through, and the decoding of the
//! GraphQL response envelope.

use gloo_net::http::Request;
use leptos::prelude::*;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use web_sys::RequestCredentials;

use super::error::{ApiError, ErrorCode, GraphqlError};
use super::refresh;
use crate::i18n::I18n;
use crate::session::SessionStore;

const GRAPHQL_ENDPOINT: &str = "/graphql";

/// The envelope of every GraphQL response.
#[derive(Deserialize)]
struct GraphqlResponse {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Vec<GraphqlError>>,
}

/// The GraphQL client handle, provided as context by the app root.
#[derive(Clone, Copy, Debug)]
pub struct Api {
    pub(super) session: SessionStore,
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
                        self.sign_in(&session);
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

    pub(super) async fn send_decoded<T: DeserializeOwned>(
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
        refresh::observe_server_date(response.headers().get("date").as_deref());
        let text = response
            .text()
            .await
            .map_err(|error| ApiError::Network(error.to_string()))?;
        decode_response(status, &text)
    }
}

/// Returns the `data` of a GraphQL response with HTTP status `status` and body `text`.
fn decode_response(status: u16, text: &str) -> Result<Value, ApiError> {
    // A proxy or the server's body limit can respond with a non-JSON error page, so the
    // status only matters when the body is not a GraphQL response.
    let is_success = (200..300).contains(&status);
    let envelope: GraphqlResponse = match serde_json::from_str(text) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn error_page_with_status_is_status_error() {
        assert_eq!(
            decode_response(413, "<html>Payload Too Large</html>"),
            Err(ApiError::Status(413))
        );
    }

    #[test]
    fn graphql_errors_win_over_status() {
        let body = r#"{"data": null, "errors": [{"message": "slow down"}]}"#;
        assert!(matches!(
            decode_response(429, body),
            Err(ApiError::Graphql(errors)) if errors.len() == 1
        ));
    }

    #[test]
    fn response_without_data_or_errors_is_decode_error() {
        assert!(matches!(
            decode_response(200, r#"{"data": null}"#),
            Err(ApiError::Decode(_))
        ));
    }

    #[test]
    fn response_data_is_returned() {
        assert_eq!(
            decode_response(200, r#"{"data": {"logOut": true}}"#),
            Ok(json!({ "logOut": true }))
        );
    }
}
