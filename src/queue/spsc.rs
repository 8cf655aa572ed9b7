//! Bounded, lock-free, single-producer single-consumer ring buffer.
//!
//! [`channel`] allocates the ring once and splits it into a [`Producer`] and a [`Consumer`]. Each
//! half is `Send` but not `Clone`, so exactly one thread pushes and exactly one thread pops.
//!
//! Invariants:
//! * The capacity is a power of two; positions are free-running `usize` counters (wrapping) and a
//!   slot is `position & mask`. `head - tail` (wrapping) is the number of filled slots, always in
//!   `0..=capacity`.
//! * Slots `tail..head` hold initialised values owned by the queue; every other slot is
//!   uninitialised. Only the producer writes `head`, only the consumer writes `tail`.
//! * The producer never blocks and never waits: [`Producer::push`] on a full ring hands the value
//!   back and counts a drop ([`Producer::dropped`] / [`Consumer::dropped`]).
//! * No allocation after [`channel`] returns. Values still queued when both halves are gone are
//!   dropped exactly once.
//!
//! Layout: `head`, `tail` and the drop counter each sit on their own 128-byte block (two 64-byte
//! lines, because x86 prefetches adjacent line pairs), and each half keeps a private cached copy of
//! the other side's index, so the shared lines only move between cores when the cache is stale
//! (producer: ring looks full; consumer: ring looks empty).

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Largest capacity [`channel`] accepts (slots). Keeps `head - tail` comparisons far from overflow
/// and the buffer size reasonable.
pub const MAX_CAPACITY: usize = 1 << 30;

/// Why a queue could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CapacityError {
    /// A queue must hold at least one element.
    #[error("SPSC capacity must be at least 1")]
    Zero,
    /// The requested capacity (after rounding up to a power of two) exceeds [`MAX_CAPACITY`].
    #[error("SPSC capacity {requested} exceeds the maximum of {MAX_CAPACITY}")]
    TooLarge {
        /// Capacity that was asked for.
        requested: usize,
    },
}

/// Aligns its content to 128 bytes so that no other hot field shares its cache lines.
#[repr(align(128))]
struct CachePadded<T>(T);

/// The shared ring. Reached only through the two halves.
struct Ring<T> {
    /// Next position the producer writes. Stored (Release) only by the producer.
    head: CachePadded<AtomicUsize>,
    /// Next position the consumer reads. Stored (Release) only by the consumer.
    tail: CachePadded<AtomicUsize>,
    /// Pushes rejected because the ring was full. Stored only by the producer.
    dropped: CachePadded<AtomicU64>,
    /// `capacity - 1`; capacity is a power of two.
    mask: usize,
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: the ring moves `T` values from one thread to another, so it requires `T: Send`. Shared
// access (`&Ring`) from two threads is sound because each slot is touched by at most one side at a
// time: the producer only writes slots in `head..tail + capacity` (empty), the consumer only reads
// slots in `tail..head` (full), and ownership of a slot is handed over by the Release store of
// `head` (resp. `tail`) paired with the other side's Acquire load. There is exactly one `Producer`
// and one `Consumer` (neither is `Clone`), and all slot access needs `&mut` on a half.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// Pointer to the slot for `position`.
    #[inline(always)]
    fn slot(&self, position: usize) -> *mut MaybeUninit<T> {
        let index = position & self.mask;
        debug_assert!(index < self.slots.len());
        // SAFETY: `index <= mask < slots.len()` because `slots.len() == mask + 1`.
        unsafe { self.slots.get_unchecked(index) }.get()
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // Both halves are gone (this is the last `Arc`), so the indices are final and every
        // store to them is visible to us through the `Arc` drop synchronisation.
        let head = *self.head.0.get_mut();
        let mut position = *self.tail.0.get_mut();
        while position != head {
            // SAFETY: slots `tail..head` hold initialised values that nobody else owns any more;
            // each is dropped once because `position` advances past it.
            unsafe { (*self.slot(position)).assume_init_drop() };
            position = position.wrapping_add(1);
        }
    }
}

