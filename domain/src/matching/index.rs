//! The member index of one tenant. For a new listing, each clause of a rule yields the members
//! that can satisfy it as a compressed bitmap; the bitmaps are intersected, smallest first, and
//! only the survivors are checked one by one. No listing scans every member.
//!
//! Per clause kind:
//! - sets, tags and keywords: an inverted index from folded value to members (keywords found in
//!   the listing text with one Aho-Corasick pass);
//! - numbers and dates: members sorted by their threshold, with precomputed bitmaps of whole
//!   buckets and blocks of that order, so that a query is exact and touches one block member
//!   by member (see [`Thresholds`]);
//! - distances: members filed under every grid cell their circle touches.

use std::{borrow::Cow, collections::HashMap};

use aho_corasick::AhoCorasick;
use roaring::RoaringBitmap;
use serde_json::Value;

use super::{
    evaluate::{clause_holds, date_key, listing_text},
    model::{
        Clause, ListingAmount, MemberProfile, Operand, Operator, ProfileValue, Rule, RuleId,
        day_number, distance_km, listing_point, listing_terms,
    },
};

/// Buckets per threshold index: more buckets make each query touch fewer members one by one and
/// the index larger.
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
    Terms {
        postings: HashMap<String, RoaringBitmap>,
    },
    /// `automaton` is `None` only if building it failed; the keywords are then searched one by one.
    Keywords {
        automaton: Option<AhoCorasick>,
        keywords: Vec<String>,
        postings: Vec<RoaringBitmap>,
    },
    /// `AtMost`, `AtLeast` and dates: one threshold per member.
    Threshold(Thresholds),
    /// `Overlaps`: the member's lower and upper bounds; members without a bound are unbounded.
    Range {
        lower: Thresholds,
        upper: Thresholds,
        no_lower: RoaringBitmap,
        no_upper: RoaringBitmap,
    },
    Circles {
        cells: HashMap<(i32, i32), RoaringBitmap>,
        circles: HashMap<u32, (f64, f64, f64)>,
    },
}

/// The side of a threshold that a query selects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Members whose value is at least the query value.
    AtLeast,
    /// Members whose value is at most the query value.
    AtMost,
}

/// Members sorted by one number, for exact queries of every member at or above (or below) x.
///
/// Positions in the sorted order are cut into [`BUCKETS`] buckets of [`BLOCKS`] blocks. A query
/// combines the bitmap of all whole buckets on its side, the bitmap of the whole blocks on its
/// side within the bucket where x falls, and removes the few members of x's block on the wrong
/// side, read from the sorted order. So a query touches at most one block member by member.
struct Thresholds {
    side: Side,
    sorted: Vec<f64>,
    members: Vec<u32>,
    bucket_size: usize,
    block_size: usize,
    /// `AtLeast`: `whole[k]` contains positions `k * bucket_size..`; `AtMost`: positions
    /// `..k * bucket_size`. One more entry than buckets.
    whole: Vec<RoaringBitmap>,
    /// `AtLeast`: `within[k][j]` contains positions from block `j` to the end of bucket `k`;
    /// `AtMost`: from the start of bucket `k` to the end of block `j`.
    within: Vec<Vec<RoaringBitmap>>,
}

/// Blocks per bucket.
const BLOCKS: usize = 16;

