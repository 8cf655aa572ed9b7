//! Non-blocking TCP: start a connect without waiting, decide when it has completed from
//! readiness, and normalise the `WouldBlock` / `Interrupted` / EOF outcomes of socket calls.
//!
//! Invariants: nothing here blocks. `connect` returns at once with a socket that is still
//! connecting; the caller registers it with mio and calls [`poll_connect`] on each writable
//! event until it reports [`ConnectProgress::Connected`] or an error. Every stream made here has
//! `TCP_NODELAY` set (small order/heartbeat frames must not wait for Nagle).

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::TcpStream;

/// Start a non-blocking connect to `addr` with `TCP_NODELAY` set. The returned socket is usually
/// still connecting: register it for `WRITABLE` and confirm with [`poll_connect`].
#[cold]
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Where a non-blocking connect stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectProgress {
    /// The three-way handshake finished; the socket is usable.
    Connected,
    /// Still connecting (a spurious or early wake-up); wait for the next writable event.
    Pending,
}

/// Decide whether a connect started by [`connect`] has completed. Call it when the socket is
/// reported writable (or with an error/hang-up). A failed connect (refused, unreachable, timed
/// out) is returned as the socket's pending error. Never blocks.
#[cold]
pub fn poll_connect(stream: &TcpStream) -> io::Result<ConnectProgress> {
    if let Some(err) = stream.take_error()? {
        return Err(err);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(ConnectProgress::Connected),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(ConnectProgress::Pending),
        Err(e) => Err(e),
    }
}

/// The outcome of one non-blocking read or write, with the error cases a caller must treat as
/// control flow turned into values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoStep {
    /// This many bytes were transferred (always > 0).
    Bytes(usize),
    /// Nothing can be transferred until the next readiness event.
    WouldBlock,
    /// The peer closed (read returned 0, or write accepted 0 of a non-empty buffer).
    Closed,
}

/// Map the result of a read/write of a `requested`-byte buffer to an [`IoStep`]. `WouldBlock`
/// becomes a value, `Ok(0)` for a non-empty buffer becomes `Closed`; other errors pass through.
/// `Interrupted` passes through as well: use [`read_step`]/[`write_step`], which retry it.
#[inline]
pub fn classify(result: io::Result<usize>, requested: usize) -> io::Result<IoStep> {
    match result {
        Ok(0) if requested > 0 => Ok(IoStep::Closed),
        Ok(n) => Ok(IoStep::Bytes(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(IoStep::WouldBlock),
        Err(e) => Err(e),
    }
}

/// One `read` into `buf`, retrying `Interrupted`, classified by [`classify`]. An empty `buf`
/// yields `Bytes(0)`.
#[inline]
pub fn read_step<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<IoStep> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return classify(other, buf.len()),
        }
    }
}

/// One `write` of `buf`, retrying `Interrupted`, classified by [`classify`]. An empty `buf`
/// yields `Bytes(0)`.
#[inline]
pub fn write_step<W: Write + ?Sized>(writer: &mut W, buf: &[u8]) -> io::Result<IoStep> {
    loop {
        match writer.write(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return classify(other, buf.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn classify_maps_control_flow_outcomes() {
        assert_eq!(classify(Ok(5), 10).unwrap(), IoStep::Bytes(5));
        assert_eq!(classify(Ok(0), 10).unwrap(), IoStep::Closed);
        assert_eq!(classify(Ok(0), 0).unwrap(), IoStep::Bytes(0));
        let wb = classify(Err(io::ErrorKind::WouldBlock.into()), 4).unwrap();
        assert_eq!(wb, IoStep::WouldBlock);
        let reset = classify(Err(io::ErrorKind::ConnectionReset.into()), 4).unwrap_err();
        assert_eq!(reset.kind(), io::ErrorKind::ConnectionReset);
    }

    /// A reader that is interrupted a few times before yielding data.
    struct Flaky {
        interrupts_left: u32,
        inner: Cursor<Vec<u8>>,
    }
    impl Read for Flaky {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.interrupts_left > 0 {
                self.interrupts_left -= 1;
                return Err(io::ErrorKind::Interrupted.into());
            }
            self.inner.read(buf)
        }
    }

    #[test]
    fn read_step_retries_interrupted_and_reports_eof() {
        let mut r = Flaky {
            interrupts_left: 3,
            inner: Cursor::new(b"abc".to_vec()),
        };
        let mut buf = [0u8; 8];
        assert_eq!(read_step(&mut r, &mut buf).unwrap(), IoStep::Bytes(3));
        assert_eq!(&buf[..3], b"abc");
        assert_eq!(read_step(&mut r, &mut buf).unwrap(), IoStep::Closed);
    }

    #[test]
    fn connect_to_a_listener_completes_and_refused_connect_errors() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut poll = mio::Poll::new().unwrap();
        let mut events = mio::Events::with_capacity(8);
        let mut stream = connect(addr).unwrap();
        assert!(stream.nodelay().unwrap());
        poll.registry()
            .register(&mut stream, mio::Token(1), mio::Interest::WRITABLE)
            .unwrap();
        let mut connected = false;
        for _ in 0..100 {
            poll.poll(&mut events, Some(std::time::Duration::from_millis(100)))
                .unwrap();
            if events.iter().any(|e| e.token() == mio::Token(1))
                && poll_connect(&stream).unwrap() == ConnectProgress::Connected
            {
                connected = true;
                break;
            }
        }
        assert!(connected, "loopback connect never completed");

        // A port with nothing listening: bind, learn the port, close, then connect to it.
        let closed_addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let mut refused = connect(closed_addr).unwrap();
        poll.registry()
            .register(&mut refused, mio::Token(2), mio::Interest::WRITABLE)
            .unwrap();
        let mut failure = None;
        for _ in 0..100 {
            poll.poll(&mut events, Some(std::time::Duration::from_millis(100)))
                .unwrap();
            if events.iter().any(|e| e.token() == mio::Token(2)) {
                match poll_connect(&refused) {
                    Ok(ConnectProgress::Pending) => continue,
                    Ok(ConnectProgress::Connected) => panic!("connect to a closed port succeeded"),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
        }
        let err = failure.expect("refused connect was never reported");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }
}
