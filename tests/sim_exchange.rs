//! The simulator's exchange side driven over TLS like a client would: L1 key derivation, L2
//! HMAC auth, single and batch orders, every rejection path, fills against the crowd (partial,
//! FOK killed, FAK), post-only, cancels, the user channel's order and trade events with
//! MATCHED → MINED → CONFIRMED, an injected FAILED trade reverting the ledger, the heartbeat
//! dead-man switch, 429 rate limits, 425 → post-only mode, and a dropped answer whose order was
//! processed. Tests wait for events with generous deadlines; nothing asserts a duration.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sattebaaz::exec::signing::address::Address;
use sattebaaz::exec::signing::amounts::Side as SignSide;
use sattebaaz::exec::signing::body::BodyKeyOrder;
use sattebaaz::exec::signing::clob_auth::L1Headers;
use sattebaaz::exec::signing::commands::{order_build, OrderBuildArgs};
use sattebaaz::exec::signing::hmac::L2Credentials;
use sattebaaz::exec::signing::order::OrderType;
use sattebaaz::exec::signing::signer::EoaSigner;
use sattebaaz::fixed::parse_fixed;
use sattebaaz::sim::exchange::fees::taker_fee;
use sattebaaz::sim::exchange::ratelimit::BucketSpec;
use sattebaaz::sim::exchange::ExchangeOptions;
use sattebaaz::sim::polymarket::crowd::Side;
use sattebaaz::sim::polymarket::{MarketSpec, PolySimOptions, WindowKind};
use sattebaaz::sim::{SimOptions, Simulator};
use serde_json::{json, Value};
use tungstenite::Message;

const KEY_A: [u8; 32] = [0x11; 32];
const KEY_B: [u8; 32] = [0x22; 32];
/// Funder wallets (any address works for the simulator's ledger).
const PROXY: &str = "0x96a9892De6A11FE0B18Cf63373B9763055EcA8a6";
const DEPOSIT_WALLET: &str = "0xd2C50736787e5eeefA6c2E81496AE56d51D6b7B1";

fn start(tag: &str, exchange: ExchangeOptions) -> Simulator {
    let dir = std::env::temp_dir().join(format!("sattebaaz-simex-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Simulator::start_with(
        &SimOptions {
            seed: 77,
            bind: "127.0.0.1".into(),
            assets: vec!["btc".into()],
            ca_file: dir.join("ca.pem"),
            step: Duration::from_millis(5),
        },
        &PolySimOptions {
            markets: vec![MarketSpec {
                asset: "btc".into(),
                kind: WindowKind::Min15,
            }],
            rtds_gap_prob: 0.0,
            exchange,
            ..PolySimOptions::default()
        },
    )
    .expect("simulator starts")
}

fn options() -> ExchangeOptions {
    ExchangeOptions {
        starting_collateral: 1_000_000_000_000,
        taker_delay_ms: 0,
        mined_delay_ms: 150,
        confirmed_delay_ms: 150,
        heartbeat_timeout_ms: 3_000,
        // Orders are never limited here; the cancel bucket is small enough to refuse a batch.
        order_rate: BucketSpec {
            rate_per_s: 1_000.0,
            burst: 10_000.0,
        },
        cancel_rate: BucketSpec {
            rate_per_s: 100.0,
            burst: 12.0,
        },
        ..ExchangeOptions::default()
    }
}

fn client_config(sim: &Simulator) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(sim.ca_file()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn tls(sim: &Simulator, port: u16) -> Tls {
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let conn =
        rustls::ClientConnection::new(client_config(sim), "localhost".try_into().unwrap()).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

/// A blocking HTTPS/1.1 keep-alive client.
struct Http {
    stream: Tls,
    buf: Vec<u8>,
}

/// Status, headers (lower-case names) and JSON body.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Http {
    fn new(sim: &Simulator) -> Self {
        Http {
            stream: tls(sim, sim.clob.addr.port()),
            buf: Vec::new(),
        }
    }

    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<Resp> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.stream.write_all(req.as_bytes()).ok()?;
        self.stream.flush().ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut chunk = [0u8; 16384];
        loop {
            if let Some(head_end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..head_end]).to_string();
                let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
                let headers: Vec<(String, String)> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    })
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .expect("Content-Length");
                if self.buf.len() >= head_end + 4 + len {
                    let body = serde_json::from_slice(&self.buf[head_end + 4..head_end + 4 + len])
                        .unwrap_or(Value::Null);
                    self.buf.drain(..head_end + 4 + len);
                    return Some(Resp {
                        status,
                        headers,
                        body,
                    });
                }
            }
            if Instant::now() > deadline {
                return None;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
                Err(_) => return None,
            }
        }
    }

    fn get(&mut self, path: &str) -> Resp {
        self.request("GET", path, &[], "").expect("answer")
    }
}

