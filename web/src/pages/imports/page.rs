//! `/dashboard/imports`: uploads a CSV file of listings, maps its columns to schema fields,
//! follows the import's progress and lists recent imports.

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;

use super::csv_header::{HeaderError, parse_header};
use super::mapping::{
    default_external_id_column, default_mapping, is_field_mapped, mapping_targets,
};
use super::model::{
    ColumnMapping, ListingImport, fetch_import, fetch_recent_imports, start_import,
};
use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, ErrorMessage, Loading};
use crate::format;
use crate::i18n::{Catalogue, Locale, use_i18n};
use crate::listing_schema::{ListingField, fetch_listing_schema};
use crate::remote::Remote;
use crate::session::use_session;

/// The largest CSV file the server accepts (`ListingCsvImportInput.csv`, 64 MiB).
const MAX_CSV_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// How often a queued or running import is polled.
const POLL_INTERVAL_MS: u32 = 1_000;

/// A CSV file read in the browser.
#[derive(Clone, Debug, PartialEq)]
struct CsvFile {
    name: String,
    size_bytes: f64,
    text: String,
    columns: Vec<String>,
}

impl CsvFile {
    /// Returns whether decoding as UTF-8 replaced bytes, which means the file has another
    /// encoding, usually Shift_JIS from older Excel versions.
    fn has_replacement_characters(&self) -> bool {
        self.text.contains('\u{fffd}')
    }
}

/// The reason a picked file cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileProblem {
    Unreadable,
    Header(HeaderError),
}

impl FileProblem {
    fn message(self, t: &Catalogue) -> &'static str {
        match self {
            FileProblem::Unreadable => t.import_file_unreadable,
            FileProblem::Header(HeaderError::Empty) => t.import_file_empty,
            FileProblem::Header(HeaderError::UnterminatedQuote) => t.import_file_open_quote,
        }
    }
}

/// Returns a column's name for display, with a numbered placeholder for a blank header cell.
fn column_display_name(column: &str, index: usize, t: &Catalogue) -> String {
    if column.trim().is_empty() {
        (t.import_unnamed_column)(index + 1)
    } else {
        column.to_owned()
    }
}

/// Formats a byte count as KB or MB.
fn file_size(bytes: f64, locale: Locale) -> String {
    const KIB: f64 = 1024.0;
    if bytes >= KIB * KIB {
        format!(
            "{} MB",
            format::number((bytes / (KIB * KIB) * 10.0).round() / 10.0, locale)
        )
    } else {
        format!("{} KB", format::number((bytes / KIB).ceil(), locale))
    }
}

/// Renders the CSV import page. Viewers see the progress and history but not the upload form.
#[component]
pub fn ImportsPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());

    let schema = LocalResource::new(move || fetch_listing_schema(api));
    let recent = Remote::<Vec<ListingImport>>::new();
    let reload_recent = move || recent.load(fetch_recent_imports(api));
    reload_recent();

    let current = RwSignal::new(None::<ListingImport>);
    let opening = RwSignal::new(false);
    let poll_error = RwSignal::new(None::<ApiError>);
    let poll_generation = StoredValue::new(0_u64);

    // Shows `import` and, while it is queued or running, polls it once a second until it
    // finishes, another import is shown, the request fails or the page is left.
    let watch = move |import: ListingImport| {
        let generation = poll_generation.get_value() + 1;
        poll_generation.set_value(generation);
        let id = import.id.clone();
        let active = import.status.is_active();
        current.set(Some(import));
        poll_error.set(None);
        if !active {
            return;
        }
        spawn_local(async move {
            loop {
                TimeoutFuture::new(POLL_INTERVAL_MS).await;
                if poll_generation.try_get_value() != Some(generation) {
                    return;
                }
                let result = fetch_import(api, &id).await;
                if poll_generation.try_get_value() != Some(generation) {
                    return;
                }
                match result {
                    Ok(import) => {
                        let active = import.status.is_active();
                        current.set(Some(import));
                        if !active {
                            reload_recent();
                            return;
                        }
                    }
                    Err(error) => {
                        poll_error.set(Some(error));
                        return;
                    }
                }
            }
        });
    };
    let open_import = move |id: String| {
        poll_error.set(None);
        opening.set(true);
        spawn_local(async move {
            let result = fetch_import(api, &id).await;
            opening.set(false);
            match result {
                Ok(import) => watch(import),
                Err(error) => poll_error.set(Some(error)),
            }
        });
    };
    let on_started = move |import: ListingImport| {
        watch(import);
        reload_recent();
    };

    let schema_error = Signal::derive(move || schema.get().and_then(Result::err));

    let upload = move || match schema.get() {
        None => Some(view! { <Loading/> }.into_any()),
        Some(Err(_)) => None,
        Some(Ok(fields)) => {
            Some(view! { <UploadForm fields=fields on_started=on_started/> }.into_any())
        }
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().imports_title}</h1>
                <p class="lead">{move || i18n.t().imports_lead}</p>
            </header>
            <ErrorBanner error=schema_error/>
            <Show
                when=move || !read_only.get()
                fallback=move || view! { <p class="notice">{move || i18n.t().read_only_notice}</p> }
            >
                {upload}
            </Show>
            <ErrorBanner error=poll_error/>
            <Show when=move || opening.get()>
                <Loading/>
            </Show>
            {move || current.get().map(|import| view! {
                <ImportProgress
                    import=import
                    fields=schema.get().and_then(Result::ok).unwrap_or_default()
                    on_reload=open_import
                />
            })}
            <RecentImports recent=recent on_refresh=reload_recent on_open=open_import/>
        </section>
    }
}

