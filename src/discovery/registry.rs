//! The set of discovered markets, their small interned indexes and their lifecycle.
//!
//! Each market gets a [`MarketIdx`] (u16) on insertion; the hot thread only ever sees that index
//! and a pointer-free [`MarketRecord`] (ids as 32-byte keys), while the strings (slug, hex
//! condition id, decimal token ids) stay here on the risk thread in [`MarketInfo`].
//!
//! Lifecycle: `Upcoming` (discovered before its window opens) → `Live` → `Ended` (window over,
//! awaiting the venue's resolution) → `Resolved(winner)` → retired (removed, index freed).
//! Time drives the first three ([`MarketRegistry::advance`]); resolution comes from a Gamma
//! lookup ([`MarketRegistry::mark_resolved`]); an `Ended` market that stays unresolved past a
//! limit is retired anyway. [`MarketRegistry::plan`] says which slugs to look up now: windows of
//! the configured market types that start within the lead time and are not known yet, and
//! ended markets due for a resolution check.
//!
//! Invariants: an index names at most one live entry; a freed index goes to the back of a FIFO
//! so it is not reused while messages about its previous market may still be queued; a
//! [`MarketKey`] and a token key map to at most one entry.

use std::collections::{HashMap, VecDeque};

use super::gamma::{GammaMarket, Outcome, Settlement};
use super::ids::{ConditionId, TokenId};
use super::slugs::{MarketKey, MarketKind};
use crate::config::{Asset, Window};

/// Interned index of a market, shared by both threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MarketIdx(pub u16);

/// Where a market is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Known, window not open yet.
    Upcoming,
    /// Window open.
    Live,
    /// Window over, resolution not seen yet.
    Ended,
    /// The venue resolved it.
    Resolved(Outcome),
    /// Removed from the registry (only ever reported in a [`RegistryEvent`]).
    Retired,
}

/// Everything the engine needs about one market (risk-thread copy, with strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketInfo {
    /// Asset, window length and start.
    pub key: MarketKey,
    /// Window start, unix seconds.
    pub start_s: u64,
    /// Window end, unix seconds.
    pub end_s: u64,
    /// `{asset}-updown-{window}-{start}`.
    pub slug: String,
    /// CTF condition id.
    pub condition_id: ConditionId,
    /// Up outcome token.
    pub up_token: TokenId,
    /// Down outcome token.
    pub down_token: TokenId,
    /// Price tick, micro-units.
    pub tick_micros: u32,
    /// Minimum order size, micro-shares.
    pub min_size_micros: u64,
    /// Neg-risk market (selects the neg-risk exchange for signing).
    pub neg_risk: bool,
    /// Taker fee rate, parts per million (0 when fees are disabled).
    pub fee_rate_ppm: u32,
    /// Fee exponent.
    pub fee_exponent: u8,
    /// Fees are charged to takers only.
    pub fee_taker_only: bool,
    /// Maker rebate share of taker fees, parts per million.
    pub fee_rebate_ppm: u32,
    /// Point price or TWAP lookback.
    pub settlement: Settlement,
    /// Taker delay from Gamma `secondsDelay`, when given.
    pub seconds_delay: Option<u32>,
    /// Gamma `resolutionSource`.
    pub resolution_source: String,
}

impl MarketInfo {
    /// The engine's view of a validated Gamma market.
    pub fn from_gamma(g: &GammaMarket) -> Self {
        Self {
            key: g.key,
            start_s: g.start_s,
            end_s: g.end_s,
            slug: g.slug.clone(),
            condition_id: g.condition_id.clone(),
            up_token: g.up_token.clone(),
            down_token: g.down_token.clone(),
            tick_micros: g.tick_micros,
            min_size_micros: g.min_size_micros,
            neg_risk: g.neg_risk,
            fee_rate_ppm: g.fee.rate_ppm,
            fee_exponent: g.fee.exponent,
            fee_taker_only: g.fee.taker_only,
            fee_rebate_ppm: g.fee.rebate_ppm,
            settlement: g.settlement,
            seconds_delay: g.seconds_delay,
            resolution_source: g.resolution_source.clone(),
        }
    }

