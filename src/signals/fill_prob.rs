//! Fill probability of a taker order (strategy spec §3).
//!
//! The spec writes `P(fill) ≈ min(size / depth, 1) × vol penalty`. Read literally that grows
//! with the order size (an order 10× the book would be *certain* to fill and a tiny order
//! unlikely), which is backwards for a taker order sweeping resting depth. This module
//! implements the reading that makes it a probability of filling: `min(depth / size, 1)` — an
//! order no larger than the depth available fills (up to the regime penalty for the book moving
//! away first), a larger one fills at most the fraction the depth covers. docs/SIGNALS.md
//! records this choice. Both legs of a paired order are independent: P = P(up) × P(down).
//!
//! Invariants: results are finite and in [0, 1]; sizes in any common integer unit
//! (micro-shares); no allocation.

use super::volatility::Regime;

/// P(fill) of one leg of `size` against `depth` resting within reach, in `regime`, with the
/// per-regime penalties (DEAD..EXTREME).
#[inline]
pub fn leg(size: i64, depth: i64, regime: Regime, penalties: &[f64; 5]) -> f64 {
    if size <= 0 {
        return 0.0;
    }
    let cover = (depth.max(0) as f64 / size as f64).min(1.0);
    let p = cover * penalties[regime.index()];
    if p.is_finite() {
        p.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// P(both legs fill): the product of the two legs.
#[inline]
pub fn both_legs(
    size: i64,
    depth_a: i64,
    depth_b: i64,
    regime: Regime,
    penalties: &[f64; 5],
) -> f64 {
    leg(size, depth_a, regime, penalties) * leg(size, depth_b, regime, penalties)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEN: [f64; 5] = [0.95, 0.90, 0.80, 0.65, 0.50];

    #[test]
    fn depth_covers_size_then_penalty() {
        assert_eq!(leg(10, 100, Regime::Dead, &PEN), 0.95);
        assert_eq!(leg(10, 10, Regime::Low, &PEN), 0.90);
        assert!((leg(100, 50, Regime::Medium, &PEN) - 0.40).abs() < 1e-12);
        assert!((leg(100, 25, Regime::High, &PEN) - 0.1625).abs() < 1e-12);
        assert_eq!(leg(100, 0, Regime::Dead, &PEN), 0.0);
        assert_eq!(leg(0, 10, Regime::Dead, &PEN), 0.0);
        assert_eq!(leg(10, -5, Regime::Dead, &PEN), 0.0);
        // A bigger order never fills more likely than a smaller one.
        let mut prev = 1.0;
        for size in 1..200 {
            let p = leg(size, 50, Regime::Medium, &PEN);
            assert!(p <= prev);
            prev = p;
        }
    }

    #[test]
    fn both_legs_multiply() {
        let p = both_legs(100, 100, 50, Regime::Medium, &PEN);
        assert!((p - 0.80 * 0.40).abs() < 1e-12);
        assert!((both_legs(1, 5, 5, Regime::Extreme, &PEN) - 0.25).abs() < 1e-12);
    }
}
