//! The WebSocket client against tungstenite's own server side on loopback threads: ordered
//! delivery through arbitrarily split TCP writes, fragmentation, size limits, a peer dying
//! mid-frame, the inbound-silence watchdog, reconnect with backoff, and allocation-free receive.
//! Every loop is bounded by a wall-clock deadline and every server socket has I/O timeouts, so
//! a failing test fails instead of hanging.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sattebaaz::clock::mono_ns;
use sattebaaz::net::backoff::BackoffPolicy;
use sattebaaz::net::counters::{DropReason, NetEvent, NetEventKind};
use sattebaaz::net::ws::{
    Connector, MaybeTlsConnector, TcpConnector, WsClient, WsError, WsOptions, WsState,
};
use sattebaaz::telemetry::alloc_count::{allocations, CountingAlloc};
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

const TOKEN: Token = Token(7);
const TEST_DEADLINE: Duration = Duration::from_secs(20);
const IO_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

struct EventLoop {
    poll: Poll,
    events: Events,
}

impl EventLoop {
    fn new() -> Self {
        Self {
            poll: Poll::new().expect("poll"),
            events: Events::with_capacity(64),
        }
    }

    /// One loop turn: wait up to 2 ms for readiness, read on our token's events only (the
    /// client must cope with edge-triggered readiness), then run the timers.
    fn turn<C: Connector>(
        &mut self,
        client: &mut WsClient<C>,
        on_msg: &mut dyn FnMut(&[u8], bool),
        errors: &mut Vec<WsError>,
    ) {
        self.poll
            .poll(&mut self.events, Some(Duration::from_millis(2)))
            .expect("poll");
        if self.events.iter().any(|e| e.token() == TOKEN) {
            if let Err(e) = client.poll_read(mono_ns(), &mut *on_msg) {
                errors.push(e);
            }
        }
        if let Err(e) = client.on_timer(mono_ns()) {
            errors.push(e);
        }
    }

    /// Turn until `done` holds or the test deadline passes; returns whether `done` held.
    fn run_until<C: Connector>(
        &mut self,
        client: &mut WsClient<C>,
        on_msg: &mut dyn FnMut(&[u8], bool),
        errors: &mut Vec<WsError>,
        mut done: impl FnMut(&mut WsClient<C>, &[WsError]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + TEST_DEADLINE;
        while Instant::now() < deadline {
            if done(client, errors) {
                return true;
            }
            self.turn(client, on_msg, errors);
        }
        done(client, errors)
    }
}

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = l.local_addr().expect("addr");
    (l, a)
}

/// Accept one connection within the I/O timeout; the stream gets read/write timeouts.
fn accept_within(listener: &TcpListener) -> io::Result<TcpStream> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false)?;
                s.set_read_timeout(Some(IO_TIMEOUT))?;
                s.set_write_timeout(Some(IO_TIMEOUT))?;
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Accept one WebSocket on `listener` (server writes unbuffered) and run `serve` on it.
fn serve_one<F>(listener: TcpListener, serve: F) -> JoinHandle<()>
where
    F: FnOnce(WebSocket<TcpStream>) + Send + 'static,
{
    thread::spawn(move || {
        let stream = accept_within(&listener).expect("accept");
        let ws = tungstenite::accept_with_config(stream, Some(server_config()))
            .expect("server handshake");
        serve(ws);
    })
}

fn server_config() -> WebSocketConfig {
    WebSocketConfig::default().write_buffer_size(0)
}

fn client_for(addr: SocketAddr, lp: &EventLoop, options: WsOptions) -> WsClient<TcpConnector> {
    WsClient::new(
        TcpConnector { addr },
        &format!("ws://{addr}/ws/market"),
        &[("x-test", "1")],
        options,
        lp.poll.registry(),
        TOKEN,
        3,
    )
    .expect("client")
}

fn test_options() -> WsOptions {
    WsOptions {
        backoff: BackoffPolicy::new(
            Duration::from_millis(20),
            2.0,
            Duration::from_millis(200),
            0.5,
        )
        .expect("policy"),
        ..WsOptions::default()
    }
}

