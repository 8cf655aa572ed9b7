//! Up/Down windows: price to beat at the start, settlement at the end, from the tick rings.
//!
//! A window is `[start_s, end_s)` (5 m: `start % 300 == 0`; 15 m: `start % 900 == 0`). The value
//! at a boundary depends on the market's [`SettlementRule`]:
//! * [`SettlementRule::SpotLastTick`] (markets before 2026-08-07): the price to beat is the
//!   Chainlink spot tick observed at exactly `start_s`; the close is the last tick at or before
//!   `end_s`, at most `max_close_age_s` older than `end_s` (0 = the closing-second tick itself).
//! * [`SettlementRule::SpotTwap`]: the mean of the spot ticks observed in the `lookback_s`
//!   seconds ending at the boundary (`b - lookback_s + 1 ..= b`), at both boundaries, requiring
//!   at least `min_ticks` ticks. Chainlink does not publish its TWAP sampling, weighting or
//!   rounding, so this is an estimate of the official value, not a reproduction.
//! * [`SettlementRule::TwapFeed`]: the `crypto_prices_twap_sixty` values stamped at exactly
//!   `start_s` and `end_s`.
//!
//! Up iff close ≥ open (ties resolve Up). Means are compared exactly by cross-multiplying the
//! E18 sums with the tick counts; no rounding enters the decision. Any missing, evicted,
//! not-yet-final or inexact (float-derived) value makes the answer a [`Missing`]: fail closed.

use thiserror::Error;

use super::ring::{RingMiss, TickRing};
use crate::feeds::binance::records::Asset;

/// One Up/Down window `[start_s, end_s)`, Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub start_s: u64,
    pub end_s: u64,
}

impl Window {
    /// Five minutes.
    pub const FIVE_MIN_S: u64 = 300;
    /// Fifteen minutes.
    pub const FIFTEEN_MIN_S: u64 = 900;

    /// `[start_s, start_s + len_s)` if `len_s > 0` and `start_s` is a multiple of `len_s`.
    pub fn aligned(start_s: u64, len_s: u64) -> Option<Window> {
        if len_s == 0 || start_s % len_s != 0 {
            return None;
        }
        Some(Window {
            start_s,
            end_s: start_s.checked_add(len_s)?,
        })
    }

    /// The 5-minute window starting at `start_s` (must be aligned).
    pub fn five_minute(start_s: u64) -> Option<Window> {
        Self::aligned(start_s, Self::FIVE_MIN_S)
    }

    /// The 15-minute window starting at `start_s` (must be aligned).
    pub fn fifteen_minute(start_s: u64) -> Option<Window> {
        Self::aligned(start_s, Self::FIFTEEN_MIN_S)
    }

    /// The aligned window of length `len_s` (> 0) containing second `ts_s`.
    pub fn containing(ts_s: u64, len_s: u64) -> Option<Window> {
        let start = ts_s.checked_div(len_s)? * len_s;
        Self::aligned(start, len_s)
    }

    /// Length in seconds.
    pub const fn len_s(&self) -> u64 {
        self.end_s.saturating_sub(self.start_s)
    }

    /// Asset and window of a market slug `btc-updown-5m-<start>` / `eth-updown-15m-<start>`.
    pub fn from_slug(slug: &str) -> Option<(Asset, Window)> {
        let mut parts = slug.split('-');
        let asset = Asset::from_short_name(parts.next()?)?;
        if parts.next()? != "updown" {
            return None;
        }
        let len = match parts.next()? {
            "5m" => Self::FIVE_MIN_S,
            "15m" => Self::FIFTEEN_MIN_S,
            _ => return None,
        };
        let start_txt = parts.next()?;
        if parts.next().is_some() || !start_txt.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let start: u64 = start_txt.parse().ok()?;
        Some((asset, Self::aligned(start, len)?))
    }
}

/// How a market's open and close values are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettlementRule {
    /// Pre-2026-08-07 spot rule: tick at `start_s` vs last tick at or before `end_s`.
    SpotLastTick { max_close_age_s: u32 },
    /// Mean of spot ticks over `lookback_s` seconds ending at each boundary.
    SpotTwap { lookback_s: u32, min_ticks: u32 },
    /// The relayed 60 s TWAP values stamped at `start_s` and `end_s`.
    TwapFeed,
}

