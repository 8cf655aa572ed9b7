//! Exact decimal <-> fixed-point integer conversion for venue numbers.
//!
//! Venues send prices and sizes as decimal strings ("61837.63000000", ".48"). They are parsed
//! straight into `i64` scaled by `10^scale` with no floating point: a value with more significant
//! fractional digits than `scale` is refused (`Inexact`) rather than rounded, so every accepted
//! number round-trips exactly. Nothing here allocates.

use std::fmt;

/// Why a decimal string could not become a fixed-point integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedError {
    /// Empty input, a stray character, or no digits at all.
    Syntax,
    /// More non-zero fractional digits than the requested scale.
    Inexact,
    /// The scaled value does not fit in an `i64`.
    Overflow,
}

impl fmt::Display for FixedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FixedError::Syntax => "not a plain decimal number",
            FixedError::Inexact => "more fractional digits than the fixed-point scale",
            FixedError::Overflow => "value out of range",
        })
    }
}

impl std::error::Error for FixedError {}

/// Powers of ten that fit in an i64.
pub const POW10: [i64; 19] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
];

/// Parse an ASCII decimal (`-12.5`, `.48`, `61837.63000000`, `7`) into `value * 10^scale`.
///
/// Accepts an optional leading `-`, digits, and at most one `.`. Trailing fractional zeros beyond
/// `scale` are allowed; any other digit beyond `scale` is `Inexact`. `scale` must be ≤ 18.
#[inline]
pub fn parse_fixed(s: &[u8], scale: u32) -> Result<i64, FixedError> {
    debug_assert!(scale <= 18);
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(_) => (false, s),
        None => return Err(FixedError::Syntax),
    };
    let mut acc: i64 = 0;
    let mut seen_digit = false;
    let mut seen_dot = false;
    let mut frac_digits: u32 = 0;
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                seen_digit = true;
                let d = (c - b'0') as i64;
                if seen_dot {
                    if frac_digits >= scale {
                        if d != 0 {
                            return Err(FixedError::Inexact);
                        }
                        continue;
                    }
                    frac_digits += 1;
                }
                acc = acc
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(d))
                    .ok_or(FixedError::Overflow)?;
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return Err(FixedError::Syntax),
        }
    }
    if !seen_digit {
        return Err(FixedError::Syntax);
    }
    let v = acc
        .checked_mul(POW10[(scale - frac_digits) as usize])
        .ok_or(FixedError::Overflow)?;
    Ok(if neg { -v } else { v })
}

/// Write `value / 10^scale` as a decimal into `out`, trimming trailing fractional zeros
/// (`1500000, 6` -> `1.5`; `2000000, 6` -> `2`). Returns the number of bytes written, or `None`
/// when `out` is too small. Never allocates.
pub fn write_fixed(out: &mut [u8], value: i64, scale: u32) -> Option<usize> {
    debug_assert!(scale <= 18);
    let mut tmp = [0u8; 48];
    let mut n = 0usize;
    let neg = value < 0;
    let mut mag = value.unsigned_abs();
    let p = POW10[scale as usize] as u64;
    let mut int = mag / p;
    mag %= p;
    // fractional digits, most significant first, trailing zeros trimmed
    let mut frac = [0u8; 18];
    let mut flen = 0usize;
    let mut div = p / 10;
    while div > 0 {
        frac[flen] = b'0' + (mag / div) as u8;
        mag %= div;
        div /= 10;
        flen += 1;
    }
    while flen > 0 && frac[flen - 1] == b'0' {
        flen -= 1;
    }
    // integer digits, reversed
    let mut rev = [0u8; 20];
    let mut ilen = 0usize;
    loop {
        rev[ilen] = b'0' + (int % 10) as u8;
        int /= 10;
        ilen += 1;
        if int == 0 {
            break;
        }
    }
    if neg {
        tmp[n] = b'-';
        n += 1;
    }
    for i in (0..ilen).rev() {
        tmp[n] = rev[i];
        n += 1;
    }
    if flen > 0 {
        tmp[n] = b'.';
        n += 1;
        tmp[n..n + flen].copy_from_slice(&frac[..flen]);
        n += flen;
    }
    if out.len() < n {
        return None;
    }
    out[..n].copy_from_slice(&tmp[..n]);
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_venue_shapes() {
        assert_eq!(parse_fixed(b"61837.63000000", 8), Ok(6_183_763_000_000));
        assert_eq!(parse_fixed(b".48", 6), Ok(480_000));
        assert_eq!(parse_fixed(b"0.001", 6), Ok(1_000));
        assert_eq!(parse_fixed(b"7", 2), Ok(700));
        assert_eq!(parse_fixed(b"-1.25", 2), Ok(-125));
        assert_eq!(parse_fixed(b"1.2300", 2), Ok(123));
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(parse_fixed(b"", 2), Err(FixedError::Syntax));
        assert_eq!(parse_fixed(b"-", 2), Err(FixedError::Syntax));
        assert_eq!(parse_fixed(b".", 2), Err(FixedError::Syntax));
        assert_eq!(parse_fixed(b"1.2.3", 2), Err(FixedError::Syntax));
        assert_eq!(parse_fixed(b"1e5", 2), Err(FixedError::Syntax));
        assert_eq!(parse_fixed(b"1.234", 2), Err(FixedError::Inexact));
        assert_eq!(
            parse_fixed(b"99999999999999999999", 0),
            Err(FixedError::Overflow)
        );
    }

    #[test]
    fn round_trips() {
        let mut buf = [0u8; 48];
        for (v, s, txt) in [
            (1_500_000i64, 6u32, "1.5"),
            (2_000_000, 6, "2"),
            (-125, 2, "-1.25"),
            (0, 6, "0"),
            (6_183_763_000_000, 8, "61837.63"),
            (1, 6, "0.000001"),
        ] {
            let n = write_fixed(&mut buf, v, s).unwrap();
            assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), txt);
            assert_eq!(parse_fixed(&buf[..n], s), Ok(v));
        }
        assert_eq!(write_fixed(&mut [0u8; 2], 12345, 0), None);
    }
}
