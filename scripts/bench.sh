#!/usr/bin/env bash
# The benchmark suite in one command: every criterion bench in bench/ with a short measurement
# time, the cold vs warmed order write (send_warm), then the wire-to-wire bench against the conventional tokio bot (built here from
# bench/conventional/, its signing checked against the shared vectors first). Appends a dated
# results section (machine, rustc, load, the command, the tables) to docs/BENCHMARKS.md.
#
#   scripts/bench.sh                 # full suite
#   SAMPLES=500 MEASURE_S=5 scripts/bench.sh
#   BENCHES="signing exec_path" scripts/bench.sh   # a subset of the criterion benches
set -euo pipefail
cd "$(dirname "$0")/.."

SAMPLES=${SAMPLES:-200}
WARMUP_S=${WARMUP_S:-1}
MEASURE_S=${MEASURE_S:-2}
BENCHES=${BENCHES:-"spsc ws_recv binance http_codec signing poly_book exec_path signals strategies"}
command_line="scripts/bench.sh"
if [ "$SAMPLES" != 200 ] || [ "$MEASURE_S" != 2 ] || [ "$WARMUP_S" != 1 ]; then
  command_line="SAMPLES=$SAMPLES WARMUP_S=$WARMUP_S MEASURE_S=$MEASURE_S $command_line"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')

echo "== conventional bot: build and check against the shared vectors"
cargo build --release --manifest-path bench/conventional/Cargo.toml
cargo test --release --manifest-path bench/conventional/Cargo.toml

echo "== criterion benches (warm-up ${WARMUP_S} s, measurement ${MEASURE_S} s)"
for b in $BENCHES; do
  cargo bench --bench "$b" -- --warm-up-time "$WARMUP_S" --measurement-time "$MEASURE_S" \
    2>&1 | tee "$out/$b.log"
done

echo "== order write after busy polling, cold vs warmed (send_warm)"
cargo bench --bench send_warm -- --samples "$SAMPLES" 2>&1 | tee "$out/send_warm.log"

echo "== wire to wire (${SAMPLES} samples per implementation)"
cargo bench --bench wire_to_wire -- --samples "$SAMPLES" --markdown-out "$out/w2w.md" \
  2>&1 | tee "$out/w2w.log"
if [ "$(nproc)" -ge 2 ]; then
  echo "== wire to wire, engine with a blocking poll (${SAMPLES} samples)"
  cargo bench --bench wire_to_wire -- --samples "$SAMPLES" --engine-poll blocking \
    --conventional none --markdown-out "$out/w2w_blocking.md" 2>&1 | tee "$out/w2w_blocking.log"
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Criterion's summary lines: "<id> time: [low median high]" (the id may stand alone on the
# line before when it is long).
criterion_rows() { # criterion_rows BENCH LOG
  awk -v bench="$1" '
    /^Benchmarking / { next }
    /time:[[:space:]]*\[/ {
      line = $0
      id = line; sub(/[[:space:]]*time:.*/, "", id); gsub(/^[[:space:]]+|[[:space:]]+$/, "", id)
      if (id == "") id = last
      v = line; sub(/.*\[/, "", v); sub(/\].*/, "", v)
      n = split(v, f, /[[:space:]]+/)
      if (n >= 6) printf("| %s | %s | %s %s | [%s %s, %s %s] |\n", bench, id, f[3], f[4], f[1], f[2], f[5], f[6])
      next
    }
    /^[^[:space:]]/ { last = $0; gsub(/[[:space:]]+$/, "", last) }
  ' "$2"
}

cpu_model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
mem=$(awk '/MemTotal/ { printf("%.0f GiB", $2 / 1048576) }' /proc/meminfo)
{
  echo
  echo "## Suite run of ${started} (\`scripts/bench.sh\`)"
  echo
  echo "**Machine:** ${cpu_model}, $(nproc) CPUs (nproc), ${mem} RAM, Linux $(uname -r)," \
       "$(rustc --version). **Profile:** \`bench\` (release, fat LTO). **Load average** before" \
       "${load_before}, after ${load_after}; other builds may have been running on the same cores," \
       "so tails are inflated. **Reproduce:** \`${command_line}\`."
  echo
  echo "### Wire to wire — \`cargo bench --bench wire_to_wire -- --samples ${SAMPLES}\`"
  echo
  echo "Main table: from the kernel's transmit of the injected Binance spot \`trade\` frame at the"
  echo "simulator's socket to the kernel's receive of the \`POST /order\` it caused at the simulated"
  echo "CLOB's socket (both software timestamps, moved onto the monotonic clock; the simulator on"
  echo "CPU 0, the measured implementation alone on CPU 1). See bench/wire_to_wire.rs and the"
  echo "\"Wire to wire\" section above."
  echo
  if [ -s "$out/w2w.md" ]; then cat "$out/w2w.md"; else echo "(no result: see the run's output)"; fi
  grep -E '^wire_to_wire: ' "$out/w2w.log" | sed 's/^/    /' || true
  if [ -s "$out/w2w_blocking.md" ]; then
    echo
    echo "Second run, the engine polling blocking (\`--engine-poll blocking --conventional none\`):"
    echo
    grep -E '^\|' "$out/w2w_blocking.md"
  fi
  echo
  echo "### One order write after busy polling — \`cargo bench --bench send_warm -- --samples ${SAMPLES}\`"
  echo
  grep -E '^\|' "$out/send_warm.log" || echo "(no result: see the run's output)"
  echo
  echo "### Criterion benches (warm-up ${WARMUP_S} s, measurement ${MEASURE_S} s; median and its interval)"
  echo
  echo "| bench | id | median | interval |"
  echo "|---|---|---|---|"
  for b in $BENCHES; do criterion_rows "$b" "$out/$b.log"; done
} >> docs/BENCHMARKS.md
echo "== results appended to docs/BENCHMARKS.md"
