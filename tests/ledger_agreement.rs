//! The engine's order tracker and the simulated venue's ledger agree to the micro-unit.
//!
//! Orders go straight into the simulator's matching engine (`sim::exchange::engine::place`,
//! `cancel`, `tick`, in process, no sockets); the user-channel `order` / `trade` events the
//! exchange produces for each account (the same JSON objects it publishes on `/ws/user`) are fed
//! to one `Tracker` per account, as the engine does. After every step each account's tracker
//! positions (settled + provisional) must equal its ledger exactly: pUSD and every token, taker
//! fees included, through MATCHED → MINED → CONFIRMED and FAILED reverts.
//!
//! Targeted cases compute every amount by hand (normal, mint, merge, partial fills, several
//! makers, odd-sized fills whose notional is not a whole micro-unit); a seeded random walk mixes
//! both tokens, both sides, prices on the tick grid, GTC / GTD / FAK / FOK, post-only, odd
//! market-order sizes, cancels, taker delays and failed trades.

use std::collections::HashMap;
use std::sync::Arc;

use sattebaaz::engine::reconcile::compare_with_ledger;
use sattebaaz::exec::events::{OrderEvent, TradeEvent};
use sattebaaz::exec::json::parse_order_id;
use sattebaaz::exec::orders::{Tracker, TrackerConfig};
use sattebaaz::exec::rest::responses::parse_order_response;
use sattebaaz::exec::signing::amounts::{
    limit_order_amounts, market_order_amounts, Side as SignSide, TickSize,
};
use sattebaaz::exec::signing::body::{write_order_body, BodyBuf, BodyKeyOrder, PostOptions};
use sattebaaz::exec::signing::eip712::{Exchange as ExchangeKind, OrderVariables, CHAIN_ID};
use sattebaaz::exec::signing::order::{OrderTemplate, OrderType, SignatureType, TokenId};
use sattebaaz::exec::signing::signer::EoaSigner;
use sattebaaz::sim::exchange::auth::{derive_creds, KeyInfo};
use sattebaaz::sim::exchange::engine::{cancel, place, tick};
use sattebaaz::sim::exchange::faults::ExchangeControl;
use sattebaaz::sim::exchange::ledger::LedgerDelta;
use sattebaaz::sim::exchange::records::{OrderStatus, TradeStatus};
use sattebaaz::sim::exchange::validate::{parse_order, ParsedOrder};
use sattebaaz::sim::exchange::{Exchange, ExchangeOptions};
use sattebaaz::sim::polymarket::crowd::{Crowd, Phase, Side};
use sattebaaz::sim::polymarket::{MarketInfo, MarketState, WindowKind};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

const UP: &str = "11111111111111111111111111111111111111111111111111111111111111111111111111111";
const DOWN: &str = "22222222222222222222222222222222222222222222222222222222222222222222222222222";
const NOW_MS: u64 = 1_800_000_000_000;
const START_COLLATERAL: i64 = 1_000_000_000; // 1 000 pUSD
const START_TOKENS: i64 = 200_000_000; // 200 shares of each token
const FEE_RATE: u64 = 72_000; // 0.072, the simulator's default

fn market() -> MarketState {
    MarketState::new(
        MarketInfo {
            asset: "btc".into(),
            kind: WindowKind::Min15,
            slug: "btc-updown-15m-x".into(),
            market_id: "1".into(),
            event_id: "2".into(),
            condition_id: "0xc0".into(),
            token_ids: [UP.into(), DOWN.into()],
            start_s: NOW_MS / 1000 - 100,
            end_s: NOW_MS / 1000 + 1_000_000,
            listed_ms: 0,
        },
        Crowd::new(1),
        Phase::Open,
    )
}

/// One simulated account: its key, its ledger address and the engine-side tracker.
struct Account {
    secret: [u8; 32],
    key: KeyInfo,
    address: String,
    salt: u64,
    tracker: Tracker,
}

/// The exchange, its one market, the accounts and what their trackers have already been told.
struct World {
    ex: Exchange,
    markets: Vec<MarketState>,
    now_ms: u64,
    accounts: Vec<Account>,
    seen_orders: HashMap<Arc<str>, (OrderStatus, u64)>,
    seen_trades: HashMap<String, &'static str>,
    steps: u64,
    /// Compare after every step (a test may batch steps and compare once).
    check_every_step: bool,
}

/// Order inputs: `amounts` = (makerAmount, takerAmount) as signed.
struct Order {
    token: &'static str,
    side: SignSide,
    amounts: (u64, u64),
    order_type: OrderType,
    post_only: bool,
    expiration: u64,
}

