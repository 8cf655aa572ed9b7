//! Hand-rolled HTTP/1.1 keep-alive client for the hot thread, over any [`Transport`]
//! (plain TCP in tests, TLS in the engine).
//!
//! Layers, one concept per file:
//! * [`request`]: renders a request (method, path, `Host` + fixed headers, per-request extra
//!   headers such as the Polymarket L2 `POLY_*` auth headers, `Content-Length`, body) into a
//!   pre-sized buffer. No allocation, no formatting.
//! * [`response`]: incremental response parser (httparse) over one reused read buffer:
//!   `Content-Length`, chunked (extensions, trailers) and read-until-close bodies, reads split
//!   anywhere, head/body size limits, typed errors for truncation.
//! * [`conn`]: one connection's state machine (connecting → idle → in flight → idle/closed),
//!   readiness-driven, one request in flight (no pipelining).
//! * [`pool`]: N warm keep-alive connections per host, per-request timeouts by time, background
//!   replacement with reconnect backoff ([`crate::net::backoff`]) through a [`pool::Connect`]
//!   abstraction ([`pool::TcpConnector`], [`pool::TlsConnector`]); connection events counted in
//!   [`crate::net::counters::NetCounters`], request outcomes in [`pool::HttpCounters`].
//!
//! Invariants: nothing blocks; after warm-up nothing allocates (buffers belong to the pool's slots
//! and survive reconnects); peer input never panics, it yields an [`HttpError`] that is counted;
//! a connection whose state is unknown (timeout, truncation, protocol error) is discarded and
//! replaced, never reused.
//!
//! [`Transport`]: crate::net::transport::Transport

pub mod blocking;
pub mod conn;
pub mod pool;
pub mod request;
pub mod response;

pub use conn::HttpConn;
pub use pool::{Connect, HttpCounters, HttpPool, PoolConfig, TcpConnector, TlsConnector};
pub use request::{Method, Request, RequestTemplate};
pub use response::{ResponseParser, ResponseView};

use std::io;

/// Identifies one request submitted to a pool; its outcome carries the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// Where in a response a peer's close cut it short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Some bytes of the status line / headers arrived, not the blank line ending them.
    Head,
    /// The head was complete, the body was not.
    Body,
}

/// Everything that can go wrong building a request or receiving its response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// No complete response before the request's deadline; the connection was discarded.
    #[error("request timed out")]
    Timeout,
    /// The peer closed the connection before sending any byte of the response.
    #[error("connection closed before any response byte")]
    ClosedBeforeResponse,
    /// The peer closed the connection in the middle of the response.
    #[error("response truncated during {0:?}")]
    Truncated(Stage),
    /// The response head exceeded the configured limit.
    #[error("response head larger than the limit")]
    HeadTooLarge,
    /// More response headers than the parser has slots for.
    #[error("too many response headers")]
    TooManyHeaders,
    /// The status line or a header line is not valid HTTP/1.x (or an unrequested upgrade).
    #[error("malformed response head")]
    MalformedHead,
    /// `Content-Length` is not a decimal number, or two differ.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// A chunk-size line, chunk terminator or trailer is malformed.
    #[error("invalid chunked encoding")]
    InvalidChunk,
    /// A chunk-size line or trailer line exceeded the line limit.
    #[error("chunk-size or trailer line too long")]
    ChunkLineTooLong,
    /// The response body exceeded the configured limit.
    #[error("response body larger than the limit")]
    BodyTooLarge,
    /// A socket error.
    #[error("i/o error: {0:?}")]
    Io(io::ErrorKind),
    /// A TLS failure (certificate, alert, decrypt error).
    #[error("TLS failure")]
    Tls,
    /// The rendered request does not fit the pre-sized write buffer.
    #[error("request larger than the write buffer")]
    RequestTooLarge,
    /// The method/path or a header name/value would break the request framing (CR, LF, space
    /// in the path, empty or non-token header name).
    #[error("invalid request line or header")]
    InvalidRequest,
    /// Every connection is busy, connecting or down; nothing was sent.
    #[error("no idle warm connection")]
    NoIdleConnection,
}

impl From<io::Error> for HttpError {
    fn from(e: io::Error) -> Self {
        if crate::net::tls::tls_failure(&e).is_some() {
            HttpError::Tls
        } else {
            HttpError::Io(e.kind())
        }
    }
}
