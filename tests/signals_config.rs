//! The `[signals]` config section: the shipped values are the strategy spec's defaults, and
//! every range or consistency failure names its key (edits made on the shipped file as a TOML
//! table, like tests/config.rs).

use sattebaaz::config::{Asset, Config, ConfigError, ErrorKind, SHIPPED_CONFIG_TOML};
use sattebaaz::signals::SignalParams;
use toml::{Table, Value};

fn signals_table(t: &mut Table) -> &mut Table {
    match t.get_mut("signals") {
        Some(Value::Table(s)) => s,
        _ => panic!("no [signals]"),
    }
}

fn errors_after(edit: impl FnOnce(&mut Table)) -> Vec<ConfigError> {
    let mut table: Table = SHIPPED_CONFIG_TOML.parse().unwrap();
    edit(signals_table(&mut table));
    match toml::to_string(&table).unwrap().parse::<Config>() {
        Ok(_) => panic!("config unexpectedly valid"),
        Err(e) => e.into_vec(),
    }
}

#[track_caller]
fn has(errors: &[ConfigError], path: &str, kind: ErrorKind) {
    assert!(
        errors.iter().any(|e| e.path == path && e.kind == kind),
        "no {kind:?} at `{path}` in {errors:#?}"
    );
}

#[test]
fn shipped_signals_are_the_spec_defaults() {
    let cfg = Config::shipped().unwrap();
    let s = &cfg.signals;
    assert_eq!((s.ema_fast, s.ema_slow), (5, 20));
    assert_eq!((s.momentum_weak_pct, s.momentum_strong_pct), (0.05, 0.15));
    assert_eq!(
        [
            s.weight_momentum,
            s.weight_ema,
            s.weight_flow,
            s.weight_funding,
            s.weight_liquidation
        ],
        [0.30, 0.25, 0.20, 0.10, 0.15]
    );
    assert_eq!(s.bias_threshold, 0.35);
    assert_eq!(s.funding_extreme_pct, 0.05);
    assert_eq!(s.liquidation_cascade_micro, 5_000_000_000_000);
    assert_eq!(
        (
            s.arb_depth_cents,
            s.arb_expected_fill,
            s.arb_min_profit_micro
        ),
        (2, 0.85, 100_000)
    );
    assert_eq!(s.momentum_windows_s, [5, 15, 30]);
    assert_eq!(s.momentum_score_weights, [0.5, 0.3, 0.2]);
    assert_eq!((s.exhaustion_min_samples, s.exhaustion_lookback), (5, 10));
    assert_eq!((s.exhaustion_min_peak, s.exhaustion_ratio), (0.005, 0.4));
    assert_eq!(
        (s.bollinger_period, s.bollinger_k, s.width_history),
        (20, 2.0, 100)
    );
    assert_eq!((s.compression_rank_pct, s.breakout_ratio), (10.0, 1.5));
    assert_eq!(&s.fill_vol_penalty[..4], &[0.95, 0.90, 0.80, 0.65]);
    let vols: Vec<f64> = [Asset::Btc, Asset::Eth, Asset::Sol, Asset::Xrp]
        .iter()
        .map(|a| s.asset(*a).default_annual_vol)
        .collect();
    assert_eq!(vols, vec![0.55, 0.70, 0.95, 0.85]);
    // Regime boundaries: BTC $15/50/150/300, ETH $1/3/10/20, SOL 0.05/0.15/0.50/1.00,
    // XRP 0.001/0.003/0.008/0.015 — in micro-dollars.
    assert_eq!(
        s.btc.atr_thresholds_micro,
        [15_000_000, 50_000_000, 150_000_000, 300_000_000]
    );
    assert_eq!(
        s.eth.atr_thresholds_micro,
        [1_000_000, 3_000_000, 10_000_000, 20_000_000]
    );
    assert_eq!(
        s.sol.atr_thresholds_micro,
        [50_000, 150_000, 500_000, 1_000_000]
    );
    assert_eq!(s.xrp.atr_thresholds_micro, [1_000, 3_000, 8_000, 15_000]);
    // Percent → fraction, micro-dollars → Binance price units.
    let p = SignalParams::from_config(s, Asset::Btc);
    assert_eq!(p.bias.momentum_weak, 0.0005);
    assert_eq!(p.bias.liquidation_cascade_px, 500_000_000_000_000);
    assert_eq!(p.arb.expected_fill_ppm, 850_000);
}

