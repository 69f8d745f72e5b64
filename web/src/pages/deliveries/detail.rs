//! `/dashboard/deliveries/:id`: one mail with its HTML and text parts, its headers, why its
//! recipient got it, and each attempt to send it.

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::model::{Delivery, DeliveryAttempt, DeliveryItem, fetch_delivery};
use crate::api::use_api;
use crate::components::{MailFrame, RemoteContent};
use crate::format;
use crate::i18n::{Catalogue, Locale, use_i18n};
use crate::pages::senders::SendingModeNotice;
use crate::remote::Remote;

/// Renders the delivery named by the route's `id`.
#[component]
pub fn DeliveryPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|params| params.get("id")).unwrap_or_default());
    move || {
        let id = id.get();
        view! { <DeliveryDetail id=id/> }
    }
}

/// Renders delivery `id`, fetching it again while it is queued, ready or being sent.
#[component]
fn DeliveryDetail(id: String) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let id = StoredValue::new(id);
    let delivery = Remote::<Delivery>::new();
    let fetch = move || {
        let id = id.get_value();
        delivery.load(async move { fetch_delivery(api, &id).await });
    };
    fetch();

    Effect::new(move |_| {
        let interval = delivery.with(|delivery| match delivery {
            Some(Ok(delivery)) => delivery.state.poll_interval_ms(),
            _ => None,
        });
        if let Some(interval) = interval {
            spawn_local(async move {
                TimeoutFuture::new(interval).await;
                // The page was left while waiting.
                if id.try_get_value().is_some() {
                    fetch();
                }
            });
        }
    });

    let render = move |loaded: Delivery| render_delivery(loaded, i18n.locale());

    view! {
        <section class="page">
            <header class="page-header">
                <p class="eyebrow"><a href="/dashboard/deliveries">{move || i18n.t().deliveries_title}</a></p>
                <h1 id="delivery-subject">
                    {move || delivery.with(|delivery| match delivery {
                        Some(Ok(delivery)) if !delivery.subject.is_empty() => delivery.subject.clone(),
                        Some(Ok(_)) => i18n.t().delivery_no_subject.to_owned(),
                        _ => String::new(),
                    })}
                </h1>
            </header>
            <SendingModeNotice/>
            <RemoteContent remote=delivery render=render/>
        </section>
    }
}

/// Renders the details, the "why" section and the mail's parts.
fn render_delivery(delivery: Delivery, locale: Locale) -> impl IntoView + use<> {
    let t = locale.catalogue();
    let member = delivery.member_id.as_ref().map(|member_id| {
        view! {
            <dt>{t.delivery_member}</dt>
            <dd>
                <a id="delivery-member" href=format!("/dashboard/members/{member_id}")>
                    {t.delivery_open_member}
                </a>
            </dd>
        }
    });
    let error = delivery.error.clone().map(|message| {
        view! {
            <div id="delivery-error" class="error" role="alert">
                <p>{message}</p>
            </div>
        }
    });
    let why = delivery
        .items
        .iter()
        .map(|item| render_item(item, t))
        .collect_view();
    let has_items = !delivery.items.is_empty();
    let attempts = render_attempts(&delivery.attempts, locale);

    view! {
        {error}
        <div class="card">
            <dl class="detail-list">
                <dt>{t.delivery_state}</dt>
                <dd>
                    <span id="delivery-state" class=delivery.state.badge_class() data-state=delivery.state.graphql_name()>
                        {delivery.state.label(t)}
                    </span>
                </dd>
                <dt>{t.delivery_kind}</dt>
                <dd>{delivery.kind.label(t)}</dd>
                <dt>{t.delivery_to}</dt>
                <dd id="delivery-to">{delivery.to_address.clone()}</dd>
                {member}
                <dt>{t.created_at}</dt>
                <dd>{format::timestamp(&delivery.created_at, locale)}</dd>
                <dt>{t.updated_at}</dt>
                <dd>{format::timestamp(&delivery.updated_at, locale)}</dd>
                <dt>{t.delivery_message_id}</dt>
                <dd class="mono">{delivery.message_id.clone()}</dd>
            </dl>
        </div>
        {attempts}
        <section id="delivery-why" class="card">
            <h2>{t.delivery_why_title}</h2>
            {(!has_items).then(|| view! { <p class="empty">{t.delivery_why_empty}</p> })}
            {why}
        </section>
        <section class="card mail-view">
            <h2>{t.mail_html_part}</h2>
            <MailFrame id="delivery-html" html=delivery.html_body.clone() title=|t| t.mail_html_part/>
            <h2>{t.mail_text_part}</h2>
            <pre id="delivery-text" class="code-block mail-text">{delivery.text_body.clone()}</pre>
            <h2>{t.delivery_headers}</h2>
            <pre id="delivery-headers" class="code-block mail-text">{delivery.headers.clone()}</pre>
        </section>
    }
}

