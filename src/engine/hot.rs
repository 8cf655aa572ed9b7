//! The hot thread: one mio poll loop over every feed connection. Per readiness event it drains
//! every available WebSocket message, parses it in place (simd-json, reused buffers) and applies
//! it to fixed-memory per-asset state, recording per-stage latency into histograms it owns.
//! Timers (keep-alives, watchdogs, reconnects, due subscriptions, discovery commands from the
//! risk thread) run at most once per millisecond; market views go out with the loop stats.
//! Before the loop, the start-up warm-up's closed 1-minute history is seeded into each asset's
//! spot candles.
//!
//! Invariants: after start-up nothing here blocks (busy or short blocking poll only), allocates,
//! or formats text; everything that leaves the thread is a `Copy` message pushed into an SPSC ring
//! that drops (and counts) when full.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use mio::Token;

use super::feeds::FeedPlan;
use super::hot_trading::{HotTrading, TradingReport, TradingSetup};
use super::messages::{AssetView, Command, HotEvent, LoopStats};
use super::poly::{PolyCounters, PolyFeeds, PolySetup};
use crate::book::BookCounters;
use crate::clock::mono_ns;
use crate::feeds::binance::parse::BinanceParser;
use crate::feeds::binance::records::{Asset, Venue};
use crate::feeds::binance::state::{BinanceState, FlowWindow, TradeSource};
use crate::feeds::binance::warmup::AssetHistory;
use crate::net::counters::NetCounters;
use crate::net::poll::{PollMode, Poller};
use crate::net::ws::{MaybeTlsConnector, WsClient, WsError, WsOptions, WsState};
use crate::queue::spsc::{Consumer, Producer};
use crate::telemetry::latency::{Stage, StageHistograms};

/// At most this many feed connections (readiness is tracked in a fixed array).
pub const MAX_CONNECTIONS: usize = 64;
/// Timer work (keep-alive, watchdog, reconnect) runs at most this often.
const TIMER_PERIOD_NS: u64 = 1_000_000;

