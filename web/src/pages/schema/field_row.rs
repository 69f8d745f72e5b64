//! One field of the schema editor.

use leptos::prelude::*;

use super::draft::{FieldDraft, is_valid_field_name, messages_for_field, move_item};
use super::options_editor::OptionsEditor;
use super::row_actions::RowActions;
use crate::api::ApiError;
use crate::i18n::use_i18n;
use crate::listing_schema::FieldType;

/// Renders one schema field with its inputs, its `ENUM` options and the server's errors for it.
#[component]
pub fn FieldRow(
    key: u64,
    /// The start of the row's input ids, such as `field` for `field-3-name`.
    id_prefix: &'static str,
    rows: RwSignal<Vec<FieldDraft>>,
    read_only: Signal<bool>,
    save_error: RwSignal<Option<ApiError>>,
    next_key: StoredValue<u64>,
) -> impl IntoView {
    let i18n = use_i18n();

    let read = move |get: fn(&FieldDraft) -> String| {
        move || {
            rows.with(|rows| {
                rows.iter()
                    .find(|row| row.key == key)
                    .map(get)
                    .unwrap_or_default()
            })
        }
    };
    let write = move |change: &dyn Fn(&mut FieldDraft)| {
        rows.update(|rows| {
            if let Some(row) = rows.iter_mut().find(|row| row.key == key) {
                change(row);
            }
        });
    };
    let field_type = move || {
        rows.with(|rows| {
            rows.iter()
                .find(|row| row.key == key)
                .map(|row| row.field_type)
                .unwrap_or_default()
        })
    };
    let required = move || rows.with(|rows| rows.iter().any(|row| row.key == key && row.required));
    let index = move || rows.with(|rows| rows.iter().position(|row| row.key == key));
    let row_count = move || rows.with(Vec::len);

    let name = read(|row| row.name.clone());
    let name_invalid = move || {
        let name = name();
        !name.trim().is_empty() && !is_valid_field_name(name.trim())
    };

    let row_errors = move || {
        let name = name();
        save_error.with(|error| {
            error
                .as_ref()
                .map(|error| messages_for_field(error, name.trim()))
                .unwrap_or_default()
        })
    };
    let has_errors = move || !row_errors().is_empty();

    let name_id = format!("{id_prefix}-{key}-name");
    let label_ja_id = format!("{id_prefix}-{key}-label-ja");
    let label_en_id = format!("{id_prefix}-{key}-label-en");
    let type_id = format!("{id_prefix}-{key}-type");

    let type_options = move || {
        FieldType::ALL
            .into_iter()
            .map(|option_type| {
                view! {
                    <option
                        value=option_type.graphql_name()
                        prop:selected=move || field_type() == option_type
                    >
                        {move || option_type.label(i18n.t())}
                    </option>
                }
            })
            .collect_view()
    };

    view! {
        <li class="card schema-row" class:invalid=has_errors>
            <div class="schema-row-grid">
                <div class="cell">
                    <label for=name_id.clone()>{move || i18n.t().schema_name}</label>
                    <input
                        id=name_id.clone()
                        class="mono"
                        class:warn=name_invalid
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=name
                        disabled=move || read_only.get()
                        on:input=move |event| {
                            let value = event_target_value(&event);
                            write(&|row| row.name = value.clone());
                        }
                    />
                </div>
                <div class="cell">
                    <label for=label_ja_id.clone()>{move || i18n.t().schema_label_ja}</label>
                    <input
                        id=label_ja_id.clone()
                        lang="ja"
                        prop:value=read(|row| row.label_ja.clone())
                        disabled=move || read_only.get()
                        on:input=move |event| {
                            let value = event_target_value(&event);
                            write(&|row| row.label_ja = value.clone());
                        }
                    />
                </div>
                <div class="cell">
                    <label for=label_en_id.clone()>{move || i18n.t().schema_label_en}</label>
                    <input
                        id=label_en_id.clone()
                        lang="en"
                        prop:value=read(|row| row.label_en.clone())
                        disabled=move || read_only.get()
                        on:input=move |event| {
                            let value = event_target_value(&event);
                            write(&|row| row.label_en = value.clone());
                        }
                    />
                </div>
                <div class="cell">
                    <label for=type_id.clone()>{move || i18n.t().schema_type}</label>
                    <select
                        id=type_id.clone()
                        disabled=move || read_only.get()
                        on:change=move |event| {
                            if let Some(selected) = FieldType::from_graphql_name(&event_target_value(&event)) {
                                write(&|row| row.field_type = selected);
                            }
                        }
                    >
                        {type_options}
                    </select>
                </div>
                <div class="cell cell-check">
                    <label>
                        <input
                            type="checkbox"
                            prop:checked=required
                            disabled=move || read_only.get()
                            on:change=move |event| {
                                let checked = event_target_checked(&event);
                                write(&|row| row.required = checked);
                            }
                        />
                        {move || i18n.t().schema_required}
                    </label>
                </div>
                <Show when=move || !read_only.get()>
                    <div class="cell cell-actions">
                        <RowActions
                            index=Signal::derive(index)
                            len=Signal::derive(row_count)
                            on_move=move |index, offset| rows.update(|rows| move_item(rows, index, offset))
                            on_remove=move || rows.update(|rows| rows.retain(|row| row.key != key))
                        />
                    </div>
                </Show>
            </div>
            <Show when=name_invalid>
                <p class="hint warn">{move || i18n.t().schema_name_hint}</p>
            </Show>
            <Show when=move || field_type() == FieldType::Enum>
                <OptionsEditor field_key=key rows=rows read_only=read_only next_key=next_key/>
            </Show>
            {move || {
                row_errors()
                    .into_iter()
                    .map(|message| view! { <p class="field-error">{message}</p> })
                    .collect_view()
            }}
        </li>
    }
}
