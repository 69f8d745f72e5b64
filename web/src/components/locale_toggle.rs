//! The button that switches the UI between Japanese and English.

use leptos::prelude::*;

use crate::i18n::use_i18n;

/// Renders the button that switches to the other language in one click. Its label is the
/// other language's own name.
#[component]
pub fn LocaleToggle() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <button
            id="locale-toggle"
            type="button"
            class="locale-toggle"
            lang=move || i18n.locale().other().tag()
            title=move || i18n.t().locale_toggle_title
            on:click=move |_| i18n.toggle()
        >
            {move || i18n.t().locale_toggle_label}
        </button>
    }
}
