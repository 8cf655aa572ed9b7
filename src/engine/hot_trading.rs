//! The trading side of the hot loop: after market data changed, every tracked market's
//! signals are updated and the [`Decider`] asked; each order intent becomes a signed order
//! ([`OrderFactory`]) and goes to the run mode's outlet. In shadow mode the outlet is the
//! hot → risk ring: the signed order is described in a [`WouldBeOrder`] that the risk thread
//! logs (the hot thread never formats text); nothing is sent to the venue.
//!
//! Invariants: nothing here allocates after construction (fixed tables, the intent buffer is
//! cleared per round, messages are `Copy`); per-strategy counters are monotonic; a build
//! failure is counted per strategy, never a panic.

use super::exec_path::{Attribution, AttributionTable, BuildError, OrderFactory};
use super::messages::{HotEvent, WouldBeCancel, WouldBeOrder};
use super::trading::{Decider, MarketSignals, TickHealth};
use crate::book::{MarketBooks, MarketIdx};
use crate::discovery::MarketRecord;
use crate::exec::orders::tracker::Tracker;
use crate::feeds::binance::records::Venue;
use crate::feeds::binance::state::BinanceState;
use crate::feeds::oracle::OracleMonitor;
use crate::queue::spsc::Producer;
use crate::signals::{MarketInputs, SignalParams};
use crate::strategy::intent::{IntentBuf, StrategyId};
use crate::telemetry::latency::{Stage, StageHistograms};

/// Per-strategy counters of the hot thread (monotonic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StrategyCounters {
    /// Order intents the decider produced.
    pub intents: u64,
    /// Cancel intents the decider produced.
    pub cancel_intents: u64,
    /// Orders signed.
    pub signed: u64,
    /// Intents that could not be signed (off tick, unknown market, ...).
    pub build_errors: u64,
    /// Orders handed to the outlet (shadow: logged; venue: submitted).
    pub sent: u64,
}

/// Where signed orders go.
pub enum Outlet {
    /// Shadow mode: described to the risk thread, never sent.
    Shadow,
}

/// Everything the trading side needs, built before the hot thread starts.
pub struct TradingSetup {
    /// The strategies + orchestrator.
    pub decider: Box<dyn Decider + Send>,
    /// Signal parameters per configured asset.
    pub params: Vec<SignalParams>,
    /// Intent → signed order.
    pub factory: OrderFactory,
    /// The execution tracker (positions view for decisions).
    pub tracker: Tracker,
    /// Where signed orders go.
    pub outlet: Outlet,
    /// Oracle observations older than this are not fresh.
    pub oracle_max_age_ms: u64,
    /// Order / cancel intents per decision round.
    pub intents_per_round: usize,
    pub cancels_per_round: usize,
}

/// What the trading side hands back when the hot thread stops.
pub struct TradingReport {
    pub strategies: [StrategyCounters; StrategyId::COUNT],
    /// Decision rounds run (one per market per relevant update).
    pub decisions: u64,
    /// Intents refused because a round's buffer was full.
    pub intents_refused: u64,
    /// Would-be orders the ring refused (full).
    pub outlet_drops: u64,
    /// Latency: `SignalToDecision` = signal update + decider of one market;
    /// `DecisionToWire` = decision taken → signed order handed to the outlet (shadow: pushed
    /// into the ring).
    pub histograms: StageHistograms,
    pub tracker: Tracker,
    pub signed_pooled: u64,
    pub signed_fallback: u64,
}

/// See the module docs.
pub struct HotTrading {
    decider: Box<dyn Decider + Send>,
    params: Vec<SignalParams>,
    signals: MarketSignals,
    factory: OrderFactory,
    tracker: Tracker,
    outlet: Outlet,
    intents: IntentBuf,
    attribution: AttributionTable,
    oracle_max_age_ms: u64,
    counters: [StrategyCounters; StrategyId::COUNT],
    decisions: u64,
    outlet_drops: u64,
    hist: StageHistograms,
    /// Market data changed since the last round.
    dirty: bool,
}

impl HotTrading {
    /// Allocate every table for `capacity` market slots.
    pub fn new(setup: TradingSetup, capacity: usize) -> Option<HotTrading> {
        let first = *setup.params.first()?;
        Some(HotTrading {
            decider: setup.decider,
            signals: MarketSignals::new(capacity, first),
            params: setup.params,
            factory: setup.factory,
            tracker: setup.tracker,
            outlet: setup.outlet,
            intents: IntentBuf::with_capacity(
                setup.intents_per_round.max(1),
                setup.cancels_per_round.max(1),
            ),
            attribution: AttributionTable::new(4096),
            oracle_max_age_ms: setup.oracle_max_age_ms,
            counters: [StrategyCounters::default(); StrategyId::COUNT],
            decisions: 0,
            outlet_drops: 0,
            hist: StageHistograms::new(),
            dirty: false,
        })
    }

    /// Market data changed: the next [`HotTrading::run_round`] decides.
    #[inline]
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Discovery put `record` into book slot `market`.
    pub fn on_new_market(
        &mut self,
        market: MarketIdx,
        record: &MarketRecord,
    ) -> Result<(), BuildError> {
        let params = self
            .params
            .iter()
            .find(|p| p.asset == record.asset)
            .copied()
            .unwrap_or_else(|| SignalParams {
                asset: record.asset,
                ..self.signals_default()
            });
        self.signals.assign(
            market,
            params,
            record.window,
            record.start_s.saturating_mul(1000),
            MarketInputs {
                end_ms: record.end_s.saturating_mul(1000),
                price_to_beat_e18: None,
                fee_rate_ppm: Some(i64::from(record.fee_rate_ppm)),
            },
        );
        self.factory.assign(market, record)
    }

