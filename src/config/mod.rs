//! Configuration: `config.toml` loaded into typed structs and validated; secrets from the
//! environment or a 0600 key file.
//!
//! `config.toml` (shipped at the crate root) is the only tuning surface: every key is required
//! and there are no defaults in code. Loading stops start-up on any problem and reports *all*
//! of them, each as `<key.path>: <reason>`:
//! * unknown keys (every one, with its full path; secret-like names get a pointer to the
//!   environment),
//! * a wrong type, unknown enum string or missing key (the first one; serde cannot continue
//!   past it), with the line,
//! * every out-of-range value and inconsistent pair (`validate`),
//! * file paths that do not exist (`Config::load` only).
//!
//! Secrets (private key, API credentials) never come from the file: see [`secrets`].
//!
//! Entry points: [`Config::load`], `str::parse::<Config>()` / `Config::from_str` (via
//! [`std::str::FromStr`]), [`Config::shipped`], [`check_config_file`] (for
//! `sattebaaz check-config`).
//!
//! Submodules: `schema` (the typed shape), `load` (TOML -> structs with key paths),
//! `validate` (ranges and consistency; URLs parsed by `net::dns::Endpoint`), `secrets`, `error`.

mod error;
mod load;
pub mod schema;
pub mod secrets;
pub mod validate;

use std::path::Path;
use std::str::FromStr;

pub use error::{ConfigError, ConfigErrors, ErrorKind};
pub use load::{is_secret_like, SYNTAX_PATH};
pub use schema::RecordConfig;
pub use schema::{
    ArbStrategyConfig, LagConfig, MarketMakingConfig, MomentumStrategyConfig, RebalanceConfig,
    StraddleConfig, StrategyConfig,
};
pub use schema::{
    Asset, BackoffConfig, BinanceVenueConfig, Config, DiscoveryConfig, EngineConfig, EngineMode,
    HttpConfig, MarketConfig, NetConfig, OracleConfig, PollConfig, PollMode, PolymarketVenueConfig,
    QueuesConfig, SignalsConfig, SimConfig, TelemetryConfig, ThreadsConfig, VenuesConfig,
    WebsocketConfig, Window,
};

/// The shipped `config.toml`, embedded at build time (tests and tools can start from it).
pub const SHIPPED_CONFIG_TOML: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"));

impl Config {
    /// Reads, parses and validates the file at `path`, and checks the files it names exist.
    /// Returns every problem found.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigErrors> {
        let text = load::read_text(path.as_ref()).map_err(|error| ConfigErrors(vec![error]))?;
        let config = text.parse::<Config>()?;
        let file_errors = load::check_files(&config);
        if file_errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(file_errors))
        }
    }

    /// Parses and validates [`SHIPPED_CONFIG_TOML`] (no filesystem checks).
    pub fn shipped() -> Result<Config, ConfigErrors> {
        SHIPPED_CONFIG_TOML.parse()
    }
}

impl FromStr for Config {
    type Err = ConfigErrors;

    /// Parses and validates TOML text (no filesystem checks). Errors list unknown keys,
    /// the schema error that stopped parsing (if any), and every range/consistency error.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let load::Deserialized { config, mut errors } = load::deserialize(text);
        if let Some(config) = &config {
            errors.extend(validate::validate(config));
        }
        match config {
            Some(config) if errors.is_empty() => Ok(config),
            _ => Err(ConfigErrors(errors)),
        }
    }
}

/// For `sattebaaz check-config <path>`: [`Config::load`] with the errors as a list, each
/// displaying as `<key.path>: <reason>`. Print them and exit 1, or exit 0 on `Ok`.
pub fn check_config_file(path: impl AsRef<Path>) -> Result<Config, Vec<ConfigError>> {
    Config::load(path).map_err(ConfigErrors::into_vec)
}
