//! The simulated Binance: spot (`trade`, `bookTicker`) and USD-M futures (`/public`: `bookTicker`;
//! `/market`: `aggTrade`, `markPrice`, `forceOrder`) streams in Binance's JSON wire format, driven
//! by the seeded price processes of [`super::price`]. Trade arrivals are Poisson at the measured
//! quiet-period rates (spot ~30/s, futures ~60/s for BTC); quotes are one tick wide around the
//! model price, as on the real BTC books. With a kline store attached
//! ([`BinanceWorld::attach_klines`]) the same processes first run over the past minutes to make
//! the REST klines history, and every spot trade extends it.

use std::io::Write;
use std::sync::Arc;

use rand::Rng;

use super::klines::{self, KlineStore, SharedKlines, KLINE_MS};
use super::price::{exponential, standard_normal, to_ticks_e8, AssetSpec, PriceProcess, Regime};
use super::ws_server::FeedHub;
use crate::fixed::write_fixed;

/// Which hubs the generated frames go to.
pub struct BinanceHubs {
    pub spot: Arc<FeedHub>,
    pub futures_public: Arc<FeedHub>,
    pub futures_market: Arc<FeedHub>,
}

/// Per-asset generator state.
struct AssetFeed {
    process: PriceProcess,
    upper: String,
    next_spot_trade_s: f64,
    next_fut_trade_s: f64,
    next_mark_s: f64,
    next_liq_s: f64,
    spot_trade_id: u64,
    fut_agg_id: u64,
    spot_update_id: u64,
    fut_update_id: u64,
    last_spot_bid: i64,
    last_fut_bid: i64,
}

/// Trade-rate scale per asset relative to BTC (ETH ~0.6×, SOL/XRP ~0.4×).
fn rate_scale(asset: &str) -> f64 {
    match asset {
        "btc" => 1.0,
        "eth" => 0.6,
        _ => 0.4,
    }
}

