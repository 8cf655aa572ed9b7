//! Lowercase hex encoding and strict hex decoding into fixed-size buffers.
//!
//! Invariants: encoding writes exactly `2 * len` lowercase ASCII bytes and never allocates;
//! decoding accepts an optional `0x`/`0X` prefix and either case, and refuses odd lengths,
//! wrong lengths and non-hex characters with a typed error.

use super::SigningError;

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// Write `bytes` as lowercase hex into `out[..2 * bytes.len()]`.
///
/// # Panics
/// Panics if `out` is shorter than `2 * bytes.len()` (a caller bug: all callers size their
/// buffers from constants).
#[inline]
pub fn encode_into(bytes: &[u8], out: &mut [u8]) {
    let out = &mut out[..bytes.len() * 2];
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX_LOWER[(b >> 4) as usize];
        pair[1] = HEX_LOWER[(b & 0x0f) as usize];
    }
}

/// `0x`-prefixed lowercase hex as a `String` (cold paths: CLI output, tests, logs of public data).
pub fn to_0x_string(bytes: &[u8]) -> String {
    let mut out = vec![0u8; 2 + bytes.len() * 2];
    out[0] = b'0';
    out[1] = b'x';
    encode_into(bytes, &mut out[2..]);
    // Only ASCII hex digits were written.
    String::from_utf8(out).unwrap_or_default()
}

#[inline]
fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Strip an optional `0x`/`0X` prefix.
#[inline]
pub fn strip_0x(s: &str) -> &str {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
}

/// Decode exactly `N` bytes of hex (optional `0x` prefix).
pub fn decode_array<const N: usize>(s: &str) -> Result<[u8; N], SigningError> {
    let digits = strip_0x(s).as_bytes();
    if digits.len() != N * 2 {
        return Err(SigningError::HexLength {
            expected: N,
            got_digits: digits.len(),
        });
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let hi = nibble(pair[0]).ok_or(SigningError::HexDigit)?;
        let lo = nibble(pair[1]).ok_or(SigningError::HexDigit)?;
        *o = (hi << 4) | lo;
    }
    Ok(out)
}

/// Decode an even-length hex string of any length (cold paths and tests).
pub fn decode_vec(s: &str) -> Result<Vec<u8>, SigningError> {
    let digits = strip_0x(s).as_bytes();
    if digits.len() % 2 != 0 {
        return Err(SigningError::HexLength {
            expected: digits.len() / 2 + 1,
            got_digits: digits.len(),
        });
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            let hi = nibble(pair[0]).ok_or(SigningError::HexDigit)?;
            let lo = nibble(pair[1]).ok_or(SigningError::HexDigit)?;
            Ok((hi << 4) | lo)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let b = [0x00, 0x1b, 0xab, 0xff];
        assert_eq!(to_0x_string(&b), "0x001babff");
        assert_eq!(decode_array::<4>("0x001BabFF"), Ok(b));
        assert_eq!(decode_array::<4>("001babff"), Ok(b));
        assert!(matches!(
            decode_array::<4>("0x001bab"),
            Err(SigningError::HexLength { .. })
        ));
        assert_eq!(decode_array::<2>("0xzz00"), Err(SigningError::HexDigit));
        assert_eq!(decode_vec("0x0102").unwrap(), vec![1, 2]);
        assert!(decode_vec("0x012").is_err());
    }
}
