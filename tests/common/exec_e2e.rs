//! Set-up shared by the end-to-end execution tests: an in-process simulator with fast trade
//! statuses, and the engine's execution side against it over TLS — the non-blocking order
//! client on a mio poll loop (blocking-poll mode), the user channel, the blocking REST client
//! for reconciliation and heartbeats, and the order tracker fed by all of them.
//!
//! Every wait is a condition polled with a generous wall-clock deadline that fails with a clear
//! message; nothing measures a duration.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use sattebaaz::clock::{mono_ns, wall_ms};
use sattebaaz::discovery::fetch::UrlConnector;
use sattebaaz::exec::heartbeat::{HeartbeatSender, KillSwitch};
use sattebaaz::exec::json::{order_id_text, OrderId};
use sattebaaz::exec::orders::{FeeParams, OrderState, Tracker, TrackerConfig};
use sattebaaz::exec::rest::blocking::{self, BlockingClob, BlockingConfig};
use sattebaaz::exec::rest::client::{CancelKind, ClientConfig, RestClient, RestEvent};
use sattebaaz::exec::rest::errors::{LocalRefusal, OrderRejectReason, RestError};
use sattebaaz::exec::rest::requests::LedgerFilter;
use sattebaaz::exec::rest::responses::OrderStatus;
use sattebaaz::exec::signing::address::Address;
use sattebaaz::exec::signing::amounts::{limit_order_amounts, Side, TickSize};
use sattebaaz::exec::signing::body::{BatchItem, PostOptions};
use sattebaaz::exec::signing::eip712::{Exchange, OrderVariables, CHAIN_ID};
use sattebaaz::exec::signing::hmac::L2Credentials;
use sattebaaz::exec::signing::order::{
    OrderTemplate, OrderType, SignatureType, SignedOrder, TokenId,
};
use sattebaaz::exec::signing::signer::EoaSigner;
use sattebaaz::exec::user_channel::{reconcile_over_rest, UserAuth, UserChannel, UserChannelEvent};
use sattebaaz::net::backoff::BackoffPolicy;
use sattebaaz::net::http::{HttpPool, PoolConfig, RequestTemplate, TlsConnector};
use sattebaaz::net::tls::{MaybeTls, TlsClientConfigBuilder, TlsStream};
use sattebaaz::net::ws::{MaybeTlsConnector, WsOptions, WsState};
use sattebaaz::sim::exchange::ratelimit::BucketSpec;
use sattebaaz::sim::exchange::records::TradeStatus as SimTradeStatus;
use sattebaaz::sim::exchange::ExchangeOptions;
use sattebaaz::sim::polymarket::{MarketSpec, PolySimOptions, WindowKind};
use sattebaaz::sim::{SimOptions, Simulator};

/// Every wait gives up (failing the test) after this long.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(40);
/// Every account starts with 1 000 000 pUSD.
pub const STARTING_COLLATERAL: i64 = 1_000_000_000_000;
const USER_TOKEN: Token = Token(0);
const REST_TOKEN_BASE: usize = 10;

/// Exchange options with short trade-status delays and generous rate limits.
pub fn fast_exchange() -> ExchangeOptions {
    ExchangeOptions {
        starting_collateral: STARTING_COLLATERAL,
        taker_delay_ms: 0,
        mined_delay_ms: 150,
        confirmed_delay_ms: 150,
        heartbeat_timeout_ms: 1_500,
        order_rate: BucketSpec {
            rate_per_s: 1_000.0,
            burst: 10_000.0,
        },
        cancel_rate: BucketSpec {
            rate_per_s: 1_000.0,
            burst: 10_000.0,
        },
        ..ExchangeOptions::default()
    }
}

