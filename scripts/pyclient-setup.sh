#!/usr/bin/env bash
# Creates the Python virtualenv in which tests/official_client.rs runs Polymarket's official
# clients (pinned in tests/pyclient/requirements.txt) against the simulator. Idempotent: an
# existing venv holding exactly the pinned versions is left alone; anything else is rebuilt.
# The venv lives in target/pyclient-venv unless SATTEBAAZ_PYCLIENT_VENV names another directory.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SATTEBAAZ_PYCLIENT_VENV:-$PWD/target/pyclient-venv}"
requirements="tests/pyclient/requirements.txt"

# The pins, as "name==version" lines without comments.
pins=$(grep -v '^\s*#' "$requirements" | grep -v '^\s*$')

pins_installed() {
  [ -x "$venv/bin/python" ] || return 1
  PINS="$pins" "$venv/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as md, os, sys
for pin in os.environ["PINS"].split():
    name, version = pin.split("==")
    if md.version(name) != version:
        sys.exit(1)
PY
}

if pins_installed; then
  echo "== python clients already installed in $venv"
  exit 0
fi

# polymarket-client needs Python >= 3.11.
python=""
for candidate in python3 python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  echo "error: the official-client test needs Python >= 3.11 (python3 is $(python3 --version 2>&1))" >&2
  exit 1
fi

echo "== creating $venv with $python ($("$python" --version 2>&1)) and installing $(echo $pins)"
rm -rf "$venv"
if ! "$python" -m venv "$venv"; then
  echo "error: '$python -m venv' failed (on Debian: apt-get install python3-venv)" >&2
  exit 1
fi
if ! "$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$requirements"; then
  echo "error: installing $requirements from PyPI into $venv failed" >&2
  rm -rf "$venv"
  exit 1
fi
if ! pins_installed; then
  echo "error: $venv does not hold the pinned versions after installation" >&2
  exit 1
fi
echo "== python clients installed in $venv"
