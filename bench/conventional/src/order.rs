//! Polymarket CLOB V2 orders the usual way: EIP-712 digest with sha3, secp256k1 signature with
//! k256 (RFC 6979), the `POST /order` body with serde_json in py-clob-client-v2's key order, and
//! the L2 HMAC headers. Everything is computed on the fly for each order.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use hmac::{Hmac, Mac};
use k256::ecdsa::SigningKey;
use serde::Serialize;
use sha2::Sha256;
use sha3::{Digest, Keccak256};

pub const EXCHANGE_V2: &str = "0xE111180000d2663C0091e4f400237545B87B996B";
pub const NEG_RISK_EXCHANGE_V2: &str = "0xe2222d279d744050d28e00520010520000310F59";
const ORDER_TYPE: &str = "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)";
const DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
const ZERO32: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";

fn keccak(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

fn hex_bytes(s: &str) -> Vec<u8> {
    hex::decode(s.trim_start_matches("0x")).expect("hex")
}

/// A decimal string as a 32-byte big-endian word.
fn uint256_dec(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for c in s.bytes() {
        let mut carry = u32::from(c - b'0');
        for b in out.iter_mut().rev() {
            let v = u32::from(*b) * 10 + carry;
            *b = (v & 0xff) as u8;
            carry = v >> 8;
        }
    }
    out
}

fn uint256(v: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&v.to_be_bytes());
    out
}

fn address_word(addr: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[12..].copy_from_slice(&hex_bytes(addr));
    out
}

