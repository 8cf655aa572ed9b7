//! Loaders for the calibration inputs: Chainlink price ticks (CSV) and settled Up/Down markets
//! (JSON lines), each plain text or gzip, told apart by the gzip magic bytes `1f 8b`, never by
//! the file name.
//!
//! Invariants: prices stay exact — the `full_accuracy_value` column (price × 1e18) is parsed by
//! the oracle feed's own integer parser into `i128`; the float `value` column is never used.
//! A line that cannot be used is skipped and counted under a fixed reason key (never a panic);
//! only a file that cannot be opened or read, or a price file without the needed header
//! columns, is an error, and that error names the file. Lines longer than [`MAX_LINE_BYTES`]
//! are skipped whole without being held in memory.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::feeds::binance::records::Asset;
use crate::feeds::oracle::rtds::parse_e18;
use crate::feeds::oracle::{Outcome, Window};
use crate::fixed::parse_fixed;

/// Longest line accepted, bytes (a Gamma market object is a few kB).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How many skipped-line examples a load keeps for the report.
pub const MAX_EXAMPLES: usize = 8;

/// Why a file could not be loaded at all.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be opened.
    Open { path: PathBuf, source: io::Error },
    /// Reading failed part-way (I/O error, corrupt or truncated gzip).
    Read {
        path: PathBuf,
        line: u64,
        source: io::Error,
    },
    /// The price file's first line is not a header with the needed columns.
    Header { path: PathBuf, detail: String },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Open { path, source } => {
                write!(f, "cannot open {}: {source}", path.display())
            }
            LoadError::Read { path, line, source } => {
                write!(f, "cannot read {} (line {line}): {source}", path.display())
            }
            LoadError::Header { path, detail } => {
                write!(f, "{}: bad header: {detail}", path.display())
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// Skip counts by reason, plus the first few examples (`line N: reason (detail)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkipCounts {
    pub by_reason: BTreeMap<&'static str, u64>,
    pub examples: Vec<String>,
}

impl SkipCounts {
    /// Count one skipped line.
    pub fn add(&mut self, reason: &'static str, line: u64, detail: &str) {
        *self.by_reason.entry(reason).or_insert(0) += 1;
        if self.examples.len() < MAX_EXAMPLES {
            let example = if detail.is_empty() {
                format!("line {line}: {reason}")
            } else {
                format!("line {line}: {reason} ({detail})")
            };
            self.examples.push(example);
        }
    }

    /// Count of one reason (0 when never seen).
    pub fn get(&self, reason: &str) -> u64 {
        self.by_reason.get(reason).copied().unwrap_or(0)
    }

    /// Sum over every reason.
    pub fn total(&self) -> u64 {
        self.by_reason.values().sum()
    }
}

/// Open `path` as a line reader, decompressing when it starts with the gzip magic bytes.
pub fn open_text(path: &Path) -> Result<Box<dyn BufRead>, LoadError> {
    let file = File::open(path).map_err(|source| LoadError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = BufReader::new(file);
    let head = reader.fill_buf().map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        line: 0,
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::new(MultiGzDecoder::new(reader))))
    } else {
        Ok(Box::new(reader))
    }
}

/// One line read by [`read_line_limited`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRead {
    /// End of input, nothing read.
    Eof,
    /// A line (without its `\n` / `\r\n`) is in the buffer.
    Line,
    /// The line was longer than the limit; it was consumed and dropped.
    TooLong,
}

/// Read one line into `buf` (cleared first), keeping at most `max` bytes: a longer line is
/// consumed to its end and reported as [`LineRead::TooLong`] without growing `buf` further.
pub fn read_line_limited<R: BufRead + ?Sized>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<LineRead> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        if !too_long {
            if buf.len() + part.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = done.unwrap_or(chunk.len());
        reader.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !any {
        return Ok(LineRead::Eof);
    }
    if too_long {
        buf.clear();
        return Ok(LineRead::TooLong);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(LineRead::Line)
}

// ---------------------------------------------------------------------------------------------
// Prices

/// One oracle observation: the second it was observed and its exact price × 1e18.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    pub obs_s: u64,
    pub price_e18: i128,
}

/// Oracle ticks sorted by observation second, one per second.
#[derive(Debug, Clone, Default)]
pub struct PriceSeries {
    ticks: Vec<Tick>,
}

