//! The arb scanner (strategy spec §3) on one market's Up and Down books: buying one Up and one
//! Down share pays exactly $1 at resolution, so `edge = 1 − (Up ask + Down ask) − taker fees`
//! per share is locked in.
//!
//! Money and prices are integer micro-units (1e-6 dollars, 1e-6 shares). The taker fee of
//! buying `shares` at price `p` is `shares × rate × p × (1 − p)` (rate per market, in ppm);
//! per share it is rounded **up** to a whole micro-dollar, so the edge is never overstated.
//! Depth is the size resting within `depth_cents` of each best ask (best level included);
//! executable = min of the two; expected shares = executable × expected fill (ppm, floored);
//! expected profit = expected shares × edge (floored). A signal needs edge ≥ the regime's minimum
//! and expected profit ≥ the configured minimum. The profit uses the top-of-book edge for all
//! the depth within `depth_cents` (as the spec does), so it is an upper bound when deeper levels
//! are dearer. Invariants: O(levels touched) (`TokenBook::depth_within`), no allocation, no
//! overflow (i128 intermediates).

use crate::book::{BookSide, TokenBook, PRICE_ONE_MICRO};

/// Scanner parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArbParams {
    pub depth_cents: u32,
    /// Expected fill fraction, parts per million.
    pub expected_fill_ppm: i64,
    /// Minimum expected profit, micro-dollars.
    pub min_profit_micro: i64,
}

/// One evaluation of a market's two books.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArbQuote {
    pub up_ask_micro: i64,
    pub down_ask_micro: i64,
    /// Taker fee per share of both legs, micro-dollars (rounded up per leg).
    pub fee_per_share_micro: i64,
    /// 1 − Up ask − Down ask − fees, micro-dollars per share (may be negative).
    pub edge_micro: i64,
    /// Size within `depth_cents` of each ask, micro-shares.
    pub up_depth_micro: i64,
    pub down_depth_micro: i64,
    /// min of the two depths, micro-shares.
    pub executable_micro: i64,
    /// executable × expected fill, micro-shares.
    pub expected_shares_micro: i64,
    /// expected shares × edge, micro-dollars (0 when the edge is not positive).
    pub expected_profit_micro: i64,
    /// edge ≥ the regime minimum and expected profit ≥ the minimum profit.
    pub signal: bool,
}

/// Taker fee per share at `price_micro`, micro-dollars, rounded up:
/// ⌈rate_ppm × p × (1 − p) / 1e12⌉ with p in micro-units.
#[inline]
pub fn fee_per_share_micro(price_micro: i64, rate_ppm: i64) -> i64 {
    if price_micro <= 0 || price_micro >= PRICE_ONE_MICRO || rate_ppm <= 0 {
        return 0;
    }
    const DEN: i64 = 1_000_000_000_000;
    // p·(1 − p) ≤ 2.5e11, so the product fits i64 for any rate up to ~3.6e7 ppm; otherwise the
    // exact i128 path (i128 division is a library call, kept off the common path).
    match (price_micro * (PRICE_ONE_MICRO - price_micro)).checked_mul(rate_ppm) {
        Some(num) => (num + DEN - 1) / DEN,
        None => {
            let num = i128::from(rate_ppm)
                * i128::from(price_micro)
                * i128::from(PRICE_ONE_MICRO - price_micro);
            let den = i128::from(DEN);
            i64::try_from((num + den - 1) / den).unwrap_or(i64::MAX)
        }
    }
}

/// Taker fee of buying `shares_micro` at `price_micro`, micro-dollars, rounded up:
/// ⌈shares × rate × p × (1 − p)⌉.
#[inline]
pub fn taker_fee_micro(shares_micro: i64, price_micro: i64, rate_ppm: i64) -> i64 {
    if shares_micro <= 0 || price_micro <= 0 || price_micro >= PRICE_ONE_MICRO || rate_ppm <= 0 {
        return 0;
    }
    let num = i128::from(shares_micro)
        * i128::from(rate_ppm)
        * i128::from(price_micro)
        * i128::from(PRICE_ONE_MICRO - price_micro);
    let den: i128 = 1_000_000_000_000_000_000;
    i64::try_from((num + den - 1) / den).unwrap_or(i64::MAX)
}

