//! A counting global allocator for tests that prove a code path allocates nothing.
//!
//! A test binary installs it with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc;` and then brackets the code under
//! test with [`allocations`] (or [`count_allocations`]). Counts are per thread, so other threads
//! of the test harness do not disturb the measurement. It forwards to the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// Global allocator wrapper that counts allocations and reallocations made by each thread.
pub struct CountingAlloc;

// SAFETY: forwards every call unchanged to `System`; only a thread-local counter is touched.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[inline]
fn bump() {
    // `try_with`: the TLS slot may already be gone while a thread is being torn down.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

/// Allocations (including reallocations) made so far by the calling thread.
pub fn allocations() -> u64 {
    ALLOCS.try_with(|c| c.get()).unwrap_or(0)
}

/// Run `f` and return how many allocations the calling thread made inside it, with its result.
pub fn count_allocations<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = allocations();
    let r = f();
    (allocations() - before, r)
}
