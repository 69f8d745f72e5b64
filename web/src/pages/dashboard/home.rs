//! `/dashboard`: the tenant, the signed-in operator, counts and links to every page.

use leptos::prelude::*;
use leptos_router::components::A;
use serde::Deserialize;
use serde_json::json;

use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, Loading};
use crate::format;
use crate::i18n::{Text, use_i18n};
use crate::session::use_session;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TenantSummary {
    listing_count: u64,
}

/// Renders the home page. The tenant name comes from the session, so it shows without waiting
/// for a request. The counts come from the `tenant` query.
#[component]
pub fn HomePage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();

    let summary = LocalResource::new(move || async move {
        #[derive(Deserialize)]
        struct Data {
            tenant: TenantSummary,
        }
        let data: Data = api
            .request(
                "query TenantSummary { tenant { name slug listingCount } }",
                json!({}),
            )
            .await?;
        Ok::<_, ApiError>(data.tenant)
    });

    let tenant_name = move || session.with_tenant(|tenant| tenant.name.clone());
    let tenant_slug = move || session.with_tenant(|tenant| tenant.slug.clone());
    let operator_email = move || session.with_operator(|operator| operator.email.clone());
    let operator_role =
        move || session.with_operator(|operator| i18n.t().role_label(&operator.role));
    let summary_error = Signal::derive(move || summary.get().and_then(Result::err));

    let listing_count = move || match summary.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Ok(summary)) => view! {
            <p class="stat-value">{format::number(summary.listing_count as f64, i18n.locale())}</p>
        }
        .into_any(),
        Some(Err(_)) => view! { <p class="stat-value">"–"</p> }.into_any(),
    };

    view! {
        <section class="page">
            <header class="page-header">
                <p class="eyebrow">{move || i18n.t().home_eyebrow}</p>
                <h1 id="tenant-name">{tenant_name}</h1>
                <p class="muted">
                    {move || i18n.t().slug_label} ": " <code>{tenant_slug}</code>
                </p>
            </header>
            <ErrorBanner error=summary_error/>
            <div class="stat-grid">
                <div class="card stat">
                    <p class="stat-label">{move || i18n.t().home_listing_count}</p>
                    {listing_count}
                </div>
                <div class="card stat">
                    <p class="stat-label">{move || i18n.t().home_signed_in_as}</p>
                    <p class="operator-line">
                        <span class="operator-email">{operator_email}</span>
                        <span class="badge">{operator_role}</span>
                    </p>
                </div>
            </div>
            <h2>{move || i18n.t().home_next_steps}</h2>
            <div class="link-grid">
                <HomeLink href="/dashboard/schema" title=|t| t.nav_schema description=|t| t.home_schema_description/>
                <HomeLink href="/dashboard/listings" title=|t| t.nav_listings description=|t| t.home_listings_description/>
                <HomeLink href="/dashboard/imports" title=|t| t.nav_imports description=|t| t.home_imports_description/>
                <HomeLink href="/dashboard/profile-fields" title=|t| t.nav_profile_fields description=|t| t.home_profile_fields_description/>
                <HomeLink href="/dashboard/match-rules" title=|t| t.nav_match_rules description=|t| t.home_match_rules_description/>
                <HomeLink href="/dashboard/members" title=|t| t.nav_members description=|t| t.home_members_description/>
                <HomeLink href="/dashboard/templates" title=|t| t.nav_templates description=|t| t.home_templates_description/>
                <HomeLink href="/dashboard/deliveries" title=|t| t.nav_deliveries description=|t| t.home_deliveries_description/>
                <HomeLink href="/dashboard/suppressions" title=|t| t.nav_suppressions description=|t| t.home_suppressions_description/>
                <HomeLink href="/dashboard/senders" title=|t| t.nav_senders description=|t| t.home_senders_description/>
                <HomeLink href="/dashboard/api-keys" title=|t| t.nav_api_keys description=|t| t.home_api_keys_description/>
            </div>
        </section>
    }
}

/// Renders a card that links to another dashboard page.
#[component]
fn HomeLink(href: &'static str, title: Text, description: Text) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <A href=href>
            <span class="card link-card">
                <span class="link-card-title">{move || title(i18n.t())}</span>
                <span class="link-card-text">{move || description(i18n.t())}</span>
            </span>
        </A>
    }
}
