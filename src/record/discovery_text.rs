//! Discovery messages as one line of text, so a recording carries the markets the engine was
//! told about (the risk thread writes them; replay reads them back).
//!
//! Format (space-separated, one message per record):
//! `new <idx> <asset> <window> <start_s> <end_s> <condition hex> <up hex> <down hex> <tick_micros>
//! <min_size_micros> <neg_risk 0|1> <fee_rate_ppm> <fee_exponent> <taker_only 0|1> <point|twap:N>`,
//! `resolved <idx> <up|down>`, `retire <idx>`. Ids are 64 lower-case hex digits.
//!
//! Invariant: `parse(&encode(m)) == Some(m)` for every message; malformed text is `None`.

use crate::config::{Asset, Window};
use crate::discovery::gamma::{Outcome, Settlement};
use crate::discovery::{DiscoveryMsg, MarketIdx, MarketRecord};

fn hex32(b: &[u8; 32]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Parse a config asset name (`btc`, ...).
pub fn asset_of(s: &str) -> Option<Asset> {
    [Asset::Btc, Asset::Eth, Asset::Sol, Asset::Xrp]
        .into_iter()
        .find(|a| a.as_str() == s)
}

/// Parse a window name (`5m`, `15m`).
pub fn window_of(s: &str) -> Option<Window> {
    [Window::Min5, Window::Min15]
        .into_iter()
        .find(|w| w.as_str() == s)
}

/// One message as a line (no newline).
pub fn encode(msg: &DiscoveryMsg) -> String {
    match msg {
        DiscoveryMsg::NewMarket(r) => format!(
            "new {} {} {} {} {} {} {} {} {} {} {} {} {} {} {}",
            r.idx.0,
            r.asset.as_str(),
            r.window.as_str(),
            r.start_s,
            r.end_s,
            hex32(&r.condition_id),
            hex32(&r.up_token),
            hex32(&r.down_token),
            r.tick_micros,
            r.min_size_micros,
            u8::from(r.neg_risk),
            r.fee_rate_ppm,
            r.fee_exponent,
            u8::from(r.fee_taker_only),
            match r.settlement {
                Settlement::Point => "point".to_string(),
                Settlement::Twap { lookback_s } => format!("twap:{lookback_s}"),
            }
        ),
        DiscoveryMsg::MarketResolved { idx, winner } => format!(
            "resolved {} {}",
            idx.0,
            match winner {
                Outcome::Up => "up",
                Outcome::Down => "down",
            }
        ),
        DiscoveryMsg::RetireMarket { idx } => format!("retire {}", idx.0),
    }
}

fn flag(s: &str) -> Option<bool> {
    match s {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// Parse a line written by [`encode`].
pub fn parse(text: &str) -> Option<DiscoveryMsg> {
    let f: Vec<&str> = text.split(' ').collect();
    match f.as_slice() {
        ["new", idx, asset, window, start, end, cond, up, down, tick, min, neg, fee, exp, taker, settle] =>
        {
            let settlement = match *settle {
                "point" => Settlement::Point,
                s => Settlement::Twap {
                    lookback_s: s.strip_prefix("twap:")?.parse().ok()?,
                },
            };
            Some(DiscoveryMsg::NewMarket(MarketRecord {
                idx: MarketIdx(idx.parse().ok()?),
                asset: asset_of(asset)?,
                window: window_of(window)?,
                start_s: start.parse().ok()?,
                end_s: end.parse().ok()?,
                condition_id: unhex32(cond)?,
                up_token: unhex32(up)?,
                down_token: unhex32(down)?,
                tick_micros: tick.parse().ok()?,
                min_size_micros: min.parse().ok()?,
                neg_risk: flag(neg)?,
                fee_rate_ppm: fee.parse().ok()?,
                fee_exponent: exp.parse().ok()?,
                fee_taker_only: flag(taker)?,
                settlement,
            }))
        }
        ["resolved", idx, w] => Some(DiscoveryMsg::MarketResolved {
            idx: MarketIdx(idx.parse().ok()?),
            winner: match *w {
                "up" => Outcome::Up,
                "down" => Outcome::Down,
                _ => return None,
            },
        }),
        ["retire", idx] => Some(DiscoveryMsg::RetireMarket {
            idx: MarketIdx(idx.parse().ok()?),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> MarketRecord {
        MarketRecord {
            idx: MarketIdx(7),
            asset: Asset::Eth,
            window: Window::Min15,
            start_s: 1_800_000_000,
            end_s: 1_800_000_900,
            condition_id: [0xab; 32],
            up_token: [1; 32],
            down_token: [0xfe; 32],
            tick_micros: 10_000,
            min_size_micros: 5_000_000,
            neg_risk: false,
            fee_rate_ppm: 70_000,
            fee_exponent: 1,
            fee_taker_only: true,
            settlement: Settlement::Twap { lookback_s: 60 },
        }
    }

    #[test]
    fn round_trips() {
        for m in [
            DiscoveryMsg::NewMarket(record()),
            DiscoveryMsg::NewMarket(MarketRecord {
                settlement: Settlement::Point,
                neg_risk: true,
                ..record()
            }),
            DiscoveryMsg::MarketResolved {
                idx: MarketIdx(3),
                winner: Outcome::Down,
            },
            DiscoveryMsg::RetireMarket {
                idx: MarketIdx(65535),
            },
        ] {
            let line = encode(&m);
            let back = parse(&line).unwrap();
            assert_eq!(encode(&back), line);
        }
    }

    #[test]
    fn refuses_malformed() {
        let good = encode(&DiscoveryMsg::NewMarket(record()));
        assert!(parse(&good.replace(" eth ", " doge ")).is_none());
        assert!(parse(&good.replace("twap:60", "twap:x")).is_none());
        assert!(parse(&good[..good.len() - 3]).is_none());
        assert!(parse("resolved 3 sideways").is_none());
        assert!(parse("retire -1").is_none());
        assert!(parse("").is_none());
    }
}
