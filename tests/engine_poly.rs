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
//! The first tests run the real 300/900 s windows (and avoid a roll-over inside their run). The
//! roll-over test runs the simulator and the engine's discovery with 15 s windows and follows
//! two roll-overs: the next window is subscribed before the current one ends, each new window
//! is priced from the oracle, old windows resolve and retire.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sattebaaz::config::Config;
use sattebaaz::engine::hot::{POLY_MARKET_LABEL, POLY_RTDS_LABEL};
use sattebaaz::engine::market_view::{feed_asset, Phase};
use sattebaaz::engine::messages::MarketView;
use sattebaaz::engine::{run, EngineOptions, EngineSummary};
use sattebaaz::sim::polymarket::PolySimOptions;
use sattebaaz::sim::{SimOptions, Simulator};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

mod common;

fn test_config(tag: &str) -> (Config, PathBuf) {
    let (mut cfg, dir) = common::test_config("poly", tag);
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

fn sim_options(cfg: &Config, dir: &std::path::Path) -> SimOptions {
    common::sim_options(cfg, dir, 5)
}

fn start_sim(cfg: &Config, dir: &std::path::Path) -> Simulator {
    Simulator::start(&sim_options(cfg, dir)).expect("simulator starts")
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
fn engine_resubscribes_after_market_channel_and_rtds_drop_and_silence() {
    let (cfg, dir) = test_config("faults");
    avoid_rollover(9);
    let sim = Arc::new(start_sim(&cfg, &dir));
    let injector = {
        let sim = sim.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2_500));
            sim.polymarket_market.control.drop_all();
            sim.polymarket_rtds.control.drop_all();
            std::thread::sleep(Duration::from_millis(1_500));
            // Quiet (pings still answered) for longer than the watchdog allows.
            for service in [&sim.polymarket_market, &sim.polymarket_rtds] {
                service.control.silent.store(true, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(1_800));
            for service in [&sim.polymarket_market, &sim.polymarket_rtds] {
                service.control.silent.store(false, Ordering::SeqCst);
            }
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
    let rtds = summary
        .hot
        .net
        .iter()
        .find(|(l, _)| *l == POLY_RTDS_LABEL)
        .map(|(_, c)| *c)
        .expect("RTDS counters");
    assert!(rtds.drops >= 1, "RTDS drop seen: {rtds:?}");
    assert!(rtds.watchdog_fires >= 1, "RTDS silence detected: {rtds:?}");
    assert!(rtds.connects >= 3, "RTDS reconnected twice: {rtds:?}");
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
        let v = current_view(&summary, m);
        assert_fresh_books(&v);
        // The oracle came back after its drop and silence (re-subscribed on reconnect).
        assert!(
            v.oracle_px.is_some() && !v.oracle_stale,
            "oracle fresh: {v:?}"
        );
    }
    assert_eq!(summary.hot.stats.parse_errors, 0);
}

/// Window length of the roll-over test: short, so two roll-overs fit in well under a minute.
const SHORT_WINDOW_S: u64 = 15;

/// The simulator and the engine's discovery both run 15 s windows (slugs keep their `5m`/`15m`
/// labels). The engine starts just after a window boundary and runs until two more boundaries
/// and the retirement of the window ending at the second have passed. Every wait is bounded by
/// the engine's fixed run length.
#[test]
fn engine_follows_two_short_window_rollovers_without_gap() {
    let (mut cfg, dir) = test_config("rollover");
    // Quick resolution checks and retirement, so both old windows retire within the run.
    cfg.discovery.resolve_after_s = 1;
    cfg.discovery.resolve_every_s = 1;
    cfg.discovery.retire_after_s = 4;
    let window_ms = SHORT_WINDOW_S * 1000;
    // Start 1 s after a boundary (waits at most one window), so the engine is up and has
    // discovered the next window well before the first roll-over.
    let into_ms = sattebaaz::clock::wall_ms() % window_ms;
    let wait_ms = (window_ms + 1_000 - into_ms) % window_ms;
    std::thread::sleep(Duration::from_millis(wait_ms));
    let first_start_s = sattebaaz::clock::wall_ms() / window_ms * SHORT_WINDOW_S;
    let boundaries = [
        first_start_s + SHORT_WINDOW_S,
        first_start_s + 2 * SHORT_WINDOW_S,
    ];
    let sim = Simulator::start_with(
        &sim_options(&cfg, &dir),
        &PolySimOptions {
            window_secs_override: Some(SHORT_WINDOW_S),
            // Every oracle second is relayed: each window's start tick is observed.
            rtds_gap_prob: 0.0,
            resolve_delay_ms: 500,
            ..PolySimOptions::default()
        },
    )
    .expect("simulator starts");
    assert_eq!(sim.window_secs_override(), Some(SHORT_WINDOW_S as u32));
    // Until 7 s past the second boundary (retire_after_s = 4 plus resolution slack).
    let run_ms = (boundaries[1] + 7) * 1000 - sattebaaz::clock::wall_ms();
    let opts = EngineOptions {
        duration: Some(Duration::from_millis(run_ms)),
        ..EngineOptions::against_simulator(&sim)
    };
    assert_eq!(opts.window_secs_override, Some(SHORT_WINDOW_S as u32));
    let summary = run(&cfg, opts).expect("engine runs");

    let d = summary.risk.discovery.clone().expect("discovery ran");
    assert_eq!(
        d.gamma_invalid + d.clob_invalid + d.clob_mismatches,
        0,
        "{d:?}"
    );
    let poly = summary.hot.poly.as_ref().expect("polymarket side ran");
    assert_eq!(poly.counters.add_failures, 0, "{:?}", poly.counters);
    assert_eq!(summary.hot.stats.parse_errors, 0);

    for m in &cfg.markets {
        let asset = feed_asset(m.asset);
        let history: Vec<&MarketView> = summary
            .risk
            .market_history
            .iter()
            .filter(|v| v.asset == asset && v.window == m.window)
            .collect();
        let label = format!("{:?} {:?}", m.asset, m.window);
        // Every tracked window has the short length.
        assert!(
            history
                .iter()
                .all(|v| v.end_s - v.start_s == SHORT_WINDOW_S),
            "{label}: 15 s windows"
        );
        for &boundary_s in &boundaries {
            // The window starting at the boundary was tracked before the one ending there ended.
            assert!(
                history
                    .iter()
                    .any(|v| v.start_s == boundary_s && v.at_ms < boundary_s * 1000),
                "{label}: window at {boundary_s} subscribed ahead"
            );
            // Once open, it got its price to beat from the oracle's start tick and a fair P(Up).
            let priced = history
                .iter()
                .find(|v| {
                    v.start_s == boundary_s && v.price_to_beat.is_some() && v.fair_up.is_some()
                })
                .unwrap_or_else(|| panic!("{label}: window at {boundary_s} priced"));
            let ptb = priced.price_to_beat.expect("price to beat");
            assert!(
                (ptb - priced.binance_px).abs() < priced.binance_px / 100,
                "{label}: price to beat {ptb} vs binance {}",
                priced.binance_px
            );
            let fair = priced.fair_up.expect("fair value");
            assert!(fair > 0.0 && fair < 1.0, "{label}: fair {fair}");
            assert_ne!(priced.phase, Phase::Upcoming);
            // The window ending at the boundary is no longer tracked at the end (retired).
            assert!(
                summary
                    .risk
                    .markets
                    .iter()
                    .all(|v| !(v.asset == asset && v.window == m.window && v.end_s <= boundary_s)),
                "{label}: window ending at {boundary_s} retired"
            );
            // And it was seen resolved before that.
            assert!(
                history
                    .iter()
                    .any(|v| v.end_s == boundary_s && v.phase == Phase::Resolved),
                "{label}: window ending at {boundary_s} resolved"
            );
        }
        // No gap: at every view time after the first second, a tracked window covers it.
        let first = history.first().expect("views").at_ms;
        for v in history.iter().filter(|v| v.at_ms > first + 1_000) {
            assert!(
                history.iter().any(|w| w.at_ms == v.at_ms
                    && w.start_s * 1000 <= v.at_ms
                    && v.at_ms < w.end_s * 1000),
                "{label}: coverage at {}",
                v.at_ms
            );
        }
        // The window open at the end has fresh books.
        assert_fresh_books(&current_view(&summary, m));
    }
    // Both roll-overs' old windows, for every market type, resolved and retired.
    let types = cfg.markets.len() as u64;
    assert!(poly.counters.resolved >= 2 * types, "{:?}", poly.counters);
    assert!(poly.counters.retired >= 2 * types, "{:?}", poly.counters);
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
            snapshot_timeout: Duration::from_secs(1),
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

/// A venue that swallows the answer to the initial subscription: the books stay awaiting a
/// snapshot (the price changes that do arrive are ignored) until `snapshot_timeout` after the
/// ask, then each waiting book is unsubscribed and subscribed again, and the answers fill them.
#[test]
fn a_snapshot_the_venue_never_sent_is_asked_for_again_after_the_timeout() {
    use sattebaaz::discovery::DiscoveryMsg;
    use sattebaaz::engine::poly::{PolyFeeds, PolySetup};
    use sattebaaz::feeds::binance::records::Asset;
    use sattebaaz::net::ws::{MaybeTlsConnector, WsOptions};
    use tungstenite::Message;

    const UP: &str =
        "71321045679252212594626385532706912750332728571942532289631379312455583992563";
    const DOWN: &str =
        "52114319501245915516055106046884209969926127482827954674443846427813813222426";
    let market = format!("0xc0{}01", "00".repeat(30));
    let book = move |asset: &str, market: &str| {
        format!(
            r#"{{"event_type":"book","asset_id":"{asset}","market":"{market}","bids":[{{"price":"0.48","size":"50"}}],"asks":[{{"price":"0.50","size":"40"}}],"timestamp":"{}","hash":"h"}}"#,
            sattebaaz::clock::wall_ms()
        )
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let timeout = Duration::from_millis(500);
    let venue = std::thread::spawn(move || {
        let (sock, _) = listener.accept().expect("accept");
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .expect("read timeout");
        let mut ws = tungstenite::accept(sock).expect("handshake");
        let mut seen: Vec<(Duration, String)> = Vec::new();
        let started = std::time::Instant::now();
        let mut answered = 0;
        while answered < 2 && started.elapsed() < Duration::from_secs(10) {
            match ws.read() {
                Ok(Message::Text(t)) => {
                    let v: serde_json::Value = serde_json::from_str(t.as_str()).expect("json");
                    seen.push((started.elapsed(), t.as_str().to_string()));
                    // The initial frame's answer is lost; dynamic subscriptions are answered.
                    if v["operation"] == "subscribe" {
                        for a in v["assets_ids"].as_array().expect("ids") {
                            let frame = format!("[{}]", book(a.as_str().expect("id"), &market));
                            ws.send(Message::text(frame)).expect("send book");
                            answered += 1;
                        }
                    }
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    // Meanwhile the level changes flow (and are ignored by waiting books).
                    let change = format!(
                        r#"{{"market":"{market}","price_changes":[{{"asset_id":"{UP}","price":"0.47","size":"5","side":"BUY","hash":"h","best_bid":"0.48","best_ask":"0.50"}}],"timestamp":"{}","event_type":"price_change"}}"#,
                        sattebaaz::clock::wall_ms()
                    );
                    ws.send(Message::text(change)).expect("send change");
                }
                Err(e) => panic!("venue read: {e}"),
            }
        }
        // Keep the socket open while the engine applies the answers.
        std::thread::sleep(Duration::from_millis(300));
        seen
    });

    let mut poll = mio::Poll::new().expect("poll");
    let to_venue = MaybeTlsConnector { addr, tls: None };
    let mut feeds = PolyFeeds::new(
        PolySetup {
            market_url: format!("ws://{addr}/ws/market"),
            market_connector: to_venue.clone(),
            rtds_url: format!("ws://{addr}/"),
            // RTDS goes nowhere: only the market channel matters here.
            rtds_connector: MaybeTlsConnector {
                addr: "127.0.0.1:9".parse().expect("addr"),
                tls: None,
            },
            ws_options: WsOptions::default(),
            rtds_ws_options: WsOptions::default(),
            max_markets: 2,
            assets: vec![Asset::Btc],
            oracle_max_age_ms: 5_000,
            snapshot_timeout: timeout,
        },
        poll.registry(),
        0,
        1,
    )
    .expect("clients built");
    let start_s = sattebaaz::clock::wall_ms() / 1000 - 10;
    feeds.on_discovery(
        DiscoveryMsg::NewMarket(record(1, start_s, UP, DOWN)),
        sattebaaz::clock::mono_ns(),
    );
    feeds.start(sattebaaz::clock::mono_ns());
    let mut events = mio::Events::with_capacity(16);
    let began = std::time::Instant::now();
    let filled = |feeds: &PolyFeeds| {
        let mut filled = false;
        feeds.views(
            sattebaaz::clock::wall_ms(),
            sattebaaz::clock::mono_ns(),
            |_| 0,
            |v| {
                filled = !v.awaiting_snapshot && v.up_bid.is_some() && v.down_ask.is_some();
            },
        );
        filled
    };
    while !filled(&feeds) && began.elapsed() < Duration::from_secs(10) {
        poll.poll(&mut events, Some(Duration::from_millis(5)))
            .expect("poll");
        let market_ready = events.iter().any(|e| e.token() == mio::Token(0));
        let now_ns = sattebaaz::clock::mono_ns();
        if market_ready {
            let _ = feeds.on_market_ready(now_ns);
        }
        feeds.on_timer(now_ns);
    }
    let seen = venue.join().expect("venue");
    assert!(
        filled(&feeds),
        "books filled after the second ask: {:?}",
        feeds.counters
    );
    assert_eq!(feeds.counters.initial_subscriptions, 1);
    // One chase asks for both books (a second one only if the answers took a whole timeout to
    // arrive, as on a starved machine).
    let chases = feeds.counters.overdue_snapshots;
    assert!(chases >= 1, "{:?}", feeds.counters);
    assert_eq!(feeds.counters.resyncs, 2 * chases, "{:?}", feeds.counters);
    assert!(feeds.books().counters().ignored_while_awaiting >= 1);
    // What the venue read: the initial frame, then for each book an unsubscribe and a
    // subscribe, no earlier than the timeout after the initial frame.
    let ops: Vec<(String, String)> = seen
        .iter()
        .map(|(_, t)| {
            let v: serde_json::Value = serde_json::from_str(t).expect("json");
            let op = v["operation"]
                .as_str()
                .or(v["type"].as_str())
                .expect("op")
                .to_string();
            let ids = v["assets_ids"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|a| a.as_str().expect("id"))
                .collect::<Vec<_>>()
                .join(",");
            (op, ids)
        })
        .collect();
    let both = format!("{UP},{DOWN}");
    let expected = [
        ("market", both.as_str()),
        ("unsubscribe", UP),
        ("subscribe", UP),
        ("unsubscribe", DOWN),
        ("subscribe", DOWN),
    ];
    assert_eq!(
        ops.iter()
            .map(|(o, i)| (o.as_str(), i.as_str()))
            .collect::<Vec<_>>(),
        expected
    );
    assert!(
        seen[1].0 >= seen[0].0 + timeout,
        "asked again too early: {seen:?}"
    );
}
