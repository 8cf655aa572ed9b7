//! The CLOB user channel (`/ws/user`, protocol §5) over [`WsClient`]: the authenticated
//! initial frame `{"type":"user","auth":{…},"markets":[…]}` on every (re)connect, dynamic
//! subscribe / unsubscribe, text `PING` keep-alive and a watchdog that a `PONG` satisfies (both
//! by [`WsOptions`]), and allocation-free parsing of `order` / `trade` events (a single object or
//! an array per frame) handed to the caller, typically straight into the
//! [`Tracker`](crate::exec::orders::Tracker).
//!
//! Invariants: a malformed or truncated frame is counted and skipped, never a panic; unknown
//! `event_type`s and fields are ignored; every reconnect is reported as
//! [`UserChannelEvent::Reconnected`] so the owner reconciles open orders and trades over REST
//! ([`reconcile_over_rest`], all pages) and nothing missed while disconnected is lost; the API
//! secret is only ever written into the subscription frame, never logged or shown by `Debug`.

use std::time::Duration;

use mio::{Registry, Token};
use zeroize::Zeroizing;

use crate::exec::events::{classify_element, split_frame, OrderEvent, TradeEvent, UserMessage};
use crate::exec::orders::Tracker;
use crate::exec::rest::blocking::BlockingClob;
use crate::exec::rest::requests::LedgerFilter;
use crate::exec::rest::RestError;
use crate::net::http::Connect;
use crate::net::transport::Transport;
use crate::net::ws::{Connector, WsClient, WsError, WsOptions};

/// Polymarket's keep-alive period.
pub const PING_INTERVAL: Duration = Duration::from_secs(10);
/// No data for this long drops the connection (the SDK's stale threshold).
pub const SILENCE_TIMEOUT: Duration = Duration::from_secs(30);
/// Condition ids subscribed at most.
pub const MAX_MARKETS: usize = 256;
/// Longest condition id accepted (`0x` + 64 hex).
const MAX_ID_LEN: usize = 66;

/// What the channel reports.
#[derive(Debug)]
pub enum UserChannelEvent<'a, 'b> {
    /// An `order` event.
    Order(&'b OrderEvent<'a>),
    /// A `trade` event.
    Trade(&'b TradeEvent<'a>),
    /// A connection (re)opened and the subscription was sent: reconcile over REST now.
    Reconnected,
}

/// Counters (monotonic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserChannelCounters {
    /// Frames received (excluding `PONG`).
    pub frames: u64,
    /// `order` events delivered.
    pub orders: u64,
    /// `trade` events delivered.
    pub trades: u64,
    /// Elements with another `event_type`.
    pub other: u64,
    /// Malformed frames or elements.
    pub malformed: u64,
    /// Connections opened.
    pub opens: u64,
    /// Subscription frames that could not be sent.
    pub send_failures: u64,
}

/// Why a subscription change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// A condition id with characters other than `0x` hex / alphanumerics, or too long.
    #[error("condition id is not a plain identifier")]
    BadId,
    /// More than [`MAX_MARKETS`].
    #[error("too many markets")]
    TooMany,
    /// Credentials with characters needing JSON escapes.
    #[error("credentials contain characters that need escaping")]
    BadCredentials,
    /// The frame could not be sent.
    #[error("send failed: {0}")]
    Send(#[from] WsError),
}

/// User-channel credentials (redacted in `Debug`).
pub struct UserAuth {
    api_key: String,
    secret: Zeroizing<String>,
    passphrase: Zeroizing<String>,
}

impl UserAuth {
    /// Check and keep the three credentials.
    pub fn new(api_key: &str, secret: &str, passphrase: &str) -> Result<Self, SubscribeError> {
        let plain = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        };
        if !plain(api_key) || !plain(secret) || !plain(passphrase) {
            return Err(SubscribeError::BadCredentials);
        }
        Ok(Self {
            api_key: api_key.to_owned(),
            secret: Zeroizing::new(secret.to_owned()),
            passphrase: Zeroizing::new(passphrase.to_owned()),
        })
    }
}

impl std::fmt::Debug for UserAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAuth")
            .field("api_key", &self.api_key)
            .field("secret", &"<redacted>")
            .field("passphrase", &"<redacted>")
            .finish()
    }
}

