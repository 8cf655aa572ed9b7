//! Per-stage latency histograms in nanoseconds, recorded without allocation and dumped on
//! shutdown in HdrHistogram's percentile-distribution (`.hgrm`) text format.
//!
//! Invariants:
//! * Every stage has one `hdrhistogram::Histogram<u64>` with fixed bounds
//!   [`LOWEST_NS`]..=[`HIGHEST_NS`] and [`SIGFIG`] significant digits; auto-resize is off, so
//!   [`StageHistograms::record`] is O(1) and never allocates. Values above [`HIGHEST_NS`] are
//!   recorded as [`HIGHEST_NS`] and counted per stage ([`StageHistograms::clamped`]).
//! * [`Stage`] codes are the enum's declaration order (`0..Stage::COUNT`); new stages are appended
//!   at the end of the `stages!` list. A stage's file-name slug never changes.
//! * [`LatencySample`] is a `Copy` POD for shipping samples from the hot thread to the telemetry
//!   thread over `queue::spsc`; an unknown stage code is counted, never a panic.
//! * Dumping and the summary table allocate and do I/O: shutdown / telemetry thread only.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

/// Lowest discernible value, ns.
pub const LOWEST_NS: u64 = 1;
/// Highest trackable value, ns (60 s). Larger values are clamped to this and counted.
pub const HIGHEST_NS: u64 = 60_000_000_000;
/// Significant decimal digits kept by every histogram.
pub const SIGFIG: u8 = 3;
/// Dumped `.hgrm` values are in microseconds: recorded nanoseconds divided by this ratio
/// (HdrHistogram's `outputValueUnitRatio`).
pub const DUMP_UNIT_RATIO: f64 = 1000.0;
/// Percentile ticks per half distance in the dump (HdrHistogram's default is 5).
pub const DUMP_TICKS_PER_HALF_DISTANCE: u32 = 5;
/// File-name suffix of a dump: `<slug>` + this. States the value unit (microseconds).
pub const DUMP_FILE_SUFFIX: &str = "_us.hgrm";

/// Declares [`Stage`] with its stable slugs. Append new stages at the end.
macro_rules! stages {
    ($( $(#[$doc:meta])* $variant:ident => $slug:literal, )+) => {
        /// A measured span of the pipeline. The `u8` code is the declaration index.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Stage {
            $( $(#[$doc])* $variant, )+
        }

        impl Stage {
            /// Every stage, in code order (`ALL[i] as u8 == i`).
            pub const ALL: &'static [Stage] = &[$(Stage::$variant,)+];
            /// Number of stages.
            pub const COUNT: usize = Self::ALL.len();

            /// Stable lower-case name used in dump file names and tables.
            pub const fn slug(self) -> &'static str {
                match self {
                    $(Stage::$variant => $slug,)+
                }
            }
        }
    };
}

stages! {
    /// Socket readable (frame bytes read) -> frame decoded.
    SocketToDecode => "socket_to_decode",
    /// Frame decoded -> order book updated.
    DecodeToBook => "decode_to_book",
    /// Book updated -> signal computed.
    BookToSignal => "book_to_signal",
    /// Signal computed -> trading decision taken.
    SignalToDecision => "signal_to_decision",
    /// Decision -> last request byte written to the socket.
    DecisionToWire => "decision_to_wire",
    /// Market-data bytes read -> order bytes written (the whole in-process path).
    WireToWire => "wire_to_wire",
    /// REST request written -> full response read.
    RestRoundTrip => "rest_round_trip",
    /// Order written -> venue acknowledgement read.
    OrderToAck => "order_to_ack",
    /// One hop across an SPSC queue between threads.
    SpscHop => "spsc_hop",
    /// One iteration of the hot event loop.
    LoopIteration => "loop_iteration",
    /// `POST /order` written -> response read.
    RestPostOrder => "rest_post_order",
    /// `POST /orders` (batch) written -> response read.
    RestPostOrders => "rest_post_orders",
    /// A cancel (`DELETE /order`, `/orders`, `/cancel-all`, ...) written -> response read.
    RestCancel => "rest_cancel",
    /// `GET /data/order/<id>` (reconciliation) written -> response read.
    RestGetOrder => "rest_get_order",
}

impl Stage {
    /// The stage with code `code`, if there is one.
    #[inline]
    pub fn from_code(code: u8) -> Option<Stage> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// This stage's `u8` code.
    #[inline]
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// File name of this stage's dump.
    pub fn dump_file_name(self) -> String {
        format!("{}{}", self.slug(), DUMP_FILE_SUFFIX)
    }
}

/// One latency measurement, small and `Copy` for SPSC transport.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencySample {
    /// [`Stage::code`].
    pub stage: u8,
    /// Duration in nanoseconds.
    pub nanos: u64,
}

impl LatencySample {
    /// Sample of `nanos` for `stage`.
    #[inline]
    pub const fn new(stage: Stage, nanos: u64) -> Self {
        Self {
            stage: stage.code(),
            nanos,
        }
    }
}

/// Errors from merging or dumping.
#[derive(Debug, thiserror::Error)]
pub enum LatencyError {
    /// Two histograms of one stage could not be added (they have different bounds).
    #[error("cannot merge histograms of stage {stage}: {source}")]
    Merge {
        /// Stage slug.
        stage: &'static str,
        /// hdrhistogram's reason.
        source: hdrhistogram::AdditionError,
    },
    /// Writing a dump failed.
    #[error("cannot write latency dump {path}: {source}")]
    Io {
        /// File or directory that failed.
        path: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
}

/// One fixed-bounds histogram per [`Stage`], plus per-stage clamp counts.
#[derive(Debug, Clone)]
pub struct StageHistograms {
    histograms: [Histogram<u64>; Stage::COUNT],
    clamped: [u64; Stage::COUNT],
    invalid_samples: u64,
}

impl Default for StageHistograms {
    fn default() -> Self {
        Self::new()
    }
}

/// A histogram with the crate's fixed bounds and auto-resize off.
pub fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds (low >= 1, high >= 2 * low, sigfig <= 5): construction cannot fail;
    // the `constant_bounds_are_valid` test exercises it.
    let mut histogram = Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, SIGFIG)
        .expect("constant histogram bounds are valid");
    histogram.auto(false);
    histogram
}

