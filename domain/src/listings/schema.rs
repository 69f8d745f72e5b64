//! The listing schema: the fields a tenant declares for its listings, with labels in both
//! languages. Replacing the schema keeps stored listings; values of removed fields stay in the
//! stored JSON but are no longer shown or validated.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::{Problem, TenantId, ValidationError, entities::listing_field, error::Result};

/// The maximum number of fields a tenant may declare.
pub const MAX_FIELDS: usize = 100;
/// The maximum number of options of one enum field.
pub const MAX_OPTIONS: usize = 1_000;

/// The type of a listing field, which decides how values are read and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    /// One of a fixed set of options, each with a stored value and ja/en labels.
    Enum,
    /// Several free words.
    Tags,
    /// A calendar date, stored as `YYYY-MM-DD`.
    Date,
    /// Latitude and longitude in degrees (WGS 84), stored as `{"lat": .., "lon": ..}`.
    GeoPoint,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Enum => "enum",
            FieldType::Tags => "tags",
            FieldType::Date => "date",
            FieldType::GeoPoint => "geo_point",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Text,
            Self::Number,
            Self::Enum,
            Self::Tags,
            Self::Date,
            Self::GeoPoint,
        ]
        .into_iter()
        .find(|t| t.as_str() == value)
    }
}

/// One choice of an enum field: `Shinjuku Ku` shown as 新宿区 / Shinjuku.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnumOption {
    pub value: String,
    pub label_ja: String,
    pub label_en: String,
}

/// One declared listing field.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingField {
    pub name: String,
    pub field_type: FieldType,
    pub label_ja: String,
    pub label_en: String,
    pub required: bool,
    pub options: Vec<EnumOption>,
}

impl ListingField {
    /// Finds the option a value names: its stored value, or either label, compared after NFKC
    /// normalisation and case folding, so `新宿区`, `shinjuku ku` and `Shinjuku Ku` all match.
    pub fn find_option(&self, given: &str) -> Option<&EnumOption> {
        let wanted = fold(given);
        self.options.iter().find(|o| o.value == given).or_else(|| {
            self.options.iter().find(|o| {
                fold(&o.value) == wanted
                    || fold(&o.label_ja) == wanted
                    || fold(&o.label_en) == wanted
            })
        })
    }
}

/// NFKC plus lower case and trimmed: half- and full-width forms compare equal.
pub fn fold(text: &str) -> String {
    text.nfkc().collect::<String>().trim().to_lowercase()
}

/// Loads the tenant's schema in display order.
pub async fn get(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
) -> Result<Vec<ListingField>> {
    let rows = listing_field::Entity::find()
        .filter(listing_field::Column::TenantId.eq(tenant_id.0))
        .order_by_asc(listing_field::Column::Position)
        .all(db)
        .await?;
    rows.into_iter().map(from_row).collect()
}

fn from_row(row: listing_field::Model) -> Result<ListingField> {
    let field_type = FieldType::parse(&row.field_type)
        .ok_or_else(|| anyhow::anyhow!("stored field type {:?} is unknown", row.field_type))?;
    let options = serde_json::from_str(&row.options).map_err(|error| {
        anyhow::anyhow!(
            "stored options of field {} are malformed: {error}",
            row.name
        )
    })?;
    Ok(ListingField {
        name: row.name,
        field_type,
        label_ja: row.label_ja,
        label_en: row.label_en,
        required: row.required,
        options,
    })
}

/// Validates and stores the whole schema in one transaction, replacing the previous one.
pub async fn replace(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    fields: Vec<ListingField>,
) -> Result<Vec<ListingField>> {
    let fields = validate(fields)?;

    let tx = crate::db::begin_write(db).await?;
    listing_field::Entity::delete_many()
        .filter(listing_field::Column::TenantId.eq(tenant_id.0))
        .exec(&tx)
        .await?;
    if !fields.is_empty() {
        let rows = fields.iter().enumerate().map(|(position, field)| {
            Ok(listing_field::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                tenant_id: Set(tenant_id.0),
                name: Set(field.name.clone()),
                field_type: Set(field.field_type.as_str().to_owned()),
                label_ja: Set(field.label_ja.clone()),
                label_en: Set(field.label_en.clone()),
                required: Set(field.required),
                options: Set(serde_json::to_string(&field.options).map_err(anyhow::Error::new)?),
                position: Set(i32::try_from(position).map_err(anyhow::Error::new)?),
            })
        });
        let rows = rows.collect::<Result<Vec<_>>>()?;
        listing_field::Entity::insert_many(rows).exec(&tx).await?;
    }
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, fields = fields.len(), "listing schema replaced");
    Ok(fields)
}

