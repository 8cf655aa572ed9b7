//! Replay inputs: each input path becomes one [`Source`] — a time-ordered list of events on its
//! own receive-time clock — and [`merge`] lays every source onto one virtual clock.
//!
//! Formats (see docs/REPLAY.md and `../shared/data/replay/README.md`):
//! * the engine's own recordings (a directory with `index.txt`, `crate::record`): Binance,
//!   market-channel and RTDS frames and discovery messages, as received;
//! * Binance frame files (`<local ns> <raw JSON>` per line, gzip or plain); a file whose name
//!   contains `usdm` or `futures` is the futures stream, else spot;
//! * Chainlink ticks (`*prices*.csv[.gz]`: `feed_ts_ms,value,full_accuracy_value,server_ts_ms,
//!   recv_ms`) with the settled-markets file beside it (`*markets*.jsonl[.gz]`): each tick
//!   becomes an RTDS `crypto_prices_chainlink` update frame at its `recv_ms`; each market a
//!   discovery `new` at its start and `resolved` at its end;
//! * resolvedkit book snapshots (`books.jsonl[.gz]` with `markets.jsonl` beside it): each
//!   snapshot a full book of one token; each market a discovery `new` at its first snapshot and
//!   `resolved` at its end. These files carry no token
//!   ids: they are derived from the market id (SHA-256 of `<market_id>:up|down`), and the
//!   markets settle by the 60 s TWAP rule.
//!
//! Invariants: a line that cannot be read is counted per source (never a panic); events of one
//! source keep their file order for equal times (stable sort); [`merge`] orders by (virtual
//! time, source number, sequence), so the same inputs always give the same event order.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::{Asset, Window};
use crate::discovery::gamma::{Outcome as GammaOutcome, Settlement};
use crate::discovery::{DiscoveryMsg, MarketIdx, MarketRecord};
use crate::feeds::binance::records::Venue;
use crate::record::reader::RecordingReader;
use crate::record::ConnKind;

/// One full book of one token (resolvedkit snapshot), prices and sizes in micro-units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookSnapshot {
    /// The token's 256-bit id.
    pub token: [u8; 32],
    pub bids: Vec<(i64, i64)>,
    pub asks: Vec<(i64, i64)>,
    pub exchange_ms: u64,
}

/// What an event carries.
#[derive(Debug, Clone)]
pub enum Payload {
    Binance(Venue, Vec<u8>),
    PolyMarket(Vec<u8>),
    Rtds(Vec<u8>),
    Discovery(DiscoveryMsg),
    Snapshot(BookSnapshot),
    /// The recorded start-up candle warm-up of one asset.
    Warmup(crate::feeds::binance::warmup::AssetHistory),
    /// One Chainlink tick (from the CSV), rendered as an RTDS frame when applied so a splice
    /// can move its timestamps.
    OracleTick(OracleTick),
    /// One entry of a trading run's decision journal (`record::journal`).
    Journal(crate::record::journal::Numbered),
}

/// One Chainlink observation as the CSV holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleTick {
    pub feed_ms: u64,
    pub server_ms: u64,
    /// The float and exact E18 texts, verbatim.
    pub value: String,
    pub exact_e18: String,
}

impl OracleTick {
    /// The RTDS `crypto_prices_chainlink` update frame of this tick.
    pub fn frame(&self) -> Vec<u8> {
        format!(
            "{{\"topic\":\"crypto_prices_chainlink\",\"type\":\"update\",\"timestamp\":{},\
             \"payload\":{{\"symbol\":\"btc/usd\",\"timestamp\":{},\"value\":{},\
             \"full_accuracy_value\":\"{}\"}}}}",
            self.server_ms, self.feed_ms, self.value, self.exact_e18
        )
        .into_bytes()
    }
}

