//! The notice of whether mail is sent for real or captured in the outbox.

use leptos::prelude::*;

use super::model::{Sender, fetch_senders};
use crate::api::use_api;
use crate::i18n::{Catalogue, use_i18n};
use crate::remote::Remote;

/// The tenant's sending mode, as the sender list determines it.
#[derive(Clone, Debug, PartialEq)]
pub enum SendingMode {
    /// No sender is active, so mail is captured in the outbox.
    Test,
    /// Mail goes out through this sender.
    Live { name: String, from_address: String },
    /// The active sender is paused, so mail waits until its settings are fixed.
    Paused { name: String },
}

impl SendingMode {
    /// Returns the mode that `senders` (the whole list) are in.
    pub fn of(senders: &[Sender]) -> Self {
        match senders.iter().find(|sender| sender.active) {
            None => SendingMode::Test,
            Some(sender) if sender.paused.is_some() => SendingMode::Paused {
                name: sender.name.clone(),
            },
            Some(sender) => SendingMode::Live {
                name: sender.name.clone(),
                from_address: sender.from_address.clone(),
            },
        }
    }
}

/// Renders the banner of the sending page: `#sending-mode`, with the mode in `data-mode`
/// (`test`, `live` or `paused`).
pub fn render_mode_banner(mode: &SendingMode, t: &'static Catalogue) -> impl IntoView + use<> {
    let (class, data_mode, text) = match mode {
        SendingMode::Test => ("notice warning", "test", t.sending_mode_test.to_owned()),
        SendingMode::Live { name, from_address } => (
            "notice success",
            "live",
            (t.sending_mode_live)(name, from_address),
        ),
        SendingMode::Paused { name } => ("error", "paused", (t.sending_mode_paused)(name)),
    };
    view! {
        <p id="sending-mode" class=class data-mode=data_mode role="status">{text}</p>
    }
}

/// Renders the deliveries pages' notice: `#test-mode-notice` while mail is captured, or
/// `#sending-mode-notice` with the active sender, linking to the sending page. It fetches the
/// senders itself and shows nothing until they arrive or when they cannot be read.
#[component]
pub fn SendingModeNotice() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let senders = Remote::<Vec<Sender>>::new();
    senders.load(fetch_senders(api));
    let mode = Memo::new(move |_| {
        senders.with(|senders| match senders {
            Some(Ok(senders)) => Some(SendingMode::of(senders)),
            _ => None,
        })
    });

    move || {
        let t = i18n.t();
        let view = match mode.get()? {
            SendingMode::Test => view! {
                <p id="test-mode-notice" class="notice warning">
                    <strong>{t.test_mode}</strong>
                    " "
                    {t.test_mode_hint}
                    " "
                    <a href="/dashboard/senders">{t.sending_mode_setup_link}</a>
                </p>
            }
            .into_any(),
            SendingMode::Live { name, from_address } => view! {
                <p id="sending-mode-notice" class="notice success">
                    {(t.sending_mode_live)(&name, &from_address)}
                    " "
                    <a href="/dashboard/senders">{t.nav_senders}</a>
                </p>
            }
            .into_any(),
            SendingMode::Paused { name } => view! {
                <p id="sending-mode-notice" class="notice warning">
                    {(t.sending_mode_paused)(&name)}
                    " "
                    <a href="/dashboard/senders">{t.nav_senders}</a>
                </p>
            }
            .into_any(),
        };
        Some(view)
    }
}
