//! The two languages every screen, message and mail exists in.

use serde::{Deserialize, Serialize};

/// A supported language. Japanese is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Ja,
    En,
}

impl Locale {
    /// The BCP 47 tag stored in the database and sent to browsers.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Ja => "ja",
            Locale::En => "en",
        }
    }

    /// Parses a stored tag; anything unknown falls back to Japanese.
    pub fn from_tag(tag: &str) -> Self {
        match tag.trim().to_ascii_lowercase().as_str() {
            tag if tag == "en" || tag.starts_with("en-") => Locale::En,
            _ => Locale::Ja,
        }
    }

    /// Picks the first supported language of an `Accept-Language` header, by quality order.
    pub fn from_accept_language(header: &str) -> Self {
        let mut ranges: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.trim().split(';');
                let tag = pieces.next()?.trim();
                let quality = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((quality, tag))
            })
            .collect();
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranges
            .into_iter()
            .find_map(|(_, tag)| {
                let tag = tag.to_ascii_lowercase();
                if tag == "ja" || tag.starts_with("ja-") {
                    Some(Locale::Ja)
                } else if tag == "en" || tag.starts_with("en-") {
                    Some(Locale::En)
                } else {
                    None
                }
            })
            .unwrap_or_default()
    }

    /// Chooses between the Japanese and the English text.
    pub fn pick<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Locale::Ja => ja,
            Locale::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_highest_quality_supported_tag() {
        assert_eq!(
            Locale::from_accept_language("fr;q=1, en-US;q=0.8, ja;q=0.5"),
            Locale::En
        );
        assert_eq!(Locale::from_accept_language("ja-JP,en;q=0.9"), Locale::Ja);
    }

    #[test]
    fn accept_language_without_supported_tag_falls_back_to_japanese() {
        assert_eq!(Locale::from_accept_language("de, fr"), Locale::Ja);
        assert_eq!(Locale::from_accept_language(""), Locale::Ja);
    }
}
