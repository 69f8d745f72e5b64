//! CSV imports run as jobs on both queues: the embedded SQLite queue and Redis.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Database, Queue, TestApp, error_code, spawn_app};

const SAMPLE: &str = include_str!("../fixtures/tokyo_listings_sample.csv");

const IMPORT: &str = "mutation($input: ListingCsvImportInput!) { importListingsCsv(input: $input) { id status totalRows } }";
const POLL: &str = "query($id: ID!) { listingImport(id: $id) {
    status totalRows processedRows created updated unchanged rejected errors { index externalId field value code message } } }";

fn tokyo_mapping(csv: &str) -> Value {
    json!({ "input": {
        "csv": csv,
        "externalIdColumn": "id",
        "columns": [
            { "column": "name", "field": "name" },
            { "column": "neighbourhood", "field": "ward" },
            { "column": "room_type", "field": "room_type" },
            { "column": "price", "field": "price" },
            { "column": "minimum_nights", "field": "minimum_nights" },
            { "column": "last_review", "field": "last_review" },
            { "column": "latitude", "field": "location.lat" },
            { "column": "longitude", "field": "location.lon" },
        ],
    }})
}

/// Polls the import until it leaves QUEUED/RUNNING, for at most a minute.
async fn wait_for_import(app: &TestApp, token: &str, id: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = app
            .graphql_in(Some(token), "en", POLL, json!({ "id": id }))
            .await;
        let import = body["data"]["listingImport"].clone();
        let status = import["status"]
            .as_str()
            .unwrap_or_else(|| panic!("poll failed: {body}"));
        if status != "QUEUED" && status != "RUNNING" {
            return import;
        }
        assert!(
            Instant::now() < deadline,
            "import still {status} after a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Imports the 300-listing sample; rows in wards missing from the test schema are rejected.
async fn sample_import_runs_to_completion(database: Database, queue: Queue) {
    let app = spawn_app(database, queue).await;
    let token = app.sign_up("sakura").await;
    app.set_tokyo_schema(&token).await;

    let started = app
        .graphql(Some(&token), IMPORT, tokyo_mapping(SAMPLE))
        .await;
    assert!(started["errors"].is_null(), "{started}");
    assert_eq!(started["data"]["importListingsCsv"]["totalRows"], 300);
    let id = started["data"]["importListingsCsv"]["id"].clone();
    let import = wait_for_import(&app, &token, &id).await;

    let wards = [
        "Shinjuku Ku",
        "Shibuya Ku",
        "Sumida Ku",
        "Taito Ku",
        "Toshima Ku",
    ];
    let mut reader = csv::Reader::from_reader(SAMPLE.as_bytes());
    let expected_created = reader
        .records()
        .filter(|r| {
            r.as_ref()
                .is_ok_and(|r| wards.contains(&r.get(3).unwrap_or("")))
        })
        .count() as u64;
    assert_eq!(import["status"], "SUCCEEDED", "{import}");
    assert_eq!(import["processedRows"], 300);
    assert_eq!(import["created"], expected_created);
    assert_eq!(import["rejected"], 300 - expected_created);
    let first_error = &import["errors"][0];
    assert_eq!(first_error["field"], "ward");
    assert_eq!(first_error["code"], "UNKNOWN_OPTION");
    assert!(first_error["index"].as_u64().unwrap() >= 2);

    let listing = app
        .graphql(
            Some(&token),
            "{ listing(externalId: \"35303\") { fields } }",
            json!({}),
        )
        .await;
    let fields = &listing["data"]["listing"]["fields"];
    assert_eq!(fields["ward"], "Shibuya Ku", "{listing}");
    assert_eq!(fields["price"], 4208);
    assert_eq!(fields["last_review"], "2018-07-28");
    assert_eq!(fields["location"]["lat"], 35.67152);

    // Running the same file again changes nothing.
    let again = app
        .graphql(Some(&token), IMPORT, tokyo_mapping(SAMPLE))
        .await;
    let import = wait_for_import(&app, &token, &again["data"]["importListingsCsv"]["id"]).await;
    assert_eq!(import["unchanged"], expected_created, "{import}");
    assert_eq!(import["created"], 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_import_runs_on_embedded_queue_with_sqlite() {
    sample_import_runs_to_completion(Database::Sqlite, Queue::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_import_runs_on_redis_queue_with_postgres() {
    sample_import_runs_to_completion(Database::Postgres, Queue::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rows_are_reported_with_row_numbers() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;
    app.set_tokyo_schema(&token).await;
    let csv = "id,name,neighbourhood,room_type,price,minimum_nights,last_review,latitude,longitude\n\
        1,\"Quoted, name\",Shinjuku Ku,Private room,\"10,000\",1,28/07/2018,35.1,139.1\n\
        2,short row\n\
        3,Bad price,Shinjuku Ku,Private room,ask us,1,,,\n\
        4,\"Line\nbreak\",Shinjuku Ku,Private room,9.8万,2,,,\n";
    let started = app.graphql(Some(&token), IMPORT, tokyo_mapping(csv)).await;
    let import = wait_for_import(&app, &token, &started["data"]["importListingsCsv"]["id"]).await;

    assert_eq!(import["created"], 2, "{import}");
    assert_eq!(import["rejected"], 2);
    let errors = import["errors"].as_array().unwrap();
    assert_eq!(errors[0]["index"], 3);
    assert_eq!(errors[0]["code"], "MALFORMED_CSV");
    assert_eq!(errors[1]["index"], 4);
    assert_eq!(errors[1]["field"], "price");
    assert_eq!(errors[1]["value"], "ask us");
    let message = errors[1]["message"].as_str().unwrap();
    assert!(
        message.contains("\"Price\""),
        "row errors name the field by its label: {message}"
    );
    let listing = app
        .graphql(
            Some(&token),
            "{ listing(externalId: \"4\") { fields } }",
            json!({}),
        )
        .await;
    assert_eq!(listing["data"]["listing"]["fields"]["price"], 98000);
    assert_eq!(listing["data"]["listing"]["fields"]["name"], "Line\nbreak");
    app.stop().await;
}

#[tokio::test]
async fn unknown_mapping_column_is_rejected_before_queueing() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;
    app.set_tokyo_schema(&token).await;
    let mut input = tokyo_mapping(SAMPLE);
    input["input"]["externalIdColumn"] = json!("listing_id");
    let body = app.graphql(Some(&token), IMPORT, input).await;
    assert_eq!(error_code(&body), "VALIDATION");
    assert_eq!(body["errors"][0]["extensions"]["field"], "externalIdColumn");
    assert_eq!(body["errors"][0]["extensions"]["value"], "listing_id");

    let mut input = tokyo_mapping(SAMPLE);
    input["input"]["columns"][0]["field"] = json!("title");
    let body = app.graphql(Some(&token), IMPORT, input).await;
    assert_eq!(body["errors"][0]["extensions"]["reason"], "UNKNOWN_FIELD");
    let imports = app
        .graphql(Some(&token), "{ listingImports { id } }", json!({}))
        .await;
    assert_eq!(imports["data"]["listingImports"], json!([]));
    app.stop().await;
}

/// Stores an import the way the API does, but never queues its job, as if Redis lost it.
async fn store_import_without_job(
    app: &TestApp,
    token: &str,
) -> (domain::TenantId, domain::ListingImportId) {
    use domain::listings::imports::{ColumnMapping, ImportMapping, create};

    let viewer = app
        .graphql(Some(token), "{ viewer { tenant { id } } }", json!({}))
        .await;
    let tenant_id = domain::TenantId(
        viewer["data"]["viewer"]["tenant"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    );
    let mapping = ImportMapping {
        external_id_column: "id".into(),
        columns: vec![ColumnMapping {
            column: "name".into(),
            field: "name".into(),
        }],
    };
    let import = create(
        &app.state.db,
        tenant_id,
        None,
        "id,name\nr-1,Lost job\n".into(),
        mapping,
    )
    .await
    .unwrap();
    (tenant_id, import.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciler_requeues_import_whose_job_was_lost() {
    let app = spawn_app(Database::Sqlite, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;
    app.set_tokyo_schema(&token).await;
    let (_, import_id) = store_import_without_job(&app, &token).await;

    let now = chrono::Utc::now();
    let early = worker::reconcile::requeue_stranded(&app.state.db, &app.state.queue, now)
        .await
        .unwrap();
    assert_eq!(early, 0, "a fresh queued import is not stranded yet");
    let later = now + domain::listings::imports::STALE_QUEUED + chrono::Duration::seconds(1);
    let requeued = worker::reconcile::requeue_stranded(&app.state.db, &app.state.queue, later)
        .await
        .unwrap();
    assert_eq!(requeued, 1);

    let import = wait_for_import(&app, &token, &json!(import_id.to_string())).await;
    assert_eq!(import["status"], "SUCCEEDED", "{import}");
    assert_eq!(import["created"], 1);
    app.stop().await;
}

async fn only_one_worker_claims_an_import(database: Database) {
    use domain::listings::imports::{STALE_HEARTBEAT, claim};

    let app = spawn_app(database, Queue::Embedded).await;
    let token = app.sign_up("sakura").await;
    app.set_tokyo_schema(&token).await;
    let (tenant_id, import_id) = store_import_without_job(&app, &token).await;
    let db = &app.state.db;

    let now = chrono::Utc::now();
    let (first, second) = tokio::join!(
        claim(db, tenant_id, import_id, now),
        claim(db, tenant_id, import_id, now)
    );
    let winners = [first.unwrap(), second.unwrap()]
        .into_iter()
        .flatten()
        .count();
    assert_eq!(winners, 1);
    assert!(
        claim(db, tenant_id, import_id, now)
            .await
            .unwrap()
            .is_none(),
        "a live claim blocks others"
    );
    let after_stale = now + STALE_HEARTBEAT + chrono::Duration::seconds(1);
    assert!(
        claim(db, tenant_id, import_id, after_stale)
            .await
            .unwrap()
            .is_some(),
        "a stale claim can be taken over"
    );
    let other_tenant = domain::TenantId::new();
    assert!(
        claim(
            db,
            other_tenant,
            import_id,
            after_stale + STALE_HEARTBEAT * 2
        )
        .await
        .unwrap()
        .is_none()
    );
    app.stop().await;
}
crate::on_both_databases!(only_one_worker_claims_an_import);
