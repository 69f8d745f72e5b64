//! Connecting to SQLite or PostgreSQL and bringing the schema up to date.

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::settings::DatabaseSettings;

/// Opens a connection pool and applies pending migrations.
pub async fn connect_and_migrate(
    settings: &DatabaseSettings,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(if settings.is_sqlite() { 8 } else { 20 })
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|options| {
            options
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .pragma("mmap_size", "2147418112")
                .pragma("cache_size", "-65536")
        });
    let db = Database::connect(options).await.with_context(|| {
        format!(
            "failed to connect to the database ({})",
            redact_url(&settings.url)
        )
    })?;

    if settings.is_sqlite() {
        // WAL lets readers continue while the worker writes. The setting is stored in the file.
        db.execute_unprepared("PRAGMA journal_mode=WAL;")
            .await
            .context("failed to enable WAL")?;
    }
    Migrator::up(&db, None)
        .await
        .context("failed to apply database migrations")?;
    Ok(db)
}

/// Starts a transaction that writes. On SQLite it takes the write lock at `BEGIN` (`BEGIN
/// IMMEDIATE`), waiting up to the busy timeout while another connection writes. A deferred
/// transaction that reads first would instead fail with "database is locked" when it tries to
/// write after another connection wrote in between, because its snapshot is then stale and
/// SQLite cannot wait that conflict out. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Removes the password from a connection URL so that it can be logged.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_password() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db/tayori"),
            "postgres://app:***@db/tayori"
        );
        assert_eq!(
            redact_url("sqlite://tayori.sqlite"),
            "sqlite://tayori.sqlite"
        );
    }
}