/// Errors that stop the hot thread before or while it runs.
#[derive(Debug, thiserror::Error)]
pub enum HotError {
    #[error("creating the poller: {0}")]
    Poller(io::Error),
    #[error("polling: {0}")]
    Poll(io::Error),
    #[error("setting up connection {label}: {source}")]
    Connection {
        label: &'static str,
        source: WsError,
    },
    #[error("{0} feed connections configured; at most {MAX_CONNECTIONS}")]
    TooManyConnections(usize),
    #[error("setting up trading: {0}")]
    Trading(#[from] super::hot_trading::TradingSetupError),
}

/// Everything the hot thread needs, built on the main thread.
pub struct HotSetup {
    /// Planned connections, with a resolved connector each (same order).
    pub feeds: Vec<(FeedPlan, MaybeTlsConnector)>,
    /// WebSocket settings for every feed.
    pub ws_options: WsOptions,
    /// Busy or blocking poll.
    pub poll_mode: PollMode,
    /// mio events buffer size.
    pub events_capacity: usize,
    /// Assets to report in the periodic views.
    pub assets: Vec<Asset>,
    /// How often views and loop stats are sent to the risk thread.
    pub stats_interval_ns: u64,
    /// Hot → risk ring.
    pub to_risk: Producer<HotEvent>,
    /// Risk → hot ring.
    pub from_risk: Consumer<Command>,
    /// Bumped every loop iteration: the risk thread's hung-loop detector reads it.
    pub heartbeat: Arc<AtomicU64>,
    /// Set when the hot thread has left its loop.
    pub finished: Arc<AtomicBool>,
    /// The Polymarket market channel and RTDS, when configured.
    pub poly: Option<PolySetup>,
    /// Decisions and orders (needs `poly`), when the run trades.
    pub trading: Option<TradingSetup>,
    /// Closed 1-minute history per asset (start-up warm-up), seeded into the spot candles
    /// before the loop starts.
    pub warm_history: Vec<AssetHistory>,
    /// Raw-frame recorder's hot half, when recording (`crate::record`).
    pub record_tap: Option<crate::record::FrameTap>,
    /// Keeps the kernel's send path warm for orders (busy trading runs, `net::warm`).
    pub send_warmer: Option<crate::net::warm::SendPathWarmer>,
}

/// Discovery commands applied per timer tick at most (bounds one tick's work).
const COMMANDS_PER_TICK: usize = 64;

/// What the Polymarket side hands back.
pub struct PolyReport {
    /// Market channel latency (`SocketToDecode` = readable → parsed and applied to books).
    pub market_histograms: StageHistograms,
    /// RTDS latency (`SocketToDecode` = readable → parsed and applied to the oracle rings).
    pub rtds_histograms: StageHistograms,
    pub counters: PolyCounters,
    pub books: BookCounters,
    /// Markets still tracked at the end.
    pub tracked: usize,
}

/// What the hot thread hands back when it stops.
pub struct HotReport {
    /// Per-stage latency recorded on this thread (all Binance connections together).
    pub histograms: StageHistograms,
    /// The feed stages per Binance connection, labelled.
    pub connection_histograms: Vec<(&'static str, StageHistograms)>,
    /// Final loop counters.
    pub stats: LoopStats,
    /// Per-connection network counters, labelled.
    pub net: Vec<(&'static str, NetCounters)>,
    /// The Polymarket side, when it ran.
    pub poly: Option<PolyReport>,
    /// The trading side, when it ran.
    pub trading: Option<TradingReport>,
    /// Warm-up candles seeded into the spot candle histories, and histories refused.
    pub warm_candles_seeded: u64,
    pub warm_histories_refused: u64,
    /// Send-path warming (`net::warm`): ticks written and read back, and whether the pair
    /// failed (warming then stopped); `None` when warming was off.
    pub send_warming: Option<(u64, bool)>,
}

/// Label of the Polymarket market-channel connection.
pub const POLY_MARKET_LABEL: &str = "polymarket market";
/// Label of the RTDS connection.
pub const POLY_RTDS_LABEL: &str = "polymarket rtds";

struct FeedConn {
    label: &'static str,
    ws: WsClient<MaybeTlsConnector>,
    parser: BinanceParser,
}

/// Run the hot loop until a `Stop` command arrives. Returns the thread's report.
pub fn run(setup: HotSetup) -> Result<HotReport, HotError> {
    let HotSetup {
        feeds,
        ws_options,
        poll_mode,
        events_capacity,
        assets,
        stats_interval_ns,
        mut to_risk,
        mut from_risk,
        heartbeat,
        finished,
        poly,
        trading,
        warm_history,
        record_tap,
        send_warmer,
    } = setup;
    let result = run_loop(
        feeds,
        poly,
        record_tap,
        trading,
        warm_history,
        send_warmer,
        ws_options,
        poll_mode,
        events_capacity,
        &assets,
        stats_interval_ns,
        &mut to_risk,
        &mut from_risk,
        &heartbeat,
    );
    finished.store(true, Ordering::Release);
    result
}

#[expect(
    clippy::too_many_arguments,
    reason = "the destructured HotSetup, kept as plain locals for the loop"
)]
fn run_loop(
    feeds: Vec<(FeedPlan, MaybeTlsConnector)>,
    poly: Option<PolySetup>,
    mut record_tap: Option<crate::record::FrameTap>,
    trading: Option<TradingSetup>,
    warm_history: Vec<AssetHistory>,
    mut send_warmer: Option<crate::net::warm::SendPathWarmer>,
    ws_options: WsOptions,
    poll_mode: PollMode,
    events_capacity: usize,
    assets: &[Asset],
    stats_interval_ns: u64,
    to_risk: &mut Producer<HotEvent>,
    from_risk: &mut Consumer<Command>,
    heartbeat: &AtomicU64,
) -> Result<HotReport, HotError> {
    let total = feeds.len() + if poly.is_some() { 2 } else { 0 };
    if total > MAX_CONNECTIONS {
        return Err(HotError::TooManyConnections(total));
    }
    let n_binance = feeds.len();
    let mut poller = Poller::new(poll_mode, events_capacity).map_err(HotError::Poller)?;
    let mut conns: Vec<FeedConn> = Vec::with_capacity(feeds.len());
    let now = mono_ns();
    for (i, (plan, connector)) in feeds.into_iter().enumerate() {
        let mut ws = WsClient::new(
            connector,
            &plan.url,
            &[],
            ws_options.clone(),
            poller.registry(),
            Token(i),
            i as u16,
        )
        .map_err(|source| HotError::Connection {
            label: plan.label,
            source,
        })?;
        // A failed first attempt is counted and retried with backoff by the client itself.
        let _ = ws.start(now);
        conns.push(FeedConn {
            label: plan.label,
            ws,
            parser: BinanceParser::new(plan.venue),
        });
    }
    let mut poly = match poly {
        Some(setup) => {
            let mut p = PolyFeeds::new(setup, poller.registry(), n_binance, n_binance + 1)
                .map_err(|source| HotError::Connection {
                    label: POLY_MARKET_LABEL,
                    source,
                })?;
            p.start(now);
            p.set_record_tap(record_tap.take());
            Some(p)
        }
        None => None,
    };
    // Trading needs the books: it runs only with the Polymarket side.
    let trading_base = n_binance + 2;
    let mut trading = match (trading, poly.as_ref()) {
        (Some(t), Some(p)) => {
            HotTrading::new(t, p.books().capacity(), poller.registry(), trading_base)?
        }
        _ => None,
    };
    let trading_tokens = trading.as_ref().map_or(0..0, |t| t.tokens());
    if trading_tokens.end > MAX_CONNECTIONS {
        return Err(HotError::TooManyConnections(trading_tokens.end));
    }
    if let Some(t) = trading.as_mut() {
        // A failed first attempt is counted and retried with backoff by the client itself.
        let _ = t.start(now);
    }
    let mut state = BinanceState::new(TradeSource::AggTrade);
    // History before any live trade, so every signal set is warm on its first update.
    let (mut warm_candles_seeded, mut warm_histories_refused) = (0u64, 0u64);
    for h in &warm_history {
        match state.get_mut(Venue::Spot, h.asset).seed_candles(&h.candles) {
            Ok(n) => warm_candles_seeded += n as u64,
            Err(_) => warm_histories_refused += 1,
        }
    }
    drop(warm_history);
    let mut hist = StageHistograms::new();
    // The same two stages per Binance connection (the set above is their sum).
    let mut conn_hist: Vec<StageHistograms> =
        conns.iter().map(|_| StageHistograms::new()).collect();
    let mut stats = LoopStats {
        connections: total as u16,
        ..LoopStats::default()
    };
    let mut next_timer_ns = 0u64;
    let mut next_stats_ns = mono_ns() + stats_interval_ns;
    let mut ready = [false; MAX_CONNECTIONS];

    'outer: loop {
        stats.iterations += 1;
        heartbeat.store(stats.iterations, Ordering::Relaxed);

        let events = poller.poll_once().map_err(HotError::Poll)?;
        let mut any = false;
        for ev in events.iter() {
            if let Some(slot) = ready.get_mut(ev.token().0) {
                *slot = true;
                any = true;
            }
        }
        let t_ready = mono_ns();

        if any {
            // The recorder's tap lives with the Polymarket side when there is one.
            let mut tap = match poly.as_mut() {
                Some(p) => p.record_tap_mut(),
                None => record_tap.as_mut(),
            };
            for (i, conn) in conns.iter_mut().enumerate() {
                if !std::mem::take(&mut ready[i]) {
                    continue;
                }
                let FeedConn { ws, parser, .. } = conn;
                let mut moved_assets = 0u8;
                let delivered = ws.poll_read(t_ready, |payload, _is_text| {
                    if let Some(tap) = tap.as_mut() {
                        tap.frame(i as u16, t_ready, payload);
                    }
                    match parser.parse(payload, t_ready) {
                        Ok(rec) => {
                            let t_decoded = mono_ns();
                            let decode = t_decoded.saturating_sub(t_ready);
                            hist.record(Stage::SocketToDecode, decode);
                            state.apply(&rec);
                            moved_assets |= rec.asset_bit();
                            let apply = mono_ns().saturating_sub(t_decoded);
                            hist.record(Stage::DecodeToBook, apply);
                            if let Some(h) = conn_hist.get_mut(i) {
                                h.record(Stage::SocketToDecode, decode);
                                h.record(Stage::DecodeToBook, apply);
                            }
                        }
                        Err(_) => stats.parse_errors += 1,
                    }
                });
                if let Ok(n) = delivered {
                    stats.messages += n as u64;
                    if n > 0 {
                        if let Some(t) = trading.as_mut() {
                            t.mark_assets_moved(t_ready, moved_assets);
                        }
                    }
                }
            }
            if let Some(p) = poly.as_mut() {
                if std::mem::take(&mut ready[n_binance]) {
                    // Errors are counted and a reconnect scheduled by the client.
                    if let (Ok(n), Some(t)) = (p.on_market_ready(t_ready), trading.as_mut()) {
                        if n > 0 {
                            t.mark_dirty(t_ready);
                        }
                    }
                }
                if std::mem::take(&mut ready[n_binance + 1]) {
                    let _ = p.on_rtds_ready(t_ready);
                }
            }
            if let Some(t) = trading.as_mut() {
                for token in trading_tokens.clone() {
                    if ready.get(token).copied().unwrap_or(false) {
                        if let Some(r) = ready.get_mut(token) {
                            *r = false;
                        }
                        t.on_ready(token, t_ready);
                    }
                }
            }
            if let (Some(t), Some(p)) = (trading.as_mut(), poly.as_ref()) {
                t.run_round(
                    &mut state,
                    p.books(),
                    p.oracle(),
                    p.market_ws.state() == WsState::Open,
                    |m| p.start_s_of(m),
                    crate::clock::wall_ms(),
                    to_risk,
                );
            }
            hist.record(Stage::LoopIteration, mono_ns().saturating_sub(t_ready));
        }

        if let Some(t) = trading.as_mut() {
            t.maybe_warm_order_path(t_ready);
        }
        if t_ready >= next_timer_ns {
            next_timer_ns = t_ready + TIMER_PERIOD_NS;
            let mut open = 0u16;
            for conn in conns.iter_mut() {
                // Errors are counted and a reconnect scheduled by the client.
                let _ = conn.ws.on_timer(t_ready);
                let _ = conn.ws.take_just_opened();
                if conn.ws.state() == WsState::Open {
                    open += 1;
                }
                conn.ws.drain_events(|ev| {
                    let _ = to_risk.push(HotEvent::Net(ev));
                });
            }
            if let Some(p) = poly.as_mut() {
                open += p.on_timer(t_ready);
                for ws in [&mut p.market_ws, &mut p.rtds_ws] {
                    ws.drain_events(|ev| {
                        let _ = to_risk.push(HotEvent::Net(ev));
                    });
                }
            }
            if let Some(t) = trading.as_mut() {
                t.on_timer(t_ready);
            }
            if let Some(w) = send_warmer.as_mut() {
                w.tick(t_ready);
            }
            stats.open_connections = open;
            for _ in 0..COMMANDS_PER_TICK {
                match from_risk.try_pop() {
                    None => break,
                    Some(Command::Stop) => break 'outer,
                    Some(Command::HaltTrading) => {
                        if let Some(t) = trading.as_mut() {
                            t.halt();
                        }
                    }
                    Some(Command::Discovery(msg)) => {
                        if let Some(p) = poly.as_mut() {
                            let before = p.slot_of_msg(&msg);
                            if let Some(gone) = p.on_discovery(msg, t_ready) {
                                let _ = to_risk.push(HotEvent::MarketGone(gone));
                            }
                            if let Some(t) = trading.as_mut() {
                                apply_discovery(t, p, &msg, before);
                            }
                        }
                    }
                }
            }
        }

        if t_ready >= next_stats_ns {
            next_stats_ns = t_ready + stats_interval_ns;
            for &asset in assets {
                for venue in [Venue::Spot, Venue::Futures] {
                    let view = view_of(&mut state, venue, asset);
                    let _ = to_risk.push(HotEvent::Asset(view));
                }
            }
            if let Some(p) = poly.as_ref() {
                let now_ms = crate::clock::wall_ms();
                p.views(
                    now_ms,
                    t_ready,
                    |asset| binance_price(&state, asset),
                    |v| {
                        let _ = to_risk.push(HotEvent::Market(v));
                    },
                );
                stats.messages_poly = p.counters.market_messages + p.counters.rtds_messages;
            }
            if let Some(t) = trading.as_mut() {
                t.publish(to_risk);
            }
            stats.queue_drops = to_risk.dropped();
            stats.parse_errors = parse_errors(&conns, poly.as_ref());
            stats.at_ns = t_ready;
            let _ = to_risk.push(HotEvent::Loop(stats));
        }
    }

