//! The five strategies on hand-made books and signal snapshots (strategy spec §4): straddle
//! entry / no entry / rebalancing / dip buy, arb pairs, lag edges after a Binance jump, market
//! making quotes, pulls and skew, momentum entry / exhaustion exit / hold near expiry; every
//! intent's price on the tick grid and size at or above the venue minimum; on_tick allocates
//! nothing after warm-up (counting allocator); the `[strategy]` config section and its errors.

use sattebaaz::book::{
    BookSide, MarketBooks, MarketIdx, Outcome, TickSize, TokenIdx, PRICE_ONE_MICRO,
};
use sattebaaz::config::{
    Config, ConfigError, ErrorKind, StrategyConfig, Window, SHIPPED_CONFIG_TOML,
};
use sattebaaz::exec::signing::amounts::Side;
use sattebaaz::signals::arb::fee_per_share_micro;
use sattebaaz::signals::fair::fair_p_up;
use sattebaaz::signals::{
    ArbQuote, BiasReading, Direction, MomentumReading, Regime, RegimeTable, SignalSnapshot,
};
use sattebaaz::strategy::pair::PairStage;
use sattebaaz::strategy::{
    IntentBuf, OrderIntent, Phase, PositionView, Reason, StrategyContext, StrategyFill, StrategyId,
    StrategySet, TimeInForce,
};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};
use toml::{Table, Value};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const FEE_PPM: i64 = 72_000;
const SHARE: i64 = 1_000_000;
const USD: i64 = 1_000_000;

fn cfg() -> StrategyConfig {
    Config::shipped().unwrap().strategy
}

fn regime_table() -> RegimeTable {
    RegimeTable::from_config(&Config::shipped().unwrap().signals)
}

/// A book: tick and (price, shares) levels.
struct BookSpec {
    tick: TickSize,
    bids: Vec<(i64, i64)>,
    asks: Vec<(i64, i64)>,
}

fn book(tick: TickSize, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> BookSpec {
    BookSpec {
        tick,
        bids: bids.to_vec(),
        asks: asks.to_vec(),
    }
}

fn token(outcome: Outcome) -> TokenIdx {
    let (up, down) = MarketBooks::tokens_of(MarketIdx(0));
    match outcome {
        Outcome::Up => up,
        Outcome::Down => down,
    }
}

fn load(books: &mut MarketBooks, outcome: Outcome, spec: &BookSpec) {
    let t = token(outcome);
    books.begin_snapshot(t, Some(spec.tick));
    for (p, s) in &spec.bids {
        books
            .snapshot_level(t, BookSide::Bid, *p, s * SHARE)
            .unwrap();
    }
    for (p, s) in &spec.asks {
        books
            .snapshot_level(t, BookSide::Ask, *p, s * SHARE)
            .unwrap();
    }
    books.finish_snapshot(t, 0, 0);
}

fn snapshot(regime: Regime, fair: f64, now_ms: u64) -> SignalSnapshot {
    SignalSnapshot {
        now_ms,
        regime: Some(regime),
        regime_row: Some(*regime_table().row(regime)),
        fair_up: Some(fair),
        ..SignalSnapshot::default()
    }
}

struct World {
    books: MarketBooks,
    signals: SignalSnapshot,
    phase: Phase,
    now_ms: u64,
    ms_left: u64,
    capital_micro: i64,
    position: PositionView,
    move_ppm: i64,
    flow: (i64, i64),
}

impl World {
    fn new(up: BookSpec, down: BookSpec, signals: SignalSnapshot) -> World {
        let mut books = MarketBooks::with_capacity(1);
        let m = books
            .add_market(
                "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1",
                "111",
                "222",
                TickSize::Cent,
            )
            .unwrap();
        assert_eq!(m, MarketIdx(0));
        load(&mut books, Outcome::Up, &up);
        load(&mut books, Outcome::Down, &down);
        World {
            books,
            now_ms: signals.now_ms,
            signals,
            phase: Phase::Prime,
            ms_left: 200_000,
            capital_micro: 100 * USD,
            position: PositionView::default(),
            move_ppm: 0,
            flow: (0, 0),
        }
    }

    fn ctx(&self) -> StrategyContext<'_> {
        StrategyContext {
            market: MarketIdx(0),
            window: Window::Min5,
            phase: self.phase,
            now_ms: self.now_ms,
            ms_left: self.ms_left,
            signals: &self.signals,
            up: self.books.book(token(Outcome::Up)).unwrap(),
            down: self.books.book(token(Outcome::Down)).unwrap(),
            capital_micro: self.capital_micro,
            account_capital_micro: self.capital_micro,
            position: self.position,
            binance_move_1s_ppm: self.move_ppm,
            flow_5s: self.flow,
            fee_rate_ppm: FEE_PPM,
        }
    }

    fn set(&mut self, outcome: Outcome, spec: BookSpec) {
        load(&mut self.books, outcome, &spec);
    }

    fn run(&self, set: &mut StrategySet, id: StrategyId) -> IntentBuf {
        let mut out = IntentBuf::with_capacity(16, 8);
        set.on_tick(id, &self.ctx(), &mut out);
        out
    }
}

fn fill(outcome: Outcome, side: Side, price: i64, size: i64, now_ms: u64) -> StrategyFill {
    StrategyFill {
        market: MarketIdx(0),
        outcome,
        side,
        price_micro: price,
        size_micro: size,
        fee_micro: 0,
        now_ms,
    }
}