/// Read from the server side until `want` text messages arrived or the peer went away.
fn server_read_texts(ws: &mut WebSocket<impl Read + Write>, want: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    while got.len() < want {
        match ws.read() {
            Ok(Message::Text(t)) => got.push(t.as_bytes().to_vec()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    got
}

/// Payload of message `seq`: the sequence number in 16 hex digits, then a length and an ASCII
/// fill derived from it.
fn payload_for(seq: u64) -> Vec<u8> {
    let len = 16 + (seq.wrapping_mul(2_654_435_761) % 1500) as usize;
    let mut p = format!("{seq:016x}").into_bytes();
    p.extend((16..len).map(|i| b'a' + ((seq as usize + i) % 26) as u8));
    p
}

/// A writer that splits every write into a random-sized chunk and flushes it on its own, so
/// frames cross TCP segment boundaries at arbitrary bytes.
struct ChoppyStream {
    inner: TcpStream,
    rng: u64,
}

impl Read for ChoppyStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for ChoppyStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let n = 1 + (self.rng % 700) as usize;
        let n = n.min(buf.len());
        self.inner.write_all(&buf[..n])?;
        self.inner.flush()?;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn ten_thousand_messages_in_order_through_arbitrary_splits() {
    const N: u64 = 10_000;
    let (l, addr) = listener();
    let server = thread::spawn(move || {
        let stream = accept_within(&l).expect("accept");
        let choppy = ChoppyStream {
            inner: stream,
            rng: 0x9e37_79b9_7f4a_7c15,
        };
        let mut ws = tungstenite::accept_with_config(choppy, Some(server_config()))
            .expect("server handshake");
        // The client subscribes first, like a venue feed.
        let sub = server_read_texts(&mut ws, 1);
        assert_eq!(sub, vec![b"{\"type\":\"market\"}".to_vec()]);
        for seq in 0..N {
            let p = payload_for(seq);
            let msg = if seq % 3 == 0 {
                Message::Binary(p.into())
            } else {
                Message::text(String::from_utf8(p).expect("ascii"))
            };
            ws.send(msg).expect("server send");
        }
        server_read_texts(&mut ws, 1)
    });

    let mut lp = EventLoop::new();
    let mut client = client_for(addr, &lp, test_options());
    client.start(mono_ns()).expect("start");
    let mut next_seq = 0u64;
    let mut mismatches = 0u64;
    let mut on_msg = |data: &[u8], is_text: bool| {
        let ok = data == payload_for(next_seq).as_slice() && is_text == (next_seq % 3 != 0);
        if !ok {
            mismatches += 1;
        }
        next_seq += 1;
    };
    let mut errors = Vec::new();
    let mut subscribed = false;
    let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |c, errs| {
        if c.take_just_opened() {
            c.send_text(mono_ns(), b"{\"type\":\"market\"}")
                .expect("subscribe");
            subscribed = true;
        }
        !errs.is_empty() || c.counters().messages >= N
    });
    assert!(
        done,
        "timed out after {} messages",
        client.counters().messages
    );
    assert!(errors.is_empty(), "errors: {errors:?}");
    assert!(subscribed);
    assert_eq!(next_seq, N);
    assert_eq!(mismatches, 0, "out-of-order, corrupt or mistyped messages");
    assert_eq!(client.counters().messages, N);
    client.send_text(mono_ns(), b"done").expect("send done");
    let tail = server.join().expect("server thread");
    assert_eq!(tail, vec![b"done".to_vec()]);
    let net = client.net_counters();
    assert_eq!((net.connects, net.drops, net.connect_failures), (1, 0, 0));
    assert_eq!(client.counters().attempts, 1);
    assert!(net.bytes_in > N * 16, "bytes in: {}", net.bytes_in);
    assert!(net.bytes_out > 0);
}

#[test]
fn fragmented_message_is_reassembled_with_a_ping_in_between() {
    let (l, addr) = listener();
    let server = serve_one(l, |mut ws| {
        let parts: [&[u8]; 3] = [
            b"{\"event_type\":",
            b"\"book\",\"bids\":[]",
            b",\"asks\":[]}",
        ];
        ws.write(Message::Frame(Frame::message(
            parts[0].to_vec(),
            OpCode::Data(Data::Text),
            false,
        )))
        .expect("first fragment");
        ws.write(Message::Ping(b"mid".to_vec().into()))
            .expect("ping");
        ws.write(Message::Frame(Frame::message(
            parts[1].to_vec(),
            OpCode::Data(Data::Continue),
            false,
        )))
        .expect("middle fragment");
        ws.send(Message::Frame(Frame::message(
            parts[2].to_vec(),
            OpCode::Data(Data::Continue),
            true,
        )))
        .expect("last fragment");
        ws.send(Message::Binary(vec![1u8, 2, 3].into()))
            .expect("after");
        // The automatic pong must reach us before the client's close.
        let mut pong = None;
        while pong.is_none() {
            match ws.read() {
                Ok(Message::Pong(p)) => pong = Some(p.to_vec()),
                Ok(_) => {}
                Err(e) => panic!("server read: {e}"),
            }
        }
        assert_eq!(pong.as_deref(), Some(&b"mid"[..]));
        // Run the close handshake the client starts.
        while ws.read().is_ok() {}
    });

    let mut lp = EventLoop::new();
    let mut client = client_for(addr, &lp, test_options());
    client.start(mono_ns()).expect("start");
    let mut got: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut on_msg = |d: &[u8], t: bool| got.push((d.to_vec(), t));
    let mut errors = Vec::new();
    let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |c, e| {
        !e.is_empty() || c.counters().messages >= 2
    });
    assert!(done && errors.is_empty(), "errors: {errors:?}");
    assert_eq!(client.counters().pings_in, 1);
    client.close(mono_ns());
    let closed = lp.run_until(&mut client, &mut on_msg, &mut errors, |c, _| {
        c.state() == WsState::Idle
    });
    assert!(closed, "close handshake did not finish");
    assert!(errors.is_empty(), "close produced errors: {errors:?}");
    assert_eq!(client.last_drop(), Some(DropReason::Local));
    server.join().expect("server thread");
    assert_eq!(
        got,
        vec![
            (
                b"{\"event_type\":\"book\",\"bids\":[],\"asks\":[]}".to_vec(),
                true
            ),
            (vec![1, 2, 3], false)
        ]
    );
    let net = client.net_counters();
    assert_eq!((net.connects, net.drops, net.ws_errors), (1, 1, 0));
    assert_eq!(
        kinds(&mut client),
        [
            NetEventKind::Connected,
            NetEventKind::Dropped(DropReason::Local)
        ]
    );
}

#[test]
fn oversize_message_is_refused_with_a_typed_error_and_counted() {
    for fragmented in [false, true] {
        let (l, addr) = listener();
        let server = serve_one(l, move |mut ws| {
            ws.send(Message::text("small")).expect("small");
            if fragmented {
                // Each frame is within the frame limit; the reassembled message is not.
                for (i, fin) in [(0, false), (1, false), (2, true)] {
                    let op = if i == 0 { Data::Binary } else { Data::Continue };
                    ws.send(Message::Frame(Frame::message(
                        vec![7u8; 600],
                        OpCode::Data(op),
                        fin,
                    )))
                    .expect("fragment");
                }
            } else {
                ws.send(Message::Binary(vec![9u8; 2000].into()))
                    .expect("big");
            }
            // Wait for the client to go away.
            while ws.read().is_ok() {}
        });
        let mut lp = EventLoop::new();
        let options = WsOptions {
            max_message_bytes: 1500,
            max_frame_bytes: 1000,
            ..test_options()
        };
        let mut client = client_for(addr, &lp, options);
        client.start(mono_ns()).expect("start");
        let mut got = Vec::new();
        let mut on_msg = |d: &[u8], _t: bool| got.push(d.to_vec());
        let mut errors = Vec::new();
        let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |_, e| !e.is_empty());
        assert!(done, "no error for an oversize message");
        let (size, limit) = if fragmented {
            (1800, 1500)
        } else {
            (2000, 1000)
        };
        match &errors[0] {
            WsError::MessageTooLarge { size: s, limit: l } => assert_eq!((*s, *l), (size, limit)),
            other => panic!("expected MessageTooLarge, got {other:?}"),
        }
        assert_eq!(
            errors[0].to_string(),
            format!("incoming message of {size} bytes exceeds the {limit}-byte limit")
        );
        assert_eq!(
            got,
            vec![b"small".to_vec()],
            "only the small message is delivered"
        );
        assert_eq!(client.last_drop(), Some(DropReason::Protocol));
        assert_eq!(client.counters().oversize_drops, 1);
        let net = client.net_counters();
        assert_eq!((net.drops, net.ws_errors, net.protocol_errors), (1, 1, 1));
        assert_eq!(
            kinds(&mut client),
            [
                NetEventKind::Connected,
                NetEventKind::ProtocolError(1009),
                NetEventKind::Dropped(DropReason::Protocol),
                NetEventKind::Reconnecting
            ]
        );
        assert_eq!(client.state(), WsState::Idle);
        client.close(mono_ns());
        drop(client);
        server.join().expect("server thread");
    }
}

