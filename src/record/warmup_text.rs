//! The start-up candle warm-up (closed 1-minute spot candles per asset, fetched over REST
//! before the hot thread starts) as text, so a replay of a recording starts with the same
//! candle history as the run it recorded.
//!
//! Format: first line `warmup <asset short name> <count>`, then one line per candle, oldest
//! first: `<open_ms> <open> <high> <low> <close> <volume> <buy_volume> <sell_volume> <trades>
//! <first_trade_id> <last_trade_id>` (prices and volumes in the parser's fixed-point units).
//!
//! Invariant: `parse(&encode(h)) == Some(h)`; malformed text (wrong count, bad field) is `None`.

use crate::feeds::binance::candles::Candle;
use crate::feeds::binance::records::Asset;
use crate::feeds::binance::warmup::AssetHistory;

/// One asset's history as text.
pub fn encode(h: &AssetHistory) -> String {
    let mut s = format!("warmup {} {}\n", h.asset.short_name(), h.candles.len());
    for c in &h.candles {
        s.push_str(&format!(
            "{} {} {} {} {} {} {} {} {} {} {}\n",
            c.open_ms,
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,
            c.buy_volume,
            c.sell_volume,
            c.trades,
            c.first_trade_id,
            c.last_trade_id
        ));
    }
    s
}

/// Parse text written by [`encode`].
pub fn parse(text: &str) -> Option<AssetHistory> {
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next()?.split(' ').collect();
    let (asset, count) = match head.as_slice() {
        ["warmup", a, n] => (Asset::from_short_name(a)?, n.parse::<usize>().ok()?),
        _ => return None,
    };
    let mut candles = Vec::with_capacity(count.min(100_000));
    for line in lines {
        let f: Vec<&str> = line.split(' ').collect();
        let [open_ms, open, high, low, close, volume, buy, sell, trades, first, last] =
            f.as_slice()
        else {
            return None;
        };
        candles.push(Candle {
            open_ms: open_ms.parse().ok()?,
            open: open.parse().ok()?,
            high: high.parse().ok()?,
            low: low.parse().ok()?,
            close: close.parse().ok()?,
            volume: volume.parse().ok()?,
            buy_volume: buy.parse().ok()?,
            sell_volume: sell.parse().ok()?,
            trades: trades.parse().ok()?,
            first_trade_id: first.parse().ok()?,
            last_trade_id: last.parse().ok()?,
        });
    }
    (candles.len() == count).then_some(AssetHistory { asset, candles })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let c = Candle {
            open_ms: 1_800_000_000_000,
            open: 6_100_000_000_000,
            high: 6_110_000_000_000,
            low: 6_090_000_000_000,
            close: 6_105_000_000_000,
            volume: 12_345_678,
            buy_volume: 7_000_000,
            sell_volume: 5_345_678,
            trades: 42,
            first_trade_id: 1,
            last_trade_id: 42,
        };
        let h = AssetHistory {
            asset: Asset::Eth,
            candles: vec![
                c,
                Candle {
                    open_ms: c.open_ms + 60_000,
                    ..c
                },
            ],
        };
        let text = encode(&h);
        let back = parse(&text).unwrap();
        assert_eq!(back.asset, Asset::Eth);
        assert_eq!(back.candles, h.candles);
        assert!(parse(&text.replacen("warmup eth 2", "warmup eth 3", 1)).is_none());
        assert!(parse(&text.replacen("warmup eth", "warmup doge", 1)).is_none());
        assert!(parse(&text.replacen(" 42\n", " x\n", 1)).is_none());
        assert!(parse("").is_none());
    }
}