/// Renders the "attempts" table, oldest first. Rows have the class `attempt-row` and the
/// outcome in `data-outcome`.
fn render_attempts(attempts: &[DeliveryAttempt], locale: Locale) -> impl IntoView + use<> {
    let t = locale.catalogue();
    let rows = attempts
        .iter()
        .map(|attempt| {
            view! {
                <tr class="attempt-row" data-outcome=attempt.outcome.name()>
                    <td class="nowrap">{format::timestamp(&attempt.started_at, locale)}</td>
                    <td><span class=attempt.outcome.badge_class()>{attempt.outcome.label(t)}</span></td>
                    <td class="mono">{attempt.fault_code.clone().unwrap_or_default()}</td>
                    <td class="nowrap number">{(t.attempt_duration)(attempt.duration_ms)}</td>
                    <td><pre class="attempt-response">{attempt.response.clone()}</pre></td>
                </tr>
            }
        })
        .collect_view();
    let is_empty = attempts.is_empty();
    view! {
        <section id="delivery-attempts" class="card">
            <h2>{t.delivery_attempts_title}</h2>
            {is_empty.then(|| view! { <p class="empty">{t.delivery_attempts_empty}</p> })}
            {(!is_empty).then(|| view! {
                <div class="table-scroll">
                    <table class="data-table">
                        <thead>
                            <tr>
                                <th scope="col">{t.attempt_started_at}</th>
                                <th scope="col">{t.attempt_outcome}</th>
                                <th scope="col">{t.attempt_fault_code}</th>
                                <th scope="col">{t.attempt_duration_column}</th>
                                <th scope="col">{t.attempt_response}</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            })}
        </section>
    }
}

/// Renders one listing of a delivery with the rule that matched it and each clause's values.
fn render_item(item: &DeliveryItem, t: &'static Catalogue) -> impl IntoView + use<> {
    let reasons = item
        .reasons
        .iter()
        .map(|reason| {
            let held = if reason.held {
                t.delivery_reason_held
            } else {
                t.delivery_reason_not_held
            };
            view! {
                <tr class="why-reason">
                    <td>{reason.field.clone()}</td>
                    <td>{reason.listing_value.clone()}</td>
                    <td>{reason.condition.clone()}</td>
                    <td>{held}</td>
                </tr>
            }
        })
        .collect_view();
    let update = item.update.then(
        || view! { <span class="badge badge-warning">{t.delivery_kind_listing_update}</span> },
    );
    view! {
        <div class="why-item" data-listing-id=item.listing_id.clone()>
            <h3>
                <span class="why-headline">{item.headline.clone()}</span> " "
                <span class="muted">"(" {t.external_id} ": "
                <span class="mono">{item.external_id.clone()}</span> ")"</span> " " {update}
            </h3>
            <p>
                {t.delivery_why_rule} ": " <strong class="why-rule">{item.rule_name.clone()}</strong>
            </p>
            <div class="table-scroll">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">{t.import_error_field}</th>
                            <th scope="col">{t.delivery_listing_value}</th>
                            <th scope="col">{t.delivery_condition}</th>
                            <th scope="col">{t.delivery_reason_result}</th>
                        </tr>
                    </thead>
                    <tbody>{reasons}</tbody>
                </table>
            </div>
        </div>
    }
}
