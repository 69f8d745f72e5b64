//! `spawn_app`: a real server on a free port, over a fresh database and queue.

use std::time::Duration;

use domain::{
    sending::SendingConfig,
    settings::{DatabaseSettings, LogFormat, QueueBackend, QueueSettings, ServerSettings},
};
use serde_json::{Value, json};
use server::App;
use tokio::sync::oneshot;

/// PostgreSQL server used to create one database per test; trust authentication.
fn postgres_admin_url() -> String {
    std::env::var("TAYORI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn redis_url() -> String {
    std::env::var("TAYORI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Embedded,
    Redis,
}

pub struct TestApp {
    pub address: String,
    /// The server's state, for tests that reach past the API (the database, the queue).
    pub state: server::AppState,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _temp: tempfile::TempDir,
}

impl TestApp {
    /// Posts a GraphQL request and returns the whole response body.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.graphql_in(token, "ja", query, variables).await
    }

    /// Like [`TestApp::graphql`], with an `Accept-Language` header.
    pub async fn graphql_in(
        &self,
        token: Option<&str>,
        language: &str,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .header("accept-language", language)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .expect("GraphQL request failed to send");
        response.json().await.expect("GraphQL response is not JSON")
    }

    /// Signs up a tenant with a fixed password and returns its owner's access token.
    pub async fn sign_up(&self, slug: &str) -> String {
        let body = self
            .graphql(
                None,
                "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
                json!({ "input": {
                    "tenantName": format!("{slug} 不動産"),
                    "tenantSlug": slug,
                    "email": format!("owner@{slug}.example.jp"),
                    "password": OWNER_PASSWORD,
                }}),
            )
            .await;
        body["data"]["signUp"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("sign-up of {slug} failed: {body}"))
            .to_owned()
    }

    /// Returns the id of the tenant whose token this is.
    pub async fn tenant_id(&self, token: &str) -> domain::TenantId {
        let body = self
            .graphql(Some(token), "{ tenant { id } }", json!({}))
            .await;
        let id = body["data"]["tenant"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no tenant id: {body}"));
        domain::TenantId(id.parse().unwrap())
    }

    /// Creates an API key with the given scopes and returns its secret.
    pub async fn create_api_key(&self, owner_token: &str, scopes: &[&str]) -> String {
        let body = self
            .graphql(
                Some(owner_token),
                "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }",
                json!({ "input": { "name": "integration", "scopes": scopes } }),
            )
            .await;
        body["data"]["createApiKey"]["secret"]
            .as_str()
            .unwrap_or_else(|| panic!("key creation failed: {body}"))
            .to_owned()
    }

    /// Declares the listing schema used by the Tokyo sample data.
    pub async fn set_tokyo_schema(&self, token: &str) {
        let body = self
            .graphql(
                Some(token),
                "mutation($fields: [ListingFieldInput!]!) { setListingSchema(fields: $fields) { name } }",
                json!({ "fields": tokyo_schema() }),
            )
            .await;
        assert!(body["errors"].is_null(), "schema was rejected: {body}");
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(40), server).await;
        }
    }
}

pub const OWNER_PASSWORD: &str = "correct horse battery staple";

/// Fields for the Tokyo listings: name, ward (enum with kanji labels), room type, price,
/// minimum nights, last review date and location.
pub fn tokyo_schema() -> Value {
    json!([
        { "name": "name", "fieldType": "TEXT", "labelJa": "名称", "labelEn": "Name", "required": true },
        { "name": "ward", "fieldType": "ENUM", "labelJa": "区市町村", "labelEn": "Ward", "options": [
            { "value": "Shinjuku Ku", "labelJa": "新宿区", "labelEn": "Shinjuku" },
            { "value": "Shibuya Ku", "labelJa": "渋谷区", "labelEn": "Shibuya" },
            { "value": "Sumida Ku", "labelJa": "墨田区", "labelEn": "Sumida" },
            { "value": "Taito Ku", "labelJa": "台東区", "labelEn": "Taito" },
            { "value": "Toshima Ku", "labelJa": "豊島区", "labelEn": "Toshima" },
        ]},
        { "name": "room_type", "fieldType": "TEXT", "labelJa": "部屋タイプ", "labelEn": "Room type" },
        { "name": "price", "fieldType": "NUMBER", "labelJa": "料金", "labelEn": "Price" },
        { "name": "minimum_nights", "fieldType": "NUMBER", "labelJa": "最低宿泊数", "labelEn": "Minimum nights" },
        { "name": "last_review", "fieldType": "DATE", "labelJa": "最終レビュー", "labelEn": "Last review" },
        { "name": "location", "fieldType": "GEO_POINT", "labelJa": "位置", "labelEn": "Location" },
    ])
}

