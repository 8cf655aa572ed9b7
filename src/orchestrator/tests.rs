//! Orchestrator rounds: permissions, duplicates, budget caps, pair legs, the risk gate.

use super::*;
use crate::config::{Config, SHIPPED_CONFIG_TOML};
use crate::risk::pretrade::tests::{account, limits, market};
use crate::signals::Regime;
use crate::strategy::intent::{Reason, TimeInForce};

fn config() -> Config {
    SHIPPED_CONFIG_TOML.parse().unwrap()
}

fn orchestrator() -> Orchestrator {
    let c = config();
    Orchestrator::new(
        Lifecycle::from_config(&c.lifecycle),
        PreTrade::new(limits()),
        16,
        4,
        c.markets.len(),
    )
}

/// $1000 capital: Medium tier (BTC 5m 40% → straddle $120, arb $40, lag $100, MM $100).
fn allocator() -> Allocator {
    let c = config();
    let mut a = Allocator::new(&c.allocator, &c.markets);
    a.set_capital(1_000_000_000);
    a
}

fn slot(phase: Phase, regime: Regime) -> Option<MarketSlot> {
    let mut risk = market();
    risk.regime = regime;
    Some(MarketSlot {
        market_type: 0,
        phase,
        risk,
    })
}

fn intent(
    strategy: StrategyId,
    outcome: Outcome,
    price_c: i64,
    shares: i64,
    group: u32,
) -> OrderIntent {
    OrderIntent {
        strategy,
        reason: Reason::ArbOpen,
        market: MarketIdx(0),
        outcome,
        side: Side::Buy,
        price_micro: price_c * 10_000,
        size_micro: shares * 1_000_000,
        tif: TimeInForce::Fak,
        post_only: false,
        group,
    }
}

fn run(
    o: &mut Orchestrator,
    buf: &mut IntentBuf,
    markets: &[Option<MarketSlot>],
    live: &[LiveOrder],
) -> RoundReport {
    let inputs = RoundInputs {
        markets,
        live,
        account: account(),
        now_ms: 1_000,
    };
    o.round(buf, &inputs, &allocator(), &RiskShared::new())
}

#[test]
fn nothing_is_sent_in_lockout_and_unpermitted_strategies_are_dropped() {
    let mut o = orchestrator();
    let mut buf = IntentBuf::with_capacity(16, 4);
    buf.push_order(intent(StrategyId::Arb, Outcome::Up, 45, 10, 0));
    let r = run(&mut o, &mut buf, &[slot(Phase::Lockout, Regime::High)], &[]);
    assert_eq!((r.sent, r.dropped), (0, 1));
    assert_eq!(o.dropped(DropReason::NotPermitted), 1);

    // DEAD regime: the MM quote passes, the lag intent does not.
    let mut buf = IntentBuf::with_capacity(16, 4);
    let mut mm = intent(StrategyId::MarketMaking, Outcome::Up, 48, 10, 0);
    mm.post_only = true;
    buf.push_order(mm);
    buf.push_order(intent(StrategyId::Lag, Outcome::Down, 52, 10, 0));
    let r = run(&mut o, &mut buf, &[slot(Phase::Prime, Regime::Dead)], &[]);
    assert_eq!(r.sent, 1);
    assert_eq!(buf.orders()[0].strategy, StrategyId::MarketMaking);
    // An unknown market slot.
    let mut buf = IntentBuf::with_capacity(16, 4);
    buf.push_order(OrderIntent {
        market: MarketIdx(3),
        ..mm
    });
    run(&mut o, &mut buf, &[slot(Phase::Prime, Regime::Dead)], &[]);
    assert!(buf.orders().is_empty());
    assert_eq!(o.dropped(DropReason::NoMarket), 1);
}

#[test]
fn duplicates_across_strategies_and_of_live_orders_are_dropped() {
    let mut o = orchestrator();
    let mut buf = IntentBuf::with_capacity(16, 4);
    buf.push_order(intent(StrategyId::Lag, Outcome::Up, 50, 10, 0));
    buf.push_order(intent(StrategyId::Momentum, Outcome::Up, 50, 10, 0));
    buf.push_order(intent(StrategyId::Momentum, Outcome::Up, 51, 10, 0));
    buf.push_order(intent(StrategyId::Lag, Outcome::Down, 49, 10, 0));
    let live = [LiveOrder {
        market: MarketIdx(0),
        outcome: Outcome::Down,
        side: Side::Buy,
        price_micro: 490_000,
    }];
    let r = run(
        &mut o,
        &mut buf,
        &[slot(Phase::Prime, Regime::Medium)],
        &live,
    );
    assert_eq!(r.sent, 2);
    assert_eq!(
        buf.orders()[0].strategy,
        StrategyId::Lag,
        "first pushed wins"
    );
    assert_eq!(buf.orders()[1].price_micro, 510_000);
    assert_eq!(o.dropped(DropReason::Duplicate), 1);
    assert_eq!(o.dropped(DropReason::DuplicateOfLive), 1);
}

#[test]
fn sizes_are_capped_by_the_allocation() {
    let mut o = orchestrator();
    let mut buf = IntentBuf::with_capacity(16, 4);
    // Lag has $100 in BTC 5m: 90 shares at 50c ($45) pass, then 120 more are cut to $55 = 110.
    buf.push_order(intent(StrategyId::Lag, Outcome::Up, 50, 90, 0));
    buf.push_order(intent(StrategyId::Lag, Outcome::Down, 50, 120, 0));
    buf.push_order(intent(StrategyId::Lag, Outcome::Down, 51, 10, 0));
    let r = run(&mut o, &mut buf, &[slot(Phase::Prime, Regime::Medium)], &[]);
    assert_eq!(r.capped, 1);
    assert_eq!(r.sent, 2);
    assert_eq!(buf.orders()[0].size_micro, 90_000_000);
    assert_eq!(buf.orders()[1].size_micro, 110_000_000);
    assert_eq!(o.dropped(DropReason::NoBudget), 1);
}

