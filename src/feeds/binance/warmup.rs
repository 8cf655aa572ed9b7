//! Start-up warm-up of the 1-minute candle history from Binance spot REST klines
//! (`GET /api/v3/klines?symbol=<SYMBOL>&interval=1m&limit=<N>`), so the volatility regime (ATR
//! over closed 1-minute candles) exists from the first tick instead of 14+ minutes later.
//!
//! The answer is a JSON array of klines, each an array of 12 fields: open time (ms), open,
//! high, low, close, volume (decimal strings), close time (ms), quote volume (string), number of
//! trades, taker buy base volume, taker buy quote volume (strings), and an unused field.
//! [`parse_klines`] turns it into [`Candle`]s with prices at [`PX_SCALE`] and volumes at
//! [`QTY_SCALE`], parsed exactly like the live trade parser parses `p` and `q`
//! ([`crate::fixed::parse_fixed`]); it drops the still-forming last kline (close time after
//! `now`; also the one before it when the local clock runs up to a minute behind the venue's)
//! and refuses, with an error naming the kline and field, anything else that is not a
//! clean history: wrong JSON types, inexact decimals, open times not exactly 60 000 ms apart,
//! high below the open or close, low above them, negative volumes, oversized input.
//!
//! Invariants: runs on the main thread at start-up only (it blocks on HTTP; never on the hot
//! thread); every problem is a typed [`KlinesError`] / [`WarmupError`], never a panic; the
//! candles returned are strictly ascending, minute-aligned and all closed at `now_ms`, ready for
//! [`super::AssetState::seed_candles`]. Klines carry no trade ids: seeded candles have
//! `first_trade_id = last_trade_id = 0`.

use serde_json::Value;

use super::candles::{Candle, CANDLE_MS};
use super::records::{Asset, PX_SCALE, QTY_SCALE};
use crate::discovery::fetch::{Fetch, FetchError};
use crate::fixed::{parse_fixed, FixedError};

/// Most klines one request may ask for (Binance's `limit` maximum).
pub const MAX_KLINES: u32 = 1_000;
/// Largest klines answer accepted (1 000 klines are about 190 kB).
pub const MAX_KLINES_BODY: usize = 1 << 20;
/// Fields of one kline.
pub const KLINE_FIELDS: usize = 12;
/// Trailing klines closing after `now` that are dropped rather than refused: the forming one,
/// and the one before it when the local clock runs behind the venue's (early in a minute).
pub const MAX_UNCLOSED: usize = 2;

/// Why a klines answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KlinesError {
    #[error("answer of {0} bytes is over the {MAX_KLINES_BODY}-byte limit")]
    TooLarge(usize),
    #[error("answer is not JSON: {0}")]
    Json(String),
    #[error("answer is not a JSON array of klines")]
    NotArray,
    #[error("{count} klines in the answer; at most {max} were asked for")]
    TooMany { count: usize, max: usize },
    #[error("kline {index}: not an array of {KLINE_FIELDS} fields")]
    Shape { index: usize },
    #[error("kline {index}: field `{field}` has the wrong JSON type")]
    WrongType { index: usize, field: &'static str },
    #[error("kline {index}: field `{field}` is not an exact decimal: {err}")]
    BadDecimal {
        index: usize,
        field: &'static str,
        err: FixedError,
    },
    #[error("kline {index}: open time {open_ms} is not on a minute boundary")]
    Unaligned { index: usize, open_ms: u64 },
    #[error("kline {index}: close time {close_ms} does not end the minute opened at {open_ms}")]
    CloseTime {
        index: usize,
        open_ms: u64,
        close_ms: u64,
    },
    #[error(
        "kline {index}: opens at {open_ms}, expected {expected_ms} (one minute after the previous)"
    )]
    Sequence {
        index: usize,
        open_ms: u64,
        expected_ms: u64,
    },
    #[error("kline {index}: prices open {open} high {high} low {low} close {close} are not a candle (need 0 < low ≤ open, close ≤ high)")]
    Prices {
        index: usize,
        open: i64,
        high: i64,
        low: i64,
        close: i64,
    },
    #[error("kline {index}: volume {volume} and taker buy volume {buy} are not 0 ≤ buy ≤ volume")]
    Volumes { index: usize, volume: i64, buy: i64 },
    #[error("kline {index}: closes at {close_ms}, after now ({now_ms}), and is followed by more (clocks too far apart)")]
    Future {
        index: usize,
        close_ms: u64,
        now_ms: u64,
    },
}

