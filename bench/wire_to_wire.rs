//! Wire to wire: a Binance spot trade frame sent to the engine's socket → the signed
//! `POST /order` it causes arriving at the CLOB, both ends in the simulator over TLS on
//! loopback; the same measurement for a conventional tokio bot (`bench/conventional/`) in the
//! same run.
//!
//! Main figure, both ends kernel times at the same layer: from when the kernel transmitted the
//! frame's last byte from the simulator's socket (software transmit stamp, `sim::tx_stamp`) to
//! when the kernel received the request's last bytes at the CLOB's socket (`SO_TIMESTAMPNS`,
//! `sim::rx_stamp`). Two more tables start earlier or end later: from
//! [`Simulator::inject_spot_trade`]'s `mono_ns` taken just before the simulator sealed the frame
//! into a TLS record and wrote it (adds the simulator's own sealing and send system call) to the
//! kernel receive; and from that to the CLOB's thread having read the request (adds that
//! thread's wake-up on the simulator's busy CPU). One sample = one injected jump
//! of the held BTC price (alternately up and down, `--jump-bps`, default 150 bp) and the first order of the
//! measured wallet, at or after the injection, that buys the token the jump makes cheap (Up for
//! an up jump, Down for a down jump); anything else that wallet sends counts as unsolicited, a
//! jump with no such order within `--timeout-ms` as unpaired.
//!
//! The engine runs in paper mode against the simulator (`run_trading` with the
//! `TradingBrain`; a configuration that lets only the lag strategy act, in the MEDIUM regime, with
//! enough capital that no risk limit is reached), busy polling on CPU 1 when the machine has two
//! CPUs or more. The conventional bot runs as a subprocess with its CPU mask set to CPU 1 and
//! the engine stopped. The simulator's threads stay on CPU 0.
//!
//! `cargo bench --bench wire_to_wire -- [--samples N] [--jump-bps B] [--interval-ms M]
//! [--window-secs S] [--engine-poll busy|blocking] [--warm-order-us U] [--conventional PATH|none]
//! [--markdown-out FILE]`. Under `cargo test --benches` (no `--bench` argument) it runs a few
//! samples on 30 s windows, and the conventional half only if its binary was already built.
//! `W2W_DEBUG=1` prints every order read by the CLOB and the engine's trading report.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use sattebaaz::config::schema::StrategyName;
use sattebaaz::config::{Config, PollMode, Window};
use sattebaaz::engine::brain::TradingBrain;
use sattebaaz::engine::{run_trading, EngineOptions, PlanOutlet, TradingPlan, VenuePlan};
use sattebaaz::exec::signing::order::SignatureType;
use sattebaaz::exec::signing::signer::EoaSigner;
use sattebaaz::sim::polymarket::{MarketSpec, PolySimOptions, WindowKind};
use sattebaaz::sim::{SimOptions, Simulator};

/// Taker fee rate the lag strategy and the bot assume (72 000 ppm, the venue's crypto rate).
const FEE_RATE: f64 = 0.072;
/// The lag strategy's minimum edge in the MEDIUM regime (`signals.regimes.lag_min_edge_micro`),
/// for both implementations. The crowd's quotes wander a few cents around fair value: with the
/// shipped 0.02 both implementations also traded those wanderings, and one such trade inside
/// the cooldown before a jump (or a jump meeting a wide quote) was answered only at a later
/// requote, hundreds of ms on — a tail that timed the crowd. 0.10 is out of the wander's reach
/// and far inside what a ±`--jump-bps` jump opens (fair value moves by tens of cents).
const MIN_EDGE_MICRO: i64 = 100_000;
/// Lag cooldown between two entries in one market, ms (samples are spaced wider).
const LAG_COOLDOWN_MS: u64 = 250;
/// Capital of the run (engine and simulated ledger), micro-dollars: no risk limit is reached.
const CAPITAL_MICRO: i64 = 1_000_000_000_000_000;

struct Args {
    full: bool,
    samples: usize,
    jump_bps: f64,
    interval_ms: u64,
    timeout_ms: u64,
    conventional: Option<PathBuf>,
    markdown_out: Option<PathBuf>,
    window_secs: u64,
    /// Engine poll mode: `busy` (default when there are two CPUs or more) or `blocking`.
    engine_poll: Option<PollMode>,
    /// `poll.warm_order_interval_us` for the engine (default: the shipped value).
    warm_order_us: Option<u32>,
}