/// The Binance side of the simulated world.
pub struct BinanceWorld {
    assets: Vec<AssetFeed>,
    hubs: BinanceHubs,
    buf: Vec<u8>,
    num: [u8; 48],
    /// The spot REST klines, when served.
    klines: Option<SharedKlines>,
    /// While set, the price processes do not move (trades and quotes go on at the same prices).
    frozen: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl BinanceWorld {
    /// A world for `assets`, each price process seeded from `seed`.
    pub fn new(assets: &[AssetSpec], seed: u64, hubs: BinanceHubs) -> Self {
        let assets = assets
            .iter()
            .enumerate()
            .map(|(i, spec)| AssetFeed {
                process: PriceProcess::new(*spec, seed.wrapping_mul(31).wrapping_add(i as u64)),
                upper: spec.symbol.to_ascii_uppercase(),
                next_spot_trade_s: 0.0,
                next_fut_trade_s: 0.0,
                next_mark_s: 0.0,
                next_liq_s: 5.0,
                spot_trade_id: 3_735_683_259,
                fut_agg_id: 2_100_000_000,
                spot_update_id: 50_093_239_212,
                fut_update_id: 5_000_000_000_000,
                last_spot_bid: 0,
                last_fut_bid: 0,
            })
            .collect();
        BinanceWorld {
            assets,
            hubs,
            buf: Vec::with_capacity(1024),
            num: [0; 48],
            klines: None,
            frozen: None,
        }
    }

    /// Make the klines history of the `minutes` whole minutes before `start_ms` plus the
    /// current minute up to `start_ms` by running each asset's price process forward in 1 s
    /// steps (trades aggregated per step), then keep extending it with the live spot trades.
    /// Returns the store to serve. Deterministic for a seed and start time; the live price
    /// continues from the history's last close.
    pub fn attach_klines(&mut self, minutes: u64, start_ms: u64) -> SharedKlines {
        let symbols: Vec<String> = self.assets.iter().map(|a| a.upper.clone()).collect();
        let mut store = KlineStore::new(&symbols);
        let first_ms = (start_ms - start_ms % KLINE_MS).saturating_sub(minutes * KLINE_MS);
        for (i, a) in self.assets.iter_mut().enumerate() {
            let spec = *a.process.spec();
            let rate = 30.0 * rate_scale(spec.asset);
            let mut t_ms = first_ms;
            while t_ms < start_ms {
                let step_ms = (start_ms - t_ms).min(1_000);
                let dt = step_ms as f64 / 1_000.0;
                a.process.step(dt);
                t_ms += step_ms;
                let bid = to_ticks_e8(a.process.price(), spec.spot_tick_e8);
                let ask = bid + spec.spot_tick_e8;
                // About `rate · dt` trades, each side equally likely.
                let lambda = rate * dt;
                let z = standard_normal(a.process.rng());
                let n = (lambda + lambda.sqrt() * z).round().max(0.0) as u64;
                if n == 0 {
                    continue;
                }
                let qty = trade_qty(a, spec.typical_qty_e8.saturating_mul(n as i64));
                let buy_share = a.process.rng().random::<f64>();
                let buy_qty = ((qty as f64 * buy_share) as i64 / 1_000) * 1_000;
                let (low, high) = if n >= 2 {
                    (bid, ask)
                } else if buy_share >= 0.5 {
                    (ask, ask)
                } else {
                    (bid, bid)
                };
                let last = if a.process.rng().random::<bool>() {
                    ask
                } else {
                    bid
                };
                // Trades of the step land just before its end (strictly before `start_ms`).
                store.record(
                    i,
                    t_ms - 1,
                    low.min(last),
                    high.max(last),
                    last,
                    qty,
                    buy_qty,
                    n,
                );
            }
        }
        let shared: SharedKlines = std::sync::Arc::new(std::sync::Mutex::new(store));
        self.klines = Some(shared.clone());
        shared
    }

    /// Hold every price process still while `flag` is set (trades and quotes keep coming at
    /// the held prices, so feeds stay live and the Polymarket crowd keeps quoting the same fair
    /// value).
    pub fn set_freeze_flag(&mut self, flag: Arc<std::sync::atomic::AtomicBool>) {
        self.frozen = Some(flag);
    }

    /// Current model price of `asset` (USD), if simulated.
    pub fn price_of(&self, asset: &str) -> Option<f64> {
        self.assets
            .iter()
            .find(|a| a.process.spec().asset == asset)
            .map(|a| a.process.price())
    }

    /// Current regime of `asset`, if simulated.
    pub fn regime_of(&self, asset: &str) -> Option<Regime> {
        self.assets
            .iter()
            .find(|a| a.process.spec().asset == asset)
            .map(|a| a.process.regime())
    }

    /// Advance the world from `t0_s` to `t1_s` (simulation seconds) with wall time `now_ms`,
    /// publishing every event that falls in the interval.
    pub fn advance(&mut self, t0_s: f64, t1_s: f64, now_ms: u64) {
        for i in 0..self.assets.len() {
            self.advance_asset(i, t0_s, t1_s, now_ms);
        }
    }

    fn fmt(&mut self, v: i64, scale: u32) -> &[u8] {
        let n = write_fixed(&mut self.num, v, scale).unwrap_or(0);
        &self.num[..n]
    }

    /// Write a fixed-point value with exactly 8 decimals, as Binance prints prices.
    fn push_e8(&mut self, v: i64) {
        let int = v / 100_000_000;
        let frac = (v % 100_000_000).abs();
        let _ = write!(self.buf, "{int}.{frac:08}");
    }

    fn advance_asset(&mut self, i: usize, t0: f64, t1: f64, now_ms: u64) {
        let dt = (t1 - t0).max(0.0);
        let frozen = self
            .frozen
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed));
        let (spec, px) = {
            let a = &mut self.assets[i];
            if !frozen {
                a.process.step(dt);
            }
            (*a.process.spec(), a.process.price())
        };
        let scale = rate_scale(spec.asset);
        let spot_mid = to_ticks_e8(px, spec.spot_tick_e8);
        let fut_mid = to_ticks_e8(px * 1.0002, spec.futures_tick_e8);
        let spot_bid = spot_mid;
        let spot_ask = spot_mid + spec.spot_tick_e8;
        let fut_bid = fut_mid;
        let fut_ask = fut_mid + spec.futures_tick_e8;

