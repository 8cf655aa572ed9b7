#!/usr/bin/env bash
# The main job: build the engine (release profile) and run it against the embedded venue
# simulator. Extra arguments go to `sattebaaz demo` (e.g. --duration 120 --seed 7).
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/setup.sh"
cargo build --release --bin sattebaaz
exec target/release/sattebaaz demo "$@"
