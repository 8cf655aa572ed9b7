//! The per-regime parameter table (strategy spec §3): arb and lag minimum edges, market-making
//! half-spread and size multiplier, momentum minimum signal, position size cap, and the fill
//! penalty — one row per [`Regime`], built once from `[signals.regimes]`.
//!
//! "n/a" and "pull" cells are `None` (written as 0 in `config.toml`). Invariants: a plain
//! `Copy` table; lookups are an array index.

use super::volatility::Regime;
use crate::config::SignalsConfig;

/// Parameters of one regime.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RegimeRow {
    /// Arb minimum edge after fees, micro-dollars per share.
    pub arb_min_edge_micro: i64,
    /// Lag-exploit minimum edge, micro-dollars per share; `None` = not traded (DEAD).
    pub lag_min_edge_micro: Option<i64>,
    /// MM half-spread, micro-dollars; `None` = pull quotes (EXTREME).
    pub mm_half_spread_micro: Option<i64>,
    pub mm_size_multiplier: f64,
    /// Momentum minimum |score|; `None` = not traded (DEAD).
    pub momentum_min_signal: Option<f64>,
    /// Position size cap, basis points of capital.
    pub position_cap_bps: u32,
    /// Fill probability penalty.
    pub fill_penalty: f64,
}

/// One row per regime.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RegimeTable {
    rows: [RegimeRow; 5],
}

impl RegimeTable {
    /// The table of `[signals.regimes]` and `signals.fill_vol_penalty`.
    pub fn from_config(cfg: &SignalsConfig) -> Self {
        let r = &cfg.regimes;
        let positive_i = |v: i64| (v > 0).then_some(v);
        let positive_f = |v: f64| (v > 0.0).then_some(v);
        RegimeTable {
            rows: std::array::from_fn(|i| RegimeRow {
                arb_min_edge_micro: r.arb_min_edge_micro[i],
                lag_min_edge_micro: positive_i(r.lag_min_edge_micro[i]),
                mm_half_spread_micro: positive_i(r.mm_half_spread_micro[i]),
                mm_size_multiplier: r.mm_size_multiplier[i],
                momentum_min_signal: positive_f(r.momentum_min_signal[i]),
                position_cap_bps: r.position_cap_bps[i],
                fill_penalty: cfg.fill_vol_penalty[i],
            }),
        }
    }

    /// The row of `regime`.
    #[inline]
    pub fn row(&self, regime: Regime) -> &RegimeRow {
        &self.rows[regime.index()]
    }

    /// Fill penalties in regime order.
    #[inline]
    pub fn fill_penalties(&self) -> [f64; 5] {
        self.rows.map(|r| r.fill_penalty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn shipped_table_is_the_spec_table() {
        let cfg = Config::shipped().unwrap();
        let t = RegimeTable::from_config(&cfg.signals);
        let dead = t.row(Regime::Dead);
        assert_eq!(dead.arb_min_edge_micro, 50_000);
        assert_eq!(dead.lag_min_edge_micro, None);
        assert_eq!(dead.mm_half_spread_micro, Some(15_000));
        assert_eq!(dead.mm_size_multiplier, 2.0);
        assert_eq!(dead.momentum_min_signal, None);
        assert_eq!(dead.position_cap_bps, 3_000);
        let low = t.row(Regime::Low);
        assert_eq!(
            (
                low.arb_min_edge_micro,
                low.lag_min_edge_micro,
                low.mm_half_spread_micro
            ),
            (30_000, Some(30_000), Some(20_000))
        );
        assert_eq!(low.momentum_min_signal, Some(0.005));
        let med = t.row(Regime::Medium);
        assert_eq!(
            (
                med.arb_min_edge_micro,
                med.lag_min_edge_micro,
                med.position_cap_bps
            ),
            (20_000, Some(20_000), 2_000)
        );
        let high = t.row(Regime::High);
        assert_eq!(high.mm_half_spread_micro, Some(50_000));
        assert_eq!(high.mm_size_multiplier, 0.3);
        assert_eq!(high.fill_penalty, 0.65);
        let ext = t.row(Regime::Extreme);
        assert_eq!(ext.mm_half_spread_micro, None);
        assert_eq!(ext.mm_size_multiplier, 0.0);
        assert_eq!(ext.lag_min_edge_micro, Some(50_000));
        assert_eq!(ext.position_cap_bps, 1_000);
        assert_eq!(t.fill_penalties(), [0.95, 0.90, 0.80, 0.65, 0.50]);
    }
}
