//! A non-blocking, readiness-driven WebSocket client over any [`Transport`] (plain TCP or TLS),
//! driven by the owner's mio loop: tungstenite runs the upgrade handshake and writes its control
//! frames; once open, server frames are parsed in place by [`recv::Receiver`] (with
//! tungstenite's frame-header parser and protocol types).
//!
//! Lifecycle of one [`WsClient`]: `Idle` → TCP connecting → (TLS handshaking) → WS handshaking →
//! `Open` → (`Closing`) → `Idle`, and again after a backoff delay until [`WsClient::close`].
//! The owner calls [`WsClient::poll_read`] on every readiness event of the client's token (or on
//! every turn of a busy loop) and [`WsClient::on_timer`] regularly; neither ever blocks.
//!
//! Invariants:
//! * every received data message is handed to the caller as a borrowed `&[u8]` (a slice of the
//!   receive buffer) without allocating (see [`poll_read`](WsClient::poll_read));
//! * outbound bytes (our frames, pongs and close replies, handshake bytes) share one
//!   bounded FIFO ([`wire::WireIo`]) and leave in order; sends never allocate;
//! * every failure drops the connection with a typed [`WsError`], is counted, and (unless the
//!   owner closed the client) schedules a reconnect with jittered exponential backoff;
//! * the inbound-silence watchdog counts data messages only: pings, pongs and our own sends do
//!   not keep a silent connection alive, except the venue's application pong where the options
//!   say it proves the connection live (`app_pong_keeps_alive`: a channel that is quiet by
//!   nature, such as Polymarket's user channel).

pub mod recv;
pub mod wire;

use std::io;
use std::time::Duration;

use mio::{Interest, Registry, Token};
use tungstenite::client::IntoClientRequest;
use tungstenite::error::{CapacityError, ProtocolError};
use tungstenite::handshake::client::{ClientHandshake, Request};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Bytes, Message, WebSocket};

use crate::net::backoff::{Backoff, BackoffPolicy};
use crate::net::counters::{DropReason, EventRing, NetCounters, NetEvent, NetEventKind};
use crate::net::tcp::{self, ConnectProgress};
use crate::net::tls::{tls_failure, MaybeTls};
use crate::net::transport::Transport;
use wire::WireIo;

/// Opcode of a text data frame.
const OPCODE_TEXT: u8 = 0x1;
/// Opcode of a binary data frame.
const OPCODE_BINARY: u8 = 0x2;
/// Opcode of a close frame.
const OPCODE_CLOSE: u8 = 0x8;
/// Opcode of a pong frame.
const OPCODE_PONG: u8 = 0xA;

/// Opens a fresh, non-blocking transport to the venue: a TCP connect that has been *started*
/// (not completed) and, for TLS, a client session wrapped around it. Called on every (re)connect.
/// DNS must already be resolved: this runs on the hot thread.
pub trait Connector {
    /// The transport this connector produces.
    type Stream: Transport;
    /// Start one connection attempt.
    fn connect(&mut self) -> io::Result<Self::Stream>;
}

impl<S: Transport, F: FnMut() -> io::Result<S>> Connector for F {
    type Stream = S;
    fn connect(&mut self) -> io::Result<S> {
        self()
    }
}

/// Plain-TCP connector to a resolved address (`TCP_NODELAY` set by [`tcp::connect`]).
#[derive(Debug, Clone, Copy)]
pub struct TcpConnector {
    /// Peer address.
    pub addr: std::net::SocketAddr,
}

impl Connector for TcpConnector {
    type Stream = mio::net::TcpStream;
    fn connect(&mut self) -> io::Result<mio::net::TcpStream> {
        tcp::connect(self.addr)
    }
}

/// Connector for `ws://` or `wss://`: a resolved address plus, for TLS, the shared rustls config
/// and the name the server certificate must carry.
#[derive(Debug, Clone)]
pub struct MaybeTlsConnector {
    /// Peer address.
    pub addr: std::net::SocketAddr,
    /// `Some((config, server_name))` for TLS.
    pub tls: Option<(std::sync::Arc<rustls::ClientConfig>, String)>,
}

impl Connector for MaybeTlsConnector {
    type Stream = MaybeTls;
    fn connect(&mut self) -> io::Result<MaybeTls> {
        let tls = self
            .tls
            .as_ref()
            .map(|(c, name)| (c.clone(), name.as_str()));
        MaybeTls::connect(self.addr, tls).map_err(|e| match e {
            crate::net::tls::TlsConnectError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidInput, other),
        })
    }
}

