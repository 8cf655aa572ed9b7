//! Request pieces for every CLOB endpoint the engine uses, written into pre-sized buffers:
//! paths (with validated query values), small JSON bodies (cancels, heartbeats) and the L2 /
//! L1 header pairs as the byte slices [`crate::net::http::Request`] takes.
//!
//! Invariants: nothing here allocates (buffers are allocated once by their owner); a value
//! that could break the URL or the JSON (spaces, quotes, `&`, control bytes) is refused with
//! [`LocalRefusal::InvalidArgument`], never escaped or truncated; the bytes the L2 HMAC
//! covers are exactly the bytes sent (the caller signs the same path and body slices).

use super::errors::LocalRefusal;
use crate::exec::json::{order_id_text, OrderId};
use crate::exec::signing::clob_auth::L1Headers;
use crate::exec::signing::hmac::L2Headers;

/// `POST /order`.
pub const PATH_ORDER: &str = "/order";
/// `POST /orders`.
pub const PATH_ORDERS: &str = "/orders";
/// `DELETE /cancel-all`.
pub const PATH_CANCEL_ALL: &str = "/cancel-all";
/// `DELETE /cancel-market-orders`.
pub const PATH_CANCEL_MARKET: &str = "/cancel-market-orders";
/// `POST /v1/heartbeats`.
pub const PATH_HEARTBEATS: &str = "/v1/heartbeats";
/// `GET /time`.
pub const PATH_TIME: &str = "/time";
/// `GET /version`.
pub const PATH_VERSION: &str = "/version";
/// `GET /auth/derive-api-key`.
pub const PATH_DERIVE_API_KEY: &str = "/auth/derive-api-key";
/// `POST /auth/api-key`.
pub const PATH_CREATE_API_KEY: &str = "/auth/api-key";

/// Most ids in one `DELETE /orders` request this client sends (the venue accepts 3,000).
pub const MAX_CANCEL_IDS: usize = 256;
/// Length of `"0x…"` with quotes plus a comma.
const QUOTED_ID_LEN: usize = 66 + 3;
/// Body capacity for the largest `DELETE /orders`.
pub const CANCEL_BODY_CAPACITY: usize = 2 + MAX_CANCEL_IDS * QUOTED_ID_LEN + 64;

/// A fixed-capacity byte buffer (allocated once, never grows).
pub struct FixedBuf {
    buf: Box<[u8]>,
    len: usize,
}

impl FixedBuf {
    /// A buffer of exactly `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> FixedBuf {
        FixedBuf {
            buf: vec![0u8; capacity].into_boxed_slice(),
            len: 0,
        }
    }
    /// Forget the content.
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }
    /// The written bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
    /// The written bytes as text (every writer here writes ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
    /// Append bytes, refusing to overflow.
    #[inline]
    pub fn push(&mut self, s: &[u8]) -> Result<(), LocalRefusal> {
        let end = self.len + s.len();
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(LocalRefusal::TooLarge)?;
        dst.copy_from_slice(s);
        self.len = end;
        Ok(())
    }
    /// Append a query or path value after checking it is URL- and JSON-safe
    /// (`A-Z a-z 0-9 - _ . ~ =`, as ids, cursors and token ids are).
    pub fn push_safe(&mut self, value: &str) -> Result<(), LocalRefusal> {
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'='))
        {
            return Err(LocalRefusal::InvalidArgument);
        }
        self.push(value.as_bytes())
    }
    /// Append `0x` + hex of an order id.
    #[inline]
    pub fn push_order_id(&mut self, id: &OrderId) -> Result<(), LocalRefusal> {
        self.push(&order_id_text(id))
    }
    /// Append a decimal integer.
    pub fn push_u64(&mut self, v: u64) -> Result<(), LocalRefusal> {
        self.push(crate::exec::signing::hmac::DecimalText::new(v).as_bytes())
    }
}

/// `{"orderID":"0x…"}` (DELETE /order).
pub fn cancel_order_body(out: &mut FixedBuf, id: &OrderId) -> Result<(), LocalRefusal> {
    out.clear();
    out.push(b"{\"orderID\":\"")?;
    out.push_order_id(id)?;
    out.push(b"\"}")
}

/// `["0x…","0x…"]` (DELETE /orders), 1..=[`MAX_CANCEL_IDS`] ids.
pub fn cancel_orders_body(out: &mut FixedBuf, ids: &[OrderId]) -> Result<(), LocalRefusal> {
    if ids.is_empty() || ids.len() > MAX_CANCEL_IDS {
        return Err(LocalRefusal::InvalidArgument);
    }
    out.clear();
    out.push(b"[")?;
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(b",")?;
        }
        out.push(b"\"")?;
        out.push_order_id(id)?;
        out.push(b"\"")?;
    }
    out.push(b"]")
}

/// `{"market":…,"asset_id":…}` (DELETE /cancel-market-orders); empty keys omitted like the V2
/// client.
pub fn cancel_market_body(
    out: &mut FixedBuf,
    market: &str,
    asset_id: &str,
) -> Result<(), LocalRefusal> {
    out.clear();
    out.push(b"{")?;
    if !market.is_empty() {
        out.push(b"\"market\":\"")?;
        out.push_safe(market)?;
        out.push(b"\"")?;
    }
    if !asset_id.is_empty() {
        if !market.is_empty() {
            out.push(b",")?;
        }
        out.push(b"\"asset_id\":\"")?;
        out.push_safe(asset_id)?;
        out.push(b"\"")?;
    }
    out.push(b"}")
}

