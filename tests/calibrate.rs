//! `sattebaaz calibrate` as a user runs it, on the real settled BTC 5-minute markets of
//! 2026-06-08 (`../shared/data/replay/polymarket_chainlink_ligengxin96/`): the counts in its
//! JSON are checked against counts taken here straight from the files (flate2 + serde_json),
//! the model must beat the naive 0.5 forecast, malformed market lines are counted by reason,
//! and a missing file is a clear exit 1.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::Command;

use flate2::read::MultiGzDecoder;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sattebaaz");

fn data(file: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/../shared/data/replay/polymarket_chainlink_ligengxin96/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

const PRICES: &str = "BTCUSD-prices-2026-06-08.csv.gz";
const MARKETS: &str = "BTC-5m-markets-2026-06-08.jsonl.gz";

fn config() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml").to_string()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn calibrate_json(prices: &str, markets: &str, extra: &[&str]) -> Value {
    let cfg = config();
    let mut args = vec![
        "calibrate",
        "--prices",
        prices,
        "--markets",
        markets,
        "--json",
        "--config",
        &cfg,
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "stderr: {err}");
    // Exactly one JSON object on stdout.
    let mut stream = serde_json::Deserializer::from_str(&out).into_iter::<Value>();
    let v = stream.next().expect("one JSON value").expect("valid JSON");
    assert!(
        stream.next().is_none(),
        "more than one JSON value on stdout"
    );
    assert!(v.is_object());
    v
}

fn gz_lines(file: &str) -> Vec<String> {
    let f = std::fs::File::open(data(file)).expect("data file");
    BufReader::new(MultiGzDecoder::new(f))
        .lines()
        .map(|l| l.expect("utf-8 line"))
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// Tick seconds of the price file, read independently of the crate.
fn tick_seconds() -> (Vec<u64>, HashSet<u64>) {
    let mut secs: Vec<u64> = gz_lines(PRICES)
        .iter()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse::<u64>().unwrap() / 1000)
        .collect();
    secs.sort_unstable();
    let set = secs.iter().copied().collect();
    (secs, set)
}

