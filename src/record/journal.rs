//! The decision journal: every call the hot thread makes into its [`Decider`] (new market,
//! resolution, retirement, each tick with its outputs, each order sent or refused, each fill
//! and close), recorded beside the raw frames so a replay can re-drive the same decisions and
//! check they come out the same (`replay --check-decisions`).
//!
//! [`JournaledDecider`] wraps the engine's decider when a run records: it encodes each call into
//! a fixed buffer and pushes it into its own byte ring (a [`FrameTap`], connection
//! [`JOURNAL_CONN`]) stamped with the monotonic time of the call, then delegates. A tick entry
//! carries what the replay cannot recompute from the recorded frames (the wall clock of the
//! round, book and oracle ages, free collateral, sellable tokens, the risk thread's kill /
//! pause / size multiplier) and the intents the decider produced; everything market-data
//! derived (books, Binance state, oracle, signals, phase) is recomputed by the replay.
//!
//! Invariants: encoding never allocates (fixed buffer, bounds-checked writer; an entry that
//! would not fit is replaced by a `lost` entry); each entry carries a sequence number so a
//! replay sees gaps (ring full); entries are stamped after the frames the hot loop read before
//! the call and before the frames of its next poll, so sorting a recording by receive time
//! puts each entry where the hot thread made the call. [`decode`] never panics on bad bytes.

use std::sync::Arc;

use super::FrameTap;
use crate::book::{MarketIdx, Outcome};
use crate::engine::messages::AccountView;
use crate::engine::trading::{
    Decider, DeciderFigures, DeciderFill, DecisionInputs, NewMarket, TickHealth,
};
use crate::exec::json::OrderId;
use crate::exec::orders::positions::TokenKey;
use crate::exec::signing::amounts::Side;
use crate::risk::state::RiskShared;
use crate::strategy::context::StrategyFill;
use crate::strategy::intent::{
    CancelIntent, IntentBuf, OrderIntent, Reason, StrategyId, TimeInForce,
};

/// Connection id of the decision journal in a recording.
pub const JOURNAL_CONN: u16 = u16::MAX - 2;

/// Largest encoded entry (a tick with 64 orders and 32 cancels fits).
pub const ENTRY_MAX: usize = 4096;

const TAG_MARKET: u8 = 1;
const TAG_RESOLVED: u8 = 2;
const TAG_RETIRED: u8 = 3;
const TAG_TICK: u8 = 4;
const TAG_SENT: u8 = 5;
const TAG_REFUSED: u8 = 6;
const TAG_FILL: u8 = 7;
const TAG_CLOSED: u8 = 8;
const TAG_LOST: u8 = 9;

/// Every [`Reason`], in declaration order (the code is the position).
const REASONS: [Reason; 11] = [
    Reason::StraddleOpen,
    Reason::StraddleBuyDeficit,
    Reason::StraddleSellExcess,
    Reason::BiasDipBuy,
    Reason::ArbOpen,
    Reason::ArbRebalance,
    Reason::LagEdge,
    Reason::MmQuote,
    Reason::MmPull,
    Reason::MomentumEntry,
    Reason::MomentumExit,
];

/// The risk thread's state as the decision saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskView {
    pub killed: bool,
    pub paused_until_ms: u64,
    pub size_mult_bps: u32,
}

impl RiskView {
    /// Read `shared` now.
    pub fn of(shared: &RiskShared) -> RiskView {
        RiskView {
            killed: shared.kill_reason().is_some(),
            paused_until_ms: shared.paused_until_ms(),
            size_mult_bps: shared.size_mult_bps(),
        }
    }
}

/// One tick as journaled: the inputs the replay takes as recorded, and the decider's outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickEntry {
    pub market: MarketIdx,
    pub now_ms: u64,
    pub health: TickHealth,
    /// Tokens that may be sold, Up and Down.
    pub sellable_micro: [i64; 2],
    pub risk: RiskView,
    pub orders: Vec<OrderIntent>,
    pub cancels: Vec<CancelIntent>,
}

