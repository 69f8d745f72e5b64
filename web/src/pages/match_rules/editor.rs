//! The form that creates or edits one match rule.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::draft::{ClauseDraft, OperandKind, RuleDraft, operators_for, profile_fields_for};
use super::model::{MatchRule, Operator, save_match_rule};
use crate::api::{ApiError, use_api};
use crate::components::ErrorBanner;
use crate::i18n::use_i18n;
use crate::listing_schema::{FieldType, ListingField, find_field};
use crate::pages::schema::take_key;

/// The maximum number of clauses in a rule (`MatchRuleInput.clauses`).
const MAX_CLAUSES: usize = 20;

/// The schema a rule refers to, shared by the editor's rows.
#[derive(Clone, Copy)]
struct Fields {
    listing: StoredValue<Vec<ListingField>>,
    profile: StoredValue<Vec<ListingField>>,
}

/// Renders the editor of `initial`, a new rule or a stored one. Saving calls `createMatchRule`
/// or `updateMatchRule`, then `on_saved`.
#[component]
pub fn RuleEditor(
    initial: RuleDraft,
    listing_fields: StoredValue<Vec<ListingField>>,
    profile_fields: StoredValue<Vec<ListingField>>,
    next_key: StoredValue<u64>,
    on_saved: impl Fn(MatchRule) + Copy + Send + Sync + 'static,
    on_cancel: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let fields = Fields {
        listing: listing_fields,
        profile: profile_fields,
    };
    let is_new = initial.id.is_none();
    let draft = RwSignal::new(initial);
    let saving = RwSignal::new(false);
    let save_error = RwSignal::new(None::<ApiError>);

    let add_clause = move |_: leptos::ev::MouseEvent| {
        let key = take_key(next_key);
        let clause = fields.listing.with_value(|listing| {
            fields
                .profile
                .with_value(|profile| ClauseDraft::new(key, listing, profile))
        });
        draft.update(|draft| draft.clauses.push(clause));
    };
    let save = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let (id, input) = draft.with_untracked(|draft| {
            let input = fields.listing.with_value(|listing| draft.to_input(listing));
            (draft.id.clone(), input)
        });
        saving.set(true);
        save_error.set(None);
        spawn_local(async move {
            match save_match_rule(api, id, input).await {
                Ok(rule) => on_saved(rule),
                Err(error) => save_error.set(Some(error)),
            }
            saving.set(false);
        });
    };

    let clause_count = move || draft.with(|draft| draft.clauses.len());
    let is_full = move || clause_count() >= MAX_CLAUSES;

    view! {
        <form id="rule-editor" class="card rule-editor" on:submit=save novalidate=true>
            <h2>
                {move || if is_new { i18n.t().rule_new_title } else { i18n.t().rule_edit_title }}
            </h2>
            <div class="rule-editor-head">
                <div class="field">
                    <label for="rule-name">{move || i18n.t().rule_name}</label>
                    <input
                        id="rule-name"
                        autocomplete="off"
                        prop:value=move || draft.with(|draft| draft.name.clone())
                        on:input=move |event| {
                            let value = event_target_value(&event);
                            draft.update(|draft| draft.name = value);
                        }
                    />
                    <p class="hint">{move || i18n.t().rule_name_hint}</p>
                </div>
                <label class="check" for="rule-enabled">
                    <input
                        id="rule-enabled"
                        type="checkbox"
                        prop:checked=move || draft.with(|draft| draft.enabled)
                        on:change=move |event| {
                            let checked = event_target_checked(&event);
                            draft.update(|draft| draft.enabled = checked);
                        }
                    />
                    <span>{move || i18n.t().rule_enabled}</span>
                </label>
            </div>
            <p class="options-title">{move || i18n.t().rule_clauses}</p>
            <p class="hint">{move || i18n.t().rule_clauses_hint}</p>
            <ol class="clause-rows">
                <For
                    each=move || draft.with(|draft| draft.clauses.iter().map(|clause| clause.key).collect::<Vec<_>>())
                    key=|key| *key
                    children=move |key| view! { <ClauseRow key=key draft=draft fields=fields/> }
                />
            </ol>
            <button
                id="rule-add-clause"
                type="button"
                class="button-quiet"
                disabled=is_full
                on:click=add_clause
            >
                {move || i18n.t().rule_add_clause}
            </button>
            <ErrorBanner error=save_error/>
            <div class="toolbar">
                <span class="toolbar-spacer"></span>
                <button id="rule-cancel" type="button" class="button-quiet" on:click=move |_| on_cancel()>
                    {move || i18n.t().cancel}
                </button>
                <button
                    id="rule-save"
                    type="submit"
                    class="button-primary"
                    disabled=move || saving.get() || clause_count() == 0
                >
                    {move || if saving.get() { i18n.t().saving } else { i18n.t().save }}
                </button>
            </div>
        </form>
    }
}

