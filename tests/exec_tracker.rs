//! The order tracker: lifecycle from signing to terminal states, provisional fills confirmed or
//! reverted, partial fills, reservations and available balances, unknown outcomes reconciled
//! without a resend, REST replays idempotent, capacity exhaustion a clear error.

use std::borrow::Cow;

use sattebaaz::exec::events::{MakerOrders, OrderEvent, TradeEvent};
use sattebaaz::exec::json::{order_id_text, LooseU64, Micros};
use sattebaaz::exec::orders::{FeeParams, OrderState, Tracker, TrackerConfig, TrackerError};
use sattebaaz::exec::rest::responses::parse_order_response;
use sattebaaz::exec::signing::amounts::Side;
use sattebaaz::exec::signing::order::TokenId;

const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const KEY: &str = "our-api-key";

fn token() -> [u8; 32] {
    *TokenId::parse(TOKEN).unwrap().word()
}

fn tracker(capacity: usize, fee_rate_micros: u64) -> Tracker {
    let mut t = Tracker::new(TrackerConfig {
        order_capacity: capacity,
        trade_capacity: 64,
        token_capacity: 8,
        taker_fee_rate_micros: fee_rate_micros,
        api_key: KEY.into(),
    });
    t.set_collateral(100_000_000); // $100
    t
}

fn id_text(id: &[u8; 32]) -> String {
    String::from_utf8(order_id_text(id).to_vec()).unwrap()
}

fn trade<'a>(
    trade_id: &'a str,
    taker: &'a str,
    side: &'a str,
    size: u64,
    price: u64,
    status: &'a str,
) -> TradeEvent<'a> {
    TradeEvent {
        event_type: Cow::Borrowed("trade"),
        id: Cow::Borrowed(trade_id),
        taker_order_id: Cow::Borrowed(taker),
        asset_id: Cow::Borrowed(TOKEN),
        side: Cow::Borrowed(side),
        size: Micros(size),
        price: Micros(price),
        status: Cow::Borrowed(status),
        trader_side: Cow::Borrowed("TAKER"),
        ..TradeEvent::default()
    }
}

fn ack(json: &str) -> sattebaaz::exec::rest::responses::OrderAck {
    parse_order_response(json.as_bytes()).unwrap()
}

