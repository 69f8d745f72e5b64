//! The one-click unsubscribe link of every mail (RFC 8058): `POST /u/{token}` unsubscribes at
//! once, without login or cookie, and responds with 200 (never a redirect). `GET` shows what the link
//! will do and a button, and changes nothing, because link scanners fetch every URL.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use domain::{
    Locale,
    sending::unsubscribe::{self, Subscription},
};

use crate::{
    AppState,
    http::member_pages::html::{Masthead, layout},
};

pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let locale = locale_of(&headers);
    match unsubscribe::find(&state.db, &state.sending.secrets, &token).await {
        Ok(Some(subscription)) => {
            let page = confirm(&subscription, subscription.locale);
            branded(StatusCode::OK, &subscription, page)
        }
        Ok(None) => not_found(locale),
        Err(error) => failure(locale, &error),
    }
}

pub async fn apply(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let locale = locale_of(&headers);
    match unsubscribe::apply(&state.db, &state.sending.secrets, &token).await {
        Ok(Some(subscription)) => {
            let page = done(&subscription, subscription.locale);
            branded(StatusCode::OK, &subscription, page)
        }
        Ok(None) => not_found(locale),
        Err(error) => failure(locale, &error),
    }
}

fn locale_of(headers: &HeaderMap) -> Locale {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .map_or(Locale::Ja, Locale::from_accept_language)
}

/// Returns the title and body of the confirmation page shown before unsubscribing.
fn confirm(subscription: &Subscription, locale: Locale) -> (&'static str, String) {
    let tenant = escape(&subscription.tenant_name);
    let address = escape(&subscription.masked_address);
    if subscription.already_unsubscribed {
        return match locale {
            Locale::Ja => (
                "配信停止済みです",
                format!("<p>{address} への{tenant}からのメールは既に停止しています。</p>"),
            ),
            Locale::En => (
                "Already unsubscribed",
                format!("<p>{tenant} no longer sends mail to {address}.</p>"),
            ),
        };
    }
    let (title, text, button) = match locale {
        Locale::Ja => (
            "メール配信の停止",
            format!("{tenant}から {address} へのメールをすべて停止します。"),
            "配信を停止する",
        ),
        Locale::En => (
            "Unsubscribe",
            format!("Stop all mail from {tenant} to {address}."),
            "Unsubscribe",
        ),
    };
    let body = format!(
        "<p>{text}</p>\
         <form method=\"post\" class=\"card\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\" class=\"button-primary\">{button}</button></form>"
    );
    (title, body)
}

/// Returns the title and body of the page after unsubscribing.
fn done(subscription: &Subscription, locale: Locale) -> (&'static str, String) {
    let tenant = escape(&subscription.tenant_name);
    let address = escape(&subscription.masked_address);
    match locale {
        Locale::Ja => (
            "配信を停止しました",
            format!("<p>{tenant}から {address} へのメールは今後送信されません。</p>"),
        ),
        Locale::En => (
            "You are unsubscribed",
            format!("<p>{tenant} will send no more mail to {address}.</p>"),
        ),
    }
}

fn not_found(locale: Locale) -> Response {
    let body = locale.pick(
        "<h1>リンクが無効です</h1><p>このリンクは使えません。届いたメールのリンクをそのまま開いてください。</p>",
        "<h1>Invalid link</h1><p>This link does not work. Open the link from the mail as it is.</p>",
    );
    page(StatusCode::NOT_FOUND, locale, body)
}

fn failure(locale: Locale, error: &domain::Error) -> Response {
    tracing::error!(error = ?error, "unsubscribe link failed");
    let body = locale.pick(
        "<h1>処理できませんでした</h1><p>時間をおいてもう一度お試しください。</p>",
        "<h1>Something went wrong</h1><p>Please try again in a few minutes.</p>",
    );
    page(StatusCode::SERVICE_UNAVAILABLE, locale, body)
}

/// Renders a page of a known mail in the mail's language, under the tenant's logo and colours.
fn branded(
    status: StatusCode,
    subscription: &Subscription,
    (title, body): (&str, String),
) -> Response {
    let masthead = match &subscription.tenant {
        Some(tenant) => Masthead::of(tenant),
        None => Masthead::plain(),
    };
    let html = layout(subscription.locale, &masthead, title, &body, true);
    (status, Html(html)).into_response()
}

fn page(status: StatusCode, locale: Locale, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>Tayori</title></head>\
         <body style=\"font-family:sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.6\">\
         {body}</body></html>",
        locale.as_str()
    );
    (status, Html(html)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
