//! The signal layer against real recorded data, each statistic checked against an independent
//! whole-window recomputation written here (not the incremental code):
//!
//! * Binance BTCUSDT spot and USD-M trades (`../shared/data/replay/binance_ws_hftbacktest/`,
//!   2024-08-08, ~6 minutes each): every frame through `BinanceParser` → `BinanceState` (its
//!   `CandleBuilder` makes the 1-minute candles) and a `SignalSet::update` per trade. The files
//!   hold only five closed minutes, so the periods here are short (ATR 3, EMA 2/4, Bollinger 3).
//! * A full day of real Chainlink BTC/USD ticks (`polymarket_chainlink_ligengxin96/`,
//!   2026-06-08) turned into ~1440 1-minute candles by the same `CandleBuilder`, with the
//!   shipped (spec) periods: ATR 14, EMA 5/20, Bollinger 20 with a 100-width percentile rank,
//!   60-return realised vol.
//! * Real Polymarket BTC 15m Up/Down books (`polymarket_books_resolvedkit/`): the arb scanner
//!   against a rust_decimal recomputation from the snapshot level lists, exactly.
//!
//! Tolerance: 1e-9 relative for f64 statistics; ranks and regimes exactly. The last test proves
//! a tick → all-signals update allocates nothing after warm-up (counting allocator).

use std::io::{BufRead, BufReader};

use sattebaaz::book::{BookSide, MarketBooks, TickSize, TokenBook};
use sattebaaz::config::{Asset, Config};
use sattebaaz::feeds::binance::candles::{Candle, CandleBuilder, CANDLE_MS};
use sattebaaz::feeds::binance::{Asset as FeedAsset, BinanceParser, BinanceState, Record, Side};
use sattebaaz::feeds::binance::{TradeSource, Venue};
use sattebaaz::signals::volatility::MINUTES_PER_YEAR;
use sattebaaz::signals::{
    Atr, Compression, Ema, MarketInputs, RealisedVol, Regime, SignalParams, SignalSet,
    SignalSnapshot,
};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const UP: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const DOWN: &str = "52114319501245915516055106046884209969926127482827954674443846427813813222426";
const MARKET: &str = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1";

fn shared(sub: &str) -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/data/replay").join(sub))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("no shared/data/replay/{sub} above {}", manifest.display()))
}

fn gz_lines(path: std::path::PathBuf) -> Vec<String> {
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|l| l.unwrap())
        .collect()
}

/// `(local_ns, frame)` of a recorded Binance file.
fn binance_frames(name: &str) -> Vec<(u64, String)> {
    gz_lines(shared("binance_ws_hftbacktest").join(name))
        .into_iter()
        .map(|l| {
            let (ts, json) = l.split_once(' ').expect("`<local_ns> <json>`");
            (ts.parse().unwrap(), json.to_owned())
        })
        .collect()
}

#[track_caller]
fn close_rel(got: f64, want: f64, what: &str) {
    let tol = 1e-9 * want.abs().max(1e-300);
    assert!(
        (got - want).abs() <= tol,
        "{what}: incremental {got} vs recomputed {want}"
    );
}

