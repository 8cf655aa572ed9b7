//! The simulated Chainlink: per asset, one observation per whole wall-clock second sampled from the
//! simulated asset price (plus a sub-basis-point aggregation deviation), relayed on RTDS about one
//! second late, and a 60-second TWAP of those observations.
//!
//! Invariants: observation timestamps are whole seconds in ms; values are exact E18 integers
//! (`i128`, the price × 1e18, carrying 12 decimals like the real feed's `...626000000` tails);
//! the TWAP at second `s` is the integer mean of the observations in `(s − 60, s]`. The float sent
//! as `value` is derived from the integer, never the other way round.

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::sim::price::standard_normal;

/// Seconds of observations the TWAP averages.
pub const TWAP_LOOKBACK_S: u64 = 60;

/// How many seconds of observations an asset keeps (enough for settlement look-ups).
const HISTORY_S: usize = 4 * 3600;

/// E18 scale of Chainlink values.
pub const E18: i128 = 1_000_000_000_000_000_000;

/// One oracle observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// Observation time, unix seconds.
    pub sec: u64,
    /// Spot value × 1e18.
    pub spot_e18: i128,
    /// 60 s TWAP value × 1e18 (mean of the observations in `(sec − 60, sec]`).
    pub twap_e18: i128,
}

/// An observation due to be relayed on RTDS at `publish_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relay {
    /// The observation.
    pub obs: Observation,
    /// Wall time at which the relay sends it.
    pub publish_ms: u64,
}

/// Per-asset oracle state.
pub struct AssetOracle {
    /// Lower-case asset (`btc`).
    pub asset: String,
    /// RTDS symbol (`btc/usd`).
    pub symbol: String,
    history: VecDeque<Observation>,
    pending: VecDeque<Relay>,
    rng: StdRng,
    gap_prob: f64,
}

impl AssetOracle {
    /// An oracle for `asset`, seeded; `gap_prob` is the chance a relayed second is missing.
    pub fn new(asset: &str, seed: u64, gap_prob: f64) -> Self {
        AssetOracle {
            asset: asset.to_string(),
            symbol: format!("{asset}/usd"),
            history: VecDeque::with_capacity(HISTORY_S),
            pending: VecDeque::new(),
            rng: StdRng::seed_from_u64(seed),
            gap_prob,
        }
    }

    /// Record an observation for every whole second in `(last, now_ms / 1000]` using `price`
    /// (the simulated asset price now). Returns the new observations.
    pub fn observe(&mut self, now_ms: u64, price: f64) -> Vec<Observation> {
        let now_s = now_ms / 1000;
        let first = match self.history.back() {
            Some(last) if last.sec >= now_s => return Vec::new(),
            Some(last) => (last.sec + 1).max(now_s.saturating_sub(5)),
            None => now_s,
        };
        let mut out = Vec::new();
        for sec in first..=now_s {
            // Chainlink aggregates several venues: a deviation of ~0.3 bp from the simulated mid.
            let dev = 1.0 + 0.00003 * standard_normal(&mut self.rng);
            let spot_e18 = to_e18(price * dev);
            let mut sum = spot_e18;
            let mut n: i128 = 1;
            for o in self.history.iter().rev() {
                if o.sec + TWAP_LOOKBACK_S <= sec {
                    break;
                }
                sum += o.spot_e18;
                n += 1;
            }
            let obs = Observation {
                sec,
                spot_e18,
                twap_e18: sum / n,
            };
            if self.history.len() == HISTORY_S {
                self.history.pop_front();
            }
            self.history.push_back(obs);
            // Relay delay: p50 ~1.2 s, p95 ~1.8 s behind the observation second.
            let delay_ms = 1_000 + (self.rng.random::<f64>().powi(2) * 900.0) as u64 + 50;
            if self.rng.random::<f64>() >= self.gap_prob {
                self.pending.push_back(Relay {
                    obs,
                    publish_ms: sec * 1000 + delay_ms,
                });
            }
            out.push(obs);
        }
        out
    }

    /// Relays due at `now_ms`, in observation order.
    pub fn due(&mut self, now_ms: u64) -> Vec<Relay> {
        let mut out = Vec::new();
        while let Some(r) = self.pending.front() {
            if r.publish_ms > now_ms {
                break;
            }
            out.extend(self.pending.pop_front());
        }
        out
    }

    /// The observation at exactly `sec`, if recorded.
    pub fn at(&self, sec: u64) -> Option<Observation> {
        let first = self.history.front()?.sec;
        let idx = usize::try_from(sec.checked_sub(first)?).ok()?;
        self.history.get(idx).filter(|o| o.sec == sec).copied()
    }

    /// The oldest recorded observation.
    pub fn first(&self) -> Option<Observation> {
        self.history.front().copied()
    }

    /// The newest recorded observation.
    pub fn latest(&self) -> Option<Observation> {
        self.history.back().copied()
    }
}

/// Quantise a model price to the feed's grid: 12 decimals, expressed × 1e18.
pub fn to_e18(price: f64) -> i128 {
    ((price * 1e12).round() as i128) * 1_000_000
}

/// The float RTDS sends as `value` for an E18 integer.
pub fn e18_to_f64(v: i128) -> f64 {
    (v / 1_000_000) as f64 / 1e12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_observation_per_second_and_twap_is_the_mean() {
        let mut o = AssetOracle::new("btc", 1, 0.0);
        let t0 = 1_700_000_000_000u64;
        for i in 0..100u64 {
            o.observe(t0 + i * 1000 + 300, 65_000.0 + i as f64);
        }
        let obs: Vec<_> = (0..100).filter_map(|i| o.at(t0 / 1000 + i)).collect();
        assert_eq!(obs.len(), 100);
        let last = obs[99];
        let mean = obs[40..100].iter().map(|x| x.spot_e18).sum::<i128>() / 60;
        assert_eq!(last.twap_e18, mean);
        assert_eq!(last.spot_e18 % 1_000_000, 0);
        // Everything is relayed 1.05..1.95 s after its second.
        let due = o.due(t0 + 200_000);
        assert_eq!(due.len(), 100);
        for r in due {
            let lag = r.publish_ms - r.obs.sec * 1000;
            assert!((1_050..1_950).contains(&lag), "lag {lag}");
        }
    }

    #[test]
    fn e18_round_trip() {
        let v = to_e18(65_048.078_902_260_626);
        assert_eq!(v % 1_000_000, 0);
        assert_eq!(v / 1_000_000_000_000, 65_048_078_902);
        assert!((e18_to_f64(v) - 65_048.078_902_260_626).abs() < 1e-9);
    }
}
