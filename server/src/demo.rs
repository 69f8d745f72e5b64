//! A demo tenant on real data: the Inside Airbnb Tokyo listings of 2019 (CC BY 4.0), a listing
//! schema and profile fields in Japanese, three match rules and thousands of generated members.
//! Everything goes through the same domain calls as the product: the member CSV import, listing
//! upserts in batches (the path of the GraphQL API), matching, digests and the outbox.
//!
//! [`run`] builds the tenant and returns a [`DemoReport`] with counts and the time of each phase;
//! `src/bin/demo.rs` is its command line.

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use domain::{
    Locale, TenantId,
    auth::tokens::TokenKeys,
    entities::{delivery, listing, listing_match_set, match_update, member, tenant},
    listings::{
        EnumOption, FieldType, ListingField, ListingRecord, schema, upsert,
        upsert::MATCH_PENDING_NONE,
    },
    matching::{
        rules::{self, ClauseSpec, MatchRuleInput, OperatorName},
        run::{IndexCache, match_pending},
    },
    members::{self, profile_fields},
    outbox::{DeliveryKind, DeliveryState, capture, digests},
    sending::SendingConfig,
    tenants,
};
use rand::{
    Rng, SeedableRng,
    distr::{Alphanumeric, Distribution, weighted::WeightedIndex},
    rngs::StdRng,
    seq::IndexedRandom,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// The CSV path relative to the repository root.
pub const DEFAULT_CSV: &str = "../shared/data/tokyo_listings_2019.csv";
pub const DEFAULT_SLUG: &str = "demo";
pub const DEFAULT_MEMBERS: usize = 5_000;
pub const DEFAULT_SEED: u64 = 2019;
/// Listings per upsert call, a batch size an integrator might send. One call takes at most
/// [`upsert::MAX_RECORDS_PER_CALL`].
pub const LISTING_BATCH: usize = 1_000;

/// Options of the demo: the tenant slug, the members to generate and the listings file.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub slug: String,
    pub members: usize,
    pub seed: u64,
    pub csv: PathBuf,
    /// Delete a tenant with the same slug first; without it such a tenant is an error.
    pub reset: bool,
    /// Render the queued deliveries; without it they stay queued for a server's worker.
    pub render_outbox: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            slug: DEFAULT_SLUG.to_owned(),
            members: DEFAULT_MEMBERS,
            seed: DEFAULT_SEED,
            csv: PathBuf::from(DEFAULT_CSV),
            reset: false,
            render_outbox: true,
        }
    }
}

/// Wall-clock time of each phase.
#[derive(Debug, Clone, Default)]
pub struct PhaseTimes {
    /// Listing schema, profile fields and match rules.
    pub schema: Duration,
    /// Generating the members and importing them as CSV.
    pub members: Duration,
    /// Every listing upserted.
    pub listings_in: Duration,
    /// Matches recorded, with the deliveries of instant members.
    pub matching: Duration,
    /// Daily and weekly digests bundled.
    pub deliveries_recorded: Duration,
    /// Every queued delivery rendered into the captured outbox; `None` when left queued.
    pub outbox_rendered: Option<Duration>,
}

impl PhaseTimes {
    /// From the first listing upsert to the last delivery recorded.
    pub fn listings_to_deliveries(&self) -> Duration {
        self.listings_in + self.matching + self.deliveries_recorded
    }
}

/// Counts of what the demo stored, taken from the database after the run, with the login and
/// the phase times.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub tenant_id: TenantId,
    pub slug: String,
    pub operator_email: String,
    pub operator_password: String,
    pub members: u64,
    pub members_by_frequency: BTreeMap<String, u64>,
    pub listings: u64,
    pub listings_rejected: usize,
    pub matches: u64,
    /// Deliveries by kind (`listing`, `digest`).
    pub deliveries_by_kind: BTreeMap<String, u64>,
    /// Deliveries by state (`captured`, `failed`, `queued`).
    pub deliveries_by_state: BTreeMap<String, u64>,
    pub members_with_mail: u64,
    /// The time digests were bundled as of: the latest scheduled digest of any member.
    pub digests_as_of: Option<DateTime<Utc>>,
    pub times: PhaseTimes,
}

impl DemoReport {
    pub fn deliveries(&self) -> u64 {
        self.deliveries_by_kind.values().sum()
    }
}

