//! Bulk writes of a matching run: new match sets and their deliveries.
//!
//! A run writes hundreds of thousands of rows, so each chunk goes to the database as one statement with a
//! fixed number of parameters: PostgreSQL takes one array per column (`UNNEST`), SQLite one JSON
//! array of rows (`json_each`). A multi-row `VALUES` list would bind one parameter per value and
//! run into the databases' parameter limits. UUIDs travel as hex and are stored as the same
//! values sea-orm stores (native `uuid` on PostgreSQL, 16-byte blobs on SQLite).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement, Value,
};
use uuid::Uuid;

use crate::{
    TenantId,
    entities::{listing, listing_match_set},
    error::Result,
    listings::upsert::MATCH_PENDING_NONE,
    outbox::{DeliveryKind, DeliveryState, new_message_id},
};

/// Rows per statement.
const CHUNK_ROWS: usize = 5_000;
/// Packed match entries per statement, at most (a set larger than this goes alone).
const CHUNK_BYTES: usize = 8 << 20;

/// The matches of one listing in one run, to record as one row.
pub(super) struct NewMatchSet {
    pub listing_id: Uuid,
    pub seq: i32,
    /// (member, rule) pairs.
    pub matches: Vec<(Uuid, Uuid)>,
}

/// A delivery to record, not yet rendered.
pub(super) struct NewDelivery {
    pub id: Uuid,
    pub member_id: Uuid,
    /// The listing of an instant mail.
    pub listing_id: Option<Uuid>,
    pub kind: DeliveryKind,
    pub state: DeliveryState,
    pub to_address: String,
    pub locale: String,
}

/// Inserts match sets whose (listing, seq) key is still free and returns the listings whose set
/// was inserted. Statements are cut at [`CHUNK_ROWS`] sets or [`CHUNK_BYTES`] of entries,
/// whichever comes first.
pub(super) async fn insert_match_sets(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    sets: &[NewMatchSet],
) -> Result<HashSet<Uuid>> {
    let backend = db.get_database_backend();
    let mut inserted = HashSet::with_capacity(sets.len());
    let mut rest = sets;
    while !rest.is_empty() {
        let mut bytes = 0;
        let take = rest
            .iter()
            .take_while(|set| {
                bytes += set.matches.len() * listing_match_set::ENTRY_BYTES;
                bytes <= CHUNK_BYTES
            })
            .count()
            .clamp(1, CHUNK_ROWS);
        let (chunk, after) = rest.split_at(take.min(rest.len()));
        rest = after;
        let entries = chunk
            .iter()
            .map(|set| ::hex::encode(listing_match_set::pack(set.matches.iter().copied())));
        let statement = match backend {
            DbBackend::Postgres => Statement::from_sql_and_values(
                backend,
                "INSERT INTO listing_match_sets (tenant_id, listing_id, seq, entries) \
                 SELECT $1, listing_id, seq, decode(entries, 'hex') \
                 FROM UNNEST($2::uuid[], $3::int[], $4::text[]) AS t (listing_id, seq, entries) \
                 ON CONFLICT DO NOTHING \
                 RETURNING listing_id",
                [
                    tenant_id.0.into(),
                    uuid_array(chunk.iter().map(|set| set.listing_id)),
                    Value::from(chunk.iter().map(|set| set.seq).collect::<Vec<i32>>()),
                    text_array(entries),
                ],
            ),
            _ => {
                let json: Vec<(String, i32, String)> = chunk
                    .iter()
                    .zip(entries)
                    .map(|(set, entries)| (hex(set.listing_id), set.seq, entries))
                    .collect();
                // `WHERE true` lets SQLite's parser attach ON CONFLICT to the INSERT.
                Statement::from_sql_and_values(
                    backend,
                    "INSERT INTO listing_match_sets (tenant_id, listing_id, seq, entries) \
                     SELECT ?, unhex(value ->> 0), value ->> 1, unhex(value ->> 2) \
                     FROM json_each(?) WHERE true \
                     ON CONFLICT DO NOTHING \
                     RETURNING listing_id",
                    [tenant_id.0.into(), json_text(&json)?],
                )
            }
        };
        for row in db.query_all_raw(statement).await? {
            inserted.insert(row.try_get("", "listing_id")?);
        }
    }
    Ok(inserted)
}

