//! The oracle monitor on a real recorded day: Chainlink BTC/USD ticks as relayed by RTDS on
//! 2026-06-08 and that day's settled BTC 5m markets (Ligengxin96/polymarket-data-samples).
//!
//! Every CSV row becomes a real-format `crypto_prices_chainlink` frame and goes through the
//! parser + monitor. For every market: the reconstructed price to beat must equal the official
//! `strike_value` wherever the start-second tick exists, and the spot settlement must reproduce
//! the official outcome wherever the closing-second tick exists. Expected presence is computed
//! independently from the CSV (std parsing, a HashMap), never from the monitor.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

use flate2::read::GzDecoder;
use sattebaaz::feeds::binance::records::Asset;
use sattebaaz::feeds::oracle::{
    Missing, OracleConfig, OracleMonitor, OracleTopic, Outcome, SettlementRule,
};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn data_path(file: &str) -> String {
    format!(
        "{}/../shared/data/replay/polymarket_chainlink_ligengxin96/{file}",
        env!("CARGO_MANIFEST_DIR")
    )
}

struct Row {
    feed_ms: u64,
    value: String,
    fav: String,
    server_ms: u64,
    recv_ms: u64,
}

fn load_rows() -> Vec<Row> {
    let f = std::fs::File::open(data_path("BTCUSD-prices-2026-06-08.csv.gz")).expect("prices csv");
    let mut lines = BufReader::new(GzDecoder::new(f)).lines();
    let header = lines.next().expect("header").expect("read");
    assert_eq!(
        header,
        "feed_ts_ms,value,full_accuracy_value,server_ts_ms,recv_ms"
    );
    lines
        .map(|l| {
            let l = l.expect("read line");
            let c: Vec<&str> = l.split(',').collect();
            assert_eq!(c.len(), 5, "row {l}");
            Row {
                feed_ms: c[0].parse().expect("feed_ts_ms"),
                value: c[1].to_string(),
                fav: c[2].to_string(),
                server_ms: c[3].parse().expect("server_ts_ms"),
                recv_ms: c[4].parse().expect("recv_ms"),
            }
        })
        .collect()
}

struct Market {
    slug: String,
    start_s: u64,
    end_s: u64,
    /// Official outcome: `["1","0"]` = Up.
    up: bool,
    strike: Option<i128>,
}

/// Markets and the file's non-empty line count (counted on the raw text, separately).
fn load_markets() -> (Vec<Market>, usize) {
    let f = std::fs::File::open(data_path("BTC-5m-markets-2026-06-08.jsonl.gz")).expect("markets");
    let mut text = String::new();
    GzDecoder::new(f).read_to_string(&mut text).expect("gunzip");
    let line_count = text.bytes().filter(|&b| b == b'\n').count()
        + usize::from(!text.is_empty() && !text.ends_with('\n'));
    let markets = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("market json");
            let outcome: Vec<&str> = v["outcome_prices"]
                .as_array()
                .expect("outcome_prices")
                .iter()
                .map(|x| x.as_str().expect("price str"))
                .collect();
            assert!(v["resolved"].as_bool().expect("resolved"));
            let up = match outcome.as_slice() {
                ["1", "0"] => true,
                ["0", "1"] => false,
                other => panic!("unexpected outcome {other:?}"),
            };
            Market {
                slug: v["slug"].as_str().expect("slug").to_string(),
                start_s: v["start_sec"].as_u64().expect("start_sec"),
                end_s: v["end_sec"].as_u64().expect("end_sec"),
                up,
                strike: v["strike_value"]
                    .as_str()
                    .map(|s| s.parse::<i128>().expect("strike")),
            }
        })
        .collect();
    (markets, line_count)
}

/// The real RTDS single-update shape for one CSV row.
fn frame(r: &Row) -> String {
    format!(
        "{{\"topic\":\"crypto_prices_chainlink\",\"type\":\"update\",\"timestamp\":{},\
         \"payload\":{{\"symbol\":\"btc/usd\",\"timestamp\":{},\"value\":{},\
         \"full_accuracy_value\":\"{}\"}},\"connection_id\":\"Kx3vWcmUoAMCKkA=\"}}",
        r.server_ms, r.feed_ms, r.value, r.fav
    )
}

