//! End to end, Polymarket side: the engine against the embedded simulator over TLS on loopback
//! (blocking poll). Discovery (Gamma + CLOB on the risk thread) finds the configured markets,
//! the hot thread subscribes their tokens on the market channel and follows RTDS; the periodic
//! market views must show filled Up/Down books, the oracle price, and the price to beat marked
//! missing (the engine starts mid-window, so the start tick was never observed). A second test
//! drops the market channel once and silences it once: the engine re-subscribes, the books are
//! flagged stale/awaiting meanwhile and are fresh again at the end.
//!
//! A last test proves the hot thread's market bookkeeping (discovery commands, id conversion,
//! book registration, views, timers) allocates nothing after warm-up.
//!
//! The simulator runs the real 300/900 s windows here: discovery validates each Gamma event
//! against the real window length, so shortened windows (and with them window roll-overs within
//! a test's time) cannot be followed yet.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sattebaaz::config::{Config, PollMode};
use sattebaaz::engine::feeds::configured_assets;
use sattebaaz::engine::hot::POLY_MARKET_LABEL;
use sattebaaz::engine::market_view::{feed_asset, Phase};
use sattebaaz::engine::messages::MarketView;
use sattebaaz::engine::{run, EngineOptions, EngineSummary};
use sattebaaz::sim::{SimOptions, Simulator};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

fn test_config(tag: &str) -> (Config, PathBuf) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let mut cfg = Config::load(path).expect("shipped config loads");
    let dir = std::env::temp_dir().join(format!("sattebaaz-poly-{tag}-{}", std::process::id()));
    cfg.engine.run_dir = dir.clone();
    cfg.poll.mode = PollMode::Blocking;
    cfg.telemetry.heartbeat_interval_ms = 100;
    cfg.net.websocket.silence_timeout_ms = 1_000;
    cfg.net.websocket.ws_ping_interval_ms = 300;
    cfg.net.backoff.initial_ms = 50;
    cfg.net.backoff.max_ms = 400;
    cfg.discovery.step_interval_ms = 50;
    (cfg, dir)
}

/// The simulator runs real 5m/15m windows (all aligned to 300 s). A test that must look at one
/// window from start to end waits, if a roll-over would fall inside its run, until a little
/// after that roll-over (bounded: at most `run_secs + 15` s), so the new window's books exist.
fn avoid_rollover(run_secs: u64) {
    let now_ms = sattebaaz::clock::wall_ms();
    let into_ms = now_ms % 300_000;
    let left_ms = 300_000 - into_ms;
    if left_ms < (run_secs + 3) * 1000 {
        std::thread::sleep(Duration::from_millis(left_ms + 12_000));
    }
}

fn start_sim(cfg: &Config, dir: &std::path::Path) -> Simulator {
    Simulator::start(&SimOptions {
        seed: 5,
        bind: "127.0.0.1".into(),
        assets: configured_assets(cfg)
            .iter()
            .map(|a| a.short_name().to_string())
            .collect(),
        ca_file: dir.join("ca.pem"),
        step: Duration::from_millis(5),
    })
    .expect("simulator starts")
}

fn options(sim: &Simulator, secs: u64) -> EngineOptions {
    EngineOptions {
        duration: Some(Duration::from_secs(secs)),
        ..EngineOptions::against_simulator(sim)
    }
}

/// The final view of the configured market type's window that contains `at_ms`.
fn current_view(summary: &EngineSummary, m: &sattebaaz::config::MarketConfig) -> MarketView {
    let v = summary
        .risk
        .markets
        .iter()
        .find(|v| {
            v.asset == feed_asset(m.asset)
                && v.window == m.window
                && v.start_s * 1000 <= v.at_ms
                && v.at_ms < v.end_s * 1000
        })
        .copied();
    v.unwrap_or_else(|| panic!("no current market for {:?} {:?}", m.asset, m.window))
}

