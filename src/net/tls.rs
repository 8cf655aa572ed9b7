//! TLS over a non-blocking mio socket: [`TlsStream`] runs the handshake with rustls'
//! unbuffered client connection over its own fixed buffers and then seals and opens records in
//! place itself ([`super::tls_record`]); [`MaybeTls`] lets the protocol layers run over plain TCP
//! or TLS through one type, and [`client_config`] / [`TlsClientConfigBuilder`] build the shared
//! `ClientConfig`.
//!
//! Invariants:
//! - No call blocks. The handshake advances inside `read` (socket -> rustls -> any reply back to
//!   the socket); `write` and `flush_pending` push what is waiting, each stopping at `WouldBlock`.
//! - Whenever TLS bytes exist (handshake flight, sealed record, alert), a socket write is
//!   attempted at once, so an edge-triggered writable event is never needed to get things
//!   moving; callers still call `flush_pending` on every writable event to drain what the socket
//!   refused. A partial socket write keeps the unsent tail; when the outgoing buffer is full and
//!   the socket refuses more, `write` reports `WouldBlock` and accepts nothing (no loss).
//! - After the handshake the stream's buffers are all there is: incoming records are decrypted
//!   in place in the fixed incoming buffer ([`INCOMING_CAPACITY`], at least one largest record)
//!   and copied once into the caller's buffer; writes are sealed straight into the fixed outgoing
//!   buffer ([`OUTGOING_CAPACITY`]) and written from there. Neither direction allocates per
//!   record; only session tickets and key updates (rare, post-handshake) may allocate.
//! - Plaintext written during the handshake is held (up to [`HANDSHAKE_PLAINTEXT_CAPACITY`]) and
//!   sealed as soon as the handshake ends.
//! - `read` only reports `WouldBlock` after the socket itself reported `WouldBlock`, which is
//!   what edge-triggered mio needs.
//! - `read` returns `Ok(0)` only on a clean TLS close (`close_notify`); TCP EOF without it is an
//!   `UnexpectedEof` error. TLS failures (bad certificate, alert, decrypt error) are `io::Error`s
//!   of kind `InvalidData` wrapping a [`TlsFailure`] (see [`tls_failure`]), with any alert for
//!   the peer pushed to the socket first; the failure is sticky.
//! - TLS 1.3 key updates from the peer are followed, and answered when requested before any
//!   further application data is sealed; our own sending keys are updated before the suite's
//!   confidentiality limit. TLS 1.2 renegotiation
//!   requests are refused with a `no_renegotiation` warning.
//! - Certificates are verified against webpki roots plus optional extra CAs; the server name must
//!   match. ALPN is off; the provider is ring; secret extraction is enabled so the record layer
//!   can take the traffic keys over.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::unbuffered::{ConnectionState, EncodeError};
use rustls::{ClientConfig, RootCertStore};

use super::tls_record::{
    RecordLayer, CONTENT_ALERT, CONTENT_APPLICATION_DATA, CONTENT_HANDSHAKE, HEADER_LEN,
    MAX_CIPHERTEXT_LEN, MAX_FRAGMENT_LEN, MAX_WIRE_RECORD_LEN,
};
use super::transport::Transport;

/// Why a TLS client configuration or connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// The extra CA file could not be opened or read.
    #[error("CA file {path}: cannot read: {source}")]
    CaFileUnreadable {
        /// The file named in the configuration.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The extra CA file is not valid PEM.
    #[error("CA file {path}: malformed PEM: {reason}")]
    CaFileMalformed {
        /// The file named in the configuration.
        path: PathBuf,
        /// What the PEM parser reported.
        reason: String,
    },
    /// The extra CA file holds no `CERTIFICATE` block.
    #[error("CA file {path}: holds no certificate")]
    CaFileEmpty {
        /// The file named in the configuration.
        path: PathBuf,
    },
    /// A certificate in the CA file was rejected as a trust anchor.
    #[error("CA file {path}: certificate #{index} rejected: {source}")]
    CaCertificateRejected {
        /// The file named in the configuration.
        path: PathBuf,
        /// Zero-based position of the certificate in the file.
        index: usize,
        /// Why rustls/webpki refused it.
        #[source]
        source: rustls::Error,
    },
    /// The host is not a valid TLS server name (DNS name or IP address).
    #[error("invalid TLS server name {0:?}")]
    InvalidServerName(String),
    /// rustls refused the configuration or connection.
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Builds the `Arc<ClientConfig>` shared by every TLS connection of the process.
#[derive(Debug, Clone)]
pub struct TlsClientConfigBuilder {
    webpki_roots: bool,
    extra_ca_files: Vec<PathBuf>,
}

impl Default for TlsClientConfigBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TlsClientConfigBuilder {
    /// Start with the Mozilla (webpki) root set and no extra CA.
    pub fn new() -> Self {
        Self {
            webpki_roots: true,
            extra_ca_files: Vec::new(),
        }
    }

    /// Include (default) or leave out the built-in webpki roots; leaving them out makes only
    /// the extra CA files trusted (for the simulator and tests).
    pub fn webpki_roots(mut self, include: bool) -> Self {
        self.webpki_roots = include;
        self
    }

    /// Also trust every certificate in the PEM file at `path`.
    pub fn extra_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.extra_ca_files.push(path.into());
        self
    }

    /// Read the CA files and build the configuration (ring provider, TLS 1.2 + 1.3, no ALPN, no
    /// client certificate, secret extraction on for [`TlsStream`]'s record layer). Reads files: start-up only.
    #[cold]
    pub fn build(&self) -> Result<Arc<ClientConfig>, TlsConfigError> {
        let mut roots = RootCertStore::empty();
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for path in &self.extra_ca_files {
            add_ca_file(&mut roots, path)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols.clear();
        config.enable_secret_extraction = true;
        Ok(Arc::new(config))
    }
}

/// Webpki roots plus the optional extra CA PEM file. Reads the file: start-up only.
#[cold]
pub fn client_config(extra_ca_pem: Option<&Path>) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let mut builder = TlsClientConfigBuilder::new();
    if let Some(path) = extra_ca_pem {
        builder = builder.extra_ca_file(path);
    }
    builder.build()
}

fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsConfigError> {
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| pem_error(path, e))?;
    let mut added = 0usize;
    for (index, cert) in iter.enumerate() {
        let cert = cert.map_err(|e| pem_error(path, e))?;
        roots
            .add(cert)
            .map_err(|source| TlsConfigError::CaCertificateRejected {
                path: path.to_owned(),
                index,
                source,
            })?;
        added += 1;
    }
    if added == 0 {
        return Err(TlsConfigError::CaFileEmpty {
            path: path.to_owned(),
        });
    }
    Ok(())
}

fn pem_error(path: &Path, err: rustls::pki_types::pem::Error) -> TlsConfigError {
    match err {
        rustls::pki_types::pem::Error::Io(source) => TlsConfigError::CaFileUnreadable {
            path: path.to_owned(),
            source,
        },
        rustls::pki_types::pem::Error::NoItemsFound => TlsConfigError::CaFileEmpty {
            path: path.to_owned(),
        },
        other => TlsConfigError::CaFileMalformed {
            path: path.to_owned(),
            reason: other.to_string(),
        },
    }
}

/// A TLS-level failure carried inside an `io::Error` (kind `InvalidData`).
#[derive(Debug)]
pub struct TlsFailure(pub rustls::Error);

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS error: {}", self.0)
    }
}

impl std::error::Error for TlsFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// The rustls error inside `err`, if it came from the TLS layer (for counting `tls_errors`).
pub fn tls_failure(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsFailure>())
        .map(|f| &f.0)
}

#[cold]
fn tls_io_error(err: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, TlsFailure(err))
}

/// Bytes of TLS data the stream can hold from the socket: several whole records, never less than
/// one record of the largest size a peer may send.
pub const INCOMING_CAPACITY: usize = 64 * 1024;
/// Bytes of sealed TLS records the stream can hold before the socket takes them: two full
/// records plus room for control records (alerts, key updates).
pub const OUTGOING_CAPACITY: usize = 2 * (MAX_FRAGMENT_LEN + 64) + CONTROL_RESERVE;
/// Plaintext the stream accepts while the handshake is still running (sent once it ends).
pub const HANDSHAKE_PLAINTEXT_CAPACITY: usize = MAX_FRAGMENT_LEN;
/// Outgoing space application data never uses, so an alert or key update always fits.
const CONTROL_RESERVE: usize = 256;
/// Post-handshake handshake messages larger than this are refused (session tickets are far
/// smaller in practice).
const MAX_POST_HANDSHAKE_MESSAGE: usize = 64 * 1024;

const _: () = assert!(INCOMING_CAPACITY >= MAX_WIRE_RECORD_LEN);

/// Handshake message types seen after the handshake.
const HS_HELLO_REQUEST: u8 = 0;
const HS_NEW_SESSION_TICKET: u8 = 4;
const HS_KEY_UPDATE: u8 = 24;

/// Alert descriptions the stream sends or acts on.
const ALERT_CLOSE_NOTIFY: u8 = 0;
const ALERT_UNEXPECTED_MESSAGE: u8 = 10;
const ALERT_BAD_RECORD_MAC: u8 = 20;
const ALERT_RECORD_OVERFLOW: u8 = 22;
const ALERT_DECODE_ERROR: u8 = 50;
const ALERT_USER_CANCELED: u8 = 90;
const ALERT_NO_RENEGOTIATION: u8 = 100;
const ALERT_LEVEL_WARNING: u8 = 1;
const ALERT_LEVEL_FATAL: u8 = 2;

