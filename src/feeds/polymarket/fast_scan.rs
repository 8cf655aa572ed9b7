//! Strict scalar JSON scanner that writes simd-json tape nodes for the venue's everyday frames,
//! so small frames skip simd-json's fixed per-document cost (stage 1 bitmaps, string copies).
//!
//! Invariants:
//! * It accepts only a strict subset of JSON: ASCII strings without escapes, integers (no
//!   fraction or exponent), `true`/`false`/`null`, objects and arrays nested at most
//!   [`MAX_DEPTH`] deep, standard whitespace. Anything else, including every malformed or
//!   truncated input, makes it *decline* (return `false`) and the caller falls back to simd-json,
//!   which stays the authority on errors and on everything outside the subset.
//! * When it accepts, the tape equals what `simd_json::fill_tape` builds for the same input
//!   (same node order, `len`/`count`, `U64` for non-negative and `I64` for negative integers);
//!   a differential test checks this.
//! * Never allocates once `tape` has the capacity of the largest frame; never panics.
//! * `unsafe` is limited to an SSE2 16-byte load inside bounds and turning bytes already checked
//!   to be ASCII into `&str`.

use simd_json::{Node, StaticNode};

/// Deepest nesting handled; deeper documents are declined.
pub const MAX_DEPTH: usize = 16;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bytes of `w` equal to zero, exact for the lowest flagged byte.
#[inline(always)]
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(LO) & !w & HI
}

/// Offset of the closing quote of a string whose content starts at `from`, or `None` when the
/// string holds an escape, a control byte, a non-ASCII byte, or is unterminated.
#[inline]
pub(crate) fn string_end(b: &[u8], from: usize) -> Option<usize> {
    #[cfg_attr(
        not(target_arch = "x86_64"),
        expect(unused_mut, reason = "only the x86_64 SSE2 block advances `i` here")
    )]
    let mut i = from;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        while i + 16 <= b.len() {
            // SAFETY: `i + 16 <= b.len()`, so the unaligned 16-byte load stays inside `b`; SSE2
            // is part of the x86_64 baseline, so the intrinsics are always available.
            let m = unsafe {
                let v = _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>());
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                // Signed compare: bytes < 0x20 (controls) and >= 0x80 (negative) both match.
                let special = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), special)) as u32
            };
            if m != 0 {
                let k = i + m.trailing_zeros() as usize;
                return (b.get(k) == Some(&b'"')).then_some(k);
            }
            i += 16;
        }
    }
    while let Some(chunk) = b.get(i..i + 8) {
        let mut arr = [0u8; 8];
        arr.copy_from_slice(chunk);
        let w = u64::from_le_bytes(arr);
        let quote = zero_bytes(w ^ (LO * b'"' as u64));
        let backslash = zero_bytes(w ^ (LO * b'\\' as u64));
        let control = w.wrapping_sub(LO * 0x20) & !w & HI;
        let high = w & HI;
        let m = quote | backslash | control | high;
        if m != 0 {
            let k = i + (m.trailing_zeros() / 8) as usize;
            return (b.get(k) == Some(&b'"')).then_some(k);
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => return Some(i),
            b'\\' | 0..=0x1f | 0x80..=0xff => return None,
            _ => i += 1,
        }
    }
    None
}

#[inline(always)]
pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(i) {
        i += 1;
    }
    i
}

#[derive(Clone, Copy)]
struct Open {
    at: usize,
    len: usize,
    object: bool,
}