impl SettlementRule {
    /// The spot rule, requiring the closing-second tick (reproduces official outcomes).
    pub const SPOT_EXACT_CLOSE: SettlementRule =
        SettlementRule::SpotLastTick { max_close_age_s: 0 };
    /// 60 s TWAP of spot ticks requiring every one of the 60 seconds.
    pub const TWAP60_FULL: SettlementRule = SettlementRule::SpotTwap {
        lookback_s: 60,
        min_ticks: 60,
    };
}

/// Winning side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Up,
    Down,
}

/// A boundary value: the mean `sum_e18 / ticks` of the ticks used (one tick for spot rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundaryValue {
    /// Boundary second (`start_s` or `end_s`).
    pub at_s: u64,
    /// Observation second of the (last) tick used.
    pub last_obs_s: u64,
    pub sum_e18: i128,
    pub ticks: u32,
}

impl BoundaryValue {
    fn single(at_s: u64, obs_s: u64, price_e18: i128) -> Self {
        BoundaryValue {
            at_s,
            last_obs_s: obs_s,
            sum_e18: price_e18,
            ticks: 1,
        }
    }

    /// The value × 1e18, rounded toward −∞ for means (exact for single ticks).
    pub fn value_e18(&self) -> i128 {
        self.sum_e18.div_euclid(i128::from(self.ticks.max(1)))
    }
}

/// A settled (or settleable) window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    pub outcome: Outcome,
    pub open: BoundaryValue,
    pub close: BoundaryValue,
}

/// Why a price to beat or settlement cannot be given (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Missing {
    #[error("asset is not monitored")]
    AssetNotMonitored,
    #[error("window end is not after its start")]
    BadWindow,
    #[error("no tick observed at second {second}")]
    NoTick { second: u64 },
    #[error("second {second} is older than the kept history")]
    Evicted { second: u64 },
    #[error("no observation at or after second {second} yet")]
    NotYet { second: u64 },
    #[error("tick at second {second} is float-derived, not exact")]
    Inexact { second: u64 },
    #[error("{have} of {need} ticks in the lookback ending at {boundary_s}")]
    TooFewTicks {
        boundary_s: u64,
        have: u32,
        need: u32,
    },
    #[error("arithmetic overflow")]
    Overflow,
}

fn miss(m: RingMiss, second: u64) -> Missing {
    match m {
        RingMiss::Absent => Missing::NoTick { second },
        RingMiss::Evicted => Missing::Evicted { second },
        RingMiss::NotYet => Missing::NotYet { second },
    }
}

/// The exact tick at second `s`.
pub fn exact_at(ring: &TickRing, s: u64) -> Result<BoundaryValue, Missing> {
    let t = ring.get(s).map_err(|m| miss(m, s))?;
    if !t.exact {
        return Err(Missing::Inexact { second: s });
    }
    Ok(BoundaryValue::single(s, s, t.price_e18))
}

fn twap_at(
    ring: &TickRing,
    b: u64,
    lookback_s: u32,
    min_ticks: u32,
) -> Result<BoundaryValue, Missing> {
    let lookback = u64::from(lookback_s.max(1));
    let from = b.checked_sub(lookback - 1).ok_or(Missing::BadWindow)?;
    let r = ring.sum_range(from, b).map_err(|m| miss(m, b))?;
    if r.inexact > 0 {
        return Err(Missing::Inexact { second: b });
    }
    let need = min_ticks.max(1);
    if r.count < need {
        return Err(Missing::TooFewTicks {
            boundary_s: b,
            have: r.count,
            need,
        });
    }
    Ok(BoundaryValue {
        at_s: b,
        last_obs_s: b,
        sum_e18: r.sum_e18,
        ticks: r.count,
    })
}

/// The opening value (price to beat) of a window starting at `start_s` under `rule`.
pub fn open_value(
    spot: &TickRing,
    twap: &TickRing,
    start_s: u64,
    rule: SettlementRule,
) -> Result<BoundaryValue, Missing> {
    match rule {
        SettlementRule::SpotLastTick { .. } => exact_at(spot, start_s),
        SettlementRule::SpotTwap {
            lookback_s,
            min_ticks,
        } => twap_at(spot, start_s, lookback_s, min_ticks),
        SettlementRule::TwapFeed => exact_at(twap, start_s),
    }
}