#[test]
fn buy_reserves_collateral_and_fills_confirm_or_revert() {
    let mut t = tracker(16, 0);
    let id = [7u8; 32];
    t.on_signed(id, token(), Side::Buy, 500_000, 10_000_000, false)
        .unwrap();
    assert_eq!(t.get(&id).unwrap().state, OrderState::Pending);
    assert_eq!(t.reserved_collateral(), 5_000_000);
    assert_eq!(t.available_collateral(), 95_000_000);

    t.on_ack(
        &id,
        &ack(&format!(
            r#"{{"success":true,"errorMsg":"","orderID":"{}","status":"live"}}"#,
            id_text(&id)
        )),
    );
    assert_eq!(t.get(&id).unwrap().state, OrderState::Live);

    // A provisional 4-share fill: reservation shrinks, provisional spend grows, total unchanged.
    let oid = id_text(&id);
    t.on_trade_event(&trade("t1", &oid, "BUY", 4_000_000, 500_000, "MATCHED"))
        .unwrap();
    let rec = *t.get(&id).unwrap();
    assert_eq!(rec.state, OrderState::PartiallyFilled);
    assert_eq!(rec.trade_filled, 4_000_000);
    assert_eq!(t.reserved_collateral(), 3_000_000);
    assert_eq!(t.positions().collateral_provisional_spent(), 2_000_000);
    assert_eq!(t.available_collateral(), 95_000_000);
    assert_eq!(t.positions().token(&token()).provisional_bought, 4_000_000);
    assert_eq!(t.positions().token(&token()).confirmed, 0);

    // RETRYING keeps it provisional; FAILED reverts it and the order's fill.
    t.on_trade_event(&trade("t1", &oid, "BUY", 4_000_000, 500_000, "RETRYING"))
        .unwrap();
    assert_eq!(t.positions().collateral_provisional_spent(), 2_000_000);
    t.on_trade_event(&trade("t1", &oid, "BUY", 4_000_000, 500_000, "FAILED"))
        .unwrap();
    assert_eq!(t.positions().collateral_provisional_spent(), 0);
    assert_eq!(t.positions().token(&token()).provisional_bought, 0);
    assert_eq!(t.get(&id).unwrap().trade_filled, 0);
    assert_eq!(t.get(&id).unwrap().state, OrderState::Live);
    assert_eq!(t.reserved_collateral(), 5_000_000);
    assert_eq!(t.counters().fills_reverted, 1);
    // A replay of the terminal status changes nothing.
    t.on_trade_event(&trade("t1", &oid, "BUY", 4_000_000, 500_000, "FAILED"))
        .unwrap();
    assert_eq!(t.get(&id).unwrap().trade_filled, 0);

    // A second trade fills everything and confirms: settled state moves.
    t.on_trade_event(&trade("t2", &oid, "BUY", 10_000_000, 500_000, "MATCHED"))
        .unwrap();
    assert_eq!(t.get(&id).unwrap().state, OrderState::Matched);
    assert_eq!(t.reserved_collateral(), 0);
    assert_eq!(t.open_orders(), 0);
    t.on_trade_event(&trade("t2", &oid, "BUY", 10_000_000, 500_000, "MINED"))
        .unwrap();
    t.on_trade_event(&trade("t2", &oid, "BUY", 10_000_000, 500_000, "CONFIRMED"))
        .unwrap();
    assert_eq!(t.positions().collateral_confirmed(), 95_000_000);
    assert_eq!(t.positions().collateral_provisional_spent(), 0);
    assert_eq!(t.positions().token(&token()).confirmed, 10_000_000);
    assert_eq!(t.available_collateral(), 95_000_000);
    // REST replay of the same confirmed trade after a reconnect: idempotent.
    t.on_trade_event(&trade("t2", &oid, "BUY", 10_000_000, 500_000, "CONFIRMED"))
        .unwrap();
    assert_eq!(t.positions().token(&token()).confirmed, 10_000_000);
    assert!(t.counters().trade_replays >= 1);
}

#[test]
fn buy_reservation_includes_taker_fee_headroom_and_taker_fee_is_taken_in_tokens() {
    let mut t = tracker(16, 72_000);
    let id = [8u8; 32];
    t.on_signed(id, token(), Side::Buy, 500_000, 100_000_000, false)
        .unwrap();
    // $50 notional + $1.80 fee headroom.
    assert_eq!(t.reserved_collateral(), 51_800_000);
    let oid = id_text(&id);
    t.on_trade_event(&trade("f1", &oid, "BUY", 100_000_000, 500_000, "CONFIRMED"))
        .unwrap();
    assert_eq!(t.reserved_collateral(), 0);
    assert_eq!(t.positions().collateral_confirmed(), 50_000_000);
    // 1.8 USD fee at 0.5 = 3.6 tokens fewer.
    assert_eq!(t.positions().token(&token()).confirmed, 96_400_000);
}

