//! Members: the people who signed up to a tenant's mails, with their profile (the conditions
//! for matching mail), language and mail frequency.
//!
//! Every change to members bumps the tenant's matching revision in the same transaction, so
//! that workers rebuild their member index before matching the next listing.

pub mod accounts;
pub mod export;
pub mod import;
pub mod profile;
pub mod profile_fields;

use chrono::{DateTime, Utc, Weekday};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, Query},
};
use serde_json::{Map, Value};

use crate::{
    Error, Locale, MemberId, Problem, TenantId, ValidationError,
    entities::{delivery, member, tenant},
    error::{Resource, Result},
    operators::validate_email,
    outbox::DeliveryState,
    schedule, tenants,
};

/// The largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u64 = 200;

/// How often a member receives matching mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// One mail per matching listing, as soon as it is matched.
    Instant,
    /// One digest a day at the member's digest hour (tenant-local time).
    Daily,
    /// One digest a week on the member's digest weekday and hour.
    Weekly,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Instant => "instant",
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Instant, Self::Daily, Self::Weekly]
            .into_iter()
            .find(|f| f.as_str() == value)
    }
}

/// Whether a member receives mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    Active,
    Unsubscribed,
    /// Signed up on the member pages but has not confirmed the address yet (仮登録). Gets no
    /// mail but the confirmation.
    Pending,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Unsubscribed => "unsubscribed",
            MemberStatus::Pending => "pending",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "unsubscribed" => MemberStatus::Unsubscribed,
            "pending" => MemberStatus::Pending,
            _ => MemberStatus::Active,
        }
    }
}

/// A stored member.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: MemberId,
    pub email: String,
    pub locale: Locale,
    pub frequency: Frequency,
    /// Local hour (0-23) of digests.
    pub digest_hour: u8,
    /// Weekday of weekly digests, 0 = Monday.
    pub digest_weekday: u8,
    pub status: MemberStatus,
    pub profile: Map<String, Value>,
    pub next_digest_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<member::Model> for Member {
    type Error = Error;

    fn try_from(row: member::Model) -> Result<Self> {
        let profile = serde_json::from_str(&row.profile).map_err(|error| {
            anyhow::anyhow!("stored profile of member {} is malformed: {error}", row.id)
        })?;
        Ok(Member {
            id: MemberId(row.id),
            email: row.email,
            locale: Locale::from_tag(&row.locale),
            frequency: Frequency::parse(&row.frequency).unwrap_or(Frequency::Instant),
            digest_hour: u8::try_from(row.digest_hour).unwrap_or(9),
            digest_weekday: u8::try_from(row.digest_weekday).unwrap_or(0),
            status: MemberStatus::parse(&row.status),
            profile,
            next_digest_at: row.next_digest_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// What an operator or integrator gives for a member. Missing settings take their defaults:
/// the tenant's language, instant mail, digests at 9:00 on Mondays.
#[derive(Debug, Clone, Default)]
pub struct MemberInput {
    pub email: String,
    pub locale: Option<Locale>,
    pub frequency: Option<Frequency>,
    pub digest_hour: Option<i64>,
    pub digest_weekday: Option<i64>,
    pub profile: Map<String, Value>,
}

/// A member's settings after validation.
pub(crate) struct Validated {
    pub email: String,
    pub locale: Locale,
    pub frequency: Frequency,
    pub digest_hour: u8,
    pub digest_weekday: u8,
    pub profile_json: String,
}

pub(crate) fn validate(
    fields: &[profile_fields::ProfileField],
    tenant: &tenant::Model,
    input: &MemberInput,
) -> Result<Validated, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let email = validate_email("email", &input.email)
        .and_then(|email| check_local_part(email, tenant))
        .map_err(|error| errors.push(error))
        .ok();
    let mut in_range = |field: &str, value: Option<i64>, default: u8, max: i64| -> u8 {
        match value {
            None => default,
            Some(value) if (0..=max).contains(&value) => u8::try_from(value).unwrap_or(default),
            Some(value) => {
                errors.push(ValidationError::new(
                    field,
                    Some(&value.to_string()),
                    Problem::OutOfRange { min: 0, max },
                ));
                default
            }
        }
    };
    let digest_hour = in_range("digestHour", input.digest_hour, 9, 23);
    let digest_weekday = in_range("digestWeekday", input.digest_weekday, 0, 6);
    let profile = profile::normalize(fields, &input.profile)
        .map_err(|profile_errors| errors.extend(profile_errors))
        .ok();
    match (email, profile) {
        (Some(email), Some(profile)) if errors.is_empty() => Ok(Validated {
            email,
            locale: input
                .locale
                .unwrap_or_else(|| Locale::from_tag(&tenant.default_locale)),
            frequency: input.frequency.unwrap_or(Frequency::Instant),
            digest_hour,
            digest_weekday,
            profile_json: serde_json::to_string(&profile).unwrap_or_else(|_| "{}".to_owned()),
        }),
        _ => Err(errors),
    }
}

/// Applies the tenant's policy to a local part that is not a dot-atom (`taro..hanako@`,
/// `hanako.@`, `.sato@`, found in old Japanese carrier addresses). Such an address is rejected
/// with an explanation unless the tenant accepts them. Accepted ones get the local part quoted
/// when mail goes out.
fn check_local_part(email: String, tenant: &tenant::Model) -> Result<String, ValidationError> {
    let local = email.rsplit_once('@').map_or("", |(local, _)| local);
    if tenant.accept_nonstandard_addresses || mail::address::is_dot_atom(local) {
        Ok(email)
    } else {
        Err(ValidationError::new(
            "email",
            Some(&email),
            Problem::NonStandardAddress,
        ))
    }
}

/// When the member's next digest is due, or `None` for instant mail.
pub(crate) fn next_digest_at(
    frequency: Frequency,
    hour: u8,
    weekday: u8,
    time_zone: &str,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let weekday = match frequency {
        Frequency::Instant => return None,
        Frequency::Daily => None,
        Frequency::Weekly => Some(Weekday::try_from(weekday).unwrap_or(Weekday::Mon)),
    };
    Some(schedule::next_local_time(
        now,
        schedule::time_zone(time_zone),
        u32::from(hour),
        weekday,
    ))
}

pub(crate) fn first_error(errors: Vec<ValidationError>) -> Error {
    errors.into_iter().next().map_or_else(
        || Error::Internal(anyhow::anyhow!("validation failed without an error")),
        Error::from,
    )
}

/// Adds a member. An address already registered with the tenant is rejected.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    input: MemberInput,
) -> Result<Member> {
    let tenant = tenants::get(db, tenant_id).await?;
    let fields = profile_fields::get(db, tenant_id).await?;
    let valid = validate(&fields, &tenant, &input).map_err(first_error)?;
    let now = Utc::now();
    let tx = crate::db::begin_write(db).await?;
    let row =
        member::ActiveModel {
            id: Set(MemberId::new().0),
            tenant_id: Set(tenant_id.0),
            email: Set(valid.email.clone()),
            email_key: Set(valid.email.to_lowercase()),
            locale: Set(valid.locale.as_str().to_owned()),
            frequency: Set(valid.frequency.as_str().to_owned()),
            digest_hour: Set(i16::from(valid.digest_hour)),
            digest_weekday: Set(i16::from(valid.digest_weekday)),
            status: Set(MemberStatus::Active.as_str().to_owned()),
            profile: Set(valid.profile_json),
            next_digest_at: Set(next_digest_at(
                valid.frequency,
                valid.digest_hour,
                valid.digest_weekday,
                &tenant.time_zone,
                now,
            )),
            created_at: Set(now),
            updated_at: Set(now),
            password_hash: Set(None),
            confirmed_at: Set(None),
            consent: Set(None),
        }
        .insert(&tx)
        .await
        .map_err(|error| match error.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::from(
                ValidationError::new("email", Some(&valid.email), Problem::EmailTaken),
            ),
            _ => Error::from(error),
        })?;
    tenants::bump_matching_revision(&tx, tenant_id).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, member.id = %row.id, "member created");
    row.try_into()
}

