//! The GraphQL API. One module per area; each adds its fields to the merged `Query` and
//! `Mutation` roots. The committed SDL (`server/schema.graphql`) is checked by a test.

mod api_keys;
mod auth;
mod broadcasts;
mod context;
mod error;
mod imports;
mod listings;
mod matching;
mod members;
mod outbox;
mod sending;
mod steps;
mod tenant;

use async_graphql::{EmptySubscription, MergedObject, Schema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Extension,
    extract::{ConnectInfo, State},
    http::HeaderMap,
};

pub use context::RequestContext;

use crate::AppState;

/// Nesting deeper than this is rejected before execution.
pub const MAX_DEPTH: usize = 10;
/// The summed cost of all fields of one request; lists count their page size.
pub const MAX_COMPLEXITY: usize = 10_000;

/// Reads. All need credentials; the tenant comes from them.
#[derive(MergedObject, Default)]
pub struct Query(
    tenant::TenantQuery,
    listings::ListingQuery,
    imports::ImportQuery,
    api_keys::ApiKeyQuery,
    members::MemberQuery,
    matching::MatchingQuery,
    outbox::OutboxQuery,
    sending::SendingQuery,
    steps::StepQuery,
    broadcasts::BroadcastQuery,
);

/// Changes. All but `signUp`, `logIn`, `refreshSession` and `logOut` need credentials.
#[derive(MergedObject, Default)]
pub struct Mutation(
    auth::AuthMutation,
    tenant::TenantMutation,
    listings::ListingMutation,
    imports::ImportMutation,
    api_keys::ApiKeyMutation,
    members::MemberMutation,
    matching::MatchingMutation,
    outbox::OutboxMutation,
    sending::SendingMutation,
    steps::StepMutation,
    broadcasts::BroadcastMutation,
);

pub type TayoriSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn build_schema(state: AppState) -> TayoriSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .data(state)
        .finish()
}

/// The SDL of the schema, as committed in `server/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .finish()
        .sdl()
}

/// `POST /graphql`: authenticates the caller, then runs the request.
pub async fn handler(
    State(state): State<AppState>,
    Extension(schema): Extension<TayoriSchema>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let context = RequestContext::from_headers(&state, &headers, client.ip()).await;
    if let Some(principal) = &context.principal {
        tracing::Span::current()
            .record("tenant.id", tracing::field::display(principal.tenant_id()));
    }
    let locale = context.locale;
    let mut response = schema.execute(request.into_inner().data(context)).await;
    for error in &mut response.errors {
        label_engine_error(error, locale);
    }
    response.into()
}

/// Gives errors that async-graphql raises itself (a malformed query, an argument of the wrong
/// shape) the `extensions.code` every error carries: `VALIDATION` for a value that does not
/// parse, `BAD_REQUEST` for the rest. A date-time without an offset gets a message, in the
/// caller's language, with an example of one written correctly.
fn label_engine_error(error: &mut async_graphql::ServerError, locale: domain::Locale) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_some() {
        return;
    }
    let is_value = error.message.starts_with("Failed to parse")
        || error.message.starts_with("Invalid value for argument");
    extensions.set(
        "code",
        if is_value {
            "VALIDATION"
        } else {
            "BAD_REQUEST"
        },
    );
    if error.message.contains("\"DateTime\"") {
        let mut message = locale
            .pick(
                "日時は 2025-03-20T09:00:00+09:00 のように、時差（+09:00 や Z）をつけて指定してください。",
                "Write date-times with an offset, such as 2025-03-20T09:00:00+09:00 (or Z for UTC).",
            )
            .to_owned();
        if error.message.contains("BroadcastInput") {
            message.push_str(locale.pick(
                "事業者のタイムゾーンの時刻で指定する場合は localSendAt を使います。",
                " To give a time in the business's time zone, use localSendAt.",
            ));
        }
        error.message = message;
    }
}
