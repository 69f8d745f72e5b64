//! The listing schema and upserts, one by one and in bulk, by operators and API keys.

use serde_json::{Value, json};

use crate::{
    helpers::{Database, Queue, error_code, spawn_app},
    on_both_databases,
};

const UPSERT: &str = "mutation($listings: [ListingInput!]!) { upsertListings(listings: $listings) {
    created updated unchanged rejected errors { index externalId field value code message } } }";

fn listing(id: &str, price: Value) -> Value {
    json!({ "externalId": id, "fields": { "name": format!("物件 {id}"), "ward": "新宿区", "price": price } })
}

async fn bulk_upsert_stores_valid_records_and_rejects_invalid_ones(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;
    app.set_tokyo_schema(&token).await;

    let batch = json!([
        listing("a-1", json!("10万円")),
        { "externalId": "a-2", "fields": { "name": "x", "price": "高め" } },
        { "externalId": "a-3", "fields": { "name": "y", "ward": "大阪市" } },
        listing("a-4", json!(85000)),
        { "externalId": "", "fields": { "name": "no id" } },
        { "externalId": "a-5", "fields": "not an object" },
        listing("a-1", json!(1)),
    ]);
    let body = app
        .graphql_in(Some(&token), "en", UPSERT, json!({ "listings": batch }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let result = &body["data"]["upsertListings"];
    assert_eq!(result["created"], 2);
    assert_eq!(result["rejected"], 5);

    let errors = result["errors"].as_array().unwrap();
    let error_at = |index: u64| {
        errors
            .iter()
            .find(|e| e["index"] == index)
            .unwrap_or_else(|| panic!("no error at {index}: {body}"))
    };
    assert_eq!(error_at(1)["field"], "price");
    assert_eq!(error_at(1)["value"], "高め");
    assert_eq!(error_at(1)["code"], "NOT_A_NUMBER");
    assert!(error_at(1)["message"].as_str().unwrap().contains("高め"));
    assert_eq!(error_at(2)["field"], "ward");
    assert_eq!(error_at(2)["code"], "UNKNOWN_OPTION");
    assert_eq!(error_at(4)["field"], "externalId");
    assert_eq!(error_at(4)["code"], "REQUIRED");
    assert_eq!(error_at(5)["code"], "NOT_AN_OBJECT");
    assert_eq!(error_at(6)["code"], "DUPLICATE_EXTERNAL_ID");

    let stored = app
        .graphql(
            Some(&token),
            "{ listing(externalId: \"a-1\") { fields } }",
            json!({}),
        )
        .await;
    assert_eq!(stored["data"]["listing"]["fields"]["price"], 100000);
    assert_eq!(stored["data"]["listing"]["fields"]["ward"], "Shinjuku Ku");
    app.stop().await;
}
on_both_databases!(bulk_upsert_stores_valid_records_and_rejects_invalid_ones);

async fn reimporting_counts_unchanged_and_updated_records(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;
    app.set_tokyo_schema(&token).await;
    let batch = |price: i64| json!([listing("a-1", json!(price)), listing("a-2", json!(50000))]);

    app.graphql(Some(&token), UPSERT, json!({ "listings": batch(90000) }))
        .await;
    let again = app
        .graphql(Some(&token), UPSERT, json!({ "listings": batch(90000) }))
        .await;
    assert_eq!(again["data"]["upsertListings"]["unchanged"], 2, "{again}");
    assert_eq!(again["data"]["upsertListings"]["created"], 0);

    let changed = app
        .graphql(Some(&token), UPSERT, json!({ "listings": batch(95000) }))
        .await;
    assert_eq!(changed["data"]["upsertListings"]["updated"], 1, "{changed}");
    assert_eq!(changed["data"]["upsertListings"]["unchanged"], 1);
    let count = app
        .graphql(Some(&token), "{ tenant { listingCount } }", json!({}))
        .await;
    assert_eq!(count["data"]["tenant"]["listingCount"], 2);
    app.stop().await;
}
on_both_databases!(reimporting_counts_unchanged_and_updated_records);

async fn five_thousand_listings_fit_in_one_request(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;
    app.set_tokyo_schema(&token).await;
    let batch: Vec<Value> = (0..5_000)
        .map(|i| listing(&format!("bulk-{i}"), json!(30_000 + i)))
        .collect();

    let body = app
        .graphql(Some(&token), UPSERT, json!({ "listings": batch }))
        .await;
    assert!(body["errors"].is_null(), "{}", body["errors"]);
    assert_eq!(body["data"]["upsertListings"]["created"], 5_000);
    let page = app
        .graphql(
            Some(&token),
            "{ listings(first: 10) { totalCount hasNextPage nodes { externalId } } }",
            json!({}),
        )
        .await;
    assert_eq!(page["data"]["listings"]["totalCount"], 5_000);
    assert_eq!(page["data"]["listings"]["hasNextPage"], true);
    app.stop().await;
}
on_both_databases!(five_thousand_listings_fit_in_one_request);

async fn listings_page_through_and_search(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;
    app.set_tokyo_schema(&token).await;
    let mut batch: Vec<Value> = (0..25)
        .map(|i| listing(&format!("p-{i:02}"), json!(1000 + i)))
        .collect();
    batch.push(
        json!({ "externalId": "special", "fields": { "name": "Shinjuku 駅近 Apartment_100%" } }),
    );
    app.graphql(Some(&token), UPSERT, json!({ "listings": batch }))
        .await;

    let query = "query($after: String, $search: String) { listings(first: 10, after: $after, search: $search) {
        totalCount endCursor hasNextPage nodes { externalId } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = app
            .graphql(Some(&token), query, json!({ "after": after }))
            .await;
        let page = &body["data"]["listings"];
        seen.extend(
            page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["externalId"].as_str().unwrap().to_owned()),
        );
        if page["hasNextPage"] != true {
            break;
        }
        after = page["endCursor"].clone();
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 26);

    for search in ["駅近", "apartment_100%", "SPECIAL", "1,024"] {
        let found = app
            .graphql(Some(&token), query, json!({ "search": search }))
            .await;
        assert_eq!(
            found["data"]["listings"]["totalCount"], 1,
            "{search}: {found}"
        );
    }
    // Every listing of the batch is in 新宿区, shown by that label and stored as "Shinjuku Ku".
    let by_label = app
        .graphql(Some(&token), query, json!({ "search": "新宿区" }))
        .await;
    assert_eq!(by_label["data"]["listings"]["totalCount"], 25, "{by_label}");
    // JSON keys are not values: "name" and "price" appear in every listing's stored JSON.
    for key in ["name", "price"] {
        let by_key = app
            .graphql(Some(&token), query, json!({ "search": key }))
            .await;
        assert_eq!(
            by_key["data"]["listings"]["totalCount"], 0,
            "{key}: {by_key}"
        );
    }
    let none = app
        .graphql(Some(&token), query, json!({ "search": "100\\%_" }))
        .await;
    assert_eq!(none["data"]["listings"]["totalCount"], 0);
    let bad_cursor = app
        .graphql(Some(&token), query, json!({ "after": "nonsense" }))
        .await;
    assert_eq!(error_code(&bad_cursor), "VALIDATION");
    app.stop().await;
}
on_both_databases!(listings_page_through_and_search);

