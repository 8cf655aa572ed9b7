//! Market discovery: slugs and window schedule, Gamma `/events` and CLOB `/clob-markets`
//! parsing against real venue objects and failure fixtures, the registry's plan and lifecycle,
//! the blocking HTTP fetch and the worker against a real HTTP server (Python's standard-library
//! `http.server`, `tests/support/discovery_server.py`, on an ephemeral loopback port) serving
//! canned responses including a 500, a hang (timeout) and a 429.
//!
//! Every wait is bounded by the client's own timeouts; no test asserts a speed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sattebaaz::config::{Asset, Window};
use sattebaaz::discovery::clob_market::{cross_check, parse_clob_market, ClobMarketError};
use sattebaaz::discovery::fetch::{connect_url, Fetch, FetchConfig, FetchError};
use sattebaaz::discovery::gamma::{parse_events, parse_resolution, GammaError};
use sattebaaz::discovery::ids::{IdError, TokenId};
use sattebaaz::discovery::registry::RegistryError;
use sattebaaz::discovery::{
    parse_slug, ClobMismatch, DiscoveryMsg, DiscoveryWorker, Lifecycle, LookupPurpose, MarketInfo,
    MarketKey, MarketKind, MarketRegistry, Outcome, ScheduleConfig, Settlement, WorkerConfig,
};
use sattebaaz::net::backoff::BackoffPolicy;
use sattebaaz::net::tls::client_config;
use serde_json::{json, Value};

