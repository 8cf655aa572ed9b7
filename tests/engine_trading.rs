//! End to end, trading: the engine against the embedded simulator with a small test decider
//! that, once a market's books are live, asks for a post-only bid and a FAK pair, and on a
//! later round cancels its resting quotes.
//!
//! Shadow mode: the orders are built and signed on the hot thread and logged by the risk
//! thread as would-be orders with their strategy and reason; the simulated CLOB receives none.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sattebaaz::book::{BookSide, MarketIdx, Outcome};
use sattebaaz::engine::reconcile::compare_with_ledger;
use sattebaaz::engine::risk::{would_be_cancel_line, would_be_order_line};
use sattebaaz::engine::trading::{Decider, DecisionInputs};
use sattebaaz::engine::{run_trading, EngineOptions, PlanOutlet, TradingPlan, VenuePlan};
use sattebaaz::exec::rest::responses::ApiKeyCreds;
use sattebaaz::exec::signing::amounts::Side;
use sattebaaz::exec::signing::order::SignatureType;
use sattebaaz::exec::signing::signer::EoaSigner;
use sattebaaz::sim::exchange::records::OrderStatus;
use sattebaaz::sim::Simulator;
use sattebaaz::strategy::intent::{
    CancelIntent, IntentBuf, OrderIntent, Reason, StrategyId, TimeInForce,
};

mod common;

const KEY: [u8; 32] = [0x42; 32];

/// Per market slot: round 1 with live books → a post-only bid (market making) and a FAK pair
/// (arb, group = slot + 1); round 2 after that → cancel the market-making quotes; with
/// `rest_after_cancel`, round 3 → one more post-only bid left resting (for the kill switch).
struct OnceDecider {
    fired: [u8; 64],
    rest_after_cancel: bool,
    /// Wall ms of each market's round-1 quote.
    quoted_at_ms: [u64; 64],
}

