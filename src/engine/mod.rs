//! The engine: wires the hot thread (`hot`: the mio poll loop over every venue connection —
//! Binance, and through `poly` the Polymarket market channel and RTDS) and the risk/telemetry
//! thread (`risk`: market discovery, views, the live table) together through two SPSC rings
//! (`messages`), pins each to its configured CPU, resolves DNS and builds TLS configuration
//! (including discovery's Gamma/CLOB clients) before either starts, and on shutdown dumps the
//! hot thread's latency histograms (Polymarket feeds in their own sub-directories).
//!
//! Start-up work (DNS, TLS roots, the candle warm-up over REST (`warmup`), allocation of every
//! buffer) happens on the calling thread; the hot thread only connects, polls, parses and
//! applies.

pub mod brain;
pub mod exec_path;
pub mod feeds;
pub mod hot;
pub mod hot_trading;
pub mod market_view;
pub mod messages;
pub mod modes;
pub mod poly;
pub mod reconcile;
pub mod risk;
pub mod table;
pub mod trading;
pub mod trading_report;
pub mod warmup;

pub use self::feeds::PolymarketUrls;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use self::feeds::{configured_assets, plan_binance, BinanceUrls, FeedPlan};
use self::hot::{HotReport, HotSetup, POLY_MARKET_LABEL, POLY_RTDS_LABEL};
use self::market_view::feed_asset;
use self::messages::{Command, HotEvent};
use self::poly::PolySetup;
use self::risk::{DiscoverySetup, RiskReport, RiskSetup};
use crate::config::{Config, PollMode as ConfigPollMode};
use crate::discovery::{
    DiscoveryWorker, FetchConfig, MarketKind, MarketRegistry, ScheduleConfig, WorkerConfig,
};
use crate::net::backoff::BackoffPolicy;
use crate::net::dns::Endpoint;
use crate::net::poll::PollMode;
use crate::net::ws::{MaybeTlsConnector, WsOptions};
use crate::queue::spsc;
use crate::runtime::pin::{isolation_of, pin_current_thread, PinOutcome};

