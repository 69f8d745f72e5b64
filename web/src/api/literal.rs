//! Writing values into query text and reading `null` lists, for the request functions of each
//! page.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Writes `value` as a GraphQL string literal. JSON string escapes are a subset of GraphQL's,
/// so the JSON encoding is a valid literal that cannot end the string early.
pub fn string_literal(value: &str) -> String {
    Value::String(value.to_owned()).to_string()
}

/// Writes `value` as a GraphQL string literal, or `null`.
pub fn optional_string_literal(value: Option<&str>) -> String {
    value.map_or_else(|| "null".to_owned(), string_literal)
}

/// Deserializes `null` as the type's default, for list fields the server may send as `null`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literal_escapes_quotes_and_breaks() {
        assert_eq!(string_literal("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(string_literal("物件"), "\"物件\"");
    }

    #[test]
    fn optional_string_literal_writes_null() {
        assert_eq!(optional_string_literal(None), "null");
        assert_eq!(optional_string_literal(Some("x")), "\"x\"");
    }
}
