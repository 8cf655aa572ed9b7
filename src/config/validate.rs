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
/// `poll.warm_send_interval_us` and `poll.warm_order_interval_us` when not 0.
pub const WARM_SEND_INTERVAL_US: RangeInclusive<u32> = 100..=1_000_000;
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
/// `signals.warmup_candles` (0 = off; Binance's klines `limit` is at most 1 000).
pub const WARMUP_CANDLES: RangeInclusive<u32> = 0..=1_000;
/// `signals.atr_period`, `signals.ema_*`.
pub const SIGNAL_PERIOD: RangeInclusive<u32> = 1..=100;
/// `signals.bollinger_period`.
pub const BOLLINGER_PERIOD: RangeInclusive<u32> = 2..=100;
/// `signals.realised_vol_window` (1-minute returns).
pub const REALISED_VOL_WINDOW: RangeInclusive<u32> = 2..=1_440;
/// `signals.width_history`.
pub const WIDTH_HISTORY: RangeInclusive<u32> = 2..=256;
/// `signals.momentum_windows_s[*]`.
pub const MOMENTUM_WINDOW_S: RangeInclusive<u32> = 1..=60;
/// `signals.exhaustion_lookback`.
pub const EXHAUSTION_LOOKBACK: RangeInclusive<u32> = 1..=32;
/// `signals.arb_depth_cents`.
pub const ARB_DEPTH_CENTS: RangeInclusive<u32> = 0..=10;
/// `signals.default_taker_fee_rate_ppm`.
pub const TAKER_FEE_RATE_PPM: RangeInclusive<i64> = 0..=250_000;
/// Percent-valued signal thresholds (`signals.*_pct`, except the rank).
pub const SIGNAL_PCT: RangeInclusive<f64> = 0.0..=10.0;
/// Fractions: weights, fill fractions, penalties, thresholds.
pub const UNIT_FRACTION: RangeInclusive<f64> = 0.0..=1.0;
/// `signals.<asset>.default_annual_vol`.
pub const ANNUAL_VOL: RangeInclusive<f64> = 0.01..=10.0;
/// Money-like per-share signal values (edges, half-spreads), micro-dollars.
pub const PER_SHARE_MICRO: RangeInclusive<i64> = 0..=1_000_000;
/// `signals.arb_min_profit_micro`, `signals.liquidation_cascade_micro`, ATR thresholds.
pub const SIGNAL_MONEY_MICRO: RangeInclusive<i64> = 0..=1_000_000_000_000_000;

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
    check_signals(&config.signals, &mut checker);
    check_lifecycle(&config.lifecycle, &mut checker);
    check_allocator(&config.allocator, &mut checker);
    check_risk(&config.risk, &mut checker);
    check_strategy(&config.strategy, &mut checker);
    check_telemetry_server(config, &mut checker);
    check_alerts(&config.alerts, &mut checker);
    check_record(config, &mut checker);
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
    for (path, us) in [
        ("poll.warm_send_interval_us", poll.warm_send_interval_us),
        ("poll.warm_order_interval_us", poll.warm_order_interval_us),
    ] {
        if us != 0 {
            checker.in_range(path, us, WARM_SEND_INTERVAL_US);
        }
    }
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
    let urls: [(&str, &str, bool); 9] = [
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
        (
            "venues.binance.spot_rest_url",
            &binance.spot_rest_url,
            false,
        ),
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

fn check_signals(s: &super::schema::SignalsConfig, checker: &mut Checker) {
    checker.in_range("signals.atr_period", s.atr_period, SIGNAL_PERIOD);
    checker.in_range(
        "signals.realised_vol_window",
        s.realised_vol_window,
        REALISED_VOL_WINDOW,
    );
    checker.in_range(
        "signals.realised_vol_min_returns",
        s.realised_vol_min_returns,
        2..=s.realised_vol_window.max(2),
    );
    for (path, value) in [
        ("signals.momentum_weak_pct", s.momentum_weak_pct),
        ("signals.momentum_strong_pct", s.momentum_strong_pct),
        ("signals.ema_full_scale_pct", s.ema_full_scale_pct),
        ("signals.funding_extreme_pct", s.funding_extreme_pct),
        ("signals.funding_full_scale_pct", s.funding_full_scale_pct),
    ] {
        checker.in_range(path, value, SIGNAL_PCT);
    }
    for (path, value) in [
        ("signals.momentum_strong_pct", s.momentum_strong_pct),
        ("signals.ema_full_scale_pct", s.ema_full_scale_pct),
        ("signals.funding_full_scale_pct", s.funding_full_scale_pct),
    ] {
        if value.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            checker.fail(path, ErrorKind::OutOfRange, format!("{value} must be > 0"));
        }
    }
    if s.momentum_strong_pct < s.momentum_weak_pct {
        checker.fail(
            "signals.momentum_strong_pct",
            ErrorKind::Inconsistent,
            format!(
                "{} is below signals.momentum_weak_pct ({})",
                s.momentum_strong_pct, s.momentum_weak_pct
            ),
        );
    }
    if s.funding_full_scale_pct < s.funding_extreme_pct {
        checker.fail(
            "signals.funding_full_scale_pct",
            ErrorKind::Inconsistent,
            format!(
                "{} is below signals.funding_extreme_pct ({})",
                s.funding_full_scale_pct, s.funding_extreme_pct
            ),
        );
    }
    checker.in_range("signals.ema_fast", s.ema_fast, SIGNAL_PERIOD);
    checker.in_range("signals.ema_slow", s.ema_slow, SIGNAL_PERIOD);
    if s.ema_fast >= s.ema_slow {
        checker.fail(
            "signals.ema_slow",
            ErrorKind::Inconsistent,
            format!(
                "{} must exceed signals.ema_fast ({})",
                s.ema_slow, s.ema_fast
            ),
        );
    }
    checker.in_range(
        "signals.liquidation_cascade_micro",
        s.liquidation_cascade_micro,
        1..=*SIGNAL_MONEY_MICRO.end(),
    );
    let weights = [
        ("signals.weight_momentum", s.weight_momentum),
        ("signals.weight_ema", s.weight_ema),
        ("signals.weight_flow", s.weight_flow),
        ("signals.weight_funding", s.weight_funding),
        ("signals.weight_liquidation", s.weight_liquidation),
    ];
    let mut weight_sum = 0.0;
    for (path, value) in weights {
        checker.in_range(path, value, UNIT_FRACTION);
        weight_sum += value;
    }
    if (weight_sum - 1.0).abs() > 1e-9 {
        checker.fail(
            "signals.weight_liquidation",
            ErrorKind::Inconsistent,
            format!("the five signals.weight_* sum to {weight_sum}, not 1"),
        );
    }
    checker.in_range("signals.bias_threshold", s.bias_threshold, UNIT_FRACTION);
    checker.in_range(
        "signals.arb_depth_cents",
        s.arb_depth_cents,
        ARB_DEPTH_CENTS,
    );
    checker.in_range(
        "signals.arb_expected_fill",
        s.arb_expected_fill,
        UNIT_FRACTION,
    );
    checker.in_range(
        "signals.arb_min_profit_micro",
        s.arb_min_profit_micro,
        SIGNAL_MONEY_MICRO,
    );
    checker.in_range(
        "signals.default_taker_fee_rate_ppm",
        s.default_taker_fee_rate_ppm,
        TAKER_FEE_RATE_PPM,
    );
    for (i, w) in s.momentum_windows_s.iter().enumerate() {
        checker.in_range(
            &format!("signals.momentum_windows_s[{i}]"),
            *w,
            MOMENTUM_WINDOW_S,
        );
    }
    if !s.momentum_windows_s.windows(2).all(|p| p[0] < p[1]) {
        checker.fail(
            "signals.momentum_windows_s",
            ErrorKind::Inconsistent,
            format!("{:?} must be strictly ascending", s.momentum_windows_s),
        );
    }
    for (i, w) in s.momentum_score_weights.iter().enumerate() {
        checker.in_range(
            &format!("signals.momentum_score_weights[{i}]"),
            *w,
            UNIT_FRACTION,
        );
    }
    checker.in_range(
        "signals.exhaustion_lookback",
        s.exhaustion_lookback,
        EXHAUSTION_LOOKBACK,
    );
    checker.in_range(
        "signals.exhaustion_min_samples",
        s.exhaustion_min_samples,
        1..=*EXHAUSTION_LOOKBACK.end(),
    );
    checker.in_range(
        "signals.exhaustion_min_peak",
        s.exhaustion_min_peak,
        UNIT_FRACTION,
    );
    checker.in_range(
        "signals.exhaustion_ratio",
        s.exhaustion_ratio,
        UNIT_FRACTION,
    );
    checker.in_range(
        "signals.bollinger_period",
        s.bollinger_period,
        BOLLINGER_PERIOD,
    );
    checker.in_range("signals.bollinger_k", s.bollinger_k, 0.1..=10.0);
    checker.in_range("signals.width_history", s.width_history, WIDTH_HISTORY);
    checker.in_range(
        "signals.width_min_history",
        s.width_min_history,
        1..=s.width_history.max(1),
    );
    checker.in_range(
        "signals.compression_rank_pct",
        s.compression_rank_pct,
        0.0..=100.0,
    );
    checker.in_range("signals.breakout_ratio", s.breakout_ratio, 1.0..=100.0);
    for (i, p) in s.fill_vol_penalty.iter().enumerate() {
        checker.in_range(&format!("signals.fill_vol_penalty[{i}]"), *p, UNIT_FRACTION);
    }
    let r = &s.regimes;
    for i in 0..5 {
        checker.in_range(
            &format!("signals.regimes.arb_min_edge_micro[{i}]"),
            r.arb_min_edge_micro[i],
            PER_SHARE_MICRO,
        );
        checker.in_range(
            &format!("signals.regimes.lag_min_edge_micro[{i}]"),
            r.lag_min_edge_micro[i],
            PER_SHARE_MICRO,
        );
        checker.in_range(
            &format!("signals.regimes.mm_half_spread_micro[{i}]"),
            r.mm_half_spread_micro[i],
            PER_SHARE_MICRO,
        );
        checker.in_range(
            &format!("signals.regimes.mm_size_multiplier[{i}]"),
            r.mm_size_multiplier[i],
            0.0..=10.0,
        );
        checker.in_range(
            &format!("signals.regimes.momentum_min_signal[{i}]"),
            r.momentum_min_signal[i],
            UNIT_FRACTION,
        );
        checker.in_range(
            &format!("signals.regimes.position_cap_bps[{i}]"),
            r.position_cap_bps[i],
            0..=TOTAL_SHARE_BPS,
        );
    }
    for (name, a) in [
        ("btc", &s.btc),
        ("eth", &s.eth),
        ("sol", &s.sol),
        ("xrp", &s.xrp),
    ] {
        checker.in_range(
            &format!("signals.{name}.default_annual_vol"),
            a.default_annual_vol,
            ANNUAL_VOL,
        );
        let t = &a.atr_thresholds_micro;
        for (i, v) in t.iter().enumerate() {
            checker.in_range(
                &format!("signals.{name}.atr_thresholds_micro[{i}]"),
                *v,
                1..=*SIGNAL_MONEY_MICRO.end(),
            );
        }
        if !t.windows(2).all(|p| p[0] < p[1]) {
            checker.fail(
                format!("signals.{name}.atr_thresholds_micro"),
                ErrorKind::Inconsistent,
                format!("{t:?} must be strictly ascending"),
            );
        }
    }
    checker.in_range("signals.warmup_candles", s.warmup_candles, WARMUP_CANDLES);
    if s.warmup_required && s.warmup_candles == 0 {
        checker.fail(
            "signals.warmup_required",
            ErrorKind::Inconsistent,
            "is true but signals.warmup_candles is 0 (warm-up off)",
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

/// Basis points of a whole.
pub const BPS: RangeInclusive<u32> = 0..=10_000;
/// `risk.max_price_deviation_micro`.
pub const PRICE_DEVIATION_MICRO: RangeInclusive<i64> = 1..=1_000_000;
/// Millisecond durations of the risk section.
pub const RISK_MS: RangeInclusive<u32> = 1..=86_400_000;
/// `risk.loss_streak`, `risk.streak_trades`.
pub const RISK_COUNT: RangeInclusive<u32> = 1..=1_000;
/// `risk.atr_spike_ratio`.
pub const ATR_SPIKE_RATIO: RangeInclusive<f64> = 1.0..=100.0;
/// `allocator.*_micro` capital values.
pub const CAPITAL_MICRO: RangeInclusive<i64> = 1..=1_000_000_000_000_000;

fn check_bounds(checker: &mut Checker, path: &str, bounds: &[u32; 5], reference_s: u32) {
    let ascending = bounds.windows(2).all(|w| w[0] < w[1]);
    if bounds[0] == 0 || !ascending || bounds[4] >= reference_s {
        checker.fail(
            path,
            ErrorKind::Inconsistent,
            format!("{bounds:?} must be strictly ascending within 1..{reference_s}"),
        );
    }
}

fn check_lifecycle(l: &super::schema::LifecycleConfig, checker: &mut Checker) {
    check_bounds(checker, "lifecycle.bounds_5m_s", &l.bounds_5m_s, 300);
    check_bounds(checker, "lifecycle.bounds_15m_s", &l.bounds_15m_s, 900);
    if !l.phases.lockout.is_empty() {
        checker.fail(
            "lifecycle.phases.lockout",
            ErrorKind::Inconsistent,
            "no strategy may act in lockout",
        );
    }
}

fn check_allocator(a: &super::schema::AllocatorConfig, checker: &mut Checker) {
    checker.in_range(
        "allocator.starting_capital_micro",
        a.starting_capital_micro,
        CAPITAL_MICRO,
    );
    for (i, floor) in a.tier_floors_micro.iter().enumerate() {
        checker.in_range(
            &format!("allocator.tier_floors_micro[{i}]"),
            *floor,
            CAPITAL_MICRO,
        );
    }
    if !a.tier_floors_micro.windows(2).all(|w| w[0] < w[1]) {
        checker.fail(
            "allocator.tier_floors_micro",
            ErrorKind::Inconsistent,
            "tier floors must be strictly ascending",
        );
    }
    let rows = a
        .tier_shares_bps
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("allocator.tier_shares_bps[{i}]"), r))
        .chain(
            a.regime_shares_bps
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("allocator.regime_shares_bps[{i}]"), r)),
        );
    for (path, row) in rows {
        let sum: u32 = row.iter().map(|v| (*v).min(10_001)).sum();
        if sum > 10_000 {
            checker.fail(
                path,
                ErrorKind::OutOfRange,
                format!("shares sum to {sum} bps, more than 10000"),
            );
        }
    }
}

