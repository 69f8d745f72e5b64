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
    schema
        .execute(request.into_inner().data(context))
        .await
        .into()
}