        // Spot trades.
        loop {
            let a = &mut self.assets[i];
            if a.next_spot_trade_s == 0.0 {
                a.next_spot_trade_s = t0 + exponential(a.process.rng(), 30.0 * scale);
            }
            if a.next_spot_trade_s > t1 {
                break;
            }
            let buyer_is_maker = a.process.rng().random::<bool>();
            let qty = trade_qty(a, spec.typical_qty_e8);
            a.spot_trade_id += 1;
            let id = a.spot_trade_id;
            a.next_spot_trade_s += exponential(a.process.rng(), 30.0 * scale);
            let trade_px = if buyer_is_maker { spot_bid } else { spot_ask };
            let upper = a.upper.clone();
            if let Some(k) = &self.klines {
                let buy = if buyer_is_maker { 0 } else { qty };
                klines::lock(k).record(i, now_ms, trade_px, trade_px, trade_px, qty, buy, 1);
            }
            self.buf.clear();
            let _ = write!(
                self.buf,
                "{{\"e\":\"trade\",\"E\":{now_ms},\"s\":\"{upper}\",\"t\":{id},\"p\":\""
            );
            self.push_e8(trade_px);
            self.buf.extend_from_slice(b"\",\"q\":\"");
            self.push_e8(qty);
            let _ = write!(
                self.buf,
                "\",\"T\":{now_ms},\"m\":{buyer_is_maker},\"M\":true}}"
            );
            self.publish_spot(&format!("{}@trade", spec.symbol));
        }
        // Spot bookTicker on a best-price change (and with each trade batch).
        if self.assets[i].last_spot_bid != spot_bid {
            let a = &mut self.assets[i];
            a.last_spot_bid = spot_bid;
            a.spot_update_id += 1;
            let (uid, upper) = (a.spot_update_id, a.upper.clone());
            let bq = trade_qty(a, spec.typical_qty_e8 * 20);
            let aq = trade_qty(a, spec.typical_qty_e8 * 20);
            self.buf.clear();
            let _ = write!(self.buf, "{{\"u\":{uid},\"s\":\"{upper}\",\"b\":\"");
            self.push_e8(spot_bid);
            self.buf.extend_from_slice(b"\",\"B\":\"");
            self.push_e8(bq);
            self.buf.extend_from_slice(b"\",\"a\":\"");
            self.push_e8(spot_ask);
            self.buf.extend_from_slice(b"\",\"A\":\"");
            self.push_e8(aq);
            self.buf.extend_from_slice(b"\"}");
            self.publish_spot(&format!("{}@bookTicker", spec.symbol));
        }
        // Futures aggTrades (market route) and bookTicker (public route).
        loop {
            let a = &mut self.assets[i];
            if a.next_fut_trade_s == 0.0 {
                a.next_fut_trade_s = t0 + exponential(a.process.rng(), 10.0 * scale);
            }
            if a.next_fut_trade_s > t1 {
                break;
            }
            let buyer_is_maker = a.process.rng().random::<bool>();
            let qty = trade_qty(a, spec.typical_qty_e8 * 3);
            a.fut_agg_id += 1;
            let id = a.fut_agg_id;
            a.next_fut_trade_s += exponential(a.process.rng(), 10.0 * scale);
            let trade_px = if buyer_is_maker { fut_bid } else { fut_ask };
            let upper = a.upper.clone();
            self.buf.clear();
            let _ = write!(
                self.buf,
                "{{\"e\":\"aggTrade\",\"E\":{now_ms},\"s\":\"{upper}\",\"a\":{id},\"p\":\""
            );
            let p = self.fmt(trade_px, 8).to_vec();
            self.buf.extend_from_slice(&p);
            self.buf.extend_from_slice(b"\",\"q\":\"");
            let q = self.fmt(qty, 8).to_vec();
            self.buf.extend_from_slice(&q);
            let _ = write!(
                self.buf,
                "\",\"f\":{},\"l\":{},\"T\":{now_ms},\"m\":{buyer_is_maker}}}",
                id * 3,
                id * 3 + 2
            );
            self.publish_market(&format!("{}@aggTrade", spec.symbol));
        }
        if self.assets[i].last_fut_bid != fut_bid {
            let a = &mut self.assets[i];
            a.last_fut_bid = fut_bid;
            a.fut_update_id += 1;
            let (uid, upper) = (a.fut_update_id, a.upper.clone());
            let bq = trade_qty(a, spec.typical_qty_e8 * 40);
            let aq = trade_qty(a, spec.typical_qty_e8 * 40);
            self.buf.clear();
            let _ = write!(
                self.buf,
                "{{\"e\":\"bookTicker\",\"u\":{uid},\"s\":\"{upper}\",\"b\":\""
            );
            let v = self.fmt(fut_bid, 8).to_vec();
            self.buf.extend_from_slice(&v);
            self.buf.extend_from_slice(b"\",\"B\":\"");
            let v = self.fmt(bq, 8).to_vec();
            self.buf.extend_from_slice(&v);
            self.buf.extend_from_slice(b"\",\"a\":\"");
            let v = self.fmt(fut_ask, 8).to_vec();
            self.buf.extend_from_slice(&v);
            self.buf.extend_from_slice(b"\",\"A\":\"");
            let v = self.fmt(aq, 8).to_vec();
            self.buf.extend_from_slice(&v);
            let _ = write!(self.buf, "\",\"T\":{now_ms},\"E\":{now_ms}}}");
            let name = format!("{}@bookTicker", spec.symbol);
            let payload: Arc<[u8]> = Arc::from(&self.buf[..]);
            self.hubs.futures_public.publish(&name, payload);
        }
        // Mark price + funding once a second.
        if t1 >= self.assets[i].next_mark_s {
            let a = &mut self.assets[i];
            a.next_mark_s = t1 + 1.0;
            // Funding drifts with the regime: volatile markets pay more.
            let funding_e8: i64 = match a.process.regime() {
                Regime::Calm => 5_000,
                Regime::Normal => 10_000,
                Regime::Volatile => 40_000,
            };
            let upper = a.upper.clone();
            let next_funding = (now_ms / 28_800_000 + 1) * 28_800_000;
            self.buf.clear();
            let _ = write!(
                self.buf,
                "{{\"e\":\"markPriceUpdate\",\"E\":{now_ms},\"s\":\"{upper}\",\"p\":\""
            );
            self.push_e8(fut_mid);
            self.buf.extend_from_slice(b"\",\"i\":\"");
            self.push_e8(spot_mid);
            self.buf.extend_from_slice(b"\",\"P\":\"");
            self.push_e8(fut_mid);
            self.buf.extend_from_slice(b"\",\"r\":\"");
            self.push_e8(funding_e8);
            let _ = write!(self.buf, "\",\"T\":{next_funding}}}");
            let payload: Arc<[u8]> = Arc::from(&self.buf[..]);
            self.hubs
                .futures_market
                .publish(&format!("{}@markPrice", spec.symbol), payload.clone());
            self.hubs
                .futures_market
                .publish(&format!("{}@markPrice@1s", spec.symbol), payload);
        }
        // Liquidations: rare when calm, frequent when volatile.
        loop {
            let a = &mut self.assets[i];
            let rate = match a.process.regime() {
                Regime::Calm => 0.02,
                Regime::Normal => 0.1,
                Regime::Volatile => 0.8,
            };
            if a.next_liq_s > t1 {
                break;
            }
            a.next_liq_s += exponential(a.process.rng(), rate);
            let sell = a.process.rng().random::<bool>();
            let qty = trade_qty(a, spec.typical_qty_e8 * 10);
            let upper = a.upper.clone();
            let side = if sell { "SELL" } else { "BUY" };
            let px = if sell { fut_bid } else { fut_ask };
            self.buf.clear();
            let _ = write!(
                self.buf,
                "{{\"e\":\"forceOrder\",\"E\":{now_ms},\"o\":{{\"s\":\"{upper}\",\"S\":\"{side}\",\"o\":\"LIMIT\",\"f\":\"IOC\",\"q\":\""
            );
            let v = self.fmt(qty, 8).to_vec();
            self.buf.extend_from_slice(&v);
            self.buf.extend_from_slice(b"\",\"p\":\"");
            let v = self.fmt(px, 8).to_vec();
            self.buf.extend_from_slice(&v);
            self.buf.extend_from_slice(b"\",\"ap\":\"");
            let v = self.fmt(px, 8).to_vec();
            self.buf.extend_from_slice(&v);
            self.buf.extend_from_slice(b"\",\"X\":\"FILLED\",\"l\":\"");
            let v = self.fmt(qty, 8).to_vec();
            self.buf.extend_from_slice(&v);
            self.buf.extend_from_slice(b"\",\"z\":\"");
            let v = self.fmt(qty, 8).to_vec();
            self.buf.extend_from_slice(&v);
            let _ = write!(self.buf, "\",\"T\":{now_ms}}}}}");
            self.publish_market(&format!("{}@forceOrder", spec.symbol));
        }
    }

    fn publish_spot(&mut self, stream: &str) {
        let payload: Arc<[u8]> = Arc::from(&self.buf[..]);
        self.hubs.spot.publish(stream, payload);
    }

    fn publish_market(&mut self, stream: &str) {
        let payload: Arc<[u8]> = Arc::from(&self.buf[..]);
        self.hubs.futures_market.publish(stream, payload);
    }
}

