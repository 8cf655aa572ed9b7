//! The risk/telemetry thread: drains the hot thread's events, keeps per-connection network
//! counters and the latest view of every asset, renders the live table, watches the hot loop's
//! heartbeat, and turns a stop request (signal or deadline) into a `Stop` command. It may block
//! and allocate; it never touches the hot thread's data except through the rings.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::VecDeque;

use super::messages::{
    AssetView, Command, HotEvent, LoopStats, MarketView, WouldBeCancel, WouldBeOrder,
};
use super::table::render_table;
use crate::discovery::fetch::UrlConnector;
use crate::discovery::{DiscoveryCounters, DiscoveryMsg, DiscoveryWorker, HttpFetch};
use crate::net::counters::{NetCounters, NetEventKind};
use crate::net::tls::MaybeTls;
use crate::queue::spsc::{Consumer, Producer};

/// Everything the risk/telemetry thread needs.
pub struct RiskSetup {
    pub from_hot: Consumer<HotEvent>,
    pub to_hot: Producer<Command>,
    /// Set by SIGINT/SIGTERM.
    pub stop: Arc<AtomicBool>,
    /// Stop at this instant (demo duration), if set.
    pub deadline: Option<Instant>,
    /// Print the live table.
    pub live_table: bool,
    /// Table refresh / heartbeat check period.
    pub interval: Duration,
    /// Connection labels by connection id.
    pub labels: Vec<&'static str>,
    /// The hot loop's iteration counter.
    pub heartbeat: Arc<AtomicU64>,
    /// Set when the hot thread has left its loop.
    pub hot_finished: Arc<AtomicBool>,
    /// Market discovery, when the Polymarket side runs.
    pub discovery: Option<DiscoverySetup>,
    /// The producer side of the hot thread's signing-nonce pool, refilled here.
    pub nonces: Option<crate::exec::signing::nonce_pool::NonceProducer>,
    /// Shadow mode: print every would-be order / cancel as a log line (stderr).
    pub log_would_be: bool,
    /// A sending run: heartbeats, kill switch, shutdown cancel-all.
    pub exec: Option<RiskExec>,
    /// Lock the process's memory once the hot loop reports its first statistics.
    pub mlockall: bool,
    /// Metrics endpoint, dashboard and alerts (`crate::telemetry::service`).
    pub telemetry: Option<crate::telemetry::service::TelemetrySetup>,
    /// The raw-frame recorder's writing half, when recording (`crate::record`).
    pub recorder: Option<crate::record::Recorder>,
}

/// The blocking CLOB client of the risk thread.
pub type BlockingClob = crate::exec::rest::blocking::BlockingClob<MaybeTls, UrlConnector>;

/// The execution duties of the risk thread in a sending run.
pub struct RiskExec {
    /// The dead-man heartbeat (the venue cancels everything when beats stop).
    pub heartbeat: crate::exec::heartbeat::HeartbeatSender,
    /// Connection for heartbeats.
    pub clob: BlockingClob,
    /// The risk monitor (drawdown, daily-loss pause, loss streak, kill switch) with its own
    /// `DELETE /cancel-all` connection.
    pub monitor: crate::risk::Monitor<crate::exec::heartbeat::KillSwitch<MaybeTls, UrlConnector>>,
    /// The state the monitor and the hot thread's pre-trade gate share.
    pub shared: Arc<crate::risk::RiskShared>,
    /// Time between monitor ticks (`risk.monitor_interval_ms`).
    pub monitor_interval: Duration,
    /// Equity the monitor assumes until the hot thread reports its own.
    pub starting_equity_micro: i64,
    /// Fires the kill switch when set (operator or test trigger).
    pub kill: Option<Arc<AtomicBool>>,
    /// Orders the start-up cancel-all canceled.
    pub startup_canceled: u64,
}

