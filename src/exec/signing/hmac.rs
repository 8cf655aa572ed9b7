//! L2 (API-key) authentication: `POLY_SIGNATURE = urlsafe_b64(HMAC-SHA256(key, timestamp +
//! METHOD + path + body))` with `key = urlsafe_b64decode(secret)`, and the five L2 headers.
//!
//! Speed: the HMAC is keyed once ([`L2Credentials::new`]); each request clones the keyed state
//! (inner/outer pads already absorbed) and hashes only the message — no allocation.
//! Invariants: `path` is hashed without its query string (everything from `?` is ignored);
//! the body is hashed byte for byte (no `'`→`"` rewriting: we match the unified SDK, and our
//! bodies never contain apostrophes); the secret and passphrase never appear in `Debug`.

use super::address::{Address, ChecksumText};
use super::SigningError;
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// URL-safe base64 that accepts the secret with or without `=` padding (like the unified SDK,
/// which re-pads) and encodes with padding (like all official clients).
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Length of `POLY_SIGNATURE` (base64 of 32 bytes, padded).
pub const L2_SIGNATURE_LEN: usize = 44;

/// Decode an API secret (URL-safe base64, padding optional) into HMAC key bytes.
pub fn decode_secret(secret_b64: &str) -> Result<Zeroizing<Vec<u8>>, SigningError> {
    URL_SAFE_LENIENT
        .decode(secret_b64.trim())
        .map(Zeroizing::new)
        .map_err(|_| SigningError::ApiSecret)
}

/// A `POLY_SIGNATURE` value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct L2Signature([u8; L2_SIGNATURE_LEN]);

impl L2Signature {
    /// The ASCII text.
    pub fn as_str(&self) -> &str {
        // Base64 output is ASCII.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
    /// The ASCII bytes.
    pub fn as_bytes(&self) -> &[u8; L2_SIGNATURE_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for L2Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Unsigned decimal text in a stack buffer (header values).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DecimalText {
    buf: [u8; 20],
    start: u8,
}

impl DecimalText {
    /// Render `v`.
    pub fn new(mut v: u64) -> DecimalText {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        DecimalText {
            buf,
            start: i as u8,
        }
    }
    /// The digits.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[usize::from(self.start)..]
    }
    /// The digits as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl std::fmt::Debug for DecimalText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// URL-safe base64 (padded) of a 32-byte tag: exactly 44 characters, the last one `=`.
/// Equal to the `base64` engine's output (tested); written out because it is on every request.
#[inline]
fn base64_url_32(tag: &[u8; 32]) -> [u8; L2_SIGNATURE_LEN] {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sym = |v: u32| ALPHABET[(v & 63) as usize];
    let mut out = [b'='; L2_SIGNATURE_LEN];
    for (group, dst) in tag.chunks(3).zip(out.chunks_exact_mut(4)) {
        let b0 = u32::from(group[0]);
        let b1 = u32::from(group.get(1).copied().unwrap_or(0));
        let b2 = u32::from(group.get(2).copied().unwrap_or(0));
        let v = (b0 << 16) | (b1 << 8) | b2;
        dst[0] = sym(v >> 18);
        dst[1] = sym(v >> 12);
        if group.len() > 1 {
            dst[2] = sym(v >> 6);
        }
        if group.len() > 2 {
            dst[3] = sym(v);
        }
    }
    out
}

/// API credentials with a pre-keyed HMAC.
#[derive(Clone)]
pub struct L2Credentials {
    address_text: ChecksumText,
    api_key: String,
    passphrase: Zeroizing<String>,
    keyed: HmacSha256,
}

impl L2Credentials {
    /// `address` is the EOA (`POLY_ADDRESS`), `secret_b64` the URL-safe base64 API secret.
    pub fn new(
        address: Address,
        api_key: &str,
        secret_b64: &str,
        passphrase: &str,
    ) -> Result<L2Credentials, SigningError> {
        let key = decode_secret(secret_b64)?;
        let keyed = HmacSha256::new_from_slice(&key).map_err(|_| SigningError::ApiSecret)?;
        Ok(L2Credentials {
            address_text: address.checksum_text(),
            api_key: api_key.to_owned(),
            passphrase: Zeroizing::new(passphrase.to_owned()),
            keyed,
        })
    }

    /// API key (also the `owner` of orders).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// `POLY_SIGNATURE` for a request. `body` is empty for requests without a body.
    #[inline]
    pub fn sign(&self, timestamp_s: u64, method: &str, path: &str, body: &[u8]) -> L2Signature {
        let path = path.as_bytes();
        let path = match path.iter().position(|&b| b == b'?') {
            Some(q) => path.get(..q).unwrap_or(path),
            None => path,
        };
        let mut mac = self.keyed.clone();
        // Timestamp, method and path in one piece: one trip through the HMAC's block buffer.
        let mut head = [0u8; 64];
        let ts = DecimalText::new(timestamp_s);
        let parts = [ts.as_bytes(), method.as_bytes(), path];
        let head_len: usize = parts.iter().map(|p| p.len()).sum();
        if head_len <= head.len() {
            let mut at = 0;
            for p in parts {
                if let Some(dst) = head.get_mut(at..at + p.len()) {
                    dst.copy_from_slice(p);
                }
                at += p.len();
            }
            mac.update(head.get(..head_len).unwrap_or(&[]));
        } else {
            for p in parts {
                mac.update(p);
            }
        }
        mac.update(body);
        let tag: [u8; 32] = mac.finalize().into_bytes().into();
        L2Signature(base64_url_32(&tag))
    }

    /// The five L2 headers for a request.
    #[inline]
    pub fn headers(
        &self,
        timestamp_s: u64,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> L2Headers<'_> {
        L2Headers {
            address: &self.address_text,
            signature: self.sign(timestamp_s, method, path, body),
            timestamp: DecimalText::new(timestamp_s),
            api_key: &self.api_key,
            passphrase: &self.passphrase,
        }
    }
}

impl std::fmt::Debug for L2Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2Credentials")
            .field("address", &String::from_utf8_lossy(&self.address_text))
            .field("api_key", &self.api_key)
            .field("secret", &"<redacted>")
            .field("passphrase", &"<redacted>")
            .finish()
    }
}

/// L2 header values for one request (borrowing the credentials).
#[derive(Clone, Copy)]
pub struct L2Headers<'a> {
    address: &'a ChecksumText,
    /// `POLY_SIGNATURE`.
    pub signature: L2Signature,
    /// `POLY_TIMESTAMP` (unix seconds).
    pub timestamp: DecimalText,
    api_key: &'a str,
    passphrase: &'a str,
}

