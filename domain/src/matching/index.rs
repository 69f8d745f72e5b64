//! The member index of one tenant.
//!
//! Each rule splits its members into parts by one of its `InSet` clauses (the one whose values
//! split the members most finely, such as wards): the part of a value contains the members who
//! accept that value. A listing only reaches the parts of its own values, so it never touches
//! the members of other wards. Inside a part, members are renumbered densely in member order,
//! and every other clause is indexed over those local numbers:
//! - sets, tags and keywords: a set of members per folded value (keywords found in the listing
//!   text with one Aho-Corasick pass);
//! - numbers, ranges and dates: members sorted by their threshold, with a precomputed set for
//!   each bucket boundary of that order (see [`Thresholds`]);
//! - distances: members filed under every grid cell their circle touches.
//!
//! A query ANDs the sets of all clauses word by word into one bitset of the part, clears the
//! few members that a threshold set contains beyond the listing's value, and reads the remaining
//! bits as members. Only distances are checked member by member, because a grid cell is a
//! superset of the circles that contain the listing's point. A rule without a profile `InSet`
//! clause has one part with all its members.
//!
//! NOTE: such a rule ANDs bitsets over all its members (64 to a word) for every listing, so
//! its query time grows with the member count even when it matches few members.

use std::collections::HashMap;

use aho_corasick::AhoCorasick;
use serde_json::Value;

use super::{
    evaluate::{clause_holds, date_key, listing_text},
    model::{
        Clause, ListingAmount, MemberProfile, Operand, Operator, ProfileValue, Rule, RuleId,
        day_number, distance_km, listing_point, listing_terms,
    },
};

/// Buckets per threshold index. A query clears at most one bucket of members bit by bit, and
/// each bucket costs one set of the part's size, so more buckets make queries faster and the
/// index larger.
const BUCKETS: usize = 64;
/// The smallest bucket, so that small parts do not keep a set per handful of members.
const MIN_BUCKET_SIZE: usize = 64;
/// Grid cell size for distance clauses, in degrees (about 5.5 km north to south).
const CELL_DEGREES: f64 = 0.05;
/// The maximum number of grid cells a circle is filed under (a radius of about 75 km at
/// Tokyo's latitude); a larger
/// or infinite radius would make the grid cost more than checking the circle for every
/// listing.
const MAX_CELLS_PER_CIRCLE: i64 = 1_024;

/// The index of one tenant's members under its rules.
pub struct Matcher {
    rules: Vec<RuleIndex>,
}

struct RuleIndex {
    id: RuleId,
    /// Clauses against constants: the same outcome for every member.
    constant_clauses: Vec<Clause>,
    /// The profile clauses indexed inside each part, in the order of [`Part::clauses`].
    clauses: Vec<ClauseSpec>,
    parts: Parts,
}

/// The listing side of one clause, shared by all parts of the rule.
struct ClauseSpec {
    listing_field: String,
    operator: Operator,
    /// Term numbers of folded set values, for `InSet`, `NotInSet` and `ContainsKeyword`.
    terms: HashMap<String, u32>,
    /// `ContainsKeyword` only: the keywords in term-number order. `automaton` is `None` only if
    /// building it failed, and the keywords are then searched one by one.
    keywords: Vec<String>,
    automaton: Option<AhoCorasick>,
}

enum Parts {
    /// One part per value of the `InSet` clause on `listing_field`, with the members who
    /// accept that value.
    ByValue {
        listing_field: String,
        parts: HashMap<String, Part>,
    },
    /// Every member the rule applies to, in one part.
    Single(Part),
}

/// Members of one part, numbered locally from 0 in member order.
struct Part {
    members: MemberNumbers,
    clauses: Vec<PartIndex>,
}

/// The member number of each local number, ascending. Where every 64 consecutive local
/// numbers span fewer than 65,536 member numbers, each is stored as a 16-bit offset from the
/// first of its 64, which halves the memory a query reads to turn matches into members.
enum MemberNumbers {
    Offsets {
        bases: Box<[u32]>,
        offsets: Box<[u16]>,
    },
    Full(Box<[u32]>),
}

impl MemberNumbers {
    fn new(members: Vec<u32>) -> Self {
        let bases: Vec<u32> = members.iter().step_by(64).copied().collect();
        let offsets: Option<Vec<u16>> = members
            .iter()
            .enumerate()
            .map(|(local, member)| u16::try_from(member - bases[local / 64]).ok())
            .collect();
        match offsets {
            Some(offsets) => MemberNumbers::Offsets {
                bases: bases.into(),
                offsets: offsets.into(),
            },
            None => MemberNumbers::Full(members.into()),
        }
    }

    fn len(&self) -> usize {
        match self {
            MemberNumbers::Offsets { offsets, .. } => offsets.len(),
            MemberNumbers::Full(members) => members.len(),
        }
    }

    /// Replaces each local number in `numbers` by its member number.
    fn translate(&self, numbers: &mut [u32]) {
        match self {
            MemberNumbers::Offsets { bases, offsets } => {
                for number in numbers {
                    let local = *number as usize;
                    *number = bases[local / 64] + u32::from(offsets[local]);
                }
            }
            MemberNumbers::Full(members) => {
                for number in numbers {
                    *number = members[*number as usize];
                }
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            MemberNumbers::Offsets { bases, offsets } => bases.len() * 4 + offsets.len() * 2,
            MemberNumbers::Full(members) => members.len() * 4,
        }
    }
}

enum PartIndex {
    /// `InSet`, `NotInSet` and `ContainsKeyword`: the members of each term number, and (for
    /// `NotInSet` only) every member who gave a set.
    Terms {
        postings: HashMap<u32, LocalSet>,
        with_set: LocalSet,
    },
    /// `AtMost`, `AtLeast` and dates: one threshold per member.
    Threshold(Thresholds),
    /// `Overlaps`: the member's lower and upper bound. A missing bound is infinite.
    Range {
        lower: Thresholds,
        upper: Thresholds,
    },
    Circles {
        cells: HashMap<(i32, i32), LocalSet>,
        /// Members whose circle touches more than [`MAX_CELLS_PER_CIRCLE`] cells, checked for
        /// every listing.
        wide: LocalSet,
        /// The circle of each local number; NaN for a member without one, who never passes.
        circles: Box<[Circle]>,
    },
}

/// Latitude and longitude in degrees, and a radius in kilometres.
type Circle = (f64, f64, f64);

/// A set of local numbers: a bitset when at least one number in 32 is present, else a sorted
/// list, whichever takes less memory.
enum LocalSet {
    Dense(Box<[u64]>),
    Sparse(Box<[u32]>),
}

impl LocalSet {
    /// `locals` ascending and below `universe`.
    fn from_sorted(locals: Vec<u32>, universe: usize) -> Self {
        if locals.len() * 32 < universe {
            return LocalSet::Sparse(locals.into());
        }
        let mut words = vec![0u64; universe.div_ceil(64)];
        for local in locals {
            set_bit(&mut words, local);
        }
        LocalSet::Dense(words.into())
    }

