//! Error banners. Browser tests find them by the class `error`.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::i18n::use_i18n;

/// Shows the messages of a failed request, or nothing while `error` is `None`.
#[component]
pub fn ErrorBanner(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let messages = error.get()?.messages(i18n.t());
        Some(view! {
            <div class="error" role="alert">
                <ul>
                    {messages.into_iter().map(|message| view! { <li>{message}</li> }).collect_view()}
                </ul>
            </div>
        })
    }
}

/// Shows one message found in the browser, such as an unreadable file.
#[component]
pub fn ErrorMessage(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message.get().map(|message| {
            view! {
                <div class="error" role="alert">
                    <p>{message}</p>
                </div>
            }
        })
    }
}
