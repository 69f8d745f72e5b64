//! `/dashboard/match-rules`: the match rules, their editor and the "notify on change" setting.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use super::draft::RuleDraft;
use super::editor::RuleEditor;
use super::model::{
    MatchClause, MatchRule, delete_match_rule, fetch_match_rules, fetch_notify_on_change,
    set_notify_on_change,
};
use crate::api::{Api, ApiError, use_api};
use crate::components::{ErrorBanner, RemoteContent};
use crate::i18n::{Catalogue, Locale, use_i18n};
use crate::listing_schema::{
    FieldType, ListingField, fetch_listing_schema, fetch_profile_fields, find_field,
};
use crate::pages::schema::take_key;
use crate::remote::Remote;
use crate::session::use_session;
use crate::value_text::{editable_text, string_list};

/// The rules and the two field lists their clauses refer to.
#[derive(Clone, Debug, PartialEq)]
struct RulesData {
    listing_fields: Vec<ListingField>,
    profile_fields: Vec<ListingField>,
    rules: Vec<MatchRule>,
}

async fn fetch_rules_data(api: Api) -> Result<RulesData, ApiError> {
    let (listing_fields, profile_fields, rules) = futures::try_join!(
        fetch_listing_schema(api),
        fetch_profile_fields(api),
        fetch_match_rules(api)
    )?;
    Ok(RulesData {
        listing_fields,
        profile_fields,
        rules,
    })
}

/// Renders the rules page. Viewers see the rules and the setting without the controls that
/// change them.
#[component]
pub fn MatchRulesPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());

    let data = Remote::<RulesData>::new();
    let reload = move || data.load(fetch_rules_data(api));
    reload();

    let render = move |data: RulesData| view! { <RulesSection data=data read_only=read_only on_changed=reload/> };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().rules_title}</h1>
                <p class="lead">{move || i18n.t().rules_lead}</p>
            </header>
            <Show when=move || read_only.get()>
                <p class="notice">{move || i18n.t().read_only_notice}</p>
            </Show>
            <NotifySetting read_only=read_only/>
            <RemoteContent remote=data render=render/>
        </section>
    }
}

/// Renders the "new rule" button, the editor and the list of rules.
#[component]
fn RulesSection(
    data: RulesData,
    read_only: Signal<bool>,
    on_changed: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let listing_fields = StoredValue::new(data.listing_fields);
    let profile_fields = StoredValue::new(data.profile_fields);
    let rules = data.rules;
    let next_key = StoredValue::new(0_u64);
    let editing = RwSignal::new(None::<RuleDraft>);
    let deleting = RwSignal::new(None::<String>);
    let delete_error = RwSignal::new(None::<ApiError>);

    let has_listing_fields = listing_fields.with_value(|fields| !fields.is_empty());
    let start_new = move |_| {
        let key = take_key(next_key);
        let draft = listing_fields.with_value(|listing| {
            profile_fields.with_value(|profile| RuleDraft::new(key, listing, profile))
        });
        editing.set(Some(draft));
    };
    let start_edit = move |rule: &MatchRule| {
        let draft = listing_fields
            .with_value(|listing| RuleDraft::from_rule(rule, listing, &mut || take_key(next_key)));
        editing.set(Some(draft));
    };
    let delete = move |rule: MatchRule| {
        let question = (i18n.t().rule_delete_confirm)(&rule.name);
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        deleting.set(Some(rule.id.clone()));
        delete_error.set(None);
        spawn_local(async move {
            match delete_match_rule(api, &rule.id).await {
                Ok(()) => on_changed(),
                Err(error) => delete_error.set(Some(error)),
            }
            deleting.set(None);
        });
    };

    let editor = move || {
        editing.get().map(|initial| {
            view! {
                <RuleEditor
                    initial=initial
                    listing_fields=listing_fields
                    profile_fields=profile_fields
                    next_key=next_key
                    on_saved=move |_| {
                        editing.set(None);
                        on_changed();
                    }
                    on_cancel=move || editing.set(None)
                />
            }
        })
    };

    let is_empty = rules.is_empty();
    let cards = rules
        .into_iter()
        .enumerate()
        .map(|(index, rule)| {
            let rule = StoredValue::new(rule);
            let controls = move || {
                (!read_only.get()).then(|| {
                    view! {
                        <div class="rule-card-actions">
                            <button
                                id=format!("rule-edit-{index}")
                                type="button"
                                class="button-quiet"
                                disabled=move || editing.with(Option::is_some)
                                on:click=move |_| rule.with_value(|rule| start_edit(rule))
                            >
                                {move || i18n.t().edit}
                            </button>
                            <button
                                id=format!("rule-delete-{index}")
                                type="button"
                                class="button-danger-quiet"
                                disabled=move || {
                                    deleting.with(|id| id.as_deref() == Some(rule.with_value(|rule| rule.id.clone()).as_str()))
                                }
                                on:click=move |_| delete(rule.get_value())
                            >
                                {move || i18n.t().remove}
                            </button>
                        </div>
                    }
                })
            };
            let body = move || {
                let locale = i18n.locale();
                let t = i18n.t();
                rule.with_value(|rule| {
                    listing_fields.with_value(|listing| {
                        profile_fields.with_value(|profile| {
                            render_rule(rule, listing, profile, t, locale)
                        })
                    })
                })
            };
            view! {
                <li id=format!("rule-{index}") class="card rule-card">
                    {body}
                    {controls}
                </li>
            }
        })
        .collect_view();

    view! {
        {(!has_listing_fields).then(|| view! {
            <p class="notice warning">
                {move || i18n.t().rules_need_schema} " "
                <A href="/dashboard/schema">{move || i18n.t().nav_schema}</A>
            </p>
        })}
        <Show when=move || !read_only.get() && has_listing_fields && editing.with(Option::is_none)>
            <div class="toolbar">
                <button id="rule-new" type="button" class="button-primary" on:click=start_new>
                    {move || i18n.t().rule_new}
                </button>
            </div>
        </Show>
        {editor}
        <ErrorBanner error=delete_error/>
        <h2>{move || i18n.t().rules_list}</h2>
        {is_empty.then(|| view! { <p class="empty">{move || i18n.t().rules_empty}</p> })}
        <ul class="rule-list">{cards}</ul>
    }
}

