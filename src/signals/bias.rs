//! The bias detector (strategy spec §3): five inputs, each normalised to [−1, 1] (positive =
//! Up), weighted into a score in [−1, 1]; |score| > threshold gives a direction with
//! confidence |score|.
//!
//! Normalisations (all pure functions of the inputs, O(1)):
//! * 1-minute momentum m = (close − previous close) / previous close: 0 while |m| ≤ weak,
//!   else sign(m)·min(|m| / strong, 1) (so a weak move scores weak/strong ≈ 0.33, a strong one 1).
//! * EMA: (EMA fast − EMA slow) / close, scaled by `ema_full_scale` and clamped.
//! * Order-flow delta over 60 s: (taker buy − taker sell) / (buy + sell) — already in [−1, 1].
//! * Funding rate f (contrarian): 0 while |f| ≤ extreme, else −sign(f)·min(|f| / full, 1).
//! * Liquidations over 60 s: −clamp((longs − shorts) / cascade, −1, 1) in notional; longs being
//!   liquidated are forced sells, so ≥ cascade of longs is a full down (−1) reading.
//!
//! An input that is not available yet (no previous close, EMAs warming up, no trades, no funding
//! record) contributes 0; the weights are not renormalised, so a partial picture gives a weaker
//! score. Invariants: the score is finite and in [−1, 1]; no allocation.

/// Direction of a bias (or of any directional signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Up,
    Down,
}

/// Bias parameters (fractions, not percent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiasParams {
    pub momentum_weak: f64,
    pub momentum_strong: f64,
    pub ema_full_scale: f64,
    pub funding_extreme: f64,
    pub funding_full_scale: f64,
    /// Net liquidation notional of a full cascade, Binance quote units (1e-8 USDT).
    pub liquidation_cascade_px: i64,
    /// Weights of momentum, EMA, flow, funding, liquidation.
    pub weights: [f64; 5],
    pub threshold: f64,
}

/// Raw inputs, straight from the feed state and the candle-level indicators.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BiasInputs {
    /// Last two closed 1-minute closes (previous, latest), price units.
    pub closes: Option<(i64, i64)>,
    pub ema_fast: Option<f64>,
    pub ema_slow: Option<f64>,
    /// Taker buy and sell base volume over 60 s.
    pub flow_buy: i64,
    pub flow_sell: i64,
    /// Funding rate as a fraction (0.0005 = 0.05%).
    pub funding: Option<f64>,
    /// Liquidated notional over 60 s: longs (SELL orders) and shorts (BUY orders), quote units.
    pub liq_longs: i64,
    pub liq_shorts: i64,
}

/// The detector's output.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BiasReading {
    /// Normalised momentum, EMA, flow, funding, liquidation inputs.
    pub components: [f64; 5],
    pub score: f64,
    /// Set when |score| > threshold.
    pub direction: Option<Direction>,
    /// |score|.
    pub confidence: f64,
}

#[inline]
fn dead_zone(x: f64, dead: f64, full: f64) -> f64 {
    if !x.is_finite() || x.abs() <= dead || full <= 0.0 {
        return 0.0;
    }
    x.signum() * (x.abs() / full).min(1.0)
}

