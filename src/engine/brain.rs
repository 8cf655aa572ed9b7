//! The trading brain: the [`Decider`] that joins the five strategies, the orchestrator
//! (lifecycle permissions, deduplication, capital allocation, pair legs) and the pre-trade
//! risk gate into one decision per market per tick, and keeps what those need between ticks:
//! each strategy's holdings and resting orders per market, P&L per strategy and market, the
//! allocator's commitments, and the settlement of each window.
//!
//! One round (`decide`): every strategy sees the market (with the capital the allocator leaves
//! it and its own holdings) and pushes intents; the orchestrator drops what the phase, regime,
//! budget or risk forbid; intents a strategy believes are resting but that were dropped are
//! reported back to it ([`StrategySet::on_order_gone`]) so it places them again later.
//!
//! Invariants: no allocation after construction (fixed tables sized for the engine's market
//! capacity and `LIVE_MAX` resting orders); without a volatility regime yet (ATR not warm) a
//! market is treated as the riskiest regime ([`Regime::High`]) and the round is counted as
//! cold; a window is settled by the oracle rule when the engine's oracle data allows it, else
//! by the venue's outcome, and a disagreement is counted; P&L of a slot is folded into the
//! run's totals before the slot is reused.

use std::sync::Arc;

use super::messages::AccountView;
use super::trading::{
    Decider, DeciderFigures, DeciderFill, DecisionInputs, NewMarket, StrategyFigures,
    WindowSettlement, SETTLEMENTS_MAX,
};
use crate::book::{MarketIdx, Outcome, TokenBook};
use crate::config::{Asset, Config, Window};
use crate::exec::json::OrderId;
use crate::exec::orders::positions::{notional_micros, TokenKey};
use crate::exec::signing::amounts::Side;
use crate::orchestrator::allocator::Allocator;
use crate::orchestrator::lifecycle::Lifecycle;
use crate::orchestrator::{LiveOrder, MarketSlot, Orchestrator, RoundInputs};
use crate::risk::pnl::{FillRecord, Pnl, PnlSummary};
use crate::risk::pretrade::{Account, MarketRisk, PreTrade, PreTradeLimits};
use crate::risk::state::RiskShared;
use crate::signals::Regime;
use crate::strategy::context::{PositionView, StrategyContext};
use crate::strategy::intent::{IntentBuf, OrderIntent, StrategyId};
use crate::strategy::StrategySet;

/// Most resting / in-flight orders the brain follows.
pub const LIVE_MAX: usize = 256;
/// Most intents in one round.
pub const ROUND_MAX: usize = 32;

/// One tracked window.
#[derive(Debug, Clone, Copy)]
struct Slot {
    market_type: Option<usize>,
    asset: Asset,
    window: Window,
    start_s: u64,
    up: TokenKey,
    down: TokenKey,
    settled: bool,
}

/// One of our orders still resting or in flight.
#[derive(Debug, Clone, Copy)]
struct LiveRow {
    id: OrderId,
    strategy: StrategyId,
    market_type: Option<usize>,
    order: LiveOrder,
    remaining_micro: i64,
}

/// See the module docs.
pub struct TradingBrain {
    strategies: StrategySet,
    orchestrator: Orchestrator,
    allocator: Allocator,
    shared: Arc<RiskShared>,
    default_fee_ppm: i64,
    slots: Vec<Option<Slot>>,
    round_slots: Vec<Option<MarketSlot>>,
    live: Vec<LiveRow>,
    live_view: Vec<LiveOrder>,
    before_round: Vec<OrderIntent>,
    holdings: Vec<[PositionView; StrategyId::COUNT]>,
    mids: Vec<[i64; 2]>,
    pnl: Pnl,
    /// P&L of windows whose slots were reused, per strategy.
    closed: [PnlSummary; StrategyId::COUNT],
    figures: DeciderFigures,
    /// Orders the live table could not follow (full).
    pub live_overflow: u64,
    /// `[[markets]]` entries as (asset, window): a market's type is its index here.
    market_kinds: Vec<(Asset, Window)>,
    /// Capital at the start (`allocator.starting_capital_micro`).
    starting_capital_micro: i64,
    /// Latest ATR(1m) seen per asset (BTC, ETH, SOL, XRP).
    atr: [f64; 4],
}

