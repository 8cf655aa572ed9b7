//! Validation of `POST /order` payloads exactly as CLOB V2 answers them: JSON shape, the V2
//! EIP-712 signature (types 0, 1, 2 and the nested ERC-7739 deposit-wallet type 3), the exchange
//! version, owner/signer against the API key, and the price/size/expiration rules of the market.
//!
//! Invariants: the order id is the V2 order digest `keccak256(0x1901 ‖ domain ‖ hashStruct)` as
//! `0x` lower-case hex (also for type 3, whose EOA signs the `TypedDataSign` wrapper); a payload
//! that fails any check yields a [`Reject`] whose `Display` is the venue's exact message.

use serde_json::Value;

use crate::exec::signing::address::Address;
use crate::exec::signing::eip712::{
    domain_separator, typed_data_digest, u64_word, Exchange, CHAIN_ID, DEPOSIT_WALLET_DOMAIN_NAME,
    DEPOSIT_WALLET_DOMAIN_VERSION, EXCHANGE_DOMAIN_NAME, ORDER_TYPEHASH, ORDER_TYPE_STRING,
    TYPED_DATA_SIGN_TYPE_STRING,
};
use crate::exec::signing::hex;
use crate::exec::signing::keccak::keccak256;
use crate::exec::signing::order::{OrderType, TokenId};
use crate::exec::signing::signer::{recover_address, Signature65};
use crate::sim::polymarket::crowd::{Side, ONE};
use crate::sim::polymarket::px;

/// Smallest order in shares (`orderMinSize`), micro-shares.
pub const MIN_SIZE_MICRO: u64 = 5_000_000;
/// GTD expirations must be at least this far in the future ("security threshold").
pub const GTD_MIN_LEAD_S: u64 = 60;

/// Why an order is refused; `Display` is the venue's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("Invalid order payload")]
    Payload,
    #[error("order_version_mismatch")]
    VersionMismatch,
    #[error("invalid signature")]
    Signature,
    #[error("the order owner has to be the owner of the API KEY")]
    Owner,
    #[error("the order signer address has to be the address of the API KEY")]
    Signer,
    #[error("market not found")]
    MarketNotFound,
    #[error("the market is not accepting orders")]
    MarketClosed,
    #[error("invalid price ({price}), min: {min} - max: {max}")]
    PriceRange {
        price: String,
        min: String,
        max: String,
    },
    #[error("order is invalid. Price breaks minimum tick size rules")]
    Tick,
    #[error("Size ({0}) lower than the minimum: 5")]
    MinSize(String),
    #[error("invalid expiration")]
    Expiration,
    #[error("invalid post-only order: only GTC and GTD order types are allowed")]
    PostOnlyType,
    #[error("invalid post-only order: order crosses book")]
    PostOnlyCrosses,
    #[error("order couldn't be fully filled. FOK orders are fully filled or killed.")]
    FokKilled,
    #[error(
        "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."
    )]
    FakNoMatch,
    #[error("not enough balance / allowance")]
    Balance,
    #[error("order is invalid. Duplicated.")]
    Duplicated,
    #[error("post-only mode: only post-only orders and cancels are allowed")]
    PostOnlyMode,
}

/// A decoded `POST /order` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedOrder {
    pub salt: [u8; 32],
    pub maker: Address,
    pub signer: Address,
    /// Canonical decimal token id.
    pub token_id: String,
    pub token_word: [u8; 32],
    pub maker_amount: u64,
    pub taker_amount: u64,
    pub side: Side,
    /// Unix seconds, 0 = none (not signed in V2).
    pub expiration: u64,
    pub signature_type: u8,
    pub timestamp_ms: u64,
    pub metadata: [u8; 32],
    pub builder: [u8; 32],
    pub signature: Vec<u8>,
    pub owner: String,
    pub order_type: OrderType,
    pub post_only: bool,
}

