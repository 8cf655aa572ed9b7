//! A byte transport a protocol layer (WebSocket, HTTP) runs over: a non-blocking, readiness-driven
//! `Read + Write` that may buffer outbound bytes (TLS records) and may still be handshaking.
//!
//! Invariants: `read`/`write` never block (they return `WouldBlock`); `Ok(0)` from `read` means the
//! peer closed; bytes accepted by `write` are either on the socket or buffered inside the
//! transport until `flush_pending` reports everything written.

use std::io::{self, Read, Write};

/// A non-blocking byte stream registered with a mio `Poll`.
pub trait Transport: Read + Write {
    /// Push bytes buffered inside the transport (TLS records, handshake messages) to the socket.
    /// Returns `Ok(true)` when nothing is left buffered.
    fn flush_pending(&mut self) -> io::Result<bool>;
    /// True while a handshake (TLS) has not completed; application bytes may still be written
    /// (they are buffered) but none will be read.
    fn is_handshaking(&self) -> bool;
    /// The underlying socket, for registering with mio.
    fn socket(&mut self) -> &mut mio::net::TcpStream;
    /// Run the transport's per-write work (TLS: sealing) over `scratch` without touching the
    /// session or the socket, so a thread that writes rarely keeps that code in cache.
    /// `scratch` is overwritten. Plain transports have nothing to warm.
    #[inline]
    fn warm_seal(&mut self, scratch: &mut [u8]) {
        let _ = scratch;
    }
}

impl Transport for mio::net::TcpStream {
    #[inline]
    fn flush_pending(&mut self) -> io::Result<bool> {
        Ok(true)
    }
    #[inline]
    fn is_handshaking(&self) -> bool {
        false
    }
    #[inline]
    fn socket(&mut self) -> &mut mio::net::TcpStream {
        self
    }
}
