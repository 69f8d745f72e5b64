//! The GraphQL client: every request the dashboard makes goes through [`Api`].
//!
//! Requests are `POST /graphql` with a JSON body, the operator's access token as a bearer
//! token, `Accept-Language` set to the UI locale, and `credentials: include` so the browser sends
//! the HttpOnly refresh cookie. The access token is valid for 15 minutes. A timer calls
//! `refreshSession` about a minute before it expires, and when an authenticated request still
//! fails with `UNAUTHENTICATED` (the timer was late or its refresh failed), the client calls
//! `refreshSession` once and retries.
//!
//! Most operations declare only `String` variables and write enum values (from fixed Rust
//! enums), ids and short strings into the query text with [`string_literal`]. That keeps them
//! independent of the server's input type names. The exceptions are inputs that carry JSON
//! values or long text: `setListingSchema` and `setProfileFields` (`[ListingFieldInput!]!`),
//! `createMatchRule` and `updateMatchRule` (`MatchRuleInput!`), `createMember` and
//! `updateMember` (`MemberInput!`), and the template text, sent as `String!` variables. Their
//! types are documented in `server/schema.graphql`.

mod client;
mod error;
mod literal;
mod refresh;
mod session_lock;

pub use client::{Api, use_api};
#[cfg(test)]
pub use error::ErrorExtensions;
pub use error::{ApiError, GraphqlError};
pub use literal::{null_as_default, optional_string_literal, string_literal};
