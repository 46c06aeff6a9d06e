"""Importing the package stays cheap: the heavy libraries load when first used.

The official model clients take most of a second to import, numpy and the HTML and
schema libraries tens of milliseconds each; a script that only builds a client, or a
CLI asked for ``--version``, pays for none of them. (How long the import takes is
measured by ``bench/import_time.py``, not asserted here: machines are noisy.)
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "openai",
    "anthropic",
    "httpx2",
    "numpy",
    "torch",
    "transformers",
    "sentence_transformers",
    "jsonschema",
    "griffe",
    "bs4",
    "markdownify",
    "genai_prices",
    "yaml",
    "json5",
    "typer",
    "rich",
    "starlette",
    "uvicorn",
    "mcp",
    "mcp_types",
)


def loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_the_package_root_imports_no_heavy_library() -> None:
    assert loaded_after("import opencode_python") == []


def test_building_a_client_and_its_config_imports_no_heavy_library() -> None:
    code = (
        "from opencode_python import OpenCodeAsyncClient, SDKConfig, tool\n"
        "client = OpenCodeAsyncClient(SDKConfig(model='openai/gpt-4.1-mini'))"
    )
    assert loaded_after(code) == []


def test_the_cli_module_loads_without_the_model_clients() -> None:
    assert not {"openai", "anthropic", "numpy"} & set(
        loaded_after("import opencode_python.cli.app")
    )