/// Why the engine could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("planning feeds: {0}")]
    Plan(#[from] feeds::FeedPlanError),
    #[error("{label}: bad URL {url}: {reason}")]
    Url {
        label: &'static str,
        url: String,
        reason: String,
    },
    #[error("{label}: resolving {host}: {reason}")]
    Dns {
        label: &'static str,
        host: String,
        reason: String,
    },
    #[error("TLS configuration: {0}")]
    Tls(#[from] crate::net::tls::TlsConfigError),
    #[error("queue {name}: {reason}")]
    Queue { name: &'static str, reason: String },
    #[error("reconnect backoff: {0}")]
    Backoff(String),
    #[error("threads.require_isolated is set but CPU {cpu} is not isolated ({detail})")]
    NotIsolated { cpu: usize, detail: String },
    #[error("installing signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("spawning the {0} thread: {1}")]
    Spawn(&'static str, std::io::Error),
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
    #[error("hot thread: {0}")]
    Hot(#[from] hot::HotError),
    #[error("writing histograms: {0}")]
    Histograms(#[from] crate::telemetry::latency::LatencyError),
    #[error("discovery client for {label}: {reason}")]
    Discovery { label: &'static str, reason: String },
    #[error("execution: {0}")]
    Exec(String),
    #[error("recorder: {0}")]
    Record(String),
    #[error("candle warm-up for {asset} failed and signals.warmup_required is set: {reason}")]
    Warmup { asset: &'static str, reason: String },
    #[error("telemetry: {0}")]
    Telemetry(String),
}

/// How a run differs from the plain configuration.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Binance endpoints (the configuration's, or the simulator's).
    pub binance: BinanceUrls,
    /// Polymarket endpoints (market channel, RTDS, Gamma, CLOB); `None` runs Binance only.
    pub polymarket: Option<PolymarketUrls>,
    /// CA file to trust besides the web roots (overrides `net.tls_extra_ca_file`).
    pub extra_ca: Option<PathBuf>,
    /// Poll mode override (the demo on shared cores uses a short blocking poll).
    pub poll_mode: Option<ConfigPollMode>,
    /// Stop after this long (otherwise on SIGINT/SIGTERM).
    pub duration: Option<Duration>,
    /// Print the live table.
    pub live_table: bool,
    /// Market window length in seconds for discovery instead of the real 300/900 s (a
    /// simulator running short windows); `None` = real lengths.
    pub window_secs_override: Option<u32>,
}

impl EngineOptions {
    /// Every endpoint pointed at a running simulator, trusting its CA, discovering windows of
    /// the simulator's length; no duration, no table, the configured poll mode. Callers adjust
    /// the rest with struct-update syntax.
    pub fn against_simulator(sim: &crate::sim::Simulator) -> Self {
        EngineOptions {
            binance: BinanceUrls {
                spot: sim.binance_spot_url(),
                futures_public: sim.binance_futures_public_url(),
                futures_market: sim.binance_futures_market_url(),
                spot_rest: sim.binance_rest_url(),
            },
            polymarket: Some(PolymarketUrls {
                market_ws: sim.polymarket_market_url(),
                rtds_ws: sim.polymarket_rtds_url(),
                gamma: sim.gamma_url(),
                clob: sim.clob_url(),
            }),
            extra_ca: Some(sim.ca_file().to_path_buf()),
            poll_mode: None,
            duration: None,
            live_table: false,
            window_secs_override: sim.window_secs_override(),
        }
    }
}

/// The outcome of a run.
pub struct EngineSummary {
    pub hot: HotReport,
    pub risk: RiskReport,
    pub hot_pin: PinOutcome,
    pub risk_pin: PinOutcome,
    /// Histogram files written.
    pub histogram_files: Vec<PathBuf>,
    pub elapsed: Duration,
    /// The start-up candle warm-up (candles fetched per asset, assets started cold).
    pub warmup: warmup::WarmupSummary,
}

/// Map the configuration's WebSocket, timeout and backoff settings into client options.
pub fn ws_options(cfg: &Config) -> Result<WsOptions, EngineError> {
    let ws = &cfg.net.websocket;
    let b = &cfg.net.backoff;
    let backoff = BackoffPolicy::new(
        Duration::from_millis(u64::from(b.initial_ms)),
        b.multiplier,
        Duration::from_millis(u64::from(b.max_ms)),
        b.jitter,
    )
    .map_err(|e| EngineError::Backoff(e.to_string()))?;
    let ms = |v: u32| (v > 0).then(|| Duration::from_millis(u64::from(v)));
    Ok(WsOptions {
        max_message_bytes: ws.max_message_bytes as usize,
        max_frame_bytes: ws.max_frame_bytes as usize,
        app_ping_interval: None,
        app_pong_text: None,
        ws_ping_interval: ms(ws.ws_ping_interval_ms),
        silence_timeout: ms(ws.silence_timeout_ms),
        connect_timeout: Duration::from_millis(u64::from(cfg.net.connect_timeout_ms)),
        backoff,
        ..WsOptions::default()
    })
}

fn poll_mode(cfg: &Config, over: Option<ConfigPollMode>) -> PollMode {
    match over.unwrap_or(cfg.poll.mode) {
        ConfigPollMode::Busy => PollMode::Busy,
        ConfigPollMode::Blocking => PollMode::Blocking {
            timeout: Duration::from_micros(u64::from(cfg.poll.blocking_timeout_us)),
        },
    }
}

/// The hot thread's send-path warmer (`net::warm`): a trading run that busy polls, with
/// `poll.warm_send_interval_us` not 0. A pair that cannot be set up leaves warming off, said
/// once at start-up (an optimisation, never a reason not to run).
fn send_warmer(
    cfg: &Config,
    trading: bool,
    mode: PollMode,
) -> Option<crate::net::warm::SendPathWarmer> {
    let us = cfg.poll.warm_send_interval_us;
    if !trading || us == 0 || !matches!(mode, PollMode::Busy) {
        return None;
    }
    match crate::net::warm::SendPathWarmer::new(u64::from(us) * 1_000) {
        Ok(w) => Some(w),
        Err(e) => {
            eprintln!("send-path warming off: local TCP pair not set up: {e}");
            None
        }
    }
}

/// How often a trading hot thread warms its order path (`HotTrading::warm_order_path`), ns:
/// busy polling with `poll.warm_order_interval_us` not 0, else never (0).
fn order_warm_interval_ns(cfg: &Config, mode: PollMode) -> u64 {
    match mode {
        PollMode::Busy => u64::from(cfg.poll.warm_order_interval_us) * 1_000,
        PollMode::Blocking { .. } => 0,
    }
}

/// RTDS wants a text `PING` every 5 s (its docs and SDK), whatever the market channel uses.
const RTDS_PING_INTERVAL: Duration = Duration::from_secs(5);

/// Polymarket connections additionally send the text `PING` keep-alive and swallow `PONG`.
fn poly_ws_options(cfg: &Config) -> Result<WsOptions, EngineError> {
    let ms = cfg.net.websocket.app_ping_interval_ms;
    Ok(WsOptions {
        app_ping_interval: (ms > 0).then(|| Duration::from_millis(u64::from(ms))),
        app_ping_text: b"PING".to_vec(),
        app_pong_text: Some(b"PONG".to_vec()),
        ..ws_options(cfg)?
    })
}

/// Resolve `url`'s host (blocking DNS, here at start-up) into a connector.
fn connector(
    label: &'static str,
    url: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<MaybeTlsConnector, EngineError> {
    let endpoint = Endpoint::parse(url).map_err(|e| EngineError::Url {
        label,
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    let addr = endpoint
        .resolve()
        .map_err(|e| EngineError::Dns {
            label,
            host: endpoint.host.clone(),
            reason: e.to_string(),
        })?
        .into_iter()
        .next()
        .ok_or_else(|| EngineError::Dns {
            label,
            host: endpoint.host.clone(),
            reason: "no address".into(),
        })?;
    let tls = endpoint.tls().then(|| (tls.clone(), endpoint.host.clone()));
    Ok(MaybeTlsConnector { addr, tls })
}

/// Resolve each planned feed's host into a connector.
fn connectors(
    plans: Vec<FeedPlan>,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Vec<(FeedPlan, MaybeTlsConnector)>, EngineError> {
    let mut out = Vec::with_capacity(plans.len());
    for plan in plans {
        let c = connector(plan.label, &plan.url, tls)?;
        out.push((plan, c));
    }
    Ok(out)
}

/// The discovery registry for the configured market types: windows of `window_secs_override`
/// seconds when given (the schedule fitted to that length), else the real lengths and the
/// configured schedule.
pub fn discovery_registry(cfg: &Config, window_secs_override: Option<u32>) -> MarketRegistry {
    let d = &cfg.discovery;
    let kinds: Vec<MarketKind> = cfg
        .markets
        .iter()
        .map(|m| MarketKind::with_window_secs(m.asset, m.window, window_secs_override))
        .collect();
    let schedule = ScheduleConfig {
        lead_s: u64::from(d.lead_s),
        min_remaining_s: u64::from(d.min_remaining_s),
        resolve_after_s: u64::from(d.resolve_after_s),
        resolve_every_s: u64::from(d.resolve_every_s),
        retire_after_s: u64::from(d.retire_after_s),
        give_up_unresolved_s: u64::from(d.give_up_unresolved_s),
    };
    let schedule = match window_secs_override.filter(|&s| s > 0) {
        Some(secs) => schedule.fit_to_window(u64::from(secs)),
        None => schedule,
    };
    let capacity = u16::try_from(d.max_markets).unwrap_or(u16::MAX);
    MarketRegistry::new(kinds, schedule, capacity)
}

/// The discovery worker for the configured market types, its Gamma and CLOB clients resolved
/// and configured here (blocking DNS at start-up, never on the hot thread).
fn discovery_setup(
    cfg: &Config,
    urls: &PolymarketUrls,
    tls: &Arc<rustls::ClientConfig>,
    window_secs_override: Option<u32>,
) -> Result<DiscoverySetup, EngineError> {
    let d = &cfg.discovery;
    let http = &cfg.net.http;
    let fetch_config = FetchConfig {
        connect_timeout: Duration::from_millis(u64::from(cfg.net.connect_timeout_ms)),
        request_timeout: Duration::from_millis(u64::from(http.request_timeout_ms)),
        max_body_bytes: http.max_body_bytes as usize,
    };
    let backoff = ws_options(cfg)?.backoff;
    let client = |label: &'static str, url: &str| {
        crate::discovery::fetch::connect_url(url, tls.clone(), fetch_config, backoff).map_err(|e| {
            EngineError::Discovery {
                label,
                reason: e.to_string(),
            }
        })
    };
    let gamma = client("gamma", &urls.gamma)?;
    let clob = client("clob", &urls.clob)?;
    let registry = discovery_registry(cfg, window_secs_override);
    let worker = DiscoveryWorker::new(
        registry,
        gamma,
        clob,
        WorkerConfig {
            max_lookups_per_step: d.max_lookups_per_step as usize,
            retry: backoff,
            verify_with_clob: d.verify_with_clob,
        },
    );
    Ok(DiscoverySetup {
        worker,
        step_interval: Duration::from_millis(u64::from(d.step_interval_ms)),
    })
}

/// What trading the run does on top of watching markets (the Polymarket side must run).
pub struct TradingPlan {
    /// The strategies + orchestrator.
    pub decider: Box<dyn trading::Decider + Send>,
    /// The wallet's signing key.
    pub signer: crate::exec::signing::signer::EoaSigner,
    /// The wallet holding the funds (proxy / safe), if not the signer.
    pub funder: Option<crate::exec::signing::address::Address>,
    pub signature_type: crate::exec::signing::order::SignatureType,
    /// Where signed orders go.
    pub outlet: PlanOutlet,
    /// Setting this fires the kill switch (cancel-all over the risk thread's own
    /// connection, then no new orders); the operator's or a test's trigger.
    pub kill: Option<Arc<AtomicBool>>,
    /// Collateral the wallet holds at the start (micro-pUSD), the tracker's starting point.
    pub collateral_micros: i64,
    /// The state the risk thread's monitor writes and the decider's pre-trade gate reads
    /// (kill, pause, size multiplier).
    pub shared: Arc<crate::risk::RiskShared>,
    /// The venue redeems resolved positions itself (the simulator in paper mode).
    pub redeems_at_resolution: bool,
}

/// Where a trading run's orders go.
pub enum PlanOutlet {
    /// Shadow mode: built, signed, logged by the risk thread; never sent.
    Shadow,
    /// Paper (the simulator's CLOB) or live: sent.
    Venue(VenuePlan),
}

/// The CLOB side of a sending run.
pub struct VenuePlan {
    /// The user channel (`wss://.../ws/user`).
    pub user_ws_url: String,
    /// L2 API credentials of the signer.
    pub creds: crate::exec::rest::responses::ApiKeyCreds,
}

/// The execution parts of the risk thread, and the hot thread's venue connections, for a
/// sending run (blocking clients connected and the start-up cancel-all done here).
fn venue_parts(
    cfg: &Config,
    clob_url: &str,
    tls: &Arc<rustls::ClientConfig>,
    signer: crate::exec::signing::address::Address,
    plan: VenuePlan,
    kill: Option<Arc<AtomicBool>>,
    shared: Arc<crate::risk::RiskShared>,
) -> Result<(hot_trading::VenueSetup, risk::RiskExec), EngineError> {
    use crate::exec::rest::blocking::{connect as clob_connect, BlockingConfig};
    use crate::exec::signing::hmac::L2Credentials;
    let err = |reason: String| EngineError::Exec(reason);
    let endpoint = Endpoint::parse(clob_url).map_err(|e| EngineError::Url {
        label: "clob",
        url: clob_url.to_string(),
        reason: e.to_string(),
    })?;
    if !endpoint.tls() {
        return Err(err(format!("the CLOB URL {clob_url} must be https")));
    }
    let addr = endpoint
        .resolve()
        .map_err(|e| EngineError::Dns {
            label: "clob",
            host: endpoint.host.clone(),
            reason: e.to_string(),
        })?
        .into_iter()
        .next()
        .ok_or_else(|| EngineError::Dns {
            label: "clob",
            host: endpoint.host.clone(),
            reason: "no address".into(),
        })?;
    let creds = || {
        L2Credentials::new(
            signer,
            &plan.creds.api_key,
            &plan.creds.secret,
            &plan.creds.passphrase,
        )
        .map_err(|e| err(format!("API credentials: {e}")))
    };
    let backoff = ws_options(cfg)?.backoff;
    let blocking = BlockingConfig {
        connect_timeout: Duration::from_millis(u64::from(cfg.net.connect_timeout_ms)),
        request_timeout: Duration::from_millis(u64::from(cfg.net.http.request_timeout_ms)),
        max_body_bytes: cfg.net.http.max_body_bytes as usize,
    };
    let mut heartbeat_clob = clob_connect(clob_url, tls.clone(), Some(creds()?), blocking, backoff)
        .map_err(|e| err(format!("CLOB client: {e}")))?;
    let kill_clob = clob_connect(clob_url, tls.clone(), Some(creds()?), blocking, backoff)
        .map_err(|e| err(format!("kill-switch client: {e}")))?;
    // Start from a clean slate: nothing of a previous run may rest unseen by the tracker.
    let startup = heartbeat_clob
        .cancel_all(|_, _| {})
        .map_err(|e| err(format!("start-up cancel-all: {e}")))?;
    let user_connector = connector("polymarket user", &plan.user_ws_url, tls)?;
    let user_auth = crate::exec::user_channel::UserAuth::new(
        &plan.creds.api_key,
        &plan.creds.secret,
        &plan.creds.passphrase,
    )
    .map_err(|e| err(format!("user channel credentials: {e}")))?;
    let pool = crate::net::http::PoolConfig {
        connections: 2,
        request_timeout_ns: u64::from(cfg.exec.order_timeout_ms) * 1_000_000,
        connect_timeout_ns: u64::from(cfg.net.connect_timeout_ms) * 1_000_000,
        max_body_bytes: cfg.net.http.max_body_bytes as usize,
        ..crate::net::http::PoolConfig::default()
    };
    let setup = hot_trading::VenueSetup {
        clob: crate::net::http::TlsConnector {
            addr,
            config: tls.clone(),
            server_name: endpoint.host.clone(),
        },
        clob_host: endpoint.host_header(),
        pool,
        backoff,
        creds: creds()?,
        client: crate::exec::rest::client::ClientConfig {
            // Every market may decide in the same round: room for a quote and a pair each.
            outbox_slots: 2 * cfg.discovery.max_markets as usize + 8,
            ..crate::exec::rest::client::ClientConfig::from_exec(&cfg.exec)
        },
        user_url: plan.user_ws_url.clone(),
        user_connector,
        // The user channel is quiet between our own events: its keep-alive PING (10 s) and
        // the 30 s watchdog of `user_ws_options`, not the market feeds' silence timeout.
        user_options: WsOptions {
            silence_timeout: None,
            ..poly_ws_options(cfg)?
        },
        user_auth,
        owner: plan.creds.api_key.clone(),
    };
    let exec = risk::RiskExec {
        heartbeat: crate::exec::heartbeat::HeartbeatSender::from_exec(&cfg.exec),
        clob: heartbeat_clob,
        monitor: crate::risk::Monitor::new(
            crate::risk::MonitorParams::from_config(&cfg.risk),
            crate::exec::heartbeat::KillSwitch::new(kill_clob),
            crate::clock::wall_ms(),
            cfg.allocator.starting_capital_micro,
        ),
        shared,
        monitor_interval: Duration::from_millis(u64::from(cfg.risk.monitor_interval_ms)),
        starting_equity_micro: cfg.allocator.starting_capital_micro,
        kill,
        startup_canceled: startup.canceled as u64,
    };
    Ok((setup, exec))
}

/// A connection label as a directory name: `binance futures /public` → `binance_futures_public`.
fn dir_name(label: &str) -> String {
    label
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Signing nonces pre-computed for the hot thread (refilled by the risk thread at half).
pub const NONCE_POOL_CAPACITY: usize = 4096;

/// Run the engine until SIGINT/SIGTERM or the configured duration (market data only).
pub fn run(cfg: &Config, opts: EngineOptions) -> Result<EngineSummary, EngineError> {
    run_trading(cfg, opts, None)
}

/// [`run`], plus decisions and orders per `plan` when given.
pub fn run_trading(
    cfg: &Config,
    opts: EngineOptions,
    plan: Option<TradingPlan>,
) -> Result<EngineSummary, EngineError> {
    let started = Instant::now();
    let signals = crate::runtime::signals::StopSignals::install().map_err(EngineError::Signals)?;
    let hot_cpu = cfg.threads.hot_cpu as usize;
    let risk_cpu = cfg.threads.risk_cpu as usize;
    if cfg.threads.require_isolated {
        let iso = isolation_of(hot_cpu);
        if !iso.is_isolated() {
            return Err(EngineError::NotIsolated {
                cpu: hot_cpu,
                detail: format!("{iso:?}"),
            });
        }
    }

    let assets = configured_assets(cfg);
    let plans = plan_binance(&opts.binance, &assets)?;
    let mut labels: Vec<&'static str> = plans.iter().map(|p| p.label).collect();
    let extra_ca = opts
        .extra_ca
        .clone()
        .or_else(|| cfg.net.tls_extra_ca_path().map(|p| p.to_path_buf()));
    let tls = crate::net::tls::client_config(extra_ca.as_deref())?;
    let feeds = connectors(plans, &tls)?;
    // Blocking REST at start-up, before any engine thread exists.
    let (warm_history, warmup) = warmup::warm_up(cfg, &opts.binance.spot_rest, &assets, &tls)?;
    let (poly, discovery) = match &opts.polymarket {
        Some(urls) => {
            labels.push(POLY_MARKET_LABEL);
            labels.push(POLY_RTDS_LABEL);
            let poly = PolySetup {
                market_url: urls.market_ws.clone(),
                market_connector: connector(POLY_MARKET_LABEL, &urls.market_ws, &tls)?,
                rtds_url: urls.rtds_ws.clone(),
                rtds_connector: connector(POLY_RTDS_LABEL, &urls.rtds_ws, &tls)?,
                ws_options: poly_ws_options(cfg)?,
                rtds_ws_options: WsOptions {
                    app_ping_interval: Some(RTDS_PING_INTERVAL),
                    ..poly_ws_options(cfg)?
                },
                max_markets: cfg.discovery.max_markets as usize,
                assets: cfg.markets.iter().map(|m| feed_asset(m.asset)).fold(
                    Vec::new(),
                    |mut v, a| {
                        if !v.contains(&a) {
                            v.push(a);
                        }
                        v
                    },
                ),
                oracle_max_age_ms: u64::from(cfg.oracle.max_age_ms),
                snapshot_timeout: Duration::from_millis(u64::from(
                    cfg.net.websocket.silence_timeout_ms,
                )),
            };
            (
                Some(poly),
                Some(discovery_setup(cfg, urls, &tls, opts.window_secs_override)?),
            )
        }
        None => (None, None),
    };

    let (to_risk, from_hot) =
        spsc::channel::<HotEvent>(cfg.queues.hot_to_risk as usize).map_err(|e| {
            EngineError::Queue {
                name: "hot_to_risk",
                reason: e.to_string(),
            }
        })?;
    let (to_hot, from_risk) =
        spsc::channel::<Command>(cfg.queues.risk_to_hot as usize).map_err(|e| {
            EngineError::Queue {
                name: "risk_to_hot",
                reason: e.to_string(),
            }
        })?;
    let heartbeat = Arc::new(AtomicU64::new(0));
    let hot_finished = Arc::new(AtomicBool::new(false));
    let interval = Duration::from_millis(u64::from(cfg.telemetry.heartbeat_interval_ms));

    let shadow = plan
        .as_ref()
        .is_some_and(|p| matches!(p.outlet, PlanOutlet::Shadow));
    let journal_shared = plan.as_ref().map(|p| p.shared.clone());
    let mut risk_exec = None;
    let hot_poll_mode = poll_mode(cfg, opts.poll_mode);
    let (nonces, trading) = match (plan, opts.polymarket.as_ref()) {
        (Some(plan), Some(urls)) => {
            let api_key = match &plan.outlet {
                PlanOutlet::Venue(v) => v.creds.api_key.clone(),
                PlanOutlet::Shadow => String::new(),
            };
            let outlet = match plan.outlet {
                PlanOutlet::Shadow => hot_trading::Outlet::Shadow,
                PlanOutlet::Venue(venue) => {
                    let (setup, exec) = venue_parts(
                        cfg,
                        &urls.clob,
                        &tls,
                        plan.signer.address(),
                        venue,
                        plan.kill.clone(),
                        plan.shared.clone(),
                    )?;
                    risk_exec = Some(exec);
                    hot_trading::Outlet::Venue(Box::new(setup))
                }
            };
            let (mut producer, consumer) =
                crate::exec::signing::nonce_pool::nonce_pool(NONCE_POOL_CAPACITY);
            producer.refill();
            let salt_seed = crate::clock::wall_ms().wrapping_mul(1_000);
            let mut tracker = crate::exec::orders::tracker::Tracker::new(
                crate::exec::orders::tracker::TrackerConfig::from_exec(&cfg.exec, &api_key),
            );
            tracker.set_collateral(plan.collateral_micros);
            let setup = hot_trading::TradingSetup {
                decider: plan.decider,
                params: cfg
                    .markets
                    .iter()
                    .map(|m| crate::signals::SignalParams::from_config(&cfg.signals, m.asset))
                    .collect(),
                factory: exec_path::OrderFactory::new(
                    plan.signer,
                    plan.funder,
                    plan.signature_type,
                    consumer,
                    cfg.discovery.max_markets as usize,
                    salt_seed,
                ),
                tracker,
                outlet,
                oracle_max_age_ms: u64::from(cfg.oracle.max_age_ms),
                fee_rate_micros: u64::from(cfg.exec.taker_fee_bps) * 100,
                redeems_at_resolution: plan.redeems_at_resolution,
                intents_per_round: 32,
                cancels_per_round: 16,
                warm_order_interval_ns: order_warm_interval_ns(cfg, hot_poll_mode),
            };
            (Some(producer), Some(setup))
        }
        _ => (None, None),
    };

    let mut trading = trading;
    let (record_tap, recorder) = if cfg.record.enabled {
        let mut conns: Vec<crate::record::RecordedConn> = feeds
            .iter()
            .enumerate()
            .map(|(i, (plan, _))| crate::record::RecordedConn {
                id: i as u16,
                kind: match plan.venue {
                    crate::feeds::binance::records::Venue::Spot => {
                        crate::record::ConnKind::BinanceSpot
                    }
                    crate::feeds::binance::records::Venue::Futures => {
                        crate::record::ConnKind::BinanceFutures
                    }
                },
                label: plan.label.to_string(),
            })
            .collect();
        if poly.is_some() {
            let n = feeds.len() as u16;
            conns.push(crate::record::RecordedConn {
                id: n,
                kind: crate::record::ConnKind::PolyMarket,
                label: POLY_MARKET_LABEL.to_string(),
            });
            conns.push(crate::record::RecordedConn {
                id: n + 1,
                kind: crate::record::ConnKind::Rtds,
                label: POLY_RTDS_LABEL.to_string(),
            });
        }
        let (tap, mut rec) = crate::record::start(&cfg.record, &cfg.record.dir, &conns)
            .map_err(|e| EngineError::Record(e.to_string()))?;
        rec.warmup(&warm_history);
        // A trading run journals every call into its decider beside the frames, so a replay
        // can check it decides the same (`replay --check-decisions`).
        if let (Some(setup), Some(shared)) = (trading.as_mut(), journal_shared) {
            let journal_tap = rec
                .journal_tap()
                .map_err(|e| EngineError::Record(e.to_string()))?;
            let inner = std::mem::replace(&mut setup.decider, Box::new(trading::WatchOnly));
            setup.decider = Box::new(crate::record::journal::JournaledDecider::new(
                inner,
                journal_tap,
                shared,
                cfg.discovery.max_markets as usize,
            ));
        }
        (Some(tap), Some(rec))
    } else {
        (None, None)
    };
    let send_warmer = send_warmer(cfg, trading.is_some(), hot_poll_mode);
    let hot_setup = HotSetup {
        feeds,
        ws_options: ws_options(cfg)?,
        poll_mode: hot_poll_mode,
        events_capacity: cfg.poll.events_capacity as usize,
        assets,
        stats_interval_ns: (interval.as_nanos() as u64 / 4).max(1_000_000),
        to_risk,
        from_risk,
        heartbeat: heartbeat.clone(),
        finished: hot_finished.clone(),
        poly,
        trading,
        warm_history,
        record_tap,
        send_warmer,
    };
    let risk_setup = RiskSetup {
        mlockall: cfg.threads.mlockall,
        from_hot,
        to_hot,
        stop: signals.flag(),
        deadline: opts.duration.map(|d| Instant::now() + d),
        live_table: opts.live_table,
        interval,
        labels,
        heartbeat,
        hot_finished: hot_finished.clone(),
        discovery,
        nonces,
        log_would_be: shadow,
        exec: risk_exec,
        telemetry: crate::telemetry::service::TelemetrySetup::from_config(cfg, tls.clone())
            .map_err(|e| EngineError::Telemetry(e.to_string()))?,
        recorder,
    };

    let hot = thread::Builder::new()
        .name("sattebaaz-hot".into())
        .spawn(move || {
            let pin = pin_current_thread(hot_cpu);
            (pin, hot::run(hot_setup))
        })
        .map_err(|e| EngineError::Spawn("hot", e))?;
    let risk = thread::Builder::new()
        .name("sattebaaz-risk".into())
        .spawn(move || {
            let pin = pin_current_thread(risk_cpu);
            (pin, risk::run(risk_setup))
        });
    let risk = match risk {
        Ok(r) => r,
        Err(e) => {
            // Without the risk thread nobody would stop the hot loop: do it here.
            signals.request_stop();
            hot_finished.store(true, std::sync::atomic::Ordering::Release);
            return Err(EngineError::Spawn("risk", e));
        }
    };
    let (hot_pin, hot_result) = hot.join().map_err(|_| EngineError::Panicked("hot"))?;
    let (risk_pin, risk_report) = risk.join().map_err(|_| EngineError::Panicked("risk"))?;
    let hot_report = hot_result?;
    let mut histogram_files = hot_report.histograms.dump(&cfg.histogram_path())?;
    for (label, h) in &hot_report.connection_histograms {
        let dir = cfg.histogram_path().join(dir_name(label));
        histogram_files.extend(h.dump(&dir)?);
    }
    if let Some(p) = &hot_report.poly {
        let dir = cfg.histogram_path();
        histogram_files.extend(p.market_histograms.dump(&dir.join("polymarket_market"))?);
        histogram_files.extend(p.rtds_histograms.dump(&dir.join("polymarket_rtds"))?);
    }
    if let Some(t) = &hot_report.trading {
        // Decision (signal update + decider) and decision → order handed to the outlet.
        let dir = cfg.histogram_path().join("trading");
        histogram_files.extend(t.histograms.dump(&dir)?);
    }
    Ok(EngineSummary {
        hot: hot_report,
        risk: risk_report,
        hot_pin,
        risk_pin,
        histogram_files,
        elapsed: started.elapsed(),
        warmup,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_path_warming_runs_only_when_busy_polling_and_configured() {
        let mut cfg = Config::shipped().unwrap();
        cfg.poll.warm_order_interval_us = 250;
        assert_eq!(order_warm_interval_ns(&cfg, PollMode::Busy), 250_000);
        let blocking = PollMode::Blocking {
            timeout: Duration::from_millis(1),
        };
        assert_eq!(order_warm_interval_ns(&cfg, blocking), 0);
        cfg.poll.warm_order_interval_us = 0;
        assert_eq!(order_warm_interval_ns(&cfg, PollMode::Busy), 0);
    }
}
