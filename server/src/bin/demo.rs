//! Builds the demo tenant on the Tokyo listings: `cargo run --release -p server --bin demo`.
//! See `server::demo` for what it creates and `--help` for the options.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, bail};
use domain::{
    sending::SendingConfig,
    settings::{DEFAULT_LISTEN, DatabaseSettings, Environment, Source},
};
use server::demo::{self, DemoOptions};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "\
Builds a demo tenant on the Tokyo listings of 2019 in Tayori's database.

Usage: demo [OPTIONS]

Options:
  --members N      members to generate (default 5000, at most 100000)
  --seed N         seed of the member generator (default 2019); the same seed gives the same members
  --csv PATH       listings file (default ../shared/data/tokyo_listings_2019.csv, from the repository root)
  --database URL   sqlite://FILE?mode=rwc or postgres://USER@HOST/DB (default: DATABASE_URL, else
                   sqlite://tayori.sqlite?mode=rwc, the server's default)
  --slug SLUG      tenant slug (default demo)
  --reset          delete the tenant with this slug first, if there is one
  --no-outbox      leave the deliveries queued instead of rendering them (the server's worker
                   renders them when it runs)
  -h, --help       print this help

Log lines go to stderr; RUST_LOG sets the filter (default warn).";

struct Arguments {
    options: DemoOptions,
    database_url: Option<String>,
}

fn parse_arguments() -> anyhow::Result<Option<Arguments>> {
    let mut options = DemoOptions::default();
    let mut database_url = None;
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let mut value = |name: &str| {
            arguments
                .next()
                .with_context(|| format!("{name} needs a value; see --help"))
        };
        match argument.as_str() {
            "-h" | "--help" => return Ok(None),
            "--members" => {
                let text = value("--members")?;
                options.members = text
                    .parse()
                    .with_context(|| format!("--members {text:?} is not a whole number"))?;
            }
            "--seed" => {
                let text = value("--seed")?;
                options.seed = text
                    .parse()
                    .with_context(|| format!("--seed {text:?} is not a whole number"))?;
            }
            "--csv" => options.csv = PathBuf::from(value("--csv")?),
            "--database" => database_url = Some(value("--database")?),
            "--slug" => options.slug = value("--slug")?,
            "--reset" => options.reset = true,
            "--no-outbox" => options.render_outbox = false,
            other => bail!("unknown option {other:?}; see --help"),
        }
    }
    Ok(Some(Arguments {
        options,
        database_url,
    }))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let Some(arguments) = parse_arguments()? else {
        println!("{USAGE}");
        return Ok(());
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    worker::install_crypto_provider();

    let settings = match arguments.database_url {
        Some(url) => DatabaseSettings { url },
        None => DatabaseSettings::load(&Environment).context("invalid configuration")?,
    };
    let database = domain::db::redact_url(&settings.url);
    let db = domain::db::connect_and_migrate(&settings).await?;
    // The links in rendered mail must verify with the key of the server that serves them, so
    // the demo reads the same settings as the server.
    let public_url = Environment
        .get("TAYORI_PUBLIC_URL")
        .unwrap_or_else(|| format!("http://{DEFAULT_LISTEN}"));
    let sending = SendingConfig::load(&Environment, &public_url)?;
    let report = demo::run(&db, &sending, &arguments.options).await?;
    print!("{}", demo::format_report(&report, &database));
    db.close().await?;
    Ok(())
}
