#!/usr/bin/env bash
# Installs the project into .venv (created if missing) and runs the flagship app,
# offline on the bundled local model unless OPENAI_API_KEY or ANTHROPIC_API_KEY is set.
set -euo pipefail
source "$(dirname "$0")/setup.sh" memory,local
exec .venv/bin/python examples/custom_agent_app.py "$@"
