//! The import shown in detail, which the page polls while the worker processes it.

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::model::{ListingImport, fetch_import};
use crate::api::{Api, ApiError};

/// How often a queued or running import is polled.
const POLL_INTERVAL_MS: u32 = 1_000;

/// The import shown in detail, and the state of the requests that keep it current.
#[derive(Clone, Copy)]
pub struct CurrentImport {
    api: Api,
    /// The import as last fetched, or `None` before one is started or opened.
    pub import: RwSignal<Option<ListingImport>>,
    /// Whether an import picked from the list is being fetched.
    pub opening: RwSignal<bool>,
    /// The error of the last fetch, if it failed.
    pub error: RwSignal<Option<ApiError>>,
    /// Incremented whenever another import is shown, which stops the poll loop of the previous
    /// one.
    generation: StoredValue<u64>,
}

impl CurrentImport {
    /// Creates the state with no import shown, owned by the current component.
    pub fn new(api: Api) -> Self {
        Self {
            api,
            import: RwSignal::new(None),
            opening: RwSignal::new(false),
            error: RwSignal::new(None),
            generation: StoredValue::new(0),
        }
    }

    /// Shows `import` and, while it is queued or running, polls it once a second until it
    /// finishes, another import is shown, the request fails or the page is left. Calls
    /// `on_finished` when a polled import finishes.
    pub fn watch(self, import: ListingImport, on_finished: impl Fn() + 'static) {
        let generation = self.generation.get_value() + 1;
        self.generation.set_value(generation);
        let id = import.id.clone();
        let active = import.status.is_active();
        self.import.set(Some(import));
        self.error.set(None);
        if active {
            spawn_local(self.poll(id, generation, on_finished));
        }
    }

    /// Fetches import `id` with its row errors, then shows it as [`CurrentImport::watch`] does.
    pub fn open(self, id: String, on_finished: impl Fn() + 'static) {
        self.error.set(None);
        self.opening.set(true);
        spawn_local(async move {
            let result = fetch_import(self.api, &id).await;
            self.opening.set(false);
            match result {
                Ok(import) => self.watch(import, on_finished),
                Err(error) => self.error.set(Some(error)),
            }
        });
    }

    async fn poll(self, id: String, generation: u64, on_finished: impl Fn()) {
        let is_shown = || self.generation.try_get_value() == Some(generation);
        loop {
            TimeoutFuture::new(POLL_INTERVAL_MS).await;
            if !is_shown() {
                return;
            }
            let result = fetch_import(self.api, &id).await;
            if !is_shown() {
                return;
            }
            match result {
                Ok(import) => {
                    let active = import.status.is_active();
                    self.import.set(Some(import));
                    if !active {
                        on_finished();
                        return;
                    }
                }
                Err(error) => {
                    self.error.set(Some(error));
                    return;
                }
            }
        }
    }
}
