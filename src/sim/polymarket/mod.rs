//! The simulated Polymarket: Up/Down markets on a window grid, their crowds' order books, a
//! Chainlink-like oracle, and the services that expose them in the real wire formats — the CLOB
//! market channel ([`market_ws`]), RTDS ([`rtds`]), and Gamma + CLOB REST ([`http`]).
//!
//! Invariants: the world is a pure function of the seed and the wall clock's window grid (token
//! ids, condition ids and every random draw derive from the seed and the slug); every price is an
//! integer on the tick grid; the shared [`PolyState`] lock is held while a change is applied *and*
//! published, and while a subscriber's snapshot is taken, so snapshots and updates never disagree.
//! Each window's price to beat is the settlement reference (spot or 60 s TWAP, per
//! [`SettlementRule`]) at its start second; it resolves Up iff the reference at its end second is
//! ≥ the price to beat.

pub mod crowd;
pub mod http;
pub mod market_ws;
pub mod oracle;
pub mod rtds;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

use sha3::{Digest, Keccak256};

use self::crowd::{Book, Crowd, CrowdInputs, CrowdOutput, Phase, Token};
use self::oracle::{AssetOracle, Observation};
use super::price::AssetSpec;
use super::ws_server::FeedHub;
use crate::fixed::write_fixed;
use crate::sim::exchange::matching::MarketBook;
use crate::sim::exchange::{
    engine as exchange_engine, publish as exchange_publish, Exchange, ExchangeOptions,
};

/// Length class of a market window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    Min5,
    Min15,
}

impl WindowKind {
    /// Slug label (`5m`).
    pub fn label(self) -> &'static str {
        match self {
            WindowKind::Min5 => "5m",
            WindowKind::Min15 => "15m",
        }
    }

    /// Real length in seconds.
    pub fn real_secs(self) -> u64 {
        match self {
            WindowKind::Min5 => 300,
            WindowKind::Min15 => 900,
        }
    }
}

/// Which oracle value settles a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettlementRule {
    /// The Chainlink spot stream (before 2026-08-07).
    ChainlinkSpot,
    /// The Chainlink 60 s TWAP (current rule).
    ChainlinkTwap60,
}

/// One simulated market type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketSpec {
    /// Lower-case asset (`btc`).
    pub asset: String,
    pub kind: WindowKind,
}

/// What the Polymarket side simulates.
#[derive(Debug, Clone)]
pub struct PolySimOptions {
    /// Market types; empty = BTC 5m and 15m plus 15m for every other simulated asset.
    pub markets: Vec<MarketSpec>,
    /// Window length for every market type instead of the real 300/900 s.
    pub window_secs_override: Option<u64>,
    pub settlement: SettlementRule,
    /// Chance an oracle second is missing from the RTDS relay (real: 2–9%).
    pub rtds_gap_prob: f64,
    /// Delay from a window's end to its `market_resolved`.
    pub resolve_delay_ms: u64,
    /// The simulated exchange's settings (balances, delays, limits, tolerances).
    pub exchange: ExchangeOptions,
}

impl Default for PolySimOptions {
    fn default() -> Self {
        PolySimOptions {
            markets: Vec::new(),
            window_secs_override: None,
            settlement: SettlementRule::ChainlinkTwap60,
            rtds_gap_prob: 0.02,
            resolve_delay_ms: 2_000,
            exchange: ExchangeOptions::default(),
        }
    }
}

/// Static description of one listed market.
#[derive(Debug, Clone)]
pub struct MarketInfo {
    pub asset: String,
    pub kind: WindowKind,
    pub slug: String,
    /// Gamma market id (decimal string).
    pub market_id: String,
    /// Gamma event id (decimal string).
    pub event_id: String,
    /// `0x` + 64 hex.
    pub condition_id: String,
    /// `[Up, Down]` token ids (77-digit decimals).
    pub token_ids: [String; 2],
    /// Window start / end, unix seconds.
    pub start_s: u64,
    pub end_s: u64,
    /// When it was listed, unix ms.
    pub listed_ms: u64,
}

