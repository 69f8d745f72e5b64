//! The dashboard's top bar: tenant name, page links, locale toggle and log-out.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::api::use_api;
use crate::app::replace_history;
use crate::components::{ErrorBanner, LocaleToggle};
use crate::i18n::use_i18n;
use crate::session::use_session;

/// Renders the navigation bar shown above every `/dashboard` page.
#[component]
pub fn NavBar() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let api = use_api();
    let navigate = use_navigate();

    let log_out = Action::new_local(move |_: &()| {
        let navigate = navigate.clone();
        async move {
            api.log_out().await?;
            navigate("/login", replace_history());
            Ok(())
        }
    });
    let log_out_error = Signal::derive(move || log_out.value().get().and_then(Result::err));

    let tenant_name = move || session.with_tenant(|tenant| tenant.name.clone());
    let operator_email = move || session.with_operator(|operator| operator.email.clone());

    view! {
        <header class="topbar">
            <div class="topbar-inner">
                <a class="brand" href="/dashboard">
                    <span class="brand-mark" aria-hidden="true">"便"</span>
                    <span class="brand-tenant">{tenant_name}</span>
                </a>
                <nav class="nav-links" aria-label=move || i18n.t().nav_label>
                    <A href="/dashboard" exact=true>{move || i18n.t().nav_home}</A>
                    <A href="/dashboard/schema">{move || i18n.t().nav_schema}</A>
                    <A href="/dashboard/listings">{move || i18n.t().nav_listings}</A>
                    <A href="/dashboard/imports">{move || i18n.t().nav_imports}</A>
                    <A href="/dashboard/profile-fields">{move || i18n.t().nav_profile_fields}</A>
                    <A href="/dashboard/match-rules">{move || i18n.t().nav_match_rules}</A>
                    <A href="/dashboard/members">{move || i18n.t().nav_members}</A>
                    <A href="/dashboard/templates">{move || i18n.t().nav_templates}</A>
                    <A href="/dashboard/sequences">{move || i18n.t().nav_sequences}</A>
                    <A href="/dashboard/broadcasts">{move || i18n.t().nav_broadcasts}</A>
                    <A href="/dashboard/member-pages">{move || i18n.t().nav_member_pages}</A>
                    <A href="/dashboard/deliveries">{move || i18n.t().nav_deliveries}</A>
                    <A href="/dashboard/suppressions">{move || i18n.t().nav_suppressions}</A>
                    <A href="/dashboard/senders">{move || i18n.t().nav_senders}</A>
                    <A href="/dashboard/api-keys">{move || i18n.t().nav_api_keys}</A>
                </nav>
                <div class="topbar-actions">
                    <span class="operator-email">{operator_email}</span>
                    <LocaleToggle/>
                    <button
                        id="logout"
                        type="button"
                        class="button-quiet"
                        disabled=move || log_out.pending().get()
                        on:click=move |_| {
                            log_out.dispatch_local(());
                        }
                    >
                        {move || {
                            if log_out.pending().get() {
                                i18n.t().logging_out
                            } else {
                                i18n.t().log_out
                            }
                        }}
                    </button>
                </div>
            </div>
            <ErrorBanner error=log_out_error/>
        </header>
    }
}
