//! Run modes (`engine.mode`) and the checks that gate them.
//!
//! - `paper`: the engine against the embedded simulator; orders go to the simulated CLOB with a
//!   generated key registered there. Nothing leaves the machine.
//! - `shadow`: real feeds and discovery; orders are built, risk-checked and signed but never
//!   sent, and logged by the risk thread as would-be orders.
//! - `live`: real orders. Refused unless API credentials are available (given or derivable from
//!   the private key), the CLOB answers `GET /version` with the protocol version this engine
//!   speaks, and `engine.live_confirmed = true`.
//!
//! Invariants: every refusal is a distinct [`ModeError`] variant with a message naming what to
//! fix; the checks never print or log a secret.

use crate::config::secrets::Secrets;
use crate::config::{Config, EngineMode};

/// The CLOB protocol version this engine speaks (`GET /version`).
pub const CLOB_PROTOCOL_VERSION: u64 = 2;

/// Why a mode refuses to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    #[error(
        "live mode needs a wallet key: set SATTEBAAZ_PRIVATE_KEY or SATTEBAAZ_PRIVATE_KEY_FILE"
    )]
    NoPrivateKey,
    #[error(
        "live mode needs engine.live_confirmed = true in the configuration (a second switch \
         against trading real money by accident)"
    )]
    NotConfirmed,
    #[error("live mode: the CLOB at {url} is not reachable: {reason}")]
    ClobUnreachable { url: String, reason: String },
    #[error(
        "live mode: the CLOB at {url} speaks protocol version {found}; this engine needs \
         {CLOB_PROTOCOL_VERSION}"
    )]
    WrongVersion { url: String, found: u64 },
    #[error("live mode: no API credentials given and deriving them failed: {0}")]
    Credentials(String),
}

/// What the live preflight found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LivePreflight {
    /// API credentials were given in the environment (otherwise they are derived at start-up).
    pub credentials_given: bool,
    /// The CLOB's `GET /version`.
    pub clob_version: u64,
}

/// The checks of live mode, in the order an operator fixes them: confirmation, key, CLOB
/// reachable and speaking version 2. `probe_version` asks the CLOB for `GET /version`
/// (blocking; called only after the cheap checks pass). Other modes pass without probing.
pub fn live_preflight(
    cfg: &Config,
    secrets: &Secrets,
    clob_url: &str,
    probe_version: impl FnOnce() -> Result<u64, String>,
) -> Result<Option<LivePreflight>, ModeError> {
    if cfg.engine.mode != EngineMode::Live {
        return Ok(None);
    }
    if !cfg.engine.live_confirmed {
        return Err(ModeError::NotConfirmed);
    }
    if secrets.private_key.is_none() {
        return Err(ModeError::NoPrivateKey);
    }
    let version = probe_version().map_err(|reason| ModeError::ClobUnreachable {
        url: clob_url.to_string(),
        reason,
    })?;
    if version != CLOB_PROTOCOL_VERSION {
        return Err(ModeError::WrongVersion {
            url: clob_url.to_string(),
            found: version,
        });
    }
    Ok(Some(LivePreflight {
        credentials_given: secrets.api.is_some(),
        clob_version: version,
    }))
}

/// `GET /version` against `clob_url` over a fresh blocking connection (start-up only).
pub fn probe_clob_version(
    clob_url: &str,
    tls: std::sync::Arc<rustls::ClientConfig>,
    timeout: std::time::Duration,
) -> Result<u64, String> {
    let config = crate::exec::rest::blocking::BlockingConfig {
        connect_timeout: timeout,
        request_timeout: timeout,
        ..Default::default()
    };
    let backoff = crate::net::backoff::BackoffPolicy::new(timeout, 2.0, timeout, 0.0)
        .map_err(|e| e.to_string())?;
    let mut clob = crate::exec::rest::blocking::connect(clob_url, tls, None, config, backoff)
        .map_err(|e| e.to_string())?;
    clob.version().map_err(|e| e.to_string())
}

/// Why `sattebaaz run` stopped before or while running.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Mode(#[from] ModeError),
    #[error("{0}")]
    Engine(#[from] super::EngineError),
    #[error("starting the simulator: {0}")]
    Sim(String),
    #[error("signing key: {0}")]
    Key(String),
    #[error("API credentials: {0}")]
    Keys(String),
}

/// How `sattebaaz run` runs, besides the configuration.
pub struct RunOptions {
    pub duration: Option<std::time::Duration>,
    pub live_table: bool,
    pub poll_mode: Option<crate::config::PollMode>,
    /// The decider; `None` runs the [`super::brain::TradingBrain`] (all five strategies, the
    /// orchestrator and the pre-trade gate) with the configuration's parameters.
    pub decider: Option<Box<dyn super::trading::Decider + Send>>,
}

/// What a run produced.
pub struct RunOutcome {
    pub summary: super::EngineSummary,
    /// The trading report text (per strategy, P&L, ledger verdict in paper mode).
    pub report: Option<String>,
    /// Paper mode: the tracker matched the simulator's ledger exactly.
    pub ledger_exact: Option<bool>,
}

