//! Order placement, execution and settlement; cancels; the timers (taker delay, GTD expiry,
//! heartbeat lapses, trade status MATCHED → MINED → CONFIRMED, or RETRYING → FAILED with the
//! ledger reverted); the crowd's requotes and trades through the book; market resolution.
//!
//! Settlement (`exec::orders::settlement`, the same functions the engine's tracker settles
//! with): every maker leg of `m` micro-shares fills at the maker's own price `p` and moves
//! `floor(m·p)` micro-pUSD for the maker; the taker's collateral for a trade is the sum over its
//! maker legs of what balances each leg — the same amount for a maker on the taker's token, the
//! complement `m − floor(m·p)` for a maker on the other token (a mint: Up BUY × Down BUY; a
//! merge: Up SELL × Down SELL; `m` complete sets are `m` micro-pUSD) — so every match conserves
//! collateral. A BUY receives `m` tokens, a SELL gives them; the taker alone pays [`taker_fee`]
//! on the trade's size at its price (BUY: in tokens, SELL: in collateral); balances move at
//! MATCHED.
//!
//! Placement checks what the venue checks (protocol notes §3.1 "not enough balance /
//! allowance"): the free balance covers the signed makerAmount — collateral for a BUY, shares for
//! a SELL — and holds exactly that. Fees need no hold: V2 takes them out of what the taker
//! receives (§8).
//!
//! Marketable orders of every type trade shares: a BUY fills at most its signed takerAmount of
//! shares (its size), best price first, and price improvement comes back as unspent collateral
//! (released from the reservation), never as extra shares, so `size_matched ≤ original_size`
//! always holds. The official clients sign a market BUY as "spend `amount` dollars" (makerAmount
//! = collateral, takerAmount = makerAmount / p at the worst price p); the venue's documents do
//! not say whether the CLOB then spends the whole makerAmount at better prices (the CTF exchange
//! contract would allow it) or fills the signed shares, so the simulator takes the reading that
//! keeps a limit order's size meaning shares for FAK/FOK as for GTC (the official clients' own
//! test in tests/official_client.rs asserts a FAK limit BUY never receives more than it asked).
//! A FOK is killed unless the book can fill its whole size.

use std::sync::Arc;

use serde_json::Value;

use super::fees::{taker_fee, MICRO_PER_MILLI};
use super::heartbeat::Beat;
use super::ledger::LedgerDelta;
use super::matching::{Fill, MakerFilter, Party, MICRO_PER_CENTI};
use super::publish::{publish_market, Print};
use super::records::{MakerLeg, OrderRecord, OrderStatus, TradeRecord, TradeStatus};
use super::validate::{
    check_price_and_size, verify_signature, ParsedOrder, Reject, GTD_MIN_LEAD_S,
};
use super::{auth::KeyInfo, Exchange};
use crate::exec::orders::settlement::{maker_collateral, taker_collateral};
use crate::exec::signing::hex;
use crate::exec::signing::order::OrderType;
use crate::sim::polymarket::crowd::{CrowdOutput, Side, Token};
use crate::sim::polymarket::MarketState;

/// The answer to an accepted order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub order_id: String,
    /// `live`, `matched` or `delayed`.
    pub status: &'static str,
    /// What the taker gave / received (micro; 0 when nothing matched).
    pub making: u64,
    pub taking: u64,
    pub trade_ids: Vec<String>,
}

/// Who took liquidity.
#[derive(Debug, Clone)]
enum Taker {
    User(Arc<str>),
    Crowd,
}

fn lower_hex(a: &crate::exec::signing::address::Address) -> String {
    hex::to_0x_string(&a.0)
}

fn publish_user(ex: &Exchange, owner: &str, condition: &str, v: &Value) {
    if let Some(hub) = &ex.user_hub {
        super::user_ws::publish(hub, owner, condition, v);
    }
}

fn order_event(ex: &Exchange, id: &str, kind: &str, now_ms: u64) {
    if let Some(o) = ex.orders.get(id) {
        publish_user(ex, &o.owner, &o.condition_id, &o.event(kind, now_ms));
    }
}

/// Validate, reserve and (unless delayed) execute an order for API key `key`.
pub fn place(
    ex: &mut Exchange,
    markets: &mut [MarketState],
    key: &KeyInfo,
    po: &ParsedOrder,
    now_ms: u64,
) -> Result<Placed, Reject> {
    if po.owner != key.creds.api_key {
        return Err(Reject::Owner);
    }
    let digest = verify_signature(po, &key.address)?;
    let id: Arc<str> = Arc::from(hex::to_0x_string(&digest));
    if ex.orders.contains_key(&id) {
        return Err(Reject::Duplicated);
    }
    let mi = markets
        .iter()
        .position(|m| m.token_of(&po.token_id).is_some())
        .ok_or(Reject::MarketNotFound)?;
    let m = &mut markets[mi];
    let token = m.token_of(&po.token_id).ok_or(Reject::MarketNotFound)?;
    if m.winner.is_some() || now_ms >= m.info.end_s * 1000 {
        return Err(Reject::MarketClosed);
    }
    let price = check_price_and_size(po, m.crowd.tick())?;
    let now_s = now_ms / 1000;
    if po.order_type == OrderType::Gtd && po.expiration < now_s + GTD_MIN_LEAD_S {
        return Err(Reject::Expiration);
    }
    if po.post_only && !matches!(po.order_type, OrderType::Gtc | OrderType::Gtd) {
        return Err(Reject::PostOnlyType);
    }
    if po.post_only && m.book.crosses(token, po.side, price) {
        return Err(Reject::PostOnlyCrosses);
    }
    let maker = lower_hex(&po.maker);
    let amount = i64::try_from(po.maker_amount).map_err(|_| Reject::Payload)?;
    let reserved = match po.side {
        Side::Buy => ex.ledger.reserve_collateral(&maker, amount),
        Side::Sell => ex.ledger.reserve_tokens(&maker, &po.token_id, amount),
    };
    if !reserved {
        return Err(Reject::Balance);
    }
    ex.funders.insert(
        (key.creds.api_key.clone(), po.signature_type),
        maker.clone(),
    );
    let marketable = m.book.crosses(token, po.side, price);
    let delayed = marketable && ex.opts.taker_delay_ms > 0;
    let rec = OrderRecord {
        id: id.clone(),
        owner: key.creds.api_key.clone(),
        maker,
        condition_id: m.info.condition_id.clone(),
        token_id: po.token_id.clone(),
        token,
        side: po.side,
        price,
        original: po.shares(),
        matched: 0,
        collateral: po.collateral(),
        order_type: po.order_type,
        post_only: po.post_only,
        expiration: po.expiration,
        status: if delayed {
            OrderStatus::Delayed
        } else {
            OrderStatus::Live
        },
        created_at_s: now_s,
        trade_ids: Vec::new(),
        reserved: amount,
        seq: None,
    };
    ex.orders.insert(id.clone(), rec);
    ex.order_list.push(id.clone());
    if delayed {
        ex.delayed
            .push((id.clone(), now_ms + ex.opts.taker_delay_ms));
        return Ok(Placed {
            order_id: id.to_string(),
            status: "delayed",
            making: 0,
            taking: 0,
            trade_ids: Vec::new(),
        });
    }
    execute(ex, m, &id, now_ms)
}

