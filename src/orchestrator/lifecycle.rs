//! The per-market window state machine (strategy spec §2): Upcoming → Alpha → Early → Prime →
//! Mature → Pre-resolution → Lockout → Resolved, with boundaries from `[lifecycle]` per market
//! type scaled to the window's real length, and the permission matrix saying which strategy may
//! act in which phase and regime.
//!
//! Invariants: phase arithmetic is exact integer (no rounding drift at a boundary); a window's
//! phase never moves backwards; nothing is permitted in Upcoming, Lockout or Resolved whatever
//! the config says; permission is one bit test per (phase, regime, strategy); a SELL (an exit:
//! there is no shorting) is never refused by the regime, only by the phase.

use crate::config::schema::{LifecycleConfig, StrategyName};
use crate::config::Window;
pub use crate::engine::market_view::Phase;
use crate::exec::signing::amounts::Side;
use crate::signals::Regime;
use crate::strategy::intent::StrategyId;

/// Phase end boundaries of one market type, in seconds of its reference window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseBounds {
    /// End of Alpha, Early, Prime, Mature, Pre-resolution (ascending).
    pub ends_s: [u32; 5],
    /// Reference window length the ends are given for (300 or 900).
    pub reference_s: u32,
}

impl PhaseBounds {
    /// The phase of a window running `[start_ms, end_ms)` at `now_ms`; the ends are scaled by
    /// `(end − start) / reference_s`.
    pub fn phase_at(&self, start_ms: u64, end_ms: u64, now_ms: u64) -> Phase {
        if now_ms < start_ms {
            return Phase::Upcoming;
        }
        if now_ms >= end_ms {
            return Phase::Resolved;
        }
        let length_ms = end_ms.saturating_sub(start_ms).max(1);
        // elapsed / length < end / reference  ⇔  elapsed · reference < end · length.
        let lhs = u128::from(now_ms - start_ms) * u128::from(self.reference_s);
        const PHASES: [Phase; 5] = [
            Phase::Alpha,
            Phase::Early,
            Phase::Prime,
            Phase::Mature,
            Phase::PreResolution,
        ];
        for (end, phase) in self.ends_s.iter().zip(PHASES) {
            if lhs < u128::from(*end) * u128::from(length_ms) {
                return phase;
            }
        }
        Phase::Lockout
    }
}

/// One window's lifecycle: its span and the phase it has reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLifecycle {
    bounds: PhaseBounds,
    start_ms: u64,
    end_ms: u64,
    phase: Phase,
}

impl WindowLifecycle {
    /// A window `[start_ms, end_ms)` with `bounds`, not started yet.
    pub fn new(bounds: PhaseBounds, start_ms: u64, end_ms: u64) -> Self {
        WindowLifecycle {
            bounds,
            start_ms,
            end_ms,
            phase: Phase::Upcoming,
        }
    }

    /// The phase reached so far.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Advance to `now_ms`; `Some(new phase)` on a transition. Never moves backwards (a clock
    /// step back keeps the phase).
    pub fn advance(&mut self, now_ms: u64) -> Option<Phase> {
        let next = self.bounds.phase_at(self.start_ms, self.end_ms, now_ms);
        if next > self.phase {
            self.phase = next;
            Some(next)
        } else {
            None
        }
    }

    /// Milliseconds left until the window's end (0 once it ended).
    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        self.end_ms.saturating_sub(now_ms)
    }
}

/// Phase boundaries per market type and the permission matrix, built from `[lifecycle]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    bounds_5m: PhaseBounds,
    bounds_15m: PhaseBounds,
    /// Strategy bit masks per phase, indexed by [`phase_index`].
    phase_masks: [u8; 8],
    /// Strategy bit masks per regime.
    regime_masks: [u8; 5],
    /// Strategies of each regime in priority order (first = highest).
    regime_priority: [[Option<StrategyId>; StrategyId::COUNT]; 5],
    pre_resolution_exits: bool,
}

/// The strategy id of a config name.
pub const fn strategy_of(name: StrategyName) -> StrategyId {
    match name {
        StrategyName::Straddle => StrategyId::Straddle,
        StrategyName::Arb => StrategyId::Arb,
        StrategyName::Lag => StrategyId::Lag,
        StrategyName::Mm => StrategyId::MarketMaking,
        StrategyName::Momentum => StrategyId::Momentum,
    }
}

fn mask(names: &[StrategyName]) -> u8 {
    names
        .iter()
        .fold(0u8, |m, n| m | (1 << strategy_of(*n).index()))
}

const fn phase_index(phase: Phase) -> usize {
    match phase {
        Phase::Upcoming => 0,
        Phase::Alpha => 1,
        Phase::Early => 2,
        Phase::Prime => 3,
        Phase::Mature => 4,
        Phase::PreResolution => 5,
        Phase::Lockout => 6,
        Phase::Resolved => 7,
    }
}