#[tokio::test]
async fn api_key_is_limited_to_its_scopes_and_stops_when_revoked() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    let owner = app.sign_up("sakura").await;
    app.set_tokyo_schema(&owner).await;
    let writer = app.create_api_key(&owner, &["LISTINGS_WRITE"]).await;
    assert!(writer.starts_with("tyk_"));

    let stored = app
        .graphql(
            Some(&writer),
            UPSERT,
            json!({ "listings": [listing("k-1", json!(1))] }),
        )
        .await;
    assert_eq!(stored["data"]["upsertListings"]["created"], 1, "{stored}");
    let read = app
        .graphql(Some(&writer), "{ listings { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&read), "FORBIDDEN");
    let schema = app
        .graphql(
            Some(&writer),
            "mutation { setListingSchema(fields: []) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&schema), "FORBIDDEN");
    let keys = app
        .graphql(Some(&writer), "{ apiKeys { id } }", json!({}))
        .await;
    assert_eq!(error_code(&keys), "FORBIDDEN");
    let viewer = app
        .graphql(
            Some(&writer),
            "{ viewer { tenant { slug } operator { id } scopes } }",
            json!({}),
        )
        .await;
    assert_eq!(
        viewer["data"]["viewer"]["scopes"],
        json!(["LISTINGS_WRITE"])
    );
    assert!(viewer["data"]["viewer"]["operator"].is_null());

    let listed = app
        .graphql(
            Some(&owner),
            "{ apiKeys { id prefix lastUsedAt } }",
            json!({}),
        )
        .await;
    let key = &listed["data"]["apiKeys"][0];
    assert!(writer.starts_with(key["prefix"].as_str().unwrap()));
    assert!(!key["lastUsedAt"].is_null());
    let revoke = app
        .graphql(
            Some(&owner),
            "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
            json!({ "id": key["id"] }),
        )
        .await;
    assert!(
        !revoke["data"]["revokeApiKey"]["revokedAt"].is_null(),
        "{revoke}"
    );
    let after = app
        .graphql(
            Some(&writer),
            UPSERT,
            json!({ "listings": [listing("k-2", json!(1))] }),
        )
        .await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED");
    app.stop().await;
}

#[tokio::test]
async fn schema_rejects_bad_definitions_with_field() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;
    let set = "mutation($fields: [ListingFieldInput!]!) { setListingSchema(fields: $fields) { name labelEn } }";

    let bad_name = app.graphql(Some(&token), set, json!({ "fields": [{ "name": "Price", "fieldType": "NUMBER", "labelJa": "料金", "labelEn": "" }] })).await;
    assert_eq!(
        bad_name["errors"][0]["extensions"]["reason"],
        "INVALID_FIELD_NAME"
    );
    assert_eq!(bad_name["errors"][0]["extensions"]["value"], "Price");
    let no_options = app.graphql(Some(&token), set, json!({ "fields": [{ "name": "ward", "fieldType": "ENUM", "labelJa": "区", "labelEn": "Ward" }] })).await;
    assert_eq!(
        no_options["errors"][0]["extensions"]["reason"],
        "OPTIONS_REQUIRED"
    );

    let ok = app.graphql(Some(&token), set, json!({ "fields": [{ "name": "price", "fieldType": "NUMBER", "labelJa": "料金", "labelEn": "" }] })).await;
    assert_eq!(ok["data"]["setListingSchema"][0]["labelEn"], "料金", "{ok}");
    app.stop().await;
}
