//! Per-account balances of the simulated exchange: pUSD collateral and outcome-token positions
//! (micro-units), with the amounts reserved by open orders (BUY reserves collateral, SELL
//! reserves tokens) and the taker fees paid.
//!
//! Invariants: accounts are keyed by the lower-case funder (maker) address and start with the
//! configured collateral the first time they are touched; `reserved ≤ balance` is checked before
//! an order is accepted ("not enough balance / allowance"); every change a trade makes is
//! recorded as a [`LedgerDelta`] so a FAILED trade can be reverted exactly.

use std::collections::BTreeMap;

/// One account's balances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// pUSD, micro-units.
    pub collateral: i64,
    /// pUSD reserved by open BUY orders.
    pub collateral_reserved: i64,
    /// Token id → micro-shares held.
    pub tokens: BTreeMap<String, i64>,
    /// Token id → micro-shares reserved by open SELL orders.
    pub tokens_reserved: BTreeMap<String, i64>,
    /// Taker fees paid in collateral (SELL takers), micro-units.
    pub fees_paid_collateral: i64,
    /// Token id → taker fees paid in tokens (BUY takers), micro-shares.
    pub fees_paid_tokens: BTreeMap<String, i64>,
}

/// A copy of an account for tests and reconciliation.
pub type LedgerSnapshot = Account;

/// The balance changes one trade made to one account (reverted when the trade fails).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerDelta {
    pub account: String,
    pub collateral: i64,
    pub tokens: Vec<(String, i64)>,
    pub fee_collateral: i64,
    pub fee_tokens: Vec<(String, i64)>,
}

/// All accounts.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    accounts: BTreeMap<String, Account>,
    starting_collateral: i64,
}

impl Ledger {
    /// A ledger whose new accounts start with `starting_collateral` micro-pUSD.
    pub fn new(starting_collateral: i64) -> Self {
        Ledger {
            accounts: BTreeMap::new(),
            starting_collateral,
        }
    }

    /// The account of `address` (created on first use).
    pub fn account(&mut self, address: &str) -> &mut Account {
        let start = self.starting_collateral;
        self.accounts
            .entry(address.to_ascii_lowercase())
            .or_insert_with(|| Account {
                collateral: start,
                ..Account::default()
            })
    }

    /// A copy of `address`'s account (a fresh account if never touched).
    pub fn snapshot(&self, address: &str) -> LedgerSnapshot {
        self.accounts
            .get(&address.to_ascii_lowercase())
            .cloned()
            .unwrap_or(Account {
                collateral: self.starting_collateral,
                ..Account::default()
            })
    }

    /// Every account address.
    pub fn addresses(&self) -> Vec<String> {
        self.accounts.keys().cloned().collect()
    }

    /// Reserve `amount` collateral (BUY) if available.
    pub fn reserve_collateral(&mut self, address: &str, amount: i64) -> bool {
        let a = self.account(address);
        if a.collateral - a.collateral_reserved < amount {
            return false;
        }
        a.collateral_reserved += amount;
        true
    }

    /// Reserve `amount` of `token` (SELL) if available.
    pub fn reserve_tokens(&mut self, address: &str, token: &str, amount: i64) -> bool {
        let a = self.account(address);
        let held = a.tokens.get(token).copied().unwrap_or(0);
        let reserved = a.tokens_reserved.get(token).copied().unwrap_or(0);
        if held - reserved < amount {
            return false;
        }
        *a.tokens_reserved.entry(token.to_string()).or_default() += amount;
        true
    }

    /// Release collateral reserved by a BUY.
    pub fn release_collateral(&mut self, address: &str, amount: i64) {
        let a = self.account(address);
        a.collateral_reserved = (a.collateral_reserved - amount).max(0);
    }

    /// Release tokens reserved by a SELL.
    pub fn release_tokens(&mut self, address: &str, token: &str, amount: i64) {
        let a = self.account(address);
        let r = a.tokens_reserved.entry(token.to_string()).or_default();
        *r = (*r - amount).max(0);
        if *r == 0 {
            a.tokens_reserved.remove(token);
        }
    }

    /// Apply a trade's change to one account.
    pub fn apply(&mut self, d: &LedgerDelta) {
        self.apply_signed(d, 1);
    }

    /// Undo [`Ledger::apply`].
    pub fn revert(&mut self, d: &LedgerDelta) {
        self.apply_signed(d, -1);
    }

    fn apply_signed(&mut self, d: &LedgerDelta, sign: i64) {
        let a = self.account(&d.account);
        a.collateral += sign * d.collateral;
        a.fees_paid_collateral += sign * d.fee_collateral;
        for (t, n) in &d.tokens {
            let v = a.tokens.entry(t.clone()).or_default();
            *v += sign * n;
            if *v == 0 {
                a.tokens.remove(t);
            }
        }
        for (t, n) in &d.fee_tokens {
            *a.fees_paid_tokens.entry(t.clone()).or_default() += sign * n;
        }
    }

    /// Resolution: every holder of `tokens = [up, down]` is paid 1 pUSD per winning share and both
    /// positions are closed. Returns the accounts paid.
    pub fn resolve(&mut self, tokens: &[String; 2], winner: usize) -> Vec<(String, i64)> {
        let mut paid = Vec::new();
        for (addr, a) in self.accounts.iter_mut() {
            let win = a.tokens.remove(&tokens[winner]).unwrap_or(0);
            a.tokens.remove(&tokens[1 - winner]);
            a.tokens_reserved.remove(&tokens[0]);
            a.tokens_reserved.remove(&tokens[1]);
            if win != 0 {
                a.collateral += win;
                paid.push((addr.clone(), win));
            }
        }
        paid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_deltas_and_resolution() {
        let mut l = Ledger::new(10_000_000);
        assert!(l.reserve_collateral("0xAB", 6_000_000));
        assert!(!l.reserve_collateral("0xab", 5_000_000), "only 4 left");
        let d = LedgerDelta {
            account: "0xab".into(),
            collateral: -3_000_000,
            tokens: vec![("up".into(), 6_000_000)],
            ..LedgerDelta::default()
        };
        l.apply(&d);
        l.release_collateral("0xab", 3_000_000);
        assert!(l.reserve_tokens("0xab", "up", 6_000_000));
        assert!(!l.reserve_tokens("0xab", "up", 1));
        l.release_tokens("0xab", "up", 6_000_000);
        l.revert(&d);
        assert_eq!(l.snapshot("0xab").collateral, 10_000_000);
        assert!(l.snapshot("0xab").tokens.is_empty());
        l.apply(&d);
        let paid = l.resolve(&["up".into(), "down".into()], 0);
        assert_eq!(paid, vec![("0xab".to_string(), 6_000_000)]);
        assert_eq!(l.snapshot("0xab").collateral, 13_000_000);
    }
}
