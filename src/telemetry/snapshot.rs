//! The telemetry snapshot: everything `/metrics`, `/api/snapshot` and the dashboard show, kept by
//! the risk/telemetry thread from what it already receives (hot-thread events, its own report,
//! per-strategy figures handed to [`TelemetrySnapshot::on_strategy_update`]).
//!
//! Invariants: money is integer micro-dollars, book prices integer micro-units, Binance and
//! oracle prices 1e-8 fixed point; `f64` only for statistics (fair P(Up), deviation in basis
//! points, latency percentiles are integer nanoseconds). Every collection is bounded: one row per
//! strategy (the five `StrategyId`s), one per connection label, one per tracked market (a
//! retired market's row goes), one per asset, and each strategy's P&L series is a fixed-capacity
//! ring ([`PNL_SERIES_CAPACITY`] points) whose oldest point is overwritten. The snapshot holds no
//! secret (no key, token, webhook URL or credential is ever put in it). Risk thread only: it may
//! allocate (rows are created on first sight) but never blocks.

use hdrhistogram::Histogram;
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use crate::engine::messages::{AssetView, HotEvent, LoopStats, MarketView};
use crate::feeds::binance::records::{Asset, Venue};
use crate::net::counters::{NetCounters, NetEvent, NetEventKind};
use crate::risk::pretrade::Rejection;
use crate::strategy::intent::StrategyId;
use crate::telemetry::latency::{new_histogram, Stage, StageHistograms};

/// Points kept per strategy P&L series (10 minutes at one point per second).
pub const PNL_SERIES_CAPACITY: usize = 600;

/// Every rejection reason a strategy row counts: the pre-trade gate's [`Rejection`] kinds, then
/// the venue's refusals, then local refusals (tracker or client outbox full, post-only window).
pub const REJECT_REASONS: [&str; REJECT_REASON_COUNT] = [
    "killed",
    "paused",
    "below_min_size",
    "bad_price",
    "no_mid",
    "price_far_from_mid",
    "stale_book",
    "book_resyncing",
    "stale_oracle",
    "exposure_limit",
    "position_limit",
    "directional_limit",
    "insufficient_collateral",
    "insufficient_tokens",
    "venue",
    "local",
];
/// Number of [`REJECT_REASONS`].
pub const REJECT_REASON_COUNT: usize = Rejection::COUNT + 2;
/// Index of the venue's refusals in [`StrategyFigures::rejects`].
pub const REJECT_VENUE: usize = Rejection::COUNT;
/// Index of local refusals in [`StrategyFigures::rejects`].
pub const REJECT_LOCAL: usize = Rejection::COUNT + 1;

/// Index of a pre-trade rejection in [`StrategyFigures::rejects`].
pub const fn reject_index(r: Rejection) -> usize {
    r.index()
}

/// Cumulative figures of one strategy, as the component that tracks fills and P&L knows them.
/// Counters are totals since start; P&L is the current value (micro-dollars).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StrategyFigures {
    pub orders_sent: u64,
    pub fills: u64,
    pub partial_fills: u64,
    pub cancels: u64,
    /// Per [`REJECT_REASONS`] entry.
    pub rejects: [u64; REJECT_REASON_COUNT],
    pub fees_micro: i64,
    pub realised_pnl_micro: i64,
    pub unrealised_pnl_micro: i64,
}

/// One point of a P&L series: wall ms, realised + unrealised P&L (micro-dollars).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PnlPoint {
    pub at_ms: u64,
    pub pnl_micro: i64,
}

/// A fixed-capacity ring of P&L points, oldest overwritten. Serialised oldest first.
#[derive(Debug, Clone)]
pub struct PnlSeries {
    points: Box<[PnlPoint; PNL_SERIES_CAPACITY]>,
    head: usize,
    len: usize,
}

impl Default for PnlSeries {
    fn default() -> Self {
        Self {
            points: Box::new([PnlPoint::default(); PNL_SERIES_CAPACITY]),
            head: 0,
            len: 0,
        }
    }
}