/// Scan `b` into `tape`. Returns `false` (tape contents unspecified) when the input is outside
/// the accepted subset; the caller must then parse it with simd-json.
pub fn scan<'a>(b: &'a [u8], tape: &mut Vec<Node<'a>>) -> bool {
    tape.clear();
    let mut stack = [Open {
        at: 0,
        len: 0,
        object: false,
    }; MAX_DEPTH];
    let mut depth = 0usize;
    let mut i = skip_ws(b, 0);
    // `true` when the next token must be a value; otherwise a key (inside an object).
    let mut want_value = true;
    loop {
        if !want_value {
            // Object key then ':'.
            if b.get(i) != Some(&b'"') {
                return false;
            }
            let Some(end) = string_end(b, i + 1) else {
                return false;
            };
            let Some(key) = ascii_str(b, i + 1, end) else {
                return false;
            };
            tape.push(Node::String(key));
            i = skip_ws(b, end + 1);
            if b.get(i) != Some(&b':') {
                return false;
            }
            i = skip_ws(b, i + 1);
        }
        // A value.
        match b.get(i) {
            Some(b'"') => {
                let Some(end) = string_end(b, i + 1) else {
                    return false;
                };
                let Some(s) = ascii_str(b, i + 1, end) else {
                    return false;
                };
                tape.push(Node::String(s));
                i = end + 1;
            }
            Some(b'{') | Some(b'[') => {
                let object = b.get(i) == Some(&b'{');
                let Some(slot) = stack.get_mut(depth) else {
                    return false;
                };
                *slot = Open {
                    at: tape.len(),
                    len: 0,
                    object,
                };
                depth += 1;
                tape.push(if object {
                    Node::Object { len: 0, count: 0 }
                } else {
                    Node::Array { len: 0, count: 0 }
                });
                i = skip_ws(b, i + 1);
                let close = if object { b'}' } else { b']' };
                if b.get(i) == Some(&close) {
                    // Empty container: close it now and fall through to "after value".
                    depth -= 1;
                    i += 1;
                } else {
                    want_value = !object;
                    continue;
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let Some((node, next)) = number(b, i) else {
                    return false;
                };
                tape.push(node);
                i = next;
            }
            Some(b't') if b.get(i..i + 4) == Some(b"true") => {
                tape.push(Node::Static(StaticNode::Bool(true)));
                i += 4;
            }
            Some(b'f') if b.get(i..i + 5) == Some(b"false") => {
                tape.push(Node::Static(StaticNode::Bool(false)));
                i += 5;
            }
            Some(b'n') if b.get(i..i + 4) == Some(b"null") => {
                tape.push(Node::Static(StaticNode::Null));
                i += 4;
            }
            _ => return false,
        }
        // After a value: count it in its container, then ',' or a closing bracket.
        loop {
            i = skip_ws(b, i);
            if depth == 0 {
                return i == b.len();
            }
            let Some(top) = stack.get_mut(depth - 1) else {
                return false;
            };
            top.len += 1;
            let close = if top.object { b'}' } else { b']' };
            match b.get(i) {
                Some(b',') => {
                    i = skip_ws(b, i + 1);
                    want_value = !top.object;
                    break;
                }
                Some(&c) if c == close => {
                    let (at, len, object) = (top.at, top.len, top.object);
                    let count = tape.len() - at - 1;
                    if let Some(node) = tape.get_mut(at) {
                        *node = if object {
                            Node::Object { len, count }
                        } else {
                            Node::Array { len, count }
                        };
                    }
                    depth -= 1;
                    i += 1;
                }
                _ => return false,
            }
        }
    }
}

/// Offset just past the JSON value starting at `i`, checked against the same strict subset as
/// [`scan`] (so a value it accepts is one `scan` accepts); `None` declines. Used by the market
/// channel's direct path to step over fields it does not read without building a tape.
pub(crate) fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    let mut closers = [0u8; MAX_DEPTH];
    let mut depth = 0usize;
    let mut want_key = false;
    loop {
        if want_key {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let end = string_end(b, i + 1)?;
            i = skip_ws(b, end + 1);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
        }
        match *b.get(i)? {
            b'"' => i = string_end(b, i + 1)? + 1,
            c @ (b'{' | b'[') => {
                let close = if c == b'{' { b'}' } else { b']' };
                *closers.get_mut(depth)? = close;
                depth += 1;
                i = skip_ws(b, i + 1);
                if b.get(i) == Some(&close) {
                    depth -= 1;
                    i += 1;
                } else {
                    want_key = close == b'}';
                    continue;
                }
            }
            b'-' | b'0'..=b'9' => i = number(b, i)?.1,
            b't' if b.get(i..i + 4) == Some(b"true") => i += 4,
            b'f' if b.get(i..i + 5) == Some(b"false") => i += 5,
            b'n' if b.get(i..i + 4) == Some(b"null") => i += 4,
            _ => return None,
        }
        // After a value: done at depth 0, else ',' or the container's closing bracket.
        loop {
            if depth == 0 {
                return Some(i);
            }
            i = skip_ws(b, i);
            let close = *closers.get(depth - 1)?;
            match *b.get(i)? {
                b',' => {
                    i = skip_ws(b, i + 1);
                    want_key = close == b'}';
                    break;
                }
                c if c == close => {
                    depth -= 1;
                    i += 1;
                }
                _ => return None,
            }
        }
    }
}

