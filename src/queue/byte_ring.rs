//! Bounded, lock-free, single-producer single-consumer ring of variable-length byte records
//! (the recorder's hot → risk path: one record per received frame).
//!
//! [`byte_ring`] allocates the buffer once and splits it into a [`ByteProducer`] (hot thread)
//! and a [`ByteConsumer`] (risk/telemetry thread). A record is a 14-byte header — receive time
//! (u64 LE, ns), connection id (u16 LE), payload length (u32 LE) — followed by the payload, laid
//! out contiguously in ring positions and split across the buffer's end when it wraps.
//!
//! Invariants:
//! * The capacity is a power of two; positions are free-running `u64` byte counters and a byte
//!   lives at `position & mask`. `head - tail` is the number of bytes held, in `0..=capacity`.
//! * Bytes `tail..head` are complete records written by the producer; only the producer stores
//!   `head` (Release, after the record's bytes), only the consumer stores `tail` (Release, after
//!   reading them).
//! * [`ByteProducer::push`] never blocks and never allocates: a record that does not fit (ring
//!   full, or larger than the ring) is dropped whole and counted ([`ByteProducer::dropped`]).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes of a record's header: receive ns (8), connection id (2), payload length (4).
pub const RECORD_HEADER: usize = 14;
/// Smallest ring [`byte_ring`] builds (bytes).
pub const MIN_RING_BYTES: usize = 64;
/// Largest ring [`byte_ring`] builds (bytes).
pub const MAX_RING_BYTES: usize = 1 << 32;

/// Why a byte ring could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ByteRingError {
    #[error("byte ring size {0} is outside {MIN_RING_BYTES}..={MAX_RING_BYTES}")]
    Size(usize),
}

#[repr(align(128))]
struct CachePadded<T>(T);

struct Shared {
    /// Next byte position the producer writes.
    head: CachePadded<AtomicU64>,
    /// Next byte position the consumer reads.
    tail: CachePadded<AtomicU64>,
    /// Records dropped (ring full or record larger than the ring).
    dropped: CachePadded<AtomicU64>,
    /// Bytes of dropped records.
    dropped_bytes: CachePadded<AtomicU64>,
    mask: u64,
    buf: Box<[UnsafeCell<u8>]>,
}

// SAFETY: each byte is touched by at most one side at a time: the producer writes only free
// positions `head..tail + capacity`, the consumer reads only `tail..head`, and ownership moves
// with the Release store of `head` / `tail` paired with the other side's Acquire load. There is
// one producer and one consumer (neither is `Clone`) and all access needs `&mut` on a half.
unsafe impl Sync for Shared {}

impl Shared {
    fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// Copy `src` into the ring from `position` (wrapping at the end of the buffer).
    ///
    /// # Safety
    /// Positions `position..position + src.len()` must be free (owned by the producer).
    unsafe fn write_at(&self, position: u64, src: &[u8]) {
        let cap = self.buf.len();
        let start = (position & self.mask) as usize;
        let first = src.len().min(cap - start);
        let base = self.buf.as_ptr() as *mut u8;
        // SAFETY: `start + first <= cap` and `src.len() - first <= start` (src.len() <= cap);
        // UnsafeCell<u8> has the layout of u8; the range is owned by the producer (caller).
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), base.add(start), first);
            std::ptr::copy_nonoverlapping(src.as_ptr().add(first), base, src.len() - first);
        }
    }

    /// Copy `dst.len()` bytes out of the ring from `position` (wrapping).
    ///
    /// # Safety
    /// Positions `position..position + dst.len()` must hold published bytes (owned by the
    /// consumer).
    unsafe fn read_at(&self, position: u64, dst: &mut [u8]) {
        let cap = self.buf.len();
        let start = (position & self.mask) as usize;
        let first = dst.len().min(cap - start);
        let base = self.buf.as_ptr() as *const u8;
        // SAFETY: as in `write_at`, with the consumer owning the range.
        unsafe {
            std::ptr::copy_nonoverlapping(base.add(start), dst.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(base, dst.as_mut_ptr().add(first), dst.len() - first);
        }
    }
}