impl PnlSeries {
    /// Append a point (overwrites the oldest when full).
    pub fn push(&mut self, point: PnlPoint) {
        self.points[self.head] = point;
        self.head = (self.head + 1) % PNL_SERIES_CAPACITY;
        self.len = (self.len + 1).min(PNL_SERIES_CAPACITY);
    }

    /// Points kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No point yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The points, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &PnlPoint> + '_ {
        let start = (self.head + PNL_SERIES_CAPACITY - self.len) % PNL_SERIES_CAPACITY;
        (0..self.len).map(move |i| &self.points[(start + i) % PNL_SERIES_CAPACITY])
    }

    /// The newest point.
    pub fn last(&self) -> Option<&PnlPoint> {
        (self.len > 0)
            .then(|| &self.points[(self.head + PNL_SERIES_CAPACITY - 1) % PNL_SERIES_CAPACITY])
    }
}

impl Serialize for PnlSeries {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len))?;
        for p in self.iter() {
            seq.serialize_element(&[p.at_ms as i64, p.pnl_micro])?;
        }
        seq.end()
    }
}

/// One strategy's row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StrategyRow {
    pub strategy: &'static str,
    pub figures: StrategyFigures,
    /// Shadow mode: orders built and signed but not sent, and cancels not sent.
    pub would_be_orders: u64,
    pub would_be_cancels: u64,
    /// Realised + unrealised − fees over time.
    pub pnl_series: PnlSeries,
}

/// What a connection is doing, from its latest event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnState {
    /// No event yet.
    Unknown,
    Up,
    Down,
    Reconnecting,
}

impl ConnState {
    /// Label value.
    pub const fn name(self) -> &'static str {
        match self {
            ConnState::Unknown => "unknown",
            ConnState::Up => "up",
            ConnState::Down => "down",
            ConnState::Reconnecting => "reconnecting",
        }
    }
}

/// One feed connection's row.
#[derive(Debug, Clone, Serialize)]
pub struct ConnRow {
    pub label: &'static str,
    pub state: ConnState,
    /// Mono ns when it last went down (connect failed or dropped) and has not come up since.
    #[serde(skip)]
    pub down_since_ns: Option<u64>,
    /// Seconds it has been down (at the last [`TelemetrySnapshot::tick`]), 0 when up.
    pub down_for_s: u64,
    pub connects: u64,
    pub connect_failures: u64,
    pub drops: u64,
    pub reconnects: u64,
    pub tls_errors: u64,
    pub protocol_errors: u64,
    pub watchdog_fires: u64,
}

/// One tracked market's row.
#[derive(Debug, Clone, Serialize)]
pub struct MarketRow {
    pub market: u16,
    /// Discovery's slug, empty until known.
    pub slug: String,
    pub asset: &'static str,
    pub window: &'static str,
    pub phase: &'static str,
    pub resolved: bool,
    pub fair_up: Option<f64>,
    pub up_bid_micro: Option<i64>,
    pub up_ask_micro: Option<i64>,
    pub down_bid_micro: Option<i64>,
    pub down_ask_micro: Option<i64>,
    pub ask_sum_micro: Option<i64>,
    pub book_age_ms: Option<u64>,
    pub stale: bool,
    /// Total time its book was seen stale, ms (sum of the gaps between views that were stale).
    pub stale_ms: u64,
    pub end_s: u64,
    pub at_ms: u64,
}

/// Oracle lag and deviation for one asset (from the latest market view of that asset).
#[derive(Debug, Clone, Serialize)]
pub struct OracleRow {
    pub asset: &'static str,
    /// Age of the latest Chainlink price, ms.
    pub lag_ms: Option<u64>,
    pub stale: bool,
    /// Chainlink − Binance, 1e-8 USD.
    pub deviation_e8: Option<i64>,
    /// The same in basis points of the Binance price (statistic).
    pub deviation_bps: Option<f64>,
}

/// Latest Binance view of one (venue, asset).
#[derive(Debug, Clone, Serialize)]
pub struct FeedRow {
    pub venue: &'static str,
    pub asset: &'static str,
    pub last_px_e8: i64,
    pub trades: u64,
    pub book_updates: u64,
}

