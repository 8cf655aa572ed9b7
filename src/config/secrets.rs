//! Secrets from the environment: the wallet's private key and the Polymarket API credentials.
//!
//! Sources (never `config.toml`):
//! * `SATTEBAAZ_PRIVATE_KEY`: `0x` + 64 hex digits (the `0x` may be omitted), or
//!   `SATTEBAAZ_PRIVATE_KEY_FILE`: path of a file holding the same text, whose mode must be
//!   exactly 0600 or 0400 (owner-only). Setting both is an error.
//! * `SATTEBAAZ_API_KEY`, `SATTEBAAZ_API_SECRET`, `SATTEBAAZ_API_PASSPHRASE`: all three or none.
//!
//! Invariants: a key that does not parse (bad hex, wrong length, zero or ≥ the secp256k1
//! order) is an error, never a fallback; no error message, `Debug` or `Display` output contains
//! key material; buffers that held secret text are zeroised on drop. Loading reads through a
//! lookup closure ([`load_with`]) so tests never touch the process environment.

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use k256::elliptic_curve::sec1::ToEncodedPoint;
use sha3::{Digest, Keccak256};
use zeroize::{Zeroize, Zeroizing};

use super::schema::EngineMode;

/// Env var holding the private key text.
pub const ENV_PRIVATE_KEY: &str = "SATTEBAAZ_PRIVATE_KEY";
/// Env var naming a 0600/0400 file holding the private key text.
pub const ENV_PRIVATE_KEY_FILE: &str = "SATTEBAAZ_PRIVATE_KEY_FILE";
/// Env var holding the Polymarket CLOB API key (uuid).
pub const ENV_API_KEY: &str = "SATTEBAAZ_API_KEY";
/// Env var holding the Polymarket CLOB API secret (url-safe base64).
pub const ENV_API_SECRET: &str = "SATTEBAAZ_API_SECRET";
/// Env var holding the Polymarket CLOB API passphrase.
pub const ENV_API_PASSPHRASE: &str = "SATTEBAAZ_API_PASSPHRASE";

/// Largest key file accepted, bytes (a key is 66 characters plus whitespace).
const MAX_KEY_FILE_BYTES: u64 = 1024;
/// Hex digits in a 32-byte key.
const KEY_HEX_DIGITS: usize = 64;

/// A secret string: `Debug`/`Display` print `[redacted]`; the buffer is zeroised on drop.
/// Deliberately not `Clone`, so copies are explicit.
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps `value`, taking ownership of its buffer.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret text, for building signatures/headers. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl zeroize::ZeroizeOnDrop for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The wallet's secp256k1 private key (zeroised on drop by `k256`). `Debug` shows only the
/// derived public address.
pub struct PrivateKey {
    key: k256::SecretKey,
}

impl PrivateKey {
    /// Parses `0x` + 64 hex digits (prefix optional, surrounding whitespace ignored). `source`
    /// names where the text came from, for the error message (the text itself never appears).
    pub fn parse(text: &[u8], source: KeySource) -> Result<Self, SecretError> {
        let trimmed = text.trim_ascii();
        let digits = trimmed
            .strip_prefix(b"0x")
            .or_else(|| trimmed.strip_prefix(b"0X"))
            .unwrap_or(trimmed);
        if digits.len() != KEY_HEX_DIGITS {
            return Err(SecretError::KeyWrongLength {
                from: source,
                hex_digits: digits.len(),
            });
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let (Some(high), Some(low)) = (hex_value(pair[0]), hex_value(pair[1])) else {
                return Err(SecretError::KeyNotHex { from: source });
            };
            *byte = (high << 4) | low;
        }
        let key = k256::SecretKey::from_slice(bytes.as_slice())
            .map_err(|_| SecretError::KeyOutOfRange { from: source })?;
        Ok(Self { key })
    }

    /// The key, for signing.
    pub fn secret_key(&self) -> &k256::SecretKey {
        &self.key
    }

    /// An ECDSA signing key (a copy; zeroised on drop by `k256`).
    pub fn signing_key(&self) -> k256::ecdsa::SigningKey {
        k256::ecdsa::SigningKey::from(&self.key)
    }

    /// The 20-byte Ethereum address: last 20 bytes of keccak256 of the uncompressed public key
    /// without its `0x04` prefix.
    pub fn address(&self) -> [u8; 20] {
        let point = self.key.public_key().to_encoded_point(false);
        let hash = Keccak256::digest(&point.as_bytes()[1..]);
        let mut address = [0u8; 20];
        address.copy_from_slice(&hash[12..]);
        address
    }