    let now = mono_ns();
    if let Some(t) = trading.as_mut() {
        t.close(now);
    }
    let mut net = Vec::with_capacity(conns.len());
    for conn in conns.iter_mut() {
        conn.ws.close(now);
        net.push((conn.label, conn.ws.net_counters()));
    }
    let poly = poly.map(|mut p| {
        p.market_ws.close(now);
        p.rtds_ws.close(now);
        net.push((POLY_MARKET_LABEL, p.market_ws.net_counters()));
        net.push((POLY_RTDS_LABEL, p.rtds_ws.net_counters()));
        stats.parse_errors = parse_errors(&conns, Some(&p));
        stats.messages_poly = p.counters.market_messages + p.counters.rtds_messages;
        PolyReport {
            counters: p.counters,
            books: *p.books().counters(),
            tracked: p.tracked_count(),
            market_histograms: std::mem::take(&mut p.market_hist),
            rtds_histograms: std::mem::take(&mut p.rtds_hist),
        }
    });
    if poly.is_none() {
        stats.parse_errors = parse_errors(&conns, None);
    }
    stats.queue_drops = to_risk.dropped();
    stats.at_ns = now;
    Ok(HotReport {
        histograms: hist,
        connection_histograms: conns.iter().map(|c| c.label).zip(conn_hist).collect(),
        stats,
        net,
        poly,
        trading: trading.map(HotTrading::into_report),
        warm_candles_seeded,
        warm_histories_refused,
        send_warming: send_warmer.map(|w| (w.writes, w.failed)),
    })
}

