//! Exact JSON bodies of `POST /order` and `POST /orders`, written straight into a pre-sized
//! byte buffer — no JSON tree, no `format!`, no allocation.
//!
//! Two key orders are supported because the L2 HMAC covers the exact bytes and both are accepted
//! by the venue:
//! * [`BodyKeyOrder::PyClobClientV2`] emits `{"order":{salt,maker,signer,tokenId,makerAmount,
//!   takerAmount,side,expiration,signatureType,timestamp,metadata,builder,signature},"owner",
//!   "orderType","deferExec","postOnly"}` (postOnly always present);
//! * [`BodyKeyOrder::UnifiedSdk`] emits alphabetical keys at both levels, `deferExec` first and
//!   `postOnly` only when true.
//!
//! `salt` and `signatureType` are JSON numbers; amounts, expiration, timestamp and tokenId are
//! strings (protocol reference §1.1).
//! Invariants: output is compact JSON (no spaces); the owner key is refused (not escaped) if it
//! holds a byte that would need escaping; a batch holds 1..=15 orders; when the buffer is too
//! small the call fails with `BodyCapacity` and the buffer content is unspecified.

use super::order::{OrderTemplate, OrderType, SignedOrder};
use super::SigningError;

/// Max orders in one `POST /orders` batch.
pub const MAX_BATCH: usize = 15;
/// Max owner (API key) length accepted.
pub const MAX_OWNER_LEN: usize = 128;
/// Upper bound on one order object's JSON length (any signature type, owner ≤ 128 bytes).
pub const MAX_ORDER_JSON_LEN: usize = 1600;

/// Which client's key order to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKeyOrder {
    /// py-clob-client-v2 `order_to_json_v2` order (what the vectors' HMACs cover).
    PyClobClientV2,
    /// Unified SDK (`polymarket-client`): alphabetical.
    UnifiedSdk,
}

/// The non-order fields of a POST body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostOptions<'a> {
    /// API key of the order owner.
    pub owner: &'a str,
    /// GTC/GTD/FOK/FAK.
    pub order_type: OrderType,
    /// Post-only (GTC/GTD only; the venue rejects it otherwise).
    pub post_only: bool,
    /// `deferExec` (official clients send false).
    pub defer_exec: bool,
}

/// A fixed-capacity byte buffer for request bodies (allocated once, never grows).
pub struct BodyBuf {
    buf: Box<[u8]>,
    len: usize,
}

impl BodyBuf {
    /// A buffer of exactly `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> BodyBuf {
        BodyBuf {
            buf: vec![0u8; capacity].into_boxed_slice(),
            len: 0,
        }
    }
    /// Large enough for any single order body.
    pub fn for_single_order() -> BodyBuf {
        BodyBuf::with_capacity(MAX_ORDER_JSON_LEN)
    }
    /// Large enough for any batch of up to `n` orders.
    pub fn for_batch(n: usize) -> BodyBuf {
        BodyBuf::with_capacity(2 + n.max(1) * (MAX_ORDER_JSON_LEN + 1))
    }
    /// The written bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
    /// Written length.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when nothing is written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }
    /// Forget the content.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    #[inline(always)]
    fn put(&mut self, s: &[u8]) -> Result<(), SigningError> {
        let end = self.len + s.len();
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(SigningError::BodyCapacity)?;
        dst.copy_from_slice(s);
        self.len = end;
        Ok(())
    }

    #[inline(always)]
    fn put_u64(&mut self, mut v: u64) -> Result<(), SigningError> {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.put(&tmp[i..])
    }

    #[inline(always)]
    fn put_quoted_u64(&mut self, v: u64) -> Result<(), SigningError> {
        self.put(b"\"")?;
        self.put_u64(v)?;
        self.put(b"\"")
    }

    #[inline(always)]
    fn put_hex_0x(&mut self, bytes: &[u8]) -> Result<(), SigningError> {
        self.put(b"\"0x")?;
        let end = self.len + 2 * bytes.len();
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(SigningError::BodyCapacity)?;
        super::hex::encode_into(bytes, dst);
        self.len = end;
        self.put(b"\"")
    }
}

impl std::fmt::Debug for BodyBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyBuf")
            .field("len", &self.len)
            .field("capacity", &self.buf.len())
            .finish()
    }
}

fn check_owner(owner: &str) -> Result<(), SigningError> {
    if owner.len() > MAX_OWNER_LEN
        || owner
            .bytes()
            .any(|b| b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f)
    {
        return Err(SigningError::OwnerText);
    }
    Ok(())
}

#[inline]
fn put_bool(out: &mut BodyBuf, b: bool) -> Result<(), SigningError> {
    out.put(if b { b"true" } else { b"false" })
}

