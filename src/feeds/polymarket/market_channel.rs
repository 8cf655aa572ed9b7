//! Polymarket CLOB market-channel parser: one WebSocket text frame in, books updated and POD
//! events handed to a [`MarketSink`].
//!
//! Frames become a simd-json tape in a reused buffer: everyday frames (ASCII strings without
//! escapes, integer or string numbers) through the strict scalar [`super::fast_scan`], which
//! writes the identical tape faster for small frames; everything else, and every malformed
//! frame, through simd-json (`fill_tape` over reused `Buffers`), which stays the authority on
//! errors. Once the buffers have seen the largest frame in use, parsing allocates nothing. The
//! tape is walked by hand (no `Value` DOM, no `String`s); token ids are resolved through the
//! book set's interner from the raw bytes.
//!
//! Invariants:
//! * Never panics on venue input: every malformed / truncated frame, wrong JSON type, bad number
//!   or off-grid price becomes a [`PolyParseError`], is counted, and parsing carries on with the
//!   next event of the frame.
//! * Numbers are accepted as strings (the venue's form, parsed exactly) or as JSON numbers
//!   (integers exactly; floats only when within 1e-6 of a whole micro-unit).
//! * Unknown `event_type`s and unknown asset ids are counted and skipped, not errors.
//! * After a `price_change`, every touched book's top is compared with the venue's
//!   `best_bid`/`best_ask` (of the last entry for that token in the frame); a mismatch marks the
//!   book stale and raises a resync request in [`MarketBooks`].

use super::events::{
    BestBidAsk, BookApplied, LevelChange, MarketResolved, MarketSink, NewMarket, Slug, TakerSide,
    TickSizeChanged, TradePrint,
};
use crate::book::{
    BookSide, ConditionId, GridError, MarketBooks, Outcome, TickSize, TokenIdx, TokenKey,
};
use crate::fixed::{parse_fixed, FixedError};
use simd_json::{Buffers, Node, StaticNode, Tape};
use std::num::NonZeroU32;
use thiserror::Error;

/// Price / size scale: 6 decimals (micro-units, micro-shares).
const SCALE: u32 = 6;

/// Default largest frame accepted (1 MiB); larger frames are refused before parsing.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1 << 20;

/// Distinct tokens whose top-of-book check is deferred to the end of one `price_change` event.
const MAX_DEFERRED_CHECKS: usize = 8;

/// How a frame's JSON failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonFault {
    /// Input ended early (unterminated string, missing closing brackets).
    Truncated,
    /// Anything else simd-json refused.
    Malformed,
}

