#!/usr/bin/env bash
# Installs what building and testing need on a fresh machine of this project's kind (Debian +
# rustup toolchain). Idempotent: anything already present is left alone.
set -euo pipefail

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
# Headless browser for tests/dashboard_browser.rs.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
  else sudo apt-get update -qq && sudo apt-get install -y -qq "${need_apt[@]}"; fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is not installed: install the Rust toolchain (rustup) first" >&2
  exit 1
fi
for comp in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$comp"; then
    rustup component add "$comp"
  fi
done

# Polymarket's official Python clients for tests/official_client.rs.
"$(dirname "$0")/pyclient-setup.sh"
