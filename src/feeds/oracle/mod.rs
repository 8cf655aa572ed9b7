//! Oracle monitor: the Chainlink settlement price as relayed by Polymarket RTDS
//! (`wss://ws-live-data.polymarket.com`, topics `crypto_prices_chainlink` and
//! `crypto_prices_twap_sixty`).
//!
//! * [`rtds`] writes subscribe/unsubscribe frames and parses inbound frames on reused simd-json
//!   buffers (allocation-free after construction).
//! * [`ring`] holds the per-second tick history of one topic of one asset (fixed memory,
//!   direct-mapped by observation second).
//! * [`windows`] reconstructs the price to beat and settles Up/Down windows from that history,
//!   failing closed when a needed tick is missing.
//! * [`monitor`] ties them together per asset: latest value, freshness, gaps, relay delay, lag
//!   and deviation versus Binance, counters.
//!
//! Invariants: prices are the exact `full_accuracy_value` integers (price × 1e18) held as
//! `i128`; a value only available as a JSON float is kept for monitoring but flagged inexact,
//! and no settlement decision is ever taken on an inexact value. Times are Unix ms / s.

pub mod monitor;
pub mod ring;
pub mod rtds;
pub mod windows;

pub use monitor::{
    DelayStats, LatestTick, OracleConfig, OracleCounters, OracleMonitor, OracleUpdate, TopicState,
};
pub use ring::{GapStats, TickRing, RING_SECONDS};
pub use rtds::{OracleError, OracleErrorKind, OracleTopic, RtdsParser, SubAction};
pub use windows::{BoundaryValue, Missing, Outcome, Settlement, SettlementRule, Window};

use super::binance::records::Asset;

/// Fixed-point scale of every oracle price: the value × 10^18.
pub const E18: i128 = 1_000_000_000_000_000_000;

/// The RTDS Chainlink symbol of an asset (`btc/usd`).
pub const fn chainlink_symbol(asset: Asset) -> &'static str {
    match asset {
        Asset::Btc => "btc/usd",
        Asset::Eth => "eth/usd",
        Asset::Sol => "sol/usd",
        Asset::Xrp => "xrp/usd",
    }
}

/// Asset of an RTDS Chainlink symbol, case-insensitive (`btc/usd`, `BTC/USD`).
pub fn asset_from_chainlink_symbol(sym: &[u8]) -> Option<Asset> {
    Asset::ALL
        .into_iter()
        .find(|a| chainlink_symbol(*a).as_bytes().eq_ignore_ascii_case(sym))
}
