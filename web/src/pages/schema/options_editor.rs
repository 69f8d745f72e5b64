//! The options of an `ENUM` field in the schema editor.

use leptos::prelude::*;

use super::draft::{FieldDraft, OptionDraft, move_item};
use super::editor::take_key;
use super::row_actions::RowActions;
use crate::i18n::use_i18n;

/// Renders the editable `value | 日本語 | English` rows of one `ENUM` field.
#[component]
pub fn OptionsEditor(
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
        update_options(&|options| options.push(OptionDraft::empty(key)));
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
                        <RowActions
                            index=Signal::derive(index)
                            len=Signal::derive(move || options().len())
                            on_move=move |index, offset| {
                                update_options(&|options| move_item(options, index, offset));
                            }
                            on_remove=move || update_options(&|options| options.retain(|option| option.key != key))
                        />
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