/// Replaces a member's address, settings and profile.
pub async fn update(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    member_id: MemberId,
    input: MemberInput,
) -> Result<Member> {
    let tenant = tenants::get(db, tenant_id).await?;
    let fields = profile_fields::get(db, tenant_id).await?;
    let valid = validate(&fields, &tenant, &input).map_err(first_error)?;
    let tx = crate::db::begin_write(db).await?;
    let row = find_row(&tx, tenant_id, member_id).await?;
    let switching_to_instant =
        valid.frequency == Frequency::Instant && row.frequency != valid.frequency.as_str();
    let schedule_changed = row.frequency != valid.frequency.as_str()
        || row.digest_hour != i16::from(valid.digest_hour)
        || row.digest_weekday != i16::from(valid.digest_weekday);
    let now = Utc::now();
    let mut active: member::ActiveModel = row.into();
    active.email = Set(valid.email.clone());
    active.email_key = Set(valid.email.to_lowercase());
    active.locale = Set(valid.locale.as_str().to_owned());
    active.frequency = Set(valid.frequency.as_str().to_owned());
    active.digest_hour = Set(i16::from(valid.digest_hour));
    active.digest_weekday = Set(i16::from(valid.digest_weekday));
    active.profile = Set(valid.profile_json);
    if switching_to_instant {
        // What waits in the member's digest goes out with the scheduler's next pass, which
        // queues digests under the matching lease and then clears this time.
        active.next_digest_at = Set(Some(now));
    } else if schedule_changed {
        active.next_digest_at = Set(next_digest_at(
            valid.frequency,
            valid.digest_hour,
            valid.digest_weekday,
            &tenant.time_zone,
            now,
        ));
    }
    active.updated_at = Set(now);
    let row = active
        .update(&tx)
        .await
        .map_err(|error| match error.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::from(
                ValidationError::new("email", Some(&valid.email), Problem::EmailTaken),
            ),
            _ => Error::from(error),
        })?;
    tenants::bump_matching_revision(&tx, tenant_id).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, member.id = %member_id, "member updated");
    row.try_into()
}

