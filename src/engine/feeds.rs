//! Which venue connections the engine opens and what each subscribes to: for every Binance
//! endpoint (spot, futures `/public`, futures `/market`) the combined-stream URL carrying the
//! default streams of every configured asset. Built once at start-up (allocation allowed).

use crate::config::Config;
use crate::feeds::binance::records::{Asset, Venue};
use crate::feeds::binance::streams::{write_stream_name, Endpoint as BinanceEndpoint};

/// Errors planning the feed connections.
#[derive(Debug, thiserror::Error)]
pub enum FeedPlanError {
    #[error("stream name for {asset:?} on {endpoint:?} does not fit: {reason}")]
    StreamName {
        asset: Asset,
        endpoint: BinanceEndpoint,
        reason: String,
    },
}

/// One planned WebSocket feed connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPlan {
    /// Which Binance endpoint (decides the parser's venue).
    pub endpoint: BinanceEndpoint,
    /// Venue the records belong to.
    pub venue: Venue,
    /// Full URL including `/stream?streams=...`.
    pub url: String,
    /// Human label for tables and logs.
    pub label: &'static str,
}

/// Binance base URLs, as configured or pointed at the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinanceUrls {
    pub spot: String,
    pub futures_public: String,
    pub futures_market: String,
    /// Spot REST base URL (klines for the start-up candle warm-up).
    pub spot_rest: String,
}

impl BinanceUrls {
    /// The URLs in the configuration.
    pub fn from_config(cfg: &Config) -> Self {
        BinanceUrls {
            spot: cfg.venues.binance.spot_ws_url.clone(),
            futures_public: cfg.venues.binance.futures_public_ws_url.clone(),
            futures_market: cfg.venues.binance.futures_market_ws_url.clone(),
            spot_rest: cfg.venues.binance.spot_rest_url.clone(),
        }
    }
}

/// Polymarket endpoints, as configured or pointed at the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolymarketUrls {
    /// CLOB market channel (`.../ws/market`).
    pub market_ws: String,
    /// RTDS (Chainlink prices).
    pub rtds_ws: String,
    /// Gamma REST base URL.
    pub gamma: String,
    /// CLOB REST base URL.
    pub clob: String,
}

impl PolymarketUrls {
    /// The URLs in the configuration.
    pub fn from_config(cfg: &Config) -> Self {
        let p = &cfg.venues.polymarket;
        PolymarketUrls {
            market_ws: p.market_ws_url.clone(),
            rtds_ws: p.rtds_ws_url.clone(),
            gamma: p.gamma_url.clone(),
            clob: p.clob_url.clone(),
        }
    }
}

/// The distinct assets of the configured markets, in config order.
pub fn configured_assets(cfg: &Config) -> Vec<Asset> {
    let mut out: Vec<Asset> = Vec::new();
    for m in &cfg.markets {
        if let Some(a) = Asset::from_short_name(m.asset.as_str()) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

/// Plan the three Binance connections for `assets`.
pub fn plan_binance(urls: &BinanceUrls, assets: &[Asset]) -> Result<Vec<FeedPlan>, FeedPlanError> {
    let endpoints = [
        (BinanceEndpoint::Spot, urls.spot.as_str(), "binance spot"),
        (
            BinanceEndpoint::FuturesPublic,
            urls.futures_public.as_str(),
            "binance futures /public",
        ),
        (
            BinanceEndpoint::FuturesMarket,
            urls.futures_market.as_str(),
            "binance futures /market",
        ),
    ];
    let mut plans = Vec::with_capacity(endpoints.len());
    for (endpoint, base, label) in endpoints {
        let mut url = String::with_capacity(base.len() + 256);
        url.push_str(base.trim_end_matches('/'));
        url.push_str("/stream?streams=");
        let mut first = true;
        for &asset in assets {
            for &kind in endpoint.default_kinds() {
                let mut name = [0u8; 64];
                let n = write_stream_name(&mut name, asset, kind).map_err(|e| {
                    FeedPlanError::StreamName {
                        asset,
                        endpoint,
                        reason: e.to_string(),
                    }
                })?;
                if !first {
                    url.push('/');
                }
                first = false;
                url.push_str(&String::from_utf8_lossy(&name[..n]));
            }
        }
        plans.push(FeedPlan {
            endpoint,
            venue: endpoint.venue(),
            url,
            label,
        });
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_binance_combined_urls() {
        let urls = BinanceUrls {
            spot: "wss://stream.binance.com:9443".into(),
            futures_public: "wss://fstream.binance.com/public".into(),
            futures_market: "wss://fstream.binance.com/market/".into(),
            spot_rest: "https://api.binance.com".into(),
        };
        let plans = plan_binance(&urls, &[Asset::Btc, Asset::Eth]).unwrap();
        assert_eq!(plans.len(), 3);
        assert_eq!(
            plans[0].url,
            "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/btcusdt@bookTicker/ethusdt@trade/ethusdt@bookTicker"
        );
        assert_eq!(
            plans[1].url,
            "wss://fstream.binance.com/public/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker"
        );
        assert!(plans[2]
            .url
            .starts_with("wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade/"));
        assert_eq!(plans[2].venue, Venue::Futures);
    }
}