#[test]
fn server_dying_mid_frame_is_a_clean_typed_error() {
    let (l, addr) = listener();
    let server = serve_one(l, |mut ws| {
        ws.send(Message::text("whole")).expect("whole");
        // A 4096-byte binary frame header and only 10 payload bytes, then the socket dies.
        let raw = ws.get_mut();
        raw.write_all(&[0x82, 126, 0x10, 0x00]).expect("header");
        raw.write_all(&[1u8; 10]).expect("partial payload");
        raw.flush().expect("flush");
        thread::sleep(Duration::from_millis(20));
        raw.shutdown(std::net::Shutdown::Both).expect("shutdown");
    });
    let mut lp = EventLoop::new();
    let mut client = client_for(addr, &lp, test_options());
    client.start(mono_ns()).expect("start");
    let mut got = Vec::new();
    let mut on_msg = |d: &[u8], _t: bool| got.push(d.to_vec());
    let mut errors = Vec::new();
    let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |_, e| !e.is_empty());
    server.join().expect("server thread");
    assert!(done, "peer death not reported");
    assert!(
        matches!(errors[0], WsError::PeerReset),
        "got {:?}",
        errors[0]
    );
    assert_eq!(got, vec![b"whole".to_vec()]);
    assert_eq!(client.last_drop(), Some(DropReason::PeerClosed));
    assert_eq!(client.net_counters().drops, 1);
    assert_eq!(
        kinds(&mut client),
        [
            NetEventKind::Connected,
            NetEventKind::Dropped(DropReason::PeerClosed),
            NetEventKind::Reconnecting
        ]
    );
    // A reconnect is scheduled.
    assert!(client.next_attempt_ns().is_some());
}

