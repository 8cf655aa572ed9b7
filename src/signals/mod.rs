//! The signal layer (strategy spec §3): everything the strategies read about one asset and one
//! market, updated incrementally on each tick in fixed memory.
//!
//! * [`volatility`]: Wilder's ATR over closed 1-minute candles, the volatility [`Regime`], and
//!   realised (annualised) volatility with a per-asset default.
//! * [`fair`]: P(Up) = Φ(d) from the Binance price, the oracle price to beat and the time left.
//! * [`bias`]: the five-input bias detector; [`ema`] its EMAs.
//! * [`arb`]: the Up + Down ask arb scanner after taker fees.
//! * [`momentum`]: probability momentum and exhaustion on the Up price.
//! * [`compression`]: Bollinger width percentile, compression and breakout.
//! * [`fill_prob`]: fill probability of one or both legs.
//! * [`regime_params`]: the per-regime parameter table.
//! * [`ring`]: the const-capacity ring the windows use.
//!
//! [`SignalSet`] ties them to the existing feed state: one per (asset, market), one
//! [`SignalSet::update`] call per tick reads the asset's [`AssetState`] (new closed candles, 60 s
//! taker flow, funding, 60 s liquidations, last price) and the market's two [`TokenBook`]s, and
//! refreshes a plain `Copy` [`SignalSnapshot`]. Candle-level indicators advance once per closed
//! candle (detected by its open time); everything else is O(1) (arb: O(levels within reach)).
//! Invariants: every buffer is inline and sized at construction (const-generic rings); `update`
//! never allocates; all parameters come from `[signals]` in `config.toml`. Two markets on one
//! asset each keep their own candle-level indicators (the work is a few flops per minute).

pub mod arb;
pub mod bias;
pub mod compression;
pub mod ema;
pub mod fair;
pub mod fill_prob;
pub mod momentum;
pub mod regime_params;
pub mod ring;
pub mod volatility;

pub use arb::{ArbParams, ArbQuote};
pub use bias::{BiasInputs, BiasParams, BiasReading, Direction};
pub use compression::{Compression, CompressionParams, CompressionReading};
pub use ema::Ema;
pub use momentum::{MomentumParams, MomentumReading, ProbMomentum};
pub use regime_params::{RegimeRow, RegimeTable};
pub use volatility::{Atr, RealisedVol, Regime};

use crate::book::{BookSide, TokenBook};
use crate::config::{Asset, SignalsConfig};
use crate::feeds::binance::candles::{Candle, CandleBuilder};
use crate::feeds::binance::{AssetState, FlowWindow, RATE_SCALE};
use crate::fixed::POW10;
use volatility::PX_PER_MICRO;

/// Every parameter one [`SignalSet`] needs, resolved from `[signals]` for one asset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignalParams {
    pub asset: Asset,
    pub default_annual_vol: f64,
    pub atr_thresholds_micro: [i64; 4],
    pub atr_period: u32,
    pub realised_vol_window: u32,
    pub realised_vol_min_returns: u32,
    pub ema_fast: u32,
    pub ema_slow: u32,
    pub bias: BiasParams,
    pub arb: ArbParams,
    /// Taker fee rate (ppm) when the market does not give one.
    pub default_fee_rate_ppm: i64,
    pub momentum: MomentumParams,
    pub compression: CompressionParams,
    pub regimes: RegimeTable,
}

