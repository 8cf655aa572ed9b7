//! Wire-layer counters and events. [`NetCounters`] is plain `u64` fields owned and bumped by the
//! hot thread (no atomics: a copy is shipped to telemetry periodically). [`NetEvent`] is a small
//! `Copy` record of a connection state change that the engine pushes to the telemetry thread
//! through an SPSC queue.
//!
//! Invariants: `NetEvent` is `Copy`, at most 32 bytes (checked at compile time) and holds no
//! pointer, so pushing it never allocates; `NetCounters::record` keeps the counters consistent
//! with the events the hot thread emits.

/// Why a connection went down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// The peer closed (EOF / clean close).
    PeerClosed = 0,
    /// A socket error (reset, broken pipe, ...).
    Io = 1,
    /// A TLS failure (certificate, alert, decrypt).
    Tls = 2,
    /// The WebSocket or HTTP layer saw something it could not accept.
    Protocol = 3,
    /// No traffic (or no pong) within the watchdog window.
    Watchdog = 4,
    /// We closed it (shutdown, resubscribe, rotation).
    Local = 5,
}

/// What happened to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetEventKind {
    /// TCP (and TLS / protocol handshake, if any) is up.
    Connected,
    /// A connect attempt failed before the connection came up.
    ConnectFailed,
    /// An established connection went down.
    Dropped(DropReason),
    /// A reconnect attempt is scheduled (after backoff).
    Reconnecting,
    /// A protocol layer rejected input; the code is defined by that layer.
    ProtocolError(u16),
    /// The watchdog fired (stale feed / missing pong).
    Watchdog,
}

/// One connection event, stamped with `clock::mono_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetEvent {
    /// Engine-assigned connection id.
    pub conn_id: u16,
    /// What happened.
    pub kind: NetEventKind,
    /// When (monotonic nanoseconds, `clock::mono_ns`).
    pub at_ns: u64,
}

const _: () = assert!(std::mem::size_of::<NetEvent>() <= 32);
const _: () = assert!(std::mem::size_of::<NetEventKind>() <= 4);

impl NetEvent {
    /// An event for `conn_id` at `at_ns`.
    #[inline]
    pub fn new(conn_id: u16, kind: NetEventKind, at_ns: u64) -> Self {
        Self {
            conn_id,
            kind,
            at_ns,
        }
    }
}

/// Wire-layer totals since start-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetCounters {
    /// Connections that came up.
    pub connects: u64,
    /// Connect attempts that failed.
    pub connect_failures: u64,
    /// Established connections that went down.
    pub drops: u64,
    /// Reconnect attempts scheduled.
    pub reconnects: u64,
    /// TLS failures (handshake or record layer).
    pub tls_errors: u64,
    /// WebSocket protocol errors.
    pub ws_errors: u64,
    /// HTTP protocol errors.
    pub http_errors: u64,
    /// Protocol errors reported as `NetEventKind::ProtocolError`.
    pub protocol_errors: u64,
    /// Watchdog firings.
    pub watchdog_fires: u64,
    /// Plaintext bytes received (after TLS).
    pub bytes_in: u64,
    /// Plaintext bytes sent (before TLS).
    pub bytes_out: u64,
    /// Socket reads that returned data.
    pub reads: u64,
    /// Socket reads that found nothing (`WouldBlock`).
    pub empty_reads: u64,
}

impl NetCounters {
    /// Count what `event` says (connects, failures, drops, reconnects, TLS and protocol errors,
    /// watchdog). Byte and WS/HTTP counters are bumped directly by the layers that know them.
    #[inline]
    pub fn record(&mut self, event: &NetEvent) {
        match event.kind {
            NetEventKind::Connected => self.connects += 1,
            NetEventKind::ConnectFailed => self.connect_failures += 1,
            NetEventKind::Dropped(reason) => {
                self.drops += 1;
                if reason == DropReason::Tls {
                    self.tls_errors += 1;
                }
            }
            NetEventKind::Reconnecting => self.reconnects += 1,
            NetEventKind::ProtocolError(_) => self.protocol_errors += 1,
            NetEventKind::Watchdog => self.watchdog_fires += 1,
        }
    }

    /// Add bytes received.
    #[inline]
    pub fn add_in(&mut self, bytes: usize) {
        self.bytes_in = self.bytes_in.wrapping_add(bytes as u64);
        self.reads += 1;
    }

    /// Count a read that found nothing (`WouldBlock`).
    #[inline]
    pub fn add_empty_read(&mut self) {
        self.empty_reads += 1;
    }

