//! `/dashboard/schema`: edits the listing schema and saves it with `setListingSchema`.
//!
//! The rows live in one signal as plain data with a stable key per row, and each input reads
//! and writes its row by key. Schemas have tens of fields, so re-reading the list on each
//! keystroke is cheap, and no signal has to be created or disposed per row.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use serde_json::json;

use super::draft::{
    FieldDraft, OptionDraft, drafts_to_fields, error_concerns_field, is_valid_field_name, move_item,
};
use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, Loading};
use crate::i18n::use_i18n;
use crate::listing_schema::{
    FieldType, LISTING_FIELD_SELECTION, ListingField, fetch_listing_schema,
};
use crate::session::use_session;

/// The loading state of the saved schema.
#[derive(Clone, Debug, PartialEq)]
enum LoadState {
    Loading,
    Failed(ApiError),
    Ready,
}

/// Returns a key not used by any row or option yet.
fn take_key(next_key: StoredValue<u64>) -> u64 {
    let key = next_key.get_value();
    next_key.set_value(key + 1);
    key
}

/// Renders the schema editor. Viewers see the same rows with every input disabled.
#[component]
pub fn SchemaPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());

    let rows = RwSignal::new(Vec::<FieldDraft>::new());
    let saved = RwSignal::new(Vec::<ListingField>::new());
    let next_key = StoredValue::new(0_u64);
    let load_state = RwSignal::new(LoadState::Loading);
    let saving = RwSignal::new(false);
    let save_error = RwSignal::new(None::<ApiError>);
    let just_saved = RwSignal::new(false);

    let new_key = move || take_key(next_key);
    let fields_to_drafts = move |fields: &[ListingField]| {
        fields
            .iter()
            .map(|field| FieldDraft {
                key: new_key(),
                name: field.name.clone(),
                label_ja: field.label_ja.clone(),
                label_en: field.label_en.clone(),
                field_type: field.field_type,
                required: field.required,
                options: field
                    .options
                    .iter()
                    .map(|option| OptionDraft {
                        key: new_key(),
                        value: option.value.clone(),
                        label_ja: option.label_ja.clone(),
                        label_en: option.label_en.clone(),
                    })
                    .collect(),
            })
            .collect::<Vec<_>>()
    };
    let apply_saved = move |fields: Vec<ListingField>| {
        rows.set(fields_to_drafts(&fields));
        saved.set(fields);
    };

    let load = move || {
        load_state.set(LoadState::Loading);
        spawn_local(async move {
            match fetch_listing_schema(api).await {
                Ok(fields) => {
                    apply_saved(fields);
                    load_state.set(LoadState::Ready);
                }
                Err(error) => load_state.set(LoadState::Failed(error)),
            }
        });
    };
    load();

    let is_dirty =
        Memo::new(move |_| rows.with(|rows| saved.with(|saved| drafts_to_fields(rows) != *saved)));

    let save = move || {
        if saving.get_untracked() {
            return;
        }
        let fields = rows.with_untracked(|rows| drafts_to_fields(rows));
        saving.set(true);
        save_error.set(None);
        just_saved.set(false);
        spawn_local(async move {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Data {
                set_listing_schema: Vec<ListingField>,
            }
            let query = format!(
                "mutation SetListingSchema($fields: [ListingFieldInput!]!) \
                 {{ setListingSchema(fields: $fields) {{ {LISTING_FIELD_SELECTION} }} }}"
            );
            let result = api
                .request::<Data>(&query, json!({ "fields": fields }))
                .await
                .map(|data| data.set_listing_schema);
            match result {
                Ok(fields) => {
                    apply_saved(fields);
                    just_saved.set(true);
                }
                Err(error) => save_error.set(Some(error)),
            }
            saving.set(false);
        });
    };

    let add_field = move |_| {
        let key = new_key();
        rows.update(|rows| {
            rows.push(FieldDraft {
                key,
                name: String::new(),
                label_ja: String::new(),
                label_en: String::new(),
                field_type: FieldType::Text,
                required: false,
                options: Vec::new(),
            });
        });
        just_saved.set(false);
    };
    let discard = move |_| {
        apply_saved(saved.get_untracked());
        save_error.set(None);
    };

    let editor = move || match load_state.get() {
        LoadState::Loading => view! { <Loading/> }.into_any(),
        LoadState::Failed(error) => view! {
            <ErrorBanner error=Signal::derive(move || Some(error.clone()))/>
            <button type="button" class="button-quiet" on:click=move |_| load()>
                {move || i18n.t().retry}
            </button>
        }
        .into_any(),
        LoadState::Ready => view! {
            <Show when=move || rows.with(Vec::is_empty)>
                <p class="empty">{move || i18n.t().schema_empty}</p>
            </Show>
            <ol class="schema-rows">
                <For
                    each=move || rows.get()
                    key=|row| row.key
                    children=move |row| view! {
                        <FieldRow
                            key=row.key
                            rows=rows
                            read_only=read_only
                            save_error=save_error
                            next_key=next_key
                        />
                    }
                />
            </ol>
            // Next to the save button, where the operator looks after clicking it.
            <ErrorBanner error=save_error/>
            <Show when=move || !read_only.get()>
                <div class="toolbar">
                    <button type="button" class="button-quiet" on:click=add_field>
                        {move || i18n.t().schema_add_field}
                    </button>
                    <span class="toolbar-spacer"></span>
                    <Show when=move || just_saved.get() && !is_dirty.get()>
                        <span class="notice success" role="status">{move || i18n.t().saved}</span>
                    </Show>
                    <Show when=move || is_dirty.get()>
                        <span class="muted">{move || i18n.t().unsaved_changes}</span>
                        <button
                            type="button"
                            class="button-quiet"
                            disabled=move || saving.get()
                            on:click=discard
                        >
                            {move || i18n.t().discard_changes}
                        </button>
                    </Show>
                    <button
                        id="schema-save"
                        type="button"
                        class="button-primary"
                        disabled=move || saving.get() || !is_dirty.get()
                        on:click=move |_| save()
                    >
                        {move || if saving.get() { i18n.t().saving } else { i18n.t().save }}
                    </button>
                </div>
            </Show>
        }
        .into_any(),
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().schema_title}</h1>
                <p class="lead">{move || i18n.t().schema_lead}</p>
            </header>
            <Show when=move || read_only.get()>
                <p class="notice">{move || i18n.t().read_only_notice}</p>
            </Show>
            {editor}
        </section>
    }
}

