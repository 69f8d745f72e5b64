//! `/dashboard/listings`: the tenant's listings as a table, 50 rows a page, with search.

use leptos::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::api::{Api, ApiError, optional_string_literal, use_api};
use crate::components::{ErrorBanner, Loading, RemoteContent};
use crate::format;
use crate::i18n::{Locale, use_i18n};
use crate::listing_schema::{ListingField, fetch_listing_schema};
use crate::remote::Remote;

const PAGE_SIZE: usize = 50;

/// One page of the `listings` connection.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListingPage {
    total_count: u64,
    end_cursor: Option<String>,
    has_next_page: bool,
    nodes: Vec<Listing>,
    /// The position of this page, counted from 0. The page sets it after the request, and the
    /// server does not send it.
    #[serde(skip)]
    page_index: usize,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listing {
    id: String,
    external_id: String,
    /// A JSON object keyed by schema field name.
    fields: Value,
    updated_at: String,
}

impl Listing {
    /// Returns the `fields` object. A server may encode a JSON scalar as a string, so a string
    /// that contains an object is parsed too. Anything else counts as empty.
    fn field_map(&self) -> Map<String, Value> {
        match &self.fields {
            Value::Object(map) => map.clone(),
            Value::String(text) => match serde_json::from_str(text) {
                Ok(Value::Object(map)) => map,
                _ => Map::new(),
            },
            _ => Map::new(),
        }
    }
}

async fn fetch_listings(
    api: Api,
    after: Option<String>,
    search: String,
) -> Result<ListingPage, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        listings: ListingPage,
    }
    let search = search.trim();
    let search = (!search.is_empty()).then_some(search);
    let query = format!(
        "query Listings {{ listings(first: {PAGE_SIZE}, after: {after}, search: {search}) \
         {{ totalCount endCursor hasNextPage nodes {{ id externalId fields updatedAt }} }} }}",
        after = optional_string_literal(after.as_deref()),
        search = optional_string_literal(search),
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.listings)
}

/// Renders the listings table. Columns follow the schema, labelled in the UI language.
#[component]
pub fn ListingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();

    let schema = LocalResource::new(move || fetch_listing_schema(api));

    let search_input = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    // The `after` cursor of every page visited so far; the last one is the current page.
    let cursors = RwSignal::new(vec![None::<String>]);
    let page = Remote::<ListingPage>::new();

    let fetch = move || {
        let (page_index, after) = cursors.with_untracked(|cursors| {
            (
                cursors.len().saturating_sub(1),
                cursors.last().cloned().flatten(),
            )
        });
        let search = search.get_untracked();
        page.load(async move {
            let mut listings = fetch_listings(api, after, search).await?;
            listings.page_index = page_index;
            Ok(listings)
        });
    };
    fetch();

    let on_search = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        search.set(search_input.get_untracked().trim().to_owned());
        cursors.set(vec![None]);
        fetch();
    };
    let clear_search = move |_| {
        search_input.set(String::new());
        search.set(String::new());
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

    let schema_error = Signal::derive(move || schema.get().and_then(Result::err));

    let table = move |current: ListingPage| match schema.get() {
        Some(Ok(fields)) => Some(render_table(&fields, &current, i18n.locale()).into_any()),
        // The banner above the table shows the error.
        Some(Err(_)) => None,
        None => Some(view! { <Loading/> }.into_any()),
    };

    let has_next = move || matches!(page.get(), Some(Ok(page)) if page.has_next_page);
    let has_previous = move || cursors.with(Vec::len) > 1;

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().listings_title}</h1>
                <p class="lead">{move || i18n.t().listings_lead}</p>
            </header>
            <form class="search-bar" role="search" on:submit=on_search>
                <label for="listings-search" class="visually-hidden">
                    {move || i18n.t().search_label}
                </label>
                <input
                    id="listings-search"
                    type="search"
                    placeholder=move || i18n.t().search_placeholder
                    bind:value=search_input
                />
                <button type="submit" class="button-primary">{move || i18n.t().search}</button>
                <Show when=move || search.with(|search| !search.is_empty())>
                    <button type="button" class="button-quiet" on:click=clear_search>
                        {move || i18n.t().clear_search}
                    </button>
                </Show>
            </form>
            <ErrorBanner error=schema_error/>
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
                    id="listings-next"
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

/// Renders one page of listings with its position in the whole result.
fn render_table(
    fields: &[ListingField],
    page: &ListingPage,
    locale: Locale,
) -> impl IntoView + use<> {
    let t = locale.catalogue();
    let first_row = page.page_index * PAGE_SIZE + 1;
    let last_row = page.page_index * PAGE_SIZE + page.nodes.len();
    let summary = if page.nodes.is_empty() {
        (t.listings_count)(page.total_count)
    } else {
        (t.listings_range)(first_row, last_row, page.total_count)
    };

    let headers = fields
        .iter()
        .map(|field| view! { <th scope="col">{field.label(locale).to_owned()}</th> })
        .collect_view();
    let rows = page
        .nodes
        .iter()
        .map(|listing| {
            let values = listing.field_map();
            let cells = fields
                .iter()
                .map(|field| {
                    let text = values
                        .get(&field.name)
                        .map(|value| field.display_value(value, locale))
                        .unwrap_or_default();
                    view! { <td>{text}</td> }
                })
                .collect_view();
            view! {
                <tr data-id=listing.id.clone()>
                    <td class="mono">{listing.external_id.clone()}</td>
                    {cells}
                    <td class="nowrap">{format::timestamp(&listing.updated_at, locale)}</td>
                </tr>
            }
        })
        .collect_view();
    let is_empty = page.nodes.is_empty();

    view! {
        <p class="muted">{summary}</p>
        {is_empty.then(|| view! { <p class="empty">{t.listings_empty}</p> })}
        {(!is_empty).then(|| view! {
            <div class="table-scroll">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">{t.external_id}</th>
                            {headers}
                            <th scope="col">{t.updated_at}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        })}
    }
}
