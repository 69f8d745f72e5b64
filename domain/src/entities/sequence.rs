//! The `sequences` table: a tenant's step-mail sequences.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sequences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub trigger_event: String,
    pub goal_event: Option<String>,
    /// Minutes after local midnight.
    pub quiet_start: Option<i32>,
    pub quiet_end: Option<i32>,
    /// Allowed weekdays as bits, Monday first.
    pub weekdays: i32,
    /// `resume` or `restart`.
    pub on_retrigger: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