/// Close an open order: release its reservation, take it off the book, set `status`.
fn close(ex: &mut Exchange, m: Option<&mut MarketState>, id: &str, status: OrderStatus) -> bool {
    let Some(o) = ex.orders.get_mut(id) else {
        return false;
    };
    if !o.status.is_open() {
        return false;
    }
    if let (Some(seq), Some(m)) = (o.seq.take(), m) {
        m.book.remove(o.token, o.side, o.price, seq);
    }
    let reserved = std::mem::take(&mut o.reserved);
    o.status = status;
    let (maker, token_id, side) = (o.maker.clone(), o.token_id.clone(), o.side);
    match side {
        Side::Buy => ex.ledger.release_collateral(&maker, reserved),
        Side::Sell => ex.ledger.release_tokens(&maker, &token_id, reserved),
    }
    ex.delayed.retain(|(d, _)| &**d != id);
    true
}

/// Execute an accepted order now (after its taker delay, if any).
fn execute(
    ex: &mut Exchange,
    m: &mut MarketState,
    id: &Arc<str>,
    now_ms: u64,
) -> Result<Placed, Reject> {
    let Some(o) = ex.orders.get(id).cloned() else {
        return Err(Reject::Payload);
    };
    let rem = o.remaining();
    if o.order_type == OrderType::Fok
        && m.book.fillable(o.token, o.side, o.price, MakerFilter::All) < rem
    {
        close(ex, Some(m), id, OrderStatus::Canceled);
        return Err(Reject::FokKilled);
    }
    let fills = m.book.take(o.token, o.side, o.price, rem, MakerFilter::All);
    if o.order_type == OrderType::Fak && fills.is_empty() {
        close(ex, Some(m), id, OrderStatus::Canceled);
        return Err(Reject::FakNoMatch);
    }
    let matched_any = !fills.is_empty();
    let out = settle(
        ex,
        m,
        &Taker::User(id.clone()),
        o.token,
        o.side,
        fills,
        now_ms,
    );
    let Some(o) = ex.orders.get_mut(id) else {
        return Err(Reject::Payload);
    };
    let rem = o.remaining();
    if rem > 0 && matches!(o.order_type, OrderType::Gtc | OrderType::Gtd) {
        o.status = OrderStatus::Live;
        o.seq = Some(
            m.book
                .rest(Party::User(id.clone()), o.token, o.side, o.price, rem),
        );
        order_event(ex, id, "PLACEMENT", now_ms);
    } else if rem > 0 {
        // FOK fully filled never gets here; FAK's unfilled rest is killed.
        close(ex, Some(m), id, OrderStatus::Matched);
    } else {
        o.status = OrderStatus::Matched;
    }
    publish_market(ex, m, &out.prints, now_ms);
    Ok(Placed {
        order_id: id.to_string(),
        status: if matched_any { "matched" } else { "live" },
        making: out.making,
        taking: out.taking,
        trade_ids: out.trade_ids,
    })
}

#[derive(Default)]
struct Settled {
    trade_ids: Vec<String>,
    making: u64,
    taking: u64,
    prints: Vec<Print>,
}

/// A milli price in micro-units (the settlement arithmetic's unit).
fn micro(price_milli: u32) -> u64 {
    u64::from(price_milli) * MICRO_PER_MILLI
}

/// Apply one user leg (`shares` traded for `collateral` micro-pUSD, paying `fee`) to its order
/// record and the ledger; returns the ledger delta.
fn user_leg(
    ex: &mut Exchange,
    id: &str,
    shares: u64,
    collateral: u64,
    fee: i64,
) -> Option<LedgerDelta> {
    let o = ex.orders.get_mut(id)?;
    o.matched += shares;
    let new_res = o.reserve_for(o.remaining());
    let release = o.reserved - new_res;
    o.reserved = new_res;
    let n = i64::try_from(collateral).unwrap_or(i64::MAX);
    let s = i64::try_from(shares).unwrap_or(i64::MAX);
    let (maker, token_id, side) = (o.maker.clone(), o.token_id.clone(), o.side);
    let delta = match side {
        Side::Buy => {
            ex.ledger.release_collateral(&maker, release);
            LedgerDelta {
                account: maker,
                collateral: -n,
                tokens: vec![(token_id.clone(), s - fee)],
                fee_collateral: 0,
                fee_tokens: if fee > 0 {
                    vec![(token_id, fee)]
                } else {
                    Vec::new()
                },
            }
        }
        Side::Sell => {
            ex.ledger.release_tokens(&maker, &token_id, release);
            LedgerDelta {
                account: maker,
                collateral: n - fee,
                tokens: vec![(token_id, -s)],
                fee_collateral: fee,
                fee_tokens: Vec::new(),
            }
        }
    };
    ex.ledger.apply(&delta);
    Some(delta)
}