/// A server that sends "hello", then no data at all, answering the first `answer` text PINGs
/// (all of them with `None`) with PONG; WebSocket pings are answered by tungstenite itself.
/// The thread returns how many text PINGs it saw.
fn quiet_pong_server(l: TcpListener, answer: Option<u32>) -> JoinHandle<u32> {
    thread::spawn(move || {
        let stream = accept_within(&l).expect("accept");
        let mut ws = tungstenite::accept_with_config(stream, Some(server_config()))
            .expect("server handshake");
        let mut pings = 0u32;
        ws.send(Message::text("hello")).expect("hello");
        loop {
            match ws.read() {
                Ok(Message::Text(t)) if t.as_str() == "PING" => {
                    pings += 1;
                    if answer.is_none_or(|n| pings <= n) && ws.send(Message::text("PONG")).is_err()
                    {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        pings
    })
}

/// Connect with `options` and run until the watchdog drops the link; the client and the data
/// messages it delivered.
fn run_to_watchdog(addr: SocketAddr, options: WsOptions) -> (WsClient<TcpConnector>, Vec<Vec<u8>>) {
    let mut lp = EventLoop::new();
    let mut client = client_for(addr, &lp, options);
    client.start(mono_ns()).expect("start");
    let mut got = Vec::new();
    let mut on_msg = |d: &[u8], _t: bool| got.push(d.to_vec());
    let mut errors = Vec::new();
    let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |_, e| !e.is_empty());
    assert!(done, "watchdog never fired");
    assert!(
        matches!(errors[0], WsError::Watchdog { .. }),
        "got {:?}",
        errors[0]
    );
    assert_eq!(
        got,
        vec![b"hello".to_vec()],
        "PONG texts are not delivered as data"
    );
    assert_eq!(client.net_counters().watchdog_fires, 1);
    assert_eq!(client.last_drop(), Some(DropReason::Watchdog));
    (client, got)
}

#[test]
fn watchdog_drops_a_silent_server_that_still_answers_pings() {
    let (l, addr) = listener();
    let server = quiet_pong_server(l, None);
    let options = WsOptions {
        app_ping_interval: Some(Duration::from_millis(40)),
        app_pong_text: Some(b"PONG".to_vec()),
        ws_ping_interval: Some(Duration::from_millis(30)),
        silence_timeout: Some(Duration::from_millis(400)),
        ..test_options()
    };
    let (mut client, _) = run_to_watchdog(addr, options);
    let c = *client.counters();
    assert!(c.pongs_in >= 2, "ws pongs kept arriving: {c:?}");
    assert!(c.app_pongs_in >= 2, "app PONGs kept arriving: {c:?}");
    client.close(mono_ns());
    drop(client);
    let pings = server.join().expect("server thread");
    assert!(pings >= 2, "client sent {pings} app pings");
}

#[test]
fn app_pongs_keep_a_quiet_channel_alive_when_the_options_say_so() {
    // Polymarket's user channel is quiet while no order changes: its PONGs prove it alive.
    // The server answers ANSWERED PINGs (≈ 0.8 s at 40 ms, twice the watchdog), then stops.
    const ANSWERED: u32 = 20;
    let (l, addr) = listener();
    let server = quiet_pong_server(l, Some(ANSWERED));
    let options = WsOptions {
        app_ping_interval: Some(Duration::from_millis(40)),
        app_pong_text: Some(b"PONG".to_vec()),
        app_pong_keeps_alive: true,
        silence_timeout: Some(Duration::from_millis(400)),
        ..test_options()
    };
    let (mut client, _) = run_to_watchdog(addr, options);
    let c = *client.counters();
    assert_eq!(
        c.app_pongs_in,
        u64::from(ANSWERED),
        "the link stayed up through every answered PING (no data for longer than the \
         watchdog), and dropped only after the answers stopped: {c:?}"
    );
    client.close(mono_ns());
    drop(client);
    server.join().expect("server thread");
}

#[test]
fn reconnects_with_backoff_after_the_server_restarts_on_the_same_port() {
    let (l, addr) = listener();
    // First life: accept, take the subscription, send one message, die abruptly.
    let first = serve_one(l, |mut ws| {
        let sub = server_read_texts(&mut ws, 1);
        assert_eq!(sub, vec![b"sub".to_vec()]);
        ws.send(Message::text("life-1")).expect("send");
        // The listener and the socket are dropped here: the port is closed.
    });
    let mut lp = EventLoop::new();
    let mut client = client_for(addr, &lp, test_options());
    client.start(mono_ns()).expect("start");
    let mut got = Vec::new();
    let mut errors = Vec::new();
    let mut delays = Vec::new();
    let mut second: Option<JoinHandle<()>> = None;
    let mut on_msg = |d: &[u8], _t: bool| got.push(d.to_vec());
    let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |c, errs| {
        if c.take_just_opened() {
            c.send_text(mono_ns(), b"sub").expect("resubscribe");
        }
        if let Some(at) = c.next_attempt_ns() {
            if delays.len() < errs.len() {
                delays.push(at.saturating_sub(mono_ns()));
            }
        }
        let refused = errs
            .iter()
            .filter(|e| matches!(e, WsError::Connect(_)))
            .count();
        if refused >= 3 && second.is_none() {
            // Second life on the same port.
            let l = TcpListener::bind(addr).expect("rebind same port");
            second = Some(serve_one(l, |mut ws| {
                let sub = server_read_texts(&mut ws, 1);
                assert_eq!(sub, vec![b"sub".to_vec()]);
                ws.send(Message::text("life-2")).expect("send");
                while ws.read().is_ok() {}
            }));
        }
        c.counters().messages >= 2
    });
    first.join().expect("first server");
    assert!(done, "no second life: errors {errors:?}");
    let c = *client.counters();
    let net = client.net_counters();
    client.close(mono_ns());
    let closed = lp.run_until(&mut client, &mut on_msg, &mut errors, |c, _| {
        c.state() == WsState::Idle
    });
    assert!(closed);
    assert_eq!(got, vec![b"life-1".to_vec(), b"life-2".to_vec()]);
    assert!(
        matches!(errors[0], WsError::PeerReset),
        "first drop: {:?}",
        errors[0]
    );
    assert!(errors[1..].iter().all(|e| matches!(e, WsError::Connect(_))));
    assert_eq!(net.connects, 2);
    assert_eq!(net.drops, 1, "only the first life was up when it ended");
    assert_eq!(net.connect_failures as usize, errors.len() - 1);
    assert_eq!(net.reconnects as usize, errors.len());
    assert_eq!(c.attempts, net.connects + net.connect_failures);
    assert!(net.connect_failures >= 3, "{net:?}");
    // Backoff: the n-th consecutive failure waits within [(1-j)·d, d], d = min(20 ms·2ⁿ, 200 ms);
    // the delays before the first consecutive refusal start from the initial value again.
    for (n, &delay) in delays.iter().enumerate() {
        let d = (20_000_000u64 << n).min(200_000_000);
        assert!(delay <= d, "delay {n} = {delay} ns > {d}");
    }
    second
        .expect("second server")
        .join()
        .expect("second server");
}

#[test]
fn steady_state_receive_and_send_do_not_allocate() {
    const N: u64 = 6_000;
    const WARM: u64 = 1_000;
    let (l, addr) = listener();
    let server = serve_one(l, |mut ws| {
        let _ = server_read_texts(&mut ws, 1);
        let body = vec![b'x'; 300];
        for seq in 0..N {
            let mut p = body.clone();
            p[..8].copy_from_slice(&seq.to_le_bytes());
            ws.send(Message::Binary(p.into())).expect("send");
        }
        let echoed = server_read_texts(&mut ws, 100);
        assert_eq!(echoed.len(), 100);
        assert!(echoed.iter().all(|m| m == b"ack"));
    });
    let mut lp = EventLoop::new();
    let mut client = client_for(addr, &lp, test_options());
    client.start(mono_ns()).expect("start");
    let mut errors = Vec::new();
    let mut seen = 0u64;
    let mut on_msg = |d: &[u8], _t: bool| {
        if d.len() == 300 && d[..8] == seen.to_le_bytes() {
            seen += 1;
        }
    };
    let warm = lp.run_until(&mut client, &mut on_msg, &mut errors, |c, e| {
        if c.take_just_opened() {
            c.send_text(mono_ns(), b"go").expect("go");
        }
        !e.is_empty() || c.counters().messages >= WARM
    });
    assert!(warm && errors.is_empty(), "warm-up failed: {errors:?}");
    // Second warm-up under back-pressure: let the socket fill while we sleep, then drain it with
    // full-buffer reads, so the read buffer has grown to what a burst needs (tungstenite grows
    // its buffer when a frame straddles the end) before anything is measured.
    std::thread::sleep(Duration::from_millis(100));
    let warm2 = lp.run_until(&mut client, &mut on_msg, &mut errors, |c, e| {
        !e.is_empty() || c.counters().messages >= 2 * WARM
    });
    assert!(
        warm2 && errors.is_empty(),
        "second warm-up failed: {errors:?}"
    );
    // Measured: only the client's poll_read calls, on this thread.
    let mut allocs_in_read = 0u64;
    let deadline = Instant::now() + TEST_DEADLINE;
    while client.counters().messages < N && Instant::now() < deadline {
        lp.poll
            .poll(&mut lp.events, Some(Duration::from_millis(2)))
            .expect("poll");
        if lp.events.iter().any(|e| e.token() == TOKEN) {
            let before = allocations();
            let r = client.poll_read(mono_ns(), &mut on_msg);
            allocs_in_read += allocations() - before;
            r.expect("read");
        }
    }
    assert_eq!(client.counters().messages, N);
    assert_eq!(seen, N, "lost or corrupt messages");
    assert_eq!(allocs_in_read, 0, "poll_read allocated in steady state");
    let before = allocations();
    for _ in 0..100 {
        client.send_text(mono_ns(), b"ack").expect("ack");
    }
    assert_eq!(allocations() - before, 0, "send_text allocated");
    server.join().expect("server thread");
}

/// The kinds of the events recorded since the last drain.
fn kinds<C: Connector>(client: &mut WsClient<C>) -> Vec<NetEventKind> {
    let mut out = Vec::new();
    client.drain_events(|e: NetEvent| out.push(e.kind));
    out
}

// ---------------------------------------------------------------------------------------------
// TLS (rustls server with an rcgen certificate)
// ---------------------------------------------------------------------------------------------

/// A self-signed certificate for `name` as a server config, plus a client config trusting it.
fn tls_pair(name: &str) -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let ck = rcgen::generate_simple_self_signed(vec![name.to_string()]).expect("rcgen");
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

fn tls_client(
    addr: SocketAddr,
    lp: &EventLoop,
    client_config: Arc<rustls::ClientConfig>,
    server_name: &str,
) -> WsClient<MaybeTlsConnector> {
    WsClient::new(
        MaybeTlsConnector {
            addr,
            tls: Some((client_config, server_name.to_string())),
        },
        &format!("wss://{server_name}:{}/ws/market", addr.port()),
        &[],
        test_options(),
        lp.poll.registry(),
        TOKEN,
        4,
    )
    .expect("client")
}

#[test]
fn tls_messages_in_order_through_split_records() {
    const N: u64 = 2_000;
    let (tls_server, client_config) = tls_pair("localhost");
    let (l, addr) = listener();
    let server = thread::spawn(move || {
        let stream = accept_within(&l).expect("accept");
        let choppy = ChoppyStream {
            inner: stream,
            rng: 0x1234_5678_9abc_def1,
        };
        let conn = rustls::ServerConnection::new(tls_server).expect("server conn");
        let tls = rustls::StreamOwned::new(conn, choppy);
        let mut ws =
            tungstenite::accept_with_config(tls, Some(server_config())).expect("ws handshake");
        assert_eq!(server_read_texts(&mut ws, 1), vec![b"sub".to_vec()]);
        for seq in 0..N {
            ws.send(Message::Binary(payload_for(seq).into()))
                .expect("send");
        }
        // Answer the client's close handshake.
        while ws.read().is_ok() {}
    });
    let mut lp = EventLoop::new();
    let mut client = tls_client(addr, &lp, client_config, "localhost");
    client.start(mono_ns()).expect("start");
    let mut saw_tls_state = false;
    let mut next_seq = 0u64;
    let mut mismatches = 0u64;
    let mut on_msg = |d: &[u8], _t: bool| {
        if d != payload_for(next_seq).as_slice() {
            mismatches += 1;
        }
        next_seq += 1;
    };
    let mut errors = Vec::new();
    let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |c, e| {
        saw_tls_state |= c.state() == WsState::TlsHandshaking;
        if c.take_just_opened() {
            c.send_text(mono_ns(), b"sub").expect("sub");
        }
        !e.is_empty() || c.counters().messages >= N
    });
    assert!(done && errors.is_empty(), "errors: {errors:?}");
    assert!(saw_tls_state, "never observed the TLS handshake phase");
    client.close(mono_ns());
    let closed = lp.run_until(&mut client, &mut on_msg, &mut errors, |c, _| {
        c.state() == WsState::Idle
    });
    assert!(closed && errors.is_empty(), "close: {errors:?}");
    assert_eq!(client.last_drop(), Some(DropReason::Local));
    server.join().expect("server thread");
    assert_eq!((next_seq, mismatches), (N, 0));
}

#[test]
fn tls_certificate_for_another_name_is_refused() {
    let (tls_server, client_config) = tls_pair("other.example");
    let (l, addr) = listener();
    let server = thread::spawn(move || {
        let stream = accept_within(&l).expect("accept");
        let conn = rustls::ServerConnection::new(tls_server).expect("server conn");
        let tls = rustls::StreamOwned::new(conn, stream);
        // The client aborts the TLS handshake: the upgrade never happens.
        tungstenite::accept(tls).is_err()
    });
    let mut lp = EventLoop::new();
    let mut client = tls_client(addr, &lp, client_config, "localhost");
    client.start(mono_ns()).expect("start");
    let mut on_msg = |_: &[u8], _: bool| panic!("no message may arrive");
    let mut errors = Vec::new();
    let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |_, e| !e.is_empty());
    assert!(done, "certificate refusal not reported");
    match &errors[0] {
        WsError::Tls(rustls::Error::InvalidCertificate(_)) => {}
        other => panic!("expected a certificate error, got {other:?}"),
    }
    assert_eq!(client.last_drop(), Some(DropReason::Tls));
    let net = client.net_counters();
    assert_eq!(
        (net.connects, net.connect_failures, net.tls_errors),
        (0, 1, 1)
    );
    assert_eq!(
        kinds(&mut client),
        [NetEventKind::ConnectFailed, NetEventKind::Reconnecting]
    );
    client.close(mono_ns());
    assert!(
        server.join().expect("server thread"),
        "server saw a handshake"
    );
}

