#!/usr/bin/env bash
# Installs the project with its dev extra into .venv (created if missing), then runs
# the linters, the type checker and the test suite. This is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
install() { .venv/bin/python -m pip install "$@" >.venv/install.log 2>&1 || { cat .venv/install.log; exit 1; }; }
echo "Installing opencode-python into .venv (log: .venv/install.log)..." >&2
install --upgrade pip
install -e '.[dev]'
.venv/bin/ruff check src tests bench examples
.venv/bin/ruff format --check src tests bench examples
.venv/bin/mypy
.venv/bin/pytest -q "$@"