impl Thresholds {
    fn build(mut entries: Vec<(f64, u32)>, side: Side) -> Self {
        entries.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (sorted, members): (Vec<f64>, Vec<u32>) = entries.into_iter().unzip();
        let count = sorted.len();
        let bucket_size = count.div_ceil(BUCKETS).max(1);
        let block_size = bucket_size.div_ceil(BLOCKS).max(1);
        let bucket_count = count.div_ceil(bucket_size);
        let bitmap_of = |range: std::ops::Range<usize>| -> RoaringBitmap {
            members[range].iter().copied().collect()
        };

        let mut whole = Vec::with_capacity(bucket_count + 1);
        let mut within = Vec::with_capacity(bucket_count);
        for k in 0..=bucket_count {
            let boundary = (k * bucket_size).min(count);
            whole.push(match side {
                Side::AtLeast => bitmap_of(boundary..count),
                Side::AtMost => bitmap_of(0..boundary),
            });
        }
        for k in 0..bucket_count {
            let (bucket_start, bucket_end) = (k * bucket_size, ((k + 1) * bucket_size).min(count));
            let blocks = (bucket_end - bucket_start).div_ceil(block_size);
            within.push(
                (0..blocks)
                    .map(|j| match side {
                        Side::AtLeast => {
                            bitmap_of((bucket_start + j * block_size).min(bucket_end)..bucket_end)
                        }
                        Side::AtMost => bitmap_of(
                            bucket_start..(bucket_start + (j + 1) * block_size).min(bucket_end),
                        ),
                    })
                    .collect(),
            );
        }
        Self {
            side,
            sorted,
            members,
            bucket_size,
            block_size,
            whole,
            within,
        }
    }

    /// Returns every member on this index's side of `value`, exactly, as borrowed bitmaps minus
    /// the few members of one block.
    fn query(&self, value: f64) -> Candidates<'_> {
        match self.side {
            Side::AtLeast => {
                let first = self.sorted.partition_point(|t| *t < value);
                if first >= self.sorted.len() {
                    return Candidates::none();
                }
                let (k, j) = (
                    first / self.bucket_size,
                    (first % self.bucket_size) / self.block_size,
                );
                let block_start = k * self.bucket_size + j * self.block_size;
                // Members of the block that sort before `first` are below the value.
                let below = self.members[block_start..first].iter().copied().collect();
                Candidates::union(vec![&self.whole[k + 1], &self.within[k][j]], below)
            }
            Side::AtMost => {
                let end = self.sorted.partition_point(|t| *t <= value);
                if end == 0 {
                    return Candidates::none();
                }
                let last = end - 1;
                let (k, j) = (
                    last / self.bucket_size,
                    (last % self.bucket_size) / self.block_size,
                );
                let bucket_end = ((k + 1) * self.bucket_size).min(self.sorted.len());
                let block_end = (k * self.bucket_size + (j + 1) * self.block_size).min(bucket_end);
                // Members of the block that sort after `last` are above the value.
                let above = self.members[end..block_end].iter().copied().collect();
                Candidates::union(vec![&self.whole[k], &self.within[k][j]], above)
            }
        }
    }
}

/// The members that can satisfy one clause: a union of index bitmaps minus a few members.
/// Kept apart rather than combined, so that intersecting with a small set of survivors copies
/// only what survives instead of bitmaps of hundreds of thousands of members.
struct Candidates<'i> {
    parts: Vec<Cow<'i, RoaringBitmap>>,
    minus: RoaringBitmap,
}

impl<'i> Candidates<'i> {
    fn none() -> Self {
        Self {
            parts: Vec::new(),
            minus: RoaringBitmap::new(),
        }
    }

    fn exact(bitmap: Cow<'i, RoaringBitmap>) -> Self {
        Self {
            parts: vec![bitmap],
            minus: RoaringBitmap::new(),
        }
    }

    fn union(parts: Vec<&'i RoaringBitmap>, minus: RoaringBitmap) -> Self {
        Self {
            parts: parts.into_iter().map(Cow::Borrowed).collect(),
            minus,
        }
    }

    fn with(mut self, part: &'i RoaringBitmap) -> Self {
        self.parts.push(Cow::Borrowed(part));
        self
    }

    /// At least the number of members (exact when nothing is subtracted).
    fn size_bound(&self) -> u64 {
        self.parts.iter().map(|part| part.len()).sum()
    }

    fn is_empty(&self) -> bool {
        self.parts.iter().all(|part| part.is_empty())
    }