impl TradingBrain {
    /// A brain for `capacity` market slots with the parameters of `cfg`; `shared` is the
    /// state the risk thread's monitor writes (kill, pause, size multiplier).
    pub fn new(cfg: &Config, capacity: usize, shared: Arc<RiskShared>) -> TradingBrain {
        let capacity = capacity.max(1);
        let limits = PreTradeLimits::from_config(
            &cfg.risk,
            cfg.oracle.max_age_ms,
            cfg.signals.regimes.position_cap_bps,
            cfg.strategy.min_order_shares_micro,
        );
        TradingBrain {
            strategies: StrategySet::new(&cfg.strategy),
            orchestrator: Orchestrator::new(
                Lifecycle::from_config(&cfg.lifecycle),
                PreTrade::new(limits),
                ROUND_MAX,
                capacity,
                cfg.markets.len(),
            ),
            allocator: Allocator::new(&cfg.allocator, &cfg.markets),
            shared,
            default_fee_ppm: cfg.signals.default_taker_fee_rate_ppm,
            slots: vec![None; capacity],
            round_slots: vec![None; capacity],
            live: Vec::with_capacity(LIVE_MAX),
            live_view: Vec::with_capacity(LIVE_MAX),
            before_round: Vec::with_capacity(ROUND_MAX),
            holdings: vec![[PositionView::default(); StrategyId::COUNT]; capacity],
            mids: vec![[0; 2]; capacity],
            pnl: Pnl::new(capacity),
            closed: [PnlSummary::default(); StrategyId::COUNT],
            figures: DeciderFigures {
                strategies: [StrategyFigures::default(); StrategyId::COUNT],
                settlements: [None; SETTLEMENTS_MAX],
                settled: 0,
                oracle_disagreements: 0,
                cold_rounds: 0,
                pnl_errors: 0,
                drops: [0; crate::orchestrator::DropReason::COUNT],
            },
            live_overflow: 0,
            market_kinds: cfg.markets.iter().map(|m| (m.asset, m.window)).collect(),
            starting_capital_micro: cfg.allocator.starting_capital_micro,
            atr: [0.0; 4],
        }
    }

    /// The orchestrator (its drop counters and the pre-trade gate's).
    pub fn orchestrator(&self) -> &Orchestrator {
        &self.orchestrator
    }

    /// The allocator (capital, commitments).
    pub fn allocator(&self) -> &Allocator {
        &self.allocator
    }

    /// Orders followed as resting or in flight.
    pub fn live_orders(&self) -> usize {
        self.live.len()
    }

    fn slot(&self, market: MarketIdx) -> Option<Slot> {
        self.slots.get(usize::from(market.0)).copied().flatten()
    }

    /// Cost of what strategies hold in `market` plus its resting BUYs, per outcome.
    fn market_cost(&self, market: MarketIdx) -> [i64; 2] {
        let mut cost = [0i64; 2];
        for s in StrategyId::ALL {
            cost[0] += self.pnl.lot(market, s, Outcome::Up).cost_micro;
            cost[1] += self.pnl.lot(market, s, Outcome::Down).cost_micro;
        }
        for r in self.live.iter().filter(|r| r.order.market == market) {
            if r.order.side == Side::Buy {
                let n =
                    notional_micros(r.remaining_micro.max(0) as u64, r.order.price_micro as u64);
                cost[outcome_index(r.order.outcome)] += n as i64;
            }
        }
        cost
    }

    fn exposure(&self) -> i64 {
        let mut total = 0;
        for (i, s) in self.slots.iter().enumerate() {
            if s.is_some_and(|s| !s.settled) {
                let c = self.market_cost(MarketIdx(i as u16));
                total += c[0] + c[1];
            }
        }
        total
    }

