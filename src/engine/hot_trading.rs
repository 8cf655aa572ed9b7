//! The trading side of the hot loop: after market data changed, every tracked market's
//! signals are updated and the [`Decider`] asked (the markets of the Binance assets that moved
//! first, see [`round_slots`]); each order intent becomes a signed order
//! ([`OrderFactory`]) and goes to the run mode's outlet. In shadow mode the outlet is the
//! hot → risk ring: the signed order is described in a [`WouldBeOrder`] that the risk thread
//! logs (the hot thread never formats text); nothing is sent to the venue.
//!
//! Invariants: nothing here allocates after construction (fixed tables, the intent buffer is
//! cleared per round, messages are `Copy`); per-strategy counters are monotonic; a build
//! failure is counted per strategy, never a panic.

use super::exec_path::{
    is_immediate, post_options, Attribution, AttributionTable, BuildError, OrderFactory,
};
use super::messages::{HotEvent, WouldBeCancel, WouldBeOrder};
use super::trading::{round_slots, Decider, DeciderFill, MarketSignals, TickHealth};
use crate::book::{MarketBooks, MarketIdx};
use crate::discovery::MarketRecord;
use crate::exec::events::{parse_side, OrderEvent, TradeEvent};
use crate::exec::json::parse_order_id;
use crate::exec::orders::positions::{taker_fee_micros, taker_fee_units};
use crate::exec::orders::tracker::Tracker;
use crate::exec::rest::client::{ClientConfig, RestClient, RestEvent};
use crate::exec::rest::errors::{error_kind_index, reason_index, ERROR_KINDS};
use crate::exec::signing::body::{BatchItem, PostOptions, MAX_BATCH};
use crate::exec::signing::hmac::L2Credentials;
use crate::exec::signing::order::OrderType;
use crate::exec::signing::order::SignedOrder;
use crate::exec::user_channel::{UserAuth, UserChannel, UserChannelEvent};
use crate::feeds::binance::records::Venue as FeedVenue;
use crate::feeds::binance::state::BinanceState;
use crate::feeds::oracle::OracleMonitor;
use crate::net::backoff::BackoffPolicy;
use crate::net::http::{HttpPool, PoolConfig, RequestTemplate, TlsConnector};
use crate::net::tls::TlsStream;
use crate::net::ws::{MaybeTlsConnector, WsError, WsOptions};
use crate::queue::spsc::Producer;
use crate::signals::SignalParams;
use crate::strategy::context::StrategyFill;
use crate::strategy::intent::OrderIntent;
use crate::strategy::intent::{IntentBuf, StrategyId};
use crate::telemetry::latency::{Stage, StageHistograms};

/// Per-strategy counters of the hot thread (monotonic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StrategyCounters {
    /// Order intents the decider produced.
    pub intents: u64,
    /// Cancel intents the decider produced.
    pub cancel_intents: u64,
    /// Orders signed.
    pub signed: u64,
    /// Intents that could not be signed (off tick, unknown market, ...).
    pub build_errors: u64,
    /// Orders handed to the outlet (shadow: logged; venue: submitted).
    pub sent: u64,
    /// Orders refused locally (tracker full, client outbox full, post-only window).
    pub local_refusals: u64,
    /// ... of which the tracker refused (collateral or tokens not available, table full).
    pub tracker_refusals: u64,
    /// ... of which the order client refused (no free connection, outbox full, post-only
    /// window, rate limit).
    pub client_refusals: u64,
    /// Orders the venue refused as invalid (or that failed before acceptance).
    pub rejections: u64,
    /// Valid immediate / post-only orders the book killed (FOK not filled, FAK without a
    /// match, post-only that would have crossed).
    pub killed: u64,
    /// Orders the venue accepted.
    pub accepted: u64,
    /// Fills (trade legs on this strategy's orders) and their shares (micro).
    pub fills: u64,
    /// ... of which left the order short of its size (more may follow, or the rest was
    /// killed / canceled).
    pub partial_fills: u64,
    pub filled_micro: u64,
    /// Taker fees of those fills (micro-dollars, at the tracker's fee rate).
    pub fees_micro: u64,
    /// Orders the venue canceled.
    pub canceled: u64,
}

/// Where signed orders go.
pub enum Outlet {
    /// Shadow mode: described to the risk thread, never sent.
    Shadow,
    /// Paper / live: submitted to the CLOB over the hot loop's HTTP pool; the user channel
    /// reports their fate.
    Venue(Box<VenueSetup>),
}

/// The venue connections of the hot thread, resolved on the main thread.
pub struct VenueSetup {
    /// The CLOB (https): resolved address, TLS configuration, host name.
    pub clob: TlsConnector,
    /// `Host` header of the CLOB.
    pub clob_host: String,
    /// Pool sizing (its `token_base` is set by the hot thread).
    pub pool: PoolConfig,
    pub backoff: BackoffPolicy,
    pub creds: L2Credentials,
    pub client: ClientConfig,
    /// The user channel.
    pub user_url: String,
    pub user_connector: MaybeTlsConnector,
    pub user_options: WsOptions,
    pub user_auth: UserAuth,
    /// The API key (order owner).
    pub owner: String,
}

struct Venue {
    client: RestClient<TlsStream, TlsConnector>,
    user: UserChannel<MaybeTlsConnector>,
    owner: String,
    user_token: usize,
    pool_tokens: std::ops::Range<usize>,
    cancels_sent: u64,
    cancel_refusals: u64,
    reconciles: u64,
    subscribed_markets: u64,
}

enum HotOutlet {
    Shadow,
    Venue(Box<Venue>),
}

