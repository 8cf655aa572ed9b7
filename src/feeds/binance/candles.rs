//! One-minute candles built from trades, keyed by the exchange trade time.
//!
//! Invariants: a candle covers `[open_ms, open_ms + 60 000)` of exchange time; it closes when
//! the first trade of a later minute arrives (minutes without trades produce no candle); a trade
//! older than the forming candle is counted as late and not applied. The closed candles live in
//! a fixed ring of [`CLOSED_CANDLES`]; `on_trade` is O(1) and never allocates.
//!
//! History (REST klines at start-up, see `super::warmup`) enters through
//! [`CandleBuilder::seed_closed`] before any live trade: strictly ascending, minute-aligned
//! candles go straight into the closed ring, and a live trade in or before the last seeded
//! minute is counted as late rather than opening a duplicate or out-of-order candle, so the
//! closed ring stays strictly ascending by open time.

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
    /// Open time of the last seeded candle while no live candle has formed yet.
    seeded_until_ms: Option<u64>,
}

/// Why history could not be seeded into a [`CandleBuilder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// Live trades (or an earlier seed) already built candles: history would land out of order.
    #[error("the candle builder already holds candles")]
    NotEmpty,
    /// A candle's open time is not a multiple of one minute.
    #[error("candle {index} opens at {open_ms}, not on a minute boundary")]
    Unaligned { index: usize, open_ms: u64 },
    /// Open times do not strictly increase.
    #[error("candle {index} opens at {open_ms}, not after the previous one")]
    OutOfOrder { index: usize, open_ms: u64 },
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
            seeded_until_ms: None,
        }
    }

    /// Put closed history (oldest first) into the closed ring before any live trade. Only the
    /// newest [`CLOSED_CANDLES`] are kept. Returns how many were seeded; refuses (and seeds
    /// nothing) when the builder already holds candles or the history is not strictly
    /// ascending on minute boundaries. Runs at start-up, off the hot path.
    pub fn seed_closed(&mut self, history: &[Candle]) -> Result<usize, SeedError> {
        if self.forming.is_some() || !self.closed.is_empty() {
            return Err(SeedError::NotEmpty);
        }
        let mut prev: Option<u64> = None;
        for (index, c) in history.iter().enumerate() {
            if c.open_ms % CANDLE_MS != 0 {
                return Err(SeedError::Unaligned {
                    index,
                    open_ms: c.open_ms,
                });
            }
            if prev.is_some_and(|p| c.open_ms <= p) {
                return Err(SeedError::OutOfOrder {
                    index,
                    open_ms: c.open_ms,
                });
            }
            prev = Some(c.open_ms);
        }
        let keep = history.len().saturating_sub(CLOSED_CANDLES);
        for c in &history[keep..] {
            self.closed.push(*c);
        }
        self.seeded_until_ms = prev;
        Ok(history.len() - keep)
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
                // The seeded history's last minute is closed: a trade in it (or before) is late.
                if self.seeded_until_ms.is_some_and(|last| minute <= last) {
                    self.late_trades += 1;
                    return None;
                }
                self.seeded_until_ms = None;
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

    /// Trades that arrived after their minute had closed, or in a seeded minute (not applied).
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

    fn seeded(open_ms: u64, close: i64) -> Candle {
        Candle {
            open_ms,
            open: close - 1,
            high: close + 2,
            low: close - 3,
            close,
            volume: 10,
            buy_volume: 4,
            sell_volume: 6,
            trades: 5,
            ..Candle::default()
        }
    }

    #[test]
    fn seeded_history_then_live_trades_stay_in_order() {
        let t0 = 1_723_161_240_000;
        let history: Vec<Candle> = (0..3)
            .map(|i| seeded(t0 + i * CANDLE_MS, 100 + i as i64))
            .collect();
        let mut b = CandleBuilder::new();
        assert_eq!(b.seed_closed(&history), Ok(3));
        assert!(b.forming().is_none());
        // A second seed, or a seed after live trades, is refused.
        assert_eq!(b.seed_closed(&history), Err(SeedError::NotEmpty));
        // A live trade in the last seeded minute (clock skew: that kline was still forming at
        // the venue) must not open a duplicate candle for that minute.
        let last = t0 + 2 * CANDLE_MS;
        assert!(b.on_trade(last + 59_000, 1, 1, Side::Buy, 1).is_none());
        assert!(b.on_trade(t0 + 5, 1, 1, Side::Buy, 2).is_none());
        assert_eq!(b.late_trades(), 2);
        assert!(b.forming().is_none());
        // The next minute forms and closes after the seeded ones.
        assert!(b
            .on_trade(last + CANDLE_MS + 10, 200, 2, Side::Sell, 3)
            .is_none());
        assert!(b
            .on_trade(last + CANDLE_MS + 20, 205, 1, Side::Buy, 4)
            .is_none());
        // Once live candles form, a trade in a seeded minute is late like any other.
        assert!(b.on_trade(last + 1, 1, 1, Side::Buy, 5).is_none());
        assert_eq!(b.late_trades(), 3);
        let closed = b
            .on_trade(last + 2 * CANDLE_MS, 210, 1, Side::Buy, 6)
            .unwrap();
        assert_eq!(
            (closed.open_ms, closed.open, closed.close, closed.trades),
            (last + CANDLE_MS, 200, 205, 2)
        );
        let opens: Vec<u64> = b.closed().iter().map(|c| c.open_ms).collect();
        assert_eq!(opens, vec![t0, t0 + CANDLE_MS, last, last + CANDLE_MS]);
        assert_eq!(b.closed().get(2), Some(&history[2]));
    }

    #[test]
    fn seed_refuses_bad_history_and_keeps_the_newest() {
        let t0 = 1_723_161_240_000;
        let mut b = CandleBuilder::new();
        let bad = [seeded(t0, 1), seeded(t0 + 30_000, 2)];
        assert_eq!(
            b.seed_closed(&bad),
            Err(SeedError::Unaligned {
                index: 1,
                open_ms: t0 + 30_000
            })
        );
        let bad = [seeded(t0 + CANDLE_MS, 1), seeded(t0, 2)];
        assert_eq!(
            b.seed_closed(&bad),
            Err(SeedError::OutOfOrder {
                index: 1,
                open_ms: t0
            })
        );
        let dup = [seeded(t0, 1), seeded(t0, 2)];
        assert!(matches!(
            b.seed_closed(&dup),
            Err(SeedError::OutOfOrder { .. })
        ));
        assert!(
            b.closed().is_empty(),
            "a refused seed leaves nothing behind"
        );
        // More history than the ring holds: the newest CLOSED_CANDLES stay.
        let long: Vec<Candle> = (0..CLOSED_CANDLES as u64 + 30)
            .map(|i| seeded(t0 + i * CANDLE_MS, i as i64))
            .collect();
        assert_eq!(b.seed_closed(&long), Ok(CLOSED_CANDLES));
        assert_eq!(b.closed().get(0).map(|c| c.close), Some(30));
        assert_eq!(b.closed().latest(), long.last());
        // An empty seed is allowed and changes nothing.
        let mut e = CandleBuilder::new();
        assert_eq!(e.seed_closed(&[]), Ok(0));
        assert!(e.on_trade(t0, 1, 1, Side::Buy, 1).is_none());
        assert_eq!(e.late_trades(), 0);
    }
}
