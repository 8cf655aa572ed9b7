//! Kernel transmit times for the simulator's measurement hooks: [`tx_stamped`] runs one write on
//! a TCP socket with software transmit timestamps (`SO_TIMESTAMPING`, `TX_SOFTWARE`) switched on
//! for exactly that write, then reads from the socket's error queue when the kernel handed the
//! last byte to the network device, on [`crate::clock::mono_ns`]'s clock. With `sim::rx_stamp`
//! on the simulated CLOB this lets a benchmark time "frame on the wire → order on the wire" at
//! the same layer on both ends, without the simulator's own TLS sealing and system call in it.
//!
//! Invariants: the write itself behaves exactly as without stamping (same result, same bytes);
//! stamps are generated only for this write, so other writes never fill the error queue; a stamp
//! that the kernel refuses or does not report in time gives `None`, never a guessed time; the
//! kernel's `CLOCK_REALTIME` stamp is moved onto the monotonic clock with the offset between the
//! two clocks read right after (sub-microsecond error, no drift within a run). Linux only.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// `SO_TIMESTAMPING` / `SCM_TIMESTAMPING` (asm-generic and x86; not in the `libc` crate for
/// these targets).
const SO_TIMESTAMPING: libc::c_int = 37;
/// How long the error queue is polled for the stamp after the write returned (on loopback the
/// stamp is taken inside the write; a congested socket may send later).
const STAMP_WAIT: Duration = Duration::from_millis(5);

/// Turn generation of software transmit stamps on or off. Reporting them
/// (`SOF_TIMESTAMPING_SOFTWARE`) stays on: the kernel checks it when the error queue is read.
fn set_tx_stamping(fd: RawFd, on: bool) -> bool {
    let report = libc::SOF_TIMESTAMPING_SOFTWARE | libc::SOF_TIMESTAMPING_OPT_TSONLY;
    let flags: libc::c_uint = if on {
        report | libc::SOF_TIMESTAMPING_TX_SOFTWARE
    } else {
        report
    };
    // SAFETY: a socket descriptor and a c_uint option value of the stated size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_TIMESTAMPING,
            (&flags as *const libc::c_uint).cast(),
            std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// Read every message waiting on `fd`'s error queue without blocking; the latest software
/// transmit stamp among them (wall clock, ns), if any.
fn drain_error_queue(fd: RawFd) -> Option<i128> {
    let mut latest: Option<i128> = None;
    let mut data = [0u8; 64];
    while super::rx_stamp::recv_stamped(
        fd,
        &mut data,
        libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        |level, kind, wall| {
            if level == libc::SOL_SOCKET && kind == SO_TIMESTAMPING && wall > 0 {
                latest = Some(latest.map_or(wall, |l| l.max(wall)));
            }
        },
    )
    .is_ok()
    {}
    latest
}

/// Run `write` (which sends on the TCP socket `fd`) with software transmit stamps on; its result
/// and when the kernel transmitted the last byte it sent ([`crate::clock::mono_ns`] clock), or
/// `None` when stamping was refused, nothing was sent, or no stamp came within a few ms.
pub fn tx_stamped<T>(
    fd: RawFd,
    write: impl FnOnce() -> io::Result<T>,
) -> (io::Result<T>, Option<u64>) {
    let _stale = drain_error_queue(fd);
    if !set_tx_stamping(fd, true) {
        return (write(), None);
    }
    let result = write();
    set_tx_stamping(fd, false);
    if result.is_err() {
        let _ = drain_error_queue(fd);
        return (result, None);
    }
    let deadline = Instant::now() + STAMP_WAIT;
    let wall = loop {
        if let Some(w) = drain_error_queue(fd) {
            break Some(w);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::yield_now();
    };
    (result, wall.and_then(super::rx_stamp::wall_to_mono))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn a_stamped_write_is_timed_between_its_start_and_its_arrival() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut server, _) = l.accept().unwrap();
        let fd = client.as_raw_fd();
        let before = crate::clock::mono_ns();
        let (r, tx) = tx_stamped(fd, || client.write_all(b"hello"));
        let after = crate::clock::mono_ns();
        r.unwrap();
        let tx = tx.expect("a software transmit stamp on loopback");
        // The clocks are converted with a sub-microsecond error: allow 50 µs either side.
        assert!(
            tx + 50_000 >= before && tx <= after + 50_000,
            "{before} {tx} {after}"
        );
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello", "the bytes went out unchanged");
        // Stamping was on for that write only: a plain write leaves nothing to read.
        client.write_all(b"again").unwrap();
        server.read_exact(&mut buf).unwrap();
        assert_eq!(
            drain_error_queue(fd),
            None,
            "no stamp for an unstamped write"
        );
        // A write that sends nothing has no stamp.
        let (r, tx) = tx_stamped(fd, || Ok::<(), io::Error>(()));
        r.unwrap();
        assert_eq!(tx, None);
    }
}
