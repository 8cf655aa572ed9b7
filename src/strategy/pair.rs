//! Two-leg (Up + Down) entries and their imbalance handling, shared by the straddle and the
//! pure arbitrage (strategy spec §4): after the pair is sent, fills are awaited for
//! `settle_ms`; then, if the smaller leg is below `min_fill_ratio` of the larger, the deficit is
//! bought when deficit ask + its taker fee + the excess leg's average price < 1, else the excess
//! is held when the bias (confidence > `hold_bias_confidence`) points its way, else the excess
//! is sold at the bid; an imbalance worth less than `accept_imbalance_micro` is accepted.
//!
//! Reading of "either leg fills < 80%": the legs are compared with each other (two legs that
//! both filled half are a smaller, balanced pair, not an imbalance). Invariants: plain `Copy`
//! state; every decision is integer micro-units except the bias confidence; at most
//! `max_attempts` rebalance orders per pair, then whatever is left is held.

use crate::book::{Outcome, PRICE_ONE_MICRO};
use crate::config::RebalanceConfig;
use crate::exec::signing::amounts::Side;
use crate::signals::arb::fee_per_share_micro;
use crate::signals::Direction;

use super::context::{ask, bid, notional_micro, other, SizeRules, StrategyContext, StrategyFill};

/// Rebalance parameters (from `[strategy.rebalance]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairParams {
    /// Smaller leg / larger leg below this is an imbalance.
    pub min_fill_ratio: f64,
    /// Wait for fills this long after sending, ms.
    pub settle_ms: u64,
    /// Hold the excess when the bias agrees with more than this confidence.
    pub hold_bias_confidence: f64,
    /// Accept an imbalance worth less than this, micro-dollars.
    pub accept_imbalance_micro: i64,
    /// Rebalance orders per pair.
    pub max_attempts: u32,
}

impl PairParams {
    /// From `[strategy.rebalance]`.
    pub fn from_config(cfg: &RebalanceConfig) -> Self {
        PairParams {
            min_fill_ratio: cfg.min_fill_ratio,
            settle_ms: cfg.settle_ms,
            hold_bias_confidence: cfg.hold_bias_confidence,
            accept_imbalance_micro: cfg.accept_imbalance_micro,
            max_attempts: cfg.max_attempts,
        }
    }
}

/// Where a pair is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PairStage {
    /// Nothing sent.
    #[default]
    Idle,
    /// Sent (or rebalanced) at `since_ms`; fills are being counted.
    Working {
        /// When the last order of the pair went out.
        since_ms: u64,
        /// Rebalance orders sent so far.
        attempts: u32,
    },
    /// Balanced, accepted or held: nothing more to do for this pair.
    Settled,
}

/// What to do about a working pair now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairAction {
    /// Nothing to decide yet (still settling, or not working).
    Wait,
    /// Balanced or the imbalance is accepted.
    Balanced,
    /// The bias agrees with the excess leg: keep it.
    Hold,
    /// Buy `size_micro` of the deficit `outcome` at `price_micro` (its ask).
    BuyDeficit {
        /// The short leg.
        outcome: Outcome,
        /// Its ask.
        price_micro: i64,
        /// Shares.
        size_micro: i64,
    },
    /// Sell `size_micro` of the excess `outcome` at `price_micro` (its bid).
    SellExcess {
        /// The long leg.
        outcome: Outcome,
        /// Its bid.
        price_micro: i64,
        /// Shares.
        size_micro: i64,
    },
}

/// Filled quantities and costs of one pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairLegs {
    /// Up shares held from this pair, micro-shares.
    pub up_micro: i64,
    /// Down shares held.
    pub down_micro: i64,
    /// Up cost including taker fees, micro-dollars.
    pub up_cost_micro: i64,
    /// Down cost including taker fees.
    pub down_cost_micro: i64,
}

impl PairLegs {
    fn leg(&self, outcome: Outcome) -> (i64, i64) {
        match outcome {
            Outcome::Up => (self.up_micro, self.up_cost_micro),
            Outcome::Down => (self.down_micro, self.down_cost_micro),
        }
    }

    /// Average cost per share of a leg, micro-units (0 when empty).
    pub fn avg_price_micro(&self, outcome: Outcome) -> i64 {
        let (shares, cost) = self.leg(outcome);
        if shares <= 0 {
            return 0;
        }
        let v = i128::from(cost) * i128::from(PRICE_ONE_MICRO) / i128::from(shares);
        i64::try_from(v).unwrap_or(i64::MAX)
    }