fn check_risk(r: &super::schema::RiskConfig, checker: &mut Checker) {
    for (path, value) in [
        ("risk.max_exposure_bps", r.max_exposure_bps),
        ("risk.max_directional_bps", r.max_directional_bps),
        ("risk.daily_loss_bps", r.daily_loss_bps),
        ("risk.streak_size_bps", r.streak_size_bps),
    ] {
        checker.in_range(path, value, BPS);
    }
    checker.in_range(
        "risk.max_price_deviation_micro",
        r.max_price_deviation_micro,
        PRICE_DEVIATION_MICRO,
    );
    for (path, value) in [
        ("risk.max_book_age_ms", r.max_book_age_ms),
        ("risk.pause_ms", r.pause_ms),
        ("risk.monitor_interval_ms", r.monitor_interval_ms),
        ("risk.hot_stall_ms", r.hot_stall_ms),
    ] {
        checker.in_range(path, value, RISK_MS);
    }
    checker.in_range("risk.loss_streak", r.loss_streak, RISK_COUNT);
    checker.in_range("risk.streak_trades", r.streak_trades, RISK_COUNT);
    checker.in_range("risk.atr_spike_ratio", r.atr_spike_ratio, ATR_SPIKE_RATIO);
    checker.in_range(
        "risk.atr_baseline_alpha",
        r.atr_baseline_alpha,
        UNIT_FRACTION,
    );
    if r.hot_stall_ms < r.monitor_interval_ms {
        checker.fail(
            "risk.hot_stall_ms",
            ErrorKind::Inconsistent,
            "must be at least risk.monitor_interval_ms",
        );
    }
}

