//! The orchestrator: one decision round over the intents the strategies pushed into an
//! [`IntentBuf`]. In order: drop intents whose strategy may not act in the market's phase and
//! regime ([`lifecycle::Lifecycle::permits`]; nothing at all in lockout); drop duplicates (same
//! market, outcome, side and price from two strategies — the first pushed wins — or identical
//! to a live order); cap BUY sizes by what the allocator leaves the (market, strategy) this
//! round; keep pair legs (same non-zero group) together — equal sizes, and if one leg goes the
//! whole group goes; then run every survivor through the pre-trade gate (pair legs checked
//! together, the directional limit on their combined effect). What is left in the buffer is
//! what execution sends. Cancel intents pass through untouched (they only reduce risk).
//!
//! Invariants: no allocation in a round (scratch sized at construction); each dropped intent
//! is counted under one [`DropReason`]; a group is never sent partially.

pub mod allocator;
pub mod lifecycle;

use crate::book::{MarketIdx, Outcome};
use crate::exec::signing::amounts::Side;
use crate::risk::pretrade::{account_after, Account, MarketRisk, PreTrade, Rejection};
use crate::risk::state::RiskShared;
use crate::strategy::intent::{IntentBuf, OrderIntent, StrategyId};
use allocator::Allocator;
use lifecycle::{Lifecycle, Phase};

/// Sizes capped by the budget are rounded down to this lot (0.01 share).
const SIZE_LOT_MICRO: i64 = 10_000;
/// Most legs in one group (the venue batches at most 15 orders).
pub const MAX_GROUP_LEGS: usize = 16;

/// One market slot as the round sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketSlot {
    /// Index into `[[markets]]` (the allocator's market type).
    pub market_type: usize,
    /// The window's phase now.
    pub phase: Phase,
    /// Risk inputs (regime, mids, staleness, position).
    pub risk: MarketRisk,
}

/// A resting or in-flight order, as far as duplicates go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveOrder {
    /// Market slot.
    pub market: MarketIdx,
    /// Token.
    pub outcome: Outcome,
    /// Side.
    pub side: Side,
    /// Limit price, micro-dollars.
    pub price_micro: i64,
}

/// Everything a round reads besides the intents.
#[derive(Debug, Clone, Copy)]
pub struct RoundInputs<'a> {
    /// Market slots, indexed by `MarketIdx`; `None` = empty slot.
    pub markets: &'a [Option<MarketSlot>],
    /// Live orders.
    pub live: &'a [LiveOrder],
    /// Account figures.
    pub account: Account,
    /// Wall time, milliseconds.
    pub now_ms: u64,
}

/// Why the orchestrator dropped an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The market slot is empty or unknown.
    NoMarket,
    /// Not permitted in the phase / regime (or the market is in lockout).
    NotPermitted,
    /// Same market/outcome/side/price as an earlier intent this round.
    Duplicate,
    /// Same as a live order.
    DuplicateOfLive,
    /// The (market, strategy) has no allocation left.
    NoBudget,
    /// Another leg of its group was dropped.
    PairLegDropped,
    /// The group has more legs than [`MAX_GROUP_LEGS`].
    GroupTooLarge,
    /// Refused by the pre-trade gate.
    Risk(Rejection),
}

impl DropReason {
    const PLAIN: usize = 7;
    /// Number of counters (plain reasons + one per rejection kind).
    pub const COUNT: usize = Self::PLAIN + Rejection::COUNT;

    /// Counter names, by [`DropReason::index`].
    pub const NAMES: [&'static str; Self::COUNT] = [
        "no market",
        "not permitted (phase/regime)",
        "duplicate",
        "duplicate of a live order",
        "no budget",
        "pair leg dropped",
        "group too large",
        "risk: kill switch",
        "risk: paused",
        "risk: below min size",
        "risk: bad price",
        "risk: no mid",
        "risk: price far from mid",
        "risk: stale book",
        "risk: book resyncing",
        "risk: stale oracle",
        "risk: exposure limit",
        "risk: position limit",
        "risk: directional limit",
        "risk: insufficient collateral",
        "risk: insufficient tokens",
    ];

    /// Dense counter index.
    pub const fn index(self) -> usize {
        match self {
            DropReason::NoMarket => 0,
            DropReason::NotPermitted => 1,
            DropReason::Duplicate => 2,
            DropReason::DuplicateOfLive => 3,
            DropReason::NoBudget => 4,
            DropReason::PairLegDropped => 5,
            DropReason::GroupTooLarge => 6,
            DropReason::Risk(r) => Self::PLAIN + r.index(),
        }
    }
}

/// What a round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoundReport {
    /// Order intents left to send.
    pub sent: usize,
    /// Order intents dropped.
    pub dropped: usize,
    /// BUY intents whose size was cut by the budget.
    pub capped: usize,
}

/// See the module docs.
#[derive(Debug)]
pub struct Orchestrator {
    lifecycle: Lifecycle,
    pretrade: PreTrade,
    verdict: Vec<Option<DropReason>>,
    budget_used: Vec<[i64; StrategyId::COUNT]>,
    risk_scratch: Vec<Option<MarketRisk>>,
    drops: [u64; DropReason::COUNT],
    /// Pre-trade refusals per strategy, by [`Rejection::index`].
    risk_drops: [[u64; Rejection::COUNT]; StrategyId::COUNT],
}

