//! The test SMTP server `e2e/smtp/server.py` (aiosmtpd) as a child process: STARTTLS,
//! implicit-TLS and plain listeners on 127.0.0.1, AUTH with random credentials, scripted replies
//! chosen by the recipient's local part, and every accepted message stored as files.
//!
//! Needs bash, flock, openssl and Python 3.11 or later; `e2e/smtp/setup` installs aiosmtpd into a
//! virtual environment on first use (see `e2e/smtp/README.md`).

use std::{
    hash::{BuildHasher, RandomState},
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::{KillOnDrop, workspace_root};

/// How long the server may take to print its ports.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Which certificate the `starttls` and `tls` listeners present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerCertificate {
    /// Valid for `localhost` and 127.0.0.1, signed by the test CA.
    #[default]
    Valid,
    /// Signed by the test CA, but valid only in 2020.
    Expired,
    /// Signed by the test CA for `other.example` only.
    WrongHost,
}

impl ServerCertificate {
    fn file_stem(self) -> &'static str {
        match self {
            Self::Valid => "server",
            Self::Expired => "expired",
            Self::WrongHost => "wronghost",
        }
    }
}

/// Options of [`TestSmtp::start_with`].
#[derive(Debug, Clone, Default)]
pub struct SmtpOptions {
    /// Wait before the 220 greeting on every listener.
    pub greeting_delay: Option<Duration>,
    pub certificate: ServerCertificate,
}

/// A message that the server accepted, read from its `.eml` and `.json` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The DATA bytes without dot-stuffing, as the client sent them.
    pub raw: Vec<u8>,
    /// The reverse-path; empty for `<>`.
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub auth_user: Option<String>,
    /// `starttls`, `tls` or `plain`.
    pub listener: String,
    /// Whether the session was encrypted.
    pub tls: bool,
}

#[derive(Deserialize)]
struct Envelope {
    mail_from: String,
    rcpt_tos: Vec<String>,
    auth_user: Option<String>,
    listener: String,
    tls: bool,
}

#[derive(Deserialize)]
struct Ports {
    starttls: u16,
    tls: u16,
    plain: u16,
}

/// A running test SMTP server. Dropping it kills the process.
pub struct TestSmtp {
    ports: Ports,
    user: String,
    password: String,
    certs: PathBuf,
    // Declared before `messages`, so the server is gone before its directory is removed.
    _process: KillOnDrop,
    messages: tempfile::TempDir,
}

impl TestSmtp {
    /// Starts a server with the valid certificate and no greeting delay.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(SmtpOptions::default()).await
    }

    pub async fn start_with(options: SmtpOptions) -> anyhow::Result<Self> {
        let certs = workspace_root().join("target/test-smtp-certs");
        let python = {
            let certs = certs.clone();
            tokio::task::spawn_blocking(move || run_setup(&certs)).await??
        };

        let messages = tempfile::tempdir()?;
        let user = format!("tayori-{}", random_hex());
        let password = random_hex();
        let stem = options.certificate.file_stem();
        let script = workspace_root().join("e2e/smtp/server.py");
        let mut command = Command::new(&python);
        command
            .arg(&script)
            .arg("--dir")
            .arg(messages.path())
            .arg("--cert")
            .arg(certs.join(format!("{stem}.pem")))
            .arg("--key")
            .arg(certs.join(format!("{stem}.key")))
            .args(["--user", &user, "--password", &password])
            .args([
                "--starttls-port",
                "0",
                "--tls-port",
                "0",
                "--plain-port",
                "0",
            ]);
        if let Some(delay) = options.greeting_delay {
            command
                .arg("--greeting-delay")
                .arg(delay.as_secs_f64().to_string());
        }
        // The server logs every session event; the log stays beside the messages.
        let log = std::fs::File::create(messages.path().join("server.log"))?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("failed to start {}", script.display()))?;
        let stdout = child.stdout.take().context("server stdout is not piped")?;
        let process = KillOnDrop(child);

        let first_line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = match tokio::time::timeout(START_TIMEOUT, first_line).await {
            Ok(line) => line??,
            Err(_) => bail!(
                "the test SMTP server printed no ports within {} s; its log: {}",
                START_TIMEOUT.as_secs(),
                read_log(messages.path())
            ),
        };
        let ports: Ports = serde_json::from_str(line.trim()).with_context(|| {
            format!(
                "the test SMTP server printed {line:?} instead of its ports; its log: {}",
                read_log(messages.path())
            )
        })?;

        Ok(Self {
            ports,
            user,
            password,
            certs,
            _process: process,
            messages,
        })
    }

    /// Plain text, then STARTTLS (required before AUTH).
    pub fn starttls_port(&self) -> u16 {
        self.ports.starttls
    }

    /// TLS from the first byte.
    pub fn tls_port(&self) -> u16 {
        self.ports.tls
    }

    /// Plain text without STARTTLS or AUTH; accepts no mail.
    pub fn plain_port(&self) -> u16 {
        self.ports.plain
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The test CA that signed every server certificate, as PEM.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.certs.join("ca.pem")).unwrap_or_default()
    }

    /// The server's log so far (stderr of the process).
    pub fn log(&self) -> String {
        read_log(self.messages.path())
    }

    /// The messages stored so far, in the order the server accepted them.
    pub fn messages(&self) -> anyhow::Result<Vec<Received>> {
        let mut names: Vec<String> = std::fs::read_dir(self.messages.path())?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.') && name.ends_with(".eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|name| read_message(&self.messages.path().join(name)))
            .collect()
    }

    /// Waits until at least `count` messages are stored and returns all of them.
    pub async fn wait_for_messages(
        &self,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Received>> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages()?;
            if messages.len() >= count {
                return Ok(messages);
            }
            if Instant::now() > deadline {
                bail!(
                    "{} of {count} messages arrived within {} ms; server log: {}",
                    messages.len(),
                    timeout.as_millis(),
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Runs `e2e/smtp/setup --certs DIR` and returns the virtual environment's python.
fn run_setup(certs: &Path) -> anyhow::Result<PathBuf> {
    let setup = workspace_root().join("e2e/smtp/setup");
    let output = Command::new(&setup)
        .arg("--certs")
        .arg(certs)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("failed to run {}", setup.display()))?;
    if !output.status.success() {
        bail!(
            "{} failed with {}: {}",
            setup.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let python = stdout
        .lines()
        .last()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .with_context(|| format!("{} printed no python path", setup.display()))?;
    Ok(PathBuf::from(python))
}

fn read_message(eml: &Path) -> anyhow::Result<Received> {
    let raw = std::fs::read(eml).with_context(|| format!("failed to read {}", eml.display()))?;
    let json_path = eml.with_extension("json");
    let json = std::fs::read(&json_path)
        .with_context(|| format!("failed to read {}", json_path.display()))?;
    let envelope: Envelope = serde_json::from_slice(&json)
        .with_context(|| format!("{} is not a message envelope", json_path.display()))?;
    Ok(Received {
        raw,
        mail_from: envelope.mail_from,
        rcpt_tos: envelope.rcpt_tos,
        auth_user: envelope.auth_user,
        listener: envelope.listener,
        tls: envelope.tls,
    })
}

fn read_log(directory: &Path) -> String {
    std::fs::read_to_string(directory.join("server.log")).unwrap_or_default()
}

/// 16 random hex digits from the standard library's randomly keyed hasher.
fn random_hex() -> String {
    format!("{:016x}", RandomState::new().hash_one(Instant::now()))
}
