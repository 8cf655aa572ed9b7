//! L1 (wallet) authentication: the `ClobAuth` EIP-712 signature used by
//! `POST /auth/api-key` (create) and `GET /auth/derive-api-key` (derive), and its four headers.
//!
//! Domain `ClobAuthDomain`, version "1", chainId, **no** verifyingContract; message
//! `ClobAuth(address address,string timestamp,uint256 nonce,string message)` with the timestamp
//! as a decimal *string* of unix seconds. Signed deterministically (RFC 6979), v = 27/28.
//! Cold path (once per session); allocation is fine here.

use super::address::{Address, ChecksumText};
use super::eip712::{domain_separator, typed_data_digest, u64_word, CHAIN_ID};
use super::hmac::DecimalText;
use super::keccak::keccak256;
use super::signer::{EoaSigner, Signature65};
use super::SigningError;

/// Domain name.
pub const CLOB_AUTH_DOMAIN_NAME: &str = "ClobAuthDomain";
/// Domain version.
pub const CLOB_AUTH_DOMAIN_VERSION: &str = "1";
/// The type string.
pub const CLOB_AUTH_TYPE_STRING: &str =
    "ClobAuth(address address,string timestamp,uint256 nonce,string message)";
/// The fixed attestation text.
pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";

/// Domain separator of `ClobAuthDomain` on `chain_id`.
pub fn clob_auth_domain_separator(chain_id: u64) -> [u8; 32] {
    domain_separator(
        CLOB_AUTH_DOMAIN_NAME,
        CLOB_AUTH_DOMAIN_VERSION,
        chain_id,
        None,
    )
}

/// `hashStruct(ClobAuth)`.
pub fn clob_auth_struct_hash(address: &Address, timestamp_s: u64, nonce: u64) -> [u8; 32] {
    let mut enc = [0u8; 5 * 32];
    enc[..32].copy_from_slice(&keccak256(CLOB_AUTH_TYPE_STRING.as_bytes()));
    enc[32..64].copy_from_slice(&address.word());
    enc[64..96].copy_from_slice(&keccak256(DecimalText::new(timestamp_s).as_bytes()));
    enc[96..128].copy_from_slice(&u64_word(nonce));
    enc[128..].copy_from_slice(&keccak256(CLOB_AUTH_MESSAGE.as_bytes()));
    keccak256(&enc)
}

/// The digest the wallet signs.
pub fn clob_auth_digest(
    chain_id: u64,
    address: &Address,
    timestamp_s: u64,
    nonce: u64,
) -> [u8; 32] {
    typed_data_digest(
        &clob_auth_domain_separator(chain_id),
        &clob_auth_struct_hash(address, timestamp_s, nonce),
    )
}

/// Sign `ClobAuth` for the signer's own address.
pub fn sign_clob_auth(
    signer: &EoaSigner,
    chain_id: u64,
    timestamp_s: u64,
    nonce: u64,
) -> Result<Signature65, SigningError> {
    signer.sign_digest(&clob_auth_digest(
        chain_id,
        &signer.address(),
        timestamp_s,
        nonce,
    ))
}

/// The four L1 headers.
#[derive(Clone, Copy)]
pub struct L1Headers {
    address: ChecksumText,
    signature: [u8; 132],
    /// `POLY_TIMESTAMP`.
    pub timestamp: DecimalText,
    /// `POLY_NONCE`.
    pub nonce: DecimalText,
}

impl L1Headers {
    /// Sign and assemble the headers (Polygon mainnet).
    pub fn new(
        signer: &EoaSigner,
        timestamp_s: u64,
        nonce: u64,
    ) -> Result<L1Headers, SigningError> {
        let sig = sign_clob_auth(signer, CHAIN_ID, timestamp_s, nonce)?;
        Ok(L1Headers {
            address: signer.address().checksum_text(),
            signature: sig.hex(),
            timestamp: DecimalText::new(timestamp_s),
            nonce: DecimalText::new(nonce),
        })
    }

    /// `(name, value)` pairs.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            (
                "POLY_ADDRESS",
                std::str::from_utf8(&self.address).unwrap_or(""),
            ),
            (
                "POLY_SIGNATURE",
                std::str::from_utf8(&self.signature).unwrap_or(""),
            ),
            ("POLY_TIMESTAMP", self.timestamp.as_str()),
            ("POLY_NONCE", self.nonce.as_str()),
        ]
    }
}

impl std::fmt::Debug for L1Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("L1Headers");
        for (k, v) in self.pairs() {
            d.field(k, &v);
        }
        d.finish()
    }
}