/// Build a queue holding at least `min_capacity` values (rounded up to a power of two).
///
/// Allocates once; the halves never allocate afterwards.
pub fn channel<T: Send>(min_capacity: usize) -> Result<(Producer<T>, Consumer<T>), CapacityError> {
    if min_capacity == 0 {
        return Err(CapacityError::Zero);
    }
    let capacity = match min_capacity.checked_next_power_of_two() {
        Some(c) if c <= MAX_CAPACITY => c,
        _ => {
            return Err(CapacityError::TooLarge {
                requested: min_capacity,
            })
        }
    };
    let slots: Box<[UnsafeCell<MaybeUninit<T>>]> = (0..capacity)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let ring = Arc::new(Ring {
        head: CachePadded(AtomicUsize::new(0)),
        tail: CachePadded(AtomicUsize::new(0)),
        dropped: CachePadded(AtomicU64::new(0)),
        mask: capacity - 1,
        slots,
    });
    let producer = Producer {
        ring: Arc::clone(&ring),
        head: 0,
        cached_tail: 0,
        capacity,
        dropped: 0,
    };
    let consumer = Consumer {
        ring,
        tail: 0,
        cached_head: 0,
    };
    Ok((producer, consumer))
}

/// The writing half. One per queue; `Send`, not `Clone`.
pub struct Producer<T> {
    ring: Arc<Ring<T>>,
    /// Private copy of `ring.head` (we are its only writer).
    head: usize,
    /// Last value of `ring.tail` we loaded; the real tail is never behind it.
    cached_tail: usize,
    capacity: usize,
    /// Private copy of `ring.dropped` (we are its only writer).
    dropped: u64,
}

impl<T> Producer<T> {
    /// Append `value`. Never blocks: if the ring is full the value is handed back as `Err` and
    /// the drop counter is incremented.
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), T> {
        let head = self.head;
        if head.wrapping_sub(self.cached_tail) == self.capacity {
            // Looks full with the cached tail: refresh it. Acquire pairs with the consumer's
            // Release store of `tail`, so the consumer's read of the slot we are about to reuse
            // happens-before our write to it.
            self.cached_tail = self.ring.tail.0.load(Ordering::Acquire);
            if head.wrapping_sub(self.cached_tail) == self.capacity {
                self.dropped += 1;
                // Only this thread writes the counter, so a plain store (no RMW) suffices;
                // Relaxed because it carries no data, it is a statistic.
                self.ring.dropped.0.store(self.dropped, Ordering::Relaxed);
                return Err(value);
            }
        }
        // SAFETY: `head - tail < capacity`, so slot `head` is outside `tail..head`: it is empty
        // and the consumer will not touch it until we publish `head + 1` below.
        unsafe { (*self.ring.slot(head)).write(value) };
        self.head = head.wrapping_add(1);
        // Release: the slot write above becomes visible to a consumer that Acquire-loads `head`.
        self.ring.head.0.store(self.head, Ordering::Release);
        Ok(())
    }

    /// Free slots as seen by the producer (may be lower than the truth: the consumer may have
    /// popped more since).
    #[inline]
    pub fn free_slots(&mut self) -> usize {
        self.cached_tail = self.ring.tail.0.load(Ordering::Acquire);
        self.capacity - self.head.wrapping_sub(self.cached_tail)
    }

    /// Number of slots (a power of two).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Pushes rejected so far because the ring was full.
    #[inline]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// True once the consumer has been dropped (values pushed now will never be read).
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.ring) == 1
    }
}

/// The reading half. One per queue; `Send`, not `Clone`.
pub struct Consumer<T> {
    ring: Arc<Ring<T>>,
    /// Private copy of `ring.tail` (we are its only writer).
    tail: usize,
    /// Last value of `ring.head` we loaded; the real head is never behind it.
    cached_head: usize,
}

impl<T> Consumer<T> {
    /// Number of values ready to pop, refreshing the cached head only when it shows none.
    #[inline(always)]
    fn ready(&mut self) -> usize {
        let mut ready = self.cached_head.wrapping_sub(self.tail);
        if ready == 0 {
            // Acquire pairs with the producer's Release store of `head`: the slot writes before
            // that store are visible to our reads below.
            self.cached_head = self.ring.head.0.load(Ordering::Acquire);
            ready = self.cached_head.wrapping_sub(self.tail);
        }
        ready
    }

