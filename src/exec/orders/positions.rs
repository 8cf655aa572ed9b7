//! Per-token positions and collateral, in integer micro-units: the confirmed state (what
//! settled on chain, or the last balance read) plus provisional fills (matched, not yet
//! CONFIRMED). A fixed-capacity token table, allocated once.
//!
//! Invariants: provisional fills never count as money we have (a provisional BUY reduces
//! available collateral, a provisional SELL reduces sellable tokens, neither adds); a FAILED
//! trade reverts exactly the provisional amounts it added; taker fees follow V2: a BUY pays its
//! fee in tokens (fewer tokens received), a SELL in collateral (less received).
//!
//! What each fill moves ([`FillLeg::collateral`], fees) is computed by [`super::settlement`],
//! the arithmetic the simulated venue settles with.

pub use super::settlement::{taker_fee_units, FeeParams, MAX_FEE_EXPONENT};
use crate::exec::signing::amounts::Side;

/// A token: its uint256 word.
pub type TokenKey = [u8; 32];

/// `size · price` in micro-units (size and price in micro-units), rounded up: a conservative
/// estimate for reservations and risk limits, not what a fill settles
/// ([`super::settlement::maker_collateral`] / [`super::settlement::taker_collateral`]).
#[inline]
pub fn notional_micros(size: u64, price: u64) -> u64 {
    let v = (u128::from(size) * u128::from(price)).div_ceil(1_000_000);
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// V2 taker fee in collateral micro-units: `size · rate · p · (1 − p)` (exponent 1), rounded
/// up: an upper bound for headroom and risk checks (fills are charged
/// [`taker_fee_units`]). `rate_micros` is the rate in micro-units (0.072 → 72_000).
#[inline]
pub fn taker_fee_micros(size: u64, price: u64, rate_micros: u64) -> u64 {
    let one = 1_000_000u128;
    let p = u128::from(price.min(1_000_000));
    let num = u128::from(size) * u128::from(rate_micros) * p * (one - p);
    let v = num.div_ceil(one * one * one);
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// One fill of ours (a taker trade or one of our maker legs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillLeg {
    /// Token traded.
    pub token: TokenKey,
    /// Our side.
    pub side: Option<Side>,
    /// Shares.
    pub size: u64,
    /// Price.
    pub price: u64,
    /// Taker fee (0 for maker legs): micro-tokens for a BUY, micro-collateral for a SELL
    /// ([`taker_fee_units`]).
    pub fee: u64,
    /// Collateral this fill costs (BUY) or returns (SELL), before fees: the settlement rule's
    /// amount for our side ([`super::settlement`]).
    pub collateral: u64,
}

impl FillLeg {
    /// Collateral this fill costs (BUY) or returns (SELL), before fees.
    pub fn notional(&self) -> u64 {
        self.collateral
    }
    /// Tokens this fill delivers to us (BUY: size minus the fee taken in tokens).
    pub fn tokens_received(&self) -> u64 {
        match self.side {
            Some(Side::Buy) => self.size.saturating_sub(self.fee),
            _ => self.size,
        }
    }
}

/// One token's holdings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenPosition {
    /// Token.
    pub token: TokenKey,
    /// Settled tokens.
    pub confirmed: i64,
    /// Tokens from provisional BUYs (not yet ours to sell).
    pub provisional_bought: u64,
    /// Tokens promised by provisional SELLs.
    pub provisional_sold: u64,
    /// Tokens reserved by open SELL orders.
    pub reserved_for_sells: u64,
}

impl TokenPosition {
    /// Tokens we may still sell: settled minus provisional sells minus open SELL orders.
    pub fn available_to_sell(&self) -> i64 {
        self.confirmed - to_i64(self.provisional_sold) - to_i64(self.reserved_for_sells)
    }
}

/// Why a positions update failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PositionsError {
    /// The token table is full.
    #[error("position table full ({0} tokens)")]
    Full(usize),
}

/// Tokens and collateral. See the module docs.
#[derive(Clone, Debug)]
pub struct Positions {
    tokens: Box<[TokenPosition]>,
    len: usize,
    /// Settled collateral.
    collateral_confirmed: i64,
    /// Collateral committed by provisional BUYs.
    collateral_provisional_spent: u64,
    /// Collateral due from provisional SELLs (not counted as available).
    collateral_provisional_due: u64,
    /// Tokens of resolved, redeemed markets and whether they paid (the most recent
    /// [`REDEEMED_KEPT`]): a fill confirmed later is redeemed on arrival.
    redeemed: Vec<(TokenKey, bool)>,
}

