//! The member index of one tenant. For a new listing, each clause of a rule yields the members
//! that can satisfy it as a compressed bitmap; the bitmaps are intersected, smallest first, and
//! only the survivors are checked one by one. No listing scans every member.
//!
//! Per clause kind:
//! - sets, tags and keywords: an inverted index from folded value to members (keywords found in
//!   the listing text with one Aho-Corasick pass);
//! - numbers and dates: members sorted by their threshold, cut into [`BUCKETS`] buckets with a
//!   precomputed bitmap of all members from each bucket onwards (or up to it). A query takes
//!   the bitmap of the bucket the listing value falls in, a superset that the final check trims;
//! - distances: members filed under every grid cell their circle touches.

use std::{borrow::Cow, collections::HashMap};

use aho_corasick::AhoCorasick;
use roaring::RoaringBitmap;
use serde_json::Value;

use super::{
    evaluate::{clause_holds, date_key, listing_text},
    model::{Clause, ListingAmount, MemberProfile, Operand, Operator, ProfileValue, Rule, RuleId, day_number, distance_km,
        listing_point, listing_terms},
};

/// Buckets per threshold index: more buckets make the superset tighter and the index larger.
const BUCKETS: usize = 64;
/// Grid cell size for distance clauses, in degrees (about 5.5 km north to south).
const CELL_DEGREES: f64 = 0.05;

/// The index of one tenant's members under its rules.
pub struct Matcher {
    rules: Vec<RuleIndex>,
}

struct RuleIndex {
    id: RuleId,
    /// Clauses against constants: the same outcome for every member.
    constant_clauses: Vec<Clause>,
    /// Members who filled in every profile field the rule uses.
    eligible: RoaringBitmap,
    clauses: Vec<ClauseIndex>,
}

struct ClauseIndex {
    listing_field: String,
    operator: Operator,
    kind: IndexKind,
}

enum IndexKind {
    Terms { postings: HashMap<String, RoaringBitmap> },
    /// `automaton` is `None` only if building it failed; the keywords are then searched one by one.
    Keywords { automaton: Option<AhoCorasick>, keywords: Vec<String>, postings: Vec<RoaringBitmap> },
    /// `AtMost`, `AtLeast` and dates: one threshold per member.
    Threshold(Thresholds),
    /// `Overlaps`: the member's lower and upper bounds; members without a bound are unbounded.
    Range { lower: Thresholds, upper: Thresholds, no_lower: RoaringBitmap, no_upper: RoaringBitmap },
    Circles { cells: HashMap<(i32, i32), RoaringBitmap>, circles: HashMap<u32, (f64, f64, f64)> },
}

/// Members sorted by one number, with bucketed prefix and suffix bitmaps.
struct Thresholds {
    sorted: Vec<f64>,
    bucket_starts: Vec<usize>,
    /// `at_or_above[k]`: members from bucket `k` to the end.
    at_or_above: Vec<RoaringBitmap>,
    /// `at_or_below[k]`: members from the start to the end of bucket `k`.
    at_or_below: Vec<RoaringBitmap>,
    /// Each member's threshold, NaN for members without one. Dense, since most members have one.
    by_member: Vec<f64>,
}

impl Thresholds {
    fn build(mut entries: Vec<(f64, u32)>, member_count: usize) -> Self {
        entries.sort_by(|a, b| a.0.total_cmp(&b.0));
        let bucket_size = entries.len().div_ceil(BUCKETS).max(1);
        let bucket_starts: Vec<usize> = (0..entries.len()).step_by(bucket_size).collect();
        let bucket_members = |k: usize| {
            let end = bucket_starts.get(k + 1).copied().unwrap_or(entries.len());
            entries[bucket_starts[k]..end].iter().map(|(_, member)| *member)
        };
        let mut at_or_below = Vec::with_capacity(bucket_starts.len());
        let mut running = RoaringBitmap::new();
        for k in 0..bucket_starts.len() {
            running.extend(bucket_members(k));
            at_or_below.push(running.clone());
        }
        let mut at_or_above = vec![RoaringBitmap::new(); bucket_starts.len()];
        let mut running = RoaringBitmap::new();
        for k in (0..bucket_starts.len()).rev() {
            running.extend(bucket_members(k));
            at_or_above[k] = running.clone();
        }
        let mut by_member = vec![f64::NAN; member_count];
        for (value, member) in &entries {
            if let Some(slot) = by_member.get_mut(*member as usize) {
                *slot = *value;
            }
        }
        Self {
            by_member,
            sorted: entries.into_iter().map(|(value, _)| value).collect(),
            bucket_starts,
            at_or_above,
            at_or_below,
        }
    }

