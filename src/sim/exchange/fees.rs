//! The V2 taker fee in integer micro-units: `fee = shares × rate × p(1 − p)` (makers pay 0).
//! A BUY taker pays it in tokens (receives fewer shares), a SELL taker in collateral.
//!
//! Rounding: the exact rational fee is rounded half-up to 5 decimals, i.e. to a multiple of 10
//! micro-units. In tokens (BUY) it is `shares × rate × (1 − p)`; in collateral (SELL)
//! `shares × rate × p(1 − p)`. The arithmetic is `exec::orders::settlement`'s, shared with the
//! engine's tracker. `rate_ppm` is the rate in millionths (0.072 = 72 000), prices are milli
//! (1.000 = 1000).

use crate::exec::orders::settlement::{taker_fee_units, FeeParams};
use crate::exec::signing::amounts::Side as SignSide;
use crate::sim::polymarket::crowd::{Side, ONE};

/// Micro-units per milli (prices here are milli, the shared arithmetic takes micro).
pub const MICRO_PER_MILLI: u64 = 1_000;

/// The simulated markets' fee rate (Gamma `feeSchedule.rate` 0.072) in millionths.
pub const DEFAULT_RATE_PPM: u64 = 72_000;

/// Taker fee for `shares` micro-shares filled at `price` milli on the taker's token: micro-tokens
/// for a BUY, micro-collateral for a SELL. The engine's tracker charges the same function
/// ([`crate::exec::orders::settlement::taker_fee_units`]).
pub fn taker_fee(side: Side, shares: u64, price: u32, rate_ppm: u64) -> u64 {
    let side = match side {
        Side::Buy => SignSide::Buy,
        Side::Sell => SignSide::Sell,
    };
    taker_fee_units(
        side,
        shares,
        u64::from(price.min(ONE)) * MICRO_PER_MILLI,
        FeeParams {
            rate_micros: rate_ppm,
            exponent: 1,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_example_and_rounding() {
        // 100 shares at 0.50, rate 0.072: $1.80 in collateral; in tokens 3.6 shares ($1.80 / 0.5).
        assert_eq!(
            taker_fee(Side::Sell, 100_000_000, 500, DEFAULT_RATE_PPM),
            1_800_000
        );
        assert_eq!(
            taker_fee(Side::Buy, 100_000_000, 500, DEFAULT_RATE_PPM),
            3_600_000
        );
        // 7 shares at 0.37: 7 × 0.072 × 0.37 × 0.63 = 0.1174824 → 0.11748.
        assert_eq!(
            taker_fee(Side::Sell, 7_000_000, 370, DEFAULT_RATE_PPM),
            117_480
        );
        // Half up at the 5th decimal: 1 share at 0.5 with rate 0.00002 = 0.000005 → 0.00001.
        assert_eq!(taker_fee(Side::Sell, 1_000_000, 500, 20), 10);
        assert_eq!(taker_fee(Side::Sell, 1_000_000, 500, 0), 0);
    }
}