#[test]
fn sells_reserve_tokens_and_maker_legs_are_attributed_by_owner() {
    let mut t = tracker(16, 0);
    t.set_token_balance(&token(), 20_000_000).unwrap();
    let id = [9u8; 32];
    t.on_signed(id, token(), Side::Sell, 600_000, 15_000_000, false)
        .unwrap();
    assert_eq!(t.positions().token(&token()).reserved_for_sells, 15_000_000);
    assert_eq!(t.positions().token(&token()).available_to_sell(), 5_000_000);
    // We are the maker: the trade's taker is someone else; our leg is found by owner.
    let oid = id_text(&id);
    let mut ev = trade("m1", "0xdead", "BUY", 6_000_000, 600_000, "MATCHED");
    ev.trader_side = Cow::Borrowed("MAKER");
    let json = format!(
        r#"[{{"order_id":"{oid}","owner":"{KEY}","matched_amount":"6","price":"0.6","asset_id":"{TOKEN}","side":"SELL"}},{{"order_id":"0x{}","owner":"stranger","matched_amount":"1","price":"0.6","side":"SELL"}}]"#,
        "ee".repeat(32)
    );
    let makers: MakerOrders<'_> = serde_json::from_str(&json).unwrap();
    ev.maker_orders = makers;
    t.on_trade_event(&ev).unwrap();
    let pos = t.positions().token(&token());
    assert_eq!(pos.provisional_sold, 6_000_000);
    assert_eq!(pos.reserved_for_sells, 9_000_000);
    assert_eq!(pos.available_to_sell(), 5_000_000);
    assert_eq!(t.get(&id).unwrap().state, OrderState::PartiallyFilled);
    // Provisional SELL proceeds are not spendable yet.
    assert_eq!(t.available_collateral(), 100_000_000);
    ev.status = Cow::Borrowed("CONFIRMED");
    t.on_trade_event(&ev).unwrap();
    assert_eq!(t.positions().collateral_confirmed(), 103_600_000);
    assert_eq!(t.positions().token(&token()).confirmed, 14_000_000);
    // Cancel the rest: its reservation is released.
    t.on_canceled(&id);
    assert_eq!(t.get(&id).unwrap().state, OrderState::Canceled);
    assert_eq!(t.positions().token(&token()).reserved_for_sells, 0);
}

#[test]
fn order_events_drive_states_and_adopt_unknown_orders() {
    let mut t = tracker(16, 0);
    let id = [0x1a; 32];
    let oid = id_text(&id);
    let ev = |kind: &'static str, status: &'static str, matched: u64| OrderEvent {
        event_type: Cow::Borrowed("order"),
        kind: Cow::Borrowed(kind),
        id: Cow::Owned(oid.clone()),
        asset_id: Cow::Borrowed(TOKEN),
        side: Cow::Borrowed("BUY"),
        original_size: Micros(10_000_000),
        size_matched: Micros(matched),
        price: Micros(520_000),
        status: Cow::Borrowed(status),
        order_type: Cow::Borrowed("GTC"),
        timestamp: LooseU64(1),
        ..OrderEvent::default()
    };
    // Placed before a restart: adopted from the PLACEMENT event.
    t.on_order_event(&ev("PLACEMENT", "LIVE", 0));
    assert_eq!(t.counters().adopted, 1);
    assert_eq!(t.get(&id).unwrap().state, OrderState::Live);
    assert_eq!(t.reserved_collateral(), 5_200_000);
    t.on_order_event(&ev("UPDATE", "LIVE", 4_000_000));
    assert_eq!(t.get(&id).unwrap().state, OrderState::PartiallyFilled);
    assert_eq!(t.get(&id).unwrap().matched(), 4_000_000);
    // Reservation stays until our trade events arrive (conservative).
    assert_eq!(t.reserved_collateral(), 5_200_000);
    t.on_order_event(&ev("CANCELLATION", "CANCELED", 4_000_000));
    assert_eq!(t.get(&id).unwrap().state, OrderState::Canceled);
    assert_eq!(t.reserved_collateral(), 0);
    assert_eq!(t.open_orders(), 0);
}

#[test]
fn unknown_outcome_is_reconciled_without_a_resend() {
    let mut t = tracker(16, 0);
    let placed = [1u8; 32];
    let lost = [2u8; 32];
    for id in [placed, lost] {
        t.on_signed(id, token(), Side::Buy, 500_000, 2_000_000, false)
            .unwrap();
        t.on_unknown(&id);
        assert_eq!(t.get(&id).unwrap().state, OrderState::Unknown);
    }
    // Unknown orders keep their reservation.
    assert_eq!(t.reserved_collateral(), 2_000_000);
    // The venue knows the first (live), not the second (never placed).
    let row = OrderEvent {
        id: Cow::Owned(id_text(&placed)),
        asset_id: Cow::Borrowed(TOKEN),
        side: Cow::Borrowed("BUY"),
        original_size: Micros(2_000_000),
        price: Micros(500_000),
        status: Cow::Borrowed("LIVE"),
        ..OrderEvent::default()
    };
    t.on_reconciled(&placed, Some(&row));
    t.on_reconciled(&lost, None);
    assert_eq!(t.get(&placed).unwrap().state, OrderState::Live);
    assert_eq!(t.get(&lost).unwrap().state, OrderState::Rejected);
    assert_eq!(t.reserved_collateral(), 1_000_000);
    // Re-signing the same digest is refused: an order id is tracked once.
    assert_eq!(
        t.on_signed(placed, token(), Side::Buy, 500_000, 2_000_000, false),
        Err(TrackerError::Duplicate)
    );
}

