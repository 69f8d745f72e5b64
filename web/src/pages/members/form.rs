//! The form of a member: address, language, mail frequency and one input per profile field.

use leptos::prelude::*;

use super::draft::MemberDraft;
use super::model::{Frequency, MemberInput};
use crate::api::ApiError;
use crate::components::{ErrorBanner, field_error};
use crate::i18n::{Catalogue, Locale, use_i18n};
use crate::listing_schema::{FieldType, ListingField};

/// Renders the form of `initial`. Submitting calls `on_submit` with the `MemberInput`; the
/// caller sends it and passes back `pending` and `error`. Viewers see every input disabled and
/// no submit button.
#[component]
pub fn MemberForm(
    fields: Vec<ListingField>,
    initial: MemberDraft,
    read_only: Signal<bool>,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] error: Signal<Option<ApiError>>,
    submit_label: fn(&Catalogue) -> &'static str,
    on_submit: impl Fn(MemberInput) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let fields = StoredValue::new(fields);
    let draft = RwSignal::new(initial);
    let email_error = field_error(error, &["email"]);
    let hour_error = field_error(error, &["digestHour"]);
    let weekday_error = field_error(error, &["digestWeekday"]);

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() || read_only.get_untracked() {
            return;
        }
        let input =
            draft.with_untracked(|draft| fields.with_value(|fields| draft.to_input(fields)));
        on_submit(input);
    };
    // Memos, so that typing in one input does not rebuild the options of the others.
    let frequency = Memo::new(move |_| draft.with(|draft| draft.frequency));
    let locale = Memo::new(move |_| draft.with(|draft| draft.locale));
    let digest_hour = Memo::new(move |_| draft.with(|draft| draft.digest_hour));
    let digest_weekday = Memo::new(move |_| draft.with(|draft| draft.digest_weekday));

    let locale_select = move || {
        let t = i18n.t();
        let selected = locale.get();
        let options = [
            (None, t.member_locale_default),
            (Some(Locale::Ja), t.language_ja),
            (Some(Locale::En), t.language_en),
        ];
        options
            .into_iter()
            .map(|(locale, label)| {
                let value = locale.map_or("", Locale::graphql_enum);
                view! { <option value=value selected=selected == locale>{label}</option> }
            })
            .collect_view()
    };
    let frequency_options = move || {
        let t = i18n.t();
        let selected = frequency.get();
        Frequency::ALL
            .into_iter()
            .map(|option| {
                view! {
                    <option value=option.graphql_name() selected=option == selected>
                        {option.label(t)}
                    </option>
                }
            })
            .collect_view()
    };
    let hour_options = move || {
        let selected = digest_hour.get();
        (0..24_u8)
            .map(|hour| {
                view! { <option value=hour.to_string() selected=hour == selected>{format!("{hour}:00")}</option> }
            })
            .collect_view()
    };
    let weekday_options = move || {
        let t = i18n.t();
        let selected = digest_weekday.get();
        t.weekdays
            .iter()
            .zip(0_u8..)
            .map(|(label, day)| {
                view! { <option value=day.to_string() selected=day == selected>{*label}</option> }
            })
            .collect_view()
    };
    let profile_inputs = fields.with_value(|fields| {
        fields
            .iter()
            .cloned()
            .map(|field| view! { <ProfileInput field=field draft=draft read_only=read_only error=error/> })
            .collect_view()
    });
    let has_profile_fields = fields.with_value(|fields| !fields.is_empty());

    view! {
        <form id="member-form" class="card member-form" on:submit=submit novalidate=true>
            <div class="field" class:invalid=move || email_error.with(Option::is_some)>
                <label for="member-email">{move || i18n.t().email_label}</label>
                <input
                    id="member-email"
                    type="email"
                    autocomplete="off"
                    disabled=move || read_only.get()
                    prop:value=move || draft.with(|draft| draft.email.clone())
                    on:input=move |event| {
                        let value = event_target_value(&event);
                        draft.update(|draft| draft.email = value);
                    }
                />
                {move || email_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
            </div>
            <div class="form-grid">
                <div class="field">
                    <label for="member-locale">{move || i18n.t().member_locale}</label>
                    <select
                        id="member-locale"
                        disabled=move || read_only.get()
                        on:change=move |event| {
                            let locale = Locale::from_graphql_enum(&event_target_value(&event));
                            draft.update(|draft| draft.locale = locale);
                        }
                    >
                        {locale_select}
                    </select>
                </div>
                <div class="field">
                    <label for="member-frequency">{move || i18n.t().member_frequency}</label>
                    <select
                        id="member-frequency"
                        disabled=move || read_only.get()
                        on:change=move |event| {
                            if let Some(chosen) = Frequency::from_graphql_name(&event_target_value(&event)) {
                                draft.update(|draft| draft.frequency = chosen);
                            }
                        }
                    >
                        {frequency_options}
                    </select>
                </div>
                <Show when=move || frequency.get() != Frequency::Instant>
                    <div class="field" class:invalid=move || hour_error.with(Option::is_some)>
                        <label for="member-digest-hour">{move || i18n.t().member_digest_hour}</label>
                        <select
                            id="member-digest-hour"
                            disabled=move || read_only.get()
                            on:change=move |event| {
                                if let Ok(hour) = event_target_value(&event).parse::<u8>() {
                                    draft.update(|draft| draft.digest_hour = hour);
                                }
                            }
                        >
                            {hour_options}
                        </select>
                        {move || hour_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
                    </div>
                </Show>
                <Show when=move || frequency.get() == Frequency::Weekly>
                    <div class="field" class:invalid=move || weekday_error.with(Option::is_some)>
                        <label for="member-digest-weekday">{move || i18n.t().member_digest_weekday}</label>
                        <select
                            id="member-digest-weekday"
                            disabled=move || read_only.get()
                            on:change=move |event| {
                                if let Ok(day) = event_target_value(&event).parse::<u8>() {
                                    draft.update(|draft| draft.digest_weekday = day);
                                }
                            }
                        >
                            {weekday_options}
                        </select>
                        {move || weekday_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
                    </div>
                </Show>
            </div>
            <p class="hint">{move || i18n.t().member_frequency_hint}</p>
            <h2>{move || i18n.t().member_profile}</h2>
            {(!has_profile_fields).then(|| view! { <p class="empty">{move || i18n.t().member_no_profile_fields}</p> })}
            {profile_inputs}
            <ErrorBanner error=error/>
            <Show when=move || !read_only.get()>
                <div class="toolbar">
                    <span class="toolbar-spacer"></span>
                    <button
                        id="member-save"
                        type="submit"
                        class="button-primary"
                        disabled=move || pending.get()
                    >
                        {move || if pending.get() { i18n.t().saving } else { submit_label(i18n.t()) }}
                    </button>
                </div>
            </Show>
        </form>
    }
}

/// Renders the input of one profile field: checkboxes for a choice field, whose options a
/// member may pick several of, and a text input with a hint on the accepted forms otherwise.
/// Ids: `member-profile-{name}`, and `member-profile-{name}-option-{index}` for choices.
#[component]
fn ProfileInput(
    field: ListingField,
    draft: RwSignal<MemberDraft>,
    read_only: Signal<bool>,
    error: Signal<Option<ApiError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let name = field.name.clone();
    let input_id = format!("member-profile-{name}");
    let message = {
        let name = name.clone();
        Signal::derive(move || {
            error.with(|error| {
                error
                    .as_ref()
                    .and_then(|error| error.message_for_field(&[name.as_str()]))
            })
        })
    };
    let field = StoredValue::new(field);
    let label = move || field.with_value(|field| field.label(i18n.locale()).to_owned());
    let required = field.with_value(|field| field.required);

    if field.with_value(|field| field.field_type == FieldType::Enum) {
        let boxes = move || {
            let locale = i18n.locale();
            field.with_value(|field| {
                field
                    .options
                    .iter()
                    .enumerate()
                    .map(|(index, option)| {
                        let box_id = format!("member-profile-{}-option-{index}", field.name);
                        let label_for = box_id.clone();
                        let name = StoredValue::new(field.name.clone());
                        let value = StoredValue::new(option.value.clone());
                        let checked = move || {
                            draft.with(|draft| {
                                name.with_value(|name| {
                                    value.with_value(|value| {
                                        draft
                                            .choices
                                            .get(name)
                                            .is_some_and(|chosen| chosen.contains(value))
                                    })
                                })
                            })
                        };
                        view! {
                            <label class="check" for=label_for>
                                <input
                                    id=box_id
                                    type="checkbox"
                                    prop:checked=checked
                                    disabled=move || read_only.get()
                                    on:change=move |event| {
                                        let checked = event_target_checked(&event);
                                        let (name, value) = (name.get_value(), value.get_value());
                                        draft.update(|draft| {
                                            let chosen = draft.choices.entry(name).or_default();
                                            chosen.retain(|item| *item != value);
                                            if checked {
                                                chosen.push(value);
                                            }
                                        });
                                    }
                                />
                                <span>{option.label(locale).to_owned()}</span>
                            </label>
                        }
                    })
                    .collect_view()
            })
        };
        view! {
            <fieldset id=input_id class="field profile-choices">
                <legend>{label}{required.then_some(" *")}</legend>
                <div class="check-list check-list-inline">{boxes}</div>
                <p class="hint">{move || i18n.t().member_choices_hint}</p>
                {move || message.get().map(|message| view! { <p class="field-error">{message}</p> })}
            </fieldset>
        }
        .into_any()
    } else {
        let field_type = field.with_value(|field| field.field_type);
        let input_type = if field_type == FieldType::Date {
            "date"
        } else {
            "text"
        };
        let text = {
            let name = name.clone();
            move || draft.with(|draft| draft.texts.get(&name).cloned().unwrap_or_default())
        };
        let hint = move || profile_hint(field_type, i18n.t());
        view! {
            <div class="field" class:invalid=move || message.with(Option::is_some)>
                <label for=input_id.clone()>{label}{required.then_some(" *")}</label>
                <input
                    id=input_id.clone()
                    type=input_type
                    autocomplete="off"
                    disabled=move || read_only.get()
                    prop:value=text
                    on:input=move |event| {
                        let value = event_target_value(&event);
                        let name = name.clone();
                        draft.update(|draft| {
                            draft.texts.insert(name, value);
                        });
                    }
                />
                {move || hint().map(|hint| view! { <p class="hint">{hint}</p> })}
                {move || message.get().map(|message| view! { <p class="field-error">{message}</p> })}
            </div>
        }
        .into_any()
    }
}

/// Returns the hint on the forms a profile value of `field_type` takes, if it needs one.
fn profile_hint(field_type: FieldType, t: &Catalogue) -> Option<&'static str> {
    match field_type {
        FieldType::Number => Some(t.member_number_hint),
        FieldType::Tags => Some(t.member_tags_hint),
        FieldType::GeoPoint => Some(t.member_circle_hint),
        FieldType::Text | FieldType::Enum | FieldType::Date => None,
    }
}
