//! The typed shape of `config.toml`: one struct per `[section]`, one enum per closed set of
//! strings.
//!
//! Invariants: every key is required (the shipped `config.toml` is the only place defaults
//! live; there are no hidden defaults in code); keys the schema does not know are rejected by
//! the loader (`super::load`), so structs here do not use `deny_unknown_fields` (that would
//! stop at the first unknown key instead of listing them all). Money-like values are integers;
//! only statistical/tuning ratios are `f64`.
//!
//! Adding a section: add a struct here, a field on [`Config`], a `check_*` function in
//! `super::validate`, and the section in the shipped `config.toml`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    /// `[engine]`: run mode and output directory.
    pub engine: EngineConfig,
    /// `[threads]`: CPU pinning of the hot and risk threads.
    pub threads: ThreadsConfig,
    /// `[poll]`: how the hot event loop waits.
    pub poll: PollConfig,
    /// `[queues]`: SPSC queue capacities between the threads.
    pub queues: QueuesConfig,
    /// `[net]`: sockets, TLS, WebSocket, HTTP and reconnect back-off.
    pub net: NetConfig,
    /// `[venues]`: endpoints of Binance and Polymarket.
    pub venues: VenuesConfig,
    /// `[[markets]]`: which Up/Down markets to trade and their capital shares.
    pub markets: Vec<MarketConfig>,
    /// `[telemetry]`: histograms, summary, heartbeat.
    pub telemetry: TelemetryConfig,
    /// `[sim]`: the embedded venue simulator.
    pub sim: SimConfig,
    /// `[discovery]`: finding, resolving and retiring the configured markets.
    pub discovery: DiscoveryConfig,
    /// `[oracle]`: Chainlink (RTDS) freshness.
    pub oracle: OracleConfig,
    /// `[exec]`: order client, tracker and dead-man switch.
    pub exec: ExecConfig,
    /// `[signals]`: parameters of the signal layer (`crate::signals`, strategy spec §3).
    pub signals: SignalsConfig,
    /// `[lifecycle]`: window phase boundaries and the strategy permission matrix (spec §2).
    pub lifecycle: LifecycleConfig,
    /// `[allocator]`: capital tiers and per-strategy shares (spec §5).
    pub allocator: AllocatorConfig,
    /// `[risk]`: pre-trade limits, the risk monitor and the kill switch (spec §5).
    pub risk: RiskConfig,
    /// `[strategy]`: parameters of the five strategies (`crate::strategy`, strategy spec §4).
    pub strategy: StrategyConfig,
    /// `[alerts]`: Telegram / Discord alerts (secrets come from the environment only).
    pub alerts: AlertsConfig,
    /// `[record]`: the raw-frame recorder (`crate::record`).
    pub record: RecordConfig,
}

impl Config {
    /// Directory the latency histograms are written to: `telemetry.histogram_dir` under
    /// `engine.run_dir`.
    pub fn histogram_path(&self) -> PathBuf {
        self.engine.run_dir.join(&self.telemetry.histogram_dir)
    }
}

/// How orders are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineMode {
    /// Orders are simulated against the live (or simulated) books; nothing is sent.
    Paper,
    /// Real feeds, orders are built and signed but not sent; fills inferred from the tape.
    Shadow,
    /// Real orders with real money. Requires `engine.live_confirmed = true`.
    Live,
}

impl EngineMode {
    /// The string used in `config.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paper => "paper",
            Self::Shadow => "shadow",
            Self::Live => "live",
        }
    }
}

/// `[engine]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EngineConfig {
    /// `paper`, `shadow` or `live`.
    pub mode: EngineMode,
    /// Second switch for live trading: must be `true` when `mode = "live"`.
    pub live_confirmed: bool,
    /// Directory all run output (histograms, dumps) is written under; relative to the working
    /// directory unless absolute.
    pub run_dir: PathBuf,
}

/// `[threads]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ThreadsConfig {
    /// CPU id the hot (event-loop) thread is pinned to.
    pub hot_cpu: u32,
    /// CPU id the risk/telemetry thread is pinned to; differs from `hot_cpu`.
    pub risk_cpu: u32,
    /// Refuse to start unless `hot_cpu` is an isolated CPU (`isolcpus`/`nohz_full`).
    pub require_isolated: bool,
    /// Lock every page of the process in memory (`mlockall(MCL_CURRENT | MCL_FUTURE)`) once the
    /// engine has warmed up (connections open, first stats from the hot loop), so the hot path
    /// never page-faults. A failure is reported and the run carries on.
    pub mlockall: bool,
}

