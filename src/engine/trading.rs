//! The hot thread's decision step: one [`SignalSet`] per tracked market slot, updated on every
//! relevant Binance tick or book update, then a [`Decider`] (the strategies and orchestrator,
//! supplied by the caller) that turns [`DecisionInputs`] into intents in a fixed
//! [`IntentBuf`].
//!
//! Invariants: every table is sized at construction for the book set's market capacity; a
//! tick (signal update + decision) never allocates (a market's signal set is reset in place
//! when discovery assigns the slot); the decider only sees borrowed, read-only state and can
//! only answer through the intent buffer, which refuses (and counts) rather than grow.

use crate::book::{MarketIdx, Outcome, TokenBook};
use crate::config::{Asset, Window};
use crate::discovery::MarketRecord;
use crate::engine::market_view::Phase;
use crate::exec::json::OrderId;
use crate::exec::orders::positions::Positions;
use crate::feeds::binance::state::{AssetState, FlowWindow};
use crate::signals::{MarketInputs, SignalParams, SignalSet, SignalSnapshot};
use crate::strategy::context::StrategyFill;
use crate::strategy::intent::{IntentBuf, OrderIntent, StrategyId};

/// Everything a decision may read about one market at one tick.
pub struct DecisionInputs<'a> {
    /// The market slot.
    pub market: MarketIdx,
    /// Its asset.
    pub asset: Asset,
    /// 5- or 15-minute window.
    pub window: Window,
    /// Lifecycle phase at `now_ms`.
    pub phase: Phase,
    /// Seconds until the window ends (0 once it has).
    pub seconds_left: u64,
    /// Wall clock of the tick (Unix ms).
    pub now_ms: u64,
    /// The signals just computed.
    pub snapshot: &'a SignalSnapshot,
    /// The Up and Down books.
    pub up: &'a TokenBook,
    pub down: &'a TokenBook,
    /// The execution tracker's positions (confirmed + provisional).
    pub positions: &'a Positions,
    /// The oracle's latest observation is within `oracle.max_age_ms`.
    pub oracle_fresh: bool,
    /// Either book is stale, awaiting a snapshot, or the market channel is down.
    pub book_stale: bool,
    /// Milliseconds since the older of the two books last changed.
    pub book_age_ms: u64,
    /// Milliseconds since the oracle's latest observation; `None` before the first.
    pub oracle_age_ms: Option<u64>,
    /// Collateral the tracker has not reserved or spent, micro-dollars.
    pub available_collateral_micro: i64,
    /// Binance move over the last second of trades, parts per million (signed).
    pub binance_move_1s_ppm: i64,
    /// Taker buy and sell volume over the last 5 s (quantity units).
    pub flow_5s: (i64, i64),
    /// The market's taker fee rate, parts per million (discovery's, else `[signals]`').
    pub fee_rate_ppm: Option<i64>,
}

/// The market a decider is told about when discovery assigns a slot.
pub type NewMarket<'a> = &'a MarketRecord;

/// A fill of one of our orders, as routed back to the decider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeciderFill {
    /// The order (EIP-712 digest).
    pub order_id: OrderId,
    /// The strategy that made it.
    pub strategy: StrategyId,
    /// The fill itself.
    pub fill: StrategyFill,
}