impl ParsedOrder {
    /// Shares (micro) the order trades.
    pub fn shares(&self) -> u64 {
        match self.side {
            Side::Buy => self.taker_amount,
            Side::Sell => self.maker_amount,
        }
    }

    /// Collateral (micro) the order trades at its limit.
    pub fn collateral(&self) -> u64 {
        match self.side {
            Side::Buy => self.maker_amount,
            Side::Sell => self.taker_amount,
        }
    }
}

fn u64_field(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn word_field(v: &Value) -> Option<[u8; 32]> {
    let text = match v {
        Value::Number(n) => n.as_u64()?.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    TokenId::parse(&text).ok().map(|t| *t.word())
}

fn bytes32_field(v: Option<&Value>) -> Option<[u8; 32]> {
    match v {
        None | Some(Value::Null) => Some([0u8; 32]),
        Some(Value::String(s)) if s.is_empty() => Some([0u8; 32]),
        Some(Value::String(s)) => hex::decode_array::<32>(s).ok(),
        _ => None,
    }
}

/// Decode one order object (`{"order":{..},"owner":..,"orderType":..}`).
pub fn parse_order(v: &Value) -> Result<ParsedOrder, Reject> {
    let o = v.get("order").ok_or(Reject::Payload)?;
    // V1 fields: an order built for the old exchange.
    if ["nonce", "feeRateBps", "taker"]
        .iter()
        .any(|k| o.get(k).is_some())
    {
        return Err(Reject::VersionMismatch);
    }
    let addr = |k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .and_then(|s| Address::parse(s).ok())
            .ok_or(Reject::Payload)
    };
    let token_text = match o.get("tokenId") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(Reject::Payload),
    };
    let token = TokenId::parse(&token_text).map_err(|_| Reject::Payload)?;
    let side = match o.get("side") {
        Some(Value::String(s)) if s.eq_ignore_ascii_case("BUY") => Side::Buy,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("SELL") => Side::Sell,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Side::Buy,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Side::Sell,
        _ => return Err(Reject::Payload),
    };
    let signature = o
        .get("signature")
        .and_then(Value::as_str)
        .and_then(|s| hex::decode_vec(s).ok())
        .ok_or(Reject::Payload)?;
    let signature_type = o
        .get("signatureType")
        .and_then(u64_field)
        .and_then(|t| u8::try_from(t).ok())
        .filter(|t| *t <= 3)
        .ok_or(Reject::Payload)?;
    let order_type = match v.get("orderType") {
        None | Some(Value::Null) => OrderType::Gtc,
        Some(Value::String(s)) => OrderType::parse(s).ok_or(Reject::Payload)?,
        _ => return Err(Reject::Payload),
    };
    let post_only = match v.get("postOnly") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        _ => return Err(Reject::Payload),
    };
    Ok(ParsedOrder {
        salt: o.get("salt").and_then(word_field).ok_or(Reject::Payload)?,
        maker: addr("maker")?,
        signer: addr("signer")?,
        token_id: String::from_utf8_lossy(token.text()).into_owned(),
        token_word: *token.word(),
        maker_amount: o
            .get("makerAmount")
            .and_then(u64_field)
            .ok_or(Reject::Payload)?,
        taker_amount: o
            .get("takerAmount")
            .and_then(u64_field)
            .ok_or(Reject::Payload)?,
        side,
        expiration: match o.get("expiration") {
            None | Some(Value::Null) => 0,
            Some(e) => u64_field(e).ok_or(Reject::Payload)?,
        },
        signature_type,
        timestamp_ms: o.get("timestamp").and_then(u64_field).unwrap_or(0),
        metadata: bytes32_field(o.get("metadata")).ok_or(Reject::Payload)?,
        builder: bytes32_field(o.get("builder")).ok_or(Reject::Payload)?,
        signature,
        owner: v
            .get("owner")
            .and_then(Value::as_str)
            .ok_or(Reject::Payload)?
            .to_string(),
        order_type,
        post_only,
    })
}

