//! The member pages of each tenant under `/m/{slug}/`: sign-up with double opt-in, login,
//! conditions and mail frequency, password change and reset, unsubscribe from everything and
//! account deletion. Server-rendered HTML forms without scripts, in Japanese or English
//! (`?lang=en`, else the browser's language).
//!
//! Every form carries a CSRF token that must equal the `tayori_csrf` cookie (SameSite=Strict),
//! so another site cannot post a form in a member's name. The session cookie is HttpOnly and
//! scoped to the tenant's path. Sign-up, login and reset requests are rate limited per client
//! address, and their responses never reveal whether an address is registered.

pub(crate) mod html;

use axum::{
    Form, Router,
    extract::{ConnectInfo, Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::Utc;
use domain::{
    Locale, TenantId,
    entities::{member, tenant},
    members::{
        Frequency, MemberInput,
        accounts::{self, Links, Signup},
        profile_fields,
    },
};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Map, Value};

use self::html::{
    Masthead, csrf_input, escape, form_error, form_errors, frequency_select, input, layout, notice,
    pick,
};
use crate::AppState;

/// Returns the value of an `Ok`, or returns the response of an `Err` from the handler.
macro_rules! or_respond {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(response) => return response,
        }
    };
}

const CSRF_COOKIE: &str = "tayori_csrf";
const SESSION_COOKIE: &str = "tayori_member";

/// Returns the member-page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/m/{slug}/signup", get(signup_page).post(signup))
        .route("/m/{slug}/confirm/{token}", get(confirm_page).post(confirm))
        .route("/m/{slug}/login", get(login_page).post(login))
        .route("/m/{slug}/account", get(account_page).post(update_account))
        .route("/m/{slug}/password", post(change_password))
        .route("/m/{slug}/logout", post(logout))
        .route("/m/{slug}/unsubscribe", post(unsubscribe))
        .route("/m/{slug}/delete", post(delete))
        .route(
            "/m/{slug}/reset",
            get(reset_request_page).post(reset_request),
        )
        .route("/m/{slug}/reset/{token}", get(reset_page).post(reset))
        .route("/m/{slug}/logo", get(logo))
}

/// Serves the tenant's logo. The page links it with a version in the query, so a browser may
/// keep it for a year: a new logo gets a new address.
async fn logo(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let not_found = || StatusCode::NOT_FOUND.into_response();
    let tenant = match domain::tenants::find_by_slug(&state.db, &slug).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => return not_found(),
        Err(error) => return internal(Locale::Ja, &error),
    };
    match domain::branding::logo(&state.db, TenantId(tenant.id)).await {
        Ok(Some(logo)) => (
            [
                (header::CONTENT_TYPE, logo.content_type),
                (
                    header::CACHE_CONTROL,
                    "public, max-age=31536000, immutable".to_owned(),
                ),
            ],
            logo.image,
        )
            .into_response(),
        Ok(None) => not_found(),
        Err(error) => internal(Locale::Ja, &error),
    }
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

type Fields = Form<Vec<(String, String)>>;
type Client = ConnectInfo<std::net::SocketAddr>;

/// The context of one member-page request: the tenant, the language, the CSRF token (new when
/// the browser has none), and the session token if any.
struct Visit {
    tenant: tenant::Model,
    locale: Locale,
    csrf: String,
    new_csrf: bool,
    session: Option<String>,
    /// The member page the request came from (from `Referer`, sent for same-origin requests),
    /// as a path under `/m/{slug}/`.
    came_from: Option<String>,
}

