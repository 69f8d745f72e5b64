//! One-click unsubscribe (RFC 8058). Each mail carries its own link token: the delivery id and
//! an HMAC tag, so the URL contains no address and cannot be forged or edited to reach another
//! member. A POST to the link unsubscribes at once; a GET only shows a confirmation page,
//! because link scanners fetch every URL in a mail.

use aws_lc_rs::hmac;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use super::{
    SecretBox,
    suppressions::{self, Reason},
};
use crate::{
    TenantId,
    entities::{delivery, member, tenant},
    error::Result,
    members::MemberStatus,
};

const PURPOSE: &str = "unsubscribe";
/// Bytes of the HMAC tag kept in the token.
const TAG_BYTES: usize = 16;

/// Builds the link token of a delivery.
pub fn token(secrets: &SecretBox, delivery_id: Uuid) -> String {
    let tag = hmac::sign(&secrets.hmac_key(PURPOSE), delivery_id.as_bytes());
    let mut bytes = delivery_id.as_bytes().to_vec();
    bytes.extend_from_slice(&tag.as_ref()[..TAG_BYTES]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Builds the full unsubscribe URL of a delivery.
pub fn url(secrets: &SecretBox, public_url: &str, delivery_id: Uuid) -> String {
    format!("{public_url}/u/{}", token(secrets, delivery_id))
}

/// Reads a token back to its delivery id; `None` for a token this deployment did not make.
pub fn verify(secrets: &SecretBox, token: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if bytes.len() != 16 + TAG_BYTES {
        return None;
    }
    let (id, tag) = bytes.split_at(16);
    let expected = hmac::sign(&secrets.hmac_key(PURPOSE), id);
    // Constant-time comparison of the truncated tag.
    aws_lc_rs::constant_time::verify_slices_are_equal(&expected.as_ref()[..TAG_BYTES], tag).ok()?;
    Uuid::from_slice(id).ok()
}

/// The subscription behind a link, as the unsubscribe page shows it.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub tenant_id: TenantId,
    pub tenant_name: String,
    /// The tenant, for its logo and colours; `None` if it was deleted meanwhile.
    pub tenant: Option<tenant::Model>,
    /// The language the mail was written in, which the page uses too.
    pub locale: crate::Locale,
    /// The address, partly hidden: `ta***@example.jp`.
    pub masked_address: String,
    pub already_unsubscribed: bool,
}

/// Looks up the mail behind a token, for the confirmation page. Changes nothing.
pub async fn find(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    token: &str,
) -> Result<Option<Subscription>> {
    let Some(delivery_id) = verify(secrets, token) else {
        return Ok(None);
    };
    let Some(mail) = delivery::Entity::find_by_id(delivery_id).one(db).await? else {
        return Ok(None);
    };
    let Some(owner) = tenant::Entity::find_by_id(mail.tenant_id).one(db).await? else {
        return Ok(None);
    };
    let tenant_id = TenantId(mail.tenant_id);
    let already =
        !suppressions::suppressed_among(db, tenant_id, std::slice::from_ref(&mail.to_address))
            .await?
            .is_empty();
    Ok(Some(Subscription {
        tenant_id,
        tenant_name: owner.name.clone(),
        tenant: Some(owner),
        locale: crate::Locale::from_tag(&mail.locale),
        masked_address: mask(&mail.to_address),
        already_unsubscribed: already,
    }))
}

/// Unsubscribes the recipient of the mail behind a token from all of the tenant's mail: the
/// address goes on the suppression list and the member (if still there) stops being matched.
/// Repeating it changes nothing. Returns `None` for an unknown token.
pub async fn apply(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    token: &str,
) -> Result<Option<Subscription>> {
    let Some(delivery_id) = verify(secrets, token) else {
        return Ok(None);
    };
    let Some(mail) = delivery::Entity::find_by_id(delivery_id).one(db).await? else {
        return Ok(None);
    };
    let tenant_id = TenantId(mail.tenant_id);
    let tx = crate::db::begin_write(db).await?;
    suppressions::add(
        &tx,
        tenant_id,
        &mail.to_address,
        Reason::Unsubscribed,
        "one-click unsubscribe",
    )
    .await?;
    if let Some(member_id) = mail.member_id {
        member::Entity::update_many()
            .col_expr(
                member::Column::Status,
                Expr::value(MemberStatus::Unsubscribed.as_str()),
            )
            .col_expr(member::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(member::Column::TenantId.eq(tenant_id.0))
            .filter(member::Column::Id.eq(member_id))
            .exec(&tx)
            .await?;
        crate::steps::enrollments::end_for_member(
            &tx,
            tenant_id,
            crate::MemberId(member_id),
            crate::steps::enrollments::ended::UNSUBSCRIBED,
            Utc::now(),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, delivery.id = %delivery_id, "member unsubscribed by one-click link");
    let owner = tenant::Entity::find_by_id(mail.tenant_id).one(db).await?;
    Ok(Some(Subscription {
        tenant_id,
        tenant_name: owner.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
        tenant: owner,
        locale: crate::Locale::from_tag(&mail.locale),
        masked_address: mask(&mail.to_address),
        already_unsubscribed: true,
    }))
}

/// Hides most of the local part: `taro@example.jp` becomes `ta***@example.jp`.
fn mask(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let shown: String = local.chars().take(2).collect();
            format!("{shown}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_and_rejects_edits() {
        let secrets = SecretBox::random();
        let id = Uuid::now_v7();
        let token = token(&secrets, id);
        assert_eq!(verify(&secrets, &token), Some(id));
        assert_eq!(verify(&SecretBox::random(), &token), None);
        let mut edited = token.into_bytes();
        edited[3] = if edited[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(verify(&secrets, &String::from_utf8(edited).unwrap()), None);
    }

    #[test]
    fn masked_address_keeps_two_characters() {
        assert_eq!(mask("taro@example.jp"), "ta***@example.jp");
    }
}
