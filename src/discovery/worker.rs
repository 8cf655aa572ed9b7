//! The discovery worker: runs on the risk/telemetry thread (it blocks on HTTP through a
//! [`Fetch`]), keeps the [`MarketRegistry`] up to date and emits small pointer-free
//! [`DiscoveryMsg`]s for the hot thread's command queue.
//!
//! Each [`DiscoveryWorker::step`] (call it every few hundred milliseconds): advance lifecycles by
//! the clock (retirements become `RetireMarket`), then perform the lookups the registry's
//! [`plan`](MarketRegistry::plan) says are due, at most `max_lookups_per_step` of them, skipping
//! keys waiting out a retry delay. Discovery = Gamma `/events?slug=` → validation → optional
//! CLOB `/clob-markets/<conditionId>` cross-check → registry insert → `NewMarket`. Resolution
//! checks of ended markets → `MarketResolved`.
//!
//! Invariants: nothing is lost — a failed lookup (transport error, timeout, non-200, rate limit,
//! `[]` not listed yet, invalid or inconsistent data) is counted and retried with jittered
//! exponential backoff per key until its window is over; only keys that can never become
//! tradeable (zombie, already closed, duplicate) are abandoned, and counted. Strings never leave
//! this thread: messages carry the interned index and a `Copy` record.

use std::collections::{HashMap, HashSet};

use super::clob_market::{cross_check, parse_clob_market, ClobMismatch};
use super::fetch::{Fetch, FetchError};
use super::gamma::{parse_events, parse_resolution, GammaError, Outcome};
use super::registry::{
    Lifecycle, Lookup, LookupPurpose, MarketIdx, MarketInfo, MarketRecord, MarketRegistry,
    RegistryError,
};
use super::slugs::MarketKey;
use crate::net::backoff::{Backoff, BackoffPolicy};

/// Risk thread → hot thread: a market appeared, resolved or is gone. `Copy`, pointer-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryMsg {
    /// A newly discovered market: subscribe its tokens, start tracking its window.
    NewMarket(MarketRecord),
    /// The venue resolved the market.
    MarketResolved {
        /// Which market.
        idx: MarketIdx,
        /// The winning outcome.
        winner: Outcome,
    },
    /// Forget the market (unsubscribe, drop its book); its index may be reused later.
    RetireMarket {
        /// Which market.
        idx: MarketIdx,
    },
}

/// Worker tuning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerConfig {
    /// Lookups performed per [`DiscoveryWorker::step`] at most (bounds the time one step blocks).
    pub max_lookups_per_step: usize,
    /// Delay between failed attempts for one key.
    pub retry: BackoffPolicy,
    /// Cross-check every Gamma result with the CLOB's `/clob-markets/<conditionId>`.
    pub verify_with_clob: bool,
}

/// Everything the worker did, for telemetry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryCounters {
    /// Gamma requests attempted.
    pub gamma_requests: u64,
    /// CLOB requests attempted.
    pub clob_requests: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Requests that failed otherwise (unreachable, connection lost, malformed HTTP).
    pub transport_errors: u64,
    /// Responses with HTTP 429.
    pub rate_limited: u64,
    /// Responses with a status other than 200 and 429.
    pub bad_status: u64,
    /// Gamma `[]` for a slug (not listed yet).
    pub not_listed: u64,
    /// Gamma bodies refused by validation (other than zombie / not listed).
    pub gamma_invalid: u64,
    /// Zombie events refused.
    pub zombies: u64,
    /// Markets found already closed (abandoned).
    pub already_closed: u64,
    /// `/clob-markets` bodies refused.
    pub clob_invalid: u64,
    /// Gamma and CLOB disagreed.
    pub clob_mismatches: u64,
    /// Registry full (retried).
    pub registry_full: u64,
    /// Token or window already registered under another key (abandoned).
    pub duplicates: u64,
    /// Markets discovered (`NewMarket` sent).
    pub discovered: u64,
    /// Resolution checks performed.
    pub resolve_checks: u64,
    /// Resolutions seen (`MarketResolved` sent).
    pub resolved: u64,
    /// Markets retired (`RetireMarket` sent).
    pub retired: u64,
    /// ... of which never resolved.
    pub retired_unresolved: u64,
    /// Failed lookups scheduled for a retry.
    pub retries_scheduled: u64,
}

/// The last refusal seen, for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastFailure {
    /// Transport.
    Fetch(FetchError),
    /// Non-200 status.
    Status(u16),
    /// Gamma validation.
    Gamma(GammaError),
    /// CLOB body.
    Clob(super::clob_market::ClobMarketError),
    /// Gamma/CLOB disagreement.
    Mismatch(ClobMismatch),
}