impl Visit {
    async fn start(
        state: &AppState,
        slug: &str,
        headers: &HeaderMap,
        query: &LangQuery,
    ) -> Result<Self, Response> {
        let locale = match query.lang.as_deref() {
            Some(lang) => Locale::from_tag(lang),
            None => headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok())
                .map_or(Locale::Ja, Locale::from_accept_language),
        };
        let tenant = match domain::tenants::find_by_slug(&state.db, slug).await {
            Ok(Some(tenant)) => tenant,
            Ok(None) => {
                return Err(plain(
                    StatusCode::NOT_FOUND,
                    locale,
                    "ページが見つかりません。",
                    "Page not found.",
                ));
            }
            Err(error) => return Err(internal(locale, &error)),
        };
        let csrf = cookie(headers, CSRF_COOKIE);
        let new_csrf = csrf.is_none();
        let prefix = format!("/m/{}/", tenant.slug);
        let came_from = headers
            .get(header::REFERER)
            .and_then(|value| value.to_str().ok())
            .and_then(|referer| {
                referer
                    .find(&prefix)
                    .map(|start| referer[start..].to_owned())
            })
            .filter(|path| !path.contains(['"', '<', '>']));
        Ok(Self {
            tenant,
            locale,
            csrf: csrf.unwrap_or_else(domain::auth::tokens::random_token),
            new_csrf,
            session: cookie(headers, &session_cookie_name(slug)),
            came_from,
        })
    }

    fn tenant_id(&self) -> TenantId {
        TenantId(self.tenant.id)
    }

    fn t<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        pick(self.locale, ja, en)
    }

    fn path(&self, rest: &str) -> String {
        let lang = match self.locale {
            Locale::Ja => "",
            Locale::En => "?lang=en",
        };
        format!("/m/{}/{rest}{lang}", self.tenant.slug)
    }

    /// Checks the form's CSRF token against the cookie.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the page to send, built at most once per request"
    )]
    fn check_csrf(&self, form: &[(String, String)]) -> Result<(), Response> {
        let posted = field(form, "csrf");
        if !self.new_csrf && !posted.is_empty() && posted == self.csrf {
            return Ok(());
        }
        // Without the cookie the browser either refuses cookies or the form came from elsewhere.
        let (ja, en) = if self.new_csrf {
            (
                "フォームを確認できませんでした。このサイトのクッキーを許可し、ページを再読み込みしてから、もう一度送信してください。",
                "The form could not be verified. Allow cookies for this site, reload the page and send the form again.",
            )
        } else {
            (
                "フォームの有効期限が切れました。ページを再読み込みして、もう一度お試しください。",
                "This form has expired. Reload the page and try again.",
            )
        };
        let back = self.came_from.clone().unwrap_or_else(|| self.path("login"));
        let body = format!(
            "{}<p><a class=\"next-link\" href=\"{}\">{}</a></p>",
            notice("error", pick(self.locale, ja, en)),
            escape(&back),
            escape(self.t("フォームに戻る", "Back to the form")),
        );
        Err(self.page(
            StatusCode::FORBIDDEN,
            self.t("送信できませんでした", "The form was not sent"),
            &body,
        ))
    }

    /// Renders a page, setting the CSRF cookie when the browser had none.
    fn page(&self, status: StatusCode, title: &str, body: &str) -> Response {
        let mut response = (
            status,
            Html(layout(
                self.locale,
                &Masthead::of(&self.tenant),
                title,
                body,
                false,
            )),
        )
            .into_response();
        if self.new_csrf {
            let value = format!(
                "{CSRF_COOKIE}={}; Path=/m/; HttpOnly; SameSite=Strict",
                self.csrf
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// Renders a page with one notice and an optional link below it.
    fn message_page(
        &self,
        status: StatusCode,
        title: &str,
        kind: &str,
        text: &str,
        link: Option<(&str, &str)>,
    ) -> Response {
        let link = link.map_or_else(String::new, |(rest, label)| {
            format!(
                "<p><a class=\"next-link\" href=\"{}\">{}</a></p>",
                self.path(rest),
                escape(label)
            )
        });
        self.page(status, title, &format!("{}{link}", notice(kind, text)))
    }

    fn links(&self, state: &AppState) -> Links {
        let base = format!(
            "{}/m/{}",
            state.sending.public_url.trim_end_matches('/'),
            self.tenant.slug
        );
        let lang = match self.locale {
            Locale::Ja => "",
            Locale::En => "?lang=en",
        };
        Links {
            confirm: format!("{base}/confirm/{{token}}{lang}"),
            reset: format!("{base}/reset/{{token}}{lang}"),
            login: format!("{base}/login{lang}"),
        }
    }

    /// Loads the logged-in member, or returns a redirect to the login page.
    async fn member(&self, state: &AppState) -> Result<(member::Model, String), Response> {
        let token = self.session.clone().ok_or_else(|| self.login_redirect())?;
        match accounts::session_member(&state.db, self.tenant_id(), &token, Utc::now()).await {
            Ok(Some(member)) => Ok((member, token)),
            Ok(None) => Err(self.login_redirect()),
            Err(error) => Err(internal(self.locale, &error)),
        }
    }

    /// Turns a failure to read or count attempts into the server-error page.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the page to send, built at most once per request"
    )]
    fn limit<T>(&self, result: domain::error::Result<T>) -> Result<T, Response> {
        result.map_err(|error| internal(self.locale, &error))
    }

    /// Checks each limiter's budget for its key, in order, and returns the "please wait" page
    /// of the first one that is used up.
    async fn within_limits(
        &self,
        db: &sea_orm::DatabaseConnection,
        budgets: &[(&domain::auth::rate_limit::AttemptLimiter, &str)],
        now: chrono::DateTime<Utc>,
    ) -> Result<(), Response> {
        for (limiter, key) in budgets {
            if let Some(retry) = self.limit(limiter.check(db, key, now).await)? {
                return Err(limited(self, retry));
            }
        }
        Ok(())
    }

    /// Tells the browser to drop the session cookie, whose session has ended.
    fn without_session_cookie(&self, mut response: Response) -> Response {
        let cookie = format!(
            "{}=; Path=/m/{}/; HttpOnly; SameSite=Lax; Max-Age=0",
            session_cookie_name(&self.tenant.slug),
            self.tenant.slug,
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }

    fn login_redirect(&self) -> Response {
        Redirect::to(&self.path("login")).into_response()
    }
}

fn session_cookie_name(slug: &str) -> String {
    // One cookie per tenant, so that members of two tenants on one browser stay apart.
    format!("{SESSION_COOKIE}_{}", slug.replace('-', "_"))
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// Reads the profile fields of a form: checkboxes named `p.{field}` give a list, other inputs
/// a text.
fn profile_of(
    form: &[(String, String)],
    fields: &[profile_fields::ProfileField],
) -> Map<String, Value> {
    let mut profile = Map::new();
    for definition in fields {
        let key = format!("p.{}", definition.name);
        let values: Vec<&str> = form
            .iter()
            .filter(|(name, value)| *name == key && !value.trim().is_empty())
            .map(|(_, value)| value.trim())
            .collect();
        let value = if definition.field_type == domain::listings::schema::FieldType::Enum {
            Value::Array(
                values
                    .into_iter()
                    .map(|v| Value::String(v.to_owned()))
                    .collect(),
            )
        } else {
            match values.first() {
                Some(text) => Value::String((*text).to_owned()),
                None => continue,
            }
        };
        profile.insert(definition.name.clone(), value);
    }
    profile
}

/// Reads the frequency select; a value that is not one of its options is an error.
fn frequency_of(form: &[(String, String)]) -> Result<Frequency, domain::Error> {
    match field(form, "frequency") {
        "" => Ok(Frequency::Instant),
        value => Frequency::parse(value).ok_or_else(|| {
            let allowed = [("instant", "即時"), ("daily", "毎日"), ("weekly", "毎週")]
                .iter()
                .map(|(value, ja)| ((*value).to_owned(), (*ja).to_owned(), (*value).to_owned()))
                .collect();
            domain::ValidationError::new(
                "frequency",
                Some(value),
                domain::Problem::UnknownOption { allowed },
            )
            .into()
        }),
    }
}

/// Replaces a profile field's name in a validation error by its label, so that members read
/// 「賃料の上限」 rather than `max_rent`, and lists options by their labels alone.
fn with_label(
    error: domain::Error,
    fields: &[profile_fields::ProfileField],
    locale: Locale,
) -> domain::Error {
    match error {
        domain::Error::Validation(mut validation) => {
            if let Some(definition) = fields.iter().find(|f| f.name == validation.field) {
                validation.field =
                    pick(locale, &definition.label_ja, &definition.label_en).to_owned();
            }
            // Members choose by label; the stored values are for integrators.
            if let domain::Problem::UnknownOption { allowed } = &mut validation.problem {
                for (value, ja, en) in allowed.iter_mut() {
                    *value = pick(locale, ja, en).to_owned();
                }
            }
            domain::Error::Validation(validation)
        }
        other => other,
    }
}

/// Writes a stored profile value back into a text input.
pub(crate) fn profile_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Array(items) => items
            .iter()
            .map(profile_text)
            .collect::<Vec<_>>()
            .join("、"),
        Value::Object(object) if object.contains_key("radiusKm") => {
            let part = |key: &str| object.get(key).map(profile_text).unwrap_or_default();
            format!("{},{},{}", part("lat"), part("lon"), part("radiusKm"))
        }
        Value::Object(object) => {
            let side = |key: &str| object.get(key).map(profile_text).unwrap_or_default();
            format!("{}～{}", side("min"), side("max"))
        }
        _ => String::new(),
    }
}