    fn bucket_of(&self, position: usize) -> usize {
        self.bucket_starts.partition_point(|start| *start <= position).saturating_sub(1)
    }

    /// A superset of the members whose threshold is `>= value`; `None` when there are none.
    fn at_least(&self, value: f64) -> Option<&RoaringBitmap> {
        let position = self.sorted.partition_point(|t| *t < value);
        if position >= self.sorted.len() {
            return None;
        }
        self.at_or_above.get(self.bucket_of(position))
    }

    /// A superset of the members whose threshold is `<= value`; `None` when there are none.
    fn at_most(&self, value: f64) -> Option<&RoaringBitmap> {
        let position = self.sorted.partition_point(|t| *t <= value);
        if position == 0 {
            return None;
        }
        self.at_or_below.get(self.bucket_of(position - 1))
    }
}

/// A listing value prepared once for all rules.
struct Prepared<'a> {
    value: &'a Value,
    text: Option<String>,
}

/// Builds a [`Matcher`] one member at a time, so that profiles need not all be in memory.
pub struct MatcherBuilder {
    rules: Vec<RuleBuilder>,
    member_count: u32,
}

struct RuleBuilder {
    id: RuleId,
    constant_clauses: Vec<Clause>,
    profile_fields: Vec<String>,
    eligible: RoaringBitmap,
    clauses: Vec<(Clause, Accumulator)>,
}

/// Index entries collected per clause before the index is finished.
enum Accumulator {
    Terms(HashMap<String, RoaringBitmap>),
    Keywords(HashMap<String, RoaringBitmap>),
    Threshold(Vec<(f64, u32)>),
    Range { lower: Vec<(f64, u32)>, upper: Vec<(f64, u32)>, no_lower: RoaringBitmap, no_upper: RoaringBitmap },
    Circles { cells: HashMap<(i32, i32), RoaringBitmap>, circles: HashMap<u32, (f64, f64, f64)> },
}

impl MatcherBuilder {
    pub fn new(rules: &[Rule]) -> Self {
        let rules = rules
            .iter()
            .map(|rule| {
                let mut builder = RuleBuilder {
                    id: rule.id,
                    constant_clauses: Vec::new(),
                    profile_fields: Vec::new(),
                    eligible: RoaringBitmap::new(),
                    clauses: Vec::new(),
                };
                for clause in &rule.clauses {
                    match &clause.operand {
                        Operand::Constant(_) => builder.constant_clauses.push(clause.clone()),
                        Operand::Profile(field) => {
                            builder.profile_fields.push(field.clone());
                            builder.clauses.push((clause.clone(), Accumulator::new(clause.operator)));
                        }
                    }
                }
                builder
            })
            .collect();
        Self { rules, member_count: 0 }
    }

    /// Adds the next member and returns its number in match results.
    pub fn add(&mut self, profile: &MemberProfile) -> u32 {
        let member = self.member_count;
        self.member_count += 1;
        for rule in &mut self.rules {
            if !rule.profile_fields.iter().all(|field| profile.contains_key(field)) {
                continue;
            }
            rule.eligible.insert(member);
            for (clause, accumulator) in &mut rule.clauses {
                if let Operand::Profile(field) = &clause.operand
                    && let Some(value) = profile.get(field)
                {
                    accumulator.add(member, value);
                }
            }
        }
        member
    }

    pub fn finish(self) -> Matcher {
        let member_count = self.member_count as usize;
        let rules = self
            .rules
            .into_iter()
            .map(|rule| RuleIndex {
                id: rule.id,
                constant_clauses: rule.constant_clauses,
                eligible: rule.eligible,
                clauses: rule
                    .clauses
                    .into_iter()
                    .map(|(clause, accumulator)| ClauseIndex {
                        listing_field: clause.listing_field,
                        operator: clause.operator,
                        kind: accumulator.finish(member_count),
                    })
                    .collect(),
            })
            .collect();
        Matcher { rules }
    }
}

