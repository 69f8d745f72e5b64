//! When a step is due: its nominal time from the trigger or the previous step, then the first
//! allowed moment at or after it (outside quiet hours, on an allowed weekday), all in the
//! tenant's time zone.
//!
//! Day offsets count calendar days of the local date, never 24-hour periods or months, so a
//! DST change keeps "day 3 at 09:00" at 09:00 local time, and month ends or 29 February neither
//! skip nor repeat a day.

use chrono::{
    DateTime, Datelike, Days, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;

/// The rule that sets a step's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// `days` calendar days after the trigger's local date, at `at` local time. Day 0 is the
    /// trigger's own day.
    DaysAfterTrigger { days: u32, at: NaiveTime },
    /// `minutes` after the previous step was handled (or after the trigger, for a first step).
    AfterPrevious { minutes: u32 },
}

/// The local times a sequence may send at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    /// Local times without sending, from the first (inclusive) to the second (exclusive). A
    /// start after the end spans midnight, as in 21:00 to 08:00.
    pub quiet_hours: Option<(NaiveTime, NaiveTime)>,
    /// Allowed weekdays as bits, Monday first (bit 0) to Sunday (bit 6).
    pub weekdays: u8,
}

/// Every weekday allowed.
pub const ALL_WEEKDAYS: u8 = 0b111_1111;

impl Default for SendWindow {
    fn default() -> Self {
        Self {
            quiet_hours: None,
            weekdays: ALL_WEEKDAYS,
        }
    }
}

impl SendWindow {
    fn allows_day(&self, date: NaiveDate) -> bool {
        self.weekdays & (1 << date.weekday().num_days_from_monday()) != 0
    }

    /// Returns whether `time` falls into the quiet hours.
    fn is_quiet(&self, time: NaiveTime) -> bool {
        match self.quiet_hours {
            None => false,
            Some((start, end)) if start == end => false,
            Some((start, end)) if start < end => start <= time && time < end,
            Some((start, end)) => time >= start || time < end,
        }
    }
}

/// Returns the nominal time of a step, before the send window applies.
pub fn nominal(
    timing: Timing,
    trigger_at: DateTime<Utc>,
    previous_at: DateTime<Utc>,
    zone: Tz,
) -> DateTime<Utc> {
    match timing {
        Timing::DaysAfterTrigger { days, at } => {
            let trigger_date = trigger_at.with_timezone(&zone).date_naive();
            let date = trigger_date
                .checked_add_days(Days::new(u64::from(days)))
                .unwrap_or(NaiveDate::MAX);
            local_instant(zone, date.and_time(at))
        }
        Timing::AfterPrevious { minutes } => previous_at + Duration::minutes(i64::from(minutes)),
    }
}

/// Returns the first moment at or after `at` that the window allows. Without any allowed
/// weekday, `at` itself is returned, so that a misconfigured sequence delays nothing for ever.
pub fn next_allowed(at: DateTime<Utc>, zone: Tz, window: &SendWindow) -> DateTime<Utc> {
    if window.weekdays & ALL_WEEKDAYS == 0 {
        return at;
    }
    let mut candidate = at;
    // A week and a day covers every combination of weekdays and quiet hours.
    for _ in 0..16 {
        let local = candidate.with_timezone(&zone).naive_local();
        if !window.allows_day(local.date()) {
            let next_day = local.date().succ_opt().unwrap_or(local.date());
            candidate = local_instant(zone, next_day.and_time(NaiveTime::MIN)).max(candidate);
            continue;
        }
        if window.is_quiet(local.time()) {
            let Some((_, end)) = window.quiet_hours else {
                return candidate;
            };
            let end_date = if end <= local.time() {
                local.date().succ_opt().unwrap_or(local.date())
            } else {
                local.date()
            };
            candidate = local_instant(zone, end_date.and_time(end)).max(candidate);
            continue;
        }
        return candidate;
    }
    candidate
}

/// Returns when a step is due: its nominal time moved into the send window.
pub fn due_at(
    timing: Timing,
    trigger_at: DateTime<Utc>,
    previous_at: DateTime<Utc>,
    zone: Tz,
    window: &SendWindow,
) -> DateTime<Utc> {
    next_allowed(nominal(timing, trigger_at, previous_at, zone), zone, window)
}

