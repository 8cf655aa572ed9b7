//! The replay's venue: our orders against the recorded books as the crowd's liquidity, on the
//! virtual clock, with a fixed order latency.
//!
//! Model (docs/REPLAY.md):
//! * an order decided at `t` reaches the book at `t + latency`; a cancel likewise;
//! * on arrival, funds are checked (BUY: notional ≤ free collateral; SELL: tokens held) and the
//!   marketable part takes the recorded opposite levels of its own token at or better than its
//!   limit, level by level at the level's price (taker: fee `s·rate·p(1−p)` via
//!   `exec::orders::settlement::taker_fee_units`; a BUY's fee is withheld in tokens, a SELL's in
//!   collateral); post-only orders that would take are refused; FOK fills whole or not at all,
//!   FAK cancels the rest, GTC/GTD rest;
//! * a resting order fills (maker, at its own price, no fee) when the recorded opposite side
//!   reaches its price, up to the size shown there; queue position behind recorded orders at
//!   the same price is not modelled, so a resting order fills only when the book crosses it;
//! * liquidity we took is remembered per level (token, side, price) until the recorded size of
//!   that level changes, so the same shown size is never taken twice;
//! * at a market's resolution every open order is cancelled and each winning token pays
//!   1 collateral.
//!
//! Invariants: integers only (micro-units); deterministic (orders in id order, levels best
//! first, `BTreeMap` for balances); free collateral and tokens never go negative — an order
//! that would need more is refused whole.

use std::collections::BTreeMap;

use crate::book::{BookSide, Level, TokenBook};
use crate::exec::orders::positions::notional_micros;
use crate::exec::orders::settlement::{taker_fee_units, FeeParams};
use crate::exec::signing::amounts::Side;
use crate::strategy::intent::{OrderIntent, TimeInForce};

/// Levels of one side considered per match.
const MATCH_LEVELS: usize = 64;

/// Where an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Decided, not yet at the book.
    InFlight,
    /// Resting on the book.
    Resting,
    /// Filled, cancelled, killed or refused.
    Done,
}

/// One of our orders.
#[derive(Debug, Clone, Copy)]
pub struct SimOrder {
    /// Sequence number (log id).
    pub seq: u64,
    pub intent: OrderIntent,
    /// The token's 256-bit id.
    pub token: [u8; 32],
    /// When it reaches the book (virtual ns).
    pub arrive_ns: u64,
    pub state: OrderState,
    pub remaining_micro: i64,
    pub filled_micro: i64,
    /// A cancel reaches the book at this time.
    pub cancel_at_ns: Option<u64>,
    pub fee: FeeParams,
    /// Collateral (BUY) or tokens (SELL) held for the resting remainder.
    pub reserved: i64,
}

/// One fill of one of our orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimFill {
    pub seq: u64,
    pub price_micro: i64,
    pub size_micro: i64,
    /// Taker fee: tokens withheld (BUY) or collateral (SELL).
    pub fee_units: i64,
    pub taker: bool,
}

/// Why an order ended without (more) fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Filled,
    Canceled,
    /// FOK not fillable whole / FAK remainder.
    Killed,
    RefusedFunds,
    RefusedTokens,
    RefusedPostOnly,
    /// The market resolved with the order open.
    Resolved,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Filled => "filled",
            EndReason::Canceled => "canceled",
            EndReason::Killed => "killed",
            EndReason::RefusedFunds => "refused-funds",
            EndReason::RefusedTokens => "refused-tokens",
            EndReason::RefusedPostOnly => "refused-post-only",
            EndReason::Resolved => "canceled-at-resolution",
        }
    }
}

/// What happened to orders in one step (in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueEvent {
    Arrived { seq: u64 },
    Fill(SimFill),
    Ended { seq: u64, reason: EndReason },
}

#[derive(Debug, Clone, Copy)]
struct Taken {
    token: [u8; 32],
    side: BookSide,
    price: i64,
    seen_size: i64,
    taken: i64,
}

/// Balances and orders. See the module docs.
pub struct SimVenue {
    latency_ns: u64,
    /// Every order, by sequence (index = seq − 1).
    orders: Vec<SimOrder>,
    /// Collateral held (including what resting BUYs reserve).
    pub collateral_micro: i64,
    /// Reserved by resting BUYs.
    pub reserved_collateral_micro: i64,
    tokens: BTreeMap<[u8; 32], i64>,
    reserved_tokens: BTreeMap<[u8; 32], i64>,
    taken: Vec<Taken>,
    levels: Vec<Level>,
}

