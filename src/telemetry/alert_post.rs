//! Blocking JSON `POST` for the alert worker thread, on the crate's keep-alive HTTP client
//! ([`HttpPool`], one connection) driven by its own small `mio::Poll` loop, like
//! [`crate::discovery::fetch::HttpFetch`] does for `GET`.
//!
//! Invariants: a `post` returns within `connect_timeout + request_timeout` (plus one poll slice)
//! whatever the peer does (accepts and never answers, refuses, answers slowly); it blocks, so
//! it runs only on the alert worker thread, never the hot or risk thread. The request path may
//! hold a secret (a bot token, a webhook token): it lives in a zeroised buffer, is never
//! formatted into an error, a log line or `Debug` output.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use mio::{Events, Poll};
use rustls::ClientConfig;
use zeroize::Zeroizing;

use crate::discovery::fetch::{FetchError, UrlConnector};
use crate::net::backoff::BackoffPolicy;
use crate::net::dns::Endpoint;
use crate::net::http::blocking::{drive, Deadlines};
use crate::net::http::{HttpPool, Method, PoolConfig, Request, RequestTemplate};
use crate::net::tls::MaybeTls;

/// Why a poster could not be built (no URL or secret text in it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostSetupError {
    #[error("bad base URL")]
    Url,
    #[error("cannot resolve the host")]
    Dns,
    #[error("set-up: {0:?}")]
    Io(io::ErrorKind),
}

/// A blocking JSON POST client to one host.
pub struct JsonPoster {
    poll: Poll,
    events: Events,
    pool: HttpPool<MaybeTls, UrlConnector>,
    connect_timeout: Duration,
    request_timeout: Duration,
    base_path: String,
    path_buf: Zeroizing<String>,
}

impl std::fmt::Debug for JsonPoster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonPoster { .. }")
    }
}

impl JsonPoster {
    /// A client for `base_url` (`http://` or `https://`, optional path prefix); resolves the
    /// host now (**blocks**: alert worker only), verifies TLS with `tls`.
    pub fn connect(
        base_url: &str,
        tls: Arc<ClientConfig>,
        connect_timeout: Duration,
        request_timeout: Duration,
        max_body_bytes: usize,
    ) -> Result<Self, PostSetupError> {
        let endpoint = Endpoint::parse(base_url).map_err(|_| PostSetupError::Url)?;
        if endpoint.scheme.is_websocket() {
            return Err(PostSetupError::Url);
        }
        let addr = endpoint
            .resolve()
            .map_err(|_| PostSetupError::Dns)?
            .into_iter()
            .next()
            .ok_or(PostSetupError::Dns)?;
        let connector = UrlConnector {
            addr,
            tls: endpoint.tls().then(|| (tls, endpoint.host.clone())),
        };
        let template = RequestTemplate::new(
            &endpoint.host_header(),
            &[
                ("User-Agent", "sattebaaz-alerts"),
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
        )
        .map_err(|_| PostSetupError::Url)?;
        let poll = Poll::new().map_err(|e| PostSetupError::Io(e.kind()))?;
        let pool_config = PoolConfig {
            connections: 1,
            token_base: 0,
            request_timeout_ns: duration_ns(request_timeout),
            connect_timeout_ns: duration_ns(connect_timeout),
            max_body_bytes,
            ..PoolConfig::default()
        };
        // A failed connect is retried quickly: each post has its own deadline anyway.
        let backoff = BackoffPolicy::new(
            Duration::from_millis(50),
            2.0,
            Duration::from_millis(1000),
            0.2,
        )
        .map_err(|_| PostSetupError::Io(io::ErrorKind::InvalidInput))?;
        let pool = HttpPool::new(pool_config, template, connector, backoff, poll.registry())
            .map_err(|e| PostSetupError::Io(e.kind()))?;
        let base_path = endpoint
            .path
            .split('?')
            .next()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            poll,
            events: Events::with_capacity(16),
            pool,
            connect_timeout,
            request_timeout,
            base_path,
            path_buf: Zeroizing::new(String::with_capacity(256)),
        })
    }

    /// POST `body` (JSON) to the base path + `path`; the status of any complete response, an
    /// error when none arrived in time.
    pub fn post(&mut self, path: &str, body: &[u8]) -> Result<u16, FetchError> {
        self.path_buf.clear();
        self.path_buf.push_str(&self.base_path);
        self.path_buf.push_str(path);
        let req = Request {
            method: Method::Post,
            path: self.path_buf.as_bytes(),
            headers: &[],
            body,
        };
        let deadlines = Deadlines::from_now(self.connect_timeout, self.request_timeout);
        drive(
            &mut self.pool,
            &mut self.poll,
            &mut self.events,
            &req,
            deadlines,
            |r| r.map(|view| view.status),
        )
        .map_err(FetchError::from)?
        .map_err(FetchError::from)
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
