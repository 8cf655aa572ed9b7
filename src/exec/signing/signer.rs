//! The EOA signing key and 65-byte Ethereum signatures.
//!
//! Deterministic path: RFC 6979 via k256 (`sign_prehash_recoverable`), low-s, `v = 27 + recid`
//! — byte-identical to eth-account / the official clients. The fast path with precomputed
//! nonces lives in `nonce_pool.rs`.
//!
//! Invariants: the key arrives as 32 secret bytes and is held only inside k256's `SigningKey`
//! (zeroized on drop); `Debug` shows the address, never key material; every signature is low-s
//! with `v ∈ {27, 28}`.

use super::address::Address;
use super::hex;
use super::SigningError;
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::scalar::IsHigh;
use k256::NonZeroScalar;

/// A secp256k1 signature in Ethereum's `r || s || v` form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Signature65 {
    /// r, big-endian.
    pub r: [u8; 32],
    /// s, big-endian, always in the lower half of the group order.
    pub s: [u8; 32],
    /// 27 or 28.
    pub v: u8,
}

impl Signature65 {
    /// `r || s || v`.
    #[inline]
    pub fn to_bytes(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[..32].copy_from_slice(&self.r);
        out[32..64].copy_from_slice(&self.s);
        out[64] = self.v;
        out
    }

    /// `0x`-prefixed lowercase hex (132 chars) written into a stack buffer.
    #[inline]
    pub fn hex(&self) -> [u8; 132] {
        let mut out = [0u8; 132];
        out[0] = b'0';
        out[1] = b'x';
        hex::encode_into(&self.to_bytes(), &mut out[2..]);
        out
    }

    /// `0x` hex as a `String` (cold paths).
    pub fn to_hex_string(&self) -> String {
        hex::to_0x_string(&self.to_bytes())
    }

    /// Parse 65 bytes `r || s || v` (v 27/28 or 0/1).
    pub fn from_bytes(b: &[u8]) -> Result<Signature65, SigningError> {
        if b.len() != 65 {
            return Err(SigningError::SignatureLength(b.len()));
        }
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&b[..32]);
        s.copy_from_slice(&b[32..64]);
        let v = match b[64] {
            0 | 27 => 27,
            1 | 28 => 28,
            _ => return Err(SigningError::BadRecoveryByte(b[64])),
        };
        Ok(Signature65 { r, s, v })
    }
}

/// Recover the signing address of `sig` over a 32-byte prehash (ecrecover).
pub fn recover_address(digest: &[u8; 32], sig: &Signature65) -> Result<Address, SigningError> {
    let signature =
        Signature::from_scalars(sig.r, sig.s).map_err(|_| SigningError::InvalidSignature)?;
    let recid = RecoveryId::from_byte(sig.v.wrapping_sub(27))
        .ok_or(SigningError::BadRecoveryByte(sig.v))?;
    let key = VerifyingKey::recover_from_prehash(digest, &signature, recid)
        .map_err(|_| SigningError::InvalidSignature)?;
    Ok(Address::from_verifying_key(&key))
}

/// The EOA private key with its address.
pub struct EoaSigner {
    key: SigningKey,
    address: Address,
}

impl EoaSigner {
    /// Build from 32 secret bytes. Fails (never falls back) on zero or ≥ n.
    /// Costs tens of µs: do it at start-up, off the hot thread.
    pub fn from_bytes(secret: &[u8; 32]) -> Result<EoaSigner, SigningError> {
        let key = SigningKey::from_slice(secret).map_err(|_| SigningError::InvalidPrivateKey)?;
        let address = Address::from_verifying_key(key.verifying_key());
        Ok(EoaSigner { key, address })
    }

    /// The signer's address.
    #[inline]
    pub fn address(&self) -> Address {
        self.address
    }

    /// The public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.key.verifying_key()
    }

    /// The secret scalar (for the pooled-nonce online step only).
    #[inline]
    pub(crate) fn secret_scalar(&self) -> &NonZeroScalar {
        self.key.as_nonzero_scalar()
    }

    /// Deterministic RFC 6979 signature of a 32-byte digest (~30 µs; off the hot path, or the
    /// fallback when the nonce pool is empty).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<Signature65, SigningError> {
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(digest)
            .map_err(|_| SigningError::InvalidSignature)?;
        let mut recid = recid.to_byte();
        // k256 already normalises to low-s; keep the guard so the invariant is local.
        let sig = match sig.normalize_s() {
            Some(low) => {
                recid ^= 1;
                low
            }
            None => sig,
        };
        debug_assert!(!bool::from(sig.s().is_high()));
        let (r, s) = sig.split_bytes();
        Ok(Signature65 {
            r: r.into(),
            s: s.into(),
            v: 27 + (recid & 1),
        })
    }
}

impl std::fmt::Debug for EoaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EoaSigner")
            .field("address", &self.address)
            .field("key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7u8; 32];

    #[test]
    fn debug_hides_key_and_signature_recovers() {
        let s = EoaSigner::from_bytes(&KEY).unwrap();
        let dbg = format!("{s:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.contains("0707"));
        let digest = [0x42u8; 32];
        let sig = s.sign_digest(&digest).unwrap();
        assert!(sig.v == 27 || sig.v == 28);
        assert_eq!(recover_address(&digest, &sig).unwrap(), s.address());
        assert_eq!(Signature65::from_bytes(&sig.to_bytes()).unwrap(), sig);
    }

    #[test]
    fn refuses_invalid_keys() {
        assert!(EoaSigner::from_bytes(&[0u8; 32]).is_err());
        assert!(EoaSigner::from_bytes(&[0xffu8; 32]).is_err());
    }
}
