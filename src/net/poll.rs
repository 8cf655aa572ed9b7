//! The hot thread's event-loop driver: one `mio::Poll` with a pre-allocated `Events` buffer, run
//! either busy (zero-timeout polls, `spin_loop` hint when nothing is ready: lowest latency, burns
//! the pinned core) or blocking with a timeout (tests, laptops). Readiness is handed out as
//! `(Token, Readiness)` pairs through a callback so one loop dispatches to many connections.
//! [`TokenAllocator`] hands out connection tokens from a pre-sized free list.
//!
//! Invariants: after construction neither `poll_once`, `dispatch` nor token alloc/release
//! allocate (the `Events` and free-list capacities are fixed up front); a signal interrupting
//! the poll is an empty iteration, not an error.

use std::io;
use std::time::Duration;

use mio::event::Event;
use mio::{Events, Poll, Registry, Token};

/// How the loop waits for readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollMode {
    /// Never sleep: zero-timeout polls, a `spin_loop` hint on an empty iteration.
    Busy,
    /// Sleep in the kernel up to `timeout` per iteration.
    Blocking {
        /// Longest wait per `poll_once`.
        timeout: Duration,
    },
}

/// The readiness of one event, copied out of mio's `Event` so callers hold no borrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    /// Bytes (or EOF) can be read.
    pub readable: bool,
    /// Bytes can be written (also: a non-blocking connect finished, either way).
    pub writable: bool,
    /// The peer shut down its writing half (read will return EOF after any data).
    pub read_closed: bool,
    /// Our writing half is shut down / the peer went away.
    pub write_closed: bool,
    /// The socket has a pending error (`take_error` reports it).
    pub error: bool,
}

impl Readiness {
    /// Copy the flags out of a mio event.
    #[inline]
    pub fn of(event: &Event) -> Self {
        Self {
            readable: event.is_readable(),
            writable: event.is_writable(),
            read_closed: event.is_read_closed(),
            write_closed: event.is_write_closed(),
            error: event.is_error(),
        }
    }
}

/// Counts kept by the poller (for telemetry: how busy the loop is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollStats {
    /// `poll_once` calls.
    pub polls: u64,
    /// Calls that returned no event.
    pub empty_polls: u64,
    /// Events handed out.
    pub events: u64,
    /// Polls interrupted by a signal.
    pub interrupted: u64,
}

/// One `mio::Poll` plus its fixed `Events` buffer and wait mode.
pub struct Poller {
    poll: Poll,
    events: Events,
    mode: PollMode,
    stats: PollStats,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("mode", &self.mode)
            .field("capacity", &self.events.capacity())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Poller {
    /// A poller delivering at most `capacity` events per iteration.
    #[cold]
    pub fn new(mode: PollMode, capacity: usize) -> io::Result<Self> {
        Ok(Self {
            poll: Poll::new()?,
            events: Events::with_capacity(capacity.max(1)),
            mode,
            stats: PollStats::default(),
        })
    }

    /// Register / reregister / deregister sockets here.
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// The current wait mode.
    pub fn mode(&self) -> PollMode {
        self.mode
    }

    /// Switch wait mode (e.g. blocking while idle between market windows).
    pub fn set_mode(&mut self, mode: PollMode) {
        self.mode = mode;
    }

    /// Loop statistics so far.
    pub fn stats(&self) -> PollStats {
        self.stats
    }

    /// Wait (per the mode) and return the ready events; empty when nothing is ready, the
    /// blocking timeout ran out, or a signal interrupted the wait. No allocation.
    #[inline]
    pub fn poll_once(&mut self) -> io::Result<&Events> {
        let timeout = match self.mode {
            PollMode::Busy => Some(Duration::ZERO),
            PollMode::Blocking { timeout } => Some(timeout),
        };
        self.stats.polls += 1;
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                self.stats.interrupted += 1;
                self.events.clear();
            }
            Err(e) => return Err(e),
        }
        if self.events.is_empty() {
            self.stats.empty_polls += 1;
            if self.mode == PollMode::Busy {
                std::hint::spin_loop();
            }
        }
        Ok(&self.events)
    }

    /// One iteration: poll, then call `on_ready(token, readiness)` for every event in order.
    /// Returns how many events were dispatched. No allocation.
    #[inline]
    pub fn dispatch<F: FnMut(Token, Readiness)>(&mut self, mut on_ready: F) -> io::Result<usize> {
        self.poll_once()?;
        let mut n = 0usize;
        for event in self.events.iter() {
            on_ready(event.token(), Readiness::of(event));
            n += 1;
        }
        self.stats.events += n as u64;
        Ok(n)
    }
}

