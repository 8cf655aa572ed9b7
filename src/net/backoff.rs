//! Per-connection reconnect backoff: exponential growth from `initial` by `multiplier` up to a
//! hard cap `max`, with subtractive jitter so many connections dropped together do not reconnect
//! in lock-step.
//!
//! Invariants: every delay lies in `[base * (1 - jitter), base]` where `base` is the current
//! un-jittered step, so `max` is a true upper bound; `reset` (after a successful connect) returns
//! to `initial`. `next_delay` neither allocates nor blocks. The jitter RNG is a SplitMix64 seeded
//! per connection, so a given seed yields the same sequence (reproducible tests and replays).

use std::time::Duration;

/// Why a [`BackoffPolicy`] was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackoffError {
    /// `initial` was zero.
    #[error("backoff initial delay must be > 0")]
    ZeroInitial,
    /// `max` below `initial`.
    #[error("backoff max delay must be >= initial delay")]
    MaxBelowInitial,
    /// `multiplier` below 1 or not finite.
    #[error("backoff multiplier must be a finite number >= 1, got {0}")]
    BadMultiplier(f64),
    /// `jitter` outside `[0, 1]`.
    #[error("backoff jitter must be within [0, 1], got {0}")]
    BadJitter(f64),
}

/// The shape of a backoff schedule (validated; shared by all connections of one kind).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    initial_ns: u64,
    max_ns: u64,
    multiplier: f64,
    jitter: f64,
}

impl BackoffPolicy {
    /// `initial` first delay, each next one `multiplier` times larger, never above `max`; each
    /// delay is reduced by a uniformly random fraction in `[0, jitter)` of itself.
    pub fn new(
        initial: Duration,
        multiplier: f64,
        max: Duration,
        jitter: f64,
    ) -> Result<Self, BackoffError> {
        let initial_ns = duration_ns(initial);
        let max_ns = duration_ns(max);
        if initial_ns == 0 {
            return Err(BackoffError::ZeroInitial);
        }
        if max_ns < initial_ns {
            return Err(BackoffError::MaxBelowInitial);
        }
        if !multiplier.is_finite() || multiplier < 1.0 {
            return Err(BackoffError::BadMultiplier(multiplier));
        }
        if !(0.0..=1.0).contains(&jitter) {
            return Err(BackoffError::BadJitter(jitter));
        }
        Ok(Self {
            initial_ns,
            max_ns,
            multiplier,
            jitter,
        })
    }

    /// First delay.
    pub fn initial(&self) -> Duration {
        Duration::from_nanos(self.initial_ns)
    }
    /// Cap on any delay.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_ns)
    }
    /// Growth factor per failed attempt.
    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }
    /// Largest fraction a delay is shortened by.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }
}

impl Default for BackoffPolicy {
    /// 250 ms, doubling, capped at 30 s, up to 50 % jitter.
    fn default() -> Self {
        Self {
            initial_ns: 250_000_000,
            max_ns: 30_000_000_000,
            multiplier: 2.0,
            jitter: 0.5,
        }
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// SplitMix64: tiny, fast, statistically fine for jitter; not for anything secret.
#[derive(Debug, Clone, Copy)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` (53 random bits).
    #[inline]
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Backoff state of one connection.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    base_ns: u64,
    attempts: u32,
    rng: SplitMix64,
}

impl Backoff {
    /// Fresh state for one connection; `seed` fixes the jitter sequence (e.g. derive it from the
    /// connection id so connections differ but runs repeat).
    pub fn new(policy: BackoffPolicy, seed: u64) -> Self {
        Self {
            policy,
            base_ns: policy.initial_ns,
            attempts: 0,
            rng: SplitMix64::new(seed),
        }
    }

    /// Delay before the next reconnect attempt, then advance the schedule. No allocation.
    #[inline]
    pub fn next_delay(&mut self) -> Duration {
        Duration::from_nanos(self.next_delay_ns())
    }

    /// [`Backoff::next_delay`] in nanoseconds.
    pub fn next_delay_ns(&mut self) -> u64 {
        let base = self.base_ns;
        let cut = (base as f64 * self.policy.jitter * self.rng.next_unit()) as u64;
        let delay = base - cut.min(base);
        let grown = base as f64 * self.policy.multiplier;
        self.base_ns = if grown >= self.policy.max_ns as f64 {
            self.policy.max_ns
        } else {
            (grown as u64).max(base)
        };
        self.attempts = self.attempts.saturating_add(1);
        delay
    }