/// Add `shift_ms` to every `"E":<n>` and `"T":<n>` (event and trade times, ms) of a Binance
/// frame, leaving every other byte as it was.
pub fn shift_binance_times(frame: &[u8], shift_ms: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.len() + 8);
    let mut i = 0;
    while i < frame.len() {
        let key = frame
            .get(i..i + 4)
            .filter(|k| *k == b"\"E\":" || *k == b"\"T\":");
        if key.is_some() {
            let start = i + 4;
            let end = frame[start..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map_or(frame.len(), |n| start + n);
            let parsed = std::str::from_utf8(&frame[start..end])
                .ok()
                .and_then(|t| t.parse::<i64>().ok());
            if let (true, Some(v)) = (end > start, parsed) {
                out.extend_from_slice(&frame[i..start]);
                out.extend_from_slice(v.saturating_add(shift_ms).max(0).to_string().as_bytes());
                i = end;
                continue;
            }
        }
        out.push(frame[i]);
        i += 1;
    }
    out
}

/// One input event on its source's clock.
#[derive(Debug, Clone)]
pub struct Event {
    pub recv_ns: u64,
    pub payload: Payload,
}

/// What kind of input a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    EngineRecording,
    BinanceFrames,
    Chainlink,
    ResolvedkitBooks,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::EngineRecording => "engine-recording",
            SourceKind::BinanceFrames => "binance-frames",
            SourceKind::Chainlink => "chainlink-ticks",
            SourceKind::ResolvedkitBooks => "resolvedkit-books",
        }
    }

    /// Does this source carry markets (discovery)?
    pub fn has_markets(self) -> bool {
        !matches!(self, SourceKind::BinanceFrames)
    }
}

/// One loaded input.
#[derive(Debug)]
pub struct Source {
    pub path: PathBuf,
    pub kind: SourceKind,
    pub events: Vec<Event>,
    /// Lines / records that could not be read.
    pub bad_records: u64,
    /// Shift applied onto the virtual clock (ns, signed), set by [`merge`].
    pub shift_ns: i64,
    /// First and last receive time on the source's own clock, set by [`merge`].
    pub span_ns: Option<(u64, u64)>,
    /// Events the source held, set by [`merge`].
    pub event_count: u64,
    /// Discovery events dropped because the source was shifted by a splice.
    pub dropped_markets: u64,
}

impl Source {
    /// A freshly loaded source: its events ordered by receive time (stable: equal times keep
    /// file order); the fields [`merge`] sets start empty.
    fn loaded(path: &Path, kind: SourceKind, mut events: Vec<Event>, bad_records: u64) -> Source {
        events.sort_by_key(|e| e.recv_ns);
        Source {
            path: path.to_path_buf(),
            kind,
            events,
            bad_records,
            shift_ns: 0,
            span_ns: None,
            event_count: 0,
            dropped_markets: 0,
        }
    }

    /// First and last receive time (own clock).
    pub fn span(&self) -> Option<(u64, u64)> {
        Some((self.events.first()?.recv_ns, self.events.last()?.recv_ns))
    }
}

/// Why an input could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: {reason}")]
    Bad { path: PathBuf, reason: String },
}

fn bad(path: &Path, reason: impl Into<String>) -> SourceError {
    SourceError::Bad {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Open a plain or gzip file (gzip by magic bytes).
fn open_text(path: &Path) -> Result<Box<dyn BufRead>, SourceError> {
    let mut f = File::open(path).map_err(|e| bad(path, e.to_string()))?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(|e| bad(path, e.to_string()))?;
    let f = File::open(path).map_err(|e| bad(path, e.to_string()))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::new(MultiGzDecoder::new(f))))
    } else {
        Ok(Box::new(BufReader::new(f)))
    }
}

/// Find a file in `dir` whose name contains every one of `parts`.
fn find_in(dir: &Path, parts: &[&str]) -> Option<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| parts.iter().all(|x| n.contains(x)))
        })
        .collect();
    names.sort();
    names.into_iter().next()
}

