//! Positions and P&L per strategy and per market, in integer micro-units: tokens held and
//! their cost (average-cost method), realised P&L, fees paid, unrealised P&L at the mid, and
//! the settlement of a window by the oracle rule (close ≥ price to beat → Up pays $1 a token).
//! Fills are attributed to strategies through the strategy id the order carried.
//!
//! Invariants: no floats; one table sized at construction (market slots × strategies ×
//! outcomes), no allocation afterwards; realised P&L is gross of fees and fees are kept apart
//! (net = realised + unrealised − fees); a settlement zeroes the window's positions.

use crate::book::{MarketIdx, Outcome};
use crate::exec::json::OrderId;
use crate::exec::orders::positions::notional_micros;
use crate::exec::signing::amounts::Side;
use crate::feeds::oracle::windows::{Outcome as OracleOutcome, Settlement};
use crate::strategy::intent::StrategyId;

/// One fill, attributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillRecord {
    /// The strategy of the order that filled.
    pub strategy: StrategyId,
    /// Market slot.
    pub market: MarketIdx,
    /// Token.
    pub outcome: Outcome,
    /// Our side.
    pub side: Side,
    /// Fill price, micro-dollars.
    pub price_micro: i64,
    /// Tokens delivered to us (buy) or taken from us (sell), micro-shares.
    pub size_micro: i64,
    /// Fee paid for this fill, valued in collateral micro-dollars.
    pub fee_micro: i64,
}

/// One (market, strategy, outcome) position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lot {
    /// Tokens held, micro-shares.
    pub shares_micro: i64,
    /// Cost of the held tokens, micro-dollars.
    pub cost_micro: i64,
}

/// Totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PnlSummary {
    /// Realised P&L (gross of fees).
    pub realised_micro: i64,
    /// Unrealised P&L at the mid.
    pub unrealised_micro: i64,
    /// Fees paid.
    pub fees_micro: i64,
    /// Cost of what is held.
    pub cost_micro: i64,
}

impl PnlSummary {
    /// realised + unrealised − fees.
    pub fn net_micro(&self) -> i64 {
        self.realised_micro + self.unrealised_micro - self.fees_micro
    }
}

/// The outcome of settling one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowResult {
    /// Paid out by the winning tokens, micro-dollars.
    pub payout_micro: i64,
    /// Realised at settlement per strategy (payout − cost), micro-dollars.
    pub by_strategy_micro: [i64; StrategyId::COUNT],
}

#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    lots: [Lot; 2],
    realised_micro: i64,
    fees_micro: i64,
}

/// Why a fill was not booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PnlError {
    /// The market slot is outside the table.
    #[error("market slot {0} outside the table")]
    UnknownMarket(u16),
    /// Selling more tokens than the strategy holds there.
    #[error("sell of {sold} micro-shares but only {held} held")]
    Oversold {
        /// Tokens sold.
        sold: i64,
        /// Tokens held.
        held: i64,
    },
    /// Non-positive size or price outside [0, 1].
    #[error("invalid fill")]
    Invalid,
    /// A fill of an order the attribution table does not know.
    #[error("fill of an order with no strategy attribution")]
    UnknownOrder,
}

/// Which strategy, market and token an order was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderTag {
    /// The strategy of the intent the order came from.
    pub strategy: StrategyId,
    /// Market slot.
    pub market: MarketIdx,
    /// Token.
    pub outcome: Outcome,
}

/// Longest probe of the attribution table.
const PROBE: usize = 16;

/// Order id → [`OrderTag`], fixed capacity (open addressing on the digest's first bytes,
/// which are uniformly distributed); when a probe run is full the home slot is overwritten
/// and the eviction counted. Lookups scan the whole probe run, so removal is safe.
#[derive(Debug, Clone)]
pub struct Attribution {
    slots: Vec<Option<(OrderId, OrderTag)>>,
    mask: usize,
    evicted: u64,
}

