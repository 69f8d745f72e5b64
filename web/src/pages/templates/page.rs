//! `/dashboard/templates`: edits the mail templates, one tab per kind and language, and
//! previews them with a real listing.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::model::{
    ListingChoice, MailParts, MailTemplate, TemplateKind, fetch_listing_choices, fetch_templates,
    preview_template, reset_template, save_template,
};
use crate::api::{Api, ApiError, use_api};
use crate::components::{ErrorBanner, MailFrame, RemoteContent};
use crate::i18n::{Locale, use_i18n};
use crate::remote::Remote;
use crate::session::use_session;

/// A tab of the editor: one template kind in one language.
type Tab = (TemplateKind, Locale);

/// The tabs in display order.
const TABS: [Tab; 4] = [
    (TemplateKind::Listing, Locale::Ja),
    (TemplateKind::Listing, Locale::En),
    (TemplateKind::Digest, Locale::Ja),
    (TemplateKind::Digest, Locale::En),
];

/// Returns the tab button's id, such as `template-tab-listing-ja`.
fn tab_id((kind, locale): Tab) -> String {
    format!(
        "template-tab-{}-{}",
        kind.graphql_name().to_lowercase(),
        locale.tag()
    )
}

/// A template being edited, with the version the server has.
#[derive(Clone, Debug, PartialEq)]
struct TemplateDraft {
    parts: MailParts,
    saved: MailTemplate,
}

impl TemplateDraft {
    fn from_saved(saved: MailTemplate) -> Self {
        Self {
            parts: MailParts {
                subject: saved.subject.clone(),
                html: saved.html.clone(),
                text: saved.text.clone(),
            },
            saved,
        }
    }

    fn is_dirty(&self) -> bool {
        self.parts.subject != self.saved.subject
            || self.parts.html != self.saved.html
            || self.parts.text != self.saved.text
    }
}

/// The templates and the listings previews can use.
#[derive(Clone, Debug, PartialEq)]
struct TemplatesData {
    templates: Vec<MailTemplate>,
    listings: Vec<ListingChoice>,
}

async fn fetch_templates_data(api: Api) -> Result<TemplatesData, ApiError> {
    let (templates, listings) =
        futures::try_join!(fetch_templates(api), fetch_listing_choices(api))?;
    Ok(TemplatesData {
        templates,
        listings,
    })
}

/// Renders the template page.
#[component]
pub fn TemplatesPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let data = Remote::<TemplatesData>::new();
    data.load(fetch_templates_data(api));
    let render = |loaded: TemplatesData| view! { <TemplateEditor data=loaded/> };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().templates_title}</h1>
                <p class="lead">{move || i18n.t().templates_lead}</p>
            </header>
            <RemoteContent remote=data render=render/>
            <TemplateVariables/>
        </section>
    }
}

