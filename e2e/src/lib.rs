//! Harness for end-to-end tests: starts the real `server` binary on a free port over a fresh
//! SQLite database, and headless Chromium through chromedriver.
//!
//! The binaries and the dashboard bundle must be built first (`scripts/test` does both): they
//! are looked up in `target/debug/` unless `TAYORI_SERVER_BIN` or `TAYORI_WORKER_BIN` name others.

use std::{
    net::TcpListener,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder};

pub mod mailgun;
pub mod page;
pub mod smtp;

/// The workspace root, one level above this crate.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process that is killed when dropped, so a failing test leaves nothing running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where a scale-out deployment keeps its data: a fresh PostgreSQL database and a Redis queue
/// name of its own.
pub struct Deployment {
    pub database_url: String,
    pub redis_url: String,
    pub queue_name: String,
    /// The `TAYORI_SECRET_KEY` shared by the deployment's server and workers.
    pub secret_key: String,
}

impl Deployment {
    pub async fn postgres_and_redis() -> anyhow::Result<Self> {
        use sea_orm::{ConnectionTrait, Database};

        let admin_url = std::env::var("TAYORI_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let suffix = format!("{}_{nanos}", std::process::id());
        let name = format!("tayori_e2e_{suffix}");
        let admin = Database::connect(&admin_url)
            .await
            .context("PostgreSQL is not reachable")?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        let _ = admin.close().await;
        let (base, _) = admin_url
            .rsplit_once('/')
            .context("admin URL has no database name")?;
        Ok(Self {
            database_url: format!("{base}/{name}"),
            redis_url: std::env::var("TAYORI_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned()),
            queue_name: format!("tayori-e2e-{suffix}"),
            // Only needs to be shared and well-formed; this deployment stores no real secrets.
            secret_key: format!("{:064x}", nanos),
        })
    }
}

fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let variable = format!("TAYORI_{}_BIN", name.to_uppercase());
    let path = std::env::var_os(&variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug").join(name));
    if !path.exists() {
        bail!(
            "{} is missing; build it with `cargo build --bins` or set {variable}",
            path.display()
        );
    }
    Ok(path)
}

/// A running `worker` binary.
pub struct WorkerProcess {
    _process: KillOnDrop,
}

impl WorkerProcess {
    pub fn start(deployment: &Deployment) -> anyhow::Result<Self> {
        let process = Command::new(binary("worker")?)
            .env("DATABASE_URL", &deployment.database_url)
            .env("REDIS_URL", &deployment.redis_url)
            .env("TAYORI_QUEUE_NAME", &deployment.queue_name)
            .env("TAYORI_SECRET_KEY", &deployment.secret_key)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("failed to start the worker")?;
        Ok(Self {
            _process: KillOnDrop(process),
        })
    }
}

/// A running `server` binary with its own database and queue files.
pub struct ServerProcess {
    pub url: String,
    _process: KillOnDrop,
    _data: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts the server on embedded defaults: a fresh SQLite file and the embedded queue.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_env(&[]).await
    }

    /// Starts the server like [`ServerProcess::start`], with the environment variables in
    /// `extra` added, such as `TAYORI_SMTP_EXTRA_CA`.
    pub async fn start_with_env(extra: &[(&str, &str)]) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let mut environment = vec![
            (
                "DATABASE_URL".to_owned(),
                format!(
                    "sqlite://{}?mode=rwc",
                    data.path().join("tayori.sqlite").display()
                ),
            ),
            (
                "TAYORI_QUEUE_PATH".to_owned(),
                data.path().join("queue.sqlite").display().to_string(),
            ),
        ];
        environment.extend(
            extra
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        Self::spawn(environment, data).await
    }

    /// Starts the server of a scale-out deployment, running `in_process_workers` jobs itself.
    pub async fn start_with(
        deployment: &Deployment,
        in_process_workers: usize,
    ) -> anyhow::Result<Self> {
        let environment = vec![
            ("DATABASE_URL".to_owned(), deployment.database_url.clone()),
            ("REDIS_URL".to_owned(), deployment.redis_url.clone()),
            (
                "TAYORI_QUEUE_NAME".to_owned(),
                deployment.queue_name.clone(),
            ),
            (
                "TAYORI_IN_PROCESS_WORKERS".to_owned(),
                in_process_workers.to_string(),
            ),
            (
                "TAYORI_SECRET_KEY".to_owned(),
                deployment.secret_key.clone(),
            ),
        ];
        Self::spawn(environment, tempfile::tempdir()?).await
    }

    async fn spawn(
        environment: Vec<(String, String)>,
        data: tempfile::TempDir,
    ) -> anyhow::Result<Self> {
        let web_dir = workspace_root().join("web/dist");
        if !web_dir.join("index.html").exists() {
            bail!(
                "{} has no index.html; build the dashboard with scripts/build-web",
                web_dir.display()
            );
        }
        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}");
        let process = Command::new(binary("server")?)
            .env_remove("REDIS_URL")
            .env(
                "TAYORI_SECRET_KEY_FILE",
                data.path().join("tayori-secret.key"),
            )
            .envs(environment)
            .env("TAYORI_LISTEN", format!("127.0.0.1:{port}"))
            .env("TAYORI_WEB_DIR", &web_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("failed to start the server")?;
        let server = Self {
            url,
            _process: KillOnDrop(process),
            _data: data,
        };
        server.wait_until_healthy().await?;
        Ok(server)
    }

    async fn wait_until_healthy(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client.get(format!("{}/health", self.url)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("server at {} did not become healthy within 30 s", self.url);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Headless Chromium driven through a chromedriver process of its own.
pub struct Browser {
    pub client: Client,
    _driver: KillGroupOnDrop,
    _profile: tempfile::TempDir,
}

/// A child that leads its own process group; dropping it kills the whole group. chromedriver
/// starts Chromium's processes in its group, and killing chromedriver alone left them running.
struct KillGroupOnDrop(Child);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Browser {
    pub async fn start() -> anyhow::Result<Self> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let driver_path =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        let port = free_port()?;
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .with_context(|| {
                format!("failed to start {driver_path}; install Debian's chromium-driver")
            })?;
        let driver = KillGroupOnDrop(driver);
        let profile = tempfile::tempdir()?;

        let chrome_binary =
            std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chrome_binary,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }
        });
        let capabilities = match capabilities {
            serde_json::Value::Object(map) => map,
            _ => bail!("capabilities must be an object"),
        };

        let webdriver_url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let attempt = ClientBuilder::rustls()?
                .capabilities(capabilities.clone())
                .connect(&webdriver_url)
                .await;
            match attempt {
                Ok(client) => break client,
                Err(error) if Instant::now() > deadline => {
                    return Err(anyhow::anyhow!(
                        "could not start a Chromium session: {error}"
                    ));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Ok(Self {
            client,
            _driver: driver,
            _profile: profile,
        })
    }
}

/// Sends a GraphQL operation to the server at `url`, with `token` as the bearer token when
/// given, and returns `data`. A response with `errors` is an error that quotes them.
pub async fn graphql(
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let mut request = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .json(&serde_json::json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: serde_json::Value = request
        .send()
        .await
        .context("GraphQL request failed")?
        .json()
        .await
        .context("GraphQL response is not JSON")?;
    if let Some(errors) = body.get("errors").filter(|errors| !errors.is_null()) {
        bail!("GraphQL returned errors: {errors}");
    }
    body.get("data")
        .cloned()
        .context("GraphQL response has no data")
}

/// Logs an operator in over GraphQL and returns the access token.
pub async fn log_in(
    url: &str,
    tenant_slug: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let data = graphql(
        url,
        None,
        "mutation($input: LogInInput!) { logIn(input: $input) { accessToken } }",
        serde_json::json!({
            "input": { "tenantSlug": tenant_slug, "email": email, "password": password }
        }),
    )
    .await?;
    data["logIn"]["accessToken"]
        .as_str()
        .map(str::to_owned)
        .context("logIn returned no access token")
}