    fn from_words(words: &[u64]) -> Self {
        let count: u32 = words.iter().map(|word| word.count_ones()).sum();
        if (count as usize) * 32 < words.len() * 64 {
            LocalSet::Sparse(ones(words).collect())
        } else {
            LocalSet::Dense(words.into())
        }
    }

    /// A dense set is never empty, because it contains at least one number in 32.
    fn is_empty(&self) -> bool {
        matches!(self, LocalSet::Sparse(locals) if locals.is_empty())
    }

    fn or_into(&self, words: &mut [u64]) {
        match self {
            LocalSet::Dense(set) => {
                for (word, set) in words.iter_mut().zip(set.iter()) {
                    *word |= set;
                }
            }
            LocalSet::Sparse(locals) => {
                for local in locals.iter() {
                    set_bit(words, *local);
                }
            }
        }
    }

    /// Keeps in `words` only the numbers of this set. `spare` is scratch space.
    fn and_into(&self, words: &mut [u64], spare: &mut Vec<u64>) {
        match self {
            LocalSet::Dense(set) => {
                for (word, set) in words.iter_mut().zip(set.iter()) {
                    *word &= set;
                }
            }
            LocalSet::Sparse(locals) => {
                spare.clear();
                spare.resize(words.len(), 0);
                for local in locals.iter() {
                    let (index, bit) = word_and_bit(*local);
                    spare[index] |= words[index] & bit;
                }
                words.copy_from_slice(spare);
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            LocalSet::Dense(words) => words.len() * 8,
            LocalSet::Sparse(locals) => locals.len() * 4,
        }
    }

    #[cfg(test)]
    fn to_vec(&self) -> Vec<u32> {
        match self {
            LocalSet::Dense(words) => ones(words).collect(),
            LocalSet::Sparse(locals) => locals.to_vec(),
        }
    }
}

fn word_and_bit(local: u32) -> (usize, u64) {
    ((local / 64) as usize, 1 << (local % 64))
}

fn set_bit(words: &mut [u64], local: u32) {
    let (index, bit) = word_and_bit(local);
    words[index] |= bit;
}

fn clear_bit(words: &mut [u64], local: u32) {
    let (index, bit) = word_and_bit(local);
    words[index] &= !bit;
}

/// Returns the numbers whose bits are set, ascending.
fn ones(words: &[u64]) -> impl Iterator<Item = u32> + '_ {
    words.iter().enumerate().flat_map(|(index, word)| {
        let mut bits = *word;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let bit = bits.trailing_zeros();
            bits &= bits - 1;
            #[expect(
                clippy::cast_possible_truncation,
                reason = "local numbers fit in u32, so their word indexes do too"
            )]
            Some(index as u32 * 64 + bit)
        })
    })
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
/// The sorted order is cut into buckets. For each bucket, `supersets` contains the members from
/// that bucket to the end of the order on the query's side (`AtLeast`: the bucket and all
/// later ones; `AtMost`: the bucket and all earlier ones). A query returns the set of the
/// bucket where x falls and the members of that bucket on the wrong side of x, read from the
/// sorted order, which the caller clears. Members whose value is NaN are left out, because no
/// comparison with NaN holds.
struct Thresholds {
    side: Side,
    sorted: Box<[f64]>,
    /// Local numbers in the order of `sorted`.
    members: Box<[u32]>,
    bucket_size: usize,
    /// The first value of each bucket, so that a search reads one bucket of `sorted`.
    bucket_starts: Box<[f64]>,
    supersets: Vec<LocalSet>,
}

impl Thresholds {
    fn build(mut entries: Vec<(f64, u32)>, side: Side, universe: usize) -> Self {
        entries.retain(|(value, _)| !value.is_nan());
        entries.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (sorted, members): (Vec<f64>, Vec<u32>) = entries.into_iter().unzip();
        let count = sorted.len();
        let bucket_size = count.div_ceil(BUCKETS).max(MIN_BUCKET_SIZE);
        let buckets: Vec<&[u32]> = members.chunks(bucket_size).collect();

        // Each set grows from the previous one by one bucket, walking away from the query side.
        let mut words = vec![0u64; universe.div_ceil(64)];
        let mut supersets = Vec::with_capacity(buckets.len());
        let mut add_bucket = |bucket: &[u32]| {
            for local in bucket {
                set_bit(&mut words, *local);
            }
            supersets.push(LocalSet::from_words(&words));
        };
        match side {
            Side::AtLeast => {
                buckets.iter().rev().for_each(|bucket| add_bucket(bucket));
                supersets.reverse();
            }
            Side::AtMost => buckets.iter().for_each(|bucket| add_bucket(bucket)),
        }
        Self {
            side,
            bucket_starts: sorted.iter().step_by(bucket_size).copied().collect(),
            sorted: sorted.into(),
            members: members.into(),
            bucket_size,
            supersets,
        }
    }

    /// Returns the first position in `sorted` where `below` is false; `below` must hold for
    /// a prefix of `sorted` only.
    fn partition_point(&self, below: impl Fn(&f64) -> bool) -> usize {
        let later = self.bucket_starts.partition_point(&below);
        if later == 0 {
            return 0;
        }
        let start = (later - 1) * self.bucket_size;
        let end = (later * self.bucket_size).min(self.sorted.len());
        start + self.sorted[start..end].partition_point(below)
    }

