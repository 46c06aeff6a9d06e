#!/usr/bin/env bash
# Installs the project with its dev extra into .venv (created if missing), then runs
# the linters, the type checker and the test suite. This is what CI runs.
set -euo pipefail
source "$(dirname "$0")/setup.sh" dev
.venv/bin/ruff check src tests bench examples
.venv/bin/ruff format --check src tests bench examples
.venv/bin/mypy
.venv/bin/pytest -q "$@"
