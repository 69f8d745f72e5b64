//! Member accounts on the tenant's member pages: sign-up with double opt-in (仮登録, then 本登録
//! from the link in a confirmation mail), login sessions, password change and reset, and
//! leaving (unsubscribe from everything, or delete the account and its data).
//!
//! No response reveals whether an address is registered: sign-up and reset requests succeed alike
//! for known and unknown addresses, and a known address gets a mail instead. Tokens are random
//! 256-bit values stored as SHA-256 hashes. The mails go through the outbox like any other, as
//! deliveries of kind `account` written when they are queued.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Frequency, MemberInput, MemberStatus, next_digest_at, profile_fields, validate};
use crate::{
    Error, Locale, MemberId, TenantId,
    auth::{password, tokens},
    entities::{member, member_token, tenant},
    error::Result,
    operators::validate_password,
    outbox::{DeliveryKind, queued_delivery},
    sending::suppressions::{self, Reason},
    steps::{SIGNUP_EVENT, enrollments},
    tenants,
};

/// How long a confirmation link works.
pub const CONFIRM_TTL: Duration = Duration::hours(48);
/// How long a password reset link works.
pub const RESET_TTL: Duration = Duration::hours(1);
/// How long a member stays logged in without logging in again.
pub const SESSION_TTL: Duration = Duration::days(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Confirm,
    Reset,
    Session,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Confirm => "confirm",
            Purpose::Reset => "reset",
            Purpose::Session => "session",
        }
    }
}

/// The values a member enters on the sign-up page.
#[derive(Debug, Clone)]
pub struct Signup {
    pub email: String,
    pub password: SecretString,
    pub locale: Locale,
    pub frequency: Frequency,
    pub profile: Map<String, Value>,
    /// The consent wording the page showed next to the checkbox, kept as the record.
    pub consent_text: String,
}

/// The links that account mails point to; `{token}` is replaced.
#[derive(Debug, Clone)]
pub struct Links {
    pub confirm: String,
    pub reset: String,
    pub login: String,
}

/// Lists every problem of a sign-up's address, password and conditions at once, so that the
/// form can show them together. [`sign_up`] checks the same and stops at the first.
pub async fn signup_problems(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    input: &Signup,
) -> Result<Vec<crate::ValidationError>> {
    let tenant = tenants::get(db, tenant_id).await?;
    let fields = profile_fields::get(db, tenant_id).await?;
    let member_input = MemberInput {
        email: input.email.clone(),
        locale: Some(input.locale),
        frequency: Some(input.frequency),
        digest_hour: None,
        digest_weekday: None,
        profile: input.profile.clone(),
    };
    let mut problems = validate(&fields, &tenant, &member_input)
        .err()
        .unwrap_or_default();
    if let Err(problem) = validate_password(&input.password) {
        problems.push(problem);
    }
    Ok(problems)
}

