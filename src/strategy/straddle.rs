//! Straddle + bias amplification, the primary strategy (strategy spec §4).
//!
//! Phase 1: when Up ask + Down ask + both taker fees per share is below `max_pair_cost_micro`
//! (0.97), buy both tokens at their asks, size = min(depth within `depth_cents` of each ask,
//! `capital_fraction` (25%) of capital / pair cost), both legs FAK in one batch group. A partial
//! fill is rebalanced by [`super::pair`]'s rules. Phase 2: once the pair is settled with a
//! positive locked profit and the bias has confidence ≥ `dip_min_confidence`, watch the bias
//! side's ask for up to `dip_window_ms`: a new low at least `dip_min_drop_micro` under the
//! watch's start followed by a `dip_bounce_micro` bounce buys at low + `dip_offset_micro`
//! (rounded down to the tick, a resting GTC limit), size = min(`dip_capital_fraction` of
//! capital, `dip_profit_multiple` × locked profit, depth within `dip_depth_cents`); an unfilled
//! dip order is cancelled when the window reaches pre-resolution.
//!
//! Invariants: one straddle (a pair whose legs both filled nothing does not count) and at most
//! one dip buy per market window; no new entry from
//! pre-resolution on, nothing at all in lockout; prices on the book's tick grid, sizes at or
//! above the venue minimum; fixed per-market state, no allocation.

use crate::book::{BookSide, Outcome, PRICE_ONE_MICRO};
use crate::config::StrategyConfig;
use crate::exec::signing::amounts::Side;
use crate::signals::arb::fee_per_share_micro;
use crate::signals::Direction;

use super::context::{
    ask, floor_to_tick, group_id, resting, scale_micro, taker, Leg, Phase, SizeRules,
    StrategyContext, StrategyFill, MAX_MARKETS,
};
use super::intent::{CancelIntent, IntentBuf, Reason, StrategyId};
use super::pair::{PairAction, PairBook, PairParams, PairStage};

const ID: StrategyId = StrategyId::Straddle;

/// Straddle parameters (from `[strategy.straddle]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StraddleParams {
    pub max_pair_cost_micro: i64,
    pub depth_cents: u32,
    pub capital_fraction: f64,
    pub dip_min_confidence: f64,
    pub dip_window_ms: u64,
    pub dip_bounce_micro: i64,
    pub dip_min_drop_micro: i64,
    pub dip_offset_micro: i64,
    pub dip_capital_fraction: f64,
    pub dip_profit_multiple: f64,
    pub dip_depth_cents: u32,
}

/// A running dip watch on one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DipWatch {
    side: Outcome,
    start_ms: u64,
    start_micro: i64,
    low_micro: i64,
}

#[derive(Debug, Clone, Copy, Default)]
struct MarketState {
    opened: bool,
    pair: PairBook,
    watch: Option<DipWatch>,
    dip_sent: bool,
    dip_live: bool,
}

/// The straddle strategy's state over every market slot.
#[derive(Debug, Clone)]
pub struct Straddle {
    params: StraddleParams,
    pair: PairParams,
    rules: SizeRules,
    groups: u32,
    markets: [MarketState; MAX_MARKETS],
}

