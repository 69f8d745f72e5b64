//! The plain definition of a match, one member at a time. The index must agree with it, and it
//! explains a match to the member ("why did I get this?").

use serde_json::Value;

use super::model::{
    Clause, ListingAmount, MemberProfile, Operand, Operator, ProfileValue, Rule, day_number,
    distance_km, listing_date, listing_point, listing_terms,
};
use crate::listings::schema::fold;

/// What one clause found.
#[derive(Debug, Clone, PartialEq)]
pub enum ClauseOutcome {
    Satisfied {
        listing_value: Value,
        operand: ProfileValue,
    },
    NotSatisfied {
        listing_value: Value,
        operand: ProfileValue,
    },
    /// The listing has no value for the field, so the clause does not hold.
    ListingValueMissing,
    /// The member left the profile field empty, so the rule does not apply to them.
    ProfileValueMissing,
}

impl ClauseOutcome {
    pub fn holds(&self) -> bool {
        matches!(self, ClauseOutcome::Satisfied { .. })
    }
}

/// Whether the listing (a JSON object of stored values) matches the member under the rule.
pub fn evaluate(rule: &Rule, profile: &MemberProfile, listing: &Value) -> bool {
    rule.clauses
        .iter()
        .all(|clause| outcome(clause, profile, listing).holds())
}

/// Each clause of the rule with what it compared and whether it held.
pub fn explain<'r>(
    rule: &'r Rule,
    profile: &MemberProfile,
    listing: &Value,
) -> Vec<(&'r Clause, ClauseOutcome)> {
    rule.clauses
        .iter()
        .map(|clause| (clause, outcome(clause, profile, listing)))
        .collect()
}

fn outcome(clause: &Clause, profile: &MemberProfile, listing: &Value) -> ClauseOutcome {
    let operand = match &clause.operand {
        Operand::Constant(value) => value,
        Operand::Profile(field) => match profile.get(field) {
            Some(value) => value,
            None => return ClauseOutcome::ProfileValueMissing,
        },
    };
    let Some(listing_value) = listing.get(&clause.listing_field).filter(|v| !v.is_null()) else {
        return ClauseOutcome::ListingValueMissing;
    };
    let listing_value = listing_value.clone();
    let operand = operand.clone();
    if clause_holds(clause.operator, &operand, &listing_value) {
        ClauseOutcome::Satisfied {
            listing_value,
            operand,
        }
    } else {
        ClauseOutcome::NotSatisfied {
            listing_value,
            operand,
        }
    }
}

/// Compares one listing value with one operand value.
pub(super) fn clause_holds(operator: Operator, operand: &ProfileValue, listing: &Value) -> bool {
    match (operator, operand) {
        (Operator::InSet, ProfileValue::Set(accepted)) => listing_terms(listing)
            .iter()
            .any(|term| accepted.binary_search(term).is_ok()),
        (Operator::NotInSet, ProfileValue::Set(rejected)) => {
            let terms = listing_terms(listing);
            !terms.is_empty()
                && terms
                    .iter()
                    .all(|term| rejected.binary_search(term).is_err())
        }
        (Operator::AtMost, ProfileValue::Number(limit)) => ListingAmount::from_value(listing)
            .and_then(ListingAmount::lowest_known)
            .is_some_and(|v| v <= *limit),
        (Operator::AtLeast, ProfileValue::Number(limit)) => ListingAmount::from_value(listing)
            .and_then(ListingAmount::highest_known)
            .is_some_and(|v| v >= *limit),
        (Operator::Overlaps, ProfileValue::Range { min, max }) => {
            let Some(amount) = ListingAmount::from_value(listing) else {
                return false;
            };
            let (Some(low), Some(high)) = (amount.lowest_known(), amount.highest_known()) else {
                return false;
            };
            min.is_none_or(|min| min <= high) && max.is_none_or(|max| low <= max)
        }
        (Operator::Overlaps, ProfileValue::Number(value)) => clause_holds(
            Operator::Overlaps,
            &ProfileValue::Range {
                min: Some(*value),
                max: Some(*value),
            },
            listing,
        ),
        (Operator::ContainsKeyword, ProfileValue::Set(keywords)) => {
            let text = listing_text(listing);
            keywords
                .iter()
                .any(|keyword| text.contains(keyword.as_str()))
        }
        (
            Operator::WithinDistance,
            ProfileValue::Circle {
                lat,
                lon,
                radius_km,
            },
        ) => listing_point(listing)
            .is_some_and(|point| distance_km(point, (*lat, *lon)) <= *radius_km),
        (Operator::OnOrAfter, ProfileValue::Date(date)) => {
            listing_date(listing).is_some_and(|d| d >= *date)
        }
        (Operator::OnOrBefore, ProfileValue::Date(date)) => {
            listing_date(listing).is_some_and(|d| d <= *date)
        }
        _ => false,
    }
}

