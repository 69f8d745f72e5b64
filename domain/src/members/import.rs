//! Importing members from CSV, keyed by email address: a new address adds a member, a known one
//! replaces that member's settings and profile. Rows with problems are reported one by one and
//! the valid rows are stored in one transaction.
//!
//! Columns: `email` (required), optionally `locale` (ja/en), `frequency` (instant, daily,
//! weekly), `digest_hour` (0-23), `digest_weekday` (0 = Monday) and `status` (active or
//! unsubscribed), and one column per profile field, named by the field's name or either label.
//! Several choices or keywords in one cell are separated by `|`, `,` or `、`. This is the format
//! [`super::export`] writes.
//!
//! An import never subscribes anyone again: `status` can unsubscribe a known member, but
//! `active` leaves an unsubscribed member unsubscribed.

use std::collections::HashSet;

use chrono::Utc;
use sea_orm::{
    DatabaseConnection, EntityTrait, Set,
    sea_query::{Expr, OnConflict},
};
use serde_json::{Map, Value};

use super::{Frequency, MemberInput, MemberStatus, next_digest_at, profile_fields, validate};
use crate::{
    Locale, MemberId, Problem, TenantId, ValidationError,
    entities::member,
    error::Result,
    listings::{
        RecordError,
        imports::{csv_reader, malformed},
        schema::fold,
    },
    tenants,
};

/// The maximum number of rows one import accepts.
pub const MAX_ROWS: usize = 100_000;
const CHUNK_ROWS: usize = 500;

/// The outcome of an import. `errors[].index` is the row number as a spreadsheet shows it (the
/// header is row 1), and `external_id` is the row's address.
#[derive(Debug, Default, Clone)]
pub struct MemberImportReport {
    pub created: usize,
    pub updated: usize,
    pub rejected: usize,
    pub errors: Vec<RecordError>,
}

enum Column {
    Email,
    Locale,
    Frequency,
    DigestHour,
    DigestWeekday,
    Status,
    Profile(String),
}