/// Between the halt (no new orders) and the stop at shutdown: time for in-flight orders'
/// answers and fills to reach the tracker.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// What the risk thread's execution duties did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExecReport {
    pub startup_canceled: u64,
    pub heartbeats: crate::exec::heartbeat::HeartbeatCounters,
    /// The kill switch fired (and how many orders it canceled, or its error).
    pub kill_fired: bool,
    pub kill_canceled: u64,
    pub kill_error: Option<String>,
    /// Why the kill switch fired.
    pub kill_reason: Option<crate::risk::KillReason>,
    /// The monitor's counters at the end (ticks, kills, pauses, loss streaks, cancel-alls).
    pub monitor: crate::risk::monitor::MonitorCounters,
    /// Largest peak-to-trough equity fall the monitor saw.
    pub max_drawdown_micro: i64,
    /// Orders the shutdown cancel-all canceled, or its error.
    pub shutdown_canceled: u64,
    pub shutdown_error: Option<String>,
}

/// The blocking Gamma / CLOB client used by discovery (DNS and TLS set up at start-up).
pub type Fetcher = HttpFetch<MaybeTls, UrlConnector>;

/// Discovery as the risk thread runs it.
pub struct DiscoverySetup {
    pub worker: DiscoveryWorker<Fetcher, Fetcher>,
    /// Time between discovery steps.
    pub step_interval: Duration,
}

/// Most market views kept in [`RiskReport::market_history`].
pub const MARKET_HISTORY_MAX: usize = 100_000;

/// What the risk/telemetry thread saw.
#[derive(Debug, Default)]
pub struct RiskReport {
    /// Network counters per connection id, from the events.
    pub net: Vec<NetCounters>,
    /// Latest loop stats.
    pub last_loop: LoopStats,
    /// Latest view per (venue, asset).
    pub views: Vec<AssetView>,
    /// Heartbeat checks that found the hot loop not advancing.
    pub hot_stalls: u64,
    /// Events received.
    pub events: u64,
    /// Latest view per tracked market (removed when the market is retired).
    pub markets: Vec<MarketView>,
    /// Every market view received, oldest first (at most [`MARKET_HISTORY_MAX`]).
    pub market_history: Vec<MarketView>,
    /// Discovery counters at the end, when discovery ran.
    pub discovery: Option<DiscoveryCounters>,
    /// Discovery messages sent to the hot thread.
    pub discovery_sent: u64,
    /// Slugs of the markets discovery knows (for the table), refreshed every step.
    pub known_slugs: Vec<(u16, String)>,
    /// Shadow mode: the would-be orders and cancels, oldest first (at most
    /// [`WOULD_BE_MAX`] each).
    pub would_be_orders: Vec<WouldBeOrder>,
    pub would_be_cancels: Vec<WouldBeCancel>,
    /// Signing nonces generated for the hot thread's pool.
    pub nonces_refilled: u64,
    /// The execution duties, in a sending run.
    pub exec: Option<ExecReport>,
    /// `threads.mlockall`: `None` when not asked; `Some(Ok)` locked, `Some(Err(reason))`.
    pub mlockall: Option<Result<(), String>>,
    /// Latest account figures from the hot thread (trading runs).
    pub account: Option<super::messages::AccountView>,
    /// Settled positions' P&L not yet given to the monitor.
    pub trades_pending: Vec<i64>,
    /// Settled positions seen.
    pub trades_closed: u64,
    /// The recording's counters, when the run recorded.
    pub record: Option<crate::record::RecordStats>,
}

/// Most would-be orders (and cancels) kept in the report.
pub const WOULD_BE_MAX: usize = 100_000;

