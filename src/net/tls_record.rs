//! The TLS record layer of an established client session: AEAD protection of records in caller
//! buffers (decrypt in place, encrypt in place), with rustls' `KernelConnection` keeping the
//! secrets for TLS 1.3 key updates and session tickets.
//!
//! Invariants:
//! - Sealing and opening work on the caller's bytes and never allocate; only post-handshake
//!   handshake messages (session tickets, key updates) may allocate, inside rustls.
//! - Sequence numbers follow RFC 8446 §5.3 (TLS 1.3: per-record nonce = IV xor sequence, reset to
//!   0 by a key update) and RFC 5288/7905 (TLS 1.2 AES-GCM with an explicit nonce, ChaCha20 with
//!   IV xor sequence).
//! - Before the sending sequence reaches the suite's confidentiality limit, a TLS 1.3 session
//!   rekeys itself ([`RecordLayer::tx_needs_key_update`]); a TLS 1.2 session refuses to seal.
//! - A record that fails authentication is never handed out; the caller gets `DecryptError`.

use std::fmt;

use ring::aead;
use rustls::client::ClientConnectionData;
use rustls::kernel::KernelConnection;
use rustls::{
    ConnectionTrafficSecrets, Error, ExtractedSecrets, ProtocolVersion, SupportedCipherSuite,
};

/// TLS record header: type, legacy version, length.
pub const HEADER_LEN: usize = 5;
/// Largest plaintext fragment a record may carry (2^14).
pub const MAX_FRAGMENT_LEN: usize = 16 * 1024;
/// Largest record body (ciphertext) a TLS 1.2 peer may send (2^14 + 2048); TLS 1.3 allows
/// 2^14 + 256.
pub const MAX_CIPHERTEXT_LEN: usize = MAX_FRAGMENT_LEN + 2048;
/// Largest whole record on the wire.
pub const MAX_WIRE_RECORD_LEN: usize = HEADER_LEN + MAX_CIPHERTEXT_LEN;

/// Record content types (RFC 8446 §5.1).
pub const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
/// Alert records.
pub const CONTENT_ALERT: u8 = 21;
/// Handshake records.
pub const CONTENT_HANDSHAKE: u8 = 22;
/// Application data records.
pub const CONTENT_APPLICATION_DATA: u8 = 23;

const TAG_LEN: usize = 16;
const TLS12_EXPLICIT_NONCE_LEN: usize = 8;
/// Rekey this many records before the confidentiality limit, so a key update always fits.
const KEY_UPDATE_MARGIN: u64 = 1024;

/// How the record nonce and additional data are formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// TLS 1.3: inner content type, nonce = IV xor seq, AAD = record header.
    Tls13,
    /// TLS 1.2 AES-GCM: 8-byte explicit nonce in the record, AAD = seq ‖ type ‖ version ‖ len.
    Tls12Gcm,
    /// TLS 1.2 ChaCha20-Poly1305: nonce = IV xor seq, same AAD as GCM.
    Tls12Chacha,
}

/// One direction's key, IV and sequence number.
struct Direction {
    key: aead::LessSafeKey,
    iv: [u8; aead::NONCE_LEN],
    seq: u64,
}

impl Direction {
    fn new(seq: u64, secrets: ConnectionTrafficSecrets) -> Result<Self, Error> {
        let (alg, key, iv) = match &secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&aead::AES_128_GCM, key, iv),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&aead::AES_256_GCM, key, iv),
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
                (&aead::CHACHA20_POLY1305, key, iv)
            }
            _ => {
                return Err(Error::General(
                    "negotiated AEAD has no in-place record layer".into(),
                ))
            }
        };
        let key = aead::UnboundKey::new(alg, key.as_ref())
            .map_err(|_| Error::General("AEAD key of the wrong length".into()))?;
        let iv: [u8; aead::NONCE_LEN] = iv
            .as_ref()
            .try_into()
            .map_err(|_| Error::General("AEAD IV of the wrong length".into()))?;
        Ok(Self {
            key: aead::LessSafeKey::new(key),
            iv,
            seq,
        })
    }

    /// IV xor the big-endian sequence number in the low 8 bytes.
    #[inline]
    fn xor_nonce(&self) -> [u8; aead::NONCE_LEN] {
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        nonce
    }
}

