//! The editable form of the listing schema and the checks the editor runs on it.

use serde_json::Value;

use crate::api::{ApiError, GraphqlError};
use crate::listing_schema::{FieldOption, FieldType, ListingField};

/// A schema row being edited.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDraft {
    pub key: u64,
    pub name: String,
    pub label_ja: String,
    pub label_en: String,
    pub field_type: FieldType,
    pub required: bool,
    /// Kept when the type changes away from `ENUM`, so switching back restores them, but only
    /// sent for `ENUM` fields.
    pub options: Vec<OptionDraft>,
}

/// An `ENUM` option being edited.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionDraft {
    pub key: u64,
    pub value: String,
    pub label_ja: String,
    pub label_en: String,
}

impl FieldDraft {
    /// Creates an empty `TEXT` row.
    pub fn empty(key: u64) -> Self {
        Self {
            key,
            name: String::new(),
            label_ja: String::new(),
            label_en: String::new(),
            field_type: FieldType::Text,
            required: false,
            options: Vec::new(),
        }
    }

    /// Creates a row from a saved field, taking a fresh key for the row and each option from
    /// `new_key`.
    pub fn from_field(field: &ListingField, new_key: &mut impl FnMut() -> u64) -> Self {
        Self {
            key: new_key(),
            name: field.name.clone(),
            label_ja: field.label_ja.clone(),
            label_en: field.label_en.clone(),
            field_type: field.field_type,
            required: field.required,
            options: field
                .options
                .iter()
                .map(|option| OptionDraft {
                    key: new_key(),
                    value: option.value.clone(),
                    label_ja: option.label_ja.clone(),
                    label_en: option.label_en.clone(),
                })
                .collect(),
        }
    }
}

impl OptionDraft {
    /// Creates an empty option.
    pub fn empty(key: u64) -> Self {
        Self {
            key,
            value: String::new(),
            label_ja: String::new(),
            label_en: String::new(),
        }
    }
}

/// Returns whether `name` has the field name format the server accepts: a lowercase ASCII
/// letter, then lowercase letters, digits and underscores, at most 64 characters in all.
pub fn is_valid_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    starts_with_letter
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Moves the element at `index` by `offset` places, if the target is inside the list.
pub fn move_item<T>(items: &mut [T], index: usize, offset: isize) {
    if let Some(target) = index.checked_add_signed(offset)
        && target < items.len()
    {
        items.swap(index, target);
    }
}

/// Returns whether a `setListingSchema` error is about the field `name`. The server sets
/// `extensions.field` to the field name (`price`), to a path below it (`price.labelJa`,
/// `price.options`), or to `name` with the rejected name in `extensions.value`.
pub fn error_concerns_field(error: &GraphqlError, name: &str) -> bool {
    let Some(field) = error.field() else {
        return false;
    };
    let value = error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.value.as_ref())
        .and_then(Value::as_str);
    field == name
        || field
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('.'))
        || (field == "name" && value == Some(name))
}

/// Returns the messages of the `setListingSchema` errors about the field `name`. A blank name
/// gets none, because an error about a blank name cannot tell blank rows apart.
pub fn messages_for_field(error: &ApiError, name: &str) -> Vec<String> {
    let ApiError::Graphql(errors) = error else {
        return Vec::new();
    };
    if name.is_empty() {
        return Vec::new();
    }
    errors
        .iter()
        .filter(|error| error_concerns_field(error, name))
        .map(|error| error.message.clone())
        .collect()
}

