"""The example apps run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
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
        timeout=120,
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


def test_the_demo_runs_offline_and_says_the_model_is_scripted(tmp_path: Path) -> None:
    ran = run_example("demo.py", tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "SCRIPTED" in ran.stdout
    assert "17 * 23 = 391" in ran.stdout
    assert "A new client on the same storage reads the session back" in ran.stdout
