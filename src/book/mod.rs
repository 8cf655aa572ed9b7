//! Polymarket order books: fixed arrays indexed by price tick, one per outcome token, with
//! interned token indexes (never hashed strings on the hot path).
//!
//! * [`grid`]: tick sizes and the price → slot mapping (prices are integer micro-units).
//! * [`token_book`]: one token's two ladders, best bid/ask, depth, freshness and trade state.
//! * [`intern`]: token id bytes → [`TokenIdx`] without allocation.
//! * [`market_books`]: every market's Up/Down books, resync requests and consistency counters.

pub mod grid;
pub mod intern;
pub mod market_books;
pub mod token_book;

pub use grid::{GridError, TickSize, MAX_SLOTS, PRICE_ONE_MICRO};
pub use intern::{AsciiId, TokenKey};
pub use market_books::{
    BookCounters, BookSetError, ConditionId, MarketBooks, MirrorCheck, ResyncReason,
};
pub use token_book::{BookSide, Level, TokenBook};

/// Dense index of an outcome token (its book's slot). Market `m` owns tokens `2m` and `2m + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenIdx(pub u16);

/// Dense index of a market slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MarketIdx(pub u16);

/// Which outcome token of a binary Up/Down market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The "Up" token (first in `clobTokenIds`).
    Up,
    /// The "Down" token (second in `clobTokenIds`).
    Down,
}
