//! Real sending: tenant senders (SMTP or Mailgun), DKIM keys, the suppression list, each send
//! attempt, and the retry state of deliveries.
//!
//! Secrets (SMTP passwords, Mailgun API and webhook signing keys, DKIM private keys) are stored
//! encrypted with the deployment's secret key: 12 bytes of nonce, then the AES-256-GCM output.
//! `tenants.sender_id` names the sender a tenant's mail goes through; without one, mail is
//! captured in the outbox as before.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn uuid(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).uuid().not_null().to_owned()
}

fn string(column: impl IntoIden, length: u32) -> ColumnDef {
    ColumnDef::new(column)
        .string_len(length)
        .not_null()
        .to_owned()
}

fn optional_string(column: impl IntoIden, length: u32) -> ColumnDef {
    ColumnDef::new(column).string_len(length).null().to_owned()
}

fn optional_integer(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).integer().null().to_owned()
}

fn timestamp(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn optional_timestamp(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn tenant_key(table: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, Alias::new("tenant_id"))
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Senders::Table)
                    .col(uuid(Senders::Id).primary_key())
                    .col(uuid(Senders::TenantId))
                    .col(string(Senders::Name, 100))
                    // `smtp` or `mailgun`.
                    .col(string(Senders::Kind, 16))
                    .col(string(Senders::FromAddress, 254))
                    .col(string(Senders::FromName, 100))
                    .col(optional_string(Senders::SmtpHost, 253))
                    .col(optional_integer(Senders::SmtpPort))
                    // `implicit` or `starttls`; "auto" is resolved before it is stored.
                    .col(optional_string(Senders::SmtpTls, 16))
                    .col(optional_string(Senders::SmtpUsername, 254))
                    .col(optional_string(Senders::MailgunDomain, 253))
                    // `us` or `eu`.
                    .col(optional_string(Senders::MailgunRegion, 2))
                    // The SMTP password or the Mailgun API key, encrypted.
                    .col(ColumnDef::new(Senders::Secret).binary().not_null())
                    // The Mailgun webhook signing key, encrypted.
                    .col(ColumnDef::new(Senders::WebhookKey).binary().null())
                    .col(optional_integer(Senders::PerMinute))
                    .col(optional_integer(Senders::PerHour))
                    .col(optional_integer(Senders::PerDay))
                    // Set when a configuration fault stopped sending, until the sender is fixed.
                    .col(optional_string(Senders::PausedCode, 64))
                    .col(ColumnDef::new(Senders::PausedDetail).text().null())
                    .col(optional_timestamp(Senders::PausedAt))
                    .col(timestamp(Senders::CreatedAt))
                    .col(timestamp(Senders::UpdatedAt))
                    .foreign_key(&mut tenant_key(Senders::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("senders_tenant_id_idx")
                    .table(Senders::Table)
                    .col(Senders::TenantId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(ColumnDef::new(Tenants::SenderId).uuid().null())
                    .to_owned(),
            )
            .await?;

        for column in [
            ColumnDef::new(Deliveries::Attempts)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            optional_timestamp(Deliveries::NextAttemptAt),
            optional_timestamp(Deliveries::SentAt),
            ColumnDef::new(Deliveries::SenderId)
                .uuid()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Deliveries::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(DeliveryAttempts::Table)
                    .col(uuid(DeliveryAttempts::Id).primary_key())
                    .col(uuid(DeliveryAttempts::TenantId))
                    .col(uuid(DeliveryAttempts::DeliveryId))
                    .col(uuid(DeliveryAttempts::SenderId))
                    .col(timestamp(DeliveryAttempts::StartedAt))
                    .col(
                        ColumnDef::new(DeliveryAttempts::DurationMs)
                            .integer()
                            .not_null(),
                    )
                    // `sent`, `deferred`, `bounced`, `failed` or `paused`.
                    .col(string(DeliveryAttempts::Outcome, 16))
                    .col(optional_string(DeliveryAttempts::FaultCode, 64))
                    .col(ColumnDef::new(DeliveryAttempts::Response).text().not_null())
                    .foreign_key(&mut tenant_key(DeliveryAttempts::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("delivery_attempts_tenant_id_delivery_id_idx")
                    .table(DeliveryAttempts::Table)
                    .col(DeliveryAttempts::TenantId)
                    .col(DeliveryAttempts::DeliveryId)
                    .to_owned(),
            )
            .await?;
        // Rate limits count a sender's attempts in the last minute, hour and day.
        manager
            .create_index(
                Index::create()
                    .name("delivery_attempts_tenant_id_sender_id_started_at_idx")
                    .table(DeliveryAttempts::Table)
                    .col(DeliveryAttempts::TenantId)
                    .col(DeliveryAttempts::SenderId)
                    .col(DeliveryAttempts::StartedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Suppressions::Table)
                    .col(uuid(Suppressions::TenantId))
                    // Lower-cased.
                    .col(string(Suppressions::Address, 254))
                    // `unsubscribed`, `hard_bounce`, `complaint` or `manual`.
                    .col(string(Suppressions::Reason, 16))
                    .col(ColumnDef::new(Suppressions::Detail).text().not_null())
                    .col(timestamp(Suppressions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(Suppressions::TenantId)
                            .col(Suppressions::Address),
                    )
                    .foreign_key(&mut tenant_key(Suppressions::Table))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DkimKeys::Table)
                    .col(uuid(DkimKeys::TenantId))
                    .col(string(DkimKeys::Domain, 253))
                    .col(string(DkimKeys::Selector, 63))
                    // `rsa2048` or `ed25519`.
                    .col(string(DkimKeys::Algorithm, 16))
                    // PKCS#8, encrypted.
                    .col(ColumnDef::new(DkimKeys::PrivateKey).binary().not_null())
                    .col(ColumnDef::new(DkimKeys::PublicKey).text().not_null())
                    .col(timestamp(DkimKeys::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(DkimKeys::TenantId)
                            .col(DkimKeys::Domain),
                    )
                    .foreign_key(&mut tenant_key(DkimKeys::Table))
                    .to_owned(),
            )
            .await?;

        // Provider events already processed, so a repeated webhook changes nothing.
        manager
            .create_table(
                Table::create()
                    .table(WebhookEvents::Table)
                    .col(uuid(WebhookEvents::TenantId))
                    .col(string(WebhookEvents::EventId, 200))
                    .col(string(WebhookEvents::Token, 200))
                    .col(timestamp(WebhookEvents::ReceivedAt))
                    .primary_key(
                        Index::create()
                            .col(WebhookEvents::TenantId)
                            .col(WebhookEvents::EventId),
                    )
                    .foreign_key(&mut tenant_key(WebhookEvents::Table))
                    .to_owned(),
            )
            .await?;
        // A signature's token is accepted once.
        manager
            .create_index(
                Index::create()
                    .name("webhook_events_tenant_id_token_key")
                    .table(WebhookEvents::Table)
                    .col(WebhookEvents::TenantId)
                    .col(WebhookEvents::Token)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookEvents::Table.into_iden(),
            DkimKeys::Table.into_iden(),
            Suppressions::Table.into_iden(),
            DeliveryAttempts::Table.into_iden(),
            Senders::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            Deliveries::Attempts.into_iden(),
            Deliveries::NextAttemptAt.into_iden(),
            Deliveries::SentAt.into_iden(),
            Deliveries::SenderId.into_iden(),
        ] {
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
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .drop_column(Tenants::SenderId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    SenderId,
}

#[derive(DeriveIden)]
enum Senders {
    Table,
    Id,
    TenantId,
    Name,
    Kind,
    FromAddress,
    FromName,
    SmtpHost,
    SmtpPort,
    SmtpTls,
    SmtpUsername,
    MailgunDomain,
    MailgunRegion,
    Secret,
    WebhookKey,
    PerMinute,
    PerHour,
    PerDay,
    PausedCode,
    PausedDetail,
    PausedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Attempts,
    NextAttemptAt,
    SentAt,
    SenderId,
}

#[derive(DeriveIden)]
enum DeliveryAttempts {
    Table,
    Id,
    TenantId,
    DeliveryId,
    SenderId,
    StartedAt,
    DurationMs,
    Outcome,
    FaultCode,
    Response,
}

#[derive(DeriveIden)]
enum Suppressions {
    Table,
    TenantId,
    Address,
    Reason,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DkimKeys {
    Table,
    TenantId,
    Domain,
    Selector,
    Algorithm,
    PrivateKey,
    PublicKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    TenantId,
    EventId,
    Token,
    ReceivedAt,
}
