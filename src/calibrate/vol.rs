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
    let (mut n, mut sum, mut sum_sq) = (0usize, 0.0f64, 0.0f64);
    for pair in ticks.windows(2) {
        if let [a, b] = pair {
            if let Some(r) = per_second_return(*a, *b) {
                n += 1;
                sum += r;
                sum_sq += r * r;
            }
        }
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
}