fn assert_fresh_books(v: &MarketView) {
    let (ub, ua, db, da) = (
        v.up_bid.expect("up bid"),
        v.up_ask.expect("up ask"),
        v.down_bid.expect("down bid"),
        v.down_ask.expect("down ask"),
    );
    assert!(0 < ub && ub < ua && ua < 1_000_000, "up book {ub}/{ua}");
    assert!(0 < db && db < da && da < 1_000_000, "down book {db}/{da}");
    let sum = v.ask_sum.expect("ask sum");
    assert_eq!(sum, ua + da);
    // Complementary books: the asks sum to about $1 (never far below: that would be free money).
    assert!((800_000..=1_300_000).contains(&sum), "ask sum {sum}");
    assert!(!v.stale && !v.awaiting_snapshot, "fresh: {v:?}");
    assert!(v.snapshots >= 2, "both books got a snapshot");
}

#[test]
fn engine_discovers_markets_fills_books_and_follows_the_oracle() {
    let (cfg, dir) = test_config("plain");
    avoid_rollover(6);
    let sim = start_sim(&cfg, &dir);
    let summary = run(&cfg, options(&sim, 6)).expect("engine runs");

    let d = summary.risk.discovery.clone().expect("discovery ran");
    assert!(d.discovered as usize >= cfg.markets.len(), "{d:?}");
    assert_eq!(d.gamma_invalid + d.clob_invalid + d.clob_mismatches, 0);
    let poly = summary.hot.poly.as_ref().expect("polymarket side ran");
    assert!(poly.counters.new_markets >= cfg.markets.len() as u64);
    assert_eq!(poly.counters.add_failures, 0);
    assert_eq!(poly.counters.send_failures, 0);
    assert!(poly.counters.initial_subscriptions >= 1);
    assert!(poly.books.snapshots >= 2 * cfg.markets.len() as u64);
    assert_eq!(summary.hot.stats.parse_errors, 0);
    assert_eq!(summary.hot.stats.open_connections, 5);

    for m in &cfg.markets {
        let v = current_view(&summary, m);
        assert_fresh_books(&v);
        assert_ne!(v.phase, Phase::Upcoming);
        assert_ne!(v.phase, Phase::Resolved);
        let oracle = v.oracle_px.expect("oracle price");
        assert!(v.binance_px > 0);
        // The simulated Chainlink follows the simulated Binance closely.
        let dev = (oracle - v.binance_px).abs() as f64 / v.binance_px as f64;
        assert!(dev < 0.01, "oracle {oracle} vs binance {}", v.binance_px);
        assert!(v.oracle_age_ms.is_some());
        // Started mid-window: the start second's tick was never seen, so it is missing (never
        // guessed), and without it there is no fair value.
        if summary.elapsed.as_secs() + 1 < v.at_ms / 1000 - v.start_s {
            assert_eq!(v.price_to_beat, None);
            assert_eq!(v.fair_up, None);
        }
    }
    // Per-stage latency of the new feeds was recorded and written.
    assert!(summary
        .histogram_files
        .iter()
        .any(|p| p.starts_with(dir.join("histograms/polymarket_market"))));
}

#[test]
fn engine_resubscribes_after_market_channel_drop_and_silence() {
    let (cfg, dir) = test_config("faults");
    avoid_rollover(9);
    let sim = Arc::new(start_sim(&cfg, &dir));
    let injector = {
        let sim = sim.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2_500));
            sim.polymarket_market.control.drop_all();
            std::thread::sleep(Duration::from_millis(1_500));
            // Quiet (pings still answered) for longer than the watchdog allows.
            sim.polymarket_market
                .control
                .silent
                .store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1_800));
            sim.polymarket_market
                .control
                .silent
                .store(false, Ordering::SeqCst);
        })
    };
    let summary = run(&cfg, options(&sim, 9)).expect("engine runs");
    injector.join().expect("injector");

    let net = summary
        .hot
        .net
        .iter()
        .find(|(l, _)| *l == POLY_MARKET_LABEL)
        .map(|(_, c)| *c)
        .expect("market channel counters");
    assert!(net.drops >= 1, "drop seen: {net:?}");
    assert!(net.watchdog_fires >= 1, "silence detected: {net:?}");
    assert!(net.connects >= 3, "reconnected twice: {net:?}");
    let poly = summary.hot.poly.as_ref().expect("polymarket side ran");
    // One initial subscription per open, each with every live token.
    assert!(
        poly.counters.initial_subscriptions >= 3,
        "{:?}",
        poly.counters
    );

    // Meanwhile the books were flagged; at the end they are fresh again.
    let history = &summary.risk.market_history;
    let first_full = history
        .iter()
        .position(|v| v.up_ask.is_some() && !v.stale && !v.awaiting_snapshot)
        .expect("books filled before the faults");
    assert!(
        history[first_full..]
            .iter()
            .any(|v| v.stale || v.awaiting_snapshot),
        "books flagged while the channel was down"
    );
    for m in &cfg.markets {
        assert_fresh_books(&current_view(&summary, m));
    }
    assert_eq!(summary.hot.stats.parse_errors, 0);
}

