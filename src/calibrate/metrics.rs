//! Scores of probability forecasts against binary outcomes: Brier score, log loss and a
//! reliability table of ten probability buckets.
//!
//! * Brier = mean of (p − y)², y = 1 for Up, 0 for Down, on the unclamped probability.
//! * Log loss = mean of −(y·ln q + (1 − y)·ln(1 − q)) with q = p clamped to
//!   [[`LOG_LOSS_EPS`], 1 − [`LOG_LOSS_EPS`]] (a certain, wrong forecast would otherwise cost ∞).
//! * Bucket k (0..=9) holds p with edge_k ≤ p < edge_{k+1}, edges being the f64 literals 0.1 …
//!   0.9; 0 is in bucket 0, 0.1 in bucket 1, 1.0 in bucket 9 (the last bucket is closed).
//!
//! Invariants: f64 statistics only (no prices here); empty scores report `None`, never NaN.

use serde::Serialize;

/// Log-loss clamp: probabilities are held inside [1e-6, 1 − 1e-6].
pub const LOG_LOSS_EPS: f64 = 1e-6;

/// Number of reliability buckets.
pub const BUCKETS: usize = 10;

/// Lower edges of buckets 1..=9.
const EDGES: [f64; BUCKETS - 1] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// Reliability bucket of a probability (see the module doc for the edges).
pub fn bucket_index(p: f64) -> usize {
    EDGES.iter().filter(|e| p >= **e).count()
}

/// Squared error of one forecast.
pub fn brier_term(p: f64, up: bool) -> f64 {
    let y = if up { 1.0 } else { 0.0 };
    (p - y) * (p - y)
}

/// Log loss of one forecast, with the probability clamped to [eps, 1 − eps].
pub fn log_loss_term(p: f64, up: bool) -> f64 {
    let q = p.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
    if up {
        -q.ln()
    } else {
        -(1.0 - q).ln()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Bucket {
    count: u64,
    sum_p: f64,
    ups: u64,
}

/// Running Brier, log loss and reliability of one forecaster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    count: u64,
    brier_sum: f64,
    log_loss_sum: f64,
    buckets: [Bucket; BUCKETS],
}

/// One row of the reliability table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReliabilityRow {
    /// Lower edge (inclusive).
    pub lo: f64,
    /// Upper edge (exclusive, except 1.0 for the last bucket).
    pub hi: f64,
    pub count: u64,
    /// Mean forecast in the bucket (`None` when empty).
    pub mean_predicted: Option<f64>,
    /// Fraction of Up outcomes in the bucket (`None` when empty).
    pub observed_frequency: Option<f64>,
}

impl Scores {
    /// Add one forecast `p` of P(Up) with its outcome.
    pub fn add(&mut self, p: f64, up: bool) {
        self.count += 1;
        self.brier_sum += brier_term(p, up);
        self.log_loss_sum += log_loss_term(p, up);
        if let Some(b) = self.buckets.get_mut(bucket_index(p)) {
            b.count += 1;
            b.sum_p += p;
            b.ups += u64::from(up);
        }
    }

    /// Forecasts added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean Brier score.
    pub fn brier(&self) -> Option<f64> {
        (self.count > 0).then(|| self.brier_sum / self.count as f64)
    }

    /// Mean (clamped) log loss.
    pub fn log_loss(&self) -> Option<f64> {
        (self.count > 0).then(|| self.log_loss_sum / self.count as f64)
    }

