//! One sender in the list: its settings, its pause, and the buttons that check, test,
//! activate, edit and delete it.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::model::{
    RateLimits, Sender, SenderCheck, SenderKind, activate_sender, check_sender, delete_sender,
    send_test_mail,
};
use crate::api::{ApiError, use_api};
use crate::components::{CopyButton, ErrorBanner};
use crate::format;
use crate::i18n::{Catalogue, Locale, use_i18n};
use crate::session::use_session;

/// The outcome of the last check or test mail of one sender.
#[derive(Clone, Debug, PartialEq)]
pub enum CardResult {
    Check(SenderCheck),
    Failed(ApiError),
}

/// The state of the sender cards that must outlive a reload of the list, which rebuilds the
/// cards. Results and addresses are keyed by sender id.
#[derive(Clone, Copy, Debug)]
pub struct CardStates {
    pub results: RwSignal<HashMap<String, CardResult>>,
    pub test_addresses: RwSignal<HashMap<String, String>>,
    /// The id of the sender that a request is running for.
    pub busy: RwSignal<Option<String>>,
    /// The error of the last activation or deletion, shown above the list.
    pub list_error: RwSignal<Option<ApiError>>,
}

impl CardStates {
    pub fn new() -> Self {
        Self {
            results: RwSignal::new(HashMap::new()),
            test_addresses: RwSignal::new(HashMap::new()),
            busy: RwSignal::new(None),
            list_error: RwSignal::new(None),
        }
    }
}

/// A request started from a card's buttons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CardRequest {
    Check,
    TestMail,
    Activate,
    Deactivate,
    Delete,
}

