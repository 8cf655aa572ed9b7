//! Per-asset, per-venue Binance market state in fixed memory.
//!
//! For each (venue, asset): a ring of the last [`TRADE_RING_CAP`] trades, best bid/ask from
//! bookTicker, 1-minute candles ([`CandleBuilder`]), taker buy/sell volume over 1 s / 5 s / 60 s
//! (100 ms buckets), the latest mark price and funding rate, and liquidation totals by side over
//! 60 s (1 s buckets). Rolling windows and candles run on exchange trade time. Invariants:
//! `apply` is O(1) (amortised for window eviction) and never allocates; every buffer is sized in
//! `new`; stale bookTickers (lower update id) and non-`MARKET` futures fills are counted, not
//! applied. Depth and control records are not state here (the order book lives in `crate::book`).

use super::candles::{Candle, CandleBuilder, SeedError};
use super::flow::{RollingSums, TwoSided};
use super::records::{
    AggTrade, Asset, BookTicker, Liquidation, MarkPrice, Record, Side, Trade, Venue, PX_SCALE,
};
use super::ring::Ring;
use crate::fixed::POW10;

/// Trades kept per (venue, asset).
pub const TRADE_RING_CAP: usize = 4096;
/// Taker-flow bucket width.
pub const FLOW_BUCKET_MS: u64 = 100;
/// Taker-flow buckets (covers the longest window).
pub const FLOW_BUCKETS: usize = 600;
/// Taker-flow windows, in ms; index with [`FlowWindow`].
pub const FLOW_WINDOWS_MS: [u64; 3] = [1_000, 5_000, 60_000];
/// Liquidation bucket width.
pub const LIQ_BUCKET_MS: u64 = 1_000;
/// Liquidation window.
pub const LIQ_WINDOW_MS: u64 = 60_000;
const LIQ_BUCKETS: usize = 60;

/// Which taker-flow window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowWindow {
    S1 = 0,
    S5 = 1,
    S60 = 2,
}

/// Which record type feeds the trade ring, candles and taker flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeSource {
    /// `@trade` (one record per fill).
    Trade,
    /// `@aggTrade` (one record per taker order); use when `@trade` is not subscribed.
    AggTrade,
}

/// One trade as kept in the ring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TradeTick {
    pub px: i64,
    pub qty: i64,
    pub exch_ts_ms: u64,
    pub recv_ns: u64,
    /// Trade id (`t`), or aggregate id (`a`) for an aggTrade source.
    pub id: u64,
    pub taker_buy: bool,
}

/// Liquidation totals over the 60 s window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiquidationTotals {
    /// Filled quantity: `buy` = shorts liquidated (BUY orders), `sell` = longs liquidated.
    pub qty: TwoSided,
    /// Filled notional at the average price, quote units at [`PX_SCALE`].
    pub notional: TwoSided,
}

/// Things counted rather than applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounters {
    pub trades: u64,
    pub non_market_trades: u64,
    pub stale_book_tickers: u64,
    pub book_tickers: u64,
    /// Records routed to a state whose trade source is the other trade type.
    pub ignored_trade_records: u64,
}

/// Market state of one asset on one venue.
#[derive(Debug, Clone)]
pub struct AssetState {
    pub asset: Asset,
    pub venue: Venue,
    trade_source: TradeSource,
    trades: Ring<TradeTick>,
    candles: CandleBuilder,
    flow: RollingSums<FLOW_BUCKETS, 3>,
    book: Option<BookTicker>,
    mark: Option<MarkPrice>,
    liq_qty: RollingSums<LIQ_BUCKETS, 1>,
    liq_notional: RollingSums<LIQ_BUCKETS, 1>,
    last_trade: Option<TradeTick>,
    counters: StateCounters,
}