/// Everything the trading side needs, built before the hot thread starts.
pub struct TradingSetup {
    /// The strategies + orchestrator.
    pub decider: Box<dyn Decider + Send>,
    /// Signal parameters per configured asset.
    pub params: Vec<SignalParams>,
    /// Intent → signed order.
    pub factory: OrderFactory,
    /// The execution tracker (positions view for decisions).
    pub tracker: Tracker,
    /// Where signed orders go.
    pub outlet: Outlet,
    /// Oracle observations older than this are not fresh.
    pub oracle_max_age_ms: u64,
    /// Taker fee rate assumed for fills (micro-units per unit, 72_000 = 0.072).
    pub fee_rate_micros: u64,
    /// The venue redeems resolved positions at resolution (the simulator does; the real
    /// venue needs an on-chain redemption by the wallet).
    pub redeems_at_resolution: bool,
    /// Order / cancel intents per decision round.
    pub intents_per_round: usize,
    pub cancels_per_round: usize,
    /// Run [`HotTrading::warm_order_path`] this often from the hot loop, ns (0 = off).
    pub warm_order_interval_ns: u64,
}

/// Why the trading side could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TradingSetupError {
    #[error("CLOB HTTP pool: {0}")]
    Pool(String),
    #[error("user channel: {0}")]
    UserChannel(String),
}

/// Routes venue events into the tracker and the per-strategy counters.
struct EventSink<'a> {
    /// Venue answers that were not acceptances, by kind.
    errors: &'a mut [u64; ERROR_KINDS],
    tracker: &'a mut Tracker,
    decider: &'a mut (dyn Decider + Send),
    factory: &'a OrderFactory,
    attribution: &'a mut AttributionTable,
    counters: &'a mut [StrategyCounters; StrategyId::COUNT],
    hist: &'a mut StageHistograms,
    fee_rate_micros: u64,
    reconnected: bool,
}

impl EventSink<'_> {
    fn counters_of(&mut self, id: &crate::exec::json::OrderId) -> Option<&mut StrategyCounters> {
        let row = self.attribution.get(id)?;
        self.counters.get_mut(row.strategy.index())
    }

    /// After a fill of `id` was applied: the order is still short of its original size.
    fn leaves_size(&self, id: &crate::exec::json::OrderId) -> bool {
        self.tracker
            .get(id)
            .is_some_and(|r| r.trade_filled < r.size)
    }

    /// Tell the decider when `id` reached a terminal state.
    fn check_closed(&mut self, id: &crate::exec::json::OrderId) {
        if self.attribution.get(id).is_none() {
            return;
        }
        let open = self.tracker.get(id).is_some_and(|r| r.state.is_open());
        if !open {
            self.decider.on_closed(id);
        }
    }

    fn on_rest(&mut self, ev: &RestEvent<'_>, now_ns: u64) {
        self.tracker.on_rest_event(ev);
        match ev {
            RestEvent::OrderAck { order_id, .. }
            | RestEvent::OrderFailed { order_id, .. }
            | RestEvent::Canceled { order_id } => self.check_closed(order_id),
            _ => {}
        }
        match ev {
            RestEvent::OrderAck { order_id, ack } => {
                if let Some(sent) = self.attribution.get(order_id).map(|r| r.sent_ns) {
                    if sent > 0 {
                        self.hist
                            .record(Stage::OrderToAck, now_ns.saturating_sub(sent));
                    }
                }
                use crate::exec::rest::errors::OrderRejectReason as R;
                let accepted = ack.accepted();
                // An immediate order the book could not fill (FOK not filled, FAK without a
                // match) or a post-only quote the book moved onto was valid: the market killed
                // it. Anything else is a venue rejection.
                let killed = matches!(
                    ack.error,
                    Some(R::FokNotFilled | R::FakNoMatch | R::PostOnlyCrosses)
                );
                if !accepted {
                    if let Some(e) = ack.error {
                        self.errors[reason_index(e)] += 1;
                    }
                }
                if let Some(k) = self.counters_of(order_id) {
                    if accepted {
                        k.accepted += 1;
                    } else if killed {
                        k.killed += 1;
                    } else {
                        k.rejections += 1;
                    }
                }
            }
            RestEvent::OrderFailed { order_id, error } => {
                use crate::exec::rest::errors::OrderRejectReason as R;
                use crate::exec::rest::RestError;
                // The venue answers a post-only order the book moved onto (and an unfilled
                // FOK / FAK) with a 400 carrying the reason: killed by the market, not invalid.
                let killed = matches!(
                    error,
                    RestError::BadRequest(R::FokNotFilled | R::FakNoMatch | R::PostOnlyCrosses)
                );
                self.errors[error_kind_index(error)] += 1;
                if let Some(k) = self.counters_of(order_id) {
                    if killed {
                        k.killed += 1;
                    } else {
                        k.rejections += 1;
                    }
                }
            }
            RestEvent::Canceled { order_id } => {
                if let Some(k) = self.counters_of(order_id) {
                    k.canceled += 1;
                }
            }
            _ => {}
        }
    }

    fn on_user(&mut self, ev: UserChannelEvent<'_, '_>) {
        match ev {
            UserChannelEvent::Order(o) => self.on_order(o),
            UserChannelEvent::Trade(t) => self.on_trade(t),
            UserChannelEvent::Reconnected => self.reconnected = true,
        }
    }

    fn on_order(&mut self, o: &OrderEvent<'_>) {
        self.tracker.on_order_event(o);
        if let Some(id) = parse_order_id(&o.id) {
            self.check_closed(&id);
        }
    }

    /// Route one fill of our order `id` to the decider (fees in collateral terms: a BUY's
    /// fee is withheld in tokens, so the fill books the tokens received and the withheld
    /// tokens' cost as the fee).
    fn route_fill(
        &mut self,
        id: &crate::exec::json::OrderId,
        side: Option<crate::exec::signing::amounts::Side>,
        size: u64,
        price: u64,
        taker: bool,
        now_ms: u64,
    ) {
        use crate::exec::signing::amounts::Side;
        let Some(row) = self.attribution.get(id).copied() else {
            return;
        };
        let Some(side) = side else { return };
        let fee_units = match (taker, self.factory.template(row.market, row.outcome)) {
            (true, Some(t)) => {
                let key = *t.token_id().word();
                taker_fee_units(side, size, price, self.tracker.fee_params(&key))
            }
            _ => 0,
        };
        let (size_booked, fee_micro) = match side {
            Side::Buy => {
                let withheld = fee_units.min(size);
                (
                    size - withheld,
                    crate::exec::orders::positions::notional_micros(withheld, price),
                )
            }
            Side::Sell => (size, fee_units),
        };
        if size_booked == 0 {
            return;
        }
        self.decider.on_fill(&DeciderFill {
            order_id: *id,
            strategy: row.strategy,
            fill: StrategyFill {
                market: row.market,
                outcome: row.outcome,
                side,
                price_micro: price as i64,
                size_micro: size_booked as i64,
                fee_micro: fee_micro as i64,
                now_ms,
            },
        });
    }

    fn on_trade(&mut self, t: &TradeEvent<'_>) {
        // A trade already applied (a later status of the same match) is not a new fill.
        let fresh = self.tracker.on_trade_event(t).is_ok();
        if !fresh || t.trade_status() != crate::exec::events::TradeStatus::Matched {
            return;
        }
        let rate = self.fee_rate_micros;
        let now_ms = crate::clock::wall_ms();
        if let Some(id) = parse_order_id(&t.taker_order_id) {
            let partial = self.leaves_size(&id);
            if let Some(k) = self.counters_of(&id) {
                k.fills += 1;
                k.partial_fills += u64::from(partial);
                k.filled_micro += t.size.0;
                k.fees_micro += taker_fee_micros(t.size.0, t.price.0, rate);
                self.route_fill(&id, parse_side(&t.side), t.size.0, t.price.0, true, now_ms);
                self.check_closed(&id);
            }
        }
        for m in t.maker_orders.as_slice() {
            if let Some(id) = parse_order_id(&m.order_id) {
                let partial = self.leaves_size(&id);
                if let Some(k) = self.counters_of(&id) {
                    k.fills += 1;
                    k.partial_fills += u64::from(partial);
                    k.filled_micro += m.matched_amount.0;
                    self.route_fill(
                        &id,
                        parse_side(&m.side),
                        m.matched_amount.0,
                        m.price.0,
                        false,
                        now_ms,
                    );
                    self.check_closed(&id);
                }
            }
        }
    }
}