/// One decoded journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `on_market`: the decider was told of the market with discovery index `discovery_idx`.
    Market {
        market: MarketIdx,
        discovery_idx: u16,
    },
    Resolved {
        market: MarketIdx,
        venue_winner: Outcome,
        oracle_winner: Option<Outcome>,
    },
    Retired {
        market: MarketIdx,
    },
    Tick(TickEntry),
    Sent {
        order_id: OrderId,
        intent: OrderIntent,
    },
    Refused {
        intent: OrderIntent,
    },
    Fill(DeciderFill),
    Closed {
        order_id: OrderId,
    },
    /// An entry did not fit [`ENTRY_MAX`]; the journal is incomplete from here.
    Lost,
}

/// A decoded entry with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbered {
    pub seq: u64,
    pub entry: Entry,
}

/// Why journal bytes did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error("journal entry truncated")]
    Truncated,
    #[error("unknown journal entry tag {0}")]
    Tag(u8),
    #[error("journal entry: bad {0}")]
    Value(&'static str),
    #[error("journal entry: {0} trailing bytes")]
    Trailing(usize),
}

/// Bounds-checked little-endian writer over a fixed buffer.
struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
    overflow: bool,
}

impl<'a> Writer<'a> {
    /// A writer over `buf` that has written an entry's header: its tag and sequence number.
    fn entry(buf: &'a mut [u8], tag: u8, seq: u64) -> Writer<'a> {
        let mut w = Writer {
            buf,
            at: 0,
            overflow: false,
        };
        w.u8(tag);
        w.u64(seq);
        w
    }

    fn bytes(&mut self, b: &[u8]) {
        match self.buf.get_mut(self.at..self.at + b.len()) {
            Some(dst) if !self.overflow => {
                dst.copy_from_slice(b);
                self.at += b.len();
            }
            _ => self.overflow = true,
        }
    }
    fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }
    fn outcome(&mut self, o: Outcome) {
        self.u8(outcome_code(o));
    }
    fn opt_outcome(&mut self, o: Option<Outcome>) {
        self.u8(o.map_or(0, outcome_code));
    }
    fn intent(&mut self, i: &OrderIntent) {
        self.u8(i.strategy.index() as u8);
        self.u8(i.reason as u8);
        self.u16(i.market.0);
        self.outcome(i.outcome);
        self.u8(side_code(i.side));
        self.i64(i.price_micro);
        self.i64(i.size_micro);
        let (tif, exp) = match i.tif {
            TimeInForce::Gtc => (0, 0),
            TimeInForce::Gtd { expiration_s } => (1, expiration_s),
            TimeInForce::Fok => (2, 0),
            TimeInForce::Fak => (3, 0),
        };
        self.u8(tif);
        self.u64(exp);
        self.u8(u8::from(i.post_only));
        self.u32(i.group);
    }
    fn cancel(&mut self, c: &CancelIntent) {
        self.u8(c.strategy.index() as u8);
        self.u8(c.reason as u8);
        self.u16(c.market.0);
        self.opt_outcome(c.outcome);
    }
}

const fn outcome_code(o: Outcome) -> u8 {
    match o {
        Outcome::Up => 1,
        Outcome::Down => 2,
    }
}