#[track_caller]
fn assert_valid(o: &OrderIntent, tick: TickSize, min_size: i64) {
    assert!(
        o.price_micro > 0 && o.price_micro < PRICE_ONE_MICRO,
        "{o:?}"
    );
    assert_eq!(o.price_micro % tick.micro(), 0, "off grid: {o:?}");
    assert!(o.size_micro >= min_size, "undersized: {o:?}");
}

// ---------------------------------------------------------------- straddle

fn straddle_world(up_ask: i64, down_ask: i64) -> World {
    World::new(
        book(TickSize::Cent, &[(up_ask - 10_000, 100)], &[(up_ask, 100)]),
        book(
            TickSize::Cent,
            &[(down_ask - 10_000, 100)],
            &[(down_ask, 100)],
        ),
        snapshot(Regime::Low, 0.5, 1_000_000),
    )
}

#[test]
fn straddle_at_090_buys_both_legs_in_one_group_net_of_fees() {
    let c = cfg();
    let mut set = StrategySet::new(&c);
    let mut w = straddle_world(450_000, 450_000);
    w.phase = Phase::Alpha;
    let out = w.run(&mut set, StrategyId::Straddle);
    let o = out.orders();
    assert_eq!(o.len(), 2);
    assert_ne!(o[0].group, 0);
    assert_eq!(o[0].group, o[1].group);
    assert_eq!((o[0].outcome, o[1].outcome), (Outcome::Up, Outcome::Down));
    let fees = fee_per_share_micro(450_000, FEE_PPM) * 2;
    let cost = 900_000 + fees;
    assert!(cost < c.straddle.max_pair_cost_micro);
    // 25% of $100 over the pair cost, rounded down to the size step; depth 100 shares is larger.
    let by_capital = (25 * USD) as i128 * SHARE as i128 / cost as i128;
    let expected = by_capital as i64 - (by_capital as i64 % c.size_step_micro);
    for leg in o {
        assert_eq!(leg.strategy, StrategyId::Straddle);
        assert_eq!(leg.reason, Reason::StraddleOpen);
        assert_eq!(leg.side, Side::Buy);
        assert_eq!(leg.tif, TimeInForce::Fak);
        assert_eq!(leg.price_micro, 450_000);
        assert_eq!(leg.size_micro, expected);
        assert_valid(leg, TickSize::Cent, c.min_order_shares_micro);
    }
    // Edge after fees: 1 − 0.90 − fees.
    assert!(PRICE_ONE_MICRO - cost > 60_000);
    // Once per window.
    assert!(w.run(&mut set, StrategyId::Straddle).orders().is_empty());
}

#[test]
fn a_straddle_that_filled_nothing_scans_again_after_settling() {
    let c = cfg();
    let mut set = StrategySet::new(&c);
    let mut w = straddle_world(450_000, 450_000);
    assert_eq!(w.run(&mut set, StrategyId::Straddle).orders().len(), 2);
    w.now_ms += c.rebalance.settle_ms;
    // Settles (no fills at all) ...
    assert!(w.run(&mut set, StrategyId::Straddle).orders().is_empty());
    // ... and the next tick opens again.
    let out = w.run(&mut set, StrategyId::Straddle);
    assert_eq!(out.orders().len(), 2);
    assert!(out
        .orders()
        .iter()
        .all(|o| o.reason == Reason::StraddleOpen));
}

#[test]
fn straddle_size_is_capped_by_depth_within_2c() {
    let c = cfg();
    let mut set = StrategySet::new(&c);
    let mut w = straddle_world(450_000, 450_000);
    // 8 + 4 shares within 2c of the Down ask; a level 3c away does not count.
    w.set(
        Outcome::Down,
        book(
            TickSize::Cent,
            &[],
            &[(450_000, 8), (470_000, 4), (480_000, 50)],
        ),
    );
    w.capital_micro = 1_000 * USD;
    let out = w.run(&mut set, StrategyId::Straddle);
    assert_eq!(out.orders().len(), 2);
    assert!(out.orders().iter().all(|o| o.size_micro == 12 * SHARE));
}

#[test]
fn straddle_at_099_does_nothing() {
    let mut set = StrategySet::new(&cfg());
    let w = straddle_world(500_000, 490_000);
    assert!(w.run(&mut set, StrategyId::Straddle).orders().is_empty());
    // 0.94 + fees (≈ 0.035) is 0.975, also above 0.97.
    let w = straddle_world(470_000, 470_000);
    assert!(w.run(&mut set, StrategyId::Straddle).orders().is_empty());
}

/// Open a straddle at 0.45 / 0.45 and report fills of `up` and `down` shares.
fn partial_straddle(up: i64, down: i64) -> (StrategySet, World, u64) {
    let c = cfg();
    let mut set = StrategySet::new(&c);
    let mut w = straddle_world(450_000, 450_000);
    let out = w.run(&mut set, StrategyId::Straddle);
    assert_eq!(out.orders().len(), 2);
    let t = w.now_ms;
    if up > 0 {
        set.on_fill(
            StrategyId::Straddle,
            &fill(Outcome::Up, Side::Buy, 450_000, up, t),
        );
    }
    if down > 0 {
        set.on_fill(
            StrategyId::Straddle,
            &fill(Outcome::Down, Side::Buy, 450_000, down, t),
        );
    }
    // Still settling: nothing.
    assert!(w.run(&mut set, StrategyId::Straddle).orders().is_empty());
    w.now_ms = t + c.rebalance.settle_ms;
    w.signals.now_ms = w.now_ms;
    (set, w, t)
}

