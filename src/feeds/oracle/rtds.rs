//! RTDS wire format: subscription frames out, price frames in.
//!
//! Outbound: [`write_subscription`] writes one `subscribe`/`unsubscribe` frame for one topic and
//! a set of assets into a caller buffer, with the filter as a JSON *string* holding compact JSON
//! (`"filters":"{\"symbol\":\"btc/usd\"}"`); one topic per frame because one bad topic poisons a
//! whole batch. The text `PING` keep-alive belongs to the WS layer.
//!
//! Inbound: [`RtdsParser`] owns a copy buffer, `simd_json::Buffers` and a tape sized for
//! `max_frame` at construction, so parsing allocates nothing afterwards; larger frames are
//! refused ([`OracleError::FrameTooLarge`]). Shapes understood:
//! * single update `{"topic","type","timestamp"(send ms),"payload":{"symbol","timestamp"(obs ms),
//!   "value","full_accuracy_value"(E18 integer string),"window_s"?}}`;
//! * batch/backfill `{"topic","type":"subscribe","payload":{"symbol","data":[{"timestamp",
//!   "value","full_accuracy_value"?},..]}}` (also when mislabelled with topic `crypto_prices` but
//!   carrying a Chainlink `xxx/usd` symbol);
//! * text `PONG`/`PING` (keep-alive), other topics (skipped), server notices without a topic
//!   (`message`/`error`/`statusCode`: returned as [`OracleError::ServerMessage`]; the exact RTDS
//!   error shape is not documented).
//!
//! The price is the exact `full_accuracy_value`; when only the float `value` is present the tick
//! is marked inexact. Both present and disagreeing beyond 1e-6 relative is an error. Every field
//! is type-checked (a quoted number or a numeric E18 value is [`OracleError::WrongType`]). A
//! batch is validated completely before any tick is delivered. Nothing here panics on input.

use simd_json::{Node, StaticNode, Tape};
use thiserror::Error;

use crate::feeds::tape::{elements, fields, is_object, Nodes};

use super::asset_from_chainlink_symbol;
use super::chainlink_symbol;
use crate::feeds::binance::records::Asset;

/// Default largest inbound frame accepted (a one-minute backfill is about 4 KB).
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;
/// Smallest `max_frame` a parser accepts.
pub const MIN_MAX_FRAME: usize = 64;
/// Earliest plausible observation time in ms (2001-09-09); smaller values are seconds or junk.
const MIN_TS_MS: u64 = 1_000_000_000_000;
/// Latest plausible observation time in ms (year 5138); larger values are µs or junk.
const MAX_TS_MS: u64 = 100_000_000_000_000;

/// The two Chainlink topics the monitor follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OracleTopic {
    /// `crypto_prices_chainlink`: Data Streams spot price, about 1 tick/s.
    Chainlink = 0,
    /// `crypto_prices_twap_sixty`: Chainlink 60 s TWAP.
    TwapSixty = 1,
}

impl OracleTopic {
    /// Number of topics (size of per-topic arrays).
    pub const COUNT: usize = 2;
    /// Every topic, in index order.
    pub const ALL: [OracleTopic; 2] = [OracleTopic::Chainlink, OracleTopic::TwapSixty];

    /// Topic name on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            OracleTopic::Chainlink => "crypto_prices_chainlink",
            OracleTopic::TwapSixty => "crypto_prices_twap_sixty",
        }
    }

    /// Dense index for per-topic arrays.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Subscription action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubAction {
    Subscribe,
    Unsubscribe,
}

/// Why a subscription frame could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FrameWriteError {
    #[error("output buffer too small for the subscription frame")]
    BufferTooSmall,
    #[error("no assets to subscribe")]
    NoAssets,
}

