//! API benchmark: bulk upserts, the CSV import of the full Tokyo file, and dashboard query
//! latency under concurrent load, on SQLite (embedded queue) and PostgreSQL (Redis queue).
//!
//! Run with `cargo bench -p server --bench api`. It reads the Tokyo listings from
//! `../shared/data/tokyo_listings_2019.csv` beside the repository, or from `TAYORI_BENCH_CSV`.
//! Figures go to docs/BENCHMARKS.md by hand, with the machine and the date.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly on broken set-up"
)]

use std::time::{Duration, Instant};

use domain::settings::{DatabaseSettings, LogFormat, QueueBackend, QueueSettings, ServerSettings};
use serde_json::{Value, json};
use server::App;

const CONCURRENT_CLIENTS: usize = 8;
const REQUESTS_PER_CLIENT: usize = 250;

struct Bench {
    url: String,
    client: reqwest::Client,
    token: String,
}

impl Bench {
    async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.client
            .post(format!("{}/graphql", self.url))
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn start(database_url: String, backend: QueueBackend, web_dir: std::path::PathBuf) -> Bench {
    let settings = ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: "http://127.0.0.1".to_owned(),
        database: DatabaseSettings { url: database_url },
        queue: QueueSettings {
            backend,
            name: format!("tayori-bench-{}", uuid::Uuid::now_v7().simple()),
        },
        jwt_secret: None,
        web_dir,
        in_process_workers: 2,
        log_format: LogFormat::Pretty,
    };
    let app = App::build(settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app.serve(listener, std::future::pending()));

    let mut bench = Bench {
        url,
        client: reqwest::Client::new(),
        token: String::new(),
    };
    bench.sign_up("bench").await;
    bench
}