const fn side_code(s: Side) -> u8 {
    match s {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// Little-endian reader; every read checks bounds.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], JournalError> {
        let s = self
            .b
            .get(self.at..self.at + n)
            .ok_or(JournalError::Truncated)?;
        self.at += n;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], JournalError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, JournalError> {
        Ok(self.arr::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, JournalError> {
        Ok(u16::from_le_bytes(self.arr()?))
    }
    fn u32(&mut self) -> Result<u32, JournalError> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Result<u64, JournalError> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    fn i64(&mut self) -> Result<i64, JournalError> {
        Ok(i64::from_le_bytes(self.arr()?))
    }
    fn flag(&mut self, what: &'static str) -> Result<bool, JournalError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(JournalError::Value(what)),
        }
    }
    fn outcome(&mut self) -> Result<Outcome, JournalError> {
        self.opt_outcome()?.ok_or(JournalError::Value("outcome"))
    }
    fn opt_outcome(&mut self) -> Result<Option<Outcome>, JournalError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(Outcome::Up)),
            2 => Ok(Some(Outcome::Down)),
            _ => Err(JournalError::Value("outcome")),
        }
    }
    fn strategy(&mut self) -> Result<StrategyId, JournalError> {
        StrategyId::ALL
            .get(usize::from(self.u8()?))
            .copied()
            .ok_or(JournalError::Value("strategy"))
    }
    fn reason(&mut self) -> Result<Reason, JournalError> {
        REASONS
            .get(usize::from(self.u8()?))
            .copied()
            .ok_or(JournalError::Value("reason"))
    }
    fn side(&mut self) -> Result<Side, JournalError> {
        match self.u8()? {
            0 => Ok(Side::Buy),
            1 => Ok(Side::Sell),
            _ => Err(JournalError::Value("side")),
        }
    }
    fn intent(&mut self) -> Result<OrderIntent, JournalError> {
        let strategy = self.strategy()?;
        let reason = self.reason()?;
        let market = MarketIdx(self.u16()?);
        let outcome = self.outcome()?;
        let side = self.side()?;
        let price_micro = self.i64()?;
        let size_micro = self.i64()?;
        let tif_code = self.u8()?;
        let expiration_s = self.u64()?;
        let tif = match tif_code {
            0 => TimeInForce::Gtc,
            1 => TimeInForce::Gtd { expiration_s },
            2 => TimeInForce::Fok,
            3 => TimeInForce::Fak,
            _ => return Err(JournalError::Value("time in force")),
        };
        Ok(OrderIntent {
            strategy,
            reason,
            market,
            outcome,
            side,
            price_micro,
            size_micro,
            tif,
            post_only: self.flag("post_only")?,
            group: self.u32()?,
        })
    }
    fn cancel(&mut self) -> Result<CancelIntent, JournalError> {
        Ok(CancelIntent {
            strategy: self.strategy()?,
            reason: self.reason()?,
            market: MarketIdx(self.u16()?),
            outcome: self.opt_outcome()?,
        })
    }
}

/// Decode one journal record's payload.
pub fn decode(b: &[u8]) -> Result<Numbered, JournalError> {
    let mut r = Reader { b, at: 0 };
    let tag = r.u8()?;
    let seq = r.u64()?;
    let entry = match tag {
        TAG_MARKET => Entry::Market {
            market: MarketIdx(r.u16()?),
            discovery_idx: r.u16()?,
        },
        TAG_RESOLVED => Entry::Resolved {
            market: MarketIdx(r.u16()?),
            venue_winner: r.outcome()?,
            oracle_winner: r.opt_outcome()?,
        },
        TAG_RETIRED => Entry::Retired {
            market: MarketIdx(r.u16()?),
        },
        TAG_TICK => {
            let market = MarketIdx(r.u16()?);
            let now_ms = r.u64()?;
            let oracle_fresh = r.flag("oracle_fresh")?;
            let book_stale = r.flag("book_stale")?;
            let book_age_ms = r.u64()?;
            let has_age = r.flag("oracle_age")?;
            let age = r.u64()?;
            let available_collateral_micro = r.i64()?;
            let sellable_micro = [r.i64()?, r.i64()?];
            let risk = RiskView {
                killed: r.flag("killed")?,
                paused_until_ms: r.u64()?,
                size_mult_bps: r.u32()?,
            };
            let n_orders = usize::from(r.u8()?);
            let n_cancels = usize::from(r.u8()?);
            let mut orders = Vec::with_capacity(n_orders);
            for _ in 0..n_orders {
                orders.push(r.intent()?);
            }
            let mut cancels = Vec::with_capacity(n_cancels);
            for _ in 0..n_cancels {
                cancels.push(r.cancel()?);
            }
            Entry::Tick(TickEntry {
                market,
                now_ms,
                health: TickHealth {
                    oracle_fresh,
                    book_stale,
                    book_age_ms,
                    oracle_age_ms: has_age.then_some(age),
                    available_collateral_micro,
                },
                sellable_micro,
                risk,
                orders,
                cancels,
            })
        }
        TAG_SENT => Entry::Sent {
            order_id: r.arr()?,
            intent: r.intent()?,
        },
        TAG_REFUSED => Entry::Refused {
            intent: r.intent()?,
        },
        TAG_FILL => {
            let order_id = r.arr()?;
            let strategy = r.strategy()?;
            Entry::Fill(DeciderFill {
                order_id,
                strategy,
                fill: StrategyFill {
                    market: MarketIdx(r.u16()?),
                    outcome: r.outcome()?,
                    side: r.side()?,
                    price_micro: r.i64()?,
                    size_micro: r.i64()?,
                    fee_micro: r.i64()?,
                    now_ms: r.u64()?,
                },
            })
        }
        TAG_CLOSED => Entry::Closed { order_id: r.arr()? },
        TAG_LOST => Entry::Lost,
        t => return Err(JournalError::Tag(t)),
    };
    match b.len() - r.at {
        0 => Ok(Numbered { seq, entry }),
        n => Err(JournalError::Trailing(n)),
    }
}

