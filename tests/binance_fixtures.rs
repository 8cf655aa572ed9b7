//! One test per captured Binance message shape in `tests/fixtures/binance/`: each fixture parses
//! to the exact expected record, and every malformed shape is a typed, counted error after which
//! the same parser keeps working.

use sattebaaz::feeds::binance::parse::DEFAULT_MAX_FRAME;
use sattebaaz::feeds::binance::{
    AggTrade, Asset, BinanceParser, BookSide, BookTicker, Control, DepthDiff, DepthSnapshot,
    Liquidation, MarkPrice, ParseError, ParseErrorKind, Record, RecordKind, Side, Trade, Venue,
};
use sattebaaz::fixed::FixedError;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/binance/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    while bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    bytes
}

fn parse(venue: Venue, name: &str) -> Result<Record, ParseError> {
    BinanceParser::with_max_frame(venue, 4096).parse(&fixture(name), 42)
}

/// A malformed fixture is refused with `want`, counted under its kind, and the parser then
/// still parses a good frame.
fn refused(venue: Venue, name: &str, want: ParseError) {
    let mut p = BinanceParser::with_max_frame(venue, 4096);
    assert_eq!(p.parse(&fixture(name), 1), Err(want), "{name}");
    assert_eq!(p.counts().errors(want.kind()), 1);
    assert_eq!(p.counts().total_errors(), 1);
    assert!(matches!(
        p.parse(&fixture("spot_trade.json"), 2),
        Ok(Record::Trade(_))
    ));
    assert_eq!(p.counts().records(RecordKind::Trade), 1);
}

#[test]
fn spot_trade() {
    assert_eq!(
        parse(Venue::Spot, "spot_trade.json"),
        Ok(Record::Trade(Trade {
            asset: Asset::Btc,
            venue: Venue::Spot,
            px: 6_183_763_000_000,
            qty: 2_000_000,
            exch_ts_ms: 1_723_161_255_342,
            event_ts_ms: 1_723_161_255_343,
            recv_ns: 42,
            trade_id: 3_735_683_259,
            taker_side: Side::Sell,
            is_market: true,
        }))
    );
}

#[test]
fn futures_trade_with_x() {
    assert_eq!(
        parse(Venue::Futures, "futures_trade.json"),
        Ok(Record::Trade(Trade {
            asset: Asset::Btc,
            venue: Venue::Futures,
            px: 6_180_030_000_000,
            qty: 600_000,
            exch_ts_ms: 1_723_161_256_322,
            event_ts_ms: 1_723_161_256_322,
            recv_ns: 42,
            trade_id: 5_266_583_935,
            taker_side: Side::Buy,
            is_market: true,
        }))
    );
    let Ok(Record::Trade(t)) = parse(Venue::Futures, "futures_trade_insurance_fund.json") else {
        panic!("insurance-fund trade did not parse");
    };
    assert!(!t.is_market);
    assert_eq!(t.taker_side, Side::Sell);
}

#[test]
fn spot_book_ticker() {
    assert_eq!(
        parse(Venue::Spot, "spot_book_ticker.json"),
        Ok(Record::BookTicker(BookTicker {
            asset: Asset::Btc,
            venue: Venue::Spot,
            bid_px: 6_183_763_000_000,
            bid_qty: 378_826_000,
            ask_px: 6_183_764_000_000,
            ask_qty: 154_698_000,
            update_id: 50_093_239_212,
            exch_ts_ms: None,
            recv_ns: 42,
        }))
    );
}

#[test]
fn futures_book_ticker() {
    assert_eq!(
        parse(Venue::Futures, "futures_book_ticker.json"),
        Ok(Record::BookTicker(BookTicker {
            asset: Asset::Btc,
            venue: Venue::Futures,
            bid_px: 6_180_020_000_000,
            bid_qty: 250_700_000,
            ask_px: 6_180_030_000_000,
            ask_qty: 251_000_000,
            update_id: 5_123_107_839_020,
            exch_ts_ms: Some(1_723_161_256_313),
            recv_ns: 42,
        }))
    );
}