/// After a user-channel reconnect: ask the venue (non-blocking, on the hot loop's pool)
/// for every order the tracker still holds open.
fn reconcile_open(v: &mut Venue, tracker: &Tracker, now_ns: u64) {
    for rec in tracker.iter() {
        if rec.state.is_open() && v.client.reconcile(&rec.id, now_ns).is_ok() {
            v.reconciles += 1;
        }
    }
}

/// What the trading side hands back when the hot thread stops.
pub struct TradingReport {
    pub strategies: [StrategyCounters; StrategyId::COUNT],
    /// Venue answers other than acceptances, and local refusals of the order client, by kind
    /// ([`crate::exec::rest::errors::ERROR_KIND_NAMES`]).
    pub venue_errors: [u64; ERROR_KINDS],
    pub local_errors: [u64; ERROR_KINDS],
    /// The decider's own figures (signals, per-strategy P&L, settlements), when it keeps them.
    pub figures: Option<super::trading::DeciderFigures>,
    /// Decision rounds run (one per market per relevant update).
    pub decisions: u64,
    /// Intents refused because a round's buffer was full.
    pub intents_refused: u64,
    /// Would-be orders the ring refused (full).
    pub outlet_drops: u64,
    /// Latency: `SignalToDecision` = signal update + decider of one market;
    /// `DecisionToWire` = decision taken → signed order handed to the outlet (shadow: pushed
    /// into the ring).
    pub histograms: StageHistograms,
    pub tracker: Tracker,
    pub signed_pooled: u64,
    pub signed_fallback: u64,
    /// Open orders whose attribution row had to be overwritten (see
    /// [`AttributionTable`](super::exec_path::AttributionTable)); 0 in a healthy run.
    pub attribution_evicted_open: u64,
    /// Venue outlet: cancels sent, reconciliations asked after reconnects, markets
    /// subscribed on the user channel.
    pub cancels_sent: u64,
    /// Cancels the client refused locally (no free connection or slot).
    pub cancel_refusals: u64,
    pub reconciles: u64,
    pub user_markets: u64,
    /// The user channel's counters and its connection's, and the order client's.
    pub user_channel: Option<crate::exec::user_channel::UserChannelCounters>,
    pub user_net: Option<crate::net::counters::NetCounters>,
    pub client: Option<crate::exec::rest::client::ClientCounters>,
    /// Market signal sets that ran their first update, and those with a volatility regime at
    /// it (the candle warm-up working).
    pub signal_sets_started: u64,
    pub signal_sets_warm_at_start: u64,
    /// Order-path warming passes that ran (0 with warming off or no idle connection).
    pub order_path_warms: u64,
}