/// A listed market and its crowd.
pub struct MarketState {
    pub info: MarketInfo,
    pub crowd: Crowd,
    pub phase: Phase,
    /// Price to beat (E18), fixed when the window opens.
    pub strike_e18: Option<i128>,
    /// Settlement reference at the end (E18), fixed at resolution.
    pub final_e18: Option<i128>,
    /// Winning token once resolved.
    pub winner: Option<Token>,
    pub resolved_ms: Option<u64>,
    /// Last trade (price in milli expressed for the Up token, taker side).
    pub last_trade: Option<(u32, crowd::Side)>,
    /// Last top of book sent per token (for `best_bid_ask`).
    pub(crate) last_top: [(u32, u32); 2],
    /// The exchange's book of this market (crowd quotes and user orders, Up-price space).
    pub book: MarketBook,
    /// `[Up, Down]` books as last published (micro-share sizes).
    pub view: [Book; 2],
}

impl MarketState {
    /// A market in `phase` with an empty book and the crowd `crowd` (nothing published yet):
    /// for driving the exchange in process (`sim::exchange::engine`) without the world thread.
    pub fn new(info: MarketInfo, crowd: Crowd, phase: Phase) -> MarketState {
        MarketState {
            info,
            crowd,
            phase,
            strike_e18: None,
            final_e18: None,
            winner: None,
            resolved_ms: None,
            last_trade: None,
            last_top: [(0, 0); 2],
            book: MarketBook::default(),
            view: [Book::default(), Book::default()],
        }
    }

    /// The token index of `token_id` in this market.
    pub fn token_of(&self, token_id: &str) -> Option<Token> {
        if self.info.token_ids[0] == token_id {
            Some(Token::Up)
        } else if self.info.token_ids[1] == token_id {
            Some(Token::Down)
        } else {
            None
        }
    }
}

/// Everything services read; guarded by one lock that publishing also holds.
pub struct PolyState {
    pub markets: Vec<MarketState>,
    pub settlement: SettlementRule,
    /// Wall time of the last world step.
    pub now_ms: u64,
    /// The simulated exchange (orders, ledger, keys, trades).
    pub exchange: Exchange,
}

impl PolyState {
    /// The market holding `token_id`.
    pub fn by_token(&self, token_id: &str) -> Option<(&MarketState, Token)> {
        self.markets
            .iter()
            .find_map(|m| m.token_of(token_id).map(|t| (m, t)))
    }

    /// The market with `slug`.
    pub fn by_slug(&self, slug: &str) -> Option<&MarketState> {
        self.markets.iter().find(|m| m.info.slug == slug)
    }

    /// The market with `condition_id` (case-insensitive).
    pub fn by_condition(&self, condition_id: &str) -> Option<&MarketState> {
        self.markets
            .iter()
            .find(|m| m.info.condition_id.eq_ignore_ascii_case(condition_id))
    }
}

/// The shared state handle.
pub type SharedState = Arc<Mutex<PolyState>>;

/// Lock, recovering from poisoning (the simulator must keep serving).
pub fn lock(state: &Mutex<PolyState>) -> MutexGuard<'_, PolyState> {
    match state.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Which hubs Polymarket frames go to.
pub struct PolyHubs {
    pub market: Arc<FeedHub>,
    pub rtds: Arc<FeedHub>,
}

struct TypeState {
    spec: MarketSpec,
    asset: AssetSpec,
    window_s: u64,
}

/// The Polymarket side of the simulated world, advanced by the simulator's world thread.
pub struct PolyWorld {
    seed: u64,
    types: Vec<TypeState>,
    oracles: Vec<AssetOracle>,
    state: SharedState,
    hubs: PolyHubs,
    opts: PolySimOptions,
}