impl Lifecycle {
    /// From the validated `[lifecycle]` section.
    pub fn from_config(c: &LifecycleConfig) -> Self {
        let p = &c.phases;
        let mut phase_masks = [0u8; 8];
        phase_masks[phase_index(Phase::Alpha)] = mask(&p.alpha);
        phase_masks[phase_index(Phase::Early)] = mask(&p.early);
        phase_masks[phase_index(Phase::Prime)] = mask(&p.prime);
        phase_masks[phase_index(Phase::Mature)] = mask(&p.mature);
        phase_masks[phase_index(Phase::PreResolution)] = mask(&p.pre_resolution);
        let r = &c.regimes;
        let lists: [&[StrategyName]; 5] = [&r.dead, &r.low, &r.medium, &r.high, &r.extreme];
        let mut regime_masks = [0u8; 5];
        let mut regime_priority = [[None; StrategyId::COUNT]; 5];
        for (i, list) in lists.iter().enumerate() {
            regime_masks[i] = mask(list);
            let mut n = 0;
            for name in list.iter() {
                let id = strategy_of(*name);
                if n < StrategyId::COUNT && !regime_priority[i][..n].contains(&Some(id)) {
                    regime_priority[i][n] = Some(id);
                    n += 1;
                }
            }
        }
        Lifecycle {
            bounds_5m: PhaseBounds {
                ends_s: c.bounds_5m_s,
                reference_s: 300,
            },
            bounds_15m: PhaseBounds {
                ends_s: c.bounds_15m_s,
                reference_s: 900,
            },
            phase_masks,
            regime_masks,
            regime_priority,
            pre_resolution_exits: c.pre_resolution_allow_exits,
        }
    }

    /// Boundaries of a market type.
    pub fn bounds(&self, window: Window) -> PhaseBounds {
        match window {
            Window::Min5 => self.bounds_5m,
            Window::Min15 => self.bounds_15m,
        }
    }

    /// The phase of a `window`-type market running `[start_ms, end_ms)` at `now_ms`.
    pub fn phase_at(&self, window: Window, start_ms: u64, end_ms: u64, now_ms: u64) -> Phase {
        self.bounds(window).phase_at(start_ms, end_ms, now_ms)
    }

    /// May `strategy` send a new order on `side` in `phase` under `regime`? BUYs need both the
    /// phase and the regime to allow the strategy; SELLs (exits of held tokens) only the phase
    /// (and in Pre-resolution any strategy's SELL when `pre_resolution_allow_exits`).
    #[inline]
    pub fn permits(&self, phase: Phase, regime: Regime, strategy: StrategyId, side: Side) -> bool {
        match phase {
            Phase::Upcoming | Phase::Lockout | Phase::Resolved => return false,
            Phase::PreResolution if self.pre_resolution_exits && side == Side::Sell => return true,
            _ => {}
        }
        let bit = 1u8 << strategy.index();
        // A SELL only closes held tokens (no shorting): the regime never traps a position,
        // only the phase decides.
        let regime_mask = if side == Side::Sell {
            u8::MAX
        } else {
            self.regime_masks[regime.index()]
        };
        self.phase_masks[phase_index(phase)] & regime_mask & bit != 0
    }

    /// The strategies of `regime` in priority order.
    pub fn priority(&self, regime: Regime) -> impl Iterator<Item = StrategyId> + '_ {
        self.regime_priority[regime.index()]
            .iter()
            .map_while(|s| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, SHIPPED_CONFIG_TOML};

    fn lifecycle() -> Lifecycle {
        let config: Config = SHIPPED_CONFIG_TOML.parse().unwrap();
        Lifecycle::from_config(&config.lifecycle)
    }

    /// Phase at `s` seconds (plus `ms`) into a window of `len_s` seconds.
    fn at(l: &Lifecycle, w: Window, len_s: u64, ms: u64) -> Phase {
        let start = 1_000_000_000;
        l.phase_at(w, start, start + len_s * 1000, start + ms)
    }

    #[test]
    fn five_minute_boundaries_follow_the_spec() {
        let l = lifecycle();
        let w = Window::Min5;
        let cases = [
            (4_999, Phase::Alpha),
            (5_000, Phase::Early),
            (29_999, Phase::Early),
            (30_000, Phase::Prime),
            (119_999, Phase::Prime),
            (120_000, Phase::Mature),
            (240_000, Phase::PreResolution),
            (269_999, Phase::PreResolution),
            (270_000, Phase::Lockout),
            (299_999, Phase::Lockout),
            (300_000, Phase::Resolved),
        ];
        for (ms, phase) in cases {
            assert_eq!(at(&l, w, 300, ms), phase, "at {ms} ms");
        }
        assert_eq!(l.phase_at(w, 10_000, 310_000, 9_999), Phase::Upcoming);
    }

    #[test]
    fn fifteen_minute_boundaries_follow_the_spec() {
        let l = lifecycle();
        let w = Window::Min15;
        let cases = [
            (14_999, Phase::Alpha),
            (15_000, Phase::Early),
            (89_999, Phase::Early),
            (90_000, Phase::Prime),
            (599_999, Phase::Prime),
            (600_000, Phase::Mature),
            (780_000, Phase::PreResolution),
            (870_000, Phase::Lockout),
            (900_000, Phase::Resolved),
        ];
        for (ms, phase) in cases {
            assert_eq!(at(&l, w, 900, ms), phase, "at {ms} ms");
        }
    }

