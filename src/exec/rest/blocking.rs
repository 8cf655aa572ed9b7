//! A blocking CLOB client for the risk thread and the CLI: one keep-alive connection driven by
//! its own small mio poll loop, every endpoint as a typed method (public market data, the L2
//! ledger and account endpoints, heartbeats, cancels, L1 key derivation/creation).
//!
//! Invariants: never used on the hot thread (it blocks in `poll`); each call returns within
//! connect + request timeouts; an answer for an abandoned request is never taken for the
//! current one (request ids are matched); answers are owned (allocation is fine here);
//! pagination follows `next_cursor` from `MA==` to `LTE=` with a page cap so a looping cursor
//! cannot spin forever.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use mio::{Events, Poll};
use rustls::ClientConfig;

use super::errors::{status_error, transport_error, LocalRefusal, RestError};
use super::requests::{
    balance_path, cancel_market_body, cancel_order_body, cancel_orders_body, clob_market_path,
    heartbeat_body, l1_pairs, l2_pairs, ledger_path, order_path, price_path, token_query_path,
    BalanceAsset, FixedBuf, LedgerFilter, CANCEL_BODY_CAPACITY, PATH_CANCEL_ALL,
    PATH_CANCEL_MARKET, PATH_CREATE_API_KEY, PATH_DERIVE_API_KEY, PATH_HEARTBEATS, PATH_ORDER,
    PATH_ORDERS, PATH_TIME, PATH_VERSION,
};
use super::responses::{
    parse_api_key, parse_balance_allowance, parse_book, parse_cancel_response, parse_clob_market,
    parse_heartbeat, parse_midpoint, parse_order_response, parse_orders_page, parse_price,
    parse_single_order, parse_tick_size, parse_time, parse_trades_page, parse_version, ApiKeyCreds,
    BalanceAllowance, BookSummary, CancelSummary, ClobMarketInfo, HeartbeatAnswer, OrderAck,
    FIRST_CURSOR,
};

use crate::discovery::fetch::UrlConnector;
use crate::exec::events::{OrderEvent, TradeEvent};
use crate::exec::json::{Micros, OrderId};
use crate::exec::signing::clob_auth::L1Headers;
use crate::exec::signing::hmac::L2Credentials;
use crate::exec::signing::signer::EoaSigner;
use crate::net::backoff::BackoffPolicy;
use crate::net::dns::Endpoint;
use crate::net::http::blocking::{drive, Deadlines, DriveError};
use crate::net::http::{
    Connect, HttpError, HttpPool, Method, PoolConfig, Request, RequestTemplate,
};
use crate::net::tls::MaybeTls;
use crate::net::transport::Transport;

/// Most pages followed by one `all_*` call.
pub const MAX_PAGES: usize = 1_000;

/// Limits of a [`BlockingClob`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockingConfig {
    /// TCP connect + TLS deadline.
    pub connect_timeout: Duration,
    /// Send-to-answer deadline.
    pub request_timeout: Duration,
    /// Largest answer body.
    pub max_body_bytes: usize,
}

impl Default for BlockingConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_body_bytes: 4 << 20,
        }
    }
}

/// A complete answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAnswer {
    /// HTTP status.
    pub status: u16,
    /// `Retry-After` seconds.
    pub retry_after_s: Option<u32>,
    /// Body.
    pub body: Vec<u8>,
}

