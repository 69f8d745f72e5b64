//! The list of recent imports.

use leptos::prelude::*;

use super::model::ListingImport;
use crate::components::RemoteContent;
use crate::format;
use crate::i18n::{Locale, use_i18n};
use crate::remote::Remote;

/// Renders the 20 most recent imports, each with a button that shows it in detail.
#[component]
pub fn RecentImports(
    recent: Remote<Vec<ListingImport>>,
    on_refresh: impl Fn() + Copy + Send + Sync + 'static,
    on_open: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let render = move |imports: Vec<ListingImport>| recent_table(imports, i18n.locale(), on_open);

    view! {
        <section class="recent-imports">
            <div class="section-header">
                <h2>{move || i18n.t().imports_recent}</h2>
                <button
                    type="button"
                    class="button-quiet"
                    disabled=move || recent.is_loading()
                    on:click=move |_| on_refresh()
                >
                    {move || i18n.t().refresh}
                </button>
            </div>
            <RemoteContent remote=recent render=render/>
        </section>
    }
}

/// Renders the imports as a table, or a line saying there are none.
fn recent_table(
    imports: Vec<ListingImport>,
    locale: Locale,
    on_open: impl Fn(String) + Copy + Send + Sync + 'static,
) -> AnyView {
    let t = locale.catalogue();
    if imports.is_empty() {
        return view! { <p class="empty">{t.imports_empty}</p> }.into_any();
    }
    let rows = imports
        .into_iter()
        .map(|import| {
            let id = import.id.clone();
            let progress = match import.percent() {
                Some(percent) => format!("{percent}%"),
                None => "–".to_owned(),
            };
            view! {
                <tr>
                    <td class="nowrap">{format::timestamp(&import.created_at, locale)}</td>
                    <td><span class=import.badge_class()>{import.status_label(t)}</span></td>
                    <td class="number">{progress}</td>
                    <td class="number">{format::number(import.created as f64, locale)}</td>
                    <td class="number">{format::number(import.updated as f64, locale)}</td>
                    <td class="number">{format::number(import.unchanged as f64, locale)}</td>
                    <td class="number">{format::number(import.rejected as f64, locale)}</td>
                    <td>
                        <button type="button" class="button-quiet" on:click=move |_| on_open(id.clone())>
                            {t.import_show}
                        </button>
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
                        <th scope="col">{t.import_started_at}</th>
                        <th scope="col">{t.import_status}</th>
                        <th scope="col">{t.import_progress_column}</th>
                        <th scope="col">{t.import_created}</th>
                        <th scope="col">{t.import_updated}</th>
                        <th scope="col">{t.import_unchanged}</th>
                        <th scope="col">{t.import_rejected}</th>
                        <th scope="col"><span class="visually-hidden">{t.actions}</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}