#[test]
fn pair_legs_stay_together() {
    let mut o = orchestrator();
    // Arb has $40: legs of 50 shares at 45c and 50c ($22.5 + $25) — the second leg is cut to
    // 30 shares (the $17.5 left / 0.50 = 35 → but the group is equalised to the smaller).
    let mut buf = IntentBuf::with_capacity(16, 4);
    buf.push_order(intent(StrategyId::Arb, Outcome::Up, 45, 50, 7));
    buf.push_order(intent(StrategyId::Arb, Outcome::Down, 50, 50, 7));
    let r = run(&mut o, &mut buf, &[slot(Phase::Prime, Regime::High)], &[]);
    assert_eq!(r.sent, 2);
    assert_eq!(buf.orders()[0].size_micro, 35_000_000);
    assert_eq!(buf.orders()[1].size_micro, 35_000_000);

    // One leg a duplicate of a live order: both go.
    let mut buf = IntentBuf::with_capacity(16, 4);
    buf.push_order(intent(StrategyId::Arb, Outcome::Up, 45, 10, 8));
    buf.push_order(intent(StrategyId::Arb, Outcome::Down, 50, 10, 8));
    buf.push_order(intent(StrategyId::Lag, Outcome::Up, 52, 10, 0));
    let live = [LiveOrder {
        market: MarketIdx(0),
        outcome: Outcome::Down,
        side: Side::Buy,
        price_micro: 500_000,
    }];
    let r = run(&mut o, &mut buf, &[slot(Phase::Prime, Regime::High)], &live);
    assert_eq!(r.sent, 1);
    assert_eq!(buf.orders()[0].strategy, StrategyId::Lag);
    assert_eq!(o.dropped(DropReason::PairLegDropped), 1);

    // One leg refused by risk (no Down mid): both go.
    let mut s = slot(Phase::Prime, Regime::High);
    if let Some(m) = s.as_mut() {
        m.risk.mid_micro[1] = None;
    }
    let mut buf = IntentBuf::with_capacity(16, 4);
    buf.push_order(intent(StrategyId::Arb, Outcome::Up, 45, 10, 9));
    buf.push_order(intent(StrategyId::Arb, Outcome::Down, 50, 10, 9));
    let r = run(&mut o, &mut buf, &[s], &[]);
    assert_eq!((r.sent, r.dropped), (0, 2));
    assert_eq!(o.dropped(DropReason::Risk(Rejection::NoMid)), 2);
}

#[test]
fn a_balanced_pair_passes_the_directional_limit_a_lone_leg_does_not() {
    let mut o = orchestrator();
    // $1000 capital → 5% = $50. Straddle has $120: 110 Up at 50c ($55) alone is too
    // directional, paired with 110 Down it is not.
    let mut buf = IntentBuf::with_capacity(16, 4);
    buf.push_order(intent(StrategyId::Straddle, Outcome::Up, 50, 110, 3));
    buf.push_order(intent(StrategyId::Straddle, Outcome::Down, 50, 110, 3));
    // (LOW caps the market at 25% = $250, above the pair's $110.)
    let s = slot(Phase::Alpha, Regime::Low);
    let r = run(&mut o, &mut buf, &[s], &[]);
    assert_eq!(
        r.sent,
        2,
        "{:?}",
        o.pretrade().rejected(Rejection::PositionLimit)
    );
    let mut buf = IntentBuf::with_capacity(16, 4);
    buf.push_order(intent(StrategyId::Straddle, Outcome::Up, 50, 110, 0));
    let r = run(&mut o, &mut buf, &[s], &[]);
    assert_eq!(r.sent, 0);
    assert_eq!(o.dropped(DropReason::Risk(Rejection::DirectionalLimit)), 1);
}

#[test]
fn cancels_pass_and_pre_resolution_takes_only_lag_and_exits() {
    use crate::strategy::intent::CancelIntent;
    let mut o = orchestrator();
    let mut buf = IntentBuf::with_capacity(16, 4);
    buf.push_cancel(CancelIntent {
        strategy: StrategyId::MarketMaking,
        reason: Reason::MmPull,
        market: MarketIdx(0),
        outcome: None,
    });
    buf.push_order(intent(StrategyId::MarketMaking, Outcome::Up, 48, 10, 0));
    buf.push_order(intent(StrategyId::Lag, Outcome::Up, 52, 10, 0));
    let mut exit = intent(StrategyId::Momentum, Outcome::Down, 47, 10, 0);
    exit.side = Side::Sell;
    buf.push_order(exit);
    let mut s = slot(Phase::PreResolution, Regime::Medium);
    if let Some(m) = s.as_mut() {
        m.risk.cost_micro = [0, 5_000_000];
        m.risk.sellable_micro = [0, 10_000_000];
    }
    let r = run(&mut o, &mut buf, &[s], &[]);
    assert_eq!((r.sent, r.dropped), (2, 1));
    assert_eq!(buf.orders()[0].strategy, StrategyId::Lag);
    assert_eq!(buf.orders()[1].side, Side::Sell);
    assert_eq!(buf.cancels().len(), 1, "cancels are untouched");
    // In lockout even the cancel stays, the orders all go.
    let r = run(
        &mut o,
        &mut buf,
        &[slot(Phase::Lockout, Regime::Medium)],
        &[],
    );
    assert_eq!(r.sent, 0);
    assert_eq!(buf.cancels().len(), 1);
}