/// Build a ring of at least `min_bytes` bytes (rounded up to a power of two).
pub fn byte_ring(min_bytes: usize) -> Result<(ByteProducer, ByteConsumer), ByteRingError> {
    if !(MIN_RING_BYTES..=MAX_RING_BYTES).contains(&min_bytes) {
        return Err(ByteRingError::Size(min_bytes));
    }
    let cap = min_bytes.next_power_of_two();
    if cap > MAX_RING_BYTES {
        return Err(ByteRingError::Size(min_bytes));
    }
    let buf: Box<[UnsafeCell<u8>]> = (0..cap).map(|_| UnsafeCell::new(0u8)).collect();
    let shared = Arc::new(Shared {
        head: CachePadded(AtomicU64::new(0)),
        tail: CachePadded(AtomicU64::new(0)),
        dropped: CachePadded(AtomicU64::new(0)),
        dropped_bytes: CachePadded(AtomicU64::new(0)),
        mask: cap as u64 - 1,
        buf,
    });
    Ok((
        ByteProducer {
            shared: shared.clone(),
            head: 0,
            tail_cache: 0,
        },
        ByteConsumer {
            shared,
            tail: 0,
            head_cache: 0,
        },
    ))
}

/// The writing half (one thread).
pub struct ByteProducer {
    shared: Arc<Shared>,
    head: u64,
    tail_cache: u64,
}

impl ByteProducer {
    /// Append one record. `false` (dropped, counted) when it does not fit.
    #[inline]
    pub fn push(&mut self, recv_ns: u64, conn: u16, payload: &[u8]) -> bool {
        let cap = self.shared.capacity();
        let need = (RECORD_HEADER + payload.len()) as u64;
        if payload.len() > u32::MAX as usize || need > cap {
            self.count_drop(need);
            return false;
        }
        if self.head - self.tail_cache + need > cap {
            self.tail_cache = self.shared.tail.0.load(Ordering::Acquire);
            if self.head - self.tail_cache + need > cap {
                self.count_drop(need);
                return false;
            }
        }
        let mut header = [0u8; RECORD_HEADER];
        header[..8].copy_from_slice(&recv_ns.to_le_bytes());
        header[8..10].copy_from_slice(&conn.to_le_bytes());
        header[10..14].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        // SAFETY: `need` free bytes from `head` were checked above against the consumer's tail.
        unsafe {
            self.shared.write_at(self.head, &header);
            self.shared
                .write_at(self.head + RECORD_HEADER as u64, payload);
        }
        self.head += need;
        self.shared.head.0.store(self.head, Ordering::Release);
        true
    }

    fn count_drop(&self, bytes: u64) {
        let d = &self.shared.dropped.0;
        d.store(d.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        let b = &self.shared.dropped_bytes.0;
        b.store(b.load(Ordering::Relaxed) + bytes, Ordering::Relaxed);
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.0.load(Ordering::Relaxed)
    }

    /// Ring size in bytes.
    pub fn capacity(&self) -> usize {
        self.shared.buf.len()
    }
}

/// The reading half (one thread).
pub struct ByteConsumer {
    shared: Arc<Shared>,
    tail: u64,
    head_cache: u64,
}

/// One record's header as popped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHead {
    pub recv_ns: u64,
    pub conn: u16,
}

impl ByteConsumer {
    /// Pop the oldest record: its payload replaces `out`'s contents.
    pub fn pop_into(&mut self, out: &mut Vec<u8>) -> Option<RecordHead> {
        if self.tail == self.head_cache {
            self.head_cache = self.shared.head.0.load(Ordering::Acquire);
            if self.tail == self.head_cache {
                return None;
            }
        }
        let mut header = [0u8; RECORD_HEADER];
        // SAFETY: `tail < head`: a whole record (header + payload) was published.
        unsafe { self.shared.read_at(self.tail, &mut header) };
        let recv_ns = u64::from_le_bytes(header[..8].try_into().unwrap_or([0; 8]));
        let conn = u16::from_le_bytes([header[8], header[9]]);
        let len = u32::from_le_bytes(header[10..14].try_into().unwrap_or([0; 4])) as usize;
        out.clear();
        out.resize(len, 0);
        // SAFETY: the payload follows the header inside the published range.
        unsafe {
            self.shared
                .read_at(self.tail + RECORD_HEADER as u64, out.as_mut_slice())
        };
        self.tail += (RECORD_HEADER + len) as u64;
        self.shared.tail.0.store(self.tail, Ordering::Release);
        Some(RecordHead { recv_ns, conn })
    }

