//! All five strategies' `on_tick` for one market (issue 5's tick → signals → strategy decision
//! leg; target for the whole chain < 1 µs).
//!
//! Set-up: one market's Up/Down books (5 levels a side, cent grid), a MEDIUM-regime signal
//! snapshot, $500 of capital, an intent buffer. Each iteration clears the buffer and runs
//! straddle, arb, lag, market making and momentum in turn:
//! * `all_five_quiet`: the steady state — MM quotes already stand at the desired prices, the
//!   pair cost (0.55 + 0.55) is above the straddle threshold, no arb signal, no lag edge, no
//!   momentum: every rule is evaluated and nothing is emitted;
//! * `all_five_requoting`: fair alternates between 0.50 and 0.52 every tick, so MM cancels and
//!   replaces both quotes on every call (two cancels + two orders), the other four evaluate.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

use sattebaaz::book::{BookSide, MarketBooks, MarketIdx, TickSize, TokenBook};
use sattebaaz::config::{Config, Window};
use sattebaaz::signals::{Regime, RegimeTable, SignalSnapshot};
use sattebaaz::strategy::{
    IntentBuf, Phase, PositionView, StrategyContext, StrategyId, StrategySet,
};

const UP: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const DOWN: &str = "52114319501245915516055106046884209969926127482827954674443846427813813222426";
const MARKET: &str = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1";

fn context<'a>(
    signals: &'a SignalSnapshot,
    up: &'a TokenBook,
    down: &'a TokenBook,
) -> StrategyContext<'a> {
    StrategyContext {
        market: MarketIdx(0),
        window: Window::Min5,
        phase: Phase::Prime,
        now_ms: signals.now_ms,
        ms_left: 200_000,
        signals,
        up,
        down,
        capital_micro: 500_000_000,
        account_capital_micro: 500_000_000,
        position: PositionView::default(),
        binance_move_1s_ppm: 50,
        flow_5s: (120, 100),
        fee_rate_ppm: 72_000,
    }
}

fn bench(c: &mut Criterion) {
    let cfg = Config::shipped().expect("shipped config");
    let table = RegimeTable::from_config(&cfg.signals);
    let mut books = MarketBooks::with_capacity(1);
    let m = books.add_market(MARKET, UP, DOWN, TickSize::Cent).unwrap();
    let (up_t, down_t) = MarketBooks::tokens_of(m);
    for (t, bid, ask) in [(up_t, 450_000, 550_000), (down_t, 450_000, 550_000)] {
        books.begin_snapshot(t, None);
        for i in 0..5 {
            books
                .snapshot_level(t, BookSide::Bid, bid - i * 10_000, 40_000_000)
                .unwrap();
            books
                .snapshot_level(t, BookSide::Ask, ask + i * 10_000, 40_000_000)
                .unwrap();
        }
        books.finish_snapshot(t, 0, 0);
    }
    let up = books.book(up_t).unwrap();
    let down = books.book(down_t).unwrap();
    let mut signals = SignalSnapshot {
        now_ms: 1_000_000,
        regime: Some(Regime::Medium),
        regime_row: Some(*table.row(Regime::Medium)),
        fair_up: Some(0.5),
        annual_vol: 0.55,
        ..SignalSnapshot::default()
    };
    let mut out = IntentBuf::with_capacity(64, 32);

    let mut set = StrategySet::new(&cfg.strategy);
    for id in StrategyId::ALL {
        set.on_tick(id, &context(&signals, up, down), &mut out);
    }
    c.bench_function("strategies/all_five_quiet", |b| {
        b.iter(|| {
            out.clear();
            signals.now_ms += 16;
            let cx = context(&signals, up, down);
            for id in StrategyId::ALL {
                set.on_tick(id, black_box(&cx), &mut out);
            }
            black_box(out.orders().len())
        })
    });

    let mut set = StrategySet::new(&cfg.strategy);
    let mut flip = false;
    c.bench_function("strategies/all_five_requoting", |b| {
        b.iter(|| {
            out.clear();
            signals.now_ms += 16;
            flip = !flip;
            signals.fair_up = Some(if flip { 0.52 } else { 0.50 });
            let cx = context(&signals, up, down);
            for id in StrategyId::ALL {
                set.on_tick(id, black_box(&cx), &mut out);
            }
            black_box(out.orders().len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
