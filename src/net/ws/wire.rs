//! The byte pipe between tungstenite and a [`Transport`]: one outbound FIFO that every byte
//! leaving the connection passes through (tungstenite's frames, handshake bytes, pongs, and our
//! own zero-copy client frames), an encoder for masked client frames, and the connection's
//! [`Receiver`] (read buffer + frame parser) that every inbound byte lands in.
//!
//! Invariants: outbound bytes leave in exactly the order they were accepted, whoever wrote them;
//! the FIFO never grows past the capacity fixed at construction (a full FIFO answers
//! `WouldBlock`, or [`WireIo::push_client_frame`] answers `false`), so steady-state sends never
//! allocate; `Write::flush` pushes what the socket takes and never blocks.

use std::io::{self, Read, Write};

use super::recv::Receiver;
use crate::net::counters::NetCounters;
use crate::net::transport::Transport;

/// Largest client frame header: 2 bytes + 8-byte extended length + 4-byte mask key.
const MAX_CLIENT_HEADER: usize = 14;

/// A transport plus the single outbound FIFO in front of it.
#[derive(Debug)]
pub struct WireIo<T> {
    transport: T,
    /// Bytes accepted but not yet taken by the transport, oldest first.
    tx: Vec<u8>,
    /// Hard cap on `tx.len()` (its capacity is reserved up front).
    tx_cap: usize,
    /// State of the xorshift generator for frame mask keys (never zero).
    mask_state: u64,
    /// Byte and read counters of this connection (only the byte/read fields are used).
    counters: NetCounters,
    /// Inbound bytes: the upgrade response head (handed to tungstenite), then frames.
    rx: Receiver,
    /// The upgrade is in progress: `Read` hands out the response head only.
    handshaking: bool,
}

/// The transport as a `Read` that keeps the connection's byte and read counters.
struct Counted<'a, T> {
    transport: &'a mut T,
    counters: &'a mut NetCounters,
}

impl<T: Transport> Read for Counted<'_, T> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.transport.read(buf);
        match &result {
            Ok(n) => self.counters.add_in(*n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.counters.add_empty_read(),
            Err(_) => {}
        }
        result
    }
}

impl<T: Transport> WireIo<T> {
    /// Wrap `transport` with an outbound FIFO of `tx_cap` bytes (allocated now) and the
    /// receiver `rx`; `Read` serves the upgrade response head until
    /// [`finish_handshake`](Self::finish_handshake).
    pub fn new(transport: T, tx_cap: usize, mask_seed: u64, rx: Receiver) -> Self {
        Self {
            transport,
            tx: Vec::with_capacity(tx_cap),
            tx_cap,
            mask_state: mask_seed | 1,
            counters: NetCounters::default(),
            rx,
            handshaking: true,
        }
    }

    /// The upgrade completed: from now on inbound bytes are frames for [`Self::receiver`].
    pub fn finish_handshake(&mut self) {
        self.handshaking = false;
    }

    /// The receiver (read buffer and frame parser).
    #[inline]
    pub fn receiver(&mut self) -> &mut Receiver {
        &mut self.rx
    }

    /// One read from the transport into the receiver's buffer (counted).
    #[inline]
    pub fn fill(&mut self) -> io::Result<usize> {
        let mut src = Counted {
            transport: &mut self.transport,
            counters: &mut self.counters,
        };
        self.rx.fill(&mut src)
    }

    /// Plaintext bytes in/out and reads of this connection so far.
    pub fn counters(&self) -> &NetCounters {
        &self.counters
    }

    /// The wrapped transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The wrapped transport, mutably (for socket registration and connect checks).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Bytes still waiting in the FIFO.
    pub fn pending_bytes(&self) -> usize {
        self.tx.len()
    }

    /// Push as much of the FIFO (and the transport's own buffered records) to the socket as it
    /// takes now. `Ok(true)` when nothing is left anywhere.
    pub fn drain(&mut self) -> io::Result<bool> {
        while !self.tx.is_empty() {
            match self.transport.write(&self.tx) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "transport accepted no bytes",
                    ))
                }
                Ok(n) => {
                    self.counters.add_out(n);
                    self.tx.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let transport_empty = match self.transport.flush_pending() {
            Ok(empty) => empty,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            Err(e) => return Err(e),
        };
        Ok(self.tx.is_empty() && transport_empty)
    }

    /// Encode one final, masked client frame (`opcode` 0x1 text, 0x2 binary, 0x8 close, 0xA pong) carrying
    /// `payload` straight into the FIFO and push what the socket takes. Returns `Ok(false)`
    /// (nothing queued) when the frame does not fit in the FIFO's free space.
    pub fn push_client_frame(&mut self, opcode: u8, payload: &[u8]) -> io::Result<bool> {
        let needed = MAX_CLIENT_HEADER + payload.len();
        if self.tx_cap - self.tx.len() < needed {
            // Maybe the socket takes some now; then re-check.
            self.drain()?;
            if self.tx_cap - self.tx.len() < needed {
                return Ok(false);
            }
        }
        let mask = self.next_mask();
        self.tx.push(0x80 | (opcode & 0x0f));
        let len = payload.len();
        if len < 126 {
            self.tx.push(0x80 | len as u8);
        } else if let Ok(len16) = u16::try_from(len) {
            self.tx.push(0x80 | 126);
            self.tx.extend_from_slice(&len16.to_be_bytes());
        } else {
            self.tx.push(0x80 | 127);
            self.tx.extend_from_slice(&(len as u64).to_be_bytes());
        }
        self.tx.extend_from_slice(&mask);
        let start = self.tx.len();
        self.tx.extend_from_slice(payload);
        for (i, byte) in self.tx[start..].iter_mut().enumerate() {
            *byte ^= mask[i & 3];
        }
        self.drain()?;
        Ok(true)
    }

    /// Next frame mask key (xorshift64; masking is for intermediaries, not secrecy).
    fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.mask_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.mask_state = x;
        let [a, b, c, d, ..] = x.to_le_bytes();
        [a, b, c, d]
    }
}

