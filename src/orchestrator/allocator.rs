//! Capital allocation (strategy spec §5 and §1): the capital tier of the current equity picks
//! each strategy's share; each market type (`[[markets]]` entry) gets its `capital_share_bps`;
//! the capital a (market, strategy) may use is `capital × market share × strategy share`,
//! less what that pair has committed. A resolved window releases its commitment at once, so the
//! next window of that market type starts with its full allocation (capital redeployed).
//!
//! Invariants: integer micro-dollars throughout; tables are sized once at construction (no
//! allocation afterwards); below the lowest tier floor nothing is allocated; a commitment never
//! goes negative.

use crate::config::schema::AllocatorConfig;
use crate::config::MarketConfig;
use crate::signals::Regime;
use crate::strategy::intent::StrategyId;

/// Capital tiers, as indexes into the share tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// $5–50.
    Micro,
    /// $50–500.
    Small,
    /// $500–5k.
    Medium,
    /// $5k and up: shares by regime.
    Large,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Allocator {
    tier_floors_micro: [i64; 4],
    tier_shares_bps: [[u32; 5]; 3],
    regime_shares_bps: [[u32; 5]; 5],
    market_share_bps: Vec<u32>,
    committed_micro: Vec<[i64; StrategyId::COUNT]>,
    capital_micro: i64,
}

impl Allocator {
    /// From `[allocator]` and the `[[markets]]` list (market type `i` = `markets[i]`).
    pub fn new(config: &AllocatorConfig, markets: &[MarketConfig]) -> Self {
        Allocator {
            tier_floors_micro: config.tier_floors_micro,
            tier_shares_bps: config.tier_shares_bps,
            regime_shares_bps: config.regime_shares_bps,
            market_share_bps: markets.iter().map(|m| m.capital_share_bps).collect(),
            committed_micro: vec![[0; StrategyId::COUNT]; markets.len()],
            capital_micro: config.starting_capital_micro,
        }
    }

    /// Current capital (equity), micro-dollars.
    pub fn capital_micro(&self) -> i64 {
        self.capital_micro
    }

    /// Set the capital (equity) allocations are computed from.
    pub fn set_capital(&mut self, micro: i64) {
        self.capital_micro = micro.max(0);
    }

    /// The tier of the current capital; `None` below the lowest floor.
    pub fn tier(&self) -> Option<Tier> {
        let c = self.capital_micro;
        let f = &self.tier_floors_micro;
        if c < f[0] {
            None
        } else if c < f[1] {
            Some(Tier::Micro)
        } else if c < f[2] {
            Some(Tier::Small)
        } else if c < f[3] {
            Some(Tier::Medium)
        } else {
            Some(Tier::Large)
        }
    }

    /// `strategy`'s share of a market's capital under `regime`, basis points.
    pub fn strategy_share_bps(&self, strategy: StrategyId, regime: Regime) -> u32 {
        let row = match self.tier() {
            None => return 0,
            Some(Tier::Micro) => &self.tier_shares_bps[0],
            Some(Tier::Small) => &self.tier_shares_bps[1],
            Some(Tier::Medium) => &self.tier_shares_bps[2],
            Some(Tier::Large) => &self.regime_shares_bps[regime.index()],
        };
        row[strategy.index()]
    }

    /// Capital (micro-dollars) allocated to `strategy` in market type `market_type`.
    pub fn allocation(&self, market_type: usize, strategy: StrategyId, regime: Regime) -> i64 {
        let Some(market_bps) = self.market_share_bps.get(market_type) else {
            return 0;
        };
        let v = i128::from(self.capital_micro)
            * i128::from(*market_bps)
            * i128::from(self.strategy_share_bps(strategy, regime))
            / 100_000_000;
        i64::try_from(v).unwrap_or(i64::MAX)
    }

    /// Allocation not yet committed.
    pub fn available(&self, market_type: usize, strategy: StrategyId, regime: Regime) -> i64 {
        let committed = self.committed(market_type, strategy);
        (self.allocation(market_type, strategy, regime) - committed).max(0)
    }

    /// What (market type, strategy) has committed.
    pub fn committed(&self, market_type: usize, strategy: StrategyId) -> i64 {
        self.committed_micro
            .get(market_type)
            .map_or(0, |row| row[strategy.index()])
    }

    /// Record `micro` more committed (an order placed or a position bought).
    pub fn commit(&mut self, market_type: usize, strategy: StrategyId, micro: i64) {
        if let Some(row) = self.committed_micro.get_mut(market_type) {
            let slot = &mut row[strategy.index()];
            *slot = slot.saturating_add(micro.max(0));
        }
    }

    /// Release `micro` of a commitment (order cancelled, position sold).
    pub fn release(&mut self, market_type: usize, strategy: StrategyId, micro: i64) {
        if let Some(row) = self.committed_micro.get_mut(market_type) {
            let slot = &mut row[strategy.index()];
            *slot = (*slot - micro.max(0)).max(0);
        }
    }

