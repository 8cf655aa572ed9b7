//! End-of-run comparison of the execution tracker's positions with the venue's own ledger
//! (the simulator's `ledger_snapshot` in paper mode): collateral and every token's holdings,
//! counting provisional (matched, not yet settled) trades as held.
//!
//! Invariants: integer micro-units only; a token present on one side only is compared against
//! zero on the other; the comparison is exact (no tolerance).

use crate::exec::orders::positions::Positions;
use crate::exec::signing::order::TokenId;
use crate::sim::exchange::ledger::LedgerSnapshot;

/// One compared quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    /// `collateral` or the token id (decimal).
    pub what: String,
    pub tracker: i64,
    pub venue: i64,
}

/// The comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerComparison {
    pub rows: Vec<LedgerRow>,
}

impl LedgerComparison {
    /// Every row agrees exactly.
    pub fn exact(&self) -> bool {
        self.rows.iter().all(|r| r.tracker == r.venue)
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Collateral and token holdings of `positions` against `ledger`.
pub fn compare_with_ledger(positions: &Positions, ledger: &LedgerSnapshot) -> LedgerComparison {
    let mut rows = vec![LedgerRow {
        what: "collateral".into(),
        tracker: positions.collateral_confirmed()
            - to_i64(positions.collateral_provisional_spent())
            + to_i64(positions.collateral_provisional_due()),
        venue: ledger.collateral,
    }];
    for t in positions.tokens() {
        let text = crate::engine::exec_path::token_id_from_word(&t.token)
            .map(|id| String::from_utf8_lossy(id.text()).into_owned())
            .unwrap_or_default();
        let held = t.confirmed + to_i64(t.provisional_bought) - to_i64(t.provisional_sold);
        rows.push(LedgerRow {
            venue: ledger.tokens.get(&text).copied().unwrap_or(0),
            what: text,
            tracker: held,
        });
    }
    for (token, &venue) in &ledger.tokens {
        let known = TokenId::parse(token)
            .ok()
            .is_some_and(|id| positions.tokens().iter().any(|t| &t.token == id.word()));
        if !known {
            rows.push(LedgerRow {
                what: token.clone(),
                tracker: 0,
                venue,
            });
        }
    }
    LedgerComparison { rows }
}
