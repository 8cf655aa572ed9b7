//! Binance tick → all signals updated (issue 5's tick → signals leg; target for tick → signals
//! → strategy decision < 1 µs).
//!
//! Set-up: one BTC futures `AssetState` warmed with 40 minutes of trades (every indicator warm:
//! ATR(14), EMA(5/20), Bollinger(20) with its 100-width history, realised vol, momentum), one
//! market's Up/Down books with 5 levels a side, a price to beat. Each iteration:
//! * `trade_frame_parse_apply_and_signals` (runs first, at the frame's own time): the recorded
//!   futures trade frame parsed, applied and every signal updated (the same frame each time: the
//!   steady-state shape, same minute and flow bucket);
//! * `trade_apply_and_signals`: a new trade record (time +16 ms, so a candle closes every
//!   3 750 iterations and flow windows evict) → `AssetState::apply` → `SignalSet::update`;
//! * `signals_update_only`: `SignalSet::update` at +16 ms with no new trade.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

use sattebaaz::book::{BookSide, MarketBooks, MarketIdx, TickSize};
use sattebaaz::config::{Asset, Config};
use sattebaaz::feeds::binance::{
    Asset as FeedAsset, BinanceParser, BinanceState, Record, Side, Trade, TradeSource, Venue,
};
use sattebaaz::signals::{MarketInputs, SignalParams, SignalSet};

const FUT_TRADE: &[u8] = br#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}"#;
const UP: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const DOWN: &str = "52114319501245915516055106046884209969926127482827954674443846427813813222426";
const MARKET: &str = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1";
const USD: i64 = 100_000_000;

fn trade(px: i64, ts: u64, id: u64) -> Record {
    Record::Trade(Trade {
        asset: FeedAsset::Btc,
        venue: Venue::Futures,
        px,
        qty: 600_000,
        exch_ts_ms: ts,
        event_ts_ms: ts,
        recv_ns: 0,
        trade_id: id,
        taker_side: if id % 3 == 0 { Side::Sell } else { Side::Buy },
        is_market: true,
    })
}

/// A pseudo-random walk price (deterministic) around $61 800.
fn price(id: u64) -> i64 {
    let x = id
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    61_800 * USD + ((x >> 40) % 4_000) as i64 * USD / 100
}

fn bench(c: &mut Criterion) {
    let cfg = Config::shipped().expect("shipped config");
    let mut books = MarketBooks::with_capacity(1);
    let m = books.add_market(MARKET, UP, DOWN, TickSize::Cent).unwrap();
    let (up_t, down_t) = MarketBooks::tokens_of(m);
    for (t, bid, ask) in [(up_t, 470_000, 480_000), (down_t, 500_000, 510_000)] {
        books.begin_snapshot(t, None);
        for i in 0..5 {
            books
                .snapshot_level(t, BookSide::Bid, bid - i * 10_000, 50_000_000)
                .unwrap();
            books
                .snapshot_level(t, BookSide::Ask, ask + i * 10_000, 40_000_000)
                .unwrap();
        }
        books.finish_snapshot(t, 0, 0);
    }
    let (up_idx, down_idx) = MarketBooks::tokens_of(MarketIdx(0));
    let up = books.book(up_idx).unwrap();
    let down = books.book(down_idx).unwrap();

    let mut state = BinanceState::new(TradeSource::Trade);
    let mut set = SignalSet::new(SignalParams::from_config(&cfg.signals, Asset::Btc));
    // Warm up over the 40 minutes before the recorded frame's trade time.
    let frame_ts = 1_723_161_256_322u64;
    let t0 = frame_ts - 40 * 60_000;
    let market = MarketInputs {
        end_ms: u64::MAX,
        price_to_beat_e18: Some(61_800 * 10i128.pow(18)),
        fee_rate_ppm: Some(70_000),
    };
    let mut ts = t0;
    let mut id = 0u64;
    while ts + 250 < frame_ts {
        id += 1;
        ts += 250;
        state.apply(&trade(price(id), ts, id));
        set.update(
            state.get_mut(Venue::Futures, FeedAsset::Btc),
            up,
            down,
            &market,
            ts,
        );
    }
    let s = set.snapshot();
    assert!(s.atr_px.is_some() && s.ema_slow.is_some() && s.compression.rank_pct.is_some());
    assert!(s.fair_up.is_some() && s.arb.is_some() && s.momentum.score.is_some());

    ts = frame_ts;
    let mut g = c.benchmark_group("signals");
    let mut parser = BinanceParser::new(Venue::Futures);
    g.bench_function("trade_frame_parse_apply_and_signals", |b| {
        b.iter(|| {
            let rec = parser.parse(black_box(FUT_TRADE), 1).expect("frame parses");
            state.apply(&rec);
            let s = set.update(
                state.get_mut(Venue::Futures, FeedAsset::Btc),
                up,
                down,
                &market,
                frame_ts,
            );
            black_box(s.bias.score)
        })
    });
    g.bench_function("trade_apply_and_signals", |b| {
        b.iter(|| {
            id += 1;
            ts += 16;
            let rec = trade(price(id), ts, id);
            state.apply(black_box(&rec));
            let s = set.update(
                state.get_mut(Venue::Futures, FeedAsset::Btc),
                up,
                down,
                &market,
                ts,
            );
            black_box(s.bias.score)
        })
    });
    g.bench_function("signals_update_only", |b| {
        b.iter(|| {
            ts += 16;
            let s = set.update(
                state.get_mut(Venue::Futures, FeedAsset::Btc),
                up,
                down,
                &market,
                ts,
            );
            black_box(s.bias.score)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
