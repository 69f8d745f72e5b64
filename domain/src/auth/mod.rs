//! Who the caller is and what they may do: operator passwords and sessions, API keys, roles,
//! scopes and login rate limits.

pub mod api_keys;
pub mod password;
pub mod principal;
pub mod rate_limit;
pub mod sessions;
pub mod tokens;

pub use api_keys::ApiScope;
pub use principal::{Permission, Principal, Role};