#[test]
fn partial_straddle_buys_the_deficit_when_the_pair_still_costs_under_1() {
    let (mut set, w, _) = partial_straddle(20 * SHARE, 10 * SHARE);
    let out = w.run(&mut set, StrategyId::Straddle);
    let o = out.orders();
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].reason, Reason::StraddleBuyDeficit);
    assert_eq!((o[0].outcome, o[0].side), (Outcome::Down, Side::Buy));
    assert_eq!(o[0].price_micro, 450_000);
    assert_eq!(o[0].size_micro, 10 * SHARE);
    assert_eq!(o[0].tif, TimeInForce::Fak);
}

#[test]
fn partial_straddle_holds_with_agreeing_bias_else_sells_the_excess_at_the_bid() {
    // The Down ask ran to 0.60: 0.60 + fee + 0.45 > 1, no deficit buy.
    let (mut set, mut w, _) = partial_straddle(20 * SHARE, 10 * SHARE);
    w.set(
        Outcome::Down,
        book(TickSize::Cent, &[(590_000, 100)], &[(600_000, 100)]),
    );
    w.signals.bias = BiasReading {
        score: 0.5,
        direction: Some(Direction::Up),
        confidence: 0.5,
        ..BiasReading::default()
    };
    assert!(w.run(&mut set, StrategyId::Straddle).orders().is_empty());
    assert_eq!(set.straddle.pair(0).unwrap().stage, PairStage::Settled);

    // Same, with the bias pointing the other way: sell the 10 excess Up at the Up bid.
    let (mut set, mut w, _) = partial_straddle(20 * SHARE, 10 * SHARE);
    w.set(
        Outcome::Down,
        book(TickSize::Cent, &[(590_000, 100)], &[(600_000, 100)]),
    );
    w.signals.bias = BiasReading {
        score: -0.5,
        direction: Some(Direction::Down),
        confidence: 0.5,
        ..BiasReading::default()
    };
    let out = w.run(&mut set, StrategyId::Straddle);
    let o = out.orders();
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].reason, Reason::StraddleSellExcess);
    assert_eq!((o[0].outcome, o[0].side), (Outcome::Up, Side::Sell));
    assert_eq!(o[0].price_micro, 440_000);
    assert_eq!(o[0].size_micro, 10 * SHARE);
}

#[test]
fn small_or_balanced_straddle_imbalances_are_accepted() {
    // 1 excess share at 0.45 = $0.45 < $0.50.
    let (mut set, w, _) = partial_straddle(6 * SHARE, 5 * SHARE);
    assert!(w.run(&mut set, StrategyId::Straddle).orders().is_empty());
    assert_eq!(set.straddle.pair(0).unwrap().stage, PairStage::Settled);
    // Both legs half filled: balanced.
    let (mut set, w, _) = partial_straddle(10 * SHARE, 10 * SHARE);
    assert!(w.run(&mut set, StrategyId::Straddle).orders().is_empty());
    assert_eq!(set.straddle.pair(0).unwrap().stage, PairStage::Settled);
}

#[test]
fn straddle_phase_two_buys_the_bias_dip_after_a_bounce() {
    let c = cfg();
    let (mut set, mut w, _) = partial_straddle(20 * SHARE, 20 * SHARE);
    // Settle the balanced pair.
    assert!(w.run(&mut set, StrategyId::Straddle).orders().is_empty());
    w.signals.bias = BiasReading {
        score: 0.4,
        direction: Some(Direction::Up),
        confidence: 0.4,
        ..BiasReading::default()
    };
    let up_at = |ask: i64| book(TickSize::Cent, &[(ask - 10_000, 100)], &[(ask, 100)]);
    let mut step = |w: &mut World, ask: i64| {
        w.set(Outcome::Up, up_at(ask));
        w.now_ms += 1_000;
        w.run(&mut set, StrategyId::Straddle)
    };
    // Start 0.50, dips to 0.47 (new low), no bounce yet.
    for ask in [500_000, 490_000, 470_000] {
        assert!(step(&mut w, ask).orders().is_empty());
    }
    // 1c bounce off 0.47: buy at 0.47 + 0.5c, rounded down to the cent grid → 0.47.
    let out = step(&mut w, 480_000);
    let o = out.orders();
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].reason, Reason::BiasDipBuy);
    assert_eq!((o[0].outcome, o[0].side), (Outcome::Up, Side::Buy));
    assert_eq!(o[0].price_micro, 470_000);
    assert_eq!(o[0].tif, TimeInForce::Gtc);
    // Locked profit: 20 × (1 − 0.90) = $2 → 3× = $6 < 15% of $100 = $15 → $6 / 0.47.
    let expected = (6 * USD) as i128 * SHARE as i128 / 470_000;
    let expected = expected as i64 - expected as i64 % c.size_step_micro;
    assert_eq!(o[0].size_micro, expected);
    // Only one dip buy per window; its order is cancelled at pre-resolution.
    assert!(step(&mut w, 460_000).orders().is_empty());
    w.phase = Phase::PreResolution;
    let out = w.run(&mut set, StrategyId::Straddle);
    assert_eq!(out.cancels().len(), 1);
    assert_eq!(out.cancels()[0].reason, Reason::BiasDipBuy);
}

// ---------------------------------------------------------------- arb

fn arb_quote(up: i64, down: i64, executable: i64) -> ArbQuote {
    let fee = fee_per_share_micro(up, FEE_PPM) + fee_per_share_micro(down, FEE_PPM);
    ArbQuote {
        up_ask_micro: up,
        down_ask_micro: down,
        fee_per_share_micro: fee,
        edge_micro: PRICE_ONE_MICRO - up - down - fee,
        up_depth_micro: executable,
        down_depth_micro: executable,
        executable_micro: executable,
        expected_shares_micro: executable * 85 / 100,
        expected_profit_micro: 1,
        signal: true,
    }
}