/// Builds the demo tenant. The database must be migrated.
pub async fn run(
    db: &DatabaseConnection,
    sending: &SendingConfig,
    options: &DemoOptions,
) -> anyhow::Result<DemoReport> {
    let listings = read_listings(&options.csv)?;
    if options.members > members::import::MAX_ROWS {
        bail!(
            "--members {} is more than one member import takes ({})",
            options.members,
            members::import::MAX_ROWS
        );
    }

    if let Some(existing) = tenants::find_by_slug(db, &options.slug).await? {
        if !options.reset {
            bail!(
                "a tenant with the slug {:?} already exists; run again with --reset to delete it \
                 and build the demo anew",
                options.slug
            );
        }
        delete_tenant(db, TenantId(existing.id)).await?;
    }
    let operator_email = format!("owner@{}.example.jp", options.slug);
    let operator_password: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    let keys = TokenKeys::random()?;
    let session = tenants::sign_up(
        db,
        &keys,
        tenants::SignUp {
            tenant_name: "Tayori デモ（東京の民泊 2019）".to_owned(),
            tenant_slug: options.slug.clone(),
            email: operator_email.clone(),
            password: SecretString::from(operator_password.clone()),
            locale: Locale::Ja,
        },
    )
    .await?;
    let tenant_id = TenantId(session.tenant.id);
    let mut times = PhaseTimes::default();

    let started = Instant::now();
    let wards = ward_options(&listings)?;
    schema::replace(db, tenant_id, listing_schema(&wards)).await?;
    profile_fields::replace(db, tenant_id, profile_schema(&wards)).await?;
    for rule in match_rules() {
        rules::create(db, tenant_id, rule).await?;
    }
    times.schema = started.elapsed();

    let started = Instant::now();
    let generated = generate_members(&listings, options.members, options.seed);
    let imported = members::import::import_csv(db, tenant_id, &members_csv(&generated)?).await?;
    if let Some(error) = imported.errors.first() {
        bail!(
            "{} generated members were rejected; the first, row {}: {:?}",
            imported.rejected,
            error.index,
            error.error
        );
    }
    times.members = started.elapsed();

    let started = Instant::now();
    let mut listings_rejected = 0;
    for batch in listings.chunks(LISTING_BATCH) {
        let records = batch.iter().map(DemoListing::to_record).collect();
        let report = upsert::upsert(db, tenant_id, records).await?;
        listings_rejected += report.rejected;
        if let Some(error) = report.errors.first() {
            tracing::warn!(
                rejected = report.rejected,
                listing.external_id = ?error.external_id,
                error = ?error.error,
                "listings rejected"
            );
        }
    }
    times.listings_in = started.elapsed();

    let started = Instant::now();
    match_until_done(db, tenant_id).await?;
    times.matching = started.elapsed();

    let started = Instant::now();
    let digests_as_of = bundle_all_digests(db, tenant_id).await?;
    times.deliveries_recorded = started.elapsed();

    if options.render_outbox {
        let started = Instant::now();
        capture_until_done(db, sending, tenant_id).await?;
        times.outbox_rendered = Some(started.elapsed());
    }

    let mut report = count(db, tenant_id).await?;
    report.slug = options.slug.clone();
    report.operator_email = operator_email;
    report.operator_password = operator_password;
    report.listings_rejected = listings_rejected;
    report.digests_as_of = digests_as_of;
    report.times = times;
    Ok(report)
}

// --- The listings file -------------------------------------------------------------------------

/// One row of the Tokyo listings file, with the columns the demo uses.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoListing {
    pub id: String,
    pub name: String,
    /// The municipality in romaji, such as `Shibuya Ku` or `Hachioji Shi`.
    pub neighbourhood: String,
    pub latitude: f64,
    pub longitude: f64,
    pub room_type: String,
    /// Yen per night.
    pub price: f64,
    pub minimum_nights: f64,
}

impl DemoListing {
    /// Builds the record that an integrator would send over the API.
    fn to_record(&self) -> ListingRecord {
        let fields = json!({
            "name": self.name,
            "ward": self.neighbourhood,
            "room_type": self.room_type,
            "price": self.price,
            "minimum_nights": self.minimum_nights,
            "location": { "lat": self.latitude, "lon": self.longitude },
        });
        ListingRecord {
            external_id: self.id.clone(),
            fields: fields.as_object().cloned().unwrap_or_default(),
        }
    }
}

