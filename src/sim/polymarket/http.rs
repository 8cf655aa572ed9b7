//! A small threaded HTTP/1.1 server over TLS (httparse; keep-alive; `Content-Length` bodies) and
//! the simulated Gamma and CLOB market-data routes it serves:
//!
//! * Gamma: `GET /events?slug=<slug>[&slug=..]` → the events array (market object fields as in
//!   the protocol notes §7; unknown slugs are simply absent).
//! * CLOB: `GET /clob-markets/<conditionId>`, `GET /book?token_id=`, `GET /tick-size?token_id=`,
//!   `GET /time` (unix seconds, plain integer), `GET /ok`; and the exchange's routes
//!   ([`crate::sim::exchange::routes`]: orders, cancels, account data, auth, heartbeats).
//!
//! Faults follow [`ServiceControl`]: `drop_all` closes every open connection; `silent` holds
//! requests unanswered until cleared. One thread per connection; the simulator may block.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::{json, Value};

use super::crowd::{Token, ONE};
use super::market_ws::{levels_json, question};
use super::oracle::{e18_to_f64, TWAP_LOOKBACK_S};
use super::{iso8601, lock, px, MarketInfo, MarketState, SettlementRule, SharedState};
use crate::sim::ws_server::ServiceControl;

/// Largest request head accepted.
const MAX_REQUEST: usize = 64 * 1024;
/// Largest request body accepted (a `DELETE /orders` of 3 000 ids fits).
const MAX_BODY: usize = 1024 * 1024;

/// A parsed request (only what the routes need).
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Request headers (name as sent, value), in order.
    pub headers: Vec<(String, String)>,
    /// The `Content-Length` body (UTF-8, lossy), empty when none.
    pub body: String,
}

impl HttpRequest {
    /// First value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// First header `name` (case-insensitive; `_` and `-` are equivalent).
    pub fn header(&self, name: &str) -> Option<&str> {
        let norm = |c: char| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        };
        self.headers
            .iter()
            .find(|(k, _)| k.len() == name.len() && k.chars().map(norm).eq(name.chars().map(norm)))
            .map(|(_, v)| v.as_str())
    }
}

/// A response: status and JSON (or plain) body.
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Extra headers (`Retry-After`).
    pub headers: Vec<(String, String)>,
    /// Injected fault: answer this many ms late (the request is already processed).
    pub delay_ms: u64,
    /// Injected fault: drop the connection instead of answering.
    pub drop_connection: bool,
}

impl HttpResponse {
    /// A JSON response.
    pub fn json(status: u16, v: &Value) -> Self {
        HttpResponse {
            status,
            content_type: "application/json",
            body: v.to_string(),
            ..HttpResponse::default()
        }
    }
}

/// Which API a service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Gamma,
    Clob,
}

/// Answers every request of one service (the routes and their state).
pub type Router = Arc<dyn Fn(&HttpRequest) -> HttpResponse + Send + Sync>;

/// A running HTTP service.
pub struct HttpService {
    pub addr: SocketAddr,
    pub control: Arc<ServiceControl>,
    handle: Option<JoinHandle<()>>,
}

impl HttpService {
    /// Bind `bind:0` and serve `api` over TLS from `state`.
    pub fn start(
        bind: &str,
        api: Api,
        state: SharedState,
        tls: Arc<rustls::ServerConfig>,
        stop: Arc<AtomicBool>,
    ) -> io::Result<HttpService> {
        let router: Router = Arc::new(move |req: &HttpRequest| route(api, req, &state));
        Self::start_router(bind, router, tls, stop)
    }

    /// Bind `bind:0` and answer every request with `router` over TLS (a service with routes of
    /// its own, e.g. the simulated Binance spot REST host).
    pub fn start_router(
        bind: &str,
        router: Router,
        tls: Arc<rustls::ServerConfig>,
        stop: Arc<AtomicBool>,
    ) -> io::Result<HttpService> {
        let listener = TcpListener::bind((bind, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let control = Arc::new(ServiceControl::default());
        let c = control.clone();
        let handle = thread::Builder::new()
            .name(format!("sim-http-{}", addr.port()))
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((sock, _)) => {
                            c.accepted.fetch_add(1, Ordering::Relaxed);
                            let (router, tls, c, stop) =
                                (router.clone(), tls.clone(), c.clone(), stop.clone());
                            let _ = thread::Builder::new().name("sim-http-conn".into()).spawn(
                                move || {
                                    let _ = serve(sock, &router, tls, &c, &stop);
                                },
                            );
                        }
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
            })?;
        Ok(HttpService {
            addr,
            control,
            handle: Some(handle),
        })
    }

