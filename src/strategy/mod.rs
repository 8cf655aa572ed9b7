//! The trading brain's strategy layer (strategy spec §4): each strategy reads the signal
//! snapshot, the market's books and the engine's positions, and pushes order / cancel intents
//! with a reason code into a fixed-capacity buffer; it never signs or sends anything.
//!
//! * [`intent`]: the intent types every strategy produces and the orchestrator consumes.
//! * [`context`]: [`StrategyContext`] (one market, one tick), [`StrategyFill`] (fill feedback),
//!   the lifecycle [`Phase`], tick-grid rounding and venue size rules.
//! * [`pair`]: two-leg entries and their imbalance rebalancing (straddle and arb).
//! * [`straddle`], [`arb`], [`lag`], [`market_making`], [`momentum`]: the five strategies.
//!
//! [`StrategySet`] holds all five; the orchestrator calls [`StrategySet::on_tick`] per strategy
//! it enables (with that strategy's capital in the context) and routes each fill back with
//! [`StrategySet::on_fill`]. Invariants: fixed per-market state (`MAX_MARKETS` slots); no
//! allocation on tick or fill; parameters from `[strategy]` in `config.toml`.

pub mod arb;
pub mod context;
pub mod intent;
pub mod lag;
pub mod market_making;
pub mod momentum;
pub mod pair;
pub mod straddle;

pub use arb::Arb;
pub use context::{Phase, PositionView, StrategyContext, StrategyFill, MAX_MARKETS};
pub use intent::{CancelIntent, IntentBuf, OrderIntent, Reason, StrategyId, TimeInForce};
pub use lag::Lag;
pub use market_making::MarketMaking;
pub use momentum::Momentum;
pub use straddle::Straddle;

use crate::config::StrategyConfig;

/// All five strategies.
#[derive(Debug, Clone)]
pub struct StrategySet {
    pub straddle: Straddle,
    pub arb: Arb,
    pub lag: Lag,
    pub mm: MarketMaking,
    pub momentum: Momentum,
}

impl StrategySet {
    /// Every strategy with the parameters of `[strategy]`.
    pub fn new(cfg: &StrategyConfig) -> Self {
        StrategySet {
            straddle: Straddle::new(cfg),
            arb: Arb::new(cfg),
            lag: Lag::new(cfg),
            mm: MarketMaking::new(cfg),
            momentum: Momentum::new(cfg),
        }
    }

    /// One tick of `strategy` on the market of `ctx`.
    #[inline]
    pub fn on_tick(
        &mut self,
        strategy: StrategyId,
        ctx: &StrategyContext<'_>,
        out: &mut IntentBuf,
    ) {
        match strategy {
            StrategyId::Straddle => self.straddle.on_tick(ctx, out),
            StrategyId::Arb => self.arb.on_tick(ctx, out),
            StrategyId::Lag => self.lag.on_tick(ctx, out),
            StrategyId::MarketMaking => self.mm.on_tick(ctx, out),
            StrategyId::Momentum => self.momentum.on_tick(ctx, out),
        }
    }

    /// A fill of an order `strategy` made (the lag strategy keeps no fill state).
    #[inline]
    pub fn on_fill(&mut self, strategy: StrategyId, fill: &StrategyFill) {
        match strategy {
            StrategyId::Straddle => self.straddle.on_fill(fill),
            StrategyId::Arb => self.arb.on_fill(fill),
            StrategyId::Lag => {}
            StrategyId::MarketMaking => self.mm.on_fill(fill),
            StrategyId::Momentum => self.momentum.on_fill(fill),
        }
    }

    /// An order of `strategy` is not resting (the orchestrator dropped it, or the venue
    /// canceled or refused it with size left): a quoting strategy forgets the quote so it
    /// places it again.
    #[inline]
    pub fn on_order_gone(
        &mut self,
        strategy: StrategyId,
        market: crate::book::MarketIdx,
        outcome: crate::book::Outcome,
        side: crate::exec::signing::amounts::Side,
        price_micro: i64,
    ) {
        if strategy == StrategyId::MarketMaking && side == crate::exec::signing::amounts::Side::Buy
        {
            self.mm.on_quote_gone(market, outcome, price_micro);
        }
    }

    /// Forget a market slot in every strategy (a new window reuses it).
    pub fn reset_market(&mut self, slot: usize) {
        self.straddle.reset_market(slot);
        self.arb.reset_market(slot);
        self.lag.reset_market(slot);
        self.mm.reset_market(slot);
        self.momentum.reset_market(slot);
    }
}
