//! The HTTP/1.1 keep-alive pool against a real, independent server: Python's standard-library
//! `http.server` (HTTP/1.1, threaded) run as a child process from `tests/support/http_server.py`
//! on an ephemeral loopback port. The server stamps every response with a per-connection id and
//! request count, which is the server-side evidence of connection reuse.
//!
//! Every wait is bounded by a wall-clock safety net (`GIVE_UP_AFTER`), so a broken client fails
//! instead of hanging; no test asserts a speed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use sattebaaz::clock::mono_ns;
use sattebaaz::net::backoff::BackoffPolicy;
use sattebaaz::net::http::{
    Connect, HttpError, HttpPool, Method, PoolConfig, Request, RequestId, RequestTemplate,
    ResponseView, Stage, TcpConnector, TlsConnector,
};
use sattebaaz::net::tls::{TlsClientConfigBuilder, TlsStream};
use sattebaaz::net::transport::Transport;
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

/// Safety net so a broken implementation fails instead of hanging; not a speed assertion.
const GIVE_UP_AFTER: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The Python server

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/http_server.py")
    }

    /// Start the server on `port` (0 = ephemeral), optionally over TLS, and read its port.
    fn start(port: u16, tls: Option<(&Path, &Path)>) -> Server {
        let give_up = Instant::now() + GIVE_UP_AFTER;
        loop {
            let mut cmd = Command::new("python3");
            cmd.arg(Self::script()).arg("--port").arg(port.to_string());
            if let Some((cert, key)) = tls {
                cmd.arg("--cert").arg(cert).arg("--key").arg(key);
            }
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3 must be installed to run these tests");
            let mut line = String::new();
            let stdout = child.stdout.take().expect("piped stdout");
            let read = BufReader::new(stdout).read_line(&mut line).unwrap_or(0);
            if let Ok(bound) = line.trim().parse::<u16>() {
                return Server { child, port: bound };
            }
            // Bind failed (a restart racing the old socket's release): retry for a while.
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                Instant::now() < give_up,
                "http_server.py did not start (read {read} bytes: {line:?})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// A small blocking-poll driver around the pool (the engine busy-polls; tests sleep in poll)

/// An owned copy of what a test needs from a response.
#[derive(Debug, Clone)]
struct Got {
    status: u16,
    body: Vec<u8>,
    conn_id: u64,
    served: u64,
    method: Option<Vec<u8>>,
    poly_address: Option<Vec<u8>>,
}

fn number(v: Option<&[u8]>) -> u64 {
    v.and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn own(view: &ResponseView<'_>) -> Got {
    Got {
        status: view.status,
        body: view.body.to_vec(),
        conn_id: number(view.header(b"x-conn-id")),
        served: number(view.header(b"X-Conn-Served")),
        method: view.header(b"x-method").map(<[u8]>::to_vec),
        poly_address: view.header(b"x-poly-address").map(<[u8]>::to_vec),
    }
}

struct Driver<T, C> {
    poll: Poll,
    events: Events,
    pool: HttpPool<T, C>,
}

fn config(connections: usize) -> PoolConfig {
    PoolConfig {
        connections,
        token_base: 100,
        request_timeout_ns: 10_000_000_000,
        connect_timeout_ns: 5_000_000_000,
        ..PoolConfig::default()
    }
}

fn fast_backoff() -> BackoffPolicy {
    BackoffPolicy::new(
        Duration::from_millis(20),
        2.0,
        Duration::from_millis(200),
        0.5,
    )
    .expect("valid policy")
}

fn template() -> RequestTemplate {
    RequestTemplate::new(
        "127.0.0.1",
        &[
            ("User-Agent", "sattebaaz-test"),
            ("Content-Type", "application/json"),
        ],
    )
    .expect("valid template")
}

impl<T: Transport, C: Connect<T>> Driver<T, C> {
    fn new(cfg: PoolConfig, connector: C) -> Self {
        let poll = Poll::new().expect("poll");
        let pool = HttpPool::new(cfg, template(), connector, fast_backoff(), poll.registry())
            .expect("pool");
        Self {
            poll,
            events: Events::with_capacity(64),
            pool,
        }
    }

    /// One loop iteration: wait up to 1 ms for readiness, dispatch, run timers.
    fn step<F>(&mut self, on_done: &mut F)
    where
        F: FnMut(RequestId, Result<ResponseView<'_>, HttpError>),
    {
        if let Err(e) = self
            .poll
            .poll(&mut self.events, Some(Duration::from_millis(1)))
        {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::Interrupted,
                "poll failed: {e}"
            );
        }
        let now = mono_ns();
        for event in self.events.iter() {
            assert!(
                self.pool.on_ready(event.token(), now, on_done),
                "foreign token"
            );
        }
        self.pool.on_timer(now, on_done);
    }

    /// Step until `cond` holds; panics after the safety net.
    fn step_until(&mut self, what: &str, mut cond: impl FnMut(&HttpPool<T, C>) -> bool) {
        let give_up = Instant::now() + GIVE_UP_AFTER;
        let mut ignore = |id: RequestId, r: Result<ResponseView<'_>, HttpError>| {
            panic!("unexpected outcome for {id:?}: {:?}", r.map(|v| own(&v)))
        };
        while !cond(&self.pool) {
            assert!(Instant::now() < give_up, "gave up waiting for: {what}");
            self.step(&mut ignore);
        }
    }

    fn warm_up(&mut self) {
        let n = self.pool.config().connections;
        self.step_until("all connections warm", |p| p.idle_count() == n);
    }

    /// Send one request and drive the loop until its outcome arrives.
    fn request(&mut self, req: &Request<'_>) -> Result<Got, HttpError> {
        let timeout_ns = self.pool.config().request_timeout_ns;
        self.request_with_timeout(req, timeout_ns)
    }

    fn request_with_timeout(
        &mut self,
        req: &Request<'_>,
        timeout_ns: u64,
    ) -> Result<Got, HttpError> {
        let id = self.pool.send_with_timeout(req, mono_ns(), timeout_ns)?;
        let mut outcome: Option<Result<Got, HttpError>> = None;
        let give_up = Instant::now() + GIVE_UP_AFTER;
        while outcome.is_none() {
            assert!(Instant::now() < give_up, "no outcome for {id:?}");
            self.step(&mut |got_id, r: Result<ResponseView<'_>, HttpError>| {
                assert_eq!(got_id, id, "outcome for a request not in flight");
                outcome = Some(r.map(|v| own(&v)));
            });
        }
        outcome.expect("set above")
    }

    fn get(&mut self, path: &str) -> Result<Got, HttpError> {
        self.request(&Request {
            method: Method::Get,
            path: path.as_bytes(),
            headers: &[],
            body: b"",
        })
    }

    /// Connections the server has accepted, once it has caught up with `expected`. The kernel
    /// completes a TCP handshake before the server's accept loop and handler thread run, so a
    /// warm client connection may not be counted yet: ask again (bounded) until the count
    /// reaches `expected`, then return it (the caller asserts it is exactly that).
    fn accepted(&mut self, expected: u64) -> u64 {
        let give_up = Instant::now() + GIVE_UP_AFTER;
        loop {
            let got = self.get("/stats").expect("stats");
            let text = String::from_utf8(got.body).expect("utf8");
            let count = text.trim_start_matches("accepted=").parse().expect("count");
            if count >= expected || Instant::now() >= give_up {
                return count;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn tcp_driver(server: &Server, connections: usize) -> Driver<mio::net::TcpStream, TcpConnector> {
    let mut d = Driver::new(
        config(connections),
        TcpConnector {
            addr: server.addr(),
        },
    );
    d.warm_up();
    d
}

const AUTH_HEADERS: [(&[u8], &[u8]); 5] = [
    (
        b"POLY_ADDRESS",
        b"0x1234567890abcdef1234567890abcdef12345678",
    ),
    (b"POLY_SIGNATURE", b"c2lnbmF0dXJl"),
    (b"POLY_TIMESTAMP", b"1764000000"),
    (b"POLY_API_KEY", b"00000000-0000-0000-0000-000000000000"),
    (b"POLY_PASSPHRASE", b"not-a-real-passphrase"),
];

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn keep_alive_serves_1000_requests_on_the_warm_connections() {
    let server = Server::start(0, None);
    let mut d = tcp_driver(&server, 2);
    let mut conn_ids = BTreeSet::new();
    let mut served_by_conn: BTreeMap<u64, u64> = BTreeMap::new();
    let mut last_id = None;
    for i in 0..1000u32 {
        let body = format!("{{\"order\":{i}}}");
        let req = Request {
            method: Method::Post,
            path: b"/echo",
            headers: &AUTH_HEADERS,
            body: body.as_bytes(),
        };
        let id = d.pool.send(&req, mono_ns()).expect("an idle connection");
        assert!(last_id < Some(id), "ids increase");
        last_id = Some(id);
        let mut got = None;
        let give_up = Instant::now() + GIVE_UP_AFTER;
        while got.is_none() {
            assert!(Instant::now() < give_up, "request {i} got no outcome");
            d.step(&mut |rid, r: Result<ResponseView<'_>, HttpError>| {
                assert_eq!(rid, id);
                got = Some(own(&r.expect("response")));
            });
        }
        let got = got.expect("set above");
        assert_eq!(got.status, 200);
        assert_eq!(got.body, body.as_bytes(), "request {i}");
        assert_eq!(got.method.as_deref(), Some(&b"POST"[..]));
        assert_eq!(got.poly_address.as_deref(), Some(AUTH_HEADERS[0].1));
        conn_ids.insert(got.conn_id);
        let served = served_by_conn.entry(got.conn_id).or_default();
        assert_eq!(got.served, *served + 1, "per-connection count steps by one");
        *served = got.served;
    }
    let total: u64 = served_by_conn.values().sum();
    assert_eq!(total, 1000);
    assert!(
        conn_ids.len() <= 2,
        "served by {} connections, not the pool's 2",
        conn_ids.len()
    );
    // Only the two warm connections were ever accepted by the server.
    assert_eq!(d.accepted(2), 2);
    let net = d.pool.net_counters();
    assert_eq!((net.connects, net.drops, net.reconnects), (2, 0, 0));
    assert_eq!(d.pool.counters().responses, 1001);
}

#[test]
fn no_allocation_per_request_after_warm_up() {
    let server = Server::start(0, None);
    let mut d = tcp_driver(&server, 2);
    let req = Request {
        method: Method::Post,
        path: b"/echo",
        headers: &AUTH_HEADERS,
        body: b"{\"order\":\"hot path\"}",
    };
    // Warm-up: first responses touch lazily initialised statics (clock epoch, ...).
    for _ in 0..20 {
        assert_eq!(d.request(&req).expect("warm-up").status, 200);
    }
    let rounds = 200;
    let (allocs, ok) = count_allocations(|| {
        let mut ok = 0u32;
        for _ in 0..rounds {
            let Ok(id) = d.pool.send(&req, mono_ns()) else {
                return ok;
            };
            let mut done = false;
            for _ in 0..100_000 {
                d.step(&mut |rid, r: Result<ResponseView<'_>, HttpError>| {
                    if let Ok(view) = r {
                        if rid == id && view.status == 200 && view.body == req.body {
                            ok += 1;
                        }
                    }
                    done = true;
                });
                if done {
                    break;
                }
            }
        }
        ok
    });
    assert_eq!(ok, rounds, "every request must succeed");
    assert_eq!(allocs, 0, "send + poll + parse + callback allocated");
}

#[test]
fn chunked_responses_including_chunks_split_across_reads() {
    let server = Server::start(0, None);
    let mut d = tcp_driver(&server, 1);
    let expected = |n: usize, size: usize| -> Vec<u8> {
        (0..n)
            .flat_map(|i| std::iter::repeat_n(b'a' + (i % 26) as u8, size))
            .collect()
    };
    // Every piece is written separately with pauses: size line, data and CRLF all split.
    let split = d
        .get("/chunked?n=6&size=37&split=1")
        .expect("split chunked");
    assert_eq!(split.status, 200);
    assert_eq!(split.body, expected(6, 37));
    // Many chunks at once: several chunks per read, and a body larger than one socket read.
    let bulk = d.get("/chunked?n=200&size=1000").expect("bulk chunked");
    assert_eq!(bulk.body, expected(200, 1000));
    // The framing was consumed exactly: the same connection serves the next request.
    let after = d.get("/echo").expect("echo after chunked");
    assert_eq!(after.conn_id, split.conn_id);
    assert_eq!(after.served, 3);
    assert_eq!(d.pool.net_counters().drops, 0);
}

#[test]
fn content_length_responses_and_body_limit() {
    let server = Server::start(0, None);
    let mut d = tcp_driver(&server, 1);
    let big = d.get("/big?len=300000").expect("big body");
    assert_eq!(big.body.len(), 300_000);
    assert!(big.body.iter().all(|&b| b == b'x'));
    let empty = d.get("/big?len=0").expect("empty body");
    assert!(empty.body.is_empty());
    assert_eq!(empty.conn_id, big.conn_id);
    let missing = d.get("/nowhere").expect("404 is a response");
    assert_eq!(
        (missing.status, &missing.body[..]),
        (404, &b"not found"[..])
    );

    // A pool with a small body limit refuses a larger body with a typed error and recovers.
    let mut small = Driver::new(
        PoolConfig {
            max_body_bytes: 1000,
            ..config(1)
        },
        TcpConnector {
            addr: server.addr(),
        },
    );
    small.warm_up();
    assert_eq!(
        small.get("/big?len=5000").unwrap_err(),
        HttpError::BodyTooLarge
    );
    assert_eq!(small.pool.counters().body_too_large, 1);
    small.warm_up();
    assert_eq!(
        small.get("/big?len=1000").expect("at the limit").body.len(),
        1000
    );
}

#[test]
fn truncated_responses_are_typed_errors_and_the_pool_recovers() {
    let server = Server::start(0, None);
    let mut d = tcp_driver(&server, 2);
    assert_eq!(
        d.get("/truncate_body").unwrap_err(),
        HttpError::Truncated(Stage::Body)
    );
    d.warm_up();
    assert_eq!(
        d.get("/truncate_head").unwrap_err(),
        HttpError::Truncated(Stage::Head)
    );
    d.warm_up();
    assert_eq!(
        d.get("/truncate_chunked").unwrap_err(),
        HttpError::Truncated(Stage::Body)
    );
    d.warm_up();
    assert_eq!(d.get("/echo").expect("recovered").status, 200);
    assert_eq!(d.pool.counters().truncated, 3);
    let net = d.pool.net_counters();
    assert_eq!(net.drops, 3);
    assert_eq!(net.http_errors, 3);
    assert!(net.reconnects >= 3, "each broken connection was replaced");
}

#[test]
fn timeout_discards_the_connection_and_the_pool_recovers() {
    let server = Server::start(0, None);
    let mut d = tcp_driver(&server, 2);
    let before = d.get("/echo").expect("echo");
    let hang = Request {
        method: Method::Get,
        path: b"/hang",
        headers: &[],
        body: b"",
    };
    assert_eq!(
        d.request_with_timeout(&hang, 300_000_000).unwrap_err(),
        HttpError::Timeout
    );
    assert_eq!(d.pool.counters().timeouts, 1);
    assert_eq!(d.pool.net_counters().drops, 1);
    d.warm_up();
    let after = d.get("/echo").expect("echo after timeout");
    assert_eq!(after.status, 200);
    assert_ne!(
        after.conn_id, before.conn_id,
        "the timed-out connection is never reused"
    );
    // Two warm connections plus the replacement of the discarded one.
    assert_eq!(d.accepted(3), 3);
}

#[test]
fn connection_close_response_replaces_the_connection() {
    let server = Server::start(0, None);
    let mut d = tcp_driver(&server, 1);
    let first = d.get("/close").expect("close response");
    assert_eq!(first.body, b"bye");
    assert_eq!(d.pool.counters().closed_after_response, 1);
    d.warm_up();
    let next = d.get("/echo").expect("echo");
    assert_ne!(next.conn_id, first.conn_id);
}

#[test]
fn server_restart_pool_reconnects() {
    let server = Server::start(0, None);
    let port = server.port;
    let mut d = tcp_driver(&server, 2);
    assert_eq!(d.get("/echo").expect("before restart").status, 200);
    drop(server);
    // Both warm connections see the close; reconnects are refused and backed off.
    d.step_until("both connections dropped and a connect refused", |p| {
        p.net_counters().drops >= 2 && p.net_counters().connect_failures >= 1
    });
    assert_eq!(d.pool.idle_count(), 0);
    assert_eq!(
        d.get("/echo").unwrap_err(),
        HttpError::NoIdleConnection,
        "nothing is sent while the host is down"
    );
    let server = Server::start(port, None);
    d.warm_up();
    assert_eq!(d.get("/echo").expect("after restart").status, 200);
    assert_eq!(
        d.accepted(2),
        2,
        "the new server sees exactly the two replacements"
    );
    let net = *d.pool.net_counters();
    assert!(net.reconnects >= 3, "reconnect attempts counted: {net:?}");
    assert_eq!(net.connects, 4);
    // The same story reaches the telemetry thread as events (the ring keeps the latest 16).
    let mut from_events = sattebaaz::net::counters::NetCounters::default();
    let mut n = 0u64;
    d.pool.drain_events(|e| {
        from_events.record(&e);
        n += 1;
    });
    assert_eq!(n + d.pool.events_lost(), {
        net.connects + net.connect_failures + net.drops + net.reconnects
    });
    if d.pool.events_lost() == 0 {
        assert_eq!(from_events.connects, net.connects);
        assert_eq!(from_events.drops, net.drops);
    }
    assert!(
        from_events.connects >= 2,
        "the reconnects are among the latest events"
    );
    drop(server);
}

// ---------------------------------------------------------------------------------------------
// TLS

struct TempFile(PathBuf);
impl TempFile {
    fn write(name: &str, contents: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "sattebaaz-net-http-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, contents).expect("write temp file");
        TempFile(path)
    }
}
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A test CA (PEM) and a "localhost" leaf certificate + key it issued (PEM): the simulator's.
fn ca_and_leaf() -> (String, String, String) {
    let certs = sattebaaz::sim::certs::SimCertificates::generate().expect("certificates");
    (certs.ca_pem, certs.server_cert_pem, certs.server_key_pem)
}

#[test]
fn keep_alive_over_tls_against_python_ssl_server() {
    let (ca_pem, leaf_pem, key_pem) = ca_and_leaf();
    let ca = TempFile::write("ca.pem", &ca_pem);
    let cert = TempFile::write("leaf.pem", &leaf_pem);
    let key = TempFile::write("leaf.key", &key_pem);
    let server = Server::start(0, Some((&cert.0, &key.0)));
    let tls_config = TlsClientConfigBuilder::new()
        .webpki_roots(false)
        .extra_ca_file(&ca.0)
        .build()
        .expect("client config");
    let mut d: Driver<TlsStream, TlsConnector> = Driver::new(
        config(2),
        TlsConnector {
            addr: server.addr(),
            config: tls_config,
            server_name: "localhost".to_string(),
        },
    );
    d.warm_up();
    let mut conn_ids = BTreeSet::new();
    for i in 0..100u32 {
        let body = format!("tls {i}");
        let got = d
            .request(&Request {
                method: Method::Post,
                path: b"/echo",
                headers: &AUTH_HEADERS,
                body: body.as_bytes(),
            })
            .expect("tls echo");
        assert_eq!(got.body, body.as_bytes());
        conn_ids.insert(got.conn_id);
    }
    let chunked = d.get("/chunked?n=5&size=100&split=1").expect("tls chunked");
    assert_eq!(chunked.body.len(), 500);
    assert_eq!(
        d.get("/truncate_body").unwrap_err(),
        HttpError::Truncated(Stage::Body)
    );
    d.warm_up();
    assert!(conn_ids.len() <= 2);
    assert_eq!(
        d.accepted(3),
        3,
        "two warm connections plus one replacement"
    );
    assert_eq!(d.pool.net_counters().tls_errors, 0);
}
