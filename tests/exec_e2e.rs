//! The engine's execution side end to end against the in-process simulated exchange over TLS:
//! the non-blocking order client on a mio poll loop (blocking-poll mode), the user channel and
//! the order tracker, with REST reconciliation after every user-channel (re)connect.
//!
//! Covered: single and batch submits (split above 15) tracked Live and listed by
//! `/data/orders`; fills against the crowd (GTC partial, FAK partial, FOK killed, post-only
//! crossing refused with its typed error); cancel one / many / all; answers delayed beyond the
//! client's timeout and connections dropped after processing, reconciled by order hash and never
//! POSTed twice; the kill switch; 425 then the post-only window; 429 with `Retry-After` held and
//! resent; the heartbeat dead-man switch; a FAILED trade reverted on both sides; the user
//! channel dropped while trades happen, recovered by REST reconciliation; and at the end of every
//! test with fills, the tracker's positions and collateral equal the simulator's ledger exactly
//! (fees included, the fee parameters read from `/clob-markets`).
//!
//! Every wait is a condition with a generous deadline; no test asserts a duration.

#[path = "common/exec_e2e.rs"]
mod e2e;

use std::time::{Duration, Instant};

use e2e::*;
use sattebaaz::clock::mono_ns;
use sattebaaz::exec::json::OrderId;
use sattebaaz::exec::orders::{FeeParams, OrderState};
use sattebaaz::exec::rest::errors::{LocalRefusal, OrderRejectReason, RestError};
use sattebaaz::exec::rest::requests::LedgerFilter;
use sattebaaz::exec::rest::responses::OrderStatus;
use sattebaaz::exec::signing::amounts::Side;
use sattebaaz::exec::signing::order::OrderType;
use sattebaaz::sim::exchange::faults::EngineMode;
use sattebaaz::sim::exchange::ratelimit::BucketSpec;
use sattebaaz::sim::exchange::ExchangeOptions;

const KEY: [u8; 32] = [0x31; 32];
const SHARE: u64 = 1_000_000;

fn cent(c: u64) -> u64 {
    c * 10_000
}

fn open_order_ids(engine: &mut Engine) -> Vec<String> {
    let filter = LedgerFilter {
        market: "",
        asset_id: "",
        id: "",
    };
    let mut ids = Vec::new();
    engine
        .blocking
        .all_open_orders(&filter, |row| ids.push(row.id.to_ascii_lowercase()))
        .expect("GET /data/orders");
    ids
}

fn rejected_with(engine: &Engine, id: &OrderId, reason: OrderRejectReason) -> bool {
    match engine.outcome(id) {
        Some(Seen::Failed(_, RestError::BadRequest(r))) => *r == reason,
        Some(Seen::Ack {
            success: false,
            error: Some(r),
            ..
        }) => *r == reason,
        _ => false,
    }
}

