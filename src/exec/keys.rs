//! `sattebaaz keys derive`: obtain the CLOB API credentials of a wallet key by L1 auth —
//! `GET /auth/derive-api-key` (existing credentials), else `POST /auth/api-key` (create) —
//! and render them as `.env` lines.
//!
//! Invariant: this is the one place the API secret is shown, to the user who asked for it; it
//! is only returned as text for printing, never logged.

use super::rest::blocking::BlockingClob;
use super::rest::responses::ApiKeyCreds;
use super::rest::RestError;
use super::signing::signer::EoaSigner;
use crate::config::secrets::{ENV_API_KEY, ENV_API_PASSPHRASE, ENV_API_SECRET};
use crate::net::http::Connect;
use crate::net::transport::Transport;

/// How the credentials were obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeysOrigin {
    /// Existing credentials derived.
    Derived,
    /// New credentials created.
    Created,
}

/// Why no credentials were obtained.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// Deriving failed with an answer that does not mean "no key yet", or creating failed.
    #[error("{step} failed: {error}")]
    Http {
        /// `derive` or `create`.
        step: &'static str,
        /// The failure.
        error: RestError,
    },
}

/// Derive, else create, the credentials for `signer` and `nonce`.
pub fn derive_or_create<T: Transport, C: Connect<T>>(
    clob: &mut BlockingClob<T, C>,
    signer: &EoaSigner,
    nonce: u64,
) -> Result<(ApiKeyCreds, KeysOrigin), KeysError> {
    match clob.derive_api_key(signer, nonce) {
        Ok(creds) => return Ok((creds, KeysOrigin::Derived)),
        // No key for this wallet/nonce yet (400/404), or a malformed answer: create one.
        Err(RestError::BadRequest(_) | RestError::NotFound | RestError::Malformed) => {}
        Err(error) => {
            return Err(KeysError::Http {
                step: "derive",
                error,
            })
        }
    }
    clob.create_api_key(signer, nonce)
        .map(|c| (c, KeysOrigin::Created))
        .map_err(|error| KeysError::Http {
            step: "create",
            error,
        })
}

/// `.env` lines for the credentials.
pub fn env_lines(creds: &ApiKeyCreds) -> String {
    format!(
        "{ENV_API_KEY}={}\n{ENV_API_SECRET}={}\n{ENV_API_PASSPHRASE}={}\n",
        creds.api_key, creds.secret, creds.passphrase
    )
}
