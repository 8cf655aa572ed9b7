//! Stage latency histograms: percentiles of known data, `.hgrm` dumps that parse back with the
//! right shape and totals, clamping, merging, sample shipping, and allocation-free `record`.

use std::fs;
use std::path::PathBuf;

use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};
use sattebaaz::telemetry::latency::{
    LatencySample, Stage, StageHistograms, DUMP_FILE_SUFFIX, HIGHEST_NS,
};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

/// A fresh, empty directory under the system temp dir, unique per test and process.
fn scratch_dir(test: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("sattebaaz-latency-{}-{}", std::process::id(), test));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn assert_close(actual: u64, expected: u64, what: &str) {
    // 3 significant digits: within 0.1 % (plus one unit for rounding at bucket edges).
    let tolerance = expected / 1000 + 1;
    assert!(
        actual.abs_diff(expected) <= tolerance,
        "{what}: got {actual}, expected {expected} +- {tolerance}"
    );
}

#[test]
fn percentiles_of_known_values() {
    let mut histograms = StageHistograms::new();
    for nanos in 1..=100_000u64 {
        histograms.record(Stage::DecodeToBook, nanos);
    }
    histograms.record(Stage::SpscHop, 42);
    let h = histograms.histogram(Stage::DecodeToBook);
    assert_eq!(h.len(), 100_000);
    assert_close(h.value_at_quantile(0.5), 50_000, "p50");
    assert_close(h.value_at_quantile(0.9), 90_000, "p90");
    assert_close(h.value_at_quantile(0.99), 99_000, "p99");
    assert_close(h.value_at_quantile(0.999), 99_900, "p99.9");
    assert_close(h.max(), 100_000, "max");
    // Small values are exact (unit resolution below 2048).
    assert_eq!(histograms.histogram(Stage::SpscHop).max(), 42);
    // Other stages untouched.
    assert!(histograms.histogram(Stage::WireToWire).is_empty());
    assert_eq!(histograms.clamped(Stage::DecodeToBook), 0);
}

#[test]
fn values_above_the_bound_are_clamped_and_counted() {
    let mut histograms = StageHistograms::new();
    histograms.record(Stage::RestRoundTrip, HIGHEST_NS); // at the bound: not clamped
    histograms.record(Stage::RestRoundTrip, HIGHEST_NS + 1);
    histograms.record(Stage::RestRoundTrip, u64::MAX);
    histograms.record(Stage::RestRoundTrip, 5_000);
    assert_eq!(histograms.clamped(Stage::RestRoundTrip), 2);
    assert_eq!(histograms.clamped(Stage::WireToWire), 0);
    let h = histograms.histogram(Stage::RestRoundTrip);
    assert_eq!(h.len(), 4);
    assert_close(h.max(), HIGHEST_NS, "clamped max");
    assert_eq!(h.count_between(HIGHEST_NS, HIGHEST_NS), 3);
    assert!(histograms.summary_table().contains("rest_round_trip"));
}

#[test]
fn record_never_allocates() {
    let mut histograms = StageHistograms::new();
    let (allocations, ()) = count_allocations(|| {
        let mut nanos = 1u64;
        for i in 0..200_000u64 {
            let stage = Stage::ALL[(i as usize) % Stage::COUNT];
            histograms.record(stage, nanos);
            histograms.record_sample(LatencySample::new(stage, nanos / 3));
            // Sweep the whole range, including clamped values.
            nanos = nanos.wrapping_mul(3).wrapping_add(i) % (HIGHEST_NS * 2);
        }
        histograms.record_sample(LatencySample {
            stage: 250,
            nanos: 1,
        });
    });
    assert_eq!(allocations, 0, "StageHistograms::record allocated");
    let total: u64 = Stage::ALL
        .iter()
        .map(|s| histograms.histogram(*s).len())
        .sum();
    assert_eq!(total, 400_000);
    assert_eq!(histograms.invalid_samples(), 1);
    assert!(Stage::ALL.iter().any(|s| histograms.clamped(*s) > 0));
}

