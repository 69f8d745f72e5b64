//! The `broadcasts` table: a mail to every subscribed member at a set time.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "broadcasts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub send_at: DateTimeUtc,
    /// `scheduled`, `queued` or `cancelled`.
    pub state: String,
    /// How many members it was queued for; none until then.
    pub recipient_count: Option<i32>,
    pub queued_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