/// Why an asset could not be warmed up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarmupError {
    #[error("GET {path}: {err}")]
    Fetch { path: String, err: FetchError },
    #[error("GET {path}: HTTP {status}{}", venue_error(.code, .msg))]
    Status {
        path: String,
        status: u16,
        /// Binance's error `code` and `msg`, when the body carried them.
        code: Option<i64>,
        msg: Option<String>,
    },
    #[error("GET {path}: {err}")]
    Klines { path: String, err: KlinesError },
}

fn venue_error(code: &Option<i64>, msg: &Option<String>) -> String {
    match (code, msg) {
        (Some(c), Some(m)) => format!(" ({c}: {m})"),
        (Some(c), None) => format!(" ({c})"),
        (None, Some(m)) => format!(" ({m})"),
        (None, None) => String::new(),
    }
}

/// Origin-form path of the klines request for `asset` (`/api/v3/klines?symbol=BTCUSDT&...`).
pub fn klines_path(asset: Asset, limit: u32) -> String {
    format!(
        "/api/v3/klines?symbol={}&interval=1m&limit={limit}",
        asset.symbol_lower().to_ascii_uppercase()
    )
}

/// The last `closed` closed 1-minute candles of `asset` as of wall time `now_ms` (fewer when
/// the venue has fewer). One kline more than `closed` is asked for (the forming one is
/// dropped), capped at [`MAX_KLINES`]. Blocks on `fetch`.
pub fn fetch_closed_candles(
    fetch: &mut impl Fetch,
    asset: Asset,
    closed: u32,
    now_ms: u64,
) -> Result<Vec<Candle>, WarmupError> {
    let limit = closed.saturating_add(1).clamp(1, MAX_KLINES);
    let path = klines_path(asset, limit);
    let (status, body) = match fetch.get(&path) {
        Ok(answer) => answer,
        Err(err) => return Err(WarmupError::Fetch { path, err }),
    };
    if status != 200 {
        let v: Option<Value> = serde_json::from_slice(&body).ok();
        let code = v
            .as_ref()
            .and_then(|v| v.get("code"))
            .and_then(Value::as_i64);
        let msg = v
            .as_ref()
            .and_then(|v| v.get("msg"))
            .and_then(Value::as_str)
            .map(|m| m.chars().take(200).collect());
        return Err(WarmupError::Status {
            path,
            status,
            code,
            msg,
        });
    }
    let mut candles = match parse_klines(&body, now_ms, limit as usize) {
        Ok(c) => c,
        Err(err) => return Err(WarmupError::Klines { path, err }),
    };
    let extra = candles.len().saturating_sub(closed as usize);
    candles.drain(..extra);
    Ok(candles)
}

/// Parse and validate a klines answer (see the module docs); at most `max` klines; the last
/// kline is dropped when it closes after `now_ms` (still forming).
pub fn parse_klines(body: &[u8], now_ms: u64, max: usize) -> Result<Vec<Candle>, KlinesError> {
    if body.len() > MAX_KLINES_BODY {
        return Err(KlinesError::TooLarge(body.len()));
    }
    let root: Value = serde_json::from_slice(body).map_err(|e| KlinesError::Json(e.to_string()))?;
    let Value::Array(rows) = root else {
        return Err(KlinesError::NotArray);
    };
    if rows.len() > max {
        return Err(KlinesError::TooMany {
            count: rows.len(),
            max,
        });
    }
    let mut out: Vec<Candle> = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let candle = parse_kline(index, row)?;
        if let Some(prev) = out.last().map(|c| c.open_ms) {
            let expected_ms = prev + CANDLE_MS;
            if candle.open_ms != expected_ms {
                return Err(KlinesError::Sequence {
                    index,
                    open_ms: candle.open_ms,
                    expected_ms,
                });
            }
        }
        out.push(candle);
    }
    // Open times ascend, so the klines not closed at `now` are a tail: the forming minute (and
    // at most one more, see MAX_UNCLOSED) is dropped, a longer tail means the clocks disagree.
    let closed = out
        .iter()
        .take_while(|c| c.open_ms + CANDLE_MS - 1 <= now_ms)
        .count();
    if out.len() - closed > MAX_UNCLOSED {
        return Err(KlinesError::Future {
            index: closed,
            close_ms: out[closed].open_ms + CANDLE_MS - 1,
            now_ms,
        });
    }
    out.truncate(closed);
    Ok(out)
}

