//! Matching benchmark: one listing against 1,000,000 and 10,000,000 member profiles, the index
//! against two plain scans over the same profiles, on one core.
//!
//! Run with `cargo bench -p domain --bench matching` (add `-- 1000000` to skip the 10,000,000
//! run). Listings are the real Tokyo listings from `../shared/data/tokyo_listings_2019.csv`
//! beside the repository, or from `TAYORI_BENCH_CSV`. Profiles are generated with a fixed seed:
//! every member picks 1 to 3 of the 23 special wards, a nightly price range (a centre between
//! 5,000 and 30,000 yen, log-uniform, and ±25 %), one room type (one member in five picks two)
//! and a minimum-stay limit; one in four also gives one or two keywords. The listings have no
//! floor area, so the mix has no size range.
//!
//! Each listing is matched by the index, the row scan and the column scan in turn, so the scans
//! evict the index from the CPU caches before each index query. The scans must find as many
//! members as the index. Percentiles are printed over all samples and over the samples during
//! which the thread was not preempted (by Linux's count of involuntary context switches), so
//! that time lost to other processes on a shared machine shows separately.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly on broken set-up"
)]

use std::time::Instant;

use domain::{
    listings::schema::fold,
    matching::{Clause, MatcherBuilder, MemberProfile, Operand, Operator, ProfileValue, Rule},
};
use rand::{
    Rng, SeedableRng, distr::weighted::WeightedIndex, prelude::Distribution, rngs::StdRng,
    seq::IndexedRandom,
};
use serde_json::{Value, json};

const ROOM_TYPES: [&str; 4] = [
    "Entire home/apt",
    "Private room",
    "Hotel room",
    "Shared room",
];
const ROOM_WEIGHTS: [u32; 4] = [60, 25, 10, 5];
const KEYWORDS: [&str; 16] = [
    "駅", "station", "shinjuku", "shibuya", "asakusa", "浅草", "新宿", "渋谷", "family", "wifi",
    "skytree", "ginza", "ueno", "池袋", "house", "新築",
];
const NIGHT_LIMITS: [f64; 5] = [1.0, 2.0, 3.0, 7.0, 30.0];
const LISTINGS_MEASURED: usize = 4_000;

struct Listing {
    value: Value,
    ward: usize,
    room: usize,
    price: f64,
    nights: f64,
    name: String,
}

/// The compact form the plain scan reads: bitmasks for sets, plain numbers for limits.
struct CompactMember {
    wards: u64,
    rooms: u8,
    keywords: u16,
    min_price: f32,
    max_price: f32,
    max_nights: f32,
}