/// Follow a discovery message on the trading side: `slot_before` is the book slot the
/// message's market had before it was applied (for a retirement).
fn apply_discovery(
    t: &mut HotTrading,
    p: &PolyFeeds,
    msg: &crate::discovery::DiscoveryMsg,
    slot_before: Option<crate::book::MarketIdx>,
) {
    use crate::discovery::DiscoveryMsg;
    match msg {
        DiscoveryMsg::NewMarket(record) => {
            if let Some(slot) = p.slot_of_msg(msg) {
                // A market whose templates cannot be built (unsupported tick) is not traded;
                // its build errors are counted per strategy when intents name it.
                let _ = t.on_new_market(slot, record);
                if let Some(cond) = p.books().condition_id(slot) {
                    t.subscribe_user_market(cond, mono_ns());
                }
            }
        }
        DiscoveryMsg::MarketResolved { winner, .. } => {
            if let Some(slot) = slot_before {
                let winner = match winner {
                    crate::discovery::gamma::Outcome::Up => crate::book::Outcome::Up,
                    crate::discovery::gamma::Outcome::Down => crate::book::Outcome::Down,
                };
                t.on_resolved(slot, winner, p.oracle());
            }
        }
        DiscoveryMsg::RetireMarket { .. } => {
            if let Some(slot) = slot_before {
                t.on_retired(slot);
            }
        }
    }
}

