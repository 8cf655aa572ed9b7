//! Decision check (`replay --check-decisions`): a trading run's recording re-driven through
//! the engine's components at the points its decision journal (`record::journal`) marks, and
//! every tick's intents compared with the ones the run decided.
//!
//! The frames rebuild the books, Binance state and oracle exactly as the hot loop did; the
//! journal supplies what no frame carries (the round's wall clock, book and oracle ages, free
//! collateral, sellable tokens, the risk thread's kill / pause / size multiplier) and the
//! venue's answers (sent, refused, fills, closes), replayed into the brain where the run got
//! them. Markets enter, resolve and retire where the run's decider was told, not at the
//! discovery line's time. Nothing goes to the replay venue.
//!
//! Invariants: a difference is counted and described (the first [`DIFFERENCES_KEPT`]), never
//! a panic; journal gaps (a full ring) and lost entries are counted, since state after them
//! may legitimately differ.

use std::collections::BTreeMap;

use super::{ReplayEngine, Tracked};
use crate::book::MarketBooks;
use crate::discovery::{DiscoveryMsg, MarketRecord};
use crate::engine::market_view::feed_asset;
use crate::engine::trading::Decider;
use crate::exec::orders::positions::Positions;
use crate::feeds::binance::records::Venue;
use crate::record::journal::{Entry, Numbered, TickEntry};
use crate::risk::state::KillReason;

/// Differences described in the report.
pub const DIFFERENCES_KEPT: usize = 20;

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CheckStats {
    /// Journal entries read.
    pub entries: u64,
    /// Ticks journaled, and how many the replay decided identically.
    pub ticks: u64,
    pub ticks_matched: u64,
    /// Ticks whose replayed intents differ from the journaled ones.
    pub ticks_differing: u64,
    /// Ticks the replay could not run (market or books missing).
    pub ticks_unready: u64,
    /// Journaled ticks with at least one intent, and the intents they held.
    pub ticks_with_intents: u64,
    pub orders_journaled: u64,
    pub cancels_journaled: u64,
    /// Venue answers replayed into the brain.
    pub sent: u64,
    pub refused: u64,
    pub fills: u64,
    pub closes: u64,
    /// Markets entered (and those whose slot or discovery record did not match), resolved,
    /// retired.
    pub markets: u64,
    pub markets_mismatched: u64,
    pub resolved: u64,
    pub retired: u64,
    /// Sequence gaps (entries the run's ring dropped) and entries lost to size.
    pub gaps: u64,
    pub lost: u64,
    /// The first differences, described.
    pub differences: Vec<String>,
}

impl CheckStats {
    /// Every journaled tick replayed to the same intents, with nothing missing.
    pub fn all_matched(&self) -> bool {
        self.ticks > 0
            && self.ticks_matched == self.ticks
            && self.markets_mismatched == 0
            && self.gaps == 0
            && self.lost == 0
    }

    fn differ(&mut self, what: String) {
        if self.differences.len() < DIFFERENCES_KEPT {
            self.differences.push(what);
        }
    }
}

/// The check's own state inside a [`ReplayEngine`].
#[derive(Debug, Default)]
pub struct DecisionCheck {
    /// Announced markets by discovery index, until the journal says the decider was told.
    pending: BTreeMap<u16, MarketRecord>,
    next_seq: u64,
    pub stats: CheckStats,
}

impl ReplayEngine {
    /// A discovery message in check mode: new markets wait for their journal entry; the
    /// resolution and retirement the run acted on come from the journal too.
    pub(super) fn check_discovery(&mut self, msg: DiscoveryMsg) {
        if let (Some(c), DiscoveryMsg::NewMarket(r)) = (self.check.as_mut(), msg) {
            c.pending.insert(r.idx.0, r);
        }
    }

