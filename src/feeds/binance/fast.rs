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

/// Most payload members the shortcut handles (spot trade has 10, futures bookTicker 9).
const MAX_FIELDS: usize = 16;

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
    #[inline]
    fn string_body(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'"' => return self.b.get(start..self.i - 1),
                b'\\' | 0..=0x1f | 0x80..=0xff => return None,
                _ => {}
            }
        }
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

    /// A flat object of scalar members into `out`; returns the member count.
    #[inline]
    fn flat_object(&mut self, out: &mut [(&'a [u8], Val<'a>); MAX_FIELDS]) -> Option<usize> {
        self.eat(b'{')?;
        let mut n = 0;
        if self.eat(b'}').is_some() {
            return Some(0);
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            let val = self.scalar()?;
            *out.get_mut(n)? = (key, val);
            n += 1;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(n);
                }
                _ => return None,
            }
        }
    }
}

/// Parse a combined `@trade` / `@bookTicker` frame, or `None` to defer to the tape path.
#[inline]
pub(crate) fn try_parse(frame: &[u8], venue: Venue, recv_ns: u64) -> Option<Record> {
    let mut s = Scan { b: frame, i: 0 };
    let mut fields = [(&b""[..], Val::Null); MAX_FIELDS];
    let mut nfields = None;
    let mut stream = None;
    s.eat(b'{')?;
    loop {
        let key = s.string()?;
        s.eat(b':')?;
        if key == b"data" && s.peek()? == b'{' {
            nfields = Some(s.flat_object(&mut fields)?);
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
    let fields = fields.get(..nfields?)?;
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
fn last<'a>(fields: &[(&[u8], Val<'a>)], key: &[u8]) -> Option<Val<'a>> {
    fields.iter().rev().find(|f| f.0 == key).map(|f| f.1)
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
        Val::Str(s) => parse_fixed(s, scale).ok(),
        _ => None,
    }
}

#[inline]
fn trade(fields: &[(&[u8], Val<'_>)], asset: Asset, venue: Venue, recv_ns: u64) -> Option<Record> {
    let exch_ts_ms = int(last(fields, b"T"))?;
    let event_ts_ms = match last(fields, b"E") {
        None => exch_ts_ms,
        v => int(v)?,
    };
    let is_market = match last(fields, b"X") {
        None => true,
        Some(Val::Str(x)) => x == b"MARKET",
        Some(_) => return None,
    };
    let Val::Bool(m) = last(fields, b"m")? else {
        return None;
    };
    Some(Record::Trade(Trade {
        asset,
        venue,
        px: dec(last(fields, b"p"), PX_SCALE)?,
        qty: dec(last(fields, b"q"), QTY_SCALE)?,
        exch_ts_ms,
        event_ts_ms,
        recv_ns,
        trade_id: int(last(fields, b"t"))?,
        taker_side: Side::from_buyer_is_maker(m),
        is_market,
    }))
}

#[inline]
fn book_ticker(
    fields: &[(&[u8], Val<'_>)],
    asset: Asset,
    venue: Venue,
    recv_ns: u64,
) -> Option<Record> {
    let t = match last(fields, b"T") {
        None => None,
        v => Some(int(v)?),
    };
    let e = match last(fields, b"E") {
        None => None,
        v => Some(int(v)?),
    };
    Some(Record::BookTicker(BookTicker {
        asset,
        venue,
        bid_px: dec(last(fields, b"b"), PX_SCALE)?,
        bid_qty: dec(last(fields, b"B"), QTY_SCALE)?,
        ask_px: dec(last(fields, b"a"), PX_SCALE)?,
        ask_qty: dec(last(fields, b"A"), QTY_SCALE)?,
        update_id: int(last(fields, b"u"))?,
        exch_ts_ms: t.or(e),
        recv_ns,
    }))
}
