//! The simulated asset price process: geometric Brownian motion whose volatility switches between
//! regimes (a Markov chain: calm, normal, volatile) with occasional jumps. Seeded, so a run can be
//! repeated. The model is statistics and runs in f64; every price that leaves the simulator is
//! quantised to the venue's integer tick grid.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Volatility regime of the simulated market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    Calm,
    Normal,
    Volatile,
}

impl Regime {
    /// Multiplier on the asset's base annual volatility.
    pub fn vol_multiplier(self) -> f64 {
        match self {
            Regime::Calm => 0.5,
            Regime::Normal => 1.0,
            Regime::Volatile => 2.5,
        }
    }
}

/// Static description of one simulated asset.
#[derive(Debug, Clone, Copy)]
pub struct AssetSpec {
    /// Lower-case asset name (`btc`).
    pub asset: &'static str,
    /// Binance symbol, lower case (`btcusdt`).
    pub symbol: &'static str,
    /// Starting price in USD.
    pub start_price: f64,
    /// Base annualised volatility (0.55 = 55%).
    pub annual_vol: f64,
    /// Spot price tick in units of 1e-8 USD (0.01 USD = 1_000_000).
    pub spot_tick_e8: i64,
    /// Futures price tick in units of 1e-8 USD.
    pub futures_tick_e8: i64,
    /// Typical trade size in units of 1e-8 of the base asset.
    pub typical_qty_e8: i64,
}

/// The assets the simulator knows, with realistic ticks and volatilities.
pub const ASSETS: [AssetSpec; 4] = [
    AssetSpec {
        asset: "btc",
        symbol: "btcusdt",
        start_price: 65_000.0,
        annual_vol: 0.55,
        spot_tick_e8: 1_000_000,
        futures_tick_e8: 10_000_000,
        typical_qty_e8: 2_000_000,
    },
    AssetSpec {
        asset: "eth",
        symbol: "ethusdt",
        start_price: 3_200.0,
        annual_vol: 0.70,
        spot_tick_e8: 1_000_000,
        futures_tick_e8: 1_000_000,
        typical_qty_e8: 30_000_000,
    },
    AssetSpec {
        asset: "sol",
        symbol: "solusdt",
        start_price: 150.0,
        annual_vol: 0.95,
        spot_tick_e8: 1_000_000,
        futures_tick_e8: 1_000_000,
        typical_qty_e8: 500_000_000,
    },
    AssetSpec {
        asset: "xrp",
        symbol: "xrpusdt",
        start_price: 0.60,
        annual_vol: 0.85,
        spot_tick_e8: 10_000,
        futures_tick_e8: 10_000,
        typical_qty_e8: 50_000_000_000,
    },
];

/// Look up an asset by its lower-case name.
pub fn asset_spec(asset: &str) -> Option<&'static AssetSpec> {
    ASSETS.iter().find(|a| a.asset == asset)
}

const SECONDS_PER_YEAR: f64 = 365.0 * 24.0 * 3600.0;

/// One asset's evolving price.
pub struct PriceProcess {
    spec: AssetSpec,
    price: f64,
    regime: Regime,
    rng: StdRng,
}

impl PriceProcess {
    /// A process for `spec`, seeded.
    pub fn new(spec: AssetSpec, seed: u64) -> Self {
        PriceProcess {
            spec,
            price: spec.start_price,
            regime: Regime::Normal,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Current price in USD (model value, not yet on a tick).
    pub fn price(&self) -> f64 {
        self.price
    }

    /// Current regime.
    pub fn regime(&self) -> Regime {
        self.regime
    }

    /// The asset this process simulates.
    pub fn spec(&self) -> &AssetSpec {
        &self.spec
    }

    /// Access to the process's seeded generator (for trade arrivals and sizes).
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// Advance by `dt` seconds: maybe switch regime, diffuse, maybe jump.
    pub fn step(&mut self, dt: f64) -> f64 {
        // Regime switching: mean stay ~60 s calm/normal, ~20 s volatile.
        let leave_rate = match self.regime {
            Regime::Calm | Regime::Normal => 1.0 / 60.0,
            Regime::Volatile => 1.0 / 20.0,
        };
        if self.rng.random::<f64>() < leave_rate * dt {
            let u = self.rng.random::<f64>();
            self.regime = match self.regime {
                Regime::Calm => {
                    if u < 0.8 {
                        Regime::Normal
                    } else {
                        Regime::Volatile
                    }
                }
                Regime::Normal => {
                    if u < 0.5 {
                        Regime::Calm
                    } else {
                        Regime::Volatile
                    }
                }
                Regime::Volatile => Regime::Normal,
            };
        }
        let sigma = self.spec.annual_vol * self.regime.vol_multiplier();
        let z = standard_normal(&mut self.rng);
        let diffusion = sigma * (dt / SECONDS_PER_YEAR).sqrt() * z;
        // Jumps: about one every 5 minutes, ~0.15% typical size.
        let jump = if self.rng.random::<f64>() < dt / 300.0 {
            0.0015 * standard_normal(&mut self.rng)
        } else {
            0.0
        };
        self.price *= (diffusion + jump - 0.5 * sigma * sigma * dt / SECONDS_PER_YEAR).exp();
        self.price
    }
}

/// Quantise a model price to an integer multiple of `tick_e8` (units of 1e-8), at least one tick.
pub fn to_ticks_e8(price: f64, tick_e8: i64) -> i64 {
    let ticks = (price * 1e8 / tick_e8 as f64).round() as i64;
    ticks.max(1) * tick_e8
}

/// A standard normal draw (Box-Muller).
pub fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// An exponential inter-arrival time with the given rate (events per second).
pub fn exponential(rng: &mut StdRng, rate: f64) -> f64 {
    let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    -u.ln() / rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_path() {
        let mut a = PriceProcess::new(ASSETS[0], 7);
        let mut b = PriceProcess::new(ASSETS[0], 7);
        for _ in 0..1000 {
            assert_eq!(a.step(0.01).to_bits(), b.step(0.01).to_bits());
        }
    }

    #[test]
    fn volatility_is_near_the_spec() {
        // Realised annualised vol over a simulated day lands within a factor of the regimes.
        let mut p = PriceProcess::new(ASSETS[0], 11);
        let dt = 1.0;
        let mut last = p.price();
        let mut sum_sq = 0.0;
        let n = 86_400;
        for _ in 0..n {
            let now = p.step(dt);
            let r = (now / last).ln();
            sum_sq += r * r;
            last = now;
        }
        let ann = (sum_sq / n as f64 * SECONDS_PER_YEAR).sqrt();
        assert!(
            ann > 0.55 * 0.5 && ann < 0.55 * 2.5 * 1.5,
            "annualised vol {ann}"
        );
    }

    #[test]
    fn quantises_to_ticks() {
        assert_eq!(to_ticks_e8(65_000.004, 1_000_000), 6_500_000_000_000);
        assert_eq!(to_ticks_e8(65_000.006, 1_000_000), 6_500_001_000_000);
        assert_eq!(to_ticks_e8(0.0, 10_000), 10_000);
    }
}
