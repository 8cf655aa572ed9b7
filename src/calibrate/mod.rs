//! `sattebaaz calibrate`: the engine's fair-probability model P(Up) = Φ(d)
//! ([`crate::signals::fair::fair_p_up`]) scored on real settled markets.
//!
//! For every usable market and every sample time `start + k·sample_secs < end`, the model is fed
//! the latest oracle tick at or before the sample (the price input, converted exactly from 1e-18
//! to the model's 1e-8 units), the price to beat (the record's official strike, else the start
//! value reconstructed by the oracle module's settlement rule, [`windows::open_value`]) and the
//! time left; its P(Up) is scored against the record's official outcome, next to the naive 0.5
//! forecast and to the same model with a realised volatility from the trailing oracle ticks
//! ([`vol`]) in place of the configured default.
//!
//! Skips are counted, never guessed: a market without a fresh tick at its start
//! (`no_prices_around_start`, fresher than `oracle.max_age_ms`), without a strike and without
//! an exact start tick (`no_start_price`), or of another asset (`other_asset`) is skipped as a
//! whole; a sample whose latest tick is older than `oracle.max_age_ms` is skipped
//! (`stale_price`). Invariants: prices stay integers (i128 × 1e18, i64 × 1e-8) up to the model
//! call; only the scores are f64.

pub mod data;
pub mod metrics;
pub mod report;
pub mod vol;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::feeds::binance::records::Asset;
use crate::feeds::oracle::windows::{self, Missing, Outcome, SettlementRule};
use crate::feeds::oracle::TickRing;
use crate::signals::fair::fair_p_up;

use data::{LoadError, MarketLoad, MarketRecord, PriceLoad, PriceSeries};
use metrics::Scores;
pub use report::Report;

/// Oracle units (1e-18) per model price unit (1e-8).
const E18_PER_E8: i128 = 10_000_000_000;

/// First window start (2026-08-07 00:00 UTC) settled by the 60-second TWAP instead of the
/// Chainlink spot tick (protocol notes; `feeds::oracle::windows`).
pub const TWAP_RULE_FROM_S: u64 = 1_786_060_800;

/// Seconds of ticks around a window put into the settlement ring (start − margin ..= end +
/// margin); covers a 60 s TWAP lookback and stays inside the ring's 1024 s for 15-minute
/// windows.
const RING_MARGIN_S: u64 = 60;

/// Everything one calibration run needs.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrateOptions {
    pub prices: PathBuf,
    pub markets: PathBuf,
    /// Asset of the price file; markets of other assets are skipped.
    pub asset: Asset,
    /// Seconds between samples within a window (> 0).
    pub sample_secs: u64,
    /// The configured `signals.<asset>.default_annual_vol`.
    pub default_annual_vol: f64,
    /// The configured `oracle.max_age_ms`: an older latest tick is stale.
    pub max_price_age_ms: u64,
    /// Trailing seconds of ticks behind each realised-vol estimate.
    pub realised_vol_window_s: u64,
    /// Returns needed before the realised estimate replaces the default vol.
    pub realised_vol_min_returns: usize,
    /// Seconds between the prices of the realised-vol returns (1 = every tick).
    pub realised_vol_step_s: u64,
}

/// The settlement rule of a window starting at `start_s`.
pub fn settlement_rule(start_s: u64) -> SettlementRule {
    if start_s < TWAP_RULE_FROM_S {
        SettlementRule::SPOT_EXACT_CLOSE
    } else {
        SettlementRule::TWAP60_FULL
    }
}

/// An oracle price × 1e18 in the model's price units (1e-8), rounded half up; `None` when not
/// positive or out of `i64` range.
pub fn oracle_e18_to_px_e8(price_e18: i128) -> Option<i64> {
    if price_e18 <= 0 {
        return None;
    }
    let rounded = price_e18.checked_add(E18_PER_E8 / 2)? / E18_PER_E8;
    i64::try_from(rounded).ok()
}

/// Load both files and evaluate. Errors name the file that failed.
pub fn run(opts: &CalibrateOptions) -> Result<Report, LoadError> {
    let prices = data::load_prices(&opts.prices)?;
    let markets = data::load_markets(&opts.markets)?;
    Ok(evaluate(&prices, &markets, opts))
}

/// Strike versus the reconstructed start value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StrikeCheck {
    /// Used markets whose record has a strike.
    pub with_strike: u64,
    /// ... equal to the exact tick at the window start.
    pub strike_equals_start_value: u64,
    /// ... different from it.
    pub strike_differs_from_start_value: u64,
    /// ... with no exact start value to compare with.
    pub start_value_missing: u64,
    /// Used markets without a strike (the reconstructed start value was used).
    pub reconstructed: u64,
}