/// TLS bytes read from the socket and not yet consumed: `buf[start..end]`.
struct Incoming {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

/// What one socket read gave.
enum Fill {
    Bytes,
    WouldBlock,
    Eof,
}

impl Incoming {
    fn new() -> Self {
        Self {
            buf: vec![0u8; INCOMING_CAPACITY].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// One socket read into the free tail. Moves the unconsumed bytes to the front first when
    /// the tail could not hold a whole record after them.
    fn fill(&mut self, tcp: &mut TcpStream) -> io::Result<Fill> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && self.buf.len() - self.start < MAX_WIRE_RECORD_LEN {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS message larger than the receive buffer",
            ));
        }
        loop {
            match tcp.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(Fill::Eof),
                Ok(n) => {
                    self.end += n;
                    return Ok(Fill::Bytes);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Fill::WouldBlock),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Sealed TLS bytes the socket has not taken yet: `buf[start..end]`.
struct Outgoing {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Outgoing {
    fn new() -> Self {
        Self {
            buf: vec![0u8; OUTGOING_CAPACITY].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// Free bytes after `end`, moving the unsent tail to the front first if that makes `want`
    /// bytes fit.
    #[inline]
    fn make_room(&mut self, want: usize) -> usize {
        if self.buf.len() - self.end < want && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.buf.len() - self.end
    }

    /// Write to the socket until empty or `WouldBlock`; `Ok(true)` when empty.
    fn push(&mut self, tcp: &mut TcpStream) -> io::Result<bool> {
        while self.start < self.end {
            match tcp.write(&self.buf[self.start..self.end]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.start += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.start = 0;
        self.end = 0;
        Ok(true)
    }
}

/// Where the session is.
enum Phase {
    /// rustls runs the handshake over the stream's buffers.
    Handshake(Box<UnbufferedClientConnection>),
    /// The handshake is done; records are sealed and opened in place.
    Traffic(Box<RecordLayer>),
    /// A fatal TLS error ended the session; every later call reports it again.
    Failed(rustls::Error),
}

/// What [`TlsStream::advance_handshake`] stopped at.
enum HandshakeStop {
    /// The socket has no more bytes for now.
    SocketDrained,
    /// Application data or the peer's close arrived; `read` can report it.
    ReadReady,
    /// The handshake finished; records are now handled by the stream itself.
    Finished,
}

/// A client TLS session over a non-blocking mio socket. See the module docs for the driving
/// rules; in short: call `read` until `WouldBlock` on readable, `flush_pending` on writable.
pub struct TlsStream {
    tcp: TcpStream,
    phase: Phase,
    incoming: Incoming,
    outgoing: Outgoing,
    /// Decrypted application data not yet read: `incoming.buf[plain_start..plain_end]`.
    plain_start: usize,
    plain_end: usize,
    /// Application data rustls handed over before the handshake was taken over; read first.
    early_plain: Vec<u8>,
    early_plain_read: usize,
    /// Plaintext written while handshaking, sealed once the handshake ends.
    pending_plain: Vec<u8>,
    /// Post-handshake handshake bytes (session tickets, key updates) awaiting a whole message.
    handshake_message: Vec<u8>,
    /// The socket reported EOF; no more socket reads.
    tcp_eof: bool,
    /// The peer's `close_notify` arrived.
    peer_closed: bool,
    /// `send_close_notify` was called during the handshake.
    close_requested: bool,
    /// The peer asked for a key update and ours is not sealed yet; no application data may be
    /// sealed before it (RFC 8446 §4.6.3).
    key_update_owed: bool,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("peer", &self.tcp.peer_addr().ok())
            .field("handshaking", &self.is_handshaking())
            .field("tcp_eof", &self.tcp_eof)
            .field("peer_closed", &self.peer_closed)
            .field("incoming", &(self.incoming.start, self.incoming.end))
            .field("outgoing", &(self.outgoing.start, self.outgoing.end))
            .field("plaintext", &(self.plain_end - self.plain_start))
            .finish()
    }
}

impl TlsStream {
    /// Wrap `tcp` (which may still be connecting) in a client session for `server_name` (the
    /// host the certificate must name). The ClientHello goes out on the first
    /// `flush_pending`/`write`/`read` after the socket connects. All buffers are allocated here.
    #[cold]
    pub fn new(
        tcp: TcpStream,
        config: Arc<ClientConfig>,
        server_name: &str,
    ) -> Result<Self, TlsConfigError> {
        let name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| TlsConfigError::InvalidServerName(server_name.to_owned()))?;
        // The record layer takes the traffic secrets over after the handshake.
        let config = if config.enable_secret_extraction {
            config
        } else {
            let mut own = (*config).clone();
            own.enable_secret_extraction = true;
            Arc::new(own)
        };
        let conn = UnbufferedClientConnection::new(config, name)?;
        let mut stream = Self {
            tcp,
            phase: Phase::Handshake(Box::new(conn)),
            incoming: Incoming::new(),
            outgoing: Outgoing::new(),
            plain_start: 0,
            plain_end: 0,
            early_plain: Vec::with_capacity(MAX_FRAGMENT_LEN),
            early_plain_read: 0,
            pending_plain: Vec::with_capacity(HANDSHAKE_PLAINTEXT_CAPACITY),
            handshake_message: Vec::with_capacity(1024),
            tcp_eof: false,
            peer_closed: false,
            close_requested: false,
            key_update_owed: false,
        };
        // Encode the ClientHello now; it is sent once the socket connects.
        stream.encode_handshake_output()?;
        Ok(stream)
    }

    /// Queue a `close_notify` alert and try to send it (after the handshake if it is still
    /// running). The peer answers with its own, after which `read` returns `Ok(0)`.
    #[cold]
    pub fn send_close_notify(&mut self) -> io::Result<bool> {
        match &self.phase {
            Phase::Handshake(_) => self.close_requested = true,
            Phase::Traffic(_) => {
                self.seal_control(CONTENT_ALERT, &[ALERT_LEVEL_WARNING, ALERT_CLOSE_NOTIFY])?
            }
            Phase::Failed(err) => return Err(tls_io_error(err.clone())),
        }
        self.flush_pending()
    }

    /// The negotiated protocol version, once the handshake has finished.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        match &self.phase {
            Phase::Traffic(records) => Some(records.protocol_version()),
            _ => None,
        }
    }

    /// The negotiated cipher suite, once the handshake has finished.
    pub fn negotiated_cipher_suite(&self) -> Option<rustls::SupportedCipherSuite> {
        match &self.phase {
            Phase::Traffic(records) => Some(records.cipher_suite()),
            _ => None,
        }
    }

    /// Give back the socket, dropping the TLS session.
    pub fn into_inner(self) -> TcpStream {
        self.tcp
    }

    /// Before any socket I/O: let rustls encode what it has queued (the ClientHello).
    #[cold]
    fn encode_handshake_output(&mut self) -> Result<(), rustls::Error> {
        let Phase::Handshake(conn) = &mut self.phase else {
            return Ok(());
        };
        let status = conn.process_tls_records(&mut []);
        if let ConnectionState::EncodeTlsData(mut data) = status.state? {
            let n = data
                .encode(&mut self.outgoing.buf[self.outgoing.end..])
                .map_err(|e| rustls::Error::General(e.to_string()))?;
            self.outgoing.end += n;
        }
        Ok(())
    }

    /// Run rustls' handshake over the buffered and socket bytes until it needs more bytes than
    /// the socket has, hands over application data, or finishes.
    #[cold]
    fn advance_handshake(&mut self) -> io::Result<HandshakeStop> {
        enum Next {
            Again,
            NeedBytes,
            ReadReady,
            Finished,
        }
        loop {
            let Phase::Handshake(conn) = &mut self.phase else {
                return Ok(HandshakeStop::Finished);
            };
            let status = conn.process_tls_records(
                &mut self.incoming.buf[self.incoming.start..self.incoming.end],
            );
            let mut discard = status.discard;
            let next = match status.state {
                Err(err) => Err(err),
                Ok(ConnectionState::EncodeTlsData(mut data)) => {
                    let mut room = self.outgoing.buf.len() - self.outgoing.end;
                    loop {
                        match data.encode(&mut self.outgoing.buf[self.outgoing.end..]) {
                            Ok(n) => {
                                self.outgoing.end += n;
                                break Ok(Next::Again);
                            }
                            Err(EncodeError::InsufficientSize(need))
                                if need.required_size > room =>
                            {
                                let grown = self.outgoing.make_room(need.required_size);
                                if grown == room {
                                    break Err(rustls::Error::General(
                                        "handshake record larger than the outgoing buffer".into(),
                                    ));
                                }
                                room = grown;
                            }
                            Err(e) => break Err(rustls::Error::General(e.to_string())),
                        }
                    }
                }
                Ok(ConnectionState::TransmitTlsData(data)) => {
                    // Bytes the socket refuses stay in `outgoing` and go out on the next push.
                    self.outgoing.push(&mut self.tcp)?;
                    data.done();
                    Ok(Next::Again)
                }
                Ok(ConnectionState::BlockedHandshake) => Ok(Next::NeedBytes),
                Ok(ConnectionState::WriteTraffic(_)) => Ok(Next::Finished),
                Ok(ConnectionState::ReadTraffic(mut traffic)) => {
                    if self.early_plain_read < self.early_plain.len() {
                        Ok(Next::ReadReady)
                    } else {
                        self.early_plain.clear();
                        self.early_plain_read = 0;
                        match traffic.next_record() {
                            Some(Ok(record)) => {
                                discard += record.discard;
                                self.early_plain.extend_from_slice(record.payload);
                                Ok(Next::ReadReady)
                            }
                            Some(Err(err)) => Err(err),
                            None => Ok(Next::Again),
                        }
                    }
                }
                Ok(ConnectionState::PeerClosed) | Ok(ConnectionState::Closed) => {
                    self.peer_closed = true;
                    Ok(Next::ReadReady)
                }
                Ok(_) => Err(rustls::Error::General(
                    "unexpected state during the TLS handshake".into(),
                )),
            };
            self.incoming.start += discard;
            match next {
                Err(err) => return Err(self.fail_handshake(err)),
                Ok(Next::Again) => {}
                Ok(Next::ReadReady) => return Ok(HandshakeStop::ReadReady),
                Ok(Next::Finished) => {
                    self.take_over_records()?;
                    return Ok(HandshakeStop::Finished);
                }
                Ok(Next::NeedBytes) => {
                    if self.tcp_eof {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    match self.incoming.fill(&mut self.tcp)? {
                        Fill::Bytes => {}
                        Fill::WouldBlock => return Ok(HandshakeStop::SocketDrained),
                        Fill::Eof => self.tcp_eof = true,
                    }
                }
            }
        }
    }

    /// The handshake failed: push the alert rustls queued, then remember the error.
    #[cold]
    fn fail_handshake(&mut self, err: rustls::Error) -> io::Error {
        if let Phase::Handshake(conn) = &mut self.phase {
            let status = conn.process_tls_records(&mut []);
            if let Ok(ConnectionState::EncodeTlsData(mut alert)) = status.state {
                if let Ok(n) = alert.encode(&mut self.outgoing.buf[self.outgoing.end..]) {
                    self.outgoing.end += n;
                }
            }
        }
        let _ = self.outgoing.push(&mut self.tcp);
        self.phase = Phase::Failed(err.clone());
        tls_io_error(err)
    }

    /// Convert the finished rustls connection into the in-place record layer, then seal what
    /// was written during the handshake (and a requested `close_notify`).
    #[cold]
    fn take_over_records(&mut self) -> io::Result<()> {
        let phase = std::mem::replace(
            &mut self.phase,
            Phase::Failed(rustls::Error::HandshakeNotComplete),
        );
        let Phase::Handshake(conn) = phase else {
            self.phase = phase;
            return Ok(());
        };
        let records = conn
            .dangerous_into_kernel_connection()
            .and_then(|(secrets, kernel)| RecordLayer::new(secrets, kernel));
        match records {
            Ok(records) => self.phase = Phase::Traffic(Box::new(records)),
            Err(err) => return Err(self.fail_traffic(err, None)),
        }
        self.seal_pending_plain()?;
        if self.close_requested && self.pending_plain.is_empty() {
            self.close_requested = false;
            self.seal_control(CONTENT_ALERT, &[ALERT_LEVEL_WARNING, ALERT_CLOSE_NOTIFY])?;
        }
        self.outgoing.push(&mut self.tcp)?;
        Ok(())
    }

    /// Seal plaintext written during the handshake, as far as the outgoing buffer allows.
    fn seal_pending_plain(&mut self) -> io::Result<()> {
        if self.pending_plain.is_empty() || !matches!(self.phase, Phase::Traffic(_)) {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending_plain);
        let sealed = self.seal_app_data(&[io::IoSlice::new(&pending)], 0, pending.len());
        self.pending_plain = pending;
        let sealed = sealed?;
        self.pending_plain.drain(..sealed);
        Ok(())
    }

    /// A fatal error after the handshake: send `alert` (fatal level) if given, remember `err`.
    #[cold]
    fn fail_traffic(&mut self, err: rustls::Error, alert: Option<u8>) -> io::Error {
        if let Some(description) = alert {
            if self
                .seal_control(CONTENT_ALERT, &[ALERT_LEVEL_FATAL, description])
                .is_ok()
            {
                let _ = self.outgoing.push(&mut self.tcp);
            }
        }
        self.phase = Phase::Failed(err.clone());
        tls_io_error(err)
    }

    /// Seal a short control record (alert, key update) into the outgoing buffer; it may use the
    /// space application data leaves free.
    fn seal_control(&mut self, content_type: u8, payload: &[u8]) -> io::Result<()> {
        let Phase::Traffic(records) = &mut self.phase else {
            return Ok(());
        };
        let need = payload.len() + records.overhead();
        if self.outgoing.make_room(need) < need {
            self.outgoing.push(&mut self.tcp)?;
            if self.outgoing.make_room(need) < need {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "outgoing TLS buffer full; control record not sent",
                ));
            }
        }
        let out = &mut self.outgoing.buf[self.outgoing.end..];
        let at = records.payload_offset();
        out[at..at + payload.len()].copy_from_slice(payload);
        let n = records
            .seal(content_type, out, payload.len())
            .map_err(tls_io_error)?;
        self.outgoing.end += n;
        Ok(())
    }

    /// Seal application data from `bufs` (`total` bytes, starting at offset `from`) into records
    /// while the outgoing buffer has room. Returns the plaintext bytes sealed by this call.
    fn seal_app_data(
        &mut self,
        bufs: &[io::IoSlice<'_>],
        from: usize,
        total: usize,
    ) -> io::Result<usize> {
        let mut sealed = 0usize;
        while from + sealed < total {
            let Phase::Traffic(records) = &mut self.phase else {
                break;
            };
            if self.key_update_owed || (records.tx_needs_key_update() && records.is_tls13()) {
                if !self.send_key_update()? {
                    break;
                }
                continue;
            }
            let overhead = records.overhead();
            let want = (total - from - sealed).min(MAX_FRAGMENT_LEN);
            let room = self
                .outgoing
                .make_room(want + overhead + CONTROL_RESERVE)
                .saturating_sub(overhead + CONTROL_RESERVE);
            if room == 0 {
                break;
            }
            let chunk = want.min(room);
            let at = self.outgoing.end + records.payload_offset();
            gather(bufs, from + sealed, &mut self.outgoing.buf[at..at + chunk]);
            let n = match records.seal(
                CONTENT_APPLICATION_DATA,
                &mut self.outgoing.buf[self.outgoing.end..],
                chunk,
            ) {
                Ok(n) => n,
                Err(err) => return Err(self.fail_traffic(err, None)),
            };
            self.outgoing.end += n;
            sealed += chunk;
        }
        Ok(sealed)
    }

    /// Seal a TLS 1.3 `KeyUpdate` (no update requested) under the current key, then rekey.
    /// Ok(false) when the outgoing buffer has no room for it yet (nothing changed).
    #[cold]
    fn send_key_update(&mut self) -> io::Result<bool> {
        match self.seal_control(CONTENT_HANDSHAKE, &[HS_KEY_UPDATE, 0, 0, 1, 0]) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
        self.key_update_owed = false;
        if let Phase::Traffic(records) = &mut self.phase {
            if let Err(err) = records.update_tx_keys() {
                return Err(self.fail_traffic(err, None));
            }
        }
        Ok(true)
    }

    /// Read after the handshake: serve decrypted bytes, opening further whole records already
    /// buffered while `buf` has room; read the socket only when nothing could be served.
    fn read_records(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0usize;
        loop {
            if self.plain_start < self.plain_end {
                let n = (buf.len() - filled).min(self.plain_end - self.plain_start);
                buf[filled..filled + n]
                    .copy_from_slice(&self.incoming.buf[self.plain_start..self.plain_start + n]);
                self.plain_start += n;
                filled += n;
                if filled == buf.len() {
                    return Ok(filled);
                }
            }
            if self.peer_closed {
                return Ok(filled);
            }
            match self.open_next_record() {
                Ok(true) => continue,
                Ok(false) => {}
                // The failure is kept; the bytes before it are handed out first.
                Err(_) if filled > 0 => return Ok(filled),
                Err(e) => return Err(e),
            }
            if filled > 0 {
                return Ok(filled);
            }
            if self.tcp_eof {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            match self.incoming.fill(&mut self.tcp)? {
                Fill::Bytes => {}
                Fill::WouldBlock => return Err(io::ErrorKind::WouldBlock.into()),
                Fill::Eof => self.tcp_eof = true,
            }
        }
    }

    /// Open the next whole record in the incoming buffer, if there is one: application data
    /// becomes the plaintext range, alerts and handshake messages are acted on. Ok(false) when
    /// no whole record is buffered.
    #[inline]
    fn open_next_record(&mut self) -> io::Result<bool> {
        let Phase::Traffic(records) = &mut self.phase else {
            return match &self.phase {
                Phase::Failed(err) => Err(tls_io_error(err.clone())),
                _ => Ok(false),
            };
        };
        let start = self.incoming.start;
        let available = self.incoming.end - start;
        if available < HEADER_LEN {
            return Ok(false);
        }
        let header = &self.incoming.buf[start..start + HEADER_LEN];
        let body_len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if body_len > MAX_CIPHERTEXT_LEN {
            return Err(self.fail_traffic(
                rustls::Error::PeerSentOversizedRecord,
                Some(ALERT_RECORD_OVERFLOW),
            ));
        }
        let record_len = HEADER_LEN + body_len;
        if available < record_len {
            return Ok(false);
        }
        self.incoming.start += record_len;
        let opened = match records.open(&mut self.incoming.buf[start..start + record_len]) {
            Ok(opened) => opened,
            Err(err) => {
                let alert = match err {
                    rustls::Error::DecryptError => ALERT_BAD_RECORD_MAC,
                    rustls::Error::PeerSentOversizedRecord => ALERT_RECORD_OVERFLOW,
                    _ => ALERT_UNEXPECTED_MESSAGE,
                };
                return Err(self.fail_traffic(err, Some(alert)));
            }
        };
        let from = start + opened.start;
        let to = from + opened.len;
        match opened.content_type {
            CONTENT_APPLICATION_DATA => {
                self.plain_start = from;
                self.plain_end = to;
            }
            CONTENT_ALERT => self.on_alert(from, to)?,
            CONTENT_HANDSHAKE => self.on_handshake_message(from, to)?,
            other => {
                return Err(self.fail_traffic(
                    rustls::Error::InappropriateMessage {
                        expect_types: vec![rustls::ContentType::ApplicationData],
                        got_type: rustls::ContentType::from(other),
                    },
                    Some(ALERT_UNEXPECTED_MESSAGE),
                ))
            }
        }
        Ok(true)
    }

    /// An alert record (`incoming.buf[from..to]`) after the handshake.
    #[cold]
    fn on_alert(&mut self, from: usize, to: usize) -> io::Result<()> {
        let alert = &self.incoming.buf[from..to];
        if alert.len() != 2 {
            return Err(self.fail_traffic(
                rustls::Error::InvalidMessage(rustls::InvalidMessage::MessageTooShort),
                Some(ALERT_DECODE_ERROR),
            ));
        }
        let (level, description) = (alert[0], alert[1]);
        let tls13 = matches!(&self.phase, Phase::Traffic(r) if r.is_tls13());
        if description == ALERT_CLOSE_NOTIFY {
            self.peer_closed = true;
            Ok(())
        } else if description == ALERT_USER_CANCELED || (!tls13 && level == ALERT_LEVEL_WARNING) {
            Ok(())
        } else {
            self.phase = Phase::Failed(rustls::Error::AlertReceived(description.into()));
            Err(tls_io_error(rustls::Error::AlertReceived(
                description.into(),
            )))
        }
    }

    /// Handshake bytes (`incoming.buf[from..to]`) after the handshake: TLS 1.3 session tickets
    /// and key updates; a TLS 1.2 renegotiation request is refused with a warning alert.
    #[cold]
    fn on_handshake_message(&mut self, from: usize, to: usize) -> io::Result<()> {
        if self.handshake_message.len() + (to - from) > MAX_POST_HANDSHAKE_MESSAGE {
            return Err(self.fail_traffic(
                rustls::Error::InvalidMessage(rustls::InvalidMessage::HandshakePayloadTooLarge),
                Some(ALERT_UNEXPECTED_MESSAGE),
            ));
        }
        self.handshake_message
            .extend_from_slice(&self.incoming.buf[from..to]);
        let mut message = std::mem::take(&mut self.handshake_message);
        let result = self.handle_handshake_messages(&mut message);
        self.handshake_message = message;
        result
    }

    #[cold]
    fn handle_handshake_messages(&mut self, message: &mut Vec<u8>) -> io::Result<()> {
        let mut used = 0usize;
        while message.len() - used >= 4 {
            let typ = message[used];
            let len = (usize::from(message[used + 1]) << 16)
                | (usize::from(message[used + 2]) << 8)
                | usize::from(message[used + 3]);
            if message.len() - used - 4 < len {
                break;
            }
            let body = &message[used + 4..used + 4 + len];
            used += 4 + len;
            let Phase::Traffic(records) = &mut self.phase else {
                break;
            };
            let outcome = match (records.is_tls13(), typ) {
                (true, HS_NEW_SESSION_TICKET) => records.new_session_ticket(body).map(|()| false),
                (true, HS_KEY_UPDATE) => match body {
                    [request @ (0 | 1)] if used == message.len() => {
                        records.update_rx_keys().map(|()| *request == 1)
                    }
                    _ => Err(rustls::Error::InvalidMessage(
                        rustls::InvalidMessage::InvalidKeyUpdate,
                    )),
                },
                (false, HS_HELLO_REQUEST) if len == 0 => {
                    self.seal_control(
                        CONTENT_ALERT,
                        &[ALERT_LEVEL_WARNING, ALERT_NO_RENEGOTIATION],
                    )?;
                    self.outgoing.push(&mut self.tcp)?;
                    Ok(false)
                }
                _ => Err(rustls::Error::InappropriateHandshakeMessage {
                    expect_types: vec![rustls::HandshakeType::NewSessionTicket],
                    got_type: rustls::HandshakeType::from(typ),
                }),
            };
            match outcome {
                Ok(false) => {}
                Ok(true) => {
                    self.key_update_owed = true;
                    // If the outgoing buffer is full, it goes out before the next write instead.
                    if self.send_key_update()? {
                        self.outgoing.push(&mut self.tcp)?;
                    }
                }
                Err(err) => {
                    message.clear();
                    return Err(self.fail_traffic(err, Some(ALERT_UNEXPECTED_MESSAGE)));
                }
            }
        }
        message.drain(..used);
        Ok(())
    }
}

/// Copy `dst.len()` bytes starting at logical offset `skip` of the concatenated `bufs`.
#[inline]
fn gather(bufs: &[io::IoSlice<'_>], mut skip: usize, dst: &mut [u8]) {
    let mut filled = 0usize;
    for b in bufs {
        if filled == dst.len() {
            break;
        }
        if skip >= b.len() {
            skip -= b.len();
            continue;
        }
        let src = &b[skip..];
        skip = 0;
        let n = src.len().min(dst.len() - filled);
        dst[filled..filled + n].copy_from_slice(&src[..n]);
        filled += n;
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.early_plain_read < self.early_plain.len() {
                let from = &self.early_plain[self.early_plain_read..];
                let n = buf.len().min(from.len());
                buf[..n].copy_from_slice(&from[..n]);
                self.early_plain_read += n;
                return Ok(n);
            }
            match &self.phase {
                Phase::Traffic(_) => return self.read_records(buf),
                Phase::Failed(err) => return Err(tls_io_error(err.clone())),
                Phase::Handshake(_) => {}
            }
            if self.peer_closed {
                return Ok(0);
            }
            match self.advance_handshake()? {
                HandshakeStop::SocketDrained => return Err(io::ErrorKind::WouldBlock.into()),
                HandshakeStop::ReadReady | HandshakeStop::Finished => {}
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Ok(0);
        }
        match &self.phase {
            Phase::Traffic(_) => {}
            Phase::Failed(err) => return Err(tls_io_error(err.clone())),
            Phase::Handshake(_) => {
                // Held until the handshake ends; the socket gets whatever handshake bytes wait.
                let room = HANDSHAKE_PLAINTEXT_CAPACITY - self.pending_plain.len();
                let n = room.min(total);
                self.outgoing.push(&mut self.tcp)?;
                if n == 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let at = self.pending_plain.len();
                self.pending_plain.resize(at + n, 0);
                gather(bufs, 0, &mut self.pending_plain[at..]);
                return Ok(n);
            }
        }
        if !self.pending_plain.is_empty() {
            self.seal_pending_plain()?;
            if !self.pending_plain.is_empty() {
                self.outgoing.push(&mut self.tcp)?;
                self.seal_pending_plain()?;
                if !self.pending_plain.is_empty() {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
            }
        }
        let mut accepted = 0usize;
        let mut socket_full = false;
        loop {
            accepted += self.seal_app_data(bufs, accepted, total)?;
            if accepted == total {
                break;
            }
            // The outgoing buffer is full: continue only if the socket takes all of it.
            if !self.outgoing.push(&mut self.tcp)? {
                socket_full = true;
                break;
            }
        }
        if accepted == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if !socket_full {
            self.outgoing.push(&mut self.tcp)?;
        }
        Ok(accepted)
    }

    /// Non-blocking flush: `WouldBlock` when the socket did not take everything.
    fn flush(&mut self) -> io::Result<()> {
        if self.flush_pending()? {
            Ok(())
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }
}

impl Transport for TlsStream {
    /// Ok(true) when no sealed record and no plaintext written during the handshake is waiting.
    fn flush_pending(&mut self) -> io::Result<bool> {
        if let Phase::Failed(err) = &self.phase {
            return Err(tls_io_error(err.clone()));
        }
        if self.key_update_owed {
            self.outgoing.push(&mut self.tcp)?;
            self.send_key_update()?;
        }
        if !self.pending_plain.is_empty() && matches!(self.phase, Phase::Traffic(_)) {
            self.seal_pending_plain()?;
        }
        let mut drained = self.outgoing.push(&mut self.tcp)?;
        if drained && !self.pending_plain.is_empty() && matches!(self.phase, Phase::Traffic(_)) {
            self.seal_pending_plain()?;
            drained = self.outgoing.push(&mut self.tcp)?;
        }
        if drained
            && self.close_requested
            && matches!(self.phase, Phase::Traffic(_))
            && self.pending_plain.is_empty()
        {
            self.close_requested = false;
            self.seal_control(CONTENT_ALERT, &[ALERT_LEVEL_WARNING, ALERT_CLOSE_NOTIFY])?;
            drained = self.outgoing.push(&mut self.tcp)?;
        }
        Ok(drained && self.pending_plain.is_empty() && !self.key_update_owed)
    }

    /// Seals `scratch` with the record layer's throwaway key of the session's AEAD
    /// ([`RecordLayer::warm_seal`]); nothing is sent and no sequence number is used.
    #[inline]
    fn warm_seal(&mut self, scratch: &mut [u8]) {
        if let Phase::Traffic(records) = &self.phase {
            records.warm_seal(scratch);
        }
    }

    fn is_handshaking(&self) -> bool {
        matches!(self.phase, Phase::Handshake(_))
    }

    fn socket(&mut self) -> &mut TcpStream {
        &mut self.tcp
    }
}

/// A connection that is either plain TCP (`ws://`, `http://`) or TLS (`wss://`, `https://`).
/// The TLS variant is boxed: the session and its buffers are large and the enum lives in
/// connection tables.
#[derive(Debug)]
pub enum MaybeTls {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream>),
}

impl MaybeTls {
    /// Start a non-blocking connect to `addr`; with `tls = Some((config, server_name))` the
    /// stream is wrapped in TLS. The socket is still connecting: register it (via
    /// [`Transport::socket`]) and confirm with [`super::tcp::poll_connect`].
    #[cold]
    pub fn connect(
        addr: std::net::SocketAddr,
        tls: Option<(Arc<ClientConfig>, &str)>,
    ) -> Result<Self, TlsConnectError> {
        let tcp = super::tcp::connect(addr).map_err(TlsConnectError::Io)?;
        match tls {
            None => Ok(MaybeTls::Plain(tcp)),
            Some((config, name)) => Ok(MaybeTls::Tls(Box::new(TlsStream::new(tcp, config, name)?))),
        }
    }

    /// True for the TLS variant.
    pub fn is_tls(&self) -> bool {
        matches!(self, MaybeTls::Tls(_))
    }
}

/// Why [`MaybeTls::connect`] failed before any readiness.
#[derive(Debug, thiserror::Error)]
pub enum TlsConnectError {
    /// The socket could not be created or the connect could not be started.
    #[error("connect: {0}")]
    Io(#[source] io::Error),
    /// The TLS session could not be set up (bad server name).
    #[error(transparent)]
    Tls(#[from] TlsConfigError),
}

impl Read for MaybeTls {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(s) => s.read(buf),
            MaybeTls::Tls(s) => s.read(buf),
        }
    }
}

impl Write for MaybeTls {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(s) => s.write(buf),
            MaybeTls::Tls(s) => s.write(buf),
        }
    }
    #[inline]
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(s) => s.write_vectored(bufs),
            MaybeTls::Tls(s) => s.write_vectored(bufs),
        }
    }
    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTls::Plain(s) => s.flush(),
            MaybeTls::Tls(s) => s.flush(),
        }
    }
}

impl Transport for MaybeTls {
    #[inline]
    fn flush_pending(&mut self) -> io::Result<bool> {
        match self {
            MaybeTls::Plain(s) => s.flush_pending(),
            MaybeTls::Tls(s) => s.flush_pending(),
        }
    }
    #[inline]
    fn is_handshaking(&self) -> bool {
        match self {
            MaybeTls::Plain(s) => s.is_handshaking(),
            MaybeTls::Tls(s) => s.is_handshaking(),
        }
    }
    #[inline]
    fn socket(&mut self) -> &mut TcpStream {
        match self {
            MaybeTls::Plain(s) => s,
            MaybeTls::Tls(s) => s.socket(),
        }
    }
    #[inline]
    fn warm_seal(&mut self, scratch: &mut [u8]) {
        if let MaybeTls::Tls(s) = self {
            s.warm_seal(scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "sattebaaz-tls-unit-{}-{tag}.pem",
            std::process::id()
        ))
    }

