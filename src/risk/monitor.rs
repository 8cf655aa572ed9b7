//! The risk monitor, run by the risk thread every `risk.monitor_interval_ms`, independent of
//! the hot loop: exposure and drawdown; daily loss above `daily_loss_bps` of the day's starting
//! capital pauses trading for `pause_ms`; `loss_streak` consecutive losing trades cut size to
//! `streak_size_bps` for the next `streak_trades` trades; the kill switch fires on an exposure
//! breach, an ATR spike, a hung hot thread (its heartbeat counter stopped) or an explicit
//! request. The kill switch latches [`RiskShared`]'s kill flag (the hot thread stops new
//! orders) and sends cancel-all through the monitor's OWN [`CancelAll`] connection
//! (`exec::heartbeat::KillSwitch`), so it works while the hot thread is stuck. Cancel-all is
//! also sent on start-up and shutdown.
//!
//! Invariants: time is passed in (`now_ms`), never read here, so the monitor is testable with
//! an injected clock; a failed cancel-all is retried on every tick until one succeeds; the kill
//! flag stays latched until an operator reset; the day (UTC) starts from the equity seen at
//! its first tick, and a loss still over the limit when a pause ends pauses again.

use crate::config::schema::RiskConfig;
use crate::exec::heartbeat::KillSwitch;
use crate::exec::rest::RestError;
use crate::net::http::Connect;
use crate::net::transport::Transport;
use crate::risk::state::{KillReason, RiskShared, FULL_SIZE_BPS};

const DAY_MS: u64 = 86_400_000;

/// Cancels every open order over a connection of its own.
pub trait CancelAll {
    /// Why a cancel-all failed.
    type Error: std::fmt::Display;
    /// Cancel everything; the number of orders cancelled.
    fn cancel_all(&mut self) -> Result<usize, Self::Error>;
}

impl<T: Transport, C: Connect<T>> CancelAll for KillSwitch<T, C> {
    type Error = RestError;
    fn cancel_all(&mut self) -> Result<usize, RestError> {
        self.fire(|_, _| {}).map(|s| s.canceled)
    }
}

/// The monitor's parameters (from `[risk]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonitorParams {
    /// Exposure limit, basis points of capital.
    pub max_exposure_bps: u32,
    /// Daily loss that pauses, basis points of the day's starting capital.
    pub daily_loss_bps: u32,
    /// Pause length.
    pub pause_ms: u64,
    /// Losing trades in a row that cut size.
    pub loss_streak: u32,
    /// The reduced size, basis points.
    pub streak_size_bps: u32,
    /// Trades the reduced size lasts.
    pub streak_trades: u32,
    /// Heartbeat unchanged this long = hung.
    pub hot_stall_ms: u64,
    /// ATR spike ratio.
    pub atr_spike_ratio: f64,
    /// ATR baseline smoothing per tick.
    pub atr_baseline_alpha: f64,
}

impl MonitorParams {
    /// From `[risk]`.
    pub fn from_config(r: &RiskConfig) -> Self {
        MonitorParams {
            max_exposure_bps: r.max_exposure_bps,
            daily_loss_bps: r.daily_loss_bps,
            pause_ms: u64::from(r.pause_ms),
            loss_streak: r.loss_streak,
            streak_size_bps: r.streak_size_bps,
            streak_trades: r.streak_trades,
            hot_stall_ms: u64::from(r.hot_stall_ms),
            atr_spike_ratio: r.atr_spike_ratio,
            atr_baseline_alpha: r.atr_baseline_alpha,
        }
    }
}

/// What the monitor sees each tick.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MonitorInputs {
    /// Equity now (capital + realised + unrealised − fees), micro-dollars.
    pub equity_micro: i64,
    /// Total exposure (positions + open buys), micro-dollars.
    pub exposure_micro: i64,
    /// Latest ATR(1m) per asset (BTC, ETH, SOL, XRP), price units; 0 = unknown.
    pub atr: [f64; 4],
}

/// What one tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TickReport {
    /// The kill switch fired on this tick.
    pub killed: Option<KillReason>,
    /// A daily-loss pause started on this tick.
    pub paused: bool,
    /// A cancel-all was sent and succeeded on this tick.
    pub cancel_all_sent: bool,
}

/// Counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MonitorCounters {
    /// Ticks run.
    pub ticks: u64,
    /// Kill switch firings.
    pub kills: u64,
    /// Daily-loss pauses.
    pub pauses: u64,
    /// Loss streaks that cut size.
    pub streaks: u64,
    /// Cancel-alls that succeeded.
    pub cancel_all_ok: u64,
    /// Cancel-alls that failed (retried next tick).
    pub cancel_all_failed: u64,
}

