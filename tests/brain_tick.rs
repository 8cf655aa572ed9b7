//! The trading brain on the hot thread's decision step, without the network: real books, a
//! real Binance state and per-market signals, the five strategies, the orchestrator and the
//! pre-trade gate, exactly as `MarketSignals::tick` drives them in the engine.
//!
//! * A tick that runs every signal and every strategy (and the orchestrator round) allocates
//!   nothing after warm-up (counting allocator).
//! * An opening window whose Up + Down asks sum to 0.90 produces a two-leg pair (one group, so
//!   one batch); a sum of 0.99 produces no order.
//! * In lockout nothing is sent; after the risk monitor fires the kill switch nothing is sent.
//! * A Binance jump produces a lag order on the side the jump favours, in the same tick.

use std::sync::Arc;

use sattebaaz::book::{BookSide, MarketBooks, MarketIdx, Outcome, TickSize};
use sattebaaz::config::{Asset, Config, Window};
use sattebaaz::engine::brain::TradingBrain;
use sattebaaz::engine::trading::{Decider, MarketSignals, TickHealth};
use sattebaaz::exec::orders::positions::Positions;
use sattebaaz::exec::signing::amounts::Side;
use sattebaaz::feeds::binance::{
    Asset as FeedAsset, BinanceState, Side as TradeSide, TradeSource, Venue,
};
use sattebaaz::record::journal::{self, Entry, JournaledDecider, JOURNAL_CONN};
use sattebaaz::record::FrameTap;
use sattebaaz::risk::{CancelAll, Monitor, MonitorInputs, MonitorParams, RiskShared};
use sattebaaz::signals::{MarketInputs, SignalParams};
use sattebaaz::strategy::intent::{IntentBuf, StrategyId};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[path = "common/market_fixture.rs"]
mod market_fixture;
use market_fixture::{record, trade, DOWN, MARKET, UP};

/// Every third trade sells, the rest buy.
fn taker(id: u64) -> TradeSide {
    if id % 3 == 0 {
        TradeSide::Sell
    } else {
        TradeSide::Buy
    }
}

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

const USD: i64 = 100_000_000;
const BTC: i64 = 61_800;
/// 40 minutes of trades before the window starts (warms ATR(14) of 1-minute candles).
const T0: u64 = 1_723_161_256_322 - 40 * 60_000;
const START_MS: u64 = T0 + 40 * 60_000 - (T0 + 40 * 60_000) % 1000;
const END_MS: u64 = START_MS + 300_000;

/// Books of one market with `up_ask` / `down_ask` best asks (micro), bids 2 c under, 5 levels
/// of 200 shares.
fn books(up_ask: i64, down_ask: i64) -> MarketBooks {
    let mut books = MarketBooks::with_capacity(1);
    let m = books.add_market(MARKET, UP, DOWN, TickSize::Cent).unwrap();
    let (up, down) = MarketBooks::tokens_of(m);
    for (t, ask) in [(up, up_ask), (down, down_ask)] {
        books.begin_snapshot(t, None);
        for i in 0..5 {
            books
                .snapshot_level(t, BookSide::Bid, ask - 20_000 - i * 10_000, 200_000_000)
                .unwrap();
            books
                .snapshot_level(t, BookSide::Ask, ask + i * 10_000, 200_000_000)
                .unwrap();
        }
        books.finish_snapshot(t, 0, 0);
    }
    books
}

/// A jittery BTC price around `BTC` (±$40: 1-minute ranges near $80, the medium regime).
fn px_at(id: u64) -> i64 {
    BTC * USD + ((id * 7919) % 8_000) as i64 * USD / 100 - 40 * USD
}

struct World {
    cfg: Config,
    shared: Arc<RiskShared>,
    brain: Box<dyn Decider + Send>,
    signals: MarketSignals,
    state: BinanceState,
    positions: Positions,
    out: IntentBuf,
    id: u64,
    ts: u64,
}

impl World {
    fn new() -> World {
        World::with_tap(None)
    }

