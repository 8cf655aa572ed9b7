//! Polymarket CLOB market channel: the frame parser that updates [`crate::book::MarketBooks`],
//! the POD events it emits, and the subscription frames the engine sends.
//!
//! * [`market_channel`]: `book` / `price_change` / `last_trade_price` / `tick_size_change` /
//!   `best_bid_ask` / `new_market` / `market_resolved` / `PONG`, single object or array frames.
//! * [`fast_scan`]: strict scalar JSON → tape scanner for everyday frames (simd-json fallback).
//! * [`events`]: the records and the [`events::MarketSink`] receiver.
//! * [`subscribe`]: initial and dynamic subscription frames written into caller buffers.

pub mod events;
pub mod fast_scan;
pub mod market_channel;
pub mod subscribe;

pub use events::{
    BestBidAsk, BookApplied, LevelChange, MarketResolved, MarketSink, NewMarket, TakerSide,
    TickSizeChanged, TradePrint,
};
pub use market_channel::{
    FeedCounters, FrameSummary, JsonFault, MarketChannelParser, ParserConfig, PolyParseError,
};
pub use subscribe::{
    write_dynamic_subscription, write_initial_subscription, SubscribeError, SubscriptionOp,
};