/// Renders a rule's name, state and clauses as sentences.
fn render_rule(
    rule: &MatchRule,
    listing_fields: &[ListingField],
    profile_fields: &[ListingField],
    t: &'static Catalogue,
    locale: Locale,
) -> impl IntoView + use<> {
    let clauses = rule
        .clauses
        .iter()
        .map(|clause| {
            let text = clause_summary(clause, listing_fields, profile_fields, t, locale);
            view! { <li>{text}</li> }
        })
        .collect_view();
    let state = if rule.enabled {
        view! { <span class="badge badge-success">{t.rule_enabled_badge}</span> }
    } else {
        view! { <span class="badge">{t.rule_disabled_badge}</span> }
    };
    view! {
        <div class="rule-card-header">
            <h3 class="rule-name">{rule.name.clone()}</h3>
            {state}
        </div>
        <ul class="rule-clauses">{clauses}</ul>
    }
}

/// Writes a clause as a sentence, such as 賃料：希望条件「予算」 以下.
fn clause_summary(
    clause: &MatchClause,
    listing_fields: &[ListingField],
    profile_fields: &[ListingField],
    t: &Catalogue,
    locale: Locale,
) -> String {
    let listing_field = find_field(listing_fields, &clause.listing_field);
    let field_label = listing_field.map_or_else(
        || clause.listing_field.clone(),
        |field| field.label(locale).to_owned(),
    );
    let operand = match (&clause.profile_field, &clause.value) {
        (Some(name), _) => {
            let label = find_field(profile_fields, name)
                .map_or_else(|| name.clone(), |field| field.label(locale).to_owned());
            (t.rule_operand_profile_summary)(&label)
        }
        (None, Some(value)) => {
            let text = match listing_field {
                // Show chosen options by their labels.
                Some(field) if field.field_type == FieldType::Enum => string_list(value)
                    .iter()
                    .map(|chosen| field.display_value(&serde_json::json!(chosen), locale))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => editable_text(value),
            };
            (t.rule_operand_constant_summary)(&text)
        }
        (None, None) => String::new(),
    };
    (t.rule_clause_summary)(&field_label, clause.operator.label(t), &operand)
}

/// Renders the "notify on change" switch with its explanation.
#[component]
fn NotifySetting(read_only: Signal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let enabled = RwSignal::new(None::<bool>);
    let saving = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);

    spawn_local(async move {
        match fetch_notify_on_change(api).await {
            Ok(value) => {
                enabled.try_set(Some(value));
            }
            Err(fetch_error) => {
                error.try_set(Some(fetch_error));
            }
        }
    });

    let on_change = move |event: leptos::ev::Event| {
        let requested = event_target_checked(&event);
        saving.set(true);
        error.set(None);
        spawn_local(async move {
            match set_notify_on_change(api, requested).await {
                Ok(stored) => enabled.set(Some(stored)),
                Err(save_error) => {
                    // Put the box back to the stored state.
                    enabled.update(|_| {});
                    error.set(Some(save_error));
                }
            }
            saving.set(false);
        });
    };

    view! {
        <div class="card setting-card">
            <label class="check" for="notify-on-change">
                <input
                    id="notify-on-change"
                    type="checkbox"
                    prop:checked=move || enabled.get().unwrap_or(false)
                    disabled=move || read_only.get() || saving.get() || enabled.with(Option::is_none)
                    on:change=on_change
                />
                <span>{move || i18n.t().notify_on_change}</span>
            </label>
            <p class="hint">{move || i18n.t().notify_on_change_hint}</p>
            <ErrorBanner error=error/>
        </div>
    }
}