/// How the hot loop waits for readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PollMode {
    /// `poll(timeout = 0)` in a tight loop: lowest latency, one core at 100%.
    Busy,
    /// `poll(timeout = blocking_timeout_us)`: for tests and laptops.
    Blocking,
}

/// `[poll]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PollConfig {
    /// `busy` or `blocking`.
    pub mode: PollMode,
    /// Poll timeout in blocking mode, microseconds (1..=1_000_000).
    pub blocking_timeout_us: u32,
    /// Capacity of the `mio::Events` buffer (readiness events per poll).
    pub events_capacity: u32,
    /// A trading hot thread in busy mode writes through a local TCP pair this often to keep the
    /// kernel's send path in cache for the next order, microseconds (0 = off, else
    /// 100..=1_000_000; see `net::warm`).
    pub warm_send_interval_us: u32,
    /// A trading hot thread in busy mode runs its order path (hashing, body, L2 headers, request
    /// rendering, TLS sealing with a throwaway key) over an unsigned order this often, sending
    /// nothing, to keep it in cache for the next order, microseconds (0 = off, else
    /// 100..=1_000_000; see `HotTrading::warm_order_path`).
    pub warm_order_interval_us: u32,
}

/// `[queues]`: capacities (powers of two) of the SPSC rings between the threads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QueuesConfig {
    /// Hot -> risk/telemetry (fills, latency samples, events).
    pub hot_to_risk: u32,
    /// Risk -> hot (limits, kill switch, refreshed credentials).
    pub risk_to_hot: u32,
}

/// `[net]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NetConfig {
    /// TCP connect + TLS handshake deadline, milliseconds.
    pub connect_timeout_ms: u32,
    /// Extra PEM CA bundle trusted besides the webpki roots (e.g. the simulator's CA). Empty
    /// string = none. Relative paths are relative to the working directory.
    pub tls_extra_ca_file: String,
    /// `[net.websocket]`.
    pub websocket: WebsocketConfig,
    /// `[net.http]`.
    pub http: HttpConfig,
    /// `[net.backoff]`.
    pub backoff: BackoffConfig,
}

impl NetConfig {
    /// The extra CA file, or `None` when `tls_extra_ca_file` is empty.
    pub fn tls_extra_ca_path(&self) -> Option<&Path> {
        if self.tls_extra_ca_file.is_empty() {
            None
        } else {
            Some(Path::new(&self.tls_extra_ca_file))
        }
    }
}

/// `[net.websocket]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WebsocketConfig {
    /// Largest reassembled message accepted, bytes.
    pub max_message_bytes: u32,
    /// Largest single frame accepted, bytes (≤ `max_message_bytes`).
    pub max_frame_bytes: u32,
    /// Interval of application-level pings (Polymarket's text `PING`), milliseconds.
    pub app_ping_interval_ms: u32,
    /// Interval of WebSocket ping frames we send, milliseconds.
    pub ws_ping_interval_ms: u32,
    /// A connection with no inbound data for this long is declared dead and reconnected,
    /// milliseconds (> both ping intervals). Also the deadline of a Polymarket book's snapshot
    /// after its subscription: a book still waiting is asked for again.
    pub silence_timeout_ms: u32,
}

/// `[net.http]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HttpConfig {
    /// Keep-alive connections kept open to the CLOB (1..=64).
    pub pool_size: u32,
    /// Deadline for one request/response, milliseconds.
    pub request_timeout_ms: u32,
    /// Largest response body accepted, bytes.
    pub max_body_bytes: u32,
}

/// `[net.backoff]`: reconnect delay = min(max_ms, initial_ms × multiplier^attempt), then
/// ± jitter × delay.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BackoffConfig {
    /// First reconnect delay, milliseconds.
    pub initial_ms: u32,
    /// Ceiling of the delay, milliseconds (≥ `initial_ms`).
    pub max_ms: u32,
    /// Growth factor per failed attempt (> 1.0, ≤ 10.0).
    pub multiplier: f64,
    /// Relative random spread of each delay (0.0..=1.0).
    pub jitter: f64,
}

/// `[venues]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VenuesConfig {
    /// `[venues.binance]`.
    pub binance: BinanceVenueConfig,
    /// `[venues.polymarket]`.
    pub polymarket: PolymarketVenueConfig,
}