fn plain(status: StatusCode, locale: Locale, ja: &str, en: &str) -> Response {
    let text = pick(locale, ja, en);
    (
        status,
        Html(layout(locale, &Masthead::plain(), text, "", false)),
    )
        .into_response()
}

fn internal(locale: Locale, error: &domain::Error) -> Response {
    tracing::error!(error = ?error, "member page failed");
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        locale,
        "サーバーで問題が発生しました。しばらくしてからもう一度お試しください。",
        "Something went wrong on the server. Please try again shortly.",
    )
}

fn limited(visit: &Visit, retry_after_secs: u64) -> Response {
    let minutes = retry_after_secs.div_ceil(60);
    let text = match visit.locale {
        Locale::Ja => format!("試行回数が多すぎます。{minutes}分後にもう一度お試しください。"),
        Locale::En => format!("Too many attempts. Try again in {minutes} minutes."),
    };
    visit.page(
        StatusCode::TOO_MANY_REQUESTS,
        visit.t("しばらくお待ちください", "Please wait"),
        &notice("error", &text),
    )
}

/// Queues the outbox so that an account mail goes out at once; the reconciler would find it too.
async fn queue_outbox(state: &AppState, tenant_id: TenantId) {
    let job = worker::Job::new(tenant_id, worker::jobs::JobKind::CaptureOutbox);
    if let Err(error) = state.queue.push(job).await {
        tracing::warn!(error = ?error, "queuing the outbox failed; the reconciler will");
    }
}

const CONSENT_JA: &str =
    "このサービスからのお知らせメール（広告・宣伝を含みます）の受信に同意します。";
const CONSENT_EN: &str = "I agree to receive mail from this service, including advertising.";

