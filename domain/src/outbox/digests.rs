//! Digests: members who chose daily or weekly mail get their waiting matches bundled into one
//! delivery at their local digest time. A member with nothing waiting gets no mail.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set, TransactionTrait,
    sea_query::Expr,
};
use uuid::Uuid;

use super::{DeliveryKind, DeliveryState, new_message_id};
use crate::{
    TenantId,
    entities::{delivery, listing_match, match_update, member},
    error::Result,
    members::{Frequency, MemberStatus, next_digest_at},
    tenants,
};

/// Creates the digests due at `now` for the tenant's members and moves each member's next
/// digest time on. Returns how many digests it created.
pub async fn create_due(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    now: DateTime<Utc>,
) -> Result<usize> {
    let tenant = tenants::get(db, tenant_id).await?;
    let mut created = 0;
    // Each pass moves the members it reads past `now`; a pass that moves none ends the loop, so
    // a row that cannot be moved is never read forever.
    loop {
        let mut moved_any = false;
        let due = member::Entity::find()
            .filter(member::Column::TenantId.eq(tenant_id.0))
            .filter(member::Column::NextDigestAt.lte(now))
            .limit(1_000)
            .all(db)
            .await?;
        if due.is_empty() {
            break;
        }
        for row in due {
            let tx = db.begin().await?;
            let frequency = Frequency::parse(&row.frequency).unwrap_or(Frequency::Instant);
            let next = next_digest_at(
                frequency,
                u8::try_from(row.digest_hour).unwrap_or(9),
                u8::try_from(row.digest_weekday).unwrap_or(0),
                &tenant.time_zone,
                now,
            );
            // Only the worker that moves the member's digest time on creates the digest.
            let moved = member::Entity::update_many()
                .col_expr(member::Column::NextDigestAt, Expr::value(next))
                .filter(member::Column::TenantId.eq(tenant_id.0))
                .filter(member::Column::Id.eq(row.id))
                .filter(member::Column::NextDigestAt.eq(row.next_digest_at))
                .exec(&tx)
                .await?;
            moved_any |= moved.rows_affected > 0;
            if moved.rows_affected == 0 || row.status != MemberStatus::Active.as_str() {
                tx.commit().await?;
                continue;
            }
            let delivery_id = Uuid::now_v7();
            let matched = listing_match::Entity::update_many()
                .col_expr(listing_match::Column::DeliveryId, Expr::value(delivery_id))
                .filter(listing_match::Column::TenantId.eq(tenant_id.0))
                .filter(listing_match::Column::MemberId.eq(row.id))
                .filter(listing_match::Column::DeliveryId.is_null())
                .exec(&tx)
                .await?;
            let updated = match_update::Entity::update_many()
                .col_expr(match_update::Column::DeliveryId, Expr::value(delivery_id))
                .filter(match_update::Column::TenantId.eq(tenant_id.0))
                .filter(match_update::Column::MemberId.eq(row.id))
                .filter(match_update::Column::DeliveryId.is_null())
                .exec(&tx)
                .await?;
            if matched.rows_affected + updated.rows_affected > 0 {
                delivery::Entity::insert(delivery::ActiveModel {
                    id: Set(delivery_id),
                    tenant_id: Set(tenant_id.0),
                    member_id: Set(Some(row.id)),
                    kind: Set(DeliveryKind::Digest.as_str().to_owned()),
                    state: Set(DeliveryState::Queued.as_str().to_owned()),
                    to_address: Set(row.email.clone()),
                    locale: Set(row.locale.clone()),
                    message_id: Set(new_message_id(delivery_id)),
                    subject: Set(String::new()),
                    text_body: Set(String::new()),
                    html_body: Set(String::new()),
                    headers: Set(String::new()),
                    error: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .exec(&tx)
                .await?;
                created += 1;
            }
            tx.commit().await?;
        }
        if !moved_any {
            break;
        }
    }
    if created > 0 {
        tracing::info!(tenant.id = %tenant_id, digests = created, "digests created");
    }
    Ok(created)
}

/// Lists the tenants with a member whose digest is due, for the scheduler. Each tenant is probed
/// through the (tenant_id, next_digest_at) index instead of scanning every member.
pub async fn tenants_with_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Vec<TenantId>> {
    let mut due = Vec::new();
    for tenant_id in tenants::ids(db).await? {
        let any = member::Entity::find()
            .select_only()
            .column(member::Column::Id)
            .filter(member::Column::TenantId.eq(tenant_id.0))
            .filter(member::Column::NextDigestAt.lte(now))
            .limit(1)
            .into_tuple::<Uuid>()
            .one(db)
            .await?;
        if any.is_some() {
            due.push(tenant_id);
        }
    }
    Ok(due)
}
