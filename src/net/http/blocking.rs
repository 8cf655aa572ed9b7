//! One request on an [`HttpPool`] driven to its answer on the caller's own mio `Poll`: the
//! blocking use of the pool, for the risk thread (discovery, heartbeats, kill switch, alerts),
//! start-up and the CLI — never the hot thread.
//!
//! Invariants: at most one request is written; the caller's `answer` sees only that request's
//! outcome; the loop ends by the connect deadline if nothing could be written, and by the
//! overall deadline in any case (the pool's own per-request timeout normally fires first).

use std::io;
use std::time::Duration;

use mio::{Events, Poll};

use super::{Connect, HttpError, HttpPool, Request, RequestId, ResponseView};
use crate::clock::mono_ns;
use crate::net::transport::Transport;

/// Why no answer came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriveError {
    /// No connection became idle before the connect deadline: nothing was written.
    Unreachable,
    /// Written, but no answer before the overall deadline (the outcome is unknown).
    Timeout,
    /// The pool refused or failed the send.
    Send(HttpError),
    /// `poll` itself failed.
    Poll(io::ErrorKind),
}

/// Deadlines of one blocking request (mono ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Nothing written by then: [`DriveError::Unreachable`].
    pub connect_ns: u64,
    /// No answer by then: [`DriveError::Timeout`].
    pub total_ns: u64,
}

impl Deadlines {
    /// From now: `connect` to get a connection, then `request` for the answer, plus 50 ms of
    /// slack so the pool's own request timeout fires first.
    pub fn from_now(connect: Duration, request: Duration) -> Deadlines {
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let connect_ns = mono_ns().saturating_add(ns(connect));
        Deadlines {
            connect_ns,
            total_ns: connect_ns
                .saturating_add(ns(request))
                .saturating_add(50_000_000),
        }
    }
}

/// Write `req` on `pool` (registered with `poll`) and run the loop until its answer, which
/// `answer` turns into the caller's value (the response view borrows the pool's buffer).
pub fn drive<T: Transport, C: Connect<T>, R>(
    pool: &mut HttpPool<T, C>,
    poll: &mut Poll,
    events: &mut Events,
    req: &Request<'_>,
    deadlines: Deadlines,
    mut answer: impl FnMut(Result<ResponseView<'_>, HttpError>) -> R,
) -> Result<R, DriveError> {
    let mut sent: Option<RequestId> = None;
    let mut outcome: Option<R> = None;
    loop {
        let now = mono_ns();
        pool.on_timer(now, &mut |id, r| {
            if sent == Some(id) {
                outcome = Some(answer(r));
            }
        });
        if let Some(done) = outcome.take() {
            return Ok(done);
        }
        if sent.is_none() && pool.idle_count() > 0 {
            match pool.send(req, now) {
                Ok(id) => sent = Some(id),
                Err(HttpError::NoIdleConnection) => {}
                Err(e) => return Err(DriveError::Send(e)),
            }
        }
        if sent.is_none() && now >= deadlines.connect_ns {
            return Err(DriveError::Unreachable);
        }
        if now >= deadlines.total_ns {
            return Err(DriveError::Timeout);
        }
        let wake = pool
            .next_deadline_ns()
            .unwrap_or(deadlines.total_ns)
            .min(deadlines.total_ns);
        let wait = Duration::from_nanos(wake.saturating_sub(now).clamp(100_000, 50_000_000));
        if let Err(e) = poll.poll(events, Some(wait)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(DriveError::Poll(e.kind()));
            }
        }
        let now = mono_ns();
        for event in events.iter() {
            pool.on_ready(event.token(), now, &mut |id, r| {
                if sent == Some(id) {
                    outcome = Some(answer(r));
                }
            });
        }
        if let Some(done) = outcome.take() {
            return Ok(done);
        }
    }
}
