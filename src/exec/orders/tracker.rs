//! The order tracker: every order known by its digest (the CLOB order id) from the moment it is
//! signed, through the venue's answers, user-channel `order` / `trade` events and REST
//! reconciliation, to a terminal state; fills are provisional until their trade is CONFIRMED
//! and reverted when it FAILS; reservations of open orders feed available collateral and
//! sellable tokens.
//!
//! States: `Pending` (signed/sent, no answer) → `Live` / `Delayed` / `PartiallyFilled` /
//! `Matched` / `Canceled` / `Rejected`, or `Unknown` (outcome unknown, being reconciled: it
//! keeps its reservation and is never resent).
//!
//! Invariants: fixed capacity, allocated at construction (open-addressing index with
//! backward-shift deletion; trade table with eviction of the oldest terminal trade): nothing
//! allocates after construction; a full table is [`TrackerError::Full`], never a silent drop
//! of an open order (only terminal orders are evicted to make room); a trade id is applied at
//! most once per status step (REST replays after a reconnect are idempotent); amounts are
//! integer micro-units.
//!
//! Fills settle with [`super::settlement`] (the simulated venue's own arithmetic): each maker
//! leg at the maker's price, rounded down; a taker pays / receives the sum of what balances its
//! maker legs (complement for mint / merge legs); the taker fee from the market's parameters.
//!
//! Reservations: an open BUY holds its remaining notional at its limit (rounded up; the venue's
//! own hold for an order signed with the official limit amounts) plus a taker-fee headroom, an
//! open SELL its remaining shares. The venue itself holds only the makerAmount (protocol notes §3.1 "not enough
//! balance / allowance", §8: V2 fees are taken from what a taker receives, never added to what
//! it gives); the headroom is the engine's own margin, so that an order sized to the available
//! balance still leaves the fee a BUY would cost if the fee were ever charged in collateral (the
//! official SDK's `adjust_buy_amount_for_fees` sizes market BUYs that way). Reservations only
//! lower [`Tracker::available_collateral`] / sellable tokens; they never enter
//! [`Positions`], which mirror the venue's balances.

use super::positions::{
    notional_micros, taker_fee_micros, taker_fee_units, FeeParams, FillLeg, Positions, TokenKey,
};
use super::settlement::{maker_collateral, taker_collateral};
use crate::exec::events::{parse_side, OrderEvent, TradeEvent, TradeStatus, VenueOrderStatus};
use crate::exec::json::{parse_order_id, OrderId};
use crate::exec::rest::client::RestEvent;
use crate::exec::rest::responses::{OrderAck, OrderStatus};
use crate::exec::signing::amounts::Side;
use crate::exec::signing::order::TokenId;

/// Fill legs of ours kept per trade.
pub const MAX_TRADE_LEGS: usize = 8;

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderState {
    /// Signed (and possibly sent); no answer yet.
    Pending,
    /// Resting on the book.
    Live,
    /// Held by the venue's taker delay.
    Delayed,
    /// Some of it matched, the rest is live.
    PartiallyFilled,
    /// Fully matched (or an immediate order's matching is over).
    Matched,
    /// Canceled (by us, the venue, expiry, or an immediate order's kill).
    Canceled,
    /// Refused by the venue or never sent.
    Rejected,
    /// Outcome unknown; being reconciled. Keeps its reservation.
    Unknown,
}

impl OrderState {
    /// Still able to trade (holds a reservation).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            OrderState::Pending
                | OrderState::Live
                | OrderState::Delayed
                | OrderState::PartiallyFilled
                | OrderState::Unknown
        )
    }
}

