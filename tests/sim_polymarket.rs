//! The simulator's Polymarket side, read by clients not written in this crate's engine (blocking
//! tungstenite and a hand-written HTTP/1.1 exchange over rustls, trusting only the simulator's CA):
//! market-channel books replay consistently, Up/Down books mirror, the opening phase is mispriced
//! and later spreads are one tick, RTDS relays the oracle about a second late with exact E18
//! values, Gamma/CLOB describe the listed windows, windows resolve by the oracle rule, and faults
//! (drop, silent) behave.

use std::collections::{BTreeMap, HashMap};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sattebaaz::fixed::parse_fixed;
use sattebaaz::sim::polymarket::{MarketSpec, PolySimOptions, SettlementRule, WindowKind};
use sattebaaz::sim::{SimOptions, Simulator};
use serde_json::{json, Value};
use tungstenite::Message;

const WINDOW_S: u64 = 10;

fn start(seed: u64, tag: &str) -> Simulator {
    let dir = std::env::temp_dir().join(format!("sattebaaz-simpoly-{tag}-{}", std::process::id()));
    Simulator::start_with(
        &SimOptions {
            seed,
            bind: "127.0.0.1".into(),
            assets: vec!["btc".into()],
            ca_file: dir.join("ca.pem"),
            step: Duration::from_millis(5),
        },
        &PolySimOptions {
            markets: vec![MarketSpec {
                asset: "btc".into(),
                kind: WindowKind::Min5,
            }],
            window_secs_override: Some(WINDOW_S),
            settlement: SettlementRule::ChainlinkTwap60,
            rtds_gap_prob: 0.0,
            resolve_delay_ms: 1_000,
            ..PolySimOptions::default()
        },
    )
    .expect("simulator starts")
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
type Client = tungstenite::WebSocket<Tls>;

fn tls(sim: &Simulator, port: u16) -> Tls {
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let conn =
        rustls::ClientConnection::new(client_config(sim), "localhost".try_into().unwrap()).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

fn connect_ws(sim: &Simulator, port: u16, path: &str) -> Client {
    let url = format!("wss://localhost:{port}{path}");
    let stream = tls(sim, port);
    // The handshake needs a patient socket; frames are then read with a short timeout.
    stream
        .sock
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (ws, _) = tungstenite::client(url.as_str(), stream).expect("ws handshake");
    ws.get_ref()
        .sock
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    ws
}

enum Read1 {
    Text(String),
    Nothing,
    Closed,
}

fn read_one(ws: &mut Client) -> Read1 {
    match ws.read() {
        Ok(Message::Text(t)) => Read1::Text(t.as_str().to_string()),
        Ok(_) => Read1::Nothing,
        Err(tungstenite::Error::Io(e))
            if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut =>
        {
            Read1::Nothing
        }
        Err(_) => Read1::Closed,
    }
}

fn send(ws: &mut Client, text: &str) {
    ws.send(Message::text(text.to_string())).unwrap();
}

/// Events of a frame (a single object or a JSON array of them).
fn events(text: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(text).expect("frames are JSON") {
        Value::Array(a) => a,
        v => vec![v],
    }
}

fn milli(v: &Value) -> u32 {
    parse_fixed(v.as_str().expect("price string").as_bytes(), 3).expect("price") as u32
}

fn centi(v: &Value) -> i64 {
    parse_fixed(v.as_str().expect("size string").as_bytes(), 2).expect("size")
}

/// A blocking HTTPS/1.1 keep-alive client (one connection, sequential requests).
struct Http {
    stream: Tls,
    buf: Vec<u8>,
}

impl Http {
    fn new(sim: &Simulator, port: u16) -> Self {
        Http {
            stream: tls(sim, port),
            buf: Vec::new(),
        }
    }

    /// GET `path`; `None` when no full response arrives before `timeout` or the peer closes.
    fn get(&mut self, path: &str, timeout: Duration) -> Option<(u16, String)> {
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
        self.stream.write_all(req.as_bytes()).ok()?;
        self.stream.flush().ok()?;
        let deadline = Instant::now() + timeout;
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(head_end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..head_end]).to_string();
                let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .expect("Content-Length");
                if self.buf.len() >= head_end + 4 + len {
                    let body = String::from_utf8_lossy(&self.buf[head_end + 4..head_end + 4 + len])
                        .to_string();
                    self.buf.drain(..head_end + 4 + len);
                    return Some((status, body));
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
}

#[derive(Default, Clone, PartialEq, Debug)]
struct LocalBook {
    bids: BTreeMap<u32, i64>,
    asks: BTreeMap<u32, i64>,
}

impl LocalBook {
    fn from_event(ev: &Value) -> Self {
        let side = |k: &str| {
            ev[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| (milli(&l["price"]), centi(&l["size"])))
                .collect::<BTreeMap<_, _>>()
        };
        LocalBook {
            bids: side("bids"),
            asks: side("asks"),
        }
    }
    fn best_bid(&self) -> u32 {
        self.bids.keys().next_back().copied().unwrap_or(0)
    }
    fn best_ask(&self) -> u32 {
        self.asks.keys().next().copied().unwrap_or(0)
    }
    fn mirror(&self) -> Self {
        LocalBook {
            bids: self.asks.iter().map(|(p, s)| (1000 - p, *s)).collect(),
            asks: self.bids.iter().map(|(p, s)| (1000 - p, *s)).collect(),
        }
    }
}

/// Look a slug up on Gamma; returns the market object.
fn gamma_market(http: &mut Http, slug: &str) -> Value {
    let (status, body) = http
        .get(&format!("/events?slug={slug}"), Duration::from_secs(5))
        .expect("gamma answers");
    assert_eq!(status, 200);
    let events: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(events.as_array().unwrap().len(), 1, "one event for {slug}");
    events[0]["markets"][0].clone()
}

fn token_ids(market: &Value) -> [String; 2] {
    let ids: Vec<String> =
        serde_json::from_str(market["clobTokenIds"].as_str().expect("JSON string")).unwrap();
    [ids[0].clone(), ids[1].clone()]
}

#[test]
fn market_channel_books_mirror_mispricing_and_resolution() {
    let sim = start(21, "market");
    let now_s = sattebaaz::clock::wall_ms() / 1000;
    let next_start = (now_s / WINDOW_S + 1) * WINDOW_S;
    let slug = format!("btc-updown-5m-{next_start}");
    let mut gamma = Http::new(&sim, sim.gamma.addr.port());
    let market = gamma_market(&mut gamma, &slug);
    let [up, down] = token_ids(&market);
    let condition = market["conditionId"].as_str().unwrap().to_string();

    let mut rtds = connect_ws(&sim, sim.polymarket_rtds.addr.port(), "/");
    send(
        &mut rtds,
        &json!({"action":"subscribe","subscriptions":[{"topic":"crypto_prices_twap_sixty","type":"*","filters":"{\"symbol\":\"btc/usd\"}"}]})
            .to_string(),
    );
    let mut ws = connect_ws(&sim, sim.polymarket_market.addr.port(), "/ws/market");
    send(
        &mut ws,
        &json!({"assets_ids":[up, down],"type":"market","custom_feature_enabled":true}).to_string(),
    );

    let start_ms = next_start * 1000;
    let opening_end_ms = start_ms + 2_000;
    let end_ms = start_ms + WINDOW_S * 1000;
    let mut books: HashMap<String, LocalBook> = HashMap::new();
    let mut twap: HashMap<u64, String> = HashMap::new();
    let (mut snapshots, mut checked_entries, mut mirror_checks) = (0, 0, 0);
    // A tick-size change arrives in its own frames (one per token), before the price changes that
    // move the book onto the new grid: the grid check waits for those.
    let mut regridding = false;
    let (mut opening_sums, mut opening_spreads, mut late_spreads) =
        (Vec::new(), Vec::new(), Vec::new());
    let mut resolved: Option<Value> = None;
    let mut trades = 0;
    let mut ticks: HashMap<String, u32> = HashMap::new();
    let mut next_sample = Instant::now();
    let mut new_markets = 0;
    let deadline = Instant::now() + Duration::from_secs(2 * WINDOW_S + 15);
    let end_s = next_start + WINDOW_S;
    while (resolved.is_none() || !twap.contains_key(&end_s)) && Instant::now() < deadline {
        if let Read1::Text(t) = read_one(&mut rtds) {
            for ev in events(&t) {
                let p = &ev["payload"];
                twap.insert(
                    p["timestamp"].as_u64().unwrap() / 1000,
                    p["full_accuracy_value"].as_str().unwrap().to_string(),
                );
            }
        }
        // The spread statistic is time-weighted: sample the replayed book every 50 ms.
        let wall = sattebaaz::clock::wall_ms();
        if Instant::now() >= next_sample && wall >= opening_end_ms && wall < end_ms {
            next_sample = Instant::now() + Duration::from_millis(50);
            if let (Some(u), Some(tick)) = (books.get(&up), ticks.get(&up)) {
                // Near 0/1 one side can briefly be empty; only two-sided books have a spread.
                if u.best_bid() > 0 && u.best_ask() > 0 {
                    late_spreads.push((u.best_ask() - u.best_bid()) / tick);
                }
            }
        }
        let text = match read_one(&mut ws) {
            Read1::Text(t) => t,
            Read1::Nothing => continue,
            Read1::Closed => panic!("market channel closed"),
        };
        let mut ts = 0;
        for ev in events(&text) {
            if ev["event_type"] == "new_market" {
                // Listings of later windows (custom feature) say nothing about this book.
                assert!(ev["slug"].as_str().unwrap().starts_with("btc-updown-5m-"));
                new_markets += 1;
                continue;
            }
            ts = ev["timestamp"].as_str().unwrap().parse().unwrap();
            match ev["event_type"].as_str().unwrap() {
                "book" => {
                    assert_eq!(ev["market"], condition.as_str());
                    books.insert(
                        ev["asset_id"].as_str().unwrap().to_string(),
                        LocalBook::from_event(&ev),
                    );
                    ticks.insert(
                        ev["asset_id"].as_str().unwrap().to_string(),
                        milli(&ev["tick_size"]),
                    );
                    snapshots += 1;
                }
                "price_change" => {
                    regridding = false;
                    // Keys in the venue's own order, as captured frames have them.
                    assert!(
                        text.starts_with(r#"{"market":""#)
                            && text.contains(r#"","price_changes":[{"asset_id":""#)
                            && text.ends_with(r#"","event_type":"price_change"}"#),
                        "venue key order: {text}"
                    );
                    for key in ["price", "size", "side", "hash", "best_bid", "best_ask"] {
                        let at = |k: &str| text.find(&format!(r#""{k}":"#)).unwrap();
                        assert!(at("asset_id") < at(key), "{key} after asset_id: {text}");
                    }
                    assert!(
                        text.find(r#""hash":"#) < text.find(r#""best_bid":"#)
                            && text.find(r#""best_bid":"#) < text.find(r#""best_ask":"#)
                    );
                    assert_eq!(ev["market"], condition.as_str());
                    for c in ev["price_changes"].as_array().unwrap() {
                        let asset = c["asset_id"].as_str().unwrap();
                        let book = books.get_mut(asset).expect("a book precedes its changes");
                        let (price, size) = (milli(&c["price"]), centi(&c["size"]));
                        let levels = match c["side"].as_str().unwrap() {
                            "BUY" => &mut book.bids,
                            "SELL" => &mut book.asks,
                            s => panic!("side {s}"),
                        };
                        if size == 0 {
                            levels.remove(&price);
                        } else {
                            levels.insert(price, size);
                        }
                        assert_eq!(milli(&c["best_bid"]), book.best_bid(), "best_bid after {c}");
                        assert_eq!(milli(&c["best_ask"]), book.best_ask(), "best_ask after {c}");
                        checked_entries += 1;
                    }
                }
                "last_trade_price" => trades += 1,
                "tick_size_change" => {
                    regridding = true;
                    let asset = ev["asset_id"].as_str().unwrap().to_string();
                    assert_eq!(
                        Some(milli(&ev["old_tick_size"])),
                        ticks.get(&asset).copied()
                    );
                    ticks.insert(asset, milli(&ev["new_tick_size"]));
                }
                "market_resolved" => resolved = Some(ev.clone()),
                _ => {}
            }
        }
        // Checked once per frame: a frame is applied atomically (a trade's two books arrive
        // together).
        if ts > 0 {
            let (Some(u), Some(d)) = (books.get(&up), books.get(&down)) else {
                continue;
            };
            if ts >= start_ms
                && ts < opening_end_ms
                && u.best_bid() > 0
                && u.best_ask() > 0
                && d.best_ask() > 0
            {
                opening_sums.push(u.best_ask() + d.best_ask());
                opening_spreads.push((u.best_ask() - u.best_bid()) / ticks[&up]);
            }
            if ts >= opening_end_ms && ts < end_ms {
                assert_eq!(
                    *d,
                    u.mirror(),
                    "Up/Down books mirror after the opening phase"
                );
                mirror_checks += 1;
                if !regridding {
                    assert_eq!(u.best_bid() % ticks[&up], 0, "prices on the tick grid");
                }
            }
        }
    }
    assert!(snapshots >= 2, "a book per asset on subscribe");
    assert!(
        checked_entries > 20,
        "price changes replayed: {checked_entries}"
    );
    assert!(mirror_checks > 10, "mirror checked {mirror_checks} times");
    assert!(trades > 0, "trades print");
    assert!(new_markets > 0, "new windows are announced");
    assert!(
        opening_sums.iter().any(|s| *s < 1000),
        "opening ask sums: {opening_sums:?}"
    );
    assert!(
        late_spreads.len() > 50,
        "spread samples: {}",
        late_spreads.len()
    );
    // Tightening: the opening quotes are wide, later the spread is one tick most of the time
    // (93% time-weighted in the model; a few seconds of one window are a small sample).
    assert!(
        opening_spreads.iter().all(|s| *s >= 3),
        "opening spreads (ticks): {opening_spreads:?}"
    );
    let one_tick = late_spreads.iter().filter(|s| **s == 1).count();
    assert!(
        one_tick * 2 > late_spreads.len(),
        "later spreads (in ticks) mostly one: {late_spreads:?}"
    );

    // Resolution follows the oracle rule on the relayed TWAP values.
    let resolved = resolved.expect("market_resolved arrives");
    assert_eq!(resolved["market"], condition.as_str());
    let strike: i128 = twap[&next_start].parse().unwrap();
    let fin: i128 = twap[&end_s].parse().unwrap();
    let (winner, outcome) = if fin >= strike {
        (&up, "Up")
    } else {
        (&down, "Down")
    };
    assert_eq!(resolved["winning_asset_id"], winner.as_str());
    assert_eq!(resolved["winning_outcome"], outcome);
    // Gamma now reports it closed with the winning prices and the official values.
    let (status, body) = gamma
        .get(&format!("/events?slug={slug}"), Duration::from_secs(5))
        .unwrap();
    assert_eq!(status, 200);
    let ev: Value = serde_json::from_str::<Value>(&body).unwrap()[0].clone();
    let m = &ev["markets"][0];
    assert_eq!(m["closed"], true);
    assert_eq!(m["umaResolutionStatus"], "resolved");
    let prices: Vec<String> = serde_json::from_str(m["outcomePrices"].as_str().unwrap()).unwrap();
    assert_eq!(
        prices,
        if outcome == "Up" {
            ["1", "0"]
        } else {
            ["0", "1"]
        }
    );
    let ptb = ev["eventMetadata"]["priceToBeat"].as_f64().unwrap();
    assert!((ptb - strike as f64 / 1e18).abs() < 1e-6);
}

#[test]
fn rtds_relays_the_oracle_a_second_late() {
    let sim = start(22, "rtds");
    let mut ws = connect_ws(&sim, sim.polymarket_rtds.addr.port(), "/");
    send(&mut ws, "PING");
    send(
        &mut ws,
        &json!({"action":"subscribe","subscriptions":[{"topic":"crypto_prices_chainlink","type":"*","filters":"{\"symbol\":\"btc/usd\"}"}]})
            .to_string(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut pong, mut updates) = (false, Vec::new());
    while Instant::now() < deadline && (updates.len() < 4 || !pong) {
        match read_one(&mut ws) {
            Read1::Text(t) if t == "PONG" => pong = true,
            Read1::Text(t) => updates.push(serde_json::from_str::<Value>(&t).unwrap()),
            Read1::Nothing => {}
            Read1::Closed => panic!("closed"),
        }
    }
    assert!(pong, "PING answered");
    assert!(updates.len() >= 4, "updates arrive");
    let mut last_obs = 0;
    for u in &updates {
        assert_eq!(u["topic"], "crypto_prices_chainlink");
        assert_eq!(u["type"], "update");
        let p = &u["payload"];
        assert_eq!(p["symbol"], "btc/usd");
        let obs = p["timestamp"].as_u64().unwrap();
        let sent = u["timestamp"].as_u64().unwrap();
        assert_eq!(obs % 1000, 0, "whole-second observation");
        assert!(obs > last_obs, "one update per second, in order");
        last_obs = obs;
        let lag = sent - obs;
        assert!((1_000..2_500).contains(&lag), "relayed ~1 s late: {lag} ms");
        let exact: i128 = p["full_accuracy_value"].as_str().unwrap().parse().unwrap();
        let value = p["value"].as_f64().unwrap();
        assert!(((exact as f64 / 1e18) - value).abs() <= value * 1e-12);
        assert!(value > 1_000.0, "a BTC-like price");
    }
    // Unsubscribe: the stream stops (allowing frames already in flight).
    send(
        &mut ws,
        &json!({"action":"unsubscribe","subscriptions":[{"topic":"crypto_prices_chainlink","type":"*","filters":"{\"symbol\":\"btc/usd\"}"}]})
            .to_string(),
    );
    let settle = Instant::now() + Duration::from_millis(300);
    while Instant::now() < settle {
        let _ = read_one(&mut ws);
    }
    let quiet_until = Instant::now() + Duration::from_millis(2_500);
    while Instant::now() < quiet_until {
        if let Read1::Text(t) = read_one(&mut ws) {
            panic!("update after unsubscribe: {t}");
        }
    }
}

#[test]
fn gamma_and_clob_describe_current_and_next_windows() {
    let sim = start(23, "rest");
    let now_s = sattebaaz::clock::wall_ms() / 1000;
    let cur = now_s / WINDOW_S * WINDOW_S;
    let mut gamma = Http::new(&sim, sim.gamma.addr.port());
    let mut clob = Http::new(&sim, sim.clob.addr.port());
    for start in [cur, cur + WINDOW_S] {
        let slug = format!("btc-updown-5m-{start}");
        let m = gamma_market(&mut gamma, &slug);
        assert_eq!(m["slug"], slug.as_str());
        let ids = token_ids(&m);
        for id in &ids {
            assert_eq!(id.len(), 77);
            assert!(id.bytes().all(|b| b.is_ascii_digit()));
        }
        let cond = m["conditionId"].as_str().unwrap();
        assert!(cond.starts_with("0x") && cond.len() == 66);
        let outcomes: Vec<String> = serde_json::from_str(m["outcomes"].as_str().unwrap()).unwrap();
        assert_eq!(outcomes, ["Up", "Down"]);
        let prices: Vec<String> =
            serde_json::from_str(m["outcomePrices"].as_str().unwrap()).unwrap();
        assert_eq!(prices.len(), 2);
        assert_eq!(
            m["eventStartTime"],
            sattebaaz::sim::polymarket::iso8601(start).as_str()
        );
        assert_eq!(
            m["endDate"],
            sattebaaz::sim::polymarket::iso8601(start + WINDOW_S).as_str()
        );
        assert_eq!(m["orderMinSize"], 5);
        assert_eq!(m["negRisk"], false);
        assert_eq!(m["enableOrderBook"], true);
        assert_eq!(m["feeSchedule"]["rate"], 0.072);
        assert_eq!(m["feeSchedule"]["exponent"], 1);
        assert_eq!(m["cryptoMarketConfig"]["twapLookbackSeconds"], 60);
        assert!(m["orderPriceMinTickSize"].as_f64().unwrap() > 0.0);

        // CLOB on one keep-alive connection.
        let (s, body) = clob
            .get(&format!("/clob-markets/{cond}"), Duration::from_secs(5))
            .unwrap();
        assert_eq!(s, 200);
        let c: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(c["c"], cond);
        assert_eq!(c["t"][0]["t"], ids[0].as_str());
        assert_eq!(c["t"][1]["o"], "Down");
        assert_eq!(c["fd"]["r"], 0.072);
        let (s, body) = clob
            .get(
                &format!("/book?token_id={}", ids[0]),
                Duration::from_secs(5),
            )
            .unwrap();
        assert_eq!(s, 200);
        let b: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(b["asset_id"], ids[0].as_str());
        let book = LocalBook::from_event(&b);
        assert!(book.best_bid() < book.best_ask() && book.best_bid() > 0);
        let (s, body) = clob
            .get(
                &format!("/tick-size?token_id={}", ids[1]),
                Duration::from_secs(5),
            )
            .unwrap();
        assert_eq!(s, 200);
        assert!(serde_json::from_str::<Value>(&body).unwrap()["minimum_tick_size"].is_f64());
    }
    // The same seed lists the same markets (ids derive from the seed and the slug).
    {
        let twin = start(23, "rest-twin");
        let mut twin_gamma = Http::new(&twin, twin.gamma.addr.port());
        let slug = format!("btc-updown-5m-{}", cur + WINDOW_S);
        let (a, b) = (
            gamma_market(&mut gamma, &slug),
            gamma_market(&mut twin_gamma, &slug),
        );
        assert_eq!(a["clobTokenIds"], b["clobTokenIds"]);
        assert_eq!(a["conditionId"], b["conditionId"]);
    }
    let (s, body) = clob.get("/time", Duration::from_secs(5)).unwrap();
    assert_eq!(s, 200);
    let t: u64 = body.parse().unwrap();
    assert!(t >= now_s && t <= now_s + 60);
    let (s, body) = gamma
        .get("/events?slug=btc-updown-5m-123", Duration::from_secs(5))
        .unwrap();
    assert_eq!((s, body.as_str()), (200, "[]"));
    let (s, _) = clob
        .get("/book?token_id=1", Duration::from_secs(5))
        .unwrap();
    assert_eq!(s, 404);

    // Faults: silent holds answers, drop_all closes the keep-alive connection.
    sim.clob
        .control
        .silent
        .store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(clob.get("/time", Duration::from_millis(400)).is_none());
    sim.clob
        .control
        .silent
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let (s, _) = clob
        .get("/ok", Duration::from_secs(5))
        .expect("answers again");
    // The held /time answer arrives first, then /ok's.
    assert_eq!(s, 200);
    sim.clob.control.drop_all();
    let mut closed = false;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !closed {
        closed = clob.get("/time", Duration::from_millis(300)).is_none();
    }
    assert!(closed, "drop_all closes HTTP connections");
}

#[test]
fn market_channel_faults_and_resubscribe() {
    let sim = start(24, "faults");
    let now_s = sattebaaz::clock::wall_ms() / 1000;
    let slug = format!("btc-updown-5m-{}", now_s / WINDOW_S * WINDOW_S + WINDOW_S);
    let mut gamma = Http::new(&sim, sim.gamma.addr.port());
    let [up, down] = token_ids(&gamma_market(&mut gamma, &slug));
    let sub = json!({"assets_ids":[up, down],"type":"market"}).to_string();
    let port = sim.polymarket_market.addr.port();
    let mut ws = connect_ws(&sim, port, "/ws/market");
    send(&mut ws, &sub);
    let wait_for = |ws: &mut Client, what: &str| -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match read_one(ws) {
                Read1::Text(t) if t.contains(what) => return true,
                Read1::Closed => return false,
                _ => {}
            }
        }
        false
    };
    assert!(wait_for(&mut ws, "\"book\""), "snapshot on subscribe");
    assert!(wait_for(&mut ws, "price_change"), "updates flow");
    // Dynamic unsubscribe / subscribe of one asset gives a fresh snapshot of it.
    send(
        &mut ws,
        &json!({"assets_ids":[down],"operation":"unsubscribe"}).to_string(),
    );
    send(
        &mut ws,
        &json!({"assets_ids":[down],"operation":"subscribe"}).to_string(),
    );
    assert!(wait_for(&mut ws, &format!("\"asset_id\":\"{down}\"")));

    // Silent: no data for a while, but PING is still answered.
    sim.polymarket_market
        .control
        .silent
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let settle = Instant::now() + Duration::from_millis(200);
    while Instant::now() < settle {
        let _ = read_one(&mut ws);
    }
    send(&mut ws, "PING");
    let quiet = Instant::now() + Duration::from_millis(1_500);
    let mut pong = false;
    while Instant::now() < quiet {
        match read_one(&mut ws) {
            Read1::Text(t) if t == "PONG" => pong = true,
            Read1::Text(t) => panic!("data while silent: {t}"),
            Read1::Closed => panic!("closed while silent"),
            Read1::Nothing => {}
        }
    }
    assert!(pong, "PONG while silent");
    sim.polymarket_market
        .control
        .silent
        .store(false, std::sync::atomic::Ordering::Relaxed);
    assert!(wait_for(&mut ws, "price_change"), "data resumes");

    // Drop: the connection closes; a new one resubscribes and gets snapshots again.
    sim.polymarket_market.control.drop_all();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut closed = false;
    while Instant::now() < deadline && !closed {
        closed = matches!(read_one(&mut ws), Read1::Closed);
    }
    assert!(closed, "drop_all closes the market channel");
    let mut ws = connect_ws(&sim, port, "/ws/market");
    send(&mut ws, &sub);
    assert!(wait_for(&mut ws, "\"book\""), "resubscribe gets a snapshot");
}
