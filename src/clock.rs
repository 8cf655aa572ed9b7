//! Process clocks. `mono_ns` is a monotonic nanosecond counter from a process-wide epoch (for
//! latency and timeouts); `wall_ms`/`wall_ns` are Unix time (for venue timestamps). Neither
//! allocates or blocks, so both are safe on the hot thread.

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