fn parse_kline(index: usize, row: &Value) -> Result<Candle, KlinesError> {
    let Some(f) = row.as_array().filter(|f| f.len() == KLINE_FIELDS) else {
        return Err(KlinesError::Shape { index });
    };
    let int = |i: usize, field: &'static str| -> Result<u64, KlinesError> {
        f[i].as_u64().ok_or(KlinesError::WrongType { index, field })
    };
    let dec = |i: usize, field: &'static str, scale: u32| -> Result<i64, KlinesError> {
        let s = f[i]
            .as_str()
            .ok_or(KlinesError::WrongType { index, field })?;
        parse_fixed(s.as_bytes(), scale).map_err(|err| KlinesError::BadDecimal {
            index,
            field,
            err,
        })
    };
    let open_ms = int(0, "open time")?;
    let open = dec(1, "open", PX_SCALE)?;
    let high = dec(2, "high", PX_SCALE)?;
    let low = dec(3, "low", PX_SCALE)?;
    let close = dec(4, "close", PX_SCALE)?;
    let volume = dec(5, "volume", QTY_SCALE)?;
    let close_ms = int(6, "close time")?;
    // Quote volumes are products of price and size: checked as decimals, not kept.
    dec(7, "quote volume", QTY_SCALE)?;
    let trades = int(8, "number of trades")?;
    let buy = dec(9, "taker buy base volume", QTY_SCALE)?;
    dec(10, "taker buy quote volume", QTY_SCALE)?;
    if open_ms % CANDLE_MS != 0 {
        return Err(KlinesError::Unaligned { index, open_ms });
    }
    if close_ms != open_ms + CANDLE_MS - 1 {
        return Err(KlinesError::CloseTime {
            index,
            open_ms,
            close_ms,
        });
    }
    if low <= 0 || low > open.min(close) || high < open.max(close) {
        return Err(KlinesError::Prices {
            index,
            open,
            high,
            low,
            close,
        });
    }
    if volume < 0 || buy < 0 || buy > volume {
        return Err(KlinesError::Volumes { index, volume, buy });
    }
    Ok(Candle {
        open_ms,
        open,
        high,
        low,
        close,
        volume,
        buy_volume: buy,
        sell_volume: volume - buy,
        trades: u32::try_from(trades).unwrap_or(u32::MAX),
        first_trade_id: 0,
        last_trade_id: 0,
    })
}

/// One asset's fetched history, ready to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetHistory {
    pub asset: Asset,
    /// Closed candles, oldest first.
    pub candles: Vec<Candle>,
}

/// What the start-up warm-up did, for the run summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarmupReport {
    /// Closed candles asked for per asset (0 = warm-up off).
    pub requested: u32,
    /// Histories fetched, per asset.
    pub histories: Vec<AssetHistory>,
    /// Assets that start cold, with the reason.
    pub failures: Vec<(Asset, String)>,
}

impl WarmupReport {
    /// Candles fetched over every asset.
    pub fn candles(&self) -> usize {
        self.histories.iter().map(|h| h.candles.len()).sum()
    }
}

