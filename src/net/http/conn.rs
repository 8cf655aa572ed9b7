//! One HTTP/1.1 keep-alive connection: a state machine over a [`Transport`] that owns its
//! pre-sized write buffer and response parser, and keeps them across reconnects.
//!
//! States: `Down` (no transport) → `Connecting` (TCP connect and/or TLS handshake in progress)
//! → `Idle` (warm, ready) → `InFlight` (request being written / response being read) → `Idle`
//! again when the response allows reuse. Everything is readiness-driven: [`HttpConn::on_ready`]
//! is called when mio reports the socket ready (edge-triggered: it reads until `WouldBlock`),
//! [`HttpConn::on_timer`] when time passes. Both return a [`ConnEvent`]; deciding to close and
//! replace the connection is the owner's job (see [`super::pool`]).
//!
//! Invariants: at most one request in flight; no allocation after construction; bytes arriving
//! on an idle connection, a timeout, a truncated or malformed response all end the
//! connection's life (its framing state is unknown).

use std::io;

use mio::{Interest, Registry, Token};

use super::request::{Method, Request, RequestTemplate};
use super::response::{ResponseParser, ResponseView};
use super::{HttpError, RequestId, Stage};
use crate::net::tcp::{self, ConnectProgress};
use crate::net::transport::Transport;

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// No transport.
    Down,
    /// Transport attached, not yet usable; given up at `deadline_ns`.
    Connecting {
        /// Connect/handshake deadline (monotonic ns).
        deadline_ns: u64,
    },
    /// Warm and ready for a request.
    Idle,
    /// One request in flight.
    InFlight {
        /// The request's id.
        id: RequestId,
        /// Response deadline (monotonic ns).
        deadline_ns: u64,
        /// Request bytes handed to the transport so far.
        written: usize,
    },
}

/// What a readiness or timer step produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnEvent {
    /// Nothing the owner must act on.
    Nothing,
    /// The connection finished connecting and is now idle.
    Established,
    /// Connecting or handshaking failed (or timed out); the connection must be closed.
    ConnectFailed(HttpError),
    /// The response to `RequestId` is complete: read it with [`HttpConn::response`], then call
    /// [`HttpConn::finish_response`].
    Response(RequestId),
    /// The request failed; the connection must be closed.
    Failed(RequestId, HttpError),
    /// An idle connection was closed by the peer (or sent bytes nobody asked for); it must be
    /// closed.
    IdleLost(HttpError),
}

/// One keep-alive connection slot. See the module docs.
pub struct HttpConn<T> {
    token: Token,
    transport: Option<T>,
    state: ConnState,
    write_buf: Vec<u8>,
    parser: ResponseParser,
}

impl<T: Transport> HttpConn<T> {
    /// A `Down` connection that will register its sockets under `token`. Allocates its buffers
    /// (requests up to `max_request` bytes; response limits as in [`ResponseParser::new`]).
    pub fn new(token: Token, max_request: usize, max_head: usize, max_body: usize) -> Self {
        Self {
            token,
            transport: None,
            state: ConnState::Down,
            write_buf: Vec::with_capacity(max_request),
            parser: ResponseParser::new(max_head, max_body),
        }
    }

    /// Current state.
    #[inline]
    pub fn state(&self) -> ConnState {
        self.state
    }

    /// The mio token this connection's socket is registered under.
    #[inline]
    pub fn token(&self) -> Token {
        self.token
    }

    /// Take ownership of a freshly started transport, register it and start connecting.
    #[cold]
    pub fn attach(
        &mut self,
        mut transport: T,
        registry: &Registry,
        deadline_ns: u64,
    ) -> io::Result<()> {
        registry.register(
            transport.socket(),
            self.token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        self.transport = Some(transport);
        self.state = ConnState::Connecting { deadline_ns };
        Ok(())
    }

    /// Deregister and drop the transport; the connection is `Down`.
    #[cold]
    pub fn close(&mut self, registry: &Registry) {
        if let Some(mut transport) = self.transport.take() {
            // The socket is being dropped anyway; a failed deregister changes nothing.
            let _ = registry.deregister(transport.socket());
        }
        self.state = ConnState::Down;
    }

    /// Render `req` and start writing it. Only on an `Idle` connection. On
    /// [`HttpError::InvalidRequest`]/[`HttpError::RequestTooLarge`] nothing was sent and the
    /// connection stays idle; on an I/O error the connection must be closed (`Err` carries
    /// whether any byte had been accepted by the transport).
    pub fn start(
        &mut self,
        id: RequestId,
        template: &RequestTemplate,
        req: &Request<'_>,
        deadline_ns: u64,
    ) -> Result<(), (HttpError, bool)> {
        if self.state != ConnState::Idle {
            return Err((HttpError::NoIdleConnection, false));
        }
        template
            .write(req, &mut self.write_buf)
            .map_err(|e| (e, false))?;
        self.parser.reset(req.method == Method::Head);
        self.state = ConnState::InFlight {
            id,
            deadline_ns,
            written: 0,
        };
        match self.pump_write() {
            Ok(()) => Ok(()),
            Err(e) => {
                let sent = matches!(self.state, ConnState::InFlight { written, .. } if written > 0);
                Err((e, sent))
            }
        }
    }

    /// An idle connection runs its transport's per-write work over `scratch`
    /// ([`Transport::warm_seal`]); nothing is written. Returns whether it was idle.
    #[inline]
    pub fn warm_seal(&mut self, scratch: &mut [u8]) -> bool {
        match (self.state, self.transport.as_mut()) {
            (ConnState::Idle, Some(t)) => {
                t.warm_seal(scratch);
                true
            }
            _ => false,
        }
    }

    /// The socket is (or may be) ready: make all the progress possible without blocking.
    pub fn on_ready(&mut self) -> ConnEvent {
        match self.state {
            ConnState::Down => ConnEvent::Nothing,
            ConnState::Connecting { .. } => self.progress_connect(),
            ConnState::Idle => self.check_idle(),
            ConnState::InFlight { id, .. } => {
                if let Err(e) = self.pump_write() {
                    return ConnEvent::Failed(id, e);
                }
                match self.pump_read() {
                    Ok(true) => ConnEvent::Response(id),
                    Ok(false) => ConnEvent::Nothing,
                    Err(e) => ConnEvent::Failed(id, e),
                }
            }
        }
    }

    /// Time is `now_ns`: report an expired request or connect deadline.
    #[inline]
    pub fn on_timer(&mut self, now_ns: u64) -> ConnEvent {
        match self.state {
            ConnState::InFlight {
                id, deadline_ns, ..
            } if now_ns >= deadline_ns => ConnEvent::Failed(id, HttpError::Timeout),
            ConnState::Connecting { deadline_ns } if now_ns >= deadline_ns => {
                ConnEvent::ConnectFailed(HttpError::Timeout)
            }
            _ => ConnEvent::Nothing,
        }
    }

    /// The complete response (after [`ConnEvent::Response`]); valid until the next call that
    /// takes `&mut self`.
    #[inline]
    pub fn response(&self) -> ResponseView<'_> {
        self.parser.view()
    }