/// The closing value of a window ending at `end_s` under `rule`. Only final once an
/// observation at or after `end_s` exists (else [`Missing::NotYet`]).
pub fn close_value(
    spot: &TickRing,
    twap: &TickRing,
    end_s: u64,
    rule: SettlementRule,
) -> Result<BoundaryValue, Missing> {
    match rule {
        SettlementRule::SpotLastTick { max_close_age_s } => {
            if spot.newest_s().is_none_or(|n| n < end_s) {
                return Err(Missing::NotYet { second: end_s });
            }
            let floor = end_s.saturating_sub(u64::from(max_close_age_s));
            let t = spot
                .last_at_or_before(end_s, floor)
                .map_err(|m| miss(m, end_s))?;
            if !t.exact {
                return Err(Missing::Inexact { second: t.obs_s });
            }
            Ok(BoundaryValue::single(end_s, t.obs_s, t.price_e18))
        }
        SettlementRule::SpotTwap {
            lookback_s,
            min_ticks,
        } => twap_at(spot, end_s, lookback_s, min_ticks),
        SettlementRule::TwapFeed => exact_at(twap, end_s),
    }
}

/// Decide the outcome from two boundary values, exactly: Up iff close mean ≥ open mean.
pub fn decide(open: BoundaryValue, close: BoundaryValue) -> Result<Settlement, Missing> {
    let lhs = close
        .sum_e18
        .checked_mul(i128::from(open.ticks))
        .ok_or(Missing::Overflow)?;
    let rhs = open
        .sum_e18
        .checked_mul(i128::from(close.ticks))
        .ok_or(Missing::Overflow)?;
    let outcome = if lhs >= rhs {
        Outcome::Up
    } else {
        Outcome::Down
    };
    Ok(Settlement {
        outcome,
        open,
        close,
    })
}

/// Settle `window` under `rule` from the rings.
pub fn settle(
    spot: &TickRing,
    twap: &TickRing,
    window: Window,
    rule: SettlementRule,
) -> Result<Settlement, Missing> {
    if window.end_s <= window.start_s {
        return Err(Missing::BadWindow);
    }
    let open = open_value(spot, twap, window.start_s, rule)?;
    let close = close_value(spot, twap, window.end_s, rule)?;
    decide(open, close)
}

