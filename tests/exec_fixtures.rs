//! The execution client's parsers on one captured-style fixture per response / event shape
//! (`tests/fixtures/exec/`): order answers (ok, matched, delayed, unmatched, every documented
//! error), batch legs (including `success:true` with an empty `orderID`), cancels, ledger
//! pages, balance, heartbeats, books and market data, API credentials, user-channel `order` /
//! `trade` events (objects and arrays, RETRYING / FAILED) and malformed input.

use sattebaaz::exec::events::{OrderEventType, TradeStatus, VenueOrderStatus};
use sattebaaz::exec::json::parse_order_id;
use sattebaaz::exec::rest::errors::{status_error, OrderRejectReason, RestError};
use sattebaaz::exec::rest::responses::*;
use sattebaaz::exec::user_channel::{parse_user_frame, UserChannelCounters, UserChannelEvent};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/exec/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn id(byte: u8) -> [u8; 32] {
    [byte; 32]
}

#[test]
fn single_order_answers() {
    let ok = parse_order_response(&fixture("order_ok.json")).unwrap();
    assert!(ok.accepted());
    assert_eq!(ok.order_id, Some(id(0x1a)));
    assert_eq!(ok.status, OrderStatus::Live);
    assert_eq!((ok.making_micros, ok.taking_micros), (0, 0));

    let matched = parse_order_response(&fixture("order_matched.json")).unwrap();
    assert!(matched.accepted());
    assert_eq!(matched.status, OrderStatus::Matched);
    assert_eq!(matched.making_micros, 5_200_000);
    assert_eq!(matched.taking_micros, 10_000_000);
    assert_eq!(matched.trade_ids, 1);

    let delayed = parse_order_response(&fixture("order_delayed.json")).unwrap();
    assert!(delayed.accepted(), "the delayed notice is not an error");
    assert!(delayed.delayed_notice);
    assert_eq!(delayed.status, OrderStatus::Delayed);

    let unmatched = parse_order_response(&fixture("order_unmatched.json")).unwrap();
    assert!(!unmatched.accepted(), "unmatched is not an accepted status");
}

#[test]
fn every_documented_error_message_is_classified() {
    use OrderRejectReason as R;
    let cases = [
        ("error_min_tick.json", R::MinTickSize),
        ("error_min_size.json", R::MinSize),
        ("error_duplicated.json", R::Duplicated),
        ("error_balance.json", R::NotEnoughBalance),
        ("error_expiration.json", R::InvalidExpiration),
        ("error_insert.json", R::CouldNotInsert),
        ("error_execution.json", R::CouldNotExecute),
        ("error_delaying.json", R::DelayFailed),
        ("error_fok.json", R::FokNotFilled),
        ("error_fak.json", R::FakNoMatch),
        ("error_not_ready.json", R::MarketNotReady),
        ("error_nonce.json", R::InvalidNonce),
        ("error_post_only_mode.json", R::PostOnlyMode),
        ("error_post_only_crosses.json", R::PostOnlyCrosses),
        ("error_post_only_type.json", R::PostOnlyType),
        ("error_version_mismatch.json", R::VersionMismatch),
    ];
    for (file, reason) in cases {
        let ack = parse_order_response(&fixture(file)).unwrap();
        assert!(!ack.accepted(), "{file}");
        assert_eq!(ack.error, Some(reason), "{file}");
    }
    assert_eq!(
        status_error(400, None, &fixture("error_http400.json")),
        Some(RestError::BadRequest(R::MinTickSize))
    );
    assert_eq!(
        status_error(425, None, b""),
        Some(RestError::EngineRestarting)
    );
    assert_eq!(
        status_error(503, None, b""),
        Some(RestError::TradingDisabled)
    );
    assert_eq!(status_error(401, None, b""), Some(RestError::Unauthorized));
}

