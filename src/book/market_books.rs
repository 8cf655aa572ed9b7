//! All books of the engine: for every discovered market, the Up and Down [`TokenBook`]s, the
//! token-id interner, the resync request set and the consistency counters.
//!
//! Invariants:
//! * Capacity (markets) is fixed at construction, where every ladder is allocated; discovering,
//!   retiring and updating markets afterwards never allocates.
//! * Market `m` owns tokens `2m` (Up) and `2m + 1` (Down).
//! * A resync request for a token stays pending until drained by the engine or satisfied by a
//!   fresh snapshot; requesting twice counts once.
//! * Consistency rule: after a `price_change`, the local best bid/ask must equal the venue's
//!   `best_bid`/`best_ask` for that token; a mismatch marks the book stale (not tradeable) and
//!   requests a resync. A `tick_size_change` re-grids the book, which then waits for a snapshot.

use super::grid::{GridError, TickSize, PRICE_ONE_MICRO};
use super::intern::{AsciiId, InternError, TokenInterner, TokenKey};
use super::token_book::{BookSide, TokenBook};
use super::{MarketIdx, Outcome, TokenIdx};
use thiserror::Error;

/// A condition id (`0x` + 64 hex digits) held inline.
pub type ConditionId = AsciiId<66>;

/// Why a market could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BookSetError {
    /// Every market slot is in use.
    #[error("all market slots are in use")]
    Full,
    /// Token id refused by the interner.
    #[error("token id: {0}")]
    Token(#[from] InternError),
    /// Condition id longer than 66 bytes.
    #[error("condition id too long")]
    BadConditionId,
}

/// Why a book was asked to resync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncReason {
    /// Local top of book disagreed with the venue's `best_bid`/`best_ask`.
    TopMismatch,
    /// Tick size changed; the book waits for a snapshot on the new grid.
    Regrid,
    /// An update for the book could not be applied (bad number, off-grid price, ...).
    BadUpdate,
    /// The snapshot a subscription asked for did not come in time.
    SnapshotOverdue,
}

/// Counters of book consistency events (monotonic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BookCounters {
    /// Snapshots applied.
    pub snapshots: u64,
    /// Single-level updates applied.
    pub level_updates: u64,
    /// Top-of-book checks made against the venue's best bid/ask.
    pub top_checks: u64,
    /// Checks that disagreed.
    pub top_mismatches: u64,
    /// Books newly marked stale.
    pub stale_marks: u64,
    /// Resync requests raised (deduplicated while pending).
    pub resync_requests: u64,
    /// Re-grids after a tick-size change.
    pub regrids: u64,
    /// Updates that could not be applied (off-grid or out-of-range price).
    pub rejected_updates: u64,
    /// Price changes ignored because the book was awaiting a snapshot.
    pub ignored_while_awaiting: u64,
}

/// Result of comparing an Up book against its Down book (Up bid p ⇔ Down ask 1 − p).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirrorCheck {
    /// Up best bid + Down best ask == 1 (or both sides empty).
    pub bid_side_mirrors: bool,
    /// Up best ask + Down best bid == 1 (or both sides empty).
    pub ask_side_mirrors: bool,
}

#[derive(Debug, Clone, Copy)]
struct MarketSlot {
    live: bool,
    condition_id: ConditionId,
}

/// Every book the engine keeps, plus the token interner.
pub struct MarketBooks {
    interner: TokenInterner,
    books: Vec<TokenBook>,
    token_ids: Vec<TokenKey>,
    markets: Vec<MarketSlot>,
    resync_pending: Vec<u64>,
    resync_reason: Vec<ResyncReason>,
    counters: BookCounters,
}

impl MarketBooks {
    /// Room for `max_markets` markets (2 books each). Allocates every ladder now:
    /// about 160 KiB per token.
    pub fn with_capacity(max_markets: usize) -> MarketBooks {
        let max_markets = max_markets.clamp(1, (u16::MAX / 2) as usize);
        let tokens = max_markets * 2;
        MarketBooks {
            interner: TokenInterner::with_capacity(tokens),
            books: (0..tokens)
                .map(|_| TokenBook::new(TickSize::Cent))
                .collect(),
            token_ids: vec![TokenKey::EMPTY; tokens],
            markets: vec![
                MarketSlot {
                    live: false,
                    condition_id: ConditionId::EMPTY,
                };
                max_markets
            ],
            resync_pending: vec![0u64; tokens.div_ceil(64)],
            resync_reason: vec![ResyncReason::TopMismatch; tokens],
            counters: BookCounters::default(),
        }
    }

