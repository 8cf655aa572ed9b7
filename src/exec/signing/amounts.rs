//! `makerAmount` / `takerAmount` of CLOB V2 orders in integer micro-units (1e-6), exactly as the
//! unified SDK (`polymarket-client`, Python `Decimal`) computes them — with no floating point, so
//! `19.99` shares stay `19.99` (the older float-based clients truncate to `19.98`).
//!
//! Rules (protocol reference §2), with `cfg` from the tick size:
//! * limit: the price must lie on the tick grid with `tick ≤ p ≤ 1 − tick`; size is floored to
//!   `cfg.size` decimals; BUY `maker = size·p`, `taker = size`; SELL `maker = size`,
//!   `taker = size·p`.
//! * market: the price is floored to `cfg.price` decimals (V2/unified; V1 rounded) and must stay
//!   in `[tick, 1 − tick]`; the amount is floored to `cfg.size` decimals; BUY (amount = dollars)
//!   `taker = amount / p`; SELL (amount = shares) `taker = amount·p`.
//! * a product/quotient with more than `cfg.amount` decimals is first rounded *up* to
//!   `cfg.amount + 4` decimals and, if that still has more than `cfg.amount` decimals, *down* to
//!   `cfg.amount` decimals.
//!
//! Exactness: all arithmetic is on u128 in 1e-12 (products) or 1e-(amount+4) (quotients) units.
//! The unified SDK divides with 28-significant-digit `Decimal`; for any quotient below 1e10 that
//! precision is finer than the distance between a non-terminating quotient and the next
//! 1e-(amount+4) step, so the results agree for every realistic order (≤ $1e9).
//! Invariant: returned amounts are > 0 and fit in u64.

use super::super::super::fixed::parse_fixed;
use thiserror::Error;

/// One unit (1.0) in micro-units.
pub const ONE: u64 = 1_000_000;

/// Why amounts could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AmountError {
    /// Tick size is not one of 0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001.
    #[error("unsupported tick size")]
    UnsupportedTick,
    /// Not a plain non-negative decimal number.
    #[error("not a plain non-negative decimal number")]
    Syntax,
    /// Number too large.
    #[error("number out of range")]
    Overflow,
    /// Limit price is not a multiple of the tick size.
    #[error("price is not on the tick grid")]
    PriceOffTick,
    /// Price outside `[tick, 1 − tick]`.
    #[error("price outside [tick, 1 - tick]")]
    PriceOutOfRange,
    /// Size (or market amount) rounds to zero.
    #[error("size rounds to zero")]
    SizeTooSmall,
    /// The collateral side rounds to zero.
    #[error("amount rounds to zero")]
    AmountTooSmall,
}

/// BUY or SELL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy outcome tokens with collateral (uint8 0).
    Buy,
    /// Sell outcome tokens for collateral (uint8 1).
    Sell,
}

impl Side {
    /// EIP-712 `side` value.
    pub const fn as_u8(self) -> u8 {
        match self {
            Side::Buy => 0,
            Side::Sell => 1,
        }
    }
    /// JSON text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
    /// Parse `BUY`/`SELL` (case-insensitive).
    pub fn parse(s: &str) -> Option<Side> {
        if s.eq_ignore_ascii_case("buy") {
            Some(Side::Buy)
        } else if s.eq_ignore_ascii_case("sell") {
            Some(Side::Sell)
        } else {
            None
        }
    }
}

/// Decimal places for price, size and amount at a tick size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundingConfig {
    /// Price decimals.
    pub price: u32,
    /// Size decimals.
    pub size: u32,
    /// Amount decimals.
    pub amount: u32,
}

/// The tick sizes the CLOB uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TickSize {
    /// 0.1
    T0_1,
    /// 0.01
    T0_01,
    /// 0.005 (V2)
    T0_005,
    /// 0.0025 (V2)
    T0_0025,
    /// 0.001
    T0_001,
    /// 0.0001
    T0_0001,
}

impl TickSize {
    /// All tick sizes.
    pub const ALL: [TickSize; 6] = [
        TickSize::T0_1,
        TickSize::T0_01,
        TickSize::T0_005,
        TickSize::T0_0025,
        TickSize::T0_001,
        TickSize::T0_0001,
    ];

    /// Tick in micro-units.
    pub const fn micros(self) -> u64 {
        match self {
            TickSize::T0_1 => 100_000,
            TickSize::T0_01 => 10_000,
            TickSize::T0_005 => 5_000,
            TickSize::T0_0025 => 2_500,
            TickSize::T0_001 => 1_000,
            TickSize::T0_0001 => 100,
        }
    }

