#!/usr/bin/env bash
# Launch sattebaaz pinned to the CPUs named in the configuration, after checking that the
# machine is set up for it: isolcpus / nohz_full cover the hot CPU, the CPU frequency governor is
# "performance", and the hot CPU's SMT sibling is not in use. Problems are reported, not fatal
# (set STRICT=1 to refuse to start on any of them).
#
#   scripts/run-pinned.sh [--config config.toml] <sattebaaz subcommand and options...>
#   e.g. scripts/run-pinned.sh --config prod.toml monitor
set -euo pipefail
cd "$(dirname "$0")/.."

config=config.toml
if [ "${1:-}" = "--config" ]; then config=$2; shift 2; fi
[ -f "$config" ] || { echo "no such config: $config" >&2; exit 1; }
[ $# -gt 0 ] || { echo "usage: $0 [--config FILE] <subcommand> [options]" >&2; exit 2; }

value() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\([0-9]\+\).*/\1/p" "$config" | head -n1; }
hot=$(value hot_cpu); risk=$(value risk_cpu)
[ -n "$hot" ] && [ -n "$risk" ] || { echo "threads.hot_cpu / threads.risk_cpu not found in $config" >&2; exit 1; }

problems=0
warn() { echo "warning: $*" >&2; problems=$((problems + 1)); }

in_list() { # in_list CPU "0-3,5"
  local cpu=$1 part lo hi
  IFS=',' read -ra parts <<< "$2"
  for part in "${parts[@]}"; do
    part=${part%%:*}
    if [[ $part == *-* ]]; then lo=${part%-*}; hi=${part#*-}; else lo=$part; hi=$part; fi
    [[ $lo =~ ^[0-9]+$ && $hi =~ ^[0-9]+$ ]] || continue
    if [ "$cpu" -ge "$lo" ] && [ "$cpu" -le "$hi" ]; then return 0; fi
  done
  return 1
}

sys=/sys/devices/system/cpu
isolated=$(cat $sys/isolated 2>/dev/null || true)
nohz=$(cat $sys/nohz_full 2>/dev/null || true)
in_list "$hot" "$isolated" || warn "hot CPU $hot is not in isolcpus (isolated: '${isolated:-none}')"
in_list "$hot" "$nohz" || warn "hot CPU $hot is not in nohz_full ('${nohz:-none}'): the timer tick will interrupt it"
for cpu in "$hot" "$risk"; do
  gov=$(cat $sys/cpu$cpu/cpufreq/scaling_governor 2>/dev/null || echo unknown)
  [ "$gov" = performance ] || warn "CPU $cpu governor is '$gov', not 'performance'"
done
siblings=$(cat $sys/cpu$hot/topology/thread_siblings_list 2>/dev/null || echo "$hot")
if [ "$siblings" != "$hot" ]; then
  warn "hot CPU $hot shares its core with SMT siblings ($siblings): keep them idle or disable SMT"
fi
[ "$hot" != "$risk" ] || warn "hot and risk threads share CPU $hot"

if [ "$problems" -gt 0 ] && [ "${STRICT:-0}" = 1 ]; then
  echo "refusing to start: $problems problem(s) above (STRICT=1)" >&2
  exit 1
fi
[ -x target/release/sattebaaz ] || cargo build --release --bin sattebaaz
echo "launching on CPUs $hot,$risk (hot $hot, risk $risk)" >&2
exec taskset -c "$hot,$risk" target/release/sattebaaz "$@" --config "$config"
