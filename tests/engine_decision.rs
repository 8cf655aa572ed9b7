//! The hot thread's decision step and order path without the network: per-market signals,
//! a test decider, intent → signed order → request body, per-strategy attribution, and the
//! live-mode preflight refusals.
//!
//! The counting-allocator test covers signal update + decider + intent → signed order → body
//! bytes. The socket write (rustls record allocation, documented in docs/ARCHITECTURE.md) is
//! outside the counted region.

use sattebaaz::book::{BookSide, MarketBooks, MarketIdx, Outcome, TickSize, TokenBook};
use sattebaaz::config::secrets::{KeySource, PrivateKey, Secrets};
use sattebaaz::config::{Asset, Config, EngineMode, Window};
use sattebaaz::discovery::MarketRecord;
use sattebaaz::engine::exec_path::{
    is_immediate, post_options, token_id_from_word, Attribution, AttributionTable, BuildError,
    OrderFactory,
};
use sattebaaz::engine::market_view::Phase;
use sattebaaz::engine::modes::{live_preflight, probe_clob_version, ModeError};
use sattebaaz::engine::trading::{Decider, DecisionInputs, MarketSignals, TickHealth};
use sattebaaz::exec::orders::positions::Positions;
use sattebaaz::exec::signing::amounts::Side;
use sattebaaz::exec::signing::body::{
    write_order_body, write_orders_body, BatchItem, BodyBuf, BodyKeyOrder,
};
use sattebaaz::exec::signing::nonce_pool::nonce_pool;
use sattebaaz::exec::signing::order::{SignatureType, TokenId};
use sattebaaz::exec::signing::signer::{recover_address, EoaSigner};
use sattebaaz::feeds::binance::{
    Asset as FeedAsset, BinanceState, Side as TradeSide, TradeSource, Venue,
};
use sattebaaz::signals::{MarketInputs, SignalParams};
use sattebaaz::strategy::intent::{
    CancelIntent, IntentBuf, OrderIntent, Reason, StrategyId, TimeInForce,
};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[path = "common/market_fixture.rs"]
mod market_fixture;
use market_fixture::{record, trade, DOWN, MARKET, UP};

/// Every third trade sells, the rest buy.
fn taker(id: u64) -> TradeSide {
    if id % 3 == 0 {
        TradeSide::Sell
    } else {
        TradeSide::Buy
    }
}

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

const KEY: [u8; 32] = [0x42; 32];
const OWNER: &str = "00000000-1111-2222-3333-444444444444";
const USD: i64 = 100_000_000;

/// Emits, once the books are live, a post-only bid on Up and a FAK pair (group 1) on both
/// tokens; a cancel of its own orders on every `cancel_every`-th call. Records what it saw.
struct TestDecider {
    calls: u64,
    last_market: Option<MarketIdx>,
    last_phase: Option<Phase>,
    last_seconds_left: u64,
    last_stale: bool,
    last_fair: Option<f64>,
    cancel_every: u64,
}

impl Decider for TestDecider {
    fn decide(&mut self, ctx: &DecisionInputs<'_>, out: &mut IntentBuf) {
        self.calls += 1;
        self.last_market = Some(ctx.market);
        self.last_phase = Some(ctx.phase);
        self.last_seconds_left = ctx.seconds_left;
        self.last_stale = ctx.book_stale;
        self.last_fair = ctx.snapshot.fair_up;
        let (Some(up_bid), Some(up_ask), Some(down_ask)) = (
            ctx.up.best_price(BookSide::Bid),
            ctx.up.best_price(BookSide::Ask),
            ctx.down.best_price(BookSide::Ask),
        ) else {
            return;
        };
        let order = |outcome, side, price, tif, post_only, group| OrderIntent {
            strategy: if group == 0 {
                StrategyId::MarketMaking
            } else {
                StrategyId::Arb
            },
            reason: if group == 0 {
                Reason::MmQuote
            } else {
                Reason::ArbOpen
            },
            market: ctx.market,
            outcome,
            side,
            price_micro: price,
            size_micro: 5_000_000,
            tif,
            post_only,
            group,
        };
        out.push_order(order(
            Outcome::Up,
            Side::Buy,
            up_bid - 10_000,
            TimeInForce::Gtc,
            true,
            0,
        ));
        out.push_order(order(
            Outcome::Up,
            Side::Buy,
            up_ask,
            TimeInForce::Fak,
            false,
            1,
        ));
        out.push_order(order(
            Outcome::Down,
            Side::Buy,
            down_ask,
            TimeInForce::Fak,
            false,
            1,
        ));
        if self.cancel_every > 0 && self.calls % self.cancel_every == 0 {
            out.push_cancel(CancelIntent {
                strategy: StrategyId::MarketMaking,
                reason: Reason::MmPull,
                market: ctx.market,
                outcome: None,
            });
        }
    }
}

