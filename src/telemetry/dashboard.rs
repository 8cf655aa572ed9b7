//! The dashboard page served at `GET /`: one self-contained HTML document (inline CSS, inline
//! JavaScript, inline SVG; no external asset, no CDN) that fetches `/api/snapshot` every
//! `telemetry.dashboard_refresh_ms` and draws the P&L curve of each strategy, the strategy
//! figures, latency percentiles, the market table, oracle lag and connection health.
//!
//! Invariants: every value from the snapshot reaches the page through `textContent` or an SVG
//! attribute set with `setAttribute` (never `innerHTML`), so a market slug cannot inject markup;
//! the Content-Security-Policy sent with the page allows only same-origin fetches and the inline
//! script and style. The page shows only what the snapshot holds, which holds no secret.

/// Extra response header of the page (ends with CRLF).
pub const CSP_HEADER: &str =
    "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; \
style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:\r\n";

/// Placeholder in [`TEMPLATE`] replaced by the refresh period.
const REFRESH_PLACEHOLDER: &str = "__REFRESH_MS__";

/// The page with its refresh period filled in.
pub fn page(refresh_ms: u32) -> String {
    TEMPLATE.replace(REFRESH_PLACEHOLDER, &refresh_ms.to_string())
}

const TEMPLATE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sattebaaz telemetry</title>
<style>
body { font: 13px/1.35 system-ui, sans-serif; margin: 12px; background: #111; color: #ddd; }
h1 { font-size: 16px; margin: 0 0 8px 0; }
h2 { font-size: 14px; margin: 14px 0 4px 0; color: #9cf; }
table { border-collapse: collapse; }
th, td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #333; }
th:first-child, td:first-child { text-align: left; }
.bad { color: #f66; } .good { color: #6d6; } .warn { color: #fc6; }
#status { color: #888; }
svg { background: #181818; border: 1px solid #333; }
.legend span { margin-right: 12px; }
</style>
</head>
<body>
<h1>sattebaaz — <span id="mode">…</span></h1>
<div id="status"><span id="load-state">loading…</span> refreshes: <span id="refreshes">0</span>, uptime <span id="uptime">0</span> s,
events <span id="events">0</span>, queue drops <span id="queue-drops">0</span>,
kill switch <span id="kill">no</span>, paused <span id="paused">no</span></div>

<h2>P&amp;L per strategy (USD)</h2>
<svg id="pnl-chart" width="900" height="260" viewBox="0 0 900 260" role="img" aria-label="P&amp;L per strategy"></svg>
<div class="legend" id="pnl-legend"></div>

<h2>Strategies</h2>
<table id="strategy-table"><thead><tr><th>strategy</th><th>sent</th><th>fills</th><th>partial</th>
<th>cancels</th><th>rejects</th><th>fees $</th><th>realised $</th><th>unrealised $</th><th>shadow orders</th></tr></thead><tbody></tbody></table>

<h2>Latency (µs)</h2>
<table id="latency-table"><thead><tr><th>stage</th><th>count</th><th>p50</th><th>p90</th><th>p99</th>
<th>p99.9</th><th>max</th></tr></thead><tbody></tbody></table>

<h2>Markets</h2>
<table id="market-table"><thead><tr><th>slug</th><th>asset</th><th>window</th><th>phase</th><th>fair P(Up)</th>
<th>Up bid/ask</th><th>Down bid/ask</th><th>ask sum</th><th>book age ms</th><th>stale</th><th>stale s</th></tr></thead><tbody></tbody></table>

<h2>Oracle</h2>
<table id="oracle-table"><thead><tr><th>asset</th><th>lag ms</th><th>deviation bps</th><th>stale</th></tr></thead><tbody></tbody></table>

<h2>Connections</h2>
<table id="conn-table"><thead><tr><th>connection</th><th>state</th><th>down s</th><th>connects</th>
<th>reconnects</th><th>drops</th><th>connect failures</th><th>errors</th></tr></thead><tbody></tbody></table>

<script>
"use strict";
const REFRESH_MS = __REFRESH_MS__;
const COLORS = ["#4cf", "#fc4", "#6d6", "#f6c", "#f84"];
const SVGNS = "http://www.w3.org/2000/svg";
let refreshes = 0;

function usd(micro) {
  if (micro === null || micro === undefined) return "–";
  const neg = micro < 0; const a = Math.abs(micro);
  const whole = Math.floor(a / 1000000); const frac = String(a % 1000000).padStart(6, "0");
  return (neg ? "-" : "") + whole + "." + frac.slice(0, 4);
}
function px(micro) { return micro === null || micro === undefined ? "–" : (micro / 1000000).toFixed(3); }
function us(ns) { return (ns / 1000).toFixed(1); }
function cell(tr, text, cls) {
  const td = document.createElement("td"); td.textContent = String(text);
  if (cls) td.className = cls; tr.appendChild(td); return td;
}
function fillTable(id, rows, build) {
  const body = document.querySelector("#" + id + " tbody");
  const fresh = document.createElement("tbody");
  for (const r of rows) { const tr = document.createElement("tr"); build(tr, r); fresh.appendChild(tr); }
  body.replaceWith(fresh);
}
function svgEl(name, attrs) {
  const e = document.createElementNS(SVGNS, name);
  for (const k in attrs) e.setAttribute(k, String(attrs[k]));
  return e;
}
function drawPnl(s) {
  const svg = document.getElementById("pnl-chart");
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const W = 900, H = 260, L = 70, R = 10, T = 10, B = 20;
  let tMin = Infinity, tMax = -Infinity, vMin = 0, vMax = 0;
  for (const st of s.strategies) for (const p of st.pnl_series) {
    tMin = Math.min(tMin, p[0]); tMax = Math.max(tMax, p[0]);
    vMin = Math.min(vMin, p[1]); vMax = Math.max(vMax, p[1]);
  }
  if (vMax === vMin) { vMax += 1000000; vMin -= 1000000; }
  if (!(tMax > tMin)) { tMin = (tMin === Infinity ? s.now_ms : tMin) - 1000; tMax = tMin + 2000; }
  const x = t => L + (t - tMin) / (tMax - tMin) * (W - L - R);
  const y = v => T + (vMax - v) / (vMax - vMin) * (H - T - B);
  svg.appendChild(svgEl("line", {x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: "#555"}));
  const top = svgEl("text", {x: 4, y: T + 10, fill: "#aaa", "font-size": 11}); top.textContent = usd(vMax); svg.appendChild(top);
  const bot = svgEl("text", {x: 4, y: H - B, fill: "#aaa", "font-size": 11}); bot.textContent = usd(vMin); svg.appendChild(bot);
  const legend = document.getElementById("pnl-legend");
  const fresh = document.createElement("div"); fresh.className = "legend"; fresh.id = "pnl-legend";
  s.strategies.forEach((st, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = st.pnl_series.map(p => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ");
    svg.appendChild(svgEl("polyline", {points: pts, fill: "none", stroke: color, "stroke-width": 1.5,
      class: "pnl-line", "data-strategy": st.strategy, "data-points": st.pnl_series.length}));
    const span = document.createElement("span"); span.style.color = color;
    const last = st.pnl_series.length ? st.pnl_series[st.pnl_series.length - 1][1] : 0;
    span.textContent = st.strategy + " " + usd(last); fresh.appendChild(span);
  });
  legend.replaceWith(fresh);
}
function render(s) {
  document.getElementById("mode").textContent = s.mode;
  document.getElementById("uptime").textContent = Math.max(0, Math.floor((s.now_ms - s.started_ms) / 1000));
  document.getElementById("events").textContent = s.events;
  document.getElementById("queue-drops").textContent = s.queue_drops;
  const kill = document.getElementById("kill");
  kill.textContent = s.kill_switch_fired ? "FIRED" : "no"; kill.className = s.kill_switch_fired ? "bad" : "good";
  document.getElementById("paused").textContent = s.trading_paused ? "yes" : "no";
  drawPnl(s);
  fillTable("strategy-table", s.strategies, (tr, r) => {
    const f = r.figures; const rejects = f.rejects.reduce((a, b) => a + b, 0);
    cell(tr, r.strategy); cell(tr, f.orders_sent); cell(tr, f.fills); cell(tr, f.partial_fills);
    cell(tr, f.cancels);
    const why = f.rejects.map((n, i) => n ? s.reject_reasons[i] + " " + n : "").filter(x => x).join(", ");
    const rc = cell(tr, rejects, rejects ? "warn" : ""); if (why) rc.title = why;
    cell(tr, usd(f.fees_micro));
    cell(tr, usd(f.realised_pnl_micro), f.realised_pnl_micro < 0 ? "bad" : "");
    cell(tr, usd(f.unrealised_pnl_micro), f.unrealised_pnl_micro < 0 ? "bad" : "");
    cell(tr, r.would_be_orders);
  });
  fillTable("latency-table", s.latency, (tr, r) => {
    cell(tr, r.stage); cell(tr, r.count); cell(tr, us(r.p50_ns)); cell(tr, us(r.p90_ns));
    cell(tr, us(r.p99_ns)); cell(tr, us(r.p999_ns)); cell(tr, us(r.max_ns));
  });
  fillTable("market-table", s.markets, (tr, m) => {
    cell(tr, m.slug || ("#" + m.market)); cell(tr, m.asset); cell(tr, m.window); cell(tr, m.phase);
    cell(tr, m.fair_up === null ? "–" : m.fair_up.toFixed(3));
    cell(tr, px(m.up_bid_micro) + " / " + px(m.up_ask_micro));
    cell(tr, px(m.down_bid_micro) + " / " + px(m.down_ask_micro));
    cell(tr, px(m.ask_sum_micro)); cell(tr, m.book_age_ms === null ? "–" : m.book_age_ms);
    cell(tr, m.stale ? "STALE" : "ok", m.stale ? "bad" : "good"); cell(tr, (m.stale_ms / 1000).toFixed(1));
  });
  fillTable("oracle-table", s.oracles, (tr, o) => {
    cell(tr, o.asset); cell(tr, o.lag_ms === null ? "–" : o.lag_ms);
    cell(tr, o.deviation_bps === null ? "–" : o.deviation_bps.toFixed(2));
    cell(tr, o.stale ? "STALE" : "ok", o.stale ? "bad" : "good");
  });
  fillTable("conn-table", s.connections, (tr, c) => {
    cell(tr, c.label); cell(tr, c.state, c.state === "up" ? "good" : (c.state === "unknown" ? "" : "bad"));
    cell(tr, c.down_for_s); cell(tr, c.connects); cell(tr, c.reconnects); cell(tr, c.drops);
    cell(tr, c.connect_failures); cell(tr, c.tls_errors + c.protocol_errors + c.watchdog_fires);
  });
}
async function refresh() {
  try {
    const r = await fetch("/api/snapshot", {cache: "no-store"});
    if (!r.ok) throw new Error("HTTP " + r.status);
    render(await r.json());
    refreshes += 1;
    document.getElementById("load-state").textContent = "live";
    document.getElementById("refreshes").textContent = refreshes;
    document.body.setAttribute("data-refreshes", String(refreshes));
  } catch (e) {
    document.getElementById("load-state").textContent = "stale (" + String(e) + ")";
    document.getElementById("status").setAttribute("data-error", String(e));
  }
}
refresh();
setInterval(refresh, REFRESH_MS);
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_self_contained() {
        let p = page(750);
        assert!(p.contains("const REFRESH_MS = 750;"));
        assert!(!p.contains(REFRESH_PLACEHOLDER));
        for external in ["http://", "https://", "src=", "href="] {
            let hits: Vec<_> = p.match_indices(external).collect();
            // The SVG namespace is an identifier, not a fetch.
            let allowed = usize::from(external == "http://");
            assert!(hits.len() <= allowed, "{external} in page");
        }
        assert!(!p.contains("innerHTML"));
    }
}
