//! Recorder benchmarks.
//!
//! * `record/tap_frame_then_pop_300b`: one `FrameTap::frame` call (header + 300-byte copy into
//!   the byte ring: the hot thread's cost per received frame when recording) followed by the
//!   consumer's `pop_into` on the same thread, so no cross-core cache traffic is included.
//! * `record/segment_write_300b`: the risk thread's cost per frame — one `SegmentWriter::write`
//!   of a recorded Binance trade frame into a gzip segment (fast compression) on the local disk.
//!
//! Run: `cargo bench --bench record -- --warm-up-time 2 --measurement-time 5`.

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use sattebaaz::config::{Config, SHIPPED_CONFIG_TOML};
use sattebaaz::record::segment::{SegmentLimits, SegmentWriter};
use sattebaaz::record::{start, ConnKind, RecordedConn};
use sattebaaz::runtime::pin::pin_current_thread;

/// A spot trade frame as Binance sends it, padded to 300 bytes.
fn frame() -> Vec<u8> {
    let mut f = br#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255208,"s":"BTCUSDT","t":3724461401,"p":"61837.63000000","q":"0.00162000","T":1723161255207,"m":true,"M":true}}"#.to_vec();
    f.resize(300, b' ');
    f
}

fn tap(c: &mut Criterion) {
    let cfg: Config = SHIPPED_CONFIG_TOML.parse().expect("shipped config");
    let dir = std::env::temp_dir().join(format!("sattebaaz-bench-tap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let conns = [RecordedConn {
        id: 0,
        kind: ConnKind::BinanceSpot,
        label: "binance spot".into(),
    }];
    let (mut tap, rec) = start(&cfg.record, &dir, &conns).expect("recorder");
    let mut ring = rec.take_ring_for_bench();
    let mut buf = Vec::with_capacity(4096);
    let f = frame();
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Bytes(f.len() as u64));
    let mut t = 0u64;
    // Same thread: the copy in and out without cross-core traffic (the ring never fills).
    g.bench_function("tap_frame_then_pop_300b", |b| {
        b.iter(|| {
            t += 1;
            tap.frame(0, black_box(t), black_box(&f));
            black_box(ring.pop_into(&mut buf));
        })
    });
    g.finish();
    assert_eq!(tap.dropped(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

fn segment(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("sattebaaz-bench-seg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let limits = SegmentLimits {
        max_segment_bytes: 64 << 20,
        max_segment_ns: u64::MAX,
    };
    let mut w = SegmentWriter::create(&dir, limits, &[(0, "binance-spot", "binance spot")])
        .expect("writer");
    let f = frame();
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Bytes(f.len() as u64));
    let mut t = 0u64;
    g.bench_function("segment_write_300b", |b| {
        b.iter(|| {
            t += 1_000;
            w.write(t, 0, black_box(&f)).expect("write");
        })
    });
    g.finish();
    let _ = w.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, tap, segment);

fn main() {
    eprintln!("[bench record] main: {}", pin_current_thread(0));
    benches();
    Criterion::default().configure_from_args().final_summary();
}