/// Follows a real window roll-over (the simulator runs 300 s windows): waits until 20 s before
/// the next 5-minute boundary (up to 5 minutes), then runs 45 s. Ignored by default for its
/// length; run with `cargo test --test engine_poly -- --ignored`.
#[test]
#[ignore = "waits for a real 5-minute window boundary (up to ~6 minutes)"]
fn engine_follows_a_window_rollover_without_gap() {
    let (cfg, dir) = test_config("rollover");
    let now_ms = sattebaaz::clock::wall_ms();
    let left_ms = 300_000 - now_ms % 300_000;
    if left_ms > 20_000 {
        std::thread::sleep(Duration::from_millis(left_ms - 20_000));
    } else {
        std::thread::sleep(Duration::from_millis(left_ms + 280_000));
    }
    let boundary_s = sattebaaz::clock::wall_ms().div_ceil(300_000) * 300;
    let sim = start_sim(&cfg, &dir);
    let summary = run(&cfg, options(&sim, 45)).expect("engine runs");

    let btc5 = cfg
        .markets
        .iter()
        .find(|m| m.window == sattebaaz::config::Window::Min5)
        .expect("a 5m market configured");
    let asset = feed_asset(btc5.asset);
    let history: Vec<&MarketView> = summary
        .risk
        .market_history
        .iter()
        .filter(|v| v.asset == asset && v.window == btc5.window)
        .collect();
    // The next window was tracked before the current one ended.
    assert!(
        history
            .iter()
            .any(|v| v.start_s == boundary_s && v.at_ms < boundary_s * 1000),
        "next window subscribed ahead"
    );
    // No gap: at every view time after the first, some tracked market covers that instant.
    let first = history.first().expect("views").at_ms;
    for v in history.iter().filter(|v| v.at_ms > first + 1_000) {
        assert!(
            history.iter().any(|w| w.at_ms == v.at_ms
                && w.start_s * 1000 <= v.at_ms
                && v.at_ms < w.end_s * 1000),
            "coverage at {}",
            v.at_ms
        );
    }
    // The new window's books are fresh, its price to beat was observed at its start.
    let new = summary
        .risk
        .markets
        .iter()
        .find(|v| v.asset == asset && v.window == btc5.window && v.start_s == boundary_s)
        .copied()
        .expect("new window tracked at the end");
    assert_fresh_books(&new);
    let ptb = new
        .price_to_beat
        .expect("price to beat observed at the window start");
    assert!((ptb - new.binance_px).abs() < new.binance_px / 100);
    let fair = new.fair_up.expect("fair value");
    assert!(fair > 0.0 && fair < 1.0);
    // The old window resolved and was retired.
    let poly = summary.hot.poly.as_ref().expect("polymarket side ran");
    assert!(poly.counters.resolved >= 1, "{:?}", poly.counters);
    assert!(poly.counters.retired >= 1, "{:?}", poly.counters);
    assert!(summary
        .risk
        .markets
        .iter()
        .all(|v| !(v.asset == asset && v.window == btc5.window && v.end_s == boundary_s)));
}

