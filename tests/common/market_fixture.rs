//! One BTC 5-minute market and Binance trades for the decision-path tests and benchmarks
//! without a network (`tests/engine_decision.rs`, `tests/brain_tick.rs`, `bench/decision.rs`,
//! each including this file by path): the token ids and condition id, its discovery record,
//! and a spot trade record.
#![allow(dead_code)]

use sattebaaz::config::{Asset, Window};
use sattebaaz::discovery::{MarketRecord, Settlement};
use sattebaaz::exec::signing::order::TokenId;
use sattebaaz::feeds::binance::{Asset as FeedAsset, Record, Side as TradeSide, Trade, Venue};

pub const UP: &str =
    "71321045679252212594626385532706912750332728571942532289631379312455583992563";
pub const DOWN: &str =
    "52114319501245915516055106046884209969926127482827954674443846427813813222426";
pub const MARKET: &str = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1";

/// The market's discovery record for the window `[start_s, end_s)` (cent tick, 5-share
/// minimum, the 0.072 taker fee, spot settlement).
pub fn record(start_s: u64, end_s: u64) -> MarketRecord {
    MarketRecord {
        idx: sattebaaz::discovery::MarketIdx(0),
        asset: Asset::Btc,
        window: Window::Min5,
        start_s,
        end_s,
        condition_id: [7; 32],
        up_token: *TokenId::parse(UP).unwrap().word(),
        down_token: *TokenId::parse(DOWN).unwrap().word(),
        tick_micros: 10_000,
        min_size_micros: 5_000_000,
        neg_risk: false,
        fee_rate_ppm: 72_000,
        fee_exponent: 1,
        fee_taker_only: true,
        settlement: Settlement::Point,
    }
}

/// A BTC spot trade of 0.006 BTC at `px` (1e-8) stamped `ts`, taker side `taker`.
pub fn trade(px: i64, ts: u64, id: u64, taker: TradeSide) -> Record {
    Record::Trade(Trade {
        asset: FeedAsset::Btc,
        venue: Venue::Spot,
        px,
        qty: 600_000,
        exch_ts_ms: ts,
        event_ts_ms: ts,
        recv_ns: 0,
        trade_id: id,
        taker_side: taker,
        is_market: true,
    })
}
