//! Migrations that move existing rows: the data of an earlier schema must survive them.

use chrono::Utc;
use domain::{DeliveryId, TenantId, entities::listing_match_set, outbox};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database as Connection, DatabaseConnection, EntityTrait,
    QueryFilter, Value,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use uuid::Uuid;

use crate::{
    helpers::{Database, create_postgres_database},
    on_both_databases,
};

/// A match set as (listing, seq, (member, rule) pairs).
type SetRow = (Uuid, i32, Vec<(Uuid, Uuid)>);

async fn insert(db: &DatabaseConnection, table: &str, row: Vec<(&str, Value)>) {
    let (columns, values): (Vec<_>, Vec<_>) = row
        .into_iter()
        .map(|(column, value)| (Alias::new(column), Expr::val(value)))
        .unzip();
    db.execute(
        &Query::insert()
            .into_table(Alias::new(table))
            .columns(columns)
            .values(values)
            .unwrap()
            .to_owned(),
    )
    .await
    .unwrap();
}

async fn count(db: &DatabaseConnection, table: &str, column: &str, value: Uuid) -> i64 {
    let row = db
        .query_one(
            &Query::select()
                .expr(Expr::col(Alias::new(column)).count())
                .from(Alias::new(table))
                .and_where(Expr::col(Alias::new(column)).eq(value))
                .to_owned(),
        )
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

async fn member(db: &DatabaseConnection, tenant_id: Uuid, email: &str, frequency: &str) -> Uuid {
    let id = Uuid::now_v7();
    let now = Utc::now();
    insert(
        db,
        "members",
        vec![
            ("id", id.into()),
            ("tenant_id", tenant_id.into()),
            ("email", email.into()),
            ("email_key", email.into()),
            ("locale", "ja".into()),
            ("frequency", frequency.into()),
            ("digest_hour", 9i16.into()),
            ("digest_weekday", 0i16.into()),
            ("status", "active".into()),
            ("profile", "{}".into()),
            ("created_at", now.into()),
            ("updated_at", now.into()),
        ],
    )
    .await;
    id
}

async fn listing(db: &DatabaseConnection, tenant_id: Uuid, external_id: &str) -> Uuid {
    let id = Uuid::now_v7();
    let now = Utc::now();
    insert(
        db,
        "listings",
        vec![
            ("id", id.into()),
            ("tenant_id", tenant_id.into()),
            ("external_id", external_id.into()),
            ("fields", r#"{"title":"物件"}"#.into()),
            ("content_hash", "h1".into()),
            ("created_at", now.into()),
            ("updated_at", now.into()),
        ],
    )
    .await;
    id
}

/// Inserts an old `matches` row, with the explanation and rule name the new table no longer
/// keeps.
async fn old_match(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    (member_id, listing_id, rule_id): (Uuid, Uuid, Uuid),
    delivery_id: Option<Uuid>,
) -> Uuid {
    let id = Uuid::now_v7();
    insert(
        db,
        "matches",
        vec![
            ("id", id.into()),
            ("tenant_id", tenant_id.into()),
            ("member_id", member_id.into()),
            ("listing_id", listing_id.into()),
            ("rule_id", rule_id.into()),
            ("rule_name", "賃料".into()),
            ("explanation", "[]".into()),
            ("listing_hash", "h1".into()),
            ("delivery_id", delivery_id.into()),
            ("created_at", Utc::now().into()),
        ],
    )
    .await;
    id
}

/// Migrates an instant mail captured before the migration, a daily member's two waiting matches
/// and a waiting update notice. Afterwards the mail names its listing, and the waiting rows share
/// one collecting digest that lists both listings.
async fn compact_matches_keeps_old_rows(database: Database) {
    let temp = tempfile::tempdir().unwrap();
    let url = match database {
        Database::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            temp.path().join("old.sqlite").display()
        ),
        Database::Postgres => create_postgres_database().await,
    };
    let db = Connection::connect(&url).await.unwrap();
    // Up to and including m20261204_000007_create_matching.
    Migrator::up(&db, Some(7)).await.unwrap();
    // A tenant row as that schema has it; the current entities name later columns.
    let tenant_id = Uuid::now_v7();
    insert(
        &db,
        "tenants",
        vec![
            ("id", tenant_id.into()),
            ("slug", "carry-over".into()),
            ("name", "移行".into()),
            ("default_locale", "ja".into()),
            ("time_zone", "Asia/Tokyo".into()),
            ("created_at", Utc::now().into()),
            ("listing_count", 0i64.into()),
            ("notify_on_change", false.into()),
            ("matching_revision", 0i64.into()),
        ],
    )
    .await;
    let instant = member(&db, tenant_id, "instant@example.com", "instant").await;
    let daily = member(&db, tenant_id, "daily@example.com", "daily").await;
    let first = listing(&db, tenant_id, "L1").await;
    let second = listing(&db, tenant_id, "L2").await;
    let rule = Uuid::now_v7();
    let mail = Uuid::now_v7();
    let now = Utc::now();
    insert(
        &db,
        "deliveries",
        vec![
            ("id", mail.into()),
            ("tenant_id", tenant_id.into()),
            ("member_id", Some(instant).into()),
            ("kind", "listing".into()),
            ("state", "captured".into()),
            ("to_address", "instant@example.com".into()),
            ("locale", "ja".into()),
            ("message_id", "m@captured.tayori.invalid".into()),
            ("subject", "件名".into()),
            ("text_body", "本文".into()),
            ("html_body", "<p>本文</p>".into()),
            ("headers", "".into()),
            ("created_at", now.into()),
            ("updated_at", now.into()),
        ],
    )
    .await;
    old_match(&db, tenant_id, (instant, first, rule), Some(mail)).await;
    let waiting = old_match(&db, tenant_id, (daily, first, rule), None).await;
    old_match(&db, tenant_id, (daily, second, rule), None).await;
    insert(
        &db,
        "match_updates",
        vec![
            ("id", Uuid::now_v7().into()),
            ("tenant_id", tenant_id.into()),
            ("match_id", waiting.into()),
            ("member_id", daily.into()),
            ("listing_id", first.into()),
            ("listing_hash", "h2".into()),
            ("rule_name", "賃料".into()),
            ("explanation", "[]".into()),
            ("delivery_id", Option::<Uuid>::None.into()),
            ("created_at", now.into()),
        ],
    )
    .await;

    Migrator::up(&db, None).await.unwrap();

    // Each listing's matches are one set, whatever mail carries them.
    let mut sets: Vec<SetRow> = listing_match_set::Entity::find()
        .filter(listing_match_set::Column::TenantId.eq(tenant_id))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|set| (set.listing_id, set.seq, set.matches().collect()))
        .collect();
    sets.sort();
    let mut first_members = vec![(instant, rule), (daily, rule)];
    first_members.sort();
    assert_eq!(
        sets,
        [(first, 0, first_members), (second, 0, vec![(daily, rule)])]
    );
    let captured = outbox::get(&db, TenantId(tenant_id), DeliveryId(mail))
        .await
        .unwrap();
    assert_eq!(captured.subject, "件名");
    let items = outbox::items(&db, TenantId(tenant_id), DeliveryId(mail))
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].listing_id, first);

    let digests = outbox::list(
        &db,
        TenantId(tenant_id),
        10,
        None,
        outbox::DeliveryFilter {
            state: Some(outbox::DeliveryState::Collecting),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .nodes;
    assert_eq!(digests.len(), 1, "{digests:?}");
    let digest = &digests[0];
    assert_eq!(digest.member_id.map(|id| id.0), Some(daily));
    assert_eq!(
        count(&db, "listing_match_updates", "delivery_id", digest.id.0).await,
        1
    );
    let mut carried: Vec<(Uuid, bool)> = outbox::items(&db, TenantId(tenant_id), digest.id)
        .await
        .unwrap()
        .into_iter()
        .map(|item| (item.listing_id, item.update))
        .collect();
    carried.sort();
    assert_eq!(carried, [(first, false), (first, true), (second, false)]);

    // Deleting the member takes their unsent digest and its list of listings with them.
    domain::members::delete(&db, TenantId(tenant_id), domain::MemberId(daily))
        .await
        .unwrap();
    assert_eq!(
        count(&db, "digest_items", "delivery_id", digest.id.0).await,
        0
    );
    assert_eq!(count(&db, "deliveries", "id", digest.id.0).await, 0);
    let _ = db.close().await;
}
on_both_databases!(compact_matches_keeps_old_rows);