impl Matcher {
    /// Indexes `profiles` (member `i` is `profiles[i]`) under the tenant's rules.
    pub fn build(rules: &[Rule], profiles: &[MemberProfile]) -> Self {
        let mut builder = MatcherBuilder::new(rules);
        for profile in profiles {
            builder.add(profile);
        }
        builder.finish()
    }

    /// The members the listing matches, each once, under the first rule (in rule order) that
    /// matched them.
    pub fn matches(&self, listing: &Value) -> Matches {
        let mut prepared: HashMap<&str, Prepared<'_>> = HashMap::new();
        let mut seen = RoaringBitmap::new();
        let mut per_rule = Vec::new();
        for rule in &self.rules {
            let Some(mut members) = rule.matches(listing, &mut prepared) else { continue };
            members -= &seen;
            if members.is_empty() {
                continue;
            }
            seen |= &members;
            per_rule.push((rule.id, members));
        }
        Matches { per_rule }
    }
}

/// The members one listing matched, grouped by the first rule that matched each of them.
#[derive(Debug, Default)]
pub struct Matches {
    per_rule: Vec<(RuleId, RoaringBitmap)>,
}

impl Matches {
    pub fn len(&self) -> u64 {
        self.per_rule.iter().map(|(_, members)| members.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.per_rule.is_empty()
    }

    /// Each matched member with its rule, grouped by rule.
    pub fn iter(&self) -> impl Iterator<Item = (u32, RuleId)> + '_ {
        self.per_rule.iter().flat_map(|(rule, members)| members.iter().map(move |member| (member, *rule)))
    }

    /// Each matched member with its rule, sorted by member.
    pub fn to_sorted_vec(&self) -> Vec<(u32, RuleId)> {
        let mut all: Vec<(u32, RuleId)> = self.iter().collect();
        all.sort_unstable();
        all
    }
}

impl RuleIndex {
    fn matches<'l>(&self, listing: &'l Value, prepared: &mut HashMap<&'l str, Prepared<'l>>) -> Option<RoaringBitmap> {
        for clause in &self.constant_clauses {
            let Operand::Constant(operand) = &clause.operand else { continue };
            let value = listing.get(&clause.listing_field).filter(|v| !v.is_null())?;
            if !clause_holds(clause.operator, operand, value) {
                return None;
            }
        }

        let mut candidates: Vec<Cow<'_, RoaringBitmap>> = Vec::with_capacity(self.clauses.len() + 1);
        for clause in &self.clauses {
            let (field, value) = listing.as_object()?.get_key_value(&clause.listing_field)?;
            if value.is_null() {
                return None;
            }
            let prepared = prepared.entry(field.as_str()).or_insert_with(|| Prepared { value, text: None });
            let bitmap = clause.candidates(prepared);
            if bitmap.is_empty() {
                return None;
            }
            candidates.push(bitmap);
        }
        if candidates.is_empty() {
            candidates.push(Cow::Borrowed(&self.eligible));
        }
        candidates.sort_by_key(|bitmap| bitmap.len());
        let mut survivors = candidates.swap_remove(0).into_owned();
        for bitmap in &candidates {
            survivors &= bitmap.as_ref();
            if survivors.is_empty() {
                return None;
            }
        }

        // The listing's side of each superset clause is read once, so that checking a member
        // is a few array reads and comparisons.
        let checks: Vec<Check<'_>> = self.clauses.iter().filter_map(|clause| clause.check(listing)).collect();
        if checks.is_empty() {
            return Some(survivors);
        }
        let verified = survivors.iter().filter(|member| checks.iter().all(|check| check.passes(*member)));
        Some(RoaringBitmap::from_sorted_iter(verified).unwrap_or_default())
    }
}

impl Accumulator {
    fn new(operator: Operator) -> Self {
        match operator {
            Operator::InSet | Operator::NotInSet => Accumulator::Terms(HashMap::new()),
            Operator::ContainsKeyword => Accumulator::Keywords(HashMap::new()),
            Operator::AtMost | Operator::AtLeast | Operator::OnOrAfter | Operator::OnOrBefore => {
                Accumulator::Threshold(Vec::new())
            }
            Operator::Overlaps => Accumulator::Range {
                lower: Vec::new(),
                upper: Vec::new(),
                no_lower: RoaringBitmap::new(),
                no_upper: RoaringBitmap::new(),
            },
            Operator::WithinDistance => Accumulator::Circles { cells: HashMap::new(), circles: HashMap::new() },
        }
    }

