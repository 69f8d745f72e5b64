//! Digests: members who chose daily or weekly mail get their waiting matches bundled into one
//! delivery at their local digest time. A member with nothing waiting gets no mail.
//!
//! Matching puts each waiting match into the member's collecting digest, a delivery row in state
//! `collecting`. When the digest falls due, that row becomes a queued mail, and its matches are
//! never rewritten.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    sea_query::Expr,
};
use uuid::Uuid;

use super::{DeliveryKind, DeliveryState};
use crate::{
    TenantId,
    entities::{delivery, member},
    error::Result,
    leases,
    members::{Frequency, MemberStatus, next_digest_at},
    tenants,
};

/// Members read per transaction.
const BATCH_MEMBERS: u64 = 1_000;
const LEASE_TTL: Duration = Duration::seconds(120);

/// Creates the digests due at `now` for the tenant's members and moves each member's next
/// digest time on. Returns how many digests it created.
///
/// It runs under the tenant's matching lease, so that no matching batch adds to a digest that
/// is being queued. While matching holds the lease it returns 0, and the scheduler's next pass (or
/// the digest time after) queues the digests then.
pub async fn create_due(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    now: DateTime<Utc>,
) -> Result<usize> {
    let holder = Uuid::now_v7();
    if !leases::acquire(
        db,
        tenant_id,
        leases::MATCHING,
        holder,
        LEASE_TTL,
        Utc::now(),
    )
    .await?
    {
        return Ok(0);
    }
    let created = create_due_holding(db, tenant_id, holder, now).await;
    leases::release(db, tenant_id, leases::MATCHING, holder).await?;
    let created = created?;
    if created > 0 {
        tracing::info!(tenant.id = %tenant_id, digests = created, "digests created");
    }
    Ok(created)
}

async fn create_due_holding(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    holder: Uuid,
    now: DateTime<Utc>,
) -> Result<usize> {
    let tenant = tenants::get(db, tenant_id).await?;
    let mut created = 0;
    // Each pass moves the members it reads past `now`; a pass that moves none ends the loop, so
    // a row that cannot be moved is never read forever.
    loop {
        let mut moved_any = false;
        let due: Vec<(Uuid, String, i16, i16)> = member::Entity::find()
            .select_only()
            .columns([
                member::Column::Id,
                member::Column::Frequency,
                member::Column::DigestHour,
                member::Column::DigestWeekday,
            ])
            .filter(member::Column::TenantId.eq(tenant_id.0))
            .filter(member::Column::NextDigestAt.lte(now))
            .limit(BATCH_MEMBERS)
            .into_tuple()
            .all(db)
            .await?;
        if due.is_empty() {
            break;
        }
        let tx = crate::db::begin_write(db).await?;
        if !leases::renew(
            &tx,
            tenant_id,
            leases::MATCHING,
            holder,
            LEASE_TTL,
            Utc::now(),
        )
        .await?
        {
            tx.rollback().await?;
            tracing::warn!(tenant.id = %tenant_id, "matching lease lost while queueing digests");
            break;
        }
        // Members due at the same next time are moved in one statement. Only the worker that
        // moves a member's digest time on sends the digest (the lease makes that this one).
        let mut by_next: HashMap<Option<DateTime<Utc>>, Vec<Uuid>> = HashMap::new();
        for (id, frequency, hour, weekday) in &due {
            let frequency = Frequency::parse(frequency).unwrap_or(Frequency::Instant);
            let next = next_digest_at(
                frequency,
                u8::try_from(*hour).unwrap_or(9),
                u8::try_from(*weekday).unwrap_or(0),
                &tenant.time_zone,
                now,
            );
            by_next.entry(next).or_default().push(*id);
        }
        // A stopped member's digest keeps collecting until the member is resumed.
        let mut to_send = Vec::new();
        for (next, ids) in by_next {
            let moved = member::Entity::update_many()
                .col_expr(member::Column::NextDigestAt, Expr::value(next))
                .filter(member::Column::TenantId.eq(tenant_id.0))
                .filter(member::Column::Id.is_in(ids))
                .filter(member::Column::NextDigestAt.lte(now))
                .exec_with_returning(&tx)
                .await?;
            moved_any |= !moved.is_empty();
            to_send.extend(
                moved
                    .into_iter()
                    .filter(|row| row.status == MemberStatus::Active.as_str())
                    .map(|row| row.id),
            );
        }
        created += send_collected(&tx, tenant_id, &to_send, now).await?;
        tx.commit().await?;
        if !moved_any {
            break;
        }
    }
    Ok(created)
}

/// Queues these members' collecting digests for rendering and sending. Returns how many
/// digests it queued.
async fn send_collected(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    member_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<usize> {
    if member_ids.is_empty() {
        return Ok(0);
    }
    let queued = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::State,
            Expr::value(DeliveryState::Queued.as_str()),
        )
        .col_expr(delivery::Column::CreatedAt, Expr::value(now))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::MemberId.is_in(member_ids.iter().copied()))
        .filter(delivery::Column::Kind.eq(DeliveryKind::Digest.as_str()))
        .filter(delivery::Column::State.eq(DeliveryState::Collecting.as_str()))
        .exec(db)
        .await?;
    Ok(queued.rows_affected as usize)
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