#[test]
fn submits_fills_cancels_and_the_ledger_agree() {
    let sim = start_sim("flow", fast_exchange());
    let (up, down, condition) = next_market(&sim);
    let mut e = Engine::start(&sim, KEY, &[condition.as_str()], EngineSetup::default());
    // The market's fee parameters, not the (zero) configured fallback.
    let fee = e.learn_market_fees(&condition);
    assert_eq!(
        fee,
        FeeParams {
            rate_micros: 72_000,
            exponent: 1
        }
    );

    // 1. A single submit and a batch of 17 (split into 15 + 2), all resting far from the touch.
    let single = e.place(&up, Side::Buy, cent(20), 10 * SHARE, OrderType::Gtc, false);
    let levels: Vec<(u64, u64)> = (0..17).map(|i| (cent(5 + i % 10), 5 * SHARE)).collect();
    let (batch, requests) = e.place_batch(&down, Side::Buy, &levels);
    assert_eq!(requests, 2, "17 orders go out as 15 + 2");
    let mut all = batch.clone();
    all.push(single);
    e.run_until("every resting order acked Live", |e| {
        all.iter()
            .all(|id| e.state(id) == OrderState::Live && e.acked(id).is_some())
    });
    for id in &all {
        assert!(
            matches!(
                e.acked(id),
                Some(Seen::Ack {
                    success: true,
                    status: OrderStatus::Live,
                    ..
                })
            ),
            "{:?}",
            e.acked(id)
        );
    }
    let listed = open_order_ids(&mut e);
    for id in &all {
        assert!(listed.contains(&id_text(id)), "{} listed", id_text(id));
    }
    assert_eq!(listed.len(), 18);
    assert_eq!(e.client.counters().submits_sent, 3);

    // 2. Fills against the crowd. A GTC BUY crossing the asks for more than they hold: part
    // fills, the rest rests.
    let ask = up_best_ask(&sim, &condition);
    let price_milli = (ask + 20).min(990) / 10 * 10;
    let available = up_fillable(&sim, &condition, price_milli);
    assert!(
        available > 0,
        "the crowd offers Up at or below {price_milli}"
    );
    let gtc_size = (available * 2 / SHARE + 100) * SHARE;
    let gtc = e.place(
        &up,
        Side::Buy,
        u64::from(price_milli) * 1_000,
        gtc_size,
        OrderType::Gtc,
        false,
    );
    e.run_until("the crossing GTC answered", |e| e.outcome(&gtc).is_some());
    match e.outcome(&gtc) {
        // Part filled at once (shares received after the fee, fewer than ordered); the rest
        // rests (and may trade later with the crowd's new asks).
        Some(Seen::Ack {
            success: true,
            status: OrderStatus::Matched,
            taking,
            ..
        }) => assert!(*taking > 0 && *taking < gtc_size),
        other => panic!("crossing GTC: {other:?}"),
    }
    e.run_until("the GTC's fills reach the tracker", |e| {
        e.tracker.get(&gtc).unwrap().matched() > 0
    });
    assert!(matches!(
        e.state(&gtc),
        OrderState::PartiallyFilled | OrderState::Matched
    ));
    // Post-only crossing the asks still offered: refused, typed.
    let po = e.place(&up, Side::Buy, cent(80), 10 * SHARE, OrderType::Gtc, true);
    e.run_until("post-only answered", |e| e.outcome(&po).is_some());
    assert!(
        rejected_with(&e, &po, OrderRejectReason::PostOnlyCrosses),
        "{:?}",
        e.outcome(&po)
    );
    assert_eq!(e.state(&po), OrderState::Rejected);

    // FAK far above the asks and larger than the side: partial fill, the rest killed.
    // (Below 0.86: our Down bids at 0.05–0.14 are Up asks at 0.86–0.95 and would mint.)
    let fak = e.place(
        &up,
        Side::Buy,
        cent(80),
        50_000 * SHARE,
        OrderType::Fak,
        false,
    );
    e.run_until("FAK answered", |e| e.outcome(&fak).is_some());
    match e.outcome(&fak) {
        Some(Seen::Ack {
            success: true,
            status: OrderStatus::Matched,
            making,
            taking,
            ..
        }) => assert!(*making > 0 && *taking > 0 && *taking < 50_000 * SHARE),
        other => panic!("FAK: {other:?}"),
    }
    e.run_until("FAK's fills reach the tracker", |e| {
        e.tracker.get(&fak).unwrap().matched() > 0
    });
    assert_eq!(e.state(&fak), OrderState::Matched);
    // FOK larger than the book: killed, typed.
    let fok = e.place(
        &up,
        Side::Buy,
        cent(80),
        100_000 * SHARE,
        OrderType::Fok,
        false,
    );
    e.run_until("FOK answered", |e| e.outcome(&fok).is_some());
    assert!(
        rejected_with(&e, &fok, OrderRejectReason::FokNotFilled),
        "{:?}",
        e.outcome(&fok)
    );
    assert_eq!(e.state(&fok), OrderState::Rejected);
    // 3. Cancel one, cancel many, cancel all.
    e.cancel(&single);
    e.run_until("single canceled", |e| {
        e.state(&single) == OrderState::Canceled
    });
    e.cancel_many(&batch[..5]);
    e.run_until("five canceled", |e| {
        batch[..5]
            .iter()
            .all(|id| e.state(id) == OrderState::Canceled)
    });
    assert!(batch[5..].iter().all(|id| e.state(id) == OrderState::Live));
    e.cancel_all();
    e.run_until("everything canceled", |e| {
        batch.iter().all(|id| e.state(id) == OrderState::Canceled) && !e.state(&gtc).is_open()
    });
    assert!(open_order_ids(&mut e).is_empty());
    assert_eq!(e.tracker.open_orders(), 0);
    assert_eq!(e.tracker.reserved_collateral(), 0);

    // 10. Positions and collateral equal the simulator's ledger, fees included.
    assert_ledger_agrees(&mut e, &sim);
    let snap = sim.ledger_snapshot(&e.account());
    assert!(
        snap.fees_paid_tokens.values().sum::<i64>() > 0,
        "taker fees were charged"
    );
    assert!(snap.collateral < STARTING_COLLATERAL);
}

