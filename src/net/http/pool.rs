//! A pool of N warm keep-alive connections to one host.
//!
//! [`HttpPool::send`] puts a request on the first idle warm connection (lowest slot first, so
//! one connection stays hot and the rest are standbys) and returns its [`RequestId`]; the
//! response or failure is handed to the caller's callback from [`HttpPool::on_ready`] (socket
//! readiness from mio) or [`HttpPool::on_timer`] (deadlines), as a borrowed [`ResponseView`]
//! valid only inside the callback. Connections that fail, time out, close or cannot be reused
//! are discarded and replaced in the background through a [`Connect`]or, with per-slot jittered
//! [`Backoff`] after consecutive failures (a connection that served a response or lived
//! `stable_after_ns` is healthy: its replacement starts at once). Connects, drops, reconnects
//! and TLS errors are counted in [`NetCounters`]; request outcomes in [`HttpCounters`].
//!
//! Invariants: never blocks; no allocation after construction (requests are rendered into each
//! slot's own pre-sized buffer; parsers and buffers survive reconnects); requests are not
//! queued (no idle connection is [`HttpError::NoIdleConnection`]) and never resent: a request
//! whose outcome is unknown (timeout, connection lost after writing) is reported as such.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use mio::{Registry, Token};
use rustls::ClientConfig;

use super::conn::{ConnEvent, ConnState, HttpConn};
use super::request::{Request, RequestTemplate};
use super::response::ResponseView;
use super::{HttpError, RequestId};
use crate::net::backoff::{Backoff, BackoffPolicy};
use crate::net::counters::{DropReason, EventRing, NetCounters, NetEvent, NetEventKind};
use crate::net::tcp;
use crate::net::tls::TlsStream;
use crate::net::transport::Transport;

/// Starts new connections to the pool's host. `connect` must not block: it starts a
/// non-blocking TCP connect (and TLS client) to an address resolved beforehand, off the hot
/// path. The returned transport may still be connecting or handshaking.
pub trait Connect<T: Transport> {
    /// Start one new connection.
    fn connect(&mut self) -> io::Result<T>;
}

/// Plain TCP to a resolved address ([`tcp::connect`]: non-blocking, `TCP_NODELAY`).
#[derive(Clone, Copy, Debug)]
pub struct TcpConnector {
    /// Where to connect.
    pub addr: SocketAddr,
}

impl Connect<mio::net::TcpStream> for TcpConnector {
    #[cold]
    fn connect(&mut self) -> io::Result<mio::net::TcpStream> {
        tcp::connect(self.addr)
    }
}

/// TLS over TCP to a resolved address, verifying the certificate for `server_name`.
#[derive(Clone)]
pub struct TlsConnector {
    /// Where to connect.
    pub addr: SocketAddr,
    /// Shared client configuration (roots, provider).
    pub config: Arc<ClientConfig>,
    /// Host name the certificate must carry (also sent as SNI).
    pub server_name: String,
}