fn signer_from(
    secrets: &Secrets,
) -> Result<Option<crate::exec::signing::signer::EoaSigner>, RunError> {
    match &secrets.private_key {
        Some(k) => {
            let bytes: zeroize::Zeroizing<[u8; 32]> =
                zeroize::Zeroizing::new(k.secret_key().to_bytes().into());
            crate::exec::signing::signer::EoaSigner::from_bytes(&bytes)
                .map(Some)
                .map_err(|e| RunError::Key(e.to_string()))
        }
        None => Ok(None),
    }
}

fn generated_signer() -> Result<crate::exec::signing::signer::EoaSigner, RunError> {
    use rand::RngCore;
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    loop {
        rand::rng().fill_bytes(bytes.as_mut());
        if let Ok(s) = crate::exec::signing::signer::EoaSigner::from_bytes(&bytes) {
            return Ok(s);
        }
    }
}

fn blocking_config(cfg: &Config) -> crate::exec::rest::blocking::BlockingConfig {
    crate::exec::rest::blocking::BlockingConfig {
        connect_timeout: std::time::Duration::from_millis(u64::from(cfg.net.connect_timeout_ms)),
        request_timeout: std::time::Duration::from_millis(u64::from(
            cfg.net.http.request_timeout_ms,
        )),
        max_body_bytes: cfg.net.http.max_body_bytes as usize,
    }
}

/// `sattebaaz run`: the configured `engine.mode`.
///
/// - paper: the embedded simulator; a generated key registered at its CLOB; orders sent to it;
///   the report compares the tracker with the simulator's ledger.
/// - shadow: the configured venues; orders signed with the configured key (or a throwaway one:
///   nothing is sent) and logged by the risk thread.
/// - live: [`live_preflight`], credentials from the environment or derived via L1, orders sent.
pub fn run(cfg: &Config, secrets: &Secrets, mut opts: RunOptions) -> Result<RunOutcome, RunError> {
    use super::{run_trading, EngineOptions, PlanOutlet, TradingPlan, VenuePlan};
    use crate::exec::signing::order::SignatureType;
    let risk_shared = std::sync::Arc::new(crate::risk::state::RiskShared::new());
    let decider = opts.decider.take().unwrap_or_else(|| {
        Box::new(super::brain::TradingBrain::new(
            cfg,
            cfg.discovery.max_markets as usize,
            risk_shared.clone(),
        ))
    });
    let clob_url = cfg.venues.polymarket.clob_url.clone();
    match cfg.engine.mode {
        EngineMode::Paper => {
            let sim_options = crate::sim::SimOptions {
                seed: cfg.sim.seed,
                bind: cfg.sim.bind.to_string(),
                assets: super::feeds::configured_assets(cfg)
                    .iter()
                    .map(|a| a.short_name().to_string())
                    .collect(),
                // Per process: two paper runs sharing a run directory must not trust each
                // other's simulator certificate.
                ca_file: cfg
                    .engine
                    .run_dir
                    .join(format!("sim-ca-{}.pem", std::process::id())),
                step: std::time::Duration::from_millis(5),
            };
            let window = cfg.sim.window_secs_override;
            let poly = crate::sim::polymarket::PolySimOptions {
                window_secs_override: (window != 0).then_some(u64::from(window)),
                ..crate::sim::polymarket::PolySimOptions::default()
            };
            let mut sim = crate::sim::Simulator::start_with(&sim_options, &poly)
                .map_err(|e| RunError::Sim(e.to_string()))?;
            let signer = generated_signer()?;
            let address = signer.address();
            let address_text = address.to_checksum_string();
            let registered = sim.register_api_key(&address, 0);
            let start = sim.ledger_snapshot(&address_text);
            let engine_opts = EngineOptions {
                duration: opts.duration,
                live_table: opts.live_table,
                poll_mode: opts.poll_mode,
                ..EngineOptions::against_simulator(&sim)
            };
            let plan = TradingPlan {
                decider,
                signer,
                funder: None,
                signature_type: SignatureType::Eoa,
                outlet: PlanOutlet::Venue(VenuePlan {
                    user_ws_url: sim.polymarket_user_url(),
                    creds: crate::exec::rest::responses::ApiKeyCreds {
                        api_key: registered.api_key.clone(),
                        secret: registered.secret.clone(),
                        passphrase: registered.passphrase.clone(),
                    },
                }),
                kill: None,
                shared: risk_shared.clone(),
                redeems_at_resolution: true,
                collateral_micros: start.collateral,
            };
            let result = run_trading(cfg, engine_opts, Some(plan));
            let ledger = sim.ledger_snapshot(&address_text);
            let mids = sim_mids(cfg, &sim);
            sim.stop();
            let summary = result?;
            let mut ledger_exact = None;
            let report = summary.hot.trading.as_ref().map(|t| {
                let cmp = super::reconcile::compare_with_ledger(t.tracker.positions(), &ledger);
                ledger_exact = Some(cmp.exact());
                super::trading_report::render(
                    t,
                    true,
                    start.collateral,
                    &|token| mids.iter().find(|(k, _)| k == token).map(|(_, m)| *m),
                    Some(&cmp),
                )
            });
            Ok(RunOutcome {
                summary,
                report,
                ledger_exact,
            })
        }
        EngineMode::Shadow => {
            let signer = match signer_from(secrets)? {
                Some(s) => s,
                None => generated_signer()?,
            };
            let plan = TradingPlan {
                decider,
                signer,
                funder: None,
                signature_type: SignatureType::Eoa,
                outlet: PlanOutlet::Shadow,
                kill: None,
                shared: risk_shared.clone(),
                redeems_at_resolution: false,
                collateral_micros: 0,
            };
            let summary = run_trading(cfg, configured_options(cfg, &opts), Some(plan))?;
            let report = summary
                .hot
                .trading
                .as_ref()
                .map(|t| super::trading_report::render(t, false, 0, &|_| None, None));
            Ok(RunOutcome {
                summary,
                report,
                ledger_exact: None,
            })
        }
        EngineMode::Live => {
            let extra_ca = cfg.net.tls_extra_ca_path().map(|p| p.to_path_buf());
            let tls = crate::net::tls::client_config(extra_ca.as_deref())
                .map_err(super::EngineError::from)?;
            live_preflight(cfg, secrets, &clob_url, || {
                probe_clob_version(
                    &clob_url,
                    tls.clone(),
                    std::time::Duration::from_millis(u64::from(cfg.net.connect_timeout_ms)),
                )
            })?;
            let signer = signer_from(secrets)?.ok_or(ModeError::NoPrivateKey)?;
            let creds = match &secrets.api {
                Some(a) => crate::exec::rest::responses::ApiKeyCreds {
                    api_key: a.api_key.expose().to_string(),
                    secret: a.secret.expose().to_string(),
                    passphrase: a.passphrase.expose().to_string(),
                },
                None => {
                    let backoff = super::ws_options(cfg)?.backoff;
                    let mut clob = crate::exec::rest::blocking::connect(
                        &clob_url,
                        tls.clone(),
                        None,
                        blocking_config(cfg),
                        backoff,
                    )
                    .map_err(|e| ModeError::Credentials(e.to_string()))?;
                    crate::exec::keys::derive_or_create(&mut clob, &signer, 0)
                        .map_err(|e| ModeError::Credentials(e.to_string()))?
                        .0
                }
            };
            let plan = TradingPlan {
                decider,
                signer,
                funder: None,
                signature_type: SignatureType::Eoa,
                outlet: PlanOutlet::Venue(VenuePlan {
                    user_ws_url: cfg.venues.polymarket.user_ws_url.clone(),
                    creds,
                }),
                kill: None,
                shared: risk_shared.clone(),
                redeems_at_resolution: false,
                collateral_micros: 0,
            };
            let summary = run_trading(cfg, configured_options(cfg, &opts), Some(plan))?;
            let report = summary
                .hot
                .trading
                .as_ref()
                .map(|t| super::trading_report::render(t, false, 0, &|_| None, None));
            Ok(RunOutcome {
                summary,
                report,
                ledger_exact: None,
            })
        }
    }
}