#[test]
fn arb_signal_buys_both_legs_sized_by_capital_tier_and_rebalances() {
    let c = cfg();
    let mut set = StrategySet::new(&c);
    let mut w = straddle_world(450_000, 460_000);
    w.signals.arb = Some(arb_quote(450_000, 460_000, 200 * SHARE));
    // $100 account: tier $50–500 → 50% = $50.
    let out = w.run(&mut set, StrategyId::Arb);
    let o = out.orders();
    assert_eq!(o.len(), 2);
    assert_ne!(o[0].group, 0);
    assert_eq!(o[0].group, o[1].group);
    let cost =
        910_000 + fee_per_share_micro(450_000, FEE_PPM) + fee_per_share_micro(460_000, FEE_PPM);
    let expected = (50 * USD) as i128 * SHARE as i128 / cost as i128;
    let expected = expected as i64 - expected as i64 % c.size_step_micro;
    for leg in o {
        assert_eq!(leg.reason, Reason::ArbOpen);
        assert_eq!(leg.tif, TimeInForce::Fak);
        assert_eq!(leg.size_micro, expected);
    }
    assert_eq!(o[0].price_micro, 450_000);
    assert_eq!(o[1].price_micro, 460_000);
    // No new pair while this one works; a Down partial fill is rebalanced after settling.
    let t = w.now_ms;
    set.on_fill(
        StrategyId::Arb,
        &fill(Outcome::Up, Side::Buy, 450_000, 50 * SHARE, t),
    );
    set.on_fill(
        StrategyId::Arb,
        &fill(Outcome::Down, Side::Buy, 460_000, 20 * SHARE, t),
    );
    assert!(w.run(&mut set, StrategyId::Arb).orders().is_empty());
    w.now_ms = t + c.rebalance.settle_ms;
    let out = w.run(&mut set, StrategyId::Arb);
    let o = out.orders();
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].reason, Reason::ArbRebalance);
    assert_eq!((o[0].outcome, o[0].side), (Outcome::Down, Side::Buy));
    assert_eq!(o[0].size_micro, 30 * SHARE);
}

#[test]
fn arb_without_a_signal_or_capital_does_nothing() {
    let mut set = StrategySet::new(&cfg());
    let mut w = straddle_world(450_000, 460_000);
    let mut q = arb_quote(450_000, 460_000, 200 * SHARE);
    q.signal = false;
    w.signals.arb = Some(q);
    assert!(w.run(&mut set, StrategyId::Arb).orders().is_empty());
    w.signals.arb = Some(arb_quote(450_000, 460_000, 200 * SHARE));
    w.capital_micro = 4 * USD;
    assert!(w.run(&mut set, StrategyId::Arb).orders().is_empty());
}

// ---------------------------------------------------------------- lag

/// A BTC window with price to beat $60 000 and the Binance price at `px_usd`.
fn fair_at(px_usd: f64, ms_left: u64) -> f64 {
    let ptb = 60_000i128 * 10i128.pow(18);
    let px = (px_usd * 1e8).round() as i64;
    fair_p_up(px, Some(ptb), 0.55, ms_left).unwrap()
}

fn lag_world(regime: Regime, fair: f64) -> World {
    let mut w = World::new(
        book(TickSize::Cent, &[(500_000, 100)], &[(520_000, 100)]),
        book(TickSize::Cent, &[(470_000, 100)], &[(490_000, 100)]),
        snapshot(regime, fair, 1_000_000),
    );
    w.capital_micro = 200 * USD;
    w
}

#[test]
fn lag_buys_up_at_the_ask_after_a_binance_jump_with_fractional_kelly() {
    let c = cfg();
    let mut set = StrategySet::new(&c);
    // At the price to beat: fair 0.5, no edge either side.
    let w = lag_world(Regime::Medium, fair_at(60_000.0, 200_000));
    assert!(w.run(&mut set, StrategyId::Lag).orders().is_empty());
    // Binance +0.10%: fair jumps, the Up ask (0.52) lags.
    let fair = fair_at(60_060.0, 200_000);
    assert!(fair > 0.6);
    let w = lag_world(Regime::Medium, fair);
    let out = w.run(&mut set, StrategyId::Lag);
    let o = out.orders();
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].reason, Reason::LagEdge);
    assert_eq!((o[0].outcome, o[0].side), (Outcome::Up, Side::Buy));
    assert_eq!(o[0].price_micro, 520_000);
    assert_eq!(o[0].tif, TimeInForce::Fak);
    // Size: 25% Kelly of $200 (below MEDIUM's 20% cap), over ask + fee.
    let fee = fee_per_share_micro(520_000, FEE_PPM);
    let edge = ((fair * 1e6).round() as i64 - 520_000 - fee) as f64 / 1e6;
    let win = (0.62 + 2.0 * edge).min(0.80);
    let odds = (1.0 - 0.52) / 0.52;
    let kelly = (odds * win - (1.0 - win)) / odds;
    let stake = ((200 * USD) as f64 * 0.25 * kelly).floor() as i64;
    let stake = stake.min(40 * USD);
    let shares = stake as i128 * SHARE as i128 / (520_000 + fee) as i128;
    let shares = shares as i64 - shares as i64 % c.size_step_micro;
    assert_eq!(o[0].size_micro, shares);
    assert_valid(&o[0], TickSize::Cent, c.min_order_shares_micro);
}