/// `{"heartbeat_id":"…"}` (`""` for the first beat).
pub fn heartbeat_body(out: &mut FixedBuf, heartbeat_id: &str) -> Result<(), LocalRefusal> {
    out.clear();
    out.push(b"{\"heartbeat_id\":\"")?;
    out.push_safe(heartbeat_id)?;
    out.push(b"\"}")
}

/// `/data/order/0x…`.
pub fn order_path(out: &mut FixedBuf, id: &OrderId) -> Result<(), LocalRefusal> {
    out.clear();
    out.push(b"/data/order/")?;
    out.push_order_id(id)
}

/// `<base>?token_id=<token>` for `/book`, `/midpoint`, `/tick-size`.
pub fn token_query_path(
    out: &mut FixedBuf,
    base: &str,
    token_id: &str,
) -> Result<(), LocalRefusal> {
    out.clear();
    out.push(base.as_bytes())?;
    out.push(b"?token_id=")?;
    out.push_safe(token_id)
}

/// `/price?token_id=<token>&side=BUY|SELL`.
pub fn price_path(out: &mut FixedBuf, token_id: &str, side_buy: bool) -> Result<(), LocalRefusal> {
    token_query_path(out, "/price", token_id)?;
    out.push(if side_buy {
        b"&side=BUY"
    } else {
        b"&side=SELL"
    })
}

/// `/clob-markets/<condition_id>`.
pub fn clob_market_path(out: &mut FixedBuf, condition_id: &str) -> Result<(), LocalRefusal> {
    out.clear();
    out.push(b"/clob-markets/")?;
    out.push_safe(condition_id)
}

/// Filters of `/data/orders` and `/data/trades` (empty = not sent).
#[derive(Clone, Copy, Debug, Default)]
pub struct LedgerFilter<'a> {
    /// Condition id.
    pub market: &'a str,
    /// Token id.
    pub asset_id: &'a str,
    /// One order id (`id=`).
    pub id: &'a str,
}

/// `<base>?next_cursor=<cursor>[&market=…][&asset_id=…][&id=…]` for `/data/orders` and
/// `/data/trades`.
pub fn ledger_path(
    out: &mut FixedBuf,
    base: &str,
    cursor: &str,
    filter: &LedgerFilter<'_>,
) -> Result<(), LocalRefusal> {
    out.clear();
    out.push(base.as_bytes())?;
    out.push(b"?next_cursor=")?;
    out.push_safe(cursor)?;
    for (key, value) in [
        (&b"&market="[..], filter.market),
        (&b"&asset_id="[..], filter.asset_id),
        (&b"&id="[..], filter.id),
    ] {
        if !value.is_empty() {
            out.push(key)?;
            out.push_safe(value)?;
        }
    }
    Ok(())
}

/// Asset class of `/balance-allowance`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalanceAsset<'a> {
    /// Collateral (pUSD).
    Collateral,
    /// An outcome token.
    Conditional {
        /// Token id.
        token_id: &'a str,
    },
}

/// `/balance-allowance?asset_type=…[&token_id=…]&signature_type=<n>`.
pub fn balance_path(
    out: &mut FixedBuf,
    asset: BalanceAsset<'_>,
    signature_type: u8,
) -> Result<(), LocalRefusal> {
    out.clear();
    out.push(b"/balance-allowance?asset_type=")?;
    match asset {
        BalanceAsset::Collateral => out.push(b"COLLATERAL")?,
        BalanceAsset::Conditional { token_id } => {
            out.push(b"CONDITIONAL&token_id=")?;
            out.push_safe(token_id)?;
        }
    }
    out.push(b"&signature_type=")?;
    out.push_u64(u64::from(signature_type))
}

/// The five L2 headers as byte pairs.
#[inline]
pub fn l2_pairs<'a>(h: &'a L2Headers<'a>) -> [(&'a [u8], &'a [u8]); 5] {
    h.pairs().map(|(k, v)| (k.as_bytes(), v.as_bytes()))
}

/// The four L1 headers as byte pairs.
pub fn l1_pairs(h: &L1Headers) -> [(&[u8], &[u8]); 4] {
    h.pairs().map(|(k, v)| (k.as_bytes(), v.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_paths() {
        let mut b = FixedBuf::with_capacity(CANCEL_BODY_CAPACITY);
        let id = [0x11u8; 32];
        cancel_orders_body(&mut b, &[id, id]).unwrap();
        let text = b.as_str().to_owned();
        let v: Vec<String> = serde_json::from_str(&text).unwrap();
        assert_eq!(v.len(), 2);
        assert!(v[0].starts_with("0x1111"));
        cancel_market_body(&mut b, "", "123").unwrap();
        assert_eq!(b.as_str(), r#"{"asset_id":"123"}"#);
        assert_eq!(
            cancel_market_body(&mut b, "a\"b", ""),
            Err(LocalRefusal::InvalidArgument)
        );
        ledger_path(
            &mut b,
            "/data/orders",
            "MA==",
            &LedgerFilter {
                market: "0xab",
                ..LedgerFilter::default()
            },
        )
        .unwrap();
        assert_eq!(b.as_str(), "/data/orders?next_cursor=MA==&market=0xab");
        let mut small = FixedBuf::with_capacity(4);
        assert_eq!(small.push(b"12345"), Err(LocalRefusal::TooLarge));
    }
}
