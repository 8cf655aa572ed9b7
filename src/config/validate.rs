//! Range and consistency checks over a deserialized [`Config`].
//!
//! Invariants: every check runs (nothing stops at the first failure) and each failure names
//! the full key path; checks are pure (no filesystem or network access; the loader does file
//! checks separately). The allowed ranges are the `pub const`s below so callers and docs can
//! quote them.

use std::collections::HashMap;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::path::{Component, Path};

use super::error::{ConfigError, ErrorKind};
use super::schema::{Config, EngineMode, MarketConfig};
use crate::net::dns::Endpoint;

/// Highest CPU id + 1 accepted for pinning (Linux `CPU_SETSIZE`).
pub const MAX_CPUS: u32 = 1024;
/// `poll.blocking_timeout_us`.
pub const BLOCKING_TIMEOUT_US: RangeInclusive<u32> = 1..=1_000_000;
/// `poll.events_capacity`.
pub const EVENTS_CAPACITY: RangeInclusive<u32> = 16..=65_536;
/// `queues.*` (and each must be a power of two).
pub const QUEUE_CAPACITY: RangeInclusive<u32> = 2..=(1 << 22);
/// `net.connect_timeout_ms`, `net.http.request_timeout_ms`.
pub const TIMEOUT_MS: RangeInclusive<u32> = 1..=60_000;
/// `net.websocket.max_message_bytes`, `net.websocket.max_frame_bytes`,
/// `net.http.max_body_bytes`.
pub const MESSAGE_BYTES: RangeInclusive<u32> = 1024..=(64 << 20);
/// `net.websocket.*_ping_interval_ms`.
pub const PING_INTERVAL_MS: RangeInclusive<u32> = 100..=600_000;
/// `net.websocket.silence_timeout_ms`.
pub const SILENCE_TIMEOUT_MS: RangeInclusive<u32> = 100..=3_600_000;
/// `net.http.pool_size`.
pub const HTTP_POOL_SIZE: RangeInclusive<u32> = 1..=64;
/// `net.backoff.initial_ms`, `net.backoff.max_ms`.
pub const BACKOFF_MS: RangeInclusive<u32> = 1..=3_600_000;
/// `net.backoff.multiplier`: strictly above the start, at most the end.
pub const BACKOFF_MULTIPLIER_ABOVE: f64 = 1.0;
/// Upper bound of `net.backoff.multiplier`.
pub const BACKOFF_MULTIPLIER_MAX: f64 = 10.0;
/// `net.backoff.jitter`.
pub const BACKOFF_JITTER: RangeInclusive<f64> = 0.0..=1.0;
/// Chain ids with Polymarket exchange contracts: Polygon and the Amoy testnet.
pub const CHAIN_IDS: [u64; 2] = [137, 80_002];
/// Total of `markets[*].capital_share_bps`.
pub const TOTAL_SHARE_BPS: u32 = 10_000;
/// `markets[*].capital_share_bps`.
pub const SHARE_BPS: RangeInclusive<u32> = 1..=TOTAL_SHARE_BPS;
/// `markets[*].priority`.
pub const PRIORITY: RangeInclusive<u32> = 1..=1_000;
/// `telemetry.heartbeat_interval_ms`.
pub const HEARTBEAT_INTERVAL_MS: RangeInclusive<u32> = 10..=3_600_000;
/// `sim.window_secs_override` when non-zero.
pub const SIM_WINDOW_SECS: RangeInclusive<u32> = 1..=3_600;
/// `discovery.*_s` schedule offsets (seconds).
pub const DISCOVERY_SECS: RangeInclusive<u32> = 0..=86_400;
/// `discovery.resolve_every_s`.
pub const DISCOVERY_RESOLVE_EVERY_S: RangeInclusive<u32> = 1..=3_600;
/// `discovery.max_lookups_per_step`.
pub const DISCOVERY_LOOKUPS_PER_STEP: RangeInclusive<u32> = 1..=64;
/// `discovery.step_interval_ms`.
pub const DISCOVERY_STEP_INTERVAL_MS: RangeInclusive<u32> = 10..=60_000;
/// `discovery.max_markets`.
pub const DISCOVERY_MAX_MARKETS: RangeInclusive<u32> = 1..=1_024;
/// `oracle.max_age_ms`.
pub const ORACLE_MAX_AGE_MS: RangeInclusive<u32> = 100..=600_000;