/// `[venues.binance]`: WebSocket base URLs (ws/wss) and the spot REST base URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BinanceVenueConfig {
    /// Spot streams, e.g. `wss://stream.binance.com:9443`.
    pub spot_ws_url: String,
    /// USDⓈ-M futures public (book ticker / depth) streams.
    pub futures_public_ws_url: String,
    /// USDⓈ-M futures market (trades, mark price) streams.
    pub futures_market_ws_url: String,
    /// Spot REST base URL (http/https), e.g. `https://api.binance.com`: the start-up candle
    /// warm-up's `GET /api/v3/klines`.
    pub spot_rest_url: String,
}

/// `[venues.polymarket]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PolymarketVenueConfig {
    /// CLOB REST base URL (http/https).
    pub clob_url: String,
    /// Market-channel WebSocket URL (ws/wss).
    pub market_ws_url: String,
    /// User-channel WebSocket URL (ws/wss).
    pub user_ws_url: String,
    /// Real-time data service (Chainlink/Binance prices) WebSocket URL (ws/wss).
    pub rtds_ws_url: String,
    /// Gamma (market discovery) REST base URL (http/https).
    pub gamma_url: String,
    /// EIP-712 chain id: 137 (Polygon) or 80002 (Amoy testnet).
    pub chain_id: u64,
}

/// Underlying crypto asset of an Up/Down market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Asset {
    /// Bitcoin.
    Btc,
    /// Ether.
    Eth,
    /// Solana.
    Sol,
    /// XRP.
    Xrp,
}

impl Asset {
    /// Lower-case name as used in config and Polymarket slugs (`btc-updown-5m-...`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Btc => "btc",
            Self::Eth => "eth",
            Self::Sol => "sol",
            Self::Xrp => "xrp",
        }
    }
}

/// Length of an Up/Down market window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub enum Window {
    /// Five minutes (300 s).
    #[serde(rename = "5m")]
    Min5,
    /// Fifteen minutes (900 s).
    #[serde(rename = "15m")]
    Min15,
}

impl Window {
    /// The string used in config and slugs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Min5 => "5m",
            Self::Min15 => "15m",
        }
    }

    /// Real window length in seconds.
    pub const fn secs(self) -> u32 {
        match self {
            Self::Min5 => 300,
            Self::Min15 => 900,
        }
    }
}

/// One `[[markets]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MarketConfig {
    /// `btc`, `eth`, `sol` or `xrp`.
    pub asset: Asset,
    /// `5m` or `15m`.
    pub window: Window,
    /// Share of total capital, basis points (sum over all markets ≤ 10_000).
    pub capital_share_bps: u32,
    /// 1 = served first when capital or attention is short; unique across markets.
    pub priority: u32,
}

/// `[telemetry]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TelemetryConfig {
    /// Histogram output directory, relative to `engine.run_dir` (no `..`, not absolute).
    pub histogram_dir: PathBuf,
    /// Print a latency/counter summary on shutdown.
    pub print_summary: bool,
    /// Interval of the risk thread's heartbeat/metrics tick, milliseconds.
    pub heartbeat_interval_ms: u32,
    /// Serve `/metrics`, the dashboard and `/api/snapshot` from the risk thread.
    pub enabled: bool,
    /// Address the telemetry HTTP server binds to (`127.0.0.1:9464`; port 0 = ephemeral).
    pub metrics_bind: SocketAddr,
    /// Allow `metrics_bind` on a non-loopback address (the endpoint has no authentication).
    pub allow_non_loopback: bool,
    /// How often the dashboard page fetches `/api/snapshot`, milliseconds.
    pub dashboard_refresh_ms: u32,
}

/// `[sim]`: the embedded venue simulator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SimConfig {
    /// RNG seed; the same seed replays the same session.
    pub seed: u64,
    /// Window length in seconds for simulated markets; 0 = the real 300/900 s.
    pub window_secs_override: u32,
    /// Address the simulator's listeners bind to.
    pub bind: IpAddr,
}