/// `px * qty` at the price scale (quote units), saturating.
#[inline]
pub fn notional(px: i64, qty: i64) -> i64 {
    let n = i128::from(px) * i128::from(qty) / i128::from(POW10[PX_SCALE as usize]);
    i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

impl AssetState {
    /// Empty state with every buffer allocated.
    pub fn new(asset: Asset, venue: Venue, trade_source: TradeSource) -> Self {
        AssetState {
            asset,
            venue,
            trade_source,
            trades: Ring::new(TRADE_RING_CAP, TradeTick::default()),
            candles: CandleBuilder::new(),
            flow: RollingSums::new(FLOW_BUCKET_MS, FLOW_WINDOWS_MS),
            book: None,
            mark: None,
            liq_qty: RollingSums::new(LIQ_BUCKET_MS, [LIQ_WINDOW_MS]),
            liq_notional: RollingSums::new(LIQ_BUCKET_MS, [LIQ_WINDOW_MS]),
            last_trade: None,
            counters: StateCounters::default(),
        }
    }

    /// Apply one record of this asset and venue. Returns whether state changed.
    #[inline]
    pub fn apply(&mut self, rec: &Record) -> bool {
        match rec {
            Record::Trade(t) => self.on_trade(t),
            Record::AggTrade(a) => self.on_agg_trade(a),
            Record::BookTicker(b) => self.on_book_ticker(b),
            Record::MarkPrice(m) => {
                self.mark = Some(*m);
                true
            }
            Record::Liquidation(l) => self.on_liquidation(l),
            Record::DepthDiff(_) | Record::DepthSnapshot(_) | Record::Control(_) => false,
        }
    }

    #[inline]
    fn on_trade(&mut self, t: &Trade) -> bool {
        if self.trade_source != TradeSource::Trade {
            self.counters.ignored_trade_records += 1;
            return false;
        }
        if !t.is_market {
            self.counters.non_market_trades += 1;
            return false;
        }
        self.on_tick(TradeTick {
            px: t.px,
            qty: t.qty,
            exch_ts_ms: t.exch_ts_ms,
            recv_ns: t.recv_ns,
            id: t.trade_id,
            taker_buy: t.taker_side == Side::Buy,
        });
        true
    }

    #[inline]
    fn on_agg_trade(&mut self, a: &AggTrade) -> bool {
        if self.trade_source != TradeSource::AggTrade {
            self.counters.ignored_trade_records += 1;
            return false;
        }
        self.on_tick(TradeTick {
            px: a.px,
            qty: a.qty,
            exch_ts_ms: a.exch_ts_ms,
            recv_ns: a.recv_ns,
            id: a.agg_id,
            taker_buy: a.taker_side == Side::Buy,
        });
        true
    }

    #[inline]
    fn on_tick(&mut self, t: TradeTick) {
        self.counters.trades += 1;
        self.trades.push(t);
        let side = if t.taker_buy { Side::Buy } else { Side::Sell };
        self.candles.on_trade(t.exch_ts_ms, t.px, t.qty, side, t.id);
        self.flow.add(t.exch_ts_ms, t.taker_buy, t.qty);
        self.last_trade = Some(t);
    }

    #[inline]
    fn on_book_ticker(&mut self, b: &BookTicker) -> bool {
        if let Some(cur) = &self.book {
            if b.update_id < cur.update_id {
                self.counters.stale_book_tickers += 1;
                return false;
            }
        }
        self.counters.book_tickers += 1;
        self.book = Some(*b);
        true
    }

    #[inline]
    fn on_liquidation(&mut self, l: &Liquidation) -> bool {
        let buy = l.side == Side::Buy;
        self.liq_qty.add(l.exch_ts_ms, buy, l.filled_qty);
        self.liq_notional
            .add(l.exch_ts_ms, buy, notional(l.avg_px, l.filled_qty));
        true
    }

    /// Latest best bid/ask.
    pub fn book(&self) -> Option<&BookTicker> {
        self.book.as_ref()
    }

    /// Mid price ×2 (exact integer: `bid + ask`), if a book is known.
    pub fn mid_x2(&self) -> Option<i64> {
        self.book.map(|b| b.bid_px.saturating_add(b.ask_px))
    }

    /// The most recent trade.
    pub fn last_trade(&self) -> Option<&TradeTick> {
        self.last_trade.as_ref()
    }

    /// Last traded price.
    pub fn last_px(&self) -> Option<i64> {
        self.last_trade.map(|t| t.px)
    }

    /// Recent trades, oldest first.
    pub fn trades(&self) -> &Ring<TradeTick> {
        &self.trades
    }

    pub fn candles(&self) -> &CandleBuilder {
        &self.candles
    }

    /// Seed closed 1-minute history (oldest first) before the first live trade; see
    /// [`CandleBuilder::seed_closed`]. Start-up only.
    pub fn seed_candles(&mut self, history: &[Candle]) -> Result<usize, SeedError> {
        self.candles.seed_closed(history)
    }

    /// Taker buy/sell base volume over `w`, as of the latest trade.
    pub fn taker_flow(&self, w: FlowWindow) -> TwoSided {
        self.flow.sum(w as usize)
    }

    /// Taker buy/sell base volume over `w`, as of exchange time `now_ms`.
    pub fn taker_flow_at(&mut self, w: FlowWindow, now_ms: u64) -> TwoSided {
        self.flow.sum_at(w as usize, now_ms)
    }

    /// Latest mark price record (funding rate, next funding time, index price).
    pub fn mark(&self) -> Option<&MarkPrice> {
        self.mark.as_ref()
    }

    /// Latest funding rate at [`super::records::RATE_SCALE`].
    pub fn funding_rate(&self) -> Option<i64> {
        self.mark.map(|m| m.funding_rate)
    }

    /// Liquidations over the last 60 s as of exchange time `now_ms`.
    pub fn liquidations_at(&mut self, now_ms: u64) -> LiquidationTotals {
        LiquidationTotals {
            qty: self.liq_qty.sum_at(0, now_ms),
            notional: self.liq_notional.sum_at(0, now_ms),
        }
    }

    pub fn counters(&self) -> &StateCounters {
        &self.counters
    }
}

/// State for every (venue, asset) pair, routed by the record's venue and asset.
#[derive(Debug, Clone)]
pub struct BinanceState {
    states: Box<[AssetState]>,
}

impl BinanceState {
    /// All pairs, fed by `@trade` on spot and `futures_source` on futures.
    pub fn new(futures_source: TradeSource) -> Self {
        let mut v = Vec::with_capacity(2 * Asset::COUNT);
        for venue in [Venue::Spot, Venue::Futures] {
            for asset in Asset::ALL {
                let src = match venue {
                    Venue::Spot => TradeSource::Trade,
                    Venue::Futures => futures_source,
                };
                v.push(AssetState::new(asset, venue, src));
            }
        }
        BinanceState {
            states: v.into_boxed_slice(),
        }
    }

    #[inline]
    fn slot(venue: Venue, asset: Asset) -> usize {
        venue.index() * Asset::COUNT + asset.index()
    }

    pub fn get(&self, venue: Venue, asset: Asset) -> &AssetState {
        &self.states[Self::slot(venue, asset)]
    }

    pub fn get_mut(&mut self, venue: Venue, asset: Asset) -> &mut AssetState {
        &mut self.states[Self::slot(venue, asset)]
    }

    /// Route one record to its state. Returns whether state changed.
    #[inline]
    pub fn apply(&mut self, rec: &Record) -> bool {
        let (venue, asset) = match rec {
            Record::Trade(t) => (t.venue, t.asset),
            Record::AggTrade(a) => (a.venue, a.asset),
            Record::BookTicker(b) => (b.venue, b.asset),
            Record::MarkPrice(m) => (Venue::Futures, m.asset),
            Record::Liquidation(l) => (Venue::Futures, l.asset),
            Record::DepthDiff(_) | Record::DepthSnapshot(_) | Record::Control(_) => return false,
        };
        self.get_mut(venue, asset).apply(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(px: i64, qty: i64, ts: u64, id: u64, side: Side, is_market: bool) -> Record {
        Record::Trade(Trade {
            asset: Asset::Eth,
            venue: Venue::Futures,
            px,
            qty,
            exch_ts_ms: ts,
            event_ts_ms: ts,
            recv_ns: 0,
            trade_id: id,
            taker_side: side,
            is_market,
        })
    }

    #[test]
    fn trades_books_marks_and_liquidations() {
        let mut st = BinanceState::new(TradeSource::Trade);
        let t0 = 1_700_000_040_000;
        assert!(st.apply(&trade(100, 5, t0, 1, Side::Buy, true)));
        assert!(st.apply(&trade(101, 3, t0 + 500, 2, Side::Sell, true)));
        assert!(!st.apply(&trade(1, 1, t0 + 600, 3, Side::Sell, false)));
        let s = st.get_mut(Venue::Futures, Asset::Eth);
        assert_eq!(s.last_px(), Some(101));
        assert_eq!(s.trades().len(), 2);
        assert_eq!(s.counters().non_market_trades, 1);
        assert_eq!(
            s.taker_flow(FlowWindow::S1),
            TwoSided {
                buy: 5,
                sell: 3,
                count: 2
            }
        );
        assert_eq!(s.taker_flow_at(FlowWindow::S1, t0 + 1_050).buy, 0);
        assert_eq!(s.taker_flow(FlowWindow::S1).sell, 3);
        assert_eq!(s.taker_flow(FlowWindow::S60).buy, 5);
        assert_eq!(s.candles().forming().unwrap().high, 101);
        assert_eq!(st.get(Venue::Spot, Asset::Eth).trades().len(), 0);

        let book = |u, bid| {
            Record::BookTicker(BookTicker {
                asset: Asset::Eth,
                venue: Venue::Futures,
                bid_px: bid,
                bid_qty: 1,
                ask_px: bid + 10,
                ask_qty: 1,
                update_id: u,
                exch_ts_ms: None,
                recv_ns: 0,
            })
        };
        assert!(st.apply(&book(10, 100)));
        assert!(!st.apply(&book(9, 50)));
        let s = st.get(Venue::Futures, Asset::Eth);
        assert_eq!(s.mid_x2(), Some(210));
        assert_eq!(s.counters().stale_book_tickers, 1);

        let liq = |side, ts| {
            Record::Liquidation(Liquidation {
                asset: Asset::Eth,
                side,
                px: 200 * 100_000_000,
                avg_px: 200 * 100_000_000,
                qty: 2 * 100_000_000,
                filled_qty: 2 * 100_000_000,
                exch_ts_ms: ts,
                event_ts_ms: ts,
                recv_ns: 0,
            })
        };
        st.apply(&liq(Side::Sell, t0));
        st.apply(&liq(Side::Buy, t0 + 30_000));
        let s = st.get_mut(Venue::Futures, Asset::Eth);
        let l = s.liquidations_at(t0 + 30_000);
        assert_eq!((l.qty.sell, l.qty.buy), (200_000_000, 200_000_000));
        assert_eq!(l.notional.sell, 400 * 100_000_000);
        let l = s.liquidations_at(t0 + 61_000);
        assert_eq!((l.qty.sell, l.qty.buy), (0, 200_000_000));
    }

    #[test]
    fn agg_trade_source_switch() {
        let mut s = AssetState::new(Asset::Btc, Venue::Futures, TradeSource::AggTrade);
        assert!(!s.apply(&trade(1, 1, 1, 1, Side::Buy, true)));
        let a = Record::AggTrade(AggTrade {
            asset: Asset::Btc,
            venue: Venue::Futures,
            px: 7,
            qty: 2,
            normal_qty: None,
            agg_id: 9,
            first_trade_id: 1,
            last_trade_id: 3,
            exch_ts_ms: 5,
            event_ts_ms: 5,
            recv_ns: 0,
            taker_side: Side::Sell,
        });
        assert!(s.apply(&a));
        assert_eq!(
            s.last_trade().map(|t| (t.px, t.id, t.taker_buy)),
            Some((7, 9, false))
        );
        assert_eq!(s.counters().ignored_trade_records, 1);
        assert_eq!(notional(6_000_000_000_000, 50_000_000), 3_000_000_000_000);
    }
}