    /// Wait for the accept thread (after the stop flag is set).
    pub fn join(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(
    sock: TcpStream,
    router: &Router,
    tls: Arc<rustls::ServerConfig>,
    control: &ServiceControl,
    stop: &AtomicBool,
) -> io::Result<()> {
    let generation = control.drop_generation.load(Ordering::SeqCst);
    sock.set_nonblocking(false)?;
    sock.set_nodelay(true)?;
    sock.set_read_timeout(Some(Duration::from_millis(50)))?;
    let conn = rustls::ServerConnection::new(tls).map_err(io::Error::other)?;
    let mut stream =
        rustls::StreamOwned::new(conn, crate::sim::rx_stamp::RxStampedSocket::new(sock));
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if control.drop_generation.load(Ordering::SeqCst) != generation {
            let _ = stream.sock.get_ref().shutdown(std::net::Shutdown::Both);
            return Ok(());
        }
        // A complete request head in the buffer?
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let body_len = req
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok())
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if body_len > MAX_BODY {
                    let resp = HttpResponse::json(413, &json!({"error": "request body too large"}));
                    write_response(&mut stream, &resp, true)?;
                    return Ok(());
                }
                if buf.len() < head_len + body_len {
                    // Wait for the body.
                } else {
                    // When the CLOB's thread has the whole request, and when the kernel received
                    // its last bytes (the read that completed it).
                    let (read_ns, rx_ns) = if control.order_arrivals.is_enabled() {
                        (crate::clock::mono_ns(), stream.sock.last_rx_mono_ns())
                    } else {
                        (0, None)
                    };
                    let close = req.headers.iter().any(|h| {
                        h.name.eq_ignore_ascii_case("connection")
                            && h.value.eq_ignore_ascii_case(b"close")
                    });
                    let headers = req
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    let body =
                        String::from_utf8_lossy(&buf[head_len..head_len + body_len]).into_owned();
                    let parsed = HttpRequest {
                        headers,
                        body,
                        method: req.method.unwrap_or("GET").to_string(),
                        path: req
                            .path
                            .unwrap_or("/")
                            .split('?')
                            .next()
                            .unwrap_or("/")
                            .into(),
                        query: parse_query(req.path.unwrap_or("")),
                    };
                    buf.drain(..head_len + body_len);
                    if read_ns != 0 {
                        control.order_arrivals.record(
                            read_ns,
                            rx_ns,
                            &parsed.method,
                            &parsed.path,
                            &parsed.body,
                        );
                    }
                    while control.silent.load(Ordering::Relaxed) {
                        if stop.load(Ordering::Relaxed)
                            || control.drop_generation.load(Ordering::SeqCst) != generation
                        {
                            let _ = stream.sock.get_ref().shutdown(std::net::Shutdown::Both);
                            return Ok(());
                        }
                        thread::sleep(Duration::from_millis(10));
                    }
                    let resp = router(&parsed);
                    if resp.delay_ms > 0 {
                        thread::sleep(Duration::from_millis(resp.delay_ms));
                    }
                    if resp.drop_connection {
                        let _ = stream.sock.get_ref().shutdown(std::net::Shutdown::Both);
                        return Ok(());
                    }
                    write_response(&mut stream, &resp, close)?;
                    if close {
                        stream.conn.send_close_notify();
                        let _ = stream.flush();
                        return Ok(());
                    }
                    continue;
                }
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_REQUEST {
                    return Ok(());
                }
            }
            Err(_) => {
                let resp = HttpResponse::json(400, &json!({"error": "bad request"}));
                write_response(&mut stream, &resp, true)?;
                return Ok(());
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
            Err(e) => return Err(e),
        }
    }
}