/// The official outcome versus the outcome by the settlement rule from the ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutcomeCheck {
    pub agree: u64,
    pub disagree: u64,
    /// The ticks cannot settle the window (closing tick missing, prices end early).
    pub undecidable: u64,
}

/// Scores of one slice of samples.
#[derive(Debug, Clone, Default)]
pub struct SliceScores {
    pub model: Scores,
    pub baseline: Scores,
    pub realised: Scores,
}

impl SliceScores {
    fn add(&mut self, p_model: f64, p_realised: f64, up: bool) {
        self.model.add(p_model, up);
        self.baseline.add(0.5, up);
        self.realised.add(p_realised, up);
    }
}

/// Everything counted by [`evaluate`] before it becomes a [`Report`].
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub markets_used: u64,
    /// Used markets that resolved Up.
    pub ups: u64,
    /// Markets (lines) skipped, by reason: the loader's and the evaluation's.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Sample times of the used markets (scored + skipped samples).
    pub sample_slots: u64,
    /// Used markets by window length in seconds.
    pub windows_by_length: BTreeMap<u64, u64>,
    /// Sample times skipped, by reason.
    pub samples_skipped: BTreeMap<&'static str, u64>,
    /// Scores over every sample.
    pub all: SliceScores,
    /// By whole minutes left at the sample (index 0 = under one minute left).
    pub by_minutes_left: Vec<SliceScores>,
    /// Samples with a realised-vol estimate.
    pub realised_estimated: u64,
    /// Samples that fell back to the default vol (too few trailing returns).
    pub realised_fallback: u64,
    /// Every realised-vol estimate used (for the median in the report).
    pub realised_vol_values: Vec<f64>,
    pub strike: StrikeCheck,
    pub outcome: OutcomeCheck,
}

/// Score the model on every usable market of `markets` with the ticks of `prices`.
pub fn evaluate(prices: &PriceLoad, markets: &MarketLoad, opts: &CalibrateOptions) -> Report {
    let mut ev = Evaluation::default();
    for (reason, n) in &markets.skipped.by_reason {
        *ev.skipped.entry(reason).or_insert(0) += n;
    }
    let step = opts.sample_secs.max(1);
    for m in &markets.records {
        if let Err(reason) = evaluate_market(&prices.series, m, opts, step, &mut ev) {
            *ev.skipped.entry(reason).or_insert(0) += 1;
        }
    }
    Report::new(opts, prices, markets, ev)
}

fn fresh_tick(series: &PriceSeries, s: u64, max_age_ms: u64) -> Option<data::Tick> {
    series
        .last_at_or_before(s)
        .filter(|t| (s - t.obs_s).saturating_mul(1000) <= max_age_ms)
}