    /// Fold a slot's P&L into the run's totals and clear it.
    fn close_slot(&mut self, market: MarketIdx) {
        let i = usize::from(market.0);
        let mids = self.mids.get(i).copied().unwrap_or([0; 2]);
        for s in StrategyId::ALL {
            let sum = self.pnl.summary(market, s, mids);
            let c = &mut self.closed[s.index()];
            c.realised_micro += sum.realised_micro;
            c.unrealised_micro += sum.unrealised_micro;
            c.fees_micro += sum.fees_micro;
        }
        self.pnl.reset_market(market);
        if let Some(h) = self.holdings.get_mut(i) {
            *h = [PositionView::default(); StrategyId::COUNT];
        }
        if let Some(m) = self.mids.get_mut(i) {
            *m = [0; 2];
        }
        self.strategies.reset_market(i);
    }

    /// Tell the strategy that made `o` that it is not resting (dropped or closed).
    fn gone(&mut self, strategy: StrategyId, o: &LiveOrder) {
        self.strategies
            .on_order_gone(strategy, o.market, o.outcome, o.side, o.price_micro);
    }
}

const fn asset_index(a: Asset) -> usize {
    match a {
        Asset::Btc => 0,
        Asset::Eth => 1,
        Asset::Sol => 2,
        Asset::Xrp => 3,
    }
}

const fn outcome_index(o: Outcome) -> usize {
    match o {
        Outcome::Up => 0,
        Outcome::Down => 1,
    }
}

fn mid_of(book: &TokenBook) -> Option<i64> {
    match (book.best_bid(), book.best_ask()) {
        (Some(b), Some(a)) => Some((b.price_micro + a.price_micro) / 2),
        _ => None,
    }
}

/// The order an intent asks for, as the orchestrator's live-order table holds it.
fn live_order(intent: &OrderIntent) -> LiveOrder {
    LiveOrder {
        market: intent.market,
        outcome: intent.outcome,
        side: intent.side,
        price_micro: intent.price_micro,
    }
}

fn same_order(a: &OrderIntent, b: &OrderIntent) -> bool {
    a.strategy == b.strategy && live_order(a) == live_order(b)
}

impl Decider for TradingBrain {
    fn decide(&mut self, ctx: &DecisionInputs<'_>, out: &mut IntentBuf) {
        let m = usize::from(ctx.market.0);
        let Some(slot) = self.slot(ctx.market) else {
            return;
        };
        if slot.settled {
            return;
        }
        let (regime, cold) = match ctx.snapshot.regime {
            Some(r) => (r, false),
            None => (Regime::High, true),
        };
        if cold {
            self.figures.cold_rounds += 1;
        }
        if let Some(a) = ctx.snapshot.atr_px {
            self.atr[asset_index(ctx.asset)] = a;
        }
        let mids = [mid_of(ctx.up), mid_of(ctx.down)];
        if let Some(row) = self.mids.get_mut(m) {
            for (k, v) in mids.iter().enumerate() {
                if let Some(v) = v {
                    row[k] = *v;
                }
            }
        }
        let market_type = slot.market_type;
        let mut sctx = StrategyContext {
            market: ctx.market,
            window: ctx.window,
            phase: ctx.phase,
            now_ms: ctx.now_ms,
            ms_left: ctx.snapshot.ms_remaining,
            signals: ctx.snapshot,
            up: ctx.up,
            down: ctx.down,
            capital_micro: 0,
            account_capital_micro: self.allocator.capital_micro(),
            position: PositionView::default(),
            binance_move_1s_ppm: ctx.binance_move_1s_ppm,
            flow_5s: ctx.flow_5s,
            fee_rate_ppm: ctx.fee_rate_ppm.unwrap_or(self.default_fee_ppm),
        };
        for id in StrategyId::ALL {
            sctx.capital_micro = match market_type {
                Some(t) => self.allocator.available(t, id, regime),
                None => 0,
            };
            sctx.position = self
                .holdings
                .get(m)
                .map(|h| h[id.index()])
                .unwrap_or_default();
            let (orders, cancels) = (out.orders().len(), out.cancels().len());
            self.strategies.on_tick(id, &sctx, out);
            let produced = out.orders().len() - orders;
            let f = &mut self.figures.strategies[id.index()];
            if produced > 0 || out.cancels().len() > cancels {
                f.signals += 1;
            }
            f.intents += produced as u64;
        }
        if out.orders().is_empty() {
            return;
        }

        // The round: permissions, dedupe, budget, pair legs, pre-trade risk.
        let cost = self.market_cost(ctx.market);
        let sellable = [
            ctx.positions.token(&slot.up).available_to_sell(),
            ctx.positions.token(&slot.down).available_to_sell(),
        ];
        if let Some(rs) = self.round_slots.get_mut(m) {
            *rs = Some(MarketSlot {
                market_type: market_type.unwrap_or(usize::MAX),
                phase: ctx.phase,
                risk: MarketRisk {
                    regime,
                    mid_micro: mids,
                    book_age_ms: ctx.book_age_ms,
                    book_resyncing: ctx.book_stale,
                    oracle_age_ms: ctx.oracle_age_ms,
                    cost_micro: cost,
                    sellable_micro: sellable,
                    fee_rate_micro: ctx.fee_rate_ppm.unwrap_or(self.default_fee_ppm).max(0) as u64,
                },
            });
        }
        let account = Account {
            capital_micro: self.allocator.capital_micro(),
            exposure_micro: self.exposure(),
            available_collateral_micro: ctx.available_collateral_micro,
        };
        self.live_view.clear();
        self.live_view.extend(self.live.iter().map(|r| r.order));
        self.before_round.clear();
        self.before_round
            .extend(out.orders().iter().take(ROUND_MAX).copied());
        self.orchestrator.round(
            out,
            &RoundInputs {
                markets: &self.round_slots,
                live: &self.live_view,
                account,
                now_ms: ctx.now_ms,
            },
            &self.allocator,
            &self.shared,
        );
        // What the strategies asked for but will not rest: tell them.
        for k in 0..self.before_round.len() {
            let asked = self.before_round[k];
            if out.orders().iter().any(|o| same_order(o, &asked)) {
                continue;
            }
            self.figures.strategies[asked.strategy.index()].dropped += 1;
            self.gone(asked.strategy, &live_order(&asked));
        }
    }

