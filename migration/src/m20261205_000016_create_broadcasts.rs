//! Broadcasts: one mail written once and sent to every subscribed member at a chosen time
//! (お知らせ配信). Each member's copy is a delivery that names its broadcast, and a unique index
//! on (broadcast, member) keeps a broadcast from reaching anyone twice, however often the
//! queuing runs.

use sea_orm_migration::prelude::*;

use crate::columns::{optional_integer, optional_timestamp, string, tenant_key, timestamp, uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Broadcasts::Table)
                    .col(uuid(Broadcasts::Id).primary_key())
                    .col(uuid(Broadcasts::TenantId))
                    .col(ColumnDef::new(Broadcasts::Subject).text().not_null())
                    .col(ColumnDef::new(Broadcasts::TextBody).text().not_null())
                    .col(ColumnDef::new(Broadcasts::HtmlBody).text().not_null())
                    .col(timestamp(Broadcasts::SendAt))
                    // `scheduled`, `queued` (every copy is a delivery) or `cancelled`.
                    .col(string(Broadcasts::State, 16))
                    .col(optional_integer(Broadcasts::RecipientCount))
                    .col(optional_timestamp(Broadcasts::QueuedAt))
                    .col(timestamp(Broadcasts::CreatedAt))
                    .foreign_key(&mut tenant_key(
                        Broadcasts::Table,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("broadcasts_state_send_at_idx")
                    .table(Broadcasts::Table)
                    .col(Broadcasts::State)
                    .col(Broadcasts::SendAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("broadcasts_tenant_id_send_at_idx")
                    .table(Broadcasts::Table)
                    .col(Broadcasts::TenantId)
                    .col(Broadcasts::SendAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .add_column(ColumnDef::new(Deliveries::BroadcastId).uuid().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                // Partial, so that the other mail (most of the table) adds no index entries.
                Index::create()
                    .name("deliveries_broadcast_id_member_id_key")
                    .table(Deliveries::Table)
                    .unique()
                    .col(Deliveries::BroadcastId)
                    .col(Deliveries::MemberId)
                    .and_where(Expr::col(Deliveries::BroadcastId).is_not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("deliveries_broadcast_id_member_id_key")
                    .table(Deliveries::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .drop_column(Deliveries::BroadcastId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Broadcasts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Broadcasts {
    Table,
    Id,
    TenantId,
    Subject,
    TextBody,
    HtmlBody,
    SendAt,
    State,
    RecipientCount,
    QueuedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    BroadcastId,
    MemberId,
}
