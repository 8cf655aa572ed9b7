//! The simulated CLOB V2 exchange: a drop-in paper venue behind the simulator's CLOB host that
//! answers orders, cancels, account queries, the user channel and the heartbeat switch exactly as
//! the protocol notes (§1–5, 8, 9) describe, and refuses every wrong order with the venue's
//! message.
//!
//! Parts: [`matching`] (one Up-space price-time book per market; the crowd's quotes are resting
//! orders of a crowd account), [`engine`] (placement, execution, settlement, cancels, timers, the
//! crowd's requotes and trades through the book), [`ledger`] (pUSD and token balances,
//! reservations, fees), [`fees`], [`validate`] (payload, EIP-712 signatures, price/size rules),
//! [`auth`] (L1/L2), [`routes`] (REST), [`user_ws`] (user channel), [`heartbeat`],
//! [`ratelimit`], [`faults`], [`records`] (order/trade objects), [`publish`] (market-channel
//! frames of the engine's book).
//!
//! Invariants: all exchange state lives in [`Exchange`] inside the Polymarket world's state and
//! changes only under its lock, the same lock market-channel snapshots are taken under; prices
//! are integer milli, sizes and money integer micro-units.

pub mod auth;
pub mod engine;
pub mod faults;
pub mod fees;
pub mod heartbeat;
pub mod ledger;
pub mod matching;
pub mod publish;
pub mod ratelimit;
pub mod records;
pub mod routes;
pub mod user_ws;
pub mod validate;

use std::collections::HashMap;
use std::sync::Arc;

use self::auth::KeyInfo;
use self::faults::ExchangeControl;
use self::heartbeat::Heartbeats;
use self::ledger::{Ledger, LedgerSnapshot};
use self::ratelimit::{BucketSpec, RateLimiter};
use self::records::{OrderRecord, TradeRecord};
use crate::sim::ws_server::FeedHub;

/// Exchange settings (all part of the simulator options).
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeOptions {
    /// pUSD every new account starts with, micro-units (default 10 000 pUSD).
    pub starting_collateral: i64,
    /// Marketable orders are held this long (`status: "delayed"`); 0 = immediate (default 50 ms
    /// like production crypto markets since 2026-08-17).
    pub taker_delay_ms: u64,
    /// MATCHED → MINED after this long.
    pub mined_delay_ms: u64,
    /// MINED → CONFIRMED after this long.
    pub confirmed_delay_ms: u64,
    /// Armed heartbeat switch fires after this long without a heartbeat.
    pub heartbeat_timeout_ms: u64,
    /// Per-signer order bucket (Standard tier: 40/s, burst 60).
    pub order_rate: BucketSpec,
    /// Per-signer cancel bucket (Standard tier: 80/s, burst 120).
    pub cancel_rate: BucketSpec,
    /// Accepted |POLY_TIMESTAMP − server time|, seconds.
    pub timestamp_tolerance_s: u64,
    /// Taker fee rate in millionths (0.072 → 72 000).
    pub fee_rate_ppm: u64,
    /// Page size of `/data/orders` and `/data/trades`.
    pub page_limit: usize,
}

impl Default for ExchangeOptions {
    fn default() -> Self {
        ExchangeOptions {
            starting_collateral: 10_000_000_000,
            taker_delay_ms: 50,
            mined_delay_ms: 2_000,
            confirmed_delay_ms: 4_000,
            heartbeat_timeout_ms: 10_000,
            order_rate: BucketSpec {
                rate_per_s: 40.0,
                burst: 60.0,
            },
            cancel_rate: BucketSpec {
                rate_per_s: 80.0,
                burst: 120.0,
            },
            timestamp_tolerance_s: 30,
            fee_rate_ppm: fees::DEFAULT_RATE_PPM,
            page_limit: 100,
        }
    }
}

/// The exchange's state (held in `PolyState`, under its lock).
pub struct Exchange {
    pub opts: ExchangeOptions,
    pub ledger: Ledger,
    /// API key → owner and credentials.
    pub keys: HashMap<String, KeyInfo>,
    /// Every order ever accepted, by id.
    pub orders: HashMap<Arc<str>, OrderRecord>,
    /// Order ids in acceptance order.
    pub order_list: Vec<Arc<str>>,
    /// Every trade involving a user, in match order.
    pub trades: Vec<TradeRecord>,
    /// Orders waiting out the taker delay: (id, due ms).
    pub delayed: Vec<(Arc<str>, u64)>,
    pub heartbeats: Heartbeats,
    pub limiter: RateLimiter,
    pub control: Arc<ExchangeControl>,
    /// API key → funder per signature type, learnt from orders (for `/balance-allowance`).
    pub funders: HashMap<(String, u8), String>,
    pub(crate) market_hub: Option<Arc<FeedHub>>,
    pub(crate) user_hub: Option<Arc<FeedHub>>,
    pub(crate) trade_counter: u64,
}

impl Exchange {
    pub fn new(opts: ExchangeOptions, control: Arc<ExchangeControl>) -> Self {
        Exchange {
            ledger: Ledger::new(opts.starting_collateral),
            limiter: RateLimiter::new(opts.order_rate, opts.cancel_rate),
            opts,
            keys: HashMap::new(),
            orders: HashMap::new(),
            order_list: Vec::new(),
            trades: Vec::new(),
            delayed: Vec::new(),
            heartbeats: Heartbeats::default(),
            control,
            funders: HashMap::new(),
            market_hub: None,
            user_hub: None,
            trade_counter: 0,
        }
    }

    /// Connect the market-channel and user-channel hubs (done once the services run).
    pub fn attach_hubs(&mut self, market: Arc<FeedHub>, user: Arc<FeedHub>) {
        self.market_hub = Some(market);
        self.user_hub = Some(user);
    }

    /// Balances, positions, reservations and fees of `address` (any case).
    pub fn ledger_snapshot(&self, address: &str) -> LedgerSnapshot {
        self.ledger.snapshot(address)
    }

    /// An order by id.
    pub fn order(&self, id: &str) -> Option<&OrderRecord> {
        self.orders.get(id)
    }

    /// A trade by id.
    pub fn trade(&self, id: &str) -> Option<&TradeRecord> {
        self.trades.iter().find(|t| t.id == id)
    }
}