    /// Returns a superset of the members on this index's side of `value` and the members of
    /// that superset that are on the wrong side, or `None` when no member is on the right side.
    fn query(&self, value: f64) -> Option<(&LocalSet, &[u32])> {
        if value.is_nan() {
            return None;
        }
        match self.side {
            Side::AtLeast => {
                let first = self.partition_point(|t| *t < value);
                if first == self.sorted.len() {
                    return None;
                }
                let bucket = first / self.bucket_size;
                let bucket_start = bucket * self.bucket_size;
                Some((&self.supersets[bucket], &self.members[bucket_start..first]))
            }
            Side::AtMost => {
                let end = self.partition_point(|t| *t <= value);
                if end == 0 {
                    return None;
                }
                let bucket = (end - 1) / self.bucket_size;
                let bucket_end = ((bucket + 1) * self.bucket_size).min(self.sorted.len());
                Some((&self.supersets[bucket], &self.members[end..bucket_end]))
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.sorted.len() * 12
            + self
                .supersets
                .iter()
                .map(LocalSet::heap_bytes)
                .sum::<usize>()
    }
}

/// Builds a [`Matcher`] one member at a time, so that profiles need not all be in memory.
pub struct MatcherBuilder {
    rules: Vec<RuleBuilder>,
    member_count: u32,
}

struct RuleBuilder {
    id: RuleId,
    constant_clauses: Vec<Clause>,
    /// Profile clauses with their profile field, in rule order.
    clauses: Vec<(Clause, String)>,
    /// Members who filled in every profile field the rule uses, ascending.
    eligible: Vec<u32>,
    /// One column per profile clause, with one entry per eligible member.
    columns: Vec<Column>,
}

/// The values of one profile clause for the eligible members, in a compact form. A value of
/// the wrong kind for the operator is stored so that the member never matches the clause, as
/// in plain evaluation.
enum Column {
    /// `InSet`, `NotInSet` and `ContainsKeyword`: term numbers per member.
    Terms {
        term_numbers: HashMap<String, u32>,
        /// Member `i` has the terms `terms[ends[i - 1]..ends[i]]`.
        ends: Vec<usize>,
        terms: Vec<u32>,
        /// Whether the member gave a set at all (an empty set still passes `NotInSet`).
        is_set: Vec<bool>,
    },
    /// `AtMost`, `AtLeast` and dates (as day numbers); NaN for a value of the wrong kind.
    Numbers(Vec<f64>),
    /// `Overlaps`: lower and upper bound, infinite where missing; NaN for the wrong kind.
    Ranges(Vec<(f64, f64)>),
    /// `WithinDistance`: latitude, longitude and radius; NaN for the wrong kind.
    Circles(Vec<Circle>),
}

impl MatcherBuilder {
    pub fn new(rules: &[Rule]) -> Self {
        let rules = rules
            .iter()
            .map(|rule| {
                let mut builder = RuleBuilder {
                    id: rule.id,
                    constant_clauses: Vec::new(),
                    clauses: Vec::new(),
                    eligible: Vec::new(),
                    columns: Vec::new(),
                };
                for clause in &rule.clauses {
                    match &clause.operand {
                        Operand::Constant(_) => builder.constant_clauses.push(clause.clone()),
                        Operand::Profile(field) => {
                            builder.clauses.push((clause.clone(), field.clone()));
                            builder.columns.push(Column::new(clause.operator));
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
            let values: Option<Vec<&ProfileValue>> = rule
                .clauses
                .iter()
                .map(|(_, field)| profile.get(field))
                .collect();
            let Some(values) = values else {
                continue;
            };
            rule.eligible.push(member);
            for (((clause, _), column), value) in
                rule.clauses.iter().zip(&mut rule.columns).zip(values)
            {
                column.push(clause.operator, value);
            }
        }
        member
    }

    pub fn finish(self) -> Matcher {
        Matcher {
            rules: self.rules.into_iter().map(RuleBuilder::finish).collect(),
        }
    }
}

impl Column {
    fn new(operator: Operator) -> Self {
        match operator {
            Operator::InSet | Operator::NotInSet | Operator::ContainsKeyword => Column::Terms {
                term_numbers: HashMap::new(),
                ends: Vec::new(),
                terms: Vec::new(),
                is_set: Vec::new(),
            },
            Operator::AtMost | Operator::AtLeast | Operator::OnOrAfter | Operator::OnOrBefore => {
                Column::Numbers(Vec::new())
            }
            Operator::Overlaps => Column::Ranges(Vec::new()),
            Operator::WithinDistance => Column::Circles(Vec::new()),
        }
    }

    fn push(&mut self, operator: Operator, value: &ProfileValue) {
        match self {
            Column::Terms {
                term_numbers,
                ends,
                terms,
                is_set,
            } => {
                is_set.push(matches!(value, ProfileValue::Set(_)));
                if let ProfileValue::Set(values) = value {
                    // A set built without `ProfileValue::set` may repeat a value, but a member
                    // must be in each posting, and in each part, once.
                    let mut own: Vec<u32> = values
                        .iter()
                        .map(|term| {
                            let next = u32::try_from(term_numbers.len()).unwrap_or(u32::MAX);
                            *term_numbers.entry(term.clone()).or_insert(next)
                        })
                        .collect();
                    own.sort_unstable();
                    own.dedup();
                    terms.extend(own);
                }
                ends.push(terms.len());
            }
            Column::Numbers(numbers) => numbers.push(match (operator, value) {
                (Operator::AtMost | Operator::AtLeast, ProfileValue::Number(number)) => *number,
                (Operator::OnOrAfter | Operator::OnOrBefore, ProfileValue::Date(date)) => {
                    day_number(*date)
                }
                _ => f64::NAN,
            }),
            Column::Ranges(ranges) => ranges.push(match value {
                ProfileValue::Range { min, max } => (
                    min.unwrap_or(f64::NEG_INFINITY),
                    max.unwrap_or(f64::INFINITY),
                ),
                ProfileValue::Number(number) => (*number, *number),
                _ => (f64::NAN, f64::NAN),
            }),
            Column::Circles(circles) => circles.push(match value {
                ProfileValue::Circle {
                    lat,
                    lon,
                    radius_km,
                } => (*lat, *lon, *radius_km),
                _ => (f64::NAN, f64::NAN, f64::NAN),
            }),
        }
    }

    /// Returns the term numbers of eligible member `position`.
    fn terms_of(&self, position: usize) -> &[u32] {
        match self {
            Column::Terms { ends, terms, .. } => {
                let start = if position == 0 { 0 } else { ends[position - 1] };
                &terms[start..ends[position]]
            }
            _ => &[],
        }
    }

    /// Returns the mean size of the part a listing value reaches if this column splits the members,
    /// weighting each term by its members: the sum of squared term counts over their sum.
    fn mean_part_size(&self) -> f64 {
        let Column::Terms {
            term_numbers,
            terms,
            ..
        } = self
        else {
            return f64::INFINITY;
        };
        let mut counts = vec![0u64; term_numbers.len()];
        for term in terms {
            counts[*term as usize] += 1;
        }
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        counts.iter().map(|c| (c * c) as f64).sum::<f64>() / total as f64
    }
}

impl RuleBuilder {
    fn finish(self) -> RuleIndex {
        // Split by the `InSet` clause whose values reach the smallest parts.
        let split = self
            .clauses
            .iter()
            .zip(&self.columns)
            .enumerate()
            .filter(|(_, ((clause, _), _))| clause.operator == Operator::InSet)
            .min_by(|a, b| a.1.1.mean_part_size().total_cmp(&b.1.1.mean_part_size()))
            .map(|(position, _)| position);

        let clauses: Vec<ClauseSpec> = self
            .clauses
            .iter()
            .zip(&self.columns)
            .enumerate()
            .filter(|(position, _)| Some(*position) != split)
            .map(|(_, ((clause, _), column))| ClauseSpec::new(clause, column))
            .collect();
        let columns: Vec<(Operator, &Column)> = self
            .clauses
            .iter()
            .zip(&self.columns)
            .enumerate()
            .filter(|(position, _)| Some(*position) != split)
            .map(|(_, ((clause, _), column))| (clause.operator, column))
            .collect();
        let build_part = |positions: &[usize]| Part::build(positions, &self.eligible, &columns);

        let parts = match split {
            None => {
                let positions: Vec<usize> = (0..self.eligible.len()).collect();
                Parts::Single(build_part(&positions))
            }
            Some(split) => {
                let column = &self.columns[split];
                let Column::Terms { term_numbers, .. } = column else {
                    unreachable!("an InSet clause has a terms column")
                };
                let mut positions_by_term: Vec<Vec<usize>> = vec![Vec::new(); term_numbers.len()];
                for position in 0..self.eligible.len() {
                    for term in column.terms_of(position) {
                        positions_by_term[*term as usize].push(position);
                    }
                }
                let parts = term_numbers
                    .iter()
                    .map(|(term, number)| {
                        (
                            term.clone(),
                            build_part(&positions_by_term[*number as usize]),
                        )
                    })
                    .collect();
                Parts::ByValue {
                    listing_field: self.clauses[split].0.listing_field.clone(),
                    parts,
                }
            }
        };
        RuleIndex {
            id: self.id,
            constant_clauses: self.constant_clauses,
            clauses,
            parts,
        }
    }
}

impl ClauseSpec {
    fn new(clause: &Clause, column: &Column) -> Self {
        let terms = match column {
            Column::Terms { term_numbers, .. } => term_numbers.clone(),
            _ => HashMap::new(),
        };
        let mut keywords = Vec::new();
        let mut automaton = None;
        if clause.operator == Operator::ContainsKeyword {
            keywords = vec![String::new(); terms.len()];
            for (keyword, number) in &terms {
                keywords[*number as usize] = keyword.clone();
            }
            // The aho-corasick crate fails a build only when the patterns exceed its size limits.
            automaton = AhoCorasick::new(&keywords).ok();
        }
        Self {
            listing_field: clause.listing_field.clone(),
            operator: clause.operator,
            terms,
            keywords,
            automaton,
        }
    }
}

impl Part {
    /// Indexes the eligible members at `positions` (ascending) under each column.
    fn build(positions: &[usize], eligible: &[u32], columns: &[(Operator, &Column)]) -> Self {
        let universe = positions.len();
        let locals = || {
            positions.iter().enumerate().map(|(local, position)| {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "a part has at most one entry per member, and member numbers are u32"
                )]
                (local as u32, *position)
            })
        };
        let clauses = columns
            .iter()
            .map(|(operator, column)| match column {
                Column::Terms { is_set, .. } => {
                    let mut postings: HashMap<u32, Vec<u32>> = HashMap::new();
                    let mut with_set = Vec::new();
                    for (local, position) in locals() {
                        if *operator == Operator::NotInSet && is_set[position] {
                            with_set.push(local);
                        }
                        for term in column.terms_of(position) {
                            postings.entry(*term).or_default().push(local);
                        }
                    }
                    PartIndex::Terms {
                        postings: postings
                            .into_iter()
                            .map(|(term, locals)| (term, LocalSet::from_sorted(locals, universe)))
                            .collect(),
                        with_set: LocalSet::from_sorted(with_set, universe),
                    }
                }
                Column::Numbers(numbers) => {
                    // "At most" and "on or before" select members whose limit is at least the
                    // listing's value; "at least" and "on or after" those whose limit is at most.
                    let side = match operator {
                        Operator::AtMost | Operator::OnOrBefore => Side::AtLeast,
                        _ => Side::AtMost,
                    };
                    PartIndex::Threshold(Thresholds::build(
                        locals().map(|(l, p)| (numbers[p], l)).collect(),
                        side,
                        universe,
                    ))
                }
                Column::Ranges(ranges) => {
                    // A member with a NaN side never matches, so it is left out of both.
                    let valid = || {
                        locals().filter(|(_, p)| !ranges[*p].0.is_nan() && !ranges[*p].1.is_nan())
                    };
                    PartIndex::Range {
                        lower: Thresholds::build(
                            valid().map(|(l, p)| (ranges[p].0, l)).collect(),
                            Side::AtMost,
                            universe,
                        ),
                        upper: Thresholds::build(
                            valid().map(|(l, p)| (ranges[p].1, l)).collect(),
                            Side::AtLeast,
                            universe,
                        ),
                    }
                }
                Column::Circles(circles) => {
                    let mut cells: HashMap<(i32, i32), Vec<u32>> = HashMap::new();
                    let mut wide = Vec::new();
                    for (local, position) in locals() {
                        let (lat, lon, radius_km) = circles[position];
                        if lat.is_nan() || lon.is_nan() || radius_km.is_nan() {
                            continue;
                        }
                        // The bounding box of the circle, slightly larger than the circle
                        // because a degree of latitude is about 111.2 km.
                        let lat_span = radius_km / 111.0;
                        let lon_span = radius_km / (111.0 * lat.to_radians().cos().max(0.01));
                        let (south, west) = cell_of(lat - lat_span, lon - lon_span);
                        let (north, east) = cell_of(lat + lat_span, lon + lon_span);
                        let rows = i64::from(north) - i64::from(south) + 1;
                        let columns = i64::from(east) - i64::from(west) + 1;
                        if rows.saturating_mul(columns) > MAX_CELLS_PER_CIRCLE {
                            wide.push(local);
                            continue;
                        }
                        for row in south..=north {
                            for column in west..=east {
                                cells.entry((row, column)).or_default().push(local);
                            }
                        }
                    }
                    PartIndex::Circles {
                        cells: cells
                            .into_iter()
                            .map(|(cell, locals)| (cell, LocalSet::from_sorted(locals, universe)))
                            .collect(),
                        wide: LocalSet::from_sorted(wide, universe),
                        circles: positions.iter().map(|p| circles[*p]).collect(),
                    }
                }
            })
            .collect();
        Self {
            members: MemberNumbers::new(positions.iter().map(|p| eligible[*p]).collect()),
            clauses,
        }
    }
}

impl Part {
    /// Appends the members of this part that match every clause, ascending.
    fn matches(&self, keys: &[ListingKey], scratch: &mut Scratch, out: &mut Vec<u32>) {
        let Scratch {
            words,
            spare,
            union,
        } = scratch;
        let count = self.members.len();
        words.clear();
        words.resize(count.div_ceil(64), u64::MAX);
        if !count.is_multiple_of(64)
            && let Some(last) = words.last_mut()
        {
            *last = (1 << (count % 64)) - 1;
        }

        // Threshold sets are supersets: their extra members are cleared after every AND,
        // because (A − a) ∩ (B − b) = (A ∩ B) − a − b.
        let mut wrong_side: Vec<&[u32]> = Vec::new();
        let mut circle_checks: Vec<(&[Circle], (f64, f64))> = Vec::new();
        for (index, key) in self.clauses.iter().zip(keys) {
            match (index, key) {
                (PartIndex::Terms { postings, .. }, ListingKey::AnyTerm(terms)) => {
                    let sets: Vec<&LocalSet> =
                        terms.iter().filter_map(|term| postings.get(term)).collect();
                    if !and_any(words, &sets, spare, union) {
                        return;
                    }
                }
                (PartIndex::Terms { postings, with_set }, ListingKey::NoTerm(terms)) => {
                    with_set.and_into(words, spare);
                    for set in terms.iter().filter_map(|term| postings.get(term)) {
                        and_not(words, set);
                    }
                }
                (PartIndex::Threshold(thresholds), ListingKey::Number(value)) => {
                    let Some((superset, wrong)) = thresholds.query(*value) else {
                        return;
                    };
                    superset.and_into(words, spare);
                    wrong_side.push(wrong);
                }
                (PartIndex::Range { lower, upper }, ListingKey::Bounds { low, high }) => {
                    // Overlap: the member's lower bound is at most the listing's high end, and
                    // the upper bound at least its low end.
                    let (Some((below, wrong_below)), Some((above, wrong_above))) =
                        (lower.query(*high), upper.query(*low))
                    else {
                        return;
                    };
                    below.and_into(words, spare);
                    above.and_into(words, spare);
                    wrong_side.push(wrong_below);
                    wrong_side.push(wrong_above);
                }
                (
                    PartIndex::Circles {
                        cells,
                        wide,
                        circles,
                    },
                    ListingKey::Point(lat, lon),
                ) => {
                    let sets: Vec<&LocalSet> = [cells.get(&cell_of(*lat, *lon)), Some(wide)]
                        .into_iter()
                        .flatten()
                        .filter(|set| !set.is_empty())
                        .collect();
                    if !and_any(words, &sets, spare, union) {
                        return;
                    }
                    circle_checks.push((circles, (*lat, *lon)));
                }
                // The key is read for the clause's operator, so it always fits the index.
                _ => return,
            }
        }
        for local in wrong_side.into_iter().flatten() {
            clear_bit(words, *local);
        }

        // Local numbers first, then member numbers in a second pass: the member lookups are
        // then independent loads that the CPU overlaps, which matters when the part's member
        // numbers are not in cache.
        let first = out.len();
        let count: u32 = words.iter().map(|word| word.count_ones()).sum();
        out.reserve(count as usize);
        for (index, word) in words.iter().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "local numbers fit in u32, so their word indexes do too"
                )]
                let local = index as u32 * 64 + bits.trailing_zeros();
                bits &= bits - 1;
                let within = circle_checks.iter().all(|(circles, point)| {
                    let (lat, lon, radius_km) = circles[local as usize];
                    distance_km(*point, (lat, lon)) <= radius_km
                });
                if within {
                    out.push(local);
                }
            }
        }
        self.members.translate(&mut out[first..]);
    }

