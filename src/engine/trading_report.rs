//! The end-of-run trading report: one row per strategy (signals seen = decision rounds with an
//! intent of that strategy, orders sent, venue rejections, fills, fees), the portfolio's
//! realised and unrealised P&L from the tracker's positions (tokens valued at the mid a caller
//! supplies) and, in paper mode, the exact comparison of the tracker with the venue's ledger.
//! Every money figure is integer micro-dollars; the header says SIMULATED when it is.
//!
//! When the decider keeps figures (the trading brain does), each strategy's row also shows its
//! signals, the intents the orchestrator or risk dropped, and its own P&L (realised including
//! settlements, unrealised at the latest mids, fees), followed by every settled window.

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
        "  {:<9} {:>7} {:>7} {:>7} {:>6} {:>8} {:>6} {:>9} {:>7} {:>6} {:>7} {:>13} {:>11} {:>12} {:>12} {:>12}",
        "strategy",
        "signals",
        "intents",
        "dropped",
        "sent",
        "accepted",
        "killed",
        "venue rej",
        "local",
        "fills",
        "partial",
        "filled shares",
        "fees $",
        "realised $",
        "unrealised $",
        "net $"
    );
    for s in StrategyId::ALL {
        let k = report.strategies[s.index()];
        let f = report
            .figures
            .map(|f| f.strategies[s.index()])
            .unwrap_or_default();
        let (fees, realised, unrealised, net) = match report.figures {
            Some(_) => (
                dollars(f.fees_micro),
                dollars(f.realised_micro),
                dollars(f.unrealised_micro),
                dollars(f.realised_micro + f.unrealised_micro - f.fees_micro),
            ),
            None => (
                dollars(i64::try_from(k.fees_micro).unwrap_or(i64::MAX)),
                "-".into(),
                "-".into(),
                "-".into(),
            ),
        };
        let _ = writeln!(
            out,
            "  {:<9} {:>7} {:>7} {:>7} {:>6} {:>8} {:>6} {:>9} {:>7} {:>6} {:>7} {:>13} {:>11} {:>12} {:>12} {:>12}",
            s.name(),
            f.signals,
            k.intents.max(f.intents),
            f.dropped,
            k.sent,
            k.accepted,
            k.killed,
            k.rejections,
            k.local_refusals + k.build_errors,
            k.fills,
            k.partial_fills,
            dollars(i64::try_from(k.filled_micro).unwrap_or(i64::MAX)),
            fees,
            realised,
            unrealised,
            net,
        );
    }
    for (what, counts) in [
        ("venue answers other than acceptance", &report.venue_errors),
        (
            "orders the order client refused locally",
            &report.local_errors,
        ),
    ] {
        let kinds: Vec<String> = counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| format!("{} {n}", crate::exec::rest::errors::ERROR_KIND_NAMES[i]))
            .collect();
        if !kinds.is_empty() {
            let _ = writeln!(out, "{what}: {}", kinds.join(", "));
        }
    }
    if report.attribution_evicted_open > 0 {
        let _ = writeln!(
            out,
            "WARNING: {} open order(s) lost their strategy attribution (more open orders than \
             the attribution table holds): their fills and closes no longer reach the strategies",
            report.attribution_evicted_open
        );
    }
    if let Some(f) = report.figures {
        let _ = writeln!(
            out,
            "settled windows{label}: {} ({} where the engine's oracle settlement disagreed with \
             the venue's outcome); {} decision rounds before the volatility regime was known; \
             {} fills the P&L book refused",
            f.settled, f.oracle_disagreements, f.cold_rounds, f.pnl_errors
        );
        let drops: Vec<String> = f
            .drops
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| format!("{} {n}", crate::orchestrator::DropReason::NAMES[i]))
            .collect();
        if !drops.is_empty() {
            let _ = writeln!(out, "intents dropped before sending: {}", drops.join(", "));
        }
        for w in f.settlements.iter().flatten() {
            let oracle = match w.oracle_winner {
                Some(o) => format!("{o:?}"),
                None => "no oracle data".into(),
            };
            let pnl: i64 = w.pnl_micro.iter().sum();
            let _ = writeln!(
                out,
                "  {} {} window {}: venue {:?}, oracle {oracle}, payout {} $, P&L {} $",
                w.asset.as_str(),
                w.window.as_str(),
                w.start_s,
                w.venue_winner,
                dollars(w.payout_micro),
                dollars(pnl)
            );
        }
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
         total {} $ ({} decision rounds)",
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

/// The report as one JSON object (for scripts and tests): per strategy the hot thread's
/// counters and the decider's figures, settlements, drops, and the ledger verdict.
pub fn json(report: &TradingReport, ledger_exact: Option<bool>) -> serde_json::Value {
    use serde_json::json;
    let strategies: Vec<serde_json::Value> = StrategyId::ALL
        .iter()
        .map(|s| {
            let k = report.strategies[s.index()];
            let f = report
                .figures
                .map(|f| f.strategies[s.index()])
                .unwrap_or_default();
            json!({
                "strategy": s.name(),
                "signals": f.signals,
                "intents": k.intents.max(f.intents),
                "dropped": f.dropped,
                "sent": k.sent,
                "accepted": k.accepted,
                "killed": k.killed,
                "venue_rejections": k.rejections,
                "local_refusals": k.local_refusals,
                "build_errors": k.build_errors,
                "fills": k.fills,
                "partial_fills": k.partial_fills,
                "filled_micro": k.filled_micro,
                "fees_micro": f.fees_micro,
                "realised_micro": f.realised_micro,
                "unrealised_micro": f.unrealised_micro,
            })
        })
        .collect();
    let (settled, disagreements) = report
        .figures
        .map(|f| (f.settled, f.oracle_disagreements))
        .unwrap_or((0, 0));
    json!({
        "simulated": true,
        "decisions": report.decisions,
        "strategies": strategies,
        "settled_windows": settled,
        "oracle_disagreements": disagreements,
        "ledger_exact": ledger_exact,
    })
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