    /// The ten reliability rows, bucket 0 first.
    pub fn reliability(&self) -> Vec<ReliabilityRow> {
        self.buckets
            .iter()
            .enumerate()
            .map(|(k, b)| {
                let n = b.count as f64;
                ReliabilityRow {
                    lo: k as f64 / BUCKETS as f64,
                    hi: (k + 1) as f64 / BUCKETS as f64,
                    count: b.count,
                    mean_predicted: (b.count > 0).then(|| b.sum_p / n),
                    observed_frequency: (b.count > 0).then(|| b.ups as f64 / n),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brier_of_known_vectors() {
        // (0.9−1)² + (0.2−0)² + (0.5−1)² + (1−0)² = 0.01 + 0.04 + 0.25 + 1 = 1.30 → 0.325.
        let mut s = Scores::default();
        for (p, up) in [(0.9, true), (0.2, false), (0.5, true), (1.0, false)] {
            s.add(p, up);
        }
        assert_eq!(s.count(), 4);
        assert!((s.brier().unwrap() - 0.325).abs() < 1e-15);
        // A constant 0.5 forecast scores exactly 0.25 whatever the outcomes.
        let mut half = Scores::default();
        for up in [true, false, false, true, true] {
            half.add(0.5, up);
        }
        assert_eq!(half.brier(), Some(0.25));
        assert!((half.log_loss().unwrap() - std::f64::consts::LN_2).abs() < 1e-15);
        assert_eq!(Scores::default().brier(), None);
        assert_eq!(Scores::default().log_loss(), None);
    }

    #[test]
    fn log_loss_by_hand_and_clamped() {
        // −ln 0.8 and −ln(1 − 0.3) = −ln 0.7; mean = (0.22314355 + 0.35667494) / 2.
        let mut s = Scores::default();
        s.add(0.8, true);
        s.add(0.3, false);
        let want = (-(0.8f64).ln() - (0.7f64).ln()) / 2.0;
        assert!((s.log_loss().unwrap() - want).abs() < 1e-15);
        assert!((want - 0.289_909_247_6).abs() < 1e-9);
        // A certain and wrong forecast costs −ln(1e-6) = 13.8155…, not ∞.
        let capped = -(1e-6f64).ln();
        assert!((log_loss_term(0.0, true) - capped).abs() < 1e-12);
        assert!((log_loss_term(1.0, false) - capped).abs() < 1e-9);
        assert!((capped - 13.815_510_557_964_274).abs() < 1e-12);
        // A certain, right forecast costs −ln(1 − 1e-6) ≈ 1e-6.
        assert!((log_loss_term(1.0, true) - 1.000_000_5e-6).abs() < 1e-12);
    }

    #[test]
    fn bucket_edges() {
        assert_eq!(bucket_index(0.0), 0);
        assert_eq!(bucket_index(0.099_999_999), 0);
        assert_eq!(bucket_index(0.1), 1);
        assert_eq!(bucket_index(0.3), 3);
        assert_eq!(bucket_index(0.5), 5);
        assert_eq!(bucket_index(0.7), 7);
        assert_eq!(bucket_index(0.899_999), 8);
        assert_eq!(bucket_index(0.9), 9);
        assert_eq!(bucket_index(1.0), 9);
        for k in 1..10 {
            let edge: f64 = format!("0.{k}").parse().unwrap();
            assert_eq!(bucket_index(edge), k, "edge {edge}");
        }
    }

    #[test]
    fn reliability_rows() {
        let mut s = Scores::default();
        s.add(0.0, false);
        s.add(0.05, true);
        s.add(0.1, false);
        s.add(1.0, true);
        s.add(0.95, false);
        let rows = s.reliability();
        assert_eq!(rows.len(), 10);
        assert_eq!(rows[0].count, 2);
        assert_eq!(rows[0].mean_predicted, Some(0.025));
        assert_eq!(rows[0].observed_frequency, Some(0.5));
        assert_eq!(rows[1].count, 1);
        assert_eq!(rows[1].observed_frequency, Some(0.0));
        assert_eq!(rows[9].count, 2);
        assert!((rows[9].mean_predicted.unwrap() - 0.975).abs() < 1e-15);
        assert_eq!(rows[5].count, 0);
        assert_eq!(rows[5].mean_predicted, None);
        assert_eq!((rows[3].lo, rows[3].hi), (0.3, 0.4));
        assert_eq!(rows.iter().map(|r| r.count).sum::<u64>(), s.count());
    }
}
