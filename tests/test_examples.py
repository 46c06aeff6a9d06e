"""The example apps run as a user would run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .local_model import needs_local_model

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(
    name: str, tmp_path: Path, *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_API_KEY") and not key.endswith("_BASE_URL")
    }
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_users_example_app_runs_unmodified(tmp_path: Path) -> None:
    skill = tmp_path / ".claude" / "skills" / "weather-report"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        "---\nname: weather-report\ndescription: Write a weather report.\n---\nBe brief.\n"
    )
    ran = run_example("custom_agent_app_example.py", tmp_path)
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    assert "'auto_confirm': False" in out
    assert "Tools: ['calculator', 'weather']" in out
    assert "Skills: ['weather-report']" in out
    assert "Agents: ['data_analyst', 'weather_bot', 'supervisor']" in out
    assert "Example session" in out
    assert "[('user', 'What is 6 times 7?'), ('assistant', '42')] True" in out
    assert "Direct tool call: multiply 42" in out


@needs_local_model
def test_the_flagship_app_runs_offline_on_the_local_model(tmp_path: Path) -> None:
    ran = run_example("custom_agent_app.py", tmp_path, timeout=600)
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    assert "local/smollm2-135m: SmolLM2-135M in this process, offline" in out
    assert "tools:  ['calculator', 'skill', 'task', 'weather']" in out
    assert "agents: ['data_analyst', 'weather_bot', 'supervisor']" in out
    assert "skills: ['weather-report']" in out
    assert "'Where is home for the user?' -> 'The user lives in Oslo" in out
    assert "'When is the budget deadline?' -> 'The quarterly budget review" in out
    assert "conversation state: {'units': 'metric', 'city': 'Oslo'}" in out
    # The streamed runs used their tools, then answered.
    assert re.search(
        r"\[data_analyst\] .*\n  -> calculator\(\{'expression': .*\n  <- .*\n  > ", out
    )
    assert re.search(r"\[weather_bot\] .*\n  -> weather\(\{'city': .*\n  <- .*\n  > ", out)
    # The supervisor's two subagents ran in child sessions, each calling its own tool
    # (a blanket deny of the supervisor's is not inherited).
    assert re.search(r"data_analyst \(child session ses_\w+\):\n  -> calculator\(", out)
    assert re.search(r"weather_bot \(child session ses_\w+\):\n  -> weather\(", out)
    # The reporter answered with a validated WeatherReport (the local model decodes the
    # JSON under the schema, so its shape is right first time).
    assert re.search(
        r"WeatherReport\(city='\w[^']*', celsius=-?\d+, sky='\w+'\) in native mode", out
    )
    assert "2 child sessions" in out
    assert "cost: $0.0000" in out
    assert "error:" not in out