    /// Add bytes sent.
    #[inline]
    pub fn add_out(&mut self, bytes: usize) {
        self.bytes_out = self.bytes_out.wrapping_add(bytes as u64);
    }

    /// Field-wise sum (e.g. to aggregate per-connection counters).
    pub fn merge(&mut self, other: &NetCounters) {
        self.connects += other.connects;
        self.connect_failures += other.connect_failures;
        self.drops += other.drops;
        self.reconnects += other.reconnects;
        self.tls_errors += other.tls_errors;
        self.ws_errors += other.ws_errors;
        self.http_errors += other.http_errors;
        self.protocol_errors += other.protocol_errors;
        self.watchdog_fires += other.watchdog_fires;
        self.bytes_in = self.bytes_in.wrapping_add(other.bytes_in);
        self.bytes_out = self.bytes_out.wrapping_add(other.bytes_out);
        self.reads += other.reads;
        self.empty_reads += other.empty_reads;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_is_small_and_copy() {
        assert!(std::mem::size_of::<NetEvent>() <= 32);
        let e = NetEvent::new(3, NetEventKind::ProtocolError(1002), 99);
        let copy = e;
        assert_eq!(e, copy);
    }

    #[test]
    fn record_counts_each_kind() {
        let mut c = NetCounters::default();
        let kinds = [
            NetEventKind::Connected,
            NetEventKind::ConnectFailed,
            NetEventKind::ConnectFailed,
            NetEventKind::Dropped(DropReason::PeerClosed),
            NetEventKind::Dropped(DropReason::Tls),
            NetEventKind::Reconnecting,
            NetEventKind::ProtocolError(7),
            NetEventKind::Watchdog,
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            c.record(&NetEvent::new(1, kind, i as u64));
        }
        assert_eq!(
            (c.connects, c.connect_failures, c.drops, c.tls_errors),
            (1, 2, 2, 1)
        );
        assert_eq!(
            (c.reconnects, c.protocol_errors, c.watchdog_fires),
            (1, 1, 1)
        );
        c.add_in(100);
        c.add_out(40);
        let mut total = NetCounters::default();
        total.merge(&c);
        total.merge(&c);
        assert_eq!(
            (total.bytes_in, total.bytes_out, total.reads, total.connects),
            (200, 80, 2, 2)
        );
    }
}

/// A small fixed ring of recent [`NetEvent`]s a connection keeps until its owner drains them
/// (the owner forwards them to the telemetry thread). When full, the oldest event is overwritten
/// and counted as lost. No allocation.
#[derive(Debug, Clone)]
pub struct EventRing {
    events: [NetEvent; EVENT_RING_CAPACITY],
    head: usize,
    len: usize,
    lost: u64,
}

/// Capacity of an [`EventRing`].
pub const EVENT_RING_CAPACITY: usize = 16;

impl Default for EventRing {
    fn default() -> Self {
        EventRing {
            events: [NetEvent::new(0, NetEventKind::Connected, 0); EVENT_RING_CAPACITY],
            head: 0,
            len: 0,
            lost: 0,
        }
    }
}

impl EventRing {
    /// Keep `event` (overwriting the oldest one when full).
    #[inline]
    pub fn push(&mut self, event: NetEvent) {
        self.events[self.head] = event;
        self.head = (self.head + 1) % EVENT_RING_CAPACITY;
        if self.len == EVENT_RING_CAPACITY {
            self.lost += 1;
        } else {
            self.len += 1;
        }
    }

    /// Hand every kept event to `sink`, oldest first, and forget them.
    #[inline]
    pub fn drain(&mut self, mut sink: impl FnMut(NetEvent)) {
        while self.len > 0 {
            let at = (self.head + EVENT_RING_CAPACITY - self.len) % EVENT_RING_CAPACITY;
            self.len -= 1;
            sink(self.events[at]);
        }
    }

    /// Events overwritten before they were drained.
    pub fn lost(&self) -> u64 {
        self.lost
    }
}

#[cfg(test)]
mod event_ring_tests {
    use super::*;

    #[test]
    fn drains_in_order_and_counts_overwrites() {
        let mut ring = EventRing::default();
        for i in 0..(EVENT_RING_CAPACITY as u64 + 3) {
            ring.push(NetEvent::new(1, NetEventKind::Reconnecting, i));
        }
        assert_eq!(ring.lost(), 3);
        let mut seen = Vec::new();
        ring.drain(|e| seen.push(e.at_ns));
        assert_eq!(
            seen,
            (3..EVENT_RING_CAPACITY as u64 + 3).collect::<Vec<_>>()
        );
        ring.drain(|_| panic!("drained twice"));
    }
}