    /// Asset.
    pub fn asset(&self) -> Asset {
        self.key.kind.asset
    }

    /// Window length.
    pub fn window(&self) -> Window {
        self.key.kind.window
    }

    /// The pointer-free copy sent to the hot thread.
    pub fn record(&self, idx: MarketIdx) -> MarketRecord {
        MarketRecord {
            idx,
            asset: self.asset(),
            window: self.window(),
            start_s: self.start_s,
            end_s: self.end_s,
            condition_id: self.condition_id.key,
            up_token: self.up_token.key,
            down_token: self.down_token.key,
            tick_micros: self.tick_micros,
            min_size_micros: self.min_size_micros,
            neg_risk: self.neg_risk,
            fee_rate_ppm: self.fee_rate_ppm,
            fee_exponent: self.fee_exponent,
            fee_taker_only: self.fee_taker_only,
            settlement: self.settlement,
        }
    }
}

/// What the hot thread keeps per market: plain data, no pointers, `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketRecord {
    /// Interned index.
    pub idx: MarketIdx,
    /// Asset.
    pub asset: Asset,
    /// Window length.
    pub window: Window,
    /// Window start, unix seconds.
    pub start_s: u64,
    /// Window end, unix seconds.
    pub end_s: u64,
    /// Condition id bytes.
    pub condition_id: [u8; 32],
    /// Up token id, 256-bit big-endian.
    pub up_token: [u8; 32],
    /// Down token id, 256-bit big-endian.
    pub down_token: [u8; 32],
    /// Price tick, micro-units.
    pub tick_micros: u32,
    /// Minimum order size, micro-shares.
    pub min_size_micros: u64,
    /// Neg-risk market.
    pub neg_risk: bool,
    /// Taker fee rate, ppm.
    pub fee_rate_ppm: u32,
    /// Fee exponent.
    pub fee_exponent: u8,
    /// Fees charged to takers only.
    pub fee_taker_only: bool,
    /// Settlement rule.
    pub settlement: Settlement,
}

/// Timing of discovery, resolution checks and retirement (all seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// Look a window up once its start is at most this far ahead.
    pub lead_s: u64,
    /// Do not newly discover a window that ends within this many seconds.
    pub min_remaining_s: u64,
    /// First resolution check this long after the window end.
    pub resolve_after_s: u64,
    /// Then check again every this many seconds until resolved.
    pub resolve_every_s: u64,
    /// Retire a resolved market once its end is this far in the past.
    pub retire_after_s: u64,
    /// Retire an ended market that is still unresolved this long after its end.
    pub give_up_unresolved_s: u64,
}

impl ScheduleConfig {
    /// The schedule for windows of `window_secs` seconds (simulated short windows): look ahead
    /// at most one window (the venue lists only the current and the next one) and keep the
    /// current window discoverable for at least half its length. Other timings are unchanged;
    /// a schedule already within these bounds is returned as is.
    pub fn fit_to_window(self, window_secs: u64) -> Self {
        Self {
            lead_s: self.lead_s.min(window_secs),
            min_remaining_s: self.min_remaining_s.min(window_secs / 2),
            ..self
        }
    }
}

/// Why a lookup is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupPurpose {
    /// A window not known yet.
    Discover,
    /// An ended market whose resolution has not been seen.
    Resolve(MarketIdx),
}

/// One slug to look up now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The window.
    pub key: MarketKey,
    /// Its slug.
    pub slug: String,
    /// Why.
    pub purpose: LookupPurpose,
}

/// A lifecycle change reported by [`MarketRegistry::advance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryEvent {
    /// The market.
    pub idx: MarketIdx,
    /// Its window.
    pub key: MarketKey,
    /// The new state.
    pub to: Lifecycle,
    /// For `Retired`: the winner, if the resolution was seen.
    pub winner: Option<Outcome>,
}

