//! Tenants: signing up a new business with its first operator (the owner).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};
use secrecy::SecretString;

use crate::{
    Error, Locale, OperatorId, Problem, TenantId, ValidationError,
    auth::{Role, password, sessions, tokens::TokenKeys},
    entities::{operator, tenant},
    error::{Resource, Result},
    operators::{validate_email, validate_password},
};

/// Slugs that would collide with the server's own paths.
const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "api",
    "dashboard",
    "graphql",
    "health",
    "login",
    "pkg",
    "signup",
    "static",
    "www",
];

pub const DEFAULT_TIME_ZONE: &str = "Asia/Tokyo";

/// The form a new business fills in.
pub struct SignUp {
    pub tenant_name: String,
    pub tenant_slug: String,
    pub email: String,
    pub password: SecretString,
    pub locale: Locale,
}

/// Creates the tenant and its owner in one transaction and starts the owner's session.
pub async fn sign_up(
    db: &DatabaseConnection,
    keys: &TokenKeys,
    input: SignUp,
) -> Result<sessions::Session> {
    let name = validate_tenant_name(&input.tenant_name)?;
    let slug = validate_slug(&input.tenant_slug)?;
    let email = validate_email("email", &input.email)?;
    validate_password(&input.password)?;
    let password_hash = password::hash(input.password).await?;

    let now = Utc::now();
    let tx = crate::db::begin_write(db).await?;
    let taken = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(&slug))
        .count(&tx)
        .await?
        > 0;
    if taken {
        return Err(ValidationError::new("tenantSlug", Some(&slug), Problem::SlugTaken).into());
    }
    let tenant =
        tenant::ActiveModel {
            id: Set(TenantId::new().0),
            slug: Set(slug.clone()),
            name: Set(name),
            default_locale: Set(input.locale.as_str().to_owned()),
            time_zone: Set(DEFAULT_TIME_ZONE.to_owned()),
            created_at: Set(now),
            listing_count: Set(0),
            notify_on_change: Set(false),
            accept_nonstandard_addresses: Set(false),
            matching_revision: Set(0),
            sender_id: Set(None),
            brand_color: Set(None),
            header_color: Set(None),
            logo_updated_at: Set(None),
        }
        .insert(&tx)
        .await
        // A concurrent sign-up with the same slug passes the check above and fails here.
        .map_err(|error| match error.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::from(
                ValidationError::new("tenantSlug", Some(&slug), Problem::SlugTaken),
            ),
            _ => Error::from(error),
        })?;
    let owner = operator::ActiveModel {
        id: Set(OperatorId::new().0),
        tenant_id: Set(tenant.id),
        email: Set(email),
        password_hash: Set(password_hash),
        role: Set(Role::Owner.as_str().to_owned()),
        locale: Set(input.locale.as_str().to_owned()),
        created_at: Set(now),
    }
    .insert(&tx)
    .await?;
    let session = sessions::start(&tx, keys, tenant, owner).await?;
    tx.commit().await?;

    tracing::info!(tenant.id = %session.tenant.id, tenant.slug = %session.tenant.slug, "tenant signed up");
    Ok(session)
}

/// Loads the caller's own tenant.
pub async fn get(db: &impl sea_orm::ConnectionTrait, tenant_id: TenantId) -> Result<tenant::Model> {
    tenant::Entity::find_by_id(tenant_id.0)
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::Tenant))
}

/// Marks the tenant's member index as stale; call in the transaction that changes members,
/// profile fields or match rules.
pub async fn bump_matching_revision(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
) -> Result<()> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::MatchingRevision,
            Expr::col(tenant::Column::MatchingRevision).add(1),
        )
        .filter(tenant::Column::Id.eq(tenant_id.0))
        .exec(db)
        .await?;
    Ok(())
}

/// Turns "notify on change" on or off: whether members hear again about a listing that changed
/// after it was mailed to them.
pub async fn set_notify_on_change(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    enabled: bool,
) -> Result<tenant::Model> {
    let tenant = get(db, tenant_id).await?;
    let mut active: tenant::ActiveModel = tenant.into();
    active.notify_on_change = Set(enabled);
    let tenant = active.update(db).await?;
    tracing::info!(tenant.id = %tenant_id, enabled, "notify on change set");
    Ok(tenant)
}