const BTC_5M: MarketKind = MarketKind::new(Asset::Btc, Window::Min5);
const BTC_15M: MarketKind = MarketKind::new(Asset::Btc, Window::Min15);

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/discovery")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The ligengxin96 BTC 5m market lines (each has `slug`, `token_ids`, `raw` = Gamma market).
fn ligengxin_markets() -> Vec<Value> {
    let path =
        shared("data/replay/polymarket_chainlink_ligengxin96/BTC-5m-markets-2026-06-08.jsonl.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("gunzip");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// A Gamma market object wrapped in the `/events?slug=` response shape.
fn events_body(market: &Value) -> Vec<u8> {
    let slug = market["slug"].clone();
    serde_json::to_vec(&json!([{ "id": "1", "slug": slug, "markets": [market] }])).expect("json")
}

/// Independent check of a 32-byte key: decimal text by repeated division by 10.
fn key_to_decimal(key: &[u8; 32]) -> String {
    let mut n = key.to_vec();
    let mut digits = Vec::new();
    while n.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in n.iter_mut() {
            let cur = rem * 256 + u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).expect("ascii")
}

// ---------------------------------------------------------------------------------------------
// Slugs and windows

#[test]
fn slug_and_window_at_5m_boundaries() {
    let start = 1_780_876_500; // 2026-06-07 23:55:00 UTC, % 300 == 0
    assert_eq!(start % 300, 0);
    let w = BTC_5M.window_at(start);
    assert_eq!((w.start_s, w.end_s()), (start, start + 300));
    assert_eq!(w.slug(), "btc-updown-5m-1780876500");
    assert_eq!(BTC_5M.window_at(start + 299).start_s, start);
    assert_eq!(BTC_5M.window_at(start + 300).start_s, start + 300);
    assert_eq!(BTC_5M.window_at(start - 1).start_s, start - 300);
    assert_eq!(BTC_5M.next_after(start).start_s, start + 300);
    assert_eq!(BTC_5M.next_after(start - 1).start_s, start);
    assert!(w.contains(start) && w.contains(start + 299) && !w.contains(start + 300));
    let next: Vec<String> = BTC_5M
        .windows_from(start + 10, 3)
        .map(MarketKey::slug)
        .collect();
    assert_eq!(
        next,
        [
            "btc-updown-5m-1780876500",
            "btc-updown-5m-1780876800",
            "btc-updown-5m-1780877100"
        ]
    );
    let eth = MarketKind::new(Asset::Eth, Window::Min5);
    assert_eq!(eth.window_at(start + 1).slug(), "eth-updown-5m-1780876500");
}

#[test]
fn slug_and_window_at_15m_boundaries() {
    let start = 1_790_586_000; // 2026-09-28 09:00:00 UTC, % 900 == 0
    assert_eq!(start % 900, 0);
    for kind in [
        BTC_15M,
        MarketKind::new(Asset::Eth, Window::Min15),
        MarketKind::new(Asset::Sol, Window::Min15),
        MarketKind::new(Asset::Xrp, Window::Min15),
    ] {
        let w = kind.window_at(start);
        assert_eq!(
            w.slug(),
            format!("{}-updown-15m-{start}", kind.asset.as_str())
        );
        assert_eq!(w.end_s(), start + 900);
        assert_eq!(kind.window_at(start + 899).start_s, start);
        assert_eq!(kind.window_at(start + 900).start_s, start + 900);
        assert_eq!(kind.window_at(start - 1).start_s, start - 900);
    }
    // A 5m boundary that is not a 15m boundary.
    assert_eq!(BTC_15M.window_at(start + 300).start_s, start);
    assert_eq!(BTC_5M.window_at(start + 300).start_s, start + 300);
    assert_eq!(BTC_15M.key_at(start + 300), None);
}

#[test]
fn resolvedkit_15m_markets_match_computed_slugs() {
    let path = shared("data/replay/polymarket_books_resolvedkit/markets.jsonl");
    let text = std::fs::read_to_string(&path).expect("markets.jsonl");
    let mut n = 0;
    for line in text.lines() {
        let m: Value = serde_json::from_str(line).expect("json");
        let slug = m["slug"].as_str().expect("slug");
        let start = m["start_ts"].as_u64().expect("start") / 1000;
        let end = m["end_ts"].as_u64().expect("end") / 1000;
        for t in [start, start + 1, start + 450, end - 1] {
            let key = BTC_15M.window_at(t);
            assert_eq!(key.slug(), slug);
            assert_eq!(key.end_s(), end);
        }
        assert_eq!(BTC_15M.window_at(end).start_s, end);
        assert_eq!(parse_slug(slug), Ok(BTC_15M.window_at(start)));
        n += 1;
    }
    assert_eq!(n, 12);
}

#[test]
fn slug_parsing_is_strict() {
    use sattebaaz::discovery::slugs::SlugError;
    assert_eq!(
        parse_slug("xrp-updown-15m-1790586000"),
        Ok(MarketKind::new(Asset::Xrp, Window::Min15).window_at(1_790_586_000))
    );
    assert_eq!(
        parse_slug("btc-updown-5m-1780876501"),
        Err(SlugError::Unaligned)
    );
    assert_eq!(
        parse_slug("btc-updown-15m-1780876500"),
        Err(SlugError::Unaligned)
    );
    assert_eq!(
        parse_slug("doge-updown-5m-1780876500"),
        Err(SlugError::UnknownAsset)
    );
    assert_eq!(
        parse_slug("btc-updown-1h-1780876800"),
        Err(SlugError::UnknownWindow)
    );
    assert_eq!(
        parse_slug("BTC-updown-5m-1780876500"),
        Err(SlugError::UnknownAsset)
    );
    assert_eq!(
        parse_slug("btc-updown-5m-01780876500"),
        Err(SlugError::BadStart)
    );
    assert_eq!(parse_slug("btc-updown-5m-"), Err(SlugError::BadStart));
    assert_eq!(
        parse_slug("btc-updown-5m-1780876500-x"),
        Err(SlugError::Shape)
    );
    assert_eq!(parse_slug("bitcoin-up-or-down"), Err(SlugError::Shape));
}

// ---------------------------------------------------------------------------------------------
// Gamma parsing: real market objects

#[test]
fn real_gamma_markets_parse_into_market_info() {
    let rows = ligengxin_markets();
    assert_eq!(rows.len(), 292);
    let mut ticks = BTreeMap::new();
    for row in &rows {
        let raw = &row["raw"];
        let slug = row["slug"].as_str().expect("slug");
        let key = parse_slug(slug).expect("slug parses");
        assert_eq!(key.start_s, row["start_sec"].as_u64().expect("start"));
        // Looked up shortly before its window: parses (these objects are the closed versions).
        let m = parse_events(&events_body(raw), key, key.start_s - 60)
            .unwrap_or_else(|e| panic!("{slug}: {e}"));
        let token_ids: Vec<&str> = row["token_ids"]
            .as_array()
            .expect("token_ids")
            .iter()
            .map(|t| t.as_str().expect("str"))
            .collect();
        assert_eq!(m.up_token.decimal, token_ids[0], "{slug}");
        assert_eq!(m.down_token.decimal, token_ids[1], "{slug}");
        assert_eq!(key_to_decimal(&m.up_token.key), token_ids[0]);
        assert_eq!(key_to_decimal(&m.down_token.key), token_ids[1]);
        assert_eq!(
            m.condition_id.hex,
            row["condition_id"].as_str().expect("cid")
        );
        assert_eq!((m.start_s, m.end_s), (key.start_s, key.start_s + 300));
        assert_eq!(m.end_s, row["end_sec"].as_u64().expect("end"));
        assert_eq!(m.min_size_micros, 5_000_000);
        assert_eq!(m.fee.rate_ppm, 70_000, "fee rate 0.07");
        assert_eq!(m.fee.exponent, 1);
        assert!(m.fee.enabled && m.fee.taker_only);
        assert_eq!(m.fee.rebate_ppm, 200_000);
        assert!(!m.neg_risk);
        assert_eq!(m.settlement, Settlement::Point);
        assert!(m.status.closed && m.status.enable_order_book);
        let winner = match row["outcome_prices"][0].as_str() {
            Some("1") => Outcome::Up,
            Some("0") => Outcome::Down,
            other => panic!("{slug}: outcome {other:?}"),
        };
        assert_eq!(m.resolution, Some(winner), "{slug}");
        *ticks.entry(m.tick_micros).or_insert(0) += 1;

        let info = MarketInfo::from_gamma(&m);
        let rec = info.record(sattebaaz::discovery::MarketIdx(7));
        assert_eq!(rec.up_token, m.up_token.key);
        assert_eq!(rec.condition_id, m.condition_id.key);
        assert_eq!((rec.asset, rec.window), (Asset::Btc, Window::Min5));
        assert_eq!(rec.fee_rate_ppm, 70_000);
    }
    // Both tick sizes seen in the data: 0.01 (266) and 0.001 (26).
    assert_eq!(ticks.get(&10_000), Some(&266));
    assert_eq!(ticks.get(&1_000), Some(&26));
}

// ---------------------------------------------------------------------------------------------
// Gamma parsing: fixtures

/// The fixtures' market: btc-updown-5m-1780876800.
fn fixture_key() -> MarketKey {
    parse_slug("btc-updown-5m-1780876800").expect("slug")
}

const BEFORE_START: u64 = 1_780_876_700;
const AFTER_END: u64 = 1_780_877_500;

#[test]
fn live_fixture_parses() {
    let m = parse_events(&fixture("events_live.json"), fixture_key(), BEFORE_START)
        .expect("live market");
    assert_eq!(m.tick_micros, 10_000);
    assert_eq!(m.min_size_micros, 5_000_000);
    assert_eq!(m.outcome_prices_micros, Some((505_000, 495_000)));
    assert_eq!(m.resolution, None);
    assert!(!m.status.closed && m.status.accepting_orders);
    assert_eq!(m.seconds_delay, None);
    assert_eq!(
        m.resolution_source,
        "https://data.chain.link/streams/btc-usd"
    );
}

#[test]
fn swapped_outcomes_map_tokens_by_name() {
    let live =
        parse_events(&fixture("events_live.json"), fixture_key(), BEFORE_START).expect("live");
    let swapped = parse_events(
        &fixture("events_swapped_outcomes.json"),
        fixture_key(),
        BEFORE_START,
    )
    .expect("swapped order is still Up/Down");
    assert_eq!(swapped.up_token, live.up_token);
    assert_eq!(swapped.down_token, live.down_token);
    assert_eq!(swapped.outcome_prices_micros, live.outcome_prices_micros);
}

#[test]
fn failure_fixtures_give_typed_errors() {
    let key = fixture_key();
    let parse = |name: &str, now: u64| parse_events(&fixture(name), key, now);
    assert_eq!(
        parse("events_empty.json", BEFORE_START),
        Err(GammaError::NoEvent)
    );
    assert_eq!(
        parse("events_zombie.json", AFTER_END),
        Err(GammaError::Zombie)
    );
    assert_eq!(
        parse("events_yes_no_outcomes.json", BEFORE_START),
        Err(GammaError::Outcomes)
    );
    assert_eq!(
        parse("events_missing_condition_id.json", BEFORE_START),
        Err(GammaError::Missing("conditionId"))
    );
    assert_eq!(
        parse("events_invalid_tick.json", BEFORE_START),
        Err(GammaError::UnsupportedTick(20_000))
    );
    assert_eq!(
        parse("events_invalid_token_id.json", BEFORE_START),
        Err(GammaError::Id {
            field: "clobTokenIds",
            error: IdError::BadTokenId
        })
    );
    assert!(matches!(
        parse("events_start_is_listing_time.json", BEFORE_START),
        Err(GammaError::WindowMismatch {
            field: "eventStartTime",
            ..
        })
    ));
    assert_eq!(
        parse("events_unknown_settlement.json", BEFORE_START),
        Err(GammaError::UnknownSettlement)
    );
    assert_eq!(
        parse("events_unrelated_slug.json", BEFORE_START),
        Err(GammaError::SlugMismatch)
    );
    assert_eq!(
        parse("events_fee_rate_missing.json", BEFORE_START),
        Err(GammaError::Missing("feeSchedule.rate"))
    );
    // The same live body asked for another window is refused.
    let other = BTC_5M.next_after(key.start_s);
    assert_eq!(
        parse_events(&fixture("events_live.json"), other, BEFORE_START),
        Err(GammaError::SlugMismatch)
    );
    assert_eq!(parse_events(b"not json", key, 0), Err(GammaError::Json));
    assert_eq!(parse_events(b"{}", key, 0), Err(GammaError::NotAnArray));
    assert_eq!(
        parse_events(
            br#"[{"slug":"btc-updown-5m-1780876800","markets":[]}]"#,
            key,
            0
        ),
        Err(GammaError::NoMarket)
    );
}

#[test]
fn zombie_rule_needs_both_disabled_book_and_passed_end() {
    let key = fixture_key();
    // Before the end a disabled book is not a zombie (yet): it parses, flagged.
    let m = parse_events(&fixture("events_zombie.json"), key, BEFORE_START).expect("parses");
    assert!(!m.status.enable_order_book);
    // A resolution check of an ended market ignores the zombie rule.
    let m = parse_resolution(&fixture("events_zombie.json"), key).expect("resolution parse");
    assert_eq!(m.condition_id.hex.len(), 66);
}

#[test]
fn twap_fixture_gives_lookback_and_exact_fee() {
    let key = parse_slug("eth-updown-15m-1790586000").expect("slug");
    let m = parse_events(&fixture("events_eth_15m_twap.json"), key, 1_790_585_000).expect("twap");
    assert_eq!(m.settlement, Settlement::Twap { lookback_s: 60 });
    assert_eq!(m.fee.rate_ppm, 72_000);
    assert_eq!(m.seconds_delay, Some(0));
    assert_eq!(m.down_token.key, [0xff; 32], "2^256 - 1");
    assert_eq!(
        key_to_decimal(&m.up_token.key),
        format!("1{}", "0".repeat(76))
    );
    // Asked as another asset, the config disagrees with the slug.
    let btc = parse_slug("btc-updown-15m-1790586000").expect("slug");
    let mut v: Value = serde_json::from_slice(&fixture("events_eth_15m_twap.json")).expect("json");
    v[0]["slug"] = json!("btc-updown-15m-1790586000");
    v[0]["markets"][0]["slug"] = json!("btc-updown-15m-1790586000");
    let body = serde_json::to_vec(&v).expect("json");
    assert_eq!(
        parse_events(&body, btc, 1_790_585_000),
        Err(GammaError::ConfigMismatch("asset"))
    );
    // TWAP enabled without a lookback: unknown rule.
    v[0]["slug"] = json!("eth-updown-15m-1790586000");
    v[0]["markets"][0]["slug"] = json!("eth-updown-15m-1790586000");
    v[0]["markets"][0]["cryptoMarketConfig"]
        .as_object_mut()
        .expect("object")
        .remove("twapLookbackSeconds");
    let body = serde_json::to_vec(&v).expect("json");
    assert_eq!(
        parse_events(&body, key, 1_790_585_000),
        Err(GammaError::UnknownSettlement)
    );
}

#[test]
fn token_ids_refuse_overflow_and_noise() {
    // 2^256 overflows.
    let two_256 = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
    assert_eq!(TokenId::parse(two_256), Err(IdError::TokenIdOverflow));
    assert_eq!(TokenId::parse(""), Err(IdError::BadTokenId));
    assert_eq!(TokenId::parse("-1"), Err(IdError::BadTokenId));
    assert_eq!(TokenId::parse("007"), Err(IdError::BadTokenId));
    let one = TokenId::parse("256").expect("256");
    let mut want = [0u8; 32];
    want[30] = 1;
    assert_eq!(one.key, want);
}

// ---------------------------------------------------------------------------------------------
// CLOB /clob-markets

#[test]
fn clob_market_parses_and_cross_checks() {
    let gamma =
        parse_events(&fixture("events_live.json"), fixture_key(), BEFORE_START).expect("gamma");
    let clob = parse_clob_market(&fixture("clob_market.json")).expect("clob");
    assert_eq!(clob.tick_micros, 10_000);
    assert!(!clob.neg_risk);
    let fd = clob.fee.expect("fd");
    assert_eq!((fd.rate_ppm, fd.exponent, fd.taker_only), (70_000, 1, true));
    assert_eq!(
        (clob.maker_base_fee, clob.taker_base_fee),
        (Some(1000), Some(1000))
    );
    assert_eq!(cross_check(&gamma, &clob), Ok(()));

    let swapped = parse_clob_market(&fixture("clob_market_tokens_swapped.json")).expect("clob");
    assert_eq!(cross_check(&gamma, &swapped), Err(ClobMismatch::UpToken));
    let fee = parse_clob_market(&fixture("clob_market_fee_differs.json")).expect("clob");
    assert_eq!(cross_check(&gamma, &fee), Err(ClobMismatch::Fee));
    assert_eq!(
        parse_clob_market(&fixture("clob_market_null_token.json")),
        Err(ClobMarketError::Outcomes)
    );
    // Tick differs (0.001 on the CLOB).
    let mut v: Value = serde_json::from_slice(&fixture("clob_market.json")).expect("json");
    v["mts"] = json!(0.001);
    let tick = parse_clob_market(&serde_json::to_vec(&v).expect("json")).expect("clob");
    assert_eq!(
        cross_check(&gamma, &tick),
        Err(ClobMismatch::Tick(10_000, 1_000))
    );
    // Another market's condition id.
    v["mts"] = json!(0.01);
    v["c"] = json!(format!("0x{}", "11".repeat(32)));
    let other = parse_clob_market(&serde_json::to_vec(&v).expect("json")).expect("clob");
    assert_eq!(cross_check(&gamma, &other), Err(ClobMismatch::ConditionId));
    v.as_object_mut().expect("object").remove("nr");
    assert_eq!(
        parse_clob_market(&serde_json::to_vec(&v).expect("json")),
        Err(ClobMarketError::Missing("nr"))
    );
}

// ---------------------------------------------------------------------------------------------
// Registry

fn schedule() -> ScheduleConfig {
    ScheduleConfig {
        lead_s: 120,
        min_remaining_s: 200,
        resolve_after_s: 60,
        resolve_every_s: 30,
        retire_after_s: 600,
        give_up_unresolved_s: 3_600,
    }
}

fn info_from_fixture() -> MarketInfo {
    let m = parse_events(&fixture("events_live.json"), fixture_key(), BEFORE_START).expect("live");
    MarketInfo::from_gamma(&m)
}

#[test]
fn registry_plans_ahead_and_walks_the_lifecycle() {
    let key = fixture_key(); // 1780876800..1780877100
    let mut reg = MarketRegistry::new(vec![BTC_5M, BTC_15M], schedule(), 4);
    // 150 s before the start (also a 15m boundary): the current windows end within
    // min_remaining_s (150 < 200) and the next ones start beyond the 120 s lead.
    assert!(reg.plan(key.start_s - 150).is_empty());
    // 100 s before: the next windows of both types are within the lead.
    let plan: Vec<String> = reg
        .plan(key.start_s - 100)
        .into_iter()
        .map(|l| l.slug)
        .collect();
    assert_eq!(
        plan,
        ["btc-updown-5m-1780876800", "btc-updown-15m-1780876800"]
    );
    // 10 s into the window: the current 5m (290 s left) and 15m (890 s left) are due, the
    // next 5m is beyond the lead.
    let plan: Vec<String> = reg
        .plan(key.start_s + 10)
        .into_iter()
        .map(|l| l.slug)
        .collect();
    assert_eq!(
        plan,
        ["btc-updown-5m-1780876800", "btc-updown-15m-1780876800"]
    );
    // 190 s into it: the current 5m window (110 s left) drops out, the next one joins.
    let plan: Vec<String> = reg
        .plan(key.start_s + 190)
        .into_iter()
        .map(|l| l.slug)
        .collect();
    assert_eq!(
        plan,
        ["btc-updown-5m-1780877100", "btc-updown-15m-1780876800"]
    );

    let idx = reg
        .insert(info_from_fixture(), key.start_s - 100)
        .expect("insert");
    assert_eq!(reg.state(idx), Some(Lifecycle::Upcoming));
    assert_eq!(reg.find(key), Some(idx));
    let up = reg.get(idx).expect("info").up_token.key;
    assert_eq!(reg.by_token(&up), Some((idx, Outcome::Up)));
    assert_eq!(
        reg.insert(info_from_fixture(), key.start_s - 100),
        Err(RegistryError::Duplicate)
    );
    assert!(!reg.plan(key.start_s - 100).iter().any(|l| l.key == key));

    let ev = reg.advance(key.start_s);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].to, Lifecycle::Live);
    assert!(
        !reg.mark_resolved(idx, Outcome::Up),
        "not resolved while live"
    );
    let ev = reg.advance(key.end_s());
    assert_eq!(ev[0].to, Lifecycle::Ended);
    // Resolution check due only after resolve_after_s.
    assert!(!reg.plan(key.end_s() + 59).iter().any(|l| l.key == key));
    let due: Vec<_> = reg
        .plan(key.end_s() + 60)
        .into_iter()
        .filter(|l| l.key == key)
        .collect();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].purpose, LookupPurpose::Resolve(idx));
    reg.defer_resolve_check(idx, key.end_s() + 90);
    assert!(!reg.plan(key.end_s() + 60).iter().any(|l| l.key == key));
    assert!(reg.mark_resolved(idx, Outcome::Down));
    assert_eq!(reg.state(idx), Some(Lifecycle::Resolved(Outcome::Down)));
    assert!(reg.advance(key.end_s() + 599).is_empty());
    let ev = reg.advance(key.end_s() + 600);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].to, ev[0].winner),
        (Lifecycle::Retired, Some(Outcome::Down))
    );
    assert!(reg.is_empty() && reg.by_token(&up).is_none() && reg.get(idx).is_none());
}