/// Why an insertion was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Every index is in use.
    #[error("registry full")]
    Full,
    /// The window, or one of its tokens, is already registered.
    #[error("market or token already registered")]
    Duplicate,
}

struct Entry {
    info: MarketInfo,
    state: Lifecycle,
    next_resolve_check_s: u64,
}

/// Known markets. See the module docs.
pub struct MarketRegistry {
    kinds: Vec<MarketKind>,
    schedule: ScheduleConfig,
    slots: Vec<Option<Entry>>,
    free: VecDeque<u16>,
    by_key: HashMap<MarketKey, MarketIdx>,
    by_token: HashMap<[u8; 32], (MarketIdx, Outcome)>,
}

impl MarketRegistry {
    /// An empty registry for the market types `kinds`, with room for `capacity` markets.
    pub fn new(kinds: Vec<MarketKind>, schedule: ScheduleConfig, capacity: u16) -> Self {
        Self {
            kinds,
            schedule,
            slots: (0..capacity).map(|_| None).collect(),
            free: (0..capacity).collect(),
            by_key: HashMap::new(),
            by_token: HashMap::new(),
        }
    }

    /// Configured market types.
    pub fn kinds(&self) -> &[MarketKind] {
        &self.kinds
    }

    /// The schedule.
    pub fn schedule(&self) -> &ScheduleConfig {
        &self.schedule
    }

    /// Markets currently registered.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when no market is registered.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Register `info` at wall-clock `now_s`; its state follows from the clock.
    pub fn insert(&mut self, info: MarketInfo, now_s: u64) -> Result<MarketIdx, RegistryError> {
        if self.by_key.contains_key(&info.key)
            || self.by_token.contains_key(&info.up_token.key)
            || self.by_token.contains_key(&info.down_token.key)
        {
            return Err(RegistryError::Duplicate);
        }
        let raw = self.free.pop_front().ok_or(RegistryError::Full)?;
        let idx = MarketIdx(raw);
        let Some(slot) = self.slots.get_mut(usize::from(raw)) else {
            return Err(RegistryError::Full);
        };
        self.by_key.insert(info.key, idx);
        self.by_token.insert(info.up_token.key, (idx, Outcome::Up));
        self.by_token
            .insert(info.down_token.key, (idx, Outcome::Down));
        *slot = Some(Entry {
            state: clock_state(&info, now_s),
            next_resolve_check_s: info.end_s + self.schedule.resolve_after_s,
            info,
        });
        Ok(idx)
    }

    /// The market at `idx`.
    pub fn get(&self, idx: MarketIdx) -> Option<&MarketInfo> {
        self.entry(idx).map(|e| &e.info)
    }

    /// The state of the market at `idx`.
    pub fn state(&self, idx: MarketIdx) -> Option<Lifecycle> {
        self.entry(idx).map(|e| e.state)
    }

    /// The index of a window.
    pub fn find(&self, key: MarketKey) -> Option<MarketIdx> {
        self.by_key.get(&key).copied()
    }

    /// Which market and outcome a token key belongs to.
    pub fn by_token(&self, token: &[u8; 32]) -> Option<(MarketIdx, Outcome)> {
        self.by_token.get(token).copied()
    }

