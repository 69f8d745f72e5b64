//! `/dashboard/sequences`: step-mail sequences (シナリオ) as timelines of steps, with the
//! members waiting at each step, the next sends, and forms that add sequences and steps.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::model::{
    Sequence, Sequences, UPCOMING_LIMIT, WEEKDAYS, add_step, backfill_step, create_sequence,
    delete_sequence, fetch_sequences, move_step, remove_step, sequence_input, set_time_zone,
    step_input, update_sequence,
};
use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, FormField, RemoteContent, field_error};
use crate::format;
use crate::i18n::use_i18n;
use crate::remote::Remote;
use crate::session::use_session;

/// Renders the time zone, the new-sequence form and one card per sequence. Viewers see the
/// sequences without forms and buttons, because the server lets only owners and admins change
/// them.
#[component]
pub fn SequencesPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());
    let data = Remote::<Sequences>::new();
    let reload = move || data.load(fetch_sequences(api));
    reload();

    let content = move |data: Sequences| {
        let t = i18n.t();
        let cards = if data.sequences.is_empty() {
            view! { <p class="empty">{t.sequences_empty}</p> }.into_any()
        } else {
            data.sequences
                .into_iter()
                .map(|sequence| {
                    view! { <SequenceCard sequence=sequence read_only=read_only on_changed=reload/> }
                })
                .collect_view()
                .into_any()
        };
        view! {
            <Show when=move || !read_only.get()>
                <TimeZoneForm current=data.time_zone.clone() on_saved=reload/>
                <NewSequenceForm on_created=reload/>
            </Show>
            <div id="sequences">{cards}</div>
        }
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().sequences_title}</h1>
                <p class="lead">{move || i18n.t().sequences_lead}</p>
            </header>
            <RemoteContent remote=data render=content/>
        </section>
    }
}

