//! Parsing of the CLOB's compact market info `GET /clob-markets/<conditionId>` (V2) and its
//! cross-check against the Gamma description.
//!
//! Shape (from `clob-client-v2` `MarketDetails`): `{"c": conditionId, "t": [{"t": tokenId,
//! "o": outcome} | null, ...], "mts": minTickSize, "nr": negRisk, "fd"?: {"r"?: rate,
//! "e"?: exponent, "to": takerOnly}, "mbf"?: v1MakerBaseFee, "tbf"?: v1TakerBaseFee}`. The
//! documented shape carries no minimum order size; that comes from Gamma (`orderMinSize`).
//!
//! Invariants: tokens are mapped by outcome name; every disagreement with Gamma on the fields
//! both describe (condition id, both tokens, tick, neg-risk, fee rate/exponent/taker-only) is a
//! [`ClobMismatch`], so the engine never trades on two inconsistent descriptions.

use serde_json::Value;

use super::fields;
use super::gamma::{valid_tick, FeeParams, GammaError, GammaMarket};
use super::ids::{ConditionId, IdError, TokenId};

/// The CLOB's view of one market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClobMarket {
    /// `c`.
    pub condition_id: ConditionId,
    /// `t[]` entry with `o == "Up"`.
    pub up_token: TokenId,
    /// `t[]` entry with `o == "Down"`.
    pub down_token: TokenId,
    /// `mts`, micro-units of price.
    pub tick_micros: u32,
    /// `nr`.
    pub neg_risk: bool,
    /// `fd`, when present: rate (ppm, 0 when `r` absent), exponent (0 when `e` absent), `to`.
    pub fee: Option<ClobFee>,
    /// `mbf` (V1 maker base fee, bps), when present.
    pub maker_base_fee: Option<u64>,
    /// `tbf` (V1 taker base fee, bps), when present.
    pub taker_base_fee: Option<u64>,
}

/// `fd`: the platform fee the matching engine applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClobFee {
    /// `r`, parts per million.
    pub rate_ppm: u32,
    /// `e`.
    pub exponent: u8,
    /// `to`.
    pub taker_only: bool,
}

/// Why a `/clob-markets` body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClobMarketError {
    /// Not a JSON object.
    #[error("body is not a JSON object")]
    Json,
    /// A required field is absent or null.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// A field has the wrong type or an unusable value.
    #[error("invalid field {0}")]
    Invalid(&'static str),
    /// A malformed id.
    #[error("invalid id in {field}: {error}")]
    Id {
        /// Which field.
        field: &'static str,
        /// What was wrong.
        error: IdError,
    },
    /// `t` is not exactly one `Up` and one `Down` token.
    #[error("tokens are not exactly Up and Down")]
    Outcomes,
    /// `mts` is not a venue tick size.
    #[error("unsupported tick size {0} micro-units")]
    UnsupportedTick(i64),
}

/// A field on which Gamma and the CLOB disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClobMismatch {
    /// Different condition ids (the CLOB answered for another market).
    #[error("condition id differs")]
    ConditionId,
    /// The Up token differs.
    #[error("Up token differs")]
    UpToken,
    /// The Down token differs.
    #[error("Down token differs")]
    DownToken,
    /// Tick sizes differ (Gamma, CLOB), micro-units.
    #[error("tick size differs: gamma {0}, clob {1}")]
    Tick(u32, u32),
    /// Neg-risk flags differ.
    #[error("neg-risk differs")]
    NegRisk,
    /// Fee parameters differ.
    #[error("fee parameters differ")]
    Fee,
}