#[test]
fn registry_retires_unresolved_and_reuses_indexes_last() {
    let key = fixture_key();
    let mut reg = MarketRegistry::new(vec![BTC_5M], schedule(), 1);
    let idx = reg
        .insert(info_from_fixture(), key.end_s())
        .expect("insert");
    assert_eq!(reg.state(idx), Some(Lifecycle::Ended));
    let mut other = info_from_fixture();
    other.key = BTC_5M.next_after(key.start_s);
    assert_eq!(
        reg.insert(other.clone(), key.end_s()),
        Err(RegistryError::Duplicate),
        "same tokens under another window"
    );
    other.up_token = TokenId::parse("1").expect("id");
    other.down_token = TokenId::parse("2").expect("id");
    assert_eq!(
        reg.insert(other.clone(), key.end_s()),
        Err(RegistryError::Full)
    );
    let ev = reg.advance(key.end_s() + 3_600);
    assert_eq!((ev[0].to, ev[0].winner), (Lifecycle::Retired, None));
    // Index freed: the other market can take it.
    assert_eq!(reg.insert(other, key.end_s()), Ok(idx));
}

// ---------------------------------------------------------------------------------------------
// HTTP: the Python server

struct Server {
    child: Child,
    port: u16,
    _routes: TempFile,
}

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Server {
    /// Serve `routes` ({target: [{status, body, delay_s?}, ...]}) on an ephemeral port.
    fn start(name: &str, routes: &Value) -> Server {
        Self::start_with(name, routes, None)
    }

    /// As [`start`](Self::start), over TLS when `tls = Some((cert, key))` PEM paths.
    fn start_with(name: &str, routes: &Value, tls: Option<(&Path, &Path)>) -> Server {
        let path = std::env::temp_dir().join(format!(
            "sattebaaz-discovery-{name}-{}.json",
            std::process::id()
        ));
        std::fs::write(&path, serde_json::to_vec(routes).expect("json")).expect("write routes");
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/discovery_server.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script).arg(&path);
        if let Some((cert, key)) = tls {
            cmd.arg(cert).arg(key);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed to run these tests");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("port line");
        let port = line.trim().parse().expect("server printed its port");
        Server {
            child,
            port,
            _routes: TempFile(path),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests the server received per target.
    fn hits(&self) -> BTreeMap<String, u64> {
        let mut f = fetcher(&self.url(), 2_000);
        let (status, body) = f.get("/_stats").expect("stats");
        assert_eq!(status, 200);
        serde_json::from_slice(&body).expect("stats json")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fetcher(
    url: &str,
    request_timeout_ms: u64,
) -> sattebaaz::discovery::HttpFetch<
    sattebaaz::net::tls::MaybeTls,
    sattebaaz::discovery::fetch::UrlConnector,
> {
    connect_url(
        url,
        client_config(None).expect("tls config"),
        FetchConfig {
            connect_timeout: Duration::from_millis(1_000),
            request_timeout: Duration::from_millis(request_timeout_ms),
            max_body_bytes: 1 << 20,
        },
        BackoffPolicy::new(
            Duration::from_millis(20),
            2.0,
            Duration::from_millis(200),
            0.5,
        )
        .expect("policy"),
    )
    .expect("fetcher")
}

fn reply(status: u16, body: &str) -> Value {
    json!({ "status": status, "body": body })
}

#[test]
fn http_fetch_statuses_timeout_and_unreachable() {
    let server = Server::start(
        "fetch",
        &json!({
            "/ok": [reply(200, "[1,2]")],
            "/err": [reply(500, "{\"error\":\"boom\"}")],
            "/slow": [{ "status": 200, "body": "late", "delay_s": 3.0 }, reply(200, "on time")],
        }),
    );
    let mut f = fetcher(&server.url(), 500);
    assert_eq!(f.get("/ok").expect("ok"), (200, b"[1,2]".to_vec()));
    assert_eq!(f.get("/err").expect("500 is a response").0, 500);
    assert_eq!(f.get("/slow"), Err(FetchError::Timeout));
    // The abandoned connection is replaced; the next request works.
    assert_eq!(f.get("/slow").expect("second"), (200, b"on time".to_vec()));
    assert_eq!(f.get("/missing").expect("404").0, 404);
    assert_eq!(f.counters().timeouts, 1);
    assert_eq!(
        server.hits().get("/slow"),
        Some(&2),
        "the server saw both attempts"
    );

    // A port nobody listens on: a closed socket of our own making.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let mut dead = fetcher(&format!("http://127.0.0.1:{port}"), 500);
    assert_eq!(dead.get("/ok"), Err(FetchError::Unreachable));
}

#[test]
fn worker_discovers_retries_resolves_and_retires_over_http() {
    // Real market btc-updown-5m-1780876500 (first line of the ligengxin96 file).
    let rows = ligengxin_markets();
    let row = rows
        .iter()
        .find(|r| r["slug"] == "btc-updown-5m-1780876500")
        .expect("market");
    let resolved = row["raw"].clone();
    let mut live = resolved.clone();
    live["closed"] = json!(false);
    live["acceptingOrders"] = json!(true);
    live["umaResolutionStatus"] = Value::Null;
    live["outcomePrices"] = json!("[\"0.5\", \"0.5\"]");
    let mut ended_unresolved = resolved.clone();
    ended_unresolved["umaResolutionStatus"] = Value::Null;
    ended_unresolved["outcomePrices"] = json!("[\"0.97\", \"0.03\"]");
    let body = |v: &Value| String::from_utf8(events_body(v)).expect("utf8");
    let key = parse_slug("btc-updown-5m-1780876500").expect("slug");
    let slug_path = format!("/events?slug={}", key.slug());
    let cid = resolved["conditionId"].as_str().expect("cid").to_owned();
    let tokens: Vec<String> =
        serde_json::from_str(resolved["clobTokenIds"].as_str().expect("ids")).expect("ids");
    let clob = json!({
        "c": cid, "t": [{"t": tokens[0], "o": "Up"}, {"t": tokens[1], "o": "Down"}],
        "mts": resolved["orderPriceMinTickSize"], "nr": false,
        "fd": {"r": 0.07, "e": 1, "to": true}, "mbf": 1000, "tbf": 1000
    });
    let clob_path = format!("/clob-markets/{cid}");
    let server = Server::start(
        "worker",
        &json!({
            slug_path.clone(): [
                reply(500, "{\"error\":\"internal\"}"),
                { "status": 200, "body": body(&live), "delay_s": 3.0 },
                reply(429, "{\"error\":\"slow down\"}"),
                reply(200, &body(&live)),
                reply(200, &body(&ended_unresolved)),
                reply(200, &body(&resolved)),
            ],
            clob_path.clone(): [reply(200, &clob.to_string())],
            // The window after it is not listed yet.
            "/events?slug=btc-updown-5m-1780876800": [reply(200, "[]")],
        }),
    );
    let schedule = ScheduleConfig {
        lead_s: 120,
        min_remaining_s: 200,
        resolve_after_s: 60,
        resolve_every_s: 30,
        retire_after_s: 300,
        give_up_unresolved_s: 3_600,
    };
    let registry = MarketRegistry::new(vec![BTC_5M], schedule, 8);
    let config = WorkerConfig {
        max_lookups_per_step: 4,
        retry: BackoffPolicy::new(Duration::from_secs(1), 2.0, Duration::from_secs(8), 0.5)
            .expect("policy"),
        verify_with_clob: true,
    };
    let mut worker = DiscoveryWorker::new(
        registry,
        fetcher(&server.url(), 500),
        fetcher(&server.url(), 500),
        config,
    );
    let mut out = Vec::new();
    // Simulated wall clock, 100 s before the window: only this window is due (the current
    // one ends within min_remaining_s, the following one is beyond the lead).
    let mut now_ms = (key.start_s - 100) * 1000;
    let mut new_market = None;
    for _ in 0..20 {
        worker.step(now_ms, &mut out);
        if let Some(DiscoveryMsg::NewMarket(rec)) = out.first() {
            new_market = Some(*rec);
            break;
        }
        assert!(out.is_empty(), "{out:?}");
        now_ms += 2_000;
    }
    let rec = new_market.expect("discovered after retries");
    let c = worker.counters().clone();
    assert_eq!(c.bad_status, 1, "{c:?}");
    assert_eq!(c.timeouts, 1, "{c:?}");
    assert_eq!(c.rate_limited, 1, "{c:?}");
    assert_eq!(c.retries_scheduled, 3, "{c:?}");
    assert_eq!(c.gamma_requests, 4, "{c:?}");
    assert_eq!(c.clob_requests, 1, "{c:?}");
    assert_eq!(c.discovered, 1);
    assert!(
        now_ms < key.start_s * 1000,
        "discovered before the window opened"
    );
    assert_eq!(rec.start_s, key.start_s);
    assert_eq!(rec.end_s, key.end_s());
    assert_eq!(key_to_decimal(&rec.up_token), tokens[0]);
    assert_eq!(key_to_decimal(&rec.down_token), tokens[1]);
    assert_eq!(rec.fee_rate_ppm, 70_000);
    assert_eq!(rec.min_size_micros, 5_000_000);
    let info = worker.registry().get(rec.idx).expect("registered");
    assert_eq!(info.condition_id.hex, cid);
    assert_eq!(info.slug, key.slug());
    assert_eq!(worker.registry().state(rec.idx), Some(Lifecycle::Upcoming));

    // Into the window, then past its end: the next window gets looked up ([] = not listed,
    // counted and retried); the resolution check comes 60 s after the end.
    out.clear();
    worker.step(key.end_s() * 1000 - 90_000, &mut out);
    assert!(out.is_empty());
    assert!(worker.counters().not_listed >= 1);
    worker.step((key.end_s() + 60) * 1000, &mut out);
    assert!(out.is_empty(), "closed but not resolved yet: {out:?}");
    assert_eq!(worker.registry().state(rec.idx), Some(Lifecycle::Ended));
    worker.step((key.end_s() + 75) * 1000, &mut out);
    assert!(out.is_empty(), "next check only after resolve_every_s");
    worker.step((key.end_s() + 90) * 1000, &mut out);
    assert_eq!(
        out,
        [DiscoveryMsg::MarketResolved {
            idx: rec.idx,
            winner: Outcome::Up
        }]
    );
    out.clear();
    worker.step((key.end_s() + 300) * 1000, &mut out);
    assert_eq!(out, [DiscoveryMsg::RetireMarket { idx: rec.idx }]);
    assert!(worker.registry().get(rec.idx).is_none());
    let c = worker.counters();
    assert_eq!(
        (
            c.resolve_checks,
            c.resolved,
            c.retired,
            c.retired_unresolved
        ),
        (2, 1, 1, 0)
    );

    // Server-side evidence: every attempt arrived, nothing was skipped or duplicated.
    let hits = server.hits();
    assert_eq!(hits.get(&slug_path), Some(&6), "{hits:?}");
    assert_eq!(hits.get(&clob_path), Some(&1), "{hits:?}");
}

#[test]
fn http_fetch_over_tls_with_tls_connector() {
    use sattebaaz::discovery::HttpFetch;
    use sattebaaz::net::http::TlsConnector;
    use sattebaaz::net::tls::TlsClientConfigBuilder;

    let certs = sattebaaz::sim::certs::SimCertificates::generate().expect("certificates");
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let ca = TempFile(dir.join(format!("sattebaaz-discovery-ca-{pid}.pem")));
    let cert = TempFile(dir.join(format!("sattebaaz-discovery-leaf-{pid}.pem")));
    let key = TempFile(dir.join(format!("sattebaaz-discovery-leaf-{pid}.key")));
    std::fs::write(&ca.0, &certs.ca_pem).expect("write");
    std::fs::write(&cert.0, &certs.server_cert_pem).expect("write");
    std::fs::write(&key.0, &certs.server_key_pem).expect("write");

    let events = fixture("events_live.json");
    let body = String::from_utf8(events.clone()).expect("utf8");
    let server = Server::start_with(
        "tls",
        &json!({ "/events?slug=btc-updown-5m-1780876800": [reply(200, &body)] }),
        Some((&cert.0, &key.0)),
    );
    let config = TlsClientConfigBuilder::new()
        .webpki_roots(false)
        .extra_ca_file(&ca.0)
        .build()
        .expect("client config");
    let mut f = HttpFetch::new(
        TlsConnector {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], server.port)),
            config,
            server_name: "localhost".to_owned(),
        },
        &format!("localhost:{}", server.port),
        "",
        FetchConfig {
            connect_timeout: Duration::from_millis(2_000),
            request_timeout: Duration::from_millis(2_000),
            max_body_bytes: 1 << 20,
        },
        BackoffPolicy::new(
            Duration::from_millis(20),
            2.0,
            Duration::from_millis(200),
            0.5,
        )
        .expect("policy"),
    )
    .expect("fetcher");
    for _ in 0..2 {
        let (status, got) = f
            .get("/events?slug=btc-updown-5m-1780876800")
            .expect("tls get");
        assert_eq!(status, 200);
        assert_eq!(got, events);
        let m = parse_events(&got, fixture_key(), BEFORE_START).expect("parses");
        assert_eq!(m.tick_micros, 10_000);
    }
    assert_eq!(f.counters().connects_started, 1, "keep-alive reused");
    assert_eq!(f.net_counters().tls_errors, 0);
}

// Short (simulated) windows: an explicit window-length override

/// `text` with every occurrence of `from` replaced by `to` (the fixture must contain it).
fn replaced(body: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec()).expect("utf-8 fixture");
    assert!(text.contains(from), "fixture holds {from}");
    text.replace(from, to).into_bytes()
}