fn decider() -> TestDecider {
    TestDecider {
        calls: 0,
        last_market: None,
        last_phase: None,
        last_seconds_left: 0,
        last_stale: true,
        last_fair: None,
        cancel_every: 3,
    }
}

fn books() -> MarketBooks {
    let mut books = MarketBooks::with_capacity(1);
    let m = books.add_market(MARKET, UP, DOWN, TickSize::Cent).unwrap();
    let (up, down) = MarketBooks::tokens_of(m);
    for (t, bid, ask) in [(up, 470_000, 480_000), (down, 500_000, 510_000)] {
        books.begin_snapshot(t, None);
        for i in 0..5 {
            books
                .snapshot_level(t, BookSide::Bid, bid - i * 10_000, 50_000_000)
                .unwrap();
            books
                .snapshot_level(t, BookSide::Ask, ask + i * 10_000, 40_000_000)
                .unwrap();
        }
        books.finish_snapshot(t, 0, 0);
    }
    books
}

fn up_down(books: &MarketBooks) -> (&TokenBook, &TokenBook) {
    let (u, d) = MarketBooks::tokens_of(MarketIdx(0));
    (books.book(u).unwrap(), books.book(d).unwrap())
}

fn factory(
    capacity: usize,
    pool: usize,
) -> (
    OrderFactory,
    sattebaaz::exec::signing::nonce_pool::NonceProducer,
) {
    let (mut producer, consumer) = nonce_pool(pool);
    producer.refill();
    let signer = EoaSigner::from_bytes(&KEY).unwrap();
    (
        OrderFactory::new(signer, None, SignatureType::Eoa, consumer, capacity, 1_000),
        producer,
    )
}

