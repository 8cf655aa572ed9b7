//! The pre-trade gate (strategy spec §5 "safe submit"), run by the hot thread on every order
//! before it is signed: trading state (killed, paused) and the size multiplier (an order it
//! shrinks under the venue minimum is refused, not sent); price on the
//! grid and within a maximum deviation of the mid; no stale or resyncing book, no stale
//! oracle; total exposure ≤ `max_exposure_bps` of capital; the market's position ≤ the
//! regime's position cap; collateral (notional + taker fee) ≤ what is available after in-flight
//! orders, or tokens held for a sell; no directional bet above `max_directional_bps`.
//!
//! Invariants: O(1), no allocation, no I/O; integer micro-units; every rejection is a typed
//! [`Rejection`] and counted; a check that reduces risk (a sell, a bet shrinking the net
//! direction) is never refused by the limit it reduces.

use crate::book::Outcome;
use crate::config::schema::RiskConfig;
use crate::exec::orders::positions::{notional_micros, taker_fee_micros};
use crate::exec::signing::amounts::Side;
use crate::risk::state::{RiskShared, TradingMode, FULL_SIZE_BPS};
use crate::signals::Regime;
use crate::strategy::intent::OrderIntent;

/// One dollar (and one share) in micro-units.
const ONE: i64 = 1_000_000;
/// Sizes scaled by the multiplier are rounded down to this lot (0.01 share).
const SIZE_LOT_MICRO: i64 = 10_000;

/// Why an order was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Rejection {
    /// The kill switch is set.
    #[error("kill switch set")]
    Killed,
    /// Daily-loss pause.
    #[error("trading paused")]
    Paused,
    /// Size under the venue's minimum order (`strategy.min_order_shares_micro`), possibly
    /// after the loss-streak size multiplier: the venue would refuse it.
    #[error("size below the venue minimum")]
    BelowMinSize,
    /// Price outside (0, 1).
    #[error("price outside (0, 1)")]
    BadPrice,
    /// The book has no mid (a side is empty).
    #[error("no mid price")]
    NoMid,
    /// |price − mid| above the configured maximum.
    #[error("price too far from the mid")]
    PriceFarFromMid,
    /// The book has not updated within `risk.max_book_age_ms`.
    #[error("stale book")]
    StaleBook,
    /// The book is being resynchronised.
    #[error("book resyncing")]
    BookResyncing,
    /// No oracle price, or older than `oracle.max_age_ms`.
    #[error("stale oracle")]
    StaleOracle,
    /// Total exposure would exceed `risk.max_exposure_bps` of capital.
    #[error("exposure limit")]
    ExposureLimit,
    /// The market's position would exceed the regime's position cap.
    #[error("position limit")]
    PositionLimit,
    /// The net directional bet would exceed `risk.max_directional_bps` of capital.
    #[error("directional limit")]
    DirectionalLimit,
    /// Collateral (notional + fee) above what is available.
    #[error("insufficient collateral")]
    InsufficientCollateral,
    /// Selling more tokens than held.
    #[error("insufficient tokens")]
    InsufficientTokens,
}

impl Rejection {
    /// Number of rejection kinds.
    pub const COUNT: usize = 14;

    /// Dense index for counters.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Account-wide figures, micro-dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Account {
    /// Capital (equity) the percentage limits refer to.
    pub capital_micro: i64,
    /// Cost of held positions plus resting/in-flight BUY orders.
    pub exposure_micro: i64,
    /// Collateral available after in-flight reservations.
    pub available_collateral_micro: i64,
}

/// One market's risk inputs, micro-units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketRisk {
    /// The market's volatility regime (position cap).
    pub regime: Regime,
    /// Mid of the Up book and of the Down book; `None` when one side is empty.
    pub mid_micro: [Option<i64>; 2],
    /// Milliseconds since the last book update.
    pub book_age_ms: u64,
    /// The book is resynchronising (gap or reconnect).
    pub book_resyncing: bool,
    /// Milliseconds since the latest oracle observation; `None` = none yet.
    pub oracle_age_ms: Option<u64>,
    /// Cost of the held Up and Down tokens plus open BUY orders on each.
    pub cost_micro: [i64; 2],
    /// Tokens that may be sold (held, not reserved), Up and Down.
    pub sellable_micro: [i64; 2],
    /// Taker fee rate, micro-units (0.072 → 72_000).
    pub fee_rate_micro: u64,
}

