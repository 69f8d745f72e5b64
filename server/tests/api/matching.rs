//! Matching mail through the API: one mail per member and listing whatever re-imports, updates,
//! concurrent jobs or rule edits happen; range, boundary and missing-value semantics on the
//! numbers Japanese feeds write; "why did I get this?".

use std::{collections::BTreeMap, time::Duration};

use serde_json::{Value, json};

use crate::{
    helpers::{Database, Queue, TestApp, error_code, spawn_app},
    on_both_databases,
};

const RENTAL_SCHEMA: &str =
    "mutation($fields: [ListingFieldInput!]!) { setListingSchema(fields: $fields) { name } }";
const PROFILE_FIELDS: &str =
    "mutation($fields: [ListingFieldInput!]!) { setProfileFields(fields: $fields) { name } }";
const CREATE_RULE: &str =
    "mutation($rule: MatchRuleInput!) { createMatchRule(rule: $rule) { id } }";
const CREATE_MEMBER: &str =
    "mutation($member: MemberInput!) { createMember(member: $member) { id } }";
const UPSERT: &str = "mutation($listings: [ListingInput!]!) { upsertListings(listings: $listings) { created updated unchanged rejected errors { field code } } }";
const DELIVERIES: &str = "query($member: ID) { deliveries(first: 200, memberId: $member) { totalCount nodes { toAddress kind state subject textBody headers items { externalId update ruleName reasons { field listingValue condition held } } } } }";

