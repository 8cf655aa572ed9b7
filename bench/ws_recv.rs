//! WebSocket receive batch on loopback, the anchors' harness: per iteration the client sends one
//! 256-byte binary frame and receives the 100 echoed 256-byte frames the server answers with.
//! The server is tungstenite, blocking, on its own thread (plain TCP, or rustls with an rcgen
//! certificate). Compared in the same run: our busy-polling mio `WsClient` versus a blocking
//! tungstenite client on a std `TcpStream` (over rustls `StreamOwned` for TLS).
//!
//! Run: `cargo bench --bench ws_recv`.
//!
//! Instruction counting (`valgrind --tool=callgrind --separate-threads=yes`): with
//! `BENCH_COUNT_ITERS=N` the bench opens one plain connection to the tungstenite venue, runs N
//! batches with the client named by `BENCH_COUNT_PATH` (`ours`, default, or `tungstenite`) and
//! exits; `(Ir(N) − Ir(0)) / N` of the main thread is the client's user-space instructions per
//! batch (the server runs on its own thread). With `BENCH_COUNT_TLS=1` the connection is TLS
//! (our `TlsStream`, or rustls `StreamOwned` under tungstenite).
//!
//! The venue's floor (`WS_RECV_FLOOR=N`): no criterion; for every venue, transport and client,
//! N batches, each timed from just before the client sends its request to the client holding
//! all 100 frames, beside the moment the server *started* its last socket `write` of that
//! batch (a wrapper under the server's TLS and WebSocket layers stamps every write). No client
//! can hold the last frame before that write began, so `tungstenite's batch / floor` bounds the
//! speed-up any client can show against tungstenite on this machine and venue.

use std::hint::black_box;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use mio::{Events, Poll, Token};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use sattebaaz::clock::mono_ns;
use sattebaaz::net::ws::{Connector, MaybeTlsConnector, TcpConnector, WsClient, WsOptions};
use tungstenite::{Bytes, Message, WebSocket};

const FRAME: usize = 256;
const BATCH: usize = 100;
const TOKEN: Token = Token(1);
static REQUEST: [u8; FRAME] = [b'q'; FRAME];
/// CPU of the echo servers.
const SERVER_CPU: usize = 0;
/// CPU of the client under test (ours and tungstenite's alike).
const CLIENT_CPU: usize = 1;

/// How the simulated venue waits for the next request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum VenueMode {
    /// Blocking reads (the thread sleeps between requests).
    Blocking,
    /// Non-blocking reads in a spin loop on its own CPU, replying with the 100 frames
    /// pre-encoded in one write, like a colocated, optimised venue: the venue's wake-up and
    /// framing costs drop out and the clients' own receive paths are compared.
    Busy,
}