impl MarketRisk {
    /// Net directional cost, Up minus Down.
    pub fn net_direction_micro(&self) -> i64 {
        self.cost_micro[0] - self.cost_micro[1]
    }

    /// These inputs after an approved order.
    pub fn after(&self, outcome: Outcome, approval: &Approval) -> MarketRisk {
        let mut m = *self;
        let i = outcome_index(outcome);
        m.cost_micro[i] += approval.position_delta_micro;
        if approval.tokens_reserved_micro > 0 {
            m.sellable_micro[i] -= approval.tokens_reserved_micro;
        }
        m
    }
}

/// Account figures after an approved order.
pub fn account_after(account: &Account, approval: &Approval) -> Account {
    Account {
        capital_micro: account.capital_micro,
        exposure_micro: account.exposure_micro + approval.position_delta_micro.max(0),
        available_collateral_micro: account.available_collateral_micro - approval.collateral_micro,
    }
}

/// What an approved order does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approval {
    /// Size to send (the multiplier applied), micro-shares.
    pub size_micro: i64,
    /// Collateral it needs (BUY notional + taker fee), micro-dollars.
    pub collateral_micro: i64,
    /// Change of the market's position cost (+ for a buy, − for a sell).
    pub position_delta_micro: i64,
    /// Tokens a sell reserves.
    pub tokens_reserved_micro: i64,
}

/// The limits of the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreTradeLimits {
    /// Total exposure cap, basis points of capital.
    pub max_exposure_bps: u32,
    /// Largest directional bet, basis points of capital.
    pub max_directional_bps: u32,
    /// Largest |price − mid|.
    pub max_price_deviation_micro: i64,
    /// Book age limit.
    pub max_book_age_ms: u64,
    /// Oracle age limit (`oracle.max_age_ms`).
    pub oracle_max_age_ms: u64,
    /// Position cap per regime DEAD..EXTREME, basis points of capital.
    pub position_cap_bps: [u32; 5],
    /// Smallest order the venue takes, micro-shares (`strategy.min_order_shares_micro`).
    pub min_size_micro: i64,
}

impl PreTradeLimits {
    /// From `[risk]`, `oracle.max_age_ms`, `signals.regimes.position_cap_bps` and
    /// `strategy.min_order_shares_micro`.
    pub fn from_config(
        risk: &RiskConfig,
        oracle_max_age_ms: u32,
        position_cap_bps: [u32; 5],
        min_size_micro: i64,
    ) -> Self {
        PreTradeLimits {
            max_exposure_bps: risk.max_exposure_bps,
            max_directional_bps: risk.max_directional_bps,
            max_price_deviation_micro: risk.max_price_deviation_micro,
            max_book_age_ms: u64::from(risk.max_book_age_ms),
            oracle_max_age_ms: u64::from(oracle_max_age_ms),
            position_cap_bps,
            min_size_micro,
        }
    }
}

const fn outcome_index(o: Outcome) -> usize {
    match o {
        Outcome::Up => 0,
        Outcome::Down => 1,
    }
}