impl Decider for OnceDecider {
    fn decide(&mut self, ctx: &DecisionInputs<'_>, out: &mut IntentBuf) {
        let Some(state) = self.fired.get_mut(usize::from(ctx.market.0)) else {
            return;
        };
        if ctx.book_stale || *state >= 3 || (*state == 2 && !self.rest_after_cancel) {
            return;
        }
        let (Some(_up_bid), Some(up_ask), Some(down_ask)) = (
            ctx.up.best_price(BookSide::Bid),
            ctx.up.best_price(BookSide::Ask),
            ctx.down.best_price(BookSide::Ask),
        ) else {
            return;
        };
        if *state == 1 {
            // Give the quote time to be acknowledged before pulling it.
            if ctx.now_ms < self.quoted_at_ms[usize::from(ctx.market.0) % 64].saturating_add(1_500)
            {
                return;
            }
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
        if *state == 2 {
            out.push_order(OrderIntent {
                strategy: StrategyId::MarketMaking,
                reason: Reason::MmQuote,
                market: ctx.market,
                outcome: Outcome::Down,
                side: Side::Buy,
                price_micro: tick,
                size_micro: 5_000_000,
                tif: TimeInForce::Gtc,
                post_only: true,
                group: 0,
            });
            *state = 3;
            return;
        }
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
        // The quote rests two ticks above zero, far under the book, so no crowd order fills it
        // before the cancel does (a fill there would leave nothing to cancel); the lowest tick
        // is the round-3 quote the kill-switch watcher looks for.
        out.push_order(order(
            StrategyId::MarketMaking,
            Reason::MmQuote,
            Outcome::Up,
            2 * tick,
            TimeInForce::Gtc,
            true,
            0,
        ));
        for (outcome, ask) in [(Outcome::Up, up_ask), (Outcome::Down, down_ask)] {
            out.push_order(order(
                StrategyId::Arb,
                Reason::ArbOpen,
                outcome,
                // Through the ask by a few ticks: the venue may hold takers briefly.
                (ask + 3 * tick).min(1_000_000 - tick),
                TimeInForce::Fak,
                false,
                group,
            ));
        }
        *state = 1;
        self.quoted_at_ms[usize::from(ctx.market.0) % 64] = ctx.now_ms;
    }
}

fn plan(outlet: PlanOutlet, kill: Option<Arc<AtomicBool>>, collateral_micros: i64) -> TradingPlan {
    TradingPlan {
        decider: Box::new(OnceDecider {
            fired: [0; 64],
            rest_after_cancel: kill.is_some(),
            quoted_at_ms: [0; 64],
        }),
        signer: EoaSigner::from_bytes(&KEY).unwrap(),
        funder: None,
        signature_type: SignatureType::Eoa,
        outlet,
        kill,
        collateral_micros,
        shared: Arc::new(sattebaaz::risk::RiskShared::new()),
        redeems_at_resolution: true,
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
    let summary =
        run_trading(&cfg, opts, Some(plan(PlanOutlet::Shadow, None, 0))).expect("engine runs");

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

/// Paper mode: orders reach the simulated CLOB signed by the test key (zero venue
/// rejections), the pair goes out as one batch, fills come back over the user channel, the
/// cancel intent cancels, the kill switch cancels the last resting quote over the risk
/// thread's own connection, shutdown cancels all, and the tracker's positions equal the
/// simulator's ledger exactly.
#[test]
fn paper_mode_trades_against_the_simulator_and_reconciles_with_its_ledger() {
    let (mut cfg, dir) = common::test_config("trading", "paper");
    cfg.discovery.step_interval_ms = 50;
    let sim = Simulator::start(&common::sim_options(&cfg, &dir, 13)).expect("simulator starts");
    let signer = EoaSigner::from_bytes(&KEY).unwrap();
    let address = signer.address();
    let address_text = address.to_checksum_string();
    let registered = sim.register_api_key(&address, 0);
    let creds = ApiKeyCreds {
        api_key: registered.api_key.clone(),
        secret: registered.secret.clone(),
        passphrase: registered.passphrase.clone(),
    };
    let start = sim.ledger_snapshot(&address_text);
    assert!(start.collateral > 0);

    // The kill switch fires once a round-3 quote rests at the venue (watched in the
    // simulator's records), or after a generous deadline.
    let kill = Arc::new(AtomicBool::new(false));
    let state = sim.polymarket_state.clone();
    let trigger = kill.clone();
    let key = registered.api_key.clone();
    let watcher = std::thread::spawn(move || {
        let give_up = Instant::now() + Duration::from_secs(25);
        while Instant::now() < give_up {
            let resting_low_quote = {
                let st = sattebaaz::sim::polymarket::lock(&state);
                st.exchange
                    .orders
                    .values()
                    .any(|o| o.owner == key && o.status == OrderStatus::Live && o.price <= 10)
            };
            if resting_low_quote {
                trigger.store(true, Ordering::Relaxed);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    });
    let opts = EngineOptions {
        duration: Some(Duration::from_secs(12)),
        ..EngineOptions::against_simulator(&sim)
    };
    let outlet = PlanOutlet::Venue(VenuePlan {
        user_ws_url: sim.polymarket_user_url(),
        creds,
    });
    let summary = run_trading(&cfg, opts, Some(plan(outlet, Some(kill), start.collateral)))
        .expect("engine runs");
    assert!(
        watcher.join().unwrap(),
        "no quote came to rest at the venue"
    );

    let trading = summary.hot.trading.as_ref().expect("trading ran");
    let mm = trading.strategies[StrategyId::MarketMaking.index()];
    let arb = trading.strategies[StrategyId::Arb.index()];
    assert!(mm.sent >= 2 && arb.sent >= 2, "mm {mm:?} arb {arb:?}");
    assert_eq!(mm.build_errors + arb.build_errors, 0);
    assert_eq!(
        mm.local_refusals + arb.local_refusals,
        0,
        "mm {mm:?} arb {arb:?}"
    );
    assert_eq!(
        mm.rejections + arb.rejections,
        0,
        "venue rejections: mm {mm:?} arb {arb:?}"
    );
    assert_eq!(mm.accepted, mm.sent);
    assert_eq!(arb.accepted, arb.sent);
    assert!(arb.fills >= 1, "the FAK pair at the asks filled: {arb:?}");
    assert!(
        mm.canceled >= 1,
        "the cancel intent canceled the quote: {mm:?}"
    );
    assert!(trading.cancels_sent >= 1);

    // Latency: one wire-to-wire sample per order handed to the socket; the pair went out as a
    // batch, the quotes alone, the cancel by itself: every endpoint has its round trips.
    {
        use sattebaaz::telemetry::latency::Stage;
        let h = &trading.histograms;
        let sent: u64 = trading.strategies.iter().map(|k| k.sent).sum();
        assert_eq!(h.histogram(Stage::WireToWire).len(), sent);
        assert_eq!(h.histogram(Stage::DecisionToWire).len(), sent);
        for stage in [
            Stage::RestPostOrders,
            Stage::RestPostOrder,
            Stage::RestCancel,
        ] {
            assert!(!h.histogram(stage).is_empty(), "{stage:?} not timed");
        }
        let endpoints: u64 = [
            Stage::RestPostOrders,
            Stage::RestPostOrder,
            Stage::RestCancel,
            Stage::RestGetOrder,
        ]
        .iter()
        .map(|s| h.histogram(*s).len())
        .sum();
        assert!(h.histogram(Stage::RestRoundTrip).len() >= endpoints);
    }

    // Every order we sent is in the simulator's records, owned by our key.
    {
        let st = sattebaaz::sim::polymarket::lock(&sim.polymarket_state);
        let ours = st
            .exchange
            .orders
            .values()
            .filter(|o| o.owner == registered.api_key)
            .count() as u64;
        assert_eq!(ours, mm.sent + arb.sent);
        // Nothing rests after shutdown.
        assert!(st
            .exchange
            .orders
            .values()
            .filter(|o| o.owner == registered.api_key)
            .all(|o| o.status != OrderStatus::Live));
    }

    let exec = summary.risk.exec.as_ref().expect("execution duties ran");
    assert!(exec.kill_fired);
    assert!(exec.kill_error.is_none(), "{exec:?}");
    assert!(
        exec.kill_canceled >= 1,
        "the kill switch canceled the resting quote: {exec:?}"
    );
    assert!(exec.shutdown_error.is_none(), "{exec:?}");
    assert!(exec.heartbeats.sent >= 1, "{exec:?}");

    // The tracker's positions equal the simulator's ledger exactly.
    let ledger = sim.ledger_snapshot(&address_text);
    let cmp = compare_with_ledger(trading.tracker.positions(), &ledger);
    assert!(cmp.rows.len() >= 2, "{cmp:?}");
    assert!(cmp.exact(), "tracker vs ledger: {cmp:#?}");
    assert_ne!(
        ledger.collateral, start.collateral,
        "fills moved collateral"
    );
}
