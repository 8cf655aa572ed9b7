//! The replay's venue: our orders in the simulator's matching engine
//! (`sim::exchange::matching::MarketBook`, one price-time book per market in Up-price space),
//! whose crowd liquidity is the recorded book, on the virtual clock with a fixed order latency.
//!
//! Model (docs/REPLAY.md):
//! * the crowd: the Up token's recorded book, reconciled into the matching book as resting
//!   orders of `Party::Crowd` whenever the recorded book changes — per level, by the change of
//!   its recorded size since the last reconcile: a shrink removes crowd quantity (newest first),
//!   a growth is new crowd quantity that first trades with our resting orders it crosses (we are
//!   the maker, at our price) and rests behind ours for the rest. The Down token's book mirrors
//!   the Up token's on the venue, so it is not added again (that would double the liquidity);
//! * an order decided at `t` reaches the book at `t + latency`, a cancel likewise;
//! * on arrival: funds for the whole order (BUY notional ≤ free collateral, SELL ≤ free
//!   tokens); post-only that would cross is refused; FOK needs its whole size crossable; the
//!   order takes crossing resting orders best price first, in time order, at the maker's price
//!   (a BUY Up against a BUY Down is a mint, as on the venue; our own resting orders can be the
//!   maker), paying the taker fee `s·rate·p(1−p)` (`taker_fee_units`: BUY withheld in tokens,
//!   SELL in collateral); FAK drops the rest, GTC/GTD rest at the back of their level;
//! * liquidity we took is gone from the crowd until its recorded level changes;
//! * at a market's resolution every open order is cancelled and each winning token pays 1.
//!
//! Invariants: integers only (micro-units; the matching book's prices are milli, so a price
//! that is not a whole milli is refused); deterministic (orders in id order, `BTreeMap`
//! balances, the matching book's own ordered maps); free collateral and tokens never go
//! negative — an order that would need more is refused whole.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::book::{BookSide, Level, TokenBook};
use crate::exec::orders::positions::notional_micros;
use crate::exec::orders::settlement::{taker_fee_units, FeeParams};
use crate::exec::signing::amounts::Side;
use crate::sim::exchange::matching::{Fill, MakerFilter, MarketBook, Party};
use crate::sim::polymarket::crowd::{Side as SimSide, Token as SimToken};
use crate::strategy::intent::{OrderIntent, TimeInForce};

/// Recorded levels reconciled per side.
const RECONCILE_LEVELS: usize = 256;
/// Micro-units per milli (the matching book's price unit).
const MICRO_PER_MILLI: i64 = 1_000;

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
    /// Its sequence in the matching book while resting.
    pub book_seq: Option<u64>,
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

/// Why an order ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Filled,
    Canceled,
    /// FOK not fillable whole / FAK remainder.
    Killed,
    RefusedFunds,
    RefusedTokens,
    RefusedPostOnly,
    /// Not a price the book can hold, or a market the venue does not know.
    RefusedPrice,
    /// The market resolved (or was retired) with the order open.
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
            EndReason::RefusedPrice => "refused-price",
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

/// One market: its tokens, its matching book and the recorded Up-token sizes last reconciled.
struct SimMarket {
    up: [u8; 32],
    down: [u8; 32],
    book: MarketBook,
    /// (0 bid / 1 ask, milli price) → recorded micro-shares.
    recorded: BTreeMap<(u8, u32), u64>,
}

/// Balances, markets and orders. See the module docs.
pub struct SimVenue {
    latency_ns: u64,
    /// Every order, by sequence (index = seq − 1).
    orders: Vec<SimOrder>,
    markets: Vec<SimMarket>,
    /// Collateral held (including what resting BUYs reserve).
    pub collateral_micro: i64,
    /// Reserved by resting BUYs.
    pub reserved_collateral_micro: i64,
    tokens: BTreeMap<[u8; 32], i64>,
    reserved_tokens: BTreeMap<[u8; 32], i64>,
    levels: Vec<Level>,
}

fn sim_side(s: Side) -> SimSide {
    match s {
        Side::Buy => SimSide::Buy,
        Side::Sell => SimSide::Sell,
    }
}

fn party_of(seq: u64) -> Party {
    Party::User(Arc::from(seq.to_string().as_str()))
}