#[test]
fn agg_trade_combined_and_raw_with_nq() {
    assert_eq!(
        parse(Venue::Futures, "futures_agg_trade.json"),
        Ok(Record::AggTrade(AggTrade {
            asset: Asset::Btc,
            venue: Venue::Futures,
            px: 7_020_630_000_000,
            qty: 5_200_000,
            normal_qty: None,
            agg_id: 2_125_892_846,
            first_trade_id: 4_867_106_679,
            last_trade_id: 4_867_106_679,
            exch_ts_ms: 1_712_861_210_592,
            event_ts_ms: 1_712_861_210_662,
            recv_ns: 42,
            taker_side: Side::Buy,
        }))
    );
    let Ok(Record::AggTrade(a)) = parse(Venue::Futures, "futures_agg_trade_raw_nq.json") else {
        panic!("raw aggTrade did not parse");
    };
    assert_eq!(a.asset, Asset::Eth);
    assert_eq!((a.qty, a.normal_qty), (125_000_000, Some(120_000_000)));
    assert_eq!(
        (a.first_trade_id, a.last_trade_id, a.taker_side),
        (100, 105, Side::Sell)
    );
}

#[test]
fn mark_price_with_funding() {
    assert_eq!(
        parse(Venue::Futures, "mark_price.json"),
        Ok(Record::MarkPrice(MarkPrice {
            asset: Asset::Btc,
            mark_px: 1_179_415_000_000,
            index_px: Some(1_178_462_659_091),
            est_settle_px: Some(1_178_425_641_265),
            funding_rate: 38_167,
            next_funding_ms: 1_562_306_400_000,
            event_ts_ms: 1_562_305_380_000,
            recv_ns: 42,
        }))
    );
}

#[test]
fn force_order_liquidation() {
    assert_eq!(
        parse(Venue::Futures, "force_order.json"),
        Ok(Record::Liquidation(Liquidation {
            asset: Asset::Btc,
            side: Side::Sell,
            px: 3_888_654_000_000,
            avg_px: 3_902_100_000_000,
            qty: 28_800_000,
            filled_qty: 28_800_000,
            exch_ts_ms: 1_650_898_329_196,
            event_ts_ms: 1_650_898_329_201,
            recv_ns: 42,
        }))
    );
}

#[test]
fn subscribe_ack() {
    assert_eq!(
        parse(Venue::Spot, "subscribe_ack.json"),
        Ok(Record::Control(Control::Ack { id: Some(1) }))
    );
}

#[test]
fn error_frame() {
    assert_eq!(
        parse(Venue::Spot, "error_frame.json"),
        Ok(Record::Control(Control::VenueError {
            code: 2,
            id: Some(7)
        }))
    );
}

#[test]
fn server_shutdown_raw_and_combined() {
    let want = Ok(Record::Control(Control::ServerShutdown {
        event_ts_ms: 1_770_123_456_789,
    }));
    assert_eq!(parse(Venue::Spot, "server_shutdown_raw.json"), want);
    assert_eq!(parse(Venue::Spot, "server_shutdown_combined.json"), want);
}

#[test]
fn depth_update_and_rest_snapshot() {
    let mut p = BinanceParser::with_max_frame(Venue::Spot, 4096);
    let mut levels = Vec::new();
    let r = p
        .parse_with_levels(&fixture("spot_depth_update.json"), 5, &mut |s, px, q| {
            levels.push((s, px, q))
        })
        .unwrap();
    assert_eq!(
        r,
        Record::DepthDiff(DepthDiff {
            asset: Asset::Btc,
            venue: Venue::Spot,
            first_update_id: 50_093_239_189,
            final_update_id: 50_093_239_202,
            prev_final_update_id: None,
            event_ts_ms: 1_723_161_255_208,
            bid_levels: 2,
            ask_levels: 3,
            recv_ns: 5,
        })
    );
    assert_eq!(levels.len(), 5);
    assert_eq!(levels[0], (BookSide::Bid, 6_173_763_000_000, 0));
    assert_eq!(levels[4], (BookSide::Ask, 6_193_764_000_000, 2_000_000));

    let mut f = BinanceParser::with_max_frame(Venue::Futures, 4096);
    assert_eq!(
        f.parse(&fixture("futures_rest_depth_snapshot.json"), 6),
        Ok(Record::DepthSnapshot(DepthSnapshot {
            asset: None,
            venue: Venue::Futures,
            last_update_id: 5_123_107_852_948,
            event_ts_ms: Some(1_723_161_256_501),
            bid_levels: 2,
            ask_levels: 1,
            recv_ns: 6,
        }))
    );
}

#[test]
fn unknown_stream_is_counted_and_skipped() {
    refused(
        Venue::Spot,
        "unknown_stream.json",
        ParseError::UnknownStream,
    );
}

