//! The calibration report: one JSON object (`--json`) or a human-readable table.
//!
//! JSON keys (stable): `markets`, `samples`, `brier`, `log_loss`, `brier_baseline`,
//! `log_loss_baseline`, `brier_realised_vol`, `log_loss_realised_vol`, `reliability` (ten
//! rows), `reliability_realised_vol`, `skipped` (reason → markets), `samples_skipped`
//! (reason → samples), `sample_slots`, `samples_per_window` (window seconds → slots per
//! window), `by_minutes_left`, `strike_check`, `outcome_check`, `realised_vol`, `prices`,
//! and the inputs used. Scores of an empty sample set are `null`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Value};

use super::data::{MarketLoad, PriceLoad};
use super::metrics::{ReliabilityRow, LOG_LOSS_EPS};
use super::{CalibrateOptions, Evaluation, SliceScores};

/// A finished calibration run.
#[derive(Debug, Clone)]
pub struct Report {
    pub prices_file: String,
    pub markets_file: String,
    pub asset: &'static str,
    pub sample_secs: u64,
    pub default_annual_vol: f64,
    pub max_price_age_ms: u64,
    pub realised_vol_window_s: u64,
    pub realised_vol_min_returns: usize,
    pub realised_vol_step_s: u64,
    pub market_lines: u64,
    pub market_examples: Vec<String>,
    pub price_rows: u64,
    pub price_ticks: u64,
    pub price_first_s: Option<u64>,
    pub price_last_s: Option<u64>,
    pub price_skipped: BTreeMap<&'static str, u64>,
    pub price_examples: Vec<String>,
    pub price_duplicates: u64,
    pub price_conflicts: u64,
    pub evaluation: Evaluation,
}

#[derive(Serialize)]
struct SliceJson {
    minutes_left_from: u64,
    minutes_left_to: u64,
    samples: u64,
    brier: Option<f64>,
    log_loss: Option<f64>,
    brier_realised_vol: Option<f64>,
    log_loss_realised_vol: Option<f64>,
}

impl Report {
    pub(super) fn new(
        opts: &CalibrateOptions,
        prices: &PriceLoad,
        markets: &MarketLoad,
        evaluation: Evaluation,
    ) -> Report {
        let ticks = prices.series.ticks();
        Report {
            prices_file: opts.prices.display().to_string(),
            markets_file: opts.markets.display().to_string(),
            asset: opts.asset.short_name(),
            sample_secs: opts.sample_secs,
            default_annual_vol: opts.default_annual_vol,
            max_price_age_ms: opts.max_price_age_ms,
            realised_vol_window_s: opts.realised_vol_window_s,
            realised_vol_min_returns: opts.realised_vol_min_returns,
            realised_vol_step_s: opts.realised_vol_step_s,
            market_lines: markets.lines,
            market_examples: markets.skipped.examples.clone(),
            price_rows: prices.rows,
            price_ticks: ticks.len() as u64,
            price_first_s: ticks.first().map(|t| t.obs_s),
            price_last_s: ticks.last().map(|t| t.obs_s),
            price_skipped: prices.skipped.by_reason.clone(),
            price_examples: prices.skipped.examples.clone(),
            price_duplicates: prices.duplicates,
            price_conflicts: prices.conflicts,
            evaluation,
        }
    }

    /// Samples scored.
    pub fn samples(&self) -> u64 {
        self.evaluation.all.model.count()
    }

