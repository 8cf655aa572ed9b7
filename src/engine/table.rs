//! The live table shown by `demo` and `monitor`: one row per (venue, asset) with prices, trade and
//! book-update counts and 60 s taker flow, then one row per tracked Polymarket market (phase,
//! Binance / oracle / price-to-beat prices, fair P(Up), Up/Down best prices and their ask sum,
//! book freshness), then one row per connection with its network counters.
//! Rendered on the risk/telemetry thread (formatting allowed there).

use std::fmt::Write;
use std::time::Duration;

use super::risk::RiskReport;
use crate::feeds::binance::records::Venue;
use crate::fixed::write_fixed;

/// Format a 1e-8 fixed-point value with `decimals` places (truncated), or `-` for 0.
fn px(v: i64, decimals: u32) -> String {
    if v == 0 {
        return "-".into();
    }
    let cut = 10i64.pow(8 - decimals.min(8));
    let mut buf = [0u8; 48];
    match write_fixed(&mut buf, v / cut, decimals) {
        Some(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        None => "?".into(),
    }
}

/// Render the table as text.
pub fn render_table(report: &RiskReport, labels: &[&str], elapsed: Duration) -> String {
    let mut s = String::with_capacity(4096);
    let l = &report.last_loop;
    let _ = writeln!(
        s,
        "sattebaaz  t={:>6.1}s  loop iterations {}  messages {}  parse errors {}  queue drops {}  connections {}/{} open",
        elapsed.as_secs_f64(),
        l.iterations,
        l.messages,
        l.parse_errors,
        l.queue_drops,
        l.open_connections,
        l.connections
    );
    let _ = writeln!(
        s,
        "{:<8} {:<6} {:>14} {:>14} {:>14} {:>9} {:>9} {:>12} {:>12} {:>10} {:>7}",
        "venue",
        "asset",
        "last",
        "bid",
        "ask",
        "trades",
        "book upd",
        "buy 60s",
        "sell 60s",
        "funding",
        "candles"
    );
    let mut views = report.views.clone();
    views.sort_by_key(|v| (v.asset, v.venue.index()));
    for v in &views {
        let decimals = if v.bid_px != 0 && v.bid_px < 100_000_000 {
            5
        } else {
            2
        };
        let funding = if v.venue == Venue::Futures && v.funding_rate != 0 {
            format!("{:.4}%", v.funding_rate as f64 / 1e6)
        } else {
            "-".into()
        };
        let _ = writeln!(
            s,
            "{:<8} {:<6} {:>14} {:>14} {:>14} {:>9} {:>9} {:>12} {:>12} {:>10} {:>7}",
            match v.venue {
                Venue::Spot => "spot",
                Venue::Futures => "futures",
            },
            v.asset.short_name(),
            px(v.last_px, decimals),
            px(v.bid_px, decimals),
            px(v.ask_px, decimals),
            v.trades,
            v.book_updates,
            px(v.taker_buy_60s, 3),
            px(v.taker_sell_60s, 3),
            funding,
            v.candles_closed
        );
    }
    render_markets(&mut s, report);
    let _ = writeln!(
        s,
        "{:<26} {:>9} {:>9} {:>7} {:>9} {:>9} {:>12}",
        "connection", "connects", "failures", "drops", "reconn.", "watchdog", "bytes in"
    );
    for (i, c) in report.net.iter().enumerate() {
        let _ = writeln!(
            s,
            "{:<26} {:>9} {:>9} {:>7} {:>9} {:>9} {:>12}",
            labels.get(i).copied().unwrap_or("?"),
            c.connects,
            c.connect_failures,
            c.drops,
            c.reconnects,
            c.watchdog_fires,
            c.bytes_in
        );
    }
    s
}

/// A book price (micro-units) as `0.534`, or `-`.
fn book_px(v: Option<i64>) -> String {
    match v {
        Some(p) => {
            let mut buf = [0u8; 32];
            match write_fixed(&mut buf, p, 6) {
                Some(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
                None => "?".into(),
            }
        }
        None => "-".into(),
    }
}

/// Decimals for an asset price (1e-8): 5 below $1, 2 otherwise.
fn decimals_for(px: i64) -> u32 {
    if px != 0 && px < 100_000_000 {
        5
    } else {
        2
    }
}

fn render_markets(s: &mut String, report: &RiskReport) {
    if report.markets.is_empty() {
        if let Some(d) = &report.discovery {
            let _ = writeln!(s, "markets: none tracked (discovered {})", d.discovered);
        }
        return;
    }
    let _ = writeln!(
        s,
        "{:<30} {:<8} {:>6} {:>12} {:>12} {:>7} {:>12} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} flags",
        "market",
        "phase",
        "left",
        "binance",
        "oracle",
        "age ms",
        "to beat",
        "fair",
        "up bid",
        "up ask",
        "dn bid",
        "dn ask",
        "ask sum",
        "book ms"
    );
    let mut markets = report.markets.clone();
    markets.sort_by_key(|m| (m.asset, m.window.secs(), m.start_s));
    for m in &markets {
        let slug = report
            .known_slugs
            .iter()
            .find(|(i, _)| *i == m.market)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| {
                format!(
                    "{}-updown-{}-{}",
                    m.asset.short_name(),
                    m.window.as_str(),
                    m.start_s
                )
            });
        let left_s = (m.end_s * 1000).saturating_sub(m.at_ms) / 1000;
        let d = decimals_for(m.binance_px);
        let mut flags = String::new();
        if m.awaiting_snapshot {
            flags.push_str("awaiting ");
        }
        if m.stale {
            flags.push_str("stale ");
        }
        if m.oracle_stale {
            flags.push_str("oracle-stale ");
        }
        if m.price_to_beat.is_none() {
            flags.push_str("no-ptb ");
        }
        let _ = writeln!(
            s,
            "{:<30} {:<8} {:>6} {:>12} {:>12} {:>7} {:>12} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {}",
            slug,
            m.phase.label(),
            left_s,
            px(m.binance_px, d),
            m.oracle_px.map_or("-".into(), |p| px(p, d)),
            m.oracle_age_ms.map_or("-".into(), |a| a.to_string()),
            m.price_to_beat.map_or("missing".into(), |p| px(p, d)),
            m.fair_up.map_or("-".into(), |p| format!("{p:.3}")),
            book_px(m.up_bid),
            book_px(m.up_ask),
            book_px(m.down_bid),
            book_px(m.down_ask),
            book_px(m.ask_sum),
            m.book_age_ms.map_or("-".into(), |a| a.to_string()),
            flags.trim_end()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_render_with_requested_decimals() {
        assert_eq!(px(6_500_012_345_678, 2), "65000.12");
        assert_eq!(px(60_000_000, 5), "0.6");
        assert_eq!(px(0, 2), "-");
        assert_eq!(book_px(Some(534_000)), "0.534");
        assert_eq!(book_px(None), "-");
    }

    #[test]
    fn market_rows_render_under_the_assets() {
        use crate::config::Window;
        use crate::engine::market_view::Phase;
        use crate::engine::messages::MarketView;
        use crate::feeds::binance::records::Asset;
        let view = MarketView {
            market: 3,
            asset: Asset::Btc,
            window: Window::Min5,
            start_s: 1_700_000_100,
            end_s: 1_700_000_400,
            phase: Phase::Prime,
            resolved: false,
            binance_px: 6_500_012_000_000,
            oracle_px: Some(6_500_000_000_000),
            oracle_age_ms: Some(900),
            oracle_stale: false,
            price_to_beat: None,
            fair_up: Some(0.612),
            up_bid: Some(510_000),
            up_ask: Some(520_000),
            down_bid: Some(480_000),
            down_ask: Some(490_000),
            ask_sum: Some(1_010_000),
            book_age_ms: Some(12),
            stale: false,
            awaiting_snapshot: true,
            snapshots: 2,
            at_ms: 1_700_000_200_000,
        };
        let report = RiskReport {
            markets: vec![view],
            ..RiskReport::default()
        };
        let t = render_table(&report, &[], Duration::from_secs(1));
        let row = t
            .lines()
            .find(|l| l.starts_with("btc-updown-5m-1700000100"))
            .expect("a market row");
        for want in [
            "prime", "65000.12", "missing", "0.612", "0.51", "1.01", "awaiting",
        ] {
            assert!(row.contains(want), "{want} in {row}");
        }
    }
}
