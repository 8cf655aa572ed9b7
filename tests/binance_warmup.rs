//! The start-up candle warm-up against the running simulator: its spot REST host serves
//! `GET /api/v3/klines` from the seeded history; the engine's client fetches, parses and seeds
//! it; the first live trade continues from the last seeded close; an engine run reports the
//! warm-up and its markets have a volatility regime at their first signal update; a failed
//! warm-up starts cold with the failure counted, or stops start-up when it is required.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sattebaaz::book::{TickSize, TokenBook};
use sattebaaz::config::Config;
use sattebaaz::discovery::fetch::{connect_url, Fetch, HttpFetch, UrlConnector};
use sattebaaz::discovery::FetchConfig;
use sattebaaz::engine::feeds::configured_assets;
use sattebaaz::engine::trading::WatchOnly;
use sattebaaz::engine::{run, run_trading, EngineError, EngineOptions, PlanOutlet, TradingPlan};
use sattebaaz::exec::signing::order::SignatureType;
use sattebaaz::exec::signing::signer::EoaSigner;
use sattebaaz::feeds::binance::candles::CANDLE_MS;
use sattebaaz::feeds::binance::warmup::{fetch_closed_candles, WarmupError};
use sattebaaz::feeds::binance::{Asset, AssetState, BinanceParser, Record, TradeSource, Venue};
use sattebaaz::net::backoff::BackoffPolicy;
use sattebaaz::net::tls::MaybeTls;
use sattebaaz::signals::{MarketInputs, SignalParams, SignalSet};
use sattebaaz::sim::Simulator;

mod common;

fn rest_client(sim: &Simulator) -> HttpFetch<MaybeTls, UrlConnector> {
    let tls = sattebaaz::net::tls::client_config(Some(sim.ca_file())).expect("simulator CA");
    connect_url(
        &sim.binance_rest_url(),
        tls,
        FetchConfig {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            max_body_bytes: 4 << 20,
        },
        BackoffPolicy::default(),
    )
    .expect("client for the simulator's spot REST host")
}

type Client = tungstenite::WebSocket<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>;

/// A plain WebSocket client (tungstenite over rustls, trusting only the simulator's CA).
fn connect_ws(sim: &Simulator, path: &str) -> Client {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(sim.ca_file()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let port = sim.binance_spot.addr.port();
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), "localhost".try_into().unwrap()).unwrap();
    let tls = rustls::StreamOwned::new(conn, sock);
    let url = format!("wss://localhost:{port}{path}");
    tungstenite::client(url.as_str(), tls)
        .expect("ws handshake")
        .0
}

#[test]
fn simulator_klines_seed_the_candles_and_the_live_price_continues() {
    let (cfg, dir) = common::test_config("warmup", "klines");
    let sim = Simulator::start(&common::sim_options(&cfg, &dir, 21)).expect("simulator starts");
    let mut rest = rest_client(&sim);

    // Unknown symbol, bad interval, bad limit: Binance's error answers.
    let (status, body) = rest
        .get("/api/v3/klines?symbol=DOGEUSDT&interval=1m&limit=5")
        .unwrap();
    assert_eq!(status, 400);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["code"], -1121);
    assert_eq!(v["msg"], "Invalid symbol.");
    let (status, body) = rest
        .get("/api/v3/klines?symbol=BTCUSDT&interval=1x&limit=5")
        .unwrap();
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("-1120"));
    let (status, _) = rest
        .get("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001")
        .unwrap();
    assert_eq!(status, 400);

    let before_ms = sattebaaz::clock::wall_ms();
    let history = fetch_closed_candles(&mut rest, Asset::Btc, 30, sattebaaz::clock::wall_ms())
        .expect("klines fetched and valid");
    assert_eq!(history.len(), 30);
    assert!(history
        .windows(2)
        .all(|w| w[1].open_ms == w[0].open_ms + CANDLE_MS));
    // The history reaches the present: its last candle closed by now, in the last minute.
    let last = *history.last().unwrap();
    assert!(last.open_ms + CANDLE_MS <= sattebaaz::clock::wall_ms());
    assert!(
        last.open_ms + 2 * CANDLE_MS > before_ms,
        "{last:?} at {before_ms}"
    );

    let mut spot = AssetState::new(Asset::Btc, Venue::Spot, TradeSource::Trade);
    assert_eq!(spot.seed_candles(&history), Ok(30));

    // The first live trade continues the seeded price path: within 1% of the last close (the
    // simulated BTC moves about 0.08% per minute in its normal regime, 0.2% when volatile).
    let mut ws = connect_ws(&sim, "/stream?streams=btcusdt@trade");
    let mut parser = BinanceParser::new(Venue::Spot);
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        assert!(Instant::now() < deadline, "no live trade");
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => {
                match parser.parse(t.as_bytes(), 0).expect("trade parses") {
                    rec @ Record::Trade(_) => break rec,
                    other => panic!("unexpected record {other:?}"),
                }
            }
            Ok(_) => continue,
            Err(e) => panic!("reading the spot stream: {e}"),
        }
    };
    let Record::Trade(trade) = first else {
        unreachable!()
    };
    let jump = (trade.px - last.close).abs() as f64 / last.close as f64;
    assert!(
        jump < 0.01,
        "first live trade {} vs last seeded close {}",
        trade.px,
        last.close
    );
    assert!(spot.apply(&first));
    // No duplicate or out-of-order candle: the closed history is untouched until a later
    // minute closes, and stays strictly ascending.
    assert!(spot.candles().closed().len() >= 30);
    let opens: Vec<u64> = spot.candles().closed().iter().map(|c| c.open_ms).collect();
    assert!(opens.windows(2).all(|w| w[0] < w[1]));

    // A signal set on this state has its regime on the first update.
    let full = Config::shipped().unwrap();
    let mut set = SignalSet::new(SignalParams::from_config(
        &full.signals,
        sattebaaz::config::Asset::Btc,
    ));
    let (up, down) = (
        TokenBook::new(TickSize::Cent),
        TokenBook::new(TickSize::Cent),
    );
    let market = MarketInputs {
        end_ms: trade.exch_ts_ms + 300_000,
        price_to_beat_e18: None,
        fee_rate_ppm: None,
    };
    let s = *set.update(&mut spot, &up, &down, &market, trade.exch_ts_ms);
    assert!(s.candles >= 30);
    assert!(s.regime.is_some() && s.atr_px.is_some(), "{s:?}");

    // An asset the simulator does not run is an invalid symbol there: a clear error.
    let (cfg_one, dir_one) = common::test_config("warmup", "klines-one");
    let mut opts = common::sim_options(&cfg_one, &dir_one, 21);
    opts.assets = vec!["btc".into()];
    let only_btc = Simulator::start(&opts).expect("simulator starts");
    let err = fetch_closed_candles(
        &mut rest_client(&only_btc),
        Asset::Sol,
        30,
        sattebaaz::clock::wall_ms(),
    )
    .unwrap_err();
    match &err {
        WarmupError::Status { status, code, .. } => {
            assert_eq!((*status, *code), (400, Some(-1121)), "{err}");
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("SOLUSDT"), "{err}");
}

