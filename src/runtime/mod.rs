//! Process runtime: CPU pinning of the two engine threads, signal-driven shutdown, and
//! memory locking after warm-up.

pub mod memory;
pub mod pin;
pub mod signals;
