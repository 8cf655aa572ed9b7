//! The account event shapes shared by the user channel (`order` / `trade` events, protocol §5)
//! and the REST ledger (`/data/orders`, `/data/order/<id>`, `/data/trades`): borrowed views
//! deserialized without allocation, plus their closed status sets.
//!
//! Invariants: unknown fields are ignored; unknown status strings map to an `Other` variant
//! (never a panic); a trade carries at most [`MAX_MAKER_ORDERS`] maker legs (more is a parse
//! error, counted by the caller, since silently dropping a leg could lose one of our fills).

use std::borrow::Cow;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::json::{LooseU64, Micros};
use crate::exec::signing::amounts::Side;

/// Maker legs kept per trade event.
pub const MAX_MAKER_ORDERS: usize = 32;

/// `event_type` of a user-channel message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `order`.
    Order,
    /// `trade`.
    Trade,
    /// Anything else (ignored, counted).
    Other,
}

/// `type` of an `order` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderEventType {
    /// `PLACEMENT`.
    Placement,
    /// `UPDATE` (a fill changed `size_matched`).
    Update,
    /// `CANCELLATION`.
    Cancellation,
    /// Absent (REST ledger rows) or unknown.
    None,
}

/// Venue order status (order events and REST rows; case-insensitive, `ORDER_STATUS_` prefix
/// accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VenueOrderStatus {
    /// `LIVE`: resting.
    Live,
    /// `MATCHED`: fully matched.
    Matched,
    /// `DELAYED`: held by the taker delay.
    Delayed,
    /// `UNMATCHED`: accepted but not matched (e.g. FAK/FOK remainder, delay over).
    Unmatched,
    /// `CANCELED` and every `CANCELED_*` reason.
    Canceled,
    /// `INVALID`.
    Invalid,
    /// Unknown or absent.
    Other,
}

impl VenueOrderStatus {
    /// Classify a status string.
    pub fn parse(s: &str) -> VenueOrderStatus {
        let s = strip_prefix_ignore_case(s, "ORDER_STATUS_");
        if s.eq_ignore_ascii_case("live") {
            VenueOrderStatus::Live
        } else if s.eq_ignore_ascii_case("matched") {
            VenueOrderStatus::Matched
        } else if s.eq_ignore_ascii_case("delayed") {
            VenueOrderStatus::Delayed
        } else if s.eq_ignore_ascii_case("unmatched") {
            VenueOrderStatus::Unmatched
        } else if s.len() >= 8 && s[..8].eq_ignore_ascii_case("canceled") {
            VenueOrderStatus::Canceled
        } else if s.eq_ignore_ascii_case("invalid") {
            VenueOrderStatus::Invalid
        } else {
            VenueOrderStatus::Other
        }
    }
}

/// Settlement status of a trade: `MATCHED → MINED → CONFIRMED`, `RETRYING → FAILED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TradeStatus {
    /// Matched off-chain, not yet mined (also `MATCHED_NOT_BROADCASTED`).
    Matched,
    /// Mined, not yet final.
    Mined,
    /// Final.
    Confirmed,
    /// The transaction reverted or was re-orged; being retried.
    Retrying,
    /// Terminal failure: the fill did not happen.
    Failed,
    /// Unknown.
    Other,
}

impl TradeStatus {
    /// Classify (case-insensitive, `TRADE_STATUS_` prefix accepted).
    pub fn parse(s: &str) -> TradeStatus {
        let s = strip_prefix_ignore_case(s, "TRADE_STATUS_");
        if s.eq_ignore_ascii_case("matched") || s.eq_ignore_ascii_case("matched_not_broadcasted") {
            TradeStatus::Matched
        } else if s.eq_ignore_ascii_case("mined") {
            TradeStatus::Mined
        } else if s.eq_ignore_ascii_case("confirmed") {
            TradeStatus::Confirmed
        } else if s.eq_ignore_ascii_case("retrying") {
            TradeStatus::Retrying
        } else if s.eq_ignore_ascii_case("failed") {
            TradeStatus::Failed
        } else {
            TradeStatus::Other
        }
    }

    /// Terminal states.
    pub fn is_terminal(self) -> bool {
        matches!(self, TradeStatus::Confirmed | TradeStatus::Failed)
    }
}

fn strip_prefix_ignore_case<'s>(s: &'s str, prefix: &str) -> &'s str {
    match s.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &s[prefix.len()..],
        _ => s,
    }
}

/// Parse `BUY`/`SELL` case-insensitively.
pub fn parse_side(s: &str) -> Option<Side> {
    if s.eq_ignore_ascii_case("buy") {
        Some(Side::Buy)
    } else if s.eq_ignore_ascii_case("sell") {
        Some(Side::Sell)
    } else {
        None
    }
}