/// Converts the drafts to the `fields` argument of `setListingSchema`: text is trimmed, and
/// options are kept only for `ENUM` fields.
pub fn drafts_to_fields(drafts: &[FieldDraft]) -> Vec<ListingField> {
    drafts
        .iter()
        .map(|draft| ListingField {
            name: draft.name.trim().to_owned(),
            label_ja: draft.label_ja.trim().to_owned(),
            label_en: draft.label_en.trim().to_owned(),
            field_type: draft.field_type,
            required: draft.required,
            options: if draft.field_type == FieldType::Enum {
                draft
                    .options
                    .iter()
                    .map(|option| FieldOption {
                        value: option.value.trim().to_owned(),
                        label_ja: option.label_ja.trim().to_owned(),
                        label_en: option.label_en.trim().to_owned(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::ErrorExtensions;

    fn draft(name: &str, field_type: FieldType) -> FieldDraft {
        FieldDraft {
            key: 1,
            name: name.to_owned(),
            label_ja: " 区 ".to_owned(),
            label_en: "Ward".to_owned(),
            field_type,
            required: false,
            options: vec![OptionDraft {
                key: 2,
                value: " shinjuku ".to_owned(),
                label_ja: "新宿区".to_owned(),
                label_en: "Shinjuku".to_owned(),
            }],
        }
    }

    fn validation_error(field: &str, value: Option<&str>) -> GraphqlError {
        GraphqlError {
            message: "invalid".to_owned(),
            extensions: Some(ErrorExtensions {
                code: None,
                field: Some(field.to_owned()),
                value: value.map(|value| json!(value)),
                reason: None,
                request_id: None,
            }),
        }
    }

    #[test]
    fn field_name_format() {
        assert!(is_valid_field_name("rent"));
        assert!(is_valid_field_name("floor_area2"));
        assert!(is_valid_field_name(&format!("a{}", "b".repeat(63))));
        assert!(!is_valid_field_name(&format!("a{}", "b".repeat(64))));
        assert!(!is_valid_field_name("2rooms"));
        assert!(!is_valid_field_name("_rent"));
        assert!(!is_valid_field_name("Rent"));
        assert!(!is_valid_field_name("floor-area"));
        assert!(!is_valid_field_name(""));
    }

    #[test]
    fn move_item_swaps_within_bounds() {
        let mut items = [1, 2, 3];
        move_item(&mut items, 0, 1);
        assert_eq!(items, [2, 1, 3]);
        move_item(&mut items, 2, -1);
        assert_eq!(items, [2, 3, 1]);
    }

    #[test]
    fn move_item_ignores_moves_past_ends() {
        let mut items = [1, 2, 3];
        move_item(&mut items, 0, -1);
        move_item(&mut items, 2, 1);
        assert_eq!(items, [1, 2, 3]);
    }

    #[test]
    fn drafts_trim_and_keep_enum_options() {
        let fields = drafts_to_fields(&[draft(" ward ", FieldType::Enum)]);
        assert_eq!(fields[0].name, "ward");
        assert_eq!(fields[0].label_ja, "区");
        assert_eq!(fields[0].options.len(), 1);
        assert_eq!(fields[0].options[0].value, "shinjuku");
    }

    #[test]
    fn saved_field_round_trips_through_draft() {
        let saved = drafts_to_fields(&[draft("ward", FieldType::Enum)]);
        let mut next = 10;
        let mut new_key = || {
            next += 1;
            next
        };
        let row = FieldDraft::from_field(&saved[0], &mut new_key);
        assert_eq!(row.key, 11);
        assert_eq!(row.options[0].key, 12);
        assert_eq!(drafts_to_fields(&[row]), saved);
    }

    #[test]
    fn drafts_drop_options_of_other_types() {
        let fields = drafts_to_fields(&[draft("ward", FieldType::Text)]);
        assert!(fields[0].options.is_empty());
    }

    #[test]
    fn error_matches_field_and_paths() {
        assert!(error_concerns_field(
            &validation_error("ward", None),
            "ward"
        ));
        assert!(error_concerns_field(
            &validation_error("ward.options", None),
            "ward"
        ));
        assert!(error_concerns_field(
            &validation_error("ward.labelJa", None),
            "ward"
        ));
        assert!(!error_concerns_field(
            &validation_error("wardrobe", None),
            "ward"
        ));
    }

    #[test]
    fn messages_only_for_named_field() {
        let error = ApiError::Graphql(vec![
            validation_error("ward.options", None),
            validation_error("rent", None),
        ]);
        assert_eq!(messages_for_field(&error, "ward"), ["invalid"]);
        assert!(messages_for_field(&error, "").is_empty());
        assert!(messages_for_field(&ApiError::Status(500), "ward").is_empty());
    }

    #[test]
    fn error_matches_rejected_name() {
        assert!(error_concerns_field(
            &validation_error("name", Some("Ward")),
            "Ward"
        ));
        assert!(!error_concerns_field(
            &validation_error("name", Some("Ward")),
            "rent"
        ));
    }
}
