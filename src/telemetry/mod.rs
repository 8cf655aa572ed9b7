//! Telemetry: per-stage latency histograms (fixed bounds, recorded on the owning thread) and
//! counters, dumped on shutdown.

pub mod alloc_count;
pub mod latency;