/// Hands out `mio::Token`s in `[first, first + capacity)`, reusing released ones first.
#[derive(Debug, Clone)]
pub struct TokenAllocator {
    first: usize,
    capacity: usize,
    next_unused: usize,
    free: Vec<usize>,
    in_use: Vec<bool>,
}

/// Why a token could not be released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is outside this allocator's range.
    #[error("token {0} is not from this allocator")]
    Foreign(usize),
    /// The token is not currently allocated.
    #[error("token {0} released twice")]
    NotAllocated(usize),
}

impl TokenAllocator {
    /// Tokens `first..first + capacity`; keep lower values for fixed uses (listeners, wakers).
    #[cold]
    pub fn new(first: usize, capacity: usize) -> Self {
        Self {
            first,
            capacity,
            next_unused: 0,
            free: Vec::with_capacity(capacity),
            in_use: vec![false; capacity],
        }
    }

    /// A free token, or `None` when all `capacity` are in use. No allocation.
    #[inline]
    pub fn alloc(&mut self) -> Option<Token> {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None if self.next_unused < self.capacity => {
                self.next_unused += 1;
                self.next_unused - 1
            }
            None => return None,
        };
        if let Some(flag) = self.in_use.get_mut(slot) {
            *flag = true;
        }
        Some(Token(self.first + slot))
    }

    /// Return `token` for reuse. No allocation.
    #[inline]
    pub fn release(&mut self, token: Token) -> Result<(), TokenError> {
        let slot = token
            .0
            .checked_sub(self.first)
            .filter(|s| *s < self.capacity)
            .ok_or(TokenError::Foreign(token.0))?;
        match self.in_use.get_mut(slot) {
            Some(flag) if *flag => {
                *flag = false;
                self.free.push(slot);
                Ok(())
            }
            _ => Err(TokenError::NotAllocated(token.0)),
        }
    }

    /// True when `token` is currently allocated.
    pub fn is_allocated(&self, token: Token) -> bool {
        token
            .0
            .checked_sub(self.first)
            .and_then(|s| self.in_use.get(s).copied())
            .unwrap_or(false)
    }

    /// Tokens currently allocated.
    pub fn in_use(&self) -> usize {
        self.next_unused - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::Interest;

    #[test]
    fn busy_and_blocking_modes_return_empty_when_idle() {
        let mut p = Poller::new(PollMode::Busy, 8).unwrap();
        assert!(p.poll_once().unwrap().is_empty());
        p.set_mode(PollMode::Blocking {
            timeout: Duration::from_millis(1),
        });
        assert!(p.poll_once().unwrap().is_empty());
        let s = p.stats();
        assert_eq!((s.polls, s.empty_polls, s.events), (2, 2, 0));
    }

    #[test]
    fn dispatch_delivers_readiness_to_the_registered_token() {
        for mode in [
            PollMode::Busy,
            PollMode::Blocking {
                timeout: Duration::from_millis(20),
            },
        ] {
            let mut p = Poller::new(mode, 4).unwrap();
            let mut listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = listener.local_addr().unwrap();
            p.registry()
                .register(&mut listener, Token(3), Interest::READABLE)
                .unwrap();
            let _client = std::net::TcpStream::connect(addr).unwrap();
            let mut got = None;
            for _ in 0..100_000 {
                p.dispatch(|token, ready| got = Some((token, ready)))
                    .unwrap();
                if got.is_some() {
                    break;
                }
                if mode == PollMode::Busy {
                    std::thread::yield_now();
                }
            }
            let (token, ready) = got.expect("listener never became readable");
            assert_eq!(token, Token(3));
            assert!(ready.readable && !ready.error);
            assert!(p.stats().events >= 1);
        }
    }

    #[test]
    fn tokens_are_unique_reused_and_bounded() {
        let mut t = TokenAllocator::new(10, 3);
        let a = t.alloc().unwrap();
        let b = t.alloc().unwrap();
        let c = t.alloc().unwrap();
        assert_eq!([a, b, c], [Token(10), Token(11), Token(12)]);
        assert_eq!(t.alloc(), None);
        assert_eq!(t.in_use(), 3);
        t.release(b).unwrap();
        assert!(!t.is_allocated(b));
        assert_eq!(t.release(b), Err(TokenError::NotAllocated(11)));
        assert_eq!(t.release(Token(9)), Err(TokenError::Foreign(9)));
        assert_eq!(t.release(Token(13)), Err(TokenError::Foreign(13)));
        assert_eq!(t.alloc(), Some(Token(11)));
        assert!(t.is_allocated(Token(11)));
        assert_eq!(t.alloc(), None);
    }
}
