//! The user-channel client against a loopback WebSocket server (tungstenite, std threads):
//! the authenticated initial frame on every connection, array frames delivered element by
//! element, a dropped connection reported as `Reconnected` (so the owner reconciles over REST)
//! and followed by a fresh subscription, dynamic subscribe, and a tracker fed from the events.
//!
//! Every wait is bounded by a wall-clock safety net; no test asserts a speed.

use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use sattebaaz::clock::mono_ns;
use sattebaaz::exec::orders::{OrderState, Tracker, TrackerConfig};
use sattebaaz::exec::user_channel::{UserAuth, UserChannel, UserChannelEvent};
use sattebaaz::net::backoff::BackoffPolicy;
use sattebaaz::net::ws::{TcpConnector, WsOptions};
use tungstenite::Message;

const GIVE_UP_AFTER: Duration = Duration::from_secs(20);
const TOKEN_ID: &str =
    "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const MARKET: &str = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1";

fn order_frame(id: &str, kind: &str, status: &str, matched: &str) -> String {
    format!(
        r#"{{"event_type":"order","type":"{kind}","id":"{id}","asset_id":"{TOKEN_ID}","market":"{MARKET}","side":"BUY","original_size":"10","size_matched":"{matched}","price":"0.5","status":"{status}","order_type":"GTC"}}"#
    )
}