impl Orchestrator {
    /// An orchestrator for rounds of at most `max_intents` orders over `max_markets` slots and
    /// `market_types` `[[markets]]` entries.
    pub fn new(
        lifecycle: Lifecycle,
        pretrade: PreTrade,
        max_intents: usize,
        max_markets: usize,
        market_types: usize,
    ) -> Self {
        Orchestrator {
            lifecycle,
            pretrade,
            verdict: Vec::with_capacity(max_intents),
            budget_used: vec![[0; StrategyId::COUNT]; market_types],
            risk_scratch: Vec::with_capacity(max_markets),
            drops: [0; DropReason::COUNT],
            risk_drops: [[0; Rejection::COUNT]; StrategyId::COUNT],
        }
    }

    /// The lifecycle (phases, permissions).
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// The pre-trade gate (its counters).
    pub fn pretrade(&self) -> &PreTrade {
        &self.pretrade
    }

    /// Every drop counter, by [`DropReason::index`].
    pub fn drop_counts(&self) -> [u64; DropReason::COUNT] {
        self.drops
    }

    /// Pre-trade refusals of `strategy`'s intents so far, by [`Rejection::index`].
    pub fn risk_drops(&self, strategy: StrategyId) -> [u64; Rejection::COUNT] {
        self.risk_drops[strategy.index()]
    }

