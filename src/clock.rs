//! Process clocks. `mono_ns` is a monotonic nanosecond counter from a process-wide epoch (for
//! latency and timeouts); `wall_ms`/`wall_ns` are Unix time (for venue timestamps). Neither
//! allocates or blocks, so both are safe on the hot thread. `utc_civil` turns Unix seconds into a
//! UTC calendar date and time for reports. [`Cadence`] says when a fixed-interval job on the
//! monotonic clock is due.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// A job due every `interval_ns` on the monotonic clock: first at the first check, then
/// `interval_ns` after each check that found it due (a late check does not bunch up runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    interval_ns: u64,
    next_ns: u64,
}

impl Cadence {
    /// Due every `interval_ns` (at least 1).
    pub fn every(interval_ns: u64) -> Cadence {
        Cadence {
            interval_ns: interval_ns.max(1),
            next_ns: 0,
        }
    }

    /// Whether the job is due at `now_ns`; when it is, the next run is set `interval_ns` later.
    #[inline]
    pub fn due(&mut self, now_ns: u64) -> bool {
        if now_ns < self.next_ns {
            return false;
        }
        self.next_ns = now_ns.saturating_add(self.interval_ns);
        true
    }
}

/// Fix the monotonic epoch. Called once at start-up; later calls are no-ops.
pub fn init() {
    let _ = EPOCH.get_or_init(Instant::now);
}

/// Nanoseconds since the process epoch (monotonic).
#[inline]
pub fn mono_ns() -> u64 {
    let epoch = EPOCH.get_or_init(Instant::now);
    Instant::now().saturating_duration_since(*epoch).as_nanos() as u64
}

/// Unix time in nanoseconds (wall clock; may jump).
#[inline]
pub fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Unix time in milliseconds (wall clock; may jump).
#[inline]
pub fn wall_ms() -> u64 {
    wall_ns() / 1_000_000
}

/// Unix seconds as proleptic Gregorian UTC `(year, month, day, hour, minute, second)`
/// (Howard Hinnant's civil-from-days algorithm).
pub fn utc_civil(unix_s: u64) -> (i64, i64, i64, u64, u64, u64) {
    let days = (unix_s / 86_400) as i64;
    let secs = unix_s % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3_600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cadence_is_due_first_at_once_then_an_interval_after_each_run() {
        let mut c = Cadence::every(1_000);
        assert!(c.due(5));
        assert!(!c.due(1_004));
        assert!(c.due(1_005));
        // A late check runs once and counts the next interval from itself.
        assert!(c.due(9_000));
        assert!(!c.due(9_999));
        assert!(c.due(10_000));
        assert!(Cadence::every(0).due(0) && Cadence::every(0).due(u64::MAX));
    }

    #[test]
    fn mono_is_monotonic() {
        init();
        let a = mono_ns();
        let b = mono_ns();
        assert!(b >= a);
    }

    #[test]
    fn wall_clock_is_after_2024() {
        assert!(wall_ms() > 1_704_067_200_000);
    }
}