    fn heap_bytes(&self) -> usize {
        let clauses: usize = self
            .clauses
            .iter()
            .map(|index| match index {
                PartIndex::Terms { postings, with_set } => {
                    with_set.heap_bytes()
                        + postings
                            .values()
                            .map(|set| set.heap_bytes() + 24)
                            .sum::<usize>()
                }
                PartIndex::Threshold(thresholds) => thresholds.heap_bytes(),
                PartIndex::Range { lower, upper } => lower.heap_bytes() + upper.heap_bytes(),
                PartIndex::Circles {
                    cells,
                    wide,
                    circles,
                } => {
                    circles.len() * 24
                        + wide.heap_bytes()
                        + cells
                            .values()
                            .map(|set| set.heap_bytes() + 32)
                            .sum::<usize>()
                }
            })
            .sum();
        self.members.heap_bytes() + clauses
    }
}

/// Keeps in `words` the numbers in any of `sets`; returns `false` when `sets` is empty, so
/// that nothing can match.
fn and_any(
    words: &mut [u64],
    sets: &[&LocalSet],
    spare: &mut Vec<u64>,
    union: &mut Vec<u64>,
) -> bool {
    match sets {
        [] => false,
        [only] => {
            only.and_into(words, spare);
            true
        }
        _ => {
            union.clear();
            union.resize(words.len(), 0);
            for set in sets {
                set.or_into(union);
            }
            for (word, any) in words.iter_mut().zip(union.iter()) {
                *word &= any;
            }
            true
        }
    }
}

