//! The orchestrator and risk modules end to end: the kill switch fires cancel-all over the
//! monitor's own connection while the hot thread is stuck (a local recording HTTP server sees
//! the `DELETE /cancel-all`); the pre-trade gate and a warm orchestrator round allocate
//! nothing; the `[lifecycle]`, `[allocator]` and `[risk]` sections reject bad values naming
//! the key.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use sattebaaz::book::{MarketIdx, Outcome};
use sattebaaz::config::{Config, ConfigError, ErrorKind, SHIPPED_CONFIG_TOML};
use sattebaaz::exec::heartbeat::KillSwitch;
use sattebaaz::exec::rest::blocking::{BlockingClob, BlockingConfig};
use sattebaaz::exec::signing::amounts::Side;
use sattebaaz::exec::signing::hmac::L2Credentials;
use sattebaaz::exec::signing::signer::EoaSigner;
use sattebaaz::net::backoff::BackoffPolicy;
use sattebaaz::net::http::TcpConnector;
use sattebaaz::orchestrator::allocator::Allocator;
use sattebaaz::orchestrator::lifecycle::{Lifecycle, Phase};
use sattebaaz::orchestrator::{LiveOrder, MarketSlot, Orchestrator, RoundInputs};
use sattebaaz::risk::{
    Account, KillReason, MarketRisk, Monitor, MonitorInputs, MonitorParams, PreTrade,
    PreTradeLimits, RiskShared, TradingMode,
};
use sattebaaz::signals::Regime;
use sattebaaz::strategy::intent::{IntentBuf, OrderIntent, Reason, StrategyId, TimeInForce};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

fn config() -> Config {
    SHIPPED_CONFIG_TOML.parse().unwrap()
}

/// A one-connection HTTP/1.1 server answering every request with an empty cancel summary;
/// returns "METHOD path" of each request once the client hangs up.
fn recording_server() -> (SocketAddr, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut seen = Vec::new();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let body_len = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() < end + 4 + body_len {
                    break;
                }
                let line = head.lines().next().unwrap_or("");
                let mut parts = line.split(' ');
                let method = parts.next().unwrap_or("");
                let path = parts.next().unwrap_or("");
                seen.push(format!("{method} {path}"));
                buf.drain(..end + 4 + body_len);
                let body = br#"{"canceled":[],"not_canceled":{}}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                stream.write_all(reply.as_bytes()).unwrap();
                stream.write_all(body).unwrap();
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return seen,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    });
    (addr, handle)
}