    #[test]
    fn default_config_has_roots_and_no_alpn() {
        let config = client_config(None).unwrap();
        assert!(config.alpn_protocols.is_empty());
        assert!(TlsClientConfigBuilder::new()
            .webpki_roots(false)
            .build()
            .is_ok());
    }

    #[test]
    fn empty_and_malformed_ca_files_are_named() {
        let empty = temp_path("empty");
        std::fs::write(&empty, b"no pem here\n").unwrap();
        let err = client_config(Some(&empty)).unwrap_err();
        assert!(
            matches!(&err, TlsConfigError::CaFileEmpty { path } if path == &empty),
            "{err}"
        );
        assert!(err.to_string().contains(&*empty.to_string_lossy()));

        let bad = temp_path("bad");
        std::fs::write(
            &bad,
            b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = client_config(Some(&bad)).unwrap_err();
        assert!(
            matches!(&err, TlsConfigError::CaFileMalformed { path, .. } if path == &bad),
            "{err}"
        );
        let _ = std::fs::remove_file(&empty);
        let _ = std::fs::remove_file(&bad);
    }

    #[test]
    fn invalid_server_name_is_rejected() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = super::super::tcp::connect(listener.local_addr().unwrap()).unwrap();
        let err = TlsStream::new(tcp, client_config(None).unwrap(), "bad name!").unwrap_err();
        assert!(matches!(err, TlsConfigError::InvalidServerName(_)));
    }

    #[test]
    fn tls_failure_round_trips_through_io_error() {
        let err = tls_io_error(rustls::Error::DecryptError);
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(tls_failure(&err), Some(&rustls::Error::DecryptError));
        assert!(tls_failure(&io::Error::other("x")).is_none());
    }
}