impl PriceSeries {
    /// Sort by second; of several ticks for one second the one read last is kept. Returns the
    /// series and how many same-second ticks were dropped as (identical, different).
    pub fn from_unsorted(mut ticks: Vec<Tick>) -> (PriceSeries, u64, u64) {
        // Stable sort: ticks of one second stay in file order, so the last is the latest read.
        ticks.sort_by_key(|t| t.obs_s);
        let mut out: Vec<Tick> = Vec::with_capacity(ticks.len());
        let (mut duplicates, mut conflicts) = (0u64, 0u64);
        for t in ticks {
            match out.last_mut() {
                Some(last) if last.obs_s == t.obs_s => {
                    if last.price_e18 == t.price_e18 {
                        duplicates += 1;
                    } else {
                        conflicts += 1;
                        *last = t;
                    }
                }
                _ => out.push(t),
            }
        }
        (PriceSeries { ticks: out }, duplicates, conflicts)
    }

    /// Every tick, ascending.
    pub fn ticks(&self) -> &[Tick] {
        &self.ticks
    }

    /// Number of ticks.
    pub fn len(&self) -> usize {
        self.ticks.len()
    }

    /// True when there is no tick.
    pub fn is_empty(&self) -> bool {
        self.ticks.is_empty()
    }

    /// The latest tick observed at or before second `s`.
    pub fn last_at_or_before(&self, s: u64) -> Option<Tick> {
        let i = self.ticks.partition_point(|t| t.obs_s <= s);
        i.checked_sub(1).and_then(|i| self.ticks.get(i)).copied()
    }

    /// The ticks observed in seconds `from_s..=to_s`.
    pub fn range(&self, from_s: u64, to_s: u64) -> &[Tick] {
        let lo = self.ticks.partition_point(|t| t.obs_s < from_s);
        let hi = self.ticks.partition_point(|t| t.obs_s <= to_s);
        self.ticks.get(lo..hi.max(lo)).unwrap_or(&[])
    }
}

/// The price file, loaded.
#[derive(Debug, Clone, Default)]
pub struct PriceLoad {
    pub series: PriceSeries,
    /// Data rows read (header and blank lines excluded).
    pub rows: u64,
    /// Rows skipped, by reason.
    pub skipped: SkipCounts,
    /// Same-second rows with the same price, dropped.
    pub duplicates: u64,
    /// Same-second rows with a different price (the later row kept).
    pub conflicts: u64,
}

/// Load the Chainlink price CSV (`feed_ts_ms`, `full_accuracy_value`, other columns ignored).
pub fn load_prices(path: &Path) -> Result<PriceLoad, LoadError> {
    let reader = open_text(path)?;
    parse_prices(reader, path)
}

/// Parse price CSV text from `reader`; `path` only names the source in errors.
pub fn parse_prices<R: BufRead>(mut reader: R, path: &Path) -> Result<PriceLoad, LoadError> {
    let read_err = |line: u64, source: io::Error| LoadError::Read {
        path: path.to_path_buf(),
        line,
        source,
    };
    let mut buf = Vec::new();
    let header_err = |detail: &str| LoadError::Header {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    };
    match read_line_limited(&mut reader, &mut buf, MAX_LINE_BYTES).map_err(|e| read_err(1, e))? {
        LineRead::Eof => return Err(header_err("the file is empty")),
        LineRead::TooLong => return Err(header_err("the first line is too long")),
        LineRead::Line => {}
    }
    let header: Vec<&[u8]> = buf.split(|&b| b == b',').map(trim).collect();
    let col = |name: &str| header.iter().position(|h| *h == name.as_bytes());
    let (Some(ts_col), Some(px_col)) = (col("feed_ts_ms"), col("full_accuracy_value")) else {
        return Err(header_err(
            "expected the columns feed_ts_ms and full_accuracy_value",
        ));
    };
    let columns = header.len();

    let mut load = PriceLoad::default();
    let mut ticks = Vec::new();
    let mut line_no: u64 = 1;
    loop {
        line_no += 1;
        match read_line_limited(&mut reader, &mut buf, MAX_LINE_BYTES)
            .map_err(|e| read_err(line_no, e))?
        {
            LineRead::Eof => break,
            LineRead::TooLong => {
                load.rows += 1;
                load.skipped.add("line_too_long", line_no, "");
                continue;
            }
            LineRead::Line => {}
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        load.rows += 1;
        match parse_price_row(&buf, columns, ts_col, px_col) {
            Ok(t) => ticks.push(t),
            Err((reason, detail)) => load.skipped.add(reason, line_no, detail),
        }
    }
    let (series, duplicates, conflicts) = PriceSeries::from_unsorted(ticks);
    load.series = series;
    load.duplicates = duplicates;
    load.conflicts = conflicts;
    Ok(load)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    s.get(start..end.max(start)).unwrap_or(&[])
}

fn parse_price_row(
    line: &[u8],
    columns: usize,
    ts_col: usize,
    px_col: usize,
) -> Result<Tick, (&'static str, &'static str)> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b',').map(trim).collect();
    if fields.len() != columns {
        return Err(("wrong_field_count", ""));
    }
    let ts = fields.get(ts_col).copied().unwrap_or(&[]);
    let px = fields.get(px_col).copied().unwrap_or(&[]);
    if ts.is_empty() || !ts.iter().all(u8::is_ascii_digit) {
        return Err(("bad_timestamp", "feed_ts_ms"));
    }
    let ts_ms: u64 = std::str::from_utf8(ts)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(("bad_timestamp", "feed_ts_ms"))?;
    if ts_ms % 1000 != 0 {
        return Err(("unaligned_timestamp", "feed_ts_ms not a whole second"));
    }
    if ts_ms == 0 {
        return Err(("bad_timestamp", "feed_ts_ms is 0"));
    }
    if px.is_empty() {
        return Err(("no_exact_price", "full_accuracy_value empty"));
    }
    let price_e18 = parse_e18(px).ok_or(("bad_price", "full_accuracy_value"))?;
    if price_e18 <= 0 {
        return Err(("bad_price", "full_accuracy_value not positive"));
    }
    Ok(Tick {
        obs_s: ts_ms / 1000,
        price_e18,
    })
}