/// The market types simulated for `assets` when none are configured.
pub fn default_markets(assets: &[AssetSpec]) -> Vec<MarketSpec> {
    let mut out = Vec::new();
    for a in assets {
        if a.asset == "btc" {
            out.push(MarketSpec {
                asset: a.asset.into(),
                kind: WindowKind::Min5,
            });
        }
        out.push(MarketSpec {
            asset: a.asset.into(),
            kind: WindowKind::Min15,
        });
    }
    out
}

impl PolyWorld {
    /// A world for the simulated `assets` (the market types' assets must be among them).
    pub fn new(
        assets: &[AssetSpec],
        seed: u64,
        opts: PolySimOptions,
        state: SharedState,
        hubs: PolyHubs,
    ) -> Self {
        let specs = if opts.markets.is_empty() {
            default_markets(assets)
        } else {
            opts.markets.clone()
        };
        let types = specs
            .into_iter()
            .filter_map(|spec| {
                let asset = *assets.iter().find(|a| a.asset == spec.asset)?;
                let window_s = opts
                    .window_secs_override
                    .unwrap_or(spec.kind.real_secs())
                    .max(2);
                Some(TypeState {
                    spec,
                    asset,
                    window_s,
                })
            })
            .collect();
        let oracles = assets
            .iter()
            .enumerate()
            .map(|(i, a)| {
                AssetOracle::new(
                    a.asset,
                    seed ^ 0x6f72_6163_6c65 ^ (i as u64) << 48,
                    opts.rtds_gap_prob,
                )
            })
            .collect();
        PolyWorld {
            seed,
            types,
            oracles,
            state,
            hubs,
            opts,
        }
    }

    /// Advance to simulation time `t_s` / wall time `now_ms`; `price_of` gives each asset's
    /// simulated price.
    pub fn advance(&mut self, t_s: f64, now_ms: u64, price_of: impl Fn(&str) -> Option<f64>) {
        // Oracle observations and their delayed relay.
        for o in &mut self.oracles {
            if let Some(px) = price_of(&o.asset) {
                o.observe(now_ms, px);
            }
            for r in o.due(now_ms) {
                rtds::publish_observation(&self.hubs.rtds, &o.symbol, &r.obs, now_ms);
            }
        }
        let mut st = lock(&self.state);
        st.now_ms = now_ms;
        let now_s = now_ms / 1000;
        // Listing: the current and the next window of every type.
        for ty in &self.types {
            let cur = now_s / ty.window_s * ty.window_s;
            for start in [cur, cur + ty.window_s] {
                let slug = format!("{}-updown-{}-{start}", ty.spec.asset, ty.spec.kind.label());
                if st.by_slug(&slug).is_some() {
                    continue;
                }
                let info = market_info(self.seed, &ty.spec, &slug, start, ty.window_s, now_ms);
                let crowd = Crowd::new(seed_for(self.seed, &slug));
                market_ws::publish_new_market(&self.hubs.market, &info, st.settlement, now_ms);
                st.markets.push(MarketState {
                    info,
                    crowd,
                    phase: Phase::PreOpen,
                    strike_e18: None,
                    final_e18: None,
                    winner: None,
                    resolved_ms: None,
                    last_trade: None,
                    last_top: [(0, 0); 2],
                    book: MarketBook::default(),
                    view: [Book::default(), Book::default()],
                });
            }
        }
        let settlement = st.settlement;
        let PolyState {
            markets, exchange, ..
        } = &mut *st;
        for m in markets.iter_mut() {
            let Some(ty) = self.types.iter().find(|t| {
                t.spec
                    == MarketSpec {
                        asset: m.info.asset.clone(),
                        kind: m.info.kind,
                    }
            }) else {
                continue;
            };
            let Some(oracle) = self.oracles.iter().find(|o| o.asset == m.info.asset) else {
                continue;
            };
            let start_ms = m.info.start_s * 1000;
            let end_ms = m.info.end_s * 1000;
            let opening_ms = opening_ms(ty.window_s);
            m.phase = if now_ms < start_ms {
                Phase::PreOpen
            } else if now_ms < start_ms + opening_ms {
                Phase::Opening
            } else if now_ms < end_ms {
                Phase::Open
            } else {
                Phase::Closed
            };
            if m.phase != Phase::PreOpen && m.strike_e18.is_none() {
                // The window started before the oracle's first second: use its first value.
                let obs = oracle.at(m.info.start_s).or_else(|| oracle.first());
                m.strike_e18 = obs.map(|o| reference(settlement, &o));
            }
            if let Some(price) = price_of(&m.info.asset) {
                let window = (m.info.end_s - m.info.start_s) as f64;
                let elapsed = (now_ms as f64 / 1000.0 - m.info.start_s as f64).max(0.0);
                let inputs = CrowdInputs {
                    t_s,
                    price,
                    strike: m.strike_e18.map(oracle::e18_to_f64),
                    secs_left: (m.info.end_s as f64 - now_ms as f64 / 1000.0).max(0.0),
                    progress: (elapsed / window).min(1.0),
                    annual_vol: ty.asset.annual_vol,
                    phase: m.phase,
                };
                let out = m.crowd.step(&inputs);
                publish_crowd(&self.hubs.market, exchange, m, &out, now_ms);
            }
            if m.winner.is_none() && now_ms >= end_ms + self.opts.resolve_delay_ms {
                let end_obs = oracle.at(m.info.end_s).or_else(|| oracle.latest());
                if let (Some(strike), Some(obs)) = (m.strike_e18, end_obs) {
                    let fin = reference(settlement, &obs);
                    m.final_e18 = Some(fin);
                    m.winner = Some(if fin >= strike {
                        Token::Up
                    } else {
                        Token::Down
                    });
                    m.resolved_ms = Some(now_ms);
                    exchange_engine::on_resolved(exchange, m, now_ms);
                    market_ws::publish_resolved(&self.hubs.market, m, now_ms);
                }
            }
        }
        // Keep the two most recent resolved windows per type for Gamma look-ups.
        let mut keep = vec![true; st.markets.len()];
        for ty in &self.types {
            let mut resolved: Vec<(usize, u64)> = st
                .markets
                .iter()
                .enumerate()
                .filter(|(_, m)| {
                    m.winner.is_some()
                        && m.info.asset == ty.spec.asset
                        && m.info.kind == ty.spec.kind
                })
                .map(|(i, m)| (i, m.info.start_s))
                .collect();
            resolved.sort_by_key(|(_, s)| std::cmp::Reverse(*s));
            for (i, _) in resolved.into_iter().skip(2) {
                keep[i] = false;
            }
        }
        let mut idx = 0;
        st.markets.retain(|_| {
            let k = keep[idx];
            idx += 1;
            k
        });
    }
}