/// Latest tick second at or before `s`.
fn last_tick(secs: &[u64], s: u64) -> Option<u64> {
    let i = secs.partition_point(|&t| t <= s);
    i.checked_sub(1).map(|i| secs[i])
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn sum_counts(v: &Value) -> u64 {
    v.as_object().unwrap().values().map(u).sum()
}

#[test]
fn real_markets_counts_match_the_files_and_the_model_beats_the_baseline() {
    let prices = data(PRICES);
    let markets = data(MARKETS);
    let v = calibrate_json(prices.to_str().unwrap(), markets.to_str().unwrap(), &[]);

    // Markets with an official outcome, counted from the raw lines.
    let lines = gz_lines(MARKETS);
    let records: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let resolved: Vec<&Value> = records
        .iter()
        .filter(|r| {
            r["resolved"] == Value::Bool(true)
                && (r["outcome_prices"] == serde_json::json!(["1", "0"])
                    || r["outcome_prices"] == serde_json::json!(["0", "1"]))
        })
        .collect();
    let used = u(&v["markets"]);
    let skipped = sum_counts(&v["skipped"]);
    assert_eq!(u(&v["market_lines"]), lines.len() as u64);
    assert_eq!(used + skipped, lines.len() as u64);
    // Every skip of this file is for missing prices, not a missing outcome.
    let unresolved = (lines.len() - resolved.len()) as u64;
    assert_eq!(
        v["skipped"].get("no_outcome").map_or(0, u) + v["skipped"].get("not_resolved").map_or(0, u),
        unresolved
    );

    // Independently: a market is usable when a tick at most 5 s old (oracle.max_age_ms) exists
    // at its start and it has a strike or an exact start tick.
    let (secs, set) = tick_seconds();
    let max_age_s = 5;
    let mut fresh_at_start = 0u64;
    let mut usable = Vec::new();
    for r in &resolved {
        let start = r["start_sec"].as_u64().unwrap();
        if last_tick(&secs, start).is_none_or(|t| start - t > max_age_s) {
            continue;
        }
        fresh_at_start += 1;
        if r["strike_value"].is_string() || set.contains(&start) {
            usable.push(*r);
        }
    }
    assert_eq!(used, usable.len() as u64);
    assert_eq!(
        u(&v["skipped"]["no_prices_around_start"]),
        resolved.len() as u64 - fresh_at_start
    );
    assert_eq!(
        v["skipped"].get("no_start_price").map_or(0, u),
        fresh_at_start - used
    );
    let ups = usable
        .iter()
        .filter(|r| r["outcome_prices"] == serde_json::json!(["1", "0"]))
        .count() as u64;
    assert_eq!(u(&v["markets_up"]), ups);
    // Most of the day is usable: the file covers 2026-06-08 and its markets.
    assert!(used >= 280, "{used}");

    // Samples: 30 slots per 5-minute window at 10 s; a slot whose latest tick is stale skipped.
    assert_eq!(v["samples_per_window"]["300"], 30);
    assert_eq!(u(&v["sample_slots"]), used * 30);
    let mut expected_samples = 0u64;
    for r in &usable {
        let start = r["start_sec"].as_u64().unwrap();
        for k in 0..30 {
            let t = start + 10 * k;
            if last_tick(&secs, t).is_some_and(|x| t - x <= max_age_s) {
                expected_samples += 1;
            }
        }
    }
    let samples = u(&v["samples"]);
    assert_eq!(samples, expected_samples);
    assert_eq!(samples + sum_counts(&v["samples_skipped"]), used * 30);

    // Scores: the naive forecast is exactly 0.25 / ln 2; the model beats it.
    let brier = v["brier"].as_f64().unwrap();
    let base = v["brier_baseline"].as_f64().unwrap();
    assert_eq!(base, 0.25);
    assert!((v["log_loss_baseline"].as_f64().unwrap() - std::f64::consts::LN_2).abs() < 1e-12);
    assert!(brier < base, "model Brier {brier} vs baseline {base}");
    assert!(v["log_loss"].as_f64().unwrap() < std::f64::consts::LN_2);
    let rv = v["brier_realised_vol"].as_f64().unwrap();
    assert!(rv > 0.0 && rv < 1.0);
    assert!(v["log_loss_realised_vol"].as_f64().unwrap() > 0.0);
    assert_eq!(v["log_loss_clamp"], serde_json::json!([1e-6, 1.0 - 1e-6]));

    // Reliability: ten buckets partitioning the samples, means inside their buckets.
    for key in ["reliability", "reliability_realised_vol"] {
        let rows = v[key].as_array().unwrap();
        assert_eq!(rows.len(), 10);
        assert_eq!(rows.iter().map(|r| u(&r["count"])).sum::<u64>(), samples);
        for (k, r) in rows.iter().enumerate() {
            let (lo, hi) = (k as f64 / 10.0, (k + 1) as f64 / 10.0);
            if let Some(m) = r["mean_predicted"].as_f64() {
                assert!(m >= lo - 1e-12 && m <= hi + 1e-12, "{key}[{k}] mean {m}");
                let f = r["observed_frequency"].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&f));
            } else {
                assert_eq!(u(&r["count"]), 0);
            }
        }
    }
    let by_minute: u64 = v["by_minutes_left"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| u(&r["samples"]))
        .sum();
    assert_eq!(by_minute, samples);
    // Every used market had a strike in this file; none disagrees with the ticks' outcome.
    assert_eq!(u(&v["strike_check"]["with_strike"]), used);
    assert_eq!(u(&v["outcome_check"]["disagree"]), 0);

    // A coarser sampling: 5 slots per window.
    let v60 = calibrate_json(
        prices.to_str().unwrap(),
        markets.to_str().unwrap(),
        &["--sample-secs", "60"],
    );
    assert_eq!(u(&v60["markets"]), used);
    assert_eq!(u(&v60["sample_slots"]), used * 5);
    assert_eq!(
        u(&v60["samples"]) + sum_counts(&v60["samples_skipped"]),
        used * 5
    );
}

