//! Telemetry: per-stage latency histograms (fixed bounds, recorded on the owning thread) and
//! counters, dumped on shutdown; the risk thread's snapshot of the whole engine, served as
//! Prometheus metrics, JSON and a dashboard page by a small non-blocking HTTP server; operator
//! alerts to Telegram / Discord from a dedicated worker thread.

pub mod alert_post;
pub mod alerts;
pub mod alloc_count;
pub mod dashboard;
pub mod http_server;
pub mod latency;
pub mod metrics;
pub mod service;
pub mod snapshot;
