//! Fault injection for the simulated exchange, shared by the HTTP threads and the exchange core
//! (atomics and a small mutex; no state lock needed):
//!
//! * matching-engine restart: HTTP 425 on order endpoints for a duration, then a post-only
//!   window (non-post-only orders → 503 "post-only mode: ...");
//! * the next N trading requests answer 500;
//! * the next N trading requests are processed but answered N ms late;
//! * the next N trading requests are processed and the connection is dropped unanswered;
//! * the next N trades go RETRYING → FAILED (the ledger is reverted).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The engine mode at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineMode {
    Normal,
    /// HTTP 425 on order endpoints.
    Restarting,
    /// Only post-only orders and cancels.
    PostOnly,
}

#[derive(Debug, Default)]
struct Windows {
    restart_until: Option<Instant>,
    post_only_until: Option<Instant>,
}

/// Faults a test injects into the exchange (`Simulator::exchange_control`).
#[derive(Debug, Default)]
pub struct ExchangeControl {
    windows: Mutex<Windows>,
    fail_500: AtomicU32,
    delay_count: AtomicU32,
    delay_ms: AtomicU64,
    drop_count: AtomicU32,
    fail_trades: AtomicU32,
}

fn take_one(c: &AtomicU32) -> bool {
    c.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl ExchangeControl {
    /// A restart: 425 for `restart`, then post-only mode for `post_only`.
    pub fn inject_restart(&self, restart: Duration, post_only: Duration) {
        let now = Instant::now();
        if let Ok(mut w) = self.windows.lock() {
            w.restart_until = Some(now + restart);
            w.post_only_until = Some(now + restart + post_only);
        }
    }

    /// End any restart / post-only window now.
    pub fn clear_restart(&self) {
        if let Ok(mut w) = self.windows.lock() {
            *w = Windows::default();
        }
    }

    /// The mode at `now`.
    pub fn mode(&self, now: Instant) -> EngineMode {
        let Ok(w) = self.windows.lock() else {
            return EngineMode::Normal;
        };
        match (w.restart_until, w.post_only_until) {
            (Some(r), _) if now < r => EngineMode::Restarting,
            (_, Some(p)) if now < p => EngineMode::PostOnly,
            _ => EngineMode::Normal,
        }
    }

    /// The next `n` trading requests answer HTTP 500 without being processed.
    pub fn fail_next_requests(&self, n: u32) {
        self.fail_500.store(n, Ordering::SeqCst);
    }

    /// The next `n` trading requests are processed, then answered `delay` late.
    pub fn delay_next_responses(&self, n: u32, delay: Duration) {
        self.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
        self.delay_count.store(n, Ordering::SeqCst);
    }

    /// The next `n` trading requests are processed, then the connection is dropped unanswered.
    pub fn drop_next_responses(&self, n: u32) {
        self.drop_count.store(n, Ordering::SeqCst);
    }

    /// The next `n` trades go MATCHED → RETRYING → FAILED and are reverted.
    pub fn fail_next_trades(&self, n: u32) {
        self.fail_trades.store(n, Ordering::SeqCst);
    }

    /// Consume one injected 500.
    pub fn take_500(&self) -> bool {
        take_one(&self.fail_500)
    }

    /// Consume one injected response delay (its length).
    pub fn take_delay(&self) -> Option<Duration> {
        take_one(&self.delay_count)
            .then(|| Duration::from_millis(self.delay_ms.load(Ordering::SeqCst)))
    }

    /// Consume one injected connection drop.
    pub fn take_drop(&self) -> bool {
        take_one(&self.drop_count)
    }

    /// Consume one injected trade failure.
    pub fn take_trade_failure(&self) -> bool {
        take_one(&self.fail_trades)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_counters() {
        let c = ExchangeControl::default();
        let t = Instant::now();
        assert_eq!(c.mode(t), EngineMode::Normal);
        c.inject_restart(Duration::from_secs(10), Duration::from_secs(20));
        assert_eq!(c.mode(Instant::now()), EngineMode::Restarting);
        assert_eq!(
            c.mode(Instant::now() + Duration::from_secs(15)),
            EngineMode::PostOnly
        );
        assert_eq!(
            c.mode(Instant::now() + Duration::from_secs(31)),
            EngineMode::Normal
        );
        c.fail_next_trades(2);
        assert!(c.take_trade_failure() && c.take_trade_failure() && !c.take_trade_failure());
        c.delay_next_responses(1, Duration::from_millis(7));
        assert_eq!(c.take_delay(), Some(Duration::from_millis(7)));
        assert_eq!(c.take_delay(), None);
    }
}
