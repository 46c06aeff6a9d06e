#!/usr/bin/env bash
# Installs the project into .venv (created if missing) and runs the demo app.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
install() { .venv/bin/python -m pip install "$@" >.venv/install.log 2>&1 || { cat .venv/install.log; exit 1; }; }
echo "Installing opencode-python into .venv (log: .venv/install.log)..." >&2
install --upgrade pip
# torch first, pinned to the CPU build: left to the memory extra, pip would pull a
# CUDA build of several GB.
.venv/bin/python -m pip install torch==2.13.0 >.venv/install.log 2>&1 || {
    cat .venv/install.log
    echo "torch==2.13.0 could not be installed; the memory extra needs it. Put the CPU" \
        "wheel where pip finds it (--find-links) or install it by hand, then rerun." >&2
    exit 1
}
install -e '.[testing,memory]'
exec .venv/bin/python examples/demo.py "$@"
