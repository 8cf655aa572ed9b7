//! Decision → last byte of the `POST /order` request written to a loopback TCP socket:
//! integer amounts, EIP-712 digest, pooled-nonce signature, JSON body, L2 HMAC headers, HTTP
//! rendering into the pre-sized request buffer (the same `RequestTemplate::write` the pool
//! uses) and the socket write. A drain thread on the other end busy-polls, reads and discards. Criterion
//! reports the mean; an hdrhistogram run prints p50/p99/p99.9 per call, for the whole path, for
//! the path without the write, and for the write alone of an already rendered request (the
//! floor under the whole path on this machine).
//!
//! The same path is also measured over TLS: the request goes through the engine's non-blocking
//! `TlsStream` (sealed in place into its outgoing buffer, then written) to a rustls server
//! thread that busy-polls, decrypts and discards; the time ends when `flush_pending` reports the
//! last TLS byte written.
//!
//! Instruction counting (`valgrind --tool=callgrind --separate-threads=yes`): with
//! `BENCH_COUNT_ITERS=N` the bench runs N decisions over plain TCP, or over TLS with
//! `BENCH_COUNT_TLS=1`, and exits; `(Ir(N) − Ir(0)) / N` of the main thread is the user-space
//! instructions per decision (the venue end runs on its own thread).
//!
//! Run: `cargo bench --bench exec_path`

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use hdrhistogram::Histogram;
use sattebaaz::clock::mono_ns;
use sattebaaz::exec::rest::requests::{l2_pairs, PATH_ORDER};
use sattebaaz::exec::signing::amounts::{limit_order_amounts, Side, TickSize};
use sattebaaz::exec::signing::body::{write_order_body, BodyBuf, BodyKeyOrder, PostOptions};
use sattebaaz::exec::signing::eip712::{Exchange, OrderVariables, CHAIN_ID};
use sattebaaz::exec::signing::hmac::L2Credentials;
use sattebaaz::exec::signing::nonce_pool::{nonce_pool, NonceConsumer, NonceProducer};
use sattebaaz::exec::signing::order::{OrderTemplate, OrderType, SignatureType, TokenId};
use sattebaaz::exec::signing::signer::EoaSigner;
use sattebaaz::net::http::{Method, Request, RequestTemplate};
use sattebaaz::net::tls::TlsStream;
use sattebaaz::net::transport::Transport;

const KEY: [u8; 32] = [0x42; 32];
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const SECRET: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const API_KEY: &str = "00000000-1111-2222-3333-444444444444";

struct Path {
    signer: EoaSigner,
    template: OrderTemplate,
    creds: L2Credentials,
    http: RequestTemplate,
    body: BodyBuf,
    wire: Vec<u8>,
    socket: Sink,
    producer: NonceProducer,
    consumer: NonceConsumer,
    salt: u64,
}

/// Where the request bytes go.
enum Sink {
    /// Blocking `write_all` on a `TCP_NODELAY` socket.
    Tcp(TcpStream),
    /// The engine's non-blocking TLS client; spins until the socket took the last byte.
    Tls(Box<TlsStream>),
}