/// Decides what to do at one tick of one market. Implemented by the strategy layer and the
/// orchestrator; the engine calls it right after the market's signals are updated.
///
/// Implementations run on the hot thread: they must not block, allocate or format text.
pub trait Decider {
    /// Push zero or more order / cancel intents into `out` (already cleared for this round).
    /// What is left in `out` on return is what execution builds and sends.
    fn decide(&mut self, ctx: &DecisionInputs<'_>, out: &mut IntentBuf);

    /// Discovery put a new window into slot `market`.
    fn on_market(&mut self, _market: MarketIdx, _record: NewMarket<'_>) {}

    /// The venue resolved `market`: `venue_winner` is the official outcome, `oracle_winner`
    /// the engine's own settlement by the oracle rule (`None` when its data is missing).
    fn on_resolved(
        &mut self,
        _market: MarketIdx,
        _venue_winner: Outcome,
        _oracle_winner: Option<Outcome>,
    ) {
    }

    /// The slot was retired.
    fn on_retired(&mut self, _market: MarketIdx) {}

    /// An order built from `intent` was handed to the outlet (sent, or logged in shadow mode).
    fn on_sent(&mut self, _order_id: &OrderId, _intent: &OrderIntent) {}

    /// An intent that survived the decision was not sent: it could not be built, or the
    /// tracker or the order client refused it locally.
    fn on_refused(&mut self, _intent: &OrderIntent) {}

    /// A fill of one of our orders.
    fn on_fill(&mut self, _fill: &DeciderFill) {}

    /// The order reached a terminal state (filled, canceled, rejected or failed).
    fn on_closed(&mut self, _order_id: &OrderId) {}

    /// Figures for the end-of-run report, when the decider keeps them.
    fn figures(&self) -> Option<DeciderFigures> {
        None
    }

    /// Account figures for the risk monitor, when the decider keeps them.
    fn account(&self) -> Option<super::messages::AccountView> {
        None
    }
}

/// Per-strategy figures a decider keeps for the report (micro-dollars).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StrategyFigures {
    /// Decision rounds in which the strategy produced at least one intent.
    pub signals: u64,
    /// Intents the strategy produced, and how many the orchestrator / risk dropped.
    pub intents: u64,
    pub dropped: u64,
    /// Realised P&L (sales and settlements), unrealised at the latest mids, fees paid.
    pub realised_micro: i64,
    pub unrealised_micro: i64,
    pub fees_micro: i64,
    /// Intents the pre-trade gate refused, by [`crate::risk::Rejection::index`].
    pub risk_rejects: [u64; crate::risk::Rejection::COUNT],
}

/// One window's settlement as the decider booked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSettlement {
    pub asset: Asset,
    pub window: Window,
    /// Window start (Unix s).
    pub start_s: u64,
    pub venue_winner: Outcome,
    pub oracle_winner: Option<Outcome>,
    /// Payout of the winning tokens held and the P&L booked per strategy.
    pub payout_micro: i64,
    pub pnl_micro: [i64; StrategyId::COUNT],
}

/// Most settlements kept for the report.
pub const SETTLEMENTS_MAX: usize = 64;

/// What a decider reports at the end of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeciderFigures {
    pub strategies: [StrategyFigures; StrategyId::COUNT],
    /// Settled windows (oldest first, at most [`SETTLEMENTS_MAX`]) and how many there were.
    pub settlements: [Option<WindowSettlement>; SETTLEMENTS_MAX],
    pub settled: u64,
    /// Windows whose oracle settlement disagreed with the venue's outcome.
    pub oracle_disagreements: u64,
    /// Decision rounds run without a volatility regime (treated as the riskiest regime).
    pub cold_rounds: u64,
    /// Fills the P&L book refused (e.g. a sale of more than a strategy held).
    pub pnl_errors: u64,
    /// Intents the orchestrator dropped, by [`crate::orchestrator::DropReason::index`].
    pub drops: [u64; crate::orchestrator::DropReason::COUNT],
}

/// What the signal layer needs to know about one tracked market.
#[derive(Debug, Clone, Copy)]
struct MarketSlot {
    asset: Asset,
    inputs: MarketInputs,
    start_ms: u64,
    window: crate::config::Window,
    resolved: bool,
    /// The slot's signal set has been updated at least once.
    updated: bool,
}

/// One signal set per market slot, reset in place when a slot is assigned.
pub struct MarketSignals {
    sets: Vec<SignalSet>,
    slots: Vec<Option<MarketSlot>>,
    /// Signal updates run so far.
    pub updates: u64,
    /// Fresh signal sets (one per assigned slot) that ran their first update, and how many of
    /// those already had a volatility regime then (warm candle history).
    pub first_updates: u64,
    pub first_updates_with_regime: u64,
}

/// The visit order of a decision round over `capacity` slots: `(first_pass, slot)` for every
/// slot in the first pass, then again in the second, each in slot order. A round decides slot
/// `i` at the step whose `first_pass` equals [`MarketSignals::first_pass`] of `i`, so every
/// tracked slot once: the markets of the assets that just moved before the others (their
/// order goes out first and has the first claim on capital).
pub fn round_slots(capacity: usize) -> impl Iterator<Item = (bool, usize)> {
    [true, false]
        .into_iter()
        .flat_map(move |first| (0..capacity).map(move |i| (first, i)))
}

impl MarketSignals {
    /// Tables for `capacity` market slots; `params` seeds every set (replaced per asset on
    /// assignment).
    pub fn new(capacity: usize, params: SignalParams) -> MarketSignals {
        MarketSignals {
            sets: (0..capacity).map(|_| SignalSet::new(params)).collect(),
            slots: vec![None; capacity],
            updates: 0,
            first_updates: 0,
            first_updates_with_regime: 0,
        }
    }

