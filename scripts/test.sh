#!/usr/bin/env bash
# The project's whole test command (README, .ci/run): installs what the tests need on a fresh
# machine, then checks formatting, lints and runs every test. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

"$(dirname "$0")/setup.sh"

# A one-shot build: incremental caches only cost disk (CI machines can be short of it).
export CARGO_INCREMENTAL=0

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

echo "== cargo test"
# Two cores: one test binary at a time, tests inside it in parallel.
cargo test --lib --bins --tests -- --test-threads=2
echo "== cargo test --benches (each benchmark runs once, as a smoke test)"
cargo test --benches
echo "== cargo test --doc"
cargo test --doc
