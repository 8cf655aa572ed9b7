//! Micro market-making (strategy spec §4): quote the Up token around fair value P(Up) with the
//! regime's half-spread, widened near expiry by × (1 + max(0, (120 − s_left)/120) × 0.5), by
//! `widen_factor` when the 5 s taker flow is one-sided beyond `flow_imbalance_widen` (3:1) and
//! when every one of the last `fill_memory` (10) fills was on one side (which also adds
//! `one_sided_skew` against that side). Inventory skew = clamp((Up − Down shares) /
//! (capital × 0.5) × 0.02, ±0.03), a share counted as $1, subtracted from both quotes.
//!
//! The venue has no shorting, so the Up ask is quoted as its mirror: a BUY of Down at
//! 1 − Up ask. Both quotes are therefore bids, rounded **down** to the tick, kept one tick under
//! the token's best ask (post-only never crosses), GTC post-only; size = `capital_fraction`
//! (10%) of capital × the regime's size multiplier, per side. A quote is cancelled and replaced
//! only when its desired price moved by at least one tick (or it filled).
//! Pulls (cancel both, quote nothing): no regime or EXTREME (no half-spread); outside
//! alpha..mature (no new quotes from pre-resolution on); the last `pull_last_s` (30 s); Binance
//! moved more than `pull_move_pct` (0.02%) in 1 s; a liquidation cascade (|liquidation bias
//! input| ≥ `cascade_liquidation_input`); HIGH volatility with capital below
//! `pull_high_vol_capital_micro` ($100); the Up book's spread already below
//! `pull_book_spread_micro` (1c); no fair value.
//!
//! Invariants: at most one live quote per token per market (tracked here); a cancel for a token
//! precedes its replacement in the same buffer; no allocation.

use crate::book::{BookSide, MarketIdx, Outcome, TokenBook, PRICE_ONE_MICRO};
use crate::config::StrategyConfig;
use crate::exec::signing::amounts::Side;
use crate::signals::Regime;

use super::context::{
    ask, bid, floor_to_tick, resting, scale_micro, Leg, Phase, SizeRules, StrategyContext,
    StrategyFill, MAX_MARKETS,
};
use super::intent::{CancelIntent, IntentBuf, Reason, StrategyId};

const ID: StrategyId = StrategyId::MarketMaking;
/// Most fills remembered for the one-sided check.
pub const FILL_MEMORY_MAX: usize = 32;

/// Market-making parameters (from `[strategy.mm]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmParams {
    pub capital_fraction: f64,
    pub expiry_widen_s: u64,
    pub expiry_widen_factor: f64,
    pub skew_per_inventory: f64,
    pub skew_capital_fraction: f64,
    pub skew_max: f64,
    /// 1 s Binance move that pulls, parts per million.
    pub pull_move_ppm: i64,
    pub pull_last_s: u64,
    pub pull_high_vol_capital_micro: i64,
    pub pull_book_spread_micro: i64,
    pub cascade_liquidation_input: f64,
    pub flow_imbalance_widen: f64,
    pub widen_factor: f64,
    pub fill_memory: usize,
    pub one_sided_skew: f64,
}

/// One live quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// Price, micro-units.
    pub price_micro: i64,
    /// Remaining size, micro-shares.
    pub size_micro: i64,
}

#[derive(Debug, Clone, Copy)]
struct MarketState {
    up: Option<Quote>,
    down: Option<Quote>,
    fills: [Outcome; FILL_MEMORY_MAX],
    fill_head: usize,
    fill_count: usize,
}

impl Default for MarketState {
    fn default() -> Self {
        MarketState {
            up: None,
            down: None,
            fills: [Outcome::Up; FILL_MEMORY_MAX],
            fill_head: 0,
            fill_count: 0,
        }
    }
}

impl MarketState {
    /// The side every remembered fill was on, when the memory is full and one-sided.
    fn one_sided(&self, memory: usize) -> Option<Outcome> {
        if memory == 0 || self.fill_count < memory {
            return None;
        }
        let first = self.fills[(self.fill_head + FILL_MEMORY_MAX - 1) % FILL_MEMORY_MAX];
        (0..memory)
            .all(|k| {
                self.fills[(self.fill_head + FILL_MEMORY_MAX - 1 - k) % FILL_MEMORY_MAX] == first
            })
            .then_some(first)
    }
}

/// The market-making strategy's state over every market slot.
#[derive(Debug, Clone)]
pub struct MarketMaking {
    params: MmParams,
    rules: SizeRules,
    markets: [MarketState; MAX_MARKETS],
}

