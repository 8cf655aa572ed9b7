//! The order dead-man switch (protocol §9) for the risk thread: `POST /v1/heartbeats` every
//! interval (~5 s; the venue cancels every open order of the API key when no accepted beat
//! arrives for 10 s), first with `{"heartbeat_id":""}`, then with the id each answer returns;
//! on `{"error_msg":"Invalid Heartbeat ID","heartbeat_id":X}` it continues with X at once.
//! Plus [`KillSwitch`]: `DELETE /cancel-all` over its own connection, so it works even when
//! the order connections are wedged.
//!
//! Invariants: a failed beat is retried after `retry_ns` (never later than the regular
//! interval); the id is only replaced by one the venue sent.

use super::rest::blocking::BlockingClob;
use super::rest::responses::{CancelSummary, HeartbeatAnswer};
use super::rest::RestError;
use crate::net::http::Connect;
use crate::net::transport::Transport;

/// What one beat achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BeatOutcome {
    /// Accepted; the next beat carries the returned id.
    Accepted,
    /// The venue expected another id; the next beat (sent at once) carries it.
    Resynced,
    /// The venue answered with another error message.
    Refused(String),
    /// No usable answer.
    Failed(RestError),
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeartbeatCounters {
    /// Beats sent.
    pub sent: u64,
    /// Accepted beats.
    pub accepted: u64,
    /// "Invalid Heartbeat ID" answers.
    pub resynced: u64,
    /// Other failures.
    pub failed: u64,
}

/// The heartbeat schedule and id. See the module docs.
#[derive(Clone, Debug)]
pub struct HeartbeatSender {
    interval_ns: u64,
    retry_ns: u64,
    next_due_ns: u64,
    heartbeat_id: String,
    last_accepted_ns: Option<u64>,
    counters: HeartbeatCounters,
}

impl HeartbeatSender {
    /// Beat every `interval_ns`; after a failure retry after `retry_ns` (capped at the
    /// interval). The first beat is due at once.
    pub fn new(interval_ns: u64, retry_ns: u64) -> Self {
        Self {
            interval_ns,
            retry_ns: retry_ns.min(interval_ns),
            next_due_ns: 0,
            heartbeat_id: String::new(),
            last_accepted_ns: None,
            counters: HeartbeatCounters::default(),
        }
    }

    /// The schedule of `[exec]`: `heartbeat_interval_ms`, retries after 1 s at most.
    pub fn from_exec(exec: &crate::config::schema::ExecConfig) -> Self {
        let interval_ns = u64::from(exec.heartbeat_interval_ms) * 1_000_000;
        Self::new(interval_ns, 1_000_000_000)
    }

    /// The id the next beat carries (`""` before the first accepted beat).
    pub fn heartbeat_id(&self) -> &str {
        &self.heartbeat_id
    }

    /// When the next beat is due.
    pub fn next_due_ns(&self) -> u64 {
        self.next_due_ns
    }

    /// When the venue last accepted a beat.
    pub fn last_accepted_ns(&self) -> Option<u64> {
        self.last_accepted_ns
    }

    /// Counters.
    pub fn counters(&self) -> &HeartbeatCounters {
        &self.counters
    }

    /// Apply a beat's answer at `now_ns` (separate from sending, for tests and other drivers).
    pub fn on_answer(
        &mut self,
        answer: Result<HeartbeatAnswer, RestError>,
        now_ns: u64,
    ) -> BeatOutcome {
        match answer {
            Ok(HeartbeatAnswer::Accepted { heartbeat_id }) => {
                self.counters.accepted += 1;
                self.heartbeat_id = heartbeat_id;
                self.last_accepted_ns = Some(now_ns);
                self.next_due_ns = now_ns.saturating_add(self.interval_ns);
                BeatOutcome::Accepted
            }
            Ok(HeartbeatAnswer::InvalidId { expected_id }) => {
                self.counters.resynced += 1;
                self.heartbeat_id = expected_id;
                self.next_due_ns = now_ns;
                BeatOutcome::Resynced
            }
            Ok(HeartbeatAnswer::Error { message }) => {
                self.counters.failed += 1;
                self.next_due_ns = now_ns.saturating_add(self.retry_ns);
                BeatOutcome::Refused(message)
            }
            Err(e) => {
                self.counters.failed += 1;
                self.next_due_ns = now_ns.saturating_add(self.retry_ns);
                BeatOutcome::Failed(e)
            }
        }
    }

    /// Send a beat if one is due at `now_ns` (blocking); `None` when not due. `clock` gives
    /// the time after the answer. A resync is followed at once by a beat with the new id.
    pub fn tick<T: Transport, C: Connect<T>>(
        &mut self,
        now_ns: u64,
        clob: &mut BlockingClob<T, C>,
        clock: impl Fn() -> u64,
    ) -> Option<BeatOutcome> {
        if now_ns < self.next_due_ns {
            return None;
        }
        let mut outcome = BeatOutcome::Failed(RestError::NotSent);
        // At most one immediate resend after a resync.
        for _ in 0..2 {
            self.counters.sent += 1;
            let answer = clob.heartbeat(&self.heartbeat_id);
            outcome = self.on_answer(answer, clock());
            if outcome != BeatOutcome::Resynced {
                break;
            }
        }
        Some(outcome)
    }
}

/// `DELETE /cancel-all` over a dedicated connection (the kill switch).
pub struct KillSwitch<T, C> {
    clob: BlockingClob<T, C>,
}

impl<T: Transport, C: Connect<T>> KillSwitch<T, C> {
    /// Own `clob` (its own connection, L2 credentials set).
    pub fn new(clob: BlockingClob<T, C>) -> Self {
        Self { clob }
    }

    /// Cancel every open order of the API key; `f` sees each canceled / refused id.
    pub fn fire(
        &mut self,
        f: impl FnMut(crate::exec::json::OrderId, Option<&str>),
    ) -> Result<CancelSummary, RestError> {
        self.clob.cancel_all(f)
    }
}