/// See the module docs.
pub struct Monitor<C: CancelAll> {
    params: MonitorParams,
    cancel: C,
    day: u64,
    day_start_equity_micro: i64,
    peak_equity_micro: i64,
    max_drawdown_micro: i64,
    last_heartbeat: u64,
    heartbeat_seen_ms: u64,
    atr_baseline: [f64; 4],
    losses_in_row: u32,
    reduced_trades_left: u32,
    cancel_pending: bool,
    last_error: Option<String>,
    last_canceled: usize,
    counters: MonitorCounters,
}

impl<C: CancelAll> Monitor<C> {
    /// A monitor using `cancel` (its own connection); the day starts at `now_ms` with
    /// `equity_micro`.
    pub fn new(params: MonitorParams, cancel: C, now_ms: u64, equity_micro: i64) -> Self {
        Monitor {
            params,
            cancel,
            day: now_ms / DAY_MS,
            day_start_equity_micro: equity_micro,
            peak_equity_micro: equity_micro,
            max_drawdown_micro: 0,
            last_heartbeat: 0,
            heartbeat_seen_ms: now_ms,
            atr_baseline: [0.0; 4],
            losses_in_row: 0,
            reduced_trades_left: 0,
            cancel_pending: false,
            last_error: None,
            last_canceled: 0,
            counters: MonitorCounters::default(),
        }
    }

    /// Counters.
    pub fn counters(&self) -> MonitorCounters {
        self.counters
    }

    /// Largest peak-to-trough equity fall seen, micro-dollars.
    pub fn max_drawdown_micro(&self) -> i64 {
        self.max_drawdown_micro
    }

    /// Orders the last successful cancel-all canceled.
    pub fn last_canceled(&self) -> usize {
        self.last_canceled
    }

    /// The last cancel-all error, if the last attempt failed.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The cancel-all connection (tests inspect it).
    pub fn cancel_path(&self) -> &C {
        &self.cancel
    }

    /// Start-up: cancel whatever a previous run left open. `true` when it succeeded.
    pub fn on_start(&mut self) -> bool {
        self.cancel_pending = true;
        self.flush_cancel()
    }

    /// Shutdown: cancel everything. `true` when it succeeded.
    pub fn on_shutdown(&mut self) -> bool {
        self.cancel_pending = true;
        self.flush_cancel()
    }

    fn flush_cancel(&mut self) -> bool {
        if !self.cancel_pending {
            return false;
        }
        match self.cancel.cancel_all() {
            Ok(n) => {
                self.last_canceled = n;
                self.cancel_pending = false;
                self.last_error = None;
                self.counters.cancel_all_ok += 1;
                true
            }
            Err(e) => {
                self.last_error = Some(e.to_string());
                self.counters.cancel_all_failed += 1;
                false
            }
        }
    }

    fn fire(&mut self, shared: &RiskShared, reason: KillReason, report: &mut TickReport) {
        if shared.kill_reason().is_none() {
            shared.kill(reason);
            self.counters.kills += 1;
            report.killed = Some(reason);
        }
        self.cancel_pending = true;
    }

    /// One closed trade's P&L (feeds the loss streak).
    pub fn on_trade_closed(&mut self, shared: &RiskShared, pnl_micro: i64) {
        if self.reduced_trades_left > 0 {
            self.reduced_trades_left -= 1;
            if self.reduced_trades_left == 0 {
                shared.set_size_mult_bps(FULL_SIZE_BPS);
            }
        }
        if pnl_micro < 0 {
            self.losses_in_row += 1;
            if self.losses_in_row >= self.params.loss_streak {
                self.losses_in_row = 0;
                self.reduced_trades_left = self.params.streak_trades;
                self.counters.streaks += 1;
                shared.set_size_mult_bps(self.params.streak_size_bps);
            }
        } else {
            self.losses_in_row = 0;
        }
    }