/// Renders the time zone field and its save button.
#[component]
fn TimeZoneForm(
    current: String,
    on_saved: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let name = RwSignal::new(current);
    let save = Action::new_local(move |name: &String| {
        let name = name.clone();
        async move {
            set_time_zone(api, &name).await?;
            on_saved();
            Ok::<_, ApiError>(())
        }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let name_error = field_error(error, &["timeZone"]);
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        save.dispatch_local(name.get_untracked().trim().to_owned());
    };

    view! {
        <form id="time-zone-form" class="card" on:submit=on_submit novalidate=true>
            <div class="form-grid">
                <FormField id="time-zone" label=|t| t.time_zone_label value=name
                    hint=|t| t.time_zone_hint error=name_error/>
            </div>
            <ErrorBanner error=error/>
            <div class="toolbar">
                <span class="toolbar-spacer"></span>
                <button id="time-zone-save" type="submit" class="button-secondary" disabled=move || save.pending().get()>
                    {move || i18n.t().time_zone_save}
                </button>
            </div>
        </form>
    }
}

/// Renders the form that creates a sequence.
#[component]
fn NewSequenceForm(on_created: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let name = RwSignal::new(String::new());
    let trigger = RwSignal::new("signup".to_owned());
    let goal = RwSignal::new(String::new());
    let quiet_start = RwSignal::new("21:00".to_owned());
    let quiet_end = RwSignal::new("08:00".to_owned());
    let use_quiet = RwSignal::new(true);
    let restart = RwSignal::new(false);
    let weekdays: [RwSignal<bool>; 7] = std::array::from_fn(|_| RwSignal::new(true));

    let create = Action::new_local(move |input: &serde_json::Value| {
        let input = input.clone();
        async move {
            create_sequence(api, input).await?;
            name.set(String::new());
            on_created();
            Ok::<_, ApiError>(())
        }
    });
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let name_error = field_error(error, &["name"]);
    let trigger_error = field_error(error, &["triggerEvent"]);
    let goal_error = field_error(error, &["goalEvent"]);
    let quiet_error = field_error(error, &["quietHours.start", "quietHours.end"]);

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let days: Vec<&str> = WEEKDAYS
            .iter()
            .zip(weekdays.iter())
            .filter(|(_, on)| on.get_untracked())
            .map(|(day, _)| *day)
            .collect();
        let start = quiet_start.get_untracked();
        let end = quiet_end.get_untracked();
        let quiet = use_quiet
            .get_untracked()
            .then_some((start.trim(), end.trim()));
        create.dispatch_local(sequence_input(
            name.get_untracked().trim(),
            trigger.get_untracked().trim(),
            goal.get_untracked().trim(),
            quiet,
            &days,
            restart.get_untracked(),
        ));
    };
    let weekday_boxes = move || {
        let names = i18n.t().weekdays;
        WEEKDAYS
            .iter()
            .zip(weekdays)
            .enumerate()
            .map(|(index, (day, on))| {
                view! {
                    <label class="checkbox">
                        <input type="checkbox" id=format!("sequence-weekday-{day}") bind:checked=on/>
                        {names[index]}
                    </label>
                }
            })
            .collect_view()
    };

    view! {
        <form id="sequence-form" class="card" on:submit=on_submit novalidate=true>
            <h2>{move || i18n.t().sequence_new_title}</h2>
            <div class="form-grid">
                <FormField id="sequence-name" label=|t| t.sequence_name value=name error=name_error/>
                <FormField id="sequence-trigger" label=|t| t.sequence_trigger value=trigger
                    hint=|t| t.sequence_trigger_hint error=trigger_error/>
                <FormField id="sequence-goal" label=|t| t.sequence_goal value=goal
                    hint=|t| t.sequence_goal_hint error=goal_error/>
            </div>
            <fieldset class="form-grid">
                <legend>{move || i18n.t().sequence_quiet_hours}</legend>
                <label class="checkbox">
                    <input type="checkbox" id="sequence-quiet" bind:checked=use_quiet/>
                    {move || i18n.t().sequence_quiet_hours_on}
                </label>
                <FormField id="sequence-quiet-start" label=|t| t.sequence_quiet_start value=quiet_start/>
                <FormField id="sequence-quiet-end" label=|t| t.sequence_quiet_end value=quiet_end
                    error=quiet_error/>
            </fieldset>
            <fieldset>
                <legend>{move || i18n.t().sequence_weekdays}</legend>
                {weekday_boxes}
            </fieldset>
            <label class="checkbox">
                <input type="checkbox" id="sequence-restart" bind:checked=restart/>
                {move || i18n.t().sequence_restart}
            </label>
            <ErrorBanner error=error/>
            <div class="toolbar">
                <span class="toolbar-spacer"></span>
                <button id="sequence-create" type="submit" class="button-primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { i18n.t().saving } else { i18n.t().sequence_create }}
                </button>
            </div>
        </form>
    }
}

