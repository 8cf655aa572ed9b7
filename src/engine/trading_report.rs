//! The end-of-run trading report: one row per strategy (signals seen = decision rounds with an
//! intent of that strategy, orders sent, venue rejections, fills, fees), the portfolio's
//! realised and unrealised P&L from the tracker's positions (tokens valued at the mid a caller
//! supplies) and, in paper mode, the exact comparison of the tracker with the venue's ledger.
//! Every money figure is integer micro-dollars; the header says SIMULATED when it is.
//!
//! Per-strategy P&L needs per-strategy positions (the P&L module); until then P&L is the
//! portfolio's, stated as such.

use std::fmt::Write as _;

use super::hot_trading::TradingReport;
use super::reconcile::LedgerComparison;
use crate::exec::orders::positions::TokenPosition;
use crate::strategy::intent::StrategyId;

fn dollars(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000)
}

fn held(t: &TokenPosition) -> i64 {
    t.confirmed + i64::try_from(t.provisional_bought).unwrap_or(i64::MAX)
        - i64::try_from(t.provisional_sold).unwrap_or(i64::MAX)
}

/// Render the report. `simulated` labels it; `start_collateral` is the tracker's starting
/// collateral; `mid_of` values a token (micro-dollars per share) or `None` when unknown;
/// `ledger` is the venue comparison when one was made.
pub fn render(
    report: &TradingReport,
    simulated: bool,
    start_collateral: i64,
    mid_of: &dyn Fn(&[u8; 32]) -> Option<i64>,
    ledger: Option<&LedgerComparison>,
) -> String {
    let mut out = String::new();
    let label = if simulated { " (SIMULATED)" } else { "" };
    let _ = writeln!(out, "trading per strategy{label}:");
    let _ = writeln!(
        out,
        "  {:<10} {:>8} {:>8} {:>8} {:>10} {:>7} {:>14} {:>12}",
        "strategy", "intents", "sent", "accepted", "rejections", "fills", "filled shares", "fees $"
    );
    for s in StrategyId::ALL {
        let k = report.strategies[s.index()];
        let _ = writeln!(
            out,
            "  {:<10} {:>8} {:>8} {:>8} {:>10} {:>7} {:>14} {:>12}",
            s.name(),
            k.intents,
            k.sent,
            k.accepted,
            k.rejections + k.local_refusals,
            k.fills,
            dollars(i64::try_from(k.filled_micro).unwrap_or(i64::MAX)),
            dollars(i64::try_from(k.fees_micro).unwrap_or(i64::MAX)),
        );
    }
    let p = report.tracker.positions();
    let collateral = p.collateral_confirmed()
        - i64::try_from(p.collateral_provisional_spent()).unwrap_or(i64::MAX)
        + i64::try_from(p.collateral_provisional_due()).unwrap_or(i64::MAX);
    let realised = collateral - start_collateral;
    let mut unrealised = 0i64;
    let mut unpriced = 0usize;
    for t in p.tokens() {
        let shares = held(t);
        if shares == 0 {
            continue;
        }
        match mid_of(&t.token) {
            Some(mid) => unrealised += (i128::from(shares) * i128::from(mid) / 1_000_000) as i64,
            None => unpriced += 1,
        }
    }
    let _ = writeln!(
        out,
        "portfolio{label}: cash flow (realised) {} $, open positions at mid (unrealised) {} $, \
         total {} $ ({} decision rounds; per-strategy P&L arrives with the P&L module)",
        dollars(realised),
        dollars(unrealised),
        dollars(realised + unrealised),
        report.decisions
    );
    if unpriced > 0 {
        let _ = writeln!(out, "  {unpriced} token(s) without a mid were left out");
    }
    if let Some(cmp) = ledger {
        let verdict = if cmp.exact() {
            "reconcile exactly"
        } else {
            "DO NOT reconcile"
        };
        let _ = writeln!(out, "tracker vs venue ledger: {verdict}");
        for r in cmp.rows.iter().filter(|r| r.tracker != r.venue) {
            let _ = writeln!(out, "  {}: tracker {} venue {}", r.what, r.tracker, r.venue);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::dollars;

    #[test]
    fn dollars_are_exact_decimal_text() {
        assert_eq!(dollars(1_234_567), "1.234567");
        assert_eq!(dollars(-5), "-0.000005");
        assert_eq!(dollars(0), "0.000000");
    }
}
