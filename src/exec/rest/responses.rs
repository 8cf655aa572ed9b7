//! Typed REST responses. Order-path answers (`POST /order`, `POST /orders`, cancels,
//! `GET /data/order/<id>`) are parsed without allocation into fixed-size values or visited
//! with callbacks; the rest (books, pages, balances, credentials) are owned structs for the
//! risk thread and the CLI.
//!
//! Invariants: the acceptance rule is the unified SDK's — `success && errorMsg == "" &&
//! orderID != ""` and status live/matched/delayed ([`OrderAck::accepted`]); a batch leg with
//! `success:true` but an empty `orderID` is *not* accepted; unknown fields are ignored;
//! malformed bodies are a [`ParseError`], never a panic.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::errors::{is_delayed_message, OrderRejectReason};
use crate::exec::events::{OrderEvent, TradeEvent};
use crate::exec::json::{for_each_element, parse_order_id, CountSeq, LooseU64, Micros, OrderId};

/// A body that does not have the documented shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed response body at line {line} column {column}")]
pub struct ParseError {
    /// 1-based line of the failure.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl From<serde_json::Error> for ParseError {
    fn from(e: serde_json::Error) -> Self {
        ParseError {
            line: e.line(),
            column: e.column(),
        }
    }
}

/// `status` of an order response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    /// Resting on the book.
    Live,
    /// Matched (fully or partly) on arrival.
    Matched,
    /// Held by the taker delay; will be matched or go live later.
    Delayed,
    /// Accepted but not matched (FAK/FOK/market remainder).
    Unmatched,
    /// Absent or unknown.
    Other,
}

impl OrderStatus {
    fn parse(s: &str) -> OrderStatus {
        if s.eq_ignore_ascii_case("live") {
            OrderStatus::Live
        } else if s.eq_ignore_ascii_case("matched") {
            OrderStatus::Matched
        } else if s.eq_ignore_ascii_case("delayed") {
            OrderStatus::Delayed
        } else if s.eq_ignore_ascii_case("unmatched") {
            OrderStatus::Unmatched
        } else {
            OrderStatus::Other
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawOrderResponse<'a> {
    success: bool,
    #[serde(borrow, rename = "errorMsg")]
    error_msg: Cow<'a, str>,
    #[serde(borrow, rename = "orderID", alias = "orderId")]
    order_id: Cow<'a, str>,
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(rename = "makingAmount")]
    making_amount: Micros,
    #[serde(rename = "takingAmount")]
    taking_amount: Micros,
    #[serde(rename = "tradeIDs", alias = "tradeIds")]
    trade_ids: CountSeq,
    #[serde(rename = "transactionsHashes")]
    transactions_hashes: CountSeq,
}

/// One order's answer (single `POST /order`, or one leg of `POST /orders`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderAck {
    /// `success`.
    pub success: bool,
    /// `errorMsg` classified (`None` when empty or the informational "delayed" message).
    pub error: Option<OrderRejectReason>,
    /// `errorMsg` was the "match delayed" notice.
    pub delayed_notice: bool,
    /// `orderID` (`None` when empty or not a 32-byte hex digest).
    pub order_id: Option<OrderId>,
    /// `status`.
    pub status: OrderStatus,
    /// `makingAmount` in micro-units (0 when `""`).
    pub making_micros: u64,
    /// `takingAmount` in micro-units (0 when `""`).
    pub taking_micros: u64,
    /// Number of `tradeIDs`.
    pub trade_ids: u32,
    /// Number of `transactionsHashes`.
    pub transaction_hashes: u32,
}

impl OrderAck {
    /// The venue accepted the order: `success && errorMsg == "" && orderID != ""` and status
    /// live/matched/delayed (the delayed notice counts as no error).
    pub fn accepted(&self) -> bool {
        self.success
            && self.error.is_none()
            && self.order_id.is_some()
            && matches!(
                self.status,
                OrderStatus::Live | OrderStatus::Matched | OrderStatus::Delayed
            )
    }

    fn from_raw(raw: &RawOrderResponse<'_>) -> OrderAck {
        let msg = raw.error_msg.trim();
        let delayed_notice = !msg.is_empty() && is_delayed_message(msg);
        OrderAck {
            success: raw.success,
            error: (!msg.is_empty() && !delayed_notice).then(|| OrderRejectReason::classify(msg)),
            delayed_notice,
            order_id: parse_order_id(&raw.order_id),
            status: OrderStatus::parse(&raw.status),
            making_micros: raw.making_amount.0,
            taking_micros: raw.taking_amount.0,
            trade_ids: raw.trade_ids.0,
            transaction_hashes: raw.transactions_hashes.0,
        }
    }
}