    /// Capacity in market slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Discovery put `record` into slot `market`: [`MarketSignals::assign`] with the signal
    /// parameters of its asset from `params` (else `fallback`'s, for its asset), its window,
    /// start, end and fee rate; the price to beat comes later from the oracle.
    pub fn assign_record(
        &mut self,
        market: MarketIdx,
        record: &MarketRecord,
        params: &[SignalParams],
        fallback: SignalParams,
    ) -> bool {
        let p = params
            .iter()
            .find(|p| p.asset == record.asset)
            .copied()
            .unwrap_or(SignalParams {
                asset: record.asset,
                ..fallback
            });
        self.assign(
            market,
            p,
            record.window,
            record.start_s.saturating_mul(1000),
            MarketInputs {
                end_ms: record.end_s.saturating_mul(1000),
                price_to_beat_e18: None,
                fee_rate_ppm: Some(i64::from(record.fee_rate_ppm)),
            },
        )
    }

    /// Discovery assigned `market` to a new window: a fresh signal set with `params`.
    /// Returns `false` when the slot is outside the table.
    pub fn assign(
        &mut self,
        market: MarketIdx,
        params: SignalParams,
        window: crate::config::Window,
        start_ms: u64,
        inputs: MarketInputs,
    ) -> bool {
        let i = usize::from(market.0);
        let (Some(set), Some(slot)) = (self.sets.get_mut(i), self.slots.get_mut(i)) else {
            return false;
        };
        let asset = params.asset;
        *set = SignalSet::new(params);
        *slot = Some(MarketSlot {
            asset,
            inputs,
            start_ms,
            window,
            resolved: false,
            updated: false,
        });
        true
    }

    /// The oracle's price to beat became known (or changed).
    pub fn set_price_to_beat(&mut self, market: MarketIdx, price_to_beat_e18: Option<i128>) {
        if let Some(Some(slot)) = self.slots.get_mut(usize::from(market.0)) {
            slot.inputs.price_to_beat_e18 = price_to_beat_e18;
        }
    }

    /// The venue announced the market's resolution.
    pub fn mark_resolved(&mut self, market: MarketIdx) {
        if let Some(Some(slot)) = self.slots.get_mut(usize::from(market.0)) {
            slot.resolved = true;
        }
    }

    /// The slot was retired.
    pub fn release(&mut self, market: MarketIdx) {
        if let Some(slot) = self.slots.get_mut(usize::from(market.0)) {
            *slot = None;
        }
    }

    /// Asset, start and end (Unix ms) of a tracked slot's window.
    pub fn window_of(&self, market: MarketIdx) -> Option<(Asset, u64, u64)> {
        self.slots
            .get(usize::from(market.0))
            .and_then(|s| s.map(|s| (s.asset, s.start_ms, s.inputs.end_ms)))
    }

    /// The asset of a tracked slot.
    pub fn asset_of(&self, market: MarketIdx) -> Option<Asset> {
        self.slots
            .get(usize::from(market.0))
            .and_then(|s| s.map(|s| s.asset))
    }

    /// The pass of a decision round that decides the tracked slot `market`: `Some(true)` (the
    /// first) when its Binance asset is among `moved_assets` (an `Asset::bit` mask),
    /// `Some(false)` otherwise, `None` when the slot is not tracked. See [`round_slots`].
    pub fn first_pass(&self, market: MarketIdx, moved_assets: u8) -> Option<bool> {
        self.asset_of(market)
            .map(|a| moved_assets & crate::engine::market_view::feed_asset(a).bit() != 0)
    }

    /// Tracked slots (index order), for a walk over every market of an asset.
    pub fn tracked(&self) -> impl Iterator<Item = (MarketIdx, Asset)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (MarketIdx(i as u16), s.asset)))
    }

    /// Update `market`'s signals from its asset's Binance state and its books, then let
    /// `decider` fill `out` (cleared first). Returns `false` (nothing decided) when the slot is
    /// not tracked.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn tick(
        &mut self,
        market: MarketIdx,
        binance: &mut AssetState,
        up: &TokenBook,
        down: &TokenBook,
        health: TickHealth,
        positions: &Positions,
        now_ms: u64,
        decider: &mut dyn Decider,
        out: &mut IntentBuf,
    ) -> bool {
        let i = usize::from(market.0);
        let (Some(set), Some(Some(slot))) = (self.sets.get_mut(i), self.slots.get_mut(i)) else {
            return false;
        };
        self.updates += 1;
        let snapshot = *set.update(binance, up, down, &slot.inputs, now_ms);
        let flow = binance.taker_flow_at(FlowWindow::S5, now_ms);
        let move_1s = move_1s_ppm(binance);
        if !slot.updated {
            slot.updated = true;
            self.first_updates += 1;
            self.first_updates_with_regime += u64::from(snapshot.regime.is_some());
        }
        let slot = &*slot;
        let phase = if slot.resolved {
            Phase::Resolved
        } else {
            crate::engine::market_view::phase_at(
                slot.window,
                slot.start_ms,
                slot.inputs.end_ms,
                now_ms,
            )
        };
        let ctx = DecisionInputs {
            market,
            asset: slot.asset,
            window: slot.window,
            phase,
            seconds_left: slot.inputs.end_ms.saturating_sub(now_ms) / 1000,
            now_ms,
            snapshot: &snapshot,
            up,
            down,
            positions,
            oracle_fresh: health.oracle_fresh,
            book_stale: health.book_stale,
            book_age_ms: health.book_age_ms,
            oracle_age_ms: health.oracle_age_ms,
            available_collateral_micro: health.available_collateral_micro,
            binance_move_1s_ppm: move_1s,
            flow_5s: (flow.buy, flow.sell),
            fee_rate_ppm: slot.inputs.fee_rate_ppm,
        };
        out.clear();
        decider.decide(&ctx, out);
        true
    }
}

