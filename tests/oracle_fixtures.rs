//! The oracle monitor on one fixture per RTDS message shape (`tests/fixtures/oracle/`): real
//! Chainlink values from the 2026-06-08 recording in the documented frame shapes, keep-alives,
//! foreign topics, server notices, and broken frames (malformed, truncated, wrong JSON types,
//! inconsistent values, oversized). Broken input must give a typed, counted error and leave the
//! monitor working; nothing may panic or allocate after warm-up.

use sattebaaz::feeds::binance::records::Asset;
use sattebaaz::feeds::oracle::rtds::RtdsParser;
use sattebaaz::feeds::oracle::{
    Missing, OracleConfig, OracleError, OracleErrorKind, OracleMonitor, OracleTopic, Outcome,
    SettlementRule,
};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/fixtures/oracle/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(name)).expect("fixture json")
}

const RECV_MS: u64 = 1_780_876_801_156;

fn feed(
    mon: &mut OracleMonitor,
    name: &str,
) -> Result<Option<sattebaaz::feeds::oracle::OracleUpdate>, OracleError> {
    mon.on_frame(&fixture(name), RECV_MS * 1_000_000, RECV_MS)
}

#[test]
fn chainlink_update() {
    let mut mon = OracleMonitor::new(&[Asset::Btc]);
    let u = feed(&mut mon, "chainlink_update.json")
        .unwrap()
        .expect("update");
    let v = json("chainlink_update.json");
    let want: i128 = v["payload"]["full_accuracy_value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let obs = v["payload"]["timestamp"].as_u64().unwrap();
    let sent = v["timestamp"].as_u64().unwrap();
    assert_eq!(
        (u.asset, u.topic, u.obs_ms, u.price_e18),
        (Asset::Btc, OracleTopic::Chainlink, obs, want)
    );
    assert!(u.exact && !u.batch && u.ticks == 1 && u.gap.is_none());
    let latest = mon.latest(Asset::Btc).unwrap();
    assert_eq!(
        (latest.price_e18, latest.send_ms, latest.recv_ms),
        (want, Some(sent), RECV_MS)
    );
    assert_eq!(mon.price_to_beat(Asset::Btc, obs / 1000), Ok(want));
    assert_eq!(
        mon.price_to_beat(Asset::Btc, obs / 1000 - 300),
        Err(Missing::NoTick {
            second: obs / 1000 - 300
        })
    );
    assert_eq!(
        mon.price_to_beat(Asset::Btc, obs / 1000 + 1),
        Err(Missing::NotYet {
            second: obs / 1000 + 1
        })
    );
    assert_eq!(
        mon.price_to_beat(Asset::Eth, obs / 1000),
        Err(Missing::AssetNotMonitored)
    );
    let st = mon.topic_state(Asset::Btc, OracleTopic::Chainlink).unwrap();
    assert_eq!(st.relay_delay().last_ms, (sent - obs) as i64);
    assert_eq!(st.arrival_age().last_ms, (RECV_MS - obs) as i64);
    assert_eq!(mon.counters().updates[OracleTopic::Chainlink.index()], 1);

    // Freshness, lag and deviation against a Binance price (fixed-point 1e8).
    assert_eq!(mon.staleness_ms(Asset::Btc, obs + 1_500), Some(1_500));
    assert!(mon.is_fresh(Asset::Btc, obs + 5_000, 5_000));
    assert!(!mon.is_fresh(Asset::Btc, obs + 8_001, 8_000));
    assert_eq!(mon.silence_ms(Asset::Btc, RECV_MS + 250), Some(250));
    assert_eq!(mon.lag_ms(Asset::Btc, obs + 1_400), Some(1_400));
    let binance_e8: i64 = 6_331_000_000_000; // 63 310.00
    let expect = (want as f64 / 1e18 - 63_310.0) / 63_310.0 * 1e4;
    let dev = mon.deviation_bps(Asset::Btc, binance_e8).unwrap();
    assert!((dev - expect).abs() < 1e-9, "{dev} vs {expect}");
    assert!(dev < 0.0);
    assert_eq!(mon.deviation_bps(Asset::Btc, 0), None);
    assert_eq!(
        mon.deviation_bps_at(Asset::Btc, binance_e8, obs + 400),
        Ok(dev)
    );
    assert_eq!(
        mon.deviation_bps_at(Asset::Btc, binance_e8, obs + 1_400),
        Err(Missing::NoTick {
            second: obs / 1000 + 1
        })
    );
}

#[test]
fn twap_update_and_window_mismatch() {
    let mut mon = OracleMonitor::new(&[Asset::Btc]);
    let u = feed(&mut mon, "twap_update.json").unwrap().expect("update");
    let v = json("twap_update.json");
    let want: i128 = v["payload"]["full_accuracy_value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!((u.topic, u.price_e18), (OracleTopic::TwapSixty, want));
    assert_eq!(
        mon.latest_of(Asset::Btc, OracleTopic::TwapSixty)
            .unwrap()
            .price_e18,
        want
    );
    assert!(
        mon.latest(Asset::Btc).is_none(),
        "TWAP must not feed the spot state"
    );
    let s = v["payload"]["timestamp"].as_u64().unwrap() / 1000;
    let open = mon
        .open_value(Asset::Btc, s, SettlementRule::TwapFeed)
        .unwrap();
    assert_eq!(open.value_e18(), want);
    assert!(mon
        .open_value(Asset::Btc, s, SettlementRule::SPOT_EXACT_CLOSE)
        .is_err());

    assert_eq!(
        feed(&mut mon, "twap_wrong_window.json"),
        Err(OracleError::WindowMismatch { window_s: 30 })
    );
    assert_eq!(mon.counters().errors(OracleErrorKind::WindowMismatch), 1);
}

#[test]
fn batch_backfill_float_only_is_inexact_then_upgraded() {
    let mut mon = OracleMonitor::new(&[Asset::Btc]);
    // Mislabelled `crypto_prices` backfill with a Chainlink symbol and float values only.
    let u = feed(&mut mon, "batch_backfill.json")
        .unwrap()
        .expect("update");
    let v = json("batch_backfill.json");
    let data = v["payload"]["data"].as_array().unwrap();
    let last = data.last().unwrap()["timestamp"].as_u64().unwrap();
    assert_eq!(
        (u.topic, u.ticks, u.batch, u.exact, u.obs_ms),
        (OracleTopic::Chainlink, data.len() as u32, true, false, last)
    );
    assert_eq!(mon.counters().inexact_ticks, data.len() as u64);
    let first_s = data[0]["timestamp"].as_u64().unwrap() / 1000;
    // Float-derived ticks never decide anything.
    assert_eq!(
        mon.price_to_beat(Asset::Btc, first_s),
        Err(Missing::Inexact { second: first_s })
    );
    let latest = mon.latest(Asset::Btc).unwrap();
    let approx = data.last().unwrap()["value"].as_f64().unwrap();
    assert!((latest.price_e18 as f64 / 1e18 - approx).abs() < 1e-6);

    // The exact backfill of the same seconds upgrades every tick.
    let u = feed(&mut mon, "batch_exact.json").unwrap().expect("update");
    assert!(u.exact);
    assert_eq!(mon.counters().upgrades, data.len() as u64);
    let exact = json("batch_exact.json");
    for p in exact["payload"]["data"].as_array().unwrap() {
        let s = p["timestamp"].as_u64().unwrap() / 1000;
        let want: i128 = p["full_accuracy_value"].as_str().unwrap().parse().unwrap();
        assert_eq!(mon.price_to_beat(Asset::Btc, s), Ok(want));
    }
    // Re-delivery is a duplicate, an inexact copy is ignored.
    feed(&mut mon, "batch_exact.json").unwrap();
    assert_eq!(mon.counters().duplicates, data.len() as u64);
    feed(&mut mon, "batch_backfill.json").unwrap();
    assert_eq!(mon.counters().kept_exact, data.len() as u64);
    assert_eq!(mon.counters().batch_frames, 4);
    assert!(mon.latest(Asset::Btc).unwrap().exact);
}

#[test]
fn keepalive_foreign_topics_and_server_notice() {
    let mut mon = OracleMonitor::new(&[Asset::Btc]);
    assert_eq!(feed(&mut mon, "pong.txt"), Ok(None));
    assert_eq!(mon.on_frame(b"PONG\n", 0, 0), Ok(None));
    assert_eq!(mon.counters().keepalives, 2);
    assert_eq!(feed(&mut mon, "unknown_topic.json"), Ok(None));
    assert_eq!(feed(&mut mon, "binance_relay.json"), Ok(None));
    assert_eq!(mon.counters().unknown_topic, 2);
    // Shape of RTDS subscription errors is not documented; a topic-less notice is surfaced.
    assert_eq!(
        feed(&mut mon, "subscription_error.json"),
        Err(OracleError::ServerMessage)
    );
    assert_eq!(mon.counters().errors(OracleErrorKind::ServerMessage), 1);
    assert!(mon.latest(Asset::Btc).is_none());
    // Monitored assets only: ETH monitor ignores BTC ticks (counted).
    let mut eth = OracleMonitor::new(&[Asset::Eth]);
    assert_eq!(feed(&mut eth, "chainlink_update.json"), Ok(None));
    assert_eq!(eth.counters().unconfigured_asset, 1);
}

#[test]
fn broken_frames_are_typed_counted_errors() {
    let mut mon = OracleMonitor::new(&[Asset::Btc]);
    let cases: [(&str, OracleError); 5] = [
        ("malformed.json", OracleError::InvalidJson),
        ("truncated.json", OracleError::InvalidJson),
        (
            "numbers_as_strings.json",
            OracleError::WrongType("timestamp"),
        ),
        // The E18 integer as a bare JSON number exceeds u64: simd-json refuses the document.
        ("strings_as_numbers.json", OracleError::InvalidJson),
        ("value_mismatch.json", OracleError::ValueMismatch),
    ];
    for (name, want) in cases {
        assert_eq!(feed(&mut mon, name), Err(want), "{name}");
    }
    let good = fixture("chainlink_update.json");
    let text = std::str::from_utf8(&good).unwrap();
    let inline: [(String, OracleError); 11] = [
        (String::new(), OracleError::Empty),
        (
            text.replace(
                "\"full_accuracy_value\":\"63304200301195075000000\"",
                "\"full_accuracy_value\":63304",
            ),
            OracleError::WrongType("full_accuracy_value"),
        ),
        ("[1,2]".into(), OracleError::NotAnObject),
        (
            "{\"type\":\"update\"}".into(),
            OracleError::MissingField("topic"),
        ),
        (
            text.replace("\"payload\":{", "\"payload\":[{")
                .replace("},\"connection_id\"", "}],\"connection_id\""),
            OracleError::WrongType("payload"),
        ),
        (
            text.replace("btc/usd", "doge/usd"),
            OracleError::UnknownSymbol,
        ),
        (
            text.replace("\"timestamp\":1780876800000", "\"timestamp\":1780876800"),
            OracleError::BadTimestamp,
        ),
        (
            text.replace(
                "\"full_accuracy_value\":\"63304200301195075000000\"",
                "\"full_accuracy_value\":\"6.3e22\"",
            ),
            OracleError::BadInteger("full_accuracy_value"),
        ),
        (
            text.replace(
                "\"value\":63304.20030119507,\"full_accuracy_value\":\"63304200301195075000000\"",
                "\"value\":-1",
            ),
            OracleError::NonPositivePrice,
        ),
        (
            text.replace(",\"full_accuracy_value\":\"63304200301195075000000\"", "")
                .replace("\"value\":63304.20030119507", "\"other\":1"),
            OracleError::MissingField("full_accuracy_value"),
        ),
        (
            text.replace("\"topic\":\"crypto_prices_chainlink\"", "\"topic\":7"),
            OracleError::WrongType("topic"),
        ),
    ];
    for (frame, want) in &inline {
        assert_eq!(
            mon.on_frame(frame.as_bytes(), 0, RECV_MS),
            Err(*want),
            "{frame}"
        );
    }
    let c = *mon.counters();
    assert_eq!(c.total_errors(), (cases.len() + inline.len()) as u64);
    assert_eq!(c.errors(OracleErrorKind::InvalidJson), 3);
    assert_eq!(c.errors(OracleErrorKind::WrongType), 4);
    assert!(mon.latest(Asset::Btc).is_none());

    // Every prefix and many byte corruptions of a good frame: never a panic, and the monitor
    // still takes the intact frame afterwards.
    for cut in 0..good.len() {
        let _ = mon.on_frame(&good[..cut], 0, RECV_MS);
    }
    let mut bad = good.clone();
    for i in 0..good.len() {
        for b in [b'"', b'{', b'}', b'0', b'-', b'x', 0xff] {
            bad[i] = b;
            let _ = mon.on_frame(&bad, 0, RECV_MS);
        }
        bad[i] = good[i];
    }
    assert!(feed(&mut mon, "chainlink_update.json").unwrap().is_some());
}

#[test]
fn huge_frame_refused_then_parser_recovers() {
    let huge = fixture("huge_frame.json");
    let mut small = OracleMonitor::with_config(
        &[Asset::Btc],
        OracleConfig {
            max_frame: 4096,
            ..OracleConfig::default()
        },
    );
    assert_eq!(
        small.on_frame(&huge, 0, RECV_MS),
        Err(OracleError::FrameTooLarge {
            len: huge.len(),
            max: 4096
        })
    );
    assert!(feed(&mut small, "chainlink_update.json").unwrap().is_some());

    // With the default limit the same frame is 100 exact ticks, and a 5-minute window inside it
    // settles exactly.
    let mut mon = OracleMonitor::new(&[Asset::Btc]);
    let u = mon.on_frame(&huge, 0, RECV_MS).unwrap().expect("update");
    let v = json("huge_frame.json");
    let data = v["payload"]["data"].as_array().unwrap();
    assert_eq!(u.ticks as usize, data.len());
    let t = |i: usize| data[i]["timestamp"].as_u64().unwrap() / 1000;
    let p = |i: usize| {
        data[i]["full_accuracy_value"]
            .as_str()
            .unwrap()
            .parse::<i128>()
            .unwrap()
    };
    let s = mon
        .settle(
            Asset::Btc,
            t(0),
            t(data.len() - 1),
            SettlementRule::SPOT_EXACT_CLOSE,
        )
        .unwrap();
    assert_eq!((s.open.sum_e18, s.close.sum_e18), (p(0), p(data.len() - 1)));
    assert_eq!(s.outcome == Outcome::Up, p(data.len() - 1) >= p(0));
    // A frame far beyond any limit.
    let mut giant = huge.clone();
    giant.resize(1 << 20, b' ');
    assert!(matches!(
        mon.on_frame(&giant, 0, RECV_MS),
        Err(OracleError::FrameTooLarge { .. })
    ));
}

#[test]
fn fixtures_parse_without_allocating() {
    let names = [
        "chainlink_update.json",
        "twap_update.json",
        "twap_wrong_window.json",
        "batch_backfill.json",
        "batch_exact.json",
        "pong.txt",
        "unknown_topic.json",
        "binance_relay.json",
        "subscription_error.json",
        "malformed.json",
        "truncated.json",
        "numbers_as_strings.json",
        "strings_as_numbers.json",
        "value_mismatch.json",
        "huge_frame.json",
    ];
    let frames: Vec<Vec<u8>> = names.iter().map(|n| fixture(n)).collect();
    let mut mon = OracleMonitor::new(&Asset::ALL);
    for f in &frames {
        let _ = mon.on_frame(f, 0, RECV_MS);
    }
    let (allocs, ()) = count_allocations(|| {
        for _ in 0..3 {
            for f in &frames {
                let _ = mon.on_frame(f, 0, RECV_MS);
            }
        }
    });
    assert_eq!(allocs, 0);
    // A bare parser likewise.
    let mut parser = RtdsParser::new(16 * 1024);
    let (allocs, n) = count_allocations(|| {
        let mut n = 0u32;
        for f in &frames {
            let _ = parser.parse(f, &mut |_, _| n += 1);
        }
        n
    });
    assert_eq!(allocs, 0);
    // chainlink + twap + 10 + 10 + 100 batch points; every broken frame delivers nothing.
    assert_eq!(n, 1 + 1 + 10 + 10 + 100);
}