fn tick_size() -> TickSize {
    TickSize::parse("0.01").unwrap()
}

/// Limit-order amounts (official rules) for `size` micro-shares at `price` micro.
fn limit(side: SignSide, price: u64, size: u64) -> (u64, u64) {
    let a = limit_order_amounts(side, price, size, tick_size()).unwrap();
    (a.maker, a.taker)
}

impl World {
    fn new(n_accounts: u8, taker_delay_ms: u64) -> World {
        let ex = Exchange::new(
            ExchangeOptions {
                starting_collateral: START_COLLATERAL,
                taker_delay_ms,
                mined_delay_ms: 1_000,
                confirmed_delay_ms: 1_000,
                ..ExchangeOptions::default()
            },
            Arc::new(ExchangeControl::default()),
        );
        let mut w = World {
            ex,
            markets: vec![market()],
            now_ms: NOW_MS,
            accounts: Vec::new(),
            seen_orders: HashMap::new(),
            seen_trades: HashMap::new(),
            steps: 0,
            check_every_step: true,
        };
        for i in 0..n_accounts {
            let secret = [0x31 + i; 32];
            let address = EoaSigner::from_bytes(&secret).unwrap().address();
            let key = KeyInfo {
                address,
                creds: derive_creds(&address, 0),
            };
            let text = format!(
                "0x{}",
                address
                    .0
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            );
            w.ex.ledger.apply(&LedgerDelta {
                account: text.clone(),
                tokens: vec![(UP.into(), START_TOKENS), (DOWN.into(), START_TOKENS)],
                ..LedgerDelta::default()
            });
            let mut tracker = Tracker::new(TrackerConfig {
                order_capacity: 4_096,
                trade_capacity: 4_096,
                token_capacity: 8,
                taker_fee_rate_micros: FEE_RATE,
                api_key: key.creds.api_key.clone(),
            });
            tracker.set_collateral(START_COLLATERAL);
            for t in [UP, DOWN] {
                tracker
                    .set_token_balance(TokenId::parse(t).unwrap().word(), START_TOKENS)
                    .unwrap();
            }
            w.accounts.push(Account {
                secret,
                key,
                address: text,
                salt: u64::from(i) << 40,
                tracker,
            });
        }
        w.check("start");
        w
    }

    fn sign(&mut self, who: usize, o: &Order) -> ParsedOrder {
        let a = &mut self.accounts[who];
        a.salt += 1;
        let signer = EoaSigner::from_bytes(&a.secret).unwrap();
        let template = OrderTemplate::new(
            ExchangeKind::for_market(false),
            CHAIN_ID,
            signer.address(),
            None,
            SignatureType::Eoa,
            TokenId::parse(o.token).unwrap(),
            [0; 32],
            [0; 32],
        )
        .unwrap();
        let signed = template
            .sign(
                &signer,
                OrderVariables {
                    salt: a.salt,
                    maker_amount: o.amounts.0,
                    taker_amount: o.amounts.1,
                    side: o.side.as_u8(),
                    timestamp_ms: NOW_MS,
                },
                o.expiration,
            )
            .unwrap();
        let mut buf = BodyBuf::for_single_order();
        write_order_body(
            &mut buf,
            &template,
            &signed,
            &PostOptions {
                owner: &a.key.creds.api_key,
                order_type: o.order_type,
                post_only: o.post_only,
                defer_exec: false,
            },
            BodyKeyOrder::PyClobClientV2,
        )
        .unwrap();
        parse_order(&serde_json::from_slice(buf.as_bytes()).unwrap()).unwrap()
    }

    /// Sign, track (`on_signed`) and place an order for account `who`; feed the answer and the
    /// events to the trackers. Returns the order id when the venue accepted it.
    fn submit(&mut self, who: usize, o: &Order) -> Option<String> {
        let po = self.sign(who, o);
        let shares = po.shares();
        let price = {
            // The limit price on the grid (micro), as the engine records it.
            let c = u128::from(po.collateral()) * 100;
            let s = u128::from(shares);
            u64::try_from((c + s / 2) / s).unwrap() * 10_000
        };
        let immediate = matches!(o.order_type, OrderType::Fok | OrderType::Fak);
        let key = self.accounts[who].key.clone();
        let result = place(&mut self.ex, &mut self.markets, &key, &po, self.now_ms);
        let out = match result {
            Ok(placed) => {
                let oid = parse_order_id(&placed.order_id).unwrap();
                let t = &mut self.accounts[who].tracker;
                t.on_signed(
                    oid,
                    *TokenId::parse(o.token).unwrap().word(),
                    o.side,
                    price,
                    shares,
                    immediate,
                )
                .unwrap();
                let ack = parse_order_response(
                    format!(
                        r#"{{"success":true,"errorMsg":"","orderID":"{}","status":"{}"}}"#,
                        placed.order_id, placed.status
                    )
                    .as_bytes(),
                )
                .unwrap();
                t.on_ack(&oid, &ack);
                Some(placed.order_id)
            }
            Err(_) => None,
        };
        self.publish();
        self.check("submit");
        out
    }