/// Why (part of) a frame was refused. Each is counted; parsing continues where it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PolyParseError {
    /// The frame is larger than the configured limit.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    FrameTooLarge {
        /// Frame length.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// Empty or whitespace-only frame.
    #[error("empty frame")]
    EmptyFrame,
    /// Not valid JSON.
    #[error("invalid JSON ({0:?})")]
    Json(JsonFault),
    /// The frame (or an array element) is not a JSON object.
    #[error("event is not a JSON object")]
    NotAnObject,
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field has the wrong JSON type.
    #[error("field `{0}` has the wrong JSON type")]
    WrongType(&'static str),
    /// A numeric field does not parse as an exact 6-decimal number / integer.
    #[error("field `{field}` is not a valid number: {err}")]
    BadNumber {
        /// Field name.
        field: &'static str,
        /// Why.
        err: FixedError,
    },
    /// `side` is neither `BUY` nor `SELL`.
    #[error("field `{0}` is not BUY or SELL")]
    BadSide(&'static str),
    /// A tick size outside 0.01 / 0.005 / 0.001 / 0.0001.
    #[error("field `{0}` is not a supported tick size")]
    BadTickSize(&'static str),
    /// A price outside (0, 1) or off the book's grid.
    #[error("price refused by the grid: {0}")]
    Grid(#[from] GridError),
    /// An id longer than its inline storage.
    #[error("field `{0}` is too long")]
    IdTooLong(&'static str),
}

/// Monotonic counters of everything the parser saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedCounters {
    /// Frames handed in.
    pub frames: u64,
    /// Frames parsed by the scalar fast scanner (the rest went through simd-json).
    pub fast_scans: u64,
    /// `PONG` replies.
    pub pongs: u64,
    /// Events (objects) dispatched, known or not.
    pub events: u64,
    /// `book` snapshots applied.
    pub books: u64,
    /// `price_change` entries applied.
    pub price_change_entries: u64,
    /// `last_trade_price` prints.
    pub trades: u64,
    /// `best_bid_ask` updates.
    pub best_bid_asks: u64,
    /// `best_bid_ask` updates that disagreed with the local book.
    pub best_bid_ask_mismatches: u64,
    /// `tick_size_change` events.
    pub tick_size_changes: u64,
    /// `new_market` events.
    pub new_markets: u64,
    /// `market_resolved` events.
    pub markets_resolved: u64,
    /// Events with an unrecognised `event_type`.
    pub unknown_event_types: u64,
    /// Events / entries for asset ids not interned.
    pub unknown_assets: u64,
    /// All errors.
    pub errors: u64,
    /// Frames over the size limit.
    pub errors_too_large: u64,
    /// Frames that were not valid JSON (including truncated).
    pub errors_json: u64,
    /// Frames that were cut short.
    pub errors_truncated: u64,
    /// Missing fields, wrong JSON types, non-object events.
    pub errors_schema: u64,
    /// Bad numbers, sides, tick sizes, grid refusals, over-long ids.
    pub errors_value: u64,
}

impl FeedCounters {
    fn count(&mut self, e: &PolyParseError) {
        self.errors += 1;
        match e {
            PolyParseError::FrameTooLarge { .. } => self.errors_too_large += 1,
            PolyParseError::Json(f) => {
                self.errors_json += 1;
                if *f == JsonFault::Truncated {
                    self.errors_truncated += 1;
                }
            }
            PolyParseError::EmptyFrame
            | PolyParseError::NotAnObject
            | PolyParseError::MissingField(_)
            | PolyParseError::WrongType(_) => self.errors_schema += 1,
            PolyParseError::BadNumber { .. }
            | PolyParseError::BadSide(_)
            | PolyParseError::BadTickSize(_)
            | PolyParseError::Grid(_)
            | PolyParseError::IdTooLong(_) => self.errors_value += 1,
        }
    }
}

/// What one frame amounted to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameSummary {
    /// Events dispatched (objects in the frame).
    pub events: u32,
    /// Errors raised while handling the frame.
    pub errors: u32,
    /// The first of them.
    pub first_error: Option<PolyParseError>,
    /// The frame was the `PONG` keep-alive reply.
    pub pong: bool,
    /// At least one resync request is pending in the book set after this frame.
    pub resync_requested: bool,
}

impl FrameSummary {
    fn error(&mut self, counters: &mut FeedCounters, e: PolyParseError) {
        counters.count(&e);
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }
}

/// Parser configuration.
#[derive(Debug, Clone, Copy)]
pub struct ParserConfig {
    /// Frames longer than this are refused unparsed (and buffers are pre-sized to it).
    pub max_frame_bytes: usize,
}

impl Default for ParserConfig {
    fn default() -> Self {
        ParserConfig {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
    }
}

/// Market-channel frame parser with reused simd-json buffers.
pub struct MarketChannelParser {
    input: Vec<u8>,
    buffers: Buffers,
    tape: Tape<'static>,
    direct: DirectScratch,
    max_frame: usize,
    counters: FeedCounters,
}

impl std::fmt::Debug for MarketChannelParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketChannelParser")
            .field("max_frame", &self.max_frame)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

type R<T> = Result<T, PolyParseError>;

/// Nodes spanned by the value at `i` (itself plus nested nodes).
#[inline]
fn span(nodes: &[Node<'_>], i: usize) -> usize {
    match nodes.get(i) {
        Some(Node::Object { count, .. }) | Some(Node::Array { count, .. }) => count + 1,
        _ => 1,
    }
}

#[inline]
fn req(idx: Option<usize>, field: &'static str) -> R<usize> {
    idx.ok_or(PolyParseError::MissingField(field))
}

#[inline]
fn str_at<'i>(nodes: &[Node<'i>], i: usize, field: &'static str) -> R<&'i str> {
    match nodes.get(i) {
        Some(Node::String(s)) => Ok(s),
        _ => Err(PolyParseError::WrongType(field)),
    }
}

/// A JSON float as micro-units: accepted only when `v × 10^6` is a whole number up to the
/// float's own rounding, so a value with more than 6 decimals is refused, as for strings.
fn micro_from_f64(v: f64) -> Result<i64, FixedError> {
    if !v.is_finite() {
        return Err(FixedError::Syntax);
    }
    let scaled = v * 1e6;
    if scaled.abs() >= 9.0e18 {
        return Err(FixedError::Overflow);
    }
    let rounded = scaled.round();
    // Tolerance: a few ulps of the scaled value (the product's own rounding), never less than
    // 1e-6 micro-units; anything further from a whole micro-unit had more than 6 decimals.
    let tolerance = (scaled.abs() * 4.0 * f64::EPSILON).max(1e-6);
    if (scaled - rounded).abs() > tolerance {
        return Err(FixedError::Inexact);
    }
    Ok(rounded as i64)
}

/// A decimal (string or JSON number) as micro-units.
#[inline]
fn micro_at(nodes: &[Node<'_>], i: usize, field: &'static str) -> R<i64> {
    let bad = |err| PolyParseError::BadNumber { field, err };
    match nodes.get(i) {
        Some(Node::String(s)) => parse_fixed(s.as_bytes(), SCALE).map_err(bad),
        Some(Node::Static(StaticNode::I64(v))) => {
            v.checked_mul(1_000_000).ok_or(bad(FixedError::Overflow))
        }
        Some(Node::Static(StaticNode::U64(v))) => i64::try_from(*v)
            .ok()
            .and_then(|v| v.checked_mul(1_000_000))
            .ok_or(bad(FixedError::Overflow)),
        Some(Node::Static(StaticNode::F64(v))) => micro_from_f64(*v).map_err(bad),
        _ => Err(PolyParseError::WrongType(field)),
    }
}

/// A non-negative micro-unit size.
#[inline]
fn size_at(nodes: &[Node<'_>], i: usize, field: &'static str) -> R<i64> {
    let v = micro_at(nodes, i, field)?;
    if v < 0 {
        return Err(PolyParseError::BadNumber {
            field,
            err: FixedError::Syntax,
        });
    }
    Ok(v)
}

/// A non-negative integer (string or JSON number): timestamps, fee rates.
#[inline]
fn uint_at(nodes: &[Node<'_>], i: usize, field: &'static str) -> R<u64> {
    let bad = |err| PolyParseError::BadNumber { field, err };
    match nodes.get(i) {
        Some(Node::String(s)) => {
            let v = parse_fixed(s.as_bytes(), 0).map_err(bad)?;
            u64::try_from(v).map_err(|_| bad(FixedError::Syntax))
        }
        Some(Node::Static(StaticNode::U64(v))) => Ok(*v),
        Some(Node::Static(StaticNode::I64(v))) => {
            u64::try_from(*v).map_err(|_| bad(FixedError::Syntax))
        }
        _ => Err(PolyParseError::WrongType(field)),
    }
}

/// A venue best price: `None` for null, empty, or the "side empty" sentinels (0 for bids,
/// 0 or 1 for asks).
#[inline]
fn best_at(nodes: &[Node<'_>], i: usize, field: &'static str, side: BookSide) -> R<Option<i64>> {
    match nodes.get(i) {
        Some(Node::Static(StaticNode::Null)) => return Ok(None),
        Some(Node::String("")) => return Ok(None),
        _ => {}
    }
    let v = micro_at(nodes, i, field)?;
    Ok(match (side, v) {
        (_, 0) => None,
        (BookSide::Ask, 1_000_000) => None,
        _ => Some(v),
    })
}

#[inline]
fn tick_at(nodes: &[Node<'_>], i: usize, field: &'static str) -> R<TickSize> {
    let v = micro_at(nodes, i, field)?;
    TickSize::from_micro(v).map_err(|_| PolyParseError::BadTickSize(field))
}

#[inline]
fn side_at(nodes: &[Node<'_>], i: usize, field: &'static str) -> R<BookSide> {
    match str_at(nodes, i, field)? {
        "BUY" | "buy" | "Buy" => Ok(BookSide::Bid),
        "SELL" | "sell" | "Sell" => Ok(BookSide::Ask),
        _ => Err(PolyParseError::BadSide(field)),
    }
}

/// Tape index of a field's value; never 0 (the root), so `Option` costs nothing: the whole
/// [`Fields`] record stays small enough to build per object without a large memset/copy.
type Pos = Option<NonZeroU32>;

#[inline(always)]
fn ix(p: Pos) -> Option<usize> {
    p.map(|v| v.get() as usize)
}

/// Positions (tape indexes of values) of the fields any event may carry.
#[derive(Default, Clone, Copy)]
struct Fields {
    event_type: Pos,
    asset_id: Pos,
    market: Pos,
    timestamp: Pos,
    bids: Pos,
    asks: Pos,
    price_changes: Pos,
    price: Pos,
    size: Pos,
    side: Pos,
    best_bid: Pos,
    best_ask: Pos,
    tick_size: Pos,
    new_tick_size: Pos,
    old_tick_size: Pos,
    fee_rate_bps: Pos,
    winning_asset_id: Pos,
    winning_outcome: Pos,
    assets_ids: Pos,
    clob_token_ids: Pos,
    slug: Pos,
    min_tick_size: Pos,
}

/// Record where each known key's value sits in the object at `obj`.
#[inline]
fn collect_fields(nodes: &[Node<'_>], obj: usize) -> R<Fields> {
    let Some(Node::Object { len, .. }) = nodes.get(obj) else {
        return Err(PolyParseError::NotAnObject);
    };
    let mut f = Fields::default();
    let mut k = obj + 1;
    for _ in 0..*len {
        let Some(Node::String(key)) = nodes.get(k) else {
            return Err(PolyParseError::NotAnObject);
        };
        let v = k + 1;
        // Dispatch on the key length first, then compare a handful of same-length names
        // (a plain `match` on `&str` tries every arm in turn).
        let kb = key.as_bytes();
        let slot = match kb.len() {
            4 => match kb {
                b"size" => Some(&mut f.size),
                b"side" => Some(&mut f.side),
                b"bids" | b"buys" => Some(&mut f.bids),
                b"asks" => Some(&mut f.asks),
                b"slug" => Some(&mut f.slug),
                _ => None,
            },
            5 => match kb {
                b"price" => Some(&mut f.price),
                b"sells" => Some(&mut f.asks),
                _ => None,
            },
            6 if kb == b"market" => Some(&mut f.market),
            8 => match kb {
                b"asset_id" => Some(&mut f.asset_id),
                b"best_bid" => Some(&mut f.best_bid),
                b"best_ask" => Some(&mut f.best_ask),
                _ => None,
            },
            9 => match kb {
                b"timestamp" => Some(&mut f.timestamp),
                b"tick_size" => Some(&mut f.tick_size),
                _ => None,
            },
            10 => match kb {
                b"event_type" => Some(&mut f.event_type),
                b"assets_ids" => Some(&mut f.assets_ids),
                _ => None,
            },
            12 if kb == b"fee_rate_bps" => Some(&mut f.fee_rate_bps),
            13 => match kb {
                b"price_changes" => Some(&mut f.price_changes),
                b"new_tick_size" => Some(&mut f.new_tick_size),
                b"old_tick_size" => Some(&mut f.old_tick_size),
                _ => None,
            },
            14 if kb == b"clob_token_ids" => Some(&mut f.clob_token_ids),
            15 if kb == b"winning_outcome" => Some(&mut f.winning_outcome),
            16 if kb == b"winning_asset_id" => Some(&mut f.winning_asset_id),
            25 if kb == b"order_price_min_tick_size" => Some(&mut f.min_tick_size),
            _ => None,
        };
        let Some(slot) = slot else {
            k = v + span(nodes, v);
            continue;
        };
        *slot = NonZeroU32::new(v as u32);
        k = v + span(nodes, v);
    }
    Ok(f)
}

/// Everything one event handler needs, borrowed for the duration of a frame.
struct Ctx<'a, S: MarketSink> {
    books: &'a mut MarketBooks,
    sink: &'a mut S,
    counters: &'a mut FeedCounters,
    summary: &'a mut FrameSummary,
    local_ns: u64,
}

impl MarketChannelParser {
    /// A parser whose buffers are pre-sized for `config.max_frame_bytes`.
    pub fn new(config: ParserConfig) -> MarketChannelParser {
        let max = config.max_frame_bytes.max(64);
        MarketChannelParser {
            input: Vec::with_capacity(max),
            buffers: Buffers::new(max),
            tape: Tape(Vec::with_capacity(max / 4)),
            direct: DirectScratch::new(),
            max_frame: max,
            counters: FeedCounters::default(),
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> &FeedCounters {
        &self.counters
    }

    /// Parse one text frame, update `books`, emit events to `sink`. `local_ns` is the frame's
    /// local receive time (monotonic ns). The frame is read in place when the fast scanner takes
    /// it, and copied into an internal buffer only for simd-json.
    pub fn on_frame<S: MarketSink>(
        &mut self,
        frame: &[u8],
        books: &mut MarketBooks,
        local_ns: u64,
        sink: &mut S,
    ) -> FrameSummary {
        let mut summary = match self.prelude(frame, books) {
            Ok(s) => s,
            Err(done) => return done,
        };
        if self.try_fast(frame, books, local_ns, sink, &mut summary) {
            return summary;
        }
        let mut input = std::mem::take(&mut self.input);
        input.clear();
        input.extend_from_slice(frame);
        self.slow(&mut input, books, local_ns, sink, &mut summary);
        self.input = input;
        summary
    }

    /// As [`on_frame`](Self::on_frame), parsing the caller's buffer in place (simd-json may
    /// rewrite it).
    pub fn on_frame_in_place<S: MarketSink>(
        &mut self,
        frame: &mut [u8],
        books: &mut MarketBooks,
        local_ns: u64,
        sink: &mut S,
    ) -> FrameSummary {
        let mut summary = match self.prelude(frame, books) {
            Ok(s) => s,
            Err(done) => return done,
        };
        if !self.try_fast(frame, books, local_ns, sink, &mut summary) {
            self.slow(frame, books, local_ns, sink, &mut summary);
        }
        summary
    }

    /// Count the frame; settle oversized, `PONG` and empty frames (`Err` = finished summary).
    fn prelude(&mut self, frame: &[u8], books: &MarketBooks) -> Result<FrameSummary, FrameSummary> {
        self.counters.frames += 1;
        let mut summary = FrameSummary::default();
        if frame.len() > self.max_frame {
            summary.error(
                &mut self.counters,
                PolyParseError::FrameTooLarge {
                    len: frame.len(),
                    max: self.max_frame,
                },
            );
            summary.resync_requested = books.any_resync_pending();
            return Err(summary);
        }
        let trimmed = frame.trim_ascii();
        if trimmed == b"PONG" {
            self.counters.pongs += 1;
            summary.pong = true;
            return Err(summary);
        }
        if trimmed.is_empty() {
            summary.error(&mut self.counters, PolyParseError::EmptyFrame);
            return Err(summary);
        }
        Ok(summary)
    }

    /// Scalar fast path; `false` when the frame is outside its subset (nothing was applied).
    #[inline]
    fn try_fast<S: MarketSink>(
        &mut self,
        frame: &[u8],
        books: &mut MarketBooks,
        local_ns: u64,
        sink: &mut S,
        summary: &mut FrameSummary,
    ) -> bool {
        if let Some(frame_kind) = self.direct.parse(frame) {
            self.counters.fast_scans += 1;
            let mut ctx = Ctx {
                books,
                sink,
                counters: &mut self.counters,
                summary,
                local_ns,
            };
            self.direct.apply(frame, frame_kind, &mut ctx);
            ctx.summary.resync_requested = ctx.books.any_resync_pending();
            return true;
        }
        let mut tape = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        let accepted = super::fast_scan::scan(frame, &mut tape.0);
        if accepted {
            self.counters.fast_scans += 1;
            let mut ctx = Ctx {
                books,
                sink,
                counters: &mut self.counters,
                summary,
                local_ns,
            };
            walk_root(&tape.0, &mut ctx);
            ctx.summary.resync_requested = ctx.books.any_resync_pending();
        }
        self.tape = tape.reset();
        accepted
    }

    /// simd-json path: everything outside the fast subset, and the authority on errors.
    fn slow<S: MarketSink>(
        &mut self,
        frame: &mut [u8],
        books: &mut MarketBooks,
        local_ns: u64,
        sink: &mut S,
        summary: &mut FrameSummary,
    ) {
        let mut tape = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        if simd_json::fill_tape(frame, &mut self.buffers, &mut tape).is_ok() {
            let mut ctx = Ctx {
                books,
                sink,
                counters: &mut self.counters,
                summary,
                local_ns,
            };
            walk_root(&tape.0, &mut ctx);
            self.tape = tape.reset();
        } else {
            self.tape = tape.reset();
            let fault = classify_json_fault(frame);
            summary.error(&mut self.counters, PolyParseError::Json(fault));
        }
        summary.resync_requested = books.any_resync_pending();
    }
}

/// simd-json reports truncation as a generic syntax error; tell the two apart (error path only)
/// by whether the frame ends inside a string or an unclosed object/array.
fn classify_json_fault(frame: &[u8]) -> JsonFault {
    let mut depth: i64 = 0;
    let mut in_string = false;
    let mut escaped = false;
    for &b in frame {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth < 0 {
                    return JsonFault::Malformed;
                }
            }
            _ => {}
        }
    }
    if in_string || depth > 0 {
        JsonFault::Truncated
    } else {
        JsonFault::Malformed
    }
}

fn walk_root<S: MarketSink>(nodes: &[Node<'_>], ctx: &mut Ctx<'_, S>) {
    match nodes.first() {
        Some(Node::Object { .. }) => dispatch(nodes, 0, ctx),
        Some(Node::Array { len, .. }) => {
            let mut i = 1;
            for _ in 0..*len {
                dispatch(nodes, i, ctx);
                i += span(nodes, i);
            }
        }
        _ => ctx.summary.error(ctx.counters, PolyParseError::NotAnObject),
    }
}

fn dispatch<S: MarketSink>(nodes: &[Node<'_>], obj: usize, ctx: &mut Ctx<'_, S>) {
    ctx.counters.events += 1;
    ctx.summary.events += 1;
    let r = collect_fields(nodes, obj).and_then(|f| {
        let et = str_at(nodes, req(ix(f.event_type), "event_type")?, "event_type")?;
        match et {
            "price_change" => on_price_change(nodes, &f, ctx),
            "book" => on_book(nodes, &f, ctx),
            "last_trade_price" => on_last_trade(nodes, &f, ctx),
            "best_bid_ask" => on_best_bid_ask(nodes, &f, ctx),
            "tick_size_change" => on_tick_size_change(nodes, &f, ctx),
            "new_market" => on_new_market(nodes, &f, ctx),
            "market_resolved" => on_market_resolved(nodes, &f, ctx),
            _ => {
                ctx.counters.unknown_event_types += 1;
                Ok(())
            }
        }
    });
    if let Err(e) = r {
        ctx.summary.error(ctx.counters, e);
    }
}

/// Resolve the event's `asset_id`; `Ok(None)` (counted) for an unknown asset.
#[inline]
fn token_of<S: MarketSink>(
    nodes: &[Node<'_>],
    idx: Option<usize>,
    ctx: &mut Ctx<'_, S>,
) -> R<Option<TokenIdx>> {
    let id = str_at(nodes, req(idx, "asset_id")?, "asset_id")?;
    let t = ctx.books.token(id.as_bytes());
    if t.is_none() {
        ctx.counters.unknown_assets += 1;
    }
    Ok(t)
}

fn on_book<S: MarketSink>(nodes: &[Node<'_>], f: &Fields, ctx: &mut Ctx<'_, S>) -> R<()> {
    let Some(token) = token_of(nodes, ix(f.asset_id), ctx)? else {
        return Ok(());
    };
    let r = apply_book(nodes, f, token, ctx);
    if r.is_err() {
        ctx.books.abort_snapshot(token);
    }
    r
}

fn apply_book<S: MarketSink>(
    nodes: &[Node<'_>],
    f: &Fields,
    token: TokenIdx,
    ctx: &mut Ctx<'_, S>,
) -> R<()> {
    let ts = uint_at(nodes, req(ix(f.timestamp), "timestamp")?, "timestamp")?;
    let bids = req(ix(f.bids), "bids")?;
    let asks = req(ix(f.asks), "asks")?;
    let tick = match ix(f.tick_size) {
        Some(i) => Some(tick_at(nodes, i, "tick_size")?),
        None => None,
    };
    if !matches!(nodes.get(bids), Some(Node::Array { .. })) {
        return Err(PolyParseError::WrongType("bids"));
    }
    if !matches!(nodes.get(asks), Some(Node::Array { .. })) {
        return Err(PolyParseError::WrongType("asks"));
    }
    ctx.books.begin_snapshot(token, tick);
    let bid_levels = apply_levels(nodes, bids, token, BookSide::Bid, "bids", ctx)?;
    let ask_levels = apply_levels(nodes, asks, token, BookSide::Ask, "asks", ctx)?;
    ctx.books.finish_snapshot(token, ts, ctx.local_ns);
    ctx.counters.books += 1;
    ctx.sink.on_book(&BookApplied {
        token,
        bid_levels,
        ask_levels,
        exchange_ms: ts,
    });
    Ok(())
}

/// Apply the `[{price,size},…]` array at `arr` to one side of a snapshot in progress.
#[inline]
fn apply_levels<S: MarketSink>(
    nodes: &[Node<'_>],
    arr: usize,
    token: TokenIdx,
    side: BookSide,
    field: &'static str,
    ctx: &mut Ctx<'_, S>,
) -> R<u32> {
    let Some(Node::Array { len, .. }) = nodes.get(arr) else {
        return Err(PolyParseError::WrongType(field));
    };
    let mut i = arr + 1;
    for _ in 0..*len {
        let Some(Node::Object { len: keys, .. }) = nodes.get(i) else {
            return Err(PolyParseError::WrongType(field));
        };
        let (mut price, mut size) = (None, None);
        let mut k = i + 1;
        for _ in 0..*keys {
            let v = k + 1;
            match nodes.get(k) {
                Some(Node::String("price")) => price = Some(v),
                Some(Node::String("size")) => size = Some(v),
                _ => {}
            }
            k = v + span(nodes, v);
        }
        let p = micro_at(nodes, req(price, "price")?, "price")?;
        let s = size_at(nodes, req(size, "size")?, "size")?;
        ctx.books.snapshot_level(token, side, p, s)?;
        i = k;
    }
    Ok(*len as u32)
}

#[derive(Clone, Copy)]
struct DeferredCheck {
    token: TokenIdx,
    best_bid: Option<i64>,
    best_ask: Option<i64>,
}

/// Top-of-book checks of one `price_change` event, run once all its entries are applied (the
/// last entry per token wins).
struct DeferredChecks {
    checks: [DeferredCheck; MAX_DEFERRED_CHECKS],
    len: usize,
}

impl DeferredChecks {
    #[inline]
    fn new() -> DeferredChecks {
        DeferredChecks {
            checks: [DeferredCheck {
                token: TokenIdx(0),
                best_bid: None,
                best_ask: None,
            }; MAX_DEFERRED_CHECKS],
            len: 0,
        }
    }

    #[inline]
    fn add(&mut self, check: DeferredCheck, books: &mut MarketBooks) {
        if let Some(c) = self
            .checks
            .get_mut(..self.len)
            .and_then(|cs| cs.iter_mut().find(|c| c.token == check.token))
        {
            *c = check;
        } else if let Some(c) = self.checks.get_mut(self.len) {
            *c = check;
            self.len += 1;
        } else {
            // More distinct tokens than deferred slots: check this one now.
            books.check_top(check.token, check.best_bid, check.best_ask);
        }
    }

    #[inline]
    fn run(&self, books: &mut MarketBooks) {
        for c in self.checks.iter().take(self.len) {
            books.check_top(c.token, c.best_bid, c.best_ask);
        }
    }
}

fn on_price_change<S: MarketSink>(nodes: &[Node<'_>], f: &Fields, ctx: &mut Ctx<'_, S>) -> R<()> {
    let ts = uint_at(nodes, req(ix(f.timestamp), "timestamp")?, "timestamp")?;
    let arr = req(ix(f.price_changes), "price_changes")?;
    let Some(Node::Array { len, .. }) = nodes.get(arr) else {
        return Err(PolyParseError::WrongType("price_changes"));
    };
    let mut checks = DeferredChecks::new();
    let mut i = arr + 1;
    for _ in 0..*len {
        let entry = i;
        i += span(nodes, i);
        match price_change_entry(nodes, entry, ts, ctx) {
            Ok(Some(check)) => checks.add(check, ctx.books),
            Ok(_) => {}
            Err(e) => ctx.summary.error(ctx.counters, e),
        }
    }
    checks.run(ctx.books);
    Ok(())
}

/// One `price_changes[]` entry, parsed.
#[derive(Clone, Copy)]
struct ParsedEntry {
    price: i64,
    size: i64,
    side: BookSide,
    /// `None`: field absent; `Some(None)`: venue reports the side empty.
    best_bid: Option<Option<i64>>,
    best_ask: Option<Option<i64>>,
}

/// Apply one `price_changes[]` entry. Returns, when the entry was applied and carried both
/// `best_bid` and `best_ask`, the top-of-book check to run at the end of the event.
#[inline]
fn price_change_entry<S: MarketSink>(
    nodes: &[Node<'_>],
    entry: usize,
    ts: u64,
    ctx: &mut Ctx<'_, S>,
) -> R<Option<DeferredCheck>> {
    let f = collect_fields(nodes, entry)?;
    let Some(token) = token_of(nodes, ix(f.asset_id), ctx)? else {
        return Ok(None);
    };
    let parsed = (|| {
        let price = micro_at(nodes, req(ix(f.price), "price")?, "price")?;
        let size = size_at(nodes, req(ix(f.size), "size")?, "size")?;
        let side = side_at(nodes, req(ix(f.side), "side")?, "side")?;
        let best_bid = match ix(f.best_bid) {
            Some(i) => Some(best_at(nodes, i, "best_bid", BookSide::Bid)?),
            None => None,
        };
        let best_ask = match ix(f.best_ask) {
            Some(i) => Some(best_at(nodes, i, "best_ask", BookSide::Ask)?),
            None => None,
        };
        Ok(ParsedEntry {
            price,
            size,
            side,
            best_bid,
            best_ask,
        })
    })();
    let entry = match parsed {
        Ok(v) => v,
        Err(e) => {
            // A lost update leaves the book unknown: stop trusting it.
            ctx.books
                .mark_stale(token, crate::book::ResyncReason::BadUpdate);
            return Err(e);
        }
    };
    apply_entry(token, &entry, ts, ctx)
}

/// Apply a parsed entry of a known token (both the tape and the direct path end here).
#[inline]
fn apply_entry<S: MarketSink>(
    token: TokenIdx,
    e: &ParsedEntry,
    ts: u64,
    ctx: &mut Ctx<'_, S>,
) -> R<Option<DeferredCheck>> {
    if !ctx
        .books
        .apply_level(token, e.side, e.price, e.size, ts, ctx.local_ns)?
    {
        return Ok(None);
    }
    ctx.counters.price_change_entries += 1;
    ctx.sink.on_level_change(&LevelChange {
        token,
        side: e.side,
        price_micro: e.price,
        size_micro: e.size,
        venue_best_bid: e.best_bid.flatten(),
        venue_best_ask: e.best_ask.flatten(),
        exchange_ms: ts,
    });
    let check = match (e.best_bid, e.best_ask) {
        (Some(best_bid), Some(best_ask)) => Some(DeferredCheck {
            token,
            best_bid,
            best_ask,
        }),
        _ => None,
    };
    Ok(check)
}

fn on_last_trade<S: MarketSink>(nodes: &[Node<'_>], f: &Fields, ctx: &mut Ctx<'_, S>) -> R<()> {
    let Some(token) = token_of(nodes, ix(f.asset_id), ctx)? else {
        return Ok(());
    };
    let price = micro_at(nodes, req(ix(f.price), "price")?, "price")?;
    let size = size_at(nodes, req(ix(f.size), "size")?, "size")?;
    let taker_side = match side_at(nodes, req(ix(f.side), "side")?, "side")? {
        BookSide::Bid => TakerSide::Buy,
        BookSide::Ask => TakerSide::Sell,
    };
    let fee_rate_bps = match ix(f.fee_rate_bps) {
        Some(i) => u32::try_from(uint_at(nodes, i, "fee_rate_bps")?).map_err(|_| {
            PolyParseError::BadNumber {
                field: "fee_rate_bps",
                err: FixedError::Overflow,
            }
        })?,
        None => 0,
    };
    let ts = uint_at(nodes, req(ix(f.timestamp), "timestamp")?, "timestamp")?;
    ctx.books.record_trade(token, price);
    ctx.counters.trades += 1;
    ctx.sink.on_trade(&TradePrint {
        token,
        price_micro: price,
        size_micro: size,
        taker_side,
        fee_rate_bps,
        exchange_ms: ts,
    });
    Ok(())
}

fn on_best_bid_ask<S: MarketSink>(nodes: &[Node<'_>], f: &Fields, ctx: &mut Ctx<'_, S>) -> R<()> {
    let Some(token) = token_of(nodes, ix(f.asset_id), ctx)? else {
        return Ok(());
    };
    let best_bid = best_at(
        nodes,
        req(ix(f.best_bid), "best_bid")?,
        "best_bid",
        BookSide::Bid,
    )?;
    let best_ask = best_at(
        nodes,
        req(ix(f.best_ask), "best_ask")?,
        "best_ask",
        BookSide::Ask,
    )?;
    let ts = uint_at(nodes, req(ix(f.timestamp), "timestamp")?, "timestamp")?;
    let matches_local = ctx.books.book(token).is_some_and(|b| {
        !b.is_awaiting_snapshot()
            && b.best_price(BookSide::Bid) == best_bid
            && b.best_price(BookSide::Ask) == best_ask
    });
    ctx.counters.best_bid_asks += 1;
    if !matches_local {
        ctx.counters.best_bid_ask_mismatches += 1;
    }
    ctx.sink.on_best_bid_ask(&BestBidAsk {
        token,
        best_bid,
        best_ask,
        matches_local,
        exchange_ms: ts,
    });
    Ok(())
}

fn on_tick_size_change<S: MarketSink>(
    nodes: &[Node<'_>],
    f: &Fields,
    ctx: &mut Ctx<'_, S>,
) -> R<()> {
    let Some(token) = token_of(nodes, ix(f.asset_id), ctx)? else {
        return Ok(());
    };
    let new_tick = tick_at(
        nodes,
        req(ix(f.new_tick_size), "new_tick_size")?,
        "new_tick_size",
    )?;
    let old_tick = ix(f.old_tick_size).and_then(|i| tick_at(nodes, i, "old_tick_size").ok());
    let ts = uint_at(nodes, req(ix(f.timestamp), "timestamp")?, "timestamp")?;
    let regridded = ctx.books.regrid(token, new_tick);
    ctx.counters.tick_size_changes += 1;
    ctx.sink.on_tick_size_change(&TickSizeChanged {
        token,
        old_tick,
        new_tick,
        regridded,
        exchange_ms: ts,
    });
    Ok(())
}

fn opt_ms(nodes: &[Node<'_>], idx: Option<usize>) -> R<u64> {
    match idx {
        Some(i) => uint_at(nodes, i, "timestamp"),
        None => Ok(0),
    }
}

fn condition_id_at(nodes: &[Node<'_>], idx: Option<usize>) -> R<ConditionId> {
    let s = str_at(nodes, req(idx, "market")?, "market")?;
    ConditionId::new(s.as_bytes()).ok_or(PolyParseError::IdTooLong("market"))
}

fn on_new_market<S: MarketSink>(nodes: &[Node<'_>], f: &Fields, ctx: &mut Ctx<'_, S>) -> R<()> {
    let condition_id = condition_id_at(nodes, ix(f.market))?;
    let ids_field = if f.assets_ids.is_some() {
        "assets_ids"
    } else {
        "clob_token_ids"
    };
    let arr = req(ix(f.assets_ids.or(f.clob_token_ids)), "assets_ids")?;
    let Some(Node::Array { len, .. }) = nodes.get(arr) else {
        return Err(PolyParseError::WrongType(ids_field));
    };
    let mut token_ids = [TokenKey::EMPTY; 2];
    let mut token_count = 0u8;
    let mut i = arr + 1;
    for _ in 0..*len {
        let s = str_at(nodes, i, ids_field)?;
        if let Some(slot) = token_ids.get_mut(token_count as usize) {
            *slot = TokenKey::new(s.as_bytes()).ok_or(PolyParseError::IdTooLong(ids_field))?;
            token_count += 1;
        }
        i += span(nodes, i);
    }
    let slug = match ix(f.slug) {
        Some(i) => Slug::new(str_at(nodes, i, "slug")?.as_bytes()).unwrap_or(Slug::EMPTY),
        None => Slug::EMPTY,
    };
    let tick = match ix(f.min_tick_size) {
        Some(i) => tick_at(nodes, i, "order_price_min_tick_size").ok(),
        None => None,
    };
    let exchange_ms = opt_ms(nodes, ix(f.timestamp))?;
    ctx.counters.new_markets += 1;
    ctx.sink.on_new_market(&NewMarket {
        condition_id,
        slug,
        token_ids,
        token_count,
        tick,
        exchange_ms,
    });
    Ok(())
}

fn on_market_resolved<S: MarketSink>(
    nodes: &[Node<'_>],
    f: &Fields,
    ctx: &mut Ctx<'_, S>,
) -> R<()> {
    let condition_id = condition_id_at(nodes, ix(f.market))?;
    let winning_token = match ix(f.winning_asset_id) {
        Some(i) => ctx
            .books
            .token(str_at(nodes, i, "winning_asset_id")?.as_bytes()),
        None => None,
    };
    let winning_outcome = match ix(f.winning_outcome) {
        Some(i) => match str_at(nodes, i, "winning_outcome")? {
            "Up" | "UP" | "up" | "Yes" => Some(Outcome::Up),
            "Down" | "DOWN" | "down" | "No" => Some(Outcome::Down),
            _ => None,
        },
        None => None,
    };
    let exchange_ms = opt_ms(nodes, ix(f.timestamp))?;
    let market = winning_token.map(MarketBooks::market_of);
    if let Some(m) = market {
        ctx.books.mark_resolved(m);
    }
    ctx.counters.markets_resolved += 1;
    ctx.sink.on_market_resolved(&MarketResolved {
        condition_id,
        market,
        winning_token,
        winning_outcome,
        exchange_ms,
    });
    Ok(())
}

// ----- direct path: `price_change` and `book` frames without a tape -----

/// Most `price_changes[]` entries one frame may carry on the direct path (more: tape path).
const DIRECT_MAX_ENTRIES: usize = 64;
/// Most snapshot levels (both sides) one frame may carry on the direct path (more: tape path).
const DIRECT_MAX_LEVELS: usize = 4096;

/// A byte range `start..end` of the frame (a string's content).
#[derive(Clone, Copy, Default)]
struct ByteSpan {
    start: u32,
    end: u32,
}

impl ByteSpan {
    #[inline(always)]
    fn of(self, frame: &[u8]) -> &[u8] {
        frame
            .get(self.start as usize..self.end as usize)
            .unwrap_or(&[])
    }
}

/// One `price_changes[]` entry read by the direct path.
#[derive(Clone, Copy)]
struct DirectEntry {
    asset: ByteSpan,
    parsed: ParsedEntry,
}

/// A frame the direct path read completely and validated.
#[derive(Clone, Copy)]
enum DirectFrame {
    /// `price_change`: entries are in `DirectScratch::entries`.
    PriceChange { timestamp: u64 },
    /// `book`: levels `bids` then `asks` are ranges of `DirectScratch::levels`.
    Book {
        asset: ByteSpan,
        timestamp: u64,
        tick: Option<TickSize>,
        bids: (u32, u32),
        asks: (u32, u32),
    },
}

/// The direct path's reused buffers. It reads a single-object `price_change` or `book` frame
/// in one pass straight from the bytes (values parsed as they are met, unread fields stepped
/// over with the fast scanner's strict validation) and takes the frame only when every part of
/// it is well-formed and every value it needs is valid. Anything else — arrays of events, other
/// event types, escapes, JSON numbers where the venue sends strings, any bad value — is
/// declined *before* anything is applied, and the tape path handles (and counts) it exactly as
/// before, so both paths agree by construction.
struct DirectScratch {
    entries: Vec<DirectEntry>,
    levels: Vec<(i64, i64)>,
}

/// Position after `"key":` given the opening quote of the key at `i`, with the key's bytes.
#[inline(always)]
fn direct_key(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let end = super::fast_scan::string_end(b, i + 1)?;
    let key = b.get(i + 1..end)?;
    let mut j = end + 1;
    if b.get(j) != Some(&b':') {
        j = super::fast_scan::skip_ws(b, j);
        if b.get(j) != Some(&b':') {
            return None;
        }
    }
    Some((key, super::fast_scan::skip_ws(b, j + 1)))
}

/// A string value at `i`: its content span and the position after the closing quote.
#[inline(always)]
fn direct_str(b: &[u8], i: usize) -> Option<(ByteSpan, usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let end = super::fast_scan::string_end(b, i + 1)?;
    Some((
        ByteSpan {
            start: (i + 1) as u32,
            end: end as u32,
        },
        end + 1,
    ))
}

/// After a member of an object: `Some(true)` at `,` (another member follows; `i` moves past it
/// and whitespace), `Some(false)` at `}` (`i` moves past it), `None` otherwise.
#[inline(always)]
fn direct_next(b: &[u8], i: &mut usize, close: u8) -> Option<bool> {
    let mut j = *i;
    if !matches!(b.get(j), Some(&(b',' | b'}' | b']'))) {
        j = super::fast_scan::skip_ws(b, j);
    }
    match *b.get(j)? {
        b',' => {
            *i = super::fast_scan::skip_ws(b, j + 1);
            Some(true)
        }
        c if c == close => {
            *i = j + 1;
            Some(false)
        }
        _ => None,
    }
}

/// An exact 6-decimal string as micro-units: the everyday `0.48` / `219.217767` / `12` forms
/// inline, every other form through [`parse_fixed`] (the authority).
#[inline(always)]
fn direct_micro(s: &[u8]) -> Option<i64> {
    let mut int: i64 = 0;
    let mut i = 0usize;
    while let Some(&c @ b'0'..=b'9') = s.get(i) {
        int = int * 10 + i64::from(c - b'0');
        i += 1;
        if i > 12 {
            return parse_fixed(s, SCALE).ok();
        }
    }
    if i == 0 {
        return parse_fixed(s, SCALE).ok();
    }
    match s.get(i) {
        None => return Some(int * 1_000_000),
        Some(b'.') => {}
        Some(_) => return None,
    }
    let frac_digits = s.len() - i - 1;
    if frac_digits == 0 || frac_digits > 6 {
        return parse_fixed(s, SCALE).ok();
    }
    let mut frac: i64 = 0;
    for &c in s.get(i + 1..).unwrap_or(&[]) {
        if !c.is_ascii_digit() {
            return None;
        }
        frac = frac * 10 + i64::from(c - b'0');
    }
    const SCALE_OF: [i64; 7] = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
    Some(int * 1_000_000 + frac * SCALE_OF.get(frac_digits).copied().unwrap_or(0))
}

/// A venue best price (as [`best_at`]): the side-empty sentinels give `None`.
#[inline(always)]
fn best_or_empty(v: i64, side: BookSide) -> Option<i64> {
    match (side, v) {
        (_, 0) => None,
        (BookSide::Ask, 1_000_000) => None,
        _ => Some(v),
    }
}

/// A quoted decimal at `v` as micro-units and the position after the closing quote. The
/// everyday `"0.48"` form is read in the same pass that finds the quote; any other content goes
/// through [`direct_str`] and [`direct_micro`]. `None` for anything but a valid string decimal.
#[inline(always)]
fn direct_quoted_micro(b: &[u8], v: usize) -> Option<(i64, usize)> {
    if b.get(v) != Some(&b'"') {
        return None;
    }
    let general = || {
        let (s, next) = direct_str(b, v)?;
        Some((direct_micro(s.of(b))?, next))
    };
    let mut i = v + 1;
    let mut int: i64 = 0;
    while let Some(&c @ b'0'..=b'9') = b.get(i) {
        if i - v > 12 {
            return general();
        }
        int = int * 10 + i64::from(c - b'0');
        i += 1;
    }
    let int_digits = i - v - 1;
    if int_digits == 0 || int_digits > 12 {
        return general();
    }
    match b.get(i) {
        Some(b'"') => return Some((int * 1_000_000, i + 1)),
        Some(b'.') => {}
        _ => return general(),
    }
    i += 1;
    let frac_start = i;
    let mut frac: i64 = 0;
    while let Some(&c @ b'0'..=b'9') = b.get(i) {
        if i - frac_start >= 6 {
            return general();
        }
        frac = frac * 10 + i64::from(c - b'0');
        i += 1;
    }
    let frac_digits = i - frac_start;
    if frac_digits == 0 || frac_digits > 6 || b.get(i) != Some(&b'"') {
        return general();
    }
    const SCALE_OF: [i64; 7] = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
    Some((
        int * 1_000_000 + frac * SCALE_OF.get(frac_digits).copied().unwrap_or(0),
        i + 1,
    ))
}

/// A non-negative integer string (as [`uint_at`] on a string).
#[inline(always)]
fn direct_uint(s: &[u8]) -> Option<u64> {
    if !s.is_empty() && s.len() <= 18 && s.iter().all(u8::is_ascii_digit) {
        return Some(s.iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0')));
    }
    u64::try_from(parse_fixed(s, 0).ok()?).ok()
}

impl DirectScratch {
    fn new() -> DirectScratch {
        DirectScratch {
            entries: Vec::with_capacity(DIRECT_MAX_ENTRIES),
            levels: Vec::with_capacity(DIRECT_MAX_LEVELS),
        }
    }

    /// Read `b` if it is a single, fully valid `price_change` or `book` object; `None` declines.
    #[inline]
    fn parse(&mut self, b: &[u8]) -> Option<DirectFrame> {
        if let Some(frame) = self.venue_layout_price_change(b) {
            return Some(frame);
        }
        #[derive(PartialEq)]
        enum Kind {
            PriceChange,
            Book,
        }
        let mut i = super::fast_scan::skip_ws(b, 0);
        if b.get(i) != Some(&b'{') {
            return None;
        }
        i = super::fast_scan::skip_ws(b, i + 1);
        let mut kind = None;
        let mut asset = None;
        let mut timestamp = None;
        let mut tick = None;
        let mut changes = false;
        let mut bids = None;
        let mut asks = None;
        self.entries.clear();
        self.levels.clear();
        if b.get(i) == Some(&b'}') {
            return None;
        }
        loop {
            let (key, v) = direct_key(b, i)?;
            i = match key {
                b"event_type" => {
                    let (s, next) = direct_str(b, v)?;
                    kind = Some(match s.of(b) {
                        b"price_change" => Kind::PriceChange,
                        b"book" => Kind::Book,
                        _ => return None,
                    });
                    next
                }
                b"asset_id" => {
                    let (s, next) = direct_str(b, v)?;
                    asset = Some(s);
                    next
                }
                b"timestamp" => {
                    let (s, next) = direct_str(b, v)?;
                    timestamp = Some(direct_uint(s.of(b))?);
                    next
                }
                b"tick_size" => {
                    let (s, next) = direct_str(b, v)?;
                    tick = Some(TickSize::from_micro(direct_micro(s.of(b))?).ok()?);
                    next
                }
                b"price_changes" => {
                    changes = true;
                    self.price_changes(b, v)?
                }
                b"bids" | b"buys" => {
                    let (range, next) = self.levels(b, v)?;
                    bids = Some(range);
                    next
                }
                b"asks" | b"sells" => {
                    let (range, next) = self.levels(b, v)?;
                    asks = Some(range);
                    next
                }
                _ => super::fast_scan::skip_value(b, v)?,
            };
            if !direct_next(b, &mut i, b'}')? {
                break;
            }
        }
        if super::fast_scan::skip_ws(b, i) != b.len() {
            return None;
        }
        match kind? {
            Kind::PriceChange if changes => Some(DirectFrame::PriceChange {
                timestamp: timestamp?,
            }),
            Kind::Book => Some(DirectFrame::Book {
                asset: asset?,
                timestamp: timestamp?,
                tick,
                bids: bids?,
                asks: asks?,
            }),
            Kind::PriceChange => None,
        }
    }

    /// A `price_change` frame in exactly the venue's own top-level layout
    /// (`{"market":…,"price_changes":[…],"timestamp":…,"event_type":"price_change"}`, no
    /// whitespace), read by matching the fixed key text; `None` for any other layout, which
    /// [`parse`](Self::parse)'s general reader then reads from the start (it clears `entries`).
    #[inline]
    fn venue_layout_price_change(&mut self, b: &[u8]) -> Option<DirectFrame> {
        let v = expect_lit(b, 0, br#"{"market":""#)?;
        let end = super::fast_scan::string_end(b, v)?;
        let v = expect_lit(b, end, br#"","price_changes":"#)?;
        let next = self.price_changes(b, v)?;
        let v = expect_lit(b, next, br#","timestamp":""#)?;
        let end = super::fast_scan::string_end(b, v)?;
        let timestamp = direct_uint(b.get(v..end)?)?;
        let next = expect_lit(b, end, br#"","event_type":"price_change"}"#)?;
        if super::fast_scan::skip_ws(b, next) != b.len() {
            return None;
        }
        Some(DirectFrame::PriceChange { timestamp })
    }

    /// The `price_changes` array at `i` into `entries` (a repeated key replaces the earlier
    /// array, as on the tape path); the position after it.
    #[inline]
    fn price_changes(&mut self, b: &[u8], mut i: usize) -> Option<usize> {
        self.entries.clear();
        if b.get(i) != Some(&b'[') {
            return None;
        }
        i = super::fast_scan::skip_ws(b, i + 1);
        if b.get(i) == Some(&b']') {
            return Some(i + 1);
        }
        loop {
            let (entry, next) = direct_entry(b, i)?;
            if self.entries.len() == self.entries.capacity() {
                return None;
            }
            self.entries.push(entry);
            i = next;
            if !direct_next(b, &mut i, b']')? {
                return Some(i);
            }
        }
    }

    /// A `[{price,size},…]` array at `i` appended to `levels`; its range and the position after.
    #[inline]
    fn levels(&mut self, b: &[u8], mut i: usize) -> Option<((u32, u32), usize)> {
        let first = self.levels.len() as u32;
        if b.get(i) != Some(&b'[') {
            return None;
        }
        i = super::fast_scan::skip_ws(b, i + 1);
        if b.get(i) == Some(&b']') {
            return Some(((first, first), i + 1));
        }
        loop {
            if b.get(i) != Some(&b'{') {
                return None;
            }
            i = super::fast_scan::skip_ws(b, i + 1);
            let (mut price, mut size) = (None, None);
            if b.get(i) != Some(&b'}') {
                loop {
                    let (key, v) = direct_key(b, i)?;
                    i = match key {
                        b"price" => {
                            let (p, next) = direct_quoted_micro(b, v)?;
                            price = Some(p);
                            next
                        }
                        b"size" => {
                            let (q, next) = direct_quoted_micro(b, v)?;
                            size = Some(q);
                            next
                        }
                        _ => super::fast_scan::skip_value(b, v)?,
                    };
                    if !direct_next(b, &mut i, b'}')? {
                        break;
                    }
                }
            } else {
                i += 1;
            }
            let (p, s) = (price?, size?);
            if s < 0 || self.levels.len() == self.levels.capacity() {
                return None;
            }
            self.levels.push((p, s));
            if !direct_next(b, &mut i, b']')? {
                return Some(((first, self.levels.len() as u32), i));
            }
        }
    }

    /// Apply a frame [`parse`](Self::parse) accepted, as the tape path would.
    #[inline]
    fn apply<S: MarketSink>(&self, b: &[u8], frame: DirectFrame, ctx: &mut Ctx<'_, S>) {
        ctx.counters.events += 1;
        ctx.summary.events += 1;
        match frame {
            DirectFrame::PriceChange { timestamp } => {
                let mut checks = DeferredChecks::new();
                for e in &self.entries {
                    let Some(token) = ctx.books.token(e.asset.of(b)) else {
                        ctx.counters.unknown_assets += 1;
                        continue;
                    };
                    match apply_entry(token, &e.parsed, timestamp, ctx) {
                        Ok(Some(check)) => checks.add(check, ctx.books),
                        Ok(None) => {}
                        Err(err) => ctx.summary.error(ctx.counters, err),
                    }
                }
                checks.run(ctx.books);
            }
            DirectFrame::Book {
                asset,
                timestamp,
                tick,
                bids,
                asks,
            } => {
                let Some(token) = ctx.books.token(asset.of(b)) else {
                    ctx.counters.unknown_assets += 1;
                    return;
                };
                let side_levels = |(from, to): (u32, u32)| {
                    self.levels.get(from as usize..to as usize).unwrap_or(&[])
                };
                let r = (|| {
                    ctx.books.begin_snapshot(token, tick);
                    for &(p, s) in side_levels(bids) {
                        ctx.books.snapshot_level(token, BookSide::Bid, p, s)?;
                    }
                    for &(p, s) in side_levels(asks) {
                        ctx.books.snapshot_level(token, BookSide::Ask, p, s)?;
                    }
                    Ok::<(), PolyParseError>(())
                })();
                match r {
                    Ok(()) => {
                        ctx.books.finish_snapshot(token, timestamp, ctx.local_ns);
                        ctx.counters.books += 1;
                        ctx.sink.on_book(&BookApplied {
                            token,
                            bid_levels: bids.1 - bids.0,
                            ask_levels: asks.1 - asks.0,
                            exchange_ms: timestamp,
                        });
                    }
                    Err(err) => {
                        ctx.books.abort_snapshot(token);
                        ctx.summary.error(ctx.counters, err);
                    }
                }
            }
        }
    }
}

/// One `price_changes[]` object at `i`: the entry and the position after it.
#[inline]
fn direct_entry(b: &[u8], i: usize) -> Option<(DirectEntry, usize)> {
    venue_layout_entry(b, i).or_else(|| any_layout_entry(b, i))
}

/// One entry at `i` with its keys in any order and any spacing (unknown keys skipped).
#[inline]
fn any_layout_entry(b: &[u8], mut i: usize) -> Option<(DirectEntry, usize)> {
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = super::fast_scan::skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return None;
    }
    let mut asset = None;
    let (mut price, mut size, mut side) = (None, None, None);
    let (mut best_bid, mut best_ask) = (None, None);
    loop {
        let (key, v) = direct_key(b, i)?;
        // Strings are all the entry's known fields carry; `best_*` may also be `null`.
        i = match key {
            b"asset_id" => {
                let (s, next) = direct_str(b, v)?;
                asset = Some(s);
                next
            }
            b"price" => {
                let (p, next) = direct_quoted_micro(b, v)?;
                price = Some(p);
                next
            }
            b"size" => {
                let (q, next) = direct_quoted_micro(b, v)?;
                size = Some(q);
                next
            }
            b"side" => {
                let (s, next) = direct_str(b, v)?;
                side = Some(match s.of(b) {
                    b"BUY" | b"buy" | b"Buy" => BookSide::Bid,
                    b"SELL" | b"sell" | b"Sell" => BookSide::Ask,
                    _ => return None,
                });
                next
            }
            b"best_bid" | b"best_ask" => {
                let side = if key == b"best_bid" {
                    BookSide::Bid
                } else {
                    BookSide::Ask
                };
                let (best, next) = direct_best(b, v, side)?;
                if side == BookSide::Bid {
                    best_bid = Some(best);
                } else {
                    best_ask = Some(best);
                }
                next
            }
            _ => super::fast_scan::skip_value(b, v)?,
        };
        if !direct_next(b, &mut i, b'}')? {
            break;
        }
    }
    let size = size?;
    if size < 0 {
        return None;
    }
    Some((
        DirectEntry {
            asset: asset?,
            parsed: ParsedEntry {
                price: price?,
                size,
                side: side?,
                best_bid,
                best_ask,
            },
        },
        i,
    ))
}

/// `lit` at `i`: the position after it.
#[inline(always)]
fn expect_lit(b: &[u8], i: usize, lit: &[u8]) -> Option<usize> {
    let end = i.checked_add(lit.len())?;
    (b.get(i..end)? == lit).then_some(end)
}

/// A `best_bid` / `best_ask` value at `v` (`""`, a quoted price, or `null`) and the position
/// after it.
#[inline(always)]
fn direct_best(b: &[u8], v: usize, side: BookSide) -> Option<(Option<i64>, usize)> {
    match b.get(v) {
        Some(b'"') if b.get(v + 1) == Some(&b'"') => Some((None, v + 2)),
        Some(b'"') => {
            let (px, next) = direct_quoted_micro(b, v)?;
            Some((best_or_empty(px, side), next))
        }
        Some(b'n') if b.get(v..v + 4) == Some(b"null") => Some((None, v + 4)),
        _ => None,
    }
}

/// One `price_changes[]` entry at `i` in exactly the venue's own layout (protocol notes §4:
/// `{"asset_id":…,"price":…,"size":…,"side":…,"hash":…,"best_bid":…,"best_ask":…}`, no
/// whitespace), read by matching the fixed key text instead of finding and dispatching each
/// key. Any other layout (order, spacing, extra or missing keys) gives `None` and
/// [`direct_entry`]'s general reader takes the entry from `i` again; both give the same entry
/// for the same input (tested).
#[inline(always)]
fn venue_layout_entry(b: &[u8], i: usize) -> Option<(DirectEntry, usize)> {
    let v = expect_lit(b, i, br#"{"asset_id":""#)?;
    let end = super::fast_scan::string_end(b, v)?;
    let asset = ByteSpan {
        start: v as u32,
        end: end as u32,
    };
    let v = expect_lit(b, end, br#"","price":"#)?;
    let (price, next) = direct_quoted_micro(b, v)?;
    let v = expect_lit(b, next, br#","size":"#)?;
    let (size, next) = direct_quoted_micro(b, v)?;
    let v = expect_lit(b, next, br#","side":""#)?;
    let (side, next) = if let Some(n) = expect_lit(b, v, br#"BUY""#) {
        (BookSide::Bid, n)
    } else {
        (BookSide::Ask, expect_lit(b, v, br#"SELL""#)?)
    };
    let v = expect_lit(b, next, br#","hash":""#)?;
    let end = super::fast_scan::string_end(b, v)?;
    let v = expect_lit(b, end, br#"","best_bid":"#)?;
    let (best_bid, next) = direct_best(b, v, BookSide::Bid)?;
    let v = expect_lit(b, next, br#","best_ask":"#)?;
    let (best_ask, next) = direct_best(b, v, BookSide::Ask)?;
    let next = expect_lit(b, next, b"}")?;
    if size < 0 {
        return None;
    }
    Some((
        DirectEntry {
            asset,
            parsed: ParsedEntry {
                price,
                size,
                side,
                best_bid: Some(best_bid),
                best_ask: Some(best_ask),
            },
        },
        next,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_numbers_convert_exactly_or_refuse() {
        assert_eq!(micro_from_f64(0.48), Ok(480_000));
        assert_eq!(micro_from_f64(232.25), Ok(232_250_000));
        assert_eq!(micro_from_f64(0.001), Ok(1_000));
        assert_eq!(micro_from_f64(0.0000001), Err(FixedError::Inexact));
        assert_eq!(micro_from_f64(0.4900001), Err(FixedError::Inexact));
        assert_eq!(micro_from_f64(1234567.123456), Ok(1_234_567_123_456));
        assert_eq!(micro_from_f64(f64::NAN), Err(FixedError::Syntax));
        assert_eq!(micro_from_f64(1e300), Err(FixedError::Overflow));
    }

    #[test]
    fn truncation_is_told_from_malformation() {
        for t in [
            r#"{"a":"b"#,
            r#"{"a":[{"p":".5"#,
            r#"{"a":"#,
            r#"[{"a":1},"#,
            "{",
        ] {
            assert_eq!(
                classify_json_fault(t.as_bytes()),
                JsonFault::Truncated,
                "{t}"
            );
        }
        for m in [r#"{"a" 1}"#, r#"{"a":1}}"#, "nope", r#"{"a":"\\"}}"#] {
            assert_eq!(
                classify_json_fault(m.as_bytes()),
                JsonFault::Malformed,
                "{m}"
            );
        }
    }

    /// Records every sink event as text, in order.
    #[derive(Default)]
    struct Log(Vec<String>);

    impl MarketSink for Log {
        fn on_book(&mut self, e: &BookApplied) {
            self.0.push(format!("{e:?}"));
        }
        fn on_level_change(&mut self, e: &LevelChange) {
            self.0.push(format!("{e:?}"));
        }
    }

    const UP: &str =
        "71321045679252212594626385532706912750332728571942532289631379312455583992563";
    const DOWN: &str =
        "52114319501245915516055106046884209969926127482827954674443846427813813222426";
    const OTHER: &str =
        "11111111111111111111111111111111111111111111111111111111111111111111111111111";

    fn books() -> MarketBooks {
        let mut b = MarketBooks::with_capacity(2);
        b.add_market("0xabc", UP, DOWN, TickSize::Cent).unwrap();
        b
    }

    /// The tape path alone (what every frame went through before the direct path existed).
    fn tape_only(
        frame: &[u8],
        books: &mut MarketBooks,
        log: &mut Log,
        counters: &mut FeedCounters,
    ) -> FrameSummary {
        let mut summary = FrameSummary::default();
        counters.frames += 1;
        let mut copy = frame.to_vec();
        match simd_json::to_tape(&mut copy) {
            Ok(tape) => {
                let mut ctx = Ctx {
                    books,
                    sink: log,
                    counters,
                    summary: &mut summary,
                    local_ns: 7,
                };
                walk_root(&tape.0, &mut ctx);
            }
            Err(_) => summary.error(counters, PolyParseError::Json(classify_json_fault(frame))),
        }
        summary.resync_requested = books.any_resync_pending();
        summary
    }

    fn book(asset: &str, extra: &str, bids: &str, asks: &str) -> String {
        format!(
            r#"{{"event_type":"book","asset_id":"{asset}","market":"0xabc",{extra}"bids":[{bids}],"asks":[{asks}],"timestamp":"1790586001234","hash":"0b4f"}}"#
        )
    }

    fn entry(asset: &str, price: &str, size: &str, side: &str, bb: &str, ba: &str) -> String {
        format!(
            r#"{{"asset_id":"{asset}","price":{price},"size":{size},"side":"{side}","hash":"1895","best_bid":{bb},"best_ask":{ba}}}"#
        )
    }

    fn pc(entries: &[String]) -> String {
        format!(
            r#"{{"market":"0xabc","price_changes":[{}],"timestamp":"1790586001400","event_type":"price_change"}}"#,
            entries.join(",")
        )
    }

    /// What a direct reader made of an entry, comparable.
    type EntryRead = (
        (u32, u32),
        i64,
        i64,
        BookSide,
        Option<Option<i64>>,
        Option<Option<i64>>,
        usize,
    );

    fn entry_read(r: Option<(DirectEntry, usize)>) -> Option<EntryRead> {
        r.map(|(e, next)| {
            let p = e.parsed;
            (
                (e.asset.start, e.asset.end),
                p.price,
                p.size,
                p.side,
                p.best_bid,
                p.best_ask,
                next,
            )
        })
    }

    #[test]
    fn venue_layout_reader_matches_the_any_layout_reader() {
        let q = |s: &str| format!("\"{s}\"");
        // The venue's layout: both readers take it and agree on every field and position.
        let venue = [
            entry(
                UP,
                &q("0.48"),
                &q("219.217767"),
                "BUY",
                &q("0.48"),
                &q("0.5"),
            ),
            entry(DOWN, &q("0.52"), &q("12"), "SELL", &q("0.5"), &q("0.52")),
            entry(UP, &q("0.49"), &q("0"), "BUY", "null", &q("")),
            entry(UP, &q("0.001"), &q("1000000"), "SELL", &q("0"), &q("1")),
            entry(UP, &q("1"), &q("3"), "BUY", &q(".5"), &q("0.500000")),
        ];
        for e in &venue {
            let framed = format!("[{e},");
            let b = framed.as_bytes();
            let fast = entry_read(venue_layout_entry(b, 1));
            assert!(fast.is_some(), "venue layout read: {e}");
            assert_eq!(fast, entry_read(any_layout_entry(b, 1)), "{e}");
            assert_eq!(fast.map(|r| r.6), Some(framed.len() - 1));
        }
        // Other layouts: the venue-layout reader declines, the general one decides alone,
        // and `direct_entry` gives exactly the general reader's answer.
        let others = [
            entry(UP, &q("0.48"), &q("3"), "buy", &q("0.48"), &q("0.5")),
            entry(UP, &q("0.48"), &q("3"), "HOLD", &q("0.48"), &q("0.5")),
            entry(UP, "0.48", &q("3"), "BUY", &q("0.48"), &q("0.5")),
            entry(UP, &q("0.48"), &q("-3"), "BUY", &q("0.48"), &q("0.5")),
            entry(UP, &q("0.48"), &q("3"), "BUY", "0.48", &q("0.5")),
            entry(UP, &q("0.48"), &q("3"), "BUY", &q("0.48"), &q("0.5")).replace(',', ", "),
            entry(UP, &q("0.48"), &q("3"), "BUY", &q("0.48"), &q("0.5"))
                .replace(r#""hash":"1895","#, ""),
            entry(UP, &q("0.48"), &q("3"), "BUY", &q("0.48"), &q("0.5"))
                .replace(r#""hash":"1895""#, r#""hash":"18\"95""#),
            format!(
                r#"{{"price":"0.48","asset_id":"{UP}","size":"3","side":"BUY","hash":"1","best_bid":"0.48","best_ask":"0.5"}}"#
            ),
            entry(UP, &q("0.48"), &q("3"), "BUY", &q("0.48"), &q("0.5")).replace('}', r#","x":1}"#),
        ];
        for e in &others {
            let framed = format!("[{e},");
            let b = framed.as_bytes();
            assert!(venue_layout_entry(b, 1).is_none(), "declined: {e}");
            assert_eq!(
                entry_read(direct_entry(b, 1)),
                entry_read(any_layout_entry(b, 1)),
                "{e}"
            );
        }
        // The general reader still reads the reordered and spaced ones.
        for e in [&others[0], &others[5], &others[6], &others[8], &others[9]] {
            let framed = format!("[{e},");
            assert!(any_layout_entry(framed.as_bytes(), 1).is_some(), "{e}");
        }
        // Every truncation of a venue-layout entry is declined by both, never a panic.
        let e = &venue[0];
        for cut in 0..e.len() {
            let b = &e.as_bytes()[..cut];
            assert!(venue_layout_entry(b, 0).is_none(), "cut {cut}");
            assert!(direct_entry(b, 0).is_none(), "cut {cut}");
        }
    }

    #[test]
    fn direct_path_agrees_with_the_tape_path() {
        let lv = |p: &str, s: &str| format!(r#"{{"price":"{p}","size":"{s}"}}"#);
        let up_bids = [lv("0.48", "100"), lv("0.47", "20.5")].join(",");
        let up_asks = [lv("0.50", "90"), lv("0.51", "11")].join(",");
        let dn_bids = [lv("0.50", "90"), lv("0.49", "11")].join(",");
        let dn_asks = [lv("0.52", "100"), lv("0.53", "20.5")].join(",");
        let q = |s: &str| format!("\"{s}\"");
        let frames: Vec<String> = vec![
            book(UP, "", &up_bids, &up_asks),
            book(DOWN, r#""tick_size":"0.01","#, &dn_bids, &dn_asks),
            pc(&[
                entry(UP, &q("0.48"), &q("219.217767"), "BUY", &q("0.48"), &q("0.5")),
                entry(DOWN, &q("0.52"), &q("12"), "SELL", &q("0.5"), &q("0.52")),
            ]),
            pc(&[
                entry(OTHER, &q("0.48"), &q("1"), "BUY", &q("0.48"), &q("0.5")),
                entry(UP, &q("0.47"), &q("0"), "buy", &q("0.48"), &q("0.5")),
            ]),
            pc(&[entry(UP, &q("0.485"), &q("1"), "BUY", &q("0.48"), &q("0.5"))]),
            book(UP, "", &up_bids, &up_asks),
            pc(&[entry(UP, &q("0.46"), &q("3"), "BUY", &q("0.47"), &q("0.5"))]),
            book(UP, "", &up_bids, &up_asks),
            pc(&[entry(UP, &q("0.49"), &q("3"), "BUY", "null", &q(""))]),
            book(UP, "", &up_bids, &up_asks),
            pc(&[entry(UP, &q("abc"), &q("3"), "BUY", &q("0.48"), &q("0.5"))]),
            book(UP, "", &up_bids, &up_asks),
            pc(&[entry(UP, "0.48", &q("3"), "BUY", &q("0.48"), &q("0.5"))]),
            pc(&[entry(UP, &q("0.48"), &q("-3"), "BUY", &q("0.48"), &q("0.5"))]),
            pc(&[entry(UP, &q("0.48"), &q("3"), "HOLD", &q("0.48"), &q("0.5"))]),
            book(UP, "", &up_bids, &up_asks),
            // Unknown nested fields, odd spacing, duplicate keys (the last one counts).
            format!(
                "{{ \"x\" : [1, {{\"y\":null}}, []], \"z\":true,\n \"price_changes\" : [ {} ] , \"timestamp\":\"1790586001500\", \"event_type\" : \"price_change\" }}",
                r#"{"asset_id":"OTHER","size":"1","asset_id":"UP","price":".48","size":"7.0000000","side":"Sell","k":{"a":[{}]},"best_bid":"0","best_ask":"1"}"#
                    .replace("OTHER", OTHER)
                    .replace("UP", UP)
            ),
            book(UP, "", &up_bids, &up_asks),
            book(UP, r#""hash2":{"n":-5},"#, r#"{"size":"4","price":".47","extra":"x"}"#, r#"{"price":"0.5","size":"1"}"#)
                .replace("\"bids\"", "\"buys\"")
                .replace("\"asks\"", "\"sells\""),
            book(UP, "", &lv("0.48", "-1"), &up_asks),
            book(UP, "", &lv("0.485", "1"), &up_asks),
            book(UP, "", &up_bids, &up_asks),
            book(OTHER, "", &up_bids, &up_asks),
            book(UP, r#""tick_size":"0.001","#, &lv("0.481", "5"), &up_asks),
            book(UP, r#""tick_size":"0.02","#, &up_bids, &up_asks),
            book(UP, "", &up_bids, &up_asks).replace(r#""1790586001234""#, "1790586001234"),
            book(UP, "", &up_bids, &up_asks).replace(r#","timestamp":"1790586001234""#, ""),
            pc(&[entry(DOWN, &q("0.53"), &q("0"), "SELL", &q("0.5"), &q("0.52"))])
                .replace(r#""timestamp":"1790586001400","#, ""),
            pc(&[]),
            pc(&(0..12)
                .map(|k| {
                    let t = if k % 2 == 0 { UP } else { DOWN };
                    let p = format!("0.{}", 30 + k);
                    entry(t, &q(&p), &q("5"), "BUY", &q("0.9"), &q("0.99"))
                })
                .collect::<Vec<_>>()),
            format!("[{},{}]", book(UP, "", &up_bids, &up_asks), book(DOWN, "", &dn_bids, &dn_asks)),
            pc(&[entry(UP, &q("0.48"), &q("3"), "BUY", &q("0.48"), &q("0.5"))])
                .replace("price_change\"}", "price_change\"} x"),
            pc(&[entry(UP, &q("0.48"), &q("3"), "BUY", &q("0.48"), &q("0.5"))])
                .replace("price_change", "last_trade_price"),
            book(UP, "", &up_bids, &up_asks).replace(r#""book""#, r#""bo\u006fk""#),
        ];
        let mut direct_books = books();
        let mut tape_books = books();
        let mut parser = MarketChannelParser::new(ParserConfig::default());
        let mut tape_counters = FeedCounters::default();
        let (mut direct_log, mut tape_log) = (Log::default(), Log::default());
        for (n, f) in frames.iter().enumerate() {
            // Truncations too: every prefix must be handled the same way.
            let cuts = [f.len(), f.len() / 2, f.len() - 1];
            for cut in cuts {
                let frame = &f.as_bytes()[..cut];
                let a = parser.on_frame(frame, &mut direct_books, 7, &mut direct_log);
                let b = tape_only(frame, &mut tape_books, &mut tape_log, &mut tape_counters);
                assert_eq!(a, b, "frame {n} cut {cut}: {f}");
                let mut ca = *parser.counters();
                ca.fast_scans = 0;
                assert_eq!(ca, tape_counters, "frame {n} cut {cut}");
                assert_eq!(direct_books.counters(), tape_books.counters(), "frame {n}");
                assert_eq!(direct_log.0, tape_log.0, "frame {n}");
                for t in [TokenIdx(0), TokenIdx(1)] {
                    let (x, y) = (direct_books.book(t).unwrap(), tape_books.book(t).unwrap());
                    for side in [BookSide::Bid, BookSide::Ask] {
                        assert_eq!(x.best(side), y.best(side), "frame {n}");
                        assert_eq!(x.level_count(side), y.level_count(side), "frame {n}");
                    }
                    assert_eq!(x.is_stale(), y.is_stale(), "frame {n}");
                    assert_eq!(
                        x.is_awaiting_snapshot(),
                        y.is_awaiting_snapshot(),
                        "frame {n}"
                    );
                    assert_eq!(x.tick(), y.tick(), "frame {n}");
                }
            }
        }
        // The everyday shapes really took the direct path, and the check above saw errors,
        // stale marks and unknown assets, not only the happy path.
        assert!(parser.counters().fast_scans >= 20);
        assert!(tape_counters.errors >= 5 && tape_counters.unknown_assets >= 2);
        assert!(direct_books.counters().top_mismatches >= 1);
        assert!(direct_log.0.len() >= 25);
    }

    #[test]
    fn direct_decimals_match_parse_fixed() {
        for s in [
            "0",
            "0.48",
            "219.217767",
            "12",
            "00.5",
            ".5",
            "5.",
            "0.4800000",
            "0.4800001",
            "-0.5",
            "1e5",
            "0.4a",
            "",
            ".",
            "123456789012",
            "1234567890123",
            "999999999999.999999",
            "0.0000001",
        ] {
            assert_eq!(
                direct_micro(s.as_bytes()),
                parse_fixed(s.as_bytes(), SCALE).ok(),
                "{s}"
            );
        }
        for s in [
            "0.48",
            "12",
            "219.217767",
            ".5",
            "5.",
            "0.4800000",
            "0.4800001",
            "-0.5",
            "1e5",
            "",
            "123456789012",
            "1234567890123",
            "12345678901234567890123",
            "0.12345678901234567890",
            "999999999999.999999",
            "0.4a",
            "0.48\\",
            "0.48é",
        ] {
            let quoted = format!("\"{s}\",");
            let want = direct_str(quoted.as_bytes(), 0)
                .and_then(|(sp, next)| Some((direct_micro(sp.of(quoted.as_bytes()))?, next)));
            assert_eq!(direct_quoted_micro(quoted.as_bytes(), 0), want, "{s}");
            if let Some((_, next)) = want {
                assert_eq!(next, quoted.len() - 1);
            }
        }
        for s in [
            "0",
            "1790586001400",
            "18446744073709551615",
            "18446744073709551616",
            "1.0",
            "-1",
            "",
        ] {
            let want = parse_fixed(s.as_bytes(), 0)
                .ok()
                .and_then(|v| u64::try_from(v).ok());
            assert_eq!(direct_uint(s.as_bytes()), want, "{s}");
        }
    }

    #[test]
    fn tape_spans_skip_nested_values() {
        let mut s = br#"{"a":{"b":[1,2,{"c":3}]},"d":4}"#.to_vec();
        let tape = simd_json::to_tape(&mut s).unwrap();
        let nodes = &tape.0;
        assert_eq!(span(nodes, 0), nodes.len());
        // "a" at 1, its value at 2
        let after_a = 2 + span(nodes, 2);
        assert_eq!(nodes.get(after_a), Some(&Node::String("d")));
    }
}