/// Force the Polymarket keep-alive onto `options`: text `PING` every 10 s, `PONG` swallowed
/// and counted as proof of life, a 30 s watchdog unless a shorter one is set. The user channel
/// sends nothing while no order of the account changes, so a quiet but answering link is
/// healthy (the SDK's rule: stale after 30 s without a `PONG`); dropping it would open a gap in
/// the order events and a REST reconciliation every 30 s.
pub fn user_ws_options(mut options: WsOptions) -> WsOptions {
    options.app_ping_interval = Some(PING_INTERVAL);
    options.app_ping_text = b"PING".to_vec();
    options.app_pong_text = Some(b"PONG".to_vec());
    options.app_pong_keeps_alive = true;
    options.silence_timeout = Some(
        options
            .silence_timeout
            .map_or(SILENCE_TIMEOUT, |s| s.min(SILENCE_TIMEOUT)),
    );
    options
}

/// The user-channel client. See the module docs.
pub struct UserChannel<C: Connector> {
    ws: WsClient<C>,
    auth: UserAuth,
    markets: Vec<[u8; MAX_ID_LEN]>,
    market_lens: Vec<u8>,
    frame: Zeroizing<Vec<u8>>,
    counters: UserChannelCounters,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl<C: Connector> UserChannel<C> {
    /// Build the client (not connected: call [`start`](Self::start)). `options` get the
    /// Polymarket keep-alive ([`user_ws_options`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        connector: C,
        url: &str,
        options: WsOptions,
        registry: &Registry,
        token: Token,
        conn_id: u16,
        auth: UserAuth,
        markets: &[&str],
    ) -> Result<Self, SubscribeError> {
        let ws = WsClient::new(
            connector,
            url,
            &[],
            user_ws_options(options),
            registry,
            token,
            conn_id,
        )?;
        let mut channel = Self {
            ws,
            auth,
            markets: Vec::with_capacity(MAX_MARKETS),
            market_lens: Vec::with_capacity(MAX_MARKETS),
            frame: Zeroizing::new(Vec::with_capacity(512 + MAX_MARKETS * (MAX_ID_LEN + 3))),
            counters: UserChannelCounters::default(),
        };
        channel.add_markets(markets)?;
        Ok(channel)
    }

    /// Counters.
    pub fn counters(&self) -> &UserChannelCounters {
        &self.counters
    }

    /// The WebSocket client (state, counters, deadlines).
    pub fn ws(&self) -> &WsClient<C> {
        &self.ws
    }

    /// Start connecting.
    pub fn start(&mut self, now_ns: u64) -> Result<(), WsError> {
        self.ws.start(now_ns)
    }

    /// Close and stop reconnecting.
    pub fn close(&mut self, now_ns: u64) {
        self.ws.close(now_ns);
    }

    fn add_markets(&mut self, markets: &[&str]) -> Result<(), SubscribeError> {
        for m in markets {
            if !valid_id(m) {
                return Err(SubscribeError::BadId);
            }
        }
        for m in markets {
            if self.position(m).is_some() {
                continue;
            }
            if self.markets.len() >= MAX_MARKETS {
                return Err(SubscribeError::TooMany);
            }
            let mut id = [0u8; MAX_ID_LEN];
            id[..m.len()].copy_from_slice(m.as_bytes());
            self.markets.push(id);
            self.market_lens.push(m.len() as u8);
        }
        Ok(())
    }

    fn position(&self, m: &str) -> Option<usize> {
        self.markets
            .iter()
            .zip(&self.market_lens)
            .position(|(id, &len)| &id[..usize::from(len)] == m.as_bytes())
    }

    fn market(&self, i: usize) -> &[u8] {
        &self.markets[i][..usize::from(self.market_lens[i])]
    }

    /// Render the initial frame (`markets` omitted when none: all markets).
    fn render_initial(&mut self) {
        let mut frame = std::mem::take(&mut *self.frame);
        frame.clear();
        frame.extend_from_slice(b"{\"type\":\"user\",\"auth\":{\"apiKey\":\"");
        frame.extend_from_slice(self.auth.api_key.as_bytes());
        frame.extend_from_slice(b"\",\"secret\":\"");
        frame.extend_from_slice(self.auth.secret.as_bytes());
        frame.extend_from_slice(b"\",\"passphrase\":\"");
        frame.extend_from_slice(self.auth.passphrase.as_bytes());
        frame.extend_from_slice(b"\"}");
        if !self.markets.is_empty() {
            frame.extend_from_slice(b",\"markets\":[");
            for i in 0..self.markets.len() {
                if i > 0 {
                    frame.push(b',');
                }
                frame.push(b'"');
                frame.extend_from_slice(self.market(i));
                frame.push(b'"');
            }
            frame.push(b']');
        }
        frame.push(b'}');
        *self.frame = frame;
    }