struct Retry {
    backoff: Backoff,
    not_before_ms: u64,
}

/// See the module docs.
pub struct DiscoveryWorker<G, C> {
    registry: MarketRegistry,
    gamma: G,
    clob: C,
    config: WorkerConfig,
    retries: HashMap<MarketKey, Retry>,
    abandoned: HashSet<MarketKey>,
    counters: DiscoveryCounters,
    last_failure: Option<(MarketKey, LastFailure)>,
}

impl<G: Fetch, C: Fetch> DiscoveryWorker<G, C> {
    /// A worker filling `registry`, asking Gamma through `gamma` and the CLOB through `clob`.
    pub fn new(registry: MarketRegistry, gamma: G, clob: C, config: WorkerConfig) -> Self {
        Self {
            registry,
            gamma,
            clob,
            config,
            retries: HashMap::new(),
            abandoned: HashSet::new(),
            counters: DiscoveryCounters::default(),
            last_failure: None,
        }
    }

    /// The registry (strings, lifecycle) for risk-thread users.
    pub fn registry(&self) -> &MarketRegistry {
        &self.registry
    }

    /// Counters so far.
    pub fn counters(&self) -> &DiscoveryCounters {
        &self.counters
    }

    /// The last failure and the key it concerned.
    pub fn last_failure(&self) -> Option<&(MarketKey, LastFailure)> {
        self.last_failure.as_ref()
    }

    /// Keys waiting for a retry.
    pub fn pending_retries(&self) -> usize {
        self.retries.len()
    }

    /// The Gamma fetcher (e.g. for its HTTP counters).
    pub fn gamma_fetch(&self) -> &G {
        &self.gamma
    }

    /// The CLOB fetcher.
    pub fn clob_fetch(&self) -> &C {
        &self.clob
    }

    /// One round at wall-clock `now_ms`; messages for the hot thread are appended to `out`.
    pub fn step(&mut self, now_ms: u64, out: &mut Vec<DiscoveryMsg>) {
        let now_s = now_ms / 1000;
        for event in self.registry.advance(now_s) {
            if event.to == Lifecycle::Retired {
                self.counters.retired += 1;
                if event.winner.is_none() {
                    self.counters.retired_unresolved += 1;
                }
                self.retries.remove(&event.key);
                out.push(DiscoveryMsg::RetireMarket { idx: event.idx });
            }
        }
        let horizon = self.registry.schedule().give_up_unresolved_s;
        self.abandoned
            .retain(|key| key.end_s().saturating_add(horizon) > now_s);
        let registry = &self.registry;
        self.retries
            .retain(|key, _| registry.find(*key).is_some() || key.end_s() > now_s);

        let mut budget = self.config.max_lookups_per_step;
        for lookup in self.registry.plan(now_s) {
            if budget == 0 {
                break;
            }
            if self.abandoned.contains(&lookup.key)
                || self
                    .retries
                    .get(&lookup.key)
                    .is_some_and(|r| r.not_before_ms > now_ms)
            {
                continue;
            }
            budget -= 1;
            match lookup.purpose {
                LookupPurpose::Discover => self.discover(&lookup, now_ms, out),
                LookupPurpose::Resolve(idx) => self.check_resolution(&lookup, idx, now_ms, out),
            }
        }
    }

