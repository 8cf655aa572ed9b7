//! The `sattebaaz` command line: subcommands parse their arguments here and hand off to the
//! library. Exit codes: 0 success, 1 a reported error (bad config, failed start-up), 2 usage.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use sattebaaz::config::{Config, PollMode};
use sattebaaz::engine::feeds::BinanceUrls;
use sattebaaz::engine::{EngineOptions, EngineSummary};
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
    Demo {
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
    },
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
    },
    /// Validate a configuration file: prints every error as `<key.path>: <reason>` and exits 1,
    /// or prints `ok` and exits 0.
    CheckConfig {
        /// The file to check.
        path: PathBuf,
    },
    /// Run the venue simulator alone (Binance streams over TLS on loopback) until Ctrl-C or
    /// --duration; prints its URLs and the CA certificate to trust.
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    sattebaaz::clock::init();
    match cli.command {
        Command::Demo {
            duration,
            seed,
            config,
            poll,
            quiet,
        } => run_demo(duration, seed, &config, poll, quiet),
        Command::Monitor {
            config,
            duration,
            poll,
        } => run_monitor(&config, duration, poll),
        Command::CheckConfig { path } => check_config(&path),
        Command::Sim {
            seed,
            duration,
            ca_file,
            assets,
        } => run_sim(seed, duration, ca_file, assets),
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
    println!("simulator running (seed {seed}); trust CA {}", sim.ca_file().display());
    println!("  binance spot           {}", sim.binance_spot_url());
    println!("  binance futures public {}", sim.binance_futures_public_url());
    println!("  binance futures market {}", sim.binance_futures_market_url());
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

fn run_demo(
    duration: u64,
    seed: Option<u64>,
    config: &std::path::Path,
    poll: PollArg,
    quiet: bool,
) -> ExitCode {
    let Some(cfg) = load_config(config) else {
        return ExitCode::from(1);
    };
    let seed = seed.unwrap_or(cfg.sim.seed);
    let assets = sattebaaz::engine::feeds::configured_assets(&cfg)
        .iter()
        .map(|a| a.short_name().to_string())
        .collect();
    let mut sim = match Simulator::start(&SimOptions {
        seed,
        bind: cfg.sim.bind.to_string(),
        assets,
        ca_file: cfg.engine.run_dir.join("sim-ca.pem"),
        step: Duration::from_millis(5),
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: starting the simulator: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "demo: engine against the embedded simulator (seed {seed}, {duration} s, paper mode: \
         simulated venues, nothing leaves this machine)"
    );
    let opts = EngineOptions {
        binance: BinanceUrls {
            spot: sim.binance_spot_url(),
            futures_public: sim.binance_futures_public_url(),
            futures_market: sim.binance_futures_market_url(),
        },
        extra_ca: Some(sim.ca_file().to_path_buf()),
        poll_mode: poll.resolve(),
        duration: Some(Duration::from_secs(duration)),
        live_table: !quiet,
    };
    let result = sattebaaz::engine::run(&cfg, opts);
    sim.stop();
    finish(&cfg, result, "simulated")
}

fn run_monitor(config: &std::path::Path, duration: Option<u64>, poll: PollArg) -> ExitCode {
    let Some(cfg) = load_config(config) else {
        return ExitCode::from(1);
    };
    let opts = EngineOptions {
        binance: BinanceUrls::from_config(&cfg),
        extra_ca: None,
        poll_mode: poll.resolve(),
        duration: duration.map(Duration::from_secs),
        live_table: true,
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
    println!("threads: hot {}; risk {}", summary.hot_pin, summary.risk_pin);
    print!(
        "{}",
        sattebaaz::engine::table::render_table(
            &summary.risk,
            &summary.hot.net.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            summary.elapsed
        )
    );
    let s = &summary.hot.stats;
    println!(
        "totals ({data} data): {} messages, {} parse errors, {} hot->risk queue drops, \
         {} hung-loop checks failed, {:.1} s",
        s.messages,
        s.parse_errors,
        s.queue_drops,
        summary.risk.hot_stalls,
        summary.elapsed.as_secs_f64()
    );
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
