//! Templates: a subject, an HTML body and a text body written in MiniJinja
//! (`{{ listing.headline }}`, `{% for field in listing.fields %}`). Values are HTML-escaped in
//! the HTML body and inserted as they are in the subject and the text body.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

/// The maximum size of one template part, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 100_000;

/// The instructions one render of a part may execute, so that a tenant's template with nested
/// loops cannot hold a worker. A default digest of 100 listings renders within it (tested).
const FUEL_PER_RENDER: u64 = 5_000_000;

/// The purpose of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateKind {
    /// One listing for one member, new or updated.
    Listing,
    /// Several listings bundled for a member who chose a daily or weekly digest.
    Digest,
}

impl TemplateKind {
    pub const ALL: [TemplateKind; 2] = [TemplateKind::Listing, TemplateKind::Digest];

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Listing => "listing",
            TemplateKind::Digest => "digest",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}

/// The languages that have default templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateLocale {
    Ja,
    En,
}

/// A template as the tenant wrote it (or the default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateSource {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// One of the three parts of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Subject,
    Html,
    Text,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Html => "html",
            Part::Text => "text",
        }
    }

    /// Returns the name under which the part is compiled. Its extension decides the escaping.
    fn template_name(self) -> &'static str {
        match self {
            Part::Subject => "subject.txt",
            Part::Html => "body.html",
            Part::Text => "body.txt",
        }
    }
}

/// A template that does not compile or render, with the part and line at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} template, line {}: {message}", part.as_str(), line.map_or_else(|| "?".to_owned(), |l| l.to_string()))]
pub struct TemplateError {
    pub part: Part,
    pub line: Option<usize>,
    pub message: String,
}

/// A rendered mail: a one-line subject and both bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Returns the built-in template for a kind and language, used until the tenant saves its own.
pub fn default_template(kind: TemplateKind, locale: TemplateLocale) -> TemplateSource {
    macro_rules! parts {
        ($name:literal) => {
            TemplateSource {
                subject: include_str!(concat!("../templates/", $name, ".subject.txt")).to_owned(),
                html: include_str!(concat!("../templates/", $name, ".html")).to_owned(),
                text: include_str!(concat!("../templates/", $name, ".txt")).to_owned(),
            }
        };
    }
    match (kind, locale) {
        (TemplateKind::Listing, TemplateLocale::Ja) => parts!("listing.ja"),
        (TemplateKind::Listing, TemplateLocale::En) => parts!("listing.en"),
        (TemplateKind::Digest, TemplateLocale::Ja) => parts!("digest.ja"),
        (TemplateKind::Digest, TemplateLocale::En) => parts!("digest.en"),
    }
}

/// A template compiled once and rendered for many recipients.
pub struct Template {
    env: Environment<'static>,
}

impl Template {
    /// Compiles every part, or returns the first part that does not compile.
    pub fn compile(source: &TemplateSource) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_fuel(Some(FUEL_PER_RENDER));
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        for (part, text) in [
            (Part::Subject, &source.subject),
            (Part::Html, &source.html),
            (Part::Text, &source.text),
        ] {
            if text.len() > MAX_TEMPLATE_BYTES {
                return Err(TemplateError {
                    part,
                    line: None,
                    message: format!("longer than {MAX_TEMPLATE_BYTES} bytes"),
                });
            }
            env.add_template_owned(part.template_name(), text.clone())
                .map_err(|error| template_error(part, &error))?;
        }
        Ok(Self { env })
    }

    /// Renders every part with `context`. The subject comes back as one line (see
    /// [`header_text`](crate::header_text)).
    pub fn render(&self, context: &serde_json::Value) -> Result<Rendered, TemplateError> {
        let render_part = |part: Part| -> Result<String, TemplateError> {
            self.env
                .get_template(part.template_name())
                .and_then(|template| template.render(context))
                .map_err(|error| template_error(part, &error))
        };
        Ok(Rendered {
            subject: crate::header_text(&render_part(Part::Subject)?, MAX_SUBJECT_CHARS),
            html: render_part(Part::Html)?,
            text: render_part(Part::Text)?,
        })
    }
}

fn template_error(part: Part, error: &minijinja::Error) -> TemplateError {
    TemplateError {
        part,
        line: error.line(),
        message: error
            .detail()
            .map_or_else(|| error.kind().to_string(), str::to_owned),
    }
}

/// Checks that every part compiles.
pub fn check(source: &TemplateSource) -> Result<(), TemplateError> {
    Template::compile(source).map(|_| ())
}

