//! `/dashboard/broadcasts`: the form that schedules a mail to every subscribed member, and the
//! list of broadcasts with their state and the number of members each went to.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::model::{
    Broadcast, BroadcastState, Broadcasts, cancel_broadcast, fetch_broadcasts, schedule_broadcast,
};
use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, FormField, RemoteContent, field_error};
use crate::i18n::use_i18n;
use crate::remote::Remote;
use crate::session::use_session;

/// Renders the schedule form (not for viewers) and the list of broadcasts.
#[component]
pub fn BroadcastsPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());
    let data = Remote::<Broadcasts>::new();
    let reload = move || data.load(fetch_broadcasts(api));
    reload();

    let content = move |data: Broadcasts| {
        let zone = data.time_zone.clone();
        view! {
            <Show when=move || !read_only.get()>
                <ScheduleForm time_zone=zone.clone() on_scheduled=reload/>
            </Show>
            <BroadcastTable rows=data.broadcasts.clone() time_zone=data.time_zone.clone()
                read_only=read_only on_changed=reload/>
        }
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().broadcasts_title}</h1>
                <p class="lead">{move || i18n.t().broadcasts_lead}</p>
            </header>
            <RemoteContent remote=data render=content/>
        </section>
    }
}

/// Renders the subject, body and local send time of a new broadcast.
#[component]
fn ScheduleForm(
    time_zone: String,
    on_scheduled: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let subject = RwSignal::new(String::new());
    let text = RwSignal::new(i18n.t().mail_default_text.to_owned());
    let send_at = RwSignal::new(String::new());

    let schedule = Action::new_local(
        move |(subject_text, body, when): &(String, String, String)| {
            let (subject_text, body, when) = (subject_text.clone(), body.clone(), when.clone());
            async move {
                schedule_broadcast(api, &subject_text, &body, &when).await?;
                subject.set(String::new());
                send_at.set(String::new());
                on_scheduled();
                Ok::<_, ApiError>(())
            }
        },
    );
    let pending = schedule.pending();
    let error = Signal::derive(move || schedule.value().get().and_then(Result::err));
    let scheduled = move || matches!(schedule.value().get(), Some(Ok(())));
    let subject_error = field_error(error, &["subject"]);
    let text_error = field_error(error, &["text"]);
    let send_at_error = field_error(error, &["localSendAt", "sendAt"]);

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        schedule.dispatch_local((
            subject.get_untracked(),
            text.get_untracked(),
            send_at.get_untracked(),
        ));
    };

    view! {
        <form id="broadcast-form" class="card" on:submit=on_submit novalidate=true>
            <h2>{move || i18n.t().broadcast_new_title}</h2>
            <FormField id="broadcast-subject" label=|t| t.mail_subject value=subject error=subject_error/>
            <div class="field" class:invalid=move || text_error.with(Option::is_some)>
                <label for="broadcast-text">{move || i18n.t().template_text}</label>
                <textarea id="broadcast-text" rows="8" prop:value=move || text.get()
                    on:input=move |event| text.set(event_target_value(&event))></textarea>
                <p class="hint">{move || i18n.t().broadcast_text_hint}</p>
                {move || text_error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            </div>
            <div class="field" class:invalid=move || send_at_error.with(Option::is_some)>
                <label for="broadcast-send-at">{move || (i18n.t().broadcast_send_at)(&time_zone)}</label>
                <input id="broadcast-send-at" type="datetime-local" prop:value=move || send_at.get()
                    on:input=move |event| send_at.set(event_target_value(&event))/>
                {move || send_at_error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            </div>
            <ErrorBanner error=Signal::derive(move || {
                error.get().filter(|failure| {
                    failure.message_for_field(&["subject", "text", "localSendAt", "sendAt"]).is_none()
                })
            })/>
            <Show when=scheduled>
                <p id="broadcast-scheduled" class="notice success" role="status">{move || i18n.t().broadcast_scheduled}</p>
            </Show>
            <div class="toolbar">
                <span class="toolbar-spacer"></span>
                <button id="broadcast-submit" type="submit" class="button-primary" disabled=move || pending.get()>
                    {move || if pending.get() { i18n.t().saving } else { i18n.t().broadcast_schedule }}
                </button>
            </div>
        </form>
    }
}

/// Renders the broadcasts. Rows have the class `broadcast-row` and the state in `data-state`.
#[component]
fn BroadcastTable(
    rows: Vec<Broadcast>,
    time_zone: String,
    read_only: Signal<bool>,
    on_changed: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let cancel_error = RwSignal::new(None::<ApiError>);
    let cancel = move |id: String| {
        if !window()
            .confirm_with_message(i18n.t().broadcast_cancel_confirm)
            .unwrap_or(false)
        {
            return;
        }
        cancel_error.set(None);
        spawn_local(async move {
            match cancel_broadcast(api, &id).await {
                Ok(()) => on_changed(),
                Err(error) => {
                    cancel_error.try_set(Some(error));
                }
            }
        });
    };

    let body = move || {
        let t = i18n.t();
        if rows.is_empty() {
            return view! { <p class="empty">{t.broadcasts_empty}</p> }.into_any();
        }
        let table_rows = rows
            .iter()
            .map(|row| {
                let id = StoredValue::new(row.id.clone());
                let cancellable = row.state == BroadcastState::Scheduled && !read_only.get();
                let sent = row.state == BroadcastState::Queued;
                let history = format!("/dashboard/deliveries?broadcast={}", row.id);
                let state_name = format!("{:?}", row.state).to_uppercase();
                view! {
                    <tr class="broadcast-row" data-state=state_name>
                        <td class="nowrap">{row.local_time_text()}</td>
                        <td>{row.subject.clone()}</td>
                        <td><span class=row.state.badge_class()>{row.state.label(t)}</span></td>
                        <td class="numeric">{row.recipient_count.map_or_else(|| "—".to_owned(), |count| count.to_string())}</td>
                        <td>
                            {sent.then(|| view! {
                                <a class="broadcast-deliveries" href=history.clone()>{t.broadcast_deliveries}</a>
                            })}
                            {cancellable.then(|| view! {
                                <button type="button" class="button-danger-quiet broadcast-cancel"
                                    on:click=move |_| cancel(id.get_value())>
                                    {t.broadcast_cancel}
                                </button>
                            })}
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <p class="muted">{(t.broadcasts_zone_note)(&time_zone)}</p>
            <div class="table-scroll">
                <table class="data-table">
                    <thead><tr>
                        <th scope="col">{t.broadcast_send_time}</th>
                        <th scope="col">{t.mail_subject}</th>
                        <th scope="col">{t.broadcast_state}</th>
                        <th scope="col">{t.broadcast_recipients}</th>
                        <th scope="col"></th>
                    </tr></thead>
                    <tbody>{table_rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };

    view! {
        <div class="card">
            <ErrorBanner error=Signal::derive(move || cancel_error.get())/>
            {body}
        </div>
    }
}