    /// Register a market with its Up and Down token ids (discovery time; no allocation).
    pub fn add_market(
        &mut self,
        condition_id: &str,
        up_token_id: &str,
        down_token_id: &str,
        tick: TickSize,
    ) -> Result<MarketIdx, BookSetError> {
        let cond = ConditionId::new(condition_id.as_bytes()).ok_or(BookSetError::BadConditionId)?;
        let m = self
            .markets
            .iter()
            .position(|s| !s.live)
            .ok_or(BookSetError::Full)?;
        let up = TokenIdx((2 * m) as u16);
        let down = TokenIdx((2 * m + 1) as u16);
        self.interner.insert(up_token_id.as_bytes(), up)?;
        if let Err(e) = self.interner.insert(down_token_id.as_bytes(), down) {
            self.interner.remove(up_token_id.as_bytes());
            return Err(e.into());
        }
        for (t, id) in [(up, up_token_id), (down, down_token_id)] {
            if let Some(book) = self.books.get_mut(t.0 as usize) {
                book.reset(tick);
            }
            if let Some(k) = self.token_ids.get_mut(t.0 as usize) {
                *k = TokenKey::new(id.as_bytes()).unwrap_or(TokenKey::EMPTY);
            }
            self.clear_resync(t);
        }
        if let Some(slot) = self.markets.get_mut(m) {
            *slot = MarketSlot {
                live: true,
                condition_id: cond,
            };
        }
        Ok(MarketIdx(m as u16))
    }

    /// Drop a market: its tokens stop resolving and its slot can be reused.
    pub fn retire_market(&mut self, market: MarketIdx) {
        let Some(slot) = self.markets.get_mut(market.0 as usize) else {
            return;
        };
        if !slot.live {
            return;
        }
        slot.live = false;
        let (up, down) = Self::tokens_of(market);
        for t in [up, down] {
            if let Some(k) = self.token_ids.get(t.0 as usize).copied() {
                self.interner.remove(k.as_bytes());
            }
            if let Some(k) = self.token_ids.get_mut(t.0 as usize) {
                *k = TokenKey::EMPTY;
            }
            self.clear_resync(t);
        }
    }

    /// Market slots (live or not).
    pub fn capacity(&self) -> usize {
        self.markets.len()
    }

    /// Hot path: the token whose id is `asset_id`, if known.
    #[inline]
    pub fn token(&self, asset_id: &[u8]) -> Option<TokenIdx> {
        self.interner.get(asset_id)
    }

    /// The Up and Down tokens of `market`.
    #[inline]
    pub fn tokens_of(market: MarketIdx) -> (TokenIdx, TokenIdx) {
        (TokenIdx(market.0 * 2), TokenIdx(market.0 * 2 + 1))
    }

    /// The market a token belongs to.
    #[inline]
    pub fn market_of(token: TokenIdx) -> MarketIdx {
        MarketIdx(token.0 / 2)
    }

    /// Up or Down.
    #[inline]
    pub fn outcome_of(token: TokenIdx) -> Outcome {
        if token.0 % 2 == 0 {
            Outcome::Up
        } else {
            Outcome::Down
        }
    }

    /// The other outcome's token of the same market.
    #[inline]
    pub fn complement(token: TokenIdx) -> TokenIdx {
        TokenIdx(token.0 ^ 1)
    }

    /// Token id bytes (for subscription frames); empty for an unused slot.
    pub fn token_id(&self, token: TokenIdx) -> &[u8] {
        self.token_ids
            .get(token.0 as usize)
            .map(|k| k.as_bytes())
            .unwrap_or(&[])
    }

    /// Condition id of a live market.
    pub fn condition_id(&self, market: MarketIdx) -> Option<&str> {
        self.markets
            .get(market.0 as usize)
            .filter(|s| s.live)
            .map(|s| s.condition_id.as_str())
    }