/// See the module docs.
pub struct HotTrading {
    decider: Box<dyn Decider + Send>,
    params: Vec<SignalParams>,
    signals: MarketSignals,
    factory: OrderFactory,
    tracker: Tracker,
    outlet: HotOutlet,
    /// The kill switch fired: no new orders (cancels still go out).
    halted: bool,
    intents: IntentBuf,
    attribution: AttributionTable,
    oracle_max_age_ms: u64,
    fee_rate_micros: u64,
    counters: [StrategyCounters; StrategyId::COUNT],
    decisions: u64,
    outlet_drops: u64,
    hist: StageHistograms,
    /// Market data changed since the last round.
    dirty: bool,
    /// Binance assets (an `Asset::bit` mask) whose price moved since the last round: their
    /// markets are decided first.
    moved_assets: u8,
    /// Socket-readable time of the round's first frame, and when its update was applied.
    frame_ns: u64,
    book_ns: u64,
    /// Settlements already sent to the risk thread.
    settlements_published: u64,
    /// The venue redeems resolved positions itself (the simulator).
    redeems_at_resolution: bool,
    /// Venue answers other than acceptances, and the order client's local refusals, by kind
    /// ([`crate::exec::rest::errors::ERROR_KIND_NAMES`]).
    venue_errors: [u64; ERROR_KINDS],
    local_errors: [u64; ERROR_KINDS],
    /// Each slot's settlement rule (from discovery).
    settlement_rules: Vec<Option<crate::feeds::oracle::windows::SettlementRule>>,
    /// Order-path warming passes that reached an idle order connection
    /// ([`warm_order_path`](Self::warm_order_path)).
    order_path_warms: u64,
    /// When the next pass is due ([`TradingSetup::warm_order_interval_ns`]; `None` = off).
    order_warm: Option<crate::clock::Cadence>,
}

/// The oracle rule a market's Gamma settlement description names.
fn settlement_rule(
    s: crate::discovery::gamma::Settlement,
) -> crate::feeds::oracle::windows::SettlementRule {
    use crate::discovery::gamma::Settlement;
    use crate::feeds::oracle::windows::SettlementRule;
    match s {
        Settlement::Point => SettlementRule::SPOT_EXACT_CLOSE,
        Settlement::Twap { lookback_s } => SettlementRule::SpotTwap {
            lookback_s,
            min_ticks: lookback_s,
        },
    }
}

impl HotTrading {
    /// Allocate every table for `capacity` market slots; a venue outlet registers its
    /// connections with `registry` from mio token `token_base` on (the user channel first,
    /// then the pool's connections). `None` without signal parameters.
    pub fn new(
        setup: TradingSetup,
        capacity: usize,
        registry: &mio::Registry,
        token_base: usize,
    ) -> Result<Option<HotTrading>, TradingSetupError> {
        let Some(first) = setup.params.first().copied() else {
            return Ok(None);
        };
        let outlet = match setup.outlet {
            Outlet::Shadow => HotOutlet::Shadow,
            Outlet::Venue(v) => {
                let v = *v;
                let pool_config = PoolConfig {
                    token_base: token_base + 1,
                    ..v.pool
                };
                let template = RequestTemplate::new(
                    &v.clob_host,
                    &[("Content-Type", "application/json"), ("Accept", "*/*")],
                )
                .map_err(|e| TradingSetupError::Pool(e.to_string()))?;
                let pool = HttpPool::new(pool_config, template, v.clob, v.backoff, registry)
                    .map_err(|e| TradingSetupError::Pool(e.to_string()))?;
                let user = UserChannel::new(
                    v.user_connector,
                    &v.user_url,
                    v.user_options,
                    registry,
                    mio::Token(token_base),
                    token_base as u16,
                    v.user_auth,
                    &[],
                )
                .map_err(|e| TradingSetupError::UserChannel(e.to_string()))?;
                HotOutlet::Venue(Box::new(Venue {
                    client: RestClient::new(pool, v.creds, v.client),
                    user,
                    owner: v.owner,
                    user_token: token_base,
                    pool_tokens: token_base + 1..token_base + 1 + pool_config.connections,
                    cancels_sent: 0,
                    cancel_refusals: 0,
                    reconciles: 0,
                    subscribed_markets: 0,
                }))
            }
        };
        Ok(Some(HotTrading {
            decider: setup.decider,
            signals: MarketSignals::new(capacity, first),
            params: setup.params,
            factory: setup.factory,
            tracker: setup.tracker,
            outlet,
            halted: false,
            intents: IntentBuf::with_capacity(
                setup.intents_per_round.max(1),
                setup.cancels_per_round.max(1),
            ),
            attribution: AttributionTable::new(4096),
            oracle_max_age_ms: setup.oracle_max_age_ms,
            fee_rate_micros: setup.fee_rate_micros,
            counters: [StrategyCounters::default(); StrategyId::COUNT],
            decisions: 0,
            outlet_drops: 0,
            hist: StageHistograms::new(),
            dirty: false,
            moved_assets: 0,
            frame_ns: 0,
            book_ns: 0,
            settlement_rules: vec![None; capacity],
            order_path_warms: 0,
            order_warm: (setup.warm_order_interval_ns > 0)
                .then(|| crate::clock::Cadence::every(setup.warm_order_interval_ns)),
            settlements_published: 0,
            redeems_at_resolution: setup.redeems_at_resolution,
            venue_errors: [0; ERROR_KINDS],
            local_errors: [0; ERROR_KINDS],
        }))
    }

