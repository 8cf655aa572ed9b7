//! The recorder: every raw inbound feed frame with its local receive time (Unix ns) and
//! connection id, plus the discovery messages the engine acted on, written to rotating gzip
//! segments with a seekable index (`segment`), read back by `reader` for replay.
//!
//! Split across the two threads: the hot thread holds a [`FrameTap`] and makes one call per
//! received frame, which copies the bytes into a preallocated lock-free byte ring
//! (`queue::byte_ring`; a full ring drops the frame and counts, never blocks or allocates); the
//! risk/telemetry thread holds the [`Recorder`], which drains the ring into the segment writer
//! (compression and file I/O happen only there) and writes discovery messages itself, after
//! draining, so they land in the file before any frame of the market they announce. The
//! start-up candle warm-up is written too (`warmup_text`), before the threads start. A trading
//! run also journals every call into its decider (`journal`) through a second ring.
//!
//! Invariants: receive times are Unix ns (the hot thread's monotonic receive time plus the
//! wall-clock offset taken once at start-up); a write error stops recording (counted), never the
//! engine.

pub mod discovery_text;
pub mod journal;
pub mod reader;
pub mod segment;
pub mod warmup_text;

use std::path::{Path, PathBuf};

use self::segment::{SegmentLimits, SegmentWriter, WriterStats};
use crate::config::RecordConfig;
use crate::discovery::DiscoveryMsg;
use crate::queue::byte_ring::{byte_ring, ByteConsumer, ByteProducer};

/// Connection id of the discovery messages in a recording.
pub const DISCOVERY_CONN: u16 = u16::MAX;
/// Connection id of the start-up candle warm-up in a recording.
pub const WARMUP_CONN: u16 = u16::MAX - 1;

/// What a recorded connection carries (decides the parser on replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConnKind {
    /// Binance spot combined stream.
    BinanceSpot,
    /// Binance USD-M futures combined stream.
    BinanceFutures,
    /// Polymarket CLOB market channel.
    PolyMarket,
    /// Polymarket real-time data socket (Chainlink oracle).
    Rtds,
    /// Discovery messages ([`discovery_text`]).
    Discovery,
    /// The start-up candle warm-up, one record per asset ([`warmup_text`]).
    Warmup,
    /// The decision journal of a trading run ([`journal`]).
    Journal,
}

