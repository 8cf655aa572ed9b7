//! Order intents: what a strategy asks for, before the orchestrator, risk and execution see it.
//!
//! A strategy never builds, signs or sends an order: it pushes [`OrderIntent`]s (and
//! [`CancelIntent`]s) into a fixed-capacity [`IntentBuf`] owned by the hot thread. The
//! orchestrator deduplicates and sizes them, risk checks each one, and execution turns the
//! survivors into signed orders; legs that share a non-zero [`OrderIntent::group`] go out in one
//! `POST /orders` batch.
//!
//! Invariants: prices are integer micro-units (1e-6 of a dollar) on the market's tick grid;
//! sizes are integer micro-shares (1e-6 of a share); every intent carries the strategy that made
//! it and a [`Reason`] code; the buffer never allocates after construction and a full buffer
//! refuses (and counts) instead of growing.

use crate::book::{MarketIdx, Outcome};
use crate::exec::signing::amounts::Side;
use crate::exec::signing::order::OrderType;

/// The five strategies of the strategy spec (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StrategyId {
    /// Straddle + bias amplification (primary).
    Straddle,
    /// Pure Up + Down arbitrage.
    Arb,
    /// Binance → Polymarket lag exploit.
    Lag,
    /// Micro market-making.
    MarketMaking,
    /// Probability momentum capture.
    Momentum,
}

impl StrategyId {
    /// Number of strategies (for per-strategy arrays).
    pub const COUNT: usize = 5;
    /// Every strategy, in index order.
    pub const ALL: [StrategyId; 5] = [
        StrategyId::Straddle,
        StrategyId::Arb,
        StrategyId::Lag,
        StrategyId::MarketMaking,
        StrategyId::Momentum,
    ];

    /// Dense index for per-strategy arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Short stable name (reports, metrics labels).
    pub const fn name(self) -> &'static str {
        match self {
            StrategyId::Straddle => "straddle",
            StrategyId::Arb => "arb",
            StrategyId::Lag => "lag",
            StrategyId::MarketMaking => "mm",
            StrategyId::Momentum => "momentum",
        }
    }
}

/// Why an intent was made (one code per decision rule of the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Straddle phase 1: Up + Down asks (+ fees) under the threshold; both legs.
    StraddleOpen,
    /// Straddle imbalance: buy the deficit leg (deficit ask + excess price < 1).
    StraddleBuyDeficit,
    /// Straddle imbalance: sell the excess leg at the bid.
    StraddleSellExcess,
    /// Straddle phase 2: buy the dip on the bias side.
    BiasDipBuy,
    /// Pure arbitrage: both legs.
    ArbOpen,
    /// Pure arbitrage: rebalance a partial fill.
    ArbRebalance,
    /// Lag exploit: fair value above the ask on this side.
    LagEdge,
    /// Market-making quote (bid or ask).
    MmQuote,
    /// Market-making: quotes pulled (adverse selection, expiry, spread, regime).
    MmPull,
    /// Momentum entry.
    MomentumEntry,
    /// Momentum exit on exhaustion.
    MomentumExit,
}

/// How long an order rests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeInForce {
    /// Good till cancelled.
    Gtc,
    /// Good till the given unix second (the venue adds its one-minute security threshold).
    Gtd {
        /// Expiration, unix seconds.
        expiration_s: u64,
    },
    /// Fill or kill.
    Fok,
    /// Fill and kill (partial fills allowed).
    Fak,
}

impl TimeInForce {
    /// The venue's order type for this time in force.
    pub const fn order_type(self) -> OrderType {
        match self {
            TimeInForce::Gtc => OrderType::Gtc,
            TimeInForce::Gtd { .. } => OrderType::Gtd,
            TimeInForce::Fok => OrderType::Fok,
            TimeInForce::Fak => OrderType::Fak,
        }
    }
}

