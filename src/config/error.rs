//! Configuration errors: one [`ConfigError`] per problem, each naming the full key path
//! (`net.websocket.max_message_bytes`, `markets[2].asset`) and the reason.
//!
//! Invariants: `Display` is exactly `<key.path>: <reason>`; no error text ever contains a value
//! that looks like key material (long hex runs are redacted before an error is built).

use std::fmt;

/// What kind of problem a [`ConfigError`] reports; lets callers and tests match on the category
/// without parsing the reason text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// The file is not valid TOML (including a key defined twice).
    Syntax,
    /// A key the schema does not know.
    UnknownKey,
    /// A key named like a secret: secrets belong in the environment, never in `config.toml`.
    SecretInFile,
    /// A required key is absent (every tuning value must be written in `config.toml`).
    MissingKey,
    /// A value of the wrong TOML type, an integer that does not fit its field, or an unknown
    /// enum string.
    WrongType,
    /// A value outside its allowed range.
    OutOfRange,
    /// Two or more values that are each valid but contradict each other.
    Inconsistent,
    /// A URL that does not parse or has a scheme not allowed for its field.
    BadUrl,
    /// A path named in the config that does not point at a usable file.
    BadPath,
}

/// One configuration problem: where (`path`) and why (`reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Full dotted key path, e.g. `net.backoff.max_ms` or `markets[0].capital_share_bps`
    /// (`markets[0]` is the first `[[markets]]` entry). For I/O errors the file path; for
    /// syntax errors `<syntax>`.
    pub path: String,
    /// Category of the problem.
    pub kind: ErrorKind,
    /// Human-readable reason (no key material).
    pub reason: String,
}

impl ConfigError {
    /// Builds an error, redacting anything in `reason` that looks like key material.
    pub fn new(path: impl Into<String>, kind: ErrorKind, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            kind,
            reason: redact_hex_runs(&reason.into()),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one load; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The individual errors, in the order found (unknown keys and schema errors first, then
    /// range and consistency errors in file order).
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// Consumes the wrapper, returning the list.
    pub fn into_vec(self) -> Vec<ConfigError> {
        self.0
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<Vec<ConfigError>> for ConfigErrors {
    fn from(errors: Vec<ConfigError>) -> Self {
        Self(errors)
    }
}

/// Runs of hex digits at least this long are treated as possible key material (a secp256k1
/// key is 64 digits; an API secret in hex would be similar). Shorter runs (ports, numbers,
/// addresses' fragments in messages) stay readable.
const REDACT_MIN_HEX_DIGITS: usize = 32;

/// Replaces every run of [`REDACT_MIN_HEX_DIGITS`] or more hex digits (with an optional `0x`
/// prefix) by `[redacted]`. Serde's type errors quote the offending value, so a private key
/// pasted into a wrong field would otherwise be echoed back.
pub(crate) fn redact_hex_runs(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    let mut index = 0;
    while index < bytes.len() {
        let has_prefix = bytes[index] == b'0'
            && bytes
                .get(index + 1)
                .is_some_and(|next| next.eq_ignore_ascii_case(&b'x'));
        let digits_start = if has_prefix { index + 2 } else { index };
        let mut end = digits_start;
        while bytes.get(end).is_some_and(u8::is_ascii_hexdigit) {
            end += 1;
        }
        if end - digits_start >= REDACT_MIN_HEX_DIGITS {
            out.push_str(&text[copied_up_to..index]);
            out.push_str("[redacted]");
            copied_up_to = end;
        }
        // Any suffix of a short run is shorter still, so skip the whole run.
        index = end.max(index + 1);
    }
    out.push_str(&text[copied_up_to..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_hex_runs_are_redacted_short_ones_kept() {
        let key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
        let text = format!("invalid type: string \"0x{key}\", expected u64");
        let redacted = redact_hex_runs(&text);
        assert_eq!(
            redacted,
            "invalid type: string \"[redacted]\", expected u64"
        );
        let bare = redact_hex_runs(&format!("value {key} here"));
        assert_eq!(bare, "value [redacted] here");
        let short = "port 9443 and 0xdeadbeef stay";
        assert_eq!(redact_hex_runs(short), short);
    }

    #[test]
    fn display_is_path_colon_reason() {
        let error = ConfigError::new("net.backoff.max_ms", ErrorKind::OutOfRange, "too small");
        assert_eq!(error.to_string(), "net.backoff.max_ms: too small");
    }
}
