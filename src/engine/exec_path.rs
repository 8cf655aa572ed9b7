//! Intent → signed order on the hot thread: per market slot one [`OrderTemplate`] per token
//! (built when discovery assigns the slot: token id, neg-risk exchange, tick), integer amounts
//! from the intent's price and size on the market's tick, a salt from a counter, and a
//! signature with a pooled nonce (the risk thread refills the pool). Each signed order is
//! attributed to its strategy, reason and market in a fixed table so that acks, fills and
//! cancels coming back can be counted per strategy.
//!
//! Invariants: after construction nothing here allocates (templates are replaced in place,
//! the attribution table is a fixed array, bodies go into a caller's pre-sized buffer); a
//! price off the tick, outside (0, 1) or a size under the tick's lot gives a typed
//! [`BuildError`], never a panic.

use crate::book::{MarketIdx, Outcome};
use crate::discovery::MarketRecord;
use crate::exec::json::OrderId;
use crate::exec::signing::address::Address;
use crate::exec::signing::amounts::{limit_order_amounts, AmountError, Side, TickSize};
use crate::exec::signing::body::PostOptions;
use crate::exec::signing::eip712::{Exchange, OrderVariables, CHAIN_ID};
use crate::exec::signing::nonce_pool::{NonceConsumer, SignPath};
use crate::exec::signing::order::{OrderTemplate, SignatureType, SignedOrder, TokenId};
use crate::exec::signing::signer::EoaSigner;
use crate::exec::signing::SigningError;
use crate::strategy::intent::{OrderIntent, Reason, StrategyId, TimeInForce};

/// Why an intent could not become a signed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("market slot {0} has no order templates")]
    UnknownMarket(u16),
    #[error("amounts: {0}")]
    Amounts(#[from] AmountError),
    #[error("signing: {0}")]
    Signing(#[from] SigningError),
    #[error("negative price or size")]
    Negative,
    #[error("unsupported tick {0} micro-units")]
    Tick(u32),
}

/// Size of the warming order ([`OrderFactory::warm_order`]), micro-shares: a typical lot.
pub const WARM_ORDER_SIZE_MICRO: u64 = 10_000_000;

/// Who made an order (for per-strategy accounting of what comes back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution {
    pub order_id: OrderId,
    pub strategy: StrategyId,
    pub reason: Reason,
    pub market: MarketIdx,
    pub outcome: Outcome,
    /// When it was handed to the outlet (mono ns; 0 = not sent).
    pub sent_ns: u64,
}

impl Attribution {
    /// The row of `order_id`, made for `intent` and not sent yet.
    pub fn of_intent(order_id: OrderId, intent: &OrderIntent) -> Self {
        Attribution {
            order_id,
            strategy: intent.strategy,
            reason: intent.reason,
            market: intent.market,
            outcome: intent.outcome,
            sent_ns: 0,
        }
    }
}

/// A fixed ring of the most recent orders' attributions: the oldest row of an order that has
/// ended is overwritten first (a late trade status of an ended order may still need its row);
/// the row of an order still open is kept, so its fills and its close always reach the
/// decider. Only when every row belongs to an open order is the oldest overwritten, and counted.
pub struct AttributionTable {
    rows: Vec<Option<Attribution>>,
    next: usize,
    /// Rows of still-open orders overwritten because every row was open (the table is too
    /// small for the open orders: their fills and closes no longer reach the decider).
    pub evicted_open: u64,
}

impl AttributionTable {
    /// Room for `capacity` orders (at least 1).
    pub fn new(capacity: usize) -> AttributionTable {
        AttributionTable {
            rows: vec![None; capacity.max(1)],
            next: 0,
            evicted_open: 0,
        }
    }

    /// Remember an order's owner, in the oldest row whose order `is_open` says has ended (or an
    /// empty one). O(1) unless open orders hold the rows in turn.
    pub fn insert(&mut self, row: Attribution, is_open: impl Fn(&OrderId) -> bool) {
        let n = self.rows.len();
        let free = (0..n).map(|k| (self.next + k) % n).find(|&at| {
            self.rows
                .get(at)
                .is_some_and(|r| r.as_ref().is_none_or(|r| !is_open(&r.order_id)))
        });
        let at = free.unwrap_or_else(|| {
            self.evicted_open += 1;
            self.next % n
        });
        if let Some(slot) = self.rows.get_mut(at) {
            *slot = Some(row);
        }
        self.next = (at + 1) % n;
    }

