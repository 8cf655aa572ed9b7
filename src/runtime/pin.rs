//! CPU pinning of engine threads, with an honest report of what happened.
//!
//! [`pin_current_thread`] pins the calling thread to one CPU given by explicit id (from config;
//! `core_affinity::get_core_ids()` is not consulted because it only lists the current mask),
//! checks the result of `core_affinity::set_for_current` (which otherwise fails silently), reads
//! the mask back, and says whether the CPU is isolated from the scheduler (`isolcpus` /
//! `nohz_full`, from sysfs or else `/proc/cmdline`). It never panics and never aborts start-up:
//! callers log the [`PinOutcome`] line and carry on either way. Call it once per thread at
//! start-up (it reads files and allocates).

use std::fmt;
use std::fs;

/// Linux `CPU_SETSIZE`: `core_affinity` cannot express (and would panic on) higher CPU ids.
pub const CPU_SETSIZE: usize = 1024;
/// Largest CPU id accepted in a CPU list (the kernel's maximum `NR_CPUS`).
pub const MAX_CPU_ID: usize = 8191;

const SYSFS_ISOLATED: &str = "/sys/devices/system/cpu/isolated";
const SYSFS_NOHZ_FULL: &str = "/sys/devices/system/cpu/nohz_full";
const SYSFS_ONLINE: &str = "/sys/devices/system/cpu/online";
const PROC_CMDLINE: &str = "/proc/cmdline";

/// A malformed kernel CPU list (`1-3,5`, `0-15:2/4`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuListError {
    /// An element between commas is empty.
    #[error("empty element in CPU list")]
    EmptyElement,
    /// Something that should be a CPU number is not.
    #[error("invalid CPU number {0:?}")]
    InvalidNumber(String),
    /// `a-b` with `a > b`.
    #[error("reversed CPU range {start}-{end}")]
    ReversedRange {
        /// Range start.
        start: usize,
        /// Range end.
        end: usize,
    },
    /// A CPU id above [`MAX_CPU_ID`].
    #[error("CPU id {0} above the maximum {MAX_CPU_ID}")]
    TooLarge(usize),
    /// `a-b:used/group` with `used` = 0, `group` = 0 or `used > group`.
    #[error("invalid CPU range stride {used}/{group}")]
    BadStride {
        /// CPUs used per group.
        used: usize,
        /// Group size.
        group: usize,
    },
}

fn parse_cpu_id(text: &str) -> Result<usize, CpuListError> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CpuListError::InvalidNumber(text.to_string()));
    }
    let id: usize = text
        .parse()
        .map_err(|_| CpuListError::InvalidNumber(text.to_string()))?;
    if id > MAX_CPU_ID {
        return Err(CpuListError::TooLarge(id));
    }
    Ok(id)
}