#[test]
fn malformed_json_is_counted_and_skipped() {
    refused(Venue::Spot, "malformed.json", ParseError::InvalidJson);
}

#[test]
fn truncated_frame_is_counted_and_skipped() {
    refused(Venue::Spot, "truncated.json", ParseError::InvalidJson);
}

#[test]
fn number_where_string_expected_is_a_type_error() {
    refused(
        Venue::Spot,
        "numbers_as_numbers.json",
        ParseError::WrongType("p"),
    );
}

#[test]
fn missing_required_field() {
    refused(
        Venue::Spot,
        "missing_field.json",
        ParseError::MissingField("p"),
    );
}

#[test]
fn inexact_decimal_is_refused_not_rounded() {
    refused(
        Venue::Spot,
        "inexact_decimal.json",
        ParseError::BadDecimal {
            field: "p",
            err: FixedError::Inexact,
        },
    );
}

#[test]
fn huge_frame_is_refused_without_growing_buffers() {
    // A real depth frame padded with thousands of extra levels, past the default frame limit.
    let base = fixture("spot_depth_update.json");
    let mut huge = Vec::with_capacity(DEFAULT_MAX_FRAME + 64 * 1024);
    let split = base.windows(6).position(|w| w == b"\"a\":[[").unwrap() + 5;
    huge.extend_from_slice(&base[..split]);
    while huge.len() <= DEFAULT_MAX_FRAME {
        huge.extend_from_slice(br#"["61999.99000000","0.00100000"],"#);
    }
    huge.extend_from_slice(&base[split..]);
    assert!(huge.len() > DEFAULT_MAX_FRAME);
    serde_json::from_slice::<serde_json::Value>(&huge).expect("the huge frame is valid JSON");

    let mut p = BinanceParser::new(Venue::Spot);
    assert_eq!(
        p.parse(&huge, 1),
        Err(ParseError::FrameTooLarge {
            len: huge.len(),
            max: DEFAULT_MAX_FRAME
        })
    );
    assert_eq!(p.counts().errors(ParseErrorKind::FrameTooLarge), 1);
    assert!(matches!(
        p.parse(&fixture("spot_trade.json"), 2),
        Ok(Record::Trade(_))
    ));

    // A parser sized for it parses every level.
    let mut big = BinanceParser::with_max_frame(Venue::Spot, huge.len());
    let mut asks = 0u32;
    let r = big
        .parse_with_levels(&huge, 3, &mut |side, _, _| {
            if side == BookSide::Ask {
                asks += 1
            }
        })
        .unwrap();
    let Record::DepthDiff(d) = r else {
        panic!("{r:?}")
    };
    assert_eq!(d.ask_levels, asks);
    assert!(asks > 3_000);
}

#[test]
fn garbage_never_panics_and_both_paths_agree() {
    // Every prefix of every fixture, and copies with each byte replaced by several values, must
    // come back as Ok or a typed error, never a panic, and the scanner shortcut must give exactly
    // what the simd-json tape path gives.
    let dir = format!("{}/tests/fixtures/binance", env!("CARGO_MANIFEST_DIR"));
    let mut fast = BinanceParser::with_max_frame(Venue::Futures, 4096);
    let mut tape = BinanceParser::with_max_frame(Venue::Futures, 4096);
    tape.set_fast_path(false);
    let mut frames = 0u64;
    let mut check = |bytes: &[u8]| {
        assert_eq!(
            fast.parse(bytes, 9),
            tape.parse(bytes, 9),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
        frames += 1;
    };
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = fixture(entry.unwrap().file_name().to_str().unwrap());
        check(&bytes);
        for end in 0..bytes.len() {
            check(&bytes[..end]);
        }
        for i in 0..bytes.len() {
            for sub in [
                b' ', b'"', b'0', b'9', b'.', b'-', b'e', b'\\', b'{', b'[', b',', 0xc3, 0x01,
            ] {
                let mut b = bytes.clone();
                b[i] = sub;
                check(&b);
            }
        }
    }
    let c = fast.counts();
    assert_eq!(c.total_records() + c.total_errors(), frames);
    assert!(c.total_errors() > 0);
    assert!(c.fast_path() > 0);
    assert_eq!(tape.counts().fast_path(), 0);
    assert_eq!(c.total_errors(), tape.counts().total_errors());
}
