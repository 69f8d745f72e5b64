//! The signed-in operator.
//!
//! The access token lives only in memory, never in storage that scripts can read later. On
//! start the app calls `refreshSession`: the HttpOnly refresh cookie set by `logIn` or `signUp`
//! restores the session across reloads, and without it the app shows the login page.

use leptos::prelude::*;
use serde::Deserialize;

/// localStorage key holding the tenant slug of the last login, to prefill the login form.
pub const LAST_TENANT_STORAGE_KEY: &str = "tayori.lastTenant";

/// The selection set of a `Session` result, shared by `signUp`, `logIn` and `refreshSession`.
pub const SESSION_FIELDS: &str =
    "accessToken expiresAt operator { id email role locale } tenant { id slug name }";

/// A `Session` as returned by `signUp`, `logIn` and `refreshSession`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub access_token: String,
    /// RFC 3339 timestamp; the token is valid for 15 minutes.
    pub expires_at: String,
    pub operator: Operator,
    pub tenant: Tenant,
}

/// The signed-in operator.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Operator {
    pub id: String,
    pub email: String,
    /// GraphQL enum value such as `OWNER`, `ADMIN` or `VIEWER`.
    pub role: String,
    pub locale: String,
}

impl Operator {
    /// Returns whether the operator may only read. Editors show read-only for viewers; the
    /// server enforces the same rule.
    pub fn is_viewer(&self) -> bool {
        self.role == "VIEWER"
    }
}

/// The operator's tenant (business).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub name: String,
}

/// The sign-in state without the token, so that a token refresh does not re-render views.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthState {
    /// The start-up `refreshSession` call has not returned yet.
    Restoring,
    SignedOut,
    SignedIn {
        operator: Operator,
        tenant: Tenant,
    },
}

/// The session context, provided by the app root.
#[derive(Clone, Copy, Debug)]
pub struct SessionStore {
    access_token: StoredValue<Option<String>>,
    state: RwSignal<AuthState>,
}

/// Returns the [`SessionStore`] context that the app root provides.
pub fn use_session() -> SessionStore {
    expect_context::<SessionStore>()
}

impl SessionStore {
    /// Creates a store in the [`AuthState::Restoring`] state.
    pub fn new() -> Self {
        Self {
            access_token: StoredValue::new(None),
            state: RwSignal::new(AuthState::Restoring),
        }
    }

    /// Returns the current state. Tracked.
    pub fn state(self) -> AuthState {
        self.state.get()
    }

    /// Returns `read` applied to the signed-in operator, or `T::default()` while signed out.
    /// Tracked.
    pub fn with_operator<T: Default>(self, read: impl FnOnce(&Operator) -> T) -> T {
        self.state.with(|state| match state {
            AuthState::SignedIn { operator, .. } => read(operator),
            _ => T::default(),
        })
    }

    /// Returns `read` applied to the signed-in operator's tenant, or `T::default()` while
    /// signed out. Tracked.
    pub fn with_tenant<T: Default>(self, read: impl FnOnce(&Tenant) -> T) -> T {
        self.state.with(|state| match state {
            AuthState::SignedIn { tenant, .. } => read(tenant),
            _ => T::default(),
        })
    }

    /// Returns whether the signed-in operator may only read. Tracked.
    pub fn is_read_only(self) -> bool {
        self.state.with(|state| match state {
            AuthState::SignedIn { operator, .. } => operator.is_viewer(),
            _ => true,
        })
    }

    /// Returns the access token for the `Authorization` header, if signed in.
    pub fn access_token(self) -> Option<String> {
        self.access_token.try_get_value().flatten()
    }

    /// Stores a session from `signUp`, `logIn` or `refreshSession`. Pages call
    /// [`Api::sign_in`](crate::api::Api::sign_in), which calls this and also schedules the
    /// token's renewal.
    pub fn sign_in(self, session: &Session) {
        self.access_token
            .set_value(Some(session.access_token.clone()));
        let next = AuthState::SignedIn {
            operator: session.operator.clone(),
            tenant: session.tenant.clone(),
        };
        // A refresh for the same operator changes only the token, and views need not know.
        self.state.maybe_update(|state| {
            if *state == next {
                false
            } else {
                *state = next;
                true
            }
        });
        store_last_tenant(&session.tenant.slug);
    }

    /// Forgets the session in this tab. The refresh cookie is revoked only by `logOut`.
    pub fn sign_out(self) {
        self.access_token.set_value(None);
        self.state.set(AuthState::SignedOut);
    }

    /// Applies the result of the start-up `refreshSession`, unless a login or sign-up finished
    /// while it was in flight. Returns whether it stored `session`.
    pub fn finish_restore(self, session: Option<Session>) -> bool {
        if self.state.try_get_untracked() != Some(AuthState::Restoring) {
            return false;
        }
        match session {
            Some(session) => {
                self.sign_in(&session);
                true
            }
            None => {
                self.state.set(AuthState::SignedOut);
                false
            }
        }
    }
}

impl Default for SessionStore {
    fn default() -> Self {
        Self::new()
    }
}

/// Returns the tenant slug of the last login on this browser, if stored.
pub fn last_tenant() -> Option<String> {
    let storage = window().local_storage().ok().flatten()?;
    storage.get_item(LAST_TENANT_STORAGE_KEY).ok().flatten()
}

fn store_last_tenant(slug: &str) {
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item(LAST_TENANT_STORAGE_KEY, slug);
    }
}
