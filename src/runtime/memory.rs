//! Locking the process's memory (`mlockall`) so the hot path never takes a page fault once the
//! engine is warm. Called once, from the risk thread, after the hot loop's first statistics
//! arrive (every buffer allocated, connections open); the effect is process-wide.
//!
//! Invariants: a failure (no `CAP_IPC_LOCK`, `RLIMIT_MEMLOCK` too small) is returned with the OS
//! error and never stops the run; the call is made at most once per run.

use std::io;

/// Lock every current and future page of the process in RAM.
pub fn lock_all() -> io::Result<()> {
    // SAFETY: mlockall takes flags only and touches no memory of ours.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The locked-memory limit (`RLIMIT_MEMLOCK` soft limit, bytes; `None` = unlimited), for the
/// error message when locking fails.
pub fn memlock_limit() -> io::Result<Option<u64>> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and nothing else.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((r.rlim_cur != libc::RLIM_INFINITY).then_some(r.rlim_cur))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memlock_limit_is_readable() {
        // Whatever the machine allows, the query itself works.
        assert!(memlock_limit().is_ok());
    }
}
