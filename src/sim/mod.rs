//! The venue simulator: serves venue protocols on loopback over TLS with a certificate it
//! generates, so the engine, the demo and the tests run with no exchange reachable.
//!
//! Implemented: the Binance side (spot combined streams; USD-M futures `/public` and `/market`
//! routes; spot REST klines over [`klines::KLINE_HISTORY`] minutes of seeded history) driven by
//! a seeded regime-switching price process, and the Polymarket side
//! ([`polymarket`]: market channel, RTDS with a Chainlink-like oracle, Gamma and CLOB REST) whose
//! Up/Down windows follow the same prices. Each service listens on its own loopback port, like
//! separate venue hosts. Fault injection per service through
//! [`ws_server::ServiceControl`]. The CLOB host is also a paper exchange ([`exchange`]): orders,
//! cancels, account data, the user channel and the heartbeat switch, with its own fault
//! injection ([`exchange::faults::ExchangeControl`]). The simulator runs on ordinary threads and may block; it is not
//! part of the engine's hot path.

pub mod bench_hooks;
pub mod binance;
pub mod certs;
pub mod exchange;
pub mod klines;
pub mod polymarket;
pub mod price;
pub mod rx_stamp;
pub mod tx_stamp;
pub mod ws_server;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use self::binance::{BinanceHubs, BinanceWorld};
use self::certs::SimCertificates;
use self::exchange::faults::ExchangeControl;
use self::exchange::ledger::LedgerSnapshot;
use self::exchange::user_ws::UserChannel;
use self::exchange::Exchange;
use self::polymarket::http::{Api, HttpService};
use self::polymarket::market_ws::MarketChannel;
use self::polymarket::rtds::RtdsProtocol;
use self::polymarket::{PolyHubs, PolySimOptions, PolyState, PolyWorld, SharedState};
use self::price::{asset_spec, AssetSpec};
use self::ws_server::WsService;

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Cert(#[from] certs::CertError),
    #[error("binding a simulator listener on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
    #[error("unknown asset {0:?} (the simulator knows btc, eth, sol, xrp)")]
    UnknownAsset(String),
    #[error("spawning a simulator thread: {0}")]
    Spawn(std::io::Error),
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Seed of every random process.
    pub seed: u64,
    /// Loopback address to bind (`127.0.0.1`).
    pub bind: String,
    /// Lower-case assets (`btc`, `eth`, ...).
    pub assets: Vec<String>,
    /// Where to write the CA certificate PEM.
    pub ca_file: PathBuf,
    /// Simulation step of the world thread.
    pub step: Duration,
}

/// A running simulator.
pub struct Simulator {
    /// Binance spot stream service (`wss://127.0.0.1:<port>/stream?streams=...`).
    pub binance_spot: WsService,
    /// Binance USD-M futures service (`/public/...` and `/market/...` routes).
    pub binance_futures: WsService,
    /// Polymarket CLOB market channel (`wss://127.0.0.1:<port>/ws/market`).
    pub polymarket_market: WsService,
    /// Polymarket RTDS (`wss://127.0.0.1:<port>`, root path).
    pub polymarket_rtds: WsService,
    /// Gamma REST (`https://127.0.0.1:<port>/events?slug=`).
    pub gamma: HttpService,
    /// CLOB REST market data (`/book`, `/tick-size`, `/clob-markets/<c>`, `/time`).
    pub clob: HttpService,
    /// The Polymarket world's state (markets, books), for tests and the demo.
    pub polymarket_state: SharedState,
    /// Polymarket CLOB user channel (`wss://127.0.0.1:<port>/ws/user`).
    pub polymarket_user: WsService,
    /// Exchange fault injection (restart/425 → post-only, 500, late answers, drops, failed
    /// trades).
    pub exchange_control: Arc<ExchangeControl>,
    /// Path of the CA certificate clients must trust.
    pub ca_file: PathBuf,
    /// Binance spot REST (`https://127.0.0.1:<port>/api/v3/klines`), history from
    /// [`klines::KLINE_HISTORY`] minutes before the start.
    pub binance_rest: HttpService,
    window_secs_override: Option<u32>,
    /// Measurement hooks: the Binance price hold flag, the latest model prices, injected trade
    /// ids.
    hooks: HookState,
    stop: Arc<AtomicBool>,
    world: Option<JoinHandle<()>>,
    exchange_timer: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Generate certificates, bind every service and start the world thread, with the default
    /// Polymarket markets (BTC 5m/15m, 15m for the other assets, real window lengths).
    pub fn start(opts: &SimOptions) -> Result<Simulator, SimError> {
        Self::start_with(opts, &PolySimOptions::default())
    }

