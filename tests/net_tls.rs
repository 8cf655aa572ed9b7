//! Loopback tests of the mio-driven `TlsStream` against a blocking rustls server on a std
//! thread: handshake and echo both ways, clean close, refusal of a wrong-name certificate and of
//! an unknown CA, and the named error for a missing CA file. Also proves the poll loop, token
//! allocator, backoff and counters allocate nothing after warm-up.
//!
//! Record-level tests against a hand-driven rustls server, for every TLS 1.2/1.3 AEAD suite:
//! records split at every byte boundary, no allocation while reading records (split at arbitrary
//! points) and writing after warm-up, a write larger than all buffers (`WouldBlock`, then
//! completion in order), `close_notify` as `Ok(0)`, TCP EOF as `UnexpectedEof`, a tampered record
//! (decrypt error, alert to the server), server key updates, session resumption (TLS 1.3 ticket,
//! TLS 1.2 abbreviated handshake), and the alert for a refused certificate reaching the server.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sattebaaz::net::tcp::{self, ConnectProgress};
use sattebaaz::net::tls::{
    client_config, tls_failure, MaybeTls, TlsClientConfigBuilder, TlsConfigError, TlsStream,
};
use sattebaaz::net::transport::Transport;
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Safety net so a broken implementation fails instead of hanging; not a speed assertion.
const GIVE_UP_AFTER: Duration = Duration::from_secs(20);
const TOKEN: Token = Token(7);

struct TempPem(PathBuf);
impl TempPem {
    fn write(pem: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "sattebaaz-net-tls-{}-{}.pem",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, pem).unwrap();
        TempPem(path)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}
impl Drop for TempPem {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A self-signed certificate for `names` and its PKCS#8 key.
fn self_signed(names: &[&str]) -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).unwrap();
    let pem = ck.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    (ck.cert.der().clone(), key, pem)
}

/// Blocking rustls echo server for one connection. Returns the address and a handle yielding the
/// server-side outcome (Ok(bytes echoed) or the error text).
fn spawn_echo_server(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> (SocketAddr, JoinHandle<Result<usize, String>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (sock, _) = listener.accept().map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(GIVE_UP_AFTER)).unwrap();
        let conn = rustls::ServerConnection::new(Arc::new(config)).map_err(|e| e.to_string())?;
        let mut tls = rustls::StreamOwned::new(conn, sock);
        let mut buf = [0u8; 4096];
        let mut echoed = 0usize;
        loop {
            match tls.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    tls.write_all(&buf[..n]).map_err(|e| e.to_string())?;
                    tls.flush().map_err(|e| e.to_string())?;
                    echoed += n;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        tls.conn.send_close_notify();
        tls.flush().map_err(|e| e.to_string())?;
        Ok(echoed)
    });
    (addr, handle)
}

/// Client side: connect, register, and return poll + transport.
fn connect_client(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    name: &str,
) -> (Poll, MaybeTls) {
    let poll = Poll::new().unwrap();
    let mut conn = MaybeTls::connect(addr, Some((config, name))).unwrap();
    poll.registry()
        .register(
            conn.socket(),
            TOKEN,
            Interest::READABLE | Interest::WRITABLE,
        )
        .unwrap();
    (poll, conn)
}