    /// The owner of `order_id`, if still remembered.
    pub fn get(&self, order_id: &OrderId) -> Option<&Attribution> {
        self.rows.iter().flatten().find(|r| &r.order_id == order_id)
    }

    /// Mutable access to the row of `order_id`.
    pub fn get_mut(&mut self, order_id: &OrderId) -> Option<&mut Attribution> {
        self.rows
            .iter_mut()
            .flatten()
            .find(|r| &r.order_id == order_id)
    }

    /// Every remembered order of `strategy` in `market` (optionally one outcome).
    pub fn of(
        &self,
        strategy: StrategyId,
        market: MarketIdx,
        outcome: Option<Outcome>,
    ) -> impl Iterator<Item = &Attribution> {
        self.rows.iter().flatten().filter(move |r| {
            r.strategy == strategy && r.market == market && outcome.is_none_or(|o| o == r.outcome)
        })
    }
}

/// The per-slot constants of one market's two tokens.
struct SlotTemplates {
    up: OrderTemplate,
    down: OrderTemplate,
    tick: TickSize,
}

/// One intent turned into a signed order.
pub struct BuiltOrder<'a> {
    pub template: &'a OrderTemplate,
    pub order: SignedOrder,
    pub path: SignPath,
    /// The tracker's token key (the token id word).
    pub token: [u8; 32],
}

/// Turns intents into signed orders (see the module docs).
pub struct OrderFactory {
    signer: EoaSigner,
    funder: Option<Address>,
    signature_type: SignatureType,
    nonces: NonceConsumer,
    slots: Vec<Option<SlotTemplates>>,
    salt: u64,
    /// Orders signed with a pooled nonce / with the deterministic fallback (empty pool).
    pub signed_pooled: u64,
    pub signed_fallback: u64,
}

impl OrderFactory {
    /// A factory for `capacity` market slots signing with `signer` (funds at `funder` for
    /// proxy / safe wallets) and nonces from `nonces`. `salt_seed` starts the salt counter
    /// (kept under 2^53 so JSON numbers stay exact).
    pub fn new(
        signer: EoaSigner,
        funder: Option<Address>,
        signature_type: SignatureType,
        nonces: NonceConsumer,
        capacity: usize,
        salt_seed: u64,
    ) -> OrderFactory {
        OrderFactory {
            signer,
            funder,
            signature_type,
            nonces,
            slots: (0..capacity).map(|_| None).collect(),
            salt: salt_seed & ((1 << 52) - 1),
            signed_pooled: 0,
            signed_fallback: 0,
        }
    }

    /// The signing address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Nonces left in the pool.
    pub fn nonces_available(&self) -> usize {
        self.nonces.available()
    }

    /// Build the two templates of book slot `market` from discovery's record (the book
    /// slot, not discovery's index: intents name book slots).
    pub fn assign(&mut self, market: MarketIdx, record: &MarketRecord) -> Result<(), BuildError> {
        let i = usize::from(market.0);
        let tick = TickSize::from_micros(u64::from(record.tick_micros))
            .map_err(|_| BuildError::Tick(record.tick_micros))?;
        let exchange = Exchange::for_market(record.neg_risk);
        let template = |word: &[u8; 32]| -> Result<OrderTemplate, BuildError> {
            let token = token_id_from_word(word)?;
            Ok(OrderTemplate::new(
                exchange,
                CHAIN_ID,
                self.signer.address(),
                self.funder,
                self.signature_type,
                token,
                [0; 32],
                [0; 32],
            )?)
        };
        let built = SlotTemplates {
            up: template(&record.up_token)?,
            down: template(&record.down_token)?,
            tick,
        };
        match self.slots.get_mut(i) {
            Some(slot) => {
                *slot = Some(built);
                Ok(())
            }
            None => Err(BuildError::UnknownMarket(market.0)),
        }
    }