impl SimVenue {
    pub fn new(collateral_micro: i64, latency_ns: u64) -> SimVenue {
        SimVenue {
            latency_ns,
            orders: Vec::new(),
            collateral_micro,
            reserved_collateral_micro: 0,
            tokens: BTreeMap::new(),
            reserved_tokens: BTreeMap::new(),
            taken: Vec::new(),
            levels: vec![
                Level {
                    price_micro: 0,
                    size_micro: 0,
                };
                MATCH_LEVELS
            ],
        }
    }

    /// Free collateral (not reserved).
    pub fn free_collateral(&self) -> i64 {
        self.collateral_micro - self.reserved_collateral_micro
    }

    /// Tokens held and not reserved for resting SELLs.
    pub fn free_tokens(&self, token: &[u8; 32]) -> i64 {
        self.tokens.get(token).copied().unwrap_or(0)
            - self.reserved_tokens.get(token).copied().unwrap_or(0)
    }

    /// Tokens held.
    pub fn tokens(&self, token: &[u8; 32]) -> i64 {
        self.tokens.get(token).copied().unwrap_or(0)
    }

    pub fn order(&self, seq: u64) -> Option<&SimOrder> {
        self.orders.get(seq.checked_sub(1)? as usize)
    }

    fn order_mut(&mut self, seq: u64) -> Option<&mut SimOrder> {
        self.orders.get_mut(seq.checked_sub(1)? as usize)
    }

