//! The progress, counts and row errors of one import.

use leptos::prelude::*;

use super::model::ListingImport;
use crate::format;
use crate::i18n::{Catalogue, Locale, use_i18n};
use crate::listing_schema::ListingField;

/// Renders the progress bar, counts and row errors of one import. `fields` labels the fields
/// that row errors name. While the import is active, a button calls `on_reload` with its id.
#[component]
pub fn ImportProgress(
    import: ListingImport,
    fields: Vec<ListingField>,
    on_reload: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = import.id.clone();
    let active = import.status.is_active();

    let body = move || {
        let t = i18n.t();
        let locale = i18n.locale();
        let finished_at = import.finished_at.as_deref().map(|at| {
            view! { <span>" · " {t.import_finished_at} ": " {format::timestamp(at, locale)}</span> }
        });

        view! {
            <div class="import-header">
                <h2>{t.import_current}</h2>
                <span class=import.badge_class()>{import.status_label(t)}</span>
            </div>
            <p class="muted import-times">
                {t.import_started_at} ": " {format::timestamp(&import.created_at, locale)} {finished_at}
            </p>
            {progress_line(&import, t)}
            {counts(&import, t, locale)}
            {row_errors(&import, &fields, t, locale)}
        }
    };

    view! {
        <div class="card import-progress" aria-live="polite">
            {body}
            {active.then(|| {
                let id = id.clone();
                view! {
                    <button type="button" class="button-quiet" on:click=move |_| on_reload(id.clone())>
                        {move || i18n.t().import_reload}
                    </button>
                }
            })}
        </div>
    }
}

/// Renders the progress bar and the text that labels it.
fn progress_line(import: &ListingImport, t: &Catalogue) -> impl IntoView + use<> {
    let percent = import.percent();
    let progress_label = match percent {
        Some(percent) => (t.import_progress)(import.processed_rows, import.total_rows, percent),
        None => t.import_waiting.to_owned(),
    };
    // The bar is labelled by the text next to it, so its own content stays empty.
    let progress_bar = match percent {
        Some(_) => view! {
            <progress
                aria-labelledby="import-progress-text"
                max=import.total_rows.to_string()
                value=import.processed_rows.to_string()
            ></progress>
        }
        .into_any(),
        // Without `value` the browser shows an indeterminate bar.
        None => view! { <progress aria-labelledby="import-progress-text"></progress> }.into_any(),
    };
    view! {
        <div class="progress-line">
            {progress_bar}
            <span id="import-progress-text" class="progress-text">{progress_label}</span>
        </div>
    }
}

/// Renders the created, updated, unchanged and rejected row counts.
fn counts(import: &ListingImport, t: &Catalogue, locale: Locale) -> impl IntoView + use<> {
    let counts = [
        (t.import_created, import.created),
        (t.import_updated, import.updated),
        (t.import_unchanged, import.unchanged),
        (t.import_rejected, import.rejected),
    ]
    .into_iter()
    .map(|(label, count)| {
        view! {
            <div class="count">
                <dt>{label}</dt>
                <dd>{format::number(count as f64, locale)}</dd>
            </div>
        }
    })
    .collect_view();
    view! { <dl class="counts">{counts}</dl> }
}

/// Renders the table of rejected rows, or nothing when no row was rejected.
fn row_errors(
    import: &ListingImport,
    fields: &[ListingField],
    t: &'static Catalogue,
    locale: Locale,
) -> impl IntoView + use<> {
    if import.errors.is_empty() {
        return None;
    }
    let field_label = |name: &str| {
        fields
            .iter()
            .find(|field| field.name == name)
            .map_or_else(|| name.to_owned(), |field| field.label(locale).to_owned())
    };
    let error_rows = import
        .errors
        .iter()
        .map(|error| {
            view! {
                <tr>
                    <td class="nowrap">{(t.import_row_number)(error.index)}</td>
                    <td class="mono">{error.external_id.clone().unwrap_or_default()}</td>
                    <td>{error.field.as_deref().map(field_label).unwrap_or_default()}</td>
                    <td class="mono">{error.value_text()}</td>
                    <td>{error.message.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    Some(view! {
        <h3>{t.import_errors_title}</h3>
        <div class="table-scroll">
            <table class="data-table">
                <thead>
                    <tr>
                        <th scope="col">{t.import_error_row}</th>
                        <th scope="col">{t.external_id}</th>
                        <th scope="col">{t.import_error_field}</th>
                        <th scope="col">{t.import_error_value}</th>
                        <th scope="col">{t.import_error_message}</th>
                    </tr>
                </thead>
                <tbody>{error_rows}</tbody>
            </table>
        </div>
    })
}
