//! The live table shown by `demo` and `monitor`: one row per (venue, asset) with prices, trade and
//! book-update counts and 60 s taker flow, then one row per connection with its network counters.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_render_with_requested_decimals() {
        assert_eq!(px(6_500_012_345_678, 2), "65000.12");
        assert_eq!(px(60_000_000, 5), "0.6");
        assert_eq!(px(0, 2), "-");
    }
}