/// Removes the numbers of `set` from `words`.
fn and_not(words: &mut [u64], set: &LocalSet) {
    match set {
        LocalSet::Dense(set) => {
            for (word, set) in words.iter_mut().zip(set.iter()) {
                *word &= !set;
            }
        }
        LocalSet::Sparse(locals) => {
            for local in locals.iter() {
                clear_bit(words, *local);
            }
        }
    }
}

/// Bitsets reused by the parts of one query, so that each part does not allocate its own.
#[derive(Default)]
struct Scratch {
    words: Vec<u64>,
    spare: Vec<u64>,
    union: Vec<u64>,
}

/// The listing's side of one clause, read once per rule for all its parts.
enum ListingKey {
    /// `InSet` and `ContainsKeyword`: the term numbers of the listing's values or of the
    /// keywords found in its text. Never empty.
    AnyTerm(Vec<u32>),
    /// `NotInSet`: the term numbers of the listing's values that some member rejects.
    NoTerm(Vec<u32>),
    Number(f64),
    Bounds {
        low: f64,
        high: f64,
    },
    Point(f64, f64),
}

impl ClauseSpec {
    /// Reads the listing's side of the clause, or `None` when the clause cannot hold for any
    /// member: the value is missing or of the wrong kind, or no member accepts it.
    fn listing_key(&self, listing: &Value) -> Option<ListingKey> {
        let value = listing_value(listing, &self.listing_field)?;
        let known_terms = |terms: Vec<String>| -> Vec<u32> {
            let mut numbers: Vec<u32> = terms
                .iter()
                .filter_map(|term| self.terms.get(term).copied())
                .collect();
            numbers.sort_unstable();
            numbers.dedup();
            numbers
        };
        let key = match self.operator {
            Operator::InSet => {
                let numbers = known_terms(listing_terms(value));
                if numbers.is_empty() {
                    return None;
                }
                ListingKey::AnyTerm(numbers)
            }
            Operator::NotInSet => {
                let terms = listing_terms(value);
                if terms.is_empty() {
                    return None;
                }
                ListingKey::NoTerm(known_terms(terms))
            }
            Operator::ContainsKeyword => {
                let text = listing_text(value);
                let mut found: Vec<u32> = match &self.automaton {
                    Some(automaton) => automaton
                        .find_overlapping_iter(text.as_str())
                        .filter_map(|found| u32::try_from(found.pattern().as_usize()).ok())
                        .collect(),
                    None => (0..)
                        .zip(&self.keywords)
                        .filter(|(_, keyword)| text.contains(keyword.as_str()))
                        .map(|(number, _)| number)
                        .collect(),
                };
                found.sort_unstable();
                found.dedup();
                if found.is_empty() {
                    return None;
                }
                ListingKey::AnyTerm(found)
            }
            // Some unit of the listing costs at most the member's limit: compare its cheapest
            // unit. "At least" compares its largest unit.
            Operator::AtMost => ListingKey::Number(
                ListingAmount::from_value(value).and_then(ListingAmount::lowest_known)?,
            ),
            Operator::AtLeast => ListingKey::Number(
                ListingAmount::from_value(value).and_then(ListingAmount::highest_known)?,
            ),
            Operator::OnOrAfter | Operator::OnOrBefore => ListingKey::Number(date_key(value)?),
            Operator::Overlaps => {
                let amount = ListingAmount::from_value(value)?;
                ListingKey::Bounds {
                    low: amount.lowest_known()?,
                    high: amount.highest_known()?,
                }
            }
            Operator::WithinDistance => {
                let (lat, lon) = listing_point(value)?;
                ListingKey::Point(lat, lon)
            }
        };
        Some(key)
    }
}