/// Start a simulator (one BTC 15-minute market type) with `exchange`.
pub fn start_sim(tag: &str, exchange: ExchangeOptions) -> Simulator {
    let dir = std::env::temp_dir().join(format!("sattebaaz-e2e-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Simulator::start_with(
        &SimOptions {
            seed: 91,
            bind: "127.0.0.1".into(),
            assets: vec!["btc".into()],
            ca_file: dir.join("ca.pem"),
            step: Duration::from_millis(5),
        },
        &PolySimOptions {
            markets: vec![MarketSpec {
                asset: "btc".into(),
                kind: WindowKind::Min15,
            }],
            rtds_gap_prob: 0.0,
            exchange,
            ..PolySimOptions::default()
        },
    )
    .expect("simulator starts")
}

/// The next (pre-open) window: Up token, Down token, condition id.
pub fn next_market(sim: &Simulator) -> (String, String, String) {
    let now_s = wall_ms() / 1000;
    let st = sattebaaz::sim::polymarket::lock(&sim.polymarket_state);
    let m = st
        .markets
        .iter()
        .filter(|m| m.info.start_s > now_s)
        .max_by_key(|m| m.info.start_s)
        .or_else(|| st.markets.iter().max_by_key(|m| m.info.end_s))
        .expect("a listed market");
    (
        m.info.token_ids[0].clone(),
        m.info.token_ids[1].clone(),
        m.info.condition_id.clone(),
    )
}

/// What the order client reported, owned.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    /// Venue answer.
    Ack {
        id: OrderId,
        success: bool,
        status: OrderStatus,
        error: Option<OrderRejectReason>,
        making: u64,
        taking: u64,
    },
    /// Definitely not placed.
    Failed(OrderId, RestError),
    /// Outcome unknown.
    Unknown(OrderId, RestError),
    /// Reconciled: whether the venue knew the order.
    Reconciled(OrderId, bool),
    /// Reconciliation gave up.
    ReconcileFailed(OrderId),
    /// Canceled.
    Canceled(OrderId),
    /// Not canceled.
    NotCanceled(OrderId, String),
    /// A cancel request failed.
    CancelFailed(CancelKind, RestError),
}

fn seen(ev: &RestEvent<'_>) -> Option<Seen> {
    Some(match ev {
        RestEvent::OrderAck { order_id, ack } => Seen::Ack {
            id: *order_id,
            success: ack.accepted(),
            status: ack.status,
            error: ack.error,
            making: ack.making_micros,
            taking: ack.taking_micros,
        },
        RestEvent::OrderFailed { order_id, error } => Seen::Failed(*order_id, *error),
        RestEvent::OrderUnknown { order_id, error } => Seen::Unknown(*order_id, *error),
        RestEvent::Reconciled { order_id, row } => Seen::Reconciled(*order_id, row.is_some()),
        RestEvent::ReconcileFailed { order_id, .. } => Seen::ReconcileFailed(*order_id),
        RestEvent::Canceled { order_id } => Seen::Canceled(*order_id),
        RestEvent::NotCanceled { order_id, reason } => {
            Seen::NotCanceled(*order_id, (*reason).to_string())
        }
        RestEvent::CancelFailed { kind, error } => Seen::CancelFailed(*kind, *error),
        RestEvent::Response { .. } | RestEvent::QueryFailed { .. } => return None,
    })
}

/// The `0x…` text of an order id (the simulator's key).
pub fn id_text(id: &OrderId) -> String {
    String::from_utf8(order_id_text(id).to_vec()).unwrap()
}

/// The order client over TLS.
pub type OrderClient = RestClient<TlsStream, TlsConnector>;

/// Engine-side tunables of a test.
#[derive(Clone, Copy, Debug)]
pub struct EngineSetup {
    /// The order client's settings.
    pub client: ClientConfig,
    /// Reconnect delay of the user channel.
    pub user_reconnect: Duration,
    /// Taker fee rate the tracker falls back on (the market's `fd` overrides it).
    pub fallback_fee_rate_micros: u64,
}

impl Default for EngineSetup {
    fn default() -> Self {
        Self {
            client: ClientConfig {
                order_timeout_ns: 1_500_000_000,
                reconcile_delay_ns: 300_000_000,
                post_only_window_ns: 5_000_000_000,
                ..ClientConfig::default()
            },
            user_reconnect: Duration::from_millis(50),
            fallback_fee_rate_micros: 0,
        }
    }
}