/// One order a strategy wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderIntent {
    /// Who asked.
    pub strategy: StrategyId,
    /// Why.
    pub reason: Reason,
    /// Which market slot.
    pub market: MarketIdx,
    /// Which token of the market.
    pub outcome: Outcome,
    /// Buy or sell that token.
    pub side: Side,
    /// Limit price, micro-units on the tick grid.
    pub price_micro: i64,
    /// Size in micro-shares.
    pub size_micro: i64,
    /// Time in force.
    pub tif: TimeInForce,
    /// Rest only as a maker (GTC/GTD only).
    pub post_only: bool,
    /// Non-zero: every intent with the same group goes in one batch request (pair legs).
    pub group: u32,
}

/// Cancel resting orders of one strategy in one market (optionally one outcome only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelIntent {
    /// Whose orders.
    pub strategy: StrategyId,
    /// Why they go.
    pub reason: Reason,
    /// Which market slot.
    pub market: MarketIdx,
    /// `None`: both tokens.
    pub outcome: Option<Outcome>,
}

/// Fixed-capacity intent buffer for one decision round; refuses and counts when full.
#[derive(Debug)]
pub struct IntentBuf {
    orders: Vec<OrderIntent>,
    cancels: Vec<CancelIntent>,
    refused: u64,
}

impl IntentBuf {
    /// A buffer for at most `orders` order intents and `cancels` cancel intents per round.
    pub fn with_capacity(orders: usize, cancels: usize) -> IntentBuf {
        IntentBuf {
            orders: Vec::with_capacity(orders),
            cancels: Vec::with_capacity(cancels),
            refused: 0,
        }
    }

    /// Add an order intent; `false` (and counted) when the round's capacity is used up.
    pub fn push_order(&mut self, intent: OrderIntent) -> bool {
        if self.orders.len() == self.orders.capacity() {
            self.refused += 1;
            return false;
        }
        self.orders.push(intent);
        true
    }

    /// Add a cancel intent; `false` (and counted) when full.
    pub fn push_cancel(&mut self, cancel: CancelIntent) -> bool {
        if self.cancels.len() == self.cancels.capacity() {
            self.refused += 1;
            return false;
        }
        self.cancels.push(cancel);
        true
    }

    /// This round's order intents.
    pub fn orders(&self) -> &[OrderIntent] {
        &self.orders
    }

    /// Mutable access for the orchestrator (resizing, dropping by retain).
    pub fn orders_mut(&mut self) -> &mut Vec<OrderIntent> {
        &mut self.orders
    }

    /// This round's cancel intents.
    pub fn cancels(&self) -> &[CancelIntent] {
        &self.cancels
    }

    /// Intents refused because the buffer was full, since construction.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Start a new round (keeps the capacity; never frees).
    pub fn clear(&mut self) {
        self.orders.clear();
        self.cancels.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(group: u32) -> OrderIntent {
        OrderIntent {
            strategy: StrategyId::Arb,
            reason: Reason::ArbOpen,
            market: MarketIdx(0),
            outcome: Outcome::Up,
            side: Side::Buy,
            price_micro: 450_000,
            size_micro: 10_000_000,
            tif: TimeInForce::Fak,
            post_only: false,
            group,
        }
    }

    #[test]
    fn a_full_buffer_refuses_and_counts_without_growing() {
        let mut buf = IntentBuf::with_capacity(2, 1);
        assert!(buf.push_order(intent(1)));
        assert!(buf.push_order(intent(1)));
        assert!(!buf.push_order(intent(2)));
        assert_eq!(buf.orders().len(), 2);
        assert_eq!(buf.refused(), 1);
        let cap = buf.orders_mut().capacity();
        buf.clear();
        assert!(buf.orders().is_empty());
        assert_eq!(buf.orders_mut().capacity(), cap);
        assert_eq!(buf.refused(), 1);
    }

    #[test]
    fn strategy_indexes_are_dense_and_named() {
        for (i, s) in StrategyId::ALL.iter().enumerate() {
            assert_eq!(s.index(), i);
            assert!(!s.name().is_empty());
        }
        assert_eq!(TimeInForce::Fak.order_type(), OrderType::Fak);
    }
}