/// `exec.heartbeat_interval_ms` (the venue cancels after 10 s without a beat).
pub const EXEC_HEARTBEAT_INTERVAL_MS: RangeInclusive<u32> = 500..=9_000;
/// `exec.post_only_window_ms`.
pub const EXEC_POST_ONLY_WINDOW_MS: RangeInclusive<u32> = 0..=600_000;
/// `exec.order_timeout_ms`, `exec.query_timeout_ms`.
pub const EXEC_TIMEOUT_MS: RangeInclusive<u32> = 10..=60_000;
/// `exec.reconcile_delay_ms`.
pub const EXEC_RECONCILE_DELAY_MS: RangeInclusive<u32> = 0..=60_000;
/// `exec.reconcile_attempts`.
pub const EXEC_RECONCILE_ATTEMPTS: RangeInclusive<u32> = 1..=100;
/// `exec.batch_size` (`POST /orders` takes at most 15).
pub const EXEC_BATCH_SIZE: RangeInclusive<u32> = 1..=15;
/// `exec.tracker_capacity`.
pub const EXEC_TRACKER_CAPACITY: RangeInclusive<u32> = 16..=65_536;
/// `exec.taker_fee_bps`.
pub const EXEC_TAKER_FEE_BPS: RangeInclusive<u32> = 0..=10_000;

/// Collects validation errors; every `check_*` appends and carries on.
#[derive(Debug, Default)]
pub struct Checker {
    errors: Vec<ConfigError>,
}

impl Checker {
    /// An empty checker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error.
    pub fn fail(&mut self, path: impl Into<String>, kind: ErrorKind, reason: impl Into<String>) {
        self.errors.push(ConfigError::new(path, kind, reason));
    }

    /// Records an out-of-range error unless `value` lies in `range`.
    pub fn in_range<T: PartialOrd + Display>(
        &mut self,
        path: &str,
        value: T,
        range: RangeInclusive<T>,
    ) {
        if !range.contains(&value) {
            self.fail(
                path,
                ErrorKind::OutOfRange,
                format!(
                    "{value} is out of range {}..={}",
                    range.start(),
                    range.end()
                ),
            );
        }
    }

    /// Records an error unless `url` parses with a scheme of the wanted family
    /// (`websocket = true`: ws/wss, otherwise http/https).
    pub fn url(&mut self, path: &str, url: &str, websocket: bool) {
        let wanted = if websocket {
            "ws:// or wss://"
        } else {
            "http:// or https://"
        };
        match Endpoint::parse(url) {
            Err(error) => self.fail(
                path,
                ErrorKind::BadUrl,
                format!("`{url}`: {error}; expected {wanted}"),
            ),
            Ok(endpoint) if endpoint.scheme.is_websocket() != websocket => self.fail(
                path,
                ErrorKind::BadUrl,
                format!("`{url}`: wrong scheme; expected {wanted}"),
            ),
            Ok(_) => {}
        }
    }

    /// The errors found so far, in order.
    pub fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }
}

/// Runs every check over `config`; returns all failures (empty = valid).
pub fn validate(config: &Config) -> Vec<ConfigError> {
    let mut checker = Checker::new();
    check_engine(config, &mut checker);
    check_threads(config, &mut checker);
    check_poll(config, &mut checker);
    check_queues(config, &mut checker);
    check_net(config, &mut checker);
    check_venues(config, &mut checker);
    check_markets(&config.markets, &mut checker);
    check_telemetry(config, &mut checker);
    check_sim(config, &mut checker);
    check_discovery(config, &mut checker);
    check_exec(config, &mut checker);
    checker.in_range(
        "oracle.max_age_ms",
        config.oracle.max_age_ms,
        ORACLE_MAX_AGE_MS,
    );
    checker.into_errors()
}

fn check_engine(config: &Config, checker: &mut Checker) {
    let engine = &config.engine;
    if engine.mode == EngineMode::Live && !engine.live_confirmed {
        checker.fail(
            "engine.live_confirmed",
            ErrorKind::Inconsistent,
            "must be true when engine.mode = \"live\" (real money): set it deliberately",
        );
    }
    if engine.run_dir.as_os_str().is_empty() {
        checker.fail("engine.run_dir", ErrorKind::OutOfRange, "must not be empty");
    }
}