/// The listing's value of a field; a missing or null value never satisfies a clause.
fn listing_value<'l>(listing: &'l Value, field: &str) -> Option<&'l Value> {
    listing.get(field).filter(|value| !value.is_null())
}

impl RuleIndex {
    /// The members the listing matches under this rule, ascending.
    fn matches(&self, listing: &Value, scratch: &mut Scratch) -> Vec<u32> {
        let mut found = Vec::new();
        for clause in &self.constant_clauses {
            let Operand::Constant(operand) = &clause.operand else {
                continue;
            };
            let holds = listing_value(listing, &clause.listing_field)
                .is_some_and(|value| clause_holds(clause.operator, operand, value));
            if !holds {
                return found;
            }
        }
        // The parts come first, so that a listing outside every part skips reading the other
        // clauses (folding its text, for one).
        let reached: Vec<&Part> = match &self.parts {
            Parts::Single(part) => vec![part],
            Parts::ByValue {
                listing_field,
                parts,
            } => {
                let Some(value) = listing_value(listing, listing_field) else {
                    return found;
                };
                let mut terms = listing_terms(value);
                terms.sort_unstable();
                terms.dedup();
                terms.iter().filter_map(|term| parts.get(term)).collect()
            }
        };
        if reached.is_empty() {
            return found;
        }
        let keys: Option<Vec<ListingKey>> = self
            .clauses
            .iter()
            .map(|clause| clause.listing_key(listing))
            .collect();
        let Some(keys) = keys else {
            return found;
        };
        for part in &reached {
            part.matches(&keys, scratch, &mut found);
        }
        // A member who accepts several of the listing's values is in several parts.
        if reached.len() > 1 {
            found.sort_unstable();
            found.dedup();
        }
        found
    }

