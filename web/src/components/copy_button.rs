//! Copying text to the clipboard, and a button that does it with a short confirmation.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::i18n::use_i18n;

/// Copies `text` to the clipboard. Returns `false` where the Clipboard API is missing (pages
/// served over plain HTTP from another host than localhost) or the browser refuses.
pub async fn copy_to_clipboard(text: &str) -> bool {
    let navigator = window().navigator();
    // `navigator.clipboard` is undefined outside secure contexts; calling it then would throw.
    let has_clipboard = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .is_ok_and(|clipboard| !clipboard.is_undefined());
    if !has_clipboard {
        return false;
    }
    JsFuture::from(navigator.clipboard().write_text(text))
        .await
        .is_ok()
}

/// Renders a quiet "copy" button for `text`, followed by "copied" or, where the browser
/// refuses, a hint to copy by hand.
#[component]
pub fn CopyButton(#[prop(into)] text: Signal<String>) -> impl IntoView {
    let i18n = use_i18n();
    let copied = RwSignal::new(None::<bool>);
    let copy = move |_| {
        let value = text.get_untracked();
        spawn_local(async move {
            let done = copy_to_clipboard(&value).await;
            copied.try_set(Some(done));
        });
    };
    view! {
        <button type="button" class="button-quiet copy-button" on:click=copy>
            {move || i18n.t().copy}
        </button>
        {move || copied.get().map(|done| {
            let t = i18n.t();
            if done {
                view! { <span class="hint" role="status">{t.copied}</span> }.into_any()
            } else {
                view! { <span class="hint warn" role="status">{t.copy_failed}</span> }.into_any()
            }
        })}
    }
}