/// Sets whether the member receives mail. An unsubscribed member is left out of matching, and
/// their step-mail enrollments end.
pub async fn set_status(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    member_id: MemberId,
    status: MemberStatus,
) -> Result<Member> {
    let tx = crate::db::begin_write(db).await?;
    let row = find_row(&tx, tenant_id, member_id).await?;
    // Only the member's own confirmation ends a pending sign-up: that is the double opt-in.
    if status == MemberStatus::Active && MemberStatus::parse(&row.status) == MemberStatus::Pending {
        return Err(
            ValidationError::new("subscribed", Some(&row.email), Problem::NotConfirmed).into(),
        );
    }
    let mut active: member::ActiveModel = row.into();
    active.status = Set(status.as_str().to_owned());
    active.updated_at = Set(Utc::now());
    let row = active.update(&tx).await?;
    tenants::bump_matching_revision(&tx, tenant_id).await?;
    if status == MemberStatus::Unsubscribed {
        crate::steps::enrollments::end_for_member(
            &tx,
            tenant_id,
            member_id,
            crate::steps::enrollments::ended::UNSUBSCRIBED,
            Utc::now(),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, member.id = %member_id, status = status.as_str(), "member status set");
    row.try_into()
}

/// Deletes a member with their matches, unsent digest, step-mail enrollments and member-page
/// sessions. Their past deliveries stay, without the member.
pub async fn delete(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    member_id: MemberId,
) -> Result<()> {
    let tx = crate::db::begin_write(db).await?;
    let unsent = Query::select()
        .column(delivery::Column::Id)
        .from(delivery::Entity)
        .and_where(delivery::Column::TenantId.eq(tenant_id.0))
        .and_where(delivery::Column::MemberId.eq(member_id.0))
        .and_where(delivery::Column::State.eq(DeliveryState::Collecting.as_str()))
        .to_owned();
    tx.execute(
        &Query::delete()
            .from_table(Alias::new("digest_items"))
            .and_where(Expr::col(Alias::new("tenant_id")).eq(tenant_id.0))
            .and_where(Expr::col(Alias::new("delivery_id")).in_subquery(unsent))
            .to_owned(),
    )
    .await?;
    delivery::Entity::delete_many()
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::MemberId.eq(member_id.0))
        .filter(delivery::Column::State.eq(DeliveryState::Collecting.as_str()))
        .exec(&tx)
        .await?;
    // On PostgreSQL `deliveries` has no foreign keys (see migration m20261205_000008), so
    // nothing cascades to it. The member's id stays in the match sets of listings they matched
    // (m20261205_000009), where it no longer names anyone.
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::MemberId,
            Expr::value(Option::<uuid::Uuid>::None),
        )
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::MemberId.eq(member_id.0))
        .exec(&tx)
        .await?;
    crate::entities::enrollment::Entity::delete_many()
        .filter(crate::entities::enrollment::Column::TenantId.eq(tenant_id.0))
        .filter(crate::entities::enrollment::Column::MemberId.eq(member_id.0))
        .exec(&tx)
        .await?;
    crate::entities::member_token::Entity::delete_many()
        .filter(crate::entities::member_token::Column::TenantId.eq(tenant_id.0))
        .filter(crate::entities::member_token::Column::MemberId.eq(member_id.0))
        .exec(&tx)
        .await?;
    let deleted = member::Entity::delete_many()
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .filter(member::Column::Id.eq(member_id.0))
        .exec(&tx)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(Error::NotFound(Resource::Member));
    }
    tenants::bump_matching_revision(&tx, tenant_id).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, member.id = %member_id, "member deleted");
    Ok(())
}

async fn find_row(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    member_id: MemberId,
) -> Result<member::Model> {
    member::Entity::find()
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .filter(member::Column::Id.eq(member_id.0))
        .one(db)
        .await?
        .ok_or(Error::NotFound(Resource::Member))
}

/// Loads one member of the tenant.
pub async fn get(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    member_id: MemberId,
) -> Result<Member> {
    find_row(db, tenant_id, member_id).await?.try_into()
}

/// One page of members.
pub struct MemberPage {
    pub nodes: Vec<Member>,
    pub total_count: u64,
    pub has_next_page: bool,
}

/// Lists members, newest first. `after` is the last id of the previous page; `search` matches
/// part of the address.
pub async fn list(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    first: u64,
    after: Option<MemberId>,
    search: Option<&str>,
) -> Result<MemberPage> {
    let first = first.clamp(1, MAX_PAGE_SIZE);
    let mut query = member::Entity::find().filter(member::Column::TenantId.eq(tenant_id.0));
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let escaped = search
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(member::Column::EmailKey)))
                .like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
    }
    let total_count = query.clone().count(db).await?;
    if let Some(after) = after {
        query = query.filter(member::Column::Id.lt(after.0));
    }
    let mut rows = query
        .order_by_desc(member::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
    Ok(MemberPage {
        nodes: rows
            .into_iter()
            .map(Member::try_from)
            .collect::<Result<_>>()?,
        total_count,
        has_next_page,
    })
}
