//! The `sattebaaz` command line: subcommands parse their arguments here and hand off to the
//! library. Exit codes: 0 success, 1 a reported error (bad config, failed start-up), 2 usage.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use sattebaaz::config::{Config, PollMode};
use sattebaaz::engine::feeds::BinanceUrls;
use sattebaaz::engine::{EngineOptions, EngineSummary, PolymarketUrls};
use sattebaaz::sim::{SimOptions, Simulator};

#[derive(Parser)]
#[command(
    name = "sattebaaz",
    version,
    about = "Low-latency trading engine for Polymarket crypto Up/Down markets",
    long_about = "Low-latency trading engine for Polymarket's short crypto \"Up or Down\" markets. \
                  One pinned hot thread busy-polls every venue socket; a second thread does risk \
                  and telemetry. `demo` runs the engine against the embedded venue simulator."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Poll mode override for commands that run the engine.
#[derive(Clone, Copy, clap::ValueEnum)]
enum PollArg {
    /// Zero-timeout busy polling (one core at 100%): for isolated cores.
    Busy,
    /// Short blocking poll (`poll.blocking_timeout_us`): for shared cores and laptops.
    Blocking,
    /// Whatever `poll.mode` in the configuration says.
    Config,
}

impl PollArg {
    fn resolve(self) -> Option<PollMode> {
        match self {
            PollArg::Busy => Some(PollMode::Busy),
            PollArg::Blocking => Some(PollMode::Blocking),
            PollArg::Config => None,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine against the embedded venue simulator (paper mode; nothing leaves this
    /// machine): live table per asset, then totals and latency histograms.
    Demo(DemoArgs),
    /// Watch the real venues configured in `[venues]` (market data only, no orders): the same
    /// live table as the demo, until Ctrl-C or --duration.
    Monitor {
        /// Configuration file.
        #[arg(long, default_value = "config.toml")]
        config: PathBuf,
        /// Stop after this many seconds.
        #[arg(long)]
        duration: Option<u64>,
        /// How the hot thread polls.
        #[arg(long, value_enum, default_value_t = PollArg::Config)]
        poll: PollArg,
        /// Record every raw inbound frame into this directory (`[record]` limits).
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Build and sign CLOB V2 orders for debugging (key from SATTEBAAZ_PRIVATE_KEY or
    /// SATTEBAAZ_PRIVATE_KEY_FILE).
    Order {
        #[command(subcommand)]
        command: OrderCommand,
    },
    /// Compute Polymarket authentication signatures for debugging.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Validate a configuration file: prints every error as `<key.path>: <reason>` and exits 1,
    /// or prints `ok` and exits 0.
    CheckConfig {
        /// The file to check.
        path: PathBuf,
    },
    /// Run the venue simulator alone (Binance streams, Polymarket market channel, RTDS, Gamma and
    /// CLOB market data, over TLS on loopback, real window lengths) until Ctrl-C or --duration;
    /// prints its URLs and the CA certificate to trust.
    Sim {
        /// Seed of the simulated world (same seed, same price paths).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
        /// Where to write the simulator's CA certificate.
        #[arg(long, default_value = "out/sim-ca.pem")]
        ca_file: PathBuf,
        /// Assets to simulate.
        #[arg(long, value_delimiter = ',', default_value = "btc,eth,sol,xrp")]
        assets: Vec<String>,
    },
    /// CLOB API credentials of the wallet key (SATTEBAAZ_PRIVATE_KEY or
    /// SATTEBAAZ_PRIVATE_KEY_FILE).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Run the engine in the configured `engine.mode`: paper (against the embedded simulator,
    /// with a generated key; orders go to the simulated CLOB), shadow (real feeds; orders built
    /// and signed, logged, never sent) or live (refused without a key, a reachable version-2
    /// CLOB and `engine.live_confirmed = true`). Until Ctrl-C or --duration.
    Run {
        /// Configuration file.
        #[arg(long, default_value = "config.toml")]
        config: PathBuf,
        /// Stop after this many seconds.
        #[arg(long)]
        duration: Option<u64>,
        /// How the hot thread polls (default: the configuration's).
        #[arg(long, value_enum)]
        poll: Option<PollArg>,
        /// Do not print the live table.
        #[arg(long)]
        quiet: bool,
        /// Record every raw inbound frame into this directory (`[record]` limits).
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Score the engine's fair-probability model P(Up) = Φ(d) on recorded settled markets:
    /// Brier score, log loss and a reliability table, against the naive 0.5 forecast and the
    /// same model with a realised volatility. Prints a table, or one JSON object with --json.
    Calibrate(CalibrateArgs),
    /// Backtest the engine's decision path (signals, strategies, orchestrator, pre-trade gate)
    /// on recorded data against the recorded books, on a virtual clock: deterministic
    /// `orders.log`, `summary.json` and a self-contained `report.html` in --out.
    Replay(ReplayArgs),
}

/// Arguments of `sattebaaz demo`.
#[derive(clap::Args)]
struct DemoArgs {
    /// Run for this many seconds.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Seed of the simulated world (default: `sim.seed` from the configuration).
    #[arg(long)]
    seed: Option<u64>,
    /// Configuration file.
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    /// How the hot thread polls. The demo shares its cores with the simulator, so it
    /// defaults to a short blocking poll.
    #[arg(long, value_enum, default_value_t = PollArg::Blocking)]
    poll: PollArg,
    /// Do not print the live table (totals are still printed).
    #[arg(long)]
    quiet: bool,
    /// Also write the trading report as JSON to this file.
    #[arg(long)]
    summary_json: Option<PathBuf>,
    /// Market window length in seconds for the simulator and the engine's discovery alike
    /// (default: `sim.window_secs_override`, 60 s in the shipped config so a 120 s demo
    /// sees window roll-overs; 0 = the real 300/900 s). Slugs keep their 5m/15m labels.
    #[arg(long)]
    window_secs: Option<u32>,
    /// Record every raw inbound frame and the decision journal into this directory
    /// (`[record]` limits); `replay --check-decisions` re-drives it.
    #[arg(long)]
    record: Option<PathBuf>,
}

/// Arguments of `sattebaaz replay`.
#[derive(clap::Args)]
struct ReplayArgs {
    /// Inputs: engine recordings (directories with `index.txt`), Binance frame files
    /// (`<ns> <json>` lines), Chainlink tick CSVs (markets file beside them), resolvedkit
    /// `books.jsonl.gz` (with `markets.jsonl` beside it), or directories holding those.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Configuration file (strategies, risk, signals, allocator, markets).
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    /// Orders and cancels reach the book this many milliseconds after the decision.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    latency_ms: u64,
    /// Output directory.
    #[arg(long, default_value = "out/replay")]
    out: PathBuf,
    /// Put sources of different dates onto one clock: sources without markets are shifted to
    /// start --splice-lead-secs before the first market window (the report says so).
    #[arg(long)]
    splice: bool,
    /// With --splice: seconds of the shifted sources before the first window.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    splice_lead_secs: u64,
    /// Instead of a backtest: re-drive one trading run's recording through the engine at the
    /// points its decision journal marks, with the run's own venue answers, and compare every
    /// decision with the run's. Exits 1 when any differs. Writes `decision_check.json`.
    #[arg(long, conflicts_with_all = ["splice", "latency_ms"])]
    check_decisions: bool,
}

/// Arguments of `sattebaaz calibrate`.
#[derive(clap::Args)]
struct CalibrateArgs {
    /// Chainlink price ticks: CSV with `feed_ts_ms` and `full_accuracy_value` columns,
    /// plain or gzip.
    #[arg(long)]
    prices: PathBuf,
    /// Settled markets: JSON lines (`start_sec`, `end_sec`, `outcome_prices`,
    /// `strike_value`, ...), plain or gzip.
    #[arg(long)]
    markets: PathBuf,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Seconds between samples within each window.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    sample_secs: u64,
    /// Configuration file (`signals.<asset>.default_annual_vol`, `oracle.max_age_ms`).
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    /// Asset of the price file; markets of other assets are skipped.
    #[arg(long, default_value = "btc", value_parser = ["btc", "eth", "sol", "xrp"])]
    asset: String,
    /// Trailing seconds of oracle ticks behind each realised-volatility estimate.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(2..=86400))]
    realised_vol_secs: u64,
    /// Returns needed before the realised estimate replaces the default vol.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(2..=86400))]
    realised_vol_min_returns: u64,
    /// Seconds between the prices of the realised-volatility returns (1 = every tick).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=3600))]
    realised_vol_step_secs: u64,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Derive (else create) the API credentials by L1 auth against `venues.polymarket.clob_url`
    /// and print them as `.env` lines. This prints the API secret: it is meant for you.
    Derive {
        /// Configuration file (for the CLOB URL and the extra CA file).
        #[arg(long, default_value = "config.toml")]
        config: PathBuf,
        /// L1 nonce (a different nonce gives different credentials).
        #[arg(long, default_value_t = 0)]
        nonce: u64,
    },
}

#[derive(Subcommand)]
enum OrderCommand {
    /// Print the exact `POST /order` JSON body of a limit order on one line (deterministic
    /// RFC 6979 signature; a random salt and the current time when not given).
    Build {
        /// Outcome token id (decimal).
        #[arg(long)]
        token_id: String,
        /// BUY or SELL.
        #[arg(long, value_parser = ["BUY", "SELL"])]
        side: String,
        /// Limit price, on the tick grid (e.g. 0.52).
        #[arg(long)]
        price: String,
        /// Size in shares (e.g. 100).
        #[arg(long)]
        size: String,
        /// Market tick size: 0.1, 0.01, 0.005, 0.0025, 0.001 or 0.0001.
        #[arg(long)]
        tick_size: String,
        /// The market is neg-risk (signs for the neg-risk exchange).
        #[arg(long)]
        neg_risk: bool,
        /// 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271 (deposit wallet).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3))]
        signature_type: u8,
        /// Funder (maker) address; defaults to the signer for type 0.
        #[arg(long)]
        funder: Option<String>,
        /// Salt (below 2^53); random when absent.
        #[arg(long)]
        salt: Option<u64>,
        /// Order timestamp in milliseconds; now when absent.
        #[arg(long)]
        timestamp_ms: Option<u64>,
        /// Expiration, unix seconds (GTD only; 0 = none).
        #[arg(long, default_value_t = 0)]
        expiration: u64,
        /// Builder code, bytes32 hex.
        #[arg(long)]
        builder: Option<String>,
        /// Metadata, bytes32 hex.
        #[arg(long)]
        metadata: Option<String>,
        /// GTC, GTD, FOK or FAK.
        #[arg(long, default_value = "GTC", value_parser = ["GTC", "GTD", "FOK", "FAK"])]
        order_type: String,
        /// Post-only (GTC/GTD only).
        #[arg(long)]
        post_only: bool,
        /// The API key that owns the order.
        #[arg(long, default_value = "")]
        owner: String,
    },
}

#[derive(Subcommand)]
enum AuthCommand {
    /// Print the L2 `POLY_SIGNATURE` (HMAC-SHA256 over timestamp + method + path + body).
    L2Sign {
        /// API secret, url-safe base64.
        #[arg(long)]
        secret: String,
        /// Unix seconds.
        #[arg(long)]
        timestamp: u64,
        /// HTTP method (GET, POST, DELETE...).
        #[arg(long)]
        method: String,
        /// Request path, e.g. /order.
        #[arg(long)]
        path: String,
        /// Exact request body bytes, if any.
        #[arg(long)]
        body: Option<String>,
    },
    /// Print the L1 ClobAuth EIP-712 signature (key from the environment).
    L1Sign {
        /// Unix seconds.
        #[arg(long)]
        timestamp: u64,
        /// Nonce.
        #[arg(long, default_value_t = 0)]
        nonce: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    sattebaaz::clock::init();
    match cli.command {
        Command::Demo(args) => run_demo(args),
        Command::Monitor {
            config,
            duration,
            poll,
            record,
        } => run_monitor(&config, duration, poll, record),
        Command::CheckConfig { path } => check_config(&path),
        Command::Order { command } => run_order(command),
        Command::Auth { command } => run_auth(command),
        Command::Sim {
            seed,
            duration,
            ca_file,
            assets,
        } => run_sim(seed, duration, ca_file, assets),
        Command::Keys { command } => run_keys(command),
        Command::Run {
            config,
            duration,
            poll,
            quiet,
            record,
        } => run_configured(&config, duration, poll, quiet, record),
        Command::Calibrate(args) => run_calibrate(args),
        Command::Replay(args) => run_replay(args),
    }
}

fn run_configured(
    config: &std::path::Path,
    duration: Option<u64>,
    poll: Option<PollArg>,
    quiet: bool,
    record: Option<PathBuf>,
) -> ExitCode {
    let Some(mut cfg) = load_config(config) else {
        return ExitCode::from(1);
    };
    apply_record_flag(&mut cfg, record);
    let secrets = match sattebaaz::config::secrets::load_from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let mode = cfg.engine.mode.as_str();
    println!("run: engine.mode = {mode}");
    let opts = sattebaaz::engine::modes::RunOptions {
        duration: duration.map(Duration::from_secs),
        live_table: !quiet,
        poll_mode: poll.and_then(PollArg::resolve),
        decider: None,
    };
    match sattebaaz::engine::modes::run(&cfg, &secrets, opts) {
        Ok(outcome) => {
            let data = if mode == "paper" { "simulated" } else { "live" };
            let code = finish(&cfg, Ok(outcome.summary), data);
            if let Some(report) = outcome.report {
                print!("{report}");
            }
            code
        }
        Err(e) => {
            eprintln!("error: {mode} mode refused or failed: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_keys(command: KeysCommand) -> ExitCode {
    use sattebaaz::exec::keys::{derive_or_create, env_lines, KeysOrigin};
    use sattebaaz::exec::rest::blocking::{connect, BlockingConfig};
    use sattebaaz::exec::signing::signer::EoaSigner;
    let KeysCommand::Derive { config, nonce } = command;
    let result = (|| -> Result<(String, KeysOrigin), String> {
        let cfg = sattebaaz::config::Config::load(&config).map_err(|e| e.to_string())?;
        let key = secret_key_bytes()?;
        let signer = EoaSigner::from_bytes(&key).map_err(|e| e.to_string())?;
        let tls = sattebaaz::net::tls::client_config(cfg.net.tls_extra_ca_path())
            .map_err(|e| e.to_string())?;
        let url = &cfg.venues.polymarket.clob_url;
        let mut clob = connect(
            url,
            tls,
            None,
            BlockingConfig::default(),
            sattebaaz::net::backoff::BackoffPolicy::default(),
        )
        .map_err(|e| format!("{url}: {e}"))?;
        if let Ok(server_s) = clob.server_time() {
            let local_s = sattebaaz::clock::wall_ns() / 1_000_000_000;
            clob.set_server_time_offset(server_s as i64 - local_s as i64);
        }
        let (creds, origin) =
            derive_or_create(&mut clob, &signer, nonce).map_err(|e| format!("{url}: {e}"))?;
        Ok((env_lines(&creds), origin))
    })();
    match result {
        Ok((lines, origin)) => {
            eprintln!(
                "{} API credentials (keep them secret):",
                match origin {
                    KeysOrigin::Derived => "derived existing",
                    KeysOrigin::Created => "created new",
                }
            );
            print!("{lines}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_sim(seed: u64, duration: Option<u64>, ca_file: PathBuf, assets: Vec<String>) -> ExitCode {
    let signals = match sattebaaz::runtime::signals::StopSignals::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: installing signal handlers: {e}");
            return ExitCode::from(1);
        }
    };
    let mut sim = match Simulator::start(&SimOptions {
        seed,
        bind: "127.0.0.1".into(),
        assets,
        ca_file,
        step: Duration::from_millis(5),
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "simulator running (seed {seed}); trust CA {}",
        sim.ca_file().display()
    );
    println!("  binance spot           {}", sim.binance_spot_url());
    println!(
        "  binance futures public {}",
        sim.binance_futures_public_url()
    );
    println!(
        "  binance futures market {}",
        sim.binance_futures_market_url()
    );
    println!("  polymarket market ws   {}", sim.polymarket_market_url());
    println!("  polymarket rtds        {}", sim.polymarket_rtds_url());
    println!("  gamma                  {}", sim.gamma_url());
    println!("  clob                   {}", sim.clob_url());
    println!("  polymarket user ws     {}", sim.polymarket_user_url());
    println!("  binance spot rest      {}", sim.binance_rest_url());
    let start = std::time::Instant::now();
    while !signals.stop_requested() {
        if duration.is_some_and(|d| start.elapsed() >= Duration::from_secs(d)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    sim.stop();
    println!("simulator stopped");
    ExitCode::SUCCESS
}

fn load_config(path: &std::path::Path) -> Option<Config> {
    match sattebaaz::config::check_config_file(path) {
        Ok(cfg) => Some(cfg),
        Err(errors) => {
            eprintln!("error: {} is not a valid configuration:", path.display());
            for e in errors {
                eprintln!("  {e}");
            }
            None
        }
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match load_config(path) {
        Some(_) => {
            println!("ok: {}", path.display());
            ExitCode::SUCCESS
        }
        None => ExitCode::from(1),
    }
}

fn run_demo(args: DemoArgs) -> ExitCode {
    let DemoArgs {
        duration,
        seed,
        config,
        poll,
        quiet,
        window_secs,
        summary_json,
        record,
    } = args;
    let Some(mut cfg) = load_config(&config) else {
        return ExitCode::from(1);
    };
    apply_record_flag(&mut cfg, record);
    // The demo is a paper run: the embedded simulator, a generated wallet, every strategy.
    cfg.engine.mode = sattebaaz::config::schema::EngineMode::Paper;
    if let Some(seed) = seed {
        cfg.sim.seed = seed;
    }
    if let Some(w) = window_secs {
        cfg.sim.window_secs_override = w;
    }
    let windows = match cfg.sim.window_secs_override {
        0 => "real 5m/15m market windows".to_string(),
        secs => format!("{secs} s market windows"),
    };
    println!(
        "demo: engine against the embedded simulator (seed {}, {duration} s, {windows}, \
         paper mode: simulated venues, nothing leaves this machine; every strategy enabled)",
        cfg.sim.seed
    );
    let opts = sattebaaz::engine::modes::RunOptions {
        duration: Some(Duration::from_secs(duration)),
        live_table: !quiet,
        poll_mode: poll.resolve(),
        decider: None,
    };
    // Paper mode generates its own wallet: no key or credential is read.
    let secrets = sattebaaz::config::secrets::Secrets {
        private_key: None,
        api: None,
    };
    match sattebaaz::engine::modes::run(&cfg, &secrets, opts) {
        Ok(outcome) => {
            let json = outcome
                .summary
                .hot
                .trading
                .as_ref()
                .map(|t| sattebaaz::engine::trading_report::json(t, outcome.ledger_exact));
            let code = finish(&cfg, Ok(outcome.summary), "simulated");
            if let Some(report) = outcome.report {
                print!("{report}");
            }
            if let (Some(path), Some(json)) = (summary_json, json) {
                if let Err(e) = std::fs::write(&path, json.to_string()) {
                    eprintln!("error: writing {}: {e}", path.display());
                    return ExitCode::from(1);
                }
            }
            code
        }
        Err(e) => {
            eprintln!("error: demo failed: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_monitor(
    config: &std::path::Path,
    duration: Option<u64>,
    poll: PollArg,
    record: Option<PathBuf>,
) -> ExitCode {
    let Some(mut cfg) = load_config(config) else {
        return ExitCode::from(1);
    };
    apply_record_flag(&mut cfg, record);
    let opts = EngineOptions {
        binance: BinanceUrls::from_config(&cfg),
        polymarket: Some(PolymarketUrls::from_config(&cfg)),
        extra_ca: None,
        poll_mode: poll.resolve(),
        duration: duration.map(Duration::from_secs),
        live_table: true,
        window_secs_override: None,
    };
    let result = sattebaaz::engine::run(&cfg, opts);
    finish(&cfg, result, "live venue")
}

fn finish(
    cfg: &Config,
    result: Result<EngineSummary, sattebaaz::engine::EngineError>,
    data: &str,
) -> ExitCode {
    let mut summary = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    // The hot thread's own counters include bytes and reads, which events do not carry.
    summary.risk.net = summary.hot.net.iter().map(|(_, c)| *c).collect();
    println!();
    println!(
        "threads: hot {}; risk {}",
        summary.hot_pin, summary.risk_pin
    );
    match &summary.risk.mlockall {
        Some(Ok(())) => println!("memory: locked after warm-up (mlockall)"),
        Some(Err(e)) => println!("memory: mlockall failed, pages may fault: {e}"),
        None => {}
    }
    print!(
        "{}",
        sattebaaz::engine::table::render_table(
            &summary.risk,
            &summary.hot.net.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            summary.elapsed
        )
    );
    if let Some(r) = &summary.risk.record {
        println!(
            "recording {}: {} frames ({} raw bytes) in {} segments, {} seek points, {} discovery \
             messages, {} warm-up histories; dropped (ring full) {} frames; write errors {}{}",
            r.dir.display(),
            r.writer.frames,
            r.writer.raw_bytes,
            r.writer.segments,
            r.writer.seek_points,
            r.discovery,
            r.warmup,
            r.ring_dropped,
            r.write_errors,
            r.last_error
                .as_deref()
                .map(|e| format!(" (last: {e})"))
                .unwrap_or_default()
        );
    }
    let s = &summary.hot.stats;
    if let Some(p) = &summary.hot.poly {
        let c = &p.counters;
        println!(
            "polymarket: {} markets announced, {} resolved, {} retired, {} tracked at the end; \
             {} market-channel + {} RTDS messages; {} snapshots, {} level updates, {} resyncs \
             ({} markets' snapshots overdue), {} stale marks; {} subscribe frames ({} initial), \
             {} unsubscribes, {} send failures",
            c.new_markets,
            c.resolved,
            c.retired,
            p.tracked,
            c.market_messages,
            c.rtds_messages,
            p.books.snapshots,
            p.books.level_updates,
            c.resyncs,
            c.overdue_snapshots,
            p.books.stale_marks,
            c.dynamic_subscriptions + c.initial_subscriptions,
            c.initial_subscriptions,
            c.unsubscriptions,
            c.send_failures
        );
    }
    if let Some(d) = &summary.risk.discovery {
        println!(
            "discovery: {} discovered, {} gamma + {} clob requests, {} not listed yet, \
             {} invalid, {} transport errors, {} timeouts",
            d.discovered,
            d.gamma_requests,
            d.clob_requests,
            d.not_listed,
            d.gamma_invalid + d.clob_invalid + d.clob_mismatches,
            d.transport_errors,
            d.timeouts
        );
    }
    println!(
        "totals ({data} data): {} messages, {} parse errors, {} hot->risk queue drops, \
         {} hung-loop checks failed, {:.1} s",
        s.messages + s.messages_poly,
        s.parse_errors,
        s.queue_drops,
        summary.risk.hot_stalls,
        summary.elapsed.as_secs_f64()
    );
    let w = &summary.warmup;
    if w.requested > 0 {
        let fetched: Vec<String> = w
            .fetched
            .iter()
            .map(|(a, n)| format!("{} {n}", a.short_name()))
            .collect();
        println!(
            "warm-up: {} closed 1m candles asked per asset from {}; fetched: {}; {} seeded; \
             {} asset(s) started cold",
            w.requested,
            w.url,
            if fetched.is_empty() {
                "none".to_string()
            } else {
                fetched.join(", ")
            },
            summary.hot.warm_candles_seeded,
            w.failures.len() as u64 + summary.hot.warm_histories_refused
        );
        for (asset, reason) in &w.failures {
            println!("  cold: {}: {reason}", asset.short_name());
        }
    } else {
        println!("warm-up: off (signals.warmup_candles = 0)");
    }
    if let Some(t) = &summary.hot.trading {
        println!(
            "signals: {} market signal sets started, {} with a volatility regime at their first \
             update",
            t.signal_sets_started, t.signal_sets_warm_at_start
        );
    }
    if cfg.telemetry.print_summary {
        println!("latency (ns -> µs):");
        print!("{}", summary.hot.histograms.summary_table());
    }
    println!(
        "histograms: {} files in {}",
        summary.histogram_files.len(),
        cfg.histogram_path().display()
    );
    ExitCode::SUCCESS
}

/// The private key from the environment as 32 bytes, wiped on drop. A missing or unparsable key
/// is reported (without its text) and stops the command.
fn secret_key_bytes() -> Result<zeroize::Zeroizing<[u8; 32]>, String> {
    let secrets = sattebaaz::config::secrets::load_from_env().map_err(|e| e.to_string())?;
    let key = secrets.private_key.ok_or_else(|| {
        "no private key: set SATTEBAAZ_PRIVATE_KEY or SATTEBAAZ_PRIVATE_KEY_FILE".to_string()
    })?;
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&key.secret_key().to_bytes());
    Ok(out)
}

fn run_order(command: OrderCommand) -> ExitCode {
    use sattebaaz::exec::signing::amounts::Side;
    use sattebaaz::exec::signing::body::BodyKeyOrder;
    use sattebaaz::exec::signing::commands::{order_build, OrderBuildArgs};
    use sattebaaz::exec::signing::order::OrderType;
    let OrderCommand::Build {
        token_id,
        side,
        price,
        size,
        tick_size,
        neg_risk,
        signature_type,
        funder,
        salt,
        timestamp_ms,
        expiration,
        builder,
        metadata,
        order_type,
        post_only,
        owner,
    } = command;
    // clap restricts both values to the accepted spellings.
    let (Some(side), Some(order_type)) = (Side::parse(&side), OrderType::parse(&order_type)) else {
        eprintln!("error: bad --side or --order-type");
        return ExitCode::from(2);
    };
    let key = match secret_key_bytes() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let args = OrderBuildArgs {
        token_id: &token_id,
        side,
        price: &price,
        size: &size,
        tick_size: &tick_size,
        neg_risk,
        signature_type,
        funder: funder.as_deref(),
        // The unified SDK's salt: 53 random bits (a JSON-safe integer).
        salt: salt.unwrap_or_else(|| rand::random::<u64>() >> 11),
        timestamp_ms: timestamp_ms.unwrap_or_else(sattebaaz::clock::wall_ms),
        expiration,
        builder: builder.as_deref(),
        metadata: metadata.as_deref(),
        order_type,
        post_only,
        owner: &owner,
        key_order: BodyKeyOrder::PyClobClientV2,
    };
    match order_build(&key, &args) {
        Ok(built) => {
            println!("{}", built.body);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_auth(command: AuthCommand) -> ExitCode {
    use sattebaaz::exec::signing::commands::{auth_l1_sign, auth_l2_sign};
    let result = match command {
        AuthCommand::L2Sign {
            secret,
            timestamp,
            method,
            path,
            body,
        } => auth_l2_sign(&secret, timestamp, &method, &path, body.as_deref())
            .map_err(|e| e.to_string()),
        AuthCommand::L1Sign { timestamp, nonce } => secret_key_bytes()
            .and_then(|key| auth_l1_sign(&key, timestamp, nonce).map_err(|e| e.to_string())),
    };
    match result {
        Ok(sig) => {
            println!("{sig}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_calibrate(args: CalibrateArgs) -> ExitCode {
    use sattebaaz::calibrate::{self, CalibrateOptions};
    let Some(cfg) = load_config(&args.config) else {
        return ExitCode::from(1);
    };
    let Some(cfg_asset) = [
        sattebaaz::config::Asset::Btc,
        sattebaaz::config::Asset::Eth,
        sattebaaz::config::Asset::Sol,
        sattebaaz::config::Asset::Xrp,
    ]
    .into_iter()
    .find(|a| a.as_str() == args.asset) else {
        eprintln!("error: unknown asset {}", args.asset);
        return ExitCode::from(2);
    };
    let opts = CalibrateOptions {
        prices: args.prices,
        markets: args.markets,
        asset: sattebaaz::engine::market_view::feed_asset(cfg_asset),
        sample_secs: args.sample_secs,
        default_annual_vol: cfg.signals.asset(cfg_asset).default_annual_vol,
        max_price_age_ms: u64::from(cfg.oracle.max_age_ms),
        realised_vol_window_s: args.realised_vol_secs,
        realised_vol_min_returns: usize::try_from(args.realised_vol_min_returns)
            .unwrap_or(usize::MAX),
        realised_vol_step_s: args.realised_vol_step_secs,
    };
    match calibrate::run(&opts) {
        Ok(report) => {
            if args.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `--record <dir>` turns recording on for this run, into `dir`.
fn apply_record_flag(cfg: &mut Config, record: Option<PathBuf>) {
    if let Some(dir) = record {
        cfg.record.enabled = true;
        cfg.record.dir = dir;
    }
    if cfg.record.enabled {
        println!(
            "recording every inbound frame into {} (segments of at most {} bytes / {} s)",
            cfg.record.dir.display(),
            cfg.record.max_segment_bytes,
            cfg.record.max_segment_secs
        );
    }
}

fn run_replay(args: ReplayArgs) -> ExitCode {
    let Some(cfg) = load_config(&args.config) else {
        return ExitCode::from(1);
    };
    if args.check_decisions {
        return run_decision_check(&cfg, &args);
    }
    let opts = sattebaaz::replay::ReplayOptions {
        inputs: args.inputs,
        latency_ms: args.latency_ms,
        out_dir: args.out,
        splice: args.splice,
        splice_lead_secs: args.splice_lead_secs,
        progress: true,
    };
    match sattebaaz::replay::run(&cfg, &opts) {
        Ok(o) => {
            let s = &o.summary;
            if s.spliced {
                println!("replay (SPLICED): {}", s.clock_note);
            }
            println!(
                "replay: {} events, {} decision rounds, {} markets seen, {} evaluated, {} settled",
                s.input.events,
                s.input.decision_rounds,
                s.markets_seen,
                s.markets_evaluated,
                s.markets_settled
            );
            for st in &s.strategies {
                println!(
                    "  {:<9} orders {:>6} fills {:>6} fees {:>12} net {:>12} (micro-USD)",
                    st.name, st.orders, st.fills, st.fees_micro, st.net_micro
                );
            }
            println!(
                "wrote {}, {}, {}",
                o.summary_path.display(),
                o.orders_path.display(),
                o.report_path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: replay: {e}");
            ExitCode::from(1)
        }
    }
}

/// `replay --check-decisions`: one recording, its journal against the replayed decisions.
fn run_decision_check(cfg: &Config, args: &ReplayArgs) -> ExitCode {
    let [input] = args.inputs.as_slice() else {
        eprintln!("error: replay --check-decisions takes exactly one recording");
        return ExitCode::from(1);
    };
    match sattebaaz::replay::check_decisions(cfg, input, &args.out) {
        Ok(o) => {
            let s = &o.stats;
            println!(
                "decision check: {} journal entries; {} ticks replayed, {} identical, {} differ, \
                 {} could not run; {} ticks decided orders or cancels ({} orders, {} cancels); \
                 venue answers replayed: {} sent, {} refused, {} fills, {} closes; markets {} \
                 ({} mismatched), {} resolved, {} retired; journal gaps {}, lost {}",
                s.entries,
                s.ticks,
                s.ticks_matched,
                s.ticks_differing,
                s.ticks_unready,
                s.ticks_with_intents,
                s.orders_journaled,
                s.cancels_journaled,
                s.sent,
                s.refused,
                s.fills,
                s.closes,
                s.markets,
                s.markets_mismatched,
                s.resolved,
                s.retired,
                s.gaps,
                s.lost
            );
            for d in &s.differences {
                println!("  differs: {d}");
            }
            println!("wrote {}", o.path.display());
            if s.all_matched() {
                println!("every decision of the run was reproduced");
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: replay --check-decisions: {e}");
            ExitCode::from(1)
        }
    }
}
