//! Measurement hooks of the simulator for wire-to-wire benchmarks and tests: push a frame to
//! every subscriber of a stream *now* and learn when it was written to their sockets
//! ([`WriteReceipt`]), log the monotonic time at which each order request was fully read by the
//! simulated CLOB, and when the kernel had received its last bytes ([`OrderArrivalLog`],
//! `sim::rx_stamp`), and hold the simulated Binance price still
//! ([`Simulator::freeze_prices`](super::Simulator::freeze_prices)).
//!
//! Invariants: unused hooks change nothing — a receipt exists only for injected frames, the
//! arrival log records nothing until [`OrderArrivalLog::enable`] and then costs the CLOB one
//! clock read and one copy of the request body per order request. Every time is
//! [`crate::clock::mono_ns`], the clock the engine and the benchmark read, so times taken on
//! different threads of one process compare directly.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Delivery of one injected frame: how many subscriber connections still have to write it and
/// the latest time one of them finished writing it.
#[derive(Debug, Default)]
pub struct WriteReceipt {
    pending: AtomicUsize,
    last_written_ns: AtomicU64,
    last_tx_ns: AtomicU64,
    /// Connections that wrote the frame without a kernel transmit time.
    tx_missing: AtomicUsize,
    queued: AtomicUsize,
}

/// When an injected frame went out ([`super::Simulator::inject_spot_trade`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injected {
    /// [`crate::clock::mono_ns`] taken by the (last) connection thread just before it sealed
    /// the frame into a TLS record and wrote it.
    pub start_ns: u64,
    /// When the kernel handed the frame's last byte to the (loopback) device, on the same
    /// clock (`sim::tx_stamp`); `None` when a connection got no transmit stamp.
    pub tx_ns: Option<u64>,
}

impl WriteReceipt {
    /// A receipt for a frame about to be queued.
    pub fn new() -> WriteReceipt {
        WriteReceipt::default()
    }

    /// The hub queued the frame to one more connection.
    pub(crate) fn queued_once(&self) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        self.queued.fetch_add(1, Ordering::SeqCst);
    }

    /// The hub could not hand the frame to a connection it had counted.
    pub(crate) fn abandoned_once(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
        self.queued.fetch_sub(1, Ordering::SeqCst);
    }

    /// A connection wrote the frame to its socket, starting at `ns` (the time taken just before
    /// the TLS record is made and the write syscall; or it dropped the frame: the frame then
    /// counts as delivered at that time, and the connection is gone).
    /// `tx_ns`: when the kernel transmitted the frame's last byte, if it said.
    pub(crate) fn written(&self, ns: u64, tx_ns: Option<u64>) {
        self.last_written_ns.fetch_max(ns, Ordering::SeqCst);
        match tx_ns {
            Some(t) => {
                self.last_tx_ns.fetch_max(t, Ordering::SeqCst);
            }
            None => {
                self.tx_missing.fetch_add(1, Ordering::SeqCst);
            }
        }
        self.pending.fetch_sub(1, Ordering::SeqCst);
    }

    /// Connections the frame was queued to.
    pub fn connections(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// The latest write start over the connections, once every connection has written the
    /// frame; `None` while one is still pending or when it was queued to none.
    pub fn written_ns(&self) -> Option<u64> {
        if self.connections() == 0 || self.pending.load(Ordering::SeqCst) != 0 {
            return None;
        }
        Some(self.last_written_ns.load(Ordering::SeqCst))
    }

    /// The latest kernel transmit time over the connections, once every connection has written
    /// the frame with one; `None` otherwise.
    pub fn tx_ns(&self) -> Option<u64> {
        self.written_ns()?;
        if self.tx_missing.load(Ordering::SeqCst) != 0 {
            return None;
        }
        Some(self.last_tx_ns.load(Ordering::SeqCst))
    }
}

/// One order request as the simulated CLOB read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderArrival {
    /// [`crate::clock::mono_ns`] when the request's last byte had been read.
    pub mono_ns: u64,
    /// When the kernel received the request's last bytes at the CLOB's socket (same clock;
    /// `None` without kernel timestamps).
    pub rx_mono_ns: Option<u64>,
    /// `/order` or `/orders`.
    pub path: String,
    /// The request body as sent.
    pub body: String,
}

/// One order of an [`OrderArrival`], the fields a benchmark pairs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrivedOrder {
    pub mono_ns: u64,
    pub rx_mono_ns: Option<u64>,
    /// `maker` address as sent (checksummed or not).
    pub maker: String,
    pub token_id: String,
    /// `BUY` or `SELL`.
    pub side: String,
    /// Limit price in micro-units: collateral amount × 10⁶ / share amount.
    pub price_micro: i64,
    /// `orderType` (`FAK`, `GTC`, ...).
    pub order_type: String,
}

impl OrderArrival {
    /// The orders of this request (one for `/order`, each element for `/orders`); malformed
    /// entries are skipped.
    pub fn orders(&self) -> Vec<ArrivedOrder> {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&self.body) else {
            return Vec::new();
        };
        let items: Vec<&serde_json::Value> = match &v {
            serde_json::Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        items
            .into_iter()
            .filter_map(|item| self.order_of(item))
            .collect()
    }