    /// Take the oldest value, if any. Never blocks.
    #[inline]
    pub fn try_pop(&mut self) -> Option<T> {
        if self.ready() == 0 {
            return None;
        }
        let tail = self.tail;
        // SAFETY: `tail < head` (as published by the producer with Release and loaded with
        // Acquire), so the slot holds an initialised value that is ours to move out; advancing
        // `tail` below makes sure it is never read again.
        let value = unsafe { (*self.ring.slot(tail)).assume_init_read() };
        self.tail = tail.wrapping_add(1);
        // Release: our read of the slot happens-before the producer reuses it (it Acquire-loads
        // `tail` before writing).
        self.ring.tail.0.store(self.tail, Ordering::Release);
        Some(value)
    }

    /// Pop up to `out.len()` values into `out[..n]`, oldest first, and return `n`. The consumer
    /// index is published once for the whole batch.
    #[inline]
    pub fn pop_into(&mut self, out: &mut [T]) -> usize {
        let n = self.ready().min(out.len());
        let publish = TailPublisher {
            ring: &self.ring,
            tail: &mut self.tail,
        };
        for dest in out.iter_mut().take(n) {
            let position = *publish.tail;
            // SAFETY: `position` is in `tail..head` (n <= ready), so the slot is initialised and
            // ours; the tail is advanced before anything else can run, so even if dropping the
            // old `*dest` panics the value is never read twice.
            let value = unsafe { (*publish.ring.slot(position)).assume_init_read() };
            *publish.tail = position.wrapping_add(1);
            *dest = value;
        }
        n
    }

    /// Pop up to `max` values, calling `sink` on each, oldest first, and return how many were
    /// popped. The consumer index is published once (also if `sink` panics).
    #[inline]
    pub fn drain_with(&mut self, max: usize, mut sink: impl FnMut(T)) -> usize {
        let n = self.ready().min(max);
        let publish = TailPublisher {
            ring: &self.ring,
            tail: &mut self.tail,
        };
        for _ in 0..n {
            let position = *publish.tail;
            // SAFETY: as in `pop_into`: the slot is in `tail..head` and read exactly once because
            // the tail moves past it before `sink` runs.
            let value = unsafe { (*publish.ring.slot(position)).assume_init_read() };
            *publish.tail = position.wrapping_add(1);
            sink(value);
        }
        n
    }

    /// Values currently queued (a lower bound: the producer may have pushed more since).
    #[inline]
    pub fn len(&mut self) -> usize {
        self.cached_head = self.ring.head.0.load(Ordering::Acquire);
        self.cached_head.wrapping_sub(self.tail)
    }

    /// True if nothing is queued right now.
    #[inline]
    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// Number of slots (a power of two).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.ring.mask + 1
    }

    /// Pushes the producer has rejected so far because the ring was full.
    #[inline]
    pub fn dropped(&self) -> u64 {
        self.ring.dropped.0.load(Ordering::Relaxed)
    }

    /// True once the producer has been dropped; values already queued can still be popped.
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.ring) == 1
    }
}

/// Stores the consumer's private tail into the shared one when dropped, so a batch publishes once
/// and a panicking sink cannot leave popped values inside `tail..head`.
struct TailPublisher<'a, T> {
    ring: &'a Ring<T>,
    tail: &'a mut usize,
}

impl<T> Drop for TailPublisher<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Release: every slot read of this batch happens-before the producer reuses the slots.
        self.ring.tail.0.store(*self.tail, Ordering::Release);
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("spsc::Producer")
            .field("capacity", &self.capacity)
            .field("head", &self.head)
            .field("dropped", &self.dropped)
            .finish()
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("spsc::Consumer")
            .field("capacity", &self.capacity())
            .field("tail", &self.tail)
            .field("dropped", &self.dropped())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_indices_do_not_share_cache_lines() {
        assert_eq!(std::mem::align_of::<CachePadded<AtomicUsize>>(), 128);
        assert_eq!(std::mem::size_of::<CachePadded<AtomicUsize>>(), 128);
    }

    #[test]
    fn wraps_around_many_times() {
        let (mut p, mut c) = channel::<u32>(4).expect("valid capacity");
        for i in 0..1000u32 {
            assert!(p.push(i).is_ok());
            assert!(p.push(i + 1).is_ok());
            assert_eq!(c.try_pop(), Some(i));
            assert_eq!(c.try_pop(), Some(i + 1));
            assert_eq!(c.try_pop(), None);
        }
        assert_eq!(p.dropped(), 0);
    }
}