impl Connect<TlsStream> for TlsConnector {
    #[cold]
    fn connect(&mut self) -> io::Result<TlsStream> {
        let socket = tcp::connect(self.addr)?;
        TlsStream::new(socket, Arc::clone(&self.config), &self.server_name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }
}

/// Pool sizing, limits and timeouts.
#[derive(Clone, Copy, Debug)]
pub struct PoolConfig {
    /// Warm connections kept (N).
    pub connections: usize,
    /// Slot `i` registers under `Token(token_base + i)`.
    pub token_base: usize,
    /// Default time from `send` to a complete response.
    pub request_timeout_ns: u64,
    /// Time allowed for a TCP connect plus TLS handshake.
    pub connect_timeout_ns: u64,
    /// A connection that lived this long (or served a response) counts as healthy when it drops:
    /// its replacement starts at once instead of after a backoff delay.
    pub stable_after_ns: u64,
    /// Largest rendered request (write buffer capacity per slot).
    pub max_request_bytes: usize,
    /// Largest response head.
    pub max_head_bytes: usize,
    /// Largest response body.
    pub max_body_bytes: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            connections: 2,
            token_base: 0,
            request_timeout_ns: 5_000_000_000,
            connect_timeout_ns: 3_000_000_000,
            stable_after_ns: 1_000_000_000,
            max_request_bytes: 16 * 1024,
            max_head_bytes: 16 * 1024,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// Event counters (plain integers: the pool lives on one thread).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HttpCounters {
    /// Connection attempts started (first connects and reconnects).
    pub connects_started: u64,
    /// Idle connections closed by the peer (or sent unsolicited bytes).
    pub idle_lost: u64,
    /// Connections closed after a response that forbade reuse (`Connection: close`, ...).
    pub closed_after_response: u64,
    /// Requests handed to a connection.
    pub requests_sent: u64,
    /// Complete responses delivered.
    pub responses: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Responses cut short by the peer closing.
    pub truncated: u64,
    /// Connections closed before any response byte.
    pub closed_before_response: u64,
    /// Malformed or oversized heads, bad framing.
    pub protocol_errors: u64,
    /// Bodies over the limit.
    pub body_too_large: u64,
    /// Socket errors on established connections.
    pub io_errors: u64,
    /// TLS failures on established connections.
    pub tls_errors: u64,
    /// Requests refused before sending (invalid or too large).
    pub requests_refused: u64,
    /// `send` calls that found no idle connection.
    pub no_idle: u64,
}

impl HttpCounters {
    fn count_failure(&mut self, e: HttpError) {
        let counter = match e {
            HttpError::Timeout => &mut self.timeouts,
            HttpError::Truncated(_) => &mut self.truncated,
            HttpError::ClosedBeforeResponse => &mut self.closed_before_response,
            HttpError::BodyTooLarge => &mut self.body_too_large,
            HttpError::Io(_) => &mut self.io_errors,
            HttpError::Tls => &mut self.tls_errors,
            HttpError::HeadTooLarge
            | HttpError::TooManyHeaders
            | HttpError::MalformedHead
            | HttpError::InvalidContentLength
            | HttpError::InvalidChunk
            | HttpError::ChunkLineTooLong => &mut self.protocol_errors,
            HttpError::RequestTooLarge | HttpError::InvalidRequest => &mut self.requests_refused,
            HttpError::NoIdleConnection => &mut self.no_idle,
        };
        *counter += 1;
    }
}

/// Per-slot reconnect bookkeeping.
#[derive(Clone, Debug)]
struct SlotLife {
    /// When a `Down` slot may start its next connect.
    retry_at_ns: u64,
    /// Jittered delays after consecutive failed (or short-lived) connections.
    backoff: Backoff,
    /// A connect was ever started on this slot.
    ever_started: bool,
    established_at_ns: u64,
    served: bool,
}

/// N warm keep-alive connections to one host. See the module docs.
pub struct HttpPool<T, C> {
    conns: Vec<HttpConn<T>>,
    lives: Vec<SlotLife>,
    template: RequestTemplate,
    connector: C,
    registry: Registry,
    config: PoolConfig,
    next_id: u64,
    counters: HttpCounters,
    net: NetCounters,
    /// Connection events kept for the owner to forward to the telemetry thread.
    events: EventRing,
    /// Scratch for [`warm_request`](Self::warm_request) (`max_request_bytes`).
    warm_buf: Vec<u8>,
}

impl<T: Transport, C: Connect<T>> HttpPool<T, C> {
    /// A pool with every slot `Down` and due to connect on the first [`on_timer`](Self::on_timer).
    /// Allocates all buffers now; clones `registry` to register replacement sockets later. Slot
    /// `i`'s backoff jitter is seeded with its token, so runs repeat and slots differ.
    pub fn new(
        config: PoolConfig,
        template: RequestTemplate,
        connector: C,
        backoff: BackoffPolicy,
        registry: &Registry,
    ) -> io::Result<Self> {
        let conns = (0..config.connections)
            .map(|i| {
                HttpConn::new(
                    Token(config.token_base + i),
                    config.max_request_bytes,
                    config.max_head_bytes,
                    config.max_body_bytes,
                )
            })
            .collect();
        Ok(Self {
            conns,
            lives: (0..config.connections)
                .map(|i| SlotLife {
                    retry_at_ns: 0,
                    backoff: Backoff::new(backoff, (config.token_base + i) as u64),
                    ever_started: false,
                    established_at_ns: 0,
                    served: false,
                })
                .collect(),
            template,
            connector,
            registry: registry.try_clone()?,
            warm_buf: Vec::with_capacity(config.max_request_bytes),
            config,
            next_id: 1,
            counters: HttpCounters::default(),
            net: NetCounters::default(),
            events: EventRing::default(),
        })
    }

