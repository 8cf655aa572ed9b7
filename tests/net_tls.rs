//! Loopback tests of the mio-driven `TlsStream` against a blocking rustls server on a std
//! thread: handshake and echo both ways, clean close, refusal of a wrong-name certificate and of
//! an unknown CA, and the named error for a missing CA file. Also proves the poll loop, token
//! allocator, backoff and counters allocate nothing after warm-up.

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