/// Load one input path (see the module docs for what is recognised).
pub fn load(path: &Path, default_fee_ppm: u32) -> Result<Source, SourceError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    if path.is_dir() {
        if path.join(crate::record::segment::INDEX_FILE).is_file() {
            return load_recording(path);
        }
        if let Some(books) = find_in(path, &["books.jsonl"]) {
            return load_resolvedkit(&books, default_fee_ppm);
        }
        if let Some(prices) = find_in(path, &["prices", ".csv"]) {
            return load_chainlink(&prices, default_fee_ppm);
        }
        return Err(bad(path, "directory holds no recognised replay input"));
    }
    if name.contains("books.jsonl") {
        return load_resolvedkit(path, default_fee_ppm);
    }
    if name.contains("prices") && name.contains(".csv") {
        return load_chainlink(path, default_fee_ppm);
    }
    load_binance(path)
}

fn load_recording(dir: &Path) -> Result<Source, SourceError> {
    let mut reader = RecordingReader::open(dir).map_err(|e| bad(dir, e.to_string()))?;
    let mut events = Vec::new();
    let mut bad_records = 0u64;
    while let Some(f) = reader.next_frame() {
        let payload = match reader.index.kind_of(f.conn) {
            Some(ConnKind::BinanceSpot) => Payload::Binance(Venue::Spot, f.payload),
            Some(ConnKind::BinanceFutures) => Payload::Binance(Venue::Futures, f.payload),
            Some(ConnKind::PolyMarket) => Payload::PolyMarket(f.payload),
            Some(ConnKind::Rtds) => Payload::Rtds(f.payload),
            Some(ConnKind::Discovery) => {
                match std::str::from_utf8(&f.payload)
                    .ok()
                    .and_then(crate::record::discovery_text::parse)
                {
                    Some(m) => Payload::Discovery(m),
                    None => {
                        bad_records += 1;
                        continue;
                    }
                }
            }
            Some(ConnKind::Journal) => match crate::record::journal::decode(&f.payload) {
                Ok(n) => Payload::Journal(n),
                Err(_) => {
                    bad_records += 1;
                    continue;
                }
            },
            Some(ConnKind::Warmup) => {
                match std::str::from_utf8(&f.payload)
                    .ok()
                    .and_then(crate::record::warmup_text::parse)
                {
                    Some(h) => Payload::Warmup(h),
                    None => {
                        bad_records += 1;
                        continue;
                    }
                }
            }
            None => {
                bad_records += 1;
                continue;
            }
        };
        events.push(Event {
            recv_ns: f.recv_ns,
            payload,
        });
    }
    bad_records += reader.errors + reader.index.bad_lines;
    Ok(Source::loaded(
        dir,
        SourceKind::EngineRecording,
        events,
        bad_records,
    ))
}

fn load_binance(path: &Path) -> Result<Source, SourceError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let venue = if name.contains("usdm") || name.contains("futures") {
        Venue::Futures
    } else {
        Venue::Spot
    };
    let mut events = Vec::new();
    let mut bad_records = 0u64;
    for line in open_text(path)?.split(b'\n') {
        let Ok(line) = line else {
            bad_records += 1;
            break;
        };
        if line.is_empty() {
            continue;
        }
        let Some(sp) = line.iter().position(|&b| b == b' ') else {
            bad_records += 1;
            continue;
        };
        let ns = std::str::from_utf8(&line[..sp])
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        let Some(ns) = ns else {
            bad_records += 1;
            continue;
        };
        events.push(Event {
            recv_ns: ns,
            payload: Payload::Binance(venue, line[sp + 1..].to_vec()),
        });
    }
    if events.is_empty() {
        return Err(bad(path, "no `<ns> <json>` frame lines"));
    }
    Ok(Source::loaded(
        path,
        SourceKind::BinanceFrames,
        events,
        bad_records,
    ))
}