    fn cancel(&mut self, who: usize, id: &str) {
        let owner = self.accounts[who].key.creds.api_key.clone();
        let now = self.now_ms;
        if cancel(
            &mut self.ex,
            &mut self.markets,
            &owner,
            id,
            OrderStatus::Canceled,
            now,
        )
        .is_ok()
        {
            let oid = parse_order_id(id).unwrap();
            self.accounts[who].tracker.on_canceled(&oid);
        }
        self.publish();
        self.check("cancel");
    }

    fn advance(&mut self, ms: u64) {
        self.now_ms += ms;
        let now = self.now_ms;
        tick(&mut self.ex, &mut self.markets, now);
        self.publish();
        self.check("advance");
    }

    /// Settle everything pending (delayed orders, trade statuses).
    fn settle_all(&mut self) {
        self.advance(5_000);
        self.advance(5_000);
    }

    fn account_of_owner(&self, owner: &str) -> Option<usize> {
        self.accounts
            .iter()
            .position(|a| a.key.creds.api_key == owner)
    }

    /// Hand every new trade status and every order change to the owners' trackers, as the
    /// user channel would: the exchange's own event objects, serialized and parsed back.
    fn publish(&mut self) {
        let now = self.now_ms;
        let mut trade_frames: Vec<(usize, String)> = Vec::new();
        for t in &self.ex.trades {
            let status = t.status.as_str();
            if self.seen_trades.get(&t.id) == Some(&status) {
                continue;
            }
            self.seen_trades.insert(t.id.clone(), status);
            for owner in t.owners() {
                if let Some(who) = self.account_of_owner(&owner) {
                    trade_frames.push((who, t.event(&owner, now).to_string()));
                }
            }
        }
        for (who, frame) in &trade_frames {
            let ev: TradeEvent<'_> = serde_json::from_str(frame).unwrap();
            self.accounts[*who].tracker.on_trade_event(&ev).unwrap();
        }
        let mut order_frames: Vec<(usize, String)> = Vec::new();
        for id in &self.ex.order_list {
            let o = &self.ex.orders[id];
            let now_state = (o.status, o.matched);
            let before = self.seen_orders.insert(id.clone(), now_state);
            if before == Some(now_state) {
                continue;
            }
            let kind = if before.is_none() {
                "PLACEMENT"
            } else if !o.status.is_open() && o.status != OrderStatus::Matched {
                "CANCELLATION"
            } else {
                "UPDATE"
            };
            if let Some(who) = self.account_of_owner(&o.owner) {
                order_frames.push((who, o.event(kind, now).to_string()));
            }
        }
        for (who, frame) in &order_frames {
            let ev: OrderEvent<'_> = serde_json::from_str(frame).unwrap();
            self.accounts[*who].tracker.on_order_event(&ev);
        }
    }

    /// Every account's tracker equals its ledger, and never counts more free money than the
    /// venue leaves it.
    fn check(&mut self, what: &str) {
        self.steps += 1;
        if !self.check_every_step {
            return;
        }
        for (i, a) in self.accounts.iter().enumerate() {
            let snap = self.ex.ledger_snapshot(&a.address);
            let cmp = compare_with_ledger(a.tracker.positions(), &snap);
            assert!(
                cmp.exact(),
                "step {} ({what}), account {i}: tracker and ledger differ: {:?}",
                self.steps,
                cmp.rows
            );
            let venue_free = snap.collateral - snap.collateral_reserved;
            assert!(
                a.tracker.available_collateral() <= venue_free,
                "step {} ({what}), account {i}: tracker's available collateral {} exceeds the \
                 venue's free balance {venue_free}; orders:\n{}",
                self.steps,
                a.tracker.available_collateral(),
                self.orders_detail(i)
            );
            for t in [UP, DOWN] {
                let pos = a
                    .tracker
                    .positions()
                    .token(TokenId::parse(t).unwrap().word());
                let held = snap.tokens.get(t).copied().unwrap_or(0);
                let reserved = snap.tokens_reserved.get(t).copied().unwrap_or(0);
                assert!(
                    pos.available_to_sell() <= held - reserved,
                    "step {} ({what}), account {i}: sellable {} > venue's free {}",
                    self.steps,
                    pos.available_to_sell(),
                    held - reserved
                );
            }
        }
    }