/// Parse a `POST /order` answer.
pub fn parse_order_response(body: &[u8]) -> Result<OrderAck, ParseError> {
    let raw: RawOrderResponse<'_> = serde_json::from_slice(body)?;
    Ok(OrderAck::from_raw(&raw))
}

/// Visit a `POST /orders` answer leg by leg (`f(index, ack)`, in request order); returns the
/// number of legs. A single object is treated as a one-leg answer.
pub fn parse_batch_response(
    body: &[u8],
    mut f: impl FnMut(usize, OrderAck),
) -> Result<usize, ParseError> {
    let mut i = 0;
    let n = for_each_element(body, |raw: RawOrderResponse<'_>| {
        f(i, OrderAck::from_raw(&raw));
        i += 1;
    })?;
    Ok(n)
}

/// The `error` (or `errorMsg` / `error_msg`) text of an error body, borrowed when unescaped.
pub fn error_message(body: &[u8]) -> Option<&str> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ErrorBody<'a> {
        #[serde(borrow, alias = "errorMsg", alias = "error_msg")]
        error: Option<&'a str>,
    }
    serde_json::from_slice::<ErrorBody<'_>>(body).ok()?.error
}

/// Totals of a cancel answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CancelSummary {
    /// Ids in `canceled`.
    pub canceled: usize,
    /// Ids in `not_canceled`.
    pub not_canceled: usize,
    /// Ids that were not 32-byte hex digests (skipped).
    pub bad_ids: usize,
}

/// Visit a cancel answer `{"canceled":[ids],"not_canceled":{id: reason}}`: `f(id, None)` for
/// each canceled id, `f(id, Some(reason))` for each refused one.
pub fn parse_cancel_response(
    body: &[u8],
    mut f: impl FnMut(OrderId, Option<&str>),
) -> Result<CancelSummary, ParseError> {
    let mut summary = CancelSummary::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    de::Deserializer::deserialize_map(
        &mut de,
        CancelVisitor {
            f: &mut f,
            summary: &mut summary,
        },
    )?;
    de.end()?;
    Ok(summary)
}

struct CancelVisitor<'f, F> {
    f: &'f mut F,
    summary: &'f mut CancelSummary,
}

impl<'de, F: FnMut(OrderId, Option<&str>)> Visitor<'de> for CancelVisitor<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a cancel answer object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "canceled" => map.next_value_seed(CanceledSeed {
                    f: &mut *self.f,
                    summary: &mut *self.summary,
                })?,
                "not_canceled" => map.next_value_seed(NotCanceledSeed {
                    f: &mut *self.f,
                    summary: &mut *self.summary,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct CanceledSeed<'f, F> {
    f: &'f mut F,
    summary: &'f mut CancelSummary,
}

impl<'de, F: FnMut(OrderId, Option<&str>)> DeserializeSeed<'de> for CanceledSeed<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(OrderId, Option<&str>)> Visitor<'de> for CanceledSeed<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of order ids")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(id) = seq.next_element::<Cow<'de, str>>()? {
            match parse_order_id(&id) {
                Some(id) => {
                    self.summary.canceled += 1;
                    (self.f)(id, None);
                }
                None => self.summary.bad_ids += 1,
            }
        }
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

struct NotCanceledSeed<'f, F> {
    f: &'f mut F,
    summary: &'f mut CancelSummary,
}

impl<'de, F: FnMut(OrderId, Option<&str>)> DeserializeSeed<'de> for NotCanceledSeed<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(OrderId, Option<&str>)> Visitor<'de> for NotCanceledSeed<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of order id to reason")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(id) = map.next_key::<Cow<'de, str>>()? {
            let reason = map.next_value::<Option<Cow<'de, str>>>()?;
            match parse_order_id(&id) {
                Some(id) => {
                    self.summary.not_canceled += 1;
                    (self.f)(id, Some(reason.as_deref().unwrap_or("")));
                }
                None => self.summary.bad_ids += 1,
            }
        }
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// `GET /data/order/<id>`: the order row, or `None` when the venue does not know the id
/// (`null`, `{}` or an empty body).
pub fn parse_single_order(body: &[u8]) -> Result<Option<OrderEvent<'_>>, ParseError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let row: Option<OrderEvent<'_>> = serde_json::from_slice(body)?;
    Ok(row.filter(|r| !r.id.is_empty()))
}

/// Cursor of the first page.
pub const FIRST_CURSOR: &str = "MA==";
/// Cursor meaning "no more pages".
pub const END_CURSOR: &str = "LTE=";

