//! The demo tenant on the 300-listing sample: the matches and mails the product recorded must
//! equal a plain filter over the CSV rows, written here without the matching engine.

use std::{
    collections::{BTreeSet, HashMap},
    path::PathBuf,
};

use domain::{
    DeliveryId, TenantId,
    entities::{delivery, listing, listing_match_set, member},
    outbox,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Deserialize;
use serde_json::{Map, Value};
use server::demo::{self, DemoOptions};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::{
    helpers::{Database, Queue, spawn_app},
    on_both_databases,
};

const MEMBERS: usize = 300;

#[derive(Debug, Deserialize)]
struct Row {
    id: String,
    name: String,
    neighbourhood: String,
    latitude: f64,
    longitude: f64,
    room_type: String,
    price: f64,
    minimum_nights: f64,
}

fn sample_csv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokyo_listings_sample.csv")
}

fn read_rows() -> Vec<Row> {
    csv::Reader::from_path(sample_csv())
        .unwrap()
        .deserialize()
        .map(|row| row.unwrap())
        .collect()
}

/// NFKC, trimmed and lower-cased, as the product compares keywords.
fn fold(text: &str) -> String {
    text.nfkc().collect::<String>().trim().to_lowercase()
}

fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6_371.0 * h.sqrt().asin()
}