#[test]
fn unknown_outcomes_are_reconciled_by_hash_and_never_resent() {
    let sim = start_sim("unknown", fast_exchange());
    let (up, _down, condition) = next_market(&sim);
    let mut e = Engine::start(&sim, KEY, &[condition.as_str()], EngineSetup::default());

    // An answer later than the client's order timeout.
    sim.exchange_control
        .delay_next_responses(1, Duration::from_millis(4_000));
    let late = e.place(&up, Side::Buy, cent(21), 10 * SHARE, OrderType::Gtc, false);
    e.run_until("the late submit reconciled", |e| {
        e.log.contains(&Seen::Reconciled(late, true))
    });
    assert!(
        matches!(
            e.log
                .iter()
                .find(|s| matches!(s, Seen::Unknown(i, _) if *i == late)),
            Some(Seen::Unknown(_, RestError::OutcomeUnknown(_)))
        ),
        "{:?}",
        e.log
    );
    assert_eq!(e.state(&late), OrderState::Live);

    // A connection dropped after the venue processed the order.
    sim.exchange_control.drop_next_responses(1);
    let dropped = e.place(&up, Side::Buy, cent(22), 10 * SHARE, OrderType::Gtc, false);
    e.run_until("the dropped submit reconciled", |e| {
        e.log.contains(&Seen::Reconciled(dropped, true))
    });
    assert_eq!(e.state(&dropped), OrderState::Live);

    // Both placed exactly once, POSTed exactly once each.
    assert_eq!(sim_order_count(&sim, &late), 1);
    assert_eq!(sim_order_count(&sim, &dropped), 1);
    assert_eq!(e.client.counters().submits_sent, 2);
    assert_eq!(e.client.counters().orders_unknown, 2);
    let listed = open_order_ids(&mut e);
    assert!(listed.contains(&id_text(&late)) && listed.contains(&id_text(&dropped)));
    // The late answer, arriving after the timeout, changed nothing.
    e.run_for(Duration::from_millis(200));
    assert_eq!(e.state(&late), OrderState::Live);
    // The kill switch (its own connection) cancels both; the tracker follows its answer.
    assert_eq!(e.fire_kill_switch(), 2);
    assert_eq!(e.state(&late), OrderState::Canceled);
    assert_eq!(e.state(&dropped), OrderState::Canceled);
    assert!(open_order_ids(&mut e).is_empty());
    assert_ledger_agrees(&mut e, &sim);
}