    /// Forget a retired slot.
    pub fn release(&mut self, market: MarketIdx) {
        if let Some(slot) = self.slots.get_mut(usize::from(market.0)) {
            *slot = None;
        }
    }

    /// The template of one token of a slot.
    pub fn template(&self, market: MarketIdx, outcome: Outcome) -> Option<&OrderTemplate> {
        self.slots
            .get(usize::from(market.0))
            .and_then(|s| s.as_ref())
            .map(|s| match outcome {
                Outcome::Up => &s.up,
                Outcome::Down => &s.down,
            })
    }

    /// Sign `intent` at `now_ms` (the order's timestamp).
    #[inline]
    /// A hashed but unsigned order for warming the order path between real orders
    /// ([`OrderTemplate::hashed_unsigned`]: amounts and both hashes computed as for a real
    /// order, a signature that recovers to no key of ours): the first assigned market's Up
    /// token, buying [`WARM_ORDER_SIZE_MICRO`] at 0.50. Leaves the salt counter and the nonce
    /// pool alone; `None` while no market is assigned.
    pub fn warm_order(&self, now_ms: u64) -> Option<(&OrderTemplate, SignedOrder)> {
        let slot = self.slots.iter().flatten().next()?;
        let amounts =
            limit_order_amounts(Side::Buy, 500_000, WARM_ORDER_SIZE_MICRO, slot.tick).ok()?;
        let vars = OrderVariables {
            salt: self.salt,
            maker_amount: amounts.maker,
            taker_amount: amounts.taker,
            side: Side::Buy.as_u8(),
            timestamp_ms: now_ms,
        };
        Some((&slot.up, slot.up.hashed_unsigned(vars, 0)))
    }

    pub fn build(
        &mut self,
        intent: &OrderIntent,
        now_ms: u64,
    ) -> Result<BuiltOrder<'_>, BuildError> {
        let price = u64::try_from(intent.price_micro).map_err(|_| BuildError::Negative)?;
        let size = u64::try_from(intent.size_micro).map_err(|_| BuildError::Negative)?;
        let slot = self
            .slots
            .get(usize::from(intent.market.0))
            .and_then(|s| s.as_ref())
            .ok_or(BuildError::UnknownMarket(intent.market.0))?;
        let amounts = limit_order_amounts(intent.side, price, size, slot.tick)?;
        self.salt = (self.salt + 1) & ((1 << 52) - 1);
        let vars = OrderVariables {
            salt: self.salt,
            maker_amount: amounts.maker,
            taker_amount: amounts.taker,
            side: intent.side.as_u8(),
            timestamp_ms: now_ms,
        };
        let expiration = match intent.tif {
            TimeInForce::Gtd { expiration_s } => expiration_s,
            _ => 0,
        };
        let template = match intent.outcome {
            Outcome::Up => &slot.up,
            Outcome::Down => &slot.down,
        };
        let (order, path) =
            template.sign_pooled(&self.signer, &mut self.nonces, vars, expiration)?;
        match path {
            SignPath::Pooled => self.signed_pooled += 1,
            _ => self.signed_fallback += 1,
        }
        Ok(BuiltOrder {
            template,
            order,
            path,
            token: *template.token_id().word(),
        })
    }
}

/// The body options of an intent's order.
pub fn post_options<'a>(intent: &OrderIntent, owner: &'a str) -> PostOptions<'a> {
    PostOptions {
        owner,
        order_type: intent.tif.order_type(),
        post_only: intent.post_only,
        defer_exec: false,
    }
}

/// FAK / FOK orders never rest.
pub fn is_immediate(intent: &OrderIntent) -> bool {
    matches!(intent.tif, TimeInForce::Fak | TimeInForce::Fok)
}