/// Freshness and account figures of one market at one tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickHealth {
    pub oracle_fresh: bool,
    pub book_stale: bool,
    pub book_age_ms: u64,
    pub oracle_age_ms: Option<u64>,
    pub available_collateral_micro: i64,
}

/// The move of the last trade price against the last trade at least one second older
/// (exchange time), parts per million; 0 without a second of history. O(log n) over the ring.
#[inline]
pub fn move_1s_ppm(binance: &AssetState) -> i64 {
    let ring = binance.trades();
    let Some(last) = ring.latest().copied() else {
        return 0;
    };
    let cutoff = last.exch_ts_ms.saturating_sub(1_000);
    // Last index whose trade is at or before the cutoff (trades are in exchange-time order).
    let (mut lo, mut hi) = (0usize, ring.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        match ring.get(mid) {
            Some(t) if t.exch_ts_ms <= cutoff => lo = mid + 1,
            _ => hi = mid,
        }
    }
    let Some(then) = lo.checked_sub(1).and_then(|i| ring.get(i)) else {
        return 0;
    };
    if then.px <= 0 {
        return 0;
    }
    let d = i128::from(last.px - then.px) * 1_000_000 / i128::from(then.px);
    d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The decider of a run without strategies: signals are computed on every tick, nothing is
/// decided (the engine watches, keeps its venue connections, heartbeats and tracker live).
#[derive(Debug, Default, Clone, Copy)]
pub struct WatchOnly;

impl Decider for WatchOnly {
    fn decide(&mut self, _ctx: &DecisionInputs<'_>, _out: &mut IntentBuf) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn assign(signals: &mut MarketSignals, slot: u16, asset: Asset, cfg: &Config) {
        let params = SignalParams::from_config(&cfg.signals, asset);
        let inputs = MarketInputs {
            end_ms: 300_000,
            price_to_beat_e18: None,
            fee_rate_ppm: None,
        };
        assert!(signals.assign(MarketIdx(slot), params, Window::Min5, 0, inputs));
    }

    /// The slots a round decides, in order, when `moved` assets moved.
    fn visited(signals: &MarketSignals, moved: u8) -> Vec<u16> {
        round_slots(signals.capacity())
            .filter(|&(first, i)| signals.first_pass(MarketIdx(i as u16), moved) == Some(first))
            .map(|(_, i)| i as u16)
            .collect()
    }

    #[test]
    fn a_round_decides_the_moved_assets_markets_first_and_every_market_once() {
        let cfg = Config::shipped().expect("shipped config");
        let btc = crate::feeds::binance::records::Asset::Btc.bit();
        let eth = crate::feeds::binance::records::Asset::Eth.bit();
        let mut signals =
            MarketSignals::new(5, SignalParams::from_config(&cfg.signals, Asset::Btc));
        assign(&mut signals, 0, Asset::Eth, &cfg);
        assign(&mut signals, 1, Asset::Btc, &cfg);
        assign(&mut signals, 3, Asset::Sol, &cfg);
        assign(&mut signals, 4, Asset::Btc, &cfg);
        // Slot 2 is not tracked: never visited.
        assert_eq!(visited(&signals, 0), [0, 1, 3, 4]);
        assert_eq!(visited(&signals, btc), [1, 4, 0, 3]);
        assert_eq!(visited(&signals, eth), [0, 1, 3, 4]);
        assert_eq!(visited(&signals, btc | eth), [0, 1, 4, 3]);
        signals.release(MarketIdx(1));
        assert_eq!(visited(&signals, btc), [4, 0, 3]);
    }
}
