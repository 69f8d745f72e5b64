//! `/dashboard/members`: the members, 50 a page, with search, and the CSV import and export.

use leptos::prelude::*;

use super::import::MemberImport;
use super::model::{MemberPage, PAGE_SIZE, download_csv, export_members, fetch_members};
use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, RemoteContent};
use crate::format;
use crate::i18n::{Locale, use_i18n};
use crate::remote::Remote;
use crate::session::use_session;

/// Renders the member list. Viewers see the list without the "new member" link and the import.
#[component]
pub fn MembersPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());

    let search_input = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    // The `after` cursor of every page visited so far; the last one is the current page.
    let cursors = RwSignal::new(vec![None::<String>]);
    let page = Remote::<MemberPage>::new();

    let fetch = move || {
        let (page_index, after) = cursors.with_untracked(|cursors| {
            (
                cursors.len().saturating_sub(1),
                cursors.last().cloned().flatten(),
            )
        });
        let search = search.get_untracked();
        page.load(async move {
            let mut members = fetch_members(api, after, search).await?;
            members.page_index = page_index;
            Ok(members)
        });
    };
    fetch();

    let restart = move || {
        cursors.set(vec![None]);
        fetch();
    };
    let on_search = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        search.set(search_input.get_untracked().trim().to_owned());
        restart();
    };
    let clear_search = move |_| {
        search_input.set(String::new());
        search.set(String::new());
        restart();
    };
    let next_page = move |_| {
        let end_cursor = page.with_untracked(|page| match page {
            Some(Ok(page)) if page.has_next_page => page.end_cursor.clone(),
            _ => None,
        });
        if let Some(cursor) = end_cursor {
            cursors.update(|cursors| cursors.push(Some(cursor)));
            fetch();
        }
    };
    let previous_page = move |_| {
        if cursors.with_untracked(Vec::len) > 1 {
            cursors.update(|cursors| {
                cursors.pop();
            });
            fetch();
        }
    };
    let has_next = move || matches!(page.get(), Some(Ok(page)) if page.has_next_page);
    let has_previous = move || cursors.with(Vec::len) > 1;
    let table = move |members: MemberPage| render_table(&members, i18n.locale());
    let signup_path = move || session.with_tenant(|tenant| format!("/m/{}/signup", tenant.slug));
    let export = Action::new_local(move |_: &()| async move {
        let csv = export_members(api).await?;
        download_csv("members.csv", &csv);
        Ok::<_, ApiError>(())
    });
    let export_error = Signal::derive(move || export.value().get().and_then(Result::err));

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().members_title}</h1>
                <p class="lead">{move || i18n.t().members_lead}</p>
                <p id="member-pages" class="hint">
                    {move || i18n.t().members_pages_link}" "
                    <a id="member-signup-link" href=signup_path target="_blank" rel="noopener">{signup_path}</a>
                </p>
            </header>
            <div class="toolbar">
                <form class="search-bar" role="search" on:submit=on_search>
                    <label for="members-search" class="visually-hidden">
                        {move || i18n.t().members_search_label}
                    </label>
                    <input
                        id="members-search"
                        type="search"
                        placeholder=move || i18n.t().members_search_placeholder
                        bind:value=search_input
                    />
                    <button type="submit" class="button-primary">{move || i18n.t().search}</button>
                    <Show when=move || search.with(|search| !search.is_empty())>
                        <button type="button" class="button-quiet" on:click=clear_search>
                            {move || i18n.t().clear_search}
                        </button>
                    </Show>
                </form>
                <span class="toolbar-spacer"></span>
                <button
                    id="members-export"
                    type="button"
                    class="button-secondary"
                    disabled=move || export.pending().get()
                    on:click=move |_| {
                        export.dispatch_local(());
                    }
                >
                    {move || if export.pending().get() { i18n.t().members_exporting } else { i18n.t().members_export }}
                </button>
                <Show when=move || !read_only.get()>
                    <a id="member-new" class="button-link" href="/dashboard/members/new">
                        {move || i18n.t().member_new}
                    </a>
                </Show>
            </div>
            <ErrorBanner error=export_error/>
            <RemoteContent remote=page render=table/>
            <nav class="pager" aria-label=move || i18n.t().pagination_label>
                <button
                    type="button"
                    class="button-quiet"
                    disabled=move || !has_previous() || page.is_loading()
                    on:click=previous_page
                >
                    {move || i18n.t().previous_page}
                </button>
                <button
                    id="members-next"
                    type="button"
                    class="button-quiet"
                    disabled=move || !has_next() || page.is_loading()
                    on:click=next_page
                >
                    {move || i18n.t().next_page}
                </button>
            </nav>
            <Show when=move || !read_only.get()>
                <MemberImport on_imported=restart/>
            </Show>
        </section>
    }
}

/// Renders one page of members with its position in the whole result.
fn render_table(page: &MemberPage, locale: Locale) -> impl IntoView + use<> {
    let t = locale.catalogue();
    let first_row = page.page_index * PAGE_SIZE + 1;
    let last_row = page.page_index * PAGE_SIZE + page.nodes.len();
    let summary = if page.nodes.is_empty() {
        (t.members_count)(page.total_count)
    } else {
        (t.listings_range)(first_row, last_row, page.total_count)
    };
    let rows = page
        .nodes
        .iter()
        .map(|member| {
            let href = format!("/dashboard/members/{}", member.id);
            let language = match Locale::from_graphql_enum(&member.locale) {
                Some(Locale::En) => t.language_en,
                _ => t.language_ja,
            };
            let status = if member.subscribed {
                view! { <span class="badge badge-success">{t.member_subscribed}</span> }
            } else if member.pending_confirmation {
                view! { <span class="badge badge-warning">{t.member_pending}</span> }
            } else {
                view! { <span class="badge">{t.member_unsubscribed}</span> }
            };
            view! {
                <tr class="member-row" data-id=member.id.clone()>
                    <td><a class="member-link" href=href>{member.email.clone()}</a></td>
                    <td>{language}</td>
                    <td>{member.frequency.label(t)}</td>
                    <td>{status}</td>
                    <td class="nowrap">{format::timestamp(&member.updated_at, locale)}</td>
                </tr>
            }
        })
        .collect_view();
    let is_empty = page.nodes.is_empty();

    view! {
        <p class="muted">{summary}</p>
        {is_empty.then(|| view! { <p class="empty">{t.members_empty}</p> })}
        {(!is_empty).then(|| view! {
            <div class="table-scroll">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">{t.email_label}</th>
                            <th scope="col">{t.member_locale}</th>
                            <th scope="col">{t.member_frequency}</th>
                            <th scope="col">{t.member_status}</th>
                            <th scope="col">{t.updated_at}</th>
                        </tr>
                    </thead>
                    <tbody id="members-table">{rows}</tbody>
                </table>
            </div>
        })}
    }
}
