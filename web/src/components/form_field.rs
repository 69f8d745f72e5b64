//! A labelled text input bound to a signal, with an optional hint and a server error.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::i18n::{Text, use_i18n};

/// Returns the message of the first error in `error` that names one of the input fields in
/// `names`, for the `error` prop of a [`FormField`].
pub fn field_error(
    error: Signal<Option<ApiError>>,
    names: &'static [&'static str],
) -> Signal<Option<String>> {
    Signal::derive(move || {
        error.with(|error| {
            error
                .as_ref()
                .and_then(|error| error.message_for_field(names))
        })
    })
}

/// Renders a `<label>` and `<input>` pair. `id` is also the input's `name`. The hint turns into
/// a warning while `hint_warning` is true, and `error` shows a message from the server below.
#[component]
pub fn FormField(
    id: &'static str,
    label: Text,
    value: RwSignal<String>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: Option<Text>,
    #[prop(optional, into)] hint_warning: Signal<bool>,
    #[prop(optional, into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described_by = {
        let hint_id = hint_id.clone();
        let error_id = error_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error.with(Option::is_some) {
                ids.push(error_id.clone());
            }
            ids.join(" ")
        }
    };
    view! {
        <div class="field" class:invalid=move || error.with(Option::is_some)>
            <label for=id>{move || label(i18n.t())}</label>
            <input
                id=id
                name=id
                type=input_type
                autocomplete=autocomplete
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=described_by
                bind:value=value
            />
            {hint.map(|hint| {
                view! {
                    <p id=hint_id class="hint" class:warn=move || hint_warning.get()>
                        {move || hint(i18n.t())}
                    </p>
                }
            })}
            {move || error.get().map(|message| view! {
                <p id=error_id.clone() class="field-error">{message}</p>
            })}
        </div>
    }
}
