//! `/dashboard/api-keys`: lists, creates and revokes API keys. A new key's secret is shown
//! once, with an example request.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::model::{
    ApiKey, CreatedApiKey, Scope, create_api_key, example_curl, fetch_api_keys, revoke_api_key,
};
use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, FormField, Loading};
use crate::format;
use crate::i18n::use_i18n;
use crate::listing_schema::fetch_listing_schema;
use crate::remote::Remote;
use crate::session::use_session;

/// Whether the last copy to the clipboard worked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CopyState {
    Idle,
    Copied,
    Failed,
}

/// Copies `text` to the clipboard. Returns `false` where the Clipboard API is missing (pages
/// served over plain HTTP from another host than localhost) or the browser refuses.
async fn copy_to_clipboard(text: &str) -> bool {
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

/// Renders the API key page. The server lets only owners and admins list and manage keys, so
/// viewers see a notice instead.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().api_keys_title}</h1>
                <p class="lead">{move || i18n.t().api_keys_lead}</p>
            </header>
            <Show
                when=move || !read_only.get()
                fallback=move || view! { <p class="notice">{move || i18n.t().api_keys_viewer_notice}</p> }
            >
                <ApiKeyManager/>
            </Show>
        </section>
    }
}

/// Renders the new key form, the one-time secret of a new key and the list of keys.
#[component]
fn ApiKeyManager() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();

    let keys = Remote::<Vec<ApiKey>>::new();
    let reload_keys = move || keys.load(fetch_api_keys(api));
    reload_keys();
    let created = RwSignal::new(None::<CreatedApiKey>);
    let keys_error = Signal::derive(move || keys.error());

    let list = move || match keys.get() {
        None => Some(view! { <Loading/> }.into_any()),
        Some(Err(_)) => None,
        Some(Ok(keys_list)) => {
            Some(view! { <ApiKeyTable keys=keys_list on_revoked=reload_keys/> }.into_any())
        }
    };

    view! {
        {move || created.get().map(|created_key| view! {
            <SecretPanel created=created_key on_dismiss=move || created.set(None)/>
        })}
        <CreateForm on_created=move |created_key: CreatedApiKey| {
            created.set(Some(created_key));
            reload_keys();
        }/>
        <h2>{move || i18n.t().api_keys_list}</h2>
        <ErrorBanner error=keys_error/>
        <Show when=move || keys.is_loading() && keys.with(Option::is_some)>
            <Loading/>
        </Show>
        <div class="table-area" class:stale=move || keys.is_loading()>{list}</div>
    }
}

/// Renders the form that names a new key and picks its scopes.
#[component]
fn CreateForm(on_created: impl Fn(CreatedApiKey) + Copy + Send + Sync + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();

    let name = RwSignal::new(String::new());
    // Most integrations push listings, so reading and writing them is pre-selected.
    let scopes = RwSignal::new(vec![Scope::ListingsRead, Scope::ListingsWrite]);

    let submit = Action::new_local(move |(key_name, key_scopes): &(String, Vec<Scope>)| {
        let key_name = key_name.clone();
        let key_scopes = key_scopes.clone();
        async move {
            let result = create_api_key(api, key_name, key_scopes).await;
            if let Ok(created_key) = &result {
                name.set(String::new());
                on_created(created_key.clone());
            }
            result
        }
    });
    let pending = submit.pending();
    let error = Signal::derive(move || submit.value().get().and_then(Result::err));
    let name_error = Signal::derive(move || {
        error
            .get()
            .and_then(|error| error.message_for_field(&["name"]))
    });

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let chosen = scopes.get_untracked();
        let ordered = Scope::ALL
            .into_iter()
            .filter(|scope| chosen.contains(scope))
            .collect::<Vec<_>>();
        submit.dispatch_local((name.get_untracked().trim().to_owned(), ordered));
    };

    let scope_boxes = move || {
        Scope::ALL
            .into_iter()
            .map(|scope| {
                let id = format!("api-key-scope-{}", scope.graphql_name().to_lowercase());
                let label_for = id.clone();
                view! {
                    <label class="check" for=label_for>
                        <input
                            id=id
                            type="checkbox"
                            value=scope.graphql_name()
                            prop:checked=move || scopes.with(|scopes| scopes.contains(&scope))
                            on:change=move |event| {
                                let checked = event_target_checked(&event);
                                scopes.update(|scopes| {
                                    scopes.retain(|chosen| *chosen != scope);
                                    if checked {
                                        scopes.push(scope);
                                    }
                                });
                            }
                        />
                        <span>{move || scope.label(i18n.t())}</span>
                        <code class="scope-code">{scope.graphql_name()}</code>
                    </label>
                }
            })
            .collect_view()
    };

    view! {
        <div class="card">
            <h2>{move || i18n.t().api_keys_create}</h2>
            <ErrorBanner error=error/>
            <form on:submit=on_submit novalidate=true>
                <FormField
                    id="api-key-name"
                    label=|t| t.api_key_name
                    value=name
                    hint=|t| t.api_key_name_hint
                    error=name_error
                />
                <fieldset class="field">
                    <legend>{move || i18n.t().api_key_scopes}</legend>
                    <div class="check-list">{scope_boxes}</div>
                    {move || error.get().and_then(|error| error.message_for_field(&["scopes"])).map(|message| view! {
                        <p class="field-error">{message}</p>
                    })}
                </fieldset>
                <div class="toolbar">
                    <span class="toolbar-spacer"></span>
                    <button
                        id="api-key-create"
                        type="submit"
                        class="button-primary"
                        disabled=move || pending.get()
                    >
                        {move || if pending.get() { i18n.t().creating } else { i18n.t().create }}
                    </button>
                </div>
            </form>
        </div>
    }
}

