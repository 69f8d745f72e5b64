//! Counting failed attempts (logins, sign-ups) per key within a sliding window.
//!
//! NOTE: counters live in this process's memory, so with several server processes each one
//! allows the full budget. A shared store (Redis) is the fix when the server scales out.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

/// Allows at most `max_attempts` per key within `window`.
pub struct AttemptLimiter {
    max_attempts: usize,
    window: Duration,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl AttemptLimiter {
    pub fn new(max_attempts: usize, window: Duration) -> Self {
        Self {
            max_attempts,
            window,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the seconds to wait when the key has used its budget, else `None`.
    pub fn check(&self, key: &str, now: Instant) -> Option<u64> {
        let mut attempts = self
            .attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entries = attempts.get_mut(key)?;
        while entries
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            entries.pop_front();
        }
        if entries.len() < self.max_attempts {
            return None;
        }
        let oldest = entries.front().copied()?;
        let wait = self.window.saturating_sub(now.duration_since(oldest));
        Some(wait.as_secs().max(1))
    }

    /// Counts one attempt against the key.
    pub fn record(&self, key: &str, now: Instant) {
        let mut attempts = self
            .attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Drop idle keys now and then so that the map cannot grow without bound.
        if attempts.len() > 10_000 {
            attempts.retain(|_, entries| {
                entries
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        attempts.entry(key.to_owned()).or_default().push_back(now);
    }

    /// Forgets a key, for example after a successful login.
    pub fn clear(&self, key: &str) {
        let mut attempts = self
            .attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        attempts.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_budget_and_recovers_after_window() {
        let limiter = AttemptLimiter::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check("k", start), None);
            limiter.record("k", start);
        }
        assert_eq!(
            limiter.check("k", start + Duration::from_secs(10)),
            Some(50)
        );
        assert_eq!(limiter.check("other", start), None);
        assert_eq!(limiter.check("k", start + Duration::from_secs(61)), None);
    }

    #[test]
    fn clear_resets_key() {
        let limiter = AttemptLimiter::new(1, Duration::from_secs(60));
        let now = Instant::now();
        limiter.record("k", now);
        assert!(limiter.check("k", now).is_some());
        limiter.clear("k");
        assert_eq!(limiter.check("k", now), None);
    }
}