    /// [`Simulator::start`] with explicit Polymarket options.
    pub fn start_with(opts: &SimOptions, poly: &PolySimOptions) -> Result<Simulator, SimError> {
        let specs: Vec<AssetSpec> = opts
            .assets
            .iter()
            .map(|a| {
                asset_spec(a)
                    .copied()
                    .ok_or_else(|| SimError::UnknownAsset(a.clone()))
            })
            .collect::<Result<_, _>>()?;
        let certs = SimCertificates::generate()?;
        certs.write_ca(&opts.ca_file)?;
        let stop = Arc::new(AtomicBool::new(false));
        let bind_err = |source| SimError::Bind {
            bind: opts.bind.clone(),
            source,
        };
        let binance_spot =
            WsService::start(&opts.bind, &[""], certs.server_config.clone(), stop.clone())
                .map_err(bind_err)?;
        let binance_futures = WsService::start(
            &opts.bind,
            &["/public", "/market"],
            certs.server_config.clone(),
            stop.clone(),
        )
        .map_err(bind_err)?;
        let hubs = BinanceHubs {
            spot: binance_spot.hub.clone(),
            futures_public: binance_futures.hub.clone(),
            futures_market: binance_futures.hub.clone(),
        };
        let mut world = BinanceWorld::new(&specs, opts.seed, hubs);
        let hooks = HookState {
            frozen: Arc::new(AtomicBool::new(false)),
            prices: Arc::new(std::sync::Mutex::new(vec![None; specs.len()])),
            specs: specs.clone(),
            next_trade_id: std::sync::atomic::AtomicU64::new(9_000_000_000_000),
        };
        world.set_freeze_flag(hooks.frozen.clone());
        let klines = world.attach_klines(klines::KLINE_HISTORY as u64, crate::clock::wall_ms());
        let binance_rest = HttpService::start_router(
            &opts.bind,
            Arc::new(move |req: &polymarket::http::HttpRequest| klines::route(req, &klines)),
            certs.server_config.clone(),
            stop.clone(),
        )
        .map_err(bind_err)?;
        let exchange_control = Arc::new(ExchangeControl::default());
        let polymarket_state: SharedState = Arc::new(std::sync::Mutex::new(PolyState {
            markets: Vec::new(),
            settlement: poly.settlement,
            now_ms: crate::clock::wall_ms(),
            exchange: Exchange::new(poly.exchange.clone(), exchange_control.clone()),
        }));
        let polymarket_market = WsService::start_protocol(
            &opts.bind,
            Arc::new(MarketChannel::new(polymarket_state.clone())),
            certs.server_config.clone(),
            stop.clone(),
        )
        .map_err(bind_err)?;
        let polymarket_user = WsService::start_protocol(
            &opts.bind,
            Arc::new(UserChannel::new(polymarket_state.clone())),
            certs.server_config.clone(),
            stop.clone(),
        )
        .map_err(bind_err)?;
        polymarket::lock(&polymarket_state)
            .exchange
            .attach_hubs(polymarket_market.hub.clone(), polymarket_user.hub.clone());
        let polymarket_rtds = WsService::start_protocol(
            &opts.bind,
            Arc::new(RtdsProtocol),
            certs.server_config.clone(),
            stop.clone(),
        )
        .map_err(bind_err)?;
        let gamma = HttpService::start(
            &opts.bind,
            Api::Gamma,
            polymarket_state.clone(),
            certs.server_config.clone(),
            stop.clone(),
        )
        .map_err(bind_err)?;
        let clob = HttpService::start(
            &opts.bind,
            Api::Clob,
            polymarket_state.clone(),
            certs.server_config.clone(),
            stop.clone(),
        )
        .map_err(bind_err)?;
        let mut poly_world = PolyWorld::new(
            &specs,
            opts.seed,
            poly.clone(),
            polymarket_state.clone(),
            PolyHubs {
                market: polymarket_market.hub.clone(),
                rtds: polymarket_rtds.hub.clone(),
            },
        );
        // List the first windows before any client can ask for them.
        poly_world.advance(0.0, crate::clock::wall_ms(), |a| world.price_of(a));
        let (stop2, step) = (stop.clone(), opts.step);
        let (prices2, specs2) = (hooks.prices.clone(), specs.clone());
        let handle = thread::Builder::new()
            .name("sim-world".into())
            .spawn(move || {
                let start = Instant::now();
                let mut t0 = 0.0;
                while !stop2.load(Ordering::Relaxed) {
                    thread::sleep(step);
                    let t1 = start.elapsed().as_secs_f64();
                    let now_ms = crate::clock::wall_ms();
                    world.advance(t0, t1, now_ms);
                    poly_world.advance(t1, now_ms, |a| world.price_of(a));
                    if let Ok(mut p) = prices2.lock() {
                        for (slot, spec) in p.iter_mut().zip(&specs2) {
                            *slot = world.price_of(spec.asset);
                        }
                    }
                    t0 = t1;
                }
            })
            .map_err(SimError::Spawn)?;
        // The exchange's timers (taker delay, GTD expiry, heartbeats, trade status) run on their
        // own short period so they do not depend on the world step.
        let (stop3, state3) = (stop.clone(), polymarket_state.clone());
        let exchange_timer = thread::Builder::new()
            .name("sim-exchange".into())
            .spawn(move || {
                while !stop3.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(5));
                    let now_ms = crate::clock::wall_ms();
                    let mut st = polymarket::lock(&state3);
                    let PolyState {
                        markets, exchange, ..
                    } = &mut *st;
                    exchange::engine::tick(exchange, markets, now_ms);
                }
            })
            .map_err(SimError::Spawn)?;
        Ok(Simulator {
            polymarket_user,
            exchange_control,
            exchange_timer: Some(exchange_timer),
            binance_spot,
            binance_futures,
            polymarket_market,
            polymarket_rtds,
            gamma,
            clob,
            polymarket_state,
            ca_file: opts.ca_file.clone(),
            binance_rest,
            hooks,
            window_secs_override: poly
                .window_secs_override
                .map(|s| u32::try_from(s.max(2)).unwrap_or(u32::MAX)),
            stop,
            world: Some(handle),
        })
    }

    /// `wss://` base URL of the Binance spot service.
    pub fn binance_spot_url(&self) -> String {
        format!("wss://127.0.0.1:{}", self.binance_spot.addr.port())
    }

    /// `wss://` URL of the futures `/public` route.
    pub fn binance_futures_public_url(&self) -> String {
        format!(
            "wss://127.0.0.1:{}/public",
            self.binance_futures.addr.port()
        )
    }

    /// `wss://` URL of the futures `/market` route.
    pub fn binance_futures_market_url(&self) -> String {
        format!(
            "wss://127.0.0.1:{}/market",
            self.binance_futures.addr.port()
        )
    }

    /// `https://` base URL of the Binance spot REST service (`/api/v3/klines`).
    pub fn binance_rest_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.binance_rest.addr.port())
    }

    /// `wss://` URL of the Polymarket market channel.
    pub fn polymarket_market_url(&self) -> String {
        format!(
            "wss://127.0.0.1:{}/ws/market",
            self.polymarket_market.addr.port()
        )
    }

    /// `wss://` URL of the Polymarket RTDS service.
    pub fn polymarket_rtds_url(&self) -> String {
        format!("wss://127.0.0.1:{}", self.polymarket_rtds.addr.port())
    }

    /// `https://` base URL of the Gamma API.
    pub fn gamma_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.gamma.addr.port())
    }

    /// `wss://` URL of the Polymarket user channel.
    pub fn polymarket_user_url(&self) -> String {
        format!(
            "wss://127.0.0.1:{}/ws/user",
            self.polymarket_user.addr.port()
        )
    }

    /// The exchange ledger of `address` (funder/maker; any case): balances, positions,
    /// reservations and fees paid, in micro-units.
    pub fn ledger_snapshot(&self, address: &str) -> LedgerSnapshot {
        polymarket::lock(&self.polymarket_state)
            .exchange
            .ledger_snapshot(address)
    }

    /// Register (as `GET /auth/derive-api-key` would) and return the API credentials of
    /// `address` for `nonce`, for tests that skip the L1 round trip.
    pub fn register_api_key(
        &self,
        address: &crate::exec::signing::address::Address,
        nonce: u64,
    ) -> exchange::auth::ApiCreds {
        let creds = exchange::auth::derive_creds(address, nonce);
        polymarket::lock(&self.polymarket_state)
            .exchange
            .keys
            .insert(
                creds.api_key.clone(),
                exchange::auth::KeyInfo {
                    address: *address,
                    creds: creds.clone(),
                },
            );
        creds
    }

    /// `https://` base URL of the CLOB REST API.
    pub fn clob_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.clob.addr.port())
    }

    /// The CA certificate file.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The simulated market window length when it overrides the real 300/900 s (as the
    /// Polymarket world applies it), `None` for real lengths.
    pub fn window_secs_override(&self) -> Option<u32> {
        self.window_secs_override
    }

    /// Hold the simulated Binance prices still (`true`) or let them move again (`false`).
    /// Trades and quotes go on at the held prices, the oracle follows them, and the Polymarket
    /// crowd keeps quoting (and replenishing) books around the same fair value; an injected
    /// trade ([`Simulator::inject_spot_trade`]) is then the only price move.
    pub fn freeze_prices(&self, frozen: bool) {
        self.hooks.frozen.store(frozen, Ordering::SeqCst);
    }

    /// The world's current model price of `asset` (USD), once the world thread has stepped.
    pub fn model_price(&self, asset: &str) -> Option<f64> {
        let i = self.hooks.specs.iter().position(|s| s.asset == asset)?;
        self.hooks.prices.lock().ok()?.get(i).copied().flatten()
    }

    /// Publish one spot `trade` frame of `asset` at `price_e8` (1e-8 USD) for `qty_e8` to every
    /// connection subscribed to `<symbol>@trade` now, and wait (up to `timeout`, yielding the
    /// CPU) until each has written it to its socket. Returns when that happened (see
    /// [`bench_hooks::Injected`]), `None` for an unknown asset, no subscriber, or a connection
    /// that did not write in time.
    pub fn inject_spot_trade(
        &self,
        asset: &str,
        price_e8: i64,
        qty_e8: i64,
        buyer_is_maker: bool,
        timeout: Duration,
    ) -> Option<bench_hooks::Injected> {
        let spec = self.hooks.specs.iter().find(|s| s.asset == asset)?;
        let id = self.hooks.next_trade_id.fetch_add(1, Ordering::Relaxed);
        let frame = binance::spot_trade_frame(
            &spec.symbol.to_ascii_uppercase(),
            id,
            price_e8,
            qty_e8,
            buyer_is_maker,
            crate::clock::wall_ms(),
        );
        let receipt = self
            .binance_spot
            .hub
            .inject(&format!("{}@trade", spec.symbol), Arc::from(frame));
        if receipt.connections() == 0 {
            return None;
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(start_ns) = receipt.written_ns() {
                return Some(bench_hooks::Injected {
                    start_ns,
                    tx_ns: receipt.tx_ns(),
                });
            }
            if Instant::now() > deadline {
                return None;
            }
            // Yield rather than spin: the connection threads may share this CPU.
            thread::yield_now();
        }
    }

    /// The log of order requests (`POST /order`, `POST /orders`) read by the simulated CLOB:
    /// enable it, then drain it (see [`bench_hooks::OrderArrivalLog`]).
    pub fn order_arrivals(&self) -> &bench_hooks::OrderArrivalLog {
        &self.clob.control.order_arrivals
    }

    /// Stop every thread and wait for the world and accept threads.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.world.take() {
            let _ = h.join();
        }
        if let Some(h) = self.exchange_timer.take() {
            let _ = h.join();
        }
        self.polymarket_user.join();
        self.binance_spot.join();
        self.binance_futures.join();
        self.polymarket_market.join();
        self.polymarket_rtds.join();
        self.gamma.join();
        self.clob.join();
        self.binance_rest.join();
    }
}

/// What the measurement hooks share with the world thread.
struct HookState {
    frozen: Arc<AtomicBool>,
    prices: Arc<std::sync::Mutex<Vec<Option<f64>>>>,
    specs: Vec<AssetSpec>,
    next_trade_id: std::sync::atomic::AtomicU64,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop();
    }
}