#[test]
fn lag_buys_down_after_a_drop_and_respects_its_filters() {
    let c = cfg();
    let fair = fair_at(59_940.0, 200_000);
    let mut set = StrategySet::new(&c);
    let out = lag_world(Regime::Medium, fair).run(&mut set, StrategyId::Lag);
    assert_eq!(out.orders().len(), 1);
    assert_eq!(out.orders()[0].outcome, Outcome::Down);
    assert_eq!(out.orders()[0].price_micro, 490_000);

    // DEAD: never.
    let mut set = StrategySet::new(&c);
    assert!(lag_world(Regime::Dead, fair)
        .run(&mut set, StrategyId::Lag)
        .orders()
        .is_empty());
    // HIGH with < 60 s left.
    let mut w = lag_world(Regime::High, fair);
    w.ms_left = 59_000;
    assert!(w.run(&mut set, StrategyId::Lag).orders().is_empty());
    w.ms_left = 61_000;
    assert_eq!(w.run(&mut set, StrategyId::Lag).orders().len(), 1);
    // Spread > 10c with < 120 s left.
    let mut set = StrategySet::new(&c);
    let mut w = lag_world(Regime::Medium, fair);
    w.set(
        Outcome::Down,
        book(TickSize::Cent, &[(370_000, 100)], &[(490_000, 100)]),
    );
    w.ms_left = 100_000;
    assert!(w.run(&mut set, StrategyId::Lag).orders().is_empty());
    w.ms_left = 130_000;
    assert_eq!(w.run(&mut set, StrategyId::Lag).orders().len(), 1);
}

// ---------------------------------------------------------------- market making

fn mm_world() -> World {
    let mut w = World::new(
        book(TickSize::Cent, &[(450_000, 100)], &[(550_000, 100)]),
        book(TickSize::Cent, &[(450_000, 100)], &[(550_000, 100)]),
        snapshot(Regime::Medium, 0.5, 1_000_000),
    );
    w.capital_micro = 500 * USD;
    w
}

#[test]
fn mm_quotes_post_only_bids_on_both_tokens_around_fair() {
    let c = cfg();
    let mut set = StrategySet::new(&c);
    let w = mm_world();
    let out = w.run(&mut set, StrategyId::MarketMaking);
    let o = out.orders();
    assert_eq!(o.len(), 2, "{o:?}");
    for q in o {
        assert_eq!(q.reason, Reason::MmQuote);
        assert_eq!(q.side, Side::Buy);
        assert_eq!(q.tif, TimeInForce::Gtc);
        assert!(q.post_only);
        assert_valid(q, TickSize::Cent, c.min_order_shares_micro);
    }
    // MEDIUM: half-spread 3c around 0.50 → Up bid 0.47, Up ask 0.53 = Down bid 0.47.
    assert_eq!((o[0].outcome, o[0].price_micro), (Outcome::Up, 470_000));
    assert_eq!((o[1].outcome, o[1].price_micro), (Outcome::Down, 470_000));
    // 10% of $500 × 1.0 = $50 at 0.47.
    let expected = (50 * USD) as i128 * SHARE as i128 / 470_000;
    assert_eq!(
        o[0].size_micro,
        expected as i64 - expected as i64 % c.size_step_micro
    );
    // The same desired quotes next tick: no churn. A sub-tick fair move: still none.
    assert!(w
        .run(&mut set, StrategyId::MarketMaking)
        .orders()
        .is_empty());
    // Fair 0.505: the Up bid 0.475 still rounds down to 0.47, the Down bid 1 − 0.535 = 0.465
    // rounds down to 0.46: only the Down quote is cancelled and replaced.
    let mut w2 = mm_world();
    w2.signals.fair_up = Some(0.505);
    let out = w2.run(&mut set, StrategyId::MarketMaking);
    assert_eq!(out.cancels().len(), 1);
    assert_eq!(out.cancels()[0].outcome, Some(Outcome::Down));
    assert_eq!(out.orders().len(), 1);
    assert_eq!(
        (out.orders()[0].outcome, out.orders()[0].price_micro),
        (Outcome::Down, 460_000)
    );
    // A sub-tick move that rounds to the same quotes: nothing.
    w2.signals.fair_up = Some(0.508);
    let out = w2.run(&mut set, StrategyId::MarketMaking);
    assert!(out.orders().is_empty() && out.cancels().is_empty());
    // A 2c fair move: cancel and replace both.
    w2.signals.fair_up = Some(0.52);
    let out = w2.run(&mut set, StrategyId::MarketMaking);
    assert_eq!(out.cancels().len(), 2);
    assert_eq!(out.orders().len(), 2);
    assert_eq!(out.orders()[0].price_micro, 490_000);
    assert_eq!(out.orders()[1].price_micro, 450_000);
}

#[test]
fn mm_pulls_on_a_binance_move_and_in_the_last_30_s() {
    let mut set = StrategySet::new(&cfg());
    let mut w = mm_world();
    assert_eq!(w.run(&mut set, StrategyId::MarketMaking).orders().len(), 2);
    // 0.025% in 1 s (> 0.02%): pull both.
    w.move_ppm = -250;
    let out = w.run(&mut set, StrategyId::MarketMaking);
    assert!(out.orders().is_empty());
    assert_eq!(out.cancels().len(), 1);
    assert_eq!(out.cancels()[0].reason, Reason::MmPull);
    assert_eq!(out.cancels()[0].outcome, None);
    // 0.015%: quoting again.
    w.move_ppm = 150;
    assert_eq!(w.run(&mut set, StrategyId::MarketMaking).orders().len(), 2);
    // Last 30 s: pulled, and nothing new.
    w.ms_left = 29_000;
    let out = w.run(&mut set, StrategyId::MarketMaking);
    assert!(out.orders().is_empty());
    assert_eq!(out.cancels()[0].reason, Reason::MmPull);
    assert!(w
        .run(&mut set, StrategyId::MarketMaking)
        .cancels()
        .is_empty());
}