    /// Records the producer dropped so far.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.0.load(Ordering::Relaxed)
    }

    /// Bytes of the records the producer dropped.
    pub fn dropped_bytes(&self) -> u64 {
        self.shared.dropped_bytes.0.load(Ordering::Relaxed)
    }

    /// Bytes currently held.
    pub fn len_bytes(&self) -> u64 {
        self.shared.head.0.load(Ordering::Acquire) - self.tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_sizes() {
        assert!(matches!(byte_ring(10), Err(ByteRingError::Size(10))));
        assert!(byte_ring(64).is_ok());
        let (p, _) = byte_ring(100).unwrap();
        assert_eq!(p.capacity(), 128);
    }

    #[test]
    fn round_trip_in_order() {
        let (mut p, mut c) = byte_ring(1024).unwrap();
        assert!(p.push(5, 1, b"hello"));
        assert!(p.push(6, 2, b""));
        assert!(p.push(7, 65535, b"world!"));
        let mut out = Vec::new();
        assert_eq!(
            c.pop_into(&mut out),
            Some(RecordHead {
                recv_ns: 5,
                conn: 1
            })
        );
        assert_eq!(out, b"hello");
        assert_eq!(c.pop_into(&mut out).map(|h| h.conn), Some(2));
        assert!(out.is_empty());
        assert_eq!(c.pop_into(&mut out).map(|h| h.recv_ns), Some(7));
        assert_eq!(out, b"world!");
        assert_eq!(c.pop_into(&mut out), None);
    }

    #[test]
    fn full_ring_drops_and_counts_then_recovers() {
        let (mut p, mut c) = byte_ring(64).unwrap();
        // 14 + 30 = 44 bytes: one fits, the second does not.
        let payload = [7u8; 30];
        assert!(p.push(1, 0, &payload));
        assert!(!p.push(2, 0, &payload));
        assert_eq!(p.dropped(), 1);
        assert_eq!(c.dropped(), 1);
        assert_eq!(c.dropped_bytes(), 44);
        // Larger than the whole ring: dropped too.
        assert!(!p.push(3, 0, &[0u8; 100]));
        assert_eq!(c.dropped(), 2);
        let mut out = Vec::new();
        assert_eq!(c.pop_into(&mut out).map(|h| h.recv_ns), Some(1));
        assert_eq!(out, payload);
        // Room again.
        assert!(p.push(4, 0, &payload));
        assert_eq!(c.pop_into(&mut out).map(|h| h.recv_ns), Some(4));
    }

    #[test]
    fn wraps_around_the_end_of_the_buffer() {
        let (mut p, mut c) = byte_ring(64).unwrap();
        let mut out = Vec::new();
        // Records of odd sizes so headers and payloads straddle the buffer's end many times.
        for i in 0..500u64 {
            let len = (i % 37) as usize;
            let payload: Vec<u8> = (0..len).map(|k| (i as usize + k) as u8).collect();
            assert!(p.push(i, (i % 7) as u16, &payload), "push {i}");
            let h = c.pop_into(&mut out).unwrap();
            assert_eq!(h.recv_ns, i);
            assert_eq!(h.conn, (i % 7) as u16);
            assert_eq!(out, payload);
        }
        assert_eq!(c.len_bytes(), 0);
        assert_eq!(c.dropped(), 0);
    }

    #[test]
    fn two_threads_see_every_record_or_a_counted_drop() {
        let (mut p, mut c) = byte_ring(256).unwrap();
        let n = 20_000u64;
        let producer = std::thread::spawn(move || {
            let mut sent = 0u64;
            for i in 0..n {
                let b = i.to_le_bytes();
                if p.push(i, 3, &b[..(i % 9) as usize]) {
                    sent += 1;
                }
            }
            (sent, p.dropped())
        });
        let mut out = Vec::new();
        let mut got = 0u64;
        let mut last: Option<u64> = None;
        loop {
            // Read before popping: finished and then empty means everything was seen.
            let done = producer.is_finished();
            match c.pop_into(&mut out) {
                Some(h) => {
                    assert!(last.is_none_or(|l| h.recv_ns > l));
                    let b = h.recv_ns.to_le_bytes();
                    assert_eq!(out, &b[..(h.recv_ns % 9) as usize]);
                    last = Some(h.recv_ns);
                    got += 1;
                }
                None if done => break,
                None => std::hint::spin_loop(),
            }
        }
        let (sent, dropped) = producer.join().unwrap();
        assert_eq!(got, sent);
        assert_eq!(sent + dropped, n);
    }
}