#[test]
fn subscribes_on_every_connection_and_feeds_the_tracker() {
    let id = format!("0x{}", "ab".repeat(32));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (to_test, from_server) = mpsc::channel::<String>();
    let id2 = id.clone();
    std::thread::spawn(move || {
        // Connection 1: read the subscription, send an array frame, then drop the connection.
        let (s, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(s).unwrap();
        let first = ws.read().unwrap();
        to_test
            .send(first.into_text().unwrap().to_string())
            .unwrap();
        let frame = format!(
            "[{},{}]",
            order_frame(&id2, "PLACEMENT", "LIVE", "0"),
            r#"{"event_type":"trade","id":"t-1","taker_order_id":"0xffff","asset_id":"1","side":"BUY","size":"1","price":"0.5","status":"MATCHED","trader_side":"TAKER","maker_orders":[]}"#
        );
        ws.send(Message::text(frame)).unwrap();
        ws.send(Message::text("not json")).unwrap();
        drop(ws);
        // Connection 2: a fresh subscription, then the cancellation, then a dynamic subscribe.
        let (s, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(s).unwrap();
        let again = ws.read().unwrap();
        to_test
            .send(again.into_text().unwrap().to_string())
            .unwrap();
        ws.send(Message::text(order_frame(
            &id2,
            "CANCELLATION",
            "CANCELED",
            "0",
        )))
        .unwrap();
        let give_up = Instant::now() + GIVE_UP_AFTER;
        while Instant::now() < give_up {
            match ws.read() {
                Ok(Message::Text(t)) if t.as_str() != "PING" => {
                    to_test.send(t.to_string()).unwrap();
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let options = WsOptions {
        backoff: BackoffPolicy::new(
            Duration::from_millis(10),
            2.0,
            Duration::from_millis(50),
            0.0,
        )
        .unwrap(),
        ..WsOptions::default()
    };
    let auth = UserAuth::new("key-1", "c2VjcmV0", "pass-1").unwrap();
    assert!(!format!("{auth:?}").contains("c2VjcmV0"));
    let mut channel = UserChannel::new(
        TcpConnector { addr },
        &format!("ws://{addr}/ws/user"),
        options,
        poll.registry(),
        Token(0),
        0,
        auth,
        &[MARKET],
    )
    .unwrap();
    let mut tracker = Tracker::new(TrackerConfig {
        order_capacity: 16,
        trade_capacity: 16,
        token_capacity: 4,
        taker_fee_rate_micros: 0,
        api_key: "key-1".into(),
    });
    tracker.set_collateral(100_000_000);
    channel.start(mono_ns()).unwrap();
    let mut log: Vec<String> = Vec::new();
    let mut frames: Vec<String> = Vec::new();
    let mut subscribed = false;
    let give_up = Instant::now() + GIVE_UP_AFTER;
    loop {
        assert!(Instant::now() < give_up, "gave up: {log:?} {frames:?}");
        poll.poll(&mut events, Some(Duration::from_millis(5)))
            .unwrap();
        let mut on_event = |ev: UserChannelEvent<'_, '_>| match ev {
            UserChannelEvent::Order(o) => {
                tracker.on_order_event(o);
                log.push(format!("order {}", o.kind));
            }
            UserChannelEvent::Trade(t) => {
                let _ = tracker.on_trade_event(t);
                log.push(format!("trade {}", t.id));
            }
            UserChannelEvent::Reconnected => log.push("reconnected".into()),
        };
        let _ = channel.on_ready(mono_ns(), &mut on_event);
        let _ = channel.on_timer(mono_ns(), &mut on_event);
        while let Ok(f) = from_server.try_recv() {
            frames.push(f);
        }
        if !subscribed && log.iter().any(|l| l == "order CANCELLATION") {
            channel.subscribe(&["0xdef0"], mono_ns()).unwrap();
            subscribed = true;
        }
        if subscribed && frames.len() == 3 {
            break;
        }
    }
    assert_eq!(
        log,
        vec![
            "reconnected",
            "order PLACEMENT",
            "trade t-1",
            "reconnected",
            "order CANCELLATION"
        ]
    );
    let initial: serde_json::Value = serde_json::from_str(&frames[0]).unwrap();
    assert_eq!(initial["type"], "user");
    assert_eq!(initial["auth"]["apiKey"], "key-1");
    assert_eq!(initial["auth"]["secret"], "c2VjcmV0");
    assert_eq!(initial["auth"]["passphrase"], "pass-1");
    assert_eq!(initial["markets"][0], MARKET);
    assert_eq!(
        frames[1], frames[0],
        "the same subscription on the new connection"
    );
    assert_eq!(
        frames[2],
        r#"{"operation":"subscribe","markets":["0xdef0"]}"#
    );
    assert_eq!(
        channel.counters().malformed,
        1,
        "the non-JSON frame is counted"
    );
    assert_eq!(channel.counters().opens, 2);
    let rec = tracker
        .get(&sattebaaz::exec::json::parse_order_id(&id).unwrap())
        .unwrap();
    assert_eq!(rec.state, OrderState::Canceled);
    assert_eq!(
        tracker.counters().foreign_trades,
        0,
        "the taker trade is ours"
    );
    // The next initial frame carries both markets.
    let next: serde_json::Value = serde_json::from_slice(channel.initial_frame()).unwrap();
    assert_eq!(next["markets"].as_array().unwrap().len(), 2);
}

#[test]
fn keep_alive_is_polymarket_ping_with_a_watchdog() {
    use sattebaaz::exec::user_channel::{user_ws_options, PING_INTERVAL, SILENCE_TIMEOUT};
    let o = user_ws_options(WsOptions::default());
    assert_eq!(o.app_ping_interval, Some(Duration::from_secs(10)));
    assert_eq!(PING_INTERVAL, Duration::from_secs(10));
    assert_eq!(o.app_ping_text, b"PING");
    assert_eq!(o.app_pong_text.as_deref(), Some(&b"PONG"[..]));
    assert!(
        o.app_pong_keeps_alive,
        "a quiet user channel that answers is healthy"
    );
    assert_eq!(o.silence_timeout, Some(SILENCE_TIMEOUT));
    // A shorter configured watchdog is kept.
    let short = user_ws_options(WsOptions {
        silence_timeout: Some(Duration::from_secs(5)),
        ..WsOptions::default()
    });
    assert_eq!(short.silence_timeout, Some(Duration::from_secs(5)));
    // Credentials that would need JSON escaping are refused.
    assert!(UserAuth::new("k", "se\"cret", "p").is_err());
}
