//! Process clocks. `mono_ns` is a monotonic nanosecond counter from a process-wide epoch (for
//! latency and timeouts); `wall_ms`/`wall_ns` are Unix time (for venue timestamps). Neither
//! allocates or blocks, so both are safe on the hot thread. `utc_civil` turns Unix seconds into a
//! UTC calendar date and time for reports.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static EPOCH: OnceLock<Instant> = OnceLock::new();

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
