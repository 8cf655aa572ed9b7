//! Binance frame parser: simd-json tape on reused buffers -> one [`Record`].
//!
//! One parser serves one connection (so it knows its [`Venue`]). It owns every buffer it needs:
//! a copy buffer of `max_frame` bytes (simd-json parses in place), `simd_json::Buffers`, and the
//! tape vector, whose lifetime is re-branded per frame with `Tape::reset`. Construction parses a
//! maximally dense `max_frame`-byte document once, which sizes every internal buffer for the
//! worst case, so parsing any frame afterwards allocates nothing; a larger frame is refused with
//! [`ParseError::FrameTooLarge`] instead of growing a buffer.
//!
//! Combined `@trade` / `@bookTicker` frames in Binance's exact flat layout first go through a
//! strict scanner ([`super::fast`]) that either yields the identical record or defers here.
//!
//! Discrimination: a combined wrapper's `stream` name decides the payload shape (bookTicker has
//! no `e`); a raw frame is told apart by `e`, then by `result` (ack), `code` (error),
//! `lastUpdateId` (book snapshot) or `u`/`b`/`a` (spot bookTicker). Unknown fields are ignored;
//! a missing required field, a wrong JSON type (a number where Binance sends a decimal string)
//! or an inexact decimal is a typed error, counted per kind. Nothing here panics on input.

use simd_json::{Node, StaticNode, Tape};
use thiserror::Error;

use crate::feeds::tape::{fields, is_object, span, Nodes};

use super::records::{
    AggTrade, Asset, BookSide, BookTicker, Control, DepthDiff, DepthSnapshot, Liquidation,
    MarkPrice, Record, Side, Trade, Venue, PX_SCALE, QTY_SCALE, RATE_SCALE,
};
use super::streams::{parse_stream_name, StreamKind, StreamName};
use crate::fixed::{parse_fixed, FixedError};

/// Default largest frame accepted (the largest recorded frame, a REST snapshot, is 64 KB).
pub const DEFAULT_MAX_FRAME: usize = 128 * 1024;
/// Smallest `max_frame` a parser accepts.
pub const MIN_MAX_FRAME: usize = 64;

/// Why a frame produced no record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("frame of {len} bytes exceeds the {max}-byte parse buffer")]
    FrameTooLarge { len: usize, max: usize },
    #[error("invalid JSON")]
    InvalidJson,
    #[error("frame is not a JSON object")]
    NotAnObject,
    #[error("unknown or unsupported stream")]
    UnknownStream,
    #[error("unknown event type")]
    UnknownEvent,
    #[error("unknown symbol")]
    UnknownSymbol,
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("field `{0}` has the wrong JSON type")]
    WrongType(&'static str),
    #[error("field `{field}` is not an exact decimal: {err}")]
    BadDecimal {
        field: &'static str,
        err: FixedError,
    },
}

/// Error kinds, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ParseErrorKind {
    FrameTooLarge = 0,
    InvalidJson,
    NotAnObject,
    UnknownStream,
    UnknownEvent,
    UnknownSymbol,
    MissingField,
    WrongType,
    BadDecimal,
}

impl ParseErrorKind {
    /// Number of kinds.
    pub const COUNT: usize = 9;
}

impl ParseError {
    /// The counting bucket of this error.
    pub const fn kind(&self) -> ParseErrorKind {
        match self {
            ParseError::FrameTooLarge { .. } => ParseErrorKind::FrameTooLarge,
            ParseError::InvalidJson => ParseErrorKind::InvalidJson,
            ParseError::NotAnObject => ParseErrorKind::NotAnObject,
            ParseError::UnknownStream => ParseErrorKind::UnknownStream,
            ParseError::UnknownEvent => ParseErrorKind::UnknownEvent,
            ParseError::UnknownSymbol => ParseErrorKind::UnknownSymbol,
            ParseError::MissingField(_) => ParseErrorKind::MissingField,
            ParseError::WrongType(_) => ParseErrorKind::WrongType,
            ParseError::BadDecimal { .. } => ParseErrorKind::BadDecimal,
        }
    }
}

/// Record kinds, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordKind {
    Trade = 0,
    AggTrade,
    BookTicker,
    MarkPrice,
    Liquidation,
    DepthDiff,
    DepthSnapshot,
    Control,
}

impl RecordKind {
    /// Number of kinds.
    pub const COUNT: usize = 8;

