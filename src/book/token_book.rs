//! The order book of one outcome token: two fixed ladders (bids, asks) of aggregate sizes in
//! micro-shares, indexed by price slot on the token's [`TickSize`] grid.
//!
//! Invariants:
//! * Both ladders are allocated once, at [`MAX_SLOTS`] each, when the book is created; nothing
//!   on the update path allocates.
//! * Sizes are ≥ 0 micro-shares; 0 means "no level". `levels` counts the non-zero slots.
//! * `best` is the best non-empty slot (highest bid / lowest ask) or `NONE`. It is kept exact:
//!   an improving level moves it in O(1); emptying the best level scans only towards worse
//!   prices, and only inside the occupied extent `[lo, hi]`.
//! * `[lo, hi]` covers every non-zero slot (it may be wider), so a snapshot clears only that
//!   range instead of the whole array.
//! * A book is tradeable only when it holds a snapshot on its current grid (`awaiting_snapshot`
//!   false), has not been found inconsistent with the venue (`stale` false) and its market is not
//!   resolved.

use super::grid::{GridError, TickSize, MAX_SLOTS};

const NONE: u32 = u32::MAX;

/// Which side of a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookSide {
    /// Resting buy orders (the venue's `BUY` side).
    Bid,
    /// Resting sell orders (the venue's `SELL` side).
    Ask,
}

/// One price level: price in micro-units, aggregate size in micro-shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Price, micro-units (1.0 = 1,000,000).
    pub price_micro: i64,
    /// Aggregate resting size, micro-shares (1 share = 1,000,000).
    pub size_micro: i64,
}

/// One side of a book: a fixed array of sizes with an exactly maintained best slot.
#[derive(Debug)]
struct Ladder {
    sizes: Box<[i64]>,
    best: u32,
    lo: u32,
    hi: u32,
    levels: u32,
    is_bid: bool,
}

impl Ladder {
    fn new(is_bid: bool) -> Ladder {
        Ladder {
            sizes: vec![0i64; MAX_SLOTS].into_boxed_slice(),
            best: NONE,
            lo: NONE,
            hi: 0,
            levels: 0,
            is_bid,
        }
    }

    #[inline]
    fn clear(&mut self) {
        if self.lo != NONE && self.lo <= self.hi {
            if let Some(range) = self.sizes.get_mut(self.lo as usize..=self.hi as usize) {
                range.fill(0);
            }
        }
        self.best = NONE;
        self.lo = NONE;
        self.hi = 0;
        self.levels = 0;
    }

    /// Set slot `idx` (already validated `< MAX_SLOTS`) to `size` (≥ 0).
    #[inline]
    fn set(&mut self, idx: usize, size: i64) {
        let Some(slot) = self.sizes.get_mut(idx) else {
            return;
        };
        let prev = *slot;
        *slot = size;
        let i = idx as u32;
        if size > 0 {
            if prev == 0 {
                self.levels += 1;
                if self.lo == NONE || i < self.lo {
                    self.lo = i;
                }
                if i > self.hi {
                    self.hi = i;
                }
            }
            if self.best == NONE
                || (self.is_bid && i > self.best)
                || (!self.is_bid && i < self.best)
            {
                self.best = i;
            }
        } else if prev > 0 {
            self.levels -= 1;
            if self.levels == 0 {
                self.best = NONE;
                self.lo = NONE;
                self.hi = 0;
            } else if self.best == i {
                self.best = self.scan_from(i);
            }
        }
    }

    /// Next non-empty slot strictly worse than `from`, inside `[lo, hi]`.
    #[inline]
    fn scan_from(&self, from: u32) -> u32 {
        if self.is_bid {
            let lo = self.lo as usize;
            let mut i = from as usize;
            while i > lo {
                i -= 1;
                if self.sizes.get(i).copied().unwrap_or(0) > 0 {
                    return i as u32;
                }
            }
        } else {
            let hi = self.hi as usize;
            let mut i = from as usize;
            while i < hi {
                i += 1;
                if self.sizes.get(i).copied().unwrap_or(0) > 0 {
                    return i as u32;
                }
            }
        }
        NONE
    }

    /// Non-empty slots from the best towards worse prices, at most `max_slots_away` slots away.
    #[inline]
    fn walk(&self, max_slots_away: usize) -> impl Iterator<Item = (usize, i64)> + '_ {
        let (start, end) = if self.best == NONE {
            (1usize, 0usize)
        } else if self.is_bid {
            let b = self.best as usize;
            (b.saturating_sub(max_slots_away).max(self.lo as usize), b)
        } else {
            let b = self.best as usize;
            (b, b.saturating_add(max_slots_away).min(self.hi as usize))
        };
        let slice = if start <= end {
            self.sizes.get(start..=end).unwrap_or(&[])
        } else {
            &[]
        };
        let is_bid = self.is_bid;
        let n = slice.len();
        (0..n)
            .map(move |k| if is_bid { n - 1 - k } else { k })
            .filter_map(move |k| {
                let s = slice.get(k).copied().unwrap_or(0);
                (s > 0).then_some((start + k, s))
            })
    }
}