fn parse_errors(conns: &[FeedConn], poly: Option<&PolyFeeds>) -> u64 {
    conns
        .iter()
        .map(|c| c.parser.counts().total_errors())
        .sum::<u64>()
        + poly.map_or(0, |p| p.parse_errors())
}

/// Binance spot mid (last trade before the first book update), 1e-8; 0 when unknown.
fn binance_price(state: &BinanceState, asset: Asset) -> i64 {
    let s = state.get(Venue::Spot, asset);
    s.mid_x2()
        .map(|m| m / 2)
        .or_else(|| s.last_px())
        .unwrap_or(0)
}

fn view_of(state: &mut BinanceState, venue: Venue, asset: Asset) -> AssetView {
    let s = state.get_mut(venue, asset);
    let now_ms = crate::clock::wall_ms();
    let flow = s.taker_flow_at(FlowWindow::S60, now_ms);
    let (bid_px, ask_px) = s.book().map(|b| (b.bid_px, b.ask_px)).unwrap_or((0, 0));
    let last_recv_ns = s.last_trade().map(|t| t.recv_ns).unwrap_or(0);
    AssetView {
        venue,
        asset,
        last_px: s.last_px().unwrap_or(0),
        bid_px,
        ask_px,
        trades: s.counters().trades,
        book_updates: s.counters().book_tickers,
        taker_buy_60s: flow.buy,
        taker_sell_60s: flow.sell,
        funding_rate: s.funding_rate().unwrap_or(0),
        candles_closed: s.candles().closed().len() as u64,
        last_recv_ns,
    }
}
