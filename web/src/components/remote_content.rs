//! The loading, error and reloading states of data fetched with [`Remote`].

use leptos::prelude::*;

use super::{ErrorBanner, Loading};
use crate::remote::Remote;

/// Renders the latest result of `remote`: a loading line before the first result, the error
/// banner of a failed request, or `render` applied to a successful one. While a newer request
/// is in flight, a loading line appears above the old content, which is dimmed (class `stale`).
#[component]
pub fn RemoteContent<T, R, V>(remote: Remote<T>, render: R) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    R: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let error = Signal::derive(move || remote.error());
    let content = move || match remote.get() {
        None => Some(view! { <Loading/> }.into_any()),
        // The banner above shows the error.
        Some(Err(_)) => None,
        Some(Ok(value)) => Some(render(value).into_any()),
    };

    view! {
        <ErrorBanner error=error/>
        <Show when=move || remote.is_loading() && remote.with(Option::is_some)>
            <Loading/>
        </Show>
        <div class="table-area" class:stale=move || remote.is_loading()>{content}</div>
    }
}