/// Drive `conn` until `want` bytes have been read back (sending `payload` as the socket allows)
/// or an error occurs. Returns the bytes read or the first error.
fn echo_round(poll: &mut Poll, conn: &mut MaybeTls, payload: &[u8]) -> io::Result<Vec<u8>> {
    let mut events = Events::with_capacity(16);
    let mut sent = 0usize;
    let mut received = Vec::with_capacity(payload.len());
    let mut buf = [0u8; 8192];
    let mut connected = false;
    let started = Instant::now();
    while received.len() < payload.len() {
        assert!(started.elapsed() < GIVE_UP_AFTER, "echo did not finish");
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        if !connected {
            match tcp::poll_connect(conn.socket())? {
                ConnectProgress::Pending => continue,
                ConnectProgress::Connected => connected = true,
            }
        }
        while sent < payload.len() {
            match conn.write(&payload[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        conn.flush_pending()?;
        loop {
            match conn.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(received)
}

#[test]
fn handshake_completes_and_bytes_echo_both_ways_then_clean_close() {
    let (cert, key, pem) = self_signed(&["localhost"]);
    let ca = TempPem::write(&pem);
    let config = client_config(Some(ca.path())).unwrap();
    let (addr, server) = spawn_echo_server(cert, key);
    let (mut poll, mut conn) = connect_client(addr, config, "localhost");
    assert!(conn.is_tls());
    assert!(conn.is_handshaking());

    // Written while the handshake is still in progress: buffered in rustls, sent after.
    let small = b"hello over tls".to_vec();
    assert_eq!(echo_round(&mut poll, &mut conn, &small).unwrap(), small);
    assert!(!conn.is_handshaking());

    // Larger than one TLS record and than rustls' default buffer: partial writes and reads.
    let big: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let back = echo_round(&mut poll, &mut conn, &big).unwrap();
    assert!(back == big, "echoed bytes differ");

    // Clean close: our close_notify, the server's close_notify back, then read() == Ok(0).
    let MaybeTls::Tls(tls) = &mut conn else {
        panic!("expected TLS")
    };
    let tls: &mut TlsStream = tls;
    tls.send_close_notify().unwrap();
    let mut events = Events::with_capacity(4);
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let closed = loop {
        assert!(started.elapsed() < GIVE_UP_AFTER, "close never completed");
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .unwrap();
        tls.flush_pending().unwrap();
        match tls.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => panic!("unexpected {n} bytes after close"),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => panic!("unclean close: {e}"),
        }
    };
    assert!(closed);
    assert_eq!(server.join().unwrap().unwrap(), small.len() + big.len());
}

#[test]
fn certificate_for_another_name_is_refused() {
    // The certificate is trusted (it is its own CA) but names other.example, not localhost.
    let (cert, key, pem) = self_signed(&["other.example"]);
    let ca = TempPem::write(&pem);
    let config = client_config(Some(ca.path())).unwrap();
    let (addr, server) = spawn_echo_server(cert, key);
    let (mut poll, mut conn) = connect_client(addr, config, "localhost");
    let err = echo_round(&mut poll, &mut conn, b"x").unwrap_err();
    let failure = tls_failure(&err).expect("TLS failure").clone();
    assert!(
        matches!(
            failure,
            rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName)
                | rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForNameContext { .. }
                )
        ),
        "got {failure:?}"
    );
    drop(conn);
    assert!(server.join().unwrap().is_err());
}

/// A CA certificate (PEM) named `ca_name` and a "localhost" leaf it issued (DER + key).
fn ca_and_leaf(ca_name: &str) -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, ca_name);
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (ca_cert.pem(), leaf.der().clone(), key)
}

#[test]
fn leaf_issued_by_the_extra_ca_is_accepted() {
    let (ca_pem, leaf, key) = ca_and_leaf("sattebaaz test CA");
    let ca = TempPem::write(&ca_pem);
    let config = TlsClientConfigBuilder::new()
        .extra_ca_file(ca.path())
        .build()
        .unwrap();
    let (addr, server) = spawn_echo_server(leaf, key);
    let (mut poll, mut conn) = connect_client(addr, config, "localhost");
    assert_eq!(
        echo_round(&mut poll, &mut conn, b"chain ok").unwrap(),
        b"chain ok"
    );
    drop(conn);
    // The client dropped without close_notify: the server sees an unclean EOF.
    assert!(server.join().unwrap().is_err());
}

#[test]
fn certificate_from_unknown_ca_is_refused() {
    // Client trusts CA "trusted"; the server's leaf for localhost was issued by CA "rogue".
    let (trusted_pem, _, _) = ca_and_leaf("sattebaaz trusted CA");
    let (_, rogue_leaf, rogue_key) = ca_and_leaf("sattebaaz rogue CA");
    let ca = TempPem::write(&trusted_pem);
    let config = TlsClientConfigBuilder::new()
        .extra_ca_file(ca.path())
        .build()
        .unwrap();
    let (addr, server) = spawn_echo_server(rogue_leaf, rogue_key);
    let (mut poll, mut conn) = connect_client(addr, config, "localhost");
    let err = echo_round(&mut poll, &mut conn, b"must not arrive").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains("TLS error"), "{err}");
    assert!(
        matches!(
            tls_failure(&err),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{err}"
    );
    drop(conn);
    assert!(
        server.join().unwrap().is_err(),
        "server completed a session"
    );
}

