//! Bounded lock-free queues between the hot thread and the risk/telemetry thread.

pub mod spsc;
pub mod byte_ring;