    /// Each order of `who` as the venue and the tracker see it (failure messages).
    fn orders_detail(&self, who: usize) -> String {
        let a = &self.accounts[who];
        let mut out = String::new();
        for id in &self.ex.order_list {
            let o = &self.ex.orders[id];
            if o.owner != a.key.creds.api_key {
                continue;
            }
            let t = parse_order_id(id).and_then(|oid| a.tracker.get(&oid).copied());
            out.push_str(&format!(
                "venue {:?} {:?} {:?} size {} matched {} reserved {} | tracker {:?}\n",
                o.side,
                o.order_type,
                o.status,
                o.original,
                o.matched,
                o.reserved,
                t.map(|t| (t.state, t.size, t.trade_filled, t.venue_matched))
            ));
        }
        out
    }

    fn ledger(&self, who: usize) -> sattebaaz::sim::exchange::ledger::LedgerSnapshot {
        self.ex.ledger_snapshot(&self.accounts[who].address)
    }

    /// (collateral change, Up change, Down change) since the start, from the ledger.
    fn moved(&self, who: usize) -> (i64, i64, i64) {
        let s = self.ledger(who);
        (
            s.collateral - START_COLLATERAL,
            s.tokens.get(UP).copied().unwrap_or(0) - START_TOKENS,
            s.tokens.get(DOWN).copied().unwrap_or(0) - START_TOKENS,
        )
    }
}

fn gtc(token: &'static str, side: SignSide, amounts: (u64, u64)) -> Order {
    Order {
        token,
        side,
        amounts,
        order_type: OrderType::Gtc,
        post_only: false,
        expiration: 0,
    }
}

fn fak(token: &'static str, side: SignSide, amounts: (u64, u64)) -> Order {
    Order {
        order_type: OrderType::Fak,
        ..gtc(token, side, amounts)
    }
}

// ------------------------------------------------------------------------------------------
// Targeted cases, amounts by hand. Maker = account 0, taker = account 1.
// ------------------------------------------------------------------------------------------

#[test]
fn normal_match_same_token_buy_against_sell() {
    let mut w = World::new(2, 0);
    // Maker rests SELL 10 Up at 0.55; the taker lifts it with a FAK BUY 10 Up limited at 0.60.
    w.submit(
        0,
        &gtc(
            UP,
            SignSide::Sell,
            limit(SignSide::Sell, 550_000, 10_000_000),
        ),
    )
    .unwrap();
    w.submit(
        1,
        &fak(UP, SignSide::Buy, limit(SignSide::Buy, 600_000, 10_000_000)),
    )
    .unwrap();
    // At the maker's price: 10 × 0.55 = 5.50 pUSD each way.
    // Taker fee (BUY, in tokens): 10 × 0.072 × (1 − 0.55) = 0.324 shares.
    assert_eq!(w.moved(0), (5_500_000, -10_000_000, 0));
    assert_eq!(w.moved(1), (-5_500_000, 10_000_000 - 324_000, 0));
    w.settle_all();
    assert_eq!(w.moved(1), (-5_500_000, 9_676_000, 0));
}

#[test]
fn mint_match_up_buy_against_down_buy() {
    let mut w = World::new(2, 0);
    // Maker bids 0.40 for 10 Down (an Up-space ask at 0.60); the taker bids 0.62 for 10 Up.
    w.submit(
        0,
        &gtc(
            DOWN,
            SignSide::Buy,
            limit(SignSide::Buy, 400_000, 10_000_000),
        ),
    )
    .unwrap();
    // The venue holds the makerAmount, 4.00; the tracker holds the same notional plus its own
    // fee headroom, 10 × 0.072 × 0.40 × 0.60 = 0.1728, which only lowers what it calls
    // available: the balances it compares with the ledger are untouched (checked by `submit`).
    let (venue, tracker) = (w.ledger(0), &w.accounts[0].tracker);
    assert_eq!(venue.collateral_reserved, 4_000_000);
    assert_eq!(tracker.fee_headroom(), 172_800);
    assert_eq!(tracker.reserved_collateral(), 4_000_000 + 172_800);
    assert_eq!(
        tracker.available_collateral(),
        START_COLLATERAL - 4_000_000 - 172_800
    );
    assert_eq!(tracker.positions().collateral_confirmed(), START_COLLATERAL);
    w.submit(
        1,
        &fak(UP, SignSide::Buy, limit(SignSide::Buy, 620_000, 10_000_000)),
    )
    .unwrap();
    // Ten complete sets minted for 10 pUSD: the maker pays its price, 10 × 0.40 = 4.00; the
    // taker the rest, 10 − 4 = 6.00 (Up at 0.60, better than its 0.62).
    // Taker fee in Up tokens: 10 × 0.072 × (1 − 0.60) = 0.288.
    assert_eq!(w.moved(0), (-4_000_000, 0, 10_000_000));
    assert_eq!(w.moved(1), (-6_000_000, 10_000_000 - 288_000, 0));
    // Filled: both holds are gone.
    assert_eq!(w.ledger(0).collateral_reserved, 0);
    assert_eq!(w.accounts[0].tracker.reserved_collateral(), 0);
    w.settle_all();
}

