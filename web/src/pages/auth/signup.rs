//! `/signup`: creates a tenant and its first operator (the owner).

use leptos::prelude::*;
use leptos_router::components::A;
use serde_json::json;

use super::form::SessionForm;
use super::{is_short_password, is_valid_slug};
use crate::components::{ErrorBanner, FormField};
use crate::i18n::use_i18n;
use crate::session::SESSION_FIELDS;

/// Renders the sign-up form. On success the operator is signed in and sent to `/dashboard`.
#[component]
pub fn SignupPage() -> impl IntoView {
    let i18n = use_i18n();

    let name = RwSignal::new(String::new());
    let slug = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());

    let form = SessionForm::new("signUp");
    let pending = form.pending();
    let error = form.error();
    let slug_invalid =
        Signal::derive(move || slug.with(|slug| !slug.is_empty() && !is_valid_slug(slug)));
    let password_short =
        Signal::derive(move || password.with(|password| is_short_password(password)));

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        // The locale enum is written into the query text, so only `String` variables are
        // declared (see the `api` module).
        let query = format!(
            "mutation SignUp($tenantName: String!, $tenantSlug: String!, $email: String!, \
             $password: String!) {{ signUp(input: {{tenantName: $tenantName, \
             tenantSlug: $tenantSlug, email: $email, password: $password, locale: {locale}}}) \
             {{ {SESSION_FIELDS} }} }}",
            locale = i18n.locale_untracked().graphql_enum(),
        );
        let variables = json!({
            "tenantName": name.get_untracked().trim(),
            "tenantSlug": slug.get_untracked().trim(),
            "email": email.get_untracked().trim(),
            "password": password.get_untracked(),
        });
        form.submit(query, variables);
    };

    view! {
        <section class="card auth-card">
            <h1>{move || i18n.t().signup_title}</h1>
            <p class="lead">{move || i18n.t().signup_lead}</p>
            <ErrorBanner error=error/>
            <form on:submit=on_submit novalidate=true>
                <FormField
                    id="signup-name"
                    label=|t| t.signup_name_label
                    value=name
                    autocomplete="organization"
                    error=form.field_error(&["tenantName", "name"])
                />
                <FormField
                    id="signup-slug"
                    label=|t| t.slug_label
                    value=slug
                    autocomplete="off"
                    hint=|t| t.slug_hint
                    hint_warning=slug_invalid
                    error=form.field_error(&["tenantSlug", "slug"])
                />
                <FormField
                    id="signup-email"
                    label=|t| t.email_label
                    value=email
                    input_type="email"
                    autocomplete="email"
                    error=form.field_error(&["email"])
                />
                <FormField
                    id="signup-password"
                    label=|t| t.password_label
                    value=password
                    input_type="password"
                    autocomplete="new-password"
                    hint=|t| t.password_hint
                    hint_warning=password_short
                    error=form.field_error(&["password"])
                />
                <button
                    id="signup-submit"
                    type="submit"
                    class="button-primary button-block"
                    disabled=move || pending.get()
                >
                    {move || if pending.get() { i18n.t().signing_up } else { i18n.t().sign_up }}
                </button>
            </form>
            <p class="switch">
                {move || i18n.t().have_account}
                " "
                <A href="/login">{move || i18n.t().go_to_login}</A>
            </p>
        </section>
    }
}