    /// Intents dropped for `reason` so far.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.drops[reason.index()]
    }

    /// One decision round; see the module docs. `buf` keeps only what is to be sent.
    // Indexes walk the intents and their verdicts in parallel.
    #[allow(clippy::needless_range_loop)]
    pub fn round(
        &mut self,
        buf: &mut IntentBuf,
        inputs: &RoundInputs<'_>,
        allocator: &Allocator,
        shared: &RiskShared,
    ) -> RoundReport {
        let mut report = RoundReport::default();
        let n = buf.orders().len().min(self.verdict.capacity());
        self.verdict.clear();
        self.verdict.resize(n, None);
        for row in self.budget_used.iter_mut() {
            *row = [0; StrategyId::COUNT];
        }
        let slots = inputs.markets.len().min(self.risk_scratch.capacity());
        self.risk_scratch.clear();
        self.risk_scratch
            .extend(inputs.markets[..slots].iter().map(|m| m.map(|s| s.risk)));
        let intents = buf.orders_mut();

        // 1–3: permission, duplicates, budget.
        for i in 0..n {
            let intent = intents[i];
            let slot = match inputs
                .markets
                .get(usize::from(intent.market.0))
                .copied()
                .flatten()
            {
                Some(s) if usize::from(intent.market.0) < slots => s,
                _ => {
                    self.verdict[i] = Some(DropReason::NoMarket);
                    continue;
                }
            };
            if !self
                .lifecycle
                .permits(slot.phase, slot.risk.regime, intent.strategy, intent.side)
            {
                self.verdict[i] = Some(DropReason::NotPermitted);
                continue;
            }
            let same = |o: &OrderIntent| {
                o.market == intent.market
                    && o.outcome == intent.outcome
                    && o.side == intent.side
                    && o.price_micro == intent.price_micro
            };
            if (0..i).any(|j| self.verdict[j].is_none() && same(&intents[j])) {
                self.verdict[i] = Some(DropReason::Duplicate);
                continue;
            }
            if inputs.live.iter().any(|l| {
                l.market == intent.market
                    && l.outcome == intent.outcome
                    && l.side == intent.side
                    && l.price_micro == intent.price_micro
            }) {
                self.verdict[i] = Some(DropReason::DuplicateOfLive);
                continue;
            }
            if intent.side == Side::Buy && intent.price_micro > 0 {
                let Some(used_row) = self.budget_used.get_mut(slot.market_type) else {
                    self.verdict[i] = Some(DropReason::NoBudget);
                    continue;
                };
                let used = &mut used_row[intent.strategy.index()];
                let left = allocator.available(slot.market_type, intent.strategy, slot.risk.regime)
                    - *used;
                let price = i128::from(intent.price_micro);
                let notional = i128::from(intent.size_micro) * price / 1_000_000;
                if notional > i128::from(left) {
                    let mut size = (i128::from(left.max(0)) * 1_000_000 / price) as i64;
                    size -= size.rem_euclid(SIZE_LOT_MICRO);
                    if size <= 0 {
                        self.verdict[i] = Some(DropReason::NoBudget);
                        continue;
                    }
                    intents[i].size_micro = size;
                    report.capped += 1;
                }
                *used += (i128::from(intents[i].size_micro) * price / 1_000_000) as i64;
            }
        }

        // 4: pair legs: equal sizes, all or nothing.
        for i in 0..n {
            let group = intents[i].group;
            if group == 0 || (0..i).any(|j| intents[j].group == group) {
                continue;
            }
            let legs = (i..n).filter(|&j| intents[j].group == group);
            let broken = legs.clone().any(|j| self.verdict[j].is_some());
            let too_many = legs.clone().count() > MAX_GROUP_LEGS;
            if broken || too_many {
                let why = if too_many {
                    DropReason::GroupTooLarge
                } else {
                    DropReason::PairLegDropped
                };
                for j in legs {
                    self.verdict[j].get_or_insert(why);
                }
                continue;
            }
            let min = legs.map(|j| intents[j].size_micro).min().unwrap_or(0);
            for leg in intents[i..n].iter_mut().filter(|o| o.group == group) {
                leg.size_micro = min;
            }
        }

        // 5: the pre-trade gate, pair legs together.
        let mut account = inputs.account;
        for i in 0..n {
            if self.verdict[i].is_some() {
                continue;
            }
            let group = intents[i].group;
            if group != 0 && (0..i).any(|j| intents[j].group == group) {
                continue; // checked with its first leg
            }
            let verdict = self.gate_group(intents, i, n, &mut account, shared, inputs.now_ms);
            if let Err(rejection) = verdict {
                for j in i..n {
                    if j == i || (group != 0 && intents[j].group == group) {
                        self.verdict[j].get_or_insert(DropReason::Risk(rejection));
                    }
                }
            }
        }

        // Count and compact (intents beyond the round's capacity are dropped unexamined).
        report.dropped += intents.len() - n;
        for (j, v) in self.verdict.iter().enumerate() {
            let Some(v) = v else { continue };
            self.drops[v.index()] += 1;
            report.dropped += 1;
            if let (DropReason::Risk(r), Some(intent)) = (v, intents.get(j)) {
                self.risk_drops[intent.strategy.index()][r.index()] += 1;
            }
        }
        let verdict = &self.verdict;
        let mut k = 0;
        intents.retain(|_| {
            let keep = verdict.get(k).is_some_and(|v| v.is_none());
            k += 1;
            keep
        });
        report.sent = intents.len();
        report
    }

    /// Gate the group starting at leg `first` (a lone intent is a group of one): every leg
    /// on copies of the account and market figures, then the directional limit on the
    /// combined effect; commit the figures and the approved sizes only if all pass.
    #[allow(clippy::needless_range_loop)]
    fn gate_group(
        &mut self,
        intents: &mut [OrderIntent],
        first: usize,
        n: usize,
        account: &mut Account,
        shared: &RiskShared,
        now_ms: u64,
    ) -> Result<(), Rejection> {
        let group = intents[first].group;
        let mut saved: [(usize, Option<MarketRisk>); MAX_GROUP_LEGS] =
            [(usize::MAX, None); MAX_GROUP_LEGS];
        let mut saved_n = 0;
        let mut sizes = [0i64; MAX_GROUP_LEGS];
        let mut legs = 0;
        let mut acct = *account;
        let mut outcome: Result<(), Rejection> = Ok(());
        for j in first..n {
            if j != first && (group == 0 || intents[j].group != group) {
                continue;
            }
            if self.verdict[j].is_some() {
                continue;
            }
            let intent = intents[j];
            let m = usize::from(intent.market.0);
            let Some(Some(risk)) = self.risk_scratch.get(m).copied() else {
                outcome = Err(Rejection::NoMid);
                break;
            };
            if !saved[..saved_n].iter().any(|(idx, _)| *idx == m) && saved_n < MAX_GROUP_LEGS {
                saved[saved_n] = (m, Some(risk));
                saved_n += 1;
            }
            match self
                .pretrade
                .check_leg(&intent, &risk, &acct, shared, now_ms)
            {
                Ok(a) => {
                    acct = account_after(&acct, &a);
                    self.risk_scratch[m] = Some(risk.after(intent.outcome, &a));
                    if legs < MAX_GROUP_LEGS {
                        sizes[legs] = a.size_micro;
                    }
                    legs += 1;
                }
                Err(r) => {
                    outcome = Err(r);
                    break;
                }
            }
            if group == 0 {
                break;
            }
        }
        if outcome.is_ok() {
            for (m, before) in saved[..saved_n].iter() {
                let (Some(before), Some(Some(after))) = (before, self.risk_scratch.get(*m)) else {
                    continue;
                };
                if let Err(r) = self.pretrade.check_directional(before, after, &acct) {
                    outcome = Err(r);
                    break;
                }
            }
        }
        match outcome {
            Ok(()) => {
                *account = acct;
                let mut k = 0;
                for j in first..n {
                    if (j == first || (group != 0 && intents[j].group == group))
                        && self.verdict[j].is_none()
                        && k < legs.min(MAX_GROUP_LEGS)
                    {
                        intents[j].size_micro = sizes[k];
                        k += 1;
                        if group == 0 {
                            break;
                        }
                    }
                }
                Ok(())
            }
            Err(r) => {
                for (m, before) in saved[..saved_n].iter() {
                    if let Some(slot) = self.risk_scratch.get_mut(*m) {
                        *slot = *before;
                    }
                }
                Err(r)
            }
        }
    }
}

#[cfg(test)]
mod tests;