/// Write one RTDS (un)subscribe frame for `topic` and every asset in `assets` into `out`;
/// returns the frame length. Example for BTC on the Chainlink topic:
/// `{"action":"subscribe","subscriptions":[{"topic":"crypto_prices_chainlink","type":"*",
/// "filters":"{\"symbol\":\"btc/usd\"}"}]}` (no whitespace).
pub fn write_subscription(
    out: &mut [u8],
    action: SubAction,
    topic: OracleTopic,
    assets: &[Asset],
) -> Result<usize, FrameWriteError> {
    if assets.is_empty() {
        return Err(FrameWriteError::NoAssets);
    }
    let mut w = Cursor { out, len: 0 };
    w.put(b"{\"action\":\"")?;
    w.put(match action {
        SubAction::Subscribe => b"subscribe",
        SubAction::Unsubscribe => b"unsubscribe",
    })?;
    w.put(b"\",\"subscriptions\":[")?;
    for (i, asset) in assets.iter().enumerate() {
        if i > 0 {
            w.put(b",")?;
        }
        w.put(b"{\"topic\":\"")?;
        w.put(topic.name().as_bytes())?;
        w.put(b"\",\"type\":\"*\",\"filters\":\"{\\\"symbol\\\":\\\"")?;
        w.put(chainlink_symbol(*asset).as_bytes())?;
        w.put(b"\\\"}\"}")?;
    }
    w.put(b"]}")?;
    Ok(w.len)
}

struct Cursor<'o> {
    out: &'o mut [u8],
    len: usize,
}

impl Cursor<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), FrameWriteError> {
        let end = self.len + bytes.len();
        let dst = self
            .out
            .get_mut(self.len..end)
            .ok_or(FrameWriteError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// Why an inbound frame produced nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum OracleError {
    #[error("frame of {len} bytes exceeds the {max}-byte parse buffer")]
    FrameTooLarge { len: usize, max: usize },
    #[error("empty frame")]
    Empty,
    #[error("invalid or truncated JSON")]
    InvalidJson,
    #[error("frame is not a JSON object")]
    NotAnObject,
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("field `{0}` has the wrong JSON type")]
    WrongType(&'static str),
    #[error("unknown symbol")]
    UnknownSymbol,
    #[error("field `{0}` is not an exact integer")]
    BadInteger(&'static str),
    #[error("field `{0}` is not a finite number in range")]
    BadNumber(&'static str),
    #[error("observation timestamp out of range")]
    BadTimestamp,
    #[error("price is not positive")]
    NonPositivePrice,
    #[error("`value` and `full_accuracy_value` disagree")]
    ValueMismatch,
    #[error("TWAP window of {window_s} s on the sixty-second topic")]
    WindowMismatch { window_s: u64 },
    #[error("server notice or subscription error")]
    ServerMessage,
}

/// Error kinds, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OracleErrorKind {
    FrameTooLarge = 0,
    Empty,
    InvalidJson,
    NotAnObject,
    MissingField,
    WrongType,
    UnknownSymbol,
    BadInteger,
    BadNumber,
    BadTimestamp,
    NonPositivePrice,
    ValueMismatch,
    WindowMismatch,
    ServerMessage,
}

impl OracleErrorKind {
    /// Number of kinds.
    pub const COUNT: usize = 14;
}

impl OracleError {
    /// The counting bucket of this error.
    pub const fn kind(&self) -> OracleErrorKind {
        match self {
            OracleError::FrameTooLarge { .. } => OracleErrorKind::FrameTooLarge,
            OracleError::Empty => OracleErrorKind::Empty,
            OracleError::InvalidJson => OracleErrorKind::InvalidJson,
            OracleError::NotAnObject => OracleErrorKind::NotAnObject,
            OracleError::MissingField(_) => OracleErrorKind::MissingField,
            OracleError::WrongType(_) => OracleErrorKind::WrongType,
            OracleError::UnknownSymbol => OracleErrorKind::UnknownSymbol,
            OracleError::BadInteger(_) => OracleErrorKind::BadInteger,
            OracleError::BadNumber(_) => OracleErrorKind::BadNumber,
            OracleError::BadTimestamp => OracleErrorKind::BadTimestamp,
            OracleError::NonPositivePrice => OracleErrorKind::NonPositivePrice,
            OracleError::ValueMismatch => OracleErrorKind::ValueMismatch,
            OracleError::WindowMismatch { .. } => OracleErrorKind::WindowMismatch,
            OracleError::ServerMessage => OracleErrorKind::ServerMessage,
        }
    }
}

/// One decoded observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawTick {
    /// Chainlink observation time, Unix ms.
    pub obs_ms: u64,
    /// Price × 1e18.
    pub price_e18: i128,
    /// `true` when taken from `full_accuracy_value`; `false` when rounded from the float.
    pub exact: bool,
}

/// Topic, asset and send time shared by every tick of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead {
    pub topic: OracleTopic,
    pub asset: Asset,
    /// Outer `timestamp`: when RTDS sent the frame (ms), if present.
    pub send_ms: Option<u64>,
    /// `true` for the `payload.data[]` batch shape.
    pub batch: bool,
}