    /// Registered markets, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (MarketIdx, &MarketInfo, Lifecycle)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, slot)| {
            let entry = slot.as_ref()?;
            Some((MarketIdx(i as u16), &entry.info, entry.state))
        })
    }

    /// Slugs to look up at wall-clock `now_s`: undiscovered windows of every configured type
    /// whose start is within the lead time (the current one too, unless it ends within
    /// `min_remaining_s`), then ended markets due for a resolution check.
    pub fn plan(&self, now_s: u64) -> Vec<Lookup> {
        let mut due = Vec::new();
        for &kind in &self.kinds {
            let count = (self.schedule.lead_s / kind.secs()) as usize + 2;
            for key in kind.windows_from(now_s, count) {
                if key.start_s > now_s.saturating_add(self.schedule.lead_s) {
                    break;
                }
                if key.end_s() <= now_s.saturating_add(self.schedule.min_remaining_s)
                    || self.by_key.contains_key(&key)
                {
                    continue;
                }
                due.push(Lookup {
                    key,
                    slug: key.slug(),
                    purpose: LookupPurpose::Discover,
                });
            }
        }
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(entry) = slot else { continue };
            if entry.state == Lifecycle::Ended && now_s >= entry.next_resolve_check_s {
                due.push(Lookup {
                    key: entry.info.key,
                    slug: entry.info.slug.clone(),
                    purpose: LookupPurpose::Resolve(MarketIdx(i as u16)),
                });
            }
        }
        due
    }

    /// Next resolution check of `idx` not before `at_s`.
    pub fn defer_resolve_check(&mut self, idx: MarketIdx, at_s: u64) {
        if let Some(entry) = self.entry_mut(idx) {
            entry.next_resolve_check_s = at_s;
        }
    }

    /// The venue resolved `idx` with `winner`. Returns false when `idx` is unknown or was not
    /// waiting for a resolution (upcoming/live markets are not resolved early).
    pub fn mark_resolved(&mut self, idx: MarketIdx, winner: Outcome) -> bool {
        match self.entry_mut(idx) {
            Some(entry) if entry.state == Lifecycle::Ended => {
                entry.state = Lifecycle::Resolved(winner);
                true
            }
            _ => false,
        }
    }

    /// Move every market along the clock to `now_s`; retire resolved markets past
    /// `retire_after_s` and unresolved ones past `give_up_unresolved_s`. Returns the changes in
    /// index order.
    pub fn advance(&mut self, now_s: u64) -> Vec<RegistryEvent> {
        let mut events = Vec::new();
        let schedule = self.schedule;
        for i in 0..self.slots.len() {
            let Some(Some(entry)) = self.slots.get_mut(i) else {
                continue;
            };
            let idx = MarketIdx(i as u16);
            let key = entry.info.key;
            let end_s = entry.info.end_s;
            let retire = match entry.state {
                Lifecycle::Resolved(_) => now_s >= end_s.saturating_add(schedule.retire_after_s),
                Lifecycle::Ended => now_s >= end_s.saturating_add(schedule.give_up_unresolved_s),
                _ => false,
            };
            if retire {
                let winner = match entry.state {
                    Lifecycle::Resolved(w) => Some(w),
                    _ => None,
                };
                self.remove(idx);
                events.push(RegistryEvent {
                    idx,
                    key,
                    to: Lifecycle::Retired,
                    winner,
                });
                continue;
            }
            if matches!(entry.state, Lifecycle::Upcoming | Lifecycle::Live) {
                let next = clock_state(&entry.info, now_s);
                if next != entry.state {
                    entry.state = next;
                    events.push(RegistryEvent {
                        idx,
                        key,
                        to: next,
                        winner: None,
                    });
                }
            }
        }
        events
    }

    /// Remove `idx` now (e.g. on shutdown or operator request). Returns its info.
    pub fn remove(&mut self, idx: MarketIdx) -> Option<MarketInfo> {
        let entry = self.slots.get_mut(usize::from(idx.0))?.take()?;
        self.by_key.remove(&entry.info.key);
        self.by_token.remove(&entry.info.up_token.key);
        self.by_token.remove(&entry.info.down_token.key);
        self.free.push_back(idx.0);
        Some(entry.info)
    }

    fn entry(&self, idx: MarketIdx) -> Option<&Entry> {
        self.slots.get(usize::from(idx.0))?.as_ref()
    }

    fn entry_mut(&mut self, idx: MarketIdx) -> Option<&mut Entry> {
        self.slots.get_mut(usize::from(idx.0))?.as_mut()
    }
}

/// The state the clock alone implies.
fn clock_state(info: &MarketInfo, now_s: u64) -> Lifecycle {
    if now_s < info.start_s {
        Lifecycle::Upcoming
    } else if now_s < info.end_s {
        Lifecycle::Live
    } else {
        Lifecycle::Ended
    }
}