/// Per-connection WebSocket settings (the config module maps the TOML into this).
#[derive(Debug, Clone, PartialEq)]
pub struct WsOptions {
    /// Largest accepted message (after reassembling fragments); larger ones drop the connection.
    pub max_message_bytes: usize,
    /// Largest accepted single frame payload; checked on the frame header, before buffering.
    pub max_frame_bytes: usize,
    /// Receive buffer (allocated per connection): the most one `read` takes. Sized so a burst
    /// of market data (e.g. 100 × 256-byte frames) needs one read; it grows once if a single
    /// frame is larger.
    pub read_buffer_bytes: usize,
    /// Capacity of the outbound FIFO, allocated once per connection. A send that does not fit
    /// is refused with [`WsError::SendBufferFull`].
    pub send_buffer_bytes: usize,
    /// Send `app_ping_text` as a text frame this often while open (Polymarket: `PING`, 10 s).
    pub app_ping_interval: Option<Duration>,
    /// Payload of the application keep-alive text frame.
    pub app_ping_text: Vec<u8>,
    /// A text message exactly equal to this is the venue's answer to `app_ping_text` (Polymarket:
    /// `PONG`): counted, not delivered, and (like WebSocket pongs) it does not feed the watchdog
    /// unless `app_pong_keeps_alive` is set.
    pub app_pong_text: Option<Vec<u8>>,
    /// An `app_pong_text` answer counts as inbound data for the silence watchdog. For channels
    /// that are quiet by nature (Polymarket's user channel sends nothing while no order of the
    /// account changes; its SDK calls the link stale after 30 s without a `PONG`); market-data
    /// feeds leave it off so a feed that stops publishing is dropped even while it answers.
    pub app_pong_keeps_alive: bool,
    /// Send an empty WebSocket ping frame this often while open.
    pub ws_ping_interval: Option<Duration>,
    /// Drop the connection when no data message arrived for this long (pings/pongs ignored,
    /// except an application pong with `app_pong_keeps_alive`).
    pub silence_timeout: Option<Duration>,
    /// Deadline for TCP connect + TLS + WebSocket handshake.
    pub connect_timeout: Duration,
    /// Deadline for the close handshake once a close frame was sent or received.
    pub close_timeout: Duration,
    /// Reconnect backoff (reset once a new connection has delivered data).
    pub backoff: BackoffPolicy,
}

impl Default for WsOptions {
    fn default() -> Self {
        Self {
            max_message_bytes: 8 << 20,
            max_frame_bytes: 4 << 20,
            read_buffer_bytes: 64 << 10,
            send_buffer_bytes: 64 << 10,
            app_ping_interval: None,
            app_ping_text: b"PING".to_vec(),
            app_pong_text: None,
            app_pong_keeps_alive: false,
            ws_ping_interval: None,
            silence_timeout: None,
            connect_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(2),
            backoff: BackoffPolicy::default(),
        }
    }
}

/// Why a connection ended (or a call was refused). Connection-ending variants are also what
/// a [`DropReason`] through [`WsError::drop_reason`].
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// Starting or completing the TCP connect failed.
    #[error("tcp connect failed: {0}")]
    Connect(io::Error),
    /// The TLS layer failed (e.g. the server certificate was refused).
    #[error("tls failed: {0}")]
    Tls(rustls::Error),
    /// The server answered the upgrade request with a non-101 HTTP status.
    #[error("websocket upgrade refused with HTTP status {status}")]
    HandshakeRejected {
        /// HTTP status code of the refusal.
        status: u16,
    },
    /// The upgrade exchange was malformed (bad accept key, truncated response, ...).
    #[error("websocket handshake failed: {0}")]
    Handshake(tungstenite::Error),
    /// TCP + TLS + WebSocket handshake did not finish within `connect_timeout`.
    #[error("connect/handshake did not finish within the timeout")]
    HandshakeTimeout,
    /// An incoming frame or message is larger than the configured limit; it was not buffered.
    #[error("incoming message of {size} bytes exceeds the {limit}-byte limit")]
    MessageTooLarge {
        /// Size announced by the frame header (or reached while reassembling).
        size: usize,
        /// The configured limit that was exceeded.
        limit: usize,
    },
    /// A text message was not valid UTF-8.
    #[error("text message is not valid UTF-8")]
    InvalidUtf8,
    /// The peer violated the WebSocket protocol.
    #[error("websocket protocol violation: {0}")]
    Protocol(ProtocolError),
    /// The peer closed the TCP connection without a close handshake (possibly mid-frame).
    #[error("peer closed the connection without a websocket close handshake")]
    PeerReset,
    /// The peer ran the close handshake (code 1005 when it sent none).
    #[error("peer closed the websocket with code {code}")]
    PeerClosed {
        /// Close code sent by the peer.
        code: u16,
    },
    /// Socket read/write failed.
    #[error("socket i/o failed: {0}")]
    Io(io::Error),
    /// No data message for longer than `silence_timeout`.
    #[error("no data message for {silent_ms} ms: watchdog dropped the connection")]
    Watchdog {
        /// How long the connection had been silent.
        silent_ms: u64,
    },
    /// Our close handshake did not complete within `close_timeout` (connection dropped anyway).
    #[error("close handshake did not finish within the timeout")]
    CloseTimeout,
    /// A send was attempted while the connection is not open (nothing was sent).
    #[error("websocket is not open")]
    NotOpen,
    /// A send did not fit in the outbound buffer (nothing was sent; the connection stays up).
    #[error("outbound buffer full: {len}-byte message refused")]
    SendBufferFull {
        /// Payload length of the refused message.
        len: usize,
    },
}