#[test]
fn a_tick_from_signals_to_signed_order_bytes_allocates_nothing_after_warm_up() {
    let cfg = Config::shipped().unwrap();
    let params = SignalParams::from_config(&cfg.signals, Asset::Btc);
    let books = books();
    let (up, down) = up_down(&books);
    let m = MarketIdx(0);
    // A window that started 40 minutes of ticks ago and ends far ahead.
    let t0 = 1_723_161_256_322u64 - 40 * 60_000;
    let start_ms = t0 + 30 * 60_000;
    let end_ms = start_ms + 300_000;
    let mut signals = MarketSignals::new(books.capacity(), params);
    assert!(signals.assign(
        m,
        params,
        Window::Min5,
        start_ms,
        MarketInputs {
            end_ms,
            price_to_beat_e18: Some(61_800 * 10i128.pow(18)),
            fee_rate_ppm: Some(72_000),
        },
    ));
    let (mut factory, mut producer) = factory(books.capacity(), 4096);
    factory
        .assign(m, &record(start_ms / 1000, end_ms / 1000))
        .unwrap();
    let signer_address = factory.address();
    let positions = Positions::new(16);
    let mut state = BinanceState::new(TradeSource::AggTrade);
    let mut out = IntentBuf::with_capacity(8, 4);
    let mut single = BodyBuf::for_single_order();
    let mut batch = BodyBuf::for_batch(2);
    let mut attribution = AttributionTable::new(64);
    let mut dec = decider();
    let health = TickHealth {
        oracle_fresh: true,
        book_stale: false,
        ..TickHealth::default()
    };

    let mut signed_total = 0u64;
    let mut ts = t0;
    let mut id = 0u64;
    let mut counted_allocations = 0u64;
    let mut counted_ticks = 0u64;
    while ts < start_ms + 60_000 {
        id += 1;
        ts += 250;
        let px = 61_800 * USD + ((id * 7919) % 4_000) as i64 * USD / 100;
        state.apply(&trade(px, ts, id, taker(id)));
        if producer.len() < 64 {
            // The risk thread's job; outside the counted region.
            producer.refill();
        }
        let (n, signed) = count_allocations(|| {
            let mut signed = 0u64;
            let spot = state.get_mut(Venue::Spot, FeedAsset::Btc);
            signals.tick(
                m, spot, up, down, health, &positions, ts, &mut dec, &mut out,
            );
            let mut pair = [None, None];
            for intent in out.orders() {
                let Ok(built) = factory.build(intent, ts) else {
                    continue;
                };
                let order = built.order;
                attribution.insert(Attribution::of_intent(order.order_id, intent), |_| false);
                signed += 1;
                if intent.group == 0 {
                    let template = factory.template(m, intent.outcome).unwrap();
                    write_order_body(
                        &mut single,
                        template,
                        &order,
                        &post_options(intent, OWNER),
                        BodyKeyOrder::PyClobClientV2,
                    )
                    .unwrap();
                } else if let Some(slot) = pair.iter_mut().find(|s| s.is_none()) {
                    *slot = Some((order, *intent));
                }
            }
            if let [Some((a, ia)), Some((b, ib))] = pair {
                let items = [
                    BatchItem {
                        template: factory.template(m, ia.outcome).unwrap(),
                        order: &a,
                        options: post_options(&ia, OWNER),
                    },
                    BatchItem {
                        template: factory.template(m, ib.outcome).unwrap(),
                        order: &b,
                        options: post_options(&ib, OWNER),
                    },
                ];
                write_orders_body(&mut batch, &items, BodyKeyOrder::PyClobClientV2).unwrap();
            }
            signed
        });
        signed_total += signed;
        // Warm-up: the first 30 minutes of ticks (indicators fill, first candles close).
        if ts > t0 + 30 * 60_000 {
            counted_allocations += n;
            counted_ticks += 1;
        }
    }
    assert!(
        counted_ticks > 100,
        "the counted region ran {counted_ticks} ticks"
    );
    assert_eq!(
        counted_allocations, 0,
        "signal update + decider + signing + body allocated after warm-up"
    );
    assert_eq!(signed_total, 3 * dec.calls, "every intent was signed");
    assert!(factory.signed_pooled > 0);

    // What the decider saw.
    assert_eq!(dec.last_market, Some(m));
    assert!(!dec.last_stale);
    assert!(dec.last_fair.is_some(), "fair value from the price to beat");
    assert!(matches!(
        dec.last_phase,
        Some(p) if p != Phase::Upcoming && p != Phase::Resolved
    ));
    assert!(dec.last_seconds_left > 0 && dec.last_seconds_left <= 300);

    // The bodies carry real, correctly signed orders of the right token.
    let body = std::str::from_utf8(single.as_bytes()).unwrap();
    assert!(
        body.contains(UP) && body.contains("\"postOnly\":true"),
        "{body}"
    );
    let batch_body = std::str::from_utf8(batch.as_bytes()).unwrap();
    assert!(
        batch_body.contains(UP) && batch_body.contains(DOWN),
        "{batch_body}"
    );
    assert!(batch_body.contains("\"FAK\""), "{batch_body}");
    let intent = out.orders()[1];
    let built = factory.build(&intent, ts).unwrap();
    let sig = built.order.signature.inner().unwrap();
    assert_eq!(
        recover_address(&built.order.order_id, &sig).unwrap(),
        signer_address
    );
    assert_eq!(built.token, *TokenId::parse(UP).unwrap().word());
    assert!(is_immediate(&intent));
    // Attribution follows the strategy of every order.
    assert!(attribution
        .of(StrategyId::MarketMaking, m, Some(Outcome::Up))
        .all(|a| a.reason == Reason::MmQuote));
    assert!(attribution.of(StrategyId::Arb, m, None).count() > 0);
}

