//! What one strategy sees of one market on one tick ([`StrategyContext`]), the fill feedback it
//! gets back ([`StrategyFill`]), and the integer helpers every strategy uses to put prices on
//! the tick grid and turn dollars into venue-sized share counts.
//!
//! Invariants: the context is built by the orchestrator and only borrowed (no copies of the
//! books); prices are micro-units, sizes micro-shares, money micro-dollars; a helper that cannot
//! produce a valid grid price or a size at or above the venue minimum returns `None`, so a
//! strategy never emits an off-grid price or an undersized order. The lifecycle phase is
//! [`crate::engine::market_view::Phase`] (re-exported here).

use crate::book::{BookSide, MarketIdx, Outcome, TickSize, TokenBook, PRICE_ONE_MICRO};
use crate::config::{StrategyConfig, Window};
use crate::exec::signing::amounts::Side;
use crate::signals::SignalSnapshot;

use super::intent::{OrderIntent, Reason, StrategyId, TimeInForce};

pub use crate::engine::market_view::Phase;

/// Market slots each strategy keeps fixed state for (a market index at or above this gets no
/// intents).
pub const MAX_MARKETS: usize = 16;

/// One strategy's view of its own holdings in one market.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PositionView {
    /// Up tokens held, micro-shares.
    pub up_micro: i64,
    /// Down tokens held, micro-shares.
    pub down_micro: i64,
    /// Resting orders of this strategy in this market.
    pub open_orders: u32,
}

/// Everything a strategy reads for one market on one tick.
#[derive(Debug, Clone, Copy)]
pub struct StrategyContext<'a> {
    /// Market slot.
    pub market: MarketIdx,
    /// 5- or 15-minute window.
    pub window: Window,
    /// Lifecycle phase of the window.
    pub phase: Phase,
    /// Time of this tick (ms, the clock of `signals.now_ms`).
    pub now_ms: u64,
    /// Time left in the window, ms.
    pub ms_left: u64,
    /// The market's signals.
    pub signals: &'a SignalSnapshot,
    /// Up token book.
    pub up: &'a TokenBook,
    /// Down token book.
    pub down: &'a TokenBook,
    /// Capital this strategy may use in this market (decided by the orchestrator), micro-dollars.
    pub capital_micro: i64,
    /// The account's whole capital (capital tiers), micro-dollars.
    pub account_capital_micro: i64,
    /// This strategy's holdings in this market.
    pub position: PositionView,
    /// Binance move over the last second, parts per million of the price (signed).
    pub binance_move_1s_ppm: i64,
    /// Taker buy and sell volume over the last 5 s (any common unit).
    pub flow_5s: (i64, i64),
    /// Taker fee rate of the market, parts per million.
    pub fee_rate_ppm: i64,
}

impl<'a> StrategyContext<'a> {
    /// The book of `outcome`.
    #[inline]
    pub fn book(&self, outcome: Outcome) -> &'a TokenBook {
        match outcome {
            Outcome::Up => self.up,
            Outcome::Down => self.down,
        }
    }

    /// Seconds left (whole, rounded down).
    #[inline]
    pub fn seconds_left(&self) -> u64 {
        self.ms_left / 1_000
    }

    /// Dense market slot, when it fits the fixed state.
    #[inline]
    pub fn slot(&self) -> Option<usize> {
        let i = self.market.0 as usize;
        (i < MAX_MARKETS).then_some(i)
    }
}

/// One fill of an order this strategy made (routed back by the orchestrator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrategyFill {
    /// Market slot.
    pub market: MarketIdx,
    /// Token traded.
    pub outcome: Outcome,
    /// Our side.
    pub side: Side,
    /// Fill price, micro-units.
    pub price_micro: i64,
    /// Filled size, micro-shares.
    pub size_micro: i64,
    /// Taker fee paid, micro-dollars (0 for maker fills).
    pub fee_micro: i64,
    /// Time of the fill (ms, the tick clock).
    pub now_ms: u64,
}

/// The other token.
#[inline]
pub const fn other(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Up => Outcome::Down,
        Outcome::Down => Outcome::Up,
    }
}

/// Venue size rules shared by every strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRules {
    /// Minimum order size, micro-shares.
    pub min_micro: i64,
    /// Size step, micro-shares.
    pub step_micro: i64,
}

impl SizeRules {
    /// The rules of `[strategy]`.
    pub fn from_config(cfg: &StrategyConfig) -> Self {
        SizeRules {
            min_micro: cfg.min_order_shares_micro,
            step_micro: cfg.size_step_micro.max(1),
        }
    }

    /// `size_micro` rounded down to the step; `None` below the venue minimum.
    #[inline]
    pub fn shares(&self, size_micro: i64) -> Option<i64> {
        let s = size_micro - size_micro.rem_euclid(self.step_micro);
        (s >= self.min_micro).then_some(s)
    }

    /// Shares that `dollars_micro` buys at `cost_per_share_micro`, rounded down to the step;
    /// `None` below the venue minimum or for a non-positive cost.
    #[inline]
    pub fn shares_for(&self, dollars_micro: i64, cost_per_share_micro: i64) -> Option<i64> {
        if dollars_micro <= 0 || cost_per_share_micro <= 0 {
            return None;
        }
        // i64 fast path (up to ~$9.2M); exact i128 beyond (a library call, off the common path).
        let raw = match dollars_micro.checked_mul(PRICE_ONE_MICRO) {
            Some(num) => num / cost_per_share_micro,
            None => {
                let v = i128::from(dollars_micro) * i128::from(PRICE_ONE_MICRO)
                    / i128::from(cost_per_share_micro);
                i64::try_from(v).unwrap_or(i64::MAX)
            }
        };
        self.shares(raw)
    }
}