/// Renders one schema field with its inputs, its `ENUM` options and the server's errors for it.
#[component]
fn FieldRow(
    key: u64,
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
        let name = name.trim().to_owned();
        if name.is_empty() {
            return Vec::new();
        }
        save_error.with(|error| match error {
            Some(ApiError::Graphql(errors)) => errors
                .iter()
                .filter(|error| error_concerns_field(error, &name))
                .map(|error| error.message.clone())
                .collect(),
            _ => Vec::new(),
        })
    };
    let has_errors = move || !row_errors().is_empty();

    let name_id = format!("field-{key}-name");
    let label_ja_id = format!("field-{key}-label-ja");
    let label_en_id = format!("field-{key}-label-en");
    let type_id = format!("field-{key}-type");

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
                        <button
                            type="button"
                            class="icon-button"
                            title=move || i18n.t().move_up
                            aria-label=move || i18n.t().move_up
                            disabled=move || index() == Some(0)
                            on:click=move |_| {
                                if let Some(index) = index() {
                                    rows.update(|rows| move_item(rows, index, -1));
                                }
                            }
                        >
                            "↑"
                        </button>
                        <button
                            type="button"
                            class="icon-button"
                            title=move || i18n.t().move_down
                            aria-label=move || i18n.t().move_down
                            disabled=move || index().is_none_or(|index| index + 1 >= row_count())
                            on:click=move |_| {
                                if let Some(index) = index() {
                                    rows.update(|rows| move_item(rows, index, 1));
                                }
                            }
                        >
                            "↓"
                        </button>
                        <button
                            type="button"
                            class="button-danger-quiet"
                            on:click=move |_| rows.update(|rows| rows.retain(|row| row.key != key))
                        >
                            {move || i18n.t().remove}
                        </button>
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

