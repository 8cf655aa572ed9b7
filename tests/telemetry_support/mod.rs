//! Shared by the telemetry tests: a snapshot filled with known values, a server polled by a
//! thread of its own (as the risk thread polls it in the engine), and a raw HTTP client.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sattebaaz::config::Window;
use sattebaaz::engine::market_view::Phase;
use sattebaaz::engine::messages::{HotEvent, LoopStats, MarketView};
use sattebaaz::feeds::binance::records::Asset;
use sattebaaz::net::counters::{DropReason, NetEvent, NetEventKind};
use sattebaaz::risk::pretrade::Rejection;
use sattebaaz::strategy::intent::StrategyId;
use sattebaaz::telemetry::http_server::{ServerLimits, TelemetryServer};
use sattebaaz::telemetry::snapshot::{
    reject_index, StrategyFigures, TelemetrySnapshot, REJECT_VENUE,
};

/// Connection labels, one with characters that need escaping in a Prometheus label.
pub const LABELS: [&str; 3] = [
    "binance spot",
    "poly \"market\"\\chan\nnel",
    "polymarket rtds",
];

/// 1e-8 fixed point: one dollar.
pub const E8: i64 = 100_000_000;

/// A slug with characters that need escaping.
pub const ODD_SLUG: &str = "btc-updown-5m-\"quoted\"\\1700000000";

pub fn market_view(market: u16, asset: Asset, at_ms: u64, stale: bool) -> MarketView {
    MarketView {
        market,
        asset,
        window: Window::Min5,
        start_s: 1_700_000_000,
        end_s: 1_700_000_300,
        phase: Phase::Prime,
        resolved: false,
        binance_px: 100_000 * E8,
        oracle_px: Some(100_010 * E8),
        oracle_age_ms: Some(1_250),
        oracle_stale: false,
        price_to_beat: Some(99_990 * E8),
        fair_up: Some(0.625),
        up_bid: Some(610_000),
        up_ask: Some(620_000),
        down_bid: Some(370_000),
        down_ask: Some(390_000),
        ask_sum: Some(1_010_000),
        book_age_ms: Some(42),
        stale,
        awaiting_snapshot: false,
        snapshots: 3,
        at_ms,
    }
}

/// Figures of the arb strategy in [`filled_snapshot`].
pub fn arb_figures(realised: i64) -> StrategyFigures {
    let mut rejects = [0u64; sattebaaz::telemetry::snapshot::REJECT_REASON_COUNT];
    rejects[reject_index(Rejection::StaleBook)] = 4;
    rejects[REJECT_VENUE] = 2;
    StrategyFigures {
        orders_sent: 7,
        fills: 5,
        partial_fills: 1,
        cancels: 3,
        rejects,
        fees_micro: 12_345,
        realised_pnl_micro: realised,
        unrealised_pnl_micro: -250_000,
    }
}

/// A snapshot with known values in every section.
pub fn filled_snapshot() -> TelemetrySnapshot {
    let mut s = TelemetrySnapshot::new(&LABELS, "paper", 200);
    s.on_net_event(&NetEvent::new(0, NetEventKind::Connected, 1));
    s.on_net_event(&NetEvent::new(1, NetEventKind::Connected, 2));
    s.on_net_event(&NetEvent::new(1, NetEventKind::Dropped(DropReason::Tls), 3));
    s.on_net_event(&NetEvent::new(1, NetEventKind::Reconnecting, 4));
    s.on_hot_event(
        &HotEvent::Loop(LoopStats {
            iterations: 1_000,
            messages: 900,
            messages_poly: 80,
            parse_errors: 2,
            queue_drops: 17,
            open_connections: 2,
            connections: 3,
            at_ns: 0,
        }),
        0,
    );
    s.on_market_view(&market_view(3, Asset::Btc, 1_000, true));
    s.on_market_view(&market_view(3, Asset::Btc, 1_600, true));
    s.on_market_slugs(&[(3, ODD_SLUG.to_owned())]);
    for (i, realised) in [1_000_000i64, 1_500_000, 2_000_000].into_iter().enumerate() {
        s.on_strategy_update(
            StrategyId::Arb,
            arb_figures(realised),
            10_000 + i as u64 * 1000,
        );
    }
    s.tick(20_000, 5);
    s
}

/// A [`TelemetryServer`] polled by its own thread; the snapshot can be replaced.
pub struct Served {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    replace: Sender<TelemetrySnapshot>,
    handle: Option<JoinHandle<()>>,
}

impl Served {
    pub fn start(snapshot: TelemetrySnapshot, limits: ServerLimits, refresh_ms: u32) -> Self {
        let mut server = TelemetryServer::bind("127.0.0.1:0".parse().unwrap(), limits, refresh_ms)
            .expect("bind port 0");
        let addr = server.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let (replace, rx) = channel::<TelemetrySnapshot>();
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut snap = snapshot;
            while !flag.load(Ordering::Relaxed) {
                while let Ok(s) = rx.try_recv() {
                    snap = s;
                }
                if !server.poll(&snap, Instant::now()) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        Self {
            addr,
            stop,
            replace,
            handle: Some(handle),
        }
    }

    /// Serve `snapshot` from now on (applied before the next poll).
    pub fn set(&self, snapshot: TelemetrySnapshot) {
        self.replace.send(snapshot).expect("server thread alive");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }
}

/// Send `raw` and read until the server closes; parse status, headers and the
/// `Content-Length` body.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    // A safety net so a broken server fails the test instead of hanging it.
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(raw).expect("write request");
    read_response(&mut s)
}

pub fn read_response(s: &mut TcpStream) -> Response {
    let mut all = Vec::new();
    s.read_to_end(&mut all).expect("read response");
    parse_response(&all)
}

pub fn parse_response(all: &[u8]) -> Response {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut r = httparse::Response::new(&mut headers);
    let head_len = match r.parse(all).expect("valid response head") {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => {
            panic!("incomplete response: {:?}", String::from_utf8_lossy(all))
        }
    };
    let headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().expect("numeric length"))
        .expect("Content-Length");
    let body = all[head_len..].to_vec();
    assert_eq!(body.len(), len, "body length matches Content-Length");
    Response {
        status: r.code.expect("status"),
        headers,
        body,
    }
}

pub fn get(addr: SocketAddr, path: &str) -> Response {
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: test\r\n\r\n").as_bytes(),
    )
}