    #[test]
    fn a_thirty_second_demo_window_scales_the_bands() {
        let l = lifecycle();
        // 5m bands × 30/300: 0.5 s, 3 s, 12 s, 24 s, 27 s.
        let cases = [
            (499, Phase::Alpha),
            (500, Phase::Early),
            (2_999, Phase::Early),
            (3_000, Phase::Prime),
            (12_000, Phase::Mature),
            (23_999, Phase::Mature),
            (24_000, Phase::PreResolution),
            (27_000, Phase::Lockout),
            (30_000, Phase::Resolved),
        ];
        for (ms, phase) in cases {
            assert_eq!(at(&l, Window::Min5, 30, ms), phase, "at {ms} ms");
        }
        // 15m bands × 30/900: 0.5 s, 3 s, 20 s, 26 s, 29 s.
        assert_eq!(at(&l, Window::Min15, 30, 19_999), Phase::Prime);
        assert_eq!(at(&l, Window::Min15, 30, 20_000), Phase::Mature);
        assert_eq!(at(&l, Window::Min15, 30, 29_000), Phase::Lockout);
    }

    #[test]
    fn the_state_machine_reports_transitions_and_never_goes_back() {
        let l = lifecycle();
        let mut w = WindowLifecycle::new(l.bounds(Window::Min5), 0, 300_000);
        assert_eq!(w.phase(), Phase::Upcoming);
        assert_eq!(w.advance(0), Some(Phase::Alpha));
        assert_eq!(w.advance(1_000), None);
        assert_eq!(w.advance(130_000), Some(Phase::Mature));
        assert_eq!(w.advance(10_000), None, "clock stepped back");
        assert_eq!(w.phase(), Phase::Mature);
        assert_eq!(w.remaining_ms(290_000), 10_000);
        assert_eq!(w.advance(300_000), Some(Phase::Resolved));
    }

    #[test]
    fn the_permission_matrix_follows_phase_and_regime() {
        let l = lifecycle();
        let all_phases = [
            Phase::Upcoming,
            Phase::Alpha,
            Phase::Early,
            Phase::Prime,
            Phase::Mature,
            Phase::PreResolution,
            Phase::Lockout,
            Phase::Resolved,
        ];
        for regime in Regime::ALL {
            for s in StrategyId::ALL {
                for side in [Side::Buy, Side::Sell] {
                    assert!(!l.permits(Phase::Lockout, regime, s, side));
                    assert!(!l.permits(Phase::Resolved, regime, s, side));
                    assert!(!l.permits(Phase::Upcoming, regime, s, side));
                }
            }
        }
        // DEAD: market-making only, whatever the phase.
        for phase in all_phases {
            for s in StrategyId::ALL {
                if s != StrategyId::MarketMaking {
                    assert!(
                        !l.permits(phase, Regime::Dead, s, Side::Buy),
                        "{s:?} {phase:?}"
                    );
                }
            }
        }
        assert!(l.permits(
            Phase::Prime,
            Regime::Dead,
            StrategyId::MarketMaking,
            Side::Buy
        ));
        // An exit is not trapped by the regime, only by the phase.
        assert!(l.permits(Phase::Prime, Regime::Dead, StrategyId::Momentum, Side::Sell));
        assert!(!l.permits(Phase::Alpha, Regime::Dead, StrategyId::Momentum, Side::Sell));
        // EXTREME: arb only.
        assert!(l.permits(Phase::Alpha, Regime::Extreme, StrategyId::Arb, Side::Buy));
        assert!(!l.permits(Phase::Prime, Regime::Extreme, StrategyId::Lag, Side::Buy));
        // Lag: not in Alpha (phase), yes in Prime under MEDIUM.
        assert!(!l.permits(Phase::Alpha, Regime::Medium, StrategyId::Lag, Side::Buy));
        assert!(l.permits(Phase::Prime, Regime::Medium, StrategyId::Lag, Side::Buy));
        // Pre-resolution: no new MM quotes; lag yes; exits (sells) of anyone yes.
        assert!(!l.permits(
            Phase::PreResolution,
            Regime::Low,
            StrategyId::MarketMaking,
            Side::Buy
        ));
        assert!(l.permits(
            Phase::PreResolution,
            Regime::Medium,
            StrategyId::Lag,
            Side::Buy
        ));
        assert!(l.permits(
            Phase::PreResolution,
            Regime::Low,
            StrategyId::Momentum,
            Side::Sell
        ));
        // Regime priority order is the config order.
        let high: Vec<StrategyId> = l.priority(Regime::High).collect();
        assert_eq!(high[0], StrategyId::Arb);
        assert_eq!(high[1], StrategyId::Lag);
        assert_eq!(l.priority(Regime::Dead).count(), 1);
    }
}
