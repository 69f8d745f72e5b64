//! Deliveries: the outbox of captured mail, and why each mail was sent.

mod detail;
mod list;
mod model;

use leptos::prelude::*;

use crate::i18n::use_i18n;

pub use detail::DeliveryPage;
pub use list::DeliveriesPage;

/// Renders the notice that mail is captured, not sent.
#[component]
fn TestModeNotice() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p id="test-mode-notice" class="notice warning">
            <strong>{move || i18n.t().test_mode}</strong>
            " "
            {move || i18n.t().test_mode_hint}
        </p>
    }
}