/// The engine's execution side, driven by [`Engine::turn`].
pub struct Engine {
    poll: Poll,
    events: Events,
    /// The non-blocking order client.
    pub client: RestClient<TlsStream, TlsConnector>,
    /// The user channel.
    pub channel: UserChannel<MaybeTlsConnector>,
    /// Blocking REST (reconciliation, heartbeats, queries).
    pub blocking: BlockingClob<MaybeTls, UrlConnector>,
    /// The tracker every event goes to.
    pub tracker: Tracker,
    /// Heartbeats, sent by `turn` while `beating`.
    pub heartbeat: HeartbeatSender,
    /// Whether `turn` sends heartbeats.
    pub beating: bool,
    /// Whether `turn` drives the user channel.
    pub drive_channel: bool,
    signer: EoaSigner,
    /// The wallet (also the funder / maker).
    pub address: Address,
    /// Our API key.
    pub api_key: String,
    templates: HashMap<String, OrderTemplate>,
    salt: u64,
    /// Everything the order client reported, in order.
    pub log: Vec<Seen>,
    clob_url: String,
    tls: Arc<rustls::ClientConfig>,
    l2: L2Credentials,
    /// Trade statuses seen on the user channel: (trade id, status).
    pub trade_log: Vec<(String, String)>,
    /// User-channel (re)connections, each followed by a REST reconciliation.
    pub reconnects: usize,
    /// Rows fed into the tracker by REST reconciliations (orders, trades).
    pub reconciled_rows: (usize, usize),
}

impl Engine {
    /// Connect wallet `key` to `sim` and subscribe the user channel to `markets`; returns once
    /// the REST pool is warm and the user channel has opened (and reconciled once).
    pub fn start(sim: &Simulator, key: [u8; 32], markets: &[&str], setup: EngineSetup) -> Engine {
        let signer = EoaSigner::from_bytes(&key).unwrap();
        let address = signer.address();
        let creds = sim.register_api_key(&address, 0);
        let l2 =
            L2Credentials::new(address, &creds.api_key, &creds.secret, &creds.passphrase).unwrap();
        let tls = TlsClientConfigBuilder::new()
            .webpki_roots(false)
            .extra_ca_file(sim.ca_file())
            .build()
            .unwrap();
        let backoff = BackoffPolicy::new(
            Duration::from_millis(20),
            2.0,
            Duration::from_millis(200),
            0.0,
        )
        .unwrap();
        let poll = Poll::new().unwrap();
        let pool = HttpPool::new(
            PoolConfig {
                connections: 2,
                token_base: REST_TOKEN_BASE,
                ..PoolConfig::default()
            },
            RequestTemplate::new("localhost", &[("Content-Type", "application/json")]).unwrap(),
            TlsConnector {
                addr: sim.clob.addr,
                config: Arc::clone(&tls),
                server_name: "localhost".into(),
            },
            backoff,
            poll.registry(),
        )
        .unwrap();
        let client = RestClient::new(pool, l2.clone(), setup.client);
        let channel = UserChannel::new(
            MaybeTlsConnector {
                addr: sim.polymarket_user.addr,
                tls: Some((Arc::clone(&tls), "localhost".into())),
            },
            &format!(
                "wss://localhost:{}/ws/user",
                sim.polymarket_user.addr.port()
            ),
            WsOptions {
                backoff: BackoffPolicy::new(setup.user_reconnect, 1.0, setup.user_reconnect, 0.0)
                    .unwrap(),
                ..WsOptions::default()
            },
            poll.registry(),
            USER_TOKEN,
            1,
            UserAuth::new(&creds.api_key, &creds.secret, &creds.passphrase).unwrap(),
            markets,
        )
        .unwrap();
        let blocking = blocking::connect(
            &sim.clob_url(),
            Arc::clone(&tls),
            Some(l2.clone()),
            BlockingConfig::default(),
            backoff,
        )
        .unwrap();
        let mut tracker = Tracker::new(TrackerConfig {
            order_capacity: 512,
            trade_capacity: 512,
            token_capacity: 16,
            taker_fee_rate_micros: setup.fallback_fee_rate_micros,
            api_key: creds.api_key.clone(),
        });
        tracker.set_collateral(STARTING_COLLATERAL);
        let mut engine = Engine {
            poll,
            events: Events::with_capacity(64),
            client,
            channel,
            blocking,
            tracker,
            heartbeat: HeartbeatSender::new(300_000_000, 100_000_000),
            beating: false,
            drive_channel: true,
            signer,
            address,
            api_key: creds.api_key,
            templates: HashMap::new(),
            salt: u64::from(key[0]) << 40,
            log: Vec::new(),
            clob_url: sim.clob_url(),
            tls,
            l2,
            trade_log: Vec::new(),
            reconnects: 0,
            reconciled_rows: (0, 0),
        };
        engine.channel.start(mono_ns()).unwrap();
        engine.run_until("REST pool warm and user channel open", |e| {
            e.client.pool().idle_count() == 2
                && e.reconnects >= 1
                && e.channel.ws().state() == WsState::Open
        });
        engine
    }