/// What a successfully parsed frame was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtdsMessage {
    /// `PONG` / `PING` text.
    Keepalive,
    /// A topic this monitor does not follow (counted and skipped).
    UnknownTopic,
    /// `count` ticks were delivered to the sink (0 for an empty batch).
    Ticks { head: FrameHead, count: u32 },
}

/// Allocation-free RTDS frame parser (one per connection).
pub struct RtdsParser {
    max_frame: usize,
    scratch: Vec<u8>,
    buffers: simd_json::Buffers,
    /// Always empty between calls; only its capacity is kept.
    tape: Vec<Node<'static>>,
}

impl RtdsParser {
    /// A parser accepting frames up to `max_frame` bytes (at least [`MIN_MAX_FRAME`]). Sizes
    /// every buffer for the worst case up front (allocates; call at start-up).
    #[cold]
    pub fn new(max_frame: usize) -> Self {
        let max_frame = max_frame.max(MIN_MAX_FRAME);
        let mut p = RtdsParser {
            max_frame,
            scratch: Vec::with_capacity(max_frame),
            buffers: simd_json::Buffers::new(max_frame),
            tape: Vec::with_capacity(max_frame),
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
        let _ = p.parse(&dense, &mut |_, _| {});
        p
    }

    /// Largest frame accepted.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Parse one text frame; every tick it carries goes to `sink` (only once the whole frame
    /// validated).
    pub fn parse<F: FnMut(&FrameHead, RawTick)>(
        &mut self,
        frame: &[u8],
        sink: &mut F,
    ) -> Result<RtdsMessage, OracleError> {
        let trimmed = frame.trim_ascii();
        if trimmed.is_empty() {
            return Err(OracleError::Empty);
        }
        if trimmed.eq_ignore_ascii_case(b"PONG") || trimmed.eq_ignore_ascii_case(b"PING") {
            return Ok(RtdsMessage::Keepalive);
        }
        if frame.len() > self.max_frame {
            return Err(OracleError::FrameTooLarge {
                len: frame.len(),
                max: self.max_frame,
            });
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(frame);
        let mut tape = Tape(std::mem::take(&mut self.tape)).reset();
        let res = match simd_json::fill_tape(&mut self.scratch, &mut self.buffers, &mut tape) {
            Ok(()) => decode(&tape.0, sink),
            Err(_) => Err(OracleError::InvalidJson),
        };
        self.tape = tape.reset().0;
        res
    }
}

// ---------------------------------------------------------------------------------------------
// Tape walking

#[inline]
fn get_str<'a>(
    nodes: Nodes<'_, 'a>,
    at: Option<usize>,
    name: &'static str,
) -> Result<Option<&'a [u8]>, OracleError> {
    match at {
        None => Ok(None),
        Some(i) => match nodes.get(i) {
            Some(Node::String(s)) => Ok(Some(s.as_bytes())),
            _ => Err(OracleError::WrongType(name)),
        },
    }
}

#[inline]
fn get_u64(
    nodes: Nodes<'_, '_>,
    at: Option<usize>,
    name: &'static str,
) -> Result<Option<u64>, OracleError> {
    match at {
        None => Ok(None),
        Some(i) => match nodes.get(i) {
            Some(Node::Static(StaticNode::U64(v))) => Ok(Some(*v)),
            Some(Node::Static(StaticNode::I64(v))) if *v >= 0 => Ok(Some(*v as u64)),
            _ => Err(OracleError::WrongType(name)),
        },
    }
}

#[inline]
fn get_f64(
    nodes: Nodes<'_, '_>,
    at: Option<usize>,
    name: &'static str,
) -> Result<Option<f64>, OracleError> {
    match at {
        None => Ok(None),
        Some(i) => match nodes.get(i) {
            Some(Node::Static(StaticNode::F64(v))) => Ok(Some(*v)),
            Some(Node::Static(StaticNode::U64(v))) => Ok(Some(*v as f64)),
            Some(Node::Static(StaticNode::I64(v))) => Ok(Some(*v as f64)),
            _ => Err(OracleError::WrongType(name)),
        },
    }
}

