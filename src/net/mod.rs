//! The wire layer, driven by one mio poll loop on the hot thread: non-blocking TCP, rustls TLS
//! advanced by readiness, WebSocket (tungstenite) and a hand-rolled HTTP/1.1 keep-alive client
//! (httparse), with per-connection reconnect backoff. Nothing here blocks; DNS is resolved off
//! the hot path. Every connect, drop, reconnect and error is counted.

pub mod backoff;
pub mod counters;
pub mod dns;
pub mod http;
pub mod poll;
pub mod tcp;
pub mod tls;
pub mod tls_record;
pub mod transport;
pub mod warm;
pub mod ws;