/// EIP-55 checksummed address of a key.
pub fn address_of(key: &SigningKey) -> String {
    let point = key.verifying_key().to_encoded_point(false);
    let hash = keccak(&point.as_bytes()[1..]);
    let lower = hex::encode(&hash[12..]);
    let check = hex::encode(keccak(lower.as_bytes()));
    let mut out = String::from("0x");
    for (c, h) in lower.chars().zip(check.chars()) {
        if c.is_ascii_alphabetic() && h.to_digit(16).unwrap_or(0) >= 8 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedOrder {
    pub salt: u64,
    pub maker: String,
    pub signer: String,
    pub token_id: String,
    pub maker_amount: String,
    pub taker_amount: String,
    pub side: String,
    pub expiration: String,
    pub signature_type: u8,
    pub timestamp: String,
    pub metadata: String,
    pub builder: String,
    pub signature: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostOrder {
    pub order: SignedOrder,
    pub owner: String,
    pub order_type: String,
    pub defer_exec: bool,
    pub post_only: bool,
}

pub struct OrderArgs<'a> {
    pub token_id: &'a str,
    /// "BUY" / "SELL".
    pub side: &'a str,
    /// Price and size in micro-units (1e-6), already on the tick and 0.01-share grids.
    pub price_micro: u64,
    pub size_micro: u64,
    pub salt: u64,
    pub timestamp_ms: u64,
    pub neg_risk: bool,
    pub chain_id: u64,
}

/// Sign an EOA order (signature type 0, maker = signer).
pub fn sign_order(key: &SigningKey, a: &OrderArgs<'_>) -> SignedOrder {
    let me = address_of(key);
    let notional = a.size_micro * a.price_micro / 1_000_000;
    let (maker_amount, taker_amount, side_u8) = if a.side == "BUY" {
        (notional, a.size_micro, 0u8)
    } else {
        (a.size_micro, notional, 1u8)
    };
    let exchange = if a.neg_risk {
        NEG_RISK_EXCHANGE_V2
    } else {
        EXCHANGE_V2
    };
    let mut domain = Vec::with_capacity(5 * 32);
    domain.extend_from_slice(&keccak(DOMAIN_TYPE.as_bytes()));
    domain.extend_from_slice(&keccak(b"Polymarket CTF Exchange"));
    domain.extend_from_slice(&keccak(b"2"));
    domain.extend_from_slice(&uint256(a.chain_id));
    domain.extend_from_slice(&address_word(exchange));
    let domain_separator = keccak(&domain);

    let mut s = Vec::with_capacity(12 * 32);
    s.extend_from_slice(&keccak(ORDER_TYPE.as_bytes()));
    s.extend_from_slice(&uint256(a.salt));
    s.extend_from_slice(&address_word(&me));
    s.extend_from_slice(&address_word(&me));
    s.extend_from_slice(&uint256_dec(a.token_id));
    s.extend_from_slice(&uint256(maker_amount));
    s.extend_from_slice(&uint256(taker_amount));
    s.extend_from_slice(&uint256(u64::from(side_u8)));
    s.extend_from_slice(&uint256(0));
    s.extend_from_slice(&uint256(a.timestamp_ms));
    s.extend_from_slice(&[0u8; 32]);
    s.extend_from_slice(&[0u8; 32]);
    let struct_hash = keccak(&s);

    let mut msg = vec![0x19, 0x01];
    msg.extend_from_slice(&domain_separator);
    msg.extend_from_slice(&struct_hash);
    let digest = keccak(&msg);
    let (sig, recid) = key.sign_prehash_recoverable(&digest).expect("sign");
    let mut bytes = sig.to_bytes().to_vec();
    bytes.push(27 + recid.to_byte());

    SignedOrder {
        salt: a.salt,
        maker: me.clone(),
        signer: me,
        token_id: a.token_id.to_string(),
        maker_amount: maker_amount.to_string(),
        taker_amount: taker_amount.to_string(),
        side: a.side.to_string(),
        expiration: "0".into(),
        signature_type: 0,
        timestamp: a.timestamp_ms.to_string(),
        metadata: ZERO32.into(),
        builder: ZERO32.into(),
        signature: format!("0x{}", hex::encode(bytes)),
    }
}

/// `POLY_SIGNATURE`: HMAC-SHA256 over timestamp + method + path + body, urlsafe base64.
pub fn l2_signature(
    secret_b64: &str,
    timestamp: u64,
    method: &str,
    path: &str,
    body: &str,
) -> String {
    let key = URL_SAFE
        .decode(secret_b64)
        .expect("api secret is urlsafe base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("hmac key");
    mac.update(format!("{timestamp}{method}{path}{body}").as_bytes());
    URL_SAFE.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> serde_json::Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/vectors/polymarket_v2.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("shared vectors")).unwrap()
    }

    /// The EOA vectors: the same signature, body bytes and L2 signature as the reference clients.
    #[test]
    fn eoa_vectors_give_the_same_bytes() {
        let v = vectors();
        let fixed = &v["fixed"];
        let mut checked = 0;
        for case in v["v2_signed_orders"].as_array().unwrap() {
            let i = &case["inputs"];
            if i["signature_type"] != 0
                || i["builder"].as_str() != Some(ZERO32)
                || i["metadata"].as_str() != Some(ZERO32)
                || i["expiration"] != 0
            {
                continue;
            }
            let key =
                SigningKey::from_slice(&hex_bytes(i["private_key"].as_str().unwrap())).unwrap();
            assert_eq!(address_of(&key), i["eoa_signer"].as_str().unwrap());
            let price_micro = (i["price"].as_f64().unwrap() * 1e6).round() as u64;
            let size_micro = (i["size"].as_f64().unwrap() * 100.0).floor() as u64 * 10_000;
            let order = sign_order(
                &key,
                &OrderArgs {
                    token_id: i["token_id"].as_str().unwrap(),
                    side: i["side"].as_str().unwrap(),
                    price_micro,
                    size_micro,
                    salt: i["salt"].as_u64().unwrap(),
                    timestamp_ms: i["timestamp_ms"].as_u64().unwrap(),
                    neg_risk: i["neg_risk"].as_bool().unwrap(),
                    chain_id: i["chain_id"].as_u64().unwrap(),
                },
            );
            assert_eq!(
                order.maker_amount,
                case["maker_amount"].as_str().unwrap(),
                "{}",
                case["id"]
            );
            assert_eq!(
                order.taker_amount,
                case["taker_amount"].as_str().unwrap(),
                "{}",
                case["id"]
            );
            assert_eq!(
                order.signature,
                case["signature"].as_str().unwrap(),
                "{}",
                case["id"]
            );
            let body = serde_json::to_string(&PostOrder {
                order,
                owner: i["owner_api_key"].as_str().unwrap().into(),
                order_type: i["order_type"].as_str().unwrap().into(),
                defer_exec: false,
                post_only: i["post_only"].as_bool().unwrap(),
            })
            .unwrap();
            assert_eq!(
                body,
                case["post_order_body_serialized_py_clob_client_v2"]
                    .as_str()
                    .unwrap()
            );
            let ts = fixed["hmac_timestamp_for_order_bodies"].as_u64().unwrap();
            let sig = l2_signature(
                fixed["api_secret"].as_str().unwrap(),
                ts,
                "POST",
                "/order",
                &body,
            );
            assert_eq!(
                sig,
                case["post_order_l2_signature_at_hmac_ts"].as_str().unwrap()
            );
            checked += 1;
        }
        assert!(checked >= 2, "checked {checked} vectors");
    }
}