/// Reads the listings file (Inside Airbnb's summary columns; extra columns are ignored).
pub fn read_listings(path: &Path) -> anyhow::Result<Vec<DemoListing>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| {
        format!(
            "cannot read the listings file {}; pass its path with --csv",
            path.display()
        )
    })?;
    let mut listings = Vec::new();
    for (index, row) in reader.deserialize::<DemoListing>().enumerate() {
        let row =
            row.with_context(|| format!("row {} of {} is malformed", index + 1, path.display()))?;
        listings.push(row);
    }
    if listings.is_empty() {
        bail!("the listings file {} has no rows", path.display());
    }
    Ok(listings)
}

// --- Schema, profile fields and rules ----------------------------------------------------------

/// Every municipality of Tokyo as the listings file spells it, with its name in kanji: the 23
/// special wards, then the cities, towns and villages.
pub const TOKYO_MUNICIPALITIES: &[(&str, &str)] = &[
    ("Chiyoda Ku", "千代田区"),
    ("Chuo Ku", "中央区"),
    ("Minato Ku", "港区"),
    ("Shinjuku Ku", "新宿区"),
    ("Bunkyo Ku", "文京区"),
    ("Taito Ku", "台東区"),
    ("Sumida Ku", "墨田区"),
    ("Koto Ku", "江東区"),
    ("Shinagawa Ku", "品川区"),
    ("Meguro Ku", "目黒区"),
    ("Ota Ku", "大田区"),
    ("Setagaya Ku", "世田谷区"),
    ("Shibuya Ku", "渋谷区"),
    ("Nakano Ku", "中野区"),
    ("Suginami Ku", "杉並区"),
    ("Toshima Ku", "豊島区"),
    ("Kita Ku", "北区"),
    ("Arakawa Ku", "荒川区"),
    ("Itabashi Ku", "板橋区"),
    ("Nerima Ku", "練馬区"),
    ("Adachi Ku", "足立区"),
    ("Katsushika Ku", "葛飾区"),
    ("Edogawa Ku", "江戸川区"),
    ("Hachioji Shi", "八王子市"),
    ("Tachikawa Shi", "立川市"),
    ("Musashino Shi", "武蔵野市"),
    ("Mitaka Shi", "三鷹市"),
    ("Ome Shi", "青梅市"),
    ("Fuchu Shi", "府中市"),
    ("Akishima Shi", "昭島市"),
    ("Chofu Shi", "調布市"),
    ("Machida Shi", "町田市"),
    ("Koganei Shi", "小金井市"),
    ("Kodaira Shi", "小平市"),
    ("Hino Shi", "日野市"),
    ("Higashimurayama Shi", "東村山市"),
    ("Kokubunji Shi", "国分寺市"),
    ("Kunitachi Shi", "国立市"),
    ("Fussa Shi", "福生市"),
    ("Komae Shi", "狛江市"),
    ("Higashiyamato Shi", "東大和市"),
    ("Kiyose Shi", "清瀬市"),
    ("Higashikurume Shi", "東久留米市"),
    ("Musashimurayama Shi", "武蔵村山市"),
    ("Tama Shi", "多摩市"),
    ("Inagi Shi", "稲城市"),
    ("Hamura Shi", "羽村市"),
    ("Akiruno Shi", "あきる野市"),
    ("Nishitokyo Shi", "西東京市"),
    ("Mizuho Machi", "瑞穂町"),
    ("Hinode Machi", "日の出町"),
    ("Hinohara Mura", "檜原村"),
    ("Okutama Machi", "奥多摩町"),
    ("Oshima Machi", "大島町"),
    ("Toshima Mura", "利島村"),
    ("Niijima Mura", "新島村"),
    ("Kozushima Mura", "神津島村"),
    ("Miyake Mura", "三宅村"),
    ("Mikurajima Mura", "御蔵島村"),
    ("Hachijo Machi", "八丈町"),
    ("Aogashima Mura", "青ヶ島村"),
    ("Ogasawara Mura", "小笠原村"),
];

/// The room types of the listings file with Japanese labels.
pub const ROOM_TYPES: &[(&str, &str)] = &[
    ("Entire home/apt", "まるごと貸切（一軒家・アパート）"),
    ("Private room", "個室"),
    ("Hotel room", "ホテルの客室"),
    ("Shared room", "相部屋"),
];