    fn signals_default(&self) -> SignalParams {
        self.params[0]
    }

    /// The venue resolved the market in `market`.
    pub fn on_resolved(&mut self, market: MarketIdx) {
        self.signals.mark_resolved(market);
    }

    /// The slot was retired.
    pub fn on_retired(&mut self, market: MarketIdx) {
        self.signals.release(market);
        self.factory.release(market);
    }

    /// One decision round over every tracked market, if market data changed.
    #[allow(clippy::too_many_arguments)]
    pub fn run_round(
        &mut self,
        binance: &mut BinanceState,
        books: &MarketBooks,
        oracle: &OracleMonitor,
        market_channel_open: bool,
        start_s_of: impl Fn(MarketIdx) -> Option<u64>,
        now_ms: u64,
        to_risk: &mut Producer<HotEvent>,
    ) {
        if !std::mem::take(&mut self.dirty) {
            return;
        }
        for i in 0..self.signals.capacity() {
            let market = MarketIdx(i as u16);
            let Some(asset) = self.signals.asset_of(market) else {
                continue;
            };
            let feed = super::market_view::feed_asset(asset);
            let (up_t, down_t) = MarketBooks::tokens_of(market);
            let (Some(up), Some(down)) = (books.book(up_t), books.book(down_t)) else {
                continue;
            };
            if let Some(start_s) = start_s_of(market) {
                if let Ok(ptb) = oracle.price_to_beat(feed, start_s) {
                    self.signals.set_price_to_beat(market, Some(ptb));
                }
            }
            let health = TickHealth {
                oracle_fresh: oracle
                    .staleness_ms(feed, now_ms)
                    .is_some_and(|a| a <= self.oracle_max_age_ms),
                book_stale: !market_channel_open
                    || up.is_stale()
                    || down.is_stale()
                    || up.is_awaiting_snapshot()
                    || down.is_awaiting_snapshot(),
            };
            let t_decide = crate::clock::mono_ns();
            let spot = binance.get_mut(Venue::Spot, feed);
            let decided = self.signals.tick(
                market,
                spot,
                up,
                down,
                health,
                self.tracker.positions(),
                now_ms,
                self.decider.as_mut(),
                &mut self.intents,
            );
            if !decided {
                continue;
            }
            let t_decided = crate::clock::mono_ns();
            self.hist
                .record(Stage::SignalToDecision, t_decided.saturating_sub(t_decide));
            self.decisions += 1;
            self.execute(now_ms, t_decided, to_risk);
        }
    }

    fn execute(&mut self, now_ms: u64, t_decide: u64, to_risk: &mut Producer<HotEvent>) {
        for c in self.intents.cancels() {
            if let Some(k) = self.counters.get_mut(c.strategy.index()) {
                k.cancel_intents += 1;
            }
            match self.outlet {
                Outlet::Shadow => {
                    let live = self.attribution.of(c.strategy, c.market, c.outcome).count();
                    let ev = HotEvent::WouldCancel(WouldBeCancel {
                        strategy: c.strategy,
                        reason: c.reason,
                        market: c.market.0,
                        outcome: c.outcome,
                        orders: live as u32,
                    });
                    if to_risk.push(ev).is_err() {
                        self.outlet_drops += 1;
                    }
                }
            }
        }
        for intent in self.intents.orders() {
            let k = match self.counters.get_mut(intent.strategy.index()) {
                Some(k) => k,
                None => continue,
            };
            k.intents += 1;
            let built = match self.factory.build(intent, now_ms) {
                Ok(b) => b,
                Err(_) => {
                    k.build_errors += 1;
                    continue;
                }
            };
            k.signed += 1;
            let order = built.order;
            self.attribution.insert(Attribution {
                order_id: order.order_id,
                strategy: intent.strategy,
                reason: intent.reason,
                market: intent.market,
                outcome: intent.outcome,
            });
            match self.outlet {
                Outlet::Shadow => {
                    let ev = HotEvent::WouldOrder(WouldBeOrder {
                        intent: *intent,
                        order_id: order.order_id,
                        maker_amount: order.vars.maker_amount,
                        taker_amount: order.vars.taker_amount,
                        salt: order.vars.salt,
                    });
                    if to_risk.push(ev).is_ok() {
                        k.sent += 1;
                        self.hist.record(
                            Stage::DecisionToWire,
                            crate::clock::mono_ns().saturating_sub(t_decide),
                        );
                    } else {
                        self.outlet_drops += 1;
                    }
                }
            }
        }
    }

    /// The final report.
    pub fn into_report(self) -> TradingReport {
        TradingReport {
            strategies: self.counters,
            decisions: self.decisions,
            intents_refused: self.intents.refused(),
            outlet_drops: self.outlet_drops,
            histograms: self.hist,
            signed_pooled: self.factory.signed_pooled,
            signed_fallback: self.factory.signed_fallback,
            tracker: self.tracker,
        }
    }
}
