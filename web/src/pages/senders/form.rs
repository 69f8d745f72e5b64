//! The form that adds a sender or changes one: From address, SMTP or Mailgun settings and
//! rate limits. Saving makes the server connect and log in first.

use leptos::prelude::*;

use super::draft::{DraftError, SenderDraft};
use super::model::{
    MailgunRegion, RateLimitPreset, SENDER_CHECK_FAILED, Sender, SenderInput, SenderKind, SmtpTls,
    fetch_rate_limit_presets, save_sender,
};
use crate::api::{ApiError, use_api};
use crate::components::{CopyButton, ErrorBanner, FormField};
use crate::i18n::{Locale, Text, use_i18n};
use crate::remote::Remote;

/// One signal per input, so that typing in one input does not rebuild the others.
#[derive(Clone, Copy)]
struct Inputs {
    name: RwSignal<String>,
    from_address: RwSignal<String>,
    from_name: RwSignal<String>,
    kind: RwSignal<SenderKind>,
    smtp_host: RwSignal<String>,
    smtp_port: RwSignal<String>,
    smtp_tls: RwSignal<SmtpTls>,
    smtp_username: RwSignal<String>,
    smtp_password: RwSignal<String>,
    mailgun_domain: RwSignal<String>,
    mailgun_region: RwSignal<MailgunRegion>,
    mailgun_api_key: RwSignal<String>,
    mailgun_webhook_key: RwSignal<String>,
    per_minute: RwSignal<String>,
    per_hour: RwSignal<String>,
    per_day: RwSignal<String>,
}

impl Inputs {
    fn new(draft: SenderDraft) -> Self {
        Self {
            name: RwSignal::new(draft.name),
            from_address: RwSignal::new(draft.from_address),
            from_name: RwSignal::new(draft.from_name),
            kind: RwSignal::new(draft.kind),
            smtp_host: RwSignal::new(draft.smtp_host),
            smtp_port: RwSignal::new(draft.smtp_port),
            smtp_tls: RwSignal::new(draft.smtp_tls),
            smtp_username: RwSignal::new(draft.smtp_username),
            smtp_password: RwSignal::new(draft.smtp_password),
            mailgun_domain: RwSignal::new(draft.mailgun_domain),
            mailgun_region: RwSignal::new(draft.mailgun_region),
            mailgun_api_key: RwSignal::new(draft.mailgun_api_key),
            mailgun_webhook_key: RwSignal::new(draft.mailgun_webhook_key),
            per_minute: RwSignal::new(draft.per_minute),
            per_hour: RwSignal::new(draft.per_hour),
            per_day: RwSignal::new(draft.per_day),
        }
    }

    fn draft_untracked(self) -> SenderDraft {
        SenderDraft {
            name: self.name.get_untracked(),
            from_address: self.from_address.get_untracked(),
            from_name: self.from_name.get_untracked(),
            kind: self.kind.get_untracked(),
            smtp_host: self.smtp_host.get_untracked(),
            smtp_port: self.smtp_port.get_untracked(),
            smtp_tls: self.smtp_tls.get_untracked(),
            smtp_username: self.smtp_username.get_untracked(),
            smtp_password: self.smtp_password.get_untracked(),
            mailgun_domain: self.mailgun_domain.get_untracked(),
            mailgun_region: self.mailgun_region.get_untracked(),
            mailgun_api_key: self.mailgun_api_key.get_untracked(),
            mailgun_webhook_key: self.mailgun_webhook_key.get_untracked(),
            per_minute: self.per_minute.get_untracked(),
            per_hour: self.per_hour.get_untracked(),
            per_day: self.per_day.get_untracked(),
        }
    }
}

/// The result of a successful save, passed to the page.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedSender {
    pub sender: Sender,
    /// Whether the form asked the server to detect the SMTP encryption.
    pub tls_detected: bool,
}

