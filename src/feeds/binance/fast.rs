//! Strict single-pass scanner for the two hottest frame shapes: combined-stream `@trade` and
//! `@bookTicker` wrappers with a flat payload, as Binance sends them (no whitespace, no escapes).
//!
//! It is only a shortcut in front of the simd-json tape path and never decides an error: it
//! accepts a frame only if the frame is valid JSON of exactly that flat shape (object of
//! `"stream"`, `"data"` and scalar members; payload members are ASCII strings without escapes,
//! non-negative integers, `true`, `false` or `null`) and every required field is present with
//! the right type. Anything else (whitespace, escapes, nesting, floats, negatives, unknown
//! streams, missing or mistyped fields, inexact decimals) returns `None` and the caller parses
//! the frame with simd-json, which produces the typed error. Field semantics (last duplicate
//! wins, unknown members ignored) match the tape decoder; a differential test over every
//! recorded frame and fixture checks both paths agree. Allocation-free.

use super::records::{Asset, BookTicker, Record, Side, Trade, Venue, PX_SCALE, QTY_SCALE};
use super::streams::{parse_stream_name, StreamKind, StreamName};
use crate::fixed::parse_fixed;

#[derive(Clone, Copy)]
enum Val<'a> {
    Str(&'a [u8]),
    Int(u64),
    Bool(bool),
    Null,
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// A string without escapes or control/non-ASCII bytes; the cursor is after its opening quote.
    /// (The 16-bytes-at-a-time search is the Polymarket scanner's; same refusals.)
    #[inline]
    fn string_body(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        let end = crate::feeds::polymarket::fast_scan::string_end(self.b, start)?;
        self.i = end + 1;
        self.b.get(start..end)
    }

    #[inline]
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        self.string_body()
    }

    #[inline]
    fn literal(&mut self, lit: &[u8]) -> Option<()> {
        let end = self.i + lit.len();
        if self.b.get(self.i..end)? == lit {
            self.i = end;
            Some(())
        } else {
            None
        }
    }

    /// A scalar value: escape-free ASCII string, non-negative integer (no leading zero, no
    /// fraction or exponent), `true`, `false`, `null`.
    #[inline]
    fn scalar(&mut self) -> Option<Val<'a>> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                self.string_body().map(Val::Str)
            }
            b't' => self.literal(b"true").map(|_| Val::Bool(true)),
            b'f' => self.literal(b"false").map(|_| Val::Bool(false)),
            b'n' => self.literal(b"null").map(|_| Val::Null),
            b'0' => {
                self.i += 1;
                match self.peek()? {
                    b'0'..=b'9' | b'.' | b'e' | b'E' => None,
                    _ => Some(Val::Int(0)),
                }
            }
            b'1'..=b'9' => {
                let mut v: u64 = 0;
                while let Some(c @ b'0'..=b'9') = self.peek() {
                    v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                    self.i += 1;
                }
                match self.peek()? {
                    b'.' | b'e' | b'E' => None,
                    _ => Some(Val::Int(v)),
                }
            }
            _ => None,
        }
    }

    /// A flat object of scalar members; the members the records use land in `out` (a repeated
    /// key overwrites, so the last one wins, as on the tape path), the others are checked and
    /// dropped.
    #[inline]
    fn flat_object(&mut self, out: &mut Fields<'a>) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            let val = self.scalar()?;
            if let [k] = key {
                let slot = match k {
                    b'T' => Some(&mut out.trade_time),
                    b'E' => Some(&mut out.event_time),
                    b'X' => Some(&mut out.order_type),
                    b'm' => Some(&mut out.buyer_is_maker),
                    b'p' => Some(&mut out.price),
                    b'q' => Some(&mut out.qty),
                    b't' => Some(&mut out.trade_id),
                    b'b' => Some(&mut out.bid_px),
                    b'B' => Some(&mut out.bid_qty),
                    b'a' => Some(&mut out.ask_px),
                    b'A' => Some(&mut out.ask_qty),
                    b'u' => Some(&mut out.update_id),
                    _ => None,
                };
                if let Some(slot) = slot {
                    *slot = Some(val);
                }
            }
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// The payload members the two records read (Binance's one-letter keys), last one wins.
#[derive(Clone, Copy, Default)]
struct Fields<'a> {
    trade_time: Option<Val<'a>>,
    event_time: Option<Val<'a>>,
    order_type: Option<Val<'a>>,
    buyer_is_maker: Option<Val<'a>>,
    price: Option<Val<'a>>,
    qty: Option<Val<'a>>,
    trade_id: Option<Val<'a>>,
    bid_px: Option<Val<'a>>,
    bid_qty: Option<Val<'a>>,
    ask_px: Option<Val<'a>>,
    ask_qty: Option<Val<'a>>,
    update_id: Option<Val<'a>>,
}

