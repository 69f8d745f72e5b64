//! Data that a page fetches and may fetch again, with its loading state.
//!
//! `LocalResource` keeps showing the old value while it reloads and has no reactive loading
//! flag, so lists that the operator refreshes, pages or changes use [`Remote`] instead.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::ApiError;

/// The latest result of a request and whether a newer one is in flight.
#[derive(Debug)]
pub struct Remote<T: Send + Sync + 'static> {
    result: RwSignal<Option<Result<T, ApiError>>>,
    loading: RwSignal<bool>,
    generation: StoredValue<u64>,
}

impl<T: Send + Sync + 'static> Clone for Remote<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Remote<T> {}

impl<T: Clone + Send + Sync + 'static> Remote<T> {
    /// Creates an empty, idle value owned by the current component.
    pub fn new() -> Self {
        Self {
            result: RwSignal::new(None),
            loading: RwSignal::new(false),
            generation: StoredValue::new(0),
        }
    }

    /// Runs `request` and stores its result. When requests overlap, only the result of the
    /// latest one is stored, so a slow response to an old search cannot replace a newer page.
    /// After the owning component is gone the result is dropped.
    pub fn load(self, request: impl Future<Output = Result<T, ApiError>> + 'static) {
        let generation = self.generation.get_value() + 1;
        self.generation.set_value(generation);
        self.loading.set(true);
        spawn_local(async move {
            let result = request.await;
            if self.generation.try_get_value() == Some(generation) {
                self.result.set(Some(result));
                self.loading.set(false);
            }
        });
    }

    /// Returns the latest result, or `None` before the first one. Tracked.
    pub fn get(self) -> Option<Result<T, ApiError>> {
        self.result.get()
    }

    /// Runs `read` on the latest result without cloning it. Tracked.
    pub fn with<R>(self, read: impl FnOnce(&Option<Result<T, ApiError>>) -> R) -> R {
        self.result.with(read)
    }

    /// Runs `read` on the latest result without subscribing, for event handlers.
    pub fn with_untracked<R>(self, read: impl FnOnce(&Option<Result<T, ApiError>>) -> R) -> R {
        self.result.with_untracked(read)
    }

    /// Returns the error of the latest result, if it failed. Tracked.
    pub fn error(self) -> Option<ApiError> {
        self.result.with(|result| {
            result
                .as_ref()
                .and_then(|result| result.as_ref().err().cloned())
        })
    }

    /// Returns whether a request is in flight. Tracked.
    pub fn is_loading(self) -> bool {
        self.loading.get()
    }
}

impl<T: Clone + Send + Sync + 'static> Default for Remote<T> {
    fn default() -> Self {
        Self::new()
    }
}