// ---------------------------------------------------------------------------------------------
// The in-place receive path: raw servers that control every byte on the wire
// ---------------------------------------------------------------------------------------------

/// Accept one connection and answer the upgrade by hand; returns the raw stream and the
/// `101` response head (not yet written) so a test can put frames in the same write.
fn raw_upgrade(listener: &TcpListener) -> (TcpStream, Vec<u8>) {
    let mut stream = accept_within(listener).expect("accept");
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("request");
        assert_eq!(n, 1, "client went away during the upgrade");
        request.push(byte[0]);
    }
    let text = String::from_utf8(request).expect("ascii request");
    let key = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_string())
        })
        .expect("key header");
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    (stream, head.into_bytes())
}

/// One unmasked server frame.
fn server_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// Read the client's next frame (masked) from a raw stream: (first byte, unmasked payload).
fn read_client_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).expect("frame head");
    assert_eq!(head[1] & 0x80, 0x80, "client frames are masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            stream.read_exact(&mut b).expect("len16");
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            stream.read_exact(&mut b).expect("len64");
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut mask = [0u8; 4];
    stream.read_exact(&mut mask).expect("mask");
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).expect("payload");
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
    (head[0], payload)
}

#[test]
fn frames_in_the_same_write_as_the_upgrade_response_are_delivered() {
    let (l, addr) = listener();
    let server = thread::spawn(move || {
        let (mut stream, head) = raw_upgrade(&l);
        let mut wire = head;
        wire.extend(server_frame(0x81, b"first"));
        wire.extend(server_frame(0x82, &[5u8; 300]));
        stream.write_all(&wire).expect("head + frames");
        // Then nothing: the client must not wait for another readiness event.
        let (first, _) = read_client_frame(&mut stream);
        assert_eq!(first, 0x88, "close from the client");
    });
    let mut lp = EventLoop::new();
    let mut client = client_for(addr, &lp, test_options());
    client.start(mono_ns()).expect("start");
    let mut got: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut on_msg = |d: &[u8], t: bool| got.push((d.to_vec(), t));
    let mut errors = Vec::new();
    let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |c, e| {
        !e.is_empty() || c.counters().messages >= 2
    });
    assert!(done && errors.is_empty(), "errors: {errors:?}");
    client.close(mono_ns());
    server.join().expect("server thread");
    assert_eq!(
        got,
        vec![(b"first".to_vec(), true), (vec![5u8; 300], false)]
    );
}

