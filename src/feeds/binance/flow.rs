//! Rolling two-sided sums (buy/sell) over fixed time windows, bucketed in a fixed ring.
//!
//! Time is split into buckets of `bucket_ms`; a ring of `N` buckets covers the longest window.
//! Each window keeps a running sum, so adding an event is O(1) plus, when time moves forward,
//! evicting the buckets that left each window (amortised O(1): each bucket leaves each window
//! once; a jump longer than a window just zeroes it). Invariant: `sum(w)` equals the total of
//! events whose bucket lies in `(head - len_w, head]`, where `head` is the newest bucket seen.
//! Events older than the ring are dropped and counted. Nothing allocates after construction.

/// Buy and sell totals over one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TwoSided {
    pub buy: i64,
    pub sell: i64,
    /// Events added.
    pub count: u64,
}

impl TwoSided {
    /// `buy - sell`.
    pub fn imbalance(&self) -> i64 {
        self.buy.saturating_sub(self.sell)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    slot: i64,
    sums: TwoSided,
}

const NO_SLOT: i64 = i64::MIN;

/// Rolling buy/sell sums over `W` windows, with a ring of `N` buckets.
#[derive(Debug, Clone)]
pub struct RollingSums<const N: usize, const W: usize> {
    bucket_ms: u64,
    /// Window lengths in buckets, each in `1..=N`.
    lens: [i64; W],
    buckets: [Bucket; N],
    head: i64,
    sums: [TwoSided; W],
    dropped: u64,
}

impl<const N: usize, const W: usize> RollingSums<N, W> {
    /// Buckets of `bucket_ms` (at least 1); each window length is rounded down to whole buckets
    /// and clamped to `1..=N` buckets.
    pub fn new(bucket_ms: u64, windows_ms: [u64; W]) -> Self {
        let bucket_ms = bucket_ms.max(1);
        let lens = windows_ms.map(|w| ((w / bucket_ms) as i64).clamp(1, N as i64));
        RollingSums {
            bucket_ms,
            lens,
            buckets: [Bucket {
                slot: NO_SLOT,
                sums: TwoSided::default(),
            }; N],
            head: NO_SLOT,
            sums: [TwoSided::default(); W],
            dropped: 0,
        }
    }

    /// Length of window `w` in ms.
    pub fn window_ms(&self, w: usize) -> Option<u64> {
        self.lens.get(w).map(|&l| l as u64 * self.bucket_ms)
    }

    #[inline]
    fn idx(slot: i64) -> usize {
        slot.rem_euclid(N as i64) as usize
    }

    /// Move the newest bucket forward to the one containing `ts_ms` (no-op if not later).
    #[inline]
    pub fn advance_to(&mut self, ts_ms: u64) {
        let slot = (ts_ms / self.bucket_ms) as i64;
        if self.head == NO_SLOT {
            self.head = slot;
            self.buckets[Self::idx(slot)] = Bucket {
                slot,
                sums: TwoSided::default(),
            };
            return;
        }
        if slot <= self.head {
            return;
        }
        let gap = slot - self.head;
        for (sum, &len) in self.sums.iter_mut().zip(self.lens.iter()) {
            if gap >= len {
                *sum = TwoSided::default();
                continue;
            }
            for k in (self.head - len + 1)..=(slot - len) {
                let b = &self.buckets[Self::idx(k)];
                if b.slot == k {
                    sum.buy -= b.sums.buy;
                    sum.sell -= b.sums.sell;
                    sum.count -= b.sums.count;
                }
            }
        }
        let first_new = (self.head + 1).max(slot - N as i64 + 1);
        for k in first_new..=slot {
            self.buckets[Self::idx(k)] = Bucket {
                slot: k,
                sums: TwoSided::default(),
            };
        }
        self.head = slot;
    }