    /// The address as EIP-55 mixed-case hex with `0x` (public; safe to print).
    pub fn address_checksummed(&self) -> String {
        checksum_address(&self.address())
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("address", &self.address_checksummed())
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

/// EIP-55 checksum encoding of an address.
pub fn checksum_address(address: &[u8; 20]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut lower = [0u8; 40];
    for (index, byte) in address.iter().enumerate() {
        lower[2 * index] = HEX[usize::from(byte >> 4)];
        lower[2 * index + 1] = HEX[usize::from(byte & 0x0f)];
    }
    let hash = Keccak256::digest(lower);
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (index, &digit) in lower.iter().enumerate() {
        let nibble = if index % 2 == 0 {
            hash[index / 2] >> 4
        } else {
            hash[index / 2] & 0x0f
        };
        let upper = digit.is_ascii_alphabetic() && nibble >= 8;
        out.push(char::from(if upper {
            digit.to_ascii_uppercase()
        } else {
            digit
        }));
    }
    out
}

/// Polymarket CLOB L2 credentials.
#[derive(Debug)]
pub struct ApiCredentials {
    /// `POLY_API_KEY` (uuid).
    pub api_key: Secret,
    /// HMAC secret (url-safe base64).
    pub secret: Secret,
    /// `POLY_PASSPHRASE`.
    pub passphrase: Secret,
}

/// Everything loaded from the environment.
#[derive(Debug)]
pub struct Secrets {
    /// The wallet key, if configured.
    pub private_key: Option<PrivateKey>,
    /// CLOB API credentials, if configured (otherwise derived from the key via L1 auth).
    pub api: Option<ApiCredentials>,
}

impl Secrets {
    /// Checks that what `mode` needs is present: `live` needs the private key (API
    /// credentials can be derived from it); `paper` and `shadow` need nothing.
    pub fn require_for(&self, mode: EngineMode) -> Result<(), SecretError> {
        if mode == EngineMode::Live && self.private_key.is_none() {
            return Err(SecretError::KeyRequired);
        }
        Ok(())
    }
}

/// Where a private key came from (for error messages; never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `SATTEBAAZ_PRIVATE_KEY`.
    Env,
    /// The file named by `SATTEBAAZ_PRIVATE_KEY_FILE`.
    File(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env => write!(f, "env {ENV_PRIVATE_KEY}"),
            Self::File(path) => write!(f, "key file {}", path.display()),
        }
    }
}

/// Why secrets could not be loaded. Messages name the source, never the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Both key sources are set.
    #[error("both {ENV_PRIVATE_KEY} and {ENV_PRIVATE_KEY_FILE} are set; set exactly one")]
    BothKeySources,
    /// A variable holds bytes that are not UTF-8.
    #[error("env {var} is not valid UTF-8")]
    NotUnicode {
        /// The variable.
        var: &'static str,
    },
    /// A variable is set but empty.
    #[error("env {var} is set but empty")]
    Empty {
        /// The variable.
        var: &'static str,
    },
    /// The key text has the wrong number of hex digits.
    #[error("private key from {from} has {hex_digits} hex digits; expected 64 (32 bytes, optional 0x prefix)")]
    KeyWrongLength {
        /// Where it came from.
        from: KeySource,
        /// Digits found (after trimming whitespace and `0x`).
        hex_digits: usize,
    },
    /// The key text has non-hex characters.
    #[error("private key from {from} is not hexadecimal")]
    KeyNotHex {
        /// Where it came from.
        from: KeySource,
    },
    /// The key is zero or not below the secp256k1 group order.
    #[error(
        "private key from {from} is not a valid secp256k1 key (zero or not below the curve order)"
    )]
    KeyOutOfRange {
        /// Where it came from.
        from: KeySource,
    },
    /// The key file could not be opened, inspected or read.
    #[error("key file {path}: {error}")]
    KeyFileIo {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The key file is readable by others (or not owner-readable).
    #[error(
        "key file {path} has mode {mode:04o}; it must be 0600 or 0400 (run: chmod 600 {path})"
    )]
    KeyFileMode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is a directory, device, etc.
    #[error("key file {path} is not a regular file")]
    KeyFileNotRegular {
        /// The file.
        path: PathBuf,
    },
    /// The key file is implausibly large.
    #[error("key file {path} is {bytes} bytes; a key file holds one 64-digit hex key")]
    KeyFileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// Some but not all API credential variables are set.
    #[error("API credentials are incomplete: {missing} not set (set all of {ENV_API_KEY}, {ENV_API_SECRET}, {ENV_API_PASSPHRASE}, or none)")]
    ApiIncomplete {
        /// The unset variables, comma-separated.
        missing: String,
    },
    /// Live mode without a private key.
    #[error("engine.mode = \"live\" needs a private key: set {ENV_PRIVATE_KEY} or {ENV_PRIVATE_KEY_FILE}")]
    KeyRequired,
}