/// A wallet with its API credentials.
struct Trader {
    key: [u8; 32],
    address: Address,
    api_key: String,
    secret: String,
    passphrase: String,
    creds: L2Credentials,
    salt: u64,
}

fn now_s() -> u64 {
    sattebaaz::clock::wall_ms() / 1000
}

impl Trader {
    fn derive(http: &mut Http, key: [u8; 32]) -> Trader {
        let signer = EoaSigner::from_bytes(&key).unwrap();
        let l1 = L1Headers::new(&signer, now_s(), 0).unwrap();
        let r = http
            .request("GET", "/auth/derive-api-key", &l1.pairs(), "")
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        // Create answers the same credentials (idempotent per wallet and nonce).
        let r2 = http
            .request("POST", "/auth/api-key", &l1.pairs(), "")
            .unwrap();
        assert_eq!(r2.body, r.body);
        let s = |k: &str| r.body[k].as_str().unwrap().to_string();
        let (api_key, secret, passphrase) = (s("apiKey"), s("secret"), s("passphrase"));
        Trader {
            key,
            address: signer.address(),
            creds: L2Credentials::new(signer.address(), &api_key, &secret, &passphrase).unwrap(),
            api_key,
            secret,
            passphrase,
            salt: u64::from(key[0]) << 32,
        }
    }

    fn account(&self) -> String {
        format!("0x{}", hex_lower(&self.address.0))
    }

    fn call(&self, http: &mut Http, method: &str, path_q: &str, body: &str) -> Option<Resp> {
        let path = path_q.split('?').next().unwrap();
        let h = self.creds.headers(now_s(), method, path, body.as_bytes());
        http.request(method, path_q, &h.pairs(), body)
    }

    fn order(
        &mut self,
        token: &str,
        side: SignSide,
        price: &str,
        size: &str,
        order_type: OrderType,
        post_only: bool,
    ) -> (String, String) {
        self.order_with(token, side, price, size, order_type, |a| {
            a.post_only = post_only
        })
    }

