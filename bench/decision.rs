//! Binance tick → every signal → the trading brain's decision (issue 5: target under 1 µs):
//! one Binance trade applied to the asset state, then `MarketSignals::tick` updates the
//! market's signal set and calls the `TradingBrain` (all five strategies, the orchestrator
//! round with the pre-trade gate when intents are produced).
//!
//! Set-up: one 5-minute BTC market in its prime phase with 40 minutes of trades before it
//! (ATR warm, medium regime), 5-level books a side on the cent grid, the shipped config.
//! * `decision/quiet`: books at the fair value, every rule evaluated, nothing survives;
//! * `decision/quoting`: the price alternates ±$40 around the price to beat every tick, so
//!   market making re-quotes and the orchestrator and pre-trade gate run on its intents.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};

use sattebaaz::book::{BookSide, MarketBooks, MarketIdx, TickSize};
use sattebaaz::config::{Asset, Config, Window};
use sattebaaz::engine::brain::TradingBrain;
use sattebaaz::engine::trading::{Decider, MarketSignals, TickHealth};
use sattebaaz::exec::orders::positions::Positions;
use sattebaaz::feeds::binance::{
    Asset as FeedAsset, BinanceState, Side as TradeSide, TradeSource, Venue,
};
use sattebaaz::risk::RiskShared;
use sattebaaz::signals::{MarketInputs, SignalParams};
use sattebaaz::strategy::intent::IntentBuf;

const USD: i64 = 100_000_000;
const BTC: i64 = 61_800;

#[path = "../tests/common/market_fixture.rs"]
mod market_fixture;
use market_fixture::{record, trade, DOWN, MARKET, UP};

/// Takers alternate: even trade ids sell, odd ones buy.
fn taker(id: u64) -> TradeSide {
    if id % 2 == 0 {
        TradeSide::Sell
    } else {
        TradeSide::Buy
    }
}

fn books() -> MarketBooks {
    let mut books = MarketBooks::with_capacity(1);
    let m = books.add_market(MARKET, UP, DOWN, TickSize::Cent).unwrap();
    let (up, down) = MarketBooks::tokens_of(m);
    for t in [up, down] {
        books.begin_snapshot(t, None);
        for i in 0..5 {
            books
                .snapshot_level(t, BookSide::Bid, 490_000 - i * 10_000, 200_000_000)
                .unwrap();
            books
                .snapshot_level(t, BookSide::Ask, 510_000 + i * 10_000, 200_000_000)
                .unwrap();
        }
        books.finish_snapshot(t, 0, 0);
    }
    books
}

fn bench(c: &mut Criterion) {
    let cfg = Config::shipped().expect("shipped config");
    let params = SignalParams::from_config(&cfg.signals, Asset::Btc);
    let t0: u64 = 1_723_161_256_000 - 40 * 60_000;
    let start_ms = t0 + 40 * 60_000;
    let end_ms = start_ms + 300_000;
    let books = books();
    let (u, d) = MarketBooks::tokens_of(MarketIdx(0));
    let (up, down) = (books.book(u).unwrap(), books.book(d).unwrap());
    let mut signals = MarketSignals::new(1, params);
    signals.assign(
        MarketIdx(0),
        params,
        Window::Min5,
        start_ms,
        MarketInputs {
            end_ms,
            price_to_beat_e18: Some(i128::from(BTC) * 10i128.pow(18)),
            fee_rate_ppm: Some(72_000),
        },
    );
    let mut brain = TradingBrain::new(&cfg, 1, Arc::new(RiskShared::new()));
    let record = record(start_ms / 1000, end_ms / 1000);
    brain.on_market(MarketIdx(0), &record);
    let mut state = BinanceState::new(TradeSource::AggTrade);
    let positions = Positions::new(16);
    let mut out = IntentBuf::with_capacity(32, 16);
    let health = TickHealth {
        oracle_fresh: true,
        book_stale: false,
        book_age_ms: 10,
        oracle_age_ms: Some(100),
        available_collateral_micro: cfg.allocator.starting_capital_micro,
    };
    let mut id = 0u64;
    let mut ts = t0;
    let jitter = |id: u64| ((id * 7919) % 8_000) as i64 * USD / 100 - 40 * USD;
    // Warm ATR: 40 minutes of trades; then into the prime phase.
    while ts < start_ms + 150_000 {
        id += 1;
        ts += 250;
        state.apply(&trade(BTC * USD + jitter(id), ts, id, taker(id)));
    }
    let mut step = |px: i64,
                    state: &mut BinanceState,
                    signals: &mut MarketSignals,
                    brain: &mut TradingBrain,
                    out: &mut IntentBuf| {
        id += 1;
        ts += 1;
        state.apply(&trade(px, ts, id, taker(id)));
        let spot = state.get_mut(Venue::Spot, FeedAsset::Btc);
        signals.tick(
            MarketIdx(0),
            spot,
            up,
            down,
            health,
            &positions,
            ts,
            brain,
            out,
        );
        out.orders().len()
    };
    c.bench_function("decision/quiet", |b| {
        b.iter(|| {
            black_box(step(
                BTC * USD,
                &mut state,
                &mut signals,
                &mut brain,
                &mut out,
            ))
        })
    });
    let mut flip = false;
    c.bench_function("decision/quoting", |b| {
        b.iter(|| {
            flip = !flip;
            let px = BTC * USD + if flip { 40 * USD } else { -40 * USD };
            black_box(step(px, &mut state, &mut signals, &mut brain, &mut out))
        })
    });
    let f = brain.figures().expect("the brain keeps figures");
    let intents: u64 = f.strategies.iter().map(|s| s.intents).sum();
    assert!(
        intents > 0,
        "the quoting case produced no intent: it measured nothing"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
