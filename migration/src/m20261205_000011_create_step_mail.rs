//! Step mail: sequences of steps that a member event starts, each member's enrollment in a
//! sequence, and the link from a delivery to the enrollment and step it was sent for.
//!
//! A step's `position` is a sparse sort key that never changes once set, so an enrollment's
//! `handled_position` keeps meaning "every step up to here was handled" when steps are inserted
//! before it. A unique index on `(enrollment_id, step_id)` allows one delivery per enrollment
//! and step, whichever worker creates it.

use sea_orm_migration::prelude::*;

use crate::columns::{
    optional_integer, optional_string, optional_timestamp, string, tenant_key, timestamp, uuid,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sequences::Table)
                    .col(uuid(Sequences::Id).primary_key())
                    .col(uuid(Sequences::TenantId))
                    .col(string(Sequences::Name, 100))
                    // The member event that enrolls: `signup`, or a name sent through GraphQL.
                    .col(string(Sequences::TriggerEvent, 64))
                    // An event that ends an enrollment early, such as `inquiry_sent`.
                    .col(optional_string(Sequences::GoalEvent, 64))
                    // Quiet hours as minutes after local midnight, start inclusive, end exclusive.
                    .col(optional_integer(Sequences::QuietStart))
                    .col(optional_integer(Sequences::QuietEnd))
                    // Allowed weekdays as bits, Monday first.
                    .col(ColumnDef::new(Sequences::Weekdays).integer().not_null())
                    // `resume` or `restart`: what a second trigger of an ended enrollment does.
                    .col(string(Sequences::OnRetrigger, 16))
                    .col(ColumnDef::new(Sequences::Active).boolean().not_null())
                    .col(timestamp(Sequences::CreatedAt))
                    .col(timestamp(Sequences::UpdatedAt))
                    .foreign_key(&mut tenant_key(
                        Sequences::Table,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sequences_tenant_id_trigger_event_idx")
                    .table(Sequences::Table)
                    .col(Sequences::TenantId)
                    .col(Sequences::TriggerEvent)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SequenceSteps::Table)
                    .col(uuid(SequenceSteps::Id).primary_key())
                    .col(uuid(SequenceSteps::TenantId))
                    .col(uuid(SequenceSteps::SequenceId))
                    .col(
                        ColumnDef::new(SequenceSteps::Position)
                            .big_integer()
                            .not_null(),
                    )
                    // `days` (N days after the trigger at a local time) or `after_previous`.
                    .col(string(SequenceSteps::Timing, 16))
                    .col(optional_integer(SequenceSteps::Days))
                    // Minutes after local midnight, for `days`.
                    .col(optional_integer(SequenceSteps::AtMinute))
                    .col(optional_integer(SequenceSteps::DelayMinutes))
                    .col(ColumnDef::new(SequenceSteps::Subject).text().not_null())
                    .col(ColumnDef::new(SequenceSteps::TextBody).text().not_null())
                    .col(ColumnDef::new(SequenceSteps::HtmlBody).text().not_null())
                    .col(timestamp(SequenceSteps::CreatedAt))
                    .col(timestamp(SequenceSteps::UpdatedAt))
                    .foreign_key(&mut tenant_key(
                        SequenceSteps::Table,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SequenceSteps::Table, SequenceSteps::SequenceId)
                            .to(Sequences::Table, Sequences::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(
                        Index::create()
                            .name("sequence_steps_sequence_id_position_key")
                            .unique()
                            .col(SequenceSteps::SequenceId)
                            .col(SequenceSteps::Position),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Enrollments::Table)
                    .col(uuid(Enrollments::Id).primary_key())
                    .col(uuid(Enrollments::TenantId))
                    .col(uuid(Enrollments::SequenceId))
                    .col(uuid(Enrollments::MemberId))
                    // `active` (also once every step is handled: `next_due_at` is then NULL) or
                    // `ended`.
                    .col(string(Enrollments::State, 16))
                    // Why an enrollment ended: `goal` or `unsubscribed` (also for a deleted member).
                    .col(optional_string(Enrollments::EndedReason, 32))
                    .col(timestamp(Enrollments::TriggeredAt))
                    // The position of the last handled step; NULL before the first.
                    .col(
                        ColumnDef::new(Enrollments::HandledPosition)
                            .big_integer()
                            .null(),
                    )
                    .col(optional_timestamp(Enrollments::HandledAt))
                    // When the next step is due; NULL when none is left or the enrollment ended.
                    .col(optional_timestamp(Enrollments::NextDueAt))
                    .col(timestamp(Enrollments::CreatedAt))
                    .col(timestamp(Enrollments::UpdatedAt))
                    .foreign_key(&mut tenant_key(
                        Enrollments::Table,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Enrollments::Table, Enrollments::SequenceId)
                            .to(Sequences::Table, Sequences::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(
                        Index::create()
                            .name("enrollments_sequence_id_member_id_key")
                            .unique()
                            .col(Enrollments::SequenceId)
                            .col(Enrollments::MemberId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("enrollments_next_due_at_idx")
                    .table(Enrollments::Table)
                    .col(Enrollments::NextDueAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("enrollments_tenant_id_member_id_idx")
                    .table(Enrollments::Table)
                    .col(Enrollments::TenantId)
                    .col(Enrollments::MemberId)
                    .to_owned(),
            )
            .await?;

        for column in [Deliveries::EnrollmentId, Deliveries::StepId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Deliveries::Table)
                        .add_column(ColumnDef::new(column).uuid().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("deliveries_enrollment_id_step_id_key")
                    .table(Deliveries::Table)
                    .unique()
                    .col(Deliveries::EnrollmentId)
                    .col(Deliveries::StepId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("deliveries_enrollment_id_step_id_key")
                    .table(Deliveries::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Deliveries::EnrollmentId, Deliveries::StepId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Deliveries::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Enrollments::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SequenceSteps::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Sequences::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sequences {
    Table,
    Id,
    TenantId,
    Name,
    TriggerEvent,
    GoalEvent,
    QuietStart,
    QuietEnd,
    Weekdays,
    OnRetrigger,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SequenceSteps {
    Table,
    Id,
    TenantId,
    SequenceId,
    Position,
    Timing,
    Days,
    AtMinute,
    DelayMinutes,
    Subject,
    TextBody,
    HtmlBody,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    Id,
    TenantId,
    SequenceId,
    MemberId,
    State,
    EndedReason,
    TriggeredAt,
    HandledPosition,
    HandledAt,
    NextDueAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    EnrollmentId,
    StepId,
}
