//! Replay outputs: `summary.json` (machine-readable), `orders.log` (one line per order event,
//! deterministic text) and `report.html` — one self-contained file (inline SVG and a small
//! inline script, no external assets): equity per strategy, drawdown, trades per window, fill
//! rate, fees and a table of per-strategy results.
//!
//! Invariants: every output is a pure function of the summary and the log (no clock, no
//! hashing order), so the same replay writes the same bytes.

use serde::Serialize;

use super::engine::EquitySample;
use crate::strategy::intent::StrategyId;

/// One input as the summary shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SourceSummary {
    pub path: String,
    pub kind: &'static str,
    pub events: u64,
    pub bad_records: u64,
    pub first_ns: Option<u64>,
    pub last_ns: Option<u64>,
    /// Shift onto the virtual clock (ns); non-zero only when spliced.
    pub shift_ns: i64,
    /// Its own markets dropped because it was shifted.
    pub dropped_markets: u64,
}

/// One strategy's results.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StrategySummary {
    pub name: &'static str,
    pub intents: u64,
    pub refused_local: u64,
    pub dropped_by_orchestrator: u64,
    pub orders: u64,
    pub orders_filled: u64,
    /// Orders with a complete fill / orders sent (0 when none were sent).
    pub fill_rate: f64,
    pub fills: u64,
    pub filled_micro: i64,
    pub notional_micro: i64,
    pub fees_micro: i64,
    pub cancels: u64,
    pub realised_micro: i64,
    pub unrealised_micro: i64,
    /// realised + unrealised − fees (the brain's P&L book).
    pub net_micro: i64,
    pub max_drawdown_micro: i64,
}

/// One market window's results.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MarketSummary {
    pub slug: String,
    pub start_s: u64,
    pub end_s: u64,
    pub decisions: u64,
    pub orders: u64,
    pub fills: u64,
    pub filled_micro: i64,
    pub fees_micro: i64,
    pub winner: Option<&'static str>,
    pub oracle_winner: Option<&'static str>,
    pub payout_micro: i64,
}

/// Input counters.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InputSummary {
    pub events: u64,
    pub binance_frames: u64,
    pub binance_errors: u64,
    pub market_frames: u64,
    pub market_frame_errors: u64,
    pub rtds_frames: u64,
    pub rtds_errors: u64,
    pub book_snapshots: u64,
    pub book_snapshot_errors: u64,
    pub discovery_messages: u64,
    pub markets_refused: u64,
    pub decision_rounds: u64,
    pub warm_candles_seeded: u64,
    pub warm_histories_refused: u64,
}

/// Everything `summary.json` holds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReplaySummary {
    pub format: &'static str,
    /// `as-recorded` or `spliced`.
    pub clock: &'static str,
    pub spliced: bool,
    pub clock_note: String,
    pub latency_ms: u64,
    pub sources: Vec<SourceSummary>,
    pub virtual_start_ns: Option<u64>,
    pub virtual_end_ns: u64,
    pub input: InputSummary,
    pub starting_collateral_micro: i64,
    pub ending_collateral_micro: i64,
    pub strategies: Vec<StrategySummary>,
    pub total_net_micro: i64,
    pub total_fees_micro: i64,
    pub total_max_drawdown_micro: i64,
    pub markets_seen: u64,
    pub markets_evaluated: u64,
    pub markets_settled: u64,
    pub oracle_disagreements: u64,
    /// Intents the orchestrator / pre-trade gate dropped, by reason (non-zero only).
    pub drops: std::collections::BTreeMap<&'static str, u64>,
    pub markets: Vec<MarketSummary>,
}

/// Largest drawdown (peak − trough, ≥ 0) of a series.
pub fn max_drawdown(series: impl Iterator<Item = i64>) -> i64 {
    let mut peak = i64::MIN;
    let mut worst = 0;
    for v in series {
        peak = peak.max(v);
        worst = worst.max(peak - v);
    }
    worst
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn usd(micro: i64) -> String {
    let sign = if micro < 0 { "-" } else { "" };
    let a = micro.unsigned_abs();
    format!("{sign}{}.{:02}", a / 1_000_000, (a % 1_000_000) / 10_000)
}

/// Unix ns as `YYYY-MM-DD HH:MM:SS` UTC (virtual time; civil date from days since 1970).
fn utc(ns: u64) -> String {
    let (y, m, d, hh, mm, ss) = crate::clock::utc_civil(ns / 1_000_000_000);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
}

const COLORS: [&str; StrategyId::COUNT + 1] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#111111",
];