    /// mio tokens this side uses (empty in shadow mode).
    pub fn tokens(&self) -> std::ops::Range<usize> {
        match &self.outlet {
            HotOutlet::Shadow => 0..0,
            HotOutlet::Venue(v) => v.user_token..v.pool_tokens.end,
        }
    }

    /// Start the venue connections.
    pub fn start(&mut self, now_ns: u64) -> Result<(), WsError> {
        match &mut self.outlet {
            HotOutlet::Shadow => Ok(()),
            HotOutlet::Venue(v) => v.user.start(now_ns),
        }
    }

    /// The kill switch fired on the risk thread: stop placing orders.
    pub fn halt(&mut self) {
        self.halted = true;
    }

    /// The venue connections and the sink their events go to (borrowing disjoint fields);
    /// `None` in shadow mode.
    fn venue_and_sink(&mut self) -> Option<(&mut Venue, EventSink<'_>)> {
        let HotTrading {
            outlet,
            tracker,
            decider,
            factory,
            venue_errors,
            attribution,
            counters,
            hist,
            fee_rate_micros,
            ..
        } = self;
        let HotOutlet::Venue(v) = outlet else {
            return None;
        };
        let sink = EventSink {
            errors: venue_errors,
            tracker,
            decider: decider.as_mut(),
            factory,
            attribution,
            counters,
            hist,
            fee_rate_micros: *fee_rate_micros,
            reconnected: false,
        };
        Some((v.as_mut(), sink))
    }

    /// One of [`HotTrading::tokens`] is ready.
    pub fn on_ready(&mut self, token: usize, now_ns: u64) {
        let Some((v, mut sink)) = self.venue_and_sink() else {
            return;
        };
        if token == v.user_token {
            // Errors are counted and a reconnect scheduled by the client.
            let _ = v.user.on_ready(now_ns, |ev| sink.on_user(ev));
        } else if v.pool_tokens.contains(&token) {
            v.client.on_ready(mio::Token(token), now_ns, &mut |ev| {
                sink.on_rest(&ev, now_ns)
            });
        }
        if sink.reconnected {
            reconcile_open(v, sink.tracker, now_ns);
        }
    }

    /// Keep the order path in cache between rare orders: hash an unsigned order for the first
    /// assigned market ([`OrderFactory::warm_order`](super::exec_path::OrderFactory::warm_order))
    /// and run the client's body, headers, rendering and TLS sealing over it
    /// ([`RestClient::warm_order_path`](crate::exec::rest::client::RestClient::warm_order_path)),
    /// sending nothing. Venue outlets only, not once halted; touches no order state (salt,
    /// nonce pool, outbox, tracker).
    pub fn warm_order_path(&mut self, now_ms: u64) {
        if self.halted {
            return;
        }
        let HotOutlet::Venue(v) = &mut self.outlet else {
            return;
        };
        let Some((template, order)) = self.factory.warm_order(now_ms) else {
            return;
        };
        let options = PostOptions {
            owner: v.owner.as_str(),
            order_type: OrderType::Fak,
            post_only: false,
            defer_exec: false,
        };
        if v.client.warm_order_path(template, &order, &options) {
            self.order_path_warms += 1;
        }
    }

    /// Warm the order path when a pass is due ([`TradingSetup::warm_order_interval_ns`]);
    /// called on every loop turn.
    #[inline]
    pub fn maybe_warm_order_path(&mut self, now_ns: u64) {
        if self.order_warm.as_mut().is_some_and(|c| c.due(now_ns)) {
            self.warm_order_path(crate::clock::wall_ms());
        }
    }

    /// Timer work of the venue connections (deadlines, keep-alives, reconnects).
    pub fn on_timer(&mut self, now_ns: u64) {
        let Some((v, mut sink)) = self.venue_and_sink() else {
            return;
        };
        v.client
            .on_timer(now_ns, &mut |ev| sink.on_rest(&ev, now_ns));
        let _ = v.user.on_timer(now_ns, |ev| sink.on_user(ev));
        if sink.reconnected {
            reconcile_open(v, sink.tracker, now_ns);
        }
    }

    /// Close the venue connections (shutdown).
    pub fn close(&mut self, now_ns: u64) {
        if let HotOutlet::Venue(v) = &mut self.outlet {
            v.user.close(now_ns);
        }
    }

    /// Subscribe the user channel to a market's condition id (`0x` + 64 hex).
    pub fn subscribe_user_market(&mut self, condition_id: &str, now_ns: u64) {
        if let HotOutlet::Venue(v) = &mut self.outlet {
            if v.user.subscribe(&[condition_id], now_ns).is_ok() {
                v.subscribed_markets += 1;
            }
        }
    }

    /// Market data changed (the frame's socket became readable at `frame_ns`, the state or
    /// book it changed was updated just now): the next [`HotTrading::run_round`] decides.
    /// The first frame of a round starts its wire-to-wire and book-to-signal clocks.
    #[inline]
    pub fn mark_dirty(&mut self, frame_ns: u64) {
        if !self.dirty {
            self.dirty = true;
            self.frame_ns = frame_ns;
            self.book_ns = crate::clock::mono_ns();
        }
    }

    /// Binance frames about `assets` (an `Asset::bit` mask) changed the state: as
    /// [`HotTrading::mark_dirty`], and the next round decides those assets' markets before
    /// the others (the market whose input just moved gets the first claim and the first
    /// order out).
    #[inline]
    pub fn mark_assets_moved(&mut self, frame_ns: u64, assets: u8) {
        self.moved_assets |= assets;
        self.mark_dirty(frame_ns);
    }