fn signup_form(
    visit: &Visit,
    fields: &[profile_fields::ProfileField],
    form: &[(String, String)],
    errors: &[domain::Error],
) -> String {
    let locale = visit.locale;
    let profile = profile_of(form, fields);
    let frequency = match field(form, "frequency") {
        "" => "instant",
        other => other,
    };
    format!(
        "{error}<form id=\"signup-form\" method=\"post\" action=\"{action}\" class=\"card\">{csrf}\
         {email}{password}{profile}{frequency}\
         <label class=\"checkbox\"><input type=\"checkbox\" name=\"consent\" value=\"yes\" required{consented}> {consent}</label>\
         <div class=\"toolbar\"><button type=\"submit\" class=\"button-primary\">{submit}</button></div></form>\
         <p><a href=\"{login}\">{have_account}</a></p>",
        error = form_errors(errors, locale),
        action = visit.path("signup"),
        csrf = csrf_input(&visit.csrf),
        email = input(
            "email",
            "email",
            pick(locale, "メールアドレス", "Email address"),
            field(form, "email"),
            "email"
        ),
        password = input(
            "password",
            "password",
            pick(
                locale,
                "パスワード（10文字以上）",
                "Password (10 characters or more)"
            ),
            "",
            "new-password"
        ),
        profile = html::profile_inputs(fields, &profile, locale),
        frequency = frequency_select(frequency, locale),
        consent = escape(pick(locale, CONSENT_JA, CONSENT_EN)),
        consented = if field(form, "consent") == "yes" {
            " checked"
        } else {
            ""
        },
        submit = pick(locale, "仮登録する", "Sign up"),
        login = visit.path("login"),
        have_account = pick(
            locale,
            "登録済みの方はこちらからログイン",
            "Already registered? Log in"
        ),
    )
}

async fn signup_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    let fields = or_respond!(
        profile_fields::get(&state.db, visit.tenant_id())
            .await
            .map_err(|error| internal(visit.locale, &error))
    );
    let body = signup_form(&visit, &fields, &[], &[]);
    visit.page(StatusCode::OK, visit.t("会員登録", "Sign up"), &body)
}

async fn signup(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    ConnectInfo(client): Client,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    or_respond!(visit.check_csrf(&form));

    let key = format!("{}|{}", visit.tenant.id, client.ip());
    let now = Utc::now();
    let signups = &state.member_limits.signups;
    or_respond!(
        visit
            .within_limits(&state.db, &[(signups, &key)], now)
            .await
    );

    let fields = or_respond!(
        profile_fields::get(&state.db, visit.tenant_id())
            .await
            .map_err(|error| internal(visit.locale, &error))
    );
    let title = visit.t("会員登録", "Sign up");
    // Every problem of the form is shown at once, each named by its label.
    let mut errors = Vec::new();
    if field(&form, "consent") != "yes" {
        errors.push(domain::Error::from(domain::ValidationError::new(
            "consent",
            None,
            domain::Problem::MustAgree,
        )));
    }
    let frequency = frequency_of(&form).unwrap_or_else(|error| {
        errors.push(error);
        Frequency::Instant
    });
    let input = Signup {
        email: field(&form, "email").to_owned(),
        password: SecretString::from(field(&form, "password").to_owned()),
        locale: visit.locale,
        frequency,
        profile: profile_of(&form, &fields),
        consent_text: pick(visit.locale, CONSENT_JA, CONSENT_EN).to_owned(),
    };
    let problems = or_respond!(
        accounts::signup_problems(&state.db, visit.tenant_id(), &input)
            .await
            .map_err(|error| internal(visit.locale, &error))
    );
    errors.extend(
        problems
            .into_iter()
            .map(|problem| with_label(problem.into(), &fields, visit.locale)),
    );
    if !errors.is_empty() {
        let body = signup_form(&visit, &fields, &form, &errors);
        return visit.page(StatusCode::UNPROCESSABLE_ENTITY, title, &body);
    }

    match accounts::sign_up(
        &state.db,
        visit.tenant_id(),
        input,
        &visit.links(&state),
        Utc::now(),
    )
    .await
    {
        Ok(()) => {
            or_respond!(visit.limit(signups.record(&state.db, &key, now).await));
            queue_outbox(&state, visit.tenant_id()).await;
            let body = notice(
                "success",
                visit.t(
                    "確認のメールを送信しました。メールのリンクを開いて本登録を完了してください。届かない場合は迷惑メールフォルダもご確認ください。",
                    "We sent you a confirmation mail. Open its link to complete your sign-up. If it does not arrive, check your spam folder.",
                ),
            );
            visit.page(
                StatusCode::OK,
                visit.t("メールを確認してください", "Check your mail"),
                &body,
            )
        }
        Err(error @ domain::Error::Validation(_)) => {
            let errors = [with_label(error, &fields, visit.locale)];
            let body = signup_form(&visit, &fields, &form, &errors);
            visit.page(StatusCode::UNPROCESSABLE_ENTITY, title, &body)
        }
        Err(error) => internal(visit.locale, &error),
    }
}

