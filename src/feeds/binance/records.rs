//! Binance market-data records: small `Copy` POD values that the parser fills straight from a
//! frame and the per-asset state consumes.
//!
//! Invariants: prices, quantities and rates are `i64` fixed-point at [`PX_SCALE`] /
//! [`QTY_SCALE`] / [`RATE_SCALE`] (exact, never rounded; see [`crate::fixed`]); exchange times
//! are Unix milliseconds as sent; `recv_ns` is the caller's local receive stamp. No record holds
//! a pointer into the frame, so records outlive the parser's buffers.

/// Decimal places of every price (`61837.63` -> `6_183_763_000_000`).
pub const PX_SCALE: u32 = 8;
/// Decimal places of every quantity.
pub const QTY_SCALE: u32 = 8;
/// Decimal places of funding rates (`0.00038167` -> `38_167`).
pub const RATE_SCALE: u32 = 8;

/// Assets the engine follows on Binance (all quoted in USDT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Asset {
    Btc = 0,
    Eth = 1,
    Sol = 2,
    Xrp = 3,
}

impl Asset {
    /// This asset's bit in a set of assets kept as a `u8` mask.
    #[inline]
    pub const fn bit(self) -> u8 {
        1u8 << self as u8
    }

    /// Number of assets (size of per-asset arrays).
    pub const COUNT: usize = 4;
    /// Every asset, in index order.
    pub const ALL: [Asset; Asset::COUNT] = [Asset::Btc, Asset::Eth, Asset::Sol, Asset::Xrp];

    /// Dense index for per-asset arrays.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Lowercase symbol used in stream names (`btcusdt`).
    pub const fn symbol_lower(self) -> &'static str {
        match self {
            Asset::Btc => "btcusdt",
            Asset::Eth => "ethusdt",
            Asset::Sol => "solusdt",
            Asset::Xrp => "xrpusdt",
        }
    }

    /// Short lowercase name used in configuration (`btc`).
    pub const fn short_name(self) -> &'static str {
        match self {
            Asset::Btc => "btc",
            Asset::Eth => "eth",
            Asset::Sol => "sol",
            Asset::Xrp => "xrp",
        }
    }

    /// Asset from a configuration name (`btc`, case-insensitive).
    pub fn from_short_name(name: &str) -> Option<Asset> {
        Asset::ALL
            .into_iter()
            .find(|a| a.short_name().eq_ignore_ascii_case(name))
    }

    /// Asset from a symbol in either case (`btcusdt` in stream names, `BTCUSDT` in payloads).
    #[inline]
    pub fn from_symbol(sym: &[u8]) -> Option<Asset> {
        if sym.len() != 7 || !sym[3..].eq_ignore_ascii_case(b"usdt") {
            return None;
        }
        let base = [
            sym[0].to_ascii_lowercase(),
            sym[1].to_ascii_lowercase(),
            sym[2].to_ascii_lowercase(),
        ];
        match &base {
            b"btc" => Some(Asset::Btc),
            b"eth" => Some(Asset::Eth),
            b"sol" => Some(Asset::Sol),
            b"xrp" => Some(Asset::Xrp),
            _ => None,
        }
    }
}

/// Which Binance market a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Venue {
    /// Spot (`stream.binance.com`).
    Spot = 0,
    /// USD-M perpetual futures (`fstream.binance.com`).
    Futures = 1,
}

impl Venue {
    /// Dense index for per-venue arrays.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Side of the aggressor (taker) of a trade, or of a liquidation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Side {
    Buy = 0,
    Sell = 1,
}

impl Side {
    /// Taker side from Binance's `m` flag ("buyer is maker" means the taker sold).
    #[inline]
    pub const fn from_buyer_is_maker(m: bool) -> Side {
        if m {
            Side::Sell
        } else {
            Side::Buy
        }
    }
}

/// Side of a book level in a depth message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookSide {
    Bid,
    Ask,
}

/// One fill from `<s>@trade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    pub asset: Asset,
    pub venue: Venue,
    /// Fill price, [`PX_SCALE`].
    pub px: i64,
    /// Fill quantity, [`QTY_SCALE`].
    pub qty: i64,
    /// Trade time `T` (ms).
    pub exch_ts_ms: u64,
    /// Event time `E` (ms).
    pub event_ts_ms: u64,
    /// Local receive stamp supplied by the caller.
    pub recv_ns: u64,
    pub trade_id: u64,
    pub taker_side: Side,
    /// False for futures fills whose `X` is not `MARKET` (insurance fund, ADL); spot is always true.
    pub is_market: bool,
}

/// One aggregated taker order from `<s>@aggTrade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggTrade {
    pub asset: Asset,
    pub venue: Venue,
    pub px: i64,
    /// Quantity `q` (futures: includes RPI fills).
    pub qty: i64,
    /// Futures `nq` (quantity without RPI fills) when sent.
    pub normal_qty: Option<i64>,
    pub agg_id: u64,
    pub first_trade_id: u64,
    pub last_trade_id: u64,
    pub exch_ts_ms: u64,
    pub event_ts_ms: u64,
    pub recv_ns: u64,
    pub taker_side: Side,
}

