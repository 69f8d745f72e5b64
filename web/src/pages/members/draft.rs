//! The editable form of a member.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::model::{Frequency, Member, MemberInput};
use crate::i18n::Locale;
use crate::listing_schema::{FieldType, ListingField};
use crate::value_text::{editable_text, json_object, string_list};

/// The hour of digests when the operator does not choose one (`MemberInput.digestHour`).
const DEFAULT_DIGEST_HOUR: u8 = 9;

/// A member being edited.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberDraft {
    pub email: String,
    /// `None` leaves the choice to the server, which takes the tenant's language.
    pub locale: Option<Locale>,
    pub frequency: Frequency,
    pub digest_hour: u8,
    pub digest_weekday: u8,
    /// The text of each profile field that is not a choice field, keyed by field name.
    pub texts: BTreeMap<String, String>,
    /// The options chosen for each choice (`ENUM`) profile field, keyed by field name.
    pub choices: BTreeMap<String, Vec<String>>,
}

impl MemberDraft {
    /// Creates an empty member who gets mail at once.
    pub fn new() -> Self {
        Self {
            email: String::new(),
            locale: None,
            frequency: Frequency::Instant,
            digest_hour: DEFAULT_DIGEST_HOUR,
            digest_weekday: 0,
            texts: BTreeMap::new(),
            choices: BTreeMap::new(),
        }
    }

    /// Creates a draft of a stored member, with each profile value in the text form the
    /// server reads back.
    pub fn from_member(member: &Member, fields: &[ListingField]) -> Self {
        let profile = json_object(&member.profile);
        let mut draft = Self {
            email: member.email.clone(),
            locale: Locale::from_graphql_enum(&member.locale),
            frequency: member.frequency,
            digest_hour: member.digest_hour,
            digest_weekday: member.digest_weekday,
            texts: BTreeMap::new(),
            choices: BTreeMap::new(),
        };
        for field in fields {
            let Some(value) = profile.get(&field.name) else {
                continue;
            };
            if field.field_type == FieldType::Enum {
                draft.choices.insert(field.name.clone(), string_list(value));
            } else {
                draft.texts.insert(field.name.clone(), editable_text(value));
            }
        }
        draft
    }

    /// Converts the draft to a `MemberInput`. Empty profile values are left out, which clears
    /// them, because an update replaces the whole profile.
    pub fn to_input(&self, fields: &[ListingField]) -> MemberInput {
        let mut profile = Map::new();
        for field in fields {
            let value = if field.field_type == FieldType::Enum {
                self.choices
                    .get(&field.name)
                    .filter(|chosen| !chosen.is_empty())
                    .map(|chosen| Value::Array(chosen.iter().cloned().map(Value::String).collect()))
            } else {
                self.texts
                    .get(&field.name)
                    .map(|text| text.trim())
                    .filter(|text| !text.is_empty())
                    .map(|text| Value::String(text.to_owned()))
            };
            if let Some(value) = value {
                profile.insert(field.name.clone(), value);
            }
        }
        MemberInput {
            email: self.email.trim().to_owned(),
            locale: self.locale.map(|locale| locale.graphql_enum().to_owned()),
            frequency: self.frequency,
            digest_hour: self.digest_hour,
            digest_weekday: self.digest_weekday,
            profile: Value::Object(profile),
        }
    }
}

impl Default for MemberDraft {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::listing_schema::FieldOption;

    fn fields() -> Vec<ListingField> {
        let field = |name: &str, field_type: FieldType| ListingField {
            name: name.to_owned(),
            label_ja: name.to_owned(),
            label_en: name.to_owned(),
            field_type,
            required: false,
            options: Vec::new(),
        };
        let mut wards = field("wards", FieldType::Enum);
        wards.options = vec![FieldOption {
            value: "shinjuku".to_owned(),
            label_ja: "新宿区".to_owned(),
            label_en: "Shinjuku".to_owned(),
        }];
        vec![
            field("budget", FieldType::Number),
            wards,
            field("area", FieldType::GeoPoint),
        ]
    }

    fn member(profile: Value) -> Member {
        Member {
            id: "1".to_owned(),
            email: "a@example.jp".to_owned(),
            locale: "EN".to_owned(),
            frequency: Frequency::Weekly,
            digest_hour: 18,
            digest_weekday: 4,
            subscribed: true,
            pending_confirmation: false,
            profile,
            next_digest_at: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn stored_profile_becomes_text_and_choices() {
        let draft = MemberDraft::from_member(
            &member(json!({
                "budget": {"min": 80000, "max": 100000},
                "wards": ["shinjuku"],
                "area": {"lat": 35.68, "lon": 139.76, "radiusKm": 2}
            })),
            &fields(),
        );
        assert_eq!(draft.locale, Some(Locale::En));
        assert_eq!(draft.texts["budget"], "80000～100000");
        assert_eq!(draft.texts["area"], "35.68,139.76,2");
        assert_eq!(draft.choices["wards"], ["shinjuku"]);
    }

    #[test]
    fn input_leaves_out_empty_values() {
        let mut draft = MemberDraft::new();
        draft.email = " a@example.jp ".to_owned();
        draft.texts.insert("budget".to_owned(), " 10万 ".to_owned());
        draft.texts.insert("area".to_owned(), "  ".to_owned());
        draft.choices.insert("wards".to_owned(), Vec::new());
        let input = draft.to_input(&fields());
        assert_eq!(input.email, "a@example.jp");
        assert_eq!(input.locale, None);
        assert_eq!(input.profile, json!({"budget": "10万"}));
    }

    #[test]
    fn chosen_options_are_sent_as_list() {
        let mut draft = MemberDraft::new();
        draft
            .choices
            .insert("wards".to_owned(), vec!["shinjuku".to_owned()]);
        assert_eq!(
            draft.to_input(&fields()).profile,
            json!({"wards": ["shinjuku"]})
        );
    }
}