async fn confirm_page(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    // Link scanners open every URL in a mail, so GET only shows the confirm button.
    let body = format!(
        "<p>{text}</p><form id=\"confirm-form\" method=\"post\" action=\"{action}\">{csrf}\
         <button type=\"submit\" class=\"button-primary\">{submit}</button></form>",
        text = escape(visit.t(
            "下のボタンを押すと本登録が完了し、メールの配信が始まります。",
            "Press the button to complete your sign-up and start receiving mail."
        )),
        action = visit.path(&format!("confirm/{}", escape(&token))),
        csrf = csrf_input(&visit.csrf),
        submit = visit.t("本登録する", "Confirm"),
    );
    visit.page(
        StatusCode::OK,
        visit.t("本登録", "Confirm your sign-up"),
        &body,
    )
}

async fn confirm(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    or_respond!(visit.check_csrf(&form));
    match accounts::confirm(&state.db, visit.tenant_id(), &token, Utc::now()).await {
        Ok(Some(_)) => visit.message_page(
            StatusCode::OK,
            visit.t("本登録が完了しました", "Sign-up complete"),
            "success",
            visit.t(
                "本登録が完了しました。ご登録ありがとうございます。",
                "Your sign-up is complete. Thank you.",
            ),
            Some((
                "login",
                visit.t(
                    "ログインして希望条件を確認する",
                    "Log in to review your conditions",
                ),
            )),
        ),
        Ok(None) => visit.message_page(
            StatusCode::NOT_FOUND,
            visit.t("リンクが無効です", "Invalid link"),
            "error",
            visit.t(
                "このリンクは使用済みか、有効期限が切れています。",
                "This link was used already or has expired.",
            ),
            Some(("signup", visit.t("もう一度登録する", "Sign up again"))),
        ),
        Err(error) => internal(visit.locale, &error),
    }
}

fn login_form(visit: &Visit, email: &str, error: Option<&str>) -> String {
    format!(
        "{error}<form id=\"login-form\" method=\"post\" action=\"{action}\" class=\"card\">{csrf}{email}{password}\
         <div class=\"toolbar\"><button type=\"submit\" class=\"button-primary\">{submit}</button></div></form>\
         <p><a href=\"{reset}\">{forgot}</a> · <a href=\"{signup}\">{new}</a></p>",
        error = error.map(|text| notice("error", text)).unwrap_or_default(),
        action = visit.path("login"),
        csrf = csrf_input(&visit.csrf),
        email = input(
            "email",
            "email",
            visit.t("メールアドレス", "Email address"),
            email,
            "email"
        ),
        password = input(
            "password",
            "password",
            visit.t("パスワード", "Password"),
            "",
            "current-password"
        ),
        submit = visit.t("ログイン", "Log in"),
        reset = visit.path("reset"),
        forgot = visit.t("パスワードをお忘れの方", "Forgot your password?"),
        signup = visit.path("signup"),
        new = visit.t("新規登録", "Sign up"),
    )
}

async fn login_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    let body = login_form(&visit, "", None);
    visit.page(StatusCode::OK, visit.t("ログイン", "Log in"), &body)
}

