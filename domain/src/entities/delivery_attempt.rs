//! The `delivery_attempts` table: each time a delivery was handed to a sender, and the reply.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub delivery_id: Uuid,
    pub sender_id: Uuid,
    pub started_at: DateTimeUtc,
    pub duration_ms: i32,
    pub outcome: String,
    pub fault_code: Option<String>,
    pub response: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
