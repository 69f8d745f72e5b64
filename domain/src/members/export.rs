//! Exporting members as CSV in the format [`super::import`] reads, so that a file exported from
//! one tenant imports into another with the same profile fields.
//!
//! Columns: `email`, `status`, `locale`, `frequency`, `digest_hour`, `digest_weekday`, then one
//! column per profile field named by the field's name. Choices and keywords are joined with `|`,
//! a number range is written as `min～max`, and a geo point with its radius as `lat,lon,km`.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Map, Value};

use super::profile_fields;
use crate::{TenantId, entities::member, error::Result};

/// Members read per query.
const PAGE: u64 = 5_000;

/// Writes every member of the tenant, oldest first, as CSV text.
pub async fn export_csv(db: &DatabaseConnection, tenant_id: TenantId) -> Result<String> {
    let fields = profile_fields::get(db, tenant_id).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "email",
        "status",
        "locale",
        "frequency",
        "digest_hour",
        "digest_weekday",
    ];
    header.extend(fields.iter().map(|field| field.name.as_str()));
    writer.write_record(&header).map_err(anyhow::Error::from)?;

    let mut after = uuid::Uuid::nil();
    let mut exported = 0;
    loop {
        let page = member::Entity::find()
            .filter(member::Column::TenantId.eq(tenant_id.0))
            .filter(member::Column::Id.gt(after))
            .order_by_asc(member::Column::Id)
            .limit(PAGE)
            .all(db)
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id;
        for row in &page {
            let profile: Map<String, Value> =
                serde_json::from_str(&row.profile).unwrap_or_default();
            let mut record = vec![
                row.email.clone(),
                row.status.clone(),
                row.locale.clone(),
                row.frequency.clone(),
                row.digest_hour.to_string(),
                row.digest_weekday.to_string(),
            ];
            record.extend(
                fields
                    .iter()
                    .map(|field| profile.get(&field.name).map(cell).unwrap_or_default()),
            );
            writer.write_record(&record).map_err(anyhow::Error::from)?;
        }
        exported += page.len();
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    tracing::info!(tenant.id = %tenant_id, members = exported, "members exported");
    Ok(String::from_utf8(bytes).map_err(anyhow::Error::from)?)
}

/// Writes a stored profile value as the import reads it.
fn cell(value: &Value) -> String {
    match value {
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join("|"),
        Value::Object(object) if object.contains_key("radiusKm") => {
            let part = |key: &str| object.get(key).map(cell).unwrap_or_default();
            format!("{},{},{}", part("lat"), part("lon"), part("radiusKm"))
        }
        Value::Object(object) => {
            let side = |key: &str| object.get(key).map(cell).unwrap_or_default();
            format!("{}～{}", side("min"), side("max"))
        }
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::cell;

    #[test]
    fn profile_values_match_the_import_format() {
        assert_eq!(cell(&json!(["shibuya", "shinjuku"])), "shibuya|shinjuku");
        assert_eq!(cell(&json!({"min": 80000, "max": 100000})), "80000～100000");
        assert_eq!(cell(&json!({"max": 90000})), "～90000");
        assert_eq!(
            cell(&json!({"lat": 35.68, "lon": 139.76, "radiusKm": 2})),
            "35.68,139.76,2"
        );
        assert_eq!(cell(&json!(120000)), "120000");
    }
}