    /// Done with the response: back to `Idle` and `true` when the connection may be reused,
    /// `false` when the owner must close it (`Connection: close`, read-until-close body, or a
    /// response that arrived before the whole request was written).
    #[inline]
    pub fn finish_response(&mut self) -> bool {
        let request_written = match self.state {
            ConnState::InFlight { written, .. } => written >= self.write_buf.len(),
            _ => true,
        };
        if self.parser.keep_alive() && request_written {
            self.parser.reset(false);
            self.state = ConnState::Idle;
            true
        } else {
            false
        }
    }

    #[cold]
    fn progress_connect(&mut self) -> ConnEvent {
        let Some(transport) = self.transport.as_mut() else {
            return ConnEvent::ConnectFailed(HttpError::Io(io::ErrorKind::NotConnected));
        };
        match tcp::poll_connect(transport.socket()) {
            Ok(ConnectProgress::Connected) => {}
            Ok(ConnectProgress::Pending) => return ConnEvent::Nothing,
            Err(e) => return ConnEvent::ConnectFailed(e.into()),
        }
        // TCP is up; drive a TLS handshake (if any) with flushes and reads. A read that would
        // block may still have completed the handshake, hence one more round after it.
        for _ in 0..3 {
            match transport.flush_pending() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return ConnEvent::ConnectFailed(e.into()),
            }
            if !transport.is_handshaking() {
                self.state = ConnState::Idle;
                self.parser.reset(false);
                return ConnEvent::Established;
            }
            match transport.read(self.parser.spare()) {
                Ok(0) => return ConnEvent::ConnectFailed(HttpError::ClosedBeforeResponse),
                // Application data before the handshake finished: nothing was asked for.
                Ok(_) => return ConnEvent::ConnectFailed(HttpError::MalformedHead),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if transport.is_handshaking() {
                        return ConnEvent::Nothing;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return ConnEvent::ConnectFailed(e.into()),
            }
        }
        ConnEvent::Nothing
    }

    /// An idle connection became readable: only a close or junk can be waiting.
    fn check_idle(&mut self) -> ConnEvent {
        let Some(transport) = self.transport.as_mut() else {
            return ConnEvent::Nothing;
        };
        self.parser.reset(false);
        loop {
            match transport.read(self.parser.spare()) {
                Ok(0) => return ConnEvent::IdleLost(HttpError::ClosedBeforeResponse),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return ConnEvent::IdleLost(HttpError::ClosedBeforeResponse)
                }
                Ok(_) => return ConnEvent::IdleLost(HttpError::MalformedHead),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ConnEvent::Nothing,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return ConnEvent::IdleLost(e.into()),
            }
        }
    }

    /// Hand unwritten request bytes to the transport and flush it.
    fn pump_write(&mut self) -> Result<(), HttpError> {
        let ConnState::InFlight { written, .. } = &mut self.state else {
            return Ok(());
        };
        let Some(transport) = self.transport.as_mut() else {
            return Err(HttpError::Io(io::ErrorKind::NotConnected));
        };
        while let Some(rest) = self.write_buf.get(*written..).filter(|r| !r.is_empty()) {
            match transport.write(rest) {
                Ok(0) => return Err(HttpError::Io(io::ErrorKind::WriteZero)),
                Ok(n) => *written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        match transport.flush_pending() {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Read until `WouldBlock`, end of stream or a complete response. `Ok(true)`: complete.
    fn pump_read(&mut self) -> Result<bool, HttpError> {
        let Some(transport) = self.transport.as_mut() else {
            return Err(HttpError::Io(io::ErrorKind::NotConnected));
        };
        while !self.parser.is_complete() {
            let spare = self.parser.spare();
            if spare.is_empty() {
                return Err(HttpError::BodyTooLarge);
            }
            match transport.read(spare) {
                Ok(0) => {
                    self.parser.on_eof()?;
                    return Ok(true);
                }
                Ok(n) => {
                    if self.parser.advance(n)? {
                        return Ok(true);
                    }
                }
                // TLS: TCP closed without close_notify. Framed bodies are truncated either way;
                // a read-until-close body cannot be trusted complete without close_notify.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.parser.on_eof()?;
                    return Err(HttpError::Truncated(Stage::Body));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }
}