impl WsError {
    /// The wire-layer drop reason this error stands for (for [`NetEvent`]s and counters).
    /// Timeouts of the connect/close handshakes count as `Io`; a peer that vanished without a
    /// close handshake as `PeerClosed`.
    pub fn drop_reason(&self) -> DropReason {
        match self {
            WsError::Connect(_) | WsError::Io(_) | WsError::HandshakeTimeout => DropReason::Io,
            WsError::NotOpen | WsError::SendBufferFull { .. } => DropReason::Io,
            WsError::Tls(_) => DropReason::Tls,
            WsError::HandshakeRejected { .. }
            | WsError::Handshake(_)
            | WsError::MessageTooLarge { .. }
            | WsError::InvalidUtf8
            | WsError::Protocol(_) => DropReason::Protocol,
            WsError::PeerReset | WsError::PeerClosed { .. } => DropReason::PeerClosed,
            WsError::Watchdog { .. } => DropReason::Watchdog,
            WsError::CloseTimeout => DropReason::Local,
        }
    }

    /// Code for a [`NetEventKind::ProtocolError`] event: the WebSocket close code that names the
    /// violation (1009 too big, 1007 bad UTF-8, 1002 protocol) or the refusing HTTP status.
    pub fn protocol_code(&self) -> Option<u16> {
        match self {
            WsError::MessageTooLarge { .. } => Some(1009),
            WsError::InvalidUtf8 => Some(1007),
            WsError::Protocol(_) | WsError::Handshake(_) => Some(1002),
            WsError::HandshakeRejected { status } => Some(*status),
            _ => None,
        }
    }
}

/// Where the connection is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsState {
    /// No connection: waiting for the next attempt, or stopped.
    Idle,
    /// TCP connect in flight.
    Connecting,
    /// TLS handshake in flight (the upgrade request is already queued behind it).
    TlsHandshaking,
    /// HTTP upgrade in flight.
    WsHandshaking,
    /// Open: messages flow.
    Open,
    /// A close frame was sent or received; waiting for the peer to finish.
    Closing,
}

/// WebSocket-level counters of one client over its whole life (all reconnects). Connects,
/// drops, reconnects, errors and bytes are in [`NetCounters`] ([`WsClient::net_counters`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WsCounters {
    /// Connection attempts started (first connect and reconnects).
    pub attempts: u64,
    /// Data messages delivered.
    pub messages: u64,
    /// Payload bytes of delivered data messages.
    pub message_bytes: u64,
    /// Pings received (answered automatically).
    pub pings_in: u64,
    /// Pongs received.
    pub pongs_in: u64,
    /// Application keep-alive answers (`app_pong_text`) received.
    pub app_pongs_in: u64,
    /// Application keep-alive texts sent.
    pub app_pings_out: u64,
    /// WebSocket ping frames sent.
    pub ws_pings_out: u64,
    /// Sends refused because the outbound buffer was full.
    pub send_refused: u64,
    /// Drops because a message exceeded the size limits.
    pub oversize_drops: u64,
    /// Events lost because the owner did not drain them (the ring keeps the newest).
    pub events_lost: u64,
}

type Handshake<S> = MidHandshake<ClientHandshake<WireIo<S>>>;
type HandshakeResult<S> = Result<
    (
        WebSocket<WireIo<S>>,
        tungstenite::handshake::client::Response,
    ),
    HandshakeError<ClientHandshake<WireIo<S>>>,
>;

/// The connection, by phase. Each phase owns its transport.
enum Phase<S: Transport> {
    Idle,
    Connecting(WireIo<S>),
    Handshaking(Box<Handshake<S>>),
    Open(WebSocket<WireIo<S>>),
    Closing(WebSocket<WireIo<S>>),
}

/// One reconnecting WebSocket client connection. See the module docs.
pub struct WsClient<C: Connector> {
    connector: C,
    registry: Registry,
    token: Token,
    conn_id: u16,
    request: Request,
    options: WsOptions,
    ws_config: WebSocketConfig,
    phase: Phase<C::Stream>,
    /// False once the owner closed the client: no more reconnects.
    enabled: bool,
    /// When `Idle` and enabled: time of the next connect attempt.
    next_attempt_ns: u64,
    /// Deadline of the handshake (connecting phases) or of the close handshake (`Closing`).
    deadline_ns: u64,
    last_data_ns: u64,
    next_app_ping_ns: u64,
    next_ws_ping_ns: u64,
    backoff: Backoff,
    /// The current connection has delivered data (the backoff was reset).
    healthy: bool,
    just_opened: bool,
    /// Close code received from the peer on this connection.
    peer_close_code: Option<u16>,
    last_drop: Option<DropReason>,
    counters: WsCounters,
    /// Totals of finished connections (the live one's bytes are added on read-out).
    net: NetCounters,
    events: EventRing,
    /// xorshift state for jitter and frame masks.
    rng: u64,
}