/// Step 1 picks the file, step 2 maps its columns and starts the import.
#[component]
fn UploadForm(
    fields: Vec<ListingField>,
    on_started: impl Fn(ListingImport) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let fields = StoredValue::new(fields);

    let csv = RwSignal::new(None::<CsvFile>);
    let file_problem = RwSignal::new(None::<FileProblem>);
    let reading = RwSignal::new(false);
    let mapping = RwSignal::new(Vec::<Option<String>>::new());
    let external_id_column = RwSignal::new(0_usize);
    let submitting = RwSignal::new(false);
    let submit_error = RwSignal::new(None::<ApiError>);

    let on_file = move |event: leptos::ev::Event| {
        let input = event_target::<HtmlInputElement>(&event);
        csv.set(None);
        file_problem.set(None);
        submit_error.set(None);
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        reading.set(true);
        spawn_local(async move {
            let text = JsFuture::from(file.text())
                .await
                .ok()
                .and_then(|text| text.as_string());
            reading.set(false);
            let Some(text) = text else {
                file_problem.set(Some(FileProblem::Unreadable));
                return;
            };
            match parse_header(&text) {
                Ok(columns) => {
                    mapping.set(fields.with_value(|fields| default_mapping(&columns, fields)));
                    external_id_column.set(default_external_id_column(&columns));
                    csv.set(Some(CsvFile {
                        name: file.name(),
                        size_bytes: file.size(),
                        text,
                        columns,
                    }));
                }
                Err(error) => file_problem.set(Some(FileProblem::Header(error))),
            }
        });
    };

    let columns = move || {
        csv.with(|csv| {
            csv.as_ref()
                .map(|csv| csv.columns.clone())
                .unwrap_or_default()
        })
    };

    // Fields chosen for more than one column, and required fields no column fills. Both are
    // hints; the server validates every row.
    let duplicate_targets = move || {
        let mut seen = Vec::new();
        let mut duplicates = Vec::new();
        for field in mapping.get().into_iter().flatten() {
            if seen.contains(&field) {
                if !duplicates.contains(&field) {
                    duplicates.push(field);
                }
            } else {
                seen.push(field);
            }
        }
        duplicates
    };
    let unmapped_required = move || {
        let locale = i18n.locale();
        let mapped = mapping.get();
        fields.with_value(|fields| {
            fields
                .iter()
                .filter(|field| field.required && !is_field_mapped(field, &mapped))
                .map(|field| field.label(locale).to_owned())
                .collect::<Vec<_>>()
        })
    };

    let submit = move |_| {
        if submitting.get_untracked() {
            return;
        }
        let Some(file) = csv.get_untracked() else {
            return;
        };
        let external_id = file
            .columns
            .get(external_id_column.get_untracked())
            .cloned()
            .unwrap_or_default();
        let columns = file
            .columns
            .iter()
            .zip(mapping.get_untracked())
            .filter_map(|(column, field)| {
                Some(ColumnMapping {
                    column: column.clone(),
                    field: field?,
                })
            })
            .collect::<Vec<_>>();
        submitting.set(true);
        submit_error.set(None);
        spawn_local(async move {
            match start_import(api, file.text, external_id, &columns).await {
                Ok(import) => on_started(import),
                Err(error) => submit_error.set(Some(error)),
            }
            submitting.set(false);
        });
    };

    let file_summary = move || {
        csv.with(|csv| {
            csv.as_ref().map(|csv| {
                let locale = i18n.locale();
                let t = i18n.t();
                let encoding_warning = csv
                    .has_replacement_characters()
                    .then(|| view! { <p class="hint warn">{t.import_not_utf8}</p> });
                let size_warning = (csv.size_bytes > MAX_CSV_BYTES)
                    .then(|| view! { <p class="hint warn">{t.import_file_too_large}</p> });
                view! {
                    <p class="muted">
                        {csv.name.clone()} " · " {file_size(csv.size_bytes, locale)} " · "
                        {(t.import_column_count)(csv.columns.len())}
                    </p>
                    {encoding_warning}
                    {size_warning}
                }
            })
        })
    };

    let mapping_rows = move || {
        let t = i18n.t();
        let locale = i18n.locale();
        columns()
            .into_iter()
            .enumerate()
            .map(|(index, column)| {
                let select_id = format!("import-column-{index}");
                let options = fields
                    .with_value(|fields| mapping_targets(fields, locale))
                    .into_iter()
                    .map(|target| {
                        let selected_value = target.value.clone();
                        view! {
                            <option
                                value=target.value
                                prop:selected=move || mapping.with(|mapping| {
                                    mapping.get(index).cloned().flatten().as_ref() == Some(&selected_value)
                                })
                            >
                                {target.label}
                            </option>
                        }
                    })
                    .collect_view();
                view! {
                    <tr>
                        <th scope="row">
                            <label for=select_id.clone()>{column_display_name(&column, index, t)}</label>
                            {move || (external_id_column.get() == index).then(|| view! {
                                <span class="badge">{i18n.t().import_external_id_badge}</span>
                            })}
                        </th>
                        <td>
                            <select
                                id=select_id
                                on:change=move |event| {
                                    let value = event_target_value(&event);
                                    let field = (!value.is_empty()).then_some(value);
                                    mapping.update(|mapping| {
                                        if let Some(slot) = mapping.get_mut(index) {
                                            *slot = field;
                                        }
                                    });
                                }
                            >
                                <option
                                    value=""
                                    prop:selected=move || mapping.with(|mapping| {
                                        mapping.get(index).is_none_or(Option::is_none)
                                    })
                                >
                                    {t.import_skip_column}
                                </option>
                                {options}
                            </select>
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };

    let external_id_options = move || {
        let t = i18n.t();
        columns()
            .into_iter()
            .enumerate()
            .map(|(index, column)| {
                view! {
                    <option
                        value=index.to_string()
                        prop:selected=move || external_id_column.get() == index
                    >
                        {column_display_name(&column, index, t)}
                    </option>
                }
            })
            .collect_view()
    };

    let warnings = move || {
        let t = i18n.t();
        let targets = fields.with_value(|fields| mapping_targets(fields, i18n.locale()));
        let duplicates: Vec<String> = duplicate_targets()
            .into_iter()
            .map(|value| {
                targets
                    .iter()
                    .find(|target| target.value == value)
                    .map_or(value, |target| target.label.clone())
            })
            .collect();
        let missing = unmapped_required();
        view! {
            {(!duplicates.is_empty()).then(|| view! {
                <p class="hint warn">{(t.import_duplicate_targets)(&duplicates.join(", "))}</p>
            })}
            {(!missing.is_empty()).then(|| view! {
                <p class="hint warn">{(t.import_required_unmapped)(&missing.join(", "))}</p>
            })}
        }
    };

    view! {
        <div class="card">
            <h2>{move || i18n.t().import_step_file}</h2>
            <p class="hint">{move || i18n.t().import_file_hint}</p>
            <input
                id="import-file"
                type="file"
                accept=".csv,text/csv"
                aria-label=move || i18n.t().import_step_file
                on:change=on_file
            />
            <Show when=move || reading.get()>
                <Loading/>
            </Show>
            <ErrorMessage message=Signal::derive(move || {
                file_problem.get().map(|problem| problem.message(i18n.t()).to_owned())
            })/>
            {file_summary}
            <Show when=move || csv.with(Option::is_some)>
                <h2>{move || i18n.t().import_step_mapping}</h2>
                <div class="field">
                    <label for="import-external-id">{move || i18n.t().import_external_id_column}</label>
                    <select
                        id="import-external-id"
                        on:change=move |event| {
                            if let Ok(index) = event_target_value(&event).parse::<usize>() {
                                external_id_column.set(index);
                            }
                        }
                    >
                        {external_id_options}
                    </select>
                    <p class="hint">{move || i18n.t().import_external_id_hint}</p>
                </div>
                <div class="table-scroll">
                    <table class="data-table mapping-table">
                        <thead>
                            <tr>
                                <th scope="col">{move || i18n.t().import_csv_column}</th>
                                <th scope="col">{move || i18n.t().import_schema_field}</th>
                            </tr>
                        </thead>
                        <tbody>{mapping_rows}</tbody>
                    </table>
                </div>
                {warnings}
                <ErrorBanner error=submit_error/>
                <div class="toolbar">
                    <span class="toolbar-spacer"></span>
                    <button
                        id="import-submit"
                        type="button"
                        class="button-primary"
                        disabled=move || submitting.get()
                        on:click=submit
                    >
                        {move || if submitting.get() { i18n.t().import_starting } else { i18n.t().import_start }}
                    </button>
                </div>
            </Show>
        </div>
    }
}

/// Renders the progress bar, counts and row errors of one import.
#[component]
fn ImportProgress(
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
            None => {
                view! { <progress aria-labelledby="import-progress-text"></progress> }.into_any()
            }
        };
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
        let has_errors = !import.errors.is_empty();
        let finished_at = import.finished_at.as_deref().map(|at| {
            view! { <p class="muted">{t.import_finished_at} ": " {format::timestamp(at, locale)}</p> }
        });

        view! {
            <div class="import-header">
                <h2>{t.import_current}</h2>
                <span class=import.status.badge_class()>{import.status.label(t)}</span>
            </div>
            <p class="muted">{t.import_started_at} ": " {format::timestamp(&import.created_at, locale)}</p>
            {finished_at}
            <div class="progress-line">
                {progress_bar}
                <span id="import-progress-text" class="progress-text">{progress_label}</span>
            </div>
            <dl class="counts">{counts}</dl>
            {has_errors.then(|| view! {
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
            })}
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

/// Renders the 20 most recent imports, each with a button that shows it in detail.
#[component]
fn RecentImports(
    recent: Remote<Vec<ListingImport>>,
    on_refresh: impl Fn() + Copy + Send + Sync + 'static,
    on_open: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let recent_error = Signal::derive(move || recent.error());

    let table = move || {
        let imports = match recent.get() {
            None => return Some(view! { <Loading/> }.into_any()),
            Some(Err(_)) => return None,
            Some(Ok(imports)) => imports,
        };
        let t = i18n.t();
        let locale = i18n.locale();
        if imports.is_empty() {
            return Some(view! { <p class="empty">{t.imports_empty}</p> }.into_any());
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
                        <td><span class=import.status.badge_class()>{import.status.label(t)}</span></td>
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
        Some(
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
            .into_any(),
        )
    };

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
            <ErrorBanner error=recent_error/>
            <Show when=move || recent.is_loading() && recent.with(Option::is_some)>
                <Loading/>
            </Show>
            <div class="table-area" class:stale=move || recent.is_loading()>{table}</div>
        </section>
    }
}
