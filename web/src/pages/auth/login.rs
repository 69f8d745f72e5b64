//! `/login`: signs an operator in to a tenant.

use leptos::prelude::*;
use leptos_router::components::A;
use serde_json::json;

use super::form::SessionForm;
use crate::components::{ErrorBanner, FormField};
use crate::i18n::use_i18n;
use crate::session::{SESSION_FIELDS, last_tenant};

/// Renders the login form, with the tenant slug of the last login on this browser filled in. The
/// server's error message (already in the UI language) appears above the form.
#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();

    let slug = RwSignal::new(last_tenant().unwrap_or_default());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());

    let form = SessionForm::new("logIn");
    let pending = form.pending();
    let error = form.error();

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let query = format!(
            "mutation LogIn($tenantSlug: String!, $email: String!, $password: String!) \
             {{ logIn(input: {{tenantSlug: $tenantSlug, email: $email, password: $password}}) \
             {{ {SESSION_FIELDS} }} }}"
        );
        let variables = json!({
            "tenantSlug": slug.get_untracked().trim(),
            "email": email.get_untracked().trim(),
            "password": password.get_untracked(),
        });
        form.submit(query, variables);
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
                    error=form.field_error(&["tenantSlug", "slug"])
                />
                <FormField
                    id="login-email"
                    label=|t| t.email_label
                    value=email
                    input_type="email"
                    autocomplete="username"
                    error=form.field_error(&["email"])
                />
                <FormField
                    id="login-password"
                    label=|t| t.password_label
                    value=password
                    input_type="password"
                    autocomplete="current-password"
                    error=form.field_error(&["password"])
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