    /// Kind of a record.
    pub const fn of(r: &Record) -> RecordKind {
        match r {
            Record::Trade(_) => RecordKind::Trade,
            Record::AggTrade(_) => RecordKind::AggTrade,
            Record::BookTicker(_) => RecordKind::BookTicker,
            Record::MarkPrice(_) => RecordKind::MarkPrice,
            Record::Liquidation(_) => RecordKind::Liquidation,
            Record::DepthDiff(_) => RecordKind::DepthDiff,
            Record::DepthSnapshot(_) => RecordKind::DepthSnapshot,
            Record::Control(_) => RecordKind::Control,
        }
    }
}

/// Per-kind counters of parsed records and rejected frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseCounts {
    records: [u64; RecordKind::COUNT],
    errors: [u64; ParseErrorKind::COUNT],
    fast_path: u64,
}

impl ParseCounts {
    pub fn records(&self, kind: RecordKind) -> u64 {
        self.records[kind as usize]
    }
    pub fn errors(&self, kind: ParseErrorKind) -> u64 {
        self.errors[kind as usize]
    }
    pub fn total_records(&self) -> u64 {
        self.records.iter().sum()
    }
    pub fn total_errors(&self) -> u64 {
        self.errors.iter().sum()
    }
    /// Records produced by the scanner shortcut rather than the simd-json tape.
    pub fn fast_path(&self) -> u64 {
        self.fast_path
    }
}

/// Receives book levels (price, quantity at [`PX_SCALE`]/[`QTY_SCALE`]) from a depth frame.
pub type LevelSink<'s> = &'s mut dyn FnMut(BookSide, i64, i64);

/// Allocation-free Binance frame parser for one connection.
pub struct BinanceParser {
    venue: Venue,
    max_frame: usize,
    scratch: Vec<u8>,
    buffers: simd_json::Buffers,
    /// Always empty between calls; only its capacity is kept.
    tape: Vec<Node<'static>>,
    counts: ParseCounts,
    /// Try the strict flat scanner ([`super::fast`]) before the tape.
    fast_path: bool,
}

impl BinanceParser {
    /// A parser for `venue` accepting frames up to [`DEFAULT_MAX_FRAME`] bytes.
    pub fn new(venue: Venue) -> Self {
        Self::with_max_frame(venue, DEFAULT_MAX_FRAME)
    }

    /// A parser accepting frames up to `max_frame` bytes (at least [`MIN_MAX_FRAME`]). Sizes all
    /// buffers for the worst case up front (allocates; call at start-up).
    #[cold]
    pub fn with_max_frame(venue: Venue, max_frame: usize) -> Self {
        let max_frame = max_frame.max(MIN_MAX_FRAME);
        let mut p = BinanceParser {
            venue,
            max_frame,
            scratch: Vec::with_capacity(max_frame),
            buffers: simd_json::Buffers::new(max_frame),
            tape: Vec::with_capacity(max_frame),
            counts: ParseCounts::default(),
            fast_path: true,
        };
        // Worst case for simd-json's buffers: one structural character per input byte.
        let mut dense = Vec::with_capacity(max_frame);
        if max_frame % 2 == 0 {
            dense.push(b' ');
        }
        dense.push(b'[');
        while dense.len() + 2 < max_frame {
            dense.extend_from_slice(b"0,");
        }
        dense.extend_from_slice(b"0]");
        let _ = p.parse_inner(&dense, 0, None);
        p
    }

