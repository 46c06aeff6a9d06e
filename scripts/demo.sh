#!/usr/bin/env bash
# Installs the project into .venv (created if missing) and runs the demo app.
set -euo pipefail
source "$(dirname "$0")/setup.sh" testing,memory
exec .venv/bin/python examples/demo.py "$@"
