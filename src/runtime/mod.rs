//! Process runtime: CPU pinning of the two engine threads and signal-driven shutdown.

pub mod pin;
pub mod signals;
