//! The vocabulary of matching: rules, clauses, operands and profile values.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::Value;

use crate::listings::schema::fold;

/// Identifies a rule within its tenant.
pub type RuleId = u32;

/// A tenant's match rule: every clause must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: RuleId,
    pub clauses: Vec<Clause>,
}

/// One comparison of a listing field with an operand.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub listing_field: String,
    pub operator: Operator,
    pub operand: Operand,
}

/// How a listing value is compared with the operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// The listing's value (or one of its tags) is one of the operand's set.
    InSet,
    /// The listing's value is not in the operand's set.
    NotInSet,
    /// Some unit of the listing costs at most the operand (bounds inclusive).
    AtMost,
    /// Some unit of the listing reaches at least the operand (bounds inclusive).
    AtLeast,
    /// The listing's amount or range overlaps the operand's range (bounds inclusive).
    Overlaps,
    /// The listing's text contains one of the operand's keywords, compared after NFKC
    /// normalisation and case folding, so width and case do not matter.
    ContainsKeyword,
    /// The listing's point lies within the operand's radius of the operand's point.
    WithinDistance,
    /// The listing's date is the operand's date or later.
    OnOrAfter,
    /// The listing's date is the operand's date or earlier.
    OnOrBefore,
}

/// What a listing value is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// The member's value of this profile field.
    Profile(String),
    /// The same value for every member.
    Constant(ProfileValue),
}

/// A value a member gives for a profile field (or a rule's constant).
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileValue {
    /// Several accepted values (wards, room types, tags, keywords). Stored folded.
    Set(Vec<String>),
    Number(f64),
    /// A range with at least one side.
    Range {
        min: Option<f64>,
        max: Option<f64>,
    },
    /// A centre and a radius in kilometres.
    Circle {
        lat: f64,
        lon: f64,
        radius_km: f64,
    },
    Date(NaiveDate),
}

impl ProfileValue {
    /// A set of values, folded so that comparisons ignore width and case.
    pub fn set<I: IntoIterator<Item = S>, S: AsRef<str>>(values: I) -> Self {
        let mut folded: Vec<String> = values
            .into_iter()
            .map(|v| fold(v.as_ref()))
            .filter(|v| !v.is_empty())
            .collect();
        folded.sort();
        folded.dedup();
        ProfileValue::Set(folded)
    }
}

/// One member's profile values, keyed by profile field name.
pub type MemberProfile = HashMap<String, ProfileValue>;

/// A listing number as stored: one value, or a range of units with a side possibly unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ListingAmount {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl ListingAmount {
    /// Reads a stored number field: a number, or `{"min": .., "max": ..}`.
    pub fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Number(number) => number.as_f64().map(|v| Self {
                min: Some(v),
                max: Some(v),
            }),
            Value::Object(range) => {
                let side = |key: &str| range.get(key).and_then(Value::as_f64);
                let amount = Self {
                    min: side("min"),
                    max: side("max"),
                };
                (amount.min.is_some() || amount.max.is_some()).then_some(amount)
            }
            _ => None,
        }
    }

    /// The value an "at most" condition compares: the cheapest unit, or the only known side.
    pub fn lowest_known(self) -> Option<f64> {
        self.min.or(self.max)
    }

    /// The value an "at least" condition compares: the largest unit, or the only known side.
    pub fn highest_known(self) -> Option<f64> {
        self.max.or(self.min)
    }
}

/// Days since 1970-01-01, so dates compare as numbers.
pub fn day_number(date: NaiveDate) -> f64 {
    date.signed_duration_since(NaiveDate::default()).num_days() as f64
}

/// Reads a stored date field (`YYYY-MM-DD`).
pub fn listing_date(value: &Value) -> Option<NaiveDate> {
    value
        .as_str()
        .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
}

/// Reads a stored geo point field (`{"lat": .., "lon": ..}`).
pub fn listing_point(value: &Value) -> Option<(f64, f64)> {
    Some((value.get("lat")?.as_f64()?, value.get("lon")?.as_f64()?))
}

/// The scalar or tag values of a stored field, folded: one for text and enum fields, several
/// for tags.
pub fn listing_terms(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![fold(text)],
        Value::Number(number) => vec![number.to_string()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(fold).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|term| !term.is_empty())
    .collect()
}

/// Great-circle distance in kilometres (haversine, mean Earth radius 6,371 km).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6_371.0 * h.sqrt().asin()
}