/// Renders the form for a new sender, or for `editing` when it is given. `on_saved` runs after
/// the server has checked and stored the settings.
#[component]
pub fn SenderForm(
    editing: Option<Sender>,
    on_saved: impl Fn(SavedSender) + Copy + Send + Sync + 'static,
    on_cancel: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let is_edit = editing.is_some();
    let sender_id = StoredValue::new(editing.as_ref().map(|sender| sender.id.clone()));
    let webhook_url = editing
        .as_ref()
        .and_then(|sender| sender.mailgun.as_ref())
        .map(|mailgun| mailgun.webhook_url.clone());
    let has_webhook_key = editing
        .as_ref()
        .and_then(|sender| sender.mailgun.as_ref())
        .is_some_and(|mailgun| mailgun.has_webhook_key);
    let inputs = Inputs::new(
        editing
            .as_ref()
            .map(SenderDraft::from_sender)
            .unwrap_or_default(),
    );
    let problems = RwSignal::new(Vec::<DraftError>::new());

    // The server names the plans in the request's language, so a switch refetches them.
    let presets = Remote::<Vec<RateLimitPreset>>::new();
    Effect::new(move |previous: Option<Locale>| {
        let locale = i18n.locale();
        if previous != Some(locale) {
            presets.load(fetch_rate_limit_presets(api));
        }
        locale
    });

    let submit = Action::new_local(move |input: &SenderInput| {
        let input = input.clone();
        async move {
            let tls_detected = input
                .smtp
                .as_ref()
                .is_some_and(|smtp| smtp.tls == SmtpTls::Auto);
            let sender = save_sender(api, sender_id.get_value(), input).await?;
            let saved = SavedSender {
                sender,
                tls_detected,
            };
            on_saved(saved.clone());
            Ok::<_, ApiError>(saved)
        }
    });
    let pending = submit.pending();
    let error = Signal::derive(move || submit.value().get().and_then(Result::err));
    let check_failures = Signal::derive(move || {
        error.with(|error| {
            error
                .as_ref()
                .map(|error| error.messages_with_reason(SENDER_CHECK_FAILED))
                .unwrap_or_default()
        })
    });
    let other_errors = Signal::derive(move || {
        error.with(|error| {
            error
                .as_ref()
                .and_then(|error| error.without_reason(SENDER_CHECK_FAILED))
        })
    });
    // Shows the browser's own finding for a field first, then the server's.
    let field_message = move |names: &'static [&'static str]| {
        Signal::derive(move || {
            let local = problems.with(|problems| {
                problems
                    .iter()
                    .find(|problem| names.contains(&problem.field))
                    .map(|problem| problem.message.to_owned())
            });
            local.or_else(|| {
                other_errors.with(|error| {
                    error
                        .as_ref()
                        .and_then(|error| error.message_for_field(names))
                })
            })
        })
    };

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let draft = inputs.draft_untracked();
        let found = draft.problems(i18n.t());
        let input = if found.is_empty() {
            draft.to_input()
        } else {
            None
        };
        problems.set(found);
        if let Some(input) = input {
            submit.dispatch_local(input);
        }
    };

    let password_hint: Text = if is_edit {
        |t| t.sender_secret_keep_hint
    } else {
        |t| t.sender_password_hint
    };
    let api_key_hint: Text = if is_edit {
        |t| t.sender_secret_keep_hint
    } else {
        |t| t.mailgun_api_key_hint
    };
    let webhook_key_hint: Text = if has_webhook_key {
        |t| t.sender_secret_keep_hint
    } else {
        |t| t.mailgun_webhook_key_hint
    };

    view! {
        <form id="sender-form" class="card sender-form" on:submit=on_submit novalidate=true>
            <h2>
                {move || if is_edit { i18n.t().sender_edit_title } else { i18n.t().sender_new_title }}
            </h2>
            <div class="form-grid">
                <FormField id="sender-name" label=|t| t.sender_name value=inputs.name
                    hint=|t| t.sender_name_hint error=field_message(&["name"])/>
                <FormField id="sender-from-address" label=|t| t.sender_from_address
                    value=inputs.from_address input_type="email"
                    hint=|t| t.sender_from_address_hint error=field_message(&["fromAddress"])/>
                <FormField id="sender-from-name" label=|t| t.sender_from_name
                    value=inputs.from_name hint=|t| t.sender_from_name_hint
                    error=field_message(&["fromName"])/>
            </div>
            <KindSwitch kind=inputs.kind/>
            <Show when=move || inputs.kind.get() != SenderKind::Mailgun>
                <SmtpInputs inputs=inputs password_hint=password_hint field_message=field_message/>
            </Show>
            <Show when=move || inputs.kind.get() == SenderKind::Mailgun>
                <MailgunInputs
                    inputs=inputs
                    api_key_hint=api_key_hint
                    webhook_key_hint=webhook_key_hint
                    webhook_url=webhook_url.clone()
                    field_message=field_message
                />
            </Show>
            <LimitInputs inputs=inputs presets=presets field_message=field_message/>
            {move || {
                let messages = check_failures.get();
                (!messages.is_empty()).then(|| view! {
                    <div id="sender-check-error" class="error check-failed" role="alert">
                        <p><strong>{i18n.t().sender_check_failed_title}</strong></p>
                        {messages.into_iter().map(|message| view! { <p>{message}</p> }).collect_view()}
                    </div>
                })
            }}
            <ErrorBanner error=other_errors/>
            <div class="toolbar">
                <p class="hint">{move || i18n.t().sender_save_hint}</p>
                <span class="toolbar-spacer"></span>
                <button id="sender-cancel" type="button" class="button-quiet" on:click=move |_| on_cancel()>
                    {move || i18n.t().cancel}
                </button>
                <button id="sender-save" type="submit" class="button-primary" disabled=move || pending.get()>
                    {move || if pending.get() { i18n.t().sender_checking_and_saving } else { i18n.t().save }}
                </button>
            </div>
        </form>
    }
}