#[test]
fn merge_match_up_sell_against_down_sell() {
    let mut w = World::new(2, 0);
    // Maker offers 10 Up at 0.60; the taker sells 10 Down at 0.35 or better (Up-space bid 0.65).
    w.submit(
        0,
        &gtc(
            UP,
            SignSide::Sell,
            limit(SignSide::Sell, 600_000, 10_000_000),
        ),
    )
    .unwrap();
    w.submit(
        1,
        &fak(
            DOWN,
            SignSide::Sell,
            limit(SignSide::Sell, 350_000, 10_000_000),
        ),
    )
    .unwrap();
    // Ten sets merged into 10 pUSD: the maker receives 10 × 0.60 = 6.00, the taker the rest,
    // 4.00 (Down at 0.40) less its fee in collateral: 10 × 0.072 × 0.40 × 0.60 = 0.1728.
    assert_eq!(w.moved(0), (6_000_000, -10_000_000, 0));
    assert_eq!(w.moved(1), (4_000_000 - 172_800, 0, -10_000_000));
    w.settle_all();
}

#[test]
fn partial_fills_across_several_makers_and_levels() {
    let mut w = World::new(3, 0);
    // Asks on Up: account 0 sells 6 at 0.50, account 2 sells 5 at 0.50 (behind it) and 10 Down
    // bids at 0.48 from account 2 (an Up-space ask at 0.52).
    w.submit(
        0,
        &gtc(
            UP,
            SignSide::Sell,
            limit(SignSide::Sell, 500_000, 6_000_000),
        ),
    )
    .unwrap();
    w.submit(
        2,
        &gtc(
            UP,
            SignSide::Sell,
            limit(SignSide::Sell, 500_000, 5_000_000),
        ),
    )
    .unwrap();
    w.submit(
        2,
        &gtc(
            DOWN,
            SignSide::Buy,
            limit(SignSide::Buy, 480_000, 10_000_000),
        ),
    )
    .unwrap();
    // The taker's GTC BUY 15 Up at 0.52 takes 6 + 5 at 0.50 (one trade, two makers), then 4 at
    // 0.52 minted against the Down bid (a second trade); nothing rests.
    w.submit(
        1,
        &gtc(UP, SignSide::Buy, limit(SignSide::Buy, 520_000, 15_000_000)),
    )
    .unwrap();
    // Level 0.50: 11 × 0.50 = 5.50 paid; fee 11 × 0.072 × 0.50 = 0.396 Up.
    // Level 0.52 (mint): the Down maker pays 4 × 0.48 = 1.92, the taker 4 − 1.92 = 2.08;
    // fee 4 × 0.072 × 0.48 = 0.13824 → 0.13824 (5 dp) Up.
    assert_eq!(w.moved(0), (3_000_000, -6_000_000, 0));
    assert_eq!(w.moved(2), (2_500_000 - 1_920_000, -5_000_000, 4_000_000));
    assert_eq!(
        w.moved(1),
        (-5_500_000 - 2_080_000, 15_000_000 - 396_000 - 138_240, 0)
    );
    // The Down bid keeps 6 resting; account 0 sells 6 Down into it (normal match on Down): 6 × 0.48 = 2.88 received by account 0 less its fee 6 × 0.072 × 0.48 × 0.52 = 0.1078272
    // → 0.10783 (half up, 5 dp).
    w.submit(
        0,
        &fak(
            DOWN,
            SignSide::Sell,
            limit(SignSide::Sell, 480_000, 6_000_000),
        ),
    )
    .unwrap();
    assert_eq!(
        w.moved(0),
        (3_000_000 + 2_880_000 - 107_830, -6_000_000, -6_000_000)
    );
    w.settle_all();
}