#[test]
fn engine_restart_then_post_only_window() {
    let sim = start_sim("restart", fast_exchange());
    let (up, _down, condition) = next_market(&sim);
    let mut e = Engine::start(&sim, KEY, &[condition.as_str()], EngineSetup::default());
    let resting = e.place(&up, Side::Buy, cent(20), 10 * SHARE, OrderType::Gtc, false);
    e.run_until("resting order Live", |e| {
        e.state(&resting) == OrderState::Live
    });

    sim.exchange_control
        .inject_restart(Duration::from_millis(1_500), Duration::from_millis(2_500));
    let refused = e.place(&up, Side::Buy, cent(21), 10 * SHARE, OrderType::Gtc, false);
    e.run_until("425 answered", |e| e.outcome(&refused).is_some());
    assert_eq!(
        e.outcome(&refused),
        Some(&Seen::Failed(refused, RestError::EngineRestarting))
    );
    assert_eq!(e.state(&refused), OrderState::Rejected);
    assert!(e.client.in_post_only_window(mono_ns()));
    // Non-post-only submits are refused locally inside the window.
    let taker = e.sign(&up, Side::Buy, cent(22), 10 * SHARE, OrderType::Gtc);
    assert_eq!(
        e.submit(&up, &taker, OrderType::Gtc, false),
        Err(RestError::Refused(LocalRefusal::PostOnlyWindow))
    );
    assert_eq!(e.state(&taker.order_id), OrderState::Rejected);
    assert_eq!(sim_order_count(&sim, &taker.order_id), 0);

    // Once the venue is in its post-only phase, post-only orders and cancels go out.
    e.run_until("venue in post-only mode", |_| {
        sim.exchange_control.mode(Instant::now()) == EngineMode::PostOnly
    });
    let maker = e.place(&up, Side::Buy, cent(23), 10 * SHARE, OrderType::Gtc, true);
    e.run_until("post-only order Live", |e| {
        e.state(&maker) == OrderState::Live
    });
    e.cancel(&resting);
    e.run_until("cancel went through", |e| {
        e.state(&resting) == OrderState::Canceled
    });

    // After both windows, normal trading resumes.
    e.run_until("venue and client windows over", |e| {
        sim.exchange_control.mode(Instant::now()) == EngineMode::Normal
            && !e.client.in_post_only_window(mono_ns())
    });
    let normal = e.place(&up, Side::Buy, cent(24), 10 * SHARE, OrderType::Gtc, false);
    e.run_until("normal order Live", |e| {
        e.state(&normal) == OrderState::Live
    });
    assert_eq!(e.client.counters().engine_restarts, 1);
    e.cancel_all();
    e.run_until("all canceled", |e| e.tracker.open_orders() == 0);
    assert_ledger_agrees(&mut e, &sim);
}

#[test]
fn rate_limited_submit_is_held_and_resent_after_retry_after() {
    let sim = start_sim(
        "ratelimit",
        ExchangeOptions {
            order_rate: BucketSpec {
                rate_per_s: 1.0,
                burst: 3.0,
            },
            ..fast_exchange()
        },
    );
    let (up, _down, condition) = next_market(&sim);
    let mut e = Engine::start(&sim, KEY, &[condition.as_str()], EngineSetup::default());
    let (first, _) = e.place_batch(
        &up,
        Side::Buy,
        &[
            (cent(10), 10 * SHARE),
            (cent(11), 10 * SHARE),
            (cent(12), 10 * SHARE),
        ],
    );
    e.run_until("the batch Live", |e| {
        first.iter().all(|id| e.state(id) == OrderState::Live)
    });
    // The bucket is empty: this one gets 429 + Retry-After, is held, then sent again.
    let held = e.place(&up, Side::Buy, cent(13), 10 * SHARE, OrderType::Gtc, false);
    e.run_until("the held order Live", |e| {
        e.state(&held) == OrderState::Live
    });
    assert!(e.client.counters().rate_limited >= 1);
    assert!(e.client.counters().submits_held >= 1);
    assert!(
        !e.log
            .iter()
            .any(|s| matches!(s, Seen::Failed(i, _) | Seen::Unknown(i, _) if *i == held)),
        "the order was never dropped: {:?}",
        e.log
    );
    assert_eq!(sim_order_count(&sim, &held), 1);
    assert!(open_order_ids(&mut e).contains(&id_text(&held)));
}