#[test]
fn mm_pulls_on_cascade_high_vol_small_capital_tight_book_and_extreme() {
    let mut set = StrategySet::new(&cfg());
    let mut w = mm_world();
    w.signals.bias.components[4] = -1.0;
    assert!(w
        .run(&mut set, StrategyId::MarketMaking)
        .orders()
        .is_empty());

    let mut w = mm_world();
    w.signals = snapshot(Regime::High, 0.5, 1_000_000);
    w.capital_micro = 90 * USD;
    assert!(w
        .run(&mut set, StrategyId::MarketMaking)
        .orders()
        .is_empty());
    w.capital_micro = 150 * USD;
    assert_eq!(w.run(&mut set, StrategyId::MarketMaking).orders().len(), 2);

    let mut set = StrategySet::new(&cfg());
    let mut w = mm_world();
    w.set(
        Outcome::Up,
        book(TickSize::HalfCent, &[(500_000, 100)], &[(505_000, 100)]),
    );
    assert!(w
        .run(&mut set, StrategyId::MarketMaking)
        .orders()
        .is_empty());

    let mut w = mm_world();
    w.signals = snapshot(Regime::Extreme, 0.5, 1_000_000);
    assert!(w
        .run(&mut set, StrategyId::MarketMaking)
        .orders()
        .is_empty());
}

#[test]
fn mm_skews_both_quotes_against_inventory_and_widens() {
    let flat = {
        let mut set = StrategySet::new(&cfg());
        mm_world()
            .run(&mut set, StrategyId::MarketMaking)
            .orders()
            .to_vec()
    };
    // Long 200 Up shares against $500 × 0.5: skew = clamp(0.8 × 0.02) = 0.016 down.
    let mut set = StrategySet::new(&cfg());
    let mut w = mm_world();
    w.position.up_micro = 200 * SHARE;
    let long_up = w.run(&mut set, StrategyId::MarketMaking).orders().to_vec();
    assert!(long_up[0].price_micro < flat[0].price_micro, "Up bid lower");
    assert!(
        long_up[1].price_micro > flat[1].price_micro,
        "Down bid higher"
    );
    // Far longer: the skew clamps at 0.03 (Up bid 0.50 − 0.03 − 0.03 = 0.44).
    let mut set = StrategySet::new(&cfg());
    w.position.up_micro = 100_000 * SHARE;
    let clamped = w.run(&mut set, StrategyId::MarketMaking).orders().to_vec();
    assert_eq!(clamped[0].price_micro, 440_000);
    assert_eq!(clamped[1].price_micro, 500_000);
    // Near expiry (60 s left) the spread widens: Up bid lower, Down bid lower.
    let mut set = StrategySet::new(&cfg());
    let mut w = mm_world();
    w.ms_left = 60_000;
    let late = w.run(&mut set, StrategyId::MarketMaking).orders().to_vec();
    assert!(late[0].price_micro < flat[0].price_micro);
    assert!(late[1].price_micro < flat[1].price_micro);
    // One-sided 5 s flow (4:1) widens too.
    let mut set = StrategySet::new(&cfg());
    let mut w = mm_world();
    w.flow = (400, 100);
    let flow = w.run(&mut set, StrategyId::MarketMaking).orders().to_vec();
    assert!(flow[0].price_micro < flat[0].price_micro);
    // Ten Up fills in a row: widened and skewed against Up.
    let mut set = StrategySet::new(&cfg());
    let w = mm_world();
    w.run(&mut set, StrategyId::MarketMaking);
    for _ in 0..10 {
        set.on_fill(
            StrategyId::MarketMaking,
            &fill(Outcome::Up, Side::Buy, 470_000, SHARE, 0),
        );
    }
    let out = w.run(&mut set, StrategyId::MarketMaking);
    let up = out
        .orders()
        .iter()
        .find(|o| o.outcome == Outcome::Up)
        .unwrap();
    assert!(up.price_micro < flat[0].price_micro);
}

// ---------------------------------------------------------------- momentum

fn momentum_world(score: f64, divergence: f64, exhausted: bool) -> World {
    let mut s = snapshot(Regime::Medium, 0.5 + divergence, 1_000_000);
    s.momentum = MomentumReading {
        score: Some(score),
        divergence: Some(divergence),
        exhausted,
        scores: 10,
        ..MomentumReading::default()
    };
    let mut w = World::new(
        book(TickSize::Cent, &[(490_000, 100)], &[(510_000, 100)]),
        book(TickSize::Cent, &[(480_000, 100)], &[(500_000, 100)]),
        s,
    );
    w.capital_micro = 200 * USD;
    w
}

