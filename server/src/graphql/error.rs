//! Turning domain errors into GraphQL errors: a localized message and `extensions.code`, never an
//! internal cause. Internal errors are logged once here, with the request id the client gets.

use async_graphql::{Context, ErrorExtensions};

use super::context::ContextExt;

pub type ApiResult<T> = async_graphql::Result<T>;

pub trait ResultExt<T> {
    /// Converts a domain error for the client of this request.
    fn api(self, ctx: &Context<'_>) -> ApiResult<T>;
}

impl<T> ResultExt<T> for Result<T, domain::Error> {
    fn api(self, ctx: &Context<'_>) -> ApiResult<T> {
        self.map_err(|error| to_graphql_error(ctx, error))
    }
}

pub fn to_graphql_error(ctx: &Context<'_>, error: domain::Error) -> async_graphql::Error {
    let request = ctx.request();
    let message = error.message(request.locale);
    let code = error.code();
    let request_id = request.request_id.clone();
    match &error {
        domain::Error::Internal(cause) => {
            tracing::error!(request.id = %request_id, error = ?cause, "request failed");
        }
        domain::Error::Forbidden => {
            tracing::info!(request.id = %request_id, "request forbidden");
        }
        _ => {}
    }
    async_graphql::Error::new(message).extend_with(|_, extensions| {
        extensions.set("code", code);
        match &error {
            domain::Error::Validation(validation) => {
                extensions.set("field", validation.field.clone());
                if let Some(value) = &validation.value {
                    extensions.set("value", value.clone());
                }
                extensions.set("reason", validation.problem_code());
                if let domain::Problem::SenderCheckFailed { code, .. } = &validation.problem {
                    extensions.set("faultCode", *code);
                }
            }
            domain::Error::RateLimited { retry_after_secs } => {
                extensions.set("retryAfterSeconds", *retry_after_secs);
            }
            domain::Error::Internal(_) => extensions.set("requestId", request_id.clone()),
            _ => {}
        }
    })
}
