"""The command line, run as a real subprocess against the scripted server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect

from opencode_python.testing import ScriptedLLMServer, ScriptedToolCall, Turn

from ..local_model import needs_local_model


def cli(
    args: list[str],
    tmp_path: Path,
    *,
    timeout: float = 60,
    base_env: dict[str, str] | None = None,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    environment = {
        **(os.environ if base_env is None else base_env),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "opencode_python.cli", *args],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_run_streams_the_answer_and_sessions_lists_it(tmp_path: Path) -> None:
    with ScriptedLLMServer([Turn(text="Hello from the scripted model.")]) as server:
        ran = cli(
            ["run", "say hello", "--model", "openai/gpt-4.1-mini"],
            tmp_path,
            OPENAI_API_KEY="test-key",
            OPENAI_BASE_URL=server.openai_base_url,
        )
    assert ran.returncode == 0, ran.stderr
    assert "Hello from the scripted model." in ran.stdout
    assert "model openai/gpt-4.1-mini" in ran.stderr

    listed = cli(["sessions"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "say hello" in listed.stdout
    session_id = listed.stdout.split()[0]

    with ScriptedLLMServer([Turn(text="Still here.")]) as server:
        again = cli(
            ["run", "again", "--model", "openai/gpt-4.1-mini", "--session", session_id],
            tmp_path,
            OPENAI_API_KEY="test-key",
            OPENAI_BASE_URL=server.openai_base_url,
        )
        history = server.requests[0].messages
    assert [m["content"] for m in history if m["role"] == "user"] == ["say hello", "again"]
    assert again.returncode == 0, again.stderr
    assert f"session {session_id}" in again.stderr


@needs_local_model
def test_run_answers_offline_with_no_configuration(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    ran = cli(["run", "hello"], tmp_path, timeout=300, base_env=env)
    assert ran.returncode == 0, ran.stderr
    assert "model local/smollm2-135m (in-process, offline" in ran.stderr
    assert ran.stdout.strip()
    assert "1 step(s)" in ran.stderr


def test_run_asks_at_the_terminal_when_a_rule_says_ask(tmp_path: Path) -> None:
    turns = [
        Turn(tool_calls=[ScriptedToolCall("bash", {"command": "echo approved-run"})]),
        Turn(text="The command ran."),
    ]
    with ScriptedLLMServer(turns) as server:
        env = {
            **os.environ,
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": server.openai_base_url,
            "OPENCODE_PERMISSION": '{"bash": "ask"}',
            "NO_COLOR": "1",
        }
        child = pexpect.spawn(
            sys.executable,
            ["-m", "opencode_python.cli", "run", "echo it", "--model", "openai/gpt-4.1-mini"],
            env=env,
            cwd=str(tmp_path),
            encoding="utf-8",
            timeout=30,
        )
        child.expect(r"wants \S*bash\S* on echo approved-run")
        child.expect(r"allow once \(y\), always \(a\), reject \(n\)")
        child.sendline("y")
        child.expect("The command ran.")
        child.expect(pexpect.EOF)
        child.close()
        sent_back = server.requests[1].tool_results
    assert child.exitstatus == 0
    assert "approved-run" in sent_back[0][1]
