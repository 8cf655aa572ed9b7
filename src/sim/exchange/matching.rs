//! The per-market matching engine: one price-time-priority book in **Up-price space**, so the Up
//! and Down tokens of a market are one book (BUY Up p = bid p; SELL Up p = ask p; BUY Down p =
//! ask 1 − p; SELL Down p = bid 1 − p). A BUY Up crossing a BUY Down is a mint match, a SELL Up
//! crossing a SELL Down a merge; every fill executes at the resting (maker) order's price.
//!
//! Invariants: prices are integer milli (0..=1000, see `crowd::ONE`), sizes integer micro-shares;
//! within a level, orders fill in arrival order; a level's queue never holds an empty order; the
//! crowd's liquidity is ordinary resting orders of [`Party::Crowd`] (the crowd's own quotes may
//! cross each other during the opening phase — user orders never rest crossed with anything).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::sim::polymarket::crowd::{Book, Side, Token, ONE};

/// Micro-shares per centi-share (the crowd quotes in centi-shares).
pub const MICRO_PER_CENTI: u64 = 10_000;

/// Who owns a resting order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Party {
    /// The simulated crowd (no ledger; its liquidity follows `crowd.rs`).
    Crowd,
    /// A user order, by its order id (`0x` digest).
    User(Arc<str>),
}

/// A resting order in the book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resting {
    /// Arrival sequence (time priority).
    pub seq: u64,
    pub party: Party,
    pub token: Token,
    /// Side on its own token.
    pub side: Side,
    /// Unfilled micro-shares (> 0 while resting).
    pub remaining: u64,
}

/// One match of an incoming order against a resting one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// The resting order as it was before this fill (its `remaining` is the pre-fill size).
    pub maker: Resting,
    /// Execution price in Up space (the maker's price mapped to Up).
    pub up_price: u32,
    /// Micro-shares exchanged.
    pub shares: u64,
}

impl Fill {
    /// The execution price on `token`'s own scale.
    pub fn price_on(&self, token: Token) -> u32 {
        token_price(token, self.up_price)
    }
}

/// Which resting orders an incoming order may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MakerFilter {
    /// Every resting order (user takers).
    All,
    /// Only user orders (crowd quantity arriving through a requote).
    UsersOnly,
    /// Orders visible on `token`'s published book (crowd trade intents), see [`MarketBook::view`].
    VisibleOn { token: Token, mirrored: bool },
}

impl MakerFilter {
    fn admits(self, r: &Resting) -> bool {
        match self {
            MakerFilter::All => true,
            MakerFilter::UsersOnly => r.party != Party::Crowd,
            MakerFilter::VisibleOn { token, mirrored } => visible_on(r, token, mirrored),
        }
    }
}

/// Whether `r` shows on `token`'s published book: user orders show on both tokens; crowd orders
/// on both while the crowd is mirrored, else only on their own token.
pub fn visible_on(r: &Resting, token: Token, mirrored: bool) -> bool {
    r.party != Party::Crowd || mirrored || r.token == token
}

/// A token-side price mapped into Up space.
pub fn up_price(token: Token, price: u32) -> u32 {
    match token {
        Token::Up => price,
        Token::Down => ONE - price,
    }
}

/// An Up-space price on `token`'s own scale.
pub fn token_price(token: Token, up_price: u32) -> u32 {
    match token {
        Token::Up => up_price,
        Token::Down => ONE - up_price,
    }
}

/// The Up-space side (`Buy` = bid) of a `side` order on `token`.
pub fn up_side(token: Token, side: Side) -> Side {
    match (token, side) {
        (Token::Up, s) => s,
        (Token::Down, Side::Buy) => Side::Sell,
        (Token::Down, Side::Sell) => Side::Buy,
    }
}

/// One market's book.
#[derive(Debug, Default, Clone)]
pub struct MarketBook {
    bids: BTreeMap<u32, VecDeque<Resting>>,
    asks: BTreeMap<u32, VecDeque<Resting>>,
    next_seq: u64,
}