async fn login(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    ConnectInfo(client): Client,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    or_respond!(visit.check_csrf(&form));
    let email = field(&form, "email").trim().to_lowercase();
    let client_key = format!("{}|{}", visit.tenant.id, client.ip());
    let account_key = format!("{}|{email}", visit.tenant.id);
    let now = Utc::now();
    let limits = &state.member_limits;
    let budgets = [
        (&limits.logins, account_key.as_str()),
        (&limits.logins_per_client, client_key.as_str()),
    ];
    or_respond!(visit.within_limits(&state.db, &budgets, now).await);
    let password = SecretString::from(field(&form, "password").to_owned());
    match accounts::log_in(&state.db, visit.tenant_id(), &email, password, Utc::now()).await {
        Ok(token) => {
            or_respond!(visit.limit(limits.logins.clear(&state.db, &account_key).await));
            let mut response = Redirect::to(&visit.path("account")).into_response();
            let cookie = format!(
                "{}={token}; Path=/m/{}/; HttpOnly; SameSite=Lax; Max-Age={}{}",
                session_cookie_name(&slug),
                visit.tenant.slug,
                accounts::SESSION_TTL.num_seconds(),
                if state.secure_cookies { "; Secure" } else { "" },
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(domain::Error::InvalidCredentials) => {
            or_respond!(visit.limit(limits.logins.record(&state.db, &account_key, now).await));
            let per_client = &limits.logins_per_client;
            or_respond!(visit.limit(per_client.record(&state.db, &client_key, now).await));
            let text = visit.t(
                "メールアドレスまたはパスワードが正しくないか、本登録がまだ完了していません。",
                "The email address or password is incorrect, or the sign-up is not confirmed yet.",
            );
            let body = login_form(&visit, &email, Some(text));
            visit.page(
                StatusCode::UNAUTHORIZED,
                visit.t("ログイン", "Log in"),
                &body,
            )
        }
        Err(error) => internal(visit.locale, &error),
    }
}

fn account_body(
    visit: &Visit,
    member: &member::Model,
    fields: &[profile_fields::ProfileField],
    message: Option<(&str, String)>,
) -> String {
    let locale = visit.locale;
    let profile: Map<String, Value> = serde_json::from_str(&member.profile).unwrap_or_default();
    let status = if member.status == "unsubscribed" {
        visit.t(
            "配信停止中です。メールは届きません。",
            "Unsubscribed: you get no mail.",
        )
    } else {
        visit.t("配信中です。", "Subscribed.")
    };
    format!(
        "{message}<p id=\"member-email\">{email}</p><p id=\"member-status\">{status}</p>\
         <form id=\"account-form\" method=\"post\" action=\"{account}\" class=\"card\">{csrf}<h2>{conditions}</h2>{profile}{frequency}\
         <div class=\"toolbar\"><button type=\"submit\" class=\"button-primary\">{save}</button></div></form>\
         <form id=\"password-form\" method=\"post\" action=\"{password_action}\" class=\"card\">{csrf}<h2>{password_title}</h2>\
         {current}{new}<div class=\"toolbar\"><button type=\"submit\" class=\"button-secondary\">{change}</button></div></form>\
         <form id=\"logout-form\" method=\"post\" action=\"{logout}\">{csrf}<button type=\"submit\" class=\"button-quiet\">{logout_text}</button>\
         <button type=\"submit\" name=\"everywhere\" value=\"yes\" class=\"button-quiet\">{logout_all}</button></form>\
         <form id=\"unsubscribe-form\" method=\"post\" action=\"{unsubscribe}\" class=\"card\">{csrf}<h2>{unsubscribe_title}</h2>\
         <p>{unsubscribe_text}</p><button type=\"submit\" class=\"button-secondary\">{unsubscribe_button}</button></form>\
         <form id=\"delete-form\" method=\"post\" action=\"{delete}\" class=\"card\">{csrf}<h2>{delete_title}</h2>\
         <p>{delete_text}</p><label class=\"checkbox\"><input type=\"checkbox\" name=\"confirm\" value=\"yes\"> {delete_confirm}</label>\
         <button type=\"submit\" class=\"button-danger\">{delete_button}</button></form>",
        message = message
            .map(|(kind, text)| notice(kind, &text))
            .unwrap_or_default(),
        email = escape(&member.email),
        account = visit.path("account"),
        csrf = csrf_input(&visit.csrf),
        conditions = visit.t("希望条件と配信頻度", "Your conditions and mail frequency"),
        profile = html::profile_inputs(fields, &profile, locale),
        frequency = frequency_select(&member.frequency, locale),
        save = visit.t("保存する", "Save"),
        password_action = visit.path("password"),
        password_title = visit.t("パスワードの変更", "Change password"),
        current = input(
            "current_password",
            "password",
            visit.t("現在のパスワード", "Current password"),
            "",
            "current-password"
        ),
        new = input(
            "new_password",
            "password",
            visit.t(
                "新しいパスワード（10文字以上）",
                "New password (10 characters or more)"
            ),
            "",
            "new-password"
        ),
        change = visit.t("パスワードを変更する", "Change password"),
        logout = visit.path("logout"),
        logout_text = visit.t("ログアウト", "Log out"),
        logout_all = visit.t("すべての端末からログアウト", "Log out on every device"),
        unsubscribe = visit.path("unsubscribe"),
        unsubscribe_title = visit.t("配信停止", "Unsubscribe"),
        unsubscribe_text = visit.t(
            "すべてのメール（マッチングメール・ステップメール）の配信を停止します。",
            "Stop all mail: matching mail and step mail."
        ),
        unsubscribe_button = visit.t("すべての配信を停止する", "Unsubscribe from everything"),
        delete = visit.path("delete"),
        delete_title = visit.t("退会", "Delete account"),
        delete_text = visit.t(
            "会員情報と希望条件を削除します。元に戻せません。",
            "Deletes your account and conditions. This cannot be undone."
        ),
        delete_confirm = visit.t(
            "退会して、登録情報を削除することに同意します",
            "I want to delete my account and its data"
        ),
        delete_button = visit.t("退会する", "Delete my account"),
    )
}

async fn account_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    let (member, _) = or_respond!(visit.member(&state).await);
    let fields = or_respond!(
        profile_fields::get(&state.db, visit.tenant_id())
            .await
            .map_err(|error| internal(visit.locale, &error))
    );
    let body = account_body(&visit, &member, &fields, None);
    visit.page(StatusCode::OK, visit.t("会員情報", "Your account"), &body)
}

async fn update_account(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    or_respond!(visit.check_csrf(&form));
    let (member, _) = or_respond!(visit.member(&state).await);

    let fields = or_respond!(
        profile_fields::get(&state.db, visit.tenant_id())
            .await
            .map_err(|error| internal(visit.locale, &error))
    );

    let input = MemberInput {
        email: member.email.clone(),
        locale: Some(Locale::from_tag(&member.locale)),
        frequency: Some(or_respond!(frequency_of(&form).map_err(|error| {
            let message = Some(("error", error.message(visit.locale)));
            let body = account_body(&visit, &member, &fields, message);
            visit.page(
                StatusCode::UNPROCESSABLE_ENTITY,
                visit.t("会員情報", "Your account"),
                &body,
            )
        }))),
        digest_hour: Some(i64::from(member.digest_hour)),
        digest_weekday: Some(i64::from(member.digest_weekday)),
        profile: profile_of(&form, &fields),
    };
    let result = domain::members::update(
        &state.db,
        visit.tenant_id(),
        domain::MemberId(member.id),
        input,
    )
    .await;
    let title = visit.t("会員情報", "Your account");
    let reloaded = accounts::session_member(
        &state.db,
        visit.tenant_id(),
        visit.session.as_deref().unwrap_or_default(),
        Utc::now(),
    )
    .await;
    let current = match reloaded {
        Ok(Some(current)) => current,
        Ok(None) => return visit.login_redirect(),
        Err(error) => return internal(visit.locale, &error),
    };
    match result {
        Ok(_) => {
            let body = account_body(
                &visit,
                &current,
                &fields,
                Some(("success", visit.t("保存しました。", "Saved.").to_owned())),
            );
            visit.page(StatusCode::OK, title, &body)
        }
        Err(error @ domain::Error::Validation(_)) => {
            let error = with_label(error, &fields, visit.locale);
            let body = account_body(
                &visit,
                &current,
                &fields,
                Some(("error", error.message(visit.locale))),
            );
            visit.page(StatusCode::UNPROCESSABLE_ENTITY, title, &body)
        }
        Err(error) => internal(visit.locale, &error),
    }
}

async fn change_password(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    or_respond!(visit.check_csrf(&form));
    let (member, _) = or_respond!(visit.member(&state).await);
    let current = SecretString::from(field(&form, "current_password").to_owned());
    let new = SecretString::from(field(&form, "new_password").to_owned());
    match accounts::change_password(&state.db, visit.tenant_id(), &member, current, new).await {
        Ok(()) => visit.message_page(
            StatusCode::OK,
            visit.t("パスワードを変更しました", "Password changed"),
            "success",
            visit.t(
                "パスワードを変更しました。もう一度ログインしてください。",
                "Your password was changed. Please log in again.",
            ),
            Some(("login", visit.t("ログイン", "Log in"))),
        ),
        Err(error @ domain::Error::Validation(_)) => {
            let fields = profile_fields::get(&state.db, visit.tenant_id())
                .await
                .unwrap_or_default();
            let body = account_body(
                &visit,
                &member,
                &fields,
                Some(("error", error.message(visit.locale))),
            );
            visit.page(
                StatusCode::UNPROCESSABLE_ENTITY,
                visit.t("会員情報", "Your account"),
                &body,
            )
        }
        Err(error) => internal(visit.locale, &error),
    }
}

async fn logout(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    or_respond!(visit.check_csrf(&form));
    let everywhere = field(&form, "everywhere") == "yes";
    if let Some(token) = &visit.session {
        let ended = if everywhere {
            match accounts::session_member(&state.db, visit.tenant_id(), token, Utc::now()).await {
                Ok(Some(member)) => {
                    accounts::log_out_everywhere(&state.db, visit.tenant_id(), member.id).await
                }
                Ok(None) => Ok(()),
                Err(error) => Err(error),
            }
        } else {
            accounts::log_out(&state.db, visit.tenant_id(), token).await
        };
        if let Err(error) = ended {
            return internal(visit.locale, &error);
        }
    }
    let page = visit.message_page(
        StatusCode::OK,
        visit.t("ログアウト", "Logged out"),
        "success",
        visit.t("ログアウトしました。", "You are logged out."),
        Some(("login", visit.t("ログイン", "Log in"))),
    );
    visit.without_session_cookie(page)
}

async fn unsubscribe(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    or_respond!(visit.check_csrf(&form));
    let (member, _) = or_respond!(visit.member(&state).await);
    if let Err(error) =
        accounts::unsubscribe_everything(&state.db, visit.tenant_id(), &member).await
    {
        return internal(visit.locale, &error);
    }
    let body = notice(
        "success",
        visit.t(
            "すべての配信を停止しました。今後メールは届きません。",
            "You are unsubscribed from everything. No more mail will come.",
        ),
    );
    visit.page(
        StatusCode::OK,
        visit.t("配信を停止しました", "Unsubscribed"),
        &body,
    )
}

async fn delete(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    or_respond!(visit.check_csrf(&form));
    let (member, _) = or_respond!(visit.member(&state).await);
    if field(&form, "confirm") != "yes" {
        let fields = profile_fields::get(&state.db, visit.tenant_id())
            .await
            .unwrap_or_default();
        let text = visit.t(
            "退会するには、確認のチェックボックスにチェックを入れてください。",
            "Tick the confirmation box to delete your account.",
        );
        let body = account_body(&visit, &member, &fields, Some(("error", text.to_owned())));
        return visit.page(
            StatusCode::UNPROCESSABLE_ENTITY,
            visit.t("会員情報", "Your account"),
            &body,
        );
    }
    if let Err(error) = accounts::delete_account(&state.db, visit.tenant_id(), &member).await {
        return internal(visit.locale, &error);
    }
    let body = notice(
        "success",
        visit.t(
            "退会しました。登録情報は削除されました。",
            "Your account and its data were deleted.",
        ),
    );
    let page = visit.page(
        StatusCode::OK,
        visit.t("退会しました", "Account deleted"),
        &body,
    );
    visit.without_session_cookie(page)
}

fn reset_request_form(visit: &Visit) -> String {
    format!(
        "<form id=\"reset-request-form\" method=\"post\" action=\"{action}\" class=\"card\">{csrf}{email}\
         <div class=\"toolbar\"><button type=\"submit\" class=\"button-primary\">{submit}</button></div></form>",
        action = visit.path("reset"),
        csrf = csrf_input(&visit.csrf),
        email = input(
            "email",
            "email",
            visit.t("登録したメールアドレス", "Your email address"),
            "",
            "email"
        ),
        submit = visit.t("再設定のメールを送る", "Send the reset mail"),
    )
}

async fn reset_request_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    visit.page(
        StatusCode::OK,
        visit.t("パスワードの再設定", "Reset your password"),
        &reset_request_form(&visit),
    )
}

