//! End to end: the engine (hot + risk threads, mio, rustls, WebSocket, simd-json parsing) against
//! the embedded simulator over TLS on loopback, in blocking-poll mode for shared cores. Checks that
//! every feed connects and delivers parseable data for every asset, that the latency histograms
//! are written, and that injected faults (a dropped connection, a silent feed) are survived by
//! reconnecting.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sattebaaz::config::Config;
use sattebaaz::engine::feeds::configured_assets;
use sattebaaz::engine::{run, EngineOptions};
use sattebaaz::feeds::binance::records::Venue;
use sattebaaz::sim::Simulator;

mod common;

fn test_config(tag: &str) -> (Config, PathBuf) {
    common::test_config("e2e", tag)
}

fn start_sim(cfg: &Config, dir: &std::path::Path) -> Simulator {
    Simulator::start(&common::sim_options(cfg, dir, 3)).expect("simulator starts")
}

fn options(sim: &Simulator, secs: u64) -> EngineOptions {
    EngineOptions {
        // Binance only: this file checks the Binance path and its faults.
        polymarket: None,
        duration: Some(Duration::from_secs(secs)),
        ..EngineOptions::against_simulator(sim)
    }
}

#[test]
fn engine_follows_every_feed_and_writes_histograms() {
    let (cfg, dir) = test_config("plain");
    let sim = start_sim(&cfg, &dir);
    let summary = run(&cfg, options(&sim, 4)).expect("engine runs");

    let stats = &summary.hot.stats;
    assert!(stats.messages > 200, "messages: {}", stats.messages);
    assert_eq!(stats.parse_errors, 0);
    assert_eq!(stats.queue_drops, 0);
    assert_eq!(summary.hot.net.len(), 3);
    for (label, c) in &summary.hot.net {
        assert_eq!(c.connects, 1, "{label} connected once");
        assert_eq!(c.drops, 0, "{label} never dropped");
        assert!(c.bytes_in > 0, "{label} received bytes");
    }
    for asset in configured_assets(&cfg) {
        let spot = summary
            .risk
            .views
            .iter()
            .find(|v| v.asset == asset && v.venue == Venue::Spot)
            .expect("a view per asset");
        assert!(spot.trades > 0 && spot.bid_px > 0 && spot.ask_px > spot.bid_px);
        let fut = summary
            .risk
            .views
            .iter()
            .find(|v| v.asset == asset && v.venue == Venue::Futures)
            .expect("a futures view per asset");
        assert!(fut.funding_rate > 0, "markPrice reached the futures state");
    }
    // One percentile file per stage, in HdrHistogram's text format: the whole thread's set,
    // then one set per Binance connection (whose decode stages add up to the whole).
    let stages = sattebaaz::telemetry::latency::Stage::ALL.len();
    let conns = summary.hot.connection_histograms.len();
    assert!(conns >= 2, "spot and futures connections");
    assert_eq!(summary.histogram_files.len(), stages * (1 + conns));
    {
        use sattebaaz::telemetry::latency::Stage;
        let per_conn: u64 = summary
            .hot
            .connection_histograms
            .iter()
            .map(|(_, h)| h.histogram(Stage::SocketToDecode).len())
            .sum();
        assert_eq!(
            per_conn,
            summary
                .hot
                .histograms
                .histogram(Stage::SocketToDecode)
                .len()
        );
        assert!(dir
            .join("histograms/binance_spot/socket_to_decode_us.hgrm")
            .exists());
    }
    let decode = std::fs::read_to_string(dir.join("histograms/socket_to_decode_us.hgrm"))
        .expect("decode histogram written");
    assert!(decode.contains("Percentile"));
    assert!(decode.contains("#[Max") && decode.contains("Total count"));
}

#[test]
fn engine_reconnects_after_drop_and_silence() {
    let (cfg, dir) = test_config("faults");
    let sim = Arc::new(start_sim(&cfg, &dir));
    let injector = {
        let sim = sim.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1_500));
            sim.binance_spot.control.drop_all();
            std::thread::sleep(Duration::from_millis(500));
            // Futures goes quiet (pings still answered) for longer than the watchdog allows.
            sim.binance_futures
                .control
                .silent
                .store(true, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1_800));
            sim.binance_futures
                .control
                .silent
                .store(false, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let summary = run(&cfg, options(&sim, 7)).expect("engine runs");
    injector.join().unwrap();

    let net = |label: &str| {
        summary
            .hot
            .net
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, c)| *c)
            .unwrap()
    };
    let spot = net("binance spot");
    assert!(spot.drops >= 1, "spot drop seen: {spot:?}");
    assert!(spot.connects >= 2, "spot reconnected: {spot:?}");
    let public = net("binance futures /public");
    let market = net("binance futures /market");
    assert!(
        public.watchdog_fires + market.watchdog_fires >= 1,
        "silence detected: {public:?} {market:?}"
    );
    assert!(public.connects >= 2 && market.connects >= 2);
    assert_eq!(summary.hot.stats.parse_errors, 0);
    // Data flowed again after the faults.
    assert!(summary.hot.stats.open_connections == 3);
}
