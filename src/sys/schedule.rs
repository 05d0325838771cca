//! The daemon's schedule: a cron expression in local time, a random delay
//! per run, and whether a run the machine slept through is owed.

use std::time::Duration;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Local, TimeZone};
use croner::Cron;

/// The default: 03:30 every day, local time.
pub const DEFAULT_CRON: &str = "0 30 3 * * *";

/// Parses `expr` exactly as tokio-cron-scheduler will (seconds field
/// required, day-of-month and day-of-week must both match), so a config
/// that loads is a config the scheduler accepts.
pub fn parse(expr: &str) -> Result<Cron> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
        .map_err(|e| {
            anyhow!(
                "{expr:?} is not a cron expression dhrotate understands ({e}); \
                 it takes 6 fields \"sec min hour day-of-month month day-of-week\", \
                 e.g. {DEFAULT_CRON:?} for 03:30 every day"
            )
        })
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    cron: Cron,
    jitter: Duration,
}

impl Schedule {
    /// A schedule from the settings' expression and jitter.
    pub fn new(expr: &str, jitter: Duration) -> Result<Schedule> {
        Ok(Schedule {
            expr: expr.to_owned(),
            cron: parse(expr)?,
            jitter,
        })
    }

    /// The expression, as configured.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The first run strictly after `now`.
    pub fn next_after<Tz: TimeZone>(&self, now: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        self.cron.find_next_occurrence(now, false).ok()
    }

    /// True when a scheduled time lies after `last_run` and not after
    /// `now`: the machine was off or the daemon stopped then. Never having
    /// run counts as missed, so a fresh install rotates once at start.
    pub fn missed(&self, last_run: Option<DateTime<Local>>, now: DateTime<Local>) -> bool {
        let Some(last) = last_run else {
            return true;
        };
        match self.cron.find_previous_occurrence(&now, true) {
            Ok(due) => due > last,
            Err(_) => false,
        }
    }

    /// The random delay before a run: uniform in [0, jitter], so a fleet
    /// with one schedule does not rotate (and reload) in the same second.
    pub fn delay(&self, random: u64) -> Duration {
        let ms = self.jitter.as_millis() as u64;
        if ms == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(random % (ms + 1))
    }
}

/// A random u64 from OpenSSL's generator, for the jitter.
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // A failing RNG only loses the spread, never the run.
    let _ = openssl::rand::rand_bytes(&mut b);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Local> {
        let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        Local.from_local_datetime(&naive).earliest().unwrap()
    }

    #[test]
    fn five_field_cron_is_refused_with_the_format_in_the_message() {
        let e = parse("30 3 * * *").unwrap_err().to_string();
        assert!(e.contains("6 fields"), "{e}");
        assert!(parse("0 30 3 * * *").is_ok());
        assert!(parse("0 30 25 * * *").is_err(), "hour 25");
    }

    #[test]
    fn a_run_is_missed_only_when_a_scheduled_time_passed_since_the_last() {
        let s = Schedule::new("0 30 3 * * *", Duration::ZERO).unwrap();
        let now = at("2026-11-29 12:00:00");
        assert!(s.missed(None, now), "never ran");
        assert!(
            s.missed(Some(at("2026-11-28 12:00:00")), now),
            "slept through 03:30"
        );
        assert!(
            !s.missed(Some(at("2026-11-29 03:30:05")), now),
            "ran at 03:30"
        );
        assert!(!s.missed(Some(at("2026-11-29 04:00:00")), now));
    }

    #[test]
    fn next_run_and_delay_stay_in_range() {
        let s = Schedule::new("0 30 3 * * *", Duration::from_secs(3600)).unwrap();
        let next = s.next_after(&at("2026-11-29 03:30:00")).unwrap();
        assert_eq!(next, at("2026-11-30 03:30:00"), "strictly after");
        for r in [0, 1, 3_600_000, 3_600_001, u64::MAX] {
            assert!(s.delay(r) <= Duration::from_secs(3600));
        }
        assert_eq!(s.delay(3_600_000), Duration::from_secs(3600));
        let none = Schedule::new("0 30 3 * * *", Duration::ZERO).unwrap();
        assert_eq!(none.delay(12345), Duration::ZERO);
    }
}
