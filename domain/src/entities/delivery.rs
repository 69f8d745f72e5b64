//! The `deliveries` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub member_id: Option<Uuid>,
    /// The listing of an instant mail; a digest's listings are in `digest_items`.
    pub listing_id: Option<Uuid>,
    pub kind: String,
    pub state: String,
    pub to_address: String,
    pub locale: String,
    pub message_id: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub headers: String,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Send attempts made so far.
    pub attempts: i32,
    /// When a deferred delivery may be tried again.
    pub next_attempt_at: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    /// The sender that took (or last tried) the delivery.
    pub sender_id: Option<Uuid>,
    /// The enrollment and step of a step mail.
    pub enrollment_id: Option<Uuid>,
    pub step_id: Option<Uuid>,
    /// The broadcast a broadcast mail is a copy of.
    pub broadcast_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
