//! The raw-frame recorder: frames through the hot thread's tap and the byte ring into gzip
//! segments rotated by size and by time, the index (connections, segments, seek points), reading
//! back in order, seeking, discovery lines, ring-full drops, and damaged recordings read without
//! a panic.

use std::path::PathBuf;

use sattebaaz::config::{RecordConfig, SHIPPED_CONFIG_TOML};
use sattebaaz::discovery::gamma::Outcome;
use sattebaaz::discovery::{DiscoveryMsg, MarketIdx};
use sattebaaz::record::reader::{RecordingIndex, RecordingReader};
use sattebaaz::record::segment::{SegmentLimits, SegmentWriter, SEEK_EVERY_BYTES};
use sattebaaz::record::{start, ConnKind, RecordedConn, DISCOVERY_CONN};

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sattebaaz-recorder-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A frame whose bytes depend on `i` (poorly compressible, so sizes grow predictably).
fn frame(i: u64, len: usize) -> Vec<u8> {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn conns() -> Vec<(u16, &'static str, &'static str)> {
    vec![
        (0, "binance-spot", "binance spot"),
        (3, "rtds", "polymarket rtds"),
    ]
}

#[test]
fn rotates_by_size_and_reads_back_every_frame_in_order() {
    let dir = tmp("size");
    let limits = SegmentLimits {
        max_segment_bytes: 200_000,
        max_segment_ns: u64::MAX,
    };
    let mut w = SegmentWriter::create(&dir, limits, &conns()).unwrap();
    let n = 2_000u64;
    for i in 0..n {
        w.write(1_000 + i * 1_000, (i % 2 * 3) as u16, &frame(i, 500))
            .unwrap();
    }
    let stats = w.finish().unwrap();
    assert_eq!(stats.frames, n);
    // ~1 MB of incompressible bytes in segments of at most ~200 kB (+ one record).
    assert!(stats.segments >= 4, "{stats:?}");
    let idx = RecordingIndex::load(&dir).unwrap();
    assert_eq!(idx.bad_lines, 0);
    assert_eq!(idx.conns.len(), 2);
    assert_eq!(idx.kind_of(3), Some(ConnKind::Rtds));
    assert_eq!(idx.conns[0].label, "binance spot");
    assert_eq!(idx.segments.len() as u64, stats.segments);
    let mut frames_listed = 0;
    let mut prev_last = 0;
    for s in &idx.segments {
        let (first, last, frames, bytes) = (
            s.first_ns.unwrap(),
            s.last_ns.unwrap(),
            s.frames.unwrap(),
            s.bytes.unwrap(),
        );
        assert!(first > prev_last && last >= first);
        prev_last = last;
        frames_listed += frames;
        let on_disk = std::fs::metadata(dir.join(&s.name)).unwrap().len();
        assert_eq!(on_disk, bytes, "{}", s.name);
        // Rotation happens at the first record after the limit.
        assert!(bytes < 200_000 + 64 * 1024, "{} is {bytes} bytes", s.name);
    }
    assert_eq!(frames_listed, n);
    let mut r = RecordingReader::open(&dir).unwrap();
    for i in 0..n {
        let f = r.next_frame().unwrap();
        assert_eq!(f.recv_ns, 1_000 + i * 1_000);
        assert_eq!(f.conn, (i % 2 * 3) as u16);
        assert_eq!(f.payload, frame(i, 500));
    }
    assert!(r.next_frame().is_none());
    assert_eq!(r.errors, 0);
    // A second recording into the same directory is refused (it would mix two runs).
    assert!(SegmentWriter::create(&dir, limits, &conns()).is_err());
}

#[test]
fn rotates_by_time() {
    let dir = tmp("time");
    let limits = SegmentLimits {
        max_segment_bytes: u64::MAX,
        max_segment_ns: 10_000_000_000,
    };
    let mut w = SegmentWriter::create(&dir, limits, &conns()).unwrap();
    // One frame per second for 35 s: segments [0,10), [10,20), [20,30), [30,35).
    for s in 0..35u64 {
        w.write(s * 1_000_000_000, 0, b"{}").unwrap();
    }
    assert_eq!(w.finish().unwrap().segments, 4);
    let idx = RecordingIndex::load(&dir).unwrap();
    let spans: Vec<(u64, u64, u64)> = idx
        .segments
        .iter()
        .map(|s| {
            (
                s.first_ns.unwrap() / 1_000_000_000,
                s.last_ns.unwrap() / 1_000_000_000,
                s.frames.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        vec![(0, 9, 10), (10, 19, 10), (20, 29, 10), (30, 34, 5)]
    );
}

#[test]
fn seek_points_let_a_reader_start_mid_segment() {
    let dir = tmp("seek");
    let limits = SegmentLimits {
        max_segment_bytes: u64::MAX,
        max_segment_ns: u64::MAX,
    };
    let mut w = SegmentWriter::create(&dir, limits, &conns()).unwrap();
    // 4 MB raw: four seek points after the segment's start.
    let n = 4 * SEEK_EVERY_BYTES / 1_000;
    for i in 0..n {
        w.write(i * 10, 0, &frame(i, 1_000 - 14)).unwrap();
    }
    let stats = w.finish().unwrap();
    assert_eq!(stats.segments, 1);
    assert!(stats.seek_points >= 4, "{stats:?}");
    let idx = RecordingIndex::load(&dir).unwrap();
    let seeks = &idx.segments[0].seeks;
    assert_eq!(seeks[0].offset, 0);
    assert!(seeks
        .windows(2)
        .all(|p| p[0].offset < p[1].offset && p[0].frame < p[1].frame));
    // Each seek point's frame number matches its first receive time.
    for p in seeks {
        assert_eq!(p.first_ns, p.frame * 10);
    }
    let target = seeks[2].first_ns + 55;
    let mut r = RecordingReader::open(&dir).unwrap();
    let (name, offset) = r.seek(target).unwrap();
    assert_eq!(name, idx.segments[0].name);
    assert_eq!(offset, seeks[2].offset);
    let first = r.next_frame().unwrap();
    assert_eq!(first.recv_ns, target.div_ceil(10) * 10);
    assert_eq!(first.payload, frame(first.recv_ns / 10, 1_000 - 14));
    let mut count = 1;
    while r.next_frame().is_some() {
        count += 1;
    }
    assert_eq!(count, n - first.recv_ns / 10);
    assert_eq!(r.errors, 0);
}

fn record_config(ring_bytes: u64) -> RecordConfig {
    let cfg: sattebaaz::config::Config = SHIPPED_CONFIG_TOML.parse().unwrap();
    RecordConfig {
        enabled: true,
        ring_bytes,
        ..cfg.record
    }
}

#[test]
fn tap_ring_and_recorder_carry_frames_and_discovery_to_disk() {
    let dir = tmp("tap");
    let conns = vec![
        RecordedConn {
            id: 0,
            kind: ConnKind::BinanceSpot,
            label: "binance spot".into(),
        },
        RecordedConn {
            id: 1,
            kind: ConnKind::PolyMarket,
            label: "polymarket market".into(),
        },
    ];
    let (mut tap, mut rec) = start(&record_config(1 << 16), &dir, &conns).unwrap();
    let t0 = sattebaaz::clock::mono_ns();
    for i in 0..100u64 {
        tap.frame((i % 2) as u16, t0 + i, format!("frame {i}").as_bytes());
        if i % 10 == 9 {
            assert!(rec.drain(usize::MAX) > 0);
        }
    }
    rec.discovery(&DiscoveryMsg::MarketResolved {
        idx: MarketIdx(4),
        winner: Outcome::Up,
    });
    let stats = rec.finish();
    assert_eq!(stats.writer.frames, 101);
    assert_eq!(stats.discovery, 1);
    assert_eq!(stats.ring_dropped, 0);
    assert_eq!(stats.write_errors, 0);
    let mut r = RecordingReader::open(&dir).unwrap();
    assert_eq!(r.index.kind_of(DISCOVERY_CONN), Some(ConnKind::Discovery));
    let wall = sattebaaz::clock::wall_ns();
    let mut prev = 0;
    for i in 0..100u64 {
        let f = r.next_frame().unwrap();
        assert_eq!(f.payload, format!("frame {i}").as_bytes());
        assert_eq!(f.conn, (i % 2) as u16);
        // Unix time, close to now, in receive order.
        assert!(f.recv_ns > prev && f.recv_ns <= wall && wall - f.recv_ns < 60_000_000_000);
        prev = f.recv_ns;
    }
    let d = r.next_frame().unwrap();
    assert_eq!(d.conn, DISCOVERY_CONN);
    assert_eq!(d.payload, b"resolved 4 up");
    assert!(r.next_frame().is_none());
}

#[test]
fn a_full_ring_drops_frames_and_counts_them() {
    let dir = tmp("full");
    let conns = vec![RecordedConn {
        id: 0,
        kind: ConnKind::BinanceSpot,
        label: "binance spot".into(),
    }];
    // 1 KiB ring, nothing drained: 100-byte frames (114 with the header) fit 8 times.
    let (mut tap, rec) = start(&record_config(1_024), &dir, &conns).unwrap();
    for i in 0..20u64 {
        tap.frame(0, i, &[b'x'; 100]);
    }
    assert_eq!(tap.dropped(), 12);
    let stats = rec.finish();
    assert_eq!(stats.ring_dropped, 12);
    assert_eq!(stats.ring_dropped_bytes, 12 * 114);
    assert_eq!(stats.writer.frames, 8);
}

#[test]
fn damaged_recordings_are_read_without_panicking() {
    let dir = tmp("damaged");
    let limits = SegmentLimits {
        max_segment_bytes: 50_000,
        max_segment_ns: u64::MAX,
    };
    let mut w = SegmentWriter::create(&dir, limits, &conns()).unwrap();
    for i in 0..400u64 {
        w.write(i, 0, &frame(i, 400)).unwrap();
    }
    w.finish().unwrap();
    let idx = RecordingIndex::load(&dir).unwrap();
    assert!(idx.segments.len() >= 3);
    // Truncate the first segment and delete the second.
    let first = dir.join(&idx.segments[0].name);
    let len = std::fs::metadata(&first).unwrap().len();
    let bytes = std::fs::read(&first).unwrap();
    std::fs::write(&first, &bytes[..(len / 2) as usize]).unwrap();
    std::fs::remove_file(dir.join(&idx.segments[1].name)).unwrap();
    // And add garbage lines to the index.
    let mut text = std::fs::read_to_string(dir.join("index.txt")).unwrap();
    text.push_str("seek nowhere x y z\nconn 9 teleport x\nopen ../../etc\n");
    std::fs::write(dir.join("index.txt"), text).unwrap();
    let mut r = RecordingReader::open(&dir).unwrap();
    assert_eq!(r.index.bad_lines, 3);
    let mut got = Vec::new();
    while let Some(f) = r.next_frame() {
        got.push(f.recv_ns);
    }
    assert_eq!(r.errors, 2, "a truncated and a missing segment");
    // Whatever was read is intact and in order; the later segments are all there.
    assert!(got.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(got.last(), Some(&399));
    // Not a recording at all.
    let empty = tmp("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(RecordingReader::open(&empty).is_err());
}

#[test]
fn record_config_errors_name_the_key() {
    let errors = |from: &str, to: &str| -> Vec<String> {
        let text = SHIPPED_CONFIG_TOML.replacen(from, to, 1);
        assert_ne!(
            text, SHIPPED_CONFIG_TOML,
            "the shipped [record] keys changed"
        );
        match text.parse::<sattebaaz::config::Config>() {
            Ok(_) => panic!("{to}: config unexpectedly valid"),
            Err(e) => e.errors().iter().map(|e| e.path.clone()).collect(),
        }
    };
    assert_eq!(
        errors("ring_bytes = 16777216", "ring_bytes = 10"),
        ["record.ring_bytes"]
    );
    assert_eq!(
        errors("max_segment_secs = 3600", "max_segment_secs = 0"),
        ["record.max_segment_secs"]
    );
    assert_eq!(
        errors("max_segment_bytes = 67108864", "max_segment_bytes = 10"),
        ["record.max_segment_bytes"]
    );
    assert_eq!(
        errors(
            "enabled = false\ndir = \"out/record\"",
            "enabled = true\ndir = \"\""
        ),
        ["record.dir"]
    );
    assert_eq!(
        errors("ring_bytes = 16777216", "ring_bytes = 16777216\ncolour = 1"),
        ["record.colour"]
    );
}