/// `strategy.min_order_shares_micro`: 1 to 1000 shares.
pub const MIN_ORDER_SHARES_MICRO: RangeInclusive<i64> = 1_000_000..=1_000_000_000;
/// `strategy.size_step_micro`: a micro-share to one share.
pub const SIZE_STEP_MICRO: RangeInclusive<i64> = 1..=1_000_000;
/// Strategy waits and cooldowns, ms.
pub const STRATEGY_MS: RangeInclusive<u64> = 0..=600_000;
/// Strategy "seconds left" thresholds.
pub const STRATEGY_SECONDS: RangeInclusive<u64> = 0..=3_600;
/// Size multipliers and caps.
pub const STRATEGY_MULTIPLE: RangeInclusive<f64> = 0.0..=100.0;
/// Depth reach, cents.
pub const STRATEGY_DEPTH_CENTS: RangeInclusive<u32> = 0..=100;

fn check_strategy(s: &super::schema::StrategyConfig, checker: &mut Checker) {
    checker.in_range(
        "strategy.min_order_shares_micro",
        s.min_order_shares_micro,
        MIN_ORDER_SHARES_MICRO,
    );
    checker.in_range(
        "strategy.size_step_micro",
        s.size_step_micro,
        SIZE_STEP_MICRO,
    );

    let r = &s.rebalance;
    checker.in_range(
        "strategy.rebalance.min_fill_ratio",
        r.min_fill_ratio,
        UNIT_FRACTION,
    );
    checker.in_range("strategy.rebalance.settle_ms", r.settle_ms, STRATEGY_MS);
    checker.in_range(
        "strategy.rebalance.hold_bias_confidence",
        r.hold_bias_confidence,
        UNIT_FRACTION,
    );
    checker.in_range(
        "strategy.rebalance.accept_imbalance_micro",
        r.accept_imbalance_micro,
        SIGNAL_MONEY_MICRO,
    );
    checker.in_range("strategy.rebalance.max_attempts", r.max_attempts, 0..=20);

    let st = &s.straddle;
    checker.in_range(
        "strategy.straddle.max_pair_cost_micro",
        st.max_pair_cost_micro,
        PER_SHARE_MICRO,
    );
    checker.in_range(
        "strategy.straddle.depth_cents",
        st.depth_cents,
        STRATEGY_DEPTH_CENTS,
    );
    checker.in_range(
        "strategy.straddle.dip_depth_cents",
        st.dip_depth_cents,
        STRATEGY_DEPTH_CENTS,
    );
    for (path, value) in [
        ("strategy.straddle.capital_fraction", st.capital_fraction),
        (
            "strategy.straddle.dip_min_confidence",
            st.dip_min_confidence,
        ),
        (
            "strategy.straddle.dip_capital_fraction",
            st.dip_capital_fraction,
        ),
    ] {
        checker.in_range(path, value, UNIT_FRACTION);
    }
    checker.in_range(
        "strategy.straddle.dip_profit_multiple",
        st.dip_profit_multiple,
        STRATEGY_MULTIPLE,
    );
    checker.in_range(
        "strategy.straddle.dip_window_ms",
        st.dip_window_ms,
        STRATEGY_MS,
    );
    for (path, value) in [
        ("strategy.straddle.dip_bounce_micro", st.dip_bounce_micro),
        (
            "strategy.straddle.dip_min_drop_micro",
            st.dip_min_drop_micro,
        ),
        ("strategy.straddle.dip_offset_micro", st.dip_offset_micro),
    ] {
        checker.in_range(path, value, PER_SHARE_MICRO);
    }

    let a = &s.arb;
    checker.in_range(
        "strategy.arb.min_capital_micro",
        a.min_capital_micro,
        SIGNAL_MONEY_MICRO,
    );
    for (i, bound) in a.tier_bounds_micro.iter().enumerate() {
        checker.in_range(
            &format!("strategy.arb.tier_bounds_micro[{i}]"),
            *bound,
            SIGNAL_MONEY_MICRO,
        );
    }
    if a.tier_bounds_micro.windows(2).any(|w| w[0] >= w[1]) {
        checker.fail(
            "strategy.arb.tier_bounds_micro",
            ErrorKind::Inconsistent,
            format!("{:?} must be strictly ascending", a.tier_bounds_micro),
        );
    }
    for (i, f) in a.tier_fractions.iter().enumerate() {
        checker.in_range(
            &format!("strategy.arb.tier_fractions[{i}]"),
            *f,
            UNIT_FRACTION,
        );
    }
    checker.in_range("strategy.arb.cooldown_ms", a.cooldown_ms, STRATEGY_MS);

    let l = &s.lag;
    for (path, value) in [
        ("strategy.lag.kelly_fraction", l.kelly_fraction),
        ("strategy.lag.win_prob_base", l.win_prob_base),
        ("strategy.lag.win_prob_max", l.win_prob_max),
    ] {
        checker.in_range(path, value, UNIT_FRACTION);
    }
    checker.in_range(
        "strategy.lag.win_prob_edge_slope",
        l.win_prob_edge_slope,
        STRATEGY_MULTIPLE,
    );
    if l.win_prob_max < l.win_prob_base {
        checker.fail(
            "strategy.lag.win_prob_max",
            ErrorKind::Inconsistent,
            format!(
                "{} is below strategy.lag.win_prob_base ({})",
                l.win_prob_max, l.win_prob_base
            ),
        );
    }
    for (path, value) in [
        ("strategy.lag.wide_spread_micro", l.wide_spread_micro),
        (
            "strategy.lag.pre_resolution_min_edge_micro",
            l.pre_resolution_min_edge_micro,
        ),
    ] {
        checker.in_range(path, value, PER_SHARE_MICRO);
    }
    for (path, value) in [
        (
            "strategy.lag.wide_spread_min_left_s",
            l.wide_spread_min_left_s,
        ),
        ("strategy.lag.high_vol_min_left_s", l.high_vol_min_left_s),
    ] {
        checker.in_range(path, value, STRATEGY_SECONDS);
    }
    checker.in_range("strategy.lag.cooldown_ms", l.cooldown_ms, STRATEGY_MS);

    let m = &s.mm;
    for (path, value) in [
        ("strategy.mm.capital_fraction", m.capital_fraction),
        ("strategy.mm.expiry_widen_factor", m.expiry_widen_factor),
        ("strategy.mm.skew_per_inventory", m.skew_per_inventory),
        ("strategy.mm.skew_max", m.skew_max),
        ("strategy.mm.one_sided_skew", m.one_sided_skew),
        (
            "strategy.mm.cascade_liquidation_input",
            m.cascade_liquidation_input,
        ),
    ] {
        checker.in_range(path, value, UNIT_FRACTION);
    }
    checker.in_range(
        "strategy.mm.skew_capital_fraction",
        m.skew_capital_fraction,
        0.001..=1.0,
    );
    checker.in_range("strategy.mm.pull_move_pct", m.pull_move_pct, SIGNAL_PCT);
    for (path, value) in [
        ("strategy.mm.flow_imbalance_widen", m.flow_imbalance_widen),
        ("strategy.mm.widen_factor", m.widen_factor),
    ] {
        checker.in_range(path, value, 1.0..=100.0);
    }
    for (path, value) in [
        ("strategy.mm.expiry_widen_s", m.expiry_widen_s),
        ("strategy.mm.pull_last_s", m.pull_last_s),
    ] {
        checker.in_range(path, value, STRATEGY_SECONDS);
    }
    checker.in_range(
        "strategy.mm.pull_high_vol_capital_micro",
        m.pull_high_vol_capital_micro,
        SIGNAL_MONEY_MICRO,
    );
    checker.in_range(
        "strategy.mm.pull_book_spread_micro",
        m.pull_book_spread_micro,
        PER_SHARE_MICRO,
    );
    checker.in_range("strategy.mm.fill_memory", m.fill_memory, 1..=32);

    let mo = &s.momentum;
    for (path, value) in [
        ("strategy.momentum.min_divergence", mo.min_divergence),
        ("strategy.momentum.capital_fraction", mo.capital_fraction),
    ] {
        checker.in_range(path, value, UNIT_FRACTION);
    }
    for (path, value) in [
        ("strategy.momentum.divergence_scale", mo.divergence_scale),
        ("strategy.momentum.score_scale", mo.score_scale),
    ] {
        checker.in_range(path, value, 1e-9..=1.0);
    }
    for (path, value) in [
        ("strategy.momentum.divergence_cap", mo.divergence_cap),
        ("strategy.momentum.score_cap", mo.score_cap),
    ] {
        checker.in_range(path, value, STRATEGY_MULTIPLE);
    }
    for (path, value) in [
        ("strategy.momentum.hold_last_s", mo.hold_last_s),
        ("strategy.momentum.max_hold_5m_s", mo.max_hold_5m_s),
        ("strategy.momentum.max_hold_15m_s", mo.max_hold_15m_s),
    ] {
        checker.in_range(path, value, STRATEGY_SECONDS);
    }
    checker.in_range(
        "strategy.momentum.entry_timeout_ms",
        mo.entry_timeout_ms,
        STRATEGY_MS,
    );
}