#[test]
fn samples_round_trip_and_unknown_codes_are_counted() {
    let mut histograms = StageHistograms::new();
    assert!(histograms.record_sample(LatencySample::new(Stage::WireToWire, 7_000)));
    assert!(!histograms.record_sample(LatencySample {
        stage: Stage::COUNT as u8,
        nanos: 7
    }));
    assert_eq!(histograms.histogram(Stage::WireToWire).len(), 1);
    assert_eq!(histograms.invalid_samples(), 1);
}

#[test]
fn merge_adds_counts_and_clamps() {
    let mut a = StageHistograms::new();
    let mut b = StageHistograms::new();
    for v in 1..=1000 {
        a.record(Stage::BookToSignal, v);
        b.record(Stage::BookToSignal, v + 1000);
    }
    b.record(Stage::BookToSignal, u64::MAX);
    b.record(Stage::OrderToAck, 3);
    a.merge(&b).expect("same bounds merge");
    let h = a.histogram(Stage::BookToSignal);
    assert_eq!(h.len(), 2001);
    assert_close(h.value_at_quantile(0.5), 1001, "merged p50");
    assert_eq!(a.clamped(Stage::BookToSignal), 1);
    assert_eq!(a.histogram(Stage::OrderToAck).len(), 1);
    a.reset();
    assert!(a.histogram(Stage::BookToSignal).is_empty());
    assert_eq!(a.clamped(Stage::BookToSignal), 0);
}

/// What a `.hgrm` file says, as read back by [`parse_hgrm`].
struct ParsedHgrm {
    /// (value, percentile, total count, 1/(1-percentile) if present)
    rows: Vec<(f64, f64, u64, Option<f64>)>,
    mean: f64,
    max: f64,
    total_count: u64,
    buckets: u64,
    sub_buckets: u64,
}

/// Minimal reader of HdrHistogram's percentile-distribution text format.
fn parse_hgrm(text: &str) -> ParsedHgrm {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    assert_eq!(
        header,
        ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]
    );
    assert_eq!(
        text.lines().next().unwrap(),
        "       Value     Percentile TotalCount 1/(1-Percentile)"
    );
    assert_eq!(lines.next(), Some(""), "blank line after the header");
    let mut parsed = ParsedHgrm {
        rows: Vec::new(),
        mean: f64::NAN,
        max: f64::NAN,
        total_count: u64::MAX,
        buckets: 0,
        sub_buckets: 0,
    };
    let footer_field = |line: &str, name: &str| -> String {
        let start = line
            .find(name)
            .unwrap_or_else(|| panic!("{name} in {line}"))
            + name.len();
        let rest = line[start..]
            .trim_start()
            .trim_start_matches('=')
            .trim_start();
        rest.split([',', ']'])
            .next()
            .expect("field value")
            .trim()
            .to_string()
    };
    for line in lines {
        if let Some(footer) = line.strip_prefix("#[") {
            if footer.starts_with("Mean") {
                parsed.mean = footer_field(line, "Mean").parse().expect("mean");
                let _: f64 = footer_field(line, "StdDeviation").parse().expect("stddev");
            } else if footer.starts_with("Max") {
                parsed.max = footer_field(line, "Max").parse().expect("max");
                parsed.total_count = footer_field(line, "Total count").parse().expect("total");
            } else if footer.starts_with("Buckets") {
                parsed.buckets = footer_field(line, "Buckets").parse().expect("buckets");
                parsed.sub_buckets = footer_field(line, "SubBuckets").parse().expect("sub");
            } else {
                panic!("unknown footer line {line}");
            }
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert!(
            fields.len() == 3 || fields.len() == 4,
            "row has {} fields: {line}",
            fields.len()
        );
        parsed.rows.push((
            fields[0].parse().expect("value"),
            fields[1].parse().expect("percentile"),
            fields[2].parse().expect("count"),
            fields.get(3).map(|f| f.parse().expect("1/(1-p)")),
        ));
    }
    parsed
}

