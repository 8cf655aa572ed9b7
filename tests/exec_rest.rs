//! The CLOB REST client against a local recording HTTP/1.1 server (std `TcpListener` on
//! 127.0.0.1, keep-alive, one thread per connection). Each test scripts the server's answers
//! and asserts the exact requests: method, path, L2 headers and HMAC over the bytes sent,
//! bodies; batch splitting at 15; 429 `Retry-After` back-off; 425 → post-only window; a
//! timeout → reconciliation by `GET /data/order/<digest>` and never a second POST; heartbeats;
//! key derivation; and a counting-allocator proof that submit + cancel on a warm client
//! allocate nothing.
//!
//! Every wait is bounded by a wall-clock safety net (`GIVE_UP_AFTER`); no test asserts a speed.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use sattebaaz::clock::mono_ns;
use sattebaaz::exec::json::{order_id_text, OrderId};
use sattebaaz::exec::orders::{OrderState, Tracker, TrackerConfig};
use sattebaaz::exec::rest::blocking::{BlockingClob, BlockingConfig};
use sattebaaz::exec::rest::client::{ClientConfig, RestClient, RestEvent};
use sattebaaz::exec::rest::errors::{LocalRefusal, OrderRejectReason, RestError};
use sattebaaz::exec::rest::responses::HeartbeatAnswer;
use sattebaaz::exec::signing::amounts::{limit_order_amounts, Side, TickSize};
use sattebaaz::exec::signing::body::{
    write_order_body, BatchItem, BodyBuf, BodyKeyOrder, PostOptions,
};
use sattebaaz::exec::signing::eip712::{Exchange, OrderVariables, CHAIN_ID};
use sattebaaz::exec::signing::hmac::{l2_signature, L2Credentials};
use sattebaaz::exec::signing::order::{
    OrderTemplate, OrderType, SignatureType, SignedOrder, TokenId,
};
use sattebaaz::exec::signing::signer::EoaSigner;
use sattebaaz::net::backoff::BackoffPolicy;
use sattebaaz::net::http::{HttpPool, PoolConfig, RequestTemplate, TcpConnector};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

const GIVE_UP_AFTER: Duration = Duration::from_secs(20);
const SECRET: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const API_KEY: &str = "0b7c6a2e-1111-2222-3333-444455556666";
const PASSPHRASE: &str = "test-passphrase";
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

// ---------------------------------------------------------------------------------------------
// The recording server

#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// What the server does with a request.
enum Reply {
    /// Answer with status, extra headers and body.
    Answer(u16, Vec<(String, String)>, Vec<u8>),
    /// Never answer (the client times out).
    Hold,
}

type Script = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

struct Server {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    fn start(script: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (log, script) = (Arc::clone(&log2), Arc::clone(&script));
                std::thread::spawn(move || serve(stream, &log, &*script));
            }
        });
        Server { addr, log }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Recorded>>, script: &Script) {
    let _ = stream.set_read_timeout(Some(GIVE_UP_AFTER));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_uppercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("CONTENT-LENGTH")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let rec = Recorded {
            method,
            path,
            headers,
            body,
        };
        let n = {
            let mut log = log.lock().unwrap();
            log.push(rec.clone());
            log.len()
        };
        match script(&rec, n) {
            Reply::Hold => {
                // Keep the connection open without answering until the client gives up.
                let mut sink = [0u8; 1024];
                while reader.get_mut().read(&mut sink).unwrap_or(0) > 0 {}
                return;
            }
            Reply::Answer(status, extra, body) => {
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (k, v) in extra {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if out.write_all(head.as_bytes()).is_err() || out.write_all(&body).is_err() {
                    return;
                }
            }
        }
    }
}

fn ok(body: &str) -> Reply {
    Reply::Answer(200, Vec::new(), body.as_bytes().to_vec())
}

// ---------------------------------------------------------------------------------------------
// Orders and the client

fn signer() -> EoaSigner {
    EoaSigner::from_bytes(&[0x42; 32]).unwrap()
}

fn template() -> OrderTemplate {
    let s = signer();
    OrderTemplate::new(
        Exchange::for_market(false),
        CHAIN_ID,
        s.address(),
        None,
        SignatureType::Eoa,
        TokenId::parse(TOKEN).unwrap(),
        [0; 32],
        [0; 32],
    )
    .unwrap()
}

fn sign(t: &OrderTemplate, salt: u64) -> SignedOrder {
    let a = limit_order_amounts(Side::Buy, 500_000, 10_000_000, TickSize::T0_01).unwrap();
    let vars = OrderVariables {
        salt,
        maker_amount: a.maker,
        taker_amount: a.taker,
        side: Side::Buy.as_u8(),
        timestamp_ms: 1_700_000_000_000,
    };
    t.sign(&signer(), vars, 0).unwrap()
}