/// Length of the opening (mispriced) phase: 1/60 of the window (5 s of 5 min), at least 2 s and
/// at most a quarter of the window.
pub fn opening_ms(window_s: u64) -> u64 {
    (window_s * 1000 / 60).max(2_000).min(window_s * 250)
}

/// The settlement reference value of an observation under `rule`.
pub fn reference(rule: SettlementRule, obs: &Observation) -> i128 {
    match rule {
        SettlementRule::ChainlinkSpot => obs.spot_e18,
        SettlementRule::ChainlinkTwap60 => obs.twap_e18,
    }
}

fn publish_crowd(
    hub: &FeedHub,
    exchange: &mut Exchange,
    m: &mut MarketState,
    out: &CrowdOutput,
    now_ms: u64,
) {
    if let Some((old, new)) = out.tick_change {
        market_ws::publish_tick_change(hub, &m.info, old, new, now_ms);
    }
    // The crowd's quotes and trades go through the exchange's book; what changed is published.
    let prints = exchange_engine::on_crowd_step(exchange, m, out, now_ms);
    exchange_publish::publish_market(exchange, m, &prints, now_ms);
}

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A seed for the crowd of `slug`.
pub fn seed_for(seed: u64, slug: &str) -> u64 {
    let h = keccak(&[&seed.to_le_bytes(), slug.as_bytes(), b"crowd"]);
    u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
}