/// Settle a taker's fills: ledger, order records, trade records (one per price level), user
/// events; the crowd's consumed quotes are written back to the crowd.
fn settle(
    ex: &mut Exchange,
    m: &mut MarketState,
    taker: &Taker,
    token: Token,
    side: Side,
    fills: Vec<Fill>,
    now_ms: u64,
) -> Settled {
    let mut out = Settled::default();
    let mut crowd_keys: Vec<(Token, Side, u32)> = Vec::new();
    let mut groups: Vec<Vec<Fill>> = Vec::new();
    for f in fills {
        match groups.last_mut() {
            Some(g) if g[0].up_price == f.up_price => g.push(f),
            _ => groups.push(vec![f]),
        }
    }
    let rate = ex.opts.fee_rate_ppm;
    for (bucket, group) in groups.into_iter().enumerate() {
        let taker_price = group[0].price_on(token);
        let size: u64 = group.iter().map(|f| f.shares).sum();
        // What balances each maker leg on the taker's side (complement for mint / merge legs).
        let taker_side_collateral: u64 = group
            .iter()
            .map(|f| {
                taker_collateral(
                    f.shares,
                    micro(f.price_on(f.maker.token)),
                    f.maker.token == token,
                )
            })
            .sum();
        out.prints.push(Print {
            token,
            side,
            price: taker_price,
            size,
        });
        let any_user = matches!(taker, Taker::User(_))
            || group
                .iter()
                .any(|f| matches!(f.maker.party, Party::User(_)));
        let mut makers = Vec::new();
        let mut deltas = Vec::new();
        for f in &group {
            let maker_price = f.price_on(f.maker.token);
            match &f.maker.party {
                Party::Crowd => {
                    let key = (f.maker.token, f.maker.side, maker_price);
                    if !crowd_keys.contains(&key) {
                        crowd_keys.push(key);
                    }
                    makers.push(MakerLeg {
                        order_id: "crowd".into(),
                        owner: String::new(),
                        maker_address: "crowd".into(),
                        matched: f.shares,
                        price: maker_price,
                        token_id: m.info.token_ids[f.maker.token as usize].clone(),
                        token: f.maker.token,
                        side: f.maker.side,
                    });
                }
                Party::User(oid) => {
                    let collateral = maker_collateral(f.shares, micro(maker_price));
                    if let Some(d) = user_leg(ex, oid, f.shares, collateral, 0) {
                        deltas.push(d);
                    }
                    if let Some(o) = ex.orders.get_mut(&**oid) {
                        if o.remaining() == 0 {
                            o.status = OrderStatus::Matched;
                            o.seq = None;
                        }
                        makers.push(MakerLeg {
                            order_id: oid.to_string(),
                            owner: o.owner.clone(),
                            maker_address: o.maker.clone(),
                            matched: f.shares,
                            price: maker_price,
                            token_id: o.token_id.clone(),
                            token: o.token,
                            side: o.side,
                        });
                    }
                }
            }
        }
        let (taker_order_id, taker_owner, taker_address) = match taker {
            Taker::User(oid) => {
                let fee = i64::try_from(taker_fee(side, size, taker_price, rate)).unwrap_or(0);
                if let Some(d) = user_leg(ex, oid, size, taker_side_collateral, fee) {
                    match side {
                        Side::Buy => {
                            out.making += d.collateral.unsigned_abs();
                            out.taking += u64::try_from(d.tokens[0].1).unwrap_or(0);
                        }
                        Side::Sell => {
                            out.making += size;
                            out.taking += u64::try_from(d.collateral).unwrap_or(0);
                        }
                    }
                    deltas.push(d);
                }
                let o = ex.orders.get(&**oid);
                (
                    oid.to_string(),
                    o.map(|o| o.owner.clone()),
                    o.map(|o| o.maker.clone()).unwrap_or_default(),
                )
            }
            Taker::Crowd => ("crowd".to_string(), None, "crowd".to_string()),
        };
        if !any_user {
            continue;
        }
        ex.trade_counter += 1;
        let id = trade_id(ex.trade_counter, &m.info.condition_id, now_ms);
        let fails = ex.control.take_trade_failure();
        let trade = TradeRecord {
            id: id.clone(),
            taker_order_id,
            taker_owner,
            taker_address,
            condition_id: m.info.condition_id.clone(),
            token_id: m.info.token_ids[token as usize].clone(),
            token,
            side,
            size,
            price: taker_price,
            status: TradeStatus::Matched,
            match_ms: now_ms,
            last_update_ms: now_ms,
            bucket_index: u32::try_from(bucket).unwrap_or(u32::MAX),
            fee_rate_bps: rate / 100,
            makers,
            deltas,
            fails,
        };
        for o in trade.makers.iter().filter(|l| !l.owner.is_empty()) {
            if let Some(rec) = ex.orders.get_mut(o.order_id.as_str()) {
                rec.trade_ids.push(id.clone());
            }
        }
        if let Taker::User(oid) = taker {
            if let Some(rec) = ex.orders.get_mut(&**oid) {
                rec.trade_ids.push(id.clone());
            }
        }
        for owner in trade.owners() {
            publish_user(
                ex,
                &owner,
                &trade.condition_id,
                &trade.event(&owner, now_ms),
            );
        }
        let maker_ids: Vec<String> = trade
            .makers
            .iter()
            .filter(|l| !l.owner.is_empty())
            .map(|l| l.order_id.clone())
            .collect();
        out.trade_ids.push(id);
        ex.trades.push(trade);
        for mid in maker_ids {
            order_event(ex, &mid, "UPDATE", now_ms);
        }
    }
    sync_crowd(m, &crowd_keys);
    out
}