    /// Files one member's value. A value of the wrong kind for the operator is skipped, so that
    /// member never matches the clause, as in plain evaluation.
    fn add(&mut self, member: u32, value: &ProfileValue) {
        match (self, value) {
            (Accumulator::Terms(postings) | Accumulator::Keywords(postings), ProfileValue::Set(terms)) => {
                for term in terms {
                    postings.entry(term.clone()).or_default().insert(member);
                }
            }
            (Accumulator::Threshold(entries), ProfileValue::Number(number)) => entries.push((*number, member)),
            (Accumulator::Threshold(entries), ProfileValue::Date(date)) => entries.push((day_number(*date), member)),
            (Accumulator::Range { lower, upper, no_lower, no_upper }, value) => {
                let (min, max) = match value {
                    ProfileValue::Range { min, max } => (*min, *max),
                    ProfileValue::Number(number) => (Some(*number), Some(*number)),
                    _ => return,
                };
                match min {
                    Some(min) => lower.push((min, member)),
                    None => {
                        no_lower.insert(member);
                    }
                }
                match max {
                    Some(max) => upper.push((max, member)),
                    None => {
                        no_upper.insert(member);
                    }
                }
            }
            (Accumulator::Circles { cells, circles }, ProfileValue::Circle { lat, lon, radius_km }) => {
                circles.insert(member, (*lat, *lon, *radius_km));
                let lat_span = radius_km / 111.0;
                let lon_span = radius_km / (111.0 * lat.to_radians().cos().max(0.01));
                let (south, west) = cell_of(lat - lat_span, lon - lon_span);
                let (north, east) = cell_of(lat + lat_span, lon + lon_span);
                for row in south..=north {
                    for column in west..=east {
                        cells.entry((row, column)).or_default().insert(member);
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(self, member_count: usize) -> IndexKind {
        match self {
            Accumulator::Terms(postings) => IndexKind::Terms { postings },
            Accumulator::Keywords(by_keyword) => {
                let (keywords, postings): (Vec<String>, Vec<RoaringBitmap>) = by_keyword.into_iter().unzip();
                // Building fails only for patterns beyond the automaton's size limits.
                let automaton = AhoCorasick::new(&keywords).ok();
                IndexKind::Keywords { automaton, keywords, postings }
            }
            Accumulator::Threshold(entries) => IndexKind::Threshold(Thresholds::build(entries, member_count)),
            Accumulator::Range { lower, upper, no_lower, no_upper } => IndexKind::Range {
                lower: Thresholds::build(lower, member_count),
                upper: Thresholds::build(upper, member_count),
                no_lower,
                no_upper,
            },
            Accumulator::Circles { cells, circles } => IndexKind::Circles { cells, circles },
        }
    }
}

impl ClauseIndex {
    /// The members that can satisfy this clause for the listing value: exact for sets and
    /// keywords, a superset for thresholds, ranges and circles (see [`ClauseIndex::is_superset`]).
    fn candidates<'i>(&'i self, prepared: &mut Prepared<'_>) -> Cow<'i, RoaringBitmap> {
        let value = prepared.value;
        let empty = || Cow::Owned(RoaringBitmap::new());
        match (&self.kind, self.operator) {
            (IndexKind::Terms { postings }, Operator::InSet) => {
                union(listing_terms(value).iter().filter_map(|term| postings.get(term)).collect())
            }
            (IndexKind::Terms { postings }, _) => {
                let terms = listing_terms(value);
                if terms.is_empty() {
                    return empty();
                }
                let everyone = union(postings.values().collect()).into_owned();
                Cow::Owned(everyone - union(terms.iter().filter_map(|term| postings.get(term)).collect()).as_ref())
            }
            (IndexKind::Keywords { automaton, keywords, postings }, _) => {
                let text = prepared.text.get_or_insert_with(|| listing_text(value));
                let found: Vec<&RoaringBitmap> = match automaton {
                    Some(automaton) => automaton
                        .find_overlapping_iter(text.as_str())
                        .filter_map(|found| postings.get(found.pattern().as_usize()))
                        .collect(),
                    None => keywords
                        .iter()
                        .zip(postings)
                        .filter(|(keyword, _)| text.contains(keyword.as_str()))
                        .map(|(_, members)| members)
                        .collect(),
                };
                union(found)
            }
            (IndexKind::Threshold(thresholds), operator) => {
                let bound = match operator {
                    // Members whose maximum is at least the listing's cheapest unit.
                    Operator::AtMost => ListingAmount::from_value(value).and_then(ListingAmount::lowest_known).map(|x| thresholds.at_least(x)),
                    Operator::AtLeast => ListingAmount::from_value(value).and_then(ListingAmount::highest_known).map(|x| thresholds.at_most(x)),
                    // The listing's date is on or after the member's date: member date <= listing date.
                    Operator::OnOrAfter => date_key(value).map(|x| thresholds.at_most(x)),
                    _ => date_key(value).map(|x| thresholds.at_least(x)),
                };
                bound.flatten().map_or_else(empty, Cow::Borrowed)
            }
            (IndexKind::Range { lower, upper, no_lower, no_upper }, _) => {
                let Some(amount) = ListingAmount::from_value(value) else { return empty() };
                let (Some(low), Some(high)) = (amount.lowest_known(), amount.highest_known()) else {
                    return empty();
                };
                let lower_ok = lower.at_most(high).map_or_else(|| no_lower.clone(), |members| members | no_lower);
                let upper_ok = upper.at_least(low).map_or_else(|| no_upper.clone(), |members| members | no_upper);
                Cow::Owned(lower_ok & upper_ok)
            }
            (IndexKind::Circles { cells, .. }, _) => listing_point(value)
                .and_then(|(lat, lon)| cells.get(&cell_of(lat, lon)))
                .map_or_else(empty, Cow::Borrowed),
        }
    }

    /// The exact test of one member for the kinds whose candidates are a superset, or `None`
    /// when the candidates are already exact. The listing value was checked to be present.
    fn check(&self, listing: &Value) -> Option<Check<'_>> {
        let value = listing.get(&self.listing_field)?;
        let amount = || ListingAmount::from_value(value);
        match &self.kind {
            IndexKind::Terms { .. } | IndexKind::Keywords { .. } => None,
            IndexKind::Threshold(thresholds) => {
                let values = thresholds.by_member.as_slice();
                Some(match self.operator {
                    Operator::AtMost => Check::AtLeast(values, amount().and_then(ListingAmount::lowest_known)?),
                    Operator::AtLeast => Check::AtMost(values, amount().and_then(ListingAmount::highest_known)?),
                    Operator::OnOrAfter => Check::AtMost(values, date_key(value)?),
                    _ => Check::AtLeast(values, date_key(value)?),
                })
            }
            IndexKind::Range { lower, upper, .. } => {
                let amount = amount()?;
                Some(Check::Overlaps {
                    lower: lower.by_member.as_slice(),
                    upper: upper.by_member.as_slice(),
                    low: amount.lowest_known()?,
                    high: amount.highest_known()?,
                })
            }
            IndexKind::Circles { circles, .. } => Some(Check::Within(circles, listing_point(value)?)),
        }
    }
}

/// One superset clause's exact test, with the listing's side already read.
enum Check<'a> {
    /// The member's threshold is at least the value.
    AtLeast(&'a [f64], f64),
    /// The member's threshold is at most the value.
    AtMost(&'a [f64], f64),
    /// The member's range (a NaN bound is open) overlaps `[low, high]`.
    Overlaps { lower: &'a [f64], upper: &'a [f64], low: f64, high: f64 },
    Within(&'a HashMap<u32, (f64, f64, f64)>, (f64, f64)),
}

impl Check<'_> {
    fn passes(&self, member: u32) -> bool {
        let at = |values: &[f64]| values.get(member as usize).copied().unwrap_or(f64::NAN);
        match self {
            // Comparisons with NaN are false, so a member without a threshold fails.
            Check::AtLeast(values, x) => at(values) >= *x,
            Check::AtMost(values, x) => at(values) <= *x,
            Check::Overlaps { lower, upper, low, high } => {
                let (min, max) = (at(lower), at(upper));
                (min.is_nan() || min <= *high) && (max.is_nan() || max >= *low)
            }
            Check::Within(circles, point) => circles
                .get(&member)
                .is_some_and(|(lat, lon, radius_km)| distance_km(*point, (*lat, *lon)) <= *radius_km),
        }
    }
}

fn union(bitmaps: Vec<&RoaringBitmap>) -> Cow<'_, RoaringBitmap> {
    match bitmaps.as_slice() {
        [] => Cow::Owned(RoaringBitmap::new()),
        [only] => Cow::Borrowed(*only),
        _ => {
            let mut result = RoaringBitmap::new();
            for bitmap in bitmaps {
                result |= bitmap;
            }
            Cow::Owned(result)
        }
    }
}

#[expect(clippy::cast_possible_truncation, reason = "cell indices of valid coordinates fit in i32")]
fn cell_of(lat: f64, lon: f64) -> (i32, i32) {
    ((lat / CELL_DEGREES).floor() as i32, (lon / CELL_DEGREES).floor() as i32)
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
    use serde_json::json;

    use super::*;
    use crate::matching::evaluate;

    const WARDS: [&str; 6] = ["Shibuya Ku", "Shinjuku Ku", "Taito Ku", "Minato Ku", "Sumida Ku", "Toshima Ku"];
    const ROOMS: [&str; 3] = ["Entire home/apt", "Private room", "Shared room"];
    const WORDS: [&str; 5] = ["駅近", "ペット可", "station", "ｽﾃｰｼｮﾝ", "新築"];

    fn clause(listing_field: &str, operator: Operator, profile_field: &str) -> Clause {
        Clause { listing_field: listing_field.into(), operator, operand: Operand::Profile(profile_field.into()) }
    }

    fn rules() -> Vec<Rule> {
        vec![
            Rule {
                id: 1,
                clauses: vec![
                    clause("ward", Operator::InSet, "wards"),
                    clause("price", Operator::AtMost, "max_price"),
                    clause("room_type", Operator::InSet, "room_types"),
                ],
            },
            Rule {
                id: 2,
                clauses: vec![
                    clause("name", Operator::ContainsKeyword, "keywords"),
                    clause("price", Operator::Overlaps, "budget"),
                    clause("ward", Operator::NotInSet, "avoid"),
                ],
            },
            Rule {
                id: 3,
                clauses: vec![
                    clause("location", Operator::WithinDistance, "area"),
                    clause("price", Operator::AtLeast, "min_price"),
                    clause("reviewed", Operator::OnOrAfter, "since"),
                    Clause {
                        listing_field: "room_type".into(),
                        operator: Operator::InSet,
                        operand: Operand::Constant(ProfileValue::set(["Entire home/apt", "Private room"])),
                    },
                ],
            },
        ]
    }

    fn random_profile(rng: &mut StdRng) -> MemberProfile {
        let ward_count = rng.random_range(1..=3);
        let wards: Vec<&str> = WARDS.choose_multiple(rng, ward_count).copied().collect();
        let room_count = rng.random_range(1..=2);
        let rooms: Vec<&str> = ROOMS.choose_multiple(rng, room_count).copied().collect();
        let word_count = rng.random_range(1..=2);
        let words: Vec<&str> = WORDS.choose_multiple(rng, word_count).copied().collect();
        let budget_min = rng.random_bool(0.7).then(|| f64::from(rng.random_range(1..=10)) * 5_000.0);
        let budget_max = rng.random_bool(0.7).then(|| budget_min.unwrap_or(0.0) + f64::from(rng.random_range(0..=10)) * 5_000.0);
        let avoid = *WARDS.choose(rng).unwrap_or(&"Minato Ku");
        let (lat, lon) = (35.60 + rng.random_range(0.0..0.15), 139.65 + rng.random_range(0.0..0.15));
        let since = chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap() + chrono::Duration::days(rng.random_range(0..300));

        // Prices on a coarse grid, so that many members share a threshold across buckets.
        let mut candidates = vec![
            ("wards", ProfileValue::set(wards)),
            ("max_price", ProfileValue::Number(f64::from(rng.random_range(1..=20)) * 5_000.0)),
            ("min_price", ProfileValue::Number(f64::from(rng.random_range(1..=20)) * 5_000.0)),
            ("room_types", ProfileValue::set(rooms)),
            ("keywords", ProfileValue::set(words)),
            ("avoid", ProfileValue::set([avoid])),
            ("area", ProfileValue::Circle { lat, lon, radius_km: rng.random_range(0.5..6.0) }),
            ("since", ProfileValue::Date(since)),
        ];
        if budget_min.is_some() || budget_max.is_some() {
            candidates.push(("budget", ProfileValue::Range { min: budget_min, max: budget_max }));
        }
        // Each field is left empty by one member in five.
        candidates
            .into_iter()
            .filter(|_| rng.random_bool(0.8))
            .map(|(field, value)| (field.to_owned(), value))
            .collect()
    }

    fn random_listing(rng: &mut StdRng) -> Value {
        let price = match rng.random_range(0..4) {
            0 => json!(f64::from(rng.random_range(1..=20)) * 5_000.0),
            1 => json!({"min": f64::from(rng.random_range(1..=10)) * 5_000.0, "max": 100_000}),
            2 => json!({"min": f64::from(rng.random_range(1..=20)) * 5_000.0}),
            _ => json!({"max": f64::from(rng.random_range(1..=20)) * 5_000.0}),
        };
        let ward = *WARDS.choose(rng).unwrap();
        let room = *ROOMS.choose(rng).unwrap();
        let word = *WORDS.choose(rng).unwrap();
        let name = format!("Room {word} {}", rng.random_range(0..100));
        let (lat, lon) = (35.60 + rng.random_range(0.0..0.15), 139.65 + rng.random_range(0.0..0.15));
        let reviewed = chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap() + chrono::Duration::days(rng.random_range(0..300));
        let mut listing = json!({
            "ward": ward,
            "price": price,
            "room_type": room,
            "name": name,
            "location": {"lat": lat, "lon": lon},
            "reviewed": reviewed.format("%Y-%m-%d").to_string(),
        });
        // Some listings lack a field, which must never match a clause on it.
        if rng.random_bool(0.1) {
            let field = ["ward", "price", "name", "location", "reviewed"].choose(rng).unwrap();
            listing.as_object_mut().unwrap().remove(*field);
        }
        listing
    }

    #[test]
    fn index_agrees_with_plain_evaluation() {
        let mut rng = StdRng::seed_from_u64(20_261_204);
        let profiles: Vec<MemberProfile> = (0..3_000).map(|_| random_profile(&mut rng)).collect();
        let rules = rules();
        let matcher = Matcher::build(&rules, &profiles);
        let mut total = 0;
        for _ in 0..300 {
            let listing = random_listing(&mut rng);
            let expected: Vec<(u32, RuleId)> = profiles
                .iter()
                .enumerate()
                .filter_map(|(member, profile)| {
                    rules.iter().find(|rule| evaluate(rule, profile, &listing)).map(|rule| (member as u32, rule.id))
                })
                .collect();
            total += expected.len();
            assert_eq!(matcher.matches(&listing).to_sorted_vec(), expected, "listing {listing}");
        }
        assert!(total > 1_000, "the random data should produce many matches, got {total}");
    }

    #[test]
    fn thresholds_handle_ties_across_bucket_boundaries() {
        let entries: Vec<(f64, u32)> = (0..1_000).map(|member| (f64::from(member / 100), member)).collect();
        let thresholds = Thresholds::build(entries, 1_000);
        for x in [-1.0, 0.0, 3.0, 3.5, 9.0, 10.0] {
            let exact_at_least = (0..1_000u32).filter(|m| f64::from(m / 100) >= x).count() as u64;
            let superset = thresholds.at_least(x).cloned().unwrap_or_default();
            assert!(superset.len() >= exact_at_least, "at_least({x})");
            assert!((0..1_000u32).filter(|m| f64::from(m / 100) >= x).all(|m| superset.contains(m)));
            let exact_at_most: Vec<u32> = (0..1_000u32).filter(|m| f64::from(m / 100) <= x).collect();
            let superset = thresholds.at_most(x).cloned().unwrap_or_default();
            assert!(exact_at_most.iter().all(|m| superset.contains(*m)), "at_most({x})");
        }
    }

    #[test]
    fn listing_matched_by_several_rules_is_reported_once_per_member() {
        let rule = |id| Rule { id, clauses: vec![clause("ward", Operator::InSet, "wards")] };
        let profiles = vec![MemberProfile::from([("wards".to_owned(), ProfileValue::set(["Shibuya Ku"]))])];
        let matcher = Matcher::build(&[rule(7), rule(8)], &profiles);
        assert_eq!(matcher.matches(&json!({"ward": "shibuya ku"})).to_sorted_vec(), vec![(0, 7)]);
    }
}