fn strings(profile: &Map<String, Value>, field: &str) -> Vec<String> {
    profile
        .get(field)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// What the demo's three rules give one stored profile. A rule counts only when the member
/// filled in every profile field it uses.
#[derive(Default)]
struct Expected {
    /// External ids of the listings any rule matches.
    listings: BTreeSet<String>,
    /// Listings that only the keyword rule matches.
    keyword_only: usize,
    /// Listings that only the rule on the place and radius matches.
    near_only: usize,
}

fn expected_listings(rows: &[Row], profile: &Map<String, Value>) -> Expected {
    let wards = strings(profile, "wards");
    let room_types = strings(profile, "room_types");
    let keywords: Vec<String> = strings(profile, "keywords")
        .iter()
        .map(|k| fold(k))
        .collect();
    let max_price = profile.get("max_price").and_then(Value::as_f64);
    let max_nights = profile.get("max_minimum_nights").and_then(Value::as_f64);
    let near = profile.get("near").map(|near| {
        (
            near["lat"].as_f64().unwrap(),
            near["lon"].as_f64().unwrap(),
            near["radiusKm"].as_f64().unwrap(),
        )
    });

    let mut expected = Expected::default();
    for row in rows {
        let in_wards = wards.contains(&row.neighbourhood);
        let in_room_types = room_types.contains(&row.room_type);
        let within_price = max_price.is_some_and(|max| row.price <= max);
        let within_nights = max_nights.is_some_and(|max| row.minimum_nights <= max);
        let area_rule = in_wards && within_price && in_room_types && within_nights;
        let name = fold(&row.name);
        let keyword_rule = keywords
            .iter()
            .any(|keyword| name.contains(keyword.as_str()))
            && in_wards
            && within_price
            && in_room_types;
        let near_rule = near.is_some_and(|(lat, lon, radius)| {
            distance_km((row.latitude, row.longitude), (lat, lon)) <= radius
        }) && within_price
            && in_room_types
            && within_nights;
        if area_rule || keyword_rule || near_rule {
            expected.listings.insert(row.id.clone());
        }
        if keyword_rule && !area_rule && !near_rule {
            expected.keyword_only += 1;
        }
        if near_rule && !area_rule && !keyword_rule {
            expected.near_only += 1;
        }
    }
    expected
}

async fn demo_matches_equal_plain_filter(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let db = &app.state.db;
    let options = DemoOptions {
        members: MEMBERS,
        seed: 7,
        csv: sample_csv(),
        ..DemoOptions::default()
    };
    let report = demo::run(db, &app.state.sending, &options).await.unwrap();
    let rows = read_rows();
    assert_eq!(report.listings, rows.len() as u64);
    assert_eq!(report.listings_rejected, 0);
    assert_eq!(report.members, MEMBERS as u64);
    assert!(report.matches > 0, "the demo matched nothing");
    assert_eq!(
        report.deliveries_by_state.get("queued"),
        None,
        "mails left queued"
    );
    assert_eq!(
        report.deliveries_by_state.get("failed"),
        None,
        "mails failed to render"
    );
    let tenant_id = report.tenant_id;

    let external_ids: HashMap<Uuid, String> = listing::Entity::find()
        .select_only()
        .columns([listing::Column::Id, listing::Column::ExternalId])
        .filter(listing::Column::TenantId.eq(tenant_id.0))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    // The demo bundles every digest, so no mail may be left collecting; each member's mails
    // are compared with their matches below.
    assert_eq!(
        report.deliveries_by_state.get("collecting"),
        None,
        "digests left collecting"
    );
    let mut matched: HashMap<Uuid, BTreeSet<String>> = HashMap::new();
    let sets = listing_match_set::Entity::find()
        .filter(listing_match_set::Column::TenantId.eq(tenant_id.0))
        .all(db)
        .await
        .unwrap();
    let mut recorded = 0;
    for set in &sets {
        for (member_id, _) in set.matches() {
            recorded += 1;
            matched
                .entry(member_id)
                .or_default()
                .insert(external_ids[&set.listing_id].clone());
        }
    }
    assert_eq!(recorded, report.matches, "matches counted by the report");

    let mut members: Vec<(Uuid, String, String)> = member::Entity::find()
        .select_only()
        .columns([
            member::Column::Id,
            member::Column::Email,
            member::Column::Profile,
        ])
        .filter(member::Column::TenantId.eq(tenant_id.0))
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    members.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(members.len(), MEMBERS);
    let mut non_empty = 0;
    let mut keyword_only = 0;
    let mut near_only = 0;
    for (member_id, email, profile) in &members {
        let profile: Map<String, Value> = serde_json::from_str(profile).unwrap();
        let expected = expected_listings(&rows, &profile);
        let actual = matched.get(member_id).cloned().unwrap_or_default();
        assert_eq!(
            actual, expected.listings,
            "matches of {email} with profile {profile:?}"
        );

        let mailed = mailed_listings(&app, tenant_id, *member_id).await;
        assert_eq!(mailed, expected.listings, "mailed listings of {email}");
        if !expected.listings.is_empty() {
            non_empty += 1;
        }
        keyword_only += expected.keyword_only;
        near_only += expected.near_only;
    }
    // The comparison proves something only when most members expect listings (on the 300-row
    // sample, about 6 in 10 do) and when each of the narrower rules adds listings of its own.
    assert!(
        non_empty * 2 > MEMBERS,
        "only {non_empty} of {MEMBERS} members expect any listing"
    );
    assert!(keyword_only > 0, "no listing matches by keyword alone");
    assert!(near_only > 0, "no listing matches by place alone");
    app.stop().await;
}

/// Collects the external ids of the listings in every mail the member got.
async fn mailed_listings(
    app: &crate::helpers::TestApp,
    tenant_id: TenantId,
    member_id: Uuid,
) -> BTreeSet<String> {
    let deliveries: Vec<Uuid> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(delivery::Column::TenantId.eq(tenant_id.0))
        .filter(delivery::Column::MemberId.eq(member_id))
        .into_tuple()
        .all(&app.state.db)
        .await
        .unwrap();
    let mut mailed = BTreeSet::new();
    for delivery_id in deliveries {
        let items = outbox::items(&app.state.db, tenant_id, DeliveryId(delivery_id))
            .await
            .unwrap();
        assert!(
            !items.is_empty(),
            "delivery {delivery_id} carries no listing"
        );
        for item in items {
            assert!(
                mailed.insert(item.external_id.clone()),
                "listing {} mailed twice to member {member_id}",
                item.external_id
            );
        }
    }
    mailed
}

on_both_databases!(demo_matches_equal_plain_filter);