    fn heap_bytes(&self) -> usize {
        match &self.parts {
            Parts::Single(part) => part.heap_bytes(),
            Parts::ByValue { parts, .. } => parts
                .iter()
                .map(|(term, part)| term.len() + part.heap_bytes())
                .sum(),
        }
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
        let mut scratch = Scratch::default();
        let mut per_rule: Vec<(RuleId, Vec<u32>)> = Vec::new();
        // The members of `per_rule`, ascending, once it has more than one rule.
        let mut seen: Vec<u32> = Vec::new();
        for rule in &self.rules {
            let found = rule.matches(listing, &mut scratch);
            let new = match per_rule.as_slice() {
                [] => found,
                [(_, only)] => difference(&found, only),
                _ => difference(&found, &seen),
            };
            if new.is_empty() {
                continue;
            }
            match per_rule.as_slice() {
                [] => {}
                [(_, only)] => seen = merge(only, &new),
                _ => seen = merge(&seen, &new),
            }
            per_rule.push((rule.id, new));
        }
        Matches { per_rule }
    }

    /// Estimates the heap memory of the index in bytes: its sets, sorted arrays and member
    /// numbers, with a fixed guess per hash map entry and without allocator overhead.
    pub fn heap_bytes(&self) -> usize {
        self.rules.iter().map(RuleIndex::heap_bytes).sum()
    }
}

/// The members of `all` that are not in `seen`; both ascending.
fn difference(all: &[u32], seen: &[u32]) -> Vec<u32> {
    let mut result = Vec::with_capacity(all.len());
    let mut next = 0;
    for member in all {
        while next < seen.len() && seen[next] < *member {
            next += 1;
        }
        if seen.get(next) != Some(member) {
            result.push(*member);
        }
    }
    result
}

/// The union of two disjoint ascending lists, ascending.
fn merge(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut result = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] < b[j] {
            result.push(a[i]);
            i += 1;
        } else {
            result.push(b[j]);
            j += 1;
        }
    }
    result.extend_from_slice(&a[i..]);
    result.extend_from_slice(&b[j..]);
    result
}

/// The members one listing matched, grouped by the first rule that matched each of them.
#[derive(Debug, Default)]
pub struct Matches {
    /// Each rule with its members, ascending; rules without new members are left out.
    per_rule: Vec<(RuleId, Vec<u32>)>,
}

impl Matches {
    pub fn len(&self) -> u64 {
        self.per_rule
            .iter()
            .map(|(_, members)| members.len() as u64)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.per_rule.is_empty()
    }