/// A rental tenant: ward, rent (a number or a range), rooms (read from the floor plan), title
/// and minutes on foot from the station.
pub(crate) async fn rental_tenant(app: &TestApp, slug: &str) -> String {
    let token = app.sign_up(slug).await;
    let schema = json!([
        { "name": "title", "fieldType": "TEXT", "labelJa": "物件名", "labelEn": "Title", "required": true },
        { "name": "area", "fieldType": "ENUM", "labelJa": "エリア", "labelEn": "Area", "options": [
            { "value": "shibuya", "labelJa": "渋谷区", "labelEn": "Shibuya" },
            { "value": "shinjuku", "labelJa": "新宿区", "labelEn": "Shinjuku" },
        ]},
        { "name": "rent", "fieldType": "NUMBER", "labelJa": "賃料", "labelEn": "Rent" },
        { "name": "rooms", "fieldType": "NUMBER", "labelJa": "部屋数", "labelEn": "Rooms" },
        { "name": "walk", "fieldType": "NUMBER", "labelJa": "駅徒歩（分）", "labelEn": "Walk (min)" },
    ]);
    let body = app
        .graphql(Some(&token), RENTAL_SCHEMA, json!({ "fields": schema }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let profile = json!([
        { "name": "areas", "fieldType": "ENUM", "labelJa": "希望エリア", "labelEn": "Areas", "options": [
            { "value": "shibuya", "labelJa": "渋谷区", "labelEn": "Shibuya" },
            { "value": "shinjuku", "labelJa": "新宿区", "labelEn": "Shinjuku" },
        ]},
        { "name": "max_rent", "fieldType": "NUMBER", "labelJa": "賃料の上限", "labelEn": "Maximum rent" },
        { "name": "min_rent", "fieldType": "NUMBER", "labelJa": "賃料の下限", "labelEn": "Minimum rent" },
        { "name": "min_rooms", "fieldType": "NUMBER", "labelJa": "部屋数の下限", "labelEn": "Minimum rooms" },
        { "name": "keywords", "fieldType": "TAGS", "labelJa": "キーワード", "labelEn": "Keywords" },
        { "name": "max_walk", "fieldType": "NUMBER", "labelJa": "駅徒歩の上限", "labelEn": "Maximum walk" },
    ]);
    let body = app
        .graphql(Some(&token), PROFILE_FIELDS, json!({ "fields": profile }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    token
}

async fn create_rule(app: &TestApp, token: &str, name: &str, clauses: Value) -> String {
    let body = app
        .graphql(
            Some(token),
            CREATE_RULE,
            json!({ "rule": { "name": name, "clauses": clauses } }),
        )
        .await;
    body["data"]["createMatchRule"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("rule {name} was rejected: {body}"))
        .to_owned()
}

pub(crate) async fn create_member(
    app: &TestApp,
    token: &str,
    email: &str,
    profile: Value,
) -> String {
    let body = app
        .graphql(
            Some(token),
            CREATE_MEMBER,
            json!({ "member": { "email": email, "profile": profile } }),
        )
        .await;
    body["data"]["createMember"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("member {email} was rejected: {body}"))
        .to_owned()
}

pub(crate) async fn upsert(app: &TestApp, token: &str, listings: Value) -> Value {
    let body = app
        .graphql(Some(token), UPSERT, json!({ "listings": listings }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["upsertListings"].clone()
}

/// Waits until no listing waits for matching and no delivery waits for rendering.
pub(crate) async fn settle(app: &TestApp) {
    let db = &app.state.db;
    for _ in 0..300 {
        let pending = domain::matching::run::tenants_with_pending(db)
            .await
            .unwrap();
        let queued = domain::outbox::tenants_with_queued(db).await.unwrap();
        if pending.is_empty() && queued.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("matching and the outbox did not settle within 30 s");
}

pub(crate) async fn deliveries(app: &TestApp, token: &str, member: Option<&str>) -> Vec<Value> {
    let body = app
        .graphql(Some(token), DELIVERIES, json!({ "member": member }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["deliveries"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// External ids mailed to each address, with how often each was mailed.
fn mailed(deliveries: &[Value]) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut by_address: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for delivery in deliveries {
        let address = delivery["toAddress"].as_str().unwrap().to_owned();
        for item in delivery["items"].as_array().unwrap() {
            let id = item["externalId"].as_str().unwrap().to_owned();
            *by_address
                .entry(address.clone())
                .or_default()
                .entry(id)
                .or_default() += 1;
        }
    }
    by_address
}

pub(crate) fn l1(rent: i64) -> Value {
    json!([{ "externalId": "TK-000123", "fields": {
        "title": "渋谷 2LDK ペット可 駅徒歩4分", "area": "渋谷区", "rent": rent, "rooms": "2LDK", "walk": 4,
    }}])
}

pub(crate) async fn three_rules(app: &TestApp, token: &str) -> [String; 3] {
    [
        create_rule(app, token, "エリアと賃料", json!([
            { "listingField": "area", "operator": "IN_SET", "profileField": "areas" },
            { "listingField": "rent", "operator": "AT_MOST", "profileField": "max_rent" },
        ])).await,
        create_rule(app, token, "間取りとキーワード", json!([
            { "listingField": "rooms", "operator": "AT_LEAST", "profileField": "min_rooms" },
            { "listingField": "title", "operator": "CONTAINS_KEYWORD", "profileField": "keywords" },
        ])).await,
        create_rule(app, token, "駅からの距離", json!([
            { "listingField": "walk", "operator": "AT_MOST", "profileField": "max_walk" },
        ])).await,
    ]
}

/// One listing, one member, at most one mail: several matching rules, re-delivery of the feed,
/// an update, two concurrent matching runs and a re-created condition send nothing more, and
/// another tenant with the same external id is independent.
async fn listing_is_mailed_once_per_member(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, "case-twelve").await;
    let [area_rule, _, _] = three_rules(&app, &token).await;
    let member1 = create_member(&app, &token, "member1@example.com", json!({
        "areas": ["渋谷区"], "max_rent": 100000, "min_rooms": 2, "keywords": ["ペット可"], "max_walk": 5,
    })).await;
    let member2 = create_member(
        &app,
        &token,
        "member2@example.com",
        json!({
            "areas": ["渋谷区"], "max_rent": 100000,
        }),
    )
    .await;

    // 1. First ingestion.
    assert_eq!(upsert(&app, &token, l1(98_000)).await["created"], 1);
    settle(&app).await;
    let first = deliveries(&app, &token, None).await;
    assert_eq!(first.len(), 2, "{first:#?}");
    let first_mail = first
        .iter()
        .find(|d| d["toAddress"] == "member1@example.com")
        .unwrap();
    assert_eq!(first_mail["state"], "CAPTURED");
    assert!(
        first_mail["subject"]
            .as_str()
            .unwrap()
            .contains("渋谷 2LDK")
    );
    assert_eq!(first_mail["items"][0]["ruleName"], "エリアと賃料");

    // 2. The feed delivers the same listing again.
    assert_eq!(upsert(&app, &token, l1(98_000)).await["unchanged"], 1);
    // 3. An update: rent 97,000. "Notify on change" is off, so it mails nothing.
    assert_eq!(upsert(&app, &token, l1(97_000)).await["updated"], 1);
    settle(&app).await;
    // 4. Two matching runs at once for the same listing (plus the server's own workers).
    let db = app.state.db.clone();
    let tenant_id = domain::TenantId(
        uuid::Uuid::parse_str(
            app.graphql(Some(&token), "{ viewer { tenant { id } } }", json!({}))
                .await["data"]["viewer"]["tenant"]["id"]
                .as_str()
                .unwrap(),
        )
        .unwrap(),
    );
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        &format!(
            "UPDATE listings SET match_pending = 1 WHERE tenant_id = '{}'",
            tenant_id.0
        ),
    )
    .await
    .ok();
    let (cache_a, cache_b) = (Default::default(), Default::default());
    let (a, b) = tokio::join!(
        domain::matching::run::match_pending(&db, &cache_a, tenant_id),
        domain::matching::run::match_pending(&db, &cache_b, tenant_id),
    );
    assert_eq!(a.unwrap().deliveries + b.unwrap().deliveries, 0);
    // 5. Member 1 drops the area condition and adds it back; the rule is re-created too.
    let body = app.graphql(Some(&token),
        "mutation($id: ID!, $member: MemberInput!) { updateMember(id: $id, member: $member) { id } }",
        json!({ "id": member1, "member": { "email": "member1@example.com", "profile": { "min_rooms": 2, "keywords": ["ペット可"], "max_walk": 5 } } }),
    ).await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app.graphql(Some(&token),
        "mutation($id: ID!, $member: MemberInput!) { updateMember(id: $id, member: $member) { id } }",
        json!({ "id": member1, "member": { "email": "member1@example.com", "profile": {
            "areas": ["渋谷区"], "max_rent": 100000, "min_rooms": 2, "keywords": ["ペット可"], "max_walk": 5,
        } } }),
    ).await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app
        .graphql(
            Some(&token),
            "mutation($id: ID!) { deleteMatchRule(id: $id) }",
            json!({ "id": area_rule }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    create_rule(
        &app,
        &token,
        "エリアと賃料",
        json!([
            { "listingField": "area", "operator": "IN_SET", "profileField": "areas" },
            { "listingField": "rent", "operator": "AT_MOST", "profileField": "max_rent" },
        ]),
    )
    .await;
    upsert(&app, &token, l1(97_000)).await;
    upsert(&app, &token, l1(96_000)).await;
    settle(&app).await;

    let all = mailed(&deliveries(&app, &token, None).await);
    assert_eq!(all["member1@example.com"]["TK-000123"], 1);
    assert_eq!(all["member2@example.com"]["TK-000123"], 1);
    assert_eq!(deliveries(&app, &token, Some(&member1)).await.len(), 1);
    assert_eq!(deliveries(&app, &token, Some(&member2)).await.len(), 1);

    // Another tenant with the same external id mails its own members.
    let other = rental_tenant(&app, "case-twelve-b").await;
    three_rules(&app, &other).await;
    create_member(
        &app,
        &other,
        "member1@example.com",
        json!({ "areas": ["渋谷区"], "max_rent": 100000 }),
    )
    .await;
    upsert(&app, &other, l1(98_000)).await;
    settle(&app).await;
    let theirs = deliveries(&app, &other, None).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(deliveries(&app, &token, None).await.len(), 2);
    app.stop().await;
}
on_both_databases!(listing_is_mailed_once_per_member);

/// With "notify on change" on, an update mails each matched member once more, labelled as an
/// update, and the same update delivered twice mails nothing more. A member whom only the new
/// version matches gets it as a new listing, explained like any other.
async fn notify_on_change_mails_one_update(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, "notify").await;
    three_rules(&app, &token).await;
    create_member(
        &app,
        &token,
        "member1@example.com",
        json!({ "areas": ["渋谷区"], "max_rent": 100000 }),
    )
    .await;
    let late = create_member(
        &app,
        &token,
        "member2@example.com",
        json!({ "areas": ["渋谷区"], "max_rent": 97500 }),
    )
    .await;
    let body = app
        .graphql(
            Some(&token),
            "mutation { setNotifyOnChange(enabled: true) { notifyOnChange } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["setNotifyOnChange"]["notifyOnChange"], true,
        "{body}"
    );

    upsert(&app, &token, l1(98_000)).await;
    settle(&app).await;
    upsert(&app, &token, l1(97_000)).await;
    settle(&app).await;
    upsert(&app, &token, l1(97_000)).await;
    settle(&app).await;

    let all = deliveries(&app, &token, None).await;
    assert_eq!(all.len(), 3, "{all:#?}");
    let late_mail = deliveries(&app, &token, Some(&late)).await;
    assert_eq!(late_mail.len(), 1, "{late_mail:#?}");
    assert_eq!(late_mail[0]["kind"], "LISTING");
    assert_eq!(late_mail[0]["items"][0]["update"], false);
    assert_eq!(
        late_mail[0]["items"][0]["reasons"][1]["listingValue"], "97,000",
        "{late_mail:#?}"
    );
    let update = all
        .iter()
        .find(|d| d["kind"] == "LISTING_UPDATE")
        .expect("an update mail");
    assert!(
        update["subject"].as_str().unwrap().starts_with("【更新】"),
        "{update}"
    );
    assert_eq!(update["items"][0]["update"], true);
    // The reasons show the values of the version that was mailed, not the first one.
    assert_eq!(
        update["items"][0]["reasons"][1]["listingValue"], "97,000",
        "{update}"
    );
    let body = app
        .graphql(
            Some(&token),
            "{ delivery(id: \"not-an-id\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["reason"], "INVALID_ID",
        "{body}"
    );
    app.stop().await;
}
on_both_databases!(notify_on_change_mails_one_update);

/// The rent table: inclusive bounds, unit ranges compared by overlap, one-sided ranges through
/// their known side, a missing rent matching no rent condition, and Japanese number forms.
async fn ranges_boundaries_and_missing_values(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, "case-thirteen").await;
    create_rule(
        &app,
        &token,
        "賃料の上限",
        json!([{ "listingField": "rent", "operator": "AT_MOST", "profileField": "max_rent" }]),
    )
    .await;
    create_rule(
        &app,
        &token,
        "賃料の下限",
        json!([{ "listingField": "rent", "operator": "AT_LEAST", "profileField": "min_rent" }]),
    )
    .await;
    create_rule(
        &app,
        &token,
        "部屋数",
        json!([{ "listingField": "rooms", "operator": "AT_LEAST", "profileField": "min_rooms" }]),
    )
    .await;
    create_member(
        &app,
        &token,
        "m1@example.com",
        json!({ "max_rent": "100000" }),
    )
    .await;
    create_member(&app, &token, "m2@example.com", json!({ "min_rent": "6万" })).await;
    create_member(&app, &token, "m3@example.com", json!({ "min_rooms": 2 })).await;

    let rows = [
        ("L1", Some("100000"), "2LDK"),
        ("L2", Some("10万円"), "1K"),
        ("L3", Some("9.8万円"), "２ＬＤＫ"),
        ("L4", Some("5.5万円～6.75万円"), "1R"),
        ("L5", Some("12万円～"), "3LDK"),
        ("L6", Some("～9万円"), "1DK"),
        ("L7", None, "1K～2K"),
        ("L8", Some("100,001"), "2K"),
        ("L9", Some("９８０００円"), "2DK"),
    ];
    let listings: Vec<Value> = rows
        .iter()
        .map(|(id, rent, layout)| {
            let mut fields = json!({ "title": format!("物件 {id}"), "rooms": layout });
            if let Some(rent) = rent {
                fields["rent"] = json!(rent);
            }
            json!({ "externalId": id, "fields": fields })
        })
        .collect();
    let report = upsert(&app, &token, Value::Array(listings)).await;
    assert_eq!(report["created"], 9, "{report}");
    settle(&app).await;

    let all = deliveries(&app, &token, None).await;
    let got = mailed(&all);
    let ids = |address: &str| -> Vec<String> {
        got.get(address)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(ids("m1@example.com"), ["L1", "L2", "L3", "L4", "L6", "L9"]);
    assert_eq!(
        ids("m2@example.com"),
        ["L1", "L2", "L3", "L4", "L5", "L6", "L8", "L9"]
    );
    assert_eq!(ids("m3@example.com"), ["L1", "L3", "L5", "L7", "L8", "L9"]);
    assert!(
        got.values()
            .all(|by_id| by_id.values().all(|count| *count == 1))
    );

    // "Why did I get this?" shows the parsed numbers.
    let l4 = all
        .iter()
        .find(|d| d["toAddress"] == "m1@example.com" && d["items"][0]["externalId"] == "L4")
        .unwrap();
    let reason = &l4["items"][0]["reasons"][0];
    assert_eq!(reason["field"], "賃料");
    assert_eq!(reason["listingValue"], "55,000～67,500");
    assert_eq!(reason["condition"], "100,000以下");
    assert_eq!(reason["held"], true);
    app.stop().await;
}
on_both_databases!(ranges_boundaries_and_missing_values);

/// A listing name with line breaks or 2,000 characters cannot add a header or break one.
async fn hostile_listing_name_cannot_break_headers(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, "headers").await;
    create_rule(
        &app,
        &token,
        "賃料の上限",
        json!([{ "listingField": "rent", "operator": "AT_MOST", "profileField": "max_rent" }]),
    )
    .await;
    create_member(
        &app,
        &token,
        "m1@example.com",
        json!({ "max_rent": 100000 }),
    )
    .await;
    let long_name = "長".repeat(2_000);
    upsert(&app, &token, json!([
        { "externalId": "A", "fields": { "title": "一行目\r\nBcc: victim@example.com\r\n\r\n本文", "rent": 1 } },
        { "externalId": "B", "fields": { "title": long_name, "rent": 1 } },
    ])).await;
    settle(&app).await;
    let all = deliveries(&app, &token, None).await;
    assert_eq!(all.len(), 2);
    for delivery in &all {
        let headers = delivery["headers"].as_str().unwrap();
        assert!(
            !headers.to_ascii_lowercase().contains("\r\nbcc:"),
            "{headers}"
        );
        assert!(headers.split("\r\n").all(|line| line.len() <= 998));
        assert!(!delivery["subject"].as_str().unwrap().contains('\n'));
        assert!(delivery["subject"].as_str().unwrap().chars().count() <= 201);
    }
    app.stop().await;
}
on_both_databases!(hostile_listing_name_cannot_break_headers);

/// Rules and members with bad values are rejected with the field and value named.
async fn bad_rules_and_profiles_are_rejected_with_the_value(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, "bad-input").await;
    let body = app.graphql(Some(&token), CREATE_RULE, json!({ "rule": { "name": "x", "clauses": [
        { "listingField": "rent", "operator": "CONTAINS_KEYWORD", "profileField": "keywords" },
    ]}})).await;
    assert_eq!(error_code(&body), "VALIDATION");
    assert_eq!(
        body["errors"][0]["extensions"]["reason"], "OPERATOR_NOT_ALLOWED",
        "{body}"
    );
    let body = app
        .graphql(
            Some(&token),
            CREATE_RULE,
            json!({ "rule": { "name": "x", "clauses": [
                { "listingField": "colour", "operator": "IN_SET", "value": ["red"] },
            ]}}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["reason"], "UNKNOWN_FIELD",
        "{body}"
    );
    let body = app
        .graphql(
            Some(&token),
            CREATE_MEMBER,
            json!({ "member": { "email": "m@example.com", "profile": { "max_rent": "高い" } } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["reason"], "NOT_A_NUMBER",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("高い"),
        "{body}"
    );
    let body = app
        .graphql(
            Some(&token),
            CREATE_MEMBER,
            json!({ "member": { "email": "m@example.com", "profile": { "areas": "大阪市" } } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["reason"], "UNKNOWN_OPTION",
        "{body}"
    );
    let body = app
        .graphql(Some(&token), "{ members { totalCount } }", json!({}))
        .await;
    assert_eq!(body["data"]["members"]["totalCount"], 0, "{body}");
    app.stop().await;
}
on_both_databases!(bad_rules_and_profiles_are_rejected_with_the_value);

/// Members imported by CSV: labels as column names, several choices in a cell, row errors
/// with the row and value, valid rows stored.
async fn members_import_from_csv_with_row_errors(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, "member-csv").await;
    let csv = "email,希望エリア,max_rent,frequency\n\
               a@example.com,渋谷区|新宿区,10万円,instant\n\
               b@example.com,大阪市,9万,daily\n\
               c@example.com,,8万,毎週\n";
    let body = app.graphql(Some(&token),
        "mutation($csv: String!) { importMembers(csv: $csv) { created updated rejected errors { index field value code } } }",
        json!({ "csv": csv }),
    ).await;
    let result = &body["data"]["importMembers"];
    assert_eq!(result["created"], 2, "{body}");
    assert_eq!(result["rejected"], 1, "{body}");
    assert_eq!(result["errors"][0]["index"], 3);
    assert_eq!(result["errors"][0]["value"], "大阪市");
    let body = app
        .graphql(
            Some(&token),
            "{ members { nodes { email frequency profile } } }",
            json!({}),
        )
        .await;
    let nodes = body["data"]["members"]["nodes"].as_array().unwrap();
    let a = nodes
        .iter()
        .find(|m| m["email"] == "a@example.com")
        .unwrap();
    assert_eq!(a["profile"]["areas"], json!(["shibuya", "shinjuku"]));
    assert_eq!(a["profile"]["max_rent"], 100000);
    let c = nodes
        .iter()
        .find(|m| m["email"] == "c@example.com")
        .unwrap();
    assert_eq!(c["frequency"], "WEEKLY");
    app.stop().await;
}
on_both_databases!(members_import_from_csv_with_row_errors);

/// Members sorted by address, as the list shows them.
async fn member_rows(app: &TestApp, token: &str) -> Vec<Value> {
    let body = app
        .graphql(
            Some(token),
            "{ members(first: 200) { nodes { email subscribed locale frequency profile } } }",
            json!({}),
        )
        .await;
    let mut rows = body["data"]["members"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    rows.sort_by_key(|row| row["email"].as_str().unwrap_or_default().to_owned());
    rows
}

/// The CSV export imports into another tenant with the same profile fields unchanged,
/// unsubscribed members included. Importing it again with `active` subscribes no member again.
async fn members_export_imports_unchanged(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let first = rental_tenant(&app, "export-a").await;
    let second = rental_tenant(&app, "export-b").await;
    let leaver = create_member(
        &app,
        &first,
        "leaver@example.com",
        json!({ "areas": ["渋谷区", "新宿区"], "max_rent": 100000 }),
    )
    .await;
    create_member(
        &app,
        &first,
        "range@example.com",
        json!({ "max_rent": "8万～10万" }),
    )
    .await;
    create_member(&app, &first, "empty@example.com", json!({})).await;
    let body = app
        .graphql(
            Some(&first),
            "mutation($id: ID!) { setMemberSubscribed(id: $id, subscribed: false) { id } }",
            json!({ "id": leaver }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    let export = "{ exportMembers }";
    let body = app.graphql(Some(&first), export, json!({})).await;
    let csv = body["data"]["exportMembers"].as_str().unwrap().to_owned();
    assert!(
        csv.starts_with("email,status,locale,frequency,digest_hour,digest_weekday,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let import =
        "mutation($csv: String!) { importMembers(csv: $csv) { created updated rejected } }";
    let body = app
        .graphql(Some(&second), import, json!({ "csv": csv }))
        .await;
    assert_eq!(body["data"]["importMembers"]["created"], 3, "{body}");
    assert_eq!(body["data"]["importMembers"]["rejected"], 0, "{body}");
    assert_eq!(
        member_rows(&app, &second).await,
        member_rows(&app, &first).await
    );

    let resubscribe = csv.replace(",unsubscribed,", ",active,");
    let body = app
        .graphql(Some(&second), import, json!({ "csv": resubscribe }))
        .await;
    assert_eq!(body["data"]["importMembers"]["updated"], 3, "{body}");
    let rows = member_rows(&app, &second).await;
    let leaver = rows
        .iter()
        .find(|row| row["email"] == "leaver@example.com")
        .unwrap();
    assert_eq!(
        leaver["subscribed"], false,
        "an import never subscribes again"
    );
    app.stop().await;
}
on_both_databases!(members_export_imports_unchanged);

/// A daily member gets no instant mail; at their digest time the waiting matches go out as one
/// digest, and the next digest waits for new matches.
async fn daily_member_gets_one_digest(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, "digest").await;
    create_rule(
        &app,
        &token,
        "賃料の上限",
        json!([{ "listingField": "rent", "operator": "AT_MOST", "profileField": "max_rent" }]),
    )
    .await;
    let body = app.graphql(Some(&token), CREATE_MEMBER, json!({ "member": {
        "email": "daily@example.com", "frequency": "DAILY", "digestHour": 8, "profile": { "max_rent": 100000 },
    }})).await;
    assert!(body["errors"].is_null(), "{body}");
    upsert(
        &app,
        &token,
        json!([
            { "externalId": "D1", "fields": { "title": "一件目", "rent": 90000 } },
            { "externalId": "D2", "fields": { "title": "二件目", "rent": 95000 } },
            { "externalId": "D3", "fields": { "title": "高い", "rent": 150000 } },
        ]),
    )
    .await;
    settle(&app).await;
    let waiting = deliveries(&app, &token, None).await;
    assert_eq!(waiting.len(), 1, "{waiting:#?}");
    assert_eq!(waiting[0]["kind"], "DIGEST");
    assert_eq!(waiting[0]["state"], "COLLECTING");
    assert_eq!(waiting[0]["items"].as_array().unwrap().len(), 2);

    let db = &app.state.db;
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    let tenants = domain::outbox::digests::tenants_with_due(db, later)
        .await
        .unwrap();
    assert_eq!(tenants.len(), 1);
    assert_eq!(
        domain::outbox::digests::create_due(db, tenants[0], later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        domain::outbox::digests::create_due(db, tenants[0], later)
            .await
            .unwrap(),
        0
    );
    domain::outbox::capture::capture_queued(db, &app.state.sending, tenants[0])
        .await
        .unwrap();

    let all = deliveries(&app, &token, None).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["kind"], "DIGEST");
    assert!(
        all[0]["subject"].as_str().unwrap().contains("2件"),
        "{}",
        all[0]["subject"]
    );
    let mut ids: Vec<&str> = all[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["externalId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["D1", "D2"]);
    app.stop().await;
}
on_both_databases!(daily_member_gets_one_digest);

/// Switching a daily member to instant mail sends what waited in their digest with the
/// scheduler's next pass, without waiting for the digest hour.
async fn instant_switch_sends_waiting_digest(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, "switch").await;
    create_rule(
        &app,
        &token,
        "賃料の上限",
        json!([{ "listingField": "rent", "operator": "AT_MOST", "profileField": "max_rent" }]),
    )
    .await;
    let body = app.graphql(Some(&token), CREATE_MEMBER, json!({ "member": {
        "email": "switch@example.com", "frequency": "DAILY", "digestHour": 8, "profile": { "max_rent": 100000 },
    }})).await;
    assert!(body["errors"].is_null(), "{body}");
    let member_id = body["data"]["createMember"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    upsert(
        &app,
        &token,
        json!([{ "externalId": "S1", "fields": { "title": "一件目", "rent": 90000 } }]),
    )
    .await;
    settle(&app).await;
    assert_eq!(
        deliveries(&app, &token, None).await[0]["state"],
        "COLLECTING"
    );

    let body = app.graphql(Some(&token), "mutation($id: ID!, $member: MemberInput!) { updateMember(id: $id, member: $member) { id } }", json!({
        "id": member_id,
        "member": { "email": "switch@example.com", "frequency": "INSTANT", "profile": { "max_rent": 100000 } },
    })).await;
    assert!(body["errors"].is_null(), "{body}");
    // The worker's scheduler may queue the digest first; either way it leaves `collecting`.
    let db = &app.state.db;
    for _ in 0..50 {
        let now = chrono::Utc::now() + chrono::Duration::seconds(1);
        for tenant_id in domain::tenants::ids(db).await.unwrap() {
            domain::outbox::digests::create_due(db, tenant_id, now)
                .await
                .unwrap();
        }
        if deliveries(&app, &token, None).await[0]["state"] != "COLLECTING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = deliveries(&app, &token, None).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_ne!(all[0]["state"], "COLLECTING");
    assert_eq!(all[0]["items"][0]["externalId"], "S1");
    app.stop().await;
}
on_both_databases!(instant_switch_sends_waiting_digest);

/// While matching holds the tenant's lease, a due digest keeps collecting. So no match can join
/// it after it was queued. It goes out once the lease is free.
async fn due_digest_waits_for_matching_lease(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = rental_tenant(&app, "lease").await;
    create_rule(
        &app,
        &token,
        "賃料の上限",
        json!([{ "listingField": "rent", "operator": "AT_MOST", "profileField": "max_rent" }]),
    )
    .await;
    let body = app.graphql(Some(&token), CREATE_MEMBER, json!({ "member": {
        "email": "lease@example.com", "frequency": "DAILY", "digestHour": 8, "profile": { "max_rent": 100000 },
    }})).await;
    assert!(body["errors"].is_null(), "{body}");
    upsert(
        &app,
        &token,
        json!([{ "externalId": "W1", "fields": { "title": "一件目", "rent": 90000 } }]),
    )
    .await;
    settle(&app).await;

    let db = &app.state.db;
    let tenant_id = domain::tenants::ids(db).await.unwrap()[0];
    let matcher = uuid::Uuid::now_v7();
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    assert!(
        domain::leases::acquire(
            db,
            tenant_id,
            domain::leases::MATCHING,
            matcher,
            chrono::Duration::seconds(60),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
    );
    assert_eq!(
        domain::outbox::digests::create_due(db, tenant_id, later)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        deliveries(&app, &token, None).await[0]["state"],
        "COLLECTING"
    );

    domain::leases::release(db, tenant_id, domain::leases::MATCHING, matcher)
        .await
        .unwrap();
    assert_eq!(
        domain::outbox::digests::create_due(db, tenant_id, later)
            .await
            .unwrap(),
        1
    );
    assert_ne!(
        deliveries(&app, &token, None).await[0]["state"],
        "COLLECTING"
    );
    app.stop().await;
}
on_both_databases!(due_digest_waits_for_matching_lease);