    pub fn venue(&self) -> Venue {
        self.venue
    }

    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Enable or disable the scanner shortcut for combined `@trade` / `@bookTicker` frames (on
    /// by default). Results are identical either way; only speed differs.
    pub fn set_fast_path(&mut self, on: bool) {
        self.fast_path = on;
    }

    /// Counters since construction.
    pub fn counts(&self) -> &ParseCounts {
        &self.counts
    }

    /// Parse one text frame received at `recv_ns`. Depth levels are not visited.
    #[inline]
    pub fn parse(&mut self, frame: &[u8], recv_ns: u64) -> Result<Record, ParseError> {
        self.parse_counted(frame, recv_ns, None)
    }

    /// Parse one frame and hand every bid/ask level of a depth diff or snapshot to `sink`, in
    /// frame order (bids first). A malformed level aborts with an error after earlier levels
    /// were delivered; the caller must then discard what it received for this frame.
    #[inline]
    pub fn parse_with_levels(
        &mut self,
        frame: &[u8],
        recv_ns: u64,
        sink: LevelSink<'_>,
    ) -> Result<Record, ParseError> {
        self.parse_counted(frame, recv_ns, Some(sink))
    }

    #[inline]
    fn parse_counted(
        &mut self,
        frame: &[u8],
        recv_ns: u64,
        sink: Option<LevelSink<'_>>,
    ) -> Result<Record, ParseError> {
        let fast = if self.fast_path && frame.len() <= self.max_frame {
            super::fast::try_parse(frame, self.venue, recv_ns)
        } else {
            None
        };
        let res = match fast {
            Some(rec) => {
                self.counts.fast_path += 1;
                Ok(rec)
            }
            None => self.parse_inner(frame, recv_ns, sink),
        };
        match &res {
            Ok(r) => self.counts.records[RecordKind::of(r) as usize] += 1,
            Err(e) => self.counts.errors[e.kind() as usize] += 1,
        }
        res
    }

    #[inline]
    fn parse_inner(
        &mut self,
        frame: &[u8],
        recv_ns: u64,
        sink: Option<LevelSink<'_>>,
    ) -> Result<Record, ParseError> {
        if frame.len() > self.max_frame {
            return Err(ParseError::FrameTooLarge {
                len: frame.len(),
                max: self.max_frame,
            });
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(frame);
        let mut tape = Tape(std::mem::take(&mut self.tape)).reset();
        let res = match simd_json::fill_tape(&mut self.scratch, &mut self.buffers, &mut tape) {
            Ok(()) => decode(&tape.0, self.venue, recv_ns, sink),
            Err(_) => Err(ParseError::InvalidJson),
        };
        self.tape = tape.reset().0;
        res
    }
}

// ---------------------------------------------------------------------------------------------
// Tape walking

#[inline]
fn node_u64(n: Option<&Node<'_>>) -> Option<u64> {
    match n {
        Some(Node::Static(StaticNode::U64(v))) => Some(*v),
        Some(Node::Static(StaticNode::I64(v))) if *v >= 0 => Some(*v as u64),
        _ => None,
    }
}

#[inline]
fn node_i64(n: Option<&Node<'_>>) -> Option<i64> {
    match n {
        Some(Node::Static(StaticNode::I64(v))) => Some(*v),
        Some(Node::Static(StaticNode::U64(v))) => i64::try_from(*v).ok(),
        _ => None,
    }
}

#[inline]
fn req_u64(nodes: Nodes<'_, '_>, at: Option<usize>, name: &'static str) -> Result<u64, ParseError> {
    let i = at.ok_or(ParseError::MissingField(name))?;
    node_u64(nodes.get(i)).ok_or(ParseError::WrongType(name))
}

#[inline]
fn opt_u64(
    nodes: Nodes<'_, '_>,
    at: Option<usize>,
    name: &'static str,
) -> Result<Option<u64>, ParseError> {
    match at {
        None => Ok(None),
        Some(i) => node_u64(nodes.get(i))
            .map(Some)
            .ok_or(ParseError::WrongType(name)),
    }
}

#[inline]
fn req_bool(
    nodes: Nodes<'_, '_>,
    at: Option<usize>,
    name: &'static str,
) -> Result<bool, ParseError> {
    let i = at.ok_or(ParseError::MissingField(name))?;
    match nodes.get(i) {
        Some(Node::Static(StaticNode::Bool(b))) => Ok(*b),
        _ => Err(ParseError::WrongType(name)),
    }
}

#[inline]
fn req_str<'a>(
    nodes: Nodes<'_, 'a>,
    at: Option<usize>,
    name: &'static str,
) -> Result<&'a [u8], ParseError> {
    let i = at.ok_or(ParseError::MissingField(name))?;
    match nodes.get(i) {
        Some(Node::String(s)) => Ok(s.as_bytes()),
        _ => Err(ParseError::WrongType(name)),
    }
}

#[inline]
fn decimal(s: &[u8], scale: u32, name: &'static str) -> Result<i64, ParseError> {
    parse_fixed(s, scale).map_err(|err| ParseError::BadDecimal { field: name, err })
}

#[inline]
fn req_dec(
    nodes: Nodes<'_, '_>,
    at: Option<usize>,
    name: &'static str,
    scale: u32,
) -> Result<i64, ParseError> {
    decimal(req_str(nodes, at, name)?, scale, name)
}

