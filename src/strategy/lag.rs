//! The Binance → Polymarket lag exploit (strategy spec §4): fair = P(Up) from the live Binance
//! price (the signal layer's Φ(d)); Up edge = fair − Up ask − taker fee, Down edge =
//! (1 − fair) − Down ask − taker fee; the larger edge above the regime's lag minimum (and above
//! `pre_resolution_min_edge_micro` in pre-resolution) is bought FAK at the ask.
//! Size = `kelly_fraction` (25%) × Kelly of capital: win_prob = min(0.62 + 2·edge, 0.80),
//! odds = (1 − ask)/ask, kelly = (odds·win_prob − (1 − win_prob))/odds; capped by the regime's
//! position cap less what this strategy already holds on that side, and by the size at the ask.
//! Filters: no trade without a regime or in DEAD (no lag minimum), none on a side whose spread
//! exceeds `wide_spread_micro` (10c) with < `wide_spread_min_left_s` (120 s) left, none in HIGH
//! with < `high_vol_min_left_s` (60 s) left.
//!
//! Invariants: one entry per market per `cooldown_ms`; no entry in alpha or lockout; prices are
//! book asks (on the grid), sizes at or above the venue minimum; no allocation.

use crate::book::{BookSide, Outcome, PRICE_ONE_MICRO};
use crate::config::StrategyConfig;
use crate::exec::signing::amounts::Side;
use crate::signals::arb::fee_per_share_micro;
use crate::signals::Regime;

use super::context::{
    bid, notional_micro, prob_to_micro, scale_micro, taker, Leg, Phase, SizeRules, StrategyContext,
    MAX_MARKETS,
};
use super::intent::{IntentBuf, Reason, StrategyId};

const ID: StrategyId = StrategyId::Lag;

/// Lag parameters (from `[strategy.lag]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LagParams {
    pub kelly_fraction: f64,
    pub win_prob_base: f64,
    pub win_prob_edge_slope: f64,
    pub win_prob_max: f64,
    pub wide_spread_micro: i64,
    pub wide_spread_min_left_s: u64,
    pub high_vol_min_left_s: u64,
    pub pre_resolution_min_edge_micro: i64,
    pub cooldown_ms: u64,
}

impl LagParams {
    /// Fraction of capital to stake on `edge_micro` at `ask_micro` (fractional Kelly; 0 when
    /// Kelly says do not bet).
    pub fn stake_fraction(&self, edge_micro: i64, ask_micro: i64) -> f64 {
        if ask_micro <= 0 || ask_micro >= PRICE_ONE_MICRO {
            return 0.0;
        }
        let edge = edge_micro as f64 / PRICE_ONE_MICRO as f64;
        let ask = ask_micro as f64 / PRICE_ONE_MICRO as f64;
        let win = (self.win_prob_base + self.win_prob_edge_slope * edge).min(self.win_prob_max);
        let odds = (1.0 - ask) / ask;
        let kelly = (odds * win - (1.0 - win)) / odds;
        let f = self.kelly_fraction * kelly;
        if f.is_finite() && f > 0.0 {
            f
        } else {
            0.0
        }
    }
}

/// The lag strategy's state over every market slot.
#[derive(Debug, Clone)]
pub struct Lag {
    params: LagParams,
    rules: SizeRules,
    next_ok_ms: [u64; MAX_MARKETS],
}

impl Lag {
    /// A lag exploit with the parameters of `[strategy]`.
    pub fn new(cfg: &StrategyConfig) -> Self {
        let l = &cfg.lag;
        Lag {
            params: LagParams {
                kelly_fraction: l.kelly_fraction,
                win_prob_base: l.win_prob_base,
                win_prob_edge_slope: l.win_prob_edge_slope,
                win_prob_max: l.win_prob_max,
                wide_spread_micro: l.wide_spread_micro,
                wide_spread_min_left_s: l.wide_spread_min_left_s,
                high_vol_min_left_s: l.high_vol_min_left_s,
                pre_resolution_min_edge_micro: l.pre_resolution_min_edge_micro,
                cooldown_ms: l.cooldown_ms,
            },
            rules: SizeRules::from_config(cfg),
            next_ok_ms: [0; MAX_MARKETS],
        }
    }