#[test]
fn window_override_drives_grid_end_and_keeps_the_label() {
    let short = MarketKind::with_window_secs(Asset::Btc, Window::Min5, Some(20));
    assert_eq!(short.secs(), 20);
    assert!(short.is_overridden());
    assert!(!BTC_5M.is_overridden());
    // No override (or 0) is the real length.
    assert_eq!(
        MarketKind::with_window_secs(Asset::Btc, Window::Min5, None),
        BTC_5M
    );
    assert_eq!(
        MarketKind::with_window_secs(Asset::Btc, Window::Min5, Some(0)),
        BTC_5M
    );
    let start = 1_780_876_800; // a multiple of 20 and of 300
    let key = short.window_at(start + 19);
    assert_eq!(key.start_s, start);
    assert_eq!(key.end_s(), start + 20);
    assert!(key.contains(start + 19) && !key.contains(start + 20));
    assert_eq!(key.slug(), "btc-updown-5m-1780876800", "label stays 5m");
    assert_eq!(short.next_after(start).start_s, start + 20);
    assert_eq!(
        short.key_at(start + 40).map(|k| k.end_s()),
        Some(start + 60)
    );
    assert_eq!(short.key_at(start + 10), None, "off the 20 s grid");
    let starts: Vec<u64> = short
        .windows_from(start + 5, 3)
        .map(|k| k.start_s)
        .collect();
    assert_eq!(starts, [start, start + 20, start + 40]);
    // The same slug under the real length is a different key (300 s long).
    assert_ne!(parse_slug(&key.slug()), Ok(key));
    assert_eq!(parse_slug(&key.slug()).map(|k| k.end_s()), Ok(start + 300));
}

