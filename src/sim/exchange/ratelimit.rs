//! Per-signer token buckets for trading requests (protocol §9): an order bucket (a batch of n
//! costs n) and a cancel bucket (cost 1 per id; cancel-all / cancel-market-orders cost
//! 1 + number cancelled: admitted on the 1, then [`RateLimiter::charge`]d the rest, which may
//! leave the bucket in debt so a kill switch is never refused for canceling much). A request
//! costing more than the bucket's burst is never admitted. Refusals answer 429 with
//! `Retry-After` (seconds).
//!
//! Invariant: a bucket never holds more than its burst nor owes more than its burst; time only
//! refills (monotonic clock).

use std::collections::HashMap;
use std::time::Instant;

/// Rate and burst of one bucket kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketSpec {
    /// Tokens per second.
    pub rate_per_s: f64,
    /// Capacity.
    pub burst: f64,
}

/// Which bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketKind {
    Orders,
    Cancels,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// All signers' buckets.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    orders: BucketSpec,
    cancels: BucketSpec,
    buckets: HashMap<(String, BucketKind), Bucket>,
}

impl RateLimiter {
    pub fn new(orders: BucketSpec, cancels: BucketSpec) -> Self {
        RateLimiter {
            orders,
            cancels,
            buckets: HashMap::new(),
        }
    }

    /// Take `cost` tokens from `signer`'s `kind` bucket at `now`; `Err(retry_after_s)` if refused.
    pub fn admit(
        &mut self,
        signer: &str,
        kind: BucketKind,
        cost: f64,
        now: Instant,
    ) -> Result<(), u64> {
        let spec = match kind {
            BucketKind::Orders => self.orders,
            BucketKind::Cancels => self.cancels,
        };
        if cost > spec.burst {
            return Err(if spec.rate_per_s > 0.0 {
                (spec.burst / spec.rate_per_s).ceil().max(1.0) as u64
            } else {
                3600
            });
        }
        let b = self
            .buckets
            .entry((signer.to_ascii_lowercase(), kind))
            .or_insert(Bucket {
                tokens: spec.burst,
                at: now,
            });
        let dt = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + dt * spec.rate_per_s).min(spec.burst);
        b.at = now;
        if b.tokens >= cost {
            b.tokens -= cost;
            Ok(())
        } else if spec.rate_per_s > 0.0 {
            Err(((cost - b.tokens) / spec.rate_per_s).ceil().max(1.0) as u64)
        } else {
            Err(3600)
        }
    }
}

impl RateLimiter {
    /// Take `cost` more tokens from an admitted request's bucket without refusing: the bucket
    /// may go into debt (at most its burst), delaying later requests.
    pub fn charge(&mut self, signer: &str, kind: BucketKind, cost: f64, now: Instant) {
        let spec = match kind {
            BucketKind::Orders => self.orders,
            BucketKind::Cancels => self.cancels,
        };
        let b = self
            .buckets
            .entry((signer.to_ascii_lowercase(), kind))
            .or_insert(Bucket {
                tokens: spec.burst,
                at: now,
            });
        let dt = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = ((b.tokens + dt * spec.rate_per_s).min(spec.burst) - cost).max(-spec.burst);
        b.at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_refill_and_oversized_batches() {
        let spec = BucketSpec {
            rate_per_s: 2.0,
            burst: 3.0,
        };
        let mut rl = RateLimiter::new(spec, spec);
        let t0 = Instant::now();
        assert!(rl.admit("0xA", BucketKind::Orders, 2.0, t0).is_ok());
        assert!(rl.admit("0xa", BucketKind::Orders, 1.0, t0).is_ok());
        assert_eq!(rl.admit("0xa", BucketKind::Orders, 1.0, t0), Err(1));
        // Another signer and another bucket are independent.
        assert!(rl.admit("0xb", BucketKind::Orders, 1.0, t0).is_ok());
        assert!(rl.admit("0xa", BucketKind::Cancels, 1.0, t0).is_ok());
        // Half a second refills one token.
        assert!(rl
            .admit(
                "0xa",
                BucketKind::Orders,
                1.0,
                t0 + Duration::from_millis(500)
            )
            .is_ok());
        // A cancel-all's charge puts the bucket in debt: the next request waits for the refill.
        let t1 = t0 + Duration::from_secs(100);
        assert!(rl.admit("0xd", BucketKind::Cancels, 1.0, t1).is_ok());
        rl.charge("0xd", BucketKind::Cancels, 4.0, t1);
        assert_eq!(rl.admit("0xd", BucketKind::Cancels, 1.0, t1), Err(2));
        assert!(rl
            .admit("0xd", BucketKind::Cancels, 1.0, t1 + Duration::from_secs(2))
            .is_ok());
        // More than the burst is never admitted, even with a full bucket.
        assert!(rl
            .admit(
                "0xc",
                BucketKind::Orders,
                4.0,
                t0 + Duration::from_secs(100)
            )
            .is_err());
    }
}