#[test]
fn webpki_roots_alone_refuse_a_self_signed_server() {
    let (cert, key, _) = self_signed(&["localhost"]);
    let config = client_config(None).unwrap();
    let (addr, server) = spawn_echo_server(cert, key);
    let (mut poll, mut conn) = connect_client(addr, config, "localhost");
    let err = echo_round(&mut poll, &mut conn, b"x").unwrap_err();
    assert!(
        matches!(
            tls_failure(&err),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{err}"
    );
    drop(conn);
    assert!(server.join().unwrap().is_err());
}

#[test]
fn missing_ca_file_gives_an_error_naming_it() {
    let path = std::env::temp_dir().join("sattebaaz-net-tls-definitely-missing-ca.pem");
    let _ = std::fs::remove_file(&path);
    let err = client_config(Some(&path)).unwrap_err();
    match &err {
        TlsConfigError::CaFileUnreadable {
            path: named,
            source,
        } => {
            assert_eq!(named, &path);
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("wrong error: {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("sattebaaz-net-tls-definitely-missing-ca.pem"),
        "{err}"
    );
}

#[test]
fn plain_variant_echoes_without_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let mut total = 0;
        loop {
            let n = sock.read(&mut buf).unwrap();
            if n == 0 {
                break total;
            }
            sock.write_all(&buf[..n]).unwrap();
            total += n;
        }
    });
    let mut poll = Poll::new().unwrap();
    let mut conn = MaybeTls::connect(addr, None).unwrap();
    assert!(!conn.is_tls() && !conn.is_handshaking());
    poll.registry()
        .register(
            conn.socket(),
            TOKEN,
            Interest::READABLE | Interest::WRITABLE,
        )
        .unwrap();
    let msg = b"plain bytes".to_vec();
    assert_eq!(echo_round(&mut poll, &mut conn, &msg).unwrap(), msg);
    drop(conn);
    assert_eq!(server.join().unwrap(), msg.len());
}

#[test]
fn poll_loop_backoff_tokens_and_counters_do_not_allocate_after_warm_up() {
    use sattebaaz::net::backoff::{Backoff, BackoffPolicy};
    use sattebaaz::net::counters::{DropReason, NetCounters, NetEvent, NetEventKind};
    use sattebaaz::net::poll::{PollMode, Poller, TokenAllocator};

    let mut poller = Poller::new(PollMode::Busy, 64).unwrap();
    let mut listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    poller
        .registry()
        .register(&mut listener, Token(1), Interest::READABLE)
        .unwrap();
    let mut tokens = TokenAllocator::new(100, 16);
    let mut backoff = Backoff::new(BackoffPolicy::default(), 5);
    let mut counters = NetCounters::default();
    // Warm-up: one of everything.
    poller.dispatch(|_, _| {}).unwrap();
    let t = tokens.alloc().unwrap();
    tokens.release(t).unwrap();
    backoff.next_delay();

    let _client = std::net::TcpStream::connect(addr).unwrap();
    let (allocs, readable_seen) = count_allocations(|| {
        let mut seen = false;
        for i in 0..50_000u64 {
            poller
                .dispatch(|token, ready| seen |= token == Token(1) && ready.readable)
                .unwrap();
            let t = tokens.alloc().unwrap();
            tokens.release(t).unwrap();
            let _ = backoff.next_delay();
            if i % 8 == 0 {
                backoff.reset();
            }
            counters.record(&NetEvent::new(2, NetEventKind::Dropped(DropReason::Io), i));
            counters.add_in(10);
            if seen && i > 1_000 {
                break;
            }
        }
        seen
    });
    assert!(readable_seen, "the listener never became readable");
    assert_eq!(allocs, 0, "steady-state loop allocated");
    assert!(counters.drops > 0);
}

// ---------------------------------------------------------------------------------------------
// Record-level tests: the server is a rustls `ServerConnection` driven by hand in the test thread
// over a non-blocking std socket, so the test decides exactly which TLS bytes reach the client and
// when. Loopback delivery is synchronous: bytes written by one side are readable by the other
// as soon as `write` returns.

use rustls::crypto::ring::cipher_suite as suites;
use rustls::SupportedCipherSuite;
use sattebaaz::net::tls::{TlsStream as Stream, OUTGOING_CAPACITY};