impl<C: Connector> WsClient<C> {
    /// Build a client for `url` (`ws://` or `wss://`; the host is only used for the upgrade
    /// request, the connector decides where to connect). `extra_headers` are added to the
    /// upgrade request. `conn_id` tags this client's [`NetEvent`]s. Registers nothing yet:
    /// call [`start`](Self::start).
    pub fn new(
        connector: C,
        url: &str,
        extra_headers: &[(&str, &str)],
        options: WsOptions,
        registry: &Registry,
        token: Token,
        conn_id: u16,
    ) -> Result<Self, WsError> {
        let mut request = url.into_client_request().map_err(WsError::Handshake)?;
        for (name, value) in extra_headers {
            let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| WsError::Handshake(tungstenite::Error::HttpFormat(e.into())))?;
            let value = tungstenite::http::HeaderValue::from_str(value)
                .map_err(|e| WsError::Handshake(tungstenite::Error::HttpFormat(e.into())))?;
            request.headers_mut().insert(name, value);
        }
        let ws_config = WebSocketConfig::default()
            // Frames are read by our receiver, never through tungstenite's read buffer.
            .read_buffer_size(256)
            // Frames go straight to our FIFO, which does the buffering.
            .write_buffer_size(0)
            .max_message_size(Some(options.max_message_bytes))
            .max_frame_size(Some(options.max_frame_bytes));
        let registry = registry.try_clone().map_err(WsError::Io)?;
        let seed = rand::random::<u64>();
        let backoff = Backoff::new(options.backoff, seed);
        Ok(Self {
            connector,
            registry,
            token,
            conn_id,
            request,
            options,
            ws_config,
            phase: Phase::Idle,
            enabled: false,
            next_attempt_ns: 0,
            deadline_ns: 0,
            last_data_ns: 0,
            next_app_ping_ns: u64::MAX,
            next_ws_ping_ns: u64::MAX,
            backoff,
            healthy: false,
            just_opened: false,
            peer_close_code: None,
            last_drop: None,
            counters: WsCounters::default(),
            net: NetCounters::default(),
            events: EventRing::default(),
            rng: seed.rotate_left(17) | 1,
        })
    }

    /// Enable the client and start the first connection attempt now.
    #[cold]
    pub fn start(&mut self, now_ns: u64) -> Result<(), WsError> {
        self.enabled = true;
        if matches!(self.phase, Phase::Idle) {
            self.begin_connect(now_ns)
        } else {
            Ok(())
        }
    }

    /// Current lifecycle state.
    pub fn state(&self) -> WsState {
        match &self.phase {
            Phase::Idle => WsState::Idle,
            Phase::Connecting(_) => WsState::Connecting,
            Phase::Handshaking(mid) => {
                if mid.get_ref().get_ref().transport().is_handshaking() {
                    WsState::TlsHandshaking
                } else {
                    WsState::WsHandshaking
                }
            }
            Phase::Open(_) => WsState::Open,
            Phase::Closing(_) => WsState::Closing,
        }
    }

    /// True once after each (re)connect reached `Open`: the owner (re-)sends its subscriptions.
    pub fn take_just_opened(&mut self) -> bool {
        std::mem::take(&mut self.just_opened)
    }

    /// Why the most recent connection (or attempt) ended.
    pub fn last_drop(&self) -> Option<DropReason> {
        self.last_drop
    }

    /// WebSocket-level counters since construction.
    pub fn counters(&self) -> &WsCounters {
        &self.counters
    }

    /// Wire-layer counters since construction, including the live connection's bytes.
    pub fn net_counters(&self) -> NetCounters {
        let mut total = self.net;
        let live = match &self.phase {
            Phase::Idle => None,
            Phase::Connecting(io) => Some(io.counters()),
            Phase::Handshaking(mid) => Some(mid.get_ref().get_ref().counters()),
            Phase::Open(ws) | Phase::Closing(ws) => Some(ws.get_ref().counters()),
        };
        if let Some(live) = live {
            total.merge(live);
        }
        total
    }

    /// Hand every event recorded since the last call to `sink`, oldest first (e.g. into the
    /// SPSC queue to telemetry). Up to 16 are kept; older ones are counted as lost.
    pub fn drain_events(&mut self, mut sink: impl FnMut(NetEvent)) {
        self.events.drain(&mut sink);
    }

    /// Time the next reconnect attempt is due, when idle and enabled.
    pub fn next_attempt_ns(&self) -> Option<u64> {
        (self.enabled && matches!(self.phase, Phase::Idle)).then_some(self.next_attempt_ns)
    }

    /// Earliest time [`on_timer`](Self::on_timer) has something to do (for a blocking poll's
    /// timeout); `None` when nothing is scheduled.
    pub fn next_deadline_ns(&self) -> Option<u64> {
        let at = match &self.phase {
            Phase::Idle => return self.next_attempt_ns(),
            Phase::Connecting(_) | Phase::Handshaking(_) | Phase::Closing(_) => self.deadline_ns,
            Phase::Open(_) => {
                let watchdog = self
                    .silence_ns()
                    .map_or(u64::MAX, |s| self.last_data_ns + s);
                watchdog
                    .min(self.next_app_ping_ns)
                    .min(self.next_ws_ping_ns)
            }
        };
        (at != u64::MAX).then_some(at)
    }

    /// Drive the connection after a readiness event (or on every busy-loop turn): finish the
    /// TCP connect, advance the TLS/WS handshakes, push queued outbound bytes, and deliver
    /// **every** message already available to `on_msg(payload, is_text)` before returning.
    /// Pings are answered (pong queued and flushed) inside this call.
    ///
    /// Returns the number of data messages delivered. An `Err` means the connection was
    /// dropped (counted; a reconnect is scheduled unless the client was closed).
    ///
    /// Allocation: none per frame or message in steady state. Frames are parsed in place out of
    /// the connection's receive buffer ([`recv::Receiver`]) and payloads are handed out as slices
    /// of it; fragments are collected in a reassembly buffer whose capacity is kept. Only a frame
    /// larger than the receive buffer, or a fragmented message larger than any before, grows a
    /// buffer (once). Reading continues until the transport answers `WouldBlock`.
    pub fn poll_read(
        &mut self,
        now_ns: u64,
        mut on_msg: impl FnMut(&[u8], bool),
    ) -> Result<usize, WsError> {
        loop {
            match &mut self.phase {
                Phase::Idle => return Ok(0),
                Phase::Connecting(_) => {
                    if !self.advance_connect(now_ns)? {
                        return Ok(0);
                    }
                }
                Phase::Handshaking(_) => {
                    if !self.advance_handshake(now_ns)? {
                        return Ok(0);
                    }
                }
                Phase::Open(_) | Phase::Closing(_) => {
                    return self.read_messages(now_ns, &mut on_msg)
                }
            }
        }
    }

    /// Time-driven work: start a due reconnect, enforce the handshake/close deadlines and the
    /// silence watchdog, and send due keep-alives. An `Err` means a connection was dropped.
    pub fn on_timer(&mut self, now_ns: u64) -> Result<(), WsError> {
        match &mut self.phase {
            Phase::Idle => {
                if self.enabled && now_ns >= self.next_attempt_ns {
                    self.begin_connect(now_ns)?;
                }
                Ok(())
            }
            Phase::Connecting(_) | Phase::Handshaking(_) => {
                if now_ns >= self.deadline_ns {
                    return Err(self.drop_connection(now_ns, WsError::HandshakeTimeout));
                }
                Ok(())
            }
            Phase::Closing(_) => {
                if now_ns >= self.deadline_ns {
                    let err = match self.peer_close_code {
                        Some(code) => WsError::PeerClosed { code },
                        None => WsError::CloseTimeout,
                    };
                    return Err(self.drop_connection(now_ns, err));
                }
                Ok(())
            }
            Phase::Open(_) => self.open_timers(now_ns),
        }
    }

    /// Watchdog and keep-alives of an open connection.
    fn open_timers(&mut self, now_ns: u64) -> Result<(), WsError> {
        if let Some(silence) = self.silence_ns() {
            let silent = now_ns.saturating_sub(self.last_data_ns);
            if silent >= silence {
                let err = WsError::Watchdog {
                    silent_ms: silent / 1_000_000,
                };
                return Err(self.drop_connection(now_ns, err));
            }
        }
        if now_ns >= self.next_ws_ping_ns {
            self.next_ws_ping_ns =
                advance_schedule(self.next_ws_ping_ns, now_ns, self.options.ws_ping_interval);
            let Phase::Open(ws) = &mut self.phase else {
                return Ok(());
            };
            let sent = ws
                .write(Message::Ping(Bytes::new()))
                .and_then(|()| ws.flush());
            match sent {
                Ok(()) => self.counters.ws_pings_out += 1,
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Queued in tungstenite; it leaves with the next flush.
                    self.counters.ws_pings_out += 1;
                }
                Err(e) => {
                    let err = map_ws_error(e, &self.options);
                    return Err(self.drop_connection(now_ns, err));
                }
            }
        }
        if now_ns >= self.next_app_ping_ns {
            self.next_app_ping_ns = advance_schedule(
                self.next_app_ping_ns,
                now_ns,
                self.options.app_ping_interval,
            );
            let text = std::mem::take(&mut self.options.app_ping_text);
            let sent = self.send_frame(now_ns, OPCODE_TEXT, &text);
            self.options.app_ping_text = text;
            match sent {
                Ok(()) => self.counters.app_pings_out += 1,
                // A full buffer skips this keep-alive; the next one is scheduled.
                Err(WsError::SendBufferFull { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Send one text message from the caller's buffer (the caller guarantees UTF-8) and push it
    /// to the socket. Never allocates; refused without effect when not open or the outbound
    /// buffer is full. An I/O failure drops the connection and is returned.
    pub fn send_text(&mut self, now_ns: u64, payload: &[u8]) -> Result<(), WsError> {
        self.send_frame(now_ns, OPCODE_TEXT, payload)
    }

    /// Send one binary message from the caller's buffer; see [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, now_ns: u64, payload: &[u8]) -> Result<(), WsError> {
        self.send_frame(now_ns, OPCODE_BINARY, payload)
    }

    /// Start the close handshake and stop reconnecting. The connection ends when the server
    /// closes its side (seen by `poll_read`) or at `close_timeout` (seen by `on_timer`).
    #[cold]
    pub fn close(&mut self, now_ns: u64) {
        self.enabled = false;
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Open(mut ws) => {
                // Errors here surface on the next read; the deadline bounds the wait.
                let _ = ws.close(None);
                self.deadline_ns = now_ns + duration_ns(self.options.close_timeout);
                self.phase = Phase::Closing(ws);
            }
            Phase::Closing(ws) => self.phase = Phase::Closing(ws),
            Phase::Idle => {}
            other => {
                self.phase = other;
                let _ = self.drop_connection(now_ns, WsError::CloseTimeout);
            }
        }
    }

    fn silence_ns(&self) -> Option<u64> {
        self.options.silence_timeout.map(duration_ns)
    }

    /// Queue one client data frame; see `send_text`.
    fn send_frame(&mut self, now_ns: u64, opcode: u8, payload: &[u8]) -> Result<(), WsError> {
        let Phase::Open(ws) = &mut self.phase else {
            return Err(WsError::NotOpen);
        };
        // Anything tungstenite still holds (a pong) must leave before our frame.
        match ws.flush() {
            Ok(()) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                self.counters.send_refused += 1;
                return Err(WsError::SendBufferFull { len: payload.len() });
            }
            Err(e) => {
                let err = map_ws_error(e, &self.options);
                return Err(self.drop_connection(now_ns, err));
            }
        }
        match ws.get_mut().push_client_frame(opcode, payload) {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.counters.send_refused += 1;
                Err(WsError::SendBufferFull { len: payload.len() })
            }
            Err(e) => Err(self.drop_connection(now_ns, WsError::Io(e))),
        }
    }

    /// Open a new transport and register it. Failure to even start counts as a drop.
    #[cold]
    fn begin_connect(&mut self, now_ns: u64) -> Result<(), WsError> {
        self.counters.attempts += 1;
        self.peer_close_code = None;
        self.healthy = false;
        let mut stream = match self.connector.connect() {
            Ok(stream) => stream,
            Err(e) => return Err(self.drop_connection(now_ns, WsError::Connect(e))),
        };
        if let Err(e) = self.registry.register(
            stream.socket(),
            self.token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            return Err(self.drop_connection(now_ns, WsError::Connect(e)));
        }
        let mask_seed = self.next_random();
        let receiver = recv::Receiver::new(
            self.options.read_buffer_bytes,
            self.options.max_frame_bytes,
            self.options.max_message_bytes,
        );
        self.phase = Phase::Connecting(WireIo::new(
            stream,
            self.options.send_buffer_bytes,
            mask_seed,
            receiver,
        ));
        self.deadline_ns = now_ns + duration_ns(self.options.connect_timeout);
        Ok(())
    }

    /// `Connecting`: check whether the TCP connect completed; if so start the upgrade.
    /// `Ok(true)` when the phase moved on.
    #[cold]
    fn advance_connect(&mut self, now_ns: u64) -> Result<bool, WsError> {
        let Phase::Connecting(io) = &mut self.phase else {
            return Ok(false);
        };
        match tcp::poll_connect(io.transport_mut().socket()) {
            Ok(ConnectProgress::Pending) => return Ok(false),
            Ok(ConnectProgress::Connected) => {}
            Err(e) => return Err(self.drop_connection(now_ns, WsError::Connect(e))),
        }
        let Phase::Connecting(io) = std::mem::replace(&mut self.phase, Phase::Idle) else {
            return Ok(false);
        };
        let result =
            tungstenite::client::client_with_config(self.request.clone(), io, Some(self.ws_config));
        self.finish_handshake_round(now_ns, result).map(|()| true)
    }

    /// `Handshaking`: push queued bytes and resume the upgrade. `Ok(true)` when open.
    #[cold]
    fn advance_handshake(&mut self, now_ns: u64) -> Result<bool, WsError> {
        let Phase::Handshaking(mid) = std::mem::replace(&mut self.phase, Phase::Idle) else {
            return Ok(false);
        };
        let mut mid = *mid;
        if let Err(e) = mid.get_mut().get_mut().drain() {
            return Err(self.drop_connection(now_ns, io_error(e)));
        }
        let result = mid.handshake();
        self.finish_handshake_round(now_ns, result)?;
        Ok(matches!(self.phase, Phase::Open(_)))
    }

    #[cold]
    fn finish_handshake_round(
        &mut self,
        now_ns: u64,
        result: HandshakeResult<C::Stream>,
    ) -> Result<(), WsError> {
        match result {
            Ok((mut ws, _response)) => {
                ws.get_mut().finish_handshake();
                if let Err(e) = ws.get_mut().drain() {
                    return Err(self.drop_connection(now_ns, io_error(e)));
                }
                self.phase = Phase::Open(ws);
                self.push_event(now_ns, NetEventKind::Connected);
                self.just_opened = true;
                self.last_data_ns = now_ns;
                self.next_app_ping_ns = first_due(now_ns, self.options.app_ping_interval);
                self.next_ws_ping_ns = first_due(now_ns, self.options.ws_ping_interval);
                Ok(())
            }
            Err(HandshakeError::Interrupted(mut mid)) => {
                // Push what the upgrade (and TLS) produced so far.
                if let Err(e) = mid.get_mut().get_mut().drain() {
                    return Err(self.drop_connection(now_ns, io_error(e)));
                }
                self.phase = Phase::Handshaking(Box::new(mid));
                Ok(())
            }
            Err(HandshakeError::Failure(e)) => {
                let err = match e {
                    tungstenite::Error::Http(response) => WsError::HandshakeRejected {
                        status: response.status().as_u16(),
                    },
                    tungstenite::Error::Io(e) => io_error(e),
                    other => WsError::Handshake(other),
                };
                Err(self.drop_connection(now_ns, err))
            }
        }
    }

    /// `Open`/`Closing`: parse every complete frame in the read buffer, read again, and repeat
    /// until the transport answers `WouldBlock`; then flush replies (pongs, close echo).
    #[inline]
    fn read_messages(
        &mut self,
        now_ns: u64,
        on_msg: &mut impl FnMut(&[u8], bool),
    ) -> Result<usize, WsError> {
        let (ws, closing) = match &mut self.phase {
            Phase::Open(ws) => (ws, false),
            Phase::Closing(ws) => (ws, true),
            _ => return Ok(0),
        };
        let io = ws.get_mut();
        let mut delivered = 0usize;
        let mut message_bytes = 0u64;
        let mut live_pong = false;
        let mut peer_closed = false;
        let outcome: Result<(), WsError> = 'read: loop {
            loop {
                match io.receiver().next_frame() {
                    Ok(None) => break,
                    Ok(Some(recv::Inbound::Data { payload, text })) => {
                        if text && self.options.app_pong_text.as_deref() == Some(payload) {
                            self.counters.app_pongs_in += 1;
                            live_pong |= self.options.app_pong_keeps_alive;
                            continue;
                        }
                        on_msg(payload, text);
                        message_bytes += payload.len() as u64;
                        delivered += 1;
                    }
                    Ok(Some(recv::Inbound::Ping(payload))) => {
                        self.counters.pings_in += 1;
                        // No pong once a close frame went out (ours or our echo).
                        if !closing && !peer_closed {
                            let mut echo = [0u8; recv::MAX_CONTROL_PAYLOAD];
                            let len = payload.len();
                            echo[..len].copy_from_slice(payload);
                            match io.push_client_frame(OPCODE_PONG, &echo[..len]) {
                                Ok(true) => {}
                                Ok(false) => self.counters.send_refused += 1,
                                Err(e) => break 'read Err(io_error(e)),
                            }
                        }
                    }
                    Ok(Some(recv::Inbound::Pong)) => self.counters.pongs_in += 1,
                    Ok(Some(recv::Inbound::Close { code, allowed })) => {
                        self.peer_close_code = Some(code);
                        peer_closed = true;
                        if !closing {
                            // Echo the code (1002 for one not allowed on the wire); the server
                            // then closes the TCP connection.
                            let reply: &[u8] = match (code, allowed) {
                                (1005, _) => &[],
                                (_, true) => &code.to_be_bytes(),
                                (_, false) => &1002u16.to_be_bytes(),
                            };
                            let mut echo = [0u8; 2];
                            echo[..reply.len()].copy_from_slice(reply);
                            if let Err(e) = io.push_client_frame(OPCODE_CLOSE, &echo[..reply.len()])
                            {
                                break 'read Err(io_error(e));
                            }
                        }
                    }
                    Err(e) => break 'read Err(e),
                }
            }
            match io.fill() {
                Ok(0) => {
                    break 'read Err(if io.receiver().close_received() {
                        WsError::PeerClosed {
                            code: self.peer_close_code.unwrap_or(1005),
                        }
                    } else {
                        WsError::PeerReset
                    })
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 'read Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let err = io_error(e);
                    break 'read Err(match err {
                        WsError::PeerReset if io.receiver().close_received() => {
                            WsError::PeerClosed {
                                code: self.peer_close_code.unwrap_or(1005),
                            }
                        }
                        other => other,
                    });
                }
            }
        };
        if live_pong {
            self.last_data_ns = now_ns;
        }
        if delivered > 0 {
            self.counters.messages += delivered as u64;
            self.counters.message_bytes += message_bytes;
            self.last_data_ns = now_ns;
            if !self.healthy {
                self.healthy = true;
                self.backoff.reset();
            }
        }
        let outcome = outcome.and_then(|()| match ws.flush() {
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(map_ws_error(e, &self.options)),
            Ok(()) => Ok(()),
        });
        match outcome {
            Ok(()) => {
                if peer_closed && !closing {
                    if let Phase::Open(ws) = std::mem::replace(&mut self.phase, Phase::Idle) {
                        self.phase = Phase::Closing(ws);
                        self.deadline_ns = now_ns + duration_ns(self.options.close_timeout);
                    }
                }
                Ok(delivered)
            }
            Err(e) if !self.enabled => {
                // Our own close finished (or the peer cut it short): not an error.
                let _ = self.drop_connection(now_ns, e);
                Ok(delivered)
            }
            Err(e) => Err(self.drop_connection(now_ns, e)),
        }
    }

    /// End the current connection (or attempt) for `err`, record its events (which keep the
    /// [`NetCounters`] in step), and schedule the next attempt when enabled. Returns `err`.
    #[cold]
    fn drop_connection(&mut self, now_ns: u64, err: WsError) -> WsError {
        let was_up = matches!(self.phase, Phase::Open(_) | Phase::Closing(_));
        let live = match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Idle => None,
            Phase::Connecting(mut io) => {
                self.deregister(io.transport_mut());
                Some(*io.counters())
            }
            Phase::Handshaking(mut mid) => {
                let io = mid.get_mut().get_mut();
                self.deregister(io.transport_mut());
                Some(*io.counters())
            }
            Phase::Open(mut ws) | Phase::Closing(mut ws) => {
                let io = ws.get_mut();
                self.deregister(io.transport_mut());
                Some(*io.counters())
            }
        };
        if let Some(live) = live {
            self.net.merge(&live);
        }
        let reason = if self.enabled {
            err.drop_reason()
        } else {
            DropReason::Local
        };
        self.last_drop = Some(reason);
        self.just_opened = false;
        if reason == DropReason::Watchdog {
            self.push_event(now_ns, NetEventKind::Watchdog);
        }
        if let (true, Some(code)) = (self.enabled, err.protocol_code()) {
            self.net.ws_errors += 1;
            self.push_event(now_ns, NetEventKind::ProtocolError(code));
        }
        if matches!(err, WsError::MessageTooLarge { .. }) {
            self.counters.oversize_drops += 1;
        }
        if was_up {
            self.push_event(now_ns, NetEventKind::Dropped(reason));
        } else {
            if reason == DropReason::Tls {
                // `record` counts TLS errors only on `Dropped`; a refused certificate fails
                // the attempt before the connection was ever up.
                self.net.tls_errors += 1;
            }
            self.push_event(now_ns, NetEventKind::ConnectFailed);
        }
        if self.enabled {
            self.next_attempt_ns = now_ns.saturating_add(self.backoff.next_delay_ns());
            self.push_event(now_ns, NetEventKind::Reconnecting);
        }
        err
    }

    /// Count `kind` and keep it for [`drain_events`](Self::drain_events).
    fn push_event(&mut self, now_ns: u64, kind: NetEventKind) {
        let event = NetEvent::new(self.conn_id, kind, now_ns);
        self.net.record(&event);
        self.events.push(event);
        self.counters.events_lost = self.events.lost();
    }

    fn deregister(&self, transport: &mut C::Stream) {
        // Best effort: closing the socket removes it from the poll set anyway.
        let _ = self.registry.deregister(transport.socket());
    }

    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