#[test]
fn engine_run_reports_the_warm_up_and_markets_start_with_a_regime() {
    let (mut cfg, dir) = common::test_config("warmup", "engine");
    cfg.discovery.step_interval_ms = 50;
    let sim = Simulator::start(&common::sim_options(&cfg, &dir, 22)).expect("simulator starts");
    let opts = EngineOptions {
        duration: Some(Duration::from_secs(5)),
        ..EngineOptions::against_simulator(&sim)
    };
    let plan = TradingPlan {
        decider: Box::new(WatchOnly),
        signer: EoaSigner::from_bytes(&[0x42; 32]).unwrap(),
        funder: None,
        signature_type: SignatureType::Eoa,
        outlet: PlanOutlet::Shadow,
        kill: None,
        collateral_micros: 0,
        shared: std::sync::Arc::new(sattebaaz::risk::RiskShared::new()),
        redeems_at_resolution: false,
    };
    let summary = run_trading(&cfg, opts, Some(plan)).expect("engine runs");

    let assets = configured_assets(&cfg);
    let w = &summary.warmup;
    assert_eq!(w.requested, cfg.signals.warmup_candles);
    assert_eq!(w.url, sim.binance_rest_url());
    assert!(w.failures.is_empty(), "{:?}", w.failures);
    assert_eq!(
        w.fetched,
        assets
            .iter()
            .map(|a| (*a, cfg.signals.warmup_candles as usize))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        summary.hot.warm_candles_seeded,
        u64::from(cfg.signals.warmup_candles) * assets.len() as u64
    );
    assert_eq!(summary.hot.warm_histories_refused, 0);
    // The spot candle histories hold the seeded candles (the run is shorter than the history).
    for asset in &assets {
        let view = summary
            .risk
            .views
            .iter()
            .find(|v| v.asset == *asset && v.venue == Venue::Spot)
            .expect("a spot view per asset");
        assert!(
            view.candles_closed >= u64::from(cfg.signals.warmup_candles),
            "{asset:?}: {view:?}"
        );
    }
    // Every market's signal set had its regime on its very first update.
    let trading = summary.hot.trading.as_ref().expect("trading ran");
    assert!(trading.signal_sets_started > 0, "no market was updated");
    assert_eq!(
        trading.signal_sets_warm_at_start, trading.signal_sets_started,
        "some markets started without a regime"
    );
}

#[test]
fn a_failed_warm_up_starts_cold_and_counts_or_stops_when_required() {
    let (mut cfg, dir) = common::test_config("warmup", "cold");
    let sim = Simulator::start(&common::sim_options(&cfg, &dir, 23)).expect("simulator starts");
    // The Gamma host answers HTTPS but has no klines route: every asset fails with a 404.
    let opts = |secs| {
        let mut o = EngineOptions {
            polymarket: None,
            duration: Some(Duration::from_secs(secs)),
            ..EngineOptions::against_simulator(&sim)
        };
        o.binance.spot_rest = sim.gamma_url();
        o
    };
    let summary = run(&cfg, opts(2)).expect("a failed warm-up does not stop the engine");
    let assets = configured_assets(&cfg);
    let w = &summary.warmup;
    assert!(w.fetched.is_empty());
    assert_eq!(
        w.failures.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
        assets
    );
    for (_, reason) in &w.failures {
        assert!(
            reason.contains("HTTP 404") && reason.contains("/api/v3/klines"),
            "{reason}"
        );
    }
    assert_eq!(summary.hot.warm_candles_seeded, 0);
    assert!(
        summary.hot.stats.messages > 0,
        "the engine ran on live data"
    );

    cfg.signals.warmup_required = true;
    match run(&cfg, opts(2)) {
        Err(EngineError::Warmup { asset, reason }) => {
            assert_eq!(asset, assets[0].short_name());
            assert!(reason.contains("HTTP 404"), "{reason}");
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a required warm-up that failed must stop start-up"),
    }

    // Warm-up off: nothing fetched, nothing failed.
    cfg.signals.warmup_required = false;
    cfg.signals.warmup_candles = 0;
    let summary = run(&cfg, opts(1)).expect("engine runs");
    assert_eq!(summary.warmup.requested, 0);
    assert!(summary.warmup.fetched.is_empty() && summary.warmup.failures.is_empty());
    assert_eq!(summary.hot.warm_candles_seeded, 0);
}
