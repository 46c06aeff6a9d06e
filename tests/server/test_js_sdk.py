"""OpenCode's own JS client, ``@opencode-ai/sdk`` from npm, drives our server unchanged.

``sdk_client.mjs`` creates a session, prompts it through the scripted model, reads the
messages, renames it, answers a permission ask from the event stream, lists and deletes;
``run_real_opencode.py`` runs the same script against the real ``opencode serve``, which
is how the script itself was checked. Skipped without Node or the SDK's install
(``npm install --prefix tests/server``) unless ``OPENCODE_PYTHON_REQUIRE_NODE=1`` (CI).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from opencode_python import OpenCodeAsyncClient
from opencode_python.server import serving
from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn

from ..conftest import scripted_config

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "sdk_client.mjs"
SDK = HERE / "node_modules" / "@opencode-ai" / "sdk"
REQUIRE_ENV = "OPENCODE_PYTHON_REQUIRE_NODE"
NODE = shutil.which("node")

if os.environ.get(REQUIRE_ENV) == "1" and (NODE is None or not SDK.is_dir()):
    raise RuntimeError(
        f"{REQUIRE_ENV}=1 but node or @opencode-ai/sdk is missing: "
        "apt-get install nodejs npm && npm install --prefix tests/server"
    )

pytestmark = pytest.mark.skipif(
    NODE is None or not SDK.is_dir(),
    reason="needs node and @opencode-ai/sdk (npm install --prefix tests/server)",
)


async def run_script(url: str, **env: str) -> dict[str, Any]:
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(SCRIPT),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "OC_PROVIDER": "openai", "OC_MODEL": "gpt-4.1-mini", **env},
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    summary: dict[str, Any] = json.loads(out)
    return summary


@pytest.mark.parametrize("password", [None, "s3cret"])
async def test_the_official_js_sdk_drives_our_server(tmp_path: Path, password: str | None) -> None:
    bash = ScriptedToolCall("bash", {"command": "echo hi", "description": "say hi"})
    turns = [
        Turn(text="Hello from the scripted model.", chunk_size=6),
        Turn(tool_calls=[bash]),
        Turn(text="It printed hi."),
    ]
    with ScriptedLLMServer(turns) as llm:
        config = scripted_config(llm, "openai", tmp_path)
        config.builtin_tools = ["bash"]
        config.memory_embedder = "none"
        config.permission = {"bash": "ask"}
        async with OpenCodeAsyncClient(config) as client:
            async with serving(client, password=password) as url:
                env = {"OPENCODE_SERVER_PASSWORD": password} if password else {}
                summary = await run_script(url, **env)
            remaining = await client.list_sessions()
    assert summary["promptResponse"]["info"]["role"] == "assistant"
    texts = [p.get("text") for p in summary["promptResponse"]["parts"] if p["type"] == "text"]
    assert texts == ["Hello from the scripted model."]
    assert summary["sawPartDelta"] is True
    assert summary["sawIdle"] is True
    asked = summary["permissionAsked"]
    assert asked["type"] == "permission.asked"
    assert asked["properties"]["permission"] == "bash"
    assert asked["properties"]["patterns"] == ["echo hi"]
    assert summary["renamedTitle"]
    assert summary["deletedOk"] is True
    assert summary["eventTypes"][0] == "server.connected"
    assert "permission.asked" in summary["eventTypes"]
    assert remaining == []  # the script deleted its session


OPENCODE_BIN = os.environ.get("OPENCODE_BIN")


@pytest.mark.skipif(
    not OPENCODE_BIN or not Path(OPENCODE_BIN).is_file(),
    reason="the real OpenCode binary is not here: set OPENCODE_BIN "
    "(npm install opencode-linux-x64; 180 MB, so CI does not fetch it)",
)
def test_the_script_itself_passes_against_the_real_opencode(tmp_path: Path) -> None:
    """What proves the script right: the same steps against ``opencode serve``."""
    ran = subprocess.run(
        [sys.executable, str(HERE / "run_real_opencode.py"), "--opencode", str(OPENCODE_BIN)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    summary = json.loads(ran.stdout[ran.stdout.index("{") :])
    assert summary["sawPartDelta"] is True
    assert summary["permissionAsked"]["type"] == "permission.asked"