#[inline]
fn opt_dec(
    nodes: Nodes<'_, '_>,
    at: Option<usize>,
    name: &'static str,
    scale: u32,
) -> Result<Option<i64>, ParseError> {
    match at {
        None => Ok(None),
        Some(_) => req_dec(nodes, at, name, scale).map(Some),
    }
}

#[inline]
fn side_from(s: &[u8], name: &'static str) -> Result<Side, ParseError> {
    match s {
        b"BUY" => Ok(Side::Buy),
        b"SELL" => Ok(Side::Sell),
        _ => Err(ParseError::WrongType(name)),
    }
}

fn asset_from_field(
    nodes: Nodes<'_, '_>,
    at: Option<usize>,
    name: &'static str,
) -> Result<Asset, ParseError> {
    Asset::from_symbol(req_str(nodes, at, name)?).ok_or(ParseError::UnknownSymbol)
}

// ---------------------------------------------------------------------------------------------
// Frame dispatch

fn decode(
    nodes: Nodes<'_, '_>,
    venue: Venue,
    recv_ns: u64,
    sink: Option<LevelSink<'_>>,
) -> Result<Record, ParseError> {
    if !is_object(nodes, 0) {
        return Err(ParseError::NotAnObject);
    }
    let (mut stream, mut data, mut e, mut s) = (None, None, None, None);
    let (mut result, mut code, mut id, mut last_update_id, mut u) = (None, None, None, None, None);
    for (k, vi) in fields(nodes, 0) {
        match k {
            b"stream" => stream = Some(vi),
            b"data" => data = Some(vi),
            b"e" => e = Some(vi),
            b"s" => s = Some(vi),
            b"result" => result = Some(vi),
            b"code" => code = Some(vi),
            b"id" => id = Some(vi),
            b"lastUpdateId" => last_update_id = Some(vi),
            b"u" => u = Some(vi),
            _ => {}
        }
    }

    if let Some(si) = stream {
        let name = req_str(nodes, Some(si), "stream")?;
        let di = data.ok_or(ParseError::MissingField("data"))?;
        if !is_object(nodes, di) {
            return Err(ParseError::WrongType("data"));
        }
        return match parse_stream_name(name).ok_or(ParseError::UnknownStream)? {
            StreamName::ServerShutdown => decode_shutdown(nodes, di),
            StreamName::Symbol { asset, kind } => match kind {
                StreamKind::Trade => decode_trade(nodes, di, asset, venue, recv_ns),
                StreamKind::AggTrade => decode_agg_trade(nodes, di, asset, venue, recv_ns),
                StreamKind::BookTicker => decode_book_ticker(nodes, di, asset, venue, recv_ns),
                StreamKind::Depth(_) => decode_depth_diff(nodes, di, asset, venue, recv_ns, sink),
                StreamKind::PartialDepth { .. } => match venue {
                    Venue::Spot => decode_snapshot(nodes, di, Some(asset), venue, recv_ns, sink),
                    Venue::Futures => decode_depth_diff(nodes, di, asset, venue, recv_ns, sink),
                },
                StreamKind::MarkPrice | StreamKind::MarkPrice1s => {
                    decode_mark_price(nodes, di, asset, recv_ns)
                }
                StreamKind::ForceOrder => decode_force_order(nodes, di, Some(asset), recv_ns),
            },
        };
    }

    if let Some(ei) = e {
        let event = req_str(nodes, Some(ei), "e")?;
        return match event {
            b"trade" => {
                let asset = asset_from_field(nodes, s, "s")?;
                decode_trade(nodes, 0, asset, venue, recv_ns)
            }
            b"aggTrade" => {
                let asset = asset_from_field(nodes, s, "s")?;
                decode_agg_trade(nodes, 0, asset, venue, recv_ns)
            }
            b"bookTicker" => {
                let asset = asset_from_field(nodes, s, "s")?;
                decode_book_ticker(nodes, 0, asset, venue, recv_ns)
            }
            b"depthUpdate" => {
                let asset = asset_from_field(nodes, s, "s")?;
                decode_depth_diff(nodes, 0, asset, venue, recv_ns, sink)
            }
            b"markPriceUpdate" => {
                let asset = asset_from_field(nodes, s, "s")?;
                decode_mark_price(nodes, 0, asset, recv_ns)
            }
            b"forceOrder" => decode_force_order(nodes, 0, None, recv_ns),
            b"serverShutdown" => decode_shutdown(nodes, 0),
            _ => Err(ParseError::UnknownEvent),
        };
    }

    if let Some(ri) = result {
        let id = request_id(nodes, id)?;
        return Ok(Record::Control(match nodes.get(ri) {
            Some(Node::Static(StaticNode::Null)) => Control::Ack { id },
            _ => Control::Result { id },
        }));
    }
    if let Some(ci) = code {
        let code = node_i64(nodes.get(ci)).ok_or(ParseError::WrongType("code"))?;
        let id = request_id(nodes, id)?;
        return Ok(Record::Control(Control::VenueError { code, id }));
    }
    if last_update_id.is_some() {
        return decode_snapshot(nodes, 0, None, venue, recv_ns, sink);
    }
    if u.is_some() {
        // Raw spot bookTicker: the only payload with `u` and no `e`.
        let asset = asset_from_field(nodes, s, "s")?;
        return decode_book_ticker(nodes, 0, asset, venue, recv_ns);
    }
    Err(ParseError::UnknownEvent)
}

