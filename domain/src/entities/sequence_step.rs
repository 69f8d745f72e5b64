//! The `sequence_steps` table: the mails of a sequence, in `position` order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sequence_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub sequence_id: Uuid,
    /// A sparse sort key that never changes once set.
    pub position: i64,
    /// `days` or `after_previous`.
    pub timing: String,
    pub days: Option<i32>,
    /// Minutes after local midnight.
    pub at_minute: Option<i32>,
    pub delay_minutes: Option<i32>,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