#[test]
fn out_of_range_values_name_their_keys() {
    let errors = errors_after(|s| {
        s.insert("atr_period".into(), Value::Integer(0));
        s.insert("realised_vol_window".into(), Value::Integer(5_000));
        s.insert("bias_threshold".into(), Value::Float(1.5));
        s.insert("arb_expected_fill".into(), Value::Float(f64::NAN));
        s.insert("default_taker_fee_rate_ppm".into(), Value::Integer(-1));
        s.insert("bollinger_period".into(), Value::Integer(1));
        s.insert("width_history".into(), Value::Integer(1_000));
        s.insert("exhaustion_lookback".into(), Value::Integer(64));
        s.insert("momentum_strong_pct".into(), Value::Float(0.0));
        s.insert(
            "fill_vol_penalty".into(),
            Value::Array(
                vec![Value::Float(0.95), Value::Float(1.2)]
                    .into_iter()
                    .chain([0.8, 0.65, 0.5].into_iter().map(Value::Float))
                    .collect(),
            ),
        );
        let Some(Value::Table(btc)) = s.get_mut("btc") else {
            panic!()
        };
        btc.insert("default_annual_vol".into(), Value::Float(0.0));
        let Some(Value::Table(regimes)) = s.get_mut("regimes") else {
            panic!()
        };
        regimes.insert(
            "position_cap_bps".into(),
            Value::Array(
                [3000, 2500, 20_000, 1500, 1000]
                    .map(Value::Integer)
                    .to_vec(),
            ),
        );
    });
    for path in [
        "signals.atr_period",
        "signals.realised_vol_window",
        "signals.bias_threshold",
        "signals.arb_expected_fill",
        "signals.default_taker_fee_rate_ppm",
        "signals.bollinger_period",
        "signals.width_history",
        "signals.exhaustion_lookback",
        "signals.momentum_strong_pct",
        "signals.fill_vol_penalty[1]",
        "signals.btc.default_annual_vol",
        "signals.regimes.position_cap_bps[2]",
    ] {
        has(&errors, path, ErrorKind::OutOfRange);
    }
}

#[test]
fn inconsistent_values_name_the_dependent_key() {
    let errors = errors_after(|s| {
        s.insert("ema_fast".into(), Value::Integer(20));
        s.insert("ema_slow".into(), Value::Integer(5));
        s.insert("weight_flow".into(), Value::Float(0.5));
        s.insert("momentum_weak_pct".into(), Value::Float(0.2));
        s.insert(
            "momentum_windows_s".into(),
            Value::Array([5, 30, 15].map(Value::Integer).to_vec()),
        );
        let Some(Value::Table(eth)) = s.get_mut("eth") else {
            panic!()
        };
        eth.insert(
            "atr_thresholds_micro".into(),
            Value::Array([1, 3, 3, 20].map(Value::Integer).to_vec()),
        );
    });
    has(&errors, "signals.ema_slow", ErrorKind::Inconsistent);
    has(
        &errors,
        "signals.weight_liquidation",
        ErrorKind::Inconsistent,
    );
    has(
        &errors,
        "signals.momentum_strong_pct",
        ErrorKind::Inconsistent,
    );
    has(
        &errors,
        "signals.momentum_windows_s",
        ErrorKind::Inconsistent,
    );
    has(
        &errors,
        "signals.eth.atr_thresholds_micro",
        ErrorKind::Inconsistent,
    );
}

#[test]
fn a_missing_signals_key_is_named() {
    let errors = errors_after(|s| {
        s.remove("bias_threshold");
    });
    assert!(
        errors
            .iter()
            .any(|e| e.kind == ErrorKind::MissingKey && e.to_string().contains("bias_threshold")),
        "{errors:#?}"
    );
}

#[test]
fn warmup_candles_is_range_checked_and_required_needs_it_on() {
    let cfg = Config::shipped().unwrap();
    assert_eq!(cfg.signals.warmup_candles, 30);
    assert!(!cfg.signals.warmup_required);
    let errors = errors_after(|s| {
        s.insert("warmup_candles".into(), Value::Integer(1_001));
    });
    has(&errors, "signals.warmup_candles", ErrorKind::OutOfRange);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let errors = errors_after(|s| {
        s.insert("warmup_candles".into(), Value::Integer(0));
        s.insert("warmup_required".into(), Value::Boolean(true));
    });
    has(&errors, "signals.warmup_required", ErrorKind::Inconsistent);
    let errors = errors_after(|s| {
        s.insert("warmup_required".into(), Value::String("yes".into()));
    });
    has(&errors, "signals.warmup_required", ErrorKind::WrongType);
    // 0 (off) and 1 000 (Binance's limit) are both accepted.
    for n in [0, 1_000] {
        let mut table: Table = SHIPPED_CONFIG_TOML.parse().unwrap();
        signals_table(&mut table).insert("warmup_candles".into(), Value::Integer(n));
        let cfg: Config = toml::to_string(&table).unwrap().parse().unwrap();
        assert_eq!(i64::from(cfg.signals.warmup_candles), n);
    }
}
