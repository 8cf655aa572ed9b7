//! Market discovery: which Up/Down markets exist, their ids and trading parameters, and when
//! they start, end, resolve and retire.
//!
//! Runs entirely on the risk/telemetry thread (blocking HTTP, serde_json, allocation); the hot
//! thread only receives [`worker::DiscoveryMsg`]s carrying an interned [`registry::MarketIdx`]
//! and a pointer-free [`registry::MarketRecord`].
//!
//! * [`slugs`]: window schedule and `{asset}-updown-{5m|15m}-{start}` slugs.
//! * [`ids`]: condition ids and token ids as text and as 32-byte keys.
//! * [`fields`]: exact decoding of JSON numbers, ISO times and JSON-in-string arrays.
//! * [`gamma`]: Gamma `/events?slug=` parsing and fail-closed validation.
//! * [`clob_market`]: CLOB `/clob-markets/<conditionId>` parsing and the Gamma cross-check.
//! * [`registry`]: known markets, indexes, lifecycle, the lookup plan.
//! * [`fetch`]: the blocking GET abstraction and its implementation on `net::http::HttpPool`.
//! * [`worker`]: lookups, retries with backoff, counters, messages.

pub mod clob_market;
pub mod fetch;
pub mod fields;
pub mod gamma;
pub mod ids;
pub mod registry;
pub mod slugs;
pub mod worker;

pub use clob_market::{ClobMarket, ClobMarketError, ClobMismatch};
pub use fetch::{Fetch, FetchConfig, FetchError, HttpFetch};
pub use gamma::{FeeParams, GammaError, GammaMarket, Outcome, Settlement};
pub use ids::{ConditionId, TokenId};
pub use registry::{
    Lifecycle, Lookup, LookupPurpose, MarketIdx, MarketInfo, MarketRecord, MarketRegistry,
    ScheduleConfig,
};
pub use slugs::{parse_slug, MarketKey, MarketKind};
pub use worker::{DiscoveryCounters, DiscoveryMsg, DiscoveryWorker, WorkerConfig};