/// Checks names, labels, types and options; trims labels and fills a missing label from the
/// other language.
pub fn validate(fields: Vec<ListingField>) -> Result<Vec<ListingField>, ValidationError> {
    if fields.len() > MAX_FIELDS {
        return Err(ValidationError::new(
            "fields",
            None,
            Problem::TooManyRecords { max: MAX_FIELDS },
        ));
    }
    let mut seen = std::collections::HashSet::new();
    fields
        .into_iter()
        .map(|mut field| {
            field.name = field.name.trim().to_owned();
            if !is_valid_field_name(&field.name) {
                return Err(ValidationError::new(
                    "name",
                    Some(&field.name),
                    Problem::InvalidFieldName,
                ));
            }
            if !seen.insert(field.name.clone()) {
                return Err(ValidationError::new(
                    "name",
                    Some(&field.name),
                    Problem::DuplicateFieldName,
                ));
            }
            field.label_ja = field.label_ja.trim().to_owned();
            field.label_en = field.label_en.trim().to_owned();
            if field.label_ja.is_empty() && field.label_en.is_empty() {
                return Err(ValidationError::new(
                    format!("{}.labelJa", field.name),
                    None,
                    Problem::Required,
                ));
            }
            if field.label_ja.is_empty() {
                field.label_ja = field.label_en.clone();
            }
            if field.label_en.is_empty() {
                field.label_en = field.label_ja.clone();
            }
            for label in [&field.label_ja, &field.label_en] {
                if label.chars().count() > 200 {
                    return Err(ValidationError::new(
                        format!("{}.label", field.name),
                        Some(label),
                        Problem::TooLong { max: 200 },
                    ));
                }
            }
            validate_options(&mut field)?;
            Ok(field)
        })
        .collect()
}

fn validate_options(field: &mut ListingField) -> Result<(), ValidationError> {
    if field.field_type != FieldType::Enum {
        field.options.clear();
        return Ok(());
    }
    if field.options.is_empty() {
        return Err(ValidationError::new(
            field.name.clone(),
            None,
            Problem::OptionsRequired,
        ));
    }
    if field.options.len() > MAX_OPTIONS {
        return Err(ValidationError::new(
            field.name.clone(),
            None,
            Problem::TooManyRecords { max: MAX_OPTIONS },
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for option in &mut field.options {
        option.value = option.value.trim().to_owned();
        option.label_ja = option.label_ja.trim().to_owned();
        option.label_en = option.label_en.trim().to_owned();
        let option_field = format!("{}.options", field.name);
        if option.value.is_empty() {
            return Err(ValidationError::new(option_field, None, Problem::Required));
        }
        if option.value.chars().count() > 200 {
            return Err(ValidationError::new(
                option_field,
                Some(&option.value),
                Problem::TooLong { max: 200 },
            ));
        }
        if !seen.insert(option.value.clone()) {
            return Err(ValidationError::new(
                option_field,
                Some(&option.value),
                Problem::DuplicateFieldName,
            ));
        }
        if option.label_ja.is_empty() {
            option.label_ja = option.value.clone();
        }
        if option.label_en.is_empty() {
            option.label_en = option.value.clone();
        }
    }
    Ok(())
}

/// `[a-z][a-z0-9_]{0,63}`: usable in GraphQL, CSV mappings and templates without quoting.
pub fn is_valid_field_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, field_type: FieldType) -> ListingField {
        ListingField {
            name: name.to_owned(),
            field_type,
            label_ja: "ラベル".to_owned(),
            label_en: String::new(),
            required: false,
            options: vec![],
        }
    }

    #[test]
    fn missing_label_is_copied_from_other_language() {
        let fields = validate(vec![field("price", FieldType::Number)]).unwrap();
        assert_eq!(fields[0].label_en, "ラベル");
    }

    #[test]
    fn duplicate_and_malformed_names_are_rejected() {
        let duplicate = validate(vec![
            field("price", FieldType::Number),
            field("price", FieldType::Text),
        ]);
        assert_eq!(duplicate.unwrap_err().problem, Problem::DuplicateFieldName);
        let malformed = validate(vec![field("Price", FieldType::Number)]);
        assert_eq!(malformed.unwrap_err().problem, Problem::InvalidFieldName);
    }

    #[test]
    fn enum_without_options_is_rejected() {
        let error = validate(vec![field("ward", FieldType::Enum)]).unwrap_err();
        assert_eq!(error.problem, Problem::OptionsRequired);
    }

    #[test]
    fn option_matches_value_or_label_in_any_width_and_case() {
        let mut ward = field("ward", FieldType::Enum);
        ward.options = vec![EnumOption {
            value: "Shinjuku Ku".to_owned(),
            label_ja: "新宿区".to_owned(),
            label_en: "Shinjuku".to_owned(),
        }];
        for given in [
            "Shinjuku Ku",
            "shinjuku ku",
            "新宿区",
            "ＳＨＩＮＪＵＫＵ",
            " Shinjuku ",
        ] {
            assert_eq!(
                ward.find_option(given).map(|o| o.value.as_str()),
                Some("Shinjuku Ku"),
                "{given}"
            );
        }
        assert!(ward.find_option("渋谷区").is_none());
    }
}