/// The engine's decider with every call journaled (see the module docs).
pub struct JournaledDecider {
    inner: Box<dyn Decider + Send>,
    tap: FrameTap,
    shared: Arc<RiskShared>,
    /// Up and Down token of each market slot (for the sellable amounts of a tick).
    tokens: Vec<Option<(TokenKey, TokenKey)>>,
    buf: Box<[u8; ENTRY_MAX]>,
    seq: u64,
    lost: u64,
}

impl JournaledDecider {
    /// Journal `inner`'s calls into `tap`; `shared` is the state its pre-trade gate reads;
    /// `capacity` market slots.
    pub fn new(
        inner: Box<dyn Decider + Send>,
        tap: FrameTap,
        shared: Arc<RiskShared>,
        capacity: usize,
    ) -> JournaledDecider {
        JournaledDecider {
            inner,
            tap,
            shared,
            tokens: vec![None; capacity.max(1)],
            buf: Box::new([0u8; ENTRY_MAX]),
            seq: 0,
            lost: 0,
        }
    }

    /// Entries that did not fit the buffer (journaled as `lost`).
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Encode one entry with `body` and push it; an entry that overflows becomes `lost`.
    fn emit(&mut self, tag: u8, body: impl FnOnce(&mut Writer<'_>)) {
        let seq = self.seq;
        self.seq += 1;
        let mut w = Writer::entry(&mut self.buf[..], tag, seq);
        body(&mut w);
        let (len, overflow) = (w.at, w.overflow);
        let now = crate::clock::mono_ns();
        if overflow {
            self.lost += 1;
            let n = Writer::entry(&mut self.buf[..], TAG_LOST, seq).at;
            self.tap.frame(JOURNAL_CONN, now, &self.buf[..n]);
        } else {
            self.tap.frame(JOURNAL_CONN, now, &self.buf[..len]);
        }
    }
}

impl Decider for JournaledDecider {
    fn decide(&mut self, ctx: &DecisionInputs<'_>, out: &mut IntentBuf) {
        let risk = RiskView::of(&self.shared);
        self.inner.decide(ctx, out);
        let sellable = match self
            .tokens
            .get(usize::from(ctx.market.0))
            .copied()
            .flatten()
        {
            Some((up, down)) => [
                ctx.positions.token(&up).available_to_sell(),
                ctx.positions.token(&down).available_to_sell(),
            ],
            None => [0, 0],
        };
        let orders = out.orders();
        let cancels = out.cancels();
        let (n_orders, n_cancels) = (
            u8::try_from(orders.len()).unwrap_or(u8::MAX),
            u8::try_from(cancels.len()).unwrap_or(u8::MAX),
        );
        self.emit(TAG_TICK, |w| {
            w.u16(ctx.market.0);
            w.u64(ctx.now_ms);
            w.u8(u8::from(ctx.oracle_fresh));
            w.u8(u8::from(ctx.book_stale));
            w.u64(ctx.book_age_ms);
            w.u8(u8::from(ctx.oracle_age_ms.is_some()));
            w.u64(ctx.oracle_age_ms.unwrap_or(0));
            w.i64(ctx.available_collateral_micro);
            w.i64(sellable[0]);
            w.i64(sellable[1]);
            w.u8(u8::from(risk.killed));
            w.u64(risk.paused_until_ms);
            w.u32(risk.size_mult_bps);
            w.u8(n_orders);
            w.u8(n_cancels);
            for o in orders.iter().take(usize::from(n_orders)) {
                w.intent(o);
            }
            for c in cancels.iter().take(usize::from(n_cancels)) {
                w.cancel(c);
            }
            // More than a u8 counts: the entry cannot describe the round.
            if orders.len() > usize::from(u8::MAX) || cancels.len() > usize::from(u8::MAX) {
                w.overflow = true;
            }
        });
    }

