//! The replay driver: the engine's own components fed from merged replay events on the
//! virtual clock — Binance parsers into `BinanceState`, the market-channel parser into
//! `MarketBooks`, RTDS frames into the `OracleMonitor`, discovery messages into the tracked
//! markets, then per changed event one decision round over every tracked market
//! (`MarketSignals::tick` with the `TradingBrain`: strategies, orchestrator, pre-trade gate),
//! the intents executed against the replay venue (`venue`) and its fills, closes and
//! settlements routed back to the brain as the hot loop routes the real venue's.
//!
//! Invariants: time is the events' virtual receive time only (never the wall clock); every
//! table is walked in index order; the only randomness is none at all — the same events and
//! configuration give the same order log and figures.

mod check;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use self::check::{CheckStats, DIFFERENCES_KEPT};

use super::source::{BookSnapshot, Merged, Payload};
use super::venue::{EndReason, SimVenue, VenueEvent};
use crate::book::{BookSide, MarketBooks, MarketIdx, Outcome, TickSize};
use crate::config::Config;
use crate::discovery::gamma::Settlement;
use crate::discovery::{DiscoveryMsg, MarketRecord};
use crate::engine::brain::TradingBrain;
use crate::engine::market_view::{add_record_books, feed_asset, write_decimal_id, DECIMAL_ID_MAX};
use crate::engine::trading::{
    round_slots, Decider, DeciderFigures, DeciderFill, MarketSignals, TickHealth,
};
use crate::exec::json::OrderId;
use crate::exec::orders::positions::{notional_micros, Positions};
use crate::exec::orders::settlement::FeeParams;
use crate::exec::signing::amounts::Side;
use crate::feeds::binance::parse::BinanceParser;
use crate::feeds::binance::records::Venue;
use crate::feeds::binance::state::{BinanceState, TradeSource};
use crate::feeds::oracle::windows::SettlementRule;
use crate::feeds::oracle::OracleMonitor;
use crate::feeds::polymarket::{MarketChannelParser, MarketSink, ParserConfig};
use crate::risk::state::RiskShared;
use crate::signals::SignalParams;
use crate::strategy::context::StrategyFill;
use crate::strategy::intent::{IntentBuf, StrategyId, TimeInForce};

/// Virtual seconds between equity samples.
const SAMPLE_EVERY_NS: u64 = 1_000_000_000;

/// Per-strategy replay counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StrategyStats {
    pub intents: u64,
    pub refused_local: u64,
    pub orders: u64,
    pub orders_filled: u64,
    pub fills: u64,
    pub filled_micro: i64,
    pub notional_micro: i64,
    pub fees_micro: i64,
    pub cancels: u64,
}

/// One market as the replay saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketStats {
    pub slug: String,
    pub start_s: u64,
    pub end_s: u64,
    pub decisions: u64,
    pub orders: u64,
    pub fills: u64,
    pub filled_micro: i64,
    pub fees_micro: i64,
    pub winner: Option<Outcome>,
    pub oracle_winner: Option<Outcome>,
    pub payout_micro: i64,
}

/// One equity sample: virtual time and each strategy's net P&L (realised + unrealised − fees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EquitySample {
    pub at_ns: u64,
    pub pnl_micro: [i64; StrategyId::COUNT],
}

/// Input counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputStats {
    pub events: u64,
    pub binance_frames: u64,
    pub binance_errors: u64,
    pub market_frames: u64,
    pub market_frame_errors: u64,
    pub rtds_frames: u64,
    pub rtds_errors: u64,
    pub snapshots: u64,
    pub snapshot_errors: u64,
    pub discovery: u64,
    pub markets_refused: u64,
    pub decisions: u64,
    /// Recorded warm-up candles seeded, and histories refused.
    pub warm_candles: u64,
    pub warm_refused: u64,
}

#[derive(Debug, Clone, Copy)]
struct Tracked {
    record: MarketRecord,
    /// Key into the per-market stats.
    key: u64,
}

struct NoSink;
impl MarketSink for NoSink {}