/// Every AEAD framing the record layer implements: TLS 1.3 (AES-128/256-GCM, ChaCha20) and
/// TLS 1.2 (AES-GCM with explicit nonce, ChaCha20).
fn all_suites() -> Vec<(
    &'static rustls::SupportedProtocolVersion,
    SupportedCipherSuite,
)> {
    vec![
        (&rustls::version::TLS13, suites::TLS13_AES_128_GCM_SHA256),
        (&rustls::version::TLS13, suites::TLS13_AES_256_GCM_SHA384),
        (
            &rustls::version::TLS13,
            suites::TLS13_CHACHA20_POLY1305_SHA256,
        ),
        (
            &rustls::version::TLS12,
            suites::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            &rustls::version::TLS12,
            suites::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
    ]
}

/// The server half, driven by the test.
struct Peer {
    conn: rustls::ServerConnection,
    sock: std::net::TcpStream,
}

impl Peer {
    /// TLS bytes carrying `plain` as application data (not yet sent).
    fn seal(&mut self, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < plain.len() {
            at += self.conn.writer().write(&plain[at..]).unwrap();
            while self.conn.wants_write() {
                self.conn.write_tls(&mut out).unwrap();
            }
        }
        out
    }

    /// TLS bytes rustls has queued (alerts, tickets, key updates).
    /// Decrypt `raw` (records the client wrote) into the plaintext it carries.
    fn open_all(&mut self, raw: &[u8]) -> Vec<u8> {
        let mut rd = raw;
        let mut plain = Vec::new();
        let mut buf = [0u8; 16384];
        while !rd.is_empty() {
            self.conn.read_tls(&mut rd).unwrap();
            self.conn.process_new_packets().unwrap();
            while let Ok(n) = self.conn.reader().read(&mut buf) {
                if n == 0 {
                    break;
                }
                plain.extend_from_slice(&buf[..n]);
            }
        }
        plain
    }

    fn queued(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            self.conn.write_tls(&mut out).unwrap();
        }
        out
    }

    /// Write raw bytes to the socket (small amounts: the client is not reading meanwhile).
    fn send_raw(&mut self, mut bytes: &[u8]) {
        let started = Instant::now();
        while !bytes.is_empty() {
            assert!(started.elapsed() < GIVE_UP_AFTER, "server socket stuck");
            match self.sock.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("server write: {e}"),
            }
        }
    }

    /// Take what the socket has, process it and send replies. Returns false on TCP EOF.
    fn pump(&mut self) -> Result<bool, rustls::Error> {
        let mut open = true;
        loop {
            match self.conn.read_tls(&mut self.sock) {
                Ok(0) => {
                    open = false;
                    break;
                }
                Ok(_) => {
                    self.conn.process_new_packets()?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("server read: {e}"),
            }
        }
        let out = self.queued();
        self.send_raw(&out);
        Ok(open)
    }

    /// Decrypted application data received so far, appended to `into`. Returns false on EOF.
    fn read_plain(&mut self, into: &mut Vec<u8>) -> Result<bool, rustls::Error> {
        let mut buf = [0u8; 16384];
        loop {
            // One socket read at a time: rustls' plaintext buffer is bounded.
            let open = match self.conn.read_tls(&mut self.sock) {
                Ok(0) => false,
                Ok(_) => true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let out = self.queued();
                    self.send_raw(&out);
                    return Ok(true);
                }
                Err(e) => panic!("server read: {e}"),
            };
            self.conn.process_new_packets()?;
            loop {
                match self.conn.reader().read(&mut buf) {
                    Ok(0) => return Ok(false),
                    Ok(n) => into.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("server plaintext read: {e}"),
                }
            }
            if !open {
                return Ok(false);
            }
        }
    }
}

fn server_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    version: &'static rustls::SupportedProtocolVersion,
    suite: SupportedCipherSuite,
) -> Arc<rustls::ServerConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = vec![suite];
    Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&[version])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
    )
}

