//! How write transactions meet on SQLite, where one connection writes at a time.

use std::time::Duration;

use domain::{db, settings::DatabaseSettings};
use sea_orm::{ConnectionTrait, Statement};

/// A transaction that reads and then writes, while another connection writes in between,
/// commits: the other write waits for it instead of making it fail with "database is locked".
#[tokio::test]
async fn read_then_write_transaction_survives_a_concurrent_write() {
    let temp = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        temp.path().join("race.sqlite").display()
    );
    let db = db::connect_and_migrate(&DatabaseSettings { url })
        .await
        .unwrap();
    db.execute_unprepared("CREATE TABLE counters (id INTEGER PRIMARY KEY, value INTEGER)")
        .await
        .unwrap();
    db.execute_unprepared("INSERT INTO counters VALUES (1, 0)")
        .await
        .unwrap();

    let tx = db::begin_write(&db).await.unwrap();
    let read = tx
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT value FROM counters WHERE id = 1",
        ))
        .await
        .unwrap()
        .unwrap();
    let value: i64 = read.try_get("", "value").unwrap();

    let other = db.clone();
    let concurrent = tokio::spawn(async move {
        other
            .execute_unprepared("UPDATE counters SET value = value + 10 WHERE id = 1")
            .await
    });
    // Gives the other write the chance to go first, as it could before it had to wait.
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.execute_unprepared(&format!(
        "UPDATE counters SET value = {} WHERE id = 1",
        value + 1
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();
    concurrent.await.unwrap().unwrap();

    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT value FROM counters WHERE id = 1",
        ))
        .await
        .unwrap()
        .unwrap();
    let total: i64 = row.try_get("", "value").unwrap();
    assert_eq!(total, 11, "both writes count, one after the other");
}