/// Settle against a known price to beat (e.g. the official `priceToBeat`), closing at `end_s`.
pub fn settle_against(
    spot: &TickRing,
    twap: &TickRing,
    price_to_beat_e18: i128,
    end_s: u64,
    rule: SettlementRule,
) -> Result<Settlement, Missing> {
    let close = close_value(spot, twap, end_s, rule)?;
    let open = BoundaryValue {
        at_s: 0,
        last_obs_s: 0,
        sum_e18: price_to_beat_e18,
        ticks: 1,
    };
    decide(open, close)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_780_876_800; // multiple of 900

    fn ring(ticks: &[(u64, i128)]) -> TickRing {
        let mut r = TickRing::new();
        for &(s, p) in ticks {
            r.insert(s, p, true);
        }
        r
    }

    #[test]
    fn windows_and_slugs() {
        assert_eq!(Window::five_minute(S).unwrap().end_s, S + 300);
        assert!(Window::five_minute(S + 1).is_none());
        assert!(Window::fifteen_minute(S + 300).is_none());
        assert_eq!(Window::containing(S + 899, 900), Window::fifteen_minute(S));
        assert_eq!(
            Window::from_slug("btc-updown-5m-1780876500"),
            Some((Asset::Btc, Window::five_minute(1_780_876_500).unwrap()))
        );
        assert_eq!(
            Window::from_slug("eth-updown-15m-1780876800").map(|(a, w)| (a, w.len_s())),
            Some((Asset::Eth, 900))
        );
        assert_eq!(Window::from_slug("btc-updown-5m-1780876501"), None);
        assert_eq!(Window::from_slug("btc-updown-1h-1780876800"), None);
        assert_eq!(Window::from_slug("doge-updown-5m-1780876800"), None);
        assert_eq!(Window::from_slug("btc-updown-5m-+1780876800"), None);
    }

    #[test]
    fn spot_rule_tie_is_up_and_missing_fails_closed() {
        let empty = TickRing::new();
        let w = Window::five_minute(S).unwrap();
        let r = ring(&[(S, 100), (S + 150, 90), (S + 300, 100), (S + 301, 1)]);
        let s = settle(&r, &empty, w, SettlementRule::SPOT_EXACT_CLOSE).unwrap();
        assert_eq!(s.outcome, Outcome::Up);
        let r = ring(&[(S, 100), (S + 300, 99)]);
        let s = settle(&r, &empty, w, SettlementRule::SPOT_EXACT_CLOSE).unwrap();
        assert_eq!(s.outcome, Outcome::Down);
        // Closing second absent: exact rule refuses, a 5 s tolerance uses S+297.
        let r = ring(&[(S, 100), (S + 297, 101), (S + 302, 50)]);
        assert_eq!(
            settle(&r, &empty, w, SettlementRule::SPOT_EXACT_CLOSE),
            Err(Missing::NoTick { second: S + 300 })
        );
        let lenient = SettlementRule::SpotLastTick { max_close_age_s: 5 };
        let s = settle(&r, &empty, w, lenient).unwrap();
        assert_eq!((s.outcome, s.close.last_obs_s), (Outcome::Up, S + 297));
        // Not final before an observation at/after the end exists.
        let r = ring(&[(S, 100), (S + 299, 101)]);
        assert_eq!(
            settle(&r, &empty, w, lenient),
            Err(Missing::NotYet { second: S + 300 })
        );
        // Start tick absent.
        let r = ring(&[(S + 1, 100), (S + 300, 101)]);
        assert_eq!(
            settle(&r, &empty, w, SettlementRule::SPOT_EXACT_CLOSE),
            Err(Missing::NoTick { second: S })
        );
        // Inexact ticks never decide.
        let mut r = ring(&[(S + 300, 101)]);
        r.insert(S, 100, false);
        assert_eq!(
            settle(&r, &empty, w, SettlementRule::SPOT_EXACT_CLOSE),
            Err(Missing::Inexact { second: S })
        );
    }

    #[test]
    fn twap_rule_exact_integer_mean() {
        let empty = TickRing::new();
        let w = Window::five_minute(S).unwrap();
        let mut r = TickRing::new();
        // Open lookback S-59..=S: values 1000..1059 -> mean 1029.5; close S+241..=S+300.
        for i in 0..60u64 {
            r.insert(S - 59 + i, 1000 + i as i128, true);
        }
        // Close: 59 ticks of 1030 and one of 1000 -> sum 61770 (mean 1029.5) = tie -> Up.
        for i in 0..60u64 {
            r.insert(S + 241 + i, if i == 0 { 1000 } else { 1030 }, true);
        }
        let s = settle(&r, &empty, w, SettlementRule::TWAP60_FULL).unwrap();
        assert_eq!(s.open.sum_e18, (1000..1060).sum::<i128>());
        assert_eq!(s.close.sum_e18, 1000 + 59 * 1030);
        assert_eq!(s.outcome, Outcome::Up);
        assert_eq!(s.open.value_e18(), 1029);
        // One unit lower at the close -> Down (the floored means would still tie).
        r.insert(S + 241, 999, true);
        let s = settle(&r, &empty, w, SettlementRule::TWAP60_FULL).unwrap();
        assert_eq!(s.outcome, Outcome::Down);
        // A hole in the close lookback: strict rule refuses, 59-of-60 accepts.
        let mut r2 = TickRing::new();
        for i in 0..60u64 {
            r2.insert(S - 59 + i, 1000, true);
        }
        for i in 0..60u64 {
            if i != 30 {
                r2.insert(S + 241 + i, 1000, true);
            }
        }
        assert_eq!(
            settle(&r2, &empty, w, SettlementRule::TWAP60_FULL),
            Err(Missing::TooFewTicks {
                boundary_s: S + 300,
                have: 59,
                need: 60
            })
        );
        let relaxed = SettlementRule::SpotTwap {
            lookback_s: 60,
            min_ticks: 59,
        };
        assert_eq!(
            settle(&r2, &empty, w, relaxed).unwrap().outcome,
            Outcome::Up
        );
    }

    #[test]
    fn twap_feed_rule_and_settle_against() {
        let w = Window::fifteen_minute(S).unwrap();
        let spot = ring(&[(S + 900, 50)]);
        let twap = ring(&[(S, 200), (S + 900, 199)]);
        let s = settle(&spot, &twap, w, SettlementRule::TwapFeed).unwrap();
        assert_eq!(s.outcome, Outcome::Down);
        let s =
            settle_against(&spot, &twap, 50, S + 900, SettlementRule::SPOT_EXACT_CLOSE).unwrap();
        assert_eq!(s.outcome, Outcome::Up);
        let s =
            settle_against(&spot, &twap, 51, S + 900, SettlementRule::SPOT_EXACT_CLOSE).unwrap();
        assert_eq!(s.outcome, Outcome::Down);
    }
}