#[test]
fn heartbeat_lapse_cancels_and_a_failed_trade_is_reverted() {
    let sim = start_sim("heartbeat", fast_exchange());
    let (up, down, condition) = next_market(&sim);
    let mut e = Engine::start(&sim, KEY, &[condition.as_str()], EngineSetup::default());
    e.learn_market_fees(&condition);

    // 7. Armed heartbeats keep orders alive; when they stop, the venue cancels everything.
    e.beating = true;
    let a = e.place(&up, Side::Buy, cent(20), 10 * SHARE, OrderType::Gtc, false);
    let b = e.place(
        &down,
        Side::Buy,
        cent(20),
        10 * SHARE,
        OrderType::Gtc,
        false,
    );
    e.run_until("orders Live and heartbeats accepted", |e| {
        e.state(&a) == OrderState::Live
            && e.state(&b) == OrderState::Live
            && e.heartbeat.counters().accepted >= 3
    });
    // Several heartbeat timeouts' worth of beats: still Live.
    e.run_until("heartbeats well past one timeout", |e| {
        e.heartbeat.counters().accepted >= 12
    });
    assert_eq!(e.state(&a), OrderState::Live);
    assert_eq!(e.state(&b), OrderState::Live);
    e.beating = false;
    e.run_until("the dead-man switch canceled both (user channel)", |e| {
        e.state(&a) == OrderState::Canceled && e.state(&b) == OrderState::Canceled
    });
    assert!(open_order_ids(&mut e).is_empty());

    // 8. A provisional fill whose trade goes RETRYING → FAILED is reverted everywhere.
    sim.exchange_control.fail_next_trades(1);
    let ask = up_best_ask(&sim, &condition);
    let at_best = up_fillable(&sim, &condition, ask);
    let size = (at_best / SHARE).clamp(1, 5) * SHARE;
    let fak = e.place(
        &up,
        Side::Buy,
        u64::from(ask) * 1_000,
        size,
        OrderType::Fak,
        false,
    );
    e.run_until("FAK matched and its trade MATCHED", |e| {
        e.tracker.get(&fak).unwrap().matched() > 0
    });
    let trade = e.trade_log[0].0.clone();
    e.run_until("the trade FAILED", |e| {
        e.trade_statuses(&trade).contains(&"FAILED".to_string())
    });
    assert_eq!(
        e.trade_statuses(&trade),
        vec!["MATCHED", "RETRYING", "FAILED"],
        "the trade's statuses"
    );
    assert_eq!(e.tracker.counters().fills_reverted, 1);
    let rec = *e.tracker.get(&fak).unwrap();
    assert_eq!(rec.trade_filled, 0, "the tracker reverted the fill");
    assert_eq!(
        sim_matched(&sim, &fak),
        0,
        "the simulator reverted size_matched"
    );
    let row = e.blocking.order(&fak).unwrap().expect("order row");
    assert_eq!(row.size_matched.0, 0);
    assert!(e.settled());
    assert_ledger_agrees(&mut e, &sim);
    assert_eq!(
        sim.ledger_snapshot(&e.account()).collateral,
        STARTING_COLLATERAL
    );
}

