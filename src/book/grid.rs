//! The price grid of one outcome token: prices are integer micro-units (1.0 = 1,000,000) strictly
//! inside (0, 1), and every price sits on a multiple of the token's tick (0.01, 0.005, 0.001 or
//! 0.0001). A price maps to the array slot `price / tick`; the finest tick needs
//! [`MAX_SLOTS`] = 10,001 slots, so one allocation of that size serves every grid.

use thiserror::Error;

/// 1.0 in price micro-units.
pub const PRICE_ONE_MICRO: i64 = 1_000_000;

/// Slots needed by the finest grid (0.0001): prices 0.0000 ..= 1.0000.
pub const MAX_SLOTS: usize = 10_001;

/// A tick size Polymarket uses for binary outcome tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TickSize {
    /// 0.01
    Cent,
    /// 0.005
    HalfCent,
    /// 0.001
    Mill,
    /// 0.0001
    TenthMill,
}

/// Why a price does not fit the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum GridError {
    /// The price is not strictly inside (0, 1).
    #[error("price {price_micro} micro-units is outside (0, 1)")]
    OutOfRange {
        /// Offending price in micro-units.
        price_micro: i64,
    },
    /// The price is not a multiple of the tick.
    #[error("price {price_micro} micro-units is not a multiple of the {tick_micro} tick")]
    OffGrid {
        /// Offending price in micro-units.
        price_micro: i64,
        /// The grid's tick in micro-units.
        tick_micro: i64,
    },
    /// A tick size that is not one of 0.01 / 0.005 / 0.001 / 0.0001.
    #[error("{tick_micro} micro-units is not a supported tick size")]
    UnsupportedTick {
        /// The rejected tick in micro-units.
        tick_micro: i64,
    },
}

impl TickSize {
    /// The tick in price micro-units.
    #[inline]
    pub const fn micro(self) -> i64 {
        match self {
            TickSize::Cent => 10_000,
            TickSize::HalfCent => 5_000,
            TickSize::Mill => 1_000,
            TickSize::TenthMill => 100,
        }
    }

    /// Number of array slots this grid uses (prices 0 ..= 1 inclusive).
    #[inline]
    pub const fn slots(self) -> usize {
        (PRICE_ONE_MICRO / self.micro()) as usize + 1
    }

    /// The tick whose size is `tick_micro` micro-units.
    pub const fn from_micro(tick_micro: i64) -> Result<TickSize, GridError> {
        match tick_micro {
            10_000 => Ok(TickSize::Cent),
            5_000 => Ok(TickSize::HalfCent),
            1_000 => Ok(TickSize::Mill),
            100 => Ok(TickSize::TenthMill),
            _ => Err(GridError::UnsupportedTick { tick_micro }),
        }
    }

    /// Slot index of `price_micro`, refusing prices outside (0, 1) or off the grid.
    #[inline]
    pub const fn index_of(self, price_micro: i64) -> Result<usize, GridError> {
        if price_micro <= 0 || price_micro >= PRICE_ONE_MICRO {
            return Err(GridError::OutOfRange { price_micro });
        }
        // Constant divisors per arm: the compiler turns each into a multiply, not a `div`.
        let (q, r) = match self {
            TickSize::Cent => (price_micro / 10_000, price_micro % 10_000),
            TickSize::HalfCent => (price_micro / 5_000, price_micro % 5_000),
            TickSize::Mill => (price_micro / 1_000, price_micro % 1_000),
            TickSize::TenthMill => (price_micro / 100, price_micro % 100),
        };
        if r != 0 {
            return Err(GridError::OffGrid {
                price_micro,
                tick_micro: self.micro(),
            });
        }
        Ok(q as usize)
    }

    /// Price in micro-units of slot `index`.
    #[inline]
    pub const fn price_of(self, index: usize) -> i64 {
        index as i64 * self.micro()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fit_the_single_allocation() {
        assert_eq!(TickSize::Cent.slots(), 101);
        assert_eq!(TickSize::HalfCent.slots(), 201);
        assert_eq!(TickSize::Mill.slots(), 1_001);
        assert_eq!(TickSize::TenthMill.slots(), MAX_SLOTS);
    }

    #[test]
    fn index_round_trips_and_refuses_bad_prices() {
        for tick in [
            TickSize::Cent,
            TickSize::HalfCent,
            TickSize::Mill,
            TickSize::TenthMill,
        ] {
            assert_eq!(TickSize::from_micro(tick.micro()), Ok(tick));
            let p = 480_000;
            let i = tick.index_of(p).unwrap();
            assert_eq!(tick.price_of(i), p);
            assert!(i < tick.slots());
        }
        assert_eq!(
            TickSize::Cent.index_of(485_000),
            Err(GridError::OffGrid {
                price_micro: 485_000,
                tick_micro: 10_000
            })
        );
        assert_eq!(TickSize::HalfCent.index_of(485_000), Ok(97));
        assert!(matches!(
            TickSize::Cent.index_of(0),
            Err(GridError::OutOfRange { .. })
        ));
        assert!(matches!(
            TickSize::Cent.index_of(PRICE_ONE_MICRO),
            Err(GridError::OutOfRange { .. })
        ));
        assert!(matches!(
            TickSize::Cent.index_of(-10_000),
            Err(GridError::OutOfRange { .. })
        ));
        assert!(TickSize::from_micro(2_500).is_err());
    }
}
