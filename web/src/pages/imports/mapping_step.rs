//! Step 2 of the upload form: the external id column and the field each CSV column fills.

use leptos::prelude::*;

use super::mapping::{duplicate_targets, mapping_targets, unmapped_required};
use crate::i18n::{Catalogue, Locale, use_i18n};
use crate::listing_schema::ListingField;

/// Returns a column's name for display, with a numbered placeholder for a blank header cell.
fn column_display_name(column: &str, index: usize, t: &Catalogue) -> String {
    if column.trim().is_empty() {
        (t.import_unnamed_column)(index + 1)
    } else {
        column.to_owned()
    }
}

/// Renders the mapping step for the header `columns` of the picked file. `mapping` contains the
/// target of each column by index (`None` skips the column), and `external_id_column` the
/// index of the column with each listing's external id.
#[component]
pub fn MappingStep(
    #[prop(into)] columns: Signal<Vec<String>>,
    fields: StoredValue<Vec<ListingField>>,
    mapping: RwSignal<Vec<Option<String>>>,
    external_id_column: RwSignal<usize>,
) -> impl IntoView {
    let i18n = use_i18n();

    let mapping_rows = move || {
        let t = i18n.t();
        let locale = i18n.locale();
        columns
            .get()
            .into_iter()
            .enumerate()
            .map(|(index, column)| {
                mapping_row(
                    index,
                    &column,
                    t,
                    locale,
                    fields,
                    mapping,
                    external_id_column,
                )
            })
            .collect_view()
    };

    let external_id_options = move || {
        let t = i18n.t();
        columns
            .get()
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

    view! {
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
        <MappingWarnings fields=fields mapping=mapping/>
    }
}

/// Renders the table row of the column at `index`, with the `<select>` of its target.
fn mapping_row(
    index: usize,
    column: &str,
    t: &'static Catalogue,
    locale: Locale,
    fields: StoredValue<Vec<ListingField>>,
    mapping: RwSignal<Vec<Option<String>>>,
    external_id_column: RwSignal<usize>,
) -> impl IntoView + use<> {
    let i18n = use_i18n();
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
                <label for=select_id.clone()>{column_display_name(column, index, t)}</label>
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
}

/// Warns about fields chosen for more than one column and required fields no column fills.
/// Both are hints; the server validates every row.
#[component]
fn MappingWarnings(
    fields: StoredValue<Vec<ListingField>>,
    mapping: RwSignal<Vec<Option<String>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let t = i18n.t();
        let locale = i18n.locale();
        let mapped = mapping.get();
        let (duplicates, missing) = fields.with_value(|fields| {
            let targets = mapping_targets(fields, locale);
            let duplicates: Vec<String> = duplicate_targets(&mapped)
                .into_iter()
                .map(|value| {
                    targets
                        .iter()
                        .find(|target| target.value == value)
                        .map_or(value, |target| target.label.clone())
                })
                .collect();
            let missing: Vec<String> = unmapped_required(fields, &mapped)
                .into_iter()
                .map(|field| field.label(locale).to_owned())
                .collect();
            (duplicates, missing)
        });
        view! {
            {(!duplicates.is_empty()).then(|| view! {
                <p class="hint warn">{(t.import_duplicate_targets)(&duplicates.join(", "))}</p>
            })}
            {(!missing.is_empty()).then(|| view! {
                <p class="hint warn">{(t.import_required_unmapped)(&missing.join(", "))}</p>
            })}
        }
    }
}