/// `telemetry.dashboard_refresh_ms`.
pub const DASHBOARD_REFRESH_MS: RangeInclusive<u32> = 100..=60_000;
/// `alerts.max_per_minute`.
pub const ALERTS_PER_MINUTE: RangeInclusive<u32> = 1..=60;
/// `alerts.dedup_window_s`.
pub const ALERTS_DEDUP_WINDOW_S: RangeInclusive<u32> = 0..=86_400;
/// `alerts.disconnect_alert_secs`.
pub const ALERTS_DISCONNECT_SECS: RangeInclusive<u32> = 1..=86_400;
/// `alerts.daily_summary_utc_hour`.
pub const ALERTS_SUMMARY_HOUR: RangeInclusive<u32> = 0..=23;
/// `alerts.queue_capacity`.
pub const ALERTS_QUEUE_CAPACITY: RangeInclusive<u32> = 1..=4_096;
/// Longest `alerts.telegram_chat_id`.
pub const ALERTS_CHAT_ID_MAX_LEN: usize = 64;

fn check_telemetry_server(config: &Config, checker: &mut Checker) {
    let t = &config.telemetry;
    checker.in_range(
        "telemetry.dashboard_refresh_ms",
        t.dashboard_refresh_ms,
        DASHBOARD_REFRESH_MS,
    );
    if t.enabled && !t.metrics_bind.ip().is_loopback() && !t.allow_non_loopback {
        checker.fail(
            "telemetry.metrics_bind",
            ErrorKind::Inconsistent,
            format!(
                "{} is not a loopback address; the metrics endpoint has no authentication: bind \
                 127.0.0.1 (and tunnel), or set telemetry.allow_non_loopback = true deliberately",
                t.metrics_bind
            ),
        );
    }
}