    /// One monitor tick at wall time `now_ms`.
    pub fn tick(&mut self, shared: &RiskShared, inputs: &MonitorInputs, now_ms: u64) -> TickReport {
        let mut report = TickReport::default();
        self.counters.ticks += 1;
        let p = self.params;

        // Day roll-over: a new day starts from the equity now.
        let day = now_ms / DAY_MS;
        if day != self.day {
            self.day = day;
            self.day_start_equity_micro = inputs.equity_micro;
        }
        // Drawdown.
        self.peak_equity_micro = self.peak_equity_micro.max(inputs.equity_micro);
        self.max_drawdown_micro = self
            .max_drawdown_micro
            .max(self.peak_equity_micro - inputs.equity_micro);

        // Daily loss → pause.
        let loss = self.day_start_equity_micro - inputs.equity_micro;
        let limit = i128::from(self.day_start_equity_micro) * i128::from(p.daily_loss_bps) / 10_000;
        if i128::from(loss) > limit && shared.paused_until_ms() <= now_ms {
            shared.pause_until(now_ms.saturating_add(p.pause_ms));
            self.counters.pauses += 1;
            report.paused = true;
        }

        // Kill switch triggers.
        let exposure_limit =
            i128::from(inputs.equity_micro.max(0)) * i128::from(p.max_exposure_bps) / 10_000;
        if i128::from(inputs.exposure_micro) > exposure_limit {
            self.fire(shared, KillReason::LimitBreach, &mut report);
        }
        let mut spike = false;
        for (atr, baseline) in inputs.atr.iter().zip(self.atr_baseline.iter_mut()) {
            if !(atr.is_finite() && *atr > 0.0) {
                continue;
            }
            spike |= *baseline > 0.0 && *atr >= p.atr_spike_ratio * *baseline;
            *baseline = if *baseline > 0.0 {
                *baseline + p.atr_baseline_alpha * (*atr - *baseline)
            } else {
                *atr
            };
        }
        if spike {
            self.fire(shared, KillReason::AtrSpike, &mut report);
        }
        let beat = shared.heartbeat();
        if beat != self.last_heartbeat {
            self.last_heartbeat = beat;
            self.heartbeat_seen_ms = now_ms;
        } else if now_ms.saturating_sub(self.heartbeat_seen_ms) >= p.hot_stall_ms {
            self.fire(shared, KillReason::HotThreadHung, &mut report);
        }
        if shared.take_kill_request() {
            self.fire(shared, KillReason::Command, &mut report);
        }
        report.cancel_all_sent = self.flush_cancel();
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, SHIPPED_CONFIG_TOML};

    /// Records cancel-alls; fails the first `fail_first`.
    struct Recorder {
        calls: u32,
        fail_first: u32,
    }