    fn discover(&mut self, lookup: &Lookup, now_ms: u64, out: &mut Vec<DiscoveryMsg>) {
        let key = lookup.key;
        let now_s = now_ms / 1000;
        self.counters.gamma_requests += 1;
        let path = format!("/events?slug={}", lookup.slug);
        let Some(body) = self.fetch_ok(Source::Gamma, &path, key) else {
            self.retry_later(key, now_ms);
            return;
        };
        let market = match parse_events(&body, key, now_s) {
            Ok(m) => m,
            Err(GammaError::Zombie) => {
                self.counters.zombies += 1;
                self.fail(key, LastFailure::Gamma(GammaError::Zombie));
                self.abandoned.insert(key);
                return;
            }
            Err(e) => {
                if e == GammaError::NoEvent {
                    self.counters.not_listed += 1;
                } else {
                    self.counters.gamma_invalid += 1;
                }
                self.fail(key, LastFailure::Gamma(e));
                self.retry_later(key, now_ms);
                return;
            }
        };
        if market.status.closed {
            self.counters.already_closed += 1;
            self.abandoned.insert(key);
            self.retries.remove(&key);
            return;
        }
        if self.config.verify_with_clob {
            self.counters.clob_requests += 1;
            let path = format!("/clob-markets/{}", market.condition_id.hex);
            let Some(body) = self.fetch_ok(Source::Clob, &path, key) else {
                self.retry_later(key, now_ms);
                return;
            };
            let checked = parse_clob_market(&body)
                .map_err(|e| {
                    self.counters.clob_invalid += 1;
                    LastFailure::Clob(e)
                })
                .and_then(|clob| {
                    cross_check(&market, &clob).map_err(|e| {
                        self.counters.clob_mismatches += 1;
                        LastFailure::Mismatch(e)
                    })
                });
            if let Err(failure) = checked {
                self.fail(key, failure);
                self.retry_later(key, now_ms);
                return;
            }
        }
        let info = MarketInfo::from_gamma(&market);
        match self.registry.insert(info, now_s) {
            Ok(idx) => {
                self.retries.remove(&key);
                self.counters.discovered += 1;
                if let Some(info) = self.registry.get(idx) {
                    out.push(DiscoveryMsg::NewMarket(info.record(idx)));
                }
            }
            Err(RegistryError::Full) => {
                self.counters.registry_full += 1;
                self.retry_later(key, now_ms);
            }
            Err(RegistryError::Duplicate) => {
                self.counters.duplicates += 1;
                self.abandoned.insert(key);
                self.retries.remove(&key);
            }
        }
    }

    fn check_resolution(
        &mut self,
        lookup: &Lookup,
        idx: MarketIdx,
        now_ms: u64,
        out: &mut Vec<DiscoveryMsg>,
    ) {
        let key = lookup.key;
        let now_s = now_ms / 1000;
        self.counters.resolve_checks += 1;
        self.counters.gamma_requests += 1;
        let path = format!("/events?slug={}", lookup.slug);
        let Some(body) = self.fetch_ok(Source::Gamma, &path, key) else {
            self.retry_later(key, now_ms);
            return;
        };
        let market = match parse_resolution(&body, key) {
            Ok(m) => m,
            Err(e) => {
                self.counters.gamma_invalid += 1;
                self.fail(key, LastFailure::Gamma(e));
                self.retry_later(key, now_ms);
                return;
            }
        };
        let same_market = self
            .registry
            .get(idx)
            .is_some_and(|info| info.condition_id.key == market.condition_id.key);
        if !same_market {
            self.counters.gamma_invalid += 1;
            self.fail(key, LastFailure::Mismatch(ClobMismatch::ConditionId));
            self.retry_later(key, now_ms);
            return;
        }
        self.retries.remove(&key);
        match market.resolution {
            Some(winner) if self.registry.mark_resolved(idx, winner) => {
                self.counters.resolved += 1;
                out.push(DiscoveryMsg::MarketResolved { idx, winner });
            }
            _ => {
                let every = self.registry.schedule().resolve_every_s;
                self.registry
                    .defer_resolve_check(idx, now_s.saturating_add(every));
            }
        }
    }

    /// GET and insist on 200; count and record anything else.
    fn fetch_ok(&mut self, source: Source, path: &str, key: MarketKey) -> Option<Vec<u8>> {
        let result = match source {
            Source::Gamma => self.gamma.get(path),
            Source::Clob => self.clob.get(path),
        };
        match result {
            Ok((200, body)) => Some(body),
            Ok((status, _)) => {
                if status == 429 {
                    self.counters.rate_limited += 1;
                } else {
                    self.counters.bad_status += 1;
                }
                self.fail(key, LastFailure::Status(status));
                None
            }
            Err(e) => {
                if e == FetchError::Timeout {
                    self.counters.timeouts += 1;
                } else {
                    self.counters.transport_errors += 1;
                }
                self.fail(key, LastFailure::Fetch(e));
                None
            }
        }
    }

    fn fail(&mut self, key: MarketKey, failure: LastFailure) {
        self.last_failure = Some((key, failure));
    }

    fn retry_later(&mut self, key: MarketKey, now_ms: u64) {
        self.counters.retries_scheduled += 1;
        let policy = self.config.retry;
        let retry = self.retries.entry(key).or_insert_with(|| Retry {
            backoff: Backoff::new(policy, key.start_s ^ key.kind.secs()),
            not_before_ms: 0,
        });
        let delay_ms = retry.backoff.next_delay_ns() / 1_000_000;
        retry.not_before_ms = now_ms.saturating_add(delay_ms.max(1));
    }
}

#[derive(Clone, Copy)]
enum Source {
    Gamma,
    Clob,
}