/// Returns the kanji name of a municipality spelled as in the listings file.
pub fn ward_kanji(value: &str) -> Option<&'static str> {
    TOKYO_MUNICIPALITIES
        .iter()
        .find(|(romaji, _)| *romaji == value)
        .map(|(_, kanji)| *kanji)
}

/// Builds the options of the ward field: the municipalities that occur in the file, in the
/// official order. A municipality missing from [`TOKYO_MUNICIPALITIES`] is an error, so that no listing
/// is rejected for an unknown ward.
fn ward_options(listings: &[DemoListing]) -> anyhow::Result<Vec<EnumOption>> {
    let mut unknown: Vec<&str> = listings
        .iter()
        .map(|l| l.neighbourhood.as_str())
        .filter(|value| ward_kanji(value).is_none())
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    if !unknown.is_empty() {
        bail!("the listings file has municipalities without a kanji name: {unknown:?}");
    }
    Ok(TOKYO_MUNICIPALITIES
        .iter()
        .filter(|(romaji, _)| listings.iter().any(|l| l.neighbourhood == *romaji))
        .map(|(romaji, kanji)| EnumOption {
            value: (*romaji).to_owned(),
            label_ja: (*kanji).to_owned(),
            label_en: (*romaji).to_owned(),
        })
        .collect())
}

fn room_type_options() -> Vec<EnumOption> {
    ROOM_TYPES
        .iter()
        .map(|(value, label)| EnumOption {
            value: (*value).to_owned(),
            label_ja: (*label).to_owned(),
            label_en: (*value).to_owned(),
        })
        .collect()
}

fn field(name: &str, field_type: FieldType, label_ja: &str, label_en: &str) -> ListingField {
    ListingField {
        name: name.to_owned(),
        field_type,
        label_ja: label_ja.to_owned(),
        label_en: label_en.to_owned(),
        required: false,
        options: Vec::new(),
    }
}

fn listing_schema(wards: &[EnumOption]) -> Vec<ListingField> {
    let mut name = field("name", FieldType::Text, "名称", "Name");
    name.required = true;
    let mut ward = field("ward", FieldType::Enum, "区市町村", "Municipality");
    ward.options = wards.to_vec();
    let mut room_type = field("room_type", FieldType::Enum, "部屋タイプ", "Room type");
    room_type.options = room_type_options();
    vec![
        name,
        ward,
        room_type,
        field(
            "price",
            FieldType::Number,
            "1泊の料金（円）",
            "Price per night (JPY)",
        ),
        field(
            "minimum_nights",
            FieldType::Number,
            "最低宿泊数",
            "Minimum nights",
        ),
        field("location", FieldType::GeoPoint, "位置", "Location"),
    ]
}

fn profile_schema(wards: &[EnumOption]) -> Vec<ListingField> {
    let mut desired_wards = field("wards", FieldType::Enum, "希望エリア", "Desired areas");
    desired_wards.options = wards.to_vec();
    let mut room_types = field("room_types", FieldType::Enum, "部屋タイプ", "Room types");
    room_types.options = room_type_options();
    vec![
        desired_wards,
        field(
            "max_price",
            FieldType::Number,
            "1泊の予算上限（円）",
            "Maximum price per night (JPY)",
        ),
        room_types,
        field("keywords", FieldType::Tags, "キーワード", "Keywords"),
        field(
            "max_minimum_nights",
            FieldType::Number,
            "最低宿泊数の上限",
            "Maximum minimum stay (nights)",
        ),
        field(
            "near",
            FieldType::GeoPoint,
            "希望地点と半径（km）",
            "Near a place (radius in km)",
        ),
    ]
}

fn clause(listing_field: &str, operator: OperatorName, profile_field: &str) -> ClauseSpec {
    ClauseSpec {
        listing_field: listing_field.to_owned(),
        operator,
        profile_field: Some(profile_field.to_owned()),
        value: None,
    }
}

