//! The receive side of an open client connection: one reusable read buffer, filled straight from
//! the transport, out of which server frames are parsed in place (headers by tungstenite's
//! [`FrameHeader::parse`]) and handed out as borrowed payload slices.
//!
//! Invariants:
//! * every RFC 6455 rule for a client holds: server frames must be unmasked, RSV bits zero,
//!   opcodes known (tungstenite's header parser refuses reserved ones), control frames final and
//!   ≤ 125 bytes, continuation frames only inside a fragmented message and no new data message
//!   inside one, text messages valid UTF-8, close payloads empty or a code plus a UTF-8 reason,
//!   and nothing after the peer's close frame;
//! * a frame whose header announces more than `max_frame_bytes`, or a message that would exceed
//!   `max_message_bytes`, is refused from its header, before its payload is buffered;
//! * no allocation per frame or message: unfragmented payloads are slices of the read buffer;
//!   fragments are collected in one reassembly buffer whose capacity is kept; the read buffer
//!   only grows (once) when a single frame is larger than it;
//! * during the HTTP upgrade ([`Receiver::read_handshake`]) bytes are handed to tungstenite only
//!   up to the end of the response head, so frames that arrive in the same segment as the `101`
//!   stay here instead of in tungstenite's buffer.

use std::io::{self, Cursor, Read};

use tungstenite::error::ProtocolError;
use tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

use super::WsError;

/// Largest control frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// One thing received from the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// A complete data message (`text` already checked to be UTF-8).
    Data {
        /// Message payload: a slice of the read buffer, or of the reassembly buffer.
        payload: &'a [u8],
        /// Text (opcode 0x1) rather than binary.
        text: bool,
    },
    /// A ping; its payload (≤ 125 bytes) is to be echoed in a pong.
    Ping(&'a [u8]),
    /// A pong.
    Pong,
    /// The peer's close frame: its code (1005 when it carried none) and whether the code may be
    /// echoed (`false`: a code not allowed on the wire, answered with 1002).
    Close {
        /// The received code.
        code: u16,
        /// The code is allowed on the wire.
        allowed: bool,
    },
}

/// Read buffer, frame parser and fragment reassembly of one connection.
#[derive(Debug)]
pub struct Receiver {
    /// Bytes `start..end` are received and not yet consumed.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes the frame at `start` needs in full (0: unknown yet).
    need: usize,
    /// Reassembly of a fragmented message; `Some(is_text)` while one is in progress.
    frag: Vec<u8>,
    frag_text: Option<bool>,
    /// The reassembly buffer was handed out and is cleared on the next call.
    frag_delivered: bool,
    /// The peer's close frame was received: any further frame is a protocol error.
    close_received: bool,
    /// Progress through the `\r\n\r\n` that ends the upgrade response head.
    head_match: u8,
    max_frame_bytes: usize,
    max_message_bytes: usize,
}

impl Receiver {
    /// A receiver with a read buffer of `read_buffer_bytes` (allocated and zeroed now).
    pub fn new(read_buffer_bytes: usize, max_frame_bytes: usize, max_message_bytes: usize) -> Self {
        Self {
            buf: vec![0; read_buffer_bytes.max(256)],
            start: 0,
            end: 0,
            need: 0,
            frag: Vec::new(),
            frag_text: None,
            frag_delivered: false,
            close_received: false,
            head_match: 0,
            max_frame_bytes,
            max_message_bytes,
        }
    }

    /// Bytes received and not yet consumed.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// The peer's close frame has been received.
    pub fn close_received(&self) -> bool {
        self.close_received
    }

    /// One read from `src` into the free end of the buffer (compacting first, and growing when
    /// the frame being received does not fit). Returns what `src.read` returned.
    #[inline]
    pub fn fill(&mut self, src: &mut impl Read) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0
            && (self.end == self.buf.len() || self.need > self.buf.len() - self.start)
        {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.need > self.buf.len() {
            self.grow();
        }
        let n = src.read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }

    #[cold]
    fn grow(&mut self) {
        // Bounded: `need` never exceeds max_frame_bytes + 14 (checked from the header).
        self.buf.resize(self.need, 0);
    }