    /// The funder address as the simulator's ledger keys it.
    pub fn account(&self) -> String {
        format!(
            "0x{}",
            self.address
                .0
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    }

    /// Use the market's fee parameters (`GET /clob-markets/<condition>` `fd`) for its tokens.
    pub fn learn_market_fees(&mut self, condition: &str) -> FeeParams {
        let info = self.blocking.clob_market(condition).expect("clob-markets");
        let fee = FeeParams {
            rate_micros: info.fees.rate.0,
            exponent: u32::try_from(info.fees.exponent.0).unwrap(),
        };
        for t in &info.tokens {
            let word = *TokenId::parse(&t.token_id).unwrap().word();
            self.tracker.set_market_fee(&word, fee).unwrap();
        }
        fee
    }

    /// One loop turn: wait for readiness (blocking poll, short timeout), drive the order client
    /// and the user channel, reconcile over REST after a (re)connect, beat when due.
    pub fn turn(&mut self) {
        self.poll
            .poll(&mut self.events, Some(Duration::from_millis(2)))
            .unwrap();
        let now = mono_ns();
        let mut ready: Vec<Token> = self.events.iter().map(|e| e.token()).collect();
        ready.dedup();
        let Engine {
            client,
            channel,
            tracker,
            log,
            trade_log,
            drive_channel,
            ..
        } = self;
        let mut on_rest = |ev: RestEvent<'_>| {
            tracker.on_rest_event(&ev);
            if let Some(s) = seen(&ev) {
                log.push(s);
            }
        };
        for t in &ready {
            if *t != USER_TOKEN {
                client.on_ready(*t, now, &mut on_rest);
            }
        }
        client.on_timer(mono_ns(), &mut on_rest);
        let mut reconnected = false;
        if *drive_channel {
            let mut on_user = |ev: UserChannelEvent<'_, '_>| match ev {
                UserChannelEvent::Order(o) => tracker.on_order_event(o),
                UserChannelEvent::Trade(t) => {
                    trade_log.push((t.id.to_string(), t.status.to_string()));
                    tracker.on_trade_event(t).expect("tracker has room");
                }
                UserChannelEvent::Reconnected => reconnected = true,
            };
            let _ = channel.on_ready(mono_ns(), &mut on_user);
            let _ = channel.on_timer(mono_ns(), &mut on_user);
        }
        if reconnected {
            self.reconnects += 1;
            let filter = LedgerFilter {
                market: "",
                asset_id: "",
                id: "",
            };
            let (o, t) = reconcile_over_rest(&mut self.blocking, &mut self.tracker, &filter)
                .expect("REST reconciliation");
            self.reconciled_rows.0 += o;
            self.reconciled_rows.1 += t;
        }
        if self.beating {
            self.heartbeat.tick(mono_ns(), &mut self.blocking, mono_ns);
        }
    }

