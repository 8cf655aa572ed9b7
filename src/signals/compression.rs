//! Compression / breakout (strategy spec §3) from the Bollinger band of 1-minute closes.
//!
//! Width = (upper − lower) / middle = 2·k·σ / mean over the last `period` closes (σ the
//! population standard deviation, as Bollinger bands use). The closes' rolling sum and sum of
//! squares are exact `i128` integers (prices are integer), so σ has no drift or cancellation.
//! Each width joins a history of the last `history` widths; its percentile rank is
//! `100 × (#widths in the history strictly below it) / history length` (the history includes
//! the current width). Compression: rank < `compression_rank_pct`. Breakout: compression and
//! width > `breakout_ratio` × the previous width (the spec's rule read literally: both on the
//! same candle). Ranks are reported once `min_history` widths exist.
//!
//! Invariants: fixed memory (closes ring [`MAX_PERIOD`], width ring and a sorted copy of
//! [`MAX_HISTORY`]); per closed candle O(1) for the band, O(log H) for the rank and one
//! `copy_within` of at most H values to keep the sorted copy; no allocation.

use super::ring::FixedRing;

/// Largest Bollinger period.
pub const MAX_PERIOD: usize = 128;
/// Largest width history.
pub const MAX_HISTORY: usize = 256;

/// Compression parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompressionParams {
    pub period: u32,
    pub k: f64,
    pub history: u32,
    pub min_history: u32,
    pub rank_pct: f64,
    pub breakout_ratio: f64,
}

/// The latest reading (after the latest closed candle).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CompressionReading {
    /// Relative band width, once `period` closes were seen.
    pub width: Option<f64>,
    /// Percentile rank of the width in the history, 0..100.
    pub rank_pct: Option<f64>,
    pub compressed: bool,
    pub breakout: bool,
}

/// Bollinger width, its percentile rank, compression and breakout.
#[derive(Debug, Clone)]
pub struct Compression {
    params: CompressionParams,
    closes: FixedRing<i64, MAX_PERIOD>,
    sum: i128,
    sum_sq: i128,
    widths: FixedRing<f64, MAX_HISTORY>,
    sorted: [f64; MAX_HISTORY],
    prev_width: Option<f64>,
    last: CompressionReading,
}

impl Compression {
    pub fn new(params: CompressionParams) -> Self {
        Compression {
            params,
            closes: FixedRing::new((params.period as usize).clamp(2, MAX_PERIOD)),
            sum: 0,
            sum_sq: 0,
            widths: FixedRing::new((params.history as usize).clamp(1, MAX_HISTORY)),
            sorted: [0.0; MAX_HISTORY],
            prev_width: None,
            last: CompressionReading::default(),
        }
    }

    /// Band width of the current closes window, once full.
    #[inline]
    pub fn width(&self) -> Option<f64> {
        if !self.closes.is_full() || self.sum <= 0 {
            return None;
        }
        let n = self.closes.len() as i128;
        // n·Σx² − (Σx)² = n²·σ², exact.
        let num = (n * self.sum_sq - self.sum * self.sum).max(0) as f64;
        let sigma_over_mean = num.sqrt() / self.sum as f64;
        let w = 2.0 * self.params.k * sigma_over_mean;
        w.is_finite().then_some(w)
    }

    #[inline]
    fn insert_sorted(&mut self, w: f64) {
        let len = self.widths.len();
        if let Some(old) = self.widths.push(w) {
            // The history is full: drop one copy of the evicted width.
            let at = self.sorted[..len].partition_point(|x| *x < old);
            self.sorted.copy_within(at + 1..len, at);
            let at = self.sorted[..len - 1].partition_point(|x| *x < w);
            self.sorted.copy_within(at..len - 1, at + 1);
            self.sorted[at] = w;
        } else {
            let at = self.sorted[..len].partition_point(|x| *x < w);
            self.sorted.copy_within(at..len, at + 1);
            self.sorted[at] = w;
        }
    }

