//! The table of API keys.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::model::{ApiKey, Scope, revoke_api_key};
use crate::api::{ApiError, use_api};
use crate::components::ErrorBanner;
use crate::format;
use crate::i18n::use_i18n;

/// Renders the table of keys, with a revoke button on each active key.
#[component]
pub fn ApiKeyTable(
    keys: Vec<ApiKey>,
    on_revoked: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let revoking = RwSignal::new(None::<String>);
    let revoke_error = RwSignal::new(None::<ApiError>);

    let revoke = move |key: ApiKey| {
        let question = (i18n.t().api_key_revoke_confirm)(&key.name);
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        revoking.set(Some(key.id.clone()));
        revoke_error.set(None);
        spawn_local(async move {
            match revoke_api_key(api, &key.id).await {
                Ok(()) => on_revoked(),
                Err(error) => revoke_error.set(Some(error)),
            }
            revoking.set(None);
        });
    };

    let body = move || {
        let t = i18n.t();
        let locale = i18n.locale();
        if keys.is_empty() {
            return view! { <p class="empty">{t.api_keys_empty}</p> }.into_any();
        }
        let rows = keys
            .iter()
            .map(|key| {
                let scopes = key
                    .scopes
                    .iter()
                    .map(|scope| view! { <span class="badge">{Scope::label_of(scope, t)}</span> })
                    .collect_view();
                let status = match &key.revoked_at {
                    Some(at) => view! {
                        <span class="badge badge-danger">{t.api_key_revoked}</span>
                        <span class="muted small">{format::timestamp(at, locale)}</span>
                    }
                    .into_any(),
                    None => view! { <span class="badge badge-success">{t.api_key_active}</span> }.into_any(),
                };
                view! {
                    <tr>
                        <td>{key.name.clone()}</td>
                        <td class="mono">{format!("{}…", key.prefix)}</td>
                        <td><span class="badges">{scopes}</span></td>
                        <td class="nowrap">{format::timestamp(&key.created_at, locale)}</td>
                        <td class="nowrap">{format::optional_timestamp(key.last_used_at.as_deref(), locale, t.never_used)}</td>
                        <td>{status}</td>
                        <td>
                            {key.revoked_at.is_none().then(|| view! {
                                <RevokeButton key=key.clone() revoking=revoking on_revoke=revoke/>
                            })}
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-scroll">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">{t.api_key_name}</th>
                            <th scope="col">{t.api_key_prefix}</th>
                            <th scope="col">{t.api_key_scopes}</th>
                            <th scope="col">{t.created_at}</th>
                            <th scope="col">{t.api_key_last_used}</th>
                            <th scope="col">{t.api_key_status}</th>
                            <th scope="col"><span class="visually-hidden">{t.actions}</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };

    view! {
        <ErrorBanner error=revoke_error/>
        {body}
    }
}

/// Renders the button that revokes `key`. While `revoking` contains the key's id, the button is
/// disabled and labelled as revoking.
#[component]
fn RevokeButton(
    key: ApiKey,
    revoking: RwSignal<Option<String>>,
    on_revoke: impl Fn(ApiKey) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let key_id = key.id.clone();
    let is_busy = Signal::derive(move || revoking.with(|id| id.as_ref() == Some(&key_id)));
    view! {
        <button
            type="button"
            class="button-danger-quiet"
            disabled=is_busy
            on:click=move |_| on_revoke(key.clone())
        >
            {move || if is_busy.get() { i18n.t().revoking } else { i18n.t().revoke }}
        </button>
    }
}