#[test]
fn human_table_is_the_default() {
    let prices = data(PRICES);
    let markets = data(MARKETS);
    let cfg = config();
    let (code, out, err) = run(&[
        "calibrate",
        "--prices",
        prices.to_str().unwrap(),
        "--markets",
        markets.to_str().unwrap(),
        "--config",
        &cfg,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("naive 0.5") && out.contains("0.250000"),
        "{out}"
    );
    assert!(out.contains("reliability, model with default vol"));
    assert!(serde_json::from_str::<Value>(&out).is_err());
}

#[test]
fn malformed_market_lines_are_counted_by_reason() {
    let good: Vec<String> = gz_lines(MARKETS)
        .into_iter()
        .filter(|l| {
            // Windows well inside the price file's day with a strike.
            let r: Value = serde_json::from_str(l).unwrap();
            let s = r["start_sec"].as_u64().unwrap();
            r["strike_value"].is_string() && (1_780_880_000..1_780_900_000).contains(&s)
        })
        .take(4)
        .collect();
    assert_eq!(good.len(), 4);
    let mut wrong_type: Value = serde_json::from_str(&good[0]).unwrap();
    wrong_type["start_sec"] = Value::String("soon".into());
    let mut missing: Value = serde_json::from_str(&good[1]).unwrap();
    missing.as_object_mut().unwrap().remove("end_sec");
    let mut open: Value = serde_json::from_str(&good[2]).unwrap();
    open["outcome_prices"] = serde_json::json!(["0.5", "0.5"]);
    let mut bad_strike: Value = serde_json::from_str(&good[3]).unwrap();
    bad_strike["strike_value"] = serde_json::json!(63000.5);
    let text = [
        good[0].clone(),
        "{\"slug\": \"btc-updown-5m-1780880100\", truncated".to_string(),
        good[1].clone(),
        wrong_type.to_string(),
        "42".to_string(),
        good[2].clone(),
        missing.to_string(),
        open.to_string(),
        good[3].clone(),
        bad_strike.to_string(),
        good[3].clone(),
    ]
    .join("\n");
    // Gzip under a name without .gz: the loader goes by the magic bytes.
    let path = std::env::temp_dir().join(format!("sattebaaz-cal-bad-{}.jsonl", std::process::id()));
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    std::fs::write(&path, enc.finish().unwrap()).unwrap();

    let prices = data(PRICES);
    let v = calibrate_json(prices.to_str().unwrap(), path.to_str().unwrap(), &[]);
    std::fs::remove_file(&path).unwrap();
    let skipped: BTreeMap<String, u64> = v["skipped"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), u(n)))
        .collect();
    let want: BTreeMap<String, u64> = [
        ("malformed_json", 1),
        ("wrong_type", 3),
        ("missing_field", 1),
        ("no_outcome", 1),
        ("duplicate_market", 1),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(skipped, want, "{:#}", v["skipped_examples"]);
    assert_eq!(u(&v["market_lines"]), 11);
    assert_eq!(u(&v["markets"]), 4);
    assert_eq!(u(&v["sample_slots"]), 4 * 30);
    let examples = v["skipped_examples"].as_array().unwrap();
    assert!(examples.iter().any(|e| e
        .as_str()
        .unwrap()
        .starts_with("line 4: wrong_type (start_sec)")));
}

#[test]
fn missing_or_unreadable_files_exit_1_naming_the_file() {
    let cfg = config();
    let markets = data(MARKETS);
    let missing = std::env::temp_dir().join("sattebaaz-no-such-prices.csv");
    let (code, out, err) = run(&[
        "calibrate",
        "--prices",
        missing.to_str().unwrap(),
        "--markets",
        markets.to_str().unwrap(),
        "--config",
        &cfg,
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("cannot open") && err.contains("sattebaaz-no-such-prices.csv"),
        "{err}"
    );

    // A price file without the needed header columns.
    let bad = std::env::temp_dir().join(format!("sattebaaz-cal-hdr-{}.csv", std::process::id()));
    std::fs::write(&bad, "time,price\n1,2\n").unwrap();
    let (code, _, err) = run(&[
        "calibrate",
        "--prices",
        bad.to_str().unwrap(),
        "--markets",
        markets.to_str().unwrap(),
        "--config",
        &cfg,
    ]);
    std::fs::remove_file(&bad).unwrap();
    assert_eq!(code, 1);
    assert!(
        err.contains("sattebaaz-cal-hdr-") && err.contains("feed_ts_ms"),
        "{err}"
    );

    let prices = data(PRICES);
    let (code, _, err) = run(&[
        "calibrate",
        "--prices",
        prices.to_str().unwrap(),
        "--markets",
        "/nonexistent/markets.jsonl",
        "--config",
        &cfg,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/markets.jsonl"), "{err}");
}
