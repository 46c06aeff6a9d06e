"""``opencode-python serve`` and ``run --attach``, as real processes on loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn

from .test_cli import cli


def environment(tmp_path: Path, server: ScriptedLLMServer, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": server.openai_base_url,
        **extra,
    }


@contextmanager
def served(
    tmp_path: Path, env: dict[str, str], *args: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "opencode_python.cli", "serve", "--port", "0", *args],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                yield found.group(1), process
                break
        else:
            raise AssertionError(f"serve exited with {process.wait()} before listening")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)


def test_serve_answers_opencodes_api_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with ScriptedLLMServer([Turn(text="Served answer.")]) as llm:
        env = environment(tmp_path, llm)
        with served(tmp_path, env) as (url, process):
            health = httpx2.get(f"{url}/global/health").json()
            session = httpx2.post(f"{url}/session", json={"title": "t"}).json()
            answer = httpx2.post(
                f"{url}/session/{session['id']}/message",
                json={"parts": [{"type": "text", "text": "hi"}]},
                timeout=30,
            ).json()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
    assert health["healthy"] is True
    assert answer["parts"][1]["text"] == "Served answer."


def test_run_attach_streams_an_answer_from_a_running_server(tmp_path: Path) -> None:
    bash = ScriptedToolCall("bash", {"command": "echo attached", "description": "echo"})
    turns = [Turn(tool_calls=[bash]), Turn(text="The tool said attached.", chunk_size=4)]
    with ScriptedLLMServer(turns) as llm:
        env = environment(tmp_path, llm, OPENCODE_PERMISSION='{"bash": "ask"}')
        with served(tmp_path, env) as (url, _):
            refused = cli(["run", "--attach", url, "run echo"], tmp_path, base_env=env)
            llm.add_turns(turns)
            allowed = cli(["run", "--attach", url, "--yes", "run echo"], tmp_path, base_env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert "The tool said attached." in allowed.stdout
    assert "→ bash" in allowed.stdout
    assert "✓ bash" in allowed.stdout
    assert "attached to" in allowed.stderr
    assert refused.returncode == 0, refused.stderr
    assert "refused (no terminal to ask" in refused.stderr
    assert "✗ bash" in refused.stdout


def test_serve_mistakes_are_usage_errors(tmp_path: Path) -> None:
    exposed = cli(["serve", "--hostname", "0.0.0.0"], tmp_path)
    assert exposed.returncode == 2
    assert "OPENCODE_SERVER_PASSWORD" in exposed.stderr
    nowhere = cli(["run", "--attach", "http://127.0.0.1:9", "hi"], tmp_path)
    assert nowhere.returncode == 2
    assert "cannot reach the server" in nowhere.stderr
    mixed = cli(["run", "--attach", "http://127.0.0.1:9", "--command", "x", "hi"], tmp_path)
    assert mixed.returncode == 2