#[test]
fn rejected_and_immediate_orders_release_reservations() {
    let mut t = tracker(16, 0);
    let rejected = [3u8; 32];
    t.on_signed(rejected, token(), Side::Buy, 500_000, 2_000_000, false)
        .unwrap();
    t.on_ack(
        &rejected,
        &ack(r#"{"success":true,"errorMsg":"","orderID":"","status":""}"#),
    );
    assert_eq!(t.get(&rejected).unwrap().state, OrderState::Rejected);
    let fak = [4u8; 32];
    t.on_signed(fak, token(), Side::Buy, 500_000, 2_000_000, true)
        .unwrap();
    t.on_ack(
        &fak,
        &ack(&format!(
            r#"{{"success":true,"errorMsg":"","orderID":"{}","status":"matched"}}"#,
            id_text(&fak)
        )),
    );
    assert_eq!(t.get(&fak).unwrap().state, OrderState::Matched);
    let delayed = [5u8; 32];
    t.on_signed(delayed, token(), Side::Buy, 500_000, 2_000_000, false)
        .unwrap();
    t.on_ack(&delayed, &ack(&format!(r#"{{"success":true,"errorMsg":"order match delayed due to market conditions","orderID":"{}","status":"delayed"}}"#, id_text(&delayed))));
    assert_eq!(t.get(&delayed).unwrap().state, OrderState::Delayed);
    assert_eq!(t.reserved_collateral(), 1_000_000);
    t.on_failed(&delayed);
    assert_eq!(t.reserved_collateral(), 0);

    // A delayed FAK that then matched part of its size: its trade ends it (the rest was
    // killed) even without an order update, so it neither stays open nor keeps a reservation.
    let fak_delayed = [6u8; 32];
    t.on_signed(fak_delayed, token(), Side::Buy, 500_000, 4_000_000, true)
        .unwrap();
    t.on_ack(&fak_delayed, &ack(&format!(r#"{{"success":true,"errorMsg":"order match delayed due to market conditions","orderID":"{}","status":"delayed"}}"#, id_text(&fak_delayed))));
    assert_eq!(t.get(&fak_delayed).unwrap().state, OrderState::Delayed);
    assert!(t.reserved_collateral() >= 2_000_000);
    let taker = id_text(&fak_delayed);
    t.on_trade_event(&trade(
        "t-fak-1", &taker, "BUY", 1_500_000, 500_000, "MATCHED",
    ))
    .unwrap();
    let r = t.get(&fak_delayed).unwrap();
    assert_eq!((r.state, r.trade_filled), (OrderState::Matched, 1_500_000));
    assert!(!r.state.is_open());
    assert_eq!(t.reserved_collateral(), 0);
    // A second bucket of the same match still books its shares.
    t.on_trade_event(&trade(
        "t-fak-2", &taker, "BUY", 500_000, 500_000, "MATCHED",
    ))
    .unwrap();
    assert_eq!(t.get(&fak_delayed).unwrap().trade_filled, 2_000_000);
}

#[test]
fn capacity_exhaustion_is_a_clear_error_and_terminal_orders_are_evicted() {
    let mut t = tracker(16, 0);
    for i in 0..16u8 {
        let mut id = [0u8; 32];
        id[0] = i;
        id[31] = 0xaa;
        t.on_signed(id, token(), Side::Buy, 10_000, 1_000_000, false)
            .unwrap();
    }
    let mut extra = [0u8; 32];
    extra[0] = 200;
    assert_eq!(
        t.on_signed(extra, token(), Side::Buy, 10_000, 1_000_000, false),
        Err(TrackerError::Full(16))
    );
    // Terminate three; the table makes room by evicting terminal orders, oldest first.
    for i in [3u8, 7, 11] {
        let mut id = [0u8; 32];
        id[0] = i;
        id[31] = 0xaa;
        t.on_failed(&id);
    }
    for k in 0..3u8 {
        let mut id = [0u8; 32];
        id[0] = 100 + k;
        t.on_signed(id, token(), Side::Buy, 10_000, 1_000_000, false)
            .unwrap();
    }
    assert_eq!(t.counters().evicted, 3);
    // Every open order is still found after the evictions (index intact).
    for i in 0..16u8 {
        let mut id = [0u8; 32];
        id[0] = i;
        id[31] = 0xaa;
        let found = t.get(&id).map(|r| r.state);
        if [3, 7, 11].contains(&i) {
            assert_eq!(found, None);
        } else {
            assert_eq!(found, Some(OrderState::Pending));
        }
    }
    assert_eq!(t.open_orders(), 16);
    assert!(matches!(
        t.on_signed(extra, token(), Side::Buy, 10_000, 1_000_000, false),
        Err(TrackerError::Full(_))
    ));
}

#[test]
fn shipped_exec_config_maps_onto_the_components() {
    let cfg = sattebaaz::config::Config::shipped().unwrap();
    let c = sattebaaz::exec::rest::client::ClientConfig::from_exec(&cfg.exec);
    assert_eq!(c.max_batch, cfg.exec.batch_size as usize);
    assert_eq!(
        c.order_timeout_ns,
        u64::from(cfg.exec.order_timeout_ms) * 1_000_000
    );
    let t = TrackerConfig::from_exec(&cfg.exec, "k");
    assert_eq!(t.order_capacity, cfg.exec.tracker_capacity as usize);
    assert_eq!(
        t.taker_fee_rate_micros,
        u64::from(cfg.exec.taker_fee_bps) * 100
    );
    let hb = sattebaaz::exec::heartbeat::HeartbeatSender::from_exec(&cfg.exec);
    assert_eq!(hb.next_due_ns(), 0, "the first beat is due at once");
    assert!(
        cfg.exec.heartbeat_interval_ms < 10_000,
        "beats well inside the 10 s switch"
    );
}

#[test]
fn the_markets_fee_parameters_replace_the_configured_rate_with_the_venues_rounding() {
    // Configured fallback 0: without the market's `fd`, no fee.
    let mut t = tracker(16, 0);
    let (buy, sell) = ([21u8; 32], [22u8; 32]);
    t.set_token_balance(&token(), 50_000_000).unwrap();
    t.on_signed(buy, token(), Side::Buy, 370_000, 7_000_000, true)
        .unwrap();
    t.on_signed(sell, token(), Side::Sell, 370_000, 7_000_000, true)
        .unwrap();
    assert_eq!(
        t.fee_params(&token()),
        FeeParams {
            rate_micros: 0,
            exponent: 1
        }
    );
    t.set_market_fee(
        &token(),
        FeeParams {
            rate_micros: 72_000,
            exponent: 1,
        },
    )
    .unwrap();
    // BUY 7 at 0.37: fee 7 × 0.072 × 0.63 = 0.31752 tokens (exact at 5 decimals).
    t.on_trade_event(&trade(
        "fb",
        &id_text(&buy),
        "BUY",
        7_000_000,
        370_000,
        "CONFIRMED",
    ))
    .unwrap();
    assert_eq!(
        t.positions().token(&token()).confirmed,
        50_000_000 + 7_000_000 - 317_520
    );
    assert_eq!(
        t.positions().collateral_confirmed(),
        100_000_000 - 2_590_000
    );
    // SELL 7 at 0.37: 7 × 0.072 × 0.37 × 0.63 = 0.1174824 → 0.11748 (half up at 5 decimals).
    t.on_trade_event(&trade(
        "fs",
        &id_text(&sell),
        "SELL",
        7_000_000,
        370_000,
        "CONFIRMED",
    ))
    .unwrap();
    assert_eq!(
        t.positions().collateral_confirmed(),
        100_000_000 - 2_590_000 + 2_590_000 - 117_480
    );
    // Other tokens still use the configured rate.
    assert_eq!(t.fee_params(&[9; 32]).rate_micros, 0);
}