fn trade_id(counter: u64, condition: &str, now_ms: u64) -> String {
    let h = crate::exec::signing::keccak::keccak256(
        format!("{counter}|{condition}|{now_ms}").as_bytes(),
    );
    let x = hex::to_0x_string(&h[..16]);
    let x = &x[2..];
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// Write the engine's crowd liquidity at `keys` back into the crowd model (whole centi-shares).
fn sync_crowd(m: &mut MarketState, keys: &[(Token, Side, u32)]) {
    for &(token, side, price) in keys {
        let centi = m.book.crowd_size(token, side, price) / MICRO_PER_CENTI;
        m.book
            .shrink_crowd(token, side, price, centi * MICRO_PER_CENTI);
        m.crowd
            .set_level_external(token, side, price, i64::try_from(centi).unwrap_or(0));
    }
}

/// Cancel `id` if `owner` owns it and it is open; publishes the cancellation.
pub fn cancel(
    ex: &mut Exchange,
    markets: &mut [MarketState],
    owner: &str,
    id: &str,
    status: OrderStatus,
    now_ms: u64,
) -> Result<(), &'static str> {
    let Some(o) = ex.orders.get(id) else {
        return Err("order not found");
    };
    if o.owner != owner {
        return Err("order not found");
    }
    if !o.status.is_open() {
        return Err("order can't be canceled: already matched or canceled");
    }
    let cond = o.condition_id.clone();
    let mi = markets.iter().position(|m| m.info.condition_id == cond);
    let m = mi.map(|i| &mut markets[i]);
    match m {
        Some(m) => {
            close(ex, Some(&mut *m), id, status);
            order_event(ex, id, "CANCELLATION", now_ms);
            publish_market(ex, m, &[], now_ms);
        }
        None => {
            close(ex, None, id, status);
            order_event(ex, id, "CANCELLATION", now_ms);
        }
    }
    Ok(())
}

/// Open order ids of `owner`, optionally only in `market` (condition id) / `asset` (token id).
pub fn open_orders(
    ex: &Exchange,
    owner: &str,
    market: Option<&str>,
    asset: Option<&str>,
) -> Vec<Arc<str>> {
    ex.order_list
        .iter()
        .filter(|id| {
            ex.orders.get(&***id).is_some_and(|o| {
                o.owner == owner
                    && o.status.is_open()
                    && market.is_none_or(|c| o.condition_id.eq_ignore_ascii_case(c))
                    && asset.is_none_or(|a| o.token_id == a)
            })
        })
        .cloned()
        .collect()
}

/// Handle a heartbeat.
pub fn heartbeat(ex: &mut Exchange, api_key: &str, id: &str, now_ms: u64) -> Beat {
    let timeout = ex.opts.heartbeat_timeout_ms;
    ex.heartbeats.beat(api_key, id, now_ms, timeout)
}

/// Timers: due delayed orders, GTD expiry, heartbeat lapses, trade status progress.
pub fn tick(ex: &mut Exchange, markets: &mut [MarketState], now_ms: u64) {
    let due: Vec<Arc<str>> = ex
        .delayed
        .iter()
        .filter(|(_, t)| *t <= now_ms)
        .map(|(id, _)| id.clone())
        .collect();
    ex.delayed.retain(|(_, t)| *t > now_ms);
    for id in due {
        let Some(cond) = ex.orders.get(&id).map(|o| o.condition_id.clone()) else {
            continue;
        };
        match markets.iter_mut().find(|m| m.info.condition_id == cond) {
            Some(m) => {
                // The REST answer said `delayed`: the user channel tells how it ended.
                match execute(ex, m, &id, now_ms) {
                    Err(_) => order_event(ex, &id, "CANCELLATION", now_ms),
                    Ok(p) if p.status == "matched" => order_event(ex, &id, "UPDATE", now_ms),
                    Ok(_) => {}
                }
            }
            None => {
                close(ex, None, &id, OrderStatus::Canceled);
            }
        }
    }
    let now_s = now_ms / 1000;
    let expired: Vec<(String, Arc<str>)> = ex
        .orders
        .values()
        .filter(|o| {
            o.status.is_open()
                && o.order_type == OrderType::Gtd
                && o.expiration.saturating_sub(GTD_MIN_LEAD_S) <= now_s
        })
        .map(|o| (o.owner.clone(), o.id.clone()))
        .collect();
    for (owner, id) in expired {
        let _ = cancel(
            ex,
            markets,
            &owner,
            &id,
            OrderStatus::CanceledExpired,
            now_ms,
        );
    }
    for key in ex.heartbeats.lapsed(now_ms) {
        for id in open_orders(ex, &key, None, None) {
            let _ = cancel(ex, markets, &key, &id, OrderStatus::Canceled, now_ms);
        }
    }
    advance_trades(ex, markets, now_ms);
}

