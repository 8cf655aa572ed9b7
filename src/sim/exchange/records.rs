//! The exchange's order and trade records and their wire JSON (REST `/data/*` objects and
//! user-channel `order` / `trade` events, protocol §3.1 and §5).
//!
//! Invariants: an order's `matched ≤ original`; `reserved` is what the ledger holds for its
//! unfilled rest (collateral for BUY, tokens for SELL) and is 0 once the order is no longer open;
//! a trade keeps the [`LedgerDelta`]s it applied so FAILED can revert them exactly.

use std::sync::Arc;

use serde_json::{json, Value};

use super::ledger::LedgerDelta;
use crate::exec::signing::order::OrderType;
use crate::sim::polymarket::crowd::{Side, Token};
use crate::sim::polymarket::px;

/// Order lifecycle status (wire names in [`OrderStatus::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Live,
    Delayed,
    Matched,
    Canceled,
    CanceledMarketResolved,
    CanceledExpired,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Live => "LIVE",
            OrderStatus::Delayed => "DELAYED",
            OrderStatus::Matched => "MATCHED",
            OrderStatus::Canceled => "CANCELED",
            OrderStatus::CanceledMarketResolved => "CANCELED_MARKET_RESOLVED",
            OrderStatus::CanceledExpired => "CANCELED_EXPIRED_ORDER",
        }
    }

    /// Still working (resting or waiting out the taker delay).
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::Live | OrderStatus::Delayed)
    }
}

/// Micro-units as a decimal string (`"12.5"`, `"0.11748"`).
pub fn micro_text(v: i64) -> String {
    let mut b = [0u8; 40];
    let n = crate::fixed::write_fixed(&mut b, v, 6).unwrap_or(0);
    String::from_utf8_lossy(&b[..n]).into_owned()
}

fn u(v: u64) -> String {
    micro_text(i64::try_from(v).unwrap_or(i64::MAX))
}

/// Outcome name of a token.
pub fn outcome(t: Token) -> &'static str {
    match t {
        Token::Up => "Up",
        Token::Down => "Down",
    }
}

/// One user order.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    /// `0x` order digest.
    pub id: Arc<str>,
    /// API key that placed it.
    pub owner: String,
    /// Funder address, lower-case `0x` hex (the ledger account).
    pub maker: String,
    pub condition_id: String,
    pub token_id: String,
    pub token: Token,
    pub side: Side,
    /// Limit price on its token, milli.
    pub price: u32,
    /// Micro-shares ordered / matched.
    pub original: u64,
    pub matched: u64,
    /// Collateral (BUY) of the whole order at its limit, micro.
    pub collateral: u64,
    pub order_type: OrderType,
    pub post_only: bool,
    /// Unix seconds, 0 = none.
    pub expiration: u64,
    pub status: OrderStatus,
    pub created_at_s: u64,
    pub trade_ids: Vec<String>,
    /// What the ledger reserves for the unfilled rest.
    pub reserved: i64,
    /// Book sequence while resting.
    pub seq: Option<u64>,
}

impl OrderRecord {
    /// Unfilled micro-shares.
    pub fn remaining(&self) -> u64 {
        // A market BUY may match more shares than its takerAmount (price improvement).
        self.original.saturating_sub(self.matched)
    }

    /// The reservation for `rem` unfilled shares: tokens for SELL; for BUY the order's collateral
    /// pro rata, rounded up (the whole order reserves exactly its makerAmount).
    pub fn reserve_for(&self, rem: u64) -> i64 {
        let v = match self.side {
            Side::Sell => u128::from(rem),
            Side::Buy => {
                let num = u128::from(rem) * u128::from(self.collateral);
                num.div_ceil(u128::from(self.original.max(1)))
            }
        };
        i64::try_from(v).unwrap_or(i64::MAX)
    }

    /// The REST order object (`GET /data/order/<id>`, `/data/orders` entries).
    pub fn to_json(&self) -> Value {
        json!({
            "id": &*self.id,
            "status": self.status.as_str(),
            "owner": self.owner,
            "maker_address": self.maker,
            "market": self.condition_id,
            "asset_id": self.token_id,
            "side": self.side.as_str(),
            "original_size": u(self.original),
            "size_matched": u(self.matched),
            "price": px(self.price),
            "outcome": outcome(self.token),
            "expiration": self.expiration.to_string(),
            "order_type": self.order_type.as_str(),
            "associate_trades": self.trade_ids,
            "created_at": self.created_at_s,
        })
    }