fn opts(post_only: bool) -> PostOptions<'static> {
    PostOptions {
        owner: API_KEY,
        order_type: OrderType::Gtc,
        post_only,
        defer_exec: false,
    }
}

fn id_text(id: &OrderId) -> String {
    String::from_utf8(order_id_text(id).to_vec()).unwrap()
}

fn ack_json(id: &OrderId) -> String {
    format!(
        r#"{{"success":true,"errorMsg":"","orderID":"{}","status":"live","makingAmount":"","takingAmount":"","transactionsHashes":[],"tradeIDs":[]}}"#,
        id_text(id)
    )
}

/// What the tests keep of a [`RestEvent`].
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Ack(OrderId, bool),
    Failed(OrderId, RestError),
    Unknown(OrderId),
    Reconciled(OrderId, Option<String>),
    Canceled(OrderId),
    NotCanceled(OrderId),
    Other(String),
}

fn seen(ev: RestEvent<'_>) -> Seen {
    match ev {
        RestEvent::OrderAck { order_id, ack } => Seen::Ack(order_id, ack.accepted()),
        RestEvent::OrderFailed { order_id, error } => Seen::Failed(order_id, error),
        RestEvent::OrderUnknown { order_id, .. } => Seen::Unknown(order_id),
        RestEvent::Reconciled { order_id, row } => {
            Seen::Reconciled(order_id, row.map(|r| r.status.into_owned()))
        }
        RestEvent::Canceled { order_id } => Seen::Canceled(order_id),
        RestEvent::NotCanceled { order_id, .. } => Seen::NotCanceled(order_id),
        other => Seen::Other(format!("{other:?}")),
    }
}

struct Harness {
    poll: Poll,
    events: Events,
    client: RestClient<mio::net::TcpStream, TcpConnector>,
    tracker: Tracker,
    seen: Vec<Seen>,
}

impl Harness {
    fn new(addr: SocketAddr, config: ClientConfig, connections: usize, timeout_ns: u64) -> Harness {
        let poll = Poll::new().unwrap();
        let pool = HttpPool::new(
            PoolConfig {
                connections,
                request_timeout_ns: timeout_ns,
                ..PoolConfig::default()
            },
            RequestTemplate::new("127.0.0.1", &[("Content-Type", "application/json")]).unwrap(),
            TcpConnector { addr },
            BackoffPolicy::new(
                Duration::from_millis(10),
                2.0,
                Duration::from_millis(100),
                0.0,
            )
            .unwrap(),
            poll.registry(),
        )
        .unwrap();
        let creds = L2Credentials::new(signer().address(), API_KEY, SECRET, PASSPHRASE).unwrap();
        let mut h = Harness {
            poll,
            events: Events::with_capacity(64),
            client: RestClient::new(pool, creds, config),
            tracker: Tracker::new(TrackerConfig {
                order_capacity: 64,
                trade_capacity: 64,
                token_capacity: 4,
                taker_fee_rate_micros: 0,
                api_key: API_KEY.into(),
            }),
            seen: Vec::new(),
        };
        h.run_until("warm connections", |h| {
            h.client.pool().idle_count() == connections
        });
        h
    }

    fn step(&mut self) {
        self.poll
            .poll(&mut self.events, Some(Duration::from_millis(5)))
            .unwrap();
        let now = mono_ns();
        let (seen, tracker) = (&mut self.seen, &mut self.tracker);
        let mut record = |e: RestEvent<'_>| {
            tracker.on_rest_event(&e);
            seen.push(self::seen(e));
        };
        for ev in self.events.iter() {
            self.client.on_ready(ev.token(), now, &mut record);
        }
        self.client.on_timer(mono_ns(), &mut record);
    }

    fn run_until(&mut self, what: &str, mut done: impl FnMut(&Harness) -> bool) {
        let give_up = Instant::now() + GIVE_UP_AFTER;
        while !done(self) {
            assert!(
                Instant::now() < give_up,
                "gave up waiting for {what}: {:?}",
                self.seen
            );
            self.step();
        }
    }
}

fn fast_config() -> ClientConfig {
    ClientConfig {
        reconcile_delay_ns: 0,
        ..ClientConfig::default()
    }
}