    /// Orders not done, in sequence order.
    pub fn open_orders(&self) -> impl Iterator<Item = &SimOrder> + '_ {
        self.orders.iter().filter(|o| o.state != OrderState::Done)
    }

    /// An order decided at `now_ns`: returns its sequence number.
    pub fn submit(
        &mut self,
        intent: OrderIntent,
        token: [u8; 32],
        fee: FeeParams,
        now_ns: u64,
    ) -> u64 {
        let seq = self.orders.len() as u64 + 1;
        self.orders.push(SimOrder {
            seq,
            intent,
            token,
            arrive_ns: now_ns.saturating_add(self.latency_ns),
            state: OrderState::InFlight,
            remaining_micro: intent.size_micro.max(0),
            filled_micro: 0,
            cancel_at_ns: None,
            fee,
            reserved: 0,
        });
        seq
    }

    /// Ask for `seq` to be cancelled (reaches the book after the latency). `false` when the
    /// order is done or a cancel is already on its way.
    pub fn request_cancel(&mut self, seq: u64, now_ns: u64) -> bool {
        let at = now_ns.saturating_add(self.latency_ns);
        match self.order_mut(seq) {
            Some(o) if o.state != OrderState::Done && o.cancel_at_ns.is_none() => {
                o.cancel_at_ns = Some(at);
                true
            }
            _ => false,
        }
    }

    /// The earliest pending arrival or cancel at or before `until_ns`.
    pub fn next_due(&self, until_ns: u64) -> Option<u64> {
        self.orders
            .iter()
            .filter(|o| o.state != OrderState::Done)
            .flat_map(|o| {
                let arrive = (o.state == OrderState::InFlight).then_some(o.arrive_ns);
                [arrive, o.cancel_at_ns]
            })
            .flatten()
            .filter(|t| *t <= until_ns)
            .min()
    }

    /// Process everything due at exactly `at_ns` (arrivals first, in sequence order, then
    /// cancels). `book_of` gives the recorded book of a token.
    pub fn process_due<'b>(
        &mut self,
        at_ns: u64,
        book_of: &dyn Fn(&[u8; 32]) -> Option<&'b TokenBook>,
        out: &mut Vec<VenueEvent>,
    ) {
        for i in 0..self.orders.len() {
            let o = self.orders[i];
            if o.state == OrderState::InFlight && o.arrive_ns == at_ns {
                self.arrive(o.seq, book_of(&o.token), out);
            }
        }
        for i in 0..self.orders.len() {
            let o = self.orders[i];
            if o.state != OrderState::Done && o.cancel_at_ns == Some(at_ns) {
                if o.state == OrderState::InFlight {
                    // The cancel overtook nothing: it waits for the order to arrive.
                    if let Some(m) = self.order_mut(o.seq) {
                        m.cancel_at_ns = Some(o.arrive_ns);
                    }
                    continue;
                }
                self.end(o.seq, EndReason::Canceled, out);
            }
        }
    }

    fn arrive(&mut self, seq: u64, book: Option<&TokenBook>, out: &mut Vec<VenueEvent>) {
        let Some(o) = self.order(seq).copied() else {
            return;
        };
        out.push(VenueEvent::Arrived { seq });
        let intent = o.intent;
        let price = intent.price_micro;
        // Funds for the whole order, as the venue checks at placement.
        match intent.side {
            Side::Buy => {
                let need = notional_micros(o.remaining_micro as u64, price.max(0) as u64) as i64;
                if need > self.free_collateral() {
                    return self.end(seq, EndReason::RefusedFunds, out);
                }
            }
            Side::Sell => {
                if o.remaining_micro > self.free_tokens(&o.token) {
                    return self.end(seq, EndReason::RefusedTokens, out);
                }
            }
        }
        let opposite = match intent.side {
            Side::Buy => BookSide::Ask,
            Side::Sell => BookSide::Bid,
        };
        let fillable = book.map_or(0, |b| self.fillable(b, &o.token, opposite, price));
        let immediate = matches!(intent.tif, TimeInForce::Fak | TimeInForce::Fok);
        if fillable > 0 && intent.post_only {
            return self.end(seq, EndReason::RefusedPostOnly, out);
        }
        if matches!(intent.tif, TimeInForce::Fok) && fillable < o.remaining_micro {
            return self.end(seq, EndReason::Killed, out);
        }
        if fillable > 0 {
            if let Some(b) = book {
                self.take(seq, b, opposite, true, out);
            }
        }
        let Some(o) = self.order(seq).copied() else {
            return;
        };
        if o.remaining_micro == 0 {
            return self.end(seq, EndReason::Filled, out);
        }
        if immediate {
            return self.end(seq, EndReason::Killed, out);
        }
        self.rest(seq);
    }

    fn rest(&mut self, seq: u64) {
        let Some(o) = self.order(seq).copied() else {
            return;
        };
        let reserved = match o.intent.side {
            Side::Buy => {
                notional_micros(o.remaining_micro as u64, o.intent.price_micro.max(0) as u64) as i64
            }
            Side::Sell => o.remaining_micro,
        };
        match o.intent.side {
            Side::Buy => self.reserved_collateral_micro += reserved - o.reserved,
            Side::Sell => {
                *self.reserved_tokens.entry(o.token).or_insert(0) += reserved - o.reserved;
            }
        }
        if let Some(m) = self.order_mut(seq) {
            m.reserved = reserved;
            m.state = OrderState::Resting;
        }
    }

    fn release(&mut self, seq: u64) {
        let Some(o) = self.order(seq).copied() else {
            return;
        };
        match o.intent.side {
            Side::Buy => self.reserved_collateral_micro -= o.reserved,
            Side::Sell => {
                *self.reserved_tokens.entry(o.token).or_insert(0) -= o.reserved;
            }
        }
        if let Some(m) = self.order_mut(seq) {
            m.reserved = 0;
        }
    }

    fn end(&mut self, seq: u64, reason: EndReason, out: &mut Vec<VenueEvent>) {
        self.release(seq);
        if let Some(m) = self.order_mut(seq) {
            m.state = OrderState::Done;
            m.cancel_at_ns = None;
        }
        out.push(VenueEvent::Ended { seq, reason });
    }

    /// Shown size still available at `level` (what we took is subtracted until it changes).
    fn available(&mut self, token: &[u8; 32], side: BookSide, level: Level) -> i64 {
        match self
            .taken
            .iter_mut()
            .find(|t| &t.token == token && t.side == side && t.price == level.price_micro)
        {
            Some(t) => {
                if t.seen_size != level.size_micro {
                    t.seen_size = level.size_micro;
                    t.taken = 0;
                }
                (level.size_micro - t.taken).max(0)
            }
            None => level.size_micro.max(0),
        }
    }

    fn mark_taken(&mut self, token: &[u8; 32], side: BookSide, level: Level, n: i64) {
        match self
            .taken
            .iter_mut()
            .find(|t| &t.token == token && t.side == side && t.price == level.price_micro)
        {
            Some(t) => t.taken += n,
            None => self.taken.push(Taken {
                token: *token,
                side,
                price: level.price_micro,
                seen_size: level.size_micro,
                taken: n,
            }),
        }
    }

    fn crosses(side: BookSide, level_px: i64, limit: i64) -> bool {
        match side {
            // We buy from asks at or below our limit.
            BookSide::Ask => level_px <= limit,
            // We sell into bids at or above our limit.
            BookSide::Bid => level_px >= limit,
        }
    }

    /// Size available against `limit` on `side` of `book`.
    fn fillable(&mut self, book: &TokenBook, token: &[u8; 32], side: BookSide, limit: i64) -> i64 {
        let mut levels = std::mem::take(&mut self.levels);
        let n = book.top_levels(side, &mut levels);
        let mut total = 0;
        for l in levels.iter().take(n) {
            if !Self::crosses(side, l.price_micro, limit) {
                break;
            }
            total += self.available(token, side, *l);
        }
        self.levels = levels;
        total
    }

    /// Fill `seq` against `side` of `book`: as taker at each level's price, or as maker at the
    /// order's own price.
    fn take(
        &mut self,
        seq: u64,
        book: &TokenBook,
        side: BookSide,
        taker: bool,
        out: &mut Vec<VenueEvent>,
    ) {
        let mut levels = std::mem::take(&mut self.levels);
        let n = book.top_levels(side, &mut levels);
        for l in levels.iter().take(n).copied() {
            let Some(o) = self.order(seq).copied() else {
                break;
            };
            if o.remaining_micro == 0 || !Self::crosses(side, l.price_micro, o.intent.price_micro) {
                break;
            }
            let avail = self.available(&o.token, side, l);
            let size = avail.min(o.remaining_micro);
            if size <= 0 {
                continue;
            }
            self.mark_taken(&o.token, side, l, size);
            let price = if taker {
                l.price_micro
            } else {
                o.intent.price_micro
            };
            self.settle_fill(seq, price, size, taker, out);
        }
        self.levels = levels;
    }

    fn settle_fill(
        &mut self,
        seq: u64,
        price: i64,
        size: i64,
        taker: bool,
        out: &mut Vec<VenueEvent>,
    ) {
        let Some(o) = self.order(seq).copied() else {
            return;
        };
        let fee_units = if taker {
            taker_fee_units(o.intent.side, size as u64, price as u64, o.fee) as i64
        } else {
            0
        };
        // A resting order's reservation shrinks with its remainder.
        self.release(seq);
        match o.intent.side {
            Side::Buy => {
                self.collateral_micro -= notional_micros(size as u64, price as u64) as i64;
                *self.tokens.entry(o.token).or_insert(0) += size - fee_units.min(size);
            }
            Side::Sell => {
                *self.tokens.entry(o.token).or_insert(0) -= size;
                let proceeds = (i128::from(size) * i128::from(price) / 1_000_000) as i64;
                self.collateral_micro += proceeds - fee_units;
            }
        }
        if let Some(m) = self.order_mut(seq) {
            m.remaining_micro -= size;
            m.filled_micro += size;
        }
        if o.state == OrderState::Resting {
            self.rest(seq);
        }
        out.push(VenueEvent::Fill(SimFill {
            seq,
            price_micro: price,
            size_micro: size,
            fee_units,
            taker,
        }));
    }

    /// The recorded book of `token` changed: resting orders on it that the book now crosses
    /// fill as makers.
    pub fn on_book(&mut self, token: &[u8; 32], book: &TokenBook, out: &mut Vec<VenueEvent>) {
        for i in 0..self.orders.len() {
            let o = self.orders[i];
            if o.state != OrderState::Resting || &o.token != token {
                continue;
            }
            let side = match o.intent.side {
                Side::Buy => BookSide::Ask,
                Side::Sell => BookSide::Bid,
            };
            self.take(o.seq, book, side, false, out);
            if self.order(o.seq).is_some_and(|o| o.remaining_micro == 0) {
                self.end(o.seq, EndReason::Filled, out);
            }
        }
    }

    /// Cancel every open order on `tokens` (the market was retired).
    pub fn cancel_tokens(&mut self, tokens: [[u8; 32]; 2], out: &mut Vec<VenueEvent>) {
        for i in 0..self.orders.len() {
            let o = self.orders[i];
            if o.state != OrderState::Done && tokens.contains(&o.token) {
                self.end(o.seq, EndReason::Canceled, out);
            }
        }
    }

    /// The market of `tokens` resolved: cancel its open orders, pay each winning token 1.
    /// Returns the payout (micro).
    pub fn resolve(
        &mut self,
        tokens: [[u8; 32]; 2],
        winner: usize,
        out: &mut Vec<VenueEvent>,
    ) -> i64 {
        for i in 0..self.orders.len() {
            let o = self.orders[i];
            if o.state != OrderState::Done && tokens.contains(&o.token) {
                self.end(o.seq, EndReason::Resolved, out);
            }
        }
        let won = self.tokens(&tokens[winner.min(1)]);
        for t in &tokens {
            self.tokens.remove(t);
            self.reserved_tokens.remove(t);
        }
        self.collateral_micro += won;
        won
    }
}
