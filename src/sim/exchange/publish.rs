//! Market-channel publication of the engine's book: after any change (crowd requote, user
//! order, cancel, fill) the published per-token views are diffed against the last published ones
//! and sent as one `price_change` frame (decreases first, each entry carrying the best prices
//! after it), followed by each print's `last_trade_price` + `book` snapshots and `best_bid_ask`.
//!
//! Invariant: `MarketState::view` is always what subscribers have been told, so a snapshot taken
//! under the state lock plus the frames after it reproduce the book.

use super::matching::up_price;
use super::Exchange;
use crate::sim::polymarket::crowd::{Book, LevelChange, Side, Token};
use crate::sim::polymarket::{market_ws, MarketState};

/// One execution print (taker's token, side and price; micro-shares).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Print {
    pub token: Token,
    pub side: Side,
    pub price: u32,
    pub size: u64,
}

fn levels(b: &mut Book, side: Side) -> &mut std::collections::BTreeMap<u32, i64> {
    match side {
        Side::Buy => &mut b.bids,
        Side::Sell => &mut b.asks,
    }
}

/// The ordered level changes turning `old` into `new` for `token`.
pub fn diff(old: &Book, new: &Book, token: Token, out: &mut Vec<LevelChange>) {
    let mut work = old.clone();
    let mut decreases = Vec::new();
    let mut increases = Vec::new();
    for side in [Side::Buy, Side::Sell] {
        let (o, n) = match side {
            Side::Buy => (&old.bids, &new.bids),
            Side::Sell => (&old.asks, &new.asks),
        };
        for (p, s) in o {
            let ns = n.get(p).copied().unwrap_or(0);
            if ns < *s {
                decreases.push((side, *p, ns));
            }
        }
        for (p, ns) in n {
            if *ns > o.get(p).copied().unwrap_or(0) {
                increases.push((side, *p, *ns));
            }
        }
    }
    for (side, price, size) in decreases.into_iter().chain(increases) {
        if size <= 0 {
            levels(&mut work, side).remove(&price);
        } else {
            levels(&mut work, side).insert(price, size);
        }
        out.push(LevelChange {
            token,
            side,
            price,
            size: size.max(0),
            best_bid: work.best_bid().unwrap_or(0),
            best_ask: work.best_ask().unwrap_or(0),
        });
    }
}

/// Publish what changed in `m`'s book since the last publication, then `prints`.
pub fn publish_market(ex: &Exchange, m: &mut MarketState, prints: &[Print], now_ms: u64) {
    let mirrored = m.crowd.mirrored();
    let new = [
        m.book.view(Token::Up, mirrored),
        m.book.view(Token::Down, mirrored),
    ];
    let mut changes = Vec::new();
    diff(&m.view[0], &new[0], Token::Up, &mut changes);
    diff(&m.view[1], &new[1], Token::Down, &mut changes);
    m.view = new;
    for p in prints {
        m.last_trade = Some((up_price(p.token, p.price), p.side));
    }
    let Some(hub) = &ex.market_hub else {
        return;
    };
    if !changes.is_empty() {
        market_ws::publish_price_changes(hub, m, &changes, now_ms);
    }
    for p in prints {
        market_ws::publish_trade(hub, m, p.token, p.side, p.price, p.size, now_ms);
    }
    for token in [Token::Up, Token::Down] {
        let book = &m.view[token as usize];
        let top = (book.best_bid().unwrap_or(0), book.best_ask().unwrap_or(0));
        if top != m.last_top[token as usize] && top.0 != 0 && top.1 != 0 {
            m.last_top[token as usize] = top;
            market_ws::publish_best_bid_ask(hub, m, token, top, now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_replays_to_the_new_book_with_running_best_prices() {
        let mut old = Book::default();
        old.bids.insert(480, 10);
        old.asks.insert(500, 10);
        let mut new = Book::default();
        new.bids.insert(490, 5);
        new.asks.insert(500, 3);
        new.asks.insert(510, 7);
        let mut ch = Vec::new();
        diff(&old, &new, Token::Up, &mut ch);
        let mut replay = old.clone();
        for c in &ch {
            replay.set(c.side, c.price, c.size);
            assert_eq!(replay.best_bid().unwrap_or(0), c.best_bid);
            assert_eq!(replay.best_ask().unwrap_or(0), c.best_ask);
        }
        assert_eq!(replay, new);
        // Decreases come first.
        assert!(ch[0].size < 10 && ch[1].size < 10);
    }
}