fn assert_l2(rec: &Recorded) {
    let ts: u64 = rec.headers["POLY_TIMESTAMP"].parse().unwrap();
    let path = rec.path.split('?').next().unwrap();
    let body = (!rec.body.is_empty()).then(|| std::str::from_utf8(&rec.body).unwrap());
    let expected = l2_signature(SECRET, ts, &rec.method, path, body).unwrap();
    assert_eq!(
        rec.headers["POLY_SIGNATURE"], expected,
        "HMAC over the exact bytes sent"
    );
    assert_eq!(rec.headers["POLY_API_KEY"], API_KEY);
    assert_eq!(rec.headers["POLY_PASSPHRASE"], PASSPHRASE);
    assert_eq!(
        rec.headers["POLY_ADDRESS"],
        signer().address().to_checksum_string()
    );
}

// ---------------------------------------------------------------------------------------------

#[test]
fn submit_sends_the_exact_signed_body_with_l2_headers_and_reports_the_ack() {
    let t = template();
    let order = sign(&t, 11);
    let ack = ack_json(&order.order_id);
    let server = Server::start(move |_, _| ok(&ack));
    let mut h = Harness::new(server.addr, fast_config(), 1, 2_000_000_000);
    h.client
        .submit(&t, &order, &opts(false), mono_ns())
        .unwrap();
    h.run_until("ack", |h| !h.seen.is_empty());
    assert_eq!(h.seen, vec![Seen::Ack(order.order_id, true)]);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let rec = &reqs[0];
    assert_eq!((rec.method.as_str(), rec.path.as_str()), ("POST", "/order"));
    assert_l2(rec);
    let mut expected = BodyBuf::for_single_order();
    write_order_body(
        &mut expected,
        &t,
        &order,
        &opts(false),
        BodyKeyOrder::PyClobClientV2,
    )
    .unwrap();
    assert_eq!(rec.body, expected.as_bytes());
    assert_eq!(h.client.counters().orders_accepted, 1);
}

#[test]
fn batches_are_split_at_fifteen_and_legs_map_to_their_orders() {
    let t = template();
    let orders: Vec<SignedOrder> = (0..20).map(|i| sign(&t, 100 + i)).collect();
    // The server finds each leg's digest by its salt (digests are not in the body).
    let by_salt: HashMap<u64, String> = orders
        .iter()
        .map(|o| (o.vars.salt, id_text(&o.order_id)))
        .collect();
    let server = Server::start(move |rec, _| {
        let v: Vec<serde_json::Value> = serde_json::from_slice(&rec.body).unwrap();
        // Every second leg is refused with success:true and an empty orderID.
        let legs: Vec<String> = v
            .iter()
            .enumerate()
            .map(|(i, leg)| {
                if i % 2 == 1 {
                    r#"{"success":true,"errorMsg":"","orderID":"","status":""}"#.to_string()
                } else {
                    let salt = leg["order"]["salt"].as_u64().unwrap();
                    format!(
                        r#"{{"success":true,"errorMsg":"","orderID":"{}","status":"live"}}"#,
                        by_salt[&salt]
                    )
                }
            })
            .collect();
        ok(&format!("[{}]", legs.join(",")))
    });
    let items: Vec<BatchItem<'_>> = orders
        .iter()
        .map(|o| BatchItem {
            template: &t,
            order: o,
            options: opts(false),
        })
        .collect();
    let mut h = Harness::new(server.addr, fast_config(), 2, 2_000_000_000);
    assert_eq!(h.client.submit_batch(&items, mono_ns()).unwrap(), 2);
    h.run_until("20 legs", |h| h.seen.len() == 20);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let mut sizes: Vec<usize> = reqs
        .iter()
        .map(|r| {
            assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/orders"));
            assert_l2(r);
            serde_json::from_slice::<Vec<serde_json::Value>>(&r.body)
                .unwrap()
                .len()
        })
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![5, 15]);
    for o in &orders {
        assert_eq!(
            h.seen
                .iter()
                .filter(|s| matches!(s, Seen::Ack(id, _) if *id == o.order_id))
                .count(),
            1,
            "one answer per order"
        );
    }
    let accepted = h
        .seen
        .iter()
        .filter(|s| matches!(s, Seen::Ack(_, true)))
        .count();
    // Chunks of 15 and 5 legs: even positions accepted (8 + 3); odd ones carry success:true
    // with an empty orderID and are not accepted.
    assert_eq!(
        accepted, 11,
        "legs with success:true and an empty orderID are not accepted"
    );
}