#[test]
fn the_warming_order_is_hashed_like_a_real_one_but_spends_no_salt_nonce_or_signature() {
    let (mut factory, _producer) = factory(4, 16);
    assert!(
        factory.warm_order(1_700_000_000_000).is_none(),
        "no market yet"
    );
    let m = MarketIdx(1);
    factory
        .assign(m, &record(1_700_000_000, 1_700_000_300))
        .unwrap();
    let nonces = factory.nonces_available();
    let now_ms = 1_700_000_100_000;
    let (template, warm) = factory.warm_order(now_ms).unwrap();
    assert_eq!(
        template.token_id(),
        factory.template(m, Outcome::Up).unwrap().token_id()
    );
    let template = template.clone();
    assert_eq!(factory.nonces_available(), nonces, "no nonce was used");
    assert_eq!(warm.vars.timestamp_ms, now_ms);
    assert_eq!(warm.vars.side, 0);
    // The same variables signed for real hash to the same order id...
    let signer = EoaSigner::from_bytes(&KEY).unwrap();
    let real = template.sign(&signer, warm.vars, 0).unwrap();
    assert_eq!(
        (warm.struct_hash, warm.order_id),
        (real.struct_hash, real.order_id)
    );
    // ...but the warming order's signature is not ours.
    let sig = warm.signature.inner().unwrap();
    assert!(recover_address(&warm.order_id, &sig).map_or(true, |a| a != factory.address()));
    // Warming twice gives the same salt: the counter real orders use did not move.
    let (_, again) = factory.warm_order(now_ms).unwrap();
    assert_eq!(again.vars.salt, warm.vars.salt);
    let intent = OrderIntent {
        strategy: StrategyId::Lag,
        reason: Reason::LagEdge,
        market: m,
        outcome: Outcome::Up,
        side: Side::Buy,
        price_micro: 450_000,
        size_micro: 5_000_000,
        tif: TimeInForce::Fak,
        post_only: false,
        group: 0,
    };
    let built = factory.build(&intent, now_ms).unwrap();
    assert_eq!(built.order.vars.salt, warm.vars.salt + 1);
}

#[test]
fn untracked_markets_do_not_decide_and_bad_intents_are_typed_errors() {
    let cfg = Config::shipped().unwrap();
    let params = SignalParams::from_config(&cfg.signals, Asset::Btc);
    let books = books();
    let (up, down) = up_down(&books);
    let mut signals = MarketSignals::new(2, params);
    let mut state = BinanceState::new(TradeSource::AggTrade);
    let mut out = IntentBuf::with_capacity(8, 4);
    let mut dec = decider();
    let positions = Positions::new(4);
    let spot = state.get_mut(Venue::Spot, FeedAsset::Btc);
    assert!(!signals.tick(
        MarketIdx(1),
        spot,
        up,
        down,
        TickHealth::default(),
        &positions,
        1,
        &mut dec,
        &mut out
    ));
    assert_eq!(dec.calls, 0);
    assert!(!signals.assign(
        MarketIdx(9),
        params,
        Window::Min5,
        0,
        MarketInputs {
            end_ms: 1,
            price_to_beat_e18: None,
            fee_rate_ppm: None
        }
    ));
    // Resolved markets say so.
    assert!(signals.assign(
        MarketIdx(1),
        params,
        Window::Min5,
        0,
        MarketInputs {
            end_ms: u64::MAX,
            price_to_beat_e18: None,
            fee_rate_ppm: None
        }
    ));
    signals.mark_resolved(MarketIdx(1));
    let spot = state.get_mut(Venue::Spot, FeedAsset::Btc);
    assert!(signals.tick(
        MarketIdx(1),
        spot,
        up,
        down,
        TickHealth {
            oracle_fresh: false,
            book_stale: true,
            ..TickHealth::default()
        },
        &positions,
        1_000,
        &mut dec,
        &mut out
    ));
    assert_eq!(dec.last_phase, Some(Phase::Resolved));
    assert!(dec.last_stale);
    signals.release(MarketIdx(1));
    assert_eq!(signals.tracked().count(), 0);

    let (mut factory, _producer) = factory(2, 16);
    let intent = OrderIntent {
        strategy: StrategyId::Lag,
        reason: Reason::LagEdge,
        market: MarketIdx(0),
        outcome: Outcome::Up,
        side: Side::Buy,
        price_micro: 455_000,
        size_micro: 5_000_000,
        tif: TimeInForce::Fak,
        post_only: false,
        group: 0,
    };
    assert!(matches!(
        factory.build(&intent, 1),
        Err(BuildError::UnknownMarket(0))
    ));
    factory.assign(MarketIdx(0), &record(0, 300)).unwrap();
    assert!(
        matches!(factory.build(&intent, 1), Err(BuildError::Amounts(_))),
        "off tick"
    );
    let negative = OrderIntent {
        price_micro: -10_000,
        ..intent
    };
    assert_eq!(
        factory.build(&negative, 1).err(),
        Some(BuildError::Negative)
    );
    let fine = OrderIntent {
        price_micro: 450_000,
        ..intent
    };
    assert!(factory.build(&fine, 1).is_ok());
    factory.release(MarketIdx(0));
    assert!(factory.build(&fine, 1).is_err());
    let bad_tick = MarketRecord {
        tick_micros: 3_000,
        ..record(0, 300)
    };
    assert_eq!(
        factory.assign(MarketIdx(1), &bad_tick),
        Err(BuildError::Tick(3_000))
    );
    assert_eq!(
        token_id_from_word(TokenId::parse(DOWN).unwrap().word())
            .unwrap()
            .text(),
        DOWN.as_bytes()
    );
}