    fn into_bitmap(mut self) -> RoaringBitmap {
        let mut result = if self.parts.len() == 1 {
            self.parts.swap_remove(0).into_owned()
        } else {
            union(self.parts.iter().map(AsRef::as_ref).collect()).into_owned()
        };
        result -= &self.minus;
        result
    }

    /// Returns the members of `survivors` that are also candidates here.
    fn restrict(&self, survivors: &RoaringBitmap) -> RoaringBitmap {
        let mut result = RoaringBitmap::new();
        for part in &self.parts {
            result |= survivors & part.as_ref();
        }
        result -= &self.minus;
        result
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
    Range {
        lower: Vec<(f64, u32)>,
        upper: Vec<(f64, u32)>,
        no_lower: RoaringBitmap,
        no_upper: RoaringBitmap,
    },
    Circles {
        cells: HashMap<(i32, i32), RoaringBitmap>,
        circles: HashMap<u32, (f64, f64, f64)>,
    },
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
                            builder
                                .clauses
                                .push((clause.clone(), Accumulator::new(clause.operator)));
                        }
                    }
                }
                builder
            })
            .collect();
        Self {
            rules,
            member_count: 0,
        }
    }

    /// Adds the next member and returns its number in match results.
    pub fn add(&mut self, profile: &MemberProfile) -> u32 {
        let member = self.member_count;
        self.member_count += 1;
        for rule in &mut self.rules {
            if !rule
                .profile_fields
                .iter()
                .all(|field| profile.contains_key(field))
            {
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
                        kind: accumulator.finish(clause.operator),
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
            let Some(mut members) = rule.matches(listing, &mut prepared) else {
                continue;
            };
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

    /// Iterates over each matched member with its rule, grouped by rule.
    pub fn iter(&self) -> impl Iterator<Item = (u32, RuleId)> + '_ {
        self.per_rule
            .iter()
            .flat_map(|(rule, members)| members.iter().map(move |member| (member, *rule)))
    }

    /// Returns each matched member with its rule, sorted by member.
    pub fn to_sorted_vec(&self) -> Vec<(u32, RuleId)> {
        let mut all: Vec<(u32, RuleId)> = self.iter().collect();
        all.sort_unstable();
        all
    }
}

impl RuleIndex {
    fn matches<'l>(
        &self,
        listing: &'l Value,
        prepared: &mut HashMap<&'l str, Prepared<'l>>,
    ) -> Option<RoaringBitmap> {
        for clause in &self.constant_clauses {
            let Operand::Constant(operand) = &clause.operand else {
                continue;
            };
            let value = listing
                .get(&clause.listing_field)
                .filter(|v| !v.is_null())?;
            if !clause_holds(clause.operator, operand, value) {
                return None;
            }
        }

        let mut candidates: Vec<Candidates<'_>> = Vec::with_capacity(self.clauses.len() + 1);
        for clause in &self.clauses {
            let (field, value) = listing.as_object()?.get_key_value(&clause.listing_field)?;
            if value.is_null() {
                return None;
            }
            let prepared = prepared
                .entry(field.as_str())
                .or_insert_with(|| Prepared { value, text: None });
            let first_new = candidates.len();
            clause.candidates(prepared, &mut candidates);
            if candidates[first_new..].iter().any(Candidates::is_empty) {
                return None;
            }
        }
        if candidates.is_empty() {
            candidates.push(Candidates::exact(Cow::Borrowed(&self.eligible)));
        }
        candidates.sort_by_key(Candidates::size_bound);
        let mut survivors = candidates.swap_remove(0).into_bitmap();
        for clause_candidates in &candidates {
            survivors = clause_candidates.restrict(&survivors);
            if survivors.is_empty() {
                return None;
            }
        }

        // The listing's side of each superset clause is read once, so that checking a member
        // is a few array reads and comparisons.
        let checks: Vec<Check<'_>> = self
            .clauses
            .iter()
            .filter_map(|clause| clause.check(listing))
            .collect();
        if checks.is_empty() {
            return Some(survivors);
        }
        let verified = survivors
            .iter()
            .filter(|member| checks.iter().all(|check| check.passes(*member)));
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
            Operator::WithinDistance => Accumulator::Circles {
                cells: HashMap::new(),
                circles: HashMap::new(),
            },
        }
    }

    /// Files one member's value. A value of the wrong kind for the operator is skipped, so that
    /// member never matches the clause, as in plain evaluation.
    fn add(&mut self, member: u32, value: &ProfileValue) {
        match (self, value) {
            (
                Accumulator::Terms(postings) | Accumulator::Keywords(postings),
                ProfileValue::Set(terms),
            ) => {
                for term in terms {
                    postings.entry(term.clone()).or_default().insert(member);
                }
            }
            (Accumulator::Threshold(entries), ProfileValue::Number(number)) => {
                entries.push((*number, member))
            }
            (Accumulator::Threshold(entries), ProfileValue::Date(date)) => {
                entries.push((day_number(*date), member))
            }
            (
                Accumulator::Range {
                    lower,
                    upper,
                    no_lower,
                    no_upper,
                },
                value,
            ) => {
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
            (
                Accumulator::Circles { cells, circles },
                ProfileValue::Circle {
                    lat,
                    lon,
                    radius_km,
                },
            ) => {
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

    fn finish(self, operator: Operator) -> IndexKind {
        match self {
            Accumulator::Terms(postings) => IndexKind::Terms { postings },
            Accumulator::Keywords(by_keyword) => {
                let (keywords, postings): (Vec<String>, Vec<RoaringBitmap>) =
                    by_keyword.into_iter().unzip();
                // The aho-corasick crate fails a build only when the patterns exceed its size limits.
                let automaton = AhoCorasick::new(&keywords).ok();
                IndexKind::Keywords {
                    automaton,
                    keywords,
                    postings,
                }
            }
            // `AtMost` and `OnOrBefore` ask for members whose limit is at least the listing's
            // value; `AtLeast` and `OnOrAfter` for members whose limit is at most it.
            Accumulator::Threshold(entries) => {
                let side = match operator {
                    Operator::AtMost | Operator::OnOrBefore => Side::AtLeast,
                    _ => Side::AtMost,
                };
                IndexKind::Threshold(Thresholds::build(entries, side))
            }
            // Overlap: the member's lower bound is at most the listing's high end, and the upper
            // bound at least its low end.
            Accumulator::Range {
                lower,
                upper,
                no_lower,
                no_upper,
            } => IndexKind::Range {
                lower: Thresholds::build(lower, Side::AtMost),
                upper: Thresholds::build(upper, Side::AtLeast),
                no_lower,
                no_upper,
            },
            Accumulator::Circles { cells, circles } => IndexKind::Circles { cells, circles },
        }
    }
}

impl ClauseIndex {
    /// The members that can satisfy this clause for the listing value: exact except for
    /// circles, whose grid cell is a superset that [`ClauseIndex::check`] trims.
    fn candidates<'i>(&'i self, prepared: &mut Prepared<'_>, out: &mut Vec<Candidates<'i>>) {
        let value = prepared.value;
        let empty = || Cow::Owned(RoaringBitmap::new());
        let bitmap = match (&self.kind, self.operator) {
            (IndexKind::Terms { postings }, Operator::InSet) => union(
                listing_terms(value)
                    .iter()
                    .filter_map(|term| postings.get(term))
                    .collect(),
            ),
            (IndexKind::Terms { postings }, _) => {
                let terms = listing_terms(value);
                if terms.is_empty() {
                    empty()
                } else {
                    let everyone = union(postings.values().collect()).into_owned();
                    Cow::Owned(
                        everyone
                            - union(terms.iter().filter_map(|term| postings.get(term)).collect())
                                .as_ref(),
                    )
                }
            }
            (
                IndexKind::Keywords {
                    automaton,
                    keywords,
                    postings,
                },
                _,
            ) => {
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
                let key = match operator {
                    // Some unit of the listing costs at most the member's limit: compare its
                    // cheapest unit. "At least" compares its largest unit.
                    Operator::AtMost => {
                        ListingAmount::from_value(value).and_then(ListingAmount::lowest_known)
                    }
                    Operator::AtLeast => {
                        ListingAmount::from_value(value).and_then(ListingAmount::highest_known)
                    }
                    _ => date_key(value),
                };
                out.push(key.map_or_else(Candidates::none, |x| thresholds.query(x)));
                return;
            }
            (
                IndexKind::Range {
                    lower,
                    upper,
                    no_lower,
                    no_upper,
                },
                _,
            ) => {
                let bounds = ListingAmount::from_value(value)
                    .and_then(|a| a.lowest_known().zip(a.highest_known()));
                let Some((low, high)) = bounds else {
                    out.push(Candidates::none());
                    return;
                };
                out.push(lower.query(high).with(no_lower));
                out.push(upper.query(low).with(no_upper));
                return;
            }
            (IndexKind::Circles { cells, .. }, _) => listing_point(value)
                .and_then(|(lat, lon)| cells.get(&cell_of(lat, lon)))
                .map_or_else(empty, Cow::Borrowed),
        };
        out.push(Candidates::exact(bitmap));
    }

    /// The exact test of one member for circles, whose candidates are a superset; `None` for the
    /// other kinds, whose candidates are exact.
    fn check(&self, listing: &Value) -> Option<Check<'_>> {
        let value = listing.get(&self.listing_field)?;
        match &self.kind {
            IndexKind::Circles { circles, .. } => {
                Some(Check::Within(circles, listing_point(value)?))
            }
            _ => None,
        }
    }
}

/// The exact test of a member for a clause whose candidates are a superset, with the listing's
/// side already read.
enum Check<'a> {
    Within(&'a HashMap<u32, (f64, f64, f64)>, (f64, f64)),
}

impl Check<'_> {
    fn passes(&self, member: u32) -> bool {
        match self {
            Check::Within(circles, point) => {
                circles.get(&member).is_some_and(|(lat, lon, radius_km)| {
                    distance_km(*point, (*lat, *lon)) <= *radius_km
                })
            }
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

#[expect(
    clippy::cast_possible_truncation,
    reason = "cell indices of valid coordinates fit in i32"
)]
fn cell_of(lat: f64, lon: f64) -> (i32, i32) {
    (
        (lat / CELL_DEGREES).floor() as i32,
        (lon / CELL_DEGREES).floor() as i32,
    )
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
    use serde_json::json;

    use super::*;
    use crate::matching::evaluate;

    const WARDS: [&str; 6] = [
        "Shibuya Ku",
        "Shinjuku Ku",
        "Taito Ku",
        "Minato Ku",
        "Sumida Ku",
        "Toshima Ku",
    ];
    const ROOMS: [&str; 3] = ["Entire home/apt", "Private room", "Shared room"];
    const WORDS: [&str; 5] = ["駅近", "ペット可", "station", "ｽﾃｰｼｮﾝ", "新築"];

    fn clause(listing_field: &str, operator: Operator, profile_field: &str) -> Clause {
        Clause {
            listing_field: listing_field.into(),
            operator,
            operand: Operand::Profile(profile_field.into()),
        }
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
                        operand: Operand::Constant(ProfileValue::set([
                            "Entire home/apt",
                            "Private room",
                        ])),
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
        let budget_min = rng
            .random_bool(0.7)
            .then(|| f64::from(rng.random_range(1..=10)) * 5_000.0);
        let budget_max = rng
            .random_bool(0.7)
            .then(|| budget_min.unwrap_or(0.0) + f64::from(rng.random_range(0..=10)) * 5_000.0);
        let avoid = *WARDS.choose(rng).unwrap_or(&"Minato Ku");
        let (lat, lon) = (
            35.60 + rng.random_range(0.0..0.15),
            139.65 + rng.random_range(0.0..0.15),
        );
        let since = chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap()
            + chrono::Duration::days(rng.random_range(0..300));

        // Prices on a coarse grid, so that many members share a threshold across buckets.
        let mut candidates = vec![
            ("wards", ProfileValue::set(wards)),
            (
                "max_price",
                ProfileValue::Number(f64::from(rng.random_range(1..=20)) * 5_000.0),
            ),
            (
                "min_price",
                ProfileValue::Number(f64::from(rng.random_range(1..=20)) * 5_000.0),
            ),
            ("room_types", ProfileValue::set(rooms)),
            ("keywords", ProfileValue::set(words)),
            ("avoid", ProfileValue::set([avoid])),
            (
                "area",
                ProfileValue::Circle {
                    lat,
                    lon,
                    radius_km: rng.random_range(0.5..6.0),
                },
            ),
            ("since", ProfileValue::Date(since)),
        ];
        if budget_min.is_some() || budget_max.is_some() {
            candidates.push((
                "budget",
                ProfileValue::Range {
                    min: budget_min,
                    max: budget_max,
                },
            ));
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
        let (lat, lon) = (
            35.60 + rng.random_range(0.0..0.15),
            139.65 + rng.random_range(0.0..0.15),
        );
        let reviewed = chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap()
            + chrono::Duration::days(rng.random_range(0..300));
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
            let field = ["ward", "price", "name", "location", "reviewed"]
                .choose(rng)
                .unwrap();
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
                    rules
                        .iter()
                        .find(|rule| evaluate(rule, profile, &listing))
                        .map(|rule| (member as u32, rule.id))
                })
                .collect();
            total += expected.len();
            assert_eq!(
                matcher.matches(&listing).to_sorted_vec(),
                expected,
                "listing {listing}"
            );
        }
        assert!(
            total > 1_000,
            "the random data should produce many matches, got {total}"
        );
    }

    #[test]
    fn thresholds_are_exact_across_bucket_and_block_boundaries() {
        // Ties across boundaries: values 0..=99 repeated in blocks of 37, over 10,000 members.
        let value_of = |member: u32| f64::from((member / 37) % 100);
        let entries: Vec<(f64, u32)> = (0..10_000)
            .map(|member| (value_of(member), member))
            .collect();
        let at_least = Thresholds::build(entries.clone(), Side::AtLeast);
        let at_most = Thresholds::build(entries, Side::AtMost);
        for x in [-1.0, 0.0, 0.5, 1.0, 17.0, 42.5, 63.0, 98.0, 99.0, 100.0] {
            let expected_at_least: RoaringBitmap =
                (0..10_000u32).filter(|m| value_of(*m) >= x).collect();
            assert_eq!(
                at_least.query(x).into_bitmap(),
                expected_at_least,
                "at least {x}"
            );
            let everyone: RoaringBitmap = (0..10_000u32).collect();
            assert_eq!(
                at_least.query(x).restrict(&everyone),
                expected_at_least,
                "at least {x}, restricted"
            );
            let expected_at_most: RoaringBitmap =
                (0..10_000u32).filter(|m| value_of(*m) <= x).collect();
            assert_eq!(
                at_most.query(x).into_bitmap(),
                expected_at_most,
                "at most {x}"
            );
        }
    }

    #[test]
    fn listing_matched_by_several_rules_is_reported_once_per_member() {
        let rule = |id| Rule {
            id,
            clauses: vec![clause("ward", Operator::InSet, "wards")],
        };
        let profiles = vec![MemberProfile::from([(
            "wards".to_owned(),
            ProfileValue::set(["Shibuya Ku"]),
        )])];
        let matcher = Matcher::build(&[rule(7), rule(8)], &profiles);
        assert_eq!(
            matcher
                .matches(&json!({"ward": "shibuya ku"}))
                .to_sorted_vec(),
            vec![(0, 7)]
        );
    }
}