/// A decimal JSON number or string as micro-units, rounded half-up at the sixth decimal (the
/// resolvedkit files hold float artefacts such as `5.5600000000000005`).
fn micros(v: &Value) -> Option<i64> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    if let Ok(x) = crate::fixed::parse_fixed(text.as_bytes(), 6) {
        return Some(x);
    }
    let (int, frac) = text.split_once('.')?;
    if frac.len() <= 6 || !frac.bytes().all(|b| b.is_ascii_digit()) || int.starts_with('-') {
        return None;
    }
    let kept = format!("{int}.{}", &frac[..6]);
    let base = crate::fixed::parse_fixed(kept.as_bytes(), 6).ok()?;
    Some(if frac.as_bytes()[6] >= b'5' {
        base + 1
    } else {
        base
    })
}

fn token_of(market_id: &str, side: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(market_id.as_bytes());
    h.update(b":");
    h.update(side.as_bytes());
    h.finalize().into()
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.strip_prefix("0x")?;
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A decimal token id (up to 2^256) as a big-endian word.
fn decimal_word(s: &str) -> Option<[u8; 32]> {
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut w = [0u8; 32];
    for d in s.bytes() {
        let mut carry = u32::from(d - b'0');
        for b in w.iter_mut().rev() {
            let v = u32::from(*b) * 10 + carry;
            *b = (v & 0xff) as u8;
            carry = v >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(w)
}

fn window_of_secs(secs: u64) -> Option<Window> {
    match secs {
        300 => Some(Window::Min5),
        900 => Some(Window::Min15),
        _ => None,
    }
}

fn resolved_event(at_ns: u64, idx: u16, up_won: bool) -> Event {
    Event {
        recv_ns: at_ns,
        payload: Payload::Discovery(DiscoveryMsg::MarketResolved {
            idx: MarketIdx(idx),
            winner: if up_won {
                GammaOutcome::Up
            } else {
                GammaOutcome::Down
            },
        }),
    }
}

fn load_resolvedkit(books: &Path, default_fee_ppm: u32) -> Result<Source, SourceError> {
    let dir = books.parent().unwrap_or(Path::new("."));
    let markets_path = dir.join("markets.jsonl");
    let mut bad_records = 0u64;
    // (market_id, record, up won)
    let mut markets: Vec<(String, MarketRecord, Option<bool>)> = Vec::new();
    for line in open_text(&markets_path)?.lines() {
        let Ok(line) = line else {
            bad_records += 1;
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            bad_records += 1;
            continue;
        };
        let (Some(id), Some(start), Some(end)) = (
            v["market_id"].as_str(),
            v["start_ts"].as_u64(),
            v["end_ts"].as_u64(),
        ) else {
            bad_records += 1;
            continue;
        };
        let (start_s, end_s) = (start / 1000, end / 1000);
        let Some(window) = window_of_secs(end_s.saturating_sub(start_s)) else {
            bad_records += 1;
            continue;
        };
        let Some(cond) = hex32(id) else {
            bad_records += 1;
            continue;
        };
        let up_won = match (v["payout_up"].as_f64(), v["payout_down"].as_f64()) {
            (Some(u), Some(d)) if u > d => Some(true),
            (Some(u), Some(d)) if d > u => Some(false),
            _ => None,
        };
        let record = MarketRecord {
            idx: MarketIdx(markets.len() as u16),
            asset: Asset::Btc,
            window,
            start_s,
            end_s,
            condition_id: cond,
            up_token: token_of(id, "up"),
            down_token: token_of(id, "down"),
            tick_micros: 10_000,
            min_size_micros: 5_000_000,
            neg_risk: false,
            fee_rate_ppm: default_fee_ppm,
            fee_exponent: 1,
            fee_taker_only: true,
            settlement: Settlement::Twap { lookback_s: 60 },
        };
        markets.push((id.to_string(), record, up_won));
    }
    if markets.is_empty() {
        return Err(bad(&markets_path, "no markets"));
    }
    let mut events = Vec::new();
    let mut first_seen: Vec<Option<u64>> = vec![None; markets.len()];
    for line in open_text(books)?.lines() {
        let Ok(line) = line else {
            bad_records += 1;
            break;
        };
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            bad_records += 1;
            continue;
        };
        let (Some(ts), Some(id), Some(side)) = (
            v["ts"].as_u64(),
            v["market_id"].as_str(),
            v["side"].as_str(),
        ) else {
            bad_records += 1;
            continue;
        };
        let Some(m) = markets.iter().position(|(mid, _, _)| mid == id) else {
            bad_records += 1;
            continue;
        };
        let token = match side {
            "UP" => markets[m].1.up_token,
            "DOWN" => markets[m].1.down_token,
            _ => {
                bad_records += 1;
                continue;
            }
        };
        let levels = |key: &str| -> Option<Vec<(i64, i64)>> {
            v[key]
                .as_array()?
                .iter()
                .map(|l| Some((micros(l.get(0)?)?, micros(l.get(1)?)?)))
                .collect()
        };
        let (Some(bids), Some(asks)) = (levels("bids"), levels("asks")) else {
            bad_records += 1;
            continue;
        };
        let at_ns = ts.saturating_mul(1_000_000);
        if first_seen[m].is_none() {
            first_seen[m] = Some(at_ns);
            events.push(Event {
                recv_ns: at_ns,
                payload: Payload::Discovery(DiscoveryMsg::NewMarket(markets[m].1)),
            });
        }
        events.push(Event {
            recv_ns: at_ns,
            payload: Payload::Snapshot(BookSnapshot {
                token,
                bids,
                asks,
                exchange_ms: ts,
            }),
        });
    }
    for (m, (_, record, up_won)) in markets.iter().enumerate() {
        if let (Some(_), Some(up)) = (first_seen[m], up_won) {
            events.push(resolved_event(
                record.end_s.saturating_mul(1_000_000_000),
                record.idx.0,
                *up,
            ));
        }
    }
    Ok(Source::loaded(
        books,
        SourceKind::ResolvedkitBooks,
        events,
        bad_records,
    ))
}

fn load_chainlink(prices: &Path, default_fee_ppm: u32) -> Result<Source, SourceError> {
    let dir = prices.parent().unwrap_or(Path::new("."));
    let mut bad_records = 0u64;
    let mut events = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for line in open_text(prices)?.lines() {
        let Ok(line) = line else {
            bad_records += 1;
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split(',').collect();
        let Some(h) = header.as_ref() else {
            header = Some(cols.iter().map(|c| c.trim().to_string()).collect());
            continue;
        };
        let col = |name: &str| h.iter().position(|c| c == name).and_then(|i| cols.get(i));
        let (Some(feed), Some(value), Some(exact), Some(recv)) = (
            col("feed_ts_ms").and_then(|s| s.parse::<u64>().ok()),
            col("value"),
            col("full_accuracy_value"),
            col("recv_ms").and_then(|s| s.parse::<u64>().ok()),
        ) else {
            bad_records += 1;
            continue;
        };
        let server = col("server_ts_ms")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(recv);
        if !exact.bytes().all(|b| b.is_ascii_digit()) || value.parse::<f64>().is_err() {
            bad_records += 1;
            continue;
        }
        events.push(Event {
            recv_ns: recv.saturating_mul(1_000_000),
            payload: Payload::OracleTick(OracleTick {
                feed_ms: feed,
                server_ms: server,
                value: (*value).to_string(),
                exact_e18: (*exact).to_string(),
            }),
        });
    }
    if let Some(markets) = find_in(dir, &["markets", ".jsonl"]) {
        let mut idx = 0u16;
        for line in open_text(&markets)?.lines() {
            let Ok(line) = line else {
                bad_records += 1;
                break;
            };
            if line.trim().is_empty() {
                continue;
            }
            match chainlink_market(&line, idx, default_fee_ppm) {
                Some((record, up_won)) => {
                    events.push(Event {
                        recv_ns: record.start_s.saturating_mul(1_000_000_000),
                        payload: Payload::Discovery(DiscoveryMsg::NewMarket(record)),
                    });
                    if let Some(up) = up_won {
                        events.push(resolved_event(
                            record.end_s.saturating_mul(1_000_000_000),
                            idx,
                            up,
                        ));
                    }
                    idx = idx.wrapping_add(1);
                }
                None => bad_records += 1,
            }
        }
    }
    if events.is_empty() {
        return Err(bad(prices, "no Chainlink ticks"));
    }
    Ok(Source::loaded(
        prices,
        SourceKind::Chainlink,
        events,
        bad_records,
    ))
}

fn chainlink_market(
    line: &str,
    idx: u16,
    default_fee_ppm: u32,
) -> Option<(MarketRecord, Option<bool>)> {
    let v: Value = serde_json::from_str(line).ok()?;
    let start_s = v["start_sec"].as_u64()?;
    let end_s = v["end_sec"].as_u64()?;
    let window = window_of_secs(end_s.checked_sub(start_s)?)?;
    let asset = crate::record::discovery_text::asset_of(v["asset"].as_str().unwrap_or("btc"))?;
    let tokens = v["token_ids"].as_array()?;
    let up_token = decimal_word(tokens.first()?.as_str()?)?;
    let down_token = decimal_word(tokens.get(1)?.as_str()?)?;
    let raw = &v["raw"];
    let tick = micros(&raw["orderPriceMinTickSize"]).unwrap_or(10_000);
    let min_size = micros(&raw["orderMinSize"]).unwrap_or(5_000_000);
    let fee = micros(&raw["feeSchedule"]["rate"])
        .map(|r| r as u32)
        .unwrap_or(default_fee_ppm);
    let up_won = match v["outcome_prices"].as_array().map(|a| a.as_slice()) {
        Some([u, d]) if u.as_str() == Some("1") && d.as_str() == Some("0") => Some(true),
        Some([u, d]) if u.as_str() == Some("0") && d.as_str() == Some("1") => Some(false),
        _ => None,
    };
    Some((
        MarketRecord {
            idx: MarketIdx(idx),
            asset,
            window,
            start_s,
            end_s,
            condition_id: hex32(v["condition_id"].as_str()?)?,
            up_token,
            down_token,
            tick_micros: u32::try_from(tick).ok()?,
            min_size_micros: u64::try_from(min_size).ok()?,
            neg_risk: raw["negRisk"].as_bool().unwrap_or(false),
            fee_rate_ppm: fee,
            fee_exponent: 1,
            fee_taker_only: true,
            settlement: Settlement::Point,
        },
        up_won,
    ))
}

/// One event on the virtual clock, with where it came from.
#[derive(Debug, Clone)]
pub struct Merged {
    pub at_ns: u64,
    pub source: usize,
    pub payload: Payload,
}

/// How sources were put onto one clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clocking {
    /// Every source on its own recorded clock.
    AsRecorded,
    /// `--splice`: the anchor (the first source with books — an engine recording or book
    /// snapshots — else the first with markets) keeps its clock; every other source is shifted
    /// to start `lead_ns` before the anchor's first market window and keeps only its market
    /// data (its own discovery events are dropped and counted).
    Spliced { lead_ns: u64 },
}

/// Put every source onto one virtual clock and merge them (see [`Clocking`]). Sets each
/// source's `shift_ns`.
pub fn merge(sources: &mut [Source], clocking: Clocking) -> Vec<Merged> {
    if let Clocking::Spliced { lead_ns } = clocking {
        // The anchor: the first source with books (an engine recording or book snapshots),
        // else the first with markets.
        let anchor = sources
            .iter()
            .position(|s| {
                matches!(
                    s.kind,
                    SourceKind::EngineRecording | SourceKind::ResolvedkitBooks
                )
            })
            .or_else(|| sources.iter().position(|s| s.kind.has_markets()));
        let first_window_ns = anchor.and_then(|a| {
            sources[a]
                .events
                .iter()
                .filter_map(|e| match &e.payload {
                    Payload::Discovery(DiscoveryMsg::NewMarket(r)) => {
                        Some(r.start_s.saturating_mul(1_000_000_000))
                    }
                    _ => None,
                })
                .min()
        });
        if let (Some(a), Some(window_ns)) = (anchor, first_window_ns) {
            let target = window_ns.saturating_sub(lead_ns);
            for (i, s) in sources.iter_mut().enumerate() {
                if i == a {
                    continue;
                }
                if let Some((first, _)) = s.span() {
                    // Whole seconds, so second-aligned oracle observations stay aligned.
                    let shift = i128::from(target) - i128::from(first);
                    s.shift_ns = (shift - shift.rem_euclid(1_000_000_000)) as i64;
                }
                // A shifted source's own markets are not on the anchor's clock (and have no
                // books there): only its market data is kept.
                let before = s.events.len();
                s.events
                    .retain(|e| !matches!(e.payload, Payload::Discovery(_)));
                s.dropped_markets = (before - s.events.len()) as u64;
            }
        }
    }
    let mut out: Vec<(u64, usize, usize, Payload)> = Vec::new();
    for (i, s) in sources.iter_mut().enumerate() {
        s.span_ns = s.span();
        s.event_count = s.events.len() as u64;
        let shift = s.shift_ns;
        let shift_ms = shift / 1_000_000;
        for (k, e) in std::mem::take(&mut s.events).into_iter().enumerate() {
            let at = (i128::from(e.recv_ns) + i128::from(shift)).max(0) as u64;
            // Times inside the data move with the source.
            let payload = match e.payload {
                Payload::Binance(v, frame) if shift_ms != 0 => {
                    Payload::Binance(v, shift_binance_times(&frame, shift_ms))
                }
                Payload::OracleTick(mut t) if shift_ms != 0 => {
                    t.feed_ms = (i128::from(t.feed_ms) + i128::from(shift_ms)).max(0) as u64;
                    t.server_ms = (i128::from(t.server_ms) + i128::from(shift_ms)).max(0) as u64;
                    Payload::OracleTick(t)
                }
                p => p,
            };
            out.push((at, i, k, payload));
        }
    }
    out.sort_by_key(|(at, i, k, _)| (*at, *i, *k));
    out.into_iter()
        .map(|(at_ns, source, _, payload)| Merged {
            at_ns,
            source,
            payload,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_units_round_float_artefacts() {
        let m = |t: &str| micros(&serde_json::from_str::<Value>(t).unwrap());
        assert_eq!(m("5.5600000000000005"), Some(5_560_000));
        assert_eq!(m("1.5899999999999999"), Some(1_590_000));
        assert_eq!(m("0.48"), Some(480_000));
        assert_eq!(m("\"0.5\""), Some(500_000));
        assert_eq!(m("1e-7"), None);
        assert_eq!(m("-1.00000001"), None);
        assert_eq!(m("null"), None);
    }

    #[test]
    fn binance_times_move_and_nothing_else() {
        let f = br#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255208,"T":1723161255207,"p":"61837.63","q":"0.1","t":5}}"#;
        let out = shift_binance_times(f, 1_000);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256208,"T":1723161256207,"p":"61837.63","q":"0.1","t":5}}"#
        );
        assert_eq!(shift_binance_times(b"\"E\":", 5), b"\"E\":");
    }

    #[test]
    fn decimal_token_ids_become_words() {
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(decimal_word("1"), Some(one));
        let mut big = [0u8; 32];
        big[30] = 1;
        assert_eq!(decimal_word("256"), Some(big));
        assert_eq!(decimal_word(&"9".repeat(78)), None, "above 2^256");
        assert_eq!(decimal_word("12a"), None);
    }
}