fn load_listings() -> (Vec<Listing>, Vec<String>) {
    let path = std::env::var("TAYORI_BENCH_CSV").unwrap_or_else(|_| {
        format!(
            "{}/../../shared/data/tokyo_listings_2019.csv",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let mut reader =
        csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let mut wards: Vec<String> = Vec::new();
    let mut listings = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        let ward_name = record[3].to_owned();
        let ward = wards
            .iter()
            .position(|w| *w == ward_name)
            .unwrap_or_else(|| {
                wards.push(ward_name.clone());
                wards.len() - 1
            });
        let room = ROOM_TYPES
            .iter()
            .position(|r| *r == &record[6])
            .unwrap_or(0);
        let price: f64 = record[7].parse().unwrap_or(0.0);
        let nights: f64 = record[8].parse().unwrap_or(1.0);
        let name = record[1].to_owned();
        let value = json!({
            "ward": ward_name, "room_type": ROOM_TYPES[room], "price": price, "minimum_nights": nights, "name": name,
        });
        listings.push(Listing {
            value,
            ward,
            room,
            price,
            nights,
            name,
        });
    }
    (listings, wards)
}

fn rules() -> Vec<Rule> {
    let clause = |listing_field: &str, operator, profile_field: &str| Clause {
        listing_field: listing_field.into(),
        operator,
        operand: Operand::Profile(profile_field.into()),
    };
    vec![
        Rule {
            id: 1,
            clauses: vec![
                clause("ward", Operator::InSet, "wards"),
                clause("price", Operator::Overlaps, "price_range"),
                clause("room_type", Operator::InSet, "room_types"),
                clause("minimum_nights", Operator::AtMost, "max_nights"),
            ],
        },
        Rule {
            id: 2,
            clauses: vec![
                clause("name", Operator::ContainsKeyword, "keywords"),
                clause("ward", Operator::InSet, "wards"),
                clause("price", Operator::Overlaps, "price_range"),
            ],
        },
    ]
}

/// Generates the next member of the seeded sequence, as a profile and in compact form.
fn generate(
    rng: &mut StdRng,
    wards: &[String],
    special_wards: &[usize],
    room_weights: &WeightedIndex<u32>,
) -> (MemberProfile, CompactMember) {
    let mut ward_mask = 0u64;
    for _ in 0..rng.random_range(1..=3) {
        ward_mask |= 1 << special_wards.choose(rng).copied().unwrap_or(0);
    }
    let mut room_mask = 1u8 << room_weights.sample(rng);
    if rng.random_bool(0.2) {
        room_mask |= 1 << room_weights.sample(rng);
    }
    let centre =
        (5_000f64.ln() + rng.random_range(0.0..1.0) * (30_000f64.ln() - 5_000f64.ln())).exp();
    let (min_price, max_price) = ((centre * 0.75).round(), (centre * 1.25).round());
    let max_nights = *NIGHT_LIMITS.choose(rng).unwrap();
    let mut keyword_mask = 0u16;
    if rng.random_bool(0.25) {
        for _ in 0..rng.random_range(1..=2) {
            keyword_mask |= 1 << rng.random_range(0..KEYWORDS.len());
        }
    }

    let names = |mask: u64, all: &[String]| -> Vec<String> {
        all.iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, n)| n.clone())
            .collect()
    };
    let room_names: Vec<String> = ROOM_TYPES.iter().map(|r| (*r).to_owned()).collect();
    let keyword_names: Vec<String> = KEYWORDS.iter().map(|k| (*k).to_owned()).collect();
    let mut profile = MemberProfile::from([
        (
            "wards".to_owned(),
            ProfileValue::set(names(ward_mask, wards)),
        ),
        (
            "room_types".to_owned(),
            ProfileValue::set(names(u64::from(room_mask), &room_names)),
        ),
        (
            "price_range".to_owned(),
            ProfileValue::Range {
                min: Some(min_price),
                max: Some(max_price),
            },
        ),
        ("max_nights".to_owned(), ProfileValue::Number(max_nights)),
    ]);
    if keyword_mask != 0 {
        profile.insert(
            "keywords".to_owned(),
            ProfileValue::set(names(u64::from(keyword_mask), &keyword_names)),
        );
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "prices and night counts fit in f32"
    )]
    let compact = CompactMember {
        wards: ward_mask,
        rooms: room_mask,
        keywords: keyword_mask,
        min_price: min_price as f32,
        max_price: max_price as f32,
        max_nights: max_nights as f32,
    };
    (profile, compact)
}

/// The same members column by column, with wards as bits of their rank among the special
/// wards, so that a scan reads 4 bytes a member and the other columns mostly for members who
/// accept the listing's ward.
struct Columns {
    wards: Vec<u32>,
    rooms: Vec<u8>,
    keywords: Vec<u16>,
    min_price: Vec<f32>,
    max_price: Vec<f32>,
    max_nights: Vec<f32>,
}

