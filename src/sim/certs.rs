//! Certificates for the simulator: a throw-away CA and a `localhost`/`127.0.0.1` server
//! certificate signed by it, generated at start-up with rcgen. The CA certificate is written as
//! PEM so the engine can trust it through `net.tls_extra_ca_file`; the private keys stay in
//! memory (tests hand the server key to their own servers).

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Errors while generating or installing the simulator's certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("generating the simulator certificate failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("building the TLS server configuration failed: {0}")]
    Tls(#[from] rustls::Error),
    #[error("writing the simulator CA certificate to {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The simulator's CA (as PEM, for clients), its server certificate and key (as PEM, for servers
/// not built on rustls, such as the tests' Python servers) and a ready rustls server configuration.
pub struct SimCertificates {
    /// PEM of the CA certificate that signed the server certificate.
    pub ca_pem: String,
    /// PEM of the `localhost`/`127.0.0.1` server certificate.
    pub server_cert_pem: String,
    /// PEM (PKCS#8) of the server certificate's private key (a throw-away test key).
    pub server_key_pem: String,
    /// Server configuration presenting the `localhost`/`127.0.0.1` certificate.
    pub server_config: Arc<rustls::ServerConfig>,
}

impl SimCertificates {
    /// Generate a fresh CA and a server certificate valid for `localhost` and `127.0.0.1`.
    pub fn generate() -> Result<Self, CertError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "sattebaaz simulator CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate()?;
        let mut leaf_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "sattebaaz simulator");
        let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

        let chain: Vec<CertificateDer<'static>> =
            vec![leaf_cert.der().clone(), ca_cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let server_cert_pem = leaf_cert.pem();
        let server_key_pem = leaf_key.serialize_pem();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server_config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        Ok(SimCertificates {
            ca_pem: ca_cert.pem(),
            server_cert_pem,
            server_key_pem,
            server_config: Arc::new(server_config),
        })
    }

    /// Write the CA certificate PEM to `path` (creating parent directories).
    pub fn write_ca(&self, path: &Path) -> Result<(), CertError> {
        let wrap = |source| CertError::Write {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(wrap)?;
        }
        std::fs::write(path, self.ca_pem.as_bytes()).map_err(wrap)
    }
}
