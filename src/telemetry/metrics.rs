//! The snapshot as Prometheus text exposition format 0.0.4 (`GET /metrics`).
//!
//! Invariants: every family is written once, `# HELP` then `# TYPE` then its samples; names are
//! `sattebaaz_…` in `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total`; label values are
//! escaped (`\` → `\\`, `"` → `\"`, newline → `\n`), HELP text likewise (`\` and newline);
//! integers are printed exactly, floats with Rust's shortest round-trip form (`NaN`, `+Inf`,
//! `-Inf` spelt as the format wants). Rendering writes into the caller's reused `String`.

use std::fmt::Write as _;

use super::snapshot::{ServerFigures, TelemetrySnapshot, REJECT_REASONS, SERVER_STATUSES};

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Alert destinations, in the order of the per-destination arrays.
pub const DESTINATIONS: [&str; 2] = ["telegram", "discord"];

/// A sample value.
#[derive(Clone, Copy)]
enum Val {
    U(u64),
    I(i64),
    F(f64),
}

/// Writes families into one buffer.
struct Writer<'a> {
    out: &'a mut String,
}

impl Writer<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind);
        self.out.push('\n');
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: Val) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label(self.out, val);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        match v {
            Val::U(x) => {
                let _ = write!(self.out, "{x}");
            }
            Val::I(x) => {
                let _ = write!(self.out, "{x}");
            }
            Val::F(x) if x.is_nan() => self.out.push_str("NaN"),
            Val::F(x) if x == f64::INFINITY => self.out.push_str("+Inf"),
            Val::F(x) if x == f64::NEG_INFINITY => self.out.push_str("-Inf"),
            Val::F(x) => {
                let _ = write!(self.out, "{x}");
            }
        }
        self.out.push('\n');
    }
}