/// `[discovery]`: market discovery on the risk thread (Gamma + CLOB lookups).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DiscoveryConfig {
    /// Look a window up once its start is at most this many seconds ahead.
    pub lead_s: u32,
    /// Do not newly discover a window ending within this many seconds.
    pub min_remaining_s: u32,
    /// First resolution check this many seconds after a window's end.
    pub resolve_after_s: u32,
    /// Then check again every this many seconds until resolved.
    pub resolve_every_s: u32,
    /// Retire a resolved market once its end is this many seconds in the past.
    pub retire_after_s: u32,
    /// Retire a still-unresolved market this many seconds after its end.
    pub give_up_unresolved_s: u32,
    /// Lookups per discovery step at most (bounds how long one step blocks).
    pub max_lookups_per_step: u32,
    /// Milliseconds between discovery steps.
    pub step_interval_ms: u32,
    /// Cross-check every Gamma result with the CLOB's `/clob-markets/<conditionId>`.
    pub verify_with_clob: bool,
    /// Markets tracked at once (book slots on the hot thread, registry capacity).
    pub max_markets: u32,
}

/// `[oracle]`: freshness of the Chainlink price relayed by RTDS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OracleConfig {
    /// The latest Chainlink observation older than this is shown as stale, milliseconds.
    pub max_age_ms: u32,
}

/// `[exec]`: the execution client (REST order path, tracker, heartbeats).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExecConfig {
    /// Milliseconds between dead-man-switch heartbeats (the venue cancels after 10 s).
    pub heartbeat_interval_ms: u32,
    /// Milliseconds of post-only mode (only post-only orders and cancels) after a 425 / 503.
    pub post_only_window_ms: u32,
    /// Deadline of order submits and cancels, milliseconds.
    pub order_timeout_ms: u32,
    /// Deadline of reconciliation and queries, milliseconds.
    pub query_timeout_ms: u32,
    /// Wait before reconciling an order whose outcome is unknown, milliseconds.
    pub reconcile_delay_ms: u32,
    /// Reconciliation attempts per unknown order.
    pub reconcile_attempts: u32,
    /// Orders per `POST /orders` request (the venue's maximum is 15).
    pub batch_size: u32,
    /// Orders the tracker holds at once.
    pub tracker_capacity: u32,
    /// Taker fee rate assumed for fills and BUY reservations, basis points (720 = 0.072).
    pub taker_fee_bps: u32,
}

