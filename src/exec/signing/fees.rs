//! V2 taker-fee arithmetic in exact decimals (off the hot path; `rust_decimal`, no floats):
//! the platform fee `C × rate × (p(1−p))^exponent` and the unified SDK's balance-aware shrink of
//! a market BUY so that collateral covers notional plus fees.
//!
//! Invariant: results are exact for the inputs (division is rounded to rust_decimal's 28
//! significant digits, like Python's default `Decimal` context).

use rust_decimal::Decimal;

/// `(p(1−p))^exponent`.
fn price_factor(price: Decimal, exponent: u32) -> Option<Decimal> {
    let base = price.checked_mul(Decimal::ONE - price)?;
    let mut out = Decimal::ONE;
    for _ in 0..exponent {
        out = out.checked_mul(base)?;
    }
    Some(out)
}

/// Platform (taker) fee in collateral for `shares` filled at `price`.
pub fn platform_fee(
    shares: Decimal,
    price: Decimal,
    rate: Decimal,
    exponent: u32,
) -> Option<Decimal> {
    shares
        .checked_mul(rate)?
        .checked_mul(price_factor(price, exponent)?)
}

/// Unified-SDK `adjust_buy_amount_for_fees`: if `max_spend` does not cover `amount` plus the
/// platform fee (`amount/p · r_eff`, `r_eff = rate·(p(1−p))^e`) and the builder fee
/// (`amount · builder_rate`), shrink to `max_spend / (1 + r_eff/p + builder_rate)`; otherwise
/// keep `amount`. (py-clob-client-v2 uses a different float formula; see the vectors.)
pub fn adjust_buy_amount_for_fees(
    amount: Decimal,
    price: Decimal,
    max_spend: Decimal,
    rate: Decimal,
    exponent: u32,
    builder_rate: Decimal,
) -> Option<Decimal> {
    let r_eff = rate.checked_mul(price_factor(price, exponent)?)?;
    let platform = amount.checked_div(price)?.checked_mul(r_eff)?;
    let builder = amount.checked_mul(builder_rate)?;
    let total = amount.checked_add(platform)?.checked_add(builder)?;
    if max_spend <= total {
        let denom = Decimal::ONE
            .checked_add(r_eff.checked_div(price)?)?
            .checked_add(builder_rate)?;
        max_spend.checked_div(denom)
    } else {
        Some(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn fee_at_half_is_exact() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(
            platform_fee(d("100"), d("0.5"), d("0.072"), 1),
            Some(d("1.8"))
        );
    }
}