/// Odd-sized taker BUYs (a market order's takerAmount, implied price within 0.0001 of 0.53)
/// against one resting ask: each fill's notional `9 433 962 × 0.53 = 4 999 999.86` micro-pUSD is
/// not a whole micro-unit. Six of them once left the tracker 6 micro-pUSD away from the venue
/// (the tracker rounded every fill up, the venue's Up party rounded down).
#[test]
fn odd_sized_fills_round_the_same_on_both_sides() {
    let mut w = World::new(2, 0);
    let ask = w
        .submit(
            0,
            &gtc(
                UP,
                SignSide::Sell,
                limit(SignSide::Sell, 530_000, 100_000_000),
            ),
        )
        .unwrap();
    // Compared once after the six fills, so a per-fill rounding difference shows as its sum.
    w.check_every_step = false;
    for _ in 0..6 {
        // makerAmount 5.00 pUSD, takerAmount 9.433962 shares.
        w.submit(1, &fak(UP, SignSide::Buy, (5_000_000, 9_433_962)))
            .unwrap();
    }
    w.check_every_step = true;
    w.check("six odd-sized fills");
    // Per fill the maker receives floor(9 433 962 × 0.53) = 4 999 999 and the taker pays the
    // same; fee per fill 9.433962 × 0.072 × 0.47 = 0.319245274… → 0.31925 Up.
    assert_eq!(w.moved(0), (6 * 4_999_999, -6 * 9_433_962, 0));
    assert_eq!(w.moved(1), (-6 * 4_999_999, 6 * (9_433_962 - 319_250), 0));
    w.settle_all();
    // The rest of the ask (100 − 6 × 9.433962 = 43.396228 Up) is canceled, then a mint at the
    // same odd size against a Down bid at 0.47: the Down maker pays
    // floor(9 433 962 × 0.47) = floor(4 433 962.14) = 4 433 962, the Up taker the complement
    // 9 433 962 − 4 433 962 = 5 000 000 (its makerAmount exactly).
    w.submit(
        0,
        &gtc(
            DOWN,
            SignSide::Buy,
            limit(SignSide::Buy, 470_000, 20_000_000),
        ),
    )
    .unwrap();
    w.cancel(0, &ask);
    let before = (w.moved(0), w.moved(1));
    w.submit(1, &fak(UP, SignSide::Buy, (5_000_000, 9_433_962)))
        .unwrap();
    let (m0, m1) = (w.moved(0), w.moved(1));
    assert_eq!(m0.0 - before.0 .0, -4_433_962);
    assert_eq!(m0.2 - before.0 .2, 9_433_962);
    assert_eq!(m1.0 - before.1 .0, -5_000_000);
    assert_eq!(m1.1 - before.1 .1, 9_433_962 - 319_250);
    // The Down bid's odd remainder (20 − 9.433962 = 10.566038 Down) rests as an Up-space ask at
    // 0.53; account 1 sells 10 Down into it (a Down SELL is an Up-space bid): a normal match on
    // the Down token.
    let before = (w.moved(0), w.moved(1));
    w.submit(
        1,
        &fak(
            DOWN,
            SignSide::Sell,
            limit(SignSide::Sell, 470_000, 10_000_000),
        ),
    )
    .unwrap();
    // Normal match on Down: 10 × 0.47 = 4.70 each way; the taker's fee in collateral
    // 10 × 0.072 × 0.47 × 0.53 = 0.179352 → 0.17935.
    let (m0, m1) = (w.moved(0), w.moved(1));
    assert_eq!(m0.0 - before.0 .0, -4_700_000);
    assert_eq!(m1.0 - before.1 .0, 4_700_000 - 179_350);
    w.settle_all();
}

#[test]
fn failed_trade_reverts_both_sides_and_fees() {
    let mut w = World::new(2, 0);
    w.submit(
        0,
        &gtc(
            DOWN,
            SignSide::Buy,
            limit(SignSide::Buy, 450_000, 20_000_000),
        ),
    )
    .unwrap();
    w.ex.control.fail_next_trades(1);
    w.submit(1, &fak(UP, SignSide::Buy, (5_600_000, 10_181_818)))
        .unwrap();
    // Limit 5.60 / 10.181818 = 0.55000002 (within 0.0001 of 0.55): mint at 0.55. The Down maker
    // pays floor(10 181 818 × 0.45) = floor(4 581 818.1) = 4 581 818; the taker pays
    // 10 181 818 − 4 581 818 = 5 600 000; fee 10.181818 × 0.072 × 0.45 = 0.32989090… → 0.32989.
    assert_eq!(w.moved(0), (-4_581_818, 0, 10_181_818));
    assert_eq!(w.ex.trades.len(), 1);
    assert_eq!(w.moved(1), (-5_600_000, 10_181_818 - 329_890, 0));
    w.settle_all();
    // The trade failed: everything is back where it started, the maker's bid rests again.
    assert_eq!(w.moved(0), (0, 0, 0));
    assert_eq!(w.moved(1), (0, 0, 0));
}

