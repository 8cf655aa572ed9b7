//! The hot thread's Polymarket side: the CLOB market-channel connection feeding
//! [`MarketBooks`] through [`MarketChannelParser`], the RTDS connection feeding the
//! [`OracleMonitor`], and the set of tracked markets driven by discovery commands.
//!
//! Subscriptions: on every (re)open of the market channel the initial frame carries every live
//! token (the venue answers with fresh `book` snapshots); a market discovered while the socket
//! is open is added with a dynamic `subscribe`; a retired one is `unsubscribe`d; a book the
//! parser or the book set flags for resync is unsubscribed and subscribed again. While the
//! market channel is down every live book is marked awaiting a snapshot. A book of an
//! unresolved market still awaiting its snapshot `snapshot_timeout` after it was asked for
//! (the venue swallowed the subscription's answer) is asked again the same way, counted. RTDS
//! is subscribed to both oracle topics for the configured assets on every open.
//!
//! Invariants: after construction nothing here allocates or blocks (ids are converted into
//! stack buffers, frames are written into a pre-sized buffer); venue input never panics (parse
//! errors are counted by the parsers).

use mio::{Registry, Token};

use super::market_view::{
    default_annual_vol, fair_p_up, feed_asset, phase_at, Phase, DECIMAL_ID_MAX,
};
use super::messages::MarketView;
use crate::book::{MarketBooks, MarketIdx as BookMarketIdx, ResyncReason, TokenIdx};
use crate::discovery::{DiscoveryMsg, MarketRecord};
use crate::feeds::binance::records::Asset;
use crate::feeds::oracle::{rtds, OracleMonitor, OracleTopic, SubAction};
use crate::feeds::polymarket::{
    write_dynamic_subscription, write_initial_subscription, MarketChannelParser, MarketResolved,
    MarketSink, ParserConfig, SubscriptionOp,
};
use crate::net::ws::{MaybeTlsConnector, WsClient, WsError, WsOptions, WsState};
use crate::telemetry::latency::{Stage, StageHistograms};

/// Oracle prices are × 1e18; views carry 1e-8.
const E18_TO_E8: i128 = 10_000_000_000;

/// Where the two Polymarket connections go and how many markets can be tracked.
pub struct PolySetup {
    /// Market channel URL (`.../ws/market`) and its resolved connector.
    pub market_url: String,
    pub market_connector: MaybeTlsConnector,
    /// RTDS URL and its resolved connector.
    pub rtds_url: String,
    pub rtds_connector: MaybeTlsConnector,
    /// WebSocket settings of the market channel (text `PING` every 10 s, `PONG` swallowed).
    pub ws_options: WsOptions,
    /// WebSocket settings of RTDS (text `PING` every 5 s).
    pub rtds_ws_options: WsOptions,
    /// Book slots (markets tracked at once).
    pub max_markets: usize,
    /// Assets whose oracle prices are followed.
    pub assets: Vec<Asset>,
    /// Oracle observations older than this are flagged stale.
    pub oracle_max_age_ms: u64,
    /// A book still awaiting the snapshot its subscription asked for after this long is
    /// unsubscribed and subscribed again.
    pub snapshot_timeout: std::time::Duration,
}

/// Counters of the Polymarket side (monotonic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolyCounters {
    /// Discovery commands received.
    pub new_markets: u64,
    pub resolved: u64,
    pub retired: u64,
    /// Markets refused by the book set (full, bad id) or with an unsupported tick.
    pub add_failures: u64,
    /// Initial subscription frames sent (one per open).
    pub initial_subscriptions: u64,
    /// Dynamic subscribe / unsubscribe frames sent.
    pub dynamic_subscriptions: u64,
    pub unsubscriptions: u64,
    /// Tokens resubscribed because a resync was requested.
    pub resyncs: u64,
    /// Markets whose books were still awaiting a snapshot `snapshot_timeout` after asking
    /// (each such book is then resynced).
    pub overdue_snapshots: u64,
    /// Frames that could not be written or sent.
    pub send_failures: u64,
    /// RTDS frames the oracle monitor rejected.
    pub oracle_errors: u64,
    /// Market-channel frames with at least one parse error.
    pub market_frame_errors: u64,
    /// Data messages delivered by the two connections.
    pub market_messages: u64,
    pub rtds_messages: u64,
}

