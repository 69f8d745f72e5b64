//! The page for routes that do not exist.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::use_i18n;

/// Says the page does not exist and links back to the start.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="card auth-card not-found">
            <h1>{move || i18n.t().not_found_title}</h1>
            <p>{move || i18n.t().not_found_text}</p>
            <A href="/">{move || i18n.t().not_found_back}</A>
        </section>
    }
}