    /// Forget a market slot (a new window reuses it).
    pub fn reset_market(&mut self, slot: usize) {
        if let Some(t) = self.next_ok_ms.get_mut(slot) {
            *t = 0;
        }
    }

    /// One tick of one market.
    pub fn on_tick(&mut self, ctx: &StrategyContext<'_>, out: &mut IntentBuf) {
        let Some(slot) = ctx.slot() else { return };
        if !matches!(
            ctx.phase,
            Phase::Early | Phase::Prime | Phase::Mature | Phase::PreResolution
        ) || ctx.now_ms < self.next_ok_ms[slot]
        {
            return;
        }
        if let Some(leg) = self.decide(ctx) {
            out.push_order(taker(ID, Reason::LagEdge, ctx.market, leg, 0));
            self.next_ok_ms[slot] = ctx.now_ms.saturating_add(self.params.cooldown_ms);
        }
    }

    fn decide(&self, ctx: &StrategyContext<'_>) -> Option<Leg> {
        let p = &self.params;
        let s = ctx.signals;
        let row = s.regime_row?;
        let mut min_edge = row.lag_min_edge_micro?;
        let secs = ctx.seconds_left();
        if s.regime == Some(Regime::High) && secs < p.high_vol_min_left_s {
            return None;
        }
        if ctx.phase == Phase::PreResolution {
            min_edge = min_edge.max(p.pre_resolution_min_edge_micro);
        }
        let fair_up = prob_to_micro(s.fair_up?)?;
        let mut best: Option<(Outcome, i64, i64, i64)> = None;
        for (outcome, fair) in [
            (Outcome::Up, fair_up),
            (Outcome::Down, PRICE_ONE_MICRO - fair_up),
        ] {
            let book = ctx.book(outcome);
            let Some(level) = book.best(BookSide::Ask) else {
                continue;
            };
            let a = level.price_micro;
            let spread = bid(book).map_or(i64::MAX, |b| a - b);
            if spread > p.wide_spread_micro && secs < p.wide_spread_min_left_s {
                continue;
            }
            let edge = fair - a - fee_per_share_micro(a, ctx.fee_rate_ppm);
            if edge > min_edge && best.is_none_or(|(_, _, e, _)| edge > e) {
                best = Some((outcome, a, edge, level.size_micro));
            }
        }
        let (outcome, a, edge, at_ask) = best?;
        let stake = scale_micro(ctx.capital_micro, p.stake_fraction(edge, a));
        let held = match outcome {
            Outcome::Up => ctx.position.up_micro,
            Outcome::Down => ctx.position.down_micro,
        };
        let cap = scale_micro(
            ctx.capital_micro,
            f64::from(row.position_cap_bps) / 10_000.0,
        ) - notional_micro(held, a);
        let dollars = stake.min(cap);
        let by_money = self
            .rules
            .shares_for(dollars, a + fee_per_share_micro(a, ctx.fee_rate_ppm))?;
        let size = self.rules.shares(by_money.min(at_ask))?;
        Some(Leg {
            outcome,
            side: Side::Buy,
            price_micro: a,
            size_micro: size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn kelly_stake_follows_the_spec_formula() {
        let lag = Lag::new(&Config::shipped().unwrap().strategy);
        let p = lag.params;
        // edge 0.05 at ask 0.50: win = 0.72, odds = 1, kelly = 0.44, quarter = 0.11.
        assert!((p.stake_fraction(50_000, 500_000) - 0.11).abs() < 1e-12);
        // The win probability caps at 0.80: edge 0.20 at 0.50 → kelly 0.60 → 0.15.
        assert!((p.stake_fraction(200_000, 500_000) - 0.15).abs() < 1e-12);
        // An expensive ask with a small edge: Kelly negative → no stake.
        assert_eq!(p.stake_fraction(10_000, 900_000), 0.0);
        assert_eq!(p.stake_fraction(50_000, 0), 0.0);
    }
}
