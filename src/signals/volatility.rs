//! Volatility of one asset from closed 1-minute candles: ATR, the volatility regime, and the
//! realised (annualised) volatility.
//!
//! * ATR uses **Wilder's smoothing**: the first value is the simple mean of the first `period`
//!   true ranges, then `ATR = (ATR·(period − 1) + TR) / period`. TR = max(high − low,
//!   |high − prev close|, |low − prev close|); the first candle (no previous close) has
//!   TR = high − low. Values are f64 statistics in Binance price units (`PX_SCALE`, 1e-8).
//! * The regime compares the ATR with four per-asset boundaries in integer micro-dollars
//!   (strategy spec §3): ATR < b0 DEAD, b0 ≤ ATR < b1 LOW, b1 ≤ ATR < b2 MEDIUM,
//!   b2 ≤ ATR ≤ b3 HIGH, ATR > b3 EXTREME.
//! * Realised vol: 1-minute log returns between consecutive closed candles over a rolling window
//!   (a gap of k minutes is scaled by 1/√k to a per-minute return), sample standard deviation,
//!   annualised by √525600. Returns are quantised to 1e-15 and summed in exact `i128`, so the
//!   rolling sums never drift. Before `min_returns` returns the default annual vol is used.
//!
//! Invariants: fixed memory (the return window is a [`FixedRing`] of [`MAX_RV_WINDOW`]); each
//! candle is O(1); no allocation.

use super::ring::FixedRing;
use crate::feeds::binance::candles::{Candle, CANDLE_MS};

/// Minutes per year (365 days), the annualisation of per-minute statistics.
pub const MINUTES_PER_YEAR: f64 = 525_600.0;
/// Largest realised-vol window, in 1-minute returns.
pub const MAX_RV_WINDOW: usize = 1_440;
/// Binance price units (1e-8) per micro-dollar (1e-6).
pub const PX_PER_MICRO: i64 = 100;
/// Scale of the quantised log returns.
const RETURN_SCALE: f64 = 1e15;

/// Volatility regime (strategy spec §3), ordered from calm to wild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Regime {
    Dead = 0,
    Low = 1,
    Medium = 2,
    High = 3,
    Extreme = 4,
}

impl Regime {
    /// Every regime, in index order (the order of the config arrays).
    pub const ALL: [Regime; 5] = [
        Regime::Dead,
        Regime::Low,
        Regime::Medium,
        Regime::High,
        Regime::Extreme,
    ];

    /// Dense index (position in the config arrays).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Classify an ATR in Binance price units against boundaries in micro-dollars.
    #[inline]
    pub fn classify(atr_px: f64, thresholds_micro: &[i64; 4]) -> Regime {
        let b = |i: usize| (thresholds_micro[i].saturating_mul(PX_PER_MICRO)) as f64;
        if atr_px < b(0) {
            Regime::Dead
        } else if atr_px < b(1) {
            Regime::Low
        } else if atr_px < b(2) {
            Regime::Medium
        } else if atr_px <= b(3) {
            Regime::High
        } else {
            Regime::Extreme
        }
    }
}

/// True range of `c` given the previous close.
#[inline]
pub fn true_range(c: &Candle, prev_close: Option<i64>) -> i64 {
    let hl = c.high.saturating_sub(c.low);
    match prev_close {
        Some(p) => hl
            .max(c.high.saturating_sub(p).saturating_abs())
            .max(c.low.saturating_sub(p).saturating_abs()),
        None => hl,
    }
}

/// Wilder's ATR over closed candles.
#[derive(Debug, Clone, Copy)]
pub struct Atr {
    period: u32,
    prev_close: Option<i64>,
    seed_sum: f64,
    seed_count: u32,
    value: Option<f64>,
}

impl Atr {
    /// ATR of `period` candles (at least 1).
    pub fn new(period: u32) -> Self {
        Atr {
            period: period.max(1),
            prev_close: None,
            seed_sum: 0.0,
            seed_count: 0,
            value: None,
        }
    }