/// Parse a `/clob-markets/<conditionId>` body.
pub fn parse_clob_market(body: &[u8]) -> Result<ClobMarket, ClobMarketError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| ClobMarketError::Json)?;
    let m = value.as_object().ok_or(ClobMarketError::Json)?;
    let need = |name: &'static str| match m.get(name) {
        None | Some(Value::Null) => Err(ClobMarketError::Missing(name)),
        Some(v) => Ok(v),
    };
    let condition_id =
        ConditionId::parse(need("c")?.as_str().ok_or(ClobMarketError::Invalid("c"))?)
            .map_err(|error| ClobMarketError::Id { field: "c", error })?;

    let mut up = None;
    let mut down = None;
    let tokens = need("t")?.as_array().ok_or(ClobMarketError::Invalid("t"))?;
    for entry in tokens {
        let entry = entry.as_object().ok_or(ClobMarketError::Outcomes)?;
        let id = entry
            .get("t")
            .and_then(Value::as_str)
            .ok_or(ClobMarketError::Invalid("t[].t"))?;
        let id = TokenId::parse(id).map_err(|error| ClobMarketError::Id {
            field: "t[].t",
            error,
        })?;
        let slot = match entry.get("o").and_then(Value::as_str) {
            Some("Up") => &mut up,
            Some("Down") => &mut down,
            _ => return Err(ClobMarketError::Outcomes),
        };
        if slot.replace(id).is_some() {
            return Err(ClobMarketError::Outcomes);
        }
    }
    let (Some(up_token), Some(down_token)) = (up, down) else {
        return Err(ClobMarketError::Outcomes);
    };
    if tokens.len() != 2 || up_token == down_token {
        return Err(ClobMarketError::Outcomes);
    }

    let tick = fields::fixed(need("mts")?, 6).ok_or(ClobMarketError::Invalid("mts"))?;
    let tick_micros = valid_tick(tick).map_err(|e| match e {
        GammaError::UnsupportedTick(t) => ClobMarketError::UnsupportedTick(t),
        _ => ClobMarketError::Invalid("mts"),
    })?;
    let neg_risk = need("nr")?
        .as_bool()
        .ok_or(ClobMarketError::Invalid("nr"))?;

    let fee = match m.get("fd") {
        None | Some(Value::Null) => None,
        Some(Value::Object(fd)) => {
            let rate_ppm = match fd.get("r") {
                None | Some(Value::Null) => 0,
                Some(v) => fields::fixed(v, 6)
                    .and_then(|r| u32::try_from(r).ok())
                    .filter(|&r| r <= 1_000_000)
                    .ok_or(ClobMarketError::Invalid("fd.r"))?,
            };
            let exponent = match fd.get("e") {
                None | Some(Value::Null) => 0,
                Some(v) => fields::unsigned(v)
                    .and_then(|e| u8::try_from(e).ok())
                    .filter(|&e| e <= 8)
                    .ok_or(ClobMarketError::Invalid("fd.e"))?,
            };
            let taker_only = fd
                .get("to")
                .ok_or(ClobMarketError::Missing("fd.to"))?
                .as_bool()
                .ok_or(ClobMarketError::Invalid("fd.to"))?;
            Some(ClobFee {
                rate_ppm,
                exponent,
                taker_only,
            })
        }
        Some(_) => return Err(ClobMarketError::Invalid("fd")),
    };
    let base_fee = |name: &'static str| match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => fields::unsigned(v)
            .map(Some)
            .ok_or(ClobMarketError::Invalid(name)),
    };
    Ok(ClobMarket {
        condition_id,
        up_token,
        down_token,
        tick_micros,
        neg_risk,
        fee,
        maker_base_fee: base_fee("mbf")?,
        taker_base_fee: base_fee("tbf")?,
    })
}

/// Check that the CLOB and Gamma describe the same market the same way.
pub fn cross_check(gamma: &GammaMarket, clob: &ClobMarket) -> Result<(), ClobMismatch> {
    if gamma.condition_id.key != clob.condition_id.key {
        return Err(ClobMismatch::ConditionId);
    }
    if gamma.up_token.key != clob.up_token.key {
        return Err(ClobMismatch::UpToken);
    }
    if gamma.down_token.key != clob.down_token.key {
        return Err(ClobMismatch::DownToken);
    }
    if gamma.tick_micros != clob.tick_micros {
        return Err(ClobMismatch::Tick(gamma.tick_micros, clob.tick_micros));
    }
    if gamma.neg_risk != clob.neg_risk {
        return Err(ClobMismatch::NegRisk);
    }
    if !fees_agree(&gamma.fee, clob.fee.as_ref()) {
        return Err(ClobMismatch::Fee);
    }
    Ok(())
}

/// Gamma's schedule and the CLOB's `fd` agree: both charge nothing, or the same rate, exponent
/// and taker-only flag.
fn fees_agree(gamma: &FeeParams, clob: Option<&ClobFee>) -> bool {
    let gamma_charges = gamma.enabled && gamma.rate_ppm > 0;
    match clob {
        None => !gamma_charges,
        Some(fd) if fd.rate_ppm == 0 => !gamma_charges,
        Some(fd) => {
            gamma_charges
                && fd.rate_ppm == gamma.rate_ppm
                && fd.exponent == gamma.exponent
                && fd.taker_only == gamma.taker_only
        }
    }
}
