//! The simulated Binance spot REST klines (`GET /api/v3/klines?symbol=&interval=1m&limit=`):
//! per asset, the 1-minute candles of the simulated spot trades, served in Binance's JSON shape
//! (an array of 12-field arrays: open time, open, high, low, close, volume, close time, quote
//! volume, trades, taker buy base, taker buy quote, an unused `"0"`), newest last, the forming
//! minute included.
//!
//! History: at start-up the world runs each asset's seeded price process over the past
//! [`KLINE_HISTORY`] minutes in 1 s steps (per step a Poisson-like count of trades at the bid or
//! ask, aggregated), so the history is deterministic for a seed and the live price continues
//! from its last close; live spot trades then extend it ([`KlineStore::record`]). Minutes
//! without trades become flat zero-volume klines, as on Binance, so open times stay exactly
//! 60 000 ms apart.
//!
//! Errors follow Binance: unknown symbol → 400 `{"code":-1121,"msg":"Invalid symbol."}`; an
//! interval other than `1m` (the only one simulated) → -1120; a missing symbol/interval →
//! -1102; a `limit` outside 1..=1000 or not a number → -1100. Prices and sizes are integers at
//! 1e-8 and printed with 8 decimals.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::json;

use super::polymarket::http::{HttpRequest, HttpResponse};

/// Closed 1-minute klines kept per asset (Binance's largest `limit`).
pub const KLINE_HISTORY: usize = 1_000;
/// Candle length.
pub const KLINE_MS: u64 = 60_000;
/// `limit` when the request gives none (Binance's default).
pub const DEFAULT_LIMIT: usize = 500;

/// One simulated 1-minute kline (prices and sizes at 1e-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimKline {
    pub open_ms: u64,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    pub volume: i64,
    pub quote_volume: i64,
    pub trades: u64,
    pub buy_volume: i64,
    pub buy_quote_volume: i64,
}

impl SimKline {
    fn flat(open_ms: u64, px: i64) -> Self {
        SimKline {
            open_ms,
            open: px,
            high: px,
            low: px,
            close: px,
            volume: 0,
            quote_volume: 0,
            trades: 0,
            buy_volume: 0,
            buy_quote_volume: 0,
        }
    }
}

/// One asset's klines: closed ones (oldest first) and the forming one.
#[derive(Debug, Clone)]
struct AssetKlines {
    /// Upper-case symbol (`BTCUSDT`).
    symbol: String,
    closed: VecDeque<SimKline>,
    forming: Option<SimKline>,
}

/// Every simulated asset's klines.
#[derive(Debug, Clone, Default)]
pub struct KlineStore {
    assets: Vec<AssetKlines>,
}

/// The store as shared by the world thread and the REST service.
pub type SharedKlines = Arc<Mutex<KlineStore>>;

/// Lock the store (a poisoned lock still holds consistent klines: every update is one push).
pub fn lock(store: &SharedKlines) -> MutexGuard<'_, KlineStore> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

/// `px × qty` at 1e-8 (quote units), saturating.
fn quote(px: i64, qty: i64) -> i64 {
    let q = i128::from(px) * i128::from(qty) / 100_000_000;
    i64::try_from(q).unwrap_or(i64::MAX)
}

impl KlineStore {
    /// An empty store for these upper-case symbols (asset index = position).
    pub fn new(symbols: &[String]) -> Self {
        KlineStore {
            assets: symbols
                .iter()
                .map(|s| AssetKlines {
                    symbol: s.clone(),
                    closed: VecDeque::with_capacity(KLINE_HISTORY + 1),
                    forming: None,
                })
                .collect(),
        }
    }

