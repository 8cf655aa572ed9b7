//! The hot thread's decision step: one [`SignalSet`] per tracked market slot, updated on every
//! relevant Binance tick or book update, then a [`Decider`] (the strategies and orchestrator,
//! supplied by the caller) that turns [`DecisionInputs`] into intents in a fixed
//! [`IntentBuf`].
//!
//! Invariants: every table is sized at construction for the book set's market capacity; a
//! tick (signal update + decision) never allocates (a market's signal set is reset in place
//! when discovery assigns the slot); the decider only sees borrowed, read-only state and can
//! only answer through the intent buffer, which refuses (and counts) rather than grow.

use crate::book::{MarketIdx, TokenBook};
use crate::config::Asset;
use crate::engine::market_view::Phase;
use crate::exec::orders::positions::Positions;
use crate::feeds::binance::state::AssetState;
use crate::signals::{MarketInputs, SignalParams, SignalSet, SignalSnapshot};
use crate::strategy::intent::IntentBuf;

/// Everything a decision may read about one market at one tick.
pub struct DecisionInputs<'a> {
    /// The market slot.
    pub market: MarketIdx,
    /// Its asset.
    pub asset: Asset,
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
}

/// Decides what to do at one tick of one market. Implemented by the strategy layer and the
/// orchestrator; the engine calls it right after the market's signals are updated.
///
/// Implementations run on the hot thread: they must not block, allocate or format text.
pub trait Decider {
    /// Push zero or more order / cancel intents into `out` (already cleared for this round).
    fn decide(&mut self, ctx: &DecisionInputs<'_>, out: &mut IntentBuf);
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

    /// The asset of a tracked slot.
    pub fn asset_of(&self, market: MarketIdx) -> Option<Asset> {
        self.slots
            .get(usize::from(market.0))
            .and_then(|s| s.map(|s| s.asset))
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
            phase,
            seconds_left: slot.inputs.end_ms.saturating_sub(now_ms) / 1000,
            now_ms,
            snapshot: &snapshot,
            up,
            down,
            positions,
            oracle_fresh: health.oracle_fresh,
            book_stale: health.book_stale,
        };
        out.clear();
        decider.decide(&ctx, out);
        true
    }
}

/// Freshness flags of one market at one tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickHealth {
    pub oracle_fresh: bool,
    pub book_stale: bool,
}

/// The decider of a run without strategies: signals are computed on every tick, nothing is
/// decided (the engine watches, keeps its venue connections, heartbeats and tracker live).
#[derive(Debug, Default, Clone, Copy)]
pub struct WatchOnly;

impl Decider for WatchOnly {
    fn decide(&mut self, _ctx: &DecisionInputs<'_>, _out: &mut IntentBuf) {}
}