    /// Hand tungstenite's upgrade reader the next bytes of the response head (never past its
    /// terminating blank line), reading from `src` when nothing is buffered. After the head
    /// `WouldBlock`: later bytes are frames, for [`next_frame`](Self::next_frame).
    pub fn read_handshake(&mut self, src: &mut impl Read, out: &mut [u8]) -> io::Result<usize> {
        if self.head_match == 4 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if self.start == self.end {
            let n = self.fill(src)?;
            if n == 0 {
                return Ok(0);
            }
        }
        let avail = &self.buf[self.start..self.end];
        let mut take = 0;
        while take < avail.len() && take < out.len() && self.head_match < 4 {
            self.head_match = match (self.head_match, avail[take]) {
                (0 | 2, b'\r') => self.head_match + 1,
                (1 | 3, b'\n') => self.head_match + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            take += 1;
        }
        out[..take].copy_from_slice(&avail[..take]);
        self.start += take;
        Ok(take)
    }

    /// Parse the next complete frame out of the buffer. `Ok(None)`: more bytes are needed (call
    /// [`fill`](Self::fill)). Fragments are absorbed; a complete message, ping, pong or close is
    /// returned. Errors are protocol violations and size limits; the connection must be dropped.
    #[inline]
    pub fn next_frame(&mut self) -> Result<Option<Inbound<'_>>, WsError> {
        if self.frag_delivered {
            self.frag_delivered = false;
            self.frag.clear();
        }
        loop {
            let avail = &self.buf[self.start..self.end];
            if avail.len() < 2 || avail.len() < self.need {
                return Ok(None);
            }
            let mut cursor = Cursor::new(avail);
            let (header, len) = match FrameHeader::parse(&mut cursor) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => return Ok(None),
                Err(tungstenite::Error::Protocol(p)) => return Err(WsError::Protocol(p)),
                Err(_) => {
                    return Err(WsError::Protocol(ProtocolError::InvalidOpcode(
                        avail[0] & 0x0f,
                    )))
                }
            };
            let header_len = cursor.position() as usize;
            self.check_header(&header, len)?;
            // `len` ≤ max_frame_bytes (a usize) after `check_header`.
            let total = header_len + len as usize;
            if avail.len() < total {
                self.need = total;
                return Ok(None);
            }
            self.need = 0;
            let payload_at = self.start + header_len;
            self.start += total;
            let payload = payload_at..payload_at + len as usize;
            match header.opcode {
                OpCode::Data(Data::Continue) => {
                    self.frag.extend_from_slice(&self.buf[payload]);
                    if header.is_final {
                        let text = self.frag_text.take().unwrap_or(false);
                        if text && std::str::from_utf8(&self.frag).is_err() {
                            return Err(WsError::InvalidUtf8);
                        }
                        self.frag_delivered = true;
                        return Ok(Some(Inbound::Data {
                            payload: &self.frag,
                            text,
                        }));
                    }
                }
                OpCode::Data(kind) => {
                    let text = kind == Data::Text;
                    if !header.is_final {
                        self.frag_text = Some(text);
                        self.frag.extend_from_slice(&self.buf[payload]);
                        continue;
                    }
                    let payload = &self.buf[payload];
                    if text && std::str::from_utf8(payload).is_err() {
                        return Err(WsError::InvalidUtf8);
                    }
                    return Ok(Some(Inbound::Data { payload, text }));
                }
                OpCode::Control(Control::Ping) => {
                    return Ok(Some(Inbound::Ping(&self.buf[payload])))
                }
                OpCode::Control(Control::Pong) => return Ok(Some(Inbound::Pong)),
                OpCode::Control(Control::Close) => {
                    self.close_received = true;
                    return parse_close(&self.buf[payload]).map(Some);
                }
                OpCode::Control(Control::Reserved(op)) => {
                    return Err(WsError::Protocol(ProtocolError::UnknownControlFrameType(
                        op,
                    )))
                }
            }
        }
    }

    /// Every rule that can be decided from the header alone.
    #[inline]
    fn check_header(&self, header: &FrameHeader, len: u64) -> Result<(), WsError> {
        if self.close_received {
            return Err(WsError::Protocol(ProtocolError::ReceivedAfterClosing));
        }
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(WsError::Protocol(ProtocolError::NonZeroReservedBits));
        }
        if header.mask.is_some() {
            return Err(WsError::Protocol(ProtocolError::MaskedFrameFromServer));
        }
        let size = usize::try_from(len).unwrap_or(usize::MAX);
        match header.opcode {
            OpCode::Control(_) => {
                if !header.is_final {
                    return Err(WsError::Protocol(ProtocolError::FragmentedControlFrame));
                }
                if size > MAX_CONTROL_PAYLOAD {
                    return Err(WsError::Protocol(ProtocolError::ControlFrameTooBig));
                }
            }
            OpCode::Data(kind) => {
                if size > self.max_frame_bytes {
                    return Err(WsError::MessageTooLarge {
                        size,
                        limit: self.max_frame_bytes,
                    });
                }
                let so_far = match (kind, self.frag_text) {
                    (Data::Continue, None) => {
                        return Err(WsError::Protocol(ProtocolError::UnexpectedContinueFrame))
                    }
                    (Data::Continue, Some(_)) => self.frag.len(),
                    (Data::Reserved(op), _) => {
                        return Err(WsError::Protocol(ProtocolError::UnknownDataFrameType(op)))
                    }
                    (other, Some(_)) => {
                        return Err(WsError::Protocol(ProtocolError::ExpectedFragment(other)))
                    }
                    (_, None) => 0,
                };
                let message = so_far.saturating_add(size);
                if message > self.max_message_bytes {
                    return Err(WsError::MessageTooLarge {
                        size: message,
                        limit: self.max_message_bytes,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Decode a close frame payload: empty (code 1005), or a 2-byte code and a UTF-8 reason.
fn parse_close(payload: &[u8]) -> Result<Inbound<'static>, WsError> {
    match payload {
        [] => Ok(Inbound::Close {
            code: 1005,
            allowed: true,
        }),
        [_] => Err(WsError::Protocol(ProtocolError::InvalidCloseSequence)),
        [hi, lo, reason @ ..] => {
            if std::str::from_utf8(reason).is_err() {
                return Err(WsError::InvalidUtf8);
            }
            let code = u16::from_be_bytes([*hi, *lo]);
            Ok(Inbound::Close {
                code,
                allowed: CloseCode::from(code).is_allowed(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::protocol::frame::Frame;

    /// Hands out at most `chunk` bytes per read, then `WouldBlock` at the end.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        chunk: usize,
    }
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at == self.data.len() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = self.chunk.min(buf.len()).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let header = FrameHeader {
            is_final: fin,
            opcode,
            ..FrameHeader::default()
        };
        Frame::from_payload(header, payload.to_vec().into())
            .format(&mut out)
            .unwrap();
        out
    }

    #[derive(Debug, PartialEq)]
    enum Got {
        Data(Vec<u8>, bool),
        Ping(Vec<u8>),
        Pong,
        Close(u16, bool),
    }

    /// Drive `rx` over `data` in `chunk`-byte reads; every event, then the error if any.
    fn drive(rx: &mut Receiver, data: Vec<u8>, chunk: usize) -> (Vec<Got>, Option<WsError>) {
        let mut src = Trickle { data, at: 0, chunk };
        let mut got = Vec::new();
        loop {
            loop {
                match rx.next_frame() {
                    Ok(None) => break,
                    Ok(Some(Inbound::Data { payload, text })) => {
                        got.push(Got::Data(payload.to_vec(), text))
                    }
                    Ok(Some(Inbound::Ping(p))) => got.push(Got::Ping(p.to_vec())),
                    Ok(Some(Inbound::Pong)) => got.push(Got::Pong),
                    Ok(Some(Inbound::Close { code, allowed })) => {
                        got.push(Got::Close(code, allowed))
                    }
                    Err(e) => return (got, Some(e)),
                }
            }
            match rx.fill(&mut src) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (got, None),
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn every_split_and_length_class_yields_the_same_frames() {
        let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let mut wire = Vec::new();
        wire.extend(frame(OpCode::Data(Data::Text), true, b"hi"));
        wire.extend(frame(OpCode::Data(Data::Binary), true, b""));
        wire.extend(frame(OpCode::Data(Data::Binary), true, &[3u8; 125]));
        wire.extend(frame(OpCode::Data(Data::Binary), true, &[4u8; 126]));
        wire.extend(frame(OpCode::Data(Data::Binary), true, &big));
        wire.extend(frame(OpCode::Data(Data::Text), false, "h\u{e9}".as_bytes()));
        wire.extend(frame(OpCode::Control(Control::Ping), true, b"mid"));
        // The UTF-8 sequence of 'é' is split across the fragments.
        wire.extend(frame(OpCode::Data(Data::Continue), false, &[0xc3]));
        wire.extend(frame(OpCode::Data(Data::Continue), true, &[0xa9, b'!']));
        wire.extend(frame(OpCode::Control(Control::Pong), true, b""));
        wire.extend(frame(OpCode::Data(Data::Binary), true, b"after"));
        wire.extend(frame(
            OpCode::Control(Control::Close),
            true,
            &[0x03, 0xe8, b'o', b'k'],
        ));
        let expected = vec![
            Got::Data(b"hi".to_vec(), true),
            Got::Data(Vec::new(), false),
            Got::Data(vec![3u8; 125], false),
            Got::Data(vec![4u8; 126], false),
            Got::Data(big.clone(), false),
            Got::Ping(b"mid".to_vec()),
            Got::Data("h\u{e9}\u{e9}!".as_bytes().to_vec(), true),
            Got::Pong,
            Got::Data(b"after".to_vec(), false),
            Got::Close(1000, true),
        ];
        for chunk in [1, 2, 3, 7, 13, 125, 1000, 4096, usize::MAX] {
            let mut rx = Receiver::new(1024, 1 << 20, 1 << 20);
            let (got, err) = drive(&mut rx, wire.clone(), chunk);
            assert!(err.is_none(), "chunk {chunk}: {err:?}");
            assert_eq!(got, expected, "chunk {chunk}");
            assert_eq!(rx.buffered(), 0);
            assert!(rx.close_received());
        }
    }

    fn first_error(wire: Vec<u8>, max_frame: usize, max_message: usize) -> (Vec<Got>, WsError) {
        let mut rx = Receiver::new(512, max_frame, max_message);
        let (got, err) = drive(&mut rx, wire, 1);
        (got, err.expect("an error"))
    }

    #[test]
    fn protocol_violations_are_refused() {
        let ok = frame(OpCode::Data(Data::Text), true, b"ok");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![0x82, 0x82, 1, 2, 3, 4, 0, 0], "masked"),
            (vec![0xc2, 0x00], "rsv1"),
            (vec![0xa2, 0x00], "rsv2"),
            (vec![0x92, 0x00], "rsv3"),
            (vec![0x83, 0x00], "reserved data opcode"),
            (vec![0x8b, 0x00], "reserved control opcode"),
            (vec![0x09, 0x00], "fragmented ping"),
            (
                [vec![0x89, 126, 0, 126], vec![0; 126]].concat(),
                "ping > 125",
            ),
            (vec![0x80, 0x01, b'x'], "continuation without a start"),
            (
                [vec![0x01, 0x01, b'a'], vec![0x82, 0x00]].concat(),
                "new message mid-fragment",
            ),
            (vec![0x81, 0x02, 0xc3, 0x28], "bad utf-8 text"),
            (
                [vec![0x01, 0x01, 0xc3], vec![0x80, 0x01, 0x28]].concat(),
                "bad utf-8 fragments",
            ),
            (vec![0x88, 0x01, 0x03], "1-byte close payload"),
            (vec![0x88, 0x03, 0x03, 0xe8, 0xff], "bad utf-8 close reason"),
            (
                [vec![0x88, 0x00], vec![0x81, 0x01, b'x']].concat(),
                "frame after close",
            ),
        ];
        for (bad, name) in cases {
            let (got, err) = first_error([ok.clone(), bad].concat(), 1 << 20, 1 << 20);
            assert_eq!(
                got.first(),
                Some(&Got::Data(b"ok".to_vec(), true)),
                "{name}"
            );
            let expected_kind = match name {
                "bad utf-8 text" | "bad utf-8 fragments" | "bad utf-8 close reason" => {
                    matches!(err, WsError::InvalidUtf8)
                }
                "masked" => matches!(err, WsError::Protocol(ProtocolError::MaskedFrameFromServer)),
                "rsv1" | "rsv2" | "rsv3" => {
                    matches!(err, WsError::Protocol(ProtocolError::NonZeroReservedBits))
                }
                "reserved data opcode" | "reserved control opcode" => {
                    matches!(err, WsError::Protocol(ProtocolError::InvalidOpcode(_)))
                }
                "fragmented ping" => {
                    matches!(
                        err,
                        WsError::Protocol(ProtocolError::FragmentedControlFrame)
                    )
                }
                "ping > 125" => matches!(err, WsError::Protocol(ProtocolError::ControlFrameTooBig)),
                "continuation without a start" => matches!(
                    err,
                    WsError::Protocol(ProtocolError::UnexpectedContinueFrame)
                ),
                "new message mid-fragment" => {
                    matches!(err, WsError::Protocol(ProtocolError::ExpectedFragment(_)))
                }
                "1-byte close payload" => {
                    matches!(err, WsError::Protocol(ProtocolError::InvalidCloseSequence))
                }
                "frame after close" => {
                    matches!(err, WsError::Protocol(ProtocolError::ReceivedAfterClosing))
                }
                _ => unreachable!("case {name}"),
            };
            assert!(expected_kind, "{name}: got {err:?}");
        }
    }

    #[test]
    fn size_limits_are_checked_from_the_header() {
        // Only the header of a 2000-byte frame arrives: refused without its payload.
        let (_, err) = first_error(vec![0x82, 126, 0x07, 0xd0], 1000, 1500);
        assert!(
            matches!(
                err,
                WsError::MessageTooLarge {
                    size: 2000,
                    limit: 1000
                }
            ),
            "{err:?}"
        );
        // Fragments within the frame limit whose sum is not within the message limit.
        let wire = [
            frame(OpCode::Data(Data::Binary), false, &[7; 600]),
            frame(OpCode::Data(Data::Continue), false, &[7; 600]),
            vec![0x80, 126, 0x02, 0x58],
        ]
        .concat();
        let (_, err) = first_error(wire, 1000, 1500);
        assert!(
            matches!(
                err,
                WsError::MessageTooLarge {
                    size: 1800,
                    limit: 1500
                }
            ),
            "{err:?}"
        );
        // A close code that may not go on the wire is reported as such.
        let mut rx = Receiver::new(512, 1000, 1000);
        let (got, err) = drive(&mut rx, vec![0x88, 0x02, 0x03, 0xed], 64);
        assert!(err.is_none());
        assert_eq!(got, vec![Got::Close(1005, false)]);
    }

    #[test]
    fn handshake_reads_stop_at_the_end_of_the_response_head() {
        let head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        let wire = [&head[..], &frame(OpCode::Data(Data::Text), true, b"first")].concat();
        for (chunk, out_len) in [(1, 7), (usize::MAX, 3), (usize::MAX, 4096), (5, 4096)] {
            let mut rx = Receiver::new(256, 1000, 1000);
            let mut src = Trickle {
                data: wire.clone(),
                at: 0,
                chunk,
            };
            let mut served = Vec::new();
            let mut out = vec![0u8; out_len];
            loop {
                match rx.read_handshake(&mut src, &mut out) {
                    Ok(n) => served.extend_from_slice(&out[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(served, head, "chunk {chunk}, out {out_len}");
            let (got, err) = drive(&mut rx, Vec::new(), 1);
            let (more, err2) = drive(&mut rx, src.data[src.at..].to_vec(), 1);
            assert!(err.is_none() && err2.is_none());
            let all: Vec<Got> = got.into_iter().chain(more).collect();
            assert_eq!(all, vec![Got::Data(b"first".to_vec(), true)]);
        }
    }
}