    fn realised_vol_median(&self) -> Option<f64> {
        let mut v = self.evaluation.realised_vol_values.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> Value {
        let ev = &self.evaluation;
        let all = &ev.all;
        let slices: Vec<SliceJson> = ev
            .by_minutes_left
            .iter()
            .enumerate()
            .map(|(m, s)| SliceJson {
                minutes_left_from: m as u64,
                minutes_left_to: m as u64 + 1,
                samples: s.model.count(),
                brier: s.model.brier(),
                log_loss: s.model.log_loss(),
                brier_realised_vol: s.realised.brier(),
                log_loss_realised_vol: s.realised.log_loss(),
            })
            .collect();
        let per_window: BTreeMap<String, u64> = ev
            .windows_by_length
            .keys()
            .map(|len| (len.to_string(), len.div_ceil(self.sample_secs.max(1))))
            .collect();
        json!({
            "prices_file": self.prices_file,
            "markets_file": self.markets_file,
            "asset": self.asset,
            "sample_secs": self.sample_secs,
            "default_annual_vol": self.default_annual_vol,
            "max_price_age_ms": self.max_price_age_ms,
            "log_loss_clamp": [LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS],
            "market_lines": self.market_lines,
            "markets": ev.markets_used,
            "markets_up": ev.ups,
            "skipped": ev.skipped,
            "skipped_examples": self.market_examples,
            "sample_slots": ev.sample_slots,
            "samples_per_window": per_window,
            "windows_by_length": ev.windows_by_length.iter()
                .map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<String, u64>>(),
            "samples": self.samples(),
            "samples_skipped": ev.samples_skipped,
            "brier": all.model.brier(),
            "log_loss": all.model.log_loss(),
            "brier_baseline": all.baseline.brier(),
            "log_loss_baseline": all.baseline.log_loss(),
            "brier_realised_vol": all.realised.brier(),
            "log_loss_realised_vol": all.realised.log_loss(),
            "reliability": all.model.reliability(),
            "reliability_realised_vol": all.realised.reliability(),
            "by_minutes_left": slices,
            "realised_vol": {
                "window_secs": self.realised_vol_window_s,
                "min_returns": self.realised_vol_min_returns,
                "step_secs": self.realised_vol_step_s,
                "samples_estimated": ev.realised_estimated,
                "samples_default_fallback": ev.realised_fallback,
                "median_annual": self.realised_vol_median(),
            },
            "strike_check": ev.strike,
            "outcome_check": ev.outcome,
            "prices": {
                "rows": self.price_rows,
                "ticks": self.price_ticks,
                "first_s": self.price_first_s,
                "last_s": self.price_last_s,
                "skipped": self.price_skipped,
                "skipped_examples": self.price_examples,
                "duplicates": self.price_duplicates,
                "conflicts": self.price_conflicts,
            },
        })
    }

    /// The report as human-readable text.
    pub fn to_text(&self) -> String {
        let ev = &self.evaluation;
        let mut o = String::new();
        let f = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |x| format!("{x:.6}"));
        let _ = writeln!(o, "calibration of fair P(Up) = Φ(d) on settled markets");
        let _ = writeln!(
            o,
            "  prices:  {}\n           {} rows, {} ticks",
            self.prices_file, self.price_rows, self.price_ticks
        );
        let _ = writeln!(
            o,
            "           rows skipped: {}; same-second duplicates {}, conflicts {}",
            fmt_counts(&self.price_skipped),
            self.price_duplicates,
            self.price_conflicts
        );
        let _ = writeln!(
            o,
            "  markets: {} ({} lines)",
            self.markets_file, self.market_lines
        );
        let _ = writeln!(
            o,
            "  asset {}, default annual vol {}, sample every {} s, stale after {} ms",
            self.asset, self.default_annual_vol, self.sample_secs, self.max_price_age_ms
        );
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "markets used        {:>8}   (Up {})",
            ev.markets_used, ev.ups
        );
        let _ = writeln!(
            o,
            "markets skipped     {:>8}   {}",
            ev.skipped.values().sum::<u64>(),
            fmt_counts(&ev.skipped)
        );
        let _ = writeln!(o, "sample slots        {:>8}", ev.sample_slots);
        let _ = writeln!(o, "samples scored      {:>8}", self.samples());
        let _ = writeln!(
            o,
            "samples skipped     {:>8}   {}",
            ev.samples_skipped.values().sum::<u64>(),
            fmt_counts(&ev.samples_skipped)
        );
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "forecaster                    Brier     log loss (p clamped to [1e-6, 1-1e-6])"
        );
        for (name, s) in [
            ("model, default vol", &ev.all.model),
            ("naive 0.5", &ev.all.baseline),
            ("model, realised vol", &ev.all.realised),
        ] {
            let _ = writeln!(
                o,
                "  {name:<24} {:>10} {:>10}",
                f(s.brier()),
                f(s.log_loss())
            );
        }
        let _ = writeln!(
            o,
            "  realised vol: trailing {} s, returns every {} s (scaled per second), ≥ {} returns; estimated for {} samples (median {}), default for {}",
            self.realised_vol_window_s,
            self.realised_vol_step_s,
            self.realised_vol_min_returns,
            ev.realised_estimated,
            self.realised_vol_median().map_or_else(|| "-".into(), |v| format!("{v:.3}")),
            ev.realised_fallback
        );
        let _ = writeln!(o);
        reliability_table(
            &mut o,
            "reliability, model with default vol",
            &ev.all.model.reliability(),
        );
        reliability_table(
            &mut o,
            "reliability, model with realised vol",
            &ev.all.realised.reliability(),
        );
        let _ = writeln!(
            o,
            "by minutes left       samples      Brier   log loss   Brier(rv)  log loss(rv)"
        );
        for (m, s) in ev.by_minutes_left.iter().enumerate() {
            slice_row(&mut o, m, s, &f);
        }
        let _ = writeln!(o);
        let sc = &ev.strike;
        let _ = writeln!(
            o,
            "strike check: {} with strike ({} equal to the start tick, {} different, {} without a start tick), {} reconstructed",
            sc.with_strike, sc.strike_equals_start_value, sc.strike_differs_from_start_value, sc.start_value_missing, sc.reconstructed
        );
        let oc = &ev.outcome;
        let _ = writeln!(
            o,
            "outcome check (settlement rule on the ticks vs official): {} agree, {} disagree, {} undecidable",
            oc.agree, oc.disagree, oc.undecidable
        );
        if !self.market_examples.is_empty() {
            let _ = writeln!(
                o,
                "skipped market lines (first {}):",
                self.market_examples.len()
            );
            for e in &self.market_examples {
                let _ = writeln!(o, "  {e}");
            }
        }
        if !self.price_examples.is_empty() {
            let _ = writeln!(
                o,
                "skipped price rows (first {}):",
                self.price_examples.len()
            );
            for e in &self.price_examples {
                let _ = writeln!(o, "  {e}");
            }
        }
        o
    }
}

