//! The `enrollments` table: a member's place in a sequence.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub sequence_id: Uuid,
    pub member_id: Uuid,
    /// `active` (also past the last step, with `next_due_at` NULL) or `ended`.
    pub state: String,
    pub ended_reason: Option<String>,
    pub triggered_at: DateTimeUtc,
    /// The position of the last handled step; `None` before the first.
    pub handled_position: Option<i64>,
    pub handled_at: Option<DateTimeUtc>,
    pub next_due_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