#[test]
fn failed_fill_of_a_fully_matched_maker_reopens_it_on_both_sides() {
    let mut w = World::new(2, 0);
    // Maker bids 0.45 for 10 Up (holds 4.50); the taker sells it 10 Up, and the trade fails.
    let bid = w
        .submit(
            0,
            &gtc(UP, SignSide::Buy, limit(SignSide::Buy, 450_000, 10_000_000)),
        )
        .unwrap();
    w.ex.control.fail_next_trades(1);
    w.submit(
        1,
        &fak(
            UP,
            SignSide::Sell,
            limit(SignSide::Sell, 450_000, 10_000_000),
        ),
    )
    .unwrap();
    // Fully matched: no hold left on either side; the maker got 10 Up for 4.50.
    assert_eq!(w.moved(0), (-4_500_000, 10_000_000, 0));
    assert_eq!(w.ledger(0).collateral_reserved, 0);
    assert_eq!(w.accounts[0].tracker.reserved_collateral(), 0);
    w.settle_all();
    // FAILED: the venue takes the fill back out of `size_matched` and rests the bid again with
    // its full 4.50 hold; the tracker reopens it and holds the same notional (plus its headroom
    // 10 × 0.072 × 0.45 × 0.55 = 0.1782).
    assert_eq!(w.moved(0), (0, 0, 0));
    assert_eq!(w.ledger(0).collateral_reserved, 4_500_000);
    let oid = parse_order_id(&bid).unwrap();
    let rec = *w.accounts[0].tracker.get(&oid).unwrap();
    assert!(rec.state.is_open(), "{rec:?}");
    assert_eq!(rec.matched(), 0);
    let t = &w.accounts[0].tracker;
    assert_eq!(t.reserved_collateral() - t.fee_headroom(), 4_500_000);
    assert_eq!(t.fee_headroom(), 178_200);
}

// ------------------------------------------------------------------------------------------
// Seeded random walk.
// ------------------------------------------------------------------------------------------

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_order(rng: &mut Rng, now_s: u64) -> Order {
    let token = if rng.below(2) == 0 { UP } else { DOWN };
    let side = if rng.below(2) == 0 {
        SignSide::Buy
    } else {
        SignSide::Sell
    };
    // Prices 0.35..0.65 on the 0.01 grid so Up and Down orders cross often.
    let price = (35 + rng.below(31)) * 10_000;
    // 5.00 .. 30.00 shares, sometimes with cents.
    let size = 5_000_000 + rng.below(2_501) * 10_000;
    let kind = rng.below(10);
    let (order_type, post_only, expiration) = match kind {
        0..=3 => (OrderType::Gtc, false, 0),
        4 => (OrderType::Gtc, true, 0),
        5 => (OrderType::Gtd, rng.below(2) == 0, now_s + 3_600),
        6 | 7 => (OrderType::Fak, false, 0),
        _ => (OrderType::Fok, false, 0),
    };
    let market_buy = side == SignSide::Buy
        && matches!(order_type, OrderType::Fak | OrderType::Fok)
        && rng.below(2) == 0;
    let amounts = if market_buy {
        // Spend 3.00 .. 15.00 pUSD. takerAmount = amount / price: to 4 decimals as the official
        // clients round it, or to the micro-share (a signed order may carry any integer the
        // venue's price check accepts), which makes fills whose notional is not a whole
        // micro-unit.
        let spend = 3_000_000 + rng.below(1_201) * 10_000;
        if rng.below(2) == 0 {
            let a = market_order_amounts(SignSide::Buy, spend, price, tick_size()).unwrap();
            (a.maker, a.taker)
        } else {
            (spend, spend * 1_000_000 / price)
        }
    } else {
        limit(side, price, size)
    };
    Order {
        token,
        side,
        amounts,
        order_type,
        post_only,
        expiration,
    }
}

