//! Window schedule and slugs of the short crypto Up/Down markets.
//!
//! A market type is an (asset, window length) pair; its windows tile UTC time on an aligned grid
//! (`start % 300 == 0` for 5m, `start % 900 == 0` for 15m) and each window is the Gamma event
//! `{asset}-updown-{5m|15m}-{start}`. Invariants: every [`MarketKey`] built here has an aligned
//! start; [`parse_slug`] accepts exactly the strings [`MarketKey::slug`] produces (round trip),
//! nothing else. Pure arithmetic, no clock reads: callers pass wall-clock seconds.
//!
//! The window length is part of the kind: [`MarketKind::new`] uses the real 300/900 s, while
//! [`MarketKind::with_window_secs`] takes an override (the simulator's short windows). Every
//! length-dependent computation (grid, `end_s`, Gamma's time check, the registry's plan) reads
//! [`MarketKind::secs`], so an override applies everywhere at once; the slug keeps the
//! `5m`/`15m` label of the configured window.

use std::fmt;

use crate::config::{Asset, Window};

/// Every asset the slug grammar knows.
pub const ASSETS: [Asset; 4] = [Asset::Btc, Asset::Eth, Asset::Sol, Asset::Xrp];
/// Every window length the slug grammar knows.
pub const WINDOWS: [Window; 2] = [Window::Min5, Window::Min15];

/// One configured market type: which asset, which window label, how long its windows last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MarketKind {
    /// Underlying asset.
    pub asset: Asset,
    /// Window label (`5m`/`15m`), part of the slug.
    pub window: Window,
    /// Window length in seconds (never 0): the real length of `window` unless overridden.
    secs: u32,
}

impl MarketKind {
    /// The pair, with the real window length (300 s / 900 s).
    pub const fn new(asset: Asset, window: Window) -> Self {
        Self {
            asset,
            window,
            secs: window.secs(),
        }
    }

    /// The pair with windows of `override_secs` seconds instead of the real length (simulated
    /// short windows); `None` or `Some(0)` keeps the real length.
    pub const fn with_window_secs(
        asset: Asset,
        window: Window,
        override_secs: Option<u32>,
    ) -> Self {
        match override_secs {
            Some(secs) if secs > 0 => Self {
                asset,
                window,
                secs,
            },
            _ => Self::new(asset, window),
        }
    }

    /// Window length in seconds (the override when one was given).
    pub const fn secs(self) -> u64 {
        self.secs as u64
    }

    /// True when the window length differs from the real one of the label.
    pub const fn is_overridden(self) -> bool {
        self.secs != self.window.secs()
    }

    /// The window containing wall-clock second `t_s` (start ≤ t_s < end).
    pub fn window_at(self, t_s: u64) -> MarketKey {
        MarketKey {
            kind: self,
            start_s: t_s - t_s % self.secs(),
        }
    }

    /// The first window starting strictly after `t_s`.
    pub fn next_after(self, t_s: u64) -> MarketKey {
        let current = self.window_at(t_s);
        MarketKey {
            kind: self,
            start_s: current.start_s + self.secs(),
        }
    }

    /// Windows from the one containing `t_s` onwards (current, next, ...), `count` of them.
    pub fn windows_from(self, t_s: u64, count: usize) -> impl Iterator<Item = MarketKey> {
        let first = self.window_at(t_s).start_s;
        let step = self.secs();
        (0..count as u64).map(move |i| MarketKey {
            kind: self,
            start_s: first + i * step,
        })
    }

    /// A key for an explicit start, or `None` when `start_s` is not on this kind's grid.
    pub fn key_at(self, start_s: u64) -> Option<MarketKey> {
        (start_s % self.secs() == 0).then_some(MarketKey {
            kind: self,
            start_s,
        })
    }
}

/// One window of one market type: the identity of one Up/Down market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MarketKey {
    /// Market type.
    pub kind: MarketKind,
    /// Window start, unix seconds UTC, aligned to the window length.
    pub start_s: u64,
}

impl MarketKey {
    /// Window end (exclusive), unix seconds: `start + length`.
    pub fn end_s(self) -> u64 {
        self.start_s + self.kind.secs()
    }

    /// The Gamma event slug, e.g. `btc-updown-5m-1780876500`.
    pub fn slug(self) -> String {
        self.to_string()
    }

    /// True when wall-clock second `t_s` lies inside the window.
    pub fn contains(self, t_s: u64) -> bool {
        (self.start_s..self.end_s()).contains(&t_s)
    }
}

impl fmt::Display for MarketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-updown-{}-{}",
            self.kind.asset.as_str(),
            self.kind.window.as_str(),
            self.start_s
        )
    }
}

/// Why a string is not an Up/Down slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// Not of the form `{asset}-updown-{window}-{start}`.
    #[error("not an {{asset}}-updown-{{window}}-{{start}} slug")]
    Shape,
    /// The asset part is not btc/eth/sol/xrp.
    #[error("unknown asset")]
    UnknownAsset,
    /// The window part is not 5m/15m.
    #[error("unknown window length")]
    UnknownWindow,
    /// The start is not a plain decimal number of seconds.
    #[error("window start is not a number")]
    BadStart,
    /// The start is not on the window's grid.
    #[error("window start not aligned to the window length")]
    Unaligned,
}

/// Parse `{asset}-updown-{5m|15m}-{start}` back into a key with the real window length
/// (strict: lower case, no leading zeros, aligned start).
pub fn parse_slug(slug: &str) -> Result<MarketKey, SlugError> {
    let mut parts = slug.split('-');
    let (Some(asset), Some("updown"), Some(window), Some(start), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(SlugError::Shape);
    };
    let asset = ASSETS
        .into_iter()
        .find(|a| a.as_str() == asset)
        .ok_or(SlugError::UnknownAsset)?;
    let window = WINDOWS
        .into_iter()
        .find(|w| w.as_str() == window)
        .ok_or(SlugError::UnknownWindow)?;
    let canonical = !start.is_empty()
        && start.bytes().all(|b| b.is_ascii_digit())
        && (start == "0" || !start.starts_with('0'));
    if !canonical {
        return Err(SlugError::BadStart);
    }
    let start_s: u64 = start.parse().map_err(|_| SlugError::BadStart)?;
    MarketKind::new(asset, window)
        .key_at(start_s)
        .ok_or(SlugError::Unaligned)
}
