//! The one-time view of a new key's secret.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::model::{CreatedApiKey, example_curl};
use crate::api::use_api;
use crate::components::copy_to_clipboard;
use crate::i18n::use_i18n;
use crate::listing_schema::fetch_listing_schema;

/// Whether the last copy to the clipboard worked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CopyState {
    Idle,
    Copied,
    Failed,
}

/// Renders the one-time view of a new key's secret, with a copy button and an example request.
#[component]
pub fn SecretPanel(
    created: CreatedApiKey,
    on_dismiss: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let schema = LocalResource::new(move || fetch_listing_schema(api));
    let origin = window().location().origin().unwrap_or_default();
    let secret = StoredValue::new(created.secret.clone());
    let copy_state = RwSignal::new(CopyState::Idle);

    let copy = move |_| {
        let text = secret.get_value();
        spawn_local(async move {
            let copied = copy_to_clipboard(&text).await;
            copy_state.set(if copied {
                CopyState::Copied
            } else {
                CopyState::Failed
            });
        });
    };

    let example = move || {
        let fields = schema.get().and_then(Result::ok).unwrap_or_default();
        example_curl(&origin, &secret.get_value(), &fields, i18n.t())
    };

    view! {
        <div class="card secret-panel" role="region" aria-labelledby="api-key-secret-title">
            <h2 id="api-key-secret-title">
                {move || (i18n.t().api_key_created)(&created.api_key.name)}
            </h2>
            <p class="notice warning">{move || i18n.t().api_key_secret_once}</p>
            <div class="secret-line">
                <input
                    id="api-key-secret"
                    class="mono"
                    readonly=true
                    aria-label=move || i18n.t().api_key_secret
                    prop:value=move || secret.get_value()
                    on:focus=move |event| {
                        event_target::<web_sys::HtmlInputElement>(&event).select();
                    }
                />
                <button type="button" class="button-primary" on:click=copy>
                    {move || i18n.t().copy}
                </button>
            </div>
            {move || match copy_state.get() {
                CopyState::Idle => None,
                CopyState::Copied => Some(view! { <p class="hint" role="status">{i18n.t().copied}</p> }.into_any()),
                CopyState::Failed => Some(view! { <p class="hint warn" role="status">{i18n.t().copy_failed}</p> }.into_any()),
            }}
            <h3>{move || i18n.t().api_key_example_title}</h3>
            <p class="hint">{move || i18n.t().api_key_example_hint}</p>
            <pre class="code-block"><code>{example}</code></pre>
            <div class="toolbar">
                <span class="toolbar-spacer"></span>
                <button type="button" class="button-quiet" on:click=move |_| on_dismiss()>
                    {move || i18n.t().api_key_secret_done}
                </button>
            </div>
        </div>
    }
}
