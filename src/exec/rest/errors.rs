//! Typed errors of the CLOB REST API: the documented order error messages (protocol §3.1)
//! mapped to [`OrderRejectReason`], and the HTTP-level outcomes (425 engine restart, 429 rate
//! limit, 503 trading disabled, 401, transport failures) mapped to [`RestError`].
//!
//! Invariants: classification is total (an unrecognised message is
//! [`OrderRejectReason::Other`], never a panic); a transport failure after the request may have
//! left the machine is [`RestError::OutcomeUnknown`] — the caller reconciles it, it never
//! resends.

use crate::net::http::HttpError;

/// Why the venue refused an order (the `errorMsg` of an order response, or the `error` of an
/// HTTP 400 body), per the documented messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderRejectReason {
    /// `order is invalid. Price breaks minimum tick size rules`.
    MinTickSize,
    /// `order is invalid. Size lower than the minimum` / `Size (x) lower than the minimum: y`.
    MinSize,
    /// `order is invalid. Duplicated…`.
    Duplicated,
    /// `not enough balance / allowance`.
    NotEnoughBalance,
    /// `invalid expiration`.
    InvalidExpiration,
    /// `could not insert order`.
    CouldNotInsert,
    /// `could not run the execution`.
    CouldNotExecute,
    /// `error delaying the order`.
    DelayFailed,
    /// FOK not fully filled: `order couldn't be fully filled. FOK orders are fully filled or killed.`
    FokNotFilled,
    /// FAK without any match: `no orders found to match with FAK order…`.
    FakNoMatch,
    /// `the market is not yet ready to process new orders`.
    MarketNotReady,
    /// `invalid nonce`.
    InvalidNonce,
    /// `post-only mode: only post-only orders and cancels are allowed`.
    PostOnlyMode,
    /// `invalid post-only order: order crosses book`.
    PostOnlyCrosses,
    /// `invalid post-only order: only GTC and GTD order types are allowed`.
    PostOnlyType,
    /// `order_version_mismatch`: signed for the wrong exchange version (refetch `/version`).
    VersionMismatch,
    /// A message not in the documented list.
    Other,
}

/// The documented message fragments, matched case-insensitively as substrings, in order.
const MESSAGES: [(&str, OrderRejectReason); 16] = [
    ("breaks minimum tick size", OrderRejectReason::MinTickSize),
    ("lower than the minimum", OrderRejectReason::MinSize),
    ("duplicated", OrderRejectReason::Duplicated),
    ("not enough balance", OrderRejectReason::NotEnoughBalance),
    ("invalid expiration", OrderRejectReason::InvalidExpiration),
    ("could not insert order", OrderRejectReason::CouldNotInsert),
    (
        "could not run the execution",
        OrderRejectReason::CouldNotExecute,
    ),
    ("error delaying the order", OrderRejectReason::DelayFailed),
    (
        "fok orders are fully filled or killed",
        OrderRejectReason::FokNotFilled,
    ),
    (
        "no orders found to match with fak order",
        OrderRejectReason::FakNoMatch,
    ),
    (
        "not yet ready to process new orders",
        OrderRejectReason::MarketNotReady,
    ),
    ("invalid nonce", OrderRejectReason::InvalidNonce),
    ("post-only mode", OrderRejectReason::PostOnlyMode),
    ("order crosses book", OrderRejectReason::PostOnlyCrosses),
    (
        "only gtc and gtd order types",
        OrderRejectReason::PostOnlyType,
    ),
    ("order_version_mismatch", OrderRejectReason::VersionMismatch),
];

impl OrderRejectReason {
    /// Classify an error message (no allocation).
    pub fn classify(message: &str) -> OrderRejectReason {
        for (fragment, reason) in MESSAGES {
            if contains_ignore_case(message.as_bytes(), fragment.as_bytes()) {
                return reason;
            }
        }
        OrderRejectReason::Other
    }
}

/// The message that comes with a successful but delayed order (not an error).
pub const ORDER_DELAYED_MESSAGE: &str = "order match delayed due to market conditions";

/// Whether `message` is the informational "delayed" message rather than an error.
pub fn is_delayed_message(message: &str) -> bool {
    contains_ignore_case(message.as_bytes(), b"match delayed")
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Why a REST call produced no usable answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestError {
    /// Nothing was sent: every connection busy or down.
    #[error("no idle connection; nothing was sent")]
    NotSent,
    /// Refused locally before sending (rate-limit back-off, post-only window, bad input).
    #[error("refused locally: {0}")]
    Refused(LocalRefusal),
    /// The request may have reached the venue but no complete answer came back (timeout,
    /// dropped connection, truncated response): the outcome is unknown and must be reconciled.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(HttpError),
    /// HTTP 425: the matching engine is restarting.
    #[error("matching engine restarting (425)")]
    EngineRestarting,
    /// HTTP 429, with the `Retry-After` seconds when given.
    #[error("rate limited (429), retry after {retry_after_s:?} s")]
    RateLimited {
        /// `Retry-After` delta-seconds.
        retry_after_s: Option<u32>,
    },
    /// HTTP 503: trading disabled (or post-only / cancel-only mode).
    #[error("trading disabled (503)")]
    TradingDisabled,
    /// HTTP 401: bad API key or L1 headers.
    #[error("unauthorized (401)")]
    Unauthorized,
    /// HTTP 400 with an order error message.
    #[error("bad request: {0:?}")]
    BadRequest(OrderRejectReason),
    /// HTTP 404.
    #[error("not found (404)")]
    NotFound,
    /// Any other non-2xx status.
    #[error("http status {0}")]
    Status(u16),
    /// A 2xx body that does not have the documented shape.
    #[error("malformed response body")]
    Malformed,
}

/// Why the client refused to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LocalRefusal {
    /// In a 429 back-off until this monotonic time (ns).
    #[error("rate-limit back-off until {until_ns} ns")]
    BackingOff {
        /// Monotonic ns at which sending resumes.
        until_ns: u64,
    },
    /// In the post-only window after an engine restart: only post-only orders and cancels.
    #[error("post-only window: only post-only orders and cancels")]
    PostOnlyWindow,
    /// The request would not fit the pre-sized buffers or would break HTTP framing.
    #[error("request does not fit the pre-sized buffers")]
    TooLarge,
    /// Empty batch or bad argument.
    #[error("invalid argument")]
    InvalidArgument,
    /// Every pending-request slot is in use.
    #[error("too many requests in flight")]
    TooManyInFlight,
}