#[derive(Default, Debug)]
struct Tally {
    strikes_matched: usize,
    strikes_missing: usize,
    outcomes_matched: usize,
    outcomes_missing: usize,
    own_strike_outcomes_matched: usize,
    twap_checked: usize,
    twap_agrees_with_spot: usize,
}

fn evaluate(mon: &OracleMonitor, m: &Market, ticks: &HashMap<u64, i128>, tally: &mut Tally) {
    // Price to beat.
    match (
        mon.price_to_beat(Asset::Btc, m.start_s),
        ticks.get(&m.start_s),
    ) {
        (Ok(p), Some(&want)) => {
            assert_eq!(p, want, "{}: price to beat vs csv tick", m.slug);
            let official = m
                .strike
                .unwrap_or_else(|| panic!("{}: no official strike", m.slug));
            assert_eq!(p, official, "{}: price to beat vs official strike", m.slug);
            tally.strikes_matched += 1;
        }
        (Err(e), None) => {
            assert!(
                matches!(e, Missing::NoTick { .. } | Missing::NotYet { .. }),
                "{}: {e:?}",
                m.slug
            );
            tally.strikes_missing += 1;
        }
        (got, want) => panic!("{}: monitor {got:?} vs csv {want:?}", m.slug),
    }

    // Settlement: against the official strike (or our own where the official one is absent).
    let strike = m.strike.or_else(|| ticks.get(&m.start_s).copied());
    let close_present = ticks.contains_key(&m.end_s);
    let res = strike
        .map(|s| mon.settle_against(Asset::Btc, s, m.end_s, SettlementRule::SPOT_EXACT_CLOSE));
    match (res, close_present) {
        (Some(Ok(s)), true) => {
            assert_eq!(s.close.last_obs_s, m.end_s);
            assert_eq!(s.close.sum_e18, ticks[&m.end_s]);
            assert_eq!(s.outcome == Outcome::Up, m.up, "{}: outcome", m.slug);
            tally.outcomes_matched += 1;
        }
        (Some(Err(e)), false) => {
            assert!(
                matches!(e, Missing::NoTick { .. } | Missing::NotYet { .. }),
                "{}: {e:?}",
                m.slug
            );
            tally.outcomes_missing += 1;
        }
        (None, _) => tally.outcomes_missing += 1,
        (got, present) => panic!("{}: settle {got:?}, closing tick present {present}", m.slug),
    }

    // Fully reconstructed settlement (own price to beat).
    let own = mon.settle(
        Asset::Btc,
        m.start_s,
        m.end_s,
        SettlementRule::SPOT_EXACT_CLOSE,
    );
    if ticks.contains_key(&m.start_s) && close_present {
        let s = own.unwrap_or_else(|e| panic!("{}: {e:?}", m.slug));
        assert_eq!(s.outcome == Outcome::Up, m.up, "{}: own outcome", m.slug);
        tally.own_strike_outcomes_matched += 1;
    } else {
        assert!(own.is_err(), "{}: settled without both ticks", m.slug);
    }

    // TWAP-60 estimate: its integer sums must equal an independent sum over the CSV ticks.
    let full = |b: u64| (b - 59..=b).all(|s| ticks.contains_key(&s));
    let twap = mon.settle(Asset::Btc, m.start_s, m.end_s, SettlementRule::TWAP60_FULL);
    if full(m.start_s) && full(m.end_s) {
        let s = twap.unwrap_or_else(|e| panic!("{}: twap {e:?}", m.slug));
        let sum = |b: u64| (b - 59..=b).map(|s| ticks[&s]).sum::<i128>();
        assert_eq!((s.open.sum_e18, s.open.ticks), (sum(m.start_s), 60));
        assert_eq!((s.close.sum_e18, s.close.ticks), (sum(m.end_s), 60));
        assert_eq!(
            s.outcome == Outcome::Up,
            sum(m.end_s) >= sum(m.start_s),
            "{}: twap outcome",
            m.slug
        );
        tally.twap_checked += 1;
        if (s.outcome == Outcome::Up) == m.up {
            tally.twap_agrees_with_spot += 1;
        }
    } else {
        assert!(twap.is_err(), "{}: twap settled with missing ticks", m.slug);
    }
}

