#!/usr/bin/env bash
# Creates .venv and installs the platform and its tools; re-runs only when requirements changed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ ! -x .venv/bin/python ]; then
  # Debian splits venv (and its bundled pip) into python3-venv.
  python3 -m venv .venv 2>/dev/null || {
    rm -rf .venv
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv .venv
  }
fi
stamp=.venv/.requirements.sha
wanted=$(cat requirements-dev.txt shared/pyproject.toml services/*/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
  echo "$wanted" > "$stamp"
fi