fn parse_args() -> Args {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let full = argv.iter().any(|a| a == "--bench");
    let value = |k: &str| {
        argv.iter()
            .position(|a| a == k)
            .and_then(|i| argv.get(i + 1))
            .cloned()
    };
    let num = |k: &str, d: f64| value(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(d);
    let default_bin = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bench/conventional/target/release/conventional-bot"
    ));
    let conventional = match value("--conventional").as_deref() {
        Some("none") => None,
        Some(p) => Some(PathBuf::from(p)),
        None => Some(default_bin),
    };
    Args {
        full,
        samples: num("--samples", if full { 200.0 } else { 5.0 }) as usize,
        jump_bps: num("--jump-bps", 150.0),
        interval_ms: num("--interval-ms", 300.0) as u64,
        timeout_ms: num("--timeout-ms", 1_000.0) as u64,
        conventional,
        markdown_out: value("--markdown-out").map(PathBuf::from),
        window_secs: num("--window-secs", if full { 180.0 } else { 30.0 }) as u64,
        engine_poll: match value("--engine-poll").as_deref() {
            Some("busy") => Some(PollMode::Busy),
            Some("blocking") => Some(PollMode::Blocking),
            Some(other) => panic!("--engine-poll {other}: busy or blocking"),
            None => None,
        },
        warm_order_us: value("--warm-order-us").map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("--warm-order-us {v}: microseconds"))
        }),
    }
}

/// The current BTC 5-minute window as the simulator lists it.
#[derive(Debug, Clone)]
struct Window5m {
    up: String,
    down: String,
    start_ms: u64,
    end_ms: u64,
    strike: Option<f64>,
}

fn current_window(sim: &Simulator) -> Option<Window5m> {
    let now = sattebaaz::clock::wall_ms();
    let st = sattebaaz::sim::polymarket::lock(&sim.polymarket_state);
    st.markets
        .iter()
        .find(|m| {
            m.info.asset == "btc" && m.info.start_s * 1000 <= now && now < m.info.end_s * 1000
        })
        .map(|m| Window5m {
            up: m.info.token_ids[0].clone(),
            down: m.info.token_ids[1].clone(),
            start_ms: m.info.start_s * 1000,
            end_ms: m.info.end_s * 1000,
            strike: m
                .strike_e18
                .map(sattebaaz::sim::polymarket::oracle::e18_to_f64),
        })
}