impl Attribution {
    /// A table for about `capacity` live orders (rounded up to a power of two, at least 16).
    pub fn new(capacity: usize) -> Self {
        let n = capacity.max(PROBE).next_power_of_two();
        Attribution {
            slots: vec![None; n],
            mask: n - 1,
            evicted: 0,
        }
    }

    fn home(&self, id: &OrderId) -> usize {
        let mut word = [0u8; 8];
        word.copy_from_slice(&id[..8]);
        (u64::from_le_bytes(word) as usize) & self.mask
    }

    /// Remember `tag` for order `id` (at signing time).
    pub fn record(&mut self, id: &OrderId, tag: OrderTag) {
        let home = self.home(id);
        let mut free = None;
        for k in 0..PROBE {
            let i = (home + k) & self.mask;
            match &self.slots[i] {
                Some((other, _)) if other == id => {
                    self.slots[i] = Some((*id, tag));
                    return;
                }
                None if free.is_none() => free = Some(i),
                _ => {}
            }
        }
        let i = free.unwrap_or_else(|| {
            self.evicted += 1;
            home
        });
        self.slots[i] = Some((*id, tag));
    }

    /// The tag of order `id`.
    pub fn tag_of(&self, id: &OrderId) -> Option<OrderTag> {
        let home = self.home(id);
        (0..PROBE).find_map(|k| match &self.slots[(home + k) & self.mask] {
            Some((other, tag)) if other == id => Some(*tag),
            _ => None,
        })
    }

    /// Forget order `id` (terminal and fully booked).
    pub fn remove(&mut self, id: &OrderId) {
        let home = self.home(id);
        for k in 0..PROBE {
            let i = (home + k) & self.mask;
            if matches!(&self.slots[i], Some((other, _)) if other == id) {
                self.slots[i] = None;
            }
        }
    }

    /// Entries overwritten because a probe run was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Pnl {
    cells: Vec<[Cell; StrategyId::COUNT]>,
}

const fn oi(o: Outcome) -> usize {
    match o {
        Outcome::Up => 0,
        Outcome::Down => 1,
    }
}

impl Pnl {
    /// A table for `markets` market slots.
    pub fn new(markets: usize) -> Self {
        Pnl {
            cells: vec![[Cell::default(); StrategyId::COUNT]; markets],
        }
    }

    fn cell(&mut self, market: MarketIdx, strategy: StrategyId) -> Result<&mut Cell, PnlError> {
        self.cells
            .get_mut(usize::from(market.0))
            .map(|row| &mut row[strategy.index()])
            .ok_or(PnlError::UnknownMarket(market.0))
    }

    /// Book a fill.
    pub fn on_fill(&mut self, fill: &FillRecord) -> Result<(), PnlError> {
        if fill.size_micro <= 0
            || !(0..=1_000_000).contains(&fill.price_micro)
            || fill.fee_micro < 0
        {
            return Err(PnlError::Invalid);
        }
        let cell = self.cell(fill.market, fill.strategy)?;
        let lot = &mut cell.lots[oi(fill.outcome)];
        let notional = notional_micros(fill.size_micro as u64, fill.price_micro as u64) as i64;
        match fill.side {
            Side::Buy => {
                lot.shares_micro += fill.size_micro;
                lot.cost_micro += notional;
            }
            Side::Sell => {
                if fill.size_micro > lot.shares_micro {
                    return Err(PnlError::Oversold {
                        sold: fill.size_micro,
                        held: lot.shares_micro,
                    });
                }
                let proceeds =
                    (i128::from(fill.size_micro) * i128::from(fill.price_micro) / 1_000_000) as i64;
                let cost_out = (i128::from(lot.cost_micro) * i128::from(fill.size_micro)
                    / i128::from(lot.shares_micro)) as i64;
                lot.shares_micro -= fill.size_micro;
                lot.cost_micro -= cost_out;
                cell.realised_micro += proceeds - cost_out;
            }
        }
        cell.fees_micro += fill.fee_micro;
        Ok(())
    }

