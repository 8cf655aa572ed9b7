//! The CLOB market channel (`/ws/market`): client subscriptions by asset id, `book` snapshots on
//! subscribe, and the frames the world publishes — `price_change` (batched, both tokens in one
//! message), `last_trade_price` followed by `book` snapshots (sent as one JSON array),
//! `tick_size_change`, and, for `custom_feature_enabled` connections, `best_bid_ask`, `new_market`
//! and `market_resolved`.
//!
//! Hub stream keys: `a|<asset_id>` (book data of an asset), `cf|<asset_id>` (custom-feature events
//! of an asset), `cf|new_market` (listings). Snapshots are built under the state lock the world
//! publishes under, so a snapshot is followed by exactly the changes after it.

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{json, Value};
use sha3::{Digest, Keccak256};

use super::crowd::{Book, LevelChange, Side, Token};
use super::{iso8601, lock, px, sz6, MarketInfo, MarketState, SettlementRule, SharedState};
use crate::sim::ws_server::{ClientProtocol, FeedHub, Reply};

const NEW_MARKET_STREAM: &str = "cf|new_market";

fn data_key(asset: &str) -> String {
    format!("a|{asset}")
}

fn cf_key(asset: &str) -> String {
    format!("cf|{asset}")
}

/// The market channel's client protocol.
pub struct MarketChannel {
    state: SharedState,
}

impl MarketChannel {
    pub fn new(state: SharedState) -> Self {
        MarketChannel { state }
    }
}

impl ClientProtocol for MarketChannel {
    fn accepts(&self, path_and_query: &str) -> bool {
        path_and_query == "/ws/market" || path_and_query.starts_with("/ws/market?")
    }

    fn on_text(&self, text: &str, hub: &FeedHub, sub_id: u64) -> Vec<Reply> {
        if text.trim() == "PING" {
            return vec![Reply::Control("PONG".into())];
        }
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            return vec![Reply::Control("INVALID OPERATION".into())];
        };
        let assets: Vec<String> = msg
            .get("assets_ids")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let initial = msg.get("type").and_then(Value::as_str) == Some("market");
        let operation = msg.get("operation").and_then(Value::as_str);
        let custom = msg.get("custom_feature_enabled").and_then(Value::as_bool);
        let st = lock(&self.state);
        match (initial, operation) {
            (true, _) | (false, Some("subscribe")) => {
                let had_custom = hub
                    .streams_of(sub_id)
                    .iter()
                    .any(|s| s == NEW_MARKET_STREAM);
                let custom = custom.unwrap_or(had_custom);
                if custom && !had_custom {
                    hub.add_streams(sub_id, &[NEW_MARKET_STREAM.to_string()]);
                }
                let mut keys: Vec<String> = assets.iter().map(|a| data_key(a)).collect();
                if custom {
                    keys.extend(assets.iter().map(|a| cf_key(a)));
                }
                let added = hub.add_streams(sub_id, &keys);
                let books: Vec<Value> = assets
                    .iter()
                    .filter(|a| added.contains(&data_key(a)))
                    .filter_map(|a| st.by_token(a))
                    .map(|(m, t)| book_event(m, t, st.now_ms))
                    .collect();
                if books.is_empty() {
                    Vec::new()
                } else {
                    vec![Reply::Data(Value::Array(books).to_string())]
                }
            }
            (false, Some("unsubscribe")) => {
                let keys: Vec<String> = assets
                    .iter()
                    .flat_map(|a| [data_key(a), cf_key(a)])
                    .collect();
                hub.remove_streams(sub_id, &keys);
                Vec::new()
            }
            _ => vec![Reply::Control("INVALID OPERATION".into())],
        }
    }
}

