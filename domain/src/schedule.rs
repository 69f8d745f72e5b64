//! Local times in a tenant's time zone: when a member's next digest is due.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use crate::tenants::DEFAULT_TIME_ZONE;

/// The tenant's time zone, or Asia/Tokyo when the stored name is unknown.
pub fn time_zone(name: &str) -> Tz {
    name.parse()
        .unwrap_or_else(|_| DEFAULT_TIME_ZONE.parse().unwrap_or(chrono_tz::Asia::Tokyo))
}

/// The first moment after `now` that is `hour`:00 local time, on `weekday` when one is given.
/// A local time that a DST change skips moves to the first valid instant after the gap; one
/// that occurs twice takes the earlier instant.
pub fn next_local_time(
    now: DateTime<Utc>,
    zone: Tz,
    hour: u32,
    weekday: Option<Weekday>,
) -> DateTime<Utc> {
    let local_now = now.with_timezone(&zone);
    let time = NaiveTime::from_hms_opt(hour.min(23), 0, 0).unwrap_or_default();
    let mut date = local_now.date_naive();
    // At most eight days ahead holds every weekday at every hour.
    for _ in 0..9 {
        if weekday.is_none_or(|day| date.weekday() == day) {
            let local = date.and_time(time);
            let instant = zone
                .from_local_datetime(&local)
                .earliest()
                .or_else(|| {
                    zone.from_local_datetime(&(local + Duration::hours(1)))
                        .earliest()
                })
                .map(|instant| instant.with_timezone(&Utc));
            if let Some(instant) = instant.filter(|instant| *instant > now) {
                return instant;
            }
        }
        date = date.succ_opt().unwrap_or(date);
    }
    now + Duration::days(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn daily_digest_is_next_local_hour_in_tokyo() {
        let tokyo = time_zone("Asia/Tokyo");
        // 08:30 in Tokyo: today's 09:00 is still ahead.
        let next = next_local_time(utc("2026-12-03T23:30:00Z"), tokyo, 9, None);
        assert_eq!(next, utc("2026-12-04T00:00:00Z"));
        // 09:00 exactly: the next one is tomorrow.
        let next = next_local_time(utc("2026-12-04T00:00:00Z"), tokyo, 9, None);
        assert_eq!(next, utc("2026-12-05T00:00:00Z"));
    }

    #[test]
    fn weekly_digest_waits_for_its_weekday() {
        let tokyo = time_zone("Asia/Tokyo");
        // Friday 2026-12-04 in Tokyo; the next Monday 08:00 is 2026-12-07.
        let next = next_local_time(utc("2026-12-04T03:00:00Z"), tokyo, 8, Some(Weekday::Mon));
        assert_eq!(next, utc("2026-12-06T23:00:00Z"));
    }

    #[test]
    fn hour_skipped_by_dst_moves_past_the_gap() {
        let new_york = time_zone("America/New_York");
        // 2026-03-08 02:00 does not exist in New York; 03:00 EDT is 07:00 UTC.
        let next = next_local_time(utc("2026-03-08T05:00:00Z"), new_york, 2, None);
        assert_eq!(next, utc("2026-03-08T07:00:00Z"));
    }

    #[test]
    fn unknown_zone_falls_back_to_tokyo() {
        assert_eq!(time_zone("Mars/Olympus"), chrono_tz::Asia::Tokyo);
    }
}