    /// One journal entry, applied where the run's hot thread made the call.
    pub(super) fn on_journal(&mut self, n: Numbered) {
        let Some(c) = self.check.as_mut() else {
            return;
        };
        c.stats.entries += 1;
        if n.seq != c.next_seq {
            c.stats.gaps += 1;
        }
        c.next_seq = n.seq + 1;
        match n.entry {
            Entry::Market {
                market,
                discovery_idx,
            } => {
                c.stats.markets += 1;
                match c.pending.remove(&discovery_idx) {
                    Some(record) => {
                        self.add_market(record);
                        let slot = self.slot_of(record.idx);
                        if slot != Some(market) {
                            self.check_differ(format!(
                                "market {discovery_idx}: run put it in slot {}, replay in {:?}",
                                market.0, slot
                            ));
                        }
                    }
                    None => self.check_differ(format!(
                        "market {discovery_idx}: the decider was told of it, the recording \
                         has no discovery line for it"
                    )),
                }
            }
            Entry::Resolved {
                market,
                venue_winner,
                oracle_winner,
            } => {
                c.stats.resolved += 1;
                self.signals.mark_resolved(market);
                self.books.mark_resolved(market);
                self.brain.on_resolved(market, venue_winner, oracle_winner);
            }
            Entry::Retired { market } => {
                c.stats.retired += 1;
                self.brain.on_retired(market);
                self.signals.release(market);
                self.books.retire_market(market);
                if let Some(t) = self.tracked.get_mut(usize::from(market.0)) {
                    *t = None;
                }
            }
            Entry::Tick(t) => self.check_tick(t),
            Entry::Sent { order_id, intent } => {
                c.stats.sent += 1;
                self.brain.on_sent(&order_id, &intent);
            }
            Entry::Refused { intent } => {
                c.stats.refused += 1;
                self.brain.on_refused(&intent);
            }
            Entry::Fill(f) => {
                c.stats.fills += 1;
                self.brain.on_fill(&f);
            }
            Entry::Closed { order_id } => {
                c.stats.closes += 1;
                self.brain.on_closed(&order_id);
            }
            Entry::Lost => c.stats.lost += 1,
        }
    }

    fn check_differ(&mut self, what: String) {
        if let Some(c) = self.check.as_mut() {
            c.stats.markets_mismatched += 1;
            c.stats.differ(what);
        }
    }

    /// Re-run one journaled tick with its recorded account and risk inputs; compare intents.
    fn check_tick(&mut self, t: TickEntry) {
        let market = t.market;
        let i = usize::from(market.0);
        let tracked: Option<Tracked> = self.tracked.get(i).copied().flatten();
        let ready = tracked.filter(|_| self.signals.asset_of(market).is_some());
        let Some(c) = self.check.as_mut() else {
            return;
        };
        c.stats.ticks += 1;
        if !t.orders.is_empty() || !t.cancels.is_empty() {
            c.stats.ticks_with_intents += 1;
        }
        c.stats.orders_journaled += t.orders.len() as u64;
        c.stats.cancels_journaled += t.cancels.len() as u64;
        let Some(tracked) = ready else {
            c.stats.ticks_unready += 1;
            c.stats.differ(format!(
                "tick of slot {} at {} ms: no such market",
                market.0, t.now_ms
            ));
            return;
        };
        let r = tracked.record;
        let feed = feed_asset(r.asset);
        if let Ok(ptb) = self.oracle.price_to_beat(feed, r.start_s) {
            self.signals.set_price_to_beat(market, Some(ptb));
        }
        // The run's sellable tokens of this market, as its tracker had them.
        let mut positions = Positions::new(2);
        let _ = positions.set_token_balance(&r.up_token, t.sellable_micro[0]);
        let _ = positions.set_token_balance(&r.down_token, t.sellable_micro[1]);
        if t.risk.killed {
            self.risk.kill(KillReason::Command);
        } else {
            self.risk.reset_kill();
        }
        self.risk.pause_until(t.risk.paused_until_ms);
        self.risk.set_size_mult_bps(t.risk.size_mult_bps);
        let (up_t, down_t) = MarketBooks::tokens_of(market);
        let (Some(up), Some(down)) = (self.books.book(up_t), self.books.book(down_t)) else {
            if let Some(c) = self.check.as_mut() {
                c.stats.ticks_unready += 1;
                c.stats.differ(format!(
                    "tick of slot {} at {} ms: no books",
                    market.0, t.now_ms
                ));
            }
            return;
        };
        let spot = self.binance.get_mut(Venue::Spot, feed);
        let decided = self.signals.tick(
            market,
            spot,
            up,
            down,
            t.health,
            &positions,
            t.now_ms,
            &mut self.brain,
            &mut self.intents,
        );
        self.input.decisions += u64::from(decided);
        let same = decided
            && self.intents.orders() == t.orders.as_slice()
            && self.intents.cancels() == t.cancels.as_slice();
        let Some(c) = self.check.as_mut() else {
            return;
        };
        if same {
            c.stats.ticks_matched += 1;
            return;
        }
        c.stats.ticks_differing += 1;
        c.stats.differ(format!(
            "tick of slot {} ({}) at {} ms: run decided orders {:?} cancels {:?}; replay {:?} {:?}",
            market.0,
            super::slug_of(&r),
            t.now_ms,
            t.orders,
            t.cancels,
            self.intents.orders(),
            self.intents.cancels()
        ));
    }
}