    /// The rounding table (protocol reference §2).
    pub const fn config(self) -> RoundingConfig {
        let (price, amount) = match self {
            TickSize::T0_1 => (1, 3),
            TickSize::T0_01 => (2, 4),
            TickSize::T0_005 => (3, 5),
            TickSize::T0_0025 => (4, 6),
            TickSize::T0_001 => (3, 5),
            TickSize::T0_0001 => (4, 6),
        };
        RoundingConfig {
            price,
            size: 2,
            amount,
        }
    }

    /// Tick from micro-units.
    pub fn from_micros(m: u64) -> Result<TickSize, AmountError> {
        TickSize::ALL
            .into_iter()
            .find(|t| t.micros() == m)
            .ok_or(AmountError::UnsupportedTick)
    }

    /// Parse `"0.01"`, `".005"`, `"0.0100"` …
    pub fn parse(s: &str) -> Result<TickSize, AmountError> {
        let m = parse_fixed(s.as_bytes(), 6).map_err(|_| AmountError::UnsupportedTick)?;
        TickSize::from_micros(u64::try_from(m).map_err(|_| AmountError::UnsupportedTick)?)
    }
}

/// Maker and taker amounts in micro-units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderAmounts {
    /// What the maker gives (collateral for BUY, shares for SELL).
    pub maker: u64,
    /// What the maker receives.
    pub taker: u64,
}