/// ⌊a·b / d⌋ for non-negative `a`, `b` and positive `d`: i64 when the product fits, else exact
/// i128, saturating.
#[inline]
fn mul_div(a: i64, b: i64, d: i64) -> i64 {
    match a.checked_mul(b) {
        Some(n) => n / d,
        None => i64::try_from(i128::from(a) * i128::from(b) / i128::from(d)).unwrap_or(i64::MAX),
    }
}

/// Evaluate best asks and depths (the pure core of [`scan`]).
#[inline]
pub fn evaluate(
    up_ask_micro: i64,
    up_depth_micro: i64,
    down_ask_micro: i64,
    down_depth_micro: i64,
    fee_rate_ppm: i64,
    min_edge_micro: i64,
    p: &ArbParams,
) -> ArbQuote {
    let fee = fee_per_share_micro(up_ask_micro, fee_rate_ppm)
        + fee_per_share_micro(down_ask_micro, fee_rate_ppm);
    let edge = PRICE_ONE_MICRO - up_ask_micro - down_ask_micro - fee;
    let executable = up_depth_micro.min(down_depth_micro).max(0);
    let expected = mul_div(executable, p.expected_fill_ppm.max(0), 1_000_000);
    let profit = if edge > 0 {
        mul_div(expected, edge, PRICE_ONE_MICRO)
    } else {
        0
    };
    ArbQuote {
        up_ask_micro,
        down_ask_micro,
        fee_per_share_micro: fee,
        edge_micro: edge,
        up_depth_micro,
        down_depth_micro,
        executable_micro: executable,
        expected_shares_micro: expected,
        expected_profit_micro: profit,
        signal: edge > 0 && edge >= min_edge_micro && profit >= p.min_profit_micro,
    }
}

