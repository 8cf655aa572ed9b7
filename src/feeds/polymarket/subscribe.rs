//! Market-channel subscription frames, written into caller-owned buffers (no allocation, no
//! formatting machinery):
//! * initial: `{"assets_ids":[…],"type":"market","custom_feature_enabled":true}`
//! * dynamic: `{"assets_ids":[…],"operation":"subscribe"|"unsubscribe"}` (subscribe may carry
//!   `"custom_feature_enabled":true`).
//!
//! Invariant: only decimal token ids are written, so the output is always valid JSON without
//! escaping. Re-subscribing an already subscribed asset is rejected by the venue as a duplicate,
//! so a resync is an `unsubscribe` frame followed by a `subscribe` frame for the asset.

use crate::book::intern::is_token_id;
use thiserror::Error;

/// Why a subscription frame could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SubscribeError {
    /// The output buffer is too small.
    #[error("output buffer too small")]
    BufferTooSmall,
    /// An asset id is not a decimal token id.
    #[error("asset id is not a decimal token id")]
    BadTokenId,
}

/// Dynamic subscription operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionOp {
    /// Start receiving the assets (brings a fresh `book` for each).
    Subscribe,
    /// Stop receiving the assets.
    Unsubscribe,
}

struct Writer<'a> {
    out: &'a mut [u8],
    n: usize,
}

impl Writer<'_> {
    #[inline]
    fn put(&mut self, b: &[u8]) -> Result<(), SubscribeError> {
        let end = self.n + b.len();
        self.out
            .get_mut(self.n..end)
            .ok_or(SubscribeError::BufferTooSmall)?
            .copy_from_slice(b);
        self.n = end;
        Ok(())
    }

    fn ids<'i>(&mut self, ids: impl IntoIterator<Item = &'i [u8]>) -> Result<(), SubscribeError> {
        self.put(b"{\"assets_ids\":[")?;
        for (k, id) in ids.into_iter().enumerate() {
            if !is_token_id(id) {
                return Err(SubscribeError::BadTokenId);
            }
            if k > 0 {
                self.put(b",")?;
            }
            self.put(b"\"")?;
            self.put(id)?;
            self.put(b"\"")?;
        }
        self.put(b"]")
    }
}

/// Write the first frame sent on the market socket. Returns the frame length.
pub fn write_initial_subscription<'i>(
    out: &mut [u8],
    asset_ids: impl IntoIterator<Item = &'i [u8]>,
    custom_feature_enabled: bool,
) -> Result<usize, SubscribeError> {
    let mut w = Writer { out, n: 0 };
    w.ids(asset_ids)?;
    w.put(b",\"type\":\"market\",\"custom_feature_enabled\":")?;
    w.put(if custom_feature_enabled {
        b"true"
    } else {
        b"false"
    })?;
    w.put(b"}")?;
    Ok(w.n)
}

/// Write a dynamic subscribe / unsubscribe frame. `custom_feature_enabled` is added to subscribe
/// frames only when true. Returns the frame length.
pub fn write_dynamic_subscription<'i>(
    out: &mut [u8],
    op: SubscriptionOp,
    asset_ids: impl IntoIterator<Item = &'i [u8]>,
    custom_feature_enabled: bool,
) -> Result<usize, SubscribeError> {
    let mut w = Writer { out, n: 0 };
    w.ids(asset_ids)?;
    match op {
        SubscriptionOp::Subscribe => {
            w.put(b",\"operation\":\"subscribe\"")?;
            if custom_feature_enabled {
                w.put(b",\"custom_feature_enabled\":true")?;
            }
        }
        SubscriptionOp::Unsubscribe => w.put(b",\"operation\":\"unsubscribe\"")?,
    }
    w.put(b"}")?;
    Ok(w.n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_exact_and_valid_json() {
        let mut buf = [0u8; 256];
        let ids: [&[u8]; 2] = [b"123", b"456"];
        let n = write_initial_subscription(&mut buf, ids, true).unwrap();
        assert_eq!(
            &buf[..n],
            br#"{"assets_ids":["123","456"],"type":"market","custom_feature_enabled":true}"#
        );
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(v["assets_ids"][1], "456");
        let n =
            write_dynamic_subscription(&mut buf, SubscriptionOp::Subscribe, ids, false).unwrap();
        assert_eq!(
            &buf[..n],
            br#"{"assets_ids":["123","456"],"operation":"subscribe"}"#
        );
        let n = write_dynamic_subscription(&mut buf, SubscriptionOp::Subscribe, ids, true).unwrap();
        assert_eq!(
            &buf[..n],
            br#"{"assets_ids":["123","456"],"operation":"subscribe","custom_feature_enabled":true}"#
        );
        let one: [&[u8]; 1] = [b"9"];
        let n =
            write_dynamic_subscription(&mut buf, SubscriptionOp::Unsubscribe, one, true).unwrap();
        assert_eq!(
            &buf[..n],
            br#"{"assets_ids":["9"],"operation":"unsubscribe"}"#
        );
    }

    #[test]
    fn refuses_small_buffers_and_bad_ids() {
        let ids: [&[u8]; 1] = [b"123"];
        assert_eq!(
            write_initial_subscription(&mut [0u8; 20], ids, true),
            Err(SubscribeError::BufferTooSmall)
        );
        let bad: [&[u8]; 1] = [b"12\"3"];
        assert_eq!(
            write_initial_subscription(&mut [0u8; 256], bad, true),
            Err(SubscribeError::BadTokenId)
        );
    }
}