/// Renders the card of `sender`, the `index`-th in the list. Ids end in `-{index}`:
/// `sender-{index}`, `sender-check-{index}`, `sender-test-to-{index}`, `sender-test-send-{index}`,
/// `sender-activate-{index}`, `sender-edit-{index}`, `sender-delete-{index}` and
/// `sender-result-{index}`; the active sender's card also has `sender-deactivate`.
#[component]
pub fn SenderCard(
    sender: Sender,
    index: usize,
    states: CardStates,
    read_only: Signal<bool>,
    /// Whether the form is open, which disables editing another sender.
    form_open: Signal<bool>,
    on_edit: impl Fn(Sender) + Copy + Send + Sync + 'static,
    on_changed: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let id = StoredValue::new(sender.id.clone());
    let sender = StoredValue::new(sender);
    let is_active = sender.with_value(|sender| sender.active);

    let default_address = move || session.with_operator(|operator| operator.email.clone());
    let test_to = Signal::derive(move || {
        let stored = states
            .test_addresses
            .with(|addresses| id.with_value(|id| addresses.get(id).cloned()));
        stored.unwrap_or_else(default_address)
    });
    let is_busy = Signal::derive(move || {
        states
            .busy
            .with(|busy| id.with_value(|id| busy.as_ref() == Some(id)))
    });
    let running = RwSignal::new(None::<CardRequest>);

    let run = move |request: CardRequest| {
        if request == CardRequest::Delete {
            let question =
                sender.with_value(|sender| (i18n.t().sender_delete_confirm)(&sender.name));
            if !window().confirm_with_message(&question).unwrap_or(false) {
                return;
            }
        }
        let sender_id = id.get_value();
        let to = test_to.get_untracked();
        states.busy.set(Some(sender_id.clone()));
        states.list_error.set(None);
        running.set(Some(request));
        spawn_local(async move {
            match request {
                CardRequest::Check | CardRequest::TestMail => {
                    let result = if request == CardRequest::Check {
                        check_sender(api, &sender_id).await
                    } else {
                        send_test_mail(api, &sender_id, to.trim()).await
                    };
                    let passed_check =
                        request == CardRequest::Check && matches!(&result, Ok(check) if check.ok);
                    let shown = match result {
                        Ok(check) => CardResult::Check(check),
                        Err(error) => CardResult::Failed(error),
                    };
                    states.results.update(|results| {
                        results.insert(sender_id.clone(), shown);
                    });
                    // A passed check lifts a pause, which the list shows.
                    if passed_check {
                        on_changed();
                    }
                }
                CardRequest::Activate | CardRequest::Deactivate | CardRequest::Delete => {
                    let result = match request {
                        CardRequest::Activate => activate_sender(api, Some(&sender_id)).await,
                        CardRequest::Deactivate => activate_sender(api, None).await,
                        _ => delete_sender(api, &sender_id).await,
                    };
                    match result {
                        Ok(()) => on_changed(),
                        Err(error) => states.list_error.set(Some(error)),
                    }
                }
            }
            states.busy.set(None);
            running.try_set(None);
        });
    };
    let busy_label = move |request: CardRequest, idle: fn(&Catalogue) -> &'static str| {
        move || {
            let t = i18n.t();
            if running.get() == Some(request) {
                t.sender_working
            } else {
                idle(t)
            }
        }
    };

    let details = move || {
        let locale = i18n.locale();
        sender.with_value(|sender| render_details(sender, locale))
    };
    let pause = move || {
        let t = i18n.t();
        let locale = i18n.locale();
        sender.with_value(|sender| {
            sender.paused.as_ref().map(|paused| {
                view! {
                    <div id=format!("sender-paused-{index}") class="error sender-paused" role="alert">
                        <p><strong>{(t.sender_paused_title)(&format::timestamp(&paused.at, locale))}</strong></p>
                        <p class="sender-paused-message">{paused.message.clone()}</p>
                        <p>{t.sender_paused_next}</p>
                    </div>
                }
            })
        })
    };
    let webhook = move || {
        sender.with_value(|sender| {
            sender.mailgun.as_ref().map(|mailgun| {
                let url = mailgun.webhook_url.clone();
                view! {
                    <div class="webhook-line">
                        <span class="muted small">{move || i18n.t().mailgun_webhook_url}</span>
                        <code class="mono">{url.clone()}</code>
                        <CopyButton text=url/>
                    </div>
                }
            })
        })
    };
    let result = move || {
        let shown = states
            .results
            .with(|results| id.with_value(|id| results.get(id).cloned()))?;
        let view = match shown {
            CardResult::Check(check) if check.ok => view! {
                <p id=format!("sender-result-{index}") class="notice success" role="status" data-ok="true">
                    {check.message}
                </p>
            }
            .into_any(),
            CardResult::Check(check) => view! {
                <div id=format!("sender-result-{index}") class="error" role="alert" data-ok="false">
                    <p>{check.message}</p>
                </div>
            }
            .into_any(),
            CardResult::Failed(error) => view! {
                <div id=format!("sender-result-{index}") data-ok="false">
                    <ErrorBanner error=Signal::derive(move || Some(error.clone()))/>
                </div>
            }
            .into_any(),
        };
        Some(view)
    };
    let controls = move || {
        (!read_only.get()).then(|| {
            view! {
                <div class="toolbar sender-actions">
                    <button id=format!("sender-check-{index}") type="button" class="button-quiet"
                        disabled=is_busy on:click=move |_| run(CardRequest::Check)>
                        {busy_label(CardRequest::Check, |t| t.sender_check)}
                    </button>
                    {if is_active {
                        view! {
                            <button id="sender-deactivate" type="button" class="button-quiet"
                                disabled=is_busy on:click=move |_| run(CardRequest::Deactivate)>
                                {busy_label(CardRequest::Deactivate, |t| t.sender_deactivate)}
                            </button>
                        }
                        .into_any()
                    } else {
                        view! {
                            <button id=format!("sender-activate-{index}") type="button" class="button-primary"
                                disabled=is_busy on:click=move |_| run(CardRequest::Activate)>
                                {busy_label(CardRequest::Activate, |t| t.sender_activate)}
                            </button>
                        }
                        .into_any()
                    }}
                    <span class="toolbar-spacer"></span>
                    <button id=format!("sender-edit-{index}") type="button" class="button-quiet"
                        disabled=move || form_open.get() || is_busy.get()
                        on:click=move |_| on_edit(sender.get_value())>
                        {move || i18n.t().edit}
                    </button>
                    <button id=format!("sender-delete-{index}") type="button" class="button-danger-quiet"
                        disabled=is_busy on:click=move |_| run(CardRequest::Delete)>
                        {busy_label(CardRequest::Delete, |t| t.remove)}
                    </button>
                </div>
                <form class="test-mail-line" on:submit=move |event: leptos::ev::SubmitEvent| {
                    event.prevent_default();
                    if !is_busy.get_untracked() {
                        run(CardRequest::TestMail);
                    }
                }>
                    <label for=format!("sender-test-to-{index}")>{move || i18n.t().sender_test_to}</label>
                    <div class="secret-line">
                        <input
                            id=format!("sender-test-to-{index}")
                            type="email"
                            autocomplete="off"
                            prop:value=test_to
                            on:input=move |event| {
                                let value = event_target_value(&event);
                                states.test_addresses.update(|addresses| {
                                    addresses.insert(id.get_value(), value);
                                });
                            }
                        />
                        <button id=format!("sender-test-send-{index}") type="submit" class="button-quiet"
                            disabled=is_busy>
                            {busy_label(CardRequest::TestMail, |t| t.sender_send_test)}
                        </button>
                    </div>
                    <p class="hint">{move || i18n.t().sender_test_hint}</p>
                </form>
            }
        })
    };
    let header = move || {
        let t = i18n.t();
        sender.with_value(|sender| {
            let active = sender.active.then(|| {
                view! { <span class="badge badge-success sender-active-badge">{t.sender_active_badge}</span> }
            });
            let paused = sender
                .paused
                .is_some()
                .then(|| view! { <span class="badge badge-danger">{t.sender_paused_badge}</span> });
            view! {
                <div class="rule-card-header">
                    <h3 class="sender-name">{sender.name.clone()}</h3>
                    <span class="badges">
                        <span class="badge">{sender.kind.label(t)}</span>
                        {active}
                        {paused}
                    </span>
                </div>
            }
        })
    };

    view! {
        <li
            id=format!("sender-{index}")
            class="card sender-card"
            class:sender-card-active=is_active
            data-id=id.get_value()
            data-active=if is_active { "true" } else { "false" }
        >
            {header}
            {details}
            {webhook}
            {pause}
            {controls}
            {result}
        </li>
    }
}