/// Imports the CSV text for the tenant.
pub async fn import_csv(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    csv: &str,
) -> Result<MemberImportReport> {
    let tenant = tenants::get(db, tenant_id).await?;
    let fields = profile_fields::get(db, tenant_id).await?;
    let mut reader = csv_reader(csv);
    let headers = reader.headers().map_err(|e| malformed(&e))?.clone();
    let columns = headers
        .iter()
        .map(|header| {
            let wanted = fold(header);
            match wanted.as_str() {
                "email" | "メールアドレス" => Ok(Column::Email),
                "locale" | "言語" => Ok(Column::Locale),
                "frequency" | "配信頻度" => Ok(Column::Frequency),
                "digest_hour" => Ok(Column::DigestHour),
                "digest_weekday" => Ok(Column::DigestWeekday),
                "status" | "配信状態" => Ok(Column::Status),
                _ => fields
                    .iter()
                    .find(|f| {
                        f.name == header.trim()
                            || fold(&f.label_ja) == wanted
                            || fold(&f.label_en) == wanted
                    })
                    .map(|f| Column::Profile(f.name.clone()))
                    .ok_or_else(|| {
                        ValidationError::new("csv", Some(header), Problem::UnknownColumn)
                    }),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !columns.iter().any(|c| matches!(c, Column::Email)) {
        return Err(ValidationError::new("csv", Some("email"), Problem::UnknownColumn).into());
    }

    let mut report = MemberImportReport::default();
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (position, record) in reader.records().enumerate() {
        let index = position + 2;
        if position >= MAX_ROWS {
            return Err(ValidationError::new(
                "csv",
                None,
                Problem::TooManyRecords { max: MAX_ROWS },
            )
            .into());
        }
        let record = record.map_err(|e| malformed(&e))?;
        let (input, status, mut errors) = read_row(&columns, &record);
        let email = input.email.trim().to_owned();
        match validate(&fields, &tenant, &input) {
            Ok(valid) if errors.is_empty() => {
                if seen.insert(valid.email.to_lowercase()) {
                    rows.push((valid, status));
                } else {
                    errors.push(ValidationError::new(
                        "email",
                        Some(&email),
                        Problem::EmailTaken,
                    ));
                }
            }
            Ok(_) => {}
            Err(validation) => errors.extend(validation),
        }
        if !errors.is_empty() {
            report.rejected += 1;
            report
                .errors
                .extend(errors.into_iter().map(|error| RecordError {
                    index,
                    external_id: Some(email.clone()).filter(|e| !e.is_empty()),
                    error,
                }));
        }
    }

    let now = Utc::now();
    let tx = crate::db::begin_write(db).await?;
    for chunk in rows.chunks(CHUNK_ROWS) {
        let mut new_ids = HashSet::with_capacity(chunk.len());
        let models: Vec<member::ActiveModel> = chunk
            .iter()
            .map(|(valid, status)| {
                let id = MemberId::new().0;
                new_ids.insert(id);
                member::ActiveModel {
                    id: Set(id),
                    tenant_id: Set(tenant_id.0),
                    email: Set(valid.email.clone()),
                    email_key: Set(valid.email.to_lowercase()),
                    locale: Set(valid.locale.as_str().to_owned()),
                    frequency: Set(valid.frequency.as_str().to_owned()),
                    digest_hour: Set(i16::from(valid.digest_hour)),
                    digest_weekday: Set(i16::from(valid.digest_weekday)),
                    status: Set(status.as_str().to_owned()),
                    profile: Set(valid.profile_json.clone()),
                    next_digest_at: Set(next_digest_at(
                        valid.frequency,
                        valid.digest_hour,
                        valid.digest_weekday,
                        &tenant.time_zone,
                        now,
                    )),
                    created_at: Set(now),
                    updated_at: Set(now),
                    password_hash: Set(None),
                    confirmed_at: Set(None),
                    consent: Set(None),
                }
            })
            .collect();
        let on_conflict = OnConflict::columns([member::Column::TenantId, member::Column::EmailKey])
            .update_columns([
                member::Column::Email,
                member::Column::Locale,
                member::Column::Frequency,
                member::Column::DigestHour,
                member::Column::DigestWeekday,
                member::Column::Profile,
                member::Column::NextDigestAt,
                member::Column::UpdatedAt,
            ])
            .value(
                member::Column::Status,
                Expr::cust(format!(
                    "CASE WHEN excluded.status = '{unsubscribed}' THEN '{unsubscribed}' \
                     ELSE members.status END",
                    unsubscribed = MemberStatus::Unsubscribed.as_str()
                )),
            )
            .to_owned();
        let written = member::Entity::insert_many(models)
            .on_conflict(on_conflict)
            .exec_with_returning(&tx)
            .await?;
        let created = written
            .iter()
            .filter(|row| new_ids.contains(&row.id))
            .count();
        report.created += created;
        report.updated += written.len() - created;
    }
    if !rows.is_empty() {
        tenants::bump_matching_revision(&tx, tenant_id).await?;
    }
    tx.commit().await?;
    tracing::info!(
        tenant.id = %tenant_id,
        created = report.created,
        updated = report.updated,
        rejected = report.rejected,
        "members imported"
    );
    Ok(report)
}

fn read_row(
    columns: &[Column],
    record: &csv::StringRecord,
) -> (MemberInput, MemberStatus, Vec<ValidationError>) {
    let mut input = MemberInput::default();
    let mut status = MemberStatus::Active;
    let mut errors = Vec::new();
    let mut profile = Map::new();
    let number = |field: &str, text: &str, errors: &mut Vec<ValidationError>| -> Option<i64> {
        if text.is_empty() {
            return None;
        }
        text.parse::<i64>()
            .map_err(|_| errors.push(ValidationError::new(field, Some(text), Problem::NotANumber)))
            .ok()
    };
    for (column, cell) in columns.iter().zip(record.iter()) {
        let cell = cell.trim();
        match column {
            Column::Email => input.email = cell.to_owned(),
            Column::Locale if !cell.is_empty() => input.locale = Some(Locale::from_tag(cell)),
            Column::Frequency if !cell.is_empty() => match frequency(cell) {
                Some(frequency) => input.frequency = Some(frequency),
                None => errors.push(ValidationError::new(
                    "frequency",
                    Some(cell),
                    Problem::UnknownOption {
                        allowed: [("instant", "即時"), ("daily", "毎日"), ("weekly", "毎週")]
                            .iter()
                            .map(|(value, ja)| {
                                ((*value).to_owned(), (*ja).to_owned(), (*value).to_owned())
                            })
                            .collect(),
                    },
                )),
            },
            Column::DigestHour => input.digest_hour = number("digestHour", cell, &mut errors),
            Column::DigestWeekday => {
                input.digest_weekday = number("digestWeekday", cell, &mut errors);
            }
            Column::Status if !cell.is_empty() => match fold(cell).as_str() {
                "active" | "配信中" => status = MemberStatus::Active,
                "unsubscribed" | "配信停止" => status = MemberStatus::Unsubscribed,
                _ => errors.push(ValidationError::new(
                    "status",
                    Some(cell),
                    Problem::UnknownOption {
                        allowed: vec![
                            (
                                "active".to_owned(),
                                "配信中".to_owned(),
                                "active".to_owned(),
                            ),
                            (
                                "unsubscribed".to_owned(),
                                "配信停止".to_owned(),
                                "unsubscribed".to_owned(),
                            ),
                        ],
                    },
                )),
            },
            Column::Profile(name) if !cell.is_empty() => {
                profile.insert(name.clone(), Value::String(cell.to_owned()));
            }
            _ => {}
        }
    }
    input.profile = profile;
    (input, status, errors)
}

fn frequency(cell: &str) -> Option<Frequency> {
    let folded = fold(cell);
    Frequency::parse(&folded).or(match folded.as_str() {
        "即時" => Some(Frequency::Instant),
        "毎日" => Some(Frequency::Daily),
        "毎週" => Some(Frequency::Weekly),
        _ => None,
    })
}