impl MarketMaking {
    /// A market maker with the parameters of `[strategy]`.
    pub fn new(cfg: &StrategyConfig) -> Self {
        let m = &cfg.mm;
        MarketMaking {
            params: MmParams {
                capital_fraction: m.capital_fraction,
                expiry_widen_s: m.expiry_widen_s,
                expiry_widen_factor: m.expiry_widen_factor,
                skew_per_inventory: m.skew_per_inventory,
                skew_capital_fraction: m.skew_capital_fraction,
                skew_max: m.skew_max,
                // percent → ppm: 0.02% = 200 ppm.
                pull_move_ppm: (m.pull_move_pct * 10_000.0).round() as i64,
                pull_last_s: m.pull_last_s,
                pull_high_vol_capital_micro: m.pull_high_vol_capital_micro,
                pull_book_spread_micro: m.pull_book_spread_micro,
                cascade_liquidation_input: m.cascade_liquidation_input,
                flow_imbalance_widen: m.flow_imbalance_widen,
                widen_factor: m.widen_factor,
                fill_memory: (m.fill_memory as usize).min(FILL_MEMORY_MAX),
                one_sided_skew: m.one_sided_skew,
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

    /// The live quotes (Up bid, Down bid) of a market slot.
    pub fn quotes(&self, slot: usize) -> Option<(Option<Quote>, Option<Quote>)> {
        self.markets.get(slot).map(|m| (m.up, m.down))
    }

    /// Why quotes must not stand now, if they must not.
    fn must_pull(&self, ctx: &StrategyContext<'_>) -> bool {
        let p = &self.params;
        let s = ctx.signals;
        let Some(row) = s.regime_row else { return true };
        if row.mm_half_spread_micro.is_none() || s.fair_up.is_none() {
            return true;
        }
        if !matches!(
            ctx.phase,
            Phase::Alpha | Phase::Early | Phase::Prime | Phase::Mature
        ) || ctx.seconds_left() < p.pull_last_s
        {
            return true;
        }
        if ctx.binance_move_1s_ppm.abs() > p.pull_move_ppm {
            return true;
        }
        if s.bias.components[4].abs() >= p.cascade_liquidation_input {
            return true;
        }
        if s.regime == Some(Regime::High) && ctx.capital_micro < p.pull_high_vol_capital_micro {
            return true;
        }
        match (bid(ctx.up), ask(ctx.up)) {
            (Some(b), Some(a)) => a - b < p.pull_book_spread_micro,
            _ => false,
        }
    }

    /// One tick of one market.
    pub fn on_tick(&mut self, ctx: &StrategyContext<'_>, out: &mut IntentBuf) {
        let Some(slot) = ctx.slot() else { return };
        if self.must_pull(ctx) {
            let m = &mut self.markets[slot];
            if m.up.is_some() || m.down.is_some() {
                m.up = None;
                m.down = None;
                out.push_cancel(CancelIntent {
                    strategy: ID,
                    reason: Reason::MmPull,
                    market: ctx.market,
                    outcome: None,
                });
            }
            return;
        }
        let (up_want, down_want) = self.desired(ctx, &self.markets[slot]);
        let m = &mut self.markets[slot];
        let min = self.rules.min_micro;
        requote(ctx, Outcome::Up, &mut m.up, up_want, min, out);
        requote(ctx, Outcome::Down, &mut m.down, down_want, min, out);
    }

    /// The quotes wanted now: (Up bid, Down bid).
    fn desired(
        &self,
        ctx: &StrategyContext<'_>,
        m: &MarketState,
    ) -> (Option<Quote>, Option<Quote>) {
        let p = &self.params;
        let s = ctx.signals;
        let (Some(row), Some(fair)) = (s.regime_row, s.fair_up) else {
            return (None, None);
        };
        let Some(half_micro) = row.mm_half_spread_micro else {
            return (None, None);
        };
        let one = PRICE_ONE_MICRO as f64;
        let mut half = half_micro as f64 / one;
        let secs = ctx.seconds_left();
        if secs < p.expiry_widen_s && p.expiry_widen_s > 0 {
            let near = (p.expiry_widen_s - secs) as f64 / p.expiry_widen_s as f64;
            half *= 1.0 + near * p.expiry_widen_factor;
        }
        let (buy, sell) = ctx.flow_5s;
        let (hi, lo) = (buy.max(sell), buy.min(sell));
        if hi > 0 && (lo <= 0 || hi as f64 / lo as f64 > p.flow_imbalance_widen) {
            half *= p.widen_factor;
        }
        let denom = ctx.capital_micro as f64 * p.skew_capital_fraction;
        let net = (ctx.position.up_micro - ctx.position.down_micro) as f64;
        let mut skew = if denom > 0.0 {
            (net / denom * p.skew_per_inventory).clamp(-p.skew_max, p.skew_max)
        } else {
            0.0
        };
        if let Some(side) = m.one_sided(p.fill_memory) {
            half *= p.widen_factor;
            // All fills bought Up → long Up → lower both quotes (and the reverse).
            skew += match side {
                Outcome::Up => p.one_sided_skew,
                Outcome::Down => -p.one_sided_skew,
            };
        }
        // To the nearest micro-unit first (f64 noise must not cost a tick), then to the grid.
        let up_bid = ((fair - half - skew) * one).round() as i64;
        let up_ask = ((fair + half - skew) * one).round() as i64;
        let dollars = scale_micro(
            ctx.capital_micro,
            p.capital_fraction * row.mm_size_multiplier,
        );
        let up = self.quote(ctx.up, up_bid, dollars);
        let down = self.quote(ctx.down, PRICE_ONE_MICRO - up_ask, dollars);
        (up, down)
    }

    /// A post-only bid on `book` at or under `price_micro` for `dollars_micro`.
    fn quote(&self, book: &TokenBook, price_micro: i64, dollars_micro: i64) -> Option<Quote> {
        let tick = book.tick();
        let mut price = floor_to_tick(price_micro, tick)?;
        if let Some(a) = book.best_price(BookSide::Ask) {
            if price >= a {
                price = floor_to_tick(a - tick.micro(), tick)?;
            }
        }
        let size = self.rules.shares_for(dollars_micro, price)?;
        Some(Quote {
            price_micro: price,
            size_micro: size,
        })
    }

    /// The quote at `price_micro` on `outcome` is not resting (dropped before sending, or
    /// canceled / refused by the venue): forget it, so the next tick places it again.
    pub fn on_quote_gone(&mut self, market: MarketIdx, outcome: Outcome, price_micro: i64) {
        let Some(m) = self.markets.get_mut(market.0 as usize) else {
            return;
        };
        let q = match outcome {
            Outcome::Up => &mut m.up,
            Outcome::Down => &mut m.down,
        };
        if q.is_some_and(|l| l.price_micro == price_micro) {
            *q = None;
        }
    }

    /// A fill of one of this strategy's quotes.
    pub fn on_fill(&mut self, fill: &StrategyFill) {
        let Some(m) = self.markets.get_mut(fill.market.0 as usize) else {
            return;
        };
        m.fills[m.fill_head] = fill.outcome;
        m.fill_head = (m.fill_head + 1) % FILL_MEMORY_MAX;
        m.fill_count = (m.fill_count + 1).min(FILL_MEMORY_MAX);
        let q = match fill.outcome {
            Outcome::Up => &mut m.up,
            Outcome::Down => &mut m.down,
        };
        if let Some(live) = q {
            // Below the venue minimum, the next tick cancels the remainder and requotes.
            live.size_micro = (live.size_micro - fill.size_micro).max(0);
        }
    }
}

/// Bring one token's live quote to `want`: cancel when it goes, moved ≥ 1 tick or its
/// remainder fell under the venue minimum, then place.
fn requote(
    ctx: &StrategyContext<'_>,
    outcome: Outcome,
    live: &mut Option<Quote>,
    want: Option<Quote>,
    min_size_micro: i64,
    out: &mut IntentBuf,
) {
    let tick = ctx.book(outcome).tick().micro();
    let cancel = CancelIntent {
        strategy: ID,
        reason: Reason::MmQuote,
        market: ctx.market,
        outcome: Some(outcome),
    };
    match (*live, want) {
        (None, None) => {}
        (Some(_), None) => {
            out.push_cancel(cancel);
            *live = None;
        }
        (Some(l), Some(w))
            if l.size_micro >= min_size_micro && (l.price_micro - w.price_micro).abs() < tick => {}
        (l, Some(w)) => {
            if l.is_some() {
                out.push_cancel(cancel);
            }
            let leg = Leg {
                outcome,
                side: Side::Buy,
                price_micro: w.price_micro,
                size_micro: w.size_micro,
            };
            if out.push_order(resting(ID, Reason::MmQuote, ctx.market, leg, true)) {
                *live = Some(w);
            } else {
                *live = None;
            }
        }
    }
}