    /// A window of `market_type` resolved with net P&L `pnl_micro`: every commitment of that
    /// market type is freed and the capital moves by the P&L, so the next window is funded at
    /// once.
    pub fn on_resolved(&mut self, market_type: usize, pnl_micro: i64) {
        if let Some(row) = self.committed_micro.get_mut(market_type) {
            *row = [0; StrategyId::COUNT];
        }
        self.capital_micro = self.capital_micro.saturating_add(pnl_micro).max(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, SHIPPED_CONFIG_TOML};

    fn allocator(capital_micro: i64) -> Allocator {
        let config: Config = SHIPPED_CONFIG_TOML.parse().unwrap();
        let mut a = Allocator::new(&config.allocator, &config.markets);
        a.set_capital(capital_micro);
        a
    }

    #[test]
    fn tiers_follow_the_capital() {
        assert_eq!(allocator(4_999_999).tier(), None);
        assert_eq!(allocator(5_000_000).tier(), Some(Tier::Micro));
        assert_eq!(allocator(50_000_000).tier(), Some(Tier::Small));
        assert_eq!(allocator(499_999_999).tier(), Some(Tier::Small));
        assert_eq!(allocator(500_000_000).tier(), Some(Tier::Medium));
        assert_eq!(allocator(5_000_000_000).tier(), Some(Tier::Large));
    }

    #[test]
    fn the_lowest_tier_runs_straddle_and_arb_only() {
        let a = allocator(20_000_000);
        for s in StrategyId::ALL {
            let allowed = matches!(s, StrategyId::Straddle | StrategyId::Arb);
            assert_eq!(a.allocation(0, s, Regime::Medium) > 0, allowed, "{s:?}");
        }
        assert_eq!(
            allocator(1_000_000).allocation(0, StrategyId::Arb, Regime::Low),
            0
        );
    }

    #[test]
    fn shares_multiply_market_and_strategy_shares() {
        // $200: Small tier; BTC 5m is 40%, straddle 50% → $40; lag 30% → $24; arb 20% → $16.
        let a = allocator(200_000_000);
        assert_eq!(
            a.allocation(0, StrategyId::Straddle, Regime::Low),
            40_000_000
        );
        assert_eq!(a.allocation(0, StrategyId::Lag, Regime::Low), 24_000_000);
        assert_eq!(a.allocation(0, StrategyId::Arb, Regime::Low), 16_000_000);
        assert_eq!(a.allocation(0, StrategyId::MarketMaking, Regime::Low), 0);
        // SOL 15m (market type 3) is 10%: straddle $10.
        assert_eq!(
            a.allocation(3, StrategyId::Straddle, Regime::Low),
            10_000_000
        );
        // $1000: Medium tier, BTC 15m 20%, MM 25% → $50.
        let a = allocator(1_000_000_000);
        assert_eq!(
            a.allocation(1, StrategyId::MarketMaking, Regime::Low),
            50_000_000
        );
        // $10k: Large tier by regime: DEAD gives everything to MM, EXTREME to arb.
        let a = allocator(10_000_000_000);
        assert_eq!(
            a.allocation(0, StrategyId::MarketMaking, Regime::Dead),
            4_000_000_000
        );
        assert_eq!(a.allocation(0, StrategyId::Straddle, Regime::Dead), 0);
        assert_eq!(
            a.allocation(0, StrategyId::Arb, Regime::Extreme),
            4_000_000_000
        );
        assert_eq!(
            a.allocation(9, StrategyId::Arb, Regime::Extreme),
            0,
            "unknown type"
        );
    }

    #[test]
    fn commitments_reduce_what_is_available_and_resolution_redeploys() {
        let mut a = allocator(200_000_000);
        a.commit(0, StrategyId::Straddle, 30_000_000);
        assert_eq!(
            a.available(0, StrategyId::Straddle, Regime::Low),
            10_000_000
        );
        a.commit(0, StrategyId::Straddle, 30_000_000);
        assert_eq!(a.available(0, StrategyId::Straddle, Regime::Low), 0);
        a.release(0, StrategyId::Straddle, 50_000_000);
        assert_eq!(a.committed(0, StrategyId::Straddle), 10_000_000);
        a.release(0, StrategyId::Straddle, 50_000_000);
        assert_eq!(a.committed(0, StrategyId::Straddle), 0, "never negative");
        a.commit(0, StrategyId::Straddle, 40_000_000);
        a.commit(0, StrategyId::Arb, 16_000_000);
        // Window resolves with +$20: everything freed, capital $220 → straddle $44.
        a.on_resolved(0, 20_000_000);
        assert_eq!(a.capital_micro(), 220_000_000);
        assert_eq!(
            a.available(0, StrategyId::Straddle, Regime::Low),
            44_000_000
        );
        assert_eq!(a.available(0, StrategyId::Arb, Regime::Low), 17_600_000);
    }
}