fn bps_of(capital: i64, bps: u32) -> i64 {
    let v = i128::from(capital) * i128::from(bps) / 10_000;
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The gate and its counters.
#[derive(Debug, Clone)]
pub struct PreTrade {
    limits: PreTradeLimits,
    rejected: [u64; Rejection::COUNT],
    approved: u64,
}

impl PreTrade {
    /// A gate with `limits`.
    pub fn new(limits: PreTradeLimits) -> Self {
        PreTrade {
            limits,
            rejected: [0; Rejection::COUNT],
            approved: 0,
        }
    }

    /// Rejections of `kind` so far.
    pub fn rejected(&self, kind: Rejection) -> u64 {
        self.rejected[kind.index()]
    }

    /// Approvals so far.
    pub fn approved(&self) -> u64 {
        self.approved
    }

    /// Count a rejection (also used for group-level verdicts).
    pub fn count(&mut self, kind: Rejection) -> Rejection {
        self.rejected[kind.index()] += 1;
        kind
    }

    /// Every check of one order, including the directional limit on this order alone.
    pub fn check(
        &mut self,
        intent: &OrderIntent,
        market: &MarketRisk,
        account: &Account,
        shared: &RiskShared,
        now_ms: u64,
    ) -> Result<Approval, Rejection> {
        let approval = self.check_leg(intent, market, account, shared, now_ms)?;
        self.check_directional(market, &market.after(intent.outcome, &approval), account)?;
        self.approved += 1;
        Ok(approval)
    }

    /// Every check except the directional limit (for pair legs checked together; the
    /// caller then runs [`PreTrade::check_directional`] on the group's combined effect).
    pub fn check_leg(
        &mut self,
        intent: &OrderIntent,
        market: &MarketRisk,
        account: &Account,
        shared: &RiskShared,
        now_ms: u64,
    ) -> Result<Approval, Rejection> {
        match self.leg(intent, market, account, shared, now_ms) {
            Ok(a) => Ok(a),
            Err(kind) => Err(self.count(kind)),
        }
    }

    /// The directional limit: refused when |net Up − Down| after exceeds the limit and grew.
    pub fn check_directional(
        &mut self,
        before: &MarketRisk,
        after: &MarketRisk,
        account: &Account,
    ) -> Result<(), Rejection> {
        let limit = bps_of(account.capital_micro, self.limits.max_directional_bps);
        let was = before.net_direction_micro().abs();
        let now = after.net_direction_micro().abs();
        if now > limit && now > was {
            return Err(self.count(Rejection::DirectionalLimit));
        }
        Ok(())
    }

    fn leg(
        &self,
        intent: &OrderIntent,
        market: &MarketRisk,
        account: &Account,
        shared: &RiskShared,
        now_ms: u64,
    ) -> Result<Approval, Rejection> {
        match shared.mode(now_ms) {
            TradingMode::Killed => return Err(Rejection::Killed),
            TradingMode::Paused => return Err(Rejection::Paused),
            TradingMode::Running => {}
        }
        let mult = shared.size_mult_bps().min(FULL_SIZE_BPS);
        let mut size = intent.size_micro;
        if mult < FULL_SIZE_BPS {
            size = size.saturating_mul(i64::from(mult)) / i64::from(FULL_SIZE_BPS);
            size -= size.rem_euclid(SIZE_LOT_MICRO);
        }
        if size <= 0 || size < self.limits.min_size_micro {
            return Err(Rejection::BelowMinSize);
        }
        let price = intent.price_micro;
        if price <= 0 || price >= ONE {
            return Err(Rejection::BadPrice);
        }
        if market.book_resyncing {
            return Err(Rejection::BookResyncing);
        }
        if market.book_age_ms > self.limits.max_book_age_ms {
            return Err(Rejection::StaleBook);
        }
        match market.oracle_age_ms {
            Some(age) if age <= self.limits.oracle_max_age_ms => {}
            _ => return Err(Rejection::StaleOracle),
        }
        let i = outcome_index(intent.outcome);
        let Some(mid) = market.mid_micro[i] else {
            return Err(Rejection::NoMid);
        };
        if (price - mid).abs() > self.limits.max_price_deviation_micro {
            return Err(Rejection::PriceFarFromMid);
        }
        let notional = notional_micros(size as u64, price as u64) as i64;
        match intent.side {
            Side::Buy => {
                let fee = if intent.post_only {
                    0
                } else {
                    taker_fee_micros(size as u64, price as u64, market.fee_rate_micro) as i64
                };
                let cap = account.capital_micro;
                if account.exposure_micro + notional > bps_of(cap, self.limits.max_exposure_bps) {
                    return Err(Rejection::ExposureLimit);
                }
                let position = market.cost_micro[0] + market.cost_micro[1] + notional;
                let position_cap = self.limits.position_cap_bps[market.regime.index()];
                if position > bps_of(cap, position_cap) {
                    return Err(Rejection::PositionLimit);
                }
                if notional + fee > account.available_collateral_micro {
                    return Err(Rejection::InsufficientCollateral);
                }
                Ok(Approval {
                    size_micro: size,
                    collateral_micro: notional + fee,
                    position_delta_micro: notional,
                    tokens_reserved_micro: 0,
                })
            }
            Side::Sell => {
                if size > market.sellable_micro[i] {
                    return Err(Rejection::InsufficientTokens);
                }
                // The position's cost shrinks by its average cost per token sold.
                let held = market.sellable_micro[i].max(1);
                let cost_out =
                    (i128::from(market.cost_micro[i]) * i128::from(size) / i128::from(held)) as i64;
                Ok(Approval {
                    size_micro: size,
                    collateral_micro: 0,
                    position_delta_micro: -cost_out.min(market.cost_micro[i]).max(0),
                    tokens_reserved_micro: size,
                })
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::book::MarketIdx;
    use crate::config::{Config, SHIPPED_CONFIG_TOML};
    use crate::strategy::intent::{Reason, StrategyId, TimeInForce};

    pub(crate) fn limits() -> PreTradeLimits {
        let c: Config = SHIPPED_CONFIG_TOML.parse().unwrap();
        PreTradeLimits::from_config(
            &c.risk,
            c.oracle.max_age_ms,
            c.signals.regimes.position_cap_bps,
            c.strategy.min_order_shares_micro,
        )
    }

    pub(crate) fn market() -> MarketRisk {
        MarketRisk {
            regime: Regime::Medium,
            mid_micro: [Some(500_000), Some(500_000)],
            book_age_ms: 100,
            book_resyncing: false,
            oracle_age_ms: Some(200),
            cost_micro: [0, 0],
            sellable_micro: [0, 0],
            fee_rate_micro: 72_000,
        }
    }

    /// $1000 capital, nothing exposed, $1000 available.
    pub(crate) fn account() -> Account {
        Account {
            capital_micro: 1_000_000_000,
            exposure_micro: 0,
            available_collateral_micro: 1_000_000_000,
        }
    }

    /// Buy `shares` Up at `price_c` cents.
    pub(crate) fn buy(outcome: Outcome, price_c: i64, shares: i64) -> OrderIntent {
        OrderIntent {
            strategy: StrategyId::Lag,
            reason: Reason::LagEdge,
            market: MarketIdx(0),
            outcome,
            side: Side::Buy,
            price_micro: price_c * 10_000,
            size_micro: shares * ONE,
            tif: TimeInForce::Fak,
            post_only: false,
            group: 0,
        }
    }

    fn check(
        i: &OrderIntent,
        m: &MarketRisk,
        a: &Account,
        s: &RiskShared,
    ) -> Result<Approval, Rejection> {
        let mut gate = PreTrade::new(limits());
        let r = gate.check(i, m, a, s, 1_000);
        if let Err(kind) = r {
            assert_eq!(gate.rejected(kind), 1, "rejection counted");
        }
        r
    }

    #[test]
    fn a_plain_buy_passes_and_costs_notional_plus_fee() {
        // 40 shares at 50c: $20 notional; fee 40 · 0.072 · 0.25 = $0.72.
        let a = check(
            &buy(Outcome::Up, 50, 40),
            &market(),
            &account(),
            &RiskShared::new(),
        )
        .unwrap();
        assert_eq!(a.size_micro, 40_000_000);
        assert_eq!(a.collateral_micro, 20_720_000);
        assert_eq!(a.position_delta_micro, 20_000_000);
    }

    #[test]
    fn exposure_above_half_the_capital_is_refused() {
        let mut acct = account();
        acct.exposure_micro = 490_000_000;
        // $490 + $20 > $500.
        assert_eq!(
            check(
                &buy(Outcome::Up, 50, 40),
                &market(),
                &acct,
                &RiskShared::new()
            ),
            Err(Rejection::ExposureLimit)
        );
        acct.exposure_micro = 480_000_000;
        assert!(check(
            &buy(Outcome::Up, 50, 40),
            &market(),
            &acct,
            &RiskShared::new()
        )
        .is_ok());
    }

    #[test]
    fn a_directional_bet_above_five_percent_is_refused_but_a_hedge_is_not() {
        // $60 of Up alone: net $60 > $50.
        assert_eq!(
            check(
                &buy(Outcome::Up, 50, 120),
                &market(),
                &account(),
                &RiskShared::new()
            ),
            Err(Rejection::DirectionalLimit)
        );
        // Holding $60 Up, buying $60 Down shrinks the net: allowed.
        let mut m = market();
        m.cost_micro = [60_000_000, 0];
        assert!(check(
            &buy(Outcome::Down, 50, 120),
            &m,
            &account(),
            &RiskShared::new()
        )
        .is_ok());
    }

    #[test]
    fn the_regime_position_cap_is_enforced() {
        // MEDIUM caps a market at 20% = $200; holding $190 (balanced), $20 more is too much.
        let mut m = market();
        m.cost_micro = [95_000_000, 95_000_000];
        assert_eq!(
            check(
                &buy(Outcome::Up, 50, 40),
                &m,
                &account(),
                &RiskShared::new()
            ),
            Err(Rejection::PositionLimit)
        );
    }

    #[test]
    fn stale_and_resyncing_books_and_stale_oracles_are_refused() {
        let s = RiskShared::new();
        let mut m = market();
        m.book_age_ms = 10_001;
        assert_eq!(
            check(&buy(Outcome::Up, 50, 5), &m, &account(), &s),
            Err(Rejection::StaleBook)
        );
        let mut m = market();
        m.book_resyncing = true;
        assert_eq!(
            check(&buy(Outcome::Up, 50, 5), &m, &account(), &s),
            Err(Rejection::BookResyncing)
        );
        let mut m = market();
        m.oracle_age_ms = Some(5_001);
        assert_eq!(
            check(&buy(Outcome::Up, 50, 5), &m, &account(), &s),
            Err(Rejection::StaleOracle)
        );
        m.oracle_age_ms = None;
        assert_eq!(
            check(&buy(Outcome::Up, 50, 5), &m, &account(), &s),
            Err(Rejection::StaleOracle)
        );
    }

    #[test]
    fn collateral_must_cover_the_taker_fee_too() {
        let mut acct = account();
        // Needs $20.72: $20.71 is not enough, $20.72 is.
        acct.available_collateral_micro = 20_719_999;
        assert_eq!(
            check(
                &buy(Outcome::Up, 50, 40),
                &market(),
                &acct,
                &RiskShared::new()
            ),
            Err(Rejection::InsufficientCollateral)
        );
        acct.available_collateral_micro = 20_720_000;
        assert!(check(
            &buy(Outcome::Up, 50, 40),
            &market(),
            &acct,
            &RiskShared::new()
        )
        .is_ok());
        // A maker (post-only) order pays no fee.
        acct.available_collateral_micro = 20_000_000;
        let mut maker = buy(Outcome::Up, 50, 40);
        maker.post_only = true;
        assert!(check(&maker, &market(), &acct, &RiskShared::new()).is_ok());
    }

    #[test]
    fn a_price_far_from_the_mid_or_without_a_mid_is_refused() {
        let s = RiskShared::new();
        assert_eq!(
            check(&buy(Outcome::Up, 61, 5), &market(), &account(), &s),
            Err(Rejection::PriceFarFromMid)
        );
        assert!(check(&buy(Outcome::Up, 60, 5), &market(), &account(), &s).is_ok());
        let mut m = market();
        m.mid_micro[1] = None;
        assert_eq!(
            check(&buy(Outcome::Down, 50, 5), &m, &account(), &s),
            Err(Rejection::NoMid)
        );
        assert_eq!(
            check(&buy(Outcome::Up, 100, 5), &market(), &account(), &s),
            Err(Rejection::BadPrice)
        );
    }

    #[test]
    fn paused_killed_and_the_size_multiplier_are_honoured() {
        let s = RiskShared::new();
        s.pause_until(2_000);
        assert_eq!(
            check(&buy(Outcome::Up, 50, 5), &market(), &account(), &s),
            Err(Rejection::Paused)
        );
        s.pause_until(1_000);
        assert!(
            check(&buy(Outcome::Up, 50, 5), &market(), &account(), &s).is_ok(),
            "pause over"
        );
        s.set_size_mult_bps(5_000);
        let a = check(&buy(Outcome::Up, 50, 11), &market(), &account(), &s).unwrap();
        assert_eq!(a.size_micro, 5_500_000);
        assert_eq!(
            check(&buy(Outcome::Up, 50, 9), &market(), &account(), &s),
            Err(Rejection::BelowMinSize),
            "halved to 4.5 shares: under the venue's 5, refused rather than sent"
        );
        s.kill(crate::risk::state::KillReason::Command);
        assert_eq!(
            check(&buy(Outcome::Up, 50, 5), &market(), &account(), &s),
            Err(Rejection::Killed)
        );
    }

    #[test]
    fn sells_need_tokens_and_reduce_the_position() {
        let s = RiskShared::new();
        let mut sell = buy(Outcome::Up, 50, 10);
        sell.side = Side::Sell;
        assert_eq!(
            check(&sell, &market(), &account(), &s),
            Err(Rejection::InsufficientTokens)
        );
        let mut m = market();
        m.cost_micro = [4_000_000, 0];
        m.sellable_micro = [10_000_000, 0];
        let a = check(&sell, &m, &account(), &s).unwrap();
        assert_eq!(a.position_delta_micro, -4_000_000);
        assert_eq!(a.collateral_micro, 0);
    }
}