    /// Discovery put `record` into book slot `market`.
    pub fn on_new_market(
        &mut self,
        market: MarketIdx,
        record: &MarketRecord,
    ) -> Result<(), BuildError> {
        let fallback = self.signals_default();
        self.signals
            .assign_record(market, record, &self.params, fallback);
        if let Some(rule) = self.settlement_rules.get_mut(usize::from(market.0)) {
            *rule = Some(settlement_rule(record.settlement));
        }
        self.decider.on_market(market, record);
        self.factory.assign(market, record)
    }

    fn signals_default(&self) -> SignalParams {
        self.params[0]
    }

    /// The venue resolved the market in `market` for `winner`; the engine settles the window
    /// by its own oracle data too (when it has it) and the decider books it.
    pub fn on_resolved(
        &mut self,
        market: MarketIdx,
        winner: crate::book::Outcome,
        oracle: &OracleMonitor,
    ) {
        let ours = self.oracle_outcome(market, oracle);
        self.signals.mark_resolved(market);
        // A venue that redeems at resolution (the simulator) pays the winning tokens now; on
        // the real venue the wallet redeems on chain and the balances stay until then.
        if !self.redeems_at_resolution {
            self.decider.on_resolved(market, winner, ours);
            return;
        }
        let key = |o| {
            self.factory
                .template(market, o)
                .map(|t| *t.token_id().word())
        };
        let (win, lose) = match winner {
            crate::book::Outcome::Up => (
                key(crate::book::Outcome::Up),
                key(crate::book::Outcome::Down),
            ),
            crate::book::Outcome::Down => (
                key(crate::book::Outcome::Down),
                key(crate::book::Outcome::Up),
            ),
        };
        if let (Some(w), Some(l)) = (win, lose) {
            self.tracker.on_redeemed(&w, &l);
        }
        self.decider.on_resolved(market, winner, ours);
    }

    /// The window's outcome by the oracle rule, when the oracle data covers it.
    fn oracle_outcome(
        &self,
        market: MarketIdx,
        oracle: &OracleMonitor,
    ) -> Option<crate::book::Outcome> {
        use crate::feeds::oracle::windows::Outcome as OracleOutcome;
        let (asset, start_ms, end_ms) = self.signals.window_of(market)?;
        let rule = self
            .settlement_rules
            .get(usize::from(market.0))
            .copied()
            .flatten()?;
        let feed = super::market_view::feed_asset(asset);
        let s = oracle
            .settle(feed, start_ms / 1000, end_ms / 1000, rule)
            .ok()?;
        Some(match s.outcome {
            OracleOutcome::Up => crate::book::Outcome::Up,
            OracleOutcome::Down => crate::book::Outcome::Down,
        })
    }

    /// The slot was retired.
    pub fn on_retired(&mut self, market: MarketIdx) {
        self.signals.release(market);
        self.factory.release(market);
        if let Some(rule) = self.settlement_rules.get_mut(usize::from(market.0)) {
            *rule = None;
        }
        self.decider.on_retired(market);
    }

    /// Periodic: the decider's account figures and newly settled windows' P&L per strategy
    /// go to the risk thread's monitor (a full ring drops and counts).
    pub fn publish(&mut self, to_risk: &mut Producer<HotEvent>) {
        use crate::telemetry::snapshot::{StrategyFigures, REJECT_LOCAL, REJECT_VENUE};
        if let Some(a) = self.decider.account() {
            if to_risk.push(HotEvent::Account(a)).is_err() {
                self.outlet_drops += 1;
            }
        }
        let Some(f) = self.decider.figures() else {
            return;
        };
        for s in StrategyId::ALL {
            let k = self.counters[s.index()];
            let d = f.strategies[s.index()];
            let mut figures = StrategyFigures {
                orders_sent: k.sent,
                fills: k.fills,
                partial_fills: k.partial_fills,
                cancels: k.canceled,
                fees_micro: d.fees_micro,
                realised_pnl_micro: d.realised_micro,
                unrealised_pnl_micro: d.unrealised_micro,
                ..StrategyFigures::default()
            };
            for (slot, n) in figures.rejects.iter_mut().zip(d.risk_rejects) {
                *slot = n;
            }
            figures.rejects[REJECT_VENUE] = k.rejections;
            figures.rejects[REJECT_LOCAL] = k.local_refusals + k.build_errors;
            if to_risk
                .push(HotEvent::Strategy {
                    strategy: s,
                    figures,
                })
                .is_err()
            {
                self.outlet_drops += 1;
            }
        }
        while self.settlements_published < f.settled {
            let i = self.settlements_published as usize;
            self.settlements_published += 1;
            let Some(Some(w)) = f.settlements.get(i) else {
                continue;
            };
            for s in StrategyId::ALL {
                let pnl = w.pnl_micro[s.index()];
                if pnl != 0 {
                    let ev = HotEvent::TradeClosed {
                        strategy: s,
                        pnl_micro: pnl,
                    };
                    if to_risk.push(ev).is_err() {
                        self.outlet_drops += 1;
                    }
                }
            }
        }
    }

