//! API authentication of the simulated exchange (protocol §4).
//!
//! L1: `ClobAuth` EIP-712 signature in `POLY_ADDRESS` / `POLY_SIGNATURE` / `POLY_TIMESTAMP` /
//! `POLY_NONCE`; credentials are a deterministic function of (address, nonce), so deriving twice
//! gives the same key. L2: `POLY_API_KEY` / `POLY_PASSPHRASE` / `POLY_ADDRESS` must belong
//! together and `POLY_SIGNATURE` must be the URL-safe base64 HMAC-SHA256 (key = the decoded
//! secret) of `timestamp + METHOD + path-without-query + body`, with `POLY_TIMESTAMP` within the
//! configured tolerance of the server clock. Secrets never appear in `Debug`.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;

use crate::exec::signing::address::Address;
use crate::exec::signing::clob_auth::clob_auth_digest;
use crate::exec::signing::eip712::CHAIN_ID;
use crate::exec::signing::hex;
use crate::exec::signing::hmac::l2_signature;
use crate::exec::signing::keccak::keccak256;
use crate::exec::signing::signer::{recover_address, Signature65};
use crate::sim::polymarket::http::HttpRequest;

/// Why a request failed authentication (all answered with HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("Invalid L1 Request headers")]
    InvalidL1,
    #[error("Unauthorized/Invalid api key")]
    InvalidApiKey,
    #[error("invalid passphrase")]
    Passphrase,
    #[error("POLY_ADDRESS does not own the api key")]
    AddressMismatch,
    #[error("timestamp outside the accepted window")]
    StaleTimestamp,
    #[error("invalid L2 signature (HMAC)")]
    BadHmac,
}

/// API credentials as `/auth/derive-api-key` returns them.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiCreds {
    pub api_key: String,
    /// URL-safe base64 (padded) HMAC secret.
    pub secret: String,
    pub passphrase: String,
}

impl std::fmt::Debug for ApiCreds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiCreds")
            .field("api_key", &self.api_key)
            .field("secret", &"<redacted>")
            .field("passphrase", &"<redacted>")
            .finish()
    }
}

/// A registered key and the EOA that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub address: Address,
    pub creds: ApiCreds,
}