/// The string content `b[start..end]`, which `string_end` has checked to be ASCII.
#[inline(always)]
fn ascii_str(b: &[u8], start: usize, end: usize) -> Option<&str> {
    let bytes = b.get(start..end)?;
    debug_assert!(bytes.is_ascii());
    // SAFETY: `string_end` returned `end` only after checking every byte in `start..end` is
    // below 0x80 (and not a quote, backslash or control), so the slice is ASCII, hence UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// A JSON integer at `i`; `None` for fractions, exponents, leading zeros, overflow or bad syntax.
#[inline]
fn number(b: &[u8], mut i: usize) -> Option<(Node<'static>, usize)> {
    let neg = b.get(i) == Some(&b'-');
    if neg {
        i += 1;
    }
    let start = i;
    let mut v: u64 = 0;
    while let Some(&c @ b'0'..=b'9') = b.get(i) {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        i += 1;
    }
    let digits = i - start;
    if digits == 0 || (digits > 1 && b.get(start) == Some(&b'0')) {
        return None;
    }
    if let Some(b'.' | b'e' | b'E') = b.get(i) {
        return None;
    }
    let node = if neg {
        if v > 1u64 << 63 {
            return None;
        }
        Node::Static(StaticNode::I64((v as i64).wrapping_neg()))
    } else {
        Node::Static(StaticNode::U64(v))
    };
    Some((node, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_simd(s: &str) -> bool {
        let mut tape = Vec::new();
        let accepted = scan(s.as_bytes(), &mut tape);
        let mut copy = s.as_bytes().to_vec();
        let simd = simd_json::to_tape(&mut copy);
        if accepted {
            let simd = simd.expect("scanner accepted what simd-json refuses");
            assert_eq!(tape, simd.0, "{s}");
        }
        accepted
    }

    #[test]
    fn accepts_the_subset_identically() {
        for s in [
            r#"{"a":"b","c":[1,-2,{"d":null}],"e":true,"f":false,"g":{}}"#,
            r#" [ {"x" : [ ] } , "y" ] "#,
            r#"{}"#,
            r#"[]"#,
            r#""str""#,
            "0",
            "-0",
            "18446744073709551615",
            "-9223372036854775808",
        ] {
            assert!(same_as_simd(s), "{s}");
        }
    }

    #[test]
    fn declines_outside_the_subset() {
        for s in [
            r#"{"a":"\n"}"#,
            r#"{"a":0.5}"#,
            r#"{"a":1e3}"#,
            r#"{"a":01}"#,
            "18446744073709551616",
            "-9223372036854775809",
            r#"{"a":"é"}"#,
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            r#"[1,]"#,
            r#"{"a":1}}"#,
            r#"{"a":1"#,
            r#"{"a":"b"#,
            r#"{"a":tru}"#,
            r#"{1:2}"#,
            "",
            "   ",
            "PONG",
            "[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]",
            "{\"a\":\"\u{1}\"}",
        ] {
            assert!(!same_as_simd(s), "{s}");
        }
    }

    #[test]
    fn skip_value_agrees_with_scan() {
        for s in [
            r#"{"a":"b","c":[1,-2,{"d":null}],"e":true,"f":false,"g":{}}"#,
            r#"[ {"x" : [ ] } , "y" ]"#,
            r#""str""#,
            "0",
            "[]",
            r#"{"a":0.5}"#,
            r#"{"a":"\n"}"#,
            r#"{"a":1,}"#,
            r#"{"a":1"#,
            r#"[1 2]"#,
            "tru",
            "[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]",
        ] {
            let mut tape = Vec::new();
            let whole = skip_value(s.as_bytes(), 0) == Some(s.len());
            assert_eq!(whole, scan(s.as_bytes(), &mut tape), "{s}");
        }
        // It stops right after the value, leaving what follows to the caller.
        assert_eq!(skip_value(br#"{"a":[1]} ,"b""#, 0), Some(9));
        assert_eq!(skip_value(br#""x","#, 0), Some(3));
    }

    #[test]
    fn string_end_finds_quotes_in_every_lane() {
        for n in 0..40 {
            let s = format!("{}\"tail", "x".repeat(n));
            assert_eq!(string_end(s.as_bytes(), 0), Some(n));
            let e = format!("{}\\\"", "x".repeat(n));
            assert_eq!(string_end(e.as_bytes(), 0), None);
        }
    }
}