fn check_threads(config: &Config, checker: &mut Checker) {
    let threads = &config.threads;
    checker.in_range("threads.hot_cpu", threads.hot_cpu, 0..=MAX_CPUS - 1);
    checker.in_range("threads.risk_cpu", threads.risk_cpu, 0..=MAX_CPUS - 1);
    if threads.hot_cpu == threads.risk_cpu {
        checker.fail(
            "threads.risk_cpu",
            ErrorKind::Inconsistent,
            format!(
                "must differ from threads.hot_cpu (both are {})",
                threads.hot_cpu
            ),
        );
    }
}

fn check_poll(config: &Config, checker: &mut Checker) {
    let poll = &config.poll;
    checker.in_range(
        "poll.blocking_timeout_us",
        poll.blocking_timeout_us,
        BLOCKING_TIMEOUT_US,
    );
    checker.in_range(
        "poll.events_capacity",
        poll.events_capacity,
        EVENTS_CAPACITY,
    );
}

fn check_queue(checker: &mut Checker, path: &str, capacity: u32) {
    checker.in_range(path, capacity, QUEUE_CAPACITY);
    if !capacity.is_power_of_two() {
        checker.fail(
            path,
            ErrorKind::OutOfRange,
            format!("{capacity} is not a power of two"),
        );
    }
}

fn check_queues(config: &Config, checker: &mut Checker) {
    check_queue(checker, "queues.hot_to_risk", config.queues.hot_to_risk);
    check_queue(checker, "queues.risk_to_hot", config.queues.risk_to_hot);
}

fn check_net(config: &Config, checker: &mut Checker) {
    let net = &config.net;
    checker.in_range("net.connect_timeout_ms", net.connect_timeout_ms, TIMEOUT_MS);

    let ws = &net.websocket;
    checker.in_range(
        "net.websocket.max_message_bytes",
        ws.max_message_bytes,
        MESSAGE_BYTES,
    );
    checker.in_range(
        "net.websocket.max_frame_bytes",
        ws.max_frame_bytes,
        MESSAGE_BYTES,
    );
    if ws.max_frame_bytes > ws.max_message_bytes {
        checker.fail(
            "net.websocket.max_frame_bytes",
            ErrorKind::Inconsistent,
            format!(
                "{} exceeds net.websocket.max_message_bytes ({})",
                ws.max_frame_bytes, ws.max_message_bytes
            ),
        );
    }
    checker.in_range(
        "net.websocket.app_ping_interval_ms",
        ws.app_ping_interval_ms,
        PING_INTERVAL_MS,
    );
    checker.in_range(
        "net.websocket.ws_ping_interval_ms",
        ws.ws_ping_interval_ms,
        PING_INTERVAL_MS,
    );
    checker.in_range(
        "net.websocket.silence_timeout_ms",
        ws.silence_timeout_ms,
        SILENCE_TIMEOUT_MS,
    );
    let longest_ping = ws.app_ping_interval_ms.max(ws.ws_ping_interval_ms);
    if ws.silence_timeout_ms <= longest_ping {
        checker.fail(
            "net.websocket.silence_timeout_ms",
            ErrorKind::Inconsistent,
            format!(
                "{} must exceed both ping intervals (longest is {longest_ping}), or healthy idle \
                 connections are declared dead",
                ws.silence_timeout_ms
            ),
        );
    }

    let http = &net.http;
    checker.in_range("net.http.pool_size", http.pool_size, HTTP_POOL_SIZE);
    checker.in_range(
        "net.http.request_timeout_ms",
        http.request_timeout_ms,
        TIMEOUT_MS,
    );
    checker.in_range(
        "net.http.max_body_bytes",
        http.max_body_bytes,
        MESSAGE_BYTES,
    );

    let backoff = &net.backoff;
    checker.in_range("net.backoff.initial_ms", backoff.initial_ms, BACKOFF_MS);
    checker.in_range("net.backoff.max_ms", backoff.max_ms, BACKOFF_MS);
    if backoff.max_ms < backoff.initial_ms {
        checker.fail(
            "net.backoff.max_ms",
            ErrorKind::Inconsistent,
            format!(
                "{} is below net.backoff.initial_ms ({})",
                backoff.max_ms, backoff.initial_ms
            ),
        );
    }
    // NaN fails every comparison, so it is rejected here too.
    let multiplier_ok = backoff.multiplier > BACKOFF_MULTIPLIER_ABOVE
        && backoff.multiplier <= BACKOFF_MULTIPLIER_MAX;
    if !multiplier_ok {
        checker.fail(
            "net.backoff.multiplier",
            ErrorKind::OutOfRange,
            format!(
                "{} is out of range: must be > {BACKOFF_MULTIPLIER_ABOVE} and <= {BACKOFF_MULTIPLIER_MAX}",
                backoff.multiplier
            ),
        );
    }
    checker.in_range("net.backoff.jitter", backoff.jitter, BACKOFF_JITTER);
}