/// Renders one sequence: settings, counts, the timeline of steps with what can be done to each,
/// the add-step form and the next sends. The card has the class `sequence-card` and the id in
/// `data-id`; each step row has the class `step-row`.
#[component]
fn SequenceCard(
    sequence: Sequence,
    read_only: Signal<bool>,
    on_changed: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let sequence = StoredValue::new(sequence);
    let before = RwSignal::new(None::<(String, String)>);
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);

    let run = move |request: std::pin::Pin<
        Box<dyn Future<Output = Result<Option<String>, ApiError>>>,
    >| {
        error.set(None);
        notice.set(None);
        spawn_local(async move {
            match request.await {
                Ok(message) => {
                    notice.try_set(message);
                    on_changed();
                }
                Err(failure) => {
                    error.try_set(Some(failure));
                }
            }
        });
    };
    let toggle_active = move |_| {
        let (id, input) = sequence.with_value(|s| (s.id.clone(), s.input_with_active(!s.active)));
        run(Box::pin(async move {
            update_sequence(api, &id, input).await.map(|()| None)
        }));
    };
    let delete = move |_| {
        let (id, name) = sequence.with_value(|s| (s.id.clone(), s.name.clone()));
        if !window()
            .confirm_with_message(&(i18n.t().sequence_delete_confirm)(&name))
            .unwrap_or(false)
        {
            return;
        }
        run(Box::pin(async move {
            delete_sequence(api, &id).await.map(|()| None)
        }));
    };
    let remove = move |step_id: String| {
        if !window()
            .confirm_with_message(i18n.t().step_remove_confirm)
            .unwrap_or(false)
        {
            return;
        }
        run(Box::pin(async move {
            remove_step(api, &step_id).await.map(|()| None)
        }));
    };
    let shift = move |step_id: String, before: Option<String>| {
        run(Box::pin(async move {
            move_step(api, &step_id, before.as_deref())
                .await
                .map(|()| None)
        }));
    };
    let backfill = move |step_id: String| {
        error.set(None);
        notice.set(None);
        spawn_local(async move {
            let preview = match backfill_step(api, &step_id, false).await {
                Ok(count) => count,
                Err(failure) => {
                    error.try_set(Some(failure));
                    return;
                }
            };
            let t = i18n.t();
            if preview == 0 {
                notice.try_set(Some(t.step_backfill_none.to_owned()));
                return;
            }
            if !window()
                .confirm_with_message(&(t.step_backfill_confirm)(preview))
                .unwrap_or(false)
            {
                return;
            }
            match backfill_step(api, &step_id, true).await {
                Ok(count) => {
                    notice.try_set(Some((t.step_backfill_done)(count)));
                    on_changed();
                }
                Err(failure) => {
                    error.try_set(Some(failure));
                }
            }
        });
    };

    let header = move || {
        let t = i18n.t();
        sequence.with_value(|s| {
            let quiet = s.quiet_hours.as_ref().map_or_else(
                || t.sequence_no_quiet_hours.to_owned(),
                |q| format!("{}〜{}", q.start, q.end),
            );
            let days: Vec<&str> = WEEKDAYS
                .iter()
                .enumerate()
                .filter(|(_, day)| s.weekdays.iter().any(|w| w == *day))
                .map(|(index, _)| t.weekdays[index])
                .collect();
            let counts = &s.enrollment_counts;
            view! {
                <header class="card-header">
                    <h2>{s.name.clone()}</h2>
                    <span class=if s.active { "badge badge-success" } else { "badge" }>
                        {if s.active { t.sequence_active } else { t.sequence_paused }}
                    </span>
                </header>
                <dl class="facts">
                    <dt>{t.sequence_trigger}</dt><dd class="mono">{s.trigger_event.clone()}</dd>
                    <dt>{t.sequence_goal}</dt>
                    <dd class="mono">{s.goal_event.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                    <dt>{t.sequence_quiet_hours}</dt><dd>{quiet}</dd>
                    <dt>{t.sequence_weekdays}</dt><dd>{days.join(" ")}</dd>
                    <dt>{t.sequence_enrollments}</dt>
                    <dd class="sequence-counts">
                        {(t.sequence_counts)(counts.waiting, counts.finished, counts.ended)}
                    </dd>
                </dl>
            }
        })
    };

    let timeline = move || {
        let t = i18n.t();
        sequence.with_value(|s| {
            if s.steps.is_empty() {
                return view! { <p class="empty">{t.steps_empty}</p> }.into_any();
            }
            let ids: Vec<String> = s.steps.iter().map(|step| step.id.clone()).collect();
            s.steps
                .iter()
                .enumerate()
                .map(|(index, step)| {
                    let id = StoredValue::new(step.id.clone());
                    let subject = step.subject.clone();
                    let waiting = s.waiting_for(&step.id);
                    // Up: before the previous step. Down: before the step after the next, or
                    // to the end.
                    let up = index.checked_sub(1).map(|previous| ids[previous].clone());
                    let down = (index + 1 < ids.len()).then(|| ids.get(index + 2).cloned());
                    view! {
                        <li class="step-row" data-id=step.id.clone()>
                            <span class="step-timing">{step.timing_label(t)}</span>
                            <span class="step-subject">{step.subject.clone()}</span>
                            <span class="step-waiting muted">{(t.step_waiting)(waiting)}</span>
                            {(!read_only.get()).then(|| view! {
                                <span class="step-actions">
                                    {up.clone().map(|before| view! {
                                        <button type="button" class="button-quiet step-move-up"
                                            on:click=move |_| shift(id.get_value(), Some(before.clone()))>
                                            {t.step_move_up}
                                        </button>
                                    })}
                                    {down.clone().map(|before| view! {
                                        <button type="button" class="button-quiet step-move-down"
                                            on:click=move |_| shift(id.get_value(), before.clone())>
                                            {t.step_move_down}
                                        </button>
                                    })}
                                    <button type="button" class="button-quiet step-insert-before"
                                        on:click=move |_| before.set(Some((id.get_value(), subject.clone())))>
                                        {t.step_insert_before}
                                    </button>
                                    <button type="button" class="button-quiet step-backfill"
                                        on:click=move |_| backfill(id.get_value())>
                                        {t.step_backfill}
                                    </button>
                                    <button type="button" class="button-danger-quiet step-remove"
                                        on:click=move |_| remove(id.get_value())>
                                        {t.step_remove}
                                    </button>
                                </span>
                            })}
                        </li>
                    }
                })
                .collect_view()
                .into_any()
        })
    };

    let upcoming = move || {
        let t = i18n.t();
        let locale = i18n.locale();
        sequence.with_value(|s| {
            let rows: Vec<_> = s
                .enrollments
                .iter()
                .filter(|e| e.state == "ACTIVE")
                .filter_map(|e| e.next_due_at.as_ref().map(|due| (e.member_id.clone(), due.clone())))
                .take(UPCOMING_LIMIT)
                .collect();
            if rows.is_empty() {
                return None;
            }
            let rows = rows
                .into_iter()
                .map(|(member, due)| view! {
                    <tr class="upcoming-row">
                        <td class="nowrap">{format::timestamp(&due, locale)}</td>
                        <td><a href=format!("/dashboard/members/{member}")>{t.sequence_member_link}</a></td>
                    </tr>
                })
                .collect_view();
            Some(view! {
                <h3>{t.sequence_upcoming}</h3>
                <table class="data-table">
                    <thead><tr>
                        <th scope="col">{t.sequence_due_at}</th>
                        <th scope="col">{t.sequence_member}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            })
        })
    };

    let card_id = sequence.with_value(|s| s.id.clone());
    let card_id_for_history = card_id.clone();
    view! {
        <article class="card sequence-card" data-id=card_id>
            {header}
            <ol class="timeline">{timeline}</ol>
            <ErrorBanner error=error/>
            {move || notice.get().map(|message| view! {
                <p class="notice success sequence-notice" role="status">{message}</p>
            })}
            <Show when=move || !read_only.get() && sequence.with_value(|s| s.steps.len() > 1)>
                <p class="hint step-move-note">{move || i18n.t().step_move_note}</p>
            </Show>
            <Show when=move || !read_only.get()>
                <AddStepForm sequence_id=sequence.with_value(|s| s.id.clone()) before=before on_added=on_changed/>
                <div class="toolbar">
                    <button type="button" class="button-secondary sequence-toggle" on:click=toggle_active>
                        {move || if sequence.with_value(|s| s.active) { i18n.t().sequence_pause } else { i18n.t().sequence_resume }}
                    </button>
                    <span class="toolbar-spacer"></span>
                    <button type="button" class="button-danger-quiet sequence-delete" on:click=delete>
                        {move || i18n.t().sequence_delete}
                    </button>
                </div>
            </Show>
            {upcoming}
            <p>
                <a class="sequence-history" href=format!("/dashboard/deliveries?sequence={card_id_for_history}")>
                    {move || i18n.t().sequence_history}
                </a>
            </p>
        </article>
    }
}

