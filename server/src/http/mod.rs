//! The HTTP surface: routes and the middleware every request passes through.

mod health;
pub(crate) mod member_pages;
mod static_files;
mod unsubscribe;
mod webhooks;

use axum::{Router, extract::DefaultBodyLimit, http::HeaderValue, routing::get};
use domain::settings::ServerSettings;
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::{AppState, graphql};

/// The largest request body: a CSV import sent through GraphQL as a JSON string.
pub const MAX_BODY_BYTES: usize = 96 * 1024 * 1024;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Scripts and style sheets come only from this server; `wasm-unsafe-eval` lets the dashboard's
/// WebAssembly start. Mail previews are `<iframe sandbox="" srcdoc>` documents, which inherit
/// this policy, so `style-src-attr` lets their inline `style` attributes apply. Scripts stay
/// blocked there by both the policy and the sandbox.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Returns the path with the secret tokens of one-time links (unsubscribe, confirm, reset)
/// replaced by `{token}`, so that logs never carry a working link.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    let segments: Vec<&str> = path.split('/').collect();
    let secret_after =
        |index: usize| index > 0 && matches!(segments[index - 1], "u" | "confirm" | "reset");
    if !(1..segments.len()).any(secret_after) {
        return std::borrow::Cow::Borrowed(path);
    }
    let redacted: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(index, segment)| {
            if secret_after(index) {
                "{token}"
            } else {
                segment
            }
        })
        .collect();
    std::borrow::Cow::Owned(redacted.join("/"))
}

pub fn router(state: AppState, settings: &ServerSettings) -> Router {
    let schema = graphql::build_schema(state.clone());
    let request_id = axum::http::HeaderName::from_static(REQUEST_ID_HEADER);

    let trace = TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
        let id = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        tracing::info_span!(
            "request",
            request.id = %id,
            method = %request.method(),
            path = %loggable_path(request.uri().path()),
            tenant.id = tracing::field::Empty,
        )
    });

    Router::new()
        .route("/graphql", axum::routing::post(graphql::handler))
        .route("/health", get(health::handler))
        .route(
            "/u/{token}",
            get(unsubscribe::show).post(unsubscribe::apply),
        )
        .route(
            "/webhooks/mailgun/{sender_id}",
            axum::routing::post(webhooks::mailgun),
        )
        .merge(member_pages::routes())
        .fallback_service(static_files::service(&settings.web_dir))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(trace)
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(CompressionLayer::new())
                .layer(SetResponseHeaderLayer::overriding(
                    axum::http::header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    axum::http::header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    axum::http::header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CONTENT_SECURITY_POLICY),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    axum::http::header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                )),
        )
        .layer(axum::Extension(schema))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn link_tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/u/abc.def"), "/u/{token}");
        assert_eq!(
            loggable_path("/m/sakura/confirm/SECRET"),
            "/m/sakura/confirm/{token}"
        );
        assert_eq!(
            loggable_path("/m/sakura/reset/SECRET"),
            "/m/sakura/reset/{token}"
        );
        assert_eq!(loggable_path("/m/sakura/reset"), "/m/sakura/reset");
        assert_eq!(loggable_path("/graphql"), "/graphql");
    }
}