/// One tracked order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    /// Digest = CLOB order id.
    pub id: OrderId,
    /// Token.
    pub token: TokenKey,
    /// Side.
    pub side: Side,
    /// Limit price, micro-units.
    pub price: u64,
    /// Original size, shares in micro-units.
    pub size: u64,
    /// Filled according to our trade events (provisional or confirmed; reverted on FAILED).
    pub trade_filled: u64,
    /// `size_matched` last reported by the venue (order events / REST rows).
    pub venue_matched: u64,
    /// FOK/FAK: whatever does not match at once is killed.
    pub immediate: bool,
    /// State.
    pub state: OrderState,
    /// Monotonic sequence of the last change (eviction order).
    pub updated_seq: u64,
}

impl OrderRecord {
    /// Matched so far (the larger of our trades and the venue's report).
    pub fn matched(&self) -> u64 {
        self.trade_filled.max(self.venue_matched)
    }
    /// Size still able to fill, for reservations: original minus our seen fills.
    pub fn remaining_for_reservation(&self) -> u64 {
        if self.state.is_open() {
            self.size.saturating_sub(self.trade_filled)
        } else {
            0
        }
    }
}

/// Errors of the tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    /// Every slot holds an open order.
    #[error("order tracker full: {0} open orders")]
    Full(usize),
    /// The token table is full.
    #[error("position table full")]
    PositionsFull,
    /// The id is already tracked.
    #[error("order already tracked")]
    Duplicate,
}

impl From<super::positions::PositionsError> for TrackerError {
    fn from(_: super::positions::PositionsError) -> Self {
        TrackerError::PositionsFull
    }
}

/// Tracker sizing and fee assumptions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerConfig {
    /// Orders tracked at once.
    pub order_capacity: usize,
    /// Trades remembered at once.
    pub trade_capacity: usize,
    /// Tokens with positions.
    pub token_capacity: usize,
    /// Taker fee rate in micro-units (0.072 → 72_000) used for BUY headroom, and for fills of
    /// tokens whose market fee parameters are not known ([`Tracker::set_market_fee`]; exponent 1).
    pub taker_fee_rate_micros: u64,
    /// Our API key (`owner` of our maker legs).
    pub api_key: String,
}

impl TrackerConfig {
    /// The tracker settings of `[exec]` for the API key `api_key`.
    pub fn from_exec(exec: &crate::config::schema::ExecConfig, api_key: &str) -> Self {
        let orders = exec.tracker_capacity as usize;
        Self {
            order_capacity: orders,
            trade_capacity: orders,
            token_capacity: 256,
            taker_fee_rate_micros: u64::from(exec.taker_fee_bps) * 100,
            api_key: api_key.to_owned(),
        }
    }
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackerCounters {
    /// Orders adopted from events / REST rows we had not signed here.
    pub adopted: u64,
    /// Terminal orders evicted to make room.
    pub evicted: u64,
    /// Events for ids we could not parse.
    pub bad_ids: u64,
    /// Trade events with no leg of ours.
    pub foreign_trades: u64,
    /// Trade events ignored as replays of a status already applied.
    pub trade_replays: u64,
    /// Fills reverted by FAILED.
    pub fills_reverted: u64,
}

#[derive(Clone, Copy, Debug)]
struct TradeRecord {
    key: (u64, u64),
    status: TradeStatus,
    provisional: bool,
    terminal: bool,
    legs: [FillLeg; MAX_TRADE_LEGS],
    leg_orders: [Option<OrderId>; MAX_TRADE_LEGS],
    n: usize,
    seq: u64,
}

const EMPTY: u32 = u32::MAX;

/// The tracker. See the module docs.
pub struct Tracker {
    orders: Box<[Option<OrderRecord>]>,
    free: Vec<u32>,
    index: Box<[u32]>,
    trades: Box<[Option<TradeRecord>]>,
    positions: Positions,
    /// Per-token fee parameters (`/clob-markets` `fd`), allocated at construction.
    market_fees: Vec<(TokenKey, FeeParams)>,
    /// Remaining notional of open BUYs (at their limits, rounded up).
    reserved_notional: u64,
    /// Taker-fee headroom of open BUYs (the engine's own margin, see the module docs).
    fee_headroom: u64,
    open_orders: usize,
    seq: u64,
    config: TrackerConfig,
    counters: TrackerCounters,
}

fn hash_id(id: &OrderId) -> usize {
    let mut b = [0u8; 8];
    b.copy_from_slice(&id[..8]);
    u64::from_le_bytes(b) as usize
}

fn hash_text(text: &str) -> (u64, u64) {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for &c in text.as_bytes() {
        a = (a ^ u64::from(c)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(c))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(17);
    }
    (a, b)
}

fn token_key(text: &str) -> Option<TokenKey> {
    TokenId::parse(text).ok().map(|t| *t.word())
}

impl Tracker {
    /// Allocate every table.
    pub fn new(config: TrackerConfig) -> Tracker {
        let cap = config.order_capacity.max(1);
        let index_len = (cap * 2).next_power_of_two();
        Tracker {
            orders: vec![None; cap].into_boxed_slice(),
            free: (0..cap as u32).rev().collect(),
            index: vec![EMPTY; index_len].into_boxed_slice(),
            trades: vec![None; config.trade_capacity.max(1)].into_boxed_slice(),
            positions: Positions::new(config.token_capacity),
            market_fees: Vec::with_capacity(config.token_capacity.max(1)),
            reserved_notional: 0,
            fee_headroom: 0,
            open_orders: 0,
            seq: 0,
            config,
            counters: TrackerCounters::default(),
        }
    }