impl ConnKind {
    /// Name in the index.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnKind::BinanceSpot => "binance-spot",
            ConnKind::BinanceFutures => "binance-futures",
            ConnKind::PolyMarket => "polymarket-market",
            ConnKind::Rtds => "rtds",
            ConnKind::Discovery => "discovery",
            ConnKind::Warmup => "warmup",
            ConnKind::Journal => "journal",
        }
    }

    /// Inverse of [`ConnKind::as_str`].
    pub fn parse(s: &str) -> Option<ConnKind> {
        [
            ConnKind::BinanceSpot,
            ConnKind::BinanceFutures,
            ConnKind::PolyMarket,
            ConnKind::Rtds,
            ConnKind::Discovery,
            ConnKind::Warmup,
            ConnKind::Journal,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One recorded connection: id (the hot loop's connection index), kind, label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedConn {
    pub id: u16,
    pub kind: ConnKind,
    pub label: String,
}

/// The hot thread's half: one call per received frame.
pub struct FrameTap {
    ring: ByteProducer,
    /// Unix ns minus monotonic ns, taken at start-up.
    wall_offset_ns: i128,
}

impl FrameTap {
    /// Copy one frame received at monotonic `recv_mono_ns` on connection `conn` into the ring
    /// (dropped and counted when the ring is full).
    #[inline]
    pub fn frame(&mut self, conn: u16, recv_mono_ns: u64, payload: &[u8]) {
        let unix = (i128::from(recv_mono_ns) + self.wall_offset_ns).max(0) as u64;
        let _ = self.ring.push(unix, conn, payload);
    }

    /// Frames dropped because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.ring.dropped()
    }
}

/// Why recording could not start.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("record.ring_bytes: {0}")]
    Ring(#[from] crate::queue::byte_ring::ByteRingError),
    #[error("creating the recording in {dir}: {source}")]
    Create {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// What a recording ended with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordStats {
    pub dir: PathBuf,
    pub writer: WriterStats,
    /// Frames the hot thread could not queue (ring full) and their bytes.
    pub ring_dropped: u64,
    pub ring_dropped_bytes: u64,
    /// Discovery messages written.
    pub discovery: u64,
    /// Warm-up histories written.
    pub warmup: u64,
    /// Decision journal entries written, and dropped because their ring was full.
    pub journal: u64,
    pub journal_dropped: u64,
    /// Write errors (the first one stops recording).
    pub write_errors: u64,
    pub last_error: Option<String>,
}

/// The risk thread's half: drains the ring into segment files.
pub struct Recorder {
    ring: ByteConsumer,
    /// The decision journal's ring, once [`Recorder::journal_tap`] made it.
    journal: Option<ByteConsumer>,
    /// Unix ns minus monotonic ns (shared with the taps).
    wall_offset_ns: i128,
    ring_bytes: usize,
    writer: Option<SegmentWriter>,
    buf: Vec<u8>,
    stats: RecordStats,
}

/// Start a recording in `dir` with `cfg`'s limits over connections `conns`: the hot thread's
/// tap and the risk thread's recorder.
pub fn start(
    cfg: &RecordConfig,
    dir: &Path,
    conns: &[RecordedConn],
) -> Result<(FrameTap, Recorder), RecordError> {
    let (producer, consumer) = byte_ring(cfg.ring_bytes as usize)?;
    let mut listed: Vec<(u16, &str, &str)> = conns
        .iter()
        .map(|c| (c.id, c.kind.as_str(), c.label.as_str()))
        .collect();
    listed.push((DISCOVERY_CONN, ConnKind::Discovery.as_str(), "discovery"));
    listed.push((WARMUP_CONN, ConnKind::Warmup.as_str(), "candle warm-up"));
    listed.push((
        journal::JOURNAL_CONN,
        ConnKind::Journal.as_str(),
        "decision journal",
    ));
    let writer = SegmentWriter::create(
        dir,
        SegmentLimits {
            max_segment_bytes: cfg.max_segment_bytes,
            max_segment_ns: u64::from(cfg.max_segment_secs) * 1_000_000_000,
        },
        &listed,
    )
    .map_err(|source| RecordError::Create {
        dir: dir.to_path_buf(),
        source,
    })?;
    let wall = i128::from(crate::clock::wall_ns());
    let mono = i128::from(crate::clock::mono_ns());
    Ok((
        FrameTap {
            ring: producer,
            wall_offset_ns: wall - mono,
        },
        Recorder {
            ring: consumer,
            journal: None,
            wall_offset_ns: wall - mono,
            ring_bytes: cfg.ring_bytes as usize,
            writer: Some(writer),
            buf: Vec::with_capacity(64 * 1024),
            stats: RecordStats {
                dir: dir.to_path_buf(),
                ..RecordStats::default()
            },
        },
    ))
}

impl Recorder {
    fn fail(&mut self, e: std::io::Error) {
        self.stats.write_errors += 1;
        self.stats.last_error = Some(e.to_string());
        // Stop writing; the ring keeps being drained so the hot thread never sees it full.
        self.writer = None;
    }

    /// A second tap, on a ring of its own (`record.ring_bytes`), for the decision journal
    /// ([`journal::JournaledDecider`]); its records are written with the frames' (a replay
    /// orders them by receive time).
    pub fn journal_tap(&mut self) -> Result<FrameTap, RecordError> {
        let (producer, consumer) = byte_ring(self.ring_bytes)?;
        self.journal = Some(consumer);
        Ok(FrameTap {
            ring: producer,
            wall_offset_ns: self.wall_offset_ns,
        })
    }

    /// Write up to `max` queued frames, then up to `max` journal entries. Returns how many
    /// were taken from the rings.
    pub fn drain(&mut self, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(head) = self.ring.pop_into(&mut self.buf) else {
                break;
            };
            n += 1;
            if let Some(w) = self.writer.as_mut() {
                if let Err(e) = w.write(head.recv_ns, head.conn, &self.buf) {
                    self.fail(e);
                }
            }
        }
        let mut j = 0;
        while j < max {
            let Some(ring) = self.journal.as_mut() else {
                break;
            };
            let Some(head) = ring.pop_into(&mut self.buf) else {
                break;
            };
            j += 1;
            self.stats.journal += 1;
            if let Some(w) = self.writer.as_mut() {
                if let Err(e) = w.write(head.recv_ns, head.conn, &self.buf) {
                    self.fail(e);
                }
            }
        }
        n + j
    }

    /// Record a discovery message the engine is about to act on (after draining the ring).
    pub fn discovery(&mut self, msg: &DiscoveryMsg) {
        self.drain(usize::MAX);
        let line = discovery_text::encode(msg);
        if let Some(w) = self.writer.as_mut() {
            match w.write(crate::clock::wall_ns(), DISCOVERY_CONN, line.as_bytes()) {
                Ok(()) => self.stats.discovery += 1,
                Err(e) => self.fail(e),
            }
        }
    }

    /// Record the start-up candle warm-up (before the hot thread starts), one record per
    /// asset.
    pub fn warmup(&mut self, histories: &[crate::feeds::binance::warmup::AssetHistory]) {
        let now = crate::clock::wall_ns();
        for h in histories {
            let text = warmup_text::encode(h);
            if let Some(w) = self.writer.as_mut() {
                match w.write(now, WARMUP_CONN, text.as_bytes()) {
                    Ok(()) => self.stats.warmup += 1,
                    Err(e) => self.fail(e),
                }
            }
        }
    }

    /// The ring's consumer without the writer (benchmarks measure the hot side alone); the
    /// recording directory keeps only its index.
    pub fn take_ring_for_bench(self) -> ByteConsumer {
        self.ring
    }

    /// Drain what is left, close the last segment, return the counters.
    pub fn finish(mut self) -> RecordStats {
        self.drain(usize::MAX);
        self.stats.ring_dropped = self.ring.dropped();
        self.stats.ring_dropped_bytes = self.ring.dropped_bytes();
        if let Some(j) = &self.journal {
            self.stats.journal_dropped = j.dropped();
        }
        if let Some(w) = self.writer.take() {
            let stats = w.stats();
            match w.finish() {
                Ok(s) => self.stats.writer = s,
                Err(e) => {
                    self.stats.writer = stats;
                    self.stats.write_errors += 1;
                    self.stats.last_error = Some(e.to_string());
                }
            }
        }
        self.stats
    }
}
