//! Locale-aware formatting of timestamps and numbers, done by the browser's `toLocaleString`.

use wasm_bindgen::JsValue;

use crate::i18n::Locale;

/// Formats an RFC 3339 timestamp as local date and time, or returns it unchanged when the
/// browser cannot parse it. The medium date style spells the month in English ("1 Mar 2025,
/// 09:30"), so day and month cannot be confused, and is numeric in Japanese ("2025/03/01 9:30").
pub fn timestamp(iso: &str, locale: Locale) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(iso));
    if date.get_time().is_nan() {
        return iso.to_owned();
    }
    let options = js_sys::Object::new();
    for (key, value) in [("dateStyle", "medium"), ("timeStyle", "short")] {
        // `Reflect.set` fails only when the target is not an object, so the result is ignored.
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    date.to_locale_string(locale.intl_tag(), &options).into()
}

/// Formats an optional timestamp, with `missing` for `None`.
pub fn optional_timestamp(iso: Option<&str>, locale: Locale, missing: &str) -> String {
    iso.map_or_else(|| missing.to_owned(), |iso| timestamp(iso, locale))
}

/// Formats a number with the locale's digit grouping.
pub fn number(value: f64, locale: Locale) -> String {
    js_sys::Number::from(value)
        .to_locale_string(locale.intl_tag())
        .into()
}

/// Formats a byte count as KB, rounded up, or from 1 MiB on as MB with one decimal. The units
/// are binary: 1 KB is 1024 bytes.
pub fn file_size(bytes: f64, locale: Locale) -> String {
    const KIB: f64 = 1024.0;
    if bytes >= KIB * KIB {
        format!(
            "{} MB",
            number((bytes / (KIB * KIB) * 10.0).round() / 10.0, locale)
        )
    } else {
        format!("{} KB", number((bytes / KIB).ceil(), locale))
    }
}