/// A trade size: log-normal around `typical_e8`, rounded to 1e-5 of the base asset, at least that.
fn trade_qty(a: &mut AssetFeed, typical_e8: i64) -> i64 {
    let z = super::price::standard_normal(a.process.rng());
    let q = (typical_e8 as f64 * (0.8 * z).exp()).round() as i64;
    let lot = 1_000; // 0.00001
    ((q / lot).max(1)) * lot
}

/// A spot `trade` frame for `symbol_upper` (`BTCUSDT`) in Binance's format, as the world
/// publishes them: price and quantity with 8 decimals, event and trade time `now_ms`.
pub fn spot_trade_frame(
    symbol_upper: &str,
    trade_id: u64,
    price_e8: i64,
    qty_e8: i64,
    buyer_is_maker: bool,
    now_ms: u64,
) -> Vec<u8> {
    let e8 = |v: i64| format!("{}.{:08}", v / 100_000_000, (v % 100_000_000).abs());
    format!(
        "{{\"e\":\"trade\",\"E\":{now_ms},\"s\":\"{symbol_upper}\",\"t\":{trade_id},\"p\":\"{}\",\"q\":\"{}\",\"T\":{now_ms},\"m\":{buyer_is_maker},\"M\":true}}",
        e8(price_e8),
        e8(qty_e8)
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::price::ASSETS;

    fn world(seed: u64) -> BinanceWorld {
        let hubs = BinanceHubs {
            spot: Arc::new(FeedHub::default()),
            futures_public: Arc::new(FeedHub::default()),
            futures_market: Arc::new(FeedHub::default()),
        };
        BinanceWorld::new(&ASSETS[..2], seed, hubs)
    }

    fn ohlc(store: &SharedKlines, symbol: &str) -> Vec<(i64, i64, i64, i64, i64)> {
        klines::lock(store)
            .latest(symbol, usize::MAX)
            .unwrap()
            .iter()
            .map(|k| (k.open, k.high, k.low, k.close, k.volume))
            .collect()
    }

    #[test]
    fn kline_history_is_seeded_and_the_live_price_continues_from_it() {
        let start = 1_723_161_240_000 + 25_000; // 25 s into a minute
        let mut a = world(7);
        let store = a.attach_klines(60, start);
        let all = klines::lock(&store).latest("BTCUSDT", usize::MAX).unwrap();
        // 60 whole minutes, then the forming one; exactly one minute apart, ending at `start`.
        assert_eq!(all.len(), 61);
        assert!(all
            .windows(2)
            .all(|w| w[1].open_ms == w[0].open_ms + KLINE_MS));
        assert_eq!(all[60].open_ms, start - 25_000);
        assert!(all
            .iter()
            .all(|k| k.low <= k.open.min(k.close) && k.high >= k.open.max(k.close)));
        assert!(all.iter().all(|k| k.volume > 0 && k.buy_volume <= k.volume));
        // The live price is where the history left it (its last close is one tick-rounded
        // trade at the bid or ask of the current model price).
        let tick = ASSETS[0].spot_tick_e8;
        let bid = to_ticks_e8(a.price_of("btc").unwrap(), tick);
        assert!(
            (all[60].close - bid).abs() <= tick,
            "{} vs {bid}",
            all[60].close
        );
        // The same seed gives the same history, whatever the start time's offset in its minute;
        // another seed does not.
        let mut b = world(7);
        let later = b.attach_klines(60, start + 3_600_000 + 10_000);
        assert_eq!(ohlc(&store, "BTCUSDT")[..60], ohlc(&later, "BTCUSDT")[..60]);
        assert_eq!(ohlc(&store, "ETHUSDT")[..60], ohlc(&later, "ETHUSDT")[..60]);
        let other = world(8).attach_klines(60, start);
        assert_ne!(ohlc(&store, "BTCUSDT"), ohlc(&other, "BTCUSDT"));
        // Live spot trades extend the forming minute and then the next ones.
        let before = klines::lock(&store).latest("BTCUSDT", 1).unwrap()[0];
        a.advance(0.0, 2.0, start + 2_000);
        let after = klines::lock(&store).latest("BTCUSDT", 1).unwrap()[0];
        assert_eq!(after.open_ms, before.open_ms);
        assert!(after.trades > before.trades);
        a.advance(2.0, 4.0, start + 60_000);
        let last_two = klines::lock(&store).latest("BTCUSDT", 2).unwrap();
        assert_eq!(last_two[0].trades, after.trades);
        assert_eq!(last_two[1].open_ms, before.open_ms + KLINE_MS);
    }
}