    /// One decision round over every tracked market, if market data changed.
    #[allow(clippy::too_many_arguments)]
    pub fn run_round(
        &mut self,
        binance: &mut BinanceState,
        books: &MarketBooks,
        oracle: &OracleMonitor,
        market_channel_open: bool,
        start_s_of: impl Fn(MarketIdx) -> Option<u64>,
        now_ms: u64,
        to_risk: &mut Producer<HotEvent>,
    ) {
        if !std::mem::take(&mut self.dirty) {
            return;
        }
        let moved = std::mem::take(&mut self.moved_assets);
        for (first, i) in round_slots(self.signals.capacity()) {
            let market = MarketIdx(i as u16);
            if self.signals.first_pass(market, moved) != Some(first) {
                continue;
            }
            let Some(asset) = self.signals.asset_of(market) else {
                continue;
            };
            let feed = super::market_view::feed_asset(asset);
            let (up_t, down_t) = MarketBooks::tokens_of(market);
            let (Some(up), Some(down)) = (books.book(up_t), books.book(down_t)) else {
                continue;
            };
            if let Some(start_s) = start_s_of(market) {
                if let Ok(ptb) = oracle.price_to_beat(feed, start_s) {
                    self.signals.set_price_to_beat(market, Some(ptb));
                }
            }
            let oracle_age_ms = oracle.staleness_ms(feed, now_ms);
            let now_ns = crate::clock::mono_ns();
            let oldest = up.last_update_local_ns().min(down.last_update_local_ns());
            let health = TickHealth {
                oracle_fresh: oracle_age_ms.is_some_and(|a| a <= self.oracle_max_age_ms),
                book_stale: !market_channel_open
                    || up.is_stale()
                    || down.is_stale()
                    || up.is_awaiting_snapshot()
                    || down.is_awaiting_snapshot(),
                book_age_ms: now_ns.saturating_sub(oldest) / 1_000_000,
                oracle_age_ms,
                available_collateral_micro: self.tracker.available_collateral(),
            };
            let t_decide = crate::clock::mono_ns();
            self.hist
                .record(Stage::BookToSignal, t_decide.saturating_sub(self.book_ns));
            let spot = binance.get_mut(FeedVenue::Spot, feed);
            let decided = self.signals.tick(
                market,
                spot,
                up,
                down,
                health,
                self.tracker.positions(),
                now_ms,
                self.decider.as_mut(),
                &mut self.intents,
            );
            if !decided {
                continue;
            }
            let t_decided = crate::clock::mono_ns();
            self.hist
                .record(Stage::SignalToDecision, t_decided.saturating_sub(t_decide));
            self.decisions += 1;
            self.execute(now_ms, t_decided, self.frame_ns, to_risk);
        }
    }