/// Read from the client until `WouldBlock`, appending to `into`. Err on anything else but data.
/// Go on writing `payload[accepted..]` through `client` while `peer` reads, until the peer has
/// as many bytes as the payload and the client's outgoing buffer is empty (`stuck` if that takes
/// longer than `GIVE_UP_AFTER`); what the peer received.
fn finish_blocked_write(
    client: &mut Stream,
    peer: &mut Peer,
    payload: &[u8],
    mut accepted: usize,
    stuck: &str,
) -> Vec<u8> {
    let mut received = Vec::with_capacity(payload.len());
    let started = Instant::now();
    let mut drained = false;
    while received.len() < payload.len() || !drained {
        assert!(started.elapsed() < GIVE_UP_AFTER, "{stuck}");
        peer.read_plain(&mut received).unwrap();
        drained = client.flush_pending().unwrap();
        while accepted < payload.len() {
            match client.write(&payload[accepted..]) {
                Ok(n) => accepted += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
    }
    received
}

fn drain_client(client: &mut Stream, into: &mut Vec<u8>) -> io::Result<usize> {
    let mut buf = [0u8; 4096];
    let mut got = 0;
    loop {
        match client.read(&mut buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                into.extend_from_slice(&buf[..n]);
                got += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(got),
            Err(e) => return Err(e),
        }
    }
}

/// A connected client `TlsStream` and its hand-driven server, handshake done (and any session
/// tickets delivered) for the given protocol version and suite.
fn establish(
    version: &'static rustls::SupportedProtocolVersion,
    suite: SupportedCipherSuite,
) -> (Stream, Peer, TempPem) {
    let (cert, key, pem) = self_signed(&["localhost"]);
    let ca = TempPem::write(&pem);
    let client_cfg = client_config(Some(ca.path())).unwrap();
    let server_cfg = server_config(cert, key, version, suite);
    let (client, peer) = connect_pair(&client_cfg, &server_cfg);
    assert_eq!(
        client.protocol_version(),
        Some(version.version),
        "negotiated version"
    );
    assert_eq!(
        client.negotiated_cipher_suite().map(|s| s.suite()),
        Some(suite.suite())
    );
    (client, peer, ca)
}

/// One connection between the given configurations, handshake done and the server's last
/// flight (session tickets included) taken in by the client.
fn connect_pair(
    client_cfg: &Arc<rustls::ClientConfig>,
    server_cfg: &Arc<rustls::ServerConfig>,
) -> (Stream, Peer) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp = tcp::connect(listener.local_addr().unwrap()).unwrap();
    let mut client = Stream::new(tcp, Arc::clone(client_cfg), "localhost").unwrap();
    let (sock, _) = listener.accept().unwrap();
    sock.set_nonblocking(true).unwrap();
    // No Nagle: each test write must reach the client at once, not wait for a delayed ACK.
    sock.set_nodelay(true).unwrap();
    let conn = rustls::ServerConnection::new(Arc::clone(server_cfg)).unwrap();
    let mut peer = Peer { conn, sock };
    let started = Instant::now();
    let mut sink = Vec::new();
    while client.is_handshaking() || peer.conn.is_handshaking() {
        assert!(
            started.elapsed() < GIVE_UP_AFTER,
            "handshake did not finish"
        );
        client.flush_pending().unwrap();
        drain_client(&mut client, &mut sink).unwrap();
        peer.pump().unwrap();
    }
    peer.pump().unwrap();
    drain_client(&mut client, &mut sink).unwrap();
    assert!(sink.is_empty());
    (client, peer)
}

/// Deterministic bytes for payloads.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[test]
fn records_split_at_every_byte_boundary_are_reassembled() {
    for (version, suite) in all_suites() {
        let (mut client, mut peer, _ca) = establish(version, suite);
        // Two records back to back, so a split can also fall in the second one.
        let first = pattern(300, 1);
        let second = pattern(40, 2);
        let mut expected = first.clone();
        expected.extend_from_slice(&second);
        // Once whole, to learn the wire length.
        let probe = [peer.seal(&first), peer.seal(&second)].concat();
        let wire_len = probe.len();
        peer.send_raw(&probe);
        let mut whole = Vec::new();
        drain_client(&mut client, &mut whole).unwrap();
        assert!(whole == expected);
        for split in 1..wire_len {
            // Fresh records each time: a replayed record would (rightly) fail to decrypt.
            let mut wire = peer.seal(&first);
            let first_len = wire.len();
            wire.extend_from_slice(&peer.seal(&second));
            assert_eq!(wire.len(), wire_len);
            let mut got = Vec::new();
            peer.send_raw(&wire[..split]);
            drain_client(&mut client, &mut got).unwrap();
            // Nothing of a record is handed out before the whole record is there.
            let whole = if split >= first_len { first.len() } else { 0 };
            assert_eq!(got.len(), whole, "{suite:?} split {split}");
            peer.send_raw(&wire[split..]);
            drain_client(&mut client, &mut got).unwrap();
            assert!(got == expected, "{suite:?} split {split}: bytes differ");
        }
    }
}

#[test]
fn reading_records_and_writing_allocate_nothing_after_warm_up() {
    const RECORDS: usize = 400;
    for (version, suite) in all_suites() {
        let (mut client, mut peer, _ca) = establish(version, suite);
        // Warm-up: one record each way.
        let warm = peer.seal(b"warm-up");
        peer.send_raw(&warm);
        let mut got = Vec::new();
        drain_client(&mut client, &mut got).unwrap();
        assert_eq!(got, b"warm-up");
        assert_eq!(client.write(b"warm").unwrap(), 4);
        let mut back = Vec::new();
        peer.read_plain(&mut back).unwrap();
        assert_eq!(back, b"warm");

        // Everything the server sends is sealed up front: the server's rustls allocates, and it
        // runs on this thread.
        let mut plain = Vec::new();
        let mut wire = Vec::new();
        for i in 0..RECORDS {
            let len = 1 + (i * 7919) % 16384;
            let record = pattern(len, i as u32);
            wire.extend_from_slice(&peer.seal(&record));
            plain.extend_from_slice(&record);
        }
        // Chunk boundaries at pseudo-random points, mostly inside records.
        let mut cuts = Vec::new();
        let mut at = 0usize;
        let mut x = 12345u32;
        while at < wire.len() {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            at = (at + 1 + (x >> 16) as usize % 9000).min(wire.len());
            cuts.push(at);
        }
        let outgoing: Vec<Vec<u8>> = (0..64)
            .map(|i| pattern(1 + i * 373, 99 + i as u32))
            .collect();
        let mut sent_plain = Vec::new();
        for m in &outgoing {
            sent_plain.extend_from_slice(m);
        }

        let mut received = Vec::with_capacity(plain.len());
        let mut raw_from_client = vec![0u8; sent_plain.len() * 2 + 64 * 64];
        let mut raw_len = 0usize;
        let (allocs, ()) = count_allocations(|| {
            let mut from = 0usize;
            for &cut in &cuts {
                peer.send_raw(&wire[from..cut]);
                from = cut;
                drain_client(&mut client, &mut received).unwrap();
            }
            for (i, m) in outgoing.iter().enumerate() {
                let written = if i % 2 == 0 {
                    client.write(m).unwrap()
                } else {
                    let (a, b) = m.split_at(m.len() / 3);
                    client
                        .write_vectored(&[io::IoSlice::new(a), io::IoSlice::new(b)])
                        .unwrap()
                };
                assert_eq!(written, m.len());
                assert!(client.flush_pending().unwrap());
                loop {
                    match peer.sock.read(&mut raw_from_client[raw_len..]) {
                        Ok(n) => raw_len += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        });
        assert!(received == plain, "{suite:?}: received bytes differ");
        assert_eq!(
            allocs, 0,
            "{suite:?}: steady-state TLS read/write allocated"
        );

        // What the client sent decrypts to the messages, in order.
        let echoed = peer.open_all(&raw_from_client[..raw_len]);
        assert!(
            echoed == sent_plain,
            "{suite:?}: server decrypted other bytes"
        );
    }
}

#[test]
fn warm_sealing_sends_nothing_allocates_nothing_and_leaves_the_session_intact() {
    for (version, suite) in all_suites() {
        let (mut client, mut peer, _ca) = establish(version, suite);
        assert_eq!(client.write(b"before").unwrap(), 6);
        let mut back = Vec::new();
        peer.read_plain(&mut back).unwrap();
        assert_eq!(back, b"before");

        let request = pattern(1400, 7);
        let mut scratch = request.clone();
        client.warm_seal(&mut scratch);
        assert!(scratch != request, "{suite:?}: the scratch was not sealed");
        let (allocs, ()) = count_allocations(|| {
            for _ in 0..100 {
                client.warm_seal(&mut scratch);
            }
        });
        assert_eq!(allocs, 0, "{suite:?}: warm sealing allocated");
        client.flush_pending().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let mut nothing = Vec::new();
        peer.read_plain(&mut nothing).unwrap();
        assert!(nothing.is_empty(), "{suite:?}: warming reached the server");

        // The session's sequence numbers were not used: the next record opens at the server.
        let mut written = 0;
        while written < request.len() {
            match client.write(&request[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{suite:?}: write after warming: {e}"),
            }
        }
        while !client.flush_pending().unwrap() {}
        let mut got = Vec::new();
        let give_up = Instant::now() + GIVE_UP_AFTER;
        while got.len() < request.len() {
            assert!(Instant::now() < give_up, "{suite:?}: request not received");
            peer.read_plain(&mut got).unwrap();
        }
        assert!(got == request, "{suite:?}: bytes differ after warming");
    }
}

#[test]
fn a_write_larger_than_the_buffers_reports_would_block_then_completes_in_order() {
    let (mut client, mut peer, _ca) =
        establish(&rustls::version::TLS13, suites::TLS13_AES_128_GCM_SHA256);
    // More than the socket buffers and the outgoing buffer together can hold.
    let payload = pattern(48 << 20, 7);
    let mut accepted = 0usize;
    let blocked_at = loop {
        match client.write(&payload[accepted..]) {
            Ok(n) => {
                assert!(n > 0);
                accepted += n;
                assert!(
                    accepted < payload.len(),
                    "the socket took everything; nothing blocked"
                );
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break accepted,
            Err(e) => panic!("{e}"),
        }
    };
    // Full: nothing more is accepted, and the stream says records are still waiting.
    assert_eq!(
        client.write(&payload[accepted..]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert!(!client.flush_pending().unwrap());
    assert!(blocked_at >= OUTGOING_CAPACITY / 2);

    let received = finish_blocked_write(
        &mut client,
        &mut peer,
        &payload,
        accepted,
        "large write did not complete",
    );
    assert_eq!(received.len(), payload.len());
    assert!(received == payload, "bytes arrived out of order or changed");
}

#[test]
fn close_notify_reads_as_end_of_stream_after_the_data() {
    for (version, suite) in all_suites() {
        let (mut client, mut peer, _ca) = establish(version, suite);
        let mut wire = peer.seal(b"last words");
        peer.conn.send_close_notify();
        wire.extend_from_slice(&peer.queued());
        peer.send_raw(&wire);
        let mut buf = [0u8; 64];
        let n = client.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"last words");
        assert_eq!(client.read(&mut buf).unwrap(), 0, "{suite:?}");
        assert_eq!(
            client.read(&mut buf).unwrap(),
            0,
            "{suite:?}: close is sticky"
        );
    }
}

#[test]
fn tcp_eof_without_close_notify_is_unexpected_eof() {
    // Whole records then EOF, and EOF in the middle of a record.
    for cut_inside_record in [false, true] {
        let (mut client, mut peer, _ca) =
            establish(&rustls::version::TLS13, suites::TLS13_AES_128_GCM_SHA256);
        let mut wire = peer.seal(b"data before the cut");
        let partial = peer.seal(b"never completed");
        if cut_inside_record {
            wire.extend_from_slice(&partial[..partial.len() / 2]);
        }
        peer.send_raw(&wire);
        peer.sock.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        let err = drain_client(&mut client, &mut got).unwrap_err();
        assert_eq!(got, b"data before the cut");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
        assert!(tls_failure(&err).is_none());
    }
}

#[test]
fn a_tampered_record_fails_with_decrypt_error_and_the_alert_reaches_the_server() {
    for (version, suite) in all_suites() {
        let (mut client, mut peer, _ca) = establish(version, suite);
        let mut wire = peer.seal(b"authentic bytes");
        let last = wire.len() - 1;
        wire[last] ^= 0x40;
        peer.send_raw(&wire);
        let mut buf = [0u8; 64];
        let err = client.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            tls_failure(&err),
            Some(&rustls::Error::DecryptError),
            "{suite:?}"
        );
        // Sticky: the stream stays failed.
        assert!(tls_failure(&client.read(&mut buf).unwrap_err()).is_some());
        assert!(tls_failure(&client.write(b"x").unwrap_err()).is_some());
        match peer.pump() {
            Err(rustls::Error::AlertReceived(rustls::AlertDescription::BadRecordMac)) => {}
            other => panic!("{suite:?}: server saw {other:?}"),
        }
    }
}

#[test]
fn key_updates_from_the_server_are_followed_and_answered() {
    let (mut client, mut peer, _ca) =
        establish(&rustls::version::TLS13, suites::TLS13_AES_256_GCM_SHA384);
    for round in 0..3u32 {
        // The server asks for a key update and sends data under its new key.
        peer.conn.refresh_traffic_keys().unwrap();
        let mut wire = peer.queued();
        let data = pattern(5000, round);
        wire.extend_from_slice(&peer.seal(&data));
        peer.send_raw(&wire);
        let mut got = Vec::new();
        drain_client(&mut client, &mut got).unwrap();
        assert!(got == data, "round {round}: data after key update differs");
        // The client answered with its own key update (one sealed 5-byte handshake message)
        // before its data, and its data decrypts under its new key.
        let reply = pattern(3000, 100 + round);
        assert_eq!(client.write(&reply).unwrap(), reply.len());
        let mut raw = vec![0u8; 16384];
        let mut n = 0;
        loop {
            match peer.sock.read(&mut raw[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        let mut record_bodies = Vec::new();
        let mut at = 0;
        while at + 5 <= n {
            let len = usize::from(u16::from_be_bytes([raw[at + 3], raw[at + 4]]));
            record_bodies.push(len);
            at += 5 + len;
        }
        assert_eq!(
            record_bodies,
            vec![4 + 1 + 1 + 16, reply.len() + 1 + 16],
            "round {round}: key update then data"
        );
        let back = peer.open_all(&raw[..n]);
        assert!(
            back == reply,
            "round {round}: client data after key update differs"
        );
    }
}

#[test]
fn refused_certificate_sends_the_alert_before_reporting() {
    // Client trusts nothing but webpki roots; the server's self-signed certificate is unknown.
    let (cert, key, _) = self_signed(&["localhost"]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp = tcp::connect(listener.local_addr().unwrap()).unwrap();
    let mut client = Stream::new(tcp, client_config(None).unwrap(), "localhost").unwrap();
    let (sock, _) = listener.accept().unwrap();
    sock.set_nonblocking(true).unwrap();
    sock.set_nodelay(true).unwrap();
    let conn = rustls::ServerConnection::new(server_config(
        cert,
        key,
        &rustls::version::TLS13,
        suites::TLS13_AES_128_GCM_SHA256,
    ))
    .unwrap();
    let mut peer = Peer { conn, sock };
    let started = Instant::now();
    let err = loop {
        assert!(started.elapsed() < GIVE_UP_AFTER, "no verdict");
        client.flush_pending().unwrap();
        let mut sink = Vec::new();
        match drain_client(&mut client, &mut sink) {
            Ok(_) => {}
            Err(e) => break e,
        }
        peer.pump().unwrap();
    };
    assert!(
        matches!(
            tls_failure(&err),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{err}"
    );
    assert!(tls_failure(&client.flush_pending().unwrap_err()).is_some());
    match peer.pump() {
        Err(rustls::Error::AlertReceived(rustls::AlertDescription::UnknownCA)) => {}
        other => panic!("server saw {other:?}"),
    }
}

#[test]
fn a_second_connection_resumes_the_session_and_carries_data() {
    // TLS 1.3 resumes with a ticket handed to rustls after the handshake (through the record
    // layer); TLS 1.2 with a session id (abbreviated handshake, client Finished last).
    for (version, suite) in all_suites() {
        let (cert, key, pem) = self_signed(&["localhost"]);
        let ca = TempPem::write(&pem);
        let client_cfg = client_config(Some(ca.path())).unwrap();
        let server_cfg = server_config(cert, key, version, suite);
        for round in 0..2 {
            let (mut client, mut peer) = connect_pair(&client_cfg, &server_cfg);
            let expected = if round == 0 {
                rustls::HandshakeKind::Full
            } else {
                rustls::HandshakeKind::Resumed
            };
            assert_eq!(
                peer.conn.handshake_kind(),
                Some(expected),
                "{suite:?} round {round}"
            );
            let data = pattern(2000, round);
            let wire = peer.seal(&data);
            peer.send_raw(&wire);
            let mut got = Vec::new();
            drain_client(&mut client, &mut got).unwrap();
            assert!(got == data, "{suite:?} round {round}: server data differs");
            assert_eq!(client.write(b"resumed?").unwrap(), 8);
            let mut back = Vec::new();
            peer.read_plain(&mut back).unwrap();
            assert_eq!(back, b"resumed?", "{suite:?} round {round}");
        }
    }
}

#[test]
fn data_the_server_sends_with_its_handshake_flight_is_delivered_in_order() {
    // Written into the server before the handshake: rustls sends it right after its Finished,
    // in the same flight, so the client sees it while rustls still runs the handshake.
    for (version, suite) in all_suites() {
        let (cert, key, pem) = self_signed(&["localhost"]);
        let ca = TempPem::write(&pem);
        let client_cfg = client_config(Some(ca.path())).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = tcp::connect(listener.local_addr().unwrap()).unwrap();
        let mut client = Stream::new(tcp, client_cfg, "localhost").unwrap();
        let (sock, _) = listener.accept().unwrap();
        sock.set_nonblocking(true).unwrap();
        sock.set_nodelay(true).unwrap();
        let conn = rustls::ServerConnection::new(server_config(cert, key, version, suite)).unwrap();
        let mut peer = Peer { conn, sock };
        let early = pattern(20_000, 5);
        let mut at = 0;
        while at < early.len() {
            at += peer.conn.writer().write(&early[at..]).unwrap();
        }
        // Written by the client during the handshake: held, then sealed when it ends.
        assert_eq!(client.write(b"client early").unwrap(), 12);
        let started = Instant::now();
        let mut got = Vec::new();
        let mut back = Vec::new();
        while got.len() < early.len() || back.len() < 12 {
            assert!(started.elapsed() < GIVE_UP_AFTER, "{suite:?}: stuck");
            client.flush_pending().unwrap();
            drain_client(&mut client, &mut got).unwrap();
            peer.read_plain(&mut back).unwrap();
        }
        assert!(got == early, "{suite:?}: early server data differs");
        assert_eq!(back, b"client early", "{suite:?}");
        let later = pattern(3000, 6);
        let wire = peer.seal(&later);
        peer.send_raw(&wire);
        let mut more = Vec::new();
        drain_client(&mut client, &mut more).unwrap();
        assert!(more == later, "{suite:?}: data after the handshake differs");
    }
}

#[test]
fn a_key_update_requested_while_the_client_is_blocked_on_writes_keeps_every_byte() {
    let (mut client, mut peer, _ca) = establish(
        &rustls::version::TLS13,
        suites::TLS13_CHACHA20_POLY1305_SHA256,
    );
    // Fill the socket and the outgoing buffer.
    let payload = pattern(48 << 20, 11);
    let mut accepted = 0usize;
    loop {
        match client.write(&payload[accepted..]) {
            Ok(n) => accepted += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
        assert!(accepted < payload.len(), "nothing blocked");
    }
    // The server asks for a key update; the client reads it while its writes are blocked.
    peer.conn.refresh_traffic_keys().unwrap();
    let mut wire = peer.queued();
    wire.extend_from_slice(&peer.seal(b"after the update"));
    peer.send_raw(&wire);
    let mut got = Vec::new();
    drain_client(&mut client, &mut got).unwrap();
    assert_eq!(got, b"after the update");
    // Everything sealed before and after the client's own key update reaches the server.
    let received = finish_blocked_write(
        &mut client,
        &mut peer,
        &payload,
        accepted,
        "writes did not complete",
    );
    assert!(
        received == payload,
        "bytes lost or reordered across the key update"
    );
}