const POW10_U128: [u128; 20] = {
    let mut t = [1u128; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Parse a non-negative decimal into micro-units, *truncating* digits beyond the 6th decimal
/// (every caller floors further, so truncation is the exact floor).
pub fn parse_micros_floor(s: &str) -> Result<u64, AmountError> {
    let b = s.as_bytes();
    if b.first() == Some(&b'-') || b.first() == Some(&b'+') {
        return Err(AmountError::Syntax);
    }
    let cut = match b.iter().position(|&c| c == b'.') {
        Some(dot) => b.len().min(dot + 1 + 6),
        None => b.len(),
    };
    // Characters after the cut must still be digits.
    if !b[cut..].iter().all(u8::is_ascii_digit) {
        return Err(AmountError::Syntax);
    }
    let v = parse_fixed(&b[..cut], 6).map_err(|e| match e {
        crate::fixed::FixedError::Overflow => AmountError::Overflow,
        _ => AmountError::Syntax,
    })?;
    u64::try_from(v).map_err(|_| AmountError::Syntax)
}

#[inline]
fn floor_to(v: u64, decimals: u32) -> u64 {
    let unit = 10u64.pow(6 - decimals);
    v - v % unit
}

/// `size·price` (both micro-units) rounded per the amount rule, in micro-units.
#[inline]
fn product_amount(size: u64, price: u64, amount_decimals: u32) -> Result<u64, AmountError> {
    let pico = u128::from(size) * u128::from(price); // 1e-12 units
    let exact_unit = POW10_U128[(12 - amount_decimals) as usize];
    let rounded = if pico % exact_unit == 0 {
        pico
    } else {
        let up_unit = POW10_U128[(12 - amount_decimals - 4) as usize];
        let up = pico.div_ceil(up_unit) * up_unit;
        if up % exact_unit == 0 {
            up
        } else {
            up - up % exact_unit
        }
    };
    u64::try_from(rounded / 1_000_000).map_err(|_| AmountError::Overflow)
}

/// `numerator / price` (micro-units) rounded per the amount rule, in micro-units.
#[inline]
fn quotient_amount(numerator: u64, price: u64, amount_decimals: u32) -> Result<u64, AmountError> {
    // c = ceil(x, amount+4) in 1e-(amount+4) units.
    let scaled = u128::from(numerator) * POW10_U128[(amount_decimals + 4) as usize];
    let mut c = scaled.div_ceil(u128::from(price));
    if c % 10_000 != 0 {
        c -= c % 10_000;
    }
    // Now c has ≤ amount (≥ 3) decimals: micro-units = c / 10^(amount+4-6).
    u64::try_from(c / POW10_U128[(amount_decimals - 2) as usize]).map_err(|_| AmountError::Overflow)
}

fn check_range(price: u64, tick: TickSize) -> Result<(), AmountError> {
    if price < tick.micros() || price > ONE - tick.micros() {
        return Err(AmountError::PriceOutOfRange);
    }
    Ok(())
}

/// Limit-order amounts from a price and a size in micro-units.
pub fn limit_order_amounts(
    side: Side,
    price: u64,
    size: u64,
    tick: TickSize,
) -> Result<OrderAmounts, AmountError> {
    let cfg = tick.config();
    if price % tick.micros() != 0 {
        return Err(AmountError::PriceOffTick);
    }
    check_range(price, tick)?;
    let shares = floor_to(size, cfg.size);
    if shares == 0 {
        return Err(AmountError::SizeTooSmall);
    }
    let collateral = product_amount(shares, price, cfg.amount)?;
    if collateral == 0 {
        return Err(AmountError::AmountTooSmall);
    }
    Ok(match side {
        Side::Buy => OrderAmounts {
            maker: collateral,
            taker: shares,
        },
        Side::Sell => OrderAmounts {
            maker: shares,
            taker: collateral,
        },
    })
}

/// Market-order amounts: BUY `amount` is collateral, SELL `amount` is shares (micro-units);
/// `price` is the worst price needed to fill (floored to the tick's price decimals).
pub fn market_order_amounts(
    side: Side,
    amount: u64,
    price: u64,
    tick: TickSize,
) -> Result<OrderAmounts, AmountError> {
    let cfg = tick.config();
    let p = floor_to(price, cfg.price);
    check_range(p, tick)?;
    let maker = floor_to(amount, cfg.size);
    if maker == 0 {
        return Err(AmountError::SizeTooSmall);
    }
    let taker = match side {
        Side::Buy => quotient_amount(maker, p, cfg.amount)?,
        Side::Sell => product_amount(maker, p, cfg.amount)?,
    };
    if taker == 0 {
        return Err(AmountError::AmountTooSmall);
    }
    Ok(OrderAmounts { maker, taker })
}

/// [`limit_order_amounts`] from decimal strings.
pub fn limit_order_amounts_str(
    side: Side,
    price: &str,
    size: &str,
    tick: &str,
) -> Result<OrderAmounts, AmountError> {
    let tick = TickSize::parse(tick)?;
    let p = parse_fixed(price.as_bytes(), 6).map_err(|e| match e {
        crate::fixed::FixedError::Inexact => AmountError::PriceOffTick,
        crate::fixed::FixedError::Overflow => AmountError::Overflow,
        crate::fixed::FixedError::Syntax => AmountError::Syntax,
    })?;
    let p = u64::try_from(p).map_err(|_| AmountError::Syntax)?;
    limit_order_amounts(side, p, parse_micros_floor(size)?, tick)
}

/// [`market_order_amounts`] from decimal strings.
pub fn market_order_amounts_str(
    side: Side,
    amount: &str,
    price: &str,
    tick: &str,
) -> Result<OrderAmounts, AmountError> {
    let tick = TickSize::parse(tick)?;
    market_order_amounts(
        side,
        parse_micros_floor(amount)?,
        parse_micros_floor(price)?,
        tick,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_sizes_are_not_truncated_like_floats() {
        let a = limit_order_amounts_str(Side::Buy, "0.57", "19.99", "0.01").unwrap();
        assert_eq!((a.maker, a.taker), (11_394_300, 19_990_000));
        let a = limit_order_amounts_str(Side::Buy, "0.57", "19.999", "0.01").unwrap();
        assert_eq!(a.taker, 19_990_000);
    }

    #[test]
    fn market_buy_rounds_up_then_down() {
        // 100 / 0.52 = 192.307692…; ceil to 8 dp then floor to 4 dp.
        let a = market_order_amounts_str(Side::Buy, "100", "0.52", "0.01").unwrap();
        assert_eq!((a.maker, a.taker), (100_000_000, 192_307_600));
        // 300/300.000001 = 0.99999999666…: the ceil to 8 dp carries it to exactly 1.
        assert_eq!(quotient_amount(300_000_000, 300_000_001, 4), Ok(1_000_000));
        // 0.99999966…: ceil to 8 dp gives 0.99999967, then the floor to 4 dp gives 0.9999.
        assert_eq!(quotient_amount(2_999_999, 3_000_000, 4), Ok(999_900));
    }

    #[test]
    fn rejects_bad_prices_and_sizes() {
        assert_eq!(
            limit_order_amounts_str(Side::Buy, "0.525", "10", "0.01"),
            Err(AmountError::PriceOffTick)
        );
        assert_eq!(
            limit_order_amounts_str(Side::Buy, "0.99", "10", "0.1"),
            Err(AmountError::PriceOffTick)
        );
        assert_eq!(
            limit_order_amounts_str(Side::Buy, "1", "10", "0.01"),
            Err(AmountError::PriceOutOfRange)
        );
        assert_eq!(
            limit_order_amounts_str(Side::Buy, "0.5", "0.009", "0.01"),
            Err(AmountError::SizeTooSmall)
        );
        assert_eq!(
            limit_order_amounts_str(Side::Buy, "0.5", "1", "0.02"),
            Err(AmountError::UnsupportedTick)
        );
        assert_eq!(
            limit_order_amounts_str(Side::Buy, "0.5", "-1", "0.01"),
            Err(AmountError::Syntax)
        );
        assert_eq!(parse_micros_floor("1.23456789"), Ok(1_234_567));
        assert_eq!(parse_micros_floor("1.2345678x"), Err(AmountError::Syntax));
    }
}