/// The folded text a keyword is searched in: a text value, or tags joined by newlines.
pub(super) fn listing_text(listing: &Value) -> String {
    match listing {
        Value::String(text) => fold(text),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(fold)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The numeric key a date clause compares.
pub(super) fn date_key(listing: &Value) -> Option<f64> {
    listing_date(listing).map(day_number)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rule(operator: Operator, profile_field: &str) -> Rule {
        Rule {
            id: 1,
            clauses: vec![Clause {
                listing_field: "rent".into(),
                operator,
                operand: Operand::Profile(profile_field.into()),
            }],
        }
    }

    fn member(field: &str, value: ProfileValue) -> MemberProfile {
        MemberProfile::from([(field.to_owned(), value)])
    }

    /// The rent table: each listing rent as stored, and whether "rent ≤ 100,000" (M1) and
    /// "rent ≥ 60,000" (M2) hold. Inclusive bounds; a one-sided range compares its known side.
    #[test]
    fn rent_conditions_follow_overlap_semantics() {
        let at_most = rule(Operator::AtMost, "max_rent");
        let at_least = rule(Operator::AtLeast, "min_rent");
        let m1 = member("max_rent", ProfileValue::Number(100_000.0));
        let m2 = member("min_rent", ProfileValue::Number(60_000.0));
        let cases = [
            (json!(100_000), true, true),
            (json!(98_000), true, true),
            (json!({"min": 55_000, "max": 67_500}), true, true),
            (json!({"min": 120_000}), false, true),
            (json!({"max": 90_000}), true, true),
            (json!(100_001), false, true),
            (json!(50_000), true, false),
        ];
        for (rent, expect_m1, expect_m2) in cases {
            let listing = json!({ "rent": rent });
            assert_eq!(
                evaluate(&at_most, &m1, &listing),
                expect_m1,
                "M1 with {rent}"
            );
            assert_eq!(
                evaluate(&at_least, &m2, &listing),
                expect_m2,
                "M2 with {rent}"
            );
        }
    }

    #[test]
    fn missing_listing_value_never_matches() {
        let at_most = rule(Operator::AtMost, "max_rent");
        let m1 = member("max_rent", ProfileValue::Number(100_000.0));
        assert!(!evaluate(&at_most, &m1, &json!({})));
        assert!(!evaluate(&at_most, &m1, &json!({ "rent": null })));
        let explained = explain(&at_most, &m1, &json!({}));
        assert_eq!(explained[0].1, ClauseOutcome::ListingValueMissing);
    }

    #[test]
    fn rule_does_not_apply_to_member_without_the_profile_field() {
        let at_most = rule(Operator::AtMost, "max_rent");
        let listing = json!({ "rent": 1 });
        assert!(!evaluate(&at_most, &MemberProfile::new(), &listing));
        assert_eq!(
            explain(&at_most, &MemberProfile::new(), &listing)[0].1,
            ClauseOutcome::ProfileValueMissing
        );
    }

    #[test]
    fn member_range_overlaps_listing_range() {
        let overlaps = rule(Operator::Overlaps, "budget");
        let budget = member(
            "budget",
            ProfileValue::Range {
                min: Some(60_000.0),
                max: Some(80_000.0),
            },
        );
        assert!(evaluate(
            &overlaps,
            &budget,
            &json!({ "rent": {"min": 55_000, "max": 67_500} })
        ));
        assert!(evaluate(&overlaps, &budget, &json!({ "rent": 80_000 })));
        assert!(!evaluate(
            &overlaps,
            &budget,
            &json!({ "rent": {"min": 80_001} })
        ));
        let open_budget = member(
            "budget",
            ProfileValue::Range {
                min: None,
                max: Some(80_000.0),
            },
        );
        assert!(evaluate(&overlaps, &open_budget, &json!({ "rent": 10 })));
    }

    #[test]
    fn keywords_ignore_width_and_case() {
        let keyword = Rule {
            id: 1,
            clauses: vec![Clause {
                listing_field: "name".into(),
                operator: Operator::ContainsKeyword,
                operand: Operand::Profile("keywords".into()),
            }],
        };
        let wants = member("keywords", ProfileValue::set(["ペット可", "station"]));
        assert!(evaluate(
            &keyword,
            &wants,
            &json!({ "name": "2LDK ﾍﾟｯﾄ可 南向き" })
        ));
        assert!(evaluate(
            &keyword,
            &wants,
            &json!({ "name": "Near STATION" })
        ));
        assert!(!evaluate(&keyword, &wants, &json!({ "name": "駅近" })));
    }

    #[test]
    fn set_membership_and_exclusion() {
        let ward_in = Rule {
            id: 1,
            clauses: vec![Clause {
                listing_field: "ward".into(),
                operator: Operator::InSet,
                operand: Operand::Profile("wards".into()),
            }],
        };
        let ward_not_in = Rule {
            id: 2,
            clauses: vec![Clause {
                listing_field: "ward".into(),
                operator: Operator::NotInSet,
                operand: Operand::Constant(ProfileValue::set(["Minato Ku"])),
            }],
        };
        let wants = member("wards", ProfileValue::set(["Shibuya Ku", "Shinjuku Ku"]));
        assert!(evaluate(&ward_in, &wants, &json!({ "ward": "Shibuya Ku" })));
        assert!(!evaluate(&ward_in, &wants, &json!({ "ward": "Minato Ku" })));
        assert!(evaluate(
            &ward_not_in,
            &wants,
            &json!({ "ward": "Shibuya Ku" })
        ));
        assert!(!evaluate(
            &ward_not_in,
            &wants,
            &json!({ "ward": "Minato Ku" })
        ));
        assert!(!evaluate(&ward_not_in, &wants, &json!({})));
    }

    #[test]
    fn distance_and_dates() {
        let near = Rule {
            id: 1,
            clauses: vec![Clause {
                listing_field: "location".into(),
                operator: Operator::WithinDistance,
                operand: Operand::Profile("area".into()),
            }],
        };
        // Shinjuku station to Shibuya station is about 3.4 km.
        let around_shinjuku = member(
            "area",
            ProfileValue::Circle {
                lat: 35.6896,
                lon: 139.7006,
                radius_km: 4.0,
            },
        );
        assert!(evaluate(
            &near,
            &around_shinjuku,
            &json!({ "location": {"lat": 35.6580, "lon": 139.7016} })
        ));
        let tight = member(
            "area",
            ProfileValue::Circle {
                lat: 35.6896,
                lon: 139.7006,
                radius_km: 3.0,
            },
        );
        assert!(!evaluate(
            &near,
            &tight,
            &json!({ "location": {"lat": 35.6580, "lon": 139.7016} })
        ));

        let from_april = Rule {
            id: 2,
            clauses: vec![Clause {
                listing_field: "available".into(),
                operator: Operator::OnOrAfter,
                operand: Operand::Constant(ProfileValue::Date(
                    chrono::NaiveDate::from_ymd_opt(2024, 4, 1).unwrap(),
                )),
            }],
        };
        assert!(evaluate(
            &from_april,
            &MemberProfile::new(),
            &json!({ "available": "2024-04-01" })
        ));
        assert!(!evaluate(
            &from_april,
            &MemberProfile::new(),
            &json!({ "available": "2024-03-31" })
        ));
    }
}