impl Sink {
    #[inline]
    fn send(&mut self, bytes: &[u8]) {
        match self {
            Sink::Tcp(s) => s.write_all(bytes).unwrap(),
            Sink::Tls(s) => {
                let mut at = 0;
                while at < bytes.len() {
                    match s.write(&bytes[at..]) {
                        Ok(n) => at += n,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) => panic!("TLS write: {e}"),
                    }
                }
                while !s.flush_pending().unwrap() {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

/// A rustls server thread that completes the handshake, then busy-polls, decrypts and discards;
/// and the engine's `TlsStream` connected to it, handshake done.
fn tls_sink() -> Sink {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut conn = rustls::ServerConnection::new(std::sync::Arc::new(server_config)).unwrap();
        while conn.is_handshaking() {
            conn.complete_io(&mut s).unwrap();
        }
        s.set_nonblocking(true).unwrap();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            while conn.wants_write() {
                if conn.write_tls(&mut s).is_err() {
                    break;
                }
            }
            match conn.read_tls(&mut s) {
                Ok(0) => break,
                Ok(_) => {
                    if conn.process_new_packets().is_err() {
                        break;
                    }
                    while let Ok(n) = conn.reader().read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(_) => break,
            }
        }
    });
    let tcp = sattebaaz::net::tcp::connect(addr).unwrap();
    let mut tls = TlsStream::new(tcp, std::sync::Arc::new(client_config), "localhost").unwrap();
    let mut buf = [0u8; 256];
    let started = Instant::now();
    // Handshake, then a moment for the session tickets to arrive and be taken in.
    while tls.is_handshaking() || started.elapsed() < Duration::from_millis(200) {
        let _ = tls.flush_pending();
        match tls.read(&mut buf) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("TLS handshake: {e}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "handshake stuck"
        );
    }
    Sink::Tls(Box::new(tls))
}

impl Path {
    fn new(tls: bool) -> Path {
        let socket = if tls { tls_sink() } else { tcp_sink() };
        Self::with_sink(socket)
    }

    fn with_sink(socket: Sink) -> Path {
        let signer = EoaSigner::from_bytes(&KEY).unwrap();
        let template = OrderTemplate::new(
            Exchange::for_market(false),
            CHAIN_ID,
            signer.address(),
            None,
            SignatureType::Eoa,
            TokenId::parse(TOKEN).unwrap(),
            [0; 32],
            [0; 32],
        )
        .unwrap();
        let creds = L2Credentials::new(signer.address(), API_KEY, SECRET, "passphrase").unwrap();
        let http = RequestTemplate::new(
            "clob.polymarket.com",
            &[("Content-Type", "application/json"), ("Accept", "*/*")],
        )
        .unwrap();
        let (producer, consumer) = nonce_pool(4096);
        Path {
            signer,
            template,
            creds,
            http,
            body: BodyBuf::for_single_order(),
            wire: Vec::with_capacity(16 * 1024),
            socket,
            producer,
            consumer,
            salt: 1,
        }
    }
}

fn tcp_sink() -> Sink {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // The venue end busy-polls (non-blocking reads in a spin loop), as the engine's own
        // sockets do: a sleeping reader would add its wake-up to every timed write.
        let (mut s, _) = listener.accept().unwrap();
        s.set_nonblocking(true).unwrap();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(_) => break,
            }
        }
    });
    let socket = TcpStream::connect(addr).unwrap();
    socket.set_nodelay(true).unwrap();
    Sink::Tcp(socket)
}

impl Path {
    /// One decision: price and size in micro-units → bytes on the socket.
    #[inline]
    fn run(&mut self, price: u64, size: u64, now_s: u64) {
        self.render(price, size, now_s);
        self.socket.send(&self.wire);
    }

    /// Everything up to the rendered request bytes (no socket write).
    #[inline]
    fn render(&mut self, price: u64, size: u64, now_s: u64) {
        let amounts = limit_order_amounts(Side::Buy, price, size, TickSize::T0_01).unwrap();
        self.salt += 1;
        let vars = OrderVariables {
            salt: self.salt,
            maker_amount: amounts.maker,
            taker_amount: amounts.taker,
            side: Side::Buy.as_u8(),
            timestamp_ms: now_s * 1000,
        };
        let (signed, _) = self
            .template
            .sign_pooled(&self.signer, &mut self.consumer, vars, 0)
            .unwrap();
        let opts = PostOptions {
            owner: API_KEY,
            order_type: OrderType::Gtc,
            post_only: true,
            defer_exec: false,
        };
        write_order_body(
            &mut self.body,
            &self.template,
            &signed,
            &opts,
            BodyKeyOrder::PyClobClientV2,
        )
        .unwrap();
        let headers = self
            .creds
            .headers(now_s, "POST", PATH_ORDER, self.body.as_bytes());
        let pairs = l2_pairs(&headers);
        let req = Request {
            method: Method::Post,
            path: PATH_ORDER.as_bytes(),
            headers: &pairs,
            body: self.body.as_bytes(),
        };
        self.http.write(&req, &mut self.wire).unwrap();
    }