/// What [`RecordLayer::open`] found in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// The (inner) content type.
    pub content_type: u8,
    /// Offset of the plaintext inside the record slice passed to `open`.
    pub start: usize,
    /// Plaintext length.
    pub len: usize,
}

/// AEAD protection for both directions of an established session.
pub struct RecordLayer {
    framing: Framing,
    tx: Direction,
    rx: Direction,
    tx_limit: u64,
    kernel: KernelConnection<ClientConnectionData>,
    /// A random key of the session's AEAD that protects nothing: [`RecordLayer::warm_seal`]
    /// runs the sealing code with it between rare writes.
    warm_key: aead::LessSafeKey,
}

impl fmt::Debug for RecordLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys and IVs stay out of Debug output.
        f.debug_struct("RecordLayer")
            .field("framing", &self.framing)
            .field("tx_seq", &self.tx.seq)
            .field("rx_seq", &self.rx.seq)
            .finish()
    }
}

impl RecordLayer {
    /// Take over from rustls after the handshake: the extracted secrets (with the sequence
    /// numbers rustls reached) and the kernel connection for key updates and tickets.
    #[cold]
    pub fn new(
        secrets: ExtractedSecrets,
        kernel: KernelConnection<ClientConnectionData>,
    ) -> Result<Self, Error> {
        let (tx_seq, tx_secrets) = secrets.tx;
        let (rx_seq, rx_secrets) = secrets.rx;
        let chacha = matches!(
            tx_secrets,
            ConnectionTrafficSecrets::Chacha20Poly1305 { .. }
        );
        let framing = match (kernel.protocol_version(), chacha) {
            (ProtocolVersion::TLSv1_3, _) => Framing::Tls13,
            (ProtocolVersion::TLSv1_2, false) => Framing::Tls12Gcm,
            (ProtocolVersion::TLSv1_2, true) => Framing::Tls12Chacha,
            (other, _) => {
                return Err(Error::General(format!(
                    "no record layer for protocol {other:?}"
                )))
            }
        };
        let confidentiality_limit = match kernel.negotiated_cipher_suite() {
            SupportedCipherSuite::Tls13(s) => s.common.confidentiality_limit,
            SupportedCipherSuite::Tls12(s) => s.common.confidentiality_limit,
        };
        let tx = Direction::new(tx_seq, tx_secrets)?;
        let warm_key = throwaway_key(tx.key.algorithm())?;
        Ok(Self {
            framing,
            warm_key,
            tx,
            rx: Direction::new(rx_seq, rx_secrets)?,
            tx_limit: confidentiality_limit.saturating_sub(KEY_UPDATE_MARGIN),
            kernel,
        })
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.kernel.protocol_version()
    }

    /// The negotiated cipher suite.
    pub fn cipher_suite(&self) -> SupportedCipherSuite {
        self.kernel.negotiated_cipher_suite()
    }

    /// True for TLS 1.3.
    pub fn is_tls13(&self) -> bool {
        self.framing == Framing::Tls13
    }

    /// Bytes a sealed record adds around `n` plaintext bytes: header, explicit nonce or inner
    /// content type, tag.
    #[inline]
    pub fn overhead(&self) -> usize {
        HEADER_LEN
            + TAG_LEN
            + match self.framing {
                Framing::Tls13 => 1,
                Framing::Tls12Gcm => TLS12_EXPLICIT_NONCE_LEN,
                Framing::Tls12Chacha => 0,
            }
    }

    /// Offset of the plaintext inside a sealed record.
    #[inline]
    pub fn payload_offset(&self) -> usize {
        HEADER_LEN
            + match self.framing {
                Framing::Tls12Gcm => TLS12_EXPLICIT_NONCE_LEN,
                _ => 0,
            }
    }

    /// True when the next sealed record must be preceded by a TLS 1.3 key update.
    #[inline]
    pub fn tx_needs_key_update(&self) -> bool {
        self.tx.seq >= self.tx_limit
    }