    /// Send `req` with the configured timeout. See [`send_with_timeout`](Self::send_with_timeout).
    #[inline]
    pub fn send(&mut self, req: &Request<'_>, now_ns: u64) -> Result<RequestId, HttpError> {
        self.send_with_timeout(req, now_ns, self.config.request_timeout_ns)
    }

    /// Render `req` onto the first idle connection and start writing it; its outcome arrives
    /// later through the callback with the returned id. Errors: no idle connection; invalid or
    /// too-large request (nothing sent); an I/O error after part of the request was handed to
    /// the transport (outcome unknown; the connection is replaced). A connection found dead
    /// before any byte was accepted is replaced and the next idle one tried.
    pub fn send_with_timeout(
        &mut self,
        req: &Request<'_>,
        now_ns: u64,
        timeout_ns: u64,
    ) -> Result<RequestId, HttpError> {
        let deadline_ns = now_ns.saturating_add(timeout_ns);
        for i in 0..self.conns.len() {
            let Some(conn) = self.conns.get_mut(i) else {
                break;
            };
            if conn.state() != ConnState::Idle {
                continue;
            }
            let id = RequestId(self.next_id);
            match conn.start(id, &self.template, req, deadline_ns) {
                Ok(()) => {
                    self.next_id += 1;
                    self.counters.requests_sent += 1;
                    return Ok(id);
                }
                Err((e @ (HttpError::InvalidRequest | HttpError::RequestTooLarge), _)) => {
                    self.counters.count_failure(e);
                    return Err(e);
                }
                Err((e, any_sent)) => {
                    self.counters.count_failure(e);
                    self.drop_conn(i, now_ns, drop_reason(e));
                    if any_sent {
                        self.next_id += 1;
                        self.counters.requests_sent += 1;
                        return Err(e);
                    }
                }
            }
        }
        self.counters.count_failure(HttpError::NoIdleConnection);
        Err(HttpError::NoIdleConnection)
    }

    /// Render `req` into a scratch buffer as [`send_with_timeout`](Self::send_with_timeout) would and
    /// run the first idle connection's per-write work (TLS sealing) over that, sending nothing:
    /// keeps the request path in cache on a thread that sends rarely. `false` when the request
    /// does not render or no connection is idle.
    pub fn warm_request(&mut self, req: &Request<'_>) -> bool {
        let scratch = &mut self.warm_buf;
        if self.template.write(req, scratch).is_err() {
            return false;
        }
        self.conns.iter_mut().any(|c| c.warm_seal(scratch))
    }