    /// An order whose build arguments `edit` may change (exchange, signature type, funder...).
    fn order_with(
        &mut self,
        token: &str,
        side: SignSide,
        price: &str,
        size: &str,
        order_type: OrderType,
        edit: impl FnOnce(&mut OrderBuildArgs<'_>),
    ) -> (String, String) {
        self.salt += 1;
        let expiration = if order_type == OrderType::Gtd {
            now_s() + 3_600
        } else {
            0
        };
        let mut args = OrderBuildArgs {
            token_id: token,
            side,
            price,
            size,
            tick_size: "0.01",
            neg_risk: false,
            signature_type: 0,
            funder: None,
            salt: self.salt,
            timestamp_ms: sattebaaz::clock::wall_ms(),
            expiration,
            builder: None,
            metadata: None,
            order_type,
            post_only: false,
            owner: &self.api_key,
            key_order: BodyKeyOrder::PyClobClientV2,
        };
        edit(&mut args);
        let built = order_build(&self.key, &args).unwrap();
        (built.body, built.order_id)
    }

    fn post(&self, http: &mut Http, body: &str) -> Resp {
        self.call(http, "POST", "/order", body).expect("answer")
    }
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn micro(v: &Value) -> i64 {
    parse_fixed(v.as_str().expect("decimal string").as_bytes(), 6).expect("decimal")
}

/// The next window's Up and Down token ids (pre-open: quoted around 0.50, no crowd trades).
fn next_market(sim: &Simulator) -> (String, String, String) {
    let st = sattebaaz::sim::polymarket::lock(&sim.polymarket_state);
    let m = st
        .markets
        .iter()
        .filter(|m| m.info.start_s > now_s())
        .max_by_key(|m| m.info.start_s)
        .or_else(|| st.markets.iter().max_by_key(|m| m.info.end_s))
        .expect("a listed market");
    (
        m.info.token_ids[0].clone(),
        m.info.token_ids[1].clone(),
        m.info.condition_id.clone(),
    )
}

type Ws = tungstenite::WebSocket<Tls>;

fn user_channel(sim: &Simulator, t: &Trader, markets: &[&str]) -> Ws {
    let port = sim.polymarket_user.addr.port();
    let stream = tls(sim, port);
    stream
        .sock
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (mut ws, _) =
        tungstenite::client(format!("wss://localhost:{port}/ws/user").as_str(), stream).unwrap();
    ws.get_ref()
        .sock
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let auth = json!({"type": "user", "markets": markets,
        "auth": {"apiKey": t.api_key, "secret": t.secret, "passphrase": t.passphrase}});
    ws.send(Message::text(auth.to_string())).unwrap();
    ws.send(Message::text("PING")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "PONG arrives");
        if let Ok(Message::Text(t)) = ws.read() {
            if t.as_str() == "PONG" {
                break;
            }
        }
    }
    ws
}

/// Read user-channel events until `done` says so (or 20 s pass); returns them all.
fn read_until(ws: &mut Ws, mut done: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && !done(&got) {
        match ws.read() {
            Ok(Message::Text(t)) => match serde_json::from_str::<Value>(t.as_str()) {
                Ok(Value::Array(a)) => got.extend(a),
                Ok(v) => got.push(v),
                Err(_) => {}
            },
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
            Err(e) => panic!("user channel: {e}"),
        }
    }
    got
}

fn statuses_of(events: &[Value], trade_id: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event_type"] == "trade" && e["id"] == trade_id)
        .map(|e| e["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn orders_rest_validate_cancel_and_faults() {
    let sim = start("rest", options());
    let mut http = Http::new(&sim);
    assert_eq!(http.get("/version").body, json!({"version": 2}));
    let mut a = Trader::derive(&mut http, KEY_A);
    let (up, down, condition) = next_market(&sim);

    // Bad L1 signature / L2 HMAC / stale timestamp → 401.
    let signer = EoaSigner::from_bytes(&KEY_A).unwrap();
    let l1 = L1Headers::new(&signer, now_s(), 0).unwrap();
    let mut forged = l1.pairs();
    forged[3].1 = "9";
    assert_eq!(
        http.request("GET", "/auth/derive-api-key", &forged, "")
            .unwrap()
            .status,
        401
    );
    let h = a.creds.headers(now_s(), "GET", "/data/orders", b"");
    let mut bad = h.pairs();
    bad[1].1 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    assert_eq!(
        http.request("GET", "/data/orders", &bad, "")
            .unwrap()
            .status,
        401
    );
    let stale = a.creds.headers(now_s() - 600, "GET", "/data/orders", b"");
    assert_eq!(
        http.request("GET", "/data/orders", &stale.pairs(), "")
            .unwrap()
            .status,
        401
    );

    // A resting BUY far below the book: live, reserved, shown on both tokens' books.
    let before = sim.ledger_snapshot(&a.account());
    let (body, id1) = a.order(&up, SignSide::Buy, "0.02", "100", OrderType::Gtc, false);
    let r = a.post(&mut http, &body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["status"], "live");
    assert_eq!(r.body["orderID"], id1.as_str());
    let snap = sim.ledger_snapshot(&a.account());
    assert_eq!(
        snap.collateral_reserved - before.collateral_reserved,
        2_000_000
    );
    let book = http.get(&format!("/book?token_id={down}")).body;
    let ask = book["asks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["price"] == "0.98")
        .expect("the Down book mirrors the Up bid");
    assert_eq!(ask["size"], "100");
    // The same order again is a duplicate.
    let r = a.post(&mut http, &body);
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "order is invalid. Duplicated.");

    // Rejections, each with the venue's message.
    let cases: Vec<(String, &str)> = vec![
        (
            a.order(&up, SignSide::Buy, "0.5", "1.08", OrderType::Gtc, false)
                .0,
            "Size (1.08) lower than the minimum: 5",
        ),
        (
            a.order(&up, SignSide::Buy, "0.03", "10", OrderType::Fok, false)
                .0
                .replace("\"postOnly\":false", "\"postOnly\":true"),
            "invalid post-only order: only GTC and GTD order types are allowed",
        ),
        (
            a.order(&up, SignSide::Buy, "0.95", "10", OrderType::Gtc, true)
                .0,
            "invalid post-only order: order crosses book",
        ),
        (
            a.order(&up, SignSide::Sell, "0.60", "10", OrderType::Gtc, false)
                .0,
            "not enough balance / allowance",
        ),
        (
            a.order(
                &up,
                SignSide::Buy,
                "0.02",
                "100000000",
                OrderType::Gtc,
                false,
            )
            .0,
            "not enough balance / allowance",
        ),
    ];
    for (body, msg) in cases {
        let r = a.post(&mut http, &body);
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (400, Some(msg)),
            "{body}"
        );
    }
    // Off-tick: built on the 0.001 grid while the market ticks 0.01.
    let (off, _) = a.order_with(&up, SignSide::Buy, "0.025", "10", OrderType::Gtc, |x| {
        x.tick_size = "0.001";
        x.key_order = BodyKeyOrder::UnifiedSdk;
    });
    let r = a.post(&mut http, &off);
    assert_eq!(
        r.body["error"],
        "order is invalid. Price breaks minimum tick size rules"
    );
    // Signed for the neg-risk exchange: the V2 client's cue to refetch `/version`.
    let (nr, _) = a.order_with(&up, SignSide::Buy, "0.03", "10", OrderType::Gtc, |x| {
        x.neg_risk = true
    });
    assert_eq!(
        a.post(&mut http, &nr).body["error"],
        "order_version_mismatch"
    );
    // A proxy wallet (type 1) and a deposit wallet (type 3, nested ERC-7739 signature) trade
    // from their own ledger accounts.
    for (sig_type, wallet) in [(1u8, PROXY), (3, DEPOSIT_WALLET)] {
        let (body, _) = a.order_with(&up, SignSide::Buy, "0.02", "10", OrderType::Gtc, |x| {
            x.signature_type = sig_type;
            x.funder = Some(wallet);
        });
        let r = a.post(&mut http, &body);
        assert_eq!(r.body["status"], "live", "type {sig_type}: {}", r.body);
        assert_eq!(sim.ledger_snapshot(wallet).collateral_reserved, 200_000);
        let r = a
            .call(
                &mut http,
                "GET",
                &format!("/balance-allowance?asset_type=COLLATERAL&signature_type={sig_type}"),
                "",
            )
            .unwrap();
        assert_eq!(r.body["balance"], "1000000000000");
        assert!(r.body["allowances"].is_object());
    }
    // Signed for the neg-risk exchange → version mismatch; tampered → invalid signature;
    // another key's owner → refused.
    let (body, _) = a.order(&up, SignSide::Buy, "0.03", "10", OrderType::Gtc, false);
    let tampered = body.replacen("\"makerAmount\":\"", "\"makerAmount\":\"1", 1);
    assert_eq!(
        a.post(&mut http, &tampered).body["error"],
        "invalid signature"
    );
    let mut v: Value = serde_json::from_str(&body).unwrap();
    v["owner"] = json!("someone-else");
    assert_eq!(
        a.post(&mut http, &v.to_string()).body["error"],
        "the order owner has to be the owner of the API KEY"
    );

    // Malformed payloads are refused with 400, never a dropped connection.
    for bad in [
        "{",
        "[]",
        r#"{"order":{"salt":"x"}}"#,
        r#"{"order":{"salt":1,"maker":7},"owner":"k"}"#,
        r#"{"order":{"salt":1e400},"owner":"k"}"#,
    ] {
        let r = a.call(&mut http, "POST", "/order", bad).expect("an answer");
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.body["error"], "Invalid order payload", "{bad}");
    }
    let r = a.call(&mut http, "POST", "/orders", "{}").unwrap();
    assert_eq!(r.status, 400);
    let r = a.call(&mut http, "DELETE", "/order", "[1]").unwrap();
    assert_eq!(r.status, 400);

    // Batch: two good legs and a bad one, answered per leg; more than 15 → 400.
    let legs: Vec<Value> = [("0.03", "10"), ("0.04", "10"), ("0.05", "2")]
        .iter()
        .map(|(p, s)| {
            serde_json::from_str(&a.order(&up, SignSide::Buy, p, s, OrderType::Gtd, false).0)
                .unwrap()
        })
        .collect();
    let r = a
        .call(
            &mut http,
            "POST",
            "/orders",
            &Value::Array(legs).to_string(),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let legs = r.body.as_array().unwrap();
    assert_eq!(legs.len(), 3);
    assert_eq!(legs[0]["status"], "live");
    assert_eq!(legs[1]["status"], "live");
    assert_eq!(legs[2]["success"], false);
    assert_eq!(legs[2]["errorMsg"], "Size (2) lower than the minimum: 5");
    let sixteen: Vec<Value> = (0..16)
        .map(|_| {
            serde_json::from_str(
                &a.order(&up, SignSide::Buy, "0.02", "5", OrderType::Gtc, false)
                    .0,
            )
            .unwrap()
        })
        .collect();
    let r = a
        .call(
            &mut http,
            "POST",
            "/orders",
            &Value::Array(sixteen).to_string(),
        )
        .unwrap();
    assert_eq!(r.status, 400);

    // Open orders, paginated view of them, one order by id.
    let r = a
        .call(
            &mut http,
            "GET",
            &format!("/data/orders?market={condition}&next_cursor=MA=="),
            "",
        )
        .unwrap();
    assert_eq!(r.body["count"], 5);
    assert_eq!(r.body["next_cursor"], "LTE=");
    let r = a
        .call(&mut http, "GET", &format!("/data/order/{id1}"), "")
        .unwrap();
    assert_eq!(r.body["status"], "LIVE");
    assert_eq!(r.body["original_size"], "100");

    // Cancel one, then all; the reservations are released.
    let r = a
        .call(
            &mut http,
            "DELETE",
            "/order",
            &json!({"orderID": id1}).to_string(),
        )
        .unwrap();
    assert_eq!(r.body["canceled"], json!([id1]));
    let r = a
        .call(
            &mut http,
            "DELETE",
            "/order",
            &json!({"orderID": id1}).to_string(),
        )
        .unwrap();
    assert!(r.body["not_canceled"][&id1].is_string());
    let r = a.call(&mut http, "DELETE", "/cancel-all", "").unwrap();
    assert_eq!(r.body["canceled"].as_array().unwrap().len(), 4);
    assert_eq!(sim.ledger_snapshot(PROXY).collateral_reserved, 0);
    let snap = sim.ledger_snapshot(&a.account());
    assert_eq!(snap.collateral_reserved, 0);
    assert_eq!(snap.collateral, before.collateral);

    // 429: a cancel batch costing more than the burst (12) is never admitted.
    let ids: Vec<String> = (0..13).map(|i| format!("0x{i:064x}")).collect();
    let r = a
        .call(&mut http, "DELETE", "/orders", &json!(ids).to_string())
        .unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(r.body["error"], "Too Many Requests");
    assert!(r
        .headers
        .iter()
        .any(|(k, v)| k == "retry-after" && v.parse::<u64>().is_ok()));

    // Restart: 425, then post-only mode (non-post-only → 503, post-only accepted).
    sim.exchange_control
        .inject_restart(Duration::from_millis(300), Duration::from_secs(60));
    let (body, _) = a.order(&up, SignSide::Buy, "0.02", "10", OrderType::Gtc, false);
    assert_eq!(a.post(&mut http, &body).status, 425);
    let deadline = Instant::now() + Duration::from_secs(20);
    let r = loop {
        let r = a.post(&mut http, &body);
        if r.status != 425 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(r.status, 503);
    assert_eq!(
        r.body["error"],
        "post-only mode: only post-only orders and cancels are allowed"
    );
    let (po, _) = a.order(&up, SignSide::Buy, "0.02", "10", OrderType::Gtc, true);
    assert_eq!(a.post(&mut http, &po).body["status"], "live");
    sim.exchange_control.clear_restart();

    // Process then drop the connection: the order exists when looked up by its hash.
    sim.exchange_control.drop_next_responses(1);
    let (body, id) = a.order(&up, SignSide::Buy, "0.03", "10", OrderType::Gtc, false);
    assert!(
        a.call(&mut http, "POST", "/order", &body).is_none(),
        "no answer"
    );
    let mut http = Http::new(&sim);
    let r = a
        .call(&mut http, "GET", &format!("/data/order/{id}"), "")
        .unwrap();
    assert_eq!(r.body["status"], "LIVE");
    // A late answer still arrives, and the order was processed.
    sim.exchange_control
        .delay_next_responses(1, Duration::from_millis(200));
    let (body, id) = a.order(&up, SignSide::Buy, "0.04", "10", OrderType::Gtc, false);
    assert_eq!(a.post(&mut http, &body).body["orderID"], id.as_str());
    // An injected 500 is not processed.
    sim.exchange_control.fail_next_requests(1);
    let (body, id) = a.order(&up, SignSide::Buy, "0.04", "10", OrderType::Gtc, false);
    assert_eq!(a.post(&mut http, &body).status, 500);
    let r = a
        .call(&mut http, "GET", &format!("/data/order/{id}"), "")
        .unwrap();
    assert_eq!(r.status, 404);
}

#[test]
fn fills_user_channel_failed_trades_and_heartbeat() {
    let sim = start("fills", options());
    let mut http = Http::new(&sim);
    let mut a = Trader::derive(&mut http, KEY_A);
    let b = Trader::derive(&mut http, KEY_B);
    let (up, _down, condition) = next_market(&sim);
    let mut ws = user_channel(&sim, &a, &[condition.as_str()]);

    // FOK larger than the whole book is killed; nothing moves.
    let before = sim.ledger_snapshot(&a.account());
    let (body, _) = a.order(&up, SignSide::Buy, "0.90", "50000", OrderType::Fok, false);
    let r = a.post(&mut http, &body);
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (
            400,
            Some("order couldn't be fully filled. FOK orders are fully filled or killed.")
        )
    );
    // FAK with nothing to match.
    let (body, _) = a.order(&up, SignSide::Buy, "0.02", "10", OrderType::Fak, false);
    assert_eq!(
        a.post(&mut http, &body).body["error"],
        "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."
    );
    assert_eq!(sim.ledger_snapshot(&a.account()), before);

    // FAK larger than the ask side: a partial fill against the crowd, the rest killed.
    let (body, fak_id) = a.order(&up, SignSide::Buy, "0.90", "20000", OrderType::Fak, false);
    let r = a.post(&mut http, &body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "matched");
    let (making, taking) = (
        micro(&r.body["makingAmount"]),
        micro(&r.body["takingAmount"]),
    );
    assert!(taking > 0 && taking < 20_000_000_000, "partial: {taking}");
    let trade_ids: Vec<String> = r.body["tradeIDs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert!(!trade_ids.is_empty());
    // Reconcile the ledger with the trades: cost, shares, fee in tokens.
    let r = a
        .call(
            &mut http,
            "GET",
            &format!("/data/trades?market={condition}"),
            "",
        )
        .unwrap();
    let trades = r.body["data"].as_array().unwrap().clone();
    assert_eq!(trades.len(), trade_ids.len());
    let (mut shares, mut cost, mut fees) = (0i64, 0i64, 0i64);
    for t in &trades {
        assert_eq!(t["trader_side"], "TAKER");
        assert_eq!(t["taker_order_id"], fak_id.as_str());
        let (s, p) = (micro(&t["size"]), micro(&t["price"]) / 1000);
        shares += s;
        cost += s * p / 1000;
        fees += taker_fee(Side::Buy, s as u64, p as u32, 72_000) as i64;
    }
    let snap = sim.ledger_snapshot(&a.account());
    assert_eq!(making, cost);
    assert_eq!(taking, shares - fees);
    assert_eq!(snap.collateral, before.collateral - cost);
    assert_eq!(snap.tokens.get(&up).copied(), Some(shares - fees));
    assert_eq!(snap.fees_paid_tokens.get(&up).copied(), Some(fees));
    assert_eq!(snap.collateral_reserved, 0);
    assert_eq!(
        a.call(&mut http, "GET", &format!("/data/order/{fak_id}"), "")
            .unwrap()
            .body["status"],
        "MATCHED"
    );
    // Each trade goes MATCHED → MINED → CONFIRMED on the user channel.
    let events = read_until(&mut ws, |ev| {
        trade_ids
            .iter()
            .all(|id| statuses_of(ev, id).contains(&"CONFIRMED".to_string()))
    });
    for id in &trade_ids {
        assert_eq!(statuses_of(&events, id), ["MATCHED", "MINED", "CONFIRMED"]);
    }

    // A market maker's resting SELL inside the spread gets filled (by another wallet's BUY, or
    // by the crowd if it moves first): PLACEMENT, UPDATE, a MAKER trade, tokens for collateral.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (bid, ask) = loop {
        let book = http.get(&format!("/book?token_id={up}")).body;
        let best = |k: &str| {
            book[k]
                .as_array()
                .unwrap()
                .last()
                .map(|l| micro(&l["price"]) / 1000)
                .unwrap_or(0)
        };
        let (bid, ask) = (best("bids"), best("asks"));
        if (bid > 0 && ask - bid >= 20) || Instant::now() > deadline {
            break (bid, ask);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(ask - bid >= 20, "a spread of two ticks: {bid}/{ask}");
    let px = format!("0.{:02}", (bid + 10) / 10);
    let before_mm = sim.ledger_snapshot(&a.account());
    let (body, sell_id) = a.order(&up, SignSide::Sell, &px, "10", OrderType::Gtc, false);
    let r = a.post(&mut http, &body);
    assert_eq!(r.body["status"], "live", "{}", r.body);
    let mut b = b;
    // B sweeps every ask up to that price; A's order is among them.
    let (body, _) = b.order(&up, SignSide::Buy, &px, "1000", OrderType::Fak, false);
    let _ = b.post(&mut http, &body);
    let events = read_until(&mut ws, |ev| {
        ev.iter().any(|e| {
            e["event_type"] == "order" && e["id"] == sell_id.as_str() && e["status"] == "MATCHED"
        })
    });
    assert!(events
        .iter()
        .any(|e| e["type"] == "PLACEMENT" && e["id"] == sell_id.as_str()));
    let maker_trade = events
        .iter()
        .find(|e| e["event_type"] == "trade" && e["trader_side"] == "MAKER")
        .expect("a MAKER trade event");
    assert!(maker_trade["maker_orders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["order_id"] == sell_id.as_str() && m["matched_amount"] == "10"));
    let after_mm = sim.ledger_snapshot(&a.account());
    let p = bid + 10;
    assert_eq!(
        after_mm.collateral - before_mm.collateral,
        10_000_000 * p / 1000
    );
    assert_eq!(
        before_mm.tokens[&up] - after_mm.tokens[&up],
        10_000_000,
        "makers pay no fee"
    );

    // An injected failure: the trade goes RETRYING → FAILED and the ledger is restored.
    let before = sim.ledger_snapshot(&a.account());
    sim.exchange_control.fail_next_trades(100);
    let (body, _) = a.order(&up, SignSide::Buy, "0.90", "10", OrderType::Fak, false);
    let r = a.post(&mut http, &body);
    assert_eq!(r.body["status"], "matched", "{}", r.body);
    let failed: Vec<String> = r.body["tradeIDs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_ne!(
        sim.ledger_snapshot(&a.account()),
        before,
        "matched moves balances"
    );
    let events = read_until(&mut ws, |ev| {
        failed
            .iter()
            .all(|id| statuses_of(ev, id).contains(&"FAILED".to_string()))
    });
    sim.exchange_control.fail_next_trades(0);
    for id in &failed {
        assert_eq!(statuses_of(&events, id), ["MATCHED", "RETRYING", "FAILED"]);
    }
    let after = sim.ledger_snapshot(&a.account());
    assert_eq!(after.collateral, before.collateral);
    assert_eq!(after.tokens, before.tokens);
    assert_eq!(after.fees_paid_tokens, before.fees_paid_tokens);

    // Heartbeat: a wrong id is refused with the expected one; a lapse cancels every order.
    let hb = |t: &Trader, http: &mut Http, id: &str| {
        t.call(
            http,
            "POST",
            "/v1/heartbeats",
            &json!({"heartbeat_id": id}).to_string(),
        )
        .unwrap()
    };
    let r = hb(&a, &mut http, "");
    let first = r.body["heartbeat_id"].as_str().unwrap().to_string();
    let r = hb(&a, &mut http, "wrong");
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error_msg"], "Invalid Heartbeat ID");
    assert_eq!(r.body["heartbeat_id"], first.as_str());
    let r = hb(&a, &mut http, &first);
    assert_eq!(r.status, 200);
    let (body, rest_id) = a.order(&up, SignSide::Buy, "0.02", "10", OrderType::Gtc, false);
    assert_eq!(a.post(&mut http, &body).body["status"], "live");
    let events = read_until(&mut ws, |ev| {
        ev.iter().any(|e| {
            e["event_type"] == "order" && e["id"] == rest_id.as_str() && e["type"] == "CANCELLATION"
        })
    });
    assert!(
        events.iter().any(|e| e["type"] == "CANCELLATION"),
        "the switch cancels the order"
    );
    let r = a
        .call(&mut http, "GET", &format!("/data/order/{rest_id}"), "")
        .unwrap();
    assert_eq!(r.body["status"], "CANCELED");
    assert_eq!(sim.ledger_snapshot(&a.account()).collateral_reserved, 0);
}