/// A FAILED trade's legs: each user order's `size_matched` goes back down by its leg; a GTC/GTD
/// order that is still open, or that the trade had fully matched, rests again with its new
/// remaining size (at the back of its price level) and re-reserves for it; one whose
/// reservation no longer fits is canceled. Immediate orders (FOK/FAK) stay closed.
fn revert_order_legs(ex: &mut Exchange, markets: &mut [MarketState], i: usize, now_ms: u64) {
    let t = &ex.trades[i];
    let mut legs: Vec<(String, u64)> = t
        .makers
        .iter()
        .filter(|l| !l.owner.is_empty())
        .map(|l| (l.order_id.clone(), l.matched))
        .collect();
    if t.taker_owner.is_some() {
        legs.push((t.taker_order_id.clone(), t.size));
    }
    let cond = t.condition_id.clone();
    let mut m = markets.iter_mut().find(|m| m.info.condition_id == cond);
    for (id, shares) in legs {
        let Some(o) = ex.orders.get_mut(id.as_str()) else {
            continue;
        };
        o.matched = o.matched.saturating_sub(shares);
        let resting = matches!(o.order_type, OrderType::Gtc | OrderType::Gtd)
            && (o.status.is_open() || o.status == OrderStatus::Matched)
            && o.status != OrderStatus::Delayed;
        if !resting {
            continue;
        }
        let Some(m) = m.as_deref_mut() else {
            continue;
        };
        let (token, side, price) = (o.token, o.side, o.price);
        if let Some(seq) = o.seq.take() {
            m.book.remove(token, side, price, seq);
        }
        let want = o.reserve_for(o.remaining());
        let extra = want - o.reserved;
        let (maker, token_id) = (o.maker.clone(), o.token_id.clone());
        let fits = extra <= 0
            || match side {
                Side::Buy => ex.ledger.reserve_collateral(&maker, extra),
                Side::Sell => ex.ledger.reserve_tokens(&maker, &token_id, extra),
            };
        let Some(o) = ex.orders.get_mut(id.as_str()) else {
            continue;
        };
        if fits {
            o.reserved = o.reserved.max(want);
            o.status = OrderStatus::Live;
            let rem = o.remaining();
            o.seq = Some(
                m.book
                    .rest(Party::User(o.id.clone()), token, side, price, rem),
            );
            order_event(ex, &id, "UPDATE", now_ms);
        } else {
            // Not open in the book any more: close it (releases what it still holds).
            o.status = OrderStatus::Live;
            close(ex, Some(&mut *m), &id, OrderStatus::Canceled);
            order_event(ex, &id, "CANCELLATION", now_ms);
        }
        publish_market(ex, m, &[], now_ms);
    }
}

fn advance_trades(ex: &mut Exchange, markets: &mut [MarketState], now_ms: u64) {
    let (mined, confirmed) = (ex.opts.mined_delay_ms, ex.opts.confirmed_delay_ms);
    let mut changed = Vec::new();
    for (i, t) in ex.trades.iter_mut().enumerate() {
        let next = match t.status {
            TradeStatus::Matched if now_ms >= t.match_ms + mined => Some(if t.fails {
                TradeStatus::Retrying
            } else {
                TradeStatus::Mined
            }),
            TradeStatus::Mined | TradeStatus::Retrying
                if now_ms >= t.match_ms + mined + confirmed =>
            {
                Some(if t.fails {
                    TradeStatus::Failed
                } else {
                    TradeStatus::Confirmed
                })
            }
            _ => None,
        };
        if let Some(s) = next {
            t.status = s;
            t.last_update_ms = now_ms;
            changed.push(i);
        }
    }
    for i in changed {
        if ex.trades[i].status == TradeStatus::Failed {
            let deltas = ex.trades[i].deltas.clone();
            for d in &deltas {
                ex.ledger.revert(d);
            }
            revert_order_legs(ex, markets, i, now_ms);
        }
        let t = &ex.trades[i];
        for owner in t.owners() {
            publish_user(ex, &owner, &t.condition_id, &t.event(&owner, now_ms));
        }
    }
}

/// After a crowd step: bring the crowd's resting orders in line with its quotes (new crowd
/// quantity that crosses user orders trades with them first) and run the crowd's trade intents
/// through the book at the best visible level. Returns the prints for the market channel.
pub fn on_crowd_step(
    ex: &mut Exchange,
    m: &mut MarketState,
    out: &CrowdOutput,
    now_ms: u64,
) -> Vec<Print> {
    let mut prints = Vec::new();
    let mirrored = m.crowd.mirrored();
    let mut targets: Vec<(Token, Side, u32, u64)> = Vec::new();
    let tokens: &[Token] = if mirrored {
        &[Token::Up]
    } else {
        &[Token::Up, Token::Down]
    };
    for &t in tokens {
        let b = m.crowd.book(t);
        for (side, levels) in [(Side::Buy, &b.bids), (Side::Sell, &b.asks)] {
            for (p, s) in levels {
                targets.push((
                    t,
                    side,
                    *p,
                    u64::try_from(*s).unwrap_or(0) * MICRO_PER_CENTI,
                ));
            }
        }
    }
    // Decreases and removals first.
    for (t, side, p, have) in m.book.crowd_levels() {
        let want = targets
            .iter()
            .find(|(tt, ss, pp, _)| *tt == t && *ss == side && *pp == p)
            .map(|x| x.3)
            .unwrap_or(0);
        if want < have {
            m.book.shrink_crowd(t, side, p, want);
        }
    }
    for (t, side, p, want) in targets {
        let have = m.book.crowd_size(t, side, p);
        if want <= have {
            continue;
        }
        let add = want - have;
        let fills = m.book.take(t, side, p, add, MakerFilter::UsersOnly);
        let filled: u64 = fills.iter().map(|f| f.shares).sum();
        if filled < add {
            m.book.rest(Party::Crowd, t, side, p, add - filled);
        }
        if !fills.is_empty() {
            let s = settle(ex, m, &Taker::Crowd, t, side, fills, now_ms);
            prints.extend(s.prints);
            sync_crowd(m, &[(t, side, p)]);
        }
    }
    for trade in &out.trades {
        let view = m.book.view(trade.token, mirrored);
        let level = match trade.taker_side {
            Side::Buy => view.asks.iter().next().map(|(p, s)| (*p, *s)),
            Side::Sell => view.bids.iter().next_back().map(|(p, s)| (*p, *s)),
        };
        let Some((price, avail)) = level else {
            continue;
        };
        let want = (u64::try_from(trade.size).unwrap_or(0) * MICRO_PER_CENTI)
            .min(u64::try_from(avail).unwrap_or(0));
        let fills = m.book.take(
            trade.token,
            trade.taker_side,
            price,
            want,
            MakerFilter::VisibleOn {
                token: trade.token,
                mirrored,
            },
        );
        if !fills.is_empty() {
            let s = settle(
                ex,
                m,
                &Taker::Crowd,
                trade.token,
                trade.taker_side,
                fills,
                now_ms,
            );
            prints.extend(s.prints);
        }
    }
    prints
}

