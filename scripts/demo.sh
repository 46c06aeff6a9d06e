#!/usr/bin/env bash
# Installs the project into .venv (created if missing) and runs the demo app.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
install() { .venv/bin/python -m pip install "$@" >.venv/install.log 2>&1 || { cat .venv/install.log; exit 1; }; }
echo "Installing opencode-python into .venv (log: .venv/install.log)..." >&2
install --upgrade pip
install -e '.[testing]'
exec .venv/bin/python examples/demo.py "$@"