#[test]
fn rate_limit_backs_off_until_retry_after() {
    let server = Server::start(|_, _| {
        Reply::Answer(
            429,
            vec![("Retry-After".into(), "30".into())],
            br#"{"error":"Too Many Requests"}"#.to_vec(),
        )
    });
    let t = template();
    let order = sign(&t, 21);
    let mut h = Harness::new(server.addr, fast_config(), 1, 2_000_000_000);
    let sent_at = mono_ns();
    h.client.submit(&t, &order, &opts(false), sent_at).unwrap();
    h.run_until("429", |h| !h.seen.is_empty());
    assert_eq!(
        h.seen[0],
        Seen::Failed(
            order.order_id,
            RestError::RateLimited {
                retry_after_s: Some(30)
            }
        )
    );
    let until = h.client.backoff_until_ns();
    assert!(until >= sent_at + 30_000_000_000);
    let next = sign(&t, 22);
    assert_eq!(
        h.client.submit(&t, &next, &opts(true), mono_ns()),
        Err(RestError::Refused(LocalRefusal::BackingOff {
            until_ns: until
        }))
    );
    // After the back-off (simulated clock), submits are sent again.
    assert!(h.client.submit(&t, &next, &opts(false), until + 1).is_ok());
    assert_eq!(h.client.counters().rate_limited, 1);
}

#[test]
fn a_short_retry_after_holds_the_submit_and_resends_the_same_bytes() {
    let t = template();
    let order = sign(&t, 23);
    let answer = ack_json(&order.order_id);
    let server = Server::start(move |_, n| {
        if n == 1 {
            Reply::Answer(
                429,
                vec![("Retry-After".into(), "1".into())],
                br#"{"error":"Too Many Requests"}"#.to_vec(),
            )
        } else {
            ok(&answer)
        }
    });
    let mut h = Harness::new(server.addr, fast_config(), 1, 2_000_000_000);
    h.tracker
        .on_signed(
            order.order_id,
            *t.token_id().word(),
            Side::Buy,
            500_000,
            10_000_000,
            false,
        )
        .unwrap();
    h.client
        .submit(&t, &order, &opts(false), mono_ns())
        .unwrap();
    h.run_until("the held submit answered", |h| !h.seen.is_empty());
    assert_eq!(
        h.seen,
        vec![Seen::Ack(order.order_id, true)],
        "no failure first"
    );
    assert_eq!(
        h.tracker.get(&order.order_id).unwrap().state,
        OrderState::Live
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body, reqs[1].body, "the same order bytes");
    assert_l2(&reqs[1]);
    assert_eq!(h.client.counters().submits_held, 1);
    assert_eq!(h.client.counters().submits_sent, 2);
}

#[test]
fn engine_restart_opens_a_post_only_window_where_cancels_still_go() {
    let server = Server::start(|rec, _| match rec.method.as_str() {
        "POST" => Reply::Answer(425, Vec::new(), b"{}".to_vec()),
        _ => ok(r#"{"canceled":[],"not_canceled":{}}"#),
    });
    let t = template();
    let order = sign(&t, 31);
    let mut h = Harness::new(server.addr, fast_config(), 1, 2_000_000_000);
    h.client
        .submit(&t, &order, &opts(false), mono_ns())
        .unwrap();
    h.run_until("425", |h| !h.seen.is_empty());
    assert_eq!(
        h.seen[0],
        Seen::Failed(order.order_id, RestError::EngineRestarting)
    );
    assert!(h.client.in_post_only_window(mono_ns()));
    let taker = sign(&t, 32);
    assert_eq!(
        h.client.submit(&t, &taker, &opts(false), mono_ns()),
        Err(RestError::Refused(LocalRefusal::PostOnlyWindow))
    );
    // Cancels and post-only orders are still sent.
    h.client.cancel(&order.order_id, mono_ns()).unwrap();
    h.run_until("cancel answer", |h| {
        server.requests().len() == 2 && h.client.is_quiet()
    });
    let maker = sign(&t, 33);
    h.client.submit(&t, &maker, &opts(true), mono_ns()).unwrap();
    h.run_until("post-only answer", |h| h.seen.len() == 2);
    let reqs = server.requests();
    assert_eq!(reqs[1].method, "DELETE");
    assert_eq!(reqs[2].method, "POST");
    assert_eq!(h.client.counters().engine_restarts, 2);
    // The window ends after its configured length.
    assert!(!h.client.in_post_only_window(mono_ns() + 121_000_000_000));
}

#[test]
fn timeout_is_reconciled_by_order_hash_and_never_resent() {
    let t = template();
    let placed = sign(&t, 41);
    let lost = sign(&t, 42);
    let placed_hex = id_text(&placed.order_id);
    let server = Server::start(move |rec, _| {
        if rec.method == "POST" {
            return Reply::Hold;
        }
        if rec.path == format!("/data/order/{placed_hex}") {
            ok(&format!(
                r#"{{"id":"{placed_hex}","status":"LIVE","asset_id":"{TOKEN}","side":"BUY","original_size":"10","size_matched":"0","price":"0.5"}}"#
            ))
        } else {
            ok("null")
        }
    });
    let mut h = Harness::new(server.addr, fast_config(), 2, 300_000_000);
    for o in [&placed, &lost] {
        let token = *t.token_id().word();
        h.tracker
            .on_signed(o.order_id, token, Side::Buy, 500_000, 10_000_000, false)
            .unwrap();
        h.client.submit(&t, o, &opts(false), mono_ns()).unwrap();
    }
    h.run_until("both reconciled", |h| {
        h.seen
            .iter()
            .filter(|s| matches!(s, Seen::Reconciled(..)))
            .count()
            == 2
    });
    assert!(h.seen.contains(&Seen::Unknown(placed.order_id)));
    assert!(h.seen.contains(&Seen::Unknown(lost.order_id)));
    assert!(h
        .seen
        .contains(&Seen::Reconciled(placed.order_id, Some("LIVE".into()))));
    assert!(h.seen.contains(&Seen::Reconciled(lost.order_id, None)));
    // The tracker never lost either order: one is live, the other was never placed.
    assert_eq!(
        h.tracker.get(&placed.order_id).unwrap().state,
        OrderState::Live
    );
    assert_eq!(
        h.tracker.get(&lost.order_id).unwrap().state,
        OrderState::Rejected
    );
    let reqs = server.requests();
    let posts = reqs.iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 2, "each order POSTed exactly once: {reqs:?}");
    let gets: Vec<&Recorded> = reqs.iter().filter(|r| r.method == "GET").collect();
    assert_eq!(gets.len(), 2);
    for g in gets {
        assert!(g.path.starts_with("/data/order/0x"));
        assert_l2(g);
    }
}