    /// The initial frame as it would be sent now (tests; contains the secret).
    pub fn initial_frame(&mut self) -> &[u8] {
        self.render_initial();
        &self.frame
    }

    fn send_operation(
        &mut self,
        op: &str,
        ids: &[&str],
        now_ns: u64,
    ) -> Result<(), SubscribeError> {
        let mut frame = std::mem::take(&mut *self.frame);
        frame.clear();
        frame.extend_from_slice(b"{\"operation\":\"");
        frame.extend_from_slice(op.as_bytes());
        frame.extend_from_slice(b"\",\"markets\":[");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                frame.push(b',');
            }
            frame.push(b'"');
            frame.extend_from_slice(id.as_bytes());
            frame.push(b'"');
        }
        frame.extend_from_slice(b"]}");
        let sent = if self.ws.state() == crate::net::ws::WsState::Open {
            self.ws
                .send_text(now_ns, &frame)
                .map_err(SubscribeError::from)
        } else {
            // Not open: the next initial frame carries the new set.
            Ok(())
        };
        *self.frame = frame;
        sent
    }

    /// Subscribe to more markets (sent now when open, and part of every initial frame).
    pub fn subscribe(&mut self, markets: &[&str], now_ns: u64) -> Result<(), SubscribeError> {
        self.add_markets(markets)?;
        self.send_operation("subscribe", markets, now_ns)
    }

    /// Unsubscribe from markets.
    pub fn unsubscribe(&mut self, markets: &[&str], now_ns: u64) -> Result<(), SubscribeError> {
        for m in markets {
            if !valid_id(m) {
                return Err(SubscribeError::BadId);
            }
            if let Some(i) = self.position(m) {
                self.markets.swap_remove(i);
                self.market_lens.swap_remove(i);
            }
        }
        self.send_operation("unsubscribe", markets, now_ns)
    }

    /// Read and deliver everything available.
    pub fn on_ready(
        &mut self,
        now_ns: u64,
        mut f: impl FnMut(UserChannelEvent<'_, '_>),
    ) -> Result<usize, WsError> {
        let counters = &mut self.counters;
        let r = self.ws.poll_read(now_ns, |payload, _| {
            counters.frames += 1;
            parse_user_frame(payload, counters, &mut f);
        });
        self.after_io(now_ns, &mut f);
        r
    }

    /// Timers: keep-alive, watchdog, reconnects; sends the subscription on a new connection.
    pub fn on_timer(
        &mut self,
        now_ns: u64,
        mut f: impl FnMut(UserChannelEvent<'_, '_>),
    ) -> Result<(), WsError> {
        let r = self.ws.on_timer(now_ns);
        self.after_io(now_ns, &mut f);
        r
    }

    fn after_io(&mut self, now_ns: u64, f: &mut impl FnMut(UserChannelEvent<'_, '_>)) {
        if self.ws.take_just_opened() {
            self.counters.opens += 1;
            self.render_initial();
            if self.ws.send_text(now_ns, &self.frame).is_err() {
                self.counters.send_failures += 1;
            }
            f(UserChannelEvent::Reconnected);
        }
    }
}

/// Parse one user-channel frame (object or array of objects), delivering `order` and `trade`
/// events to `f` and counting the rest. Never panics.
pub fn parse_user_frame(
    frame: &[u8],
    counters: &mut UserChannelCounters,
    f: &mut impl FnMut(UserChannelEvent<'_, '_>),
) {
    let result = split_frame(frame, |element| match classify_element(element) {
        Ok(UserMessage::Order(ev)) => {
            counters.orders += 1;
            f(UserChannelEvent::Order(&ev));
        }
        Ok(UserMessage::Trade(ev)) => {
            counters.trades += 1;
            f(UserChannelEvent::Trade(&ev));
        }
        Ok(UserMessage::Other) => counters.other += 1,
        Err(_) => counters.malformed += 1,
    });
    if result.is_err() {
        counters.malformed += 1;
    }
}

/// After a (re)connect: feed every open order and every trade known to the venue (all pages)
/// into `tracker`, so nothing that happened while disconnected is missed. Returns the rows seen
/// (orders, trades). Blocking: risk thread or start-up.
pub fn reconcile_over_rest<T: Transport, C: Connect<T>>(
    clob: &mut BlockingClob<T, C>,
    tracker: &mut Tracker,
    filter: &LedgerFilter<'_>,
) -> Result<(usize, usize), RestError> {
    let orders = clob.all_open_orders(filter, |row| tracker.on_order_event(row))?;
    let trades = clob.all_trades(filter, |row| {
        let _ = tracker.on_trade_event(row);
    })?;
    Ok((orders, trades))
}