#[test]
fn replay_day_strikes_outcomes_gaps() {
    let rows = load_rows();
    let (mut markets, line_count) = load_markets();
    assert_eq!(markets.len(), line_count, "every market line parsed");

    // Independent views of the CSV.
    let ticks: HashMap<u64, i128> = rows
        .iter()
        .map(|r| (r.feed_ms / 1000, r.fav.parse::<i128>().expect("fav")))
        .collect();
    let mut secs: Vec<u64> = ticks.keys().copied().collect();
    secs.sort_unstable();
    let steps: Vec<u64> = secs.windows(2).map(|w| w[1] - w[0]).collect();
    let gaps_over_60 = steps.iter().filter(|&&d| d > 60).count() as u64;
    let max_step = steps.iter().copied().max().unwrap_or(0);
    let skipped: u64 = steps.iter().map(|d| d - 1).sum();
    let relay_sum: i64 = rows
        .iter()
        .map(|r| r.server_ms as i64 - r.feed_ms as i64)
        .sum();
    let age_sum: i64 = rows
        .iter()
        .map(|r| r.recv_ms as i64 - r.feed_ms as i64)
        .sum();

    let mut mon = OracleMonitor::with_config(
        &[Asset::Btc],
        OracleConfig {
            gap_threshold_s: 60,
            ..OracleConfig::default()
        },
    );
    markets.sort_by_key(|m| m.end_s);
    let mut tally = Tally::default();
    let mut next = 0;
    let mut gap_updates = 0u64;
    for r in &rows {
        let f = frame(r);
        let u = mon
            .on_frame(f.as_bytes(), r.recv_ms * 1_000_000, r.recv_ms)
            .unwrap_or_else(|e| panic!("row {}: {e}", r.feed_ms))
            .expect("update");
        assert_eq!(u.obs_ms, r.feed_ms);
        assert!(u.exact && !u.batch && u.ticks == 1);
        assert_eq!(u.topic, OracleTopic::Chainlink);
        gap_updates += u64::from(u.gap.is_some());
        let newest_s = r.feed_ms / 1000;
        // A market is final once an observation at or after its end has arrived.
        while let Some(m) = markets.get(next).filter(|m| m.end_s <= newest_s) {
            evaluate(&mon, m, &ticks, &mut tally);
            next += 1;
        }
        // Fresh right at receive time, given the measured 1–3 s arrival age.
        assert!(mon.is_fresh(Asset::Btc, r.feed_ms, 0));
    }
    for m in &markets[next..] {
        evaluate(&mon, m, &ticks, &mut tally);
    }

    let n = markets.len();
    println!(
        "oracle replay 2026-06-08: {} ticks, {n} markets; strikes matched {} / missing {}; \
         outcomes matched {} / missing {}; own-strike outcomes matched {}; \
         twap60 windows checked {} (agrees with spot outcome {}); gaps>60s {} (max step {} s, \
         {} skipped seconds)",
        rows.len(),
        tally.strikes_matched,
        tally.strikes_missing,
        tally.outcomes_matched,
        tally.outcomes_missing,
        tally.own_strike_outcomes_matched,
        tally.twap_checked,
        tally.twap_agrees_with_spot,
        gaps_over_60,
        max_step,
        skipped
    );

    assert_eq!(tally.strikes_matched + tally.strikes_missing, n);
    assert_eq!(tally.outcomes_matched + tally.outcomes_missing, n);
    let expect_strikes = markets
        .iter()
        .filter(|m| ticks.contains_key(&m.start_s))
        .count();
    assert_eq!(tally.strikes_matched, expect_strikes);
    let expect_outcomes = markets
        .iter()
        .filter(|m| {
            ticks.contains_key(&m.end_s) && (m.strike.is_some() || ticks.contains_key(&m.start_s))
        })
        .count();
    assert_eq!(tally.outcomes_matched, expect_outcomes);
    // Not vacuous: the day has hundreds of settleable markets.
    assert!(tally.strikes_matched > n / 2 && tally.outcomes_matched > n / 2);

    // Counters and gap detection against the independent computation.
    let c = mon.counters();
    assert_eq!(c.frames, rows.len() as u64);
    assert_eq!(c.ticks[OracleTopic::Chainlink.index()], rows.len() as u64);
    assert_eq!(c.total_errors(), 0);
    assert_eq!((c.duplicates, c.conflicts, c.inexact_ticks), (0, 0, 0));
    let st = mon
        .topic_state(Asset::Btc, OracleTopic::Chainlink)
        .expect("btc");
    assert!(gaps_over_60 > 0, "the recorded day has gaps over 60 s");
    assert_eq!(st.gaps().count, gaps_over_60);
    assert_eq!(c.gaps, gaps_over_60);
    assert_eq!(gap_updates, gaps_over_60);
    assert_eq!(st.gaps().max_step_s, max_step);
    assert_eq!(st.gaps().skipped_seconds, skipped);
    assert!(st.gaps().recent().all(|g| g.step_s > 60));
    assert_eq!(st.relay_delay().sum_ms, relay_sum);
    assert_eq!(st.arrival_age().sum_ms, age_sum);
    assert_eq!(st.relay_delay().count, rows.len() as u64);

    // Staleness after the last tick.
    let last = rows.last().expect("rows");
    assert_eq!(
        mon.staleness_ms(Asset::Btc, last.feed_ms + 7_000),
        Some(7_000)
    );
    assert!(mon.is_fresh(Asset::Btc, last.feed_ms + 5_000, 5_000));
    assert!(!mon.is_fresh(Asset::Btc, last.feed_ms + 5_001, 5_000));
    assert!(!mon.is_fresh(Asset::Eth, last.feed_ms, 5_000));
}