fn fmt_counts(m: &BTreeMap<&'static str, u64>) -> String {
    if m.is_empty() {
        return "none".to_string();
    }
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn reliability_table(o: &mut String, title: &str, rows: &[ReliabilityRow]) {
    let _ = writeln!(o, "{title}");
    let _ = writeln!(o, "  bucket         count   mean predicted   observed Up");
    for r in rows {
        let close = if r.hi >= 1.0 { ']' } else { ')' };
        let mp = r
            .mean_predicted
            .map_or_else(|| "-".into(), |v| format!("{v:.4}"));
        let of = r
            .observed_frequency
            .map_or_else(|| "-".into(), |v| format!("{v:.4}"));
        let _ = writeln!(
            o,
            "  [{:.1}, {:.1}{close}  {:>8}   {mp:>14}   {of:>11}",
            r.lo, r.hi, r.count
        );
    }
    let _ = writeln!(o);
}

fn slice_row(o: &mut String, minute: usize, s: &SliceScores, f: &dyn Fn(Option<f64>) -> String) {
    let _ = writeln!(
        o,
        "  [{minute}, {}) min      {:>8} {:>10} {:>10} {:>11} {:>13}",
        minute + 1,
        s.model.count(),
        f(s.model.brier()),
        f(s.model.log_loss()),
        f(s.realised.brier()),
        f(s.realised.log_loss())
    );
}