    /// Back to the initial delay (call after a connection came up and proved healthy).
    pub fn reset(&mut self) {
        self.base_ns = self.policy.initial_ns;
        self.attempts = 0;
    }

    /// Delays handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The policy in force.
    pub fn policy(&self) -> &BackoffPolicy {
        &self.policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn grows_geometrically_and_stops_at_the_cap() {
        let policy = BackoffPolicy::new(ms(100), 2.0, ms(1_000), 0.0).unwrap();
        let mut b = Backoff::new(policy, 1);
        let got: Vec<Duration> = (0..7).map(|_| b.next_delay()).collect();
        assert_eq!(
            got,
            vec![
                ms(100),
                ms(200),
                ms(400),
                ms(800),
                ms(1_000),
                ms(1_000),
                ms(1_000)
            ]
        );
        assert_eq!(b.attempts(), 7);
    }

    #[test]
    fn fractional_multiplier_and_huge_values_do_not_overflow() {
        let policy = BackoffPolicy::new(ms(10), 1.5, ms(40), 0.0).unwrap();
        let mut b = Backoff::new(policy, 0);
        let got: Vec<u64> = (0..5).map(|_| b.next_delay_ns() / 1_000_000).collect();
        assert_eq!(got, vec![10, 15, 22, 33, 40]);
        let policy = BackoffPolicy::new(Duration::from_secs(1), 1e12, Duration::MAX, 0.0).unwrap();
        let mut b = Backoff::new(policy, 0);
        assert_eq!(b.next_delay_ns(), 1_000_000_000);
        assert_eq!(b.next_delay_ns(), u64::MAX);
        assert_eq!(b.next_delay_ns(), u64::MAX);
    }

    #[test]
    fn jitter_stays_within_bounds_and_varies() {
        let policy = BackoffPolicy::new(ms(100), 2.0, ms(800), 0.25).unwrap();
        let mut b = Backoff::new(policy, 42);
        let mut seen_at_cap = std::collections::BTreeSet::new();
        for i in 0..5_000u32 {
            let base_ms: u64 = [100, 200, 400, 800][(i.min(3)) as usize];
            let d = b.next_delay_ns();
            let base = base_ms * 1_000_000;
            assert!(d <= base, "delay {d} above base {base}");
            assert!(d >= base - base / 4, "delay {d} below base*(1-jitter)");
            if i >= 3 {
                seen_at_cap.insert(d);
            }
        }
        assert!(
            seen_at_cap.len() > 1_000,
            "jitter produced too few distinct delays"
        );
    }

    #[test]
    fn reset_returns_to_initial() {
        let policy = BackoffPolicy::new(ms(50), 3.0, ms(10_000), 0.0).unwrap();
        let mut b = Backoff::new(policy, 9);
        b.next_delay();
        b.next_delay();
        assert_eq!(b.next_delay(), ms(450));
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert_eq!(b.next_delay(), ms(50));
    }

    #[test]
    fn same_seed_same_sequence_different_seed_differs() {
        let policy = BackoffPolicy::default();
        let seq = |seed| {
            let mut b = Backoff::new(policy, seed);
            (0..16).map(|_| b.next_delay_ns()).collect::<Vec<_>>()
        };
        assert_eq!(seq(7), seq(7));
        assert_ne!(seq(7), seq(8));
    }

    #[test]
    fn invalid_policies_are_rejected() {
        assert_eq!(
            BackoffPolicy::new(ms(0), 2.0, ms(1), 0.1),
            Err(BackoffError::ZeroInitial)
        );
        assert_eq!(
            BackoffPolicy::new(ms(5), 2.0, ms(1), 0.1),
            Err(BackoffError::MaxBelowInitial)
        );
        assert_eq!(
            BackoffPolicy::new(ms(1), 0.5, ms(9), 0.1),
            Err(BackoffError::BadMultiplier(0.5))
        );
        assert!(matches!(
            BackoffPolicy::new(ms(1), f64::NAN, ms(9), 0.1),
            Err(BackoffError::BadMultiplier(_))
        ));
        assert_eq!(
            BackoffPolicy::new(ms(1), 2.0, ms(9), 1.5),
            Err(BackoffError::BadJitter(1.5))
        );
        assert_eq!(
            BackoffPolicy::new(ms(1), 2.0, ms(9), -0.1),
            Err(BackoffError::BadJitter(-0.1))
        );
    }

    #[test]
    fn unit_draws_are_in_range() {
        let mut r = SplitMix64::new(123);
        for _ in 0..10_000 {
            let u = r.next_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
