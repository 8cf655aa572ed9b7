//! One-minute candles built from trades, keyed by the exchange trade time.
//!
//! Invariants: a candle covers `[open_ms, open_ms + 60 000)` of exchange time; it closes when
//! the first trade of a later minute arrives (minutes without trades produce no candle); a trade
//! older than the forming candle is counted as late and not applied. The closed candles live in
//! a fixed ring of [`CLOSED_CANDLES`]; `on_trade` is O(1) and never allocates.

use super::records::Side;
use super::ring::Ring;

/// Candle length.
pub const CANDLE_MS: u64 = 60_000;
/// Closed candles kept.
pub const CLOSED_CANDLES: usize = 120;

/// OHLC and volumes of one minute (prices and quantities at the record scales).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Candle {
    /// Minute start, Unix ms.
    pub open_ms: u64,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    /// Base volume.
    pub volume: i64,
    /// Base volume bought by takers.
    pub buy_volume: i64,
    /// Base volume sold by takers.
    pub sell_volume: i64,
    pub trades: u32,
    pub first_trade_id: u64,
    pub last_trade_id: u64,
}

impl Candle {
    fn start(open_ms: u64, px: i64, qty: i64, side: Side, id: u64) -> Self {
        let mut c = Candle {
            open_ms,
            open: px,
            high: px,
            low: px,
            close: px,
            first_trade_id: id,
            ..Candle::default()
        };
        c.add(px, qty, side, id);
        c
    }

    #[inline]
    fn add(&mut self, px: i64, qty: i64, side: Side, id: u64) {
        self.high = self.high.max(px);
        self.low = self.low.min(px);
        self.close = px;
        self.volume = self.volume.saturating_add(qty);
        match side {
            Side::Buy => self.buy_volume = self.buy_volume.saturating_add(qty),
            Side::Sell => self.sell_volume = self.sell_volume.saturating_add(qty),
        }
        self.trades = self.trades.saturating_add(1);
        self.last_trade_id = id;
    }
}

/// The forming candle plus a ring of closed ones.
#[derive(Debug, Clone)]
pub struct CandleBuilder {
    forming: Option<Candle>,
    closed: Ring<Candle>,
    late_trades: u64,
}

impl Default for CandleBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CandleBuilder {
    pub fn new() -> Self {
        CandleBuilder {
            forming: None,
            closed: Ring::new(CLOSED_CANDLES, Candle::default()),
            late_trades: 0,
        }
    }

    /// Apply one trade; returns the candle it closed, if any.
    #[inline]
    pub fn on_trade(
        &mut self,
        ts_ms: u64,
        px: i64,
        qty: i64,
        side: Side,
        id: u64,
    ) -> Option<Candle> {
        let minute = ts_ms - ts_ms % CANDLE_MS;
        match &mut self.forming {
            Some(c) if c.open_ms == minute => {
                c.add(px, qty, side, id);
                None
            }
            Some(c) if minute < c.open_ms => {
                self.late_trades += 1;
                None
            }
            Some(c) => {
                let done = *c;
                self.closed.push(done);
                *c = Candle::start(minute, px, qty, side, id);
                Some(done)
            }
            None => {
                self.forming = Some(Candle::start(minute, px, qty, side, id));
                None
            }
        }
    }

    /// The candle of the current minute (not yet closed).
    pub fn forming(&self) -> Option<&Candle> {
        self.forming.as_ref()
    }

    /// Closed candles, oldest first.
    pub fn closed(&self) -> &Ring<Candle> {
        &self.closed
    }

    /// Trades that arrived after their minute had closed (not applied).
    pub fn late_trades(&self) -> u64 {
        self.late_trades
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_closes_minutes() {
        let mut b = CandleBuilder::new();
        let t0 = 1_723_161_240_000; // a minute boundary
        assert!(b.on_trade(t0 + 5, 100, 2, Side::Buy, 1).is_none());
        assert!(b.on_trade(t0 + 10, 105, 1, Side::Sell, 2).is_none());
        assert!(b.on_trade(t0 + 59_999, 95, 3, Side::Buy, 3).is_none());
        let closed = b.on_trade(t0 + 60_000, 99, 1, Side::Sell, 4).unwrap();
        assert_eq!(
            closed,
            Candle {
                open_ms: t0,
                open: 100,
                high: 105,
                low: 95,
                close: 95,
                volume: 6,
                buy_volume: 5,
                sell_volume: 1,
                trades: 3,
                first_trade_id: 1,
                last_trade_id: 3,
            }
        );
        // A late trade from the closed minute is not applied.
        assert!(b.on_trade(t0 + 1, 1, 1, Side::Buy, 5).is_none());
        assert_eq!(b.late_trades(), 1);
        let f = b.forming().unwrap();
        assert_eq!((f.open_ms, f.open, f.trades), (t0 + 60_000, 99, 1));
        // Skipping empty minutes closes the forming one without synthesising gaps.
        let c = b.on_trade(t0 + 300_000, 7, 1, Side::Buy, 6).unwrap();
        assert_eq!(c.open_ms, t0 + 60_000);
        assert_eq!(b.closed().len(), 2);
        for i in 0..200u64 {
            b.on_trade(t0 + 360_000 + i * 60_000, 1, 1, Side::Buy, 7 + i);
        }
        assert_eq!(b.closed().len(), CLOSED_CANDLES);
    }
}