/// Order book of one outcome token.
#[derive(Debug)]
pub struct TokenBook {
    bids: Ladder,
    asks: Ladder,
    tick: TickSize,
    awaiting_snapshot: bool,
    stale: bool,
    resolved: bool,
    local_ns: u64,
    exchange_ms: u64,
    last_trade_price_micro: i64,
}

impl TokenBook {
    /// An empty book on `tick`, awaiting its first snapshot. Allocates both ladders (the only
    /// allocation a book ever makes).
    pub fn new(tick: TickSize) -> TokenBook {
        TokenBook {
            bids: Ladder::new(true),
            asks: Ladder::new(false),
            tick,
            awaiting_snapshot: true,
            stale: false,
            resolved: false,
            local_ns: 0,
            exchange_ms: 0,
            last_trade_price_micro: 0,
        }
    }

    /// Empty the book and put it on `tick` for a newly discovered token (slot reuse).
    pub fn reset(&mut self, tick: TickSize) {
        self.bids.clear();
        self.asks.clear();
        self.tick = tick;
        self.awaiting_snapshot = true;
        self.stale = false;
        self.resolved = false;
        self.local_ns = 0;
        self.exchange_ms = 0;
        self.last_trade_price_micro = 0;
    }

    #[inline]
    fn ladder(&self, side: BookSide) -> &Ladder {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    /// Current grid.
    #[inline]
    pub fn tick(&self) -> TickSize {
        self.tick
    }

    /// Best bid level, if any.
    #[inline]
    pub fn best_bid(&self) -> Option<Level> {
        self.best(BookSide::Bid)
    }

    /// Best ask level, if any.
    #[inline]
    pub fn best_ask(&self) -> Option<Level> {
        self.best(BookSide::Ask)
    }

    /// Best level of `side`, if any.
    #[inline]
    pub fn best(&self, side: BookSide) -> Option<Level> {
        let l = self.ladder(side);
        if l.best == NONE {
            return None;
        }
        let idx = l.best as usize;
        Some(Level {
            price_micro: self.tick.price_of(idx),
            size_micro: l.sizes.get(idx).copied().unwrap_or(0),
        })
    }

    /// Best price of `side` in micro-units, if any.
    #[inline]
    pub fn best_price(&self, side: BookSide) -> Option<i64> {
        let l = self.ladder(side);
        (l.best != NONE).then(|| self.tick.price_of(l.best as usize))
    }

    /// Aggregate size at `price_micro` on `side` (0 when empty or off the grid).
    pub fn size_at(&self, side: BookSide, price_micro: i64) -> i64 {
        match self.tick.index_of(price_micro) {
            Ok(i) => self.ladder(side).sizes.get(i).copied().unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// Number of non-empty levels on `side`.
    #[inline]
    pub fn level_count(&self, side: BookSide) -> usize {
        self.ladder(side).levels as usize
    }

    /// Total size (micro-shares) resting within `cents` cents of the best price of `side`,
    /// best level included (`cents == 0` gives the best level alone). O(slots in range).
    pub fn depth_within(&self, side: BookSide, cents: u32) -> i64 {
        let slots = (cents as i64 * 10_000 / self.tick.micro()) as usize;
        self.ladder(side).walk(slots).map(|(_, s)| s).sum()
    }

    /// Total size (micro-shares) of the best `n` non-empty levels of `side`.
    pub fn top_n_depth(&self, side: BookSide, n: usize) -> i64 {
        self.ladder(side)
            .walk(usize::MAX)
            .take(n)
            .map(|(_, s)| s)
            .sum()
    }

    /// The best `out.len()` non-empty levels of `side`, best first; returns how many were written.
    pub fn top_levels(&self, side: BookSide, out: &mut [Level]) -> usize {
        let tick = self.tick;
        let mut n = 0;
        for ((idx, size), slot) in self.ladder(side).walk(usize::MAX).zip(out.iter_mut()) {
            *slot = Level {
                price_micro: tick.price_of(idx),
                size_micro: size,
            };
            n += 1;
        }
        n
    }

    /// Best bid ≥ best ask.
    pub fn is_crossed(&self) -> bool {
        match (
            self.best_price(BookSide::Bid),
            self.best_price(BookSide::Ask),
        ) {
            (Some(b), Some(a)) => b >= a,
            _ => false,
        }
    }

    /// May a strategy act on this book? False while awaiting a snapshot (start, re-grid, failed
    /// snapshot), while stale (venue top of book disagreed) and once the market resolved.
    #[inline]
    pub fn is_tradeable(&self) -> bool {
        !self.awaiting_snapshot && !self.stale && !self.resolved
    }

    /// True while the book waits for a `book` snapshot on its current grid.
    #[inline]
    pub fn is_awaiting_snapshot(&self) -> bool {
        self.awaiting_snapshot
    }

    /// True after a consistency mismatch until the next snapshot.
    #[inline]
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// True once the market resolved.
    #[inline]
    pub fn is_resolved(&self) -> bool {
        self.resolved
    }

    /// Updated (local monotonic clock) within `max_age_ns` of `now_ns`, and holding a snapshot.
    #[inline]
    pub fn is_fresh(&self, now_ns: u64, max_age_ns: u64) -> bool {
        !self.awaiting_snapshot && now_ns.saturating_sub(self.local_ns) <= max_age_ns
    }

    /// Local monotonic time (ns) of the last applied update.
    #[inline]
    pub fn last_update_local_ns(&self) -> u64 {
        self.local_ns
    }

    /// Venue timestamp (epoch ms) of the last applied update.
    #[inline]
    pub fn last_update_exchange_ms(&self) -> u64 {
        self.exchange_ms
    }

    /// Price (micro-units) of the last trade print seen, 0 if none.
    #[inline]
    pub fn last_trade_price_micro(&self) -> i64 {
        self.last_trade_price_micro
    }

    // ----- mutation (crate-internal: driven by `MarketBooks`) -----

    /// Start a snapshot: empty both sides. Levels then arrive through `set_level`.
    #[inline]
    pub(crate) fn begin_snapshot(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Set the aggregate size of one level (0 removes it).
    #[inline]
    pub(crate) fn set_level(
        &mut self,
        side: BookSide,
        price_micro: i64,
        size_micro: i64,
    ) -> Result<(), GridError> {
        let idx = self.tick.index_of(price_micro)?;
        let size = size_micro.max(0);
        match side {
            BookSide::Bid => self.bids.set(idx, size),
            BookSide::Ask => self.asks.set(idx, size),
        }
        Ok(())
    }

    /// A snapshot was fully applied: the book is consistent again.
    #[inline]
    pub(crate) fn finish_snapshot(&mut self, exchange_ms: u64, local_ns: u64) {
        self.awaiting_snapshot = false;
        self.stale = false;
        self.touch(exchange_ms, local_ns);
    }

    #[inline]
    pub(crate) fn touch(&mut self, exchange_ms: u64, local_ns: u64) {
        self.exchange_ms = exchange_ms;
        self.local_ns = local_ns;
    }

    /// Move to a new grid: levels are dropped and the book waits for a snapshot.
    pub(crate) fn regrid(&mut self, tick: TickSize) {
        self.bids.clear();
        self.asks.clear();
        self.tick = tick;
        self.awaiting_snapshot = true;
    }

    pub(crate) fn mark_awaiting_snapshot(&mut self) {
        self.awaiting_snapshot = true;
    }

    pub(crate) fn mark_stale(&mut self) {
        self.stale = true;
    }

    pub(crate) fn mark_resolved(&mut self) {
        self.resolved = true;
    }

    pub(crate) fn set_last_trade(&mut self, price_micro: i64) {
        self.last_trade_price_micro = price_micro;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> TokenBook {
        TokenBook::new(TickSize::Cent)
    }

    #[test]
    fn best_tracks_inserts_and_removals() {
        let mut b = book();
        b.begin_snapshot();
        b.set_level(BookSide::Bid, 480_000, 30_000_000).unwrap();
        b.set_level(BookSide::Bid, 470_000, 10_000_000).unwrap();
        b.set_level(BookSide::Bid, 450_000, 5_000_000).unwrap();
        b.set_level(BookSide::Ask, 520_000, 7_000_000).unwrap();
        b.set_level(BookSide::Ask, 500_000, 1_000_000).unwrap();
        b.finish_snapshot(1, 1);
        assert_eq!(
            b.best_bid(),
            Some(Level {
                price_micro: 480_000,
                size_micro: 30_000_000
            })
        );
        assert_eq!(b.best_ask().unwrap().price_micro, 500_000);
        // improve
        b.set_level(BookSide::Bid, 490_000, 1).unwrap();
        assert_eq!(b.best_bid().unwrap().price_micro, 490_000);
        // remove best twice: scan down
        b.set_level(BookSide::Bid, 490_000, 0).unwrap();
        b.set_level(BookSide::Bid, 480_000, 0).unwrap();
        assert_eq!(b.best_bid().unwrap().price_micro, 470_000);
        b.set_level(BookSide::Ask, 500_000, 0).unwrap();
        assert_eq!(b.best_ask().unwrap().price_micro, 520_000);
        // removing a non-best level leaves the best alone
        b.set_level(BookSide::Bid, 450_000, 0).unwrap();
        assert_eq!(b.best_bid().unwrap().price_micro, 470_000);
        assert_eq!(b.level_count(BookSide::Bid), 1);
        b.set_level(BookSide::Bid, 470_000, 0).unwrap();
        assert_eq!(b.best_bid(), None);
        assert_eq!(b.level_count(BookSide::Bid), 0);
        // removing an absent level is a no-op
        b.set_level(BookSide::Bid, 100_000, 0).unwrap();
        assert_eq!(b.level_count(BookSide::Bid), 0);
    }

    #[test]
    fn snapshot_clears_previous_levels() {
        let mut b = book();
        b.set_level(BookSide::Bid, 10_000, 1).unwrap();
        b.set_level(BookSide::Bid, 990_000, 1).unwrap();
        b.begin_snapshot();
        assert_eq!(b.best_bid(), None);
        assert_eq!(b.size_at(BookSide::Bid, 10_000), 0);
        assert_eq!(b.size_at(BookSide::Bid, 990_000), 0);
        b.set_level(BookSide::Bid, 500_000, 2).unwrap();
        assert_eq!(b.best_bid().unwrap().price_micro, 500_000);
    }

    #[test]
    fn depth_queries() {
        let mut b = book();
        for (p, s) in [(480_000, 1), (470_000, 2), (460_000, 4), (400_000, 8)] {
            b.set_level(BookSide::Bid, p, s).unwrap();
        }
        for (p, s) in [(500_000, 16), (530_000, 32)] {
            b.set_level(BookSide::Ask, p, s).unwrap();
        }
        assert_eq!(b.depth_within(BookSide::Bid, 0), 1);
        assert_eq!(b.depth_within(BookSide::Bid, 2), 7);
        assert_eq!(b.depth_within(BookSide::Bid, 100), 15);
        assert_eq!(b.depth_within(BookSide::Ask, 2), 16);
        assert_eq!(b.depth_within(BookSide::Ask, 3), 48);
        assert_eq!(b.top_n_depth(BookSide::Bid, 3), 7);
        assert_eq!(b.top_n_depth(BookSide::Bid, 10), 15);
        assert_eq!(b.top_n_depth(BookSide::Ask, 1), 16);
        let mut out = [Level {
            price_micro: 0,
            size_micro: 0,
        }; 3];
        assert_eq!(b.top_levels(BookSide::Bid, &mut out), 3);
        assert_eq!(out[2].price_micro, 460_000);
        assert_eq!(b.top_levels(BookSide::Ask, &mut out), 2);
        assert_eq!(out[1].price_micro, 530_000);
    }

    #[test]
    fn regrid_waits_for_snapshot_and_state_flags() {
        let mut b = book();
        assert!(!b.is_tradeable());
        b.set_level(BookSide::Bid, 480_000, 1).unwrap();
        b.finish_snapshot(10, 100);
        assert!(b.is_tradeable());
        assert!(b.is_fresh(150, 50));
        assert!(!b.is_fresh(151, 50));
        b.regrid(TickSize::Mill);
        assert!(!b.is_tradeable());
        assert_eq!(b.best_bid(), None);
        assert!(b.set_level(BookSide::Bid, 481_000, 1).is_ok());
        b.finish_snapshot(11, 200);
        assert!(b.is_tradeable());
        b.mark_stale();
        assert!(!b.is_tradeable());
        b.finish_snapshot(12, 300);
        assert!(b.is_tradeable());
        b.mark_resolved();
        assert!(!b.is_tradeable());
        assert!(b.set_level(BookSide::Bid, 481_000, 1).is_ok());
        assert!(matches!(
            TokenBook::new(TickSize::Cent).set_level(BookSide::Ask, 480_500, 1),
            Err(GridError::OffGrid { .. })
        ));
    }

    #[test]
    fn finest_grid_uses_the_whole_array() {
        let mut b = TokenBook::new(TickSize::TenthMill);
        b.set_level(BookSide::Bid, 100, 1).unwrap();
        b.set_level(BookSide::Ask, 999_900, 1).unwrap();
        assert_eq!(b.best_bid().unwrap().price_micro, 100);
        assert_eq!(b.best_ask().unwrap().price_micro, 999_900);
        b.set_level(BookSide::Ask, 500_000, 3).unwrap();
        b.set_level(BookSide::Ask, 500_000, 0).unwrap();
        assert_eq!(b.best_ask().unwrap().price_micro, 999_900);
    }
}
