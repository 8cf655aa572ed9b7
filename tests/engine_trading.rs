//! End to end, trading: the engine against the embedded simulator with a small test decider
//! that, once a market's books are live, asks for a post-only bid and a FAK pair, and on a
//! later round cancels its resting quotes.
//!
//! Shadow mode: the orders are built and signed on the hot thread and logged by the risk
//! thread as would-be orders with their strategy and reason; the simulated CLOB receives none.

use std::time::Duration;

use sattebaaz::book::{BookSide, MarketIdx, Outcome};
use sattebaaz::engine::hot_trading::Outlet;
use sattebaaz::engine::risk::{would_be_cancel_line, would_be_order_line};
use sattebaaz::engine::trading::{Decider, DecisionInputs};
use sattebaaz::engine::{run_trading, EngineOptions, TradingPlan};
use sattebaaz::exec::signing::amounts::Side;
use sattebaaz::exec::signing::order::SignatureType;
use sattebaaz::exec::signing::signer::EoaSigner;
use sattebaaz::sim::Simulator;
use sattebaaz::strategy::intent::{
    CancelIntent, IntentBuf, OrderIntent, Reason, StrategyId, TimeInForce,
};

mod common;

const KEY: [u8; 32] = [0x42; 32];

/// Per market slot: round 1 with live books → a post-only bid (market making) and a FAK pair
/// (arb, group = slot + 1); round 2 after that → cancel the market-making quotes.
struct OnceDecider {
    fired: [u8; 64],
}

impl Decider for OnceDecider {
    fn decide(&mut self, ctx: &DecisionInputs<'_>, out: &mut IntentBuf) {
        let Some(state) = self.fired.get_mut(usize::from(ctx.market.0)) else {
            return;
        };
        if ctx.book_stale || *state >= 2 {
            return;
        }
        let (Some(up_bid), Some(up_ask), Some(down_ask)) = (
            ctx.up.best_price(BookSide::Bid),
            ctx.up.best_price(BookSide::Ask),
            ctx.down.best_price(BookSide::Ask),
        ) else {
            return;
        };
        if *state == 1 {
            out.push_cancel(CancelIntent {
                strategy: StrategyId::MarketMaking,
                reason: Reason::MmPull,
                market: ctx.market,
                outcome: None,
            });
            *state = 2;
            return;
        }
        let tick = ctx.up.tick().micro();
        let order = |strategy, reason, outcome, price, tif, post_only, group| OrderIntent {
            strategy,
            reason,
            market: ctx.market,
            outcome,
            side: Side::Buy,
            price_micro: price,
            size_micro: 5_000_000,
            tif,
            post_only,
            group,
        };
        let group = u32::from(ctx.market.0) + 1;
        out.push_order(order(
            StrategyId::MarketMaking,
            Reason::MmQuote,
            Outcome::Up,
            (up_bid - tick).max(tick),
            TimeInForce::Gtc,
            true,
            0,
        ));
        for (outcome, ask) in [(Outcome::Up, up_ask), (Outcome::Down, down_ask)] {
            out.push_order(order(
                StrategyId::Arb,
                Reason::ArbOpen,
                outcome,
                ask,
                TimeInForce::Fak,
                false,
                group,
            ));
        }
        *state = 1;
    }
}

fn plan(outlet: Outlet) -> TradingPlan {
    TradingPlan {
        decider: Box::new(OnceDecider { fired: [0; 64] }),
        signer: EoaSigner::from_bytes(&KEY).unwrap(),
        funder: None,
        signature_type: SignatureType::Eoa,
        outlet,
    }
}

#[test]
fn shadow_mode_builds_signs_and_logs_orders_but_sends_none() {
    let (mut cfg, dir) = common::test_config("trading", "shadow");
    cfg.discovery.step_interval_ms = 50;
    let sim = Simulator::start(&common::sim_options(&cfg, &dir, 11)).expect("simulator starts");
    let opts = EngineOptions {
        duration: Some(Duration::from_secs(8)),
        ..EngineOptions::against_simulator(&sim)
    };
    let summary = run_trading(&cfg, opts, Some(plan(Outlet::Shadow))).expect("engine runs");

    let trading = summary.hot.trading.as_ref().expect("trading ran");
    let mm = trading.strategies[StrategyId::MarketMaking.index()];
    let arb = trading.strategies[StrategyId::Arb.index()];
    assert!(trading.decisions > 0, "no decision round ran");
    assert!(mm.signed >= 1 && arb.signed >= 2, "mm {mm:?} arb {arb:?}");
    assert_eq!(mm.build_errors + arb.build_errors, 0);
    assert_eq!(mm.sent, mm.signed);
    assert_eq!(arb.sent, arb.signed);
    assert_eq!(trading.outlet_drops, 0);
    assert!(trading.signed_pooled >= mm.signed + arb.signed);

    // The risk thread logged every one of them, with strategy and reason.
    let risk = &summary.risk;
    assert_eq!(risk.would_be_orders.len() as u64, mm.sent + arb.sent);
    let markets: std::collections::BTreeSet<MarketIdx> = risk
        .would_be_orders
        .iter()
        .map(|o| o.intent.market)
        .collect();
    for m in &markets {
        let of = |s| {
            risk.would_be_orders
                .iter()
                .filter(|o| o.intent.market == *m && o.intent.strategy == s)
                .count()
        };
        assert_eq!(of(StrategyId::MarketMaking), 1, "one quote per market");
        assert_eq!(of(StrategyId::Arb), 2, "one pair per market");
    }
    for o in &risk.would_be_orders {
        assert_ne!(o.order_id, [0; 32]);
        assert!(o.maker_amount > 0 && o.taker_amount > 0);
        let line = would_be_order_line(o);
        assert!(line.contains(o.intent.strategy.name()), "{line}");
        assert!(line.contains(&format!("{:?}", o.intent.reason)), "{line}");
    }
    let ids: std::collections::BTreeSet<[u8; 32]> =
        risk.would_be_orders.iter().map(|o| o.order_id).collect();
    assert_eq!(ids.len(), risk.would_be_orders.len(), "distinct orders");
    // The cancels name the quotes they would pull.
    assert!(!risk.would_be_cancels.is_empty());
    for c in &risk.would_be_cancels {
        assert_eq!(c.strategy, StrategyId::MarketMaking);
        assert_eq!(c.orders, 1, "{}", would_be_cancel_line(c));
    }
    assert!(risk.nonces_refilled > 0 || trading.signed_pooled < 2048);

    // Nothing reached the venue.
    let st = sattebaaz::sim::polymarket::lock(&sim.polymarket_state);
    assert!(
        st.exchange.orders.is_empty(),
        "the simulated CLOB received orders"
    );
}
