//! Starts Tayori: `cargo run -p server` runs the whole product on embedded defaults.

use anyhow::Context;
use domain::settings::{Environment, ServerSettings};
use server::App;
use worker::shutdown_signal;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = ServerSettings::load(&Environment).context("invalid configuration")?;
    domain::telemetry::init(settings.log_format);

    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {} (TAYORI_LISTEN)", settings.listen))?;
    let public_url = settings.public_url.clone();
    let app = App::build(settings).await?;
    println!("Tayori is running. Open {public_url}/ in your browser.");
    app.serve(listener, shutdown_signal()).await
}
