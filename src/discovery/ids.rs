//! Identifiers of a market: the CTF condition id (`0x` + 64 hex digits) and the ERC-1155
//! outcome token ids (decimal strings up to 2^256 - 1), each kept both as the venue's text (for
//! REST/WS requests, built on the risk thread) and as a 32-byte big-endian key (for the hot
//! thread's pointer-free records and fast comparisons).
//!
//! Invariants: a parsed id round-trips (the key is the exact integer of the text); text that is
//! not canonical (empty, wrong length, non-digit, leading zeros, > 2^256 - 1) is refused.

use std::fmt;

/// Why an id string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// A condition id that is not `0x` followed by exactly 64 hex digits.
    #[error("condition id is not 0x + 64 hex digits")]
    BadConditionId,
    /// A token id that is not a canonical decimal integer.
    #[error("token id is not a canonical decimal integer")]
    BadTokenId,
    /// A token id above 2^256 - 1.
    #[error("token id does not fit in 256 bits")]
    TokenIdOverflow,
}

/// A CTF condition id.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ConditionId {
    /// As the venue writes it, lower-cased: `0x` + 64 hex digits.
    pub hex: String,
    /// The 32 bytes.
    pub key: [u8; 32],
}

impl ConditionId {
    /// Parse `0x` + 64 hex digits (either case).
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .ok_or(IdError::BadConditionId)?;
        if digits.len() != 64 {
            return Err(IdError::BadConditionId);
        }
        let mut key = [0u8; 32];
        for (byte, pair) in key.iter_mut().zip(digits.as_bytes().chunks_exact(2)) {
            let (Some(hi), Some(lo)) = (
                pair.first().and_then(|&c| hex_value(c)),
                pair.get(1).and_then(|&c| hex_value(c)),
            ) else {
                return Err(IdError::BadConditionId);
            };
            *byte = hi << 4 | lo;
        }
        Ok(Self {
            hex: text.to_ascii_lowercase(),
            key,
        })
    }
}

impl fmt::Debug for ConditionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex)
    }
}

/// An outcome token id.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenId {
    /// As the venue writes it: a decimal integer.
    pub decimal: String,
    /// The 256-bit integer, big-endian.
    pub key: [u8; 32],
}

impl TokenId {
    /// Parse a canonical decimal integer (no sign, no leading zeros) below 2^256.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let canonical = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        if !canonical {
            return Err(IdError::BadTokenId);
        }
        let mut key = [0u8; 32];
        for digit in text.bytes() {
            // key = key * 10 + digit, from the least significant byte up.
            let mut carry = u32::from(digit - b'0');
            for byte in key.iter_mut().rev() {
                let v = u32::from(*byte) * 10 + carry;
                *byte = (v & 0xff) as u8;
                carry = v >> 8;
            }
            if carry != 0 {
                return Err(IdError::TokenIdOverflow);
            }
        }
        Ok(Self {
            decimal: text.to_owned(),
            key,
        })
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.decimal)
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