/// `hashStruct(Order)` of a V2 order.
pub fn struct_hash(o: &ParsedOrder) -> [u8; 32] {
    let mut enc = Vec::with_capacity(12 * 32);
    for w in [
        ORDER_TYPEHASH,
        o.salt,
        o.maker.word(),
        o.signer.word(),
        o.token_word,
        u64_word(o.maker_amount),
        u64_word(o.taker_amount),
        u64_word(match o.side {
            Side::Buy => 0,
            Side::Sell => 1,
        }),
        u64_word(u64::from(o.signature_type)),
        u64_word(o.timestamp_ms),
        o.metadata,
        o.builder,
    ] {
        enc.extend_from_slice(&w);
    }
    keccak256(&enc)
}

/// Domains an order may have been signed for other than the standard V2 exchange: the neg-risk
/// V2 exchange, exchange V3, and version "1" (V1 exchange addresses or the V2 address).
fn other_domains() -> Vec<[u8; 32]> {
    let v1_standard =
        Address::parse("0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E").unwrap_or(Address::ZERO);
    let v1_negrisk =
        Address::parse("0xC5d563A36AE78145C45a50134d48A1215220f80a").unwrap_or(Address::ZERO);
    vec![
        Exchange::NegRisk.domain_separator(CHAIN_ID),
        Exchange::V3.domain_separator(CHAIN_ID),
        domain_separator(EXCHANGE_DOMAIN_NAME, "1", CHAIN_ID, Some(&v1_standard)),
        domain_separator(EXCHANGE_DOMAIN_NAME, "1", CHAIN_ID, Some(&v1_negrisk)),
        domain_separator(
            EXCHANGE_DOMAIN_NAME,
            "1",
            CHAIN_ID,
            Some(&Exchange::Standard.address()),
        ),
    ]
}

fn typed_data_sign_digest(domain: &[u8; 32], contents: &[u8; 32], wallet: &Address) -> [u8; 32] {
    let mut enc = Vec::with_capacity(7 * 32);
    for w in [
        keccak256(TYPED_DATA_SIGN_TYPE_STRING.as_bytes()),
        *contents,
        keccak256(DEPOSIT_WALLET_DOMAIN_NAME.as_bytes()),
        keccak256(DEPOSIT_WALLET_DOMAIN_VERSION.as_bytes()),
        u64_word(CHAIN_ID),
        wallet.word(),
        [0u8; 32],
    ] {
        enc.extend_from_slice(&w);
    }
    typed_data_digest(domain, &keccak256(&enc))
}

fn recovers(digest: &[u8; 32], sig: &[u8], who: &Address) -> bool {
    Signature65::from_bytes(sig)
        .ok()
        .and_then(|s| recover_address(digest, &s).ok())
        .is_some_and(|a| a == *who)
}

/// Verify the signature for an API key owned by `key_address`; returns the order id digest.
pub fn verify_signature(o: &ParsedOrder, key_address: &Address) -> Result<[u8; 32], Reject> {
    let sh = struct_hash(o);
    let domain = Exchange::Standard.domain_separator(CHAIN_ID);
    let digest = typed_data_digest(&domain, &sh);
    if o.signature_type == 3 {
        let t = ORDER_TYPE_STRING.as_bytes();
        let s = &o.signature;
        if s.len() != 65 + 64 + t.len() + 2
            || &s[129..129 + t.len()] != t
            || s[s.len() - 2..] != (t.len() as u16).to_be_bytes()
            || s[97..129] != sh
            || o.maker != o.signer
        {
            return Err(Reject::Signature);
        }
        let app_domain: [u8; 32] = s[65..97].try_into().map_err(|_| Reject::Signature)?;
        let inner = &s[..65];
        if app_domain != domain {
            let other = other_domains().into_iter().any(|d| {
                d == app_domain
                    && recovers(
                        &typed_data_sign_digest(&d, &sh, &o.maker),
                        inner,
                        key_address,
                    )
            });
            return Err(if other {
                Reject::VersionMismatch
            } else {
                Reject::Signature
            });
        }
        if !recovers(
            &typed_data_sign_digest(&domain, &sh, &o.maker),
            inner,
            key_address,
        ) {
            return Err(Reject::Signature);
        }
        return Ok(digest);
    }
    if !recovers(&digest, &o.signature, &o.signer) {
        let other = other_domains()
            .iter()
            .any(|d| recovers(&typed_data_digest(d, &sh), &o.signature, &o.signer));
        return Err(if other {
            Reject::VersionMismatch
        } else {
            Reject::Signature
        });
    }
    if o.signer != *key_address {
        return Err(Reject::Signer);
    }
    if o.signature_type == 0 && o.maker != o.signer {
        return Err(Reject::Signature);
    }
    Ok(digest)
}