#[inline]
fn clamp_unit(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// Normalised 1-minute momentum.
#[inline]
pub fn momentum_input(prev_close: i64, close: i64, p: &BiasParams) -> f64 {
    if prev_close <= 0 {
        return 0.0;
    }
    let m = (close - prev_close) as f64 / prev_close as f64;
    dead_zone(m, p.momentum_weak, p.momentum_strong)
}

/// Normalised EMA spread.
#[inline]
pub fn ema_input(fast: f64, slow: f64, close: i64, p: &BiasParams) -> f64 {
    if close <= 0 || p.ema_full_scale <= 0.0 {
        return 0.0;
    }
    clamp_unit((fast - slow) / close as f64 / p.ema_full_scale)
}

/// Order-flow delta in [−1, 1].
#[inline]
pub fn flow_input(buy: i64, sell: i64) -> f64 {
    let total = buy.saturating_add(sell);
    if total <= 0 {
        return 0.0;
    }
    clamp_unit((buy - sell) as f64 / total as f64)
}

/// Contrarian funding input.
#[inline]
pub fn funding_input(rate: f64, p: &BiasParams) -> f64 {
    -dead_zone(rate, p.funding_extreme, p.funding_full_scale)
}

/// Liquidation imbalance input (long liquidations push down).
#[inline]
pub fn liquidation_input(longs: i64, shorts: i64, p: &BiasParams) -> f64 {
    if p.liquidation_cascade_px <= 0 {
        return 0.0;
    }
    -clamp_unit(longs.saturating_sub(shorts) as f64 / p.liquidation_cascade_px as f64)
}

/// Score the inputs.
#[inline]
pub fn evaluate(i: &BiasInputs, p: &BiasParams) -> BiasReading {
    let momentum = i
        .closes
        .map_or(0.0, |(prev, last)| momentum_input(prev, last, p));
    let ema = match (i.ema_fast, i.ema_slow, i.closes) {
        (Some(f), Some(s), Some((_, last))) => ema_input(f, s, last, p),
        _ => 0.0,
    };
    let components = [
        momentum,
        ema,
        flow_input(i.flow_buy, i.flow_sell),
        i.funding.map_or(0.0, |f| funding_input(f, p)),
        liquidation_input(i.liq_longs, i.liq_shorts, p),
    ];
    let mut score = 0.0;
    for (c, w) in components.iter().zip(p.weights.iter()) {
        score += c * w;
    }
    let score = clamp_unit(score);
    let confidence = score.abs();
    let direction = (confidence > p.threshold).then_some(if score > 0.0 {
        Direction::Up
    } else {
        Direction::Down
    });
    BiasReading {
        components,
        score,
        direction,
        confidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> BiasParams {
        BiasParams {
            momentum_weak: 0.0005,
            momentum_strong: 0.0015,
            ema_full_scale: 0.001,
            funding_extreme: 0.0005,
            funding_full_scale: 0.001,
            liquidation_cascade_px: 5_000_000 * 100_000_000,
            weights: [0.30, 0.25, 0.20, 0.10, 0.15],
            threshold: 0.35,
        }
    }

    #[test]
    fn momentum_has_a_dead_zone_and_saturates() {
        let p = params();
        let base = 100_000 * 100_000_000i64;
        let at = |frac: f64| momentum_input(base, base + (base as f64 * frac) as i64, &p);
        assert_eq!(at(0.0004), 0.0);
        assert_eq!(at(-0.0005), 0.0);
        assert!((at(0.0006) - 0.4).abs() < 1e-9);
        assert!((at(-0.00075) + 0.5).abs() < 1e-9);
        assert_eq!(at(0.0015), 1.0);
        assert_eq!(at(-0.01), -1.0);
        assert_eq!(momentum_input(0, 5, &p), 0.0);
    }

    #[test]
    fn ema_flow_funding_and_liquidations_normalise() {
        let p = params();
        let c = 50_000 * 100_000_000i64;
        let c_f = c as f64;
        assert!((ema_input(c_f * 1.0005, c_f, c, &p) - 0.5).abs() < 1e-9);
        assert_eq!(ema_input(c_f * 0.99, c_f, c, &p), -1.0);
        assert_eq!(flow_input(0, 0), 0.0);
        assert_eq!(flow_input(30, 10), 0.5);
        assert_eq!(flow_input(0, 7), -1.0);
        // Funding: inside the band nothing; beyond it contrarian.
        assert_eq!(funding_input(0.0004, &p), 0.0);
        assert!((funding_input(0.0008, &p) + 0.8).abs() < 1e-12);
        assert_eq!(funding_input(-0.003, &p), 1.0);
        // $5M of longs liquidated (net) is a full down reading; $1M of shorts net is +0.2.
        let usd = 100_000_000i64;
        assert_eq!(liquidation_input(5_000_000 * usd, 0, &p), -1.0);
        assert_eq!(
            liquidation_input(9_000_000 * usd, 1_000_000 * usd, &p),
            -1.0
        );
        assert!((liquidation_input(0, 1_000_000 * usd, &p) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn weighted_score_direction_and_confidence() {
        let p = params();
        let base = 100_000 * 100_000_000i64;
        let usd = 100_000_000i64;
        // Momentum +1, EMA +0.5, flow +0.5, funding 0 (within band), liquidations +0.2.
        let i = BiasInputs {
            closes: Some((base, base + base / 500)),
            ema_fast: Some((base + base / 500) as f64 * 1.0005),
            ema_slow: Some((base + base / 500) as f64),
            flow_buy: 30,
            flow_sell: 10,
            funding: Some(0.0001),
            liq_longs: 0,
            liq_shorts: 1_000_000 * usd,
        };
        let r = evaluate(&i, &p);
        let want = 0.30 * 1.0 + 0.25 * 0.5 + 0.20 * 0.5 + 0.0 + 0.15 * 0.2;
        assert!((r.score - want).abs() < 1e-9, "{r:?}");
        assert_eq!(r.direction, Some(Direction::Up));
        assert!((r.confidence - want).abs() < 1e-12);
        // Only flow, fully negative: −0.20 stays under the threshold.
        let weak = BiasInputs {
            flow_sell: 5,
            ..BiasInputs::default()
        };
        let r = evaluate(&weak, &p);
        assert!((r.score + 0.2).abs() < 1e-12);
        assert_eq!(r.direction, None);
        // Everything down: −1 exactly and a Down direction.
        let all_down = BiasInputs {
            closes: Some((base, base - base / 100)),
            ema_fast: Some(1.0),
            ema_slow: Some(base as f64),
            flow_buy: 0,
            flow_sell: 9,
            funding: Some(0.01),
            liq_longs: 10_000_000 * usd,
            liq_shorts: 0,
        };
        let r = evaluate(&all_down, &p);
        assert!((r.score + 1.0).abs() < 1e-12);
        assert_eq!(r.direction, Some(Direction::Down));
        // Nothing known: zero.
        assert_eq!(evaluate(&BiasInputs::default(), &p).score, 0.0);
    }
}
