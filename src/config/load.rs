//! TOML text -> [`Config`], with the full key path of every schema problem.
//!
//! Invariants: every unknown key is reported (not just the first), each with its full path;
//! a key named like a secret gets a message pointing at the environment; a wrong type or a
//! missing key stops deserialization (serde cannot go on past it) and is reported with its path
//! and line; error texts never echo the file's lines (a secret pasted there would leak) and
//! have long hex runs redacted.

use std::path::Path;

use super::error::{ConfigError, ErrorKind};
use super::schema::Config;

/// Key-name fragments that mark a key as a secret (matched case-insensitively).
const SECRET_LIKE_FRAGMENTS: [&str; 10] = [
    "private",
    "secret",
    "passphrase",
    "password",
    "mnemonic",
    "api_key",
    "apikey",
    "seed_phrase",
    "token",
    "webhook",
];

/// Path shown for errors that are not tied to a key (TOML syntax).
pub const SYNTAX_PATH: &str = "<syntax>";

/// Result of deserializing: the config (if the schema matched) and every schema-level error
/// (unknown keys, plus the one wrong-type/missing-key error that stopped serde).
pub(crate) struct Deserialized {
    pub config: Option<Config>,
    pub errors: Vec<ConfigError>,
}

/// Parses and deserializes `text`; no range validation.
pub(crate) fn deserialize(text: &str) -> Deserialized {
    let document = match toml::Deserializer::parse(text) {
        Ok(document) => document,
        Err(error) => {
            let location = location_suffix(text, error.span());
            return Deserialized {
                config: None,
                errors: vec![ConfigError::new(
                    SYNTAX_PATH,
                    ErrorKind::Syntax,
                    format!("invalid TOML: {}{location}", error.message()),
                )],
            };
        }
    };
    let mut errors = Vec::new();
    let mut on_unknown_key = |path: serde_ignored::Path<'_>| errors.push(unknown_key_error(&path));
    let result: Result<Config, _> = serde_path_to_error::deserialize(
        serde_ignored::Deserializer::new(document, &mut on_unknown_key),
    );
    let config = match result {
        Ok(config) => Some(config),
        Err(error) => {
            errors.push(schema_error(&error, text));
            None
        }
    };
    Deserialized { config, errors }
}

/// Checks that paths named in `config` point at usable files (the only filesystem access of
/// config loading). Relative paths are taken from the working directory.
pub(crate) fn check_files(config: &Config) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    if let Some(ca_path) = config.net.tls_extra_ca_path() {
        match std::fs::metadata(ca_path) {
            Ok(metadata) if metadata.is_file() => {}
            Ok(_) => errors.push(ConfigError::new(
                "net.tls_extra_ca_file",
                ErrorKind::BadPath,
                format!("`{}` is not a regular file", ca_path.display()),
            )),
            Err(error) => errors.push(ConfigError::new(
                "net.tls_extra_ca_file",
                ErrorKind::BadPath,
                format!("`{}`: {error}", ca_path.display()),
            )),
        }
    }
    errors
}

/// Reads the file at `path` as UTF-8 text.
pub(crate) fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|error| {
        ConfigError::new(
            path.display().to_string(),
            ErrorKind::Io,
            format!("cannot read config file: {error}"),
        )
    })
}

/// `true` when a key's name suggests it holds a secret.
pub fn is_secret_like(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_LIKE_FRAGMENTS
        .iter()
        .any(|fragment| lower.contains(fragment))
}

fn unknown_key_error(path: &serde_ignored::Path<'_>) -> ConfigError {
    let mut full_path = String::new();
    push_ignored_path(&mut full_path, path);
    let last_key = match path {
        serde_ignored::Path::Map { key, .. } => key.as_str(),
        _ => "",
    };
    if is_secret_like(last_key) {
        ConfigError::new(
            full_path,
            ErrorKind::SecretInFile,
            "unknown key; secrets are never read from config.toml: put them in the environment \
             (SATTEBAAZ_PRIVATE_KEY or SATTEBAAZ_PRIVATE_KEY_FILE, SATTEBAAZ_API_KEY, \
             SATTEBAAZ_API_SECRET, SATTEBAAZ_API_PASSPHRASE; see .env.example)",
        )
    } else {
        ConfigError::new(
            full_path,
            ErrorKind::UnknownKey,
            "unknown key (not part of the config schema; check its spelling and section)",
        )
    }
}

fn push_ignored_path(out: &mut String, path: &serde_ignored::Path<'_>) {
    match path {
        serde_ignored::Path::Root => {}
        serde_ignored::Path::Seq { parent, index } => {
            push_ignored_path(out, parent);
            out.push_str(&format!("[{index}]"));
        }
        serde_ignored::Path::Map { parent, key } => {
            push_ignored_path(out, parent);
            push_key(out, key);
        }
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => push_ignored_path(out, parent),
    }
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(key);
}

fn tracked_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } => push_key(&mut out, key),
            serde_path_to_error::Segment::Enum { .. } => {}
            serde_path_to_error::Segment::Unknown => push_key(&mut out, "?"),
        }
    }
    out
}

/// Turns the error that stopped serde into a [`ConfigError`] with the full key path. serde's
/// derive reports a missing field at its parent's path with the name in backticks; the name is
/// moved into the path so the error names the key itself.
fn schema_error(error: &serde_path_to_error::Error<toml::de::Error>, text: &str) -> ConfigError {
    let mut path = tracked_path(error.path());
    let message = error.inner().message();
    let location = location_suffix(text, error.inner().span());
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        push_key(&mut path, field);
        let reason = format!("missing key (every key must be set in config.toml){location}");
        return ConfigError::new(path, ErrorKind::MissingKey, reason);
    }
    if path.is_empty() {
        path.push_str("<root>");
    }
    ConfigError::new(path, ErrorKind::WrongType, format!("{message}{location}"))
}

/// ` (line L, column C)` for a byte span into `text`, or empty when unknown.
fn location_suffix(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(before) = span.and_then(|span| text.get(..span.start)) else {
        return String::new();
    };
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before[line_start..].chars().count() + 1;
    format!(" (line {line}, column {column})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_like_names() {
        for key in [
            "private_key",
            "PRIVATE_KEY",
            "api_secret",
            "api_key",
            "passphrase",
            "wallet_mnemonic",
            "telegram_bot_token",
            "discord_webhook_url",
        ] {
            assert!(is_secret_like(key), "{key}");
        }
        for key in ["max_ms", "seed", "asset", "run_dir", "histogram_dir"] {
            assert!(!is_secret_like(key), "{key}");
        }
    }

    #[test]
    fn location_counts_lines_and_columns() {
        let text = "a = 1\nbb = x\n";
        assert_eq!(location_suffix(text, Some(11..12)), " (line 2, column 6)");
        assert_eq!(location_suffix(text, None), "");
        assert_eq!(location_suffix(text, Some(999..1000)), "");
    }
}
