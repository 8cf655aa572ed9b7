//! The simulator's measurement hooks over TLS: an injected spot trade reaches a subscribed
//! client with its write time taken before the client reads it; holding the prices keeps the
//! model price and the generated trades still; the CLOB logs order requests (and nothing else)
//! only while its arrival log is enabled, with the time the request was read.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sattebaaz::sim::Simulator;

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn tls_to(sim: &Simulator, port: u16) -> Tls {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(sim.ca_file()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), "localhost".try_into().unwrap()).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

fn trade_price_e8(frame: &str) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_str(frame).ok()?;
    let p = v["data"]["p"].as_str()?;
    let (int, frac) = p.split_once('.')?;
    Some(int.parse::<i64>().ok()? * 100_000_000 + frac.parse::<i64>().ok()?)
}

#[test]
fn injected_trade_frozen_prices_and_order_arrivals() {
    let dir = std::env::temp_dir().join(format!("sattebaaz-simhooks-{}", std::process::id()));
    let sim = Simulator::start(&sattebaaz::sim::SimOptions {
        seed: 5,
        bind: "127.0.0.1".into(),
        assets: vec!["btc".into()],
        ca_file: dir.join("ca.pem"),
        step: Duration::from_millis(5),
    })
    .expect("simulator starts");

    // No subscriber: nothing to write, no time.
    assert_eq!(
        sim.inject_spot_trade("btc", 1, 1, false, Duration::from_millis(100)),
        None
    );
    assert_eq!(
        sim.inject_spot_trade("doge", 1, 1, false, Duration::from_millis(100)),
        None
    );

    let port = sim.binance_spot.addr.port();
    let url = format!("wss://localhost:{port}/stream?streams=btcusdt@trade");
    let (mut ws, _) = tungstenite::client(url.as_str(), tls_to(&sim, port)).expect("handshake");
    while sim.binance_spot.hub.subscriber_count() == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }

    // Held prices: the model price stays, and generated trades stay at its bid/ask.
    sim.freeze_prices(true);
    std::thread::sleep(Duration::from_millis(50));
    let held = sim.model_price("btc").expect("model price after a step");
    let mut seen = Vec::new();
    let until = Instant::now() + Duration::from_millis(400);
    while Instant::now() < until {
        if let Ok(tungstenite::Message::Text(t)) = ws.read() {
            seen.extend(trade_price_e8(t.as_str()));
        }
    }
    assert_eq!(sim.model_price("btc"), Some(held));
    assert!(seen.len() >= 2, "trades keep coming while held: {seen:?}");
    let (lo, hi) = (seen.iter().min().unwrap(), seen.iter().max().unwrap());
    assert!(hi - lo <= 1_000_000, "one 0.01 tick at most: {lo}..{hi}");

    // An injected trade far from the held price arrives, written before it was read.
    let jump = (held * 1.01 * 1e8) as i64 / 1_000_000 * 1_000_000;
    let written = sim
        .inject_spot_trade("btc", jump, 1_000_000, false, Duration::from_secs(2))
        .expect("written to the one subscriber");
    let until = Instant::now() + Duration::from_secs(3);
    let mut read_at = None;
    while Instant::now() < until && read_at.is_none() {
        if let Ok(tungstenite::Message::Text(t)) = ws.read() {
            if trade_price_e8(t.as_str()) == Some(jump) {
                read_at = Some(sattebaaz::clock::mono_ns());
                assert!(t.as_str().contains("\"t\":9000000000"), "own id range: {t}");
            }
        }
    }
    let read_at = read_at.expect("the injected trade arrived");
    assert!(
        written.start_ns <= read_at,
        "written {written:?} after read {read_at}"
    );
    let tx = written.tx_ns.expect("a kernel transmit time on loopback");
    // Transmitted after the write began (the clock conversion errs by well under 50 µs) and
    // before the client read it.
    assert!(
        tx + 50_000 >= written.start_ns && tx <= read_at + 50_000,
        "{written:?} read {read_at}"
    );
    sim.freeze_prices(false);

    // The CLOB's arrival log: off by default, then only order posts.
    let post = |path: &str, body: &str| {
        let port = sim.clob.addr.port();
        let mut s = tls_to(&sim, port);
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let body = r#"{"order":{"maker":"0x1","tokenId":"42","makerAmount":"5100000","takerAmount":"10000000","side":"BUY"},"owner":"x","orderType":"FAK"}"#;
    let answer = post("/order", body);
    assert!(
        answer.starts_with("HTTP/1.1 4"),
        "unauthenticated: {answer}"
    );
    assert!(
        sim.order_arrivals().drain().is_empty(),
        "disabled by default"
    );
    sim.order_arrivals().enable();
    let before = sattebaaz::clock::mono_ns();
    post("/order", body);
    post("/book", "");
    let after = sattebaaz::clock::mono_ns();
    let got = sim.order_arrivals().drain();
    assert_eq!(got.len(), 1, "only the order post");
    assert!(got[0].mono_ns >= before && got[0].mono_ns <= after);
    let orders = got[0].orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].token_id, "42");
    assert_eq!(orders[0].price_micro, 510_000);
    let _ = std::fs::remove_dir_all(&dir);
}