/// See the module docs.
pub struct ReplayEngine {
    parsers: [BinanceParser; 2],
    binance: BinanceState,
    mc_parser: MarketChannelParser,
    books: MarketBooks,
    oracle: OracleMonitor,
    tracked: Vec<Option<Tracked>>,
    signals: MarketSignals,
    params: Vec<SignalParams>,
    default_params: SignalParams,
    brain: TradingBrain,
    /// The kill / pause / size state the brain's pre-trade gate reads.
    risk: Arc<RiskShared>,
    /// Decision check mode (`check`): the journal drives markets, ticks and venue answers.
    check: Option<check::DecisionCheck>,
    intents: IntentBuf,
    positions: Positions,
    venue: SimVenue,
    venue_events: Vec<VenueEvent>,
    oracle_max_age_ms: u64,
    default_fee_ppm: u32,
    now_ns: u64,
    next_sample_ns: u64,
    started_ns: Option<u64>,
    /// One line per order event.
    pub log: Vec<String>,
    pub strategies: [StrategyStats; StrategyId::COUNT],
    pub markets: BTreeMap<u64, MarketStats>,
    next_market_key: u64,
    pub equity: Vec<EquitySample>,
    pub input: InputStats,
    pub starting_collateral_micro: i64,
}

fn order_id_of(seq: u64) -> OrderId {
    let mut id = [0u8; 32];
    id[24..].copy_from_slice(&seq.to_be_bytes());
    id
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Up => "up",
        Outcome::Down => "down",
    }
}

