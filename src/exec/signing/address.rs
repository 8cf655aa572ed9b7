//! 20-byte Ethereum addresses: parsing, EIP-55 checksummed text, derivation from a public key,
//! and the 32-byte ABI word used in EIP-712 encodings.
//!
//! Invariants: an [`Address`] always holds exactly 20 bytes; parsing accepts all-lowercase,
//! all-uppercase or correctly checksummed mixed case and refuses a mixed-case string whose
//! checksum is wrong (a typo guard for funder addresses typed by hand).

use super::hex;
use super::keccak::keccak256;
use super::SigningError;
use k256::ecdsa::VerifyingKey;

/// An Ethereum address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Address(pub [u8; 20]);

/// EIP-55 text of an address: `0x` + 40 hex digits.
pub type ChecksumText = [u8; 42];

impl Address {
    /// The zero address.
    pub const ZERO: Address = Address([0; 20]);

    /// Parse `0x…` hex (40 digits). Mixed case must carry a valid EIP-55 checksum.
    pub fn parse(s: &str) -> Result<Address, SigningError> {
        let bytes = hex::decode_array::<20>(s)?;
        let addr = Address(bytes);
        let digits = hex::strip_0x(s).as_bytes();
        let has_lower = digits.iter().any(|c| c.is_ascii_lowercase());
        let has_upper = digits.iter().any(|c| c.is_ascii_uppercase());
        if has_lower && has_upper && addr.checksum_text()[2..] != *digits {
            return Err(SigningError::AddressChecksum);
        }
        Ok(addr)
    }

    /// Address of a secp256k1 public key: last 20 bytes of keccak256(X || Y).
    pub fn from_verifying_key(key: &VerifyingKey) -> Address {
        let point = key.to_encoded_point(false);
        let uncompressed = point.as_bytes();
        // Uncompressed SEC1 is 0x04 || X(32) || Y(32).
        let hash = keccak256(uncompressed.get(1..).unwrap_or_default());
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        Address(out)
    }

    /// EIP-55 mixed-case checksummed text (`0x` prefixed).
    pub fn checksum_text(&self) -> ChecksumText {
        let mut out = [0u8; 42];
        out[0] = b'0';
        out[1] = b'x';
        hex::encode_into(&self.0, &mut out[2..]);
        let hash = keccak256(&out[2..]);
        for i in 0..40 {
            let c = out[2 + i];
            let nib = if i % 2 == 0 {
                hash[i / 2] >> 4
            } else {
                hash[i / 2] & 0x0f
            };
            if c.is_ascii_alphabetic() && nib >= 8 {
                out[2 + i] = c.to_ascii_uppercase();
            }
        }
        out
    }

    /// Checksummed text as a `String` (cold paths).
    pub fn to_checksum_string(&self) -> String {
        String::from_utf8_lossy(&self.checksum_text()).into_owned()
    }

    /// The address left-padded to a 32-byte ABI word.
    #[inline]
    pub fn word(&self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(&self.0);
        w
    }
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_checksum_string())
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_checksum_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_round_trip() {
        let s = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23";
        let a = Address::parse(s).unwrap();
        assert_eq!(a.to_checksum_string(), s);
        assert_eq!(Address::parse(&s.to_ascii_lowercase()).unwrap(), a);
        // One flipped letter case breaks the checksum.
        let bad = "0x2c7536e3605D9C16a7a3D7b1898e529396a65c23";
        assert_eq!(Address::parse(bad), Err(SigningError::AddressChecksum));
    }
}