/// Scan a market's books; `None` while either side has no ask.
#[inline]
pub fn scan(
    up: &TokenBook,
    down: &TokenBook,
    fee_rate_ppm: i64,
    min_edge_micro: i64,
    p: &ArbParams,
) -> Option<ArbQuote> {
    let up_ask = up.best_price(BookSide::Ask)?;
    let down_ask = down.best_price(BookSide::Ask)?;
    Some(evaluate(
        up_ask,
        up.depth_within(BookSide::Ask, p.depth_cents),
        down_ask,
        down.depth_within(BookSide::Ask, p.depth_cents),
        fee_rate_ppm,
        min_edge_micro,
        p,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::TickSize;

    const P: ArbParams = ArbParams {
        depth_cents: 2,
        expected_fill_ppm: 850_000,
        min_profit_micro: 100_000,
    };
    const SHARE: i64 = 1_000_000;

    #[test]
    fn fee_is_rate_times_p_times_one_minus_p() {
        // 0.07 × 0.5 × 0.5 = 0.0175 per share.
        assert_eq!(fee_per_share_micro(500_000, 70_000), 17_500);
        // 0.07 × 0.45 × 0.55 = 0.017325.
        assert_eq!(fee_per_share_micro(450_000, 70_000), 17_325);
        // 0.07 × 0.333333 × 0.666667 = 0.01555554…, rounded up.
        assert_eq!(fee_per_share_micro(333_333, 70_000), 15_556);
        assert_eq!(fee_per_share_micro(0, 70_000), 0);
        assert_eq!(fee_per_share_micro(1_000_000, 70_000), 0);
        assert_eq!(fee_per_share_micro(500_000, 0), 0);
        // 100 shares at 0.40: 100 × 0.07 × 0.4 × 0.6 = $1.68.
        assert_eq!(taker_fee_micro(100 * SHARE, 400_000, 70_000), 1_680_000);
        assert_eq!(taker_fee_micro(1, 400_000, 70_000), 1);
        // Beyond i64 products the exact path gives the same rounding.
        assert_eq!(
            fee_per_share_micro(500_000, i64::MAX / 1_000),
            2_305_843_009_213_694
        );
        assert_eq!(mul_div(i64::MAX, 2, 4), i64::MAX / 2);
        assert_eq!(mul_div(7, 3, 2), 10);
    }

    #[test]
    fn edge_is_after_fees_and_profit_needs_depth() {
        // 0.45 + 0.45 = 0.90: fees 2 × 0.017325 = 0.03465; edge 0.06535.
        let q = evaluate(450_000, 10 * SHARE, 450_000, 8 * SHARE, 70_000, 20_000, &P);
        assert_eq!(q.fee_per_share_micro, 34_650);
        assert_eq!(q.edge_micro, 65_350);
        assert_eq!(q.executable_micro, 8 * SHARE);
        assert_eq!(q.expected_shares_micro, 6_800_000);
        // 6.8 × 0.06535 = 0.44438.
        assert_eq!(q.expected_profit_micro, 444_380);
        assert!(q.signal);
        // Same prices, 1 share deep: profit 0.85 × 0.06535 = 0.0555 < $0.10.
        let thin = evaluate(450_000, SHARE, 450_000, 5 * SHARE, 70_000, 20_000, &P);
        assert_eq!(thin.expected_profit_micro, 55_547);
        assert!(!thin.signal);
        // Edge below the regime minimum (DEAD: 5c): 0.48 + 0.48 → 0.04 − 0.034944 = 0.005056.
        let small = evaluate(
            480_000,
            1_000 * SHARE,
            480_000,
            1_000 * SHARE,
            70_000,
            50_000,
            &P,
        );
        assert_eq!(small.edge_micro, 5_056);
        assert!(!small.signal);
        // Without fees the same book would be a 4c edge: fees matter.
        let free = evaluate(
            480_000,
            1_000 * SHARE,
            480_000,
            1_000 * SHARE,
            0,
            20_000,
            &P,
        );
        assert_eq!(free.edge_micro, 40_000);
        assert!(free.signal);
        // A sum above $1 is a negative edge and never a signal.
        let neg = evaluate(520_000, SHARE, 500_000, SHARE, 70_000, 0, &P);
        assert!(neg.edge_micro < 0 && !neg.signal && neg.expected_profit_micro == 0);
    }

    #[test]
    fn scan_counts_depth_within_two_cents_of_each_ask() {
        let mut up = TokenBook::new(TickSize::Cent);
        let mut down = TokenBook::new(TickSize::Cent);
        up.begin_snapshot();
        down.begin_snapshot();
        // Up asks: 0.44 ×5, 0.45 ×7, 0.46 ×11 (within 2c), 0.47 ×100 (outside).
        for (px, sz) in [(440_000, 5), (450_000, 7), (460_000, 11), (470_000, 100)] {
            up.set_level(BookSide::Ask, px, sz * SHARE).unwrap();
        }
        up.set_level(BookSide::Bid, 430_000, 50 * SHARE).unwrap();
        // Down asks: 0.46 ×30, 0.49 ×1000 (outside).
        for (px, sz) in [(460_000, 30), (490_000, 1000)] {
            down.set_level(BookSide::Ask, px, sz * SHARE).unwrap();
        }
        up.finish_snapshot(1, 1);
        down.finish_snapshot(1, 1);
        let q = scan(&up, &down, 70_000, 20_000, &P).unwrap();
        assert_eq!((q.up_ask_micro, q.down_ask_micro), (440_000, 460_000));
        assert_eq!(q.up_depth_micro, 23 * SHARE);
        assert_eq!(q.down_depth_micro, 30 * SHARE);
        assert_eq!(q.executable_micro, 23 * SHARE);
        // fees 0.07·0.44·0.56 = 0.017248, 0.07·0.46·0.54 = 0.017388 → edge 0.065364.
        assert_eq!(q.edge_micro, 65_364);
        assert!(q.signal);
        let empty = TokenBook::new(TickSize::Cent);
        assert!(scan(&up, &empty, 70_000, 20_000, &P).is_none());
    }
}