    /// Feed one closed candle; returns the ATR once `period` true ranges were seen.
    #[inline]
    pub fn on_candle(&mut self, c: &Candle) -> Option<f64> {
        let tr = true_range(c, self.prev_close) as f64;
        self.prev_close = Some(c.close);
        let n = f64::from(self.period);
        match self.value {
            Some(v) => self.value = Some((v * (n - 1.0) + tr) / n),
            None => {
                self.seed_sum += tr;
                self.seed_count += 1;
                if self.seed_count == self.period {
                    self.value = Some(self.seed_sum / n);
                }
            }
        }
        self.value
    }

    /// Current ATR (price units), once warmed up.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.value
    }
}

/// Rolling realised volatility of 1-minute log returns.
#[derive(Debug, Clone)]
pub struct RealisedVol {
    returns: FixedRing<i64, MAX_RV_WINDOW>,
    sum: i128,
    sum_sq: i128,
    min_returns: usize,
    prev: Option<(u64, i64)>,
}

impl RealisedVol {
    /// Window of `window` returns (clamped to `2..=MAX_RV_WINDOW`); an estimate from
    /// `min_returns` returns on (at least 2).
    pub fn new(window: u32, min_returns: u32) -> Self {
        let window = (window as usize).clamp(2, MAX_RV_WINDOW);
        RealisedVol {
            returns: FixedRing::new(window),
            sum: 0,
            sum_sq: 0,
            min_returns: (min_returns as usize).clamp(2, window),
            prev: None,
        }
    }

    /// The per-minute log return between two closes `minutes` apart, quantised.
    #[inline]
    fn quantised_return(prev_close: i64, close: i64, minutes: u64) -> Option<i64> {
        if prev_close <= 0 || close <= 0 || minutes == 0 {
            return None;
        }
        let r = (close as f64 / prev_close as f64).ln() / (minutes as f64).sqrt();
        r.is_finite().then(|| (r * RETURN_SCALE).round() as i64)
    }

    /// Feed one closed candle.
    #[inline]
    pub fn on_candle(&mut self, c: &Candle) {
        if let Some((prev_open, prev_close)) = self.prev {
            let minutes = c.open_ms.saturating_sub(prev_open) / CANDLE_MS;
            if let Some(q) = Self::quantised_return(prev_close, c.close, minutes) {
                if let Some(old) = self.returns.push(q) {
                    self.sum -= i128::from(old);
                    self.sum_sq -= i128::from(old) * i128::from(old);
                }
                self.sum += i128::from(q);
                self.sum_sq += i128::from(q) * i128::from(q);
            }
        }
        self.prev = Some((c.open_ms, c.close));
    }

    /// Returns in the window.
    pub fn samples(&self) -> usize {
        self.returns.len()
    }

    /// Annualised realised volatility (fraction), once `min_returns` returns are in.
    #[inline]
    pub fn annualised(&self) -> Option<f64> {
        let n = self.returns.len();
        if n < self.min_returns {
            return None;
        }
        let n_i = n as i128;
        // n·Σq² − (Σq)² is exact and ≥ 0; var = that / (n(n−1)) in quantised units squared.
        let num = (n_i * self.sum_sq - self.sum * self.sum).max(0) as f64;
        let var_per_min = num / (n as f64 * (n as f64 - 1.0)) / (RETURN_SCALE * RETURN_SCALE);
        let vol = (var_per_min * MINUTES_PER_YEAR).sqrt();
        vol.is_finite().then_some(vol)
    }

