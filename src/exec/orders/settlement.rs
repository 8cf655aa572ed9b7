//! The venue's settlement arithmetic in integer micro-units: what one fill moves in collateral
//! and what the taker pays in fees. The engine's tracker ([`super::tracker`]) and the simulated
//! exchange (`sim::exchange::engine`) both call these functions, so the two cannot round
//! differently.
//!
//! The rule (protocol notes §2, §5, §8, §10):
//! * A trade fills the taker against one or more maker orders, each at **the maker's own
//!   price** (`maker_orders[].price`, on the maker's token; §5).
//! * A maker leg of `m` micro-shares at maker price `p` moves `floor(m·p / 1e6)` micro-pUSD
//!   for the maker ([`maker_collateral`]): what a BUY maker pays, what a SELL maker receives.
//!   Amounts are integers derived from the signed order's price (§2); rounding down means a BUY
//!   maker never pays more than its signed makerAmount, however its fills are split.
//! * The taker's side of that leg is whatever balances it ([`taker_collateral`]): the same
//!   amount when both trade the same token (a BUY against a SELL), and the complement
//!   `m − floor(m·p / 1e6)` when the maker traded the other outcome, since `m` complete sets
//!   are minted from, or merged into, exactly `m` micro-pUSD (§10: one Up + one Down = 1 pUSD).
//!   A mint is an Up BUY against a Down BUY, a merge an Up SELL against a Down SELL. The taker's
//!   collateral for a trade is the sum over its maker legs, so every match conserves collateral
//!   exactly. (The notes are silent on sub-micro rounding; this is the CTF exchange's scheme:
//!   the maker's proceeds are computed from its signed order, the taker receives the rest.)
//!   For fills of whole cents of shares at prices on a 0.001 grid (every order the official
//!   clients sign at a limit) `m·p` is a whole micro-unit and nothing is rounded; otherwise a
//!   taker's mint / merge total can differ from `size × its price` by under one micro-unit per
//!   maker leg.
//! * The taker alone pays the fee ([`taker_fee_units`], §8), on the trade's size at the trade's
//!   (taker-token) price: a BUY in tokens (fewer tokens received), a SELL in collateral (less
//!   received); makers pay nothing.
//!
//! Invariants: pure integer functions, no allocation; prices are micro-units in `[0, 1e6]`.

use crate::exec::signing::amounts::Side;

/// One share / one pUSD in micro-units.
pub const ONE: u64 = 1_000_000;

/// Per-market taker fee parameters (`/clob-markets` `fd`: rate `r`, exponent `e`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeeParams {
    /// Rate in micro-units (0.072 → 72_000).
    pub rate_micros: u64,
    /// Exponent of `p(1 − p)` (crypto Up/Down: 1).
    pub exponent: u32,
}

/// Largest exponent computed exactly (larger ones are clamped to it).
pub const MAX_FEE_EXPONENT: u32 = 2;