#[test]
fn replay_day_allocation_free() {
    let rows = load_rows();
    let (markets, _) = load_markets();
    let frames: Vec<String> = rows.iter().map(frame).collect();
    let mut mon = OracleMonitor::new(&Asset::ALL);
    let warm = 100;
    for (r, f) in rows.iter().zip(&frames).take(warm) {
        mon.on_frame(f.as_bytes(), r.recv_ms * 1_000_000, r.recv_ms)
            .expect("warm-up frame");
    }
    let mut settled = 0usize;
    let (allocs, ()) = count_allocations(|| {
        for (r, f) in rows.iter().zip(&frames).skip(warm) {
            let _ = mon.on_frame(f.as_bytes(), r.recv_ms * 1_000_000, r.recv_ms);
            let newest = r.feed_ms / 1000;
            if newest % 300 == 0 {
                let start = newest - 300;
                let _ = mon.price_to_beat(Asset::Btc, start);
                if mon
                    .settle(Asset::Btc, start, newest, SettlementRule::SPOT_EXACT_CLOSE)
                    .is_ok()
                {
                    settled += 1;
                }
                let _ = mon.settle(Asset::Btc, start, newest, SettlementRule::TWAP60_FULL);
            }
            let _ = mon.deviation_bps(Asset::Btc, 6_330_000_000_000);
            let _ = mon.lag_ms(Asset::Btc, r.recv_ms);
            let _ = mon.staleness_ms(Asset::Btc, r.recv_ms);
        }
        let _ = markets.len();
    });
    assert_eq!(allocs, 0, "allocations on the hot path after warm-up");
    assert_eq!(mon.counters().total_errors(), 0);
    assert!(settled > 0);
}
