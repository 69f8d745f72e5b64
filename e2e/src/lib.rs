//! Harness for end-to-end tests: starts the real `server` binary on a free port over a fresh
//! SQLite database, and headless Chromium through chromedriver.
//!
//! The server binary and the dashboard bundle must be built first (`scripts/test` does both):
//! the binary is looked up in `target/debug/server` unless `TAYORI_SERVER_BIN` names another.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder};

/// The workspace root, one level above this crate.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
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

/// A running `server` binary with its own database and queue files.
pub struct ServerProcess {
    pub url: String,
    _process: KillOnDrop,
    _data: tempfile::TempDir,
}

impl ServerProcess {
    pub async fn start() -> anyhow::Result<Self> {
        let root = workspace_root();
        let binary = std::env::var_os("TAYORI_SERVER_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/debug/server"));
        if !binary.exists() {
            bail!("{} is missing; build it with `cargo build --bins`", binary.display());
        }
        let web_dir = root.join("web/dist");
        if !web_dir.join("index.html").exists() {
            bail!("{} has no index.html; build the dashboard with scripts/build-web", web_dir.display());
        }

        let data = tempfile::tempdir()?;
        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}");
        let process = Command::new(&binary)
            .env("TAYORI_LISTEN", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", data.path().join("tayori.sqlite").display()))
            .env("TAYORI_QUEUE_PATH", data.path().join("queue.sqlite"))
            .env("TAYORI_WEB_DIR", &web_dir)
            .env_remove("REDIS_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("failed to start {}", binary.display()))?;
        let server = Self { url, _process: KillOnDrop(process), _data: data };
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
    _driver: KillOnDrop,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> anyhow::Result<Self> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let driver_path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        let port = free_port()?;
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("failed to start {driver_path}; install Debian's chromium-driver"))?;
        let driver = KillOnDrop(driver);
        let profile = tempfile::tempdir()?;

        let chrome_binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
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
            let attempt = ClientBuilder::rustls()?.capabilities(capabilities.clone()).connect(&webdriver_url).await;
            match attempt {
                Ok(client) => break client,
                Err(error) if Instant::now() > deadline => {
                    return Err(anyhow::anyhow!("could not start a Chromium session: {error}"));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Ok(Self { client, _driver: driver, _profile: profile })
    }
}