    /// Record `trades` trades of `qty` in total (of which `buy_qty` bought by takers) at prices
    /// within `[low, high]`, last at `last`, at exchange time `ts_ms`, for asset `i`. A time
    /// before the forming minute is ignored (the world's clock only moves forward).
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        i: usize,
        ts_ms: u64,
        low: i64,
        high: i64,
        last: i64,
        qty: i64,
        buy_qty: i64,
        trades: u64,
    ) {
        let Some(a) = self.assets.get_mut(i) else {
            return;
        };
        let minute = ts_ms - ts_ms % KLINE_MS;
        if let Some(f) = a.forming {
            if minute < f.open_ms {
                return;
            }
            if minute > f.open_ms {
                push_closed(&mut a.closed, f);
                // Minutes without trades: flat zero-volume klines, at most a history's worth.
                let gap = ((minute - f.open_ms) / KLINE_MS).saturating_sub(1);
                let skip = gap.saturating_sub(KLINE_HISTORY as u64);
                for k in skip..gap {
                    push_closed(
                        &mut a.closed,
                        SimKline::flat(f.open_ms + (k + 1) * KLINE_MS, f.close),
                    );
                }
                a.forming = None;
            }
        }
        let k = a.forming.get_or_insert(SimKline {
            open: last,
            high: high.max(last),
            low: low.min(last),
            ..SimKline::flat(minute, last)
        });
        k.high = k.high.max(high);
        k.low = k.low.min(low);
        k.close = last;
        k.volume = k.volume.saturating_add(qty);
        k.quote_volume = k.quote_volume.saturating_add(quote(last, qty));
        k.buy_volume = k.buy_volume.saturating_add(buy_qty);
        k.buy_quote_volume = k.buy_quote_volume.saturating_add(quote(last, buy_qty));
        k.trades = k.trades.saturating_add(trades);
    }

    /// The newest `limit` klines of `symbol` (upper case), the forming one last; `None` for an
    /// unknown symbol.
    pub fn latest(&self, symbol: &str, limit: usize) -> Option<Vec<SimKline>> {
        let a = self.assets.iter().find(|a| a.symbol == symbol)?;
        let all: Vec<SimKline> = a.closed.iter().copied().chain(a.forming).collect();
        let skip = all.len().saturating_sub(limit);
        Some(all[skip..].to_vec())
    }
}

fn push_closed(closed: &mut VecDeque<SimKline>, k: SimKline) {
    if closed.len() == KLINE_HISTORY {
        closed.pop_front();
    }
    closed.push_back(k);
}

/// Write `v` (1e-8) with exactly 8 decimals, as Binance prints prices and sizes.
fn e8(out: &mut String, v: i64) {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let _ = write!(out, "\"{sign}{}.{:08}\"", a / 100_000_000, a % 100_000_000);
}

/// The klines answer body.
pub fn klines_json(klines: &[SimKline]) -> String {
    let mut out = String::with_capacity(klines.len() * 200 + 2);
    out.push('[');
    for (n, k) in klines.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let _ = write!(out, "[{},", k.open_ms);
        for v in [k.open, k.high, k.low, k.close, k.volume] {
            e8(&mut out, v);
            out.push(',');
        }
        let _ = write!(out, "{},", k.open_ms + KLINE_MS - 1);
        e8(&mut out, k.quote_volume);
        let _ = write!(out, ",{},", k.trades);
        e8(&mut out, k.buy_volume);
        out.push(',');
        e8(&mut out, k.buy_quote_volume);
        out.push_str(",\"0\"]");
    }
    out.push(']');
    out
}

fn binance_error(status: u16, code: i64, msg: &str) -> HttpResponse {
    HttpResponse::json(status, &json!({"code": code, "msg": msg}))
}

