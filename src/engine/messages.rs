//! What the two engine threads tell each other. Every message is a small `Copy` POD so it moves
//! through the SPSC rings without allocation; the producer never blocks (a full ring drops the
//! message and counts it).

use crate::feeds::binance::records::{Asset, Venue};
use crate::net::counters::NetEvent;

/// Hot thread → risk/telemetry thread.
#[derive(Debug, Clone, Copy)]
pub enum HotEvent {
    /// A connection event (connect, drop, reconnect, error, watchdog).
    Net(NetEvent),
    /// Periodic view of one (venue, asset) Binance state, for the live table.
    Asset(AssetView),
    /// Periodic hot-loop statistics (also the liveness heartbeat).
    Loop(LoopStats),
}

/// One (venue, asset) as the hot thread sees it. Prices are fixed-point 1e-8 USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetView {
    pub venue: Venue,
    pub asset: Asset,
    /// Last trade price, 0 before the first trade.
    pub last_px: i64,
    /// Best bid / ask, 0 before the first book update.
    pub bid_px: i64,
    pub ask_px: i64,
    /// Trades and book updates applied so far.
    pub trades: u64,
    pub book_updates: u64,
    /// Taker buy / sell quantity over the last 60 s (1e-8 base units).
    pub taker_buy_60s: i64,
    pub taker_sell_60s: i64,
    /// Funding rate (1e-8), futures only; 0 when unknown.
    pub funding_rate: i64,
    /// Closed 1-minute candles so far.
    pub candles_closed: u64,
    /// Local receive time (mono ns) of the last applied record, 0 if none.
    pub last_recv_ns: u64,
}

/// Hot-loop counters, sent periodically.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Loop iterations so far.
    pub iterations: u64,
    /// Data messages delivered by all feed connections.
    pub messages: u64,
    /// Frames the parsers rejected (malformed, unknown, wrong type...).
    pub parse_errors: u64,
    /// Hot → risk messages dropped because the ring was full.
    pub queue_drops: u64,
    /// Feed connections currently open.
    pub open_connections: u16,
    /// Feed connections configured.
    pub connections: u16,
    /// Send time (mono ns).
    pub at_ns: u64,
}

/// Risk/telemetry thread → hot thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Finish the current iteration, close connections and return.
    Stop,
}
