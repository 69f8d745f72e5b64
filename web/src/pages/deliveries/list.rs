//! `/dashboard/deliveries`: the captured mail, newest first, filtered by state and, with
//! `?member=ID`, `?sequence=ID` or `?broadcast=ID`, by member, step-mail sequence or broadcast.

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use super::model::{DeliveryFilter, DeliveryPage, DeliveryState, PAGE_SIZE, fetch_deliveries};
use crate::api::use_api;
use crate::components::RemoteContent;
use crate::format;
use crate::i18n::{Locale, use_i18n};
use crate::pages::senders::SendingModeNotice;
use crate::remote::Remote;

/// Renders the delivery list. The member and sequence filters come from the URL, so the member
/// and step-mail pages can link to them.
#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let query = use_query_map();
    let parameter = move |name: &'static str| {
        Memo::new(move |_| {
            query
                .with(|query| query.get(name))
                .filter(|id| !id.is_empty())
        })
    };
    let member = parameter("member");
    let sequence = parameter("sequence");
    let broadcast = parameter("broadcast");
    // Rebuilt when a filter changes, so the list starts again from its first page.
    move || {
        let filter = DeliveryFilter {
            member_id: member.get(),
            state: None,
            sequence_id: sequence.get(),
            broadcast_id: broadcast.get(),
        };
        view! { <DeliveryList filter=filter/> }
    }
}

/// Renders the state filter, the table and the pager for the deliveries that pass `filter`
/// (its member, sequence or broadcast, from the URL).
#[component]
fn DeliveryList(filter: DeliveryFilter) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let has_member_filter = filter.member_id.is_some();
    let has_sequence_filter = filter.sequence_id.is_some();
    let has_broadcast_filter = filter.broadcast_id.is_some();
    let member_id = StoredValue::new(filter.member_id.clone());
    let url_filter = StoredValue::new(filter);
    let state = RwSignal::new(None::<DeliveryState>);
    // The `after` cursor of every page visited so far; the last one is the current page.
    let cursors = RwSignal::new(vec![None::<String>]);
    let page = Remote::<DeliveryPage>::new();

    let fetch = move || {
        let (page_index, after) = cursors.with_untracked(|cursors| {
            (
                cursors.len().saturating_sub(1),
                cursors.last().cloned().flatten(),
            )
        });
        let filter = DeliveryFilter {
            state: state.get_untracked(),
            ..url_filter.get_value()
        };
        page.load(async move {
            let mut deliveries = fetch_deliveries(api, after, filter).await?;
            deliveries.page_index = page_index;
            Ok(deliveries)
        });
    };
    fetch();

    // Queued, ready and sending deliveries change state by themselves, so the page fetches
    // them again after the shortest poll interval among the shown states.
    let poll_scheduled = StoredValue::new(false);
    Effect::new(move |_| {
        let interval = page.with(|page| match page {
            Some(Ok(page)) => page
                .nodes
                .iter()
                .filter_map(|delivery| delivery.state.poll_interval_ms())
                .min(),
            _ => None,
        });
        if let Some(interval) = interval
            && !poll_scheduled.get_value()
        {
            poll_scheduled.set_value(true);
            spawn_local(async move {
                TimeoutFuture::new(interval).await;
                // The page was left while waiting.
                if poll_scheduled.try_get_value().is_none() {
                    return;
                }
                poll_scheduled.set_value(false);
                fetch();
            });
        }
    });

    let on_state = move |event: leptos::ev::Event| {
        state.set(DeliveryState::from_graphql_name(&event_target_value(
            &event,
        )));
        cursors.set(vec![None]);
        fetch();
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
    let state_options = move || {
        let t = i18n.t();
        DeliveryState::FILTERS
            .into_iter()
            .map(|option| view! { <option value=option.graphql_name()>{option.label(t)}</option> })
            .collect_view()
    };
    let table = move |deliveries: DeliveryPage| render_table(&deliveries, i18n.locale());

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().deliveries_title}</h1>
                <p class="lead">{move || i18n.t().deliveries_lead}</p>
            </header>
            <SendingModeNotice/>
            {has_member_filter.then(|| view! {
                <p id="deliveries-member-filter" class="notice">
                    {move || i18n.t().deliveries_of_member} " "
                    <a href=format!("/dashboard/members/{}", member_id.get_value().unwrap_or_default())>
                        {move || i18n.t().deliveries_open_member}
                    </a>
                    " · "
                    <a id="deliveries-clear-member" href="/dashboard/deliveries">
                        {move || i18n.t().deliveries_show_all}
                    </a>
                </p>
            })}
            {has_sequence_filter.then(|| view! {
                <p id="deliveries-sequence-filter" class="notice">
                    {move || i18n.t().deliveries_of_sequence} " "
                    <a href="/dashboard/sequences">{move || i18n.t().deliveries_open_sequences}</a>
                    " · "
                    <a href="/dashboard/deliveries">{move || i18n.t().deliveries_show_all}</a>
                </p>
            })}
            {has_broadcast_filter.then(|| view! {
                <p id="deliveries-broadcast-filter" class="notice">
                    {move || i18n.t().deliveries_of_broadcast} " "
                    <a href="/dashboard/broadcasts">{move || i18n.t().deliveries_open_broadcasts}</a>
                    " · "
                    <a href="/dashboard/deliveries">{move || i18n.t().deliveries_show_all}</a>
                </p>
            })}
            <div class="toolbar">
                <label class="inline-label" for="deliveries-state">{move || i18n.t().delivery_state}</label>
                <select id="deliveries-state" on:change=on_state>
                    <option value="">{move || i18n.t().deliveries_all_states}</option>
                    {state_options}
                </select>
                <span class="toolbar-spacer"></span>
                <button
                    id="deliveries-refresh"
                    type="button"
                    class="button-quiet"
                    disabled=move || page.is_loading()
                    on:click=move |_| fetch()
                >
                    {move || i18n.t().refresh}
                </button>
            </div>
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
                    id="deliveries-next"
                    type="button"
                    class="button-quiet"
                    disabled=move || !has_next() || page.is_loading()
                    on:click=next_page
                >
                    {move || i18n.t().next_page}
                </button>
            </nav>
        </section>
    }
}

