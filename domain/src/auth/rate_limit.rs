//! Counting attempts (logins, sign-ups, password resets) per key within a sliding window.
//!
//! The counts live in the database, so every server process of a deployment draws on one
//! budget. Each limiter counts in buckets of a fifteenth of its window and adds up the buckets
//! that started within the last window. A bucket leaves the sum all at once, so the window is
//! exact to one bucket.
//! Keys are stored as SHA-256 hashes and old buckets are purged by the reconciler.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::{Expr, OnConflict},
};
use sha2::{Digest, Sha256};

use crate::{entities::attempt, error::Result};

/// Buckets per window.
const BUCKETS: i64 = 15;
/// How long buckets are kept: longer than any limiter's window.
const KEEP: TimeDelta = TimeDelta::days(2);

/// Allows at most `max_attempts` per key within `window`, counted across all processes.
#[derive(Debug, Clone)]
pub struct AttemptLimiter {
    /// Keeps the counts of different limiters apart, such as `member_login`.
    scope: &'static str,
    max_attempts: usize,
    window: TimeDelta,
}

impl AttemptLimiter {
    pub fn new(scope: &'static str, max_attempts: usize, window: Duration) -> Self {
        Self {
            scope,
            max_attempts,
            window: TimeDelta::from_std(window).unwrap_or(TimeDelta::hours(1)),
        }
    }

    fn key_hash(&self, key: &str) -> String {
        hex::encode(Sha256::digest(key.as_bytes()))
    }

    fn bucket(&self) -> TimeDelta {
        (self.window / i32::try_from(BUCKETS).unwrap_or(15)).max(TimeDelta::seconds(1))
    }

    fn bucket_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let size = self.bucket().num_milliseconds().max(1);
        let millis = now.timestamp_millis();
        DateTime::from_timestamp_millis(millis - millis.rem_euclid(size)).unwrap_or(now)
    }

    /// Returns the seconds to wait when the key has used its budget, else `None`.
    pub async fn check(
        &self,
        db: &impl ConnectionTrait,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>> {
        let since = now - self.window;
        let buckets: Vec<(DateTime<Utc>, i32)> = attempt::Entity::find()
            .select_only()
            .column(attempt::Column::BucketStart)
            .column(attempt::Column::Count)
            .filter(attempt::Column::Scope.eq(self.scope))
            .filter(attempt::Column::KeyHash.eq(self.key_hash(key)))
            .filter(attempt::Column::BucketStart.gt(since))
            .into_tuple()
            .all(db)
            .await?;
        let total: i64 = buckets.iter().map(|(_, count)| i64::from(*count)).sum();
        if total < i64::try_from(self.max_attempts).unwrap_or(i64::MAX) {
            return Ok(None);
        }
        let oldest = buckets.iter().map(|(start, _)| *start).min().unwrap_or(now);
        let wait = (oldest + self.window - now).num_seconds();
        Ok(Some(u64::try_from(wait).unwrap_or(0).max(1)))
    }

    /// Counts one attempt against the key.
    pub async fn record(
        &self,
        db: &impl ConnectionTrait,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        use sea_orm::sea_query::ExprTrait as _;

        let row = attempt::ActiveModel {
            scope: Set(self.scope.to_owned()),
            key_hash: Set(self.key_hash(key)),
            bucket_start: Set(self.bucket_start(now)),
            count: Set(1),
        };
        attempt::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    attempt::Column::Scope,
                    attempt::Column::KeyHash,
                    attempt::Column::BucketStart,
                ])
                .value(
                    attempt::Column::Count,
                    Expr::col((attempt::Entity, attempt::Column::Count)).add(1),
                )
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        Ok(())
    }

    /// Forgets a key, for example after a successful login.
    pub async fn clear(&self, db: &impl ConnectionTrait, key: &str) -> Result<()> {
        attempt::Entity::delete_many()
            .filter(attempt::Column::Scope.eq(self.scope))
            .filter(attempt::Column::KeyHash.eq(self.key_hash(key)))
            .exec(db)
            .await?;
        Ok(())
    }
}

/// Deletes the buckets that no limiter counts any more. Returns how many it deleted.
pub async fn purge(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64> {
    let deleted = attempt::Entity::delete_many()
        .filter(attempt::Column::BucketStart.lt(now - KEEP))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_a_fifteenth_of_the_window() {
        let limiter = AttemptLimiter::new("test", 3, Duration::from_secs(15 * 60));
        assert_eq!(limiter.bucket(), TimeDelta::minutes(1));
        let now = DateTime::parse_from_rfc3339("2030-01-01T10:07:42Z")
            .map(|time| time.with_timezone(&Utc))
            .unwrap_or_default();
        let start = limiter.bucket_start(now);
        assert_eq!(start.to_rfc3339(), "2030-01-01T10:07:00+00:00");
    }

    #[test]
    fn keys_are_stored_hashed() {
        let limiter = AttemptLimiter::new("test", 3, Duration::from_secs(60));
        let hash = limiter.key_hash("203.0.113.7");
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains("203"));
    }
}