/// Redeemed tokens remembered for late confirmations.
pub const REDEEMED_KEPT: usize = 64;

impl Positions {
    /// Room for `capacity` tokens.
    pub fn new(capacity: usize) -> Positions {
        Positions {
            tokens: vec![TokenPosition::default(); capacity.max(1)].into_boxed_slice(),
            len: 0,
            collateral_confirmed: 0,
            collateral_provisional_spent: 0,
            collateral_provisional_due: 0,
            redeemed: Vec::with_capacity(REDEEMED_KEPT),
        }
    }

    /// Set the settled collateral (from `/balance-allowance`).
    pub fn set_collateral(&mut self, micros: i64) {
        self.collateral_confirmed = micros;
    }

    /// Set a token's settled balance (from `/balance-allowance` CONDITIONAL).
    pub fn set_token_balance(
        &mut self,
        token: &TokenKey,
        micros: i64,
    ) -> Result<(), PositionsError> {
        let i = self.slot(token)?;
        self.tokens[i].confirmed = micros;
        Ok(())
    }

    /// Settled collateral.
    pub fn collateral_confirmed(&self) -> i64 {
        self.collateral_confirmed
    }

    /// Collateral committed by provisional BUYs.
    pub fn collateral_provisional_spent(&self) -> u64 {
        self.collateral_provisional_spent
    }

    /// Collateral due from provisional SELLs.
    pub fn collateral_provisional_due(&self) -> u64 {
        self.collateral_provisional_due
    }

    /// A token's holdings (zero when never seen).
    pub fn token(&self, token: &TokenKey) -> TokenPosition {
        self.tokens[..self.len]
            .iter()
            .find(|t| &t.token == token)
            .copied()
            .unwrap_or(TokenPosition {
                token: *token,
                ..TokenPosition::default()
            })
    }

    /// Every token seen.
    pub fn tokens(&self) -> &[TokenPosition] {
        &self.tokens[..self.len]
    }

    fn slot(&mut self, token: &TokenKey) -> Result<usize, PositionsError> {
        if let Some(i) = self.tokens[..self.len]
            .iter()
            .position(|t| &t.token == token)
        {
            return Ok(i);
        }
        let i = self.len;
        let slot = self.tokens.get_mut(i).ok_or(PositionsError::Full(i))?;
        *slot = TokenPosition {
            token: *token,
            ..TokenPosition::default()
        };
        self.len += 1;
        Ok(i)
    }

    /// Change the tokens reserved by open SELL orders of `token` by `delta`.
    pub fn adjust_sell_reservation(
        &mut self,
        token: &TokenKey,
        delta: i64,
    ) -> Result<(), PositionsError> {
        let i = self.slot(token)?;
        let t = &mut self.tokens[i];
        t.reserved_for_sells = t.reserved_for_sells.saturating_add_signed(delta);
        Ok(())
    }

    /// The token's market resolved and its settled balance was redeemed: the balance leaves,
    /// and pays 1 collateral unit per token when `pays` (the winning outcome). Returns the
    /// tokens redeemed. Provisional fills are left to confirm or fail as usual.
    pub fn redeem(&mut self, token: &TokenKey, pays: bool) -> i64 {
        if !self.redeemed.iter().any(|(t, _)| t == token) {
            if self.redeemed.len() == REDEEMED_KEPT {
                self.redeemed.remove(0);
            }
            self.redeemed.push((*token, pays));
        }
        self.redeem_balance(token, pays)
    }

    fn redeem_balance(&mut self, token: &TokenKey, pays: bool) -> i64 {
        let Some(t) = self.tokens[..self.len]
            .iter_mut()
            .find(|t| t.token == *token)
        else {
            return 0;
        };
        let held = t.confirmed.max(0);
        t.confirmed = 0;
        t.reserved_for_sells = 0;
        if pays {
            self.collateral_confirmed += held;
        }
        held
    }

    /// A fill became known (MATCHED/MINED/RETRYING): count it provisionally.
    pub fn add_provisional(&mut self, leg: &FillLeg) -> Result<(), PositionsError> {
        let i = self.slot(&leg.token)?;
        let t = &mut self.tokens[i];
        match leg.side {
            Some(Side::Buy) => {
                t.provisional_bought += leg.tokens_received();
                self.collateral_provisional_spent += leg.notional();
            }
            Some(Side::Sell) => {
                t.provisional_sold += leg.size;
                self.collateral_provisional_due += leg.notional().saturating_sub(leg.fee);
            }
            None => {}
        }
        Ok(())
    }

