//! DKIM keys: the TXT records to publish, and the form that generates a key for a domain.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::model::{DkimAlgorithm, DkimKey, delete_dkim_key, fetch_dkim_keys, generate_dkim_key};
use crate::api::{ApiError, use_api};
use crate::components::{CopyButton, ErrorBanner, FormField, RemoteContent, field_error};
use crate::format;
use crate::i18n::use_i18n;
use crate::remote::Remote;

/// Renders the DKIM section: an explanation, the generate form and the list of keys.
#[component]
pub fn DkimSection(read_only: Signal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let keys = Remote::<Vec<DkimKey>>::new();
    let reload = move || keys.load(fetch_dkim_keys(api));
    reload();

    let render = move |keys: Vec<DkimKey>| view! { <DkimKeyList keys=keys read_only=read_only on_deleted=reload/> };

    view! {
        <section id="dkim" class="dkim-section">
            <h2>{move || i18n.t().dkim_title}</h2>
            <p class="lead">{move || i18n.t().dkim_lead}</p>
            <p class="notice warning">{move || i18n.t().dkim_publish_first}</p>
            <Show when=move || !read_only.get()>
                <DkimForm on_generated=reload/>
            </Show>
            <RemoteContent remote=keys render=render/>
        </section>
    }
}

/// Renders the form that generates a key for a domain.
#[component]
fn DkimForm(on_generated: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let domain = RwSignal::new(String::new());
    let algorithm = RwSignal::new(DkimAlgorithm::Rsa2048);

    let generate = Action::new_local(move |(domain_name, chosen): &(String, DkimAlgorithm)| {
        let domain_name = domain_name.clone();
        let chosen = *chosen;
        async move {
            let key = generate_dkim_key(api, &domain_name, chosen).await?;
            domain.set(String::new());
            on_generated();
            Ok::<_, ApiError>(key)
        }
    });
    let pending = generate.pending();
    let error = Signal::derive(move || generate.value().get().and_then(Result::err));
    let domain_error = field_error(error, &["domain"]);

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        generate.dispatch_local((
            domain.get_untracked().trim().to_owned(),
            algorithm.get_untracked(),
        ));
    };
    let algorithm_options = move || {
        let t = i18n.t();
        let selected = algorithm.get();
        DkimAlgorithm::CHOICES
            .into_iter()
            .map(|choice| {
                view! {
                    <option value=choice.graphql_name() selected=choice == selected>
                        {choice.label(t)}
                    </option>
                }
            })
            .collect_view()
    };

    view! {
        <form id="dkim-form" class="card" on:submit=on_submit novalidate=true>
            <h3>{move || i18n.t().dkim_generate_title}</h3>
            <div class="form-grid">
                <FormField id="dkim-domain" label=|t| t.dkim_domain value=domain
                    hint=|t| t.dkim_domain_hint error=domain_error/>
                <div class="field">
                    <label for="dkim-algorithm">{move || i18n.t().dkim_algorithm}</label>
                    <select
                        id="dkim-algorithm"
                        on:change=move |event| {
                            if let Some(chosen) = DkimAlgorithm::from_graphql_name(&event_target_value(&event)) {
                                algorithm.set(chosen);
                            }
                        }
                    >
                        {algorithm_options}
                    </select>
                    <p class="hint">{move || i18n.t().dkim_algorithm_hint}</p>
                </div>
            </div>
            <ErrorBanner error=error/>
            <div class="toolbar">
                <p class="hint">{move || i18n.t().dkim_replace_hint}</p>
                <span class="toolbar-spacer"></span>
                <button id="dkim-generate" type="submit" class="button-primary" disabled=move || pending.get()>
                    {move || if pending.get() { i18n.t().dkim_generating } else { i18n.t().dkim_generate }}
                </button>
            </div>
        </form>
    }
}

/// Renders one card per key with its DNS record, and a delete button for owners and admins.
#[component]
fn DkimKeyList(
    keys: Vec<DkimKey>,
    read_only: Signal<bool>,
    on_deleted: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let deleting = RwSignal::new(None::<String>);
    let delete_error = RwSignal::new(None::<ApiError>);

    let delete = move |domain: String| {
        let question = (i18n.t().dkim_delete_confirm)(&domain);
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        deleting.set(Some(domain.clone()));
        delete_error.set(None);
        spawn_local(async move {
            match delete_dkim_key(api, &domain).await {
                Ok(()) => on_deleted(),
                Err(error) => delete_error.set(Some(error)),
            }
            deleting.try_set(None);
        });
    };

    if keys.is_empty() {
        return view! { <p class="empty">{move || i18n.t().dkim_empty}</p> }.into_any();
    }
    let cards = keys
        .into_iter()
        .enumerate()
        .map(|(index, key)| {
            let domain = StoredValue::new(key.domain.clone());
            let is_deleting = Signal::derive(move || {
                deleting.with(|deleting| deleting.as_deref() == Some(domain.get_value().as_str()))
            });
            let dns_value = key.dns_value.clone();
            let dns_name = key.dns_name.clone();
            let zone_line = key.zone_line.clone();
            view! {
                <li id=format!("dkim-key-{index}") class="card dkim-key" data-domain=key.domain.clone()>
                    <div class="rule-card-header">
                        <h3>{key.domain.clone()}</h3>
                        <span class="badges">
                            <span class="badge">{key.algorithm.short_name()}</span>
                        </span>
                    </div>
                    <dl class="detail-list">
                        <dt>{move || i18n.t().dkim_selector}</dt>
                        <dd class="mono">{key.selector.clone()}</dd>
                        <dt>{move || i18n.t().created_at}</dt>
                        <dd>{move || format::timestamp(&key.created_at, i18n.locale())}</dd>
                        <dt>{move || i18n.t().dkim_record_type}</dt>
                        <dd class="mono">"TXT"</dd>
                    </dl>
                    <div class="field">
                        <label for=format!("dkim-name-{index}")>{move || i18n.t().dkim_dns_name}</label>
                        <div class="secret-line">
                            <input id=format!("dkim-name-{index}") class="mono" readonly=true prop:value=dns_name.clone()/>
                            <CopyButton text=dns_name/>
                        </div>
                    </div>
                    <div class="field">
                        <label for=format!("dkim-value-{index}")>{move || i18n.t().dkim_dns_value}</label>
                        <textarea id=format!("dkim-value-{index}") class="mono dkim-value" readonly=true rows="4"
                            prop:value=dns_value.clone()></textarea>
                        <div class="toolbar">
                            <CopyButton text=dns_value/>
                        </div>
                    </div>
                    <details class="zone-line">
                        <summary>{move || i18n.t().dkim_zone_line}</summary>
                        <pre class="code-block"><code>{zone_line}</code></pre>
                    </details>
                    <Show when=move || !read_only.get()>
                        <div class="toolbar">
                            <span class="toolbar-spacer"></span>
                            <button
                                id=format!("dkim-delete-{index}")
                                type="button"
                                class="button-danger-quiet"
                                disabled=is_deleting
                                on:click=move |_| delete(domain.get_value())
                            >
                                {move || i18n.t().remove}
                            </button>
                        </div>
                    </Show>
                </li>
            }
        })
        .collect_view();
    view! {
        <ErrorBanner error=delete_error/>
        <ul class="rule-list">{cards}</ul>
    }
    .into_any()
}
