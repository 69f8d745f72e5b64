//! Profile fields: the conditions a tenant asks its members for (desired wards, maximum rent,
//! keywords...). They are declared like listing fields, with the same types and labels, and
//! stored in their own table.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::{
    TenantId,
    entities::profile_field,
    error::Result,
    listings::schema::{self, FieldType, ListingField},
    tenants,
};

/// A profile field has the same shape as a listing field.
pub type ProfileField = ListingField;

/// Loads the tenant's profile fields in display order.
pub async fn get(db: &impl ConnectionTrait, tenant_id: TenantId) -> Result<Vec<ProfileField>> {
    let rows = profile_field::Entity::find()
        .filter(profile_field::Column::TenantId.eq(tenant_id.0))
        .order_by_asc(profile_field::Column::Position)
        .all(db)
        .await?;
    rows.into_iter()
        .map(|row| {
            let field_type = FieldType::parse(&row.field_type).ok_or_else(|| {
                anyhow::anyhow!("stored field type {:?} is unknown", row.field_type)
            })?;
            let options = serde_json::from_str(&row.options).map_err(|error| {
                anyhow::anyhow!(
                    "stored options of profile field {} are malformed: {error}",
                    row.name
                )
            })?;
            Ok(ProfileField {
                name: row.name,
                field_type,
                label_ja: row.label_ja,
                label_en: row.label_en,
                required: row.required,
                options,
            })
        })
        .collect()
}

/// Validates and stores all profile fields in one transaction, replacing the previous ones.
/// Stored member values of removed fields stay in the members' JSON but no longer match.
pub async fn replace(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    fields: Vec<ProfileField>,
) -> Result<Vec<ProfileField>> {
    let fields = schema::validate(fields)?;

    let tx = crate::db::begin_write(db).await?;
    profile_field::Entity::delete_many()
        .filter(profile_field::Column::TenantId.eq(tenant_id.0))
        .exec(&tx)
        .await?;
    if !fields.is_empty() {
        let rows =
            fields
                .iter()
                .enumerate()
                .map(|(position, field)| {
                    Ok(profile_field::ActiveModel {
                        id: Set(uuid::Uuid::now_v7()),
                        tenant_id: Set(tenant_id.0),
                        name: Set(field.name.clone()),
                        field_type: Set(field.field_type.as_str().to_owned()),
                        label_ja: Set(field.label_ja.clone()),
                        label_en: Set(field.label_en.clone()),
                        required: Set(field.required),
                        options: Set(
                            serde_json::to_string(&field.options).map_err(anyhow::Error::new)?
                        ),
                        position: Set(i32::try_from(position).map_err(anyhow::Error::new)?),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        profile_field::Entity::insert_many(rows).exec(&tx).await?;
    }
    tenants::bump_matching_revision(&tx, tenant_id).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, fields = fields.len(), "profile fields replaced");
    Ok(fields)
}