fn side_name(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

fn tif_name(t: TimeInForce) -> String {
    match t {
        TimeInForce::Gtc => "gtc".into(),
        TimeInForce::Gtd { expiration_s } => format!("gtd:{expiration_s}"),
        TimeInForce::Fok => "fok".into(),
        TimeInForce::Fak => "fak".into(),
    }
}

fn settlement_rule(s: Settlement) -> SettlementRule {
    match s {
        Settlement::Point => SettlementRule::SPOT_EXACT_CLOSE,
        Settlement::Twap { lookback_s } => SettlementRule::SpotTwap {
            lookback_s,
            min_ticks: lookback_s,
        },
    }
}

/// `btc-updown-5m-<start>` style name of a market.
pub fn slug_of(r: &MarketRecord) -> String {
    format!(
        "{}-updown-{}-{}",
        r.asset.as_str(),
        r.window.as_str(),
        r.start_s
    )
}

impl ReplayEngine {
    /// Every table for `cfg` (market slots: `discovery.max_markets`); the venue starts with
    /// `allocator.starting_capital_micro` of collateral and `latency_ns` of order latency.
    pub fn new(cfg: &Config, latency_ns: u64) -> ReplayEngine {
        let capacity = (cfg.discovery.max_markets as usize).max(1);
        let books = MarketBooks::with_capacity(capacity);
        let slots = books.capacity();
        let mut assets: Vec<crate::feeds::binance::records::Asset> = Vec::new();
        for m in &cfg.markets {
            let a = feed_asset(m.asset);
            if !assets.contains(&a) {
                assets.push(a);
            }
        }
        let params: Vec<SignalParams> = cfg
            .markets
            .iter()
            .map(|m| SignalParams::from_config(&cfg.signals, m.asset))
            .collect();
        let first = params
            .first()
            .copied()
            .unwrap_or_else(|| SignalParams::from_config(&cfg.signals, crate::config::Asset::Btc));
        let capital = cfg.allocator.starting_capital_micro;
        let mut positions = Positions::new(slots * 2 + 16);
        positions.set_collateral(capital);
        let risk = Arc::new(RiskShared::new());
        ReplayEngine {
            parsers: [
                BinanceParser::new(Venue::Spot),
                BinanceParser::new(Venue::Futures),
            ],
            binance: BinanceState::new(TradeSource::AggTrade),
            mc_parser: MarketChannelParser::new(ParserConfig::default()),
            books,
            oracle: OracleMonitor::new(&assets),
            tracked: vec![None; slots],
            signals: MarketSignals::new(slots, first),
            params,
            default_params: first,
            brain: TradingBrain::new(cfg, slots, risk.clone()),
            risk,
            check: None,
            intents: IntentBuf::with_capacity(32, 16),
            positions,
            venue: SimVenue::new(capital, latency_ns),
            venue_events: Vec::new(),
            oracle_max_age_ms: u64::from(cfg.oracle.max_age_ms),
            default_fee_ppm: u32::try_from(cfg.signals.default_taker_fee_rate_ppm).unwrap_or(0),
            now_ns: 0,
            next_sample_ns: 0,
            started_ns: None,
            log: Vec::new(),
            strategies: [StrategyStats::default(); StrategyId::COUNT],
            markets: BTreeMap::new(),
            next_market_key: 0,
            equity: Vec::new(),
            input: InputStats::default(),
            starting_collateral_micro: capital,
        }
    }

    /// An engine for the decision check of a trading run's recording (see `check`): market
    /// data from the frames, everything else from the decision journal.
    pub fn new_checking(cfg: &Config) -> ReplayEngine {
        let mut e = ReplayEngine::new(cfg, 0);
        e.check = Some(check::DecisionCheck::default());
        e
    }

    /// What the decision check found (`None` outside check mode).
    pub fn check_stats(&self) -> Option<&CheckStats> {
        self.check.as_ref().map(|c| &c.stats)
    }

    /// The brain's figures (per-strategy P&L, settlements, drops).
    pub fn figures(&self) -> Option<DeciderFigures> {
        self.brain.figures()
    }

    /// Collateral at the end (micro).
    pub fn collateral_micro(&self) -> i64 {
        self.venue.collateral_micro
    }

    /// Virtual time of the last event.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// First event's virtual time.
    pub fn started_ns(&self) -> Option<u64> {
        self.started_ns
    }

    /// Apply one merged event (in order).
    pub fn on_event(&mut self, ev: Merged) {
        let at = ev.at_ns.max(self.now_ns);
        self.started_ns.get_or_insert(at);
        self.run_venue_until(at);
        self.now_ns = at;
        self.input.events += 1;
        let now_ms = at / 1_000_000;
        // Binance assets the event moved (`Asset::bit` mask): decided first, as live.
        let mut moved_assets = 0u8;
        let dirty = match ev.payload {
            Payload::Binance(venue, frame) => {
                self.input.binance_frames += 1;
                let i = venue as usize;
                match self.parsers[i.min(1)].parse(&frame, at) {
                    Ok(rec) => {
                        self.binance.apply(&rec);
                        moved_assets |= rec.asset_bit();
                        true
                    }
                    Err(_) => {
                        self.input.binance_errors += 1;
                        false
                    }
                }
            }
            Payload::PolyMarket(frame) => {
                self.input.market_frames += 1;
                let summary = self
                    .mc_parser
                    .on_frame(&frame, &mut self.books, at, &mut NoSink);
                if summary.errors > 0 {
                    self.input.market_frame_errors += 1;
                }
                // A flagged book is read as stale until its next snapshot (no resubscription
                // in a replay).
                self.books.drain_resync(|_, _| {});
                self.books_changed();
                true
            }
            Payload::Rtds(frame) => {
                self.input.rtds_frames += 1;
                if self.oracle.on_frame(&frame, at, now_ms).is_err() {
                    self.input.rtds_errors += 1;
                }
                false
            }
            Payload::Warmup(h) => {
                // Seeded before any live trade, as the hot thread does before its loop.
                match self
                    .binance
                    .get_mut(Venue::Spot, h.asset)
                    .seed_candles(&h.candles)
                {
                    Ok(n) => self.input.warm_candles += n as u64,
                    Err(_) => self.input.warm_refused += 1,
                }
                false
            }
            Payload::OracleTick(t) => {
                self.input.rtds_frames += 1;
                if self.oracle.on_frame(&t.frame(), at, now_ms).is_err() {
                    self.input.rtds_errors += 1;
                }
                false
            }
            Payload::Snapshot(s) => {
                self.input.snapshots += 1;
                self.apply_snapshot(&s, at);
                self.books_changed();
                true
            }
            Payload::Discovery(msg) if self.check.is_some() => {
                self.input.discovery += 1;
                self.check_discovery(msg);
                false
            }
            Payload::Discovery(msg) => {
                self.input.discovery += 1;
                self.on_discovery(msg);
                true
            }
            Payload::Journal(n) => {
                self.on_journal(n);
                false
            }
        };
        // In check mode the journal says when the run decided.
        if dirty && self.check.is_none() {
            self.decide_round(moved_assets);
        }
        if at >= self.next_sample_ns {
            self.sample(at);
            self.next_sample_ns = at - at % SAMPLE_EVERY_NS + SAMPLE_EVERY_NS;
        }
    }

    /// After the last event: let every order in flight reach the book, then a final sample.
    pub fn finish(&mut self) {
        self.run_venue_until(self.now_ns);
        self.sample(self.now_ns);
    }

    fn sample(&mut self, at: u64) {
        let Some(f) = self.brain.figures() else {
            return;
        };
        let mut pnl = [0i64; StrategyId::COUNT];
        for (p, s) in pnl.iter_mut().zip(f.strategies.iter()) {
            *p = s.realised_micro + s.unrealised_micro - s.fees_micro;
        }
        if let Some(last) = self.equity.last_mut() {
            if last.at_ns == at {
                last.pnl_micro = pnl;
                return;
            }
        }
        self.equity.push(EquitySample {
            at_ns: at,
            pnl_micro: pnl,
        });
    }

    fn token_index(&self, token: &[u8; 32]) -> Option<crate::book::TokenIdx> {
        let mut dec = [0u8; DECIMAL_ID_MAX];
        let n = write_decimal_id(token, &mut dec);
        self.books.token(dec.get(..n).unwrap_or(&[]))
    }

    fn apply_snapshot(&mut self, s: &BookSnapshot, at: u64) {
        let Some(t) = self.token_index(&s.token) else {
            self.input.snapshot_errors += 1;
            return;
        };
        // The coarsest grid every level sits on (the venue narrows the tick near the extremes).
        let grid = [10_000i64, 1_000, 100]
            .into_iter()
            .find(|g| {
                s.bids
                    .iter()
                    .chain(s.asks.iter())
                    .all(|(px, _)| px % g == 0)
            })
            .and_then(|g| TickSize::from_micro(g).ok());
        self.books.begin_snapshot(t, grid);
        for (side, levels) in [(BookSide::Bid, &s.bids), (BookSide::Ask, &s.asks)] {
            for &(px, sz) in levels.iter() {
                if self.books.snapshot_level(t, side, px, sz).is_err() {
                    self.input.snapshot_errors += 1;
                    self.books.abort_snapshot(t);
                    self.books.drain_resync(|_, _| {});
                    return;
                }
            }
        }
        self.books.finish_snapshot(t, s.exchange_ms, at);
    }

    /// The venue's crowd follows the recorded books (each tracked market's Up token).
    fn books_changed(&mut self) {
        for i in 0..self.tracked.len() {
            let Some(t) = self.tracked[i] else {
                continue;
            };
            let (up, _) = MarketBooks::tokens_of(MarketIdx(i as u16));
            let Some(book) = self.books.book(up) else {
                continue;
            };
            if book.is_awaiting_snapshot() {
                continue;
            }
            let mut out = std::mem::take(&mut self.venue_events);
            self.venue.on_book(&t.record.up_token, book, &mut out);
            self.venue_events = out;
        }
        self.route_venue_events();
    }

    fn run_venue_until(&mut self, until_ns: u64) {
        while let Some(at) = self.venue.next_due(until_ns) {
            self.now_ns = self.now_ns.max(at);
            let mut out = std::mem::take(&mut self.venue_events);
            self.venue.process_due(at, &mut out);
            self.venue_events = out;
            self.route_venue_events();
        }
    }

    fn market_key(&self, market: MarketIdx) -> Option<u64> {
        self.tracked
            .get(usize::from(market.0))
            .and_then(|t| t.map(|t| t.key))
    }

    /// Fills and ends from the venue go to the log, the counters, the positions view and the
    /// brain (as the hot loop routes the real venue's events).
    fn route_venue_events(&mut self) {
        let events = std::mem::take(&mut self.venue_events);
        for ev in &events {
            match *ev {
                VenueEvent::Arrived { .. } => {}
                VenueEvent::Fill(f) => {
                    let Some(o) = self.venue.order(f.seq).copied() else {
                        continue;
                    };
                    let k = &mut self.strategies[o.intent.strategy.index()];
                    k.fills += 1;
                    k.filled_micro += f.size_micro;
                    k.notional_micro +=
                        notional_micros(f.size_micro as u64, f.price_micro as u64) as i64;
                    // The fee in collateral terms, booked as the hot loop books it.
                    let (booked, fee_micro) = match o.intent.side {
                        Side::Buy => {
                            let w = f.fee_units.min(f.size_micro);
                            (
                                f.size_micro - w,
                                notional_micros(w as u64, f.price_micro as u64) as i64,
                            )
                        }
                        Side::Sell => (f.size_micro, f.fee_units),
                    };
                    k.fees_micro += fee_micro;
                    if o.filled_micro == f.size_micro {
                        k.orders_filled += 1;
                    }
                    if let Some(key) = self.market_key(o.intent.market) {
                        if let Some(m) = self.markets.get_mut(&key) {
                            m.fills += 1;
                            m.filled_micro += f.size_micro;
                            m.fees_micro += fee_micro;
                        }
                    }
                    self.log.push(format!(
                        "{} fill id={} px={} size={} fee={} {}",
                        self.now_ns,
                        f.seq,
                        f.price_micro,
                        f.size_micro,
                        fee_micro,
                        if f.taker { "taker" } else { "maker" }
                    ));
                    self.sync_positions(&o.token);
                    if booked > 0 {
                        self.brain.on_fill(&DeciderFill {
                            order_id: order_id_of(f.seq),
                            strategy: o.intent.strategy,
                            fill: StrategyFill {
                                market: o.intent.market,
                                outcome: o.intent.outcome,
                                side: o.intent.side,
                                price_micro: f.price_micro,
                                size_micro: booked,
                                fee_micro,
                                now_ms: self.now_ns / 1_000_000,
                            },
                        });
                    }
                }
                VenueEvent::Ended { seq, reason } => {
                    let Some(o) = self.venue.order(seq).copied() else {
                        continue;
                    };
                    if reason == EndReason::Canceled {
                        self.strategies[o.intent.strategy.index()].cancels += 1;
                    }
                    self.log.push(format!(
                        "{} end id={} {} filled={} left={}",
                        self.now_ns,
                        seq,
                        reason.as_str(),
                        o.filled_micro,
                        o.remaining_micro
                    ));
                    self.sync_positions(&o.token);
                    self.brain.on_closed(&order_id_of(seq));
                }
            }
        }
        let mut events = events;
        events.clear();
        self.venue_events = events;
    }

    fn sync_positions(&mut self, token: &[u8; 32]) {
        self.positions.set_collateral(self.venue.collateral_micro);
        // The table is sized for every slot's two tokens; a full table leaves the view stale.
        let _ = self
            .positions
            .set_token_balance(token, self.venue.free_tokens(token));
    }

    fn on_discovery(&mut self, msg: DiscoveryMsg) {
        match msg {
            DiscoveryMsg::NewMarket(record) => self.add_market(record),
            DiscoveryMsg::MarketResolved { idx, winner } => {
                let Some(m) = self.slot_of(idx) else {
                    return;
                };
                let winner = match winner {
                    crate::discovery::gamma::Outcome::Up => Outcome::Up,
                    crate::discovery::gamma::Outcome::Down => Outcome::Down,
                };
                self.resolve(m, winner);
            }
            DiscoveryMsg::RetireMarket { idx } => {
                let Some(m) = self.slot_of(idx) else {
                    return;
                };
                self.cancel_market(m);
                self.brain.on_retired(m);
                self.signals.release(m);
                self.books.retire_market(m);
                if let Some(t) = self.tracked.get_mut(usize::from(m.0)) {
                    *t = None;
                }
            }
        }
    }

    fn slot_of(&self, idx: crate::discovery::MarketIdx) -> Option<MarketIdx> {
        self.tracked
            .iter()
            .position(|t| t.is_some_and(|t| t.record.idx == idx))
            .map(|i| MarketIdx(i as u16))
    }

    fn add_market(&mut self, record: MarketRecord) {
        if self.slot_of(record.idx).is_some() {
            return;
        }
        let Some(m) = add_record_books(&mut self.books, &record) else {
            self.input.markets_refused += 1;
            return;
        };
        let key = self.next_market_key;
        self.next_market_key += 1;
        self.markets.insert(
            key,
            MarketStats {
                slug: slug_of(&record),
                start_s: record.start_s,
                end_s: record.end_s,
                decisions: 0,
                orders: 0,
                fills: 0,
                filled_micro: 0,
                fees_micro: 0,
                winner: None,
                oracle_winner: None,
                payout_micro: 0,
            },
        );
        if let Some(t) = self.tracked.get_mut(usize::from(m.0)) {
            *t = Some(Tracked { record, key });
        }
        self.venue.add_market(record.up_token, record.down_token);
        self.signals
            .assign_record(m, &record, &self.params, self.default_params);
        self.brain.on_market(m, &record);
        self.log.push(format!(
            "{} market slot={} {} start={} end={} tick={} fee_ppm={}",
            self.now_ns,
            m.0,
            slug_of(&record),
            record.start_s,
            record.end_s,
            record.tick_micros,
            record.fee_rate_ppm
        ));
    }

    fn cancel_market(&mut self, m: MarketIdx) {
        let Some(t) = self.tracked.get(usize::from(m.0)).copied().flatten() else {
            return;
        };
        let mut out = std::mem::take(&mut self.venue_events);
        self.venue
            .cancel_tokens([t.record.up_token, t.record.down_token], &mut out);
        self.venue_events = out;
        self.route_venue_events();
    }

    fn resolve(&mut self, m: MarketIdx, winner: Outcome) {
        let Some(t) = self.tracked.get(usize::from(m.0)).copied().flatten() else {
            return;
        };
        let r = t.record;
        let feed = feed_asset(r.asset);
        let ours = self
            .oracle
            .settle(feed, r.start_s, r.end_s, settlement_rule(r.settlement))
            .ok()
            .map(|s| match s.outcome {
                crate::feeds::oracle::windows::Outcome::Up => Outcome::Up,
                crate::feeds::oracle::windows::Outcome::Down => Outcome::Down,
            });
        let mut out = std::mem::take(&mut self.venue_events);
        let won = usize::from(winner == Outcome::Down);
        let payout = self
            .venue
            .resolve([r.up_token, r.down_token], won, &mut out);
        self.venue_events = out;
        self.route_venue_events();
        self.sync_positions(&r.up_token);
        self.sync_positions(&r.down_token);
        self.signals.mark_resolved(m);
        self.books.mark_resolved(m);
        self.brain.on_resolved(m, winner, ours);
        if let Some(s) = self.markets.get_mut(&t.key) {
            s.winner = Some(winner);
            s.oracle_winner = ours;
            s.payout_micro = payout;
        }
        self.log.push(format!(
            "{} settle {} winner={} oracle={} payout={}",
            self.now_ns,
            slug_of(&r),
            outcome_name(winner),
            ours.map_or("unknown", outcome_name),
            payout
        ));
    }

    /// One decision round over every tracked market (the hot loop's `run_round`, in the same
    /// order: the markets of `moved_assets` first).
    fn decide_round(&mut self, moved_assets: u8) {
        let now_ns = self.now_ns;
        let now_ms = now_ns / 1_000_000;
        for (first, i) in round_slots(self.signals.capacity()) {
            let market = MarketIdx(i as u16);
            if self.signals.first_pass(market, moved_assets) != Some(first) {
                continue;
            }
            let Some(asset) = self.signals.asset_of(market) else {
                continue;
            };
            let Some(tracked) = self.tracked.get(i).copied().flatten() else {
                continue;
            };
            let feed = feed_asset(asset);
            let (up_t, down_t) = MarketBooks::tokens_of(market);
            let (Some(up), Some(down)) = (self.books.book(up_t), self.books.book(down_t)) else {
                continue;
            };
            if let Ok(ptb) = self.oracle.price_to_beat(feed, tracked.record.start_s) {
                self.signals.set_price_to_beat(market, Some(ptb));
            }
            let oracle_age_ms = self.oracle.staleness_ms(feed, now_ms);
            let oldest = up.last_update_local_ns().min(down.last_update_local_ns());
            let health = TickHealth {
                oracle_fresh: oracle_age_ms.is_some_and(|a| a <= self.oracle_max_age_ms),
                book_stale: up.is_stale()
                    || down.is_stale()
                    || up.is_awaiting_snapshot()
                    || down.is_awaiting_snapshot(),
                book_age_ms: now_ns.saturating_sub(oldest) / 1_000_000,
                oracle_age_ms,
                available_collateral_micro: self.venue.free_collateral(),
            };
            let spot = self.binance.get_mut(Venue::Spot, feed);
            let decided = self.signals.tick(
                market,
                spot,
                up,
                down,
                health,
                &self.positions,
                now_ms,
                &mut self.brain,
                &mut self.intents,
            );
            if !decided {
                continue;
            }
            self.input.decisions += 1;
            if let Some(s) = self.markets.get_mut(&tracked.key) {
                s.decisions += 1;
            }
            self.execute(tracked);
        }
    }

    fn execute(&mut self, tracked: Tracked) {
        let now_ns = self.now_ns;
        let r = tracked.record;
        let cancels: Vec<_> = self.intents.cancels().to_vec();
        for c in cancels {
            let targets: Vec<u64> = self
                .venue
                .open_orders()
                .filter(|o| {
                    o.intent.strategy == c.strategy
                        && o.intent.market == c.market
                        && c.outcome.is_none_or(|x| x == o.intent.outcome)
                })
                .map(|o| o.seq)
                .collect();
            for seq in targets {
                if self.venue.request_cancel(seq, now_ns) {
                    self.log.push(format!(
                        "{now_ns} cancel id={seq} strat={} reason={:?}",
                        c.strategy.name(),
                        c.reason
                    ));
                }
            }
        }
        let orders: Vec<_> = self.intents.orders().to_vec();
        for intent in orders {
            let k = &mut self.strategies[intent.strategy.index()];
            k.intents += 1;
            let tick = i64::from(r.tick_micros.max(1));
            let on_grid = intent.price_micro > 0
                && intent.price_micro < 1_000_000
                && intent.price_micro % tick == 0;
            let big_enough = intent.size_micro >= r.min_size_micros as i64;
            if !on_grid || !big_enough {
                k.refused_local += 1;
                self.log.push(format!(
                    "{now_ns} refuse strat={} {} {} {} px={} size={} why={}",
                    intent.strategy.name(),
                    slug_of(&r),
                    outcome_name(intent.outcome),
                    side_name(intent.side),
                    intent.price_micro,
                    intent.size_micro,
                    if on_grid { "min-size" } else { "off-tick" }
                ));
                // Nothing rests: the brain forgets it.
                continue;
            }
            let token = match intent.outcome {
                Outcome::Up => r.up_token,
                Outcome::Down => r.down_token,
            };
            let fee = FeeParams {
                rate_micros: u64::from(if r.fee_rate_ppm > 0 {
                    r.fee_rate_ppm
                } else {
                    self.default_fee_ppm
                }),
                exponent: u32::from(r.fee_exponent.max(1)),
            };
            let seq = self.venue.submit(intent, token, fee, now_ns);
            k.orders += 1;
            if let Some(s) = self.markets.get_mut(&tracked.key) {
                s.orders += 1;
            }
            self.log.push(format!(
                "{now_ns} order id={seq} strat={} reason={:?} {} {} {} px={} size={} tif={}{}",
                intent.strategy.name(),
                intent.reason,
                slug_of(&r),
                outcome_name(intent.outcome),
                side_name(intent.side),
                intent.price_micro,
                intent.size_micro,
                tif_name(intent.tif),
                if intent.post_only { " post-only" } else { "" }
            ));
            self.brain.on_sent(&order_id_of(seq), &intent);
        }
    }
}