/// A user-channel `order` event, or a REST open-order row (same field names).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrderEvent<'a> {
    /// `event_type` (`"order"` on the channel, absent in REST).
    #[serde(borrow)]
    pub event_type: Cow<'a, str>,
    /// `PLACEMENT` / `UPDATE` / `CANCELLATION`.
    #[serde(borrow, rename = "type")]
    pub kind: Cow<'a, str>,
    /// Order id (`0x` digest).
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// API key owning the order.
    #[serde(borrow)]
    pub owner: Cow<'a, str>,
    /// Condition id.
    #[serde(borrow)]
    pub market: Cow<'a, str>,
    /// Token id (decimal).
    #[serde(borrow)]
    pub asset_id: Cow<'a, str>,
    /// `BUY` / `SELL`.
    #[serde(borrow)]
    pub side: Cow<'a, str>,
    /// Original size, shares.
    pub original_size: Micros,
    /// Cumulative matched size, shares.
    pub size_matched: Micros,
    /// Limit price.
    pub price: Micros,
    /// Venue status.
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    /// GTC/GTD/FOK/FAK.
    #[serde(borrow)]
    pub order_type: Cow<'a, str>,
    /// Epoch ms (string) of the event.
    pub timestamp: LooseU64,
}

impl OrderEvent<'_> {
    /// The `type` field, classified.
    pub fn event_type(&self) -> OrderEventType {
        let k = self.kind.as_ref();
        if k.eq_ignore_ascii_case("placement") {
            OrderEventType::Placement
        } else if k.eq_ignore_ascii_case("update") {
            OrderEventType::Update
        } else if k.eq_ignore_ascii_case("cancellation") {
            OrderEventType::Cancellation
        } else {
            OrderEventType::None
        }
    }
    /// The `status` field, classified.
    pub fn venue_status(&self) -> VenueOrderStatus {
        VenueOrderStatus::parse(&self.status)
    }
}

/// One maker leg of a trade.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct MakerOrder<'a> {
    /// The maker order's id.
    #[serde(borrow)]
    pub order_id: Cow<'a, str>,
    /// API key owning it.
    #[serde(borrow)]
    pub owner: Cow<'a, str>,
    /// Shares matched against this maker order.
    pub matched_amount: Micros,
    /// The maker order's price.
    pub price: Micros,
    /// Token the maker traded.
    #[serde(borrow)]
    pub asset_id: Cow<'a, str>,
    /// The maker's side.
    #[serde(borrow)]
    pub side: Cow<'a, str>,
}

/// Up to [`MAX_MAKER_ORDERS`] maker legs, stored inline.
#[derive(Clone, Debug)]
pub struct MakerOrders<'a> {
    items: [MakerOrder<'a>; MAX_MAKER_ORDERS],
    len: usize,
}

impl Default for MakerOrders<'_> {
    fn default() -> Self {
        Self {
            items: std::array::from_fn(|_| MakerOrder::default()),
            len: 0,
        }
    }
}

impl<'a> MakerOrders<'a> {
    /// The legs.
    pub fn as_slice(&self) -> &[MakerOrder<'a>] {
        &self.items[..self.len]
    }
}

struct MakerOrdersVisitor;

impl<'de> Visitor<'de> for MakerOrdersVisitor {
    type Value = MakerOrders<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of maker orders")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MakerOrders<'de>, A::Error> {
        let mut out = MakerOrders::default();
        while let Some(item) = seq.next_element::<MakerOrder<'de>>()? {
            let slot = out
                .items
                .get_mut(out.len)
                .ok_or_else(|| de::Error::custom("too many maker orders"))?;
            *slot = item;
            out.len += 1;
        }
        Ok(out)
    }
    fn visit_unit<E: de::Error>(self) -> Result<MakerOrders<'de>, E> {
        Ok(MakerOrders::default())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for MakerOrders<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MakerOrders<'a>, D::Error> {
        d.deserialize_any(MakerOrdersVisitor)
    }
}

/// A user-channel `trade` event, or a REST `/data/trades` row.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TradeEvent<'a> {
    /// `event_type` (`"trade"` on the channel).
    #[serde(borrow)]
    pub event_type: Cow<'a, str>,
    /// Trade id.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// The taker order's id.
    #[serde(borrow)]
    pub taker_order_id: Cow<'a, str>,
    /// Condition id.
    #[serde(borrow)]
    pub market: Cow<'a, str>,
    /// Token the taker traded.
    #[serde(borrow)]
    pub asset_id: Cow<'a, str>,
    /// Taker side.
    #[serde(borrow)]
    pub side: Cow<'a, str>,
    /// Shares.
    pub size: Micros,
    /// Price.
    pub price: Micros,
    /// Fee rate in basis points (informational in V2).
    pub fee_rate_bps: LooseU64,
    /// Settlement status.
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    /// Our role: `TAKER` / `MAKER`.
    #[serde(borrow)]
    pub trader_side: Cow<'a, str>,
    /// API key of the taker.
    #[serde(borrow)]
    pub owner: Cow<'a, str>,
    /// Maker legs.
    #[serde(borrow)]
    pub maker_orders: MakerOrders<'a>,
    /// Split index of a large match.
    pub bucket_index: LooseU64,
    /// Time of the match (`match_time`).
    pub match_time: LooseU64,
    /// The same under its other spelling (`matchtime`); venues may send both, so it is a
    /// field of its own rather than an alias (an alias makes both together a duplicate).
    pub matchtime: LooseU64,
}