impl<C: Connector> std::fmt::Debug for WsClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsClient")
            .field("uri", self.request.uri())
            .field("token", &self.token)
            .field("state", &self.state())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn first_due(now_ns: u64, interval: Option<Duration>) -> u64 {
    interval.map_or(u64::MAX, |i| now_ns.saturating_add(duration_ns(i).max(1)))
}

/// Next due time of a periodic job that fired at `now_ns` (no burst catch-up after a stall).
fn advance_schedule(due_ns: u64, now_ns: u64, interval: Option<Duration>) -> u64 {
    let Some(interval) = interval else {
        return u64::MAX;
    };
    let step = duration_ns(interval).max(1);
    let next = due_ns.saturating_add(step);
    if next <= now_ns {
        now_ns.saturating_add(step)
    } else {
        next
    }
}

/// Classify an I/O error, recognising a TLS failure wrapped inside it.
fn io_error(e: io::Error) -> WsError {
    if let Some(tls) = tls_failure(&e) {
        return WsError::Tls(tls.clone());
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        // TLS: the TCP connection ended without close_notify.
        return WsError::PeerReset;
    }
    WsError::Io(e)
}

/// Classify a tungstenite error from an open connection.
fn map_ws_error(e: tungstenite::Error, options: &WsOptions) -> WsError {
    use tungstenite::Error as E;
    match e {
        E::Io(e) => io_error(e),
        E::Capacity(CapacityError::MessageTooLong { size, max_size }) => WsError::MessageTooLarge {
            size,
            limit: max_size,
        },
        E::Capacity(CapacityError::TooManyHeaders) => WsError::MessageTooLarge {
            size: 0,
            limit: options.max_message_bytes,
        },
        E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => WsError::PeerReset,
        E::Protocol(p) => WsError::Protocol(p),
        E::Utf8(_) => WsError::InvalidUtf8,
        E::ConnectionClosed | E::AlreadyClosed => WsError::PeerClosed { code: 1005 },
        other => WsError::Handshake(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_does_not_burst_after_a_stall() {
        let s = Some(Duration::from_millis(10));
        assert_eq!(advance_schedule(100, 100, s), 10_000_100);
        assert_eq!(advance_schedule(100, 50_000_000, s), 60_000_000);
        assert_eq!(advance_schedule(100, 100, None), u64::MAX);
    }

    #[test]
    fn error_classification_is_typed() {
        let o = WsOptions::default();
        let e = map_ws_error(
            tungstenite::Error::Capacity(CapacityError::MessageTooLong {
                size: 10,
                max_size: 5,
            }),
            &o,
        );
        assert!(matches!(e, WsError::MessageTooLarge { size: 10, limit: 5 }));
        assert_eq!(e.drop_reason(), DropReason::Protocol);
        assert_eq!(e.protocol_code(), Some(1009));
        let e = map_ws_error(
            tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake),
            &o,
        );
        assert!(matches!(e, WsError::PeerReset));
        let tls = io::Error::new(
            io::ErrorKind::InvalidData,
            crate::net::tls::TlsFailure(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        );
        assert!(matches!(io_error(tls), WsError::Tls(_)));
    }
}
