//! Plain-old-data records the market-channel parser hands to its consumer, and the
//! [`MarketSink`] trait that receives them.
//!
//! Invariants: every record is `Copy`, fixed-size and heap-free (ids are inline [`AsciiId`]s),
//! prices are micro-units, sizes micro-shares, venue times epoch milliseconds.

use crate::book::{
    AsciiId, BookSide, ConditionId, MarketIdx, Outcome, TickSize, TokenIdx, TokenKey,
};

/// Taker side of a trade print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakerSide {
    /// Taker bought.
    Buy,
    /// Taker sold.
    Sell,
}

/// A `book` snapshot was applied to `token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookApplied {
    /// The token whose book was replaced.
    pub token: TokenIdx,
    /// Bid levels in the snapshot.
    pub bid_levels: u32,
    /// Ask levels in the snapshot.
    pub ask_levels: u32,
    /// Venue timestamp (epoch ms).
    pub exchange_ms: u64,
}

/// One `price_change` entry applied to a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelChange {
    /// The token whose book changed.
    pub token: TokenIdx,
    /// Side of the level.
    pub side: BookSide,
    /// Price, micro-units.
    pub price_micro: i64,
    /// New aggregate size, micro-shares (0 = level removed).
    pub size_micro: i64,
    /// Venue's best bid after the change, if sent (`None` = absent or side empty).
    pub venue_best_bid: Option<i64>,
    /// Venue's best ask after the change, if sent (`None` = absent or side empty).
    pub venue_best_ask: Option<i64>,
    /// Venue timestamp (epoch ms).
    pub exchange_ms: u64,
}

/// A `last_trade_price` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradePrint {
    /// Traded token.
    pub token: TokenIdx,
    /// Price, micro-units.
    pub price_micro: i64,
    /// Size, micro-shares.
    pub size_micro: i64,
    /// Taker side.
    pub taker_side: TakerSide,
    /// Fee rate in basis points (0 when absent).
    pub fee_rate_bps: u32,
    /// Venue timestamp (epoch ms).
    pub exchange_ms: u64,
}

/// A `best_bid_ask` update (custom feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BestBidAsk {
    /// Token.
    pub token: TokenIdx,
    /// Best bid, micro-units (`None` = side empty).
    pub best_bid: Option<i64>,
    /// Best ask, micro-units (`None` = side empty).
    pub best_ask: Option<i64>,
    /// Whether the local book agreed with it when it arrived (false also while awaiting a
    /// snapshot).
    pub matches_local: bool,
    /// Venue timestamp (epoch ms).
    pub exchange_ms: u64,
}

/// A `tick_size_change`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickSizeChanged {
    /// Token.
    pub token: TokenIdx,
    /// Previous tick, if sent and valid.
    pub old_tick: Option<TickSize>,
    /// New tick.
    pub new_tick: TickSize,
    /// True when the book was re-gridded (false when it already was on `new_tick`).
    pub regridded: bool,
    /// Venue timestamp (epoch ms).
    pub exchange_ms: u64,
}

/// Inline slug, long enough for every Up/Down slug seen.
pub type Slug = AsciiId<96>;

/// A `new_market` announcement (custom feature). The engine decides whether to add it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewMarket {
    /// Condition id.
    pub condition_id: ConditionId,
    /// Market slug (empty if absent or too long).
    pub slug: Slug,
    /// Outcome token ids in venue order (normally Up, Down); `token_count` are valid.
    pub token_ids: [TokenKey; 2],
    /// Number of valid entries in `token_ids`.
    pub token_count: u8,
    /// Minimum tick, if sent and valid.
    pub tick: Option<TickSize>,
    /// Venue timestamp (epoch ms, 0 if absent).
    pub exchange_ms: u64,
}

/// A `market_resolved` announcement (custom feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketResolved {
    /// Condition id.
    pub condition_id: ConditionId,
    /// The market slot, when the winning token is known locally.
    pub market: Option<MarketIdx>,
    /// The winning token, when known locally.
    pub winning_token: Option<TokenIdx>,
    /// Winning outcome by name ("Up"/"Down"), when recognised.
    pub winning_outcome: Option<Outcome>,
    /// Venue timestamp (epoch ms, 0 if absent).
    pub exchange_ms: u64,
}

/// Receiver of parsed market-channel events. Every method has a no-op default, so a consumer
/// implements only what it needs; `()` ignores everything. Books are already updated when a
/// method is called.
pub trait MarketSink {
    /// A snapshot replaced a book.
    fn on_book(&mut self, _event: &BookApplied) {}
    /// One level changed.
    fn on_level_change(&mut self, _event: &LevelChange) {}
    /// A trade print.
    fn on_trade(&mut self, _event: &TradePrint) {}
    /// A best bid/ask update.
    fn on_best_bid_ask(&mut self, _event: &BestBidAsk) {}
    /// A tick-size change.
    fn on_tick_size_change(&mut self, _event: &TickSizeChanged) {}
    /// A new market was announced.
    fn on_new_market(&mut self, _event: &NewMarket) {}
    /// A market resolved.
    fn on_market_resolved(&mut self, _event: &MarketResolved) {}
}

impl MarketSink for () {}