#[derive(Debug, Clone, Copy)]
struct Tracked {
    record: MarketRecord,
    resolved: bool,
    snapshots: u32,
    /// When this market's books were last asked for (mono ns; 0: not asked on this
    /// connection yet).
    asked_ns: u64,
}

/// Counts snapshots per market slot and follows venue resolutions.
struct Sink<'a> {
    tracked: &'a mut [Option<Tracked>],
}

impl MarketSink for Sink<'_> {
    fn on_book(&mut self, event: &crate::feeds::polymarket::BookApplied) {
        let m = MarketBooks::market_of(event.token).0 as usize;
        if let Some(Some(t)) = self.tracked.get_mut(m) {
            t.snapshots = t.snapshots.saturating_add(1);
        }
    }

    fn on_market_resolved(&mut self, event: &MarketResolved) {
        if let Some(m) = event.market {
            if let Some(Some(t)) = self.tracked.get_mut(m.0 as usize) {
                t.resolved = true;
            }
        }
    }
}

/// See the module docs.
pub struct PolyFeeds {
    pub market_ws: WsClient<MaybeTlsConnector>,
    pub rtds_ws: WsClient<MaybeTlsConnector>,
    parser: MarketChannelParser,
    books: MarketBooks,
    oracle: OracleMonitor,
    tracked: Vec<Option<Tracked>>,
    frame: Vec<u8>,
    assets: Vec<Asset>,
    oracle_max_age_ms: u64,
    snapshot_timeout_ns: u64,
    market_was_open: bool,
    /// The initial subscription frame went out on the current market-channel connection.
    initial_sent: bool,
    /// Market channel: socket readable → frame parsed and applied to the books
    /// (`SocketToDecode`; the parser applies while it walks, so there is no separate book stage).
    pub market_hist: StageHistograms,
    /// RTDS: socket readable → frame parsed and applied to the oracle rings (`SocketToDecode`).
    pub rtds_hist: StageHistograms,
    pub counters: PolyCounters,
    /// Raw-frame recorder's hot half, when recording.
    record_tap: Option<crate::record::FrameTap>,
    /// Connection ids of the market channel and RTDS (their mio tokens).
    conn_ids: (u16, u16),
}

impl PolyFeeds {
    /// Build both clients (not connected yet) and allocate every buffer.
    pub fn new(
        setup: PolySetup,
        registry: &Registry,
        market_token: usize,
        rtds_token: usize,
    ) -> Result<PolyFeeds, WsError> {
        let market_ws = WsClient::new(
            setup.market_connector,
            &setup.market_url,
            &[],
            setup.ws_options,
            registry,
            Token(market_token),
            market_token as u16,
        )?;
        let rtds_ws = WsClient::new(
            setup.rtds_connector,
            &setup.rtds_url,
            &[],
            setup.rtds_ws_options,
            registry,
            Token(rtds_token),
            rtds_token as u16,
        )?;
        let max_markets = setup.max_markets.max(1);
        let books = MarketBooks::with_capacity(max_markets);
        let slots = books.capacity();
        Ok(PolyFeeds {
            market_ws,
            rtds_ws,
            parser: MarketChannelParser::new(ParserConfig::default()),
            books,
            oracle: OracleMonitor::new(&setup.assets),
            tracked: vec![None; slots],
            // Every token id quoted plus separators, and the fixed parts of the frame.
            frame: vec![0u8; slots * 2 * (DECIMAL_ID_MAX + 3) + 1024],
            assets: setup.assets,
            oracle_max_age_ms: setup.oracle_max_age_ms,
            snapshot_timeout_ns: u64::try_from(setup.snapshot_timeout.as_nanos())
                .unwrap_or(u64::MAX),
            market_was_open: false,
            initial_sent: false,
            market_hist: StageHistograms::new(),
            rtds_hist: StageHistograms::new(),
            counters: PolyCounters::default(),
            record_tap: None,
            conn_ids: (market_token as u16, rtds_token as u16),
        })
    }

