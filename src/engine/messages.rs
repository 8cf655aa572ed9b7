//! What the two engine threads tell each other. Every message is a small `Copy` POD so it moves
//! through the SPSC rings without allocation; the producer never blocks (a full ring drops the
//! message and counts it).

use super::market_view::Phase;
use crate::config::Window;
use crate::discovery::DiscoveryMsg;
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
    /// Periodic view of one tracked Polymarket market, for the live table.
    Market(MarketView),
    /// A market left the hot thread (retired): the risk thread forgets its view.
    MarketGone(u16),
    /// Shadow mode: an order that was built and signed but not sent (the risk thread logs it).
    WouldOrder(WouldBeOrder),
    /// Shadow mode: a cancel that would have been sent.
    WouldCancel(WouldBeCancel),
    /// Periodic account figures of a trading run, for the risk monitor.
    Account(AccountView),
    /// Periodic per-strategy figures of a trading run (telemetry).
    Strategy {
        strategy: crate::strategy::intent::StrategyId,
        figures: crate::telemetry::snapshot::StrategyFigures,
    },
    /// A strategy's position in a window was closed by settlement with this P&L (the risk
    /// monitor's loss streak).
    TradeClosed {
        strategy: crate::strategy::intent::StrategyId,
        pnl_micro: i64,
    },
}

/// Account figures the hot thread's decider keeps (micro-dollars).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AccountView {
    /// Starting capital + realised + unrealised at the mids − fees.
    pub equity_micro: i64,
    /// Cost of open positions plus resting BUY orders.
    pub exposure_micro: i64,
    /// Latest ATR(1m) per asset (BTC, ETH, SOL, XRP), price units; 0 = unknown.
    pub atr: [f64; 4],
}

/// A signed order shadow mode did not send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WouldBeOrder {
    /// The intent it was built from (strategy, reason, market slot, token, side, price, size).
    pub intent: crate::strategy::intent::OrderIntent,
    /// The CLOB order id (EIP-712 digest).
    pub order_id: [u8; 32],
    /// Signed amounts (micro-units) and salt.
    pub maker_amount: u64,
    pub taker_amount: u64,
    pub salt: u64,
}

/// A cancel shadow mode did not send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WouldBeCancel {
    pub strategy: crate::strategy::intent::StrategyId,
    pub reason: crate::strategy::intent::Reason,
    /// Book slot.
    pub market: u16,
    /// `None`: both tokens.
    pub outcome: Option<crate::book::Outcome>,
    /// Would-be orders of that strategy in that market it would have cancelled.
    pub orders: u32,
}

/// One tracked market as the hot thread sees it. Book prices are micro-units (1e-6 USD),
/// Binance and oracle prices fixed-point 1e-8 USD, times wall-clock ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarketView {
    /// Discovery's market index (stable while the market is tracked).
    pub market: u16,
    pub asset: Asset,
    pub window: Window,
    /// Window start / end, unix seconds.
    pub start_s: u64,
    pub end_s: u64,
    /// Phase at `at_ms`.
    pub phase: Phase,
    /// The venue announced the resolution.
    pub resolved: bool,
    /// Binance spot mid (last trade when there is no book yet); 0 if none.
    pub binance_px: i64,
    /// Latest Chainlink price (1e-8, truncated) and its age at `at_ms`; `None` before the first.
    pub oracle_px: Option<i64>,
    pub oracle_age_ms: Option<u64>,
    /// Oracle older than `oracle.max_age_ms` (or absent).
    pub oracle_stale: bool,
    /// Price to beat (1e-8, truncated): the exact Chainlink tick at the window start; `None`
    /// while missing (not observed, not yet reached, or inexact).
    pub price_to_beat: Option<i64>,
    /// Fair P(Up) = Φ(d) from the Binance price against the price to beat (statistic).
    pub fair_up: Option<f64>,
    /// Best prices of the Up and Down books (micro-units).
    pub up_bid: Option<i64>,
    pub up_ask: Option<i64>,
    pub down_bid: Option<i64>,
    pub down_ask: Option<i64>,
    /// Up ask + Down ask when both exist.
    pub ask_sum: Option<i64>,
    /// Age of the older of the two books' last updates, `None` before any update.
    pub book_age_ms: Option<u64>,
    /// Either book is stale (consistency check failed, connection lost, resync pending).
    pub stale: bool,
    /// Either book is waiting for a `book` snapshot.
    pub awaiting_snapshot: bool,
    /// Snapshots applied to this market's books since it was added.
    pub snapshots: u32,
    /// Wall time of the view.
    pub at_ms: u64,
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
    /// Data messages delivered by the Binance connections.
    pub messages: u64,
    /// Data messages delivered by the Polymarket market channel and RTDS.
    pub messages_poly: u64,
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
    /// Market discovery: a market appeared, resolved, or is to be forgotten.
    Discovery(DiscoveryMsg),
    /// The kill switch fired: place no new orders (cancels and event handling go on).
    HaltTrading,
}
