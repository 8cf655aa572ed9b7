//! Per-second tick history of one oracle topic of one asset, plus observation-gap statistics.
//!
//! [`TickRing`] is direct-mapped: the tick observed at second `s` lives in slot
//! `s % RING_SECONDS`, so "the tick at exactly second s" is one load. The ring covers the
//! `RING_SECONDS` seconds ending at the newest observation (enough for a 15-minute window plus
//! margin); anything older is reported as evicted, never guessed. Fixed memory, no allocation
//! after construction.
//!
//! Rewrites of one second keep the best value: an exact (E18 string) value is never replaced by
//! an inexact (float-derived) one; two different exact values for the same second are counted as
//! a conflict and the later one wins. Observation times that are not whole seconds are not
//! stored (Chainlink stamps whole seconds) and are counted by the caller.
//!
//! [`GapStats`] counts forward steps of the newest observation time larger than a threshold.

/// Seconds of history kept per topic and asset (a 15-minute window plus about 2 minutes).
pub const RING_SECONDS: usize = 1024;

/// Last gaps remembered individually.
pub const RECENT_GAPS: usize = 16;

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Observation second held, 0 = empty.
    obs_s: u64,
    price_e18: i128,
    exact: bool,
}

/// One stored tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredTick {
    pub obs_s: u64,
    pub price_e18: i128,
    pub exact: bool,
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// First value for that second.
    Stored,
    /// Same second already held the identical value (re-delivery, e.g. backfill overlap).
    Duplicate,
    /// An exact value replaced an inexact one.
    Upgraded,
    /// An inexact value arrived for a second that already has an exact one; ignored.
    KeptExact,
    /// A different exact value replaced the held exact one.
    Conflict,
    /// Older than the ring covers; dropped.
    TooOld,
}

/// Why a second has no usable tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingMiss {
    /// The second is covered but no tick was observed for it.
    Absent,
    /// The second is older than the ring covers.
    Evicted,
    /// No observation at or after that second yet.
    NotYet,
}

/// Direct-mapped ring of per-second ticks.
pub struct TickRing {
    slots: Box<[Slot]>,
    newest_s: u64,
}

impl Default for TickRing {
    fn default() -> Self {
        Self::new()
    }
}

impl TickRing {
    /// An empty ring (allocates its slots once).
    #[cold]
    pub fn new() -> Self {
        TickRing {
            slots: vec![Slot::default(); RING_SECONDS].into_boxed_slice(),
            newest_s: 0,
        }
    }

    /// Newest observation second stored, if any.
    #[inline]
    pub fn newest_s(&self) -> Option<u64> {
        (self.newest_s != 0).then_some(self.newest_s)
    }

    /// Oldest second the ring still covers, if any tick was stored.
    #[inline]
    pub fn oldest_covered_s(&self) -> Option<u64> {
        self.newest_s()
            .map(|n| n.saturating_sub(RING_SECONDS as u64 - 1).max(1))
    }

    #[inline]
    fn slot_index(s: u64) -> usize {
        (s % RING_SECONDS as u64) as usize
    }

    /// Store the tick observed at second `obs_s` (> 0).
    #[inline]
    pub fn insert(&mut self, obs_s: u64, price_e18: i128, exact: bool) -> InsertOutcome {
        if obs_s == 0 {
            return InsertOutcome::TooOld;
        }
        if let Some(oldest) = self.oldest_covered_s() {
            if obs_s < oldest {
                return InsertOutcome::TooOld;
            }
        }
        if obs_s > self.newest_s {
            self.newest_s = obs_s;
        }
        let Some(slot) = self.slots.get_mut(Self::slot_index(obs_s)) else {
            return InsertOutcome::TooOld;
        };
        let outcome = if slot.obs_s != obs_s {
            InsertOutcome::Stored
        } else if slot.price_e18 == price_e18 && slot.exact == exact {
            InsertOutcome::Duplicate
        } else if slot.exact && !exact {
            return InsertOutcome::KeptExact;
        } else if !slot.exact && exact {
            InsertOutcome::Upgraded
        } else if slot.exact {
            InsertOutcome::Conflict
        } else {
            // Two inexact values: keep the later one; not a conflict of record.
            InsertOutcome::Upgraded
        };
        *slot = Slot {
            obs_s,
            price_e18,
            exact,
        };
        outcome
    }