fn seq_of(p: &Party) -> Option<u64> {
    match p {
        Party::User(id) => id.parse().ok(),
        Party::Crowd => None,
    }
}

impl SimVenue {
    pub fn new(collateral_micro: i64, latency_ns: u64) -> SimVenue {
        SimVenue {
            latency_ns,
            orders: Vec::new(),
            markets: Vec::new(),
            collateral_micro,
            reserved_collateral_micro: 0,
            tokens: BTreeMap::new(),
            reserved_tokens: BTreeMap::new(),
            levels: vec![
                Level {
                    price_micro: 0,
                    size_micro: 0,
                };
                RECONCILE_LEVELS
            ],
        }
    }

    /// A market the engine started tracking.
    pub fn add_market(&mut self, up: [u8; 32], down: [u8; 32]) {
        if self.markets.iter().any(|m| m.up == up) {
            return;
        }
        self.markets.push(SimMarket {
            up,
            down,
            book: MarketBook::default(),
            recorded: BTreeMap::new(),
        });
    }

    /// The market and which of its tokens `token` is.
    fn market_of(&self, token: &[u8; 32]) -> Option<(usize, SimToken)> {
        self.markets.iter().enumerate().find_map(|(i, m)| {
            if &m.up == token {
                Some((i, SimToken::Up))
            } else if &m.down == token {
                Some((i, SimToken::Down))
            } else {
                None
            }
        })
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
            book_seq: None,
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

    /// Process everything due at exactly `at_ns`: arrivals in sequence order, then cancels (a
    /// cancel due before its order arrives waits for the arrival).
    pub fn process_due(&mut self, at_ns: u64, out: &mut Vec<VenueEvent>) {
        for i in 0..self.orders.len() {
            let o = self.orders[i];
            if o.state == OrderState::InFlight && o.arrive_ns == at_ns {
                self.arrive(o.seq, out);
            }
        }
        for i in 0..self.orders.len() {
            let o = self.orders[i];
            if o.state == OrderState::Done || o.cancel_at_ns != Some(at_ns) {
                continue;
            }
            if o.state == OrderState::InFlight {
                if let Some(m) = self.order_mut(o.seq) {
                    m.cancel_at_ns = Some(o.arrive_ns);
                }
                continue;
            }
            self.end(o.seq, EndReason::Canceled, out);
        }
    }

    fn arrive(&mut self, seq: u64, out: &mut Vec<VenueEvent>) {
        let Some(o) = self.order(seq).copied() else {
            return;
        };
        out.push(VenueEvent::Arrived { seq });
        let intent = o.intent;
        let Some((m, token)) = self.market_of(&o.token) else {
            return self.end(seq, EndReason::RefusedPrice, out);
        };
        if intent.price_micro <= 0
            || intent.price_micro >= 1_000_000
            || intent.price_micro % MICRO_PER_MILLI != 0
        {
            return self.end(seq, EndReason::RefusedPrice, out);
        }
        let limit = (intent.price_micro / MICRO_PER_MILLI) as u32;
        match intent.side {
            Side::Buy => {
                let need = notional_micros(o.remaining_micro as u64, intent.price_micro as u64);
                if need as i64 > self.free_collateral() {
                    return self.end(seq, EndReason::RefusedFunds, out);
                }
            }
            Side::Sell => {
                if o.remaining_micro > self.free_tokens(&o.token) {
                    return self.end(seq, EndReason::RefusedTokens, out);
                }
            }
        }
        let side = sim_side(intent.side);
        let book = &self.markets[m].book;
        if intent.post_only && book.crosses(token, side, limit) {
            return self.end(seq, EndReason::RefusedPostOnly, out);
        }
        if matches!(intent.tif, TimeInForce::Fok)
            && book.fillable(token, side, limit, MakerFilter::All) < o.remaining_micro as u64
        {
            return self.end(seq, EndReason::Killed, out);
        }
        let fills = self.markets[m].book.take(
            token,
            side,
            limit,
            o.remaining_micro as u64,
            MakerFilter::All,
        );
        for f in &fills {
            self.book_fill(seq, token, f, out);
        }
        let Some(o) = self.order(seq).copied() else {
            return;
        };
        if o.remaining_micro == 0 {
            return self.end(seq, EndReason::Filled, out);
        }
        if matches!(intent.tif, TimeInForce::Fak | TimeInForce::Fok) {
            return self.end(seq, EndReason::Killed, out);
        }
        let book_seq =
            self.markets[m]
                .book
                .rest(party_of(seq), token, side, limit, o.remaining_micro as u64);
        if let Some(x) = self.order_mut(seq) {
            x.book_seq = Some(book_seq);
            x.state = OrderState::Resting;
        }
        self.reserve(seq);
    }

    /// One match of our incoming order `seq` (the taker): our taker fill, and the maker's fill
    /// when the maker is one of ours.
    fn book_fill(&mut self, seq: u64, token: SimToken, f: &Fill, out: &mut Vec<VenueEvent>) {
        let price = i64::from(f.price_on(token)) * MICRO_PER_MILLI;
        self.settle_fill(seq, price, f.shares as i64, true, out);
        if let Some(maker) = seq_of(&f.maker.party) {
            let maker_price = i64::from(f.price_on(f.maker.token)) * MICRO_PER_MILLI;
            self.settle_fill(maker, maker_price, f.shares as i64, false, out);
            if self.order(maker).is_some_and(|o| o.remaining_micro == 0) {
                if let Some(m) = self.order_mut(maker) {
                    // Already out of the matching book.
                    m.book_seq = None;
                }
                self.end(maker, EndReason::Filled, out);
            }
        }
    }

    fn reserve(&mut self, seq: u64) {
        let Some(o) = self.order(seq).copied() else {
            return;
        };
        let want = if o.state == OrderState::Resting {
            match o.intent.side {
                Side::Buy => {
                    notional_micros(o.remaining_micro as u64, o.intent.price_micro.max(0) as u64)
                        as i64
                }
                Side::Sell => o.remaining_micro,
            }
        } else {
            0
        };
        match o.intent.side {
            Side::Buy => self.reserved_collateral_micro += want - o.reserved,
            Side::Sell => *self.reserved_tokens.entry(o.token).or_insert(0) += want - o.reserved,
        }
        if let Some(m) = self.order_mut(seq) {
            m.reserved = want;
        }
    }

    fn end(&mut self, seq: u64, reason: EndReason, out: &mut Vec<VenueEvent>) {
        let Some(o) = self.order(seq).copied() else {
            return;
        };
        if let (Some(book_seq), Some((m, token))) = (o.book_seq, self.market_of(&o.token)) {
            let limit = (o.intent.price_micro / MICRO_PER_MILLI) as u32;
            self.markets[m]
                .book
                .remove(token, sim_side(o.intent.side), limit, book_seq);
        }
        if let Some(x) = self.order_mut(seq) {
            x.state = OrderState::Done;
            x.cancel_at_ns = None;
            x.book_seq = None;
        }
        self.reserve(seq);
        out.push(VenueEvent::Ended { seq, reason });
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
        // A resting order's reservation shrinks with its remainder.
        self.reserve(seq);
        out.push(VenueEvent::Fill(SimFill {
            seq,
            price_micro: price,
            size_micro: size,
            fee_units,
            taker,
        }));
    }

    /// The recorded book of `token` changed. For a market's Up token, its levels are
    /// reconciled into the crowd (see the module docs); new crowd quantity that crosses our
    /// resting orders fills them.
    pub fn on_book(&mut self, token: &[u8; 32], book: &TokenBook, out: &mut Vec<VenueEvent>) {
        let Some((m, SimToken::Up)) = self.market_of(token) else {
            return;
        };
        let mut now: BTreeMap<(u8, u32), u64> = BTreeMap::new();
        let mut levels = std::mem::take(&mut self.levels);
        for (k, side) in [(0u8, BookSide::Bid), (1u8, BookSide::Ask)] {
            let n = book.top_levels(side, &mut levels);
            for l in levels.iter().take(n) {
                if l.price_micro > 0
                    && l.price_micro < 1_000_000
                    && l.price_micro % MICRO_PER_MILLI == 0
                    && l.size_micro > 0
                {
                    now.insert(
                        (k, (l.price_micro / MICRO_PER_MILLI) as u32),
                        l.size_micro as u64,
                    );
                }
            }
        }
        self.levels = levels;
        let old = std::mem::take(&mut self.markets[m].recorded);
        let keys: std::collections::BTreeSet<(u8, u32)> =
            old.keys().chain(now.keys()).copied().collect();
        for key in keys {
            let (was, is) = (
                old.get(&key).copied().unwrap_or(0),
                now.get(&key).copied().unwrap_or(0),
            );
            if was == is {
                continue;
            }
            let side = if key.0 == 0 {
                SimSide::Buy
            } else {
                SimSide::Sell
            };
            let price = key.1;
            if is < was {
                let book = &mut self.markets[m].book;
                let target = book
                    .crowd_size(SimToken::Up, side, price)
                    .saturating_sub(was - is);
                book.shrink_crowd(SimToken::Up, side, price, target);
                continue;
            }
            // New crowd quantity trades with our crossing resting orders first.
            let fills = self.markets[m].book.take(
                SimToken::Up,
                side,
                price,
                is - was,
                MakerFilter::UsersOnly,
            );
            let mut matched = 0u64;
            for f in &fills {
                matched += f.shares;
                let Some(ours) = seq_of(&f.maker.party) else {
                    continue;
                };
                let p = i64::from(f.price_on(f.maker.token)) * MICRO_PER_MILLI;
                self.settle_fill(ours, p, f.shares as i64, false, out);
                if self.order(ours).is_some_and(|o| o.remaining_micro == 0) {
                    if let Some(o) = self.order_mut(ours) {
                        o.book_seq = None;
                    }
                    self.end(ours, EndReason::Filled, out);
                }
            }
            let rest = (is - was).saturating_sub(matched);
            if rest > 0 {
                self.markets[m]
                    .book
                    .rest(Party::Crowd, SimToken::Up, side, price, rest);
            }
        }
        self.markets[m].recorded = now;
    }

    /// Cancel every open order of the market of `tokens` and forget its book (retired).
    pub fn cancel_tokens(&mut self, tokens: [[u8; 32]; 2], out: &mut Vec<VenueEvent>) {
        for i in 0..self.orders.len() {
            let o = self.orders[i];
            if o.state != OrderState::Done && tokens.contains(&o.token) {
                self.end(o.seq, EndReason::Canceled, out);
            }
        }
        self.markets.retain(|m| m.up != tokens[0]);
    }

    /// The market of `tokens` resolved: cancel its open orders, pay each winning token 1,
    /// forget its book. Returns the payout (micro).
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
        self.markets.retain(|m| m.up != tokens[0]);
        let won = self.tokens(&tokens[winner.min(1)]);
        for t in &tokens {
            self.tokens.remove(t);
            self.reserved_tokens.remove(t);
        }
        self.collateral_micro += won;
        won
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{MarketBooks, MarketIdx, Outcome, TickSize};
    use crate::strategy::intent::{Reason, StrategyId};

    const UP: [u8; 32] = [1; 32];
    const DOWN: [u8; 32] = [2; 32];
    const FEE: FeeParams = FeeParams {
        rate_micros: 72_000,
        exponent: 1,
    };
    const MS: u64 = 1_000_000;

    fn books() -> MarketBooks {
        let mut b = MarketBooks::with_capacity(1);
        let cond = format!("0x{}", "ab".repeat(32));
        b.add_market(&cond, "1", "2", TickSize::from_micro(10_000).unwrap())
            .unwrap();
        b
    }

    /// Set the Up book to `bids` / `asks` (price micro, shares).
    fn set_up(b: &mut MarketBooks, bids: &[(i64, i64)], asks: &[(i64, i64)]) {
        let (up, _) = MarketBooks::tokens_of(MarketIdx(0));
        b.begin_snapshot(up, None);
        for &(p, s) in bids {
            b.snapshot_level(up, BookSide::Bid, p, s * 1_000_000)
                .unwrap();
        }
        for &(p, s) in asks {
            b.snapshot_level(up, BookSide::Ask, p, s * 1_000_000)
                .unwrap();
        }
        b.finish_snapshot(up, 0, 0);
    }

    fn up_book(b: &MarketBooks) -> &TokenBook {
        b.book(MarketBooks::tokens_of(MarketIdx(0)).0).unwrap()
    }

    fn intent(outcome: Outcome, side: Side, px: i64, shares: i64, tif: TimeInForce) -> OrderIntent {
        OrderIntent {
            strategy: StrategyId::Arb,
            reason: Reason::ArbOpen,
            market: MarketIdx(0),
            outcome,
            side,
            price_micro: px,
            size_micro: shares * 1_000_000,
            tif,
            post_only: false,
            group: 0,
        }
    }

    fn venue(b: &MarketBooks) -> (SimVenue, Vec<VenueEvent>) {
        let mut v = SimVenue::new(1_000_000_000, 50 * MS);
        v.add_market(UP, DOWN);
        let mut out = Vec::new();
        v.on_book(&UP, up_book(b), &mut out);
        assert!(out.is_empty());
        (v, out)
    }

    fn place(v: &mut SimVenue, i: OrderIntent, at: u64, out: &mut Vec<VenueEvent>) -> u64 {
        let token = if i.outcome == Outcome::Up { UP } else { DOWN };
        let seq = v.submit(i, token, FEE, at);
        assert_eq!(v.next_due(at + 49 * MS), None, "not before the latency");
        let due = v.next_due(u64::MAX).unwrap();
        assert_eq!(due, at + 50 * MS);
        v.process_due(due, out);
        seq
    }

    fn fills(out: &[VenueEvent]) -> Vec<SimFill> {
        out.iter()
            .filter_map(|e| match e {
                VenueEvent::Fill(f) => Some(*f),
                _ => None,
            })
            .collect()
    }

    fn ended(out: &[VenueEvent], seq: u64) -> Option<EndReason> {
        out.iter().find_map(|e| match e {
            VenueEvent::Ended { seq: s, reason } if *s == seq => Some(*reason),
            _ => None,
        })
    }

    #[test]
    fn taker_buy_walks_the_recorded_asks_at_their_prices_with_the_fee_withheld() {
        let mut b = books();
        set_up(&mut b, &[(480_000, 100)], &[(500_000, 10), (510_000, 20)]);
        let (mut v, mut out) = venue(&b);
        let seq = place(
            &mut v,
            intent(Outcome::Up, Side::Buy, 510_000, 25, TimeInForce::Gtc),
            0,
            &mut out,
        );
        let f = fills(&out);
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].price_micro, f[0].size_micro, f[0].taker),
            (500_000, 10_000_000, true)
        );
        assert_eq!((f[1].price_micro, f[1].size_micro), (510_000, 15_000_000));
        // fee = s · 0.072 · p(1−p), in tokens for a BUY.
        assert_eq!(
            f[0].fee_units,
            taker_fee_units(Side::Buy, 10_000_000, 500_000, FEE) as i64
        );
        assert_eq!(ended(&out, seq), Some(EndReason::Filled));
        assert_eq!(v.collateral_micro, 1_000_000_000 - 5_000_000 - 7_650_000);
        assert_eq!(v.tokens(&UP), 25_000_000 - f[0].fee_units - f[1].fee_units);
        // Taken liquidity stays taken while the recorded level does not change...
        out.clear();
        v.on_book(&UP, up_book(&b), &mut out);
        let again = place(
            &mut v,
            intent(Outcome::Up, Side::Buy, 510_000, 10, TimeInForce::Fak),
            MS * 100,
            &mut out,
        );
        assert_eq!(
            fills(&out).iter().map(|f| f.size_micro).sum::<i64>(),
            5_000_000
        );
        assert_eq!(ended(&out, again), Some(EndReason::Killed));
        // ...and comes back by what the recorded level grew.
        set_up(&mut b, &[(480_000, 100)], &[(500_000, 10), (510_000, 26)]);
        out.clear();
        v.on_book(&UP, up_book(&b), &mut out);
        let third = place(
            &mut v,
            intent(Outcome::Up, Side::Buy, 510_000, 10, TimeInForce::Fak),
            MS * 200,
            &mut out,
        );
        assert_eq!(
            fills(&out).iter().map(|f| f.size_micro).sum::<i64>(),
            6_000_000
        );
        assert_eq!(ended(&out, third), Some(EndReason::Killed));
    }

    #[test]
    fn fok_post_only_and_funds_are_checked_on_arrival() {
        let mut b = books();
        set_up(&mut b, &[(480_000, 100)], &[(500_000, 10)]);
        let (mut v, mut out) = venue(&b);
        let fok = place(
            &mut v,
            intent(Outcome::Up, Side::Buy, 500_000, 11, TimeInForce::Fok),
            0,
            &mut out,
        );
        assert!(fills(&out).is_empty());
        assert_eq!(ended(&out, fok), Some(EndReason::Killed));
        let mut po = intent(Outcome::Up, Side::Buy, 500_000, 1, TimeInForce::Gtc);
        po.post_only = true;
        out.clear();
        let po = place(&mut v, po, MS, &mut out);
        assert_eq!(ended(&out, po), Some(EndReason::RefusedPostOnly));
        out.clear();
        let big = place(
            &mut v,
            intent(Outcome::Up, Side::Buy, 490_000, 3_000, TimeInForce::Gtc),
            2 * MS,
            &mut out,
        );
        assert_eq!(ended(&out, big), Some(EndReason::RefusedFunds));
        out.clear();
        let sell = place(
            &mut v,
            intent(Outcome::Down, Side::Sell, 500_000, 1, TimeInForce::Gtc),
            3 * MS,
            &mut out,
        );
        assert_eq!(ended(&out, sell), Some(EndReason::RefusedTokens));
        out.clear();
        let off = place(
            &mut v,
            intent(Outcome::Up, Side::Buy, 490_500, 1, TimeInForce::Gtc),
            4 * MS,
            &mut out,
        );
        assert_eq!(ended(&out, off), Some(EndReason::RefusedPrice));
        assert_eq!(v.collateral_micro, 1_000_000_000);
        assert_eq!(v.reserved_collateral_micro, 0);
    }

    #[test]
    fn a_resting_order_fills_as_maker_when_the_recorded_book_reaches_it() {
        let mut b = books();
        set_up(&mut b, &[(480_000, 100)], &[(520_000, 50)]);
        let (mut v, mut out) = venue(&b);
        // BUY Down at 0.50 rests as an Up-space ask at 0.50: nothing crosses it yet.
        let seq = place(
            &mut v,
            intent(Outcome::Down, Side::Buy, 500_000, 20, TimeInForce::Gtc),
            0,
            &mut out,
        );
        assert!(fills(&out).is_empty());
        assert_eq!(v.order(seq).unwrap().state, OrderState::Resting);
        assert_eq!(v.reserved_collateral_micro, 10_000_000);
        // The crowd bids 0.50 for Up (a mint with our BUY Down): 15 of it trades with us.
        set_up(&mut b, &[(500_000, 15), (480_000, 100)], &[(520_000, 50)]);
        out.clear();
        v.on_book(&UP, up_book(&b), &mut out);
        let f = fills(&out);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].seq, f[0].price_micro, f[0].size_micro, f[0].taker),
            (seq, 500_000, 15_000_000, false)
        );
        assert_eq!(f[0].fee_units, 0);
        assert_eq!(v.tokens(&DOWN), 15_000_000);
        assert_eq!(v.reserved_collateral_micro, 2_500_000);
        // A cancel takes the latency too; the rest is released.
        assert!(v.request_cancel(seq, MS));
        out.clear();
        v.process_due(51 * MS, &mut out);
        assert_eq!(ended(&out, seq), Some(EndReason::Canceled));
        assert_eq!(v.reserved_collateral_micro, 0);
        // Resolution: Down wins, 15 tokens pay 15.
        let before = v.collateral_micro;
        out.clear();
        assert_eq!(v.resolve([UP, DOWN], 1, &mut out), 15_000_000);
        assert_eq!(v.collateral_micro, before + 15_000_000);
        assert_eq!(v.tokens(&DOWN), 0);
    }

    #[test]
    fn a_cancel_reaches_the_book_after_the_latency() {
        let mut b = books();
        set_up(&mut b, &[(480_000, 100)], &[(520_000, 50)]);
        let (mut v, mut out) = venue(&b);
        let seq = v.submit(
            intent(Outcome::Up, Side::Buy, 490_000, 5, TimeInForce::Gtc),
            UP,
            FEE,
            0,
        );
        assert!(v.request_cancel(seq, 10 * MS));
        assert!(!v.request_cancel(seq, 11 * MS), "one cancel at a time");
        v.process_due(50 * MS, &mut out);
        assert_eq!(v.order(seq).unwrap().state, OrderState::Resting);
        v.process_due(v.next_due(u64::MAX).unwrap(), &mut out);
        assert_eq!(ended(&out, seq), Some(EndReason::Canceled));
        assert_eq!(v.next_due(u64::MAX), None);
    }
}
