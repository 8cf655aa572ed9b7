//! Binance parser and state against the real recorded frames in
//! `../shared/data/replay/binance_ws_hftbacktest/` (spot + USD-M BTCUSDT, 2024-08-08).
//!
//! Each check is against an independent reading of the same lines with serde_json (and
//! rust_decimal for arithmetic): per-stream counts, every field, exact decimal round-trips,
//! 1-minute OHLC and 60 s taker flow. The no-allocation test runs the whole data set through a
//! parser and state built beforehand under a counting allocator.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::str::FromStr;

use rust_decimal::Decimal;
use sattebaaz::feeds::binance::candles::Candle;
use sattebaaz::feeds::binance::{
    BinanceParser, BinanceState, BookSide, FlowWindow, Record, Side, TradeSource, Venue, PX_SCALE,
    QTY_SCALE,
};
use sattebaaz::fixed::write_fixed;
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};
use serde_json::Value;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const SPOT: &str = "spot_btcusdt_20240808.gz";
const USDM: &str = "usdm_btcusdt_20240808.gz";

/// The recorded-data directory: `<crate>/../shared/data/replay/binance_ws_hftbacktest` (CI
/// layout), or the nearest ancestor's `shared/` when the crate is a nested worktree
/// (`/work/wt/<name>` finds `/work/shared`).
fn data_dir() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/data/replay/binance_ws_hftbacktest"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("no shared/data/replay above {}", manifest.display()))
}

/// `(local_ns, json)` for every line of a recorded file.
fn load(name: &str) -> Vec<(u64, String)> {
    let path = data_dir().join(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|l| {
            let l = l.unwrap();
            let (ts, json) = l.split_once(' ').expect("`<local_ns> <json>`");
            (ts.parse().expect("local_ns"), json.to_owned())
        })
        .collect()
}

/// The decimal string as `write_fixed` prints it: trailing fractional zeros (and a bare `.`)
/// removed.
fn trimmed(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn fixed_str(v: i64, scale: u32) -> String {
    let mut buf = [0u8; 48];
    let n = write_fixed(&mut buf, v, scale).unwrap();
    std::str::from_utf8(&buf[..n]).unwrap().to_owned()
}

fn assert_round_trip(v: i64, scale: u32, original: &Value) {
    let s = original.as_str().expect("decimal string");
    assert_eq!(fixed_str(v, scale), trimmed(s), "round trip of {s}");
}

fn check_levels(got: &[(BookSide, i64, i64)], bids: &Value, asks: &Value) {
    let want: Vec<(BookSide, &Value)> = bids
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (BookSide::Bid, l))
        .chain(asks.as_array().unwrap().iter().map(|l| (BookSide::Ask, l)))
        .collect();
    assert_eq!(got.len(), want.len());
    for (&(side, px, qty), (wside, level)) in got.iter().zip(want) {
        assert_eq!(side, wside);
        assert_round_trip(px, PX_SCALE, &level[0]);
        assert_round_trip(qty, QTY_SCALE, &level[1]);
    }
}