/// `[signals]`: every parameter of the signal layer (strategy spec §3). Percentages named
/// `*_pct` are in percent (`0.05` = 0.05%); money is integer micro-dollars; probabilities and
/// weights are plain fractions.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SignalsConfig {
    /// ATR period in closed 1-minute candles (Wilder's smoothing).
    pub atr_period: u32,
    /// Realised volatility: 1-minute log returns in the rolling window.
    pub realised_vol_window: u32,
    /// Realised volatility: returns needed before it replaces the default annual vol.
    pub realised_vol_min_returns: u32,
    /// Bias: |1-minute move| above this is a weak signal, percent.
    pub momentum_weak_pct: f64,
    /// Bias: |1-minute move| at or above this is a full-strength signal, percent.
    pub momentum_strong_pct: f64,
    /// Bias: fast EMA period (1-minute closes).
    pub ema_fast: u32,
    /// Bias: slow EMA period (1-minute closes).
    pub ema_slow: u32,
    /// Bias: (EMA fast − EMA slow) / close at which the EMA input saturates, percent.
    pub ema_full_scale_pct: f64,
    /// Bias: |funding rate| above this is extreme and read contrarian, percent.
    pub funding_extreme_pct: f64,
    /// Bias: |funding rate| at which the contrarian input saturates, percent.
    pub funding_full_scale_pct: f64,
    /// Bias: net liquidation notional over 60 s that is a full cascade, micro-dollars.
    pub liquidation_cascade_micro: i64,
    /// Bias weight of the 1-minute momentum input.
    pub weight_momentum: f64,
    /// Bias weight of the EMA input.
    pub weight_ema: f64,
    /// Bias weight of the 60 s order-flow delta.
    pub weight_flow: f64,
    /// Bias weight of the funding input.
    pub weight_funding: f64,
    /// Bias weight of the liquidation imbalance.
    pub weight_liquidation: f64,
    /// |bias score| above this gives a direction.
    pub bias_threshold: f64,
    /// Arb: depth counted within this many cents of each ask.
    pub arb_depth_cents: u32,
    /// Arb: expected fill fraction of the executable size.
    pub arb_expected_fill: f64,
    /// Arb: minimum expected profit, micro-dollars.
    pub arb_min_profit_micro: i64,
    /// Taker fee rate (parts per million of `shares × p × (1 − p)`) used when the market's own
    /// rate is not known.
    pub default_taker_fee_rate_ppm: i64,
    /// Momentum: the short, medium and long velocity windows, seconds (ascending).
    pub momentum_windows_s: [u32; 3],
    /// Momentum: weights of v_short, (v_short − v_medium) and (v_short − v_long).
    pub momentum_score_weights: [f64; 3],
    /// Momentum exhaustion: scores needed first.
    pub exhaustion_min_samples: u32,
    /// Momentum exhaustion: scores the peak is taken over.
    pub exhaustion_lookback: u32,
    /// Momentum exhaustion: the peak |score| must exceed this.
    pub exhaustion_min_peak: f64,
    /// Momentum exhaustion: the current |score| is below this fraction of the peak.
    pub exhaustion_ratio: f64,
    /// Compression: Bollinger period (1-minute closes).
    pub bollinger_period: u32,
    /// Compression: band half-width in standard deviations.
    pub bollinger_k: f64,
    /// Compression: band widths kept for the percentile rank.
    pub width_history: u32,
    /// Compression: widths needed before a rank is reported.
    pub width_min_history: u32,
    /// Compression: percentile rank below this is compression.
    pub compression_rank_pct: f64,
    /// Breakout: width above this multiple of the previous width (while compressed).
    pub breakout_ratio: f64,
    /// Fill probability penalty by regime, DEAD..EXTREME.
    pub fill_vol_penalty: [f64; 5],
    /// `[signals.regimes]`.
    pub regimes: RegimeTableConfig,
    /// `[signals.btc]`.
    pub btc: AssetSignalConfig,
    /// `[signals.eth]`.
    pub eth: AssetSignalConfig,
    /// `[signals.sol]`.
    pub sol: AssetSignalConfig,
    /// `[signals.xrp]`.
    pub xrp: AssetSignalConfig,
    /// Closed 1-minute candles fetched per asset from Binance spot REST klines at start-up to
    /// warm the candle history (0 = off; at most 1 000, Binance's limit).
    pub warmup_candles: u32,
    /// A failed warm-up stops start-up instead of starting that asset cold with a warning.
    pub warmup_required: bool,
}

impl SignalsConfig {
    /// The per-asset section of `asset`.
    pub fn asset(&self, asset: Asset) -> &AssetSignalConfig {
        match asset {
            Asset::Btc => &self.btc,
            Asset::Eth => &self.eth,
            Asset::Sol => &self.sol,
            Asset::Xrp => &self.xrp,
        }
    }
}

/// `[signals.regimes]`: the per-regime parameter table, each array ordered
/// DEAD, LOW, MEDIUM, HIGH, EXTREME.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RegimeTableConfig {
    /// Minimum arb edge after fees, micro-dollars per share.
    pub arb_min_edge_micro: [i64; 5],
    /// Minimum lag-exploit edge, micro-dollars per share; 0 = not traded.
    pub lag_min_edge_micro: [i64; 5],
    /// Market-making half-spread, micro-dollars; 0 = pull quotes.
    pub mm_half_spread_micro: [i64; 5],
    /// Market-making size multiplier.
    pub mm_size_multiplier: [f64; 5],
    /// Momentum minimum |score|; 0 = not traded.
    pub momentum_min_signal: [f64; 5],
    /// Position size cap, basis points of capital.
    pub position_cap_bps: [u32; 5],
}

/// `[signals.<asset>]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AssetSignalConfig {
    /// Annual volatility used until a realised estimate is ready (fraction, 0.55 = 55%).
    pub default_annual_vol: f64,
    /// ATR(1m) regime boundaries LOW, MEDIUM, HIGH, EXTREME in micro-dollars (ascending):
    /// ATR < [0] is DEAD, ≥ [0] LOW, ≥ [1] MEDIUM, ≥ [2] HIGH, > [3] EXTREME.
    pub atr_thresholds_micro: [i64; 4],
}

/// A strategy named in the permission matrix (`crate::strategy::intent::StrategyId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrategyName {
    /// Straddle + bias.
    Straddle,
    /// Pure arbitrage.
    Arb,
    /// Lag exploit.
    Lag,
    /// Micro market-making.
    Mm,
    /// Momentum capture.
    Momentum,
}

