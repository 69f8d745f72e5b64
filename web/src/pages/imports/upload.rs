//! The upload form: step 1 picks a CSV file, step 2 maps its columns and starts the import.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, HtmlInputElement};

use super::csv_header::{HeaderError, parse_header};
use super::mapping::{default_external_id_column, default_mapping};
use super::mapping_step::MappingStep;
use super::model::{ColumnMapping, ListingImport, start_import};
use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, ErrorMessage, Loading};
use crate::format;
use crate::i18n::{Catalogue, use_i18n};
use crate::listing_schema::ListingField;

/// The largest CSV file the server accepts (`ListingCsvImportInput.csv`, 64 MiB).
const MAX_CSV_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

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

/// Reads `file` as text and parses its header. Invalid UTF-8 becomes U+FFFD, which
/// [`CsvFile::has_replacement_characters`] detects.
async fn read_csv_file(file: &File) -> Result<CsvFile, FileProblem> {
    let text = JsFuture::from(file.text())
        .await
        .ok()
        .and_then(|text| text.as_string())
        .ok_or(FileProblem::Unreadable)?;
    let columns = parse_header(&text).map_err(FileProblem::Header)?;
    Ok(CsvFile {
        name: file.name(),
        size_bytes: file.size(),
        text,
        columns,
    })
}

/// Renders the upload form. Step 1 picks the file, step 2 maps its columns and starts the
/// import.
#[component]
pub fn UploadForm(
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
            let result = read_csv_file(&file).await;
            reading.set(false);
            match result {
                Ok(file) => {
                    let columns = &file.columns;
                    mapping.set(fields.with_value(|fields| default_mapping(columns, fields)));
                    external_id_column.set(default_external_id_column(columns));
                    csv.set(Some(file));
                }
                Err(problem) => file_problem.set(Some(problem)),
            }
        });
    };

    let columns = Signal::derive(move || {
        csv.with(|csv| {
            csv.as_ref()
                .map(|csv| csv.columns.clone())
                .unwrap_or_default()
        })
    });

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
            <FileSummary csv=csv/>
            <Show when=move || csv.with(Option::is_some)>
                <MappingStep
                    columns=columns
                    fields=fields
                    mapping=mapping
                    external_id_column=external_id_column
                />
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

/// Renders the picked file's name, size and column count, with warnings for a file that is not
/// UTF-8 or is larger than the server accepts.
#[component]
fn FileSummary(csv: RwSignal<Option<CsvFile>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
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
                        {csv.name.clone()} " · " {format::file_size(csv.size_bytes, locale)} " · "
                        {(t.import_column_count)(csv.columns.len())}
                    </p>
                    {encoding_warning}
                    {size_warning}
                }
            })
        })
    }
}