impl<'a> L2Headers<'a> {
    /// `(name, value)` pairs in the order the official clients send them.
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            (
                "POLY_ADDRESS",
                std::str::from_utf8(self.address).unwrap_or(""),
            ),
            ("POLY_SIGNATURE", self.signature.as_str()),
            ("POLY_TIMESTAMP", self.timestamp.as_str()),
            ("POLY_API_KEY", self.api_key),
            ("POLY_PASSPHRASE", self.passphrase),
        ]
    }
}

impl std::fmt::Debug for L2Headers<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2Headers")
            .field("address", &String::from_utf8_lossy(self.address))
            .field("signature", &self.signature)
            .field("timestamp", &self.timestamp)
            .field("api_key", &self.api_key)
            .field("passphrase", &"<redacted>")
            .finish()
    }
}

/// One-shot `POLY_SIGNATURE` (CLI `auth l2-sign`): `body = None` for requests without a body.
pub fn l2_signature(
    secret_b64: &str,
    timestamp_s: u64,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<String, SigningError> {
    let creds = L2Credentials::new(Address::ZERO, "", secret_b64, "")?;
    Ok(creds
        .sign(timestamp_s, method, path, body.unwrap_or("").as_bytes())
        .as_str()
        .to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_padding_is_optional_and_debug_redacts() {
        let padded = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let bare = padded.trim_end_matches('=');
        assert_eq!(
            *decode_secret(padded).unwrap(),
            *decode_secret(bare).unwrap()
        );
        assert!(decode_secret("not base64 !").is_err());
        let c = L2Credentials::new(Address::ZERO, "key", padded, "pass-phrase").unwrap();
        let dbg = format!("{c:?} {:?}", c.headers(1, "GET", "/x", b""));
        assert!(!dbg.contains("pass-phrase") && !dbg.contains(bare));
        // Query strings are not part of the signed path.
        assert_eq!(
            c.sign(5, "GET", "/data/orders?id=1", b""),
            c.sign(5, "GET", "/data/orders", b"")
        );
        assert_eq!(DecimalText::new(0).as_str(), "0");
        // A method + path too long for the one-piece head is hashed piecewise, identically.
        let long_path = format!("/{}", "p".repeat(80));
        let mut mac = c.keyed.clone();
        mac.update(b"5GET");
        mac.update(long_path.as_bytes());
        let tag: [u8; 32] = mac.finalize().into_bytes().into();
        let mut want = [0u8; L2_SIGNATURE_LEN];
        URL_SAFE_LENIENT.encode_slice(tag, &mut want).unwrap();
        assert_eq!(c.sign(5, "GET", &long_path, b"").as_bytes(), &want);
    }

    #[test]
    fn base64_of_tags_matches_the_engine() {
        for seed in 0u8..=255 {
            let mut tag = [0u8; 32];
            for (i, b) in tag.iter_mut().enumerate() {
                *b = seed
                    .wrapping_mul(31)
                    .wrapping_add((i as u8).wrapping_mul(seed | 1));
            }
            let mut want = [0u8; L2_SIGNATURE_LEN];
            assert_eq!(URL_SAFE_LENIENT.encode_slice(tag, &mut want), Ok(44));
            assert_eq!(base64_url_32(&tag), want, "{tag:?}");
        }
        assert_eq!(DecimalText::new(u64::MAX).as_str(), "18446744073709551615");
    }
}
