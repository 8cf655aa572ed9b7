//! Blocking HTTP GET for discovery, on the risk thread: the [`Fetch`] abstraction the worker
//! uses, and [`HttpFetch`], an implementation on the crate's keep-alive client
//! ([`HttpPool`]) driven by its own small `mio::Poll` loop (one warm connection per host).
//!
//! Invariants: a `get` returns within `connect_timeout + request_timeout` (plus one poll slice)
//! whatever the peer does; it never runs on the hot thread (it blocks in `poll`); a response
//! for an earlier, abandoned request is never mistaken for the current one (request ids are
//! matched); the connection is replaced by the pool after any failure.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mio::{Events, Poll};
use rustls::ClientConfig;

use crate::net::backoff::BackoffPolicy;
use crate::net::dns::{DnsError, Endpoint, UrlError};
use crate::net::http::blocking::{drive, Deadlines, DriveError};
use crate::net::http::{
    Connect, HttpCounters, HttpError, HttpPool, Method, PoolConfig, Request, RequestTemplate,
};
use crate::net::tls::MaybeTls;
use crate::net::transport::Transport;

/// One HTTP GET to a fixed host.
pub trait Fetch {
    /// GET `url_path` (origin form: `/events?slug=...`); the status and body on any complete
    /// response (including 4xx/5xx), an error when no complete response arrived.
    fn get(&mut self, url_path: &str) -> Result<(u16, Vec<u8>), FetchError>;
}

/// Why no response was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The request was sent but no complete response arrived in time.
    #[error("request timed out")]
    Timeout,
    /// No connection to the host could be established before the deadline.
    #[error("host unreachable before the deadline")]
    Unreachable,
    /// The exchange failed (connection lost, malformed response, body too large, ...).
    #[error("http: {0}")]
    Http(HttpError),
    /// The poll loop itself failed.
    #[error("poll failed: {0:?}")]
    Poll(io::ErrorKind),
}

/// Limits of an [`HttpFetch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchConfig {
    /// TCP connect + TLS handshake deadline.
    pub connect_timeout: Duration,
    /// Send-to-complete-response deadline.
    pub request_timeout: Duration,
    /// Largest response body accepted (Gamma events are a few kB).
    pub max_body_bytes: usize,
}

/// Why an [`HttpFetch`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FetchSetupError {
    /// Bad base URL.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// Name resolution failed.
    #[error(transparent)]
    Dns(#[from] DnsError),
    /// Poll or socket set-up failed.
    #[error("set-up: {0}")]
    Io(#[from] io::Error),
    /// The host header is unusable.
    #[error("request template: {0}")]
    Http(HttpError),
}

/// Plain TCP or TLS (by URL scheme) to a resolved address.
#[derive(Clone)]
pub struct UrlConnector {
    /// Where to connect.
    pub addr: SocketAddr,
    /// TLS configuration and server name; `None` for `http://`.
    pub tls: Option<(Arc<ClientConfig>, String)>,
}

impl Connect<MaybeTls> for UrlConnector {
    #[cold]
    fn connect(&mut self) -> io::Result<MaybeTls> {
        let tls = self
            .tls
            .as_ref()
            .map(|(config, name)| (Arc::clone(config), name.as_str()));
        MaybeTls::connect(self.addr, tls).map_err(|e| io::Error::other(e.to_string()))
    }
}

/// A blocking GET client over one keep-alive connection. See the module docs.
pub struct HttpFetch<T, C> {
    poll: Poll,
    events: Events,
    pool: HttpPool<T, C>,
    base_path: String,
    config: FetchConfig,
    path_buf: String,
}

impl<T: Transport, C: Connect<T>> HttpFetch<T, C> {
    /// A client connecting through `connector`, sending `Host: host_header`, prefixing every
    /// path with `base_path` (`""` or e.g. `/api`). Reconnects follow `backoff`.
    pub fn new(
        connector: C,
        host_header: &str,
        base_path: &str,
        config: FetchConfig,
        backoff: BackoffPolicy,
    ) -> Result<Self, FetchSetupError> {
        let template = RequestTemplate::new(
            host_header,
            &[
                ("User-Agent", "sattebaaz-discovery"),
                ("Accept", "application/json"),
            ],
        )
        .map_err(FetchSetupError::Http)?;
        let poll = Poll::new()?;
        let pool_config = PoolConfig {
            connections: 1,
            token_base: 0,
            request_timeout_ns: duration_ns(config.request_timeout),
            connect_timeout_ns: duration_ns(config.connect_timeout),
            max_body_bytes: config.max_body_bytes,
            ..PoolConfig::default()
        };
        let pool = HttpPool::new(pool_config, template, connector, backoff, poll.registry())?;
        Ok(Self {
            poll,
            events: Events::with_capacity(16),
            pool,
            base_path: base_path.trim_end_matches('/').to_owned(),
            config,
            path_buf: String::with_capacity(256),
        })
    }

    /// Request outcome counters of the underlying pool.
    pub fn counters(&self) -> &HttpCounters {
        self.pool.counters()
    }

    /// Connection-lifecycle counters of the underlying pool.
    pub fn net_counters(&self) -> &crate::net::counters::NetCounters {
        self.pool.net_counters()
    }

    fn run(&mut self, url_path: &str) -> Result<(u16, Vec<u8>), FetchError> {
        self.path_buf.clear();
        self.path_buf.push_str(&self.base_path);
        self.path_buf.push_str(url_path);
        let req = Request {
            method: Method::Get,
            path: self.path_buf.as_bytes(),
            headers: &[],
            body: &[],
        };
        let deadlines =
            Deadlines::from_now(self.config.connect_timeout, self.config.request_timeout);
        drive(
            &mut self.pool,
            &mut self.poll,
            &mut self.events,
            &req,
            deadlines,
            |r| r.map(|view| (view.status, view.body.to_vec())),
        )
        .map_err(FetchError::from)?
        .map_err(FetchError::from)
    }
}

impl<T: Transport, C: Connect<T>> Fetch for HttpFetch<T, C> {
    fn get(&mut self, url_path: &str) -> Result<(u16, Vec<u8>), FetchError> {
        self.run(url_path)
    }
}

/// A client for `base_url` (`http://` or `https://`, optional path prefix), resolving the host
/// now (**blocks**: risk thread or start-up only) and verifying TLS with `tls`.
pub fn connect_url(
    base_url: &str,
    tls: Arc<ClientConfig>,
    config: FetchConfig,
    backoff: BackoffPolicy,
) -> Result<HttpFetch<MaybeTls, UrlConnector>, FetchSetupError> {
    let endpoint = Endpoint::parse(base_url)?;
    let addr = endpoint
        .resolve()?
        .into_iter()
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
    let connector = UrlConnector {
        addr,
        tls: endpoint.tls().then(|| (tls, endpoint.host.clone())),
    };
    let base_path = endpoint.path.split('?').next().unwrap_or("");
    HttpFetch::new(
        connector,
        &endpoint.host_header(),
        base_path,
        config,
        backoff,
    )
}

impl From<DriveError> for FetchError {
    fn from(e: DriveError) -> Self {
        match e {
            DriveError::Unreachable => FetchError::Unreachable,
            DriveError::Timeout => FetchError::Timeout,
            DriveError::Send(e) => FetchError::from(e),
            DriveError::Poll(kind) => FetchError::Poll(kind),
        }
    }
}

impl From<HttpError> for FetchError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Timeout => FetchError::Timeout,
            other => FetchError::Http(other),
        }
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