/// `[lifecycle]`: phase boundaries per market type (seconds into the reference 300 s / 900 s
/// window; scaled to the real window length) and which strategies may act.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LifecycleConfig {
    /// 5m windows: end of Alpha, Early, Prime, Mature, Pre-resolution (ascending, < 300).
    pub bounds_5m_s: [u32; 5],
    /// 15m windows: end of Alpha, Early, Prime, Mature, Pre-resolution (ascending, < 900).
    pub bounds_15m_s: [u32; 5],
    /// In Pre-resolution, SELL intents (taking profit) of any strategy are allowed.
    pub pre_resolution_allow_exits: bool,
    /// `[lifecycle.phases]`: strategies allowed per phase.
    pub phases: PhasePermissionsConfig,
    /// `[lifecycle.regimes]`: strategies allowed per volatility regime, in priority order.
    pub regimes: RegimePermissionsConfig,
}

/// `[lifecycle.phases]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PhasePermissionsConfig {
    /// Alpha.
    pub alpha: Vec<StrategyName>,
    /// Early.
    pub early: Vec<StrategyName>,
    /// Prime.
    pub prime: Vec<StrategyName>,
    /// Mature.
    pub mature: Vec<StrategyName>,
    /// Pre-resolution.
    pub pre_resolution: Vec<StrategyName>,
    /// Lockout (must be empty: no new orders).
    pub lockout: Vec<StrategyName>,
}

/// `[lifecycle.regimes]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RegimePermissionsConfig {
    /// DEAD.
    pub dead: Vec<StrategyName>,
    /// LOW.
    pub low: Vec<StrategyName>,
    /// MEDIUM.
    pub medium: Vec<StrategyName>,
    /// HIGH.
    pub high: Vec<StrategyName>,
    /// EXTREME.
    pub extreme: Vec<StrategyName>,
}

/// `[allocator]`: capital tiers; share arrays are ordered straddle, arb, lag, mm, momentum,
/// in basis points of a market's capital.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AllocatorConfig {
    /// Capital at start, micro-dollars (the daily-loss and tier reference until equity moves).
    pub starting_capital_micro: i64,
    /// Lower edges of the tiers $5, $50, $500, $5k in micro-dollars (ascending); below the
    /// first nothing trades.
    pub tier_floors_micro: [i64; 4],
    /// Strategy shares of the three lower tiers.
    pub tier_shares_bps: [[u32; 5]; 3],
    /// Strategy shares of the top tier, per regime DEAD..EXTREME.
    pub regime_shares_bps: [[u32; 5]; 5],
}

/// `[risk]`: hard limits and the monitor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RiskConfig {
    /// Total exposure cap, basis points of capital.
    pub max_exposure_bps: u32,
    /// Largest single directional bet, basis points of capital.
    pub max_directional_bps: u32,
    /// Largest |limit price − mid|, micro-dollars.
    pub max_price_deviation_micro: i64,
    /// A book not updated for this long is stale, milliseconds.
    pub max_book_age_ms: u32,
    /// Daily loss above this share of the day's starting capital pauses, basis points.
    pub daily_loss_bps: u32,
    /// Length of the daily-loss pause, milliseconds.
    pub pause_ms: u32,
    /// Consecutive losing trades that halve size.
    pub loss_streak: u32,
    /// Size multiplier after a loss streak, basis points.
    pub streak_size_bps: u32,
    /// Trades the reduced size lasts.
    pub streak_trades: u32,
    /// Risk monitor period, milliseconds.
    pub monitor_interval_ms: u32,
    /// The hot thread's heartbeat unchanged this long is a hung thread, milliseconds.
    pub hot_stall_ms: u32,
    /// ATR at or above this multiple of its slow baseline is a spike (kill switch).
    pub atr_spike_ratio: f64,
    /// Smoothing of the ATR baseline per monitor tick (fraction).
    pub atr_baseline_alpha: f64,
}

/// `[strategy]`: parameters of the five strategies (strategy spec §4). Money is integer
/// micro-dollars, prices micro-units, sizes micro-shares; fractions are plain `f64`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StrategyConfig {
    /// The venue's minimum order size, micro-shares (5 shares); smaller intents are not made.
    pub min_order_shares_micro: i64,
    /// Order sizes are rounded down to a multiple of this, micro-shares.
    pub size_step_micro: i64,
    /// `[strategy.rebalance]`: imbalance handling of two-leg entries (straddle and arb).
    pub rebalance: RebalanceConfig,
    /// `[strategy.straddle]`.
    pub straddle: StraddleConfig,
    /// `[strategy.arb]`.
    pub arb: ArbStrategyConfig,
    /// `[strategy.lag]`.
    pub lag: LagConfig,
    /// `[strategy.mm]`.
    pub mm: MarketMakingConfig,
    /// `[strategy.momentum]`.
    pub momentum: MomentumStrategyConfig,
}