    /// Turn until `done` holds; fails with `what` after [`GIVE_UP_AFTER`].
    pub fn run_until(&mut self, what: &str, mut done: impl FnMut(&Engine) -> bool) {
        let give_up = Instant::now() + GIVE_UP_AFTER;
        while !done(self) {
            assert!(
                Instant::now() < give_up,
                "gave up waiting for: {what}\nclient log: {:?}\ntrades seen: {:?}",
                self.log,
                self.trade_log
            );
            self.turn();
        }
    }

    /// Send a request with the order client as soon as a connection is idle (turning the loop
    /// while every connection is busy or reconnecting).
    pub fn send(
        &mut self,
        what: &str,
        mut request: impl FnMut(&mut OrderClient, u64) -> Result<(), RestError>,
    ) {
        let give_up = Instant::now() + GIVE_UP_AFTER;
        loop {
            match request(&mut self.client, mono_ns()) {
                Ok(()) => return,
                Err(RestError::NotSent)
                | Err(RestError::Refused(LocalRefusal::TooManyInFlight)) => {
                    assert!(Instant::now() < give_up, "could not send {what}");
                    self.turn();
                }
                Err(e) => panic!("{what}: {e}"),
            }
        }
    }

    /// `DELETE /order`.
    pub fn cancel(&mut self, id: &OrderId) {
        self.send("cancel", |c, now| c.cancel(id, now).map(|_| ()));
    }

    /// `DELETE /orders`.
    pub fn cancel_many(&mut self, ids: &[OrderId]) {
        self.send("cancel many", |c, now| c.cancel_many(ids, now).map(|_| ()));
    }

    /// `DELETE /cancel-all`.
    pub fn cancel_all(&mut self) {
        self.send("cancel all", |c, now| c.cancel_all(now).map(|_| ()));
    }

    /// Fire the kill switch (`DELETE /cancel-all` over its own connection); every order it
    /// canceled is applied to the tracker. Returns how many were canceled.
    pub fn fire_kill_switch(&mut self) -> usize {
        let clob = blocking::connect(
            &self.clob_url,
            Arc::clone(&self.tls),
            Some(self.l2.clone()),
            BlockingConfig::default(),
            BackoffPolicy::new(
                Duration::from_millis(20),
                2.0,
                Duration::from_millis(200),
                0.0,
            )
            .unwrap(),
        )
        .unwrap();
        let mut kill = KillSwitch::new(clob);
        let mut canceled = 0;
        let tracker = &mut self.tracker;
        kill.fire(|id, refused| {
            if refused.is_none() {
                tracker.on_canceled(&id);
                canceled += 1;
            }
        })
        .expect("kill switch");
        canceled
    }