/// Parse the kernel's CPU list syntax into sorted, de-duplicated CPU ids. Accepts single ids
/// (`5`), ranges (`1-3`) and strided ranges (`0-15:2/4`: the first 2 of every group of 4),
/// comma-separated; surrounding whitespace and an empty list (`""`, `"\n"`) are fine.
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, CpuListError> {
    let text = text.trim();
    let mut cpus = Vec::new();
    if text.is_empty() {
        return Ok(cpus);
    }
    for element in text.split(',') {
        let element = element.trim();
        if element.is_empty() {
            return Err(CpuListError::EmptyElement);
        }
        let (range, stride) = match element.split_once(':') {
            Some((range, stride)) => {
                let (used, group) = stride
                    .split_once('/')
                    .ok_or_else(|| CpuListError::InvalidNumber(stride.to_string()))?;
                (range, Some((parse_cpu_id(used)?, parse_cpu_id(group)?)))
            }
            None => (element, None),
        };
        let (start, end) = match range.split_once('-') {
            Some((start, end)) => (parse_cpu_id(start)?, parse_cpu_id(end)?),
            None => {
                let id = parse_cpu_id(range)?;
                (id, id)
            }
        };
        if start > end {
            return Err(CpuListError::ReversedRange { start, end });
        }
        let (used, group) = stride.unwrap_or((1, 1));
        if used == 0 || group == 0 || used > group {
            return Err(CpuListError::BadStride { used, group });
        }
        cpus.extend((start..=end).filter(|cpu| (cpu - start) % group < used));
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Where the isolation facts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationSource {
    /// `/sys/devices/system/cpu/{isolated,nohz_full}`.
    Sysfs,
    /// `/proc/cmdline` (`isolcpus=`, `nohz_full=`), used where sysfs was unreadable.
    KernelCmdline,
    /// Neither could be read.
    Unknown,
}

/// Whether a CPU is shielded from ordinary scheduling and the timer tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Isolation {
    /// Listed in `isolcpus` (no ordinary tasks scheduled there).
    pub isolcpus: bool,
    /// Listed in `nohz_full` (no periodic tick while one task runs).
    pub nohz_full: bool,
    /// Where `isolcpus` was read from.
    pub source: IsolationSource,
}

impl Isolation {
    /// True if the CPU is in `isolcpus` or `nohz_full`.
    pub fn is_isolated(&self) -> bool {
        self.isolcpus || self.nohz_full
    }
}

/// The CPU list of `key=` on a kernel command line, without `isolcpus` flags such as `nohz,` or
/// `domain,`. Arguments after `--` belong to init and are ignored.
fn cmdline_cpu_list(cmdline: &str, key: &str) -> Option<Vec<usize>> {
    let value = cmdline
        .split_whitespace()
        .take_while(|arg| *arg != "--")
        .filter_map(|arg| arg.strip_prefix(key)?.strip_prefix('='))
        .last()?;
    let list: Vec<&str> = value
        .split(',')
        .filter(|part| !part.starts_with(|c: char| c.is_ascii_alphabetic()))
        .collect();
    parse_cpu_list(&list.join(",")).ok()
}

/// Decide the isolation of `cpu` from the given file contents (`None` = unreadable). Sysfs wins;
/// the command line fills in what sysfs could not tell.
pub fn isolation_from(
    cpu: usize,
    sysfs_isolated: Option<&str>,
    sysfs_nohz_full: Option<&str>,
    cmdline: Option<&str>,
) -> Isolation {
    let listed =
        |list: Option<Vec<usize>>| list.is_some_and(|cpus| cpus.binary_search(&cpu).is_ok());
    let sysfs_isolated = sysfs_isolated.and_then(|text| parse_cpu_list(text).ok());
    let sysfs_nohz = sysfs_nohz_full.and_then(|text| parse_cpu_list(text).ok());
    let source = match (&sysfs_isolated, cmdline) {
        (Some(_), _) => IsolationSource::Sysfs,
        (None, Some(_)) => IsolationSource::KernelCmdline,
        (None, None) => IsolationSource::Unknown,
    };
    let isolcpus = match sysfs_isolated {
        Some(list) => listed(Some(list)),
        None => listed(cmdline.and_then(|c| cmdline_cpu_list(c, "isolcpus"))),
    };
    let nohz_full = match sysfs_nohz {
        Some(list) => listed(Some(list)),
        None => listed(cmdline.and_then(|c| cmdline_cpu_list(c, "nohz_full"))),
    };
    Isolation {
        isolcpus,
        nohz_full,
        source,
    }
}

/// Isolation of `cpu` on this machine.
pub fn isolation_of(cpu: usize) -> Isolation {
    let isolated = fs::read_to_string(SYSFS_ISOLATED).ok();
    let nohz = fs::read_to_string(SYSFS_NOHZ_FULL).ok();
    let cmdline = fs::read_to_string(PROC_CMDLINE).ok();
    isolation_from(
        cpu,
        isolated.as_deref(),
        nohz.as_deref(),
        cmdline.as_deref(),
    )
}

/// Why a thread could not be pinned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// The id cannot be put in a CPU set at all.
    #[error("CPU {cpu} is beyond the affinity mask size ({CPU_SETSIZE})")]
    OutOfRange {
        /// Requested CPU.
        cpu: usize,
    },
    /// The CPU is not in `/sys/devices/system/cpu/online`.
    #[error("CPU {cpu} is not online (online CPUs: {online})")]
    NotOnline {
        /// Requested CPU.
        cpu: usize,
        /// The online list as the kernel prints it.
        online: String,
    },
    /// `sched_setaffinity` refused (CPU outside this process's cpuset/cgroup, or not allowed).
    #[error("the kernel refused affinity to CPU {cpu} ({os_error})")]
    Rejected {
        /// Requested CPU.
        cpu: usize,
        /// The OS error reported right after the failed call.
        os_error: String,
    },
    /// The call succeeded but the mask read back is not exactly this CPU.
    #[error("affinity to CPU {cpu} did not stick: mask is now {actual:?}")]
    MaskMismatch {
        /// Requested CPU.
        cpu: usize,
        /// CPUs in the mask read back.
        actual: Vec<usize>,
    },
}

