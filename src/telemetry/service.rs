//! The risk thread's telemetry duties in one place: the snapshot it keeps, the HTTP server it
//! polls, and the alerts it raises from what it sees. [`TelemetrySetup`] is built on the main
//! thread from the configuration and the environment; [`Telemetry::start`] runs on the risk
//! thread (binds the server, starts the alert worker).
//!
//! Invariants: nothing here blocks the risk thread: the server is non-blocking, alerts go
//! through a bounded queue to their own thread, and the snapshot is refreshed at most every
//! [`TICK_EVERY`]. A server that cannot bind is reported once on stderr and counted; the engine
//! runs on without it. Alerts raised: kill switch fired, trading paused, exposure breach (from
//! the risk monitor's tick), a feed connection down longer than `alerts.disconnect_alert_secs`
//! (once per outage), and a daily summary at `alerts.daily_summary_utc_hour`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;

use super::alerts::{Alert, AlertKind, AlertSecretError, AlertSecrets, AlertSender, AlertSettings};
use super::http_server::{ServerLimits, TelemetryServer};
use super::snapshot::{StrategyFigures, TelemetrySnapshot};
use crate::config::Config;
use crate::engine::messages::HotEvent;
use crate::engine::risk::RiskReport;
use crate::risk::monitor::TickReport;
use crate::risk::state::KillReason;
use crate::strategy::intent::StrategyId;

/// Snapshot refresh (time, down durations, report fields, alert checks) period.
pub const TICK_EVERY: Duration = Duration::from_millis(200);
/// P&L series point period per strategy (the ring holds 600 of them: ten minutes).
pub const PNL_POINT_EVERY_MS: u64 = 1000;

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("alert secrets: {0}")]
    Secrets(#[from] AlertSecretError),
}

/// What the risk thread needs to start telemetry.
pub struct TelemetrySetup {
    /// Serve the endpoints on this address, when enabled.
    pub bind: Option<SocketAddr>,
    pub limits: ServerLimits,
    pub refresh_ms: u32,
    pub mode: &'static str,
    /// Alerts, when enabled.
    pub alerts: Option<(AlertSettings, AlertSecrets, Arc<ClientConfig>)>,
    pub disconnect_alert: Duration,
    pub daily_summary_utc_hour: u32,
}

impl std::fmt::Debug for TelemetrySetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetrySetup")
            .field("bind", &self.bind)
            .field("alerts", &self.alerts.is_some())
            .finish_non_exhaustive()
    }
}

impl TelemetrySetup {
    /// From `[telemetry]` and `[alerts]`, reading the alert secrets from the environment when
    /// alerts are enabled. `None` when both the server and alerts are off.
    pub fn from_config(
        cfg: &Config,
        tls: Arc<ClientConfig>,
    ) -> Result<Option<TelemetrySetup>, TelemetryError> {
        Self::from_config_with(cfg, tls, |name| std::env::var_os(name))
    }