/// Starts a server over a fresh database and queue, with two in-process workers.
pub async fn spawn_app(database: Database, queue: Queue) -> TestApp {
    spawn_app_with(database, queue, |_| {}).await
}

/// Like [`spawn_app`], with the sending configuration adjusted by `configure` (its public URL
/// is the server's own address).
pub async fn spawn_app_with(
    database: Database,
    queue: Queue,
    configure: impl FnOnce(&mut SendingConfig),
) -> TestApp {
    let temp = tempfile::tempdir().expect("temp dir");
    let database_url = match database {
        Database::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            temp.path().join("tayori.sqlite").display()
        ),
        Database::Postgres => create_postgres_database().await,
    };
    let queue_name = format!("tayori-test-{}", uuid::Uuid::now_v7().simple());
    let backend = match queue {
        Queue::Embedded => QueueBackend::Embedded {
            path: temp.path().join("queue.sqlite"),
        },
        Queue::Redis => QueueBackend::Redis { url: redis_url() },
    };
    let settings = ServerSettings {
        listen: "127.0.0.1:0".parse().expect("address"),
        public_url: "http://127.0.0.1".to_owned(),
        database: DatabaseSettings { url: database_url },
        queue: QueueSettings {
            backend,
            name: queue_name,
        },
        jwt_secret: None,
        web_dir: temp.path().join("web"),
        in_process_workers: 2,
        log_format: LogFormat::Pretty,
    };
    domain::telemetry::init(LogFormat::Pretty);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let mut sending = SendingConfig::for_tests(&address);
    configure(&mut sending);
    let app = App::build_with(settings, sending)
        .await
        .expect("app failed to build");
    let state = app.state.clone();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let stop = async move {
            let _ = stopped.await;
        };
        if let Err(error) = app.serve(listener, stop).await {
            panic!("server failed: {error:?}");
        }
    });
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    TestApp {
        address,
        state,
        client,
        shutdown: Some(shutdown),
        server: Some(server),
        _temp: temp,
    }
}

/// Creates an empty PostgreSQL database and returns its URL.
pub async fn create_postgres_database() -> String {
    use sea_orm::{ConnectionTrait, Database};

    let admin_url = postgres_admin_url();
    let name = format!("tayori_test_{}", uuid::Uuid::now_v7().simple());
    let admin = Database::connect(&admin_url)
        .await
        .expect("PostgreSQL is not reachable; start it (see .ci/run)");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let _ = admin.close().await;
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("admin URL has a database name");
    format!("{base}/{name}")
}

/// Opens a second connection pool to the PostgreSQL database of `app` whose sessions run in
/// `zone`. The app's own sessions cannot: sqlx sets every session it opens to UTC.
pub async fn postgres_in_zone(app: &TestApp, zone: &str) -> sea_orm::DatabaseConnection {
    use sea_orm::ConnectionTrait;

    let row = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT current_database() AS name",
        ))
        .await
        .expect("query the database name")
        .expect("a database name");
    let name: String = row.try_get("", "name").expect("database name");
    let admin_url = postgres_admin_url();
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("admin URL has a database name");
    let mut options = sea_orm::ConnectOptions::new(format!("{base}/{name}"));
    let set_zone = format!("SET TIME ZONE '{zone}'");
    options
        .sqlx_logging(false)
        .map_sqlx_postgres_pool_opts(move |pool| {
            let set_zone = set_zone.clone();
            // Runs on every new connection, after sqlx has set the zone to UTC.
            pool.after_connect(move |connection, _| {
                let set_zone = set_zone.clone();
                Box::pin(async move {
                    sea_orm::sqlx::Executor::execute(
                        connection,
                        sea_orm::sqlx::AssertSqlSafe(set_zone),
                    )
                    .await
                    .map(|_| ())
                })
            })
        });
    sea_orm::Database::connect(options)
        .await
        .expect("connect in another time zone")
}

/// Generates one test per database from an async function taking `Database`.
#[macro_export]
macro_rules! on_both_databases {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                super::$name($crate::helpers::Database::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                super::$name($crate::helpers::Database::Postgres).await;
            }
        }
    };
}

/// The `extensions.code` of the first error.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}