/// Renders the tabs, the three text areas, the buttons and the preview.
#[component]
fn TemplateEditor(data: TemplatesData) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());

    let drafts = RwSignal::new(
        TABS.iter()
            .filter_map(|&(kind, locale)| {
                data.templates
                    .iter()
                    .find(|template| template.is(kind, locale))
                    .cloned()
                    .map(|template| ((kind, locale), TemplateDraft::from_saved(template)))
            })
            .collect::<Vec<_>>(),
    );
    let listings = StoredValue::new(data.listings);
    let active = RwSignal::new(TABS[0]);
    let preview_listing = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let preview = RwSignal::new(None::<MailParts>);
    let just_saved = RwSignal::new(false);

    let read_part = move |get: fn(&MailParts) -> String| {
        move || {
            let tab = active.get();
            drafts.with(|drafts| {
                drafts
                    .iter()
                    .find(|(key, _)| *key == tab)
                    .map(|(_, draft)| get(&draft.parts))
                    .unwrap_or_default()
            })
        }
    };
    let write_part = move |change: &dyn Fn(&mut MailParts)| {
        let tab = active.get_untracked();
        drafts.update(|drafts| {
            if let Some((_, draft)) = drafts.iter_mut().find(|(key, _)| *key == tab) {
                change(&mut draft.parts);
            }
        });
        just_saved.set(false);
    };
    let with_active = move |read: &dyn Fn(&TemplateDraft) -> bool| {
        let tab = active.get();
        drafts.with(|drafts| {
            drafts
                .iter()
                .find(|(key, _)| *key == tab)
                .is_some_and(|(_, draft)| read(draft))
        })
    };
    let is_dirty = move || with_active(&TemplateDraft::is_dirty);
    let is_customized = move || with_active(&|draft| draft.saved.customized);
    let store_saved = move |tab: Tab, saved: MailTemplate| {
        drafts.update(|drafts| {
            if let Some((_, draft)) = drafts.iter_mut().find(|(key, _)| *key == tab) {
                *draft = TemplateDraft::from_saved(saved);
            }
        });
    };
    let active_parts = move || {
        let tab = active.get_untracked();
        drafts.with_untracked(|drafts| {
            drafts
                .iter()
                .find(|(key, _)| *key == tab)
                .map(|(_, draft)| draft.parts.clone())
                .unwrap_or_default()
        })
    };

    let run_preview = move |_| {
        let (kind, locale) = active.get_untracked();
        let parts = active_parts();
        let listing = Some(preview_listing.get_untracked()).filter(|id| !id.is_empty());
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match preview_template(api, kind, locale, parts, listing).await {
                Ok(rendered) => preview.set(Some(rendered)),
                Err(preview_error) => {
                    preview.set(None);
                    error.set(Some(preview_error));
                }
            }
            busy.set(false);
        });
    };
    let save = move |_| {
        let tab @ (kind, locale) = active.get_untracked();
        let parts = active_parts();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match save_template(api, kind, locale, parts).await {
                Ok(saved) => {
                    store_saved(tab, saved);
                    just_saved.set(true);
                }
                Err(save_error) => error.set(Some(save_error)),
            }
            busy.set(false);
        });
    };
    let reset = move |_| {
        if !window()
            .confirm_with_message(i18n.t().template_reset_confirm)
            .unwrap_or(false)
        {
            return;
        }
        let tab @ (kind, locale) = active.get_untracked();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match reset_template(api, kind, locale).await {
                Ok(saved) => {
                    store_saved(tab, saved);
                    preview.set(None);
                }
                Err(reset_error) => error.set(Some(reset_error)),
            }
            busy.set(false);
        });
    };
    let discard = move |_| {
        let tab = active.get_untracked();
        drafts.update(|drafts| {
            if let Some((_, draft)) = drafts.iter_mut().find(|(key, _)| *key == tab) {
                *draft = TemplateDraft::from_saved(draft.saved.clone());
            }
        });
    };

    let tabs = move || {
        let t = i18n.t();
        TABS.into_iter()
            .map(|tab @ (kind, locale)| {
                let selected = move || active.get() == tab;
                let marker = move || {
                    drafts.with(|drafts| {
                        drafts
                            .iter()
                            .any(|(key, draft)| *key == tab && draft.is_dirty())
                    })
                };
                let language = match locale {
                    Locale::Ja => t.language_ja,
                    Locale::En => t.language_en,
                };
                view! {
                    <button
                        id=tab_id(tab)
                        type="button"
                        role="tab"
                        class="tab"
                        class:active=selected
                        aria-selected=move || if selected() { "true" } else { "false" }
                        on:click=move |_| {
                            active.set(tab);
                            preview.set(None);
                            error.set(None);
                            just_saved.set(false);
                        }
                    >
                        {format!("{} · {}", kind.label(t), language)}
                        <Show when=marker>
                            <span class="tab-marker" title=t.unsaved_changes>" ●"</span>
                        </Show>
                    </button>
                }
            })
            .collect_view()
    };
    let listing_options = move || {
        listings.with_value(|listings| {
            listings
                .iter()
                .map(|listing| view! { <option value=listing.id.clone()>{listing.external_id.clone()}</option> })
                .collect_view()
        })
    };

    view! {
        <div class="tabs" role="tablist" aria-label=move || i18n.t().templates_tabs_label>{tabs}</div>
        <div class="card template-editor">
            <p class="muted">
                {move || if is_customized() { i18n.t().template_customized } else { i18n.t().template_default }}
            </p>
            <div class="field">
                <label for="template-subject">{move || i18n.t().template_subject}</label>
                <textarea
                    id="template-subject"
                    class="mono"
                    rows="2"
                    spellcheck="false"
                    readonly=move || read_only.get()
                    prop:value=read_part(|parts| parts.subject.clone())
                    on:input=move |event| {
                        let value = event_target_value(&event);
                        write_part(&|parts| parts.subject = value.clone());
                    }
                ></textarea>
            </div>
            <div class="field">
                <label for="template-html">{move || i18n.t().template_html}</label>
                <textarea
                    id="template-html"
                    class="mono"
                    rows="14"
                    spellcheck="false"
                    readonly=move || read_only.get()
                    prop:value=read_part(|parts| parts.html.clone())
                    on:input=move |event| {
                        let value = event_target_value(&event);
                        write_part(&|parts| parts.html = value.clone());
                    }
                ></textarea>
            </div>
            <div class="field">
                <label for="template-text">{move || i18n.t().template_text}</label>
                <textarea
                    id="template-text"
                    class="mono"
                    rows="10"
                    spellcheck="false"
                    readonly=move || read_only.get()
                    prop:value=read_part(|parts| parts.text.clone())
                    on:input=move |event| {
                        let value = event_target_value(&event);
                        write_part(&|parts| parts.text = value.clone());
                    }
                ></textarea>
            </div>
            <ErrorBanner error=error/>
            <div class="toolbar">
                <label class="inline-label" for="template-preview-listing">
                    {move || i18n.t().template_preview_listing}
                </label>
                <select
                    id="template-preview-listing"
                    on:change=move |event| preview_listing.set(event_target_value(&event))
                >
                    <option value="">{move || i18n.t().template_preview_newest}</option>
                    {listing_options}
                </select>
                <button
                    id="template-preview"
                    type="button"
                    class="button-quiet"
                    disabled=move || busy.get()
                    on:click=run_preview
                >
                    {move || i18n.t().template_preview}
                </button>
                <span class="toolbar-spacer"></span>
                <Show when=move || !read_only.get()>
                    <Show when=move || just_saved.get() && !is_dirty()>
                        <span class="notice success" role="status">{move || i18n.t().saved}</span>
                    </Show>
                    <Show when=is_dirty>
                        <button type="button" class="button-quiet" disabled=move || busy.get() on:click=discard>
                            {move || i18n.t().discard_changes}
                        </button>
                    </Show>
                    <button
                        id="template-reset"
                        type="button"
                        class="button-danger-quiet"
                        disabled=move || busy.get() || !is_customized()
                        on:click=reset
                    >
                        {move || i18n.t().template_reset}
                    </button>
                    <button
                        id="template-save"
                        type="button"
                        class="button-primary"
                        disabled=move || busy.get() || !is_dirty()
                        on:click=save
                    >
                        {move || if busy.get() { i18n.t().saving } else { i18n.t().save }}
                    </button>
                </Show>
            </div>
        </div>
        {move || preview.get().map(|rendered| view! { <MailPreview rendered=rendered/> })}
    }
}