    /// As [`from_config`](Self::from_config) with an injected environment.
    pub fn from_config_with(
        cfg: &Config,
        tls: Arc<ClientConfig>,
        lookup: impl FnMut(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Option<TelemetrySetup>, TelemetryError> {
        let t = &cfg.telemetry;
        let a = &cfg.alerts;
        if !t.enabled && !a.enabled {
            return Ok(None);
        }
        let alerts = if a.enabled {
            let secrets = AlertSecrets::load_with(lookup)?;
            Some((AlertSettings::from_config(a), secrets, tls))
        } else {
            None
        };
        Ok(Some(TelemetrySetup {
            bind: t.enabled.then_some(t.metrics_bind),
            limits: ServerLimits::default(),
            refresh_ms: t.dashboard_refresh_ms,
            mode: cfg.engine.mode.as_str(),
            alerts,
            disconnect_alert: Duration::from_secs(u64::from(a.disconnect_alert_secs)),
            daily_summary_utc_hour: a.daily_summary_utc_hour,
        }))
    }
}

/// See the module docs.
pub struct Telemetry {
    snapshot: TelemetrySnapshot,
    server: Option<TelemetryServer>,
    alerts: Option<AlertSender>,
    disconnect_alert_ns: u64,
    /// Per connection: an alert was raised for the current outage.
    down_alerted: Vec<bool>,
    kill_alerted: bool,
    summary_hour: u32,
    last_summary_day: Option<u64>,
    next_tick: Instant,
    last_pnl_point_ms: [u64; StrategyId::COUNT],
}

impl Telemetry {
    /// Bind the server (its address is printed once on stderr), start the alert worker.
    pub fn start(setup: TelemetrySetup, labels: &[&'static str]) -> Telemetry {
        let server = setup.bind.and_then(|addr| {
            match TelemetryServer::bind(addr, setup.limits, setup.refresh_ms) {
                Ok(s) => {
                    eprintln!(
                        "telemetry: dashboard http://{0}/  metrics http://{0}/metrics",
                        s.local_addr()
                    );
                    Some(s)
                }
                Err(e) => {
                    eprintln!(
                        "telemetry: cannot bind telemetry.metrics_bind {addr}: {e}; running without \
                         the metrics endpoint"
                    );
                    None
                }
            }
        });
        let alerts = setup.alerts.and_then(|(settings, secrets, tls)| {
            match AlertSender::start(settings, secrets, tls) {
                Ok(a) => {
                    if a.destinations().is_empty() {
                        eprintln!(
                            "telemetry: alerts enabled but no destination is configured (set \
                             SATTEBAAZ_TELEGRAM_BOT_TOKEN + alerts.telegram_chat_id and/or \
                             SATTEBAAZ_DISCORD_WEBHOOK_URL)"
                        );
                    }
                    Some(a)
                }
                Err(e) => {
                    eprintln!("telemetry: cannot start the alert thread: {e}");
                    None
                }
            }
        });
        let today = crate::clock::wall_ms() / 86_400_000;
        let hour_now = (crate::clock::wall_ms() / 3_600_000 % 24) as u32;
        Telemetry {
            snapshot: TelemetrySnapshot::new(labels, setup.mode, setup.refresh_ms),
            server,
            alerts,
            disconnect_alert_ns: u64::try_from(setup.disconnect_alert.as_nanos())
                .unwrap_or(u64::MAX),
            down_alerted: vec![false; labels.len()],
            kill_alerted: false,
            summary_hour: setup.daily_summary_utc_hour,
            // Started inside the summary hour: today's summary would cover nothing yet.
            last_summary_day: (hour_now == setup.daily_summary_utc_hour).then_some(today),
            next_tick: Instant::now(),
            last_pnl_point_ms: [0; StrategyId::COUNT],
        }
    }

    /// The server's bound address, when it runs.
    pub fn bound_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(TelemetryServer::local_addr)
    }

    /// The snapshot.
    pub fn snapshot(&self) -> &TelemetrySnapshot {
        &self.snapshot
    }

    /// The alert sender, when alerts run.
    pub fn alerts(&self) -> Option<&AlertSender> {
        self.alerts.as_ref()
    }

    /// One hot-thread event (call where the risk thread handles events).
    pub fn on_event(&mut self, ev: &HotEvent) {
        self.snapshot.on_hot_event(ev, crate::clock::mono_ns());
    }

    /// The latest figures of one strategy (a P&L point is kept at most once a second).
    pub fn on_strategy_update(&mut self, strategy: StrategyId, figures: StrategyFigures) {
        let now = crate::clock::wall_ms();
        let i = strategy.index();
        if now.saturating_sub(self.last_pnl_point_ms[i]) >= PNL_POINT_EVERY_MS {
            self.last_pnl_point_ms[i] = now;
            self.snapshot.on_strategy_update(strategy, figures, now);
        } else if let Some(row) = self.snapshot.strategies.get_mut(i) {
            row.figures = figures;
        }
    }

    /// Raise an alert (no-op without alerts).
    pub fn raise(&mut self, alert: Alert) {
        if let Some(a) = self.alerts.as_mut() {
            a.raise(alert);
        }
    }

    /// What the risk monitor did on one tick: kill switch, daily-loss pause, exposure breach.
    pub fn on_monitor_tick(&mut self, tick: &TickReport, paused_until_ms: Option<u64>) {
        if let Some(reason) = tick.killed {
            self.snapshot.kill_switch_fired = true;
            if reason == KillReason::LimitBreach {
                self.raise(Alert::new(
                    AlertKind::ExposureBreach,
                    "",
                    "total exposure above risk.max_exposure_bps: kill switch fired",
                ));
            }
            self.raise_kill(&format!("reason: {reason:?}"));
        }
        if tick.paused {
            self.snapshot.trading_paused = true;
            let mut text = String::from("daily loss limit reached: no new orders");
            if let Some(until) = paused_until_ms {
                let _ = write!(text, " until unix ms {until}");
            }
            self.raise(Alert::new(AlertKind::TradingPaused, "", text));
        }
        if paused_until_ms.is_none() {
            self.snapshot.trading_paused = false;
        }
    }

    fn raise_kill(&mut self, detail: &str) {
        self.snapshot.kill_switch_fired = true;
        if !self.kill_alerted {
            self.kill_alerted = true;
            self.raise(Alert::new(
                AlertKind::KillSwitch,
                "",
                format!("kill switch fired, no new orders ({detail})"),
            ));
        }
    }

    /// Once per risk-loop iteration: serve HTTP; every [`TICK_EVERY`] refresh the snapshot from
    /// `report` and check the alert conditions.
    pub fn poll(&mut self, report: &RiskReport) {
        let now = Instant::now();
        if now >= self.next_tick {
            self.next_tick = now + TICK_EVERY;
            self.tick(report);
        }
        if let Some(server) = self.server.as_mut() {
            server.poll(&self.snapshot, now);
            self.snapshot.server = server.figures();
        }
    }

    fn tick(&mut self, report: &RiskReport) {
        let now_ms = crate::clock::wall_ms();
        let now_ns = crate::clock::mono_ns();
        self.snapshot.tick(now_ms, now_ns);
        self.snapshot.hot_stalls = report.hot_stalls;
        self.snapshot.on_market_slugs(&report.known_slugs);
        if let Some(exec) = &report.exec {
            if exec.kill_fired {
                let detail = match &exec.kill_error {
                    Some(e) => format!("cancel-all failed: {e}"),
                    None => format!("cancel-all canceled {} order(s)", exec.kill_canceled),
                };
                self.raise_kill(&detail);
            }
        }
        self.check_connections(now_ns);
        self.check_daily_summary(now_ms);
        if let Some(a) = &self.alerts {
            self.snapshot.alerts = a.figures();
        }
    }

    fn check_connections(&mut self, now_ns: u64) {
        let mut raise = Vec::new();
        for (i, c) in self.snapshot.connections.iter().enumerate() {
            let Some(flag) = self.down_alerted.get_mut(i) else {
                continue;
            };
            match c.down_since_ns {
                None => *flag = false,
                Some(since)
                    if !*flag && now_ns.saturating_sub(since) >= self.disconnect_alert_ns =>
                {
                    *flag = true;
                    raise.push(Alert::new(
                        AlertKind::ConnectionDown,
                        c.label,
                        format!(
                            "{} down for {} s ({} drops, {} connect failures so far)",
                            c.label,
                            now_ns.saturating_sub(since) / 1_000_000_000,
                            c.drops,
                            c.connect_failures
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        for a in raise {
            self.raise(a);
        }
    }

    fn check_daily_summary(&mut self, now_ms: u64) {
        let day = now_ms / 86_400_000;
        let hour = (now_ms / 3_600_000 % 24) as u32;
        if hour != self.summary_hour || self.last_summary_day == Some(day) {
            return;
        }
        self.last_summary_day = Some(day);
        let text = daily_summary_text(&self.snapshot);
        self.raise(Alert::new(AlertKind::DailySummary, &day.to_string(), text));
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // At the end of the run: give queued alerts (a kill switch just before the stop) a
        // bounded chance to go out before the process exits.
        if let Some(a) = &self.alerts {
            a.flush(SHUTDOWN_FLUSH);
        }
    }
}

/// Longest wait for queued alerts when telemetry is dropped at the end of a run.
pub const SHUTDOWN_FLUSH: Duration = Duration::from_secs(3);

/// The daily summary message: per-strategy figures and P&L, connections, drops.
pub fn daily_summary_text(s: &TelemetrySnapshot) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "mode {}, up {} s, kill switch {}",
        s.mode,
        s.now_ms.saturating_sub(s.started_ms) / 1000,
        if s.kill_switch_fired {
            "FIRED"
        } else {
            "not fired"
        }
    );
    let mut total: i64 = 0;
    for r in &s.strategies {
        let f = &r.figures;
        let pnl = f.realised_pnl_micro.saturating_add(f.unrealised_pnl_micro);
        total = total.saturating_add(pnl);
        let _ = writeln!(
            t,
            "{}: sent {} fills {} cancels {} rejects {} fees ${} P&L ${}",
            r.strategy,
            f.orders_sent,
            f.fills,
            f.cancels,
            f.rejects.iter().sum::<u64>(),
            micros(f.fees_micro),
            micros(pnl)
        );
    }
    let _ = writeln!(t, "total P&L ${}", micros(total));
    let down: Vec<&str> = s
        .connections
        .iter()
        .filter(|c| c.down_since_ns.is_some())
        .map(|c| c.label)
        .collect();
    let _ = write!(
        t,
        "connections down: {}; queue drops {}",
        if down.is_empty() {
            "none".to_owned()
        } else {
            down.join(", ")
        },
        s.queue_drops
    );
    t
}

/// Micro-dollars as decimal dollars.
fn micros(v: i64) -> String {
    let mut buf = [0u8; 32];
    match crate::fixed::write_fixed(&mut buf, v, 6) {
        Some(n) => String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])).into_owned(),
        None => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet(hour: u32) -> Telemetry {
        Telemetry::start(
            TelemetrySetup {
                bind: None,
                limits: ServerLimits::default(),
                refresh_ms: 1000,
                mode: "paper",
                alerts: None,
                disconnect_alert: Duration::from_secs(30),
                daily_summary_utc_hour: hour,
            },
            &["a"],
        )
    }

    #[test]
    fn the_daily_summary_fires_once_per_day_in_its_hour() {
        let mut t = quiet(5);
        t.last_summary_day = None;
        let day = 20_000u64;
        let at = |d: u64, h: u64, m: u64| d * 86_400_000 + h * 3_600_000 + m * 60_000;
        t.check_daily_summary(at(day, 4, 59));
        assert_eq!(t.last_summary_day, None);
        t.check_daily_summary(at(day, 5, 0));
        assert_eq!(t.last_summary_day, Some(day));
        t.check_daily_summary(at(day, 5, 30));
        t.check_daily_summary(at(day, 6, 0));
        assert_eq!(t.last_summary_day, Some(day));
        t.check_daily_summary(at(day + 1, 5, 1));
        assert_eq!(t.last_summary_day, Some(day + 1));
    }

    #[test]
    fn the_summary_lists_every_strategy_and_the_total() {
        let mut t = quiet(0);
        let f = StrategyFigures {
            orders_sent: 3,
            fills: 2,
            realised_pnl_micro: 1_500_000,
            unrealised_pnl_micro: -250_000,
            fees_micro: 10_000,
            ..StrategyFigures::default()
        };
        t.on_strategy_update(StrategyId::Lag, f);
        let text = daily_summary_text(t.snapshot());
        assert!(text.contains("lag: sent 3 fills 2"), "{text}");
        assert!(text.contains("P&L $1.25"), "{text}");
        assert!(text.contains("total P&L $1.25"), "{text}");
        for s in StrategyId::ALL {
            assert!(text.contains(&format!("{}: ", s.name())), "{text}");
        }
    }
}
