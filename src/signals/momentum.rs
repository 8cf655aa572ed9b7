//! Probability momentum on the Up price (strategy spec §3).
//!
//! The Up price (a probability, micro-units) is sampled into one value per second (the last
//! price seen in that second; seconds without an update carry the previous one forward), kept
//! in a dense ring of [`MAX_SECONDS`]. Velocities are probability change **per second** over
//! the short/medium/long windows (5 s, 15 s, 30 s by default):
//! `v_k = (p_now − p_{now−k}) / k`; acceleration = v5 − v15;
//! score = 0.5·v5 + 0.3·acceleration + 0.2·(v5 − v30) (weights from config);
//! divergence = fair probability − Up price.
//!
//! Exhaustion runs on one score per completed second (the score at that second's close), kept in
//! a ring of [`MAX_SCORES`]: with ≥ `min_samples` scores, the peak |score| of the last `lookback`
//! (newest included) above `min_peak` and the newest |score| below `ratio` × that peak.
//!
//! Invariants: fixed memory, O(1) per price update (a gap of g seconds costs O(min(g, 64)) once);
//! time going backwards is treated as the current second; no allocation.

use super::ring::FixedRing;

/// Seconds of per-second prices kept (longest window + 1 must fit).
pub const MAX_SECONDS: usize = 64;
/// Per-second scores kept (longest exhaustion lookback).
pub const MAX_SCORES: usize = 32;

/// Momentum parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MomentumParams {
    /// Short, medium, long windows in seconds (ascending, ≤ `MAX_SECONDS − 1`).
    pub windows_s: [u32; 3],
    /// Weights of v_short, acceleration (v_short − v_medium), v_short − v_long.
    pub weights: [f64; 3],
    pub min_samples: u32,
    pub lookback: u32,
    pub min_peak: f64,
    pub ratio: f64,
}

/// The momentum signal now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MomentumReading {
    /// v_short, v_medium, v_long: probability per second; `None` until the window has history.
    pub velocities: [Option<f64>; 3],
    pub acceleration: Option<f64>,
    pub score: Option<f64>,
    /// fair − Up price, when both are known.
    pub divergence: Option<f64>,
    pub exhausted: bool,
    /// Per-second scores held.
    pub scores: u32,
}

/// Exhaustion over per-second scores (newest = `back(0)`).
#[inline]
pub fn exhausted<const N: usize>(scores: &FixedRing<f64, N>, p: &MomentumParams) -> bool {
    if scores.len() < p.min_samples as usize {
        return false;
    }
    let Some(current) = scores.newest() else {
        return false;
    };
    let mut peak = 0.0f64;
    for k in 0..(p.lookback as usize).min(scores.len()) {
        if let Some(s) = scores.back(k) {
            peak = peak.max(s.abs());
        }
    }
    peak > p.min_peak && current.abs() < p.ratio * peak
}

/// Probability momentum of one market's Up token.
#[derive(Debug, Clone, Copy)]
pub struct ProbMomentum {
    params: MomentumParams,
    /// Close of each second, oldest first; the newest is the current (live) second.
    prices: FixedRing<i64, MAX_SECONDS>,
    last_sec: Option<u64>,
    scores: FixedRing<f64, MAX_SCORES>,
}

impl ProbMomentum {
    pub fn new(params: MomentumParams) -> Self {
        let longest = params.windows_s.iter().copied().max().unwrap_or(1) as usize;
        ProbMomentum {
            params,
            prices: FixedRing::new((longest + 1).min(MAX_SECONDS)),
            last_sec: None,
            scores: FixedRing::new((params.lookback as usize).clamp(1, MAX_SCORES)),
        }
    }

    /// Record the Up price (micro-units) at `now_ms`.
    #[inline]
    pub fn on_price(&mut self, now_ms: u64, price_micro: i64) {
        let sec = now_ms / 1000;
        match self.last_sec {
            None => {
                self.prices.push(price_micro);
                self.last_sec = Some(sec);
            }
            Some(last) if sec <= last => self.prices.set_newest(price_micro),
            Some(last) => {
                // The second `last` is complete: its score joins the exhaustion series.
                if let Some(s) = self.score() {
                    self.scores.push(s);
                }
                let gap = sec - last;
                if gap as usize >= self.prices.limit() {
                    self.prices.clear();
                } else if let Some(prev) = self.prices.newest() {
                    for _ in 1..gap {
                        self.prices.push(prev);
                    }
                }
                self.prices.push(price_micro);
                self.last_sec = Some(sec);
            }
        }
    }

    /// Velocity over `k` seconds, probability per second.
    #[inline]
    pub fn velocity(&self, k: u32) -> Option<f64> {
        let now = self.prices.newest()?;
        let then = self.prices.back(k as usize)?;
        (k > 0).then(|| (now - then) as f64 / 1e6 / f64::from(k))
    }

    #[inline]
    fn velocities(&self) -> [Option<f64>; 3] {
        self.params.windows_s.map(|k| self.velocity(k))
    }

