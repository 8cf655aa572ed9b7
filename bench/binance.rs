//! Binance hot path on recorded frames: frame bytes -> simd-json tape -> record -> per-asset
//! state (trade ring, candle, taker-flow windows; or best bid/ask).
//!
//! Frames are real lines from `../shared/data/replay/binance_ws_hftbacktest/` (embedded below
//! verbatim so the bench needs no data files). The `*_to_state` benches re-parse and re-apply the
//! same frame (same minute and bucket: the steady-state path); `trade_apply_only` steps trade
//! time forward 37 ms per call so candles roll and flow windows evict.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;

use sattebaaz::feeds::binance::{BinanceParser, BinanceState, Record, TradeSource, Venue};

const SPOT_TRADE: &[u8] = br#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;
const FUT_TRADE: &[u8] = br#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}"#;
const SPOT_BOOK: &[u8] = br#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#;
const FUT_BOOK: &[u8] = br#"{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}}"#;

fn bench(c: &mut Criterion) {
    // Instruction counting (`valgrind --tool=callgrind`): with BENCH_COUNT_ITERS=N set, run the
    // spot trade frame → state path N times without criterion and exit; Ir(N) − Ir(0), divided
    // by N, is the exact instruction count per frame (see docs/BENCHMARKS.md).
    if let Some(n) = std::env::var("BENCH_COUNT_ITERS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        let mut parser = BinanceParser::new(Venue::Spot);
        let mut state = BinanceState::new(TradeSource::Trade);
        for _ in 0..n {
            let rec = parser
                .parse(black_box(SPOT_TRADE), 1)
                .expect("recorded frame parses");
            black_box(state.apply(&rec));
        }
        std::process::exit(0);
    }
    let mut g = c.benchmark_group("binance");
    for (name, venue, frame) in [
        ("spot_trade_to_state", Venue::Spot, SPOT_TRADE),
        ("futures_trade_to_state", Venue::Futures, FUT_TRADE),
        ("spot_book_ticker_to_state", Venue::Spot, SPOT_BOOK),
        ("futures_book_ticker_to_state", Venue::Futures, FUT_BOOK),
    ] {
        let mut parser = BinanceParser::new(venue);
        let mut state = BinanceState::new(TradeSource::Trade);
        g.bench_function(name, |b| {
            b.iter(|| {
                let rec = parser
                    .parse(black_box(frame), 1)
                    .expect("recorded frame parses");
                black_box(state.apply(&rec))
            })
        });
    }
    // The same trade frame through the simd-json tape path only (scanner shortcut off).
    let mut parser = BinanceParser::new(Venue::Spot);
    parser.set_fast_path(false);
    let mut state = BinanceState::new(TradeSource::Trade);
    g.bench_function("spot_trade_to_state_tape_path", |b| {
        b.iter(|| {
            let rec = parser
                .parse(black_box(SPOT_TRADE), 1)
                .expect("recorded frame parses");
            black_box(state.apply(&rec))
        })
    });
    // Parse only, for the split between JSON and state.
    let mut parser = BinanceParser::new(Venue::Spot);
    g.bench_function("spot_trade_parse_only", |b| {
        b.iter(|| black_box(parser.parse(black_box(SPOT_TRADE), 1)))
    });
    // simd-json stage 1 + 2 alone on reused buffers (the floor under `parse_only`).
    let mut buffers = simd_json::Buffers::new(4096);
    let mut scratch = Vec::with_capacity(4096);
    let mut tape_vec: Vec<simd_json::Node<'static>> = Vec::with_capacity(4096);
    g.bench_function("spot_trade_simd_json_fill_tape_only", |b| {
        b.iter(|| {
            scratch.clear();
            scratch.extend_from_slice(black_box(SPOT_TRADE));
            let mut tape = simd_json::Tape(std::mem::take(&mut tape_vec)).reset();
            let ok = simd_json::fill_tape(&mut scratch, &mut buffers, &mut tape).is_ok();
            let n = tape.0.len();
            tape_vec = tape.reset().0;
            black_box((ok, n))
        })
    });
    // State only: a trade record stepping 37 ms per call, so candles roll and windows evict.
    let Ok(Record::Trade(t0)) = BinanceParser::new(Venue::Spot).parse(SPOT_TRADE, 1) else {
        panic!("spot trade frame")
    };
    let mut state = BinanceState::new(TradeSource::Trade);
    let mut ts = t0.exch_ts_ms;
    g.bench_function("trade_apply_only", |b| {
        b.iter_batched(
            || {
                ts += 37;
                Record::Trade(sattebaaz::feeds::binance::Trade {
                    exch_ts_ms: ts,
                    ..t0
                })
            },
            |rec| black_box(state.apply(&rec)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