    /// Book a fill of order `id`, attributed through `tags` to the strategy that made it.
    pub fn on_order_fill(
        &mut self,
        tags: &Attribution,
        id: &OrderId,
        side: Side,
        price_micro: i64,
        size_micro: i64,
        fee_micro: i64,
    ) -> Result<(), PnlError> {
        let tag = tags.tag_of(id).ok_or(PnlError::UnknownOrder)?;
        self.on_fill(&FillRecord {
            strategy: tag.strategy,
            market: tag.market,
            outcome: tag.outcome,
            side,
            price_micro,
            size_micro,
            fee_micro,
        })
    }

    /// The position of one strategy in one market.
    pub fn lot(&self, market: MarketIdx, strategy: StrategyId, outcome: Outcome) -> Lot {
        self.cells
            .get(usize::from(market.0))
            .map(|row| row[strategy.index()].lots[oi(outcome)])
            .unwrap_or_default()
    }

    fn summarise(cell: &Cell, mids: [i64; 2]) -> PnlSummary {
        let mut s = PnlSummary {
            realised_micro: cell.realised_micro,
            fees_micro: cell.fees_micro,
            ..PnlSummary::default()
        };
        for (lot, mid) in cell.lots.iter().zip(mids) {
            let value = (i128::from(lot.shares_micro) * i128::from(mid) / 1_000_000) as i64;
            s.unrealised_micro += value - lot.cost_micro;
            s.cost_micro += lot.cost_micro;
        }
        s
    }

    fn add(a: &mut PnlSummary, b: PnlSummary) {
        a.realised_micro += b.realised_micro;
        a.unrealised_micro += b.unrealised_micro;
        a.fees_micro += b.fees_micro;
        a.cost_micro += b.cost_micro;
    }

    /// One strategy in one market, unrealised at the Up and Down mids.
    pub fn summary(&self, market: MarketIdx, strategy: StrategyId, mids: [i64; 2]) -> PnlSummary {
        self.cells
            .get(usize::from(market.0))
            .map(|row| Self::summarise(&row[strategy.index()], mids))
            .unwrap_or_default()
    }

    /// One market, all strategies.
    pub fn market_summary(&self, market: MarketIdx, mids: [i64; 2]) -> PnlSummary {
        let mut total = PnlSummary::default();
        for s in StrategyId::ALL {
            Self::add(&mut total, self.summary(market, s, mids));
        }
        total
    }

    /// One strategy over every market; `mid_of(slot)` gives each slot's Up and Down mids.
    pub fn strategy_summary(
        &self,
        strategy: StrategyId,
        mut mid_of: impl FnMut(MarketIdx) -> [i64; 2],
    ) -> PnlSummary {
        let mut total = PnlSummary::default();
        for (i, row) in self.cells.iter().enumerate() {
            let slot = MarketIdx(i as u16);
            Self::add(
                &mut total,
                Self::summarise(&row[strategy.index()], mid_of(slot)),
            );
        }
        total
    }

    /// Settle a window whose winner is `winner`: each winning token pays $1; every position of
    /// the market is closed into realised P&L.
    pub fn settle(&mut self, market: MarketIdx, winner: Outcome) -> Result<WindowResult, PnlError> {
        let row = self
            .cells
            .get_mut(usize::from(market.0))
            .ok_or(PnlError::UnknownMarket(market.0))?;
        let mut result = WindowResult::default();
        for (s, cell) in row.iter_mut().enumerate() {
            let mut realised = 0;
            for (i, lot) in cell.lots.iter_mut().enumerate() {
                let payout = if i == oi(winner) { lot.shares_micro } else { 0 };
                realised += payout - lot.cost_micro;
                result.payout_micro += payout;
                *lot = Lot::default();
            }
            cell.realised_micro += realised;
            result.by_strategy_micro[s] = realised;
        }
        Ok(result)
    }