/// Three rules; a member gets a listing when any rule that uses only fields they filled in holds.
fn match_rules() -> Vec<MatchRuleInput> {
    use OperatorName::{AtMost, ContainsKeyword, InSet, WithinDistance};
    vec![
        MatchRuleInput {
            name: "希望エリア・予算・部屋タイプ・宿泊数".to_owned(),
            enabled: true,
            clauses: vec![
                clause("ward", InSet, "wards"),
                clause("price", AtMost, "max_price"),
                clause("room_type", InSet, "room_types"),
                clause("minimum_nights", AtMost, "max_minimum_nights"),
            ],
        },
        MatchRuleInput {
            name: "キーワード（希望エリア・予算・部屋タイプ）".to_owned(),
            enabled: true,
            clauses: vec![
                clause("name", ContainsKeyword, "keywords"),
                clause("ward", InSet, "wards"),
                clause("price", AtMost, "max_price"),
                clause("room_type", InSet, "room_types"),
            ],
        },
        MatchRuleInput {
            name: "希望地点の周辺（予算・部屋タイプ・宿泊数）".to_owned(),
            enabled: true,
            clauses: vec![
                clause("location", WithinDistance, "near"),
                clause("price", AtMost, "max_price"),
                clause("room_type", InSet, "room_types"),
                clause("minimum_nights", AtMost, "max_minimum_nights"),
            ],
        },
    ]
}

// --- Members -----------------------------------------------------------------------------------

/// Keywords members look for in listing names, in English and Japanese.
const KEYWORDS: &[&str] = &[
    "Shinjuku", "駅", "Station", "Asakusa", "Skytree", "Shibuya", "Ueno", "Ginza", "新宿", "浅草",
];

/// Places a member may want to stay near: name, latitude, longitude.
const PLACES: &[(&str, f64, f64)] = &[
    ("新宿駅", 35.6896, 139.7006),
    ("渋谷駅", 35.6580, 139.7016),
    ("池袋駅", 35.7295, 139.7109),
    ("上野駅", 35.7138, 139.7770),
    ("浅草駅", 35.7110, 139.7966),
    ("東京駅", 35.6812, 139.7671),
];

/// A generated member, as written to the import CSV.
#[derive(Debug, Clone)]
pub struct DemoMember {
    pub email: String,
    pub locale: &'static str,
    pub frequency: &'static str,
    pub digest_hour: u8,
    pub digest_weekday: u8,
    pub wards: Vec<String>,
    pub max_price: f64,
    pub room_types: Vec<String>,
    pub keywords: Vec<String>,
    pub max_minimum_nights: u32,
    /// Latitude, longitude and radius in kilometres.
    pub near: Option<(f64, f64, f64)>,
}

/// Generates `count` members from a fixed seed; the same seed and file give the same members.
///
/// Each member picks 1 to 3 wards (65 %, 25 %, 10 %) weighted by their listing counts, and 1 room
/// type (2 for 15 %) weighted the same way. The price ceiling is a quantile between the 10th and
/// 40th percentile of the prices of the member's room types in their first ward, rounded up to
/// 500 yen. The maximum minimum stay is 1 to 30 nights, mostly 1 or 2. One member in five gives
/// keywords, one in ten a place and a radius of 0.5 to 1.5 km. 20 % get instant mail, 50 % a
/// daily and 30 % a weekly digest; 15 % read English.
///
/// With the 2019 file this gives about 150 matches per member on average, and 10 times that
/// for members of Entire home/apt in the largest wards.
pub fn generate_members(listings: &[DemoListing], count: usize, seed: u64) -> Vec<DemoMember> {
    let mut rng = StdRng::seed_from_u64(seed);
    let wards = weighted_values(listings.iter().map(|l| l.neighbourhood.as_str()));
    let room_types = weighted_values(listings.iter().map(|l| l.room_type.as_str()));
    let mut prices: HashMap<(&str, &str), Vec<f64>> = HashMap::new();
    for listing in listings {
        prices
            .entry((listing.neighbourhood.as_str(), listing.room_type.as_str()))
            .or_default()
            .push(listing.price);
    }
    for list in prices.values_mut() {
        list.sort_by(f64::total_cmp);
    }

    (0..count)
        .map(|index| {
            let ward_count = pick_weighted(&mut rng, &[(1, 65), (2, 25), (3, 10)]);
            let chosen_wards = wards.sample_distinct(&mut rng, ward_count);
            let room_type_count = pick_weighted(&mut rng, &[(1, 85), (2, 15)]);
            let chosen_room_types = room_types.sample_distinct(&mut rng, room_type_count);

            let mut typical: Vec<f64> = chosen_room_types
                .iter()
                .filter_map(|room_type| prices.get(&(chosen_wards[0], *room_type)))
                .flatten()
                .copied()
                .collect();
            if typical.is_empty() {
                typical = listings
                    .iter()
                    .filter(|l| l.neighbourhood == chosen_wards[0])
                    .map(|l| l.price)
                    .collect();
            }
            typical.sort_by(f64::total_cmp);
            let quantile = rng.random_range(0.1..0.4);
            let position = (quantile * (typical.len() - 1) as f64).round() as usize;
            let max_price = ((typical[position] / 500.0).ceil() * 500.0).max(1_000.0);

            let keywords = if rng.random_bool(0.2) {
                let how_many = if rng.random_bool(0.25) { 2 } else { 1 };
                KEYWORDS
                    .choose_multiple(&mut rng, how_many)
                    .map(|k| (*k).to_owned())
                    .collect()
            } else {
                Vec::new()
            };
            let near = rng.random_bool(0.1).then(|| {
                let (_, lat, lon) = PLACES.choose(&mut rng).copied().unwrap_or(PLACES[0]);
                let radius_km = *[0.5, 1.0, 1.5].choose(&mut rng).unwrap_or(&1.0);
                (lat, lon, radius_km)
            });
            let max_minimum_nights =
                pick_weighted(&mut rng, &[(1, 35), (2, 35), (3, 15), (7, 10), (30, 5)]);
            let frequency = pick_weighted(&mut rng, &[("instant", 2), ("daily", 5), ("weekly", 3)]);
            let locale = if rng.random_bool(0.15) { "en" } else { "ja" };

            DemoMember {
                email: format!("member{:05}@members.example.jp", index + 1),
                locale,
                frequency,
                digest_hour: rng.random_range(7..22),
                digest_weekday: rng.random_range(0..7),
                wards: chosen_wards.iter().map(|w| (*w).to_owned()).collect(),
                max_price,
                room_types: chosen_room_types.iter().map(|r| (*r).to_owned()).collect(),
                keywords,
                max_minimum_nights: max_minimum_nights as u32,
                near,
            }
        })
        .collect()
}