    fn order_of(&self, item: &serde_json::Value) -> Option<ArrivedOrder> {
        let o = item.get("order")?;
        let text = |k: &str| o.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let amount = |k: &str| text(k).and_then(|s| s.parse::<i128>().ok());
        let side = text("side")?;
        let (maker_amt, taker_amt) = (amount("makerAmount")?, amount("takerAmount")?);
        let (collateral, shares) = if side == "BUY" {
            (maker_amt, taker_amt)
        } else {
            (taker_amt, maker_amt)
        };
        if shares <= 0 {
            return None;
        }
        Some(ArrivedOrder {
            mono_ns: self.mono_ns,
            rx_mono_ns: self.rx_mono_ns,
            maker: text("maker")?,
            token_id: text("tokenId")?,
            side,
            price_micro: i64::try_from(collateral * 1_000_000 / shares).ok()?,
            order_type: item
                .get("orderType")
                .and_then(|x| x.as_str())
                .unwrap_or("")
                .to_string(),
        })
    }
}

/// Arrival times of `POST /order` and `POST /orders` requests at the simulated CLOB.
#[derive(Debug, Default)]
pub struct OrderArrivalLog {
    enabled: AtomicBool,
    entries: Mutex<Vec<OrderArrival>>,
}

impl OrderArrivalLog {
    /// Start recording.
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }

    /// Stop recording (what was recorded stays until drained).
    pub fn disable(&self) {
        self.enabled.store(false, Ordering::SeqCst);
    }

    /// Whether requests are being recorded.
    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Record one request when enabled and it is an order submission.
    pub fn record(
        &self,
        mono_ns: u64,
        rx_mono_ns: Option<u64>,
        method: &str,
        path: &str,
        body: &str,
    ) {
        if !self.is_enabled() || method != "POST" || !(path == "/order" || path == "/orders") {
            return;
        }
        let mut e = match self.entries.lock() {
            Ok(e) => e,
            Err(p) => p.into_inner(),
        };
        e.push(OrderArrival {
            mono_ns,
            rx_mono_ns,
            path: path.to_string(),
            body: body.to_string(),
        });
    }

    /// Take everything recorded so far, oldest first.
    pub fn drain(&self) -> Vec<OrderArrival> {
        let mut e = match self.entries.lock() {
            Ok(e) => e,
            Err(p) => p.into_inner(),
        };
        std::mem::take(&mut *e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_records_only_order_posts_while_enabled() {
        let log = OrderArrivalLog::default();
        log.record(1, None, "POST", "/order", "{}");
        assert!(log.drain().is_empty());
        log.enable();
        log.record(2, None, "POST", "/order", "a");
        log.record(3, None, "POST", "/orders", "b");
        log.record(4, None, "DELETE", "/order", "c");
        log.record(5, None, "GET", "/book", "");
        log.record(6, None, "POST", "/auth/api-key", "");
        let got = log.drain();
        assert_eq!(
            got.iter().map(|a| a.mono_ns).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert!(log.drain().is_empty());
        log.disable();
        log.record(7, None, "POST", "/order", "d");
        assert!(log.drain().is_empty());
    }

    #[test]
    fn orders_of_single_and_batch_bodies() {
        let one = r#"{"order":{"maker":"0xAb","tokenId":"123","makerAmount":"26000000",
            "takerAmount":"50000000","side":"BUY"},"owner":"k","orderType":"FAK"}"#;
        let a = OrderArrival {
            mono_ns: 9,
            rx_mono_ns: Some(8),
            path: "/order".into(),
            body: one.into(),
        };
        let o = a.orders();
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].price_micro, 520_000);
        assert_eq!(o[0].side, "BUY");
        assert_eq!(o[0].token_id, "123");
        assert_eq!(o[0].maker, "0xAb");
        assert_eq!(o[0].order_type, "FAK");
        assert_eq!((o[0].mono_ns, o[0].rx_mono_ns), (9, Some(8)));
        let sell = r#"[{"order":{"maker":"0x1","tokenId":"7","makerAmount":"10000000",
            "takerAmount":"4100000","side":"SELL"},"orderType":"GTC"},{"order":{"side":"BUY"}}]"#;
        let b = OrderArrival {
            mono_ns: 10,
            rx_mono_ns: None,
            path: "/orders".into(),
            body: sell.into(),
        };
        let o = b.orders();
        assert_eq!(o.len(), 1, "the malformed second entry is skipped");
        assert_eq!(o[0].price_micro, 410_000);
        let bad = OrderArrival {
            mono_ns: 11,
            rx_mono_ns: None,
            path: "/order".into(),
            body: "not json".into(),
        };
        assert!(bad.orders().is_empty());
    }

    #[test]
    fn receipt_reports_after_every_connection_wrote() {
        let r = WriteReceipt::new();
        assert_eq!(r.written_ns(), None, "queued to nobody");
        r.queued_once();
        r.queued_once();
        r.written(50, Some(58));
        assert_eq!(r.written_ns(), None);
        assert_eq!(r.tx_ns(), None, "one connection still pending");
        r.written(40, Some(47));
        assert_eq!(r.written_ns(), Some(50));
        assert_eq!(r.tx_ns(), Some(58));
        assert_eq!(r.connections(), 2);
        // One connection without a transmit stamp: no transmit time for the frame.
        let r = WriteReceipt::new();
        r.queued_once();
        r.queued_once();
        r.written(50, Some(58));
        r.written(40, None);
        assert_eq!(r.written_ns(), Some(50));
        assert_eq!(r.tx_ns(), None);
    }
}