/// One log line describing a would-be order (no secrets: the order id is public).
pub fn would_be_order_line(o: &WouldBeOrder) -> String {
    let i = &o.intent;
    let mut id = [0u8; 64];
    crate::exec::signing::hex::encode_into(&o.order_id, &mut id);
    format!(
        "shadow: would send {} ({:?}) market {} {:?} {:?} {} @ {} {:?}{}{} maker {} taker {} id 0x{}",
        i.strategy.name(),
        i.reason,
        i.market.0,
        i.outcome,
        i.side,
        micros_text(i.size_micro),
        micros_text(i.price_micro),
        i.tif.order_type(),
        if i.post_only { " post-only" } else { "" },
        if i.group != 0 {
            format!(" group {}", i.group)
        } else {
            String::new()
        },
        o.maker_amount,
        o.taker_amount,
        std::str::from_utf8(&id).unwrap_or(""),
    )
}

/// A micro-unit amount as decimal text (`0.47`, `5`).
fn micros_text(v: i64) -> String {
    let mut buf = [0u8; 32];
    match crate::fixed::write_fixed(&mut buf, v, 6) {
        Some(n) => String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])).into_owned(),
        None => v.to_string(),
    }
}

/// One log line describing a would-be cancel.
pub fn would_be_cancel_line(c: &WouldBeCancel) -> String {
    format!(
        "shadow: would cancel {} ({:?}) market {} {} ({} orders)",
        c.strategy.name(),
        c.reason,
        c.market,
        match c.outcome {
            Some(o) => format!("{o:?}"),
            None => "both tokens".to_string(),
        },
        c.orders
    )
}