/// Appends `value` escaped for a label value.
pub fn escape_label(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Render `snap` into `out` (cleared first).
pub fn render(snap: &TelemetrySnapshot, out: &mut String) {
    render_with_server(snap, &snap.server, out);
}

/// Render `snap` with the HTTP server's own, current counters (the server renders this way, so
/// its figures are exact at the time of the request).
pub fn render_with_server(snap: &TelemetrySnapshot, server: &ServerFigures, out: &mut String) {
    out.clear();
    let mut w = Writer { out };

    w.family(
        "sattebaaz_uptime_seconds",
        "gauge",
        "Seconds since the telemetry snapshot was created.",
    );
    w.sample(
        "sattebaaz_uptime_seconds",
        &[],
        Val::U(snap.now_ms.saturating_sub(snap.started_ms) / 1000),
    );
    w.family(
        "sattebaaz_engine_info",
        "gauge",
        "Constant 1, labelled with the engine mode.",
    );
    w.sample("sattebaaz_engine_info", &[("mode", snap.mode)], Val::U(1));

    strategy_families(&mut w, snap);
    connection_families(&mut w, snap);
    hot_loop_families(&mut w, snap);
    market_families(&mut w, snap);
    oracle_families(&mut w, snap);
    latency_families(&mut w, snap);
    alert_and_server_families(&mut w, snap, server);
}

type StrategyGauge = (
    &'static str,
    &'static str,
    fn(&super::snapshot::StrategyRow) -> i64,
);

type StrategyCounter = (
    &'static str,
    &'static str,
    fn(&super::snapshot::StrategyRow) -> u64,
);

fn strategy_families(w: &mut Writer<'_>, snap: &TelemetrySnapshot) {
    let counters: [StrategyCounter; 6] = [
        (
            "sattebaaz_strategy_orders_sent_total",
            "Orders the strategy sent to the venue.",
            |r| r.figures.orders_sent,
        ),
        (
            "sattebaaz_strategy_fills_total",
            "Fills on the strategy's orders.",
            |r| r.figures.fills,
        ),
        (
            "sattebaaz_strategy_partial_fills_total",
            "Fills that left part of the order open.",
            |r| r.figures.partial_fills,
        ),
        (
            "sattebaaz_strategy_cancels_total",
            "The strategy's orders canceled.",
            |r| r.figures.cancels,
        ),
        (
            "sattebaaz_strategy_would_be_orders_total",
            "Shadow mode: orders built and signed but not sent.",
            |r| r.would_be_orders,
        ),
        (
            "sattebaaz_strategy_would_be_cancels_total",
            "Shadow mode: cancels not sent.",
            |r| r.would_be_cancels,
        ),
    ];
    for (name, help, get) in counters {
        w.family(name, "counter", help);
        for row in &snap.strategies {
            w.sample(name, &[("strategy", row.strategy)], Val::U(get(row)));
        }
    }
    let name = "sattebaaz_strategy_rejects_total";
    w.family(
        name,
        "counter",
        "The strategy's orders refused, by reason (pre-trade gate, venue, local).",
    );
    for row in &snap.strategies {
        for (reason, count) in REJECT_REASONS.iter().zip(row.figures.rejects.iter()) {
            w.sample(
                name,
                &[("strategy", row.strategy), ("reason", reason)],
                Val::U(*count),
            );
        }
    }
    let name = "sattebaaz_strategy_fees_micro_total";
    w.family(name, "counter", "Fees paid by the strategy, micro-dollars.");
    for row in &snap.strategies {
        w.sample(
            name,
            &[("strategy", row.strategy)],
            Val::I(row.figures.fees_micro),
        );
    }
    let gauges: [StrategyGauge; 2] = [
        (
            "sattebaaz_strategy_realised_pnl_micro",
            "Realised P&L of the strategy, micro-dollars.",
            |r| r.figures.realised_pnl_micro,
        ),
        (
            "sattebaaz_strategy_unrealised_pnl_micro",
            "Unrealised P&L of the strategy at the mid, micro-dollars.",
            |r| r.figures.unrealised_pnl_micro,
        ),
    ];
    for (name, help, get) in gauges {
        w.family(name, "gauge", help);
        for row in &snap.strategies {
            w.sample(name, &[("strategy", row.strategy)], Val::I(get(row)));
        }
    }
}

type ConnCounter = (
    &'static str,
    &'static str,
    fn(&super::snapshot::ConnRow) -> u64,
);

fn connection_families(w: &mut Writer<'_>, snap: &TelemetrySnapshot) {
    let name = "sattebaaz_connection_up";
    w.family(name, "gauge", "1 while the feed connection is up, else 0.");
    for c in &snap.connections {
        let up = u64::from(c.state == super::snapshot::ConnState::Up);
        w.sample(
            name,
            &[("connection", c.label), ("state", c.state.name())],
            Val::U(up),
        );
    }
    let name = "sattebaaz_connection_down_seconds";
    w.family(
        name,
        "gauge",
        "Seconds the connection has been down, 0 while up.",
    );
    for c in &snap.connections {
        w.sample(name, &[("connection", c.label)], Val::U(c.down_for_s));
    }
    let counters: [ConnCounter; 4] = [
        (
            "sattebaaz_connection_connects_total",
            "Connections that came up.",
            |c| c.connects,
        ),
        (
            "sattebaaz_connection_reconnects_total",
            "Reconnect attempts scheduled.",
            |c| c.reconnects,
        ),
        (
            "sattebaaz_connection_drops_total",
            "Established connections that went down.",
            |c| c.drops,
        ),
        (
            "sattebaaz_connection_connect_failures_total",
            "Connect attempts that failed.",
            |c| c.connect_failures,
        ),
    ];
    for (name, help, get) in counters {
        w.family(name, "counter", help);
        for c in &snap.connections {
            w.sample(name, &[("connection", c.label)], Val::U(get(c)));
        }
    }
    let name = "sattebaaz_connection_errors_total";
    w.family(
        name,
        "counter",
        "Connection errors by kind (tls, protocol, watchdog).",
    );
    for c in &snap.connections {
        for (kind, v) in [
            ("tls", c.tls_errors),
            ("protocol", c.protocol_errors),
            ("watchdog", c.watchdog_fires),
        ] {
            w.sample(name, &[("connection", c.label), ("kind", kind)], Val::U(v));
        }
    }
}

fn hot_loop_families(w: &mut Writer<'_>, snap: &TelemetrySnapshot) {
    let l = &snap.hot_loop;
    w.family(
        "sattebaaz_hot_loop_iterations_total",
        "counter",
        "Hot event-loop iterations.",
    );
    w.sample(
        "sattebaaz_hot_loop_iterations_total",
        &[],
        Val::U(l.iterations),
    );
    w.family(
        "sattebaaz_feed_messages_total",
        "counter",
        "Data messages delivered by the feed connections, by source.",
    );
    w.sample(
        "sattebaaz_feed_messages_total",
        &[("source", "binance")],
        Val::U(l.messages_binance),
    );
    w.sample(
        "sattebaaz_feed_messages_total",
        &[("source", "polymarket")],
        Val::U(l.messages_polymarket),
    );
    w.family(
        "sattebaaz_feed_parse_errors_total",
        "counter",
        "Frames the parsers rejected.",
    );
    w.sample(
        "sattebaaz_feed_parse_errors_total",
        &[],
        Val::U(l.parse_errors),
    );
    w.family(
        "sattebaaz_feed_connections_open",
        "gauge",
        "Feed connections currently open (hot thread's count).",
    );
    w.sample(
        "sattebaaz_feed_connections_open",
        &[],
        Val::U(u64::from(l.open_connections)),
    );
    w.family(
        "sattebaaz_queue_drops_total",
        "counter",
        "Messages dropped because a bounded queue was full, by queue.",
    );
    w.sample(
        "sattebaaz_queue_drops_total",
        &[("queue", "hot_to_risk")],
        Val::U(snap.queue_drops),
    );
    w.sample(
        "sattebaaz_queue_drops_total",
        &[("queue", "alerts")],
        Val::U(snap.alerts.dropped),
    );
    w.family(
        "sattebaaz_risk_events_total",
        "counter",
        "Hot-thread events the risk thread received.",
    );
    w.sample("sattebaaz_risk_events_total", &[], Val::U(snap.events));
    w.family(
        "sattebaaz_hot_stalls_total",
        "counter",
        "Heartbeat checks that found the hot loop not advancing.",
    );
    w.sample("sattebaaz_hot_stalls_total", &[], Val::U(snap.hot_stalls));
    w.family(
        "sattebaaz_kill_switch_fired",
        "gauge",
        "1 once the kill switch has fired.",
    );
    w.sample(
        "sattebaaz_kill_switch_fired",
        &[],
        Val::U(u64::from(snap.kill_switch_fired)),
    );
    w.family(
        "sattebaaz_trading_paused",
        "gauge",
        "1 while trading is paused (daily-loss pause).",
    );
    w.sample(
        "sattebaaz_trading_paused",
        &[],
        Val::U(u64::from(snap.trading_paused)),
    );
}

fn market_families(w: &mut Writer<'_>, snap: &TelemetrySnapshot) {
    let mut idx = String::new();
    let name = "sattebaaz_market_info";
    w.family(
        name,
        "gauge",
        "Constant 1 per tracked market, labelled with slug, asset, window and phase.",
    );
    for m in &snap.markets {
        idx.clear();
        let _ = write!(idx, "{}", m.market);
        w.sample(
            name,
            &[
                ("market", &idx),
                ("slug", &m.slug),
                ("asset", m.asset),
                ("window", m.window),
                ("phase", m.phase),
            ],
            Val::U(1),
        );
    }
    let name = "sattebaaz_market_fair_up";
    w.family(
        name,
        "gauge",
        "Fair P(Up) = Phi(d) of the market (statistic).",
    );
    for m in &snap.markets {
        if let Some(f) = m.fair_up {
            idx.clear();
            let _ = write!(idx, "{}", m.market);
            w.sample(name, &[("market", &idx)], Val::F(f));
        }
    }
    let name = "sattebaaz_market_best_price_micro";
    w.family(
        name,
        "gauge",
        "Best bid / ask of the Up and Down books, micro-units.",
    );
    for m in &snap.markets {
        idx.clear();
        let _ = write!(idx, "{}", m.market);
        for (outcome, side, v) in [
            ("up", "bid", m.up_bid_micro),
            ("up", "ask", m.up_ask_micro),
            ("down", "bid", m.down_bid_micro),
            ("down", "ask", m.down_ask_micro),
        ] {
            if let Some(v) = v {
                w.sample(
                    name,
                    &[("market", &idx), ("outcome", outcome), ("side", side)],
                    Val::I(v),
                );
            }
        }
    }
    let name = "sattebaaz_market_ask_sum_micro";
    w.family(name, "gauge", "Up ask + Down ask, micro-units.");
    for m in &snap.markets {
        if let Some(v) = m.ask_sum_micro {
            idx.clear();
            let _ = write!(idx, "{}", m.market);
            w.sample(name, &[("market", &idx)], Val::I(v));
        }
    }
    let name = "sattebaaz_market_book_age_ms";
    w.family(
        name,
        "gauge",
        "Age of the older of the market's two books, ms.",
    );
    for m in &snap.markets {
        if let Some(v) = m.book_age_ms {
            idx.clear();
            let _ = write!(idx, "{}", m.market);
            w.sample(name, &[("market", &idx)], Val::U(v));
        }
    }
    let name = "sattebaaz_market_book_stale";
    w.family(
        name,
        "gauge",
        "1 while either of the market's books is stale.",
    );
    for m in &snap.markets {
        idx.clear();
        let _ = write!(idx, "{}", m.market);
        w.sample(name, &[("market", &idx)], Val::U(u64::from(m.stale)));
    }
    let name = "sattebaaz_market_book_stale_ms_total";
    w.family(
        name,
        "counter",
        "Time the market's books were seen stale, ms.",
    );
    for m in &snap.markets {
        idx.clear();
        let _ = write!(idx, "{}", m.market);
        w.sample(name, &[("market", &idx)], Val::U(m.stale_ms));
    }
}

fn oracle_families(w: &mut Writer<'_>, snap: &TelemetrySnapshot) {
    let name = "sattebaaz_oracle_lag_ms";
    w.family(name, "gauge", "Age of the latest Chainlink price, ms.");
    for o in &snap.oracles {
        if let Some(v) = o.lag_ms {
            w.sample(name, &[("asset", o.asset)], Val::U(v));
        }
    }
    let name = "sattebaaz_oracle_deviation_e8";
    w.family(name, "gauge", "Chainlink minus Binance price, 1e-8 USD.");
    for o in &snap.oracles {
        if let Some(v) = o.deviation_e8 {
            w.sample(name, &[("asset", o.asset)], Val::I(v));
        }
    }
    let name = "sattebaaz_oracle_deviation_bps";
    w.family(
        name,
        "gauge",
        "Chainlink minus Binance price, basis points of the Binance price (statistic).",
    );
    for o in &snap.oracles {
        if let Some(v) = o.deviation_bps {
            w.sample(name, &[("asset", o.asset)], Val::F(v));
        }
    }
}

fn latency_families(w: &mut Writer<'_>, snap: &TelemetrySnapshot) {
    let name = "sattebaaz_latency_ns";
    w.family(
        name,
        "gauge",
        "Latency percentiles per stage, nanoseconds (quantile 1 = maximum).",
    );
    for r in &snap.latency {
        for (q, v) in [
            ("0.5", r.p50_ns),
            ("0.9", r.p90_ns),
            ("0.99", r.p99_ns),
            ("0.999", r.p999_ns),
            ("1", r.max_ns),
        ] {
            w.sample(name, &[("stage", &r.stage), ("quantile", q)], Val::U(v));
        }
    }
    let name = "sattebaaz_latency_samples_total";
    w.family(name, "counter", "Latency samples recorded per stage.");
    for r in &snap.latency {
        w.sample(name, &[("stage", &r.stage)], Val::U(r.count));
    }
}

fn alert_and_server_families(w: &mut Writer<'_>, snap: &TelemetrySnapshot, s: &ServerFigures) {
    let a = &snap.alerts;
    w.family(
        "sattebaaz_alerts_queued_total",
        "counter",
        "Alerts handed to the alert worker.",
    );
    w.sample("sattebaaz_alerts_queued_total", &[], Val::U(a.queued));
    w.family(
        "sattebaaz_alerts_deduplicated_total",
        "counter",
        "Alerts not sent because the same alert was sent within the dedup window.",
    );
    w.sample(
        "sattebaaz_alerts_deduplicated_total",
        &[],
        Val::U(a.deduplicated),
    );
    for (name, help, values) in [
        (
            "sattebaaz_alerts_sent_total",
            "Alert messages delivered, by destination.",
            a.sent,
        ),
        (
            "sattebaaz_alerts_failed_total",
            "Alert messages that failed (error, timeout, non-2xx), by destination.",
            a.failed,
        ),
        (
            "sattebaaz_alerts_rate_limited_total",
            "Alert messages dropped by the per-minute limit, by destination.",
            a.rate_limited,
        ),
    ] {
        w.family(name, "counter", help);
        for (dest, v) in DESTINATIONS.iter().zip(values) {
            w.sample(name, &[("destination", dest)], Val::U(v));
        }
    }
    let name = "sattebaaz_http_responses_total";
    w.family(
        name,
        "counter",
        "Responses of the telemetry HTTP server, by status code.",
    );
    let mut code = String::new();
    for (status, v) in SERVER_STATUSES.iter().zip(s.responses) {
        code.clear();
        let _ = write!(code, "{status}");
        w.sample(name, &[("code", &code)], Val::U(v));
    }
    w.family(
        "sattebaaz_http_refused_total",
        "counter",
        "Telemetry HTTP connections refused at the connection limit.",
    );
    w.sample("sattebaaz_http_refused_total", &[], Val::U(s.refused));
    w.family(
        "sattebaaz_http_timeouts_total",
        "counter",
        "Telemetry HTTP connections closed by the read or write timeout.",
    );
    w.sample("sattebaaz_http_timeouts_total", &[], Val::U(s.timeouts));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut s = String::new();
        escape_label(&mut s, "a\\b\"c\nd");
        assert_eq!(s, "a\\\\b\\\"c\\nd");
    }
}