    /// Use `fee` (the market's `/clob-markets` `fd` rate and exponent) for taker fills of
    /// `token` from now on. [`TrackerError::PositionsFull`] when the table (token capacity) is
    /// full.
    pub fn set_market_fee(&mut self, token: &TokenKey, fee: FeeParams) -> Result<(), TrackerError> {
        if let Some(entry) = self.market_fees.iter_mut().find(|(t, _)| t == token) {
            entry.1 = fee;
            return Ok(());
        }
        if self.market_fees.len() >= self.market_fees.capacity() {
            return Err(TrackerError::PositionsFull);
        }
        self.market_fees.push((*token, fee));
        Ok(())
    }

    /// The fee parameters used for taker fills of `token`: the market's when known, else the
    /// configured rate with exponent 1.
    pub fn fee_params(&self, token: &TokenKey) -> FeeParams {
        self.market_fees
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, f)| *f)
            .unwrap_or(FeeParams {
                rate_micros: self.config.taker_fee_rate_micros,
                exponent: 1,
            })
    }

    /// Counters.
    pub fn counters(&self) -> &TrackerCounters {
        &self.counters
    }

    /// Positions (settled + provisional).
    pub fn positions(&self) -> &Positions {
        &self.positions
    }

    /// Set settled collateral (from `/balance-allowance`).
    pub fn set_collateral(&mut self, micros: i64) {
        self.positions.set_collateral(micros);
    }

    /// A market resolved and the venue redeemed its tokens: `winner` pays 1 collateral unit
    /// per token held, `loser` nothing; both balances leave. (The simulator redeems at
    /// resolution; on the real venue redemption is an on-chain transaction of the wallet.)
    /// Returns the winning tokens redeemed.
    pub fn on_redeemed(&mut self, winner: &TokenKey, loser: &TokenKey) -> i64 {
        self.positions.redeem(loser, false);
        self.positions.redeem(winner, true)
    }

    /// Set a token's settled balance.
    pub fn set_token_balance(&mut self, token: &TokenKey, micros: i64) -> Result<(), TrackerError> {
        Ok(self.positions.set_token_balance(token, micros)?)
    }

    /// Collateral reserved by open BUY orders (notional + taker fee headroom).
    pub fn reserved_collateral(&self) -> u64 {
        self.reserved_notional.saturating_add(self.fee_headroom)
    }

    /// The taker-fee headroom part of [`reserved_collateral`](Self::reserved_collateral): held
    /// by the engine only (the venue holds the makerAmount; see the module docs).
    pub fn fee_headroom(&self) -> u64 {
        self.fee_headroom
    }

    /// Collateral free for new BUYs: settled − provisional BUY spend − open BUY reservations
    /// (notional and fee headroom). Never more than the venue's free balance; the reservations
    /// are not part of [`positions`](Self::positions).
    pub fn available_collateral(&self) -> i64 {
        self.positions.collateral_confirmed()
            - i64::try_from(self.positions.collateral_provisional_spent()).unwrap_or(i64::MAX)
            - i64::try_from(self.reserved_collateral()).unwrap_or(i64::MAX)
    }

    /// Open orders.
    pub fn open_orders(&self) -> usize {
        self.open_orders
    }

    /// Look an order up.
    pub fn get(&self, id: &OrderId) -> Option<&OrderRecord> {
        let slot = self.find(id)?;
        self.orders[slot].as_ref()
    }

    /// Every tracked order.
    pub fn iter(&self) -> impl Iterator<Item = &OrderRecord> {
        self.orders.iter().flatten()
    }

    fn find(&self, id: &OrderId) -> Option<usize> {
        let mask = self.index.len() - 1;
        let mut i = hash_id(id) & mask;
        loop {
            let s = self.index[i];
            if s == EMPTY {
                return None;
            }
            if self.orders[s as usize]
                .as_ref()
                .is_some_and(|r| &r.id == id)
            {
                return Some(s as usize);
            }
            i = (i + 1) & mask;
        }
    }

    fn index_insert(&mut self, id: &OrderId, slot: u32) {
        let mask = self.index.len() - 1;
        let mut i = hash_id(id) & mask;
        while self.index[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.index[i] = slot;
    }

    /// Backward-shift deletion of `slot` from the index.
    fn index_remove(&mut self, id: &OrderId, slot: u32) {
        let mask = self.index.len() - 1;
        let mut i = hash_id(id) & mask;
        while self.index[i] != slot {
            if self.index[i] == EMPTY {
                return;
            }
            i = (i + 1) & mask;
        }
        let mut hole = i;
        let mut j = (i + 1) & mask;
        loop {
            let s = self.index[j];
            if s == EMPTY {
                break;
            }
            let home = self.orders[s as usize]
                .as_ref()
                .map(|r| hash_id(&r.id) & mask)
                .unwrap_or(j);
            // Move `s` into the hole when its home is not in (hole, j] cyclically.
            let between = if hole <= j {
                home > hole && home <= j
            } else {
                home > hole || home <= j
            };
            if !between {
                self.index[hole] = s;
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.index[hole] = EMPTY;
    }

    fn evict_one_terminal(&mut self) -> bool {
        let victim = self
            .orders
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                r.as_ref()
                    .filter(|r| !r.state.is_open())
                    .map(|r| (i, r.updated_seq))
            })
            .min_by_key(|&(_, seq)| seq)
            .map(|(i, _)| i);
        let Some(i) = victim else {
            return false;
        };
        if let Some(rec) = self.orders[i] {
            self.index_remove(&rec.id, i as u32);
            self.orders[i] = None;
            self.free.push(i as u32);
            self.counters.evicted += 1;
        }
        true
    }

    /// (BUY notional, BUY fee headroom, SELL shares) an order holds. The headroom uses the
    /// configured rate (not per-market parameters) so an order's reservation cannot change
    /// between two updates of the same record.
    fn reservation(&self, rec: &OrderRecord) -> (u64, u64, u64) {
        let remaining = rec.remaining_for_reservation();
        match rec.side {
            Side::Buy => (
                notional_micros(remaining, rec.price),
                taker_fee_micros(remaining, rec.price, self.config.taker_fee_rate_micros),
                0,
            ),
            Side::Sell => (0, 0, remaining),
        }
    }

    /// Apply `f` to the record in `slot`, keeping reservations and counts consistent.
    fn update(&mut self, slot: usize, f: impl FnOnce(&mut OrderRecord)) {
        let Some(before) = self.orders[slot] else {
            return;
        };
        let (c0, h0, t0) = self.reservation(&before);
        let mut after = before;
        f(&mut after);
        self.seq += 1;
        after.updated_seq = self.seq;
        let (c1, h1, t1) = self.reservation(&after);
        self.reserved_notional = (self.reserved_notional + c1).saturating_sub(c0);
        self.fee_headroom = (self.fee_headroom + h1).saturating_sub(h0);
        if t1 != t0 {
            let delta =
                i64::try_from(t1).unwrap_or(i64::MAX) - i64::try_from(t0).unwrap_or(i64::MAX);
            let _ = self.positions.adjust_sell_reservation(&after.token, delta);
        }
        match (before.state.is_open(), after.state.is_open()) {
            (true, false) => self.open_orders -= 1,
            (false, true) => self.open_orders += 1,
            _ => {}
        }
        self.orders[slot] = Some(after);
    }

    /// Track a freshly signed order (state `Pending`). Terminal orders are evicted oldest
    /// first when the table is full; [`TrackerError::Full`] when every slot is open.
    #[allow(clippy::too_many_arguments)]
    pub fn on_signed(
        &mut self,
        id: OrderId,
        token: TokenKey,
        side: Side,
        price: u64,
        size: u64,
        immediate: bool,
    ) -> Result<(), TrackerError> {
        self.insert(OrderRecord {
            id,
            token,
            side,
            price,
            size,
            trade_filled: 0,
            venue_matched: 0,
            immediate,
            state: OrderState::Pending,
            updated_seq: 0,
        })
        .map(|_| ())
    }

    fn insert(&mut self, mut rec: OrderRecord) -> Result<usize, TrackerError> {
        if self.find(&rec.id).is_some() {
            return Err(TrackerError::Duplicate);
        }
        if self.free.is_empty() && !self.evict_one_terminal() {
            return Err(TrackerError::Full(self.open_orders));
        }
        let Some(slot) = self.free.pop() else {
            return Err(TrackerError::Full(self.open_orders));
        };
        // Start from a reservation-free state, then let `update` account for it.
        let target_state = rec.state;
        rec.state = OrderState::Canceled;
        self.orders[slot as usize] = Some(rec);
        self.index_insert(&rec.id, slot);
        let token = rec.token;
        if rec.side == Side::Sell {
            self.positions.adjust_sell_reservation(&token, 0)?;
        }
        self.update(slot as usize, |r| r.state = target_state);
        Ok(slot as usize)
    }

    /// The venue answered a submit.
    pub fn on_ack(&mut self, id: &OrderId, ack: &OrderAck) {
        let Some(slot) = self.find(id) else {
            return;
        };
        let accepted = ack.accepted();
        self.update(slot, |r| {
            if !accepted {
                r.state = OrderState::Rejected;
                return;
            }
            r.state = match ack.status {
                OrderStatus::Delayed => OrderState::Delayed,
                OrderStatus::Matched if r.immediate => OrderState::Matched,
                OrderStatus::Matched if r.matched() >= r.size => OrderState::Matched,
                OrderStatus::Matched => OrderState::PartiallyFilled,
                OrderStatus::Live if r.matched() > 0 => OrderState::PartiallyFilled,
                _ => OrderState::Live,
            };
        });
    }

    /// The submit was definitely not placed.
    pub fn on_failed(&mut self, id: &OrderId) {
        if let Some(slot) = self.find(id) {
            self.update(slot, |r| r.state = OrderState::Rejected);
        }
    }

    /// The submit's outcome is unknown (reconciliation pending).
    pub fn on_unknown(&mut self, id: &OrderId) {
        if let Some(slot) = self.find(id) {
            self.update(slot, |r| {
                if matches!(r.state, OrderState::Pending) {
                    r.state = OrderState::Unknown;
                }
            });
        }
    }

    /// Reconciliation answered: `None` = the venue does not know the order (never placed).
    pub fn on_reconciled(&mut self, id: &OrderId, row: Option<&OrderEvent<'_>>) {
        match row {
            Some(row) => self.on_order_event(row),
            None => {
                if let Some(slot) = self.find(id) {
                    self.update(slot, |r| {
                        if matches!(r.state, OrderState::Unknown | OrderState::Pending) {
                            r.state = OrderState::Rejected;
                        }
                    });
                }
            }
        }
    }

    /// A cancel of ours succeeded.
    pub fn on_canceled(&mut self, id: &OrderId) {
        if let Some(slot) = self.find(id) {
            self.update(slot, |r| {
                if r.state.is_open() {
                    r.state = OrderState::Canceled;
                }
            });
        }
    }

    /// Apply one [`RestEvent`] of the order client (acks, failures, unknown outcomes,
    /// reconciliations, cancels); query answers are ignored.
    pub fn on_rest_event(&mut self, ev: &RestEvent<'_>) {
        match ev {
            RestEvent::OrderAck { order_id, ack } => self.on_ack(order_id, ack),
            RestEvent::OrderFailed { order_id, .. } => self.on_failed(order_id),
            RestEvent::OrderUnknown { order_id, .. } => self.on_unknown(order_id),
            RestEvent::Reconciled { order_id, row } => self.on_reconciled(order_id, row.as_ref()),
            RestEvent::Canceled { order_id } => self.on_canceled(order_id),
            RestEvent::ReconcileFailed { .. }
            | RestEvent::NotCanceled { .. }
            | RestEvent::CancelFailed { .. }
            | RestEvent::Response { .. }
            | RestEvent::QueryFailed { .. } => {}
        }
    }

    /// A user-channel `order` event or a REST order row. Unknown ids are adopted (orders
    /// placed before a restart).
    pub fn on_order_event(&mut self, ev: &OrderEvent<'_>) {
        let Some(id) = parse_order_id(&ev.id) else {
            self.counters.bad_ids += 1;
            return;
        };
        let slot = match self.find(&id) {
            Some(s) => s,
            None => {
                let (Some(token), Some(side)) = (token_key(&ev.asset_id), parse_side(&ev.side))
                else {
                    self.counters.bad_ids += 1;
                    return;
                };
                let immediate = ev.order_type.eq_ignore_ascii_case("fok")
                    || ev.order_type.eq_ignore_ascii_case("fak");
                match self.insert(OrderRecord {
                    id,
                    token,
                    side,
                    price: ev.price.0,
                    size: ev.original_size.0,
                    trade_filled: 0,
                    venue_matched: 0,
                    immediate,
                    state: OrderState::Pending,
                    updated_seq: 0,
                }) {
                    Ok(s) => {
                        self.counters.adopted += 1;
                        s
                    }
                    Err(_) => return,
                }
            }
        };
        let status = ev.venue_status();
        let kind = ev.event_type();
        let matched = ev.size_matched.0;
        self.update(slot, |r| {
            if ev.original_size.0 > 0 {
                r.size = ev.original_size.0;
            }
            r.venue_matched = r.venue_matched.max(matched);
            let cancelled = kind == crate::exec::events::OrderEventType::Cancellation
                || matches!(
                    status,
                    VenueOrderStatus::Canceled | VenueOrderStatus::Invalid
                );
            r.state = if cancelled {
                if status == VenueOrderStatus::Invalid {
                    OrderState::Rejected
                } else {
                    OrderState::Canceled
                }
            } else if status == VenueOrderStatus::Matched || r.matched() >= r.size {
                OrderState::Matched
            } else if status == VenueOrderStatus::Delayed {
                OrderState::Delayed
            } else if status == VenueOrderStatus::Unmatched && r.immediate {
                OrderState::Canceled
            } else if r.matched() > 0 {
                OrderState::PartiallyFilled
            } else if r.state.is_open() || status == VenueOrderStatus::Live {
                OrderState::Live
            } else {
                r.state
            };
        });
    }

    /// Our legs of a trade: the taker leg (we are `TAKER`, or the taker order is tracked) and
    /// our maker legs (owner = our key, or a tracked order id); both when we traded with
    /// ourselves. Collateral per [`super::settlement`]: a maker leg at its own price, the taker
    /// leg as the sum over every maker leg of the trade (the part of the size no maker leg
    /// accounts for, e.g. a REST row without `maker_orders`, as a same-token leg at the trade
    /// price).
    fn legs_of(
        &self,
        ev: &TradeEvent<'_>,
    ) -> (
        [FillLeg; MAX_TRADE_LEGS],
        [Option<OrderId>; MAX_TRADE_LEGS],
        usize,
    ) {
        let mut legs = [FillLeg::default(); MAX_TRADE_LEGS];
        let mut orders = [None; MAX_TRADE_LEGS];
        let mut n = 0;
        let taker_id = parse_order_id(&ev.taker_order_id);
        let we_take = ev.trader_side.eq_ignore_ascii_case("taker")
            || taker_id.is_some_and(|id| self.find(&id).is_some());
        if we_take {
            if let Some(token) = token_key(&ev.asset_id) {
                let side = parse_side(&ev.side);
                let fee = side.map_or(0, |side| {
                    taker_fee_units(side, ev.size.0, ev.price.0, self.fee_params(&token))
                });
                let mut covered = 0u64;
                let mut collateral = 0u64;
                for m in ev.maker_orders.as_slice() {
                    let same_token = m.asset_id.is_empty() || m.asset_id == ev.asset_id;
                    covered = covered.saturating_add(m.matched_amount.0);
                    collateral = collateral.saturating_add(taker_collateral(
                        m.matched_amount.0,
                        m.price.0,
                        same_token,
                    ));
                }
                let uncovered = ev.size.0.saturating_sub(covered);
                collateral = collateral.saturating_add(maker_collateral(uncovered, ev.price.0));
                legs[0] = FillLeg {
                    token,
                    side,
                    size: ev.size.0,
                    price: ev.price.0,
                    fee,
                    collateral,
                };
                orders[0] = taker_id;
                n = 1;
            }
        }
        for m in ev.maker_orders.as_slice() {
            let id = parse_order_id(&m.order_id);
            let ours = (!self.config.api_key.is_empty() && m.owner == self.config.api_key)
                || id.is_some_and(|id| self.find(&id).is_some());
            if !ours || n >= MAX_TRADE_LEGS {
                continue;
            }
            let asset = if m.asset_id.is_empty() {
                &ev.asset_id
            } else {
                &m.asset_id
            };
            let Some(token) = token_key(asset) else {
                continue;
            };
            legs[n] = FillLeg {
                token,
                side: parse_side(&m.side),
                size: m.matched_amount.0,
                price: m.price.0,
                fee: 0,
                collateral: maker_collateral(m.matched_amount.0, m.price.0),
            };
            orders[n] = id;
            n += 1;
        }
        (legs, orders, n)
    }

    fn credit_orders(&mut self, orders: &[Option<OrderId>], legs: &[FillLeg], add: bool) {
        for (id, leg) in orders.iter().zip(legs) {
            let Some(slot) = id.and_then(|id| self.find(&id)) else {
                continue;
            };
            self.update(slot, |r| {
                if add {
                    r.trade_filled = r.trade_filled.saturating_add(leg.size);
                    if r.state.is_open() {
                        // An immediate order matches once (after its taker delay, if held):
                        // a trade of it means its matching is over and the rest was killed,
                        // even when the venue sends no order update for it.
                        r.state = if r.matched() >= r.size || r.immediate {
                            OrderState::Matched
                        } else {
                            OrderState::PartiallyFilled
                        };
                    }
                } else {
                    r.trade_filled = r.trade_filled.saturating_sub(leg.size);
                    // The venue takes the leg back out of `size_matched` too; an order event
                    // that already counted it must not keep the order looking filled.
                    r.venue_matched = r.venue_matched.saturating_sub(leg.size);
                    let reopen = (r.state == OrderState::Matched && !r.immediate)
                        || r.state == OrderState::PartiallyFilled;
                    if reopen && r.matched() < r.size {
                        r.state = if r.matched() > 0 {
                            OrderState::PartiallyFilled
                        } else {
                            OrderState::Live
                        };
                    }
                }
            });
        }
    }

    fn trade_slot(&mut self, key: (u64, u64)) -> Option<usize> {
        if let Some(i) = self
            .trades
            .iter()
            .position(|t| t.as_ref().is_some_and(|t| t.key == key))
        {
            return Some(i);
        }
        if let Some(i) = self.trades.iter().position(Option::is_none) {
            return Some(i);
        }
        let victim = self
            .trades
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().filter(|t| t.terminal).map(|t| (i, t.seq)))
            .min_by_key(|&(_, s)| s)
            .map(|(i, _)| i)?;
        self.trades[victim] = None;
        Some(victim)
    }

    /// A user-channel `trade` event or a REST trade row.
    pub fn on_trade_event(&mut self, ev: &TradeEvent<'_>) -> Result<(), TrackerError> {
        let status = ev.trade_status();
        let key = hash_text(&ev.id);
        let slot = self
            .trade_slot(key)
            .ok_or(TrackerError::Full(self.trades.len()))?;
        self.seq += 1;
        let seq = self.seq;
        let Some(mut rec) = self.trades[slot] else {
            let (legs, orders, n) = self.legs_of(ev);
            if n == 0 {
                self.counters.foreign_trades += 1;
                return Ok(());
            }
            let mut rec = TradeRecord {
                key,
                status,
                provisional: false,
                terminal: false,
                legs,
                leg_orders: orders,
                n,
                seq,
            };
            match status {
                TradeStatus::Failed => {
                    rec.terminal = true;
                }
                TradeStatus::Confirmed => {
                    for leg in &legs[..n] {
                        self.positions.confirm(leg)?;
                    }
                    self.credit_orders(&orders[..n], &legs[..n], true);
                    rec.terminal = true;
                }
                _ => {
                    for leg in &legs[..n] {
                        self.positions.add_provisional(leg)?;
                    }
                    self.credit_orders(&orders[..n], &legs[..n], true);
                    rec.provisional = true;
                }
            }
            self.trades[slot] = Some(rec);
            return Ok(());
        };
        if rec.terminal || rec.status == status {
            self.counters.trade_replays += 1;
            return Ok(());
        }
        let n = rec.n;
        match status {
            TradeStatus::Confirmed => {
                for leg in &rec.legs[..n] {
                    if rec.provisional {
                        self.positions.remove_provisional(leg);
                    }
                    self.positions.confirm(leg)?;
                }
                rec.provisional = false;
                rec.terminal = true;
            }
            TradeStatus::Failed => {
                for leg in &rec.legs[..n] {
                    if rec.provisional {
                        self.positions.remove_provisional(leg);
                    }
                }
                if rec.provisional {
                    self.counters.fills_reverted += 1;
                    let (orders, legs) = (rec.leg_orders, rec.legs);
                    self.credit_orders(&orders[..n], &legs[..n], false);
                }
                rec.provisional = false;
                rec.terminal = true;
            }
            _ => {}
        }
        rec.status = status;
        rec.seq = seq;
        self.trades[slot] = Some(rec);
        Ok(())
    }
}
