//! The tenant's mail templates, one per kind and language. A kind and language the tenant never
//! saved uses the built-in default.

use chrono::Utc;
use mail::{TemplateKind, TemplateLocale, TemplateSource};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    sea_query::OnConflict,
};

use crate::{Locale, Problem, TenantId, ValidationError, entities::template, error::Result};

pub fn template_locale(locale: Locale) -> TemplateLocale {
    match locale {
        Locale::Ja => TemplateLocale::Ja,
        Locale::En => TemplateLocale::En,
    }
}

/// A template with whether the tenant changed it from the default.
#[derive(Debug, Clone)]
pub struct StoredTemplate {
    pub kind: TemplateKind,
    pub locale: Locale,
    pub source: TemplateSource,
    pub customized: bool,
}

/// Loads the template of a kind and language, or the default.
pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    kind: TemplateKind,
    locale: Locale,
) -> Result<StoredTemplate> {
    let row = template::Entity::find()
        .filter(template::Column::TenantId.eq(tenant_id.0))
        .filter(template::Column::Kind.eq(kind.as_str()))
        .filter(template::Column::Locale.eq(locale.as_str()))
        .one(db)
        .await?;
    Ok(match row {
        Some(row) => StoredTemplate {
            kind,
            locale,
            source: TemplateSource {
                subject: row.subject,
                html: row.html_body,
                text: row.text_body,
            },
            customized: true,
        },
        None => StoredTemplate {
            kind,
            locale,
            source: mail::default_template(kind, template_locale(locale)),
            customized: false,
        },
    })
}

/// Checks that every part compiles, naming the part and line of the first error.
pub fn validate(source: &TemplateSource) -> Result<(), ValidationError> {
    mail::check(source).map_err(template_error)
}

/// Checks mail written for one use, a step's or a broadcast's. Every part must compile. The
/// text part, and the HTML part when there is one, must carry `{{ unsubscribe_url }}`: the law
/// on advertising mail (特定電子メール法) and the mailbox providers ask for a way out in the
/// body. The mail must render for a sample member of `tenant`, so that an unknown variable is
/// caught now and not for every recipient at send time.
pub fn check_written(
    source: &TemplateSource,
    tenant: &crate::entities::tenant::Model,
) -> Result<(), ValidationError> {
    validate(source)?;
    const LINK: &str = "unsubscribe_url";
    let parts = [("text", &source.text), ("html", &source.html)];
    for (part, body) in parts {
        let required = part == "text" || !body.trim().is_empty();
        if required && !body.contains(LINK) {
            let problem = Problem::UnsubscribeLinkMissing { part };
            return Err(ValidationError::new(part, None, problem));
        }
    }
    let locale = Locale::from_tag(&tenant.default_locale);
    let mut context = super::context::base(tenant, "member@example.com", locale);
    context[LINK] = serde_json::Value::from("https://example.com/u/sample");
    mail::Template::compile(source)
        .and_then(|template| template.render(&context))
        .map(|_| ())
        .map_err(template_error)
}

/// A template that does not compile or render, as a validation error of its part.
pub fn template_error(error: mail::TemplateError) -> ValidationError {
    ValidationError::new(
        error.part.as_str(),
        None,
        Problem::TemplateSyntax {
            part: error.part.as_str(),
            line: error.line,
            detail: error.message,
        },
    )
}

/// Stores the tenant's version of a template.
pub async fn save(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    kind: TemplateKind,
    locale: Locale,
    source: TemplateSource,
) -> Result<StoredTemplate> {
    validate(&source)?;
    let row = template::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        tenant_id: Set(tenant_id.0),
        kind: Set(kind.as_str().to_owned()),
        locale: Set(locale.as_str().to_owned()),
        subject: Set(source.subject.clone()),
        html_body: Set(source.html.clone()),
        text_body: Set(source.text.clone()),
        updated_at: Set(Utc::now()),
    };
    template::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                template::Column::TenantId,
                template::Column::Kind,
                template::Column::Locale,
            ])
            .update_columns([
                template::Column::Subject,
                template::Column::HtmlBody,
                template::Column::TextBody,
                template::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    tracing::info!(tenant.id = %tenant_id, template.kind = kind.as_str(), template.locale = locale.as_str(), "template saved");
    Ok(StoredTemplate {
        kind,
        locale,
        source,
        customized: true,
    })
}

/// Goes back to the default template.
pub async fn reset(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    kind: TemplateKind,
    locale: Locale,
) -> Result<StoredTemplate> {
    template::Entity::delete_many()
        .filter(template::Column::TenantId.eq(tenant_id.0))
        .filter(template::Column::Kind.eq(kind.as_str()))
        .filter(template::Column::Locale.eq(locale.as_str()))
        .exec(db)
        .await?;
    tracing::info!(tenant.id = %tenant_id, template.kind = kind.as_str(), template.locale = locale.as_str(), "template reset to default");
    get(db, tenant_id, kind, locale).await
}