/// At most `max` samples, evenly picked, always keeping the last.
fn thin(samples: &[EquitySample], max: usize) -> Vec<EquitySample> {
    if samples.len() <= max || max < 2 {
        return samples.to_vec();
    }
    let step = samples.len().div_ceil(max - 1);
    let mut out: Vec<EquitySample> = samples.iter().step_by(step).copied().collect();
    if let (Some(l), Some(o)) = (samples.last(), out.last()) {
        if l.at_ns != o.at_ns {
            out.push(*l);
        }
    }
    out
}

const W: f64 = 900.0;
const H: f64 = 260.0;
const PAD: f64 = 50.0;

/// One line of a chart: name, colour, points (x ns, y micro).
type Series<'a> = (String, &'a str, Vec<(u64, i64)>);

/// An SVG line chart of `series`.
fn line_chart(id: &str, title: &str, series: &[Series<'_>]) -> String {
    let xs = series.iter().flat_map(|s| s.2.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.2.iter().map(|p| p.1));
    let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(1));
    let (mut y0, mut y1) = (
        ys.clone().min().unwrap_or(0).min(0),
        ys.max().unwrap_or(0).max(0),
    );
    if y0 == y1 {
        y0 -= 1_000_000;
        y1 += 1_000_000;
    }
    let sx =
        |x: u64| PAD + (x.saturating_sub(x0)) as f64 / ((x1 - x0).max(1)) as f64 * (W - 2.0 * PAD);
    let sy = |y: i64| H - PAD + -((y - y0) as f64 / (y1 - y0) as f64) * (H - 2.0 * PAD);
    let mut svg = format!(
        "<svg id=\"{id}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\">\
         <text x=\"{PAD}\" y=\"18\" class=\"title\">{}</text>\
         <line x1=\"{PAD}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\
         <text x=\"4\" y=\"{:.1}\" class=\"axis\">{}</text><text x=\"4\" y=\"{:.1}\" class=\"axis\">{}</text>",
        esc(title),
        sy(0),
        W - PAD,
        sy(0),
        sy(y1) + 4.0,
        usd(y1),
        sy(y0) + 4.0,
        usd(y0),
    );
    svg.push_str(&format!(
        "<text x=\"{PAD}\" y=\"{:.1}\" class=\"axis\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{}</text>",
        H - PAD + 14.0,
        utc(x0),
        W - PAD,
        H - PAD + 14.0,
        utc(x1)
    ));
    for (k, (name, colour, pts)) in series.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        svg.push_str(&format!(
            "<polyline class=\"series\" data-name=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"{colour}\" class=\"legend\">{}</text>",
            esc(name),
            path.join(" "),
            PAD + 10.0 + 120.0 * k as f64,
            H - 12.0,
            esc(name)
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn bar_chart(id: &str, title: &str, bars: &[(String, u64)]) -> String {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let n = bars.len().max(1) as f64;
    let bw = ((W - 2.0 * PAD) / n).max(1.0);
    let mut svg = format!(
        "<svg id=\"{id}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\">\
         <text x=\"{PAD}\" y=\"18\" class=\"title\">{}</text><text x=\"4\" y=\"{:.1}\" class=\"axis\">{max}</text>",
        esc(title),
        PAD + 4.0
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let h = *v as f64 / max as f64 * (H - 2.0 * PAD);
        svg.push_str(&format!(
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#1f77b4\"><title>{}: {v}</title></rect>",
            PAD + bw * i as f64 + 1.0,
            H - PAD - h,
            (bw - 2.0).max(0.5),
            h,
            esc(label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The HTML report.
pub fn html(summary: &ReplaySummary, equity: &[EquitySample]) -> String {
    let pts = thin(equity, 1500);
    let mut series: Vec<Series<'_>> = StrategyId::ALL
        .iter()
        .map(|s| {
            (
                s.name().to_string(),
                COLORS[s.index()],
                pts.iter()
                    .map(|p| (p.at_ns, p.pnl_micro[s.index()]))
                    .collect(),
            )
        })
        .collect();
    let total: Vec<(u64, i64)> = pts
        .iter()
        .map(|p| (p.at_ns, p.pnl_micro.iter().sum()))
        .collect();
    series.push(("total".into(), COLORS[StrategyId::COUNT], total.clone()));
    let mut peak = i64::MIN;
    let drawdown: Vec<(u64, i64)> = total
        .iter()
        .map(|&(t, v)| {
            peak = peak.max(v);
            (t, -(peak - v))
        })
        .collect();
    let bars: Vec<(String, u64)> = summary
        .markets
        .iter()
        .map(|m| (m.slug.clone(), m.fills))
        .collect();
    let mut rows = String::new();
    for s in &summary.strategies {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.name,
            s.intents,
            s.dropped_by_orchestrator + s.refused_local,
            s.orders,
            s.fills,
            s.fill_rate * 100.0,
            usd(s.notional_micro),
            usd(s.fees_micro),
            usd(s.realised_micro),
            usd(s.unrealised_micro),
            usd(s.net_micro),
            usd(s.max_drawdown_micro)
        ));
    }
    let mut market_rows = String::new();
    for m in &summary.markets {
        market_rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.slug),
            m.decisions,
            m.orders,
            m.fills,
            usd(m.fees_micro),
            m.winner.unwrap_or("-"),
            m.oracle_winner.unwrap_or("-")
        ));
    }
    let mut sources = String::new();
    for s in &summary.sources {
        sources.push_str(&format!(
            "<li>{} <code>{}</code>: {} events, {} unreadable, shifted {} s</li>",
            s.kind,
            esc(&s.path),
            s.events,
            s.bad_records,
            s.shift_ns / 1_000_000_000
        ));
    }
    let banner = if summary.spliced {
        format!(
            "<p class=\"spliced\" id=\"spliced-banner\">SPLICED: {}</p>",
            esc(&summary.clock_note)
        )
    } else {
        format!("<p id=\"clock-note\">{}</p>", esc(&summary.clock_note))
    };
    let orders: u64 = summary.strategies.iter().map(|s| s.orders).sum();
    let filled: u64 = summary.strategies.iter().map(|s| s.orders_filled).sum();
    let fill_rate = if orders > 0 {
        filled as f64 / orders as f64 * 100.0
    } else {
        0.0
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>sattebaaz backtest</title>\
<style>body{{font-family:sans-serif;margin:20px;color:#222}}table{{border-collapse:collapse;margin:8px 0}}\
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
.chart{{display:block;margin:10px 0;border:1px solid #eee}}.title{{font-size:14px;font-weight:bold}}.axis,.legend{{font-size:11px}}\
.spliced{{background:#fff3cd;padding:6px;border:1px solid #e0c060}}</style></head><body>\
<h1>sattebaaz backtest</h1>{banner}\
<ul id=\"figures\"><li>latency {} ms</li><li>orders {orders}, fill rate <span id=\"fill-rate\">{fill_rate:.1}%</span></li>\
<li>fees <span id=\"fees\">{}</span></li><li>net P&amp;L {}</li><li>max drawdown {}</li>\
<li>markets seen {}, evaluated {}, settled {}</li><li>collateral {} → {}</li></ul>\
<h2>Inputs</h2><ul>{sources}</ul>\
<h2>Equity per strategy</h2>{}\
<h2>Drawdown</h2>{}\
<h2>Trades per window</h2>{}\
<h2>Per-strategy results</h2><table id=\"strategy-table\"><thead><tr><th>strategy</th><th>intents</th><th>dropped</th>\
<th>orders</th><th>fills</th><th>fill rate</th><th>notional</th><th>fees</th><th>realised</th><th>unrealised</th><th>net</th><th>max DD</th></tr></thead>\
<tbody>{rows}</tbody></table>\
<h2>Windows</h2><table id=\"market-table\"><thead><tr><th>market</th><th>decisions</th><th>orders</th><th>fills</th><th>fees</th><th>winner</th><th>oracle</th></tr></thead><tbody>{market_rows}</tbody></table>\
<p id=\"status\"></p>\
<script>(function(){{var c=document.querySelectorAll('svg.chart');var s=document.querySelectorAll('polyline.series');\
document.body.setAttribute('data-rendered','charts:'+c.length+',series:'+s.length);\
document.getElementById('status').textContent='charts: '+c.length+', series: '+s.length;\
s.forEach(function(p){{p.addEventListener('mouseover',function(){{document.getElementById('status').textContent=p.getAttribute('data-name');}});}});}})();</script>\
</body></html>\n",
        summary.latency_ms,
        usd(summary.total_fees_micro),
        usd(summary.total_net_micro),
        usd(summary.total_max_drawdown_micro),
        summary.markets_seen,
        summary.markets_evaluated,
        summary.markets_settled,
        usd(summary.starting_collateral_micro),
        usd(summary.ending_collateral_micro),
        line_chart("equity-chart", "Net P&L per strategy (USD)", &series),
        line_chart(
            "drawdown-chart",
            "Drawdown of the total (USD)",
            &[("drawdown".into(), "#d62728", drawdown)]
        ),
        bar_chart("trades-chart", "Fills per window", &bars),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_790_586_000 * 1_000_000_000), "2026-09-28 09:00:00");
        assert_eq!(utc(951_782_400 * 1_000_000_000 + 1), "2000-02-29 00:00:00");
    }

    #[test]
    fn drawdown_is_peak_to_trough() {
        assert_eq!(max_drawdown([0, 5, 2, 7, 1, 3].into_iter()), 6);
        assert_eq!(max_drawdown([3, 2, 1].into_iter()), 2);
        assert_eq!(max_drawdown(std::iter::empty()), 0);
    }
}