    /// Start both connections.
    pub fn start(&mut self, now_ns: u64) {
        // A failed first attempt is counted and retried with backoff by the client itself.
        let _ = self.market_ws.start(now_ns);
        let _ = self.rtds_ws.start(now_ns);
    }

    /// Record every frame of both connections through `tap` (`None`: stop recording).
    pub fn set_record_tap(&mut self, tap: Option<crate::record::FrameTap>) {
        self.record_tap = tap;
    }

    /// The recorder's tap, when recording.
    pub fn record_tap_mut(&mut self) -> Option<&mut crate::record::FrameTap> {
        self.record_tap.as_mut()
    }

    /// The books (read-only).
    pub fn books(&self) -> &MarketBooks {
        &self.books
    }

    /// The oracle monitor (read-only).
    pub fn oracle(&self) -> &OracleMonitor {
        &self.oracle
    }

    /// Parse errors of both parsers.
    pub fn parse_errors(&self) -> u64 {
        self.parser.counters().errors + self.oracle.counters().total_errors()
    }

    /// Markets currently tracked.
    pub fn tracked_count(&self) -> usize {
        self.tracked.iter().filter(|t| t.is_some()).count()
    }

    /// Drain the market channel socket into the books; resubscribe any token needing a resync.
    pub fn on_market_ready(&mut self, t_ready: u64) -> Result<usize, WsError> {
        let PolyFeeds {
            market_ws,
            parser,
            books,
            tracked,
            market_hist,
            counters,
            record_tap,
            conn_ids,
            ..
        } = self;
        let mut sink = Sink { tracked };
        let delivered = market_ws.poll_read(t_ready, |payload, _is_text| {
            if let Some(tap) = record_tap.as_mut() {
                tap.frame(conn_ids.0, t_ready, payload);
            }
            let summary = parser.on_frame(payload, books, t_ready, &mut sink);
            market_hist.record(
                Stage::SocketToDecode,
                crate::clock::mono_ns().saturating_sub(t_ready),
            );
            if summary.errors > 0 {
                counters.market_frame_errors += 1;
            }
        });
        if let Ok(n) = delivered {
            self.counters.market_messages += n as u64;
        }
        if self.books.any_resync_pending() {
            self.resync(t_ready);
        }
        delivered
    }

    /// Drain the RTDS socket into the oracle monitor.
    pub fn on_rtds_ready(&mut self, t_ready: u64) -> Result<usize, WsError> {
        let PolyFeeds {
            rtds_ws,
            oracle,
            rtds_hist,
            counters,
            record_tap,
            conn_ids,
            ..
        } = self;
        let now_ms = crate::clock::wall_ms();
        let delivered = rtds_ws.poll_read(t_ready, |payload, _is_text| {
            if let Some(tap) = record_tap.as_mut() {
                tap.frame(conn_ids.1, t_ready, payload);
            }
            if oracle.on_frame(payload, t_ready, now_ms).is_err() {
                counters.oracle_errors += 1;
            }
            rtds_hist.record(
                Stage::SocketToDecode,
                crate::clock::mono_ns().saturating_sub(t_ready),
            );
        });
        if let Ok(n) = delivered {
            self.counters.rtds_messages += n as u64;
        }
        delivered
    }

    /// Timer work for both connections: keep-alives, watchdogs, reconnects, and the
    /// subscriptions due after a (re)open. Returns how many of the two are open.
    pub fn on_timer(&mut self, now_ns: u64) -> u16 {
        let _ = self.market_ws.on_timer(now_ns);
        let _ = self.rtds_ws.on_timer(now_ns);
        let market_open = self.market_ws.state() == WsState::Open;
        if self.market_was_open && !market_open {
            self.mark_all_awaiting();
        }
        if self.market_ws.take_just_opened() {
            // Books come back as fresh snapshots: until then they wait.
            self.mark_all_awaiting();
            self.initial_sent = false;
            self.send_initial(now_ns);
        }
        self.market_was_open = market_open;
        if self.rtds_ws.take_just_opened() {
            self.subscribe_rtds(now_ns);
        }
        if market_open && self.initial_sent {
            self.chase_overdue_snapshots(now_ns);
        }
        u16::from(market_open) + u16::from(self.rtds_ws.state() == WsState::Open)
    }