/// Renders the SMTP | Mailgun switch as two radio buttons.
#[component]
fn KindSwitch(kind: RwSignal<SenderKind>) -> impl IntoView {
    let i18n = use_i18n();
    let choice = move |value: SenderKind, id: &'static str, hint: Text| {
        view! {
            <label class="kind-choice" class:selected=move || kind.get() == value for=id>
                <input
                    id=id
                    type="radio"
                    name="sender-kind"
                    prop:checked=move || kind.get() == value
                    on:change=move |_| kind.set(value)
                />
                <span class="kind-choice-name">{value.label(i18n.t())}</span>
                <span class="hint">{move || hint(i18n.t())}</span>
            </label>
        }
    };
    view! {
        <fieldset class="field kind-switch">
            <legend>{move || i18n.t().sender_kind}</legend>
            <div class="kind-choices">
                {choice(SenderKind::Smtp, "sender-kind-smtp", |t| t.sender_kind_smtp_hint)}
                {choice(SenderKind::Mailgun, "sender-kind-mailgun", |t| t.sender_kind_mailgun_hint)}
            </div>
        </fieldset>
    }
}

/// Renders the SMTP server inputs: host, port, encryption, user name and password.
#[component]
fn SmtpInputs(
    inputs: Inputs,
    password_hint: Text,
    field_message: impl Fn(&'static [&'static str]) -> Signal<Option<String>> + Copy + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let tls_error = field_message(&["smtpTls"]);
    let tls_options = move || {
        let t = i18n.t();
        let selected = inputs.smtp_tls.get();
        SmtpTls::CHOICES
            .into_iter()
            .map(|mode| {
                view! {
                    <option value=mode.graphql_name() selected=mode == selected>
                        {mode.label(t)}
                    </option>
                }
            })
            .collect_view()
    };
    view! {
        <div class="form-grid">
            <FormField id="sender-smtp-host" label=|t| t.smtp_host value=inputs.smtp_host
                hint=|t| t.smtp_host_hint error=field_message(&["smtpHost"])/>
            <FormField id="sender-smtp-port" label=|t| t.smtp_port value=inputs.smtp_port
                input_type="number" error=field_message(&["smtpPort"])/>
            <div class="field" class:invalid=move || tls_error.with(Option::is_some)>
                <label for="sender-smtp-tls">{move || i18n.t().smtp_tls}</label>
                <select
                    id="sender-smtp-tls"
                    on:change=move |event| {
                        if let Some(mode) = SmtpTls::from_graphql_name(&event_target_value(&event)) {
                            inputs.smtp_tls.set(mode);
                        }
                    }
                >
                    {tls_options}
                </select>
                <p class="hint">{move || i18n.t().smtp_tls_hint}</p>
                {move || tls_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
            </div>
        </div>
        <div class="form-grid">
            <FormField id="sender-smtp-username" label=|t| t.smtp_username
                value=inputs.smtp_username error=field_message(&["smtpUsername"])/>
            <FormField id="sender-smtp-password" label=|t| t.smtp_password
                value=inputs.smtp_password input_type="password" autocomplete="new-password"
                hint=password_hint error=field_message(&["smtpPassword"])/>
        </div>
    }
}

