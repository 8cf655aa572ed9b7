//! TLS over a non-blocking mio socket: [`TlsStream`] is a rustls `ClientConnection` driven by
//! readiness, [`MaybeTls`] lets the protocol layers run over plain TCP or TLS through one type,
//! and [`client_config`] / [`TlsClientConfigBuilder`] build the shared `ClientConfig`.
//!
//! Invariants:
//! - No call blocks. The handshake advances inside `read` (socket -> rustls -> any reply back to
//!   the socket), `write` and `flush_pending` (rustls -> socket), each stopping at `WouldBlock`.
//! - Whenever rustls has produced TLS bytes, a socket write is attempted at once, so an
//!   edge-triggered writable event is never needed to get things moving; callers still call
//!   `flush_pending` on every writable event to drain what the socket refused.
//! - `read` only reports `WouldBlock` after the socket itself reported `WouldBlock` (or hit EOF),
//!   which is what edge-triggered mio needs.
//! - `read` returns `Ok(0)` only on a clean TLS close (`close_notify`); TCP EOF without it is an
//!   `UnexpectedEof` error. TLS failures (bad certificate, alert, decrypt error) are `io::Error`s
//!   of kind `InvalidData` wrapping a [`TlsFailure`] (see [`tls_failure`]), with any alert rustls
//!   queued pushed to the socket first.
//! - Certificates are verified against webpki roots plus optional extra CAs; the server name must
//!   match. ALPN is off; the provider is ring.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

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
    /// client certificate). Reads files: start-up only.
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

/// A client TLS session over a non-blocking mio socket. See the module docs for the driving
/// rules; in short: call `read` until `WouldBlock` on readable, `flush_pending` on writable.
pub struct TlsStream {
    tcp: TcpStream,
    conn: ClientConnection,
    /// The socket reported EOF; no more `read_tls` calls.
    tcp_eof: bool,
    /// Plaintext was accepted while handshaking and sits in rustls until the handshake ends.
    plaintext_queued_in_handshake: bool,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("peer", &self.tcp.peer_addr().ok())
            .field("handshaking", &self.conn.is_handshaking())
            .field("tcp_eof", &self.tcp_eof)
            .finish()
    }
}

impl TlsStream {
    /// Wrap `tcp` (which may still be connecting) in a client session for `server_name` (the
    /// host the certificate must name). The ClientHello is queued and goes out on the first
    /// `flush_pending`/`write`/`read` after the socket connects.
    #[cold]
    pub fn new(
        tcp: TcpStream,
        config: Arc<ClientConfig>,
        server_name: &str,
    ) -> Result<Self, TlsConfigError> {
        let name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| TlsConfigError::InvalidServerName(server_name.to_owned()))?;
        let conn = ClientConnection::new(config, name)?;
        Ok(Self {
            tcp,
            conn,
            tcp_eof: false,
            plaintext_queued_in_handshake: false,
        })
    }

    /// Queue a `close_notify` alert and try to send it. The peer answers with its own, after
    /// which `read` returns `Ok(0)`.
    #[cold]
    pub fn send_close_notify(&mut self) -> io::Result<bool> {
        self.conn.send_close_notify();
        self.flush_pending()
    }

    /// The rustls session (negotiated version, cipher suite, peer certificates).
    pub fn session(&self) -> &ClientConnection {
        &self.conn
    }

    /// Give back the socket, dropping the TLS session.
    pub fn into_inner(self) -> TcpStream {
        self.tcp
    }

    /// Read TLS bytes from the socket and process them, once. Returns false when the socket has
    /// nothing more (WouldBlock) or hit EOF.
    fn pull_tls(&mut self) -> io::Result<bool> {
        if self.tcp_eof {
            return Ok(false);
        }
        let more = loop {
            match self.conn.read_tls(&mut self.tcp) {
                Ok(0) => {
                    self.tcp_eof = true;
                    break false;
                }
                Ok(_) => break true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        self.process()?;
        Ok(more)
    }

    /// Let rustls process buffered records and send whatever it produced (handshake replies,
    /// alerts, flushed early plaintext).
    fn process(&mut self) -> io::Result<()> {
        match self.conn.process_new_packets() {
            Ok(_) => {
                if !self.conn.is_handshaking() {
                    self.plaintext_queued_in_handshake = false;
                }
                self.push_tls()?;
                Ok(())
            }
            Err(err) => Err(self.fail(err)),
        }
    }

    #[cold]
    fn fail(&mut self, err: rustls::Error) -> io::Error {
        // Best effort: rustls has queued an alert for the peer.
        let _ = self.push_tls();
        tls_io_error(err)
    }

    /// Write queued TLS records to the socket until empty or WouldBlock. Ok(true) when empty.
    fn push_tls(&mut self) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.tcp) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if !self.pull_tls()? {
                // Socket drained (or EOF): one last look at what processing produced.
                return self.conn.reader().read(buf);
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Ok(0);
        }
        let mut accepted = self.conn.writer().write_vectored(bufs)?;
        if accepted == 0 {
            // rustls' buffer is full: drain to the socket and try once more.
            self.push_tls()?;
            accepted = self.conn.writer().write_vectored(bufs)?;
            if accepted == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
        if self.conn.is_handshaking() {
            self.plaintext_queued_in_handshake = true;
        }
        self.push_tls()?;
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
    /// Ok(true) when no TLS record and no pre-handshake plaintext is waiting.
    fn flush_pending(&mut self) -> io::Result<bool> {
        let socket_drained = self.push_tls()?;
        Ok(socket_drained && !(self.conn.is_handshaking() && self.plaintext_queued_in_handshake))
    }

    fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    fn socket(&mut self) -> &mut TcpStream {
        &mut self.tcp
    }
}

/// A connection that is either plain TCP (`ws://`, `http://`) or TLS (`wss://`, `https://`).
/// The TLS variant is boxed: a rustls session is large and the enum lives in connection tables.
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