#[test]
fn the_kill_switch_cancels_all_over_its_own_connection_while_the_hot_thread_is_stuck() {
    let (addr, server) = recording_server();
    let signer = EoaSigner::from_bytes(&[0x42; 32]).unwrap();
    let creds = L2Credentials::new(
        signer.address(),
        "0b7c6a2e-1111-2222-3333-444455556666",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "test-passphrase",
    )
    .unwrap();
    let clob = BlockingClob::new(
        TcpConnector { addr },
        "127.0.0.1",
        Some(creds),
        BlockingConfig::default(),
        BackoffPolicy::default(),
    )
    .unwrap();
    let shared = Arc::new(RiskShared::new());

    // The "hot thread": beats a while, then blocks forever (until released at the end).
    let (stuck_tx, stuck_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let hot_shared = Arc::clone(&shared);
    let hot = thread::spawn(move || {
        for _ in 0..100 {
            hot_shared.beat();
        }
        stuck_tx.send(()).unwrap();
        let _ = release_rx.recv();
    });
    stuck_rx.recv().unwrap();

    let c = config();
    let t0 = 1_800_000_000_000u64;
    let mut monitor = Monitor::new(
        MonitorParams::from_config(&c.risk),
        KillSwitch::new(clob),
        t0,
        1_000_000_000,
    );
    assert!(
        monitor.on_start(),
        "start-up cancel-all: {:?}",
        monitor.last_error()
    );
    let inputs = MonitorInputs {
        equity_micro: 1_000_000_000,
        exposure_micro: 0,
        atr: [0.0; 4],
    };
    let interval = u64::from(c.risk.monitor_interval_ms);
    let mut fired_at = None;
    for k in 0..20u64 {
        let now = t0 + k * interval;
        let report = monitor.tick(&shared, &inputs, now);
        if let Some(reason) = report.killed {
            assert_eq!(reason, KillReason::HotThreadHung);
            assert!(report.cancel_all_sent, "{:?}", monitor.last_error());
            fired_at = Some(now);
            break;
        }
    }
    let fired_at = fired_at.expect("the monitor never fired");
    assert!(fired_at - t0 >= u64::from(c.risk.hot_stall_ms));
    assert_eq!(shared.mode(fired_at), TradingMode::Killed);
    assert_eq!(shared.kill_reason(), Some(KillReason::HotThreadHung));
    assert!(monitor.on_shutdown());
    drop(monitor);
    let seen = server.join().unwrap();
    assert_eq!(seen, vec!["DELETE /cancel-all"; 3], "start, kill, shutdown");
    release_tx.send(()).unwrap();
    hot.join().unwrap();
}

fn market_risk() -> MarketRisk {
    MarketRisk {
        regime: Regime::Medium,
        mid_micro: [Some(500_000), Some(500_000)],
        book_age_ms: 10,
        book_resyncing: false,
        oracle_age_ms: Some(10),
        cost_micro: [0, 0],
        sellable_micro: [0, 0],
        fee_rate_micro: 72_000,
    }
}

fn intent(
    strategy: StrategyId,
    outcome: Outcome,
    price: i64,
    size: i64,
    group: u32,
) -> OrderIntent {
    OrderIntent {
        strategy,
        reason: Reason::ArbOpen,
        market: MarketIdx(0),
        outcome,
        side: Side::Buy,
        price_micro: price,
        size_micro: size,
        tif: TimeInForce::Fak,
        post_only: false,
        group,
    }
}

#[test]
fn the_pretrade_check_and_a_warm_round_allocate_nothing() {
    let c = config();
    let limits = PreTradeLimits::from_config(
        &c.risk,
        c.oracle.max_age_ms,
        c.signals.regimes.position_cap_bps,
        c.strategy.min_order_shares_micro,
    );
    let shared = RiskShared::new();
    let account = Account {
        capital_micro: 1_000_000_000,
        exposure_micro: 0,
        available_collateral_micro: 1_000_000_000,
    };
    let mut gate = PreTrade::new(limits);
    let ok = intent(StrategyId::Lag, Outcome::Up, 500_000, 10_000_000, 0);
    let mut far = ok;
    far.price_micro = 900_000;
    let (allocs, (a, b)) = count_allocations(|| {
        (
            gate.check(&ok, &market_risk(), &account, &shared, 1_000),
            gate.check(&far, &market_risk(), &account, &shared, 1_000),
        )
    });
    assert!(a.is_ok() && b.is_err());
    assert_eq!(allocs, 0, "pre-trade check allocated");

    let mut orch = Orchestrator::new(
        Lifecycle::from_config(&c.lifecycle),
        PreTrade::new(limits),
        16,
        4,
        c.markets.len(),
    );
    let mut alloc = Allocator::new(&c.allocator, &c.markets);
    alloc.set_capital(1_000_000_000);
    let markets = [Some(MarketSlot {
        market_type: 0,
        phase: Phase::Prime,
        risk: market_risk(),
    })];
    let live = [LiveOrder {
        market: MarketIdx(0),
        outcome: Outcome::Down,
        side: Side::Buy,
        price_micro: 470_000,
    }];
    let inputs = RoundInputs {
        markets: &markets,
        live: &live,
        account,
        now_ms: 1_000,
    };
    let mut buf = IntentBuf::with_capacity(16, 4);
    let fill = |buf: &mut IntentBuf| {
        buf.clear();
        buf.push_order(intent(StrategyId::Arb, Outcome::Up, 450_000, 20_000_000, 5));
        buf.push_order(intent(
            StrategyId::Arb,
            Outcome::Down,
            480_000,
            20_000_000,
            5,
        ));
        buf.push_order(intent(StrategyId::Lag, Outcome::Up, 450_000, 10_000_000, 0));
        buf.push_order(intent(
            StrategyId::Lag,
            Outcome::Down,
            470_000,
            10_000_000,
            0,
        ));
        buf.push_order(intent(StrategyId::Lag, Outcome::Up, 520_000, 80_000_000, 0));
        buf.push_order(intent(
            StrategyId::Lag,
            Outcome::Down,
            530_000,
            500_000_000,
            0,
        ));
    };
    fill(&mut buf);
    let warm = orch.round(&mut buf, &inputs, &alloc, &shared);
    fill(&mut buf);
    let (allocs, report) = count_allocations(|| orch.round(&mut buf, &inputs, &alloc, &shared));
    assert_eq!(report, warm);
    // Sent: the arb pair, a lag Up buy and a lag Down buy capped to the lag budget left;
    // dropped: a duplicate of the arb leg and a duplicate of the live order.
    assert_eq!((report.sent, report.dropped, report.capped), (4, 2, 1));
    assert_eq!(allocs, 0, "orchestrator round allocated");
}

fn errors_after(section: &str, edit: impl FnOnce(&mut toml::Table)) -> Vec<ConfigError> {
    let mut table: toml::Table = SHIPPED_CONFIG_TOML.parse().unwrap();
    match table.get_mut(section) {
        Some(toml::Value::Table(t)) => edit(t),
        _ => panic!("no [{section}]"),
    }
    match toml::to_string(&table).unwrap().parse::<Config>() {
        Ok(_) => panic!("config unexpectedly valid"),
        Err(e) => e.into_vec(),
    }
}

#[track_caller]
fn has(errors: &[ConfigError], path: &str, kind: ErrorKind) {
    assert!(
        errors.iter().any(|e| e.path == path && e.kind == kind),
        "no {kind:?} at `{path}` in {errors:#?}"
    );
}

#[test]
fn the_shipped_sections_hold_the_spec_numbers() {
    let c = config();
    assert_eq!(c.lifecycle.bounds_5m_s, [5, 30, 120, 240, 270]);
    assert_eq!(c.lifecycle.bounds_15m_s, [15, 90, 600, 780, 870]);
    assert!(c.lifecycle.phases.lockout.is_empty());
    assert_eq!(c.risk.max_exposure_bps, 5_000);
    assert_eq!(c.risk.max_directional_bps, 500);
    assert_eq!(c.risk.daily_loss_bps, 1_000);
    assert_eq!(c.risk.pause_ms, 3_600_000);
    assert_eq!(
        (
            c.risk.loss_streak,
            c.risk.streak_size_bps,
            c.risk.streak_trades
        ),
        (5, 5_000, 10)
    );
    assert_eq!(c.risk.monitor_interval_ms, 500);
    assert_eq!(c.allocator.tier_shares_bps[1], [5_000, 2_000, 3_000, 0, 0]);
}

#[test]
fn bad_values_are_rejected_naming_the_key() {
    let e = errors_after("lifecycle", |t| {
        t.insert(
            "bounds_5m_s".into(),
            toml::Value::try_from([5, 30, 20, 240, 270]).unwrap(),
        );
        t.insert(
            "bounds_15m_s".into(),
            toml::Value::try_from([15, 90, 600, 780, 900]).unwrap(),
        );
        if let Some(toml::Value::Table(p)) = t.get_mut("phases") {
            p.insert("lockout".into(), toml::Value::try_from(["arb"]).unwrap());
        }
    });
    has(&e, "lifecycle.bounds_5m_s", ErrorKind::Inconsistent);
    has(&e, "lifecycle.bounds_15m_s", ErrorKind::Inconsistent);
    has(&e, "lifecycle.phases.lockout", ErrorKind::Inconsistent);

    let e = errors_after("allocator", |t| {
        t.insert("starting_capital_micro".into(), toml::Value::Integer(0));
        t.insert(
            "tier_floors_micro".into(),
            toml::Value::try_from([5, 50, 40, 5000]).unwrap(),
        );
        if let Some(toml::Value::Array(rows)) = t.get_mut("tier_shares_bps") {
            rows[2] = toml::Value::try_from([5000, 5000, 1, 0, 0]).unwrap();
        }
    });
    has(
        &e,
        "allocator.starting_capital_micro",
        ErrorKind::OutOfRange,
    );
    has(&e, "allocator.tier_floors_micro", ErrorKind::Inconsistent);
    has(&e, "allocator.tier_shares_bps[2]", ErrorKind::OutOfRange);

    let e = errors_after("risk", |t| {
        t.insert("max_exposure_bps".into(), toml::Value::Integer(10_001));
        t.insert("max_price_deviation_micro".into(), toml::Value::Integer(0));
        t.insert("atr_spike_ratio".into(), toml::Value::Float(0.5));
        t.insert("hot_stall_ms".into(), toml::Value::Integer(100));
        t.insert("loss_streak".into(), toml::Value::Integer(0));
    });
    has(&e, "risk.max_exposure_bps", ErrorKind::OutOfRange);
    has(&e, "risk.max_price_deviation_micro", ErrorKind::OutOfRange);
    has(&e, "risk.atr_spike_ratio", ErrorKind::OutOfRange);
    has(&e, "risk.hot_stall_ms", ErrorKind::Inconsistent);
    has(&e, "risk.loss_streak", ErrorKind::OutOfRange);

    let e = errors_after("risk", |t| {
        t.remove("pause_ms");
    });
    has(&e, "risk.pause_ms", ErrorKind::MissingKey);
}