/// `[strategy.rebalance]`: what to do when one leg of a pair fills less than the other.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RebalanceConfig {
    /// A leg below this fraction of the other leg is an imbalance.
    pub min_fill_ratio: f64,
    /// Fill feedback is awaited this long after the pair is sent before judging it, ms.
    pub settle_ms: u64,
    /// Hold the excess leg when the bias points its way with more than this confidence.
    pub hold_bias_confidence: f64,
    /// An imbalance worth less than this (excess shares × their price) is accepted, micro-dollars.
    pub accept_imbalance_micro: i64,
    /// Rebalance orders tried per pair before the imbalance is left as it is.
    pub max_attempts: u32,
}

/// `[strategy.straddle]`: straddle + bias amplification.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StraddleConfig {
    /// Open when Up ask + Down ask + taker fees per share is below this, micro-dollars.
    pub max_pair_cost_micro: i64,
    /// Depth counted within this many cents of each ask.
    pub depth_cents: u32,
    /// Share of the strategy's capital one straddle may use.
    pub capital_fraction: f64,
    /// Phase 2: minimum bias confidence to watch for a dip.
    pub dip_min_confidence: f64,
    /// Phase 2: how long one dip watch lasts, ms.
    pub dip_window_ms: u64,
    /// Phase 2: the bounce off the low that confirms the dip, micro-dollars.
    pub dip_bounce_micro: i64,
    /// Phase 2: the low must be at least this far under the watch's start price, micro-dollars.
    pub dip_min_drop_micro: i64,
    /// Phase 2: buy at the low plus this, micro-dollars (rounded down to the tick).
    pub dip_offset_micro: i64,
    /// Phase 2: share of the strategy's capital the dip buy may use.
    pub dip_capital_fraction: f64,
    /// Phase 2: the dip buy costs at most this multiple of the straddle's locked profit.
    pub dip_profit_multiple: f64,
    /// Phase 2: depth counted within this many cents of the bias side's ask.
    pub dip_depth_cents: u32,
}

/// `[strategy.arb]`: pure arbitrage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ArbStrategyConfig {
    /// Below this capital no arb is sized, micro-dollars.
    pub min_capital_micro: i64,
    /// Capital tier upper bounds, micro-dollars (ascending): tier i applies below bound i.
    pub tier_bounds_micro: [i64; 4],
    /// Share of capital per arb in each tier (five tiers, the last above the last bound).
    pub tier_fractions: [f64; 5],
    /// Pause after a pair is settled before the next one, ms.
    pub cooldown_ms: u64,
}

/// `[strategy.lag]`: the Binance → Polymarket lag exploit.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LagConfig {
    /// Fraction of the Kelly bet staked.
    pub kelly_fraction: f64,
    /// Win probability at zero edge.
    pub win_prob_base: f64,
    /// Win probability added per unit of edge.
    pub win_prob_edge_slope: f64,
    /// Win probability cap.
    pub win_prob_max: f64,
    /// A side whose spread exceeds this is not traded near the end, micro-dollars.
    pub wide_spread_micro: i64,
    /// ... with fewer than this many seconds left.
    pub wide_spread_min_left_s: u64,
    /// HIGH volatility is not traded with fewer than this many seconds left.
    pub high_vol_min_left_s: u64,
    /// Minimum edge in the pre-resolution phase, micro-dollars.
    pub pre_resolution_min_edge_micro: i64,
    /// Pause after an entry on a market before the next, ms.
    pub cooldown_ms: u64,
}

