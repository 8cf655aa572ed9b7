//! The non-blocking CLOB order client: `POST /order`, `POST /orders` (split into chunks of at
//! most [`ClientConfig::max_batch`] ≤ 15), `DELETE /order`, `DELETE /orders`,
//! `DELETE /cancel-all`, `DELETE /cancel-market-orders`, reconciliation by
//! `GET /data/order/<digest>`, and generic tagged queries, over one [`HttpPool`] driven by the
//! caller's mio loop ([`RestClient::on_ready`], [`RestClient::on_timer`]).
//!
//! Lifecycle of a submit: the body is rendered at once into a pre-sized outbox slot (order ids
//! = EIP-712 digests are known before sending); the slot is signed (L2 HMAC over the exact
//! path and body) and sent as soon as a warm connection is idle; the answer comes back as
//! [`RestEvent`]s per order. A queued submit not sent within the order timeout is dropped
//! ([`RestEvent::OrderFailed`] with [`RestError::NotSent`]: provably never sent).
//!
//! Invariants:
//! * Batch answers are mapped to orders by position; a leg naming another order id is treated
//!   as an unknown outcome and reconciled.
//! * Never blind-retry: a submit whose outcome is unknown (timeout, dropped connection,
//!   truncated answer, 5xx other than 503, a batch answer missing legs) is reported as
//!   [`RestEvent::OrderUnknown`] and reconciled by `GET /data/order/<digest>` after
//!   [`ClientConfig::reconcile_delay_ns`] — the order is never sent twice.
//! * HTTP 429 arms a back-off until `Retry-After` (submits refused meanwhile); a submit refused
//!   by a 429 (definitely not placed) whose `Retry-After` is within
//!   [`ClientConfig::max_rate_limit_hold_ns`] is held in its outbox slot and sent again, same
//!   bytes with fresh L2 headers, when the back-off ends (no event until its answer); a longer
//!   wait fails it ([`RestEvent::OrderFailed`]). 425 and 503 and
//!   the "post-only mode" error arm the post-only window (only post-only submits and cancels).
//!   Cancels are never held back.
//! * After warm-up, submit and cancel allocate nothing: every buffer (outbox bodies, path and
//!   cancel bodies, pending-request table) is allocated at construction.

use mio::Token;

use super::errors::{status_error, transport_error, LocalRefusal, OrderRejectReason, RestError};
use super::requests::{
    cancel_market_body, cancel_order_body, cancel_orders_body, order_path, FixedBuf,
    CANCEL_BODY_CAPACITY, PATH_CANCEL_ALL, PATH_CANCEL_MARKET, PATH_ORDER, PATH_ORDERS,
};
use super::responses::{
    parse_batch_response, parse_cancel_response, parse_order_response, parse_single_order, OrderAck,
};
use crate::exec::events::OrderEvent;
use crate::exec::json::OrderId;
use crate::exec::signing::body::PostOptions;
use crate::exec::signing::body::{
    write_order_body, write_orders_body, BatchItem, BodyBuf, BodyKeyOrder, MAX_BATCH,
};
use crate::exec::signing::hmac::L2Credentials;
use crate::exec::signing::order::{OrderTemplate, SignedOrder};
use crate::net::http::{Connect, HttpError, HttpPool, Method, Request, RequestId, ResponseView};
use crate::net::transport::Transport;
use crate::telemetry::latency::{Stage, StageHistograms};

/// Tunables of a [`RestClient`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Per-request deadline of order submits and cancels (ns); also how long a queued submit
    /// may wait for a connection.
    pub order_timeout_ns: u64,
    /// Per-request deadline of reconciliation and queries (ns).
    pub query_timeout_ns: u64,
    /// Post-only window after a 425 / 503 / post-only-mode answer (ns).
    pub post_only_window_ns: u64,
    /// Back-off after a 429 without `Retry-After` (ns).
    pub default_retry_after_ns: u64,
    /// Wait before reconciling an unknown outcome (ns), so an order still in flight at the
    /// venue is seen.
    pub reconcile_delay_ns: u64,
    /// Reconciliation attempts per order before giving up ([`RestEvent::ReconcileFailed`]).
    pub reconcile_attempts: u32,
    /// Orders per `POST /orders` request (1..=15).
    pub max_batch: usize,
    /// Outbox slots (rendered submit bodies waiting or in flight).
    pub outbox_slots: usize,
    /// Requests in flight or queued for reconciliation at once.
    pub max_pending: usize,
    /// JSON key order of order bodies.
    pub key_order: BodyKeyOrder,
    /// A submit refused with 429 is held and resent after `Retry-After` when that is at most
    /// this long (ns); 0 never holds.
    pub max_rate_limit_hold_ns: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            order_timeout_ns: 2_000_000_000,
            query_timeout_ns: 5_000_000_000,
            post_only_window_ns: 120_000_000_000,
            default_retry_after_ns: 1_000_000_000,
            reconcile_delay_ns: 1_000_000_000,
            reconcile_attempts: 5,
            max_batch: MAX_BATCH,
            outbox_slots: 8,
            max_pending: 64,
            key_order: BodyKeyOrder::PyClobClientV2,
            max_rate_limit_hold_ns: 2_000_000_000,
        }
    }
}