#[test]
fn cancels_send_the_documented_bodies() {
    let t = template();
    let a = sign(&t, 51);
    let b = sign(&t, 52);
    let (ha, hb) = (id_text(&a.order_id), id_text(&b.order_id));
    let answer = format!(r#"{{"canceled":["{ha}"],"not_canceled":{{"{hb}":"already matched"}}}}"#);
    let server = Server::start(move |_, _| ok(&answer));
    let mut h = Harness::new(server.addr, fast_config(), 1, 2_000_000_000);
    h.client
        .cancel_many(&[a.order_id, b.order_id], mono_ns())
        .unwrap();
    h.run_until("cancel answer", |h| h.seen.len() == 2);
    assert_eq!(
        h.seen,
        vec![Seen::Canceled(a.order_id), Seen::NotCanceled(b.order_id)]
    );
    h.client.cancel(&a.order_id, mono_ns()).unwrap();
    h.run_until("single cancel", |h| h.seen.len() == 4);
    h.client.cancel_all(mono_ns()).unwrap();
    h.run_until("cancel all", |h| h.seen.len() == 6);
    h.client.cancel_market("0xabc", "", mono_ns()).unwrap();
    h.run_until("cancel market", |h| h.seen.len() == 8);
    let reqs = server.requests();
    let shapes: Vec<(String, String, String)> = reqs
        .iter()
        .map(|r| {
            assert_l2(r);
            (
                r.method.clone(),
                r.path.clone(),
                String::from_utf8(r.body.clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shapes,
        vec![
            (
                "DELETE".into(),
                "/orders".into(),
                format!(r#"["{ha}","{hb}"]"#)
            ),
            (
                "DELETE".into(),
                "/order".into(),
                format!(r#"{{"orderID":"{ha}"}}"#)
            ),
            ("DELETE".into(), "/cancel-all".into(), String::new()),
            (
                "DELETE".into(),
                "/cancel-market-orders".into(),
                r#"{"market":"0xabc"}"#.into()
            ),
        ]
    );
}

#[test]
fn documented_rejections_arrive_typed() {
    let server = Server::start(|_, _| {
        ok(
            r#"{"success":false,"errorMsg":"post-only mode: only post-only orders and cancels are allowed","orderID":"","status":""}"#,
        )
    });
    let t = template();
    let order = sign(&t, 61);
    let mut h = Harness::new(server.addr, fast_config(), 1, 2_000_000_000);
    h.client
        .submit(&t, &order, &opts(false), mono_ns())
        .unwrap();
    h.run_until("reject", |h| !h.seen.is_empty());
    assert_eq!(h.seen[0], Seen::Ack(order.order_id, false));
    // The venue's post-only mode also arms the local window.
    assert!(h.client.in_post_only_window(mono_ns()));
    let _ = OrderRejectReason::PostOnlyMode;
}

#[test]
fn warming_the_order_path_sends_nothing_and_leaves_the_client_as_it_was() {
    let t = template();
    let order = sign(&t, 31);
    let ack = ack_json(&order.order_id);
    let server = Server::start(move |_, _| ok(&ack));
    let mut h = Harness::new(server.addr, fast_config(), 1, 2_000_000_000);
    let unsigned = t.hashed_unsigned(order.vars, 0);
    let (client_before, pool_before) = (*h.client.counters(), *h.client.pool().counters());
    let (allocs, warmed) = count_allocations(|| {
        (0..200)
            .filter(|_| h.client.warm_order_path(&t, &unsigned, &opts(false)))
            .count()
    });
    assert_eq!(warmed, 200, "an idle connection is there to warm");
    assert_eq!(allocs, 0, "warming allocated");
    for _ in 0..20 {
        h.step();
    }
    assert!(server.requests().is_empty(), "warming sent a request");
    assert!(h.seen.is_empty(), "{:?}", h.seen);
    assert_eq!(*h.client.counters(), client_before);
    assert_eq!(*h.client.pool().counters(), pool_before);
    assert!(h.client.is_quiet());

    // The order that follows goes out as usual; while it is in flight there is no idle
    // connection and warming leaves the busy one alone.
    h.client
        .submit(&t, &order, &opts(false), mono_ns())
        .unwrap();
    assert!(!h.client.warm_order_path(&t, &unsigned, &opts(false)));
    h.run_until("ack", |h| !h.seen.is_empty());
    assert_eq!(h.seen, vec![Seen::Ack(order.order_id, true)]);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_l2(&reqs[0]);
    let v: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(v["order"]["salt"].as_u64(), Some(31));
    assert_eq!(h.client.counters().orders_accepted, 1);
}

#[test]
fn warm_submit_and_cancel_allocate_nothing() {
    let t = template();
    let orders: Vec<SignedOrder> = (0..4).map(|i| sign(&t, 200 + i)).collect();
    let answers: HashMap<u64, String> = orders
        .iter()
        .map(|o| (o.vars.salt, ack_json(&o.order_id)))
        .collect();
    let server = Server::start(move |rec, _| {
        if rec.method == "DELETE" {
            ok(r#"{"canceled":[],"not_canceled":{}}"#)
        } else {
            let v: serde_json::Value = serde_json::from_slice(&rec.body).unwrap();
            ok(&answers[&v["order"]["salt"].as_u64().unwrap()])
        }
    });
    let mut h = Harness::new(server.addr, fast_config(), 2, 2_000_000_000);
    // Warm-up round: first use of every path.
    h.client
        .submit(&t, &orders[0], &opts(false), mono_ns())
        .unwrap();
    h.run_until("warm ack", |h| h.client.is_quiet());
    h.client.cancel(&orders[0].order_id, mono_ns()).unwrap();
    h.run_until("warm cancel", |h| h.client.is_quiet());
    for o in &orders[1..] {
        let (allocs, r) = count_allocations(|| h.client.submit(&t, o, &opts(false), mono_ns()));
        r.unwrap();
        assert_eq!(allocs, 0, "submit allocated");
        h.run_until("ack", |h| h.client.is_quiet());
        let (allocs, r) = count_allocations(|| h.client.cancel(&o.order_id, mono_ns()));
        r.unwrap();
        assert_eq!(allocs, 0, "cancel allocated");
        h.run_until("cancel", |h| h.client.is_quiet());
    }
    // Answer processing on the warm client allocates nothing either.
    let o = &orders[1];
    h.client.submit(&t, o, &opts(false), mono_ns()).unwrap();
    let mut answered = false;
    let give_up = Instant::now() + GIVE_UP_AFTER;
    while !answered {
        assert!(Instant::now() < give_up);
        h.poll
            .poll(&mut h.events, Some(Duration::from_millis(5)))
            .unwrap();
        let tokens: Vec<mio::Token> = h.events.iter().map(|e| e.token()).collect();
        for token in tokens {
            let (allocs, ()) = count_allocations(|| {
                h.client.on_ready(token, mono_ns(), &mut |e| {
                    if matches!(e, RestEvent::OrderAck { .. }) {
                        answered = true;
                    }
                });
            });
            assert_eq!(allocs, 0, "answer processing allocated");
        }
    }
    let c = h.client.counters();
    assert_eq!(
        (c.orders_unknown, c.malformed, c.orders_rejected),
        (0, 0, 0)
    );
    assert_eq!(c.orders_accepted, 5);
}

#[test]
fn heartbeats_follow_the_returned_and_the_expected_ids() {
    let server = Server::start(|rec, n| {
        let v: serde_json::Value = serde_json::from_slice(&rec.body).unwrap();
        let sent = v["heartbeat_id"].as_str().unwrap().to_owned();
        match n {
            1 => {
                assert_eq!(sent, "");
                ok(r#"{"heartbeat_id":"hb-1"}"#)
            }
            2 => Reply::Answer(
                400,
                Vec::new(),
                br#"{"error_msg":"Invalid Heartbeat ID","heartbeat_id":"hb-expected"}"#.to_vec(),
            ),
            _ => ok(&format!(r#"{{"heartbeat_id":"after-{sent}"}}"#)),
        }
    });
    let creds = L2Credentials::new(signer().address(), API_KEY, SECRET, PASSPHRASE).unwrap();
    let mut clob = BlockingClob::new(
        TcpConnector { addr: server.addr },
        "127.0.0.1",
        Some(creds),
        BlockingConfig::default(),
        BackoffPolicy::default(),
    )
    .unwrap();
    let mut hb = sattebaaz::exec::heartbeat::HeartbeatSender::new(5_000_000_000, 1_000_000_000);
    use sattebaaz::exec::heartbeat::BeatOutcome;
    assert_eq!(hb.tick(0, &mut clob, || 10), Some(BeatOutcome::Accepted));
    assert_eq!(hb.heartbeat_id(), "hb-1");
    assert_eq!(hb.next_due_ns(), 5_000_000_010);
    assert_eq!(hb.tick(1, &mut clob, || 20), None, "not due yet");
    // Second beat: the venue expects another id; the client resends at once with it.
    assert_eq!(
        hb.tick(5_000_000_010, &mut clob, || 30),
        Some(BeatOutcome::Accepted)
    );
    assert_eq!(hb.heartbeat_id(), "after-hb-expected");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/v1/heartbeats")
        );
        assert_l2(r);
    }
    assert_eq!(reqs[1].body, br#"{"heartbeat_id":"hb-1"}"#);
    assert_eq!(reqs[2].body, br#"{"heartbeat_id":"hb-expected"}"#);
    assert_eq!(
        clob.heartbeat("x").unwrap(),
        HeartbeatAnswer::Accepted {
            heartbeat_id: "after-x".into()
        }
    );
}

#[test]
fn keys_derive_falls_back_to_create_with_l1_headers() {
    let server = Server::start(|rec, _| match (rec.method.as_str(), rec.path.as_str()) {
        ("GET", "/auth/derive-api-key") => Reply::Answer(
            400,
            Vec::new(),
            br#"{"error":"Could not derive api key!"}"#.to_vec(),
        ),
        ("POST", "/auth/api-key") => ok(
            r#"{"apiKey":"new-key","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","passphrase":"pp"}"#,
        ),
        _ => Reply::Answer(404, Vec::new(), Vec::new()),
    });
    let mut clob = BlockingClob::new(
        TcpConnector { addr: server.addr },
        "127.0.0.1",
        None,
        BlockingConfig::default(),
        BackoffPolicy::default(),
    )
    .unwrap();
    let (creds, origin) = sattebaaz::exec::keys::derive_or_create(&mut clob, &signer(), 3).unwrap();
    assert_eq!(origin, sattebaaz::exec::keys::KeysOrigin::Created);
    assert_eq!(creds.api_key, "new-key");
    let lines = sattebaaz::exec::keys::env_lines(&creds);
    assert!(lines.contains("SATTEBAAZ_API_KEY=new-key\n"));
    assert!(lines.contains("SATTEBAAZ_API_PASSPHRASE=pp\n"));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.headers["POLY_NONCE"], "3");
        assert_eq!(
            r.headers["POLY_ADDRESS"],
            signer().address().to_checksum_string()
        );
        let ts: u64 = r.headers["POLY_TIMESTAMP"].parse().unwrap();
        let expected =
            sattebaaz::exec::signing::commands::auth_l1_sign(&[0x42; 32], ts, 3).unwrap();
        assert_eq!(r.headers["POLY_SIGNATURE"], expected);
    }
}

#[test]
fn an_answer_naming_another_order_is_reconciled_not_trusted() {
    let t = template();
    let order = sign(&t, 71);
    let other = sign(&t, 72);
    let wrong = ack_json(&other.order_id);
    let server = Server::start(move |rec, _| {
        if rec.method == "POST" {
            ok(&wrong)
        } else {
            ok("null")
        }
    });
    let mut h = Harness::new(server.addr, fast_config(), 1, 2_000_000_000);
    h.client
        .submit(&t, &order, &opts(false), mono_ns())
        .unwrap();
    h.run_until("reconciled", |h| h.seen.len() == 2);
    assert_eq!(
        h.seen,
        vec![
            Seen::Unknown(order.order_id),
            Seen::Reconciled(order.order_id, None)
        ]
    );
    let reqs = server.requests();
    assert_eq!(
        reqs[1].path,
        format!("/data/order/{}", id_text(&order.order_id))
    );
}

#[test]
fn blocking_client_follows_every_page_and_reconciles_a_tracker() {
    let a = format!("0x{}", "1a".repeat(32));
    let b = format!("0x{}", "2b".repeat(32));
    let (a2, b2) = (a.clone(), b.clone());
    let row = move |id: &str| {
        format!(
            r#"{{"id":"{id}","status":"LIVE","asset_id":"{TOKEN}","side":"BUY","original_size":"10","size_matched":"0","price":"0.5","order_type":"GTC"}}"#
        )
    };
    let server = Server::start(move |rec, _| {
        let path = rec.path.as_str();
        if path.starts_with("/data/orders?next_cursor=MA==") {
            ok(&format!(
                r#"{{"limit":1,"count":1,"next_cursor":"Mg==","data":[{}]}}"#,
                row(&a2)
            ))
        } else if path.starts_with("/data/orders?next_cursor=Mg==") {
            ok(&format!(
                r#"{{"limit":1,"count":1,"next_cursor":"LTE=","data":[{}]}}"#,
                row(&b2)
            ))
        } else if path.starts_with("/data/trades?next_cursor=MA==") {
            ok(&format!(
                r#"{{"next_cursor":"LTE=","data":[{{"id":"t9","taker_order_id":"{a2}","asset_id":"{TOKEN}","side":"BUY","size":"4","price":"0.5","status":"CONFIRMED","trader_side":"TAKER"}}]}}"#
            ))
        } else if path == "/time" {
            ok("1700000000")
        } else if path == format!("/book?token_id={TOKEN}") {
            ok(
                r#"{"bids":[{"price":"0.4","size":"1"},{"price":"0.45","size":"2"}],"asks":[],"tick_size":"0.01"}"#,
            )
        } else if path == "/balance-allowance?asset_type=COLLATERAL&signature_type=0" {
            ok(r#"{"balance":"50000000","allowances":{}}"#)
        } else {
            Reply::Answer(404, Vec::new(), Vec::new())
        }
    });
    let creds = L2Credentials::new(signer().address(), API_KEY, SECRET, PASSPHRASE).unwrap();
    let mut clob = BlockingClob::new(
        TcpConnector { addr: server.addr },
        "127.0.0.1",
        Some(creds),
        BlockingConfig::default(),
        BackoffPolicy::default(),
    )
    .unwrap();
    assert_eq!(clob.server_time().unwrap(), 1_700_000_000);
    assert_eq!(clob.book(TOKEN).unwrap().bids[0].price.0, 450_000);
    let balance = clob
        .balance_allowance(sattebaaz::exec::rest::requests::BalanceAsset::Collateral, 0)
        .unwrap();
    let mut tracker = Tracker::new(TrackerConfig {
        order_capacity: 16,
        trade_capacity: 16,
        token_capacity: 4,
        taker_fee_rate_micros: 0,
        api_key: API_KEY.into(),
    });
    tracker.set_collateral(balance.balance_micros as i64);
    let (orders, trades) = sattebaaz::exec::user_channel::reconcile_over_rest(
        &mut clob,
        &mut tracker,
        &Default::default(),
    )
    .unwrap();
    assert_eq!((orders, trades), (2, 1));
    assert_eq!(tracker.open_orders(), 2);
    let ida = sattebaaz::exec::json::parse_order_id(&a).unwrap();
    assert_eq!(tracker.get(&ida).unwrap().trade_filled, 4_000_000);
    assert_eq!(tracker.positions().collateral_confirmed(), 48_000_000);
    assert_eq!(clob.clob_market("0xabc"), Err(RestError::NotFound));
    let reqs = server.requests();
    let ledger: Vec<&str> = reqs
        .iter()
        .filter(|r| r.path.starts_with("/data/"))
        .map(|r| {
            assert_l2(r);
            r.path.as_str()
        })
        .collect();
    assert_eq!(
        ledger,
        vec![
            "/data/orders?next_cursor=MA==",
            "/data/orders?next_cursor=Mg==",
            "/data/trades?next_cursor=MA=="
        ]
    );
    assert!(
        !reqs[0].headers.contains_key("POLY_API_KEY"),
        "public endpoints carry no auth"
    );
}
