//! UI languages and their translation catalogues.
//!
//! Every string a component shows comes from a [`Catalogue`], one per locale, so a string
//! missing from one language is a compile error. The chosen locale is stored in the browser's
//! localStorage under [`LOCALE_STORAGE_KEY`]; without a stored choice the UI is Japanese.

mod en;
mod ja;

use leptos::prelude::*;

pub use self::catalogue::Catalogue;

mod catalogue;

/// A reference to one catalogue string, for components that take their label as a prop and
/// look it up in the current locale: `label=|t| t.email_label`.
pub type Text = fn(&Catalogue) -> &'static str;

/// The localStorage key whose value is `ja` or `en`.
pub const LOCALE_STORAGE_KEY: &str = "tayori.locale";

/// A UI language. Japanese is the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Locale {
    #[default]
    Ja,
    En,
}

impl Locale {
    /// Returns the BCP 47 tag, used for `Accept-Language`, `<html lang>` and localStorage.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::Ja => "ja",
            Locale::En => "en",
        }
    }

    /// Returns the GraphQL enum value `JA` or `EN`, as `signUp` and `MemberInput` take it.
    pub fn graphql_enum(self) -> &'static str {
        match self {
            Locale::Ja => "JA",
            Locale::En => "EN",
        }
    }

    /// Parses a GraphQL enum value `JA` or `EN`.
    pub fn from_graphql_enum(value: &str) -> Option<Self> {
        match value {
            "JA" => Some(Locale::Ja),
            "EN" => Some(Locale::En),
            _ => None,
        }
    }

    /// Parses a stored tag. Returns `None` for anything other than `ja` or `en`.
    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag.trim() {
            "ja" => Some(Locale::Ja),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// Returns the other locale. The toggle switches between exactly two.
    pub fn other(self) -> Self {
        match self {
            Locale::Ja => Locale::En,
            Locale::En => Locale::Ja,
        }
    }

    /// Returns the catalogue of this locale's UI strings.
    pub fn catalogue(self) -> &'static Catalogue {
        match self {
            Locale::Ja => &ja::JA,
            Locale::En => &en::EN,
        }
    }

    /// Returns the locale argument for `Date.toLocaleString` and `Number.toLocaleString`.
    pub fn intl_tag(self) -> &'static str {
        match self {
            Locale::Ja => "ja-JP",
            Locale::En => "en-GB",
        }
    }
}

/// The reactive locale, provided as context by the app root.
#[derive(Clone, Copy, Debug)]
pub struct I18n {
    locale: RwSignal<Locale>,
}

impl I18n {
    /// Creates the context from the stored locale and sets `<html lang>` to match.
    pub fn from_storage() -> Self {
        let locale = read_stored_locale().unwrap_or_default();
        set_document_lang(locale);
        Self {
            locale: RwSignal::new(locale),
        }
    }

    /// Returns the current locale. Tracked, so a closure that calls this re-runs on a switch.
    pub fn locale(self) -> Locale {
        self.locale.get()
    }

    /// Returns the current locale without subscribing, for use outside reactive closures.
    pub fn locale_untracked(self) -> Locale {
        self.locale.try_get_untracked().unwrap_or_default()
    }

    /// Returns the current catalogue. Tracked like [`I18n::locale`].
    pub fn t(self) -> &'static Catalogue {
        self.locale().catalogue()
    }

    /// Switches to the other locale and stores the choice.
    pub fn toggle(self) {
        let next = self.locale_untracked().other();
        self.locale.set(next);
        store_locale(next);
        set_document_lang(next);
    }
}

/// Returns the [`I18n`] context that the app root provides.
pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

fn read_stored_locale() -> Option<Locale> {
    let storage = window().local_storage().ok().flatten()?;
    let tag = storage.get_item(LOCALE_STORAGE_KEY).ok().flatten()?;
    Locale::from_tag(&tag)
}

fn store_locale(locale: Locale) {
    // Storage can be unavailable (private mode, disabled by policy). The switch then lasts
    // until the page is reloaded.
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item(LOCALE_STORAGE_KEY, locale.tag());
    }
}

fn set_document_lang(locale: Locale) {
    if let Some(root) = document().document_element() {
        let _ = root.set_attribute("lang", locale.tag());
    }
}
