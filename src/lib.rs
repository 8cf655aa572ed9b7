//! sattebaaz: a low-latency busy-poll trading engine for Polymarket's short-duration crypto
//! "Up or Down" markets.
//!
//! Threads: one pinned *hot* thread runs a hand-rolled mio event loop (network, parsing, books,
//! signals, strategies, order bytes); one pinned *risk/telemetry* thread does everything that may
//! block or allocate (DNS, key material, histogram dumps, metrics). They talk through bounded
//! lock-free SPSC queues (`queue::spsc`). See `docs/ARCHITECTURE.md`.
//!
//! Invariants kept crate-wide: money and prices are integers (micro-units or ticks, see
//! [`fixed`]); the hot thread never blocks, never allocates after warm-up and never formats log
//! strings; venue input never panics the engine.

pub mod book;
pub mod calibrate;
pub mod clock;
pub mod config;
pub mod discovery;
pub mod engine;
pub mod exec;
pub mod feeds;
pub mod fixed;
pub mod net;
pub mod orchestrator;
pub mod queue;
pub mod record;
pub mod replay;
pub mod risk;
pub mod runtime;
pub mod signals;
pub mod sim;
pub mod strategy;
pub mod telemetry;