#[test]
fn frame_headers_split_at_every_byte_are_reassembled() {
    let payloads: Vec<Vec<u8>> = [0usize, 1, 125, 126, 127, 1000, 65_535, 65_536, 70_000]
        .iter()
        .map(|&n| (0..n).map(|i| (i % 253) as u8).collect())
        .collect();
    let expected = payloads.clone();
    let (l, addr) = listener();
    let server = thread::spawn(move || {
        let (mut stream, head) = raw_upgrade(&l);
        stream.write_all(&head).expect("head");
        for p in &payloads {
            let frame = server_frame(0x82, p);
            let header_len = frame.len() - p.len();
            // Every header byte in its own segment, then the payload.
            for b in &frame[..header_len] {
                stream.write_all(&[*b]).expect("header byte");
                stream.flush().expect("flush");
                thread::sleep(Duration::from_micros(300));
            }
            stream.write_all(&frame[header_len..]).expect("payload");
        }
        let (first, _) = read_client_frame(&mut stream);
        assert_eq!(first, 0x88, "close from the client");
    });
    let mut lp = EventLoop::new();
    let options = WsOptions {
        // Smaller than the largest frames: the buffer must grow once.
        read_buffer_bytes: 4096,
        ..test_options()
    };
    let mut client = client_for(addr, &lp, options);
    client.start(mono_ns()).expect("start");
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut on_msg = |d: &[u8], _t: bool| got.push(d.to_vec());
    let mut errors = Vec::new();
    let want = expected.len() as u64;
    let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |c, e| {
        !e.is_empty() || c.counters().messages >= want
    });
    assert!(done && errors.is_empty(), "errors: {errors:?}");
    client.close(mono_ns());
    server.join().expect("server thread");
    assert_eq!(got, expected);
}