/// Exact signed decimal integer (`-?[0-9]+`, no sign-only, no leading `+`) into `i128`.
pub fn parse_e18(s: &[u8]) -> Option<i128> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i128 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
    }
    Some(if neg { -v } else { v })
}

// ---------------------------------------------------------------------------------------------
// Frame dispatch

fn decode<F: FnMut(&FrameHead, RawTick)>(
    nodes: Nodes<'_, '_>,
    sink: &mut F,
) -> Result<RtdsMessage, OracleError> {
    if !is_object(nodes, 0) {
        return Err(OracleError::NotAnObject);
    }
    let (mut topic, mut kind, mut ts, mut payload, mut notice) = (None, None, None, None, false);
    for (k, vi) in fields(nodes, 0) {
        match k {
            b"topic" => topic = Some(vi),
            b"type" => kind = Some(vi),
            b"timestamp" => ts = Some(vi),
            b"payload" => payload = Some(vi),
            b"message" | b"error" | b"statusCode" | b"status" => notice = true,
            _ => {}
        }
    }
    let Some(topic_name) = get_str(nodes, topic, "topic")? else {
        return Err(if notice {
            OracleError::ServerMessage
        } else {
            OracleError::MissingField("topic")
        });
    };
    get_str(nodes, kind, "type")?;
    let send_ms = get_u64(nodes, ts, "timestamp")?;
    let topic = match topic_name {
        b"crypto_prices_chainlink" => Some(OracleTopic::Chainlink),
        b"crypto_prices_twap_sixty" => Some(OracleTopic::TwapSixty),
        // Backfills of the Chainlink topic have been seen labelled `crypto_prices`; the symbol
        // (`btc/usd` vs `btcusdt`) tells them apart from the Binance relay.
        b"crypto_prices" => None,
        _ => return Ok(RtdsMessage::UnknownTopic),
    };
    let pi = payload.ok_or(OracleError::MissingField("payload"))?;
    if !is_object(nodes, pi) {
        return Err(OracleError::WrongType("payload"));
    }
    let (mut symbol, mut data) = (None, None);
    for (k, vi) in fields(nodes, pi) {
        match k {
            b"symbol" => symbol = Some(vi),
            b"data" => data = Some(vi),
            _ => {}
        }
    }
    let symbol = get_str(nodes, symbol, "symbol")?.ok_or(OracleError::MissingField("symbol"))?;
    let asset = asset_from_chainlink_symbol(symbol);
    let (topic, asset) = match (topic, asset) {
        (Some(t), Some(a)) => (t, a),
        (Some(_), None) => return Err(OracleError::UnknownSymbol),
        (None, Some(a)) => (OracleTopic::Chainlink, a),
        (None, None) => return Ok(RtdsMessage::UnknownTopic),
    };

    match data {
        None => {
            let tick = decode_point(nodes, pi, topic)?;
            let head = FrameHead {
                topic,
                asset,
                send_ms,
                batch: false,
            };
            sink(&head, tick);
            Ok(RtdsMessage::Ticks { head, count: 1 })
        }
        Some(di) => {
            if !matches!(nodes.get(di), Some(Node::Array { .. })) {
                return Err(OracleError::WrongType("data"));
            }
            let elems = || elements(nodes, di);
            for ei in elems() {
                if !is_object(nodes, ei) {
                    return Err(OracleError::WrongType("data"));
                }
                decode_point(nodes, ei, topic)?;
            }
            let head = FrameHead {
                topic,
                asset,
                send_ms,
                batch: true,
            };
            let mut n = 0u32;
            for ei in elems() {
                if let Ok(tick) = decode_point(nodes, ei, topic) {
                    sink(&head, tick);
                    n += 1;
                }
            }
            Ok(RtdsMessage::Ticks { head, count: n })
        }
    }
}