impl TradeEvent<'_> {
    /// The `status` field, classified.
    pub fn trade_status(&self) -> TradeStatus {
        TradeStatus::parse(&self.status)
    }
}

/// Only the discriminator, to route a frame element.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Discriminator<'a> {
    #[serde(borrow)]
    event_type: Cow<'a, str>,
}

/// One element of a user-channel frame: an event, or an ignored kind.
#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "a short-lived stack value; boxing the trade would allocate per event"
)]
pub enum UserMessage<'a> {
    /// An `order` event.
    Order(OrderEvent<'a>),
    /// A `trade` event.
    Trade(TradeEvent<'a>),
    /// Another `event_type` (ignored, counted).
    Other,
}

/// Classify and parse one event object's bytes.
pub fn classify_element(bytes: &[u8]) -> Result<UserMessage<'_>, serde_json::Error> {
    let d: Discriminator<'_> = serde_json::from_slice(bytes)?;
    if d.event_type.eq_ignore_ascii_case("order") {
        Ok(UserMessage::Order(serde_json::from_slice(bytes)?))
    } else if d.event_type.eq_ignore_ascii_case("trade") {
        Ok(UserMessage::Trade(serde_json::from_slice(bytes)?))
    } else {
        Ok(UserMessage::Other)
    }
}

/// Split a frame (one object, or an array of objects) into the byte ranges of its top-level
/// objects without allocating, calling `f` with each; returns how many. Strings (with escapes)
/// are skipped correctly; unbalanced or truncated input is an error.
pub fn split_frame(frame: &[u8], mut f: impl FnMut(&[u8])) -> Result<usize, FrameError> {
    let start = frame
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or(FrameError::Empty)?;
    let body = &frame[start..];
    match body.first() {
        Some(b'{') => {
            let end = object_end(body, 0)?;
            if !body[end..].iter().all(u8::is_ascii_whitespace) {
                return Err(FrameError::TrailingBytes);
            }
            f(&body[..end]);
            Ok(1)
        }
        Some(b'[') => {
            let mut i = 1;
            let mut n = 0;
            loop {
                while body
                    .get(i)
                    .is_some_and(|b| b.is_ascii_whitespace() || *b == b',')
                {
                    i += 1;
                }
                match body.get(i) {
                    Some(b']') => {
                        if !body[i + 1..].iter().all(u8::is_ascii_whitespace) {
                            return Err(FrameError::TrailingBytes);
                        }
                        return Ok(n);
                    }
                    Some(b'{') => {
                        let end = object_end(body, i)?;
                        f(&body[i..end]);
                        n += 1;
                        i = end;
                    }
                    Some(_) => return Err(FrameError::NotAnObject),
                    None => return Err(FrameError::Truncated),
                }
            }
        }
        _ => Err(FrameError::NotAnObject),
    }
}

/// Index one past the `}` closing the object starting at `body[open]`.
fn object_end(body: &[u8], open: usize) -> Result<usize, FrameError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in body.iter().enumerate().skip(open) {
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
                depth = depth.checked_sub(1).ok_or(FrameError::Unbalanced)?;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
    }
    Err(FrameError::Truncated)
}

/// A frame that is not an object or an array of objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Only whitespace.
    #[error("empty frame")]
    Empty,
    /// Ends inside an object or string.
    #[error("truncated frame")]
    Truncated,
    /// More closing than opening brackets.
    #[error("unbalanced brackets")]
    Unbalanced,
    /// Not an object (or an array of objects).
    #[error("frame element is not an object")]
    NotAnObject,
    /// Bytes after the value.
    #[error("trailing bytes after the frame")]
    TrailingBytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_frames() {
        assert_eq!(
            TradeStatus::parse("TRADE_STATUS_CONFIRMED"),
            TradeStatus::Confirmed
        );
        assert_eq!(
            VenueOrderStatus::parse("CANCELED_MARKET_RESOLVED"),
            VenueOrderStatus::Canceled
        );
        let mut seen = Vec::new();
        let n = split_frame(br#"[{"a":"}"},{"b":[1,{"c":2}]}]"#, |e| {
            seen.push(e.to_vec())
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(seen[0], br#"{"a":"}"}"#.to_vec());
        assert_eq!(
            split_frame(br#"[{"a":1}"#, |_| {}),
            Err(FrameError::Truncated)
        );
        assert_eq!(split_frame(b"PONG", |_| {}), Err(FrameError::NotAnObject));
    }
}