/// Parse every line, check every record against serde_json's reading of the same line, and
/// compare per-stream counts.
fn every_line_parses_exactly(name: &str, venue: Venue, expected_lines: usize) {
    let lines = load(name);
    assert_eq!(
        lines.len(),
        expected_lines,
        "line count from the data README"
    );
    let mut parser = BinanceParser::new(venue);
    let mut ours: HashMap<String, usize> = HashMap::new();
    let mut theirs: HashMap<String, usize> = HashMap::new();
    let mut levels = Vec::new();
    for (local_ns, json) in &lines {
        let v: Value = serde_json::from_str(json).unwrap();
        let stream = v.get("stream").and_then(Value::as_str);
        match stream {
            Some(s) => *theirs.entry(s.to_owned()).or_default() += 1,
            None => {
                assert!(
                    v.get("lastUpdateId").is_some(),
                    "unwrapped line is not a snapshot"
                );
                *theirs.entry("rest_snapshot".into()).or_default() += 1;
            }
        }
        let data = v.get("data").unwrap_or(&v);

        levels.clear();
        let rec = parser
            .parse_with_levels(json.as_bytes(), *local_ns, &mut |s, px, q| {
                levels.push((s, px, q))
            })
            .unwrap_or_else(|e| panic!("{e}: {json}"));
        let key = match rec {
            Record::Trade(t) => {
                assert_eq!(t.venue, venue);
                assert_eq!(t.recv_ns, *local_ns);
                assert_eq!(t.trade_id, data["t"].as_u64().unwrap());
                assert_eq!(t.exch_ts_ms, data["T"].as_u64().unwrap());
                assert_eq!(t.event_ts_ms, data["E"].as_u64().unwrap());
                let m = data["m"].as_bool().unwrap();
                assert_eq!(t.taker_side, if m { Side::Sell } else { Side::Buy });
                assert_eq!(t.is_market, data.get("X").is_none_or(|x| x == "MARKET"));
                assert_round_trip(t.px, PX_SCALE, &data["p"]);
                assert_round_trip(t.qty, QTY_SCALE, &data["q"]);
                "btcusdt@trade".to_owned()
            }
            Record::BookTicker(b) => {
                assert_eq!(b.update_id, data["u"].as_u64().unwrap());
                assert_eq!(b.exch_ts_ms, data.get("T").and_then(Value::as_u64));
                assert_round_trip(b.bid_px, PX_SCALE, &data["b"]);
                assert_round_trip(b.bid_qty, QTY_SCALE, &data["B"]);
                assert_round_trip(b.ask_px, PX_SCALE, &data["a"]);
                assert_round_trip(b.ask_qty, QTY_SCALE, &data["A"]);
                "btcusdt@bookTicker".to_owned()
            }
            Record::DepthDiff(d) => {
                assert_eq!(d.first_update_id, data["U"].as_u64().unwrap());
                assert_eq!(d.final_update_id, data["u"].as_u64().unwrap());
                assert_eq!(
                    d.prev_final_update_id,
                    data.get("pu").and_then(Value::as_u64)
                );
                assert_eq!(d.event_ts_ms, data["E"].as_u64().unwrap());
                assert_eq!(d.bid_levels as usize, data["b"].as_array().unwrap().len());
                assert_eq!(d.ask_levels as usize, data["a"].as_array().unwrap().len());
                check_levels(&levels, &data["b"], &data["a"]);
                stream.unwrap().to_owned()
            }
            Record::DepthSnapshot(s) => {
                assert_eq!(s.asset, None);
                assert_eq!(s.last_update_id, data["lastUpdateId"].as_u64().unwrap());
                assert_eq!(s.event_ts_ms, data.get("E").and_then(Value::as_u64));
                check_levels(&levels, &data["bids"], &data["asks"]);
                "rest_snapshot".to_owned()
            }
            other => panic!("unexpected record {other:?} for {json}"),
        };
        *ours.entry(key).or_default() += 1;
    }
    assert_eq!(ours, theirs);
    assert_eq!(theirs["rest_snapshot"], 1);
    assert_eq!(parser.counts().total_errors(), 0);
    assert_eq!(parser.counts().total_records() as usize, lines.len());
    // Every trade and bookTicker frame took the scanner shortcut.
    assert_eq!(
        parser.counts().fast_path() as usize,
        theirs["btcusdt@trade"] + theirs["btcusdt@bookTicker"]
    );

    // The simd-json tape path alone gives identical records for every line.
    let mut tape = BinanceParser::new(venue);
    tape.set_fast_path(false);
    let mut fast = BinanceParser::new(venue);
    for (local_ns, json) in &lines {
        assert_eq!(
            fast.parse(json.as_bytes(), *local_ns),
            tape.parse(json.as_bytes(), *local_ns)
        );
    }
    assert_eq!(tape.counts().fast_path(), 0);
}

#[test]
fn spot_every_line_parses_exactly() {
    every_line_parses_exactly(SPOT, Venue::Spot, 41_249);
}

#[test]
fn usdm_every_line_parses_exactly() {
    every_line_parses_exactly(USDM, Venue::Futures, 93_954);
}

/// Independent per-minute OHLC from serde_json + rust_decimal.
#[derive(Debug, PartialEq)]
struct RefCandle {
    open: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: Decimal,
    buy_volume: Decimal,
    sell_volume: Decimal,
    trades: u32,
}

fn from_ours(c: &Candle) -> RefCandle {
    let px = |v: i64| Decimal::new(v, PX_SCALE);
    let qty = |v: i64| Decimal::new(v, QTY_SCALE);
    RefCandle {
        open: px(c.open),
        high: px(c.high),
        low: px(c.low),
        close: px(c.close),
        volume: qty(c.volume),
        buy_volume: qty(c.buy_volume),
        sell_volume: qty(c.sell_volume),
        trades: c.trades,
    }
}