    fn on_market(&mut self, market: MarketIdx, record: NewMarket<'_>) {
        let i = usize::from(market.0);
        if i >= self.slots.len() {
            return;
        }
        if self.slots[i].is_some() {
            self.close_slot(market);
        }
        self.live.retain(|r| r.order.market != market);
        let market_type = self
            .market_kinds
            .iter()
            .position(|k| *k == (record.asset, record.window));
        self.slots[i] = Some(Slot {
            market_type,
            asset: record.asset,
            window: record.window,
            start_s: record.start_s,
            up: record.up_token,
            down: record.down_token,
            settled: false,
        });
        self.strategies.reset_market(i);
    }

    fn on_resolved(
        &mut self,
        market: MarketIdx,
        venue_winner: Outcome,
        oracle_winner: Option<Outcome>,
    ) {
        let Some(slot) = self.slot(market) else {
            return;
        };
        if slot.settled {
            return;
        }
        if oracle_winner.is_some_and(|w| w != venue_winner) {
            self.figures.oracle_disagreements += 1;
        }
        let winner = oracle_winner.unwrap_or(venue_winner);
        let Ok(result) = self.pnl.settle(market, winner) else {
            self.figures.pnl_errors += 1;
            return;
        };
        if let Some(t) = slot.market_type {
            self.allocator
                .on_resolved(t, result.by_strategy_micro.iter().sum());
        }
        let n = self.figures.settled as usize;
        if let Some(cell) = self.figures.settlements.get_mut(n) {
            *cell = Some(WindowSettlement {
                asset: slot.asset,
                window: slot.window,
                start_s: slot.start_s,
                venue_winner,
                oracle_winner,
                payout_micro: result.payout_micro,
                pnl_micro: result.by_strategy_micro,
            });
        }
        self.figures.settled += 1;
        if let Some(Some(s)) = self.slots.get_mut(usize::from(market.0)) {
            s.settled = true;
        }
        if let Some(h) = self.holdings.get_mut(usize::from(market.0)) {
            for v in h.iter_mut() {
                v.up_micro = 0;
                v.down_micro = 0;
            }
        }
    }

    fn on_retired(&mut self, market: MarketIdx) {
        let i = usize::from(market.0);
        if self.slots.get(i).copied().flatten().is_some() {
            self.close_slot(market);
            self.slots[i] = None;
        }
        self.live.retain(|r| r.order.market != market);
    }

