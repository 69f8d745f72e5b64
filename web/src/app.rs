//! The app root: context, routes and the two page layouts.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Outlet, ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{NavigateOptions, path};

use crate::api::Api;
use crate::components::{Loading, LocaleToggle, NavBar};
use crate::i18n::{I18n, use_i18n};
use crate::pages::api_keys::ApiKeysPage;
use crate::pages::auth::{LoginPage, SignupPage};
use crate::pages::broadcasts::BroadcastsPage;
use crate::pages::dashboard::HomePage;
use crate::pages::deliveries::{DeliveriesPage, DeliveryPage};
use crate::pages::imports::ImportsPage;
use crate::pages::listings::ListingsPage;
use crate::pages::match_rules::MatchRulesPage;
use crate::pages::member_pages::MemberPagesPage;
use crate::pages::members::{MemberDetailPage, MembersPage, NewMemberPage};
use crate::pages::not_found::NotFoundPage;
use crate::pages::schema::{ProfileFieldsPage, SchemaPage};
use crate::pages::senders::SendersPage;
use crate::pages::sequences::SequencesPage;
use crate::pages::suppressions::SuppressionsPage;
use crate::pages::templates::TemplatesPage;
use crate::session::{AuthState, SessionStore, use_session};

/// Provides the locale, session and API client, starts the session restore and renders the
/// routes.
#[component]
pub fn App() -> impl IntoView {
    let i18n = I18n::from_storage();
    let session = SessionStore::new();
    let api = Api::new(session, i18n);
    provide_context(i18n);
    provide_context(session);
    provide_context(api);

    spawn_local(api.restore_session());

    Effect::new(move |_| document().set_title(i18n.t().app_title));

    view! {
        <Router>
            <Routes fallback=|| view! { <PublicLayout><NotFoundPage/></PublicLayout> }>
                <Route path=path!("/") view=RootRedirect/>
                <Route path=path!("/login") view=|| view! { <PublicLayout><LoginPage/></PublicLayout> }/>
                <Route path=path!("/signup") view=|| view! { <PublicLayout><SignupPage/></PublicLayout> }/>
                <ParentRoute path=path!("/dashboard") view=DashboardLayout>
                    <Route path=path!("") view=HomePage/>
                    <Route path=path!("schema") view=SchemaPage/>
                    <Route path=path!("listings") view=ListingsPage/>
                    <Route path=path!("imports") view=ImportsPage/>
                    <Route path=path!("api-keys") view=ApiKeysPage/>
                    <Route path=path!("profile-fields") view=ProfileFieldsPage/>
                    <Route path=path!("match-rules") view=MatchRulesPage/>
                    <Route path=path!("members") view=MembersPage/>
                    <Route path=path!("members/new") view=NewMemberPage/>
                    <Route path=path!("members/:id") view=MemberDetailPage/>
                    <Route path=path!("templates") view=TemplatesPage/>
                    <Route path=path!("deliveries") view=DeliveriesPage/>
                    <Route path=path!("deliveries/:id") view=DeliveryPage/>
                    <Route path=path!("suppressions") view=SuppressionsPage/>
                    <Route path=path!("senders") view=SendersPage/>
                    <Route path=path!("sequences") view=SequencesPage/>
                    <Route path=path!("member-pages") view=MemberPagesPage/>
                    <Route path=path!("broadcasts") view=BroadcastsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Navigation options that replace the current history entry, for redirects that the Back
/// button should skip.
pub fn replace_history() -> NavigateOptions {
    NavigateOptions {
        replace: true,
        ..NavigateOptions::default()
    }
}

/// `/`: waits for the session restore, then goes to the dashboard or the login page.
#[component]
fn RootRedirect() -> impl IntoView {
    view! {
        <SessionGate signed_in=|| view! { <Redirect path="/dashboard" options=replace_history()/> }/>
    }
}

/// Shows a loading line while the session is being restored, sends signed-out visitors to
/// `/login`, and renders `signed_in` for a signed-in operator.
#[component]
fn SessionGate(#[prop(into)] signed_in: ViewFn) -> impl IntoView {
    let session = use_session();
    let gate = Memo::new(move |_| Gate::of(&session.state()));
    move || match gate.get() {
        Gate::Pending => view! { <main class="page-center"><Loading/></main> }.into_any(),
        Gate::Out => view! { <Redirect path="/login" options=replace_history()/> }.into_any(),
        Gate::In => signed_in.run(),
    }
}

/// The screen a guarded route shows. A memo over this, not over the whole
/// [`AuthState`], keeps a page from being rebuilt when only the operator details change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    Pending,
    Out,
    In,
}

impl Gate {
    fn of(state: &AuthState) -> Self {
        match state {
            AuthState::Restoring => Gate::Pending,
            AuthState::SignedOut => Gate::Out,
            AuthState::SignedIn { .. } => Gate::In,
        }
    }
}

/// Renders the frame of `/login`, `/signup` and the not-found page.
#[component]
fn PublicLayout(children: Children) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <header class="public-header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"便"</span>
                <span class="brand-name">{move || i18n.t().app_name}</span>
            </a>
            <LocaleToggle/>
        </header>
        <main class="public-main">{children()}</main>
    }
}

/// Renders the frame of every `/dashboard` page and sends signed-out visitors to `/login`.
#[component]
fn DashboardLayout() -> impl IntoView {
    view! {
        <SessionGate signed_in=|| view! {
            <NavBar/>
            <main class="dashboard-main">
                <Outlet/>
            </main>
        }/>
    }
}