/// Renders the one-time view of a new key's secret, with a copy button and an example request.
#[component]
fn SecretPanel(
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

/// Renders the table of keys, with a revoke button on each active key.
#[component]
fn ApiKeyTable(
    keys: Vec<ApiKey>,
    on_revoked: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let revoking = RwSignal::new(None::<String>);
    let revoke_error = RwSignal::new(None::<ApiError>);

    let revoke = move |key: ApiKey| {
        let question = (i18n.t().api_key_revoke_confirm)(&key.name);
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        revoking.set(Some(key.id.clone()));
        revoke_error.set(None);
        spawn_local(async move {
            match revoke_api_key(api, &key.id).await {
                Ok(()) => on_revoked(),
                Err(error) => revoke_error.set(Some(error)),
            }
            revoking.set(None);
        });
    };

    let body = move || {
        let t = i18n.t();
        let locale = i18n.locale();
        if keys.is_empty() {
            return view! { <p class="empty">{t.api_keys_empty}</p> }.into_any();
        }
        let rows = keys
            .iter()
            .map(|key| {
                let scopes = key
                    .scopes
                    .iter()
                    .map(|scope| view! { <span class="badge">{Scope::label_of(scope, t)}</span> })
                    .collect_view();
                let status = match &key.revoked_at {
                    Some(at) => view! {
                        <span class="badge badge-danger">{t.api_key_revoked}</span>
                        <span class="muted small">{format::timestamp(at, locale)}</span>
                    }
                    .into_any(),
                    None => view! { <span class="badge badge-success">{t.api_key_active}</span> }.into_any(),
                };
                let can_revoke = key.revoked_at.is_none();
                let key_id = key.id.clone();
                let revoked_key = key.clone();
                view! {
                    <tr>
                        <td>{key.name.clone()}</td>
                        <td class="mono">{format!("{}…", key.prefix)}</td>
                        <td><span class="badges">{scopes}</span></td>
                        <td class="nowrap">{format::timestamp(&key.created_at, locale)}</td>
                        <td class="nowrap">{format::optional_timestamp(key.last_used_at.as_deref(), locale, t.never_used)}</td>
                        <td>{status}</td>
                        <td>
                            {can_revoke.then(|| {
                                let key_id_label = key_id.clone();
                                let key_id = key_id.clone();
                                view! {
                                    <button
                                        type="button"
                                        class="button-danger-quiet"
                                        disabled=move || revoking.with(|id| id.as_ref() == Some(&key_id))
                                        on:click=move |_| revoke(revoked_key.clone())
                                    >
                                        {move || {
                                            let busy = revoking.with(|id| id.as_ref() == Some(&key_id_label));
                                            if busy { i18n.t().revoking } else { i18n.t().revoke }
                                        }}
                                    </button>
                                }
                            })}
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-scroll">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">{t.api_key_name}</th>
                            <th scope="col">{t.api_key_prefix}</th>
                            <th scope="col">{t.api_key_scopes}</th>
                            <th scope="col">{t.created_at}</th>
                            <th scope="col">{t.api_key_last_used}</th>
                            <th scope="col">{t.api_key_status}</th>
                            <th scope="col"><span class="visually-hidden">{t.actions}</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };

    view! {
        <ErrorBanner error=revoke_error/>
        {body}
    }
}
