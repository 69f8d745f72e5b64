//! `/dashboard/member-pages`: the public address of the member pages, their logo and colours
//! with a live preview, and the policy for old carrier addresses.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;

use super::model::{
    MAX_LOGO_KIB, MemberPageSettings, fetch_settings, preview_style, remove_logo, save_colors,
    set_nonstandard_addresses, upload_logo,
};
use crate::api::{ApiError, use_api};
use crate::components::{CopyButton, ErrorBanner, RemoteContent, field_error};
use crate::i18n::use_i18n;
use crate::remote::Remote;
use crate::session::use_session;

/// Renders the member-page settings. Viewers see them without the controls that change them.
#[component]
pub fn MemberPagesPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let settings = Remote::<MemberPageSettings>::new();
    let reload = move || settings.load(fetch_settings(api));
    reload();
    // Kept here because a reload after saving builds the cards again.
    let brand_saved = RwSignal::new(false);

    let render = move |settings: MemberPageSettings| {
        view! {
            <AddressCard settings=settings.clone()/>
            <BrandCard settings=settings.clone() saved=brand_saved on_saved=reload/>
            <AddressPolicyCard accepts=settings.accepts_nonstandard_addresses on_saved=reload/>
        }
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().member_pages_title}</h1>
                <p class="lead">{move || i18n.t().member_pages_lead}</p>
            </header>
            <RemoteContent remote=settings render=render/>
        </section>
    }
}

/// Renders the sign-up address to link from the tenant's own site.
#[component]
fn AddressCard(settings: MemberPageSettings) -> impl IntoView {
    let i18n = use_i18n();
    let url = settings.signup_url;
    view! {
        <div class="card">
            <h2>{move || i18n.t().member_pages_address_title}</h2>
            <p class="hint">{move || i18n.t().member_pages_address_hint}</p>
            <p class="copy-row">
                <a id="member-signup-url" class="mono" href=url.clone() target="_blank" rel="noopener">
                    {url.clone()}
                </a>
                <CopyButton text=Signal::derive(move || url.clone())/>
            </p>
        </div>
    }
}

/// Returns the path of an absolute URL of this server, so that the dashboard loads the logo
/// from its own origin whatever public address the server was given.
fn same_origin_path(url: &str) -> String {
    url.find("/m/")
        .map_or_else(|| url.to_owned(), |start| url[start..].to_owned())
}

/// A change the brand card sends; the card shows its progress and result the same way for all.
type Request = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ApiError>>>>;

/// The reason a chosen logo file was not sent.
#[derive(Clone, Copy, Debug, PartialEq)]
enum FileProblem {
    TooLarge,
    Unreadable,
}