    /// Is `market` registered?
    pub fn is_live(&self, market: MarketIdx) -> bool {
        self.markets.get(market.0 as usize).is_some_and(|s| s.live)
    }

    /// The book of `token`.
    #[inline]
    pub fn book(&self, token: TokenIdx) -> Option<&TokenBook> {
        self.books.get(token.0 as usize)
    }

    /// Consistency counters.
    pub fn counters(&self) -> &BookCounters {
        &self.counters
    }

    /// Up/Down mirror check of `market` on the best prices.
    pub fn mirror_check(&self, market: MarketIdx) -> Option<MirrorCheck> {
        let (up, down) = Self::tokens_of(market);
        let (u, d) = (self.book(up)?, self.book(down)?);
        let pair = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(x), Some(y)) => x + y == PRICE_ONE_MICRO,
            (None, None) => true,
            _ => false,
        };
        Some(MirrorCheck {
            bid_side_mirrors: pair(u.best_price(BookSide::Bid), d.best_price(BookSide::Ask)),
            ask_side_mirrors: pair(u.best_price(BookSide::Ask), d.best_price(BookSide::Bid)),
        })
    }

    // ----- resync requests -----

    /// Raise a resync request for `token` (deduplicated while pending).
    pub fn request_resync(&mut self, token: TokenIdx, reason: ResyncReason) {
        let i = token.0 as usize;
        if let Some(word) = self.resync_pending.get_mut(i / 64) {
            let bit = 1u64 << (i % 64);
            if *word & bit == 0 {
                *word |= bit;
                self.counters.resync_requests += 1;
                if let Some(r) = self.resync_reason.get_mut(i) {
                    *r = reason;
                }
            }
        }
    }

    fn clear_resync(&mut self, token: TokenIdx) {
        let i = token.0 as usize;
        if let Some(word) = self.resync_pending.get_mut(i / 64) {
            *word &= !(1u64 << (i % 64));
        }
    }

    /// Is a resync pending for `token`?
    pub fn resync_pending(&self, token: TokenIdx) -> bool {
        let i = token.0 as usize;
        self.resync_pending
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    /// True when any resync is pending.
    pub fn any_resync_pending(&self) -> bool {
        self.resync_pending.iter().any(|w| *w != 0)
    }

    /// Hand every pending resync to `f` (token, reason) and clear them. No allocation.
    pub fn drain_resync(&mut self, mut f: impl FnMut(TokenIdx, ResyncReason)) {
        for (w, word) in self.resync_pending.iter_mut().enumerate() {
            let mut bits = *word;
            *word = 0;
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let i = w * 64 + b;
                let reason = self
                    .resync_reason
                    .get(i)
                    .copied()
                    .unwrap_or(ResyncReason::TopMismatch);
                f(TokenIdx(i as u16), reason);
            }
        }
    }

    // ----- updates (driven by the market-channel parser) -----

    #[inline]
    fn book_mut(&mut self, token: TokenIdx) -> Option<&mut TokenBook> {
        self.books.get_mut(token.0 as usize)
    }

    /// Start a snapshot of `token`. If the snapshot names a tick size different from the book's
    /// grid, the book re-grids first (counted).
    pub fn begin_snapshot(&mut self, token: TokenIdx, tick: Option<TickSize>) {
        let mut regridded = false;
        if let Some(book) = self.book_mut(token) {
            if let Some(t) = tick {
                if t != book.tick() {
                    book.regrid(t);
                    regridded = true;
                }
            }
            book.begin_snapshot();
            book.mark_awaiting_snapshot();
        }
        if regridded {
            self.counters.regrids += 1;
        }
    }

    /// Add one level of a snapshot in progress. On error the book stays awaiting a snapshot and
    /// a resync is requested.
    #[inline]
    pub fn snapshot_level(
        &mut self,
        token: TokenIdx,
        side: BookSide,
        price_micro: i64,
        size_micro: i64,
    ) -> Result<(), GridError> {
        let r = match self.book_mut(token) {
            Some(book) => book.set_level(side, price_micro, size_micro),
            None => return Ok(()),
        };
        if r.is_err() {
            self.counters.rejected_updates += 1;
            self.request_resync(token, ResyncReason::BadUpdate);
        }
        r
    }

    /// Abandon a snapshot that failed half-way: the book stays awaiting a snapshot.
    pub fn abort_snapshot(&mut self, token: TokenIdx) {
        if let Some(book) = self.book_mut(token) {
            book.begin_snapshot();
            book.mark_awaiting_snapshot();
        }
        self.request_resync(token, ResyncReason::BadUpdate);
    }

    /// A snapshot is complete: the book is consistent, not stale, and any pending resync for it
    /// is satisfied.
    pub fn finish_snapshot(&mut self, token: TokenIdx, exchange_ms: u64, local_ns: u64) {
        if let Some(book) = self.book_mut(token) {
            book.finish_snapshot(exchange_ms, local_ns);
            self.counters.snapshots += 1;
            self.clear_resync(token);
        }
    }

    /// Apply one `price_change` level (aggregate size; 0 removes). Returns `Ok(false)` when the
    /// update was ignored (counted) because the book awaits a snapshot. An off-grid price marks
    /// the book stale and requests a resync.
    #[inline]
    pub fn apply_level(
        &mut self,
        token: TokenIdx,
        side: BookSide,
        price_micro: i64,
        size_micro: i64,
        exchange_ms: u64,
        local_ns: u64,
    ) -> Result<bool, GridError> {
        let Some(book) = self.books.get_mut(token.0 as usize) else {
            return Ok(false);
        };
        if book.is_awaiting_snapshot() {
            self.counters.ignored_while_awaiting += 1;
            return Ok(false);
        }
        match book.set_level(side, price_micro, size_micro) {
            Ok(()) => {
                book.touch(exchange_ms, local_ns);
                self.counters.level_updates += 1;
                Ok(true)
            }
            Err(e) => {
                self.counters.rejected_updates += 1;
                self.mark_stale(token, ResyncReason::BadUpdate);
                Err(e)
            }
        }
    }

    /// Mark `token`'s book stale (once per episode) and request a resync.
    pub fn mark_stale(&mut self, token: TokenIdx, reason: ResyncReason) {
        if let Some(book) = self.book_mut(token) {
            if !book.is_stale() {
                book.mark_stale();
                self.counters.stale_marks += 1;
            }
            self.request_resync(token, reason);
        }
    }

    /// Compare the local top of book with the venue's. `None` means the venue reported that side
    /// empty. Returns true when they agree; on disagreement the book is marked stale and a resync
    /// requested. Books awaiting a snapshot are not checked (returns true).
    #[inline]
    pub fn check_top(
        &mut self,
        token: TokenIdx,
        venue_best_bid: Option<i64>,
        venue_best_ask: Option<i64>,
    ) -> bool {
        let Some(book) = self.books.get(token.0 as usize) else {
            return true;
        };
        if book.is_awaiting_snapshot() {
            return true;
        }
        self.counters.top_checks += 1;
        let ok = book.best_price(BookSide::Bid) == venue_best_bid
            && book.best_price(BookSide::Ask) == venue_best_ask;
        if !ok {
            self.counters.top_mismatches += 1;
            self.mark_stale(token, ResyncReason::TopMismatch);
        }
        ok
    }

    /// A `tick_size_change`: move the book to `tick`, drop its levels, wait for a snapshot and
    /// request a resync. Returns false (nothing done) when the tick is unchanged.
    pub fn regrid(&mut self, token: TokenIdx, tick: TickSize) -> bool {
        let Some(book) = self.book_mut(token) else {
            return false;
        };
        if book.tick() == tick {
            return false;
        }
        book.regrid(tick);
        self.counters.regrids += 1;
        self.request_resync(token, ResyncReason::Regrid);
        true
    }

    /// Record a trade print on `token`'s book.
    pub fn record_trade(&mut self, token: TokenIdx, price_micro: i64) {
        if let Some(book) = self.book_mut(token) {
            book.set_last_trade(price_micro);
        }
    }

    /// The market resolved: neither of its books is tradeable any more.
    pub fn mark_resolved(&mut self, market: MarketIdx) {
        let (up, down) = Self::tokens_of(market);
        for t in [up, down] {
            if let Some(book) = self.book_mut(t) {
                book.mark_resolved();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: &str =
        "71321045679252212594626385532706912750332728571942532289631379312455583992563";
    const DOWN: &str =
        "52114319501245915516055106046884209969926127482827954674443846427813813222426";

    #[test]
    fn add_lookup_retire() {
        let mut mb = MarketBooks::with_capacity(2);
        let m = mb.add_market("0xabc", UP, DOWN, TickSize::Cent).unwrap();
        let (u, d) = MarketBooks::tokens_of(m);
        assert_eq!(mb.token(UP.as_bytes()), Some(u));
        assert_eq!(mb.token(DOWN.as_bytes()), Some(d));
        assert_eq!(MarketBooks::outcome_of(u), Outcome::Up);
        assert_eq!(MarketBooks::complement(d), u);
        assert_eq!(mb.token_id(u), UP.as_bytes());
        assert_eq!(mb.condition_id(m), Some("0xabc"));
        assert_eq!(
            mb.add_market("0xdef", UP, "1", TickSize::Cent),
            Err(BookSetError::Token(InternError::Duplicate))
        );
        // the failed add left nothing behind
        assert_eq!(mb.token(b"1"), None);
        mb.add_market("0xdef", "1", "2", TickSize::Cent).unwrap();
        assert_eq!(
            mb.add_market("0x1", "3", "4", TickSize::Cent),
            Err(BookSetError::Full)
        );
        mb.retire_market(m);
        assert_eq!(mb.token(UP.as_bytes()), None);
        let m2 = mb.add_market("0x1", "3", "4", TickSize::Mill).unwrap();
        assert_eq!(m2, m);
        assert_eq!(mb.book(u).unwrap().tick(), TickSize::Mill);
        assert!(!mb.book(u).unwrap().is_tradeable());
    }

    #[test]
    fn mismatch_marks_stale_and_snapshot_clears() {
        let mut mb = MarketBooks::with_capacity(1);
        let m = mb.add_market("0xabc", UP, DOWN, TickSize::Cent).unwrap();
        let (u, _) = MarketBooks::tokens_of(m);
        mb.begin_snapshot(u, None);
        mb.snapshot_level(u, BookSide::Bid, 480_000, 1).unwrap();
        mb.snapshot_level(u, BookSide::Ask, 500_000, 1).unwrap();
        mb.finish_snapshot(u, 1, 1);
        assert!(mb.check_top(u, Some(480_000), Some(500_000)));
        assert!(!mb.check_top(u, Some(490_000), Some(500_000)));
        assert!(mb.book(u).unwrap().is_stale());
        assert!(mb.resync_pending(u));
        assert!(!mb.check_top(u, Some(490_000), None));
        assert_eq!(mb.counters().stale_marks, 1);
        assert_eq!(mb.counters().resync_requests, 1);
        let mut drained = 0;
        mb.drain_resync(|t, r| {
            assert_eq!((t, r), (u, ResyncReason::TopMismatch));
            drained += 1;
        });
        assert_eq!(drained, 1);
        assert!(!mb.any_resync_pending());
        mb.begin_snapshot(u, None);
        mb.finish_snapshot(u, 2, 2);
        assert!(mb.book(u).unwrap().is_tradeable());
        assert!(mb.check_top(u, None, None));
    }

    #[test]
    fn regrid_requests_snapshot() {
        let mut mb = MarketBooks::with_capacity(1);
        let m = mb.add_market("0xabc", UP, DOWN, TickSize::Cent).unwrap();
        let (u, _) = MarketBooks::tokens_of(m);
        mb.begin_snapshot(u, None);
        mb.finish_snapshot(u, 1, 1);
        assert!(!mb.regrid(u, TickSize::Cent));
        assert!(mb.regrid(u, TickSize::Mill));
        assert!(!mb.book(u).unwrap().is_tradeable());
        assert!(mb.resync_pending(u));
        // updates while awaiting are ignored
        mb.apply_level(u, BookSide::Bid, 481_000, 1, 2, 2).unwrap();
        assert_eq!(mb.book(u).unwrap().best_bid(), None);
        mb.begin_snapshot(u, None);
        mb.snapshot_level(u, BookSide::Bid, 481_000, 1).unwrap();
        mb.finish_snapshot(u, 3, 3);
        assert!(mb.book(u).unwrap().is_tradeable());
        assert_eq!(mb.counters().regrids, 1);
    }
}