impl ClientConfig {
    /// The client settings of `[exec]` (other fields at their defaults).
    pub fn from_exec(exec: &crate::config::schema::ExecConfig) -> Self {
        let ms = |v: u32| u64::from(v) * 1_000_000;
        Self {
            order_timeout_ns: ms(exec.order_timeout_ms),
            query_timeout_ns: ms(exec.query_timeout_ms),
            post_only_window_ns: ms(exec.post_only_window_ms),
            reconcile_delay_ns: ms(exec.reconcile_delay_ms),
            reconcile_attempts: exec.reconcile_attempts,
            max_batch: (exec.batch_size as usize).clamp(1, MAX_BATCH),
            ..Self::default()
        }
    }
}

/// Which cancel a cancel event answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelKind {
    /// `DELETE /order`.
    One,
    /// `DELETE /orders`.
    Many,
    /// `DELETE /cancel-all`.
    All,
    /// `DELETE /cancel-market-orders`.
    Market,
}

/// What the client reports from [`RestClient::on_ready`] / [`RestClient::on_timer`].
#[derive(Debug)]
pub enum RestEvent<'a> {
    /// The venue answered for this order (accepted or not: see [`OrderAck::accepted`]).
    OrderAck {
        /// The order.
        order_id: OrderId,
        /// The answer.
        ack: OrderAck,
    },
    /// The order was definitely not placed (local refusal, never sent, or an HTTP error the
    /// venue returns before accepting: 400/401/425/429/503).
    OrderFailed {
        /// The order.
        order_id: OrderId,
        /// Why.
        error: RestError,
    },
    /// The submit's outcome is unknown; a reconciliation is scheduled.
    OrderUnknown {
        /// The order.
        order_id: OrderId,
        /// What went wrong.
        error: RestError,
    },
    /// Reconciliation answered: the venue's row for the order, or `None` when it does not know
    /// the order (never placed).
    Reconciled {
        /// The order.
        order_id: OrderId,
        /// The venue's row.
        row: Option<OrderEvent<'a>>,
    },
    /// Reconciliation gave up after the configured attempts; the order stays unknown.
    ReconcileFailed {
        /// The order.
        order_id: OrderId,
        /// Last error.
        error: RestError,
    },
    /// The venue canceled this order.
    Canceled {
        /// The order.
        order_id: OrderId,
    },
    /// The venue refused to cancel this order.
    NotCanceled {
        /// The order.
        order_id: OrderId,
        /// The venue's reason.
        reason: &'a str,
    },
    /// A cancel request failed as a whole.
    CancelFailed {
        /// Which cancel.
        kind: CancelKind,
        /// Why.
        error: RestError,
    },
    /// A tagged query's complete answer (any status).
    Response {
        /// The caller's tag.
        tag: u64,
        /// HTTP status.
        status: u16,
        /// Body.
        body: &'a [u8],
    },
    /// A tagged query got no answer.
    QueryFailed {
        /// The caller's tag.
        tag: u64,
        /// Why.
        error: RestError,
    },
}

/// Counters of the client (monotonic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientCounters {
    /// Order submits (single requests or batch chunks) sent.
    pub submits_sent: u64,
    /// Orders accepted by the venue.
    pub orders_accepted: u64,
    /// Orders refused by the venue or an HTTP error.
    pub orders_rejected: u64,
    /// Orders whose outcome became unknown.
    pub orders_unknown: u64,
    /// Reconciliations sent.
    pub reconciles_sent: u64,
    /// Cancel requests sent.
    pub cancels_sent: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Submits held after a 429 and sent again after the back-off.
    pub submits_held: u64,
    /// 425 answers.
    pub engine_restarts: u64,
    /// Answers that did not parse.
    pub malformed: u64,
    /// Answers for requests the client no longer tracks.
    pub orphan_answers: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    /// An outbox slot's submit in flight.
    Submit {
        slot: usize,
    },
    Cancel(CancelKind),
    Reconcile {
        order_id: OrderId,
        attempt: u32,
    },
    Query {
        tag: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    Free,
    /// Rendered, waiting for a connection since `queued_ns`.
    Queued {
        queued_ns: u64,
    },
    InFlight,
}

struct OutboxSlot {
    state: SlotState,
    batch: bool,
    body: BodyBuf,
    ids: [OrderId; MAX_BATCH],
    count: usize,
}

#[derive(Clone, Copy, Debug)]
struct ReconcileJob {
    order_id: OrderId,
    due_ns: u64,
    attempt: u32,
}

/// The non-blocking order client. See the module docs.
pub struct RestClient<T, C> {
    pool: HttpPool<T, C>,
    creds: L2Credentials,
    config: ClientConfig,
    outbox: Vec<OutboxSlot>,
    /// Requests in flight: id, what it was, when it was written (mono ns).
    pending: Vec<(RequestId, Pending, u64)>,
    reconciles: Vec<ReconcileJob>,
    /// Outcomes of sends that failed synchronously, reported by the next `after_io`.
    deferred: Vec<(OrderId, RestError)>,
    path: FixedBuf,
    body: FixedBuf,
    backoff_until_ns: u64,
    post_only_until_ns: u64,
    server_offset_s: i64,
    counters: ClientCounters,
    /// Round trips, all requests and per endpoint (recorded on the owning thread).
    latency: StageHistograms,
    /// Scratch body for [`warm_order_path`](Self::warm_order_path).
    warm_body: BodyBuf,
}

