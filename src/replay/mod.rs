//! `sattebaaz replay`: deterministic backtests of the engine's decision path on recorded data.
//!
//! `source` loads inputs (the engine's recordings and the shared data formats) and merges them
//! onto one virtual clock (optionally spliced); `engine` drives the engine's own components on
//! that clock against `venue` (the recorded books as the crowd's liquidity, a fixed order
//! latency); `report` writes `summary.json`, `orders.log` and `report.html`.
//!
//! Invariants: the same inputs and configuration give byte-identical `orders.log` and
//! `summary.json` (no wall clock, no hash-map iteration, no randomness); the progress bar goes
//! to stderr only when stderr is a terminal and never into the outputs.

pub mod engine;
pub mod report;
pub mod source;
pub mod venue;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use self::engine::ReplayEngine;
use self::report::{
    max_drawdown, InputSummary, MarketSummary, ReplaySummary, SourceSummary, StrategySummary,
};
use self::source::{Clocking, Source};
use crate::book::Outcome;
use crate::config::Config;
use crate::strategy::intent::StrategyId;

/// How a replay runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    pub inputs: Vec<PathBuf>,
    /// Orders (and cancels) reach the book this long after the decision.
    pub latency_ms: u64,
    /// Where `summary.json`, `orders.log` and `report.html` go.
    pub out_dir: PathBuf,
    /// Shift sources without markets onto the market sources' clock.
    pub splice: bool,
    /// With `splice`: they start this long before the first market window.
    pub splice_lead_secs: u64,
    /// Draw a progress bar on stderr (only if stderr is a terminal).
    pub progress: bool,
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no inputs")]
    NoInputs,
    #[error("input {0}")]
    Source(#[from] source::SourceError),
    #[error("{0}: not an engine recording (a directory with index.txt)")]
    NotARecording(PathBuf),
    #[error("{0}: the recording holds no decision journal (recorded without trading?)")]
    NoJournal(PathBuf),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a replay produced.
#[derive(Debug, Clone)]
pub struct ReplayOutcome {
    pub summary: ReplaySummary,
    pub summary_path: PathBuf,
    pub orders_path: PathBuf,
    pub report_path: PathBuf,
}

fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::Up => "up",
        Outcome::Down => "down",
    }
}

/// What a decision check produced.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub stats: engine::CheckStats,
    /// `decision_check.json`.
    pub path: PathBuf,
}