/// Wait until the current window started at or after `min_start_ms` (the engine knows the price
/// to beat only of windows that open while it runs), is past its opening and early seconds, and
/// has `need` left before its last 15 % (pre-resolution tightening, lockout).
fn wait_tradeable(sim: &Simulator, need: Duration, min_start_ms: u64) -> Window5m {
    loop {
        if let Some(w) = current_window(sim).filter(|w| w.start_ms >= min_start_ms) {
            let now = sattebaaz::clock::wall_ms();
            let len = w.end_ms - w.start_ms;
            let usable_end = w.end_ms - len * 15 / 100;
            if now >= w.start_ms + len / 15
                && now + need.as_millis() as u64 <= usable_end
                && w.strike.is_some()
            {
                return w;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Result of one measured implementation.
struct Phase {
    name: &'static str,
    /// The frame's kernel transmit → the order's last bytes received by the kernel at the
    /// CLOB's socket (samples with both kernel times only).
    hist: Histogram<u64>,
    /// The simulator's write start → the kernel receive at the CLOB.
    hist_start: Histogram<u64>,
    /// The simulator's write start → the CLOB's thread had read the whole request.
    hist_read: Histogram<u64>,
    /// Samples whose arrival carried no kernel receive time (the read time stood in).
    no_rx: u64,
    /// Samples whose injection carried no kernel transmit time (left out of `hist`).
    no_tx: u64,
    unpaired: u64,
    unsolicited: u64,
    note: String,
}

/// What one measured phase is.
struct PhaseSpec {
    name: &'static str,
    note: String,
    /// Address of the wallet whose orders count.
    maker: String,
    /// Answered jumps in a row before recording starts.
    warmup: usize,
    /// Only windows opened at or after this wall time (ms) are used.
    min_start_ms: u64,
}

/// Inject jumps and pair each with the order it causes from `spec.maker`.
fn measure(sim: &Simulator, args: &Args, spec: PhaseSpec) -> Phase {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram");
    let mut hist_start = hist.clone();
    let mut hist_read = hist.clone();
    let (mut unpaired, mut unsolicited, mut no_rx, mut no_tx) = (0u64, 0u64, 0u64, 0u64);
    let debug = std::env::var_os("W2W_DEBUG").is_some();
    let PhaseSpec {
        name,
        note,
        maker,
        warmup,
        min_start_ms,
    } = spec;
    let samples = args.samples;
    let maker = maker.as_str();
    let mine = |o: &sattebaaz::sim::bench_hooks::ArrivedOrder| o.maker.eq_ignore_ascii_case(maker);
    // Drain the arrival log, counting the measured wallet's orders.
    let drain_mine = || {
        sim.order_arrivals()
            .drain()
            .iter()
            .flat_map(|a| a.orders())
            .filter(|o| mine(o))
            .count() as u64
    };
    sim.order_arrivals().enable();
    let mut seq = 0usize;
    let mut recorded = 0usize;
    let mut warm = 0usize;
    // Set at the first injection: waiting for a usable window does not count.
    let mut warm_deadline: Option<Instant> = None;
    while recorded < samples {
        let need = Duration::from_millis((args.interval_ms + 100) * 4);
        let w = wait_tradeable(sim, need, min_start_ms);
        let up = seq % 2 == 0;
        seq += 1;
        let Some(px) = sim.model_price("btc") else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let factor = if up {
            1.0 + args.jump_bps / 10_000.0
        } else {
            1.0 - args.jump_bps / 10_000.0
        };
        let price_e8 = ((px * factor * 100.0).round() as i64) * 1_000_000;
        // Orders from before this injection are not caused by it.
        unsolicited += drain_mine();
        let Some(injected) =
            sim.inject_spot_trade("btc", price_e8, 100_000, !up, Duration::from_secs(1))
        else {
            eprintln!("wire_to_wire: injection not written (no subscriber?)");
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let t0 = injected.start_ns;
        let want = if up { &w.up } else { &w.down };
        let deadline = Instant::now() + Duration::from_millis(args.timeout_ms);
        // (to the kernel's receive, to the CLOB's read, kernel time present)
        let mut paired: Option<(u64, u64, bool)> = None;
        while Instant::now() < deadline {
            let arrived: Vec<_> = sim
                .order_arrivals()
                .drain()
                .iter()
                .flat_map(|a| a.orders())
                .collect();
            for o in arrived.into_iter().filter(|o| mine(o)) {
                if paired.is_none() && o.mono_ns >= t0 && &o.token_id == want && o.side == "BUY" {
                    let read = o.mono_ns - t0;
                    paired = Some(match o.rx_mono_ns {
                        Some(rx) => (rx.saturating_sub(t0), read, true),
                        None => (read, read, false),
                    });
                } else {
                    unsolicited += 1;
                    if debug {
                        eprintln!(
                            "  {name}: unsolicited {} {} @{} {} at +{} µs of jump {seq} ({})",
                            o.side,
                            if &o.token_id == want {
                                "wanted token"
                            } else {
                                "other token"
                            },
                            o.price_micro,
                            o.order_type,
                            (o.mono_ns as i64 - t0 as i64) / 1_000,
                            if up { "up" } else { "down" }
                        );
                    }
                }
            }
            if paired.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        if warm < warmup {
            // Warm-up: until `warmup` jumps in a row got their order (markets discovered,
            // books and regimes warm, connections open); nothing recorded.
            warm = if paired.is_some() { warm + 1 } else { 0 };
            if warm == warmup {
                // Count from the first recorded sample on.
                unsolicited = 0;
            }
            // Two whole windows at least: a window that opened before the engine had the
            // oracle's price at its start gives no fair value, and so no lag trade, until the
            // next one.
            let patience = Duration::from_secs(120.max(2 * args.window_secs));
            let deadline = *warm_deadline.get_or_insert_with(|| Instant::now() + patience);
            if Instant::now() > deadline {
                eprintln!("wire_to_wire: {name} never answered a jump during warm-up");
                break;
            }
        } else {
            match paired {
                Some((rx, read, has_rx)) => {
                    let _ = hist_start.record(rx.max(1));
                    let _ = hist_read.record(read.max(1));
                    no_rx += u64::from(!has_rx);
                    // Kernel to kernel: the transmit time sits after `t0`, inside `rx`.
                    match injected.tx_ns {
                        Some(tx) if has_rx && tx >= t0 && tx - t0 <= rx => {
                            let _ = hist.record((rx - (tx - t0)).max(1));
                        }
                        _ => no_tx += 1,
                    }
                }
                None => unpaired += 1,
            }
            if debug {
                match paired {
                    Some((rx, read, _)) => eprintln!(
                        "  {name}: jump {seq} ({}) sent +{:.1} µs → order at +{:.1} µs (socket), +{:.1} µs (read)",
                        if up { "up" } else { "down" },
                        injected
                            .tx_ns
                            .map_or(f64::NAN, |tx| tx.saturating_sub(t0) as f64 / 1e3),
                        rx as f64 / 1e3,
                        read as f64 / 1e3
                    ),
                    None => eprintln!(
                        "  {name}: jump {seq} ({}) unanswered",
                        if up { "up" } else { "down" }
                    ),
                }
            }
            recorded += 1;
        }
        let jitter = (t0 / 1_000) % 100;
        std::thread::sleep(Duration::from_millis(args.interval_ms + jitter));
    }
    sim.order_arrivals().disable();
    unsolicited += drain_mine();
    Phase {
        name,
        hist,
        hist_start,
        hist_read,
        no_rx,
        no_tx,
        unpaired,
        unsolicited,
        note,
    }
}

fn bench_config(
    run_dir: PathBuf,
    poll: PollMode,
    window_secs: u64,
    warm_order_us: Option<u32>,
) -> Config {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let mut cfg = Config::load(path).expect("shipped config loads");
    cfg.engine.run_dir = run_dir;
    cfg.poll.mode = poll;
    if let Some(us) = warm_order_us {
        cfg.poll.warm_order_interval_us = us;
    }
    cfg.telemetry.print_summary = false;
    cfg.sim.window_secs_override = window_secs as u32;
    // One market type: BTC "5m", its windows `window_secs` long.
    cfg.markets.retain(|m| m.window == Window::Min5);
    for m in &mut cfg.markets {
        m.capital_share_bps = 10_000;
    }
    // Only the lag strategy acts, in every phase it accepts.
    let lag = vec![StrategyName::Lag];
    let p = &mut cfg.lifecycle.phases;
    p.alpha = Vec::new();
    p.early = lag.clone();
    p.prime = lag.clone();
    p.mature = lag.clone();
    p.pre_resolution = lag.clone();
    let r = &mut cfg.lifecycle.regimes;
    r.dead = lag.clone();
    r.low = lag.clone();
    r.medium = lag.clone();
    r.high = lag.clone();
    r.extreme = lag;
    // Every warm ATR is MEDIUM, so the lag's minimum edge is MIN_EDGE_MICRO whatever the jumps
    // do to the candles; the ATR-spike kill switch is out of reach.
    cfg.signals.btc.atr_thresholds_micro = [1, 2, 900_000_000_000_000, 950_000_000_000_000];
    cfg.signals.regimes.lag_min_edge_micro[2] = MIN_EDGE_MICRO;
    cfg.risk.atr_spike_ratio = 100.0;
    cfg.risk.max_book_age_ms = 600_000;
    // The bench shares its cores with the simulator (and, on a busy machine, with builds): a
    // start-up stall of the hot thread must not fire the kill switch mid-measurement.
    cfg.risk.hot_stall_ms = 30_000;
    cfg.strategy.lag.cooldown_ms = LAG_COOLDOWN_MS;
    cfg.allocator.starting_capital_micro = CAPITAL_MICRO;
    let errors = sattebaaz::config::validate::validate(&cfg);
    assert!(errors.is_empty(), "bench configuration: {errors:?}");
    cfg
}

/// A fresh secp256k1 key and its signer (the conventional bot gets the key bytes).
fn random_key() -> ([u8; 32], EoaSigner) {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    loop {
        rand::rng().fill_bytes(&mut bytes);
        if let Ok(s) = EoaSigner::from_bytes(&bytes) {
            return (bytes, s);
        }
    }
}

fn pct(h: &Histogram<u64>, q: f64) -> String {
    if h.is_empty() {
        return "—".into();
    }
    fmt_ns(h.value_at_quantile(q))
}

fn fmt_ns(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} µs", ns as f64 / 1e3)
    }
}

/// Spawn the conventional bot with its CPU mask set to `cpu` (inherited from a thread pinned
/// there), wait for its `READY`.
fn spawn_conventional(
    bin: &PathBuf,
    sim: &Simulator,
    w: &Window5m,
    key_hex: String,
    creds: &sattebaaz::sim::exchange::auth::ApiCreds,
    cpu: Option<usize>,
) -> std::io::Result<(Child, String)> {
    let mut cmd = Command::new(bin);
    cmd.args([
        "--binance-ws",
        &format!("{}/stream?streams=btcusdt@trade", sim.binance_spot_url()),
        "--market-ws",
        &sim.polymarket_market_url(),
        "--clob",
        &sim.clob_url(),
        "--ca",
        &sim.ca_file().display().to_string(),
        "--up-token",
        &w.up,
        "--down-token",
        &w.down,
        "--strike",
        &format!("{}", w.strike.unwrap_or(0.0)),
        "--end-ms",
        &w.end_ms.to_string(),
        "--vol",
        "0.55",
        "--min-edge",
        &format!("{}", MIN_EDGE_MICRO as f64 / 1e6),
        "--fee-rate",
        &format!("{FEE_RATE}"),
        "--cooldown-ms",
        &LAG_COOLDOWN_MS.to_string(),
    ])
    .env("BOT_PRIVATE_KEY", key_hex)
    .env("BOT_API_KEY", &creds.api_key)
    .env("BOT_API_SECRET", &creds.secret)
    .env("BOT_API_PASSPHRASE", &creds.passphrase)
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    let mut child = std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(c) = cpu {
                let _ = sattebaaz::runtime::pin::pin_current_thread(c);
            }
            cmd.spawn()
        })
        .join()
        .expect("spawn thread")
    })?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut address = String::new();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(a) = line.strip_prefix("READY ") {
            address = a.trim().to_string();
            break;
        }
    }
    // Keep draining its output (one line per order answer).
    std::thread::spawn(move || for _ in lines {});
    if address.is_empty() {
        let _ = child.kill();
        return Err(std::io::Error::other("the bot exited before READY"));
    }
    Ok((child, address))
}