    /// The tick observed at exactly second `s`.
    #[inline]
    pub fn get(&self, s: u64) -> Result<StoredTick, RingMiss> {
        let newest = self.newest_s().ok_or(RingMiss::NotYet)?;
        if s > newest {
            return Err(RingMiss::NotYet);
        }
        if self.oldest_covered_s().is_some_and(|o| s < o) {
            return Err(RingMiss::Evicted);
        }
        match self.slots.get(Self::slot_index(s)) {
            Some(slot) if slot.obs_s == s => Ok(StoredTick {
                obs_s: s,
                price_e18: slot.price_e18,
                exact: slot.exact,
            }),
            _ => Err(RingMiss::Absent),
        }
    }

    /// The latest tick observed at or before second `t` and not before `floor_s`.
    /// `Err(Evicted)` when the search would have to go below the covered range.
    pub fn last_at_or_before(&self, t: u64, floor_s: u64) -> Result<StoredTick, RingMiss> {
        let newest = self.newest_s().ok_or(RingMiss::NotYet)?;
        let oldest = self.oldest_covered_s().unwrap_or(1);
        let mut s = t.min(newest);
        loop {
            if s < floor_s {
                return Err(RingMiss::Absent);
            }
            if s < oldest {
                return Err(RingMiss::Evicted);
            }
            if let Ok(tick) = self.get(s) {
                return Ok(tick);
            }
            if s == 0 {
                return Err(RingMiss::Absent);
            }
            s -= 1;
        }
    }

    /// Sum and count of the ticks observed in seconds `from_s..=to_s`, and how many of them are
    /// inexact. `Err(Evicted)` when part of the range is no longer covered.
    pub fn sum_range(&self, from_s: u64, to_s: u64) -> Result<RangeSum, RingMiss> {
        let newest = self.newest_s().ok_or(RingMiss::NotYet)?;
        if to_s > newest {
            return Err(RingMiss::NotYet);
        }
        if self.oldest_covered_s().is_some_and(|o| from_s < o) {
            return Err(RingMiss::Evicted);
        }
        let mut r = RangeSum::default();
        let mut s = from_s;
        while s <= to_s {
            if let Ok(t) = self.get(s) {
                r.sum_e18 += t.price_e18;
                r.count += 1;
                if !t.exact {
                    r.inexact += 1;
                }
            }
            s += 1;
        }
        Ok(r)
    }
}

/// Result of [`TickRing::sum_range`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RangeSum {
    pub sum_e18: i128,
    pub count: u32,
    pub inexact: u32,
}

/// One observation gap: the newest observation jumped from `from_s` to `from_s + step_s`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gap {
    pub from_s: u64,
    pub step_s: u64,
}

/// Counts of forward observation-time steps larger than `threshold_s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapStats {
    threshold_s: u64,
    /// Steps larger than the threshold.
    pub count: u64,
    /// Largest forward step seen (any size).
    pub max_step_s: u64,
    /// Sum of the steps that counted as gaps.
    pub gap_seconds: u64,
    /// Seconds skipped by all forward steps (`step - 1` summed): missing ticks at 1 Hz.
    pub skipped_seconds: u64,
    recent: [Gap; RECENT_GAPS],
    recent_next: usize,
}

impl GapStats {
    /// Stats counting steps larger than `threshold_s` seconds.
    pub const fn new(threshold_s: u64) -> Self {
        GapStats {
            threshold_s,
            count: 0,
            max_step_s: 0,
            gap_seconds: 0,
            skipped_seconds: 0,
            recent: [Gap {
                from_s: 0,
                step_s: 0,
            }; RECENT_GAPS],
            recent_next: 0,
        }
    }

    /// Gap threshold in seconds.
    pub const fn threshold_s(&self) -> u64 {
        self.threshold_s
    }