#[test]
fn momentum_enters_at_the_ask_and_exits_at_the_bid_on_exhaustion() {
    let c = cfg();
    let mut set = StrategySet::new(&c);
    // Score and divergence disagree: nothing.
    assert!(momentum_world(0.006, -0.04, false)
        .run(&mut set, StrategyId::Momentum)
        .orders()
        .is_empty());
    // Below MEDIUM's 0.003: nothing.
    assert!(momentum_world(0.002, 0.04, false)
        .run(&mut set, StrategyId::Momentum)
        .orders()
        .is_empty());
    let mut w = momentum_world(0.006, 0.04, false);
    let out = w.run(&mut set, StrategyId::Momentum);
    let o = out.orders();
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].reason, Reason::MomentumEntry);
    assert_eq!(
        (o[0].outcome, o[0].side, o[0].price_micro),
        (Outcome::Up, Side::Buy, 510_000)
    );
    // 10% × min(0.04/0.05, 2) × min(0.006/0.005, 1.5) = 9.6% of $200.
    let dollars = ((200 * USD) as f64 * 0.10 * (0.04 / 0.05) * (0.006 / 0.005)).floor() as i64;
    let cost = 510_000 + fee_per_share_micro(510_000, FEE_PPM);
    let shares = dollars as i128 * SHARE as i128 / cost as i128;
    assert_eq!(
        o[0].size_micro,
        shares as i64 - shares as i64 % c.size_step_micro
    );
    let size = o[0].size_micro;
    set.on_fill(
        StrategyId::Momentum,
        &fill(Outcome::Up, Side::Buy, 510_000, size, w.now_ms),
    );
    // Holding, not exhausted: nothing.
    w.now_ms += 1_000;
    assert!(w.run(&mut set, StrategyId::Momentum).orders().is_empty());
    // Exhausted: sell everything at the Up bid.
    w.signals.momentum.exhausted = true;
    let out = w.run(&mut set, StrategyId::Momentum);
    let o = out.orders();
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].reason, Reason::MomentumExit);
    assert_eq!(
        (o[0].outcome, o[0].side, o[0].price_micro),
        (Outcome::Up, Side::Sell, 490_000)
    );
    assert_eq!(o[0].size_micro, size);
    set.on_fill(
        StrategyId::Momentum,
        &fill(Outcome::Up, Side::Sell, 490_000, size, w.now_ms),
    );
    assert_eq!(set.momentum.position(0), None);
}

#[test]
fn momentum_buys_down_on_a_falling_move_and_holds_near_expiry() {
    let mut set = StrategySet::new(&cfg());
    let mut w = momentum_world(-0.006, -0.04, false);
    let out = w.run(&mut set, StrategyId::Momentum);
    assert_eq!(out.orders()[0].outcome, Outcome::Down);
    assert_eq!(out.orders()[0].price_micro, 500_000);
    let size = out.orders()[0].size_micro;
    set.on_fill(
        StrategyId::Momentum,
        &fill(Outcome::Down, Side::Buy, 500_000, size, w.now_ms),
    );
    // 40 s left and exhausted: hold to resolution.
    w.ms_left = 40_000;
    w.signals.momentum.exhausted = true;
    w.now_ms += 1_000;
    assert!(w.run(&mut set, StrategyId::Momentum).orders().is_empty());
    // No entry with < 45 s left either.
    let mut set = StrategySet::new(&cfg());
    let mut w = momentum_world(0.006, 0.04, false);
    w.ms_left = 40_000;
    assert!(w.run(&mut set, StrategyId::Momentum).orders().is_empty());
}

#[test]
fn momentum_exits_after_the_maximum_hold() {
    let c = cfg();
    let mut set = StrategySet::new(&c);
    let mut w = momentum_world(0.006, 0.04, false);
    let size = w.run(&mut set, StrategyId::Momentum).orders()[0].size_micro;
    set.on_fill(
        StrategyId::Momentum,
        &fill(Outcome::Up, Side::Buy, 510_000, size, w.now_ms),
    );
    w.now_ms += c.momentum.max_hold_5m_s * 1_000 - 1;
    assert!(w.run(&mut set, StrategyId::Momentum).orders().is_empty());
    w.now_ms += 1;
    let out = w.run(&mut set, StrategyId::Momentum);
    assert_eq!(out.orders()[0].reason, Reason::MomentumExit);
}

// ---------------------------------------------------------------- grid, sizes, allocation

/// Every strategy over a sweep of books on each tick size and many fair values / signals.
fn sweep(mut each: impl FnMut(&World, &IntentBuf, TickSize)) {
    let c = cfg();
    for tick in [TickSize::Cent, TickSize::HalfCent, TickSize::Mill] {
        let t = tick.micro();
        for k in 0..12i64 {
            let up_ask = 300_000 + k * 37 * t % 300_000 / t * t;
            let down_ask = 1_000_000 - up_ask - 5 * t * (k % 4) - 30_000;
            let mut w = World::new(
                book(
                    tick,
                    &[(up_ask - 3 * t, 40)],
                    &[(up_ask, 30 + k), (up_ask + t, 7)],
                ),
                book(
                    tick,
                    &[(down_ask - 2 * t, 40)],
                    &[(down_ask, 25), (down_ask + 2 * t, 9)],
                ),
                snapshot(
                    Regime::ALL[(k % 4) as usize + 1],
                    0.3 + 0.033 * k as f64,
                    1_000_000,
                ),
            );
            w.capital_micro = (37 + 91 * k) * USD;
            w.position.up_micro = (k - 6) * 13 * SHARE;
            w.signals.arb = Some(arb_quote(up_ask, down_ask, 25 * SHARE));
            w.signals.momentum = MomentumReading {
                score: Some(0.004 * (k as f64 - 5.5)),
                divergence: Some(0.01 * (k as f64 - 5.5)),
                ..MomentumReading::default()
            };
            let mut set = StrategySet::new(&c);
            for id in StrategyId::ALL {
                let out = w.run(&mut set, id);
                each(&w, &out, tick);
            }
        }
    }
}