/// Header of a paginated answer (`{limit, next_cursor, count, data}`), rows visited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// `next_cursor` ([`END_CURSOR`] on the last page).
    pub next_cursor: String,
    /// `count` as sent.
    pub count: u64,
    /// `limit` as sent.
    pub limit: u64,
    /// Rows visited.
    pub rows: usize,
}

impl Page {
    /// No further page.
    pub fn is_last(&self) -> bool {
        self.next_cursor.is_empty() || self.next_cursor == END_CURSOR
    }
}

/// Visit a `/data/orders` page row by row.
pub fn parse_orders_page(body: &[u8], f: impl FnMut(OrderEvent<'_>)) -> Result<Page, ParseError> {
    parse_page(body, f)
}

/// Visit a `/data/trades` page row by row.
pub fn parse_trades_page(body: &[u8], f: impl FnMut(TradeEvent<'_>)) -> Result<Page, ParseError> {
    parse_page(body, f)
}

fn parse_page<'de, T: Deserialize<'de>>(
    body: &'de [u8],
    mut f: impl FnMut(T),
) -> Result<Page, ParseError> {
    let mut page = Page::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    de::Deserializer::deserialize_map(
        &mut de,
        PageVisitor {
            f: &mut f,
            page: &mut page,
            _t: std::marker::PhantomData::<fn() -> T>,
        },
    )?;
    de.end()?;
    Ok(page)
}

struct PageVisitor<'f, T, F> {
    f: &'f mut F,
    page: &'f mut Page,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>, F: FnMut(T)> Visitor<'de> for PageVisitor<'_, T, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a page object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "next_cursor" => {
                    let c = map.next_value::<Option<Cow<'de, str>>>()?;
                    self.page.next_cursor = c.map(Cow::into_owned).unwrap_or_default();
                }
                "count" => self.page.count = map.next_value::<LooseU64>()?.0,
                "limit" => self.page.limit = map.next_value::<LooseU64>()?.0,
                "data" => {
                    let mut rows = 0usize;
                    map.next_value_seed(crate::exec::json::EachSeed::<T, F>::new(
                        &mut *self.f,
                        &mut rows,
                    ))?;
                    self.page.rows = rows;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// One price level of a book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct BookLevel {
    /// Price.
    pub price: Micros,
    /// Shares.
    pub size: Micros,
}

/// `GET /book`, levels sorted best first (bids descending, asks ascending) whatever the wire
/// order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BookSummary {
    /// Condition id.
    pub market: String,
    /// Token id.
    pub asset_id: String,
    /// Epoch ms.
    pub timestamp: LooseU64,
    /// Book hash.
    pub hash: String,
    /// Bids.
    pub bids: Vec<BookLevel>,
    /// Asks.
    pub asks: Vec<BookLevel>,
    /// Minimum order size, shares.
    pub min_order_size: Micros,
    /// Tick size.
    pub tick_size: Micros,
    /// Neg-risk market.
    pub neg_risk: bool,
    /// Last trade price.
    pub last_trade_price: Micros,
}

/// Parse `GET /book` and sort its levels best first.
pub fn parse_book(body: &[u8]) -> Result<BookSummary, ParseError> {
    let mut book: BookSummary = serde_json::from_slice(body)?;
    book.bids.sort_by_key(|b| std::cmp::Reverse(b.price));
    book.asks.sort_by_key(|a| a.price);
    Ok(book)
}

/// `GET /price` → price.
pub fn parse_price(body: &[u8]) -> Result<Micros, ParseError> {
    #[derive(Deserialize)]
    struct P {
        price: Micros,
    }
    Ok(serde_json::from_slice::<P>(body)?.price)
}

/// `GET /midpoint` → mid (`mid`, or `mid_price` as one docs page shows).
pub fn parse_midpoint(body: &[u8]) -> Result<Micros, ParseError> {
    #[derive(Deserialize)]
    struct M {
        #[serde(alias = "mid_price")]
        mid: Micros,
    }
    Ok(serde_json::from_slice::<M>(body)?.mid)
}

/// `GET /tick-size` → minimum tick size (a JSON number or string).
pub fn parse_tick_size(body: &[u8]) -> Result<Micros, ParseError> {
    #[derive(Deserialize)]
    struct T {
        minimum_tick_size: Micros,
    }
    Ok(serde_json::from_slice::<T>(body)?.minimum_tick_size)
}

/// `GET /time` → server unix seconds (a plain integer, or a quoted one).
pub fn parse_time(body: &[u8]) -> Result<u64, ParseError> {
    Ok(serde_json::from_slice::<LooseU64>(body)?.0)
}