    /// With `tap`, the brain is wrapped in the decision journal as a recording run wraps it.
    fn with_tap(tap: Option<FrameTap>) -> World {
        let cfg = Config::shipped().unwrap();
        let params = SignalParams::from_config(&cfg.signals, Asset::Btc);
        let shared = Arc::new(RiskShared::new());
        let brain = TradingBrain::new(&cfg, 1, shared.clone());
        let mut brain: Box<dyn Decider + Send> = match tap {
            Some(tap) => Box::new(JournaledDecider::new(
                Box::new(brain),
                tap,
                shared.clone(),
                1,
            )),
            None => Box::new(brain),
        };
        let mut signals = MarketSignals::new(1, params);
        assert!(signals.assign(
            MarketIdx(0),
            params,
            Window::Min5,
            START_MS,
            MarketInputs {
                end_ms: END_MS,
                price_to_beat_e18: Some(i128::from(BTC) * 10i128.pow(18)),
                fee_rate_ppm: Some(72_000),
            },
        ));
        brain.on_market(MarketIdx(0), &record(START_MS / 1000, END_MS / 1000));
        let mut w = World {
            cfg,
            shared,
            brain,
            signals,
            state: BinanceState::new(TradeSource::AggTrade),
            positions: Positions::new(16),
            out: IntentBuf::with_capacity(32, 16),
            id: 0,
            ts: T0,
        };
        // Trades up to the window start: 1-minute candles for ATR(14).
        while w.ts < START_MS {
            w.trade_next(None);
        }
        w
    }

    fn trade_next(&mut self, px: Option<i64>) {
        self.id += 1;
        self.ts += 250;
        let p = px.unwrap_or_else(|| px_at(self.id));
        self.state
            .apply(&trade(p, self.ts, self.id, taker(self.id)));
    }

    /// One decision at the current time on `books`; the intents left to send are in `out`.
    fn decide(&mut self, books: &MarketBooks) {
        let (u, d) = MarketBooks::tokens_of(MarketIdx(0));
        let health = TickHealth {
            oracle_fresh: true,
            book_stale: false,
            book_age_ms: 10,
            oracle_age_ms: Some(100),
            available_collateral_micro: self.cfg.allocator.starting_capital_micro,
        };
        let spot = self.state.get_mut(Venue::Spot, FeedAsset::Btc);
        assert!(self.signals.tick(
            MarketIdx(0),
            spot,
            books.book(u).unwrap(),
            books.book(d).unwrap(),
            health,
            &self.positions,
            self.ts,
            self.brain.as_mut(),
            &mut self.out,
        ));
    }

    /// Move the clock to `ms` after the window start with ordinary trades.
    fn advance_to(&mut self, ms: u64) {
        while self.ts < START_MS + ms {
            self.trade_next(None);
        }
    }
}

#[test]
fn a_tick_through_every_signal_and_strategy_allocates_nothing_after_warm_up() {
    let mut w = World::new();
    let books = books(480_000, 500_000);
    // Warm-up: the first decisions size the scratch tables.
    for _ in 0..50 {
        w.trade_next(None);
        w.decide(&books);
    }
    let mut allocations = 0u64;
    let mut intents = 0usize;
    for _ in 0..2_000 {
        w.trade_next(None);
        let (n, ()) = count_allocations(|| w.decide(&books));
        allocations += n;
        intents += w.out.orders().len() + w.out.cancels().len();
    }
    let f = w.brain.figures().unwrap();
    let signals: u64 = f.strategies.iter().map(|s| s.signals).sum();
    assert!(
        signals > 0,
        "no strategy acted: the counted ticks would prove nothing"
    );
    assert!(intents > 0, "nothing survived the round");
    assert_eq!(f.cold_rounds, 0, "ATR was warm");
    assert_eq!(allocations, 0, "a decision tick allocated");
}

