//! Realised volatility from trailing oracle ticks, annualised the way `signals::fair` expects
//! (σ_per_min = annual / √525600, so annual = σ_per_second × √(525600 × 60)).
//!
//! Returns are per-second log returns between consecutive ticks; a gap of k seconds is scaled
//! by 1/√k to a per-second return (the convention of `signals::volatility` for minute gaps).
//! The estimate is the sample standard deviation (n − 1). Each log return comes from the exact
//! integer difference of two E18 prices (`ln_1p(Δ / p)`), so nearly equal prices lose nothing
//! to cancellation. Invariants: `None` (never NaN) until `min_returns` returns exist.

use super::data::Tick;
use crate::signals::volatility::MINUTES_PER_YEAR;

/// Seconds per year (365 days), the annualisation of per-second statistics.
pub const SECONDS_PER_YEAR: f64 = MINUTES_PER_YEAR * 60.0;

/// Per-second log return between two ticks (`None` for a non-increasing time or bad price).
pub fn per_second_return(prev: Tick, next: Tick) -> Option<f64> {
    if next.obs_s <= prev.obs_s || prev.price_e18 <= 0 || next.price_e18 <= 0 {
        return None;
    }
    let diff = next.price_e18.checked_sub(prev.price_e18)?;
    let r =
        (diff as f64 / prev.price_e18 as f64).ln_1p() / ((next.obs_s - prev.obs_s) as f64).sqrt();
    r.is_finite().then_some(r)
}

/// Annualised realised volatility of `ticks` (ascending by second), once `min_returns`
/// (at least 2) returns exist.
pub fn annualised(ticks: &[Tick], min_returns: usize) -> Option<f64> {
    let returns = ticks.windows(2).filter_map(|pair| match pair {
        [a, b] => per_second_return(*a, *b),
        _ => None,
    });
    from_returns(returns, min_returns)
}

/// Annualised realised volatility from returns sampled every `step_s` seconds: the latest tick
/// at or before each of the times `to_s`, `to_s − step_s`, … down to the oldest tick of
/// `ticks` (ascending, ending at or before `to_s`); consecutive distinct ticks give one
/// per-second-scaled return. `step_s = 1` is [`annualised`] on the same ticks.
pub fn annualised_sampled(
    ticks: &[Tick],
    to_s: u64,
    step_s: u64,
    min_returns: usize,
) -> Option<f64> {
    let step = step_s.max(1);
    let first = ticks.first()?.obs_s;
    let mut grid: Vec<Tick> = Vec::new();
    let mut g = to_s;
    loop {
        let i = ticks.partition_point(|t| t.obs_s <= g);
        if let Some(t) = i.checked_sub(1).and_then(|i| ticks.get(i)) {
            if grid.last().is_none_or(|last| last.obs_s != t.obs_s) {
                grid.push(*t);
            }
        }
        if g < first.saturating_add(step) {
            break;
        }
        g -= step;
    }
    grid.reverse();
    let returns = grid.windows(2).filter_map(|pair| match pair {
        [a, b] => per_second_return(*a, *b),
        _ => None,
    });
    from_returns(returns, min_returns)
}

fn from_returns(returns: impl Iterator<Item = f64>, min_returns: usize) -> Option<f64> {
    let (mut n, mut sum, mut sum_sq) = (0usize, 0.0f64, 0.0f64);
    for r in returns {
        n += 1;
        sum += r;
        sum_sq += r * r;
    }
    if n < min_returns.max(2) {
        return None;
    }
    let nf = n as f64;
    let var = ((sum_sq - sum * sum / nf) / (nf - 1.0)).max(0.0);
    let vol = (var * SECONDS_PER_YEAR).sqrt();
    vol.is_finite().then_some(vol)
}

#[cfg(test)]
mod tests {
    use super::*;

    const E18: i128 = 1_000_000_000_000_000_000;

    fn t(obs_s: u64, dollars: f64) -> Tick {
        Tick {
            obs_s,
            price_e18: (dollars * 1e6).round() as i128 * (E18 / 1_000_000),
        }
    }

    #[test]
    fn sample_std_annualised_per_second() {
        let prices = [100.0, 100.1, 100.0, 100.2, 100.15];
        let ticks: Vec<Tick> = prices
            .iter()
            .enumerate()
            .map(|(i, p)| t(i as u64 + 1, *p))
            .collect();
        let r: Vec<f64> = prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        let mean = r.iter().sum::<f64>() / 4.0;
        let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0;
        let want = (var * 525_600.0 * 60.0).sqrt();
        let got = annualised(&ticks, 2).unwrap();
        assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
        assert_eq!(annualised(&ticks, 5), None);
        assert_eq!(annualised(&ticks[..2], 1), None);
        assert_eq!(annualised(&[], 2), None);
    }

    #[test]
    fn gaps_are_scaled_to_one_second() {
        // +1% then −1% one second apart vs the same log moves ×2 over 4-second gaps.
        let a = [t(1, 100.0), t(2, 101.0), t(3, 100.0)];
        let up2 = 100.0 * 1.01f64.powi(2);
        let b = [t(1, 100.0), t(5, up2), t(9, 100.0)];
        let (va, vb) = (annualised(&a, 2).unwrap(), annualised(&b, 2).unwrap());
        assert!((va - vb).abs() < 1e-6 * va, "{va} vs {vb}");
        // Flat prices: zero vol, not NaN.
        assert_eq!(
            annualised(&[t(1, 50.0), t(2, 50.0), t(3, 50.0)], 2),
            Some(0.0)
        );
        assert_eq!(per_second_return(t(2, 1.0), t(2, 2.0)), None);
    }

    #[test]
    fn sampled_grid() {
        let prices = [100.0, 100.1, 100.0, 100.2, 100.15, 100.3, 100.25];
        let ticks: Vec<Tick> = prices
            .iter()
            .enumerate()
            .map(|(i, p)| t(i as u64 + 10, *p))
            .collect();
        // Step 1 is the per-tick estimate.
        assert_eq!(annualised_sampled(&ticks, 16, 1, 2), annualised(&ticks, 2));
        // Step 2 from 16: ticks at 16, 14, 12, 10 → returns 10→12, 12→14, 14→16 over 2 s.
        let sub = [ticks[0], ticks[2], ticks[4], ticks[6]];
        let r: Vec<f64> = sub
            .windows(2)
            .map(|w| (w[1].price_e18 as f64 / w[0].price_e18 as f64).ln() / 2f64.sqrt())
            .collect();
        let mean = r.iter().sum::<f64>() / 3.0;
        let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0;
        let want = (var * SECONDS_PER_YEAR).sqrt();
        let got = annualised_sampled(&ticks, 16, 2, 2).unwrap();
        assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
        // From 17: the ticks at 16 (latest ≤ 17), 15, 13, 11 — the last gap is 1 s.
        let grid = [ticks[1], ticks[3], ticks[5], ticks[6]];
        assert_eq!(annualised_sampled(&ticks, 17, 2, 2), annualised(&grid, 2));
        // Too few returns → None.
        assert_eq!(annualised_sampled(&ticks, 16, 10, 2), None);
        assert_eq!(annualised_sampled(&[], 16, 1, 2), None);
    }
}