impl Columns {
    fn new(members: &[CompactMember], special_wards: &[usize]) -> Self {
        let ward_bits = |mask: u64| -> u32 {
            (0..)
                .zip(special_wards)
                .filter(|(_, ward)| mask & (1 << **ward) != 0)
                .fold(0, |bits, (rank, _)| bits | (1 << rank))
        };
        Self {
            wards: members.iter().map(|m| ward_bits(m.wards)).collect(),
            rooms: members.iter().map(|m| m.rooms).collect(),
            keywords: members.iter().map(|m| m.keywords).collect(),
            min_price: members.iter().map(|m| m.min_price).collect(),
            max_price: members.iter().map(|m| m.max_price).collect(),
            max_nights: members.iter().map(|m| m.max_nights).collect(),
        }
    }
}

/// The plain scan: every member, both rules, with bitmask tests.
fn scan(members: &[CompactMember], listing: &Listing, keywords: &[String]) -> usize {
    let name = fold(&listing.name);
    let mut found = 0u16;
    for (i, keyword) in keywords.iter().enumerate() {
        if name.contains(keyword.as_str()) {
            found |= 1 << i;
        }
    }
    let (ward, room) = (1u64 << listing.ward, 1u8 << listing.room);
    #[expect(
        clippy::cast_possible_truncation,
        reason = "prices and night counts fit in f32"
    )]
    let (price, nights) = (listing.price as f32, listing.nights as f32);
    members
        .iter()
        .filter(|m| {
            let base = m.wards & ward != 0 && m.min_price <= price && price <= m.max_price;
            base && ((m.rooms & room != 0 && nights <= m.max_nights) || m.keywords & found != 0)
        })
        .count()
}

/// Counts the matching members column by column: the ward column of every member, then the
/// other columns of the members who accept the listing's ward. No member picks a ward outside the special wards.
fn scan_columns(
    columns: &Columns,
    listing: &Listing,
    keywords: &[String],
    special_wards: &[usize],
) -> usize {
    let Some(rank) = special_wards.iter().position(|w| *w == listing.ward) else {
        return 0;
    };
    let name = fold(&listing.name);
    let mut found = 0u16;
    for (i, keyword) in keywords.iter().enumerate() {
        if name.contains(keyword.as_str()) {
            found |= 1 << i;
        }
    }
    let (ward, room) = (1u32 << rank, 1u8 << listing.room);
    #[expect(
        clippy::cast_possible_truncation,
        reason = "prices and night counts fit in f32"
    )]
    let (price, nights) = (listing.price as f32, listing.nights as f32);
    let mut count = 0;
    for (i, _) in columns
        .wards
        .iter()
        .enumerate()
        .filter(|(_, wards)| *wards & ward != 0)
    {
        let in_range = columns.min_price[i] <= price && price <= columns.max_price[i];
        let by_room = columns.rooms[i] & room != 0 && nights <= columns.max_nights[i];
        count += usize::from(in_range && (by_room || columns.keywords[i] & found != 0));
    }
    count
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The median and 99th percentile; NaN for no samples.
fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.99))
}