/// Renders the logo upload, the two colour pickers and a preview of a member page's header
/// and button in the chosen colours.
#[component]
fn BrandCard(
    settings: MemberPageSettings,
    saved: RwSignal<bool>,
    on_saved: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());
    let tenant_name = move || session.with_tenant(|tenant| tenant.name.clone());

    let logo_path = settings.logo_url.as_deref().map(same_origin_path);
    let has_logo = logo_path.is_some();
    let logo_path = StoredValue::new(logo_path);
    let brand = RwSignal::new(settings.brand_color.clone().unwrap_or_default());
    let header = RwSignal::new(settings.header_color.clone().unwrap_or_default());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let file_problem = RwSignal::new(None::<FileProblem>);
    let error_signal = Signal::derive(move || error.get());
    let brand_error = field_error(error_signal, &["brandColor"]);
    let header_error = field_error(error_signal, &["headerColor"]);

    let run = move |request: Request| {
        busy.set(true);
        error.set(None);
        saved.set(false);
        spawn_local(async move {
            let result = request.await;
            busy.try_set(false);
            match result {
                Ok(()) => {
                    saved.try_set(true);
                    on_saved();
                }
                Err(failure) => {
                    error.try_set(Some(failure));
                }
            }
        });
    };

    let on_file = move |event: leptos::ev::Event| {
        let input = event_target::<HtmlInputElement>(&event);
        file_problem.set(None);
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        if file.size() > MAX_LOGO_KIB * 1024.0 {
            file_problem.set(Some(FileProblem::TooLarge));
            return;
        }
        spawn_local(async move {
            match JsFuture::from(file.array_buffer()).await {
                Ok(buffer) => {
                    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                    run(Box::pin(async move { upload_logo(api, &bytes).await }));
                }
                Err(_) => {
                    file_problem.try_set(Some(FileProblem::Unreadable));
                }
            }
        });
    };
    let on_remove = move |_| run(Box::pin(remove_logo(api)));
    let on_save = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let brand = brand.get_untracked();
        let header = header.get_untracked();
        run(Box::pin(
            async move { save_colors(api, &brand, &header).await },
        ));
    };

    let preview = move || preview_style(&brand.get(), &header.get());
    let preview_brand = move || match logo_path.get_value() {
        Some(path) => view! { <img class="brand-logo" src=path alt=tenant_name()/> }.into_any(),
        None => view! { <span class="brand-tenant">{tenant_name()}</span> }.into_any(),
    };

    view! {
        <form id="brand-form" class="card" on:submit=on_save novalidate=true>
            <h2>{move || i18n.t().member_pages_brand_title}</h2>
            <div class="field">
                <label for="brand-logo">{move || i18n.t().member_pages_logo}</label>
                <input id="brand-logo" type="file" accept="image/png,image/jpeg,image/gif,image/webp"
                    on:change=on_file disabled=move || read_only.get() || busy.get()/>
                <p class="hint">{move || i18n.t().member_pages_logo_hint}</p>
                {move || file_problem.get().map(|problem| view! {
                    <p class="field-error" role="alert">{match problem {
                        FileProblem::TooLarge => i18n.t().member_pages_logo_too_large,
                        FileProblem::Unreadable => i18n.t().member_pages_logo_unreadable,
                    }}</p>
                })}
                <Show when=move || has_logo && !read_only.get()>
                    <button id="brand-logo-remove" type="button" class="button-danger-quiet"
                        on:click=on_remove disabled=move || busy.get()>
                        {move || i18n.t().member_pages_logo_remove}
                    </button>
                </Show>
            </div>
            <div class="form-grid">
                <ColorField id="brand-color" label=|t| t.member_pages_brand_color value=brand
                    error=brand_error read_only=read_only/>
                <ColorField id="header-color" label=|t| t.member_pages_header_color value=header
                    error=header_error read_only=read_only/>
            </div>
            <p class="hint">{move || i18n.t().member_pages_colors_hint}</p>
            <div id="brand-preview" class="brand-preview member-page" style=preview>
                <div class="topbar"><div class="topbar-inner"><span class="brand">{preview_brand}</span></div></div>
                <div class="brand-preview-body">
                    <a href="#brand-preview">{move || i18n.t().member_pages_preview_link}</a>
                    <span class="button button-primary">{move || i18n.t().member_pages_preview_button}</span>
                </div>
            </div>
            <ErrorBanner error=Signal::derive(move || {
                error.get().filter(|failure| {
                    failure.message_for_field(&["brandColor", "headerColor"]).is_none()
                })
            })/>
            <Show when=move || saved.get()>
                <p id="brand-saved" class="notice success" role="status">{move || i18n.t().saved}</p>
            </Show>
            <Show when=move || !read_only.get()>
                <div class="toolbar">
                    <span class="toolbar-spacer"></span>
                    <button id="brand-save" type="submit" class="button-primary" disabled=move || busy.get()>
                        {move || if busy.get() { i18n.t().saving } else { i18n.t().save }}
                    </button>
                </div>
            </Show>
        </form>
    }
}

/// Renders a colour picker with a text input beside it for `#rrggbb`, and a button that
/// empties both to restore Tayori's colour.
#[component]
fn ColorField(
    id: &'static str,
    label: crate::i18n::Text,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
    read_only: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let picker_value = move || {
        let text = value.get();
        if text.len() == 7 && text.starts_with('#') {
            text
        } else {
            "#2f5d8a".to_owned()
        }
    };
    view! {
        <div class="field" class:invalid=move || error.with(Option::is_some)>
            <label for=id>{move || label(i18n.t())}</label>
            <div class="color-row">
                <input type="color" aria-hidden="true" tabindex="-1" prop:value=picker_value
                    disabled=move || read_only.get()
                    on:input=move |event| value.set(event_target_value(&event))/>
                <input id=id name=id type="text" placeholder=move || i18n.t().member_pages_color_default
                    bind:value=value disabled=move || read_only.get()/>
                <button type="button" class="button-quiet" disabled=move || read_only.get()
                    on:click=move |_| value.set(String::new())>
                    {move || i18n.t().member_pages_color_reset}
                </button>
            </div>
            {move || error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
        </div>
    }
}

/// Renders the switch for addresses such as `taro..hanako@docomo.ne.jp`.
#[component]
fn AddressPolicyCard(
    accepts: bool,
    on_saved: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());
    let save = Action::new_local(move |accept: &bool| {
        let accept = *accept;
        async move {
            set_nonstandard_addresses(api, accept).await?;
            on_saved();
            Ok::<_, ApiError>(())
        }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    view! {
        <div class="card">
            <h2>{move || i18n.t().member_pages_addresses_title}</h2>
            <label class="checkbox">
                <input id="accept-nonstandard" type="checkbox" prop:checked=accepts
                    disabled=move || read_only.get() || save.pending().get()
                    on:change=move |event| { save.dispatch_local(event_target_checked(&event)); }/>
                " "{move || i18n.t().member_pages_addresses_accept}
            </label>
            <p class="hint">{move || i18n.t().member_pages_addresses_hint}</p>
            <ErrorBanner error=error/>
        </div>
    }
}