/// `[strategy.mm]`: micro market-making.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MarketMakingConfig {
    /// Share of the strategy's capital quoted per side (before the regime multiplier).
    pub capital_fraction: f64,
    /// The half-spread widens over the last this many seconds.
    pub expiry_widen_s: u64,
    /// ... by up to this fraction (× (1 + fraction) at the end).
    pub expiry_widen_factor: f64,
    /// Inventory skew per unit of net inventory / (capital × `skew_capital_fraction`).
    pub skew_per_inventory: f64,
    /// Share of capital the net inventory is measured against.
    pub skew_capital_fraction: f64,
    /// Inventory skew clamp (price fraction).
    pub skew_max: f64,
    /// Pull quotes when Binance moved more than this in 1 s, percent.
    pub pull_move_pct: f64,
    /// Pull quotes in the last this many seconds.
    pub pull_last_s: u64,
    /// Pull quotes in HIGH volatility below this capital, micro-dollars.
    pub pull_high_vol_capital_micro: i64,
    /// Pull quotes when the book's spread is already below this, micro-dollars.
    pub pull_book_spread_micro: i64,
    /// Pull on a liquidation cascade: |liquidation bias input| at or above this.
    pub cascade_liquidation_input: f64,
    /// Widen when 5 s taker flow max(buy, sell) / min(buy, sell) exceeds this.
    pub flow_imbalance_widen: f64,
    /// Widening multiplier of the half-spread (flow imbalance, one-sided fills).
    pub widen_factor: f64,
    /// Fills remembered for the one-sided check (at most 32).
    pub fill_memory: u32,
    /// Extra skew (price fraction) away from the side all remembered fills were on.
    pub one_sided_skew: f64,
}

/// `[strategy.momentum]`: probability momentum capture.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MomentumStrategyConfig {
    /// Minimum |fair − Up price| to enter.
    pub min_divergence: f64,
    /// Share of the strategy's capital at unit multipliers.
    pub capital_fraction: f64,
    /// |divergence| that gives a size multiplier of 1.
    pub divergence_scale: f64,
    /// Divergence multiplier cap.
    pub divergence_cap: f64,
    /// |score| that gives a size multiplier of 1.
    pub score_scale: f64,
    /// Score multiplier cap.
    pub score_cap: f64,
    /// Hold to resolution (no entry, no exit) with fewer than this many seconds left.
    pub hold_last_s: u64,
    /// Maximum hold in 5-minute windows, seconds.
    pub max_hold_5m_s: u64,
    /// Maximum hold in 15-minute windows, seconds.
    pub max_hold_15m_s: u64,
    /// An entry with no fill after this long is forgotten, ms.
    pub entry_timeout_ms: u64,
}

/// `[alerts]`: operator alerts to Telegram and Discord. The Telegram bot token and the Discord
/// webhook URL are secrets and come only from the environment
/// (`SATTEBAAZ_TELEGRAM_BOT_TOKEN`, `SATTEBAAZ_DISCORD_WEBHOOK_URL`); a destination whose secret
/// is not set is not used.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AlertsConfig {
    /// Send alerts at all.
    pub enabled: bool,
    /// Telegram chat the bot writes to (numeric id or `@channel`); empty = no Telegram.
    pub telegram_chat_id: String,
    /// Telegram Bot API base URL (http/https); `/bot<token>/sendMessage` is appended.
    pub telegram_api_url: String,
    /// Discord base URL (http/https); the webhook URL's path is sent to this host.
    pub discord_base_url: String,
    /// Messages per destination per minute at most; more are dropped and counted.
    pub max_per_minute: u32,
    /// The same alert key within this many seconds is sent once; the rest are counted.
    pub dedup_window_s: u32,
    /// A feed connection down for this many seconds raises an alert.
    pub disconnect_alert_secs: u32,
    /// UTC hour (0..=23) of the daily summary.
    pub daily_summary_utc_hour: u32,
    /// Alerts waiting for the alert worker at most; more are dropped and counted.
    pub queue_capacity: u32,
    /// Deadline of one alert request (connect + response), milliseconds.
    pub request_timeout_ms: u32,
}

/// `[record]`: the raw-frame recorder (every inbound feed frame with its receive time, written
/// to gzip segments by the risk/telemetry thread; see docs/REPLAY.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecordConfig {
    /// Record every run (`--record <dir>` turns it on for one run).
    pub enabled: bool,
    /// Directory of the segments and their index (relative to the working directory).
    pub dir: PathBuf,
    /// Start a new segment once the current one holds this many compressed bytes.
    pub max_segment_bytes: u64,
    /// Start a new segment after this many seconds.
    pub max_segment_secs: u32,
    /// Size of the hot → risk byte ring, bytes (rounded up to a power of two).
    pub ring_bytes: u64,
}
