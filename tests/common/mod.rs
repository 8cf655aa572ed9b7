//! Set-up shared by the end-to-end engine tests: the shipped configuration tuned for a test run
//! on shared cores (blocking poll, fast heartbeat, short watchdog and backoff, its own run
//! directory) and simulator options for the configured assets.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sattebaaz::config::{Config, PollMode};
use sattebaaz::engine::feeds::configured_assets;
use sattebaaz::sim::SimOptions;

/// The shipped `config.toml`, tuned for tests; returns it with its run directory.
pub fn test_config(prefix: &str, tag: &str) -> (Config, PathBuf) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let mut cfg = Config::load(path).expect("shipped config loads");
    let dir = std::env::temp_dir().join(format!("sattebaaz-{prefix}-{tag}-{}", std::process::id()));
    cfg.engine.run_dir = dir.clone();
    cfg.poll.mode = PollMode::Blocking;
    cfg.telemetry.heartbeat_interval_ms = 100;
    cfg.net.websocket.silence_timeout_ms = 1_000;
    cfg.net.websocket.ws_ping_interval_ms = 300;
    cfg.net.backoff.initial_ms = 50;
    cfg.net.backoff.max_ms = 400;
    (cfg, dir)
}

/// Simulator options for the configured assets, seeded, its CA written under `dir`.
pub fn sim_options(cfg: &Config, dir: &Path, seed: u64) -> SimOptions {
    SimOptions {
        seed,
        bind: "127.0.0.1".into(),
        assets: configured_assets(cfg)
            .iter()
            .map(|a| a.short_name().to_string())
            .collect(),
        ca_file: dir.join("ca.pem"),
        step: Duration::from_millis(5),
    }
}