    /// Seal a record of `content_type` whose `payload_len` plaintext bytes the caller has
    /// already placed at `out[payload_offset()..]`. Returns the wire length (`payload_len +
    /// overhead()`); `out` must be at least that long.
    pub fn seal(
        &mut self,
        content_type: u8,
        out: &mut [u8],
        payload_len: usize,
    ) -> Result<usize, Error> {
        if self.tx.seq >= self.tx_limit && self.framing != Framing::Tls13 {
            return Err(Error::EncryptError);
        }
        debug_assert!(payload_len <= MAX_FRAGMENT_LEN);
        let wire_len = payload_len + self.overhead();
        let body_len = wire_len - HEADER_LEN;
        let header = [
            if self.framing == Framing::Tls13 {
                CONTENT_APPLICATION_DATA
            } else {
                content_type
            },
            0x03,
            0x03,
            (body_len >> 8) as u8,
            body_len as u8,
        ];
        out[..HEADER_LEN].copy_from_slice(&header);
        let tag = match self.framing {
            Framing::Tls13 => {
                let end = HEADER_LEN + payload_len;
                out[end] = content_type;
                let nonce = aead::Nonce::assume_unique_for_key(self.tx.xor_nonce());
                let tag = self
                    .tx
                    .key
                    .seal_in_place_separate_tag(
                        nonce,
                        aead::Aad::from(header),
                        &mut out[HEADER_LEN..end + 1],
                    )
                    .map_err(|_| Error::EncryptError)?;
                out[end + 1..end + 1 + TAG_LEN].copy_from_slice(tag.as_ref());
                return self.sealed(wire_len);
            }
            Framing::Tls12Gcm => {
                let nonce_bytes = self.tx.xor_nonce();
                out[HEADER_LEN..HEADER_LEN + TLS12_EXPLICIT_NONCE_LEN]
                    .copy_from_slice(&nonce_bytes[4..]);
                let start = HEADER_LEN + TLS12_EXPLICIT_NONCE_LEN;
                let aad = tls12_aad(self.tx.seq, content_type, payload_len);
                self.tx
                    .key
                    .seal_in_place_separate_tag(
                        aead::Nonce::assume_unique_for_key(nonce_bytes),
                        aead::Aad::from(aad),
                        &mut out[start..start + payload_len],
                    )
                    .map_err(|_| Error::EncryptError)?
            }
            Framing::Tls12Chacha => {
                let aad = tls12_aad(self.tx.seq, content_type, payload_len);
                self.tx
                    .key
                    .seal_in_place_separate_tag(
                        aead::Nonce::assume_unique_for_key(self.tx.xor_nonce()),
                        aead::Aad::from(aad),
                        &mut out[HEADER_LEN..HEADER_LEN + payload_len],
                    )
                    .map_err(|_| Error::EncryptError)?
            }
        };
        out[wire_len - TAG_LEN..wire_len].copy_from_slice(tag.as_ref());
        self.sealed(wire_len)
    }

    #[inline]
    fn sealed(&mut self, wire_len: usize) -> Result<usize, Error> {
        self.tx.seq += 1;
        Ok(wire_len)
    }