/// Renders the editable `value | 日本語 | English` rows of one `ENUM` field.
#[component]
fn OptionsEditor(
    field_key: u64,
    rows: RwSignal<Vec<FieldDraft>>,
    read_only: Signal<bool>,
    next_key: StoredValue<u64>,
) -> impl IntoView {
    let i18n = use_i18n();

    let options = move || {
        rows.with(|rows| {
            rows.iter()
                .find(|row| row.key == field_key)
                .map(|row| row.options.clone())
                .unwrap_or_default()
        })
    };
    let update_options = move |change: &dyn Fn(&mut Vec<OptionDraft>)| {
        rows.update(|rows| {
            if let Some(row) = rows.iter_mut().find(|row| row.key == field_key) {
                change(&mut row.options);
            }
        });
    };
    let add_option = move |_| {
        let key = take_key(next_key);
        update_options(&|options| {
            options.push(OptionDraft {
                key,
                value: String::new(),
                label_ja: String::new(),
                label_en: String::new(),
            });
        });
    };

    let option_row = move |option: OptionDraft| {
        let key = option.key;
        let read = move |get: fn(&OptionDraft) -> String| {
            move || {
                options()
                    .iter()
                    .find(|option| option.key == key)
                    .map(get)
                    .unwrap_or_default()
            }
        };
        let write = move |change: &dyn Fn(&mut OptionDraft)| {
            update_options(&|options| {
                if let Some(option) = options.iter_mut().find(|option| option.key == key) {
                    change(option);
                }
            });
        };
        let index = move || options().iter().position(|option| option.key == key);
        view! {
            <tr>
                <td>
                    <input
                        class="mono"
                        aria-label=move || i18n.t().option_value
                        spellcheck="false"
                        prop:value=read(|option| option.value.clone())
                        disabled=move || read_only.get()
                        on:input=move |event| {
                            let value = event_target_value(&event);
                            write(&|option| option.value = value.clone());
                        }
                    />
                </td>
                <td>
                    <input
                        lang="ja"
                        aria-label=move || i18n.t().option_label_ja
                        prop:value=read(|option| option.label_ja.clone())
                        disabled=move || read_only.get()
                        on:input=move |event| {
                            let value = event_target_value(&event);
                            write(&|option| option.label_ja = value.clone());
                        }
                    />
                </td>
                <td>
                    <input
                        lang="en"
                        aria-label=move || i18n.t().option_label_en
                        prop:value=read(|option| option.label_en.clone())
                        disabled=move || read_only.get()
                        on:input=move |event| {
                            let value = event_target_value(&event);
                            write(&|option| option.label_en = value.clone());
                        }
                    />
                </td>
                <Show when=move || !read_only.get()>
                    <td class="cell-actions">
                        <button
                            type="button"
                            class="icon-button"
                            title=move || i18n.t().move_up
                            aria-label=move || i18n.t().move_up
                            disabled=move || index() == Some(0)
                            on:click=move |_| {
                                if let Some(index) = index() {
                                    update_options(&|options| move_item(options, index, -1));
                                }
                            }
                        >
                            "↑"
                        </button>
                        <button
                            type="button"
                            class="icon-button"
                            title=move || i18n.t().move_down
                            aria-label=move || i18n.t().move_down
                            disabled=move || index().is_none_or(|index| index + 1 >= options().len())
                            on:click=move |_| {
                                if let Some(index) = index() {
                                    update_options(&|options| move_item(options, index, 1));
                                }
                            }
                        >
                            "↓"
                        </button>
                        <button
                            type="button"
                            class="button-danger-quiet"
                            on:click=move |_| update_options(&|options| options.retain(|option| option.key != key))
                        >
                            {move || i18n.t().remove}
                        </button>
                    </td>
                </Show>
            </tr>
        }
    };

    view! {
        <div class="options-editor">
            <p class="options-title">{move || i18n.t().schema_options}</p>
            <table class="options-table">
                <thead>
                    <tr>
                        <th>{move || i18n.t().option_value}</th>
                        <th>{move || i18n.t().option_label_ja}</th>
                        <th>{move || i18n.t().option_label_en}</th>
                        <Show when=move || !read_only.get()>
                            <th><span class="visually-hidden">{move || i18n.t().actions}</span></th>
                        </Show>
                    </tr>
                </thead>
                <tbody>
                    <For each=options key=|option| option.key children=option_row/>
                </tbody>
            </table>
            <Show when=move || options().is_empty()>
                <p class="hint warn">{move || i18n.t().schema_options_empty}</p>
            </Show>
            <Show when=move || !read_only.get()>
                <button type="button" class="button-quiet" on:click=add_option>
                    {move || i18n.t().schema_add_option}
                </button>
            </Show>
        </div>
    }
}