/// Best bid/ask from `<s>@bookTicker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookTicker {
    pub asset: Asset,
    pub venue: Venue,
    pub bid_px: i64,
    pub bid_qty: i64,
    pub ask_px: i64,
    pub ask_qty: i64,
    pub update_id: u64,
    /// Futures carry `T`/`E`; spot sends no exchange time.
    pub exch_ts_ms: Option<u64>,
    pub recv_ns: u64,
}

/// Mark price and funding from futures `<s>@markPrice[@1s]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkPrice {
    pub asset: Asset,
    pub mark_px: i64,
    /// Index price `i` (multi-venue spot index) when sent.
    pub index_px: Option<i64>,
    /// Estimated settle price `P` when sent.
    pub est_settle_px: Option<i64>,
    /// Funding rate per interval, [`RATE_SCALE`].
    pub funding_rate: i64,
    /// Next funding time `T` (ms).
    pub next_funding_ms: u64,
    pub event_ts_ms: u64,
    pub recv_ns: u64,
}

/// A liquidation order snapshot from futures `<s>@forceOrder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liquidation {
    pub asset: Asset,
    /// Order side: `Sell` liquidates a long, `Buy` liquidates a short.
    pub side: Side,
    /// Order price `p`.
    pub px: i64,
    /// Average fill price `ap` (falls back to `p` when absent).
    pub avg_px: i64,
    /// Original quantity `q`.
    pub qty: i64,
    /// Accumulated filled quantity `z` (falls back to `q` when absent).
    pub filled_qty: i64,
    /// Trade time `T` (ms).
    pub exch_ts_ms: u64,
    pub event_ts_ms: u64,
    pub recv_ns: u64,
}

/// A diff-depth event (`depthUpdate`, or futures partial depth). Levels are delivered to a sink
/// on request (see `BinanceParser::parse_with_levels`); the record holds the sequencing fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthDiff {
    pub asset: Asset,
    pub venue: Venue,
    /// `U`: first update id in the event.
    pub first_update_id: u64,
    /// `u`: final update id in the event.
    pub final_update_id: u64,
    /// Futures `pu`: the previous event's final update id.
    pub prev_final_update_id: Option<u64>,
    pub event_ts_ms: u64,
    pub bid_levels: u32,
    pub ask_levels: u32,
    pub recv_ns: u64,
}

/// A full book snapshot: the REST `/depth` body or a spot partial-depth stream payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthSnapshot {
    /// Known from the stream name; `None` for a REST body (the caller knows the symbol).
    pub asset: Option<Asset>,
    pub venue: Venue,
    pub last_update_id: u64,
    /// Futures REST snapshots carry `E`.
    pub event_ts_ms: Option<u64>,
    pub bid_levels: u32,
    pub ask_levels: u32,
    pub recv_ns: u64,
}

/// Replies and connection events that are not market data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `{"result":null,"id":n}`: a SUBSCRIBE/UNSUBSCRIBE/SET_PROPERTY succeeded. `id` is `None`
    /// for a null or string id.
    Ack { id: Option<i64> },
    /// `{"result":<value>,"id":n}`: a LIST_SUBSCRIPTIONS / GET_PROPERTY reply.
    Result { id: Option<i64> },
    /// `{"code":n,"msg":"...","id":n}`: a request was refused.
    VenueError { code: i64, id: Option<i64> },
    /// `serverShutdown`: reconnect now.
    ServerShutdown { event_ts_ms: u64 },
}

/// Everything one Binance frame can turn into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    Trade(Trade),
    AggTrade(AggTrade),
    BookTicker(BookTicker),
    MarkPrice(MarkPrice),
    Liquidation(Liquidation),
    DepthDiff(DepthDiff),
    DepthSnapshot(DepthSnapshot),
    Control(Control),
}

impl Record {
    /// The asset a record is about (`None`: control frames, an unnamed depth snapshot).
    pub const fn asset(&self) -> Option<Asset> {
        match self {
            Record::Trade(r) => Some(r.asset),
            Record::AggTrade(r) => Some(r.asset),
            Record::BookTicker(r) => Some(r.asset),
            Record::MarkPrice(r) => Some(r.asset),
            Record::Liquidation(r) => Some(r.asset),
            Record::DepthDiff(r) => Some(r.asset),
            Record::DepthSnapshot(r) => r.asset,
            Record::Control(_) => None,
        }
    }

    /// [`Record::asset`] as a mask bit ([`Asset::bit`]; 0 when the record names no asset).
    #[inline]
    pub const fn asset_bit(&self) -> u8 {
        match self.asset() {
            Some(a) => a.bit(),
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_map_both_cases() {
        assert_eq!(Asset::from_symbol(b"btcusdt"), Some(Asset::Btc));
        assert_eq!(Asset::from_symbol(b"XRPUSDT"), Some(Asset::Xrp));
        assert_eq!(Asset::from_symbol(b"dogeusdt"), None);
        assert_eq!(Asset::from_symbol(b"btcusdc"), None);
        assert_eq!(Asset::from_symbol(b""), None);
        for a in Asset::ALL {
            assert_eq!(Asset::from_symbol(a.symbol_lower().as_bytes()), Some(a));
            assert_eq!(Asset::from_short_name(a.short_name()), Some(a));
        }
    }

    #[test]
    fn records_stay_small() {
        assert!(std::mem::size_of::<Record>() <= 96);
        assert_eq!(Side::from_buyer_is_maker(true), Side::Sell);
    }
}