    /// mio reported `token` ready. Returns `false` when the token is not this pool's.
    pub fn on_ready<F>(&mut self, token: Token, now_ns: u64, on_done: &mut F) -> bool
    where
        F: FnMut(RequestId, Result<ResponseView<'_>, HttpError>),
    {
        let Some(i) = token.0.checked_sub(self.config.token_base) else {
            return false;
        };
        let Some(conn) = self.conns.get_mut(i) else {
            return false;
        };
        let event = conn.on_ready();
        self.handle(i, event, now_ns, on_done);
        true
    }

    /// Service every connection as if ready (for loops that poll without readiness events, or
    /// after an event burst was lost).
    pub fn poll_all<F>(&mut self, now_ns: u64, on_done: &mut F)
    where
        F: FnMut(RequestId, Result<ResponseView<'_>, HttpError>),
    {
        for i in 0..self.conns.len() {
            if let Some(conn) = self.conns.get_mut(i) {
                let event = conn.on_ready();
                self.handle(i, event, now_ns, on_done);
            }
        }
    }

    /// Time is `now_ns`: expire requests ([`HttpError::Timeout`]) and connects, and start due
    /// reconnects. Call it every loop iteration (it is a few comparisons per slot).
    pub fn on_timer<F>(&mut self, now_ns: u64, on_done: &mut F)
    where
        F: FnMut(RequestId, Result<ResponseView<'_>, HttpError>),
    {
        for i in 0..self.conns.len() {
            let Some(conn) = self.conns.get_mut(i) else {
                break;
            };
            let event = conn.on_timer(now_ns);
            self.handle(i, event, now_ns, on_done);
            let due = self
                .lives
                .get(i)
                .is_some_and(|life| now_ns >= life.retry_at_ns);
            if due && self.conns.get(i).map(HttpConn::state) == Some(ConnState::Down) {
                self.start_connect(i, now_ns);
            }
        }
    }

    /// The earliest deadline or reconnect time, for a caller that sleeps in `poll`.
    pub fn next_deadline_ns(&self) -> Option<u64> {
        self.conns
            .iter()
            .zip(&self.lives)
            .filter_map(|(conn, life)| match conn.state() {
                ConnState::Down => Some(life.retry_at_ns),
                ConnState::Connecting { deadline_ns } => Some(deadline_ns),
                ConnState::InFlight { deadline_ns, .. } => Some(deadline_ns),
                ConnState::Idle => None,
            })
            .min()
    }

    /// Connections ready for a request now.
    pub fn idle_count(&self) -> usize {
        self.conns
            .iter()
            .filter(|c| c.state() == ConnState::Idle)
            .count()
    }

    /// Requests awaiting their outcome.
    pub fn in_flight_count(&self) -> usize {
        self.conns
            .iter()
            .filter(|c| matches!(c.state(), ConnState::InFlight { .. }))
            .count()
    }

    /// State of slot `i` (`None` past the pool size).
    pub fn conn_state(&self, i: usize) -> Option<ConnState> {
        self.conns.get(i).map(HttpConn::state)
    }

    /// Request-outcome counters so far.
    #[inline]
    pub fn counters(&self) -> &HttpCounters {
        &self.counters
    }

    /// Connection-lifecycle counters so far (connects, failures, drops, reconnects, TLS).
    #[inline]
    pub fn net_counters(&self) -> &NetCounters {
        &self.net
    }

    /// Hand every connect/drop/reconnect/failure event since the last call to `sink` (oldest
    /// first), for the telemetry thread. At most 16 are kept; older ones are counted as lost.
    pub fn drain_events(&mut self, sink: impl FnMut(NetEvent)) {
        self.events.drain(sink);
    }

    /// Events overwritten before [`drain_events`](Self::drain_events) collected them.
    pub fn events_lost(&self) -> u64 {
        self.events.lost()
    }

    /// The configuration the pool was built with.
    #[inline]
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    fn handle<F>(&mut self, i: usize, event: ConnEvent, now_ns: u64, on_done: &mut F)
    where
        F: FnMut(RequestId, Result<ResponseView<'_>, HttpError>),
    {
        match event {
            ConnEvent::Nothing => {}
            ConnEvent::Established => {
                self.record(i, NetEventKind::Connected, now_ns);
                if let Some(life) = self.lives.get_mut(i) {
                    life.established_at_ns = now_ns;
                    life.served = false;
                }
            }
            ConnEvent::ConnectFailed(e) => {
                self.record(i, NetEventKind::ConnectFailed, now_ns);
                if e == HttpError::Tls {
                    self.net.tls_errors += 1;
                }
                if let Some(conn) = self.conns.get_mut(i) {
                    conn.close(&self.registry);
                }
                self.schedule_retry(i, now_ns, false);
            }
            ConnEvent::Response(id) => {
                self.counters.responses += 1;
                let Some(conn) = self.conns.get_mut(i) else {
                    return;
                };
                on_done(id, Ok(conn.response()));
                let reusable = conn.finish_response();
                if let Some(life) = self.lives.get_mut(i) {
                    life.served = true;
                }
                if !reusable {
                    self.counters.closed_after_response += 1;
                    self.drop_conn(i, now_ns, DropReason::Local);
                }
            }
            ConnEvent::Failed(id, e) => {
                self.counters.count_failure(e);
                if e != HttpError::Timeout {
                    self.net.http_errors += 1;
                }
                on_done(id, Err(e));
                self.drop_conn(i, now_ns, drop_reason(e));
            }
            ConnEvent::IdleLost(e) => {
                self.counters.idle_lost += 1;
                self.drop_conn(i, now_ns, drop_reason(e));
            }
        }
    }

    #[inline]
    fn record(&mut self, i: usize, kind: NetEventKind, now_ns: u64) {
        let conn_id = (self.config.token_base + i) as u16;
        let event = NetEvent::new(conn_id, kind, now_ns);
        self.net.record(&event);
        self.events.push(event);
    }

    /// Discard an established connection and schedule its replacement.
    #[cold]
    fn drop_conn(&mut self, i: usize, now_ns: u64, reason: DropReason) {
        self.record(i, NetEventKind::Dropped(reason), now_ns);
        if let Some(conn) = self.conns.get_mut(i) {
            conn.close(&self.registry);
        }
        let healthy = self.lives.get(i).is_some_and(|life| {
            life.served
                || now_ns.saturating_sub(life.established_at_ns) >= self.config.stable_after_ns
        });
        self.schedule_retry(i, now_ns, healthy);
    }

    #[cold]
    fn schedule_retry(&mut self, i: usize, now_ns: u64, healthy: bool) {
        let Some(life) = self.lives.get_mut(i) else {
            return;
        };
        if healthy {
            life.backoff.reset();
            life.retry_at_ns = now_ns;
        } else {
            life.retry_at_ns = now_ns.saturating_add(life.backoff.next_delay_ns());
        }
    }

    #[cold]
    fn start_connect(&mut self, i: usize, now_ns: u64) {
        self.counters.connects_started += 1;
        let reconnect = self.lives.get_mut(i).is_some_and(|life| {
            let again = life.ever_started;
            life.ever_started = true;
            again
        });
        if reconnect {
            self.record(i, NetEventKind::Reconnecting, now_ns);
        }
        let deadline_ns = now_ns.saturating_add(self.config.connect_timeout_ns);
        let attached = match self.connector.connect() {
            Ok(transport) => match self.conns.get_mut(i) {
                Some(conn) => conn.attach(transport, &self.registry, deadline_ns),
                None => return,
            },
            Err(e) => Err(e),
        };
        if attached.is_err() {
            self.record(i, NetEventKind::ConnectFailed, now_ns);
            self.schedule_retry(i, now_ns, false);
        }
    }
}

/// How a request/connection failure maps to a [`DropReason`].
fn drop_reason(e: HttpError) -> DropReason {
    match e {
        HttpError::ClosedBeforeResponse | HttpError::Truncated(_) => DropReason::PeerClosed,
        HttpError::Io(_) => DropReason::Io,
        HttpError::Tls => DropReason::Tls,
        HttpError::Timeout => DropReason::Watchdog,
        _ => DropReason::Protocol,
    }
}
