//! `/dashboard/suppressions`: the addresses that get no mail, with search, and the form that
//! adds one by hand.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::model::{
    FETCH_LIMIT, Suppression, add_suppression, fetch_suppressions, remove_suppression,
};
use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, FormField, RemoteContent, field_error};
use crate::format;
use crate::i18n::use_i18n;
use crate::remote::Remote;
use crate::session::use_session;

/// Renders the suppression list. Viewers see it without the add form and remove buttons,
/// because the server lets only owners and admins change it.
#[component]
pub fn SuppressionsPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());

    let search_input = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    let rows = Remote::<Vec<Suppression>>::new();
    let reload = move || rows.load(fetch_suppressions(api, search.get_untracked()));
    reload();

    let on_search = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        search.set(search_input.get_untracked().trim().to_owned());
        reload();
    };
    let clear_search = move |_| {
        search_input.set(String::new());
        search.set(String::new());
        reload();
    };
    let table = move |rows: Vec<Suppression>| {
        view! { <SuppressionTable rows=rows read_only=read_only on_removed=reload/> }
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().suppressions_title}</h1>
                <p class="lead">{move || i18n.t().suppressions_lead}</p>
            </header>
            <Show when=move || !read_only.get()>
                <AddForm on_added=reload/>
            </Show>
            <div class="toolbar">
                <form class="search-bar" role="search" on:submit=on_search>
                    <label for="suppressions-search" class="visually-hidden">
                        {move || i18n.t().suppressions_search_label}
                    </label>
                    <input
                        id="suppressions-search"
                        type="search"
                        placeholder=move || i18n.t().suppressions_search_placeholder
                        bind:value=search_input
                    />
                    <button id="suppressions-search-submit" type="submit" class="button-primary">
                        {move || i18n.t().search}
                    </button>
                    <Show when=move || search.with(|search| !search.is_empty())>
                        <button type="button" class="button-quiet" on:click=clear_search>
                            {move || i18n.t().clear_search}
                        </button>
                    </Show>
                </form>
            </div>
            <RemoteContent remote=rows render=table/>
        </section>
    }
}

/// Renders the form that adds an address with a note.
#[component]
fn AddForm(on_added: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let address = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());

    let add = Action::new_local(move |(address_text, note_text): &(String, String)| {
        let address_text = address_text.clone();
        let note_text = note_text.clone();
        async move {
            add_suppression(api, &address_text, &note_text).await?;
            address.set(String::new());
            note.set(String::new());
            on_added();
            Ok::<_, ApiError>(address_text)
        }
    });
    let pending = add.pending();
    let error = Signal::derive(move || add.value().get().and_then(Result::err));
    let added = move || add.value().get().and_then(Result::ok);
    let address_error = field_error(error, &["address"]);
    let note_error = field_error(error, &["note"]);

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        add.dispatch_local((
            address.get_untracked().trim().to_owned(),
            note.get_untracked().trim().to_owned(),
        ));
    };

    view! {
        <form id="suppression-form" class="card" on:submit=on_submit novalidate=true>
            <h2>{move || i18n.t().suppression_add_title}</h2>
            <div class="form-grid">
                <FormField id="suppression-address" label=|t| t.email_label value=address
                    input_type="email" error=address_error/>
                <FormField id="suppression-note" label=|t| t.suppression_note value=note
                    hint=|t| t.suppression_note_hint error=note_error/>
            </div>
            <ErrorBanner error=error/>
            {move || added().map(|address| view! {
                <p id="suppression-added" class="notice success" role="status">
                    {(i18n.t().suppression_added)(&address)}
                </p>
            })}
            <div class="toolbar">
                <span class="toolbar-spacer"></span>
                <button id="suppression-add" type="submit" class="button-primary" disabled=move || pending.get()>
                    {move || if pending.get() { i18n.t().saving } else { i18n.t().suppression_add }}
                </button>
            </div>
        </form>
    }
}

/// Renders the table of addresses. Rows have the class `suppression-row`, the address in
/// `data-address` and the reason in `data-reason`.
#[component]
fn SuppressionTable(
    rows: Vec<Suppression>,
    read_only: Signal<bool>,
    on_removed: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let removing = RwSignal::new(None::<String>);
    let remove_error = RwSignal::new(None::<ApiError>);

    let remove = move |address: String| {
        let question = (i18n.t().suppression_remove_confirm)(&address);
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        removing.set(Some(address.clone()));
        remove_error.set(None);
        spawn_local(async move {
            match remove_suppression(api, &address).await {
                Ok(()) => on_removed(),
                Err(error) => remove_error.set(Some(error)),
            }
            removing.try_set(None);
        });
    };

    let body = move || {
        let t = i18n.t();
        let locale = i18n.locale();
        if rows.is_empty() {
            return view! { <p class="empty">{t.suppressions_empty}</p> }.into_any();
        }
        let limit_note = (rows.len() >= FETCH_LIMIT)
            .then(|| view! { <p class="hint">{(t.suppressions_limit_note)(FETCH_LIMIT)}</p> });
        let table_rows = rows
            .iter()
            .map(|row| {
                let address = StoredValue::new(row.address.clone());
                let is_removing = Signal::derive(move || {
                    removing.with(|removing| removing.as_deref() == Some(address.get_value().as_str()))
                });
                view! {
                    <tr class="suppression-row" data-address=row.address.clone() data-reason=row.reason.graphql_name()>
                        <td class="mono">{row.address.clone()}</td>
                        <td><span class=row.reason.badge_class()>{row.reason.label(t)}</span></td>
                        <td class="suppression-detail">{row.detail.clone()}</td>
                        <td class="nowrap">{format::timestamp(&row.created_at, locale)}</td>
                        <td>
                            {(!read_only.get()).then(|| view! {
                                <button
                                    type="button"
                                    class="button-danger-quiet suppression-remove"
                                    disabled=is_removing
                                    on:click=move |_| remove(address.get_value())
                                >
                                    {t.suppression_remove}
                                </button>
                            })}
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <p class="muted">{(t.suppressions_count)(rows.len())}</p>
            {limit_note}
            <div class="table-scroll">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">{t.email_label}</th>
                            <th scope="col">{t.suppression_reason}</th>
                            <th scope="col">{t.suppression_detail}</th>
                            <th scope="col">{t.suppression_added_at}</th>
                            <th scope="col"><span class="visually-hidden">{t.actions}</span></th>
                        </tr>
                    </thead>
                    <tbody id="suppressions-table">{table_rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };

    view! {
        <ErrorBanner error=remove_error/>
        {body}
    }
}
