//! Matching benchmark: one listing against 1,000,000 and 10,000,000 member profiles, the index
//! against the best plain scan over the same profiles, on one core.
//!
//! Run with `cargo bench -p domain --bench matching` (add `-- 1000000` to skip the 10,000,000
//! run). Listings are the real Tokyo listings from `../shared/data/tokyo_listings_2019.csv`
//! beside the repository, or from `TAYORI_BENCH_CSV`. Profiles are generated with a fixed seed:
//! every member picks 1 to 3 of the 23 special wards, a nightly price range (a centre between
//! 5,000 and 30,000 yen, log-uniform, and ±25 %), one room type (one member in five picks two)
//! and a minimum-stay limit; one in four also gives one or two keywords.

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

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
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
    let matcher = builder.finish();
    let build_time = started.elapsed();
    let index_bytes = resident_bytes().saturating_sub(before);

    let mut rng = StdRng::seed_from_u64(42);
    let compact: Vec<CompactMember> = (0..member_count)
        .map(|_| generate(&mut rng, wards, &special_wards, &room_weights).1)
        .collect();
    let folded_keywords: Vec<String> = KEYWORDS.iter().map(|k| fold(k)).collect();

    let step = (listings.len() / LISTINGS_MEASURED).max(1);
    let sample: Vec<&Listing> = listings
        .iter()
        .step_by(step)
        .take(LISTINGS_MEASURED)
        .collect();
    let (mut index_ms, mut scan_ms, mut matched) = (Vec::new(), Vec::new(), 0usize);
    for listing in &sample {
        let started = Instant::now();
        let found = matcher.matches(&listing.value);
        index_ms.push(started.elapsed().as_secs_f64() * 1000.0);

        let started = Instant::now();
        let scanned = scan(&compact, listing, &folded_keywords);
        scan_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(
            found.len(),
            scanned as u64,
            "index and scan disagree on {}",
            listing.value
        );
        matched += scanned;
    }
    let (index_p50, index_p99) = percentiles(index_ms);
    let (scan_p50, scan_p99) = percentiles(scan_ms);
    println!(
        "profiles: {member_count}, listings measured: {}, mean matches per listing: {:.1}",
        sample.len(),
        matched as f64 / sample.len() as f64
    );
    println!(
        "  index build: {:.1} s, resident memory added: {:.0} MiB",
        build_time.as_secs_f64(),
        index_bytes as f64 / 1_048_576.0
    );
    println!("  index: p50 {index_p50:.4} ms, p99 {index_p99:.4} ms");
    println!("  plain scan: p50 {scan_p50:.4} ms, p99 {scan_p99:.4} ms");
    println!(
        "  scan / index: {:.1}x at p50, {:.1}x at p99",
        scan_p50 / index_p50,
        scan_p99 / index_p99
    );
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