/// Percentiles of one latency stage, nanoseconds.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyRow {
    pub stage: String,
    pub count: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
}

/// Hot-loop figures from the latest [`LoopStats`].
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LoopRow {
    pub iterations: u64,
    pub messages_binance: u64,
    pub messages_polymarket: u64,
    pub parse_errors: u64,
    pub open_connections: u16,
    pub connections: u16,
}

/// Alert delivery counters (copied from the alert sender).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AlertFigures {
    /// Alerts handed to the worker.
    pub queued: u64,
    /// Same key within the dedup window: not sent.
    pub deduplicated: u64,
    /// Queue full: dropped.
    pub dropped: u64,
    /// Messages delivered (2xx) / failed / over the per-minute limit, per destination
    /// (Telegram, Discord).
    pub sent: [u64; 2],
    pub failed: [u64; 2],
    pub rate_limited: [u64; 2],
}

/// Telemetry HTTP server counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServerFigures {
    /// Responses by status: 200, 400, 404, 405, 408, 431, 503.
    pub responses: [u64; 7],
    /// Connections refused at the connection limit.
    pub refused: u64,
    /// Connections closed by the read or write timeout.
    pub timeouts: u64,
}

/// The statuses counted in [`ServerFigures::responses`], in order.
pub const SERVER_STATUSES: [u16; 7] = [200, 400, 404, 405, 408, 431, 503];

/// See the module docs.
#[derive(Debug, Clone, Serialize)]
pub struct TelemetrySnapshot {
    pub started_ms: u64,
    /// Wall ms of the last [`tick`](Self::tick).
    pub now_ms: u64,
    /// Dashboard refresh period, ms.
    pub refresh_ms: u32,
    pub mode: &'static str,
    /// Names of the entries of every `figures.rejects` array ([`REJECT_REASONS`]).
    pub reject_reasons: &'static [&'static str],
    pub strategies: Vec<StrategyRow>,
    pub connections: Vec<ConnRow>,
    pub markets: Vec<MarketRow>,
    pub oracles: Vec<OracleRow>,
    pub feeds: Vec<FeedRow>,
    pub latency: Vec<LatencyRow>,
    pub hot_loop: LoopRow,
    /// Hot → risk events dropped because the ring was full.
    pub queue_drops: u64,
    /// Events the risk thread received.
    pub events: u64,
    /// Heartbeat checks that found the hot loop not advancing.
    pub hot_stalls: u64,
    pub kill_switch_fired: bool,
    pub trading_paused: bool,
    pub alerts: AlertFigures,
    pub server: ServerFigures,
    /// Hot → risk ring hop (event stamp → receipt on this thread), ns.
    #[serde(skip)]
    hop: Histogram<u64>,
}

/// Name of the latency row the risk thread measures itself.
pub const HOP_STAGE: &str = "hot_to_risk_hop";