impl SignalParams {
    /// Parameters of `asset` from a validated `[signals]` section.
    pub fn from_config(cfg: &SignalsConfig, asset: Asset) -> Self {
        let a = cfg.asset(asset);
        let pct = |v: f64| v / 100.0;
        SignalParams {
            asset,
            default_annual_vol: a.default_annual_vol,
            atr_thresholds_micro: a.atr_thresholds_micro,
            atr_period: cfg.atr_period,
            realised_vol_window: cfg.realised_vol_window,
            realised_vol_min_returns: cfg.realised_vol_min_returns,
            ema_fast: cfg.ema_fast,
            ema_slow: cfg.ema_slow,
            bias: BiasParams {
                momentum_weak: pct(cfg.momentum_weak_pct),
                momentum_strong: pct(cfg.momentum_strong_pct),
                ema_full_scale: pct(cfg.ema_full_scale_pct),
                funding_extreme: pct(cfg.funding_extreme_pct),
                funding_full_scale: pct(cfg.funding_full_scale_pct),
                liquidation_cascade_px: cfg.liquidation_cascade_micro.saturating_mul(PX_PER_MICRO),
                weights: [
                    cfg.weight_momentum,
                    cfg.weight_ema,
                    cfg.weight_flow,
                    cfg.weight_funding,
                    cfg.weight_liquidation,
                ],
                threshold: cfg.bias_threshold,
            },
            arb: ArbParams {
                depth_cents: cfg.arb_depth_cents,
                expected_fill_ppm: (cfg.arb_expected_fill * 1e6).round() as i64,
                min_profit_micro: cfg.arb_min_profit_micro,
            },
            default_fee_rate_ppm: cfg.default_taker_fee_rate_ppm,
            momentum: MomentumParams {
                windows_s: cfg.momentum_windows_s,
                weights: cfg.momentum_score_weights,
                min_samples: cfg.exhaustion_min_samples,
                lookback: cfg.exhaustion_lookback,
                min_peak: cfg.exhaustion_min_peak,
                ratio: cfg.exhaustion_ratio,
            },
            compression: CompressionParams {
                period: cfg.bollinger_period,
                k: cfg.bollinger_k,
                history: cfg.width_history,
                min_history: cfg.width_min_history,
                rank_pct: cfg.compression_rank_pct,
                breakout_ratio: cfg.breakout_ratio,
            },
            regimes: RegimeTable::from_config(cfg),
        }
    }
}

/// What the signal layer needs to know about one market window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketInputs {
    /// Window end, the same clock as `now_ms` (Unix ms).
    pub end_ms: u64,
    /// The oracle's price to beat (× 1e18), once known.
    pub price_to_beat_e18: Option<i128>,
    /// The market's taker fee rate (ppm), if discovery read one.
    pub fee_rate_ppm: Option<i64>,
}

/// Everything the strategies read, as one plain value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SignalSnapshot {
    /// Time of the update (the caller's clock, ms).
    pub now_ms: u64,
    /// Last Binance trade price (1e-8).
    pub price_px: Option<i64>,
    /// Closed 1-minute candles seen.
    pub candles: u64,
    /// Last two closes (previous, latest).
    pub closes: Option<(i64, i64)>,
    /// Wilder's ATR, price units (1e-8).
    pub atr_px: Option<f64>,
    pub regime: Option<Regime>,
    /// The regime's parameters.
    pub regime_row: Option<RegimeRow>,
    /// Realised annual vol, once enough returns.
    pub realised_vol: Option<f64>,
    /// The vol used for the fair value (realised, else the asset default).
    pub annual_vol: f64,
    pub ema_fast: Option<f64>,
    pub ema_slow: Option<f64>,
    pub ms_remaining: u64,
    /// P(Up) = Φ(d).
    pub fair_up: Option<f64>,
    pub bias: BiasReading,
    pub arb: Option<ArbQuote>,
    /// Up mid (micro), the momentum sample.
    pub up_mid_micro: Option<i64>,
    pub momentum: MomentumReading,
    pub compression: CompressionReading,
}

/// All signals of one (asset, market).
#[derive(Debug, Clone)]
pub struct SignalSet {
    params: SignalParams,
    atr: Atr,
    realised: RealisedVol,
    ema_fast: Ema,
    ema_slow: Ema,
    compression: Compression,
    momentum: ProbMomentum,
    last_candle_ms: Option<u64>,
    closes: Option<(i64, i64)>,
    last_close: Option<i64>,
    candles: u64,
    snapshot: SignalSnapshot,
}

