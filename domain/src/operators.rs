//! Operators: logging in, adding colleagues, listing them.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    Error, Locale, OperatorId, Problem, TenantId, ValidationError,
    auth::{Role, password, rate_limit::AttemptLimiter, sessions, tokens::TokenKeys},
    entities::operator,
    error::{Resource, Result},
    telemetry::mask_email,
    tenants,
};

/// Failed logins allowed per account, and per client address, within [`LOGIN_WINDOW`].
pub const MAX_FAILED_LOGINS: usize = 10;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Login attempt counters, one budget per account and one per client address.
pub struct LoginLimiter {
    per_account: AttemptLimiter,
    per_client: AttemptLimiter,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            per_account: AttemptLimiter::new("operator_login", MAX_FAILED_LOGINS, LOGIN_WINDOW),
            // A client address may stand for a whole office behind one router.
            per_client: AttemptLimiter::new(
                "operator_login_client",
                MAX_FAILED_LOGINS * 5,
                LOGIN_WINDOW,
            ),
        }
    }
}

pub struct LogIn {
    pub tenant_slug: String,
    pub email: String,
    pub password: SecretString,
}

/// Checks the credentials and starts a session. Every failure looks the same to the caller.
pub async fn log_in(
    db: &DatabaseConnection,
    keys: &TokenKeys,
    limiter: &LoginLimiter,
    input: LogIn,
    client: &str,
) -> Result<sessions::Session> {
    let email = input.email.trim().to_lowercase();
    let account_key = format!(
        "{}|{}",
        input.tenant_slug.trim().to_ascii_lowercase(),
        email
    );
    let now = Utc::now();
    let limited = match limiter.per_account.check(db, &account_key, now).await? {
        Some(wait) => Some(wait),
        None => limiter.per_client.check(db, client, now).await?,
    };
    if let Some(retry_after_secs) = limited {
        return Err(Error::RateLimited { retry_after_secs });
    }

    let tenant = tenants::find_by_slug(db, &input.tenant_slug).await?;
    let operator = match &tenant {
        Some(tenant) => {
            operator::Entity::find()
                .filter(operator::Column::TenantId.eq(tenant.id))
                .filter(operator::Column::Email.eq(&email))
                .one(db)
                .await?
        }
        None => None,
    };
    let stored_hash = operator.as_ref().map(|o| o.password_hash.clone());
    let password_ok = password::verify(input.password, stored_hash).await?;

    let (Some(tenant), Some(operator), true) = (tenant, operator, password_ok) else {
        limiter.per_account.record(db, &account_key, now).await?;
        limiter.per_client.record(db, client, now).await?;
        tracing::info!(operator.email = %mask_email(&email), "login failed");
        return Err(Error::InvalidCredentials);
    };
    limiter.per_account.clear(db, &account_key).await?;
    tracing::info!(tenant.id = %tenant.id, operator.id = %operator.id, "operator logged in");
    sessions::start(db, keys, tenant, operator).await
}

pub struct AddOperator {
    pub email: String,
    pub password: SecretString,
    pub role: Role,
    pub locale: Locale,
}

/// Adds an operator to the tenant. Only an owner may add another owner.
pub async fn add(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    added_by: Role,
    input: AddOperator,
) -> Result<operator::Model> {
    if input.role == Role::Owner && added_by != Role::Owner {
        return Err(ValidationError::new("role", Some("owner"), Problem::CannotGrantOwner).into());
    }
    let email = validate_email("email", &input.email)?;
    validate_password(&input.password)?;
    let password_hash = password::hash(input.password).await?;

    operator::ActiveModel {
        id: Set(OperatorId::new().0),
        tenant_id: Set(tenant_id.0),
        email: Set(email.clone()),
        password_hash: Set(password_hash),
        role: Set(input.role.as_str().to_owned()),
        locale: Set(input.locale.as_str().to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map_err(|error| match error.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::from(ValidationError::new(
            "email",
            Some(&email),
            Problem::EmailTaken,
        )),
        _ => Error::from(error),
    })
}

pub async fn list(db: &DatabaseConnection, tenant_id: TenantId) -> Result<Vec<operator::Model>> {
    Ok(operator::Entity::find()
        .filter(operator::Column::TenantId.eq(tenant_id.0))
        .order_by_asc(operator::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn get(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    id: OperatorId,
) -> Result<operator::Model> {
    operator::Entity::find_by_id(id.0)
        .filter(operator::Column::TenantId.eq(tenant_id.0))
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::Operator))
}

/// Checks the shape of an address and lower-cases it. Deliverability is checked elsewhere.
pub fn validate_email(field: &str, value: &str) -> Result<String, ValidationError> {
    let email = value.trim().to_lowercase();
    if email.is_empty() {
        return Err(ValidationError::new(field, Some(value), Problem::Required));
    }
    if email.len() > 254 {
        return Err(ValidationError::new(
            field,
            Some(value),
            Problem::TooLong { max: 254 },
        ));
    }
    let valid = match email.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && !local.contains(char::is_whitespace)
                && !local.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
                && domain
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        }
        None => false,
    };
    if !valid {
        return Err(ValidationError::new(
            field,
            Some(value),
            Problem::InvalidEmail,
        ));
    }
    Ok(email)
}

pub fn validate_password(password: &SecretString) -> Result<(), ValidationError> {
    let length = password.expose_secret().chars().count();
    if length < password::MIN_PASSWORD_CHARS {
        return Err(ValidationError::new(
            "password",
            None,
            Problem::TooShort {
                min: password::MIN_PASSWORD_CHARS,
            },
        ));
    }
    if length > password::MAX_PASSWORD_CHARS {
        return Err(ValidationError::new(
            "password",
            None,
            Problem::TooLong {
                max: password::MAX_PASSWORD_CHARS,
            },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(
            validate_email("email", "  Taro@Example.JP ").unwrap(),
            "taro@example.jp"
        );
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for bad in [
            "taro",
            "taro@",
            "@example.jp",
            "taro@example",
            "ta ro@example.jp",
            "a@b..jp",
        ] {
            assert_eq!(
                validate_email("email", bad).unwrap_err().problem,
                Problem::InvalidEmail,
                "{bad}"
            );
        }
    }

    #[test]
    fn short_password_is_rejected_without_echoing_it() {
        let error = validate_password(&SecretString::from("short")).unwrap_err();
        assert_eq!(error.problem, Problem::TooShort { min: 10 });
        assert_eq!(error.value, None);
    }
}