/// Everything the pool callback needs, split off the client so the pool can be borrowed
/// mutably at the same time.
struct Books<'c> {
    config: &'c ClientConfig,
    outbox: &'c mut Vec<OutboxSlot>,
    pending: &'c mut Vec<(RequestId, Pending, u64)>,
    latency: &'c mut StageHistograms,
    reconciles: &'c mut Vec<ReconcileJob>,
    backoff_until_ns: &'c mut u64,
    post_only_until_ns: &'c mut u64,
    counters: &'c mut ClientCounters,
}

impl<T: Transport, C: Connect<T>> RestClient<T, C> {
    /// A client over `pool` (whose request template carries `Host`, `Content-Type:
    /// application/json` etc.) authenticating with `creds`. Allocates every buffer now.
    pub fn new(pool: HttpPool<T, C>, creds: L2Credentials, config: ClientConfig) -> Self {
        let max_batch = config.max_batch.clamp(1, MAX_BATCH);
        let config = ClientConfig {
            max_batch,
            outbox_slots: config.outbox_slots.max(1),
            max_pending: config.max_pending.max(1),
            ..config
        };
        let outbox = (0..config.outbox_slots)
            .map(|_| OutboxSlot {
                state: SlotState::Free,
                batch: false,
                body: BodyBuf::for_batch(MAX_BATCH),
                ids: [[0; 32]; MAX_BATCH],
                count: 0,
            })
            .collect();
        Self {
            pool,
            creds,
            config,
            outbox,
            pending: Vec::with_capacity(config.max_pending),
            reconciles: Vec::with_capacity(config.max_pending),
            deferred: Vec::with_capacity(config.outbox_slots * MAX_BATCH),
            path: FixedBuf::with_capacity(256),
            body: FixedBuf::with_capacity(CANCEL_BODY_CAPACITY),
            backoff_until_ns: 0,
            post_only_until_ns: 0,
            server_offset_s: 0,
            counters: ClientCounters::default(),
            latency: StageHistograms::new(),
            warm_body: BodyBuf::for_single_order(),
        }
    }

    /// The underlying pool (tokens, counters, idle connections).
    pub fn pool(&self) -> &HttpPool<T, C> {
        &self.pool
    }

    /// Counters.
    /// Round-trip histograms: `RestRoundTrip` for every request, and one stage per endpoint.
    pub fn latency(&self) -> &StageHistograms {
        &self.latency
    }

    pub fn counters(&self) -> &ClientCounters {
        &self.counters
    }

    /// Effective configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Use `server_s - local_s` (from `GET /time`) as the offset of L2 timestamps.
    pub fn set_server_time_offset(&mut self, offset_s: i64) {
        self.server_offset_s = offset_s;
    }

    /// Until when (monotonic ns) submits are held back by a 429; 0 when not.
    pub fn backoff_until_ns(&self) -> u64 {
        self.backoff_until_ns
    }

    /// Whether only post-only orders are sent at `now_ns`.
    pub fn in_post_only_window(&self, now_ns: u64) -> bool {
        now_ns < self.post_only_until_ns
    }

    /// Arm the post-only window now (e.g. the engine learned of a restart elsewhere).
    pub fn arm_post_only_window(&mut self, now_ns: u64) {
        self.post_only_until_ns = now_ns.saturating_add(self.config.post_only_window_ns);
    }

    /// Orders queued or in flight in the outbox.
    pub fn outbox_busy(&self) -> usize {
        self.outbox
            .iter()
            .filter(|s| s.state != SlotState::Free)
            .count()
    }

    fn gate(&self, post_only: bool, now_ns: u64) -> Result<(), RestError> {
        if now_ns < self.backoff_until_ns {
            return Err(RestError::Refused(LocalRefusal::BackingOff {
                until_ns: self.backoff_until_ns,
            }));
        }
        if !post_only && now_ns < self.post_only_until_ns {
            return Err(RestError::Refused(LocalRefusal::PostOnlyWindow));
        }
        Ok(())
    }

    fn free_slot(&self) -> Option<usize> {
        self.outbox.iter().position(|s| s.state == SlotState::Free)
    }

    /// Submit one signed order (`POST /order`). `Ok` means it is rendered and sent or queued;
    /// its answer arrives as a [`RestEvent`] for `order.order_id`. `Err` means nothing was
    /// or will be sent.
    pub fn submit(
        &mut self,
        template: &OrderTemplate,
        order: &SignedOrder,
        options: &PostOptions<'_>,
        now_ns: u64,
    ) -> Result<(), RestError> {
        self.gate(options.post_only, now_ns)?;
        let slot_index = self
            .free_slot()
            .ok_or(RestError::Refused(LocalRefusal::TooManyInFlight))?;
        let key_order = self.config.key_order;
        let slot = &mut self.outbox[slot_index];
        write_order_body(&mut slot.body, template, order, options, key_order)
            .map_err(|_| RestError::Refused(LocalRefusal::TooLarge))?;
        slot.batch = false;
        slot.ids[0] = order.order_id;
        slot.count = 1;
        slot.state = SlotState::Queued { queued_ns: now_ns };
        self.flush(now_ns);
        Ok(())
    }

