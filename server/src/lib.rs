//! Tayori's HTTP server: the GraphQL API, the dashboard bundle and health checks. By default it
//! also runs the job workers in-process, so one process is the whole product.
//!
//! [`App::build`] wires settings to state; [`App::serve`] runs until the shutdown future
//! completes. `main.rs` and the integration tests both go through these two calls.

pub mod demo;
pub mod graphql;
pub mod http;
pub mod state;

use std::future::Future;

use anyhow::Context;
use domain::{
    sending::SendingConfig,
    settings::{Environment, ServerSettings},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use worker::{JobContext, JobQueue};

pub use state::AppState;

/// A configured server, ready to serve.
pub struct App {
    pub state: AppState,
    settings: ServerSettings,
}

impl App {
    /// Connects to the database (applying migrations) and the queue, with the sending
    /// configuration read from the environment.
    pub async fn build(settings: ServerSettings) -> anyhow::Result<Self> {
        let sending = SendingConfig::load(&Environment, &settings.public_url)
            .context("invalid sending configuration")?;
        Self::build_with(settings, sending).await
    }

    /// Like [`App::build`], with the sending configuration given (tests point it at their own
    /// SMTP server and Mailgun double).
    pub async fn build_with(
        settings: ServerSettings,
        sending: SendingConfig,
    ) -> anyhow::Result<Self> {
        worker::install_crypto_provider();
        let db = domain::db::connect_and_migrate(&settings.database).await?;
        let queue = JobQueue::connect(&settings.queue).await?;
        let state = AppState::new(db, queue, &settings, sending)?;
        if !settings.web_dir.join("index.html").exists() {
            tracing::warn!(
                web_dir = %settings.web_dir.display(),
                "dashboard bundle not found; build it with scripts/build-web or set TAYORI_WEB_DIR"
            );
        }
        Ok(Self { state, settings })
    }

    /// Serves HTTP on `listener` (and runs the in-process workers) until `shutdown` completes,
    /// then finishes running requests and jobs.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let token = CancellationToken::new();
        let pool = (self.settings.in_process_workers > 0).then(|| {
            let queue = self.state.queue.clone();
            let context = JobContext::new(
                self.state.db.clone(),
                queue.clone(),
                self.state.sending.clone(),
            );
            let stop = token.clone();
            let concurrency = self.settings.in_process_workers;
            tokio::spawn(async move {
                if let Err(error) = worker::run_pool(queue, context, concurrency, async move {
                    stop.cancelled().await
                })
                .await
                {
                    tracing::error!(error = ?error, "in-process worker pool stopped with an error");
                }
            })
        });

        let router = http::router(self.state, &self.settings);
        let stop = token.clone();
        let address = listener.local_addr().context("listener has no address")?;
        tracing::info!(address = %address, "listening");
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            stop.cancel();
        });
        server.await.context("HTTP server failed")?;

        token.cancel();
        if let Some(pool) = pool {
            let _ = pool.await;
        }
        tracing::info!("server stopped");
        Ok(())
    }
}