/// A request id: integer, or `None` for null / string ids (we only send integers).
fn request_id(nodes: Nodes<'_, '_>, at: Option<usize>) -> Result<Option<i64>, ParseError> {
    match at.and_then(|i| nodes.get(i)) {
        None | Some(Node::Static(StaticNode::Null)) | Some(Node::String(_)) => Ok(None),
        n => node_i64(n).map(Some).ok_or(ParseError::WrongType("id")),
    }
}

fn decode_shutdown(nodes: Nodes<'_, '_>, obj: usize) -> Result<Record, ParseError> {
    let mut ev = None;
    let mut is_shutdown = false;
    for (k, vi) in fields(nodes, obj) {
        match k {
            b"E" => ev = Some(vi),
            b"e" => is_shutdown = matches!(nodes.get(vi), Some(Node::String("serverShutdown"))),
            _ => {}
        }
    }
    if !is_shutdown {
        return Err(ParseError::UnknownEvent);
    }
    Ok(Record::Control(Control::ServerShutdown {
        event_ts_ms: req_u64(nodes, ev, "E")?,
    }))
}

fn decode_trade(
    nodes: Nodes<'_, '_>,
    obj: usize,
    asset: Asset,
    venue: Venue,
    recv_ns: u64,
) -> Result<Record, ParseError> {
    let (mut ev, mut t, mut p, mut q, mut tt, mut m, mut x) =
        (None, None, None, None, None, None, None);
    for (k, vi) in fields(nodes, obj) {
        match k {
            b"E" => ev = Some(vi),
            b"t" => t = Some(vi),
            b"p" => p = Some(vi),
            b"q" => q = Some(vi),
            b"T" => tt = Some(vi),
            b"m" => m = Some(vi),
            b"X" => x = Some(vi),
            _ => {}
        }
    }
    let exch_ts_ms = req_u64(nodes, tt, "T")?;
    let is_market = match x {
        None => true,
        Some(_) => req_str(nodes, x, "X")? == b"MARKET",
    };
    Ok(Record::Trade(Trade {
        asset,
        venue,
        px: req_dec(nodes, p, "p", PX_SCALE)?,
        qty: req_dec(nodes, q, "q", QTY_SCALE)?,
        exch_ts_ms,
        event_ts_ms: opt_u64(nodes, ev, "E")?.unwrap_or(exch_ts_ms),
        recv_ns,
        trade_id: req_u64(nodes, t, "t")?,
        taker_side: Side::from_buyer_is_maker(req_bool(nodes, m, "m")?),
        is_market,
    }))
}

fn decode_agg_trade(
    nodes: Nodes<'_, '_>,
    obj: usize,
    asset: Asset,
    venue: Venue,
    recv_ns: u64,
) -> Result<Record, ParseError> {
    let (mut ev, mut a, mut p, mut q, mut nq, mut f, mut l, mut tt, mut m) =
        (None, None, None, None, None, None, None, None, None);
    for (k, vi) in fields(nodes, obj) {
        match k {
            b"E" => ev = Some(vi),
            b"a" => a = Some(vi),
            b"p" => p = Some(vi),
            b"q" => q = Some(vi),
            b"nq" => nq = Some(vi),
            b"f" => f = Some(vi),
            b"l" => l = Some(vi),
            b"T" => tt = Some(vi),
            b"m" => m = Some(vi),
            _ => {}
        }
    }
    let exch_ts_ms = req_u64(nodes, tt, "T")?;
    Ok(Record::AggTrade(AggTrade {
        asset,
        venue,
        px: req_dec(nodes, p, "p", PX_SCALE)?,
        qty: req_dec(nodes, q, "q", QTY_SCALE)?,
        normal_qty: opt_dec(nodes, nq, "nq", QTY_SCALE)?,
        agg_id: req_u64(nodes, a, "a")?,
        first_trade_id: req_u64(nodes, f, "f")?,
        last_trade_id: req_u64(nodes, l, "l")?,
        exch_ts_ms,
        event_ts_ms: opt_u64(nodes, ev, "E")?.unwrap_or(exch_ts_ms),
        recv_ns,
        taker_side: Side::from_buyer_is_maker(req_bool(nodes, m, "m")?),
    }))
}