    /// Turn for at least `d` (letting venue-side timers run); asserts nothing about time.
    pub fn run_for(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            self.turn();
        }
    }

    fn template(&mut self, token: &str) -> &OrderTemplate {
        let address = self.address;
        self.templates.entry(token.to_string()).or_insert_with(|| {
            OrderTemplate::new(
                Exchange::for_market(false),
                CHAIN_ID,
                address,
                None,
                SignatureType::Eoa,
                TokenId::parse(token).unwrap(),
                [0; 32],
                [0; 32],
            )
            .unwrap()
        })
    }

    /// Sign an order (price and size in micro-units) and track it (`Pending`).
    pub fn sign(
        &mut self,
        token: &str,
        side: Side,
        price: u64,
        size: u64,
        order_type: OrderType,
    ) -> SignedOrder {
        let a = limit_order_amounts(side, price, size, TickSize::T0_01).unwrap();
        self.salt += 1;
        let vars = OrderVariables {
            salt: self.salt,
            maker_amount: a.maker,
            taker_amount: a.taker,
            side: side.as_u8(),
            timestamp_ms: wall_ms(),
        };
        self.template(token);
        let order = self.templates[token].sign(&self.signer, vars, 0).unwrap();
        let word = *TokenId::parse(token).unwrap().word();
        let immediate = matches!(order_type, OrderType::Fok | OrderType::Fak);
        self.tracker
            .on_signed(order.order_id, word, side, price, size, immediate)
            .unwrap();
        order
    }

    /// Submit a signed order of `token` (`POST /order`).
    pub fn submit(
        &mut self,
        token: &str,
        order: &SignedOrder,
        order_type: OrderType,
        post_only: bool,
    ) -> Result<(), RestError> {
        self.template(token);
        let options = PostOptions {
            owner: &self.api_key,
            order_type,
            post_only,
            defer_exec: false,
        };
        let template = &self.templates[token];
        let r = self.client.submit(template, order, &options, mono_ns());
        if r.is_err() {
            self.tracker.on_failed(&order.order_id);
        }
        r
    }

    /// Sign and submit; returns the order id.
    #[allow(clippy::too_many_arguments)]
    pub fn place(
        &mut self,
        token: &str,
        side: Side,
        price: u64,
        size: u64,
        order_type: OrderType,
        post_only: bool,
    ) -> OrderId {
        let order = self.sign(token, side, price, size, order_type);
        self.submit(token, &order, order_type, post_only)
            .expect("submit accepted by the client");
        order.order_id
    }

    /// Sign GTC orders `(price, size)` of `token` and submit them as one batch (split by the
    /// client); returns the ids and the number of requests.
    pub fn place_batch(
        &mut self,
        token: &str,
        side: Side,
        orders: &[(u64, u64)],
    ) -> (Vec<OrderId>, usize) {
        let signed: Vec<SignedOrder> = orders
            .iter()
            .map(|&(p, s)| self.sign(token, side, p, s, OrderType::Gtc))
            .collect();
        self.template(token);
        let template = &self.templates[token];
        let items: Vec<BatchItem<'_>> = signed
            .iter()
            .map(|o| BatchItem {
                template,
                order: o,
                options: PostOptions {
                    owner: &self.api_key,
                    order_type: OrderType::Gtc,
                    post_only: false,
                    defer_exec: false,
                },
            })
            .collect();
        let chunks = self
            .client
            .submit_batch(&items, mono_ns())
            .expect("batch accepted by the client");
        (signed.iter().map(|o| o.order_id).collect(), chunks)
    }

    /// The tracker's state of `id`.
    pub fn state(&self, id: &OrderId) -> OrderState {
        self.tracker.get(id).expect("tracked order").state
    }

    /// Whether the client reported an ack for `id`.
    pub fn acked(&self, id: &OrderId) -> Option<&Seen> {
        self.log
            .iter()
            .find(|s| matches!(s, Seen::Ack { id: i, .. } if i == id))
    }

    /// The first final client outcome of `id` (ack, failure or reconciliation).
    pub fn outcome(&self, id: &OrderId) -> Option<&Seen> {
        self.log.iter().find(|s| match s {
            Seen::Ack { id: i, .. } | Seen::Failed(i, _) | Seen::Reconciled(i, _) => i == id,
            _ => false,
        })
    }

    /// No provisional amounts left in the tracker.
    pub fn settled(&self) -> bool {
        let p = self.tracker.positions();
        p.collateral_provisional_spent() == 0
            && p.collateral_provisional_due() == 0
            && p.tokens()
                .iter()
                .all(|t| t.provisional_bought == 0 && t.provisional_sold == 0)
    }

    /// Statuses the user channel reported for trade `id`.
    pub fn trade_statuses(&self, id: &str) -> Vec<String> {
        self.trade_log
            .iter()
            .filter(|(t, _)| t == id)
            .map(|(_, s)| s.clone())
            .collect()
    }
}

/// How many accepted orders the simulator holds under `id` (a resend would be a second one or a
/// "duplicated" refusal).
pub fn sim_order_count(sim: &Simulator, id: &OrderId) -> usize {
    let text = id_text(id);
    let st = sattebaaz::sim::polymarket::lock(&sim.polymarket_state);
    st.exchange
        .order_list
        .iter()
        .filter(|o| o.eq_ignore_ascii_case(&text))
        .count()
}