/// What [`pin_current_thread`] achieved. `Display` gives a one-line message for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinOutcome {
    /// Pinned to an isolated CPU (the intended production set-up).
    Pinned {
        /// The CPU.
        cpu: usize,
        /// Its isolation (at least one of `isolcpus`, `nohz_full`).
        isolation: Isolation,
    },
    /// Pinned, but the CPU is shared with the rest of the system: expect scheduling jitter.
    NotIsolated {
        /// The CPU.
        cpu: usize,
        /// What was found (no `isolcpus`, no `nohz_full`).
        isolation: Isolation,
    },
    /// Not pinned; the thread keeps its previous affinity.
    Failed {
        /// The CPU asked for.
        cpu: usize,
        /// Why.
        reason: PinError,
    },
}

impl PinOutcome {
    /// True if the thread now runs only on the requested CPU.
    pub fn is_pinned(&self) -> bool {
        !matches!(self, PinOutcome::Failed { .. })
    }

    /// The CPU that was asked for.
    pub fn cpu(&self) -> usize {
        match self {
            PinOutcome::Pinned { cpu, .. }
            | PinOutcome::NotIsolated { cpu, .. }
            | PinOutcome::Failed { cpu, .. } => *cpu,
        }
    }
}

impl fmt::Display for IsolationSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IsolationSource::Sysfs => "sysfs",
            IsolationSource::KernelCmdline => "kernel command line",
            IsolationSource::Unknown => "isolation unknown",
        })
    }
}

impl fmt::Display for PinOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinOutcome::Pinned { cpu, isolation } => {
                let kind = match (isolation.isolcpus, isolation.nohz_full) {
                    (true, true) => "isolcpus + nohz_full",
                    (true, false) => "isolcpus",
                    _ => "nohz_full",
                };
                write!(f, "pinned to CPU {cpu} (isolated: {kind}, per {})", isolation.source)
            }
            PinOutcome::NotIsolated { cpu, isolation } => write!(
                f,
                "pinned to CPU {cpu}, but CPU {cpu} is not isolated (no isolcpus/nohz_full, per {}): \
                 other tasks and the timer tick may preempt it",
                isolation.source
            ),
            PinOutcome::Failed { cpu, reason } => {
                write!(f, "could not pin to CPU {cpu}: {reason}; running unpinned")
            }
        }
    }
}