    impl CancelAll for Recorder {
        type Error = &'static str;
        fn cancel_all(&mut self) -> Result<usize, &'static str> {
            self.calls += 1;
            if self.calls <= self.fail_first {
                Err("connection refused")
            } else {
                Ok(3)
            }
        }
    }

    const T0: u64 = 1_800_000_000_000;

    fn monitor(fail_first: u32) -> Monitor<Recorder> {
        let c: Config = SHIPPED_CONFIG_TOML.parse().unwrap();
        Monitor::new(
            MonitorParams::from_config(&c.risk),
            Recorder {
                calls: 0,
                fail_first,
            },
            T0,
            1_000_000_000,
        )
    }

    fn inputs(equity: i64) -> MonitorInputs {
        MonitorInputs {
            equity_micro: equity,
            exposure_micro: 0,
            atr: [100.0, 5.0, 0.2, 0.004],
        }
    }

    /// Tick at `t` with the hot thread alive.
    fn tick(m: &mut Monitor<Recorder>, s: &RiskShared, i: &MonitorInputs, t: u64) -> TickReport {
        s.beat();
        m.tick(s, i, t)
    }

    #[test]
    fn a_daily_loss_over_ten_percent_pauses_for_an_hour() {
        let mut m = monitor(0);
        let s = RiskShared::new();
        assert!(
            !tick(&mut m, &s, &inputs(901_000_000), T0 + 500).paused,
            "9.9% loss"
        );
        let r = tick(&mut m, &s, &inputs(899_000_000), T0 + 1_000);
        assert!(r.paused);
        assert_eq!(s.mode(T0 + 1_000), crate::risk::TradingMode::Paused);
        assert_eq!(
            s.mode(T0 + 1_000 + 3_599_999),
            crate::risk::TradingMode::Paused
        );
        assert_eq!(
            s.mode(T0 + 1_000 + 3_600_000),
            crate::risk::TradingMode::Running
        );
        assert!(
            !tick(&mut m, &s, &inputs(899_000_000), T0 + 2_000).paused,
            "one pause"
        );
        assert_eq!(m.counters().pauses, 1);
        assert_eq!(m.max_drawdown_micro(), 101_000_000);
        assert!(s.kill_reason().is_none());
    }

    #[test]
    fn a_new_day_starts_from_the_equity_then() {
        let mut m = monitor(0);
        let s = RiskShared::new();
        // Down 8% on day one: no pause. Next day the reference is $920: 8% more is fine too,
        // while 11% of it pauses.
        assert!(!tick(&mut m, &s, &inputs(920_000_000), T0).paused);
        let next_day = (T0 / DAY_MS + 1) * DAY_MS;
        assert!(!tick(&mut m, &s, &inputs(920_000_000), next_day).paused);
        assert!(!tick(&mut m, &s, &inputs(846_400_000), next_day + 500).paused);
        assert!(tick(&mut m, &s, &inputs(818_000_000), next_day + 1_000).paused);
        // Still over the limit when the hour ends: paused again.
        let later = next_day + 1_000 + 3_600_000;
        assert!(tick(&mut m, &s, &inputs(818_000_000), later).paused);
        assert_eq!(m.counters().pauses, 2);
    }

    #[test]
    fn five_losses_in_a_row_halve_size_for_ten_trades() {
        let mut m = monitor(0);
        let s = RiskShared::new();
        for _ in 0..4 {
            m.on_trade_closed(&s, -1);
        }
        m.on_trade_closed(&s, 5);
        for _ in 0..4 {
            m.on_trade_closed(&s, -1);
        }
        assert_eq!(s.size_mult_bps(), 10_000, "a win broke the streak");
        m.on_trade_closed(&s, -1);
        assert_eq!(s.size_mult_bps(), 5_000);
        for i in 0..9 {
            m.on_trade_closed(&s, 1);
            assert_eq!(s.size_mult_bps(), 5_000, "trade {i}");
        }
        m.on_trade_closed(&s, 1);
        assert_eq!(s.size_mult_bps(), 10_000);
        assert_eq!(m.counters().streaks, 1);
    }

    #[test]
    fn an_exposure_breach_kills_and_cancels_all() {
        let mut m = monitor(0);
        let s = RiskShared::new();
        let mut i = inputs(1_000_000_000);
        i.exposure_micro = 500_000_000;
        assert!(
            tick(&mut m, &s, &i, T0 + 500).killed.is_none(),
            "at the limit"
        );
        i.exposure_micro = 500_000_001;
        let r = tick(&mut m, &s, &i, T0 + 1_000);
        assert_eq!(r.killed, Some(KillReason::LimitBreach));
        assert!(r.cancel_all_sent);
        assert_eq!(s.mode(T0), crate::risk::TradingMode::Killed);
        assert_eq!(m.cancel_path().calls, 1);
    }

    #[test]
    fn an_atr_spike_kills() {
        let mut m = monitor(0);
        let s = RiskShared::new();
        let mut i = inputs(1_000_000_000);
        for k in 1..=3 {
            assert!(tick(&mut m, &s, &i, T0 + k * 500).killed.is_none());
        }
        i.atr[1] = 14.9; // ETH: below 3 × 5.0
        assert!(tick(&mut m, &s, &i, T0 + 2_000).killed.is_none());
        i.atr[1] = 16.0;
        assert_eq!(
            tick(&mut m, &s, &i, T0 + 2_500).killed,
            Some(KillReason::AtrSpike)
        );
        assert_eq!(s.kill_reason(), Some(KillReason::AtrSpike));
    }

    #[test]
    fn a_hung_hot_thread_and_an_explicit_command_kill() {
        let mut m = monitor(0);
        let s = RiskShared::new();
        let i = inputs(1_000_000_000);
        assert!(tick(&mut m, &s, &i, T0 + 500).killed.is_none());
        // Heartbeat stops moving: fires once 2000 ms passed since it last moved.
        assert!(m.tick(&s, &i, T0 + 2_000).killed.is_none());
        assert_eq!(
            m.tick(&s, &i, T0 + 2_500).killed,
            Some(KillReason::HotThreadHung)
        );

        let mut m = monitor(0);
        let s = RiskShared::new();
        s.request_kill();
        assert_eq!(
            tick(&mut m, &s, &i, T0 + 500).killed,
            Some(KillReason::Command)
        );
        assert_eq!(m.counters().kills, 1);
        // Latched: later ticks do not fire again, reset clears it.
        assert!(tick(&mut m, &s, &i, T0 + 1_000).killed.is_none());
        s.reset_kill();
        assert_eq!(s.mode(T0), crate::risk::TradingMode::Running);
    }

    #[test]
    fn a_failed_cancel_all_is_retried_and_start_and_shutdown_cancel() {
        let mut m = monitor(2);
        let s = RiskShared::new();
        assert!(!m.on_start(), "first attempt fails");
        assert!(m.last_error().is_some());
        assert!(!tick(&mut m, &s, &inputs(1_000_000_000), T0 + 500).cancel_all_sent);
        assert!(tick(&mut m, &s, &inputs(1_000_000_000), T0 + 1_000).cancel_all_sent);
        assert!(!tick(&mut m, &s, &inputs(1_000_000_000), T0 + 1_500).cancel_all_sent);
        assert!(m.on_shutdown());
        assert_eq!(m.cancel_path().calls, 4);
        assert_eq!(m.counters().cancel_all_failed, 2);
        assert_eq!(m.counters().cancel_all_ok, 2);
    }
}