/// Distinct values weighted by how often they occur.
struct WeightedValues<'a> {
    values: Vec<&'a str>,
    weights: Vec<usize>,
}

fn weighted_values<'a>(items: impl Iterator<Item = &'a str>) -> WeightedValues<'a> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    WeightedValues {
        values: counts.keys().copied().collect(),
        weights: counts.values().copied().collect(),
    }
}

impl<'a> WeightedValues<'a> {
    /// Draws up to `count` distinct values, each draw weighted by occurrence.
    fn sample_distinct(&self, rng: &mut StdRng, count: usize) -> Vec<&'a str> {
        let mut weights = self.weights.clone();
        let mut chosen = Vec::with_capacity(count);
        for _ in 0..count.min(self.values.len()) {
            let Ok(distribution) = WeightedIndex::new(&weights) else {
                break;
            };
            let index = distribution.sample(rng);
            chosen.push(self.values[index]);
            weights[index] = 0;
        }
        chosen
    }
}

fn pick_weighted<T: Copy>(rng: &mut StdRng, choices: &[(T, u32)]) -> T {
    let total: u32 = choices.iter().map(|(_, weight)| weight).sum();
    let mut roll = rng.random_range(0..total);
    for (value, weight) in choices {
        if roll < *weight {
            return *value;
        }
        roll -= weight;
    }
    choices[choices.len() - 1].0
}

/// Writes the members as a CSV file for [`members::import::import_csv`].
pub fn members_csv(members: &[DemoMember]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "email",
        "locale",
        "frequency",
        "digest_hour",
        "digest_weekday",
        "wards",
        "max_price",
        "room_types",
        "keywords",
        "max_minimum_nights",
        "near",
    ])?;
    for member in members {
        let near = member
            .near
            .map(|(lat, lon, radius)| format!("{lat},{lon},{radius}"))
            .unwrap_or_default();
        writer.write_record([
            member.email.clone(),
            member.locale.to_owned(),
            member.frequency.to_owned(),
            member.digest_hour.to_string(),
            member.digest_weekday.to_string(),
            member.wards.join("|"),
            member.max_price.to_string(),
            member.room_types.join("|"),
            member.keywords.join("|"),
            member.max_minimum_nights.to_string(),
            near,
        ])?;
    }
    let bytes = writer.into_inner().context("cannot write the member CSV")?;
    String::from_utf8(bytes).context("the member CSV is not UTF-8")
}

// --- Matching, digests and the outbox ----------------------------------------------------------

/// How long to wait before checking again when a server's worker holds the tenant's lease.
const LEASE_POLL: Duration = Duration::from_millis(200);

