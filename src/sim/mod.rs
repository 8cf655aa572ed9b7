//! The venue simulator: serves venue protocols on loopback over TLS with a certificate it
//! generates, so the engine, the demo and the tests run with no exchange reachable.
//!
//! Implemented so far: the Binance side (spot combined streams; USD-M futures `/public` and
//! `/market` routes) driven by a seeded regime-switching price process. Each service listens on
//! its own loopback port, like separate venue hosts. Fault injection per service through
//! [`ws_server::ServiceControl`]. The simulator runs on ordinary threads and may block; it is not
//! part of the engine's hot path.

pub mod binance;
pub mod certs;
pub mod price;
pub mod ws_server;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use self::binance::{BinanceHubs, BinanceWorld};
use self::certs::SimCertificates;
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
    /// Path of the CA certificate clients must trust.
    pub ca_file: PathBuf,
    stop: Arc<AtomicBool>,
    world: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Generate certificates, bind every service and start the world thread.
    pub fn start(opts: &SimOptions) -> Result<Simulator, SimError> {
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
        let (stop2, step) = (stop.clone(), opts.step);
        let handle = thread::Builder::new()
            .name("sim-world".into())
            .spawn(move || {
                let start = Instant::now();
                let mut t0 = 0.0;
                while !stop2.load(Ordering::Relaxed) {
                    thread::sleep(step);
                    let t1 = start.elapsed().as_secs_f64();
                    world.advance(t0, t1, crate::clock::wall_ms());
                    t0 = t1;
                }
            })
            .map_err(SimError::Spawn)?;
        Ok(Simulator {
            binance_spot,
            binance_futures,
            ca_file: opts.ca_file.clone(),
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

    /// The CA certificate file.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Stop every thread and wait for the world and accept threads.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.world.take() {
            let _ = h.join();
        }
        self.binance_spot.join();
        self.binance_futures.join();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop();
    }
}