impl SignalSet {
    pub fn new(params: SignalParams) -> Self {
        SignalSet {
            atr: Atr::new(params.atr_period),
            realised: RealisedVol::new(params.realised_vol_window, params.realised_vol_min_returns),
            ema_fast: Ema::new(params.ema_fast),
            ema_slow: Ema::new(params.ema_slow),
            compression: Compression::new(params.compression),
            momentum: ProbMomentum::new(params.momentum),
            last_candle_ms: None,
            closes: None,
            last_close: None,
            candles: 0,
            snapshot: SignalSnapshot {
                annual_vol: params.default_annual_vol,
                ..SignalSnapshot::default()
            },
            params,
        }
    }

    pub fn params(&self) -> &SignalParams {
        &self.params
    }

    /// The latest snapshot.
    #[inline]
    pub fn snapshot(&self) -> SignalSnapshot {
        self.snapshot
    }

    /// Advance the candle-level indicators by one closed candle (candles must come in time
    /// order; [`SignalSet::update`] calls this for every newly closed candle).
    #[inline]
    pub fn on_candle(&mut self, c: &Candle) {
        self.last_candle_ms = Some(c.open_ms);
        self.candles += 1;
        self.atr.on_candle(c);
        self.realised.on_candle(c);
        self.ema_fast.push(c.close as f64);
        self.ema_slow.push(c.close as f64);
        self.compression.on_close(c.close);
        self.closes = self.last_close.map(|p| (p, c.close));
        self.last_close = Some(c.close);
    }

    /// Feed every candle closed since the last call (bounded by the builder's ring), including
    /// history seeded into the builder before any live trade.
    #[inline]
    fn sync_candles(&mut self, builder: &CandleBuilder) {
        let closed = builder.closed();
        // Closed open times strictly increase, so nothing closed since the last sync when the
        // newest one is the last fed (saves walking the ring on every tick).
        if closed.latest().map(|c| c.open_ms) == self.last_candle_ms {
            return;
        }
        let n = closed.len();
        let mut fresh = 0;
        while fresh < n {
            match (closed.get(n - 1 - fresh), self.last_candle_ms) {
                (Some(c), Some(last)) if c.open_ms <= last => break,
                (Some(_), _) => fresh += 1,
                (None, _) => break,
            }
        }
        for i in n - fresh..n {
            if let Some(c) = closed.get(i) {
                let c = *c;
                self.on_candle(&c);
            }
        }
    }