    /// Feed one closed candle's close (price units); returns the new reading.
    #[inline]
    pub fn on_close(&mut self, close: i64) -> CompressionReading {
        if let Some(old) = self.closes.push(close) {
            self.sum -= i128::from(old);
            self.sum_sq -= i128::from(old) * i128::from(old);
        }
        self.sum += i128::from(close);
        self.sum_sq += i128::from(close) * i128::from(close);
        let Some(w) = self.width() else {
            self.last = CompressionReading::default();
            return self.last;
        };
        self.insert_sorted(w);
        let len = self.widths.len();
        let rank = (len >= self.params.min_history as usize).then(|| {
            let below = self.sorted[..len].partition_point(|x| *x < w);
            100.0 * below as f64 / len as f64
        });
        let compressed = rank.is_some_and(|r| r < self.params.rank_pct);
        let breakout = compressed
            && self
                .prev_width
                .is_some_and(|p| w > self.params.breakout_ratio * p);
        self.prev_width = Some(w);
        self.last = CompressionReading {
            width: Some(w),
            rank_pct: rank,
            compressed,
            breakout,
        };
        self.last
    }

    /// The reading after the latest close.
    #[inline]
    pub fn reading(&self) -> CompressionReading {
        self.last
    }

    /// The width history in ascending order (for tests and diagnostics).
    pub fn sorted_widths(&self) -> &[f64] {
        &self.sorted[..self.widths.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(period: u32, history: u32, min_history: u32) -> CompressionParams {
        CompressionParams {
            period,
            k: 2.0,
            history,
            min_history,
            rank_pct: 10.0,
            breakout_ratio: 1.5,
        }
    }

    #[test]
    fn width_is_four_sigma_over_mean() {
        let mut c = Compression::new(params(4, 10, 1));
        for x in [100, 102, 98] {
            assert_eq!(c.on_close(x).width, None);
        }
        // 100, 102, 98, 100: mean 100, σ² = (0 + 4 + 4 + 0) / 4 = 2.
        let r = c.on_close(100);
        let want = 4.0 * 2f64.sqrt() / 100.0;
        assert!((r.width.unwrap() - want).abs() < 1e-15);
        assert_eq!(r.rank_pct, Some(0.0));
        // Rolling: 102, 98, 100, 104: mean 101, σ² = (1 + 9 + 1 + 9) / 4 = 5.
        let r = c.on_close(104);
        assert!((r.width.unwrap() - 4.0 * 5f64.sqrt() / 101.0).abs() < 1e-15);
    }

    #[test]
    fn rank_compression_and_breakout() {
        // Period 2: width = 2·|a − b| / (a + b) × 2 / 2 … drive it with alternating closes.
        let mut c = Compression::new(params(2, 20, 10));
        let mut close = 1_000_000i64;
        let mut step = |c: &mut Compression, d: i64| {
            close += d;
            c.on_close(close)
        };
        step(&mut c, 0);
        // Widths from moves of 100..=1000 (varied), rank reported from the 10th width on.
        let moves = [
            500, -400, 900, -300, 700, -600, 800, -200, 1000, -450, 650, -550,
        ];
        let mut last = CompressionReading::default();
        for (i, d) in moves.iter().enumerate() {
            last = step(&mut c, *d);
            assert_eq!(last.rank_pct.is_some(), i + 1 >= 10, "width {i}");
        }
        assert!(!last.compressed);
        // A tiny move is the narrowest width: rank 0 → compressed, and not a breakout (narrower
        // than the previous).
        let r = step(&mut c, 10);
        assert_eq!(r.rank_pct, Some(0.0));
        assert!(r.compressed && !r.breakout);
        // Slightly wider (×1.6) but still the second narrowest of 14: rank 100·1/14 ≈ 7.1 < 10
        // and width > 1.5 × previous → breakout.
        let r = step(&mut c, -16);
        assert!(r.rank_pct.unwrap() < 10.0, "{r:?}");
        assert!(r.compressed && r.breakout, "{r:?}");
        // Sorted copy matches the ring's content.
        let mut want: Vec<f64> = c.sorted_widths().to_vec();
        want.sort_by(f64::total_cmp);
        assert_eq!(c.sorted_widths(), &want[..]);
    }

    #[test]
    fn history_evicts_oldest_and_stays_sorted() {
        let mut c = Compression::new(params(3, 5, 1));
        let mut x = 7u64;
        let mut history = std::collections::VecDeque::new();
        for _ in 0..500 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            let close = 1_000_000 + (x >> 50) as i64;
            if let Some(w) = c.on_close(close).width {
                history.push_back(w);
                if history.len() > 5 {
                    history.pop_front();
                }
                let mut want: Vec<f64> = history.iter().copied().collect();
                want.sort_by(f64::total_cmp);
                assert_eq!(c.sorted_widths(), &want[..]);
                let below = want.iter().filter(|v| **v < w).count();
                let rank = c.reading().rank_pct.unwrap();
                assert_eq!(rank, 100.0 * below as f64 / want.len() as f64);
            }
        }
    }
}