    /// Add `amount` on one side at `ts_ms`. Returns false (and counts) when the event is older
    /// than the ring.
    #[inline]
    pub fn add(&mut self, ts_ms: u64, buy: bool, amount: i64) -> bool {
        self.advance_to(ts_ms);
        let slot = (ts_ms / self.bucket_ms) as i64;
        if slot <= self.head - N as i64 {
            self.dropped += 1;
            return false;
        }
        let b = &mut self.buckets[Self::idx(slot)];
        if b.slot != slot {
            // Held an older slot that has already left every window.
            *b = Bucket {
                slot,
                sums: TwoSided::default(),
            };
        }
        let side = |t: &mut TwoSided| {
            if buy {
                t.buy = t.buy.saturating_add(amount);
            } else {
                t.sell = t.sell.saturating_add(amount);
            }
            t.count += 1;
        };
        side(&mut b.sums);
        for (sum, &len) in self.sums.iter_mut().zip(self.lens.iter()) {
            if slot > self.head - len {
                side(sum);
            }
        }
        true
    }

    /// Totals of window `w` as of the newest bucket seen.
    #[inline]
    pub fn sum(&self, w: usize) -> TwoSided {
        self.sums.get(w).copied().unwrap_or_default()
    }

    /// Totals of window `w` as of `now_ms` (advances time first).
    #[inline]
    pub fn sum_at(&mut self, w: usize, now_ms: u64) -> TwoSided {
        self.advance_to(now_ms);
        self.sum(w)
    }

    /// Events dropped because they were older than the ring.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force reference: sums of events with bucket in (head - len, head].
    fn reference(events: &[(u64, bool, i64)], bucket: u64, len: u64, head_ms: u64) -> (i64, i64) {
        let head = head_ms / bucket;
        let (mut b, mut s) = (0, 0);
        for &(ts, buy, amt) in events {
            let slot = ts / bucket;
            if slot + len > head && slot <= head {
                if buy {
                    b += amt
                } else {
                    s += amt
                }
            }
        }
        (b, s)
    }

    #[test]
    fn matches_brute_force_with_gaps_and_late_events() {
        let mut r: RollingSums<600, 3> = RollingSums::new(100, [1_000, 5_000, 60_000]);
        let mut events = Vec::new();
        let mut ts = 1_723_161_255_000u64;
        let mut x = 12345u64;
        let mut head_ms = 0u64;
        for i in 0..20_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let step = match x >> 60 {
                0 => 70_000, // longer than every window
                1 => 6_000,
                2..=5 => (x >> 40) % 900,
                _ => (x >> 40) % 40,
            };
            ts += step;
            // one event in 8 arrives late by up to 3 s
            let late = if (x >> 20) % 8 == 0 {
                (x >> 8) % 3_000
            } else {
                0
            };
            let ets = ts - late;
            let buy = (x >> 33) & 1 == 1;
            let amt = ((x >> 13) % 1000) as i64 + 1;
            assert!(r.add(ets, buy, amt));
            events.push((ets, buy, amt));
            head_ms = head_ms.max(ets);
            if i % 97 == 0 {
                for (w, len) in [10u64, 50, 600].into_iter().enumerate() {
                    let (b, s) = reference(&events, 100, len, head_ms);
                    let got = r.sum(w);
                    assert_eq!((got.buy, got.sell), (b, s), "window {w} at event {i}");
                }
            }
        }
        // Time passing with no events empties the windows.
        let later = head_ms + 2_000;
        assert_eq!(r.sum_at(0, later), TwoSided::default());
        let (b, s) = reference(&events, 100, 600, later);
        let got = r.sum(2);
        assert_eq!((got.buy, got.sell), (b, s));
        assert_eq!(r.window_ms(1), Some(5_000));
    }

    #[test]
    fn drops_events_older_than_the_ring() {
        let mut r: RollingSums<10, 1> = RollingSums::new(1_000, [10_000]);
        assert!(r.add(100_000, true, 5));
        assert!(!r.add(89_999, true, 5));
        assert_eq!(r.dropped(), 1);
        assert!(r.add(91_000, false, 2));
        assert_eq!(
            r.sum(0),
            TwoSided {
                buy: 5,
                sell: 2,
                count: 2
            }
        );
        assert_eq!(r.sum(0).imbalance(), 3);
    }
}