    /// One tick: refresh every signal from the asset's Binance state and the market's books at
    /// `now_ms` (Unix ms; also the time the 60 s flow and liquidation windows are read at).
    #[inline]
    pub fn update(
        &mut self,
        binance: &mut AssetState,
        up: &TokenBook,
        down: &TokenBook,
        market: &MarketInputs,
        now_ms: u64,
    ) -> &SignalSnapshot {
        self.sync_candles(binance.candles());
        let p = &self.params;

        let atr_px = self.atr.value();
        let regime = atr_px.map(|a| Regime::classify(a, &p.atr_thresholds_micro));
        let regime_row = regime.map(|r| *p.regimes.row(r));
        let realised_vol = self.realised.annualised();
        let annual_vol = realised_vol.unwrap_or(p.default_annual_vol);

        let price_px = binance.last_px();
        let ms_remaining = market.end_ms.saturating_sub(now_ms);
        let fair_up = price_px
            .and_then(|px| fair::fair_p_up(px, market.price_to_beat_e18, annual_vol, ms_remaining));

        let flow = binance.taker_flow_at(FlowWindow::S60, now_ms);
        let liq = binance.liquidations_at(now_ms);
        let funding = binance
            .funding_rate()
            .map(|r| r as f64 / POW10[RATE_SCALE as usize] as f64);
        let bias = bias::evaluate(
            &BiasInputs {
                closes: self.closes,
                ema_fast: self.ema_fast.value(),
                ema_slow: self.ema_slow.value(),
                flow_buy: flow.buy,
                flow_sell: flow.sell,
                funding,
                // SELL liquidation orders close longs; BUY orders close shorts.
                liq_longs: liq.notional.sell,
                liq_shorts: liq.notional.buy,
            },
            &p.bias,
        );

        // Without a regime yet, the arb needs the strictest minimum edge of the table.
        let arb_min_edge = match regime_row {
            Some(row) => row.arb_min_edge_micro,
            None => Regime::ALL
                .iter()
                .map(|r| p.regimes.row(*r).arb_min_edge_micro)
                .max()
                .unwrap_or(i64::MAX),
        };
        let fee_rate = market.fee_rate_ppm.unwrap_or(p.default_fee_rate_ppm);
        let arb = arb::scan(up, down, fee_rate, arb_min_edge, &p.arb);

        let up_mid_micro = match (up.best_price(BookSide::Bid), up.best_price(BookSide::Ask)) {
            (Some(b), Some(a)) => Some((b + a) / 2),
            _ => None,
        };
        if let Some(mid) = up_mid_micro {
            self.momentum.on_price(now_ms, mid);
        }

        self.snapshot = SignalSnapshot {
            now_ms,
            price_px,
            candles: self.candles,
            closes: self.closes,
            atr_px,
            regime,
            regime_row,
            realised_vol,
            annual_vol,
            ema_fast: self.ema_fast.value(),
            ema_slow: self.ema_slow.value(),
            ms_remaining,
            fair_up,
            bias,
            arb,
            up_mid_micro,
            momentum: self.momentum.reading(fair_up),
            compression: self.compression.reading(),
        };
        &self.snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::TickSize;
    use crate::config::Config;
    use crate::feeds::binance::records::{Liquidation, MarkPrice, Record, Side, Trade, Venue};
    use crate::feeds::binance::{Asset as FeedAsset, TradeSource};

    const USD: i64 = 100_000_000;

    fn trade(px: i64, ts: u64, id: u64, buy: bool) -> Record {
        Record::Trade(Trade {
            asset: FeedAsset::Btc,
            venue: Venue::Futures,
            px,
            qty: 1_000_000,
            exch_ts_ms: ts,
            event_ts_ms: ts,
            recv_ns: 0,
            trade_id: id,
            taker_side: if buy { Side::Buy } else { Side::Sell },
            is_market: true,
        })
    }

    fn books(up_bid: i64, up_ask: i64, down_ask: i64) -> (TokenBook, TokenBook) {
        let mut up = TokenBook::new(TickSize::Cent);
        let mut down = TokenBook::new(TickSize::Cent);
        up.begin_snapshot();
        down.begin_snapshot();
        up.set_level(BookSide::Bid, up_bid, 500_000_000).unwrap();
        up.set_level(BookSide::Ask, up_ask, 500_000_000).unwrap();
        down.set_level(BookSide::Ask, down_ask, 500_000_000)
            .unwrap();
        up.finish_snapshot(0, 0);
        down.finish_snapshot(0, 0);
        (up, down)
    }

    #[test]
    fn one_update_fills_every_signal_from_feed_state() {
        let cfg = Config::shipped().unwrap();
        let params = SignalParams::from_config(&cfg.signals, Asset::Btc);
        let mut set = SignalSet::new(params);
        let mut st = AssetState::new(FeedAsset::Btc, Venue::Futures, TradeSource::Trade);
        let t0 = 1_700_000_000_000u64 - 1_700_000_000_000u64 % 60_000;
        let (up, down) = books(480_000, 490_000, 450_000);
        let market = MarketInputs {
            end_ms: t0 + 40 * 60_000,
            price_to_beat_e18: Some(60_000 * 10i128.pow(18)),
            fee_rate_ppm: None,
        };
        // 30 minutes of trades, one every 10 s, price drifting up with a $40 range per minute.
        let mut id = 0;
        let mut px = 60_000 * USD;
        for minute in 0..30u64 {
            for k in 0..6u64 {
                id += 1;
                let wiggle = if k % 2 == 0 { 20 * USD } else { -20 * USD };
                px += USD;
                st.apply(&trade(
                    px + wiggle,
                    t0 + minute * 60_000 + k * 10_000,
                    id,
                    k < 4,
                ));
                set.update(
                    &mut st,
                    &up,
                    &down,
                    &market,
                    t0 + minute * 60_000 + k * 10_000,
                );
            }
        }
        let s = set.snapshot();
        assert_eq!(s.candles, 29);
        assert!(s.atr_px.is_some());
        // True ranges are about $41, so LOW for BTC (15..50).
        assert_eq!(s.regime, Some(Regime::Low));
        assert_eq!(s.regime_row.unwrap().arb_min_edge_micro, 30_000);
        assert!(s.realised_vol.is_some());
        assert_eq!(s.annual_vol, s.realised_vol.unwrap());
        assert!(s.ema_fast.unwrap() > s.ema_slow.unwrap());
        // Price above the price to beat → P(Up) > 0.5.
        assert!(s.fair_up.unwrap() > 0.5);
        // Flow: 4 buys and 2 sells per minute → +1/3.
        assert!((s.bias.components[2] - 1.0 / 3.0).abs() < 1e-12);
        // Arb: 0.49 + 0.45 = 0.94; fees at the shipped 0.072, each per-share fee rounded up to
        // a micro-dollar: 0.0179928 → 0.017993 and 0.01782 → 0.017820; edge 0.06 − 0.035813 =
        // 0.024187, below LOW's 3c: no signal.
        let arb = s.arb.unwrap();
        assert_eq!(arb.edge_micro, 24_187);
        assert!(!arb.signal);
        assert_eq!(s.up_mid_micro, Some(485_000));
        assert!(s.compression.width.is_some());

        // Funding far above the extreme band and a long-liquidation cascade both push Down.
        st.apply(&Record::MarkPrice(MarkPrice {
            asset: FeedAsset::Btc,
            mark_px: px,
            index_px: None,
            est_settle_px: None,
            funding_rate: 300_000, // 0.3%
            next_funding_ms: 0,
            event_ts_ms: 0,
            recv_ns: 0,
        }));
        let now = t0 + 30 * 60_000;
        st.apply(&Record::Liquidation(Liquidation {
            asset: FeedAsset::Btc,
            side: Side::Sell,
            px: 60_000 * USD,
            avg_px: 60_000 * USD,
            qty: 100 * USD,
            filled_qty: 100 * USD,
            exch_ts_ms: now,
            event_ts_ms: now,
            recv_ns: 0,
        }));
        let s = *set.update(&mut st, &up, &down, &market, now);
        assert_eq!(s.bias.components[3], -1.0);
        assert_eq!(s.bias.components[4], -1.0);
        assert_eq!(s.candles, 29);
        // The liquidation leaves the 60 s window.
        let s = *set.update(&mut st, &up, &down, &market, now + 61_000);
        assert_eq!(s.bias.components[4], 0.0);
    }

    #[test]
    fn arb_uses_the_strictest_edge_before_a_regime() {
        let cfg = Config::shipped().unwrap();
        let mut set = SignalSet::new(SignalParams::from_config(&cfg.signals, Asset::Btc));
        let mut st = AssetState::new(FeedAsset::Btc, Venue::Futures, TradeSource::Trade);
        // 0.45 + 0.47: fees 0.017325 + 0.017437 → edge 0.045238 < 5c.
        let (up, down) = books(440_000, 450_000, 470_000);
        let market = MarketInputs {
            end_ms: 1_000,
            price_to_beat_e18: None,
            fee_rate_ppm: Some(70_000),
        };
        let s = *set.update(&mut st, &up, &down, &market, 10);
        assert_eq!(s.regime, None);
        assert_eq!(s.fair_up, None);
        let arb = s.arb.unwrap();
        assert_eq!(arb.edge_micro, 45_238);
        assert!(!arb.signal);
        // With no fee the same book is a 8c edge and signals.
        let free = MarketInputs {
            fee_rate_ppm: Some(0),
            ..market
        };
        assert!(
            set.update(&mut st, &up, &down, &free, 20)
                .arb
                .unwrap()
                .signal
        );
    }
}
