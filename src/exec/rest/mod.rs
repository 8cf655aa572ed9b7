//! Typed Polymarket CLOB REST client.
//!
//! * [`requests`]: paths, bodies and L2/L1 headers written into pre-sized buffers.
//! * [`responses`]: typed answers (allocation-free on the order path).
//! * [`errors`]: documented order errors and HTTP outcomes.
//! * [`client`]: the non-blocking client over [`crate::net::http::HttpPool`], driven by the
//!   caller's mio loop (hot thread): submit / batch / cancel / reconcile, 429 back-off,
//!   425 post-only window, unknown outcomes surfaced for reconciliation (never resent).
//! * [`blocking`]: a small blocking driver (own mio poll) with every endpoint, for the risk
//!   thread and the CLI.

pub mod blocking;
pub mod client;
pub mod errors;
pub mod requests;
pub mod responses;

pub use errors::{LocalRefusal, OrderRejectReason, RestError};
