//! Per-market arithmetic the hot thread needs to describe a window without allocating: the
//! window phase (strategy spec §2, boundaries scaled to the window's real length), the fair
//! probability of Up (spec §3, `Φ(d)` with the default annual vols; f64 is used only for this
//! statistic), and the text forms of the 32-byte ids a `MarketRecord` carries (decimal token
//! ids, `0x` hex condition ids) written into stack buffers, and the registration of a
//! discovered market's two books under those ids.

use crate::config::Window;
use crate::feeds::binance::records::Asset;

/// Where a window is in its lifecycle (strategy spec §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Not started yet (listed ahead of time).
    Upcoming,
    Alpha,
    Early,
    Prime,
    Mature,
    PreResolution,
    Lockout,
    /// Past its end (or resolved by the venue).
    Resolved,
}

impl Phase {
    /// Short label for tables.
    pub const fn label(self) -> &'static str {
        match self {
            Phase::Upcoming => "upcoming",
            Phase::Alpha => "alpha",
            Phase::Early => "early",
            Phase::Prime => "prime",
            Phase::Mature => "mature",
            Phase::PreResolution => "pre-res",
            Phase::Lockout => "lockout",
            Phase::Resolved => "resolved",
        }
    }
}

/// Phase end boundaries (seconds into the reference window) for Alpha..Lockout, and the
/// reference window length they are given for (the spec defaults; the configurable ones live in
/// `crate::orchestrator::lifecycle`, which does the arithmetic for both).
const fn boundaries(window: Window) -> ([u32; 5], u32) {
    match window {
        Window::Min5 => ([5, 30, 120, 240, 270], 300),
        Window::Min15 => ([15, 90, 600, 780, 870], 900),
    }
}

/// The phase of a `window`-type market running `[start_ms, end_ms)` at wall time `now_ms`.
/// The spec's boundaries are scaled by `(end − start) / reference length`, so a shortened
/// simulated window walks through the same phases.
pub fn phase_at(window: Window, start_ms: u64, end_ms: u64, now_ms: u64) -> Phase {
    let (ends_s, reference_s) = boundaries(window);
    let bounds = crate::orchestrator::lifecycle::PhaseBounds {
        ends_s,
        reference_s,
    };
    bounds.phase_at(start_ms, end_ms, now_ms)
}

/// Default annual volatility of `asset` (strategy spec §3).
pub const fn default_annual_vol(asset: Asset) -> f64 {
    match asset {
        Asset::Btc => 0.55,
        Asset::Eth => 0.70,
        Asset::Sol => 0.95,
        Asset::Xrp => 0.85,
    }
}

/// Standard normal CDF.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
}

/// Fair P(Up) = Φ(d), d = pct_move / (σ_per_min · √minutes_remaining), with
/// pct_move = (price − price_to_beat) / price_to_beat and σ_per_min = annual_vol / √525600.
/// Prices in any common unit; `None` when an input is unusable. At or past the end the
/// probability collapses to 1 (price ≥ price to beat) or 0.
pub fn fair_p_up(
    price: f64,
    price_to_beat: f64,
    annual_vol: f64,
    ms_remaining: u64,
) -> Option<f64> {
    if !(price.is_finite() && price_to_beat.is_finite() && price_to_beat > 0.0 && price > 0.0) {
        return None;
    }
    if ms_remaining == 0 {
        return Some(if price >= price_to_beat { 1.0 } else { 0.0 });
    }
    if !(annual_vol.is_finite() && annual_vol > 0.0) {
        return None;
    }
    let pct_move = (price - price_to_beat) / price_to_beat;
    let sigma_per_min = annual_vol / 525_600f64.sqrt();
    let minutes = ms_remaining as f64 / 60_000.0;
    let d = pct_move / (sigma_per_min * minutes.sqrt());
    Some(norm_cdf(d))
}

/// Longest decimal text of a 256-bit integer (2^256 − 1 has 78 digits).
pub const DECIMAL_ID_MAX: usize = 78;

/// Write the big-endian 256-bit integer `key` as canonical decimal text into `out`; returns the
/// length. No allocation (repeated division by 10 on a stack copy).
pub fn write_decimal_id(key: &[u8; 32], out: &mut [u8; DECIMAL_ID_MAX]) -> usize {
    let mut n = *key;
    let mut digits = [0u8; DECIMAL_ID_MAX];
    let mut len = 0;
    loop {
        let mut rem = 0u32;
        let mut all_zero = true;
        for byte in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*byte);
            *byte = (cur / 10) as u8;
            rem = cur % 10;
            all_zero &= *byte == 0;
        }
        if let Some(d) = digits.get_mut(len) {
            *d = b'0' + rem as u8;
        }
        len += 1;
        if all_zero || len == DECIMAL_ID_MAX {
            break;
        }
    }
    for (dst, src) in out.iter_mut().zip(digits[..len].iter().rev()) {
        *dst = *src;
    }
    len
}

/// Write `key` as `0x` + 64 lower-case hex digits into `out`.
pub fn write_hex_id(key: &[u8; 32], out: &mut [u8; 66]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out[0] = b'0';
    out[1] = b'x';
    for (i, b) in key.iter().enumerate() {
        out[2 + 2 * i] = HEX[usize::from(b >> 4)];
        out[3 + 2 * i] = HEX[usize::from(b & 0x0f)];
    }
}