fn record(idx: u16, start_s: u64, up: &str, down: &str) -> sattebaaz::discovery::MarketRecord {
    use sattebaaz::discovery::{MarketIdx, Settlement, TokenId};
    let mut condition_id = [0u8; 32];
    condition_id[31] = idx as u8;
    condition_id[0] = 0xc0;
    sattebaaz::discovery::MarketRecord {
        idx: MarketIdx(idx),
        asset: sattebaaz::config::Asset::Btc,
        window: sattebaaz::config::Window::Min5,
        start_s,
        end_s: start_s + 300,
        condition_id,
        up_token: TokenId::parse(up).expect("token id").key,
        down_token: TokenId::parse(down).expect("token id").key,
        tick_micros: 10_000,
        min_size_micros: 5_000_000,
        neg_risk: false,
        fee_rate_ppm: 0,
        fee_exponent: 0,
        fee_taker_only: true,
        settlement: Settlement::Point,
    }
}

#[test]
fn market_bookkeeping_allocates_nothing_after_warm_up() {
    use sattebaaz::discovery::{DiscoveryMsg, MarketIdx, Outcome};
    use sattebaaz::engine::poly::{PolyFeeds, PolySetup};
    use sattebaaz::feeds::binance::records::Asset;
    use sattebaaz::net::ws::{MaybeTlsConnector, WsOptions};

    let poll = mio::Poll::new().expect("poll");
    let nowhere = MaybeTlsConnector {
        addr: "127.0.0.1:9".parse().expect("addr"),
        tls: None,
    };
    let mut feeds = PolyFeeds::new(
        PolySetup {
            market_url: "ws://127.0.0.1:9/ws/market".into(),
            market_connector: nowhere.clone(),
            rtds_url: "ws://127.0.0.1:9/".into(),
            rtds_connector: nowhere,
            ws_options: WsOptions::default(),
            rtds_ws_options: WsOptions::default(),
            max_markets: 4,
            assets: vec![Asset::Btc],
            oracle_max_age_ms: 5_000,
        },
        poll.registry(),
        0,
        1,
    )
    .expect("clients built");
    let up = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
    let down = "52114319501245915516055106046884209969926127482827954674443846427813813222426";
    let now_ms = sattebaaz::clock::wall_ms();
    let start_s = now_ms / 1000 - 10;
    let mut views = 0;
    // Records are built outside the measured part (parsing the ids allocates their text).
    let records = [record(1, start_s, up, down), record(2, start_s, up, down)];
    let cycle = |feeds: &mut PolyFeeds, idx: u16, views: &mut usize| {
        let now_ns = sattebaaz::clock::mono_ns();
        let rec = records[usize::from(idx) - 1];
        feeds.on_discovery(DiscoveryMsg::NewMarket(rec), now_ns);
        feeds.on_timer(now_ns);
        feeds.views(
            now_ms,
            now_ns,
            |_| 6_500_000_000_000,
            |v| {
                assert_eq!(v.market, idx);
                assert_eq!(v.phase, Phase::Early);
                assert!(v.awaiting_snapshot && v.stale && v.up_bid.is_none());
                *views += 1;
            },
        );
        let resolved = DiscoveryMsg::MarketResolved {
            idx: MarketIdx(idx),
            winner: Outcome::Up,
        };
        feeds.on_discovery(resolved, now_ns);
        let tracked = feeds.tracked_count();
        let gone = feeds.on_discovery(
            DiscoveryMsg::RetireMarket {
                idx: MarketIdx(idx),
            },
            now_ns,
        );
        (tracked, gone)
    };
    // Warm-up, then the same work again under the counter.
    assert_eq!(cycle(&mut feeds, 1, &mut views), (1, Some(1)));
    let (allocs, result) = count_allocations(|| cycle(&mut feeds, 2, &mut views));
    assert_eq!(result, (1, Some(2)));
    assert_eq!(allocs, 0, "market bookkeeping allocated");
    assert_eq!(views, 2);
    // The ids were converted exactly: the token resolves while the market is live.
    let rec = record(3, start_s, up, down);
    feeds.on_discovery(DiscoveryMsg::NewMarket(rec), sattebaaz::clock::mono_ns());
    assert!(feeds.books().token(up.as_bytes()).is_some());
    assert!(feeds.books().token(down.as_bytes()).is_some());
    assert_eq!(feeds.counters.add_failures, 0);
}