/// One observation object: `timestamp` (ms), `value` and/or `full_accuracy_value`, `window_s`?
fn decode_point(
    nodes: Nodes<'_, '_>,
    obj: usize,
    topic: OracleTopic,
) -> Result<RawTick, OracleError> {
    let (mut ts, mut value, mut fav, mut window) = (None, None, None, None);
    for (k, vi) in fields(nodes, obj) {
        match k {
            b"timestamp" => ts = Some(vi),
            b"value" => value = Some(vi),
            b"full_accuracy_value" => fav = Some(vi),
            b"window_s" => window = Some(vi),
            _ => {}
        }
    }
    let obs_ms = get_u64(nodes, ts, "timestamp")?.ok_or(OracleError::MissingField("timestamp"))?;
    if !(MIN_TS_MS..=MAX_TS_MS).contains(&obs_ms) {
        return Err(OracleError::BadTimestamp);
    }
    if let Some(w) = get_u64(nodes, window, "window_s")? {
        if topic == OracleTopic::TwapSixty && w != 60 {
            return Err(OracleError::WindowMismatch { window_s: w });
        }
    }
    let value = get_f64(nodes, value, "value")?;
    let exact = match get_str(nodes, fav, "full_accuracy_value")? {
        Some(s) => Some(parse_e18(s).ok_or(OracleError::BadInteger("full_accuracy_value"))?),
        None => None,
    };
    let (price_e18, exact) = match (exact, value) {
        (Some(p), v) => {
            if let Some(v) = v {
                let from_int = p as f64 / 1e18;
                if (from_int - v).abs() > 1e-6 * v.abs().max(1e-12) {
                    return Err(OracleError::ValueMismatch);
                }
            }
            (p, true)
        }
        (None, Some(v)) => {
            if !v.is_finite() || v.abs() >= 1e18 {
                return Err(OracleError::BadNumber("value"));
            }
            ((v * 1e18).round() as i128, false)
        }
        (None, None) => return Err(OracleError::MissingField("full_accuracy_value")),
    };
    if price_e18 <= 0 {
        return Err(OracleError::NonPositivePrice);
    }
    Ok(RawTick {
        obs_ms,
        price_e18,
        exact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_frame_exact_text() {
        let mut buf = [0u8; 512];
        let n = write_subscription(
            &mut buf,
            SubAction::Subscribe,
            OracleTopic::Chainlink,
            &[Asset::Btc, Asset::Eth],
        )
        .unwrap();
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            r#"{"action":"subscribe","subscriptions":[{"topic":"crypto_prices_chainlink","type":"*","filters":"{\"symbol\":\"btc/usd\"}"},{"topic":"crypto_prices_chainlink","type":"*","filters":"{\"symbol\":\"eth/usd\"}"}]}"#
        );
        // The filter is a JSON string whose content is compact JSON.
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        let f = v["subscriptions"][1]["filters"].as_str().unwrap();
        let inner: serde_json::Value = serde_json::from_str(f).unwrap();
        assert_eq!(inner["symbol"], "eth/usd");

        let n = write_subscription(
            &mut buf,
            SubAction::Unsubscribe,
            OracleTopic::TwapSixty,
            &[Asset::Xrp],
        )
        .unwrap();
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            r#"{"action":"unsubscribe","subscriptions":[{"topic":"crypto_prices_twap_sixty","type":"*","filters":"{\"symbol\":\"xrp/usd\"}"}]}"#
        );
    }

    #[test]
    fn subscription_frame_errors() {
        let mut small = [0u8; 40];
        assert_eq!(
            write_subscription(
                &mut small,
                SubAction::Subscribe,
                OracleTopic::Chainlink,
                &Asset::ALL
            ),
            Err(FrameWriteError::BufferTooSmall)
        );
        let mut buf = [0u8; 1024];
        assert_eq!(
            write_subscription(&mut buf, SubAction::Subscribe, OracleTopic::Chainlink, &[]),
            Err(FrameWriteError::NoAssets)
        );
        let n = write_subscription(
            &mut buf,
            SubAction::Subscribe,
            OracleTopic::Chainlink,
            &Asset::ALL,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(v["subscriptions"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn e18_integers() {
        assert_eq!(
            parse_e18(b"63304200301195075000000"),
            Some(63_304_200_301_195_075_000_000)
        );
        assert_eq!(parse_e18(b"-5"), Some(-5));
        assert_eq!(parse_e18(b"0"), Some(0));
        assert_eq!(parse_e18(b""), None);
        assert_eq!(parse_e18(b"-"), None);
        assert_eq!(parse_e18(b"+5"), None);
        assert_eq!(parse_e18(b"1.5"), None);
        assert_eq!(parse_e18(b"1e18"), None);
        assert_eq!(
            parse_e18(b"999999999999999999999999999999999999999999"),
            None
        );
    }
}