/// The feed-side asset of a configured asset.
pub const fn feed_asset(asset: crate::config::Asset) -> Asset {
    match asset {
        crate::config::Asset::Btc => Asset::Btc,
        crate::config::Asset::Eth => Asset::Eth,
        crate::config::Asset::Sol => Asset::Sol,
        crate::config::Asset::Xrp => Asset::Xrp,
    }
}

/// Register `record`'s Up and Down books in `books` under its text ids and tick size: the slot,
/// or `None` when its tick is not a venue tick size or the book set refuses it (full, bad id).
pub fn add_record_books(
    books: &mut crate::book::MarketBooks,
    record: &crate::discovery::MarketRecord,
) -> Option<crate::book::MarketIdx> {
    let tick = crate::book::TickSize::from_micro(i64::from(record.tick_micros)).ok()?;
    let mut cond = [0u8; 66];
    write_hex_id(&record.condition_id, &mut cond);
    let mut up = [0u8; DECIMAL_ID_MAX];
    let mut down = [0u8; DECIMAL_ID_MAX];
    let up_len = write_decimal_id(&record.up_token, &mut up);
    let down_len = write_decimal_id(&record.down_token, &mut down);
    // Always ASCII: written by `write_decimal_id` / `write_hex_id`.
    fn text(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap_or("")
    }
    books
        .add_market(
            text(&cond),
            text(up.get(..up_len).unwrap_or(&[])),
            text(down.get(..down_len).unwrap_or(&[])),
            tick,
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::TokenId;

    #[test]
    fn decimal_ids_round_trip() {
        for text in [
            "0",
            "7",
            "1234567890",
            "71321045679252212594626385532706912750332728571942532289631379312455583992563",
            "115792089237316195423570985008687907853269984665640564039457584007913129639935",
        ] {
            let id = TokenId::parse(text).unwrap();
            let mut out = [0u8; DECIMAL_ID_MAX];
            let n = write_decimal_id(&id.key, &mut out);
            assert_eq!(std::str::from_utf8(&out[..n]).unwrap(), text);
        }
    }

    #[test]
    fn hex_ids_are_prefixed_lower_case() {
        let mut key = [0u8; 32];
        key[0] = 0xab;
        key[31] = 0x0f;
        let mut out = [0u8; 66];
        write_hex_id(&key, &mut out);
        let s = std::str::from_utf8(&out).unwrap();
        assert!(s.starts_with("0xab00"));
        assert!(s.ends_with("000f"));
    }

    #[test]
    fn phases_follow_the_spec_and_scale() {
        let s = 1_000_000u64;
        let at =
            |w, len_s: u64, t_s: f64| phase_at(w, s, s + len_s * 1000, s + (t_s * 1000.0) as u64);
        assert_eq!(
            phase_at(Window::Min5, s, s + 300_000, s - 1),
            Phase::Upcoming
        );
        assert_eq!(at(Window::Min5, 300, 0.0), Phase::Alpha);
        assert_eq!(at(Window::Min5, 300, 5.0), Phase::Early);
        assert_eq!(at(Window::Min5, 300, 29.9), Phase::Early);
        assert_eq!(at(Window::Min5, 300, 30.0), Phase::Prime);
        assert_eq!(at(Window::Min5, 300, 120.0), Phase::Mature);
        assert_eq!(at(Window::Min5, 300, 240.0), Phase::PreResolution);
        assert_eq!(at(Window::Min5, 300, 270.0), Phase::Lockout);
        assert_eq!(at(Window::Min5, 300, 300.0), Phase::Resolved);
        assert_eq!(at(Window::Min15, 900, 14.0), Phase::Alpha);
        assert_eq!(at(Window::Min15, 900, 600.0), Phase::Mature);
        assert_eq!(at(Window::Min15, 900, 869.0), Phase::PreResolution);
        // A 60 s "5m" window: boundaries at 1, 6, 24, 48, 54 s.
        assert_eq!(at(Window::Min5, 60, 0.9), Phase::Alpha);
        assert_eq!(at(Window::Min5, 60, 6.0), Phase::Prime);
        assert_eq!(at(Window::Min5, 60, 54.0), Phase::Lockout);
    }

    #[test]
    fn fair_probability_matches_the_formula_and_reference_shape() {
        // BTC 5m, +0.10% with 1 minute left: the spec's table says ~0.87.
        let p = fair_p_up(100_100.0, 100_000.0, 0.55, 60_000).unwrap();
        let sigma = 0.55 / 525_600f64.sqrt();
        assert!((p - norm_cdf(0.001 / sigma)).abs() < 1e-12);
        assert!((p - 0.87).abs() < 0.06, "{p}");
        assert!((fair_p_up(100.0, 100.0, 0.55, 60_000).unwrap() - 0.5).abs() < 1e-12);
        let down = fair_p_up(99_900.0, 100_000.0, 0.55, 240_000).unwrap();
        assert!(down < 0.5);
        assert_eq!(fair_p_up(1.0, 1.0, 0.55, 0), Some(1.0));
        assert_eq!(fair_p_up(1.0, 0.0, 0.55, 1000), None);
    }
}
