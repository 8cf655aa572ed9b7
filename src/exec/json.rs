//! Allocation-free JSON building blocks shared by the REST responses and the user channel:
//! [`Micros`] (a decimal string or number as integer micro-units), [`OrderId`] (a `0x` 32-byte
//! digest), [`CountSeq`] (an array counted, not stored), [`for_each_element`] (an array or a
//! single object visited element by element) and a stack text writer.
//!
//! Invariants: nothing here allocates for well-formed input without string escapes (strings are
//! borrowed from the input; serde_json's scratch buffer is only used for escapes); malformed
//! input is a `serde_json::Error`, never a panic. Floats are only a parsing boundary: a JSON
//! number is rendered with its shortest round-trip decimal text and parsed as a decimal.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use crate::exec::signing::amounts::parse_micros_floor;

/// A non-negative decimal (`"0.52"`, `"5"`, `""`, `0.01`, `7`) in micro-units (1e-6), floored
/// at the 6th decimal. The empty string is 0 (order responses send `""` for no amount).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(pub u64);

impl Micros {
    /// Parse decimal text.
    pub fn parse(text: &str) -> Option<Micros> {
        if text.is_empty() {
            return Some(Micros(0));
        }
        parse_micros_floor(text).ok().map(Micros)
    }
}

struct MicrosVisitor;

impl Visitor<'_> for MicrosVisitor {
    type Value = Micros;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative decimal string or number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Micros, E> {
        Micros::parse(v.trim()).ok_or_else(|| E::custom("not a non-negative decimal"))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Micros, E> {
        v.checked_mul(1_000_000)
            .map(Micros)
            .ok_or_else(|| E::custom("decimal overflows u64 micro-units"))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Micros, E> {
        u64::try_from(v)
            .map_err(|_| E::custom("negative amount"))
            .and_then(|v| self.visit_u64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Micros, E> {
        if !v.is_finite() || v < 0.0 {
            return Err(E::custom("negative or non-finite amount"));
        }
        let mut text = StackText::<64>::new();
        fmt::Write::write_fmt(&mut text, format_args!("{v}"))
            .map_err(|_| E::custom("number too long"))?;
        Micros::parse(text.as_str()).ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Micros, E> {
        Ok(Micros(0))
    }
    fn visit_none<E: de::Error>(self) -> Result<Micros, E> {
        Ok(Micros(0))
    }
}

impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Micros, D::Error> {
        d.deserialize_any(MicrosVisitor)
    }
}

/// An integer given as a JSON number or a decimal string (`"1700000000000"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LooseU64(pub u64);

struct LooseU64Visitor;

impl Visitor<'_> for LooseU64Visitor {
    type Value = LooseU64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an unsigned integer or its decimal string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<LooseU64, E> {
        if v.is_empty() {
            return Ok(LooseU64(0));
        }
        v.trim()
            .parse()
            .map(LooseU64)
            .map_err(|_| E::custom("not an unsigned integer"))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<LooseU64, E> {
        Ok(LooseU64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<LooseU64, E> {
        u64::try_from(v)
            .map(LooseU64)
            .map_err(|_| E::custom("negative integer"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<LooseU64, E> {
        Ok(LooseU64(0))
    }
    fn visit_none<E: de::Error>(self) -> Result<LooseU64, E> {
        Ok(LooseU64(0))
    }
}

impl<'de> Deserialize<'de> for LooseU64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LooseU64, D::Error> {
        d.deserialize_any(LooseU64Visitor)
    }
}

/// A CLOB order id: the order's EIP-712 digest.
pub type OrderId = [u8; 32];

/// Parse `0x` + 64 hex digits (either case). Anything else (including `""`) is `None`.
pub fn parse_order_id(text: &str) -> Option<OrderId> {
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = hex_value(pair[0])?;
        let lo = hex_value(pair[1])?;
        out[i] = (hi << 4) | lo;
    }
    Some(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `0x` + lowercase hex of an order id, on the stack.
pub fn order_id_text(id: &OrderId) -> [u8; 66] {
    let mut out = [0u8; 66];
    out[0] = b'0';
    out[1] = b'x';
    crate::exec::signing::hex::encode_into(id, &mut out[2..]);
    out
}

/// A JSON array whose elements are counted and skipped (`null` counts as empty).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountSeq(pub u32);

struct CountSeqVisitor;

impl<'de> Visitor<'de> for CountSeqVisitor {
    type Value = CountSeq;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array or null")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CountSeq, A::Error> {
        let mut n = 0u32;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n = n.saturating_add(1);
        }
        Ok(CountSeq(n))
    }
    fn visit_unit<E: de::Error>(self) -> Result<CountSeq, E> {
        Ok(CountSeq(0))
    }
    fn visit_none<E: de::Error>(self) -> Result<CountSeq, E> {
        Ok(CountSeq(0))
    }
}

impl<'de> Deserialize<'de> for CountSeq {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CountSeq, D::Error> {
        d.deserialize_any(CountSeqVisitor)
    }
}

/// A seed that deserializes each array element as `T` and hands it to `f`.
pub struct EachSeed<'f, T, F> {
    f: &'f mut F,
    count: &'f mut usize,
    _t: PhantomData<fn() -> T>,
}

impl<'f, T, F> EachSeed<'f, T, F> {
    /// Visit with `f`, counting elements into `count`.
    pub fn new(f: &'f mut F, count: &'f mut usize) -> Self {
        Self {
            f,
            count,
            _t: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(T)> DeserializeSeed<'de> for EachSeed<'_, T, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(T)> Visitor<'de> for EachSeed<'_, T, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array (or null)")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<T>()? {
            *self.count += 1;
            (self.f)(item);
        }
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Visit `body` as an array of `T` (or, when it is a single object, as one `T`), calling `f`
/// per element; returns the number of elements. Trailing garbage is an error.
pub fn for_each_element<'de, T: Deserialize<'de>, F: FnMut(T)>(
    body: &'de [u8],
    mut f: F,
) -> Result<usize, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
    let mut count = 0usize;
    if first == Some(b'[') {
        EachSeed::<T, F>::new(&mut f, &mut count).deserialize(&mut de)?;
    } else {
        f(T::deserialize(&mut de)?);
        count = 1;
    }
    de.end()?;
    Ok(count)
}

/// A fixed-capacity text buffer implementing `fmt::Write` (fails instead of growing).
pub struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    /// Empty.
    pub fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }
    /// The written text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> Default for StackText<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_from_strings_and_numbers() {
        let m: Micros = serde_json::from_str("\"0.52\"").unwrap();
        assert_eq!(m, Micros(520_000));
        let m: Micros = serde_json::from_str("0.01").unwrap();
        assert_eq!(m, Micros(10_000));
        let m: Micros = serde_json::from_str("\"\"").unwrap();
        assert_eq!(m, Micros(0));
        assert!(serde_json::from_str::<Micros>("\"-1\"").is_err());
        assert!(serde_json::from_str::<Micros>("-0.5").is_err());
        let id = [0xabu8; 32];
        let text = order_id_text(&id);
        assert_eq!(
            parse_order_id(std::str::from_utf8(&text).unwrap()),
            Some(id)
        );
        assert_eq!(parse_order_id(""), None);
        assert_eq!(parse_order_id("0x12"), None);
    }
}