fn configured_options(cfg: &Config, opts: &RunOptions) -> super::EngineOptions {
    super::EngineOptions {
        binance: super::feeds::BinanceUrls::from_config(cfg),
        polymarket: Some(super::PolymarketUrls::from_config(cfg)),
        extra_ca: None,
        poll_mode: opts.poll_mode,
        duration: opts.duration,
        live_table: opts.live_table,
        window_secs_override: None,
    }
}

/// The simulator CLOB's midpoint of every token its ledger knows (start-up style blocking
/// queries, after the run).
fn sim_mids(cfg: &Config, sim: &crate::sim::Simulator) -> Vec<([u8; 32], i64)> {
    let Ok(tls) = crate::net::tls::client_config(Some(sim.ca_file())) else {
        return Vec::new();
    };
    let Ok(backoff) = super::ws_options(cfg).map(|o| o.backoff) else {
        return Vec::new();
    };
    let Ok(mut clob) = crate::exec::rest::blocking::connect(
        &sim.clob_url(),
        tls,
        None,
        blocking_config(cfg),
        backoff,
    ) else {
        return Vec::new();
    };
    let tokens: Vec<String> = {
        let st = crate::sim::polymarket::lock(&sim.polymarket_state);
        let mut t: Vec<String> = Vec::new();
        for o in st.exchange.orders.values() {
            if !t.contains(&o.token_id) {
                t.push(o.token_id.clone());
            }
        }
        t
    };
    tokens
        .iter()
        .filter_map(|t| {
            let id = crate::exec::signing::order::TokenId::parse(t).ok()?;
            let mid = clob.midpoint(t).ok()?;
            Some((*id.word(), i64::try_from(mid.0).ok()?))
        })
        .collect()
}