    /// The live score, once the longest window has history.
    #[inline]
    pub fn score(&self) -> Option<f64> {
        match self.velocities() {
            [Some(s), Some(m), Some(l)] => {
                let w = self.params.weights;
                Some(w[0] * s + w[1] * (s - m) + w[2] * (s - l))
            }
            _ => None,
        }
    }

    /// The reading now, with `fair` (P(Up)) for the divergence.
    #[inline]
    pub fn reading(&self, fair: Option<f64>) -> MomentumReading {
        let v = self.velocities();
        let up = self.prices.newest().map(|p| p as f64 / 1e6);
        MomentumReading {
            velocities: v,
            acceleration: match (v[0], v[1]) {
                (Some(s), Some(m)) => Some(s - m),
                _ => None,
            },
            score: self.score(),
            divergence: match (fair, up) {
                (Some(f), Some(u)) => Some(f - u),
                _ => None,
            },
            exhausted: exhausted(&self.scores, &self.params),
            scores: self.scores.len() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: MomentumParams = MomentumParams {
        windows_s: [5, 15, 30],
        weights: [0.5, 0.3, 0.2],
        min_samples: 5,
        lookback: 10,
        min_peak: 0.005,
        ratio: 0.4,
    };

    fn ring(scores: &[f64]) -> FixedRing<f64, MAX_SCORES> {
        let mut r = FixedRing::new(10);
        for s in scores {
            r.push(*s);
        }
        r
    }

    #[test]
    fn exhaustion_rule() {
        // Too few samples.
        assert!(!exhausted(&ring(&[0.01, 0.001, 0.001, 0.001]), &P));
        // Peak 0.01, current 0.003 < 0.004: exhausted.
        assert!(exhausted(&ring(&[0.002, 0.01, 0.006, 0.004, 0.003]), &P));
        // Current 0.0041 ≥ 40% of 0.01: not yet.
        assert!(!exhausted(&ring(&[0.002, 0.01, 0.006, 0.005, 0.0041]), &P));
        // Peak not above 0.005.
        assert!(!exhausted(&ring(&[0.005, 0.004, 0.001, 0.0, 0.0]), &P));
        // Negative momentum fading counts by magnitude.
        assert!(exhausted(
            &ring(&[-0.002, -0.02, -0.01, -0.004, -0.001]),
            &P
        ));
        // The peak must be within the last 10: an old spike has left the ring.
        let mut r = ring(&[0.05]);
        for _ in 0..10 {
            r.push(0.001);
        }
        assert!(!exhausted(&r, &P));
    }

    #[test]
    fn velocities_score_and_divergence() {
        let mut m = ProbMomentum::new(P);
        let t0 = 1_000_000u64;
        // 0.50 flat for 30 s, then +1c per second for 5 s.
        for s in 0..=30u64 {
            m.on_price(t0 + s * 1000, 500_000);
        }
        assert_eq!(m.score(), Some(0.0));
        for s in 31..=35u64 {
            m.on_price(t0 + s * 1000 + 300, 500_000 + (s as i64 - 30) * 10_000);
        }
        // p_now = 0.55; 5 s ago 0.50; 15 s ago 0.50; 30 s ago 0.50.
        let v5 = 0.05 / 5.0;
        let v15 = 0.05 / 15.0;
        let v30 = 0.05 / 30.0;
        let r = m.reading(Some(0.60));
        assert!((r.velocities[0].unwrap() - v5).abs() < 1e-12);
        assert!((r.velocities[1].unwrap() - v15).abs() < 1e-12);
        assert!((r.velocities[2].unwrap() - v30).abs() < 1e-12);
        assert!((r.acceleration.unwrap() - (v5 - v15)).abs() < 1e-12);
        let want = 0.5 * v5 + 0.3 * (v5 - v15) + 0.2 * (v5 - v30);
        assert!((r.score.unwrap() - want).abs() < 1e-12);
        assert!((r.divergence.unwrap() - 0.05).abs() < 1e-12);
        // Several updates in one second: the last one counts.
        m.on_price(t0 + 35_900, 560_000);
        assert!((m.velocity(5).unwrap() - 0.06 / 5.0).abs() < 1e-12);
        // Then the move stops: scores fade, exhaustion fires.
        let mut fired = false;
        for s in 36..=45u64 {
            m.on_price(t0 + s * 1000, 560_000);
            fired |= m.reading(None).exhausted;
        }
        assert!(fired);
        assert_eq!(m.reading(None).divergence, None);
    }

    #[test]
    fn history_and_gaps() {
        let mut m = ProbMomentum::new(P);
        m.on_price(0, 400_000);
        assert_eq!(m.velocity(5), None);
        // A 10 s gap carries 0.40 forward; the new price lands at second 10.
        m.on_price(10_000, 450_000);
        assert!((m.velocity(5).unwrap() - 0.05 / 5.0).abs() < 1e-12);
        assert_eq!(m.velocity(15), None);
        assert_eq!(m.score(), None);
        // A gap longer than the ring restarts the history.
        m.on_price(200_000, 300_000);
        assert_eq!(m.velocity(5), None);
        // Time going backwards updates the current second.
        m.on_price(199_000, 310_000);
        m.on_price(205_000, 310_000);
        assert_eq!(m.velocity(5), Some(0.0));
    }
}
