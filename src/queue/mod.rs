//! Bounded lock-free queues between the hot thread and the risk/telemetry thread.

pub mod byte_ring;
pub mod spsc;