/// The simulator's `size_matched` of `id` (micro-shares).
pub fn sim_matched(sim: &Simulator, id: &OrderId) -> u64 {
    let st = sattebaaz::sim::polymarket::lock(&sim.polymarket_state);
    st.exchange
        .order(&id_text(id))
        .map(|o| o.matched)
        .expect("the simulator knows the order")
}

/// Whether every trade the simulator recorded is CONFIRMED or FAILED.
pub fn sim_trades_final(sim: &Simulator) -> bool {
    let st = sattebaaz::sim::polymarket::lock(&sim.polymarket_state);
    st.exchange
        .trades
        .iter()
        .all(|t| matches!(t.status, SimTradeStatus::Confirmed | SimTradeStatus::Failed))
}

/// Shares resting on the ask side of the Up token at or below `price_milli` (what a BUY there
/// can take now), micro-shares.
pub fn up_fillable(sim: &Simulator, condition: &str, price_milli: u32) -> u64 {
    use sattebaaz::sim::exchange::matching::MakerFilter;
    use sattebaaz::sim::polymarket::crowd::{Side as SimSide, Token as SimToken};
    let st = sattebaaz::sim::polymarket::lock(&sim.polymarket_state);
    let m = st
        .markets
        .iter()
        .find(|m| m.info.condition_id == condition)
        .expect("market");
    m.book
        .fillable(SimToken::Up, SimSide::Buy, price_milli, MakerFilter::All)
}

/// Best Up ask, milli.
pub fn up_best_ask(sim: &Simulator, condition: &str) -> u32 {
    let st = sattebaaz::sim::polymarket::lock(&sim.polymarket_state);
    let m = st
        .markets
        .iter()
        .find(|m| m.info.condition_id == condition)
        .expect("market");
    m.view[0].best_ask().expect("the crowd quotes an ask")
}

/// The ledger check: once every trade is final and the tracker holds nothing provisional, the
/// tracker's collateral and token positions equal the simulator's ledger exactly (micro-units,
/// fees included); returns a description of the difference while they differ.
pub fn ledger_difference(engine: &Engine, sim: &Simulator) -> Option<String> {
    if !sim_trades_final(sim) {
        return Some("simulator trades not final".into());
    }
    if !engine.settled() {
        return Some("tracker still holds provisional fills".into());
    }
    let snap = sim.ledger_snapshot(&engine.account());
    let p = engine.tracker.positions();
    if p.collateral_confirmed() != snap.collateral {
        return Some(format!(
            "collateral: tracker {} simulator {}",
            p.collateral_confirmed(),
            snap.collateral
        ));
    }
    let sim_available = snap.collateral - snap.collateral_reserved;
    if snap.collateral_reserved == 0 && engine.tracker.available_collateral() != sim_available {
        return Some(format!(
            "available collateral: tracker {} simulator {}",
            engine.tracker.available_collateral(),
            sim_available
        ));
    }
    for (token, qty) in &snap.tokens {
        let word = *TokenId::parse(token).unwrap().word();
        let ours = p.token(&word).confirmed;
        if ours != *qty {
            return Some(format!("token {token}: tracker {ours} simulator {qty}"));
        }
    }
    for t in p.tokens() {
        let known = snap
            .tokens
            .keys()
            .any(|k| TokenId::parse(k).unwrap().word() == &t.token);
        if !known && t.confirmed != 0 {
            return Some(format!(
                "tracker holds {} of a token the simulator does not",
                t.confirmed
            ));
        }
    }
    None
}

/// Wait until [`ledger_difference`] is `None`, failing with the last difference.
pub fn assert_ledger_agrees(engine: &mut Engine, sim: &Simulator) {
    let give_up = Instant::now() + GIVE_UP_AFTER;
    loop {
        let diff = ledger_difference(engine, sim);
        let Some(diff) = diff else {
            return;
        };
        assert!(
            Instant::now() < give_up,
            "tracker and simulator ledger disagree: {diff}\nsimulator: {:?}\ntracker: {:?}",
            sim.ledger_snapshot(&engine.account()),
            engine.tracker.positions()
        );
        engine.turn();
    }
}