fn write_response(w: &mut impl Write, resp: &HttpResponse, close: bool) -> io::Result<()> {
    let reason = match resp.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        413 => "Payload Too Large",
        425 => "Too Early",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut extra = String::new();
    for (k, v) in &resp.headers {
        extra.push_str(k);
        extra.push_str(": ");
        extra.push_str(v);
        extra.push_str("\r\n");
    }
    let head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n{extra}\r\n",
        resp.status,
        resp.content_type,
        resp.body.len(),
        if close { "close" } else { "keep-alive" }
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(resp.body.as_bytes());
    w.write_all(&out)?;
    w.flush()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decode the query string of a request target.
pub fn parse_query(target: &str) -> Vec<(String, String)> {
    let Some((_, q)) = target.split_once('?') else {
        return Vec::new();
    };
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Answer one request. The CLOB host serves the exchange routes too
/// ([`crate::sim::exchange::routes`]).
pub fn route(api: Api, req: &HttpRequest, state: &SharedState) -> HttpResponse {
    if api == Api::Clob {
        if let Some(resp) = crate::sim::exchange::routes::handle(req, state) {
            return resp;
        }
    }
    if req.method != "GET" {
        return HttpResponse::json(404, &json!({"error": "not found"}));
    }
    let st = lock(state);
    match (api, req.path.as_str()) {
        (Api::Gamma, "/events") => {
            let events: Vec<Value> = req
                .query
                .iter()
                .filter(|(k, _)| k == "slug")
                .filter_map(|(_, slug)| st.by_slug(slug))
                .map(|m| gamma_event(m, st.settlement, st.now_ms))
                .collect();
            HttpResponse::json(200, &Value::Array(events))
        }
        (Api::Clob, "/time") => HttpResponse {
            status: 200,
            content_type: "application/json",
            body: (st.now_ms / 1000).to_string(),
            ..HttpResponse::default()
        },
        (Api::Clob, "/ok") => HttpResponse {
            status: 200,
            content_type: "text/plain",
            body: "OK".into(),
            ..HttpResponse::default()
        },
        (Api::Clob, "/book") => match req.param("token_id").and_then(|t| st.by_token(t)) {
            Some((m, token)) => HttpResponse::json(200, &rest_book(m, token, st.now_ms)),
            None => HttpResponse::json(
                404,
                &json!({"error": "No orderbook exists for the requested token id"}),
            ),
        },
        (Api::Clob, "/tick-size") => match req.param("token_id").and_then(|t| st.by_token(t)) {
            Some((m, _)) => HttpResponse::json(
                200,
                &json!({"minimum_tick_size": f64::from(m.crowd.tick()) / f64::from(ONE)}),
            ),
            None => HttpResponse::json(404, &json!({"error": "market not found"})),
        },
        (Api::Clob, p) if p.starts_with("/markets-by-token/") => {
            match st.by_token(&p["/markets-by-token/".len()..]) {
                Some((m, _)) => HttpResponse::json(
                    200,
                    &json!({
                        "condition_id": m.info.condition_id,
                        "primary_token_id": m.info.token_ids[0],
                        "secondary_token_id": m.info.token_ids[1],
                    }),
                ),
                None => HttpResponse::json(404, &json!({"error": "market not found"})),
            }
        }
        (Api::Clob, p) if p.starts_with("/clob-markets/") => {
            match st.by_condition(&p["/clob-markets/".len()..]) {
                Some(m) => HttpResponse::json(200, &clob_market(m, st.exchange.opts.fee_rate_ppm)),
                None => HttpResponse::json(404, &json!({"error": "market not found"})),
            }
        }
        _ => HttpResponse::json(404, &json!({"error": "not found"})),
    }
}

fn rest_book(m: &MarketState, token: Token, now_ms: u64) -> Value {
    let asset = &m.info.token_ids[token as usize];
    let book = &m.view[token as usize];
    let (bids, asks) = levels_json(book);
    let ltp = m
        .last_trade
        .map(|(p, _)| if token == Token::Up { p } else { ONE - p })
        .map(px)
        .unwrap_or_default();
    let mut v = json!({
        "market": m.info.condition_id,
        "asset_id": asset,
        "timestamp": now_ms.to_string(),
        "hash": "",
        "bids": bids,
        "asks": asks,
        "min_order_size": "5",
        "tick_size": px(m.crowd.tick()),
        "neg_risk": false,
        "last_trade_price": ltp,
    });
    v["hash"] = Value::String(summary_hash(&v));
    v
}

/// The venue's order-book hash (protocol §3.2; py-clob-client `generate_orderbook_summary_hash`):
/// SHA-1 hex of the compact JSON of the book with `hash: ""`, keys in the order market,
/// asset_id, timestamp, hash, bids, asks, min_order_size, tick_size, neg_risk, last_trade_price.
pub fn summary_hash(book: &Value) -> String {
    use sha1::Digest as _;
    let field = |k: &str| serde_json::to_string(&book[k]).unwrap_or_default();
    let levels = |k: &str| {
        let items: Vec<String> = book[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|l| format!("{{\"price\":{},\"size\":{}}}", l["price"], l["size"]))
                    .collect()
            })
            .unwrap_or_default();
        format!("[{}]", items.join(","))
    };
    let text = format!(
        "{{\"market\":{},\"asset_id\":{},\"timestamp\":{},\"hash\":\"\",\"bids\":{},\"asks\":{},\"min_order_size\":{},\"tick_size\":{},\"neg_risk\":{},\"last_trade_price\":{}}}",
        field("market"),
        field("asset_id"),
        field("timestamp"),
        levels("bids"),
        levels("asks"),
        field("min_order_size"),
        field("tick_size"),
        field("neg_risk"),
        field("last_trade_price"),
    );
    let digest = sha1::Sha1::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `/clob-markets/<c>`; `fd.r` is the exchange's configured taker fee rate (what it charges).
fn clob_market(m: &MarketState, fee_rate_ppm: u64) -> Value {
    json!({
        "c": m.info.condition_id,
        "t": [{"t": m.info.token_ids[0], "o": "Up"}, {"t": m.info.token_ids[1], "o": "Down"}],
        "mts": f64::from(m.crowd.tick()) / f64::from(ONE),
        "nr": false,
        "fd": {"r": fee_rate_ppm as f64 / 1_000_000.0, "e": 1, "to": true},
        "mbf": 1000,
        "tbf": 1000,
    })
}

/// The market description text for the settlement rule.
pub fn description(info: &MarketInfo, rule: SettlementRule) -> String {
    let a = info.asset.to_ascii_uppercase();
    match rule {
        SettlementRule::ChainlinkSpot => format!(
            "This market will resolve to \"Up\" if the {a} price at the end of the time range \
             specified in the title is greater than or equal to the price at the beginning of that \
             range. Otherwise, it will resolve to \"Down\".\nThe resolution source for this market \
             is information from Chainlink, specifically the {a}/USD data stream."
        ),
        SettlementRule::ChainlinkTwap60 => format!(
            "This market will resolve to \"Up\" if the time-weighted average price (TWAP) of {a}, \
             generated by Chainlink, at the end of the time range specified in the title is greater \
             than or equal to the TWAP at the beginning of that range. Otherwise, it will resolve \
             to \"Down\".\nThe resolution source for this market is the {a}/USD 60-second TWAP \
             data stream from Chainlink."
        ),
    }
}

fn resolution_source(info: &MarketInfo, rule: SettlementRule) -> String {
    match rule {
        SettlementRule::ChainlinkSpot => {
            format!("https://data.chain.link/streams/{}-usd", info.asset)
        }
        SettlementRule::ChainlinkTwap60 => {
            format!(
                "https://data.chain.link/streams/{}-usd-twap-60s-streams",
                info.asset
            )
        }
    }
}

/// The Gamma market object of `m`.
pub fn gamma_market(m: &MarketState, rule: SettlementRule, now_ms: u64) -> Value {
    let info = &m.info;
    let up = &m.view[Token::Up as usize];
    let (bid, ask) = (up.best_bid().unwrap_or(0), up.best_ask().unwrap_or(0));
    let outcome_prices = match m.winner {
        Some(Token::Up) => "[\"1\", \"0\"]".to_string(),
        Some(Token::Down) => "[\"0\", \"1\"]".to_string(),
        None => {
            let mid = if bid > 0 && ask > 0 {
                (bid + ask) / 2
            } else {
                ONE / 2
            };
            format!("[\"{}\", \"{}\"]", px(mid), px(ONE - mid))
        }
    };
    let (config_id, twap) = match rule {
        SettlementRule::ChainlinkSpot => (format!("{}-{}", info.asset, info.kind.label()), false),
        SettlementRule::ChainlinkTwap60 => (
            format!(
                "{}-{}-twap-{TWAP_LOOKBACK_S}",
                info.asset,
                info.kind.label()
            ),
            true,
        ),
    };
    let closed = m.winner.is_some();
    let accepting = now_ms < info.end_s * 1000;
    json!({
        "id": info.market_id,
        "question": question(info),
        "conditionId": info.condition_id,
        "slug": info.slug,
        "description": description(info, rule),
        "resolutionSource": resolution_source(info, rule),
        "startDate": iso8601(info.listed_ms / 1000),
        "eventStartTime": iso8601(info.start_s),
        "endDate": iso8601(info.end_s),
        "outcomes": "[\"Up\", \"Down\"]",
        "outcomePrices": outcome_prices,
        "clobTokenIds": format!("[\"{}\", \"{}\"]", info.token_ids[0], info.token_ids[1]),
        "active": true,
        "closed": closed,
        "closedTime": m.resolved_ms.map(|ms| iso8601(ms / 1000)),
        "acceptingOrders": accepting,
        "enableOrderBook": true,
        "negRisk": false,
        "orderPriceMinTickSize": f64::from(m.crowd.tick()) / f64::from(ONE),
        "orderMinSize": 5,
        "bestBid": f64::from(bid) / f64::from(ONE),
        "bestAsk": f64::from(ask) / f64::from(ONE),
        "spread": f64::from(ask.saturating_sub(bid)) / f64::from(ONE),
        "lastTradePrice": m.last_trade.map(|(p, _)| f64::from(p) / f64::from(ONE)),
        "feesEnabled": true,
        "feeType": "crypto_fees_v2",
        "feeSchedule": {"exponent": 1, "rate": 0.072, "takerOnly": true, "rebateRate": 0.2},
        "makerBaseFee": 1000,
        "takerBaseFee": 1000,
        "umaResolutionStatus": if closed { "resolved" } else { "" },
        "cryptoMarketConfig": {
            "id": config_id,
            "asset": info.asset,
            "duration": info.kind.label(),
            "twapEnabled": twap,
            "twapLookbackSeconds": if twap { TWAP_LOOKBACK_S } else { 0 },
        },
        "cryptoMarketConfigId": config_id,
    })
}

/// The Gamma event object of `m` (one market), with `eventMetadata` once resolved.
pub fn gamma_event(m: &MarketState, rule: SettlementRule, now_ms: u64) -> Value {
    let mut ev = json!({
        "id": m.info.event_id,
        "ticker": m.info.slug,
        "slug": m.info.slug,
        "title": question(&m.info),
        "startDate": iso8601(m.info.listed_ms / 1000),
        "startTime": iso8601(m.info.start_s),
        "endDate": iso8601(m.info.end_s),
        "active": true,
        "closed": m.winner.is_some(),
        "negRisk": false,
        "markets": [gamma_market(m, rule, now_ms)],
    });
    if let (Some(strike), Some(fin)) = (m.strike_e18, m.final_e18) {
        ev["eventMetadata"] = json!({
            "priceToBeat": e18_to_f64(strike),
            "finalPrice": e18_to_f64(fin),
        });
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("/events?slug=btc-updown-5m-1&slug=a%2Fb"),
            vec![
                ("slug".to_string(), "btc-updown-5m-1".to_string()),
                ("slug".to_string(), "a/b".to_string())
            ]
        );
        assert!(parse_query("/time").is_empty());
        assert_eq!(parse_query("/x?a=%2")[0].1, "%2");
    }

    #[test]
    fn summary_hash_is_sha1_of_the_python_compact_json() {
        let book = json!({
            "market": "0xabc", "asset_id": "123", "timestamp": "1000", "hash": "x",
            "bids": [{"price": "0.4", "size": "10"}], "asks": [],
            "min_order_size": "5", "tick_size": "0.01", "neg_risk": false, "last_trade_price": "",
        });
        // hashlib.sha1(b'{"market":"0xabc","asset_id":"123","timestamp":"1000","hash":"",
        //   "bids":[{"price":"0.4","size":"10"}],"asks":[],"min_order_size":"5",
        //   "tick_size":"0.01","neg_risk":false,"last_trade_price":""}').hexdigest()
        let want = "8b3872c019dc04723929460d7cec095f01c9bdc7";
        assert_eq!(summary_hash(&book), want);
    }
}