fn decode_book_ticker(
    nodes: Nodes<'_, '_>,
    obj: usize,
    asset: Asset,
    venue: Venue,
    recv_ns: u64,
) -> Result<Record, ParseError> {
    let (mut u, mut b, mut bq, mut a, mut aq, mut tt, mut ev) =
        (None, None, None, None, None, None, None);
    for (k, vi) in fields(nodes, obj) {
        match k {
            b"u" => u = Some(vi),
            b"b" => b = Some(vi),
            b"B" => bq = Some(vi),
            b"a" => a = Some(vi),
            b"A" => aq = Some(vi),
            b"T" => tt = Some(vi),
            b"E" => ev = Some(vi),
            _ => {}
        }
    }
    let exch_ts_ms = match opt_u64(nodes, tt, "T")? {
        Some(t) => Some(t),
        None => opt_u64(nodes, ev, "E")?,
    };
    Ok(Record::BookTicker(BookTicker {
        asset,
        venue,
        bid_px: req_dec(nodes, b, "b", PX_SCALE)?,
        bid_qty: req_dec(nodes, bq, "B", QTY_SCALE)?,
        ask_px: req_dec(nodes, a, "a", PX_SCALE)?,
        ask_qty: req_dec(nodes, aq, "A", QTY_SCALE)?,
        update_id: req_u64(nodes, u, "u")?,
        exch_ts_ms,
        recv_ns,
    }))
}

fn decode_mark_price(
    nodes: Nodes<'_, '_>,
    obj: usize,
    asset: Asset,
    recv_ns: u64,
) -> Result<Record, ParseError> {
    let (mut ev, mut p, mut i, mut pp, mut r, mut tt) = (None, None, None, None, None, None);
    for (k, vi) in fields(nodes, obj) {
        match k {
            b"E" => ev = Some(vi),
            b"p" => p = Some(vi),
            b"i" => i = Some(vi),
            b"P" => pp = Some(vi),
            b"r" => r = Some(vi),
            b"T" => tt = Some(vi),
            _ => {}
        }
    }
    Ok(Record::MarkPrice(MarkPrice {
        asset,
        mark_px: req_dec(nodes, p, "p", PX_SCALE)?,
        index_px: opt_dec(nodes, i, "i", PX_SCALE)?,
        est_settle_px: opt_dec(nodes, pp, "P", PX_SCALE)?,
        funding_rate: req_dec(nodes, r, "r", RATE_SCALE)?,
        next_funding_ms: req_u64(nodes, tt, "T")?,
        event_ts_ms: req_u64(nodes, ev, "E")?,
        recv_ns,
    }))
}

fn decode_force_order(
    nodes: Nodes<'_, '_>,
    obj: usize,
    stream_asset: Option<Asset>,
    recv_ns: u64,
) -> Result<Record, ParseError> {
    let (mut ev, mut o) = (None, None);
    for (k, vi) in fields(nodes, obj) {
        match k {
            b"E" => ev = Some(vi),
            b"o" => o = Some(vi),
            _ => {}
        }
    }
    let oi = o.ok_or(ParseError::MissingField("o"))?;
    if !is_object(nodes, oi) {
        return Err(ParseError::WrongType("o"));
    }
    let (mut s, mut side, mut p, mut ap, mut q, mut z, mut tt) =
        (None, None, None, None, None, None, None);
    for (k, vi) in fields(nodes, oi) {
        match k {
            b"s" => s = Some(vi),
            b"S" => side = Some(vi),
            b"p" => p = Some(vi),
            b"ap" => ap = Some(vi),
            b"q" => q = Some(vi),
            b"z" => z = Some(vi),
            b"T" => tt = Some(vi),
            _ => {}
        }
    }
    let asset = match stream_asset {
        Some(a) => a,
        None => asset_from_field(nodes, s, "s")?,
    };
    let px = req_dec(nodes, p, "p", PX_SCALE)?;
    let qty = req_dec(nodes, q, "q", QTY_SCALE)?;
    Ok(Record::Liquidation(Liquidation {
        asset,
        side: side_from(req_str(nodes, side, "S")?, "S")?,
        px,
        avg_px: opt_dec(nodes, ap, "ap", PX_SCALE)?.unwrap_or(px),
        qty,
        filled_qty: opt_dec(nodes, z, "z", QTY_SCALE)?.unwrap_or(qty),
        exch_ts_ms: req_u64(nodes, tt, "T")?,
        event_ts_ms: req_u64(nodes, ev, "E")?,
        recv_ns,
    }))
}