impl MarketBook {
    fn levels_mut(&mut self, up_side: Side) -> &mut BTreeMap<u32, VecDeque<Resting>> {
        match up_side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    fn levels(&self, up_side: Side) -> &BTreeMap<u32, VecDeque<Resting>> {
        match up_side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// Up-space prices of the opposite side that a `side` order on `token` at `limit` crosses,
    /// best first.
    fn crossing_prices(&self, token: Token, side: Side, limit: u32) -> Vec<u32> {
        let up_limit = up_price(token, limit);
        match up_side(token, side) {
            Side::Buy => self.asks.range(..=up_limit).map(|(p, _)| *p).collect(),
            Side::Sell => self.bids.range(up_limit..).rev().map(|(p, _)| *p).collect(),
        }
    }

    /// Micro-shares an order could fill right now (for FOK), counting only makers `filter` admits.
    pub fn fillable(&self, token: Token, side: Side, limit: u32, filter: MakerFilter) -> u64 {
        let opposite = opposite(up_side(token, side));
        self.crossing_prices(token, side, limit)
            .into_iter()
            .filter_map(|p| self.levels(opposite).get(&p))
            .flat_map(|q| q.iter())
            .filter(|r| filter.admits(r))
            .map(|r| r.remaining)
            .sum()
    }

    /// Whether an order would cross any resting order (post-only check).
    pub fn crosses(&self, token: Token, side: Side, limit: u32) -> bool {
        !self.crossing_prices(token, side, limit).is_empty()
    }

    /// Match an incoming order (up to `max_shares`) against the book, best price first, in time
    /// order within a level. Returns the fills; the incoming order is not rested.
    pub fn take(
        &mut self,
        token: Token,
        side: Side,
        limit: u32,
        max_shares: u64,
        filter: MakerFilter,
    ) -> Vec<Fill> {
        let mut fills = Vec::new();
        let mut want = max_shares;
        let opposite = opposite(up_side(token, side));
        for p in self.crossing_prices(token, side, limit) {
            if want == 0 {
                break;
            }
            let levels = self.levels_mut(opposite);
            let Some(queue) = levels.get_mut(&p) else {
                continue;
            };
            let mut i = 0;
            while i < queue.len() && want > 0 {
                if !filter.admits(&queue[i]) {
                    i += 1;
                    continue;
                }
                let n = want.min(queue[i].remaining);
                fills.push(Fill {
                    maker: queue[i].clone(),
                    up_price: p,
                    shares: n,
                });
                want -= n;
                queue[i].remaining -= n;
                if queue[i].remaining == 0 {
                    queue.remove(i);
                } else {
                    i += 1;
                }
            }
            if queue.is_empty() {
                levels.remove(&p);
            }
        }
        fills
    }

    /// Rest an order at the back of its level; returns its sequence number.
    pub fn rest(&mut self, party: Party, token: Token, side: Side, price: u32, shares: u64) -> u64 {
        self.next_seq += 1;
        let seq = self.next_seq;
        if shares > 0 {
            self.levels_mut(up_side(token, side))
                .entry(up_price(token, price))
                .or_default()
                .push_back(Resting {
                    seq,
                    party,
                    token,
                    side,
                    remaining: shares,
                });
        }
        seq
    }

    /// Remove the resting order `seq` of a `side` order on `token` at `price`.
    pub fn remove(&mut self, token: Token, side: Side, price: u32, seq: u64) -> Option<Resting> {
        let up = up_price(token, price);
        let levels = self.levels_mut(up_side(token, side));
        let queue = levels.get_mut(&up)?;
        let idx = queue.iter().position(|r| r.seq == seq)?;
        let r = queue.remove(idx);
        if queue.is_empty() {
            levels.remove(&up);
        }
        r
    }

    /// The resting order `seq`, if still in the book.
    pub fn get(&self, token: Token, side: Side, price: u32, seq: u64) -> Option<&Resting> {
        self.levels(up_side(token, side))
            .get(&up_price(token, price))?
            .iter()
            .find(|r| r.seq == seq)
    }

    /// Total crowd micro-shares of `side` orders on `token` at `price`.
    pub fn crowd_size(&self, token: Token, side: Side, price: u32) -> u64 {
        self.levels(up_side(token, side))
            .get(&up_price(token, price))
            .map(|q| {
                q.iter()
                    .filter(|r| r.party == Party::Crowd && r.token == token && r.side == side)
                    .map(|r| r.remaining)
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Shrink the crowd's `side` orders on `token` at `price` to `target` micro-shares, newest
    /// first (they lose their place last-in-first-out).
    pub fn shrink_crowd(&mut self, token: Token, side: Side, price: u32, target: u64) {
        let mut excess = self.crowd_size(token, side, price).saturating_sub(target);
        if excess == 0 {
            return;
        }
        let up = up_price(token, price);
        let levels = self.levels_mut(up_side(token, side));
        let Some(queue) = levels.get_mut(&up) else {
            return;
        };
        let mut i = queue.len();
        while i > 0 && excess > 0 {
            i -= 1;
            let r = &mut queue[i];
            if r.party == Party::Crowd && r.token == token && r.side == side {
                let cut = excess.min(r.remaining);
                r.remaining -= cut;
                excess -= cut;
                if r.remaining == 0 {
                    queue.remove(i);
                }
            }
        }
        if queue.is_empty() {
            levels.remove(&up);
        }
    }

    /// Every crowd level as `(token, side, price, micro-shares)`.
    pub fn crowd_levels(&self) -> Vec<(Token, Side, u32, u64)> {
        let mut agg: BTreeMap<(u8, u8, u32), u64> = BTreeMap::new();
        for (up, queue) in self.bids.iter().chain(self.asks.iter()) {
            for r in queue.iter().filter(|r| r.party == Party::Crowd) {
                let p = token_price(r.token, *up);
                *agg.entry((r.token as u8, side_u8(r.side), p)).or_default() += r.remaining;
            }
        }
        agg.into_iter()
            .map(|((t, s, p), n)| {
                (
                    if t == 0 { Token::Up } else { Token::Down },
                    if s == 0 { Side::Buy } else { Side::Sell },
                    p,
                    n,
                )
            })
            .collect()
    }

    /// The book as published for `token` (micro-share sizes): the orders [`visible_on`] it.
    pub fn view(&self, token: Token, mirrored: bool) -> Book {
        let mut book = Book::default();
        for (up_side_, levels) in [(Side::Buy, &self.bids), (Side::Sell, &self.asks)] {
            for (p, queue) in levels {
                let size: u64 = queue
                    .iter()
                    .filter(|r| visible_on(r, token, mirrored))
                    .map(|r| r.remaining)
                    .sum();
                if size == 0 {
                    continue;
                }
                let size = i64::try_from(size).unwrap_or(i64::MAX);
                match (token, up_side_) {
                    (Token::Up, Side::Buy) => book.bids.insert(*p, size),
                    (Token::Up, Side::Sell) => book.asks.insert(*p, size),
                    (Token::Down, Side::Buy) => book.asks.insert(ONE - p, size),
                    (Token::Down, Side::Sell) => book.bids.insert(ONE - p, size),
                };
            }
        }
        book
    }

    /// Every user order currently resting (order id, remaining).
    pub fn user_orders(&self) -> Vec<(Arc<str>, u64)> {
        self.bids
            .values()
            .chain(self.asks.values())
            .flat_map(|q| q.iter())
            .filter_map(|r| match &r.party {
                Party::User(id) => Some((id.clone(), r.remaining)),
                Party::Crowd => None,
            })
            .collect()
    }
}

fn side_u8(s: Side) -> u8 {
    match s {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// The other side.
pub fn opposite(s: Side) -> Side {
    match s {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> Party {
        Party::User(Arc::from(id))
    }

    #[test]
    fn price_time_priority_and_partial_fills() {
        let mut b = MarketBook::default();
        b.rest(user("a"), Token::Up, Side::Sell, 520, 10_000_000);
        b.rest(user("b"), Token::Up, Side::Sell, 510, 5_000_000);
        b.rest(user("c"), Token::Up, Side::Sell, 510, 5_000_000);
        // Best price first (510), then time (b before c), then 520.
        let fills = b.take(Token::Up, Side::Buy, 520, 12_000_000, MakerFilter::All);
        let got: Vec<(Party, u32, u64)> = fills
            .iter()
            .map(|f| (f.maker.party.clone(), f.up_price, f.shares))
            .collect();
        assert_eq!(
            got,
            vec![
                (user("b"), 510, 5_000_000),
                (user("c"), 510, 5_000_000),
                (user("a"), 520, 2_000_000)
            ]
        );
        // The partially filled order keeps its place with the rest.
        assert_eq!(b.view(Token::Up, true).asks.get(&520), Some(&8_000_000));
        // A limit below the best ask does not trade.
        assert!(b
            .take(Token::Up, Side::Buy, 510, 1_000_000, MakerFilter::All)
            .is_empty());
    }

    #[test]
    fn buy_up_and_buy_down_mint_and_views_mirror() {
        let mut b = MarketBook::default();
        // BUY Down at 0.45 rests as an Up-space ask at 0.55.
        b.rest(user("d"), Token::Down, Side::Buy, 450, 7_000_000);
        assert_eq!(b.view(Token::Up, true).asks.get(&550), Some(&7_000_000));
        assert_eq!(b.view(Token::Down, true).bids.get(&450), Some(&7_000_000));
        assert_eq!(b.view(Token::Down, true), b.view(Token::Up, true).mirror());
        assert!(b.crosses(Token::Up, Side::Buy, 550));
        assert!(!b.crosses(Token::Up, Side::Buy, 540));
        let fills = b.take(Token::Up, Side::Buy, 600, 3_000_000, MakerFilter::All);
        assert_eq!(fills.len(), 1);
        // Executed at the maker's price: Up pays 0.55, the Down buyer 0.45.
        assert_eq!(fills[0].price_on(Token::Up), 550);
        assert_eq!(fills[0].price_on(Token::Down), 450);
        assert_eq!(fills[0].maker.token, Token::Down);
        assert_eq!(b.view(Token::Up, true).asks.get(&550), Some(&4_000_000));
    }

    #[test]
    fn sell_down_against_sell_up_is_a_merge() {
        let mut b = MarketBook::default();
        b.rest(user("s"), Token::Up, Side::Sell, 600, 5_000_000);
        // SELL Down at 0.40 is an Up-space bid at 0.60: it crosses the Up ask at 0.60.
        assert_eq!(
            b.fillable(Token::Down, Side::Sell, 400, MakerFilter::All),
            5_000_000
        );
        let f = b.take(Token::Down, Side::Sell, 400, 9_000_000, MakerFilter::All);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].shares, 5_000_000);
        assert!(b.view(Token::Up, true).asks.is_empty());
    }

    #[test]
    fn crowd_visibility_and_filters() {
        let mut b = MarketBook::default();
        b.rest(Party::Crowd, Token::Down, Side::Sell, 470, 3_000_000);
        b.rest(user("u"), Token::Up, Side::Sell, 540, 2_000_000);
        // Unmirrored crowd orders show only on their own token.
        assert!(b.view(Token::Up, false).bids.is_empty());
        assert_eq!(b.view(Token::Down, false).asks.get(&470), Some(&3_000_000));
        assert_eq!(b.view(Token::Up, true).bids.get(&530), Some(&3_000_000));
        // Users-only matching skips crowd orders.
        assert_eq!(
            b.fillable(Token::Up, Side::Sell, 500, MakerFilter::UsersOnly),
            0
        );
        assert_eq!(
            b.fillable(Token::Up, Side::Sell, 500, MakerFilter::All),
            3_000_000
        );
        // Shrinking the crowd removes newest first.
        b.rest(Party::Crowd, Token::Down, Side::Sell, 470, 1_000_000);
        b.shrink_crowd(Token::Down, Side::Sell, 470, 3_500_000);
        assert_eq!(b.crowd_size(Token::Down, Side::Sell, 470), 3_500_000);
        assert_eq!(
            b.crowd_levels(),
            vec![(Token::Down, Side::Sell, 470, 3_500_000)]
        );
    }
}