// ---------------------------------------------------------------------------------------------
// Markets

/// One settled market usable for calibration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketRecord {
    /// Line in the file (1-based).
    pub line: u64,
    pub slug: String,
    pub asset: Asset,
    pub window: Window,
    /// The official outcome.
    pub outcome: Outcome,
    /// The official price to beat × 1e18, when the record has one.
    pub strike_e18: Option<i128>,
}

/// The markets file, loaded.
#[derive(Debug, Clone, Default)]
pub struct MarketLoad {
    pub records: Vec<MarketRecord>,
    /// Non-blank lines read.
    pub lines: u64,
    /// Lines skipped, by reason.
    pub skipped: SkipCounts,
}

/// Load the settled-markets JSON lines.
pub fn load_markets(path: &Path) -> Result<MarketLoad, LoadError> {
    let reader = open_text(path)?;
    parse_markets(reader, path)
}

/// Parse market JSON lines from `reader`; `path` only names the source in errors.
pub fn parse_markets<R: BufRead>(mut reader: R, path: &Path) -> Result<MarketLoad, LoadError> {
    let mut load = MarketLoad::default();
    let mut buf = Vec::new();
    let mut seen: std::collections::HashSet<(Asset, u64, u64)> = Default::default();
    let mut line_no: u64 = 0;
    loop {
        line_no += 1;
        let got = read_line_limited(&mut reader, &mut buf, MAX_LINE_BYTES).map_err(|source| {
            LoadError::Read {
                path: path.to_path_buf(),
                line: line_no,
                source,
            }
        })?;
        match got {
            LineRead::Eof => break,
            LineRead::TooLong => {
                load.lines += 1;
                load.skipped.add("line_too_long", line_no, "");
                continue;
            }
            LineRead::Line => {}
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        load.lines += 1;
        match parse_market(&buf, line_no) {
            Ok(rec) => {
                if seen.insert((rec.asset, rec.window.start_s, rec.window.end_s)) {
                    load.records.push(rec);
                } else {
                    load.skipped.add("duplicate_market", line_no, &rec.slug);
                }
            }
            Err(Skip { reason, detail }) => load.skipped.add(reason, line_no, &detail),
        }
    }
    Ok(load)
}

/// Why one market line was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub reason: &'static str,
    pub detail: String,
}

fn skip(reason: &'static str, detail: impl Into<String>) -> Skip {
    Skip {
        reason,
        detail: detail.into(),
    }
}

/// A required unsigned integer field.
fn req_u64(obj: &serde_json::Map<String, serde_json::Value>, key: &str) -> Result<u64, Skip> {
    match obj.get(key) {
        None | Some(serde_json::Value::Null) => Err(skip("missing_field", key)),
        Some(v) => v.as_u64().ok_or_else(|| skip("wrong_type", key)),
    }
}