/// A token id from its 256-bit big-endian word (decimal text rendered on the stack).
pub fn token_id_from_word(word: &[u8; 32]) -> Result<TokenId, SigningError> {
    // 2^256 has 78 decimal digits.
    let mut digits = [0u8; 80];
    let mut n = *word;
    let mut len = 0;
    loop {
        // Divide the big-endian number by 10, collecting the remainder.
        let mut rem: u32 = 0;
        let mut all_zero = true;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
            if *b != 0 {
                all_zero = false;
            }
        }
        if let Some(d) = digits.get_mut(len) {
            *d = b'0' + rem as u8;
        }
        len += 1;
        if all_zero || len >= digits.len() {
            break;
        }
    }
    let text = digits.get_mut(..len).unwrap_or(&mut []);
    text.reverse();
    TokenId::parse(std::str::from_utf8(text).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_word_round_trips_through_decimal_text() {
        for s in [
            "0",
            "1",
            "255",
            "256",
            "71321045679252212594626385532706912750332728571942532289631379312455583992563",
            "115792089237316195423570985008687907853269984665640564039457584007913129639935",
        ] {
            let t = TokenId::parse(s).unwrap();
            let back = token_id_from_word(t.word()).unwrap();
            assert_eq!(back.text(), t.text(), "{s}");
            assert_eq!(back.word(), t.word());
        }
    }

    #[test]
    fn attribution_ring_forgets_oldest_first() {
        let mut t = AttributionTable::new(2);
        let row = |b: u8, s| Attribution {
            order_id: [b; 32],
            strategy: s,
            reason: Reason::ArbOpen,
            market: MarketIdx(3),
            outcome: Outcome::Up,
            sent_ns: 0,
        };
        let ended = |_: &OrderId| false;
        t.insert(row(1, StrategyId::Arb), ended);
        t.insert(row(2, StrategyId::Lag), ended);
        assert_eq!(t.get(&[1; 32]).map(|r| r.strategy), Some(StrategyId::Arb));
        t.insert(row(3, StrategyId::Arb), ended);
        assert!(t.get(&[1; 32]).is_none());
        assert_eq!(t.evicted_open, 0);
        assert_eq!(t.of(StrategyId::Arb, MarketIdx(3), None).count(), 1);
        assert_eq!(
            t.of(StrategyId::Lag, MarketIdx(3), Some(Outcome::Up))
                .count(),
            1
        );
        assert_eq!(
            t.of(StrategyId::Lag, MarketIdx(3), Some(Outcome::Down))
                .count(),
            0
        );
    }

    #[test]
    fn attribution_ring_keeps_the_rows_of_open_orders() {
        let mut t = AttributionTable::new(3);
        let row = |b: u8| Attribution {
            order_id: [b; 32],
            strategy: StrategyId::MarketMaking,
            reason: Reason::ArbOpen,
            market: MarketIdx(0),
            outcome: Outcome::Up,
            sent_ns: 0,
        };
        // Order 1 rests (open) while orders 2.. come and end.
        let open_ids = std::cell::RefCell::new(vec![[1u8; 32]]);
        let is_open = |id: &OrderId| open_ids.borrow().contains(id);
        for b in 1..=10u8 {
            t.insert(row(b), is_open);
        }
        assert!(
            t.get(&[1; 32]).is_some(),
            "the open order's row survived 9 newer orders"
        );
        assert!(t.get(&[10; 32]).is_some() && t.get(&[9; 32]).is_some());
        assert!(
            t.get(&[8; 32]).is_none(),
            "ended orders' rows go oldest first"
        );
        assert_eq!(t.evicted_open, 0);
        // Every row open: the oldest is overwritten, and counted.
        open_ids.borrow_mut().extend([[9u8; 32], [10u8; 32]]);
        t.insert(row(11), is_open);
        assert_eq!(t.evicted_open, 1);
        assert!(t.get(&[11; 32]).is_some());
        assert_eq!(
            [1u8, 9, 10]
                .iter()
                .filter(|&&b| t.get(&[b; 32]).is_some())
                .count(),
            2,
            "one open row gave way"
        );
        // Once order 1 has ended its row is reused before the other open ones.
        open_ids.borrow_mut().retain(|id| id != &[1u8; 32]);
        let before: Vec<bool> = [9u8, 10]
            .iter()
            .map(|b| t.get(&[*b; 32]).is_some())
            .collect();
        t.insert(row(12), is_open);
        let after: Vec<bool> = [9u8, 10]
            .iter()
            .map(|b| t.get(&[*b; 32]).is_some())
            .collect();
        assert_eq!(
            before, after,
            "open rows untouched while an ended one is free"
        );
        assert!(t.get(&[12; 32]).is_some());
    }
}
