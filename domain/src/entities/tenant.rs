//! The `tenants` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub default_locale: String,
    pub time_zone: String,
    pub created_at: DateTimeUtc,
    pub listing_count: i64,
    pub notify_on_change: bool,
    /// Whether member addresses with a non-standard local part (`taro..hanako@`) are accepted.
    pub accept_nonstandard_addresses: bool,
    pub matching_revision: i64,
    /// The sender the tenant's mail goes through; none means mail is captured in the outbox.
    pub sender_id: Option<Uuid>,
    /// The member pages' button and link colour, `#rrggbb`; none keeps Tayori's.
    pub brand_color: Option<String>,
    /// The member pages' header background, `#rrggbb`; none keeps Tayori's.
    pub header_color: Option<String>,
    /// When the logo in `tenant_logos` was last replaced; none when there is no logo.
    pub logo_updated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
