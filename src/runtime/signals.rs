//! Signal-driven shutdown without async: SIGINT and SIGTERM set a shared stop flag.
//!
//! Behaviour after [`StopSignals::install`]:
//! * First SIGINT or SIGTERM: the stop flag becomes `true`. Nothing else happens in the signal
//!   handler; the engine threads poll the flag (one Relaxed load per loop iteration), finish
//!   their work, dump histograms and exit normally.
//! * Any further SIGINT or SIGTERM once the flag is set (by a signal or by
//!   [`StopSignals::request_stop`]) terminates the process at once with `_exit(128 + signal)`
//!   (130 for SIGINT, 143 for SIGTERM): no destructors, no dumps. This is the escape hatch when a
//!   graceful shutdown hangs.
//!
//! Handlers are process-wide and stay installed for the life of the process (dropping
//! [`StopSignals`] does not remove them). Installing twice registers a second, independent flag;
//! the first flag set arms the forced exit for both.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};

/// Signals that request a graceful stop.
pub const STOP_SIGNALS: [i32; 2] = [SIGINT, SIGTERM];

/// Exit status used when a second stop signal forces termination: the shell convention
/// `128 + signal number`.
pub const fn forced_exit_status(signal: i32) -> i32 {
    128 + signal
}

/// Owner of the shared stop flag wired to SIGINT/SIGTERM.
#[derive(Debug, Clone)]
pub struct StopSignals {
    stop: Arc<AtomicBool>,
}

impl StopSignals {
    /// Register the handlers (see the module doc). Fails only if the OS refuses a handler.
    pub fn install() -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        for signal in STOP_SIGNALS {
            // Order matters: signal-hook runs actions in registration order, so the conditional
            // exit must come first. On the first signal it sees `false` and does nothing, then
            // the flag is set; on the next signal it sees `true` and exits.
            signal_hook::flag::register_conditional_shutdown(
                signal,
                forced_exit_status(signal),
                Arc::clone(&stop),
            )?;
            signal_hook::flag::register(signal, Arc::clone(&stop))?;
        }
        Ok(Self { stop })
    }

    /// The shared flag, for threads that poll it directly.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// True once a stop was requested. Relaxed: the flag carries no data, only the request.
    #[inline]
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Request a graceful stop from inside the program (arms the forced exit on the next signal,
    /// exactly like a first signal would).
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Set in the environment of the re-executed test binary for the forced-exit child.
    const CHILD_ENV: &str = "SATTEBAAZ_SIGNALS_FORCED_EXIT_CHILD";

    #[test]
    fn sigterm_sets_the_stop_flag() {
        let signals = StopSignals::install().expect("install handlers");
        let flag = signals.flag();
        assert!(!signals.stop_requested());
        signal_hook::low_level::raise(SIGTERM).expect("raise SIGTERM");
        // `raise` returns after the handler ran on this thread.
        assert!(signals.stop_requested());
        assert!(flag.load(Ordering::SeqCst));
    }

    /// Child half of `second_signal_forces_exit`: does nothing unless re-executed with
    /// [`CHILD_ENV`] set.
    #[test]
    fn forced_exit_child() {
        if std::env::var_os(CHILD_ENV).is_none() {
            return;
        }
        let signals = StopSignals::install().expect("install handlers");
        signal_hook::low_level::raise(SIGINT).expect("raise SIGINT");
        assert!(signals.stop_requested());
        // Second signal while stopping: the process must end here with 128 + SIGTERM.
        signal_hook::low_level::raise(SIGTERM).expect("raise SIGTERM");
        // Only reached if the forced exit did not happen; exit with a distinct status.
        std::process::exit(3);
    }

    #[test]
    fn second_signal_forces_exit() {
        let exe = std::env::current_exe().expect("test binary path");
        let child = Command::new(exe)
            .args([
                "--exact",
                "runtime::signals::tests::forced_exit_child",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .output()
            .expect("run child test binary");
        assert_eq!(
            child.status.code(),
            Some(forced_exit_status(SIGTERM)),
            "child stdout: {}",
            String::from_utf8_lossy(&child.stdout)
        );
    }
}