/// Renders the Mailgun inputs: domain, region, API key, webhook signing key, and the webhook
/// URL of a saved sender.
#[component]
fn MailgunInputs(
    inputs: Inputs,
    api_key_hint: Text,
    webhook_key_hint: Text,
    webhook_url: Option<String>,
    field_message: impl Fn(&'static [&'static str]) -> Signal<Option<String>> + Copy + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let region_options = move || {
        let t = i18n.t();
        let selected = inputs.mailgun_region.get();
        MailgunRegion::CHOICES
            .into_iter()
            .map(|region| {
                view! {
                    <option value=region.graphql_name() selected=region == selected>
                        {region.label(t)}
                    </option>
                }
            })
            .collect_view()
    };
    let webhook = webhook_url.map(|url| {
        let copied_url = url.clone();
        view! {
            <div class="field">
                <label for="sender-mailgun-webhook-url">{move || i18n.t().mailgun_webhook_url}</label>
                <div class="secret-line">
                    <input id="sender-mailgun-webhook-url" class="mono" readonly=true prop:value=url/>
                    <CopyButton text=copied_url/>
                </div>
                <p class="hint">{move || i18n.t().mailgun_webhook_url_hint}</p>
            </div>
        }
    });
    view! {
        <div class="form-grid">
            <FormField id="sender-mailgun-domain" label=|t| t.mailgun_domain
                value=inputs.mailgun_domain hint=|t| t.mailgun_domain_hint
                error=field_message(&["mailgunDomain"])/>
            <div class="field">
                <label for="sender-mailgun-region">{move || i18n.t().mailgun_region}</label>
                <select
                    id="sender-mailgun-region"
                    on:change=move |event| {
                        if let Some(region) = MailgunRegion::from_graphql_name(&event_target_value(&event)) {
                            inputs.mailgun_region.set(region);
                        }
                    }
                >
                    {region_options}
                </select>
                <p class="hint">{move || i18n.t().mailgun_region_hint}</p>
            </div>
        </div>
        <div class="form-grid">
            <FormField id="sender-mailgun-api-key" label=|t| t.mailgun_api_key
                value=inputs.mailgun_api_key input_type="password" autocomplete="new-password"
                hint=api_key_hint error=field_message(&["mailgunApiKey"])/>
            <FormField id="sender-mailgun-webhook-key" label=|t| t.mailgun_webhook_key
                value=inputs.mailgun_webhook_key input_type="password" autocomplete="new-password"
                hint=webhook_key_hint/>
        </div>
        {webhook}
    }
}

/// Renders the three rate limit inputs and the select that fills them from a hosting plan.
#[component]
fn LimitInputs(
    inputs: Inputs,
    presets: Remote<Vec<RateLimitPreset>>,
    field_message: impl Fn(&'static [&'static str]) -> Signal<Option<String>> + Copy + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let preset_options = move || {
        presets.with(|presets| match presets {
            Some(Ok(presets)) => presets
                .iter()
                .map(|preset| view! { <option value=preset.id.clone()>{preset.label.clone()}</option> })
                .collect_view()
                .into_any(),
            _ => ().into_any(),
        })
    };
    let apply_preset = move |event: leptos::ev::Event| {
        let id = event_target_value(&event);
        let limits = presets.with_untracked(|presets| match presets {
            Some(Ok(presets)) => presets
                .iter()
                .find(|preset| preset.id == id)
                .map(|preset| preset.limits),
            _ => None,
        });
        if let Some(limits) = limits {
            let mut draft = SenderDraft::default();
            draft.set_limits(limits);
            inputs.per_minute.set(draft.per_minute);
            inputs.per_hour.set(draft.per_hour);
            inputs.per_day.set(draft.per_day);
        }
    };
    let presets_error = Signal::derive(move || presets.error());

    view! {
        <fieldset class="field limits">
            <legend>{move || i18n.t().sender_limits}</legend>
            <p class="hint">{move || i18n.t().sender_limits_hint}</p>
            <div class="field">
                <label for="sender-preset">{move || i18n.t().sender_preset}</label>
                <select id="sender-preset" on:change=apply_preset>
                    <option value="">{move || i18n.t().sender_preset_placeholder}</option>
                    {preset_options}
                </select>
                <ErrorBanner error=presets_error/>
            </div>
            <div class="form-grid">
                <FormField id="sender-per-minute" label=|t| t.limit_per_minute value=inputs.per_minute
                    input_type="number" error=field_message(&["perMinute"])/>
                <FormField id="sender-per-hour" label=|t| t.limit_per_hour value=inputs.per_hour
                    input_type="number" error=field_message(&["perHour"])/>
                <FormField id="sender-per-day" label=|t| t.limit_per_day value=inputs.per_day
                    input_type="number" error=field_message(&["perDay"])/>
            </div>
        </fieldset>
    }
}