/// Renders one page of deliveries with its position in the whole result. Rows have the class
/// `delivery-row` and the state in `data-state`; subjects link to the delivery.
fn render_table(page: &DeliveryPage, locale: Locale) -> impl IntoView + use<> {
    let t = locale.catalogue();
    let first_row = page.page_index * PAGE_SIZE + 1;
    let last_row = page.page_index * PAGE_SIZE + page.nodes.len();
    let summary = if page.nodes.is_empty() {
        (t.deliveries_count)(page.total_count)
    } else {
        (t.listings_range)(first_row, last_row, page.total_count)
    };
    let rows = page
        .nodes
        .iter()
        .map(|delivery| {
            let href = format!("/dashboard/deliveries/{}", delivery.id);
            let subject = if delivery.subject.is_empty() {
                t.delivery_no_subject.to_owned()
            } else {
                delivery.subject.clone()
            };
            view! {
                <tr class="delivery-row" data-id=delivery.id.clone() data-state=delivery.state.graphql_name()>
                    <td><span class=delivery.state.badge_class()>{delivery.state.label(t)}</span></td>
                    <td class="nowrap">{delivery.kind.label(t)}</td>
                    <td>{delivery.to_address.clone()}</td>
                    <td><a class="delivery-link" href=href>{subject}</a></td>
                    <td class="nowrap">{format::timestamp(&delivery.created_at, locale)}</td>
                </tr>
            }
        })
        .collect_view();
    let is_empty = page.nodes.is_empty();

    view! {
        <p class="muted">{summary}</p>
        {is_empty.then(|| view! { <p class="empty">{t.deliveries_empty}</p> })}
        {(!is_empty).then(|| view! {
            <div class="table-scroll">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">{t.delivery_state}</th>
                            <th scope="col">{t.delivery_kind}</th>
                            <th scope="col">{t.delivery_to}</th>
                            <th scope="col">{t.mail_subject}</th>
                            <th scope="col">{t.created_at}</th>
                        </tr>
                    </thead>
                    <tbody id="deliveries-table">{rows}</tbody>
                </table>
            </div>
        })}
    }
}