/// A short content hash of a book (40 hex chars; the real venue uses SHA-1 of its JSON).
pub fn book_hash(market: &str, asset: &str, ts: u64, book: &Book) -> String {
    let mut h = Keccak256::new();
    h.update(market.as_bytes());
    h.update(asset.as_bytes());
    h.update(ts.to_le_bytes());
    for (p, s) in book.bids.iter().chain(book.asks.iter()) {
        h.update(p.to_le_bytes());
        h.update(s.to_le_bytes());
    }
    let d = h.finalize();
    let mut out = String::with_capacity(40);
    for b in &d[..20] {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Levels as the venue lists them: bids ascending and asks descending (best level last).
pub fn levels_json(book: &Book) -> (Value, Value) {
    let bids: Vec<Value> = book
        .bids
        .iter()
        .map(|(p, s)| json!({"price": px(*p), "size": sz6(*s)}))
        .collect();
    let asks: Vec<Value> = book
        .asks
        .iter()
        .rev()
        .map(|(p, s)| json!({"price": px(*p), "size": sz6(*s)}))
        .collect();
    (Value::Array(bids), Value::Array(asks))
}

/// A `book` event for one token of `m` (its published view: crowd and user orders).
pub fn book_event(m: &MarketState, token: Token, now_ms: u64) -> Value {
    let asset = &m.info.token_ids[token as usize];
    let book = &m.view[token as usize];
    let (bids, asks) = levels_json(book);
    let mut v = json!({
        "event_type": "book",
        "asset_id": asset,
        "market": m.info.condition_id,
        "bids": bids,
        "asks": asks,
        "timestamp": now_ms.to_string(),
        "hash": book_hash(&m.info.condition_id, asset, now_ms, book),
        "tick_size": px(m.crowd.tick()),
        "min_order_size": "5",
        "neg_risk": false,
    });
    if let Some((p, _)) = m.last_trade {
        let p = if token == Token::Up {
            p
        } else {
            super::crowd::ONE - p
        };
        v["last_trade_price"] = Value::String(px(p));
    }
    v
}

fn publish(hub: &FeedHub, keys: &[String], v: &Value) {
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    hub.publish_any(&refs, Arc::from(v.to_string().into_bytes()));
}

fn both_data_keys(info: &MarketInfo) -> [String; 2] {
    [data_key(&info.token_ids[0]), data_key(&info.token_ids[1])]
}

/// One `price_change` frame carrying every level change of a step, with its keys in the
/// venue's own order (`market`, `price_changes[{asset_id, price, size, side, hash, best_bid,
/// best_ask}]`, `timestamp`, `event_type`; protocol notes §4, as in captured frames), not the
/// alphabetical order a `serde_json::Value` would print.
pub fn publish_price_changes(hub: &FeedHub, m: &MarketState, changes: &[LevelChange], now_ms: u64) {
    let hashes = [Token::Up, Token::Down].map(|t| {
        book_hash(
            &m.info.condition_id,
            &m.info.token_ids[t as usize],
            now_ms,
            &m.view[t as usize],
        )
    });
    let text = |s: &str| Value::from(s).to_string();
    let entries: Vec<String> = changes
        .iter()
        .map(|c| {
            format!(
                r#"{{"asset_id":{},"price":{},"size":{},"side":{},"hash":{},"best_bid":{},"best_ask":{}}}"#,
                text(&m.info.token_ids[c.token as usize]),
                text(&px(c.price)),
                text(&sz6(c.size)),
                text(c.side.as_str()),
                text(&hashes[c.token as usize]),
                text(&px(c.best_bid)),
                text(&px(c.best_ask)),
            )
        })
        .collect();
    let frame = format!(
        r#"{{"market":{},"price_changes":[{}],"timestamp":{},"event_type":"price_change"}}"#,
        text(&m.info.condition_id),
        entries.join(","),
        text(&now_ms.to_string()),
    );
    let keys = both_data_keys(&m.info);
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    hub.publish_any(&refs, Arc::from(frame.into_bytes()));
}

/// A trade print (`size` in micro-shares): `last_trade_price` then both tokens' `book`
/// snapshots as one JSON array frame.
pub fn publish_trade(
    hub: &FeedHub,
    m: &MarketState,
    token: Token,
    taker_side: Side,
    price: u32,
    size: u64,
    now_ms: u64,
) {
    let asset = &m.info.token_ids[token as usize];
    let fee_bps = 1000; // legacy informational field, as observed on fee-charging markets
    let ltp = json!({
        "event_type": "last_trade_price",
        "asset_id": asset,
        "market": m.info.condition_id,
        "price": px(price),
        "size": sz6(i64::try_from(size).unwrap_or(i64::MAX)),
        "side": taker_side.as_str(),
        "fee_rate_bps": fee_bps.to_string(),
        "timestamp": now_ms.to_string(),
    });
    publish(hub, &[data_key(asset)], &ltp);
    let books = Value::Array(vec![
        book_event(m, Token::Up, now_ms),
        book_event(m, Token::Down, now_ms),
    ]);
    publish(hub, &both_data_keys(&m.info), &books);
}

/// `tick_size_change` for both tokens (the tick is per market).
pub fn publish_tick_change(hub: &FeedHub, info: &MarketInfo, old: u32, new: u32, now_ms: u64) {
    for asset in &info.token_ids {
        let v = json!({
            "event_type": "tick_size_change",
            "asset_id": asset,
            "market": info.condition_id,
            "old_tick_size": px(old),
            "new_tick_size": px(new),
            "timestamp": now_ms.to_string(),
        });
        publish(hub, &[data_key(asset)], &v);
    }
}

/// `best_bid_ask` (custom feature) for one token.
pub fn publish_best_bid_ask(
    hub: &FeedHub,
    m: &MarketState,
    token: Token,
    (bid, ask): (u32, u32),
    now_ms: u64,
) {
    let asset = &m.info.token_ids[token as usize];
    let v = json!({
        "event_type": "best_bid_ask",
        "market": m.info.condition_id,
        "asset_id": asset,
        "best_bid": px(bid),
        "best_ask": px(ask),
        "spread": px(ask.saturating_sub(bid)),
        "timestamp": now_ms.to_string(),
    });
    publish(hub, &[cf_key(asset)], &v);
}

/// Human title of a market (UTC; the venue uses US-Eastern time).
pub fn question(info: &MarketInfo) -> String {
    let name = match info.asset.as_str() {
        "btc" => "Bitcoin",
        "eth" => "Ethereum",
        "sol" => "Solana",
        "xrp" => "XRP",
        other => other,
    };
    format!(
        "{name} Up or Down - {} to {}",
        iso8601(info.start_s),
        iso8601(info.end_s)
    )
}

fn event_message(info: &MarketInfo) -> Value {
    json!({
        "id": info.event_id,
        "ticker": info.slug,
        "slug": info.slug,
        "title": question(info),
        "description": "",
    })
}

/// `new_market` (custom feature) when a window is listed.
pub fn publish_new_market(hub: &FeedHub, info: &MarketInfo, rule: SettlementRule, now_ms: u64) {
    let v = json!({
        "event_type": "new_market",
        "id": info.market_id,
        "market": info.condition_id,
        "question": question(info),
        "slug": info.slug,
        "description": super::http::description(info, rule),
        "assets_ids": info.token_ids,
        "outcomes": ["Up", "Down"],
        "event_message": event_message(info),
        "timestamp": now_ms.to_string(),
        "tags": ["crypto", "up-or-down"],
        "clob_token_ids": info.token_ids,
        "order_price_min_tick_size": "0.01",
        "taker_base_fee": "1000",
        "fees_enabled": true,
        "fee_schedule": {"exponent": 1, "rate": 0.072, "takerOnly": true, "rebateRate": 0.2},
    });
    hub.publish(NEW_MARKET_STREAM, Arc::from(v.to_string().into_bytes()));
}

/// `market_resolved` (custom feature) for both tokens' subscribers.
pub fn publish_resolved(hub: &FeedHub, m: &MarketState, now_ms: u64) {
    let Some(winner) = m.winner else {
        return;
    };
    let v = json!({
        "event_type": "market_resolved",
        "id": m.info.market_id,
        "market": m.info.condition_id,
        "assets_ids": m.info.token_ids,
        "winning_asset_id": m.info.token_ids[winner as usize],
        "winning_outcome": if winner == Token::Up { "Up" } else { "Down" },
        "event_message": event_message(&m.info),
        "timestamp": now_ms.to_string(),
        "tags": ["crypto", "up-or-down"],
    });
    publish(
        hub,
        &[cf_key(&m.info.token_ids[0]), cf_key(&m.info.token_ids[1])],
        &v,
    );
}
