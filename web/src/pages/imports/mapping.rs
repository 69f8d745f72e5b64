//! The mapping of CSV columns to listing fields, and the defaults the import page picks.

use crate::i18n::Locale;
use crate::listing_schema::{FieldType, ListingField};

/// Column names that are pre-selected as the external id, in order of preference.
const EXTERNAL_ID_COLUMN_NAMES: [&str; 5] =
    ["external_id", "externalid", "external-id", "外部id", "id"];

/// Column names read as the latitude or longitude of the only `GEO_POINT` field.
const LATITUDE_COLUMN_NAMES: [&str; 3] = ["lat", "latitude", "緯度"];
const LONGITUDE_COLUMN_NAMES: [&str; 4] = ["lon", "lng", "longitude", "経度"];

/// One choice of the mapping `<select>`: a field name, or for a `GEO_POINT` field also
/// `field.lat` and `field.lon`, which the server fills from separate columns.
#[derive(Clone, Debug, PartialEq)]
pub struct MappingTarget {
    pub value: String,
    pub label: String,
}

/// Lists the mapping choices for the schema, labelled in `locale`.
pub fn mapping_targets(fields: &[ListingField], locale: Locale) -> Vec<MappingTarget> {
    let t = locale.catalogue();
    let mut targets = Vec::new();
    for field in fields {
        let label = field.label(locale);
        targets.push(MappingTarget {
            value: field.name.clone(),
            label: format!("{label} ({})", field.name),
        });
        if field.field_type == FieldType::GeoPoint {
            for (suffix, part) in [
                ("lat", t.import_geo_latitude),
                ("lon", t.import_geo_longitude),
            ] {
                targets.push(MappingTarget {
                    value: format!("{}.{suffix}", field.name),
                    label: format!("{label} – {part} ({}.{suffix})", field.name),
                });
            }
        }
    }
    targets
}

/// Picks the target for each column: the field whose name equals the column name, else one
/// whose name or label matches ignoring case, else latitude and longitude columns for the only
/// `GEO_POINT` field. Columns without a match are skipped (`None`).
pub fn default_mapping(columns: &[String], fields: &[ListingField]) -> Vec<Option<String>> {
    let mut geo_points = fields
        .iter()
        .filter(|field| field.field_type == FieldType::GeoPoint);
    let only_geo_point = match (geo_points.next(), geo_points.next()) {
        (Some(field), None) => Some(field.name.as_str()),
        _ => None,
    };
    columns
        .iter()
        .map(|column| {
            let column = column.trim();
            let exact = mapping_targets(fields, Locale::Ja)
                .into_iter()
                .find(|target| target.value == column)
                .map(|target| target.value);
            let loose = || {
                fields
                    .iter()
                    .find(|field| {
                        field.name.eq_ignore_ascii_case(column)
                            || field.label_ja.trim() == column
                            || field.label_en.trim().eq_ignore_ascii_case(column)
                    })
                    .map(|field| field.name.clone())
            };
            let coordinate = || {
                let name = only_geo_point?;
                let lowercase = column.to_lowercase();
                if LATITUDE_COLUMN_NAMES.contains(&lowercase.as_str()) {
                    Some(format!("{name}.lat"))
                } else if LONGITUDE_COLUMN_NAMES.contains(&lowercase.as_str()) {
                    Some(format!("{name}.lon"))
                } else {
                    None
                }
            };
            exact.or_else(loose).or_else(coordinate)
        })
        .collect()
}

/// Returns whether the mapping fills `field`: a column maps to it, or, for a `GEO_POINT`,
/// columns map to both its latitude and its longitude.
pub fn is_field_mapped(field: &ListingField, mapped: &[Option<String>]) -> bool {
    let has = |target: &str| mapped.iter().flatten().any(|value| value == target);
    has(&field.name)
        || (field.field_type == FieldType::GeoPoint
            && has(&format!("{}.lat", field.name))
            && has(&format!("{}.lon", field.name)))
}

/// Returns the targets chosen for more than one column, each once, in column order. The page
/// shows them as a hint; the server validates every row.
pub fn duplicate_targets(mapping: &[Option<String>]) -> Vec<String> {
    let mut seen = Vec::new();
    let mut duplicates = Vec::new();
    for field in mapping.iter().flatten() {
        if seen.contains(&field) {
            if !duplicates.contains(field) {
                duplicates.push(field.clone());
            }
        } else {
            seen.push(field);
        }
    }
    duplicates
}

/// Returns the required fields that no column fills, in schema order. Like
/// [`duplicate_targets`], this is a hint.
pub fn unmapped_required<'a>(
    fields: &'a [ListingField],
    mapping: &[Option<String>],
) -> Vec<&'a ListingField> {
    fields
        .iter()
        .filter(|field| field.required && !is_field_mapped(field, mapping))
        .collect()
}