impl StageHistograms {
    /// Allocate all histograms (about 200 KiB each). Call at start-up, not on the hot path.
    pub fn new() -> Self {
        Self {
            histograms: std::array::from_fn(|_| new_histogram()),
            clamped: [0; Stage::COUNT],
            invalid_samples: 0,
        }
    }

    /// Record `nanos` for `stage`. O(1), never allocates; values above [`HIGHEST_NS`] are
    /// recorded as [`HIGHEST_NS`] and counted in [`Self::clamped`].
    #[inline]
    pub fn record(&mut self, stage: Stage, nanos: u64) {
        let index = stage as usize;
        let value = if nanos > HIGHEST_NS {
            self.clamped[index] += 1;
            HIGHEST_NS
        } else {
            nanos
        };
        // `value` is within the fixed bounds, so this never clamps again or resizes.
        self.histograms[index].saturating_record(value);
    }

    /// Record a shipped sample; returns false (and counts it) if its stage code is unknown.
    #[inline]
    pub fn record_sample(&mut self, sample: LatencySample) -> bool {
        match Stage::from_code(sample.stage) {
            Some(stage) => {
                self.record(stage, sample.nanos);
                true
            }
            None => {
                self.invalid_samples += 1;
                false
            }
        }
    }

    /// The histogram of `stage` (values in ns).
    pub fn histogram(&self, stage: Stage) -> &Histogram<u64> {
        &self.histograms[stage as usize]
    }

    /// Samples of `stage` that exceeded [`HIGHEST_NS`] and were clamped.
    pub fn clamped(&self, stage: Stage) -> u64 {
        self.clamped[stage as usize]
    }

    /// Shipped samples dropped because their stage code was unknown.
    pub fn invalid_samples(&self) -> u64 {
        self.invalid_samples
    }

    /// Add every stage of `other` into `self` (e.g. per-thread histograms at shutdown).
    pub fn merge(&mut self, other: &StageHistograms) -> Result<(), LatencyError> {
        for stage in Stage::ALL {
            let index = *stage as usize;
            self.histograms[index]
                .add(&other.histograms[index])
                .map_err(|source| LatencyError::Merge {
                    stage: stage.slug(),
                    source,
                })?;
            self.clamped[index] += other.clamped[index];
        }
        self.invalid_samples += other.invalid_samples;
        Ok(())
    }

    /// Clear all samples and counters (keeps the allocations).
    pub fn reset(&mut self) {
        for histogram in &mut self.histograms {
            histogram.reset();
        }
        self.clamped = [0; Stage::COUNT];
        self.invalid_samples = 0;
    }