    /// Record the newest observation moving forward from `prev_s` to `new_s`; returns the gap
    /// if this step counts as one.
    #[inline]
    pub fn observe(&mut self, prev_s: u64, new_s: u64) -> Option<Gap> {
        let step = new_s.checked_sub(prev_s)?;
        if step == 0 {
            return None;
        }
        self.max_step_s = self.max_step_s.max(step);
        self.skipped_seconds += step - 1;
        if step <= self.threshold_s {
            return None;
        }
        self.count += 1;
        self.gap_seconds += step;
        let gap = Gap {
            from_s: prev_s,
            step_s: step,
        };
        if let Some(slot) = self.recent.get_mut(self.recent_next % RECENT_GAPS) {
            *slot = gap;
        }
        self.recent_next += 1;
        Some(gap)
    }

    /// The last gaps (up to [`RECENT_GAPS`]), oldest first.
    pub fn recent(&self) -> impl Iterator<Item = Gap> + '_ {
        let n = self.recent_next.min(RECENT_GAPS);
        let start = self.recent_next - n;
        (start..self.recent_next).filter_map(move |i| self.recent.get(i % RECENT_GAPS).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_780_876_800;

    #[test]
    fn exact_second_lookup_and_eviction() {
        let mut r = TickRing::new();
        assert_eq!(r.get(T0), Err(RingMiss::NotYet));
        assert_eq!(r.insert(T0, 10, true), InsertOutcome::Stored);
        assert_eq!(r.insert(T0 + 2, 12, true), InsertOutcome::Stored);
        assert_eq!(r.get(T0).unwrap().price_e18, 10);
        assert_eq!(r.get(T0 + 1), Err(RingMiss::Absent));
        assert_eq!(r.get(T0 + 3), Err(RingMiss::NotYet));
        assert_eq!(r.last_at_or_before(T0 + 1, T0).unwrap().obs_s, T0);
        assert_eq!(r.last_at_or_before(T0 + 1, T0 + 1), Err(RingMiss::Absent));
        // Same slot, one ring later: the old second is evicted, not aliased.
        let later = T0 + RING_SECONDS as u64;
        assert_eq!(r.insert(later, 99, true), InsertOutcome::Stored);
        assert_eq!(r.get(T0), Err(RingMiss::Evicted));
        assert_eq!(r.get(later).unwrap().price_e18, 99);
        assert_eq!(r.insert(T0, 1, true), InsertOutcome::TooOld);
        assert_eq!(r.get(T0 + 2).unwrap().price_e18, 12);
    }

    #[test]
    fn rewrite_rules() {
        let mut r = TickRing::new();
        assert_eq!(r.insert(T0, 5, false), InsertOutcome::Stored);
        assert_eq!(r.insert(T0, 6, true), InsertOutcome::Upgraded);
        assert_eq!(r.insert(T0, 7, false), InsertOutcome::KeptExact);
        assert_eq!(r.insert(T0, 6, true), InsertOutcome::Duplicate);
        assert_eq!(r.insert(T0, 8, true), InsertOutcome::Conflict);
        assert_eq!(
            r.get(T0).unwrap(),
            StoredTick {
                obs_s: T0,
                price_e18: 8,
                exact: true
            }
        );
    }

    #[test]
    fn range_sum() {
        let mut r = TickRing::new();
        for i in 0..10 {
            if i != 4 {
                r.insert(T0 + i, 100 + i as i128, i != 7);
            }
        }
        let s = r.sum_range(T0 + 2, T0 + 8).unwrap();
        assert_eq!(s.count, 6);
        assert_eq!(s.sum_e18, 102 + 103 + 105 + 106 + 107 + 108);
        assert_eq!(s.inexact, 1);
        assert_eq!(r.sum_range(T0 + 5, T0 + 10), Err(RingMiss::NotYet));
    }

    #[test]
    fn gaps() {
        let mut g = GapStats::new(60);
        assert_eq!(g.observe(T0, T0 + 1), None);
        assert_eq!(g.observe(T0 + 1, T0 + 61), None);
        assert_eq!(
            g.observe(T0 + 61, T0 + 122),
            Some(Gap {
                from_s: T0 + 61,
                step_s: 61
            })
        );
        assert_eq!(g.observe(T0 + 122, T0 + 100), None);
        assert_eq!(g.count, 1);
        assert_eq!(g.max_step_s, 61);
        assert_eq!(g.skipped_seconds, 59 + 60);
        assert_eq!(g.recent().count(), 1);
    }
}