/// An optional string field (`Ok(None)` when absent or null).
fn opt_str<'a>(
    obj: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Option<&'a str>, Skip> {
    match obj.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(skip("wrong_type", key)),
    }
}

/// Parse one market line. Reasons: `malformed_json`, `wrong_type`, `missing_field`,
/// `bad_window`, `unknown_asset`, `not_resolved`, `no_outcome`, `bad_strike`.
pub fn parse_market(line: &[u8], line_no: u64) -> Result<MarketRecord, Skip> {
    let value: serde_json::Value = serde_json::from_slice(line).map_err(|e| {
        let detail = format!("{e}");
        skip("malformed_json", detail)
    })?;
    let obj = value
        .as_object()
        .ok_or_else(|| skip("wrong_type", "line is not a JSON object"))?;

    let slug = opt_str(obj, "slug")?.unwrap_or("");
    let start_s = req_u64(obj, "start_sec")?;
    let end_s = req_u64(obj, "end_sec")?;
    if end_s <= start_s {
        return Err(skip("bad_window", "end_sec not after start_sec"));
    }
    let len = end_s - start_s;
    if let Some(v) = obj.get("interval_sec").filter(|v| !v.is_null()) {
        let interval = v
            .as_u64()
            .ok_or_else(|| skip("wrong_type", "interval_sec"))?;
        if interval != len {
            return Err(skip("bad_window", "interval_sec != end_sec - start_sec"));
        }
    }
    let window = Window::aligned(start_s, len)
        .filter(|w| w.len_s() == Window::FIVE_MIN_S || w.len_s() == Window::FIFTEEN_MIN_S)
        .ok_or_else(|| skip("bad_window", "not an aligned 5m/15m window"))?;
    let from_slug = Window::from_slug(slug);
    if let Some((_, w)) = from_slug {
        if w != window {
            return Err(skip("bad_window", "slug disagrees with start_sec/end_sec"));
        }
    }
    let asset = match opt_str(obj, "asset")? {
        Some(name) => {
            Asset::from_short_name(name).ok_or_else(|| skip("unknown_asset", name.to_string()))?
        }
        None => from_slug
            .map(|(a, _)| a)
            .ok_or_else(|| skip("missing_field", "asset (and no parsable slug)"))?,
    };
    if let Some((a, _)) = from_slug {
        if a != asset {
            return Err(skip("unknown_asset", "slug asset differs from asset"));
        }
    }

    match obj.get("resolved") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Bool(true)) => {}
        Some(serde_json::Value::Bool(false)) => return Err(skip("not_resolved", "")),
        Some(_) => return Err(skip("wrong_type", "resolved")),
    }
    let outcome = match obj.get("outcome_prices") {
        None | Some(serde_json::Value::Null) => return Err(skip("no_outcome", "")),
        Some(serde_json::Value::Array(items)) => {
            let mut prices = [0i64; 2];
            if items.len() != 2 {
                return Err(skip("no_outcome", "outcome_prices is not [Up, Down]"));
            }
            for (slot, item) in prices.iter_mut().zip(items) {
                let s = item
                    .as_str()
                    .ok_or_else(|| skip("wrong_type", "outcome_prices"))?;
                *slot = parse_fixed(s.as_bytes(), 6)
                    .map_err(|_| skip("wrong_type", "outcome_prices"))?;
            }
            match prices {
                [1_000_000, 0] => Outcome::Up,
                [0, 1_000_000] => Outcome::Down,
                _ => return Err(skip("no_outcome", "outcome_prices not 1/0")),
            }
        }
        Some(_) => return Err(skip("wrong_type", "outcome_prices")),
    };
    let strike_e18 = match obj.get("strike_value") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => {
            let v = parse_e18(s.as_bytes()).ok_or_else(|| skip("bad_strike", s.clone()))?;
            if v <= 0 {
                return Err(skip("bad_strike", "not positive"));
            }
            Some(v)
        }
        Some(_) => return Err(skip("wrong_type", "strike_value")),
    };
    Ok(MarketRecord {
        line: line_no,
        slug: slug.to_string(),
        asset,
        window,
        outcome,
        strike_e18,
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    const HEADER: &str = "feed_ts_ms,value,full_accuracy_value,server_ts_ms,recv_ms\n";

    fn prices(text: &str) -> PriceLoad {
        parse_prices(Cursor::new(text.as_bytes().to_vec()), Path::new("p.csv")).unwrap()
    }

    #[test]
    fn price_rows_good_bad_and_duplicates() {
        let text = format!(
            "{HEADER}\
             1780876801000,63304.46,63304461207965530000000,1,2\n\
             1780876800000,63304.20,63304200301195075000000,1,2\n\
             1780876802500,1.0,1000000000000000000,1,2\n\
             abc,1.0,1000000000000000000,1,2\n\
             1780876803000,1.0,,1,2\n\
             1780876804000,1.0,12.5,1,2\n\
             1780876805000,1.0,-4,1,2\n\
             1780876806000,1.0\n\
             \n\
             1780876801000,63304.46,63304461207965530000000,1,2\r\n\
             1780876800000,63304.20,63304200301195075000001,1,2\n"
        );
        let load = prices(&text);
        assert_eq!(load.rows, 10);
        assert_eq!(load.skipped.get("unaligned_timestamp"), 1);
        assert_eq!(load.skipped.get("bad_timestamp"), 1);
        assert_eq!(load.skipped.get("no_exact_price"), 1);
        assert_eq!(load.skipped.get("bad_price"), 2);
        assert_eq!(load.skipped.get("wrong_field_count"), 1);
        assert_eq!(load.skipped.total(), 6);
        assert_eq!(load.duplicates, 1);
        assert_eq!(load.conflicts, 1);
        let ticks = load.series.ticks();
        assert_eq!(ticks.len(), 2);
        assert_eq!(ticks[0].obs_s, 1_780_876_800);
        // The later row of a conflicting second wins.
        assert_eq!(ticks[0].price_e18, 63_304_200_301_195_075_000_001);
        assert_eq!(ticks[1].price_e18, 63_304_461_207_965_530_000_000);
        assert!(load.skipped.examples[0].starts_with("line 4: unaligned_timestamp"));
    }

    #[test]
    fn price_header_errors_name_the_file() {
        let err = parse_prices(Cursor::new(b"a,b,c\n1,2,3\n".to_vec()), Path::new("x.csv"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.csv") && err.contains("full_accuracy_value"),
            "{err}"
        );
        let err = parse_prices(Cursor::new(Vec::new()), Path::new("e.csv")).unwrap_err();
        assert!(err
            .to_string()
            .contains("e.csv: bad header: the file is empty"));
    }

    #[test]
    fn series_lookups() {
        let t = |s: u64| Tick {
            obs_s: s,
            price_e18: s as i128,
        };
        let (series, _, _) = PriceSeries::from_unsorted(vec![t(30), t(10), t(20)]);
        assert_eq!(series.last_at_or_before(9), None);
        assert_eq!(series.last_at_or_before(10), Some(t(10)));
        assert_eq!(series.last_at_or_before(29), Some(t(20)));
        assert_eq!(series.last_at_or_before(99), Some(t(30)));
        assert_eq!(series.range(10, 20), &[t(10), t(20)]);
        assert_eq!(series.range(11, 19), &[] as &[Tick]);
        assert_eq!(series.range(25, 5), &[] as &[Tick]);
    }

    fn good_market(start: u64, outcome: &str, strike: &str) -> String {
        format!(
            r#"{{"slug":"btc-updown-5m-{start}","asset":"btc","interval_sec":300,"start_sec":{start},"end_sec":{},"resolved":true,"outcome_prices":{outcome},"strike_value":{strike},"raw":{{"x":1}}}}"#,
            start + 300
        )
    }

    #[test]
    fn market_lines_good_and_malformed() {
        let s = 1_780_876_800u64;
        let lines = [
            good_market(s, r#"["1","0"]"#, r#""63304200301195075000000""#),
            good_market(s + 300, r#"["0","1"]"#, "null"),
            "{not json".to_string(),
            "[1,2]".to_string(),
            r#"{"slug":"btc-updown-5m-1780877400","start_sec":"1780877400","end_sec":1780877700,"outcome_prices":["1","0"]}"#.to_string(),
            r#"{"slug":"btc-updown-5m-1780877400","end_sec":1780877700,"outcome_prices":["1","0"]}"#.to_string(),
            good_market(s + 900, r#"["0.5","0.5"]"#, "null"),
            good_market(s + 1200, "null", "null"),
            good_market(s + 1500, r#"[1,0]"#, "null"),
            good_market(s + 1800, r#"["1","0"]"#, "63304.2"),
            good_market(s + 2100, r#"["1","0"]"#, r#""12x""#),
            good_market(s + 2401, r#"["1","0"]"#, "null"),
            good_market(s, r#"["1","0"]"#, "null"),
            good_market(s + 2700, r#"["1","0"]"#, "null").replace("\"resolved\":true", "\"resolved\":false"),
            good_market(s + 3000, r#"["1","0"]"#, "null").replace("\"asset\":\"btc\"", "\"asset\":\"doge\""),
            r#"{"start_sec":-300,"end_sec":0,"asset":"btc","outcome_prices":["1","0"]}"#.to_string(),
            r#"{"start_sec":1e30,"end_sec":1780877700,"asset":"btc","outcome_prices":["1","0"]}"#.to_string(),
            r#"{"start_sec":18446744073709551300,"end_sec":18446744073709551600,"asset":"btc","outcome_prices":["1","0"]}"#.to_string(),
            String::new(),
            "   ".to_string(),
        ];
        let text = lines.join("\n");
        let load = parse_markets(Cursor::new(text.into_bytes()), Path::new("m.jsonl")).unwrap();
        assert_eq!(load.lines, 18);
        // The last window ends 15 s before u64::MAX: odd but well-formed.
        assert_eq!(load.records.len(), 3);
        assert_eq!(load.records[2].window.end_s, u64::MAX - 15);
        let sk = &load.skipped;
        assert_eq!(sk.get("malformed_json"), 1);
        assert_eq!(sk.get("wrong_type"), 6, "{:?}", sk.by_reason);
        assert_eq!(sk.get("missing_field"), 1);
        assert_eq!(sk.get("no_outcome"), 2);
        assert_eq!(sk.get("bad_strike"), 1);
        assert_eq!(sk.get("bad_window"), 1);
        assert_eq!(sk.get("duplicate_market"), 1);
        assert_eq!(sk.get("not_resolved"), 1);
        assert_eq!(sk.get("unknown_asset"), 1);
        assert_eq!(sk.total() + load.records.len() as u64, load.lines);
        let r = &load.records[0];
        assert_eq!((r.line, r.outcome, r.asset), (1, Outcome::Up, Asset::Btc));
        assert_eq!(r.window, Window::five_minute(s).unwrap());
        assert_eq!(r.strike_e18, Some(63_304_200_301_195_075_000_000));
        assert_eq!(
            (load.records[1].outcome, load.records[1].strike_e18),
            (Outcome::Down, None)
        );
        assert!(
            sk.examples
                .iter()
                .any(|e| e.starts_with("line 5: wrong_type (start_sec)")),
            "{:?}",
            sk.examples
        );
    }

    #[test]
    fn gzip_is_detected_by_magic_and_long_lines_are_dropped() {
        let dir = std::env::temp_dir().join(format!("sattebaaz-cal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = format!("{HEADER}1780876800000,1,1000000000000000000,1,2\n");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(plain.as_bytes()).unwrap();
        // A gzip file named .csv and a plain file named .gz: both read by content.
        let gz_path = dir.join("prices.csv");
        std::fs::write(&gz_path, enc.finish().unwrap()).unwrap();
        let plain_path = dir.join("prices.csv.gz");
        std::fs::write(&plain_path, &plain).unwrap();
        for p in [&gz_path, &plain_path] {
            let load = load_prices(p).unwrap();
            assert_eq!((load.rows, load.series.len()), (1, 1), "{}", p.display());
        }
        let missing = dir.join("nope.csv");
        let err = load_prices(&missing).unwrap_err();
        assert!(matches!(err, LoadError::Open { .. }));
        assert!(err.to_string().contains("nope.csv"));
        // Truncated gzip: a read error naming the file, not a panic.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(plain.repeat(50).as_bytes()).unwrap();
        let bytes = enc.finish().unwrap();
        let cut = dir.join("cut.csv.gz");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let err = load_prices(&cut).unwrap_err();
        assert!(err.to_string().contains("cut.csv.gz"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();

        let mut buf = Vec::new();
        let long = format!("{}\nshort\n", "x".repeat(100));
        let mut r = Cursor::new(long.into_bytes());
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 10).unwrap(),
            LineRead::TooLong
        );
        assert!(buf.is_empty());
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 10).unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"short");
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 10).unwrap(),
            LineRead::Eof
        );
    }
}
