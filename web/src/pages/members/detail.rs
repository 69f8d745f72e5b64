//! `/dashboard/members/new` and `/dashboard/members/:id`: create a member, or view, edit,
//! stop, resume and delete one.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::draft::MemberDraft;
use super::form::MemberForm;
use super::model::{
    Member, MemberInput, delete_member, fetch_member, save_member, set_member_subscribed,
};
use crate::api::{Api, ApiError, use_api};
use crate::components::{ErrorBanner, RemoteContent};
use crate::format;
use crate::i18n::use_i18n;
use crate::listing_schema::{ListingField, fetch_profile_fields};
use crate::remote::Remote;
use crate::session::use_session;

/// Renders the form of a new member and opens the member once created.
#[component]
pub fn NewMemberPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());
    let navigate = use_navigate();

    let fields = Remote::<Vec<ListingField>>::new();
    fields.load(fetch_profile_fields(api));

    let create = Action::new_local(move |input: &MemberInput| {
        let input = input.clone();
        let navigate = navigate.clone();
        async move {
            let member = save_member(api, None, input).await?;
            navigate(
                &format!("/dashboard/members/{}", member.id),
                Default::default(),
            );
            Ok::<_, ApiError>(())
        }
    });
    let pending = create.pending();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let form = move |fields: Vec<ListingField>| {
        view! {
            <MemberForm
                fields=fields
                initial=MemberDraft::new()
                read_only=read_only
                pending=pending
                error=error
                submit_label=|t| t.member_create
                on_submit=move |input| {
                    create.dispatch_local(input);
                }
            />
        }
    };

    view! {
        <section class="page">
            <header class="page-header">
                <p class="eyebrow"><a href="/dashboard/members">{move || i18n.t().members_title}</a></p>
                <h1>{move || i18n.t().member_new}</h1>
            </header>
            <Show when=move || read_only.get()>
                <p class="notice">{move || i18n.t().read_only_notice}</p>
            </Show>
            <RemoteContent remote=fields render=form/>
        </section>
    }
}

/// A member with the profile fields its form needs.
#[derive(Clone, Debug, PartialEq)]
struct MemberData {
    member: Member,
    fields: Vec<ListingField>,
}

async fn fetch_member_data(api: Api, id: String) -> Result<MemberData, ApiError> {
    let (member, fields) = futures::try_join!(fetch_member(api, &id), fetch_profile_fields(api))?;
    Ok(MemberData { member, fields })
}

/// Renders the member named by the route's `id`.
#[component]
pub fn MemberDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|params| params.get("id")).unwrap_or_default());
    // Rebuilt when the id changes, so no state carries over from another member.
    move || {
        let id = id.get();
        view! { <MemberDetail id=id/> }
    }
}

/// Renders member `id`: its state, the actions on it and its form.
#[component]
fn MemberDetail(id: String) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());

    let data = Remote::<MemberData>::new();
    data.load(fetch_member_data(api, id));
    let render =
        move |loaded: MemberData| view! { <MemberSections data=loaded read_only=read_only/> };

    view! {
        <section class="page">
            <header class="page-header">
                <p class="eyebrow"><a href="/dashboard/members">{move || i18n.t().members_title}</a></p>
                <h1 id="member-title">
                    {move || data.with(|data| match data {
                        Some(Ok(data)) => data.member.email.clone(),
                        _ => String::new(),
                    })}
                </h1>
            </header>
            <Show when=move || read_only.get()>
                <p class="notice">{move || i18n.t().read_only_notice}</p>
            </Show>
            <RemoteContent remote=data render=render/>
        </section>
    }
}