fn check_venues(config: &Config, checker: &mut Checker) {
    let binance = &config.venues.binance;
    let polymarket = &config.venues.polymarket;
    let urls: [(&str, &str, bool); 8] = [
        ("venues.binance.spot_ws_url", &binance.spot_ws_url, true),
        (
            "venues.binance.futures_public_ws_url",
            &binance.futures_public_ws_url,
            true,
        ),
        (
            "venues.binance.futures_market_ws_url",
            &binance.futures_market_ws_url,
            true,
        ),
        ("venues.polymarket.clob_url", &polymarket.clob_url, false),
        (
            "venues.polymarket.market_ws_url",
            &polymarket.market_ws_url,
            true,
        ),
        (
            "venues.polymarket.user_ws_url",
            &polymarket.user_ws_url,
            true,
        ),
        (
            "venues.polymarket.rtds_ws_url",
            &polymarket.rtds_ws_url,
            true,
        ),
        ("venues.polymarket.gamma_url", &polymarket.gamma_url, false),
    ];
    let live = config.engine.mode == EngineMode::Live;
    for (path, url, websocket) in urls {
        checker.url(path, url, websocket);
        let plain = Endpoint::parse(url).is_ok_and(|endpoint| !endpoint.scheme.is_tls());
        if live && plain {
            checker.fail(
                path,
                ErrorKind::Inconsistent,
                format!("`{url}` is not TLS; engine.mode = \"live\" requires wss:// or https://"),
            );
        }
    }
    if !CHAIN_IDS.contains(&polymarket.chain_id) {
        checker.fail(
            "venues.polymarket.chain_id",
            ErrorKind::OutOfRange,
            format!(
                "{} is not a Polymarket chain (137 = Polygon, 80002 = Amoy testnet)",
                polymarket.chain_id
            ),
        );
    }
}

fn check_markets(markets: &[MarketConfig], checker: &mut Checker) {
    if markets.is_empty() {
        checker.fail(
            "markets",
            ErrorKind::OutOfRange,
            "at least one [[markets]] entry is required",
        );
    }
    let mut first_by_market: HashMap<(super::schema::Asset, super::schema::Window), usize> =
        HashMap::new();
    let mut first_by_priority: HashMap<u32, usize> = HashMap::new();
    let mut total_bps: u64 = 0;
    for (index, market) in markets.iter().enumerate() {
        let base = format!("markets[{index}]");
        checker.in_range(
            &format!("{base}.capital_share_bps"),
            market.capital_share_bps,
            SHARE_BPS,
        );
        checker.in_range(&format!("{base}.priority"), market.priority, PRIORITY);
        total_bps += u64::from(market.capital_share_bps);
        if let Some(first) = first_by_market.insert((market.asset, market.window), index) {
            checker.fail(
                base.clone(),
                ErrorKind::Inconsistent,
                format!(
                    "duplicate market {} {} (already markets[{first}])",
                    market.asset.as_str(),
                    market.window.as_str()
                ),
            );
        }
        if let Some(first) = first_by_priority.insert(market.priority, index) {
            checker.fail(
                format!("{base}.priority"),
                ErrorKind::Inconsistent,
                format!(
                    "priority {} is already used by markets[{first}]",
                    market.priority
                ),
            );
        }
    }
    if total_bps > u64::from(TOTAL_SHARE_BPS) {
        checker.fail(
            "markets.capital_share_bps",
            ErrorKind::Inconsistent,
            format!("shares sum to {total_bps} bps, more than {TOTAL_SHARE_BPS} (100%)"),
        );
    }
}