impl Bench {
    /// Signs up a new tenant with the Tokyo listing schema; later calls act as its owner.
    async fn sign_up(&mut self, slug: &str) {
        let body: Value = self
            .client
            .post(format!("{}/graphql", self.url))
            .json(&json!({
                "query": "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }",
                "variables": { "i": { "tenantName": slug, "tenantSlug": slug, "email": "bench@example.jp", "password": "benchmark password" } }
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        self.token = body["data"]["signUp"]["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let schema = json!([
            { "name": "name", "fieldType": "TEXT", "labelJa": "名称", "labelEn": "Name" },
            { "name": "ward", "fieldType": "TEXT", "labelJa": "区", "labelEn": "Ward" },
            { "name": "room_type", "fieldType": "TEXT", "labelJa": "部屋タイプ", "labelEn": "Room type" },
            { "name": "price", "fieldType": "NUMBER", "labelJa": "料金", "labelEn": "Price" },
            { "name": "minimum_nights", "fieldType": "NUMBER", "labelJa": "最低宿泊数", "labelEn": "Minimum nights" },
            { "name": "last_review", "fieldType": "DATE", "labelJa": "最終レビュー", "labelEn": "Last review" },
            { "name": "location", "fieldType": "GEO_POINT", "labelJa": "位置", "labelEn": "Location" },
        ]);
        self.graphql(
            "mutation($f: [ListingFieldInput!]!) { setListingSchema(fields: $f) { name } }",
            json!({ "f": schema }),
        )
        .await;
    }
}

fn read_listings(csv_text: &str) -> Vec<Value> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    reader
        .records()
        .map(|record| {
            let r = record.unwrap();
            json!({ "externalId": &r[0], "fields": {
                "name": &r[1], "ward": &r[3], "room_type": &r[6], "price": &r[7], "minimum_nights": &r[8],
                "last_review": &r[10], "location": { "lat": &r[4], "lon": &r[5] },
            }})
        })
        .collect()
}

/// Upserts in batches of 1,000 and returns the time and the created, updated and unchanged counts.
async fn bulk_upsert(bench: &Bench, listings: &[Value]) -> (Duration, [u64; 3]) {
    let started = Instant::now();
    let mut counts = [0u64; 3];
    for batch in listings.chunks(1_000) {
        let body = bench
            .graphql("mutation($l: [ListingInput!]!) { upsertListings(listings: $l) { created updated unchanged } }", json!({ "l": batch }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        for (count, key) in counts.iter_mut().zip(["created", "updated", "unchanged"]) {
            *count += body["data"]["upsertListings"][key].as_u64().unwrap_or(0);
        }
    }
    (started.elapsed(), counts)
}

async fn csv_import(bench: &Bench, csv_text: &str) -> Duration {
    let started = Instant::now();
    let body = bench
        .graphql(
            "mutation($i: ListingCsvImportInput!) { importListingsCsv(input: $i) { id } }",
            json!({ "i": { "csv": csv_text, "externalIdColumn": "id", "columns": [
                { "column": "name", "field": "name" }, { "column": "neighbourhood", "field": "ward" },
                { "column": "room_type", "field": "room_type" }, { "column": "price", "field": "price" },
                { "column": "minimum_nights", "field": "minimum_nights" }, { "column": "last_review", "field": "last_review" },
                { "column": "latitude", "field": "location.lat" }, { "column": "longitude", "field": "location.lon" },
            ]}}),
        )
        .await;
    let id = body["data"]["importListingsCsv"]["id"].clone();
    loop {
        let poll = bench
            .graphql(
                "query($id: ID!) { listingImport(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await;
        if poll["data"]["listingImport"]["status"] == "SUCCEEDED" {
            return started.elapsed();
        }
        assert_ne!(poll["data"]["listingImport"]["status"], "FAILED");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Latencies of one dashboard query from concurrent clients, in milliseconds, sorted.
async fn query_latencies(bench: &Bench, query: &'static str) -> Vec<f64> {
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENT_CLIENTS {
        let (client, url, token) = (bench.client.clone(), bench.url.clone(), bench.token.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(REQUESTS_PER_CLIENT);
            for _ in 0..REQUESTS_PER_CLIENT {
                let started = Instant::now();
                let response = client
                    .post(format!("{url}/graphql"))
                    .bearer_auth(&token)
                    .json(&json!({ "query": query }))
                    .send()
                    .await
                    .unwrap();
                let body: Value = response.json().await.unwrap();
                assert!(body["errors"].is_null(), "{body}");
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    all
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn run(label: &str, mut bench: Bench, csv_text: &str) {
    let listings = read_listings(csv_text);
    let (upsert, first_counts) = bulk_upsert(&bench, &listings).await;
    let (again, second_counts) = bulk_upsert(&bench, &listings).await;
    println!(
        "{label}: upsert {} listings in batches of 1,000: {:.2} s new, {:.2} s again \
         (created/updated/unchanged: {first_counts:?} then {second_counts:?})",
        listings.len(),
        upsert.as_secs_f64(),
        again.as_secs_f64()
    );

    let queried_token = bench.token.clone();
    bench.sign_up("bench-csv").await;
    let import = csv_import(&bench, csv_text).await;
    println!(
        "{label}: CSV import of the same file into a new tenant, API call to SUCCEEDED: {:.2} s",
        import.as_secs_f64()
    );
    bench.token = queried_token;
    for (name, query) in [
        (
            "viewer",
            "{ viewer { tenant { name listingCount } operator { email role } } }",
        ),
        (
            "listings page",
            "{ listings(first: 50) { totalCount hasNextPage nodes { externalId fields updatedAt } } }",
        ),
        (
            "listing schema",
            "{ listingSchema { name labelJa labelEn fieldType options { value } } }",
        ),
    ] {
        let latencies = query_latencies(&bench, query).await;
        println!(
            "{label}: {name}: {} requests from {CONCURRENT_CLIENTS} clients, p50 {:.2} ms, p99 {:.2} ms",
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
}

#[tokio::main]
async fn main() {
    worker::install_crypto_provider();
    // Logs go to standard error; `RUST_LOG=warn` keeps them out of the way.
    domain::telemetry::init(LogFormat::Pretty);
    // `cargo bench -p server --bench api -- sqlite` runs one of the two set-ups.
    let only: Option<String> = std::env::args()
        .skip(1)
        .find(|a| a == "sqlite" || a == "postgres");
    let path = std::env::var("TAYORI_BENCH_CSV").unwrap_or_else(|_| {
        format!(
            "{}/../../shared/data/tokyo_listings_2019.csv",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let csv_text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}; set TAYORI_BENCH_CSV"));
    let temp = tempfile::tempdir().unwrap();

    if only.as_deref() != Some("postgres") {
        let sqlite = format!(
            "sqlite://{}?mode=rwc",
            temp.path().join("bench.sqlite").display()
        );
        let bench = start(
            sqlite,
            QueueBackend::Embedded {
                path: temp.path().join("queue.sqlite"),
            },
            temp.path().join("web"),
        )
        .await;
        run("SQLite + embedded queue", bench, &csv_text).await;
    }
    if only.as_deref() == Some("sqlite") {
        return;
    }

    let admin_url = std::env::var("TAYORI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("tayori_bench_{}", uuid::Uuid::now_v7().simple());
    {
        use sea_orm::{ConnectionTrait, Database};
        let admin = Database::connect(&admin_url).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
    }
    let postgres = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let redis = QueueBackend::Redis {
        url: std::env::var("TAYORI_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned()),
    };
    let bench = start(postgres, redis, temp.path().join("web")).await;
    run("PostgreSQL + Redis queue", bench, &csv_text).await;
}