#[test]
fn peer_close_is_echoed_with_its_code_and_reported() {
    let (l, addr) = listener();
    let server = thread::spawn(move || {
        let (mut stream, head) = raw_upgrade(&l);
        let mut wire = head;
        wire.extend(server_frame(0x81, b"last words"));
        // A ping, then the close: the ping is answered, the close echoed.
        wire.extend(server_frame(0x89, b"p"));
        wire.extend(server_frame(0x88, &[0x0f, 0xa0, b'b', b'y', b'e']));
        stream.write_all(&wire).expect("frames");
        let pong = read_client_frame(&mut stream);
        let close = read_client_frame(&mut stream);
        stream.shutdown(std::net::Shutdown::Both).expect("shutdown");
        (pong, close)
    });
    let mut lp = EventLoop::new();
    let mut client = client_for(addr, &lp, test_options());
    client.start(mono_ns()).expect("start");
    let mut got = Vec::new();
    let mut on_msg = |d: &[u8], _t: bool| got.push(d.to_vec());
    let mut errors = Vec::new();
    let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |_, e| !e.is_empty());
    assert!(done, "close not reported");
    let (pong, close) = server.join().expect("server thread");
    assert_eq!(pong, (0x8a, b"p".to_vec()));
    assert_eq!(close, (0x88, 4000u16.to_be_bytes().to_vec()));
    assert!(
        matches!(errors[0], WsError::PeerClosed { code: 4000 }),
        "got {:?}",
        errors[0]
    );
    assert_eq!(got, vec![b"last words".to_vec()]);
    assert_eq!(client.counters().pings_in, 1);
    assert_eq!(client.last_drop(), Some(DropReason::PeerClosed));
    client.close(mono_ns());
}

