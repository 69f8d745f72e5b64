//! The HTML part of a mail, shown in a sandboxed frame.

use leptos::prelude::*;

use crate::i18n::{Text, use_i18n};

/// Renders `html` in an `<iframe sandbox="">` through `srcdoc`. The empty sandbox runs no
/// script, submits no form and gives the document an opaque origin, so a mail cannot reach the
/// dashboard's session. The document inherits the server's Content-Security-Policy.
#[component]
pub fn MailFrame(
    id: &'static str,
    #[prop(into)] html: Signal<String>,
    /// The frame's accessible name.
    title: Text,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <iframe
            id=id
            class="mail-frame"
            sandbox=""
            referrerpolicy="no-referrer"
            title=move || title(i18n.t())
            srcdoc=move || html.get()
        ></iframe>
    }
}