/// Shares (micro) as the venue prints them in messages (`1.08`).
pub fn shares_text(micro: u64) -> String {
    let mut b = [0u8; 32];
    let n =
        crate::fixed::write_fixed(&mut b, i64::try_from(micro).unwrap_or(i64::MAX), 6).unwrap_or(0);
    String::from_utf8_lossy(&b[..n]).into_owned()
}

/// The order's limit price in milli on its token, checked against the market's `tick`:
/// within [tick, 1 − tick], on the grid (the implied price maker/taker may differ from a grid
/// price by at most 0.0001, as market orders' rounded amounts do), and at least 5 shares.
pub fn check_price_and_size(o: &ParsedOrder, tick: u32) -> Result<u32, Reject> {
    let (shares, collateral) = (u128::from(o.shares()), u128::from(o.collateral()));
    if shares == 0 || collateral == 0 {
        return Err(Reject::Payload);
    }
    let scaled = collateral * u128::from(ONE);
    let limit = (scaled + shares / 2) / shares;
    let limit_u32 = u32::try_from(limit).unwrap_or(u32::MAX);
    if limit_u32 < tick || limit_u32 > ONE.saturating_sub(tick) {
        let price = {
            let mut b = [0u8; 32];
            let p = i64::try_from(collateral * 1_000_000 / shares).unwrap_or(i64::MAX);
            let n = crate::fixed::write_fixed(&mut b, p, 6).unwrap_or(0);
            String::from_utf8_lossy(&b[..n]).into_owned()
        };
        return Err(Reject::PriceRange {
            price,
            min: px(tick),
            max: px(ONE - tick),
        });
    }
    if scaled.abs_diff(limit * shares) * 10 > shares || limit_u32 % tick != 0 {
        return Err(Reject::Tick);
    }
    if o.shares() < MIN_SIZE_MICRO {
        return Err(Reject::MinSize(shares_text(o.shares())));
    }
    Ok(limit_u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::signing::amounts::Side as SignSide;
    use crate::exec::signing::body::BodyKeyOrder;
    use crate::exec::signing::commands::{order_build, OrderBuildArgs};
    use crate::exec::signing::signer::EoaSigner;

    const KEY: [u8; 32] = [5u8; 32];
    const TOKEN: &str =
        "71321045679252212594626385532706912750332728571942532289631379312455583992563";

    fn args<'a>(side: SignSide, price: &'a str, size: &'a str, sig_type: u8) -> OrderBuildArgs<'a> {
        OrderBuildArgs {
            token_id: TOKEN,
            side,
            price,
            size,
            tick_size: "0.01",
            neg_risk: false,
            signature_type: sig_type,
            funder: None,
            salt: 12345,
            timestamp_ms: 1_767_225_600_000,
            expiration: 0,
            builder: None,
            metadata: None,
            order_type: OrderType::Gtc,
            post_only: false,
            owner: "key",
            key_order: BodyKeyOrder::PyClobClientV2,
        }
    }

    fn parsed(body: &str) -> ParsedOrder {
        parse_order(&serde_json::from_str(body).unwrap()).unwrap()
    }

    #[test]
    fn signatures_of_every_type_verify_and_ids_are_digests() {
        let eoa = EoaSigner::from_bytes(&KEY).unwrap().address();
        let proxy = "0x96a9892De6A11FE0B18Cf63373B9763055EcA8a6";
        for (t, funder) in [
            (0u8, None),
            (1, Some(proxy)),
            (2, Some(proxy)),
            (3, Some(proxy)),
        ] {
            let mut a = args(SignSide::Buy, "0.52", "10", t);
            a.funder = funder;
            let built = order_build(&KEY, &a).unwrap();
            let o = parsed(&built.body);
            let id = verify_signature(&o, &eoa).unwrap_or_else(|e| panic!("type {t}: {e}"));
            assert_eq!(hex::to_0x_string(&id), built.order_id, "type {t}");
            // Another key's address is refused.
            let other = EoaSigner::from_bytes(&[6u8; 32]).unwrap().address();
            assert!(verify_signature(&o, &other).is_err());
        }
    }

    #[test]
    fn tampered_and_wrong_version_orders_are_refused() {
        let eoa = EoaSigner::from_bytes(&KEY).unwrap().address();
        let built = order_build(&KEY, &args(SignSide::Buy, "0.52", "10", 0)).unwrap();
        let mut o = parsed(&built.body);
        o.maker_amount += 1;
        o.signer = eoa;
        assert_eq!(verify_signature(&o, &eoa), Err(Reject::Signature));
        // Signed for the neg-risk exchange: a version mismatch, not a bad signature.
        let mut a = args(SignSide::Buy, "0.52", "10", 0);
        a.neg_risk = true;
        let o = parsed(&order_build(&KEY, &a).unwrap().body);
        assert_eq!(verify_signature(&o, &eoa), Err(Reject::VersionMismatch));
        // A V1-shaped body.
        let v: Value = serde_json::from_str(
            r#"{"order":{"salt":1,"nonce":"0","feeRateBps":"0","taker":"0x0000000000000000000000000000000000000000"},"owner":"k"}"#,
        )
        .unwrap();
        assert_eq!(parse_order(&v), Err(Reject::VersionMismatch));
        assert_eq!(
            parse_order(&serde_json::json!({"order": {"salt": 1}})),
            Err(Reject::Payload)
        );
    }

    #[test]
    fn price_tick_and_size_rules() {
        let ok = parsed(
            &order_build(&KEY, &args(SignSide::Sell, "0.37", "7", 0))
                .unwrap()
                .body,
        );
        assert_eq!(check_price_and_size(&ok, 10), Ok(370));
        // Off the 0.01 grid (built on the 0.001 grid).
        let mut a = args(SignSide::Buy, "0.375", "10", 0);
        a.tick_size = "0.001";
        let off = parsed(&order_build(&KEY, &a).unwrap().body);
        assert_eq!(check_price_and_size(&off, 10), Err(Reject::Tick));
        assert_eq!(check_price_and_size(&off, 1), Ok(375));
        let small = parsed(
            &order_build(&KEY, &args(SignSide::Buy, "0.5", "1.08", 0))
                .unwrap()
                .body,
        );
        assert_eq!(
            check_price_and_size(&small, 10).unwrap_err().to_string(),
            "Size (1.08) lower than the minimum: 5"
        );
        let mut a = args(SignSide::Buy, "0.995", "10", 0);
        a.tick_size = "0.001";
        let high = parsed(&order_build(&KEY, &a).unwrap().body);
        assert_eq!(
            check_price_and_size(&high, 10).unwrap_err().to_string(),
            "invalid price (0.995), min: 0.01 - max: 0.99"
        );
    }
}