/// `GET /version` → exchange version.
pub fn parse_version(body: &[u8]) -> Result<u64, ParseError> {
    #[derive(Deserialize)]
    struct V {
        version: LooseU64,
    }
    Ok(serde_json::from_slice::<V>(body)?.version.0)
}

/// One outcome token of a `/clob-markets` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ClobToken {
    /// Token id.
    #[serde(rename = "t")]
    pub token_id: String,
    /// Outcome label (`Up` / `Down`).
    #[serde(rename = "o")]
    pub outcome: String,
}

/// Fee parameters `fd`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FeeDetails {
    /// Rate in micro-units (0.072 → 72_000).
    #[serde(rename = "r")]
    pub rate: Micros,
    /// Exponent.
    #[serde(rename = "e")]
    pub exponent: LooseU64,
    /// Taker-only.
    #[serde(rename = "to")]
    pub taker_only: bool,
}

/// `GET /clob-markets/<condition_id>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ClobMarketInfo {
    /// Condition id.
    #[serde(rename = "c")]
    pub condition_id: String,
    /// Outcome tokens.
    #[serde(rename = "t")]
    pub tokens: Vec<ClobToken>,
    /// Minimum tick size.
    #[serde(rename = "mts")]
    pub tick_size: Micros,
    /// Neg-risk.
    #[serde(rename = "nr")]
    pub neg_risk: bool,
    /// Fee parameters.
    #[serde(rename = "fd")]
    pub fees: FeeDetails,
}

/// Parse `GET /clob-markets/<id>`.
pub fn parse_clob_market(body: &[u8]) -> Result<ClobMarketInfo, ParseError> {
    Ok(serde_json::from_slice(body)?)
}

/// `GET /balance-allowance`: balance in collateral/token base units (6 decimals), i.e.
/// micro-units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BalanceAllowance {
    /// Balance, micro-units.
    pub balance_micros: u64,
}

/// Parse `GET /balance-allowance` (`{"balance":"<base units>","allowances":{...}}`).
pub fn parse_balance_allowance(body: &[u8]) -> Result<BalanceAllowance, ParseError> {
    #[derive(Deserialize)]
    struct B {
        balance: LooseU64,
    }
    Ok(BalanceAllowance {
        balance_micros: serde_json::from_slice::<B>(body)?.balance.0,
    })
}

/// Answer of `POST /v1/heartbeats`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeartbeatAnswer {
    /// Accepted; send this id next.
    Accepted {
        /// The id to send next.
        heartbeat_id: String,
    },
    /// `{"error_msg":"Invalid Heartbeat ID","heartbeat_id":X}`: continue with X.
    InvalidId {
        /// The id the venue expects.
        expected_id: String,
    },
    /// Another error message.
    Error {
        /// The message.
        message: String,
    },
}

/// Parse a heartbeat answer.
pub fn parse_heartbeat(body: &[u8]) -> Result<HeartbeatAnswer, ParseError> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct H {
        heartbeat_id: Option<String>,
        #[serde(alias = "error", alias = "errorMsg")]
        error_msg: Option<String>,
    }
    let h: H = serde_json::from_slice(body)?;
    match (h.error_msg.filter(|m| !m.is_empty()), h.heartbeat_id) {
        (None, Some(id)) => Ok(HeartbeatAnswer::Accepted { heartbeat_id: id }),
        (Some(m), Some(id)) if m.to_ascii_lowercase().contains("invalid heartbeat id") => {
            Ok(HeartbeatAnswer::InvalidId { expected_id: id })
        }
        (Some(message), _) => Ok(HeartbeatAnswer::Error { message }),
        (None, None) => Err(ParseError { line: 1, column: 1 }),
    }
}

/// API credentials returned by `/auth/derive-api-key` and `/auth/api-key`. `Debug` redacts
/// the secret and the passphrase.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct ApiKeyCreds {
    /// `apiKey`.
    #[serde(rename = "apiKey", alias = "api_key")]
    pub api_key: String,
    /// `secret` (URL-safe base64).
    pub secret: String,
    /// `passphrase`.
    pub passphrase: String,
}

impl fmt::Debug for ApiKeyCreds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyCreds")
            .field("api_key", &self.api_key)
            .field("secret", &"<redacted>")
            .field("passphrase", &"<redacted>")
            .finish()
    }
}

/// Parse API credentials.
pub fn parse_api_key(body: &[u8]) -> Result<ApiKeyCreds, ParseError> {
    Ok(serde_json::from_slice(body)?)
}