#[test]
fn gamma_time_check_follows_the_window_override() {
    let short = MarketKind::with_window_secs(Asset::Btc, Window::Min5, Some(20));
    let key = short.key_at(1_780_876_800).expect("aligned");
    // The real fixture ends 300 s after its start: refused for a 20 s window.
    assert_eq!(
        parse_events(&fixture("events_live.json"), key, BEFORE_START),
        Err(GammaError::WindowMismatch {
            field: "endDate",
            expected_ms: 1_780_876_820_000,
            got_ms: 1_780_877_100_000,
        })
    );
    // Ending 20 s after the start (as the simulator lists it): accepted, end from the key.
    let body = replaced(
        &fixture("events_live.json"),
        "2026-06-08T00:05:00Z",
        "2026-06-08T00:00:20Z",
    );
    let m = parse_events(&body, key, BEFORE_START).expect("short window parses");
    assert_eq!((m.start_s, m.end_s), (1_780_876_800, 1_780_876_820));
    assert_eq!(m.key, key);
    // And that short body is refused under the real length.
    assert!(matches!(
        parse_events(&body, fixture_key(), BEFORE_START),
        Err(GammaError::WindowMismatch {
            field: "endDate",
            ..
        })
    ));
    // A 60 s TWAP lookback is a property of the oracle stream: still accepted in a 30 s window.
    let eth = MarketKind::with_window_secs(Asset::Eth, Window::Min15, Some(30));
    let key = eth.key_at(1_790_586_000).expect("aligned");
    let body = replaced(
        &fixture("events_eth_15m_twap.json"),
        "2026-09-28T09:15:00Z",
        "2026-09-28T09:00:30Z",
    );
    let m = parse_events(&body, key, 1_790_585_000).expect("short twap window parses");
    assert_eq!(m.settlement, Settlement::Twap { lookback_s: 60 });
    assert_eq!(m.end_s, 1_790_586_030);
}

