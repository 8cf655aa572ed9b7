//! Exponential moving average of 1-minute closes (the bias detector's EMA(5) − EMA(20)).
//!
//! Definition: α = 2 / (period + 1); the first value is the simple mean of the first `period`
//! closes (SMA seed, as TA-Lib does), then `EMA = EMA + α·(close − EMA)`. Invariants: O(1) per
//! close, fixed size, no allocation; `value` is `None` until `period` closes were seen.

/// EMA with an SMA seed.
#[derive(Debug, Clone, Copy)]
pub struct Ema {
    period: u32,
    alpha: f64,
    seed_sum: f64,
    seed_count: u32,
    value: Option<f64>,
}

impl Ema {
    /// EMA of `period` values (at least 1).
    pub fn new(period: u32) -> Self {
        let period = period.max(1);
        Ema {
            period,
            alpha: 2.0 / (f64::from(period) + 1.0),
            seed_sum: 0.0,
            seed_count: 0,
            value: None,
        }
    }

    /// Feed one value; returns the EMA once warmed up.
    #[inline]
    pub fn push(&mut self, x: f64) -> Option<f64> {
        match self.value {
            Some(v) => self.value = Some(v + self.alpha * (x - v)),
            None => {
                self.seed_sum += x;
                self.seed_count += 1;
                if self.seed_count == self.period {
                    self.value = Some(self.seed_sum / f64::from(self.period));
                }
            }
        }
        self.value
    }

    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma_seed_then_exponential() {
        let mut e = Ema::new(3);
        assert_eq!(e.push(1.0), None);
        assert_eq!(e.push(2.0), None);
        assert_eq!(e.push(3.0), Some(2.0));
        // α = 0.5: 2 + 0.5·(6 − 2) = 4.
        assert_eq!(e.push(6.0), Some(4.0));
        assert_eq!(e.push(4.0), Some(4.0));
        let mut one = Ema::new(1);
        assert_eq!(one.push(7.0), Some(7.0));
        assert_eq!(one.push(9.0), Some(9.0));
    }
}
