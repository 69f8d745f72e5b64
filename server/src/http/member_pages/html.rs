//! The HTML of the member pages: one layout with the tenant's logo or name and colours, and the
//! forms. Every value from a member or a tenant is escaped.

use domain::{Locale, listings::schema::FieldType, members::profile_fields::ProfileField};
use serde_json::{Map, Value};

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Picks the Japanese or English text.
pub fn pick<'a>(locale: Locale, ja: &'a str, en: &'a str) -> &'a str {
    match locale {
        Locale::Ja => ja,
        Locale::En => en,
    }
}

/// The head of a page: the tenant's name, and its logo and colours when it has set them.
pub struct Masthead<'a> {
    pub name: &'a str,
    /// The logo's path, versioned so that caches see a new logo at once.
    pub logo_path: Option<String>,
    pub branding: domain::branding::Branding,
}

impl<'a> Masthead<'a> {
    pub fn of(tenant: &'a domain::entities::tenant::Model) -> Self {
        let branding = domain::branding::Branding::of(tenant);
        Self {
            name: &tenant.name,
            logo_path: branding
                .logo_updated_at
                .map(|updated| format!("/m/{}/logo?v={}", tenant.slug, updated.timestamp_millis())),
            branding,
        }
    }

    /// Tayori's own look, for pages of no tenant.
    pub fn plain() -> Self {
        Self {
            name: "Tayori",
            logo_path: None,
            branding: domain::branding::Branding::default(),
        }
    }
}

/// Wraps `body` in the page layout, under the tenant's logo or name and in its colours. With
/// `noindex`, search engines are asked not to list the page.
pub fn layout(
    locale: Locale,
    masthead: &Masthead<'_>,
    title: &str,
    body: &str,
    noindex: bool,
) -> String {
    let name = escape(masthead.name);
    let brand = match &masthead.logo_path {
        // The name stays as the image's text, for screen readers and when images are off.
        Some(path) => format!(
            "<img class=\"brand-logo\" id=\"tenant-logo\" src=\"{}\" alt=\"{name}\">",
            escape(path)
        ),
        None => format!("<span class=\"brand-tenant\" id=\"tenant-name\">{name}</span>"),
    };
    // Only `#rrggbb` values and fixed names reach the attribute; see `Branding::css_variables`.
    let style = match masthead.branding.css_variables() {
        css if css.is_empty() => String::new(),
        css => format!(" style=\"{css}\""),
    };
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{robots}\
         <title>{title} | {name}</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\
         <body class=\"member-page\"{style}><header class=\"topbar\"><div class=\"topbar-inner\">\
         <span class=\"brand\">{brand}</span>\
         </div></header><main class=\"page\"><h1>{title}</h1>{body}</main></body></html>",
        lang = locale.as_str(),
        title = escape(title),
        robots = if noindex {
            "<meta name=\"robots\" content=\"noindex\">"
        } else {
            ""
        },
    )
}

/// Renders a hidden input with the form's CSRF token.
pub fn csrf_input(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(token)
    )
}

/// Renders a notice paragraph, `kind` being `success` or `error`.
pub fn notice(kind: &str, text: &str) -> String {
    format!(
        "<p class=\"notice {kind}\" role=\"{role}\">{}</p>",
        escape(text),
        role = if kind == "error" { "alert" } else { "status" }
    )
}

/// Returns the message of an error in the member's language, naming the field.
pub fn error_message(error: &domain::Error, locale: Locale) -> String {
    error.message(locale)
}

/// Renders a labelled text input.
pub fn input(id: &str, kind: &str, label: &str, value: &str, autocomplete: &str) -> String {
    format!(
        "<div class=\"field\"><label for=\"{id}\">{label}</label>\
         <input id=\"{id}\" name=\"{id}\" type=\"{kind}\" value=\"{value}\" autocomplete=\"{autocomplete}\"></div>",
        label = escape(label),
        value = escape(value),
    )
}

/// Renders the inputs of the tenant's profile fields, filled with `values`. Choice fields are
/// checkboxes named `p.{field}`; the others are text inputs that take what the import takes
/// (`8万～10万`, `35.68,139.76,2`).
pub fn profile_inputs(
    fields: &[ProfileField],
    values: &Map<String, Value>,
    locale: Locale,
) -> String {
    let mut html = String::new();
    for field in fields {
        let label = pick(locale, &field.label_ja, &field.label_en);
        let name = format!("p.{}", field.name);
        let stored = values.get(&field.name);
        match field.field_type {
            FieldType::Enum => {
                let chosen: Vec<&str> = stored
                    .and_then(Value::as_array)
                    .map(|items| items.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                html.push_str(&format!(
                    "<fieldset class=\"field\"><legend>{}</legend>",
                    escape(label)
                ));
                for option in &field.options {
                    let checked = if chosen.contains(&option.value.as_str()) {
                        " checked"
                    } else {
                        ""
                    };
                    html.push_str(&format!(
                        "<label class=\"checkbox\"><input type=\"checkbox\" name=\"{name}\" value=\"{value}\"{checked}> {text}</label>",
                        name = escape(&name),
                        value = escape(&option.value),
                        text = escape(pick(locale, &option.label_ja, &option.label_en)),
                    ));
                }
                html.push_str("</fieldset>");
            }
            _ => {
                let text = stored
                    .map(crate::http::member_pages::profile_text)
                    .unwrap_or_default();
                let kind = if field.field_type == FieldType::Date {
                    "date"
                } else {
                    "text"
                };
                html.push_str(&input(&name, kind, label, &text, "off"));
            }
        }
    }
    html
}

/// Renders the frequency select, with `current` chosen.
pub fn frequency_select(current: &str, locale: Locale) -> String {
    let options = [
        ("instant", "すぐに届ける", "At once"),
        ("daily", "1日1回まとめて届ける", "Once a day, bundled"),
        ("weekly", "週1回まとめて届ける", "Once a week, bundled"),
    ];
    let mut html = format!(
        "<div class=\"field\"><label for=\"frequency\">{}</label><select id=\"frequency\" name=\"frequency\">",
        pick(locale, "配信頻度", "How often")
    );
    for (value, ja, en) in options {
        let selected = if value == current { " selected" } else { "" };
        html.push_str(&format!(
            "<option value=\"{value}\"{selected}>{}</option>",
            pick(locale, ja, en)
        ));
    }
    html.push_str("</select></div>");
    html
}

/// Lists the problem of a rejected form, or nothing.
/// Renders the messages of several errors as one alert, a list when there are more than one.
pub fn form_errors(errors: &[domain::Error], locale: Locale) -> String {
    match errors {
        [] => String::new(),
        [error] => form_error(Some(error), locale),
        many => {
            let items: String = many
                .iter()
                .map(|error| format!("<li>{}</li>", escape(&error_message(error, locale))))
                .collect();
            format!("<div class=\"notice error\" role=\"alert\"><ul>{items}</ul></div>")
        }
    }
}

pub fn form_error(error: Option<&domain::Error>, locale: Locale) -> String {
    error.map_or_else(String::new, |error| {
        notice("error", &error_message(error, locale))
    })
}