#[test]
fn batch_legs_in_order_with_the_empty_order_id_rule() {
    let mut legs = Vec::new();
    let n =
        parse_batch_response(&fixture("batch_mixed.json"), |i, ack| legs.push((i, ack))).unwrap();
    assert_eq!(n, 4);
    assert!(legs[0].1.accepted());
    assert!(
        legs[1].1.success && !legs[1].1.accepted(),
        "success:true + empty orderID"
    );
    assert_eq!(legs[2].1.error, Some(OrderRejectReason::NotEnoughBalance));
    assert!(legs[3].1.accepted());
    assert_eq!(legs[3].1.order_id, Some(id(0x3c)));
    assert_eq!(
        legs.iter().map(|l| l.0).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
}

#[test]
fn cancel_answers() {
    let mut seen = Vec::new();
    let s = parse_cancel_response(&fixture("cancel.json"), |id, reason| {
        seen.push((id, reason.map(str::to_owned)))
    })
    .unwrap();
    assert_eq!((s.canceled, s.not_canceled, s.bad_ids), (2, 1, 0));
    assert_eq!(seen[0], (id(0x1a), None));
    assert_eq!(seen[2].0, id(0x3c));
    assert!(seen[2].1.as_deref().unwrap().contains("already canceled"));
    let empty = parse_cancel_response(&fixture("cancel_empty.json"), |_, _| panic!()).unwrap();
    assert_eq!(empty, CancelSummary::default());
}

#[test]
fn ledger_pages() {
    let mut rows = Vec::new();
    let page = parse_orders_page(&fixture("orders_page.json"), |r| {
        rows.push((
            parse_order_id(&r.id).unwrap(),
            r.venue_status(),
            r.original_size.0,
            r.size_matched.0,
            r.price.0,
        ))
    })
    .unwrap();
    assert_eq!(page.next_cursor, "Mg==");
    assert!(!page.is_last());
    assert_eq!(page.rows, 2);
    assert_eq!(
        rows[0],
        (id(0x1a), VenueOrderStatus::Live, 10_000_000, 0, 520_000)
    );
    assert_eq!(rows[1].3, 5_000_000);
    let last = parse_orders_page(&fixture("orders_page_last.json"), |_| panic!()).unwrap();
    assert!(last.is_last());

    let mut trades = Vec::new();
    let page = parse_trades_page(&fixture("trades_page.json"), |t| {
        trades.push((t.trade_status(), t.size.0, t.maker_orders.as_slice().len()))
    })
    .unwrap();
    assert!(page.is_last());
    assert_eq!(trades, vec![(TradeStatus::Confirmed, 10_000_000, 1)]);
}

#[test]
fn account_and_market_data() {
    assert_eq!(
        parse_balance_allowance(&fixture("balance.json"))
            .unwrap()
            .balance_micros,
        125_000_000
    );
    assert_eq!(
        parse_heartbeat(&fixture("heartbeat_ok.json")).unwrap(),
        HeartbeatAnswer::Accepted {
            heartbeat_id: "7f3c2a4e-55b1-4c1e-8c2d-7a9b0e1f2d3c".into()
        }
    );
    assert_eq!(
        parse_heartbeat(&fixture("heartbeat_invalid_id.json")).unwrap(),
        HeartbeatAnswer::InvalidId {
            expected_id: "0d9e8f7a-1b2c-4d3e-8f9a-0b1c2d3e4f5a".into()
        }
    );
    let book = parse_book(&fixture("book.json")).unwrap();
    assert_eq!(book.bids[0].price.0, 500_000, "best bid first");
    assert_eq!(book.asks[0].price.0, 520_000, "best ask first");
    assert_eq!(book.tick_size.0, 10_000);
    assert_eq!(book.timestamp.0, 1_700_000_000_123);
    assert_eq!(
        parse_midpoint(&fixture("midpoint_mid.json")).unwrap().0,
        515_000
    );
    assert_eq!(
        parse_midpoint(&fixture("midpoint_mid_price.json"))
            .unwrap()
            .0,
        515_000
    );
    assert_eq!(
        parse_tick_size(&fixture("tick_size.json")).unwrap().0,
        10_000
    );
    assert_eq!(parse_time(&fixture("time.txt")).unwrap(), 1_700_000_000);
    assert_eq!(parse_version(&fixture("version.json")).unwrap(), 2);
    let m = parse_clob_market(&fixture("clob_market.json")).unwrap();
    assert_eq!(m.tokens.len(), 2);
    assert_eq!(m.tokens[1].outcome, "Down");
    assert_eq!(m.fees.rate.0, 72_000);
    assert!(m.fees.taker_only);
    let creds = parse_api_key(&fixture("api_key.json")).unwrap();
    assert_eq!(creds.api_key, "f4f247b7-4ac7-ff29-a152-04fda0a8755a");
    let dbg = format!("{creds:?}");
    assert!(!dbg.contains(&creds.secret) && !dbg.contains(&creds.passphrase));
}

#[test]
fn malformed_answers_are_errors_not_panics() {
    assert!(parse_order_response(&fixture("malformed_truncated.json")).is_err());
    assert!(parse_batch_response(b"[{\"success\":true},", |_, _| {}).is_err());
    assert!(parse_cancel_response(b"[1,2]", |_, _| {}).is_err());
    assert!(parse_orders_page(b"{\"data\":[{\"original_size\":\"-3\"}]}", |_| {}).is_err());
    assert!(parse_heartbeat(b"{}").is_err());
    assert!(parse_book(b"\xff\xfe").is_err());
}

/// What a user frame delivered, as owned summaries.
fn user_events(name: &str) -> (Vec<String>, UserChannelCounters) {
    let bytes = fixture(name);
    let mut counters = UserChannelCounters::default();
    let mut out = Vec::new();
    parse_user_frame(&bytes, &mut counters, &mut |ev| match ev {
        UserChannelEvent::Order(o) => out.push(format!(
            "order {:?} {:?} matched={}",
            o.event_type(),
            o.venue_status(),
            o.size_matched.0
        )),
        UserChannelEvent::Trade(t) => out.push(format!(
            "trade {} {:?} size={} makers={}",
            t.id,
            t.trade_status(),
            t.size.0,
            t.maker_orders.as_slice().len()
        )),
        UserChannelEvent::Reconnected => out.push("reconnected".into()),
    });
    (out, counters)
}

#[test]
fn user_order_events() {
    let (ev, c) = user_events("user_order_placement.json");
    assert_eq!(
        ev,
        vec![format!(
            "order {:?} {:?} matched=0",
            OrderEventType::Placement,
            VenueOrderStatus::Live
        )]
    );
    assert_eq!((c.orders, c.malformed), (1, 0));
    let (ev, _) = user_events("user_order_update.json");
    assert!(ev[0].contains("Update") && ev[0].contains("matched=4000000"));
    let (ev, _) = user_events("user_order_cancellation.json");
    assert!(ev[0].contains("Cancellation") && ev[0].contains("Canceled"));
}

#[test]
fn user_trade_events_single_array_and_statuses() {
    let (ev, _) = user_events("user_trade_matched.json");
    assert_eq!(
        ev,
        vec!["trade trade-0001 Matched size=4000000 makers=1".to_string()]
    );
    let (ev, c) = user_events("user_trade_array.json");
    assert_eq!(ev.len(), 2);
    assert!(ev[0].starts_with("trade trade-0002 Mined"));
    assert!(ev[1].contains("Matched"));
    assert_eq!((c.trades, c.orders, c.other), (1, 1, 1));
    let (ev, _) = user_events("user_trade_retrying.json");
    assert!(ev[0].contains("Retrying"));
    let (ev, _) = user_events("user_trade_failed.json");
    assert!(ev[0].contains("Failed"));
    let (ev, _) = user_events("user_trade_confirmed.json");
    assert!(ev[0].contains("Confirmed"));
}

#[test]
fn malformed_user_frames_are_counted() {
    // Complete elements before the truncation are delivered; the truncation is counted.
    let (ev, c) = user_events("user_malformed_truncated.json");
    assert_eq!(ev.len(), 1);
    assert!(ev[0].starts_with("order"));
    assert_eq!((c.orders, c.trades, c.malformed), (1, 0, 1));
    let (ev, c) = user_events("user_wrong_types.json");
    assert!(ev.is_empty());
    assert_eq!(c.malformed, 1);
    let mut counters = UserChannelCounters::default();
    for junk in [&b""[..], b"PONG", b"[1,2]", b"{{{{", b"]"] {
        parse_user_frame(junk, &mut counters, &mut |_| panic!("no event from junk"));
    }
    assert_eq!(counters.malformed, 5);
}