    fn on_market(&mut self, market: MarketIdx, record: NewMarket<'_>) {
        if let Some(t) = self.tokens.get_mut(usize::from(market.0)) {
            *t = Some((record.up_token, record.down_token));
        }
        self.emit(TAG_MARKET, |w| {
            w.u16(market.0);
            w.u16(record.idx.0);
        });
        self.inner.on_market(market, record);
    }

    fn on_resolved(
        &mut self,
        market: MarketIdx,
        venue_winner: Outcome,
        oracle_winner: Option<Outcome>,
    ) {
        self.emit(TAG_RESOLVED, |w| {
            w.u16(market.0);
            w.outcome(venue_winner);
            w.opt_outcome(oracle_winner);
        });
        self.inner.on_resolved(market, venue_winner, oracle_winner);
    }

    fn on_retired(&mut self, market: MarketIdx) {
        if let Some(t) = self.tokens.get_mut(usize::from(market.0)) {
            *t = None;
        }
        self.emit(TAG_RETIRED, |w| w.u16(market.0));
        self.inner.on_retired(market);
    }

    fn on_sent(&mut self, order_id: &OrderId, intent: &OrderIntent) {
        self.emit(TAG_SENT, |w| {
            w.bytes(order_id);
            w.intent(intent);
        });
        self.inner.on_sent(order_id, intent);
    }

    fn on_refused(&mut self, intent: &OrderIntent) {
        self.emit(TAG_REFUSED, |w| w.intent(intent));
        self.inner.on_refused(intent);
    }

    fn on_fill(&mut self, fill: &DeciderFill) {
        self.emit(TAG_FILL, |w| {
            w.bytes(&fill.order_id);
            w.u8(fill.strategy.index() as u8);
            w.u16(fill.fill.market.0);
            w.outcome(fill.fill.outcome);
            w.u8(side_code(fill.fill.side));
            w.i64(fill.fill.price_micro);
            w.i64(fill.fill.size_micro);
            w.i64(fill.fill.fee_micro);
            w.u64(fill.fill.now_ms);
        });
        self.inner.on_fill(fill);
    }

    fn on_closed(&mut self, order_id: &OrderId) {
        self.emit(TAG_CLOSED, |w| w.bytes(order_id));
        self.inner.on_closed(order_id);
    }

    fn figures(&self) -> Option<DeciderFigures> {
        self.inner.figures()
    }

    fn account(&self) -> Option<AccountView> {
        self.inner.account()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(i: u8) -> OrderIntent {
        OrderIntent {
            strategy: StrategyId::ALL[usize::from(i) % 5],
            reason: REASONS[usize::from(i) % REASONS.len()],
            market: MarketIdx(u16::from(i)),
            outcome: if i % 2 == 0 {
                Outcome::Up
            } else {
                Outcome::Down
            },
            side: if i % 3 == 0 { Side::Sell } else { Side::Buy },
            price_micro: 10_000 * i64::from(i + 1),
            size_micro: 5_000_000 + i64::from(i),
            tif: match i % 4 {
                0 => TimeInForce::Gtc,
                1 => TimeInForce::Gtd {
                    expiration_s: 1_800_000_000 + u64::from(i),
                },
                2 => TimeInForce::Fok,
                _ => TimeInForce::Fak,
            },
            post_only: i % 2 == 1,
            group: u32::from(i) * 7,
        }
    }

    fn encode(tag: u8, seq: u64, body: impl FnOnce(&mut Writer<'_>)) -> Vec<u8> {
        let mut buf = [0u8; ENTRY_MAX];
        let mut w = Writer::entry(&mut buf, tag, seq);
        body(&mut w);
        assert!(!w.overflow);
        let n = w.at;
        buf[..n].to_vec()
    }

    #[test]
    fn reason_codes_are_the_declaration_order() {
        for (i, r) in REASONS.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r:?}");
        }
    }

