//! Keeping the kernel's TCP send path warm on a busy-polling thread that sends rarely.
//!
//! A hot thread that polls sockets for hundreds of milliseconds between two orders finds the
//! kernel's transmit code and data (`tcp_sendmsg`, the IP output path, socket buffer
//! accounting) evicted from its caches: on the reference machine one 1.4 KB `write` on
//! loopback took about 26 µs after 100 ms of polling and 8.5 µs when the thread had written a
//! byte through a local TCP connection every millisecond (docs/BENCHMARKS.md). The order's own
//! `write` is the largest single cost between a decision and the request leaving, so
//! [`SendPathWarmer`] keeps a connected loopback TCP pair and, from the hot loop's timer, writes a
//! few bytes through it and reads them back at a fixed interval.
//!
//! Invariants: both ends are non-blocking and owned here, so a tick never blocks and nothing
//! leaves the machine; a tick allocates nothing; the bytes written are always read back in the
//! same tick (the pair never fills); any socket error turns the warmer off for good and is
//! counted, since warming is an optimisation and must never disturb the loop.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};

/// Bytes written per tick: about one order request, so the copy path is warmed too.
const WARM_BYTES: usize = 1024;

/// A loopback TCP pair written and drained at a fixed interval (see the module docs).
pub struct SendPathWarmer {
    tx: TcpStream,
    rx: TcpStream,
    cadence: crate::clock::Cadence,
    out: [u8; WARM_BYTES],
    sink: [u8; WARM_BYTES],
    /// Ticks that wrote and read back.
    pub writes: u64,
    /// Set after the first socket error (the warmer is then off).
    pub failed: bool,
}

impl SendPathWarmer {
    /// Connect the pair (blocking, at start-up) and warm every `interval_ns` (> 0).
    pub fn new(interval_ns: u64) -> io::Result<SendPathWarmer> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let tx = TcpStream::connect(listener.local_addr()?)?;
        let (rx, _) = listener.accept()?;
        for s in [&tx, &rx] {
            s.set_nodelay(true)?;
            s.set_nonblocking(true)?;
        }
        Ok(SendPathWarmer {
            tx,
            rx,
            cadence: crate::clock::Cadence::every(interval_ns),
            out: [b'w'; WARM_BYTES],
            sink: [0; WARM_BYTES],
            writes: 0,
            failed: false,
        })
    }

    /// Write and read back once if the interval has passed at `now_ns`.
    #[inline]
    pub fn tick(&mut self, now_ns: u64) {
        if self.failed || !self.cadence.due(now_ns) {
            return;
        }
        match self.write_and_drain() {
            Ok(()) => self.writes += 1,
            Err(_) => self.failed = true,
        }
    }

    fn write_and_drain(&mut self) -> io::Result<()> {
        let written = match self.tx.write(&self.out) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        // On loopback the bytes are in the receive queue when `write` returns; read them all
        // (a short read just leaves the rest for the next tick's read).
        let mut left = written;
        while left > 0 {
            match self.rx.read(&mut self.sink) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => left = left.saturating_sub(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_at_the_interval_and_never_fill_the_pair() {
        let mut w = SendPathWarmer::new(1_000).expect("loopback pair");
        w.tick(0);
        assert_eq!(w.writes, 1);
        w.tick(500);
        assert_eq!(w.writes, 1, "not before the interval");
        // Far more bytes than any socket buffer holds: each tick drains what it wrote.
        for k in 1..=5_000u64 {
            w.tick(k * 1_000);
        }
        assert_eq!(w.writes, 5_001);
        assert!(!w.failed);
    }

    #[test]
    fn a_closed_peer_turns_it_off_without_panicking() {
        let mut w = SendPathWarmer::new(1).expect("loopback pair");
        w.rx.shutdown(std::net::Shutdown::Both).unwrap();
        for k in 0..10 {
            w.tick(k * 10);
        }
        assert!(w.failed, "a dead pair is noticed");
        let before = w.writes;
        w.tick(1_000_000);
        assert_eq!(w.writes, before, "and left alone");
    }
}