    fn execute(
        &mut self,
        now_ms: u64,
        t_decide: u64,
        frame_ns: u64,
        to_risk: &mut Producer<HotEvent>,
    ) {
        let HotTrading {
            intents,
            counters,
            outlet,
            attribution,
            tracker,
            factory,
            hist,
            outlet_drops,
            halted,
            decider,
            local_errors,
            ..
        } = self;
        for c in intents.cancels() {
            if let Some(k) = counters.get_mut(c.strategy.index()) {
                k.cancel_intents += 1;
            }
            match outlet {
                HotOutlet::Shadow => {
                    // Nothing rests in shadow mode: the cancel closes what the decider follows.
                    for row in attribution.of(c.strategy, c.market, c.outcome) {
                        decider.on_closed(&row.order_id);
                    }
                    let live = attribution.of(c.strategy, c.market, c.outcome).count();
                    let ev = HotEvent::WouldCancel(WouldBeCancel {
                        strategy: c.strategy,
                        reason: c.reason,
                        market: c.market.0,
                        outcome: c.outcome,
                        orders: live as u32,
                    });
                    if to_risk.push(ev).is_err() {
                        *outlet_drops += 1;
                    }
                }
                HotOutlet::Venue(v) => {
                    let now_ns = crate::clock::mono_ns();
                    for row in attribution.of(c.strategy, c.market, c.outcome) {
                        let open = tracker
                            .get(&row.order_id)
                            .is_some_and(|r| r.state.is_open());
                        if !open {
                            continue;
                        }
                        match v.client.cancel(&row.order_id, now_ns) {
                            Ok(_) => v.cancels_sent += 1,
                            Err(_) => v.cancel_refusals += 1,
                        }
                    }
                }
            }
        }
        if *halted {
            return;
        }
        // Legs of one group go in one batch: collected here, submitted after the loop.
        let mut batch: [Option<(SignedOrder, OrderIntent)>; MAX_BATCH] = [None; MAX_BATCH];
        let mut batch_len = 0usize;
        for intent in intents.orders() {
            let Some(k) = counters.get_mut(intent.strategy.index()) else {
                continue;
            };
            k.intents += 1;
            let built = match factory.build(intent, now_ms) {
                Ok(b) => b,
                Err(_) => {
                    k.build_errors += 1;
                    decider.on_refused(intent);
                    continue;
                }
            };
            k.signed += 1;
            let order = built.order;
            let token = built.token;
            attribution.insert(Attribution::of_intent(order.order_id, intent), |id| {
                tracker.get(id).is_some_and(|r| r.state.is_open())
            });
            match outlet {
                HotOutlet::Shadow => {
                    let ev = HotEvent::WouldOrder(WouldBeOrder {
                        intent: *intent,
                        order_id: order.order_id,
                        maker_amount: order.vars.maker_amount,
                        taker_amount: order.vars.taker_amount,
                        salt: order.vars.salt,
                    });
                    if to_risk.push(ev).is_ok() {
                        k.sent += 1;
                        let t = crate::clock::mono_ns();
                        hist.record(Stage::DecisionToWire, t.saturating_sub(t_decide));
                        hist.record(Stage::WireToWire, t.saturating_sub(frame_ns));
                        decider.on_sent(&order.order_id, intent);
                        if is_immediate(intent) {
                            decider.on_closed(&order.order_id);
                        }
                    } else {
                        *outlet_drops += 1;
                    }
                }
                HotOutlet::Venue(v) => {
                    let price = intent.price_micro.unsigned_abs();
                    let size = intent.size_micro.unsigned_abs();
                    if let Err(_refused) = tracker.on_signed(
                        order.order_id,
                        token,
                        intent.side,
                        price,
                        size,
                        is_immediate(intent),
                    ) {
                        k.local_refusals += 1;
                        k.tracker_refusals += 1;
                        decider.on_refused(intent);
                        continue;
                    }
                    if intent.group != 0 && batch_len < MAX_BATCH {
                        if let Some(slot) = batch.get_mut(batch_len) {
                            *slot = Some((order, *intent));
                            batch_len += 1;
                        }
                        continue;
                    }
                    let Some(template) = factory.template(intent.market, intent.outcome) else {
                        tracker.on_failed(&order.order_id);
                        k.local_refusals += 1;
                        decider.on_refused(intent);
                        continue;
                    };
                    let owner = v.owner.as_str();
                    let now_ns = crate::clock::mono_ns();
                    match v
                        .client
                        .submit(template, &order, &post_options(intent, owner), now_ns)
                    {
                        Ok(()) => {
                            k.sent += 1;
                            let t = crate::clock::mono_ns();
                            hist.record(Stage::DecisionToWire, t.saturating_sub(t_decide));
                            hist.record(Stage::WireToWire, t.saturating_sub(frame_ns));
                            if let Some(row) = attribution.get_mut(&order.order_id) {
                                row.sent_ns = t;
                            }
                            decider.on_sent(&order.order_id, intent);
                        }
                        Err(refused) => {
                            local_errors[error_kind_index(&refused)] += 1;
                            tracker.on_failed(&order.order_id);
                            k.local_refusals += 1;
                            k.client_refusals += 1;
                            decider.on_refused(intent);
                        }
                    }
                }
            }
        }
        if batch_len == 0 {
            return;
        }
        let HotOutlet::Venue(v) = outlet else {
            return;
        };
        let owner = v.owner.as_str();
        // Every leg's template exists: each was just built from it.
        let mut legs = batch
            .iter()
            .take(batch_len)
            .flatten()
            .filter_map(|(order, intent)| {
                factory
                    .template(intent.market, intent.outcome)
                    .map(|template| BatchItem {
                        template,
                        order,
                        options: post_options(intent, owner),
                    })
            });
        let Some(first) = legs.next() else {
            return;
        };
        let mut items = [first; MAX_BATCH];
        let mut n = 1usize;
        for (slot, item) in items.iter_mut().skip(1).zip(legs) {
            *slot = item;
            n += 1;
        }
        let now_ns = crate::clock::mono_ns();
        let result = v.client.submit_batch(items.get(..n).unwrap_or(&[]), now_ns);
        if let Err(e) = &result {
            local_errors[error_kind_index(e)] += 1;
        }
        let t = crate::clock::mono_ns();
        for (order, intent) in batch.iter().take(batch_len).flatten() {
            let Some(k) = counters.get_mut(intent.strategy.index()) else {
                continue;
            };
            if result.is_ok() {
                k.sent += 1;
                hist.record(Stage::DecisionToWire, t.saturating_sub(t_decide));
                hist.record(Stage::WireToWire, t.saturating_sub(frame_ns));
                if let Some(row) = attribution.get_mut(&order.order_id) {
                    row.sent_ns = t;
                }
                decider.on_sent(&order.order_id, intent);
            } else {
                tracker.on_failed(&order.order_id);
                k.local_refusals += 1;
                k.client_refusals += 1;
                decider.on_refused(intent);
            }
        }
    }

    /// The final report.
    pub fn into_report(mut self) -> TradingReport {
        if let HotOutlet::Venue(v) = &self.outlet {
            // Same fixed bounds on both sides: the merge cannot fail.
            let _ = self.hist.merge(v.client.latency());
        }
        TradingReport {
            strategies: self.counters,
            venue_errors: self.venue_errors,
            local_errors: self.local_errors,
            figures: self.decider.figures(),
            decisions: self.decisions,
            intents_refused: self.intents.refused(),
            outlet_drops: self.outlet_drops,
            histograms: self.hist,
            signed_pooled: self.factory.signed_pooled,
            signed_fallback: self.factory.signed_fallback,
            attribution_evicted_open: self.attribution.evicted_open,
            cancels_sent: match &self.outlet {
                HotOutlet::Venue(v) => v.cancels_sent,
                HotOutlet::Shadow => 0,
            },
            reconciles: match &self.outlet {
                HotOutlet::Venue(v) => v.reconciles,
                HotOutlet::Shadow => 0,
            },
            user_markets: match &self.outlet {
                HotOutlet::Venue(v) => v.subscribed_markets,
                HotOutlet::Shadow => 0,
            },
            cancel_refusals: match &self.outlet {
                HotOutlet::Venue(v) => v.cancel_refusals,
                HotOutlet::Shadow => 0,
            },
            user_channel: match &self.outlet {
                HotOutlet::Venue(v) => Some(*v.user.counters()),
                HotOutlet::Shadow => None,
            },
            user_net: match &self.outlet {
                HotOutlet::Venue(v) => Some(v.user.ws().net_counters()),
                HotOutlet::Shadow => None,
            },
            client: match &self.outlet {
                HotOutlet::Venue(v) => Some(*v.client.counters()),
                HotOutlet::Shadow => None,
            },
            signal_sets_started: self.signals.first_updates,
            signal_sets_warm_at_start: self.signals.first_updates_with_regime,
            order_path_warms: self.order_path_warms,
            tracker: self.tracker,
        }
    }
}