/// Count the levels of a `[[px, qty], ...]` array and, with a sink, parse and deliver them.
fn levels(
    nodes: Nodes<'_, '_>,
    at: Option<usize>,
    name: &'static str,
    side: BookSide,
    sink: &mut Option<LevelSink<'_>>,
) -> Result<u32, ParseError> {
    let ai = at.ok_or(ParseError::MissingField(name))?;
    let Some(&Node::Array { len, .. }) = nodes.get(ai) else {
        return Err(ParseError::WrongType(name));
    };
    let n = u32::try_from(len).map_err(|_| ParseError::WrongType(name))?;
    let Some(sink) = sink.as_mut() else {
        return Ok(n);
    };
    let mut i = ai + 1;
    for _ in 0..len {
        let level = nodes.get(i).ok_or(ParseError::WrongType(name))?;
        let (Node::Array { len: 2.., .. }, Some(Node::String(px)), Some(Node::String(qty))) =
            (level, nodes.get(i + 1), nodes.get(i + 2))
        else {
            return Err(ParseError::WrongType(name));
        };
        let px = decimal(px.as_bytes(), PX_SCALE, name)?;
        let qty = decimal(qty.as_bytes(), QTY_SCALE, name)?;
        sink(side, px, qty);
        i += span(level);
    }
    Ok(n)
}

fn decode_depth_diff(
    nodes: Nodes<'_, '_>,
    obj: usize,
    asset: Asset,
    venue: Venue,
    recv_ns: u64,
    mut sink: Option<LevelSink<'_>>,
) -> Result<Record, ParseError> {
    let (mut ev, mut first, mut last, mut pu, mut b, mut a) = (None, None, None, None, None, None);
    for (k, vi) in fields(nodes, obj) {
        match k {
            b"E" => ev = Some(vi),
            b"U" => first = Some(vi),
            b"u" => last = Some(vi),
            b"pu" => pu = Some(vi),
            b"b" => b = Some(vi),
            b"a" => a = Some(vi),
            _ => {}
        }
    }
    let first_update_id = req_u64(nodes, first, "U")?;
    let final_update_id = req_u64(nodes, last, "u")?;
    let prev_final_update_id = opt_u64(nodes, pu, "pu")?;
    let event_ts_ms = req_u64(nodes, ev, "E")?;
    let bid_levels = levels(nodes, b, "b", BookSide::Bid, &mut sink)?;
    let ask_levels = levels(nodes, a, "a", BookSide::Ask, &mut sink)?;
    Ok(Record::DepthDiff(DepthDiff {
        asset,
        venue,
        first_update_id,
        final_update_id,
        prev_final_update_id,
        event_ts_ms,
        bid_levels,
        ask_levels,
        recv_ns,
    }))
}

