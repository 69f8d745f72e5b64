//! The `senders` table: how a tenant's mail leaves, over SMTP or Mailgun.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "senders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub kind: String,
    pub from_address: String,
    pub from_name: String,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<i32>,
    pub smtp_tls: Option<String>,
    pub smtp_username: Option<String>,
    pub mailgun_domain: Option<String>,
    pub mailgun_region: Option<String>,
    /// The SMTP password or Mailgun API key, encrypted.
    pub secret: Vec<u8>,
    /// The Mailgun webhook signing key, encrypted.
    pub webhook_key: Option<Vec<u8>>,
    pub per_minute: Option<i32>,
    pub per_hour: Option<i32>,
    pub per_day: Option<i32>,
    pub paused_code: Option<String>,
    pub paused_detail: Option<String>,
    pub paused_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