fn main() {
    let args = parse_args();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let busy = cpus >= 2 && args.engine_poll != Some(PollMode::Blocking);
    if cpus >= 2 {
        // The simulator's threads (spawned from here) inherit CPU 0; the measured
        // implementation gets CPU 1.
        let _ = sattebaaz::runtime::pin::pin_current_thread(0);
    }
    let poll = if busy {
        PollMode::Busy
    } else {
        PollMode::Blocking
    };
    let run_dir = std::env::temp_dir().join(format!("sattebaaz-w2w-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&run_dir);
    let cfg = bench_config(run_dir.clone(), poll, args.window_secs, args.warm_order_us);

    let poly = PolySimOptions {
        markets: vec![MarketSpec {
            asset: "btc".into(),
            kind: WindowKind::Min5,
        }],
        window_secs_override: Some(args.window_secs),
        exchange: sattebaaz::sim::exchange::ExchangeOptions {
            starting_collateral: CAPITAL_MICRO,
            ..Default::default()
        },
        ..PolySimOptions::default()
    };
    let sim = Simulator::start_with(
        &SimOptions {
            seed: cfg.sim.seed,
            bind: "127.0.0.1".into(),
            assets: vec!["btc".into()],
            ca_file: run_dir.join("sim-ca.pem"),
            step: Duration::from_millis(5),
        },
        &poly,
    )
    .expect("simulator starts");
    sim.freeze_prices(true);
    println!(
        "wire_to_wire: {} samples per implementation, jumps of ±{} bp, {} s windows, poll mode {} ({cpus} CPUs){}",
        args.samples,
        args.jump_bps,
        args.window_secs,
        match (busy, cpus >= 2) {
            (true, _) => "busy (engine hot thread on CPU 1)",
            (false, true) => "blocking (as asked; engine hot thread on CPU 1)",
            (false, false) => "blocking (one CPU: no busy polling)",
        },
        if args.full { "" } else { " — smoke run" }
    );

    // --- sattebaaz in paper mode ---
    let (_, signer) = random_key();
    let address = signer.address().to_checksum_string();
    let registered = sim.register_api_key(&signer.address(), 0);
    let shared = Arc::new(sattebaaz::risk::state::RiskShared::new());
    let plan = TradingPlan {
        decider: Box::new(TradingBrain::new(
            &cfg,
            cfg.discovery.max_markets as usize,
            shared.clone(),
        )),
        signer,
        funder: None,
        signature_type: SignatureType::Eoa,
        outlet: PlanOutlet::Venue(VenuePlan {
            user_ws_url: sim.polymarket_user_url(),
            creds: sattebaaz::exec::rest::responses::ApiKeyCreds {
                api_key: registered.api_key.clone(),
                secret: registered.secret.clone(),
                passphrase: registered.passphrase.clone(),
            },
        }),
        kill: None,
        shared: shared.clone(),
        redeems_at_resolution: true,
        collateral_micros: sim.ledger_snapshot(&address).collateral,
    };
    let opts = EngineOptions {
        poll_mode: Some(poll),
        ..EngineOptions::against_simulator(&sim)
    };
    let cfg2 = cfg.clone();
    let engine_start_ms = sattebaaz::clock::wall_ms();
    let engine = std::thread::spawn(move || run_trading(&cfg2, opts, Some(plan)));
    let ours = measure(
        &sim,
        &args,
        PhaseSpec {
            name: "sattebaaz (mio, pre-signed templates)",
            note: format!("poll {}", if busy { "busy" } else { "blocking" }),
            maker: address.clone(),
            warmup: 2,
            min_start_ms: engine_start_ms,
        },
    );
    // Stop the engine as SIGINT would.
    let _ = signal_hook::low_level::raise(signal_hook::consts::SIGINT);
    let summary = engine.join().expect("engine thread");
    match &summary {
        Err(e) => eprintln!("wire_to_wire: engine ended with an error: {e}"),
        Ok(s) if std::env::var_os("W2W_DEBUG").is_some() => {
            eprintln!(
                "engine's own stages (feeds):\n{}",
                s.hot.histograms.summary_table()
            );
            eprintln!(
                "send-path warming (writes, failed): {:?}",
                s.hot.send_warming
            );
            if let Some(t) = s.hot.trading.as_ref() {
                eprintln!("order-path warming passes: {}", t.order_path_warms);
                eprintln!(
                    "engine's own stages (trading):\n{}",
                    t.histograms.summary_table()
                );
                for o in t.tracker.iter() {
                    eprintln!(
                        "tracked order: state {:?} immediate {} size {} trade_filled {} venue_matched {}",
                        o.state, o.immediate, o.size, o.trade_filled, o.venue_matched
                    );
                }
                eprintln!("user channel: {:?}", t.user_channel);
                eprintln!(
                    "signed with a pooled nonce {}, with the deterministic fallback {}",
                    t.signed_pooled, t.signed_fallback
                );
                eprintln!(
                    "{}",
                    sattebaaz::engine::trading_report::render(
                        t,
                        true,
                        CAPITAL_MICRO,
                        &|_| None,
                        None
                    )
                );
            }
        }
        Ok(_) => {}
    }
    if let Some(reason) = shared.kill_reason() {
        println!("wire_to_wire: the engine's kill switch fired ({reason:?}); its orders stopped");
    }
    let mut phases = vec![ours];

    // --- the conventional bot ---
    match args.conventional.as_ref().filter(|p| p.exists()) {
        None => println!(
            "wire_to_wire: conventional bot not built ({}); skipped. Build it with \
             `cargo build --release --manifest-path bench/conventional/Cargo.toml` \
             (scripts/bench.sh does).",
            args.conventional
                .as_ref()
                .map_or("disabled".into(), |p| p.display().to_string())
        ),
        Some(bin) => {
            let (key_bytes, bot_signer) = random_key();
            let key_hex: String = key_bytes.iter().map(|b| format!("{b:02x}")).collect();
            let creds = sim.register_api_key(&bot_signer.address(), 0);
            let need = Duration::from_millis(
                (args.interval_ms + 150) * (args.samples as u64 + 10) + 10_000,
            );
            // The bot follows one window (no discovery of its own): all its samples must fit.
            let usable = Duration::from_millis(args.window_secs * 1000 * 78 / 100);
            let w = wait_tradeable(&sim, need.min(usable), 0);
            match spawn_conventional(bin, &sim, &w, key_hex, &creds, (cpus >= 2).then_some(1)) {
                Err(e) => println!("wire_to_wire: conventional bot failed to start: {e}"),
                Ok((mut child, bot_address)) => {
                    let phase = measure(
                        &sim,
                        &args,
                        PhaseSpec {
                            name: "conventional (tokio, tungstenite, reqwest, k256)",
                            note: if cpus >= 2 {
                                "runtime on CPU 1".into()
                            } else {
                                "one CPU".into()
                            },
                            maker: bot_address,
                            warmup: 2,
                            min_start_ms: 0,
                        },
                    );
                    let _ = child.kill();
                    let _ = child.wait();
                    phases.push(phase);
                }
            }
        }
    }

    // --- report ---
    let mut md = String::new();
    const HEAD: &str =
        "| implementation | samples | unpaired | unsolicited | p50 | p90 | p99 | p99.9 | max |\n\
         |---|---|---|---|---|---|---|---|---|\n";
    md.push_str(
        "Wire to wire: the frame's kernel transmit at the simulator's socket → the order's \
         kernel receive at the CLOB's socket:\n\n",
    );
    md.push_str(HEAD);
    let row = |p: &Phase, h: &Histogram<u64>| {
        format!(
            "| {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            p.name,
            p.note,
            h.len(),
            p.unpaired,
            p.unsolicited,
            pct(h, 0.50),
            pct(h, 0.90),
            pct(h, 0.99),
            pct(h, 0.999),
            if h.is_empty() {
                "—".into()
            } else {
                fmt_ns(h.max())
            },
        )
    };
    for p in &phases {
        md.push_str(&row(p, &p.hist));
    }
    md.push_str(
        "\nFrom the simulator's write start (before it seals the frame and calls `write`) to the \
         kernel receive at the CLOB:\n\n",
    );
    md.push_str(HEAD);
    for p in &phases {
        md.push_str(&row(p, &p.hist_start));
    }
    md.push_str(
        "\nFrom the simulator's write start to the CLOB's thread having read the whole request \
         (adds that thread's wake-up on the simulator's CPU):\n\n",
    );
    md.push_str(HEAD);
    for p in &phases {
        md.push_str(&row(p, &p.hist_read));
    }
    for p in phases.iter().filter(|p| p.no_rx > 0 || p.no_tx > 0) {
        md.push_str(&format!(
            "\n{}: {} samples without a kernel receive time (their read time stands in for the \
             second and third tables), {} without both kernel times (not in the first)\n",
            p.name, p.no_rx, p.no_tx
        ));
    }
    if let [a, b] = &phases[..] {
        if !a.hist.is_empty() && !b.hist.is_empty() {
            let ratio =
                b.hist.value_at_quantile(0.99) as f64 / a.hist.value_at_quantile(0.99) as f64;
            let p50 = b.hist.value_at_quantile(0.5) as f64 / a.hist.value_at_quantile(0.5) as f64;
            md.push_str(&format!(
                "\np99(conventional) / p99(sattebaaz) = **{ratio:.1}×** (p50 ratio {p50:.1}×)\n"
            ));
        }
    }
    println!("{md}");
    if let Some(path) = &args.markdown_out {
        if let Err(e) = std::fs::write(path, &md) {
            eprintln!("wire_to_wire: writing {}: {e}", path.display());
        }
    }
    let _ = std::fs::remove_dir_all(&run_dir);
    if args.full {
        return;
    }
    // Smoke run: the engine answered injected jumps with orders.
    let ours = &phases[0];
    assert!(
        !ours.hist_start.is_empty(),
        "sattebaaz answered no injected jump ({} unpaired)",
        ours.unpaired
    );
}