    /// Settle by the oracle rule: close ≥ price to beat → Up (same units for both).
    pub fn settle_by_prices(
        &mut self,
        market: MarketIdx,
        price_to_beat: i128,
        close: i128,
    ) -> Result<WindowResult, PnlError> {
        let winner = if close >= price_to_beat {
            Outcome::Up
        } else {
            Outcome::Down
        };
        self.settle(market, winner)
    }

    /// Settle from the oracle module's exact [`Settlement`].
    pub fn settle_oracle(
        &mut self,
        market: MarketIdx,
        settlement: &Settlement,
    ) -> Result<WindowResult, PnlError> {
        let winner = match settlement.outcome {
            OracleOutcome::Up => Outcome::Up,
            OracleOutcome::Down => Outcome::Down,
        };
        self.settle(market, winner)
    }

    /// Forget a market slot's figures (slot reused for a new window).
    pub fn reset_market(&mut self, market: MarketIdx) {
        if let Some(row) = self.cells.get_mut(usize::from(market.0)) {
            *row = [Cell::default(); StrategyId::COUNT];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: MarketIdx = MarketIdx(1);

    fn fill(
        strategy: StrategyId,
        outcome: Outcome,
        side: Side,
        price: i64,
        size: i64,
        fee: i64,
    ) -> FillRecord {
        FillRecord {
            strategy,
            market: M,
            outcome,
            side,
            price_micro: price,
            size_micro: size,
            fee_micro: fee,
        }
    }

    #[test]
    fn realised_unrealised_and_fees_are_exact() {
        let mut p = Pnl::new(4);
        // Lag buys 10 Up at 0.40 (fee 0.1728) then 10 at 0.60 (fee 0.1728): cost $10.
        p.on_fill(&fill(
            StrategyId::Lag,
            Outcome::Up,
            Side::Buy,
            400_000,
            10_000_000,
            172_800,
        ))
        .unwrap();
        p.on_fill(&fill(
            StrategyId::Lag,
            Outcome::Up,
            Side::Buy,
            600_000,
            10_000_000,
            172_800,
        ))
        .unwrap();
        assert_eq!(
            p.lot(M, StrategyId::Lag, Outcome::Up),
            Lot {
                shares_micro: 20_000_000,
                cost_micro: 10_000_000
            }
        );
        // Sells 5 at 0.70: proceeds 3.5, average cost 2.5 → realised +1.0; fee 0.0756.
        p.on_fill(&fill(
            StrategyId::Lag,
            Outcome::Up,
            Side::Sell,
            700_000,
            5_000_000,
            75_600,
        ))
        .unwrap();
        // 15 held at cost 7.5; mid 0.55 → value 8.25 → unrealised +0.75.
        let s = p.summary(M, StrategyId::Lag, [550_000, 450_000]);
        assert_eq!(s.realised_micro, 1_000_000);
        assert_eq!(s.unrealised_micro, 750_000);
        assert_eq!(s.fees_micro, 421_200);
        assert_eq!(s.cost_micro, 7_500_000);
        assert_eq!(s.net_micro(), 1_000_000 + 750_000 - 421_200);
        // Attribution: another strategy's figures are untouched.
        assert_eq!(
            p.summary(M, StrategyId::Arb, [550_000, 450_000]),
            PnlSummary::default()
        );
        assert_eq!(
            p.strategy_summary(StrategyId::Lag, |_| [550_000, 450_000]),
            s
        );
        assert_eq!(
            p.on_fill(&fill(
                StrategyId::Lag,
                Outcome::Up,
                Side::Sell,
                700_000,
                16_000_000,
                0
            )),
            Err(PnlError::Oversold {
                sold: 16_000_000,
                held: 15_000_000
            })
        );
        assert_eq!(
            p.on_fill(&FillRecord {
                market: MarketIdx(9),
                ..fill(StrategyId::Lag, Outcome::Up, Side::Buy, 1, 1, 0)
            }),
            Err(PnlError::UnknownMarket(9))
        );
    }

    #[test]
    fn fills_are_attributed_by_order_id() {
        let mut tags = Attribution::new(16);
        let mut ids = Vec::new();
        // More orders than the table holds at one home slot: same first bytes for all.
        for n in 0..20u8 {
            let mut id = [0u8; 32];
            id[31] = n;
            ids.push(id);
            let strategy = if n % 2 == 0 {
                StrategyId::Arb
            } else {
                StrategyId::Momentum
            };
            tags.record(
                &id,
                OrderTag {
                    strategy,
                    market: M,
                    outcome: Outcome::Down,
                },
            );
        }
        assert_eq!(tags.evicted(), 4, "a probe run holds 16");
        let mut p = Pnl::new(2);
        p.on_order_fill(&tags, &ids[19], Side::Buy, 300_000, 2_000_000, 0)
            .unwrap();
        assert_eq!(
            p.lot(M, StrategyId::Momentum, Outcome::Down).shares_micro,
            2_000_000
        );
        assert_eq!(p.lot(M, StrategyId::Arb, Outcome::Down).shares_micro, 0);
        tags.remove(&ids[19]);
        assert_eq!(
            p.on_order_fill(&tags, &ids[19], Side::Buy, 300_000, 1, 0),
            Err(PnlError::UnknownOrder)
        );
        let mut other = [7u8; 32];
        other[0] = 1;
        assert_eq!(tags.tag_of(&other), None);
    }

    fn straddle_book() -> Pnl {
        let mut p = Pnl::new(4);
        // Straddle: 10 Up at 0.45 and 10 Down at 0.50; momentum: 4 Up at 0.60.
        p.on_fill(&fill(
            StrategyId::Straddle,
            Outcome::Up,
            Side::Buy,
            450_000,
            10_000_000,
            0,
        ))
        .unwrap();
        p.on_fill(&fill(
            StrategyId::Straddle,
            Outcome::Down,
            Side::Buy,
            500_000,
            10_000_000,
            0,
        ))
        .unwrap();
        p.on_fill(&fill(
            StrategyId::Momentum,
            Outcome::Up,
            Side::Buy,
            600_000,
            4_000_000,
            0,
        ))
        .unwrap();
        p
    }

    #[test]
    fn settlement_up_pays_the_up_tokens() {
        let mut p = straddle_book();
        // Close 100_000.5 ≥ price to beat 100_000.0 → Up.
        let r = p
            .settle_by_prices(M, 100_000_000_000, 100_000_500_000)
            .unwrap();
        assert_eq!(r.payout_micro, 14_000_000);
        assert_eq!(
            r.by_strategy_micro[StrategyId::Straddle.index()],
            10_000_000 - 9_500_000
        );
        assert_eq!(
            r.by_strategy_micro[StrategyId::Momentum.index()],
            4_000_000 - 2_400_000
        );
        assert_eq!(p.lot(M, StrategyId::Straddle, Outcome::Up), Lot::default());
        let s = p.summary(M, StrategyId::Momentum, [0, 0]);
        assert_eq!((s.realised_micro, s.unrealised_micro), (1_600_000, 0));
    }

    #[test]
    fn settlement_down_pays_the_down_tokens_and_a_tie_is_up() {
        let mut p = straddle_book();
        let r = p
            .settle_by_prices(M, 100_000_000_000, 99_999_999_999)
            .unwrap();
        assert_eq!(r.payout_micro, 10_000_000);
        assert_eq!(r.by_strategy_micro[StrategyId::Straddle.index()], 500_000);
        assert_eq!(
            r.by_strategy_micro[StrategyId::Momentum.index()],
            -2_400_000
        );
        let mut p = straddle_book();
        let r = p.settle_by_prices(M, 7, 7).unwrap();
        assert_eq!(r.payout_micro, 14_000_000, "equal close settles Up");
    }
}