/// A market resolved: cancel its open user orders and pay the winning tokens 1 pUSD each.
pub fn on_resolved(ex: &mut Exchange, m: &mut MarketState, now_ms: u64) {
    let Some(winner) = m.winner else {
        return;
    };
    let ids: Vec<(String, Arc<str>)> = ex
        .orders
        .values()
        .filter(|o| o.status.is_open() && o.condition_id == m.info.condition_id)
        .map(|o| (o.owner.clone(), o.id.clone()))
        .collect();
    for (_, id) in ids {
        close(ex, Some(&mut *m), &id, OrderStatus::CanceledMarketResolved);
        order_event(ex, &id, "CANCELLATION", now_ms);
    }
    ex.ledger.resolve(&m.info.token_ids, winner as usize);
    publish_market(ex, m, &[], now_ms);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::signing::amounts::Side as SignSide;
    use crate::exec::signing::body::BodyKeyOrder;
    use crate::exec::signing::commands::{order_build, OrderBuildArgs};
    use crate::exec::signing::signer::EoaSigner;
    use crate::sim::exchange::auth::derive_creds;
    use crate::sim::exchange::faults::ExchangeControl;
    use crate::sim::exchange::matching::MarketBook;
    use crate::sim::exchange::validate::parse_order;
    use crate::sim::exchange::ExchangeOptions;
    use crate::sim::polymarket::crowd::{Book, Crowd, Phase};
    use crate::sim::polymarket::{MarketInfo, WindowKind};

    const UP: &str =
        "11111111111111111111111111111111111111111111111111111111111111111111111111111";
    const DOWN: &str =
        "22222222222222222222222222222222222222222222222222222222222222222222222222222";
    const NOW_MS: u64 = 1_800_000_000_000;

    fn market() -> MarketState {
        MarketState {
            info: MarketInfo {
                asset: "btc".into(),
                kind: WindowKind::Min15,
                slug: "btc-updown-15m-x".into(),
                market_id: "1".into(),
                event_id: "2".into(),
                condition_id: "0xc0".into(),
                token_ids: [UP.into(), DOWN.into()],
                start_s: NOW_MS / 1000 - 100,
                end_s: NOW_MS / 1000 + 800,
                listed_ms: 0,
            },
            crowd: Crowd::new(1),
            phase: Phase::Open,
            strike_e18: None,
            final_e18: None,
            winner: None,
            resolved_ms: None,
            last_trade: None,
            last_top: [(0, 0); 2],
            book: MarketBook::default(),
            view: [Book::default(), Book::default()],
        }
    }

    struct User {
        secret: [u8; 32],
        key: KeyInfo,
        salt: u64,
    }

    impl User {
        fn new(b: u8) -> User {
            let secret = [b; 32];
            let address = EoaSigner::from_bytes(&secret).unwrap().address();
            User {
                secret,
                key: KeyInfo {
                    address,
                    creds: derive_creds(&address, 0),
                },
                salt: u64::from(b) << 40,
            }
        }

        fn account(&self) -> String {
            lower_hex(&self.key.address)
        }

        fn order(
            &mut self,
            token: &str,
            side: SignSide,
            price: &str,
            size: &str,
            t: OrderType,
            expiration: u64,
        ) -> ParsedOrder {
            self.salt += 1;
            let built = order_build(
                &self.secret,
                &OrderBuildArgs {
                    token_id: token,
                    side,
                    price,
                    size,
                    tick_size: "0.01",
                    neg_risk: false,
                    signature_type: 0,
                    funder: None,
                    salt: self.salt,
                    timestamp_ms: NOW_MS,
                    expiration,
                    builder: None,
                    metadata: None,
                    order_type: t,
                    post_only: false,
                    owner: &self.key.creds.api_key,
                    key_order: BodyKeyOrder::PyClobClientV2,
                },
            )
            .unwrap();
            parse_order(&serde_json::from_str(&built.body).unwrap()).unwrap()
        }
    }

    fn exchange(taker_delay_ms: u64) -> Exchange {
        Exchange::new(
            ExchangeOptions {
                starting_collateral: 100_000_000,
                taker_delay_ms,
                ..ExchangeOptions::default()
            },
            Arc::new(ExchangeControl::default()),
        )
    }

    #[test]
    fn delayed_taker_then_a_mint_match_between_two_users() {
        let mut ex = exchange(50);
        let mut ms = vec![market()];
        let (mut a, mut b) = (User::new(1), User::new(2));
        // A bids 0.40 for Down: not marketable, rests as an Up-space ask at 0.60.
        let o = a.order(DOWN, SignSide::Buy, "0.40", "10", OrderType::Gtc, 0);
        let placed = place(&mut ex, &mut ms, &a.key, &o, NOW_MS).unwrap();
        assert_eq!(placed.status, "live");
        // B bids 0.60 for Up: marketable, held for the taker delay.
        let o = b.order(UP, SignSide::Buy, "0.60", "10", OrderType::Gtc, 0);
        let placed = place(&mut ex, &mut ms, &b.key, &o, NOW_MS).unwrap();
        assert_eq!(placed.status, "delayed");
        tick(&mut ex, &mut ms, NOW_MS + 49);
        assert_eq!(
            ex.orders[placed.order_id.as_str()].status,
            OrderStatus::Delayed
        );
        tick(&mut ex, &mut ms, NOW_MS + 50);
        assert_eq!(
            ex.orders[placed.order_id.as_str()].status,
            OrderStatus::Matched
        );
        // A complete set was minted: A paid 4, B paid 6, each got 10 shares (B, the taker, less
        // the fee in tokens: 10 × 0.072 × 0.40 = 0.288).
        let (sa, sb) = (
            ex.ledger.snapshot(&a.account()),
            ex.ledger.snapshot(&b.account()),
        );
        assert_eq!(sa.collateral, 96_000_000);
        assert_eq!(sa.tokens[DOWN], 10_000_000);
        assert_eq!(sb.collateral, 94_000_000);
        assert_eq!(sb.tokens[UP], 10_000_000 - 288_000);
        assert_eq!(sb.fees_paid_tokens[UP], 288_000);
        assert_eq!((sa.collateral_reserved, sb.collateral_reserved), (0, 0));
        let t = &ex.trades[0];
        assert_eq!((t.price, t.size, t.side), (600, 10_000_000, Side::Buy));
        assert_eq!(t.makers[0].price, 400);
        assert!(ms[0].book.view(Token::Up, true).asks.is_empty());
    }

    #[test]
    fn fok_fak_post_only_and_price_improvement() {
        let mut ex = exchange(0);
        let mut ms = vec![market()];
        let (mut a, mut b) = (User::new(3), User::new(4));
        ex.ledger.apply(&LedgerDelta {
            account: a.account(),
            tokens: vec![(UP.into(), 50_000_000)],
            ..LedgerDelta::default()
        });
        for p in ["0.55", "0.56"] {
            let o = a.order(UP, SignSide::Sell, p, "10", OrderType::Gtc, 0);
            place(&mut ex, &mut ms, &a.key, &o, NOW_MS).unwrap();
        }
        assert_eq!(
            ex.ledger.snapshot(&a.account()).tokens_reserved[UP],
            20_000_000
        );
        // FOK for more than the 20 crossing shares is killed and releases its reservation.
        let o = b.order(UP, SignSide::Buy, "0.56", "25", OrderType::Fok, 0);
        assert_eq!(
            place(&mut ex, &mut ms, &b.key, &o, NOW_MS),
            Err(Reject::FokKilled)
        );
        assert_eq!(ex.ledger.snapshot(&b.account()).collateral_reserved, 0);
        // FAK at 0.55 takes the 10 there and kills the rest.
        let o = b.order(UP, SignSide::Buy, "0.55", "25", OrderType::Fak, 0);
        let p = place(&mut ex, &mut ms, &b.key, &o, NOW_MS).unwrap();
        assert_eq!((p.status, p.making), ("matched", 5_500_000));
        // GTC at 0.60 fills 10 at 0.56 (the maker's price) and rests 5 at 0.60.
        let o = b.order(UP, SignSide::Buy, "0.60", "15", OrderType::Gtc, 0);
        let p = place(&mut ex, &mut ms, &b.key, &o, NOW_MS).unwrap();
        assert_eq!((p.status, p.making), ("matched", 5_600_000));
        let sb = ex.ledger.snapshot(&b.account());
        assert_eq!(sb.collateral, 100_000_000 - 5_500_000 - 5_600_000);
        assert_eq!(sb.collateral_reserved, 3_000_000, "5 resting at 0.60");
        assert_eq!(ms[0].view[0].bids.get(&600), Some(&5_000_000));
        assert_eq!(ms[0].view[1].asks.get(&400), Some(&5_000_000));
        // Post-only crossing is refused; below the bid it rests.
        let mut o = a.order(UP, SignSide::Sell, "0.60", "5", OrderType::Gtc, 0);
        o.post_only = true;
        assert_eq!(
            place(&mut ex, &mut ms, &a.key, &o, NOW_MS),
            Err(Reject::PostOnlyCrosses)
        );
        // FAK with nothing to match.
        let o = a.order(UP, SignSide::Sell, "0.90", "5", OrderType::Fak, 0);
        assert_eq!(
            place(&mut ex, &mut ms, &a.key, &o, NOW_MS),
            Err(Reject::FakNoMatch)
        );
        // As a maker the seller paid no fee.
        let sa = ex.ledger.snapshot(&a.account());
        assert_eq!(sa.collateral, 100_000_000 + 5_500_000 + 5_600_000);
        assert_eq!(sa.tokens[UP], 30_000_000);
        // As a SELL taker into B's bid it pays 5 × 0.072 × 0.60 × 0.40 = 0.0864 in collateral.
        let o = a.order(UP, SignSide::Sell, "0.60", "5", OrderType::Fak, 0);
        let p = place(&mut ex, &mut ms, &a.key, &o, NOW_MS).unwrap();
        assert_eq!((p.making, p.taking), (5_000_000, 3_000_000 - 86_400));
        let sa2 = ex.ledger.snapshot(&a.account());
        assert_eq!(sa2.collateral - sa.collateral, 3_000_000 - 86_400);
        assert_eq!(sa2.fees_paid_collateral, 86_400);
        // B bought 20 as a taker (fees 10 × 0.072 × 0.45 and 10 × 0.072 × 0.44, in tokens) and 5
        // as a maker (no fee).
        assert_eq!(
            ex.ledger.snapshot(&b.account()).tokens[UP],
            25_000_000 - 324_000 - 316_800
        );
    }

    #[test]
    fn gtd_expiration_rules_and_resolution_payout() {
        let mut ex = exchange(0);
        let mut ms = vec![market()];
        let mut a = User::new(5);
        let now_s = NOW_MS / 1000;
        let o = a.order(UP, SignSide::Buy, "0.10", "10", OrderType::Gtd, now_s + 59);
        assert_eq!(
            place(&mut ex, &mut ms, &a.key, &o, NOW_MS),
            Err(Reject::Expiration)
        );
        let o = a.order(UP, SignSide::Buy, "0.10", "10", OrderType::Gtd, now_s + 90);
        let id = place(&mut ex, &mut ms, &a.key, &o, NOW_MS)
            .unwrap()
            .order_id;
        tick(&mut ex, &mut ms, NOW_MS + 29_000);
        assert_eq!(ex.orders[id.as_str()].status, OrderStatus::Live);
        // Expires at expiration − 60 s (the security threshold).
        tick(&mut ex, &mut ms, NOW_MS + 30_000);
        assert_eq!(ex.orders[id.as_str()].status, OrderStatus::CanceledExpired);
        assert_eq!(ex.ledger.snapshot(&a.account()).collateral_reserved, 0);
        // Resolution: winning shares pay 1 pUSD, open orders are cancelled.
        ex.ledger.apply(&LedgerDelta {
            account: a.account(),
            tokens: vec![(DOWN.into(), 7_000_000), (UP.into(), 3_000_000)],
            ..LedgerDelta::default()
        });
        let o = a.order(UP, SignSide::Buy, "0.10", "10", OrderType::Gtc, 0);
        let id = place(&mut ex, &mut ms, &a.key, &o, NOW_MS)
            .unwrap()
            .order_id;
        ms[0].winner = Some(Token::Down);
        on_resolved(&mut ex, &mut ms[0], NOW_MS);
        assert_eq!(
            ex.orders[id.as_str()].status,
            OrderStatus::CanceledMarketResolved
        );
        let s = ex.ledger.snapshot(&a.account());
        assert_eq!(s.collateral, 100_000_000 + 7_000_000);
        assert!(s.tokens.is_empty() && s.collateral_reserved == 0);
    }

    #[test]
    fn marketable_buy_fills_its_shares_and_returns_the_price_improvement() {
        let mut ex = exchange(0);
        let mut ms = vec![market()];
        let (mut maker, mut taker) = (User::new(3), User::new(4));
        // Asks: 10 Up at 0.50 and 10 Up at 0.55 from a maker holding the tokens.
        ex.ledger
            .account(&maker.account())
            .tokens
            .insert(UP.into(), 20_000_000);
        for (price, size) in [("0.50", "10"), ("0.55", "10")] {
            let o = maker.order(UP, SignSide::Sell, price, size, OrderType::Gtc, 0);
            assert_eq!(
                place(&mut ex, &mut ms, &maker.key, &o, NOW_MS)
                    .unwrap()
                    .status,
                "live"
            );
        }
        // A FAK BUY of 10 shares limited at 0.60 (makerAmount 6, takerAmount 10 shares) fills
        // its 10 shares at 0.50: price improvement comes back as collateral, not extra shares.
        let o = taker.order(UP, SignSide::Buy, "0.60", "10", OrderType::Fak, 0);
        assert_eq!((o.maker_amount, o.taker_amount), (6_000_000, 10_000_000));
        let before = ex.ledger_snapshot(&taker.account()).collateral;
        let placed = place(&mut ex, &mut ms, &taker.key, &o, NOW_MS).unwrap();
        assert_eq!(placed.status, "matched");
        assert_eq!(placed.making, 5_000_000);
        let fees = taker_fee(Side::Buy, 10_000_000, 500, ex.opts.fee_rate_ppm);
        assert_eq!(placed.taking, 10_000_000 - fees);
        let rec = &ex.orders[placed.order_id.as_str()];
        assert_eq!(
            (rec.matched, rec.status),
            (10_000_000, OrderStatus::Matched)
        );
        let snap = ex.ledger_snapshot(&taker.account());
        assert_eq!(snap.collateral, before - 5_000_000);
        assert_eq!(snap.collateral_reserved, 0, "the improvement is released");
        // A FOK BUY the book cannot absorb is killed without trading.
        let o = taker.order(UP, SignSide::Buy, "0.60", "20", OrderType::Fok, 0);
        assert_eq!(
            place(&mut ex, &mut ms, &taker.key, &o, NOW_MS),
            Err(Reject::FokKilled)
        );
    }

    #[test]
    fn failed_trade_reverts_size_matched_and_rests_the_maker_again() {
        let mut ex = exchange(0);
        let mut ms = vec![market()];
        let (mut maker, mut taker) = (User::new(5), User::new(6));
        let o = maker.order(UP, SignSide::Buy, "0.40", "10", OrderType::Gtc, 0);
        let bid = place(&mut ex, &mut ms, &maker.key, &o, NOW_MS).unwrap();
        ex.control.fail_next_trades(1);
        ex.ledger
            .account(&taker.account())
            .tokens
            .insert(UP.into(), 10_000_000);
        let o = taker.order(UP, SignSide::Sell, "0.40", "10", OrderType::Fak, 0);
        let sold = place(&mut ex, &mut ms, &taker.key, &o, NOW_MS).unwrap();
        assert_eq!(
            ex.orders[bid.order_id.as_str()].status,
            OrderStatus::Matched
        );
        let mined = ex.opts.mined_delay_ms;
        tick(&mut ex, &mut ms, NOW_MS + mined);
        assert_eq!(ex.trades[0].status, TradeStatus::Retrying);
        let done = mined + ex.opts.confirmed_delay_ms;
        tick(&mut ex, &mut ms, NOW_MS + done);
        assert_eq!(ex.trades[0].status, TradeStatus::Failed);
        let rec = &ex.orders[bid.order_id.as_str()];
        assert_eq!((rec.matched, rec.status), (0, OrderStatus::Live));
        assert_eq!(
            rec.reserved, 4_000_000,
            "the bid reserves its collateral again"
        );
        assert_eq!(ex.orders[sold.order_id.as_str()].matched, 0);
        assert_eq!(
            ms[0]
                .book
                .fillable(Token::Up, Side::Sell, 400, MakerFilter::All),
            10_000_000,
            "the bid rests again"
        );
        let snap = ex.ledger_snapshot(&maker.account());
        assert_eq!(
            (snap.collateral, snap.collateral_reserved),
            (100_000_000, 4_000_000)
        );
    }
}