    /// Undo [`add_provisional`](Self::add_provisional) (FAILED, or before confirming).
    pub fn remove_provisional(&mut self, leg: &FillLeg) {
        let Some(t) = self.tokens[..self.len]
            .iter_mut()
            .find(|t| t.token == leg.token)
        else {
            return;
        };
        match leg.side {
            Some(Side::Buy) => {
                t.provisional_bought = t.provisional_bought.saturating_sub(leg.tokens_received());
                self.collateral_provisional_spent = self
                    .collateral_provisional_spent
                    .saturating_sub(leg.notional());
            }
            Some(Side::Sell) => {
                t.provisional_sold = t.provisional_sold.saturating_sub(leg.size);
                self.collateral_provisional_due = self
                    .collateral_provisional_due
                    .saturating_sub(leg.notional().saturating_sub(leg.fee));
            }
            None => {}
        }
    }

    /// A fill CONFIRMED: add it to the settled state (the caller removes its provisional
    /// amounts first when it had added them).
    pub fn confirm(&mut self, leg: &FillLeg) -> Result<(), PositionsError> {
        let i = self.slot(&leg.token)?;
        let t = &mut self.tokens[i];
        match leg.side {
            Some(Side::Buy) => {
                t.confirmed += to_i64(leg.tokens_received());
                self.collateral_confirmed -= to_i64(leg.notional());
            }
            Some(Side::Sell) => {
                t.confirmed -= to_i64(leg.size);
                self.collateral_confirmed += to_i64(leg.notional().saturating_sub(leg.fee));
            }
            None => {}
        }
        // A fill confirmed after its market was redeemed is redeemed with it (the venue paid
        // the matched tokens at resolution).
        if let Some(&(_, pays)) = self.redeemed.iter().find(|(t, _)| *t == leg.token) {
            self.redeem_balance(&leg.token, pays);
        }
        Ok(())
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buy(token: TokenKey, size: u64, price: u64) -> FillLeg {
        FillLeg {
            token,
            side: Some(Side::Buy),
            size,
            price,
            fee: 0,
            collateral: notional_micros(size, price),
        }
    }

    #[test]
    fn redemption_pays_the_winner_and_a_late_confirmation_is_redeemed_on_arrival() {
        let (up, down) = ([1; 32], [2; 32]);
        let mut p = Positions::new(4);
        p.set_collateral(100_000_000);
        p.confirm(&buy(up, 10_000_000, 400_000)).unwrap(); // 4 $ for 10 Up
        p.confirm(&buy(down, 5_000_000, 600_000)).unwrap(); // 3 $ for 5 Down
        let late = buy(up, 2_000_000, 500_000); // matched, not yet confirmed
        p.add_provisional(&late).unwrap();
        assert_eq!(p.redeem(&down, false), 5_000_000);
        assert_eq!(p.redeem(&up, true), 10_000_000);
        assert_eq!(
            p.collateral_confirmed(),
            100_000_000 - 7_000_000 + 10_000_000
        );
        assert_eq!(p.token(&up).confirmed, 0);
        // The late fill confirms: 1 $ paid, 2 Up tokens arrive and are paid out at once.
        p.remove_provisional(&late);
        p.confirm(&late).unwrap();
        assert_eq!(p.token(&up).confirmed, 0);
        assert_eq!(
            p.collateral_confirmed(),
            103_000_000 - 1_000_000 + 2_000_000
        );
    }

    #[test]
    fn fees_and_notional() {
        // 100 shares at 0.5, rate 0.072 → $1.80.
        assert_eq!(taker_fee_micros(100_000_000, 500_000, 72_000), 1_800_000);
        assert_eq!(notional_micros(10_000_000, 520_000), 5_200_000);
        let leg = FillLeg {
            token: [1; 32],
            side: Some(Side::Buy),
            size: 100_000_000,
            price: 500_000,
            collateral: 50_000_000,
            fee: taker_fee_units(
                Side::Buy,
                100_000_000,
                500_000,
                FeeParams {
                    rate_micros: 72_000,
                    exponent: 1,
                },
            ),
        };
        assert_eq!(leg.tokens_received(), 96_400_000);
        assert_eq!(leg.notional(), 50_000_000);
    }
}