    /// Write one `.hgrm` file per stage into `dir` (created if missing), named
    /// [`Stage::dump_file_name`] (values in microseconds). Returns the files written.
    pub fn dump(&self, dir: &Path) -> Result<Vec<PathBuf>, LatencyError> {
        fs::create_dir_all(dir).map_err(|source| LatencyError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut written = Vec::with_capacity(Stage::COUNT);
        for stage in Stage::ALL {
            let path = dir.join(stage.dump_file_name());
            let io_error = |source| LatencyError::Io {
                path: path.clone(),
                source,
            };
            let file = fs::File::create(&path).map_err(io_error)?;
            let mut out = BufWriter::new(file);
            write_percentile_distribution(
                self.histogram(*stage),
                &mut out,
                DUMP_TICKS_PER_HALF_DISTANCE,
                DUMP_UNIT_RATIO,
            )
            .map_err(io_error)?;
            out.flush().map_err(io_error)?;
            written.push(path);
        }
        Ok(written)
    }

    /// Table of count, p50/p90/p99/p99.9/max (microseconds) and clamp count per stage.
    pub fn summary_table(&self) -> String {
        let mut table = String::new();
        let _ = writeln!(
            table,
            "{:<20} {:>10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>8}",
            "stage", "count", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us", "clamped"
        );
        for stage in Stage::ALL {
            let histogram = self.histogram(*stage);
            let _ = write!(table, "{:<20} {:>10}", stage.slug(), histogram.len());
            if histogram.is_empty() {
                let _ = write!(
                    table,
                    " {:>12} {:>12} {:>12} {:>12} {:>12}",
                    "-", "-", "-", "-", "-"
                );
            } else {
                for quantile in [0.5, 0.9, 0.99, 0.999] {
                    let micros = histogram.value_at_quantile(quantile) as f64 / DUMP_UNIT_RATIO;
                    let _ = write!(table, " {micros:>12.3}");
                }
                let _ = write!(table, " {:>12.3}", histogram.max() as f64 / DUMP_UNIT_RATIO);
            }
            let _ = writeln!(table, " {:>8}", self.clamped(*stage));
        }
        if self.invalid_samples > 0 {
            let _ = writeln!(table, "invalid samples: {}", self.invalid_samples);
        }
        table
    }
}

/// Write `histogram` as HdrHistogram's percentile distribution text (what Java's
/// `outputPercentileDistribution(out, ticks, unitRatio)` prints and HistogramLogAnalyzer and the
/// online plotter read): a header, one row per percentile tick (value / `unit_ratio`, percentile
/// as a fraction, cumulative count, 1/(1-percentile)), then mean/stddev, max/total and
/// bucket-layout footer lines.
pub fn write_percentile_distribution(
    histogram: &Histogram<u64>,
    out: &mut impl Write,
    ticks_per_half_distance: u32,
    unit_ratio: f64,
) -> io::Result<()> {
    let digits = usize::from(histogram.sigfig());
    writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    )?;
    let mut total_count = 0u64;
    for step in histogram.iter_quantiles(ticks_per_half_distance.max(1)) {
        total_count += step.count_since_last_iteration();
        let value = step.value_iterated_to() as f64 / unit_ratio;
        let quantile = step.quantile_iterated_to();
        if quantile < 1.0 {
            writeln!(
                out,
                "{value:>12.digits$} {quantile:>2.12} {total_count:>10} {:>14.2}",
                1.0 / (1.0 - quantile)
            )?;
        } else {
            writeln!(
                out,
                "{value:>12.digits$} {quantile:>2.12} {total_count:>10}"
            )?;
        }
    }
    let max = if histogram.is_empty() {
        0
    } else {
        histogram.max()
    };
    writeln!(
        out,
        "#[Mean    = {:>12.digits$}, StdDeviation   = {:>12.digits$}]",
        histogram.mean() / unit_ratio,
        histogram.stdev() / unit_ratio
    )?;
    writeln!(
        out,
        "#[Max     = {:>12.digits$}, Total count    = {:>12}]",
        max as f64 / unit_ratio,
        histogram.len()
    )?;
    writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        histogram.buckets(),
        sub_bucket_count(histogram.sigfig())
    )?;
    Ok(())
}

/// Sub-buckets per bucket for `sigfig` digits: the power of two that gives unit resolution up to
/// 2 * 10^sigfig (hdrhistogram's own rule; the crate does not expose the field).
fn sub_bucket_count(sigfig: u8) -> u64 {
    (2 * 10u64.pow(u32::from(sigfig))).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_bounds_are_valid() {
        let histogram = new_histogram();
        assert!(!histogram.is_auto_resize());
        assert!(histogram.high() >= HIGHEST_NS);
        assert_eq!(sub_bucket_count(3), 2048);
    }

    #[test]
    fn stage_codes_follow_declaration_order_and_slugs_are_unique() {
        for (i, stage) in Stage::ALL.iter().enumerate() {
            assert_eq!(usize::from(stage.code()), i);
            assert_eq!(Stage::from_code(stage.code()), Some(*stage));
        }
        assert_eq!(Stage::from_code(Stage::COUNT as u8), None);
        let mut slugs: Vec<_> = Stage::ALL.iter().map(|s| s.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), Stage::COUNT);
    }
}