/// Collateral one maker leg moves for the maker: `floor(shares · maker_price / 1e6)` (shares
/// and price in micro-units).
#[inline]
pub fn maker_collateral(shares: u64, maker_price: u64) -> u64 {
    let v = u128::from(shares) * u128::from(maker_price.min(ONE)) / u128::from(ONE);
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// Collateral the taker's side of one maker leg moves: the maker's amount when both traded the
/// same token (`same_token`), else the complement `shares − maker_collateral` (mint / merge).
#[inline]
pub fn taker_collateral(shares: u64, maker_price: u64, same_token: bool) -> u64 {
    let maker = maker_collateral(shares, maker_price);
    if same_token {
        maker
    } else {
        shares - maker
    }
}

/// The V2 taker fee of a fill of `size` micro-shares at `price` micro: for a BUY in micro-tokens
/// (`s·r·(p(1−p))^e / p`), for a SELL in micro-collateral (`s·r·(p(1−p))^e`), rounded half-up to
/// a multiple of 10 micro-units (5 decimals). `p(1−p)` is taken in micro-units (exact for
/// prices on ticks of 0.001 or coarser).
pub fn taker_fee_units(side: Side, size: u64, price: u64, fee: FeeParams) -> u64 {
    const ONE_W: u128 = ONE as u128;
    if fee.rate_micros == 0 || price == 0 || price >= ONE {
        return 0;
    }
    let p = u128::from(price);
    let pq = p * (ONE_W - p) / ONE_W;
    let mut num = u128::from(size) * u128::from(fee.rate_micros);
    let mut den = ONE_W;
    for _ in 0..fee.exponent.min(MAX_FEE_EXPONENT) {
        num = num.saturating_mul(pq);
        den *= ONE_W;
    }
    if side == Side::Buy {
        // Divide by p: num / (den · p / 1e6).
        num = num.saturating_mul(ONE_W);
        den *= p;
    }
    let tens = (num.saturating_add(den * 5)) / (den * 10);
    u64::try_from(tens * 10).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_conserve_collateral_for_every_match_kind() {
        // 9.433962 shares at 0.53: 4 999 999.86 → the maker moves 4 999 999.
        assert_eq!(maker_collateral(9_433_962, 530_000), 4_999_999);
        // Normal match: the taker moves the same.
        assert_eq!(taker_collateral(9_433_962, 530_000, true), 4_999_999);
        // Mint / merge against a maker at 0.47 on the other token: 4 433 962 + 5 000 000 = s.
        assert_eq!(maker_collateral(9_433_962, 470_000), 4_433_962);
        assert_eq!(taker_collateral(9_433_962, 470_000, false), 5_000_000);
        for (s, p) in [
            (1, 1),
            (7_777_777, 999_000),
            (123_456_789, 10_000),
            (5, 500_000),
        ] {
            assert_eq!(
                maker_collateral(s, p) + taker_collateral(s, p, false),
                s,
                "a complete set is 1 pUSD"
            );
        }
        // Split fills never cost a BUY maker more than the whole: Σ floor ≤ floor Σ.
        let whole = maker_collateral(30_000_000, 333_000);
        let parts: u64 = [9_433_962u64, 10_566_038, 10_000_000]
            .iter()
            .map(|&m| maker_collateral(m, 333_000))
            .sum();
        assert!(parts <= whole);
    }

    #[test]
    fn fees() {
        let fee = |side, size, price, e| {
            taker_fee_units(
                side,
                size,
                price,
                FeeParams {
                    rate_micros: 72_000,
                    exponent: e,
                },
            )
        };
        // The protocol's example: 100 shares at 0.50 → $1.80 (SELL), 3.6 tokens (BUY).
        assert_eq!(fee(Side::Sell, 100_000_000, 500_000, 1), 1_800_000);
        assert_eq!(fee(Side::Buy, 100_000_000, 500_000, 1), 3_600_000);
        // 7 shares at 0.37: 7 × 0.072 × 0.37 × 0.63 = 0.1174824 → 0.11748 (half up, 5 dp).
        assert_eq!(fee(Side::Sell, 7_000_000, 370_000, 1), 117_480);
        // In tokens: 7 × 0.072 × 0.63 = 0.31752.
        assert_eq!(fee(Side::Buy, 7_000_000, 370_000, 1), 317_520);
        // Exponent 2, rate 0.25: 100 × 0.25 × 0.25² = $1.5625, i.e. 3.125 tokens at 0.5.
        let squared = FeeParams {
            rate_micros: 250_000,
            exponent: 2,
        };
        assert_eq!(
            taker_fee_units(Side::Sell, 100_000_000, 500_000, squared),
            1_562_500
        );
        assert_eq!(
            taker_fee_units(Side::Buy, 100_000_000, 500_000, squared),
            3_125_000
        );
        // Half up at the 5th decimal; no rate, no fee.
        let tiny = FeeParams {
            rate_micros: 20,
            exponent: 1,
        };
        assert_eq!(taker_fee_units(Side::Sell, 1_000_000, 500_000, tiny), 10);
        assert_eq!(
            taker_fee_units(Side::Sell, 1_000_000, 500_000, FeeParams::default()),
            0
        );
    }
}