    fn mark_all_awaiting(&mut self) {
        for (m, t) in self.tracked.iter().enumerate() {
            if t.is_some() {
                let (up, down) = MarketBooks::tokens_of(BookMarketIdx(m as u16));
                self.books.begin_snapshot(up, None);
                self.books.begin_snapshot(down, None);
            }
        }
    }

    /// Ask again for the books of every unresolved market still awaiting a snapshot
    /// `snapshot_timeout` after they were asked for (the resync re-stamps `asked_ns`).
    fn chase_overdue_snapshots(&mut self, now_ns: u64) {
        let PolyFeeds {
            books,
            tracked,
            counters,
            snapshot_timeout_ns,
            ..
        } = self;
        for (m, slot) in tracked.iter_mut().enumerate() {
            let Some(t) = slot else { continue };
            if t.resolved || now_ns.saturating_sub(t.asked_ns) < *snapshot_timeout_ns {
                continue;
            }
            let (up, down) = MarketBooks::tokens_of(BookMarketIdx(m as u16));
            let mut overdue = false;
            for token in [up, down] {
                if books.book(token).is_some_and(|b| b.is_awaiting_snapshot()) {
                    books.request_resync(token, ResyncReason::SnapshotOverdue);
                    overdue = true;
                }
            }
            if overdue {
                counters.overdue_snapshots += 1;
            }
        }
        if self.books.any_resync_pending() {
            self.resync(now_ns);
        }
    }