/// Sets whether member addresses with a non-standard local part (`taro..hanako@docomo.ne.jp`) are
/// accepted. Accepted addresses are sent with the local part quoted.
pub async fn set_nonstandard_addresses(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    accept: bool,
) -> Result<tenant::Model> {
    let tenant = get(db, tenant_id).await?;
    let mut active: tenant::ActiveModel = tenant.into();
    active.accept_nonstandard_addresses = Set(accept);
    let tenant = active.update(db).await?;
    tracing::info!(tenant.id = %tenant_id, accept, "non-standard address policy set");
    Ok(tenant)
}

/// Sets the time zone that step mail, quiet hours and digests use, by its IANA name such as
/// `Asia/Tokyo`, and reschedules the waiting step mail in it.
pub async fn set_time_zone(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    name: &str,
) -> Result<tenant::Model> {
    let name = name.trim();
    if name.parse::<chrono_tz::Tz>().is_err() {
        return Err(crate::ValidationError::new(
            "timeZone",
            Some(name),
            crate::Problem::UnknownTimeZone,
        )
        .into());
    }
    let tx = crate::db::begin_write(db).await?;
    let tenant = get(&tx, tenant_id).await?;
    let mut active: tenant::ActiveModel = tenant.into();
    active.time_zone = Set(name.to_owned());
    let tenant = active.update(&tx).await?;
    for sequence in crate::steps::list(&tx, tenant_id).await? {
        crate::steps::enrollments::reschedule_sequence(
            &tx,
            tenant_id,
            sequence.row.id,
            chrono::Utc::now(),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, time_zone = name, "time zone set");
    Ok(tenant)
}

/// Lists every tenant's id, for background tasks that look for work tenant by tenant.
pub async fn ids(db: &DatabaseConnection) -> Result<Vec<TenantId>> {
    use sea_orm::QuerySelect;
    let ids: Vec<uuid::Uuid> = tenant::Entity::find()
        .select_only()
        .column(tenant::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(TenantId).collect())
}

pub async fn find_by_slug(db: &DatabaseConnection, slug: &str) -> Result<Option<tenant::Model>> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug.trim().to_ascii_lowercase()))
        .one(db)
        .await?)
}

fn validate_tenant_name(value: &str) -> Result<String, ValidationError> {
    let name = value.trim();
    if name.is_empty() {
        return Err(ValidationError::new(
            "tenantName",
            Some(name),
            Problem::Required,
        ));
    }
    if name.chars().count() > 200 {
        return Err(ValidationError::new(
            "tenantName",
            Some(name),
            Problem::TooLong { max: 200 },
        ));
    }
    Ok(name.to_owned())
}

/// Checks a slug: 3 to 40 of `a-z 0-9 -`, starting and ending with a letter or digit.
pub fn validate_slug(value: &str) -> Result<String, ValidationError> {
    let slug = value.trim().to_ascii_lowercase();
    let length_ok = (3..=40).contains(&slug.len());
    let chars_ok = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ends_ok = slug.starts_with(|c: char| c.is_ascii_alphanumeric())
        && slug.ends_with(|c: char| c.is_ascii_alphanumeric());
    if slug.is_empty() {
        return Err(ValidationError::new(
            "tenantSlug",
            Some(value),
            Problem::Required,
        ));
    }
    if !(length_ok && chars_ok && ends_ok) || RESERVED_SLUGS.contains(&slug.as_str()) {
        return Err(ValidationError::new(
            "tenantSlug",
            Some(value),
            Problem::InvalidSlug,
        ));
    }
    Ok(slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_accepts_lowercase_words_with_hyphens() {
        assert_eq!(validate_slug(" Sakura-Fudosan ").unwrap(), "sakura-fudosan");
        assert_eq!(validate_slug("abc").unwrap(), "abc");
    }

    #[test]
    fn slug_error_names_the_field_as_the_form_shows_it() {
        let error = validate_slug("Bad Slug").unwrap_err();
        assert!(
            error
                .message(Locale::Ja)
                .starts_with("「事業者ID」の値「Bad Slug」")
        );
        assert!(error.message(Locale::En).contains("valid business ID"));
        assert_eq!(error.field, "tenantSlug");
    }

    #[test]
    fn slug_rejects_bad_shapes_and_reserved_words() {
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "さくら",
            "a b c",
            "graphql",
            &"a".repeat(41),
        ] {
            let error = validate_slug(bad).unwrap_err();
            assert_eq!(error.problem, Problem::InvalidSlug, "{bad}");
        }
    }
}
