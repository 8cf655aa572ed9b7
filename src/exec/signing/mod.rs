//! Polymarket CLOB V2 order construction, EIP-712 signing and API authentication, byte-exact
//! against the official clients' vectors (`shared/vectors/polymarket_v2.json`).
//!
//! Hot path (no allocation, no floats, no formatting): [`amounts`] (integer micro-units) →
//! [`order::OrderTemplate`] (pre-laid-out EIP-712 words, [`eip712`]) → signature
//! ([`nonce_pool`] online step, or deterministic [`signer`]) → [`body`] (exact POST JSON into a
//! fixed buffer) → [`hmac`] (pre-keyed L2 signature and headers).
//! Cold path: [`clob_auth`] (L1), [`fees`], [`commands`] (CLI functions).
//!
//! Invariants: key material is taken as 32 bytes, never printed or shown by `Debug`; every
//! nonce is used once; malformed input yields a [`SigningError`], never a panic.

pub mod address;
pub mod amounts;
pub mod body;
pub mod clob_auth;
pub mod commands;
pub mod eip712;
pub mod fees;
pub mod hex;
pub mod hmac;
pub mod keccak;
pub mod nonce_pool;
pub mod order;
pub mod signer;

use thiserror::Error;

/// Everything that can go wrong while building, signing or authenticating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SigningError {
    /// Hex of the wrong length.
    #[error("hex value has {got_digits} digits, expected {expected} bytes")]
    HexLength {
        /// Expected bytes.
        expected: usize,
        /// Digits found.
        got_digits: usize,
    },
    /// A non-hex character.
    #[error("invalid hex digit")]
    HexDigit,
    /// Mixed-case address with a wrong EIP-55 checksum.
    #[error("address checksum mismatch")]
    AddressChecksum,
    /// A signature that is not 65 bytes.
    #[error("signature must be 65 bytes, got {0}")]
    SignatureLength(usize),
    /// v not in {0, 1, 27, 28}.
    #[error("bad recovery byte {0}")]
    BadRecoveryByte(u8),
    /// Signing or recovery failed.
    #[error("invalid signature")]
    InvalidSignature,
    /// Private key zero or not below the group order.
    #[error("invalid private key")]
    InvalidPrivateKey,
    /// Token id not a decimal uint256.
    #[error("token id is not a decimal uint256")]
    TokenId,
    /// Signature type outside 0..=3.
    #[error("unknown signature type {0}")]
    SignatureType(u8),
    /// Types 1–3 need a funder address.
    #[error("signature type needs a funder (maker) address")]
    FunderRequired,
    /// The key does not match the template's `signer`.
    #[error("signing key does not match the order signer")]
    SignerMismatch,
    /// A salt prefix used with another salt.
    #[error("salt prefix was absorbed for a different salt")]
    SaltPrefixMismatch,
    /// Body buffer too small.
    #[error("body buffer too small")]
    BodyCapacity,
    /// Owner contains characters that would need JSON escaping, or is too long.
    #[error("owner (api key) has characters that need escaping or is too long")]
    OwnerText,
    /// Batch of 0 or more than 15 orders.
    #[error("batch must hold 1..=15 orders, got {0}")]
    BatchSize(usize),
    /// API secret is not URL-safe base64.
    #[error("api secret is not url-safe base64")]
    ApiSecret,
    /// Post-only with FOK/FAK.
    #[error("post-only is only allowed with GTC and GTD")]
    PostOnlyType,
    /// GTD without expiration.
    #[error("GTD orders need an expiration")]
    GtdNeedsExpiration,
    /// Amount computation failed.
    #[error("amounts: {0}")]
    Amount(#[from] amounts::AmountError),
}