    /// Profit locked by the matched part: matched shares pay $1 at resolution, minus their
    /// share of both legs' cost. Micro-dollars, may be negative.
    pub fn locked_profit_micro(&self) -> i64 {
        let matched = self.up_micro.min(self.down_micro);
        if matched <= 0 {
            return 0;
        }
        let part = |shares: i64, cost: i64| -> i128 {
            i128::from(cost) * i128::from(matched) / i128::from(shares)
        };
        let v = i128::from(matched)
            - part(self.up_micro, self.up_cost_micro)
            - part(self.down_micro, self.down_cost_micro);
        i64::try_from(v).unwrap_or(0)
    }
}

/// One pair's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairBook {
    /// Filled legs.
    pub legs: PairLegs,
    /// Stage.
    pub stage: PairStage,
}

impl PairBook {
    /// A new pair was sent at `now_ms` (forgets the previous pair's legs).
    pub fn start(&mut self, now_ms: u64) {
        self.legs = PairLegs::default();
        self.stage = PairStage::Working {
            since_ms: now_ms,
            attempts: 0,
        };
    }

    /// A rebalance order was sent at `now_ms`.
    pub fn rebalance_sent(&mut self, now_ms: u64) {
        if let PairStage::Working { attempts, .. } = self.stage {
            self.stage = PairStage::Working {
                since_ms: now_ms,
                attempts: attempts + 1,
            };
        }
    }

    /// Count one fill of the pair's legs.
    pub fn on_fill(&mut self, fill: &StrategyFill) {
        let cost = notional_micro(fill.size_micro, fill.price_micro);
        let (shares, total) = match fill.outcome {
            Outcome::Up => (&mut self.legs.up_micro, &mut self.legs.up_cost_micro),
            Outcome::Down => (&mut self.legs.down_micro, &mut self.legs.down_cost_micro),
        };
        match fill.side {
            Side::Buy => {
                *shares += fill.size_micro;
                *total += cost + fill.fee_micro;
            }
            Side::Sell => {
                // Sold shares leave at their average cost.
                let before = *shares;
                *shares = (*shares - fill.size_micro).max(0);
                if before > 0 {
                    *total = i64::try_from(
                        i128::from(*total) * i128::from(*shares) / i128::from(before),
                    )
                    .unwrap_or(0);
                }
            }
        }
    }

    /// Decide what a working pair needs now; `Balanced` and `Hold` settle it.
    pub fn evaluate(
        &mut self,
        ctx: &StrategyContext<'_>,
        p: &PairParams,
        rules: &SizeRules,
    ) -> PairAction {
        let PairStage::Working { since_ms, attempts } = self.stage else {
            return PairAction::Wait;
        };
        if ctx.now_ms < since_ms.saturating_add(p.settle_ms) {
            return PairAction::Wait;
        }
        let action = self.decide(ctx, p, rules, attempts);
        if matches!(action, PairAction::Balanced | PairAction::Hold) {
            self.stage = PairStage::Settled;
        }
        action
    }

    fn decide(
        &self,
        ctx: &StrategyContext<'_>,
        p: &PairParams,
        rules: &SizeRules,
        attempts: u32,
    ) -> PairAction {
        let l = &self.legs;
        let (excess, larger, smaller) = if l.up_micro >= l.down_micro {
            (Outcome::Up, l.up_micro, l.down_micro)
        } else {
            (Outcome::Down, l.down_micro, l.up_micro)
        };
        if larger <= 0 || smaller as f64 >= p.min_fill_ratio * larger as f64 {
            return PairAction::Balanced;
        }
        let diff = larger - smaller;
        let excess_px = l.avg_price_micro(excess);
        if notional_micro(diff, excess_px) < p.accept_imbalance_micro || attempts >= p.max_attempts
        {
            return PairAction::Balanced;
        }
        let Some(size_micro) = rules.shares(diff) else {
            return PairAction::Balanced;
        };
        let deficit = other(excess);
        if let Some(a) = ask(ctx.book(deficit)) {
            if a + fee_per_share_micro(a, ctx.fee_rate_ppm) + excess_px < PRICE_ONE_MICRO {
                return PairAction::BuyDeficit {
                    outcome: deficit,
                    price_micro: a,
                    size_micro,
                };
            }
        }
        let bias = &ctx.signals.bias;
        let agrees = matches!(
            (bias.direction, excess),
            (Some(Direction::Up), Outcome::Up) | (Some(Direction::Down), Outcome::Down)
        );
        if agrees && bias.confidence > p.hold_bias_confidence {
            return PairAction::Hold;
        }
        match bid(ctx.book(excess)) {
            Some(b) => PairAction::SellExcess {
                outcome: excess,
                price_micro: b,
                size_micro,
            },
            // Nobody to sell to: keep the excess.
            None => PairAction::Hold,
        }
    }
}
