//! Pure Up + Down arbitrage (strategy spec §4): when the signal layer's scanner signals (edge
//! after taker fees ≥ the regime minimum and expected profit ≥ the minimum), buy both tokens at
//! their asks, FAK, in one batch group. Size by the account's capital tier (`tier_bounds_micro`,
//! `tier_fractions`: $5–50 100%, $50–500 50%, $500–5k 25%, $5k–50k 10%, above 10%) applied to
//! this strategy's capital, divided by the pair's cost per share, capped by the scanner's
//! executable depth. A partial fill is rebalanced by [`super::pair`]'s rules; the next pair waits
//! for the previous one to settle plus `cooldown_ms`.
//!
//! Invariants: at most one working pair per market; nothing in lockout; prices on the grid (the
//! asks), sizes at or above the venue minimum; fixed per-market state, no allocation.

use crate::book::Outcome;
use crate::config::StrategyConfig;
use crate::exec::signing::amounts::Side;

use super::context::{
    group_id, scale_micro, taker, Leg, Phase, SizeRules, StrategyContext, StrategyFill, MAX_MARKETS,
};
use super::intent::{IntentBuf, Reason, StrategyId};
use super::pair::{PairAction, PairBook, PairParams, PairStage};

const ID: StrategyId = StrategyId::Arb;

/// Arb parameters (from `[strategy.arb]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArbStrategyParams {
    pub min_capital_micro: i64,
    pub tier_bounds_micro: [i64; 4],
    pub tier_fractions: [f64; 5],
    pub cooldown_ms: u64,
}

impl ArbStrategyParams {
    /// Share of capital per arb for an account of `account_micro`; `None` below the minimum.
    pub fn tier_fraction(&self, account_micro: i64) -> Option<f64> {
        if account_micro < self.min_capital_micro {
            return None;
        }
        let tier = self
            .tier_bounds_micro
            .iter()
            .position(|b| account_micro < *b)
            .unwrap_or(self.tier_bounds_micro.len());
        self.tier_fractions.get(tier).copied()
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct MarketState {
    pair: PairBook,
    next_ok_ms: u64,
}

/// The arb strategy's state over every market slot.
#[derive(Debug, Clone)]
pub struct Arb {
    params: ArbStrategyParams,
    pair: PairParams,
    rules: SizeRules,
    groups: u32,
    markets: [MarketState; MAX_MARKETS],
}

impl Arb {
    /// An arb with the parameters of `[strategy]`.
    pub fn new(cfg: &StrategyConfig) -> Self {
        let a = &cfg.arb;
        Arb {
            params: ArbStrategyParams {
                min_capital_micro: a.min_capital_micro,
                tier_bounds_micro: a.tier_bounds_micro,
                tier_fractions: a.tier_fractions,
                cooldown_ms: a.cooldown_ms,
            },
            pair: PairParams::from_config(&cfg.rebalance),
            rules: SizeRules::from_config(cfg),
            groups: 0,
            markets: [MarketState::default(); MAX_MARKETS],
        }
    }

    /// Forget a market slot (a new window reuses it).
    pub fn reset_market(&mut self, slot: usize) {
        if let Some(m) = self.markets.get_mut(slot) {
            *m = MarketState::default();
        }
    }

    /// The pair state of a market slot (reports, tests).
    pub fn pair(&self, slot: usize) -> Option<&PairBook> {
        self.markets.get(slot).map(|m| &m.pair)
    }

    /// One tick of one market.
    pub fn on_tick(&mut self, ctx: &StrategyContext<'_>, out: &mut IntentBuf) {
        let Some(slot) = ctx.slot() else { return };
        if matches!(
            ctx.phase,
            Phase::Upcoming | Phase::Lockout | Phase::Resolved
        ) {
            return;
        }
        let (p, pair_params, rules) = (self.params, self.pair, self.rules);
        let m = &mut self.markets[slot];

        if let PairStage::Working { .. } = m.pair.stage {
            let (reason, leg) = match m.pair.evaluate(ctx, &pair_params, &rules) {
                PairAction::BuyDeficit {
                    outcome,
                    price_micro,
                    size_micro,
                } => (
                    Reason::ArbRebalance,
                    Leg {
                        outcome,
                        side: Side::Buy,
                        price_micro,
                        size_micro,
                    },
                ),
                PairAction::SellExcess {
                    outcome,
                    price_micro,
                    size_micro,
                } => (
                    Reason::ArbRebalance,
                    Leg {
                        outcome,
                        side: Side::Sell,
                        price_micro,
                        size_micro,
                    },
                ),
                PairAction::Balanced | PairAction::Hold => {
                    m.next_ok_ms = ctx.now_ms.saturating_add(p.cooldown_ms);
                    return;
                }
                PairAction::Wait => return,
            };
            out.push_order(taker(ID, reason, ctx.market, leg, 0));
            m.pair.rebalance_sent(ctx.now_ms);
            return;
        }

        if ctx.now_ms < m.next_ok_ms {
            return;
        }
        let Some(quote) = ctx.signals.arb.filter(|q| q.signal) else {
            return;
        };
        let Some(fraction) = p.tier_fraction(ctx.account_capital_micro) else {
            return;
        };
        let cost = quote.up_ask_micro + quote.down_ask_micro + quote.fee_per_share_micro;
        let Some(by_money) = rules.shares_for(scale_micro(ctx.capital_micro, fraction), cost)
        else {
            return;
        };
        let Some(size) = rules.shares(by_money.min(quote.executable_micro)) else {
            return;
        };
        let group = group_id(ID.index(), &mut self.groups);
        for (outcome, price_micro) in [
            (Outcome::Up, quote.up_ask_micro),
            (Outcome::Down, quote.down_ask_micro),
        ] {
            let leg = Leg {
                outcome,
                side: Side::Buy,
                price_micro,
                size_micro: size,
            };
            out.push_order(taker(ID, Reason::ArbOpen, ctx.market, leg, group));
        }
        m.pair.start(ctx.now_ms);
    }

    /// A fill of one of this strategy's orders.
    pub fn on_fill(&mut self, fill: &StrategyFill) {
        if let Some(m) = self.markets.get_mut(fill.market.0 as usize) {
            m.pair.on_fill(fill);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn capital_tiers_follow_the_spec() {
        let cfg = Config::shipped().unwrap().strategy;
        let arb = Arb::new(&cfg);
        let usd = 1_000_000i64;
        let f = |dollars: i64| arb.params.tier_fraction(dollars * usd);
        assert_eq!(f(4), None);
        assert_eq!(f(5), Some(1.0));
        assert_eq!(f(49), Some(1.0));
        assert_eq!(f(50), Some(0.5));
        assert_eq!(f(499), Some(0.5));
        assert_eq!(f(500), Some(0.25));
        assert_eq!(f(5_000), Some(0.10));
        assert_eq!(f(50_000), Some(0.10));
    }
}