impl<T: Transport> Read for WireIo<T> {
    /// During the upgrade: the response head, never past it. After it: `WouldBlock` (frames are
    /// read through [`WireIo::fill`] and [`Receiver::next_frame`], never through tungstenite).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.handshaking {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut src = Counted {
            transport: &mut self.transport,
            counters: &mut self.counters,
        };
        self.rx.read_handshake(&mut src, buf)
    }
}

impl<T: Transport> Write for WireIo<T> {
    /// Accept bytes into the FIFO (writing straight through when it is empty). Answers
    /// `WouldBlock` only when the FIFO is full.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut written = 0;
        if self.tx.is_empty() {
            match self.transport.write(buf) {
                Ok(n) => {
                    self.counters.add_out(n);
                    written = n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let rest = &buf[written..];
        let take = rest.len().min(self.tx_cap - self.tx.len());
        if written == 0 && take == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.tx.extend_from_slice(&rest[..take]);
        Ok(written + take)
    }

    /// Push what the socket takes; never blocks, never fails on a busy socket.
    fn flush(&mut self) -> io::Result<()> {
        self.drain().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory transport that takes at most `take` bytes per write.
    struct Sink {
        out: Vec<u8>,
        take: usize,
    }
    impl Read for Sink {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.take == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.take);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Transport for Sink {
        fn flush_pending(&mut self) -> io::Result<bool> {
            Ok(true)
        }
        fn is_handshaking(&self) -> bool {
            false
        }
        fn socket(&mut self) -> &mut mio::net::TcpStream {
            unreachable!("not a socket")
        }
    }

    fn unmask(frame: &[u8]) -> (u8, Vec<u8>) {
        let opcode = frame[0] & 0x0f;
        assert_eq!(frame[0] & 0x80, 0x80, "FIN set");
        assert_eq!(frame[1] & 0x80, 0x80, "masked");
        let (len, mut at) = match frame[1] & 0x7f {
            126 => (u16::from_be_bytes([frame[2], frame[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(frame[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let mask = [frame[at], frame[at + 1], frame[at + 2], frame[at + 3]];
        at += 4;
        assert_eq!(frame.len() - at, len);
        let data = frame[at..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i & 3])
            .collect();
        (opcode, data)
    }

    #[test]
    fn client_frames_round_trip_at_every_length_class() {
        for len in [0usize, 4, 125, 126, 1000, 65_535, 65_536, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut io = WireIo::new(
                Sink {
                    out: Vec::new(),
                    take: usize::MAX,
                },
                1 << 17,
                42,
                Receiver::new(256, 1 << 20, 1 << 20),
            );
            assert!(io.push_client_frame(0x2, &payload).unwrap());
            let (op, data) = unmask(&io.transport().out);
            assert_eq!(op, 0x2);
            assert_eq!(data, payload, "len {len}");
        }
    }

    #[test]
    fn fifo_keeps_order_across_partial_writes_and_refuses_when_full() {
        let mut io = WireIo::new(
            Sink {
                out: Vec::new(),
                take: 0,
            },
            64,
            7,
            Receiver::new(256, 1 << 20, 1 << 20),
        );
        assert_eq!(io.write(b"hello ").unwrap(), 6);
        assert!(io.push_client_frame(0x1, b"PING").unwrap());
        assert_eq!(io.write(b"tail").unwrap(), 4);
        // 6 + (2 + 4 + 4) + 4 = 20 queued; a 60-byte frame no longer fits.
        assert!(!io.push_client_frame(0x1, &[b'x'; 46]).unwrap());
        assert_eq!(io.write(&[0u8; 100]).unwrap(), 44);
        assert!(io.write(b"z").is_err());
        io.transport_mut().take = 3;
        assert!(io.drain().unwrap());
        let out = &io.transport().out;
        assert_eq!(&out[..6], b"hello ");
        let (op, data) = unmask(&out[6..16]);
        assert_eq!((op, data.as_slice()), (0x1, &b"PING"[..]));
        assert_eq!(&out[16..20], b"tail");
        assert_eq!(out.len(), 64);
    }
}