    /// Run every step of [`submit`](Self::submit) after signing over `order` (a hashed,
    /// unsigned order from `OrderTemplate::hashed_unsigned`) — body into a scratch buffer, L2
    /// headers, request rendering, TLS sealing with a throwaway key — and send nothing, so an
    /// engine that orders rarely finds that code and data in cache. Touches no outbox slot, no
    /// counter and no session state. `false` when nothing was warmed (the body did not
    /// render, or no connection is idle).
    pub fn warm_order_path(
        &mut self,
        template: &OrderTemplate,
        order: &SignedOrder,
        options: &PostOptions<'_>,
    ) -> bool {
        let key_order = self.config.key_order;
        if write_order_body(&mut self.warm_body, template, order, options, key_order).is_err() {
            return false;
        }
        let headers = self.creds.headers(
            self.timestamp_s(),
            "POST",
            PATH_ORDER,
            self.warm_body.as_bytes(),
        );
        let pairs = super::requests::l2_pairs(&headers);
        let req = Request {
            method: Method::Post,
            path: PATH_ORDER.as_bytes(),
            headers: &pairs,
            body: self.warm_body.as_bytes(),
        };
        self.pool.warm_request(&req)
    }

    /// Submit a batch (`POST /orders`), split into requests of at most `max_batch` orders;
    /// returns the number of requests. All chunks are rendered before anything is sent; when
    /// the outbox cannot hold them all nothing is sent.
    pub fn submit_batch(
        &mut self,
        items: &[BatchItem<'_>],
        now_ns: u64,
    ) -> Result<usize, RestError> {
        if items.is_empty() {
            return Err(RestError::Refused(LocalRefusal::InvalidArgument));
        }
        let all_post_only = items.iter().all(|i| i.options.post_only);
        self.gate(all_post_only, now_ns)?;
        let chunks = items.len().div_ceil(self.config.max_batch);
        let free = self
            .outbox
            .iter()
            .filter(|s| s.state == SlotState::Free)
            .count();
        if free < chunks {
            return Err(RestError::Refused(LocalRefusal::TooManyInFlight));
        }
        let key_order = self.config.key_order;
        for chunk in items.chunks(self.config.max_batch) {
            let Some(slot_index) = self.free_slot() else {
                break;
            };
            let slot = &mut self.outbox[slot_index];
            if write_orders_body(&mut slot.body, chunk, key_order).is_err() {
                // Roll back chunks queued by this call (none sent yet: flush runs after).
                for s in self.outbox.iter_mut() {
                    if matches!(s.state, SlotState::Queued { queued_ns } if queued_ns == now_ns)
                        && s.batch
                    {
                        s.state = SlotState::Free;
                    }
                }
                return Err(RestError::Refused(LocalRefusal::TooLarge));
            }
            slot.batch = true;
            for (dst, item) in slot.ids.iter_mut().zip(chunk) {
                *dst = item.order.order_id;
            }
            slot.count = chunk.len();
            slot.state = SlotState::Queued { queued_ns: now_ns };
        }
        self.flush(now_ns);
        Ok(chunks)
    }

    /// Send queued outbox slots while connections are idle (oldest first is not guaranteed;
    /// slots are independent orders).
    fn flush(&mut self, now_ns: u64) {
        if now_ns < self.backoff_until_ns {
            return;
        }
        for i in 0..self.outbox.len() {
            if !matches!(self.outbox[i].state, SlotState::Queued { .. }) {
                continue;
            }
            if self.pool.idle_count() == 0 || self.pending.len() >= self.config.max_pending {
                return;
            }
            let slot = &self.outbox[i];
            let path = if slot.batch { PATH_ORDERS } else { PATH_ORDER };
            let ts = self.timestamp_s();
            let headers = self.creds.headers(ts, "POST", path, slot.body.as_bytes());
            let pairs = super::requests::l2_pairs(&headers);
            let req = Request {
                method: Method::Post,
                path: path.as_bytes(),
                headers: &pairs,
                body: slot.body.as_bytes(),
            };
            match self
                .pool
                .send_with_timeout(&req, now_ns, self.config.order_timeout_ns)
            {
                Ok(id) => {
                    self.counters.submits_sent += 1;
                    self.pending.push((id, Pending::Submit { slot: i }, now_ns));
                    self.outbox[i].state = SlotState::InFlight;
                }
                Err(HttpError::NoIdleConnection) => return,
                Err(e) => {
                    // Refused locally (nothing sent) or failed mid-send (bytes may have left:
                    // unknown). Reported by the next `after_io`.
                    self.outbox[i].state = SlotState::Free;
                    self.stash_slot_failure(i, transport_error(e), now_ns);
                }
            }
        }
    }

    /// Orders of a slot whose send failed synchronously: refused locally → failed; otherwise
    /// unknown → reconcile. The events are reported by the next `after_io`.
    fn stash_slot_failure(&mut self, i: usize, error: RestError, now_ns: u64) {
        let slot = &self.outbox[i];
        for id in &slot.ids[..slot.count] {
            if matches!(error, RestError::OutcomeUnknown(_)) {
                self.counters.orders_unknown += 1;
                push_reconcile(
                    &mut self.reconciles,
                    self.config.max_pending,
                    *id,
                    now_ns + self.config.reconcile_delay_ns,
                    0,
                );
            } else {
                self.counters.orders_rejected += 1;
            }
            if self.deferred.len() < self.deferred.capacity() {
                self.deferred.push((*id, error));
            }
        }
    }

    fn timestamp_s(&self) -> u64 {
        let local = crate::clock::wall_ns() / 1_000_000_000;
        local.saturating_add_signed(self.server_offset_s)
    }

    fn send_direct(
        &mut self,
        method: Method,
        path_is_buf: Option<&str>,
        with_body: bool,
        timeout_ns: u64,
        kind: Pending,
        now_ns: u64,
    ) -> Result<RequestId, RestError> {
        if self.pending.len() >= self.config.max_pending {
            return Err(RestError::Refused(LocalRefusal::TooManyInFlight));
        }
        let path: &str = match path_is_buf {
            Some(p) => p,
            None => self.path.as_str(),
        };
        let body: &[u8] = if with_body { self.body.as_bytes() } else { b"" };
        let method_text = std::str::from_utf8(method.as_bytes()).unwrap_or("GET");
        let headers = self
            .creds
            .headers(self.timestamp_s(), method_text, path, body);
        let pairs = super::requests::l2_pairs(&headers);
        let req = Request {
            method,
            path: path.as_bytes(),
            headers: &pairs,
            body,
        };
        let id = self
            .pool
            .send_with_timeout(&req, now_ns, timeout_ns)
            .map_err(transport_error)?;
        self.pending.push((id, kind, now_ns));
        Ok(id)
    }

    /// `DELETE /order` for one order.
    pub fn cancel(&mut self, order_id: &OrderId, now_ns: u64) -> Result<RequestId, RestError> {
        cancel_order_body(&mut self.body, order_id).map_err(RestError::Refused)?;
        self.counters.cancels_sent += 1;
        let t = self.config.order_timeout_ns;
        self.send_direct(
            Method::Delete,
            Some(PATH_ORDER),
            true,
            t,
            Pending::Cancel(CancelKind::One),
            now_ns,
        )
    }

    /// `DELETE /orders` for up to [`super::requests::MAX_CANCEL_IDS`] orders.
    pub fn cancel_many(
        &mut self,
        order_ids: &[OrderId],
        now_ns: u64,
    ) -> Result<RequestId, RestError> {
        cancel_orders_body(&mut self.body, order_ids).map_err(RestError::Refused)?;
        self.counters.cancels_sent += 1;
        let t = self.config.order_timeout_ns;
        self.send_direct(
            Method::Delete,
            Some(PATH_ORDERS),
            true,
            t,
            Pending::Cancel(CancelKind::Many),
            now_ns,
        )
    }

    /// `DELETE /cancel-all`.
    pub fn cancel_all(&mut self, now_ns: u64) -> Result<RequestId, RestError> {
        self.counters.cancels_sent += 1;
        let t = self.config.order_timeout_ns;
        self.send_direct(
            Method::Delete,
            Some(PATH_CANCEL_ALL),
            false,
            t,
            Pending::Cancel(CancelKind::All),
            now_ns,
        )
    }

    /// `DELETE /cancel-market-orders` (empty `market` / `asset_id` are omitted).
    pub fn cancel_market(
        &mut self,
        market: &str,
        asset_id: &str,
        now_ns: u64,
    ) -> Result<RequestId, RestError> {
        cancel_market_body(&mut self.body, market, asset_id).map_err(RestError::Refused)?;
        self.counters.cancels_sent += 1;
        let t = self.config.order_timeout_ns;
        self.send_direct(
            Method::Delete,
            Some(PATH_CANCEL_MARKET),
            true,
            t,
            Pending::Cancel(CancelKind::Market),
            now_ns,
        )
    }

    /// Schedule a reconciliation of `order_id` (e.g. after a restart) due now.
    pub fn reconcile(&mut self, order_id: &OrderId, now_ns: u64) -> Result<(), RestError> {
        if push_reconcile(
            &mut self.reconciles,
            self.config.max_pending,
            *order_id,
            now_ns,
            0,
        ) {
            Ok(())
        } else {
            Err(RestError::Refused(LocalRefusal::TooManyInFlight))
        }
    }

    /// An authenticated tagged request (`GET` paths with their query; bodies for `POST`); the
    /// answer arrives as [`RestEvent::Response`] / [`RestEvent::QueryFailed`] with `tag`.
    pub fn query(
        &mut self,
        tag: u64,
        method: Method,
        path: &str,
        body: &[u8],
        now_ns: u64,
    ) -> Result<RequestId, RestError> {
        self.body.clear();
        self.body.push(body).map_err(RestError::Refused)?;
        let t = self.config.query_timeout_ns;
        self.send_direct(
            method,
            Some(path),
            !body.is_empty(),
            t,
            Pending::Query { tag },
            now_ns,
        )
    }

    /// The pool and the bookkeeping its completions update, borrowed apart.
    fn pool_and_books(&mut self) -> (&mut HttpPool<T, C>, Books<'_>) {
        let books = Books {
            config: &self.config,
            outbox: &mut self.outbox,
            pending: &mut self.pending,
            latency: &mut self.latency,
            reconciles: &mut self.reconciles,
            backoff_until_ns: &mut self.backoff_until_ns,
            post_only_until_ns: &mut self.post_only_until_ns,
            counters: &mut self.counters,
        };
        (&mut self.pool, books)
    }

    /// Drive the connection behind `token` (a readiness event). Returns false when the token
    /// is not one of this client's.
    pub fn on_ready(
        &mut self,
        token: Token,
        now_ns: u64,
        on_event: &mut impl FnMut(RestEvent<'_>),
    ) -> bool {
        let (pool, mut books) = self.pool_and_books();
        let mine = pool.on_ready(token, now_ns, &mut |id, result| {
            books.complete(id, result, now_ns, on_event)
        });
        self.after_io(now_ns, on_event);
        mine
    }

    /// Time-driven work: request deadlines, reconnects, queued submits, due reconciliations,
    /// expiry of submits that found no connection in time. Call when
    /// [`next_deadline_ns`](Self::next_deadline_ns) passes (or every loop turn).
    pub fn on_timer(&mut self, now_ns: u64, on_event: &mut impl FnMut(RestEvent<'_>)) {
        let (pool, mut books) = self.pool_and_books();
        pool.on_timer(now_ns, &mut |id, result| {
            books.complete(id, result, now_ns, on_event)
        });
        self.after_io(now_ns, on_event);
    }

    /// Poll every connection without a readiness event (busy-poll mode).
    pub fn poll_all(&mut self, now_ns: u64, on_event: &mut impl FnMut(RestEvent<'_>)) {
        let (pool, mut books) = self.pool_and_books();
        pool.poll_all(now_ns, &mut |id, result| {
            books.complete(id, result, now_ns, on_event)
        });
        self.after_io(now_ns, on_event);
    }

    /// Earliest time the client needs [`on_timer`](Self::on_timer).
    pub fn next_deadline_ns(&self) -> Option<u64> {
        let queued = self.outbox.iter().filter_map(|s| match s.state {
            SlotState::Queued { queued_ns } => {
                Some(queued_ns.saturating_add(self.config.order_timeout_ns))
            }
            _ => None,
        });
        let reconciles = self.reconciles.iter().map(|j| j.due_ns);
        // A submit held by a 429 is due when the back-off ends.
        let held = self.outbox.iter().find_map(|s| match s.state {
            SlotState::Queued { queued_ns } if queued_ns == self.backoff_until_ns => {
                Some(queued_ns)
            }
            _ => None,
        });
        queued
            .chain(held)
            .chain(reconciles)
            .chain(self.pool.next_deadline_ns())
            .min()
    }

    /// Nothing queued, in flight or waiting for reconciliation.
    pub fn is_quiet(&self) -> bool {
        self.pending.is_empty()
            && self.reconciles.is_empty()
            && self.deferred.is_empty()
            && self.outbox_busy() == 0
    }

    fn after_io(&mut self, now_ns: u64, on_event: &mut impl FnMut(RestEvent<'_>)) {
        for (order_id, error) in self.deferred.drain(..) {
            if matches!(error, RestError::OutcomeUnknown(_)) {
                on_event(RestEvent::OrderUnknown { order_id, error });
            } else {
                on_event(RestEvent::OrderFailed { order_id, error });
            }
        }
        // Submits that waited too long for a connection were never sent.
        for slot in self.outbox.iter_mut() {
            if let SlotState::Queued { queued_ns } = slot.state {
                if now_ns.saturating_sub(queued_ns) >= self.config.order_timeout_ns {
                    slot.state = SlotState::Free;
                    for id in &slot.ids[..slot.count] {
                        self.counters.orders_rejected += 1;
                        on_event(RestEvent::OrderFailed {
                            order_id: *id,
                            error: RestError::NotSent,
                        });
                    }
                }
            }
        }
        self.flush(now_ns);
        self.send_due_reconciles(now_ns, on_event);
    }

    fn send_due_reconciles(&mut self, now_ns: u64, on_event: &mut impl FnMut(RestEvent<'_>)) {
        let mut i = 0;
        while i < self.reconciles.len() {
            let job = self.reconciles[i];
            if job.due_ns > now_ns {
                i += 1;
                continue;
            }
            if self.pool.idle_count() == 0 || self.pending.len() >= self.config.max_pending {
                return;
            }
            if order_path(&mut self.path, &job.order_id).is_err() {
                self.reconciles.swap_remove(i);
                continue;
            }
            let t = self.config.query_timeout_ns;
            let kind = Pending::Reconcile {
                order_id: job.order_id,
                attempt: job.attempt,
            };
            match self.send_direct(Method::Get, None, false, t, kind, now_ns) {
                Ok(_) => {
                    self.counters.reconciles_sent += 1;
                    self.reconciles.swap_remove(i);
                }
                Err(RestError::NotSent) => return,
                Err(error) => {
                    self.reconciles.swap_remove(i);
                    retry_reconcile(
                        &self.config,
                        &mut self.reconciles,
                        job.order_id,
                        job.attempt,
                        error,
                        now_ns,
                        on_event,
                    );
                }
            }
        }
    }
}

fn push_reconcile(
    jobs: &mut Vec<ReconcileJob>,
    cap: usize,
    order_id: OrderId,
    due_ns: u64,
    attempt: u32,
) -> bool {
    if jobs.iter().any(|j| j.order_id == order_id) {
        return true;
    }
    if jobs.len() >= cap {
        return false;
    }
    jobs.push(ReconcileJob {
        order_id,
        due_ns,
        attempt,
    });
    true
}

fn retry_reconcile(
    config: &ClientConfig,
    jobs: &mut Vec<ReconcileJob>,
    order_id: OrderId,
    attempt: u32,
    error: RestError,
    now_ns: u64,
    on_event: &mut impl FnMut(RestEvent<'_>),
) {
    let next = attempt + 1;
    if next >= config.reconcile_attempts
        || !push_reconcile(
            jobs,
            config.max_pending,
            order_id,
            now_ns + config.reconcile_delay_ns,
            next,
        )
    {
        on_event(RestEvent::ReconcileFailed { order_id, error });
    }
}

impl Books<'_> {
    /// The request `id` answered at `now_ns`: forget it, and record its round trip (all
    /// requests, and per endpoint).
    fn take(&mut self, id: RequestId, now_ns: u64) -> Option<Pending> {
        let i = self.pending.iter().position(|(rid, _, _)| *rid == id)?;
        let (_, kind, sent_ns) = self.pending.swap_remove(i);
        let took = now_ns.saturating_sub(sent_ns);
        self.latency.record(Stage::RestRoundTrip, took);
        let endpoint = match kind {
            Pending::Submit { slot } => match self.outbox.get(slot).is_some_and(|s| s.batch) {
                true => Some(Stage::RestPostOrders),
                false => Some(Stage::RestPostOrder),
            },
            Pending::Cancel(_) => Some(Stage::RestCancel),
            Pending::Reconcile { .. } => Some(Stage::RestGetOrder),
            Pending::Query { .. } => None,
        };
        if let Some(stage) = endpoint {
            self.latency.record(stage, took);
        }
        Some(kind)
    }

    /// Record the side effects of an HTTP status on the client's gates.
    fn note_status(&mut self, status: u16, retry_after_s: Option<u32>, now_ns: u64) {
        match status {
            429 => {
                self.counters.rate_limited += 1;
                let wait = retry_after_s
                    .map(|s| u64::from(s) * 1_000_000_000)
                    .unwrap_or(self.config.default_retry_after_ns);
                *self.backoff_until_ns = (*self.backoff_until_ns).max(now_ns + wait);
            }
            425 | 503 => {
                if status == 425 {
                    self.counters.engine_restarts += 1;
                }
                *self.post_only_until_ns = (*self.post_only_until_ns)
                    .max(now_ns.saturating_add(self.config.post_only_window_ns));
            }
            _ => {}
        }
    }

    fn note_reject(&mut self, reason: OrderRejectReason, now_ns: u64) {
        if reason == OrderRejectReason::PostOnlyMode {
            *self.post_only_until_ns = (*self.post_only_until_ns)
                .max(now_ns.saturating_add(self.config.post_only_window_ns));
        }
    }

    fn complete(
        &mut self,
        id: RequestId,
        result: Result<ResponseView<'_>, HttpError>,
        now_ns: u64,
        on_event: &mut impl FnMut(RestEvent<'_>),
    ) {
        let Some(kind) = self.take(id, now_ns) else {
            self.counters.orphan_answers += 1;
            return;
        };
        match kind {
            Pending::Submit { slot } => self.complete_submit(slot, result, now_ns, on_event),
            Pending::Cancel(kind) => self.complete_cancel(kind, result, now_ns, on_event),
            Pending::Reconcile { order_id, attempt } => {
                self.complete_reconcile(order_id, attempt, result, now_ns, on_event)
            }
            Pending::Query { tag } => match result {
                Ok(view) => {
                    self.note_status(view.status, view.retry_after_s, now_ns);
                    on_event(RestEvent::Response {
                        tag,
                        status: view.status,
                        body: view.body,
                    });
                }
                Err(e) => on_event(RestEvent::QueryFailed {
                    tag,
                    error: transport_error(e),
                }),
            },
        }
    }

    fn unknown(&mut self, order_id: OrderId, error: RestError, now_ns: u64) -> RestEvent<'static> {
        self.counters.orders_unknown += 1;
        push_reconcile(
            self.reconciles,
            self.config.max_pending,
            order_id,
            now_ns + self.config.reconcile_delay_ns,
            0,
        );
        RestEvent::OrderUnknown { order_id, error }
    }

    fn complete_submit(
        &mut self,
        slot_index: usize,
        result: Result<ResponseView<'_>, HttpError>,
        now_ns: u64,
        on_event: &mut impl FnMut(RestEvent<'_>),
    ) {
        let Some(slot) = self.outbox.get_mut(slot_index) else {
            return;
        };
        slot.state = SlotState::Free;
        let (ids, count, batch) = (slot.ids, slot.count, slot.batch);
        let ids = &ids[..count];
        let view = match result {
            Ok(view) => view,
            Err(e) => {
                for id in ids {
                    let ev = self.unknown(*id, transport_error(e), now_ns);
                    on_event(ev);
                }
                return;
            }
        };
        self.note_status(view.status, view.retry_after_s, now_ns);
        if view.status == 429 {
            let until = *self.backoff_until_ns;
            if until.saturating_sub(now_ns) <= self.config.max_rate_limit_hold_ns {
                // Not placed: hold the rendered slot and send it again when the back-off ends
                // (its expiry counts from then).
                if let Some(slot) = self.outbox.get_mut(slot_index) {
                    slot.state = SlotState::Queued { queued_ns: until };
                }
                self.counters.submits_held += 1;
                return;
            }
        }
        if let Some(error) = status_error(view.status, view.retry_after_s, view.body) {
            let definite = matches!(
                error,
                RestError::BadRequest(_)
                    | RestError::Unauthorized
                    | RestError::EngineRestarting
                    | RestError::RateLimited { .. }
                    | RestError::TradingDisabled
                    | RestError::NotFound
            ) || (400..500).contains(&view.status);
            if let RestError::BadRequest(reason) = error {
                self.note_reject(reason, now_ns);
            }
            for id in ids {
                if definite {
                    self.counters.orders_rejected += 1;
                    on_event(RestEvent::OrderFailed {
                        order_id: *id,
                        error,
                    });
                } else {
                    let ev = self.unknown(*id, error, now_ns);
                    on_event(ev);
                }
            }
            return;
        }
        let mut answered = [false; MAX_BATCH];
        let parsed = if batch {
            let mut legs = [None::<OrderAck>; MAX_BATCH];
            let r = parse_batch_response(view.body, |i, ack| {
                if let Some(leg) = legs.get_mut(i) {
                    *leg = Some(ack);
                }
            });
            if r.is_ok() {
                for (i, id) in ids.iter().enumerate() {
                    if let Some(ack) = legs[i] {
                        answered[i] = true;
                        self.report_ack(*id, ack, now_ns, on_event);
                    }
                }
            }
            r.map(|_| ())
        } else {
            parse_order_response(view.body).map(|ack| {
                answered[0] = true;
                if let Some(id) = ids.first() {
                    self.report_ack(*id, ack, now_ns, on_event);
                }
            })
        };
        if parsed.is_err() {
            self.counters.malformed += 1;
        }
        // Orders the answer did not cover (malformed body, missing legs): unknown.
        for (i, id) in ids.iter().enumerate() {
            if !answered[i] {
                let ev = self.unknown(*id, RestError::Malformed, now_ns);
                on_event(ev);
            }
        }
    }

    fn report_ack(
        &mut self,
        order_id: OrderId,
        ack: OrderAck,
        now_ns: u64,
        on_event: &mut impl FnMut(RestEvent<'_>),
    ) {
        // An answer naming another order cannot be trusted for this one: reconcile it.
        if ack.order_id.is_some_and(|answered| answered != order_id) {
            self.counters.malformed += 1;
            let ev = self.unknown(order_id, RestError::Malformed, now_ns);
            on_event(ev);
            return;
        }
        if ack.accepted() {
            self.counters.orders_accepted += 1;
        } else {
            self.counters.orders_rejected += 1;
            if let Some(reason) = ack.error {
                self.note_reject(reason, now_ns);
            }
        }
        on_event(RestEvent::OrderAck { order_id, ack });
    }

    fn complete_cancel(
        &mut self,
        kind: CancelKind,
        result: Result<ResponseView<'_>, HttpError>,
        now_ns: u64,
        on_event: &mut impl FnMut(RestEvent<'_>),
    ) {
        let view = match result {
            Ok(v) => v,
            Err(e) => {
                on_event(RestEvent::CancelFailed {
                    kind,
                    error: transport_error(e),
                });
                return;
            }
        };
        self.note_status(view.status, view.retry_after_s, now_ns);
        if let Some(error) = status_error(view.status, view.retry_after_s, view.body) {
            on_event(RestEvent::CancelFailed { kind, error });
            return;
        }
        let parsed = parse_cancel_response(view.body, |order_id, reason| match reason {
            None => on_event(RestEvent::Canceled { order_id }),
            Some(reason) => on_event(RestEvent::NotCanceled { order_id, reason }),
        });
        if parsed.is_err() {
            self.counters.malformed += 1;
            on_event(RestEvent::CancelFailed {
                kind,
                error: RestError::Malformed,
            });
        }
    }

    fn complete_reconcile(
        &mut self,
        order_id: OrderId,
        attempt: u32,
        result: Result<ResponseView<'_>, HttpError>,
        now_ns: u64,
        on_event: &mut impl FnMut(RestEvent<'_>),
    ) {
        let error = match result {
            Ok(view) => {
                self.note_status(view.status, view.retry_after_s, now_ns);
                if view.status == 404 {
                    on_event(RestEvent::Reconciled {
                        order_id,
                        row: None,
                    });
                    return;
                }
                match status_error(view.status, view.retry_after_s, view.body) {
                    Some(e) => e,
                    None => match parse_single_order(view.body) {
                        Ok(row) => {
                            on_event(RestEvent::Reconciled { order_id, row });
                            return;
                        }
                        Err(_) => {
                            self.counters.malformed += 1;
                            RestError::Malformed
                        }
                    },
                }
            }
            Err(e) => transport_error(e),
        };
        retry_reconcile(
            self.config,
            self.reconciles,
            order_id,
            attempt,
            error,
            now_ns,
            on_event,
        );
    }
}
