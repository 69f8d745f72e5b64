//! The loading indicator shown while a request is in flight.

use leptos::prelude::*;

use crate::i18n::use_i18n;

/// Renders a localized "loading" line with a spinner, announced to screen readers.
#[component]
pub fn Loading() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="loading" role="status">
            <span class="spinner" aria-hidden="true"></span>
            {move || i18n.t().loading}
        </p>
    }
}
