//! Pure functions behind the CLI commands `order build`, `auth l2-sign` and `auth l1-sign`
//! (the lead wires them to clap). Tests call the same functions with the vectors' inputs.
//!
//! Cold paths: they build a signer and a template per call and return owned strings.
//! Invariant: output is deterministic for given inputs (RFC 6979 signatures); the private key is
//! taken as 32 bytes and never echoed.

use super::address::Address;
use super::amounts::{limit_order_amounts_str, Side};
use super::body::{write_order_body, BodyBuf, BodyKeyOrder, PostOptions};
use super::clob_auth::sign_clob_auth;
use super::eip712::{Exchange, OrderVariables, CHAIN_ID};
use super::hex;
use super::order::{OrderTemplate, OrderType, SignatureType, TokenId};
use super::signer::EoaSigner;
use super::SigningError;

/// Inputs of `order build` (a limit order).
#[derive(Clone, Copy, Debug)]
pub struct OrderBuildArgs<'a> {
    /// Outcome token id (decimal).
    pub token_id: &'a str,
    /// BUY / SELL.
    pub side: Side,
    /// Limit price, exact decimal on the tick grid.
    pub price: &'a str,
    /// Size in shares (floored to 2 decimals).
    pub size: &'a str,
    /// Tick size, e.g. "0.01".
    pub tick_size: &'a str,
    /// Neg-risk market (selects the neg-risk exchange).
    pub neg_risk: bool,
    /// Signature type 0..=3.
    pub signature_type: u8,
    /// Funder / maker wallet (required for types 1–3).
    pub funder: Option<&'a str>,
    /// Salt (< 2^53 recommended).
    pub salt: u64,
    /// Order timestamp in milliseconds.
    pub timestamp_ms: u64,
    /// Expiration in unix seconds (0 = none; required for GTD).
    pub expiration: u64,
    /// bytes32 builder code (hex), zero when `None`.
    pub builder: Option<&'a str>,
    /// bytes32 metadata (hex), zero when `None`.
    pub metadata: Option<&'a str>,
    /// GTC / GTD / FOK / FAK.
    pub order_type: OrderType,
    /// Post-only flag.
    pub post_only: bool,
    /// API key of the owner.
    pub owner: &'a str,
    /// Key order of the emitted JSON.
    pub key_order: BodyKeyOrder,
}

/// Result of `order build`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltOrder {
    /// The exact `POST /order` body, one line.
    pub body: String,
    /// CLOB order id (EIP-712 digest), `0x` hex.
    pub order_id: String,
    /// Order signature, `0x` hex.
    pub signature: String,
    /// makerAmount (1e-6 units).
    pub maker_amount: u64,
    /// takerAmount (1e-6 units).
    pub taker_amount: u64,
}

fn bytes32_opt(s: Option<&str>) -> Result<[u8; 32], SigningError> {
    match s {
        Some(s) => hex::decode_array::<32>(s),
        None => Ok([0u8; 32]),
    }
}

/// `order build`: amounts, EIP-712 digest, deterministic signature and the POST /order body.
pub fn order_build(
    secret_key: &[u8; 32],
    a: &OrderBuildArgs<'_>,
) -> Result<BuiltOrder, SigningError> {
    if a.post_only && !matches!(a.order_type, OrderType::Gtc | OrderType::Gtd) {
        return Err(SigningError::PostOnlyType);
    }
    if a.order_type == OrderType::Gtd && a.expiration == 0 {
        return Err(SigningError::GtdNeedsExpiration);
    }
    let signer = EoaSigner::from_bytes(secret_key)?;
    let funder = a.funder.map(Address::parse).transpose()?;
    let template = OrderTemplate::new(
        Exchange::for_market(a.neg_risk),
        CHAIN_ID,
        signer.address(),
        funder,
        SignatureType::from_u8(a.signature_type)?,
        TokenId::parse(a.token_id)?,
        bytes32_opt(a.metadata)?,
        bytes32_opt(a.builder)?,
    )?;
    let amounts = limit_order_amounts_str(a.side, a.price, a.size, a.tick_size)?;
    let vars = OrderVariables {
        salt: a.salt,
        maker_amount: amounts.maker,
        taker_amount: amounts.taker,
        side: a.side.as_u8(),
        timestamp_ms: a.timestamp_ms,
    };
    let signed = template.sign(&signer, vars, a.expiration)?;
    let mut buf = BodyBuf::for_single_order();
    write_order_body(
        &mut buf,
        &template,
        &signed,
        &PostOptions {
            owner: a.owner,
            order_type: a.order_type,
            post_only: a.post_only,
            defer_exec: false,
        },
        a.key_order,
    )?;
    Ok(BuiltOrder {
        body: String::from_utf8_lossy(buf.as_bytes()).into_owned(),
        order_id: hex::to_0x_string(&signed.order_id),
        signature: signed.signature.to_hex_string(),
        maker_amount: amounts.maker,
        taker_amount: amounts.taker,
    })
}

/// `auth l2-sign`: the `POLY_SIGNATURE` for a request.
pub fn auth_l2_sign(
    secret_b64: &str,
    timestamp_s: u64,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<String, SigningError> {
    super::hmac::l2_signature(secret_b64, timestamp_s, method, path, body)
}

/// `auth l1-sign`: the ClobAuth `POLY_SIGNATURE` (Polygon mainnet) for the key's address.
pub fn auth_l1_sign(
    secret_key: &[u8; 32],
    timestamp_s: u64,
    nonce: u64,
) -> Result<String, SigningError> {
    let signer = EoaSigner::from_bytes(secret_key)?;
    Ok(sign_clob_auth(&signer, CHAIN_ID, timestamp_s, nonce)?.to_hex_string())
}