fn evaluate_market(
    series: &PriceSeries,
    m: &MarketRecord,
    opts: &CalibrateOptions,
    step: u64,
    ev: &mut Evaluation,
) -> Result<(), &'static str> {
    if m.asset != opts.asset {
        return Err("other_asset");
    }
    let (start, end) = (m.window.start_s, m.window.end_s);
    if fresh_tick(series, start, opts.max_price_age_ms).is_none() {
        return Err("no_prices_around_start");
    }
    // The settlement ring of this window: the oracle module's own price-to-beat / settlement.
    let mut ring = TickRing::new();
    for t in series.range(
        start.saturating_sub(RING_MARGIN_S),
        end.saturating_add(RING_MARGIN_S),
    ) {
        ring.insert(t.obs_s, t.price_e18, true);
    }
    let twap_feed = TickRing::new();
    let rule = settlement_rule(start);
    let start_value: Result<i128, Missing> =
        windows::open_value(&ring, &twap_feed, start, rule).map(|b| b.value_e18());
    let price_to_beat = match (m.strike_e18, start_value) {
        (Some(k), _) => k,
        (None, Ok(v)) => v,
        (None, Err(_)) => return Err("no_start_price"),
    };
    match (m.strike_e18, start_value) {
        (Some(k), Ok(v)) => {
            ev.strike.with_strike += 1;
            if k == v {
                ev.strike.strike_equals_start_value += 1;
            } else {
                ev.strike.strike_differs_from_start_value += 1;
            }
        }
        (Some(_), Err(_)) => {
            ev.strike.with_strike += 1;
            ev.strike.start_value_missing += 1;
        }
        (None, _) => ev.strike.reconstructed += 1,
    }
    match windows::settle_against(&ring, &twap_feed, price_to_beat, end, rule) {
        Ok(s) if s.outcome == m.outcome => ev.outcome.agree += 1,
        Ok(_) => ev.outcome.disagree += 1,
        Err(_) => ev.outcome.undecidable += 1,
    }

    ev.markets_used += 1;
    let up = m.outcome == Outcome::Up;
    ev.ups += u64::from(up);
    let slots = (end - start).div_ceil(step);
    ev.sample_slots += slots;
    *ev.windows_by_length.entry(end - start).or_insert(0) += 1;
    for k in 0..slots {
        let t = start + k * step;
        let Some(tick) = fresh_tick(series, t, opts.max_price_age_ms) else {
            *ev.samples_skipped.entry("stale_price").or_insert(0) += 1;
            continue;
        };
        let ms_left = (end - t).saturating_mul(1000);
        let px_e8 = oracle_e18_to_px_e8(tick.price_e18);
        let model =
            |vol: f64| px_e8.and_then(|px| fair_p_up(px, Some(price_to_beat), vol, ms_left));
        let Some(p_model) = model(opts.default_annual_vol) else {
            *ev.samples_skipped.entry("model_undefined").or_insert(0) += 1;
            continue;
        };
        let trailing = series.range(
            t.saturating_sub(opts.realised_vol_window_s.saturating_sub(1)),
            t,
        );
        let realised = if opts.realised_vol_step_s <= 1 {
            vol::annualised(trailing, opts.realised_vol_min_returns)
        } else {
            vol::annualised_sampled(
                trailing,
                t,
                opts.realised_vol_step_s,
                opts.realised_vol_min_returns,
            )
        };
        let p_realised = match realised.and_then(|v| model(v).map(|p| (v, p))) {
            Some((v, p)) => {
                ev.realised_estimated += 1;
                ev.realised_vol_values.push(v);
                p
            }
            None => {
                ev.realised_fallback += 1;
                p_model
            }
        };
        ev.all.add(p_model, p_realised, up);
        let minute = ((end - t - 1) / 60) as usize;
        if ev.by_minutes_left.len() <= minute {
            ev.by_minutes_left
                .resize_with(minute + 1, SliceScores::default);
        }
        if let Some(slice) = ev.by_minutes_left.get_mut(minute) {
            slice.add(p_model, p_realised, up);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::oracle::Window;
    use data::{SkipCounts, Tick};

    const S: u64 = 1_780_876_800;
    const E18: i128 = 1_000_000_000_000_000_000;

    #[test]
    fn e18_to_e8_rounds_half_up() {
        assert_eq!(
            oracle_e18_to_px_e8(63_304_200_301_195_075_000_000),
            Some(6_330_420_030_120)
        );
        assert_eq!(oracle_e18_to_px_e8(14_999_999_999), Some(1));
        assert_eq!(oracle_e18_to_px_e8(15_000_000_000), Some(2));
        assert_eq!(oracle_e18_to_px_e8(0), None);
        assert_eq!(oracle_e18_to_px_e8(-1), None);
        assert_eq!(oracle_e18_to_px_e8(i128::MAX), None);
        assert_eq!(settlement_rule(S), SettlementRule::SPOT_EXACT_CLOSE);
        assert_eq!(
            settlement_rule(TWAP_RULE_FROM_S),
            SettlementRule::TWAP60_FULL
        );
    }

    fn opts() -> CalibrateOptions {
        CalibrateOptions {
            prices: PathBuf::from("p"),
            markets: PathBuf::from("m"),
            asset: Asset::Btc,
            sample_secs: 100,
            default_annual_vol: 0.55,
            max_price_age_ms: 5_000,
            realised_vol_window_s: 900,
            realised_vol_min_returns: 60,
            realised_vol_step_s: 1,
        }
    }

    fn market(start: u64, outcome: Outcome, strike: Option<i128>) -> MarketRecord {
        MarketRecord {
            line: 1,
            slug: format!("btc-updown-5m-{start}"),
            asset: Asset::Btc,
            window: Window::five_minute(start).unwrap(),
            outcome,
            strike_e18: strike,
        }
    }

    fn prices(ticks: Vec<Tick>) -> PriceLoad {
        let (series, _, _) = PriceSeries::from_unsorted(ticks);
        PriceLoad {
            rows: series.len() as u64,
            series,
            skipped: SkipCounts::default(),
            duplicates: 0,
            conflicts: 0,
        }
    }

    /// A window with three sample slots (0, 100, 200 s), a price rising 100 → 101 from t = 50,
    /// an official Up outcome; slot 200 has a stale price (ticks stop at 150 s).
    #[test]
    fn samples_skips_and_checks_by_hand() {
        let mut ticks = vec![Tick {
            obs_s: S,
            price_e18: 100 * E18,
        }];
        for s in 50..=150 {
            ticks.push(Tick {
                obs_s: S + s,
                price_e18: 101 * E18,
            });
        }
        let p = prices(ticks);
        let markets = MarketLoad {
            records: vec![
                market(S, Outcome::Up, None),
                market(S + 300, Outcome::Down, Some(100 * E18)),
                market(S - 300, Outcome::Down, None),
            ],
            lines: 3,
            skipped: SkipCounts::default(),
        };
        let r = evaluate(&p, &markets, &opts());
        let ev = &r.evaluation;
        assert_eq!(ev.markets_used, 1);
        assert_eq!(ev.skipped.get("no_prices_around_start"), Some(&2));
        assert_eq!(ev.sample_slots, 3);
        assert_eq!(ev.samples_skipped.get("stale_price"), Some(&1));
        assert_eq!(ev.all.model.count(), 2);
        // Slot 0: price = price to beat → 0.5; slot 100: +1% with 200 s left at 55% → ~1.
        let want0 = 0.25;
        let p1 = fair_p_up(10_100_000_000, Some(100 * E18), 0.55, 200_000).unwrap();
        let want = (want0 + (p1 - 1.0) * (p1 - 1.0)) / 2.0;
        assert!((ev.all.model.brier().unwrap() - want).abs() < 1e-15);
        assert_eq!(ev.all.baseline.brier(), Some(0.25));
        // Too few returns for a realised estimate: the realised variant fell back.
        assert_eq!(ev.realised_fallback, 2);
        assert_eq!(ev.all.realised.brier(), ev.all.model.brier());
        // No strike: reconstructed; the ticks cannot settle (no tick at the close).
        assert_eq!(ev.strike.reconstructed, 1);
        assert_eq!(ev.outcome.undecidable, 1);
        // Minute slices: slot 0 has 300 s left (minute 4), slot 100 has 200 s (minute 3).
        assert_eq!(ev.by_minutes_left[4].model.count(), 1);
        assert_eq!(ev.by_minutes_left[3].model.count(), 1);
    }

    #[test]
    fn strike_check_and_outcome_check() {
        // Ticks every second through both windows; second window opens at 99.
        let mut ticks = Vec::new();
        for s in 0..=700u64 {
            let px = if s < 300 { 100 } else { 99 };
            ticks.push(Tick {
                obs_s: S + s,
                price_e18: px * E18,
            });
        }
        let p = prices(ticks);
        let markets = MarketLoad {
            records: vec![
                // Strike equal to the start tick; close 99 < 100 → Down: agrees.
                market(S, Outcome::Down, Some(100 * E18)),
                // Strike differs from the start tick (99); close 99 ≥ 98.5 → Up, but the record
                // says Down: disagree.
                market(S + 300, Outcome::Down, Some(98 * E18 + E18 / 2)),
                // No start tick (no prices in the window at all) is skipped earlier.
            ],
            lines: 2,
            skipped: SkipCounts::default(),
        };
        let r = evaluate(&p, &markets, &opts());
        let ev = &r.evaluation;
        assert_eq!(ev.markets_used, 2);
        assert_eq!(ev.strike.with_strike, 2);
        assert_eq!(ev.strike.strike_equals_start_value, 1);
        assert_eq!(ev.strike.strike_differs_from_start_value, 1);
        assert_eq!(ev.outcome.agree, 1);
        assert_eq!(ev.outcome.disagree, 1);
        assert_eq!(ev.sample_slots, 6);
        assert!(ev.samples_skipped.is_empty());
        // 300 flat ticks before the second window's samples: realised vol is estimated.
        assert!(ev.realised_estimated > 0);
    }

    #[test]
    fn missing_start_tick_without_strike_is_no_start_price() {
        // Ticks at S−1 and from S+1: fresh at the start, but no exact tick at S.
        let mut ticks = vec![Tick {
            obs_s: S - 1,
            price_e18: 100 * E18,
        }];
        for s in 1..=300 {
            ticks.push(Tick {
                obs_s: S + s,
                price_e18: 100 * E18,
            });
        }
        let p = prices(ticks);
        let markets = MarketLoad {
            records: vec![market(S, Outcome::Up, None)],
            lines: 1,
            skipped: SkipCounts::default(),
        };
        let r = evaluate(&p, &markets, &opts());
        assert_eq!(r.evaluation.markets_used, 0);
        assert_eq!(r.evaluation.skipped.get("no_start_price"), Some(&1));
        let mut other = market(S, Outcome::Up, Some(100 * E18));
        other.asset = Asset::Eth;
        let markets = MarketLoad {
            records: vec![other],
            lines: 1,
            skipped: SkipCounts::default(),
        };
        let r = evaluate(&p, &markets, &opts());
        assert_eq!(r.evaluation.skipped.get("other_asset"), Some(&1));
        // A window at the end of the u64 range: skipped, no overflow.
        let markets = MarketLoad {
            records: vec![market(u64::MAX / 300 * 300 - 300, Outcome::Up, Some(E18))],
            lines: 1,
            skipped: SkipCounts::default(),
        };
        let r = evaluate(&p, &markets, &opts());
        assert_eq!(r.evaluation.skipped.get("no_prices_around_start"), Some(&1));
    }
}