async fn reset_request(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    ConnectInfo(client): Client,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    or_respond!(visit.check_csrf(&form));

    let key = format!("{}|{}", visit.tenant.id, client.ip());
    let now = Utc::now();
    let resets = &state.member_limits.resets;
    or_respond!(visit.within_limits(&state.db, &[(resets, &key)], now).await);
    or_respond!(visit.limit(resets.record(&state.db, &key, now).await));

    let email = field(&form, "email");
    if let Err(error) = accounts::request_reset(
        &state.db,
        visit.tenant_id(),
        email,
        visit.locale,
        &visit.links(&state),
        Utc::now(),
    )
    .await
    {
        return internal(visit.locale, &error);
    }
    queue_outbox(&state, visit.tenant_id()).await;
    let body = notice(
        "success",
        visit.t(
            "登録されているメールアドレスであれば、パスワード再設定のメールを送信しました。リンクの有効期限は1時間です。",
            "If the address is registered, we sent it a mail with a link to set a new password. The link works for one hour.",
        ),
    );
    visit.page(
        StatusCode::OK,
        visit.t("メールを確認してください", "Check your mail"),
        &body,
    )
}

fn reset_form(visit: &Visit, token: &str, error: Option<&domain::Error>) -> String {
    format!(
        "{error}<form id=\"reset-form\" method=\"post\" action=\"{action}\" class=\"card\">{csrf}{password}\
         <div class=\"toolbar\"><button type=\"submit\" class=\"button-primary\">{submit}</button></div></form>",
        error = form_error(error, visit.locale),
        action = visit.path(&format!("reset/{}", escape(token))),
        csrf = csrf_input(&visit.csrf),
        password = input(
            "new_password",
            "password",
            visit.t(
                "新しいパスワード（10文字以上）",
                "New password (10 characters or more)"
            ),
            "",
            "new-password"
        ),
        submit = visit.t("パスワードを設定する", "Set the password"),
    )
}