/// A deterministic decimal id of `digits` digits (no leading zero) for `slug` and `label`.
pub fn decimal_id(seed: u64, slug: &str, label: &str, digits: usize) -> String {
    let mut out = String::with_capacity(digits);
    let mut counter = 0u32;
    while out.len() < digits {
        let h = keccak(&[
            &seed.to_le_bytes(),
            slug.as_bytes(),
            label.as_bytes(),
            &counter.to_le_bytes(),
        ]);
        for b in h {
            if out.len() == digits {
                break;
            }
            // Rejection sampling keeps digits uniform.
            if b >= 250 {
                continue;
            }
            let d = b % 10;
            if out.is_empty() && d == 0 {
                continue;
            }
            out.push(char::from(b'0' + d));
        }
        counter += 1;
    }
    out
}

/// A deterministic `0x` + 64-hex condition id for `slug`.
pub fn condition_id(seed: u64, slug: &str) -> String {
    let h = keccak(&[&seed.to_le_bytes(), slug.as_bytes(), b"condition"]);
    let mut s = String::with_capacity(66);
    s.push_str("0x");
    for b in h {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn market_info(
    seed: u64,
    spec: &MarketSpec,
    slug: &str,
    start_s: u64,
    window_s: u64,
    now_ms: u64,
) -> MarketInfo {
    MarketInfo {
        asset: spec.asset.clone(),
        kind: spec.kind,
        slug: slug.to_string(),
        market_id: decimal_id(seed, slug, "market", 7),
        event_id: decimal_id(seed, slug, "event", 6),
        condition_id: condition_id(seed, slug),
        token_ids: [
            decimal_id(seed, slug, "up", 77),
            decimal_id(seed, slug, "down", 77),
        ],
        start_s,
        end_s: start_s + window_s,
        listed_ms: now_ms,
    }
}

/// A price in milli as the venue prints it (`0.48`, `0.001`).
pub fn px(milli: u32) -> String {
    let mut b = [0u8; 24];
    let n = write_fixed(&mut b, i64::from(milli), 3).unwrap_or(0);
    String::from_utf8_lossy(&b[..n]).into_owned()
}

/// A size in centi-shares as the venue prints it (`30`, `12.5`).
pub fn sz(centi: i64) -> String {
    let mut b = [0u8; 32];
    let n = write_fixed(&mut b, centi, 2).unwrap_or(0);
    String::from_utf8_lossy(&b[..n]).into_owned()
}

/// A size in micro-shares as the venue prints it (`30`, `12.5`, `0.000001`).
pub fn sz6(micro: i64) -> String {
    let mut b = [0u8; 40];
    let n = write_fixed(&mut b, micro, 6).unwrap_or(0);
    String::from_utf8_lossy(&b[..n]).into_owned()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for unix seconds (proleptic Gregorian, UTC).
pub fn iso8601(unix_s: u64) -> String {
    let (y, m, d, hh, mm, ss) = crate::clock::utc_civil(unix_s);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_well_formed() {
        let a = decimal_id(1, "btc-updown-5m-1780876500", "up", 77);
        assert_eq!(a, decimal_id(1, "btc-updown-5m-1780876500", "up", 77));
        assert_ne!(a, decimal_id(2, "btc-updown-5m-1780876500", "up", 77));
        assert_eq!(a.len(), 77);
        assert!(a.bytes().all(|b| b.is_ascii_digit()) && !a.starts_with('0'));
        let c = condition_id(1, "btc-updown-5m-1780876500");
        assert_eq!(c.len(), 66);
        assert!(c.starts_with("0x"));
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(1_780_876_800), "2026-06-08T00:00:00Z");
        assert_eq!(iso8601(1_780_876_500), "2026-06-07T23:55:00Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn price_strings() {
        assert_eq!(px(480), "0.48");
        assert_eq!(px(1), "0.001");
        assert_eq!(sz(3000), "30");
        assert_eq!(sz(1250), "12.5");
        assert_eq!(sz6(12_500_000), "12.5");
        assert_eq!(sz6(1), "0.000001");
    }
}