#[test]
fn a_journaled_tick_allocates_nothing_and_journals_exactly_what_was_decided() {
    let dir = std::env::temp_dir().join(format!("sattebaaz-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = Config::shipped().unwrap();
    let (_frames, mut recorder) = sattebaaz::record::start(&cfg.record, &dir, &[]).unwrap();
    let mut w = World::with_tap(Some(recorder.journal_tap().unwrap()));
    let books = books(480_000, 500_000);
    for _ in 0..50 {
        w.trade_next(None);
        w.decide(&books);
    }
    let mut allocations = 0u64;
    let mut decided: Vec<(usize, usize)> = Vec::new();
    for _ in 0..1_000 {
        w.trade_next(None);
        let (n, ()) = count_allocations(|| w.decide(&books));
        allocations += n;
        decided.push((w.out.orders().len(), w.out.cancels().len()));
    }
    assert_eq!(allocations, 0, "a journaled tick allocated");
    assert!(decided.iter().any(|&(o, _)| o > 0), "nothing decided");
    drop(w);
    let stats = recorder.finish();
    assert_eq!(stats.journal_dropped, 0);
    // Read it back: the market, then one tick per decision, the last 1000 with the intents
    // the tick left in the buffer, in order and numbered without gaps.
    let mut reader = sattebaaz::record::reader::RecordingReader::open(&dir).unwrap();
    let mut entries = Vec::new();
    while let Some(f) = reader.next_frame() {
        assert_eq!(f.conn, JOURNAL_CONN);
        entries.push(journal::decode(&f.payload).unwrap());
    }
    assert_eq!(entries.len(), 1 + 50 + 1_000);
    assert!(entries.iter().enumerate().all(|(i, e)| e.seq == i as u64));
    assert!(matches!(entries[0].entry, Entry::Market { .. }));
    for (e, (o, c)) in entries[51..].iter().zip(&decided) {
        let Entry::Tick(t) = &e.entry else {
            panic!("not a tick: {e:?}");
        };
        assert_eq!((t.orders.len(), t.cancels.len()), (*o, *c));
        assert_eq!(t.health.book_age_ms, 10);
        assert_eq!(t.risk.size_mult_bps, 10_000);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_opening_sum_of_090_gives_one_two_leg_group_and_099_gives_nothing() {
    let mut w = World::new();
    w.advance_to(2_000); // alpha phase
    w.decide(&books(440_000, 460_000));
    let orders = w.out.orders();
    let pair: Vec<_> = orders.iter().filter(|o| o.group != 0).collect();
    assert_eq!(pair.len(), 2, "one two-leg group: {orders:?}");
    assert_eq!(pair[0].group, pair[1].group);
    assert_ne!(pair[0].outcome, pair[1].outcome);
    assert!(pair.iter().all(|o| o.side == Side::Buy));
    assert_eq!(pair[0].size_micro, pair[1].size_micro, "legs of equal size");
    assert!(matches!(
        pair[0].strategy,
        StrategyId::Straddle | StrategyId::Arb
    ));
    // Cost per pair with taker fees stays under $1 (the edge accounts for fees).
    let fee = |p: i64| 72_000 * p / 1_000_000 * (1_000_000 - p) / 1_000_000;
    let cost: i64 = pair
        .iter()
        .map(|o| o.price_micro + fee(o.price_micro))
        .sum();
    assert!(cost < 1_000_000, "pair cost {cost} with fees");

    // 0.99: no pair (market making may still quote each side on its own).
    let mut w = World::new();
    w.advance_to(2_000);
    w.decide(&books(490_000, 500_000));
    assert!(
        w.out
            .orders()
            .iter()
            .all(|o| o.group == 0 && !matches!(o.strategy, StrategyId::Straddle | StrategyId::Arb)),
        "a 0.99 sum must give no pair: {:?}",
        w.out.orders()
    );
}

#[test]
fn nothing_is_sent_in_lockout() {
    let mut w = World::new();
    w.advance_to(296_000); // last 4 s of a 5-minute window
    for _ in 0..40 {
        w.trade_next(Some(BTC * USD + 300 * USD)); // a big move: every strategy tempted
        w.decide(&books(440_000, 460_000));
        assert!(w.out.orders().is_empty(), "{:?}", w.out.orders());
    }
}

struct NoVenue;
impl CancelAll for NoVenue {
    type Error = &'static str;
    fn cancel_all(&mut self) -> Result<usize, &'static str> {
        Ok(0)
    }
}

#[test]
fn after_the_monitor_fires_the_kill_switch_nothing_is_sent() {
    let mut w = World::new();
    w.advance_to(2_000);
    w.decide(&books(440_000, 460_000));
    assert!(
        !w.out.orders().is_empty(),
        "the pair goes out before the kill"
    );
    let mut monitor = Monitor::new(
        MonitorParams::from_config(&w.cfg.risk),
        NoVenue,
        w.ts,
        w.cfg.allocator.starting_capital_micro,
    );
    w.shared.request_kill();
    let tick = monitor.tick(
        &w.shared,
        &MonitorInputs {
            equity_micro: w.cfg.allocator.starting_capital_micro,
            exposure_micro: 0,
            atr: [0.0; 4],
        },
        w.ts,
    );
    assert!(tick.killed.is_some());
    for _ in 0..20 {
        w.trade_next(None);
        w.decide(&books(440_000, 460_000));
        assert!(w.out.orders().is_empty(), "{:?}", w.out.orders());
    }
    let f = w.brain.figures().unwrap();
    let killed = sattebaaz::orchestrator::DropReason::Risk(sattebaaz::risk::Rejection::Killed);
    assert!(
        f.drops[killed.index()] > 0,
        "the gate refused them as killed"
    );
}

#[test]
fn a_binance_jump_gives_a_lag_order_on_the_favoured_side_in_the_same_tick() {
    for (jump, favoured) in [(150 * USD, Outcome::Up), (-150 * USD, Outcome::Down)] {
        let mut w = World::new();
        w.advance_to(150_000); // prime phase
                               // Two quiet seconds at the price to beat: fair 0.5, books priced at it, no edge.
        for _ in 0..8 {
            w.trade_next(Some(BTC * USD));
        }
        let b = books(510_000, 510_000);
        w.decide(&b);
        assert!(
            w.out.orders().iter().all(|o| o.strategy != StrategyId::Lag),
            "no lag edge before the jump: {:?}",
            w.out.orders()
        );
        w.trade_next(Some(BTC * USD + jump));
        w.decide(&b);
        let lag: Vec<_> = w
            .out
            .orders()
            .iter()
            .filter(|o| o.strategy == StrategyId::Lag)
            .collect();
        let f = w.brain.figures().unwrap();
        assert!(
            !lag.is_empty(),
            "no lag order after a {jump} move: {:?} drops {:?}",
            f.strategies[StrategyId::Lag.index()],
            f.drops
        );
        assert!(
            lag.iter()
                .all(|o| o.outcome == favoured && o.side == Side::Buy),
            "{lag:?}"
        );
    }
}

#[test]
fn a_daily_loss_pauses_and_a_loss_streak_halves_the_sizes_the_brain_sends() {
    let start = Config::shipped().unwrap().allocator.starting_capital_micro;
    let pair_size = |w: &mut World| -> Option<i64> {
        w.decide(&books(440_000, 460_000));
        w.out
            .orders()
            .iter()
            .find(|o| o.group != 0)
            .map(|o| o.size_micro)
    };
    // Full size first.
    let mut w = World::new();
    w.advance_to(2_000);
    let full = pair_size(&mut w).expect("a pair at full size");

    // Five losing trades in a row: the monitor halves the size.
    let mut w = World::new();
    w.advance_to(2_000);
    let mut monitor = Monitor::new(
        MonitorParams::from_config(&w.cfg.risk),
        NoVenue,
        w.ts,
        start,
    );
    for _ in 0..w.cfg.risk.loss_streak {
        monitor.on_trade_closed(&w.shared, -1_000_000);
    }
    let half = pair_size(&mut w).expect("a pair at reduced size");
    let lot = 10_000;
    let expected = full * i64::from(w.cfg.risk.streak_size_bps) / 10_000;
    assert!(
        (half - expected).abs() <= lot && half < full,
        "full {full}, after the streak {half}, expected about {expected}"
    );

    // A daily loss over the limit: paused, nothing goes out.
    let mut w = World::new();
    w.advance_to(2_000);
    let mut monitor = Monitor::new(
        MonitorParams::from_config(&w.cfg.risk),
        NoVenue,
        w.ts,
        start,
    );
    let down = start - start * i64::from(w.cfg.risk.daily_loss_bps) / 10_000 - 1;
    let tick = monitor.tick(
        &w.shared,
        &MonitorInputs {
            equity_micro: down,
            exposure_micro: 0,
            atr: [0.0; 4],
        },
        w.ts,
    );
    assert!(tick.paused);
    w.decide(&books(440_000, 460_000));
    assert!(w.out.orders().is_empty(), "{:?}", w.out.orders());
    let paused = sattebaaz::orchestrator::DropReason::Risk(sattebaaz::risk::Rejection::Paused);
    let f = w.brain.figures().unwrap();
    assert!(f.drops[paused.index()] > 0);
    // Per strategy too (what the telemetry publishes as rejects by reason), adding up.
    let by_strategy: u64 = f
        .strategies
        .iter()
        .map(|s| s.risk_rejects[sattebaaz::risk::Rejection::Paused.index()])
        .sum();
    assert_eq!(by_strategy, f.drops[paused.index()]);
}