    /// A user-channel `order` event of `kind` (PLACEMENT / UPDATE / CANCELLATION).
    pub fn event(&self, kind: &str, now_ms: u64) -> Value {
        json!({
            "event_type": "order",
            "type": kind,
            "id": &*self.id,
            "owner": self.owner,
            "order_owner": self.owner,
            "maker_address": self.maker,
            "market": self.condition_id,
            "asset_id": self.token_id,
            "side": self.side.as_str(),
            "original_size": u(self.original),
            "size_matched": u(self.matched),
            "price": px(self.price),
            "outcome": outcome(self.token),
            "associate_trades": self.trade_ids,
            "order_type": self.order_type.as_str(),
            "status": self.status.as_str(),
            "expiration": self.expiration.to_string(),
            "created_at": self.created_at_s.to_string(),
            "timestamp": now_ms.to_string(),
        })
    }
}

/// Trade settlement status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeStatus {
    Matched,
    Mined,
    Confirmed,
    Retrying,
    Failed,
}

impl TradeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeStatus::Matched => "MATCHED",
            TradeStatus::Mined => "MINED",
            TradeStatus::Confirmed => "CONFIRMED",
            TradeStatus::Retrying => "RETRYING",
            TradeStatus::Failed => "FAILED",
        }
    }
}

/// One resting order's part of a trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakerLeg {
    /// Order id (`crowd` for crowd liquidity).
    pub order_id: String,
    /// API key (empty for the crowd).
    pub owner: String,
    pub maker_address: String,
    pub matched: u64,
    /// On the maker's token, milli.
    pub price: u32,
    pub token_id: String,
    pub token: Token,
    pub side: Side,
}

/// One trade: a taker's execution at one price level.
#[derive(Debug, Clone)]
pub struct TradeRecord {
    pub id: String,
    /// Taker order id (`crowd` when the crowd took).
    pub taker_order_id: String,
    /// Taker's API key (`None` for the crowd).
    pub taker_owner: Option<String>,
    pub taker_address: String,
    pub condition_id: String,
    pub token_id: String,
    pub token: Token,
    /// Taker side.
    pub side: Side,
    /// Micro-shares.
    pub size: u64,
    /// On the taker's token, milli.
    pub price: u32,
    pub status: TradeStatus,
    pub match_ms: u64,
    pub last_update_ms: u64,
    pub bucket_index: u32,
    pub fee_rate_bps: u64,
    pub makers: Vec<MakerLeg>,
    /// Ledger changes applied (reverted on FAILED).
    pub deltas: Vec<LedgerDelta>,
    /// Injected failure: goes RETRYING → FAILED.
    pub fails: bool,
}

impl TradeRecord {
    /// API keys that see this trade.
    pub fn owners(&self) -> Vec<String> {
        let mut v: Vec<String> = self.taker_owner.iter().cloned().collect();
        for m in &self.makers {
            if !m.owner.is_empty() && !v.contains(&m.owner) {
                v.push(m.owner.clone());
            }
        }
        v
    }

    /// The trade object as `owner` sees it (REST `/data/trades` entry and WS `trade` event body).
    pub fn to_json(&self, owner: &str) -> Value {
        let is_taker = self.taker_owner.as_deref() == Some(owner);
        let maker_orders: Vec<Value> = self
            .makers
            .iter()
            .map(|m| {
                json!({
                    "order_id": m.order_id,
                    "owner": m.owner,
                    "maker_address": m.maker_address,
                    "matched_amount": u(m.matched),
                    "price": px(m.price),
                    "fee_rate_bps": "0",
                    "asset_id": m.token_id,
                    "outcome": outcome(m.token),
                    "outcome_index": m.token as u8,
                    "side": m.side.as_str(),
                })
            })
            .collect();
        let maker_address = if is_taker {
            self.taker_address.clone()
        } else {
            self.makers
                .iter()
                .find(|m| m.owner == owner)
                .map(|m| m.maker_address.clone())
                .unwrap_or_default()
        };
        json!({
            "type": "TRADE",
            "id": self.id,
            "taker_order_id": self.taker_order_id,
            "market": self.condition_id,
            "asset_id": self.token_id,
            "side": self.side.as_str(),
            "size": u(self.size),
            "price": px(self.price),
            "fee_rate_bps": self.fee_rate_bps.to_string(),
            "status": self.status.as_str(),
            "match_time": (self.match_ms / 1000).to_string(),
            "matchtime": (self.match_ms / 1000).to_string(),
            "last_update": (self.last_update_ms / 1000).to_string(),
            "outcome": outcome(self.token),
            "bucket_index": self.bucket_index,
            "owner": owner,
            "trade_owner": owner,
            "maker_address": maker_address,
            "transaction_hash": format!("0x{:0>64}", &self.id.replace('-', "")),
            "trader_side": if is_taker { "TAKER" } else { "MAKER" },
            "maker_orders": maker_orders,
        })
    }

    /// The user-channel `trade` event for `owner`.
    pub fn event(&self, owner: &str, now_ms: u64) -> Value {
        let mut v = self.to_json(owner);
        v["event_type"] = json!("trade");
        v["timestamp"] = json!(now_ms.to_string());
        v
    }
}
