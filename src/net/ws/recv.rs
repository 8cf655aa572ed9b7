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
    /// `WouldBlock`: later bytes are frames, for [`next`](Self::next).
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
    pub fn next(&mut self) -> Result<Option<Inbound<'_>>, WsError> {
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