#[test]
fn user_channel_drop_is_recovered_by_rest_reconciliation() {
    let sim = start_sim("userdrop", fast_exchange());
    let (up, _down, condition) = next_market(&sim);
    let setup = EngineSetup {
        user_reconnect: Duration::from_millis(200),
        ..EngineSetup::default()
    };
    let mut e = Engine::start(&sim, KEY, &[condition.as_str()], setup);
    e.learn_market_fees(&condition);
    let resting = e.place(&up, Side::Buy, cent(20), 10 * SHARE, OrderType::Gtc, false);
    e.run_until("resting Live", |e| e.state(&resting) == OrderState::Live);
    let opens = e.channel.counters().opens;

    // The simulator drops the user channel; the engine notices, then stops driving it until
    // trades have happened (so none of their events can arrive on the channel).
    sim.polymarket_user.control.drop_all();
    e.run_until("the user channel noticed the drop", |e| {
        e.channel.ws().state() != sattebaaz::net::ws::WsState::Open
    });
    e.drive_channel = false;
    let ask = up_best_ask(&sim, &condition);
    let fak = e.place(
        &up,
        Side::Buy,
        u64::from(ask + 20).min(990) * 1_000,
        20 * SHARE,
        OrderType::Fak,
        false,
    );
    e.cancel(&resting);
    e.run_until("FAK and cancel answered over REST", |e| {
        e.outcome(&fak).is_some() && e.state(&resting) == OrderState::Canceled
    });
    assert!(
        matches!(
            e.outcome(&fak),
            Some(Seen::Ack {
                success: true,
                status: OrderStatus::Matched,
                ..
            })
        ),
        "{:?}",
        e.outcome(&fak)
    );
    // The trades are final at the venue before the channel comes back.
    e.run_until("simulator trades final", |_| sim_trades_final(&sim));
    assert!(
        !trade_log_has_trades(&e),
        "no trade reached the tracker yet"
    );
    assert_eq!(e.tracker.get(&fak).unwrap().trade_filled, 0);

    // Reconnect → REST reconciliation brings the tracker to the simulator's state.
    e.drive_channel = true;
    e.run_until("user channel reopened and reconciled", |e| {
        e.channel.counters().opens > opens
            && e.channel.ws().state() == sattebaaz::net::ws::WsState::Open
    });
    assert!(e.reconciled_rows.1 > 0, "REST delivered the missed trades");
    let matched = sim_matched(&sim, &fak);
    assert!(matched > 0);
    e.run_until("tracker credited the missed fills", |e| {
        e.tracker.get(&fak).unwrap().trade_filled == matched
    });
    assert_ledger_agrees(&mut e, &sim);
}

fn trade_log_has_trades(e: &Engine) -> bool {
    !e.trade_log.is_empty()
}

/// A marketable FAK held by the venue's taker delay: the REST answer says `delayed`; after the
/// delay it matches part of its size and the rest is killed. The user channel's trade and the
/// order update end it in the tracker (not left open, nothing reserved), as the ledger shows.
#[test]
fn a_delayed_fak_ends_when_its_delay_is_over() {
    let sim = start_sim(
        "delayed",
        ExchangeOptions {
            taker_delay_ms: 100,
            ..fast_exchange()
        },
    );
    let (up, _down, condition) = next_market(&sim);
    let mut e = Engine::start(&sim, KEY, &[condition.as_str()], EngineSetup::default());
    e.learn_market_fees(&condition);
    let fak = e.place(
        &up,
        Side::Buy,
        cent(80),
        50_000 * SHARE,
        OrderType::Fak,
        false,
    );
    e.run_until("FAK answered", |e| e.outcome(&fak).is_some());
    assert!(
        matches!(
            e.outcome(&fak),
            Some(Seen::Ack {
                success: true,
                status: OrderStatus::Delayed,
                ..
            })
        ),
        "{:?}",
        e.outcome(&fak)
    );
    e.run_until(
        "the held FAK matched, its fills and update reached the tracker",
        |e| {
            e.tracker
                .get(&fak)
                .is_some_and(|r| r.trade_filled > 0 && r.venue_matched > 0)
        },
    );
    let r = *e.tracker.get(&fak).unwrap();
    assert_eq!(r.state, OrderState::Matched);
    assert!(r.trade_filled < 50_000 * SHARE, "partial: {r:?}");
    assert_eq!(r.venue_matched, sim_matched(&sim, &fak));
    assert_eq!(e.tracker.reserved_collateral(), 0, "nothing left reserved");
    e.run_until("trades settled", |e| e.settled() && sim_trades_final(&sim));
}