/// Converts a local time to an instant. A time that a DST change skips moves to the first
/// instant after the gap, and one that occurs twice takes the earlier instant.
fn local_instant(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local;
    // DST gaps last an hour in most zones and never more than a few; search minute by minute.
    for _ in 0..(4 * 60) {
        if let Some(instant) = zone.from_local_datetime(&probe).earliest() {
            return instant.with_timezone(&Utc);
        }
        probe += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn time(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
    }

    fn day_at(days: u32, hour: u32) -> Timing {
        Timing::DaysAfterTrigger {
            days,
            at: time(hour, 0),
        }
    }

    #[test]
    fn day_three_counts_tokyo_dates_not_utc_dates() {
        // 2025-03-11 08:30 in Tokyo is still 2025-03-10 in UTC.
        let signup = utc("2025-03-10T23:30:00Z");
        let due = nominal(day_at(3, 9), signup, signup, chrono_tz::Asia::Tokyo);
        assert_eq!(due, utc("2025-03-14T00:00:00Z"));
    }

    #[test]
    fn day_three_keeps_local_hour_across_dst_start() {
        // Signup Friday 2025-03-07 10:00 PST; DST starts on Sunday 2025-03-09.
        let signup = utc("2025-03-07T18:00:00Z");
        let zone = chrono_tz::America::Los_Angeles;
        let due = nominal(day_at(3, 9), signup, signup, zone);
        assert_eq!(due, utc("2025-03-10T16:00:00Z"));
    }

    #[test]
    fn leap_days_and_month_ends_count_once() {
        let zone = chrono_tz::Asia::Tokyo;
        // 2028-02-28 10:00 JST: days 1, 2 and 3 are 29 February, 1 March and 2 March.
        let signup = utc("2028-02-28T01:00:00Z");
        let dues: Vec<_> = (1..=3)
            .map(|days| nominal(day_at(days, 9), signup, signup, zone))
            .collect();
        assert_eq!(
            dues,
            [
                utc("2028-02-29T00:00:00Z"),
                utc("2028-03-01T00:00:00Z"),
                utc("2028-03-02T00:00:00Z"),
            ]
        );
        // 31 January plus one day is 1 February, never 28 February or 3 March.
        let january = utc("2027-01-31T01:00:00Z");
        assert_eq!(
            nominal(day_at(1, 9), january, january, zone),
            utc("2027-02-01T00:00:00Z")
        );
    }

    #[test]
    fn dst_gap_moves_to_its_end() {
        // 2026-03-08 02:30 does not exist in New York; 03:00 EDT is 07:00 UTC.
        let zone = chrono_tz::America::New_York;
        let trigger = utc("2026-03-07T15:00:00Z");
        let timing = Timing::DaysAfterTrigger {
            days: 1,
            at: time(2, 30),
        };
        assert_eq!(
            nominal(timing, trigger, trigger, zone),
            utc("2026-03-08T07:00:00Z")
        );
    }

    #[test]
    fn after_previous_adds_minutes_to_the_previous_step() {
        let previous = utc("2026-12-05T01:00:00Z");
        let timing = Timing::AfterPrevious { minutes: 90 };
        let due = nominal(
            timing,
            utc("2026-12-01T00:00:00Z"),
            previous,
            chrono_tz::UTC,
        );
        assert_eq!(due, utc("2026-12-05T02:30:00Z"));
    }

    #[test]
    fn quiet_hours_over_midnight_wait_for_their_end() {
        let zone = chrono_tz::Asia::Tokyo;
        let window = SendWindow {
            quiet_hours: Some((time(21, 0), time(8, 0))),
            weekdays: ALL_WEEKDAYS,
        };
        // 23:30 JST waits until 08:00 the next morning.
        assert_eq!(
            next_allowed(utc("2026-12-04T14:30:00Z"), zone, &window),
            utc("2026-12-04T23:00:00Z")
        );
        // 06:00 JST waits until 08:00 the same morning.
        assert_eq!(
            next_allowed(utc("2026-12-04T21:00:00Z"), zone, &window),
            utc("2026-12-04T23:00:00Z")
        );
        // 08:00 JST is allowed: the end is exclusive.
        assert_eq!(
            next_allowed(utc("2026-12-04T23:00:00Z"), zone, &window),
            utc("2026-12-04T23:00:00Z")
        );
    }

    #[test]
    fn weekend_waits_for_monday_after_quiet_hours() {
        let zone = chrono_tz::Asia::Tokyo;
        let window = SendWindow {
            quiet_hours: Some((time(20, 0), time(9, 0))),
            // Monday to Friday.
            weekdays: 0b001_1111,
        };
        // Saturday 2026-12-05 12:00 JST waits until Monday 2026-12-07 09:00 JST.
        assert_eq!(
            next_allowed(utc("2026-12-05T03:00:00Z"), zone, &window),
            utc("2026-12-07T00:00:00Z")
        );
    }

    #[test]
    fn window_without_weekdays_delays_nothing() {
        let window = SendWindow {
            quiet_hours: None,
            weekdays: 0,
        };
        let at = utc("2026-12-05T03:00:00Z");
        assert_eq!(next_allowed(at, chrono_tz::Asia::Tokyo, &window), at);
    }
}