/// Pin the calling thread to `cpu_id` and report the outcome (see the module doc).
pub fn pin_current_thread(cpu_id: usize) -> PinOutcome {
    let failed = |reason| PinOutcome::Failed {
        cpu: cpu_id,
        reason,
    };
    if cpu_id >= CPU_SETSIZE {
        return failed(PinError::OutOfRange { cpu: cpu_id });
    }
    if let Ok(online) = fs::read_to_string(SYSFS_ONLINE) {
        if let Ok(cpus) = parse_cpu_list(&online) {
            if cpus.binary_search(&cpu_id).is_err() {
                return failed(PinError::NotOnline {
                    cpu: cpu_id,
                    online: online.trim().to_string(),
                });
            }
        }
    }
    if !core_affinity::set_for_current(core_affinity::CoreId { id: cpu_id }) {
        // Read errno at once: nothing else ran on this thread since the failed syscall.
        let os_error = std::io::Error::last_os_error().to_string();
        return failed(PinError::Rejected {
            cpu: cpu_id,
            os_error,
        });
    }
    if let Some(mask) = core_affinity::get_core_ids() {
        let actual: Vec<usize> = mask.iter().map(|core| core.id).collect();
        if actual != [cpu_id] {
            return failed(PinError::MaskMismatch {
                cpu: cpu_id,
                actual,
            });
        }
    }
    let isolation = isolation_of(cpu_id);
    if isolation.is_isolated() {
        PinOutcome::Pinned {
            cpu: cpu_id,
            isolation,
        }
    } else {
        PinOutcome::NotIsolated {
            cpu: cpu_id,
            isolation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_lists() {
        assert_eq!(parse_cpu_list(""), Ok(vec![]));
        assert_eq!(parse_cpu_list("\n"), Ok(vec![]));
        assert_eq!(parse_cpu_list("3"), Ok(vec![3]));
        assert_eq!(parse_cpu_list("1-3,5\n"), Ok(vec![1, 2, 3, 5]));
        assert_eq!(parse_cpu_list("5,1-3,2"), Ok(vec![1, 2, 3, 5]));
        assert_eq!(parse_cpu_list("0-7:2/4"), Ok(vec![0, 1, 4, 5]));
        assert_eq!(parse_cpu_list("2-2"), Ok(vec![2]));
    }

    #[test]
    fn rejects_malformed_cpu_lists() {
        assert_eq!(parse_cpu_list("1,,2"), Err(CpuListError::EmptyElement));
        assert_eq!(parse_cpu_list("1,"), Err(CpuListError::EmptyElement));
        assert_eq!(
            parse_cpu_list("3-1"),
            Err(CpuListError::ReversedRange { start: 3, end: 1 })
        );
        assert_eq!(
            parse_cpu_list("a"),
            Err(CpuListError::InvalidNumber("a".into()))
        );
        assert_eq!(
            parse_cpu_list("-1"),
            Err(CpuListError::InvalidNumber("".into()))
        );
        assert_eq!(
            parse_cpu_list("0-99999999999"),
            Err(CpuListError::TooLarge(99_999_999_999))
        );
        assert_eq!(
            parse_cpu_list("0-7:3/2"),
            Err(CpuListError::BadStride { used: 3, group: 2 })
        );
        assert_eq!(
            parse_cpu_list("0-7:0/2"),
            Err(CpuListError::BadStride { used: 0, group: 2 })
        );
    }

    #[test]
    fn isolation_prefers_sysfs_and_falls_back_to_cmdline() {
        let cmdline = "quiet isolcpus=nohz,domain,2-3 nohz_full=3 rcu_nocbs=2-3 -- isolcpus=0";
        // Sysfs present: it decides, even where the command line disagrees.
        let iso = isolation_from(1, Some("1\n"), Some(""), Some(cmdline));
        assert_eq!(
            iso,
            Isolation {
                isolcpus: true,
                nohz_full: false,
                source: IsolationSource::Sysfs
            }
        );
        // Sysfs `nohz_full` missing (kernel without NO_HZ_FULL): command line used for it.
        let iso = isolation_from(3, Some("2-3"), None, Some(cmdline));
        assert!(iso.isolcpus && iso.nohz_full);
        // No sysfs at all: command line, flags skipped, init arguments after `--` ignored.
        let iso = isolation_from(2, None, None, Some(cmdline));
        assert_eq!(
            iso,
            Isolation {
                isolcpus: true,
                nohz_full: false,
                source: IsolationSource::KernelCmdline
            }
        );
        assert!(!isolation_from(0, None, None, Some(cmdline)).is_isolated());
        // Nothing readable: unknown, not isolated.
        let iso = isolation_from(0, None, None, None);
        assert_eq!(iso.source, IsolationSource::Unknown);
        assert!(!iso.is_isolated());
        // Malformed sysfs content is not taken as isolation.
        assert!(!isolation_from(0, Some("x"), Some("0-"), None).is_isolated());
    }

    #[test]
    fn pins_to_a_cpu_of_the_current_mask() {
        let allowed = core_affinity::get_core_ids().expect("affinity mask readable");
        let cpu = allowed.last().expect("at least one CPU").id;
        let outcome = std::thread::spawn(move || {
            let outcome = pin_current_thread(cpu);
            let mask: Vec<usize> = core_affinity::get_core_ids()
                .expect("mask")
                .iter()
                .map(|c| c.id)
                .collect();
            (outcome, mask)
        })
        .join()
        .expect("pinning thread panicked");
        assert!(outcome.0.is_pinned(), "{}", outcome.0);
        assert_eq!(outcome.0.cpu(), cpu);
        assert_eq!(outcome.1, vec![cpu]);
        assert!(outcome
            .0
            .to_string()
            .starts_with(&format!("pinned to CPU {cpu}")));
    }

    #[test]
    fn impossible_cpus_fail_without_panicking_or_changing_affinity() {
        let outcome = std::thread::spawn(|| {
            let before = core_affinity::get_core_ids().expect("mask");
            let too_big = pin_current_thread(CPU_SETSIZE + 5);
            let offline = pin_current_thread(CPU_SETSIZE - 1);
            let after = core_affinity::get_core_ids().expect("mask");
            (too_big, offline, before == after)
        })
        .join()
        .expect("pinning thread panicked");
        assert_eq!(
            outcome.0,
            PinOutcome::Failed {
                cpu: CPU_SETSIZE + 5,
                reason: PinError::OutOfRange {
                    cpu: CPU_SETSIZE + 5
                }
            }
        );
        // CPU 1023 is either offline or refused by the kernel, never silently "pinned".
        assert!(!outcome.1.is_pinned(), "{}", outcome.1);
        assert!(outcome
            .1
            .to_string()
            .starts_with("could not pin to CPU 1023"));
        assert!(outcome.2, "a failed pin changed the affinity mask");
    }
}