#[test]
fn server_protocol_violations_drop_with_typed_errors() {
    // (frame, expected close code of the ProtocolError event)
    let cases: [(Vec<u8>, u16); 4] = [
        (vec![0x82, 0x81, 1, 2, 3, 4, 9], 1002), // masked server frame
        (vec![0xc1, 0x01, b'x'], 1002),          // RSV1 without an extension
        (vec![0x81, 0x02, 0xc3, 0x28], 1007),    // text that is not UTF-8
        (vec![0x09, 0x00], 1002),                // fragmented ping
    ];
    for (bad, code) in cases {
        let (l, addr) = listener();
        let server = thread::spawn(move || {
            let (mut stream, head) = raw_upgrade(&l);
            let mut wire = head;
            wire.extend(server_frame(0x81, b"fine"));
            wire.extend(bad);
            stream.write_all(&wire).expect("frames");
            // Wait for the client to go away.
            let mut sink = [0u8; 64];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        });
        let mut lp = EventLoop::new();
        let mut client = client_for(addr, &lp, test_options());
        client.start(mono_ns()).expect("start");
        let mut got = Vec::new();
        let mut on_msg = |d: &[u8], _t: bool| got.push(d.to_vec());
        let mut errors = Vec::new();
        let done = lp.run_until(&mut client, &mut on_msg, &mut errors, |_, e| !e.is_empty());
        assert!(done, "no error for code {code}");
        assert_eq!(errors[0].protocol_code(), Some(code), "{:?}", errors[0]);
        assert_eq!(got, vec![b"fine".to_vec()]);
        assert_eq!(client.last_drop(), Some(DropReason::Protocol));
        assert_eq!(
            kinds(&mut client),
            [
                NetEventKind::Connected,
                NetEventKind::ProtocolError(code),
                NetEventKind::Dropped(DropReason::Protocol),
                NetEventKind::Reconnecting
            ]
        );
        client.close(mono_ns());
        drop(client);
        server.join().expect("server thread");
    }
}