fn check_telemetry(config: &Config, checker: &mut Checker) {
    let telemetry = &config.telemetry;
    if !is_plain_relative(&telemetry.histogram_dir) {
        checker.fail(
            "telemetry.histogram_dir",
            ErrorKind::OutOfRange,
            format!(
                "`{}` must be a non-empty relative path inside engine.run_dir (no `..`, not absolute)",
                telemetry.histogram_dir.display()
            ),
        );
    }
    checker.in_range(
        "telemetry.heartbeat_interval_ms",
        telemetry.heartbeat_interval_ms,
        HEARTBEAT_INTERVAL_MS,
    );
}

fn check_sim(config: &Config, checker: &mut Checker) {
    let override_secs = config.sim.window_secs_override;
    if override_secs != 0 {
        checker.in_range("sim.window_secs_override", override_secs, SIM_WINDOW_SECS);
    }
}

fn check_discovery(config: &Config, checker: &mut Checker) {
    let d = &config.discovery;
    for (path, value) in [
        ("discovery.lead_s", d.lead_s),
        ("discovery.min_remaining_s", d.min_remaining_s),
        ("discovery.resolve_after_s", d.resolve_after_s),
        ("discovery.retire_after_s", d.retire_after_s),
        ("discovery.give_up_unresolved_s", d.give_up_unresolved_s),
    ] {
        checker.in_range(path, value, DISCOVERY_SECS);
    }
    checker.in_range(
        "discovery.resolve_every_s",
        d.resolve_every_s,
        DISCOVERY_RESOLVE_EVERY_S,
    );
    checker.in_range(
        "discovery.max_lookups_per_step",
        d.max_lookups_per_step,
        DISCOVERY_LOOKUPS_PER_STEP,
    );
    checker.in_range(
        "discovery.step_interval_ms",
        d.step_interval_ms,
        DISCOVERY_STEP_INTERVAL_MS,
    );
    checker.in_range(
        "discovery.max_markets",
        d.max_markets,
        DISCOVERY_MAX_MARKETS,
    );
    if d.give_up_unresolved_s < d.retire_after_s {
        checker.fail(
            "discovery.give_up_unresolved_s",
            ErrorKind::OutOfRange,
            format!(
                "{} must be at least discovery.retire_after_s ({})",
                d.give_up_unresolved_s, d.retire_after_s
            ),
        );
    }
}

/// Non-empty, relative, and only normal components (`.` allowed).
fn is_plain_relative(path: &Path) -> bool {
    let mut has_normal = false;
    for component in path.components() {
        match component {
            Component::Normal(_) => has_normal = true,
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    has_normal
}

fn check_exec(config: &Config, checker: &mut Checker) {
    let e = &config.exec;
    checker.in_range(
        "exec.heartbeat_interval_ms",
        e.heartbeat_interval_ms,
        EXEC_HEARTBEAT_INTERVAL_MS,
    );
    checker.in_range(
        "exec.post_only_window_ms",
        e.post_only_window_ms,
        EXEC_POST_ONLY_WINDOW_MS,
    );
    checker.in_range("exec.order_timeout_ms", e.order_timeout_ms, EXEC_TIMEOUT_MS);
    checker.in_range("exec.query_timeout_ms", e.query_timeout_ms, EXEC_TIMEOUT_MS);
    checker.in_range(
        "exec.reconcile_delay_ms",
        e.reconcile_delay_ms,
        EXEC_RECONCILE_DELAY_MS,
    );
    checker.in_range(
        "exec.reconcile_attempts",
        e.reconcile_attempts,
        EXEC_RECONCILE_ATTEMPTS,
    );
    checker.in_range("exec.batch_size", e.batch_size, EXEC_BATCH_SIZE);
    checker.in_range(
        "exec.tracker_capacity",
        e.tracker_capacity,
        EXEC_TRACKER_CAPACITY,
    );
    checker.in_range("exec.taker_fee_bps", e.taker_fee_bps, EXEC_TAKER_FEE_BPS);
}