/// Renders the form that adds a step at the end, or before the step chosen with "insert
/// before".
#[component]
fn AddStepForm(
    sequence_id: String,
    before: RwSignal<Option<(String, String)>>,
    on_added: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let sequence_id = StoredValue::new(sequence_id);
    let after_previous = RwSignal::new(false);
    let days = RwSignal::new("1".to_owned());
    let at = RwSignal::new("10:00".to_owned());
    let delay = RwSignal::new("60".to_owned());
    let subject = RwSignal::new(String::new());
    let text = RwSignal::new(i18n.t().mail_default_text.to_owned());

    let add = Action::new_local(
        move |(input, before_id): &(serde_json::Value, Option<String>)| {
            let input = input.clone();
            let before_id = before_id.clone();
            let id = sequence_id.get_value();
            async move {
                add_step(api, &id, input, before_id).await?;
                subject.set(String::new());
                text.set(i18n.t().mail_default_text.to_owned());
                before.set(None);
                on_added();
                Ok::<_, ApiError>(())
            }
        },
    );
    let error = Signal::derive(move || add.value().get().and_then(Result::err));
    let days_error = field_error(error, &["days"]);
    let at_error = field_error(error, &["at"]);
    let delay_error = field_error(error, &["delayMinutes"]);
    let subject_error = field_error(error, &["subject"]);
    let text_error = field_error(error, &["text"]);

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let input = step_input(
            after_previous.get_untracked(),
            &days.get_untracked(),
            &at.get_untracked(),
            &delay.get_untracked(),
            &subject.get_untracked(),
            &text.get_untracked(),
        );
        add.dispatch_local((input, before.get_untracked().map(|(id, _)| id)));
    };
    let form_id = move || format!("step-form-{}", sequence_id.get_value());

    view! {
        <form class="step-form" id=form_id on:submit=on_submit novalidate=true>
            <h3>
                {move || match before.get() {
                    Some((_, subject)) => (i18n.t().step_add_before_title)(&subject),
                    None => i18n.t().step_add_title.to_owned(),
                }}
            </h3>
            <Show when=move || before.with(Option::is_some)>
                <button type="button" class="button-quiet" on:click=move |_| before.set(None)>
                    {move || i18n.t().step_add_at_end}
                </button>
            </Show>
            <label class="checkbox">
                <input type="checkbox" class="step-after-previous" bind:checked=after_previous/>
                {move || i18n.t().step_after_previous_mode}
            </label>
            <div class="form-grid">
                <Show
                    when=move || after_previous.get()
                    fallback=move || view! {
                        <StepField name="days" label=|t| t.step_days value=days
                            input_type="number" form_id=form_id() error=days_error/>
                        <StepField name="at" label=|t| t.step_at value=at
                            form_id=form_id() error=at_error/>
                    }
                >
                    <StepField name="delay" label=|t| t.step_delay value=delay
                        input_type="number" form_id=form_id() error=delay_error/>
                </Show>
                <StepField name="subject" label=|t| t.step_subject value=subject
                    form_id=form_id() error=subject_error/>
            </div>
            <label for=move || format!("{}-text", form_id())>{move || i18n.t().step_text}</label>
            <textarea id=move || format!("{}-text", form_id()) class="step-text" rows="6" bind:value=text></textarea>
            <p class="hint">{move || i18n.t().step_text_hint}</p>
            {move || text_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
            <ErrorBanner error=error/>
            <div class="toolbar">
                <span class="toolbar-spacer"></span>
                <button type="submit" class="button-primary step-add" disabled=move || add.pending().get()>
                    {move || if add.pending().get() { i18n.t().saving } else { i18n.t().step_add }}
                </button>
            </div>
        </form>
    }
}

/// Renders a labelled input of the add-step form. Each card has its own form, so the input's
/// id is `{form_id}-{name}` and its class `step-{name}`.
#[component]
fn StepField(
    name: &'static str,
    label: crate::i18n::Text,
    value: RwSignal<String>,
    form_id: String,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = format!("{form_id}-{name}");
    view! {
        <div class="field">
            <label for=id.clone()>{move || label(i18n.t())}</label>
            <input id=id class=format!("step-{name}") type=input_type bind:value=value
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }/>
            {move || error.get().map(|message| view! { <p class="field-error">{message}</p> })}
        </div>
    }
}
