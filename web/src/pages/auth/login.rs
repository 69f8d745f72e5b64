//! `/login`: signs an operator in to a tenant.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use serde::Deserialize;
use serde_json::json;

use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, FormField};
use crate::i18n::use_i18n;
use crate::session::{SESSION_FIELDS, Session, last_tenant, use_session};

#[derive(Clone)]
struct LogInInput {
    tenant_slug: String,
    email: String,
    password: String,
}

/// Renders the login form, with the tenant slug of the last login on this browser filled in. The
/// server's error message (already in the UI language) appears above the form.
#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let navigate = use_navigate();

    let slug = RwSignal::new(last_tenant().unwrap_or_default());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());

    let submit = Action::new_local(move |input: &LogInInput| {
        let input = input.clone();
        let navigate = navigate.clone();
        async move {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Data {
                log_in: Session,
            }
            let query = format!(
                "mutation LogIn($tenantSlug: String!, $email: String!, $password: String!) \
                 {{ logIn(input: {{tenantSlug: $tenantSlug, email: $email, password: $password}}) \
                 {{ {SESSION_FIELDS} }} }}"
            );
            let variables = json!({
                "tenantSlug": input.tenant_slug,
                "email": input.email,
                "password": input.password,
            });
            let data: Data = api.request_anonymous(&query, variables).await?;
            session.sign_in(&data.log_in);
            navigate("/dashboard", Default::default());
            Ok::<(), ApiError>(())
        }
    });

    let pending = submit.pending();
    let error = Signal::derive(move || submit.value().get().and_then(Result::err));
    let field_error = move |names: &'static [&'static str]| {
        Signal::derive(move || error.get().and_then(|error| error.message_for_field(names)))
    };

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        submit.dispatch_local(LogInInput {
            tenant_slug: slug.get_untracked().trim().to_owned(),
            email: email.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        });
    };

    view! {
        <section class="card auth-card">
            <h1>{move || i18n.t().login_title}</h1>
            <ErrorBanner error=error/>
            <form on:submit=on_submit novalidate=true>
                <FormField
                    id="login-slug"
                    label=|t| t.slug_label
                    value=slug
                    autocomplete="organization"
                    error=field_error(&["tenantSlug", "slug"])
                />
                <FormField
                    id="login-email"
                    label=|t| t.email_label
                    value=email
                    input_type="email"
                    autocomplete="username"
                    error=field_error(&["email"])
                />
                <FormField
                    id="login-password"
                    label=|t| t.password_label
                    value=password
                    input_type="password"
                    autocomplete="current-password"
                    error=field_error(&["password"])
                />
                <button
                    id="login-submit"
                    type="submit"
                    class="button-primary button-block"
                    disabled=move || pending.get()
                >
                    {move || if pending.get() { i18n.t().logging_in } else { i18n.t().log_in }}
                </button>
            </form>
            <p class="switch">
                {move || i18n.t().no_account}
                " "
                <A href="/signup">{move || i18n.t().go_to_signup}</A>
            </p>
        </section>
    }
}