#[test]
fn every_intent_is_on_the_grid_and_above_the_minimum_size() {
    let min = cfg().min_order_shares_micro;
    let mut seen = [0usize; 5];
    sweep(|_, out, tick| {
        for o in out.orders() {
            assert_valid(o, tick, min);
            seen[o.strategy.index()] += 1;
        }
    });
    // The sweep exercises every strategy.
    assert!(seen.iter().all(|n| *n > 0), "{seen:?}");
}

#[test]
fn on_tick_allocates_nothing_after_warm_up() {
    let c = cfg();
    let mut set = StrategySet::new(&c);
    let mut w = mm_world();
    w.signals.arb = Some(arb_quote(450_000, 460_000, 200 * SHARE));
    w.signals.momentum = MomentumReading {
        score: Some(0.006),
        divergence: Some(0.04),
        ..MomentumReading::default()
    };
    let mut out = IntentBuf::with_capacity(64, 32);
    // Warm-up round.
    for id in StrategyId::ALL {
        set.on_tick(id, &w.ctx(), &mut out);
    }
    let (allocs, intents) = count_allocations(|| {
        let mut intents = 0;
        for i in 0..2_000u64 {
            out.clear();
            w.now_ms += 250;
            w.signals.now_ms = w.now_ms;
            w.signals.fair_up = Some(0.45 + (i % 20) as f64 * 0.005);
            w.move_ppm = if i % 7 == 0 { 300 } else { 0 };
            for id in StrategyId::ALL {
                set.on_tick(id, &w.ctx(), &mut out);
            }
            if i % 5 == 0 {
                set.on_fill(
                    StrategyId::MarketMaking,
                    &fill(Outcome::Up, Side::Buy, 470_000, SHARE, w.now_ms),
                );
            }
            intents += out.orders().len() + out.cancels().len();
        }
        intents
    });
    assert!(intents > 0);
    assert_eq!(allocs, 0, "{allocs} allocations over {intents} intents");
}

// ---------------------------------------------------------------- config

fn strategy_errors_after(edit: impl FnOnce(&mut Table)) -> Vec<ConfigError> {
    let mut table: Table = SHIPPED_CONFIG_TOML.parse().unwrap();
    match table.get_mut("strategy") {
        Some(Value::Table(s)) => edit(s),
        _ => panic!("no [strategy]"),
    }
    match toml::to_string(&table).unwrap().parse::<Config>() {
        Ok(_) => panic!("config unexpectedly valid"),
        Err(e) => e.into_vec(),
    }
}

fn sub<'a>(t: &'a mut Table, name: &str) -> &'a mut Table {
    match t.get_mut(name) {
        Some(Value::Table(s)) => s,
        _ => panic!("no [strategy.{name}]"),
    }
}

#[track_caller]
fn has(errors: &[ConfigError], path: &str, kind: ErrorKind) {
    assert!(
        errors.iter().any(|e| e.path == path && e.kind == kind),
        "no {kind:?} at `{path}` in {errors:#?}"
    );
}

#[test]
fn shipped_strategy_section_holds_the_spec_defaults() {
    let c = cfg();
    assert_eq!(c.min_order_shares_micro, 5 * SHARE);
    assert_eq!(c.straddle.max_pair_cost_micro, 970_000);
    assert_eq!(
        (c.straddle.capital_fraction, c.straddle.depth_cents),
        (0.25, 2)
    );
    assert_eq!(c.rebalance.min_fill_ratio, 0.80);
    assert_eq!(c.rebalance.accept_imbalance_micro, 500_000);
    assert_eq!(c.straddle.dip_min_confidence, 0.35);
    assert_eq!(c.arb.tier_fractions, [1.0, 0.5, 0.25, 0.10, 0.10]);
    assert_eq!((c.lag.kelly_fraction, c.lag.win_prob_max), (0.25, 0.80));
    assert_eq!(
        (c.mm.skew_max, c.mm.pull_move_pct, c.mm.pull_last_s),
        (0.03, 0.02, 30)
    );
    assert_eq!(
        (c.momentum.min_divergence, c.momentum.hold_last_s),
        (0.02, 45)
    );
}

#[test]
fn strategy_errors_name_their_keys() {
    let e = strategy_errors_after(|s| {
        s.insert("min_order_shares_micro".into(), Value::Integer(0));
        sub(s, "rebalance").insert("min_fill_ratio".into(), Value::Float(1.5));
        sub(s, "lag").insert("win_prob_max".into(), Value::Float(0.5));
        sub(s, "mm").insert("fill_memory".into(), Value::Integer(64));
        sub(s, "arb").insert(
            "tier_bounds_micro".into(),
            Value::Array(vec![
                Value::Integer(5),
                Value::Integer(4),
                Value::Integer(6),
                Value::Integer(7),
            ]),
        );
    });
    has(&e, "strategy.min_order_shares_micro", ErrorKind::OutOfRange);
    has(
        &e,
        "strategy.rebalance.min_fill_ratio",
        ErrorKind::OutOfRange,
    );
    has(&e, "strategy.lag.win_prob_max", ErrorKind::Inconsistent);
    has(&e, "strategy.mm.fill_memory", ErrorKind::OutOfRange);
    has(
        &e,
        "strategy.arb.tier_bounds_micro",
        ErrorKind::Inconsistent,
    );
    let e = strategy_errors_after(|s| {
        sub(s, "straddle").remove("depth_cents");
    });
    assert!(e.iter().any(|e| e.path.contains("depth_cents")), "{e:#?}");
}
