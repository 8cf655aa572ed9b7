//! Market-channel frame → book updated, for the two hot shapes:
//! * `price_change` with 2 entries (both tokens of a market), target < 300 ns;
//! * a 20 + 20-level `book` snapshot, target < 2 µs.
//!
//! Frames are real-format (documented venue shape); the book is first filled from a snapshot so
//! the price changes hit a live book, and the two price_change frames alternate so every
//! iteration changes levels (and keeps the venue best bid/ask consistent, so no resync fires).

use criterion::{criterion_group, criterion_main, Criterion};
use sattebaaz::book::{MarketBooks, TickSize};
use sattebaaz::feeds::polymarket::{MarketChannelParser, ParserConfig};
use std::hint::black_box;

const UP: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const DOWN: &str = "52114319501245915516055106046884209969926127482827954674443846427813813222426";
const MARKET: &str = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1";

fn book_frame(asset: &str, mirror: bool) -> String {
    let mut bids = Vec::new();
    let mut asks = Vec::new();
    for i in 0..20 {
        let (b, a) = if mirror {
            (50 - i, 52 + i)
        } else {
            (48 - i, 50 + i)
        };
        bids.push(format!(
            r#"{{"price":"0.{b:02}","size":"{}.{:02}"}}"#,
            100 + i * 7,
            i
        ));
        asks.push(format!(
            r#"{{"price":"0.{a:02}","size":"{}.{:02}"}}"#,
            90 + i * 11,
            i
        ));
    }
    format!(
        r#"{{"event_type":"book","asset_id":"{asset}","market":"{MARKET}","bids":[{}],"asks":[{}],"timestamp":"1790586001234","hash":"0b4f4c3e9f2a1d7c5b6e8a9d0c1b2a3f4e5d6c7b"}}"#,
        bids.join(","),
        asks.join(",")
    )
}

fn price_change(up_bid_size: &str, down_ask_size: &str) -> String {
    format!(
        r#"{{"market":"{MARKET}","price_changes":[{{"asset_id":"{UP}","price":"0.48","size":"{up_bid_size}","side":"BUY","hash":"1895759e4df7a796bf4f1c5a5950b748306923e2","best_bid":"0.48","best_ask":"0.5"}},{{"asset_id":"{DOWN}","price":"0.52","size":"{down_ask_size}","side":"SELL","hash":"6a3f6b2e4c9d1f0a8b7e5d4c3b2a19f8e7d6c5b4","best_bid":"0.5","best_ask":"0.52"}}],"timestamp":"1790586001400","event_type":"price_change"}}"#
    )
}

fn bench(c: &mut Criterion) {
    let mut books = MarketBooks::with_capacity(16);
    books.add_market(MARKET, UP, DOWN, TickSize::Cent).unwrap();
    let mut parser = MarketChannelParser::new(ParserConfig::default());
    let up_book = book_frame(UP, false);
    let down_book = book_frame(DOWN, true);
    assert_eq!(
        parser
            .on_frame(up_book.as_bytes(), &mut books, 0, &mut ())
            .errors,
        0
    );
    assert_eq!(
        parser
            .on_frame(down_book.as_bytes(), &mut books, 0, &mut ())
            .errors,
        0
    );

    let pc_a = price_change("219.217767", "12");
    let pc_b = price_change("30", "45.5");
    for f in [&pc_a, &pc_b] {
        let s = parser.on_frame(f.as_bytes(), &mut books, 0, &mut ());
        assert_eq!(s.errors, 0);
        assert!(!s.resync_requested);
    }
    // In place on a reused buffer, as the WebSocket layer hands frames over.
    let mut buf_a = pc_a.clone().into_bytes();
    let mut buf_b = pc_b.clone().into_bytes();
    let mut work = Vec::with_capacity(4096);
    let mut flip = false;
    // Instruction counting (`valgrind --tool=callgrind`): with BENCH_COUNT_ITERS=N set, run each
    // hot path N times without criterion and exit; Ir(N) − Ir(0), divided by N, is the exact
    // instruction count per frame (see docs/BENCHMARKS.md).
    if let Some(n) = std::env::var("BENCH_COUNT_ITERS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        let which = std::env::var("BENCH_COUNT_PATH").unwrap_or_default();
        for _ in 0..n {
            if which == "book" {
                black_box(parser.on_frame(black_box(up_book.as_bytes()), &mut books, 2, &mut ()));
            } else {
                flip = !flip;
                let src = if flip { &mut buf_a } else { &mut buf_b };
                work.clear();
                work.extend_from_slice(src);
                black_box(parser.on_frame_in_place(&mut work, &mut books, 1, &mut ()));
            }
        }
        assert_eq!(books.counters().top_mismatches, 0);
        assert_eq!(parser.counters().errors, 0);
        std::process::exit(0);
    }
    c.bench_function("price_change_2_entries_to_book", |b| {
        b.iter(|| {
            flip = !flip;
            let src = if flip { &mut buf_a } else { &mut buf_b };
            work.clear();
            work.extend_from_slice(src);
            black_box(parser.on_frame_in_place(&mut work, &mut books, 1, &mut ()))
        })
    });
    c.bench_function("price_change_2_entries_to_book_copying", |b| {
        b.iter(|| {
            flip = !flip;
            let f = if flip {
                pc_a.as_bytes()
            } else {
                pc_b.as_bytes()
            };
            black_box(parser.on_frame(black_box(f), &mut books, 1, &mut ()))
        })
    });
    c.bench_function("book_20x20_to_book", |b| {
        b.iter(|| black_box(parser.on_frame(black_box(up_book.as_bytes()), &mut books, 2, &mut ())))
    });
    // The simd-json share alone (tape over reused buffers, no walk, no book update).
    let mut buffers = simd_json::Buffers::new(1 << 16);
    let mut tape = simd_json::Tape(Vec::with_capacity(4096));
    let mut scratch = Vec::with_capacity(1 << 16);
    for (name, frame) in [
        ("simd_json_tape_only_price_change", &pc_a),
        ("simd_json_tape_only_book_20x20", &up_book),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                scratch.clear();
                scratch.extend_from_slice(frame.as_bytes());
                let mut t = std::mem::replace(&mut tape, simd_json::Tape(Vec::new())).reset();
                let ok = simd_json::fill_tape(&mut scratch, &mut buffers, &mut t).is_ok();
                let n = t.0.len();
                tape = t.reset();
                black_box((ok, n))
            })
        });
    }
    // The fast scanner's share alone.
    let mut fast_tape: Vec<simd_json::Node<'static>> = Vec::with_capacity(4096);
    for (name, frame) in [
        ("fast_scan_only_price_change", &pc_a),
        ("fast_scan_only_book_20x20", &up_book),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let mut t = std::mem::take(&mut fast_tape);
                let mut t2: Vec<simd_json::Node<'_>> = simd_json::Tape(t).reset().0;
                let ok = sattebaaz::feeds::polymarket::fast_scan::scan(frame.as_bytes(), &mut t2);
                let n = t2.len();
                t = simd_json::Tape(t2).reset().0;
                fast_tape = t;
                black_box((ok, n))
            })
        });
    }
    assert_eq!(books.counters().top_mismatches, 0);
    assert_eq!(parser.counters().errors, 0);
    eprintln!(
        "frame sizes: price_change {} B, book {} B",
        pc_a.len(),
        up_book.len()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