/// Renders one clause: the listing field, the operators its type allows, and a profile field
/// or a constant. Input ids carry the clause's position: `clause-0-operator`.
#[component]
fn ClauseRow(key: u64, draft: RwSignal<RuleDraft>, fields: Fields) -> impl IntoView {
    let i18n = use_i18n();

    let read = move |get: fn(&ClauseDraft) -> String| {
        move || {
            draft.with(|draft| {
                draft
                    .clauses
                    .iter()
                    .find(|clause| clause.key == key)
                    .map(get)
                    .unwrap_or_default()
            })
        }
    };
    let write = move |change: &dyn Fn(&mut ClauseDraft)| {
        draft.update(|draft| {
            if let Some(clause) = draft.clauses.iter_mut().find(|clause| clause.key == key) {
                change(clause);
            }
        });
    };
    // Memos, so that typing a constant does not rebuild the selects and checkboxes.
    let clause_part = move |get: fn(&ClauseDraft) -> Option<(Operator, OperandKind)>| {
        draft.with(|draft| {
            draft
                .clauses
                .iter()
                .find(|clause| clause.key == key)
                .and_then(get)
        })
    };
    let index = Memo::new(move |_| {
        draft
            .with(|draft| draft.clauses.iter().position(|clause| clause.key == key))
            .unwrap_or_default()
    });
    let listing_field = Memo::new(move |_| read(|clause| clause.listing_field.clone())());
    let profile_field = Memo::new(move |_| read(|clause| clause.profile_field.clone())());
    let operator = Memo::new(move |_| {
        clause_part(|clause| Some((clause.operator, clause.operand)))
            .map_or(Operator::InSet, |(operator, _)| operator)
    });
    let operand = Memo::new(move |_| {
        clause_part(|clause| Some((clause.operator, clause.operand)))
            .map_or(OperandKind::Constant, |(_, operand)| operand)
    });
    let id = move |part: &'static str| move || format!("clause-{}-{part}", index.get());
    let is_only_clause = move || draft.with(|draft| draft.clauses.len() == 1);

    let fitting_profile_fields = move || {
        fields
            .profile
            .with_value(|profile| profile_fields_for(profile, operator.get()))
    };
    let is_enum_choice = Memo::new(move |_| {
        let (name, operator) = (listing_field.get(), operator.get());
        operator.takes_set()
            && fields.listing.with_value(|listing| {
                find_field(listing, &name).is_some_and(|field| field.field_type == FieldType::Enum)
            })
    });

    let listing_options = move || {
        let locale = i18n.locale();
        let selected = listing_field.get();
        fields.listing.with_value(|listing| {
            listing
                .iter()
                .map(|field| {
                    let is_selected = field.name == selected;
                    view! {
                        <option value=field.name.clone() selected=is_selected>
                            {field.label(locale).to_owned()}
                        </option>
                    }
                })
                .collect_view()
        })
    };
    let operator_options = move || {
        let t = i18n.t();
        let selected = operator.get();
        let allowed = fields
            .listing
            .with_value(|listing| operators_for(listing, &listing_field.get()));
        allowed
            .iter()
            .map(|option| {
                view! {
                    <option value=option.graphql_name() selected=*option == selected>
                        {option.label(t)}
                    </option>
                }
            })
            .collect_view()
    };
    let profile_options = move || {
        let locale = i18n.locale();
        let selected = profile_field.get();
        fitting_profile_fields()
            .into_iter()
            .map(|field| {
                let is_selected = field.name == selected;
                view! {
                    <option value=field.name.clone() selected=is_selected>
                        {field.label(locale).to_owned()}
                    </option>
                }
            })
            .collect_view()
    };
    let choice_boxes = move || {
        let locale = i18n.locale();
        let options = fields.listing.with_value(|listing| {
            find_field(listing, &listing_field.get())
                .map(|field| field.options.clone())
                .unwrap_or_default()
        });
        let clause_index = index.get();
        options
            .into_iter()
            .enumerate()
            .map(|(option_index, option)| {
                let box_id = format!("clause-{clause_index}-choice-{option_index}");
                let label_for = box_id.clone();
                let value = StoredValue::new(option.value.clone());
                let checked = move || {
                    draft.with(|draft| {
                        draft.clauses.iter().any(|clause| {
                            clause.key == key
                                && value.with_value(|value| clause.choices.contains(value))
                        })
                    })
                };
                view! {
                    <label class="check" for=label_for>
                        <input
                            id=box_id
                            type="checkbox"
                            prop:checked=checked
                            on:change=move |event| {
                                let checked = event_target_checked(&event);
                                let value = value.get_value();
                                write(&|clause| {
                                    clause.choices.retain(|choice| *choice != value);
                                    if checked {
                                        clause.choices.push(value.clone());
                                    }
                                });
                            }
                        />
                        <span>{option.label(locale).to_owned()}</span>
                    </label>
                }
            })
            .collect_view()
    };

    let operand_input = move || match operand.get() {
        OperandKind::Profile => view! {
            <select
                id=id("profile-field")
                aria-label=move || i18n.t().rule_operand_profile
                on:change=move |event| {
                    let value = event_target_value(&event);
                    write(&|clause| clause.profile_field = value.clone());
                }
            >
                {profile_options}
            </select>
        }
        .into_any(),
        OperandKind::Constant if is_enum_choice.get() => {
            view! { <div class="check-list check-list-inline">{choice_boxes}</div> }.into_any()
        }
        OperandKind::Constant => view! {
            <input
                id=id("value")
                autocomplete="off"
                aria-label=move || i18n.t().rule_operand_constant
                placeholder=move || operator.get().value_placeholder(i18n.t())
                prop:value=read(|clause| clause.value_text.clone())
                on:input=move |event| {
                    let value = event_target_value(&event);
                    write(&|clause| clause.value_text = value.clone());
                }
            />
        }
        .into_any(),
    };

    view! {
        <li class="clause-row">
            <select
                id=id("listing-field")
                aria-label=move || i18n.t().rule_listing_field
                on:change=move |event| {
                    let name = event_target_value(&event);
                    fields.listing.with_value(|listing| {
                        fields.profile.with_value(|profile| {
                            write(&|clause| clause.set_listing_field(&name, listing, profile));
                        });
                    });
                }
            >
                {listing_options}
            </select>
            <select
                id=id("operator")
                aria-label=move || i18n.t().rule_operator
                on:change=move |event| {
                    if let Some(selected) = Operator::from_graphql_name(&event_target_value(&event)) {
                        fields.profile.with_value(|profile| {
                            write(&|clause| clause.set_operator(selected, profile));
                        });
                    }
                }
            >
                {operator_options}
            </select>
            <select
                id=id("operand-kind")
                aria-label=move || i18n.t().rule_operand_kind
                on:change=move |event| {
                    let kind = if event_target_value(&event) == "profile" {
                        OperandKind::Profile
                    } else {
                        OperandKind::Constant
                    };
                    write(&|clause| clause.operand = kind);
                }
            >
                <option
                    value="profile"
                    prop:selected=move || operand.get() == OperandKind::Profile
                    disabled=move || fitting_profile_fields().is_empty()
                >
                    {move || i18n.t().rule_operand_profile}
                </option>
                <option value="constant" prop:selected=move || operand.get() == OperandKind::Constant>
                    {move || i18n.t().rule_operand_constant}
                </option>
            </select>
            <div class="clause-operand">{operand_input}</div>
            <button
                id=id("remove")
                type="button"
                class="button-danger-quiet"
                disabled=is_only_clause
                on:click=move |_| draft.update(|draft| draft.clauses.retain(|clause| clause.key != key))
            >
                {move || i18n.t().remove}
            </button>
        </li>
    }
}