fn check_alerts(a: &super::schema::AlertsConfig, checker: &mut Checker) {
    checker.url("alerts.telegram_api_url", &a.telegram_api_url, false);
    checker.url("alerts.discord_base_url", &a.discord_base_url, false);
    checker.in_range("alerts.max_per_minute", a.max_per_minute, ALERTS_PER_MINUTE);
    checker.in_range(
        "alerts.dedup_window_s",
        a.dedup_window_s,
        ALERTS_DEDUP_WINDOW_S,
    );
    checker.in_range(
        "alerts.disconnect_alert_secs",
        a.disconnect_alert_secs,
        ALERTS_DISCONNECT_SECS,
    );
    checker.in_range(
        "alerts.daily_summary_utc_hour",
        a.daily_summary_utc_hour,
        ALERTS_SUMMARY_HOUR,
    );
    checker.in_range(
        "alerts.queue_capacity",
        a.queue_capacity,
        ALERTS_QUEUE_CAPACITY,
    );
    checker.in_range(
        "alerts.request_timeout_ms",
        a.request_timeout_ms,
        TIMEOUT_MS,
    );
    let chat_ok = is_telegram_chat_id(&a.telegram_chat_id);
    if !chat_ok {
        checker.fail(
            "alerts.telegram_chat_id",
            ErrorKind::OutOfRange,
            format!(
                "must be empty, a numeric chat id (e.g. -1001234567890) or @channelname \
                 (at most {ALERTS_CHAT_ID_MAX_LEN} characters)"
            ),
        );
    }
}

/// Empty, a numeric chat id (optionally negative) or `@name` (letters, digits, `_`).
fn is_telegram_chat_id(chat: &str) -> bool {
    if chat.len() > ALERTS_CHAT_ID_MAX_LEN {
        return false;
    }
    if chat.is_empty() {
        return true;
    }
    if let Some(name) = chat.strip_prefix('@') {
        return !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    }
    let digits = chat.strip_prefix('-').unwrap_or(chat);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn check_record(config: &Config, checker: &mut Checker) {
    let r = &config.record;
    if r.enabled && r.dir.as_os_str().is_empty() {
        checker.fail(
            "record.dir",
            ErrorKind::OutOfRange,
            "must not be empty when enabled",
        );
    }
    checker.in_range(
        "record.max_segment_bytes",
        r.max_segment_bytes,
        1_024..=(1u64 << 40),
    );
    checker.in_range("record.max_segment_secs", r.max_segment_secs, 1..=86_400);
    checker.in_range(
        "record.ring_bytes",
        r.ring_bytes,
        (crate::queue::byte_ring::MIN_RING_BYTES as u64)..=(1u64 << 32),
    );
}