/// Matches every pending listing. When a running server's worker holds the matching lease, the
/// call returns at once, so this waits until that worker has matched everything.
async fn match_until_done(db: &DatabaseConnection, tenant_id: TenantId) -> anyhow::Result<()> {
    let cache = IndexCache::default();
    loop {
        match_pending(db, &cache, tenant_id).await?;
        let pending = listing::Entity::find()
            .filter(listing::Column::TenantId.eq(tenant_id.0))
            .filter(listing::Column::MatchPending.ne(MATCH_PENDING_NONE))
            .count(db)
            .await?;
        if pending == 0 {
            return Ok(());
        }
        tokio::time::sleep(LEASE_POLL).await;
    }
}

/// Creates the digest of every daily and weekly member as of the latest scheduled digest time,
/// so each of them is due once. Returns that time, or `None` when no member takes digests.
async fn bundle_all_digests(
    db: &DatabaseConnection,
    tenant_id: TenantId,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let latest: Option<Option<DateTime<Utc>>> = member::Entity::find()
        .select_only()
        .expr(Expr::col(member::Column::NextDigestAt).max())
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .into_tuple()
        .one(db)
        .await?;
    let Some(as_of) = latest.flatten() else {
        return Ok(None);
    };
    loop {
        let due = member::Entity::find()
            .filter(member::Column::TenantId.eq(tenant_id.0))
            .filter(member::Column::NextDigestAt.lte(as_of))
            .count(db)
            .await?;
        if due == 0 {
            return Ok(Some(as_of));
        }
        // A call may return before every due member is handled, so count again.
        digests::create_due(db, tenant_id, as_of).await?;
    }
}

/// Renders every queued delivery, waiting like [`match_until_done`] for a server's worker.
async fn capture_until_done(
    db: &DatabaseConnection,
    sending: &SendingConfig,
    tenant_id: TenantId,
) -> anyhow::Result<()> {
    loop {
        capture::capture_queued(db, sending, tenant_id).await?;
        let queued = delivery::Entity::find()
            .filter(delivery::Column::TenantId.eq(tenant_id.0))
            .filter(delivery::Column::State.eq(DeliveryState::Queued.as_str()))
            .count(db)
            .await?;
        if queued == 0 {
            return Ok(());
        }
        tokio::time::sleep(LEASE_POLL).await;
    }
}

/// Counts what the run stored. Slug, credentials and times are left for the caller to fill in.
async fn count(db: &DatabaseConnection, tenant_id: TenantId) -> anyhow::Result<DemoReport> {
    let frequencies: Vec<(String, i64)> = member::Entity::find()
        .select_only()
        .column(member::Column::Frequency)
        .expr(Expr::col(member::Column::Id).count())
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .group_by(member::Column::Frequency)
        .into_tuple()
        .all(db)
        .await?;
    let listings = listing::Entity::find()
        .filter(listing::Column::TenantId.eq(tenant_id.0))
        .count(db)
        .await?;
    // Each set entry is one match.
    let set_bytes: Option<i64> = listing_match_set::Entity::find()
        .select_only()
        .expr(Expr::cust("SUM(LENGTH(entries))"))
        .filter(listing_match_set::Column::TenantId.eq(tenant_id.0))
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    let matches =
        u64::try_from(set_bytes.unwrap_or(0)).unwrap_or(0) / listing_match_set::ENTRY_BYTES as u64;
    let kinds_and_states: Vec<(String, String, i64)> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Kind)
        .column(delivery::Column::State)
        .expr(Expr::col(delivery::Column::Id).count())
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .group_by(delivery::Column::Kind)
        .group_by(delivery::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let members_with_mail = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::MemberId)
        .distinct()
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::MemberId.is_not_null())
        .into_tuple::<Option<Uuid>>()
        .all(db)
        .await?
        .len() as u64;

    let mut deliveries_by_kind = BTreeMap::new();
    let mut deliveries_by_state = BTreeMap::new();
    for (kind, state, number) in kinds_and_states {
        let number = u64::try_from(number).unwrap_or(0);
        let kind = DeliveryKind::parse(&kind).map_or(kind, |k| k.as_str().to_owned());
        *deliveries_by_kind.entry(kind).or_default() += number;
        *deliveries_by_state.entry(state).or_default() += number;
    }
    let members_by_frequency: BTreeMap<String, u64> = frequencies
        .into_iter()
        .map(|(frequency, number)| (frequency, u64::try_from(number).unwrap_or(0)))
        .collect();
    Ok(DemoReport {
        tenant_id,
        slug: String::new(),
        operator_email: String::new(),
        operator_password: String::new(),
        members: members_by_frequency.values().sum(),
        members_by_frequency,
        listings,
        listings_rejected: 0,
        matches,
        deliveries_by_kind,
        deliveries_by_state,
        members_with_mail,
        digests_as_of: None,
        times: PhaseTimes::default(),
    })
}