/// Renders the From line, the server and the rate limits of `sender`.
fn render_details(sender: &Sender, locale: Locale) -> impl IntoView + use<> {
    let t = locale.catalogue();
    let from = if sender.from_name.is_empty() {
        sender.from_address.clone()
    } else {
        format!("{} <{}>", sender.from_name, sender.from_address)
    };
    let server = match (&sender.kind, &sender.smtp, &sender.mailgun) {
        (SenderKind::Smtp, Some(smtp), _) => (t.sender_smtp_server)(
            &format!("{}:{}", smtp.host, smtp.port),
            smtp.tls.label(t),
            &smtp.username,
        ),
        (SenderKind::Mailgun, _, Some(mailgun)) => {
            (t.sender_mailgun_server)(&mailgun.domain, mailgun.region.label(t))
        }
        _ => t.import_status_unknown.to_owned(),
    };
    view! {
        <dl class="detail-list">
            <dt>{t.sender_from}</dt>
            <dd class="sender-from">{from}</dd>
            <dt>{t.sender_server}</dt>
            <dd class="sender-server">{server}</dd>
            <dt>{t.sender_limits}</dt>
            <dd class="sender-limits">{limits_text(sender.limits, locale)}</dd>
            <dt>{t.created_at}</dt>
            <dd>{format::timestamp(&sender.created_at, locale)}</dd>
        </dl>
    }
}

/// Writes the three limits on one line, such as "1分あたり 上限なし · 1時間あたり 100通 ·
/// 1日あたり 1,000通".
fn limits_text(limits: RateLimits, locale: Locale) -> String {
    let t = locale.catalogue();
    let value = |limit: Option<i64>| match limit {
        Some(count) => (t.limit_count)(&format::number(count as f64, locale)),
        None => t.limit_unlimited.to_owned(),
    };
    [
        (t.limit_per_minute, limits.per_minute),
        (t.limit_per_hour, limits.per_hour),
        (t.limit_per_day, limits.per_day),
    ]
    .into_iter()
    .map(|(label, limit)| format!("{label} {}", value(limit)))
    .collect::<Vec<_>>()
    .join(" · ")
}