fn uuid_from(h: &[u8; 32]) -> String {
    let x = hex::to_0x_string(&h[..16]);
    let x = &x[2..];
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// The deterministic credentials of (`address`, `nonce`).
pub fn derive_creds(address: &Address, nonce: u64) -> ApiCreds {
    let mut seed = Vec::with_capacity(40);
    seed.extend_from_slice(&address.0);
    seed.extend_from_slice(&nonce.to_be_bytes());
    let part = |label: &[u8]| {
        let mut m = seed.clone();
        m.extend_from_slice(label);
        keccak256(&m)
    };
    let secret = URL_SAFE.encode(part(b"sim-secret"));
    let pass = part(b"sim-passphrase");
    ApiCreds {
        api_key: uuid_from(&part(b"sim-api-key")),
        secret,
        passphrase: hex::to_0x_string(&pass)[2..].to_string(),
    }
}

fn header<'a>(req: &'a HttpRequest, name: &'static str) -> Result<&'a str, AuthError> {
    req.header(name).ok_or(AuthError::MissingHeader(name))
}

fn check_time(ts: &str, now_s: u64, tolerance_s: u64) -> Result<u64, AuthError> {
    let t: u64 = ts.trim().parse().map_err(|_| AuthError::StaleTimestamp)?;
    if t.abs_diff(now_s) > tolerance_s {
        return Err(AuthError::StaleTimestamp);
    }
    Ok(t)
}

/// Verify L1 headers; returns the wallet address and the nonce.
pub fn verify_l1(
    req: &HttpRequest,
    now_s: u64,
    tolerance_s: u64,
) -> Result<(Address, u64), AuthError> {
    let address =
        Address::parse(header(req, "POLY_ADDRESS")?.trim()).map_err(|_| AuthError::InvalidL1)?;
    let sig = hex::decode_vec(header(req, "POLY_SIGNATURE")?.trim())
        .ok()
        .and_then(|b| Signature65::from_bytes(&b).ok())
        .ok_or(AuthError::InvalidL1)?;
    let ts = check_time(header(req, "POLY_TIMESTAMP")?, now_s, tolerance_s)?;
    let nonce: u64 = match req.header("POLY_NONCE") {
        Some(n) => n.trim().parse().map_err(|_| AuthError::InvalidL1)?,
        None => 0,
    };
    let digest = clob_auth_digest(CHAIN_ID, &address, ts, nonce);
    match recover_address(&digest, &sig) {
        Ok(a) if a == address => Ok((address, nonce)),
        _ => Err(AuthError::InvalidL1),
    }
}

/// Verify L2 headers against the registered `keys`; returns the key's record.
pub fn verify_l2<'k>(
    req: &HttpRequest,
    keys: &'k HashMap<String, KeyInfo>,
    now_s: u64,
    tolerance_s: u64,
) -> Result<&'k KeyInfo, AuthError> {
    let key = keys
        .get(header(req, "POLY_API_KEY")?.trim())
        .ok_or(AuthError::InvalidApiKey)?;
    if header(req, "POLY_PASSPHRASE")? != key.creds.passphrase {
        return Err(AuthError::Passphrase);
    }
    let address = Address::parse(header(req, "POLY_ADDRESS")?.trim())
        .map_err(|_| AuthError::AddressMismatch)?;
    if address != key.address {
        return Err(AuthError::AddressMismatch);
    }
    let ts = check_time(header(req, "POLY_TIMESTAMP")?, now_s, tolerance_s)?;
    let body = (!req.body.is_empty()).then_some(req.body.as_str());
    let expected = l2_signature(&key.creds.secret, ts, &req.method, &req.path, body)
        .map_err(|_| AuthError::BadHmac)?;
    let got = header(req, "POLY_SIGNATURE")?.trim();
    if got.trim_end_matches('=') != expected.trim_end_matches('=') {
        return Err(AuthError::BadHmac);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::signing::clob_auth::L1Headers;
    use crate::exec::signing::signer::EoaSigner;

    fn request(method: &str, path: &str, body: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.into(),
        }
    }

    fn signer() -> EoaSigner {
        EoaSigner::from_bytes(&[9u8; 32]).unwrap()
    }

    #[test]
    fn l1_accepts_the_wallet_and_rejects_others() {
        let s = signer();
        let h = L1Headers::new(&s, 1_000, 3).unwrap();
        let pairs = h.pairs();
        let req = request("GET", "/auth/derive-api-key", "", &pairs);
        assert_eq!(verify_l1(&req, 1_010, 30).unwrap(), (s.address(), 3));
        assert_eq!(verify_l1(&req, 2_000, 30), Err(AuthError::StaleTimestamp));
        // Another nonce than the signed one fails the signature.
        let mut forged = pairs;
        forged[3].1 = "4";
        let req = request("GET", "/auth/derive-api-key", "", &forged);
        assert_eq!(verify_l1(&req, 1_000, 30), Err(AuthError::InvalidL1));
        let c1 = derive_creds(&s.address(), 0);
        assert_eq!(c1, derive_creds(&s.address(), 0));
        assert_ne!(c1.api_key, derive_creds(&s.address(), 1).api_key);
        assert!(!format!("{c1:?}").contains(&c1.secret));
    }

    #[test]
    fn l2_checks_hmac_key_passphrase_and_clock() {
        let s = signer();
        let creds = derive_creds(&s.address(), 0);
        let mut keys = HashMap::new();
        keys.insert(
            creds.api_key.clone(),
            KeyInfo {
                address: s.address(),
                creds: creds.clone(),
            },
        );
        let body = r#"{"orderID":"0x01"}"#;
        let sig = l2_signature(&creds.secret, 500, "DELETE", "/order", Some(body)).unwrap();
        let addr = s.address().to_checksum_string();
        let good = [
            ("POLY_ADDRESS", addr.as_str()),
            ("POLY_SIGNATURE", sig.as_str()),
            ("POLY_TIMESTAMP", "500"),
            ("POLY_API_KEY", creds.api_key.as_str()),
            ("POLY_PASSPHRASE", creds.passphrase.as_str()),
        ];
        let req = request("DELETE", "/order", body, &good);
        assert!(verify_l2(&req, &keys, 505, 30).is_ok());
        assert_eq!(
            verify_l2(&req, &keys, 600, 30).unwrap_err(),
            AuthError::StaleTimestamp
        );
        let tampered = request("DELETE", "/order", r#"{"orderID":"0x02"}"#, &good);
        assert_eq!(
            verify_l2(&tampered, &keys, 505, 30).unwrap_err(),
            AuthError::BadHmac
        );
        let mut bad = good;
        bad[4].1 = "nope";
        assert_eq!(
            verify_l2(&request("DELETE", "/order", body, &bad), &keys, 505, 30).unwrap_err(),
            AuthError::Passphrase
        );
        let mut bad = good;
        bad[3].1 = "unknown";
        assert_eq!(
            verify_l2(&request("DELETE", "/order", body, &bad), &keys, 505, 30).unwrap_err(),
            AuthError::InvalidApiKey
        );
    }
}
