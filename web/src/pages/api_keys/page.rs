//! `/dashboard/api-keys`: lists, creates and revokes API keys. A new key's secret is shown
//! once, with an example request.

use leptos::prelude::*;

use super::key_table::ApiKeyTable;
use super::model::{ApiKey, CreatedApiKey, Scope, create_api_key, fetch_api_keys};
use super::secret_panel::SecretPanel;
use crate::api::use_api;
use crate::components::{ErrorBanner, FormField, RemoteContent, field_error};
use crate::i18n::use_i18n;
use crate::remote::Remote;
use crate::session::use_session;

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
    let key_table =
        move |keys: Vec<ApiKey>| view! { <ApiKeyTable keys=keys on_revoked=reload_keys/> };

    view! {
        {move || created.get().map(|created_key| view! {
            <SecretPanel created=created_key on_dismiss=move || created.set(None)/>
        })}
        <CreateForm on_created=move |created_key: CreatedApiKey| {
            created.set(Some(created_key));
            reload_keys();
        }/>
        <h2>{move || i18n.t().api_keys_list}</h2>
        <RemoteContent remote=keys render=key_table/>
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
    let name_error = field_error(error, &["name"]);
    let scopes_error = field_error(error, &["scopes"]);

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
                    <ScopeCheckboxes scopes=scopes/>
                    {move || scopes_error.get().map(|message| view! {
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

/// Renders one checkbox for each scope, bound to the chosen `scopes`.
#[component]
fn ScopeCheckboxes(scopes: RwSignal<Vec<Scope>>) -> impl IntoView {
    let i18n = use_i18n();
    let boxes = move || {
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

    view! { <div class="check-list">{boxes}</div> }
}