fn invalid_link(visit: &Visit) -> Response {
    visit.message_page(
        StatusCode::NOT_FOUND,
        visit.t("リンクが無効です", "Invalid link"),
        "error",
        visit.t(
            "このリンクは使用済みか、有効期限が切れています。",
            "This link was used already or has expired.",
        ),
        Some((
            "reset",
            visit.t("もう一度再設定のメールを送る", "Send a new reset mail"),
        )),
    )
}

async fn reset_page(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    match accounts::reset_link_is_live(&state.db, visit.tenant_id(), &token, Utc::now()).await {
        Ok(true) => visit.page(
            StatusCode::OK,
            visit.t("新しいパスワード", "New password"),
            &reset_form(&visit, &token, None),
        ),
        Ok(false) => invalid_link(&visit),
        Err(error) => internal(visit.locale, &error),
    }
}

async fn reset(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let visit = or_respond!(Visit::start(&state, &slug, &headers, &query).await);
    or_respond!(visit.check_csrf(&form));
    let new = SecretString::from(field(&form, "new_password").to_owned());
    match accounts::reset(&state.db, visit.tenant_id(), &token, new, Utc::now()).await {
        Ok(true) => visit.message_page(
            StatusCode::OK,
            visit.t("パスワードを設定しました", "Password set"),
            "success",
            visit.t(
                "新しいパスワードを設定しました。",
                "Your new password is set.",
            ),
            Some(("login", visit.t("ログイン", "Log in"))),
        ),
        Ok(false) => invalid_link(&visit),
        Err(error @ domain::Error::Validation(_)) => visit.page(
            StatusCode::UNPROCESSABLE_ENTITY,
            visit.t("新しいパスワード", "New password"),
            &reset_form(&visit, &token, Some(&error)),
        ),
        Err(error) => internal(visit.locale, &error),
    }
}