fn random_walk(seed: u64, steps: usize, taker_delay_ms: u64) {
    let mut rng = Rng(seed);
    let mut w = World::new(3, taker_delay_ms);
    let mut open: Vec<(usize, String)> = Vec::new();
    for _ in 0..steps {
        let who = rng.below(3) as usize;
        match rng.below(20) {
            0..=13 => {
                let o = random_order(&mut rng, w.now_ms / 1000);
                if rng.below(25) == 0 {
                    w.ex.control.fail_next_trades(1);
                }
                if let Some(id) = w.submit(who, &o) {
                    open.push((who, id));
                }
            }
            14..=16 => {
                if !open.is_empty() {
                    let i = rng.below(open.len() as u64) as usize;
                    let (who, id) = open.swap_remove(i);
                    w.cancel(who, &id);
                }
            }
            _ => w.advance(50 + rng.below(1_500)),
        }
    }
    w.settle_all();
    // The walk exercised every match kind, failed trades and fills whose notional is not a
    // whole micro-unit.
    let (mut normal, mut mint, mut merge, mut failed, mut odd) = (0, 0, 0, 0, 0);
    for t in &w.ex.trades {
        for m in &t.makers {
            match (m.token == t.token, t.side) {
                (true, _) => normal += 1,
                (false, Side::Buy) => mint += 1,
                (false, Side::Sell) => merge += 1,
            }
            if (m.matched * u64::from(m.price)) % 1_000 != 0 {
                odd += 1;
            }
        }
        if t.status == TradeStatus::Failed {
            failed += 1;
        }
    }
    let kinds = (normal, mint, merge, failed, odd);
    assert!(
        normal > 0 && mint > 0 && merge > 0 && failed > 0 && odd > 0,
        "seed {seed}: (normal, mint, merge, failed, odd) = {kinds:?}"
    );
}

#[test]
fn random_orders_keep_tracker_and_ledger_equal() {
    for seed in [
        0x9e37_79b9_7f4a_7c15u64,
        0x0123_4567_89ab_cdef,
        0xdead_beef_cafe_f00d,
    ] {
        random_walk(seed, 400, 0);
    }
}

#[test]
fn random_orders_with_taker_delay_keep_tracker_and_ledger_equal() {
    for seed in [0x5151_5151_0000_0001u64, 0x2718_2818_2845_9045] {
        random_walk(seed, 400, 50);
    }
}

// ------------------------------------------------------------------------------------------
// The tracker stays allocation-free on the hot path with the settlement rule.
// ------------------------------------------------------------------------------------------

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn tracker_settles_multi_maker_trades_without_allocating() {
    let mut t = Tracker::new(TrackerConfig {
        order_capacity: 16,
        trade_capacity: 16,
        token_capacity: 4,
        taker_fee_rate_micros: FEE_RATE,
        api_key: "our-key".into(),
    });
    t.set_collateral(START_COLLATERAL);
    let ours = "0x0101010101010101010101010101010101010101010101010101010101010101";
    let taker = "0x0202020202020202020202020202020202020202020202020202020202020202";
    t.on_signed(
        parse_order_id(taker).unwrap(),
        *TokenId::parse(UP).unwrap().word(),
        SignSide::Buy,
        530_000,
        30_000_000,
        true,
    )
    .unwrap();
    // Our FAK BUY Up takes a crowd ask at 0.53, a Down bid at 0.47 (mint) and our own resting
    // Down bid (a self-trade: both legs are ours).
    let frame = |status: &str| {
        format!(
            r#"{{"event_type":"trade","id":"t-1","taker_order_id":"{taker}","asset_id":"{UP}",
            "side":"BUY","size":"30","price":"0.53","status":"{status}","trader_side":"TAKER",
            "maker_orders":[
              {{"order_id":"crowd","owner":"","matched_amount":"9.433962","price":"0.53",
                "asset_id":"{UP}","side":"SELL"}},
              {{"order_id":"0x03","owner":"other","matched_amount":"10.566038","price":"0.47",
                "asset_id":"{DOWN}","side":"BUY"}},
              {{"order_id":"{ours}","owner":"our-key","matched_amount":"10","price":"0.47",
                "asset_id":"{DOWN}","side":"BUY"}}]}}"#
        )
    };
    for status in ["MATCHED", "MINED", "CONFIRMED"] {
        let text = frame(status);
        let ev: TradeEvent<'_> = serde_json::from_str(&text).unwrap();
        let (n, r) = count_allocations(|| t.on_trade_event(&ev));
        r.unwrap();
        assert_eq!(n, 0, "{status}: the tracker allocated");
    }
    // Taker: 4 999 999 (same token) + (10 566 038 − 4 966 037) + (10 000 000 − 4 700 000)
    // = 15 900 000; our maker leg pays floor(10 × 0.47) = 4 700 000. Fee 30 × 0.072 × 0.47 =
    // 1.0152 Up.
    let p = t.positions();
    assert_eq!(
        p.collateral_confirmed(),
        START_COLLATERAL - 15_900_000 - 4_700_000
    );
    assert_eq!(
        p.token(TokenId::parse(UP).unwrap().word()).confirmed,
        30_000_000 - 1_015_200
    );
    assert_eq!(
        p.token(TokenId::parse(DOWN).unwrap().word()).confirmed,
        10_000_000
    );
}