/// Compiles and renders in one step; see [`Template`] for rendering many mails.
pub fn render(
    source: &TemplateSource,
    context: &serde_json::Value,
) -> Result<Rendered, TemplateError> {
    Template::compile(source)?.render(context)
}

/// The maximum subject length in characters. Longer subjects are cut with an ellipsis. Mail clients show about 60
/// characters, and RFC 5322 folding handles the rest.
const MAX_SUBJECT_CHARS: usize = 200;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn listing_context(headline: &str) -> serde_json::Value {
        json!({
            "tenant": {"name": "東京不動産"},
            "member": {"email": "taro@example.jp"},
            "listing_word": "物件",
            "update": false,
            "listing": {
                "external_id": "TK-1",
                "headline": headline,
                "url": "https://example.jp/rooms/1?a=1&b=2",
                "fields": [{"name": "rent", "label": "賃料", "value": "98,000"}],
                "values": {"rent": "98,000"},
            },
            "why": [{"rule": "希望エリアと賃料", "clauses": [
                {"field": "賃料", "listing_value": "98,000", "condition": "100,000以下"}
            ]}],
        })
    }

    #[test]
    fn default_templates_render_in_both_languages() {
        for kind in TemplateKind::ALL {
            for locale in [TemplateLocale::Ja, TemplateLocale::En] {
                let mut context = listing_context("渋谷の2LDK");
                context["listings"] = json!([context["listing"].clone()]);
                context["count"] = json!(1);
                let rendered = render(&default_template(kind, locale), &context).unwrap();
                assert!(
                    rendered.subject.contains("東京不動産"),
                    "{kind:?} {locale:?}"
                );
                assert!(rendered.text.contains("渋谷の2LDK"), "{kind:?} {locale:?}");
                assert!(rendered.html.contains("渋谷の2LDK"), "{kind:?} {locale:?}");
            }
        }
    }

    #[test]
    fn html_body_escapes_values_and_text_body_keeps_them() {
        let source = default_template(TemplateKind::Listing, TemplateLocale::Ja);
        let rendered = render(&source, &listing_context("<script>alert(1)</script>")).unwrap();
        assert!(
            rendered
                .html
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
        );
        assert!(!rendered.html.contains("<script>"));
        assert!(rendered.text.contains("<script>alert(1)</script>"));
    }

    #[test]
    fn subject_with_line_breaks_becomes_one_line() {
        let source = default_template(TemplateKind::Listing, TemplateLocale::Ja);
        let context = listing_context("一行目\r\nBcc: victim@example.com\n二行目");
        let rendered = render(&source, &context).unwrap();
        assert!(!rendered.subject.contains('\n'));
        assert!(!rendered.subject.contains('\r'));
        assert!(
            rendered
                .subject
                .contains("一行目 Bcc: victim@example.com 二行目")
        );
    }

    #[test]
    fn subject_of_two_thousand_characters_is_cut() {
        let source = default_template(TemplateKind::Listing, TemplateLocale::Ja);
        let rendered = render(&source, &listing_context(&"長".repeat(2_000))).unwrap();
        assert_eq!(rendered.subject.chars().count(), MAX_SUBJECT_CHARS + 1);
        assert!(rendered.subject.ends_with('…'));
    }

    #[test]
    fn syntax_error_names_part_and_line() {
        let source = TemplateSource {
            subject: "ok".to_owned(),
            html: "<p>\n{% for x in %}</p>".to_owned(),
            text: String::new(),
        };
        let error = check(&source).unwrap_err();
        assert_eq!(error.part, Part::Html);
        assert_eq!(error.line, Some(2));
    }

    #[test]
    fn runaway_loops_stop_with_an_error() {
        let source = TemplateSource {
            subject: "s".to_owned(),
            html: String::new(),
            text: "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}"
                .to_owned(),
        };
        let error = render(&source, &json!({})).unwrap_err();
        assert_eq!(error.part, Part::Text);
    }

    #[test]
    fn digest_of_a_hundred_listings_fits_the_fuel() {
        let mut context = listing_context("渋谷の2LDK");
        let listing = context["listing"].clone();
        context["listings"] = json!(vec![listing; 100]);
        context["count"] = json!(100);
        for locale in [TemplateLocale::Ja, TemplateLocale::En] {
            let source = default_template(TemplateKind::Digest, locale);
            assert!(render(&source, &context).is_ok(), "{locale:?}");
        }
    }

    #[test]
    fn unknown_variables_render_empty() {
        let source = TemplateSource {
            subject: "[{{ listing.nothing }}]".to_owned(),
            html: String::new(),
            text: String::new(),
        };
        let rendered = render(&source, &json!({"listing": {}})).unwrap();
        assert_eq!(rendered.subject, "[]");
    }
}