fn write_order_object(
    out: &mut BodyBuf,
    t: &OrderTemplate,
    o: &SignedOrder,
    opts: &PostOptions<'_>,
    key_order: BodyKeyOrder,
) -> Result<(), SigningError> {
    check_owner(opts.owner)?;
    let side: &[u8] = o.side().as_str().as_bytes();
    match key_order {
        BodyKeyOrder::PyClobClientV2 => {
            out.put(b"{\"order\":{\"salt\":")?;
            out.put_u64(o.vars.salt)?;
            out.put(b",\"maker\":\"")?;
            out.put(t.maker_text())?;
            out.put(b"\",\"signer\":\"")?;
            out.put(t.signer_text())?;
            out.put(b"\",\"tokenId\":\"")?;
            out.put(t.token_id().text())?;
            out.put(b"\",\"makerAmount\":")?;
            out.put_quoted_u64(o.vars.maker_amount)?;
            out.put(b",\"takerAmount\":")?;
            out.put_quoted_u64(o.vars.taker_amount)?;
            out.put(b",\"side\":\"")?;
            out.put(side)?;
            out.put(b"\",\"expiration\":")?;
            out.put_quoted_u64(o.expiration)?;
            out.put(b",\"signatureType\":")?;
            out.put_u64(u64::from(t.signature_type().as_u8()))?;
            out.put(b",\"timestamp\":")?;
            out.put_quoted_u64(o.vars.timestamp_ms)?;
            out.put(b",\"metadata\":\"")?;
            out.put(t.metadata_hex())?;
            out.put(b"\",\"builder\":\"")?;
            out.put(t.builder_hex())?;
            out.put(b"\",\"signature\":")?;
            out.put_hex_0x(o.signature.as_bytes())?;
            out.put(b"},\"owner\":\"")?;
            out.put(opts.owner.as_bytes())?;
            out.put(b"\",\"orderType\":\"")?;
            out.put(opts.order_type.as_str().as_bytes())?;
            out.put(b"\",\"deferExec\":")?;
            put_bool(out, opts.defer_exec)?;
            out.put(b",\"postOnly\":")?;
            put_bool(out, opts.post_only)?;
            out.put(b"}")
        }
        BodyKeyOrder::UnifiedSdk => {
            out.put(b"{\"deferExec\":")?;
            put_bool(out, opts.defer_exec)?;
            out.put(b",\"order\":{\"builder\":\"")?;
            out.put(t.builder_hex())?;
            out.put(b"\",\"expiration\":")?;
            out.put_quoted_u64(o.expiration)?;
            out.put(b",\"maker\":\"")?;
            out.put(t.maker_text())?;
            out.put(b"\",\"makerAmount\":")?;
            out.put_quoted_u64(o.vars.maker_amount)?;
            out.put(b",\"metadata\":\"")?;
            out.put(t.metadata_hex())?;
            out.put(b"\",\"salt\":")?;
            out.put_u64(o.vars.salt)?;
            out.put(b",\"side\":\"")?;
            out.put(side)?;
            out.put(b"\",\"signature\":")?;
            out.put_hex_0x(o.signature.as_bytes())?;
            out.put(b",\"signatureType\":")?;
            out.put_u64(u64::from(t.signature_type().as_u8()))?;
            out.put(b",\"signer\":\"")?;
            out.put(t.signer_text())?;
            out.put(b"\",\"takerAmount\":")?;
            out.put_quoted_u64(o.vars.taker_amount)?;
            out.put(b",\"timestamp\":")?;
            out.put_quoted_u64(o.vars.timestamp_ms)?;
            out.put(b",\"tokenId\":\"")?;
            out.put(t.token_id().text())?;
            out.put(b"\"},\"orderType\":\"")?;
            out.put(opts.order_type.as_str().as_bytes())?;
            out.put(b"\",\"owner\":\"")?;
            out.put(opts.owner.as_bytes())?;
            out.put(b"\"")?;
            if opts.post_only {
                out.put(b",\"postOnly\":true")?;
            }
            out.put(b"}")
        }
    }
}

/// Write the `POST /order` body for one signed order (clears `out` first).
#[inline]
pub fn write_order_body(
    out: &mut BodyBuf,
    template: &OrderTemplate,
    order: &SignedOrder,
    opts: &PostOptions<'_>,
    key_order: BodyKeyOrder,
) -> Result<(), SigningError> {
    out.clear();
    write_order_object(out, template, order, opts, key_order)
}

/// One element of a `POST /orders` batch.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// Template the order was signed from.
    pub template: &'a OrderTemplate,
    /// The signed order.
    pub order: &'a SignedOrder,
    /// Its owner / type / flags.
    pub options: PostOptions<'a>,
}

/// Write the `POST /orders` body: a JSON array of 1..=15 order objects (clears `out` first).
pub fn write_orders_body(
    out: &mut BodyBuf,
    items: &[BatchItem<'_>],
    key_order: BodyKeyOrder,
) -> Result<(), SigningError> {
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(SigningError::BatchSize(items.len()));
    }
    out.clear();
    out.put(b"[")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.put(b",")?;
        }
        write_order_object(out, item.template, item.order, &item.options, key_order)?;
    }
    out.put(b"]")
}