    fn on_sent(&mut self, order_id: &OrderId, intent: &OrderIntent) {
        let Some(slot) = self.slot(intent.market) else {
            return;
        };
        if self.live.len() >= LIVE_MAX {
            self.live_overflow += 1;
            return;
        }
        self.live.push(LiveRow {
            id: *order_id,
            strategy: intent.strategy,
            market_type: slot.market_type,
            order: live_order(intent),
            remaining_micro: intent.size_micro,
        });
        if let Some(h) = self.holdings.get_mut(usize::from(intent.market.0)) {
            h[intent.strategy.index()].open_orders += 1;
        }
        if intent.side == Side::Buy {
            if let Some(t) = slot.market_type {
                let n = notional_micros(intent.size_micro.max(0) as u64, intent.price_micro as u64);
                self.allocator.commit(t, intent.strategy, n as i64);
            }
        }
    }

    fn on_refused(&mut self, intent: &OrderIntent) {
        self.gone(intent.strategy, &live_order(intent));
    }

    fn on_fill(&mut self, f: &DeciderFill) {
        let fill = f.fill;
        self.strategies.on_fill(f.strategy, &fill);
        let record = FillRecord {
            strategy: f.strategy,
            market: fill.market,
            outcome: fill.outcome,
            side: fill.side,
            price_micro: fill.price_micro,
            size_micro: fill.size_micro,
            fee_micro: fill.fee_micro,
        };
        if self.pnl.on_fill(&record).is_err() {
            self.figures.pnl_errors += 1;
        }
        if let Some(h) = self.holdings.get_mut(usize::from(fill.market.0)) {
            let v = &mut h[f.strategy.index()];
            let held = match fill.outcome {
                Outcome::Up => &mut v.up_micro,
                Outcome::Down => &mut v.down_micro,
            };
            match fill.side {
                Side::Buy => *held += fill.size_micro,
                Side::Sell => *held -= fill.size_micro,
            }
        }
        if let Some(r) = self.live.iter_mut().find(|r| r.id == f.order_id) {
            r.remaining_micro -= fill.size_micro;
            if fill.side == Side::Sell {
                if let Some(t) = r.market_type {
                    let n = notional_micros(fill.size_micro as u64, fill.price_micro as u64);
                    self.allocator.release(t, f.strategy, n as i64);
                }
            }
        }
    }

    fn on_closed(&mut self, order_id: &OrderId) {
        let Some(k) = self.live.iter().position(|r| r.id == *order_id) else {
            return;
        };
        let row = self.live.swap_remove(k);
        if let Some(h) = self.holdings.get_mut(usize::from(row.order.market.0)) {
            let v = &mut h[row.strategy.index()];
            v.open_orders = v.open_orders.saturating_sub(1);
        }
        if row.remaining_micro > 0 {
            if row.order.side == Side::Buy {
                if let Some(t) = row.market_type {
                    let n =
                        notional_micros(row.remaining_micro as u64, row.order.price_micro as u64);
                    self.allocator.release(t, row.strategy, n as i64);
                }
            }
            self.gone(row.strategy, &row.order);
        }
    }

    fn figures(&self) -> Option<DeciderFigures> {
        let mut f = self.figures;
        f.drops = self.orchestrator.drop_counts();
        for s in StrategyId::ALL {
            let live = self.pnl.strategy_summary(s, |m| {
                self.mids.get(usize::from(m.0)).copied().unwrap_or([0; 2])
            });
            let c = self.closed[s.index()];
            let row = &mut f.strategies[s.index()];
            row.risk_rejects = self.orchestrator.risk_drops(s);
            row.realised_micro = c.realised_micro + live.realised_micro;
            row.unrealised_micro = c.unrealised_micro + live.unrealised_micro;
            row.fees_micro = c.fees_micro + live.fees_micro;
        }
        Some(f)
    }

    fn account(&self) -> Option<AccountView> {
        let f = self.figures()?;
        let pnl: i64 = f
            .strategies
            .iter()
            .map(|s| s.realised_micro + s.unrealised_micro - s.fees_micro)
            .sum();
        Some(AccountView {
            equity_micro: self.starting_capital_micro + pnl,
            exposure_micro: self.exposure(),
            atr: self.atr,
        })
    }
}