/// The fast venue: after the tungstenite handshake, read each masked 256-byte request frame
/// (8-byte header + payload) straight from the stream, spinning on `WouldBlock`, and answer with
/// `BATCH` pre-encoded unmasked binary frames in one write.
fn serve_raw<S: Read + Write>(stream: &mut S) {
    const REQUEST_WIRE: usize = 8 + FRAME;
    let mut reply = Vec::with_capacity(BATCH * (4 + FRAME));
    for _ in 0..BATCH {
        reply.extend_from_slice(&[0x82, 126, (FRAME >> 8) as u8, FRAME as u8]);
        reply.extend_from_slice(&[b'r'; FRAME]);
    }
    let mut buf = [0u8; REQUEST_WIRE];
    loop {
        let mut got = 0;
        while got < REQUEST_WIRE {
            match stream.read(&mut buf[got..]) {
                Ok(0) => return,
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(_) => return,
            }
        }
        let mut sent = 0;
        while sent < reply.len() {
            match stream.write(&reply[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(_) => return,
            }
        }
        loop {
            match stream.flush() {
                Ok(()) => break,
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(_) => return,
            }
        }
    }
}

/// Serve one WebSocket with tungstenite: answer every data frame with `BATCH` frames of `FRAME`
/// bytes.
fn serve<S: Read + Write>(mut ws: WebSocket<S>) {
    let reply = Bytes::from_static(&[b'r'; FRAME]);
    loop {
        match ws.read() {
            Ok(Message::Binary(_)) | Ok(Message::Text(_)) => {
                for _ in 0..BATCH {
                    if ws.write(Message::Binary(reply.clone())).is_err() {
                        return;
                    }
                }
                loop {
                    match ws.flush() {
                        Ok(()) => break,
                        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                            std::hint::spin_loop()
                        }
                        Err(_) => return,
                    }
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                std::hint::spin_loop()
            }
            Err(_) => return,
        }
    }
}

/// When the server's socket writes started and ended (mono ns), for the venue's floor.
#[derive(Default)]
struct WriteStamps {
    last_start: AtomicU64,
    last_end: AtomicU64,
}

/// The server's TCP stream, stamping every `write` (under its TLS and WebSocket layers).
struct Stamped {
    inner: TcpStream,
    stamps: Arc<WriteStamps>,
}

impl Read for Stamped {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for Stamped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.stamps.last_start.store(mono_ns(), Ordering::Release);
        let r = self.inner.write(buf);
        self.stamps.last_end.store(mono_ns(), Ordering::Release);
        r
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A server for exactly one connection, plain or TLS.
fn spawn_server(tls: Option<Arc<rustls::ServerConfig>>, mode: VenueMode) -> SocketAddr {
    spawn_stamped_server(tls, mode).0
}

/// [`spawn_server`], also returning the server's write stamps.
fn spawn_stamped_server(
    tls: Option<Arc<rustls::ServerConfig>>,
    mode: VenueMode,
) -> (SocketAddr, Arc<WriteStamps>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stamps = Arc::new(WriteStamps::default());
    let server_stamps = Arc::clone(&stamps);
    thread::spawn(move || {
        // The venue side lives on CPU 0, the client under test on CPU 1 (see `bench`).
        let _ = sattebaaz::runtime::pin::pin_current_thread(SERVER_CPU);
        let (stream, _) = listener.accept().expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        let handle = stream.try_clone().expect("clone");
        let stream = Stamped {
            inner: stream,
            stamps: server_stamps,
        };
        let busy = mode == VenueMode::Busy;
        match tls {
            None => {
                let mut ws = tungstenite::accept(stream).expect("handshake");
                handle.set_nonblocking(busy).expect("mode");
                if busy {
                    serve_raw(ws.get_mut())
                } else {
                    serve(ws)
                }
            }
            Some(config) => {
                let conn = rustls::ServerConnection::new(config).expect("tls");
                let tls = rustls::StreamOwned::new(conn, stream);
                let mut ws = tungstenite::accept(tls).expect("handshake");
                handle.set_nonblocking(busy).expect("mode");
                if busy {
                    serve_raw(ws.get_mut())
                } else {
                    serve(ws)
                }
            }
        }
    });
    (addr, stamps)
}

fn tls_pair() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
    let cert = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("server config");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

/// Our client, connected and open, driven by a busy (zero-timeout) mio poll.
struct Busy<C: Connector> {
    poll: Poll,
    events: Events,
    client: WsClient<C>,
    /// `Some(Duration::ZERO)`: busy polling; `None`: sleep in `epoll_wait` until ready.
    timeout: Option<Duration>,
}

/// Our client over TLS to the bench server at `addr` (see [`Busy::open`]).
fn busy_tls(
    addr: SocketAddr,
    client_config: &Arc<rustls::ClientConfig>,
    timeout: Option<Duration>,
) -> Busy<MaybeTlsConnector> {
    Busy::open(
        MaybeTlsConnector {
            addr,
            tls: Some((Arc::clone(client_config), "localhost".to_string())),
        },
        &format!("wss://localhost:{}/", addr.port()),
        timeout,
    )
}

impl<C: Connector> Busy<C> {
    fn open(connector: C, url: &str, timeout: Option<Duration>) -> Self {
        let poll = Poll::new().expect("poll");
        let mut client = WsClient::new(
            connector,
            url,
            &[],
            WsOptions::default(),
            poll.registry(),
            TOKEN,
            1,
        )
        .expect("client");
        client.start(mono_ns()).expect("start");
        let mut busy = Self {
            poll,
            events: Events::with_capacity(16),
            client,
            timeout: Some(Duration::from_millis(1)),
        };
        while !busy.client.take_just_opened() {
            busy.spin(&mut |_, _| {});
            busy.client.on_timer(mono_ns()).expect("connect");
        }
        busy.timeout = timeout;
        busy
    }

    /// One busy-loop turn; returns the messages delivered.
    #[inline]
    fn spin(&mut self, on_msg: &mut dyn FnMut(&[u8], bool)) -> usize {
        self.poll
            .poll(&mut self.events, self.timeout)
            .expect("poll");
        if self.events.is_empty() {
            return 0;
        }
        self.client
            .poll_read(mono_ns(), &mut *on_msg)
            .expect("read")
    }

    /// One batch: send one frame, spin until all replies arrived.
    fn batch(&mut self) -> usize {
        self.client.send_binary(0, &REQUEST).expect("send");
        let mut got = 0usize;
        let mut bytes = 0usize;
        let mut on_msg = |d: &[u8], _t: bool| bytes += d.len();
        while got < BATCH {
            got += self.spin(&mut on_msg);
        }
        black_box(bytes)
    }
}

/// A blocking tungstenite client over rustls on `stream` (connected to the bench server at
/// `addr`), handshakes done.
fn tungstenite_tls(
    addr: SocketAddr,
    stream: TcpStream,
    client_config: &Arc<rustls::ClientConfig>,
) -> WebSocket<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let name = ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::clone(client_config), name).expect("tls");
    let stream = rustls::StreamOwned::new(conn, stream);
    tungstenite::client(format!("wss://localhost:{}/", addr.port()), stream)
        .expect("handshake")
        .0
}