/// Picks the external id column: the first column with a conventional name, else column 0.
pub fn default_external_id_column(columns: &[String]) -> usize {
    EXTERNAL_ID_COLUMN_NAMES
        .iter()
        .find_map(|name| {
            columns
                .iter()
                .position(|column| column.trim().to_lowercase() == *name)
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, label_ja: &str, label_en: &str, field_type: FieldType) -> ListingField {
        ListingField {
            name: name.to_owned(),
            label_ja: label_ja.to_owned(),
            label_en: label_en.to_owned(),
            field_type,
            required: true,
            options: Vec::new(),
        }
    }

    fn schema() -> Vec<ListingField> {
        vec![
            field("title", "物件名", "Title", FieldType::Text),
            field("rent", "賃料", "Rent", FieldType::Number),
            field("location", "位置", "Location", FieldType::GeoPoint),
        ]
    }

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn mapping_prefers_exact_field_name() {
        let mapping = default_mapping(&columns(&["rent", "title"]), &schema());
        assert_eq!(mapping, [Some("rent".to_owned()), Some("title".to_owned())]);
    }

    #[test]
    fn mapping_matches_labels_and_case() {
        let mapping = default_mapping(&columns(&["物件名", "RENT", "location"]), &schema());
        assert_eq!(mapping[0].as_deref(), Some("title"));
        assert_eq!(mapping[1].as_deref(), Some("rent"));
        assert_eq!(mapping[2].as_deref(), Some("location"));
    }

    #[test]
    fn mapping_skips_unknown_columns() {
        let mapping = default_mapping(&columns(&["external_id", "memo"]), &schema());
        assert_eq!(mapping, [None, None]);
    }

    #[test]
    fn mapping_splits_coordinates_of_only_geo_point() {
        let mapping = default_mapping(&columns(&["緯度", "lng", "location.lat"]), &schema());
        assert_eq!(mapping[0].as_deref(), Some("location.lat"));
        assert_eq!(mapping[1].as_deref(), Some("location.lon"));
        assert_eq!(mapping[2].as_deref(), Some("location.lat"));
    }

    #[test]
    fn mapping_leaves_coordinates_when_two_geo_points() {
        let mut fields = schema();
        fields.push(field("station", "最寄り駅", "Station", FieldType::GeoPoint));
        let mapping = default_mapping(&columns(&["lat"]), &fields);
        assert_eq!(mapping, [None]);
    }

    #[test]
    fn targets_include_geo_point_parts() {
        let values: Vec<String> = mapping_targets(&schema(), Locale::En)
            .into_iter()
            .map(|target| target.value)
            .collect();
        assert_eq!(
            values,
            ["title", "rent", "location", "location.lat", "location.lon"]
        );
    }

    #[test]
    fn geo_point_needs_both_coordinates() {
        let location = field("location", "位置", "Location", FieldType::GeoPoint);
        let latitude_only = [Some("location.lat".to_owned())];
        let both = [
            Some("location.lat".to_owned()),
            Some("location.lon".to_owned()),
        ];
        let whole = [None, Some("location".to_owned())];
        assert!(!is_field_mapped(&location, &latitude_only));
        assert!(is_field_mapped(&location, &both));
        assert!(is_field_mapped(&location, &whole));
    }

    #[test]
    fn duplicates_listed_once_in_order() {
        let mapping = [
            Some("rent".to_owned()),
            None,
            Some("title".to_owned()),
            Some("rent".to_owned()),
            Some("title".to_owned()),
            Some("rent".to_owned()),
        ];
        assert_eq!(duplicate_targets(&mapping), ["rent", "title"]);
    }

    #[test]
    fn skipped_columns_are_not_duplicates() {
        assert!(duplicate_targets(&[None, None, Some("rent".to_owned())]).is_empty());
    }

    #[test]
    fn unmapped_required_skips_optional_fields() {
        let mut fields = schema();
        fields[1].required = false;
        let mapping = [Some("location.lat".to_owned())];
        let names: Vec<&str> = unmapped_required(&fields, &mapping)
            .into_iter()
            .map(|field| field.name.as_str())
            .collect();
        assert_eq!(names, ["title", "location"]);
    }

    #[test]
    fn external_id_column_by_name_or_first() {
        assert_eq!(
            default_external_id_column(&columns(&["title", "External_ID"])),
            1
        );
        assert_eq!(
            default_external_id_column(&columns(&["id", "external_id"])),
            1
        );
        assert_eq!(default_external_id_column(&columns(&["title", "rent"])), 0);
    }
}