/// Deletes a tenant and everything it owns, for `--reset`.
///
/// Matches, update notices, deliveries, members and listings are deleted by tenant first: left
/// to `ON DELETE CASCADE` from the tenant row, each deleted member or listing would look up its
/// matches by a column that no index starts with.
async fn delete_tenant(db: &DatabaseConnection, tenant_id: TenantId) -> anyhow::Result<()> {
    let tx = domain::db::begin_write(db).await?;
    match_update::Entity::delete_many()
        .filter(match_update::Column::TenantId.eq(tenant_id.0))
        .exec(&tx)
        .await?;
    listing_match_set::Entity::delete_many()
        .filter(listing_match_set::Column::TenantId.eq(tenant_id.0))
        .exec(&tx)
        .await?;
    tx.execute(
        &Query::delete()
            .from_table(Alias::new("digest_items"))
            .and_where(Expr::col(Alias::new("tenant_id")).eq(tenant_id.0))
            .to_owned(),
    )
    .await?;
    delivery::Entity::delete_many()
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .exec(&tx)
        .await?;
    member::Entity::delete_many()
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .exec(&tx)
        .await?;
    listing::Entity::delete_many()
        .filter(listing::Column::TenantId.eq(tenant_id.0))
        .exec(&tx)
        .await?;
    tenant::Entity::delete_by_id(tenant_id.0).exec(&tx).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, "demo tenant deleted");
    Ok(())
}

// --- Output ------------------------------------------------------------------------------------

/// Formats the report as the command prints it.
pub fn format_report(report: &DemoReport, database: &str) -> String {
    let mut out = String::new();
    let seconds = |duration: Duration| format!("{:>8.2} s", duration.as_secs_f64());
    let by = |counts: &BTreeMap<String, u64>| {
        counts
            .iter()
            .map(|(key, number)| format!("{key} {number}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let times = &report.times;

    let _ = writeln!(out, "Demo tenant {:?} is ready in {database}.", report.slug);
    let _ = writeln!(
        out,
        "Start the server with scripts/start, open http://127.0.0.1:8080/ and log in with:"
    );
    let _ = writeln!(out, "  tenant slug   {}", report.slug);
    let _ = writeln!(out, "  email         {}", report.operator_email);
    let _ = writeln!(out, "  password      {}", report.operator_password);
    let _ = writeln!(out);

    let _ = writeln!(
        out,
        "members             {:>9}  ({})",
        report.members,
        by(&report.members_by_frequency)
    );
    let _ = writeln!(
        out,
        "listings            {:>9}  (rejected {})",
        report.listings, report.listings_rejected
    );
    let _ = writeln!(out, "matches             {:>9}", report.matches);
    let _ = writeln!(
        out,
        "deliveries          {:>9}  ({}; {})",
        report.deliveries(),
        by(&report.deliveries_by_kind),
        by(&report.deliveries_by_state)
    );
    let _ = writeln!(out, "members with mail   {:>9}", report.members_with_mail);
    if let Some(as_of) = report.digests_as_of {
        let _ = writeln!(
            out,
            "digests bundled as of {} (the latest scheduled digest, so each digest member is due once)",
            as_of.format("%Y-%m-%d %H:%M UTC")
        );
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "schema              {}", seconds(times.schema));
    let _ = writeln!(out, "members             {}", seconds(times.members));
    let _ = writeln!(out, "listings in         {}", seconds(times.listings_in));
    let _ = writeln!(out, "matching            {}", seconds(times.matching));
    let _ = writeln!(
        out,
        "deliveries recorded {}",
        seconds(times.deliveries_recorded)
    );
    let rendered = times
        .outbox_rendered
        .map_or_else(|| "  left queued".to_owned(), seconds);
    let _ = writeln!(out, "outbox rendered     {rendered}");
    let _ = writeln!(
        out,
        "listings in to deliveries recorded {}",
        seconds(times.listings_to_deliveries())
    );
    out
}