    fn send_initial(&mut self, now_ns: u64) {
        let PolyFeeds {
            books,
            tracked,
            frame,
            market_ws,
            counters,
            initial_sent,
            ..
        } = self;
        let live = tracked
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_some())
            .flat_map(|(m, _)| {
                let (up, down) = MarketBooks::tokens_of(BookMarketIdx(m as u16));
                [up, down]
            })
            .map(|t| books.token_id(t));
        if tracked.iter().all(|t| t.is_none()) {
            return;
        }
        match write_initial_subscription(frame, live, true) {
            Ok(n) => match market_ws.send_text(now_ns, frame.get(..n).unwrap_or(&[])) {
                Ok(()) => {
                    counters.initial_subscriptions += 1;
                    *initial_sent = true;
                    for t in tracked.iter_mut().flatten() {
                        t.asked_ns = now_ns;
                    }
                }
                Err(_) => counters.send_failures += 1,
            },
            Err(_) => counters.send_failures += 1,
        }
    }

    fn subscribe_rtds(&mut self, now_ns: u64) {
        for topic in [OracleTopic::Chainlink, OracleTopic::TwapSixty] {
            match rtds::write_subscription(
                &mut self.frame,
                SubAction::Subscribe,
                topic,
                &self.assets,
            ) {
                Ok(n) => {
                    let payload = self.frame.get(..n).unwrap_or(&[]);
                    if self.rtds_ws.send_text(now_ns, payload).is_err() {
                        self.counters.send_failures += 1;
                    }
                }
                Err(_) => self.counters.send_failures += 1,
            }
        }
    }

    /// Send a dynamic (un)subscribe for `tokens` if the market channel is open.
    fn send_dynamic(
        &mut self,
        now_ns: u64,
        op: SubscriptionOp,
        tokens: [TokenIdx; 2],
        count: usize,
    ) {
        if self.market_ws.state() != WsState::Open {
            return;
        }
        let ids = tokens.iter().take(count).map(|t| self.books.token_id(*t));
        match write_dynamic_subscription(&mut self.frame, op, ids, true) {
            Ok(n) => {
                let payload = self.frame.get(..n).unwrap_or(&[]);
                match self.market_ws.send_text(now_ns, payload) {
                    Ok(()) => match op {
                        SubscriptionOp::Subscribe => self.counters.dynamic_subscriptions += 1,
                        SubscriptionOp::Unsubscribe => self.counters.unsubscriptions += 1,
                    },
                    Err(_) => self.counters.send_failures += 1,
                }
            }
            Err(_) => self.counters.send_failures += 1,
        }
    }

    /// Unsubscribe + subscribe every token with a pending resync (cleared by the drain; the
    /// fresh snapshot settles the book).
    fn resync(&mut self, now_ns: u64) {
        if self.market_ws.state() != WsState::Open {
            // The (re)open sends every live token afresh anyway.
            self.books.drain_resync(|_, _| {});
            return;
        }
        // Every pending token belongs to a tracked market (retiring clears its requests).
        for m in 0..self.tracked.len() {
            if self.tracked.get(m).is_some_and(|t| t.is_none()) {
                continue;
            }
            let (up, down) = MarketBooks::tokens_of(BookMarketIdx(m as u16));
            for t in [up, down] {
                if self.books.resync_pending(t) {
                    self.counters.resyncs += 1;
                    if let Some(Some(tr)) = self.tracked.get_mut(m) {
                        tr.asked_ns = now_ns;
                    }
                    self.books.begin_snapshot(t, None);
                    self.send_dynamic(now_ns, SubscriptionOp::Unsubscribe, [t, t], 1);
                    self.send_dynamic(now_ns, SubscriptionOp::Subscribe, [t, t], 1);
                }
            }
        }
        // Requested and answered: the fresh snapshot settles each book.
        self.books.drain_resync(|_, _| {});
    }

    fn slot_of(&self, idx: crate::discovery::MarketIdx) -> Option<usize> {
        self.tracked
            .iter()
            .position(|t| t.is_some_and(|t| t.record.idx == idx))
    }

    /// The book slot of the market a discovery message names, if tracked.
    pub fn slot_of_msg(&self, msg: &DiscoveryMsg) -> Option<BookMarketIdx> {
        let idx = match msg {
            DiscoveryMsg::NewMarket(r) => r.idx,
            DiscoveryMsg::MarketResolved { idx, .. } => *idx,
            DiscoveryMsg::RetireMarket { idx } => *idx,
        };
        self.slot_of(idx).map(|m| BookMarketIdx(m as u16))
    }

    /// Window start (unix seconds) of the market in book slot `market`.
    pub fn start_s_of(&self, market: BookMarketIdx) -> Option<u64> {
        self.tracked
            .get(usize::from(market.0))
            .and_then(|t| t.map(|t| t.record.start_s))
    }

    /// Apply one discovery command.
    pub fn on_discovery(&mut self, msg: DiscoveryMsg, now_ns: u64) -> Option<u16> {
        match msg {
            DiscoveryMsg::NewMarket(record) => {
                self.counters.new_markets += 1;
                if self.slot_of(record.idx).is_some() {
                    return None;
                }
                let Some(m) = super::market_view::add_record_books(&mut self.books, &record) else {
                    self.counters.add_failures += 1;
                    return None;
                };
                if let Some(slot) = self.tracked.get_mut(m.0 as usize) {
                    *slot = Some(Tracked {
                        record,
                        resolved: false,
                        snapshots: 0,
                        asked_ns: now_ns,
                    });
                }
                let (u, d) = MarketBooks::tokens_of(m);
                if !self.initial_sent && self.market_ws.state() == WsState::Open {
                    // The first tokens on this connection: the initial frame form.
                    self.send_initial(now_ns);
                } else {
                    self.send_dynamic(now_ns, SubscriptionOp::Subscribe, [u, d], 2);
                }
                None
            }
            DiscoveryMsg::MarketResolved { idx, .. } => {
                self.counters.resolved += 1;
                if let Some(m) = self.slot_of(idx) {
                    self.books.mark_resolved(BookMarketIdx(m as u16));
                    if let Some(Some(t)) = self.tracked.get_mut(m) {
                        t.resolved = true;
                    }
                }
                None
            }
            DiscoveryMsg::RetireMarket { idx } => {
                self.counters.retired += 1;
                let m = self.slot_of(idx)?;
                let market = BookMarketIdx(m as u16);
                let (u, d) = MarketBooks::tokens_of(market);
                self.send_dynamic(now_ns, SubscriptionOp::Unsubscribe, [u, d], 2);
                self.books.retire_market(market);
                if let Some(slot) = self.tracked.get_mut(m) {
                    *slot = None;
                }
                Some(idx.0)
            }
        }
    }

    /// The view of every tracked market at wall `now_ms` / mono `now_ns`; `binance_px` gives the
    /// Binance price (1e-8) of an asset, 0 when unknown.
    pub fn views(
        &self,
        now_ms: u64,
        now_ns: u64,
        binance_px: impl Fn(Asset) -> i64,
        mut out: impl FnMut(MarketView),
    ) {
        for (m, t) in self.tracked.iter().enumerate() {
            let Some(t) = t else { continue };
            let r = &t.record;
            let asset = feed_asset(r.asset);
            let (up, down) = MarketBooks::tokens_of(BookMarketIdx(m as u16));
            let (ub, db) = (self.books.book(up), self.books.book(down));
            let best = |b: Option<&crate::book::TokenBook>| {
                b.map(|b| {
                    (
                        b.best_bid().map(|l| l.price_micro),
                        b.best_ask().map(|l| l.price_micro),
                    )
                })
                .unwrap_or((None, None))
            };
            let (up_bid, up_ask) = best(ub);
            let (down_bid, down_ask) = best(db);
            let last_ns = [ub, db]
                .iter()
                .map(|b| b.map(|b| b.last_update_local_ns()).unwrap_or(0))
                .min()
                .unwrap_or(0);
            let book_age_ms = (last_ns != 0).then(|| now_ns.saturating_sub(last_ns) / 1_000_000);
            let flag =
                |f: fn(&crate::book::TokenBook) -> bool| [ub, db].iter().any(|b| b.is_some_and(f));
            let latest = self.oracle.latest(asset);
            let oracle_px = latest.and_then(|l| i64::try_from(l.price_e18 / E18_TO_E8).ok());
            let oracle_age_ms = self.oracle.staleness_ms(asset, now_ms);
            let price_to_beat = self
                .oracle
                .price_to_beat(asset, r.start_s)
                .ok()
                .and_then(|p| i64::try_from(p / E18_TO_E8).ok());
            let bpx = binance_px(asset);
            let end_ms = r.end_s.saturating_mul(1000);
            let start_ms = r.start_s.saturating_mul(1000);
            let phase = if t.resolved {
                Phase::Resolved
            } else {
                phase_at(r.window, start_ms, end_ms, now_ms)
            };
            let fair_up = match (price_to_beat, phase) {
                (Some(ptb), p) if p != Phase::Upcoming && bpx > 0 => fair_p_up(
                    bpx as f64,
                    ptb as f64,
                    default_annual_vol(asset),
                    end_ms.saturating_sub(now_ms),
                ),
                _ => None,
            };
            out(MarketView {
                market: r.idx.0,
                asset,
                window: r.window,
                start_s: r.start_s,
                end_s: r.end_s,
                phase,
                resolved: t.resolved,
                binance_px: bpx,
                oracle_px,
                oracle_age_ms,
                oracle_stale: oracle_age_ms.is_none_or(|a| a > self.oracle_max_age_ms),
                price_to_beat,
                fair_up,
                up_bid,
                up_ask,
                down_bid,
                down_ask,
                ask_sum: up_ask.zip(down_ask).map(|(a, b)| a + b),
                book_age_ms,
                stale: flag(|b| b.is_stale()) || self.market_ws.state() != WsState::Open,
                awaiting_snapshot: flag(|b| b.is_awaiting_snapshot()),
                snapshots: t.snapshots,
                at_ms: now_ms,
            });
        }
    }
}