impl Straddle {
    /// A straddle with the parameters of `[strategy]`.
    pub fn new(cfg: &StrategyConfig) -> Self {
        let s = &cfg.straddle;
        Straddle {
            params: StraddleParams {
                max_pair_cost_micro: s.max_pair_cost_micro,
                depth_cents: s.depth_cents,
                capital_fraction: s.capital_fraction,
                dip_min_confidence: s.dip_min_confidence,
                dip_window_ms: s.dip_window_ms,
                dip_bounce_micro: s.dip_bounce_micro,
                dip_min_drop_micro: s.dip_min_drop_micro,
                dip_offset_micro: s.dip_offset_micro,
                dip_capital_fraction: s.dip_capital_fraction,
                dip_profit_multiple: s.dip_profit_multiple,
                dip_depth_cents: s.dip_depth_cents,
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
        if matches!(ctx.phase, Phase::Upcoming | Phase::Resolved) {
            return;
        }
        let p = self.params;
        let pair_params = self.pair;
        let rules = self.rules;
        let m = &mut self.markets[slot];

        if m.dip_live && ctx.phase >= Phase::PreResolution {
            m.dip_live = false;
            out.push_cancel(CancelIntent {
                strategy: ID,
                reason: Reason::BiasDipBuy,
                market: ctx.market,
                outcome: None,
            });
        }
        if ctx.phase >= Phase::Lockout {
            return;
        }
        let entries_open = ctx.phase < Phase::PreResolution;
        // A phase-1 pair whose FAK legs both came back empty opened nothing: scan again.
        if m.opened
            && m.pair.stage == PairStage::Settled
            && m.pair.legs.up_micro == 0
            && m.pair.legs.down_micro == 0
        {
            m.opened = false;
        }

        if !m.opened && entries_open {
            if let Some((size, up_px, down_px)) = open_size(ctx, &p, &rules) {
                let group = group_id(ID.index(), &mut self.groups);
                for (outcome, price_micro) in [(Outcome::Up, up_px), (Outcome::Down, down_px)] {
                    let leg = Leg {
                        outcome,
                        side: Side::Buy,
                        price_micro,
                        size_micro: size,
                    };
                    out.push_order(taker(ID, Reason::StraddleOpen, ctx.market, leg, group));
                }
                m.opened = true;
                m.pair.start(ctx.now_ms);
            }
            return;
        }

        match m.pair.evaluate(ctx, &pair_params, &rules) {
            PairAction::BuyDeficit {
                outcome,
                price_micro,
                size_micro,
            } => {
                let leg = Leg {
                    outcome,
                    side: Side::Buy,
                    price_micro,
                    size_micro,
                };
                out.push_order(taker(ID, Reason::StraddleBuyDeficit, ctx.market, leg, 0));
                m.pair.rebalance_sent(ctx.now_ms);
                return;
            }
            PairAction::SellExcess {
                outcome,
                price_micro,
                size_micro,
            } => {
                let leg = Leg {
                    outcome,
                    side: Side::Sell,
                    price_micro,
                    size_micro,
                };
                out.push_order(taker(ID, Reason::StraddleSellExcess, ctx.market, leg, 0));
                m.pair.rebalance_sent(ctx.now_ms);
                return;
            }
            PairAction::Wait | PairAction::Balanced | PairAction::Hold => {}
        }

        if entries_open && m.pair.stage == PairStage::Settled && !m.dip_sent {
            if let Some(leg) = dip_buy(ctx, &p, &rules, m) {
                out.push_order(resting(ID, Reason::BiasDipBuy, ctx.market, leg, false));
                m.dip_sent = true;
                m.dip_live = true;
                m.watch = None;
            }
        }
    }

    /// A fill of one of this strategy's orders.
    pub fn on_fill(&mut self, fill: &StrategyFill) {
        let Some(m) = self.markets.get_mut(fill.market.0 as usize) else {
            return;
        };
        // Dip fills count into the legs too (the pair is settled by then, so they are never
        // "rebalanced"; they raise the bias side, which is the point).
        m.pair.on_fill(fill);
    }
}

/// Phase-1 size and the two asks, when the pair is cheap enough.
fn open_size(
    ctx: &StrategyContext<'_>,
    p: &StraddleParams,
    rules: &SizeRules,
) -> Option<(i64, i64, i64)> {
    let up_px = ask(ctx.up)?;
    let down_px = ask(ctx.down)?;
    let fees = fee_per_share_micro(up_px, ctx.fee_rate_ppm)
        + fee_per_share_micro(down_px, ctx.fee_rate_ppm);
    let cost = up_px + down_px + fees;
    if cost >= p.max_pair_cost_micro || cost >= PRICE_ONE_MICRO {
        return None;
    }
    let depth = ctx
        .up
        .depth_within(BookSide::Ask, p.depth_cents)
        .min(ctx.down.depth_within(BookSide::Ask, p.depth_cents));
    let by_capital = rules.shares_for(scale_micro(ctx.capital_micro, p.capital_fraction), cost)?;
    let size = rules.shares(depth.min(by_capital))?;
    Some((size, up_px, down_px))
}

/// Phase 2: advance the dip watch; the dip buy leg when it triggers.
fn dip_buy(
    ctx: &StrategyContext<'_>,
    p: &StraddleParams,
    rules: &SizeRules,
    m: &mut MarketState,
) -> Option<Leg> {
    let bias = &ctx.signals.bias;
    let side = match bias.direction {
        Some(Direction::Up) if bias.confidence >= p.dip_min_confidence => Outcome::Up,
        Some(Direction::Down) if bias.confidence >= p.dip_min_confidence => Outcome::Down,
        _ => {
            m.watch = None;
            return None;
        }
    };
    let book = ctx.book(side);
    let a = ask(book)?;
    let w = match m.watch {
        Some(w) if w.side == side && ctx.now_ms <= w.start_ms.saturating_add(p.dip_window_ms) => {
            DipWatch {
                low_micro: w.low_micro.min(a),
                ..w
            }
        }
        _ => DipWatch {
            side,
            start_ms: ctx.now_ms,
            start_micro: a,
            low_micro: a,
        },
    };
    m.watch = Some(w);
    let dipped = w.low_micro <= w.start_micro - p.dip_min_drop_micro;
    let bounced = a >= w.low_micro + p.dip_bounce_micro;
    if !(dipped && bounced) {
        return None;
    }
    let locked = m.pair.legs.locked_profit_micro();
    if locked <= 0 {
        return None;
    }
    let price = floor_to_tick(w.low_micro + p.dip_offset_micro, book.tick())?;
    let by_capital = scale_micro(ctx.capital_micro, p.dip_capital_fraction);
    let by_profit = scale_micro(locked, p.dip_profit_multiple);
    let dollars = by_capital.min(by_profit);
    let by_money = rules.shares_for(dollars, price)?;
    let depth = book.depth_within(BookSide::Ask, p.dip_depth_cents);
    let size = rules.shares(by_money.min(depth))?;
    Some(Leg {
        outcome: side,
        side: Side::Buy,
        price_micro: price,
        size_micro: size,
    })
}