/// Inserts new deliveries, empty until the outbox renders them.
pub(super) async fn insert_deliveries(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    now: DateTime<Utc>,
    rows: &[NewDelivery],
) -> Result<()> {
    let backend = db.get_database_backend();
    for chunk in rows.chunks(CHUNK_ROWS) {
        let statement = match backend {
            DbBackend::Postgres => Statement::from_sql_and_values(
                backend,
                "INSERT INTO deliveries \
                   (id, tenant_id, member_id, listing_id, kind, state, to_address, locale, \
                    message_id, subject, text_body, html_body, headers, error, created_at, \
                    updated_at) \
                 SELECT id, $1, member_id, NULLIF(listing_id, '')::uuid, kind, state, \
                   to_address, locale, message_id, '', '', '', '', NULL, $2, $2 \
                 FROM UNNEST($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], \
                   $8::text[], $9::text[], $10::text[]) \
                   AS t (id, member_id, listing_id, kind, state, to_address, locale, message_id)",
                [
                    tenant_id.0.into(),
                    now.into(),
                    uuid_array(chunk.iter().map(|row| row.id)),
                    uuid_array(chunk.iter().map(|row| row.member_id)),
                    text_array(
                        chunk
                            .iter()
                            .map(|row| row.listing_id.map(hex).unwrap_or_default()),
                    ),
                    text_array(chunk.iter().map(|row| row.kind.as_str().to_owned())),
                    text_array(chunk.iter().map(|row| row.state.as_str().to_owned())),
                    text_array(chunk.iter().map(|row| row.to_address.clone())),
                    text_array(chunk.iter().map(|row| row.locale.clone())),
                    text_array(chunk.iter().map(|row| new_message_id(row.id))),
                ],
            ),
            _ => {
                let json: Vec<[String; 8]> = chunk
                    .iter()
                    .map(|row| {
                        [
                            hex(row.id),
                            hex(row.member_id),
                            row.listing_id.map(hex).unwrap_or_default(),
                            row.kind.as_str().to_owned(),
                            row.state.as_str().to_owned(),
                            row.to_address.clone(),
                            row.locale.clone(),
                            new_message_id(row.id),
                        ]
                    })
                    .collect();
                // Timestamps as sqlx writes them for SQLite, so that they read back alike.
                let now = now.to_rfc3339_opts(SecondsFormat::AutoSi, false);
                Statement::from_sql_and_values(
                    backend,
                    "INSERT INTO deliveries \
                       (id, tenant_id, member_id, listing_id, kind, state, to_address, locale, \
                        message_id, subject, text_body, html_body, headers, error, created_at, \
                        updated_at) \
                     SELECT unhex(value ->> 0), ?, unhex(value ->> 1), \
                       unhex(nullif(value ->> 2, '')), value ->> 3, value ->> 4, value ->> 5, \
                       value ->> 6, value ->> 7, '', '', '', '', NULL, ?, ? \
                     FROM json_each(?)",
                    [
                        tenant_id.0.into(),
                        now.clone().into(),
                        now.into(),
                        json_text(&json)?,
                    ],
                )
            }
        };
        db.execute_raw(statement).await?;
    }
    Ok(())
}