/// Registers a member as pending and queues the confirmation mail. A known address gets a
/// notice mail with the login and reset links instead, and the caller cannot tell the two
/// cases apart.
pub async fn sign_up(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    input: Signup,
    links: &Links,
    now: DateTime<Utc>,
) -> Result<()> {
    let tenant = tenants::get(db, tenant_id).await?;
    let fields = profile_fields::get(db, tenant_id).await?;
    let member_input = MemberInput {
        email: input.email.clone(),
        locale: Some(input.locale),
        frequency: Some(input.frequency),
        digest_hour: None,
        digest_weekday: None,
        profile: input.profile.clone(),
    };
    let valid = validate(&fields, &tenant, &member_input).map_err(super::first_error)?;
    validate_password(&input.password)?;
    let password_hash = password::hash(input.password.clone()).await?;

    let tx = crate::db::begin_write(db).await?;
    let existing = member::Entity::find()
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .filter(member::Column::EmailKey.eq(valid.email.to_lowercase()))
        .one(&tx)
        .await?;
    match existing {
        Some(row) if row.status != MemberStatus::Pending.as_str() => {
            let mail = known_address_mail(&tenant, input.locale, links);
            queue_mail(&tx, &row, input.locale, mail, now).await?;
            tracing::info!(tenant.id = %tenant_id, member.id = %row.id, "sign-up with a registered address; notice queued");
        }
        existing => {
            let consent = json!({ "at": now, "source": "signup_page", "text": input.consent_text });
            let is_new = existing.is_none();
            let mut active = match existing {
                Some(row) => row.into(),
                None => member::ActiveModel {
                    id: Set(MemberId::new().0),
                    tenant_id: Set(tenant_id.0),
                    created_at: Set(now),
                    confirmed_at: Set(None),
                    ..Default::default()
                },
            };
            active.email = Set(valid.email.clone());
            active.email_key = Set(valid.email.to_lowercase());
            active.locale = Set(valid.locale.as_str().to_owned());
            active.frequency = Set(valid.frequency.as_str().to_owned());
            active.digest_hour = Set(i16::from(valid.digest_hour));
            active.digest_weekday = Set(i16::from(valid.digest_weekday));
            active.status = Set(MemberStatus::Pending.as_str().to_owned());
            active.profile = Set(valid.profile_json.clone());
            active.next_digest_at = Set(next_digest_at(
                valid.frequency,
                valid.digest_hour,
                valid.digest_weekday,
                &tenant.time_zone,
                now,
            ));
            active.password_hash = Set(Some(password_hash));
            active.consent = Set(Some(consent.to_string()));
            active.updated_at = Set(now);
            let row = if is_new {
                active.insert(&tx).await?
            } else {
                active.update(&tx).await?
            };
            let token = issue(&tx, &row, Purpose::Confirm, now + CONFIRM_TTL, now).await?;
            let mail = confirmation_mail(
                &tenant,
                input.locale,
                &links.confirm.replace("{token}", &token),
            );
            queue_mail(&tx, &row, input.locale, mail, now).await?;
            tracing::info!(tenant.id = %tenant_id, member.id = %row.id, "member signed up; confirmation queued");
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Confirms the address behind a confirmation link (本登録): the member becomes active, the
/// consent is dated, and the `signup` event starts the sequences it triggers. Returns `None`
/// for an unknown, used or expired link.
pub async fn confirm(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<member::Model>> {
    let Some(row) = take(db, tenant_id, token, Purpose::Confirm, now).await? else {
        return Ok(None);
    };
    let mut consent: Map<String, Value> = row
        .consent
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    consent.insert("confirmed_at".to_owned(), json!(now));
    let mut active: member::ActiveModel = row.into();
    active.status = Set(MemberStatus::Active.as_str().to_owned());
    active.confirmed_at = Set(Some(now));
    active.consent = Set(Some(Value::Object(consent).to_string()));
    active.updated_at = Set(now);
    let row = active.update(db).await?;
    tenants::bump_matching_revision(db, tenant_id).await?;
    enrollments::record_event(db, tenant_id, MemberId(row.id), SIGNUP_EVENT, now).await?;
    tracing::info!(tenant.id = %tenant_id, member.id = %row.id, "member confirmed the address");
    Ok(Some(row))
}

/// Checks a member's address and password and starts a session; returns its token. Every
/// failure, including an unconfirmed address, is the same `InvalidCredentials`.
pub async fn log_in(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    email: &str,
    password: SecretString,
    now: DateTime<Utc>,
) -> Result<String> {
    let row = member::Entity::find()
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .filter(member::Column::EmailKey.eq(email.trim().to_lowercase()))
        .one(db)
        .await?;
    let hash = row
        .as_ref()
        .filter(|row| row.status != MemberStatus::Pending.as_str())
        .and_then(|row| row.password_hash.clone());
    if !password::verify(password, hash).await? {
        return Err(Error::InvalidCredentials);
    }
    let row = row.ok_or(Error::InvalidCredentials)?;
    let token = issue(db, &row, Purpose::Session, now + SESSION_TTL, now).await?;
    tracing::info!(tenant.id = %tenant_id, member.id = %row.id, "member logged in");
    Ok(token)
}

/// Returns the member of a live session.
pub async fn session_member(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<member::Model>> {
    let Some(stored) = find(db, tenant_id, token, Purpose::Session, now).await? else {
        return Ok(None);
    };
    Ok(member::Entity::find()
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .filter(member::Column::Id.eq(stored.member_id))
        .one(db)
        .await?)
}

/// Ends one session.
pub async fn log_out(db: &DatabaseConnection, tenant_id: TenantId, token: &str) -> Result<()> {
    member_token::Entity::delete_many()
        .filter(member_token::Column::TenantId.eq(tenant_id.0))
        .filter(member_token::Column::TokenHash.eq(tokens::sha256_hex(token)))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of the member and voids their links.
pub async fn log_out_everywhere(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    member_id: Uuid,
) -> Result<()> {
    member_token::Entity::delete_many()
        .filter(member_token::Column::TenantId.eq(tenant_id.0))
        .filter(member_token::Column::MemberId.eq(member_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Changes a logged-in member's password after checking the current one. Other sessions end.
pub async fn change_password(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    row: &member::Model,
    current: SecretString,
    new: SecretString,
) -> Result<()> {
    if !password::verify(current, row.password_hash.clone()).await? {
        return Err(crate::ValidationError::new(
            "currentPassword",
            None,
            crate::Problem::WrongPassword,
        )
        .into());
    }
    set_password(db, tenant_id, row, new).await
}

async fn set_password(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    row: &member::Model,
    new: SecretString,
) -> Result<()> {
    validate_password(&new)?;
    let hash = password::hash(new).await?;
    let tx = crate::db::begin_write(db).await?;
    let mut active: member::ActiveModel = row.clone().into();
    active.password_hash = Set(Some(hash));
    active.updated_at = Set(Utc::now());
    active.update(&tx).await?;
    log_out_everywhere(&tx, tenant_id, row.id).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, member.id = %row.id, "member password changed");
    Ok(())
}

/// Queues a password reset mail when the address belongs to a member with a password. Succeeds
/// alike for unknown addresses.
pub async fn request_reset(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    email: &str,
    locale: Locale,
    links: &Links,
    now: DateTime<Utc>,
) -> Result<()> {
    let tenant = tenants::get(db, tenant_id).await?;
    let row = member::Entity::find()
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .filter(member::Column::EmailKey.eq(email.trim().to_lowercase()))
        .one(db)
        .await?;
    let Some(row) = row.filter(|row| row.password_hash.is_some()) else {
        return Ok(());
    };
    let tx = crate::db::begin_write(db).await?;
    let token = issue(&tx, &row, Purpose::Reset, now + RESET_TTL, now).await?;
    let mail = reset_mail(&tenant, locale, &links.reset.replace("{token}", &token));
    queue_mail(&tx, &row, locale, mail, now).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, member.id = %row.id, "password reset mail queued");
    Ok(())
}

/// Returns whether a reset link is live, without using it.
pub async fn reset_link_is_live(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    token: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(find(db, tenant_id, token, Purpose::Reset, now)
        .await?
        .is_some())
}

/// Sets a new password from a reset link and ends every session. Returns false for an
/// unknown, used or expired link.
pub async fn reset(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    token: &str,
    new: SecretString,
    now: DateTime<Utc>,
) -> Result<bool> {
    validate_password(&new)?;
    let Some(row) = take(db, tenant_id, token, Purpose::Reset, now).await? else {
        return Ok(false);
    };
    set_password(db, tenant_id, &row, new).await?;
    Ok(true)
}

/// Stops all mail to the member: unsubscribed, on the suppression list, every sequence ended.
pub async fn unsubscribe_everything(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    row: &member::Model,
) -> Result<()> {
    super::set_status(db, tenant_id, MemberId(row.id), MemberStatus::Unsubscribed).await?;
    suppressions::add(
        db,
        tenant_id,
        &row.email,
        Reason::Unsubscribed,
        "member page",
    )
    .await?;
    Ok(())
}

/// Deletes the member's account and data (退会): sessions, links, enrollments, matches and the
/// member row. Past deliveries stay in the outbox without the member.
pub async fn delete_account(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    row: &member::Model,
) -> Result<()> {
    log_out_everywhere(db, tenant_id, row.id).await?;
    super::delete(db, tenant_id, MemberId(row.id)).await
}

/// Stores a new token and returns it; only its hash is kept.
async fn issue(
    db: &impl ConnectionTrait,
    row: &member::Model,
    purpose: Purpose,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<String> {
    let token = tokens::random_token();
    member_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(row.tenant_id),
        member_id: Set(row.id),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(tokens::sha256_hex(&token)),
        expires_at: Set(expires_at),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(token)
}

async fn find(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    token: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Option<member_token::Model>> {
    Ok(member_token::Entity::find()
        .filter(member_token::Column::TenantId.eq(tenant_id.0))
        .filter(member_token::Column::TokenHash.eq(tokens::sha256_hex(token)))
        .filter(member_token::Column::Purpose.eq(purpose.as_str()))
        .filter(member_token::Column::ExpiresAt.gt(now))
        .one(db)
        .await?)
}

/// Uses a one-time token: deletes it and returns its member. A token deleted by a concurrent
/// request counts as used.
async fn take(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    token: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Option<member::Model>> {
    let Some(stored) = find(db, tenant_id, token, purpose, now).await? else {
        return Ok(None);
    };
    let deleted = member_token::Entity::delete_many()
        .filter(member_token::Column::TenantId.eq(tenant_id.0))
        .filter(member_token::Column::Id.eq(stored.id))
        .exec(db)
        .await?;
    if deleted.rows_affected == 0 {
        return Ok(None);
    }
    Ok(member::Entity::find()
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .filter(member::Column::Id.eq(stored.member_id))
        .one(db)
        .await?)
}

/// An account mail's subject and text.
struct AccountMail {
    subject: String,
    text: String,
}

fn confirmation_mail(tenant: &tenant::Model, locale: Locale, url: &str) -> AccountMail {
    let name = &tenant.name;
    match locale {
        Locale::Ja => AccountMail {
            subject: format!("【{name}】メールアドレスの確認（本登録のお願い）"),
            text: format!(
                "{name}への仮登録を受け付けました。\n\n次のリンクを開き、「本登録する」を押すと登録が完了します。\
                 リンクの有効期限は48時間です。\n\n{url}\n\nお心当たりがない場合は、このメールを破棄してください。\
                 登録は完了せず、今後メールが届くこともありません。\n\n{name}\n"
            ),
        },
        Locale::En => AccountMail {
            subject: format!("[{name}] Confirm your email address"),
            text: format!(
                "We received your sign-up for {name}.\n\nOpen this link and press \"Confirm\" to \
                 complete it. The link works for 48 hours.\n\n{url}\n\nIf you did not sign up, \
                 ignore this mail: nothing is registered and no further mail will come.\n\n{name}\n"
            ),
        },
    }
}

fn known_address_mail(tenant: &tenant::Model, locale: Locale, links: &Links) -> AccountMail {
    let name = &tenant.name;
    let login = &links.login;
    let reset = links.reset.split("/{token}").next().unwrap_or(&links.reset);
    match locale {
        Locale::Ja => AccountMail {
            subject: format!("【{name}】このメールアドレスは登録済みです"),
            text: format!(
                "{name}への登録のお申し込みがありましたが、このメールアドレスは既に登録されています。\n\n\
                 ログイン: {login}\nパスワードをお忘れの場合: {reset}\n\n\
                 お心当たりがない場合は、このメールを破棄してください。\n\n{name}\n"
            ),
        },
        Locale::En => AccountMail {
            subject: format!("[{name}] This address is already registered"),
            text: format!(
                "Someone asked to sign up for {name} with this address, which is already \
                 registered.\n\nLog in: {login}\nForgot your password: {reset}\n\nIf it was not \
                 you, ignore this mail.\n\n{name}\n"
            ),
        },
    }
}

fn reset_mail(tenant: &tenant::Model, locale: Locale, url: &str) -> AccountMail {
    let name = &tenant.name;
    match locale {
        Locale::Ja => AccountMail {
            subject: format!("【{name}】パスワードの再設定"),
            text: format!(
                "パスワードの再設定を受け付けました。次のリンクから新しいパスワードを設定してください。\
                 リンクの有効期限は1時間です。\n\n{url}\n\nお心当たりがない場合は、このメールを破棄してください。\
                 パスワードは変わりません。\n\n{name}\n"
            ),
        },
        Locale::En => AccountMail {
            subject: format!("[{name}] Reset your password"),
            text: format!(
                "Set a new password with this link. It works for one hour.\n\n{url}\n\nIf you did \
                 not ask for this, ignore this mail: your password stays as it is.\n\n{name}\n"
            ),
        },
    }
}

/// Queues an account mail, written already; the outbox composes and sends it.
async fn queue_mail(
    db: &impl ConnectionTrait,
    row: &member::Model,
    locale: Locale,
    mail: AccountMail,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut delivery = queued_delivery(row, DeliveryKind::Account, locale.as_str(), now);
    delivery.subject = Set(mail.subject);
    delivery.text_body = Set(mail.text);
    delivery.insert(db).await?;
    Ok(())
}