fn run(member_count: usize, listings: &[Listing], wards: &[String]) {
    let special_wards: Vec<usize> = (0..wards.len())
        .filter(|i| wards[*i].ends_with(" Ku"))
        .collect();
    let room_weights = WeightedIndex::new(ROOM_WEIGHTS).unwrap();
    let rules = rules();

    let before = resident_bytes();
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(42);
    let mut builder = MatcherBuilder::new(&rules);
    for _ in 0..member_count {
        let (profile, _) = generate(&mut rng, wards, &special_wards, &room_weights);
        builder.add(&profile);
    }
    let finish_started = Instant::now();
    let matcher = builder.finish();
    let build_time = started.elapsed();
    let finish_time = finish_started.elapsed();
    let index_bytes = resident_bytes().saturating_sub(before);

    let mut rng = StdRng::seed_from_u64(42);
    let compact: Vec<CompactMember> = (0..member_count)
        .map(|_| generate(&mut rng, wards, &special_wards, &room_weights).1)
        .collect();
    let columns = Columns::new(&compact, &special_wards);
    let folded_keywords: Vec<String> = KEYWORDS.iter().map(|k| fold(k)).collect();

    let step = (listings.len() / LISTINGS_MEASURED).max(1);
    let sample: Vec<&Listing> = listings
        .iter()
        .step_by(step)
        .take(LISTINGS_MEASURED)
        .collect();
    let (mut index, mut row, mut column) =
        (Samples::default(), Samples::default(), Samples::default());
    let (mut matched, mut no_match) = (0usize, 0usize);
    for listing in &sample {
        let found = index.time(|| matcher.matches(&listing.value));
        let scanned = row.time(|| scan(&compact, listing, &folded_keywords));
        let column_scanned =
            column.time(|| scan_columns(&columns, listing, &folded_keywords, &special_wards));
        assert_eq!(
            found.len(),
            scanned as u64,
            "index and scan disagree on {}",
            listing.value
        );
        assert_eq!(
            column_scanned, scanned,
            "the two scans disagree on {}",
            listing.value
        );
        matched += scanned;
        no_match += usize::from(scanned == 0);
    }
    println!(
        "profiles: {member_count}, listings measured: {}, mean matches per listing: {:.1}, \
         listings without matches: {no_match}",
        sample.len(),
        matched as f64 / sample.len() as f64
    );
    println!(
        "  index build: {:.1} s (finish {:.1} s), resident memory added: {:.0} MiB, \
         heap estimate: {:.0} MiB",
        build_time.as_secs_f64(),
        finish_time.as_secs_f64(),
        index_bytes as f64 / 1_048_576.0,
        matcher.heap_bytes() as f64 / 1_048_576.0
    );
    for quiet in [false, true] {
        let (index_p50, index_p99) = index.percentiles(quiet);
        let (row_p50, row_p99) = row.percentiles(quiet);
        let (column_p50, column_p99) = column.percentiles(quiet);
        let (best_p50, best_p99) = (row_p50.min(column_p50), row_p99.min(column_p99));
        if quiet {
            println!(
                "  samples not preempted (index {}, row scan {}, column scan {} of {}):",
                index.quiet.len(),
                row.quiet.len(),
                column.quiet.len(),
                sample.len()
            );
        } else {
            println!("  all samples:");
        }
        println!("    index: p50 {index_p50:.4} ms, p99 {index_p99:.4} ms");
        println!("    row scan: p50 {row_p50:.4} ms, p99 {row_p99:.4} ms");
        println!("    column scan: p50 {column_p50:.4} ms, p99 {column_p99:.4} ms");
        println!(
            "    faster scan / index: {:.1}x at p50, {:.1}x at p99",
            best_p50 / index_p50,
            best_p99 / index_p99
        );
    }
}

/// Durations in milliseconds: all of them, and those during which the thread was not
/// preempted, so that time lost to other processes on a shared machine shows separately.
#[derive(Default)]
struct Samples {
    all: Vec<f64>,
    quiet: Vec<f64>,
}

impl Samples {
    fn time<T>(&mut self, work: impl FnOnce() -> T) -> T {
        let before = preemptions();
        let started = Instant::now();
        let result = work();
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        self.all.push(elapsed);
        if preemptions() == before {
            self.quiet.push(elapsed);
        }
        result
    }

    fn percentiles(&self, quiet: bool) -> (f64, f64) {
        percentiles(if quiet { &self.quiet } else { &self.all }.clone())
    }
}

/// Returns the thread's involuntary context switches so far, from `/proc/thread-self/status`; 0 where
/// that file is missing, so that every sample counts as not preempted.
fn preemptions() -> u64 {
    std::fs::read_to_string("/proc/thread-self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("nonvoluntary_ctxt_switches:"))
                .and_then(|count| count.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000_000, 10_000_000]
    } else {
        sizes
    };
    let (listings, wards) = load_listings();
    for size in sizes {
        run(size, &listings, &wards);
    }
}