    #[test]
    fn every_entry_kind_round_trips() {
        let orders: Vec<OrderIntent> = (0..12).map(intent).collect();
        let cancels = vec![
            CancelIntent {
                strategy: StrategyId::MarketMaking,
                reason: Reason::MmPull,
                market: MarketIdx(3),
                outcome: None,
            },
            CancelIntent {
                strategy: StrategyId::Lag,
                reason: Reason::LagEdge,
                market: MarketIdx(4),
                outcome: Some(Outcome::Down),
            },
        ];
        let tick = TickEntry {
            market: MarketIdx(3),
            now_ms: 1_796_663_040_123,
            health: TickHealth {
                oracle_fresh: true,
                book_stale: false,
                book_age_ms: 17,
                oracle_age_ms: Some(900),
                available_collateral_micro: 987_654_321,
            },
            sellable_micro: [5_000_000, -1],
            risk: RiskView {
                killed: false,
                paused_until_ms: 42,
                size_mult_bps: 5_000,
            },
            orders: orders.clone(),
            cancels: cancels.clone(),
        };
        let bytes = encode(TAG_TICK, 7, |w| {
            w.u16(3);
            w.u64(tick.now_ms);
            w.u8(1);
            w.u8(0);
            w.u64(17);
            w.u8(1);
            w.u64(900);
            w.i64(987_654_321);
            w.i64(5_000_000);
            w.i64(-1);
            w.u8(0);
            w.u64(42);
            w.u32(5_000);
            w.u8(orders.len() as u8);
            w.u8(cancels.len() as u8);
            for o in &orders {
                w.intent(o);
            }
            for c in &cancels {
                w.cancel(c);
            }
        });
        assert_eq!(
            decode(&bytes).unwrap(),
            Numbered {
                seq: 7,
                entry: Entry::Tick(tick)
            }
        );
        let id: OrderId = [0xab; 32];
        let sent = encode(TAG_SENT, 8, |w| {
            w.bytes(&id);
            w.intent(&orders[5]);
        });
        assert_eq!(
            decode(&sent).unwrap().entry,
            Entry::Sent {
                order_id: id,
                intent: orders[5]
            }
        );
        let fill = DeciderFill {
            order_id: id,
            strategy: StrategyId::Momentum,
            fill: StrategyFill {
                market: MarketIdx(9),
                outcome: Outcome::Down,
                side: Side::Sell,
                price_micro: 430_000,
                size_micro: 6_000_000,
                fee_micro: 1_234,
                now_ms: 99,
            },
        };
        let fb = encode(TAG_FILL, 9, |w| {
            w.bytes(&id);
            w.u8(4);
            w.u16(9);
            w.outcome(Outcome::Down);
            w.u8(1);
            w.i64(430_000);
            w.i64(6_000_000);
            w.i64(1_234);
            w.u64(99);
        });
        assert_eq!(decode(&fb).unwrap().entry, Entry::Fill(fill));
        let res = encode(TAG_RESOLVED, 10, |w| {
            w.u16(2);
            w.outcome(Outcome::Up);
            w.opt_outcome(None);
        });
        assert_eq!(
            decode(&res).unwrap().entry,
            Entry::Resolved {
                market: MarketIdx(2),
                venue_winner: Outcome::Up,
                oracle_winner: None
            }
        );
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        assert_eq!(decode(&[]), Err(JournalError::Truncated));
        assert_eq!(
            decode(&[0xee, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(JournalError::Tag(0xee))
        );
        let good = encode(TAG_REFUSED, 1, |w| w.intent(&intent(3)));
        for n in 0..good.len() {
            assert_eq!(decode(&good[..n]), Err(JournalError::Truncated), "{n}");
        }
        let mut long = good.clone();
        long.push(0);
        assert_eq!(decode(&long), Err(JournalError::Trailing(1)));
        let mut bad_side = good.clone();
        bad_side[9 + 5] = 7;
        assert_eq!(decode(&bad_side), Err(JournalError::Value("side")));
        // Every byte value at every position decodes or errs; none panics.
        for i in 0..good.len() {
            for v in [0u8, 1, 2, 3, 4, 5, 11, 200, 255] {
                let mut b = good.clone();
                b[i] = v;
                let _ = decode(&b);
            }
        }
    }
}