/// One batch for a blocking tungstenite client.
fn blocking_batch<S: Read + Write>(ws: &mut WebSocket<S>) -> usize {
    ws.send(Message::Binary(Bytes::from_static(&REQUEST)))
        .expect("send");
    let mut bytes = 0usize;
    let mut got = 0usize;
    while got < BATCH {
        if let Message::Binary(b) = ws.read().expect("read") {
            bytes += b.len();
            got += 1;
        }
    }
    black_box(bytes)
}

/// The counting mode (see the module docs): `n` batches with one client, no criterion.
fn count_batches(n: u64) {
    let tls = std::env::var("BENCH_COUNT_TLS").as_deref() == Ok("1");
    let (server_config, client_config) = tls_pair();
    let addr = spawn_server(tls.then(|| server_config.clone()), VenueMode::Blocking);
    let mut total = 0usize;
    if std::env::var("BENCH_COUNT_PATH").as_deref() == Ok("tungstenite") {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        if tls {
            let mut theirs = tungstenite_tls(addr, stream, &client_config);
            for _ in 0..n {
                total += blocking_batch(&mut theirs);
            }
        } else {
            let (mut theirs, _) =
                tungstenite::client(format!("ws://{addr}/"), stream).expect("handshake");
            for _ in 0..n {
                total += blocking_batch(&mut theirs);
            }
        }
    } else if tls {
        let mut ours = busy_tls(addr, &client_config, None);
        for _ in 0..n {
            total += ours.batch();
        }
    } else {
        let mut ours = Busy::open(TcpConnector { addr }, &format!("ws://{addr}/"), None);
        for _ in 0..n {
            total += ours.batch();
        }
    }
    assert_eq!(total as u64, n * (BATCH * FRAME) as u64);
}

/// One floor sample: (client's batch, server's last write started, that write returned), all
/// from just before the request was sent, ns.
fn floor_sample(stamps: &WriteStamps, batch: impl FnOnce() -> usize) -> (u64, u64, u64) {
    let t0 = mono_ns();
    black_box(batch());
    let done = mono_ns();
    // The last write began before the last frame arrived; its end may still be on its way.
    let start = stamps.last_start.load(Ordering::Acquire);
    let mut end = stamps.last_end.load(Ordering::Acquire);
    while end < start {
        std::hint::spin_loop();
        end = stamps.last_end.load(Ordering::Acquire);
    }
    (done - t0, start.saturating_sub(t0), end.saturating_sub(t0))
}

/// `n` floor samples after `n / 10` unrecorded ones: medians of (batch, server's last write
/// began, that write returned), µs.
fn floor_row(n: usize, stamps: &WriteStamps, mut batch: impl FnMut() -> usize) -> (f64, f64, f64) {
    let mut cols = [
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    ];
    for i in 0..n + n / 10 {
        let (b, f, r) = floor_sample(stamps, &mut batch);
        if i >= n / 10 {
            cols[0].push(b);
            cols[1].push(f);
            cols[2].push(r);
        }
    }
    let [b, f, r] = cols.map(|mut v| {
        v.sort_unstable();
        v[v.len() / 2] as f64 / 1e3
    });
    (b, f, r)
}