/// Parse a combined `@trade` / `@bookTicker` frame, or `None` to defer to the tape path.
#[inline]
pub(crate) fn try_parse(frame: &[u8], venue: Venue, recv_ns: u64) -> Option<Record> {
    let mut s = Scan { b: frame, i: 0 };
    let mut fields = Fields::default();
    let mut have_data = false;
    let mut stream = None;
    s.eat(b'{')?;
    loop {
        let key = s.string()?;
        s.eat(b':')?;
        if key == b"data" && s.peek()? == b'{' {
            // A repeated `data` object replaces the first one, as on the tape path.
            fields = Fields::default();
            s.flat_object(&mut fields)?;
            have_data = true;
        } else {
            // `data` as a scalar, or a duplicate `data` after an object, is left to the tape path.
            if key == b"data" {
                return None;
            }
            let v = s.scalar()?;
            if key == b"stream" {
                stream = Some(v);
            }
        }
        match s.peek()? {
            b',' => s.i += 1,
            b'}' => {
                s.i += 1;
                break;
            }
            _ => return None,
        }
    }
    if s.i != frame.len() {
        return None;
    }
    let Some(Val::Str(name)) = stream else {
        return None;
    };
    if !have_data {
        return None;
    }
    let fields = &fields;
    match parse_stream_name(name)? {
        StreamName::Symbol {
            asset,
            kind: StreamKind::Trade,
        } => trade(fields, asset, venue, recv_ns),
        StreamName::Symbol {
            asset,
            kind: StreamKind::BookTicker,
        } => book_ticker(fields, asset, venue, recv_ns),
        _ => None,
    }
}

#[inline]
fn int(v: Option<Val<'_>>) -> Option<u64> {
    match v? {
        Val::Int(i) => Some(i),
        _ => None,
    }
}

#[inline]
fn dec(v: Option<Val<'_>>, scale: u32) -> Option<i64> {
    match v? {
        Val::Str(s) => fixed(s, scale),
        _ => None,
    }
}

/// `parse_fixed(s, scale)` for the everyday `61837.63000000` form (up to 10 integer digits, up
/// to `scale` decimals) inline; every other form through [`parse_fixed`] itself.
#[inline(always)]
fn fixed(s: &[u8], scale: u32) -> Option<i64> {
    const POW10: [i64; 11] = [
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
    ];
    let slow = || parse_fixed(s, scale).ok();
    let mut int: i64 = 0;
    let mut i = 0usize;
    while let Some(&c @ b'0'..=b'9') = s.get(i) {
        int = int * 10 + i64::from(c - b'0');
        i += 1;
        if i > 10 {
            return slow();
        }
    }
    let one = *POW10.get(scale as usize)?;
    if i == 0 {
        return slow();
    }
    match s.get(i) {
        None => return Some(int * one),
        Some(b'.') => {}
        Some(_) => return None,
    }
    let frac_digits = s.len() - i - 1;
    if frac_digits == 0 || frac_digits > scale as usize {
        return slow();
    }
    let mut frac: i64 = 0;
    for &c in s.get(i + 1..).unwrap_or(&[]) {
        if !c.is_ascii_digit() {
            return None;
        }
        frac = frac * 10 + i64::from(c - b'0');
    }
    Some(int * one + frac * *POW10.get(scale as usize - frac_digits)?)
}

#[inline]
fn trade(fields: &Fields<'_>, asset: Asset, venue: Venue, recv_ns: u64) -> Option<Record> {
    let exch_ts_ms = int(fields.trade_time)?;
    let event_ts_ms = match fields.event_time {
        None => exch_ts_ms,
        v => int(v)?,
    };
    let is_market = match fields.order_type {
        None => true,
        Some(Val::Str(x)) => x == b"MARKET",
        Some(_) => return None,
    };
    let Val::Bool(m) = fields.buyer_is_maker? else {
        return None;
    };
    Some(Record::Trade(Trade {
        asset,
        venue,
        px: dec(fields.price, PX_SCALE)?,
        qty: dec(fields.qty, QTY_SCALE)?,
        exch_ts_ms,
        event_ts_ms,
        recv_ns,
        trade_id: int(fields.trade_id)?,
        taker_side: Side::from_buyer_is_maker(m),
        is_market,
    }))
}

#[inline]
fn book_ticker(fields: &Fields<'_>, asset: Asset, venue: Venue, recv_ns: u64) -> Option<Record> {
    let t = match fields.trade_time {
        None => None,
        v => Some(int(v)?),
    };
    let e = match fields.event_time {
        None => None,
        v => Some(int(v)?),
    };
    Some(Record::BookTicker(BookTicker {
        asset,
        venue,
        bid_px: dec(fields.bid_px, PX_SCALE)?,
        bid_qty: dec(fields.bid_qty, QTY_SCALE)?,
        ask_px: dec(fields.ask_px, PX_SCALE)?,
        ask_qty: dec(fields.ask_qty, QTY_SCALE)?,
        update_id: int(fields.update_id)?,
        exch_ts_ms: t.or(e),
        recv_ns,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_decimals_match_parse_fixed() {
        for s in [
            "61837.63000000",
            "0.02000000",
            "61800.30",
            "0.006",
            "12",
            "00.5",
            ".5",
            "5.",
            "1.000000000",
            "1.000000001",
            "-1.5",
            "1e5",
            "1.5x",
            "",
            ".",
            "9999999999.99999999",
            "99999999999.9",
        ] {
            for scale in [0, 3, 8] {
                assert_eq!(
                    fixed(s.as_bytes(), scale),
                    parse_fixed(s.as_bytes(), scale).ok(),
                    "{s} at scale {scale}"
                );
            }
        }
    }
}
