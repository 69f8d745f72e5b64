//! Mail templates and the requests that read, save, reset and preview them.

use serde::Deserialize;
use serde_json::json;

use crate::api::{Api, ApiError, optional_string_literal};
use crate::i18n::{Catalogue, Locale};

const TEMPLATE_SELECTION: &str = "kind locale subject html text customized";

/// The GraphQL enum `MailTemplateKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateKind {
    Listing,
    Digest,
}

impl TemplateKind {
    /// Returns the GraphQL enum value.
    pub fn graphql_name(self) -> &'static str {
        match self {
            TemplateKind::Listing => "LISTING",
            TemplateKind::Digest => "DIGEST",
        }
    }

    /// Returns the kind's name in the UI.
    pub fn label(self, t: &Catalogue) -> &'static str {
        match self {
            TemplateKind::Listing => t.template_kind_listing,
            TemplateKind::Digest => t.template_kind_digest,
        }
    }
}

/// A template as stored, or the built-in default.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct MailTemplate {
    pub kind: TemplateKind,
    /// GraphQL enum `Locale`: `JA` or `EN`.
    pub locale: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// `false` while the built-in default is used.
    pub customized: bool,
}

impl MailTemplate {
    /// Returns whether this is the template of `kind` in `locale`.
    pub fn is(&self, kind: TemplateKind, locale: Locale) -> bool {
        self.kind == kind && self.locale == locale.graphql_enum()
    }
}

/// The three parts of a template, as edited and as rendered.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct MailParts {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// A listing to render previews with.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingChoice {
    pub id: String,
    pub external_id: String,
}

/// How many of the newest listings the preview offers.
const PREVIEW_LISTINGS: usize = 50;

/// Fetches every template kind in both languages.
pub async fn fetch_templates(api: Api) -> Result<Vec<MailTemplate>, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        mail_templates: Vec<MailTemplate>,
    }
    let query = format!("query MailTemplates {{ mailTemplates {{ {TEMPLATE_SELECTION} }} }}");
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.mail_templates)
}

/// Fetches the newest listings, for the preview's listing choice.
pub async fn fetch_listing_choices(api: Api) -> Result<Vec<ListingChoice>, ApiError> {
    #[derive(Deserialize)]
    struct Page {
        nodes: Vec<ListingChoice>,
    }
    #[derive(Deserialize)]
    struct Data {
        listings: Page,
    }
    let query = format!(
        "query PreviewListings {{ listings(first: {PREVIEW_LISTINGS}) {{ nodes {{ id externalId }} }} }}"
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.listings.nodes)
}

/// Saves the tenant's version of a template. The server checks that it compiles first.
pub async fn save_template(
    api: Api,
    kind: TemplateKind,
    locale: Locale,
    parts: MailParts,
) -> Result<MailTemplate, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        save_mail_template: MailTemplate,
    }
    let query = format!(
        "mutation SaveMailTemplate($subject: String!, $html: String!, $text: String!) \
         {{ saveMailTemplate(kind: {kind}, locale: {locale}, subject: $subject, html: $html, \
         text: $text) {{ {TEMPLATE_SELECTION} }} }}",
        kind = kind.graphql_name(),
        locale = locale.graphql_enum(),
    );
    let variables = json!({ "subject": parts.subject, "html": parts.html, "text": parts.text });
    let data: Data = api.request(&query, variables).await?;
    Ok(data.save_mail_template)
}

/// Goes back to the built-in template and returns it.
pub async fn reset_template(
    api: Api,
    kind: TemplateKind,
    locale: Locale,
) -> Result<MailTemplate, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        reset_mail_template: MailTemplate,
    }
    let query = format!(
        "mutation ResetMailTemplate {{ resetMailTemplate(kind: {kind}, locale: {locale}) \
         {{ {TEMPLATE_SELECTION} }} }}",
        kind = kind.graphql_name(),
        locale = locale.graphql_enum(),
    );
    let data: Data = api.request(&query, json!({})).await?;
    Ok(data.reset_mail_template)
}

/// Renders `parts` with listing `listing_id`, or with the newest listing when it is `None`.
pub async fn preview_template(
    api: Api,
    kind: TemplateKind,
    locale: Locale,
    parts: MailParts,
    listing_id: Option<String>,
) -> Result<MailParts, ApiError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        preview_mail_template: MailParts,
    }
    let query = format!(
        "query PreviewMailTemplate($subject: String!, $html: String!, $text: String!) \
         {{ previewMailTemplate(kind: {kind}, locale: {locale}, subject: $subject, html: $html, \
         text: $text, listingId: {listing}) {{ subject html text }} }}",
        kind = kind.graphql_name(),
        locale = locale.graphql_enum(),
        listing = optional_string_literal(listing_id.as_deref()),
    );
    let variables = json!({ "subject": parts.subject, "html": parts.html, "text": parts.text });
    let data: Data = api.request(&query, variables).await?;
    Ok(data.preview_mail_template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_decodes_and_matches_tab() {
        let template: MailTemplate = serde_json::from_value(json!({
            "kind": "DIGEST", "locale": "EN", "subject": "s", "html": "h", "text": "t",
            "customized": false
        }))
        .unwrap_or_else(|error| panic!("template failed to decode: {error}"));
        assert!(template.is(TemplateKind::Digest, Locale::En));
        assert!(!template.is(TemplateKind::Digest, Locale::Ja));
        assert!(!template.is(TemplateKind::Listing, Locale::En));
    }
}