/// Marks listings as matched, each only if its content is still the version that was matched.
pub(super) async fn mark_matched(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    listings: &[(Uuid, &str)],
) -> Result<()> {
    let backend = db.get_database_backend();
    for chunk in listings.chunks(CHUNK_ROWS) {
        let statement = match backend {
            DbBackend::Postgres => Statement::from_sql_and_values(
                backend,
                "UPDATE listings SET match_pending = $1 \
                 FROM UNNEST($3::uuid[], $4::text[]) AS t (id, content_hash) \
                 WHERE listings.tenant_id = $2 AND listings.id = t.id \
                   AND listings.content_hash = t.content_hash",
                [
                    MATCH_PENDING_NONE.into(),
                    tenant_id.0.into(),
                    uuid_array(chunk.iter().map(|(id, _)| *id)),
                    text_array(chunk.iter().map(|(_, hash)| (*hash).to_owned())),
                ],
            ),
            _ => {
                // SQLite plans an UPDATE ... FROM a JSON table as a scan of the listings for
                // each row, while one indexed UPDATE per listing costs little without a network.
                for (id, hash) in chunk {
                    listing::Entity::update_many()
                        .col_expr(listing::Column::MatchPending, MATCH_PENDING_NONE.into())
                        .filter(listing::Column::TenantId.eq(tenant_id.0))
                        .filter(listing::Column::Id.eq(*id))
                        .filter(listing::Column::ContentHash.eq(*hash))
                        .exec(db)
                        .await?;
                }
                continue;
            }
        };
        db.execute_raw(statement).await?;
    }
    Ok(())
}

/// Records which listings each digest received in this batch: one row per digest.
pub(super) async fn insert_digest_items(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    items: &HashMap<Uuid, Vec<Uuid>>,
) -> Result<()> {
    let backend = db.get_database_backend();
    let rows: Vec<(&Uuid, &Vec<Uuid>)> = items.iter().collect();
    for chunk in rows.chunks(CHUNK_ROWS) {
        let digests: Vec<Uuid> = chunk.iter().map(|(id, _)| **id).collect();
        let listings: Vec<String> = chunk
            .iter()
            .map(|(_, ids)| ids.iter().map(|id| hex(*id)).collect())
            .collect();
        let statement = match backend {
            DbBackend::Postgres => Statement::from_sql_and_values(
                backend,
                "INSERT INTO digest_items (tenant_id, delivery_id, listing_ids) \
                 SELECT $1, delivery_id, decode(listing_ids, 'hex') \
                 FROM UNNEST($2::uuid[], $3::text[]) AS t (delivery_id, listing_ids)",
                [
                    tenant_id.0.into(),
                    uuid_array(digests.into_iter()),
                    text_array(listings.into_iter()),
                ],
            ),
            _ => {
                let json: Vec<[String; 2]> = digests
                    .iter()
                    .zip(listings)
                    .map(|(digest, listings)| [hex(*digest), listings])
                    .collect();
                Statement::from_sql_and_values(
                    backend,
                    "INSERT INTO digest_items (tenant_id, delivery_id, listing_ids) \
                     SELECT ?, unhex(value ->> 0), unhex(value ->> 1) FROM json_each(?)",
                    [tenant_id.0.into(), json_text(&json)?],
                )
            }
        };
        db.execute_raw(statement).await?;
    }
    Ok(())
}

/// Reads the listing ids stored by [`insert_digest_items`].
pub(crate) fn listing_ids(bytes: &[u8]) -> impl Iterator<Item = Uuid> + '_ {
    bytes
        .chunks_exact(16)
        .filter_map(|chunk| Uuid::from_slice(chunk).ok())
}

fn hex(id: Uuid) -> String {
    id.simple().to_string()
}

fn uuid_array(ids: impl Iterator<Item = Uuid>) -> Value {
    Value::from(ids.collect::<Vec<Uuid>>())
}

fn text_array(values: impl Iterator<Item = String>) -> Value {
    Value::from(values.collect::<Vec<String>>())
}

fn json_text<T: serde::Serialize>(rows: &T) -> Result<Value> {
    Ok(Value::from(serde_json::to_string(rows).map_err(
        |error| crate::Error::Internal(anyhow::anyhow!("encoding a bulk insert: {error}")),
    )?))
}
