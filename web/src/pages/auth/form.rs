//! The submit logic that the sign-up and login forms share.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use serde_json::Value;

use crate::api::{ApiError, use_api};
use crate::components::field_error;
use crate::session::Session;

/// A `signUp` or `logIn` operation ready to send.
#[derive(Clone)]
struct SessionRequest {
    query: String,
    variables: Value,
}

/// A form whose mutation returns a `Session`. On success the operator is signed in and sent to
/// `/dashboard`.
#[derive(Clone, Copy)]
pub struct SessionForm {
    action: Action<SessionRequest, Result<(), ApiError>>,
}

impl SessionForm {
    /// Creates the form state. `result_field` is the mutation's field in the response's `data`
    /// (`signUp` or `logIn`).
    pub fn new(result_field: &'static str) -> Self {
        let api = use_api();
        let navigate = use_navigate();
        let action = Action::new_local(move |request: &SessionRequest| {
            let request = request.clone();
            let navigate = navigate.clone();
            async move {
                let mut data: HashMap<String, Session> = api
                    .request_anonymous(&request.query, request.variables)
                    .await?;
                let session = data.remove(result_field).ok_or_else(|| {
                    ApiError::Decode(format!("response data has no {result_field}"))
                })?;
                api.sign_in(&session);
                navigate("/dashboard", Default::default());
                Ok(())
            }
        });
        Self { action }
    }

    /// Returns whether the mutation is in flight. Tracked.
    pub fn pending(self) -> Memo<bool> {
        self.action.pending()
    }

    /// Returns the error of the last attempt, if it failed.
    pub fn error(self) -> Signal<Option<ApiError>> {
        let value = self.action.value();
        Signal::derive(move || value.get().and_then(Result::err))
    }

    /// Returns the server's message for the input field named by one of `names`.
    pub fn field_error(self, names: &'static [&'static str]) -> Signal<Option<String>> {
        field_error(self.error(), names)
    }

    /// Sends the operation, unless an earlier one is still in flight.
    pub fn submit(self, query: String, variables: Value) {
        if self.action.pending().get_untracked() {
            return;
        }
        self.action
            .dispatch_local(SessionRequest { query, variables });
    }
}