impl TelemetrySnapshot {
    /// An empty snapshot with one row per strategy and per connection label.
    pub fn new(labels: &[&'static str], mode: &'static str, refresh_ms: u32) -> Self {
        let now = crate::clock::wall_ms();
        Self {
            started_ms: now,
            now_ms: now,
            refresh_ms,
            mode,
            reject_reasons: &REJECT_REASONS,
            strategies: StrategyId::ALL
                .iter()
                .map(|s| StrategyRow {
                    strategy: s.name(),
                    ..StrategyRow::default()
                })
                .collect(),
            connections: labels.iter().map(|l| conn_row(l)).collect(),
            markets: Vec::new(),
            oracles: Vec::new(),
            feeds: Vec::new(),
            latency: Vec::new(),
            hot_loop: LoopRow::default(),
            queue_drops: 0,
            events: 0,
            hot_stalls: 0,
            kill_switch_fired: false,
            trading_paused: false,
            alerts: AlertFigures::default(),
            server: ServerFigures::default(),
            hop: new_histogram(),
        }
    }

    /// One hot-thread event, received at mono `now_ns`.
    pub fn on_hot_event(&mut self, ev: &HotEvent, now_ns: u64) {
        self.events += 1;
        match ev {
            HotEvent::Net(e) => {
                self.record_hop(now_ns, e.at_ns);
                self.on_net_event(e);
            }
            HotEvent::Asset(v) => self.on_asset_view(v),
            HotEvent::Loop(s) => {
                self.record_hop(now_ns, s.at_ns);
                self.on_loop_stats(s);
            }
            HotEvent::Market(v) => self.on_market_view(v),
            HotEvent::MarketGone(idx) => self.on_market_gone(*idx),
            HotEvent::WouldOrder(o) => {
                if let Some(row) = self.strategies.get_mut(o.intent.strategy.index()) {
                    row.would_be_orders += 1;
                }
            }
            HotEvent::WouldCancel(c) => {
                if let Some(row) = self.strategies.get_mut(c.strategy.index()) {
                    row.would_be_cancels += 1;
                }
            }
            HotEvent::Strategy { strategy, figures } => {
                self.on_strategy_update(*strategy, *figures, crate::clock::wall_ms());
            }
            HotEvent::Account(_) | HotEvent::TradeClosed { .. } => {}
        }
    }

    fn record_hop(&mut self, now_ns: u64, at_ns: u64) {
        if at_ns != 0 && now_ns >= at_ns {
            let v = (now_ns - at_ns).clamp(1, crate::telemetry::latency::HIGHEST_NS);
            let _ = self.hop.record(v);
        }
    }

    /// A connection event: state and counters of its row (unknown ids are ignored).
    pub fn on_net_event(&mut self, e: &NetEvent) {
        let Some(row) = self.connections.get_mut(usize::from(e.conn_id)) else {
            return;
        };
        let mut c = NetCounters::default();
        c.record(e);
        row.connects += c.connects;
        row.connect_failures += c.connect_failures;
        row.drops += c.drops;
        row.reconnects += c.reconnects;
        row.tls_errors += c.tls_errors;
        row.protocol_errors += c.protocol_errors;
        row.watchdog_fires += c.watchdog_fires;
        match e.kind {
            NetEventKind::Connected => {
                row.state = ConnState::Up;
                row.down_since_ns = None;
                row.down_for_s = 0;
            }
            NetEventKind::ConnectFailed | NetEventKind::Dropped(_) => {
                row.state = ConnState::Down;
                row.down_since_ns.get_or_insert(e.at_ns);
            }
            NetEventKind::Reconnecting => {
                row.state = ConnState::Reconnecting;
                row.down_since_ns.get_or_insert(e.at_ns);
            }
            NetEventKind::ProtocolError(_) | NetEventKind::Watchdog => {}
        }
    }

    /// A Binance (venue, asset) view.
    pub fn on_asset_view(&mut self, v: &AssetView) {
        let venue = match v.venue {
            Venue::Spot => "spot",
            Venue::Futures => "futures",
        };
        let asset = v.asset.short_name();
        let row = match self
            .feeds
            .iter_mut()
            .position(|r| r.venue == venue && r.asset == asset)
        {
            Some(i) => &mut self.feeds[i],
            None => {
                self.feeds.push(FeedRow {
                    venue,
                    asset,
                    last_px_e8: 0,
                    trades: 0,
                    book_updates: 0,
                });
                let last = self.feeds.len() - 1;
                &mut self.feeds[last]
            }
        };
        row.last_px_e8 = v.last_px;
        row.trades = v.trades;
        row.book_updates = v.book_updates;
    }

    /// Hot-loop statistics.
    pub fn on_loop_stats(&mut self, s: &LoopStats) {
        self.hot_loop = LoopRow {
            iterations: s.iterations,
            messages_binance: s.messages,
            messages_polymarket: s.messages_poly,
            parse_errors: s.parse_errors,
            open_connections: s.open_connections,
            connections: s.connections,
        };
        self.queue_drops = s.queue_drops;
    }

    /// A tracked market's view: its row, and its asset's oracle row.
    pub fn on_market_view(&mut self, v: &MarketView) {
        let i = match self.markets.iter().position(|m| m.market == v.market) {
            Some(i) => i,
            None => {
                self.markets.push(MarketRow {
                    market: v.market,
                    slug: String::new(),
                    asset: v.asset.short_name(),
                    window: v.window.as_str(),
                    phase: v.phase.label(),
                    resolved: false,
                    fair_up: None,
                    up_bid_micro: None,
                    up_ask_micro: None,
                    down_bid_micro: None,
                    down_ask_micro: None,
                    ask_sum_micro: None,
                    book_age_ms: None,
                    stale: false,
                    stale_ms: 0,
                    end_s: v.end_s,
                    at_ms: v.at_ms,
                });
                self.markets.len() - 1
            }
        };
        let row = &mut self.markets[i];
        if row.stale && v.stale && v.at_ms > row.at_ms {
            row.stale_ms += v.at_ms - row.at_ms;
        }
        row.phase = v.phase.label();
        row.resolved = v.resolved;
        row.fair_up = v.fair_up.filter(|f| f.is_finite());
        row.up_bid_micro = v.up_bid;
        row.up_ask_micro = v.up_ask;
        row.down_bid_micro = v.down_bid;
        row.down_ask_micro = v.down_ask;
        row.ask_sum_micro = v.ask_sum;
        row.book_age_ms = v.book_age_ms;
        row.stale = v.stale;
        row.end_s = v.end_s;
        row.at_ms = v.at_ms;
        self.on_oracle(v);
    }

    fn on_oracle(&mut self, v: &MarketView) {
        let asset = v.asset.short_name();
        let deviation_e8 = match (v.oracle_px, v.binance_px) {
            (Some(o), b) if b != 0 => Some(o.saturating_sub(b)),
            _ => None,
        };
        let deviation_bps = deviation_e8.map(|d| d as f64 / v.binance_px as f64 * 10_000.0);
        let row = OracleRow {
            asset,
            lag_ms: v.oracle_age_ms,
            stale: v.oracle_stale,
            deviation_e8,
            deviation_bps,
        };
        match self.oracles.iter_mut().find(|r| r.asset == asset) {
            Some(slot) => *slot = row,
            None => {
                self.oracles.push(row);
                self.oracles.sort_by_key(|r| {
                    Asset::from_short_name(r.asset).map_or(usize::MAX, Asset::index)
                });
            }
        }
    }

    /// A market left the hot thread.
    pub fn on_market_gone(&mut self, market: u16) {
        self.markets.retain(|m| m.market != market);
    }

    /// Slugs of the markets discovery knows (index, slug).
    pub fn on_market_slugs(&mut self, slugs: &[(u16, String)]) {
        for row in &mut self.markets {
            if let Some((_, slug)) = slugs.iter().find(|(i, _)| *i == row.market) {
                if row.slug != *slug {
                    row.slug.clone_from(slug);
                }
            }
        }
    }

    /// The latest figures of one strategy; appends a P&L point (realised + unrealised) at wall
    /// `now_ms`.
    pub fn on_strategy_update(
        &mut self,
        strategy: StrategyId,
        figures: StrategyFigures,
        now_ms: u64,
    ) {
        let Some(row) = self.strategies.get_mut(strategy.index()) else {
            return;
        };
        row.figures = figures;
        let pnl = figures
            .realised_pnl_micro
            .saturating_add(figures.unrealised_pnl_micro);
        row.pnl_series.push(PnlPoint {
            at_ms: now_ms,
            pnl_micro: pnl,
        });
    }

    /// Percentiles of every stage of `histograms` (stages with no sample are left out), replacing
    /// the rows of those stages; `prefix` tells feeds apart (`""`, `"polymarket_market/"`).
    pub fn on_stage_histograms(&mut self, histograms: &StageHistograms, prefix: &'static str) {
        for stage in Stage::ALL {
            let h = histograms.histogram(*stage);
            if h.is_empty() {
                continue;
            }
            let name = format!("{prefix}{}", stage.slug());
            self.set_latency_row(latency_row(name, h));
        }
    }

    fn set_latency_row(&mut self, row: LatencyRow) {
        match self.latency.iter_mut().find(|r| r.stage == row.stage) {
            Some(slot) => *slot = row,
            None => self.latency.push(row),
        }
    }

    /// Wall `now_ms`, mono `now_ns`: refreshes the time, down durations and the hop row.
    pub fn tick(&mut self, now_ms: u64, now_ns: u64) {
        self.now_ms = now_ms;
        for row in &mut self.connections {
            row.down_for_s = row
                .down_since_ns
                .map_or(0, |since| now_ns.saturating_sub(since) / 1_000_000_000);
        }
        if !self.hop.is_empty() {
            let row = latency_row(HOP_STAGE.to_owned(), &self.hop);
            self.set_latency_row(row);
        }
    }

    /// Serialise as JSON into `out` (cleared first).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.clear();
        if serde_json::to_writer(&mut *out, self).is_err() {
            out.clear();
            out.extend_from_slice(b"{}");
        }
    }
}