/// Why a blocking client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BlockingSetupError {
    /// Bad URL.
    #[error(transparent)]
    Url(#[from] crate::net::dns::UrlError),
    /// Name resolution.
    #[error(transparent)]
    Dns(#[from] crate::net::dns::DnsError),
    /// Poll / socket set-up.
    #[error("set-up: {0}")]
    Io(#[from] io::Error),
    /// The host header is unusable.
    #[error("request template: {0}")]
    Http(HttpError),
}

/// One open order or trade row, owned.
pub type OwnedOrderRow = OrderEvent<'static>;

/// The blocking client. See the module docs.
pub struct BlockingClob<T, C> {
    poll: Poll,
    events: Events,
    pool: HttpPool<T, C>,
    creds: Option<L2Credentials>,
    config: BlockingConfig,
    path: FixedBuf,
    body: FixedBuf,
    server_offset_s: i64,
}

impl<T: Transport, C: Connect<T>> BlockingClob<T, C> {
    /// A client over `connector` sending `Host: host_header`; `creds` enable the L2 endpoints.
    pub fn new(
        connector: C,
        host_header: &str,
        creds: Option<L2Credentials>,
        config: BlockingConfig,
        backoff: BackoffPolicy,
    ) -> Result<Self, BlockingSetupError> {
        let template = RequestTemplate::new(
            host_header,
            &[
                ("User-Agent", "sattebaaz"),
                ("Accept", "application/json"),
                ("Content-Type", "application/json"),
            ],
        )
        .map_err(BlockingSetupError::Http)?;
        let poll = Poll::new()?;
        let pool_config = PoolConfig {
            connections: 1,
            token_base: 0,
            request_timeout_ns: duration_ns(config.request_timeout),
            connect_timeout_ns: duration_ns(config.connect_timeout),
            max_body_bytes: config.max_body_bytes,
            max_request_bytes: 64 * 1024,
            ..PoolConfig::default()
        };
        let pool = HttpPool::new(pool_config, template, connector, backoff, poll.registry())?;
        Ok(Self {
            poll,
            events: Events::with_capacity(16),
            pool,
            creds,
            config,
            path: FixedBuf::with_capacity(1024),
            body: FixedBuf::with_capacity(CANCEL_BODY_CAPACITY),
            server_offset_s: 0,
        })
    }

    /// Use `server - local` seconds for auth timestamps.
    pub fn set_server_time_offset(&mut self, offset_s: i64) {
        self.server_offset_s = offset_s;
    }

    fn timestamp_s(&self) -> u64 {
        (crate::clock::wall_ns() / 1_000_000_000).saturating_add_signed(self.server_offset_s)
    }

    /// Send one request and wait for its complete answer (any status).
    pub fn exchange(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&[u8], &[u8])],
        body: &[u8],
    ) -> Result<RawAnswer, RestError> {
        let req = Request {
            method,
            path: path.as_bytes(),
            headers,
            body,
        };
        let deadlines =
            Deadlines::from_now(self.config.connect_timeout, self.config.request_timeout);
        let answer = drive(
            &mut self.pool,
            &mut self.poll,
            &mut self.events,
            &req,
            deadlines,
            |r| {
                r.map(|v| RawAnswer {
                    status: v.status,
                    retry_after_s: v.retry_after_s,
                    body: v.body.to_vec(),
                })
            },
        )
        .map_err(|e| match e {
            DriveError::Unreachable => RestError::NotSent,
            DriveError::Timeout => RestError::OutcomeUnknown(HttpError::Timeout),
            DriveError::Send(e) => transport_error(e),
            DriveError::Poll(kind) => RestError::OutcomeUnknown(HttpError::Io(kind)),
        })?;
        answer.map_err(transport_error)
    }

    /// A public request; non-2xx answers become errors.
    pub fn public(&mut self, method: Method, path: &str) -> Result<Vec<u8>, RestError> {
        let answer = self.exchange(method, path, &[], b"")?;
        checked(answer)
    }

    /// An L2-authenticated request over exactly `path` and `body`; non-2xx become errors.
    pub fn authed(
        &mut self,
        method: Method,
        path: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, RestError> {
        let creds = self
            .creds
            .clone()
            .ok_or(RestError::Refused(LocalRefusal::InvalidArgument))?;
        let method_text = std::str::from_utf8(method.as_bytes()).unwrap_or("GET");
        let headers = creds.headers(self.timestamp_s(), method_text, path, body);
        let pairs = l2_pairs(&headers);
        let answer = self.exchange(method, path, &pairs, body)?;
        checked(answer)
    }

    fn path_string(&self) -> String {
        self.path.as_str().to_owned()
    }

    /// `GET /time`: server unix seconds.
    pub fn server_time(&mut self) -> Result<u64, RestError> {
        let body = self.public(Method::Get, PATH_TIME)?;
        parse_time(&body).map_err(|_| RestError::Malformed)
    }

    /// `GET /version`.
    pub fn version(&mut self) -> Result<u64, RestError> {
        let body = self.public(Method::Get, PATH_VERSION)?;
        parse_version(&body).map_err(|_| RestError::Malformed)
    }

    /// `GET /book?token_id=`.
    pub fn book(&mut self, token_id: &str) -> Result<BookSummary, RestError> {
        token_query_path(&mut self.path, "/book", token_id).map_err(RestError::Refused)?;
        let body = self.public(Method::Get, &self.path_string())?;
        parse_book(&body).map_err(|_| RestError::Malformed)
    }

    /// `GET /price?token_id=&side=`.
    pub fn price(&mut self, token_id: &str, side_buy: bool) -> Result<Micros, RestError> {
        price_path(&mut self.path, token_id, side_buy).map_err(RestError::Refused)?;
        let body = self.public(Method::Get, &self.path_string())?;
        parse_price(&body).map_err(|_| RestError::Malformed)
    }

    /// `GET /midpoint?token_id=`.
    pub fn midpoint(&mut self, token_id: &str) -> Result<Micros, RestError> {
        token_query_path(&mut self.path, "/midpoint", token_id).map_err(RestError::Refused)?;
        let body = self.public(Method::Get, &self.path_string())?;
        parse_midpoint(&body).map_err(|_| RestError::Malformed)
    }

    /// `GET /tick-size?token_id=`.
    pub fn tick_size(&mut self, token_id: &str) -> Result<Micros, RestError> {
        token_query_path(&mut self.path, "/tick-size", token_id).map_err(RestError::Refused)?;
        let body = self.public(Method::Get, &self.path_string())?;
        parse_tick_size(&body).map_err(|_| RestError::Malformed)
    }

    /// `GET /clob-markets/<condition_id>`.
    pub fn clob_market(&mut self, condition_id: &str) -> Result<ClobMarketInfo, RestError> {
        clob_market_path(&mut self.path, condition_id).map_err(RestError::Refused)?;
        let body = self.public(Method::Get, &self.path_string())?;
        parse_clob_market(&body).map_err(|_| RestError::Malformed)
    }

    /// `GET /data/order/<id>`: the venue's row (owned), `None` when unknown to the venue.
    pub fn order(&mut self, order_id: &OrderId) -> Result<Option<OwnedOrderRow>, RestError> {
        order_path(&mut self.path, order_id).map_err(RestError::Refused)?;
        let body = match self.authed(Method::Get, &self.path_string(), b"") {
            Err(RestError::NotFound) => return Ok(None),
            other => other?,
        };
        let row = parse_single_order(&body).map_err(|_| RestError::Malformed)?;
        Ok(row.map(owned_order))
    }

    /// Every open order (all pages of `/data/orders`), visited row by row.
    pub fn all_open_orders(
        &mut self,
        filter: &LedgerFilter<'_>,
        mut f: impl FnMut(&OrderEvent<'_>),
    ) -> Result<usize, RestError> {
        self.all_pages("/data/orders", filter, |body| {
            parse_orders_page(body, |row| f(&row))
        })
    }

    /// Every trade (all pages of `/data/trades`), visited row by row.
    pub fn all_trades(
        &mut self,
        filter: &LedgerFilter<'_>,
        mut f: impl FnMut(&TradeEvent<'_>),
    ) -> Result<usize, RestError> {
        self.all_pages("/data/trades", filter, |body| {
            parse_trades_page(body, |row| f(&row))
        })
    }

    fn all_pages(
        &mut self,
        base: &str,
        filter: &LedgerFilter<'_>,
        mut parse: impl FnMut(&[u8]) -> Result<super::responses::Page, super::responses::ParseError>,
    ) -> Result<usize, RestError> {
        let mut cursor = FIRST_CURSOR.to_owned();
        let mut rows = 0;
        for _ in 0..MAX_PAGES {
            ledger_path(&mut self.path, base, &cursor, filter).map_err(RestError::Refused)?;
            let body = self.authed(Method::Get, &self.path_string(), b"")?;
            let page = parse(&body).map_err(|_| RestError::Malformed)?;
            rows += page.rows;
            if page.is_last() || page.next_cursor == cursor {
                return Ok(rows);
            }
            cursor = page.next_cursor;
        }
        Err(RestError::Malformed)
    }

    /// `GET /balance-allowance`.
    pub fn balance_allowance(
        &mut self,
        asset: BalanceAsset<'_>,
        signature_type: u8,
    ) -> Result<BalanceAllowance, RestError> {
        balance_path(&mut self.path, asset, signature_type).map_err(RestError::Refused)?;
        let body = self.authed(Method::Get, &self.path_string(), b"")?;
        parse_balance_allowance(&body).map_err(|_| RestError::Malformed)
    }

    /// `POST /v1/heartbeats` with `heartbeat_id` (`""` first). An "Invalid Heartbeat ID" answer
    /// may come with HTTP 400; it is returned as [`HeartbeatAnswer::InvalidId`].
    pub fn heartbeat(&mut self, heartbeat_id: &str) -> Result<HeartbeatAnswer, RestError> {
        heartbeat_body(&mut self.body, heartbeat_id).map_err(RestError::Refused)?;
        let body = self.body.as_bytes().to_vec();
        let creds = self
            .creds
            .clone()
            .ok_or(RestError::Refused(LocalRefusal::InvalidArgument))?;
        let headers = creds.headers(self.timestamp_s(), "POST", PATH_HEARTBEATS, &body);
        let pairs = l2_pairs(&headers);
        let answer = self.exchange(Method::Post, PATH_HEARTBEATS, &pairs, &body)?;
        match parse_heartbeat(&answer.body) {
            Ok(h @ HeartbeatAnswer::InvalidId { .. }) => Ok(h),
            Ok(h) if (200..300).contains(&answer.status) => Ok(h),
            _ => match status_error(answer.status, answer.retry_after_s, &answer.body) {
                Some(e) => Err(e),
                None => Err(RestError::Malformed),
            },
        }
    }

    /// `POST /order` with an already-rendered body (CLI / tests).
    pub fn post_order_body(&mut self, body: &[u8]) -> Result<OrderAck, RestError> {
        let answer = self.authed(Method::Post, PATH_ORDER, body)?;
        parse_order_response(&answer).map_err(|_| RestError::Malformed)
    }

    fn cancel_answer(
        &mut self,
        path: &str,
        with_body: bool,
        f: &mut impl FnMut(OrderId, Option<&str>),
    ) -> Result<CancelSummary, RestError> {
        let body = if with_body {
            self.body.as_bytes().to_vec()
        } else {
            Vec::new()
        };
        let answer = self.authed(Method::Delete, path, &body)?;
        parse_cancel_response(&answer, f).map_err(|_| RestError::Malformed)
    }

    /// `DELETE /order`.
    pub fn cancel(
        &mut self,
        order_id: &OrderId,
        mut f: impl FnMut(OrderId, Option<&str>),
    ) -> Result<CancelSummary, RestError> {
        cancel_order_body(&mut self.body, order_id).map_err(RestError::Refused)?;
        self.cancel_answer(PATH_ORDER, true, &mut f)
    }

    /// `DELETE /orders`.
    pub fn cancel_many(
        &mut self,
        order_ids: &[OrderId],
        mut f: impl FnMut(OrderId, Option<&str>),
    ) -> Result<CancelSummary, RestError> {
        cancel_orders_body(&mut self.body, order_ids).map_err(RestError::Refused)?;
        self.cancel_answer(PATH_ORDERS, true, &mut f)
    }

    /// `DELETE /cancel-all` (the kill switch).
    pub fn cancel_all(
        &mut self,
        mut f: impl FnMut(OrderId, Option<&str>),
    ) -> Result<CancelSummary, RestError> {
        self.cancel_answer(PATH_CANCEL_ALL, false, &mut f)
    }

    /// `DELETE /cancel-market-orders`.
    pub fn cancel_market(
        &mut self,
        market: &str,
        asset_id: &str,
        mut f: impl FnMut(OrderId, Option<&str>),
    ) -> Result<CancelSummary, RestError> {
        cancel_market_body(&mut self.body, market, asset_id).map_err(RestError::Refused)?;
        self.cancel_answer(PATH_CANCEL_MARKET, true, &mut f)
    }

    fn l1(
        &mut self,
        method: Method,
        path: &str,
        signer: &EoaSigner,
        nonce: u64,
    ) -> Result<RawAnswer, RestError> {
        let headers = L1Headers::new(signer, self.timestamp_s(), nonce)
            .map_err(|_| RestError::Refused(LocalRefusal::InvalidArgument))?;
        let pairs = l1_pairs(&headers);
        self.exchange(method, path, &pairs, b"")
    }

    /// L1 `GET /auth/derive-api-key` (existing credentials for `nonce`).
    pub fn derive_api_key(
        &mut self,
        signer: &EoaSigner,
        nonce: u64,
    ) -> Result<ApiKeyCreds, RestError> {
        let answer = self.l1(Method::Get, PATH_DERIVE_API_KEY, signer, nonce)?;
        let body = checked(answer)?;
        parse_api_key(&body).map_err(|_| RestError::Malformed)
    }

    /// L1 `POST /auth/api-key` (create credentials for `nonce`).
    pub fn create_api_key(
        &mut self,
        signer: &EoaSigner,
        nonce: u64,
    ) -> Result<ApiKeyCreds, RestError> {
        let answer = self.l1(Method::Post, PATH_CREATE_API_KEY, signer, nonce)?;
        let body = checked(answer)?;
        parse_api_key(&body).map_err(|_| RestError::Malformed)
    }
}

fn checked(answer: RawAnswer) -> Result<Vec<u8>, RestError> {
    match status_error(answer.status, answer.retry_after_s, &answer.body) {
        Some(e) => Err(e),
        None => Ok(answer.body),
    }
}

fn owned_order(row: OrderEvent<'_>) -> OwnedOrderRow {
    use std::borrow::Cow;
    let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
    OrderEvent {
        event_type: own(row.event_type),
        kind: own(row.kind),
        id: own(row.id),
        owner: own(row.owner),
        market: own(row.market),
        asset_id: own(row.asset_id),
        side: own(row.side),
        original_size: row.original_size,
        size_matched: row.size_matched,
        price: row.price,
        status: own(row.status),
        order_type: own(row.order_type),
        timestamp: row.timestamp,
    }
}

/// A blocking client for `base_url` (`http://` or `https://`), resolving the host now.
pub fn connect(
    base_url: &str,
    tls: Arc<ClientConfig>,
    creds: Option<L2Credentials>,
    config: BlockingConfig,
    backoff: BackoffPolicy,
) -> Result<BlockingClob<MaybeTls, UrlConnector>, BlockingSetupError> {
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
    BlockingClob::new(connector, &endpoint.host_header(), creds, config, backoff)
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
