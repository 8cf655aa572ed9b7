//! Probability momentum capture (strategy spec §4): enter when |score| > the regime's momentum
//! minimum and |divergence| (fair − Up price) > `min_divergence` (0.02) with the same sign — buy
//! Up for a positive pair, Down for a negative one — FAK at the ask, size = `capital_fraction`
//! (10%) of capital × min(|divergence|/0.05, 2) × min(|score|/0.005, 1.5). Exit by selling the
//! whole holding FAK at the bid on exhaustion or after the maximum hold (5m windows 180 s, 15m
//! 600 s); with fewer than `hold_last_s` (45 s) left, neither enter nor exit: hold to
//! resolution.
//!
//! Invariants: one position per market at a time, tracked from this strategy's own fills; an
//! order in flight (entry or exit) blocks another until its fill or `entry_timeout_ms`; no entry
//! from pre-resolution on; prices are book asks/bids (on the grid), sizes at or above the venue
//! minimum; no allocation.

use crate::book::Outcome;
use crate::config::{StrategyConfig, Window};
use crate::exec::signing::amounts::Side;
use crate::signals::arb::fee_per_share_micro;

use super::context::{
    ask, bid, scale_micro, taker, Leg, Phase, SizeRules, StrategyContext, StrategyFill, MAX_MARKETS,
};
use super::intent::{IntentBuf, Reason, StrategyId};

const ID: StrategyId = StrategyId::Momentum;

/// Momentum parameters (from `[strategy.momentum]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MomentumStrategyParams {
    pub min_divergence: f64,
    pub capital_fraction: f64,
    pub divergence_scale: f64,
    pub divergence_cap: f64,
    pub score_scale: f64,
    pub score_cap: f64,
    pub hold_last_s: u64,
    pub max_hold_5m_s: u64,
    pub max_hold_15m_s: u64,
    pub entry_timeout_ms: u64,
}

/// One market's momentum position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MomentumPosition {
    /// Token held.
    pub outcome: Outcome,
    /// Shares held, micro-shares.
    pub held_micro: i64,
    /// First fill of the entry, ms.
    pub entry_ms: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct MarketState {
    position: Option<MomentumPosition>,
    /// An order in flight since this time.
    pending_since_ms: Option<u64>,
}

/// The momentum strategy's state over every market slot.
#[derive(Debug, Clone)]
pub struct Momentum {
    params: MomentumStrategyParams,
    rules: SizeRules,
    markets: [MarketState; MAX_MARKETS],
}

impl Momentum {
    /// A momentum strategy with the parameters of `[strategy]`.
    pub fn new(cfg: &StrategyConfig) -> Self {
        let m = &cfg.momentum;
        Momentum {
            params: MomentumStrategyParams {
                min_divergence: m.min_divergence,
                capital_fraction: m.capital_fraction,
                divergence_scale: m.divergence_scale,
                divergence_cap: m.divergence_cap,
                score_scale: m.score_scale,
                score_cap: m.score_cap,
                hold_last_s: m.hold_last_s,
                max_hold_5m_s: m.max_hold_5m_s,
                max_hold_15m_s: m.max_hold_15m_s,
                entry_timeout_ms: m.entry_timeout_ms,
            },
            rules: SizeRules::from_config(cfg),
            markets: [MarketState::default(); MAX_MARKETS],
        }
    }

    /// Forget a market slot (a new window reuses it).
    pub fn reset_market(&mut self, slot: usize) {
        if let Some(m) = self.markets.get_mut(slot) {
            *m = MarketState::default();
        }
    }

    /// The position of a market slot.
    pub fn position(&self, slot: usize) -> Option<MomentumPosition> {
        self.markets.get(slot).and_then(|m| m.position)
    }

    /// One tick of one market.
    pub fn on_tick(&mut self, ctx: &StrategyContext<'_>, out: &mut IntentBuf) {
        let Some(slot) = ctx.slot() else { return };
        let p = self.params;
        let rules = self.rules;
        let m = &mut self.markets[slot];
        if let Some(since) = m.pending_since_ms {
            if ctx.now_ms < since.saturating_add(p.entry_timeout_ms) {
                return;
            }
            m.pending_since_ms = None;
        }
        if ctx.seconds_left() < p.hold_last_s
            || matches!(
                ctx.phase,
                Phase::Upcoming | Phase::Lockout | Phase::Resolved
            )
        {
            return;
        }
        let reading = &ctx.signals.momentum;

        if let Some(pos) = m.position {
            let max_hold_s = match ctx.window {
                Window::Min5 => p.max_hold_5m_s,
                Window::Min15 => p.max_hold_15m_s,
            };
            let held_too_long = ctx.now_ms
                >= pos
                    .entry_ms
                    .saturating_add(max_hold_s.saturating_mul(1_000));
            if !(reading.exhausted || held_too_long) {
                return;
            }
            let (Some(price), Some(size)) =
                (bid(ctx.book(pos.outcome)), rules.shares(pos.held_micro))
            else {
                return;
            };
            let leg = Leg {
                outcome: pos.outcome,
                side: Side::Sell,
                price_micro: price,
                size_micro: size,
            };
            if out.push_order(taker(ID, Reason::MomentumExit, ctx.market, leg, 0)) {
                m.pending_since_ms = Some(ctx.now_ms);
            }
            return;
        }

        if ctx.phase >= Phase::PreResolution {
            return;
        }
        let (Some(min), Some(score), Some(div)) = (
            ctx.signals.regime_row.and_then(|r| r.momentum_min_signal),
            reading.score,
            reading.divergence,
        ) else {
            return;
        };
        if !(score.abs() > min && div.abs() > p.min_divergence && score.signum() == div.signum()) {
            return;
        }
        let outcome = if score > 0.0 {
            Outcome::Up
        } else {
            Outcome::Down
        };
        let Some(price) = ask(ctx.book(outcome)) else {
            return;
        };
        let multiple = (div.abs() / p.divergence_scale).min(p.divergence_cap)
            * (score.abs() / p.score_scale).min(p.score_cap);
        let dollars = scale_micro(ctx.capital_micro, p.capital_fraction * multiple);
        let Some(size) = rules.shares_for(
            dollars,
            price + fee_per_share_micro(price, ctx.fee_rate_ppm),
        ) else {
            return;
        };
        let leg = Leg {
            outcome,
            side: Side::Buy,
            price_micro: price,
            size_micro: size,
        };
        if out.push_order(taker(ID, Reason::MomentumEntry, ctx.market, leg, 0)) {
            m.pending_since_ms = Some(ctx.now_ms);
        }
    }

    /// A fill of one of this strategy's orders.
    pub fn on_fill(&mut self, fill: &StrategyFill) {
        let Some(m) = self.markets.get_mut(fill.market.0 as usize) else {
            return;
        };
        m.pending_since_ms = None;
        match (fill.side, m.position) {
            (Side::Buy, Some(pos)) if pos.outcome == fill.outcome => {
                m.position = Some(MomentumPosition {
                    held_micro: pos.held_micro + fill.size_micro,
                    ..pos
                });
            }
            (Side::Buy, _) => {
                m.position = Some(MomentumPosition {
                    outcome: fill.outcome,
                    held_micro: fill.size_micro,
                    entry_ms: fill.now_ms,
                });
            }
            (Side::Sell, Some(pos)) if pos.outcome == fill.outcome => {
                let left = pos.held_micro - fill.size_micro;
                m.position = (left > 0).then_some(MomentumPosition {
                    held_micro: left,
                    ..pos
                });
            }
            (Side::Sell, _) => {}
        }
    }
}