    fn top_up(&mut self) {
        if self.consumer.available() < 1024 {
            self.producer.refill();
        }
    }
}

fn bench(c: &mut Criterion) {
    sattebaaz::clock::init();
    let mut g = c.benchmark_group("exec_path");
    for (name, tls) in [
        ("decision_to_socket_write", false),
        ("decision_to_tls_socket_write", true),
    ] {
        let mut p = Path::new(tls);
        p.producer.refill();
        g.bench_function(name, |b| {
            // Nonce refills (the risk thread's job in the engine) stay outside the timed region.
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    p.top_up();
                    let t0 = Instant::now();
                    p.run(black_box(520_000), black_box(10_000_000), 1_700_000_000);
                    total += t0.elapsed();
                }
                total
            })
        });
    }
    g.finish();
}

fn percentiles(tls: bool) {
    sattebaaz::clock::init();
    let mut p = Path::new(tls);
    p.producer.refill();
    let mut whole = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
    let mut rendered = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
    let mut write_only = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
    const N: usize = 30_000;
    for i in 0..N {
        // Refill outside the timed region (the risk thread does it in the engine).
        p.top_up();
        let price = 100_000 + (i as u64 % 80) * 10_000;
        match i % 3 {
            0 => {
                let t0 = mono_ns();
                p.run(black_box(price), black_box(5_000_000), 1_700_000_000);
                whole.record((mono_ns() - t0).max(1)).unwrap();
            }
            1 => {
                let t0 = mono_ns();
                p.render(black_box(price), black_box(5_000_000), 1_700_000_000);
                rendered.record((mono_ns() - t0).max(1)).unwrap();
            }
            _ => {
                // The floor under the whole path: the same request's bytes, rendered before
                // the clock starts, through the same socket (TLS: sealed, then written).
                p.render(black_box(price), black_box(5_000_000), 1_700_000_000);
                let t0 = mono_ns();
                p.socket.send(&p.wire);
                write_only.record((mono_ns() - t0).max(1)).unwrap();
            }
        }
    }
    println!(
        "{}",
        if tls {
            "over TLS (TlsStream):"
        } else {
            "over plain TCP:"
        }
    );
    for (name, h) in [
        ("decision → POST /order last byte written", &whole),
        ("decision → request bytes (no write)", &rendered),
        ("rendered request → last byte written (floor)", &write_only),
    ] {
        println!(
            "{name:<46} n={:<6} p50={:>6} ns  p99={:>6} ns  p99.9={:>6} ns  max={:>8} ns",
            h.len(),
            h.value_at_quantile(0.50),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max()
        );
    }
}

criterion_group!(benches, bench);

/// The counting mode (see the module docs): `n` decisions, no criterion.
fn count_decisions(n: u64) {
    sattebaaz::clock::init();
    let tls = std::env::var("BENCH_COUNT_TLS").as_deref() == Ok("1");
    let mut p = Path::new(tls);
    p.producer.refill();
    // One decision before counting, so `n = 0` includes the same set-up and first use.
    p.run(520_000, 10_000_000, 1_700_000_000);
    for i in 0..n {
        p.top_up();
        p.run(
            black_box(100_000 + (i % 80) * 10_000),
            black_box(5_000_000),
            1_700_000_000,
        );
    }
}

fn main() {
    if let Some(n) = std::env::var("BENCH_COUNT_ITERS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        count_decisions(n);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    percentiles(false);
    percentiles(true);
}
