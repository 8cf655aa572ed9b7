//! The simulator's Binance side, read by a client not written here (blocking tungstenite over
//! rustls, trusting only the simulator's CA): frames arrive in Binance's combined-stream format on
//! every route, and fault injection closes connections.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sattebaaz::sim::{SimOptions, Simulator};
use tungstenite::Message;

fn start(seed: u64, tag: &str) -> Simulator {
    let dir = std::env::temp_dir().join(format!("sattebaaz-sim-{tag}-{}", std::process::id()));
    Simulator::start(&SimOptions {
        seed,
        bind: "127.0.0.1".into(),
        assets: vec!["btc".into(), "eth".into()],
        ca_file: dir.join("ca.pem"),
        step: Duration::from_millis(5),
    })
    .expect("simulator starts")
}

type Client = tungstenite::WebSocket<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>;

fn connect(sim: &Simulator, port: u16, path: &str) -> Client {
    let pem = std::fs::read(sim.ca_file()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile_certs(&pem) {
        roots.add(cert).unwrap();
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
    let tls = rustls::StreamOwned::new(conn, sock);
    let url = format!("wss://localhost:{port}{path}");
    tungstenite::client(url.as_str(), tls)
        .expect("ws handshake")
        .0
}

fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn read_json(ws: &mut Client, deadline: Instant) -> Option<serde_json::Value> {
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e))
                if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut =>
            {
                continue
            }
            Err(_) => return None,
        }
    }
    None
}

#[test]
fn spot_streams_arrive_in_binance_format() {
    let sim = start(1, "spot");
    let mut ws = connect(
        &sim,
        sim.binance_spot.addr.port(),
        "/stream?streams=btcusdt@trade/btcusdt@bookTicker",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut trades, mut tickers) = (0, 0);
    while trades < 5 || tickers < 2 {
        let v = read_json(&mut ws, deadline).expect("frames keep coming");
        let stream = v["stream"].as_str().unwrap();
        let data = &v["data"];
        match stream {
            "btcusdt@trade" => {
                assert_eq!(data["e"], "trade");
                assert_eq!(data["s"], "BTCUSDT");
                let p = data["p"].as_str().unwrap();
                assert_eq!(p.split('.').nth(1).unwrap().len(), 8, "8 decimals: {p}");
                assert!(data["m"].is_boolean() && data["T"].is_u64());
                trades += 1;
            }
            "btcusdt@bookTicker" => {
                assert!(data.get("e").is_none(), "spot bookTicker has no event type");
                let b: f64 = data["b"].as_str().unwrap().parse().unwrap();
                let a: f64 = data["a"].as_str().unwrap().parse().unwrap();
                assert!(a > b);
                tickers += 1;
            }
            other => panic!("unexpected stream {other}"),
        }
    }
}

#[test]
fn futures_routes_and_drop_fault() {
    let sim = start(2, "fut");
    let port = sim.binance_futures.addr.port();
    let mut market = connect(
        &sim,
        port,
        "/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen_agg = false;
    let mut seen_mark = false;
    while !(seen_agg && seen_mark) {
        let v = read_json(&mut market, deadline).expect("futures frames");
        match v["data"]["e"].as_str().unwrap() {
            "aggTrade" => seen_agg = true,
            "markPriceUpdate" => {
                assert!(v["data"]["r"].is_string());
                seen_mark = true
            }
            e => panic!("unexpected event {e}"),
        }
    }
    sim.binance_futures.control.drop_all();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut closed = false;
    while Instant::now() < deadline {
        if read_json(&mut market, deadline).is_none() {
            closed = true;
            break;
        }
    }
    assert!(closed, "drop_all closes the connection");
}
