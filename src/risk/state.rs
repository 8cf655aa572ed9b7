//! The trading state the risk thread publishes and the hot thread reads, through atomics only
//! (no lock on the hot path): killed (latched until an operator reset), paused until a wall
//! time, the size multiplier, and the hot thread's heartbeat counter the monitor watches.
//!
//! Invariants: the hot thread only reads the flags and bumps the heartbeat; the risk thread
//! writes the flags; a kill stays set until [`RiskShared::reset_kill`].

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};

/// Full size, basis points.
pub const FULL_SIZE_BPS: u32 = 10_000;

/// Why the kill switch fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum KillReason {
    /// Total exposure above the hard limit.
    LimitBreach = 1,
    /// ATR spiked above its baseline.
    AtrSpike = 2,
    /// The hot thread's heartbeat stopped moving.
    HotThreadHung = 3,
    /// Operator or another component asked.
    Command = 4,
}

impl KillReason {
    fn from_u8(v: u8) -> Option<KillReason> {
        match v {
            1 => Some(KillReason::LimitBreach),
            2 => Some(KillReason::AtrSpike),
            3 => Some(KillReason::HotThreadHung),
            4 => Some(KillReason::Command),
            _ => None,
        }
    }
}

/// What the hot thread may do right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradingMode {
    /// New orders allowed.
    Running,
    /// Daily-loss pause: no new orders until the pause ends.
    Paused,
    /// Kill switch: no new orders until reset.
    Killed,
}

/// See the module docs.
#[derive(Debug)]
pub struct RiskShared {
    killed: AtomicBool,
    kill_reason: AtomicU8,
    kill_requested: AtomicBool,
    paused_until_ms: AtomicU64,
    size_mult_bps: AtomicU32,
    hot_heartbeat: AtomicU64,
}

impl Default for RiskShared {
    fn default() -> Self {
        RiskShared {
            killed: AtomicBool::new(false),
            kill_reason: AtomicU8::new(0),
            kill_requested: AtomicBool::new(false),
            paused_until_ms: AtomicU64::new(0),
            size_mult_bps: AtomicU32::new(FULL_SIZE_BPS),
            hot_heartbeat: AtomicU64::new(0),
        }
    }
}

impl RiskShared {
    /// Running, full size.
    pub fn new() -> Self {
        Self::default()
    }

    /// The mode at wall time `now_ms` (hot thread).
    #[inline]
    pub fn mode(&self, now_ms: u64) -> TradingMode {
        if self.killed.load(Ordering::Acquire) {
            TradingMode::Killed
        } else if self.paused_until_ms.load(Ordering::Acquire) > now_ms {
            TradingMode::Paused
        } else {
            TradingMode::Running
        }
    }

    /// Current size multiplier, basis points.
    #[inline]
    pub fn size_mult_bps(&self) -> u32 {
        self.size_mult_bps.load(Ordering::Acquire)
    }

    /// Hot thread: one more loop iteration.
    #[inline]
    pub fn beat(&self) {
        self.hot_heartbeat.fetch_add(1, Ordering::Release);
    }

    /// The hot thread's heartbeat counter.
    pub fn heartbeat(&self) -> u64 {
        self.hot_heartbeat.load(Ordering::Acquire)
    }

    /// Ask for the kill switch (any thread; the monitor acts on it at its next tick).
    pub fn request_kill(&self) {
        self.kill_requested.store(true, Ordering::Release);
    }

    /// Take a pending kill request.
    pub(crate) fn take_kill_request(&self) -> bool {
        self.kill_requested.swap(false, Ordering::AcqRel)
    }

    /// Latch the kill (risk thread).
    pub(crate) fn kill(&self, reason: KillReason) {
        self.kill_reason.store(reason as u8, Ordering::Release);
        self.killed.store(true, Ordering::Release);
    }

    /// Why the kill switch fired, if it did.
    pub fn kill_reason(&self) -> Option<KillReason> {
        if self.killed.load(Ordering::Acquire) {
            KillReason::from_u8(self.kill_reason.load(Ordering::Acquire))
        } else {
            None
        }
    }

    /// Operator reset of a kill.
    pub fn reset_kill(&self) {
        self.killed.store(false, Ordering::Release);
        self.kill_reason.store(0, Ordering::Release);
    }

    /// Pause until `until_ms` (risk thread).
    pub(crate) fn pause_until(&self, until_ms: u64) {
        self.paused_until_ms.store(until_ms, Ordering::Release);
    }

    /// Wall time the pause ends (0 = none).
    pub fn paused_until_ms(&self) -> u64 {
        self.paused_until_ms.load(Ordering::Acquire)
    }

    /// Set the size multiplier (risk thread).
    pub(crate) fn set_size_mult_bps(&self, bps: u32) {
        self.size_mult_bps.store(bps, Ordering::Release);
    }
}
