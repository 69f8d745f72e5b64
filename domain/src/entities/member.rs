//! The `members` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub email_key: String,
    pub locale: String,
    pub frequency: String,
    pub digest_hour: i16,
    pub digest_weekday: i16,
    pub status: String,
    pub profile: String,
    pub next_digest_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// An argon2id hash; `None` for members added by an operator or an import.
    pub password_hash: Option<String>,
    /// When the member confirmed the address (本登録).
    pub confirmed_at: Option<DateTimeUtc>,
    /// JSON record of the member's consent to mail: when, where and the wording shown.
    pub consent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