/// Fetch `closed` candles for every asset in turn over one client; failures are collected per
/// asset, not fatal here (the caller decides). Once the host proved unreachable the remaining
/// assets are not tried (each try would wait out the connect deadline again). Blocks.
pub fn warm_assets(
    fetch: &mut impl Fetch,
    assets: &[Asset],
    closed: u32,
    now_ms: impl Fn() -> u64,
) -> WarmupReport {
    let mut report = WarmupReport {
        requested: closed,
        ..WarmupReport::default()
    };
    let mut unreachable = false;
    for &asset in assets {
        if unreachable {
            report
                .failures
                .push((asset, "not tried: the host was unreachable".to_string()));
            continue;
        }
        match fetch_closed_candles(fetch, asset, closed, now_ms()) {
            Ok(candles) => report.histories.push(AssetHistory { asset, candles }),
            Err(e) => {
                unreachable = matches!(
                    e,
                    WarmupError::Fetch {
                        err: FetchError::Unreachable,
                        ..
                    }
                );
                report.failures.push((asset, e.to_string()));
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::binance::records::Side;
    use crate::feeds::binance::state::AssetState;
    use crate::feeds::binance::{Record, Trade, TradeSource, Venue};

    const T0: u64 = 1_723_161_240_000; // a minute boundary

    fn kline(open_ms: u64, o: &str, h: &str, l: &str, c: &str) -> String {
        format!(
            "[{open_ms},\"{o}\",\"{h}\",\"{l}\",\"{c}\",\"12.50000000\",{},\"812345.12500000\",321,\"7.25000000\",\"471234.00000000\",\"0\"]",
            open_ms + 59_999
        )
    }

    fn answer(rows: &[String]) -> Vec<u8> {
        format!("[{}]", rows.join(",")).into_bytes()
    }

    fn good(n: u64) -> Vec<String> {
        (0..n)
            .map(|i| {
                let base = 65_000 + i;
                kline(
                    T0 + i * CANDLE_MS,
                    &format!("{base}.01000000"),
                    &format!("{}.50000000", base + 20),
                    &format!("{}.00000000", base - 20),
                    &format!("{}.10000000", base + 1),
                )
            })
            .collect()
    }

    #[test]
    fn parses_a_good_answer_and_drops_the_forming_kline() {
        let body = answer(&good(4));
        // At T0 + 3 min + 5 s the fourth kline is still forming.
        let now = T0 + 3 * CANDLE_MS + 5_000;
        let c = parse_klines(&body, now, 10).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(
            c[0],
            Candle {
                open_ms: T0,
                open: 6_500_001_000_000,
                high: 6_502_050_000_000,
                low: 6_498_000_000_000,
                close: 6_500_110_000_000,
                volume: 1_250_000_000,
                buy_volume: 725_000_000,
                sell_volume: 525_000_000,
                trades: 321,
                first_trade_id: 0,
                last_trade_id: 0,
            }
        );
        assert_eq!(c[2].open_ms, T0 + 2 * CANDLE_MS);
        // The same prices as the live trade parser gives for `"p":"65000.01000000"`.
        assert_eq!(c[0].open, parse_fixed(b"65000.01", PX_SCALE).unwrap());
        // Once the fourth minute is over, all four are closed.
        assert_eq!(
            parse_klines(&body, T0 + 4 * CANDLE_MS, 10).unwrap().len(),
            4
        );
        // An empty answer is an empty history.
        assert!(parse_klines(b"[]", now, 10).unwrap().is_empty());
    }

    #[test]
    fn malformed_json_and_wrong_shapes_are_refused() {
        let now = T0 + 10 * CANDLE_MS;
        assert!(matches!(
            parse_klines(b"[[1,2", now, 10),
            Err(KlinesError::Json(_))
        ));
        assert_eq!(
            parse_klines(br#"{"code":-1121,"msg":"Invalid symbol."}"#, now, 10),
            Err(KlinesError::NotArray)
        );
        assert_eq!(
            parse_klines(b"[[1,2,3]]", now, 10),
            Err(KlinesError::Shape { index: 0 })
        );
        assert_eq!(
            parse_klines(b"[\"x\"]", now, 10),
            Err(KlinesError::Shape { index: 0 })
        );
        assert_eq!(
            parse_klines(&answer(&good(3)), now, 2),
            Err(KlinesError::TooMany { count: 3, max: 2 })
        );
    }

    #[test]
    fn wrong_types_and_inexact_decimals_name_the_field() {
        let now = T0 + 10 * CANDLE_MS;
        let mut rows = good(2);
        // Open as a JSON number, as Binance never sends it.
        rows[1] = rows[1].replacen("\"65001.01000000\"", "65001.01", 1);
        assert_eq!(
            parse_klines(&answer(&rows), now, 10),
            Err(KlinesError::WrongType {
                index: 1,
                field: "open"
            })
        );
        let mut rows = good(1);
        rows[0] = rows[0].replacen(&format!("[{T0},"), &format!("[\"{T0}\","), 1);
        assert_eq!(
            parse_klines(&answer(&rows), now, 10),
            Err(KlinesError::WrongType {
                index: 0,
                field: "open time"
            })
        );
        let mut rows = good(1);
        rows[0] = rows[0].replacen(",321,", ",-1,", 1);
        assert_eq!(
            parse_klines(&answer(&rows), now, 10),
            Err(KlinesError::WrongType {
                index: 0,
                field: "number of trades"
            })
        );
        let mut rows = good(1);
        rows[0] = rows[0].replacen("\"12.50000000\"", "\"12.500000001\"", 1);
        assert_eq!(
            parse_klines(&answer(&rows), now, 10),
            Err(KlinesError::BadDecimal {
                index: 0,
                field: "volume",
                err: FixedError::Inexact
            })
        );
        let mut rows = good(1);
        rows[0] = rows[0].replacen("\"65020.50000000\"", "\"1e5\"", 1);
        assert!(matches!(
            parse_klines(&answer(&rows), now, 10),
            Err(KlinesError::BadDecimal { field: "high", .. })
        ));
    }

    #[test]
    fn inconsistent_candles_are_refused() {
        let now = T0 + 10 * CANDLE_MS;
        // High below low.
        let rows = [kline(T0, "100", "90", "95", "92")];
        assert!(matches!(
            parse_klines(&answer(&rows), now, 10),
            Err(KlinesError::Prices { index: 0, .. })
        ));
        // High below the close; low above the open; a zero low.
        for row in [
            kline(T0, "100", "101", "99", "102"),
            kline(T0, "100", "105", "100.5", "101"),
            kline(T0, "0", "1", "0", "1"),
        ] {
            assert!(matches!(
                parse_klines(&answer(&[row]), now, 10),
                Err(KlinesError::Prices { .. })
            ));
        }
        // Taker buy volume above the volume.
        let row = kline(T0, "100", "101", "99", "100").replacen("\"7.25000000\"", "\"13\"", 1);
        assert!(matches!(
            parse_klines(&answer(&[row]), now, 10),
            Err(KlinesError::Volumes { .. })
        ));
        // Unaligned open, wrong close time.
        let row = kline(T0 + 1, "100", "101", "99", "100");
        assert!(matches!(
            parse_klines(&answer(&[row]), now, 10),
            Err(KlinesError::Unaligned { index: 0, .. })
        ));
        let row = kline(T0, "100", "101", "99", "100").replacen(
            &(T0 + 59_999).to_string(),
            &(T0 + 60_000).to_string(),
            1,
        );
        assert!(matches!(
            parse_klines(&answer(&[row]), now, 10),
            Err(KlinesError::CloseTime { index: 0, .. })
        ));
    }

    #[test]
    fn out_of_order_gaps_and_future_klines_are_refused() {
        let now = T0 + 10 * CANDLE_MS;
        let mut rows = good(3);
        rows.swap(1, 2);
        assert_eq!(
            parse_klines(&answer(&rows), now, 10),
            Err(KlinesError::Sequence {
                index: 1,
                open_ms: T0 + 2 * CANDLE_MS,
                expected_ms: T0 + CANDLE_MS
            })
        );
        let mut rows = good(3);
        rows.remove(1);
        assert!(matches!(
            parse_klines(&answer(&rows), now, 10),
            Err(KlinesError::Sequence { index: 1, .. })
        ));
        let mut rows = good(2);
        rows.push(rows[1].clone());
        assert!(matches!(
            parse_klines(&answer(&rows), now, 10),
            Err(KlinesError::Sequence { index: 2, .. })
        ));
        // The local clock a little behind the venue's, early in a minute: the forming kline
        // and the one the venue just closed both end after `now`; both are dropped.
        let now = T0 + 2 * CANDLE_MS - 500;
        let c = parse_klines(&answer(&good(3)), now, 10).unwrap();
        assert_eq!(c.iter().map(|c| c.open_ms).collect::<Vec<_>>(), vec![T0]);
        // Three klines closing after now: the clocks disagree by more than that.
        assert_eq!(
            parse_klines(&answer(&good(4)), now, 10),
            Err(KlinesError::Future {
                index: 1,
                close_ms: T0 + 2 * CANDLE_MS - 1,
                now_ms: now
            })
        );
    }

    #[test]
    fn huge_input_is_refused_before_parsing() {
        let mut body = b"[".to_vec();
        body.resize(MAX_KLINES_BODY + 1, b' ');
        assert_eq!(
            parse_klines(&body, T0, 1_000),
            Err(KlinesError::TooLarge(MAX_KLINES_BODY + 1))
        );
        // Deep nesting is a JSON error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            parse_klines(deep.as_bytes(), T0, 1_000),
            Err(KlinesError::Json(_))
        ));
    }

    /// Answers from a script, recording the paths asked for.
    struct Scripted {
        answers: Vec<Result<(u16, Vec<u8>), FetchError>>,
        paths: Vec<String>,
    }

    impl Fetch for Scripted {
        fn get(&mut self, url_path: &str) -> Result<(u16, Vec<u8>), FetchError> {
            self.paths.push(url_path.to_string());
            self.answers.remove(0)
        }
    }

    #[test]
    fn fetch_asks_for_one_more_and_reports_venue_errors_per_asset() {
        let mut fetch = Scripted {
            answers: vec![
                Ok((200, answer(&good(3)))),
                Ok((400, br#"{"code":-1121,"msg":"Invalid symbol."}"#.to_vec())),
                Err(FetchError::Timeout),
                Ok((200, b"[[".to_vec())),
            ],
            paths: Vec::new(),
        };
        let now = T0 + 3 * CANDLE_MS + 1;
        let report = warm_assets(
            &mut fetch,
            &[Asset::Btc, Asset::Eth, Asset::Sol, Asset::Xrp],
            2,
            || now,
        );
        assert_eq!(
            fetch.paths[0],
            "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=3"
        );
        assert_eq!(report.requested, 2);
        // Three closed, the newest two kept.
        assert_eq!(report.histories.len(), 1);
        let btc = &report.histories[0];
        assert_eq!(btc.asset, Asset::Btc);
        let opens: Vec<u64> = btc.candles.iter().map(|c| c.open_ms).collect();
        assert_eq!(opens, vec![T0 + CANDLE_MS, T0 + 2 * CANDLE_MS]);
        assert_eq!(report.candles(), 2);
        let reasons: Vec<(Asset, &str)> = report
            .failures
            .iter()
            .map(|(a, r)| (*a, r.as_str()))
            .collect();
        assert_eq!(reasons.len(), 3);
        assert_eq!(
            reasons[0],
            (
                Asset::Eth,
                "GET /api/v3/klines?symbol=ETHUSDT&interval=1m&limit=3: HTTP 400 (-1121: Invalid symbol.)"
            )
        );
        assert!(
            reasons[1].1.ends_with("request timed out"),
            "{}",
            reasons[1].1
        );
        assert!(reasons[2].1.contains("not JSON"), "{}", reasons[2].1);
        // The limit never exceeds Binance's maximum.
        assert!(klines_path(Asset::Btc, MAX_KLINES).ends_with("limit=1000"));
        let mut fetch = Scripted {
            answers: vec![Ok((200, b"[]".to_vec()))],
            paths: Vec::new(),
        };
        fetch_closed_candles(&mut fetch, Asset::Xrp, 5_000, now).unwrap();
        assert!(fetch.paths[0].ends_with("symbol=XRPUSDT&interval=1m&limit=1000"));
        // An unreachable host is tried once, not once per asset.
        let mut fetch = Scripted {
            answers: vec![Err(FetchError::Unreachable)],
            paths: Vec::new(),
        };
        let report = warm_assets(&mut fetch, &[Asset::Btc, Asset::Eth], 2, || now);
        assert_eq!(fetch.paths.len(), 1);
        assert_eq!(report.failures.len(), 2);
        assert!(report.failures[1].1.contains("unreachable"));
        assert!(report.histories.is_empty());
    }

    fn trade(px: i64, ts: u64, id: u64) -> Record {
        Record::Trade(Trade {
            asset: Asset::Btc,
            venue: Venue::Spot,
            px,
            qty: 1_000_000,
            exch_ts_ms: ts,
            event_ts_ms: ts,
            recv_ns: 0,
            trade_id: id,
            taker_side: Side::Buy,
            is_market: true,
        })
    }

    #[test]
    fn seeded_state_gives_a_regime_on_the_first_update() {
        use crate::book::{TickSize, TokenBook};
        use crate::config::Config;
        use crate::signals::{MarketInputs, SignalParams, SignalSet};

        // 20 closed minutes, the last kline forming.
        let body = answer(&good(21));
        let now = T0 + 20 * CANDLE_MS + 30_000;
        let history = parse_klines(&body, now, 1_000).unwrap();
        assert_eq!(history.len(), 20);
        let mut st = AssetState::new(Asset::Btc, Venue::Spot, TradeSource::Trade);
        assert_eq!(st.seed_candles(&history), Ok(20));

        let cfg = Config::shipped().unwrap();
        let params = SignalParams::from_config(&cfg.signals, crate::config::Asset::Btc);
        let (up, down) = (
            TokenBook::new(TickSize::Cent),
            TokenBook::new(TickSize::Cent),
        );
        let market = MarketInputs {
            end_ms: now + 300_000,
            price_to_beat_e18: None,
            fee_rate_ppm: None,
        };
        // Before any live trade: every seeded candle is synced on the first update.
        let mut before = SignalSet::new(params);
        let s = *before.update(&mut st, &up, &down, &market, now);
        assert_eq!(s.candles, 20);
        assert!(s.atr_px.is_some());
        // Ranges are $40.50 → LOW for BTC ($15..$50).
        assert_eq!(s.regime, Some(crate::signals::Regime::Low));

        // A live trade in the forming minute (the dropped kline's), then one in the next.
        let forming = T0 + 20 * CANDLE_MS;
        st.apply(&trade(6_502_000_000_000, forming + 40_000, 1));
        st.apply(&trade(6_503_000_000_000, forming + 50_000, 2));
        st.apply(&trade(6_504_000_000_000, forming + CANDLE_MS + 1, 3));
        let opens: Vec<u64> = st.candles().closed().iter().map(|c| c.open_ms).collect();
        let mut want: Vec<u64> = (0..=20).map(|i| T0 + i * CANDLE_MS).collect();
        assert_eq!(opens, want);
        let live = st.candles().closed().latest().copied().unwrap();
        assert_eq!(
            (live.open, live.close, live.trades),
            (6_502_000_000_000, 6_503_000_000_000, 2)
        );
        // A trade in the last seeded minute is late, not a second candle for that minute.
        st.apply(&trade(1, T0 + 19 * CANDLE_MS + 59_000, 4));
        assert_eq!(st.candles().late_trades(), 1);

        // A signal set created now, after the live trades, is warm on its first update too.
        let mut after = SignalSet::new(params);
        let s = *after.update(&mut st, &up, &down, &market, forming + CANDLE_MS + 2);
        assert_eq!(s.candles, 21);
        assert!(s.regime.is_some());
        // The first one picks up exactly the live candle.
        let s = *before.update(&mut st, &up, &down, &market, forming + CANDLE_MS + 2);
        assert_eq!(s.candles, 21);
        want.push(forming + CANDLE_MS);
        assert_eq!(
            st.candles().forming().map(|c| c.open_ms),
            want.last().copied()
        );
    }
}