/// Renders a rendered template: subject, HTML in a sandboxed frame, and text.
#[component]
fn MailPreview(rendered: MailParts) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div id="template-preview-result" class="card mail-view">
            <h2>{move || i18n.t().template_preview_title}</h2>
            <p class="mail-subject">
                <span class="muted">{move || i18n.t().mail_subject} ": "</span>
                <span id="template-preview-subject">{rendered.subject}</span>
            </p>
            <h3>{move || i18n.t().mail_html_part}</h3>
            <MailFrame id="template-preview-html" html=rendered.html title=|t| t.mail_html_part/>
            <h3>{move || i18n.t().mail_text_part}</h3>
            <pre id="template-preview-text" class="code-block mail-text">{rendered.text}</pre>
        </div>
    }
}

/// Renders the list of template variables.
#[component]
fn TemplateVariables() -> impl IntoView {
    let i18n = use_i18n();
    let entries = move || {
        i18n.t()
            .template_variables
            .iter()
            .map(|(name, meaning)| {
                view! {
                    <dt><code>{*name}</code></dt>
                    <dd>{*meaning}</dd>
                }
            })
            .collect_view()
    };
    view! {
        <div id="template-variables" class="card">
            <h2>{move || i18n.t().template_variables_title}</h2>
            <p class="hint">{move || i18n.t().template_variables_lead}</p>
            <dl class="variable-list">{entries}</dl>
        </div>
    }
}
