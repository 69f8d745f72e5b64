//! The CSV import of members: one file, stored at once, with the rejected rows listed.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;

use super::model::{ImportResult, import_members};
use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, ErrorMessage};
use crate::format;
use crate::i18n::{Catalogue, Locale, use_i18n};
use crate::listing_schema::{ListingField, fetch_profile_fields, find_field};

/// Renders the file picker, the import button and the result of the last import. Calls
/// `on_imported` after an import that stored rows, so the list can reload.
#[component]
pub fn MemberImport(on_imported: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let csv = RwSignal::new(None::<String>);
    let file_problem = RwSignal::new(None::<&'static str>);
    let running = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let result = RwSignal::new(None::<ImportResult>);
    // Labels the profile fields that row errors name.
    let profile_fields = LocalResource::new(move || fetch_profile_fields(api));

    let on_file = move |event: leptos::ev::Event| {
        let input = event_target::<HtmlInputElement>(&event);
        csv.set(None);
        file_problem.set(None);
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        spawn_local(async move {
            let text = JsFuture::from(file.text())
                .await
                .ok()
                .and_then(|text| text.as_string());
            match text {
                Some(text) if text.trim().is_empty() => {
                    file_problem.set(Some(i18n.t().import_file_empty));
                }
                Some(text) if text.contains('\u{fffd}') => {
                    file_problem.set(Some(i18n.t().import_not_utf8));
                }
                Some(text) => csv.set(Some(text)),
                None => file_problem.set(Some(i18n.t().import_file_unreadable)),
            }
        });
    };
    let start = move |_| {
        let Some(text) = csv.get_untracked() else {
            return;
        };
        running.set(true);
        error.set(None);
        result.set(None);
        spawn_local(async move {
            match import_members(api, text).await {
                Ok(outcome) => {
                    if outcome.created + outcome.updated > 0 {
                        on_imported();
                    }
                    result.set(Some(outcome));
                }
                Err(import_error) => error.set(Some(import_error)),
            }
            running.set(false);
        });
    };

    view! {
        <div class="card member-import">
            <h2>{move || i18n.t().members_import_title}</h2>
            <p class="hint">{move || i18n.t().members_import_hint}</p>
            <div class="field">
                <label for="members-import-file">{move || i18n.t().import_step_file}</label>
                <input id="members-import-file" type="file" accept=".csv,text/csv" on:change=on_file/>
            </div>
            <ErrorMessage message=Signal::derive(move || file_problem.get().map(str::to_owned))/>
            <ErrorBanner error=error/>
            <div class="toolbar">
                <span class="toolbar-spacer"></span>
                <button
                    id="members-import-start"
                    type="button"
                    class="button-primary"
                    disabled=move || running.get() || csv.with(Option::is_none)
                    on:click=start
                >
                    {move || if running.get() { i18n.t().import_starting } else { i18n.t().import_start }}
                </button>
            </div>
            {move || {
                let fields = profile_fields.get().and_then(Result::ok).unwrap_or_default();
                result.get().map(|outcome| render_result(&outcome, &fields, i18n.t(), i18n.locale()))
            }}
        </div>
    }
}

/// Renders the counts and the rejected rows of an import.
fn render_result(
    outcome: &ImportResult,
    fields: &[ListingField],
    t: &'static Catalogue,
    locale: Locale,
) -> impl IntoView + use<> {
    let field_label = |name: &str| match find_field(fields, name) {
        Some(field) => field.label(locale).to_owned(),
        None if name == "email" => t.email_label.to_owned(),
        None => name.to_owned(),
    };
    let counts = [
        (t.import_created, outcome.created),
        (t.import_updated, outcome.updated),
        (t.import_rejected, outcome.rejected),
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
    let error_rows = outcome
        .errors
        .iter()
        .map(|row| {
            view! {
                <tr>
                    // The server counts data rows from 1; the spreadsheet row adds the header.
                    <td class="nowrap">{(t.import_row_number)(row.index)}</td>
                    <td class="mono">{row.external_id.clone().unwrap_or_default()}</td>
                    <td>{field_label(&row.field)}</td>
                    <td class="mono">{row.value.clone().unwrap_or_default()}</td>
                    <td>{row.message.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let has_errors = !outcome.errors.is_empty();
    view! {
        <div id="members-import-result">
            <dl class="counts">{counts}</dl>
            {has_errors.then(|| view! {
                <h3>{t.import_errors_title}</h3>
                <div class="table-scroll">
                    <table class="data-table">
                        <thead>
                            <tr>
                                <th scope="col">{t.import_error_row}</th>
                                <th scope="col">{t.email_label}</th>
                                <th scope="col">{t.import_error_field}</th>
                                <th scope="col">{t.import_error_value}</th>
                                <th scope="col">{t.import_error_message}</th>
                            </tr>
                        </thead>
                        <tbody>{error_rows}</tbody>
                    </table>
                </div>
            })}
        </div>
    }
}
