//! The `sattebaaz` command line: subcommands parse their arguments here and hand off to the
//! library. Exit codes: 0 success, 1 a reported error (bad config, failed start-up), 2 usage.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

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

#[derive(Subcommand)]
enum Command {
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