    /// Encrypt `scratch` in place (at most one record's worth) with the throwaway key of the
    /// session's AEAD: the same code as [`seal`](Self::seal), for keeping it in cache on a
    /// thread that writes rarely. The session's keys and sequence numbers are not touched and
    /// the output (overwriting `scratch`) protects nothing.
    #[inline]
    pub fn warm_seal(&self, scratch: &mut [u8]) {
        let n = scratch.len().min(MAX_FRAGMENT_LEN);
        let tag = self.warm_key.seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key([0u8; aead::NONCE_LEN]),
            aead::Aad::from([CONTENT_APPLICATION_DATA, 0x03, 0x03, 0, 0]),
            &mut scratch[..n],
        );
        std::hint::black_box(tag.is_ok());
    }

    /// Authenticate and decrypt one whole record (header included) in place.
    pub fn open(&mut self, record: &mut [u8]) -> Result<Opened, Error> {
        let (header, body) = record.split_at_mut(HEADER_LEN);
        let outer_type = header[0];
        if outer_type == CONTENT_CHANGE_CIPHER_SPEC
            || body.len() > MAX_CIPHERTEXT_LEN
            || body.len() < TAG_LEN
        {
            return Err(Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType,
            ));
        }
        let opened = match self.framing {
            Framing::Tls13 => {
                if outer_type != CONTENT_APPLICATION_DATA {
                    return Err(Error::InvalidMessage(
                        rustls::InvalidMessage::InvalidContentType,
                    ));
                }
                let nonce = aead::Nonce::assume_unique_for_key(self.rx.xor_nonce());
                let aad: [u8; HEADER_LEN] = [header[0], header[1], header[2], header[3], header[4]];
                let plain = self
                    .rx
                    .key
                    .open_in_place(nonce, aead::Aad::from(aad), body)
                    .map_err(|_| Error::DecryptError)?;
                // Strip zero padding; the last non-zero byte is the real content type.
                let Some(type_at) = plain.iter().rposition(|&b| b != 0) else {
                    return Err(Error::InvalidMessage(
                        rustls::InvalidMessage::InvalidContentType,
                    ));
                };
                if type_at > MAX_FRAGMENT_LEN {
                    return Err(Error::PeerSentOversizedRecord);
                }
                Opened {
                    content_type: plain[type_at],
                    start: HEADER_LEN,
                    len: type_at,
                }
            }
            Framing::Tls12Gcm => {
                if body.len() < TLS12_EXPLICIT_NONCE_LEN + TAG_LEN {
                    return Err(Error::DecryptError);
                }
                let mut nonce = [0u8; aead::NONCE_LEN];
                nonce[..4].copy_from_slice(&self.rx.iv[..4]);
                nonce[4..].copy_from_slice(&body[..TLS12_EXPLICIT_NONCE_LEN]);
                let len = body.len() - TLS12_EXPLICIT_NONCE_LEN - TAG_LEN;
                let aad = tls12_aad(self.rx.seq, outer_type, len);
                self.rx
                    .key
                    .open_in_place(
                        aead::Nonce::assume_unique_for_key(nonce),
                        aead::Aad::from(aad),
                        &mut body[TLS12_EXPLICIT_NONCE_LEN..],
                    )
                    .map_err(|_| Error::DecryptError)?;
                Opened {
                    content_type: outer_type,
                    start: HEADER_LEN + TLS12_EXPLICIT_NONCE_LEN,
                    len,
                }
            }
            Framing::Tls12Chacha => {
                let len = body.len() - TAG_LEN;
                let aad = tls12_aad(self.rx.seq, outer_type, len);
                self.rx
                    .key
                    .open_in_place(
                        aead::Nonce::assume_unique_for_key(self.rx.xor_nonce()),
                        aead::Aad::from(aad),
                        body,
                    )
                    .map_err(|_| Error::DecryptError)?;
                Opened {
                    content_type: outer_type,
                    start: HEADER_LEN,
                    len,
                }
            }
        };
        if opened.len > MAX_FRAGMENT_LEN {
            return Err(Error::PeerSentOversizedRecord);
        }
        self.rx.seq += 1;
        Ok(opened)
    }

    /// The peer sent a TLS 1.3 `KeyUpdate`: switch to its next receive secret.
    #[cold]
    pub fn update_rx_keys(&mut self) -> Result<(), Error> {
        let (seq, secrets) = self.kernel.update_rx_secret()?;
        self.rx = Direction::new(seq, secrets)?;
        Ok(())
    }

    /// Our `KeyUpdate` has been sealed with the old key: switch to the next send secret.
    #[cold]
    pub fn update_tx_keys(&mut self) -> Result<(), Error> {
        let (seq, secrets) = self.kernel.update_tx_secret()?;
        self.tx = Direction::new(seq, secrets)?;
        Ok(())
    }

    /// Hand a TLS 1.3 `NewSessionTicket` body to rustls' session store.
    #[cold]
    pub fn new_session_ticket(&mut self, body: &[u8]) -> Result<(), Error> {
        self.kernel.handle_new_session_ticket(body)
    }
}

/// TLS 1.2 additional data: seq ‖ type ‖ version ‖ plaintext length.
#[inline]
/// A fresh random key of `alg` (never used to protect anything; see `warm_key`).
#[cold]
fn throwaway_key(alg: &'static aead::Algorithm) -> Result<aead::LessSafeKey, Error> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    let bytes = &mut bytes[..alg.key_len()];
    ring::rand::SystemRandom::new()
        .fill(bytes)
        .map_err(|_| Error::General("no randomness for the warming key".into()))?;
    let key = aead::UnboundKey::new(alg, bytes)
        .map_err(|_| Error::General("AEAD key of the wrong length".into()))?;
    Ok(aead::LessSafeKey::new(key))
}

fn tls12_aad(seq: u64, content_type: u8, len: usize) -> [u8; 13] {
    let mut aad = [0u8; 13];
    aad[..8].copy_from_slice(&seq.to_be_bytes());
    aad[8] = content_type;
    aad[9] = 0x03;
    aad[10] = 0x03;
    aad[11] = (len >> 8) as u8;
    aad[12] = len as u8;
    aad
}