/// Re-drive the trading run recorded in `recording` at the points of its decision journal and
/// compare every decision (`engine` check mode); writes `decision_check.json` into `out_dir`.
pub fn check_decisions(
    cfg: &Config,
    recording: &Path,
    out_dir: &Path,
) -> Result<CheckOutcome, ReplayError> {
    let fee = u32::try_from(cfg.signals.default_taker_fee_rate_ppm).unwrap_or(0);
    let mut sources = vec![source::load(recording, fee)?];
    if sources[0].kind != source::SourceKind::EngineRecording {
        return Err(ReplayError::NotARecording(recording.to_path_buf()));
    }
    let events = source::merge(&mut sources, Clocking::AsRecorded);
    if !events
        .iter()
        .any(|e| matches!(e.payload, source::Payload::Journal(_)))
    {
        return Err(ReplayError::NoJournal(recording.to_path_buf()));
    }
    let mut engine = ReplayEngine::new_checking(cfg);
    for ev in events {
        engine.on_event(ev);
    }
    let stats = engine.check_stats().cloned().unwrap_or_default();
    std::fs::create_dir_all(out_dir).map_err(|source| ReplayError::Write {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let path = out_dir.join("decision_check.json");
    let mut json = serde_json::to_string_pretty(&stats).unwrap_or_default();
    json.push('\n');
    write_file(&path, json.as_bytes())?;
    Ok(CheckOutcome { stats, path })
}

/// Run a replay with `cfg` (strategies, risk, signals, allocator, markets) per `opts`.
pub fn run(cfg: &Config, opts: &ReplayOptions) -> Result<ReplayOutcome, ReplayError> {
    if opts.inputs.is_empty() {
        return Err(ReplayError::NoInputs);
    }
    let mut sources: Vec<Source> = Vec::with_capacity(opts.inputs.len());
    for p in &opts.inputs {
        let fee = u32::try_from(cfg.signals.default_taker_fee_rate_ppm).unwrap_or(0);
        sources.push(source::load(p, fee)?);
    }
    let clocking = if opts.splice {
        Clocking::Spliced {
            lead_ns: opts.splice_lead_secs.saturating_mul(1_000_000_000),
        }
    } else {
        Clocking::AsRecorded
    };
    let events = source::merge(&mut sources, clocking);
    let mut engine = ReplayEngine::new(cfg, opts.latency_ms.saturating_mul(1_000_000));
    let total = events.len();
    let show = opts.progress && std::io::stderr().is_terminal() && total > 0;
    let mut last_pct = u64::MAX;
    for (i, ev) in events.into_iter().enumerate() {
        engine.on_event(ev);
        if show {
            let pct = (i as u64 + 1) * 100 / total as u64;
            if pct != last_pct {
                last_pct = pct;
                let filled = (pct / 2) as usize;
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\rreplay [{}{}] {pct:>3}% {}/{total} events",
                    "#".repeat(filled),
                    " ".repeat(50 - filled),
                    i + 1
                );
                let _ = err.flush();
            }
        }
    }
    if show {
        let _ = writeln!(std::io::stderr());
    }
    engine.finish();
    let summary = summarise(cfg, opts, &sources, &engine);
    write_outputs(opts, summary, &engine)
}

fn summarise(
    _cfg: &Config,
    opts: &ReplayOptions,
    sources: &[Source],
    engine: &ReplayEngine,
) -> ReplaySummary {
    let figures = engine.figures();
    let mut strategies = Vec::with_capacity(StrategyId::COUNT);
    for s in StrategyId::ALL {
        let k = engine.strategies[s.index()];
        let f = figures.map(|f| f.strategies[s.index()]).unwrap_or_default();
        let dd = max_drawdown(engine.equity.iter().map(|e| e.pnl_micro[s.index()]));
        strategies.push(StrategySummary {
            name: s.name(),
            intents: f.intents,
            refused_local: k.refused_local,
            dropped_by_orchestrator: f.dropped,
            orders: k.orders,
            orders_filled: k.orders_filled,
            fill_rate: if k.orders > 0 {
                k.orders_filled as f64 / k.orders as f64
            } else {
                0.0
            },
            fills: k.fills,
            filled_micro: k.filled_micro,
            notional_micro: k.notional_micro,
            fees_micro: k.fees_micro,
            cancels: k.cancels,
            realised_micro: f.realised_micro,
            unrealised_micro: f.unrealised_micro,
            net_micro: f.realised_micro + f.unrealised_micro - f.fees_micro,
            max_drawdown_micro: dd,
        });
    }
    let markets: Vec<MarketSummary> = engine
        .markets
        .values()
        .map(|m| MarketSummary {
            slug: m.slug.clone(),
            start_s: m.start_s,
            end_s: m.end_s,
            decisions: m.decisions,
            orders: m.orders,
            fills: m.fills,
            filled_micro: m.filled_micro,
            fees_micro: m.fees_micro,
            winner: m.winner.map(outcome_text),
            oracle_winner: m.oracle_winner.map(outcome_text),
            payout_micro: m.payout_micro,
        })
        .collect();
    let spliced = opts.splice && sources.iter().any(|s| s.shift_ns != 0);
    let clock_note = if spliced {
        let shifted: Vec<String> = sources
            .iter()
            .filter(|s| s.shift_ns != 0)
            .map(|s| {
                format!(
                    "{} ({}) shifted by {} s",
                    s.path.display(),
                    s.kind.as_str(),
                    s.shift_ns / 1_000_000_000
                )
            })
            .collect();
        format!(
            "sources from different dates were put onto one clock: {}; market data of the \
             spliced sources did not happen at the same time",
            shifted.join("; ")
        )
    } else {
        "every source on its recorded clock".to_string()
    };
    let i = engine.input;
    let total_series = engine
        .equity
        .iter()
        .map(|e| e.pnl_micro.iter().sum::<i64>());
    ReplaySummary {
        format: "sattebaaz-replay-1",
        clock: if spliced { "spliced" } else { "as-recorded" },
        spliced,
        clock_note,
        latency_ms: opts.latency_ms,
        sources: sources
            .iter()
            .map(|s| SourceSummary {
                path: s.path.display().to_string(),
                kind: s.kind.as_str(),
                events: s.event_count,
                bad_records: s.bad_records,
                first_ns: s.span_ns.map(|x| x.0),
                last_ns: s.span_ns.map(|x| x.1),
                shift_ns: s.shift_ns,
                dropped_markets: s.dropped_markets,
            })
            .collect(),
        virtual_start_ns: engine.started_ns(),
        virtual_end_ns: engine.now_ns(),
        input: InputSummary {
            events: i.events,
            binance_frames: i.binance_frames,
            binance_errors: i.binance_errors,
            market_frames: i.market_frames,
            market_frame_errors: i.market_frame_errors,
            rtds_frames: i.rtds_frames,
            rtds_errors: i.rtds_errors,
            book_snapshots: i.snapshots,
            book_snapshot_errors: i.snapshot_errors,
            discovery_messages: i.discovery,
            markets_refused: i.markets_refused,
            decision_rounds: i.decisions,
            warm_candles_seeded: i.warm_candles,
            warm_histories_refused: i.warm_refused,
        },
        starting_collateral_micro: engine.starting_collateral_micro,
        ending_collateral_micro: engine.collateral_micro(),
        total_net_micro: strategies.iter().map(|s| s.net_micro).sum(),
        total_fees_micro: strategies.iter().map(|s| s.fees_micro).sum(),
        total_max_drawdown_micro: max_drawdown(total_series),
        strategies,
        markets_seen: markets.len() as u64,
        markets_evaluated: markets.iter().filter(|m| m.decisions > 0).count() as u64,
        markets_settled: markets.iter().filter(|m| m.winner.is_some()).count() as u64,
        oracle_disagreements: figures.map_or(0, |f| f.oracle_disagreements),
        drops: figures
            .map(|f| {
                crate::orchestrator::DropReason::NAMES
                    .iter()
                    .zip(f.drops.iter())
                    .filter(|(_, n)| **n > 0)
                    .map(|(name, n)| (*name, *n))
                    .collect()
            })
            .unwrap_or_default(),
        markets,
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReplayError> {
    std::fs::write(path, bytes).map_err(|source| ReplayError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn write_outputs(
    opts: &ReplayOptions,
    summary: ReplaySummary,
    engine: &ReplayEngine,
) -> Result<ReplayOutcome, ReplayError> {
    std::fs::create_dir_all(&opts.out_dir).map_err(|source| ReplayError::Write {
        path: opts.out_dir.clone(),
        source,
    })?;
    let summary_path = opts.out_dir.join("summary.json");
    let orders_path = opts.out_dir.join("orders.log");
    let report_path = opts.out_dir.join("report.html");
    let mut json = serde_json::to_string_pretty(&summary).unwrap_or_default();
    json.push('\n');
    write_file(&summary_path, json.as_bytes())?;
    let mut log = engine.log.join("\n");
    if !log.is_empty() {
        log.push('\n');
    }
    write_file(&orders_path, log.as_bytes())?;
    write_file(
        &report_path,
        report::html(&summary, &engine.equity).as_bytes(),
    )?;
    Ok(ReplayOutcome {
        summary,
        summary_path,
        orders_path,
        report_path,
    })
}