fn conn_row(label: &'static str) -> ConnRow {
    ConnRow {
        label,
        state: ConnState::Unknown,
        down_since_ns: None,
        down_for_s: 0,
        connects: 0,
        connect_failures: 0,
        drops: 0,
        reconnects: 0,
        tls_errors: 0,
        protocol_errors: 0,
        watchdog_fires: 0,
    }
}

fn latency_row(stage: String, h: &Histogram<u64>) -> LatencyRow {
    LatencyRow {
        stage,
        count: h.len(),
        p50_ns: h.value_at_quantile(0.5),
        p90_ns: h.value_at_quantile(0.9),
        p99_ns: h.value_at_quantile(0.99),
        p999_ns: h.value_at_quantile(0.999),
        max_ns: h.max(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pnl_series_keeps_the_newest_points_in_order() {
        let mut s = PnlSeries::default();
        for i in 0..(PNL_SERIES_CAPACITY as u64 + 5) {
            s.push(PnlPoint {
                at_ms: i,
                pnl_micro: i as i64,
            });
        }
        assert_eq!(s.len(), PNL_SERIES_CAPACITY);
        let first = s.iter().next().map(|p| p.at_ms);
        assert_eq!(first, Some(5));
        assert_eq!(
            s.last().map(|p| p.at_ms),
            Some(PNL_SERIES_CAPACITY as u64 + 4)
        );
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.starts_with("[[5,5],[6,6]"), "{json}");
    }

    #[test]
    fn connection_state_follows_events() {
        let mut snap = TelemetrySnapshot::new(&["a", "b"], "paper", 1000);
        snap.on_net_event(&NetEvent::new(1, NetEventKind::Connected, 10));
        snap.on_net_event(&NetEvent::new(
            1,
            NetEventKind::Dropped(crate::net::counters::DropReason::Io),
            2_000_000_000,
        ));
        snap.on_net_event(&NetEvent::new(1, NetEventKind::Reconnecting, 3_000_000_000));
        snap.on_net_event(&NetEvent::new(7, NetEventKind::Connected, 1));
        snap.tick(0, 7_500_000_000);
        let b = &snap.connections[1];
        assert_eq!(b.state, ConnState::Reconnecting);
        assert_eq!((b.connects, b.drops, b.reconnects), (1, 1, 1));
        assert_eq!(b.down_for_s, 5);
        snap.on_net_event(&NetEvent::new(1, NetEventKind::Connected, 8_000_000_000));
        snap.tick(0, 9_000_000_000);
        assert_eq!(snap.connections[1].down_for_s, 0);
        assert_eq!(snap.connections[0].state, ConnState::Unknown);
    }

    #[test]
    fn reject_reasons_cover_every_pretrade_kind() {
        assert_eq!(REJECT_REASONS.len(), Rejection::COUNT + 2);
        assert_eq!(
            REJECT_REASONS[reject_index(Rejection::InsufficientTokens)],
            "insufficient_tokens"
        );
        assert_eq!(REJECT_REASONS[REJECT_VENUE], "venue");
        assert_eq!(REJECT_REASONS[REJECT_LOCAL], "local");
    }
}