/// `price_micro` rounded down to the tick, kept strictly inside (0, 1).
#[inline]
pub fn floor_to_tick(price_micro: i64, tick: TickSize) -> Option<i64> {
    let t = tick.micro();
    let p = price_micro - price_micro.rem_euclid(t);
    (p > 0 && p < PRICE_ONE_MICRO).then_some(p)
}

/// `price_micro` rounded up to the tick, kept strictly inside (0, 1).
#[inline]
pub fn ceil_to_tick(price_micro: i64, tick: TickSize) -> Option<i64> {
    let t = tick.micro();
    let r = price_micro.rem_euclid(t);
    let p = if r == 0 {
        price_micro
    } else {
        price_micro + t - r
    };
    (p > 0 && p < PRICE_ONE_MICRO).then_some(p)
}

/// A probability (f64 in [0, 1]) as micro-units, rounded to nearest; `None` when not finite.
#[inline]
pub fn prob_to_micro(p: f64) -> Option<i64> {
    p.is_finite()
        .then(|| (p.clamp(0.0, 1.0) * PRICE_ONE_MICRO as f64).round() as i64)
}

/// `value_micro × fraction`, rounded down; 0 for a non-positive or non-finite fraction.
#[inline]
pub fn scale_micro(value_micro: i64, fraction: f64) -> i64 {
    if !(fraction.is_finite() && fraction > 0.0) || value_micro <= 0 {
        return 0;
    }
    (value_micro as f64 * fraction).floor() as i64
}

/// Best ask of `book` (taker buy price), if any.
#[inline]
pub fn ask(book: &TokenBook) -> Option<i64> {
    book.best_price(BookSide::Ask)
}

/// Best bid of `book` (taker sell price), if any.
#[inline]
pub fn bid(book: &TokenBook) -> Option<i64> {
    book.best_price(BookSide::Bid)
}

/// Notional of `size_micro` shares at `price_micro`, micro-dollars (rounded down).
#[inline]
pub fn notional_micro(size_micro: i64, price_micro: i64) -> i64 {
    match size_micro.checked_mul(price_micro) {
        Some(v) => v / PRICE_ONE_MICRO,
        None => {
            let v = i128::from(size_micro) * i128::from(price_micro) / i128::from(PRICE_ONE_MICRO);
            i64::try_from(v).unwrap_or(i64::MAX)
        }
    }
}

/// A group id for a batch of legs: the strategy's index in the top byte, a counter below it
/// (never 0; distinct across strategies).
#[inline]
pub fn group_id(strategy_index: usize, counter: &mut u32) -> u32 {
    *counter = (*counter % 0x00FF_FFFF) + 1;
    ((strategy_index as u32 + 1) << 24) | *counter
}

/// One leg of an intent: token, side, price, size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    /// Token.
    pub outcome: Outcome,
    /// Buy or sell.
    pub side: Side,
    /// Limit price, micro-units on the tick grid.
    pub price_micro: i64,
    /// Size, micro-shares.
    pub size_micro: i64,
}

/// A fill-and-kill taker intent for `leg` (batched with every intent of the same `group`).
#[inline]
pub fn taker(
    strategy: StrategyId,
    reason: Reason,
    market: MarketIdx,
    leg: Leg,
    group: u32,
) -> OrderIntent {
    OrderIntent {
        strategy,
        reason,
        market,
        outcome: leg.outcome,
        side: leg.side,
        price_micro: leg.price_micro,
        size_micro: leg.size_micro,
        tif: TimeInForce::Fak,
        post_only: false,
        group,
    }
}

/// A resting good-till-cancelled intent for `leg`.
#[inline]
pub fn resting(
    strategy: StrategyId,
    reason: Reason,
    market: MarketIdx,
    leg: Leg,
    post_only: bool,
) -> OrderIntent {
    OrderIntent {
        strategy,
        reason,
        market,
        outcome: leg.outcome,
        side: leg.side,
        price_micro: leg.price_micro,
        size_micro: leg.size_micro,
        tif: TimeInForce::Gtc,
        post_only,
        group: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_rounding_is_conservative_and_stays_inside() {
        assert_eq!(floor_to_tick(455_000, TickSize::Cent), Some(450_000));
        assert_eq!(ceil_to_tick(451_000, TickSize::Cent), Some(460_000));
        assert_eq!(ceil_to_tick(450_000, TickSize::Cent), Some(450_000));
        assert_eq!(floor_to_tick(4_000, TickSize::Cent), None);
        assert_eq!(ceil_to_tick(995_000, TickSize::Cent), None);
        assert_eq!(floor_to_tick(455_000, TickSize::HalfCent), Some(455_000));
    }

    #[test]
    fn sizes_respect_minimum_and_step() {
        let r = SizeRules {
            min_micro: 5_000_000,
            step_micro: 10_000,
        };
        assert_eq!(r.shares(4_999_999), None);
        assert_eq!(r.shares(5_123_456), Some(5_120_000));
        // $10 at 0.40 = 25 shares.
        assert_eq!(r.shares_for(10_000_000, 400_000), Some(25_000_000));
        assert_eq!(r.shares_for(1_000_000, 400_000), None);
    }

    #[test]
    fn group_ids_are_nonzero_and_per_strategy() {
        let mut c = 0;
        let a = group_id(0, &mut c);
        let b = group_id(0, &mut c);
        let mut c2 = 0;
        let x = group_id(1, &mut c2);
        assert!(a != 0 && a != b && a != x);
    }
}
