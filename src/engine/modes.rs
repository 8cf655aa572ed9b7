//! Run modes (`engine.mode`) and the checks that gate them.
//!
//! - `paper`: the engine against the embedded simulator; orders go to the simulated CLOB with a
//!   generated key registered there. Nothing leaves the machine.
//! - `shadow`: real feeds and discovery; orders are built, risk-checked and signed but never
//!   sent, and logged by the risk thread as would-be orders.
//! - `live`: real orders. Refused unless API credentials are available (given or derivable from
//!   the private key), the CLOB answers `GET /version` with the protocol version this engine
//!   speaks, and `engine.live_confirmed = true`.
//!
//! Invariants: every refusal is a distinct [`ModeError`] variant with a message naming what to
//! fix; the checks never print or log a secret.

use crate::config::secrets::Secrets;
use crate::config::{Config, EngineMode};

/// The CLOB protocol version this engine speaks (`GET /version`).
pub const CLOB_PROTOCOL_VERSION: u64 = 2;

/// Why a mode refuses to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    #[error(
        "live mode needs a wallet key: set SATTEBAAZ_PRIVATE_KEY or SATTEBAAZ_PRIVATE_KEY_FILE"
    )]
    NoPrivateKey,
    #[error(
        "live mode needs engine.live_confirmed = true in the configuration (a second switch \
         against trading real money by accident)"
    )]
    NotConfirmed,
    #[error("live mode: the CLOB at {url} is not reachable: {reason}")]
    ClobUnreachable { url: String, reason: String },
    #[error(
        "live mode: the CLOB at {url} speaks protocol version {found}; this engine needs \
         {CLOB_PROTOCOL_VERSION}"
    )]
    WrongVersion { url: String, found: u64 },
    #[error("live mode: no API credentials given and deriving them failed: {0}")]
    Credentials(String),
}

/// What the live preflight found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LivePreflight {
    /// API credentials were given in the environment (otherwise they are derived at start-up).
    pub credentials_given: bool,
    /// The CLOB's `GET /version`.
    pub clob_version: u64,
}

/// The checks of live mode, in the order an operator fixes them: confirmation, key, CLOB
/// reachable and speaking version 2. `probe_version` asks the CLOB for `GET /version`
/// (blocking; called only after the cheap checks pass). Other modes pass without probing.
pub fn live_preflight(
    cfg: &Config,
    secrets: &Secrets,
    clob_url: &str,
    probe_version: impl FnOnce() -> Result<u64, String>,
) -> Result<Option<LivePreflight>, ModeError> {
    if cfg.engine.mode != EngineMode::Live {
        return Ok(None);
    }
    if !cfg.engine.live_confirmed {
        return Err(ModeError::NotConfirmed);
    }
    if secrets.private_key.is_none() {
        return Err(ModeError::NoPrivateKey);
    }
    let version = probe_version().map_err(|reason| ModeError::ClobUnreachable {
        url: clob_url.to_string(),
        reason,
    })?;
    if version != CLOB_PROTOCOL_VERSION {
        return Err(ModeError::WrongVersion {
            url: clob_url.to_string(),
            found: version,
        });
    }
    Ok(Some(LivePreflight {
        credentials_given: secrets.api.is_some(),
        clob_version: version,
    }))
}

/// `GET /version` against `clob_url` over a fresh blocking connection (start-up only).
pub fn probe_clob_version(
    clob_url: &str,
    tls: std::sync::Arc<rustls::ClientConfig>,
    timeout: std::time::Duration,
) -> Result<u64, String> {
    let config = crate::exec::rest::blocking::BlockingConfig {
        connect_timeout: timeout,
        request_timeout: timeout,
        ..Default::default()
    };
    let backoff = crate::net::backoff::BackoffPolicy::new(timeout, 2.0, timeout, 0.0)
        .map_err(|e| e.to_string())?;
    let mut clob = crate::exec::rest::blocking::connect(clob_url, tls, None, config, backoff)
        .map_err(|e| e.to_string())?;
    clob.version().map_err(|e| e.to_string())
}