fn candles_and_flow_match(name: &str, venue: Venue) {
    let lines = load(name);
    let mut parser = BinanceParser::new(venue);
    let mut state = BinanceState::new(TradeSource::Trade);
    let mut reference: BTreeMap<u64, RefCandle> = BTreeMap::new();
    let mut trades = Vec::new(); // (T, taker_buy, qty)
    for (local_ns, json) in &lines {
        let rec = parser.parse(json.as_bytes(), *local_ns).unwrap();
        state.apply(&rec);

        let v: Value = serde_json::from_str(json).unwrap();
        if v.get("stream").and_then(Value::as_str) != Some("btcusdt@trade") {
            continue;
        }
        let d = &v["data"];
        if d.get("X").is_some_and(|x| x != "MARKET") {
            continue;
        }
        let t = d["T"].as_u64().unwrap();
        let px = Decimal::from_str(d["p"].as_str().unwrap()).unwrap();
        let qty = Decimal::from_str(d["q"].as_str().unwrap()).unwrap();
        let buy = !d["m"].as_bool().unwrap();
        trades.push((t, buy, qty));
        let c = reference.entry(t / 60_000 * 60_000).or_insert(RefCandle {
            open: px,
            high: px,
            low: px,
            close: px,
            volume: Decimal::ZERO,
            buy_volume: Decimal::ZERO,
            sell_volume: Decimal::ZERO,
            trades: 0,
        });
        c.high = c.high.max(px);
        c.low = c.low.min(px);
        c.close = px;
        c.volume += qty;
        if buy {
            c.buy_volume += qty
        } else {
            c.sell_volume += qty
        }
        c.trades += 1;
    }

    let s = state.get(venue, sattebaaz::feeds::binance::Asset::Btc);
    assert_eq!(s.candles().late_trades(), 0);
    let mut ours: BTreeMap<u64, RefCandle> = s
        .candles()
        .closed()
        .iter()
        .map(|c| (c.open_ms, from_ours(c)))
        .collect();
    let forming = s.candles().forming().unwrap();
    ours.insert(forming.open_ms, from_ours(forming));
    assert!(reference.len() >= 6, "the file spans about six minutes");
    assert_eq!(ours, reference);

    // Taker flow over the last 60 s / 5 s / 1 s of trade time, recomputed from the trades.
    let head = trades.iter().map(|t| t.0).max().unwrap();
    for (w, ms) in [
        (FlowWindow::S1, 1_000u64),
        (FlowWindow::S5, 5_000),
        (FlowWindow::S60, 60_000),
    ] {
        let first_bucket = (head / 100 + 1).saturating_sub(ms / 100);
        let (mut buy, mut sell) = (Decimal::ZERO, Decimal::ZERO);
        for &(t, b, q) in &trades {
            if t / 100 >= first_bucket {
                if b {
                    buy += q
                } else {
                    sell += q
                }
            }
        }
        let got = s.taker_flow(w);
        assert_eq!(Decimal::new(got.buy, QTY_SCALE), buy, "{w:?} buy");
        assert_eq!(Decimal::new(got.sell, QTY_SCALE), sell, "{w:?} sell");
    }
    assert_eq!(s.last_trade().unwrap().exch_ts_ms, trades.last().unwrap().0);
    assert!(s.book().is_some());
}

#[test]
fn spot_candles_and_flow_match_independent_computation() {
    candles_and_flow_match(SPOT, Venue::Spot);
}

#[test]
fn usdm_candles_and_flow_match_independent_computation() {
    candles_and_flow_match(USDM, Venue::Futures);
}

#[test]
fn parse_and_apply_allocate_nothing() {
    let spot = load(SPOT);
    let usdm = load(USDM);
    // Malformed frames exercise the error paths too.
    let trade = spot
        .iter()
        .find(|l| l.1.contains("@trade"))
        .unwrap()
        .1
        .clone();
    let truncated = trade[..trade.len() / 2].to_owned();
    let huge = vec![b' '; 200 * 1024];
    let wrong_type = trade.replacen("\"p\":\"", "\"p\":1,\"x\":\"", 1);

    // Everything that may allocate is built before counting starts.
    let mut sp = BinanceParser::new(Venue::Spot);
    let mut fp = BinanceParser::new(Venue::Futures);
    let mut state = BinanceState::new(TradeSource::Trade);
    let mut level_sum = 0i64;

    let (allocs, applied) = count_allocations(|| {
        let mut applied = 0u64;
        let mut sink =
            |_: BookSide, px: i64, qty: i64| level_sum = level_sum.wrapping_add(px ^ qty);
        for (parser, lines) in [(&mut sp, &spot), (&mut fp, &usdm)] {
            for (ns, json) in lines.iter() {
                if let Ok(rec) = parser.parse_with_levels(json.as_bytes(), *ns, &mut sink) {
                    applied += u64::from(state.apply(&rec));
                }
            }
            for bad in [truncated.as_bytes(), &huge, wrong_type.as_bytes()] {
                assert!(parser.parse(bad, 0).is_err());
            }
        }
        applied
    });
    assert_eq!(
        allocs, 0,
        "allocations while parsing and applying recorded frames"
    );
    assert_eq!(sp.counts().total_records() as usize, spot.len());
    assert_eq!(fp.counts().total_records() as usize, usdm.len());
    assert_eq!(sp.counts().total_errors() + fp.counts().total_errors(), 6);
    assert!(applied > 100_000);
    assert_ne!(level_sum, 0);
}