/// Map a complete HTTP response's status to an error (None for 2xx). `body` is consulted for
/// 400 (`{"error": ...}`).
pub fn status_error(status: u16, retry_after_s: Option<u32>, body: &[u8]) -> Option<RestError> {
    match status {
        200..=299 => None,
        400 => Some(RestError::BadRequest(OrderRejectReason::classify(
            super::responses::error_message(body).unwrap_or(""),
        ))),
        401 | 403 => Some(RestError::Unauthorized),
        404 => Some(RestError::NotFound),
        425 => Some(RestError::EngineRestarting),
        429 => Some(RestError::RateLimited { retry_after_s }),
        503 => Some(RestError::TradingDisabled),
        other => Some(RestError::Status(other)),
    }
}

/// Map a transport failure of a sent request.
pub fn transport_error(e: HttpError) -> RestError {
    match e {
        HttpError::NoIdleConnection => RestError::NotSent,
        HttpError::RequestTooLarge | HttpError::InvalidRequest => {
            RestError::Refused(LocalRefusal::TooLarge)
        }
        other => RestError::OutcomeUnknown(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_documented_messages() {
        use OrderRejectReason as R;
        assert_eq!(
            R::classify("order is invalid. Price breaks minimum tick size rules"),
            R::MinTickSize
        );
        assert_eq!(
            R::classify("Size (1.08) lower than the minimum: 5"),
            R::MinSize
        );
        assert_eq!(R::classify("something new"), R::Other);
        assert!(is_delayed_message(ORDER_DELAYED_MESSAGE));
        assert_eq!(status_error(200, None, b""), None);
        assert_eq!(
            status_error(429, Some(3), b""),
            Some(RestError::RateLimited {
                retry_after_s: Some(3)
            })
        );
    }
}

/// Number of [`error_kind_index`] kinds.
pub const ERROR_KINDS: usize = 28;

/// Names of the kinds, by [`error_kind_index`].
pub const ERROR_KIND_NAMES: [&str; ERROR_KINDS] = [
    "min tick size",
    "min size",
    "duplicated",
    "not enough balance",
    "invalid expiration",
    "could not insert",
    "could not execute",
    "delay failed",
    "FOK not filled",
    "FAK no match",
    "market not ready",
    "invalid nonce",
    "post-only mode",
    "post-only crosses",
    "post-only type",
    "version mismatch",
    "other order error",
    "not sent (no idle connection)",
    "refused locally: rate-limit back-off",
    "refused locally: post-only window",
    "refused locally: too large",
    "refused locally: invalid argument",
    "refused locally: too many in flight",
    "outcome unknown",
    "engine restarting (425)",
    "rate limited (429)",
    "trading disabled (503) / unauthorized (401)",
    "other HTTP status / malformed answer",
];

/// A dense index for counting order errors by kind (names in [`ERROR_KIND_NAMES`]).
pub const fn reason_index(r: OrderRejectReason) -> usize {
    r as usize
}

/// A dense index for counting a [`RestError`] by kind (names in [`ERROR_KIND_NAMES`]).
pub const fn error_kind_index(e: &RestError) -> usize {
    match e {
        RestError::BadRequest(r) => reason_index(*r),
        RestError::NotSent => 17,
        RestError::Refused(LocalRefusal::BackingOff { .. }) => 18,
        RestError::Refused(LocalRefusal::PostOnlyWindow) => 19,
        RestError::Refused(LocalRefusal::TooLarge) => 20,
        RestError::Refused(LocalRefusal::InvalidArgument) => 21,
        RestError::Refused(LocalRefusal::TooManyInFlight) => 22,
        RestError::OutcomeUnknown(_) => 23,
        RestError::EngineRestarting => 24,
        RestError::RateLimited { .. } => 25,
        RestError::TradingDisabled | RestError::Unauthorized => 26,
        RestError::NotFound | RestError::Status(_) | RestError::Malformed => 27,
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn every_kind_has_its_name() {
        assert_eq!(
            ERROR_KIND_NAMES[error_kind_index(&RestError::BadRequest(OrderRejectReason::Other))],
            "other order error"
        );
        assert_eq!(
            ERROR_KIND_NAMES[reason_index(OrderRejectReason::PostOnlyCrosses)],
            "post-only crosses"
        );
        assert_eq!(
            ERROR_KIND_NAMES[error_kind_index(&RestError::RateLimited {
                retry_after_s: None
            })],
            "rate limited (429)"
        );
        assert_eq!(
            ERROR_KIND_NAMES[error_kind_index(&RestError::Refused(LocalRefusal::TooManyInFlight))],
            "refused locally: too many in flight"
        );
    }
}
