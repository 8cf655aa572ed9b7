//! Binance market data (spot + USD-M futures): stream plumbing, an allocation-free simd-json
//! frame parser into `Copy` records, and fixed-memory per-asset state.
//!
//! Data path on the hot thread: a WebSocket text frame -> [`BinanceParser::parse`] ->
//! [`Record`] -> [`BinanceState::apply`]. After construction none of it allocates; malformed
//! frames become counted [`ParseError`]s and processing carries on.
//!
//! At start-up (main thread, blocking), [`warmup`] fetches recent closed 1-minute klines over
//! REST and the hot thread seeds them into each asset's candle history before its first read.

pub mod candles;
mod fast;
pub mod flow;
pub mod parse;
pub mod records;
pub mod ring;
pub mod state;
pub mod streams;
pub mod warmup;

pub use parse::{BinanceParser, ParseCounts, ParseError, ParseErrorKind, RecordKind};
pub use records::{
    AggTrade, Asset, BookSide, BookTicker, Control, DepthDiff, DepthSnapshot, Liquidation,
    MarkPrice, Record, Side, Trade, Venue, PX_SCALE, QTY_SCALE, RATE_SCALE,
};
pub use state::{AssetState, BinanceState, FlowWindow, TradeSource};
pub use streams::{Endpoint, StreamKind, StreamSet};