    /// Iterates over each matched member with its rule, grouped by rule.
    pub fn iter(&self) -> impl Iterator<Item = (u32, RuleId)> + '_ {
        self.per_rule
            .iter()
            .flat_map(|(rule, members)| members.iter().map(move |member| (*member, *rule)))
    }

    /// Returns each matched member with its rule, sorted by member.
    pub fn to_sorted_vec(&self) -> Vec<(u32, RuleId)> {
        let mut all: Vec<(u32, RuleId)> = self.iter().collect();
        all.sort_unstable();
        all
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

    /// Expands a threshold query into the members it selects.
    fn selected(query: Option<(&LocalSet, &[u32])>) -> Vec<u32> {
        let Some((superset, wrong_side)) = query else {
            return Vec::new();
        };
        let mut members = superset.to_vec();
        members.retain(|member| !wrong_side.contains(member));
        members
    }

    #[test]
    fn thresholds_are_exact_across_bucket_boundaries() {
        // Ties across boundaries: values 0..=99 repeated in runs of 37, over 10,000 members,
        // plus NaN values, which no query selects.
        let value_of = |member: u32| {
            if member % 1_000 == 999 {
                f64::NAN
            } else {
                f64::from((member / 37) % 100)
            }
        };
        let entries: Vec<(f64, u32)> = (0..10_000)
            .map(|member| (value_of(member), member))
            .collect();
        let at_least = Thresholds::build(entries.clone(), Side::AtLeast, 10_000);
        let at_most = Thresholds::build(entries, Side::AtMost, 10_000);
        for x in [-1.0, 0.0, 0.5, 1.0, 17.0, 42.5, 63.0, 98.0, 99.0, 100.0] {
            let expected_at_least: Vec<u32> =
                (0..10_000u32).filter(|m| value_of(*m) >= x).collect();
            assert_eq!(
                selected(at_least.query(x)),
                expected_at_least,
                "at least {x}"
            );
            let expected_at_most: Vec<u32> = (0..10_000u32).filter(|m| value_of(*m) <= x).collect();
            assert_eq!(selected(at_most.query(x)), expected_at_most, "at most {x}");
        }
        assert!(at_least.query(f64::NAN).is_none(), "NaN query");
    }

    #[test]
    fn local_sets_pick_the_smaller_form() {
        let sparse = LocalSet::from_sorted(vec![3, 700], 1_000);
        assert!(
            matches!(sparse, LocalSet::Sparse(_)),
            "2 of 1,000 is sparse"
        );
        assert_eq!(sparse.to_vec(), vec![3, 700]);
        let dense = LocalSet::from_sorted((0..100).collect(), 1_000);
        assert!(matches!(dense, LocalSet::Dense(_)), "100 of 1,000 is dense");
        assert_eq!(dense.to_vec(), (0..100).collect::<Vec<u32>>());
    }

    #[test]
    fn member_numbers_translate_in_both_forms() {
        let close: Vec<u32> = (0..200).map(|local| local * 1_000).collect();
        let far: Vec<u32> = (0..200).map(|local| local * 100_000).collect();
        for (members, offsets_expected) in [(close, true), (far, false)] {
            let numbers = MemberNumbers::new(members.clone());
            assert_eq!(
                matches!(numbers, MemberNumbers::Offsets { .. }),
                offsets_expected,
                "form for a spacing of {}",
                members[1]
            );
            let mut locals: Vec<u32> = vec![0, 63, 64, 65, 199];
            numbers.translate(&mut locals);
            let expected: Vec<u32> = [0, 63, 64, 65, 199].map(|l| members[l]).to_vec();
            assert_eq!(locals, expected, "members for a spacing of {}", members[1]);
        }
    }

    /// Listings whose split field holds several tags reach several parts; a member who
    /// accepts more than one of them is still reported once.
    #[test]
    fn tag_listings_agree_with_plain_evaluation() {
        const TAGS: [&str; 8] = [
            "pet", "wifi", "bath", "balcony", "quiet", "gym", "pool", "view",
        ];
        let rules = vec![
            Rule {
                id: 1,
                clauses: vec![
                    clause("tags", Operator::InSet, "liked"),
                    clause("tags", Operator::NotInSet, "disliked"),
                    clause("price", Operator::AtMost, "max_price"),
                ],
            },
            Rule {
                id: 2,
                clauses: vec![
                    clause("tags", Operator::InSet, "liked"),
                    clause("name", Operator::ContainsKeyword, "keywords"),
                ],
            },
        ];
        let mut rng = StdRng::seed_from_u64(7);
        let profiles: Vec<MemberProfile> = (0..2_000)
            .map(|_| {
                let liked_count = rng.random_range(0..=3);
                let liked: Vec<&str> = TAGS
                    .choose_multiple(&mut rng, liked_count)
                    .copied()
                    .collect();
                let disliked: Vec<&str> = TAGS.choose_multiple(&mut rng, 1).copied().collect();
                let keywords: Vec<&str> = TAGS.choose_multiple(&mut rng, 1).copied().collect();
                MemberProfile::from([
                    ("liked".to_owned(), ProfileValue::set(liked)),
                    ("disliked".to_owned(), ProfileValue::set(disliked)),
                    ("keywords".to_owned(), ProfileValue::set(keywords)),
                    (
                        "max_price".to_owned(),
                        ProfileValue::Number(f64::from(rng.random_range(1..=10)) * 1_000.0),
                    ),
                ])
            })
            .collect();
        let matcher = Matcher::build(&rules, &profiles);
        for _ in 0..200 {
            let tag_count = rng.random_range(0..=4);
            let tags: Vec<&str> = (0..tag_count)
                .map(|_| *TAGS.choose(&mut rng).unwrap())
                .collect();
            let listing = json!({
                "tags": tags,
                "name": format!("Flat with {}", TAGS.choose(&mut rng).unwrap()),
                "price": f64::from(rng.random_range(1..=10)) * 1_000.0,
            });
            assert_eq!(
                matcher.matches(&listing).to_sorted_vec(),
                plain_matches(&rules, &profiles, &listing),
                "listing {listing}"
            );
        }
    }

    /// Values that plain evaluation never matches (NaN, a value of the wrong kind) and open
    /// ranges, against listings with ranges and missing sides.
    #[test]
    fn unusual_values_agree_with_plain_evaluation() {
        let rules = vec![
            Rule {
                id: 1,
                clauses: vec![clause("price", Operator::Overlaps, "budget")],
            },
            Rule {
                id: 2,
                clauses: vec![
                    clause("price", Operator::AtMost, "limit"),
                    clause("price", Operator::AtLeast, "limit"),
                ],
            },
            Rule {
                id: 3,
                clauses: vec![clause("reviewed", Operator::OnOrBefore, "limit")],
            },
        ];
        let date = chrono::NaiveDate::from_ymd_opt(2019, 6, 1).unwrap();
        let budgets = [
            ProfileValue::Range {
                min: None,
                max: Some(5_000.0),
            },
            ProfileValue::Range {
                min: Some(5_000.0),
                max: None,
            },
            ProfileValue::Range {
                min: None,
                max: None,
            },
            ProfileValue::Range {
                min: Some(f64::NAN),
                max: Some(9_000.0),
            },
            ProfileValue::Number(5_000.0),
            ProfileValue::Date(date),
        ];
        let limits = [
            ProfileValue::Number(5_000.0),
            ProfileValue::Number(f64::NAN),
            ProfileValue::Number(f64::INFINITY),
            ProfileValue::Date(date),
            ProfileValue::set(["5000"]),
        ];
        let profiles: Vec<MemberProfile> = (0..budgets.len() * limits.len() * 100)
            .map(|member| {
                let budget = budgets[member % budgets.len()].clone();
                let limit = limits[(member / budgets.len()) % limits.len()].clone();
                MemberProfile::from([("budget".to_owned(), budget), ("limit".to_owned(), limit)])
            })
            .collect();
        let matcher = Matcher::build(&rules, &profiles);
        let listings = [
            json!({"price": 5_000, "reviewed": "2019-06-01"}),
            json!({"price": 4_999.5, "reviewed": "2019-06-02"}),
            json!({"price": {"min": 1_000}, "reviewed": "2019-05-31"}),
            json!({"price": {"max": 6_000}}),
            json!({"price": {"min": 5_001, "max": 9_000}}),
            json!({"price": "5000", "reviewed": "not a date"}),
            json!({"price": null}),
            json!({}),
        ];
        for listing in listings {
            assert_eq!(
                matcher.matches(&listing).to_sorted_vec(),
                plain_matches(&rules, &profiles, &listing),
                "listing {listing}"
            );
        }
    }

    /// Circles too large for the grid, and sets built directly with a repeated value.
    #[test]
    fn wide_circles_and_repeated_values_agree_with_plain_evaluation() {
        let rules = vec![Rule {
            id: 1,
            clauses: vec![
                clause("ward", Operator::InSet, "wards"),
                clause("location", Operator::WithinDistance, "area"),
            ],
        }];
        let circle = |radius_km| ProfileValue::Circle {
            lat: 35.68,
            lon: 139.76,
            radius_km,
        };
        let profiles: Vec<MemberProfile> = [f64::INFINITY, 20_000.0, 500.0, 2.0, f64::NAN]
            .into_iter()
            .map(|radius_km| {
                MemberProfile::from([
                    (
                        "wards".to_owned(),
                        ProfileValue::Set(vec!["taito ku".to_owned(), "taito ku".to_owned()]),
                    ),
                    ("area".to_owned(), circle(radius_km)),
                ])
            })
            .collect();
        let matcher = Matcher::build(&rules, &profiles);
        for (lat, lon) in [(35.68, 139.76), (34.69, 135.50), (-33.87, 151.21)] {
            let listing = json!({"ward": "Taito Ku", "location": {"lat": lat, "lon": lon}});
            assert_eq!(
                matcher.matches(&listing).to_sorted_vec(),
                plain_matches(&rules, &profiles, &listing),
                "listing {listing}"
            );
        }
    }

    /// Each member with the first rule that matches it under plain evaluation.
    fn plain_matches(
        rules: &[Rule],
        profiles: &[MemberProfile],
        listing: &Value,
    ) -> Vec<(u32, RuleId)> {
        profiles
            .iter()
            .enumerate()
            .filter_map(|(member, profile)| {
                rules
                    .iter()
                    .find(|rule| evaluate(rule, profile, listing))
                    .map(|rule| (member as u32, rule.id))
            })
            .collect()
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