#[track_caller]
fn close_opt(got: Option<f64>, want: Option<f64>, what: &str) {
    match (got, want) {
        (Some(g), Some(w)) => close_rel(g, w, what),
        (None, None) => {}
        _ => panic!("{what}: incremental {got:?} vs recomputed {want:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Independent whole-window recomputations over the candle list so far.

fn ref_true_ranges(c: &[Candle]) -> Vec<f64> {
    c.iter()
        .enumerate()
        .map(|(i, k)| {
            let hl = (k.high - k.low) as f64;
            if i == 0 {
                hl
            } else {
                let p = c[i - 1].close as f64;
                hl.max((k.high as f64 - p).abs())
                    .max((k.low as f64 - p).abs())
            }
        })
        .collect()
}

/// Wilder's ATR from scratch: mean of the first n TRs, then (ATR·(n−1) + TR) / n.
fn ref_atr(c: &[Candle], n: usize) -> Option<f64> {
    let tr = ref_true_ranges(c);
    if tr.len() < n {
        return None;
    }
    let mut atr = tr[..n].iter().sum::<f64>() / n as f64;
    for x in &tr[n..] {
        atr = (atr * (n as f64 - 1.0) + x) / n as f64;
    }
    Some(atr)
}

/// EMA from scratch: SMA of the first n values, then α = 2/(n+1).
fn ref_ema(closes: &[f64], n: usize) -> Option<f64> {
    if closes.len() < n {
        return None;
    }
    let a = 2.0 / (n as f64 + 1.0);
    let mut e = closes[..n].iter().sum::<f64>() / n as f64;
    for x in &closes[n..] {
        e = a * x + (1.0 - a) * e;
    }
    Some(e)
}

/// Bollinger relative width of the last `period` closes: two-pass mean and population σ.
fn ref_width(closes: &[f64], period: usize, k: f64) -> Option<f64> {
    if closes.len() < period {
        return None;
    }
    let w = &closes[closes.len() - period..];
    let mean = w.iter().sum::<f64>() / period as f64;
    let var = w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / period as f64;
    Some(2.0 * k * var.sqrt() / mean)
}

/// Percentile rank of the last width among the last `history` widths (strictly below / len).
fn ref_rank(widths: &[f64], history: usize) -> f64 {
    let w = &widths[widths.len().saturating_sub(history)..];
    let cur = *w.last().unwrap();
    100.0 * w.iter().filter(|x| **x < cur).count() as f64 / w.len() as f64
}

/// Annualised sample std of the last `window` per-minute log returns.
fn ref_realised(c: &[Candle], window: usize, min: usize) -> Option<f64> {
    let r: Vec<f64> = c
        .windows(2)
        .map(|p| {
            let minutes = ((p[1].open_ms - p[0].open_ms) / CANDLE_MS) as f64;
            (p[1].close as f64 / p[0].close as f64).ln() / minutes.sqrt()
        })
        .collect();
    let r = &r[r.len().saturating_sub(window)..];
    if r.len() < min {
        return None;
    }
    let mean = r.iter().sum::<f64>() / r.len() as f64;
    let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r.len() as f64 - 1.0);
    Some((var * MINUTES_PER_YEAR).sqrt())
}

// ---------------------------------------------------------------------------------------------

fn books() -> MarketBooks {
    let mut books = MarketBooks::with_capacity(1);
    let m = books.add_market(MARKET, UP, DOWN, TickSize::Cent).unwrap();
    let (up, down) = MarketBooks::tokens_of(m);
    for (t, bid, ask) in [(up, 470_000, 480_000), (down, 500_000, 510_000)] {
        books.begin_snapshot(t, None);
        for i in 0..5 {
            books
                .snapshot_level(t, BookSide::Bid, bid - i * 10_000, 50_000_000)
                .unwrap();
            books
                .snapshot_level(t, BookSide::Ask, ask + i * 10_000, 40_000_000)
                .unwrap();
        }
        books.finish_snapshot(t, 0, 0);
    }
    books
}

fn up_down(books: &MarketBooks) -> (&TokenBook, &TokenBook) {
    let (u, d) = MarketBooks::tokens_of(sattebaaz::book::MarketIdx(0));
    (books.book(u).unwrap(), books.book(d).unwrap())
}

fn short_params() -> SignalParams {
    let mut cfg = Config::shipped().unwrap().signals;
    cfg.atr_period = 3;
    cfg.ema_fast = 2;
    cfg.ema_slow = 4;
    cfg.bollinger_period = 3;
    cfg.width_min_history = 1;
    cfg.realised_vol_min_returns = 2;
    SignalParams::from_config(&cfg, Asset::Btc)
}

/// Replay one Binance file through parser, state and a SignalSet; return the snapshot taken at
/// each candle close and the final closed candles.
fn replay(name: &str, venue: Venue) -> (Vec<SignalSnapshot>, Vec<Candle>, u64) {
    let frames = binance_frames(name);
    let mut parser = BinanceParser::new(venue);
    let mut state = BinanceState::new(TradeSource::Trade);
    let books = books();
    let (up, down) = up_down(&books);
    let mut set = SignalSet::new(short_params());
    let mut at_close = Vec::new();
    let mut trades = 0;
    let mut market = None;
    for (ns, json) in &frames {
        let Ok(rec) = parser.parse(json.as_bytes(), *ns) else {
            continue;
        };
        state.apply(&rec);
        if let Record::Trade(t) = rec {
            trades += 1;
            // A window that started at the first trade's minute and lasts 15 minutes.
            let m = *market.get_or_insert(MarketInputs {
                end_ms: t.exch_ts_ms - t.exch_ts_ms % CANDLE_MS + 900_000,
                price_to_beat_e18: Some(i128::from(t.px) * 10_000_000_000),
                fee_rate_ppm: Some(70_000),
            });
            let before = set.snapshot().candles;
            let s = *set.update(
                state.get_mut(venue, FeedAsset::Btc),
                up,
                down,
                &m,
                t.exch_ts_ms,
            );
            if s.candles > before {
                assert_eq!(s.candles, before + 1, "one trade closes at most one candle");
                at_close.push(s);
            }
        }
    }
    let candles: Vec<Candle> = state
        .get(venue, FeedAsset::Btc)
        .candles()
        .closed()
        .iter()
        .copied()
        .collect();
    (at_close, candles, trades)
}

fn check_binance(name: &str, venue: Venue) {
    let (snaps, candles, trades) = replay(name, venue);
    assert!(trades > 1_000, "{name}: {trades} trades");
    assert_eq!(snaps.len(), candles.len());
    assert!(
        candles.len() >= 5,
        "{name}: {} closed minutes",
        candles.len()
    );
    let p = short_params();
    let mut widths = Vec::new();
    let mut atr_checked = 0;
    for (i, s) in snaps.iter().enumerate() {
        let c = &candles[..=i];
        let closes: Vec<f64> = c.iter().map(|k| k.close as f64).collect();
        let atr = ref_atr(c, 3);
        close_opt(s.atr_px, atr, &format!("{name} ATR(3) at candle {i}"));
        atr_checked += usize::from(atr.is_some());
        let regime = atr.map(|a| Regime::classify(a, &p.atr_thresholds_micro));
        assert_eq!(s.regime, regime);
        close_opt(
            s.ema_fast,
            ref_ema(&closes, 2),
            &format!("{name} EMA(2) {i}"),
        );
        close_opt(
            s.ema_slow,
            ref_ema(&closes, 4),
            &format!("{name} EMA(4) {i}"),
        );
        let w = ref_width(&closes, 3, 2.0);
        close_opt(s.compression.width, w, &format!("{name} width {i}"));
        if let Some(w) = w {
            widths.push(w);
            assert_eq!(s.compression.rank_pct, Some(ref_rank(&widths, 100)));
        }
        close_opt(
            s.realised_vol,
            ref_realised(c, 60, 2),
            &format!("{name} realised vol {i}"),
        );
        if i >= 1 {
            assert_eq!(s.closes, Some((c[i - 1].close, c[i].close)));
        }
    }
    assert!(atr_checked >= 3, "{name}: ATR compared {atr_checked} times");
    let last = snaps.last().unwrap();
    assert!(last.fair_up.is_some_and(|f| (0.0..=1.0).contains(&f)));
    assert!(last.arb.is_some());
}

#[test]
fn binance_spot_signals_match_recomputation() {
    check_binance("spot_btcusdt_20240808.gz", Venue::Spot);
}

#[test]
fn binance_futures_signals_match_recomputation() {
    check_binance("usdm_btcusdt_20240808.gz", Venue::Futures);
}

/// 1-minute candles of the real Chainlink BTC/USD day, built by `CandleBuilder`.
fn chainlink_candles() -> Vec<Candle> {
    let lines = gz_lines(
        shared("polymarket_chainlink_ligengxin96").join("BTCUSD-prices-2026-06-08.csv.gz"),
    );
    let mut b = CandleBuilder::new();
    let mut out = Vec::new();
    for (id, line) in lines.iter().skip(1).enumerate() {
        let mut f = line.split(',');
        let ts: u64 = f.next().unwrap().parse().unwrap();
        let _float = f.next();
        let e18: i128 = f.next().unwrap().parse().unwrap();
        let px = (e18 / 10_000_000_000) as i64;
        if let Some(c) = b.on_trade(ts, px, 0, Side::Buy, id as u64) {
            out.push(c);
        }
    }
    out
}

#[test]
fn chainlink_day_candle_indicators_match_recomputation_at_spec_periods() {
    let candles = chainlink_candles();
    assert!(candles.len() > 1_300, "{} candles", candles.len());
    let cfg = Config::shipped().unwrap().signals;
    let p = SignalParams::from_config(&cfg, Asset::Btc);
    assert_eq!((p.atr_period, p.ema_fast, p.ema_slow), (14, 5, 20));
    assert_eq!((p.compression.period, p.compression.history), (20, 100));
    let mut atr = Atr::new(p.atr_period);
    let mut fast = Ema::new(p.ema_fast);
    let mut slow = Ema::new(p.ema_slow);
    let mut comp = Compression::new(p.compression);
    let mut rv = RealisedVol::new(p.realised_vol_window, p.realised_vol_min_returns);
    let mut closes = Vec::new();
    let mut widths = Vec::new();
    let (mut compressed, mut breakouts) = (0, 0);
    let mut regimes = [0usize; 5];
    for (i, c) in candles.iter().enumerate() {
        closes.push(c.close as f64);
        let upto = &candles[..=i];
        let a = atr.on_candle(c);
        let want_atr = ref_atr(upto, 14);
        close_opt(a, want_atr, &format!("ATR(14) at {i}"));
        if let Some(a) = a {
            regimes[Regime::classify(a, &p.atr_thresholds_micro).index()] += 1;
        }
        close_opt(fast.push(c.close as f64), ref_ema(&closes, 5), "EMA(5)");
        close_opt(slow.push(c.close as f64), ref_ema(&closes, 20), "EMA(20)");
        let r = comp.on_close(c.close);
        let w = ref_width(&closes, 20, 2.0);
        close_opt(r.width, w, &format!("Bollinger width at {i}"));
        if let Some(w) = w {
            widths.push(w);
            let rank = (widths.len() >= 20).then(|| ref_rank(&widths, 100));
            assert_eq!(r.rank_pct, rank, "rank at {i}");
            let is_compressed = rank.is_some_and(|k| k < 10.0);
            assert_eq!(r.compressed, is_compressed, "compression at {i}");
            let prev = widths.len().checked_sub(2).map(|j| widths[j]);
            let is_breakout = is_compressed && prev.is_some_and(|pw| w > 1.5 * pw);
            assert_eq!(r.breakout, is_breakout, "breakout at {i}");
            compressed += usize::from(is_compressed);
            breakouts += usize::from(is_breakout);
        }
        rv.on_candle(c);
        close_opt(
            rv.annualised(),
            ref_realised(upto, 60, 10),
            &format!("RV at {i}"),
        );
    }
    // The day has quiet stretches: the comparison covered compressions, and more than one regime.
    assert!(compressed > 0, "no compression in a whole day");
    assert!(
        regimes.iter().filter(|n| **n > 0).count() >= 2,
        "{regimes:?}"
    );
    eprintln!("compressed {compressed}, breakouts {breakouts}, regimes {regimes:?}");
}

#[test]
fn tick_to_signals_allocates_nothing_after_warm_up() {
    let frames = binance_frames("usdm_btcusdt_20240808.gz");
    let mut parser = BinanceParser::new(Venue::Futures);
    let mut state = BinanceState::new(TradeSource::Trade);
    let mut books = books();
    let (up_t, _) = MarketBooks::tokens_of(sattebaaz::book::MarketIdx(0));
    let mut set = SignalSet::new(SignalParams::from_config(
        &Config::shipped().unwrap().signals,
        Asset::Btc,
    ));
    let market = MarketInputs {
        end_ms: 1_723_161_600_000,
        price_to_beat_e18: Some(61_000 * 10i128.pow(18)),
        fee_rate_ppm: None,
    };
    let warm = frames.len() / 5;
    let step = |i: usize,
                frame: &(u64, String),
                parser: &mut BinanceParser,
                state: &mut BinanceState,
                books: &mut MarketBooks,
                set: &mut SignalSet|
     -> bool {
        let Ok(rec) = parser.parse(frame.1.as_bytes(), frame.0) else {
            return false;
        };
        state.apply(&rec);
        let Record::Trade(t) = rec else {
            return false;
        };
        // Move the Up ask around so momentum and the arb see changing books.
        let ask = 480_000 + (i as i64 % 3) * 10_000;
        books
            .apply_level(
                up_t,
                BookSide::Ask,
                ask,
                40_000_000 + i as i64,
                t.exch_ts_ms,
                0,
            )
            .unwrap();
        let (up, down) = up_down(books);
        set.update(
            state.get_mut(Venue::Futures, FeedAsset::Btc),
            up,
            down,
            &market,
            t.exch_ts_ms,
        );
        true
    };
    for (i, f) in frames[..warm].iter().enumerate() {
        step(i, f, &mut parser, &mut state, &mut books, &mut set);
    }
    let candles_before = set.snapshot().candles;
    let (allocs, updates) = count_allocations(|| {
        let mut n = 0usize;
        for (i, f) in frames[warm..].iter().enumerate() {
            n += usize::from(step(
                warm + i,
                f,
                &mut parser,
                &mut state,
                &mut books,
                &mut set,
            ));
        }
        n
    });
    assert!(updates > 10_000, "{updates} updates");
    assert!(
        set.snapshot().candles > candles_before,
        "no candle closed while measured"
    );
    assert!(set.snapshot().momentum.scores > 0);
    assert_eq!(
        allocs, 0,
        "{allocs} allocations over {updates} tick → signals updates"
    );
}

/// Real Polymarket BTC 15m books (`polymarket_books_resolvedkit/`, 25k snapshots): every time
/// both sides of a market have a snapshot, the arb scanner on the engine's books must equal an
/// independent rust_decimal computation from the snapshot's level lists.
#[test]
fn arb_scan_on_real_books_matches_a_decimal_recomputation() {
    use rust_decimal::prelude::ToPrimitive;
    use rust_decimal::Decimal;
    use sattebaaz::signals::arb;
    use std::collections::HashMap;

    let lines = gz_lines(shared("polymarket_books_resolvedkit").join("books.jsonl.gz"));
    let dec = |v: &serde_json::Value| -> Decimal {
        Decimal::from_str_exact(&v.to_string()).unwrap_or_else(|_| {
            Decimal::from_f64_retain(v.as_f64().unwrap())
                .unwrap()
                .round_dp(6)
        })
    };
    let micro = |d: Decimal| (d * Decimal::from(1_000_000)).to_i64().unwrap();
    let params = short_params().arb;
    let rate = Decimal::new(7, 2);
    let min_edge = 20_000;
    // Latest level lists per (market, side): (asks, bids) as decimals.
    type Levels = Vec<(Decimal, Decimal)>;
    let mut latest: HashMap<(String, String), (Levels, Levels)> = HashMap::new();
    let mut books = MarketBooks::with_capacity(1);
    let m = books.add_market(MARKET, UP, DOWN, TickSize::Mill).unwrap();
    let (up_t, down_t) = MarketBooks::tokens_of(m);
    let (mut compared, mut positive) = (0usize, 0usize);
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let market = v["market_id"].as_str().unwrap().to_owned();
        let side = v["side"].as_str().unwrap().to_owned();
        let levels = |k: &str| -> Levels {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|l| (dec(&l[0]), dec(&l[1])))
                .collect()
        };
        latest.insert((market.clone(), side), (levels("asks"), levels("bids")));
        let (Some(u), Some(d)) = (
            latest.get(&(market.clone(), "UP".into())),
            latest.get(&(market.clone(), "DOWN".into())),
        ) else {
            continue;
        };
        if u.0.is_empty() || d.0.is_empty() {
            continue;
        }
        for (t, (asks, bids)) in [(up_t, u), (down_t, d)] {
            books.begin_snapshot(t, None);
            for (px, sz) in asks {
                books
                    .snapshot_level(t, BookSide::Ask, micro(*px), micro(*sz))
                    .unwrap();
            }
            for (px, sz) in bids {
                books
                    .snapshot_level(t, BookSide::Bid, micro(*px), micro(*sz))
                    .unwrap();
            }
            books.finish_snapshot(t, 0, 0);
        }
        let (ub, db) = up_down(&books);
        let got = arb::scan(ub, db, 70_000, min_edge, &params).unwrap();

        // Independent: best ask = lowest ask; depth = sizes within 0.02 of it; fees ceil'd to
        // micro-dollars per share; expected = floor(min depth × 0.85); profit = floor(exp × edge).
        let one = Decimal::ONE;
        let m6 = Decimal::from(1_000_000);
        let best = |a: &Levels| a.iter().map(|l| l.0).min().unwrap();
        let depth = |a: &Levels, b: Decimal| -> Decimal {
            a.iter()
                .filter(|l| l.0 <= b + Decimal::new(2, 2))
                .map(|l| l.1)
                .sum()
        };
        let (ua, da) = (best(&u.0), best(&d.0));
        let fee = |p: Decimal| (rate * p * (one - p) * m6).ceil() / m6;
        let edge = one - ua - da - fee(ua) - fee(da);
        let exec = depth(&u.0, ua).min(depth(&d.0, da));
        let expected = (exec * Decimal::new(85, 2) * m6).floor() / m6;
        let profit = if edge > Decimal::ZERO {
            (expected * edge * m6).floor() / m6
        } else {
            Decimal::ZERO
        };
        assert_eq!(got.up_ask_micro, micro(ua));
        assert_eq!(got.down_ask_micro, micro(da));
        assert_eq!(got.edge_micro, micro(edge), "{line}");
        assert_eq!(got.executable_micro, micro(exec));
        assert_eq!(got.expected_shares_micro, micro(expected));
        assert_eq!(got.expected_profit_micro, micro(profit));
        let signal = edge >= Decimal::new(min_edge, 6)
            && edge > Decimal::ZERO
            && profit >= Decimal::new(params.min_profit_micro, 6);
        assert_eq!(got.signal, signal);
        compared += 1;
        positive += usize::from(edge > Decimal::ZERO);
    }
    assert!(compared > 10_000, "{compared} book pairs");
    eprintln!("{compared} book pairs, {positive} with a positive edge after fees");
}