    /// The realised estimate, or `default_annual` until it is ready.
    #[inline]
    pub fn annualised_or(&self, default_annual: f64) -> f64 {
        self.annualised().unwrap_or(default_annual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candle(minute: u64, open: i64, high: i64, low: i64, close: i64) -> Candle {
        Candle {
            open_ms: minute * CANDLE_MS,
            open,
            high,
            low,
            close,
            ..Candle::default()
        }
    }

    const BTC: [i64; 4] = [15_000_000, 50_000_000, 150_000_000, 300_000_000];

    #[test]
    fn regime_boundaries() {
        let px = |dollars: f64| dollars * 1e8;
        assert_eq!(Regime::classify(px(14.99), &BTC), Regime::Dead);
        assert_eq!(Regime::classify(px(15.0), &BTC), Regime::Low);
        assert_eq!(Regime::classify(px(49.99), &BTC), Regime::Low);
        assert_eq!(Regime::classify(px(50.0), &BTC), Regime::Medium);
        assert_eq!(Regime::classify(px(149.99), &BTC), Regime::Medium);
        assert_eq!(Regime::classify(px(150.0), &BTC), Regime::High);
        assert_eq!(Regime::classify(px(300.0), &BTC), Regime::High);
        assert_eq!(Regime::classify(px(300.01), &BTC), Regime::Extreme);
        assert_eq!(Regime::classify(0.0, &BTC), Regime::Dead);
        // XRP: $0.001 = 1000 micro = 100_000 price units.
        let xrp = [1_000, 3_000, 8_000, 15_000];
        assert_eq!(Regime::classify(99_999.0, &xrp), Regime::Dead);
        assert_eq!(Regime::classify(100_000.0, &xrp), Regime::Low);
        assert_eq!(Regime::classify(1_500_001.0, &xrp), Regime::Extreme);
        for (i, r) in Regime::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }

    #[test]
    fn true_range_uses_the_previous_close() {
        let c = candle(1, 100, 110, 95, 105);
        assert_eq!(true_range(&c, None), 15);
        assert_eq!(true_range(&c, Some(130)), 35);
        assert_eq!(true_range(&c, Some(80)), 30);
        assert_eq!(true_range(&c, Some(100)), 15);
    }

    #[test]
    fn wilder_atr_seeds_with_the_mean_then_smooths() {
        let mut atr = Atr::new(3);
        // TRs: 10 (first: high − low), then 20 (|130 − 110|), then 6.
        assert_eq!(atr.on_candle(&candle(0, 100, 105, 95, 110)), None);
        assert_eq!(atr.on_candle(&candle(1, 110, 130, 115, 120)), None);
        assert_eq!(atr.on_candle(&candle(2, 120, 124, 118, 121)), Some(12.0));
        // Next TR 30: (12·2 + 30) / 3 = 18.
        assert_eq!(atr.on_candle(&candle(3, 121, 150, 120, 140)), Some(18.0));
        assert_eq!(atr.value(), Some(18.0));
    }

    #[test]
    fn realised_vol_annualises_sample_std_and_falls_back() {
        let mut rv = RealisedVol::new(3, 2);
        let closes = [100.0f64, 101.0, 100.0, 102.0, 101.5];
        for (i, c) in closes.iter().enumerate() {
            rv.on_candle(&candle(i as u64, 0, 0, 0, (*c * 1e8) as i64));
            if i < 2 {
                assert_eq!(rv.annualised(), None);
                assert_eq!(rv.annualised_or(0.55), 0.55);
            }
        }
        // The last 3 returns.
        let r: Vec<f64> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        let last = &r[1..];
        let mean = last.iter().sum::<f64>() / 3.0;
        let var = last.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0;
        let want = (var * MINUTES_PER_YEAR).sqrt();
        let got = rv.annualised().unwrap();
        assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
        assert_eq!(rv.samples(), 3);
    }

    #[test]
    fn a_gap_is_scaled_to_a_per_minute_return() {
        let mut a = RealisedVol::new(10, 2);
        let mut b = RealisedVol::new(10, 2);
        // a: returns of +1% and −1% one minute apart; b: the same log moves ×2 over 4 minutes.
        let up = (1.01f64 * 1e8) as i64;
        a.on_candle(&candle(0, 0, 0, 0, 100_000_000));
        a.on_candle(&candle(1, 0, 0, 0, up));
        a.on_candle(&candle(2, 0, 0, 0, 100_000_000));
        let up2 = (1.01f64.powi(2) * 1e8).round() as i64;
        b.on_candle(&candle(0, 0, 0, 0, 100_000_000));
        b.on_candle(&candle(4, 0, 0, 0, up2));
        b.on_candle(&candle(8, 0, 0, 0, 100_000_000));
        let (va, vb) = (a.annualised().unwrap(), b.annualised().unwrap());
        assert!((va - vb).abs() < 1e-6 * va, "{va} vs {vb}");
    }
}