/// The venue's floor mode (see the module docs): `n` batches per venue, transport and client.
fn floors(n: usize) {
    let pin = sattebaaz::runtime::pin::pin_current_thread(CLIENT_CPU);
    eprintln!("ws_recv floors: client thread {pin}, {n} batches per row");
    println!(
        "| venue | transport | client | batch p50 | server's last write began (floor) p50 | \
         that write returned p50 | tungstenite p50 / floor p50 | tungstenite p50 / returned p50 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (mode, venue) in [
        (VenueMode::Blocking, "tungstenite"),
        (VenueMode::Busy, "busy"),
    ] {
        for tls in [false, true] {
            let (server_config, client_config) = tls_pair();
            // Ours, busy polling.
            let (addr, stamps) = spawn_stamped_server(tls.then(|| server_config.clone()), mode);
            let ours_row = if tls {
                let mut ours = busy_tls(addr, &client_config, Some(Duration::ZERO));
                floor_row(n, &stamps, || ours.batch())
            } else {
                let mut ours = Busy::open(
                    TcpConnector { addr },
                    &format!("ws://{addr}/"),
                    Some(Duration::ZERO),
                );
                floor_row(n, &stamps, || ours.batch())
            };
            // Tungstenite, blocking.
            let (addr, stamps) = spawn_stamped_server(tls.then(|| server_config.clone()), mode);
            let stream = TcpStream::connect(addr).expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let theirs_row = if tls {
                let mut theirs = tungstenite_tls(addr, stream, &client_config);
                floor_row(n, &stamps, || blocking_batch(&mut theirs))
            } else {
                let (mut theirs, _) =
                    tungstenite::client(format!("ws://{addr}/"), stream).expect("handshake");
                floor_row(n, &stamps, || blocking_batch(&mut theirs))
            };
            let rows = [
                ("sattebaaz, busy poll", ours_row),
                ("tungstenite, blocking", theirs_row),
            ];
            let theirs = theirs_row.0;
            for (client, (b, f, r)) in rows {
                println!(
                    "| {venue} | {} | {client} | {b:.1} µs | {f:.1} µs | {r:.1} µs | {:.2}× | \
                     {:.2}× |",
                    if tls { "TLS" } else { "plain" },
                    theirs / f,
                    theirs / r
                );
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    if let Some(n) = std::env::var("BENCH_COUNT_ITERS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        count_batches(n);
        std::process::exit(0);
    }
    if let Some(n) = std::env::var("WS_RECV_FLOOR")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        floors(n.max(10));
        std::process::exit(0);
    }
    // Both clients run pinned to their own CPU, the servers to the other one: the deployment
    // shape (a busy-polling client needs a core of its own). Pinning is reported, not required.
    let pin = sattebaaz::runtime::pin::pin_current_thread(CLIENT_CPU);
    eprintln!("ws_recv: client thread {pin}");
    for (mode, group_name) in [
        (VenueMode::Blocking, "ws_recv_batch_100x256"),
        (VenueMode::Busy, "ws_recv_batch_100x256_busy_venue"),
    ] {
        let mut group = c.benchmark_group(group_name);
        group.sample_size(50);
        group.measurement_time(Duration::from_secs(5));
        group.warm_up_time(Duration::from_secs(1));

        // Plain TCP.
        let addr = spawn_server(None, mode);
        let mut ours = Busy::open(
            TcpConnector { addr },
            &format!("ws://{addr}/"),
            Some(Duration::ZERO),
        );
        group.bench_function("plain/ours_mio_busy_poll", |b| b.iter(|| ours.batch()));
        drop(ours);

        // Same client, sleeping in epoll_wait: separates our code path from busy-spin effects.
        let addr = spawn_server(None, mode);
        let mut ours = Busy::open(TcpConnector { addr }, &format!("ws://{addr}/"), None);
        group.bench_function("plain/ours_mio_blocking_poll", |b| b.iter(|| ours.batch()));
        drop(ours);

        let addr = spawn_server(None, mode);
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (mut theirs, _) =
            tungstenite::client(format!("ws://{addr}/"), stream).expect("handshake");
        group.bench_function("plain/tungstenite_blocking", |b| {
            b.iter(|| blocking_batch(&mut theirs))
        });
        drop(theirs);

        // TLS.
        let (server_config, client_config) = tls_pair();
        let addr = spawn_server(Some(server_config.clone()), mode);
        let mut ours = busy_tls(addr, &client_config, Some(Duration::ZERO));
        group.bench_function("tls/ours_mio_busy_poll", |b| b.iter(|| ours.batch()));
        drop(ours);

        let addr = spawn_server(Some(server_config), mode);
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let mut theirs = tungstenite_tls(addr, stream, &client_config);
        group.bench_function("tls/tungstenite_blocking", |b| {
            b.iter(|| blocking_batch(&mut theirs))
        });
        drop(theirs);

        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