#[test]
fn dump_writes_parseable_hgrm_per_stage() {
    let mut histograms = StageHistograms::new();
    // 10_000 samples from 1 µs to 10 ms, plus an outlier.
    for i in 1..=10_000u64 {
        histograms.record(Stage::WireToWire, i * 1_000);
    }
    histograms.record(Stage::WireToWire, 250_000_000);
    histograms.record(Stage::SpscHop, 80);
    let dir = scratch_dir("dump");
    let files = histograms.dump(&dir).expect("dump");
    assert_eq!(files.len(), Stage::COUNT);
    for stage in Stage::ALL {
        let expected = dir.join(format!("{}{}", stage.slug(), DUMP_FILE_SUFFIX));
        assert!(files.contains(&expected), "missing {}", expected.display());
    }

    let text = fs::read_to_string(dir.join(Stage::WireToWire.dump_file_name())).expect("read");
    let parsed = parse_hgrm(&text);
    let h = histograms.histogram(Stage::WireToWire);
    assert!(parsed.rows.len() > 20, "too few percentile rows");
    for pair in parsed.rows.windows(2) {
        let ((v0, p0, c0, _), (v1, p1, c1, _)) = (pair[0], pair[1]);
        assert!(v1 >= v0, "values not monotonic: {v0} then {v1}");
        assert!(p1 > p0, "percentiles not increasing: {p0} then {p1}");
        assert!(c1 >= c0, "counts not monotonic: {c0} then {c1}");
    }
    for (_, p, _, inverse) in &parsed.rows[..parsed.rows.len() - 1] {
        let inverse = inverse.expect("every row but the last has 1/(1-p)");
        assert!((inverse - 1.0 / (1.0 - p)).abs() < 0.01);
    }
    let (last_value, last_p, last_count, last_inverse) = *parsed.rows.last().unwrap();
    assert_eq!(last_p, 1.0);
    assert_eq!(last_inverse, None);
    assert_eq!(last_count, 10_001);
    assert_eq!(parsed.total_count, 10_001);
    // Values are microseconds: the 250 ms outlier is the max, ~250000 µs.
    assert!((last_value - h.max() as f64 / 1000.0).abs() < 0.001);
    assert!((parsed.max - h.max() as f64 / 1000.0).abs() < 0.001);
    assert!((parsed.max - 250_000.0).abs() < 250.0);
    assert!((parsed.mean - h.mean() / 1000.0).abs() < 0.001);
    assert_eq!(parsed.buckets, u64::from(h.buckets()));
    assert_eq!(parsed.sub_buckets, 2048);
    // The first row at or past the median is the median (~5000 µs).
    let median_row = parsed.rows.iter().find(|r| r.1 >= 0.5).expect("median row");
    assert!(
        (median_row.0 - 5_000.0).abs() <= 5.0,
        "median {}",
        median_row.0
    );

    // An empty stage still yields a well-formed file with zero totals.
    let empty = parse_hgrm(
        &fs::read_to_string(dir.join(Stage::DecodeToBook.dump_file_name())).expect("read"),
    );
    assert!(empty.rows.is_empty());
    assert_eq!(empty.total_count, 0);
    assert_eq!(empty.max, 0.0);

    let spsc = parse_hgrm(&fs::read_to_string(dir.join("spsc_hop_us.hgrm")).expect("read"));
    assert_eq!(spsc.total_count, 1);
    assert_eq!(spsc.rows.last().map(|r| r.0), Some(0.080));

    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn summary_table_lists_every_stage_with_percentiles() {
    let mut histograms = StageHistograms::new();
    for v in 1..=1000u64 {
        histograms.record(Stage::SignalToDecision, v * 1000);
    }
    let table = histograms.summary_table();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), Stage::COUNT + 1);
    assert!(lines[0].contains("p99.9"));
    let row: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("signal_to_decision"))
        .expect("row")
        .split_whitespace()
        .collect();
    // stage, count, p50, p90, p99, p99.9, max, clamped
    assert_eq!(row.len(), 8);
    assert_eq!(row[1], "1000");
    let p50: f64 = row[2].parse().expect("p50");
    let max: f64 = row[6].parse().expect("max");
    assert!((p50 - 500.0).abs() < 1.0, "p50 {p50}");
    assert!((max - 1000.0).abs() < 1.0, "max {max}");
    assert_eq!(row[7], "0");
    let empty_row = lines
        .iter()
        .find(|l| l.starts_with("socket_to_decode"))
        .expect("empty row");
    assert!(empty_row.contains(" - "));
}
