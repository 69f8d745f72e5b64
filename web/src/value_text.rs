//! Stored values as the text of an input, for the forms that edit match rule constants and
//! member profiles. The server reads each text form back (`MemberInput.profile`,
//! `MatchClauseInput.value`), so the operator can edit a value without knowing its JSON shape.

use serde_json::{Map, Value};

/// Writes a stored value as input text: a list as `a, b`, a range as `min～max` (a missing side
/// left empty), a point as `lat,lon` and a circle as `lat,lon,radiusKm`.
pub fn editable_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Array(items) => items
            .iter()
            .map(editable_text)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(object) => object_text(object).unwrap_or_else(|| value.to_string()),
    }
}

/// Writes a range or a point, or returns `None` for another object.
fn object_text(object: &Map<String, Value>) -> Option<String> {
    let side = |key: &str| object.get(key).map(editable_text).unwrap_or_default();
    if object.keys().all(|key| key == "min" || key == "max") && !object.is_empty() {
        return Some(format!("{}～{}", side("min"), side("max")));
    }
    let latitude = object.get("lat")?;
    let longitude = object.get("lon")?;
    let mut text = format!("{latitude},{longitude}");
    if let Some(radius) = object.get("radiusKm") {
        text.push(',');
        text.push_str(&editable_text(radius));
    }
    Some(text)
}

/// Returns the strings of a stored list, such as the options a member chose. A single string
/// counts as a list of one.
pub fn string_list(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            })
            .collect(),
        Value::String(text) if !text.is_empty() => vec![text.clone()],
        _ => Vec::new(),
    }
}

/// Returns a JSON object field. A server may encode a JSON scalar as a string, so a string
/// that contains an object is parsed too. Anything else counts as empty.
pub fn json_object(value: &Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map.clone(),
        Value::String(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        },
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lists_join_with_commas() {
        assert_eq!(
            editable_text(&json!(["駅近", "ペット可"])),
            "駅近, ペット可"
        );
        assert_eq!(editable_text(&json!([])), "");
    }

    #[test]
    fn ranges_keep_missing_sides_empty() {
        assert_eq!(
            editable_text(&json!({"min": 80000, "max": 100000})),
            "80000～100000"
        );
        assert_eq!(editable_text(&json!({"max": 100000})), "～100000");
        assert_eq!(editable_text(&json!({"min": 5.5})), "5.5～");
    }

    #[test]
    fn circles_and_points_are_comma_separated() {
        assert_eq!(
            editable_text(&json!({"lat": 35.68, "lon": 139.76, "radiusKm": 2})),
            "35.68,139.76,2"
        );
        assert_eq!(
            editable_text(&json!({"lat": 35.68, "lon": 139.76})),
            "35.68,139.76"
        );
    }

    #[test]
    fn scalars_are_written_plainly() {
        assert_eq!(editable_text(&json!(100000)), "100000");
        assert_eq!(editable_text(&json!("2025-04-01")), "2025-04-01");
        assert_eq!(editable_text(&Value::Null), "");
        assert_eq!(editable_text(&json!({"other": 1})), r#"{"other":1}"#);
    }

    #[test]
    fn string_list_reads_arrays_and_single_strings() {
        assert_eq!(string_list(&json!(["a", 2])), ["a", "2"]);
        assert_eq!(string_list(&json!("a")), ["a"]);
        assert!(string_list(&json!("")).is_empty());
        assert!(string_list(&json!({"a": 1})).is_empty());
    }

    #[test]
    fn json_object_parses_encoded_objects() {
        assert_eq!(json_object(&json!({"a": 1}))["a"], json!(1));
        assert_eq!(json_object(&json!(r#"{"a": 1}"#))["a"], json!(1));
        assert!(json_object(&json!([1])).is_empty());
    }
}
