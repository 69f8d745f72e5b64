//! GraphQL errors as the server sends them, and the reasons a request can fail.

use serde::Deserialize;
use serde_json::Value;

use crate::i18n::Catalogue;

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
    /// The problem's stable code on `VALIDATION` errors, such as `SENDER_CHECK_FAILED`.
    #[serde(default)]
    pub reason: Option<String>,
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

    /// Returns the problem code in `extensions.reason`, if any.
    pub fn reason(&self) -> Option<&str> {
        self.extensions
            .as_ref()
            .and_then(|extensions| extensions.reason.as_deref())
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

    /// Returns the messages of the GraphQL errors whose `extensions.reason` is `reason`.
    pub fn messages_with_reason(&self, reason: &str) -> Vec<String> {
        match self {
            ApiError::Graphql(errors) => errors
                .iter()
                .filter(|error| error.reason() == Some(reason))
                .map(|error| error.message.clone())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Returns this error without the GraphQL errors whose `extensions.reason` is `reason`,
    /// or `None` when nothing is left, so that a page can show those errors elsewhere.
    pub fn without_reason(&self, reason: &str) -> Option<ApiError> {
        match self {
            ApiError::Graphql(errors) => {
                let rest: Vec<GraphqlError> = errors
                    .iter()
                    .filter(|error| error.reason() != Some(reason))
                    .cloned()
                    .collect();
                (!rest.is_empty()).then_some(ApiError::Graphql(rest))
            }
            other => Some(other.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

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
    fn errors_split_by_reason() {
        let errors: Vec<GraphqlError> = serde_json::from_str(
            r#"[{"message": "port", "extensions": {"code": "VALIDATION", "field": "sender",
                 "reason": "SENDER_CHECK_FAILED"}},
                {"message": "name", "extensions": {"code": "VALIDATION", "field": "name",
                 "reason": "REQUIRED"}}]"#,
        )
        .unwrap_or_else(|error| panic!("errors failed to decode: {error}"));
        let error = ApiError::Graphql(errors);
        assert_eq!(error.messages_with_reason("SENDER_CHECK_FAILED"), ["port"]);
        let rest = error.without_reason("SENDER_CHECK_FAILED");
        assert_eq!(
            rest.map(|rest| rest.messages(Locale::Ja.catalogue())),
            Some(vec!["name".to_owned()])
        );
        assert_eq!(
            ApiError::Graphql(Vec::new()).without_reason("SENDER_CHECK_FAILED"),
            None
        );
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