fn secrets(with_key: bool) -> Secrets {
    Secrets {
        private_key: with_key.then(|| {
            PrivateKey::parse(
                b"0x4242424242424242424242424242424242424242424242424242424242424242",
                KeySource::Env,
            )
            .unwrap()
        }),
        api: None,
    }
}

fn live_cfg(confirmed: bool) -> Config {
    let mut cfg = Config::shipped().unwrap();
    cfg.engine.mode = EngineMode::Live;
    cfg.engine.live_confirmed = confirmed;
    cfg
}

#[test]
fn live_mode_refuses_without_confirmation_key_or_a_version_2_clob() {
    let url = "https://clob.example";
    let never = || -> Result<u64, String> { panic!("probed before the cheap checks") };
    assert_eq!(
        live_preflight(&live_cfg(false), &secrets(true), url, never),
        Err(ModeError::NotConfirmed)
    );
    assert_eq!(
        live_preflight(&live_cfg(true), &secrets(false), url, never),
        Err(ModeError::NoPrivateKey)
    );
    assert_eq!(
        live_preflight(&live_cfg(true), &secrets(true), url, || Ok(1)),
        Err(ModeError::WrongVersion {
            url: url.into(),
            found: 1
        })
    );
    let ok = live_preflight(&live_cfg(true), &secrets(true), url, || Ok(2)).unwrap();
    assert_eq!(
        ok.map(|p| (p.clob_version, p.credentials_given)),
        Some((2, false))
    );
    // Paper and shadow need none of it.
    let mut paper = Config::shipped().unwrap();
    paper.engine.mode = EngineMode::Paper;
    assert_eq!(
        live_preflight(&paper, &secrets(false), url, never),
        Ok(None)
    );
    paper.engine.mode = EngineMode::Shadow;
    assert_eq!(
        live_preflight(&paper, &secrets(false), url, never),
        Ok(None)
    );

    // A CLOB nobody answers at: a closed loopback port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = format!("http://127.0.0.1:{port}");
    let tls = sattebaaz::net::tls::client_config(None).unwrap();
    let err = live_preflight(&live_cfg(true), &secrets(true), &dead, || {
        probe_clob_version(&dead, tls, std::time::Duration::from_secs(2))
    })
    .unwrap_err();
    assert!(matches!(err, ModeError::ClobUnreachable { .. }), "{err}");
    assert!(err.to_string().contains(&dead));
}