#[test]
fn registry_plans_short_windows_with_a_fitted_schedule() {
    let short = MarketKind::with_window_secs(Asset::Btc, Window::Min5, Some(20));
    let fitted = schedule().fit_to_window(20);
    assert_eq!((fitted.lead_s, fitted.min_remaining_s), (20, 10));
    assert_eq!(fitted.retire_after_s, schedule().retire_after_s);
    // Already within bounds: unchanged.
    assert_eq!(schedule().fit_to_window(900), schedule());
    let mut reg = MarketRegistry::new(vec![short], fitted, 8);
    let start = 1_780_876_800;
    // 5 s into a window: the current one (15 s left) and the next (starts in 15 s) are due.
    let plan: Vec<String> = reg.plan(start + 5).into_iter().map(|l| l.slug).collect();
    assert_eq!(
        plan,
        ["btc-updown-5m-1780876800", "btc-updown-5m-1780876820"]
    );
    // 12 s in: the current one ends within min_remaining_s; only the next is due.
    let plan: Vec<u64> = reg
        .plan(start + 12)
        .into_iter()
        .map(|l| l.key.start_s)
        .collect();
    assert_eq!(plan, [start + 20]);
    // The lifecycle follows the 20 s clock.
    let body = replaced(
        &fixture("events_live.json"),
        "2026-06-08T00:05:00Z",
        "2026-06-08T00:00:20Z",
    );
    let key = short.key_at(start).expect("aligned");
    let m = parse_events(&body, key, BEFORE_START).expect("short window parses");
    let idx = reg
        .insert(MarketInfo::from_gamma(&m), start + 5)
        .expect("inserted");
    assert_eq!(reg.state(idx), Some(Lifecycle::Live));
    let plan: Vec<u64> = reg
        .plan(start + 5)
        .into_iter()
        .map(|l| l.key.start_s)
        .collect();
    assert_eq!(plan, [start + 20], "known window not planned again");
    let events = reg.advance(start + 20);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].to, Lifecycle::Ended);
    let due: Vec<LookupPurpose> = reg
        .plan(start + 20 + fitted.resolve_after_s)
        .into_iter()
        .map(|l| l.purpose)
        .collect();
    assert!(due.contains(&LookupPurpose::Resolve(idx)));
}