/// Answer one request of the simulated spot REST host.
pub fn route(req: &HttpRequest, store: &SharedKlines) -> HttpResponse {
    if req.method != "GET" || req.path != "/api/v3/klines" {
        return binance_error(404, -1000, "Unknown endpoint.");
    }
    let (Some(symbol), Some(interval)) = (req.param("symbol"), req.param("interval")) else {
        let missing = if req.param("symbol").is_none() {
            "symbol"
        } else {
            "interval"
        };
        return binance_error(
            400,
            -1102,
            &format!("Mandatory parameter '{missing}' was not sent, was empty/null, or malformed."),
        );
    };
    if interval != "1m" {
        return binance_error(400, -1120, "Invalid interval.");
    }
    let limit = match req.param("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=KLINE_HISTORY).contains(&n) => n,
            _ => {
                return binance_error(
                    400,
                    -1100,
                    "Illegal characters found in parameter 'limit'; legal range is '1..1000'.",
                )
            }
        },
    };
    match lock(store).latest(symbol, limit) {
        Some(klines) => HttpResponse {
            status: 200,
            content_type: "application/json;charset=UTF-8",
            body: klines_json(&klines),
            ..HttpResponse::default()
        },
        None => binance_error(400, -1121, "Invalid symbol."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::binance::candles::CANDLE_MS;
    use crate::feeds::binance::warmup::parse_klines;

    const T0: u64 = 1_723_161_240_000;

    fn request(target: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            path: target.split('?').next().unwrap().into(),
            query: super::super::polymarket::http::parse_query(target),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    fn store() -> SharedKlines {
        let mut s = KlineStore::new(&["BTCUSDT".to_string()]);
        // Minute 0: two batches; minute 1 skipped (no trades); minute 2 forming.
        s.record(
            0,
            T0 + 1_000,
            100_000_000,
            101_000_000,
            100_500_000,
            3_000,
            1_000,
            2,
        );
        s.record(
            0,
            T0 + 2_000,
            99_000_000,
            100_000_000,
            99_500_000,
            1_000,
            1_000,
            1,
        );
        s.record(
            0,
            T0 + 2 * KLINE_MS + 5,
            98_000_000,
            98_000_000,
            98_000_000,
            1,
            0,
            1,
        );
        // Behind the forming minute: ignored.
        s.record(0, T0 + 10, 1, 1, 1, 1, 1, 1);
        Arc::new(Mutex::new(s))
    }

    #[test]
    fn klines_round_trip_through_the_engine_parser() {
        let store = store();
        let resp = route(
            &request("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=10"),
            &store,
        );
        assert_eq!(resp.status, 200);
        // The forming minute's kline closes after now and is dropped by the engine.
        let now = T0 + 2 * KLINE_MS + 10;
        let c = parse_klines(resp.body.as_bytes(), now, 10).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].open_ms, c[0].open, c[0].high, c[0].low, c[0].close),
            (T0, 100_500_000, 101_000_000, 99_000_000, 99_500_000)
        );
        assert_eq!(
            (c[0].volume, c[0].buy_volume, c[0].trades),
            (4_000, 2_000, 3)
        );
        // The empty minute is a flat zero-volume kline at the previous close.
        assert_eq!(c[1].open_ms, T0 + CANDLE_MS);
        assert_eq!(
            (c[1].open, c[1].high, c[1].low, c[1].close),
            (99_500_000, 99_500_000, 99_500_000, 99_500_000)
        );
        assert_eq!(c[1].volume, 0);
        // limit keeps the newest.
        let resp = route(
            &request("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1"),
            &store,
        );
        assert!(resp.body.starts_with(&format!("[[{}", T0 + 2 * KLINE_MS)));
    }

    #[test]
    fn bad_requests_get_binance_errors() {
        let store = store();
        let code = |target: &str| {
            let r = route(&request(target), &store);
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            (
                r.status,
                v["code"].as_i64().unwrap(),
                v["msg"].as_str().unwrap().to_string(),
            )
        };
        assert_eq!(
            code("/api/v3/klines?symbol=DOGEUSDT&interval=1m"),
            (400, -1121, "Invalid symbol.".to_string())
        );
        assert_eq!(code("/api/v3/klines?symbol=BTCUSDT&interval=7m").1, -1120);
        assert_eq!(code("/api/v3/klines?interval=1m").1, -1102);
        assert_eq!(code("/api/v3/klines?symbol=BTCUSDT").1, -1102);
        for limit in ["0", "1001", "ten", "-1"] {
            let c = code(&format!(
                "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit={limit}"
            ));
            assert_eq!((c.0, c.1), (400, -1100), "limit={limit}");
        }
        assert_eq!(code("/api/v3/ticker/price").0, 404);
        // No limit: Binance's default of 500 (all three here).
        let r = route(
            &request("/api/v3/klines?symbol=BTCUSDT&interval=1m"),
            &store,
        );
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 3);
    }

    #[test]
    fn history_is_capped_and_gaps_are_bounded() {
        let mut s = KlineStore::new(&["ETHUSDT".to_string()]);
        for m in 0..(KLINE_HISTORY as u64 + 5) {
            s.record(0, T0 + m * KLINE_MS, 1, 2, 2, 1, 0, 1);
        }
        let all = s.latest("ETHUSDT", usize::MAX).unwrap();
        assert_eq!(all.len(), KLINE_HISTORY + 1);
        assert_eq!(all[0].open_ms, T0 + 4 * KLINE_MS);
        // A very long pause fills at most a history's worth of flat klines.
        s.record(0, T0 + 100_000 * KLINE_MS, 1, 1, 1, 1, 0, 1);
        let all = s.latest("ETHUSDT", usize::MAX).unwrap();
        assert_eq!(all.len(), KLINE_HISTORY + 1);
        assert!(all
            .windows(2)
            .all(|w| w[1].open_ms == w[0].open_ms + KLINE_MS));
        assert_eq!(all.last().unwrap().open_ms, T0 + 100_000 * KLINE_MS);
    }
}
