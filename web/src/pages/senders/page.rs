//! `/dashboard/senders`: whether mail is sent for real, the senders with their checks, the
//! form that adds or changes one, and the DKIM keys.

use leptos::prelude::*;

use super::dkim::DkimSection;
use super::form::{SavedSender, SenderForm};
use super::mode_notice::{SendingMode, render_mode_banner};
use super::model::{Sender, fetch_senders};
use super::sender_card::{CardStates, SenderCard};
use crate::api::use_api;
use crate::components::{ErrorBanner, RemoteContent};
use crate::i18n::{Locale, use_i18n};
use crate::remote::Remote;
use crate::session::use_session;

/// The form shown above the list: none, a new sender, or a sender being edited.
#[derive(Clone, Debug, PartialEq)]
enum FormState {
    Closed,
    New,
    Edit(Box<Sender>),
}

/// Renders the sending page. Viewers see the senders and keys without the controls that
/// change them, because the server lets only owners and admins manage sending.
#[component]
pub fn SendersPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());

    let senders = Remote::<Vec<Sender>>::new();
    let reload = move || senders.load(fetch_senders(api));
    reload();
    // Pause messages come from the server in the request's language, so a switch refetches.
    Effect::new(move |previous: Option<Locale>| {
        let locale = i18n.locale();
        if previous.is_some_and(|previous| previous != locale) {
            reload();
        }
        locale
    });
    let states = CardStates::new();
    let form = RwSignal::new(FormState::Closed);
    let form_open = Signal::derive(move || form.with(|form| *form != FormState::Closed));
    let saved = RwSignal::new(None::<SavedSender>);

    let mode_banner = move || {
        let t = i18n.t();
        senders.with(|senders| match senders {
            Some(Ok(senders)) => Some(render_mode_banner(&SendingMode::of(senders), t)),
            _ => None,
        })
    };
    let on_saved = move |result: SavedSender| {
        saved.set(Some(result));
        form.set(FormState::Closed);
        reload();
    };
    let on_edit = move |sender: Sender| {
        saved.set(None);
        form.set(FormState::Edit(Box::new(sender)));
    };
    let form_view = move || {
        let editing = match form.get() {
            FormState::Closed => return None,
            FormState::New => None,
            FormState::Edit(sender) => Some(*sender),
        };
        Some(view! {
            <SenderForm editing=editing on_saved=on_saved on_cancel=move || form.set(FormState::Closed)/>
        })
    };
    let saved_notice = move || {
        let t = i18n.t();
        saved.get().map(|saved| {
            let detected = saved
                .sender
                .smtp
                .as_ref()
                .filter(|_| saved.tls_detected)
                .map(|smtp| (t.sender_tls_detected)(smtp.tls.label(t)));
            view! {
                <p id="sender-saved" class="notice success" role="status">
                    {(t.sender_saved)(&saved.sender.name)}
                    {detected.map(|text| view! { " " <strong>{text}</strong> })}
                    " "
                    {(!saved.sender.active).then_some(t.sender_saved_not_active)}
                </p>
            }
        })
    };
    let list = move |senders: Vec<Sender>| {
        if senders.is_empty() {
            return view! { <p class="empty">{move || i18n.t().senders_empty}</p> }.into_any();
        }
        let cards = senders
            .into_iter()
            .enumerate()
            .map(|(index, sender)| {
                view! {
                    <SenderCard
                        sender=sender
                        index=index
                        states=states
                        read_only=read_only
                        form_open=form_open
                        on_edit=on_edit
                        on_changed=reload
                    />
                }
            })
            .collect_view();
        view! { <ul id="senders" class="rule-list">{cards}</ul> }.into_any()
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().senders_title}</h1>
                <p class="lead">{move || i18n.t().senders_lead}</p>
            </header>
            {mode_banner}
            <Show when=move || read_only.get()>
                <p class="notice">{move || i18n.t().senders_viewer_notice}</p>
            </Show>
            {saved_notice}
            <Show when=move || !read_only.get() && !form_open.get()>
                <div class="toolbar">
                    <span class="toolbar-spacer"></span>
                    <button
                        id="sender-new"
                        type="button"
                        class="button-primary"
                        on:click=move |_| {
                            saved.set(None);
                            form.set(FormState::New);
                        }
                    >
                        {move || i18n.t().sender_new}
                    </button>
                </div>
            </Show>
            {form_view}
            <h2>{move || i18n.t().senders_list}</h2>
            <ErrorBanner error=states.list_error/>
            <RemoteContent remote=senders render=list/>
            <DkimSection read_only=read_only/>
        </section>
    }
}