/// Run until the hot thread has finished.
pub fn run(mut setup: RiskSetup) -> RiskReport {
    let mut report = RiskReport {
        net: vec![NetCounters::default(); setup.labels.len()],
        ..RiskReport::default()
    };
    let tty = std::io::stdout().is_terminal();
    let started = Instant::now();
    let mut next_tick = Instant::now() + setup.interval;
    let mut last_heartbeat = setup.heartbeat.load(Ordering::Relaxed);
    let mut stop_sent = false;
    // A sending run halts new orders first and stops after the grace period.
    let mut stop_at: Option<Instant> = None;
    let mut halt_pending = false;
    report.exec = setup.exec.as_ref().map(|e| ExecReport {
        startup_canceled: e.startup_canceled,
        ..ExecReport::default()
    });
    let mut last_print = Instant::now();
    let mut next_monitor = Instant::now();
    let mut monitor_beat = setup.heartbeat.load(Ordering::Relaxed);
    let mut next_discovery = Instant::now();
    let mut discovered: Vec<DiscoveryMsg> = Vec::new();
    // Messages the ring refused (full): retried first, never dropped.
    let mut outbox: VecDeque<DiscoveryMsg> = VecDeque::new();
    let mut telemetry = setup
        .telemetry
        .take()
        .map(|t| crate::telemetry::service::Telemetry::start(t, &setup.labels));
    loop {
        if !stop_sent {
            if let Some(d) = setup.discovery.as_mut() {
                if Instant::now() >= next_discovery {
                    next_discovery = Instant::now() + d.step_interval;
                    // Blocks on HTTP for at most max_lookups_per_step requests.
                    d.worker.step(crate::clock::wall_ms(), &mut discovered);
                    // Recorded before the hot thread can act on them (and subscribe).
                    if let Some(r) = setup.recorder.as_mut() {
                        for msg in &discovered {
                            r.discovery(msg);
                        }
                    }
                    outbox.extend(discovered.drain(..));
                    report.known_slugs = d
                        .worker
                        .registry()
                        .iter()
                        .map(|(idx, info, _)| (idx.0, info.slug.clone()))
                        .collect();
                }
            }
            while let Some(msg) = outbox.front().copied() {
                if setup.to_hot.push(Command::Discovery(msg)).is_err() {
                    break;
                }
                outbox.pop_front();
                report.discovery_sent += 1;
            }
        }
        if let Some(p) = setup.nonces.as_mut() {
            if p.len() < p.capacity() / 2 {
                report.nonces_refilled += p.refill() as u64;
            }
        }
        let log = setup.log_would_be;
        let mut n = setup.from_hot.drain_with(4096, |ev| {
            if let Some(t) = telemetry.as_mut() {
                t.on_event(&ev);
            }
            handle(&mut report, ev, log)
        });
        if let Some(r) = setup.recorder.as_mut() {
            n += r.drain(4096);
        }
        if setup.mlockall && report.mlockall.is_none() && report.last_loop.iterations > 0 {
            report.mlockall = Some(crate::runtime::memory::lock_all().map_err(|e| {
                let limit = match crate::runtime::memory::memlock_limit() {
                    Ok(Some(b)) => format!("RLIMIT_MEMLOCK {b} bytes"),
                    Ok(None) => "RLIMIT_MEMLOCK unlimited".into(),
                    Err(_) => "RLIMIT_MEMLOCK unknown".into(),
                };
                format!("{e} ({limit}; needs CAP_IPC_LOCK or a larger limit)")
            }));
        }
        if let (Some(e), Some(r)) = (setup.exec.as_mut(), report.exec.as_mut()) {
            if !stop_sent {
                let clock = crate::clock::mono_ns;
                if e.heartbeat.tick(clock(), &mut e.clob, clock).is_some() {
                    r.heartbeats = *e.heartbeat.counters();
                }
            }
            for pnl in report.trades_pending.drain(..) {
                e.monitor.on_trade_closed(&e.shared, pnl);
            }
            if e.kill
                .as_ref()
                .is_some_and(|k| k.swap(false, Ordering::Relaxed))
            {
                e.shared.request_kill();
                next_monitor = Instant::now();
            }
            // The hot loop's iteration counter is the monitor's liveness signal.
            let hb = setup.heartbeat.load(Ordering::Relaxed);
            if hb != monitor_beat {
                monitor_beat = hb;
                e.shared.beat();
            }
            if Instant::now() >= next_monitor {
                next_monitor = Instant::now() + e.monitor_interval;
                let inputs = match report.account {
                    Some(a) => crate::risk::MonitorInputs {
                        equity_micro: a.equity_micro,
                        exposure_micro: a.exposure_micro,
                        atr: a.atr,
                    },
                    None => crate::risk::MonitorInputs {
                        equity_micro: e.starting_equity_micro,
                        exposure_micro: 0,
                        atr: [0.0; 4],
                    },
                };
                let now_ms = crate::clock::wall_ms();
                let tick = e.monitor.tick(&e.shared, &inputs, now_ms);
                if let Some(t) = telemetry.as_mut() {
                    let paused = e.shared.paused_until_ms();
                    t.on_monitor_tick(&tick, (paused > now_ms).then_some(paused));
                }
                if let Some(reason) = tick.killed {
                    if !r.kill_fired {
                        r.kill_fired = true;
                        r.kill_reason = Some(reason);
                        halt_pending = true;
                    }
                }
                if tick.cancel_all_sent && r.kill_fired && r.kill_canceled == 0 {
                    r.kill_canceled = e.monitor.last_canceled() as u64;
                }
                r.kill_error = e.monitor.last_error().map(str::to_string);
                r.monitor = e.monitor.counters();
                r.max_drawdown_micro = e.monitor.max_drawdown_micro();
            }
        }
        if let Some(t) = telemetry.as_mut() {
            t.poll(&report);
        }
        if halt_pending && setup.to_hot.push(Command::HaltTrading).is_ok() {
            halt_pending = false;
        }
        if !stop_sent {
            let deadline_hit = setup.deadline.is_some_and(|d| Instant::now() >= d);
            if (setup.stop.load(Ordering::Relaxed) || deadline_hit) && stop_at.is_none() {
                stop_at = Some(if setup.exec.is_some() {
                    halt_pending = true;
                    Instant::now() + SHUTDOWN_GRACE
                } else {
                    Instant::now()
                });
            }
            if stop_at.is_some_and(|t| Instant::now() >= t) && !halt_pending {
                stop_sent = setup.to_hot.push(Command::Stop).is_ok();
            }
        }
        if setup.hot_finished.load(Ordering::Acquire) {
            setup.from_hot.drain_with(usize::MAX, |ev| {
                if let Some(t) = telemetry.as_mut() {
                    t.on_event(&ev);
                }
                handle(&mut report, ev, log)
            });
            report.discovery = setup
                .discovery
                .as_ref()
                .map(|d| d.worker.counters().clone());
            report.record = setup.recorder.take().map(crate::record::Recorder::finish);
            if let (Some(e), Some(r)) = (setup.exec.as_mut(), report.exec.as_mut()) {
                // Nothing of ours may rest after the run.
                if e.monitor.on_shutdown() {
                    r.shutdown_canceled = e.monitor.last_canceled() as u64;
                } else {
                    r.shutdown_error = e.monitor.last_error().map(str::to_string);
                }
                r.heartbeats = *e.heartbeat.counters();
                r.monitor = e.monitor.counters();
                r.max_drawdown_micro = e.monitor.max_drawdown_micro();
            }
            break;
        }
        let now = Instant::now();
        if now >= next_tick {
            next_tick = now + setup.interval;
            let hb = setup.heartbeat.load(Ordering::Relaxed);
            if hb == last_heartbeat {
                report.hot_stalls += 1;
            }
            last_heartbeat = hb;
            // A terminal gets a redrawn table every tick; a log gets one every 5 s.
            let print_every = if tty {
                setup.interval
            } else {
                Duration::from_secs(5)
            };
            if setup.live_table && now.duration_since(last_print) >= print_every {
                last_print = now;
                let table = render_table(&report, &setup.labels, started.elapsed());
                let mut out = std::io::stdout().lock();
                if tty {
                    let _ = out.write_all(b"\x1b[2J\x1b[H");
                }
                let _ = out.write_all(table.as_bytes());
                let _ = out.flush();
            }
        }
        if n == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    report
}

fn handle(report: &mut RiskReport, ev: HotEvent, log_would_be: bool) {
    report.events += 1;
    match ev {
        HotEvent::Net(e) => {
            if let Some(c) = report.net.get_mut(usize::from(e.conn_id)) {
                c.record(&e);
            }
            if let NetEventKind::Dropped(_) | NetEventKind::Watchdog = e.kind {
                // Counted above; the table shows drops per connection.
            }
        }
        HotEvent::Asset(v) => {
            match report
                .views
                .iter_mut()
                .find(|x| x.venue == v.venue && x.asset == v.asset)
            {
                Some(slot) => *slot = v,
                None => report.views.push(v),
            }
        }
        HotEvent::Loop(s) => report.last_loop = s,
        HotEvent::Market(v) => {
            if report.market_history.len() < MARKET_HISTORY_MAX {
                report.market_history.push(v);
            }
            match report.markets.iter_mut().find(|x| x.market == v.market) {
                Some(slot) => *slot = v,
                None => report.markets.push(v),
            }
        }
        HotEvent::MarketGone(idx) => report.markets.retain(|m| m.market != idx),
        HotEvent::Account(a) => report.account = Some(a),
        HotEvent::Strategy { .. } => {}
        HotEvent::TradeClosed { pnl_micro, .. } => {
            report.trades_closed += 1;
            report.trades_pending.push(pnl_micro);
        }
        HotEvent::WouldOrder(o) => {
            if log_would_be {
                eprintln!("{}", would_be_order_line(&o));
            }
            if report.would_be_orders.len() < WOULD_BE_MAX {
                report.would_be_orders.push(o);
            }
        }
        HotEvent::WouldCancel(c) => {
            if log_would_be {
                eprintln!("{}", would_be_cancel_line(&c));
            }
            if report.would_be_cancels.len() < WOULD_BE_MAX {
                report.would_be_cancels.push(c);
            }
        }
    }
}