/// Loads secrets from the process environment.
pub fn load_from_env() -> Result<Secrets, SecretError> {
    load_with(|name| std::env::var_os(name))
}

/// Loads secrets through `lookup` (variable name -> value), so callers and tests choose the
/// environment.
pub fn load_with(mut lookup: impl FnMut(&str) -> Option<OsString>) -> Result<Secrets, SecretError> {
    let key_text = read_var(&mut lookup, ENV_PRIVATE_KEY)?;
    let key_file = read_var(&mut lookup, ENV_PRIVATE_KEY_FILE)?;
    let private_key = match (key_text, key_file) {
        (Some(_), Some(_)) => return Err(SecretError::BothKeySources),
        (Some(text), None) => Some(PrivateKey::parse(text.expose().as_bytes(), KeySource::Env)?),
        (None, Some(path)) => Some(read_key_file(Path::new(path.expose()))?),
        (None, None) => None,
    };
    let api_key = read_var(&mut lookup, ENV_API_KEY)?;
    let secret = read_var(&mut lookup, ENV_API_SECRET)?;
    let passphrase = read_var(&mut lookup, ENV_API_PASSPHRASE)?;
    let api = match (api_key, secret, passphrase) {
        (Some(api_key), Some(secret), Some(passphrase)) => Some(ApiCredentials {
            api_key,
            secret,
            passphrase,
        }),
        (None, None, None) => None,
        (api_key, secret, passphrase) => {
            let missing: Vec<&str> = [
                (api_key.is_none(), ENV_API_KEY),
                (secret.is_none(), ENV_API_SECRET),
                (passphrase.is_none(), ENV_API_PASSPHRASE),
            ]
            .into_iter()
            .filter_map(|(unset, name)| unset.then_some(name))
            .collect();
            return Err(SecretError::ApiIncomplete {
                missing: missing.join(", "),
            });
        }
    };
    Ok(Secrets { private_key, api })
}

/// Reads a key file: opens it, checks type, mode and size on the open handle (no race between
/// check and read), then parses it.
pub fn read_key_file(path: &Path) -> Result<PrivateKey, SecretError> {
    use std::os::unix::fs::PermissionsExt;

    let io_error = |error| SecretError::KeyFileIo {
        path: path.to_path_buf(),
        error,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let metadata = file.metadata().map_err(io_error)?;
    if !metadata.is_file() {
        return Err(SecretError::KeyFileNotRegular {
            path: path.to_path_buf(),
        });
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if mode != 0o600 && mode != 0o400 {
        return Err(SecretError::KeyFileMode {
            path: path.to_path_buf(),
            mode,
        });
    }
    if metadata.len() > MAX_KEY_FILE_BYTES {
        return Err(SecretError::KeyFileTooLarge {
            path: path.to_path_buf(),
            bytes: metadata.len(),
        });
    }
    // Capacity fixed up front so the buffer never reallocates (a reallocation would leave an
    // un-zeroised copy behind).
    let mut text = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE_BYTES as usize + 1));
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_end(&mut text)
        .map_err(io_error)?;
    PrivateKey::parse(&text, KeySource::File(path.to_path_buf()))
}

/// Reads one variable as a [`Secret`]; unset -> `None`, empty or non-UTF-8 -> error.
fn read_var(
    lookup: &mut impl FnMut(&str) -> Option<OsString>,
    var: &'static str,
) -> Result<Option<Secret>, SecretError> {
    let Some(raw) = lookup(var) else {
        return Ok(None);
    };
    let text = match raw.into_string() {
        Ok(text) => Secret::new(text),
        Err(raw) => {
            std::os::unix::ffi::OsStringExt::into_vec(raw).zeroize();
            return Err(SecretError::NotUnicode { var });
        }
    };
    if text.expose().is_empty() {
        return Err(SecretError::Empty { var });
    }
    Ok(Some(text))
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}
