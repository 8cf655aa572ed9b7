//! The engine's start-up candle warm-up: on the main thread, before the engine threads exist,
//! fetch `signals.warmup_candles` closed 1-minute klines per configured asset from the Binance
//! spot REST URL over one blocking keep-alive client
//! ([`crate::feeds::binance::warmup::warm_assets`]); the histories then go to the hot thread
//! through `HotSetup`, which seeds each asset's spot candles before its loop.
//!
//! Failure policy (never silent: every asset is either seeded or listed as cold):
//! * `signals.warmup_required = false` (shipped): an asset whose warm-up failed starts cold. A
//!   warning naming the asset and the reason is printed at once and the asset is counted in the
//!   run summary ([`WarmupSummary::failures`]); the live feed warms it after `atr_period`
//!   minutes, as without warm-up. Trading strategies that need a regime stay silent until then.
//! * `signals.warmup_required = true`: any failure stops start-up with [`EngineError::Warmup`]
//!   naming the asset and the reason.
//!
//! `warmup_candles = 0` turns it off (nothing is fetched, nothing reported as failed).

use std::sync::Arc;
use std::time::Duration;

use super::EngineError;
use crate::config::Config;
use crate::discovery::fetch::connect_url;
use crate::discovery::FetchConfig;
use crate::feeds::binance::records::Asset;
use crate::feeds::binance::warmup::{warm_assets, AssetHistory};

/// What the warm-up did, for the run summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarmupSummary {
    /// Closed candles asked for per asset (0 = warm-up off).
    pub requested: u32,
    /// Where they were asked for.
    pub url: String,
    /// Closed candles fetched per asset that was warmed.
    pub fetched: Vec<(Asset, usize)>,
    /// Assets that started cold, with the reason.
    pub failures: Vec<(Asset, String)>,
}

/// Fetch the configured history for `assets` from `url` (blocking; start-up only). Returns the
/// histories to seed and the summary, or the first failure when `signals.warmup_required`.
pub fn warm_up(
    cfg: &Config,
    url: &str,
    assets: &[Asset],
    tls: &Arc<rustls::ClientConfig>,
) -> Result<(Vec<AssetHistory>, WarmupSummary), EngineError> {
    let requested = cfg.signals.warmup_candles;
    let mut summary = WarmupSummary {
        requested,
        url: url.to_string(),
        ..WarmupSummary::default()
    };
    if requested == 0 || assets.is_empty() {
        return Ok((Vec::new(), summary));
    }
    let fetch_config = FetchConfig {
        connect_timeout: Duration::from_millis(u64::from(cfg.net.connect_timeout_ms)),
        request_timeout: Duration::from_millis(u64::from(cfg.net.http.request_timeout_ms)),
        max_body_bytes: cfg.net.http.max_body_bytes as usize,
    };
    let backoff = super::ws_options(cfg)?.backoff;
    let report = match connect_url(url, tls.clone(), fetch_config, backoff) {
        Ok(mut fetch) => warm_assets(&mut fetch, assets, requested, crate::clock::wall_ms),
        Err(e) => crate::feeds::binance::warmup::WarmupReport {
            requested,
            histories: Vec::new(),
            failures: assets
                .iter()
                .map(|a| (*a, format!("client for {url}: {e}")))
                .collect(),
        },
    };
    summary.fetched = report
        .histories
        .iter()
        .map(|h| (h.asset, h.candles.len()))
        .collect();
    summary.failures = report.failures;
    if let Some((asset, reason)) = summary.failures.first() {
        if cfg.signals.warmup_required {
            return Err(EngineError::Warmup {
                asset: asset.short_name(),
                reason: reason.clone(),
            });
        }
    }
    for (asset, reason) in &summary.failures {
        eprintln!(
            "warning: {} candle warm-up failed, starting cold (no regime for the first {} \
             minutes): {reason}",
            asset.short_name(),
            cfg.signals.atr_period
        );
    }
    Ok((report.histories, summary))
}