fn decode_snapshot(
    nodes: Nodes<'_, '_>,
    obj: usize,
    asset: Option<Asset>,
    venue: Venue,
    recv_ns: u64,
    mut sink: Option<LevelSink<'_>>,
) -> Result<Record, ParseError> {
    let (mut lu, mut ev, mut bids, mut asks) = (None, None, None, None);
    for (k, vi) in fields(nodes, obj) {
        match k {
            b"lastUpdateId" => lu = Some(vi),
            b"E" => ev = Some(vi),
            b"bids" => bids = Some(vi),
            b"asks" => asks = Some(vi),
            _ => {}
        }
    }
    let last_update_id = req_u64(nodes, lu, "lastUpdateId")?;
    let event_ts_ms = opt_u64(nodes, ev, "E")?;
    let bid_levels = levels(nodes, bids, "bids", BookSide::Bid, &mut sink)?;
    let ask_levels = levels(nodes, asks, "asks", BookSide::Ask, &mut sink)?;
    Ok(Record::DepthSnapshot(DepthSnapshot {
        asset,
        venue,
        last_update_id,
        event_ts_ms,
        bid_levels,
        ask_levels,
        recv_ns,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spot_trade_combined() {
        let mut p = BinanceParser::with_max_frame(Venue::Spot, 4096);
        let f = br#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;
        let r = p.parse(f, 7).unwrap();
        assert_eq!(
            r,
            Record::Trade(Trade {
                asset: Asset::Btc,
                venue: Venue::Spot,
                px: 6_183_763_000_000,
                qty: 2_000_000,
                exch_ts_ms: 1723161255342,
                event_ts_ms: 1723161255343,
                recv_ns: 7,
                trade_id: 3735683259,
                taker_side: Side::Sell,
                is_market: true,
            })
        );
        assert_eq!(p.counts().records(RecordKind::Trade), 1);
    }

    #[test]
    fn raw_frames_dispatch_on_fields() {
        let mut p = BinanceParser::with_max_frame(Venue::Spot, 4096);
        let r = p
            .parse(br#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#, 0)
            .unwrap_err();
        assert_eq!(r, ParseError::UnknownSymbol);
        let r = p
            .parse(br#"{"u":400900217,"s":"ETHUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#, 0)
            .unwrap();
        assert!(
            matches!(r, Record::BookTicker(b) if b.asset == Asset::Eth && b.update_id == 400900217 && b.exch_ts_ms.is_none())
        );
        assert_eq!(
            p.parse(br#"{"result":null,"id":5}"#, 0),
            Ok(Record::Control(Control::Ack { id: Some(5) }))
        );
        assert_eq!(
            p.parse(br#"{"result":["btcusdt@trade"],"id":"abc"}"#, 0),
            Ok(Record::Control(Control::Result { id: None }))
        );
        assert_eq!(
            p.parse(br#"{"code":2,"msg":"Invalid request","id":7}"#, 0),
            Ok(Record::Control(Control::VenueError {
                code: 2,
                id: Some(7)
            }))
        );
        assert_eq!(p.parse(b"[1,2]", 0), Err(ParseError::NotAnObject));
        assert_eq!(p.parse(b"{\"x\":1}", 0), Err(ParseError::UnknownEvent));
        assert_eq!(
            p.parse(b"{\"e\":\"kline\"}", 0),
            Err(ParseError::UnknownEvent)
        );
        assert_eq!(p.counts().errors(ParseErrorKind::UnknownEvent), 2);
    }

    #[test]
    fn depth_levels_reach_the_sink() {
        let mut p = BinanceParser::with_max_frame(Venue::Futures, 4096);
        let f = br#"{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":10,"u":12,"pu":9,"b":[["61800.20","2.507"]],"a":[["61800.30","0"],["61800.40","1.5"]]}}"#;
        let mut got = Vec::new();
        let r = p
            .parse_with_levels(f, 3, &mut |side, px, qty| got.push((side, px, qty)))
            .unwrap();
        let Record::DepthDiff(d) = r else {
            panic!("{r:?}")
        };
        assert_eq!(
            (d.first_update_id, d.final_update_id, d.prev_final_update_id),
            (10, 12, Some(9))
        );
        assert_eq!((d.bid_levels, d.ask_levels), (1, 2));
        assert_eq!(
            got,
            vec![
                (BookSide::Bid, 6_180_020_000_000, 250_700_000),
                (BookSide::Ask, 6_180_030_000_000, 0),
                (BookSide::Ask, 6_180_040_000_000, 150_000_000),
            ]
        );
        let bad = br#"{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1,"U":10,"u":12,"b":[["61800.20",2.5]],"a":[]}}"#;
        assert_eq!(
            p.parse_with_levels(bad, 0, &mut |_, _, _| {}),
            Err(ParseError::WrongType("b"))
        );
        // Without a sink the levels are only counted.
        assert!(p.parse(bad, 0).is_ok());
    }

    #[test]
    fn oversize_and_dense_frames() {
        let mut p = BinanceParser::with_max_frame(Venue::Spot, 100);
        assert_eq!(
            p.parse(&[b' '; 101], 0),
            Err(ParseError::FrameTooLarge { len: 101, max: 100 })
        );
        assert_eq!(p.parse(&[b'['; 100], 0), Err(ParseError::InvalidJson));
        assert_eq!(p.parse(b"", 0), Err(ParseError::InvalidJson));
    }
}