/// Renders the summary, the actions and the form of a loaded member.
#[component]
fn MemberSections(data: MemberData, read_only: Signal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let navigate = use_navigate();
    let member = RwSignal::new(data.member);
    let member_id = member.with_untracked(|member| member.id.clone());
    let action_error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let just_saved = RwSignal::new(false);
    // Incremented after a save, which rebuilds the form from the member as the server
    // normalised it (`10万` comes back as `100000`).
    let form_version = RwSignal::new(0_u32);
    let fields = StoredValue::new(data.fields);

    let update = Action::new_local({
        let member_id = member_id.clone();
        move |input: &MemberInput| {
            let input = input.clone();
            let member_id = member_id.clone();
            async move {
                let saved = save_member(api, Some(member_id), input).await?;
                member.set(saved);
                just_saved.set(true);
                form_version.update(|version| *version += 1);
                Ok::<_, ApiError>(())
            }
        }
    });
    let pending = update.pending();
    let update_error = Signal::derive(move || update.value().get().and_then(Result::err));

    let toggle_subscribed = {
        let member_id = member_id.clone();
        move |_| {
            let member_id = member_id.clone();
            let subscribed = member.with_untracked(|member| member.subscribed);
            busy.set(true);
            action_error.set(None);
            spawn_local(async move {
                match set_member_subscribed(api, &member_id, !subscribed).await {
                    Ok(saved) => member.set(saved),
                    Err(error) => action_error.set(Some(error)),
                }
                busy.set(false);
            });
        }
    };
    let delete = {
        let member_id = member_id.clone();
        move |_| {
            let email = member.with_untracked(|member| member.email.clone());
            if !window()
                .confirm_with_message(&(i18n.t().member_delete_confirm)(&email))
                .unwrap_or(false)
            {
                return;
            }
            let member_id = member_id.clone();
            let navigate = navigate.clone();
            busy.set(true);
            action_error.set(None);
            spawn_local(async move {
                match delete_member(api, &member_id).await {
                    Ok(()) => navigate("/dashboard/members", Default::default()),
                    Err(error) => {
                        action_error.set(Some(error));
                        busy.set(false);
                    }
                }
            });
        }
    };

    let summary = move || {
        let t = i18n.t();
        let locale = i18n.locale();
        member.with(|member| {
            let status = if member.subscribed {
                view! { <span id="member-status" class="badge badge-success">{t.member_subscribed}</span> }
            } else if member.pending_confirmation {
                view! { <span id="member-status" class="badge badge-warning">{t.member_pending}</span> }
            } else {
                view! { <span id="member-status" class="badge">{t.member_unsubscribed}</span> }
            };
            let next_digest = member.next_digest_at.as_deref().map(|at| {
                view! { <span>" · " {t.member_next_digest} ": " {format::timestamp(at, locale)}</span> }
            });
            view! {
                <p class="member-summary">
                    {status}
                    <span class="muted">
                        " " {t.created_at} ": " {format::timestamp(&member.created_at, locale)}
                        " · " {t.updated_at} ": " {format::timestamp(&member.updated_at, locale)}
                        {next_digest}
                    </span>
                </p>
            }
        })
    };
    let deliveries_href = format!("/dashboard/deliveries?member={member_id}");
    let form = move || {
        form_version.track();
        let initial =
            fields.with_value(|fields| MemberDraft::from_member(&member.get_untracked(), fields));
        view! {
            <MemberForm
                fields=fields.get_value()
                initial=initial
                read_only=read_only
                pending=pending
                error=update_error
                submit_label=|t| t.save
                on_submit=move |input| {
                    just_saved.set(false);
                    update.dispatch_local(input);
                }
            />
        }
    };

    view! {
        {summary}
        <div class="toolbar">
            <a id="member-deliveries" class="button-link" href=deliveries_href>
                {move || i18n.t().member_deliveries}
            </a>
            <span class="toolbar-spacer"></span>
            <Show when=move || !read_only.get()>
                <button
                    id="member-subscribed-toggle"
                    type="button"
                    class="button-quiet"
                    disabled=move || busy.get()
                    on:click=toggle_subscribed.clone()
                >
                    {move || if member.with(|member| member.subscribed) {
                        i18n.t().member_unsubscribe
                    } else {
                        i18n.t().member_resubscribe
                    }}
                </button>
                <button
                    id="member-delete"
                    type="button"
                    class="button-danger-quiet"
                    disabled=move || busy.get()
                    on:click=delete.clone()
                >
                    {move || i18n.t().remove}
                </button>
            </Show>
        </div>
        <ErrorBanner error=action_error/>
        <Show when=move || just_saved.get() && !pending.get()>
            <p id="member-saved" class="notice success" role="status">{move || i18n.t().saved}</p>
        </Show>
        {form}
    }
}
